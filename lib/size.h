/* Sizes as users write them on the command line: a whole number with an
 * optional unit. */
#ifndef SIZE_H
#define SIZE_H

#include <stdint.h>

/* Reads TEXT as a size: decimal digits and an optional unit, K, M, G, T, P
 * or E for powers of 1024 (KiB, MiB... too) and KB, MB, GB, TB, PB, EB for
 * powers of 1000.  Returns 0 with *VALUE, or -1 for anything else or a
 * size past UINT64_MAX. */
int parse_size(const char *text, uint64_t *value);

#endif
