/* Unit tests of libmmio, one behaviour each, in TAP.  The tests that need
 * POSIX (pipes, FIFOs, signals, permissions) are marked as such. */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmio.h"
#include "scratch.h"
#include "unit.h"

#ifndef _WIN32
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#define POSIX_TESTS 1
#endif

#define DIR_PREFIX "test_mmio.tmp."

/* ---- helpers ------------------------------------------------------------- */

static unsigned char pattern(uint64_t i)
{
    return (unsigned char)(i * 7 + 3);
}

/* Writes DATA to the scratch file NAME and opens it with FLAGS. */
static mmio_file *open_written(const char *name, const char *data,
                               size_t size, int flags)
{
    const char *path = path_of(name);

    write_file(path, data, size);
    return mmio_open(path, flags, NULL);
}

/* A file of SIZE pattern bytes. */
static const char *pattern_file(const char *name, size_t size)
{
    const char *path = path_of(name);
    unsigned char *data = malloc(size ? size : 1);

    for (size_t i = 0; i < size; i++)
        data[i] = pattern(i);
    write_file(path, data, size);
    free(data);
    return path;
}

/* ---- errors --------------------------------------------------------------- */

static void error_names_operation_path_and_reason(void)
{
    mmio_error err = { 0 };
    char msg[512];
    const char *missing = path_of("missing");

    CHECK(mmio_open(missing, MMIO_RDONLY, &err) == NULL);
    CHECK(err.code > 0);
    CHECK(err.op && strcmp(err.op, "open") == 0);
    CHECK(err.path == missing);
    mmio_format_error(&err, msg, sizeof msg);
    CHECK(strncmp(msg, missing, strlen(missing)) == 0);
    CHECK(strlen(msg) > strlen(missing) + 2);
}

static void library_codes_have_reasons(void)
{
    char buf[128];

    CHECK(strcmp(mmio_strerror(MMIO_ESHRUNK, buf, sizeof buf),
                 "file shrank while it was being read") == 0);
    CHECK(strcmp(mmio_strerror(MMIO_ENOTREG, buf, sizeof buf),
                 "not a regular file") == 0);
    CHECK(strcmp(mmio_strerror(MMIO_EPIPE, buf, sizeof buf),
                 "Broken pipe") == 0);
}

/* ---- mappings -------------------------------------------------------------- */

static void map_whole_file(void)
{
    mmio_error err;
    mmio_view v;
    mmio_file *f = open_written("whole", "hello, world\n", 13, MMIO_RDONLY);

    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(mmio_kind(f) == MMIO_KIND_REGULAR);
    CHECK(mmio_map(f, 0, MMIO_TO_END, MMIO_MAP_READ, &v, &err) == 0);
    CHECK(v.size == 13 && memcmp(v.data, "hello, world\n", 13) == 0);
    CHECK(mmio_unmap(&v, &err) == 0);
    CHECK(mmio_close(f, &err) == 0);
}

static void map_unaligned_offsets_points_at_exact_byte(void)
{
    static const uint64_t offsets[] = { 1, 4095, 4096, 4097, 65535, 65536, 65537 };
    const char *path = pattern_file("pattern", 200000);
    mmio_error err;
    mmio_file *f = mmio_open(path, MMIO_RDONLY, &err);

    CHECK(f != NULL);
    if (!f)
        return;
    for (size_t i = 0; i < sizeof offsets / sizeof *offsets; i++) {
        mmio_view v;
        int ok = mmio_map(f, offsets[i], 1000, MMIO_MAP_READ, &v, &err) == 0;
        CHECK(ok);
        if (!ok)
            continue;
        CHECK(v.size == 1000);
        for (size_t j = 0; j < v.size; j++)
            if (v.data[j] != pattern(offsets[i] + j)) {
                CHECK(!"byte differs");
                break;
            }
        mmio_unmap(&v, NULL);
    }
    mmio_close(f, NULL);
}

static void empty_file_maps_to_empty_view(void)
{
    mmio_error err;
    mmio_view v;
    mmio_file *f = open_written("empty", "", 0, MMIO_RDONLY);

    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(mmio_map(f, 0, MMIO_TO_END, MMIO_MAP_READ, &v, &err) == 0);
    CHECK(v.size == 0 && v.data != NULL);
    CHECK(mmio_flush(&v, 0, 0, MMIO_SYNC, &err) == 0);
    CHECK(mmio_unmap(&v, &err) == 0);
    CHECK(mmio_load(f, MMIO_MAP_READ, &v, &err) == 0);
    CHECK(v.size == 0);
    mmio_unmap(&v, NULL);
    mmio_close(f, NULL);
}

static void private_mapping_keeps_changes_in_memory(void)
{
    const char *path = path_of("private");
    mmio_error err;
    mmio_view v;
    mmio_file *f = open_written("private", "abcdef", 6, MMIO_RDONLY);
    char back[8];

    CHECK(f && mmio_map(f, 0, MMIO_TO_END, MMIO_MAP_PRIVATE, &v, &err) == 0);
    if (!f)
        return;
    v.data[0] = 'X';
    CHECK(v.data[0] == 'X');
    mmio_unmap(&v, NULL);
    mmio_close(f, NULL);
    CHECK(read_file(path, back, sizeof back) == 6 && memcmp(back, "abcdef", 6) == 0);
}

static void shared_mapping_reaches_file_after_flush(void)
{
    const char *path = path_of("shared");
    mmio_error err;
    mmio_view v;
    mmio_file *f = open_written("shared", "abcdef", 6, MMIO_RDWR);
    char back[8];

    CHECK(f && mmio_map(f, 2, 3, MMIO_MAP_SHARED, &v, &err) == 0);
    if (!f)
        return;
    memcpy(v.data, "XYZ", 3);
    CHECK(mmio_flush(&v, 0, 0, MMIO_SYNC, &err) == 0);
    CHECK(mmio_flush(&v, 1, 2, MMIO_ASYNC, &err) == 0);
    CHECK(mmio_flush(&v, 0, v.size, MMIO_SYNC, &err) == 0);
    CHECK(mmio_flush(&v, 2, 5, MMIO_SYNC, &err) == -1);
    mmio_unmap(&v, NULL);
    mmio_close(f, NULL);
    CHECK(read_file(path, back, sizeof back) == 6 && memcmp(back, "abXYZf", 6) == 0);
}

/* Advice on a part of a view (or past its end, or on a private view)
 * changes nothing of what the view holds or writes. */
