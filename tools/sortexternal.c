/* mmsort: inputs larger than the memory budget, sorted in pieces into
 * runs in temporary files and merged; and -m, merged as a stream. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "sortmerge.h"
#include "tool.h"

#include "sorttext.h"

/* GNU merges at most this many runs at once (its --batch-size). */
#define MERGE_FANIN 16

/* A sorted run, in a temporary file that closing removes.  Runs merged
 * together are of one level; their merge is of the next. */
struct run {
    mmio_file *file;
    unsigned level;
    const char *name;  /* -m: an input, opened only when it is merged */
};

struct external {
    struct sort *sort;
    struct run *runs;
    size_t count;
    size_t temps_made;  /* -T directories are taken in turn */
};

/* A new, empty temporary file in the next -T directory, set in *DIR. */
static mmio_file *xcreate_temporary(struct external *x, const char **dirp)
{
    const struct options *o = &x->sort->options;
    const char *dir = o->temp_dir_count ? o->temp_dirs[x->temps_made++ % o->temp_dir_count]
                                        : mmio_temp_dir();
    size_t size = strlen(dir) + sizeof "/mmsort.tmp";
    char *path = malloc(size);
    mmio_file *file;
    mmio_error err;
    char reason[256];

    if (!path)
        xdie("memory exhausted");
    snprintf(path, size, "%s/mmsort.tmp", dir);
    /* Atomic, never committed: removed when closed, at exit, on a signal. */
    file = mmio_create(path, MMIO_ATOMIC | MMIO_RDWR, &err);
    free(path);
    if (!file)
        xdie("cannot create temporary file in %s: %s", tool_quote_always(dir),
             mmio_strerror(err.code, reason, sizeof reason));
    *dirp = dir; /* messages name it: the file itself may have no name */
    return file;
}

static void add_run(struct external *x, mmio_file *file, unsigned level)
{
    struct run *runs = realloc(x->runs, (x->count + 1) * sizeof *runs);

    if (!runs)
        xdie("memory exhausted");
    runs[x->count++] = (struct run){ file, level, NULL };
    x->runs = runs;
}

/* Where a line-by-line merge writes, buffered. */
static void emit_line(void *ctx, const struct line *line)
{
    struct output *o = ctx;

    output_line(o, line, o->eol);
}

struct merge_job {
    struct sort *sort;
    struct text_range *texts;
    size_t count;
    struct output *output;
};

static int merge_guarded(void *arg, unsigned index)
{
    struct merge_job *job = arg;

    (void)index;
    merge_texts(&job->sort->options.spec, job->texts, job->count, emit_line,
                job->output);
    output_flush(job->output);
    return 0;
}

/* Maps run R, or loads the input it names, into IN. */
static void open_run(const struct run *r, struct input *in)
{
    uint64_t size;
    mmio_error err;

    if (r->name) {
        load_input(in, r->name);
        return;
    }
    in->name = NULL;
    in->file = r->file;
    if (mmio_size(r->file, &size, &err) < 0
        || mmio_map(r->file, 0, size, MMIO_MAP_READ, &in->view, &err) < 0)
        xdie_error("read failed", &err);
    mmio_advise(&in->view, MMIO_SEQUENTIAL);
}

/* Merges COUNT runs from FIRST into O, then closes them (which removes
 * temporaries) and takes them off the list. */
static void merge_runs_into(struct external *x, size_t first, size_t count,
                            struct output *o)
{
    struct text_range *texts = malloc(count * sizeof *texts);
    struct input *ins = calloc(count, sizeof *ins);
    struct merge_job job = { x->sort, texts, count, o };
    mmio_error err;

    if (!texts || !ins)
        xdie("memory exhausted");
    for (size_t i = 0; i < count; i++) {
        open_run(&x->runs[first + i], &ins[i]);
        texts[i] = (struct text_range){ ins[i].view.data,
            (const unsigned char *)ins[i].view.data + ins[i].view.size };
    }
    if (parallel_run(1, merge_guarded, &job, &err) < 0)
        xdie_error("read failed", &err);
    for (size_t i = 0; i < count; i++) {
        mmio_unmap(&ins[i].view, NULL);
        mmio_close(ins[i].file, NULL);
    }
    memmove(x->runs + first, x->runs + first + count,
            (x->count - first - count) * sizeof *x->runs);
    x->count -= count;
    free(ins);
    free(texts);
}

/* Merges COUNT runs from FIRST into one run of LEVEL, in their place. */
static void merge_to_run(struct external *x, size_t first, size_t count,
                         unsigned level)
{
    struct output o = { NULL, NULL, malloc(OUT_SIZE), 0, x->sort->options.spec.eol,
                        NULL, NULL };
    struct run merged;

    o.file = xcreate_temporary(x, &o.name);
    if (!o.buf)
        xdie("memory exhausted");
    merge_runs_into(x, first, count, &o);
    free(o.buf);
    add_run(x, o.file, level);
    merged = x->runs[x->count - 1];
    memmove(x->runs + first + 1, x->runs + first,
            (x->count - 1 - first) * sizeof *x->runs);
    x->runs[first] = merged;
}

/* Merges the last runs while MERGE_FANIN of them share a level (a counter
 * in base MERGE_FANIN), so that few are open at once. */
static void merge_generations(struct external *x)
{
    while (x->count >= MERGE_FANIN
           && x->runs[x->count - MERGE_FANIN].level == x->runs[x->count - 1].level)
        merge_to_run(x, x->count - MERGE_FANIN, MERGE_FANIN,
                     x->runs[x->count - 1].level + 1);
}

/* Sorts the lines of [P, END), the piece of input IN, into a new run,
 * and merges runs of one level as they fill up. */
