/* What every mmtools program shares: its name, messages in one style,
 * --help and --version, and the end of standard output.  Functions whose
 * name starts with x either succeed or end the program. */
#ifndef TOOL_H
#define TOOL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "mmio.h"

/* Exit statuses of every tool (see HACKING.md). */
#define EXIT_TROUBLE 1 /* an input, output or data error */
#define EXIT_USAGE   2 /* a bad option, value or operand count */

/* Names the program for messages (getopt's too, through ARGV[0]),
 * prepares the process (mmio_init) and takes the arguments in UTF-8. */
void tool_start(const char *name, int *argc, char ***argv);
const char *tool_name(void);

/* "PROG: MESSAGE" on standard error. */
void tool_warn(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

/* NAME as GNU's quotef writes it in messages: as it is when the shell
 * would read it back so, else in '...' (or "..." for a name whose only
 * odd character is '), unprintable bytes as $'\n' or $'\377'.  The result
 * lasts until the next call. */
const char *tool_quote(const char *name);

/* NAME as GNU's quoteaf writes it: always in quotes ('name'), else as
 * tool_quote writes it.  The result lasts until the next call. */
const char *tool_quote_always(const char *name);

/* "PROG: PATH: REASON" on standard error, from a libmmio error; PATH
 * quoted by tool_quote. */
void tool_warn_error(const mmio_error *err);

/* A usage error: "PROG: MESSAGE" (when FORMAT is not NULL) and the line
 * "Try 'PROG --help' for more information.", then exit 2. */
void tool_usage_error(const char *format, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* getopt_long, but its complaints are the tool's own, worded as glibc
 * words them on every platform, and end the program with status 2. */
int tool_getopt(int argc, char **argv, const char *shortopts,
                const struct option *longopts);

/* Prints "PROG (mmtools) VERSION" and exits 0. */
void tool_version(void) __attribute__((noreturn));

/* Prints TEXT (the --help text, with %s standing for PROG) and exits 0. */
void tool_help(const char *text) __attribute__((noreturn));

/* Reports a failed write to standard output, then exits 1; quietly when
 * the reader of a pipe has gone. */
void tool_write_failed(const mmio_error *err) __attribute__((noreturn));

/* Writes all of BUF to OUT, or ends the program through tool_write_failed. */
void xwrite(mmio_file *out, const void *buf, size_t size);

/* Copies IN, from its position, to standard output OUT (mmio_copy): a
 * write error ends the program through tool_write_failed, a read error is
 * reported.  Returns 0, or 1 after a read error. */
int tool_copy(mmio_file *in, mmio_file *out);

/* Opens the input file PATH for reading; "-" is standard input, which
 * tool_finish then closes. */
mmio_file *tool_open_input(const char *path, mmio_error *err);

/* Closes standard input if tool_open_input opened it, then flushes and
 * closes standard output, reporting a failure of either; returns STATUS,
 * or 1 when closing failed.  Every tool returns through this. */
int tool_finish(int status);

/* The most bytes a tool maps at once: MMIO_DEFAULT_WINDOW, or for tests
 * the size in the environment variable MMTOOLS_WINDOW, so that small
 * files take the paths of files larger than the address space. */
size_t tool_window(void);

/* Whether a tool may take its vector (SIMD) paths where the processor has
 * them: yes, unless the environment variable MMTOOLS_NO_SIMD is set and
 * not empty, so that a suite can run the portable paths too. */
bool tool_simd_allowed(void);

/* Whether a tool runs its helper lanes whatever its output goes to: yes
 * when the environment variable MMTOOLS_FORCE_LANES is set and not empty,
 * so that a suite can read what lanes kept for /dev/null make. */
bool tool_lanes_forced(void);

/* Creates PATH atomically (mmio_create with MMIO_ATOMIC) as a regular file
 * of SIZE bytes, to be filled through a mapping and committed; NULL after
 * reporting a failure (a destination that is not a regular file too). */
mmio_file *tool_create_output(const char *path, uint64_t size);

#endif
