/* libmmio backend for POSIX systems: open/mmap/msync/munmap/madvise, with
 * the Linux fast paths copy_file_range and splice where configure found
 * them. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mmio_internal.h"

struct mmio_file {
    int fd;
    int is_std;          /* a standard stream: never closed here */
    enum mmio_kind kind;
    dev_t dev;
    ino_t ino;
    int views;           /* views mapped through this mmio_file */
    char *path;
    struct mmio_atomic *atomic; /* an atomic file's state, until committed */
    off_t written, started;     /* an atomic file: bytes written by
                                   mmio_write, and sent to disk already */
};

/* ---- Errors and process setup ----------------------------------------- */

void mmio_system_reason(int code, char *buf, size_t size)
{
    snprintf(buf, size, "%s", strerror(code));
}

int mmio_bad_address(int code)
{
    return code == EFAULT;
}

/* The code for a failed write: a reader that has gone is MMIO_EPIPE. */
static int write_error_code(int e)
{
    return e == EPIPE ? MMIO_EPIPE : e;
}

void mmio_init(void)
{
    signal(SIGXFSZ, SIG_IGN);
}

static const char *program_path; /* argv[0], for mmio_spawn_self */

int mmio_args(int *argc, char ***argv, mmio_error *err)
{
    (void)argc, (void)err; /* already UTF-8, or bytes as given */
    program_path = (*argv)[0];
    return 0;
}

size_t mmio_page_size(void)
{
    static size_t page;

    if (!page)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

size_t mmio_map_granularity(void)
{
    return mmio_page_size();
}

/* ---- Files ------------------------------------------------------------ */

static enum mmio_kind kind_of(int fd, mode_t mode)
{
    if (S_ISREG(mode)) return MMIO_KIND_REGULAR;
    if (S_ISDIR(mode)) return MMIO_KIND_DIRECTORY;
    if (S_ISFIFO(mode)) return MMIO_KIND_PIPE;
    if (S_ISSOCK(mode)) return MMIO_KIND_SOCKET;
    if (S_ISCHR(mode)) return isatty(fd) ? MMIO_KIND_TERMINAL : MMIO_KIND_DEVICE;
    if (S_ISBLK(mode)) return MMIO_KIND_DEVICE;
    return MMIO_KIND_OTHER;
}

/* Wraps an open descriptor; takes ownership of FD unless IS_STD. */
static mmio_file *wrap_fd(int fd, const char *path, int is_std,
                          mmio_error *err)
{
    struct stat st;
    mmio_file *f;

    if (fstat(fd, &st) < 0) {
        mmio_fail(err, "open", path, errno);
        goto fail;
    }
    f = calloc(1, sizeof *f);
    if (f)
        f->path = strdup(path);
    if (!f || !f->path) {
        free(f);
        mmio_fail(err, "open", path, ENOMEM);
        goto fail;
    }
    f->fd = fd;
    f->is_std = is_std;
    f->kind = kind_of(fd, st.st_mode);
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    return f;
fail:
    if (!is_std)
        close(fd);
    return NULL;
}

mmio_file *mmio_open(const char *path, int flags, mmio_error *err)
{
    int oflags = (flags & MMIO_RDWR) ? O_RDWR : O_RDONLY;
    int fd;
    mmio_file *f;

    oflags |= O_CLOEXEC | O_NOCTTY;
    /* Non-blocking, so that a FIFO without a writer is refused at once. */
    if (flags & MMIO_REGULAR_ONLY)
        oflags |= O_NONBLOCK;
    do
        fd = open(path, oflags);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        mmio_fail(err, "open", path, errno);
        return NULL;
    }
    f = wrap_fd(fd, path, 0, err);
    if (f && (flags & MMIO_REGULAR_ONLY)) {
        if (f->kind != MMIO_KIND_REGULAR) {
            mmio_close(f, NULL);
            mmio_fail(err, "open", path, MMIO_ENOTREG);
            return NULL;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    }
    return f;
}

mmio_file *mmio_stdin(mmio_error *err)
{
    return wrap_fd(STDIN_FILENO, "-", 1, err);
}

mmio_file *mmio_stdout(mmio_error *err)
{
    return wrap_fd(STDOUT_FILENO, "standard output", 1, err);
}

const char *mmio_path(const mmio_file *f)
{
    return f->path;
}

enum mmio_kind mmio_kind(const mmio_file *f)
{
    return f->kind;
}

int mmio_size(mmio_file *f, uint64_t *size, mmio_error *err)
{
    struct stat st;

    if (fstat(f->fd, &st) < 0)
        return mmio_fail(err, "stat", f->path, errno);
    *size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    return 0;
}

uint64_t mmio_tell(mmio_file *f)
{
    off_t pos = lseek(f->fd, 0, SEEK_CUR);

    return pos < 0 ? 0 : (uint64_t)pos;
}

void mmio_seek(mmio_file *f, uint64_t offset)
{
    lseek(f->fd, (off_t)offset, SEEK_SET);
}

int mmio_same_file(const mmio_file *a, const mmio_file *b)
{
    return a->dev == b->dev && a->ino == b->ino;
}

int mmio_read(mmio_file *f, void *buf, size_t size, size_t *got,
              mmio_error *err)
{
    ssize_t n;

    do
        n = read(f->fd, buf, size);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return mmio_fail(err, "read", f->path, errno);
    *got = (size_t)n;
    return 0;
}

/* Every this many bytes written into an atomic file, they are sent on
 * their way to disk, so that the commit's flush finds little left. */
#define WRITE_BEHIND ((off_t)8 << 20)

static void write_behind(mmio_file *f, size_t size)
{
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
    f->written += (off_t)size;
    if (f->written - f->started >= WRITE_BEHIND) {
        sync_file_range(f->fd, f->started, f->written - f->started,
                        SYNC_FILE_RANGE_WRITE);
        f->started = f->written;
    }
#else
    (void)f, (void)size;
#endif
}

int mmio_write(mmio_file *f, const void *buf, size_t size, mmio_error *err)
{
    const char *p = buf;
    size_t total = size;

    while (size > 0) {
        ssize_t n = write(f->fd, p, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return mmio_fail(err, "write", f->path, write_error_code(errno));
        }
        p += n;
        size -= (size_t)n;
    }
    if (f->atomic)
        write_behind(f, total);
    return 0;
}

int mmio_write_at(mmio_file *f, const void *buf, size_t size, uint64_t offset,
                  mmio_error *err)
{
    const char *p = buf;
    off_t at = (off_t)offset;

    while (size > 0) {
        ssize_t n = pwrite(f->fd, p, size, at);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return mmio_fail(err, "write", f->path, write_error_code(errno));
        }
        p += n;
        at += n;
        size -= (size_t)n;
    }
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
    if (f->atomic) /* sent to disk behind the writer, as mmio_write does */
        sync_file_range(f->fd, (off_t)offset, at - (off_t)offset,
                        SYNC_FILE_RANGE_WRITE);
#endif
    return 0;
}

