/* mmconv: convert text between ASCII, Latin-1 and the UTFs, byte for byte
 * as glibc's iconv converts valid input.  A file into a file is measured
 * first (validated on every processor), then written through a mapping of
 * an output made at its exact size; everything else streams. */
#include <config.h>

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "mmio.h"
#include "ostream.h"
#include "parallel.h"
#include "progress.h"
#include "tool.h"

static const char usage_text[] =
    "Usage: %s [OPTION]... [INPUT [OUTPUT]]\n"
    "Convert the text of INPUT from one encoding to another, into OUTPUT.\n"
    "With no INPUT, or when INPUT is -, read standard input; with no OUTPUT,\n"
    "or when OUTPUT is -, write standard output.\n"
    "\n"
    "  -f, --from=ENC      the encoding of INPUT (default ASCII)\n"
    "  -t, --to=ENC        the encoding of OUTPUT (default UTF-16LE)\n"
    "  -o, --output=FILE   write to FILE, as when it is given as OUTPUT\n"
    "  -c                  leave out characters that are invalid or that the\n"
    "                      target cannot represent\n"
    "      --replace       write U+FFFD for them instead ('?' in ASCII and\n"
    "                      ISO-8859-1)\n"
    "      --bom           start a UTF output with a byte-order mark\n"
    "  -l, --list          list the encodings and their other names\n"
    "      --progress      show progress on standard error\n"
    "      --help          display this help and exit\n"
    "      --version       output version information and exit\n"
    "\n"
    "Encodings: ASCII, ISO-8859-1 (LATIN1), UTF-8, UTF-16LE, UTF-16BE,\n"
    "UTF-32LE, UTF-32BE, UTF-16 and UTF-32, in iconv's spellings, in any case.\n"
    "Without -c or --replace, invalid input stops the conversion with its\n"
    "byte offset, and no OUTPUT file is made.\n";

enum { OPT_REPLACE = 256, OPT_BOM, OPT_PROGRESS, OPT_HELP, OPT_VERSION };

static const struct option long_options[] = {
    { "from", required_argument, NULL, 'f' },
    { "to", required_argument, NULL, 't' },
    { "output", required_argument, NULL, 'o' },
    { "replace", no_argument, NULL, OPT_REPLACE },
    { "bom", no_argument, NULL, OPT_BOM },
    { "list", no_argument, NULL, 'l' },
    { "progress", no_argument, NULL, OPT_PROGRESS },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 }
};

struct options {
    enum encoding from, to;
    enum conv_policy policy;
    bool bom;              /* a byte-order mark starts the output */
    const char *input;     /* "-" for standard input */
    const char *output;    /* NULL or "-" for standard output */
    bool progress;
};

/* ---- Messages ---------------------------------------------------------------- */

/* Reports why converting INPUT (from FROM into TO) stopped at OFFSET. */
static void report_stop(const char *input, const struct conv *c,
                        const struct conv_stop *stop, uint64_t offset)
{
    const char *name = tool_quote(input), *from = encoding_name(c->from);

    switch (stop->fault) {
    case CONV_INVALID:
        tool_warn("%s: invalid %s %s at byte offset %" PRIu64, name, from,
                  c->from == ENC_UTF8 ? "sequence"
                  : encoding_unit(c->from) > 1 ? "character" : "byte",
                  offset);
        break;
    case CONV_SURROGATE:
        tool_warn("%s: unpaired %s surrogate at byte offset %" PRIu64, name,
                  from, offset);
        break;
    case CONV_INCOMPLETE:
        tool_warn("%s: incomplete %s %s at byte offset %" PRIu64, name, from,
                  c->from == ENC_UTF8 ? "sequence" : "character", offset);
        break;
    case CONV_UNREPRESENTABLE:
        tool_warn("%s: character U+%04" PRIX32 " at byte offset %" PRIu64
                  " cannot be represented in %s", name, stop->cp, offset,
                  encoding_name(c->to));
        break;
    default:
        tool_warn("%s: changed while being converted, at byte offset %"
                  PRIu64, name, offset);
        break;
    }
}

/* A read error on INPUT: a fault under mmio_guard, or ERR. */
static void report_read_error(mmio_file *in, mmio_error *err)
{
    if (!err->path) /* from parallel_run, which knows no files */
        *err = (mmio_error){ "read", mmio_path(in), err->code };
    tool_warn_error(err);
}

