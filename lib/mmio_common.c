/* The portable part of libmmio: error text, walks, whole loads and the
 * plain copy, all built on the backend's primitives. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmio_internal.h"

int mmio_fail(mmio_error *err, const char *op, const char *path, int code)
{
    if (err) {
        err->op = op;
        err->path = path;
        err->code = code;
    }
    return -1;
}

const char *mmio_strerror(int code, char *buf, size_t size)
{
    const char *reason = NULL;

    switch (code) {
    case MMIO_ESHRUNK: reason = "file shrank while it was being read"; break;
    case MMIO_ENOTREG: reason = "not a regular file"; break;
    case MMIO_ETOOBIG: reason = "too large for the address space"; break;
    case MMIO_EPIPE: reason = "Broken pipe"; break;
    case MMIO_EISDIR: reason = "Is a directory"; break;
    case MMIO_EMAPPED: reason = "file is mapped and cannot shrink"; break;
    case MMIO_EPASTEND: reason = "range reaches past the end of the file"; break;
    case MMIO_EIO: reason = "Input/output error"; break;
    }
    if (reason)
        snprintf(buf, size, "%s", reason);
    else
        mmio_system_reason(code, buf, size);
    return buf;
}

const char *mmio_format_error(const mmio_error *err, char *buf, size_t size)
{
    char reason[256];

    mmio_strerror(err->code, reason, sizeof reason);
    if (err->path)
        snprintf(buf, size, "%s: %s", err->path, reason);
    else
        snprintf(buf, size, "%s", reason);
    return buf;
}

/* ---- Walks ------------------------------------------------------------ */

int mmio_walk_start(mmio_walk *w, mmio_file *f, size_t window,
                    mmio_error *err)
{
    uint64_t size;
    size_t granularity = mmio_map_granularity();

    memset(w, 0, sizeof *w);
    w->file = f;
    if (window < granularity)
        window = granularity;
    w->window = window - window % granularity;
    if (mmio_size(f, &size, err) < 0)
        return -1;
    w->offset = mmio_tell(f);
    w->end = size;
    /* A regular file that reports size 0 may still have content (/proc). */
    w->streaming = mmio_kind(f) != MMIO_KIND_REGULAR || size == 0;
    if (w->streaming) {
        w->buffer = malloc(MMIO_STREAM_BUFFER);
        if (!w->buffer)
            return mmio_fail(err, "read", mmio_path(f), MMIO_ETOOBIG);
    }
    return 0;
}

static int walk_next_read(mmio_walk *w, const unsigned char **data,
                          size_t *size, mmio_error *err)
{
    size_t got;

    if (mmio_read(w->file, w->buffer, MMIO_STREAM_BUFFER, &got, err) < 0)
        return -1;
    *data = w->buffer;
    *size = got;
    return got > 0;
}

/* Some files cannot be mapped (sysfs, some devices): carry on reading. */
static int walk_switch_to_reads(mmio_walk *w, const unsigned char **data,
                                size_t *size, mmio_error *err)
{
    w->buffer = malloc(MMIO_STREAM_BUFFER);
    if (!w->buffer)
        return -1; /* ERR already says why the mapping failed */
    mmio_seek(w->file, w->offset);
    w->streaming = 1;
    return walk_next_read(w, data, size, err);
}

int mmio_walk_next(mmio_walk *w, const unsigned char **data, size_t *size,
                   mmio_error *err)
{
    uint64_t length;
    mmio_error map_err;

    if (w->streaming)
        return walk_next_read(w, data, size, err);
    if (w->view.data && mmio_unmap(&w->view, err) < 0)
        return -1;
    if (w->offset >= w->end) {
        /* The file may have grown since the walk began; read that too. */
        if (mmio_size(w->file, &w->end, err) < 0)
            return -1;
        if (w->offset >= w->end)
            return 0;
    }
    length = w->end - w->offset;
    if (length > w->window)
        length = w->window;
    if (mmio_map(w->file, w->offset, length, MMIO_MAP_READ, &w->view,
                 &map_err) < 0) {
        /* Past the end: the file shrank since its size was read. */
        if (map_err.code == MMIO_EPASTEND)
            return mmio_fail(err, "read", mmio_path(w->file), MMIO_ESHRUNK);
        if (err)
            *err = map_err;
        return walk_switch_to_reads(w, data, size, err);
    }
    mmio_advise(&w->view, MMIO_SEQUENTIAL);
    w->offset += length;
    *data = w->view.data;
    *size = w->view.size;
    return 1;
}

void mmio_walk_finish(mmio_walk *w)
{
    if (w->view.data)
        mmio_unmap(&w->view, NULL);
    free(w->buffer);
    w->buffer = NULL;
    if (!w->streaming)
        mmio_seek(w->file, w->offset);
}

/* ---- Whole loads -------------------------------------------------------- */

/* Commits the first SIZE bytes of A, first moving its USED bytes into a
 * reservation twice as large when SIZE is past the end of this one.  A
 * failure is MMIO_ETOOBIG, in reading PATH. */
static int arena_make_room(mmio_arena *a, size_t used, size_t size,
                           const char *path, mmio_error *err)
{
    mmio_arena larger = { NULL, 0, 0 };

    if (size > a->reserved) {
        if (a->reserved > SIZE_MAX / 2
            || mmio_reserve(&larger, a->reserved * 2, NULL) < 0
            || mmio_commit_memory(&larger, used, NULL) < 0) {
            mmio_release(&larger);
            return mmio_fail(err, "read", path, MMIO_ETOOBIG);
        }
        memcpy(larger.base, a->base, used);
        mmio_release(a);
        *a = larger;
    }
    if (mmio_commit_memory(a, size, NULL) < 0)
        return mmio_fail(err, "read", path, MMIO_ETOOBIG);
    return 0;
}

