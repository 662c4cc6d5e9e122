/* mmsort's sorts: a stable merge sort for any ordering, and an MSD radix
 * sort on 8-byte prefixes for bytewise order. */
#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "sortlines.h"

/* ---- Merge sort ------------------------------------------------------------- */

/* A stable merge sort of lines, its parts sorted and merged on threads. */
struct sorter {
    const struct sort_spec *spec;
    struct line *src, *dst;  /* the lines, and as many more to merge into */
    size_t *runs;            /* sorted runs: run I is [runs[I], runs[I + 1]) */
    size_t run_count;
    unsigned threads;        /* at most this many parts at once */
    unsigned pairs;          /* merge_pairs: the pairs of this round */
};

#define SMALL_RUN 16

static void insertion_sort(const struct sort_spec *spec, struct line *lines,
                           size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct line x = lines[i];
        size_t j = i;
        while (j > 0 && line_order(spec, &lines[j - 1], &x) > 0) {
            lines[j] = lines[j - 1];
            j--;
        }
        lines[j] = x;
    }
}

/* Merges the sorted A (NA lines) and B (NB lines) into OUT; of equal
 * lines those of A come first, which keeps the sort stable. */
static void merge(const struct sort_spec *spec, const struct line *a, size_t na,
                  const struct line *b, size_t nb, struct line *out)
{
    const struct line *aend = a + na, *bend = b + nb;

    if (na && nb && line_order(spec, aend - 1, b) <= 0) { /* in order */
        memcpy(out, a, na * sizeof *a);
        memcpy(out + na, b, nb * sizeof *b);
        return;
    }
    while (a < aend && b < bend) {
        /* The text of the lines compared next is far apart in memory:
         * ask for it ahead, while this comparison runs. */
        __builtin_prefetch(a[a + 1 < aend].text);
        __builtin_prefetch(b[b + 1 < bend].text);
        *out++ = line_order(spec, b, a) < 0 ? *b++ : *a++;
    }
    memcpy(out, a, (size_t)(aend - a) * sizeof *a);
    out += aend - a;
    memcpy(out, b, (size_t)(bend - b) * sizeof *b);
}

/* Sorts the N lines at SRC; the result goes to DST when TO_DST, else stays
 * in SRC, the other being room to merge in.  Top-down, as GNU sort: the
 * halves are sorted through before they are merged, so a small half and
 * its text stay in the caches. */
static void sort_into(const struct sort_spec *spec, struct line *src,
                      struct line *dst, size_t n, bool to_dst)
{
    size_t half = n / 2;

    if (n <= SMALL_RUN) {
        insertion_sort(spec, src, n);
        if (to_dst)
            memcpy(dst, src, n * sizeof *src);
        return;
    }
    sort_into(spec, src, dst, half, !to_dst);
    sort_into(spec, src + half, dst + half, n - half, !to_dst);
    if (to_dst)
        merge(spec, src, half, src + half, n - half, dst);
    else
        merge(spec, dst, half, dst + half, n - half, src);
}

/* Sorts LINES (N of them) with TMP as room; the result is in LINES. */
static void merge_sort(const struct sort_spec *spec, struct line *lines,
                       struct line *tmp, size_t n)
{
    sort_into(spec, lines, tmp, n, false);
}

/* Part INDEX of the sort: its own run, sorted in place. */
static int sort_part(void *arg, unsigned index)
{
    struct sorter *s = arg;
    size_t start = s->runs[index], n = s->runs[index + 1] - start;

    merge_sort(s->spec, s->src + start, s->dst + start, n);
    return 0;
}

/* Writes the first COUNT lines of the stable merge of A and B to OUT. */
static void merge_front(const struct sort_spec *spec, const struct line *a,
                        size_t na, const struct line *b, size_t nb,
                        struct line *out, size_t count)
{
    const struct line *aend = a + na, *bend = b + nb;

    while (count--) {
        if (aend - a >= 2) /* as in merge() */
            __builtin_prefetch(a[1].text);
        if (bend - b >= 2)
            __builtin_prefetch(b[1].text);
        *out++ = b < bend && (a == aend || line_order(spec, b, a) < 0) ? *b++ : *a++;
    }
}

