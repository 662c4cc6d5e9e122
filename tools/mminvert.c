/* mminvert: reverse the bytes, lines or records of a file, or complement
 * its bytes, in place through a writable shared mapping or into another
 * file, in windows so that any size works in bounded memory. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytescan.h"
#include "mmio.h"
#include "parallel.h"
#include "progress.h"
#include "size.h"
#include "tool.h"

static const char usage_text[] =
    "Usage: %s [OPTION]... FILE...\n"
    "Reverse or complement each FILE in place.\n"
    "\n"
    "  -c, --complement         replace every byte by its bitwise complement\n"
    "  -l, --lines              reverse the order of the lines\n"
    "  -r, --records=SIZE       reverse the order of SIZE-byte records\n"
    "  -z, --zero-terminated    lines end in NUL, not newline (implies -l)\n"
    "      --offset=N           change only the bytes from offset N on\n"
    "      --length=N           change only N bytes (from the offset)\n"
    "  -o, --output=OUTPUT      write the result to OUTPUT, leaving FILE as it\n"
    "                           is (one FILE only; - is standard output)\n"
    "      --progress           show progress on standard error\n"
    "      --help        display this help and exit\n"
    "      --version     output version information and exit\n"
    "\n"
    "Without -c, -l or -r, the order of the bytes is reversed.  Running the\n"
    "same command twice restores the file (for -l and -z, unless its first line\n"
    "is empty and its last has no line end: see mminvert(1)).\n"
    "SIZE and N are bytes, and may end in a unit: K, M, G, T, P or E (powers\n"
    "of 1024).\n";

enum { OPT_OFFSET = 256, OPT_LENGTH, OPT_PROGRESS, OPT_HELP, OPT_VERSION };

static const struct option long_options[] = {
    { "complement", no_argument, NULL, 'c' },
    { "lines", no_argument, NULL, 'l' },
    { "records", required_argument, NULL, 'r' },
    { "zero-terminated", no_argument, NULL, 'z' },
    { "offset", required_argument, NULL, OPT_OFFSET },
    { "length", required_argument, NULL, OPT_LENGTH },
    { "output", required_argument, NULL, 'o' },
    { "progress", no_argument, NULL, OPT_PROGRESS },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 }
};

enum mode { MODE_BYTES, MODE_LINES, MODE_RECORDS, MODE_COMPLEMENT };

struct options {
    enum mode mode;
    unsigned char line_end;    /* '\n', or NUL with -z */
    uint64_t record_size;      /* -r */
    uint64_t offset, length;   /* the region */
    bool length_given;         /* else the region goes to the end */
    const char *output;        /* -o */
    bool progress;
};

/* ---- Bytes in memory ---------------------------------------------------- */

/* Exchanges A[i] and B[N-1-i] for every i: the two ends of a reversal. */
static void swap_reversed(unsigned char *a, unsigned char *b, size_t n)
{
    unsigned char *end = b + n;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, end - i - 8, 8);
        x = __builtin_bswap64(x);
        y = __builtin_bswap64(y);
        memcpy(a + i, &y, 8);
        memcpy(end - i - 8, &x, 8);
    }
    for (; i < n; i++) {
        unsigned char t = a[i];
        a[i] = end[-1 - (ptrdiff_t)i];
        end[-1 - (ptrdiff_t)i] = t;
    }
}

/* Exchanges the W-byte words (W 8, 4 or 2) at P and Q - W, each with its
 * bytes reversed; when they overlap, both are read before either is
 * written, which leaves the bytes between reversed too. */
#define SWAP_WORDS(bits, p, q)                                             \
    do {                                                                   \
        uint##bits##_t x_, y_;                                             \
        memcpy(&x_, (p), sizeof x_);                                       \
        memcpy(&y_, (q) - sizeof y_, sizeof y_);                           \
        x_ = __builtin_bswap##bits(x_);                                    \
        y_ = __builtin_bswap##bits(y_);                                    \
        memcpy((p), &y_, sizeof y_);                                       \
        memcpy((q) - sizeof x_, &x_, sizeof x_);                           \
    } while (0)

/* Reverses the N bytes at P: words from both ends, then the middle of
 * under 16 bytes with one pair of (overlapping) words; short lines are
 * most of a text file's runs. */
static void reverse_bytes(unsigned char *p, size_t n)
{
    unsigned char *q = p + n;

    for (; q - p >= 16; p += 8, q -= 8)
        SWAP_WORDS(64, p, q);
    if (q - p >= 8)
        SWAP_WORDS(64, p, q);
    else if (q - p >= 4)
        SWAP_WORDS(32, p, q);
    else if (q - p >= 2) {
        unsigned char t = p[0];
        p[0] = q[-1];
        q[-1] = t;
    }
}

/* DST[i] = SRC[N-1-i] for every i. */
static void copy_reversed(unsigned char *dst, const unsigned char *src,
                          size_t n)
{
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, src + n - i - 8, 8);
        x = __builtin_bswap64(x);
        memcpy(dst + i, &x, 8);
    }
    for (; i < n; i++)
        dst[i] = src[n - 1 - i];
}

