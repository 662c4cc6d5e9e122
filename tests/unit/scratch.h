/* A scratch directory for the C unit tests, and files in it. */
#ifndef SCRATCH_H
#define SCRATCH_H

#include <stdio.h>
#include <stdlib.h>

#ifdef _WIN32
#include <direct.h>
#include <process.h>
#define scratch_pid() _getpid()
#define make_dir(path) _mkdir(path)
#define remove_dir(path) _rmdir(path)
#else
#include <sys/stat.h>
#include <unistd.h>
#define scratch_pid() getpid()
#define make_dir(path) mkdir(path, 0700)
#define remove_dir(path) rmdir(path)
#endif

static char scratch[64];
static char scratch_used[64][128]; /* every path handed out, to clean up */
static int scratch_nused;

/* Makes the directory PREFIX.PID that the paths below are in. */
static inline void make_scratch(const char *prefix)
{
    snprintf(scratch, sizeof scratch, "%s%ld", prefix, (long)scratch_pid());
    make_dir(scratch);
}

/* A path in the scratch directory. */
static inline const char *path_of(const char *name)
{
    char *p = scratch_used[scratch_nused < 63 ? scratch_nused++ : 63];

    snprintf(p, sizeof scratch_used[0], "%s/%s", scratch, name);
    return p;
}

static inline void remove_scratch(void)
{
    for (int i = 0; i < scratch_nused; i++)
        remove(scratch_used[i]);
    if (remove_dir(scratch) != 0)
        printf("# could not remove %s\n", scratch);
}

static inline void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        printf("Bail out! cannot write %s\n", path);
        exit(1);
    }
}

/* Reads up to SIZE bytes of PATH into BUF; returns how many. */
static inline size_t read_file(const char *path, void *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f)
        return 0;
    n = fread(buf, 1, size, f);
    fclose(f);
    return n;
}

#endif
