/* Messages, --help/--version and the end of standard output, in one style
 * for every tool. */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"
#include "tool.h"

static const char *program = PACKAGE;
static bool stdin_used; /* by tool_open_input, for tool_finish */

void tool_start(const char *name, int *argc, char ***argv)
{
    mmio_error err;

    program = name;
    mmio_init();
    if (mmio_args(argc, argv, &err) < 0) {
        tool_warn_error(&err);
        exit(EXIT_TROUBLE);
    }
    (*argv)[0] = (char *)name;
}

const char *tool_name(void)
{
    return program;
}

/* "PROGRAM: MESSAGE\n" in one write, so that the lines of processes that
 * share standard error (mmfractal's workers) do not mix. */
static void vwarn(const char *format, va_list ap)
{
    char small[1024], *line = small;
    int head = snprintf(small, sizeof small, "%s: ", program), body;
    va_list again;

    va_copy(again, ap);
    body = vsnprintf(small + head, sizeof small - (size_t)head, format, ap);
    if (body >= 0 && (size_t)(head + body) >= sizeof small
        && (line = malloc((size_t)(head + body) + 2)) != NULL) {
        memcpy(line, small, (size_t)head);
        vsnprintf(line + head, (size_t)body + 1, format, again);
    }
    va_end(again);
    if (!line) { /* no memory for a long message: its beginning */
        line = small;
        body = (int)sizeof small - head - 2;
    }
    if (body >= 0) {
        line[head + body] = '\n';
        fwrite(line, 1, (size_t)(head + body) + 1, stderr);
        fflush(stderr); /* msvcrt's fwrite gives stderr a buffer */
    }
    if (line != small)
        free(line);
}

void tool_warn(const char *format, ...)
{
    va_list ap;

    va_start(ap, format);
    vwarn(format, ap);
    va_end(ap);
}

/* ---- File names, quoted as GNU's quotef quotes them -------------------- */

/* Whether code point CP (above 0x7f) is printable as glibc's C.UTF-8 sees
 * it: not a C1 control, a line or paragraph separator or a noncharacter.
 * (glibc also escapes code points Unicode has not assigned; they pass.) */
static bool is_printable(uint32_t cp)
{
    return cp >= 0xa0 && cp != 0x2028 && cp != 0x2029
           && !(cp >= 0xfdd0 && cp <= 0xfdef) && (cp & 0xfffe) != 0xfffe;
}

/* The length of the character at S, and whether it is printable.  Names
 * are UTF-8 (mmio_args); a byte that starts no valid character is a
 * character of one byte that is not printable. */
