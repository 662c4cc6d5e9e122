/* mmcat: concatenate files to standard output, byte for byte as GNU cat
 * does, reading regular files through memory mappings. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytescan.h"
#include "mmio.h"
#include "ostream.h"
#include "tool.h"

static const char usage_text[] =
    "Usage: %s [OPTION]... [FILE]...\n"
    "Concatenate FILE(s) to standard output.\n"
    "\n"
    "With no FILE, or when FILE is -, read standard input.\n"
    "\n"
    "  -A, --show-all           equivalent to -vET\n"
    "  -b, --number-nonblank    number nonempty output lines, overrides -n\n"
    "  -e                       equivalent to -vE\n"
    "  -E, --show-ends          display $ at end of each line\n"
    "  -n, --number             number all output lines\n"
    "  -s, --squeeze-blank      suppress repeated empty output lines\n"
    "  -t                       equivalent to -vT\n"
    "  -T, --show-tabs          display TAB characters as ^I\n"
    "  -u                       (ignored)\n"
    "  -v, --show-nonprinting   use ^ and M- notation, except for LFD and TAB\n"
    "      --help        display this help and exit\n"
    "      --version     output version information and exit\n"
    "\n"
    "Examples:\n"
    "  mmcat f - g  Output f's contents, then standard input, then g's contents.\n"
    "  mmcat        Copy standard input to standard output.\n";

enum { OPT_HELP = 256, OPT_VERSION };

/* In GNU cat's order: getopt lists the candidates of an ambiguous option
 * in the order of this table. */
static const struct option long_options[] = {
    { "number-nonblank", no_argument, NULL, 'b' },
    { "number", no_argument, NULL, 'n' },
    { "squeeze-blank", no_argument, NULL, 's' },
    { "show-nonprinting", no_argument, NULL, 'v' },
    { "show-ends", no_argument, NULL, 'E' },
    { "show-tabs", no_argument, NULL, 'T' },
    { "show-all", no_argument, NULL, 'A' },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 }
};

/* ---- Output buffer ------------------------------------------------------ */

#define OUT_SIZE ((size_t)256 * 1024)
/* Room kept free past LIMIT for one short copy, one line number, one
 * notation and "^M$\n": what one step of format_piece (or of
 * format_numbered) writes at most. */
#define SHORT_COPY 128
#define OUT_SLACK 256

/* Formatted output on its way out: to STREAM, or, for a helper lane
 * (STREAM NULL), kept until the main thread submits it in its turn. */
struct out {
    struct ostream *stream;
    unsigned char *pos;
    unsigned char *limit;
    unsigned char *buf;
};

/* Points O at BUF, a buffer of the stream, empty. */
static void out_use(struct out *o, unsigned char *buf, size_t size)
{
    o->buf = o->pos = buf;
    o->limit = buf + size;
}

/* Hands the buffer, whose end is POS, to the writer; returns a new empty
 * one.  A helper lane's buffer is sized never to fill. */
static unsigned char *out_flush_at(struct out *o, unsigned char *pos)
{
    if (!o->stream)
        abort();
    xostream_submit(o->stream, o->buf, (size_t)(pos - o->buf));
    /* Also here, not only in the caller's register: after a fault the
     * buffer must not hold what was already written. */
    out_use(o, xostream_take(o->stream), OUT_SIZE);
    return o->buf;
}

static void out_flush(struct out *o)
{
    out_flush_at(o, o->pos);
}

/* Returns where to write next, with at least OUT_SLACK bytes free. */
static inline unsigned char *out_make_room(struct out *o, unsigned char *pos)
{
    return pos >= o->limit ? out_flush_at(o, pos) : pos;
}

/* Appends what does not fit in one short move, flushing as it goes. */
static unsigned char *out_put_long(struct out *o, unsigned char *pos,
                                   const unsigned char *p, size_t n)
{
    for (;;) {
        size_t room = pos < o->limit ? (size_t)(o->limit - pos) : 0;
        if (n <= room)
            break;
        memcpy(pos, p, room);
        p += room;
        n -= room;
        pos = out_flush_at(o, pos + room);
    }
    memcpy(pos, p, n);
    return pos + n;
}

