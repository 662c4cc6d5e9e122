/* Character encodings converted as glibc's iconv converts them: a vector
 * loop for runs of ASCII (SSE2 where the compiler targets it, eight bytes
 * in a 64-bit word elsewhere), one character at a time for the rest, and
 * UTF-8 into UTF-16LE up to 16 characters at a time with AVX-512 where the
 * processor has it. */
#include <config.h>

#include <string.h>

#include "encoding.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_UTF8_VBMI2 1
#define VBMI2 \
    __attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi2")))
#endif

/* ---- Names ----------------------------------------------------------------- */

static const struct {
    const char *name;
    const char *aliases;
    unsigned unit;
} encodings[ENC_COUNT] = {
    { "ASCII", "US-ASCII ANSI_X3.4-1968 ANSI_X3.4-1986 ISO646-US US CP367 "
               "IBM367 CSASCII", 1 },
    { "ISO-8859-1", "LATIN1 L1 ISO8859-1 ISO_8859-1 ISO_8859-1:1987 CP819 "
                    "IBM819 ISO-IR-100 CSISOLATIN1", 1 },
    { "UTF-8", "UTF8", 1 },
    { "UTF-16LE", "UTF16LE", 2 },
    { "UTF-16BE", "UTF16BE", 2 },
    { "UTF-32LE", "UTF32LE", 4 },
    { "UTF-32BE", "UTF32BE", 4 },
    { "UTF-16", "UTF16", 2 },
    { "UTF-32", "UTF32", 4 },
};

static int ascii_lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* Whether the LEN bytes at A and at B are the same letters, in any case. */
static bool same_letters(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
            return false;
    return true;
}

/* Whether NAME (LEN bytes) is one of the space-separated WORDS. */
static bool in_words(const char *name, size_t len, const char *words)
{
    while (*words) {
        size_t n = strcspn(words, " ");
        if (n == len && same_letters(words, name, n))
            return true;
        words += n + (words[n] == ' ');
    }
    return false;
}

int encoding_find(const char *name)
{
    size_t len = strlen(name);

    /* iconv's NAME// (no transliteration or error suffix after it). */
    if (len > 2 && name[len - 1] == '/' && name[len - 2] == '/')
        len -= 2;
    for (int e = 0; e < ENC_COUNT; e++)
        if (in_words(name, len, encodings[e].name)
            || in_words(name, len, encodings[e].aliases))
            return e;
    return -1;
}

const char *encoding_name(enum encoding e)
{
    return encodings[e].name;
}

const char *encoding_aliases(enum encoding e)
{
    return encodings[e].aliases;
}

unsigned encoding_unit(enum encoding e)
{
    return encodings[e].unit;
}

size_t encoding_bom(enum encoding e, unsigned char bom[4])
{
    static const unsigned char marks[][4] = {
        [ENC_UTF8] = { 0xef, 0xbb, 0xbf },
        [ENC_UTF16LE] = { 0xff, 0xfe }, [ENC_UTF16BE] = { 0xfe, 0xff },
        [ENC_UTF32LE] = { 0xff, 0xfe, 0, 0 },
        [ENC_UTF32BE] = { 0, 0, 0xfe, 0xff },
        [ENC_UTF16] = { 0xff, 0xfe }, [ENC_UTF32] = { 0xff, 0xfe, 0, 0 },
    };

    if (e == ENC_ASCII || e == ENC_LATIN1)
        return 0;
    memcpy(bom, marks[e], 4);
    return e == ENC_UTF8 ? 3 : encodings[e].unit;
}

enum encoding encoding_resolve(enum encoding e, const unsigned char *head,
                               size_t n, size_t *skip)
{
    *skip = 0;
    if (e == ENC_UTF16 && n >= 2) {
        *skip = 2;
        if (head[0] == 0xff && head[1] == 0xfe)
            return ENC_UTF16LE;
        if (head[0] == 0xfe && head[1] == 0xff)
            return ENC_UTF16BE;
    }
    if (e == ENC_UTF32 && n >= 4) {
        static const unsigned char le[4] = { 0xff, 0xfe, 0, 0 };
        static const unsigned char be[4] = { 0, 0, 0xfe, 0xff };
        *skip = 4;
        if (memcmp(head, le, 4) == 0)
            return ENC_UTF32LE;
        if (memcmp(head, be, 4) == 0)
            return ENC_UTF32BE;
    }
    *skip = 0;
    return e == ENC_UTF16 ? ENC_UTF16LE : e == ENC_UTF32 ? ENC_UTF32LE : e;
}

/* ---- One character --------------------------------------------------------- */

/* What decode() puts in *CP for bytes that are no character. */
#define BAD_SEQUENCE  0x80000000u
#define BAD_SURROGATE 0x80000001u