static void advice_on_part_of_view_keeps_its_bytes(void)
{
    const char *path = path_of("advised");
    mmio_error err;
    mmio_view v;
    mmio_file *f = open_written("advised", "abcdefgh", 8, MMIO_RDWR);
    char back[16];

    CHECK(f && mmio_map(f, 1, 6, MMIO_MAP_SHARED, &v, &err) == 0);
    if (!f)
        return;
    mmio_advise_range(&v, 2, 3, MMIO_WILLWRITE);
    mmio_advise_range(&v, 4, 100, MMIO_WILLNEED);
    mmio_advise_range(&v, 6, 1, MMIO_DONTNEED);
    mmio_advise_range(&v, 0, 0, MMIO_WILLWRITE);
    CHECK(memcmp(v.data, "bcdefg", 6) == 0);
    memcpy(v.data + 2, "XYZ", 3);
    mmio_unmap(&v, NULL);
    CHECK(mmio_map(f, 0, 8, MMIO_MAP_PRIVATE, &v, &err) == 0);
    v.data[0] = 'P';
    mmio_advise_range(&v, 0, 8, MMIO_DONTNEED);
    CHECK(v.data[0] == 'P');
    mmio_unmap(&v, NULL);
    mmio_close(f, NULL);
    CHECK(read_file(path, back, sizeof back) == 8 && memcmp(back, "abcXYZgh", 8) == 0);
}

static void created_file_is_sized_and_mapped_writable(void)
{
    const char *path = path_of("created");
    mmio_error err;
    mmio_view v;
    mmio_file *f = mmio_create(path, 0, &err);
    uint64_t size = 1;
    char back[16];

    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(mmio_size(f, &size, &err) == 0 && size == 0);
    CHECK(mmio_resize(f, 10, &err) == 0);
    CHECK(mmio_size(f, &size, &err) == 0 && size == 10);
    CHECK(mmio_map(f, 0, 10, MMIO_MAP_SHARED, &v, &err) == 0);
    memcpy(v.data, "0123456789", 10);
    CHECK(mmio_flush(&v, 0, 10, MMIO_SYNC, &err) == 0);
    mmio_unmap(&v, NULL);
    CHECK(mmio_commit(f, &err) == 0);
    CHECK(mmio_close(f, &err) == 0);
    CHECK(read_file(path, back, sizeof back) == 10 && memcmp(back, "0123456789", 10) == 0);
}

/* Parts written at their offsets, in any order, make the file. */
static void writes_at_offsets_make_the_file(void)
{
    const char *path = path_of("written-at");
    mmio_file *f = mmio_create(path, MMIO_ATOMIC, NULL);
    char back[16];

    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(mmio_write_at(f, "cccc", 4, 8, NULL) == 0);
    CHECK(mmio_write_at(f, "aaaa", 4, 0, NULL) == 0);
    CHECK(mmio_write_at(f, "bbbb", 4, 4, NULL) == 0);
    CHECK(mmio_commit(f, NULL) == 0);
    CHECK(mmio_close(f, NULL) == 0);
    CHECK(read_file(path, back, sizeof back) == 12
          && memcmp(back, "aaaabbbbcccc", 12) == 0);
}

/* ---- atomic output files -------------------------------------------------- */

/* Writes TEXT through an atomic file for PATH, committing or not. */
static int write_atomic(const char *path, const char *text, int commit)
{
    mmio_error err;
    mmio_file *f = mmio_create(path, MMIO_ATOMIC, &err);
    int ok;

    if (!f)
        return -1;
    ok = mmio_write(f, text, strlen(text), &err) == 0;
    if (commit)
        ok = ok && mmio_commit(f, &err) == 0;
    return mmio_close(f, &err) == 0 && ok ? 0 : -1;
}

static void atomic_file_replaces_destination_on_commit(void)
{
    const char *path = path_of("atomic");
    mmio_error err;
    mmio_file *f;
    char back[16];

    write_file(path, "old", 3);
    f = mmio_create(path, MMIO_ATOMIC, &err);
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(mmio_write(f, "new!", 4, &err) == 0);
    CHECK(read_file(path, back, sizeof back) == 3 && memcmp(back, "old", 3) == 0);
    CHECK(mmio_commit(f, &err) == 0);
    CHECK(mmio_close(f, &err) == 0);
    CHECK(read_file(path, back, sizeof back) == 4 && memcmp(back, "new!", 4) == 0);
}

static void atomic_file_closed_uncommitted_leaves_destination(void)
{
    const char *kept = path_of("kept");
    const char *absent = path_of("absent");
    char back[16];

    write_file(kept, "old", 3);
    CHECK(write_atomic(kept, "new", 0) == 0);
    CHECK(read_file(kept, back, sizeof back) == 3 && memcmp(back, "old", 3) == 0);
    CHECK(write_atomic(absent, "new", 0) == 0);
    CHECK(fopen(absent, "rb") == NULL);
}

#ifdef POSIX_TESTS
/* Counts the temporaries left in the scratch directory. */
static int leftover_temporaries(void)
{
    DIR *d = opendir(scratch);
    struct dirent *e;
    int n = 0;

    while (d && (e = readdir(d)))
        n += strncmp(e->d_name, ".mmtools.", 9) == 0;
    if (d)
        closedir(d);
    return n;
}

static void atomic_file_keeps_permission_bits(void)
{
    const char *path = path_of("mode");
    struct stat st;

    write_file(path, "old", 3);
    chmod(path, 0640);
    CHECK(write_atomic(path, "new", 1) == 0);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);
    CHECK(leftover_temporaries() == 0);
}

static void atomic_file_to_device_writes_through(void)
{
    mmio_error err;
    mmio_file *f = mmio_create("/dev/null", MMIO_ATOMIC, &err);
    struct stat st;

    CHECK(f != NULL);
    CHECK(f && mmio_kind(f) == MMIO_KIND_DEVICE);
    CHECK(f && mmio_write(f, "x", 1, &err) == 0);
    CHECK(f && mmio_commit(f, &err) == 0);
    mmio_close(f, NULL);
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
}

static void fatal_signal_removes_temporary(void)
{
    const char *path = path_of("signalled");
    char back[16];
    int status = 0;
    pid_t pid;

    write_file(path, "old", 3);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        mmio_error err;
        mmio_file *f = mmio_create(path, MMIO_ATOMIC, &err);
        if (f && mmio_write(f, "half", 4, &err) == 0)
            raise(SIGTERM);
        _exit(3);
    }
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    CHECK(leftover_temporaries() == 0);
    CHECK(read_file(path, back, sizeof back) == 3 && memcmp(back, "old", 3) == 0);
}

static void resize_past_file_size_limit_fails_cleanly(void)
{
    const char *path = path_of("limited");
    int status = 0;
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        struct rlimit lim = { 1 << 20, 1 << 20 };
        mmio_error err;
        mmio_file *f;
        mmio_init(); /* SIGXFSZ must not kill */
        setrlimit(RLIMIT_FSIZE, &lim);
        f = mmio_create(path, 0, &err);
        if (!f)
            _exit(2);
        if (mmio_resize(f, 2 << 20, &err) == 0)
            _exit(3);
        _exit(err.code == EFBIG ? 0 : 4);
    }
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void regular_only_refuses_fifo_without_blocking(void)
{
    const char *path = path_of("fifo");
    mmio_error err;

    CHECK(mkfifo(path, 0600) == 0);
    CHECK(mmio_open(path, MMIO_RDONLY | MMIO_REGULAR_ONLY, &err) == NULL);
    CHECK(err.code == MMIO_ENOTREG);
    unlink(path);
}