/* ---- Output through a buffer ------------------------------------------------ */

/* Converted bytes on their way to OUTPUT: standard output (through
 * xwrite, as every tool writes it) or a file mmconv made. */
struct sink {
    mmio_file *file;
    bool is_stdout;
    unsigned char *buf;
    size_t len, cap;
    struct ostream *stream; /* writes BUF while the next is filled */
};

/* Ends the program after a failed write; a file being made is removed on
 * the way out (libmmio removes it at exit). */
static void xsink_failed(const struct sink *s, const mmio_error *err)
{
    if (s->is_stdout)
        tool_write_failed(err);
    tool_warn_error(err);
    exit(tool_finish(EXIT_TROUBLE));
}

/* Hands what the sink holds to its stream and takes an empty buffer, or
 * ends the program. */
static void xsink_flush(struct sink *s)
{
    mmio_error err;

    if (ostream_submit(s->stream, s->buf, s->len, &err) < 0
        || !(s->buf = ostream_take(s->stream, &err)))
        xsink_failed(s, &err);
    s->len = 0;
}

/* Writes out everything the sink was given, or ends the program. */
static void xsink_drain(struct sink *s)
{
    mmio_error err;

    xsink_flush(s);
    if (ostream_drain(s->stream, &err) < 0)
        xsink_failed(s, &err);
}

/* ---- Streaming: pipes, standard input and output ---------------------------- */

/* Input is converted in slices of this many bytes, each into the sink. */
#define SLICE ((size_t)256 << 10)

struct stream {
    struct conv conv;
    bool resolved;            /* the input's byte order is known */
    size_t bom_len;           /* a byte-order mark still to be written */
    unsigned char bom[4];
    unsigned char carry[16];  /* the start of a character cut by a slice */
    size_t carry_len;
    uint64_t consumed;        /* input bytes converted (or skipped) */
    const char *input;
    struct sink *sink;
};

/* Converts the LEN bytes at BUF into the sink; *USED says how many were
 * taken.  Returns -1 after reporting a fault. */
static int stream_convert(struct stream *s, const unsigned char *buf,
                          size_t len, enum conv_end end, size_t *used)
{
    struct sink *k = s->sink;
    struct conv_stop stop;
    unsigned char *at;
    size_t made;

    if (k->cap - k->len < len * conv_max_growth(&s->conv) + 8)
        xsink_flush(k);
    at = k->buf + k->len + s->bom_len; /* room for a mark before it */
    made = conv_run(&s->conv, buf, len, end, at, k->buf + k->cap, used,
                    &stop);
    if (made > 0 && s->bom_len > 0) {
        memcpy(k->buf + k->len, s->bom, s->bom_len);
        k->len += s->bom_len;
        s->bom_len = 0;
    }
    k->len += made;
    if (stop.fault != CONV_OK) {
        xsink_drain(k); /* what came before the fault, as iconv writes it */
        report_stop(s->input, &s->conv, &stop, s->consumed + stop.at);
        return -1;
    }
    s->consumed += *used;
    return 0;
}

/* Takes the byte-order mark of UTF-16 or UTF-32 input off the carry;
 * false while too few bytes have come to tell. */
static bool stream_resolve(struct stream *s, enum conv_end end)
{
    size_t skip;

    if (s->carry_len < encoding_unit(s->conv.from) && end == CONV_MORE)
        return false;
    s->conv.from = encoding_resolve(s->conv.from, s->carry, s->carry_len,
                                    &skip);
    memmove(s->carry, s->carry + skip, s->carry_len - skip);
    s->carry_len -= skip;
    s->consumed += skip;
    s->resolved = true;
    return true;
}

/* Converts the carry, completed with bytes from *P, until it is empty;
 * returns -1 after reporting a fault. */