/* The UTF-8 character at P (N > 0 bytes): its length, or the length of
 * the longest start of one there (Unicode's "maximal subpart") with *CP
 * BAD_SEQUENCE, or 0 when the N bytes are a start that N cuts. */
static inline size_t utf8_decode(const unsigned char *p, size_t n,
                                 uint32_t *cp)
{
    unsigned b = p[0], lo = 0x80, hi = 0xbf;
    size_t len;
    uint32_t c;

    *cp = BAD_SEQUENCE;
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b < 0xc2 || b > 0xf4)
        return 1;
    if (b < 0xe0) {
        len = 2, c = b & 0x1f;
    } else if (b < 0xf0) {
        len = 3, c = b & 0x0f;
        lo = b == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
        hi = b == 0xed ? 0x9f : 0xbf; /* no surrogates */
    } else {
        len = 4, c = b & 0x07;
        lo = b == 0xf0 ? 0x90 : 0x80; /* no overlong forms */
        hi = b == 0xf4 ? 0x8f : 0xbf; /* nothing above U+10FFFF */
    }
    for (size_t i = 1; i < len; i++) {
        if (i >= n)
            return 0;
        if (p[i] < lo || p[i] > hi)
            return i;
        lo = 0x80, hi = 0xbf;
        c = c << 6 | (p[i] & 0x3f);
    }
    *cp = c;
    return len;
}

