/* mmsort: sort lines of text files as GNU sort does in the C locale,
 * reading them through memory mappings.  The options, the sort in memory,
 * -c and -I here; the rest of the text mode in sortinput.c, sortoutput.c
 * and sortexternal.c (sorttext.h), record mode in sortrecords.c. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmio.h"
#include "parallel.h"
#include "progress.h"
#include "size.h"
#include "sortkey.h"
#include "sortlines.h"
#include "sortrecords.h"
#include "sorttext.h"
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
void xdie(const char *format, ...)
    __attribute__((format(printf, 1, 2), noreturn));

void xdie(const char *format, ...)
{
    char message[1024];
    va_list ap;

    va_start(ap, format);
    vsnprintf(message, sizeof message, format, ap);
    va_end(ap);
    tool_warn("%s", message);
    exit(tool_finish(SORT_TROUBLE));
}

/* "mmsort: WHAT: PATH: REASON". */
void warn_error(const char *what, const mmio_error *err)
{
    char reason[256];

    mmio_strerror(err->code, reason, sizeof reason);
    if (!err->path)
        tool_warn("%s: %s", what, reason);
    else
        tool_warn("%s: %s: %s", what, tool_quote(err->path), reason);
}

/* "mmsort: WHAT: PATH: REASON", then exit 2. */
void xdie_error(const char *what, const mmio_error *err)
{
    warn_error(what, err);
    exit(tool_finish(SORT_TROUBLE));
}

/* ---- Options ---------------------------------------------------------------- */

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
int sort_guarded(void *arg, unsigned index)
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

/* -I: sorts each FILE where it is, one after the other; one that cannot
 * be opened is reported and the others are still sorted (status 2). */
static int sort_in_place(struct sort *s, char **names, int count)
{
    static char *standard_input[] = { "-" };
    mmio_error err;
    int status = 0;

    if (count == 0) {
        names = standard_input;
        count = 1;
    }
    for (int i = 0; i < count; i++) {
        if (load_in_place(s, names[i])) {
            if (parallel_run(1, sort_guarded, s, &err) < 0)
                xdie_shrunk(s);
            write_in_place(s);
        } else
            status = SORT_TROUBLE;
        release_inputs(s);
        free(s->lines);
        free(s->inputs);
        s->lines = NULL;
        s->inputs = NULL;
    }
    return status;
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
