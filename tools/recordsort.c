/* mmsort's record sorts: an American flag sort on the keys' digits, and
 * for -s and -u a stable merge sort of an index of the records. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "recordsort.h"

/* ---- Key types --------------------------------------------------------------- */

const struct key_type key_types[] = {
    { "bytes", 0, false, false, false },
    { "u8", 1, false, false, false },    { "i8", 1, false, true, false },
    { "u16le", 2, true, false, false },  { "u16be", 2, false, false, false },
    { "i16le", 2, true, true, false },   { "i16be", 2, false, true, false },
    { "u32le", 4, true, false, false },  { "u32be", 4, false, false, false },
    { "i32le", 4, true, true, false },   { "i32be", 4, false, true, false },
    { "u64le", 8, true, false, false },  { "u64be", 8, false, false, false },
    { "i64le", 8, true, true, false },   { "i64be", 8, false, true, false },
    { "f32le", 4, true, false, true },   { "f32be", 4, false, false, true },
    { "f64le", 8, true, false, true },   { "f64be", 8, false, false, true },
};

const size_t key_type_count = sizeof key_types / sizeof *key_types;

/* ---- Order ------------------------------------------------------------------- */

/* The key of REC as an unsigned number whose order is the type's: the
 * sign bit flipped for signed integers; for floats the usual IEEE flip,
 * -0 as +0 and every NaN after +inf. */
static uint64_t key_number(const struct record_order *o,
                           const unsigned char *rec)
{
    const unsigned char *p = rec + o->key_offset;
    unsigned width = o->type->width;
    uint64_t v = 0, sign = (uint64_t)1 << (8 * width - 1);
    uint64_t all = sign | (sign - 1);

    for (unsigned i = 0; i < width; i++)
        v = v << 8 | p[o->type->little_endian ? width - 1 - i : i];
    if (o->type->is_signed)
        return v ^ sign;
    if (!o->type->is_float)
        return v;
    uint64_t exponent = width == 4 ? 0x7f800000u : UINT64_C(0x7ff0000000000000);
    if ((v & exponent) == exponent && (v & ~exponent & ~sign) != 0)
        return all; /* NaN */
    if (v == sign)
        v = 0;      /* -0 */
    return v & sign ? ~v & all : v | sign;
}

/* Digit D (from 0) of REC: the key's bytes in order, then the record's. */
static inline unsigned record_digit(const struct record_order *o,
                                    const unsigned char *rec, size_t d)
{
    unsigned v;

    if (d >= o->key_size)
        v = rec[d - o->key_size];
    else if (o->type->width == 0)
        v = rec[o->key_offset + d];
    else
        v = (unsigned)(key_number(o, rec) >> (8 * (o->type->width - 1 - d)))
            & 0xff;
    return v ^ o->flip;
}

/* The keys of A and B compared, not reversed. */
static int key_compare(const struct record_order *o, const unsigned char *a,
                       const unsigned char *b)
{
    uint64_t x, y;

    if (o->type->width == 0)
        return memcmp(a + o->key_offset, b + o->key_offset, o->key_size);
    x = key_number(o, a);
    y = key_number(o, b);
    return (x > y) - (x < y);
}

int record_compare(const struct record_order *o, const unsigned char *a,
                   const unsigned char *b)
{
    int diff = key_compare(o, a, b);

    if (diff == 0 && !o->key_only)
        diff = memcmp(a, b, o->record);
    return o->flip ? -diff : diff;
}

/* ---- American flag sort ------------------------------------------------------ */

#define SMALL_GROUP 24 /* groups this small go to insertion sort */
#define CHAIN_MAX 32   /* the most records moved round in one go */

/* One thread's sort: the order and a record's worth of room. */
struct sorter {
    const struct record_order *o;
    unsigned char *spare;
};

static void insertion_sort(const struct sorter *s, unsigned char *base,
                           size_t n)
{
    size_t size = s->o->record;

    for (size_t i = 1; i < n; i++) {
        unsigned char *x = base + i * size;
        size_t j = i - 1;
        if (record_compare(s->o, x - size, x) <= 0)
            continue;
        while (j > 0 && record_compare(s->o, base + (j - 1) * size, x) > 0)
            j--;
        memcpy(s->spare, x, size);
        memmove(base + (j + 1) * size, base + j * size, (i - j) * size);
        memcpy(base + j * size, s->spare, size);
    }
}

static void count_digits(const struct record_order *o,
                         const unsigned char *base, size_t n, size_t d,
                         size_t count[256])
{
    memset(count, 0, 256 * sizeof *count);
    for (size_t i = 0; i < n; i++)
        count[record_digit(o, base + i * o->record, d)]++;
}

