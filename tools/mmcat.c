/* mmcat: concatenate files to standard output, byte for byte as GNU cat
 * does, reading regular files through memory mappings. */
#include <config.h>

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
/* Room kept free past LIMIT for one line number, one notation and "$\n". */
#define OUT_SLACK 64

struct out {
    mmio_file *file;
    unsigned char *pos;
    unsigned char *limit;
    unsigned char buf[OUT_SIZE];
};

static void out_flush(struct out *o)
{
    xwrite(o->file, o->buf, (size_t)(o->pos - o->buf));
    o->pos = o->buf;
}

/* Makes sure at least OUT_SLACK bytes are free. */
static inline void out_room(struct out *o)
{
    if (o->pos >= o->limit)
        out_flush(o);
}

/* Appends N bytes, leaving at least OUT_SLACK bytes free. */
static inline void out_copy(struct out *o, const unsigned char *p, size_t n)
{
    while ((size_t)(o->limit - o->pos) < n) {
        size_t part = (size_t)(o->limit - o->pos);
        memcpy(o->pos, p, part);
        o->pos += part;
        p += part;
        n -= part;
        out_flush(o);
    }
    memcpy(o->pos, p, n);
    o->pos += n;
}

/* ---- Line numbers ---------------------------------------------------------- */

/* The number as right-aligned text followed by a tab, as "%6d\t" would
 * print it, counted up in place. */
#define NUMBER_DIGITS 21
struct line_number {
    char text[NUMBER_DIGITS + 1];
    int print;  /* where the printed text starts: at most 6 digits back */
};

static void line_number_init(struct line_number *n)
{
    memset(n->text, ' ', NUMBER_DIGITS);
    n->text[NUMBER_DIGITS - 1] = '0';
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

/* ---- Scanning ---------------------------------------------------------------- */

#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t x;

    memcpy(&x, p, sizeof x);
    return x;
}

/* Non-zero when some byte of X is zero. */
static inline uint64_t has_zero_byte(uint64_t x)
{
    return (x - ONES) & ~x & HIGHS;
}

/* Non-zero when some byte of X is below ' ' or above '~'. */
static inline uint64_t has_unprintable_byte(uint64_t x)
{
    uint64_t low7 = x & ~HIGHS;
    uint64_t at_least_7f = (low7 + ONES) | x;
    uint64_t at_least_20 = low7 + 0x60 * ONES;

    return (at_least_7f | ~at_least_20) & HIGHS;
}

static const unsigned char *find_newline(const unsigned char *p,
                                         const unsigned char *end)
{
    const unsigned char *q = memchr(p, '\n', (size_t)(end - p));

    return q ? q : end;
}

static const unsigned char *find_tab_or_newline(const unsigned char *p,
                                                const unsigned char *end)
{
    while (end - p >= 8) {
        uint64_t x = load64(p);
        if (has_zero_byte(x ^ ('\t' * ONES)) | has_zero_byte(x ^ ('\n' * ONES)))
            break;
        p += 8;
    }
    while (p < end && *p != '\t' && *p != '\n')
        p++;
    return p;
}

static const unsigned char *find_unprintable(const unsigned char *p,
                                             const unsigned char *end)
{
    while (end - p >= 16 && !(has_unprintable_byte(load64(p))
                              | has_unprintable_byte(load64(p + 8))))
        p += 16;
    while (end - p >= 8 && !has_unprintable_byte(load64(p)))
        p += 8;
    while (p < end && *p >= ' ' && *p <= '~')
        p++;
    return p;
}

/* ---- Formatting ------------------------------------------------------------- */

enum scan { SCAN_NEWLINE, SCAN_TAB_OR_NEWLINE, SCAN_UNPRINTABLE };

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
    enum scan scan;
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
    c->scan = c->show_nonprinting ? SCAN_UNPRINTABLE
            : c->show_tabs ? SCAN_TAB_OR_NEWLINE : SCAN_NEWLINE;
}

static inline const unsigned char *find_stop(const struct cat *c,
                                             const unsigned char *p,
                                             const unsigned char *end)
{
    switch (c->scan) {
    case SCAN_TAB_OR_NEWLINE: return find_tab_or_newline(p, end);
    case SCAN_UNPRINTABLE: return find_unprintable(p, end);
    default: return find_newline(p, end);
    }
}

static inline void emit_number(struct cat *c)
{
    struct line_number *n = &c->number;
    size_t len;

    line_number_next(n);
    len = (size_t)(NUMBER_DIGITS + 1 - n->print);
    memcpy(c->out.pos, n->text + n->print, len);
    c->out.pos += len;
}

static inline void emit_line_end(struct cat *c)
{
    if (c->show_ends)
        *c->out.pos++ = '$';
    *c->out.pos++ = '\n';
}

/* A newline at the start of a line: an empty line, perhaps squeezed. */
static void empty_line(struct cat *c)
{
    if (c->newlines < 2)
        c->newlines++;
    if (c->newlines == 2 && c->squeeze_blank)
        return;
    if (c->number_all)
        emit_number(c);
    emit_line_end(c);
}

/* Settles a CR held back from the previous piece, now that the first
 * byte of this one is known. */
static void settle_pending_cr(struct cat *c, unsigned char next)
{
    out_room(&c->out);
    if (next == '\n') {
        *c->out.pos++ = '^';
        *c->out.pos++ = 'M';
    } else {
        *c->out.pos++ = '\r';
    }
    c->pending_cr = false;
}

/* Formats the bytes [START, END) into the output buffer. */
static void format_piece(struct cat *c, const unsigned char *start,
                         const unsigned char *end)
{
    bool numbering = c->number_all || c->number_nonblank;
    const unsigned char *p = start;

    if (c->pending_cr)
        settle_pending_cr(c, *p);
    while (p < end) {
        out_room(&c->out);
        if (c->newlines >= 0) {
            if (*p == '\n') {
                empty_line(c);
                p++;
                continue;
            }
            if (numbering)
                emit_number(c);
            c->newlines = -1;
        }
        const unsigned char *stop = find_stop(c, p, end);
        out_copy(&c->out, p, (size_t)(stop - p));
        if (stop == end) {
            if (c->crlf_rule && stop > p && stop[-1] == '\r') {
                c->out.pos--;
                c->pending_cr = true;
            }
            break;
        }
        if (*stop == '\n') {
            if (c->crlf_rule && stop > start && stop[-1] == '\r') {
                c->out.pos[-1] = '^';
                *c->out.pos++ = 'M';
            }
            emit_line_end(c);
            c->newlines = 0;
        } else {
            const struct notation *n = &c->notation[*stop];
            memcpy(c->out.pos, n->text, sizeof n->text);
            c->out.pos += n->length;
        }
        p = stop + 1;
    }
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