static int stream_carry(struct stream *s, const unsigned char **p, size_t *n,
                        enum conv_end end)
{
    while (s->carry_len > 0 || !s->resolved) {
        size_t take = *n < 8 ? *n : 8, used;
        enum conv_end e;

        if (take > 0)
            memcpy(s->carry + s->carry_len, *p, take);
        s->carry_len += take;
        *p += take;
        *n -= take;
        e = *n > 0 ? CONV_MORE : end;
        if (!s->resolved && !stream_resolve(s, e))
            return 0;
        if (stream_convert(s, s->carry, s->carry_len, e, &used) < 0)
            return -1;
        memmove(s->carry, s->carry + used, s->carry_len - used);
        s->carry_len -= used;
        if (*n == 0)
            return 0;
    }
    return 0;
}

/* Converts the N bytes at P (END: what follows them); a character they
 * cut waits in the carry for the next call. */
static int stream_feed(struct stream *s, const unsigned char *p, size_t n,
                       enum conv_end end)
{
    size_t used;

    if (stream_carry(s, &p, &n, end) < 0)
        return -1;
    if (n == 0)
        return 0;
    if (stream_convert(s, p, n, end, &used) < 0)
        return -1;
    memcpy(s->carry, p + used, n - used); /* less than one character */
    s->carry_len = n - used;
    return 0;
}

/* Converts the piece at P in slices, flushing the sink after each. */
static int stream_piece(struct stream *s, const unsigned char *p, size_t n)
{
    for (size_t at = 0; at < n; at += SLICE) {
        size_t len = n - at < SLICE ? n - at : SLICE;
        if (stream_feed(s, p + at, len, CONV_MORE) < 0)
            return -1;
        xsink_flush(s->sink);
    }
    return 0;
}

struct stream_walk {
    struct stream *s;
    const unsigned char *data;
    size_t size;
};

static int stream_piece_guarded(void *ctx)
{
    struct stream_walk *w = ctx;

    return stream_piece(w->s, w->data, w->size);
}

/* Converts all of IN into the sink, walking it in windows or reads.
 * Returns 0 or 1 (after reporting why). */
static int stream_all(struct stream *s, mmio_file *in, bool progress)
{
    struct stream_walk w = { s, NULL, 0 };
    struct progress bar;
    mmio_walk walk;
    mmio_error err;
    uint64_t size = 0;
    int more, status = 0;

    if (mmio_walk_start(&walk, in, tool_window(), &err) < 0) {
        tool_warn_error(&err);
        return 1;
    }
    mmio_size(in, &size, NULL);
    progress_start(&bar, progress, mmio_path(in), size);
    while (status == 0
           && (more = mmio_walk_next(&walk, &w.data, &w.size, &err)) > 0) {
        err.code = 0;
        status = mmio_guard(stream_piece_guarded, &w, &err);
        if (status < 0 && err.code != 0) {
            err = (mmio_error){ "read", mmio_path(in), mmio_walk_fault(&walk) };
            more = -1;
        }
        progress_add(&bar, w.size);
    }
    mmio_walk_finish(&walk);
    progress_end(&bar);
    if (status == 0 && more < 0)
        tool_warn_error(&err);
    if (status == 0 && more == 0)
        status = stream_feed(s, NULL, 0, CONV_END);
    if (status == 0)
        xsink_flush(s->sink);
    return status < 0 || more < 0;
}

/* Converts IN into OUT (standard output, or a file being made). */
static int stream_into(const struct options *opt, const struct conv *conv,
                       mmio_file *in, mmio_file *out, bool is_stdout)
{
    struct sink sink = { out, is_stdout, NULL, 0, 0, NULL };
    struct stream s = { .conv = *conv, .input = opt->input, .sink = &sink };
    mmio_error err;
    int status;

    sink.cap = (SLICE + sizeof s.carry) * conv_max_growth(conv) + 8;
    sink.stream = ostream_new(out, sink.cap, 3, &err);
    if (!sink.stream || !(sink.buf = ostream_take(sink.stream, &err))) {
        tool_warn_error(&err);
        ostream_free(sink.stream, NULL);
        return 1;
    }
    s.resolved = conv->from != ENC_UTF16 && conv->from != ENC_UTF32;
    if (opt->bom)
        s.bom_len = encoding_bom(conv->to, s.bom);
    status = stream_all(&s, in, opt->progress);
    if (ostream_free(sink.stream, &err) < 0)
        xsink_failed(&sink, &err);
    return status;
}

/* ---- A file into a file: measured, then written through a mapping ------------ */