/* Appends the N bytes at P at POS, which is at most OUT_SLACK / 4 past
 * the limit.  A short run is one fixed-size move that writes a little
 * past its end into the slack, when AVAIL (the bytes readable at P)
 * allows. */
static inline unsigned char *out_put(struct out *o, unsigned char *pos,
                                     const unsigned char *p, size_t n,
                                     size_t avail)
{
    if (n <= SHORT_COPY && avail >= SHORT_COPY) {
        memcpy(pos, p, SHORT_COPY);
        return pos + n;
    }
    return out_put_long(o, pos, p, n);
}

/* ---- Line numbers ---------------------------------------------------------- */

/* The next line number as right-aligned text followed by a tab, as
 * "%6d\t" would print it, counted up in place. */
#define NUMBER_DIGITS 21
struct line_number {
    char text[32]; /* digits, a tab, and room for a 16-byte copy */
    int print;  /* where the printed text starts: at most 6 digits back */
};

static void line_number_init(struct line_number *n)
{
    memset(n->text, ' ', NUMBER_DIGITS);
    n->text[NUMBER_DIGITS - 1] = '1';
    n->text[NUMBER_DIGITS] = '\t';
    n->print = NUMBER_DIGITS - 6;
}

static inline void line_number_next(struct line_number *n)
{
    int i = NUMBER_DIGITS - 1;

    while (n->text[i] == '9' && i > 0)
        n->text[i--] = '0';
    if (n->text[i] == ' ') {
        n->text[i] = '1';
        if (i < n->print)
            n->print = i;
    } else {
        n->text[i]++;
    }
}

/* Counts N up by COUNT at once. */
static void line_number_add(struct line_number *n, uint64_t count)
{
    unsigned carry = 0;

    for (int i = NUMBER_DIGITS - 1; (count || carry) && i >= 0; i--) {
        unsigned digit = n->text[i] == ' ' ? 0 : (unsigned)(n->text[i] - '0');
        digit += (unsigned)(count % 10) + carry;
        count /= 10;
        carry = digit / 10;
        n->text[i] = (char)('0' + digit % 10);
        if (i < n->print)
            n->print = i;
    }
}

/* A line number's printed text from where it starts, in two words that
 * the formatting loops keep in registers and count up there, where the
 * text in memory would have each line's load wait for the last line's
 * store.  LAST is the bit offset of the last digit in LO, or -1 when the
 * text is too long for that (from 10^8 on) or the words are not little-
 * endian, where struct line_number counts.  HOME is where the text lies
 * in the struct line_number it came from. */
struct number_text {
    uint64_t lo, hi;
    size_t length;
    int last;
    unsigned char *home;
};

static inline struct number_text number_text_of(struct line_number *n)
{
    struct number_text t;

    t.home = (unsigned char *)n->text + n->print;
    t.length = (size_t)(NUMBER_DIGITS + 1 - n->print);
    memcpy(&t.lo, t.home, sizeof t.lo);
    memcpy(&t.hi, t.home + sizeof t.lo, sizeof t.hi);
#if defined __BYTE_ORDER__ && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    t.last = t.length <= 9 ? (int)(t.length - 2) * 8 : -1;
#else
    t.last = -1;
#endif
    return t;
}

/* Counts T up in its words; false where struct line_number must: a count
 * of only 9s (a digit more), or a space before the 9s (it becomes a
 * digit).  LAST is not -1. */
static inline bool number_text_next(struct number_text *t)
{
    uint64_t others, nines_mask;
    unsigned nines;
    int carry_to;

    /* Each 9 a zero byte, the last digit moved to the top byte: the 9s it
     * ends in are the leading zero bytes. */
    others = (t->lo ^ UINT64_C(0x3939393939393939)) << (56 - t->last);
    if (others == 0)
        return false;
    nines = (unsigned)__builtin_clzll(others) / 8;
    carry_to = t->last - (int)nines * 8;
    if ((t->lo >> carry_to & 0xff) == ' ')
        return false;
    /* The 9s become 0s, the digit before them one more. */
    nines_mask = UINT64_C(0x0909090909090909)
                 & ((UINT64_C(1) << nines * 8) - 1);
    t->lo -= nines_mask << (carry_to + 8);
    t->lo += UINT64_C(1) << carry_to;
    return true;
}

