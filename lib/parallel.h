/* A small parallel-for over libmmio's threads, for every tool that splits
 * work over processors. */
#ifndef PARALLEL_H
#define PARALLEL_H

#include <stddef.h>

#include "mmio.h"

/* Runs FN(CTX, I) for each I from 0 to COUNT - 1, each on a thread of its
 * own (I = 0 on the caller's), and waits for all of them.  Each runs
 * inside mmio_guard, so touching a mapping whose file shrank is caught.
 * A part whose thread cannot be started runs on the caller's thread.
 * Returns 0, or -1 when a part returned -1 or faulted (ERR then says
 * MMIO_ESHRUNK, with no path: the caller knows its files). */
int parallel_run(unsigned count, int (*fn)(void *ctx, unsigned index),
                 void *ctx, mmio_error *err);

/* Where part I of COUNT equal parts of N items starts (I = COUNT: N). */
static inline size_t parallel_split(size_t n, unsigned count, unsigned i)
{
    return (size_t)((unsigned long long)n / count * i
                    + (unsigned long long)n % count * i / count);
}

#endif
