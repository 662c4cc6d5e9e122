/* The progress line of --progress, for every tool. */
#include <config.h>

#include <stdio.h>

#include "mmio.h"
#include "progress.h"
#include "tool.h"

#define REDRAW_NS 250000000u /* four times a second */

void progress_start(struct progress *p, bool on, const char *what,
                    uint64_t total)
{
    p->on = on;
    p->what = what;
    p->total = total;
    p->done = 0;
    p->drawn = 0;
    p->started = on ? mmio_clock_ns() : 0;
    p->next_draw = p->started + REDRAW_NS;
}

/* Writes RATE bytes a second as "12.3 MiB/s" into BUF. */
static void format_rate(double rate, char *buf, size_t size)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int unit = 0;

    while (rate >= 1024 && unit < 4) {
        rate /= 1024;
        unit++;
    }
    snprintf(buf, size, "%.1f %s/s", rate, units[unit]);
}

static void progress_draw(struct progress *p, uint64_t now)
{
    double seconds = (double)(now - p->started) / 1e9;
    unsigned percent = p->total ? (unsigned)(p->done * 100 / p->total) : 100;
    char rate[32];
    int width;

    format_rate(seconds > 0 ? (double)p->done / seconds : 0, rate, sizeof rate);
    /* Spaces past the end wipe out what a longer line left. */
    if (p->total == PROGRESS_UNKNOWN)
        width = fprintf(stderr, "\r%s: %s: %s", tool_name(),
                        tool_quote(p->what), rate) - 1;
    else
        width = fprintf(stderr, "\r%s: %s: %3u%% %s", tool_name(),
                        tool_quote(p->what), percent, rate) - 1;
    if (width < p->drawn)
        fprintf(stderr, "%*s", p->drawn - width, "");
    if (width > p->drawn)
        p->drawn = width;
    fflush(stderr);
}

void progress_add(struct progress *p, uint64_t amount)
{
    uint64_t now;

    p->done += amount;
    if (!p->on)
        return;
    now = mmio_clock_ns();
    if (now >= p->next_draw) {
        progress_draw(p, now);
        p->next_draw = now + REDRAW_NS;
    }
}

void progress_end(struct progress *p)
{
    if (p->drawn)
        fprintf(stderr, "\r%*s\r", p->drawn, "");
    p->drawn = 0;
    p->on = false;
}
