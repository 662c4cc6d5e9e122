/* mkrandom: writes SIZE bytes of deterministic random printable lines to
 * standard output: 1 to 100 bytes from space to tilde, then a line feed;
 * the same bytes on every machine.  The input of the sort benchmarks.
 *
 * mkrandom -r SIZE writes SIZE / 100 records of 100 bytes instead, shaped
 * as TeraSort's gensort makes them: a random 10-byte key (any byte), two
 * spaces, the record number in 32 hex digits, 52 filler letters, CR LF. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 0x2545f4914f6cdd1du;

static uint32_t next_random(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state >> 32);
}

/* SIZE / 100 records of 100 bytes, with random 10-byte keys. */
static int write_records(uint64_t size)
{
    static unsigned char record[100];

    for (uint64_t n = 0; n < size / 100; n++) {
        for (int i = 0; i < 10; i++)
            record[i] = (unsigned char)next_random();
        snprintf((char *)record + 10, 35, "  %016llX%016llX", 0ULL,
                 (unsigned long long)n);
        for (int i = 44; i < 98; i++)
            record[i] = (unsigned char)('A' + (n + (uint64_t)i) % 26);
        memcpy(record + 98, "\r\n", 2);
        if (fwrite(record, 1, 100, stdout) != 100)
            return 1;
    }
    return fflush(stdout) != 0;
}

int main(int argc, char **argv)
{
    static char line[128];
    uint64_t size, written = 0;

    if (argc == 3 && strcmp(argv[1], "-r") == 0
        && (size = strtoull(argv[2], NULL, 10)) >= 100)
        return write_records(size);
    if (argc != 2 || (size = strtoull(argv[1], NULL, 10)) == 0) {
        fprintf(stderr, "usage: mkrandom [-r] SIZE_IN_BYTES\n");
        return 2;
    }
    while (written < size) {
        size_t len = 1 + next_random() % 100;
        for (size_t i = 0; i < len; i++)
            line[i] = (char)(' ' + next_random() % 95);
        line[len++] = '\n';
        if (len > size - written)
            len = (size_t)(size - written);
        if (fwrite(line, 1, len, stdout) != len)
            return 1;
        written += len;
    }
    return fflush(stdout) != 0;
}
