/* mmsort: writing the sorted lines: to standard output through the
 * output stream, to -o FILE by all threads at once, in place (-I). */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ostream.h"
#include "parallel.h"
#include "tool.h"

#include "sorttext.h"

static void xdie_write(struct output *o, const mmio_error *err)
{
    char reason[256];

    mmio_close(o->file, NULL); /* removes an atomic temporary */
    xdie("write failed: %s: %s", tool_quote(o->name),
         mmio_strerror(err->code, reason, sizeof reason));
}

static void xwrite_output(struct output *o, const void *data, size_t size)
{
    mmio_error err;

    /* What the stream holds goes first. */
    if (o->stream && ostream_drain(o->stream, &err) < 0)
        xdie_write(o, &err);
    if (size > 0 && mmio_write(o->file, data, size, &err) < 0)
        xdie_write(o, &err);
}

void output_flush(struct output *o)
{
    mmio_error err;

    if (!o->stream)
        xwrite_output(o, o->buf, o->used);
    else if (ostream_submit(o->stream, o->buf, o->used, &err) < 0
             || !(o->buf = ostream_take(o->stream, &err)))
        xdie_write(o, &err);
    if (o->progress)
        progress_add(o->progress, o->used);
    o->used = 0;
}

/* Gives O a buffer of OUT_SIZE bytes, in a stream of buffers written by a
 * thread of their own while the next is filled. */
void output_stream_start(struct output *o)
{
    mmio_error err;

    o->stream = ostream_new(o->file, OUT_SIZE, 3, &err);
    if (!o->stream || !(o->buf = ostream_take(o->stream, &err)))
        xdie_write(o, &err);
    o->used = 0;
}

/* Writes what O's stream still holds (O is flushed) and ends it. */
void output_stream_end(struct output *o)
{
    mmio_error err;

    if (ostream_free(o->stream, &err) < 0)
        xdie_write(o, &err);
    o->stream = NULL;
    o->buf = NULL;
}

void output_line(struct output *o, const struct line *line,
                        unsigned char eol)
{
    if (OUT_SIZE - o->used <= line->length) {
        output_flush(o);
        if (line->length >= OUT_SIZE) { /* a long line goes out directly */
            xwrite_output(o, line->text, line->length);
            xwrite_output(o, &eol, 1);
            return;
        }
    }
    memcpy(o->buf + o->used, line->text, line->length);
    o->used += line->length;
    o->buf[o->used++] = eol;
}

struct writer {
    struct sort *sort;
    struct output *output;
    unsigned char *map;     /* a mapped output file, or NULL */
    mmio_view *view;        /* MAP's view, when it is one */
    size_t *offsets;        /* where each part's lines go in MAP */
    unsigned parts;
    struct part_write *written; /* write_parts: how each part's writes went */
};

/* A part's writes into the output file: the first that failed. */
struct part_write {
    bool failed;
    mmio_error err;
};

/* Writes every line through the buffer, in a guard (parallel_run). */
static int write_buffered(void *arg, unsigned index)
{
    struct writer *w = arg;

    (void)index;
    for (size_t i = 0; i < w->sort->line_count; i++) {
        if (i + 16 < w->sort->line_count) /* sorted lines are far apart */
            __builtin_prefetch(w->sort->lines[i + 16].text);
        output_line(w->output, &w->sort->lines[i], w->sort->options.spec.eol);
    }
    output_flush(w->output);
    return 0;
}

/* Part INDEX of a mapped output: the bytes of its share of the lines. */
static int measure_part(void *arg, unsigned index)
{
    struct writer *w = arg;
    size_t n = w->sort->line_count, bytes = 0;

    for (size_t i = parallel_split(n, w->parts, index);
         i < parallel_split(n, w->parts, index + 1); i++)
        bytes += w->sort->lines[i].length + 1;
    w->offsets[index + 1] = bytes;
    return 0;
}

/* Part INDEX of a mapped output: copies its share of the lines. */
static int copy_part(void *arg, unsigned index)
{
    struct writer *w = arg;
    size_t n = w->sort->line_count;
    unsigned char *p = w->map + w->offsets[index];
    unsigned char eol = w->sort->options.spec.eol;
    size_t end = parallel_split(n, w->parts, index + 1);

    if (w->view) /* each thread makes its own part's pages at once */
        mmio_advise_range(w->view, w->offsets[index],
                          w->offsets[index + 1] - w->offsets[index], MMIO_WILLWRITE);
    for (size_t i = parallel_split(n, w->parts, index); i < end; i++) {
        const struct line *line = &w->sort->lines[i];
        if (i + 16 < end) /* sorted lines are far apart: ask ahead */
            __builtin_prefetch(w->sort->lines[i + 16].text);
        memcpy(p, line->text, line->length);
        p += line->length;
        *p++ = eol;
    }
    return 0;
}