static void sort_piece(struct external *x, const struct input *in,
                       const unsigned char *p, const unsigned char *end)
{
    struct sort piece = *x->sort;
    struct input part = *in;
    struct output o = { NULL, NULL, NULL, 0, 0, NULL, NULL };
    mmio_error err;

    o.file = xcreate_temporary(x, &o.name);
    part.view.data = (unsigned char *)p;
    part.view.size = (size_t)(end - p);
    piece.inputs = &part;
    piece.input_count = 1;
    piece.max_lines = 0;
    find_lines(&piece);
    if (parallel_run(1, sort_guarded, &piece, &err) < 0)
        xdie_shrunk(x->sort);
    write_mapped(&piece, &o);
    free(piece.lines);
    add_run(x, o.file, 0);
    merge_generations(x);
}

/* Where the piece of at most MAX lines that starts at P ends. */
struct piece_cut {
    const unsigned char *p, *end, *cut;
    size_t max;
    unsigned char eol;
};

static int cut_piece(void *arg, unsigned index)
{
    struct piece_cut *c = arg;
    const unsigned char *p = c->p;

    (void)index;
    for (size_t n = 0; n < c->max && p < c->end; n++) {
        const unsigned char *eol = memchr(p, c->eol, (size_t)(c->end - p));
        p = eol ? eol + 1 : c->end;
    }
    c->cut = p;
    return 0;
}

/* Merges the runs of X, MERGE_FANIN at a time, into standard output or
 * -o FILE (replaced atomically once all is merged: it may be one of the
 * inputs); PROGRESS, when not NULL, counts the bytes written. */
static void merge_to_output(struct external *x, struct progress *progress)
{
    struct output o = { NULL, NULL, NULL, 0, x->sort->options.spec.eol,
                        progress, NULL };

    while (x->count > MERGE_FANIN)
        merge_to_run(x, 0, MERGE_FANIN, 0);
    open_output(x->sort, &o);
    output_stream_start(&o);
    merge_runs_into(x, 0, x->count, &o);
    output_stream_end(&o);
    close_output(x->sort, &o);
}

/* Sorts the lines in [P, END) of IN into runs of the budget's size. */
static void sort_pieces(struct external *x, const struct input *in,
                        const unsigned char *p, const unsigned char *end)
{
    struct piece_cut c = { p, end, NULL, x->sort->max_lines, x->sort->options.spec.eol };
    mmio_error err;

    for (; c.p < c.end; c.p = c.cut) {
        if (parallel_run(1, cut_piece, &c, &err) < 0)
            xdie_shrunk(x->sort);
        sort_piece(x, in, c.p, c.cut);
        progress_add(&x->sort->progress, (uint64_t)(c.cut - c.p));
    }
}

/* Where the whole lines of the N bytes at P end: after the last EOL, or 0. */
static size_t whole_lines(const unsigned char *p, size_t n, unsigned char eol)
{
    while (n > 0 && p[n - 1] != eol)
        n--;
    return n;
}

/* Sorts a stream too long for its buffer as it comes: the whole lines in
 * the buffer go into runs, the start of the next line is kept, and more
 * is read after it.  A line longer than the buffer makes it grow. */
static void sort_stream(struct external *x, struct input *in)
{
    unsigned char eol = x->sort->options.spec.eol;

    for (;;) {
        size_t held = in->view.size, cut = held;
        if (in->more && (cut = whole_lines(in->buffer, held, eol)) == 0) {
            unsigned char *larger = realloc(in->buffer, in->capacity * 2);
            if (!larger)
                xdie("memory exhausted");
            in->buffer = larger;
            in->capacity *= 2;
            fill_buffer(in, held);
            continue;
        }
        sort_pieces(x, in, in->buffer, in->buffer + cut);
        if (!in->more)
            return;
        memmove(in->buffer, in->buffer + cut, held - cut);
        fill_buffer(in, held - cut);
    }
}

/* Sorts inputs whose lines do not fit in the budget: pieces of the budget's
 * size are sorted into runs in temporary files, which are merged into the
 * output, at most MERGE_FANIN at a time. */
void sort_external(struct sort *s)
{
    struct external x = { s, NULL, 0, 0 };
    uint64_t total = input_bytes(s);
    bool streams = false;

    for (size_t i = 0; i < s->input_count; i++)
        streams |= s->inputs[i].more;
    /* How much a stream holds is known at its end. */
    progress_start(&s->progress, s->options.progress, "sorting",
                   streams ? PROGRESS_UNKNOWN : total);
    for (size_t i = 0; i < s->input_count; i++) {
        struct input *in = &s->inputs[i];
        if (in->more)
            sort_stream(&x, in);
        else
            sort_pieces(&x, in, in->view.data,
                        (const unsigned char *)in->view.data + in->view.size);
    }
    total = s->progress.done;
    progress_end(&s->progress);
    progress_start(&s->progress, s->options.progress, "merging", total);
    release_inputs(s);
    merge_to_output(&x, &s->progress);
    progress_end(&s->progress);
    free(x.runs);
}

/* -m: merges the inputs as a stream, opening at most MERGE_FANIN at a
 * time: more go first into runs in temporaries, as past the budget.  An
 * input need not be in order; merging by the first of the lines in
 * front, ties to the earlier input, gives the same whatever the groups,
 * so this gives what GNU's stages give. */
void merge_inputs(struct sort *s, char **names, size_t count)
{
    static char *standard_input[] = { "-" };
    struct external x = { s, NULL, 0, 0 };

    if (count == 0) {
        names = standard_input;
        count = 1;
    }
    for (size_t i = 0; i < count; i++) {
        add_run(&x, NULL, 0);
        x.runs[x.count - 1].name = names[i];
        merge_generations(&x);
    }
    merge_to_output(&x, NULL);
    free(x.runs);
}