/* Makes the USED bytes at the start of arena A the view V of F. */
static void arena_to_view(mmio_arena *a, size_t used, mmio_file *f,
                          mmio_view *v)
{
    memset(v, 0, sizeof *v);
    v->data = a->base;
    v->size = used;
    v->file = f;
    v->base = a->base;
    v->base_size = a->reserved;
    v->mode = MMIO_MAP_PRIVATE;
    v->owned_memory = 1;
}

/* Reads F to its end into memory that becomes the view V: a reservation
 * large enough for any input where the address space allows one, else a
 * small one that moves to a larger one as it fills. */
static int load_stream(mmio_file *f, mmio_view *v, mmio_error *err)
{
    mmio_arena arena;
    size_t used = 0, got;

    if (mmio_reserve(&arena, MMIO_DEFAULT_RESERVE, NULL) < 0
        && mmio_reserve(&arena, MMIO_SMALL_RESERVE, NULL) < 0)
        return mmio_fail(err, "read", mmio_path(f), MMIO_ETOOBIG);
    for (;;) {
        if (arena.committed - used < MMIO_STREAM_BUFFER
            && arena_make_room(&arena, used, used + MMIO_STREAM_BUFFER,
                               mmio_path(f), err) < 0)
            break;
        if (mmio_read(f, arena.base + used, arena.committed - used, &got,
                      err) < 0)
            break;
        if (got == 0) {
            arena_to_view(&arena, used, f, v);
            return 0;
        }
        used += got;
    }
    mmio_release(&arena);
    return -1;
}

/* A shared load must reach the file: only a mapping will do. */
static int load_shared(mmio_file *f, mmio_view *v, mmio_error *err)
{
    uint64_t size, start = mmio_tell(f);

    if (mmio_kind(f) != MMIO_KIND_REGULAR)
        return mmio_fail(err, "map", mmio_path(f), MMIO_ENOTREG);
    if (mmio_size(f, &size, err) < 0)
        return -1;
    return mmio_map(f, start, size > start ? size - start : 0,
                    MMIO_MAP_SHARED, v, err);
}

int mmio_load(mmio_file *f, enum mmio_map_mode mode, mmio_view *v,
              mmio_error *err)
{
    uint64_t size;

    if (mode == MMIO_MAP_SHARED)
        return load_shared(f, v, err);
    if (mmio_size(f, &size, err) < 0)
        return -1;
    if (mmio_kind(f) == MMIO_KIND_REGULAR && size > 0) {
        uint64_t start = mmio_tell(f);
        if (mmio_map(f, start, size > start ? size - start : 0, mode, v,
                     err) == 0)
            return 0;
        /* As walks do: a file that cannot be mapped (sysfs) is read. */
    }
    return load_stream(f, v, err);
}

/* ---- Plain copy --------------------------------------------------------- */

int mmio_walk_fault(const mmio_walk *w)
{
    uint64_t size;

    return !w->streaming && mmio_size(w->file, &size, NULL) == 0
           && size < w->offset ? MMIO_ESHRUNK : MMIO_EIO;
}

int mmio_copy_plain(mmio_file *in, mmio_file *out, mmio_error *err)
{
    mmio_walk walk;
    mmio_error e;
    const unsigned char *data;
    size_t size;
    int more, status = 0;

    if (mmio_walk_start(&walk, in, MMIO_DEFAULT_WINDOW, err) < 0)
        return -1;
    while ((more = mmio_walk_next(&walk, &data, &size, &e)) > 0) {
        if (mmio_write(out, data, size, &e) < 0) {
            status = -2;
            /* A write from a mapping that finds a bad address met a page
             * of the input that could not be read in. */
            if (!walk.streaming && mmio_bad_address(e.code)) {
                status = -1;
                e = (mmio_error){ "read", mmio_path(in), mmio_walk_fault(&walk) };
            }
            break;
        }
    }
    if (more < 0)
        status = -1;
    if (status < 0 && err)
        *err = e;
    mmio_walk_finish(&walk);
    return status;
}

/* ---- Reserved address space --------------------------------------------- */

int mmio_reserve(mmio_arena *a, size_t size, mmio_error *err)
{
    size_t page = mmio_page_size();

    memset(a, 0, sizeof *a);
    size = (size + page - 1) / page * page;
    a->base = mmio_os_reserve(size);
    if (!a->base)
        return mmio_fail(err, "reserve", NULL, MMIO_ETOOBIG);
    a->reserved = size;
    return 0;
}

int mmio_commit_memory(mmio_arena *a, size_t size, mmio_error *err)
{
    size_t target;

    if (size <= a->committed)
        return 0;
    if (size > a->reserved)
        return mmio_fail(err, "commit", NULL, MMIO_ETOOBIG);
    /* Grow by steps, so a byte-by-byte caller does not call the system often. */
    target = (size + MMIO_ARENA_STEP - 1) / MMIO_ARENA_STEP * MMIO_ARENA_STEP;
    if (target > a->reserved)
        target = a->reserved;
    if (mmio_os_commit(a->base + a->committed, target - a->committed) < 0)
        return mmio_fail(err, "commit", NULL, MMIO_ETOOBIG);
    a->committed = target;
    return 0;
}

void mmio_release(mmio_arena *a)
{
    if (a->base)
        mmio_os_release(a->base, a->reserved);
    memset(a, 0, sizeof *a);
}