/* Shares the lines out over the parts of W and sums where each part's
 * bytes start (W->offsets).  Returns the size of the whole output. */
static size_t plan_parts(struct sort *s, struct writer *w)
{
    unsigned threads = s->options.threads;

    w->parts = 1;
    if (s->line_count / 65536 > 1)
        w->parts = s->line_count / 65536 < threads
                   ? (unsigned)(s->line_count / 65536) : threads;
    w->offsets = calloc(w->parts + 1, sizeof *w->offsets);
    if (!w->offsets)
        xdie("memory exhausted");
    parallel_run(w->parts, measure_part, w, NULL);
    for (unsigned i = 0; i < w->parts; i++)
        w->offsets[i + 1] += w->offsets[i];
    return w->offsets[w->parts];
}

/* Writes the lines into the regular file of O through a shared mapping
 * of its final size, the threads copying a share each. */
void write_mapped(struct sort *s, struct output *o)
{
    struct writer w = { s, o, NULL, NULL, NULL, 1, NULL };
    size_t size = plan_parts(s, &w);
    mmio_view view;
    mmio_error err;

    if (mmio_resize(o->file, size, &err) < 0)
        xdie_write(o, &err);
    if (size > 0) {
        if (mmio_map(o->file, 0, size, MMIO_MAP_SHARED, &view, &err) < 0)
            xdie_write(o, &err);
        w.map = view.data;
        w.view = &view;
        if (parallel_run(w.parts, copy_part, &w, &err) < 0) {
            mmio_close(o->file, NULL);
            xdie_shrunk(s);
        }
        if (mmio_unmap(&view, &err) < 0)
            xdie_write(o, &err);
    }
    free(w.offsets);
}

/* -I: the sorted bytes, to be copied over the file they came from. */
struct copy_back {
    unsigned char *to;
    const unsigned char *from;
    size_t size;
};

static int copy_back_guarded(void *arg, unsigned index)
{
    struct copy_back *c = arg;

    (void)index;
    memcpy(c->to, c->from, c->size);
    return 0;
}

/* -I: maps the whole of the input again, SIZE bytes long now. */
static void remap_input(struct input *in, uint64_t size, struct output *o)
{
    mmio_error err;

    if (mmio_unmap(&in->view, &err) < 0 || mmio_resize(in->file, size, &err) < 0
        || mmio_map(in->file, 0, size, MMIO_MAP_SHARED, &in->view, &err) < 0)
        xdie_write(o, &err);
}

/* -I: gathers the sorted lines in memory, then copies them over the file
 * with SIGINT, SIGTERM and SIGHUP held off, so that such a request leaves
 * the old content or the new.  The file grows by a final newline that it
 * lacked, or shrinks by what -u left out. */
void write_in_place(struct sort *s)
{
    struct input *in = &s->inputs[0];
    struct output o = { in->file, in->name, NULL, 0, 0, NULL, NULL };
    struct writer w = { s, &o, NULL, NULL, NULL, 1, NULL };
    size_t size = plan_parts(s, &w), old_size = in->view.size;
    struct copy_back back = { NULL, malloc(size ? size : 1), size };
    mmio_error err;

    if (!back.from)
        xdie("memory exhausted");
    w.map = (unsigned char *)back.from;
    if (parallel_run(w.parts, copy_part, &w, &err) < 0)
        xdie_shrunk(s);
    mmio_defer_interrupts();
    if (size > old_size)
        remap_input(in, size, &o);
    back.to = in->view.data;
    if (size > 0 && parallel_run(1, copy_back_guarded, &back, &err) < 0)
        xdie_shrunk(s);
    if ((size > 0 && mmio_flush(&in->view, 0, size, MMIO_SYNC, &err) < 0)
        || mmio_unmap(&in->view, &err) < 0
        || (size < old_size && mmio_resize(in->file, size, &err) < 0))
        xdie_write(&o, &err);
    mmio_allow_interrupts();
    free((unsigned char *)back.from);
    free(w.offsets);
}