/* ---- Atomic output files ---------------------------------------------- */

/* On Linux the temporary is made unnamed (O_TMPFILE) and only linked into
 * the directory at commit, so that no death can leave it behind; elsewhere,
 * or where the file system refuses O_TMPFILE, it is a named file that
 * mmio_close, a fatal signal or exit() removes.  MMIO_NO_O_TMPFILE builds
 * the named way only, for the tests. */
#if defined(__linux__) && defined(O_TMPFILE) && !defined(MMIO_NO_O_TMPFILE)
#define USE_O_TMPFILE 1
#endif

#define TEMP_NAME ".mmtools.XXXXXX"
#define MAX_LINK_HOPS 40 /* as Linux's ELOOP limit */

/* An atomic file's destination and temporary, until committed. */
struct mmio_atomic {
    char *dest;      /* the file replaced: the path with its links followed */
    char *dir;       /* the directory of DEST */
    char *temp;      /* "DIR/.mmtools.XXXXXX", the temporary's name */
    int named;       /* TEMP exists (else the temporary is still unnamed) */
    int existed;     /* DEST existed at creation, with these: */
    uid_t uid;
    gid_t gid;
    mode_t mode;     /* permission bits DEST will get */
};

/* Named temporaries that a fatal signal or exit() must remove, each with
 * the process that made it: a forked child leaves its parent's alone. */
#define MAX_TEMPS 256 /* mmsort keeps up to about 16 runs a generation open */
static char *volatile temp_registry[MAX_TEMPS];
static volatile pid_t temp_owner[MAX_TEMPS];

/* Safe in a signal handler: only unlink and getpid. */
static void remove_temps(void)
{
    pid_t self = getpid();

    for (int i = 0; i < MAX_TEMPS; i++) {
        char *path = temp_registry[i];
        if (path && temp_owner[i] == self)
            unlink(path);
    }
}

static void remove_temps_and_die(int sig)
{
    remove_temps();
    signal(sig, SIG_DFL);
    raise(sig); /* delivered once the handler returns: death by SIG */
}

/* Every signal whose default action ends the process and that can be
 * caught, except SIGBUS, which belongs to mmio_guard. */
static const int fatal_signals[] = {
    SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGFPE, SIGSEGV,
    SIGPIPE, SIGALRM, SIGTERM, SIGUSR1, SIGUSR2, SIGXCPU, SIGXFSZ,
    SIGVTALRM, SIGPROF, SIGSYS,
#ifdef SIGPOLL
    SIGPOLL,
#endif
#ifdef SIGEMT
    SIGEMT,
#endif
#ifdef __linux__
    SIGSTKFLT, SIGPWR,
#endif
};

/* Installs the cleanup for SIG where SIG has its default action: an
 * ignored signal (nohup) or a handler of the program's own is left. */
static void catch_if_default(int sig)
{
    struct sigaction old, sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = remove_temps_and_die;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
        sigaction(sig, &sa, NULL);
}

static void install_cleanup(void)
{
    for (size_t i = 0; i < sizeof fatal_signals / sizeof *fatal_signals; i++)
        catch_if_default(fatal_signals[i]);
#ifdef SIGRTMIN
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
        catch_if_default(sig);
#endif
    atexit(remove_temps);
}

/* Blocks every signal, keeping the old mask in OLD: no handler may see a
 * half-made change to the registry or a temporary named but not renamed. */
static void block_signals(sigset_t *old)
{
    sigset_t all;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, old);
}

static void restore_signals(const sigset_t *old)
{
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* Adds PATH to the registry (or removes it, with ADD 0); -1 when full. */
static int register_temp(char *path, int add)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    sigset_t old;
    int found = -1;

    pthread_once(&once, install_cleanup);
    block_signals(&old);
    for (int i = 0; i < MAX_TEMPS && found < 0; i++) {
        if (temp_registry[i] == (add ? NULL : path)) {
            temp_owner[i] = getpid();
            temp_registry[i] = add ? path : NULL;
            found = i;
        }
    }
    restore_signals(&old);
    return found;
}

