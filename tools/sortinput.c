/* mmsort: the inputs of a text sort, and the lines found in them. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "bytescan.h"
#include "parallel.h"
#include "tool.h"

#include "sorttext.h"

/* Opens one operand to be read. */
static void open_input(struct input *in, const char *name)
{
    mmio_error err;

    in->name = name;
    in->file = strcmp(name, "-") == 0 ? mmio_stdin(&err)
                                      : mmio_open(name, MMIO_RDONLY, &err);
    if (!in->file)
        xdie_error("cannot read", &err);
}

/* Loads an open operand whole. */
static void map_input(struct input *in)
{
    mmio_error err;

    if (mmio_load(in->file, MMIO_MAP_READ, &in->view, &err) < 0)
        xdie_error("read failed", &err);
    mmio_advise(&in->view, MMIO_WILLNEED);
}

void load_input(struct input *in, const char *name)
{
    open_input(in, name);
    map_input(in);
}

bool load_in_place(struct sort *s, const char *name)
{
    struct input *in = calloc(1, sizeof *in);
    mmio_error err;

    if (!in)
        xdie("memory exhausted");
    s->inputs = in;
    in->name = name;
    if (strcmp(name, "-") == 0) {
        tool_warn("standard input cannot be sorted in place");
        return false;
    }
    in->file = mmio_open(name, MMIO_RDWR | MMIO_REGULAR_ONLY, &err);
    if (!in->file || mmio_load(in->file, MMIO_MAP_SHARED, &in->view, &err) < 0) {
        warn_error(in->file ? "read failed" : "open failed", &err);
        mmio_close(in->file, NULL);
        return false;
    }
    mmio_advise(&in->view, MMIO_WILLNEED);
    s->input_count = 1;
    find_lines(s);
    return true;
}

/* Reads IN's stream into its buffer after the HELD bytes there, until the
 * buffer is full or the stream ends. */
void fill_buffer(struct input *in, size_t held)
{
    mmio_error err;
    size_t got = 1;

    while (held < in->capacity && got > 0) {
        if (mmio_read(in->file, in->buffer + held, in->capacity - held, &got,
                      &err) < 0)
            xdie_error("read failed", &err);
        held += got;
    }
    in->more = got > 0; /* a full buffer: a later read tells */
    in->view.data = in->buffer;
    in->view.size = held;
}

/* Opens an operand to sort: a regular file is mapped whole; anything else
 * is read into a buffer of CAPACITY bytes, and what does not fit waits
 * for sort_stream. */
static void open_to_sort(struct input *in, const char *name, size_t capacity)
{
    open_input(in, name);
    if (mmio_kind(in->file) == MMIO_KIND_REGULAR) {
        map_input(in);
        return;
    }
    in->buffer = malloc(capacity);
    if (!in->buffer)
        xdie("memory exhausted");
    in->capacity = capacity;
    fill_buffer(in, 0);
}

/* The size of all the inputs, for --progress. */
uint64_t input_bytes(const struct sort *s)
{
    uint64_t bytes = 0;

    for (size_t i = 0; i < s->input_count; i++)
        bytes += s->inputs[i].view.size;
    return bytes;
}

/* Unmaps and closes the inputs: Windows renames no file that is mapped. */
void release_inputs(struct sort *s)
{
    for (size_t i = 0; i < s->input_count; i++) {
        if (s->inputs[i].view.data || s->inputs[i].view.base)
            mmio_unmap(&s->inputs[i].view, NULL);
        mmio_close(s->inputs[i].file, NULL);
        free(s->inputs[i].buffer);
    }
    s->input_count = 0;
}

/* After a fault in mapped input: the name of the input that shrank. */
void xdie_shrunk(struct sort *s)
{
    mmio_error err = { "read", NULL, MMIO_ESHRUNK };

    for (size_t i = 0; i < s->input_count; i++) {
        uint64_t size;
        if (mmio_kind(s->inputs[i].file) == MMIO_KIND_REGULAR
            && mmio_size(s->inputs[i].file, &size, NULL) == 0
            && size < s->inputs[i].view.size)
            err.path = s->inputs[i].name;
    }
    xdie_error("read failed", &err);
}

/* The number of lines in DATA: a last one without a terminator counts. */
static size_t count_lines(const unsigned char *data, size_t size,
                          unsigned char eol)
{
    struct bytescan set;
    struct bytescan_regs regs;
    size_t count = 0, at = 0;

    bytescan_init(&set, -128, eol, eol, eol);
    bytescan_load(&regs, &set);
    for (; size - at >= 64; at += 64)
        count += bytescan_count(bytescan_mask64(&regs, data + at));
    count += bytescan_count(bytescan_mask_tail(&regs, data + at, size - at));
    return count + (size > 0 && data[size - 1] != eol);
}