/* Moves the records of the chain POS[0..LAST] one place along it: each to
 * the next position, the last one to the first.  Every record stays in
 * the file exactly once, but for the one in SPARE during the move. */
static void rotate_chain(const struct sorter *s, unsigned char *base,
                         const size_t *pos, size_t last)
{
    size_t size = s->o->record;

    memcpy(s->spare, base + pos[last] * size, size);
    for (size_t i = last; i > 0; i--)
        memcpy(base + pos[i] * size, base + pos[i - 1] * size, size);
    memcpy(base + pos[0] * size, s->spare, size);
}

/* Puts the records at BASE in the buckets of their digit D, whose sizes
 * are COUNT: for each place not yet right, follows the chain of records
 * that each take the next free place of their bucket, then rotates it.
 * FINISHED, unless NULL, advances as each bucket is final. */
static void permute(const struct sorter *s, unsigned char *base, size_t d,
                    const size_t count[256], mmio_sequence *finished)
{
    size_t head[256], end[256], pos[CHAIN_MAX], size = s->o->record, at = 0;

    for (unsigned b = 0; b < 256; b++) {
        head[b] = at;
        at += count[b];
        end[b] = at;
    }
    for (unsigned b = 0; b < 256; b++) {
        while (head[b] < end[b]) {
            unsigned digit = record_digit(s->o, base + head[b] * size, d);
            size_t last = 0;
            if (digit == b) {
                head[b]++;
                continue;
            }
            pos[0] = head[b];
            while (digit != b && last + 1 < CHAIN_MAX) {
                size_t next = head[digit]++;
                /* That bucket's next place is read soon: ask for it. */
                __builtin_prefetch(base + head[digit] * size);
                __builtin_prefetch(base + head[digit] * size + size - 1);
                pos[++last] = next;
                digit = record_digit(s->o, base + next * size, d);
            }
            rotate_chain(s, base, pos, last);
            if (digit == b)
                head[b]++;
        }
        if (finished) /* bucket B is final: the threads may sort it */
            mmio_sequence_advance(finished);
    }
}

/* Sorts the N records at BASE, which share their first D digits. */
static void sort_group(const struct sorter *s, unsigned char *base, size_t n,
                       size_t d)
{
    size_t count[256], size = s->o->record;

    while (n > SMALL_GROUP && d < s->o->depth) {
        size_t at = 0, largest = 0, largest_at = 0;
        count_digits(s->o, base, n, d, count);
        if (count[record_digit(s->o, base, d)] == n) { /* one bucket */
            d++;
            continue;
        }
        permute(s, base, d, count, NULL);
        /* Each bucket but the largest in a call of its own, the largest
         * by the loop: calls nest at most log2(N) deep. */
        for (unsigned b = 0; b < 256; b++) {
            if (count[b] > count[largest]) {
                largest = b;
                largest_at = at;
            }
            at += count[b];
        }
        at = 0;
        for (unsigned b = 0; b < 256; at += count[b], b++)
            if (b != largest && count[b] > 1)
                sort_group(s, base + at * size, count[b], d + 1);
        base += largest_at * size;
        n = count[largest];
        d++;
    }
    if (n > 1 && d < s->o->depth)
        insertion_sort(s, base, n);
}

/* ---- On every thread --------------------------------------------------------- */

/* The radix sort's first pass on threads: each counts its share of the
 * records; then one thread moves them into their buckets while the
 * others sort each bucket as soon as it is whole (in the American flag
 * sort a bucket is final once the pass has left it), and joins them. */
struct radix {
    const struct record_order *o;
    unsigned char *base;
    size_t n;
    unsigned parts;
    unsigned char *spares;    /* a record's worth of room per part */
    size_t (*counts)[256];    /* per part */
    size_t count[256], start[256];
    size_t depth;             /* of the first pass: digits all share before */
    bool permuting;           /* false: the records are one bucket */
    mmio_sequence *finished;  /* how many buckets the first pass finished */
    unsigned next_bucket;     /* the next bucket a part takes to sort */
    bool failed;              /* the first pass met a fault */
};

static struct sorter part_sorter(const struct radix *r, unsigned index)
{
    return (struct sorter){ r->o, r->spares + (size_t)index * r->o->record };
}

static int radix_count(void *arg, unsigned index)
{
    struct radix *r = arg;
    size_t from = parallel_split(r->n, r->parts, index);
    size_t to = parallel_split(r->n, r->parts, index + 1);

    count_digits(r->o, r->base + from * r->o->record, to - from, r->depth,
                 r->counts[index]);
    return 0;
}

static int radix_permute_guarded(void *arg)
{
    struct radix *r = arg;
    struct sorter s = part_sorter(r, 0);

    permute(&s, r->base, r->depth, r->count, r->finished);
    return 0;
}