/* Writes the last COUNT lines of the stable merge of A and B before
 * OUT_END: from the back, of equal lines those of B first. */
static void merge_back(const struct sort_spec *spec, const struct line *a,
                       size_t na, const struct line *b, size_t nb,
                       struct line *out_end, size_t count)
{
    const struct line *ap = a + na, *bp = b + nb;

    while (count--) {
        if (ap - a >= 2) /* as in merge() */
            __builtin_prefetch(ap[-2].text);
        if (bp - b >= 2)
            __builtin_prefetch(bp[-2].text);
        *--out_end = bp > b && (ap == a || line_order(spec, bp - 1, ap - 1) >= 0)
                     ? *--bp : *--ap;
    }
}

/* Merges runs 2 * PAIR and 2 * PAIR + 1 from SRC into DST; a last run
 * without a partner is copied.  With HALVES 2, HALF 0 writes the first
 * half of the result and HALF 1 the second, so that two threads share
 * the last merges. */
static void merge_pair(struct sorter *s, size_t pair, unsigned half,
                       unsigned halves)
{
    size_t a = s->runs[2 * pair], b = s->runs[2 * pair + 1];
    size_t end = 2 * pair + 2 <= s->run_count ? s->runs[2 * pair + 2] : b;
    size_t n = end - a;

    if (halves == 1)
        merge(s->spec, s->src + a, b - a, s->src + b, end - b, s->dst + a);
    else if (half == 0)
        merge_front(s->spec, s->src + a, b - a, s->src + b, end - b,
                    s->dst + a, n / 2);
    else
        merge_back(s->spec, s->src + a, b - a, s->src + b, end - b,
                   s->dst + end, n - n / 2);
}

/* Part INDEX of a round of merges: every THREADS-th pair (or half of a
 * pair, when there are fewer pairs than threads) from INDEX. */
static int merge_pairs(void *arg, unsigned index)
{
    struct sorter *s = arg;
    unsigned halves = s->pairs < s->threads ? 2 : 1;

    for (size_t part = index; part < (size_t)s->pairs * halves; part += s->threads)
        merge_pair(s, part / halves, (unsigned)(part % halves), halves);
    return 0;
}

/* Merges the runs pair by pair, each round on threads, until one is left;
 * returns where the lines are then (SRC or DST). */
static struct line *merge_runs(struct sorter *s, mmio_error *err)
{
    while (s->run_count > 1) {
        unsigned pairs = (unsigned)((s->run_count + 1) / 2);
        unsigned parts = pairs < s->threads ? 2 * pairs : pairs;

        s->pairs = pairs;
        if (parallel_run(parts < s->threads ? parts : s->threads, merge_pairs,
                         s, err) < 0)
            return NULL;
        for (size_t i = 0; 2 * i <= s->run_count; i++)
            s->runs[i] = s->runs[2 * i < s->run_count ? 2 * i : s->run_count];
        s->runs[pairs] = s->runs[s->run_count];
        s->run_count = pairs;
        struct line *swap = s->src;
        s->src = s->dst;
        s->dst = swap;
    }
    return s->src;
}


/* Sorts in parts on threads, then merges the parts. */
static struct line *merge_sort_lines(const struct sort_spec *spec,
                                     struct line *lines, struct line *tmp,
                                     size_t n, unsigned threads, mmio_error *err)
{
    size_t parts = n / 4096 < threads ? n / 4096 : threads;
    size_t runs[65];
    struct sorter s = { spec, lines, tmp, runs, parts ? parts : 1, threads, 0 };

    if (s.run_count > 64)
        s.run_count = 64;
    for (unsigned i = 0; i <= s.run_count; i++)
        runs[i] = parallel_split(n, (unsigned)s.run_count, i);
    if (parallel_run((unsigned)s.run_count, sort_part, &s, err) < 0)
        return NULL;
    return merge_runs(&s, err);
}

/* ---- Radix sort -------------------------------------------------------------- */

/* Groups this small are sorted by insertion instead. */
#define RADIX_SMALL 32
#define BUCKETS 257 /* bucket 0: the line has ended; byte B: bucket B + 1 */

