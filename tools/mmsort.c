/* mmsort: sort lines of text files as GNU sort does in the C locale,
 * reading them through memory mappings. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytescan.h"
#include "mmio.h"
#include "ostream.h"
#include "parallel.h"
#include "progress.h"
#include "size.h"
#include "sortkey.h"
#include "sortlines.h"
#include "sortmerge.h"
#include "sortrecords.h"
#include "tool.h"

static const char usage_text[] =
    "Usage: %s [OPTION]... [FILE]...\n"
    "Write sorted concatenation of all FILE(s) to standard output.\n"
    "\n"
    "With no FILE, or when FILE is -, read standard input.\n"
    "\n"
    "Ordering options:\n"
    "  -b, --ignore-leading-blanks  ignore leading blanks\n"
    "  -d, --dictionary-order      consider only blanks and alphanumeric characters\n"
    "  -f, --ignore-case           fold lower case to upper case characters\n"
    "  -g, --general-numeric-sort  compare according to general numerical value\n"
    "  -i, --ignore-nonprinting    consider only printable characters\n"
    "  -M, --month-sort            compare (unknown) < 'JAN' < ... < 'DEC'\n"
    "  -h, --human-numeric-sort    compare human readable numbers (e.g., 2K 1G)\n"
    "  -n, --numeric-sort          compare according to string numerical value\n"
    "  -r, --reverse               reverse the result of comparisons\n"
    "      --sort=WORD             sort according to WORD:\n"
    "                                general-numeric -g, human-numeric -h, month -M,\n"
    "                                numeric -n, version -V\n"
    "  -V, --version-sort          natural sort of (version) numbers within text\n"
    "\n"
    "Other options:\n"
    "  -c, --check, --check=diagnose-first  check for sorted input; do not sort\n"
    "  -C, --check=quiet, --check=silent  like -c, but do not report first bad line\n"
    "  -I, --in-place            sort each FILE where it is, keeping its inode\n"
    "  -k, --key=KEYDEF          sort via a key; KEYDEF gives location and type\n"
    "  -m, --merge               merge already sorted files; do not sort\n"
    "  -o, --output=FILE         write result to FILE instead of standard output\n"
    "  -s, --stable              stabilize sort by disabling last-resort comparison\n"
    "  -S, --buffer-size=SIZE    use SIZE for main memory buffer\n"
    "  -t, --field-separator=SEP  use SEP instead of non-blank to blank transition\n"
    "  -T, --temporary-directory=DIR  use DIR for temporaries\n"
    "      --parallel=N          change the number of sorts run concurrently to N\n"
    "      --progress            show the phase and how far it is on standard error\n"
    "  -u, --unique              with -c, check for strict ordering;\n"
    "                              without -c, output only the first of an equal run\n"
    "  -z, --zero-terminated     line delimiter is NUL, not newline\n"
    "\n"
    "Record mode (fixed-size binary records; see mmsort(1)):\n"
    "      --record-size=N       sort records of N bytes instead of lines\n"
    "      --key-offset=N        the key starts N bytes into the record (0)\n"
    "      --key-size=N          the key is N bytes (the rest of the record)\n"
    "      --key-type=TYPE       bytes (default), u8, i8, u16le, u16be, i16le,\n"
    "                              i16be, u32le ... i64be, f32le, f32be, f64le,\n"
    "                              f64be; -r, -s, -u, -c, -C, -o, -I apply\n"
    "      --help        display this help and exit\n"
    "      --version     output version information and exit\n"
    "\n"
    "KEYDEF is F[.C][OPTS][,F[.C][OPTS]] for start and stop position, where F is a\n"
    "field number and C a character position in the field; both are origin 1, and\n"
    "the stop position defaults to the line's end.  If neither -t nor -b is in\n"
    "effect, characters in a field are counted from the beginning of the preceding\n"
    "whitespace.  OPTS is one or more single-letter ordering options [bdfghiMnrV],\n"
    "which override global ordering options for that key.  If no key is given, use\n"
    "the entire line as the key.\n"
    "\n"
    "SIZE may be followed by the following multiplicative suffixes:\n"
    "%% 1%% of memory, b 1, K 1024 (default), and so on for M, G, T, P, E, Z, Y.\n"
    "\n"
    "Comparisons are bytewise, as in the C locale.\n";

/* GNU sort's exit statuses. */
#define SORT_DISORDER 1 /* -c or -C found the input out of order */
#define SORT_TROUBLE  2 /* anything else that went wrong */

enum {
    OPT_HELP = 256, OPT_VERSION, OPT_PARALLEL, OPT_SORT, OPT_CHECK,
    OPT_RECORD_SIZE, OPT_KEY_OFFSET, OPT_KEY_SIZE, OPT_KEY_TYPE, OPT_PROGRESS
};

static const struct option long_options[] = {
    { "ignore-leading-blanks", no_argument, NULL, 'b' },
    { "check", optional_argument, NULL, OPT_CHECK },
    { "dictionary-order", no_argument, NULL, 'd' },
    { "ignore-case", no_argument, NULL, 'f' },
    { "in-place", no_argument, NULL, 'I' },
    { "general-numeric-sort", no_argument, NULL, 'g' },
    { "human-numeric-sort", no_argument, NULL, 'h' },
    { "ignore-nonprinting", no_argument, NULL, 'i' },
    { "key", required_argument, NULL, 'k' },
    { "merge", no_argument, NULL, 'm' },
    { "month-sort", no_argument, NULL, 'M' },
    { "numeric-sort", no_argument, NULL, 'n' },
    { "output", required_argument, NULL, 'o' },
    { "reverse", no_argument, NULL, 'r' },
    { "sort", required_argument, NULL, OPT_SORT },
    { "stable", no_argument, NULL, 's' },
    { "buffer-size", required_argument, NULL, 'S' },
    { "field-separator", required_argument, NULL, 't' },
    { "temporary-directory", required_argument, NULL, 'T' },
    { "unique", no_argument, NULL, 'u' },
    { "version-sort", no_argument, NULL, 'V' },
    { "zero-terminated", no_argument, NULL, 'z' },
    { "parallel", required_argument, NULL, OPT_PARALLEL },
    { "progress", no_argument, NULL, OPT_PROGRESS },
    { "record-size", required_argument, NULL, OPT_RECORD_SIZE },
    { "key-offset", required_argument, NULL, OPT_KEY_OFFSET },
    { "key-size", required_argument, NULL, OPT_KEY_SIZE },
    { "key-type", required_argument, NULL, OPT_KEY_TYPE },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 }
};

/* ---- Messages -------------------------------------------------------------- */