/* DST[i] = ~SRC[i] for every i; DST may be SRC. */
static void copy_complemented(unsigned char *dst, const unsigned char *src,
                              size_t n)
{
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, src + i, 8);
        x = ~x;
        memcpy(dst + i, &x, 8);
    }
    for (; i < n; i++)
        dst[i] = (unsigned char)~src[i];
}

/* Reverses each run of bytes ended by LINE_END in [P, END), and the run
 * that END ends too when FINAL. */
static void reverse_runs(unsigned char *p, unsigned char *end,
                         unsigned char line_end, bool final)
{
    for (;;) {
        unsigned char *stop = memchr(p, line_end, (size_t)(end - p));
        if (!stop)
            break;
        reverse_bytes(p, (size_t)(stop - p));
        p = stop + 1;
    }
    if (final)
        reverse_bytes(p, (size_t)(end - p));
}

/* ---- Lines reversed as their bytes become final ------------------------ */

/* A stretch of the result whose bytes are final (reversed), grown a block
 * at a time at either end: the runs between its line ends are reversed as
 * soon as a block completes them, while the block is in the cache; the
 * bytes out to its edges belong to runs that go on outside it. */
struct territory {
    unsigned char *first, *last; /* its lowest and highest line end, or NULL */
};

/* The offset in [P, END) of the next byte of cursor C, or END - P. */
static size_t next_end(struct bytescan_cursor *c, const unsigned char *p)
{
    return (size_t)(bytescan_next(c) - p);
}

/* Reverses each run between two line ends in the N bytes at P; false when
 * there is no line end, else true with the offsets of the first and the
 * last in *FIRST and *LAST. */
typedef bool inner_runs_fn(const struct bytescan *ends, unsigned char *p,
                           size_t n, size_t *first, size_t *last);

static bool reverse_inner_runs(const struct bytescan *ends, unsigned char *p,
                               size_t n, size_t *first, size_t *last)
{
    struct bytescan_cursor c;
    size_t next;

    bytescan_start(&c, ends, p, p + n);
    *first = *last = next_end(&c, p);
    if (*first == n)
        return false;
    while ((next = next_end(&c, p)) < n) {
        reverse_bytes(p + *last + 1, next - *last - 1);
        *last = next;
    }
    return true;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))

static const unsigned char byte_index[64] = {
     0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
    32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63
};

/* The first N (at most 64) bits set. */
VBMI static inline __mmask64 first_bits(size_t n)
{
    return n >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1;
}

/* The 64 bytes of X in reverse order. */
VBMI static inline __m512i reversed64(__m512i x, __m512i index)
{
    return _mm512_permutexvar_epi8(
        _mm512_sub_epi8(_mm512_set1_epi8(63), index), x);
}

/* reverse_bytes with AVX-512: 64-byte blocks from both ends, a middle of
 * 64 to 127 bytes as two overlapping blocks, and one under 64 bytes (most
 * lines) with one permutation and masked loads and stores, without a
 * branch on its length. */
VBMI static inline void reverse_bytes_vbmi(unsigned char *p, size_t n,
                                           __m512i index)
{
    unsigned char *q = p + n;
    __mmask64 run;
    __m512i from;

    for (; q - p >= 128; p += 64, q -= 64) {
        __m512i x = _mm512_loadu_si512(p), y = _mm512_loadu_si512(q - 64);
        _mm512_storeu_si512(p, reversed64(y, index));
        _mm512_storeu_si512(q - 64, reversed64(x, index));
    }
    if (q - p >= 64) {
        __m512i x = _mm512_loadu_si512(p), y = _mm512_loadu_si512(q - 64);
        _mm512_storeu_si512(p, reversed64(y, index));
        _mm512_storeu_si512(q - 64, reversed64(x, index));
        return;
    }
    run = first_bits((size_t)(q - p));
    from = _mm512_sub_epi8(_mm512_set1_epi8((char)(q - p - 1)), index);
    _mm512_mask_storeu_epi8(p, run, _mm512_permutexvar_epi8(
                                from, _mm512_maskz_loadu_epi8(run, p)));
}

/* reverse_inner_runs with AVX-512: 64 bytes compared at once, the short
 * runs (most lines) reversed without branching on their length.  Reversing
 * a run moves no line end, so a block's mask stays true. */
VBMI static bool reverse_inner_runs_vbmi(const struct bytescan *ends,
                                         unsigned char *p, size_t n,
                                         size_t *first, size_t *last)
{
    __m512i index = _mm512_loadu_si512(byte_index);
    __m512i end = _mm512_set1_epi8((char)ends->eq[0]);
    bool any = false;

    for (size_t at = 0; at < n; at += 64) {
        __mmask64 in = first_bits(n - at);
        __mmask64 hits = _mm512_mask_cmpeq_epi8_mask(
            in, _mm512_maskz_loadu_epi8(in, p + at), end);
        for (; hits; hits &= hits - 1) {
            size_t e = at + (size_t)__builtin_ctzll(hits);
            if (any)
                reverse_bytes_vbmi(p + *last + 1, e - *last - 1, index);
            else
                *first = e;
            *last = e;
            any = true;
        }
    }
    return any;
}