static size_t utf8_char(const unsigned char *s, bool *printable)
{
    unsigned lo = 0x80, hi = 0xbf;
    uint32_t cp;
    size_t n;

    *printable = false;
    if (s[0] < 0x80) {
        *printable = s[0] >= 0x20 && s[0] != 0x7f;
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3; /* neither overlong nor a surrogate */
        lo = s[0] == 0xe0 ? 0xa0 : 0x80;
        hi = s[0] == 0xed ? 0x9f : 0xbf;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4; /* neither overlong nor past U+10FFFF */
        lo = s[0] == 0xf0 ? 0x90 : 0x80;
        hi = s[0] == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 1;
    }
    cp = s[0] & (0x7fu >> n);
    for (size_t i = 1; i < n; i++, lo = 0x80, hi = 0xbf) {
        if (s[i] < lo || s[i] > hi)
            return 1;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    *printable = is_printable(cp);
    return n;
}

/* What decides how a name is quoted. */
struct name_traits {
    bool needs_quotes;    /* empty, or a character the shell would see */
    bool double_quotable; /* has a ', and nothing "..." would change */
    bool ends_escaped;    /* the last character is written as \ooo */
};

/* ASCII characters that make a name need quotes: the shell's, and ':'. */
static const char shell_special[] = " !\"$&'()*;<=>?[\\^`|:";
/* ASCII characters "..." is not used with ('#' and '~' may lead). */
static const char double_unsafe[] = "!\"$&()*;<=>?[\\^`|#~{}";

/* Finds what quoting NAME needs. */
static void examine_name(const char *name, struct name_traits *t)
{
    const unsigned char *s = (const unsigned char *)name;
    bool quote = false, unsafe = false, printable = true;

    /* '#' and '~' lead a comment and a home directory; '{' alone is a brace. */
    t->needs_quotes = !*name || strchr("#~", *name)
                      || ((*name == '{' || *name == '}') && !name[1]);
    for (size_t i = 0, n; s[i]; i += n) {
        n = utf8_char(s + i, &printable);
        quote |= s[i] == '\'';
        if (!printable) {
            t->needs_quotes = unsafe = true;
        } else if (s[i] < 0x80) {
            t->needs_quotes |= strchr(shell_special, s[i]) != NULL;
            unsafe |= strchr(double_unsafe, s[i])
                      && !(i == 0 && strchr("#~", s[i]));
        }
    }
    t->double_quotable = quote && !unsafe;
    t->ends_escaped = !printable;
}

/* Appends the escape of byte C (\n, \t... or \ooo) at OUT; returns its end. */
static char *put_escape(char *out, unsigned char c)
{
    *out++ = '\\';
    if (c >= '\a' && c <= '\r') {
        *out++ = "abtnvfr"[c - '\a'];
    } else {
        *out++ = (char)('0' + (c >> 6));
        *out++ = (char)('0' + (c >> 3 & 7));
        *out++ = (char)('0' + (c & 7));
    }
    return out;
}

static char *put(char *out, const char *text)
{
    size_t len = strlen(text);

    memcpy(out, text, len);
    return out + len;
}

/* Writes NAME at OUT in single quotes, unprintable bytes in $'...' and '
 * as '\''.  ESCAPING is whether writing starts inside $'...'. */
static void put_shell_quoted(char *out, const char *name, bool escaping)
{
    const unsigned char *s = (const unsigned char *)name;
    bool printable;

    *out++ = '\'';
    for (size_t i = 0, n; s[i]; i += n) {
        n = utf8_char(s + i, &printable);
        if (!printable) {
            if (!escaping)
                out = put(out, "'$'");
            escaping = true;
            for (size_t k = 0; k < n; k++)
                out = put_escape(out, s[i + k]);
        } else if (s[i] == '\'') {
            out = put(out, "'\\''");
            escaping = false;
        } else {
            if (escaping)
                out = put(out, "''");
            escaping = false;
            memcpy(out, s + i, n);
            out += n;
        }
    }
    *out++ = '\'';
    *out = '\0';
}

const char *tool_quote(const char *name)
{
    static char *buf;
    struct name_traits t;
    char *p;

    examine_name(name, &t);
    if (!t.needs_quotes)
        return name;
    /* At most 7 bytes a byte ('$'\ooo), and the outer quotes. */
    p = realloc(buf, 8 * strlen(name) + 8);
    if (!p)
        return name;
    buf = p;
    if (t.double_quotable)
        sprintf(buf, "\"%s\"", name);
    else /* A ' and an escape at the end send 9.1 through a second pass
          * that starts still inside $'...': "\t'\n" is '\t'\'''$'\n'.
          * Kept, so that names read word for word as cat's. */
        put_shell_quoted(buf, name, strchr(name, '\'') && t.ends_escaped);
    return buf;
}

const char *tool_quote_always(const char *name)
{
    static char *buf;
    struct name_traits t;
    char *p;

    examine_name(name, &t);
    if (t.needs_quotes)
        return tool_quote(name);
    p = realloc(buf, strlen(name) + 3);
    if (!p)
        return name;
    buf = p;
    sprintf(buf, "'%s'", name);
    return buf;
}

void tool_warn_error(const mmio_error *err)
{
    char reason[256];

    mmio_strerror(err->code, reason, sizeof reason);
    /* libmmio's "standard output" is a phrase GNU writes bare, not a name. */
    if (err->path && strcmp(err->path, "standard output") != 0)
        tool_warn("%s: %s", tool_quote(err->path), reason);
    else if (err->path)
        tool_warn("%s: %s", err->path, reason);
    else
        tool_warn("%s", reason);
}

void tool_usage_error(const char *format, ...)
{
    va_list ap;

    if (format) {
        va_start(ap, format);
        vwarn(format, ap);
        va_end(ap);
    }
    fprintf(stderr, "Try '%s --help' for more information.\n", program);
    exit(EXIT_USAGE);
}

/* Whether getopt_long takes A and B for the same option. */
static bool same_option(const struct option *a, const struct option *b)
{
    return a->has_arg == b->has_arg && a->flag == b->flag && a->val == b->val;
}

/* The long option that ARG ("--name" or "--name=value") names, as
 * getopt_long finds it: the one named exactly, else the first one the name
 * abbreviates.  *AMBIGUOUS is set when a later abbreviated one differs from
 * that first one (two names for one option are not ambiguous). */
static const struct option *find_long(const struct option *longopts,
                                      const char *arg, bool *ambiguous)
{
    const char *name = arg + 2;
    size_t len = strcspn(name, "=");
    const struct option *first = NULL;

    *ambiguous = false;
    for (const struct option *o = longopts; o->name; o++)
        if (strncmp(o->name, name, len) == 0 && strlen(o->name) == len)
            return o;
    for (const struct option *o = longopts; o->name; o++) {
        if (strncmp(o->name, name, len) != 0)
            continue;
        if (!first)
            first = o;
        else if (!same_option(first, o))
            *ambiguous = true;
    }
    return first;
}
/* "option '--sh' is ambiguous; possibilities: ..." as glibc words it: ARG
 * as given, then the first option it abbreviates and every later one that
 * differs from that first, in the order of the table. */
static void ambiguous_option(const char *arg, const struct option *first)
{
    size_t len = strcspn(arg + 2, "=");

    fprintf(stderr, "%s: option '%s' is ambiguous; possibilities:",
            program, arg);
    for (const struct option *o = first; o->name; o++)
        if (strncmp(o->name, arg + 2, len) == 0
            && (o == first || !same_option(first, o)))
            fprintf(stderr, " '--%s'", o->name);
    fputc('\n', stderr);
    tool_usage_error(NULL);
}

/* Reports what getopt_long refused in the long option ARG, and ends the
 * program. */
static void bad_long_option(const struct option *longopts, const char *arg)
{
    bool ambiguous;
    const struct option *o = find_long(longopts, arg, &ambiguous);

    if (ambiguous)
        ambiguous_option(arg, o);
    if (!o)
        tool_usage_error("unrecognized option '%s'", arg);
    if (strchr(arg, '='))
        tool_usage_error("option '--%s' doesn't allow an argument", o->name);
    tool_usage_error("option '--%s' requires an argument", o->name);
}

/* Whether getopt_long's refusal (OPTOPT) was of the long option ARG, the
 * argument before ARGV[optind].  It may not be: inside a cluster such as
 * "-xn" optind stays on the cluster, so ARG is whatever came before it.  A
 * long option refused for its argument leaves its val in optopt, an unknown
 * or ambiguous one leaves 0. */
static bool is_long_refusal(const struct option *longopts, const char *arg,
                            int argc, int refused)
{
    bool ambiguous;
    const struct option *o;
    bool has_value = strchr(arg, '=') != NULL;

    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
        return false;
    if (refused == 0)
        return true;
    o = find_long(longopts, arg, &ambiguous);
    if (!o || ambiguous || o->flag || o->val != refused)
        return false;
    return has_value ? o->has_arg == no_argument
                     : o->has_arg == required_argument && optind == argc;
}

/* The element of ARGV that held long option O, which getopt_long has just
 * taken: the one before its argument when that came apart ("--size 5"). */
static const char *long_option_element(char **argv, const struct option *o)
{
    if (o->has_arg != no_argument && optarg && optarg == argv[optind - 1])
        return argv[optind - 2];
    return argv[optind - 1];
}

int tool_getopt(int argc, char **argv, const char *shortopts,
                const struct option *longopts)
{
    const char *known;
    int c, index = -1;

    opterr = 0;
    c = getopt_long(argc, argv, shortopts, longopts, &index);
    /* mingw reads the rest of a cluster from a '-' on ("-n-x") as a long
     * option; glibc refuses that '-'. */
    if (index >= 0
        && strncmp(long_option_element(argv, &longopts[index]), "--", 2) != 0)
        tool_usage_error("invalid option -- '-'");
    if (c != '?')
        return c;
    if (optind > 0 && is_long_refusal(longopts, argv[optind - 1], argc, optopt))
        bad_long_option(longopts, argv[optind - 1]);
    if (optopt == 0) /* that long option of mingw's was refused */
        tool_usage_error("invalid option -- '-'");
    known = optopt == ':' ? NULL : strchr(shortopts, optopt);
    if (known && known[1] == ':')
        tool_usage_error("option requires an argument -- '%c'", optopt);
    tool_usage_error("invalid option -- '%c'", optopt);
}

void tool_version(void)
{
    printf("%s (%s) %s\n", program, PACKAGE, PACKAGE_VERSION);
    exit(tool_finish(EXIT_SUCCESS));
}

void tool_help(const char *text)
{
    printf(text, program);
    exit(tool_finish(EXIT_SUCCESS));
}

void tool_write_failed(const mmio_error *err)
{
    char reason[256];

    if (err->code != MMIO_EPIPE)
        tool_warn("write error: %s",
                  mmio_strerror(err->code, reason, sizeof reason));
    exit(EXIT_TROUBLE);
}

void xwrite(mmio_file *out, const void *buf, size_t size)
{
    mmio_error err;

    if (mmio_write(out, buf, size, &err) < 0)
        tool_write_failed(&err);
}

int tool_copy(mmio_file *in, mmio_file *out)
{
    mmio_error err;
    int status = mmio_copy(in, out, &err);

    if (status == -2)
        tool_write_failed(&err);
    if (status < 0) {
        tool_warn_error(&err);
        return 1;
    }
    return 0;
}

mmio_file *tool_open_input(const char *path, mmio_error *err)
{
    if (strcmp(path, "-") != 0)
        return mmio_open(path, MMIO_RDONLY, err);
    stdin_used = true;
    return mmio_stdin(err);
}

/* Closes standard input if the tool read it, as GNU tools do: one that was
 * closed all along is then reported a second time. */
static int close_stdin(int status)
{
    if (stdin_used && fclose(stdin) != 0) {
        tool_warn("closing standard input: %s", strerror(errno));
        return EXIT_TROUBLE;
    }
    return status;
}

static int close_stdout(int status)
{
    int failed = fflush(stdout) != 0 || ferror(stdout);
    int saved = errno;

    /* EBADF with nothing pending: standard output was closed and unused. */
    if (fclose(stdout) != 0 && !failed && errno != EBADF) {
        failed = 1;
        saved = errno;
    }
    if (failed) {
        if (saved != EPIPE)
            tool_warn("write error: %s", strerror(saved));
        return EXIT_TROUBLE;
    }
    return status;
}

int tool_finish(int status)
{
    return close_stdout(close_stdin(status));
}

size_t tool_window(void)
{
    const char *text = getenv("MMTOOLS_WINDOW");
    struct size_value size;

    if (text && size_parse(text, 1, &size) == SIZE_OK && !size.percent
        && size.amount >= 2 && size.amount <= MMIO_DEFAULT_WINDOW)
        return (size_t)size.amount;
    return MMIO_DEFAULT_WINDOW;
}

/* Whether the environment variable NAME (a test hook) is set and not
 * empty. */
static bool hook_set(const char *name)
{
    const char *text = getenv(name);

    return text && *text;
}

bool tool_simd_allowed(void)
{
    return !hook_set("MMTOOLS_NO_SIMD");
}

bool tool_lanes_forced(void)
{
    return hook_set("MMTOOLS_FORCE_LANES");
}

mmio_file *tool_create_output(const char *path, uint64_t size)
{
    mmio_error err;
    mmio_file *out = mmio_create(path, MMIO_RDWR | MMIO_ATOMIC, &err);

    if (out && mmio_kind(out) != MMIO_KIND_REGULAR)
        err = (mmio_error){ "create", mmio_path(out), MMIO_ENOTREG };
    else if (out && mmio_resize(out, size, &err) == 0)
        return out;
    tool_warn_error(&err);
    mmio_close(out, NULL);
    return NULL;
}
