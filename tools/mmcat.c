/* mmcat: concatenate files to standard output, byte for byte as GNU cat
 * does, reading regular files through memory mappings. */
#include <config.h>

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytescan.h"
#include "mmio.h"
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

static const struct option long_options[] = {
    { "show-all", no_argument, NULL, 'A' },
    { "number-nonblank", no_argument, NULL, 'b' },
    { "show-ends", no_argument, NULL, 'E' },
    { "number", no_argument, NULL, 'n' },
    { "squeeze-blank", no_argument, NULL, 's' },
    { "show-tabs", no_argument, NULL, 'T' },
    { "show-nonprinting", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 }
};

/* ---- Output buffer ------------------------------------------------------ */

#define OUT_SIZE ((size_t)256 * 1024)
/* Room kept free past LIMIT for one short copy, one line number, one
 * notation and "^M$\n". */
#define SHORT_COPY 64
#define OUT_SLACK 256

struct out {
    mmio_file *file;
    unsigned char *pos;
    unsigned char *limit;
    unsigned char buf[OUT_SIZE];
};

/* Writes out the buffer, whose end is POS; returns the empty buffer. */
static unsigned char *out_flush_at(struct out *o, unsigned char *pos)
{
    xwrite(o->file, o->buf, (size_t)(pos - o->buf));
    return o->buf;
}

