/* libmmio backend for Windows: CreateFileW, CreateFileMappingW,
 * MapViewOfFile, FlushViewOfFile, UnmapViewOfFile, VirtualAlloc.  Sizes and
 * offsets stay 64-bit and are split into DWORD halves only at the call. */
#include <config.h>

#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define WIN32_LEAN_AND_MEAN /* mmsystem.h names its own MMIO_ flags */
#include <windows.h>
#include <shellapi.h>

#include "mmio_internal.h"

struct mmio_file {
    HANDLE h;
    int is_std;          /* a standard stream: never closed here */
    enum mmio_kind kind;
    uint64_t volume;     /* identity, for mmio_same_file: 0 unknown */
    unsigned char id[16];
    char *path;
    wchar_t *dest_path;  /* an atomic file's destination ... */
    wchar_t *temp_path;  /* ... and its temporary, until committed */
    HANDLE shared;       /* an inheritable twin of H, from mmio_share */
};

#define HIGH(x) ((DWORD)((uint64_t)(x) >> 32))
#define LOW(x) ((DWORD)((uint64_t)(x) & 0xffffffffu))

/* ---- Errors, process and sizes ---------------------------------------- */

void mmio_system_reason(int code, char *buf, size_t size)
{
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM
                             | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             (DWORD)code, 0, buf, (DWORD)size, NULL);

    if (n == 0) {
        snprintf(buf, size, "Windows error %d", code);
        return;
    }
    /* Messages end in ".\r\n"; the tools add their own line end. */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'
                     || buf[n - 1] == ' ' || buf[n - 1] == '.'))
        buf[--n] = '\0';
}

int mmio_bad_address(int code)
{
    return code == ERROR_NOACCESS || code == ERROR_INVALID_USER_BUFFER;
}

static int fail_last(mmio_error *err, const char *op, const char *path)
{
    return mmio_fail(err, op, path, (int)GetLastError());
}

void mmio_init(void)
{
    /* Without binary mode the C runtime turns "\n" into "\r\n". */
    _setmode(0, _O_BINARY);
    _setmode(1, _O_BINARY);
    _setmode(2, _O_BINARY);
}

/* UTF-16 to UTF-8, or NULL with the last error set: a lone surrogate is
 * ERROR_NO_UNICODE_TRANSLATION, never silently replaced. */
static char *to_utf8(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, NULL,
                                0, NULL, NULL);
    char *s = n > 0 ? malloc((size_t)n) : NULL;

    if (n > 0 && !s)
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    if (s)
        WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, s, n, NULL,
                            NULL);
    return s;
}

/* UTF-8 to UTF-16, or NULL: a byte that is not UTF-8 must not become
 * U+FFFD and name another file. */
static wchar_t *to_wide(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;

    if (w)
        MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n);
    return w;
}

int mmio_args(int *argc, char ***argv, mmio_error *err)
{
    int n;
    wchar_t **wide = CommandLineToArgvW(GetCommandLineW(), &n);
    char **args = wide ? calloc((size_t)n + 1, sizeof *args) : NULL;
    DWORD code = ERROR_NOT_ENOUGH_MEMORY;
    int ok = args != NULL;

    for (int i = 0; ok && i < n; i++)
        ok = (args[i] = to_utf8(wide[i])) != NULL;
    if (!ok && args)
        code = GetLastError(); /* what to_utf8 met */
    LocalFree(wide);
    if (!ok) {
        for (int i = 0; args && i < n; i++)
            free(args[i]);
        free(args);
        return mmio_fail(err, "arguments", NULL, (int)code);
    }
    *argc = n;
    *argv = args;
    return 0;
}

static SYSTEM_INFO *system_info(void)
{
    static SYSTEM_INFO info;

    if (!info.dwPageSize)
        GetSystemInfo(&info);
    return &info;
}

size_t mmio_page_size(void)
{
    return system_info()->dwPageSize;
}

size_t mmio_map_granularity(void)
{
    return system_info()->dwAllocationGranularity;
}

unsigned mmio_cpu_count(void)
{
    DWORD n = system_info()->dwNumberOfProcessors;

    return n > 0 ? (unsigned)n : 1;
}

uint64_t mmio_physical_memory(void)
{
    MEMORYSTATUSEX status;

    status.dwLength = sizeof status;
    return GlobalMemoryStatusEx(&status) ? status.ullTotalPhys : 0;
}

const char *mmio_temp_dir(void)
{
    static char *dir;
    wchar_t path[MAX_PATH + 1];
    DWORD n;

    if (dir)
        return dir;
    n = GetTempPathW(MAX_PATH + 1, path);
    if (n == 0 || n > MAX_PATH)
        return ".";
    if (n > 1 && path[n - 1] == L'\\' && path[n - 2] != L':')
        path[n - 1] = L'\0'; /* no trailing separator, as on POSIX */
    dir = to_utf8(path);
    return dir ? dir : ".";
}

/* ---- Files ------------------------------------------------------------ */

static enum mmio_kind kind_of(HANDLE h, const BY_HANDLE_FILE_INFORMATION *info)
{
    DWORD mode;