static mode_t default_file_mode(void)
{
    mode_t mask = umask(0);

    umask(mask);
    return 0666 & ~mask;
}

/* What a symbolic link LINK points to, as a path from where LINK's own
 * path starts; frees LINK.  NULL with errno set on failure. */
static char *link_target(char *link)
{
    char target[PATH_MAX];
    ssize_t n = readlink(link, target, sizeof target);
    const char *slash = strrchr(link, '/');
    size_t dirlen = 0;
    char *path = NULL;

    if (n > 0 && (size_t)n < sizeof target) {
        if (slash && target[0] != '/') /* relative to the link's directory */
            dirlen = (size_t)(slash - link) + 1;
        path = malloc(dirlen + (size_t)n + 1);
    } else if (n >= 0) {
        errno = ENAMETOOLONG;
    }
    if (path) {
        memcpy(path, link, dirlen);
        memcpy(path + dirlen, target, (size_t)n);
        path[dirlen + (size_t)n] = '\0';
    }
    free(link);
    return path;
}

/* PATH with the symbolic links of its last component followed, to the
 * file that writing through PATH reaches, which need not exist (a dangling
 * link); as sort -o does.  NULL with errno set on failure. */
static char *follow_links(const char *path)
{
    char *cur = strdup(path);
    struct stat st;

    for (int hops = 0; cur; hops++) {
        if (lstat(cur, &st) < 0 || !S_ISLNK(st.st_mode))
            return cur; /* the file, or one to create; open says the rest */
        if (hops == MAX_LINK_HOPS) {
            free(cur);
            errno = ELOOP;
            return NULL;
        }
        cur = link_target(cur);
    }
    return NULL;
}

/* The directory part of PATH ("." when there is none), and its template
 * for the temporary "DIR/.mmtools.XXXXXX" in *TEMP. */
static char *directory_of(const char *path, char **temp)
{
    const char *slash = strrchr(path, '/');
    /* "name": "."; "/name": "/"; "a/name": "a" */
    size_t dirlen = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(dirlen + 1);

    *temp = malloc(dirlen + sizeof "/" TEMP_NAME);
    if (!dir || !*temp) {
        free(dir);
        free(*temp);
        *temp = NULL;
        errno = ENOMEM;
        return NULL;
    }
    memcpy(dir, slash ? path : ".", dirlen);
    dir[dirlen] = '\0';
    sprintf(*temp, "%s%s" TEMP_NAME, dir, dir[dirlen - 1] == '/' ? "" : "/");
    return dir;
}

static void atomic_free(struct mmio_atomic *a)
{
    if (!a)
        return;
    free(a->dest);
    free(a->dir);
    free(a->temp);
    free(a);
}

/* The state for an atomic file replacing PATH, whose status is DEST (NULL
 * when it does not exist).  NULL with errno set on failure. */
static struct mmio_atomic *atomic_new(const char *path, const struct stat *dest)
{
    struct mmio_atomic *a = calloc(1, sizeof *a);

    if (!a || !(a->dest = follow_links(path))
        || !(a->dir = directory_of(a->dest, &a->temp))) {
        int e = a ? errno : ENOMEM;
        atomic_free(a);
        errno = e;
        return NULL;
    }
    a->existed = dest != NULL;
    a->uid = dest ? dest->st_uid : 0;
    a->gid = dest ? dest->st_gid : 0;
    a->mode = dest ? dest->st_mode & 07777 : default_file_mode();
    return a;
}

/* Opens a named temporary for A, registered for removal. */
static int open_named_temp(struct mmio_atomic *a)
{
    int fd;

    if (register_temp(a->temp, 1) < 0) {
        errno = EMFILE;
        return -1;
    }
    fd = mkostemp(a->temp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        register_temp(a->temp, 0);
        errno = e;
        return -1;
    }
    a->named = 1;
    return fd;
}

