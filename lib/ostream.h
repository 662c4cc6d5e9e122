/* An output stream for every tool that writes standard output: the tool
 * fills buffers while a thread of the stream's own writes the ones
 * already filled, in order, into a pipe grown by mmio_output_prepare.
 * HACKING.md says why plain writes, not vmsplice. */
#ifndef OSTREAM_H
#define OSTREAM_H

#include <stddef.h>

#include "mmio.h"

struct ostream;

/* A stream writing to FILE through COUNT buffers (2 to 8) of CAPACITY
 * bytes each; NULL when there is no memory for them.  Without a second
 * processor, or when no thread can be started, submitted buffers are
 * written at once, on the caller's thread. */
struct ostream *ostream_new(mmio_file *file, size_t capacity, unsigned count,
                            mmio_error *err);

/* A free buffer of the stream's capacity, its content undefined, waiting
 * for one to be written if need be; NULL once a write has failed (ERR
 * says why).  Several may be held at once; they are written in the order
 * they are submitted, not taken. */
unsigned char *ostream_take(struct ostream *o, mmio_error *err);

/* Queues the first SIZE bytes of BUF, which ostream_take gave, for
 * writing; BUF goes back to the stream.  Returns -1 once a write has
 * failed. */
int ostream_submit(struct ostream *o, unsigned char *buf, size_t size,
                   mmio_error *err);

/* Waits until everything submitted is written; -1 when a write failed. */
int ostream_drain(struct ostream *o, mmio_error *err);

/* Writes what is queued, ends the writer and frees the stream (NULL is
 * allowed); -1 when a write failed. */
int ostream_free(struct ostream *o, mmio_error *err);

/* The same, ending the program through tool_write_failed on failure. */
unsigned char *xostream_take(struct ostream *o);
void xostream_submit(struct ostream *o, unsigned char *buf, size_t size);
void xostream_drain(struct ostream *o);

#endif
