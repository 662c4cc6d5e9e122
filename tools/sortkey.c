/* mmsort's keys and orderings, as GNU sort has them in the C locale:
 * begfield/limfield, keycompare and its numeric, month and version
 * comparisons follow GNU's definitions step by step. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"
#include "sortkey.h"

/* ---- Tables ----------------------------------------------------------------- */

static bool blanks[256];        /* space, tab and newline: field_sep() */
static bool nonprinting[256];   /* -i leaves these out */
static bool nondictionary[256]; /* -d leaves these out */
static unsigned char fold_upper[256];

static bool is_alnum(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')
           || (c >= 'a' && c <= 'z');
}

static void init_tables(void)
{
    for (int c = 0; c < 256; c++) {
        blanks[c] = c == ' ' || c == '\t' || c == '\n';
        nonprinting[c] = c < 0x20 || c > 0x7e;
        nondictionary[c] = !is_alnum(c) && !blanks[c];
        fold_upper[c] = (unsigned char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

void sort_spec_init(struct sort_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->global.sword = spec->global.eword = FIELD_NONE;
    spec->tab = TAB_DEFAULT;
    spec->eol = '\n';
    init_tables();
}

/* ---- Parsing ---------------------------------------------------------------- */

bool sort_key_letter(struct sort_key *key, char c, bool at_start, bool at_end)
{
    switch (c) {
    case 'b':
        key->skip_start_blanks |= at_start;
        key->skip_end_blanks |= at_end;
        break;
    case 'd': key->ignore = nondictionary; break;
    case 'f': key->translate = fold_upper; break;
    case 'g': key->general_numeric = true; break;
    case 'h': key->human_numeric = true; break;
    case 'i': /* -d overrides -i, whatever their order */
        if (!key->ignore)
            key->ignore = nonprinting;
        break;
    case 'M': key->month = true; break;
    case 'n': key->numeric = true; break;
    case 'r': key->reverse = true; break;
    case 'V': key->version = true; break;
    default: return false;
    }
    return true;
}

static const char *key_letters(const char *s, struct sort_key *key,
                               bool at_start, bool at_end)
{
    while (*s && sort_key_letter(key, *s, at_start, at_end))
        s++;
    return s;
}

/* Parses a field or byte count at S into *VALUE, GNU's parse_field_count:
 * NULL with a message when there is no number. */
static const char *key_count(const char *s, size_t *value, const char *what,
                             char *message, size_t size)
{
    uint64_t n;
    const char *end;

    if (size_parse_count(s, &n, &end) == SIZE_INVALID) {
        snprintf(message, size, "%s: invalid count at start of '%s'", what, s);
        return NULL;
    }
    *value = n > SIZE_MAX ? SIZE_MAX : (size_t)n;
    return end;
}

/* Parses -k ARG into KEY; GNU's wording of its faults. */
static bool parse_key(struct sort_key *key, const char *arg, char *message,
                      size_t size)
{
    const char *s = key_count(arg, &key->sword, "invalid number at field start",
                              message, size), *fault = NULL;

    if (s && key->sword-- == 0)
        fault = "field number is zero";
    if (s && !fault && *s == '.') {
        s = key_count(s + 1, &key->schar, "invalid number after '.'", message, size);
        if (s && key->schar-- == 0)
            fault = "character offset is zero";
    }
    if (!s)
        return false;
    if (!fault) {
        if (key->sword == 0 && key->schar == 0)
            key->sword = FIELD_NONE; /* -k1 and -k1.1: from the line start */
        s = key_letters(s, key, true, false);
        key->eword = FIELD_NONE;
        if (*s == ',') {
            s = key_count(s + 1, &key->eword, "invalid number after ','", message, size);
            if (!s)
                return false;
            if (key->eword-- == 0)
                fault = "field number is zero";
            if (!fault && *s == '.'
                && !(s = key_count(s + 1, &key->echar, "invalid number after '.'",
                                   message, size)))
                return false;
            if (!fault)
                s = key_letters(s, key, false, true);
        }
        if (!fault && *s)
            fault = "stray character in field spec";
    }
    if (fault)
        snprintf(message, size, "%s: invalid field specification '%s'", fault, arg);
    return !fault;
}

bool sort_spec_add_key(struct sort_spec *spec, const char *arg, char *message,
                       size_t size)
{
    struct sort_key key = { 0 }, *keys;

    if (!parse_key(&key, arg, message, size))
        return false;
    keys = realloc(spec->keys, (spec->key_count + 1) * sizeof *keys);
    if (!keys) {
        snprintf(message, size, "memory exhausted");
        return false;
    }
    keys[spec->key_count++] = key;
    spec->keys = keys;
    return true;
}

/* A key with no ordering of its own (-r alone does not count). */
static bool key_is_plain(const struct sort_key *k)
{
    return !(k->ignore || k->translate || k->skip_start_blanks
             || k->skip_end_blanks || k->numeric || k->general_numeric
             || k->human_numeric || k->month || k->version);
}

/* The letters of KEY, in GNU's order, for a message. */
static void key_options(const struct sort_key *k, char *opts)
{
    if (k->skip_start_blanks || k->skip_end_blanks) *opts++ = 'b';
    if (k->ignore == nondictionary) *opts++ = 'd';
    if (k->translate) *opts++ = 'f';
    if (k->general_numeric) *opts++ = 'g';
    if (k->human_numeric) *opts++ = 'h';
    if (k->ignore == nonprinting) *opts++ = 'i';
    if (k->month) *opts++ = 'M';
    if (k->numeric) *opts++ = 'n';
    if (k->reverse) *opts++ = 'r';
    if (k->version) *opts++ = 'V';
    *opts = '\0';
}

bool sort_spec_finish(struct sort_spec *spec, char *message, size_t size)
{
    for (size_t i = 0; i < spec->key_count; i++) {
        struct sort_key *k = &spec->keys[i];
        if (key_is_plain(k) && !k->reverse) {
            size_t sword = k->sword, schar = k->schar;
            size_t eword = k->eword, echar = k->echar;
            *k = spec->global;
            k->sword = sword, k->schar = schar;
            k->eword = eword, k->echar = echar;
        }
    }
    spec->reverse = spec->global.reverse;
    if (spec->key_count == 0 && !key_is_plain(&spec->global)) {
        spec->keys = malloc(sizeof *spec->keys);
        if (!spec->keys) {
            snprintf(message, size, "memory exhausted");
            return false;
        }
        spec->keys[0] = spec->global;
        spec->key_count = 1;
    }
    for (size_t i = 0; i < spec->key_count; i++) {
        const struct sort_key *k = &spec->keys[i];
        if (k->numeric + k->general_numeric + k->human_numeric + k->month
            + (k->version || k->ignore) > 1) {
            struct sort_key named = *k; /* GNU names them without b and r */
            char opts[16];
            named.skip_start_blanks = named.skip_end_blanks = named.reverse = false;
            key_options(&named, opts);
            snprintf(message, size, "options '-%s' are incompatible", opts);
            return false;
        }
    }
    spec->bytewise = spec->key_count == 0;
    spec->key_prefix = !spec->bytewise && key_is_plain(&spec->keys[0]);
    return true;
}

/* ---- Fields ------------------------------------------------------------------ */

/* The first -t separator in [P, LIM), or LIM. */
static const unsigned char *skip_to_tab(const struct sort_spec *spec,
                                        const unsigned char *p,
                                        const unsigned char *lim)
{
    const unsigned char *tab = memchr(p, spec->tab, (size_t)(lim - p));

    return tab ? tab : lim;
}

/* P after COUNT fields, each with the separator after it, walked as
 * GNU's begfield and limfield both walk them. */
static const unsigned char *walk_fields(const struct sort_spec *spec,
                                        const unsigned char *p,
                                        const unsigned char *lim, size_t count)
{
    if (spec->tab != TAB_DEFAULT) {
        while (p < lim && count--) {
            p = skip_to_tab(spec, p, lim);
            if (p < lim)
                p++;
        }
    } else {
        while (p < lim && count--) {
            while (p < lim && blanks[*p])
                p++;
            while (p < lim && !blanks[*p])
                p++;
        }
    }
    return p;
}

/* Where KEY starts in [FIELD, LIM), FIELD being where its field starts:
 * the rest of GNU's begfield. */
static const unsigned char *key_start(const struct sort_key *key,
                                      const unsigned char *p,
                                      const unsigned char *lim)
{
    if (key->skip_start_blanks)
        while (p < lim && blanks[*p])
            p++;
    return (size_t)(lim - p) < key->schar ? lim : p + key->schar;
}

/* Where KEY ends in [P, LIM), P being WALKED fields (at most KEY's end
 * field) into the line: GNU's limfield, which walks the first fields
 * as begfield does. */
static const unsigned char *key_limit(const struct sort_spec *spec,
                                      const struct sort_key *key,
                                      const unsigned char *p, size_t walked,
                                      const unsigned char *lim)
{
    size_t eword = key->eword - walked, echar = key->echar;

    if (echar == 0)
        eword++; /* the whole of the last field */
    if (spec->tab != TAB_DEFAULT) {
        while (p < lim && eword--) {
            p = skip_to_tab(spec, p, lim);
            if (p < lim && (eword || echar))
                p++;
        }
    } else {
        p = walk_fields(spec, p, lim, eword);
    }
    if (echar != 0) {
        if (key->skip_end_blanks)
            while (p < lim && blanks[*p])
                p++;
        p = (size_t)(lim - p) < echar ? lim : p + echar;
    }
    return p;
}

/* The bytes of KEY in LINE: [*START, *LIMIT), never reversed. */
static void key_bounds(const struct sort_spec *spec, const struct sort_key *key,
                       const struct line *line, const unsigned char **start,
                       const unsigned char **limit)
{
    const unsigned char *p = line->text, *lim = p + line->length;
    const unsigned char *field = p, *end = lim;
    size_t walked = 0;

    if (key->sword != FIELD_NONE) {
        field = walk_fields(spec, p, lim, key->sword);
        walked = key->sword;
    }
    if (key->eword != FIELD_NONE)
        end = walked <= key->eword ? key_limit(spec, key, field, walked, lim)
                                   : key_limit(spec, key, p, 0, lim);
    if (key->sword != FIELD_NONE) {
        p = key_start(key, field, lim);
    } else if (key->skip_start_blanks) {
        while (p < end && blanks[*p])
            p++;
    }
    *start = p;
    *limit = end > p ? end : p;
}

/* ---- Numbers ----------------------------------------------------------------- */

/* A number as GNU's strnumcmp sees it: a sign, integer digits without
 * leading zeros, fraction digits without trailing zeros. */
struct number {
    int sign; /* -1, 0 (any zero) or 1 */
    const unsigned char *integer, *fraction;
    size_t integer_length, fraction_length;
};

/* Reads the number at the start of [P, END) (after blanks): only '-', the
 * digits and one '.', as in the C locale, where there is no thousands
 * separator. */
static void read_number(const unsigned char *p, const unsigned char *end,
                        struct number *n)
{
    bool negative, nonzero = false;

    while (p < end && blanks[*p])
        p++;
    negative = p < end && *p == '-';
    p += negative;
    while (p < end && *p == '0')
        p++;
    n->integer = p;
    while (p < end && is_digit(*p))
        p++;
    n->integer_length = (size_t)(p - n->integer);
    nonzero = n->integer_length > 0;
    n->fraction = p;
    n->fraction_length = 0;
    if (p < end && *p == '.') {
        const unsigned char *digits = ++p;
        while (p < end && is_digit(*p))
            p++;
        while (p > digits && p[-1] == '0')
            p--;
        n->fraction = digits;
        n->fraction_length = (size_t)(p - digits);
        nonzero |= n->fraction_length > 0;
    }
    n->sign = !nonzero ? 0 : negative ? -1 : 1;
}

static int compare_digits(const unsigned char *a, size_t alen,
                          const unsigned char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int diff = memcmp(a, b, n);

    if (diff)
        return diff;
    return (alen > blen) - (alen < blen);
}

/* -n: GNU's numcompare, which is strnumcmp. */
static int compare_numeric(const unsigned char *a, const unsigned char *alim,
                           const unsigned char *b, const unsigned char *blim)
{
    struct number x, y;
    int diff;

    read_number(a, alim, &x);
    read_number(b, blim, &y);
    if (x.sign != y.sign)
        return x.sign < y.sign ? -1 : 1;
    if (x.sign == 0)
        return 0;
    if (x.integer_length != y.integer_length)
        diff = x.integer_length < y.integer_length ? -1 : 1;
    else
        diff = memcmp(x.integer, y.integer, x.integer_length);
    if (diff == 0)
        diff = compare_digits(x.fraction, x.fraction_length, y.fraction,
                              y.fraction_length);
    return x.sign < 0 ? -diff : diff;
}

/* The unit of a -h number: 0 for none (or a zero), K 1 ... Y 8, negated
 * for a negative number: GNU's find_unit_order. */
static int unit_order(const unsigned char *p, const unsigned char *end)
{
    static const char units[] = "KMGTPEZY";
    bool negative, nonzero = false;
    const char *unit;

    while (p < end && blanks[*p])
        p++;
    negative = p < end && *p == '-';
    p += negative;
    for (; p < end && is_digit(*p); p++)
        nonzero |= *p != '0';
    if (p < end && *p == '.')
        for (p++; p < end && is_digit(*p); p++)
            nonzero |= *p != '0';
    if (!nonzero || p == end || *p == '\0')
        return 0;
    unit = *p == 'k' ? units : strchr(units, *p);
    if (!unit)
        return 0;
    return negative ? -(int)(unit - units + 1) : (int)(unit - units + 1);
}

static int compare_human(const unsigned char *a, const unsigned char *alim,
                         const unsigned char *b, const unsigned char *blim)
{
    int diff = unit_order(a, alim) - unit_order(b, blim);

    return diff ? diff : compare_numeric(a, alim, b, blim);
}

/* Copies [P, END) into buffer WHICH (0 to 3) of this thread's,
 * NUL-terminated: key_text uses 0 and 1, compare_general 2 and 3. */
static char *terminated_copy(const unsigned char *p, const unsigned char *end,
                             int which)
{
    static _Thread_local char *buffers[4];
    static _Thread_local size_t sizes[4];
    size_t n = (size_t)(end - p);

    if (n + 1 > sizes[which]) {
        char *grown = realloc(buffers[which], n + 1);
        if (!grown)
            abort(); /* as GNU's xmalloc would end the program */
        buffers[which] = grown;
        sizes[which] = n + 1;
    }
    memcpy(buffers[which], p, n);
    buffers[which][n] = '\0';
    return buffers[which];
}

/* -g: strtold on both, failures first, then NaNs, then numbers. */
static int compare_general(const unsigned char *a, const unsigned char *alim,
                           const unsigned char *b, const unsigned char *blim)
{
    char *sa = terminated_copy(a, alim, 2), *sb = terminated_copy(b, blim, 3);
    char *ea, *eb;
    long double x = strtold(sa, &ea), y = strtold(sb, &eb);

    if (sa == ea)
        return sb == eb ? 0 : -1;
    if (sb == eb)
        return 1;
    if (x < y)
        return -1;
    if (x > y)
        return 1;
    if (x == y)
        return 0;
    if (y == y)
        return -1;
    if (x == x)
        return 1;
    return memcmp(&x, &y, 10 < sizeof x ? 10 : sizeof x);
}

/* ---- Months and versions ----------------------------------------------------- */

/* -M: 1 to 12 for a line that starts (after blanks) with JAN to DEC in
 * any case, else 0. */
static int month_of(const unsigned char *p, const unsigned char *end)
{
    static const char months[] = "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC";

    while (p < end && blanks[*p])
        p++;
    if (end - p < 3)
        return 0;
    for (int m = 0; m < 12; m++)
        if (fold_upper[p[0]] == months[3 * m]
            && fold_upper[p[1]] == months[3 * m + 1]
            && fold_upper[p[2]] == months[3 * m + 2])
            return m + 1;
    return 0;
}

static bool is_alpha(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* The length of S without its file suffix, (\.[A-Za-z~][A-Za-z0-9~]*)*$,
 * which may start at its first byte: gnulib's file_prefixlen as GNU
 * coreutils 9.1 has it (".b" is all suffix, so it sorts before ".0"). */
static size_t file_prefix_length(const unsigned char *s, size_t n)
{
    size_t prefix = 0;

    for (size_t i = 0;; i++) {
        prefix = i;
        while (i + 1 < n && s[i] == '.' && (is_alpha(s[i + 1]) || s[i + 1] == '~'))
            for (i += 2; i < n && (is_alnum(s[i]) || s[i] == '~'); i++)
                continue;
        if (i >= n)
            return prefix;
    }
}

/* How the byte at POS sorts among non-digits: gnulib's order(). */
static int version_order(const unsigned char *s, size_t pos, size_t len)
{
    unsigned char c;

    if (pos == len)
        return -1;
    c = s[pos];
    if (is_digit(c))
        return 0;
    if (is_alpha(c))
        return c;
    if (c == '~')
        return -2;
    return c + 256;
}

/* Debian's version comparison, as gnulib's verrevcmp. */
static int verrevcmp(const unsigned char *a, size_t alen,
                     const unsigned char *b, size_t blen)
{
    size_t i = 0, j = 0;

    while (i < alen || j < blen) {
        int first_diff = 0;
        while ((i < alen && !is_digit(a[i])) || (j < blen && !is_digit(b[j]))) {
            int ac = version_order(a, i, alen), bc = version_order(b, j, blen);
            if (ac != bc)
                return ac - bc;
            i++;
            j++;
        }
        while (i < alen && a[i] == '0')
            i++;
        while (j < blen && b[j] == '0')
            j++;
        while (i < alen && j < blen && is_digit(a[i]) && is_digit(b[j])) {
            if (!first_diff)
                first_diff = a[i] - b[j];
            i++;
            j++;
        }
        if (i < alen && is_digit(a[i]))
            return 1;
        if (j < blen && is_digit(b[j]))
            return -1;
        if (first_diff)
            return first_diff;
    }
    return 0;
}

/* -V: gnulib's filenvercmp. */
static int compare_version(const unsigned char *a, size_t alen,
                           const unsigned char *b, size_t blen)
{
    size_t aprefix, bprefix;
    int diff;

    if (alen == 0 || blen == 0)
        return (alen != 0) - (blen != 0);
    if (a[0] == '.' || b[0] == '.') {
        if (a[0] != b[0])
            return a[0] == '.' ? -1 : 1;
        if (alen == 1 || blen == 1)
            return (alen != 1) - (blen != 1);
        bool adotdot = a[1] == '.' && alen == 2, bdotdot = b[1] == '.' && blen == 2;
        if (adotdot || bdotdot)
            return bdotdot - adotdot;
    }
    aprefix = file_prefix_length(a, alen);
    bprefix = file_prefix_length(b, blen);
    diff = verrevcmp(a, aprefix, b, bprefix);
    if (diff || (aprefix == alen && bprefix == blen))
        return diff;
    return verrevcmp(a, alen, b, blen);
}

/* ---- Keys -------------------------------------------------------------------- */

/* [P, END) without the bytes KEY ignores and with its folding, in a buffer
 * of this thread's (WHICH: 0 or 1); sets *COPY_END. */
static const unsigned char *key_text(const struct sort_key *key,
                                     const unsigned char *p,
                                     const unsigned char *end, int which,
                                     const unsigned char **copy_end)
{
    unsigned char *copy, *q;

    if (!key->ignore && !key->translate) {
        *copy_end = end;
        return p;
    }
    copy = (unsigned char *)terminated_copy(p, end, which);
    for (q = copy; p < end; p++)
        if (!key->ignore || !key->ignore[*p])
            *q++ = key->translate ? key->translate[*p] : *p;
    *copy_end = q;
    return copy;
}

/* The bytes of two keys, with -d, -i and -f: CMP_WITH_IGNORE. */
static int compare_filtered(const struct sort_key *key,
                            const unsigned char *a, const unsigned char *alim,
                            const unsigned char *b, const unsigned char *blim)
{
    const bool *ignore = key->ignore;
    const unsigned char *tr = key->translate ? key->translate : fold_upper;
    bool fold = key->translate != NULL;

    for (;;) {
        if (ignore) {
            while (a < alim && ignore[*a])
                a++;
            while (b < blim && ignore[*b])
                b++;
        }
        if (!(a < alim && b < blim))
            break;
        int diff = fold ? tr[*a] - tr[*b] : *a - *b;
        if (diff)
            return diff;
        a++;
        b++;
    }
    return (a < alim) - (b < blim);
}

/* Compares the keys [A, ALIM) and [B, BLIM) as KEY orders them. */
static int compare_key(const struct sort_key *key,
                       const unsigned char *a, const unsigned char *alim,
                       const unsigned char *b, const unsigned char *blim)
{
    bool special = key->numeric || key->general_numeric || key->human_numeric
                   || key->month || key->version;

    if (special) {
        a = key_text(key, a, alim, 0, &alim);
        b = key_text(key, b, blim, 1, &blim);
        if (key->numeric)
            return compare_numeric(a, alim, b, blim);
        if (key->general_numeric)
            return compare_general(a, alim, b, blim);
        if (key->human_numeric)
            return compare_human(a, alim, b, blim);
        if (key->month)
            return month_of(a, alim) - month_of(b, blim);
        return compare_version(a, (size_t)(alim - a), b, (size_t)(blim - b));
    }
    if (key->ignore || key->translate)
        return compare_filtered(key, a, alim, b, blim);
    return compare_digits(a, (size_t)(alim - a), b, (size_t)(blim - b));
}

/* GNU's keycompare: the keys in order, the first that differs decides. */
static int compare_keys(const struct sort_spec *spec, const struct line *a,
                        const struct line *b)
{
    /* A first key of plain bytes whose first 8 differ: no need to look. */
    if (spec->key_prefix && a->prefix != b->prefix)
        return (a->prefix < b->prefix) == !spec->keys[0].reverse ? -1 : 1;
    for (size_t i = 0; i < spec->key_count; i++) {
        const struct sort_key *key = &spec->keys[i];
        const unsigned char *ta, *la, *tb, *lb;
        int diff;

        key_bounds(spec, key, a, &ta, &la);
        key_bounds(spec, key, b, &tb, &lb);
        diff = compare_key(key, ta, la, tb, lb);
        if (diff)
            return key->reverse ? (diff < 0 ? 1 : -1) : diff;
    }
    return 0;
}

int sort_compare(const struct sort_spec *spec, const struct line *a,
                 const struct line *b)
{
    int diff;

    if (spec->key_count > 0) {
        diff = compare_keys(spec, a, b);
        if (diff || spec->unique || spec->stable)
            return diff;
    }
    /* Unless bytewise, the prefixes are of the first key, not the line. */
    diff = spec->bytewise ? compare_bytes(a, b)
                          : compare_digits(a->text, a->length, b->text, b->length);
    return spec->reverse ? -diff : diff;
}

uint64_t line_prefix(const unsigned char *text, size_t length)
{
    static const uint16_t one = 1;
    uint64_t prefix = 0;

    if (length >= 8) { /* one load, turned big-endian where it is not */
        memcpy(&prefix, text, 8);
        return *(const unsigned char *)&one ? __builtin_bswap64(prefix) : prefix;
    }
    for (size_t i = 0; i < length; i++)
        prefix |= (uint64_t)text[i] << (56 - 8 * i);
    return prefix;
}

void sort_first_key(const struct sort_spec *spec, const struct line *line,
                    const unsigned char **start, const unsigned char **limit)
{
    key_bounds(spec, &spec->keys[0], line, start, limit);
}

uint64_t sort_prefix(const struct sort_spec *spec, const unsigned char *text,
                     size_t length)
{
    struct line line = { text, length, 0 };
    const unsigned char *start, *limit;

    if (spec->bytewise)
        return line_prefix(text, length);
    if (!spec->key_prefix)
        return 0;
    key_bounds(spec, &spec->keys[0], &line, &start, &limit);
    return line_prefix(start, (size_t)(limit - start));
}
