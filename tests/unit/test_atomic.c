/* Unit tests of libmmio's atomic output files (MMIO_ATOMIC), in TAP.
 *
 * Built twice on POSIX: test_atomic against libmmio as configured (on
 * Linux an unnamed O_TMPFILE temporary) and test_atomic_named against a
 * copy of the backend built with MMIO_NO_O_TMPFILE (the named temporary
 * that other systems and file systems without O_TMPFILE get).
 *
 * "test_atomic --write PATH TEXT" writes TEXT to PATH atomically and
 * exits 0, or prints the error and exits 1: the tests run it under
 * setpriv (another user) and tests/atomic.bats under strace.
 * "test_atomic --child BODY SIGNAL PATH" is a child of the cleanup tests. */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmio.h"
#include "unit.h"

#ifdef _WIN32
#include <direct.h>
#include <process.h>
#define getpid _getpid
#define make_dir(path) _mkdir(path)
#else
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#define POSIX_TESTS 1
#define make_dir(path) mkdir(path, 0700)
static char self[PATH_MAX]; /* this program, to run it again */
#endif

#ifdef MMIO_NO_O_TMPFILE
#define DIR_PREFIX "test_atomic_named.tmp."
#else
#define DIR_PREFIX "test_atomic.tmp."
#endif

/* ---- helpers ------------------------------------------------------------- */

static char scratch[64];

/* A path in the scratch directory; each call gets a buffer of its own. */
static const char *path_of(const char *name)
{
    static char paths[64][160];
    static int next;
    char *p = paths[next++ % 64];

    snprintf(p, sizeof paths[0], "%s/%s", scratch, name);
    return p;
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        printf("Bail out! cannot write %s\n", path);
        exit(1);
    }
}

/* Non-zero when PATH holds exactly TEXT. */
static int holds(const char *path, const char *text)
{
    char buf[256];
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f)
        return 0;
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return n == strlen(text) && memcmp(buf, text, n) == 0;
}

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

/* The --write helper: one atomic write, its error on standard output. */
static int write_command(const char *path, const char *text)
{
    mmio_error err;
    mmio_file *f = mmio_create(path, MMIO_ATOMIC, &err);
    char msg[512];

    if (f && mmio_write(f, text, strlen(text), &err) == 0
        && mmio_commit(f, &err) == 0 && mmio_close(f, &err) == 0)
        return 0;
    mmio_close(f, NULL);
    printf("%s: %s\n", err.op, mmio_format_error(&err, msg, sizeof msg));
    return 1;
}

/* ---- everywhere ------------------------------------------------------------ */

static void commit_replaces_destination(void)
{
    const char *path = path_of("replaced");
    mmio_error err;
    mmio_file *f;

    write_file(path, "old", 3);
    f = mmio_create(path, MMIO_ATOMIC, &err);
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(mmio_write(f, "new!", 4, &err) == 0);
    CHECK(holds(path, "old"));
    CHECK(mmio_commit(f, &err) == 0);
    CHECK(mmio_close(f, &err) == 0);
    CHECK(holds(path, "new!"));
}

static void close_without_commit_leaves_destination(void)
{
    const char *kept = path_of("kept");
    const char *absent = path_of("absent");
    FILE *f;

    write_file(kept, "old", 3);
    CHECK(write_atomic(kept, "new", 0) == 0);
    CHECK(holds(kept, "old"));
    CHECK(write_atomic(absent, "new", 0) == 0);
    CHECK((f = fopen(absent, "rb")) == NULL);
    if (f)
        fclose(f);
}

#ifdef POSIX_TESTS
/* ---- POSIX: what a commit keeps -------------------------------------------- */

/* Counts the temporaries left in directory DIR. */
static int temporaries_in(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    while (d && (e = readdir(d)))
        n += strncmp(e->d_name, ".mmtools.", 9) == 0;
    if (d)
        closedir(d);
    return n;
}

static int leftover_temporaries(void)
{
    return temporaries_in(scratch);
}