static volatile unsigned touched; /* keeps the reads from being dropped */

static int touch_all(void *arg)
{
    mmio_view *v = arg;

    for (size_t i = 0; i < v->size; i += 512)
        touched += v->data[i];
    return 7;
}

static void guard_turns_truncation_into_error(void)
{
    const char *path = pattern_file("shrinking", 3 * 65536);
    mmio_error err = { 0 };
    mmio_view v;
    mmio_file *f = mmio_open(path, MMIO_RDONLY, &err);

    CHECK(f && mmio_map(f, 0, MMIO_TO_END, MMIO_MAP_READ, &v, &err) == 0);
    if (!f)
        return;
    CHECK(mmio_guard(touch_all, &v, &err) == 7);
    CHECK(truncate(path, 0) == 0);
    CHECK(mmio_guard(touch_all, &v, &err) == -1);
    CHECK(err.code == MMIO_ESHRUNK);
    mmio_unmap(&v, NULL);
    mmio_close(f, NULL);
}

/* Makes standard input a pipe holding TEXT. */
static void stdin_from_pipe(const char *text)
{
    int fds[2];

    if (pipe(fds) != 0 || write(fds[1], text, strlen(text)) < 0) {
        printf("Bail out! pipe\n");
        exit(1);
    }
    close(fds[1]);
    dup2(fds[0], 0);
    close(fds[0]);
}

static void load_reads_pipe_into_memory(void)
{
    mmio_error err;
    mmio_file *in;
    mmio_view v;

    stdin_from_pipe("from a pipe\n");
    in = mmio_stdin(&err);
    CHECK(in && mmio_kind(in) == MMIO_KIND_PIPE);
    CHECK(in && mmio_load(in, MMIO_MAP_READ, &v, &err) == 0);
    if (!in)
        return;
    CHECK(v.size == 12 && memcmp(v.data, "from a pipe\n", 12) == 0);
    mmio_unmap(&v, NULL);
    mmio_close(in, NULL);
}

static void walk_reads_pipe(void)
{
    mmio_error err;
    mmio_walk w;
    mmio_file *in;
    const unsigned char *data;
    size_t size;

    stdin_from_pipe("streamed");
    in = mmio_stdin(&err);
    CHECK(in && mmio_walk_start(&w, in, 0, &err) == 0);
    if (!in)
        return;
    CHECK(w.streaming);
    CHECK(mmio_walk_next(&w, &data, &size, &err) == 1);
    CHECK(size == 8 && memcmp(data, "streamed", 8) == 0);
    CHECK(mmio_walk_next(&w, &data, &size, &err) == 0);
    mmio_walk_finish(&w);
    mmio_close(in, NULL);
}

static void proc_file_of_size_zero_is_read(void)
{
    mmio_error err;
    mmio_file *f = mmio_open("/proc/self/status", MMIO_RDONLY, &err);
    uint64_t size = 1;
    mmio_view v;

    if (!f) {
        CHECK(!"/proc/self/status opens");
        return;
    }
    CHECK(mmio_size(f, &size, &err) == 0 && size == 0);
    CHECK(mmio_load(f, MMIO_MAP_READ, &v, &err) == 0);
    CHECK(v.size > 5 && memcmp(v.data, "Name:", 5) == 0);
    mmio_unmap(&v, NULL);
    mmio_close(f, NULL);
}

/* A sysfs attribute reports 4096 bytes and refuses to be mapped. */
static const char unmappable[] = "/sys/kernel/mm/transparent_hugepage/enabled";

static void file_that_cannot_be_mapped_is_read(void)
{
    const char *path = unmappable;
    mmio_error err;
    mmio_file *f = mmio_open(path, MMIO_RDONLY, &err);
    const unsigned char *data;
    mmio_walk w;
    mmio_view v;
    size_t size;

    if (!f) {
        CHECK(!"a sysfs attribute opens");
        return;
    }
    CHECK(mmio_map(f, 0, MMIO_TO_END, MMIO_MAP_READ, &v, &err) == -1);
    CHECK(mmio_load(f, MMIO_MAP_READ, &v, &err) == 0);
    CHECK(v.size > 5 && v.size < 4096 && memchr(v.data, '[', v.size) != NULL);
    mmio_unmap(&v, NULL);
    mmio_close(f, NULL);
    f = mmio_open(path, MMIO_RDONLY, &err);
    CHECK(f && mmio_walk_start(&w, f, 0, &err) == 0);
    if (!f)
        return;
    CHECK(mmio_walk_next(&w, &data, &size, &err) == 1);
    CHECK(size > 5 && size < 4096 && memchr(data, '[', size) != NULL);
    CHECK(mmio_walk_next(&w, &data, &size, &err) == 0);
    mmio_walk_finish(&w);
    mmio_close(f, NULL);
}
#endif

/* ---- walks and copies ---------------------------------------------------- */

static void walk_pieces_cover_file_in_windows(void)
{
    size_t window = mmio_map_granularity();
    size_t total = 3 * window + 123, seen = 0;
    const char *path = pattern_file("walked", total);
    const unsigned char *data;
    mmio_error err;
    mmio_walk w;
    size_t size;
    int pieces = 0, more;
    mmio_file *f = mmio_open(path, MMIO_RDONLY, &err);

    CHECK(f && mmio_walk_start(&w, f, window, &err) == 0);
    if (!f)
        return;
    CHECK(!w.streaming);
    while ((more = mmio_walk_next(&w, &data, &size, &err)) > 0) {
        CHECK(size <= window);
        for (size_t i = 0; i < size; i++)
            if (data[i] != pattern(seen + i)) {
                CHECK(!"byte differs");
                break;
            }
        seen += size;
        pieces++;
    }
    CHECK(more == 0 && seen == total && pieces == 4);
    mmio_walk_finish(&w);
    mmio_close(f, NULL);
}

static void walk_starts_at_file_position(void)
{
    const char *path = pattern_file("positioned", 100);
    unsigned char head[10];
    const unsigned char *data;
    mmio_error err;
    mmio_walk w;
    size_t got, size;
    mmio_file *f = mmio_open(path, MMIO_RDONLY, &err);

    CHECK(f && mmio_read(f, head, sizeof head, &got, &err) == 0 && got == 10);
    if (!f)
        return;
    CHECK(mmio_walk_start(&w, f, 0, &err) == 0);
    CHECK(mmio_walk_next(&w, &data, &size, &err) == 1);
    CHECK(size == 90 && data[0] == pattern(10));
    CHECK(mmio_walk_next(&w, &data, &size, &err) == 0);
    mmio_walk_finish(&w);
    CHECK(mmio_tell(f) == 100);
    mmio_close(f, NULL);
}