static inline unsigned load16(const unsigned char *p, bool big)
{
    return big ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static inline uint32_t load32(const unsigned char *p, bool big)
{
    return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | p[2] << 8 | p[3]
               : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | p[1] << 8 | p[0];
}

/* The UTF-16 character at P, as utf8_decode; an unpaired surrogate is
 * BAD_SURROGATE, on its own 2 bytes. */
static inline size_t utf16_decode(const unsigned char *p, size_t n,
                                  uint32_t *cp, bool big)
{
    unsigned u, v;

    if (n < 2)
        return 0;
    u = load16(p, big);
    *cp = u;
    if (u < 0xd800 || u > 0xdfff)
        return 2;
    *cp = BAD_SURROGATE;
    if (u >= 0xdc00)
        return 2;
    if (n < 4)
        return 0;
    v = load16(p + 2, big);
    if (v < 0xdc00 || v > 0xdfff)
        return 2;
    *cp = 0x10000 + ((uint32_t)(u - 0xd800) << 10) + (v - 0xdc00);
    return 4;
}

static inline size_t utf32_decode(const unsigned char *p, size_t n,
                                  uint32_t *cp, bool big)
{
    if (n < 4)
        return 0;
    *cp = load32(p, big);
    if (*cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        *cp = BAD_SEQUENCE;
    return 4;
}

/* The character at P in FROM, as utf8_decode. */
static inline size_t decode(enum encoding from, const unsigned char *p,
                            size_t n, uint32_t *cp)
{
    switch (from) {
    case ENC_ASCII:
        *cp = p[0] < 0x80 ? p[0] : BAD_SEQUENCE;
        return 1;
    case ENC_LATIN1:
        *cp = p[0];
        return 1;
    case ENC_UTF8:
        return utf8_decode(p, n, cp);
    case ENC_UTF16LE: case ENC_UTF16:
        return utf16_decode(p, n, cp, false);
    case ENC_UTF16BE:
        return utf16_decode(p, n, cp, true);
    case ENC_UTF32LE: case ENC_UTF32:
        return utf32_decode(p, n, cp, false);
    case ENC_UTF32BE: default:
        return utf32_decode(p, n, cp, true);
    }
}

/* How many bytes CP takes in TO; 0 when TO has no such character. */
static inline size_t encoded_length(enum encoding to, uint32_t cp)
{
    switch (to) {
    case ENC_ASCII:
        return cp < 0x80;
    case ENC_LATIN1:
        return cp < 0x100;
    case ENC_UTF8:
        return 1 + (cp >= 0x80) + (cp >= 0x800) + (cp >= 0x10000);
    case ENC_UTF16LE: case ENC_UTF16BE: case ENC_UTF16:
        return cp >= 0x10000 ? 4 : 2;
    default:
        return 4;
    }
}

static inline unsigned char *store16(unsigned char *o, unsigned u, bool big)
{
    o[big] = (unsigned char)u;
    o[!big] = (unsigned char)(u >> 8);
    return o + 2;
}

static inline unsigned char *utf16_encode(unsigned char *o, uint32_t cp,
                                          bool big)
{
    if (cp < 0x10000)
        return store16(o, cp, big);
    cp -= 0x10000;
    o = store16(o, 0xd800 + (cp >> 10), big);
    return store16(o, 0xdc00 + (cp & 0x3ff), big);
}

static inline unsigned char *utf8_encode(unsigned char *o, uint32_t cp)
{
    if (cp < 0x80) {
        *o++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *o++ = (unsigned char)(0xc0 | cp >> 6);
        *o++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (unsigned char)(0xe0 | cp >> 12);
        *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        *o++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (unsigned char)(0xf0 | cp >> 18);
        *o++ = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
        *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        *o++ = (unsigned char)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* Writes CP (which TO can represent) at O; returns the end. */
static inline unsigned char *encode(enum encoding to, uint32_t cp,
                                    unsigned char *o)
{
    switch (to) {
    case ENC_ASCII: case ENC_LATIN1:
        *o = (unsigned char)cp;
        return o + 1;
    case ENC_UTF8:
        return utf8_encode(o, cp);
    case ENC_UTF16LE: case ENC_UTF16:
        return utf16_encode(o, cp, false);
    case ENC_UTF16BE:
        return utf16_encode(o, cp, true);
    case ENC_UTF32BE:
        o[0] = 0, o[1] = (unsigned char)(cp >> 16);
        o[2] = (unsigned char)(cp >> 8), o[3] = (unsigned char)cp;
        return o + 4;
    default:
        o[0] = (unsigned char)cp, o[1] = (unsigned char)(cp >> 8);
        o[2] = (unsigned char)(cp >> 16), o[3] = 0;
        return o + 4;
    }
}

/* ---- Characters one at a time ---------------------------------------------- */

/* Where a conversion is: the input consumed, the output made. */
struct cursor {
    size_t i;           /* into the input */
    unsigned char *o;   /* into the output; NULL when only counting */
    size_t counted;     /* the bytes made, when only counting */
};

/* The fault of a character that the end of a piece cuts. */
static enum conv_fault cut_fault(enum encoding from, enum conv_end end)
{
    if (end == CONV_END)
        return CONV_INCOMPLETE;
    return encoding_unit(from) == 2 ? CONV_SURROGATE : CONV_INVALID;
}

/* The fault of the character CP of LEN bytes (0: cut by the end). */
static inline enum conv_fault char_fault(const struct conv *c, size_t len,
                                         uint32_t cp, enum conv_end end)
{
    if (len == 0)
        return cut_fault(c->from, end);
    if (cp >= BAD_SEQUENCE)
        return cp == BAD_SURROGATE ? CONV_SURROGATE : CONV_INVALID;
    return encoded_length(c->to, cp) ? CONV_OK : CONV_UNREPRESENTABLE;
}

/* Whether the N bytes at P, the last of the piece, are what glibc's iconv
 * takes for a character cut by the end, though no character starts so:
 * a lead of the old UTF-8 of up to 6 bytes (C2-FD) with fewer bytes of
 * 10xxxxxx after it than it announces.  iconv then says "incomplete",
 * also for E0 80 or F8 80, which no more bytes could make valid. */
static bool utf8_cut_as_iconv_sees(const unsigned char *p, size_t n)
{
    unsigned b = p[0];
    size_t announced = b < 0xc2 ? 0 : b < 0xe0 ? 2 : b < 0xf0 ? 3
                       : b < 0xf8 ? 4 : b < 0xfc ? 5 : b < 0xfe ? 6 : 0;

    if (n >= announced)
        return false;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return false;
    return true;
}

/* Converts characters of the N bytes at IN from K->I while it is below
 * LIMIT.  Returns false when it stopped: at a fault (STOP says which), on
 * a full output, or at a character the end cuts when END is CONV_MORE. */
static inline __attribute__((always_inline)) bool
chars_between(const struct conv *c, enum encoding from, enum encoding to,
              const unsigned char *in, size_t n, size_t limit,
              enum conv_end end, struct cursor *k,
              const unsigned char *out_end, struct conv_stop *stop)
{
    while (k->i < limit) {
        uint32_t cp;
        size_t len = decode(from, in + k->i, n - k->i, &cp);
        enum conv_fault fault = CONV_OK;

        if (__builtin_expect(len == 0 || cp >= BAD_SEQUENCE
                             || (to <= ENC_LATIN1
                                 && !encoded_length(to, cp)), 0)) {
            /* Stopping, the fault is named as iconv names it; -c and
             * --replace still take maximal subparts. */
            if (c->policy == CONV_STOP && from == ENC_UTF8 && len != 0
                && cp == BAD_SEQUENCE
                && utf8_cut_as_iconv_sees(in + k->i, n - k->i))
                len = 0;
            if (len == 0 && end == CONV_MORE)
                return false;
            fault = char_fault(c, len, cp, end);
            if (len == 0)
                len = n - k->i;
            if (c->policy == CONV_STOP) {
                *stop = (struct conv_stop){ fault, k->i, cp };
                return false;
            }
            if (c->policy == CONV_SKIP) {
                k->i += len;
                continue;
            }
            cp = to <= ENC_LATIN1 ? '?' : 0xfffd;
        }
        if (!k->o) {
            k->counted += encoded_length(to, cp);
        } else if ((size_t)(out_end - k->o) < encoded_length(to, cp)) {
            *stop = (struct conv_stop){ CONV_FULL, k->i, cp };
            return false;
        } else {
            k->o = encode(to, cp, k->o);
        }
        k->i += len;
    }
    return true;
}

/* chars_between for the pairs worth a loop of their own. */
#define CHARS_PAIR(name, from, to)                                          \
    static bool name(const struct conv *c, const unsigned char *in,        \
                     size_t n, size_t limit, enum conv_end end,            \
                     struct cursor *k, const unsigned char *out_end,       \
                     struct conv_stop *stop)                               \
    {                                                                      \
        return chars_between(c, from, to, in, n, limit, end, k, out_end,   \
                             stop);                                        \
    }
CHARS_PAIR(chars_utf16le_utf8, ENC_UTF16LE, ENC_UTF8)

/* Converts UTF-8 into UTF-16 from K->I while it is valid and LIMIT, the
 * output and the last 3 bytes of the input are not near: the common case
 * without the general loop's questions.  Stops before anything else. */
static inline void utf8_utf16_run(const unsigned char *in, size_t n,
                                  size_t limit, struct cursor *k,
                                  const unsigned char *out_end, bool big)
{
    size_t i = k->i, stop = n > 3 ? n - 3 : 0, units = 0;
    unsigned char *o = k->o;

    if (limit < stop)
        stop = limit;
    while (i < stop && (!o || out_end - o >= 4)) {
        unsigned b = in[i], t1 = in[i + 1], t2 = in[i + 2], t3 = in[i + 3];
        uint32_t cp;
        size_t len;

        if (b < 0x80) {
            cp = b, len = 1;
        } else if (b < 0xe0) {
            if (b < 0xc2 || (t1 & 0xc0) != 0x80)
                break;
            cp = (b & 0x1f) << 6 | (t1 & 0x3f), len = 2;
        } else if (b < 0xf0) {
            if (((t1 & 0xc0) ^ 0x80) | ((t2 & 0xc0) ^ 0x80))
                break;
            cp = (b & 0x0f) << 12 | (t1 & 0x3f) << 6 | (t2 & 0x3f), len = 3;
            if (cp < 0x800 || (cp & 0xf800) == 0xd800)
                break;
        } else {
            if (b > 0xf4 || (((t1 & 0xc0) ^ 0x80) | ((t2 & 0xc0) ^ 0x80)
                             | ((t3 & 0xc0) ^ 0x80)))
                break;
            cp = (uint32_t)(b & 0x07) << 18 | (t1 & 0x3f) << 12
                 | (t2 & 0x3f) << 6 | (t3 & 0x3f);
            if (cp < 0x10000 || cp > 0x10ffff)
                break;
            len = 4;
        }
        if (o)
            o = utf16_encode(o, cp, big);
        else
            units += 1 + (cp >= 0x10000);
        i += len;
    }
    k->i = i;
    k->o = o;
    k->counted += 2 * units;
}

#ifdef HAVE_UTF8_VBMI2
/* The code points of the characters whose leads are at START (byte
 * offsets into BYTES) and whose lengths are LEN; *BAD marks those that
 * are not valid UTF-8: a length other than the lead's, a lead past 0xF4,
 * an overlong form, a surrogate or a code point past U+10FFFF. */
VBMI2 static __m512i utf8_decode16(__m512i bytes, __m512i start, __m512i len,
                                   __mmask16 *bad)
{
    /* By length (1-4; others are bad anyway): the lead's payload bits,
     * the shift that drops the continuation bytes the length has not, and
     * the smallest code point (shorter forms are overlong). */
    const __m512i lead_bits = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                               0, 0x07, 0x0f, 0x1f, 0x7f, 0);
    const __m512i drop = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                          0, 6, 12, 18, 0);
    const __m512i shortest = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                              0, 0x10000, 0x800, 0x80, 0, 0);
    const __m512i one = _mm512_set1_epi32(1), low6 = _mm512_set1_epi32(0x3f);
    /* The length a lead says: one byte, one more from each of these on. */
    static const int longer_from[3] = { 0xc0, 0xe0, 0xf0 };
    /* Each character's 4 bytes from its lead on, the lead lowest. */
    __m512i pick = _mm512_add_epi32(
        _mm512_mullo_epi32(start, _mm512_set1_epi32(0x01010101)),
        _mm512_set1_epi32(0x03020100));
    __m512i ch = _mm512_permutexvar_epi8(pick, bytes);
    __m512i lead = _mm512_and_si512(ch, _mm512_set1_epi32(0xff));
    __m512i said = one, cp, c1, c2, c3;

    for (int i = 0; i < 3; i++) {
        __m512i from = _mm512_set1_epi32(longer_from[i]);
        said = _mm512_mask_add_epi32(
            said, _mm512_cmpge_epu32_mask(lead, from), said, one);
    }
    /* As if 4 bytes long, then the bytes the length has not shifted out. */
    c1 = _mm512_and_si512(_mm512_srli_epi32(ch, 8), low6);
    c2 = _mm512_and_si512(_mm512_srli_epi32(ch, 16), low6);
    c3 = _mm512_and_si512(_mm512_srli_epi32(ch, 24), low6);
    cp = _mm512_and_si512(lead, _mm512_permutexvar_epi32(len, lead_bits));
    cp = _mm512_or_si512(_mm512_slli_epi32(cp, 18), _mm512_slli_epi32(c1, 12));
    cp = _mm512_or_si512(cp, _mm512_or_si512(_mm512_slli_epi32(c2, 6), c3));
    cp = _mm512_srlv_epi32(cp, _mm512_permutexvar_epi32(len, drop));
    *bad = _mm512_cmpneq_epi32_mask(len, said)
           | _mm512_cmpgt_epu32_mask(lead, _mm512_set1_epi32(0xf4))
           | _mm512_cmplt_epu32_mask(cp,
                                     _mm512_permutexvar_epi32(len, shortest))
           | _mm512_cmpgt_epu32_mask(cp, _mm512_set1_epi32(0x10ffff))
           | _mm512_cmpeq_epi32_mask(
                 _mm512_and_si512(cp, _mm512_set1_epi32(0x1ff800)),
                 _mm512_set1_epi32(0xd800));
    return cp;
}

/* Writes the LIVE code points of CP at O as UTF-16LE, up to 64 bytes;
 * returns the bytes that count. */
VBMI2 static size_t utf16le_store16(__m512i cp, __mmask16 live,
                                    unsigned char *o)
{
    const __m512i plane1 = _mm512_set1_epi32(0x10000);
    /* Past the BMP: a pair, the high surrogate in the low half. */
    __mmask16 astral = _mm512_cmpge_epu32_mask(cp, plane1) & live;
    __m512i v = _mm512_sub_epi32(cp, plane1);
    __m512i high = _mm512_or_si512(_mm512_srli_epi32(v, 10),
                                   _mm512_set1_epi32(0xd800));
    __m512i low = _mm512_or_si512(_mm512_and_si512(v, _mm512_set1_epi32(0x3ff)),
                                  _mm512_set1_epi32(0xdc00));
    __m512i pair = _mm512_or_si512(high, _mm512_slli_epi32(low, 16));
    __mmask32 keep = _pdep_u32(live, 0x55555555u)
                     | _pdep_u32(astral, 0xaaaaaaaau);

    cp = _mm512_mask_mov_epi32(cp, astral, pair);
    _mm512_storeu_si512((void *)o, _mm512_maskz_compress_epi16(keep, cp));
    return 2 * (size_t)__builtin_popcount(keep);
}

/* Converts the first 16 characters of the 64 BYTES (fewer when fewer are
 * whole there) into UTF-16LE at O, writing up to 64 bytes.  Returns the
 * input bytes taken, or 0 when they are not all valid UTF-8 (the
 * character loop then finds what is wrong), with *MADE the output bytes. */
VBMI2 static size_t utf8_block_utf16le(__m512i bytes, unsigned char *o,
                                       size_t *made)
{
    const __m512i iota = _mm512_set_epi8(
        63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48,
        47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32,
        31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
        15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    /* Leads: the bytes that are not 10xxxxxx (-64 and above as signed). */
    uint64_t leads = _mm512_cmpge_epi8_mask(bytes, _mm512_set1_epi8(-64));
    unsigned count = (unsigned)__builtin_popcountll(leads), chars;
    unsigned char ends[64];
    __m512i at, next, start, len, cp;
    __mmask16 live, bad;

    if (count < 2 || !(leads & 1)) /* a character must start the block */
        return 0;
    chars = count > 16 ? 16 : count - 1; /* each must end at the next lead */
    live = (__mmask16)((1u << chars) - 1);
    at = _mm512_maskz_compress_epi8(leads, iota);
    next = _mm512_permutexvar_epi8(
        _mm512_add_epi8(iota, _mm512_set1_epi8(1)), at);
    start = _mm512_cvtepu8_epi32(_mm512_castsi512_si128(at));
    len = _mm512_sub_epi32(
        _mm512_cvtepu8_epi32(_mm512_castsi512_si128(next)), start);
    cp = utf8_decode16(bytes, start, len, &bad);
    if (bad & live)
        return 0;
    *made = utf16le_store16(cp, live, o);
    _mm512_storeu_si512((void *)ends, next);
    return ends[chars - 1];
}

/* Converts UTF-8 from K->I into UTF-16LE a block at a time while 64 bytes
 * of input and 128 of output room are left, up to what is not valid. */
VBMI2 static void utf8_blocks_utf16le(const unsigned char *in, size_t n,
                                      struct cursor *k,
                                      const unsigned char *out_end)
{
    size_t i = k->i, made, took;
    unsigned char *o = k->o;

    while (n - i >= 64 && out_end - o >= 128) {
        __m512i bytes = _mm512_loadu_si512((const void *)(in + i));

        if (!_mm512_movepi8_mask(bytes)) { /* ASCII: each byte widened */
            __m256i low = _mm512_castsi512_si256(bytes);
            __m256i high = _mm512_extracti64x4_epi64(bytes, 1);

            _mm512_storeu_si512((void *)o, _mm512_cvtepu8_epi16(low));
            _mm512_storeu_si512((void *)(o + 64), _mm512_cvtepu8_epi16(high));
            i += 64;
            o += 128;
            continue;
        }
        took = utf8_block_utf16le(bytes, o, &made);
        if (!took)
            break;
        i += took;
        o += made;
    }
    k->i = i;
    k->o = o;
}

/* Whether the processor has what the block code uses (and, as
 * __builtin_cpu_supports also asks, the system saves its registers). */
static bool vbmi2_usable(void)
{
    return __builtin_cpu_supports("avx512vbmi2")
           && __builtin_cpu_supports("avx512vbmi")
           && __builtin_cpu_supports("avx512bw")
           && __builtin_cpu_supports("bmi2");
}
#endif

/* UTF-8 into UTF-16LE: blocks of 16 characters with VECTOR, the run
 * above, and the general loop for one character where they stop. */
static inline bool utf8_utf16le_chars(const struct conv *c,
                                      const unsigned char *in, size_t n,
                                      size_t limit, enum conv_end end,
                                      struct cursor *k,
                                      const unsigned char *out_end,
                                      struct conv_stop *stop, bool vector)
{
    for (;;) {
#ifdef HAVE_UTF8_VBMI2
        if (vector && k->o)
            utf8_blocks_utf16le(in, n, k, out_end);
#else
        (void)vector;
#endif
        utf8_utf16_run(in, n, limit, k, out_end, false);
        if (k->i >= limit)
            return true;
        if (!chars_between(c, ENC_UTF8, ENC_UTF16LE, in, n, k->i + 1, end,
                           k, out_end, stop))
            return false;
    }
}

static bool chars_utf8_utf16le(const struct conv *c, const unsigned char *in,
                               size_t n, size_t limit, enum conv_end end,
                               struct cursor *k, const unsigned char *out_end,
                               struct conv_stop *stop)
{
    return utf8_utf16le_chars(c, in, n, limit, end, k, out_end, stop, false);
}

#ifdef HAVE_UTF8_VBMI2
static bool chars_utf8_utf16le_vbmi2(const struct conv *c,
                                     const unsigned char *in, size_t n,
                                     size_t limit, enum conv_end end,
                                     struct cursor *k,
                                     const unsigned char *out_end,
                                     struct conv_stop *stop)
{
    return utf8_utf16le_chars(c, in, n, limit, end, k, out_end, stop, true);
}
#endif

static bool chars_any(const struct conv *c, const unsigned char *in,
                      size_t n, size_t limit, enum conv_end end,
                      struct cursor *k, const unsigned char *out_end,
                      struct conv_stop *stop)
{
    return chars_between(c, c->from, c->to, in, n, limit, end, k, out_end,
                         stop);
}

/* ---- Runs of ASCII ---------------------------------------------------------- */

#ifdef __SSE2__
#define BLOCK 16
#else
#define BLOCK 8
#endif

/* Whether the 64 bytes at P are all ASCII. */
static inline bool is_ascii64(const unsigned char *p)
{
    uint64_t any = 0, word;

    for (int j = 0; j < 64; j += 8) {
        memcpy(&word, p + j, 8);
        any |= word;
    }
    return (any & 0x8080808080808080ull) == 0;
}

#ifdef __SSE2__
static inline bool block_is_ascii(const unsigned char *p)
{
    return _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)p)) == 0;
}