/* Counts the lines of DATA into COUNTS by their first_bucket. */
static size_t count_line_buckets(const unsigned char *data, size_t size,
                                 unsigned char eol,
                                 size_t counts[FIRST_BUCKETS])
{
    const unsigned char *p = data, *end = data + size;
    struct bytescan set;
    struct bytescan_cursor cursor;
    size_t n = 0;

    bytescan_init(&set, -128, eol, eol, eol);
    bytescan_start(&cursor, &set, data, end);
    for (; p < end; n++) {
        const unsigned char *hit = bytescan_next(&cursor);
        counts[first_bucket(p, (size_t)(hit - p))]++;
        p = hit + 1;
    }
    return n;
}

/* Appends the lines of DATA at LINES, with their prefixes for SPEC
 * unless NO_PREFIXES; or, with NEXT, puts each at LINES[NEXT[B]++] for
 * its first_bucket B. */
static void split_lines(struct line *lines, size_t *next,
                        const unsigned char *data, size_t size,
                        const struct sort_spec *spec, bool no_prefixes)
{
    const unsigned char *p = data, *end = data + size;
    struct bytescan set;
    struct bytescan_cursor cursor;

    bytescan_init(&set, -128, spec->eol, spec->eol, spec->eol);
    bytescan_start(&cursor, &set, data, end);
    while (p < end) {
        const unsigned char *hit = bytescan_next(&cursor);
        size_t length = (size_t)(hit - p);
        struct line line = { p, length, no_prefixes ? 0
                                        : spec->bytewise ? line_prefix(p, length)
                                        : sort_prefix(spec, p, length) };
        if (next)
            lines[next[first_bucket(p, length)]++] = line;
        else
            *lines++ = line;
        p = hit + 1;
    }
}

/* A piece of an input that ends after a line terminator (or at the end
 * of the input), so that threads can find its lines on their own. */
struct chunk {
    const unsigned char *start, *end;
    size_t input;
    size_t first_line; /* the index of its first line among all */
};

#define CHUNK_MIN ((size_t)1 << 20)

/* Where to cut [P, END) near P + SIZE: just after a terminator. */
static const unsigned char *chunk_cut(const unsigned char *p,
                                      const unsigned char *end, size_t size,
                                      unsigned char eol)
{
    const unsigned char *hit;

    if ((size_t)(end - p) <= size)
        return end;
    hit = memchr(p + size, eol, (size_t)(end - p - size));
    return hit ? hit + 1 : end;
}

/* Cuts every input into chunks, about one per thread for a large one;
 * touches mapped memory, so runs in a guard.  Returns the chunk count. */
static size_t cut_chunks(struct sort *s, struct chunk *chunks, size_t max)
{
    unsigned char eol = s->options.spec.eol;
    size_t count = 0;

    for (size_t i = 0; i < s->input_count; i++) {
        const unsigned char *p = s->inputs[i].view.data;
        const unsigned char *end = p + s->inputs[i].view.size;
        size_t size = s->inputs[i].view.size / s->options.threads + 1;

        if (size < CHUNK_MIN)
            size = CHUNK_MIN;
        do {
            const unsigned char *cut = count + 1 < max ? chunk_cut(p, end, size, eol)
                                                       : end;
            chunks[count++] = (struct chunk){ p, cut, i, 0 };
            p = cut;
        } while (p < end);
    }
    return count;
}

/* The work of finding lines: the chunks, shared out over the threads. */
struct finder {
    struct sort *sort;
    struct chunk *chunks;
    size_t count;
    unsigned parts;
    size_t (*buckets)[FIRST_BUCKETS]; /* chunk C's counts, then where they go */
};

static int count_chunk_lines(void *arg, unsigned index)
{
    struct finder *f = arg;

    for (size_t c = index; c < f->count; c += f->parts) {
        const unsigned char *start = f->chunks[c].start;
        size_t size = (size_t)(f->chunks[c].end - start);
        unsigned char eol = f->sort->options.spec.eol;
        f->chunks[c].first_line = f->buckets
                                  ? count_line_buckets(start, size, eol, f->buckets[c])
                                  : count_lines(start, size, eol);
    }
    return 0;
}

static int split_chunk_lines(void *arg, unsigned index)
{
    struct finder *f = arg;

    for (size_t c = index; c < f->count; c += f->parts)
        split_lines(f->buckets ? f->sort->lines : f->sort->lines + f->chunks[c].first_line,
                    f->buckets ? f->buckets[c] : NULL, f->chunks[c].start,
                    (size_t)(f->chunks[c].end - f->chunks[c].start),
                    &f->sort->options.spec, f->sort->by_key);
    return 0;
}

