/* A progress line on standard error for long runs (--progress): what a
 * tool is working on, how far it is and how fast it goes, rewritten in
 * place a few times a second and cleared at the end. */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
    bool on;            /* --progress was given */
    const char *what;   /* what the line is about: a file name, quoted when shown */
    uint64_t total;     /* units of work in all */
    uint64_t done;
    uint64_t started;   /* mmio_clock_ns() at the start */
    uint64_t next_draw; /* when the line is drawn again */
    int drawn;          /* the width of the line on the screen, 0 for none */
};

/* A TOTAL not known in advance: the line shows no percentage. */
#define PROGRESS_UNKNOWN UINT64_MAX

/* Starts a line about WHAT with TOTAL units of work; nothing is shown
 * unless ON. */
void progress_start(struct progress *p, bool on, const char *what,
                    uint64_t total);

/* Counts AMOUNT more units done, and redraws the line when it is time. */
void progress_add(struct progress *p, uint64_t amount);

/* Clears the line. */
void progress_end(struct progress *p);

#endif
