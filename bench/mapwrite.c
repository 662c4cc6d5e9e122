/* Fills a new file of SIZE_MIB MiB from a 256 KiB buffer: by write(), or
 * through shared mappings of 64 MiB windows of the file sized first by
 * ftruncate (map), with MADV_POPULATE_WRITE (map-populate), or with
 * posix_fallocate (map-fallocate); prints the seconds it took.  What
 * HACKING.md's "How output reaches a pipe" measured writing standard
 * output through a mapping by.  Linux; built by hand:
 *
 *   cc -O2 -o /tmp/mapwrite bench/mapwrite.c
 *   for m in write map map-populate map-fallocate; do
 *       rm -f /tmp/out; sync; /tmp/mapwrite $m 1024 /tmp/out; done */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CHUNK ((size_t)256 << 10)
#define WINDOW ((size_t)64 << 20)

static double seconds(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int by_write(int fd, const char *buf, size_t total)
{
    for (size_t done = 0; done < total; done += CHUNK)
        if (write(fd, buf, CHUNK) != (ssize_t)CHUNK)
            return -1;
    return 0;
}

static int by_mapping(int fd, const char *buf, size_t total, const char *how)
{
    if (ftruncate(fd, (off_t)total) < 0
        || (strcmp(how, "map-fallocate") == 0 && posix_fallocate(fd, 0, (off_t)total) != 0))
        return -1;
    for (size_t off = 0; off < total; off += WINDOW) {
        char *m = mmap(NULL, WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
        if (m == MAP_FAILED)
            return -1;
#ifdef MADV_POPULATE_WRITE
        if (strcmp(how, "map-populate") == 0)
            madvise(m, WINDOW, MADV_POPULATE_WRITE);
#endif
        for (size_t done = 0; done < WINDOW; done += CHUNK)
            memcpy(m + done, buf, CHUNK);
        munmap(m, WINDOW);
    }
    return 0;
}

int main(int argc, char **argv)
{
    static char buf[CHUNK];
    size_t total;
    double start;
    int fd, status;

    if (argc != 4) {
        fprintf(stderr, "usage: mapwrite write|map|map-populate|map-fallocate SIZE_MIB FILE\n");
        return 2;
    }
    total = (size_t)strtoul(argv[2], NULL, 10) << 20;
    total -= total % WINDOW;
    memset(buf, 'x', sizeof buf);
    fd = open(argv[3], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(argv[3]);
        return 1;
    }
    start = seconds();
    status = strcmp(argv[1], "write") == 0 ? by_write(fd, buf, total)
                                           : by_mapping(fd, buf, total, argv[1]);
    if (status < 0) {
        perror(argv[1]);
        return 1;
    }
    printf("%s %.3f s\n", argv[1], seconds() - start);
    return close(fd) != 0;
}