static inline void store128(unsigned char *o, __m128i v)
{
    _mm_storeu_si128((__m128i *)(void *)o, v);
}

/* Writes each of the 16 bytes at P as a number of WIDTH bytes at O. */
static inline void block_widen(const unsigned char *p, unsigned char *o,
                               unsigned width, bool big)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i z = _mm_setzero_si128(), lo, hi;

    if (width == 1) {
        store128(o, v);
        return;
    }
    lo = big ? _mm_unpacklo_epi8(z, v) : _mm_unpacklo_epi8(v, z);
    hi = big ? _mm_unpackhi_epi8(z, v) : _mm_unpackhi_epi8(v, z);
    if (width == 2) {
        store128(o, lo);
        store128(o + 16, hi);
    } else if (big) {
        store128(o, _mm_unpacklo_epi16(z, lo));
        store128(o + 16, _mm_unpackhi_epi16(z, lo));
        store128(o + 32, _mm_unpacklo_epi16(z, hi));
        store128(o + 48, _mm_unpackhi_epi16(z, hi));
    } else {
        store128(o, _mm_unpacklo_epi16(lo, z));
        store128(o + 16, _mm_unpackhi_epi16(lo, z));
        store128(o + 32, _mm_unpacklo_epi16(hi, z));
        store128(o + 48, _mm_unpackhi_epi16(hi, z));
    }
}
#else
static inline bool block_is_ascii(const unsigned char *p)
{
    uint64_t word;

    memcpy(&word, p, 8);
    return (word & 0x8080808080808080ull) == 0;
}