/* The fastest reverse_inner_runs this processor has. */
static inner_runs_fn *choose_inner_runs(void)
{
    __builtin_cpu_init();
    if (tool_simd_allowed() && __builtin_cpu_supports("avx512vbmi")
        && __builtin_cpu_supports("avx512bw"))
        return reverse_inner_runs_vbmi;
    return reverse_inner_runs;
}
#else
static inner_runs_fn *choose_inner_runs(void)
{
    return reverse_inner_runs;
}
#endif

/* The line ends, and how the runs between them are reversed. */
struct line_ends {
    struct bytescan set;
    inner_runs_fn *reverse_inner_runs;
};

static void line_ends_init(struct line_ends *e, unsigned char end)
{
    bytescan_init(&e->set, -128, end, end, end);
    e->reverse_inner_runs = choose_inner_runs();
}

/* Adds the N final bytes at P to T, next to what it holds (BELOW: just
 * before it), and reverses each run they complete. */
static void territory_add(struct territory *t, const struct line_ends *ends,
                          unsigned char *p, size_t n, bool below)
{
    size_t first, last;

    if (!ends->reverse_inner_runs(&ends->set, p, n, &first, &last))
        return;
    if (!t->first) {
        t->first = p + first;
        t->last = p + last;
    } else if (below) {
        reverse_bytes(p + last + 1, (size_t)(t->first - (p + last) - 1));
        t->first = p + first;
    } else {
        reverse_bytes(t->last + 1, (size_t)((p + first) - t->last - 1));
        t->last = p + last;
    }
}

/* ---- Both processors ------------------------------------------------------ */

/* Below this, a window is not worth a second thread. */
#define PARALLEL_MIN ((size_t)1 << 20)
#define MAX_PARTS 64

enum kernel {
    SWAP_ENDS, SWAP_LINES, COMPLEMENT, RUNS, RECORDS,  /* on A in place */
    COPY, COPY_COMPLEMENTED, COPY_REVERSED, COPY_LINES /* from B into A:
                                                          keep them last */
};

/* The copy kernels write this much of the output at a time before they
 * send it on to disk. */
#define WRITE_BEHIND ((size_t)8 << 20)

/* The _LINES kernels reverse the bytes in blocks this size, and then the
 * runs each block completes, while it is in the cache. */
#define LINE_BLOCK ((size_t)64 << 10)

/* One step on a mapped window, cut into parts for parallel_run: the same
 * kernel on each part, the parts meeting at line or record ends. */
struct step {
    enum kernel kernel;
    unsigned char *a, *b;  /* SWAP_ENDS: the two ends; a copy: to A from B */
    mmio_view *view_a;     /* a copy into a file to keep: the output's
                              view (A its data), sent on to disk */
    size_t n;              /* bytes (SWAP_ENDS: of each end) */
    size_t record_size;    /* RECORDS */
    unsigned char line_end;
    bool final;            /* RUNS: END ends a run too */
    const struct line_ends *ends; /* _LINES */
    struct territory seen[2 * MAX_PARTS]; /* _LINES: part I's in A at 2I,
                                             in B at 2I+1 */
    unsigned parts;
};

/* A territory's lowest and highest line end, as offsets in the file. */
struct edges {
    bool any;
    uint64_t first, last;
};

/* The edges of the territories step S left in A (at offset A_AT of the
 * file) and B (at B_AT), before their windows go. */
static void step_edges(const struct step *s, uint64_t a_at, uint64_t b_at,
                       struct edges *e)
{
    for (unsigned i = 0; i < 2 * s->parts; i++) {
        const struct territory *t = &s->seen[i];
        const unsigned char *base = i % 2 ? s->b : s->a;
        uint64_t at = i % 2 ? b_at : a_at;
        e[i].any = t->first != NULL;
        if (e[i].any) {
            e[i].first = at + (uint64_t)(t->first - base);
            e[i].last = at + (uint64_t)(t->last - base);
        }
    }
}

/* Where part I of step S starts: an even share, moved for RUNS to just
 * after a line end and for RECORDS to a record's start. */
static size_t step_part_start(const struct step *s, unsigned i)
{
    size_t at = parallel_split(s->n, s->parts, i);
    unsigned char *stop;

    if (i == 0 || i == s->parts)
        return at;
    if (s->kernel == RECORDS)
        return at / s->record_size * s->record_size;
    if (s->kernel != RUNS)
        return at;
    stop = memchr(s->a + at, s->line_end, s->n - at);
    return stop ? (size_t)(stop - s->a) + 1 : s->n;
}

/* SWAP_ENDS on [FROM, TO) of part I, and the runs it completes: in A's
 * territory growing up from FROM, in B's growing down from its end. */
static void swap_lines(struct step *s, unsigned i, size_t from,
                       size_t to)
{
    for (size_t at = from; at < to; at += LINE_BLOCK) {
        size_t n = to - at < LINE_BLOCK ? to - at : LINE_BLOCK;
        unsigned char *b = s->b + (s->n - at - n);
        swap_reversed(s->a + at, b, n);
        territory_add(&s->seen[2 * i], s->ends, s->a + at, n, false);
        territory_add(&s->seen[2 * i + 1], s->ends, b, n, true);
    }
}