#ifdef USE_O_TMPFILE
/* The path through which the unnamed temporary FD gets its name. */
static void proc_fd_path(int fd, char *buf, size_t size)
{
    snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/* An unnamed temporary in A's directory, or -1 (errno 0 when a named one
 * should be made instead). */
static int open_unnamed_temp(struct mmio_atomic *a)
{
    int fd = open(a->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    char proc[32];

    if (fd < 0) {
        /* EISDIR: a kernel without O_TMPFILE; the others: a file system. */
        if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
            errno = 0;
        return -1;
    }
    proc_fd_path(fd, proc, sizeof proc);
    if (access(proc, F_OK) == 0)
        return fd;
    close(fd); /* no /proc: it could never be given a name */
    errno = 0;
    return -1;
}
#endif

/* Opens the temporary for A: unnamed where the system allows. */
static int open_temp(struct mmio_atomic *a)
{
#ifdef USE_O_TMPFILE
    int fd = open_unnamed_temp(a);

    if (fd >= 0 || errno != 0)
        return fd;
#endif
    return open_named_temp(a);
}

/* Removes A's temporary if it has a name, and frees A. */
static void discard_temp(struct mmio_atomic *a)
{
    if (a && a->named) {
        unlink(a->temp);
        register_temp(a->temp, 0);
    }
    atomic_free(a);
}

static mmio_file *create_temp(const char *path, const struct stat *dest,
                              mmio_error *err)
{
    struct mmio_atomic *a = atomic_new(path, dest);
    mmio_file *f;
    int fd = a ? open_temp(a) : -1;

    if (fd < 0) {
        mmio_fail(err, "create", path, errno);
        atomic_free(a);
        return NULL;
    }
    f = wrap_fd(fd, path, 0, err);
    if (!f) {
        discard_temp(a);
        return NULL;
    }
    f->atomic = a;
    return f;
}

mmio_file *mmio_create(const char *path, int flags, mmio_error *err)
{
    struct stat st;
    int exists = stat(path, &st) == 0;
    int fd;

    if ((flags & MMIO_ATOMIC) && !(exists && !S_ISREG(st.st_mode)))
        return create_temp(path, exists ? &st : NULL, err);
    if (exists && !S_ISREG(st.st_mode))
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    else
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY,
                  0666);
    if (fd < 0) {
        mmio_fail(err, "create", path, errno);
        return NULL;
    }
    return wrap_fd(fd, path, 0, err);
}

int mmio_resize(mmio_file *f, uint64_t size, mmio_error *err)
{
    struct stat st;

    if ((uint64_t)(off_t)size != size || (off_t)size < 0)
        return mmio_fail(err, "resize", f->path, EFBIG);
    if (fstat(f->fd, &st) < 0)
        return mmio_fail(err, "resize", f->path, errno);
    /* Pages past the new end would fault: Windows refuses too. */
    if (f->views > 0 && (off_t)size < st.st_size)
        return mmio_fail(err, "resize", f->path, MMIO_EMAPPED);
    if (ftruncate(f->fd, (off_t)size) < 0)
        return mmio_fail(err, "resize", f->path, errno);
#ifdef HAVE_POSIX_FALLOCATE
    if ((off_t)size > st.st_size) {
        int e = posix_fallocate(f->fd, st.st_size, (off_t)size - st.st_size);
        /* EINVAL/EOPNOTSUPP: the file system cannot reserve; not an error. */
        if (e != 0 && e != EINVAL && e != EOPNOTSUPP) {
            int undone = ftruncate(f->fd, st.st_size); /* E is what matters */
            (void)undone;
            return mmio_fail(err, "resize", f->path, e);
        }
    }
#endif
    return 0;
}

/* Gives the temporary FD the destination's owner and group where the
 * process may, and its permission bits; setuid and setgid only stay with
 * the owner and group they had. */
static int keep_attributes(int fd, const struct mmio_atomic *a)
{
    mode_t mode = a->mode;
    struct stat st;

    if (!a->existed)
        return fchmod(fd, mode);
    if (fstat(fd, &st) < 0)
        return -1;
    /* Not allowed to give the file away (not root): try the group alone. */
    if ((st.st_uid != a->uid || st.st_gid != a->gid)
        && fchown(fd, a->uid, a->gid) < 0 && fchown(fd, (uid_t)-1, a->gid) < 0
        && errno != EPERM)
        return -1;
    if (fstat(fd, &st) < 0)
        return -1;
    if (st.st_uid != a->uid || st.st_gid != a->gid)
        mode &= ~(mode_t)(S_ISUID | S_ISGID);
    return fchmod(fd, mode); /* after fchown, which clears setuid */
}

#ifdef USE_O_TMPFILE
#include <time.h> /* clock_gettime, for temporary names */

/* Replaces the X's ending TEMPLATE with letters and digits that change
 * from call to call. */
static void fill_temp_name(char *template)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static unsigned counter;
    struct timespec now;
    char *x = template + strlen(template) - (sizeof "XXXXXX" - 1);
    uint64_t v;

    clock_gettime(CLOCK_REALTIME, &now);
    v = (uint64_t)now.tv_nsec ^ (uint64_t)now.tv_sec << 30
        ^ (uint64_t)getpid() << 20 ^ (uint64_t)++counter * 2654435761u;
    for (; *x; x++, v /= 62)
        *x = digits[v % 62];
}

/* Links the unnamed temporary FD into its directory under a fresh name
 * A->temp. */
static int name_temp(int fd, struct mmio_atomic *a)
{
    char proc[32];

    proc_fd_path(fd, proc, sizeof proc);
    for (int attempt = 0; attempt < 100; attempt++) {
        fill_temp_name(a->temp);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, a->temp, AT_SYMLINK_FOLLOW) == 0) {
            a->named = 1;
            return 0;
        }
        if (errno != EEXIST)
            return -1;
    }
    return -1;
}
#endif

/* Renames the temporary FD over the destination, first giving it a name
 * if it has none.  Signals wait meanwhile: none may leave that name. */
static int replace_destination(int fd, struct mmio_atomic *a)
{
    int was_named = a->named;
    sigset_t old;
    int e = 0;

    block_signals(&old);
#ifdef USE_O_TMPFILE
    if (!a->named && name_temp(fd, a) < 0)
        e = errno;
#else
    (void)fd;
#endif
    if (!e && rename(a->temp, a->dest) < 0) {
        e = errno;
        if (!was_named) /* back to unnamed, as it was */
            unlink(a->temp);
        a->named = was_named;
    } else if (!e) {
        if (was_named)
            register_temp(a->temp, 0);
        a->named = 0;
    }
    restore_signals(&old);
    errno = e;
    return e ? -1 : 0;
}

/* Flushes directory DIR, so that a rename in it survives a power cut.
 * A directory that cannot be opened or flushed (EINVAL: the file system
 * has no such thing) is left as it is; any other failure is reported. */
static int sync_directory(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int status = 0;

    if (fd < 0)
        return 0;
    if (fsync(fd) < 0 && errno != EINVAL)
        status = -1;
    close(fd);
    return status;
}