/* Counts N up the slow way, for every case; returns its new text. */
static struct number_text number_next_slowly(struct line_number *n)
{
    line_number_next(n);
    return number_text_of(n);
}

/* ---- Formatting ------------------------------------------------------------- */

/* How one byte that a scan stops at is shown. */
struct notation {
    unsigned char length;
    unsigned char text[4];
};

/* What the options ask for; fixed once parsed, shared by the lanes. */
struct format {
    bool plain;            /* no option but -u: copy bytes as they are */
    bool number_all;       /* -n */
    bool number_nonblank;  /* -b */
    bool squeeze_blank;    /* -s */
    bool show_ends;        /* -E */
    bool show_tabs;        /* -T */
    bool show_nonprinting; /* -v */
    bool crlf_rule;        /* -E without -v: the CR of a CRLF shows as ^M */
    bool bytewise;         /* nothing depends on where lines start */
    bool numbers_only;     /* -n alone: lines change only by their number */
    struct bytescan stops; /* the bytes that are not copied as they are */
    struct bytescan newline;
    struct notation notation[256];
};

/* Where formatting stands, carried from byte to byte and from one file to
 * the next, as GNU cat carries it. */
struct cat_state {
    /* -1 inside a line, 0 at the start of one, 1 or 2 after that many
     * empty lines. */
    int newlines;
    /* A CR that ended a piece, waiting to see whether an LF follows. */
    bool pending_cr;
    struct line_number number;
};

static void build_format(struct format *f)
{
    for (int byte = 0; byte < 256; byte++) {
        struct notation *n = &f->notation[byte];
        int ch = byte, len = 0;

        if (f->show_nonprinting && ch >= 128) {
            n->text[len++] = 'M';
            n->text[len++] = '-';
            ch -= 128;
        }
        if (byte == '\t' && !f->show_tabs) {
            n->text[len++] = '\t';
        } else if ((ch < ' ' && (f->show_nonprinting || byte == '\t'))
                   || (ch == 127 && f->show_nonprinting)) {
            n->text[len++] = '^';
            n->text[len++] = ch == 127 ? '?' : (unsigned char)(ch + 64);
        } else {
            n->text[len++] = (unsigned char)ch;
        }
        n->length = (unsigned char)len;
    }
    if (f->number_nonblank)
        f->number_all = false;
    f->crlf_rule = f->show_ends && !f->show_nonprinting;
    f->numbers_only = f->number_all && !f->squeeze_blank && !f->show_ends
                      && !f->show_tabs && !f->show_nonprinting;
    f->bytewise = !f->number_all && !f->number_nonblank && !f->squeeze_blank
                  && !f->crlf_rule;
    /* For format_bytewise, which looks the line feed up like any byte. */
    f->notation['\n'] = f->show_ends ? (struct notation){ 2, "$\n" }
                                     : (struct notation){ 1, "\n" };
    bytescan_init(&f->newline, -128, '\n', '\n', '\n');
    if (f->show_nonprinting)
        bytescan_init(&f->stops, ' ', 127, 127, 127);
    else
        bytescan_init(&f->stops, -128, '\n', f->show_tabs ? '\t' : '\n', '\n');
}

/* The emitters below write at POS, which the caller keeps in a register,
 * and return the new end. */

/* Writes T, the text of N, at POS and counts both up.  N is kept current,
 * one store a line never loaded back: what a fault leaves is the count of
 * the lines formatted.  Inlined by force: gcc made it a call. */
static inline __attribute__((always_inline)) unsigned char *
put_number(struct number_text *t, struct line_number *n, unsigned char *pos)
{
    if (t->last < 0) { /* from 10^8 on: counted in N */
        size_t length = t->length;

        memcpy(pos, t->home, length);
        *t = number_next_slowly(n);
        return pos + length;
    }
    memcpy(pos, &t->lo, sizeof t->lo);
    memcpy(pos + sizeof t->lo, &t->hi, sizeof t->hi); /* 16 bytes at once */
    pos += t->length;
    if ((t->lo >> t->last & 0xff) != '9')
        t->lo += UINT64_C(1) << t->last; /* no carry: not a 9 */
    else if (!number_text_next(t)) {
        *t = number_next_slowly(n);
        return pos;
    }
    memcpy(t->home, &t->lo, sizeof t->lo);
    return pos;
}