    switch (GetFileType(h)) {
    case FILE_TYPE_DISK:
        return info && (info->dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
               ? MMIO_KIND_DIRECTORY : MMIO_KIND_REGULAR;
    case FILE_TYPE_CHAR:
        return GetConsoleMode(h, &mode) ? MMIO_KIND_TERMINAL : MMIO_KIND_DEVICE;
    case FILE_TYPE_PIPE:
        return MMIO_KIND_PIPE;
    default:
        return MMIO_KIND_OTHER;
    }
}

/* The identity of the file behind H: FileIdInfo (Windows 8) where there
 * is one, else the volume serial and index of GetFileInformationByHandle.
 * Wine gives inherited handles an id but volume 0, taken as unknown. */
static void identify(mmio_file *f, const BY_HANDLE_FILE_INFORMATION *info)
{
    FILE_ID_INFO id;

    if (GetFileInformationByHandleEx(f->h, FileIdInfo, &id, sizeof id)) {
        f->volume = id.VolumeSerialNumber;
        memcpy(f->id, id.FileId.Identifier, sizeof f->id);
    } else if (info) {
        f->volume = info->dwVolumeSerialNumber;
        memcpy(f->id, &info->nFileIndexLow, sizeof info->nFileIndexLow);
        memcpy(f->id + 4, &info->nFileIndexHigh, sizeof info->nFileIndexHigh);
    }
}

/* Wraps an open handle; takes ownership of H unless IS_STD. */
static mmio_file *wrap_handle(HANDLE h, const char *path, int is_std,
                              mmio_error *err)
{
    BY_HANDLE_FILE_INFORMATION info;
    int disk = GetFileType(h) == FILE_TYPE_DISK;
    int known = disk && GetFileInformationByHandle(h, &info);
    mmio_file *f = calloc(1, sizeof *f);

    if (f)
        f->path = strdup(path);
    if (!f || !f->path) {
        free(f);
        if (!is_std)
            CloseHandle(h);
        mmio_fail(err, "open", path, ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    f->h = h;
    f->is_std = is_std;
    f->kind = kind_of(h, known ? &info : NULL);
    if (disk)
        identify(f, known ? &info : NULL);
    return f;
}

/* CreateFileW on a UTF-8 path, sharing with readers, writers and renames. */
static HANDLE open_wide(const wchar_t *wpath, DWORD access, DWORD disposition)
{
    return CreateFileW(wpath, access,
                       FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                       NULL, disposition,
                       FILE_ATTRIBUTE_NORMAL | FILE_FLAG_BACKUP_SEMANTICS, NULL);
}

mmio_file *mmio_open(const char *path, int flags, mmio_error *err)
{
    DWORD access = GENERIC_READ | ((flags & MMIO_RDWR) ? GENERIC_WRITE : 0);
    wchar_t *wpath = to_wide(path);
    HANDLE h;
    mmio_file *f;

    if (!wpath) {
        mmio_fail(err, "open", path, ERROR_NO_UNICODE_TRANSLATION);
        return NULL;
    }
    h = open_wide(wpath, access, OPEN_EXISTING);
    free(wpath);
    if (h == INVALID_HANDLE_VALUE) {
        fail_last(err, "open", path);
        return NULL;
    }
    f = wrap_handle(h, path, 0, err);
    if (f && (flags & MMIO_REGULAR_ONLY) && f->kind != MMIO_KIND_REGULAR) {
        mmio_close(f, NULL);
        mmio_fail(err, "open", path, MMIO_ENOTREG);
        return NULL;
    }
    return f;
}

static mmio_file *wrap_std(DWORD which, const char *name, mmio_error *err)
{
    HANDLE h = GetStdHandle(which);

    if (h == NULL || h == INVALID_HANDLE_VALUE) {
        mmio_fail(err, "open", name, ERROR_INVALID_HANDLE);
        return NULL;
    }
    return wrap_handle(h, name, 1, err);
}

mmio_file *mmio_stdin(mmio_error *err)
{
    return wrap_std(STD_INPUT_HANDLE, "-", err);
}

mmio_file *mmio_stdout(mmio_error *err)
{
    return wrap_std(STD_OUTPUT_HANDLE, "standard output", err);
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
    LARGE_INTEGER n;

    *size = 0;
    if (f->kind != MMIO_KIND_REGULAR)
        return 0;
    if (!GetFileSizeEx(f->h, &n))
        return fail_last(err, "stat", f->path);
    *size = (uint64_t)n.QuadPart;
    return 0;
}

uint64_t mmio_tell(mmio_file *f)
{
    LARGE_INTEGER zero = { 0 }, pos;

    if (f->kind != MMIO_KIND_REGULAR
        || !SetFilePointerEx(f->h, zero, &pos, FILE_CURRENT))
        return 0;
    return (uint64_t)pos.QuadPart;
}

void mmio_seek(mmio_file *f, uint64_t offset)
{
    LARGE_INTEGER to;

    to.QuadPart = (LONGLONG)offset;
    if (f->kind == MMIO_KIND_REGULAR)
        SetFilePointerEx(f->h, to, NULL, FILE_BEGIN);
}

int mmio_same_file(const mmio_file *a, const mmio_file *b)
{
    static const unsigned char none[16];

    return a->kind == MMIO_KIND_REGULAR && b->kind == MMIO_KIND_REGULAR
           && memcmp(a->id, none, sizeof none) != 0
           && memcmp(a->id, b->id, sizeof a->id) == 0
           && (a->volume == b->volume || !a->volume || !b->volume);
}

int mmio_read(mmio_file *f, void *buf, size_t size, size_t *got,
              mmio_error *err)
{
    DWORD n = 0;

    *got = 0;
    if (f->kind == MMIO_KIND_DIRECTORY)
        return mmio_fail(err, "read", f->path, MMIO_EISDIR);
    if (size > 0x40000000)
        size = 0x40000000;
    if (!ReadFile(f->h, buf, (DWORD)size, &n, NULL)) {
        DWORD e = GetLastError();
        /* A pipe whose writer has gone has simply ended. */
        if (e == ERROR_BROKEN_PIPE || e == ERROR_HANDLE_EOF)
            return 0;
        return mmio_fail(err, "read", f->path, (int)e);
    }
    *got = n;
    return 0;
}

int mmio_write(mmio_file *f, const void *buf, size_t size, mmio_error *err)
{
    const char *p = buf;

    while (size > 0) {
        DWORD n = 0, part = size > 0x40000000 ? 0x40000000 : (DWORD)size;
        if (!WriteFile(f->h, p, part, &n, NULL)) {
            DWORD e = GetLastError();
            /* The reader has gone: Windows and Wine say it three ways. */
            if (e == ERROR_NO_DATA || e == ERROR_BROKEN_PIPE
                || e == ERROR_PIPE_NOT_CONNECTED)
                return mmio_fail(err, "write", f->path, MMIO_EPIPE);
            return mmio_fail(err, "write", f->path, (int)e);
        }
        /* Success with nothing written (a full PIPE_NOWAIT pipe) would
         * loop forever. */
        if (n == 0)
            return mmio_fail(err, "write", f->path, ERROR_WRITE_FAULT);
        p += n;
        size -= n;
    }
    return 0;
}

int mmio_write_at(mmio_file *f, const void *buf, size_t size, uint64_t offset,
                  mmio_error *err)
{
    const char *p = buf;

    while (size > 0) {
        DWORD n = 0, part = size > 0x40000000 ? 0x40000000 : (DWORD)size;
        OVERLAPPED at = { 0 };
        at.Offset = (DWORD)offset;
        at.OffsetHigh = (DWORD)(offset >> 32);
        if (!WriteFile(f->h, p, part, &n, &at))
            return mmio_fail(err, "write", f->path, (int)GetLastError());
        if (n == 0)
            return mmio_fail(err, "write", f->path, ERROR_WRITE_FAULT);
        p += n;
        offset += n;
        size -= n;
    }
    return 0;
}

size_t mmio_output_prepare(mmio_file *f)
{
    (void)f; /* a pipe's size is fixed when it is made */
    return 0;
}

int mmio_copy(mmio_file *in, mmio_file *out, mmio_error *err)
{
    return mmio_copy_plain(in, out, err);
}

/* ---- Atomic output files ---------------------------------------------- */

/* Temporaries that Ctrl-C, Ctrl-Break or closing the console must remove.
 * The handler runs on a thread of its own, so a lock guards the list. */
#define MAX_TEMPS 256 /* mmsort keeps up to about 16 runs a generation open */
static wchar_t *temp_registry[MAX_TEMPS];
static CRITICAL_SECTION temp_lock;
static INIT_ONCE temp_once = INIT_ONCE_STATIC_INIT;

static BOOL WINAPI remove_temps(DWORD event)
{
    (void)event;
    EnterCriticalSection(&temp_lock);
    for (int i = 0; i < MAX_TEMPS; i++)
        if (temp_registry[i])
            DeleteFileW(temp_registry[i]); /* deleted once its handle closes */
    LeaveCriticalSection(&temp_lock);
    return FALSE; /* and let the default handler end the process */
}

static BOOL CALLBACK setup_temps(INIT_ONCE *once, void *param, void **context)
{
    (void)once, (void)param, (void)context;
    InitializeCriticalSection(&temp_lock);
    SetConsoleCtrlHandler(remove_temps, TRUE);
    return TRUE;
}

/* Adds PATH to the registry (or removes it, with ADD 0). */
static int register_temp(wchar_t *path, int add)
{
    int found = -1;

    InitOnceExecuteOnce(&temp_once, setup_temps, NULL, NULL);
    EnterCriticalSection(&temp_lock);
    for (int i = 0; i < MAX_TEMPS && found < 0; i++) {
        if (temp_registry[i] == (add ? NULL : path)) {
            temp_registry[i] = add ? path : NULL;
            found = i;
        }
    }
    LeaveCriticalSection(&temp_lock);
    return found;
}

/* Creates "DIR\.mmtools.XXXXXX" beside DEST; returns its handle. */
static HANDLE create_temp_beside(const wchar_t *dest, wchar_t **temp)
{
    const wchar_t *slash = wcsrchr(dest, L'\\'), *other = wcsrchr(dest, L'/');
    size_t dirlen = 0;
    static LONG counter;

    if (other > slash)
        slash = other;
    if (slash)
        dirlen = (size_t)(slash - dest) + 1;
    *temp = malloc((dirlen + 32) * sizeof **temp);
    if (!*temp) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return INVALID_HANDLE_VALUE;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned tag = (unsigned)(GetTickCount() ^ (GetCurrentProcessId() << 12)
                                  ^ (unsigned)InterlockedIncrement(&counter) * 2654435761u);
        HANDLE h;
        memcpy(*temp, dest, dirlen * sizeof **temp);
        swprintf(*temp + dirlen, 32, L".mmtools.%06x", tag & 0xffffff);
        h = CreateFileW(*temp, GENERIC_READ | GENERIC_WRITE,
                        FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                        NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
        if (h != INVALID_HANDLE_VALUE || GetLastError() != ERROR_FILE_EXISTS)
            return h;
    }
    return INVALID_HANDLE_VALUE;
}

static mmio_file *create_temp(const char *path, wchar_t *wdest,
                              mmio_error *err)
{
    wchar_t *temp = NULL;
    HANDLE h = create_temp_beside(wdest, &temp);
    mmio_file *f;

    if (h == INVALID_HANDLE_VALUE || register_temp(temp, 1) < 0) {
        mmio_fail(err, "create", path, h == INVALID_HANDLE_VALUE
                  ? (int)GetLastError() : ERROR_TOO_MANY_OPEN_FILES);
        if (h != INVALID_HANDLE_VALUE) {
            CloseHandle(h);
            DeleteFileW(temp);
        }
        free(temp);
        free(wdest);
        return NULL;
    }
    f = wrap_handle(h, path, 0, err);
    if (!f) {
        DeleteFileW(temp);
        register_temp(temp, 0);
        free(temp);
        free(wdest);
        return NULL;
    }
    f->temp_path = temp;
    f->dest_path = wdest;
    return f;
}

mmio_file *mmio_create(const char *path, int flags, mmio_error *err)
{
    wchar_t *wpath = to_wide(path);
    HANDLE h;

    if (!wpath) {
        mmio_fail(err, "create", path, ERROR_NO_UNICODE_TRANSLATION);
        return NULL;
    }
    /* A destination that is a device or a pipe (NUL, CON) is written as
     * it is, never replaced. */
    h = open_wide(wpath, GENERIC_WRITE, OPEN_EXISTING);
    if (h != INVALID_HANDLE_VALUE && GetFileType(h) != FILE_TYPE_DISK) {
        free(wpath);
        return wrap_handle(h, path, 0, err);
    }
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    if (flags & MMIO_ATOMIC)
        return create_temp(path, wpath, err);
    h = CreateFileW(wpath, GENERIC_READ | GENERIC_WRITE,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    free(wpath);
    if (h == INVALID_HANDLE_VALUE) {
        fail_last(err, "create", path);
        return NULL;
    }
    return wrap_handle(h, path, 0, err);
}

int mmio_resize(mmio_file *f, uint64_t size, mmio_error *err)
{
    LARGE_INTEGER zero = { 0 }, here, to;
    DWORD e = ERROR_SUCCESS;

    if (size > INT64_MAX)
        return mmio_fail(err, "resize", f->path, ERROR_FILE_TOO_LARGE);
    to.QuadPart = (LONGLONG)size;
    if (!SetFilePointerEx(f->h, zero, &here, FILE_CURRENT))
        return fail_last(err, "resize", f->path);
    /* SetEndOfFile allocates the clusters: a full disk fails here. */
    if (!SetFilePointerEx(f->h, to, NULL, FILE_BEGIN) || !SetEndOfFile(f->h))
        e = GetLastError();
    SetFilePointerEx(f->h, here, NULL, FILE_BEGIN); /* failed or not */
    if (e == ERROR_USER_MAPPED_FILE) /* shrinking under a mapped view */
        return mmio_fail(err, "resize", f->path, MMIO_EMAPPED);
    return e == ERROR_SUCCESS ? 0 : mmio_fail(err, "resize", f->path, (int)e);
}

int mmio_commit(mmio_file *f, mmio_error *err)
{
    if (f->kind == MMIO_KIND_REGULAR && !FlushFileBuffers(f->h))
        return fail_last(err, "write", f->path);
    if (!f->temp_path)
        return 0;
    /* The temporary was opened with FILE_SHARE_DELETE, so it can be renamed
     * while open; the caller has unmapped its views. */
    if (!MoveFileExW(f->temp_path, f->dest_path,
                     MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        return fail_last(err, "rename", f->path);
    register_temp(f->temp_path, 0);
    free(f->temp_path);
    f->temp_path = NULL;
    return 0;
}

int mmio_close(mmio_file *f, mmio_error *err)
{
    int status = 0;

    if (!f)
        return 0;
    if (!f->is_std && !CloseHandle(f->h))
        status = fail_last(err, "close", NULL);
    if (f->shared)
        CloseHandle(f->shared);
    if (f->temp_path) {
        DeleteFileW(f->temp_path);
        register_temp(f->temp_path, 0);
        free(f->temp_path);
    }
    free(f->dest_path);
    free(f->path);
    free(f);
    return status;
}

/* ---- Views the fault guard knows ------------------------------------- */

/* A fault is the file's only at an address inside a view that mmio_map
 * made, so mmio_map and mmio_unmap keep the views in a list. */
struct span {
    uintptr_t start, end;
    int writable;
};

static SRWLOCK span_lock = SRWLOCK_INIT;
static volatile DWORD span_writer; /* the thread changing the list, if any */
static struct span *spans;
static size_t span_count, span_room;

static int add_span(void *base, size_t size, int writable)
{
    int ok = 1;

    AcquireSRWLockExclusive(&span_lock);
    span_writer = GetCurrentThreadId();
    if (span_count == span_room) {
        size_t room = span_room ? 2 * span_room : 16;
        struct span *grown = realloc(spans, room * sizeof *grown);
        ok = grown != NULL;
        if (ok) {
            spans = grown;
            span_room = room;
        }
    }
    if (ok)
        spans[span_count++] = (struct span){ (uintptr_t)base,
                                             (uintptr_t)base + size, writable };
    span_writer = 0;
    ReleaseSRWLockExclusive(&span_lock);
    return ok ? 0 : -1;
}

static void remove_span(void *base)
{
    AcquireSRWLockExclusive(&span_lock);
    span_writer = GetCurrentThreadId();
    for (size_t i = 0; i < span_count; i++)
        if (spans[i].start == (uintptr_t)base) {
            spans[i] = spans[--span_count];
            break;
        }
    span_writer = 0;
    ReleaseSRWLockExclusive(&span_lock);
}

/* Whether ADDRESS lies in a view, and a WRITE in a writable one. */
static int in_span(uintptr_t address, int write)
{
    int found = 0;

    if (span_writer == GetCurrentThreadId()) /* it faulted holding the lock */
        return 0;
    AcquireSRWLockShared(&span_lock);
    for (size_t i = 0; i < span_count && !found; i++)
        found = address >= spans[i].start && address < spans[i].end
                && (!write || spans[i].writable);
    ReleaseSRWLockShared(&span_lock);
    return found;
}

/* ---- Mappings ------------------------------------------------------------ */

/* Checks that [OFFSET, OFFSET+*LENGTH) lies in regular file F, resolving
 * MMIO_TO_END: a pipe or a device is MMIO_ENOTREG, a range holding a byte
 * past the end MMIO_EPASTEND. */
static int map_extent(mmio_file *f, uint64_t offset, uint64_t *length,
                      mmio_error *err)
{
    uint64_t size;

    if (f->kind != MMIO_KIND_REGULAR)
        return mmio_fail(err, "map", f->path, MMIO_ENOTREG);
    if (mmio_size(f, &size, err) < 0)
        return -1;
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
    static const DWORD protect[] = { PAGE_READONLY, PAGE_READWRITE, PAGE_WRITECOPY };
    static const DWORD access[] = { FILE_MAP_READ, FILE_MAP_WRITE, FILE_MAP_COPY };
    uint64_t aligned, delta;
    HANDLE mapping;
    void *base;
    DWORD e;

    memset(v, 0, sizeof *v);
    v->file = f;
    v->mode = mode;
    if (map_extent(f, offset, &length, err) < 0)
        return -1;
    if (length == 0) { /* CreateFileMapping refuses an empty file */
        v->data = empty;
        return 0;
    }
    aligned = offset - offset % mmio_map_granularity();
    delta = offset - aligned;
    if (length > (uint64_t)SIZE_MAX - delta)
        return mmio_fail(err, "map", f->path, MMIO_ETOOBIG);
    /* NULL, not INVALID_HANDLE_VALUE, is CreateFileMapping's failure. */
    mapping = CreateFileMappingW(f->h, NULL, protect[mode], 0, 0, NULL);
    if (!mapping)
        return fail_last(err, "map", f->path);
    base = MapViewOfFile(mapping, access[mode], HIGH(aligned), LOW(aligned),
                         (SIZE_T)(length + delta));
    e = base ? ERROR_SUCCESS : GetLastError(); /* before CloseHandle */
    /* The view keeps the mapping object alive. */
    CloseHandle(mapping);
    if (!base)
        return mmio_fail(err, "map", f->path,
                         e == ERROR_NOT_ENOUGH_MEMORY ? MMIO_ETOOBIG : (int)e);
    if (add_span(base, (size_t)(length + delta), mode != MMIO_MAP_READ) < 0) {
        UnmapViewOfFile(base);
        return mmio_fail(err, "map", f->path, ERROR_NOT_ENOUGH_MEMORY);
    }
    v->base = base;
    v->base_size = (size_t)(length + delta);
    v->base_offset = aligned;
    v->data = (unsigned char *)base + delta;
    v->size = (size_t)length;
    return 0;
}

int mmio_unmap(mmio_view *v, mmio_error *err)
{
    const char *path = v->file ? v->file->path : NULL;
    int status = 0;

    if (v->base && v->owned_memory) {
        mmio_os_release(v->base, v->base_size);
    } else if (v->base) {
        remove_span(v->base);
        if (!UnmapViewOfFile(v->base))
            status = fail_last(err, "unmap", path);
    }
    memset(v, 0, sizeof *v);
    return status;
}

int mmio_flush(mmio_view *v, size_t offset, size_t length, int how,
               mmio_error *err)
{
    const char *path = v->file ? v->file->path : NULL;

    if (v->owned_memory || !v->base)
        return 0;
    if (offset > v->size || length > v->size - offset)
        return mmio_fail(err, "flush", path, ERROR_INVALID_PARAMETER);
    if (length > 0 && !FlushViewOfFile(v->data + offset, length))
        return fail_last(err, "flush", path);
    if (how == MMIO_SYNC && v->mode == MMIO_MAP_SHARED
        && !FlushFileBuffers(v->file->h))
        return fail_last(err, "flush", path);
    return 0;
}

void mmio_advise(mmio_view *v, enum mmio_hint hint)
{
    /* Windows has no madvise; PrefetchVirtualMemory (Windows 8) would be
     * the one for MMIO_WILLNEED, and is not worth a version check. */
    (void)v, (void)hint;
}

void mmio_advise_range(mmio_view *v, size_t offset, size_t length,
                       enum mmio_hint hint)
{
    (void)v, (void)offset, (void)length, (void)hint;
}

/* ---- Fault guard --------------------------------------------------------- */

/* A vectored handler cannot longjmp itself (mingw has no __try/__except):
 * it sends the faulting thread to guard_landing, which does.  Each thread
 * finds its innermost guard through a TLS slot: _Thread_local is emulated
 * by mingw and may allocate, which a fault handler must not. */
struct guard_frame {
    void *target[5]; /* __builtin_setjmp's buffer */
    struct guard_frame *outer;
};

static DWORD guard_slot = TLS_OUT_OF_INDEXES;

static void guard_landing(void)
{
    struct guard_frame *frame = TlsGetValue(guard_slot);

    __builtin_longjmp(frame->target, 1);
}

/* Whether R is a page of a view that cannot be read in: an in-page error
 * (Windows) or, where the file was truncated behind the system's back
 * (Wine, from Linux), an access violation, either inside a view. */
static int is_shrunk_page(const EXCEPTION_RECORD *r)
{
    if (r->ExceptionCode != EXCEPTION_IN_PAGE_ERROR
        && r->ExceptionCode != EXCEPTION_ACCESS_VIOLATION)
        return 0;
    /* [0] is 0 for a read, 1 for a write, 8 for an execution. */
    if (r->NumberParameters < 2 || r->ExceptionInformation[0] > 1)
        return 0;
    return in_span(r->ExceptionInformation[1], r->ExceptionInformation[0] == 1);
}

static LONG CALLBACK on_exception(EXCEPTION_POINTERS *info)
{
    DWORD saved = GetLastError(); /* TlsGetValue clears it */
    int ours = TlsGetValue(guard_slot) != NULL
               && is_shrunk_page(info->ExceptionRecord);

    SetLastError(saved);
    if (!ours)
        return EXCEPTION_CONTINUE_SEARCH;
#ifdef _WIN64
    info->ContextRecord->Rip = (DWORD64)(uintptr_t)guard_landing;
    info->ContextRecord->Rsp = (info->ContextRecord->Rsp & ~(DWORD64)15) - 8;
#else
    info->ContextRecord->Eip = (DWORD)(uintptr_t)guard_landing;
    info->ContextRecord->Esp = (info->ContextRecord->Esp & ~(DWORD)15) - 4;
#endif
    return EXCEPTION_CONTINUE_EXECUTION;
}

static BOOL CALLBACK setup_guard(INIT_ONCE *once, void *param, void **context)
{
    (void)once, (void)param, (void)context;
    guard_slot = TlsAlloc();
    return guard_slot != TLS_OUT_OF_INDEXES
           && AddVectoredExceptionHandler(1, on_exception) != NULL;
}

int mmio_guard(int (*fn)(void *ctx), void *ctx, mmio_error *err)
{
    static INIT_ONCE guard_once = INIT_ONCE_STATIC_INIT;
    struct guard_frame frame;
    int result;

    /* Once, and before any thread runs under a guard. */
    if (!InitOnceExecuteOnce(&guard_once, setup_guard, NULL, NULL))
        return fn(ctx); /* no handler: as unguarded as before */
    frame.outer = TlsGetValue(guard_slot);
    if (__builtin_setjmp(frame.target)) {
        TlsSetValue(guard_slot, frame.outer);
        return mmio_fail(err, "read", NULL, MMIO_ESHRUNK);
    }
    TlsSetValue(guard_slot, &frame);
    result = fn(ctx);
    TlsSetValue(guard_slot, frame.outer);
    return result;
}

/* ---- Reserved address space --------------------------------------------- */

void *mmio_os_reserve(size_t size)
{
    return VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_NOACCESS);
}

int mmio_os_commit(void *start, size_t size)
{
    return VirtualAlloc(start, size, MEM_COMMIT, PAGE_READWRITE) ? 0 : -1;
}

void mmio_os_release(void *base, size_t size)
{
    (void)size; /* MEM_RELEASE frees the whole reservation */
    VirtualFree(base, 0, MEM_RELEASE);
}

/* ---- Threads ---------------------------------------------------------- */

struct mmio_thread {
    HANDLE h;
    void (*fn)(void *);
    void *arg;
};

static DWORD WINAPI thread_main(void *arg)
{
    mmio_thread *t = arg;

    t->fn(t->arg);
    return 0;
}

mmio_thread *mmio_thread_start(void (*fn)(void *arg), void *arg,
                               mmio_error *err)
{
    mmio_thread *t = malloc(sizeof *t);

    if (!t) {
        mmio_fail(err, "thread", NULL, ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    t->fn = fn;
    t->arg = arg;
    t->h = CreateThread(NULL, 0, thread_main, t, 0, NULL);
    if (!t->h) {
        fail_last(err, "thread", NULL);
        free(t);
        return NULL;
    }
    return t;
}

void mmio_thread_join(mmio_thread *t)
{
    WaitForSingleObject(t->h, INFINITE);
    CloseHandle(t->h);
    free(t);
}

struct mmio_sequence {
    SRWLOCK lock;
    CONDITION_VARIABLE moved;
    uint64_t value;
};

mmio_sequence *mmio_sequence_new(mmio_error *err)
{
    mmio_sequence *s = calloc(1, sizeof *s);

    if (!s) {
        mmio_fail(err, "thread", NULL, ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    InitializeSRWLock(&s->lock);
    InitializeConditionVariable(&s->moved);
    return s;
}

void mmio_sequence_free(mmio_sequence *s)
{
    free(s); /* SRW locks and condition variables need no cleanup */
}

void mmio_sequence_advance(mmio_sequence *s)
{
    AcquireSRWLockExclusive(&s->lock);
    s->value++;
    ReleaseSRWLockExclusive(&s->lock);
    WakeAllConditionVariable(&s->moved);
}

void mmio_sequence_wait(mmio_sequence *s, uint64_t value)
{
    AcquireSRWLockExclusive(&s->lock);
    while (s->value < value)
        SleepConditionVariableSRW(&s->moved, &s->lock, INFINITE, 0);
    ReleaseSRWLockExclusive(&s->lock);
}

/* ---- Processes ------------------------------------------------------------ */

int mmio_share(mmio_file *f, char *name, size_t size, mmio_error *err)
{
    HANDLE self = GetCurrentProcess();

    if (f->is_std)
        return mmio_fail(err, "share", f->path, ERROR_INVALID_HANDLE);
    /* An inheritable twin of the handle, closed with F: the processes
     * started from now on inherit it. */
    if (!f->shared && !DuplicateHandle(self, f->h, self, &f->shared, 0, TRUE,
                                       DUPLICATE_SAME_ACCESS)) {
        f->shared = NULL;
        return fail_last(err, "share", f->path);
    }
    snprintf(name, size, "%llu", (unsigned long long)(uintptr_t)f->shared);
    return 0;
}

mmio_file *mmio_open_shared(const char *name, const char *path,
                            mmio_error *err)
{
    char *end;
    unsigned long long value = strtoull(name, &end, 10);
    HANDLE h = (HANDLE)(uintptr_t)value;

    if (*name == '\0' || *end != '\0' || GetFileType(h) != FILE_TYPE_DISK) {
        mmio_fail(err, "open", path, ERROR_INVALID_HANDLE);
        return NULL;
    }
    SetHandleInformation(h, HANDLE_FLAG_INHERIT, 0); /* not passed on */
    return wrap_handle(h, path, 0, err);
}

/* Appends ARG to the command line OUT (when not NULL) so that the C
 * runtime's and CommandLineToArgvW's parsing give it back; returns how
 * many characters it takes. */
static size_t quote_argument(const wchar_t *arg, wchar_t *out)
{
    size_t n = 0;

#define PUT(c) do { if (out) out[n] = (c); n++; } while (0)
    if (arg[0] && !wcspbrk(arg, L" \t\n\v\"")) {
        for (; *arg; arg++)
            PUT(*arg);
        return n;
    }
    PUT(L'"');
    for (;; arg++) {
        size_t slashes = 0;
        while (*arg == L'\\')
            arg++, slashes++;
        /* Backslashes are doubled only before a quote, ours included. */
        if (*arg == 0 || *arg == L'"')
            slashes = 2 * slashes + (*arg == L'"');
        while (slashes--)
            PUT(L'\\');
        if (*arg == 0)
            break;
        PUT(*arg);
    }
    PUT(L'"');
#undef PUT
    return n;
}

/* ARGV as one command line, or NULL with the last error set. */
static wchar_t *command_line(char *const argv[])
{
    wchar_t *line = NULL;

    for (int pass = 0; pass < 2; pass++) { /* measure, then write */
        size_t at = 0;
        for (int i = 0; argv[i]; i++) {
            wchar_t *w = to_wide(argv[i]);
            if (!w) {
                free(line);
                SetLastError(ERROR_NO_UNICODE_TRANSLATION);
                return NULL;
            }
            if (i > 0 && line)
                line[at] = L' ';
            at += i > 0;
            at += quote_argument(w, line ? line + at : NULL);
            free(w);
        }
        if (line) {
            line[at] = 0;
            break;
        }
        if (!(line = malloc((at + 1) * sizeof *line))) {
            SetLastError(ERROR_NOT_ENOUGH_MEMORY);
            break;
        }
    }
    return line;
}

/* The path of this process's executable, or NULL with the last error set. */
static wchar_t *self_executable(void)
{
    for (DWORD size = MAX_PATH; size <= 32768; size *= 2) {
        wchar_t *path = malloc(size * sizeof *path);
        DWORD n = path ? GetModuleFileNameW(NULL, path, size) : 0;
        if (n > 0 && n < size)
            return path;
        free(path);
        if (!path || n == 0)
            return NULL;
    }
    SetLastError(ERROR_FILENAME_EXCED_RANGE);
    return NULL;
}

struct mmio_process {
    HANDLE h;
};

/* The variable that gives a child an inherited handle on the process
 * that started it. */
#define PARENT_VARIABLE "MMIO_PARENT"

/* Puts an inheritable handle on this process in PARENT_VARIABLE, for the
 * children; once. */
static BOOL CALLBACK set_parent_variable(INIT_ONCE *once, void *param,
                                         void **context)
{
    HANDLE self = GetCurrentProcess(), handle;
    wchar_t value[32];

    (void)once, (void)param, (void)context;
    if (!DuplicateHandle(self, self, self, &handle, SYNCHRONIZE, TRUE, 0))
        return FALSE;
    swprintf(value, 32, L"%llu", (unsigned long long)(uintptr_t)handle);
    return SetEnvironmentVariableW(L"" PARENT_VARIABLE, value);
}

int mmio_parent_alive(void)
{
    static HANDLE parent;
    const char *value;

    if (!parent) {
        if (!(value = getenv(PARENT_VARIABLE)))
            return 1;
        parent = (HANDLE)(uintptr_t)strtoull(value, NULL, 10);
    }
    return WaitForSingleObject(parent, 0) != WAIT_OBJECT_0;
}

mmio_process *mmio_spawn_self(char *const argv[], mmio_error *err)
{
    static INIT_ONCE parent_set = INIT_ONCE_STATIC_INIT;
    STARTUPINFOW si = { .cb = sizeof si, .dwFlags = STARTF_USESTDHANDLES };
    PROCESS_INFORMATION pi;
    wchar_t *exe = NULL, *line = NULL;
    mmio_process *p = NULL;

    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
    si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    /* Without the variable the children would work on when this process
     * has gone. */
    if (InitOnceExecuteOnce(&parent_set, set_parent_variable, NULL, NULL)
        && (exe = self_executable()) && (line = command_line(argv))) {
        if (!(p = malloc(sizeof *p)))
            SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        else if (!CreateProcessW(exe, line, NULL, NULL, TRUE, 0, NULL, NULL,
                                 &si, &pi)) {
            free(p);
            p = NULL;
        }
    }
    if (!p)
        fail_last(err, "spawn", argv[0]);
    free(exe);
    free(line);
    if (p) {
        CloseHandle(pi.hThread);
        p->h = pi.hProcess;
    }
    return p;
}

int mmio_wait(mmio_process *p, mmio_exit *how, mmio_error *err)
{
    DWORD code = 0;
    int status = 0;

    if (WaitForSingleObject(p->h, INFINITE) != WAIT_OBJECT_0
        || !GetExitCodeProcess(p->h, &code))
        status = fail_last(err, "wait", NULL);
    CloseHandle(p->h);
    free(p);
    how->status = (int)code;
    how->signal = 0;
    return status;
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

/* The index in P of one process that has ended among those past the
 * first MAXIMUM_WAIT_OBJECTS, or COUNT. */
static unsigned ended_past_first(mmio_process **p, unsigned count)
{
    unsigned seen = 0;

    for (unsigned i = 0; i < count; i++)
        if (p[i] && seen++ >= MAXIMUM_WAIT_OBJECTS
            && WaitForSingleObject(p[i]->h, 0) == WAIT_OBJECT_0)
            return i;
    return count;
}

int mmio_wait_any(mmio_process **p, unsigned count, unsigned *which,
                  mmio_exit *how, mmio_error *err)
{
    HANDLE handles[MAXIMUM_WAIT_OBJECTS];
    unsigned index[MAXIMUM_WAIT_OBJECTS];

    for (;;) {
        DWORD n = 0, got;
        unsigned more = 0, late;
        for (unsigned i = 0; i < count; i++) {
            if (p[i] && n < MAXIMUM_WAIT_OBJECTS) {
                handles[n] = p[i]->h;
                index[n++] = i;
            } else if (p[i]) {
                more++;
            }
        }
        if (n == 0)
            return mmio_fail(err, "wait", NULL, ERROR_INVALID_PARAMETER);
        /* Windows waits for at most 64 at once: past that, look at the
         * others every 10 ms. */
        got = WaitForMultipleObjects(n, handles, FALSE, more ? 10 : INFINITE);
        if (got < WAIT_OBJECT_0 + n)
            return wait_entry(p, index[got - WAIT_OBJECT_0], which, how, err);
        if (got != WAIT_TIMEOUT)
            return fail_last(err, "wait", NULL);
        if ((late = ended_past_first(p, count)) < count)
            return wait_entry(p, late, which, how, err);
    }
}

void mmio_stop(mmio_process *p)
{
    TerminateProcess(p->h, 1);
}

const char *mmio_exit_string(const mmio_exit *how, char *buf, size_t size)
{
    if ((unsigned)how->status >= 0xC0000000u) /* an NTSTATUS: a crash */
        snprintf(buf, size, "ended by exception 0x%08X",
                 (unsigned)how->status);
    else
        snprintf(buf, size, "exited with status %d", how->status);
    return buf;
}

/* ---- Interruptions and time --------------------------------------------- */

/* The console event that came while interrupts were deferred, plus one;
 * 0 for none. */
static volatile LONG deferred_event;

static BOOL WINAPI note_interrupt(DWORD event)
{
    InterlockedCompareExchange(&deferred_event, (LONG)event + 1, 0);
    return TRUE; /* handled: the process goes on, for now */
}

void mmio_defer_interrupts(void)
{
    SetConsoleCtrlHandler(note_interrupt, TRUE);
}

void mmio_allow_interrupts(void)
{
    SetConsoleCtrlHandler(note_interrupt, FALSE);
    if (deferred_event)
        ExitProcess(STATUS_CONTROL_C_EXIT); /* as the default handler does */
}

uint64_t mmio_clock_ns(void)
{
    static LARGE_INTEGER frequency;
    LARGE_INTEGER now;

    if (!frequency.QuadPart)
        QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&now);
    return (uint64_t)(now.QuadPart / frequency.QuadPart) * 1000000000u
           + (uint64_t)(now.QuadPart % frequency.QuadPart) * 1000000000u
             / (uint64_t)frequency.QuadPart;
}