/* The bucket of LINE at byte DEPTH of its key, from its prefix, which
 * holds the 8 bytes from DEPTH rounded down to a multiple of 8. */
static inline unsigned radix_bucket(const struct line *line, size_t depth)
{
    if (depth >= line->length)
        return 0;
    return (unsigned)(line->prefix >> (56 - 8 * (depth & 7)) & 0xff) + 1;
}

/* Compares lines whose first BASE bytes are equal and whose prefixes hold
 * their bytes from BASE. */
static inline int compare_from(const struct line *a, const struct line *b,
                               size_t base)
{
    size_t n, from;
    int diff;

    if (a->prefix != b->prefix)
        return a->prefix < b->prefix ? -1 : 1;
    n = a->length < b->length ? a->length : b->length;
    from = base + 8 < n ? base + 8 : n;
    diff = n > from ? memcmp(a->text + from, b->text + from, n - from) : 0;
    if (diff)
        return diff;
    return (a->length > b->length) - (a->length < b->length);
}

static void insertion_sort_from(struct line *lines, size_t n, size_t base)
{
    for (size_t i = 1; i < n; i++) {
        struct line x = lines[i];
        size_t j = i;
        while (j > 0 && compare_from(&lines[j - 1], &x, base) > 0) {
            lines[j] = lines[j - 1];
            j--;
        }
        lines[j] = x;
    }
}

/* Loads the next 8 bytes of each line's key, from DEPTH, into its prefix
 * (0 for a line that has ended). */
static void load_prefixes(struct line *lines, size_t n, size_t depth)
{
    for (size_t i = 0; i < n; i++)
        lines[i].prefix = lines[i].length > depth
                          ? line_prefix(lines[i].text + depth, lines[i].length - depth)
                          : 0;
}

/* Finds the first byte from *DEPTH at which the N lines at LINES differ,
 * counting its values into COUNT.  False when there is none to find: the
 * lines were few (and are now sorted) or are all the same. */
