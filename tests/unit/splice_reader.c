/* A reader as pv is one: moves what comes into standard input (a pipe) on
 * to standard output through a pipe of its own with splice(2), so pages
 * the writer handed over are still referenced after they have left the
 * first pipe.  Slowly, so that the writer runs ahead.  For
 * tests/mmcat.bats; Linux only (elsewhere it copies with read/write). */
#include <config.h>

#define _GNU_SOURCE 1
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define STEP ((size_t)64 * 1024)

/* Moves what comes in to the middle pipe and on; 0 at the end. */
static int pass_on(int middle[2])
{
#ifdef HAVE_SPLICE
    for (;;) {
        ssize_t in = splice(0, NULL, middle[1], NULL, STEP, 0);
        struct timespec pause = { 0, 2000000 };

        if (in <= 0)
            return in < 0;
        nanosleep(&pause, NULL); /* the writer refills its buffers */
        while (in > 0) {
            ssize_t out = splice(middle[0], NULL, 1, NULL, (size_t)in, 0);
            if (out <= 0)
                return 1;
            in -= out;
        }
    }
#else
    static char buf[STEP];
    ssize_t n;

    (void)middle;
    while ((n = read(0, buf, sizeof buf)) > 0)
        if (write(1, buf, (size_t)n) != n)
            return 1;
    return n < 0;
#endif
}

int main(void)
{
    int middle[2];

    if (pipe(middle) < 0) {
        perror("pipe");
        return 1;
    }
    if (pass_on(middle)) {
        perror("splice");
        return 1;
    }
    return 0;
}
