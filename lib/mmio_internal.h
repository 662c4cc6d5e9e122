/* What the portable part of libmmio and its backends share; not installed. */
#ifndef MMIO_INTERNAL_H
#define MMIO_INTERNAL_H

#include "mmio.h"

/* Fills ERR (which may be NULL) and returns -1. */
int mmio_fail(mmio_error *err, const char *op, const char *path, int code);

/* The backend's words for a system error code. */
void mmio_system_reason(int code, char *buf, size_t size);

/* Copies IN to OUT through mapped windows (or reads, for a stream) and
 * plain writes: the path every backend falls back to. */
int mmio_copy_plain(mmio_file *in, mmio_file *out, mmio_error *err);

/* Whether system error CODE says a buffer could not be read (EFAULT): for
 * a write from a mapped window, a page of the input that failed. */
int mmio_bad_address(int code);

/* Moves the file position of F to OFFSET (ignored where F has none). */
void mmio_seek(mmio_file *f, uint64_t offset);

/* The backend's half of an arena: reserve SIZE bytes (a page multiple)
 * of address space, NULL when it cannot; make [START, START+SIZE) usable,
 * -1 when it cannot; give the reservation back. */
void *mmio_os_reserve(size_t size);
int mmio_os_commit(void *start, size_t size);
void mmio_os_release(void *base, size_t size);

/* Read buffer size for streams, and the step an arena grows by. */
#define MMIO_STREAM_BUFFER ((size_t)128 * 1024)
#define MMIO_ARENA_STEP ((size_t)1 << 20)
/* What a stream's load reserves first when the address space is too
 * tight for MMIO_DEFAULT_RESERVE; it doubles as it fills. */
#define MMIO_SMALL_RESERVE ((size_t)16 << 20)

#endif