/* COPY_REVERSED on [FROM, TO) of part I, and the runs it completes. */
static void copy_lines(struct step *s, unsigned i, size_t from,
                       size_t to)
{
    for (size_t at = from; at < to; at += LINE_BLOCK) {
        size_t n = to - at < LINE_BLOCK ? to - at : LINE_BLOCK;
        copy_reversed(s->a + at, s->b + (s->n - at - n), n);
        territory_add(&s->seen[2 * i], s->ends, s->a + at, n, false);
    }
}

/* A copy kernel on [FROM, TO) of part I. */
static void copy_piece(struct step *s, unsigned i, size_t from, size_t to)
{
    switch (s->kernel) {
    case COPY:
        memcpy(s->a + from, s->b + from, to - from);
        break;
    case COPY_COMPLEMENTED:
        copy_complemented(s->a + from, s->b + from, to - from);
        break;
    case COPY_REVERSED:
        copy_reversed(s->a + from, s->b + (s->n - to), to - from);
        break;
    default:
        copy_lines(s, i, from, to);
        break;
    }
}

/* A copy kernel on [FROM, TO) of part I a piece at a time, each piece of
 * the output sent on its way to disk when done, so that the commit's
 * flush finds little left. */
static void copy_part(struct step *s, unsigned i, size_t from, size_t to)
{
    for (size_t at = from; at < to; at += WRITE_BEHIND) {
        size_t n = to - at < WRITE_BEHIND ? to - at : WRITE_BEHIND;
        copy_piece(s, i, at, at + n);
        if (s->view_a)
            mmio_flush(s->view_a, at, n, MMIO_ASYNC, NULL);
    }
}

static int step_part(void *ctx, unsigned i)
{
    struct step *s = ctx;
    size_t from = step_part_start(s, i), to = step_part_start(s, i + 1);

    if (from >= to)
        return 0;
    if (s->kernel >= COPY) {
        copy_part(s, i, from, to);
        return 0;
    }
    switch (s->kernel) {
    case SWAP_ENDS:
        swap_reversed(s->a + from, s->b + (s->n - to), to - from);
        break;
    case SWAP_LINES:
        swap_lines(s, i, from, to);
        break;
    case COMPLEMENT:
        copy_complemented(s->a + from, s->a + from, to - from);
        break;
    case RUNS:
        /* The final run is the last part's that has any bytes. */
        reverse_runs(s->a + from, s->a + to, s->line_end,
                     s->final && to == s->n);
        break;
    case RECORDS:
        for (size_t r = from; r < to; r += s->record_size)
            reverse_bytes(s->a + r, s->record_size);
        break;
    default:
        break;
    }
    return 0;
}

/* Runs step S on every processor that is worth it. */
static int step_run(struct step *s, mmio_error *err)
{
    unsigned cpus = mmio_cpu_count();

    s->parts = s->n >= PARALLEL_MIN && cpus > 1 ? cpus : 1;
    if (s->parts > MAX_PARTS)
        s->parts = MAX_PARTS;
    if (s->parts > 1)
        return parallel_run(s->parts, step_part, s, err);
    return step_part(s, 0);
}

/* ---- Windows of the file -------------------------------------------------- */

/* One file being changed through windows of a writable shared mapping. */
struct invert {
    const struct options *opt;
    mmio_file *file;          /* what is changed: FILE, or OUTPUT */
    mmio_file *source;        /* with -o: FILE, which OUTPUT is made from */
    bool scratch;             /* -o -: OUTPUT is a scratch file, not kept */
    size_t window;            /* the most bytes mapped at once */
    mmio_view front, back;    /* mapped now; unmapped again after a fault */
    struct line_ends ends;    /* -l */
    uint64_t runs_up, runs_down; /* -l: the runs not yet reversed lie from
                                    RUNS_UP to RUNS_DOWN (and elsewhere
                                    only inside bytes not yet final) */
    mmio_error err;
    struct progress progress;
};

/* Maps [OFFSET, OFFSET+LENGTH) to be changed: writable, its pages made
 * so up front rather than one fault at a time. */
static int window_map(struct invert *inv, mmio_view *v, uint64_t offset,
                      uint64_t length)
{
    if (mmio_map(inv->file, offset, length, MMIO_MAP_SHARED, v, &inv->err) < 0)
        return -1;
    mmio_advise(v, MMIO_WILLWRITE);
    return 0;
}

/* Maps [OFFSET, OFFSET+LENGTH) of F to be read only. */
static int window_peek(struct invert *inv, mmio_file *f, mmio_view *v,
                       uint64_t offset, uint64_t length)
{
    return mmio_map(f, offset, length, MMIO_MAP_READ, v, &inv->err);
}

static void window_unmap(mmio_view *v)
{
    if (v->data)
        mmio_unmap(v, NULL);
}

static int reverse_each_run(struct invert *inv, uint64_t lo, uint64_t hi);

/* Reverses the runs that cross the edges of the territories E of a
 * _LINES step of PARTS parts, now that the step's windows are gone: A's
 * in order up from RUNS_UP, B's in order down from RUNS_DOWN. */
