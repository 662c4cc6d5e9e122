/* libmmio: memory-mapped file I/O behind one portable interface.
 *
 * The tools of mmtools speak to the operating system only through this
 * header.  Every function reports failure through its return value and an
 * mmio_error; the library never prints and never exits.  See libmmio(3). */
#ifndef MMIO_H
#define MMIO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors ---------------------------------------------------------- */

/* Library error codes; positive codes are the system's (errno, or
 * GetLastError() on Windows). */
#define MMIO_ESHRUNK   (-1) /* a mapped file shrank under the mapping */
#define MMIO_ENOTREG   (-2) /* a regular file was needed */
#define MMIO_ETOOBIG   (-3) /* does not fit the address space or reservation */
#define MMIO_EPIPE     (-4) /* writing to a pipe whose reader has gone */
#define MMIO_EISDIR    (-5) /* reading a directory as a file */
#define MMIO_EMAPPED   (-6) /* shrinking a file while a view of it is mapped */
#define MMIO_EPASTEND  (-7) /* a mapped range reaches past the end of the file */
#define MMIO_EIO       (-8) /* a mapped page of a file could not be read in */

typedef struct mmio_error {
    const char *op;   /* what failed: "open", "map", "read", "write", ... */
    const char *path; /* the file concerned, or NULL */
    int code;         /* a system error code, or an MMIO_E* code */
} mmio_error;

/* Writes the reason for CODE into BUF (size SIZE) and returns BUF. */
const char *mmio_strerror(int code, char *buf, size_t size);

/* Writes "PATH: REASON" (or just the reason without a path) into BUF. */
const char *mmio_format_error(const mmio_error *err, char *buf, size_t size);

/* ---- Process ---------------------------------------------------------- */

/* Prepares the process: a file-size limit becomes an EFBIG error instead
 * of a killing SIGXFSZ; standard streams are binary.  Call once, first. */
void mmio_init(void);

/* Replaces *ARGC and *ARGV by the command line in UTF-8: on Windows from
 * its UTF-16 form (the C runtime's argv is in the ANSI code page), as it
 * is on POSIX.  Returns -1 when out of memory. */
int mmio_args(int *argc, char ***argv, mmio_error *err);

/* ---- Files ------------------------------------------------------------ */

typedef struct mmio_file mmio_file;

enum mmio_kind {
    MMIO_KIND_REGULAR,
    MMIO_KIND_DIRECTORY,
    MMIO_KIND_PIPE,
    MMIO_KIND_TERMINAL,
    MMIO_KIND_DEVICE,
    MMIO_KIND_SOCKET,
    MMIO_KIND_OTHER
};

/* Flags for mmio_open and mmio_create. */
#define MMIO_RDONLY       0x01 /* open for reading */
#define MMIO_RDWR         0x02 /* open for reading and writing */
#define MMIO_REGULAR_ONLY 0x04 /* fail with MMIO_ENOTREG, never block, on
                                  anything but a regular file */
#define MMIO_ATOMIC       0x08 /* mmio_create: write a temporary beside the
                                  destination, renamed over it by
                                  mmio_commit; see libmmio(3) */

/* Opens PATH.  Returns NULL and fills ERR on failure. */
mmio_file *mmio_open(const char *path, int flags, mmio_error *err);

/* The standard streams, named "-" and "standard output". */
mmio_file *mmio_stdin(mmio_error *err);
mmio_file *mmio_stdout(mmio_error *err);

/* Creates (or truncates) PATH for writing, empty.  With MMIO_ATOMIC the
 * data goes to a temporary file beside the file PATH names (symbolic links
 * followed), which mmio_commit renames over it; until then PATH is
 * untouched, and the temporary never outlives the process (on Linux it
 * has no name until the commit; elsewhere close, exit() and fatal signals
 * remove it).  A destination that exists and is not a regular file is
 * opened as it is.  See libmmio(3). */
mmio_file *mmio_create(const char *path, int flags, mmio_error *err);

/* Sets the size of F to SIZE bytes, reserving the blocks of any growth so
 * that a full disk or a file-size limit fails here, not in a mapping.
 * Shrinking while a view made through F is mapped fails with
 * MMIO_EMAPPED and changes nothing. */