/* A window of input is converted in batches of this size, each shared
 * out over the processors; below PARALLEL_MIN a batch is one part. */
#define BATCH ((size_t)64 << 20)
#define PARALLEL_MIN ((size_t)1 << 20)
#define MAX_PARTS 16

struct mapped {
    struct conv conv;          /* its input's byte order resolved */
    const char *input;
    mmio_file *in, *out;
    uint64_t size, start;      /* of INPUT; where its text starts */
    size_t window;
    bool writing;              /* the second pass */
    bool fixed;                /* output sizes are input sizes * MUL / DIV */
    bool quick;                /* measured as if valid (conv_valid_size) */
    unsigned mul, div;
    size_t *lengths;           /* each part's output, from the first pass */
    size_t nlengths, cap, next;
    uint64_t out_pos;          /* where the next batch's output goes */
    bool reported;             /* a fault in the input was reported */
    struct progress progress;
    mmio_error err;
};

/* One batch of input, cut into parts at character boundaries. */
struct batch {
    struct mapped *m;
    const unsigned char *data;
    size_t len;
    bool last;                       /* the input ends with it */
    unsigned parts;
    size_t bounds[MAX_PARTS + 1];    /* where each part starts */
    unsigned char *out;              /* writing: the batch's output */
    size_t out_off[MAX_PARTS + 1];   /* writing: where each part's goes */
    size_t made[MAX_PARTS];
    struct conv_stop stops[MAX_PARTS];
};

static int batch_part(void *ctx, unsigned i)
{
    struct batch *b = ctx;
    size_t from = b->bounds[i], to = b->bounds[i + 1], used = 0;
    enum conv_end end = b->last && i == b->parts - 1 ? CONV_END : CONV_CUT;
    unsigned char *out = b->out ? b->out + b->out_off[i] : NULL;
    const unsigned char *out_end = b->out ? b->out + b->out_off[i + 1] : NULL;
    struct conv_stop *stop = &b->stops[i];

    *stop = (struct conv_stop){ CONV_OK, 0, 0 };
    if (!out && b->m->quick) {
        uint64_t size;
        conv_valid_size(&b->m->conv, b->data + from, to - from, &size);
        b->made[i] = (size_t)size;
        return 0;
    }
    b->made[i] = conv_run(&b->m->conv, b->data + from, to - from, end, out,
                          out_end, &used, stop);
    stop->at += from;
    /* The second pass must make what the first measured. */
    if (out && stop->fault == CONV_OK
        && (out + b->made[i] != out_end || used != to - from))
        *stop = (struct conv_stop){ CONV_FULL, from + used, 0 };
    return 0;
}

/* Cuts batch B into parts, one a processor when it is worth it. */
static void batch_cut(struct batch *b)
{
    unsigned cpus = mmio_cpu_count();

    b->parts = 1;
    if (b->len >= PARALLEL_MIN && cpus > 1)
        b->parts = cpus < MAX_PARTS ? cpus : MAX_PARTS;
    b->bounds[0] = 0;
    b->bounds[b->parts] = b->len;
    for (unsigned i = 1; i < b->parts; i++) {
        size_t at = conv_boundary(b->m->conv.from, b->data, b->len,
                                  parallel_split(b->len, b->parts, i));
        b->bounds[i] = at > b->bounds[i - 1] ? at : b->bounds[i - 1];
    }
}

/* Writing: maps the batch's share of OUTPUT, laid out as measured. */
static int batch_map_output(struct batch *b, mmio_view *view)
{
    static unsigned char nothing[1]; /* for a batch that makes no bytes */
    struct mapped *m = b->m;
    size_t total = 0;

    for (unsigned i = 0; i < b->parts; i++) {
        b->out_off[i] = total;
        if (m->fixed)
            total += (b->bounds[i + 1] - b->bounds[i]) / m->div * m->mul;
        else
            total += m->lengths[m->next + i];
    }
    b->out_off[b->parts] = total;
    b->out = nothing;
    if (total == 0)
        return 0;
    if (mmio_map(m->out, m->out_pos, total, MMIO_MAP_SHARED, view,
                 &m->err) < 0)
        return -1;
    mmio_advise(view, MMIO_WILLWRITE);
    b->out = view->data;
    return 0;
}