int mmio_commit(mmio_file *f, mmio_error *err)
{
    struct mmio_atomic *a = f->atomic;

    if (a && keep_attributes(f->fd, a) < 0)
        return mmio_fail(err, "create", f->path, errno);
    if (f->kind == MMIO_KIND_REGULAR && fsync(f->fd) < 0)
        return mmio_fail(err, "write", f->path, errno);
    if (!a)
        return 0;
    if (replace_destination(f->fd, a) < 0)
        return mmio_fail(err, "rename", f->path, errno);
    f->atomic = NULL;
    if (sync_directory(a->dir) < 0) {
        int e = errno;
        atomic_free(a);
        return mmio_fail(err, "write", f->path, e);
    }
    atomic_free(a);
    return 0;
}

int mmio_close(mmio_file *f, mmio_error *err)
{
    int status = 0;

    if (!f)
        return 0;
    discard_temp(f->atomic);
    /* The path is freed below: the caller knows which file it closed. */
    if (!f->is_std && close(f->fd) < 0)
        status = mmio_fail(err, "close", NULL, errno);
    free(f->path);
    free(f);
    return status;
}

/* ---- Fast copies ------------------------------------------------------- */

/* The kernel's copy loops, each moving at most a large chunk a call. */
#define KERNEL_CHUNK ((size_t)1 << 30)

/* Copies what the kernel can copy from IN to OUT.  Returns 1 when done, 0
 * when the rest is for the plain path: the kernel cannot copy this pair,
 * or a call failed.  An errno from copy_file_range or splice does not say
 * which side failed; the plain path, which reads and writes apart, meets
 * the same failure and does. */