/* Sorts the buckets in turn as they are finished, with the other parts. */
static int radix_buckets(void *arg, unsigned index)
{
    struct radix *r = arg;
    struct sorter s = part_sorter(r, index);
    unsigned b;

    if (index == 0 && r->permuting) {
        mmio_error err;
        if (mmio_guard(radix_permute_guarded, r, &err) < 0) {
            /* Let the others stop waiting, then fail as this fault. */
            __atomic_store_n(&r->failed, true, __ATOMIC_RELEASE);
            for (unsigned i = 0; i < 256; i++)
                mmio_sequence_advance(r->finished);
            return -1;
        }
    }
    while ((b = __atomic_fetch_add(&r->next_bucket, 1, __ATOMIC_RELAXED))
           < 256) {
        if (r->permuting)
            mmio_sequence_wait(r->finished, b + 1);
        if (__atomic_load_n(&r->failed, __ATOMIC_ACQUIRE))
            return 0;
        if (r->count[b] > 1)
            sort_group(&s, r->base + r->start[b] * r->o->record, r->count[b],
                       r->depth + r->permuting);
    }
    return 0;
}

/* Counts the first digit on the threads, past digits all records share;
 * a group too small or all in one bucket stays one. */
static int radix_count_first(struct radix *r, mmio_error *err)
{
    for (;;) {
        size_t at = 0;
        bool one_bucket = false;
        if (parallel_run(r->parts, radix_count, r, err) < 0)
            return -1;
        for (unsigned b = 0; b < 256; b++) {
            r->count[b] = 0;
            for (unsigned p = 0; p < r->parts; p++)
                r->count[b] += r->counts[p][b];
            r->start[b] = at;
            at += r->count[b];
            one_bucket |= r->count[b] == r->n;
        }
        r->permuting = !one_bucket && r->n > SMALL_GROUP;
        if (r->permuting || !one_bucket || r->depth + 1 >= r->o->depth)
            break;
        r->depth++;
    }
    if (!r->permuting) {
        memset(r->count, 0, sizeof r->count);
        memset(r->start, 0, sizeof r->start);
        r->count[0] = r->n;
    }
    return 0;
}

/* Sorts the N records at BASE as O orders them, on up to THREADS threads,
 * each inside mmio_guard.  Returns 0, -1 on a fault (ERR), -2 when out of
 * memory. */
static int radix_sort_records(const struct record_order *o, unsigned char *base,
                              size_t n, unsigned threads, mmio_error *err)
{
    struct radix r = { .o = o, .base = base, .n = n, .parts = 1 };
    int status = -2;

    if (n / 65536 > 1)
        r.parts = n / 65536 < threads ? (unsigned)(n / 65536) : threads;
    if (r.parts > 64)
        r.parts = 64;
    r.counts = calloc(r.parts, sizeof *r.counts);
    r.spares = malloc(r.parts * o->record);
    r.finished = mmio_sequence_new(NULL);
    if (r.counts && r.spares && r.finished
        && (status = radix_count_first(&r, err)) == 0)
        status = parallel_run(r.parts, radix_buckets, &r, err);
    free(r.counts);
    free(r.spares);
    mmio_sequence_free(r.finished);
    return status;
}

/* ---- -s and -u: a stable sort of an index ------------------------------------ */

/* Equal keys must keep their input order (-s), or the first of them in
 * input order be found (-u): the American flag sort keeps no order, so
 * these sort an index of record numbers with a stable merge sort, then
 * move the records where it says (one cycle at a time, in place). */
struct index_sort {
    const struct record_order *o;
    unsigned char *base;
    size_t *order, *tmp;
    size_t n;
    unsigned parts;
    bool unique;
    size_t kept;
};

static int index_compare(const struct index_sort *x, size_t a, size_t b)
{
    size_t size = x->o->record;
    int diff = key_compare(x->o, x->base + a * size, x->base + b * size);

    return x->o->flip ? -diff : diff;
}

/* Merges the sorted runs [0, HALF) and [HALF, N) of A, with TMP as room;
 * of equal keys the left run's first, which keeps the order stable. */
static void index_merge(const struct index_sort *x, size_t *a, size_t *tmp,
                        size_t half, size_t n)
{
    size_t i = 0, j = half, k = 0;

    if (half == 0 || half == n || index_compare(x, a[half - 1], a[half]) <= 0)
        return;
    memcpy(tmp, a, half * sizeof *a);
    while (i < half && j < n)
        a[k++] = index_compare(x, a[j], tmp[i]) < 0 ? a[j++] : tmp[i++];
    memcpy(a + k, tmp + i, (half - i) * sizeof *a);
}

