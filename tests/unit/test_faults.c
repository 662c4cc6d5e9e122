/* Unit tests of libmmio where things go wrong, in TAP: a shared load that
 * cannot be shared, an address-space limit, a full disk, a file that grows
 * or shrinks while it is read, a SIGBUS that no mapping caused, and that a
 * flush reaches the system.  They need POSIX (rlimits, tmpfs, signals,
 * sockets); a Windows build only says so. */
#include <config.h>

#include <stdint.h>
#include <string.h>

#include "mmio.h"
#include "scratch.h"
#include "unit.h"

#ifdef _WIN32
int main(void)
{
    mmio_init(); /* binary standard output: TAP lines end in "\n" alone */
    unit_skip("fault tests", "rlimits, tmpfs, SIGBUS and sockets are POSIX");
    return unit_done();
}
#else
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* AddressSanitizer reserves terabytes of address space: no room under a
 * limit. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static unsigned char pattern(uint64_t i)
{
    return (unsigned char)(i * 7 + 3);
}

/* Runs FN in a child process; returns its wait status. */
static int in_child(int (*fn)(void))
{
    pid_t pid = fork();
    int status = -1;

    if (pid == 0) {
        int result = fn();
        fflush(stdout);
        _exit(result);
    }
    waitpid(pid, &status, 0);
    return status;
}

/* ---- a flush reaches the system ------------------------------------------ */

/* libmmio's calls to msync and fsync land here: the program's own
 * definitions come first when libmmio.a is linked, so a test sees them. */
static struct { uintptr_t start; size_t length; int flags, calls; } seen_msync;
static int seen_fsync;

int msync(void *start, size_t length, int flags)
{
    seen_msync.start = (uintptr_t)start;
    seen_msync.length = length;
    seen_msync.flags = flags;
    seen_msync.calls++;
    return (int)syscall(SYS_msync, start, length, flags);
}

int fsync(int fd)
{
    seen_fsync++;
    return (int)syscall(SYS_fsync, fd);
}

#ifdef __linux__
/* The ranges libmmio sends on their way to disk as it writes. */
static struct { off_t from, to; int calls; } seen_write_behind;

/* Only noted: starting writeback early changes no byte. */
int sync_file_range(int fd, off_t offset, off_t length, unsigned flags)
{
    (void)fd, (void)flags;
    if (seen_write_behind.calls++ == 0)
        seen_write_behind.from = offset;
    seen_write_behind.to = offset + length;
    return 0;
}
#endif

/* A copy_file_range that copies KERNEL_COPY_BUDGET bytes at the most and
 * then fails with EIO, as a kernel copy may fail halfway. */
static long kernel_copy_budget = -1; /* -1: no limit */

ssize_t copy_file_range(int in, off_t *in_offset, int out, off_t *out_offset,
                        size_t length, unsigned flags)
{
    if (kernel_copy_budget == 0) {
        errno = EIO;
        return -1;
    }
    if (kernel_copy_budget > 0 && length > (size_t)kernel_copy_budget)
        length = (size_t)kernel_copy_budget;
    if (kernel_copy_budget > 0)
        kernel_copy_budget -= (long)length;
    return (ssize_t)syscall(SYS_copy_file_range, in, in_offset, out, out_offset,
                            length, flags);
}

/* A write that fails once with the error in FAIL_NEXT_WRITE, when set. */
static int fail_next_write;

ssize_t write(int fd, const void *buf, size_t size)
{
    if (fail_next_write) {
        errno = fail_next_write;
        fail_next_write = 0;
        return -1;
    }
    return (ssize_t)syscall(SYS_write, fd, buf, size);
}

/* Whether the last msync covered [P, P+N) with FLAGS. */
static int msync_covered(const unsigned char *p, size_t n, int flags)
{
    return seen_msync.calls == 1 && seen_msync.flags == flags
           && seen_msync.start <= (uintptr_t)p
           && seen_msync.start + seen_msync.length >= (uintptr_t)(p + n)
           && seen_msync.start % mmio_page_size() == 0;
}

