/* Messages, --help/--version and the end of standard output, in one style
 * for every tool. */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"
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

/* The long option that ARG ("--name" or "--name=value") names exactly,
 * else the only one it abbreviates; NULL, with *MATCHES, otherwise. */
static const struct option *find_long(const struct option *longopts,
                                      const char *arg, int *matches)
{
    const char *name = arg + 2;
    size_t len = strcspn(name, "=");
    const struct option *found = NULL;

    *matches = 0;
    for (const struct option *o = longopts; o->name; o++) {
        if (strncmp(o->name, name, len) != 0)
            continue;
        if (strlen(o->name) == len) {
            *matches = 1;
            return o;
        }
        found = o;
        ++*matches;
    }
    return *matches == 1 ? found : NULL;
}

/* Reports what getopt_long refused in ARG, and ends the program. */
static void bad_long_option(const struct option *longopts, const char *arg)
{
    int matches;
    const struct option *o = find_long(longopts, arg, &matches);
    size_t len = strcspn(arg, "=");

    if (o && o->has_arg == no_argument && arg[len] == '=')
        tool_usage_error("option '%.*s' doesn't allow an argument", (int)len, arg);
    if (o)
        tool_usage_error("option '%s' requires an argument", arg);
    if (matches > 1) {
        fprintf(stderr, "%s: option '%.*s' is ambiguous; possibilities:",
                program, (int)len, arg);
        for (const struct option *p = longopts; p->name; p++)
            if (strncmp(p->name, arg + 2, len - 2) == 0)
                fprintf(stderr, " '--%s'", p->name);
        fputc('\n', stderr);
        tool_usage_error(NULL);
    }
    tool_usage_error("unrecognized option '%s'", arg);
}

int tool_getopt(int argc, char **argv, const char *shortopts,
                const struct option *longopts)
{
    const char *arg, *known;
    int c;

    opterr = 0;
    c = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (c != '?')
        return c;
    arg = argv[optind - 1];
    if (optopt == 0 || (strncmp(arg, "--", 2) == 0 && arg[2] != '\0'))
        bad_long_option(longopts, arg);
    known = strchr(shortopts, optopt);
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

size_t tool_window(void)
{
    const char *text = getenv("MMTOOLS_WINDOW");
    uint64_t size;

    if (text && parse_size(text, &size) == 0 && size >= 2
        && size <= MMIO_DEFAULT_WINDOW)
        return (size_t)size;
    return MMIO_DEFAULT_WINDOW;
}