/* The first fault of batch B, reported; or 0. */
static int batch_faults(struct batch *b, uint64_t offset)
{
    for (unsigned i = 0; i < b->parts; i++)
        if (b->stops[i].fault != CONV_OK) {
            report_stop(b->m->input, &b->m->conv, &b->stops[i],
                        offset + b->stops[i].at);
            b->m->reported = true;
            return -1;
        }
    return 0;
}

/* Measures or writes the LEN bytes at DATA (input offset OFFSET). */
static int batch_run(struct mapped *m, const unsigned char *data, size_t len,
                     uint64_t offset, bool last)
{
    struct batch b = { .m = m, .data = data, .len = len, .last = last };
    mmio_view view = { 0 };
    int status;

    batch_cut(&b);
    if (m->writing && batch_map_output(&b, &view) < 0)
        return -1;
    status = parallel_run(b.parts, batch_part, &b, &m->err);
    /* Sent on to disk while the next batch is made, so that the commit's
     * flush finds little left. */
    if (view.data && status == 0)
        mmio_flush(&view, 0, view.size, MMIO_ASYNC, NULL);
    if (view.data && mmio_unmap(&view, status < 0 ? NULL : &m->err) < 0)
        status = -1;
    if (status < 0 || batch_faults(&b, offset) < 0)
        return -1;
    if (m->writing) {
        m->next += b.parts;
        m->out_pos += b.out_off[b.parts];
    } else {
        for (unsigned i = 0; i < b.parts; i++)
            m->lengths[m->nlengths++] = b.made[i];
    }
    progress_add(&m->progress, len);
    return 0;
}

/* Room in M->lengths for the parts of one more batch. */
static int lengths_reserve(struct mapped *m)
{
    size_t *grown;

    if (m->cap - m->nlengths >= MAX_PARTS)
        return 0;
    grown = realloc(m->lengths, (m->cap * 2 + MAX_PARTS) * sizeof *grown);
    if (!grown) {
        m->err = (mmio_error){ "read", NULL, MMIO_ETOOBIG };
        return -1;
    }
    m->lengths = grown;
    m->cap = m->cap * 2 + MAX_PARTS;
    return 0;
}

/* One window of input, mapped at OFFSET. */
struct window {
    struct mapped *m;
    mmio_view view;
    uint64_t offset;
    size_t cut;      /* the bytes taken: up to a character boundary */
};

/* Converts the window's bytes up to its last character boundary, in
 * batches (under mmio_guard: a file cut short is an error). */
static int window_run(void *ctx)
{
    struct window *w = ctx;
    struct mapped *m = w->m;
    size_t len = w->view.size;
    bool last = w->offset + len == m->size;

    w->cut = last ? len : conv_boundary(m->conv.from, w->view.data, len,
                                        len - 1);
    for (size_t at = 0; at < w->cut;) {
        size_t n = w->cut - at < BATCH ? w->cut - at : BATCH;
        if (at + n < w->cut)
            n = conv_boundary(m->conv.from, w->view.data + at, w->cut - at, n);
        if (lengths_reserve(m) < 0
            || batch_run(m, w->view.data + at, n, w->offset + at,
                         last && at + n == w->cut) < 0)
            return -1;
        at += n;
    }
    return 0;
}

/* One pass over the input, window by window; 0, or -1 after reporting. */
static int mapped_pass(struct mapped *m)
{
    for (uint64_t off = m->start; off < m->size;) {
        struct window w = { .m = m, .offset = off };
        uint64_t len = m->size - off < m->window ? m->size - off : m->window;
        int status;

        if (mmio_map(m->in, off, len, MMIO_MAP_READ, &w.view, &m->err) < 0) {
            tool_warn_error(&m->err);
            return -1;
        }
        mmio_advise(&w.view, MMIO_SEQUENTIAL);
        m->err.code = 0;
        status = mmio_guard(window_run, &w, &m->err);
        mmio_unmap(&w.view, NULL);
        if (status < 0) {
            if (!m->reported)
                report_read_error(m->in, &m->err);
            return -1;
        }
        off += w.cut;
    }
    return 0;
}

struct head {
    mmio_view view;
    enum encoding from;
    size_t skip;
};

static int head_resolve(void *ctx)
{
    struct head *h = ctx;

    h->from = encoding_resolve(h->from, h->view.data, h->view.size, &h->skip);
    return 0;
}