static inline void block_widen(const unsigned char *p, unsigned char *o,
                               unsigned width, bool big)
{
    for (int j = 0; j < BLOCK; j++, o += width) {
        memset(o, 0, width);
        o[big ? width - 1 : 0] = p[j];
    }
}
#endif

/* How a run of ASCII converts: each byte widened to WIDTH bytes. */
struct widening {
    bool on;       /* FROM is ASCII, Latin-1 or UTF-8 */
    bool all;      /* every byte widens, not only ASCII (Latin-1 input) */
    unsigned width;
    bool big;
};

static struct widening widening_of(const struct conv *c)
{
    return (struct widening){
        .on = c->from <= ENC_UTF8,
        .all = c->from == ENC_LATIN1 && c->to != ENC_ASCII
               && c->to != ENC_UTF8,
        .width = c->to <= ENC_UTF8 ? 1 : encoding_unit(c->to),
        .big = c->to == ENC_UTF16BE || c->to == ENC_UTF32BE,
    };
}

/* Converts the blocks of ASCII (of any bytes, with W->ALL) from K->I on,
 * up to the first block with another byte. */
static void ascii_blocks(const struct widening *w, const unsigned char *in,
                         size_t n, struct cursor *k,
                         const unsigned char *out_end)
{
    size_t i = k->i, stop = n;
    unsigned char *o = k->o;

    if (!o) {
        for (; i + 64 <= n && (w->all || is_ascii64(in + i)); i += 64)
            ;
        for (; i + BLOCK <= n && (w->all || block_is_ascii(in + i)); i += BLOCK)
            ;
        k->counted += (i - k->i) * w->width;
        k->i = i;
        return;
    }
    if ((size_t)(out_end - o) / w->width < n - i)
        stop = i + (size_t)(out_end - o) / w->width;
    for (; i + BLOCK <= stop && (w->all || block_is_ascii(in + i)); i += BLOCK) {
        block_widen(in + i, o, w->width, w->big);
        o += BLOCK * w->width;
    }
    k->i = i;
    k->o = o;
}

