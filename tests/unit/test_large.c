/* libmmio on a file over 4 GiB, given as the only argument: made sparse
 * by tests/large.bats as 5 GiB of zeros followed by "END".  Run by
 * `make check-large`, on 32-bit builds too, where the file is larger
 * than the address space. */
#include <config.h>

#include <stdint.h>
#include <string.h>

#include "mmio.h"
#include "unit.h"

#define FOUR_GIB UINT64_C(0x100000000)
#define BIG_SIZE (UINT64_C(5) * 1024 * 1024 * 1024 + 3)

static const char *big;

static void size_is_64_bit(void)
{
    mmio_error err;
    mmio_file *f = mmio_open(big, MMIO_RDONLY, &err);
    uint64_t size = 0;

    CHECK(f && mmio_size(f, &size, &err) == 0);
    CHECK(size == BIG_SIZE);
    mmio_close(f, NULL);
}

/* Maps LENGTH bytes at OFFSET and compares them with WANT. */
static int window_holds(mmio_file *f, uint64_t offset, const char *want,
                        size_t length)
{
    mmio_error err;
    mmio_view v;
    int same;

    if (mmio_map(f, offset, length, MMIO_MAP_READ, &v, &err) < 0)
        return 0;
    same = v.size == length && memcmp(v.data, want, length) == 0;
    mmio_unmap(&v, NULL);
    return same;
}

static void offsets_past_4_gib_split_and_rejoin(void)
{
    static const char zeros[8];
    mmio_error err;
    mmio_file *f = mmio_open(big, MMIO_RDONLY, &err);

    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(window_holds(f, FOUR_GIB, zeros, 8));
    CHECK(window_holds(f, FOUR_GIB + 1, zeros, 8)); /* high and low both 1 */
    CHECK(window_holds(f, FOUR_GIB + 65537, zeros, 8));
    CHECK(window_holds(f, BIG_SIZE - 3, "END", 3));
    CHECK(window_holds(f, BIG_SIZE - 4, "\0END", 4));
    mmio_close(f, NULL);
}

static void walk_in_windows_reaches_the_end(void)
{
    mmio_error err;
    mmio_walk w;
    const unsigned char *data;
    unsigned char tail[3] = { 0 };
    size_t size;
    uint64_t total = 0;
    mmio_file *f = mmio_open(big, MMIO_RDONLY, &err);

    CHECK(f && mmio_walk_start(&w, f, (size_t)64 << 20, &err) == 0);
    if (!f)
        return;
    while (mmio_walk_next(&w, &data, &size, &err) > 0) {
        total += size;
        if (size >= 3) /* a piece is gone after the next call: copy */
            memcpy(tail, data + size - 3, 3);
    }
    CHECK(total == BIG_SIZE);
    CHECK(memcmp(tail, "END", 3) == 0);
    mmio_walk_finish(&w);
    mmio_close(f, NULL);
}

int main(int argc, char **argv)
{
    mmio_init();
    if (argc != 2) {
        printf("Bail out! usage: test_large FILE\n");
        return 1;
    }
    big = argv[1];
    RUN(size_is_64_bit);
    RUN(offsets_past_4_gib_split_and_rejoin);
    RUN(walk_in_windows_reaches_the_end);
    return unit_done();
}
