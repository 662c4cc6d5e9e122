/* Finding the bytes of a small set in a buffer, 64 bytes at a time: the
 * set is "every byte below BELOW (as a signed char) and the bytes EQ[]".
 * SSE2 where the compiler targets it, a table elsewhere. */
#ifndef BYTESCAN_H
#define BYTESCAN_H

#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

struct bytescan {
    signed char below; /* -128 for none */
    unsigned char eq[3];
    unsigned char in_set[256];
};

/* A set of the bytes EQ0..EQ2 (repeat one to use fewer) and every byte
 * that is below BELOW taken as a signed char: BELOW 0x20 takes the C0
 * controls and every byte from 0x80 up. */
static inline void bytescan_init(struct bytescan *s, signed char below,
                                 unsigned char eq0, unsigned char eq1,
                                 unsigned char eq2)
{
    s->below = below;
    s->eq[0] = eq0;
    s->eq[1] = eq1;
    s->eq[2] = eq2;
    for (int b = 0; b < 256; b++)
        s->in_set[b] = (signed char)b < below || b == eq0 || b == eq1
                       || b == eq2;
}

/* The set in the form the scanning loop wants it: in registers. */
struct bytescan_regs {
#ifdef __SSE2__
    __m128i below, eq0, eq1, eq2;
    int extra; /* 0: EQ0 alone; 1: and BELOW; 2: all four tests */
#endif
    const unsigned char *in_set;
};

static inline void bytescan_load(struct bytescan_regs *r,
                                 const struct bytescan *s)
{
#ifdef __SSE2__
    r->below = _mm_set1_epi8(s->below);
    r->eq0 = _mm_set1_epi8((char)s->eq[0]);
    r->eq1 = _mm_set1_epi8((char)s->eq[1]);
    r->eq2 = _mm_set1_epi8((char)s->eq[2]);
    r->extra = s->eq[1] != s->eq[0] || s->eq[2] != s->eq[0] ? 2
               : s->below != -128;
#endif
    r->in_set = s->in_set;
}

#ifdef __SSE2__
static inline uint64_t bytescan_mask16(const struct bytescan_regs *r,
                                       const unsigned char *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i hit = _mm_cmpeq_epi8(v, r->eq0);

    if (r->extra > 0)
        hit = _mm_or_si128(hit, _mm_cmplt_epi8(v, r->below));
    if (r->extra > 1)
        hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmpeq_epi8(v, r->eq1),
                                             _mm_cmpeq_epi8(v, r->eq2)));
    return (uint64_t)(unsigned)_mm_movemask_epi8(hit);
}

/* Bit I of the result is set when P[I] is in the set; P has 64 bytes. */
static inline uint64_t bytescan_mask64(const struct bytescan_regs *r,
                                       const unsigned char *p)
{
    return bytescan_mask16(r, p) | bytescan_mask16(r, p + 16) << 16
           | bytescan_mask16(r, p + 32) << 32 | bytescan_mask16(r, p + 48) << 48;
}
#else
static inline uint64_t bytescan_mask64(const struct bytescan_regs *r,
                                       const unsigned char *p)
{
    uint64_t mask = 0;

    for (int i = 0; i < 64; i++)
        mask |= (uint64_t)r->in_set[p[i]] << i;
    return mask;
}
#endif

/* The number of bits set in MASK.  Inline: without -mpopcnt (not in the
 * x86-64 baseline) __builtin_popcountll is a call into libgcc, which cost
 * mmcat's line counting more than the scan itself. */
static inline unsigned bytescan_count(uint64_t mask)
{
#ifdef __POPCNT__
    return (unsigned)__builtin_popcountll(mask);
#else
    mask -= mask >> 1 & 0x5555555555555555ull;
    mask = (mask & 0x3333333333333333ull) + (mask >> 2 & 0x3333333333333333ull);
    mask = (mask + (mask >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((mask * 0x0101010101010101ull) >> 56);
#endif
}

/* The same for the N (< 64) bytes at P, without reading past them. */
static inline uint64_t bytescan_mask_tail(const struct bytescan_regs *r,
                                          const unsigned char *p, size_t n)
{
    uint64_t mask = 0;

    for (size_t i = 0; i < n; i++)
        mask |= (uint64_t)r->in_set[p[i]] << i;
    return mask;
}

/* The mask of the first N bytes at P, or of 64 when N is more, without
 * reading past them. */
static inline uint64_t bytescan_mask_upto(const struct bytescan_regs *r,
                                          const unsigned char *p, size_t n)
{
    return n >= 64 ? bytescan_mask64(r, p) : bytescan_mask_tail(r, p, n);
}

/* How far ahead of a scan its input is asked for: a processor fetches
 * ahead by itself only within a page, so a scan through a mapping would
 * wait on memory at every page start. */
#define BYTESCAN_AHEAD 4096

/* Asks for the input BYTESCAN_AHEAD bytes past P; never faults, even past
 * the end of a mapping (an address, not a pointer C would have to allow). */
static inline void bytescan_prefetch(const unsigned char *p)
{
    __builtin_prefetch((const void *)((uintptr_t)p + BYTESCAN_AHEAD));
}

/* Walks the bytes of the set in [P, END) one by one, in order. */
struct bytescan_cursor {
    struct bytescan_regs set;
    const unsigned char *block; /* the 64 bytes MASK describes */
    const unsigned char *end;
    uint64_t mask;              /* hits in BLOCK not yet returned */
};

static inline void bytescan_start(struct bytescan_cursor *c,
                                  const struct bytescan *set,
                                  const unsigned char *p,
                                  const unsigned char *end)
{
    bytescan_load(&c->set, set);
    c->end = end;
    c->block = p;
    c->mask = bytescan_mask_upto(&c->set, p, (size_t)(end - p));
}

/* The next byte of the set, or END when there is none. */
static inline const unsigned char *bytescan_next(struct bytescan_cursor *c)
{
    while (c->mask == 0) {
        c->block += 64;
        if (c->block >= c->end)
            return c->end;
        bytescan_prefetch(c->block);
        c->mask = bytescan_mask_upto(&c->set, c->block,
                                     (size_t)(c->end - c->block));
    }
    const unsigned char *hit = c->block + __builtin_ctzll(c->mask);
    c->mask &= c->mask - 1;
    return hit;
}

#endif