static inline unsigned char *put_line_end(bool show_ends, unsigned char *pos)
{
    pos[0] = '$';
    pos[show_ends] = '\n'; /* over the '$' unless -E */
    return pos + 1 + show_ends;
}

/* Settles a CR held back from the previous piece, now that the first
 * byte of this one is known. */
static unsigned char *settle_pending_cr(struct cat_state *s,
                                        unsigned char *pos,
                                        unsigned char next)
{
    s->pending_cr = false;
    if (next != '\n') {
        *pos = '\r';
        return pos + 1;
    }
    memcpy(pos, "^M", 2);
    return pos + 2;
}

/* What cat_state.newlines is after [P, END), which is not empty, when it
 * was BEFORE at P: the empty lines just before END, counted up to 2, or
 * -1 inside a line. */
static int newlines_after(int before, const unsigned char *p,
                          const unsigned char *end)
{
    int trailing = 0;

    while (trailing < 3 && end - trailing > p && end[-1 - trailing] == '\n')
        trailing++;
    if (trailing == 0)
        return -1;
    if (end - trailing == p) /* all newlines: those before P count too */
        trailing += before + 1;
    return trailing - 1 < 2 ? trailing - 1 : 2;
}

/* Input is formatted in spans of this size: the line ends of one are
 * listed, then its lines formatted. */
#define SPAN 4096

/* Lists the offsets from P of the line feeds among the N bytes at P
 * (N <= SPAN) in ENDS, which has room for SPAN + 4; returns how many. */
static size_t list_line_ends(const struct bytescan_regs *newline,
                             const unsigned char *p, size_t n,
                             uint16_t *ends)
{
    size_t count = 0;

    for (size_t off = 0; off < n; off += 64) {
        uint64_t mask = bytescan_mask_upto(newline, p + off, n - off);
        unsigned hits = bytescan_count(mask);
        uint16_t *e = ends + count;

        bytescan_prefetch(p + off);

        /* Four whatever the count, so that the branch on it is rare: the
         * ones past the count are overwritten by the next block's. */
        for (unsigned i = 0; i < 4; i++) {
            e[i] = (uint16_t)(off + (unsigned)__builtin_ctzll(
                                        mask | UINT64_C(1) << 63));
            mask &= mask - 1;
        }
        for (unsigned i = 4; i < hits; i++) {
            e[i] = (uint16_t)(off + (unsigned)__builtin_ctzll(mask));
            mask &= mask - 1;
        }
        count += hits;
    }
    return count;
}

/* Formats [START, END) into O for -n alone: each line gets its number
 * and is copied as it is.  The line ends of a span are listed first, so
 * that the loop over the lines branches on nothing that changes from line
 * to line but the rare line over SHORT_COPY bytes. */
static void format_numbered(const struct format *f, struct cat_state *s,
                            struct out *o, const unsigned char *start,
                            const unsigned char *end)
{
    struct bytescan_regs newline;
    struct number_text number = number_text_of(&s->number);
    uint16_t ends[SPAN + 4];
    const unsigned char *p = start; /* where the next line (part) starts */
    unsigned char *pos = o->pos;
    bool numbered = s->newlines < 0; /* the line at P has its number */

    if (start == end)
        return;
    bytescan_load(&newline, &f->newline);
    for (const unsigned char *span = start; span < end; span += SPAN) {
        size_t n = (size_t)(end - span) < SPAN ? (size_t)(end - span) : SPAN;
        size_t count = list_line_ends(&newline, span, n, ends);

        if (span + n == end && end[-1] != '\n')
            ends[count++] = (uint16_t)(n - 1); /* a line the piece cuts */
        for (size_t i = 0; i < count; i++) {
            const unsigned char *next = span + ends[i] + 1;

            pos = out_make_room(o, pos);
            if (!numbered)
                pos = put_number(&number, &s->number, pos);
            numbered = false;
            pos = out_put(o, pos, p, (size_t)(next - p), (size_t)(end - p));
            p = next;
        }
    }
    s->newlines = newlines_after(s->newlines, start, end);
    o->pos = pos;
}

/* Formats [P, END) into O when no option needs to know where lines start
 * (no -n, -b or -s, no CR held back for -E): every byte the scan stops at,
 * the line feed too, is replaced by its notation, with no state to keep. */