int mmio_resize(mmio_file *f, uint64_t size, mmio_error *err);

/* Flushes F to stable storage; for an atomic file, renames it over its
 * destination and flushes the directory, keeping the destination's owner
 * and group where the process may set them and its permission bits (setuid
 * and setgid only with the same owner and group).  F stays open. */
int mmio_commit(mmio_file *f, mmio_error *err);

/* Closes F (NULL is allowed).  An uncommitted atomic file is removed. */
int mmio_close(mmio_file *f, mmio_error *err);

const char *mmio_path(const mmio_file *f);
enum mmio_kind mmio_kind(const mmio_file *f);

/* The current size of F (0 for what is not a regular file). */
int mmio_size(mmio_file *f, uint64_t *size, mmio_error *err);

/* The current read/write position of F, 0 where it has none. */
uint64_t mmio_tell(mmio_file *f);

/* Non-zero when A and B are the same file. */
int mmio_same_file(const mmio_file *a, const mmio_file *b);

/* Reads up to SIZE bytes; *GOT is 0 at end of file.  Retries on EINTR. */
int mmio_read(mmio_file *f, void *buf, size_t size, size_t *got,
              mmio_error *err);

/* Writes all SIZE bytes.  Retries on EINTR and short writes. */
int mmio_write(mmio_file *f, const void *buf, size_t size, mmio_error *err);

/* Writes all SIZE bytes at OFFSET of the regular file F, so that threads
 * can write parts of one file at once.  F's position afterwards is not
 * defined (Windows moves it): not to be mixed with mmio_write. */
int mmio_write_at(mmio_file *f, const void *buf, size_t size, uint64_t offset,
                  mmio_error *err);

/* Copies IN, from its position to its end, to OUT by the fastest path the
 * system offers.  Returns 0, or -1 when reading IN failed, or -2 when
 * writing OUT failed; ERR says which. */
int mmio_copy(mmio_file *in, mmio_file *out, mmio_error *err);

/* Readies F for a stream of large writes: a pipe is grown to hold more at
 * once (Linux: F_SETPIPE_SZ, up to what /proc/sys/fs/pipe-max-size
 * allows), so that a write wakes its reader less often; a pipe that cannot
 * grow is left as it is.  Returns the size the pipe now holds, 0 for what
 * is not a pipe or where it is not known. */
size_t mmio_output_prepare(mmio_file *f);

/* ---- Mappings --------------------------------------------------------- */

enum mmio_map_mode {
    MMIO_MAP_READ,    /* read-only */
    MMIO_MAP_SHARED,  /* read-write; changes reach the file */
    MMIO_MAP_PRIVATE  /* copy-on-write; changes stay in memory */
};

#define MMIO_TO_END UINT64_MAX /* a length meaning "up to the end" */

/* A window of a file in memory.  DATA points at exactly the byte asked
 * for; the other members belong to the library. */
typedef struct mmio_view {
    unsigned char *data;
    size_t size;
    mmio_file *file;
    void *base;         /* start of the aligned system mapping */
    size_t base_size;
    uint64_t base_offset; /* the file offset BASE maps */
    int mode;           /* the enum mmio_map_mode it was made with */
    int owned_memory;   /* 1 when DATA is an mmio_arena, not a mapping */
} mmio_view;

/* Maps [OFFSET, OFFSET+LENGTH) of F.  A zero length (an empty file) gives
 * a valid view of size 0.  Offsets need no alignment.  Fails with
 * MMIO_ENOTREG on what is not a regular file of known size (a pipe, a
 * device, /proc) and with MMIO_EPASTEND on a range past the end. */
int mmio_map(mmio_file *f, uint64_t offset, uint64_t length,
             enum mmio_map_mode mode, mmio_view *v, mmio_error *err);

int mmio_unmap(mmio_view *v, mmio_error *err);

#define MMIO_SYNC  1 /* wait until the data is on stable storage */
#define MMIO_ASYNC 0 /* start writing back and return (Linux: the pages
                        go to disk now, not at the kernel's leisure) */

/* Writes [OFFSET, OFFSET+LENGTH) of a view back to its file. */
int mmio_flush(mmio_view *v, size_t offset, size_t length, int how,
               mmio_error *err);

