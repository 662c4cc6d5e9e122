/* mkdata: writes SIZE bytes of deterministic benchmark text to standard
 * output: lines of 0 to 14 words, a tab now and then, some empty lines,
 * the same bytes on every machine. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const words[] = {
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog",
    "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing",
    "elit", "sed", "do", "eiusmod", "tempor", "incididunt", "labore",
    "magna", "aliqua", "mapping", "window", "page", "fault", "kernel",
    "buffer", "1024", "65536", "2026-11-22", "0xdeadbeef",
};

static uint64_t state = 0x9e3779b97f4a7c15u;

static uint32_t next_random(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state >> 32);
}

int main(int argc, char **argv)
{
    static char line[4096];
    uint64_t size, written = 0;
    size_t nwords = sizeof words / sizeof *words;

    if (argc != 2 || (size = strtoull(argv[1], NULL, 10)) == 0) {
        fprintf(stderr, "usage: mkdata SIZE_IN_BYTES\n");
        return 2;
    }
    while (written < size) {
        size_t len = 0, count = next_random() % 15;
        for (size_t i = 0; i < count; i++) {
            const char *w = words[next_random() % nwords];
            if (i > 0)
                line[len++] = next_random() % 20 == 0 ? '\t' : ' ';
            memcpy(line + len, w, strlen(w));
            len += strlen(w);
        }
        line[len++] = '\n';
        if (len > size - written)
            len = (size_t)(size - written);
        if (fwrite(line, 1, len, stdout) != len)
            return 1;
        written += len;
    }
    return fclose(stdout) != 0;
}
