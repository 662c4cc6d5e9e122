/* mmsort's record mode: fixed-size binary records sorted by a key, with an
 * in-place MSD radix sort (American flag sort) on the key's digits, the
 * whole record breaking ties; -s and -u sort an index instead. */
#include <config.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmio.h"
#include "parallel.h"
#include "size.h"
#include "sortrecords.h"
#include "tool.h"

#define RECORDS_TROUBLE 2 /* GNU sort's status for anything that went wrong */
#define RECORDS_DISORDER 1

/* ---- Key types ---------------------------------------------------------------- */

/* How a key type reads its bytes: WIDTH 0 is plain bytes. */
struct key_type {
    const char *name;
    unsigned width;
    bool little_endian, is_signed, is_float;
};

static const struct key_type key_types[] = {
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

#define KEY_TYPE_COUNT (sizeof key_types / sizeof *key_types)

/* "mmsort: MESSAGE", exit 2: a bad option value or combination, worded
 * as mmsort's text mode words them (GNU sort's die). */
static void xbad_usage(const char *format, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void xbad_usage(const char *format, ...)
{
    char message[512];
    va_list ap;

    va_start(ap, format);
    vsnprintf(message, sizeof message, format, ap);
    va_end(ap);
    tool_warn("%s", message);
    exit(tool_finish(RECORDS_TROUBLE));
}

/* A size in bytes with an optional unit (K, M, ...); a usage error when
 * ARG is not one, or is 0 and ZERO_OK is false. */
static uint64_t xsize_value(const char *option, const char *arg, bool zero_ok)
{
    struct size_value size;

    if (size_parse(arg, 1, &size) != SIZE_OK || size.percent
        || (size.amount == 0 && !zero_ok) || size.amount > SIZE_MAX / 4)
        xbad_usage("invalid %s argument '%s'", option, arg);
    return size.amount;
}

void record_option(struct record_options *r, enum record_option_index which,
                   const char *arg)
{
    switch (which) {
    case RECORD_SIZE:
        r->record_size = xsize_value("--record-size", arg, false);
        return;
    case RECORD_KEY_OFFSET:
        r->key_offset = xsize_value("--key-offset", arg, true);
        r->key_offset_given = true;
        return;
    case RECORD_KEY_SIZE:
        r->key_size = xsize_value("--key-size", arg, true);
        r->key_size_given = true;
        return;
    case RECORD_KEY_TYPE:
        for (size_t i = 0; i < KEY_TYPE_COUNT; i++)
            if (strcmp(key_types[i].name, arg) == 0) {
                r->key_type = (int)i;
                r->key_type_given = arg;
                return;
            }
        xbad_usage("invalid --key-type argument '%s' (one of bytes, u8, i8,"
                         " u16le ... i64be, f32le, f32be, f64le, f64be)", arg);
    }
}

/* Settles the key's size and checks that it fits the record and its
 * type: usage errors, exit 2. */
static void check_key(struct record_options *r)
{
    unsigned width = key_types[r->key_type].width;

    if (r->key_offset >= r->record_size)
        xbad_usage("--key-offset=%" PRIu64 " is not inside the %" PRIu64
                         "-byte record", r->key_offset, r->record_size);
    if (!r->key_size_given)
        r->key_size = width ? width : r->record_size - r->key_offset;
    if (width && r->key_size != width)
        xbad_usage("--key-type=%s takes a %u-byte key, not %" PRIu64,
                         key_types[r->key_type].name, width, r->key_size);
    if (r->key_size > r->record_size - r->key_offset)
        xbad_usage("the key (%" PRIu64 " bytes at offset %" PRIu64
                         ") reaches past the %" PRIu64 "-byte record",
                         r->key_size, r->key_offset, r->record_size);
}

/* ---- Order -------------------------------------------------------------------- */

/* How records compare: by the key's digits, then (without -s or -u) by
 * all their bytes; every digit complemented for -r. */
struct order {
    size_t record;          /* bytes a record */
    size_t key_offset, key_size;
    const struct key_type *type;
    unsigned char flip;     /* 0xff with -r */
    bool key_only;          /* -s, -u: no tie-break by the whole record */
    size_t depth;           /* how many digits there are */
};

/* The key of REC as an unsigned number whose order is the type's: the
 * sign bit flipped for signed integers; for floats the usual IEEE flip,
 * -0 as +0 and every NaN after +inf. */
static uint64_t key_number(const struct order *o, const unsigned char *rec)
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
static inline unsigned record_digit(const struct order *o,
                                    const unsigned char *rec, size_t d)
{
    unsigned v;

    if (d >= o->key_size)
        v = rec[d - o->key_size];
    else if (o->type->width == 0)
        v = rec[o->key_offset + d];
    else
        v = (unsigned)(key_number(o, rec) >> (8 * (o->type->width - 1 - d))) & 0xff;
    return v ^ o->flip;
}

/* The keys of A and B compared, not reversed. */
static int key_compare(const struct order *o, const unsigned char *a,
                       const unsigned char *b)
{
    uint64_t x, y;

    if (o->type->width == 0)
        return memcmp(a + o->key_offset, b + o->key_offset, o->key_size);
    x = key_number(o, a);
    y = key_number(o, b);
    return (x > y) - (x < y);
}

/* A and B in the order of O, -r included. */
static int record_compare(const struct order *o, const unsigned char *a,
                          const unsigned char *b)
{
    int diff = key_compare(o, a, b);

    if (diff == 0 && !o->key_only)
        diff = memcmp(a, b, o->record);
    return o->flip ? -diff : diff;
}

/* ---- American flag sort ----------------------------------------------------- */

#define SMALL_GROUP 24 /* groups this small go to insertion sort */
#define CHAIN_MAX 32   /* the most records moved round in one go */

/* One thread's sort: the order and a record's worth of room. */
struct sorter {
    const struct order *o;
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

static void count_digits(const struct order *o, const unsigned char *base,
                         size_t n, size_t d, size_t count[256])
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

/* ---- On every thread ------------------------------------------------------------ */

/* The radix sort's first pass on threads: each counts its share of the
 * records; then one thread moves them into their buckets while the
 * others sort each bucket as soon as it is whole (in the American flag
 * sort a bucket is final once the pass has left it), and joins them. */
struct radix {
    const struct order *o;
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
    while ((b = __atomic_fetch_add(&r->next_bucket, 1, __ATOMIC_RELAXED)) < 256) {
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
static int radix_sort_records(const struct order *o, unsigned char *base,
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

/* ---- -s and -u: a stable sort of an index ------------------------------------- */

/* Equal keys must keep their input order (-s), or the first of them in
 * input order be found (-u): the American flag sort keeps no order, so
 * these sort an index of record numbers with a stable merge sort, then
 * move the records where it says (one cycle at a time, in place). */
struct index_sort {
    const struct order *o;
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
static int index_sort_records(const struct order *o, unsigned char *base,
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

/* Sorts the N records at BASE as JOB says, on its threads; *KEPT is how
 * many are left at the front (fewer with -u).  Returns 0, -1 on a fault
 * (ERR says), -2 when out of memory. */
static int sort_buffer(const struct record_job *job, const struct order *o,
                       unsigned char *base, size_t n, size_t *kept,
                       mmio_error *err)
{
    *kept = n;
    if (job->stable || job->unique)
        return index_sort_records(o, base, n, job->threads, job->unique, kept,
                                  err);
    return radix_sort_records(o, base, n, job->threads, err);
}

/* ---- Messages ----------------------------------------------------------------- */

/* "mmsort: WHAT: NAME: REASON" (NAME NULL: the path in ERR). */
static void warn_failed(const char *what, const char *name,
                        const mmio_error *err)
{
    char reason[256];

    mmio_strerror(err->code, reason, sizeof reason);
    if (!name)
        name = err->path;
    if (!name)
        tool_warn("%s: %s", what, reason);
    else
        tool_warn("%s: %s: %s", what, tool_quote(name), reason);
}

/* Reports as warn_failed, then exits 2 (an atomic output is removed). */
static void xfail(const char *what, const char *name, const mmio_error *err)
    __attribute__((noreturn));

static void xfail(const char *what, const char *name, const mmio_error *err)
{
    warn_failed(what, name, err);
    exit(tool_finish(RECORDS_TROUBLE));
}

static void xout_of_memory(void) __attribute__((noreturn));

static void xout_of_memory(void)
{
    tool_warn("memory exhausted");
    exit(tool_finish(RECORDS_TROUBLE));
}

/* "FILE: N bytes are not a whole number of R-byte records", or NULL. */
static bool whole_records(const char *name, uint64_t size, size_t record)
{
    if (size % record == 0)
        return true;
    tool_warn("%s: %" PRIu64 " bytes are not a whole number of %" PRIu64
              "-byte records", tool_quote(name), size, (uint64_t)record);
    return false;
}

/* ---- Inputs ------------------------------------------------------------------- */

struct input {
    const char *name;
    mmio_file *file;
    mmio_view view;
};

/* Everything one run works on. */
struct records {
    const struct record_job *job;
    struct order order;
    struct input *inputs;
    size_t input_count;
    uint64_t total;  /* bytes in all inputs */
};

/* Loads NAME whole, mapped (MODE) when it is a regular file. */
static void xload_input(struct records *r, struct input *in, const char *name,
                        enum mmio_map_mode mode)
{
    mmio_error err;

    in->name = name;
    in->file = tool_open_input(name, &err);
    if (!in->file)
        xfail("cannot read", name, &err);
    if (mmio_load(in->file, mode, &in->view, &err) < 0)
        xfail("read failed", name, &err);
    if (!whole_records(name, in->view.size, r->order.record))
        exit(tool_finish(RECORDS_TROUBLE));
    r->total += in->view.size;
}

static void xload_inputs(struct records *r, char **names, size_t count,
                         enum mmio_map_mode mode)
{
    static char *standard_input[] = { "-" };

    if (count == 0) {
        names = standard_input;
        count = 1;
    }
    r->inputs = calloc(count, sizeof *r->inputs);
    if (!r->inputs)
        xout_of_memory();
    for (size_t i = 0; i < count; i++) {
        xload_input(r, &r->inputs[i], names[i], mode);
        r->input_count++;
    }
}

/* Unmaps and closes the inputs: Windows renames no file that is mapped. */
static void release_inputs(struct records *r)
{
    for (size_t i = 0; i < r->input_count; i++) {
        if (r->inputs[i].view.data || r->inputs[i].view.base)
            mmio_unmap(&r->inputs[i].view, NULL);
        mmio_close(r->inputs[i].file, NULL);
    }
    r->input_count = 0;
    free(r->inputs);
    r->inputs = NULL;
}

/* After a fault in mapped memory: the input that shrank, or FALLBACK. */
static void xshrunk(struct records *r, const char *fallback)
{
    mmio_error err = { "read", fallback, MMIO_ESHRUNK };

    for (size_t i = 0; i < r->input_count; i++) {
        uint64_t size;
        if (mmio_kind(r->inputs[i].file) == MMIO_KIND_REGULAR
            && mmio_size(r->inputs[i].file, &size, NULL) == 0
            && size < r->inputs[i].view.size)
            err.path = r->inputs[i].name;
    }
    xfail("read failed", err.path, &err);
}

/* Copies the inputs, one after the other, to DST. */
struct gather {
    struct records *r;
    unsigned char *dst;
};

static int gather_guarded(void *arg, unsigned index)
{
    struct gather *g = arg;
    unsigned char *p = g->dst;

    (void)index;
    for (size_t i = 0; i < g->r->input_count; i++) {
        if (g->r->inputs[i].view.size)
            memcpy(p, g->r->inputs[i].view.data, g->r->inputs[i].view.size);
        p += g->r->inputs[i].view.size;
    }
    return 0;
}

static void xgather(struct records *r, unsigned char *dst)
{
    struct gather g = { r, dst };
    mmio_error err;

    if (parallel_run(1, gather_guarded, &g, &err) < 0)
        xshrunk(r, NULL);
}

/* Sorts the N records at BASE or exits 2 after saying why; NAME is what
 * a fault is blamed on when no input shrank. */
static size_t xsort_buffer(struct records *r, unsigned char *base, size_t n,
                           const char *name)
{
    mmio_error err;
    size_t kept;
    int status = sort_buffer(r->job, &r->order, base, n, &kept, &err);

    if (status == -2)
        xout_of_memory();
    if (status < 0)
        xshrunk(r, name);
    return kept;
}

/* ---- Output --------------------------------------------------------------------- */

#define BOUNCE_SIZE ((size_t)256 * 1024)

/* Writes SIZE bytes at DATA to OUT through a buffer, so that a fault in
 * mapped memory happens in the copy, inside the guard, not in the
 * system's write. */
struct writer {
    mmio_file *out;
    const unsigned char *data;
    size_t size;
    unsigned char *bounce;
    mmio_error err;
    bool failed;
};

static int write_guarded(void *arg, unsigned index)
{
    struct writer *w = arg;

    (void)index;
    for (size_t at = 0; at < w->size && !w->failed; at += BOUNCE_SIZE) {
        size_t n = w->size - at < BOUNCE_SIZE ? w->size - at : BOUNCE_SIZE;
        memcpy(w->bounce, w->data + at, n);
        w->failed = mmio_write(w->out, w->bounce, n, &w->err) < 0;
    }
    return 0;
}

/* Exits 2 after a failed write to O (an atomic temporary is removed). */
static void xwrite_failed(mmio_file *o, const char *name, mmio_error *err)
    __attribute__((noreturn));

static void xwrite_failed(mmio_file *o, const char *name, mmio_error *err)
{
    warn_failed("write failed", name, err);
    mmio_close(o, NULL);
    exit(tool_finish(RECORDS_TROUBLE));
}

/* Sorts the records of the inputs in memory and writes them to OUT
 * (standard output, or an -o FILE that is not a regular file). */
static void sort_to_stream(struct records *r, mmio_file *out, const char *name)
{
    struct writer w = { out, NULL, 0, malloc(BOUNCE_SIZE), { 0 }, false };
    unsigned char *copy = NULL;
    size_t n = (size_t)(r->total / r->order.record), kept;
    mmio_error err;

    if (!w.bounce || r->total > SIZE_MAX)
        xout_of_memory();
    if (r->input_count == 1) { /* a private mapping (or the read pipe) */
        w.data = r->inputs[0].view.data;
    } else {
        copy = malloc(r->total ? (size_t)r->total : 1);
        if (!copy)
            xout_of_memory();
        xgather(r, copy);
        w.data = copy;
    }
    kept = xsort_buffer(r, (unsigned char *)w.data, n, NULL);
    w.size = kept * r->order.record;
    if (parallel_run(1, write_guarded, &w, &err) < 0)
        xshrunk(r, NULL);
    if (w.failed)
        xwrite_failed(out, name, &w.err);
    free(copy);
    free(w.bounce);
}

/* -o FILE, a regular file: made atomically at its full size, mapped, the
 * inputs copied in and sorted there, committed after the inputs are
 * released (FILE may be one of them). */
static void sort_into_file(struct records *r, mmio_file *o, const char *path)
{
    size_t n = (size_t)(r->total / r->order.record), kept = 0;
    mmio_view view;
    mmio_error err;

    if (r->total > SIZE_MAX)
        xwrite_failed(o, path, &(mmio_error){ "map", path, MMIO_ETOOBIG });
    if (mmio_resize(o, r->total, &err) < 0)
        xwrite_failed(o, path, &err);
    if (n > 0) {
        if (mmio_map(o, 0, r->total, MMIO_MAP_SHARED, &view, &err) < 0)
            xwrite_failed(o, path, &err);
        mmio_advise(&view, MMIO_WILLWRITE);
        xgather(r, view.data);
        kept = xsort_buffer(r, view.data, n, path);
        if (mmio_unmap(&view, &err) < 0)
            xwrite_failed(o, path, &err);
    }
    if (kept < n && mmio_resize(o, (uint64_t)kept * r->order.record, &err) < 0)
        xwrite_failed(o, path, &err);
    release_inputs(r);
    if (mmio_commit(o, &err) < 0)
        xwrite_failed(o, path, &err);
}

/* The sorted concatenation of the inputs, to standard output or -o FILE. */
static int sort_and_write(struct records *r, char **names, int count)
{
    const char *path = r->job->output;
    mmio_file *out;
    mmio_error err;

    /* One input is sorted in a private mapping of its own (unless it goes
     * to -o FILE), so that it is copied only where the sort writes. */
    xload_inputs(r, names, (size_t)count,
                 count <= 1 ? MMIO_MAP_PRIVATE : MMIO_MAP_READ);
    out = path ? mmio_create(path, MMIO_RDWR | MMIO_ATOMIC, &err)
               : mmio_stdout(&err);
    if (!out)
        xfail("open failed", path, &err);
    if (path && mmio_kind(out) == MMIO_KIND_REGULAR)
        sort_into_file(r, out, path);
    else
        sort_to_stream(r, out, path ? path : "standard output");
    release_inputs(r);
    if (mmio_close(out, &err) < 0)
        xfail("write failed", path ? path : "standard output", &err);
    return 0;
}

/* ---- In place ------------------------------------------------------------------ */

/* Sorts the records of the mapped file F (SIZE bytes) in place; the file
 * shrinks to the kept records with -u.  Returns 0 or 2. */
static int sort_mapped_file(struct records *r, mmio_file *f, const char *name,
                            uint64_t size)
{
    size_t n = (size_t)(size / r->order.record), kept;
    mmio_view view;
    mmio_error err;
    int status;

    if (size > SIZE_MAX)
        err = (mmio_error){ "map", name, MMIO_ETOOBIG };
    if (size > SIZE_MAX || mmio_map(f, 0, size, MMIO_MAP_SHARED, &view, &err) < 0) {
        warn_failed("open failed", name, &err);
        return RECORDS_TROUBLE;
    }
    mmio_advise(&view, MMIO_WILLWRITE);
    status = sort_buffer(r->job, &r->order, view.data, n, &kept, &err);
    mmio_unmap(&view, NULL);
    if (status == -2) {
        tool_warn("memory exhausted");
        return RECORDS_TROUBLE;
    }
    if (status < 0) {
        err.path = name;
        warn_failed("read failed", name, &err);
        return RECORDS_TROUBLE;
    }
    if (kept < n && mmio_resize(f, (uint64_t)kept * r->order.record, &err) < 0) {
        warn_failed("write failed", name, &err);
        return RECORDS_TROUBLE;
    }
    return 0;
}

/* Sorts NAME in place; a file that is not whole records is left as it
 * is.  Returns 0 or 2. */
static int sort_in_place(struct records *r, const char *name)
{
    mmio_error err;
    mmio_file *f = mmio_open(name, MMIO_RDWR | MMIO_REGULAR_ONLY, &err);
    uint64_t size;
    int status = RECORDS_TROUBLE;

    if (!f) {
        warn_failed("open failed", name, &err);
        return status;
    }
    if (mmio_size(f, &size, &err) < 0)
        warn_failed("read failed", name, &err);
    else if (!whole_records(name, size, r->order.record))
        ; /* left as it is */
    else if (size == 0)
        status = 0;
    else {
        /* A request to stop waits until the records are all in place. */
        mmio_defer_interrupts();
        status = sort_mapped_file(r, f, name, size);
        mmio_allow_interrupts();
    }
    mmio_close(f, NULL);
    return status;
}

/* ---- Checking ----------------------------------------------------------------- */

struct check {
    struct records *r;
    size_t disorder;  /* the first record out of order, from 1; or 0 */
};

static int check_guarded(void *arg, unsigned index)
{
    struct check *c = arg;
    const struct order *o = &c->r->order;
    const mmio_view *v = &c->r->inputs[0].view;
    size_t n = v->size / o->record;

    (void)index;
    for (size_t i = 1; i < n; i++) {
        int diff = record_compare(o, v->data + (i - 1) * o->record,
                                  v->data + i * o->record);
        if (diff > 0 || (diff == 0 && c->r->job->unique)) {
            c->disorder = i + 1;
            break;
        }
    }
    return 0;
}

/* -c and -C: 1 when the one input is out of order. */
static int check_records(struct records *r, char **names, int count)
{
    struct check c = { r, 0 };
    mmio_error err;

    if (count > 1)
        xbad_usage("extra operand '%s' not allowed with -%c", names[1],
                         r->job->check);
    xload_inputs(r, names, (size_t)count, MMIO_MAP_READ);
    if (parallel_run(1, check_guarded, &c, &err) < 0)
        xshrunk(r, NULL);
    if (c.disorder && r->job->check == 'c')
        tool_warn("%s: disorder: record %" PRIu64, r->inputs[0].name,
                  (uint64_t)c.disorder);
    release_inputs(r);
    return c.disorder ? RECORDS_DISORDER : 0;
}

/* ---- The run ------------------------------------------------------------------ */

int sort_records_main(const struct record_job *job, char **names, int count)
{
    struct records r = { .job = job };
    struct record_options rec = job->rec;

    check_key(&rec);
    r.order = (struct order){
        .record = (size_t)rec.record_size, .key_offset = (size_t)rec.key_offset,
        .key_size = (size_t)rec.key_size, .type = &key_types[rec.key_type],
        .flip = job->reverse ? 0xff : 0, .key_only = job->stable || job->unique,
    };
    r.order.depth = r.order.key_size + (r.order.key_only ? 0 : r.order.record);
    if (job->check && job->in_place)
        xbad_usage("options '-%cI' are incompatible", job->check);
    if (job->check)
        return check_records(&r, names, count);
    if (!job->in_place)
        return sort_and_write(&r, names, count);
    if (job->output)
        xbad_usage("options '-Io' are incompatible");
    if (count == 0)
        xbad_usage("-I needs a FILE to sort in place");
    int status = 0;
    for (int i = 0; i < count; i++)
        if (sort_in_place(&r, names[i]) != 0)
            status = RECORDS_TROUBLE;
    return status;
}