static void format_bytewise(const struct format *f, struct out *o,
                            const unsigned char *p, const unsigned char *end)
{
    unsigned char *pos = o->pos;
    struct bytescan_cursor cursor;

    bytescan_start(&cursor, &f->stops, p, end);
    while (p < end) {
        const unsigned char *stop = bytescan_next(&cursor);
        const struct notation *n;

        pos = out_make_room(o, pos);
        pos = out_put(o, pos, p, (size_t)(stop - p), (size_t)(end - p));
        if (stop == end)
            break;
        n = &f->notation[*stop];
        memcpy(pos, n->text, sizeof n->text);
        pos += n->length;
        p = stop + 1;
    }
    o->pos = pos;
}

/* Formats the bytes [START, END) into O.  The options and the state live
 * in locals here: every byte stored to the output may alias a struct
 * member, and would make the compiler load it again. */
static void format_piece(const struct format *f, struct cat_state *s,
                         struct out *o, const unsigned char *start,
                         const unsigned char *end)
{
    const bool numbering = f->number_all || f->number_nonblank;
    const bool number_empty = f->number_all, squeeze = f->squeeze_blank;
    const bool show_ends = f->show_ends, crlf_rule = f->crlf_rule;
    int newlines = s->newlines;
    const unsigned char *p = start;
    unsigned char *pos;
    struct bytescan_cursor cursor;
    struct number_text number;

    if (f->bytewise) {
        format_bytewise(f, o, start, end);
        return;
    }
    if (f->numbers_only) {
        format_numbered(f, s, o, start, end);
        return;
    }
    number = number_text_of(&s->number);
    pos = out_make_room(o, o->pos);
    if (s->pending_cr)
        pos = settle_pending_cr(s, pos, *p);
    bytescan_start(&cursor, &f->stops, p, end);
    while (p < end) {
        const unsigned char *stop = bytescan_next(&cursor);

        pos = out_make_room(o, pos);
        if (newlines >= 0) {
            if (stop == p && *p == '\n') { /* an empty line */
                newlines += newlines < 2;
                if (!(newlines == 2 && squeeze)) {
                    if (number_empty)
                        pos = put_number(&number, &s->number, pos);
                    pos = put_line_end(show_ends, pos);
                }
                p++;
                continue;
            }
            if (numbering)
                pos = put_number(&number, &s->number, pos);
            newlines = -1;
        }
        pos = out_put(o, pos, p, (size_t)(stop - p), (size_t)(end - p));
        if (stop == end) {
            if (crlf_rule && stop > p && stop[-1] == '\r') {
                pos--;
                s->pending_cr = true;
            }
            break;
        }
        if (*stop == '\n') {
            if (crlf_rule && stop > start && stop[-1] == '\r') {
                memcpy(pos - 1, "^M", 2);
                pos++;
            }
            pos = put_line_end(show_ends, pos);
            newlines = 0;
        } else {
            const struct notation *n = &f->notation[*stop];
            memcpy(pos, n->text, sizeof n->text);
            pos += n->length;
        }
        p = stop + 1;
    }
    s->newlines = newlines;
    o->pos = pos;
}

/* Counts, in the 64-bit masks of newlines of [P, END), what advance_state
 * needs: the starts of lines that are not empty, the empty lines that -s
 * keeps, and the newlines in a row at the end.  CARRY1 and CARRY2 tell
 * whether the two bytes before P were newlines. */
struct line_counts {
    uint64_t nonempty_starts;
    uint64_t kept_empty;
};

static void count_lines(const struct format *f, const unsigned char *p,
                        const unsigned char *end, uint64_t carry1,
                        uint64_t carry2, struct line_counts *counts)
{
    uint64_t squeeze = f->squeeze_blank ? ~UINT64_C(0) : 0;
    struct bytescan_regs newline;

    bytescan_load(&newline, &f->newline);

    counts->nonempty_starts = counts->kept_empty = 0;
    for (; p < end; p += 64) {
        size_t n = (size_t)(end - p) < 64 ? (size_t)(end - p) : 64;
        uint64_t valid = n == 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1;
        uint64_t nl = bytescan_mask_upto(&newline, p, n);
        uint64_t after1 = nl << 1 | carry1;              /* byte before is '\n' */
        uint64_t after2 = nl << 2 | carry1 << 1 | carry2; /* two bytes before */

        bytescan_prefetch(p);

        counts->nonempty_starts += bytescan_count(~nl & after1 & valid);
        counts->kept_empty += bytescan_count(nl & after1 & ~(after2 & squeeze));
        carry2 = nl >> 62 & 1;
        carry1 = nl >> 63;
    }
}