/* ---- Pieces ------------------------------------------------------------------ */

typedef bool chars_fn(const struct conv *c, const unsigned char *in,
                      size_t n, size_t limit, enum conv_end end,
                      struct cursor *k, const unsigned char *out_end,
                      struct conv_stop *stop);

static chars_fn *chars_for(const struct conv *c)
{
    if (c->from == ENC_UTF8 && c->to == ENC_UTF16LE) {
#ifdef HAVE_UTF8_VBMI2
        if (c->vector && vbmi2_usable())
            return chars_utf8_utf16le_vbmi2;
#endif
        return chars_utf8_utf16le;
    }
    if (c->from == ENC_UTF16LE && c->to == ENC_UTF8)
        return chars_utf16le_utf8;
    return chars_any;
}

size_t conv_run(const struct conv *c, const unsigned char *in, size_t n,
                enum conv_end end, unsigned char *out,
                const unsigned char *out_end, size_t *used,
                struct conv_stop *stop)
{
    struct cursor k = { 0, out, 0 };
    struct widening w = widening_of(c);
    chars_fn *chars = chars_for(c);

    *stop = (struct conv_stop){ CONV_OK, 0, 0 };
    while (k.i < n) {
        size_t limit = n;
        if (w.on) {
            ascii_blocks(&w, in, n, &k, out_end);
            /* A few characters one at a time, then blocks again. */
            limit = n - k.i > 4 * BLOCK ? k.i + 4 * BLOCK : n;
        }
        if (k.i < n && !chars(c, in, n, limit, end, &k, out_end, stop))
            break;
    }
    *used = k.i;
    return out ? (size_t)(k.o - out) : k.counted;
}