static void flush_writes_back_the_range_asked_for(void)
{
    size_t page = mmio_page_size();
    mmio_file *f = mmio_create(path_of("flushed"), MMIO_RDWR, NULL);
    mmio_view v;

    CHECK(f && mmio_resize(f, 3 * page, NULL) == 0);
    CHECK(f && mmio_map(f, 0, 3 * page, MMIO_MAP_SHARED, &v, NULL) == 0);
    if (!f || !v.data)
        return;
    memset(v.data, 'x', v.size);
    memset(&seen_msync, 0, sizeof seen_msync);
    seen_fsync = 0;
    CHECK(mmio_flush(&v, page + 10, 100, MMIO_SYNC, NULL) == 0);
    CHECK(msync_covered(v.data + page + 10, 100, MS_SYNC));
    CHECK(seen_fsync == 1);
    memset(&seen_msync, 0, sizeof seen_msync);
    CHECK(mmio_flush(&v, 0, 3 * page, MMIO_ASYNC, NULL) == 0);
    CHECK(msync_covered(v.data, 3 * page, MS_ASYNC));
    mmio_unmap(&v, NULL);
#ifdef __linux__
    /* Linux's MS_ASYNC starts nothing: the range is asked for by offset. */
    CHECK(mmio_map(f, page + 5, page, MMIO_MAP_SHARED, &v, NULL) == 0);
    memset(&seen_write_behind, 0, sizeof seen_write_behind);
    CHECK(mmio_flush(&v, 10, 20, MMIO_ASYNC, NULL) == 0);
    CHECK(seen_write_behind.calls == 1 && seen_write_behind.from == (off_t)page
          && seen_write_behind.to >= (off_t)(page + 35));
    mmio_unmap(&v, NULL);
#endif
    mmio_close(f, NULL);
}

#ifdef __linux__
/* An atomic file written by mmio_write is sent to disk as it is written, so
 * that its commit's flush has little left; other files are left alone. */
static void atomic_writes_are_sent_to_disk_behind_the_writer(void)
{
    static unsigned char chunk[1 << 20];
    mmio_file *plain = mmio_create(path_of("plain"), MMIO_RDWR, NULL);
    mmio_file *atomic = mmio_create(path_of("atomic"), MMIO_ATOMIC, NULL);

    CHECK(plain && atomic);
    if (!plain || !atomic)
        return;
    memset(&seen_write_behind, 0, sizeof seen_write_behind);
    for (int i = 0; i < 20; i++)
        CHECK(mmio_write(plain, chunk, sizeof chunk, NULL) == 0);
    CHECK(seen_write_behind.calls == 0);
    for (int i = 0; i < 20; i++)
        CHECK(mmio_write(atomic, chunk, sizeof chunk, NULL) == 0);
    CHECK(seen_write_behind.calls == 2);   /* at 8 and at 16 MiB */
    CHECK(seen_write_behind.from == 0 && seen_write_behind.to == 16 << 20);
    CHECK(mmio_commit(atomic, NULL) == 0);
    mmio_close(atomic, NULL);
    mmio_close(plain, NULL);
}
#endif

/* ---- shared loads ------------------------------------------------------------ */

static void shared_load_that_cannot_be_shared_fails(void)
{
    const char *path = path_of("shared");
    mmio_error err = { 0 };
    mmio_file *f;
    mmio_view v;
    char back[4] = "";
    int fds[2];

    write_file(path, "abc", 3);
    f = mmio_open(path, MMIO_RDONLY, NULL);
    CHECK(f && mmio_load(f, MMIO_MAP_SHARED, &v, &err) == -1);
    CHECK(err.code == EACCES && err.path && strcmp(err.path, path) == 0);
    mmio_close(f, NULL);

    CHECK(pipe(fds) == 0 && write(fds[1], "abc", 3) == 3);
    close(fds[1]);
    dup2(fds[0], STDIN_FILENO);
    close(fds[0]);
    f = mmio_stdin(NULL);
    CHECK(f && mmio_load(f, MMIO_MAP_SHARED, &v, &err) == -1);
    CHECK(err.code == MMIO_ENOTREG);
    mmio_close(f, NULL);

    f = mmio_open(path, MMIO_RDWR, NULL);
    CHECK(f && mmio_load(f, MMIO_MAP_SHARED, &v, NULL) == 0);
    if (f && v.size == 3) {
        v.data[1] = 'X';
        CHECK(mmio_flush(&v, 0, v.size, MMIO_SYNC, NULL) == 0);
        mmio_unmap(&v, NULL);
        CHECK(read_file(path, back, 3) == 3 && memcmp(back, "aXc", 3) == 0);
    }
    mmio_close(f, NULL);
}

