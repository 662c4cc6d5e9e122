/* Character encodings: ASCII, Latin-1 and the UTFs, converted one to
 * another as glibc's iconv converts them, in pieces that can be cut at
 * character boundaries and converted apart (on several threads), or
 * only measured, to size an output before writing it. */
#ifndef ENCODING_H
#define ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum encoding {
    ENC_ASCII, ENC_LATIN1, ENC_UTF8,
    ENC_UTF16LE, ENC_UTF16BE, ENC_UTF32LE, ENC_UTF32BE,
    ENC_UTF16, ENC_UTF32, /* input: the byte-order mark decides */
    ENC_COUNT
};

/* The encoding named NAME (iconv's spellings, any case, an optional
 * trailing "//"), or -1. */
int encoding_find(const char *name);

/* Its canonical name ("UTF-16LE"), and the other names it goes by,
 * separated by spaces. */
const char *encoding_name(enum encoding e);
const char *encoding_aliases(enum encoding e);

/* The size of its code unit: 1, 2 or 4 bytes. */
unsigned encoding_unit(enum encoding e);

/* The byte-order mark of E written out (UTF-16 and UTF-32 as their
 * little-endian forms): its length, 0 for ASCII and Latin-1. */
size_t encoding_bom(enum encoding e, unsigned char bom[4]);

/* UTF-16 or UTF-32 input whose first bytes are HEAD (N of them): the
 * endianness their byte-order mark gives (little-endian without one, as
 * glibc's iconv reads it), and in *SKIP the length of that mark. */
enum encoding encoding_resolve(enum encoding e, const unsigned char *head,
                               size_t n, size_t *skip);

/* What happens to a character that cannot be converted. */
enum conv_policy {
    CONV_STOP,    /* the conversion stops there */
    CONV_SKIP,    /* it is left out (iconv -c) */
    CONV_REPLACE  /* it becomes U+FFFD, or '?' in ASCII and Latin-1 */
};

/* Why a conversion stopped. */
enum conv_fault {
    CONV_OK,
    CONV_INVALID,         /* a byte sequence that is no character */
    CONV_SURROGATE,       /* a UTF-16 surrogate without its other half */
    CONV_INCOMPLETE,      /* the input ends inside a character */
    CONV_UNREPRESENTABLE, /* the target has no such character */
    CONV_FULL             /* the output has no room left */
};

/* How a piece of input ends. */
enum conv_end {
    CONV_MORE, /* more follows: a character cut by the end is left over */
    CONV_CUT,  /* the next byte starts a character: a cut one is invalid */
    CONV_END   /* the input ends: a cut one is incomplete */
};

struct conv {
    enum encoding from, to;  /* from: not ENC_UTF16 or ENC_UTF32 */
    enum conv_policy policy;
    bool vector;             /* use vector instructions the CPU has */
};

struct conv_stop {
    enum conv_fault fault;
    size_t at;               /* the offset in the piece where it stopped */
    uint32_t cp;             /* CONV_UNREPRESENTABLE: the character */
};

/* Converts the N bytes at IN into OUT, up to OUT_END; with OUT NULL only
 * counts.  Returns the bytes written (or counted) and sets *USED to the
 * bytes of IN consumed: all of them, unless STOP says why not. */
size_t conv_run(const struct conv *c, const unsigned char *in, size_t n,
                enum conv_end end, unsigned char *out,
                const unsigned char *out_end, size_t *used,
                struct conv_stop *stop);

/* When every character the conversion takes makes MUL / DIV bytes of
 * output for each byte of input (ASCII into UTF-16: 2 / 1), true with
 * *MUL and *DIV: the size of a valid input's output is known from its
 * size alone. */
bool conv_fixed_ratio(const struct conv *c, unsigned *mul, unsigned *div);

/* The size of the output of the N bytes at IN as if they were valid, for
 * the conversions where that is much quicker found than by converting
 * (UTF-8 into UTF-16 or UTF-32, stopping at faults): true with *SIZE.
 * For valid input it is what conv_run makes; for invalid input, no less
 * than what conv_run makes before the fault that stops it. */
bool conv_valid_size(const struct conv *c, const unsigned char *in,
                     size_t n, uint64_t *size);

/* The most bytes one input byte can become (a byte-order mark aside). */
size_t conv_max_growth(const struct conv *c);

/* A character boundary of the N bytes at IN at or at most 7 bytes before
 * AT (< N), so that pieces cut there convert as the whole does. */
size_t conv_boundary(enum encoding from, const unsigned char *in, size_t n,
                     size_t at);

#endif
