/* mmsort's record mode (--record-size): its options, its files (in place,
 * -o FILE, standard output) and -c; the sorts are in recordsort.c. */
#include <config.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmio.h"
#include "parallel.h"
#include "recordsort.h"
#include "size.h"
#include "sortrecords.h"
#include "tool.h"

#define RECORDS_TROUBLE 2 /* GNU sort's status for anything that went wrong */
#define RECORDS_DISORDER 1

/* ---- Options ----------------------------------------------------------------- */

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
        for (size_t i = 0; i < key_type_count; i++)
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

/* ---- Messages ---------------------------------------------------------------- */

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

/* True when SIZE bytes are whole records; else says "FILE: N bytes are
 * not a whole number of R-byte records". */
static bool whole_records(const char *name, uint64_t size, size_t record)
{
    if (size % record == 0)
        return true;
    tool_warn("%s: %" PRIu64 " bytes are not a whole number of %" PRIu64
              "-byte records", tool_quote(name), size, (uint64_t)record);
    return false;
}

/* ---- Inputs ------------------------------------------------------------------ */

struct input {
    const char *name;
    mmio_file *file;
    mmio_view view;
};

/* Everything one run works on. */
struct records {
    const struct record_job *job;
    struct record_order order;
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
    unsigned parts;
};

/* Part INDEX of the copy: its share of the bytes of the concatenation. */
static int gather_part(void *arg, unsigned index)
{
    struct gather *g = arg;
    size_t total = (size_t)g->r->total, at = 0;
    size_t from = parallel_split(total, g->parts, index);
    size_t to = parallel_split(total, g->parts, index + 1);

    for (size_t i = 0; i < g->r->input_count && at < to; i++) {
        const mmio_view *v = &g->r->inputs[i].view;
        size_t lo = from > at ? from - at : 0;
        size_t hi = to - at < v->size ? to - at : v->size;
        if (lo < hi)
            memcpy(g->dst + at + lo, v->data + lo, hi - lo);
        at += v->size;
    }
    return 0;
}

static void xgather(struct records *r, unsigned char *dst)
{
    struct gather g = { r, dst, r->total >> 20 > 1 ? r->job->threads : 1 };
    mmio_error err;

    if (parallel_run(g.parts, gather_part, &g, &err) < 0)
        xshrunk(r, NULL);
}

/* Part INDEX of the pages of a shared view made writable up front. */
struct advice {
    mmio_view *view;
    unsigned parts;
};

static int advise_part(void *arg, unsigned index)
{
    struct advice *a = arg;
    size_t from = parallel_split(a->view->size, a->parts, index);

    mmio_advise_range(a->view, from,
                      parallel_split(a->view->size, a->parts, index + 1) - from,
                      MMIO_WILLWRITE);
    return 0;
}

/* Makes the pages of V writable before the sort writes them all over (a
 * fault a page cost a third of the time), each thread a share. */
static void advise_writes(mmio_view *v, unsigned threads)
{
    struct advice a = { v, threads };

    parallel_run(threads, advise_part, &a, NULL);
}

/* Sorts the N records at BASE or exits 2 after saying why; NAME is what
 * a fault is blamed on when no input shrank. */
static size_t xsort_buffer(struct records *r, unsigned char *base, size_t n,
                           const char *name)
{
    mmio_error err;
    size_t kept;
    int status = record_sort(&r->order, base, n, r->job->threads,
                             r->job->unique, &kept, &err);

    if (status == -2)
        xout_of_memory();
    if (status < 0)
        xshrunk(r, name);
    return kept;
}

/* ---- Output ------------------------------------------------------------------ */

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
        advise_writes(&view, r->job->threads);
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

/* ---- In place ---------------------------------------------------------------- */

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
    if (size > SIZE_MAX
        || mmio_map(f, 0, size, MMIO_MAP_SHARED, &view, &err) < 0) {
        warn_failed("open failed", name, &err);
        return RECORDS_TROUBLE;
    }
    advise_writes(&view, r->job->threads);
    status = record_sort(&r->order, view.data, n, r->job->threads,
                         r->job->unique, &kept, &err);
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
    if (kept < n
        && mmio_resize(f, (uint64_t)kept * r->order.record, &err) < 0) {
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
    mmio_file *f;
    uint64_t size;
    int status = RECORDS_TROUBLE;

    if (strcmp(name, "-") == 0) {
        tool_warn("standard input cannot be sorted in place");
        return status;
    }
    f = mmio_open(name, MMIO_RDWR | MMIO_REGULAR_ONLY, &err);
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

/* ---- Checking ---------------------------------------------------------------- */

struct check {
    struct records *r;
    size_t disorder;  /* the first record out of order, from 1; or 0 */
};

static int check_guarded(void *arg, unsigned index)
{
    struct check *c = arg;
    const struct record_order *o = &c->r->order;
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

/* ---- The run ----------------------------------------------------------------- */

int sort_records_main(const struct record_job *job, char **names, int count)
{
    struct records r = { .job = job };
    struct record_options rec = job->rec;

    check_key(&rec);
    r.order = (struct record_order){
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
