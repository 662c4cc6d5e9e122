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

#endif