static bool radix_find_split(struct line *lines, size_t n, size_t *depth,
                             size_t count[BUCKETS])
{
    for (;; ++*depth) {
        if (*depth % 8 == 0 && *depth > 0)
            load_prefixes(lines, n, *depth);
        if (n <= RADIX_SMALL) {
            insertion_sort_from(lines, n, *depth & ~(size_t)7);
            return false;
        }
        memset(count, 0, BUCKETS * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[radix_bucket(&lines[i], *depth)]++;
        if (count[0] == n)
            return false; /* every line has ended: they are all the same */
        if (count[radix_bucket(&lines[0], *depth)] < n)
            return true;
    }
}

/* Sorts the N lines at LINES, whose first DEPTH bytes are equal, bytewise,
 * TMP being room for N lines; the result is left in TMP when INTO_TMP, else
 * in LINES.  Each pass moves the lines from one to the other, so that no
 * pass copies them back.  The prefixes hold the bytes from DEPTH rounded
 * down to a multiple of 8, and are left holding later ones. */
static void radix_sort(struct line *lines, struct line *tmp, size_t n,
                       size_t depth, bool into_tmp)
{
    size_t count[BUCKETS], start[BUCKETS], from = 0;

    if (!radix_find_split(lines, n, &depth, count)) {
        if (into_tmp)
            memcpy(tmp, lines, n * sizeof *lines);
        return;
    }
    start[0] = 0;
    for (unsigned b = 1; b < BUCKETS; b++)
        start[b] = start[b - 1] + count[b - 1];
    for (size_t i = 0; i < n; i++)
        tmp[start[radix_bucket(&lines[i], depth)]++] = lines[i];
    /* The lines that have ended are all the same, and so is a lone one. */
    for (unsigned b = 0; b < BUCKETS; b++) {
        if (b > 0 && count[b] > 1)
            radix_sort(tmp + from, lines + from, count[b], depth + 1, !into_tmp);
        else if (!into_tmp && count[b] > 0)
            memcpy(lines + from, tmp + from, count[b] * sizeof *lines);
        from += count[b];
    }
}

/* The first pass of the radix sort on threads: each part counts the first
 * bytes of its share of the lines, then moves them to their buckets in
 * TMP; then each part sorts the buckets it was given, in TMP.  Lines
 * found in buckets already (sort_bucketed) skip the first pass. */
struct radix {
    struct line *lines, *tmp;
    size_t n;
    unsigned parts;
    size_t (*next)[BUCKETS];     /* part I: counts, then where its lines go */
    size_t start[BUCKETS + 1];   /* where bucket B starts in TMP */
    unsigned char owner[BUCKETS]; /* the part that sorts bucket B */
    struct line *room[64];       /* part I's room to work in, or NULL: LINES */
    const unsigned char *empty;  /* when not NULL: LINES[I] goes to bucket 0
                                    when EMPTY[I] (an empty first key) */
};

/* The bucket of the first pass for line I. */
static inline unsigned radix_first(const struct radix *r, size_t i)
{
    return r->empty && r->empty[i] ? 0 : radix_bucket(&r->lines[i], 0);
}

static size_t bucket_size(const struct radix *r, unsigned b)
{
    return r->start[b + 1] - r->start[b];
}

static int radix_count(void *arg, unsigned index)
{
    struct radix *r = arg;
    size_t *count = r->next[index];

    memset(count, 0, BUCKETS * sizeof *count);
    for (size_t i = parallel_split(r->n, r->parts, index);
         i < parallel_split(r->n, r->parts, index + 1); i++)
        count[radix_first(r, i)]++;
    return 0;
}

static int radix_scatter(void *arg, unsigned index)
{
    struct radix *r = arg;
    size_t *next = r->next[index];

    for (size_t i = parallel_split(r->n, r->parts, index);
         i < parallel_split(r->n, r->parts, index + 1); i++)
        r->tmp[next[radix_first(r, i)]++] = r->lines[i];
    return 0;
}

static int radix_sort_buckets(void *arg, unsigned index)
{
    struct radix *r = arg;

    for (unsigned b = 1; b < BUCKETS; b++) {
        size_t size = bucket_size(r, b);
        if (r->owner[b] != index || size < 2)
            continue;
        radix_sort(r->tmp + r->start[b],
                   r->room[index] ? r->room[index] : r->lines + r->start[b],
                   size, 1, false);
    }
    return 0;
}

/* Gives the buckets to the parts, the largest first to the part with
 * least to do. */
static void radix_share(struct radix *r)
{
    size_t load[64] = { 0 };
    bool given[BUCKETS] = { false };

    for (unsigned round = 1; round < BUCKETS; round++) {
        unsigned largest = 0, least = 0; /* bucket 0 needs no sorting */
        for (unsigned b = 1; b < BUCKETS; b++)
            if (!given[b] && (largest == 0
                              || bucket_size(r, b) > bucket_size(r, largest)))
                largest = b;
        for (unsigned p = 1; p < r->parts; p++)
            if (load[p] < load[least])
                least = p;
        given[largest] = true;
        r->owner[largest] = (unsigned char)least;
        load[least] += bucket_size(r, largest);
    }
}

/* Turns the parts' counts into bucket starts and where each part's lines
 * go, and shares the buckets out. */
static void radix_plan(struct radix *r)
{
    size_t at = 0;

    for (unsigned b = 0; b < BUCKETS; b++) {
        r->start[b] = at;
        for (unsigned p = 0; p < r->parts; p++) {
            size_t count = r->next[p][b];
            r->next[p][b] = at;
            at += count;
        }
    }
    r->start[BUCKETS] = at;
    radix_share(r);
}

/* The number of parts for N lines on up to THREADS threads. */
static unsigned radix_parts(size_t n, unsigned threads)
{
    unsigned parts = 1;

    if (n / 65536 > 1)
        parts = n / 65536 < threads ? (unsigned)(n / 65536) : threads;
    return parts > 64 ? 64 : parts;
}

/* Sorts bytewise on up to THREADS threads; the result is in TMP.  With
 * EMPTY, the lines it marks come first, in the order they were. */
static struct line *radix_sort_lines(struct line *lines, struct line *tmp,
                                     size_t n, unsigned threads,
                                     const unsigned char *empty, mmio_error *err)
{
    struct radix r = { lines, tmp, n, radix_parts(n, threads), NULL, { 0 },
                       { 0 }, { NULL }, empty };
    struct line *sorted = NULL;

    r.next = malloc(r.parts * sizeof *r.next);
    if (!r.next)
        abort();
    if (parallel_run(r.parts, radix_count, &r, err) == 0) {
        radix_plan(&r);
        if (parallel_run(r.parts, radix_scatter, &r, err) == 0
            && parallel_run(r.parts, radix_sort_buckets, &r, err) == 0)
            sorted = tmp;
    }
    free(r.next);
    return sorted;
}

static void reverse_lines(struct line *lines, size_t n)
{
    for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
        struct line swap = lines[i];
        lines[i] = lines[j - 1];
        lines[j - 1] = swap;
    }
}

