/* Sizes and counts given on the command line, parsed as GNU's xstrtoumax
 * parses them, for every tool that takes one. */
#ifndef SIZE_H
#define SIZE_H

#include <stdbool.h>
#include <stdint.h>

enum size_status {
    SIZE_OK,
    SIZE_INVALID,    /* no number at all, or a negative one */
    SIZE_BAD_SUFFIX, /* a number followed by what is not a suffix */
    SIZE_TOO_LARGE   /* more than 64 bits hold */
};

/* A size: AMOUNT bytes, or AMOUNT percent of physical memory. */
struct size_value {
    uint64_t amount;
    bool percent;
};

/* Parses a count in decimal at the start of TEXT: leading white space and
 * a '+' are allowed, a '-' is not.  Sets *END after the digits; on
 * overflow *VALUE is UINT64_MAX and the status SIZE_TOO_LARGE. */
enum size_status size_parse_count(const char *text, uint64_t *value,
                                  const char **end);

/* Parses all of TEXT as a size: a count and one optional suffix, k K m M
 * g G t T P E Z Y (powers of 1024), b (bytes) or % (of physical memory).
 * A bare count is in units of DEFAULT_UNIT bytes (GNU sort -S: 1024). */
enum size_status size_parse(const char *text, uint64_t default_unit,
                            struct size_value *value);

#endif