/* Moves S past the bytes [P, END) as format_piece would, without output,
 * at the speed of counting newlines. */
static void advance_state(const struct format *f, struct cat_state *s,
                          const unsigned char *p, const unsigned char *end)
{
    struct line_counts counts;

    if (p == end)
        return;
    if (f->number_all || f->number_nonblank) {
        count_lines(f, p, end, s->newlines >= 0, s->newlines >= 1, &counts);
        line_number_add(&s->number, counts.nonempty_starts
                        + (f->number_all ? counts.kept_empty : 0));
    }
    s->newlines = newlines_after(s->newlines, p, end);
    s->pending_cr = s->newlines < 0 && f->crlf_rule && end[-1] == '\r';
}

/* ---- Two lanes -------------------------------------------------------------- */

/* A mapped window is cut into chunks.  While the main thread formats one
 * chunk, a helper thread runs through it without output to learn the
 * state after it, then formats the next chunk into a buffer of its own,
 * which the main thread writes when its own chunk is out: output in
 * order, two cores busy.  With two cores, only into a device
 * (/dev/null): elsewhere the output stream's writer needs the second. */
#define CHUNK ((size_t)2 << 20)
/* Output per input byte at the most: an empty line numbered, with "$". */
#define MAX_GROWTH (NUMBER_DIGITS + 3)
/* Every buffer of the output stream can take a helper's whole chunk; one
 * is the main thread's, one the helper's, two are being written. */
#define BUFFER_CAPACITY (CHUNK * MAX_GROWTH + OUT_SLACK)
#define BUFFER_COUNT 4

struct lane {
    const struct format *format;
    mmio_thread *thread;
    mmio_sequence *posted;   /* jobs handed to the helper */
    mmio_sequence *finished; /* jobs it has done */
    uint64_t jobs;
    bool quit;
    /* The job: from STATE at SKIP, run through [SKIP, START), then format
     * [START, END) into OUT.  STATE is the state after END when done. */
    struct cat_state state;
    const unsigned char *skip, *start, *end;
    struct out out;
    int status;              /* mmio_guard's result */
    mmio_error err;
};

static int lane_job(void *arg)
{
    struct lane *l = arg;
    /* Copies on this thread's stack: writing the shared struct line by line
     * would bounce its cache line between the two cores. */
    struct cat_state state = l->state;
    struct out out = l->out;

    advance_state(l->format, &state, l->skip, l->start);
    format_piece(l->format, &state, &out, l->start, l->end);
    l->state = state;
    l->out = out;
    return 0;
}

static void lane_main(void *arg)
{
    struct lane *l = arg;

    for (uint64_t job = 1;; job++) {
        mmio_sequence_wait(l->posted, job);
        if (l->quit)
            return;
        l->out.pos = l->out.buf;
        l->status = mmio_guard(lane_job, l, &l->err);
        mmio_sequence_advance(l->finished);
    }
}

/* Ends the helper lane, if it runs, and frees what lane_start made. */
static void lane_stop(struct lane *l)
{
    if (l->thread) {
        l->quit = true;
        mmio_sequence_advance(l->posted);
        mmio_thread_join(l->thread);
    }
    mmio_sequence_free(l->posted);
    mmio_sequence_free(l->finished);
}

/* Starts the helper lane; false when there is one core or no thread. */
static bool lane_start(struct lane *l, const struct format *f)
{
    memset(l, 0, sizeof *l);
    l->format = f;
    if (mmio_cpu_count() < 2)
        return false;
    l->posted = mmio_sequence_new(NULL);
    l->finished = mmio_sequence_new(NULL);
    if (l->posted && l->finished)
        l->thread = mmio_thread_start(lane_main, l, NULL);
    if (!l->thread)
        lane_stop(l); /* frees what was made */
    return l->thread != NULL;
}

