/* A small parallel-for over libmmio's threads. */
#include <config.h>

#include <stdlib.h>

#include "parallel.h"

struct part {
    int (*fn)(void *ctx, unsigned index);
    void *ctx;
    unsigned index;
    int status;
    mmio_error err;
    mmio_thread *thread;
};

static int part_guarded(void *arg)
{
    struct part *p = arg;

    return p->fn(p->ctx, p->index);
}

static void part_run(void *arg)
{
    struct part *p = arg;

    p->status = mmio_guard(part_guarded, p, &p->err);
}

/* Keeps the first failure of P in *STATUS and ERR. */
static void part_result(struct part *p, int *status, mmio_error *err)
{
    if (p->status >= 0 || *status < 0)
        return;
    *status = -1;
    if (p->err.code == 0)
        p->err.code = MMIO_ESHRUNK;
    if (err)
        *err = p->err;
}

int parallel_run(unsigned count, int (*fn)(void *ctx, unsigned index),
                 void *ctx, mmio_error *err)
{
    struct part *parts = count > 1 ? calloc(count, sizeof *parts) : NULL;
    int status = 0;

    if (!parts) { /* one part, or no memory for threads: one by one */
        for (unsigned i = 0; i < count && status == 0; i++) {
            struct part one = { fn, ctx, i, 0, { 0 }, NULL };
            part_run(&one);
            part_result(&one, &status, err);
        }
        return status;
    }
    for (unsigned i = 0; i < count; i++) {
        parts[i] = (struct part){ fn, ctx, i, 0, { 0 }, NULL };
        if (i > 0)
            parts[i].thread = mmio_thread_start(part_run, &parts[i], NULL);
    }
    for (unsigned i = 0; i < count; i++)
        if (i == 0 || !parts[i].thread)
            part_run(&parts[i]);
    for (unsigned i = 0; i < count; i++) {
        if (parts[i].thread)
            mmio_thread_join(parts[i].thread);
        part_result(&parts[i], &status, err);
    }
    free(parts);
    return status;
}
