/* An output stream: buffers filled by the tool, written in order by a
 * thread of the stream's own, so that formatting and writing overlap. */
#include <config.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "ostream.h"
#include "tool.h"

#define MAX_BUFFERS 8

struct slot {
    unsigned char *buf;
    uint64_t ticket; /* the submission that must be written before reuse */
    bool held;       /* taken and not yet submitted */
};

/* What the writer is asked to write: entry N of the queue is the N-th
 * submission, kept at N % (count + 1).  A buffer is queued at most once
 * until written, so the count of buffers, and the end marker (BUF NULL)
 * that ostream_free queues, bound what is queued. */
struct entry {
    unsigned char *buf;
    size_t size;
};

struct ostream {
    mmio_file *file;
    size_t capacity;
    unsigned count;
    mmio_arena arena;
    struct slot slots[MAX_BUFFERS];
    struct entry queue[MAX_BUFFERS + 1];
    uint64_t submitted;      /* the caller's count of submissions */
    mmio_sequence *posted;   /* submissions the writer may take */
    mmio_sequence *written;  /* submissions written (or passed over) */
    mmio_thread *thread;     /* NULL: written on the caller's thread */
    int failed;              /* atomic: a write failed, ERR says why */
    mmio_error err;
};

/* Writes one queued buffer, or passes over it after a failure. */
static void ostream_write_entry(struct ostream *o, const struct entry *e)
{
    mmio_error err;

    if (__atomic_load_n(&o->failed, __ATOMIC_ACQUIRE))
        return;
    if (mmio_write(o->file, e->buf, e->size, &err) < 0) {
        o->err = err;
        __atomic_store_n(&o->failed, 1, __ATOMIC_RELEASE);
    }
}

static void ostream_writer(void *arg)
{
    struct ostream *o = arg;

    for (uint64_t n = 1;; n++) {
        const struct entry *e = &o->queue[n % (o->count + 1)];

        mmio_sequence_wait(o->posted, n);
        if (!e->buf)
            return; /* the end marker, after everything submitted */
        ostream_write_entry(o, e);
        mmio_sequence_advance(o->written);
    }
}

/* -1 with ERR once a write has failed. */
static int ostream_status(struct ostream *o, mmio_error *err)
{
    if (!__atomic_load_n(&o->failed, __ATOMIC_ACQUIRE))
        return 0;
    if (err)
        *err = o->err;
    return -1;
}

static int ostream_setup(struct ostream *o, mmio_error *err)
{
    size_t page = mmio_page_size();
    size_t stride = (o->capacity + page - 1) / page * page;

    if (mmio_reserve(&o->arena, stride * o->count, err) < 0
        || mmio_commit_memory(&o->arena, stride * o->count, err) < 0)
        return -1;
    for (unsigned i = 0; i < o->count; i++)
        o->slots[i].buf = o->arena.base + stride * i;
    o->posted = mmio_sequence_new(err);
    o->written = mmio_sequence_new(err);
    if (!o->posted || !o->written)
        return -1;
    if (mmio_cpu_count() > 1)
        o->thread = mmio_thread_start(ostream_writer, o, NULL);
    return 0;
}

struct ostream *ostream_new(mmio_file *file, size_t capacity, unsigned count,
                            mmio_error *err)
{
    struct ostream *o = calloc(1, sizeof *o);

    if (!o) {
        if (err)
            *err = (mmio_error){ "alloc", NULL, MMIO_ETOOBIG };
        return NULL;
    }
    o->file = file;
    o->capacity = capacity;
    o->count = count < 2 ? 2 : count > MAX_BUFFERS ? MAX_BUFFERS : count;
    mmio_output_prepare(file);
    if (ostream_setup(o, err) < 0) {
        ostream_free(o, NULL);
        return NULL;
    }
    return o;
}

unsigned char *ostream_take(struct ostream *o, mmio_error *err)
{
    struct slot *best = NULL;

    /* The free buffer submitted longest ago: the likeliest written. */
    for (unsigned i = 0; i < o->count; i++)
        if (!o->slots[i].held && (!best || o->slots[i].ticket < best->ticket))
            best = &o->slots[i];
    if (!best)
        abort(); /* more buffers held than the stream has: a caller's bug */
    if (o->thread)
        mmio_sequence_wait(o->written, best->ticket);
    if (ostream_status(o, err) < 0)
        return NULL;
    best->held = true;
    return best->buf;
}

int ostream_submit(struct ostream *o, unsigned char *buf, size_t size,
                   mmio_error *err)
{
    struct slot *s = NULL;
    struct entry *e;

    for (unsigned i = 0; i < o->count && !s; i++)
        if (o->slots[i].buf == buf)
            s = &o->slots[i];
    if (!s || !s->held)
        abort(); /* not a buffer ostream_take gave: a caller's bug */
    s->held = false;
    e = &o->queue[++o->submitted % (o->count + 1)];
    *e = (struct entry){ buf, size };
    s->ticket = o->submitted;
    if (!o->thread) {
        ostream_write_entry(o, e);
        mmio_sequence_advance(o->written);
    } else {
        mmio_sequence_advance(o->posted);
    }
    return ostream_status(o, err);
}

int ostream_drain(struct ostream *o, mmio_error *err)
{
    mmio_sequence_wait(o->written, o->submitted);
    return ostream_status(o, err);
}

int ostream_free(struct ostream *o, mmio_error *err)
{
    int status;

    if (!o)
        return 0;
    if (o->thread) {
        o->queue[(o->submitted + 1) % (o->count + 1)] = (struct entry){ NULL, 0 };
        mmio_sequence_advance(o->posted);
        mmio_thread_join(o->thread);
    }
    status = ostream_status(o, err);
    mmio_sequence_free(o->posted);
    mmio_sequence_free(o->written);
    mmio_release(&o->arena);
    free(o);
    return status;
}

unsigned char *xostream_take(struct ostream *o)
{
    mmio_error err;
    unsigned char *buf = ostream_take(o, &err);

    if (!buf)
        tool_write_failed(&err);
    return buf;
}

void xostream_submit(struct ostream *o, unsigned char *buf, size_t size)
{
    mmio_error err;

    if (ostream_submit(o, buf, size, &err) < 0)
        tool_write_failed(&err);
}

void xostream_drain(struct ostream *o)
{
    mmio_error err;

    if (ostream_drain(o, &err) < 0)
        tool_write_failed(&err);
}