enum mmio_hint {
    MMIO_SEQUENTIAL,
    MMIO_RANDOM,
    MMIO_WILLNEED,
    MMIO_DONTNEED,
    MMIO_WILLWRITE  /* a shared view about to be written all over: its
                       pages are made writable up front, not one fault
                       at a time */
};

/* Tells the system how a view will be used; a no-op where unsupported. */
void mmio_advise(mmio_view *v, enum mmio_hint hint);

/* The same for the bytes [OFFSET, OFFSET+LENGTH) of V only (the pages
 * they touch), so that threads can each advise their part at once. */
void mmio_advise_range(mmio_view *v, size_t offset, size_t length,
                       enum mmio_hint hint);

/* Runs FN(CTX) so that touching a mapped page whose file has shrunk away
 * makes mmio_guard return -1 with MMIO_ESHRUNK in ERR instead of killing
 * the process.  Otherwise returns what FN returns. */
int mmio_guard(int (*fn)(void *ctx), void *ctx, mmio_error *err);

/* ---- Whole inputs and windows ---------------------------------------- */

/* Reads or maps all of F from its position: a mapping for a non-empty
 * regular file, an mmio_arena for a pipe, a terminal, a device, a file
 * that reports size 0 (/proc) or one that cannot be mapped (/sys).
 * Release with mmio_unmap. */
int mmio_load(mmio_file *f, enum mmio_map_mode mode, mmio_view *v,
              mmio_error *err);

/* Walks F from its position in pieces of at most WINDOW bytes: mapped
 * windows for a regular file, reads for anything else. */
typedef struct mmio_walk {
    mmio_file *file;
    uint64_t offset;       /* where the next piece starts */
    uint64_t end;          /* the file size seen so far */
    size_t window;
    int streaming;         /* 1 when reading instead of mapping */
    mmio_view view;        /* the current mapped window */
    unsigned char *buffer; /* the read buffer, when streaming */
} mmio_walk;

#define MMIO_DEFAULT_WINDOW ((size_t)(sizeof(void *) >= 8 ? 1u << 30 : 1u << 26))

int mmio_walk_start(mmio_walk *w, mmio_file *f, size_t window,
                    mmio_error *err);

/* Gives the next piece in *DATA and *SIZE.  Returns 1 with a piece, 0 at
 * the end, -1 on error.  A piece stays valid until the next call. */
int mmio_walk_next(mmio_walk *w, const unsigned char **data, size_t *size,
                   mmio_error *err);

/* The code for a fault met in the current piece of W (under mmio_guard,
 * or a write from it that found a bad address): MMIO_ESHRUNK when the
 * file no longer reaches the piece's end, else MMIO_EIO. */
int mmio_walk_fault(const mmio_walk *w);

/* Releases the walk and leaves the file position after what was walked. */
void mmio_walk_finish(mmio_walk *w);

/* ---- Reserved address space ------------------------------------------ */

/* Address space reserved up front and committed on demand, so a buffer
 * can grow in place without copies. */
typedef struct mmio_arena {
    unsigned char *base;
    size_t reserved;
    size_t committed;
} mmio_arena;

#define MMIO_DEFAULT_RESERVE ((size_t)(sizeof(void *) >= 8 ? (size_t)1 << 36 : (size_t)1 << 29))

int mmio_reserve(mmio_arena *a, size_t size, mmio_error *err);

/* Makes at least the first SIZE bytes usable; fails with MMIO_ETOOBIG
 * past the reservation. */
int mmio_commit_memory(mmio_arena *a, size_t size, mmio_error *err);

void mmio_release(mmio_arena *a);

/* ---- Threads ------------------------------------------------------------ */

typedef struct mmio_thread mmio_thread;

/* Runs FN(ARG) in a new thread; NULL when none can be started. */
mmio_thread *mmio_thread_start(void (*fn)(void *arg), void *arg,
                               mmio_error *err);

/* Waits for T to finish, then frees it. */
void mmio_thread_join(mmio_thread *t);

/* A count that only grows, which threads can wait on: how one thread
 * hands work to another and learns that it is done. */
typedef struct mmio_sequence mmio_sequence;

