/* Messages, --help/--version and the end of standard output, in one style
 * for every tool. */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static const char *program = PACKAGE;

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

static void vwarn(const char *format, va_list ap)
{
    fprintf(stderr, "%s: ", program);
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
}

void tool_warn(const char *format, ...)
{
    va_list ap;

    va_start(ap, format);
    vwarn(format, ap);
    va_end(ap);
}

void tool_warn_error(const mmio_error *err)
{
    char message[1024];

    tool_warn("%s", mmio_format_error(err, message, sizeof message));
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

int tool_getopt(int argc, char **argv, const char *shortopts,
                const struct option *longopts)
{
    const char *known;
    int c;

    opterr = 0;
    c = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (c != '?')
        return c;
    if (optind > 0 && is_long_refusal(longopts, argv[optind - 1], argc, optopt))
        bad_long_option(longopts, argv[optind - 1]);
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

int tool_finish(int status)
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