static void copy_moves_file_content(void)
{
    const char *src = pattern_file("copy-src", 300000);
    const char *dst = path_of("copy-dst");
    unsigned char *back = malloc(300001);
    mmio_error err;
    mmio_file *in = mmio_open(src, MMIO_RDONLY, &err);
    mmio_file *out = mmio_create(dst, 0, &err);
    size_t n;

    CHECK(in && out && mmio_copy(in, out, &err) == 0);
    mmio_close(in, NULL);
    mmio_close(out, NULL);
    n = read_file(dst, back, 300001);
    CHECK(n == 300000);
    for (size_t i = 0; i < n; i++)
        if (back[i] != pattern(i)) {
            CHECK(!"byte differs");
            break;
        }
    free(back);
}

static void arena_grows_in_place(void)
{
    mmio_arena a;
    mmio_error err;
    unsigned char *base;

    CHECK(mmio_reserve(&a, (size_t)64 << 20, &err) == 0);
    base = a.base;
    CHECK(mmio_commit_memory(&a, 1, &err) == 0 && a.committed >= 1);
    a.base[0] = 1;
    CHECK(mmio_commit_memory(&a, (size_t)10 << 20, &err) == 0);
    CHECK(a.base == base && a.committed >= (size_t)10 << 20);
    a.base[((size_t)10 << 20) - 1] = 2;
    CHECK(a.base[0] == 1);
    CHECK(mmio_commit_memory(&a, (size_t)65 << 20, &err) == -1);
    CHECK(err.code == MMIO_ETOOBIG);
    mmio_release(&a);
    CHECK(a.base == NULL);
}

/* ---- hardening: ranges, non-files, shrinking, names (issue 6) ------------ */

#ifdef _WIN32
#include <windows.h>
#define DEVICE_PATH "NUL"
#define NO_TRANSLATION ERROR_NO_UNICODE_TRANSLATION
#define BAD_HANDLE ERROR_INVALID_HANDLE
#else
#define DEVICE_PATH "/dev/zero"
#define NO_TRANSLATION ENOENT /* POSIX names are bytes: no such file */
#define BAD_HANDLE EBADF
#endif

/* Standard input made a pipe holding TEXT, wrapped. */
static mmio_file *pipe_on_stdin(const char *text)
{
#ifdef _WIN32
    HANDLE r, w;
    DWORD n;

    if (!CreatePipe(&r, &w, NULL, 0)
        || !WriteFile(w, text, (DWORD)strlen(text), &n, NULL)) {
        printf("Bail out! pipe\n");
        exit(1);
    }
    CloseHandle(w);
    SetStdHandle(STD_INPUT_HANDLE, r);
#else
    stdin_from_pipe(text);
#endif
    return mmio_stdin(NULL);
}

static void map_past_end_is_refused(void)
{
    mmio_error err = { 0 };
    mmio_view v;
    mmio_file *f = open_written("short", "abcdef", 6, MMIO_RDONLY);

    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(mmio_map(f, 0, 100000, MMIO_MAP_READ, &v, &err) == -1);
    CHECK(err.code == MMIO_EPASTEND && strcmp(err.op, "map") == 0);
    err.code = 0;
    CHECK(mmio_map(f, 3, 4, MMIO_MAP_PRIVATE, &v, &err) == -1);
    CHECK(err.code == MMIO_EPASTEND);
    err.code = 0;
    CHECK(mmio_map(f, 10, 1, MMIO_MAP_READ, &v, &err) == -1);
    CHECK(err.code == MMIO_EPASTEND);
    CHECK(mmio_map(f, 3, 3, MMIO_MAP_READ, &v, &err) == 0);
    CHECK(v.size == 3 && memcmp(v.data, "def", 3) == 0);
    mmio_unmap(&v, NULL);
    for (uint64_t at = 6; at <= 7; at++) { /* nothing left: an empty view */
        CHECK(mmio_map(f, at, MMIO_TO_END, MMIO_MAP_READ, &v, &err) == 0);
        CHECK(v.size == 0);
        mmio_unmap(&v, NULL);
    }
    mmio_close(f, NULL);
}

static void grown_file_maps_writable_to_its_new_end(void)
{
    const char *path = path_of("grown");
    mmio_error err;
    mmio_view v;
    mmio_file *f = mmio_create(path, 0, &err);
    unsigned char back[200001];

    CHECK(f && mmio_resize(f, 200000, &err) == 0);
    if (!f)
        return;
    CHECK(mmio_map(f, 199990, 10, MMIO_MAP_SHARED, &v, &err) == 0);
    memcpy(v.data, "0123456789", 10);
    mmio_unmap(&v, NULL);
    CHECK(mmio_map(f, 199990, 11, MMIO_MAP_SHARED, &v, &err) == -1);
    CHECK(err.code == MMIO_EPASTEND);
    mmio_close(f, NULL);
    CHECK(read_file(path, back, sizeof back) == 200000);
    CHECK(memcmp(back + 199990, "0123456789", 10) == 0);
}

static void map_of_what_is_not_a_file_is_refused(void)
{
    mmio_error err = { 0 };
    mmio_view v;
    mmio_file *in = pipe_on_stdin("piped");
    mmio_file *dev = mmio_open(DEVICE_PATH, MMIO_RDONLY, &err);

    CHECK(in && mmio_map(in, 0, MMIO_TO_END, MMIO_MAP_READ, &v, &err) == -1);
    CHECK(err.code == MMIO_ENOTREG);
    err.code = 0;
    CHECK(dev && mmio_map(dev, 0, MMIO_TO_END, MMIO_MAP_READ, &v, &err) == -1);
    CHECK(err.code == MMIO_ENOTREG);
    err.code = 0;
    CHECK(dev && mmio_map(dev, 0, 4096, MMIO_MAP_PRIVATE, &v, &err) == -1);
    CHECK(err.code == MMIO_ENOTREG);
    mmio_close(in, NULL);
    mmio_close(dev, NULL);
}

/* A file of SIZE pattern bytes opened for reading and writing. */
static mmio_file *open_pattern_rdwr(const char *name, size_t size)
{
    return mmio_open(pattern_file(name, size), MMIO_RDWR, NULL);
}

static void shrink_with_view_mapped_is_refused(void)
{
    mmio_error err = { 0 };
    mmio_view v;
    uint64_t size = 0;
    unsigned char first;
    size_t got;
    mmio_file *f = open_pattern_rdwr("pinned", 3 * 65536);

    CHECK(f && mmio_read(f, &first, 1, &got, &err) == 0 && got == 1);
    if (!f)
        return;
    CHECK(mmio_map(f, 65536, 1000, MMIO_MAP_READ, &v, &err) == 0);
    CHECK(mmio_resize(f, 1000, &err) == -1);
    CHECK(err.code == MMIO_EMAPPED && strcmp(err.op, "resize") == 0);
    CHECK(mmio_size(f, &size, &err) == 0 && size == 3 * 65536);
    CHECK(mmio_tell(f) == 1);
    CHECK(v.data[999] == pattern(65536 + 999));
    CHECK(mmio_resize(f, 4 * 65536, &err) == 0); /* growing is allowed */
    CHECK(mmio_resize(f, 4 * 65536, &err) == 0);
    CHECK(mmio_resize(f, 4 * 65536 - 1, &err) == -1);
    CHECK(mmio_unmap(&v, &err) == 0);
    CHECK(mmio_resize(f, 1000, &err) == 0);
    CHECK(mmio_size(f, &size, &err) == 0 && size == 1000);
    mmio_close(f, NULL);
}