mmio_sequence *mmio_sequence_new(mmio_error *err);
void mmio_sequence_free(mmio_sequence *s);

/* Adds one to S and wakes its waiters. */
void mmio_sequence_advance(mmio_sequence *s);

/* Waits until S has reached VALUE. */
void mmio_sequence_wait(mmio_sequence *s, uint64_t value);

/* How many processors this process may run on (at least 1). */
unsigned mmio_cpu_count(void);

/* The machine's physical memory in bytes (0 when it cannot be told). */
uint64_t mmio_physical_memory(void);

/* The directory for temporary files: $TMPDIR or /tmp on POSIX, the user's
 * temporary directory (GetTempPath, as UTF-8) on Windows. */
const char *mmio_temp_dir(void);

/* ---- Processes ---------------------------------------------------------- */

/* Lets the processes mmio_spawn_self starts from now on open F (a file,
 * not a standard stream) through mmio_open_shared, as long as F stays
 * open: writes the name they open it by into NAME (SIZE bytes; 32 are
 * enough), short text for their command line.  It is an inherited
 * descriptor or handle, so even a file without a name (an atomic file's
 * temporary) can be shared. */
int mmio_share(mmio_file *f, char *name, size_t size, mmio_error *err);

/* In a process mmio_spawn_self started: opens the file its parent shared
 * as NAME, for reading and writing; PATH is its name in messages.  Fails
 * with EBADF (ERROR_INVALID_HANDLE) when NAME names no open file. */
mmio_file *mmio_open_shared(const char *name, const char *path,
                            mmio_error *err);

typedef struct mmio_process mmio_process;

/* Starts the executable of this process again (/proc/self/exe, else
 * ARGV[0] as mmio_args saw it; GetModuleFileNameW on Windows) with ARGV
 * (UTF-8, NULL after the last; ARGV[0] first), its standard streams and
 * the files shared by mmio_share inherited.  NULL when it cannot. */
mmio_process *mmio_spawn_self(char *const argv[], mmio_error *err);

/* In a process mmio_spawn_self started: 0 once the process that started
 * it has ended, so that a worker can stop when the work is no longer
 * wanted; cheap enough to ask between pieces of work.  1 in a process
 * not started so. */
int mmio_parent_alive(void);

/* How a process ended: its exit status, or the signal that killed it (0
 * when none; always 0 on Windows, where a crash is an exit status such as
 * 0xC0000005). */
typedef struct mmio_exit {
    int status;
    int signal;
} mmio_exit;

/* Waits for P to end, says how in *HOW and frees P. */
int mmio_wait(mmio_process *p, mmio_exit *how, mmio_error *err);

/* Waits until one of the COUNT processes in P (NULL entries are passed
 * over) has ended: sets *WHICH to its index and *HOW to how it ended,
 * frees it and sets P[*WHICH] to NULL.  Fails when all are NULL.  Call it
 * from one thread at a time. */
int mmio_wait_any(mmio_process **p, unsigned count, unsigned *which,
                  mmio_exit *how, mmio_error *err);

/* Ends P at once if it is still running (SIGKILL, TerminateProcess);
 * mmio_wait still reaps it. */
void mmio_stop(mmio_process *p);

/* Writes how a process ended into BUF: "exited with status 3", "killed
 * by signal 9 (Killed)", "ended by exception 0xC0000005". */
const char *mmio_exit_string(const mmio_exit *how, char *buf, size_t size);

/* ---- Interruptions and time ------------------------------------------- */

/* Holds off, in the calling thread and the threads it starts after, the
 * requests to stop (SIGINT, SIGTERM, SIGHUP; on Windows Ctrl-C,
 * Ctrl-Break and closing the console), for work that must not stop
 * halfway.  mmio_allow_interrupts ends the process by the request that
 * came meanwhile, if any, and otherwise lets them through again. */
void mmio_defer_interrupts(void);
void mmio_allow_interrupts(void);

/* A monotonic clock, in nanoseconds from some fixed point. */
uint64_t mmio_clock_ns(void);

/* ---- Sizes ------------------------------------------------------------ */

size_t mmio_page_size(void);
size_t mmio_map_granularity(void); /* what view offsets are aligned to */

#ifdef __cplusplus
}
#endif

#endif