/* Opens standard output, or -o FILE as an atomic file, into O. */
void open_output(const struct sort *s, struct output *o)
{
    const char *path = s->options.output;
    mmio_error err;

    o->file = path ? mmio_create(path, MMIO_ATOMIC, &err) : mmio_stdout(&err);
    if (!o->file)
        xdie_error("open failed", &err);
    o->name = path ? path : "standard output";
}

/* Puts -o FILE in place (the inputs must be closed: Windows renames no
 * mapped file), and closes the output of O. */
void close_output(const struct sort *s, struct output *o)
{
    mmio_error err;

    if (s->options.output && mmio_commit(o->file, &err) < 0)
        xdie_write(o, &err);
    if (mmio_close(o->file, &err) < 0)
        xdie_write(o, &err);
}

#define PART_BUFFER ((size_t)1 << 20)

/* Writes the SIZE bytes at BUF at *AT of part INDEX's output, moving *AT
 * on; false after noting a failure. */
static bool write_part_bytes(struct writer *w, unsigned index,
                             const void *buf, size_t size, uint64_t *at)
{
    struct part_write *pw = &w->written[index];

    if (size > 0 && mmio_write_at(w->output->file, buf, size, *at, &pw->err) < 0) {
        pw->failed = true;
        return false;
    }
    *at += size;
    return true;
}

/* Part INDEX of an output file that all threads write at once: gathers its
 * share of the lines into a buffer of its own, written at its offset. */
static int write_part(void *arg, unsigned index)
{
    struct writer *w = arg;
    size_t end = parallel_split(w->sort->line_count, w->parts, index + 1), used = 0;
    unsigned char *buf = malloc(PART_BUFFER), eol = w->sort->options.spec.eol;
    uint64_t at = w->offsets[index];
    bool ok = buf != NULL;

    for (size_t i = parallel_split(w->sort->line_count, w->parts, index);
         ok && i < end; i++) {
        const struct line *line = &w->sort->lines[i];
        if (i + 16 < end) /* sorted lines are far apart: ask ahead */
            __builtin_prefetch(w->sort->lines[i + 16].text);
        if (PART_BUFFER - used <= line->length) {
            ok = write_part_bytes(w, index, buf, used, &at);
            used = 0;
        }
        if (ok && line->length >= PART_BUFFER) /* a long line goes directly */
            ok = write_part_bytes(w, index, line->text, line->length, &at)
                 && write_part_bytes(w, index, &eol, 1, &at);
        else if (ok) {
            memcpy(buf + used, line->text, line->length);
            used += line->length;
            buf[used++] = eol;
        }
    }
    if (!buf)
        w->written[index] = (struct part_write){ true, { "write", NULL, ENOMEM } };
    else if (ok)
        write_part_bytes(w, index, buf, used, &at);
    free(buf);
    return 0;
}

/* Writes the lines into the regular file of O on all threads, each its
 * share at its offset. */
static void write_parts(struct sort *s, struct output *o)
{
    struct writer w = { s, o, NULL, NULL, NULL, 1, NULL };
    mmio_error err;

    plan_parts(s, &w);
    w.written = calloc(w.parts, sizeof *w.written);
    if (!w.written)
        xdie("memory exhausted");
    if (parallel_run(w.parts, write_part, &w, &err) < 0) {
        mmio_close(o->file, NULL);
        xdie_shrunk(s);
    }
    for (unsigned i = 0; i < w.parts; i++)
        if (w.written[i].failed)
            xdie_write(o, &w.written[i].err);
    free(w.written);
    free(w.offsets);
}

/* Writes the sorted lines to standard output or to -o FILE, which is
 * replaced atomically (it may be one of the inputs).  A file -o names is
 * written by all threads at once (write_parts: on 1 GiB, faster and
 * steadier than a shared mapping filled by both threads); anything else
 * in order, through the output stream. */
void write_output(struct sort *s)
{
    struct output o = { NULL, NULL, NULL, 0, 0, NULL, NULL };
    struct writer w = { s, &o, NULL, NULL, NULL, 1, NULL };
    mmio_error err;

    open_output(s, &o);
    if (s->options.output && mmio_kind(o.file) == MMIO_KIND_REGULAR) {
        write_parts(s, &o);
    } else {
        output_stream_start(&o);
        if (parallel_run(1, write_buffered, &w, &err) < 0)
            xdie_shrunk(s);
        output_stream_end(&o);
    }
    release_inputs(s);
    close_output(s, &o);
}