/* Gives each part room to work in, as large as its largest bucket, all
 * in one allocation; false when memory is short. */
static bool radix_rooms(struct radix *r, struct line **all)
{
    size_t largest[64] = { 0 }, total = 0;

    for (unsigned b = 1; b < BUCKETS; b++)
        if (bucket_size(r, b) > largest[r->owner[b]])
            largest[r->owner[b]] = bucket_size(r, b);
    for (unsigned p = 0; p < r->parts; p++)
        total += largest[p];
    *all = malloc((total ? total : 1) * sizeof **all);
    for (unsigned p = 0, at = 0; *all && p < r->parts; at += largest[p++])
        r->room[p] = *all + at;
    return *all != NULL;
}

struct line *sort_bucketed(const struct sort_spec *spec, struct line *lines,
                           size_t n, const size_t start[FIRST_BUCKETS + 1],
                           unsigned threads, mmio_error *err)
{
    struct radix r = { NULL, lines, n, radix_parts(n, threads), NULL, { 0 },
                       { 0 }, { NULL }, NULL };
    struct line *rooms, *sorted = NULL;

    memcpy(r.start, start, sizeof r.start);
    radix_share(&r);
    if (!radix_rooms(&r, &rooms)) {
        err->code = ENOMEM;
        return NULL;
    }
    if (parallel_run(r.parts, radix_sort_buckets, &r, err) == 0)
        sorted = lines;
    free(rooms);
    if (sorted && spec->reverse)
        reverse_lines(sorted, n);
    return sorted;
}

static int compare_ranges(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct text_range *)a)->start;
    uintptr_t y = (uintptr_t)((const struct text_range *)b)->start;

    return (x > y) - (x < y);
}

/* ---- Radix sort on the first key -------------------------------------------- */

/* When the first key compares as plain bytes, each line is turned into
 * its first key (which lies inside it), the keys are radix sorted (the
 * radix sort is stable: equal keys keep their input order), each key is
 * turned back into the line around it, and each run of lines whose keys
 * tie is put in order by the rest of GNU's comparison. */
struct keyed {
    const struct sort_spec *spec;
    struct sort_spec rest;           /* SPEC without its first key */
    const struct text_range *ranges; /* the inputs, by address */
    size_t range_count;
    struct line *lines, *scratch;    /* N each */
    size_t n;
    unsigned parts;
    unsigned char *tie;              /* 1: line I's key equals line I-1's */
    size_t large;                    /* runs of ties this long: on threads */
    size_t *empty;                   /* part I: how many of its keys are empty */
    size_t keys_from;                /* lines before this one have empty keys */
};

/* Where part INDEX's share of the keys [KEYS_FROM, N) starts. */
static size_t key_split(const struct keyed *k, unsigned index)
{
    return k->keys_from + parallel_split(k->n - k->keys_from, k->parts, index);
}

/* Part INDEX: turns its lines into their first keys, except that a line
 * whose key is empty stays itself (TIE notes which), with an empty key's
 * prefix. */
static int lines_to_keys(void *arg, unsigned index)
{
    struct keyed *k = arg;
    size_t empty = 0;

    for (size_t i = parallel_split(k->n, k->parts, index);
         i < parallel_split(k->n, k->parts, index + 1); i++) {
        const unsigned char *start, *limit;
        sort_first_key(k->spec, &k->lines[i], &start, &limit);
        k->tie[i] = start >= limit;
        if (k->tie[i]) {
            k->lines[i].prefix = 0;
            empty++;
            continue;
        }
        k->lines[i].text = start;
        k->lines[i].length = (size_t)(limit - start);
        k->lines[i].prefix = line_prefix(start, k->lines[i].length);
    }
    k->empty[index] = empty;
    return 0;
}