static int kernel_copy(mmio_file *in, mmio_file *out)
{
    for (;;) {
        ssize_t n = -1;
#ifdef HAVE_COPY_FILE_RANGE
        if (out->kind == MMIO_KIND_REGULAR)
            n = copy_file_range(in->fd, NULL, out->fd, NULL, KERNEL_CHUNK, 0);
        else
#endif
#ifdef HAVE_SPLICE
        if (out->kind == MMIO_KIND_PIPE)
            n = splice(in->fd, NULL, out->fd, NULL, KERNEL_CHUNK, SPLICE_F_MORE);
        else
#endif
            return 0;
        if (n == 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 0;
    }
}

int mmio_copy(mmio_file *in, mmio_file *out, mmio_error *err)
{
    uint64_t size;

    /* A regular file of size 0 may still have content (/proc): read it. */
    if (in->kind == MMIO_KIND_REGULAR && mmio_size(in, &size, NULL) == 0
        && size > 0 && kernel_copy(in, out))
        return 0;
    return mmio_copy_plain(in, out, err);
}

/* ---- Output streams ----------------------------------------------------- */

/* The most a pipe may be grown to: /proc/sys/fs/pipe-max-size, or Linux's
 * default when it cannot be read. */
static size_t pipe_max_size(void)
{
    unsigned long max = 0;
    FILE *f = fopen("/proc/sys/fs/pipe-max-size", "r");

    if (f) {
        if (fscanf(f, "%lu", &max) != 1)
            max = 0;
        fclose(f);
    }
    return max ? (size_t)max : (size_t)1 << 20;
}

#define PIPE_MOST ((size_t)4 << 20)

size_t mmio_output_prepare(mmio_file *f)
{
    if (f->kind != MMIO_KIND_PIPE)
        return 0;
#if defined(F_SETPIPE_SZ) && defined(F_GETPIPE_SZ)
    {
        /* Past a few MiB a larger pipe only pins more memory. */
        size_t want = pipe_max_size() < PIPE_MOST ? pipe_max_size() : PIPE_MOST;
        int now = fcntl(f->fd, F_GETPIPE_SZ);

        /* Only ever grown; past the user's quota of pipe pages the kernel
         * says EPERM, and the pipe stays as it was. */
        if (now >= 0 && (size_t)now < want)
            (void)fcntl(f->fd, F_SETPIPE_SZ, (int)want);
        now = fcntl(f->fd, F_GETPIPE_SZ);
        return now > 0 ? (size_t)now : 0;
    }
#else
    return 0;
#endif
}

/* ---- Mappings ------------------------------------------------------------ */

/* The address ranges of mapped views, so that the SIGBUS handler takes
 * only a fault on one of them for a file that shrank.  Slots are claimed
 * and read with atomics: the handler may run on any thread. */
#define MAX_VIEWS 4096
static struct { uintptr_t start, end; } live_views[MAX_VIEWS];
static int views_overflowed; /* some view has no slot: trust si_code alone */

static void view_remember(const void *base, size_t size)
{
    uintptr_t start = (uintptr_t)base;

    for (size_t i = 0; i < MAX_VIEWS; i++) {
        uintptr_t free_slot = 0;
        if (__atomic_compare_exchange_n(&live_views[i].start, &free_slot,
                                        start, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            __atomic_store_n(&live_views[i].end, start + size, __ATOMIC_RELEASE);
            return;
        }
    }
    __atomic_store_n(&views_overflowed, 1, __ATOMIC_RELEASE);
}

static void view_forget(const void *base)
{
    for (size_t i = 0; i < MAX_VIEWS; i++) {
        if (__atomic_load_n(&live_views[i].start, __ATOMIC_ACQUIRE)
            == (uintptr_t)base) {
            __atomic_store_n(&live_views[i].end, 0, __ATOMIC_RELEASE);
            __atomic_store_n(&live_views[i].start, 0, __ATOMIC_RELEASE);
            return;
        }
    }
}

/* Whether F, a regular file of size 0, still has bytes to read (/proc)
 * and still says size 0 (an empty file may just have been written). */
static int has_unsized_content(mmio_file *f)
{
    char byte;
    ssize_t n;
    uint64_t size;

    do
        n = pread(f->fd, &byte, 1, 0);
    while (n < 0 && errno == EINTR);
    return n > 0 && mmio_size(f, &size, NULL) == 0 && size == 0;
}

/* Checks that [OFFSET, OFFSET+*LENGTH) lies in regular file F, resolving
 * MMIO_TO_END: what has no size to map (a pipe, a device, /proc) is
 * MMIO_ENOTREG, a range holding a byte past the end MMIO_EPASTEND. */
static int map_extent(mmio_file *f, uint64_t offset, uint64_t *length,
                      mmio_error *err)
{
    uint64_t size;

    if (f->kind != MMIO_KIND_REGULAR)
        return mmio_fail(err, "map", f->path, MMIO_ENOTREG);
    if (mmio_size(f, &size, err) < 0)
        return -1;
    if (size == 0 && has_unsized_content(f))
        return mmio_fail(err, "map", f->path, MMIO_ENOTREG);
    if (*length == MMIO_TO_END)
        *length = size > offset ? size - offset : 0;
    if (*length > 0 && (offset > size || *length > size - offset))
        return mmio_fail(err, "map", f->path, MMIO_EPASTEND);
    return 0;
}

int mmio_map(mmio_file *f, uint64_t offset, uint64_t length,
             enum mmio_map_mode mode, mmio_view *v, mmio_error *err)
{
    static unsigned char empty[1];
    uint64_t aligned, delta;
    int prot = PROT_READ, flags = MAP_SHARED;
    void *base;

    memset(v, 0, sizeof *v);
    v->file = f;
    v->mode = mode;
    if (map_extent(f, offset, &length, err) < 0)
        return -1;
    if (length == 0) { /* mmap refuses a zero length; an empty view is fine */
        v->data = empty;
        return 0;
    }
    aligned = offset - offset % mmio_map_granularity();
    delta = offset - aligned;
    if (length > SIZE_MAX - delta || (uint64_t)(off_t)aligned != aligned)
        return mmio_fail(err, "map", f->path, MMIO_ETOOBIG);
    if (mode != MMIO_MAP_READ)
        prot |= PROT_WRITE;
    if (mode == MMIO_MAP_PRIVATE)
        flags = MAP_PRIVATE;
    base = mmap(NULL, (size_t)(length + delta), prot, flags, f->fd,
                (off_t)aligned);
    if (base == MAP_FAILED)
        return mmio_fail(err, "map", f->path, errno == ENOMEM ? MMIO_ETOOBIG : errno);
    view_remember(base, (size_t)(length + delta));
    v->base = base;
    v->base_size = (size_t)(length + delta);
    v->base_offset = aligned;
    v->data = (unsigned char *)base + delta;
    v->size = (size_t)length;
    f->views++;
    return 0;
}

int mmio_unmap(mmio_view *v, mmio_error *err)
{
    int status = 0;

    if (v->base && !v->owned_memory) {
        view_forget(v->base);
        if (v->file)
            v->file->views--;
    }
    if (v->base && munmap(v->base, v->base_size) < 0)
        status = mmio_fail(err, "unmap", v->file ? v->file->path : NULL, errno);
    memset(v, 0, sizeof *v);
    return status;
}

/* Starts writing the dirty pages of [P, P+N) of V to disk: Linux's
 * msync(MS_ASYNC) does nothing, so a flush that is to overlap later work
 * asks for it by file range. */
static void start_writeback(const mmio_view *v, uintptr_t p, size_t n)
{
#if defined(__linux__) && defined(SYNC_FILE_RANGE_WRITE)
    off_t at = (off_t)(v->base_offset + (p - (uintptr_t)v->base));
    sync_file_range(v->file->fd, at, (off_t)n, SYNC_FILE_RANGE_WRITE);
#else
    (void)v, (void)p, (void)n;
#endif
}

int mmio_flush(mmio_view *v, size_t offset, size_t length, int how,
               mmio_error *err)
{
    const char *path = v->file ? v->file->path : NULL;

    if (v->owned_memory || !v->base)
        return 0;
    if (offset > v->size || length > v->size - offset)
        return mmio_fail(err, "flush", path, EINVAL);
    if (length > 0) {
        uintptr_t start = (uintptr_t)(v->data + offset);
        uintptr_t page_start = start - start % mmio_page_size();
        if (msync((void *)page_start, length + (start - page_start),
                  how == MMIO_SYNC ? MS_SYNC : MS_ASYNC) < 0)
            return mmio_fail(err, "flush", path, errno);
        if (how == MMIO_ASYNC && v->mode == MMIO_MAP_SHARED)
            start_writeback(v, page_start, length + (start - page_start));
    }
    if (how == MMIO_SYNC && v->mode == MMIO_MAP_SHARED && fsync(v->file->fd) < 0)
        return mmio_fail(err, "flush", path, errno);
    return 0;
}

/* The madvise advice for HINT on V, or -1 for none. */
static int advice_for(const mmio_view *v, enum mmio_hint hint)
{
    int advice;

    if (!v->base || v->owned_memory)
        return -1;
    switch (hint) {
    case MMIO_SEQUENTIAL: advice = MADV_SEQUENTIAL; break;
    case MMIO_RANDOM: advice = MADV_RANDOM; break;
    case MMIO_WILLNEED: advice = MADV_WILLNEED; break;
    case MMIO_WILLWRITE:
#ifdef MADV_POPULATE_WRITE
        if (v->mode != MMIO_MAP_SHARED)
            return -1;
        advice = MADV_POPULATE_WRITE; /* Linux 5.14 */
        break;
#else
        return -1;
#endif
    default:
        /* MADV_DONTNEED would throw away a private mapping's changes. */
        if (v->mode == MMIO_MAP_PRIVATE)
            return -1;
        advice = MADV_DONTNEED;
    }
    return advice;
}

void mmio_advise(mmio_view *v, enum mmio_hint hint)
{
    int advice = advice_for(v, hint);

    if (advice >= 0)
        madvise(v->base, v->base_size, advice);
}

void mmio_advise_range(mmio_view *v, size_t offset, size_t length,
                       enum mmio_hint hint)
{
    int advice = advice_for(v, hint);
    uintptr_t page = mmio_page_size(), start, end;

    if (advice < 0 || offset >= v->size || length == 0)
        return;
    if (length > v->size - offset)
        length = v->size - offset;
    start = ((uintptr_t)v->data + offset) & ~(page - 1);
    end = ((uintptr_t)v->data + offset + length + page - 1) & ~(page - 1);
    madvise((void *)start, end - start, advice);
}

/* ---- Fault guard --------------------------------------------------------- */

/* Whether a fault at ADDRESS is one of a file mapped past its end. */
static int is_view_fault(const siginfo_t *info)
{
    uintptr_t address = (uintptr_t)info->si_addr;

    if (info->si_code != BUS_ADRERR)
        return 0; /* sent by a process, or a hardware error */
    if (__atomic_load_n(&views_overflowed, __ATOMIC_ACQUIRE))
        return 1;
    for (size_t i = 0; i < MAX_VIEWS; i++) {
        uintptr_t start = __atomic_load_n(&live_views[i].start, __ATOMIC_ACQUIRE);
        uintptr_t end = __atomic_load_n(&live_views[i].end, __ATOMIC_ACQUIRE);
        if (start && address >= start && address < end)
            return 1;
    }
    return 0;
}

static _Thread_local sigjmp_buf *guard_target;

static void on_sigbus(int sig, siginfo_t *info, void *context)
{
    (void)context;
    if (guard_target && is_view_fault(info))
        siglongjmp(*guard_target, 1);
    /* Anything else keeps the default action: it ends the process once
     * this handler returns. */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_guard(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

int mmio_guard(int (*fn)(void *ctx), void *ctx, mmio_error *err)
{
    /* Once, even when threads enter their first guards together. */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    sigjmp_buf here;
    sigjmp_buf *outer = guard_target;
    int result;

    pthread_once(&once, install_guard);
    if (sigsetjmp(here, 1)) {
        guard_target = outer;
        return mmio_fail(err, "read", NULL, MMIO_ESHRUNK);
    }
    guard_target = &here;
    result = fn(ctx);
    guard_target = outer;
    return result;
}

/* ---- Reserved address space --------------------------------------------- */

void *mmio_os_reserve(size_t size)
{
    void *base = mmap(NULL, size, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    return base == MAP_FAILED ? NULL : base;
}

int mmio_os_commit(void *start, size_t size)
{
    return mprotect(start, size, PROT_READ | PROT_WRITE);
}

void mmio_os_release(void *base, size_t size)
{
    munmap(base, size);
}

/* ---- Threads ---------------------------------------------------------- */

struct mmio_thread {
    pthread_t id;
    void (*fn)(void *);
    void *arg;
};

static void *thread_main(void *arg)
{
    mmio_thread *t = arg;

    t->fn(t->arg);
    return NULL;
}

mmio_thread *mmio_thread_start(void (*fn)(void *arg), void *arg,
                               mmio_error *err)
{
    mmio_thread *t = malloc(sizeof *t);
    int e;

    if (!t) {
        mmio_fail(err, "thread", NULL, ENOMEM);
        return NULL;
    }
    t->fn = fn;
    t->arg = arg;
    e = pthread_create(&t->id, NULL, thread_main, t);
    if (e != 0) {
        free(t);
        mmio_fail(err, "thread", NULL, e);
        return NULL;
    }
    return t;
}

void mmio_thread_join(mmio_thread *t)
{
    pthread_join(t->id, NULL);
    free(t);
}

struct mmio_sequence {
    pthread_mutex_t lock;
    pthread_cond_t moved;
    uint64_t value;
};

mmio_sequence *mmio_sequence_new(mmio_error *err)
{
    mmio_sequence *s = calloc(1, sizeof *s);

    if (!s) {
        mmio_fail(err, "thread", NULL, ENOMEM);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->moved, NULL);
    return s;
}

void mmio_sequence_free(mmio_sequence *s)
{
    if (!s)
        return;
    pthread_cond_destroy(&s->moved);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void mmio_sequence_advance(mmio_sequence *s)
{
    pthread_mutex_lock(&s->lock);
    s->value++;
    pthread_cond_broadcast(&s->moved);
    pthread_mutex_unlock(&s->lock);
}

void mmio_sequence_wait(mmio_sequence *s, uint64_t value)
{
    pthread_mutex_lock(&s->lock);
    while (s->value < value)
        pthread_cond_wait(&s->moved, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

unsigned mmio_cpu_count(void)
{
#ifdef CPU_COUNT
    cpu_set_t set;

    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n > 0 ? (unsigned)n : 1;
}

uint64_t mmio_physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

    return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

const char *mmio_temp_dir(void)
{
    const char *dir = getenv("TMPDIR");

    return dir && *dir ? dir : "/tmp";
}

/* ---- Processes ------------------------------------------------------------ */

extern char **environ;

int mmio_share(mmio_file *f, char *name, size_t size, mmio_error *err)
{
    int flags = f->is_std ? -1 : fcntl(f->fd, F_GETFD);

    /* Kept open across exec, so the processes started from now on
     * inherit it. */
    if (flags < 0 || fcntl(f->fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
        return mmio_fail(err, "share", f->path, f->is_std ? EBADF : errno);
    snprintf(name, size, "%d", f->fd);
    return 0;
}

mmio_file *mmio_open_shared(const char *name, const char *path,
                            mmio_error *err)
{
    char *end;
    long fd;

    errno = 0;
    fd = strtol(name, &end, 10);
    if (*name == '\0' || *end != '\0' || errno || fd < 0 || fd > INT_MAX
        || fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0) { /* not passed on */
        mmio_fail(err, "open", path, EBADF);
        return NULL;
    }
    return wrap_fd((int)fd, path, 0, err);
}

struct mmio_process {
    pid_t pid;
};

/* The variable that gives a child the pid of the process that started it. */
#define PARENT_VARIABLE "MMIO_PARENT"

/* The environment with PARENT_VARIABLE set to this process's pid in
 * ENTRY, for a child; NULL when out of memory. */
static char **child_environment(char *entry, size_t size)
{
    size_t n = 0, k = 0;
    char **env;

    while (environ[n])
        n++;
    if (!(env = malloc((n + 2) * sizeof *env)))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], PARENT_VARIABLE "=",
                    sizeof PARENT_VARIABLE) != 0)
            env[k++] = environ[i];
    snprintf(entry, size, PARENT_VARIABLE "=%ld", (long)getpid());
    env[k++] = entry;
    env[k] = NULL;
    return env;
}

int mmio_parent_alive(void)
{
    const char *parent = getenv(PARENT_VARIABLE);

    /* An orphan is adopted: its parent is another process from then on. */
    return !parent || strtol(parent, NULL, 10) == (long)getppid();
}

mmio_process *mmio_spawn_self(char *const argv[], mmio_error *err)
{
    /* /proc/self/exe is this very file, even if its path has changed. */
    int proc = access("/proc/self/exe", X_OK) == 0;
    const char *program = proc ? "/proc/self/exe" : program_path;
    char entry[64];
    char **env = child_environment(entry, sizeof entry);
    mmio_process *p = env ? malloc(sizeof *p) : NULL;
    int e = !p ? ENOMEM : !program ? ENOENT : 0;

    if (e == 0 && !proc && !strchr(program, '/')) /* found on PATH */
        e = posix_spawnp(&p->pid, program, NULL, NULL, argv, env);
    else if (e == 0)
        e = posix_spawn(&p->pid, program, NULL, NULL, argv, env);
    free(env);
    if (e != 0) {
        free(p);
        mmio_fail(err, "spawn", program, e);
        return NULL;
    }
    return p;
}

int mmio_wait(mmio_process *p, mmio_exit *how, mmio_error *err)
{
    int status = 0;
    pid_t got;

    do
        got = waitpid(p->pid, &status, 0);
    while (got < 0 && errno == EINTR);
    free(p);
    if (got < 0)
        return mmio_fail(err, "wait", NULL, errno);
    how->status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    how->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return 0;
}

/* Waits for P[WHICH], which must not be NULL, in mmio_wait_any's way. */
static int wait_entry(mmio_process **p, unsigned which, unsigned *got,
                      mmio_exit *how, mmio_error *err)
{
    mmio_process *one = p[which];

    p[which] = NULL;
    *got = which;
    return mmio_wait(one, how, err);
}

int mmio_wait_any(mmio_process **p, unsigned count, unsigned *which,
                  mmio_exit *how, mmio_error *err)
{
    unsigned first = count;
    siginfo_t info;

    for (unsigned i = count; i-- > 0;)
        if (p[i])
            first = i;
    if (first == count)
        return mmio_fail(err, "wait", NULL, ECHILD);
    /* Which child has ended, without reaping it: it may not be one of P. */
    do
        info.si_pid = 0;
    while (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR);
    for (unsigned i = first; i < count; i++)
        if (p[i] && p[i]->pid == info.si_pid)
            return wait_entry(p, i, which, how, err);
    /* Another child of this process: wait for the first of P instead. */
    return wait_entry(p, first, which, how, err);
}

void mmio_stop(mmio_process *p)
{
    kill(p->pid, SIGKILL); /* not reaped yet: the pid is still P's */
}

const char *mmio_exit_string(const mmio_exit *how, char *buf, size_t size)
{
    if (how->signal)
        snprintf(buf, size, "killed by signal %d (%s)", how->signal,
                 strsignal(how->signal));
    else
        snprintf(buf, size, "exited with status %d", how->status);
    return buf;
}

/* ---- Interruptions and time --------------------------------------------- */

static void interrupt_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
}

void mmio_defer_interrupts(void)
{
    sigset_t set;

    interrupt_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void mmio_allow_interrupts(void)
{
    sigset_t set;

    /* A signal that came meanwhile is delivered here, by its action. */
    interrupt_signals(&set);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

uint64_t mmio_clock_ns(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}