static int reverse_open_runs(struct invert *inv, const struct edges *e,
                             unsigned parts)
{
    for (unsigned i = 0; i < 2 * parts; i += 2) {
        if (!e[i].any)
            continue;
        progress_add(&inv->progress, e[i].last - e[i].first);
        if (reverse_each_run(inv, inv->runs_up, e[i].first) < 0)
            return -1;
        inv->runs_up = e[i].last + 1;
    }
    for (unsigned i = 1; i < 2 * parts; i += 2) {
        if (!e[i].any)
            continue;
        progress_add(&inv->progress, e[i].last - e[i].first);
        if (reverse_each_run(inv, e[i].last + 1, inv->runs_down) < 0)
            return -1;
        inv->runs_down = e[i].first;
    }
    return 0;
}

/* Runs KERNEL (SWAP_ENDS, or SWAP_LINES for -l) on the N bytes at A and
 * B, mapped at offsets A_AT and B_AT, on every processor; then unmaps
 * the windows, and for -l reverses the runs left open at the edges. */
static int swap_windows(struct invert *inv, enum kernel kernel,
                        unsigned char *a, uint64_t a_at, unsigned char *b,
                        uint64_t b_at, size_t n)
{
    struct step s = { .kernel = kernel, .a = a, .b = b, .n = n,
                      .ends = &inv->ends };
    struct edges e[2 * MAX_PARTS];

    if (step_run(&s, &inv->err) < 0)
        return -1;
    step_edges(&s, a_at, b_at, e);
    window_unmap(&inv->front);
    window_unmap(&inv->back);
    return kernel == SWAP_LINES ? reverse_open_runs(inv, e, s.parts) : 0;
}

/* Reverses the bytes [LO, HI) with KERNEL (SWAP_ENDS or SWAP_LINES): the
 * two ends a window at a time, then the middle, which fits in one. */
static int reverse_range(struct invert *inv, uint64_t lo, uint64_t hi,
                         enum kernel kernel)
{
    size_t n;

    while (hi - lo > inv->window) {
        size_t k = inv->window / 2;
        if (window_map(inv, &inv->front, lo, k) < 0
            || window_map(inv, &inv->back, hi - k, k) < 0)
            return -1;
        progress_add(&inv->progress, 2 * (uint64_t)k);
        if (swap_windows(inv, kernel, inv->front.data, lo, inv->back.data,
                         hi - k, k) < 0)
            return -1;
        lo += k;
        hi -= k;
    }
    if (hi == lo)
        return 0;
    if (window_map(inv, &inv->front, lo, hi - lo) < 0)
        return -1;
    n = (size_t)(hi - lo);
    progress_add(&inv->progress, n);
    return swap_windows(inv, kernel, inv->front.data, lo,
                        inv->front.data + n - n / 2, lo + n - n / 2, n / 2);
}

/* Runs step S on [LO, LO+N), mapped to be changed as S's A. */
static int step_on_window(struct invert *inv, struct step *s, uint64_t lo,
                          size_t n)
{
    if (window_map(inv, &inv->front, lo, n) < 0)
        return -1;
    s->a = inv->front.data;
    s->n = n;
    if (step_run(s, &inv->err) < 0)
        return -1;
    window_unmap(&inv->front);
    progress_add(&inv->progress, n);
    return 0;
}

static int complement_range(struct invert *inv, uint64_t lo, uint64_t hi)
{
    while (lo < hi) {
        size_t n = hi - lo < inv->window ? (size_t)(hi - lo) : inv->window;
        struct step s = { .kernel = COMPLEMENT };
        if (step_on_window(inv, &s, lo, n) < 0)
            return -1;
        lo += n;
    }
    return 0;
}

/* Where the run of bytes that starts at LO ends: the offset of the next
 * line end before HI, or HI. */
static int find_run_end(struct invert *inv, uint64_t lo, uint64_t hi,
                        uint64_t *end)
{
    while (lo < hi) {
        size_t n = hi - lo < inv->window ? (size_t)(hi - lo) : inv->window;
        const unsigned char *stop;
        if (window_peek(inv, inv->file, &inv->front, lo, n) < 0)
            return -1;
        stop = memchr(inv->front.data, inv->opt->line_end, n);
        if (stop) {
            *end = lo + (uint64_t)(stop - inv->front.data);
            window_unmap(&inv->front);
            return 0;
        }
        window_unmap(&inv->front);
        lo += n;
    }
    *end = hi;
    return 0;
}

/* The last byte C in [P, P+N), or NULL. */
static unsigned char *last_byte(unsigned char *p, size_t n, unsigned char c)
{
    while (n > 0)
        if (p[--n] == c)
            return p + n;
    return NULL;
}

/* Reverses, in the window mapped at LO, each run between line ends that
 * the window holds whole; sets *NEXT to where the first run it does not
 * hold whole starts (HI when there is none). */
static int reverse_runs_in_window(struct invert *inv, uint64_t lo,
                                  uint64_t hi, uint64_t *next)
{
    struct step s = { .kernel = RUNS, .a = inv->front.data,
                      .n = inv->front.size, .line_end = inv->opt->line_end,
                      .final = lo + inv->front.size == hi };

    if (!s.final) { /* up to the last line end */
        unsigned char *last = last_byte(s.a, s.n, s.line_end);
        s.n = last ? (size_t)(last - s.a) + 1 : 0;
    }
    *next = lo + s.n;
    return s.n ? step_run(&s, &inv->err) : 0;
}

/* Reverses each run of bytes between line ends in [LO, HI); a run longer
 * than a window is reversed through windows of its own. */