static mode_t mode_of(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void commit_keeps_permission_bits(void)
{
    const char *path = path_of("mode");

    write_file(path, "old", 3);
    chmod(path, 0640);
    CHECK(write_atomic(path, "new", 1) == 0);
    CHECK(mode_of(path) == 0640);
    CHECK(leftover_temporaries() == 0);
}

static void new_file_gets_umask_mode(void)
{
    const char *path = path_of("fresh");
    mode_t old = umask(022);

    CHECK(write_atomic(path, "new", 1) == 0);
    CHECK(mode_of(path) == 0644);
    umask(old);
}

static int is_symlink(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

static void symlink_is_followed_and_target_replaced(void)
{
    const char *target = path_of("target");
    const char *link = path_of("link");

    write_file(target, "old", 3);
    CHECK(symlink("target", link) == 0);
    CHECK(write_atomic(link, "new", 1) == 0);
    CHECK(is_symlink(link));
    CHECK(holds(target, "new"));
    CHECK(leftover_temporaries() == 0);
}

/* scratch/a/first -> ../b/second -> third (relative to b). */
static void chain_of_relative_links_is_followed(void)
{
    const char *first = path_of("a/first");
    const char *third = path_of("b/third");

    CHECK(make_dir(path_of("a")) == 0 && make_dir(path_of("b")) == 0);
    write_file(third, "old", 3);
    CHECK(symlink("../b/second", first) == 0);
    CHECK(symlink("third", path_of("b/second")) == 0);
    CHECK(write_atomic(first, "new", 1) == 0);
    CHECK(is_symlink(first) && is_symlink(path_of("b/second")));
    CHECK(holds(third, "new"));
    CHECK(temporaries_in(path_of("a")) + temporaries_in(path_of("b")) == 0);
}

static void dangling_link_creates_its_target(void)
{
    const char *link = path_of("dangling");

    CHECK(symlink("created", link) == 0);
    CHECK(write_atomic(link, "new", 1) == 0);
    CHECK(is_symlink(link));
    CHECK(holds(path_of("created"), "new"));
}

/* A link on another file system (tmpfs) to a file here: a temporary made
 * beside the link could not be renamed over the target. */
static void temporary_is_made_in_target_directory(void)
{
    const char *target = path_of("far");
    char link[64], where[PATH_MAX];

    snprintf(link, sizeof link, "/dev/shm/test_atomic.%ld", (long)getpid());
    if (!realpath(scratch, where)) {
        CHECK(!"realpath");
        return;
    }
    strcat(where, "/far");
    write_file(target, "old", 3);
    CHECK(symlink(where, link) == 0);
    CHECK(write_atomic(link, "new", 1) == 0);
    CHECK(is_symlink(link) && holds(target, "new"));
    unlink(link);
}

static void link_to_device_writes_through(void)
{
    const char *link = path_of("null");

    CHECK(symlink("/dev/null", link) == 0);
    CHECK(write_atomic(link, "x", 1) == 0);
    CHECK(is_symlink(link));
}

/* The documented choice: the name written to gets the new file; its other
 * hard links keep the old one. */
static void hard_link_is_split_off(void)
{
    const char *path = path_of("linked");
    const char *other = path_of("other_name");
    struct stat st;

    write_file(path, "old", 3);
    CHECK(link(path, other) == 0);
    CHECK(write_atomic(path, "new", 1) == 0);
    CHECK(holds(path, "new") && holds(other, "old"));
    CHECK(stat(path, &st) == 0 && st.st_nlink == 1);
    CHECK(stat(other, &st) == 0 && st.st_nlink == 1);
}

static void loop_of_links_fails_with_eloop(void)
{
    const char *loop = path_of("loop");
    mmio_error err;
    mmio_file *f;

    CHECK(symlink("loop", loop) == 0);
    f = mmio_create(loop, MMIO_ATOMIC, &err);
    CHECK(f == NULL && err.code == ELOOP);
    mmio_close(f, NULL);
    CHECK(is_symlink(loop));
}

static void close_without_commit_leaves_no_temporary(void)
{
    const char *path = path_of("uncommitted");

    write_file(path, "old", 3);
    CHECK(write_atomic(path, "new", 0) == 0);
    CHECK(holds(path, "old"));
    CHECK(leftover_temporaries() == 0);
}

/* The destination became a directory: the rename fails, and the
 * temporary, whether or not it had been given a name, goes on close. */
static void failed_rename_leaves_no_temporary(void)
{
    const char *path = path_of("became_dir");
    mmio_error err;
    mmio_file *f = mmio_create(path, MMIO_ATOMIC, &err);

    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(mmio_write(f, "new", 3, &err) == 0);
    CHECK(make_dir(path) == 0 && make_dir(path_of("became_dir/full")) == 0);
    CHECK(mmio_commit(f, &err) == -1 && strcmp(err.op, "rename") == 0);
    CHECK(mmio_close(f, &err) == 0);
    CHECK(leftover_temporaries() == 0);
}

/* ---- POSIX: owners ----------------------------------------------------------- */

static uid_t nobody_uid;
static gid_t nogroup_gid;

/* Fills nobody_uid and nogroup_gid; 0 when there are no such ids. */
static int find_nobody(void)
{
    struct passwd *pw = getpwnam("nobody");
    struct group *gr = getgrnam("nogroup");

    if (!pw || !gr)
        return 0;
    nobody_uid = pw->pw_uid;
    nogroup_gid = gr->gr_gid;
    return 1;
}

/* Creates PATH holding "old", owned by UID:GID with MODE. */
static void make_owned(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
    write_file(path, "old", 3);
    CHECK(chown(path, uid, gid) == 0);
    CHECK(chmod(path, mode) == 0);
}

static int owned_by(const char *path, uid_t uid, gid_t gid)
{
    struct stat st;

    return stat(path, &st) == 0 && st.st_uid == uid && st.st_gid == gid;
}

static void root_keeps_owner_and_group(void)
{
    const char *path = path_of("owned");

    make_owned(path, nobody_uid, nogroup_gid, 0640);
    CHECK(write_atomic(path, "new", 1) == 0);
    CHECK(holds(path, "new"));
    CHECK(owned_by(path, nobody_uid, nogroup_gid));
    CHECK(mode_of(path) == 0640);
}

/* Root rewriting a setuid file of nobody must not make it setuid root. */
static void root_keeps_setuid_with_its_owner(void)
{
    const char *path = path_of("setuid");

    make_owned(path, nobody_uid, nogroup_gid, 04755);
    CHECK(write_atomic(path, "new", 1) == 0);
    CHECK(owned_by(path, nobody_uid, nogroup_gid));
    CHECK(mode_of(path) == 04755);
}

/* Runs "test_atomic --write PATH new" as nobody:nogroup with the
 * supplementary groups GROUPS (NULL: none); its exit status. */
static int write_as_nobody(const char *path, const char *groups)
{
    char group_option[64];
    int status = -1;
    pid_t pid;

    if (groups)
        snprintf(group_option, sizeof group_option, "--groups=%s", groups);
    else
        snprintf(group_option, sizeof group_option, "--clear-groups");
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        execlp("setpriv", "setpriv", "--reuid=nobody", "--regid=nogroup",
               group_option, self, "--write", path, "new", (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* Nobody may replace files of root in a directory nobody can write to,
 * but cannot give them back to root: setuid and setgid are dropped. */
static void other_user_cannot_keep_owner_so_drops_setuid(void)
{
    const char *dir = path_of("shared");
    const char *suid = path_of("shared/suid");
    const char *sgid = path_of("shared/sgid");
    const char *group = path_of("shared/group");

    CHECK(make_dir(dir) == 0 && chmod(dir, 0777) == 0 && chmod(scratch, 0755) == 0);
    make_owned(suid, 0, 0, 04755);
    make_owned(sgid, 0, 0, 02775);
    /* nobody's own file, but in root's group, which nobody cannot set */
    make_owned(group, nobody_uid, 0, 02755);
    CHECK(write_as_nobody(suid, NULL) == 0 && holds(suid, "new"));
    CHECK(owned_by(suid, nobody_uid, nogroup_gid) && mode_of(suid) == 0755);
    CHECK(write_as_nobody(sgid, NULL) == 0 && holds(sgid, "new"));
    CHECK(owned_by(sgid, nobody_uid, nogroup_gid) && mode_of(sgid) == 0775);
    CHECK(write_as_nobody(group, NULL) == 0 && holds(group, "new"));
    CHECK(owned_by(group, nobody_uid, nogroup_gid) && mode_of(group) == 0755);
    CHECK(temporaries_in(dir) == 0);
    chmod(scratch, 0700);
}

/* Nobody, also in the group "users", cannot give root's file back to root
 * but can keep its group: the group stays, setgid goes with the owner. */
static void other_user_keeps_group_it_belongs_to(void)
{
    const char *dir = path_of("users");
    const char *path = path_of("users/shared");
    struct group *users = getgrnam("users");

    if (!users) {
        CHECK(!"no group users");
        return;
    }
    CHECK(make_dir(dir) == 0 && chmod(dir, 0777) == 0 && chmod(scratch, 0755) == 0);
    make_owned(path, 0, users->gr_gid, 02775);
    CHECK(write_as_nobody(path, "users") == 0 && holds(path, "new"));
    CHECK(owned_by(path, nobody_uid, users->gr_gid) && mode_of(path) == 0775);
    chmod(scratch, 0700);
}

/* ---- POSIX: nothing left behind --------------------------------------------- */

/* The children below run in a fresh process (this program, exec'd with
 * --child), as a tool does: the cleanup is installed when that process
 * makes its first temporary, after its own signal settings. */

static volatile sig_atomic_t caller_caught;

static void caller_handler(int sig)
{
    (void)sig;
    caller_caught = 1;
}

/* What the child BODY does with PATH and signal SIG; its exit status:
 * "raise": writes half and raises SIG (3 if it survives);
 * "exit": writes half and exits with 4 without closing;
 * "ignored": ignores SIG, writes, raises SIG, commits: 5;
 * "handled": catches SIG itself, writes, raises SIG, commits: 6. */
static int child_main(const char *body, int sig, const char *path)
{
    int ignored = strcmp(body, "ignored") == 0;
    int handled = strcmp(body, "handled") == 0;
    mmio_error err;
    mmio_file *f;

    if (ignored || handled)
        signal(sig, ignored ? SIG_IGN : caller_handler);
    f = mmio_create(path, MMIO_ATOMIC, &err);
    if (!f || mmio_write(f, ignored || handled ? "new" : "half", ignored || handled ? 3 : 4, &err) < 0)
        return 2;
    if (strcmp(body, "exit") == 0)
        exit(4);
    raise(sig);
    if (ignored || (handled && caller_caught))
        return mmio_commit(f, &err) == 0 && mmio_close(f, &err) == 0 ? 5 + handled : 2;
    mmio_close(f, NULL);
    return 3;
}

/* Runs child BODY with SIG on PATH, which first holds "old"; returns the
 * child's wait status.  No core files: some signals dump core. */
static int run_child(const char *body, int sig, const char *path)
{
    char number[16];
    int status = -1;
    pid_t pid;

    write_file(path, "old", 3);
    snprintf(number, sizeof number, "%d", sig);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        struct rlimit none = { 0, 0 };
        setrlimit(RLIMIT_CORE, &none);
        if (sig > 0) /* its default action, even under nohup */
            signal(sig, SIG_DFL);
        execl(self, self, "--child", body, number, path, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, &status, 0);
    return status;
}

static int signal_to_send;
static const char *signal_name;

/* In a directory of its own, so that a leak fails this test alone. */
static void fatal_signal_leaves_nothing(void)
{
    const char *dir = path_of(signal_name);
    char path[192];
    int status;

    CHECK(make_dir(dir) == 0);
    snprintf(path, sizeof path, "%s/signalled", dir);
    status = run_child("raise", signal_to_send, path);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == signal_to_send);
    CHECK(temporaries_in(dir) == 0);
    CHECK(holds(path, "old"));
}

/* Every signal whose default action ends the process and can be caught,
 * by name, for the test names; not SIGXFSZ, which mmio_init ignores, nor
 * SIGBUS, which belongs to mmio_guard. */
static const struct {
    int sig;
    const char *name;
} fatal_signals[] = {
    { SIGHUP, "SIGHUP" }, { SIGINT, "SIGINT" }, { SIGQUIT, "SIGQUIT" },
    { SIGTERM, "SIGTERM" }, { SIGPIPE, "SIGPIPE" }, { SIGUSR1, "SIGUSR1" },
    { SIGUSR2, "SIGUSR2" }, { SIGALRM, "SIGALRM" },
    { SIGVTALRM, "SIGVTALRM" }, { SIGPROF, "SIGPROF" },
    { SIGXCPU, "SIGXCPU" }, { SIGABRT, "SIGABRT" },
    { SIGTRAP, "SIGTRAP" }, { SIGSYS, "SIGSYS" },
#ifdef SIGPOLL
    { SIGPOLL, "SIGPOLL" },
#endif
#ifdef SIGSTKFLT
    { SIGSTKFLT, "SIGSTKFLT" },
#endif
#ifdef SIGPWR
    { SIGPWR, "SIGPWR" },
#endif
};

static void each_fatal_signal_leaves_nothing(void)
{
    char name[64];

    for (size_t i = 0; i < sizeof fatal_signals / sizeof *fatal_signals; i++) {
        signal_to_send = fatal_signals[i].sig;
        signal_name = fatal_signals[i].name;
        snprintf(name, sizeof name, "%s_leaves_nothing", signal_name);
        unit_test(name, fatal_signal_leaves_nothing);
    }
#ifdef SIGRTMIN
    signal_to_send = SIGRTMIN;
    signal_name = "SIGRTMIN";
    unit_test("SIGRTMIN_leaves_nothing", fatal_signal_leaves_nothing);
    signal_to_send = SIGRTMAX;
    signal_name = "SIGRTMAX";
    unit_test("SIGRTMAX_leaves_nothing", fatal_signal_leaves_nothing);
#endif
}

static void exit_without_close_leaves_nothing(void)
{
    const char *path = path_of("exited");
    int status = run_child("exit", 0, path);

    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 4);
    CHECK(leftover_temporaries() == 0);
    CHECK(holds(path, "old"));
}

/* With SIGHUP ignored (nohup) the process lives on. */
static void ignored_signal_stays_ignored(void)
{
    const char *path = path_of("nohup");
    int status = run_child("ignored", SIGHUP, path);

    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 5);
    CHECK(holds(path, "new"));
}

/* A handler the program installed itself is left in place. */
static void caller_signal_handler_is_kept(void)
{
    const char *path = path_of("handled");
    int status = run_child("handled", SIGUSR1, path);

    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 6);
    CHECK(holds(path, "new"));
}

/* A child forked while the temporary is open exits; the parent's
 * temporary must survive for its commit. */
static void forked_child_exit_keeps_parent_temporary(void)
{
    const char *path = path_of("forked");
    mmio_error err;
    mmio_file *f;
    int status = -1;
    pid_t pid;

    write_file(path, "old", 3);
    f = mmio_create(path, MMIO_ATOMIC, &err);
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(mmio_write(f, "new", 3, &err) == 0);
    fflush(stdout);
    pid = fork();
    if (pid == 0)
        exit(0);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
    CHECK(mmio_commit(f, &err) == 0);
    CHECK(mmio_close(f, &err) == 0);
    CHECK(holds(path, "new"));
}

#ifndef MMIO_NO_O_TMPFILE
/* Non-zero when the scratch directory's file system takes O_TMPFILE. */
static int has_o_tmpfile(void)
{
#ifdef O_TMPFILE
    int fd = open(scratch, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

    if (fd >= 0)
        close(fd);
    return fd >= 0;
#else
    return 0;
#endif
}

static void sigkill_leaves_nothing(void)
{
    const char *path = path_of("killed");
    int status = run_child("raise", SIGKILL, path);

    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK(leftover_temporaries() == 0);
    CHECK(holds(path, "old"));
}

static void temporary_has_no_name_until_commit(void)
{
    const char *path = path_of("unnamed");
    mmio_error err;
    mmio_file *f = mmio_create(path, MMIO_ATOMIC, &err);

    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(mmio_write(f, "new", 3, &err) == 0);
    CHECK(leftover_temporaries() == 0);
    CHECK(mmio_commit(f, &err) == 0);
    CHECK(leftover_temporaries() == 0);
    CHECK(mmio_close(f, &err) == 0);
    CHECK(holds(path, "new"));
}
#endif

static void run_owner_tests(void)
{
    if (geteuid() != 0 || !find_nobody()) {
        unit_skip("owner tests", "they need root and the user nobody");
        return;
    }
    RUN(root_keeps_owner_and_group);
    RUN(root_keeps_setuid_with_its_owner);
    if (system("command -v setpriv > /dev/null") != 0)
        unit_skip("other_user_cannot_keep_owner_so_drops_setuid",
                  "setpriv is not installed");
    else {
        RUN(other_user_cannot_keep_owner_so_drops_setuid);
        RUN(other_user_keeps_group_it_belongs_to);
    }
}

static void run_cleanup_tests(void)
{
    each_fatal_signal_leaves_nothing();
    RUN(exit_without_close_leaves_nothing);
    RUN(ignored_signal_stays_ignored);
    RUN(caller_signal_handler_is_kept);
    RUN(forked_child_exit_keeps_parent_temporary);
#ifdef MMIO_NO_O_TMPFILE
    unit_skip("sigkill_leaves_nothing", "a named temporary outlives SIGKILL");
#else
    if (!has_o_tmpfile()) {
        unit_skip("unnamed temporary tests", "no O_TMPFILE here");
        return;
    }
    RUN(temporary_has_no_name_until_commit);
    RUN(sigkill_leaves_nothing);
#endif
}

static int remove_entry(const char *path, const struct stat *st, int type,
                        struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

static void remove_scratch(void)
{
    if (nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        printf("# could not remove %s\n", scratch);
}
#else
static void remove_scratch(void)
{
    remove(path_of("replaced"));
    remove(path_of("kept"));
    if (_rmdir(scratch) != 0)
        printf("# could not remove %s\n", scratch);
}
#endif

int main(int argc, char **argv)
{
    mmio_init(); /* binary standard output: TAP lines end in "\n" alone */
    if (argc == 4 && strcmp(argv[1], "--write") == 0)
        return write_command(argv[2], argv[3]);
#ifdef POSIX_TESTS
    if (argc == 5 && strcmp(argv[1], "--child") == 0)
        return child_main(argv[2], atoi(argv[3]), argv[4]);
    if (!realpath(argv[0], self)) {
        printf("Bail out! cannot find %s\n", argv[0]);
        return 1;
    }
#endif
    snprintf(scratch, sizeof scratch, DIR_PREFIX "%ld", (long)getpid());
    make_dir(scratch);
    RUN(commit_replaces_destination);
    RUN(close_without_commit_leaves_destination);
#ifdef POSIX_TESTS
    RUN(commit_keeps_permission_bits);
    RUN(new_file_gets_umask_mode);
    RUN(symlink_is_followed_and_target_replaced);
    RUN(chain_of_relative_links_is_followed);
    RUN(dangling_link_creates_its_target);
    if (access("/dev/shm", W_OK) == 0)
        RUN(temporary_is_made_in_target_directory);
    else
        unit_skip("temporary_is_made_in_target_directory", "no /dev/shm");
    RUN(link_to_device_writes_through);
    RUN(hard_link_is_split_off);
    RUN(loop_of_links_fails_with_eloop);
    RUN(close_without_commit_leaves_no_temporary);
    RUN(failed_rename_leaves_no_temporary);
    run_owner_tests();
    run_cleanup_tests();
#else
    unit_skip("POSIX-only tests", "links, owners and signals are POSIX");
#endif
    remove_scratch();
    return unit_done();
}