/* Only mappings pin a file: not an empty view, not a view read into memory. */
static void only_mapped_views_pin_a_file(void)
{
    mmio_error err = { 0 };
    mmio_view loaded, empty, v;
    mmio_file *f = open_pattern_rdwr("unpinned", 0);

    CHECK(f && mmio_load(f, MMIO_MAP_READ, &loaded, &err) == 0);
    if (!f)
        return;
    CHECK(loaded.owned_memory);
    CHECK(mmio_map(f, 0, MMIO_TO_END, MMIO_MAP_READ, &empty, &err) == 0);
    CHECK(mmio_resize(f, 10, &err) == 0);
    CHECK(mmio_map(f, 0, 10, MMIO_MAP_SHARED, &v, &err) == 0);
    mmio_unmap(&loaded, NULL);
    mmio_unmap(&empty, NULL);
    CHECK(mmio_resize(f, 0, &err) == -1 && err.code == MMIO_EMAPPED);
    mmio_unmap(&v, NULL);
    CHECK(mmio_resize(f, 0, &err) == 0);
    mmio_close(f, NULL);
}

/* A name with a byte that is not UTF-8 names no file, least of all the
 * one whose name has U+FFFD (EF BF BD) there instead. */
static void invalid_utf8_name_is_refused(void)
{
    const char *replaced = path_of("name-\xef\xbf\xbd");
    mmio_error err = { 0 };
    mmio_file *f = mmio_create(replaced, 0, &err);

    CHECK(f && mmio_write(f, "x", 1, &err) == 0);
    mmio_close(f, NULL);
    CHECK(mmio_open(path_of("name-\xff"), MMIO_RDONLY, &err) == NULL);
    CHECK(err.code == NO_TRANSLATION);
#ifdef _WIN32
    err.code = 0;
    CHECK(mmio_create(path_of("made-\xff"), 0, &err) == NULL);
    CHECK(err.code == ERROR_NO_UNICODE_TRANSLATION);
    CHECK(mmio_open(path_of("made-\xef\xbf\xbd"), MMIO_RDONLY, NULL) == NULL);
    CHECK(mmio_create(path_of("made-\xff"), MMIO_ATOMIC, &err) == NULL);
    CHECK(err.code == ERROR_NO_UNICODE_TRANSLATION);
    {
        wchar_t wide[128];
        swprintf(wide, 128, L"%hs/name-\xfffd", scratch);
        DeleteFileW(wide); /* remove() takes the ANSI code page */
    }
#endif
}

#ifdef _WIN32
/* Runs this program as a child in the scratch directory, with ARGS
 * (UTF-16) after it; returns its exit code. */