/* "mmsort: MESSAGE", then exit 2: GNU sort's die(SORT_FAILURE, ...). */
static void xdie(const char *format, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void xdie(const char *format, ...)
{
    char message[1024];
    va_list ap;

    va_start(ap, format);
    vsnprintf(message, sizeof message, format, ap);
    va_end(ap);
    tool_warn("%s", message);
    exit(tool_finish(SORT_TROUBLE));
}

/* "mmsort: WHAT: PATH: REASON", then exit 2. */
static void xdie_error(const char *what, const mmio_error *err)
    __attribute__((noreturn));

static void xdie_error(const char *what, const mmio_error *err)
{
    char reason[256];

    mmio_strerror(err->code, reason, sizeof reason);
    if (!err->path)
        xdie("%s: %s", what, reason);
    xdie("%s: %s: %s", what, tool_quote(err->path), reason);
}

/* ---- Options ---------------------------------------------------------------- */

struct options {
    struct sort_spec spec;
    int check;              /* 0, or 'c' or 'C' */
    bool merge;             /* -m */
    bool in_place;          /* -I */
    const char *output;     /* -o, or NULL for standard output */
    unsigned threads;       /* --parallel */
    struct size_value size; /* -S */
    bool size_given;
    const char **temp_dirs; /* -T, in order; or mmio_temp_dir() alone */
    size_t temp_dir_count;
    bool progress;          /* --progress */
    struct record_options records; /* --record-size and its key */
    int text_only;          /* the last option given that only text takes */
};

static void parse_tab(struct sort_spec *spec, const char *arg)
{
    int tab = (unsigned char)arg[0];

    if (arg[0] == '\0')
        xdie("empty tab");
    if (arg[1] != '\0') {
        if (strcmp(arg, "\\0") != 0)
            xdie("multi-character tab '%s'", arg);
        tab = '\0';
    }
    if (spec->tab != TAB_DEFAULT && spec->tab != tab)
        xdie("incompatible tabs");
    spec->tab = tab;
}

static void parse_size(struct options *o, const char *arg)
{
    switch (size_parse(arg, 1024, &o->size)) {
    case SIZE_OK: o->size_given = true; return;
    case SIZE_INVALID: xdie("invalid -S argument '%s'", arg);
    case SIZE_BAD_SUFFIX: xdie("invalid suffix in -S argument '%s'", arg);
    case SIZE_TOO_LARGE: xdie("-S argument '%s' too large", arg);
    }
}

static void parse_parallel(struct options *o, const char *arg)
{
    uint64_t n;
    const char *end;
    enum size_status status = size_parse_count(arg, &n, &end);

    if (status == SIZE_INVALID)
        xdie("invalid --parallel argument '%s'", arg);
    if (*end != '\0')
        xdie("invalid suffix in --parallel argument '%s'", arg);
    if (n == 0)
        xdie("number in parallel must be nonzero");
    o->threads = n > 64 ? 64 : (unsigned)n;
}

/* -T DIR: GNU uses each of several in turn. */
static void add_temp_dir(struct options *o, const char *dir)
{
    const char **dirs = realloc(o->temp_dirs, (o->temp_dir_count + 1) * sizeof *dirs);

    if (!dirs)
        xdie("memory exhausted");
    dirs[o->temp_dir_count++] = dir;
    o->temp_dirs = dirs;
}

static void set_check(struct options *o, int mode)
{
    if (o->check && o->check != mode)
        xdie("options '-cC' are incompatible");
    o->check = mode;
}

/* --check=WORD, and --sort=WORD: the word, or a prefix of only one. */
static int match_word(const char *arg, const char *const *words)
{
    int found = -1, matches = 0;

    for (int i = 0; words[i]; i++) {
        if (strcmp(words[i], arg) == 0)
            return i;
        if (strncmp(words[i], arg, strlen(arg)) == 0) {
            found = i;
            matches++;
        }
    }
    return matches == 1 ? found : -1;
}

/* A word that OPTION does not take: GNU's argmatch complaint, exit 1. */
static void xbad_word(const char *option, const char *arg, const char *valid)
    __attribute__((noreturn));

static void xbad_word(const char *option, const char *arg, const char *valid)
{
    tool_warn("invalid argument '%s' for '%s'", arg, option);
    fprintf(stderr, "Valid arguments are:\n%sTry '%s --help' for more information.\n",
            valid, tool_name());
    exit(tool_finish(1));
}

static void parse_check(struct options *o, const char *arg)
{
    static const char *const words[] = { "quiet", "silent", "diagnose-first", NULL };
    int word = arg ? match_word(arg, words) : 2;

    if (word < 0)
        xbad_word("--check", arg, "  - 'quiet', 'silent'\n  - 'diagnose-first'\n");
    set_check(o, word == 2 ? 'c' : 'C');
}

static void parse_sort_word(struct options *o, const char *arg)
{
    static const char *const words[] = {
        "general-numeric", "human-numeric", "month", "numeric", "version", NULL
    };
    static const char letters[] = "ghMnV";
    int word = match_word(arg, words);

    if (word < 0)
        xbad_word("--sort", arg, "  - 'general-numeric'\n  - 'human-numeric'\n"
                  "  - 'month'\n  - 'numeric'\n  - 'version'\n");
    sort_key_letter(&o->spec.global, letters[word], true, true);
}

static void parse_options(struct options *o, int argc, char **argv)
{
    char message[512];
    int opt;

    while ((opt = tool_getopt(argc, argv, "bcCdfghiIk:mMno:rsS:t:T:uVz",
                              long_options)) != -1) {
        if (opt == OPT_SORT || opt == OPT_PROGRESS
            || (opt < 256 && strchr("bdfghikmMntVz", opt)))
            o->text_only = opt;
        switch (opt) {
        case 'c': case 'C': set_check(o, opt); break;
        case OPT_CHECK: parse_check(o, optarg); break;
        case 'k':
            if (!sort_spec_add_key(&o->spec, optarg, message, sizeof message))
                xdie("%s", message);
            break;
        case 'I': o->in_place = true; break;
        case 'm': o->merge = true; break;
        case 'o':
            if (o->output && strcmp(o->output, optarg) != 0)
                xdie("multiple output files specified");
            o->output = optarg;
            break;
        case 's': o->spec.stable = true; break;
        case 'S': parse_size(o, optarg); break;
        case 't': parse_tab(&o->spec, optarg); break;
        case 'T': add_temp_dir(o, optarg); break;
        case 'u': o->spec.unique = true; break;
        case 'z': o->spec.eol = '\0'; break;
        case OPT_PARALLEL: parse_parallel(o, optarg); break;
        case OPT_SORT: parse_sort_word(o, optarg); break;
        case OPT_PROGRESS: o->progress = true; break;
        case OPT_RECORD_SIZE: case OPT_KEY_OFFSET: case OPT_KEY_SIZE:
        case OPT_KEY_TYPE:
            record_option(&o->records, opt - OPT_RECORD_SIZE, optarg);
            break;
        case OPT_HELP: tool_help(usage_text);
        case OPT_VERSION: tool_version();
        default: /* an ordering letter, for every key without its own */
            sort_key_letter(&o->spec.global, (char)opt, true, true);
        }
    }
    if (o->check && o->output)
        xdie("options '-%co' are incompatible", o->check);
    if (!sort_spec_finish(&o->spec, message, sizeof message))
        xdie("%s", message);
}

/* ---- Input ------------------------------------------------------------------ */

/* One operand, loaded whole: mapped when it is a regular file.  When
 * sorting, any other input is read into BUFFER, and one that does not fit
 * there is sorted piece by piece as it comes (MORE). */
struct input {
    const char *name;
    mmio_file *file;
    mmio_view view;
    unsigned char *buffer;  /* VIEW's bytes, when read here */
    size_t capacity;        /* BUFFER's size */
    bool more;              /* the stream goes on past what BUFFER holds */
};

/* Everything a sort works on: the inputs and the lines found in them. */
struct sort {
    struct options options;
    struct input *inputs;
    size_t input_count;
    struct line *lines;
    size_t line_count;
    bool by_key;         /* sort_lines finds the first keys: no prefixes */
    size_t max_lines;    /* more lines than this: sorted in runs (or 0) */
    struct progress progress; /* --progress */
    bool external;       /* there are more: no lines were found */
    bool bucketed;       /* the lines were found in buckets (sort_bucketed) */
    size_t bucket_start[FIRST_BUCKETS + 1];
};

/* Opens one operand: with -I, a regular file to be written. */
static void open_input(struct input *in, const char *name, bool in_place)
{
    mmio_error err;

    in->name = name;
    if (in_place && strcmp(name, "-") == 0)
        xdie("standard input cannot be sorted in place");
    in->file = strcmp(name, "-") == 0 ? mmio_stdin(&err)
               : mmio_open(name, in_place ? MMIO_RDWR | MMIO_REGULAR_ONLY
                                          : MMIO_RDONLY, &err);
    if (!in->file)
        xdie_error(in_place ? "open failed" : "cannot read", &err);
}

/* Loads an open operand whole: with -I, mapped to be written. */
static void map_input(struct input *in, bool in_place)
{
    mmio_error err;

    if (mmio_load(in->file, in_place ? MMIO_MAP_SHARED : MMIO_MAP_READ,
                  &in->view, &err) < 0)
        xdie_error("read failed", &err);
    mmio_advise(&in->view, MMIO_WILLNEED);
}

static void load_input(struct input *in, const char *name, bool in_place)
{
    open_input(in, name, in_place);
    map_input(in, in_place);
}

/* Reads IN's stream into its buffer after the HELD bytes there, until the
 * buffer is full or the stream ends. */
static void fill_buffer(struct input *in, size_t held)
{
    mmio_error err;
    size_t got = 1;

    while (held < in->capacity && got > 0) {
        if (mmio_read(in->file, in->buffer + held, in->capacity - held, &got,
                      &err) < 0)
            xdie_error("read failed", &err);
        held += got;
    }
    in->more = got > 0; /* a full buffer: a later read tells */
    in->view.data = in->buffer;
    in->view.size = held;
}

/* Opens an operand to sort: a regular file is mapped whole; anything else
 * is read into a buffer of CAPACITY bytes, and what does not fit waits
 * for sort_stream. */
static void open_to_sort(struct input *in, const char *name, size_t capacity)
{
    open_input(in, name, false);
    if (mmio_kind(in->file) == MMIO_KIND_REGULAR) {
        map_input(in, false);
        return;
    }
    in->buffer = malloc(capacity);
    if (!in->buffer)
        xdie("memory exhausted");
    in->capacity = capacity;
    fill_buffer(in, 0);
}

/* The size of all the inputs, for --progress. */
static uint64_t input_bytes(const struct sort *s)
{
    uint64_t bytes = 0;

    for (size_t i = 0; i < s->input_count; i++)
        bytes += s->inputs[i].view.size;
    return bytes;
}

/* Unmaps and closes the inputs: Windows renames no file that is mapped. */
static void release_inputs(struct sort *s)
{
    for (size_t i = 0; i < s->input_count; i++) {
        if (s->inputs[i].view.data || s->inputs[i].view.base)
            mmio_unmap(&s->inputs[i].view, NULL);
        mmio_close(s->inputs[i].file, NULL);
        free(s->inputs[i].buffer);
    }
    s->input_count = 0;
}

/* After a fault in mapped input: the name of the input that shrank. */
static void xdie_shrunk(struct sort *s)
{
    mmio_error err = { "read", NULL, MMIO_ESHRUNK };

    for (size_t i = 0; i < s->input_count; i++) {
        uint64_t size;
        if (mmio_kind(s->inputs[i].file) == MMIO_KIND_REGULAR
            && mmio_size(s->inputs[i].file, &size, NULL) == 0
            && size < s->inputs[i].view.size)
            err.path = s->inputs[i].name;
    }
    xdie_error("read failed", &err);
}

/* The number of lines in DATA: a last one without a terminator counts. */
static size_t count_lines(const unsigned char *data, size_t size,
                          unsigned char eol)
{
    struct bytescan set;
    struct bytescan_regs regs;
    size_t count = 0, at = 0;

    bytescan_init(&set, -128, eol, eol, eol);
    bytescan_load(&regs, &set);
    for (; size - at >= 64; at += 64)
        count += (size_t)__builtin_popcountll(bytescan_mask64(&regs, data + at));
    count += (size_t)__builtin_popcountll(bytescan_mask_tail(&regs, data + at,
                                                             size - at));
    return count + (size > 0 && data[size - 1] != eol);
}

/* Counts the lines of DATA into COUNTS by their first_bucket. */
static size_t count_line_buckets(const unsigned char *data, size_t size,
                                 unsigned char eol,
                                 size_t counts[FIRST_BUCKETS])
{
    const unsigned char *p = data, *end = data + size;
    struct bytescan set;
    struct bytescan_cursor cursor;
    size_t n = 0;

    bytescan_init(&set, -128, eol, eol, eol);
    bytescan_start(&cursor, &set, data, end);
    for (; p < end; n++) {
        const unsigned char *hit = bytescan_next(&cursor);
        counts[first_bucket(p, (size_t)(hit - p))]++;
        p = hit + 1;
    }
    return n;
}

/* Appends the lines of DATA at LINES, with their prefixes for SPEC
 * unless NO_PREFIXES; or, with NEXT, puts each at LINES[NEXT[B]++] for
 * its first_bucket B. */
static void split_lines(struct line *lines, size_t *next,
                        const unsigned char *data, size_t size,
                        const struct sort_spec *spec, bool no_prefixes)
{
    const unsigned char *p = data, *end = data + size;
    struct bytescan set;
    struct bytescan_cursor cursor;

    bytescan_init(&set, -128, spec->eol, spec->eol, spec->eol);
    bytescan_start(&cursor, &set, data, end);
    while (p < end) {
        const unsigned char *hit = bytescan_next(&cursor);
        size_t length = (size_t)(hit - p);
        struct line line = { p, length, no_prefixes ? 0
                                        : spec->bytewise ? line_prefix(p, length)
                                        : sort_prefix(spec, p, length) };
        if (next)
            lines[next[first_bucket(p, length)]++] = line;
        else
            *lines++ = line;
        p = hit + 1;
    }
}

/* A piece of an input that ends after a line terminator (or at the end
 * of the input), so that threads can find its lines on their own. */
struct chunk {
    const unsigned char *start, *end;
    size_t input;
    size_t first_line; /* the index of its first line among all */
};

#define CHUNK_MIN ((size_t)1 << 20)

/* Where to cut [P, END) near P + SIZE: just after a terminator. */
static const unsigned char *chunk_cut(const unsigned char *p,
                                      const unsigned char *end, size_t size,
                                      unsigned char eol)
{
    const unsigned char *hit;

    if ((size_t)(end - p) <= size)
        return end;
    hit = memchr(p + size, eol, (size_t)(end - p - size));
    return hit ? hit + 1 : end;
}

/* Cuts every input into chunks, about one per thread for a large one;
 * touches mapped memory, so runs in a guard.  Returns the chunk count. */
static size_t cut_chunks(struct sort *s, struct chunk *chunks, size_t max)
{
    unsigned char eol = s->options.spec.eol;
    size_t count = 0;

    for (size_t i = 0; i < s->input_count; i++) {
        const unsigned char *p = s->inputs[i].view.data;
        const unsigned char *end = p + s->inputs[i].view.size;
        size_t size = s->inputs[i].view.size / s->options.threads + 1;

        if (size < CHUNK_MIN)
            size = CHUNK_MIN;
        do {
            const unsigned char *cut = count + 1 < max ? chunk_cut(p, end, size, eol)
                                                       : end;
            chunks[count++] = (struct chunk){ p, cut, i, 0 };
            p = cut;
        } while (p < end);
    }
    return count;
}

/* The work of finding lines: the chunks, shared out over the threads. */
struct finder {
    struct sort *sort;
    struct chunk *chunks;
    size_t count;
    unsigned parts;
    size_t (*buckets)[FIRST_BUCKETS]; /* chunk C's counts, then where they go */
};

static int count_chunk_lines(void *arg, unsigned index)
{
    struct finder *f = arg;

    for (size_t c = index; c < f->count; c += f->parts) {
        const unsigned char *start = f->chunks[c].start;
        size_t size = (size_t)(f->chunks[c].end - start);
        unsigned char eol = f->sort->options.spec.eol;
        f->chunks[c].first_line = f->buckets
                                  ? count_line_buckets(start, size, eol, f->buckets[c])
                                  : count_lines(start, size, eol);
    }
    return 0;
}

static int split_chunk_lines(void *arg, unsigned index)
{
    struct finder *f = arg;

    for (size_t c = index; c < f->count; c += f->parts)
        split_lines(f->buckets ? f->sort->lines : f->sort->lines + f->chunks[c].first_line,
                    f->buckets ? f->buckets[c] : NULL, f->chunks[c].start,
                    (size_t)(f->chunks[c].end - f->chunks[c].start),
                    &f->sort->options.spec, f->sort->by_key);
    return 0;
}

static int cut_guarded(void *arg, unsigned index)
{
    struct finder *f = arg;

    (void)index;
    f->count = cut_chunks(f->sort, f->chunks, f->count);
    return 0;
}

/* Turns the chunks' counts of lines in each bucket into where their
 * lines go: bucket by bucket, chunk by chunk. */
static void plan_buckets(struct finder *f)
{
    size_t at = 0;

    for (unsigned b = 0; b < FIRST_BUCKETS; b++) {
        f->sort->bucket_start[b] = at;
        for (size_t c = 0; c < f->count; c++) {
            size_t count = f->buckets[c][b];
            f->buckets[c][b] = at;
            at += count;
        }
    }
    f->sort->bucket_start[FIRST_BUCKETS] = at;
}

/* Finds the lines of every input on threads: each counts the lines of its
 * chunks, then writes them where the counts say: in input order, or for a
 * bytewise sort in buckets by their first bytes (not to be checked). */
static void find_lines(struct sort *s)
{
    size_t max = s->input_count * (s->options.threads + 1) + 1, total = 0;
    struct finder f = { s, malloc(max * sizeof *f.chunks), max, s->options.threads, NULL };
    mmio_error err;

    s->bucketed = s->options.spec.bytewise && !s->options.check;
    if (s->bucketed)
        f.buckets = calloc(max, sizeof *f.buckets);
    if (!f.chunks || (s->bucketed && !f.buckets))
        xdie("memory exhausted");
    if (parallel_run(1, cut_guarded, &f, &err) < 0
        || parallel_run(f.parts, count_chunk_lines, &f, &err) < 0)
        xdie_shrunk(s);
    for (size_t c = 0; c < f.count; c++) { /* counts to first lines */
        size_t lines = f.chunks[c].first_line;
        f.chunks[c].first_line = total;
        total += lines;
    }
    s->line_count = total;
    s->external = s->max_lines && total > s->max_lines; /* then in pieces */
    if (!s->external) {
        if (s->bucketed)
            plan_buckets(&f);
        s->lines = malloc((total ? total : 1) * sizeof *s->lines);
        if (!s->lines)
            xdie("memory exhausted");
        if (parallel_run(f.parts, split_chunk_lines, &f, &err) < 0)
            xdie_shrunk(s);
    }
    free(f.chunks);
    free(f.buckets);
}

/* The memory for the lines of one run: -S, else half of physical memory. */
static uint64_t memory_budget(const struct options *o)
{
    uint64_t physical = mmio_physical_memory();

    if (physical == 0)
        physical = (uint64_t)2 << 30; /* unknown: as if 2 GiB */
    if (!o->size_given)
        return physical / 2;
    if (o->size.percent)
        return physical / 100 * o->size.amount;
    return o->size.amount;
}

/* The most lines sorted at once: each takes two struct lines (a sort
 * needs room to merge into) and a byte for the first-key radix. */
static size_t lines_in_budget(const struct options *o)
{
    uint64_t lines = memory_budget(o) / (2 * sizeof(struct line) + 1);

    if (lines < 1024)
        lines = 1024; /* as GNU, a budget too small to work in is raised */
    if (lines > SIZE_MAX / (2 * sizeof(struct line)))
        lines = SIZE_MAX / (2 * sizeof(struct line)); /* what memory can hold */
    return (size_t)lines;
}

/* The bytes of a stream read at once: half the budget, so that the text
 * read and the lines found in it take about one and a half budgets. */
static size_t stream_buffer_size(const struct options *o)
{
    uint64_t size = memory_budget(o) / 2;

    if (size < 65536)
        size = 65536;
    return size < SIZE_MAX / 4 ? (size_t)size : SIZE_MAX / 4;
}

/* Loads every operand ("-" when there is none) and finds its lines. */
static void load_inputs(struct sort *s, char **names, size_t count)
{
    static char *standard_input[] = { "-" };

    if (count == 0) {
        names = standard_input;
        count = 1;
    }
    s->inputs = calloc(count, sizeof *s->inputs);
    if (!s->inputs)
        xdie("memory exhausted");
    for (size_t i = 0; i < count; i++) {
        if (s->max_lines) /* sorting: within the budget */
            open_to_sort(&s->inputs[i], names[i], stream_buffer_size(&s->options));
        else
            load_input(&s->inputs[i], names[i], s->options.in_place);
        s->external |= s->inputs[i].more;
        s->input_count++;
    }
    if (!s->external)
        find_lines(s);
}

/* ---- Sorting ---------------------------------------------------------------- */

/* Keeps the first line of each run of equal lines (-u).  Bytewise, equal
 * lines are the same bytes (and the radix sort left other bytes in the
 * prefixes). */
static void remove_duplicates(struct sort *s)
{
    const struct sort_spec *spec = &s->options.spec;
    size_t kept = s->line_count ? 1 : 0;

    for (size_t i = 1; i < s->line_count; i++) {
        const struct line *last = &s->lines[kept - 1], *line = &s->lines[i];
        bool equal = spec->bytewise
                     ? last->length == line->length
                       && memcmp(last->text, line->text, line->length) == 0
                     : line_order(spec, last, line) == 0;
        if (!equal)
            s->lines[kept++] = *line;
    }
    s->line_count = kept;
}

/* sort_guarded for lines found in buckets: no second array of lines. */
static int sort_in_buckets(struct sort *s)
{
    const struct options *o = &s->options;
    mmio_error err;

    if (!sort_bucketed(&o->spec, s->lines, s->line_count, s->bucket_start,
                       o->threads, &err)) {
        if (err.code == ENOMEM)
            xdie("memory exhausted");
        return -1;
    }
    if (o->spec.unique)
        remove_duplicates(s);
    return 0;
}

/* Sorts the lines, then drops duplicates for -u. */
static int sort_guarded(void *arg, unsigned index)
{
    struct sort *s = arg;
    const struct options *o = &s->options;
    size_t n = s->line_count;
    struct line *tmp, *sorted;
    struct text_range *ranges;
    mmio_error err;

    (void)index;
    if (s->bucketed)
        return sort_in_buckets(s);
    tmp = malloc((n ? n : 1) * sizeof *tmp);
    ranges = malloc(s->input_count * sizeof *ranges);
    if (!tmp || !ranges)
        xdie("memory exhausted");
    for (size_t i = 0; i < s->input_count; i++) {
        const unsigned char *data = s->inputs[i].view.data;
        ranges[i] = (struct text_range){ data, data + s->inputs[i].view.size };
    }
    sorted = sort_lines(&o->spec, s->lines, tmp, n, ranges, s->input_count,
                        o->threads, &err);
    free(ranges);
    if (!sorted)
        return -1;
    free(sorted == s->lines ? tmp : s->lines);
    s->lines = sorted;
    if (o->spec.unique)
        remove_duplicates(s);
    return 0;
}

/* ---- Output ----------------------------------------------------------------- */

#define OUT_SIZE ((size_t)256 * 1024)

/* Where the sorted lines go, buffered; NAME is what messages call it. */
struct output {
    mmio_file *file;
    const char *name;
    unsigned char *buf;
    size_t used;
    unsigned char eol;  /* for emit_line */
    struct progress *progress; /* counts the bytes written, or NULL */
    struct ostream *stream; /* writes BUF while the next is filled, or NULL */
};

static void xdie_write(struct output *o, const mmio_error *err)
{
    char reason[256];

    mmio_close(o->file, NULL); /* removes an atomic temporary */
    xdie("write failed: %s: %s", tool_quote(o->name),
         mmio_strerror(err->code, reason, sizeof reason));
}

static void xwrite_output(struct output *o, const void *data, size_t size)
{
    mmio_error err;

    /* What the stream holds goes first. */
    if (o->stream && ostream_drain(o->stream, &err) < 0)
        xdie_write(o, &err);
    if (size > 0 && mmio_write(o->file, data, size, &err) < 0)
        xdie_write(o, &err);
}

static void output_flush(struct output *o)
{
    mmio_error err;

    if (!o->stream)
        xwrite_output(o, o->buf, o->used);
    else if (ostream_submit(o->stream, o->buf, o->used, &err) < 0
             || !(o->buf = ostream_take(o->stream, &err)))
        xdie_write(o, &err);
    if (o->progress)
        progress_add(o->progress, o->used);
    o->used = 0;
}

/* Gives O a buffer of OUT_SIZE bytes, in a stream of buffers written by a
 * thread of their own while the next is filled. */
static void output_stream_start(struct output *o)
{
    mmio_error err;

    o->stream = ostream_new(o->file, OUT_SIZE, 3, &err);
    if (!o->stream || !(o->buf = ostream_take(o->stream, &err)))
        xdie_write(o, &err);
    o->used = 0;
}

/* Writes what O's stream still holds (O is flushed) and ends it. */
static void output_stream_end(struct output *o)
{
    mmio_error err;

    if (ostream_free(o->stream, &err) < 0)
        xdie_write(o, &err);
    o->stream = NULL;
    o->buf = NULL;
}

static void output_line(struct output *o, const struct line *line,
                        unsigned char eol)
{
    if (OUT_SIZE - o->used <= line->length) {
        output_flush(o);
        if (line->length >= OUT_SIZE) { /* a long line goes out directly */
            xwrite_output(o, line->text, line->length);
            xwrite_output(o, &eol, 1);
            return;
        }
    }
    memcpy(o->buf + o->used, line->text, line->length);
    o->used += line->length;
    o->buf[o->used++] = eol;
}

struct writer {
    struct sort *sort;
    struct output *output;
    unsigned char *map;     /* a mapped output file, or NULL */
    mmio_view *view;        /* MAP's view, when it is one */
    size_t *offsets;        /* where each part's lines go in MAP */
    unsigned parts;
    struct part_write *written; /* write_parts: how each part's writes went */
};

/* A part's writes into the output file: the first that failed. */
struct part_write {
    bool failed;
    mmio_error err;
};

/* Writes every line through the buffer, in a guard (parallel_run). */
static int write_buffered(void *arg, unsigned index)
{
    struct writer *w = arg;

    (void)index;
    for (size_t i = 0; i < w->sort->line_count; i++) {
        if (i + 16 < w->sort->line_count) /* sorted lines are far apart */
            __builtin_prefetch(w->sort->lines[i + 16].text);
        output_line(w->output, &w->sort->lines[i], w->sort->options.spec.eol);
    }
    output_flush(w->output);
    return 0;
}

/* Part INDEX of a mapped output: the bytes of its share of the lines. */
static int measure_part(void *arg, unsigned index)
{
    struct writer *w = arg;
    size_t n = w->sort->line_count, bytes = 0;

    for (size_t i = parallel_split(n, w->parts, index);
         i < parallel_split(n, w->parts, index + 1); i++)
        bytes += w->sort->lines[i].length + 1;
    w->offsets[index + 1] = bytes;
    return 0;
}

/* Part INDEX of a mapped output: copies its share of the lines. */
static int copy_part(void *arg, unsigned index)
{
    struct writer *w = arg;
    size_t n = w->sort->line_count;
    unsigned char *p = w->map + w->offsets[index];
    unsigned char eol = w->sort->options.spec.eol;
    size_t end = parallel_split(n, w->parts, index + 1);

    if (w->view) /* each thread makes its own part's pages at once */
        mmio_advise_range(w->view, w->offsets[index],
                          w->offsets[index + 1] - w->offsets[index], MMIO_WILLWRITE);
    for (size_t i = parallel_split(n, w->parts, index); i < end; i++) {
        const struct line *line = &w->sort->lines[i];
        if (i + 16 < end) /* sorted lines are far apart: ask ahead */
            __builtin_prefetch(w->sort->lines[i + 16].text);
        memcpy(p, line->text, line->length);
        p += line->length;
        *p++ = eol;
    }
    return 0;
}

/* Shares the lines out over the parts of W and sums where each part's
 * bytes start (W->offsets).  Returns the size of the whole output. */
static size_t plan_parts(struct sort *s, struct writer *w)
{
    unsigned threads = s->options.threads;

    w->parts = 1;
    if (s->line_count / 65536 > 1)
        w->parts = s->line_count / 65536 < threads
                   ? (unsigned)(s->line_count / 65536) : threads;
    w->offsets = calloc(w->parts + 1, sizeof *w->offsets);
    if (!w->offsets)
        xdie("memory exhausted");
    parallel_run(w->parts, measure_part, w, NULL);
    for (unsigned i = 0; i < w->parts; i++)
        w->offsets[i + 1] += w->offsets[i];
    return w->offsets[w->parts];
}

/* Writes the lines into the regular file of O through a shared mapping
 * of its final size, the threads copying a share each. */
static void write_mapped(struct sort *s, struct output *o)
{
    struct writer w = { s, o, NULL, NULL, NULL, 1, NULL };
    size_t size = plan_parts(s, &w);
    mmio_view view;
    mmio_error err;

    if (mmio_resize(o->file, size, &err) < 0)
        xdie_write(o, &err);
    if (size > 0) {
        if (mmio_map(o->file, 0, size, MMIO_MAP_SHARED, &view, &err) < 0)
            xdie_write(o, &err);
        w.map = view.data;
        w.view = &view;
        if (parallel_run(w.parts, copy_part, &w, &err) < 0) {
            mmio_close(o->file, NULL);
            xdie_shrunk(s);
        }
        if (mmio_unmap(&view, &err) < 0)
            xdie_write(o, &err);
    }
    free(w.offsets);
}

/* -I: the sorted bytes, to be copied over the file they came from. */
struct copy_back {
    unsigned char *to;
    const unsigned char *from;
    size_t size;
};

static int copy_back_guarded(void *arg, unsigned index)
{
    struct copy_back *c = arg;

    (void)index;
    memcpy(c->to, c->from, c->size);
    return 0;
}

/* -I: maps the whole of the input again, SIZE bytes long now. */
static void remap_input(struct input *in, uint64_t size, struct output *o)
{
    mmio_error err;

    if (mmio_unmap(&in->view, &err) < 0 || mmio_resize(in->file, size, &err) < 0
        || mmio_map(in->file, 0, size, MMIO_MAP_SHARED, &in->view, &err) < 0)
        xdie_write(o, &err);
}

/* -I: gathers the sorted lines in memory, then copies them over the file
 * with SIGINT, SIGTERM and SIGHUP held off, so that such a request leaves
 * the old content or the new.  The file grows by a final newline that it
 * lacked, or shrinks by what -u left out. */
static void write_in_place(struct sort *s)
{
    struct input *in = &s->inputs[0];
    struct output o = { in->file, in->name, NULL, 0, 0, NULL, NULL };
    struct writer w = { s, &o, NULL, NULL, NULL, 1, NULL };
    size_t size = plan_parts(s, &w), old_size = in->view.size;
    struct copy_back back = { NULL, malloc(size ? size : 1), size };
    mmio_error err;

    if (!back.from)
        xdie("memory exhausted");
    w.map = (unsigned char *)back.from;
    if (parallel_run(w.parts, copy_part, &w, &err) < 0)
        xdie_shrunk(s);
    mmio_defer_interrupts();
    if (size > old_size)
        remap_input(in, size, &o);
    back.to = in->view.data;
    if (size > 0 && parallel_run(1, copy_back_guarded, &back, &err) < 0)
        xdie_shrunk(s);
    if ((size > 0 && mmio_flush(&in->view, 0, size, MMIO_SYNC, &err) < 0)
        || mmio_unmap(&in->view, &err) < 0
        || (size < old_size && mmio_resize(in->file, size, &err) < 0))
        xdie_write(&o, &err);
    mmio_allow_interrupts();
    free((unsigned char *)back.from);
    free(w.offsets);
}

/* Opens standard output, or -o FILE as an atomic file, into O. */
static void open_output(const struct sort *s, struct output *o)
{
    const char *path = s->options.output;
    mmio_error err;

    o->file = path ? mmio_create(path, MMIO_ATOMIC, &err) : mmio_stdout(&err);
    if (!o->file)
        xdie_error("open failed", &err);
    o->name = path ? path : "standard output";
}

/* Puts -o FILE in place (the inputs must be closed: Windows renames no
 * mapped file), and closes the output of O. */
static void close_output(const struct sort *s, struct output *o)
{
    mmio_error err;

    if (s->options.output && mmio_commit(o->file, &err) < 0)
        xdie_write(o, &err);
    if (mmio_close(o->file, &err) < 0)
        xdie_write(o, &err);
}

#define PART_BUFFER ((size_t)1 << 20)

/* Writes the SIZE bytes at BUF at *AT of part INDEX's output, moving *AT
 * on; false after noting a failure. */
static bool write_part_bytes(struct writer *w, unsigned index,
                             const void *buf, size_t size, uint64_t *at)
{
    struct part_write *pw = &w->written[index];

    if (size > 0 && mmio_write_at(w->output->file, buf, size, *at, &pw->err) < 0) {
        pw->failed = true;
        return false;
    }
    *at += size;
    return true;
}

/* Part INDEX of an output file that all threads write at once: gathers its
 * share of the lines into a buffer of its own, written at its offset. */
static int write_part(void *arg, unsigned index)
{
    struct writer *w = arg;
    size_t end = parallel_split(w->sort->line_count, w->parts, index + 1), used = 0;
    unsigned char *buf = malloc(PART_BUFFER), eol = w->sort->options.spec.eol;
    uint64_t at = w->offsets[index];
    bool ok = buf != NULL;

    for (size_t i = parallel_split(w->sort->line_count, w->parts, index);
         ok && i < end; i++) {
        const struct line *line = &w->sort->lines[i];
        if (i + 16 < end) /* sorted lines are far apart: ask ahead */
            __builtin_prefetch(w->sort->lines[i + 16].text);
        if (PART_BUFFER - used <= line->length) {
            ok = write_part_bytes(w, index, buf, used, &at);
            used = 0;
        }
        if (ok && line->length >= PART_BUFFER) /* a long line goes directly */
            ok = write_part_bytes(w, index, line->text, line->length, &at)
                 && write_part_bytes(w, index, &eol, 1, &at);
        else if (ok) {
            memcpy(buf + used, line->text, line->length);
            used += line->length;
            buf[used++] = eol;
        }
    }
    if (!buf)
        w->written[index] = (struct part_write){ true, { "write", NULL, ENOMEM } };
    else if (ok)
        write_part_bytes(w, index, buf, used, &at);
    free(buf);
    return 0;
}

/* Writes the lines into the regular file of O on all threads, each its
 * share at its offset. */
static void write_parts(struct sort *s, struct output *o)
{
    struct writer w = { s, o, NULL, NULL, NULL, 1, NULL };
    mmio_error err;

    plan_parts(s, &w);
    w.written = calloc(w.parts, sizeof *w.written);
    if (!w.written)
        xdie("memory exhausted");
    if (parallel_run(w.parts, write_part, &w, &err) < 0) {
        mmio_close(o->file, NULL);
        xdie_shrunk(s);
    }
    for (unsigned i = 0; i < w.parts; i++)
        if (w.written[i].failed)
            xdie_write(o, &w.written[i].err);
    free(w.written);
    free(w.offsets);
}

/* Writes the sorted lines to standard output or to -o FILE, which is
 * replaced atomically (it may be one of the inputs).  A file -o names is
 * written by all threads at once (write_parts: on 1 GiB, faster and
 * steadier than a shared mapping filled by both threads); anything else
 * in order, through the output stream. */
static void write_output(struct sort *s)
{
    struct output o = { NULL, NULL, NULL, 0, 0, NULL, NULL };
    struct writer w = { s, &o, NULL, NULL, NULL, 1, NULL };
    mmio_error err;

    open_output(s, &o);
    if (s->options.output && mmio_kind(o.file) == MMIO_KIND_REGULAR) {
        write_parts(s, &o);
    } else {
        output_stream_start(&o);
        if (parallel_run(1, write_buffered, &w, &err) < 0)
            xdie_shrunk(s);
        output_stream_end(&o);
    }
    release_inputs(s);
    close_output(s, &o);
}

/* ---- Inputs larger than the budget ---------------------------------------------- */

/* GNU merges at most this many runs at once (its --batch-size). */
#define MERGE_FANIN 16

/* A sorted run, in a temporary file that closing removes.  Runs merged
 * together are of one level; their merge is of the next. */
struct run {
    mmio_file *file;
    unsigned level;
    const char *name;  /* -m: an input, opened only when it is merged */
};

struct external {
    struct sort *sort;
    struct run *runs;
    size_t count;
    size_t temps_made;  /* -T directories are taken in turn */
};

/* A new, empty temporary file in the next -T directory, set in *DIR. */
static mmio_file *xcreate_temporary(struct external *x, const char **dirp)
{
    const struct options *o = &x->sort->options;
    const char *dir = o->temp_dir_count ? o->temp_dirs[x->temps_made++ % o->temp_dir_count]
                                        : mmio_temp_dir();
    size_t size = strlen(dir) + sizeof "/mmsort.tmp";
    char *path = malloc(size);
    mmio_file *file;
    mmio_error err;
    char reason[256];

    if (!path)
        xdie("memory exhausted");
    snprintf(path, size, "%s/mmsort.tmp", dir);
    /* Atomic, never committed: removed when closed, at exit, on a signal. */
    file = mmio_create(path, MMIO_ATOMIC | MMIO_RDWR, &err);
    free(path);
    if (!file)
        xdie("cannot create temporary file in %s: %s", tool_quote_always(dir),
             mmio_strerror(err.code, reason, sizeof reason));
    *dirp = dir; /* messages name it: the file itself may have no name */
    return file;
}

static void add_run(struct external *x, mmio_file *file, unsigned level)
{
    struct run *runs = realloc(x->runs, (x->count + 1) * sizeof *runs);

    if (!runs)
        xdie("memory exhausted");
    runs[x->count++] = (struct run){ file, level, NULL };
    x->runs = runs;
}

/* Where a line-by-line merge writes, buffered. */
static void emit_line(void *ctx, const struct line *line)
{
    struct output *o = ctx;

    output_line(o, line, o->eol);
}

struct merge_job {
    struct sort *sort;
    struct text_range *texts;
    size_t count;
    struct output *output;
};

static int merge_guarded(void *arg, unsigned index)
{
    struct merge_job *job = arg;

    (void)index;
    merge_texts(&job->sort->options.spec, job->texts, job->count, emit_line,
                job->output);
    output_flush(job->output);
    return 0;
}

/* Maps run R, or loads the input it names, into IN. */
static void open_run(const struct run *r, struct input *in)
{
    uint64_t size;
    mmio_error err;

    if (r->name) {
        load_input(in, r->name, false);
        return;
    }
    in->name = NULL;
    in->file = r->file;
    if (mmio_size(r->file, &size, &err) < 0
        || mmio_map(r->file, 0, size, MMIO_MAP_READ, &in->view, &err) < 0)
        xdie_error("read failed", &err);
    mmio_advise(&in->view, MMIO_SEQUENTIAL);
}

/* Merges COUNT runs from FIRST into O, then closes them (which removes
 * temporaries) and takes them off the list. */
static void merge_runs_into(struct external *x, size_t first, size_t count,
                            struct output *o)
{
    struct text_range *texts = malloc(count * sizeof *texts);
    struct input *ins = calloc(count, sizeof *ins);
    struct merge_job job = { x->sort, texts, count, o };
    mmio_error err;

    if (!texts || !ins)
        xdie("memory exhausted");
    for (size_t i = 0; i < count; i++) {
        open_run(&x->runs[first + i], &ins[i]);
        texts[i] = (struct text_range){ ins[i].view.data,
            (const unsigned char *)ins[i].view.data + ins[i].view.size };
    }
    if (parallel_run(1, merge_guarded, &job, &err) < 0)
        xdie_error("read failed", &err);
    for (size_t i = 0; i < count; i++) {
        mmio_unmap(&ins[i].view, NULL);
        mmio_close(ins[i].file, NULL);
    }
    memmove(x->runs + first, x->runs + first + count,
            (x->count - first - count) * sizeof *x->runs);
    x->count -= count;
    free(ins);
    free(texts);
}

/* Merges COUNT runs from FIRST into one run of LEVEL, in their place. */
static void merge_to_run(struct external *x, size_t first, size_t count,
                         unsigned level)
{
    struct output o = { NULL, NULL, malloc(OUT_SIZE), 0, x->sort->options.spec.eol,
                        NULL, NULL };
    struct run merged;

    o.file = xcreate_temporary(x, &o.name);
    if (!o.buf)
        xdie("memory exhausted");
    merge_runs_into(x, first, count, &o);
    free(o.buf);
    add_run(x, o.file, level);
    merged = x->runs[x->count - 1];
    memmove(x->runs + first + 1, x->runs + first,
            (x->count - 1 - first) * sizeof *x->runs);
    x->runs[first] = merged;
}

/* Merges the last runs while MERGE_FANIN of them share a level (a counter
 * in base MERGE_FANIN), so that few are open at once. */
static void merge_generations(struct external *x)
{
    while (x->count >= MERGE_FANIN
           && x->runs[x->count - MERGE_FANIN].level == x->runs[x->count - 1].level)
        merge_to_run(x, x->count - MERGE_FANIN, MERGE_FANIN,
                     x->runs[x->count - 1].level + 1);
}

/* Sorts the lines of [P, END), the piece of input IN, into a new run,
 * and merges runs of one level as they fill up. */
static void sort_piece(struct external *x, const struct input *in,
                       const unsigned char *p, const unsigned char *end)
{
    struct sort piece = *x->sort;
    struct input part = *in;
    struct output o = { NULL, NULL, NULL, 0, 0, NULL, NULL };
    mmio_error err;

    o.file = xcreate_temporary(x, &o.name);
    part.view.data = (unsigned char *)p;
    part.view.size = (size_t)(end - p);
    piece.inputs = &part;
    piece.input_count = 1;
    piece.max_lines = 0;
    find_lines(&piece);
    if (parallel_run(1, sort_guarded, &piece, &err) < 0)
        xdie_shrunk(x->sort);
    write_mapped(&piece, &o);
    free(piece.lines);
    add_run(x, o.file, 0);
    merge_generations(x);
}

/* Where the piece of at most MAX lines that starts at P ends. */
struct piece_cut {
    const unsigned char *p, *end, *cut;
    size_t max;
    unsigned char eol;
};

static int cut_piece(void *arg, unsigned index)
{
    struct piece_cut *c = arg;
    const unsigned char *p = c->p;

    (void)index;
    for (size_t n = 0; n < c->max && p < c->end; n++) {
        const unsigned char *eol = memchr(p, c->eol, (size_t)(c->end - p));
        p = eol ? eol + 1 : c->end;
    }
    c->cut = p;
    return 0;
}

/* Merges the runs of X, MERGE_FANIN at a time, into standard output or
 * -o FILE (replaced atomically once all is merged: it may be one of the
 * inputs); PROGRESS, when not NULL, counts the bytes written. */
static void merge_to_output(struct external *x, struct progress *progress)
{
    struct output o = { NULL, NULL, NULL, 0, x->sort->options.spec.eol,
                        progress, NULL };

    while (x->count > MERGE_FANIN)
        merge_to_run(x, 0, MERGE_FANIN, 0);
    open_output(x->sort, &o);
    output_stream_start(&o);
    merge_runs_into(x, 0, x->count, &o);
    output_stream_end(&o);
    close_output(x->sort, &o);
}

/* Sorts the lines in [P, END) of IN into runs of the budget's size. */
static void sort_pieces(struct external *x, const struct input *in,
                        const unsigned char *p, const unsigned char *end)
{
    struct piece_cut c = { p, end, NULL, x->sort->max_lines, x->sort->options.spec.eol };
    mmio_error err;

    for (; c.p < c.end; c.p = c.cut) {
        if (parallel_run(1, cut_piece, &c, &err) < 0)
            xdie_shrunk(x->sort);
        sort_piece(x, in, c.p, c.cut);
        progress_add(&x->sort->progress, (uint64_t)(c.cut - c.p));
    }
}

/* Where the whole lines of the N bytes at P end: after the last EOL, or 0. */
static size_t whole_lines(const unsigned char *p, size_t n, unsigned char eol)
{
    while (n > 0 && p[n - 1] != eol)
        n--;
    return n;
}

/* Sorts a stream too long for its buffer as it comes: the whole lines in
 * the buffer go into runs, the start of the next line is kept, and more
 * is read after it.  A line longer than the buffer makes it grow. */
static void sort_stream(struct external *x, struct input *in)
{
    unsigned char eol = x->sort->options.spec.eol;

    for (;;) {
        size_t held = in->view.size, cut = held;
        if (in->more && (cut = whole_lines(in->buffer, held, eol)) == 0) {
            unsigned char *larger = realloc(in->buffer, in->capacity * 2);
            if (!larger)
                xdie("memory exhausted");
            in->buffer = larger;
            in->capacity *= 2;
            fill_buffer(in, held);
            continue;
        }
        sort_pieces(x, in, in->buffer, in->buffer + cut);
        if (!in->more)
            return;
        memmove(in->buffer, in->buffer + cut, held - cut);
        fill_buffer(in, held - cut);
    }
}

/* Sorts inputs whose lines do not fit in the budget: pieces of the budget's
 * size are sorted into runs in temporary files, which are merged into the
 * output, at most MERGE_FANIN at a time. */
static void sort_external(struct sort *s)
{
    struct external x = { s, NULL, 0, 0 };
    uint64_t total = input_bytes(s);
    bool streams = false;

    for (size_t i = 0; i < s->input_count; i++)
        streams |= s->inputs[i].more;
    /* How much a stream holds is known at its end. */
    progress_start(&s->progress, s->options.progress, "sorting",
                   streams ? PROGRESS_UNKNOWN : total);
    for (size_t i = 0; i < s->input_count; i++) {
        struct input *in = &s->inputs[i];
        if (in->more)
            sort_stream(&x, in);
        else
            sort_pieces(&x, in, in->view.data,
                        (const unsigned char *)in->view.data + in->view.size);
    }
    total = s->progress.done;
    progress_end(&s->progress);
    progress_start(&s->progress, s->options.progress, "merging", total);
    release_inputs(s);
    merge_to_output(&x, &s->progress);
    progress_end(&s->progress);
    free(x.runs);
}

/* -m: merges the inputs as a stream, opening at most MERGE_FANIN at a
 * time: more go first into runs in temporaries, as past the budget.  An
 * input need not be in order; merging by the first of the lines in
 * front, ties to the earlier input, gives the same whatever the groups,
 * so this gives what GNU's stages give. */
static void merge_inputs(struct sort *s, char **names, size_t count)
{
    static char *standard_input[] = { "-" };
    struct external x = { s, NULL, 0, 0 };

    if (count == 0) {
        names = standard_input;
        count = 1;
    }
    for (size_t i = 0; i < count; i++) {
        add_run(&x, NULL, 0);
        x.runs[x.count - 1].name = names[i];
        merge_generations(&x);
    }
    merge_to_output(&x, NULL);
    free(x.runs);
}

/* ---- Checking ---------------------------------------------------------------- */

struct check {
    struct sort *sort;
    bool disorder;
};

/* Finds the first line out of order (-c, -C); -c reports it. */
static int check_guarded(void *arg, unsigned index)
{
    struct check *c = arg;
    const struct sort *s = c->sort;
    const struct sort_spec *spec = &s->options.spec;

    (void)index;
    for (size_t i = 1; i < s->line_count; i++) {
        int diff = line_order(spec, &s->lines[i - 1], &s->lines[i]);
        if (diff < 0 || (diff == 0 && !spec->unique))
            continue;
        c->disorder = true;
        if (s->options.check == 'c') {
            fprintf(stderr, "%s: %s:%zu: disorder: ", tool_name(),
                    s->inputs[0].name, i + 1);
            fwrite(s->lines[i].text, 1, s->lines[i].length, stderr);
            fputc(spec->eol, stderr);
        }
        break;
    }
    return 0;
}

/* -c and -C: exit 1 when the one input is out of order. */
static int check_order(struct sort *s, char **names, int count)
{
    struct check check = { s, false };
    mmio_error err;

    if (count > 1)
        xdie("extra operand '%s' not allowed with -%c", names[1],
             s->options.check);
    load_inputs(s, names, (size_t)count);
    if (parallel_run(1, check_guarded, &check, &err) < 0)
        xdie_shrunk(s);
    release_inputs(s);
    return check.disorder ? SORT_DISORDER : 0;
}

/* -I: sorts each FILE where it is, one after the other. */
static int sort_in_place(struct sort *s, char **names, int count)
{
    mmio_error err;
    int i = 0;

    do {
        load_inputs(s, names + i, count > 0);
        if (parallel_run(1, sort_guarded, s, &err) < 0)
            xdie_shrunk(s);
        write_in_place(s);
        release_inputs(s);
        free(s->lines);
        free(s->inputs);
    } while (++i < count);
    return 0;
}

/* --record-size: the options that apply go to sortrecords.c. */
static int sort_records(const struct options *o, char **names, int count)
{
    struct record_job job = { o->records, o->spec.reverse, o->spec.stable,
                              o->spec.unique, o->in_place, o->check, o->output,
                              o->threads };

    if (o->text_only == OPT_SORT || o->text_only == OPT_PROGRESS)
        xdie("option '--%s' does not apply to records (--record-size)",
             o->text_only == OPT_SORT ? "sort" : "progress");
    if (o->text_only)
        xdie("option '-%c' does not apply to records (--record-size)",
             o->text_only);
    return sort_records_main(&job, names, count);
}

int main(int argc, char **argv)
{
    static struct sort sort;
    mmio_error err;
    uint64_t bytes;

    tool_start("mmsort", &argc, &argv);
    sort_spec_init(&sort.options.spec);
    sort.options.threads = mmio_cpu_count();
    parse_options(&sort.options, argc, argv);
    argc -= optind;
    argv += optind;

    if (sort.options.records.record_size)
        return tool_finish(sort_records(&sort.options, argv, argc));
    if (sort.options.records.key_offset_given || sort.options.records.key_size_given
        || sort.options.records.key_type_given)
        xdie("--key-offset, --key-size and --key-type need --record-size");
    if (sort.options.in_place && (sort.options.check || sort.options.merge
                                  || sort.options.output))
        xdie("options '-I%c' are incompatible", sort.options.check ? sort.options.check
                                                : sort.options.merge ? 'm' : 'o');
    if (sort.options.check)
        return tool_finish(check_order(&sort, argv, argc));
    sort.by_key = sort_lines_by_key(&sort.options.spec);
    if (sort.options.in_place)
        return tool_finish(sort_in_place(&sort, argv, argc));
    if (sort.options.merge) {
        merge_inputs(&sort, argv, (size_t)argc);
        return tool_finish(0);
    }
    sort.max_lines = lines_in_budget(&sort.options);
    load_inputs(&sort, argv, (size_t)argc);
    if (sort.external) {
        sort_external(&sort);
        return tool_finish(0);
    }
    bytes = input_bytes(&sort);
    progress_start(&sort.progress, sort.options.progress, "sorting", 2 * bytes);
    if (parallel_run(1, sort_guarded, &sort, &err) < 0)
        xdie_shrunk(&sort);
    progress_add(&sort.progress, bytes);
    write_output(&sort);
    progress_add(&sort.progress, bytes);
    progress_end(&sort.progress);
    free(sort.lines);
    return tool_finish(0);
}
