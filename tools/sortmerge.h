/* Merging sorted texts as a stream, in memory that does not grow with
 * them: mmsort's last step when the input is larger than its budget. */
#ifndef SORTMERGE_H
#define SORTMERGE_H

#include <stddef.h>

#include "sortkey.h"
#include "sortlines.h"

/* Merges the COUNT sorted TEXTS (lines ending in SPEC's line end, the
 * last one perhaps without) as SPEC orders them: of equal lines, those of
 * an earlier text first, and with SPEC's -u only the first of them.
 * Calls EMIT(CTX, LINE) for each line, in order.  Reads the texts: a
 * caller whose texts are mapped runs it inside mmio_guard. */
void merge_texts(const struct sort_spec *spec, const struct text_range *texts,
                 size_t count, void (*emit)(void *ctx, const struct line *line),
                 void *ctx);

#endif
