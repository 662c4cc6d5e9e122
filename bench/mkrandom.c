/* mkrandom: writes SIZE bytes of deterministic random printable lines to
 * standard output: 1 to 100 bytes from space to tilde, then a line feed;
 * the same bytes on every machine.  The input of the sort benchmarks. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t state = 0x2545f4914f6cdd1du;

static uint32_t next_random(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state >> 32);
}

int main(int argc, char **argv)
{
    static char line[128];
    uint64_t size, written = 0;

    if (argc != 2 || (size = strtoull(argv[1], NULL, 10)) == 0) {
        fprintf(stderr, "usage: mkrandom SIZE_IN_BYTES\n");
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