static void index_merge_sort(const struct index_sort *x, size_t *a, size_t *tmp,
                             size_t n)
{
    if (n <= 16) {
        for (size_t i = 1; i < n; i++) {
            size_t v = a[i], j = i;
            for (; j > 0 && index_compare(x, a[j - 1], v) > 0; j--)
                a[j] = a[j - 1];
            a[j] = v;
        }
        return;
    }
    index_merge_sort(x, a, tmp, n / 2);
    index_merge_sort(x, a + n / 2, tmp + n / 2, n - n / 2);
    index_merge(x, a, tmp, n / 2, n);
}

static int index_sort_part(void *arg, unsigned index)
{
    struct index_sort *x = arg;
    size_t from = parallel_split(x->n, x->parts, index);
    size_t to = parallel_split(x->n, x->parts, index + 1);

    for (size_t i = from; i < to; i++)
        x->order[i] = i;
    index_merge_sort(x, x->order + from, x->tmp + from, to - from);
    return 0;
}

/* -u: the first record of each run of equal keys first, in order, then
 * the others; X->KEPT says how many are kept. */
static void index_unique(struct index_sort *x)
{
    size_t kept = 0, dropped;

    for (size_t i = 0; i < x->n; i++)
        if (i == 0 || index_compare(x, x->order[i - 1], x->order[i]) != 0)
            x->tmp[kept++] = x->order[i];
    dropped = kept;
    for (size_t i = 1; i < x->n; i++)
        if (index_compare(x, x->order[i - 1], x->order[i]) == 0)
            x->tmp[dropped++] = x->order[i];
    memcpy(x->order, x->tmp, x->n * sizeof *x->order);
    x->kept = kept;
}

/* Moves record ORDER[I] to place I for every I, a cycle at a time with
 * one record in SPARE: every record is in the file exactly once, but for
 * the one in SPARE during a move.  ORDER[I] becomes I. */
static void index_apply(const struct index_sort *x, unsigned char *spare)
{
    size_t size = x->o->record;

    for (size_t i = 0; i < x->n; i++) {
        size_t j = i;
        if (x->order[i] == i)
            continue;
        memcpy(spare, x->base + i * size, size);
        for (;;) {
            size_t from = x->order[j];
            x->order[j] = j;
            if (from == i)
                break;
            memcpy(x->base + j * size, x->base + from * size, size);
            j = from;
        }
        memcpy(x->base + j * size, spare, size);
    }
}

/* After the parts: merges them, keeps the first of equal keys (-u) and
 * moves the records. */
static int index_finish(void *arg, unsigned index)
{
    struct index_sort *x = arg;
    unsigned char *spare = malloc(x->o->record);

    (void)index;
    if (!spare)
        return 0; /* X->KEPT stays SIZE_MAX: out of memory */
    for (unsigned width = 1; width < x->parts; width *= 2)
        for (unsigned p = 0; p + width < x->parts; p += 2 * width) {
            size_t from = parallel_split(x->n, x->parts, p);
            size_t mid = parallel_split(x->n, x->parts, p + width);
            unsigned end = p + 2 * width < x->parts ? p + 2 * width : x->parts;
            index_merge(x, x->order + from, x->tmp, mid - from,
                        parallel_split(x->n, x->parts, end) - from);
        }
    x->kept = x->n;
    if (x->unique)
        index_unique(x);
    index_apply(x, spare);
    free(spare);
    return 0;
}

/* Sorts the N records at BASE stably; with UNIQUE only the first of each
 * key is kept, at the front (*KEPT of them).  Returns as
 * radix_sort_records does. */
static int index_sort_records(const struct record_order *o, unsigned char *base,
                              size_t n, unsigned threads, bool unique,
                              size_t *kept, mmio_error *err)
{
    struct index_sort x = { o, base, NULL, NULL, n, 1, unique, SIZE_MAX };
    int status = -2;

    if (n / 65536 > 1)
        x.parts = n / 65536 < threads ? (unsigned)(n / 65536) : threads;
    x.order = malloc((n ? n : 1) * sizeof *x.order);
    x.tmp = malloc((n ? n : 1) * sizeof *x.tmp);
    if (x.order && x.tmp && n < SIZE_MAX / sizeof *x.order
        && (status = parallel_run(x.parts, index_sort_part, &x, err)) == 0
        && (status = parallel_run(1, index_finish, &x, err)) == 0
        && x.kept == SIZE_MAX)
        status = -2;
    free(x.order);
    free(x.tmp);
    *kept = x.kept;
    return status;
}

/* ---- Both sorts -------------------------------------------------------------- */

int record_sort(const struct record_order *o, unsigned char *base, size_t n,
                unsigned threads, bool unique, size_t *kept, mmio_error *err)
{
    *kept = n;
    if (o->key_only)
        return index_sort_records(o, base, n, threads, unique, kept, err);
    return radix_sort_records(o, base, n, threads, err);
}
