/* mmsort's record sorts: fixed-size records ordered by a key of bytes,
 * integers or floats, sorted where they lie by an American flag sort (an
 * in-place MSD radix sort) on the key's digits, or for -s and -u through
 * a stable sort of an index; both on threads. */
#ifndef RECORDSORT_H
#define RECORDSORT_H

#include <stdbool.h>
#include <stddef.h>

#include "mmio.h"

/* How a key type reads its bytes: WIDTH 0 is plain bytes. */
struct key_type {
    const char *name;
    unsigned width;
    bool little_endian, is_signed, is_float;
};

/* bytes, u8, i8, u16le ... f64be, in the order of mmsort(1). */
extern const struct key_type key_types[];
extern const size_t key_type_count;

/* How records compare: by the key's digits, then (without -s or -u) by
 * all their bytes; every digit complemented for -r. */
struct record_order {
    size_t record;          /* bytes a record */
    size_t key_offset, key_size;
    const struct key_type *type;
    unsigned char flip;     /* 0xff with -r */
    bool key_only;          /* -s, -u: no tie-break by the whole record */
    size_t depth;           /* how many digits there are */
};

/* A and B in the order of O, -r included: negative, 0 or positive. */
int record_compare(const struct record_order *o, const unsigned char *a,
                   const unsigned char *b);

/* Sorts the N records at BASE as O orders them, on up to THREADS threads,
 * each part inside mmio_guard.  With O->KEY_ONLY equal keys keep their
 * input order; with UNIQUE too, only the first of each key is kept, at
 * the front.  *KEPT is how many records are left in order.  Returns 0,
 * -1 on a fault in mapped memory (ERR says), -2 when out of memory. */
int record_sort(const struct record_order *o, unsigned char *base, size_t n,
                unsigned threads, bool unique, size_t *kept, mmio_error *err);

#endif