/* Hands the helper a job, and a buffer of STREAM for its output. */
static void lane_post(struct lane *l, struct ostream *stream,
                      const struct cat_state *s, const unsigned char *skip,
                      const unsigned char *start, const unsigned char *end)
{
    out_use(&l->out, xostream_take(stream), BUFFER_CAPACITY - OUT_SLACK);
    l->state = *s;
    l->skip = skip;
    l->start = start;
    l->end = end;
    l->jobs++;
    mmio_sequence_advance(l->posted);
}

static void lane_wait(struct lane *l)
{
    mmio_sequence_wait(l->finished, l->jobs);
}

/* Submits the helper's output to STREAM after a job it finished; when
 * DISCARD (the job faulted), only its buffer goes back. */
static void lane_submit(struct lane *l, struct ostream *stream, bool discard)
{
    xostream_submit(stream, l->out.buf,
                    discard ? 0 : (size_t)(l->out.pos - l->out.buf));
}

/* ---- Files ------------------------------------------------------------------ */

struct cat {
    mmio_file *output;  /* standard output */
    struct format format;
    struct cat_state state;
    struct out out;
    struct lane lane;
    bool lane_running;  /* a helper thread is there */
    bool lane_busy;     /* it has a job that reads the current window */
};

/* Where the chunk of SIZE bytes that starts at P ends.  Chunks may end in
 * the middle of a line: advance_state carries a partial line over. */
static const unsigned char *chunk_end(const unsigned char *p,
                                      const unsigned char *end, size_t size)
{
    return (size_t)(end - p) <= size ? end : p + size;
}

/* The helper's chunk: smaller when it must first count the lines of the
 * main thread's chunk, so that both finish at about the same time. */
static size_t helper_chunk(const struct format *f)
{
    return f->number_all || f->number_nonblank ? CHUNK / 16 * 7 : CHUNK;
}

struct piece {
    struct cat *cat;
    const unsigned char *data;
    size_t size;
};

/* Formats a piece, two chunks at a time when a helper lane is there. */
static int format_guarded(void *arg)
{
    struct piece *piece = arg;
    struct cat *c = piece->cat;
    const unsigned char *p = piece->data, *end = p + piece->size;

    while (p < end) {
        const unsigned char *mine = chunk_end(p, end, CHUNK);
        const unsigned char *helpers = c->lane_running
            ? chunk_end(mine, end, helper_chunk(&c->format)) : mine;

        if (helpers > mine) {
            lane_post(&c->lane, c->out.stream, &c->state, p, mine, helpers);
            c->lane_busy = true;
        }
        format_piece(&c->format, &c->state, &c->out, p, mine);
        if (helpers > mine) {
            lane_wait(&c->lane);
            c->lane_busy = false;
            if (c->lane.status < 0) { /* the helper met a file that shrank */
                lane_submit(&c->lane, c->out.stream, true);
                return -1;
            }
            out_flush(&c->out);
            lane_submit(&c->lane, c->out.stream, false);
            c->state = c->lane.state;
        }
        p = helpers;
    }
    return 0;
}

/* Formats all of IN; returns 0, or 1 after reporting a read error. */
static int format_file(struct cat *c, mmio_file *in)
{
    mmio_walk walk;
    mmio_error err;
    struct piece piece = { c, NULL, 0 };
    int more, status = 0;

    if (mmio_walk_start(&walk, in, MMIO_DEFAULT_WINDOW, &err) < 0) {
        tool_warn_error(&err);
        return 1;
    }
    while ((more = mmio_walk_next(&walk, &piece.data, &piece.size, &err)) > 0) {
        status = mmio_guard(format_guarded, &piece, &err);
        if (c->lane_busy) { /* the main thread faulted: let the helper end */
            lane_wait(&c->lane);
            lane_submit(&c->lane, c->out.stream, true);
            c->lane_busy = false;
        }
        if (status < 0) {
            err.op = "read";
            err.path = mmio_path(in);
            err.code = mmio_walk_fault(&walk);
            more = -1;
            break;
        }
        if (walk.streaming)
            out_flush(&c->out);
    }
    mmio_walk_finish(&walk);
    if (more < 0) {
        tool_warn_error(&err);
        return 1;
    }
    return 0;
}