/* ---- an address-space limit -------------------------------------------------- */

/* Standard input becomes a pipe from a process writing SIZE pattern bytes. */
static void stdin_from_writer(size_t size)
{
    static unsigned char block[65536];
    int fds[2];

    if (pipe(fds) < 0)
        exit(90);
    if (fork() == 0) {
        close(fds[0]);
        for (size_t done = 0; done < size;) {
            size_t n = size - done < sizeof block ? size - done : sizeof block;
            for (size_t i = 0; i < n; i++)
                block[i] = pattern(done + i);
            if (write(fds[1], block, n) != (ssize_t)n)
                _exit(0); /* the reader gave up */
            done += n;
        }
        _exit(0);
    }
    close(fds[1]);
    dup2(fds[0], STDIN_FILENO);
    close(fds[0]);
}

/* Loads SIZE bytes from a pipe.  Returns 0 when that worked and the
 * bytes are right, 1 when they are wrong, 2 when the load failed for want
 * of address space and said so of "-", 3 when it failed otherwise. */
static int load_from_writer(size_t size)
{
    mmio_error err = { 0 };
    mmio_file *in;
    mmio_view v;
    int result;

    stdin_from_writer(size);
    in = mmio_stdin(NULL);
    if (!in)
        return 3;
    if (mmio_load(in, MMIO_MAP_READ, &v, &err) < 0) {
        /* Before the close: the error's path is the file's. */
        result = err.code == MMIO_ETOOBIG && err.path
                 && strcmp(err.path, "-") == 0 ? 2 : 3;
    } else {
        result = v.size != size
                 || (size && (v.data[0] != pattern(0)
                              || v.data[size - 1] != pattern(size - 1)));
        mmio_unmap(&v, NULL);
    }
    mmio_close(in, NULL);
    return result;
}

/* Under a limit of 256 MiB more address space than the process has, a
 * small input and a 40 MiB one load, and a 300 MiB one is refused with
 * the name of the input. */
static int loads_under_limit(void)
{
    unsigned long pages = 0;
    FILE *statm = fopen("/proc/self/statm", "r");
    struct rlimit limit;

    if (!statm || fscanf(statm, "%lu", &pages) != 1)
        return 10;
    fclose(statm);
    limit.rlim_cur = limit.rlim_max = pages * mmio_page_size() + ((rlim_t)256 << 20);
    if (setrlimit(RLIMIT_AS, &limit) < 0)
        return 11;
    if (load_from_writer(5) != 0)
        return 12;
    if (load_from_writer((size_t)40 << 20) != 0)
        return 13;
    if (load_from_writer((size_t)300 << 20) != 2)
        return 14;
    return 0;
}