/* The input that holds P. */
static const struct text_range *range_of(const struct keyed *k,
                                         const unsigned char *p)
{
    size_t low = 0, high = k->range_count;

    while (high - low > 1) {
        size_t mid = low + (high - low) / 2;
        if ((uintptr_t)p < (uintptr_t)k->ranges[mid].start)
            high = mid;
        else
            low = mid;
    }
    return &k->ranges[low];
}

/* The line around KEY: from the line end before it to the one after. */
static struct line line_around(const struct keyed *k, const struct line *key)
{
    const struct text_range *range = range_of(k, key->text);
    const unsigned char *start = key->text, *from = key->text + key->length;
    const unsigned char *end = memchr(from, k->spec->eol,
                                      (size_t)(range->end - from));
    unsigned char eol = k->spec->eol;

    while (start > range->start && start[-1] != eol)
        start--;
    end = end ? end : range->end;
    return (struct line){ start, (size_t)(end - start), 0 };
}

/* Notes which keys equal the one before. */
static int mark_ties(void *arg, unsigned index)
{
    struct keyed *k = arg;
    size_t end = key_split(k, index + 1);

    for (size_t i = key_split(k, index); i < end; i++) {
        const struct line *a = &k->lines[i - (i > 0)], *b = &k->lines[i];
        if (i + 16 < end) /* the keys are far apart: ask ahead */
            __builtin_prefetch(k->lines[i + 16].text);
        k->tie[i] = i > k->keys_from && a->length == b->length
                    && memcmp(a->text, b->text, a->length) == 0;
    }
    return 0;
}

/* Turns keys into their lines, each with its first key's prefix, as
 * sort_prefix gives it. */
static int keys_to_lines(void *arg, unsigned index)
{
    struct keyed *k = arg;

    size_t end = key_split(k, index + 1);

    for (size_t i = key_split(k, index); i < end; i++) {
        struct line line;
        if (i + 16 < end) /* the keys are far apart: ask ahead */
            __builtin_prefetch(k->lines[i + 16].text);
        line = line_around(k, &k->lines[i]);
        line.prefix = line_prefix(k->lines[i].text, k->lines[i].length);
        k->lines[i] = line;
    }
    return 0;
}

/* The end of the run of ties that starts at FROM. */
static size_t tie_end(const struct keyed *k, size_t from)
{
    size_t to = from + 1;

    while (to < k->n && k->tie[to])
        to++;
    return to;
}

/* Puts the N lines at LINES, whose first keys are equal, in order by the
 * rest of the comparison on THREADS threads; SCRATCH is room for N. */
static int sort_ties(const struct keyed *k, struct line *lines,
                     struct line *scratch, size_t n, unsigned threads,
                     mmio_error *err)
{
    struct line *sorted;

    if (k->rest.key_count > 0) {
        sorted = merge_sort_lines(&k->rest, lines, scratch, n, threads, err);
    } else { /* the last resort alone: the whole lines, as bytes */
        for (size_t i = 0; i < n; i++)
            lines[i].prefix = line_prefix(lines[i].text, lines[i].length);
        sorted = threads > 1 ? radix_sort_lines(lines, scratch, n, threads, NULL, err)
                             : (radix_sort(lines, scratch, n, 0, false), lines);
    }
    if (!sorted)
        return -1;
    if (sorted != lines)
        memcpy(lines, sorted, n * sizeof *lines);
    return 0;
}

/* Part INDEX: sorts the short runs of ties that start in its share. */
static int sort_short_ties(void *arg, unsigned index)
{
    struct keyed *k = arg;
    size_t from = parallel_split(k->n, k->parts, index);
    size_t end = parallel_split(k->n, k->parts, index + 1);

    while (from < end && k->tie[from])
        from++; /* a run that started in the part before */
    while (from < end) {
        size_t to = tie_end(k, from);
        if (to - from > 1 && to - from < k->large
            && sort_ties(k, k->lines + from, k->scratch + from,
                         to - from, 1, NULL) < 0)
            return -1;
        from = to;
    }
    return 0;
}