static DWORD run_self(const wchar_t *args)
{
    wchar_t exe[MAX_PATH], line[2 * MAX_PATH];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    DWORD code = 999;

    SECURITY_ATTRIBUTES inherit = { sizeof inherit, NULL, TRUE };
    HANDLE nul = CreateFileW(L"NUL", GENERIC_WRITE, 0, &inherit,
                             OPEN_EXISTING, 0, NULL);

    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    /* A crash report (Wine's debugger) must not reach the TAP stream. */
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = si.hStdOutput = si.hStdError = nul;
    GetModuleFileNameW(NULL, exe, MAX_PATH);
    swprintf(line, 2 * MAX_PATH, L"\"%ls\" --child %hs %ls", exe, scratch,
             args);
    fflush(stdout);
    if (!CreateProcessW(exe, line, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
        CloseHandle(nul);
        return code;
    }
    CloseHandle(nul);
    WaitForSingleObject(pi.hProcess, INFINITE);
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return code;
}

/* The child's half: a lone surrogate has no UTF-8. */
static int child_args(int argc, char **argv)
{
    mmio_error err = { 0 };

    if (mmio_args(&argc, &argv, &err) == 0)
        return 1;
    return err.code == ERROR_NO_UNICODE_TRANSLATION ? 0 : 2;
}

static void argument_without_utf8_is_refused(void)
{
    CHECK(run_self(L"args \xd800") == 0);
    CHECK(run_self(L"args \xd83d\xde00") == 1); /* a valid pair */
}

/* A byte-mode pipe that does not wait: a write to it when full succeeds
 * having written nothing. */
static void write_that_moves_nothing_fails(void)
{
    wchar_t name[64];
    HANDLE server, client, saved = GetStdHandle(STD_OUTPUT_HANDLE);
    mmio_error err = { 0 };
    mmio_file *out;
    static char big[1 << 20];

    swprintf(name, 64, L"\\\\.\\pipe\\test_mmio.%lu", GetCurrentProcessId());
    server = CreateNamedPipeW(name, PIPE_ACCESS_OUTBOUND,
                              PIPE_TYPE_BYTE | PIPE_NOWAIT, 1, 4096, 4096,
                              0, NULL);
    client = CreateFileW(name, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
    CHECK(server != INVALID_HANDLE_VALUE && client != INVALID_HANDLE_VALUE);
    SetStdHandle(STD_OUTPUT_HANDLE, server);
    out = mmio_stdout(&err);
    SetStdHandle(STD_OUTPUT_HANDLE, saved);
    CHECK(out && mmio_write(out, big, sizeof big, &err) == -1);
    CHECK(err.code == ERROR_WRITE_FAULT && strcmp(err.op, "write") == 0);
    mmio_close(out, NULL);
    CloseHandle(client);
    CloseHandle(server);
}
#endif

#ifdef _WIN32
/* ---- the Windows guard meets real faults, each in a process of its own -- */

static volatile unsigned char sink; /* keeps the touches from being dropped */

/* A view of a 3 * 64 KiB file, one per MODE, whose middle 64 KiB fault when
 * touched, as the pages of a file truncated under Wine do; NULL if not. */
static unsigned char *faulting_view(mmio_view *v, enum mmio_map_mode mode)
{
    const char *name = mode == MMIO_MAP_READ ? "faulting-ro" : "faulting-rw";
    mmio_file *f = mmio_open(pattern_file(name, 3 * 65536),
                             mode == MMIO_MAP_SHARED ? MMIO_RDWR : MMIO_RDONLY,
                             NULL);
    DWORD old;

    if (!f || mmio_map(f, 0, 3 * 65536, mode, v, NULL) < 0
        || !VirtualProtect(v->data + 65536, 65536, PAGE_NOACCESS, &old))
        return NULL;
    return v->data + 65536 + 100;
}

static int touch(void *arg)
{
    sink = *(volatile unsigned char *)arg;
    return 7;
}

static int poke(void *arg)
{
    *(volatile unsigned char *)arg = 1;
    return 7;
}

/* The guard's answer as an exit code: 0 for MMIO_ESHRUNK. */
static int guarded_status(int (*fn)(void *), void *arg)
{
    mmio_error err = { 0 };
    int r = mmio_guard(fn, arg, &err);

    return r == -1 && err.code == MMIO_ESHRUNK ? 0 : r == 7 ? 4 : 3;
}

struct in_thread { int (*fn)(void *); void *arg; int guarded, status; };

static void thread_touch(void *arg)
{
    struct in_thread *t = arg;

    t->status = t->guarded ? guarded_status(t->fn, t->arg) : t->fn(t->arg);
}

/* Runs FN(ARG) in a second thread, under a guard of its own or not. */
static int in_second_thread(int (*fn)(void *), void *arg, int guarded)
{
    struct in_thread t = { fn, arg, guarded, 5 };
    mmio_thread *th = mmio_thread_start(thread_touch, &t, NULL);

    if (!th)
        return 6;
    mmio_thread_join(th);
    return t.status;
}

static int unguarded_thread(void *arg)
{
    return in_second_thread(touch, arg, 0);
}

#define CRASHED_THERE 42 /* the exit code of a fault left unhandled */

static ULONG_PTR expected_fault; /* the address the child will touch */

/* What ends the process when no handler took the fault: tells the
 * parent it was the one expected, not one in the guard's own code. */
static LONG WINAPI last_filter(EXCEPTION_POINTERS *info)
{
    const EXCEPTION_RECORD *r = info->ExceptionRecord;

    if (r->ExceptionCode == EXCEPTION_ACCESS_VIOLATION
        && r->NumberParameters >= 2
        && r->ExceptionInformation[1] == expected_fault)
        ExitProcess(CRASHED_THERE);
    return EXCEPTION_CONTINUE_SEARCH;
}

/* The child's half: meets fault WHICH; 0 for MMIO_ESHRUNK, CRASHED_THERE
 * when the fault was left to crash the process. */
static int child_fault(const char *which)
{
    mmio_view v, ro;
    unsigned char *bad = faulting_view(&v, MMIO_MAP_SHARED);
    unsigned char *gone;

    SetErrorMode(SEM_NOGPFAULTERRORBOX | SEM_FAILCRITICALERRORS);
    SetUnhandledExceptionFilter(last_filter);
    if (!bad || !faulting_view(&ro, MMIO_MAP_READ))
        return 8;
    gone = ro.data;
    expected_fault = (ULONG_PTR)(strcmp(which, "null") == 0 ? NULL
                                 : strcmp(which, "read-only") == 0
                                   || strcmp(which, "gone") == 0 ? gone : bad);
    if (strcmp(which, "gone") == 0) /* a view that was unmapped */
        mmio_unmap(&ro, NULL);
    if (strcmp(which, "read") == 0)
        return guarded_status(touch, bad);
    if (strcmp(which, "write") == 0)
        return guarded_status(poke, bad);
    if (strcmp(which, "helper") == 0)
        return in_second_thread(touch, bad, 1);
    if (strcmp(which, "unguarded") == 0)
        return touch(bad);
    if (strcmp(which, "other-thread") == 0)
        return guarded_status(unguarded_thread, bad);
    if (strcmp(which, "null") == 0)
        return guarded_status(touch, NULL);
    if (strcmp(which, "read-only") == 0)
        return guarded_status(poke, gone);
    if (strcmp(which, "gone") == 0)
        return guarded_status(touch, gone);
    return 9;
}

static void guard_turns_real_fault_in_view_into_error(void)
{
    path_of("faulting-ro"); /* made by the children, removed here */
    path_of("faulting-rw");
    CHECK(run_self(L"fault read") == 0);
    CHECK(run_self(L"fault write") == 0);
    CHECK(run_self(L"fault helper") == 0); /* mmcat's second lane */
}

/* Anything but a fault in a view under the faulting thread's guard is
 * still a crash. */
static void guard_lets_other_faults_crash(void)
{
    static const wchar_t *const cases[] = {
        L"fault unguarded", L"fault other-thread",
        L"fault null", L"fault read-only",
        L"fault gone",
    };

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        DWORD code = run_self(cases[i]);
        if (code != CRASHED_THERE)
            printf("#   %ls: exit code %#lx\n", cases[i], (unsigned long)code);
        CHECK(code == CRASHED_THERE);
    }
}
#endif

#ifdef POSIX_TESTS
/* /proc says size 0 and has content: it is read, never mapped. */
static void map_of_proc_file_is_refused(void)
{
    mmio_error err = { 0 };
    mmio_view v;
    mmio_file *f = mmio_open("/proc/self/status", MMIO_RDONLY, &err);

    CHECK(f && mmio_map(f, 0, MMIO_TO_END, MMIO_MAP_READ, &v, &err) == -1);
    CHECK(err.code == MMIO_ENOTREG);
    mmio_close(f, NULL);
}
/* Mapping past the end is refused now: a walk whose file shrank between
 * two windows must say so, not end quietly where the file now ends. */
static void walk_reports_file_shrunk_between_windows(void)
{
    size_t window = mmio_map_granularity();
    const char *path = pattern_file("shrunk-walk", 3 * window + 123);
    const unsigned char *data;
    mmio_error err = { 0 };
    mmio_walk w;
    size_t size;
    mmio_file *f = mmio_open(path, MMIO_RDONLY, &err);

    CHECK(f && mmio_walk_start(&w, f, window, &err) == 0);
    if (!f)
        return;
    CHECK(mmio_walk_next(&w, &data, &size, &err) == 1 && size == window);
    CHECK(truncate(path, (off_t)(window + window / 2)) == 0);
    CHECK(mmio_walk_next(&w, &data, &size, &err) == -1);
    CHECK(err.code == MMIO_ESHRUNK && err.path == mmio_path(f));
    mmio_walk_finish(&w);
    mmio_close(f, NULL);
}
#endif

#ifdef _WIN32
#include <windows.h>

/* What Windows raises when a page of view ARG cannot be read in: a read,
 * its address, the NTSTATUS. */
static int raise_in_page_error(void *arg)
{
    mmio_view *v = arg;
    ULONG_PTR info[3] = { 0, (ULONG_PTR)(v->data + 1), 0xC000009C };

    RaiseException(EXCEPTION_IN_PAGE_ERROR, 0, 3, info);
    return 7;
}

static int return_seven(void *arg)
{
    (void)arg;
    return 7;
}

static void guard_turns_in_page_error_into_error(void)
{
    mmio_error err = { 0 };
    mmio_view v;
    mmio_file *f = open_written("in-page", "abcdef", 6, MMIO_RDONLY);

    CHECK(f && mmio_map(f, 0, MMIO_TO_END, MMIO_MAP_READ, &v, &err) == 0);
    if (!f)
        return;
    CHECK(mmio_guard(return_seven, NULL, &err) == 7);
    CHECK(mmio_guard(raise_in_page_error, &v, &err) == -1);
    CHECK(err.code == MMIO_ESHRUNK);
    CHECK(mmio_guard(return_seven, NULL, &err) == 7); /* and again after */
    mmio_unmap(&v, NULL);
    mmio_close(f, NULL);
}
#endif

/* ---- threads ------------------------------------------------------------ */

struct relay {
    mmio_sequence *asked, *answered;
    int rounds;
    int value;
};

/* Answers each question by adding one, so the two threads take turns. */
static void relay_main(void *arg)
{
    struct relay *r = arg;

    for (int i = 1; i <= r->rounds; i++) {
        mmio_sequence_wait(r->asked, (uint64_t)i);
        r->value++;
        mmio_sequence_advance(r->answered);
    }
}

static void threads_take_turns_through_sequences(void)
{
    struct relay r = { mmio_sequence_new(NULL), mmio_sequence_new(NULL), 1000, 0 };
    mmio_thread *t;
    int turns_ok = 1;

    CHECK(r.asked && r.answered);
    t = mmio_thread_start(relay_main, &r, NULL);
    CHECK(t != NULL);
    if (!t)
        return;
    for (int i = 1; i <= r.rounds; i++) {
        r.value++;
        mmio_sequence_advance(r.asked);
        mmio_sequence_wait(r.answered, (uint64_t)i);
        turns_ok &= r.value == 2 * i;
    }
    mmio_thread_join(t);
    CHECK(turns_ok);
    CHECK(r.value == 2 * r.rounds);
    mmio_sequence_free(r.asked);
    mmio_sequence_free(r.answered);
    CHECK(mmio_cpu_count() >= 1);
}

/* ---- processes ------------------------------------------------------------ */

/* Arguments a spawned child must get back exactly as they were given. */
static const char *const odd_arguments[] = {
    "two words", "", "a\"quote", "back\\slash", "trailing\\", "\\\\\"both",
    "tab\there", "caf\xc3\xa9", NULL
};

#define SHARED_SIZE 100000

/* Runs this program again with ARGUMENTS after "--spawned"; returns how
 * it ended, status -1 when it could not be started or waited for. */
static mmio_exit spawn_and_wait(const char *const arguments[])
{
    const char *argv[16] = { "test_mmio", "--spawned" };
    mmio_exit how = { -1, 0 };
    mmio_process *p;
    int n = 2;

    while (*arguments && n < 15)
        argv[n++] = *arguments++;
    fflush(stdout); /* the child's output must not repeat ours */
    p = mmio_spawn_self((char *const *)argv, NULL);
    if (p && mmio_wait(p, &how, NULL) < 0)
        how.status = -1;
    return how;
}

static void spawned_process_gives_its_exit_status(void)
{
    mmio_exit how = spawn_and_wait((const char *[]){ "exit", "3", NULL });
    char text[64];

    CHECK(how.status == 3 && how.signal == 0);
    CHECK(strcmp(mmio_exit_string(&how, text, sizeof text),
                 "exited with status 3") == 0);
}

static void spawned_process_gets_arguments_as_given(void)
{
    const char *args[16] = { "arguments" };

    for (int i = 0; odd_arguments[i]; i++)
        args[i + 1] = odd_arguments[i];
    CHECK(spawn_and_wait(args).status == 0);
}

/* A shared atomic file (a temporary without a name, on Linux) is filled
 * by a child through a mapping of its own, then committed. */
static void shared_file_is_written_by_spawned_process(void)
{
    const char *path = path_of("shared");
    mmio_error err = { 0 };
    mmio_file *f = mmio_create(path, MMIO_RDWR | MMIO_ATOMIC, &err);
    char name[32];
    mmio_view v;
    int same = 1;

    CHECK(f && mmio_resize(f, SHARED_SIZE, &err) == 0);
    CHECK(f && mmio_share(f, name, sizeof name, &err) == 0);
    if (!f)
        return;
    CHECK(spawn_and_wait((const char *[]){ "fill", name, NULL }).status == 0);
    CHECK(mmio_commit(f, &err) == 0);
    mmio_close(f, NULL);
    f = mmio_open(path, MMIO_RDONLY, &err);
    CHECK(f && mmio_map(f, 0, MMIO_TO_END, MMIO_MAP_READ, &v, &err) == 0);
    if (!f)
        return;
    CHECK(v.size == SHARED_SIZE);
    for (size_t i = 0; i < v.size; i++)
        same &= v.data[i] == pattern(i);
    CHECK(same);
    mmio_unmap(&v, NULL);
    mmio_close(f, NULL);
}

static void open_shared_refuses_what_was_not_shared(void)
{
    mmio_error err = { 0 };

    CHECK(mmio_open_shared("x", "out", &err) == NULL);
    CHECK(err.code == BAD_HANDLE && strcmp(err.path, "out") == 0);
    err.code = 0;
    CHECK(mmio_open_shared("", "out", &err) == NULL && err.code == BAD_HANDLE);
    err.code = 0;
    CHECK(mmio_open_shared("999", "out", &err) == NULL && err.code == BAD_HANDLE);
}

static void stopped_process_is_reaped(void)
{
    const char *argv[] = { "test_mmio", "--spawned", "hang", NULL };
    mmio_process *p = mmio_spawn_self((char *const *)argv, NULL);
    mmio_exit how = { -1, -1 };
    char text[64];

    CHECK(p != NULL);
    if (!p)
        return;
    mmio_stop(p);
    CHECK(mmio_wait(p, &how, NULL) == 0);
    mmio_exit_string(&how, text, sizeof text);
#ifdef _WIN32
    CHECK(how.status == 1 && how.signal == 0);
#else
    CHECK(how.signal == SIGKILL);
    CHECK(strcmp(text, "killed by signal 9 (Killed)") == 0);
#endif
}

/* Process COUNT - 1 exits with status 7, the others hang until stopped:
 * the one that ended is waited for first, past Windows's 64 handles. */
static void wait_any_takes_whichever_ends(void)
{
    enum { COUNT = 66 };
    const char *hang[] = { "test_mmio", "--spawned", "hang", NULL };
    const char *exit7[] = { "test_mmio", "--spawned", "exit", "7", NULL };
    mmio_process *p[COUNT + 1] = { NULL };
    mmio_exit how = { -1, -1 };
    unsigned which = 0, waited = 1, stopped_ok = 1;
    mmio_error err = { 0 };

    fflush(stdout);
    for (unsigned i = 0; i < COUNT; i++) {
        p[i] = mmio_spawn_self((char *const *)(i == COUNT - 1 ? exit7 : hang),
                               NULL);
        CHECK(p[i] != NULL);
    }
    CHECK(mmio_wait_any(p, COUNT + 1, &which, &how, &err) == 0);
    CHECK(which == COUNT - 1 && how.status == 7 && how.signal == 0);
    CHECK(p[COUNT - 1] == NULL);
    for (unsigned i = 0; i < COUNT; i++)
        if (p[i])
            mmio_stop(p[i]);
    for (; waited < COUNT; waited++) {
        if (mmio_wait_any(p, COUNT + 1, &which, &how, &err) < 0)
            break;
        stopped_ok &= which < COUNT - 1 && (how.signal != 0 || how.status == 1);
    }
    CHECK(waited == COUNT && stopped_ok);
    CHECK(mmio_wait_any(p, COUNT + 1, &which, &how, &err) < 0);
}

/* A process not started by mmio_spawn_self has no parent to outlive. */
static void spawned_process_sees_its_parent_alive(void)
{
    CHECK(mmio_parent_alive() == 1);
    CHECK(spawn_and_wait((const char *[]){ "parent", NULL }).status == 0);
}

static void crash_is_told_from_exit(void)
{
    mmio_exit crash = { (int)0xC0000005u, 0 };
    char text[64];

    mmio_exit_string(&crash, text, sizeof text);
#ifdef _WIN32
    CHECK(strcmp(text, "ended by exception 0xC0000005") == 0);
#else
    (void)crash;
    CHECK(strcmp(mmio_exit_string(&(mmio_exit){ 0, SIGSEGV }, text, sizeof text),
                 "killed by signal 11 (Segmentation fault)") == 0);
#endif
}

/* The child's half of the tests above. */
static int spawned_main(int argc, char **argv)
{
    mmio_file *f;
    mmio_view v;

    mmio_init();
    if (mmio_args(&argc, &argv, NULL) < 0 || argc < 3)
        return 90;
    if (strcmp(argv[2], "exit") == 0 && argc == 4)
        return atoi(argv[3]);
    if (strcmp(argv[2], "arguments") == 0) {
        int i;
        for (i = 0; odd_arguments[i]; i++)
            if (3 + i >= argc || strcmp(argv[3 + i], odd_arguments[i]) != 0)
                return 10 + i;
        return 3 + i == argc ? 0 : 91;
    }
    if (strcmp(argv[2], "parent") == 0)
        return mmio_parent_alive() ? 0 : 94;
    if (strcmp(argv[2], "hang") == 0) {
        mmio_sequence *never = mmio_sequence_new(NULL);
        mmio_sequence_wait(never, 1);
        return 92;
    }
    if (strcmp(argv[2], "fill") != 0 || argc != 4
        || !(f = mmio_open_shared(argv[3], "shared", NULL))
        || mmio_map(f, 0, SHARED_SIZE, MMIO_MAP_SHARED, &v, NULL) < 0)
        return 93;
    for (size_t i = 0; i < v.size; i++)
        v.data[i] = pattern(i);
    mmio_unmap(&v, NULL);
    mmio_close(f, NULL);
    return 0;
}

#ifdef _WIN32
/* What this program does when run by run_self. */
static int run_child(int argc, char **argv)
{
    snprintf(scratch, sizeof scratch, "%s", argv[2]);
    if (argc > 3 && strcmp(argv[3], "args") == 0)
        return child_args(argc, argv);
    if (argc > 4 && strcmp(argv[3], "fault") == 0)
        return child_fault(argv[4]);
    return 99;
}
#endif

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--spawned") == 0)
        return spawned_main(argc, argv);
#ifdef _WIN32
    if (argc > 2 && strcmp(argv[1], "--child") == 0)
        return run_child(argc, argv);
#endif
    (void)argc, (void)argv;
    mmio_init(); /* binary standard output: TAP lines end in "\n" alone */
    make_scratch(DIR_PREFIX);
    RUN(error_names_operation_path_and_reason);
    RUN(library_codes_have_reasons);
    RUN(map_whole_file);
    RUN(map_unaligned_offsets_points_at_exact_byte);
    RUN(empty_file_maps_to_empty_view);
    RUN(private_mapping_keeps_changes_in_memory);
    RUN(shared_mapping_reaches_file_after_flush);
    RUN(advice_on_part_of_view_keeps_its_bytes);
    RUN(created_file_is_sized_and_mapped_writable);
    RUN(writes_at_offsets_make_the_file);
    RUN(atomic_file_replaces_destination_on_commit);
    RUN(atomic_file_closed_uncommitted_leaves_destination);
    RUN(walk_pieces_cover_file_in_windows);
    RUN(walk_starts_at_file_position);
    RUN(copy_moves_file_content);
    RUN(arena_grows_in_place);
    RUN(threads_take_turns_through_sequences);
    RUN(map_past_end_is_refused);
    RUN(grown_file_maps_writable_to_its_new_end);
    RUN(map_of_what_is_not_a_file_is_refused);
    RUN(shrink_with_view_mapped_is_refused);
    RUN(only_mapped_views_pin_a_file);
    RUN(invalid_utf8_name_is_refused);
    RUN(spawned_process_gives_its_exit_status);
    RUN(spawned_process_gets_arguments_as_given);
    RUN(shared_file_is_written_by_spawned_process);
    RUN(open_shared_refuses_what_was_not_shared);
    RUN(stopped_process_is_reaped);
    RUN(wait_any_takes_whichever_ends);
    RUN(spawned_process_sees_its_parent_alive);
    RUN(crash_is_told_from_exit);
#ifdef _WIN32
    RUN(argument_without_utf8_is_refused);
    RUN(write_that_moves_nothing_fails);
    RUN(guard_turns_real_fault_in_view_into_error);
    RUN(guard_lets_other_faults_crash);
#else
    unit_skip("argument_without_utf8_is_refused", "POSIX arguments are bytes");
    unit_skip("write_that_moves_nothing_fails", "needs a PIPE_NOWAIT pipe");
    unit_skip("guard_turns_real_fault_in_view_into_error",
              "Windows's guard; guard_turns_truncation_into_error is POSIX's");
    unit_skip("guard_lets_other_faults_crash", "Windows's vectored handler");
#endif
#ifdef POSIX_TESTS
    RUN(map_of_proc_file_is_refused);
    RUN(walk_reports_file_shrunk_between_windows);
#else
    unit_skip("map_of_proc_file_is_refused", "/proc is Linux's");
    unit_skip("walk_reports_file_shrunk_between_windows",
              "Windows refuses to truncate a mapped file");
#endif
#ifdef POSIX_TESTS
    RUN(atomic_file_keeps_permission_bits);
    RUN(atomic_file_to_device_writes_through);
    RUN(fatal_signal_removes_temporary);
    RUN(resize_past_file_size_limit_fails_cleanly);
    RUN(regular_only_refuses_fifo_without_blocking);
    RUN(guard_turns_truncation_into_error);
    RUN(proc_file_of_size_zero_is_read);
    if (access(unmappable, R_OK) == 0)
        RUN(file_that_cannot_be_mapped_is_read);
    else
        unit_skip("file_that_cannot_be_mapped_is_read",
                  "no transparent-hugepage attribute in /sys to read");
    RUN(load_reads_pipe_into_memory);
    RUN(walk_reads_pipe);
#else
    RUN(guard_turns_in_page_error_into_error);
    unit_skip("POSIX-only tests", "pipes, FIFOs, signals and permissions are POSIX");
#endif
    remove_scratch();
    return unit_done();
}