static int cut_guarded(void *arg, unsigned index)
{
    struct finder *f = arg;

    (void)index;
    f->count = cut_chunks(f->sort, f->chunks, f->count);
    return 0;
}

/* Turns the chunks' counts of lines in each bucket into where their
 * lines go: bucket by bucket, chunk by chunk. */
static void plan_buckets(struct finder *f)
{
    size_t at = 0;

    for (unsigned b = 0; b < FIRST_BUCKETS; b++) {
        f->sort->bucket_start[b] = at;
        for (size_t c = 0; c < f->count; c++) {
            size_t count = f->buckets[c][b];
            f->buckets[c][b] = at;
            at += count;
        }
    }
    f->sort->bucket_start[FIRST_BUCKETS] = at;
}

/* Finds the lines of every input on threads: each counts the lines of its
 * chunks, then writes them where the counts say: in input order, or for a
 * bytewise sort in buckets by their first bytes (not to be checked). */
void find_lines(struct sort *s)
{
    size_t max = s->input_count * (s->options.threads + 1) + 1, total = 0;
    struct finder f = { s, malloc(max * sizeof *f.chunks), max, s->options.threads, NULL };
    mmio_error err;

    s->bucketed = s->options.spec.bytewise && !s->options.check;
    if (s->bucketed)
        f.buckets = calloc(max, sizeof *f.buckets);
    if (!f.chunks || (s->bucketed && !f.buckets))
        xdie("memory exhausted");
    if (parallel_run(1, cut_guarded, &f, &err) < 0
        || parallel_run(f.parts, count_chunk_lines, &f, &err) < 0)
        xdie_shrunk(s);
    for (size_t c = 0; c < f.count; c++) { /* counts to first lines */
        size_t lines = f.chunks[c].first_line;
        f.chunks[c].first_line = total;
        total += lines;
    }
    s->line_count = total;
    s->external = s->max_lines && total > s->max_lines; /* then in pieces */
    if (!s->external) {
        if (s->bucketed)
            plan_buckets(&f);
        s->lines = malloc((total ? total : 1) * sizeof *s->lines);
        if (!s->lines)
            xdie("memory exhausted");
        if (parallel_run(f.parts, split_chunk_lines, &f, &err) < 0)
            xdie_shrunk(s);
    }
    free(f.chunks);
    free(f.buckets);
}

/* The memory for the lines of one run: -S, else half of physical memory. */
static uint64_t memory_budget(const struct options *o)
{
    uint64_t physical = mmio_physical_memory();

    if (physical == 0)
        physical = (uint64_t)2 << 30; /* unknown: as if 2 GiB */
    if (!o->size_given)
        return physical / 2;
    if (o->size.percent)
        return physical / 100 * o->size.amount;
    return o->size.amount;
}

/* The most lines sorted at once: each takes two struct lines (a sort
 * needs room to merge into) and a byte for the first-key radix. */
size_t lines_in_budget(const struct options *o)
{
    uint64_t lines = memory_budget(o) / (2 * sizeof(struct line) + 1);

    if (lines < 1024)
        lines = 1024; /* as GNU, a budget too small to work in is raised */
    if (lines > SIZE_MAX / (2 * sizeof(struct line)))
        lines = SIZE_MAX / (2 * sizeof(struct line)); /* what memory can hold */
    return (size_t)lines;
}

/* The bytes of a stream read at once: half the budget, so that the text
 * read and the lines found in it take about one and a half budgets. */
static size_t stream_buffer_size(const struct options *o)
{
    uint64_t size = memory_budget(o) / 2;

    if (size < 65536)
        size = 65536;
    return size < SIZE_MAX / 4 ? (size_t)size : SIZE_MAX / 4;
}

/* Loads every operand ("-" when there is none) and finds its lines. */
void load_inputs(struct sort *s, char **names, size_t count)
{
    static char *standard_input[] = { "-" };

    if (count == 0) {
        names = standard_input;
        count = 1;
    }
    s->inputs = calloc(count, sizeof *s->inputs);
    if (!s->inputs)
        xdie("memory exhausted");
    for (size_t i = 0; i < count; i++) {
        if (s->max_lines) /* sorting: within the budget */
            open_to_sort(&s->inputs[i], names[i], stream_buffer_size(&s->options));
        else
            load_input(&s->inputs[i], names[i]);
        s->external |= s->inputs[i].more;
        s->input_count++;
    }
    if (!s->external)
        find_lines(s);
}