/* Sorts the long runs of ties one by one, each on every thread. */
static int sort_long_ties(struct keyed *k, unsigned threads, mmio_error *err)
{
    for (size_t from = 0, to; from < k->n; from = to) {
        to = tie_end(k, from);
        if (to - from >= k->large
            && sort_ties(k, k->lines + from, k->scratch + from,
                         to - from, threads, err) < 0)
            return -1;
    }
    return 0;
}

/* Sorts by the first key; the result is in the scratch array.  Empty
 * keys come first, in the order their lines came: those lines stay lines
 * through the radix sort and need not be found again after it. */
static struct line *key_radix_sort(struct keyed *k, unsigned threads,
                                   mmio_error *err)
{
    struct line *lines = k->lines, *tmp = k->scratch;

    if (parallel_run(k->parts, lines_to_keys, k, err) < 0
        || !radix_sort_lines(lines, tmp, k->n, threads, k->tie, err))
        return NULL;
    for (unsigned p = 0; p < k->parts; p++)
        k->keys_from += k->empty[p];
    k->lines = tmp;
    k->scratch = lines;
    memset(k->tie, 1, k->keys_from);
    if (k->keys_from > 0)
        k->tie[0] = 0;
    if (parallel_run(k->parts, mark_ties, k, err) < 0
        || parallel_run(k->parts, keys_to_lines, k, err) < 0)
        return NULL;
    /* Ties wait for the other keys, and then for the last resort. */
    if ((k->spec->key_count > 1 || (!k->spec->stable && !k->spec->unique))
        && (parallel_run(k->parts, sort_short_ties, k, err) < 0
            || sort_long_ties(k, threads, err) < 0))
        return NULL;
    return tmp;
}

/* Sorts on the first key when it is plain bytes, in order. */
static struct line *sort_by_first_key(const struct sort_spec *spec,
                                      struct line *lines, struct line *tmp,
                                      size_t n, const struct text_range *ranges,
                                      size_t range_count, unsigned threads,
                                      mmio_error *err)
{
    struct keyed k = { spec, *spec, NULL, range_count, lines, tmp, n, threads,
                       malloc(n ? n : 1), 65536,
                       calloc(threads, sizeof(size_t)), 0 };
    struct text_range *by_address = malloc(range_count * sizeof *by_address);
    struct line *sorted = NULL;

    if (!k.tie || !k.empty || !by_address)
        abort();
    memcpy(by_address, ranges, range_count * sizeof *ranges);
    qsort(by_address, range_count, sizeof *by_address, compare_ranges);
    k.ranges = by_address;
    /* Within a run of ties the first key is known to be equal. */
    k.rest.keys++;
    k.rest.key_count--;
    k.rest.key_prefix = false;
    if (n / 65536 < threads)
        k.parts = n / 65536 > 1 ? (unsigned)(n / 65536) : 1;
    sorted = key_radix_sort(&k, threads, err);
    free(by_address);
    free(k.tie);
    free(k.empty);
    return sorted;
}

bool sort_lines_by_key(const struct sort_spec *spec)
{
    return spec->key_prefix && !spec->keys[0].reverse && !spec->reverse;
}

struct line *sort_lines(const struct sort_spec *spec, struct line *lines,
                        struct line *tmp, size_t n,
                        const struct text_range *ranges, size_t range_count,
                        unsigned threads, mmio_error *err)
{
    struct line *sorted;

    if (sort_lines_by_key(spec) && range_count > 0)
        return sort_by_first_key(spec, lines, tmp, n, ranges, range_count,
                                 threads, err);
    if (!spec->bytewise)
        return merge_sort_lines(spec, lines, tmp, n, threads, err);
    /* Equal lines are the same bytes: no stability to keep, and reversing
     * the order gives -r. */
    sorted = radix_sort_lines(lines, tmp, n, threads, NULL, err);
    if (sorted && spec->reverse)
        reverse_lines(sorted, n);
    return sorted;
}
