/* A small TAP producer for the C unit tests: each test is a function; a
 * failed CHECK prints where and marks the test "not ok". */
#ifndef UNIT_H
#define UNIT_H

#include <stdio.h>
#include <stdlib.h>

static int unit_failures;     /* failed CHECKs in the current test */
static int unit_failed_tests;
static int unit_run;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,    \
                   #cond);                                                 \
            unit_failures++;                                               \
        }                                                                  \
    } while (0)

static inline void unit_test(const char *name, void (*fn)(void))
{
    unit_failures = 0;
    fn();
    unit_run++;
    if (unit_failures) {
        unit_failed_tests++;
        printf("not ok %d - %s\n", unit_run, name);
    } else {
        printf("ok %d - %s\n", unit_run, name);
    }
    fflush(stdout);
}

static inline void unit_skip(const char *name, const char *why)
{
    unit_run++;
    printf("ok %d - %s # SKIP %s\n", unit_run, name, why);
}

static inline int unit_done(void)
{
    printf("1..%d\n", unit_run);
    return unit_failed_tests ? 1 : 0;
}

#define RUN(fn) unit_test(#fn, fn)

#endif