bool conv_fixed_ratio(const struct conv *c, unsigned *mul, unsigned *div)
{
    /* Output units: ASCII and Latin-1 characters are single bytes in
     * ASCII, Latin-1 and UTF-8 (ASCII only there); every character has a
     * 4-byte form in UTF-32, and UTF-16 stays UTF-16. */
    unsigned in = encoding_unit(c->from), out = encoding_unit(c->to);

    if (c->policy != CONV_STOP)
        return false; /* what is left out or replaced changes the size */
    *mul = out;
    *div = in;
    if (c->from == ENC_ASCII || (c->from == ENC_LATIN1 && c->to != ENC_UTF8))
        return true;
    if (in == 4 && (out == 4 || c->to <= ENC_LATIN1))
        return true;
    return in == 2 && out == 2;
}

/* How many bytes of MARKS have their top bit set, the others being 0: a
 * multiplication sums them into the top byte (a popcount instruction is
 * not in the x86-64 baseline, and its library call was 6% of a run). */
static unsigned count_marked_bytes(uint64_t marks)
{
    return (unsigned)(((marks >> 7) * 0x0101010101010101ull) >> 56);
}

/* How many of the 8 bytes in WORD are 10xxxxxx (UTF-8 continuation
 * bytes); then, how many are 1111xxxx (leads of 4 bytes). */