static int reverse_each_run(struct invert *inv, uint64_t lo, uint64_t hi)
{
    while (lo < hi) {
        size_t n = hi - lo < inv->window ? (size_t)(hi - lo) : inv->window;
        uint64_t next, run_end;
        if (window_map(inv, &inv->front, lo, n) < 0)
            return -1;
        if (reverse_runs_in_window(inv, lo, hi, &next) < 0)
            return -1;
        window_unmap(&inv->front);
        progress_add(&inv->progress, next - lo);
        if (next == lo) { /* a run longer than a window starts here */
            if (find_run_end(inv, lo, hi, &run_end) < 0
                || reverse_range(inv, lo, run_end, SWAP_ENDS) < 0)
                return -1;
            next = run_end < hi ? run_end + 1 : hi;
        }
        lo = next;
    }
    return 0;
}

/* Reverses each record of SIZE bytes in [LO, HI), whose length is a
 * multiple of SIZE: as many whole records a window as fit. */
static int reverse_each_record(struct invert *inv, uint64_t lo, uint64_t hi,
                               uint64_t size)
{
    uint64_t per_window = inv->window / size * size;

    while (lo < hi) {
        uint64_t n = hi - lo < per_window ? hi - lo : per_window;
        if (per_window == 0) /* a record larger than a window */
            n = size;
        if (n == size && size > inv->window) {
            if (reverse_range(inv, lo, lo + size, SWAP_ENDS) < 0)
                return -1;
        } else {
            struct step s = { .kernel = RECORDS, .record_size = (size_t)size };
            if (step_on_window(inv, &s, lo, (size_t)n) < 0)
                return -1;
        }
        lo += n;
    }
    return 0;
}

/* Whether the byte at OFFSET is a line end. */
static int ends_in_line_end(struct invert *inv, uint64_t offset, bool *yes)
{
    if (window_peek(inv, inv->source ? inv->source : inv->file, &inv->front,
                    offset, 1) < 0)
        return -1;
    *yes = inv->front.data[0] == inv->opt->line_end;
    window_unmap(&inv->front);
    return 0;
}

/* ---- Copies from FILE into OUTPUT (-o) ---------------------------------------- */

/* Fills [LO, HI) of the output from [LO, HI) of the source with KERNEL:
 * COPY or COPY_COMPLEMENTED byte for byte, COPY_REVERSED backwards (the
 * output's windows from the front, the source's from the back), and
 * COPY_LINES so, reversing the runs as it goes (-l). */
static int copy_range(struct invert *inv, uint64_t lo, uint64_t hi,
                      enum kernel kernel)
{
    bool backwards = kernel == COPY_REVERSED || kernel == COPY_LINES;

    for (uint64_t done = 0; done < hi - lo;) {
        uint64_t left = hi - lo - done;
        size_t n = left < inv->window ? (size_t)left : inv->window;
        uint64_t from = backwards ? hi - done - n : lo + done;
        struct step s = { .kernel = kernel, .n = n, .ends = &inv->ends };
        struct edges e[2 * MAX_PARTS];
        if (window_peek(inv, inv->source, &inv->back, from, n) < 0
            || window_map(inv, &inv->front, lo + done, n) < 0)
            return -1;
        s.a = inv->front.data;
        s.b = inv->back.data;
        s.view_a = inv->scratch ? NULL : &inv->front;
        if (step_run(&s, &inv->err) < 0)
            return -1;
        step_edges(&s, lo + done, from, e);
        window_unmap(&inv->front);
        window_unmap(&inv->back);
        progress_add(&inv->progress, n);
        if (kernel == COPY_LINES && reverse_open_runs(inv, e, s.parts) < 0)
            return -1;
        done += n;
    }
    return 0;
}

/* Reverses the bytes [LO, HI): in place, or from the source with -o. */
static int reverse_whole(struct invert *inv, uint64_t lo, uint64_t hi)
{
    return inv->source ? copy_range(inv, lo, hi, COPY_REVERSED)
                       : reverse_range(inv, lo, hi, SWAP_ENDS);
}

/* ---- Modes ------------------------------------------------------------------ */

/* Reverses the lines of [LO, HI): all bytes, then each line back, in one
 * pass: each block of reversed bytes gets the lines it completes reversed
 * at once, and the lines that cross blocks are reversed as they close.
 * A final line end stays at the end, so that the result is tac's. */
static int invert_lines(struct invert *inv, uint64_t lo, uint64_t hi)
{
    bool final_end;

    if (hi == lo)
        return 0;
    if (ends_in_line_end(inv, hi - 1, &final_end) < 0)
        return -1;
    if (final_end) {
        hi--;
        if (inv->source && copy_range(inv, hi, hi + 1, COPY) < 0)
            return -1;
    }
    line_ends_init(&inv->ends, inv->opt->line_end);
    inv->runs_up = lo;
    inv->runs_down = hi;
    if (inv->source ? copy_range(inv, lo, hi, COPY_LINES) < 0
                    : reverse_range(inv, lo, hi, SWAP_LINES) < 0)
        return -1;
    return reverse_each_run(inv, inv->runs_up, inv->runs_down);
}