static void out_flush(struct out *o)
{
    o->pos = out_flush_at(o, o->pos);
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

/* ---- Formatting ------------------------------------------------------------- */

/* How one byte that a scan stops at is shown. */
struct notation {
    unsigned char length;
    unsigned char text[4];
};

struct cat {
    bool plain;            /* no option but -u: copy bytes as they are */
    bool number_all;       /* -n */
    bool number_nonblank;  /* -b */
    bool squeeze_blank;    /* -s */
    bool show_ends;        /* -E */
    bool show_tabs;        /* -T */
    bool show_nonprinting; /* -v */
    struct bytescan stops;  /* the bytes that are not copied as they are */
    /* As in GNU cat, carried from one file to the next: -1 inside a line,
     * 0 at the start of one, 1 or 2 after that many empty lines. */
    int newlines;
    /* -E without -v shows the CR of a CRLF as ^M.  A CR that ends a piece
     * waits here for the next byte, perhaps in the next file. */
    bool crlf_rule;
    bool pending_cr;
    struct line_number number;
    struct notation notation[256];
    struct out out;
};

static void build_notation(struct cat *c)
{
    for (int byte = 0; byte < 256; byte++) {
        struct notation *n = &c->notation[byte];
        int ch = byte, len = 0;

        if (c->show_nonprinting && ch >= 128) {
            n->text[len++] = 'M';
            n->text[len++] = '-';
            ch -= 128;
        }
        if (byte == '\t' && !c->show_tabs) {
            n->text[len++] = '\t';
        } else if ((ch < ' ' && (c->show_nonprinting || byte == '\t'))
                   || (ch == 127 && c->show_nonprinting)) {
            n->text[len++] = '^';
            n->text[len++] = ch == 127 ? '?' : (unsigned char)(ch + 64);
        } else {
            n->text[len++] = (unsigned char)ch;
        }
        n->length = (unsigned char)len;
    }
    c->crlf_rule = c->show_ends && !c->show_nonprinting;
    if (c->show_nonprinting)
        bytescan_init(&c->stops, ' ', 127, 127, 127);
    else
        bytescan_init(&c->stops, -128, '\n', c->show_tabs ? '\t' : '\n', '\n');
}

/* The emitters below write at POS, which the caller keeps in a register,
 * and return the new end; each writes at most OUT_SLACK / 4 bytes. */

static inline unsigned char *put_number(struct line_number *n,
                                        unsigned char *pos)
{
    size_t len = (size_t)(NUMBER_DIGITS + 1 - n->print);

    if (len <= 16)
        memcpy(pos, n->text + n->print, 16); /* one fixed-size move */
    else
        memcpy(pos, n->text + n->print, len);
    /* Counting up after the copy, not before, keeps the byte stores of the
     * count away from the next load of the text: twice as fast. */
    line_number_next(n);
    return pos + len;
}

static inline unsigned char *put_line_end(const struct cat *c,
                                          unsigned char *pos)
{
    pos[0] = '$';
    pos[c->show_ends] = '\n'; /* over the '$' unless -E */
    return pos + 1 + c->show_ends;
}

/* A newline at the start of a line: an empty line, perhaps squeezed. */
static unsigned char *put_empty_line(struct cat *c, unsigned char *pos)
{
    if (c->newlines < 2)
        c->newlines++;
    if (c->newlines == 2 && c->squeeze_blank)
        return pos;
    if (c->number_all)
        pos = put_number(&c->number, pos);
    return put_line_end(c, pos);
}

/* Settles a CR held back from the previous piece, now that the first
 * byte of this one is known. */
static unsigned char *settle_pending_cr(struct cat *c, unsigned char *pos,
                                        unsigned char next)
{
    c->pending_cr = false;
    if (next != '\n') {
        *pos = '\r';
        return pos + 1;
    }
    memcpy(pos, "^M", 2);
    return pos + 2;
}

/* Formats the bytes [START, END) into the output buffer. */
static void format_piece(struct cat *c, const unsigned char *start,
                         const unsigned char *end)
{
    const bool numbering = c->number_all || c->number_nonblank;
    const unsigned char *p = start;
    unsigned char *pos = out_make_room(&c->out, c->out.pos);
    struct bytescan_cursor cursor;

    if (c->pending_cr)
        pos = settle_pending_cr(c, pos, *p);
    bytescan_start(&cursor, &c->stops, p, end);
    while (p < end) {
        const unsigned char *stop = bytescan_next(&cursor);

        pos = out_make_room(&c->out, pos);
        if (c->newlines >= 0) {
            if (stop == p && *p == '\n') {
                pos = put_empty_line(c, pos);
                p++;
                continue;
            }
            if (numbering)
                pos = put_number(&c->number, pos);
            c->newlines = -1;
        }
        pos = out_put(&c->out, pos, p, (size_t)(stop - p), (size_t)(end - p));
        if (stop == end) {
            if (c->crlf_rule && stop > p && stop[-1] == '\r') {
                pos--;
                c->pending_cr = true;
            }
            break;
        }
        if (*stop == '\n') {
            if (c->crlf_rule && stop > start && stop[-1] == '\r') {
                memcpy(pos - 1, "^M", 2);
                pos++;
            }
            pos = put_line_end(c, pos);
            c->newlines = 0;
        } else {
            const struct notation *n = &c->notation[*stop];
            memcpy(pos, n->text, sizeof n->text);
            pos += n->length;
        }
        p = stop + 1;
    }
    c->out.pos = pos;
}

struct piece {
    struct cat *cat;
    const unsigned char *data;
    size_t size;
};

static int format_guarded(void *arg)
{
    struct piece *piece = arg;

    format_piece(piece->cat, piece->data, piece->data + piece->size);
    return 0;
}

/* Formats all of IN; returns 0, or 1 after reporting a read error. */
static int format_file(struct cat *c, mmio_file *in)
{
    mmio_walk walk;
    mmio_error err;
    struct piece piece = { c, NULL, 0 };
    int more;

    if (mmio_walk_start(&walk, in, MMIO_DEFAULT_WINDOW, &err) < 0) {
        tool_warn_error(&err);
        return 1;
    }
    /* Before waiting on a stream, show what earlier files produced. */
    if (walk.streaming)
        out_flush(&c->out);
    while ((more = mmio_walk_next(&walk, &piece.data, &piece.size, &err)) > 0) {
        if (mmio_guard(format_guarded, &piece, &err) < 0) {
            err.path = mmio_path(in);
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

/* ---- Files ------------------------------------------------------------------ */

/* GNU cat refuses to append a non-empty regular file to itself. */
static bool is_output(const struct cat *c, mmio_file *in)
{
    uint64_t size;

    return mmio_kind(in) == MMIO_KIND_REGULAR
           && mmio_kind(c->out.file) == MMIO_KIND_REGULAR
           && mmio_same_file(in, c->out.file)
           && mmio_size(in, &size, NULL) == 0 && mmio_tell(in) < size;
}

static int copy_file(struct cat *c, mmio_file *in)
{
    mmio_error err;
    int status = mmio_copy(in, c->out.file, &err);

    if (status == -2)
        tool_write_failed(&err);
    if (status < 0) {
        tool_warn_error(&err);
        return 1;
    }
    return 0;
}

/* Outputs one operand; returns 0, or 1 after reporting a failure. */
static int cat_file(struct cat *c, const char *path)
{
    mmio_error err;
    mmio_file *in;
    int status;

    in = strcmp(path, "-") == 0 ? mmio_stdin(&err)
                                : mmio_open(path, MMIO_READ, &err);
    if (!in) {
        tool_warn_error(&err);
        return 1;
    }
    if (is_output(c, in)) {
        tool_warn("%s: input file is output file", path);
        status = 1;
    } else {
        status = c->plain ? copy_file(c, in) : format_file(c, in);
    }
    mmio_close(in, NULL);
    return status;
}

static void parse_options(struct cat *c, int argc, char **argv)
{
    int opt;

    c->plain = true;
    while ((opt = getopt_long(argc, argv, "AbeEnstTuv", long_options, NULL))
           != -1) {
        c->plain = c->plain && opt == 'u';
        switch (opt) {
        case 'A': c->show_nonprinting = c->show_ends = c->show_tabs = true; break;
        case 'b': c->number_nonblank = true; break;
        case 'e': c->show_nonprinting = c->show_ends = true; break;
        case 'E': c->show_ends = true; break;
        case 'n': c->number_all = true; break;
        case 's': c->squeeze_blank = true; break;
        case 't': c->show_nonprinting = c->show_tabs = true; break;
        case 'T': c->show_tabs = true; break;
        case 'u': break;
        case 'v': c->show_nonprinting = true; break;
        case OPT_HELP: tool_help(usage_text);
        case OPT_VERSION: tool_version();
        default: tool_usage_error(NULL);
        }
    }
    if (c->number_nonblank)
        c->number_all = false;
}

int main(int argc, char **argv)
{
    static struct cat cat;
    mmio_error err;
    int status = 0;

    tool_start("mmcat", argv);
    parse_options(&cat, argc, argv);
    argc -= optind;
    argv += optind;

    cat.out.file = mmio_stdout(&err);
    if (!cat.out.file) {
        tool_warn_error(&err);
        return tool_finish(1);
    }
    cat.out.pos = cat.out.buf;
    cat.out.limit = cat.out.buf + OUT_SIZE - OUT_SLACK;
    line_number_init(&cat.number);
    build_notation(&cat);

    if (argc == 0)
        status |= cat_file(&cat, "-");
    for (int i = 0; i < argc; i++)
        status |= cat_file(&cat, argv[i]);
    if (cat.pending_cr)
        *cat.out.pos++ = '\r';
    out_flush(&cat.out);
    mmio_close(cat.out.file, NULL);
    return tool_finish(status);
}