static unsigned count_continuations(uint64_t word)
{
    return count_marked_bytes(word & ~(word << 1) & 0x8080808080808080ull);
}

static unsigned count_four_byte_leads(uint64_t word)
{
    return count_marked_bytes(word & word << 1 & word << 2 & word << 3
                              & 0x8080808080808080ull);
}

/* Valid UTF-8 makes a UTF-16 unit for each byte that starts a character
 * and another for each lead of 4 bytes; a UTF-32 unit for each start. */
bool conv_valid_size(const struct conv *c, const unsigned char *in,
                     size_t n, uint64_t *size)
{
    uint64_t starts = 0, fours = 0, word;
    unsigned width = encoding_unit(c->to);
    size_t i = 0;

    if (c->from != ENC_UTF8 || width == 1 || c->policy != CONV_STOP)
        return false;
    for (; i + 8 <= n; i += 8) {
        memcpy(&word, in + i, 8);
        starts += 8 - count_continuations(word);
        fours += count_four_byte_leads(word);
    }
    for (; i < n; i++) {
        starts += (in[i] & 0xc0) != 0x80;
        fours += in[i] >= 0xf0;
    }
    *size = width == 2 ? 2 * (starts + fours) : 4 * starts;
    return true;
}

size_t conv_max_growth(const struct conv *c)
{
    switch (c->to) {
    case ENC_UTF8:
        return 3; /* a byte that is no character becomes U+FFFD */
    case ENC_UTF16LE: case ENC_UTF16BE: case ENC_UTF16:
        return 2;
    case ENC_UTF32LE: case ENC_UTF32BE: case ENC_UTF32:
        return 4;
    default:
        return 1;
    }
}

size_t conv_boundary(enum encoding from, const unsigned char *in, size_t n,
                     size_t at)
{
    unsigned unit = encoding_unit(from);

    if (at + unit > n) /* the unit at AT must be whole to be looked at */
        at = n >= unit ? n - unit : 0;
    at -= at % unit;
    if (from == ENC_UTF8) {
        /* A lead byte within 4 bytes back: past 3 continuation bytes no
         * character can still be open, but iconv still calls a lead of
         * the old UTF-8 with 4 of them a cut character (FC 80 80 80 80),
         * and the end of the input must find it whole to say so. */
        for (size_t b = at; b + 4 >= at; b--) {
            if ((in[b] & 0xc0) != 0x80)
                return b;
            if (b == 0)
                break;
        }
        return at;
    }
    if (unit == 2 && at >= 2 && at + 1 < n) {
        unsigned u = load16(in + at, from == ENC_UTF16BE);
        if (u >= 0xdc00 && u <= 0xdfff) /* keep a pair together */
            return at - 2;
    }
    return at;
}