/* Reads the byte-order mark of UTF-16 or UTF-32 input: M->conv.from
 * becomes the byte order it says, and M->start follows it. */
static int mapped_resolve(struct mapped *m)
{
    struct head h = { .from = m->conv.from };
    int status;

    if (h.from != ENC_UTF16 && h.from != ENC_UTF32)
        return 0;
    if (mmio_map(m->in, 0, m->size < 4 ? m->size : 4, MMIO_MAP_READ, &h.view,
                 &m->err) < 0) {
        tool_warn_error(&m->err);
        return -1;
    }
    status = mmio_guard(head_resolve, &h, &m->err);
    mmio_unmap(&h.view, NULL);
    if (status < 0) {
        report_read_error(m->in, &m->err);
        return -1;
    }
    m->conv.from = h.from;
    m->start = h.skip;
    return 0;
}

/* Measures the output (unless its size follows from the input's: a
 * fault then stops the one pass), sizes M->out to it and writes it: a
 * byte-order mark (when asked for and there is text), then the text. */
static int mapped_convert(struct mapped *m, const struct options *opt)
{
    unsigned char bom[4];
    size_t bom_len = opt->bom ? encoding_bom(opt->to, bom) : 0;
    uint64_t total = 0, text = m->size - m->start, ignored;
    mmio_view view;

    m->fixed = conv_fixed_ratio(&m->conv, &m->mul, &m->div);
    /* Invalid input then stops the second pass, as it stops a fixed one. */
    m->quick = conv_valid_size(&m->conv, NULL, 0, &ignored);
    progress_start(&m->progress, opt->progress, m->input,
                   m->fixed ? text : 2 * text);
    if (m->fixed)
        total = text / m->div * m->mul;
    else if (mapped_pass(m) < 0)
        return -1;
    for (size_t i = 0; i < m->nlengths; i++)
        total += m->lengths[i];
    if (total == 0)
        bom_len = 0; /* as iconv, which writes a mark before a character */
    if (mmio_resize(m->out, bom_len + total, &m->err) < 0) {
        tool_warn_error(&m->err);
        return -1;
    }
    if (bom_len > 0) {
        if (mmio_map(m->out, 0, bom_len, MMIO_MAP_SHARED, &view, &m->err) < 0) {
            tool_warn_error(&m->err);
            return -1;
        }
        memcpy(view.data, bom, bom_len);
        mmio_unmap(&view, NULL);
    }
    m->writing = true;
    m->out_pos = bom_len;
    return mapped_pass(m);
}

/* Converts the regular file IN (SIZE bytes) into OUT, a file mmconv made:
 * through mappings when OUT is a regular file too, else streaming. */
static int convert_file(const struct options *opt, const struct conv *conv,
                        mmio_file *in, uint64_t size, mmio_file *out)
{
    struct mapped m = {
        .conv = *conv, .input = opt->input, .in = in, .out = out,
        .size = size, .window = tool_window(),
    };
    int status;

    if (mmio_kind(out) != MMIO_KIND_REGULAR)
        return stream_into(opt, conv, in, out, false);
    if (m.window < 64) /* room for a character boundary in every window */
        m.window = 64;
    status = mapped_resolve(&m) < 0 || mapped_convert(&m, opt) < 0;
    progress_end(&m.progress);
    free(m.lengths);
    return status;
}

/* ---- Files -------------------------------------------------------------------- */

/* Whether IN is the file OUTPUT names (or standard output writes to). */
static bool same_file(mmio_file *in, const char *output, mmio_file *out)
{
    mmio_file *f;
    bool same;

    if (mmio_kind(in) != MMIO_KIND_REGULAR)
        return false;
    if (out)
        return mmio_kind(out) == MMIO_KIND_REGULAR && mmio_same_file(in, out);
    f = mmio_open(output, MMIO_RDONLY | MMIO_REGULAR_ONLY, NULL);
    same = f && mmio_same_file(in, f);
    mmio_close(f, NULL);
    return same;
}

/* Converts IN (SIZE bytes, when regular) into the file OPT->output,
 * atomically; closes IN (and *IN becomes NULL) before the commit, since
 * Windows renames nothing over a file that is open. */