/* Whether IN is the regular file that standard output writes to. */
static bool is_output(const struct cat *c, mmio_file *in)
{
    return mmio_kind(in) == MMIO_KIND_REGULAR
           && mmio_kind(c->output) == MMIO_KIND_REGULAR
           && mmio_same_file(in, c->output);
}

/* Whether IN has bytes left to read: GNU cat refuses to copy those into
 * the file they come from, as that would only fill the disk. */
static bool has_unread_bytes(mmio_file *in)
{
    uint64_t size;

    return mmio_size(in, &size, NULL) == 0 && mmio_tell(in) < size;
}

/* Outputs one operand; returns 0, or 1 after reporting a failure. */
static int cat_file(struct cat *c, const char *path)
{
    mmio_error err;
    mmio_file *in;
    int status;

    in = tool_open_input(path, &err);
    if (!in) {
        tool_warn_error(&err);
        return 1;
    }
    if (!is_output(c, in))
        status = c->format.plain ? tool_copy(in, c->output) : format_file(c, in);
    else if (has_unread_bytes(in)) {
        tool_warn("%s: input file is output file", tool_quote(path));
        status = 1;
    } else {
        /* Nothing is left to read but what mmcat itself would write. */
        status = 0;
    }
    mmio_close(in, NULL);
    /* As GNU cat: what a file produced is out before the next one opens. */
    if (c->out.stream) {
        out_flush(&c->out);
        xostream_drain(c->out.stream);
    }
    return status;
}

static void parse_options(struct format *f, int argc, char **argv)
{
    int opt;

    f->plain = true;
    while ((opt = tool_getopt(argc, argv, "AbeEnstTuv", long_options)) != -1) {
        f->plain = f->plain && opt == 'u';
        switch (opt) {
        case 'A': f->show_nonprinting = f->show_ends = f->show_tabs = true; break;
        case 'b': f->number_nonblank = true; break;
        case 'e': f->show_nonprinting = f->show_ends = true; break;
        case 'E': f->show_ends = true; break;
        case 'n': f->number_all = true; break;
        case 's': f->squeeze_blank = true; break;
        case 't': f->show_nonprinting = f->show_tabs = true; break;
        case 'T': f->show_tabs = true; break;
        case 'u': break;
        case 'v': f->show_nonprinting = true; break;
        case OPT_HELP: tool_help(usage_text);
        case OPT_VERSION: tool_version();
        }
    }
}

int main(int argc, char **argv)
{
    static struct cat cat;
    mmio_error err;
    mmio_file *out;
    int status = 0;

    tool_start("mmcat", &argc, &argv);
    parse_options(&cat.format, argc, argv);
    argc -= optind;
    argv += optind;

    out = mmio_stdout(&err);
    if (!out) {
        tool_warn_error(&err);
        return tool_finish(1);
    }
    cat.output = out;
    build_format(&cat.format);
    cat.state.newlines = 0;
    line_number_init(&cat.state.number);
    if (cat.format.plain) {
        mmio_output_prepare(out); /* the kernel's copy fills a pipe too */
    } else {
        cat.out.stream = ostream_new(out, BUFFER_CAPACITY, BUFFER_COUNT, &err);
        if (!cat.out.stream) {
            tool_warn_error(&err);
            return tool_finish(1);
        }
        out_use(&cat.out, xostream_take(cat.out.stream), OUT_SIZE);
        /* On two processors a second formatting thread pays only where
         * writing costs nothing (/dev/null): into a file or a pipe the
         * stream's writer needs the other one (HACKING.md). */
        if (mmio_cpu_count() > 2 || mmio_kind(out) == MMIO_KIND_DEVICE
            || tool_lanes_forced())
            cat.lane_running = lane_start(&cat.lane, &cat.format);
    }

    if (argc == 0)
        status |= cat_file(&cat, "-");
    for (int i = 0; i < argc; i++)
        status |= cat_file(&cat, argv[i]);
    if (cat.state.pending_cr)
        *cat.out.pos++ = '\r';
    if (cat.lane_running)
        lane_stop(&cat.lane);
    if (cat.out.stream) {
        xostream_submit(cat.out.stream, cat.out.buf,
                        (size_t)(cat.out.pos - cat.out.buf));
        if (ostream_free(cat.out.stream, &err) < 0)
            tool_write_failed(&err);
    }
    mmio_close(out, NULL);
    return tool_finish(status);
}
