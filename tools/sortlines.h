/* mmsort's sorts: a stable merge sort for any ordering, and for bytewise
 * order (no keys) an MSD radix sort on the lines' 8-byte prefixes; both
 * split their work over threads. */
#ifndef SORTLINES_H
#define SORTLINES_H

#include <stdbool.h>
#include <stddef.h>

#include "mmio.h"
#include "sortkey.h"

/* The order SPEC gives, with the bytewise case inlined. */
static inline int line_order(const struct sort_spec *spec, const struct line *a,
                             const struct line *b)
{
    if (spec->bytewise) {
        int diff = compare_bytes(a, b);
        return spec->reverse ? -diff : diff;
    }
    return sort_compare(spec, a, b);
}

/* The bytes of one input: every line lies inside one of them. */
struct text_range {
    const unsigned char *start, *end;
};

/* Whether sort_lines radix sorts by SPEC's first key, finding the key in
 * each line itself: it then needs no prefixes in the lines it is given. */
bool sort_lines_by_key(const struct sort_spec *spec);

/* Sorts the N lines at LINES as SPEC orders them, on up to THREADS
 * threads, with TMP (room for N lines) to work in.  The lines are in
 * input order, and lie in the RANGE_COUNT RANGES.  Returns where the
 * sorted lines are, LINES or TMP; NULL when a thread met a mapped file
 * that shrank (ERR says so). */
struct line *sort_lines(const struct sort_spec *spec, struct line *lines,
                        struct line *tmp, size_t n,
                        const struct text_range *ranges, size_t range_count,
                        unsigned threads, mmio_error *err);

/* The buckets of lines by their first byte, as find_lines can put them:
 * bucket 0 holds the empty lines, bucket B + 1 those that start with B. */
#define FIRST_BUCKETS 257

static inline unsigned first_bucket(const unsigned char *text, size_t length)
{
    return length ? text[0] + 1u : 0;
}

/* Sorts, as sort_lines does for a SPEC that is bytewise, the N lines at
 * LINES that are in buckets already, bucket B from START[B] to START[B +
 * 1].  Each part has room as large as its largest bucket to work in, so
 * that no second array of N lines is needed.  Returns LINES; NULL when a
 * thread met a mapped file that shrank, or memory is short (ENOMEM):
 * ERR says which. */
struct line *sort_bucketed(const struct sort_spec *spec, struct line *lines,
                           size_t n, const size_t start[FIRST_BUCKETS + 1],
                           unsigned threads, mmio_error *err);

#endif