static int convert_to_file(const struct options *opt, const struct conv *conv,
                           mmio_file **in, uint64_t size)
{
    mmio_error err;
    mmio_file *out = mmio_create(opt->output, MMIO_RDWR | MMIO_ATOMIC, &err);
    int status;

    if (!out) {
        tool_warn_error(&err);
        return EXIT_TROUBLE;
    }
    if (mmio_kind(*in) == MMIO_KIND_REGULAR && size > 0)
        status = convert_file(opt, conv, *in, size, out);
    else
        status = stream_into(opt, conv, *in, out, false);
    mmio_close(*in, NULL);
    *in = NULL;
    if (status == 0 && mmio_commit(out, &err) < 0) {
        tool_warn_error(&err);
        status = EXIT_TROUBLE;
    }
    mmio_close(out, NULL);
    return status;
}

/* Converts OPT->input into OPT->output; returns the exit status. */
static int convert(const struct options *opt, const struct conv *conv)
{
    bool to_stdout = !opt->output || strcmp(opt->output, "-") == 0;
    mmio_file *in, *out = NULL;
    mmio_error err;
    uint64_t size = 0;
    int status = EXIT_TROUBLE;

    in = tool_open_input(opt->input, &err);
    if (!in || mmio_size(in, &size, &err) < 0
        || (to_stdout && !(out = mmio_stdout(&err))))
        tool_warn_error(&err);
    else if (same_file(in, opt->output, out))
        tool_warn("%s: input file is output file", tool_quote(opt->input));
    else if (to_stdout)
        status = stream_into(opt, conv, in, out, true);
    else
        status = convert_to_file(opt, conv, &in, size);
    mmio_close(in, NULL);
    mmio_close(out, NULL);
    return status;
}

/* ---- Options ------------------------------------------------------------------ */

static void list_encodings(void)
{
    for (int e = 0; e < ENC_COUNT; e++)
        printf("%s %s\n", encoding_name(e), encoding_aliases(e));
}

static enum encoding xencoding(const char *what, const char *name)
{
    int e = encoding_find(name);

    if (e < 0)
        tool_usage_error("unknown %s encoding: %s (see '%s --list')", what,
                         tool_quote(name), tool_name());
    return (enum encoding)e;
}

static void parse_options(int argc, char **argv, struct options *opt)
{
    int c;

    while ((c = tool_getopt(argc, argv, "f:t:o:cl", long_options)) != -1) {
        switch (c) {
        case 'f': opt->from = xencoding("source", optarg); break;
        case 't': opt->to = xencoding("target", optarg); break;
        case 'o': opt->output = optarg; break;
        case 'c': opt->policy = CONV_SKIP; break;
        case OPT_REPLACE: opt->policy = CONV_REPLACE; break;
        case OPT_BOM: opt->bom = true; break;
        case 'l': list_encodings(); exit(tool_finish(EXIT_SUCCESS));
        case OPT_PROGRESS: opt->progress = true; break;
        case OPT_HELP: tool_help(usage_text);
        case OPT_VERSION: tool_version();
        default: tool_usage_error(NULL);
        }
    }
    argc -= optind;
    argv += optind;
    if (argc > 2 || (argc == 2 && opt->output))
        tool_usage_error("extra operand %s",
                         tool_quote(argv[argc == 2 && opt->output ? 1 : 2]));
    if (argc >= 1)
        opt->input = argv[0];
    if (argc == 2)
        opt->output = argv[1];
    /* UTF-16 and UTF-32 output is little-endian after a mark, as iconv's. */
    if (opt->to == ENC_UTF16 || opt->to == ENC_UTF32)
        opt->bom = true;
    if (opt->bom && opt->to <= ENC_LATIN1)
        tool_usage_error("--bom: %s has no byte-order mark",
                         encoding_name(opt->to));
}

int main(int argc, char **argv)
{
    struct options opt = { ENC_ASCII, ENC_UTF16LE, CONV_STOP, false, "-",
                           NULL, false };
    struct conv conv;

    tool_start("mmconv", &argc, &argv);
    parse_options(argc, argv, &opt);
    conv = (struct conv){ opt.from, opt.to, opt.policy, tool_simd_allowed() };
    return tool_finish(convert(&opt, &conv));
}