/* How many units of work (bytes touched) the mode makes of LENGTH bytes. */
static uint64_t work_of(const struct options *opt, uint64_t length)
{
    return opt->mode == MODE_LINES || opt->mode == MODE_RECORDS
           ? 2 * length : length;
}

struct region {
    struct invert *inv;
    uint64_t lo, hi;
    uint64_t size;  /* the file's */
};

static int invert_guarded(void *arg)
{
    struct region *r = arg;
    struct invert *inv = r->inv;

    /* With -o, what lies outside the region is copied as it is. */
    if (inv->source && (copy_range(inv, 0, r->lo, COPY) < 0
                        || copy_range(inv, r->hi, r->size, COPY) < 0))
        return -1;
    switch (inv->opt->mode) {
    case MODE_BYTES:
        return reverse_whole(inv, r->lo, r->hi);
    case MODE_COMPLEMENT:
        return inv->source ? copy_range(inv, r->lo, r->hi, COPY_COMPLEMENTED)
                           : complement_range(inv, r->lo, r->hi);
    case MODE_LINES:
        return invert_lines(inv, r->lo, r->hi);
    case MODE_RECORDS:
        if (reverse_whole(inv, r->lo, r->hi) < 0)
            return -1;
        return reverse_each_record(inv, r->lo, r->hi, inv->opt->record_size);
    }
    return 0;
}

/* Changes [LO, HI) of INV's file; a fault (the file shrank) or a failed
 * mapping is reported here.  Returns 0 or 1. */
static int invert_region(struct invert *inv, const char *name, uint64_t lo,
                         uint64_t hi, uint64_t size)
{
    struct region r = { inv, lo, hi, size };
    mmio_file *read = inv->source ? inv->source : inv->file;
    int status;

    progress_start(&inv->progress, inv->opt->progress, name,
                   work_of(inv->opt, hi - lo)
                   + (inv->source ? size - (hi - lo) : 0));
    status = mmio_guard(invert_guarded, &r, &inv->err);
    window_unmap(&inv->front);
    window_unmap(&inv->back);
    progress_end(&inv->progress);
    if (status < 0) {
        uint64_t size;
        bool cut = mmio_size(read, &size, NULL) == 0 && size < hi;
        /* A fault on a file that was not cut is a page that could not be
         * read; a window past the end of one that was, a cut file. */
        if (inv->err.code == MMIO_ESHRUNK && !cut)
            inv->err.code = MMIO_EIO;
        if (inv->err.code == MMIO_EPASTEND && cut)
            inv->err.code = MMIO_ESHRUNK;
        if (!inv->err.path)
            inv->err.path = name;
        tool_warn_error(&inv->err);
        return 1;
    }
    return 0;
}

/* ---- Files -------------------------------------------------------------- */

/* Sets *LO and *HI to the region of a file of SIZE bytes that the options
 * name; reports and returns 1 when it does not fit the file. */
static int find_region(const struct options *opt, const char *name,
                       uint64_t size, uint64_t *lo, uint64_t *hi)
{
    if (opt->offset > size) {
        tool_warn("%s: offset %" PRIu64 " is past the end of the file (%" PRIu64
                  " bytes)", tool_quote(name), opt->offset, size);
        return 1;
    }
    if (opt->length_given && opt->length > size - opt->offset) {
        tool_warn("%s: offset and length reach past the end of the file (%"
                  PRIu64 " bytes)", tool_quote(name), size);
        return 1;
    }
    *lo = opt->offset;
    *hi = opt->length_given ? opt->offset + opt->length : size;
    if (opt->mode == MODE_RECORDS && (*hi - *lo) % opt->record_size != 0) {
        tool_warn("%s: %" PRIu64 " bytes are not a whole number of %" PRIu64
                  "-byte records", tool_quote(name), *hi - *lo, opt->record_size);
        return 1;
    }
    return 0;
}

/* Inverts NAME in place; returns 0 or 1. */
static int invert_in_place(const struct options *opt, const char *name)
{
    struct invert inv = { .opt = opt, .window = tool_window() };
    uint64_t size, lo, hi;
    int status = 1;

    inv.file = mmio_open(name, MMIO_RDWR | MMIO_REGULAR_ONLY, &inv.err);
    if (!inv.file) {
        tool_warn_error(&inv.err);
        return 1;
    }
    if (mmio_size(inv.file, &size, &inv.err) < 0)
        tool_warn_error(&inv.err);
    else if (find_region(opt, name, size, &lo, &hi) == 0) {
        /* A stop request waits until the file is whole again. */
        mmio_defer_interrupts();
        status = invert_region(&inv, name, lo, hi, size);
        mmio_allow_interrupts();
    }
    mmio_close(inv.file, NULL);
    return status;
}

/* A file of SIZE bytes for the result that goes to standard output, in
 * the temporary directory: an atomic file never committed, so that
 * nothing outlives the process.  NULL after reporting a failure. */
static mmio_file *create_scratch(uint64_t size)
{
    const char *dir = mmio_temp_dir();
    size_t length = strlen(dir) + sizeof "/.mminvert-stdout";
    char *path = malloc(length);
    mmio_file *f = NULL;

    if (!path) {
        tool_warn("%s", strerror(ENOMEM));
        return NULL;
    }
    snprintf(path, length, "%s/.mminvert-stdout", dir);
    f = tool_create_output(path, size);
    free(path);
    return f;
}

