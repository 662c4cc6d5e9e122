/* Unit tests of lib/output.c, the output stream every tool writes
 * standard output through (TAP). */
#include <config.h>

#include <string.h>

#include "mmio.h"
#include "ostream.h"
#include "unit.h"
#include "scratch.h"

#define DIR_PREFIX "test_ostream.tmp."
#define CAPACITY ((size_t)100000)
#define ROUNDS 50

/* Fills BUF with SIZE bytes of pattern SEED. */
static void fill(unsigned char *buf, size_t size, unsigned seed)
{
    for (size_t i = 0; i < size; i++)
        buf[i] = (unsigned char)(seed * 31 + i * 7);
}

/* Writes ROUNDS pairs of buffers into PATH, each pair taken first-first
 * and submitted second-first, a few sizes each, then checks the file holds
 * what was submitted, in the order submitted. */
static void buffers_are_written_in_the_order_submitted(void)
{
    static unsigned char want[ROUNDS * 2 * CAPACITY], got[sizeof want + 1];
    const char *path = path_of("ordered");
    mmio_error err;
    mmio_file *f = mmio_create(path, MMIO_RDWR, &err);
    struct ostream *o = f ? ostream_new(f, CAPACITY, 3, &err) : NULL;
    size_t total = 0;

    CHECK(o != NULL);
    if (!o)
        return;
    for (unsigned r = 0; r < ROUNDS; r++) {
        unsigned char *first = ostream_take(o, &err);
        unsigned char *second = ostream_take(o, &err);
        size_t a = CAPACITY - r * 997, b = r * 1301 % CAPACITY;

        CHECK(first && second && first != second);
        fill(first, a, 2 * r);
        fill(second, b, 2 * r + 1);
        memcpy(want + total, second, b);
        memcpy(want + total + b, first, a);
        total += a + b;
        CHECK(ostream_submit(o, second, b, &err) == 0);
        CHECK(ostream_submit(o, first, a, &err) == 0);
    }
    CHECK(ostream_free(o, &err) == 0);
    CHECK(mmio_close(f, NULL) == 0);
    CHECK(read_file(path, got, sizeof got) == total);
    CHECK(memcmp(want, got, total) == 0);
}

/* Drains, then checks the file already holds everything. */
static void drain_waits_for_everything_submitted(void)
{
    const char *path = path_of("drained");
    mmio_error err;
    mmio_file *f = mmio_create(path, MMIO_RDWR, &err);
    struct ostream *o = f ? ostream_new(f, CAPACITY, 2, &err) : NULL;
    uint64_t size = 0;

    CHECK(o != NULL);
    if (!o)
        return;
    for (int i = 0; i < 10; i++) {
        unsigned char *buf = ostream_take(o, &err);
        fill(buf, CAPACITY, (unsigned)i);
        CHECK(ostream_submit(o, buf, CAPACITY, &err) == 0);
    }
    CHECK(ostream_drain(o, &err) == 0);
    CHECK(mmio_size(f, &size, NULL) == 0 && size == 10 * CAPACITY);
    CHECK(ostream_free(o, &err) == 0);
    mmio_close(f, NULL);
}

/* A file open for reading only: the first write fails, and every later
 * call says so, with the write's error. */
static void a_failed_write_is_reported_by_every_later_call(void)
{
    const char *path = path_of("readonly");
    mmio_error err = { 0 }, first;
    mmio_file *f;
    struct ostream *o;
    unsigned char *buf;
    int failed = 0;

    write_file(path, "x", 1);
    f = mmio_open(path, MMIO_RDONLY, &err);
    o = f ? ostream_new(f, CAPACITY, 2, &err) : NULL;
    CHECK(o != NULL);
    if (!o)
        return;
    for (int i = 0; i < 5 && !failed; i++) {
        buf = ostream_take(o, &err);
        failed = !buf || ostream_submit(o, buf, 10, &err) < 0;
    }
    CHECK(ostream_drain(o, &first) < 0);
    CHECK(strcmp(first.op, "write") == 0 && first.code != 0);
    CHECK(ostream_take(o, &err) == NULL && err.code == first.code);
    CHECK(ostream_free(o, &err) < 0 && err.code == first.code);
    mmio_close(f, NULL);
}

/* Nothing to grow in a regular file. */
static void only_a_pipe_is_prepared(void)
{
    const char *path = path_of("regular");
    mmio_file *f = mmio_create(path, MMIO_RDWR, NULL);

    CHECK(f && mmio_output_prepare(f) == 0);
    mmio_close(f, NULL);
}

int main(void)
{
    mmio_init();
    make_scratch(DIR_PREFIX);
    RUN(buffers_are_written_in_the_order_submitted);
    RUN(drain_waits_for_everything_submitted);
    RUN(a_failed_write_is_reported_by_every_later_call);
    RUN(only_a_pipe_is_prepared);
    remove_scratch();
    return unit_done();
}
