/* mmsort's keys and orderings: parsing -k and the ordering letters, and
 * comparing two lines exactly as GNU sort does in the C locale. */
#ifndef SORTKEY_H
#define SORTKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* One input line, without its terminator.  PREFIX is its first 8 bytes,
 * big-endian and zero-padded, so that most bytewise comparisons are one
 * integer comparison (and a radix sort can work on it). */
struct line {
    const unsigned char *text;
    size_t length;
    uint64_t prefix;
};

#define FIELD_NONE SIZE_MAX /* sword: from the line start; eword: to its end */
#define TAB_DEFAULT (-1)    /* fields are separated by runs of blanks */

struct sort_key {
    size_t sword, schar;            /* start: field and byte, from 0 */
    size_t eword, echar;            /* end: field from 0, byte (0: all) */
    bool skip_start_blanks;         /* b on POS1 */
    bool skip_end_blanks;           /* b on POS2 */
    const bool *ignore;             /* d or i: bytes left out, or NULL */
    const unsigned char *translate; /* f: folding to upper case, or NULL */
    bool numeric, general_numeric, human_numeric, month, version;
    bool reverse;
};

struct sort_spec {
    struct sort_key *keys;  /* -k, in order; or the global key alone */
    size_t key_count;
    struct sort_key global; /* the ordering options given outside -k */
    int tab;                /* -t: a byte, or TAB_DEFAULT */
    unsigned char eol;      /* '\n', or '\0' for -z */
    bool stable;            /* -s: no last-resort comparison */
    bool unique;            /* -u */
    bool reverse;           /* -r outside any key: the last resort too */
    bool bytewise;          /* no key: lines compare as bytes */
    bool key_prefix;        /* the first key compares as plain bytes: the
                               prefixes hold its first 8 */
};

void sort_spec_init(struct sort_spec *spec);

/* Applies ordering letter C (one of bdfghiMnrV) to KEY; false for any
 * other letter.  AT_START and AT_END say where a b applies. */
bool sort_key_letter(struct sort_key *key, char c, bool at_start,
                     bool at_end);

/* Parses ARG of -k POS1[,POS2] and appends it to SPEC.  Returns false with
 * GNU's wording of the fault in MESSAGE. */
bool sort_spec_add_key(struct sort_spec *spec, const char *arg,
                       char *message, size_t size);

/* Settles SPEC once every option is in: keys without letters of their own
 * inherit the global ones, as GNU does.  Returns false with a message
 * (options that are incompatible) in MESSAGE. */
bool sort_spec_finish(struct sort_spec *spec, char *message, size_t size);

/* The first 8 bytes of TEXT (LENGTH long), big-endian, zero-padded. */
uint64_t line_prefix(const unsigned char *text, size_t length);

/* The bytes of SPEC's first key in LINE: [*START, *LIMIT). */
void sort_first_key(const struct sort_spec *spec, const struct line *line,
                    const unsigned char **start, const unsigned char **limit);

/* The prefix of a line for SPEC: of the line bytewise, of the first key
 * when it compares as plain bytes, else 0. */
uint64_t sort_prefix(const struct sort_spec *spec, const unsigned char *text,
                     size_t length);

/* Compares two lines as bytes: memcmp, then the shorter first. */
static inline int compare_bytes(const struct line *a, const struct line *b)
{
    size_t n, skip;
    int diff;

    if (a->prefix != b->prefix)
        return a->prefix < b->prefix ? -1 : 1;
    n = a->length < b->length ? a->length : b->length;
    skip = n < 8 ? n : 8; /* equal prefixes: those bytes are equal */
    diff = n > skip ? memcmp(a->text + skip, b->text + skip, n - skip) : 0;
    if (diff)
        return diff;
    return (a->length > b->length) - (a->length < b->length);
}

/* Compares A and B as GNU sort does with SPEC: negative, 0 or positive.
 * Their prefixes must be what sort_prefix gives. */
int sort_compare(const struct sort_spec *spec, const struct line *a,
                 const struct line *b);

#endif
