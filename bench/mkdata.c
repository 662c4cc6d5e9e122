/* mkdata: writes SIZE bytes of deterministic benchmark text to standard
 * output: lines of 0 to 14 words, a tab now and then, some empty lines,
 * the same bytes on every machine.  `mkdata SIZE utf8` takes its words
 * from a list in many scripts instead: UTF-8 of 1 to 4 bytes a
 * character, ending on a whole character. */
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

/* Latin, Greek, Cyrillic, CJK and characters beyond the BMP. */
static const char *const utf8_words[] = {
    "the", "fox", "caf\u00e9", "na\u00efve", "\u00fcber", "\u0395\u03bb\u03bb\u03ac\u03b4\u03b1",
    "\u043a\u043b\u044e\u0447", "\u0441\u043b\u043e\u0432\u043e", "\u65e5\u672c\u8a9e", "\u4e2d\u6587", "\u0939\u093f\u0928\u094d\u0926\u0940",
    "\U0001F600", "\U0001D11E\U0001D11F", "\U00020000x", "2026", "\u20ac100",
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
    const char *const *list = words;
    size_t nwords = sizeof words / sizeof *words;
    int utf8 = argc == 3 && strcmp(argv[2], "utf8") == 0;

    if ((argc != 2 && !utf8) || (size = strtoull(argv[1], NULL, 10)) == 0) {
        fprintf(stderr, "usage: mkdata SIZE_IN_BYTES [utf8]\n");
        return 2;
    }
    if (utf8) {
        list = utf8_words;
        nwords = sizeof utf8_words / sizeof *utf8_words;
    }
    while (written < size) {
        size_t len = 0, count = next_random() % 15;
        for (size_t i = 0; i < count; i++) {
            const char *w = list[next_random() % nwords];
            if (i > 0)
                line[len++] = next_random() % 20 == 0 ? '\t' : ' ';
            memcpy(line + len, w, strlen(w));
            len += strlen(w);
        }
        line[len++] = '\n';
        if (len > size - written) {
            len = (size_t)(size - written);
            if (utf8) /* no character cut in two at the end */
                memset(line, '.', len);
        }
        if (fwrite(line, 1, len, stdout) != len)
            return 1;
        written += len;
    }
    return fclose(stdout) != 0;
}
