/* Messages, --help/--version and the end of standard output, in one style
 * for every tool. */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
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