/* Copies the result in F to standard output OUT (the kernel copies where
 * it can: into a pipe grown for it, into a file); returns 0 or 1. */
static int copy_to_stdout(mmio_file *f, mmio_file *out)
{
    mmio_output_prepare(out);
    return tool_copy(f, out);
}

/* Standard output for -o -, or NULL after reporting why not: it cannot be
 * the input itself, which would be read while it is written. */
static mmio_file *open_stdout(mmio_file *source, const char *name)
{
    mmio_error err;
    mmio_file *out = mmio_stdout(&err);

    if (!out) {
        tool_warn_error(&err);
        return NULL;
    }
    if (mmio_kind(out) == MMIO_KIND_REGULAR && mmio_same_file(out, source)) {
        tool_warn("%s: input file is output file", tool_quote(name));
        mmio_close(out, NULL);
        return NULL;
    }
    return out;
}

/* Puts the result in place: renames -o FILE over its destination, or
 * copies it to standard output OUT; returns 0 or 1. */
static int finish_output(struct invert *inv, mmio_file *out)
{
    if (out)
        return copy_to_stdout(inv->file, out);
    if (mmio_commit(inv->file, &inv->err) < 0) {
        tool_warn_error(&inv->err);
        return 1;
    }
    return 0;
}

/* Writes the inverse of NAME to OUTPUT, atomically, made from NAME's
 * windows in one pass (two for -l and -r); with -o -, made so in a
 * scratch file, then copied to standard output.  Returns 0 or 1. */
static int invert_into(const struct options *opt, const char *name)
{
    bool to_stdout = strcmp(opt->output, "-") == 0;
    struct invert inv = { .opt = opt, .window = tool_window(),
                          .scratch = to_stdout };
    mmio_file *out = NULL;
    uint64_t size, lo, hi;
    int status = 1;

    inv.source = mmio_open(name, MMIO_RDONLY | MMIO_REGULAR_ONLY, &inv.err);
    if (!inv.source || mmio_size(inv.source, &size, &inv.err) < 0) {
        tool_warn_error(&inv.err);
        mmio_close(inv.source, NULL);
        return 1;
    }
    if ((!to_stdout || (out = open_stdout(inv.source, name)) != NULL)
        && find_region(opt, name, size, &lo, &hi) == 0
        && (inv.file = to_stdout ? create_scratch(size)
                                 : tool_create_output(opt->output, size)))
        status = invert_region(&inv, name, lo, hi, size);
    /* Closed first: Windows renames nothing over a file that is open. */
    mmio_close(inv.source, NULL);
    if (status == 0)
        status = finish_output(&inv, out);
    mmio_close(inv.file, NULL);
    mmio_close(out, NULL);
    return status;
}

/* ---- Options -------------------------------------------------------------- */

/* The value of option NAME, a size in bytes with an optional unit; a
 * usage error when it is not one, or is 0 and ZERO_OK is false. */
static uint64_t xsize_option(const char *name, const char *arg, bool zero_ok)
{
    struct size_value size;

    if (size_parse(arg, 1, &size) != SIZE_OK || size.percent
        || (size.amount == 0 && !zero_ok))
        tool_usage_error("invalid %s: %s", name, tool_quote(arg));
    return size.amount;
}

static void set_mode(struct options *opt, enum mode mode)
{
    if (opt->mode != MODE_BYTES && opt->mode != mode)
        tool_usage_error("only one of -c, -l and -r may be given");
    opt->mode = mode;
}

static void parse_options(struct options *opt, int argc, char **argv)
{
    int c;

    opt->line_end = '\n';
    while ((c = tool_getopt(argc, argv, "clo:r:z", long_options)) != -1) {
        switch (c) {
        case 'c': set_mode(opt, MODE_COMPLEMENT); break;
        case 'l': set_mode(opt, MODE_LINES); break;
        case 'z': set_mode(opt, MODE_LINES); opt->line_end = '\0'; break;
        case 'r':
            set_mode(opt, MODE_RECORDS);
            opt->record_size = xsize_option("record size", optarg, false);
            break;
        case 'o': opt->output = optarg; break;
        case OPT_OFFSET: opt->offset = xsize_option("offset", optarg, true); break;
        case OPT_LENGTH:
            opt->length = xsize_option("length", optarg, true);
            opt->length_given = true;
            break;
        case OPT_PROGRESS: opt->progress = true; break;
        case OPT_HELP: tool_help(usage_text);
        case OPT_VERSION: tool_version();
        }
    }
}

int main(int argc, char **argv)
{
    struct options opt = { 0 };
    int status = 0;

    tool_start("mminvert", &argc, &argv);
    parse_options(&opt, argc, argv);
    argc -= optind;
    argv += optind;
    if (argc == 0)
        tool_usage_error("missing file operand");
    if (opt.output && argc > 1)
        tool_usage_error("-o takes one FILE, not %d", argc);

    if (opt.output)
        status = invert_into(&opt, argv[0]);
    for (int i = 0; !opt.output && i < argc; i++)
        status |= invert_in_place(&opt, argv[i]);
    return tool_finish(status);
}