static void load_fits_under_an_address_space_limit(void)
{
    int status = in_child(loads_under_limit);

    CHECK(WIFEXITED(status));
    if (WEXITSTATUS(status))
        printf("#   child failed at step %d\n", WEXITSTATUS(status));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- a full disk --------------------------------------------------------------- */

/* Mounts a tmpfs of 1 MiB at DIR; 0 when that worked. */
static int mount_small_disk(const char *dir)
{
    if (make_dir(dir) < 0)
        return -1;
    return mount("tmpfs", dir, "tmpfs", 0, "size=1m");
}

static const char *small_disk;

static void resize_on_a_full_disk_fails_and_changes_nothing(void)
{
    char path[256];
    mmio_error err = { 0 };
    mmio_file *f;
    uint64_t size = 1;

    snprintf(path, sizeof path, "%s/f", small_disk);
    f = mmio_create(path, MMIO_RDWR, NULL);
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(mmio_resize(f, (uint64_t)4 << 20, &err) == -1);
    CHECK(err.code == ENOSPC);
    CHECK(mmio_size(f, &size, NULL) == 0 && size == 0);
    CHECK(mmio_resize(f, 65536, NULL) == 0);
    mmio_close(f, NULL);
    unlink(path);
}

/* ---- files that grow or shrink while they are read ----------------------------- */

static void walk_sees_what_is_appended(void)
{
    const char *path = path_of("growing");
    const unsigned char *data;
    size_t size = 0;
    mmio_walk w;
    mmio_file *f;
    FILE *append;

    write_file(path, "0123456789", 10);
    f = mmio_open(path, MMIO_RDONLY, NULL);
    CHECK(f && mmio_walk_start(&w, f, 0, NULL) == 0);
    if (!f)
        return;
    CHECK(mmio_walk_next(&w, &data, &size, NULL) == 1 && size == 10);
    append = fopen(path, "ab");
    CHECK(append && fputs("abcde", append) >= 0 && fclose(append) == 0);
    CHECK(mmio_walk_next(&w, &data, &size, NULL) == 1);
    CHECK(size == 5 && memcmp(data, "abcde", 5) == 0);
    CHECK(mmio_walk_next(&w, &data, &size, NULL) == 0);
    mmio_walk_finish(&w);
    mmio_close(f, NULL);
}

static const char *shrinking_path;

/* Copies the shrinking file to standard output (a socket, so no kernel
 * copy); exits 0 when that failed as a read of a shrunken file. */
static int copy_shrinking(void)
{
    mmio_error err = { 0 };
    mmio_file *in = mmio_open(shrinking_path, MMIO_RDONLY, NULL);
    mmio_file *out = mmio_stdout(NULL);
    int status = in && out ? mmio_copy(in, out, &err) : -3;

    if (status == -1 && err.code == MMIO_ESHRUNK && err.op
        && strcmp(err.op, "read") == 0)
        return 0;
    return status == -2 ? 2 : 3;
}

static void copy_reports_a_file_that_shrinks_as_a_read_error(void)
{
    static char sink[65536];
    const size_t size = (size_t)8 << 20;
    unsigned char *data = malloc(size);
    int sv[2], saved_stdout = dup(STDOUT_FILENO), status;
    pid_t pid;

    shrinking_path = path_of("shrinking");
    for (size_t i = 0; i < size; i++)
        data[i] = pattern(i);
    write_file(shrinking_path, data, size);
    free(data);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    fflush(stdout);
    dup2(sv[1], STDOUT_FILENO); /* the child's standard output */
    pid = fork();
    if (pid == 0)
        _exit(copy_shrinking());
    dup2(saved_stdout, STDOUT_FILENO);
    close(saved_stdout);
    close(sv[1]);
    /* Once a byte has come, the copy waits on the full socket. */
    CHECK(read(sv[0], sink, 1) == 1);
    CHECK(truncate(shrinking_path, 0) == 0);
    while (read(sv[0], sink, sizeof sink) > 0)
        ;
    close(sv[0]);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- a kernel copy that fails halfway ----------------------------------------- */

/* Copies the scratch file NAME of SIZE pattern bytes into OUT_NAME with
 * a kernel copy that fails after 100000 bytes; returns mmio_copy's. */
static int copy_failing_halfway(const char *name, size_t size,
                                const char *out_name, mmio_error *err)
{
    unsigned char *data = malloc(size);
    mmio_file *in, *out;
    int status;

    for (size_t i = 0; i < size; i++)
        data[i] = pattern(i);
    write_file(path_of(name), data, size);
    free(data);
    in = mmio_open(path_of(name), MMIO_RDONLY, NULL);
    out = mmio_create(path_of(out_name), MMIO_RDWR, NULL);
    if (!in || !out)
        return -3;
    kernel_copy_budget = 100000;
    status = mmio_copy(in, out, err);
    kernel_copy_budget = -1;
    /* The error's path is the input's: check it before the close. */
    if (status == -1 && err->path != mmio_path(in))
        status = -4;
    mmio_close(in, NULL);
    mmio_close(out, NULL);
    return status;
}

static void copy_carries_on_where_a_failed_kernel_copy_stopped(void)
{
    const size_t size = 300000;
    unsigned char *back = malloc(size + 1);
    mmio_error err = { 0 };
    int same = 1;

    CHECK(copy_failing_halfway("kernel-in", size, "kernel-out", &err) == 0);
    CHECK(read_file(path_of("kernel-out"), back, size + 1) == size);
    for (size_t i = 0; i < size; i++)
        same &= back[i] == pattern(i);
    CHECK(same);
    free(back);
}

static void copy_tells_an_unreadable_page_from_a_write_error(void)
{
    mmio_error err = { 0 };

    fail_next_write = EFAULT; /* what a page that cannot be read in gives */
    CHECK(copy_failing_halfway("eio-in", 300000, "eio-out", &err) == -1);
    CHECK(err.code == MMIO_EIO && err.op && strcmp(err.op, "read") == 0);
    fail_next_write = ENOSPC;
    CHECK(copy_failing_halfway("full-in", 300000, "full-out", &err) == -2);
    CHECK(err.code == ENOSPC && err.op && strcmp(err.op, "write") == 0);
    fail_next_write = 0;
}

/* ---- a SIGBUS that no mapping caused ------------------------------------------ */

static int raise_sigbus(void *arg)
{
    (void)arg;
    raise(SIGBUS);
    return 0;
}

/* A guard that took a sent SIGBUS for a shrunken file exits 1 here. */
static int guard_a_sent_sigbus(void)
{
    struct rlimit no_core = { 0, 0 };

    setrlimit(RLIMIT_CORE, &no_core);
    return mmio_guard(raise_sigbus, NULL, NULL) < 0;
}

static void guard_lets_a_sent_sigbus_end_the_process(void)
{
    int status = in_child(guard_a_sent_sigbus);

    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
}

static const char *raw_mapped_path;

/* Touches the page of a file mapped with mmap itself, not mmio_map, after
 * the file was cut to nothing. */
static int touch_cut_raw_mapping(void *arg)
{
    volatile unsigned char *p = arg;

    return p[0];
}

/* A guard that took a fault outside mmio_map's views for a shrunken file
 * exits 1 here. */
static int guard_a_raw_mapping(void)
{
    struct rlimit no_core = { 0, 0 };
    int fd = open(raw_mapped_path, O_RDWR);
    void *p = fd < 0 ? MAP_FAILED
                     : mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);

    setrlimit(RLIMIT_CORE, &no_core);
    if (p == MAP_FAILED || ftruncate(fd, 0) < 0)
        return 2;
    return mmio_guard(touch_cut_raw_mapping, p, NULL) < 0;
}

static void guard_takes_only_faults_on_its_own_views(void)
{
    int status;

    raw_mapped_path = path_of("raw");
    write_file(raw_mapped_path, "raw mapping", 11);
    status = in_child(guard_a_raw_mapping);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
}

int main(void)
{
    char disk[128];

    mmio_init();
    make_scratch("test_faults.tmp.");
    RUN(flush_writes_back_the_range_asked_for);
#ifdef __linux__
    RUN(atomic_writes_are_sent_to_disk_behind_the_writer);
#endif
    RUN(shared_load_that_cannot_be_shared_fails);
    if (UNDER_ASAN)
        unit_skip("load_fits_under_an_address_space_limit",
                  "AddressSanitizer reserves terabytes of address space");
    else
        RUN(load_fits_under_an_address_space_limit);
    snprintf(disk, sizeof disk, "%s", path_of("small-disk"));
    if (mount_small_disk(disk) == 0) {
        small_disk = disk;
        RUN(resize_on_a_full_disk_fails_and_changes_nothing);
        umount2(disk, MNT_DETACH);
    } else {
        unit_skip("resize_on_a_full_disk_fails_and_changes_nothing",
                  "mounting a small tmpfs needs root");
    }
    RUN(walk_sees_what_is_appended);
    RUN(copy_reports_a_file_that_shrinks_as_a_read_error);
    RUN(copy_carries_on_where_a_failed_kernel_copy_stopped);
    RUN(copy_tells_an_unreadable_page_from_a_write_error);
    RUN(guard_lets_a_sent_sigbus_end_the_process);
    RUN(guard_takes_only_faults_on_its_own_views);
    remove_scratch();
    return unit_done();
}
#endif
