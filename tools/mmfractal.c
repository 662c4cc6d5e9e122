/* mmfractal: render the Mandelbrot set as a 24-bit BMP file, the rows
 * shared out over threads or worker processes that all write into one
 * shared mapping of the output. */
#include <config.h>

#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmio.h"
#include "parallel.h"
#include "size.h"
#include "tool.h"

/* The pixels must be the same on every platform: double operations
 * rounded one at a time, never in x87 registers (configure adds
 * -msse2 -mfpmath=sse for 32-bit x86) nor fused (-ffp-contract=off). */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "mmfractal needs FLT_EVAL_METHOD 0: build with -msse2 -mfpmath=sse"
#endif

static const char usage_text[] =
    "Usage: %s [OPTION]... OUTPUT\n"
    "Render the Mandelbrot set into OUTPUT, a 24-bit BMP image.\n"
    "\n"
    "  -s, --size=WxH           W pixels wide and H high (default 500x500)\n"
    "  -r, --region=X0,X1,Y0,Y1 the points of the complex plane sampled at\n"
    "                           the edges of the image, real parts X0 to X1\n"
    "                           (left to right), imaginary Y0 to Y1 (bottom\n"
    "                           to top); default -1.5,0.496,-1.0,0.996\n"
    "  -i, --iterations=N       iterate at most N times (default 256)\n"
    "  -j, --threads=N          render with N threads (default: one per\n"
    "                           processor)\n"
    "      --processes=N        render with N worker processes\n"
    "      --help        display this help and exit\n"
    "      --version     output version information and exit\n"
    "\n"
    "The image is the same whatever the number and kind of workers;\n"
    "mmfractal(1) gives the colours.\n";

enum { OPT_PROCESSES = 256, OPT_WORKER, OPT_HELP, OPT_VERSION };

static const struct option long_options[] = {
    { "size", required_argument, NULL, 's' },
    { "region", required_argument, NULL, 'r' },
    { "iterations", required_argument, NULL, 'i' },
    { "threads", required_argument, NULL, 'j' },
    { "processes", required_argument, NULL, OPT_PROCESSES },
    { "worker", required_argument, NULL, OPT_WORKER }, /* internal */
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 }
};

#define MAX_WORKERS 1024u
#define HEADER_SIZE 54u
/* The header's first reserved field, 16 bits: while worker processes
 * draw, each adds one to it when its rows are done, so that one that
 * ended with status 0 without finishing (killed from outside under Wine,
 * or by TerminateProcess with 0) is seen.  It is 0 again in the file. */
#define FINISHED_AT 6u

/* What is drawn: the picture and the plane it shows. */
struct image {
    uint32_t width, height;
    uint32_t iterations;
    double x0, x1, y0, y1;   /* the region */
};

struct options {
    struct image image;
    unsigned workers;
    bool processes;          /* --processes, else threads */
    bool workers_given;
    const char *output;
    /* In a worker process (--worker): its share of the rows. */
    bool worker;
    unsigned worker_index;
    const char *share;       /* the output, as mmio_share named it */
};

/* ---- Pixels ------------------------------------------------------------- */

/* Blue, green, red for an escape count modulo 16 (mmfractal(1)). */
static const unsigned char palette[16][3] = {
    { 15, 30, 66 },   { 26, 7, 25 },    { 47, 1, 9 },     { 73, 4, 4 },
    { 100, 7, 0 },    { 138, 44, 12 },  { 177, 82, 24 },  { 209, 125, 57 },
    { 229, 181, 134 }, { 248, 236, 211 }, { 191, 233, 241 }, { 95, 201, 248 },
    { 0, 170, 255 },  { 0, 128, 204 },  { 0, 87, 153 },   { 3, 52, 106 },
};

/* How many iterations of z = z*z + c from z = 0 stay within |z| <= 2,
 * up to LIMIT: the operations and their order are mmfractal(1)'s. */
static uint32_t escape_count(double cx, double cy, uint32_t limit)
{
    double x = 0.0, y = 0.0;
    uint32_t n;

    for (n = 0; n < limit; n++) {
        double xx = x * x, yy = y * y;
        if (xx + yy > 4.0)
            break;
        y = 2.0 * x * y + cy;
        x = xx - yy + cx;
    }
    return n;
}

/* The distance between the sample points of neighbouring pixels. */
static double pixel_step(double from, double to, uint32_t pixels)
{
    return pixels > 1 ? (to - from) / (double)(pixels - 1) : 0.0;
}

static size_t row_size(uint32_t width)
{
    return ((size_t)width * 3 + 3) / 4 * 4;
}

/* Fills the pixels of ROW, row R of the file (0 is the bottom of the
 * picture); its padding stays as the new file has it, zeros. */
static void render_row(const struct image *im, unsigned char *row, uint32_t r)
{
    double step_x = pixel_step(im->x0, im->x1, im->width);
    double cy = im->y0 + (double)r * pixel_step(im->y0, im->y1, im->height);

    for (uint32_t c = 0; c < im->width; c++) {
        double cx = im->x0 + (double)c * step_x;
        uint32_t n = escape_count(cx, cy, im->iterations);
        static const unsigned char black[3];
        memcpy(row + 3 * (size_t)c,
               n == im->iterations ? black : palette[n % 16], 3);
    }
}

/* Fills rows INDEX, INDEX + COUNT, ... of the image at PIXELS: neighbouring
 * rows cost about the same, so every worker gets an even share.  A worker
 * process (ORPHANS_STOP) stops when the first process has gone: returns
 * 1 then, else 0. */
static int render_share(const struct image *im, unsigned char *pixels,
                        unsigned index, unsigned count, bool orphans_stop)
{
    size_t stride = row_size(im->width);

    for (uint32_t r = index; r < im->height; r += count) {
        if (orphans_stop && !mmio_parent_alive())
            return 1;
        render_row(im, pixels + r * stride, r);
    }
    return 0;
}

/* ---- The file ---------------------------------------------------------- */

static uint64_t file_size(const struct image *im)
{
    return HEADER_SIZE + (uint64_t)row_size(im->width) * im->height;
}

static void put_le(unsigned char *p, uint32_t value, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(value >> (8 * i));
}

/* BITMAPFILEHEADER and BITMAPINFOHEADER: uncompressed, 24 bits a pixel,
 * rows bottom-up (a positive height), 72 dots per inch. */
static void write_header(const struct image *im, unsigned char *h)
{
    memset(h, 0, HEADER_SIZE);
    h[0] = 'B';
    h[1] = 'M';
    put_le(h + 2, (uint32_t)file_size(im), 4);
    put_le(h + 10, HEADER_SIZE, 4);
    put_le(h + 14, 40, 4);
    put_le(h + 18, im->width, 4);
    put_le(h + 22, im->height, 4);
    put_le(h + 26, 1, 2);
    put_le(h + 28, 24, 2);
    put_le(h + 34, (uint32_t)(file_size(im) - HEADER_SIZE), 4);
    put_le(h + 38, 2835, 4);
    put_le(h + 42, 2835, 4);
}

/* ---- Threads ------------------------------------------------------------ */

/* Share INDEX of COUNT of the rows of IMAGE, into PIXELS. */
struct job {
    const struct image *image;
    unsigned char *pixels;
    unsigned index, count;
    bool orphans_stop;       /* in a worker process */
};

static int render_job(void *ctx)
{
    const struct job *job = ctx;

    return render_share(job->image, job->pixels, job->index, job->count,
                        job->orphans_stop);
}

static int render_part(void *ctx, unsigned index)
{
    struct job part = *(const struct job *)ctx;

    part.index = index;
    return render_job(&part);
}

/* Renders the image into the mapped file V on COUNT threads. */
static int render_threads(const struct image *im, mmio_view *v,
                          unsigned count, mmio_error *err)
{
    struct job job = { im, v->data + HEADER_SIZE, 0, count, false };

    return parallel_run(count, render_part, &job, err);
}

/* ---- Worker processes ------------------------------------------------ */

/* The internal option that tells worker INDEX what to draw: its place,
 * the shared output, and the image, the region as the bits of its
 * doubles so that it is the very same. */
static void worker_option(const struct options *opt, unsigned index,
                          char *buf, size_t size)
{
    const struct image *im = &opt->image;
    const double corners[4] = { im->x0, im->x1, im->y0, im->y1 };
    uint64_t bits[4];

    memcpy(bits, corners, sizeof bits);
    snprintf(buf, size,
             "--worker=%u,%u,%s,%" PRIu32 ",%" PRIu32 ",%" PRIu32
             ",%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64,
             index, opt->workers, opt->share, im->width, im->height,
             im->iterations, bits[0], bits[1], bits[2], bits[3]);
}

/* Ends the workers not waited for yet, after a failure. */
static void stop_workers(mmio_process **workers, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        if (workers[i])
            mmio_stop(workers[i]);
}

/* Waits for every worker started, in the order they end; reports the
 * first that fails and ends the rest then.  Returns STATUS, or -1 after
 * a report. */
static int wait_workers(mmio_process **workers, unsigned count, int status)
{
    unsigned left = 0, i;
    mmio_exit how;
    mmio_error err;
    char why[128];

    for (i = 0; i < count; i++)
        left += workers[i] != NULL;
    for (; left > 0; left--) {
        if (mmio_wait_any(workers, count, &i, &how, &err) < 0) {
            tool_warn("%s", mmio_format_error(&err, why, sizeof why));
            break;
        }
        if (status == 0 && (how.signal || how.status)) {
            tool_warn("worker %u: %s", i,
                      mmio_exit_string(&how, why, sizeof why));
            stop_workers(workers, count);
            status = -1;
        }
    }
    for (i = 0; left > 0 && i < count; i++) /* only when waiting failed */
        if (workers[i]) {
            mmio_stop(workers[i]);
            mmio_wait(workers[i], &how, NULL);
            status = -1;
        }
    return status;
}

/* Checks that every worker counted itself in the header as finished,
 * and sets the count back to 0.  Returns 0, or -1 after a report. */
static int check_finished(const struct options *opt, mmio_file *out)
{
    mmio_error err = { 0 };
    mmio_view v;
    unsigned finished;

    if (mmio_map(out, 0, HEADER_SIZE, MMIO_MAP_SHARED, &v, &err) < 0) {
        tool_warn_error(&err);
        return -1;
    }
    finished = __atomic_load_n((uint16_t *)(v.data + FINISHED_AT),
                               __ATOMIC_SEQ_CST);
    memset(v.data + FINISHED_AT, 0, 2);
    mmio_unmap(&v, NULL);
    if (finished == opt->workers)
        return 0;
    tool_warn("only %u of %u workers finished their rows", finished,
              opt->workers);
    return -1;
}

/* Starts the workers, each to render its share of OUT's rows through a
 * mapping of its own, and waits for them.  Returns 0, or -1 after a
 * report. */
static int render_processes(struct options *opt, mmio_file *out)
{
    mmio_process **workers = calloc(opt->workers, sizeof *workers);
    char share[32], worker[256], why[256];
    char *args[] = { (char *)tool_name(), worker, "--", (char *)opt->output,
                     NULL };
    mmio_error err;
    int status = 0;

    if (!workers || mmio_share(out, share, sizeof share, &err) < 0) {
        if (!workers)
            err = (mmio_error){ "start", NULL, ENOMEM };
        tool_warn_error(&err);
        free(workers);
        return -1;
    }
    opt->share = share;
    for (unsigned i = 0; i < opt->workers && status == 0; i++) {
        worker_option(opt, i, worker, sizeof worker);
        workers[i] = mmio_spawn_self(args, &err);
        if (!workers[i]) {
            tool_warn("worker %u: %s", i,
                      mmio_format_error(&err, why, sizeof why));
            stop_workers(workers, i);
            status = -1;
        }
    }
    status = wait_workers(workers, opt->workers, status);
    free(workers);
    return status == 0 ? check_finished(opt, out) : status;
}

/* What a worker process does: maps the shared output and renders its
 * share of the rows.  Returns the exit status. */
static int worker_main(const struct options *opt)
{
    const struct image *im = &opt->image;
    mmio_error err = { 0 };
    mmio_view v = { 0 };
    mmio_file *out = mmio_open_shared(opt->share, opt->output, &err);
    struct job job = { im, NULL, opt->worker_index, opt->workers, true };
    int status = -1;

    if (out
        && mmio_map(out, 0, file_size(im), MMIO_MAP_SHARED, &v, &err) == 0) {
        job.pixels = v.data + HEADER_SIZE;
        /* 1: the first process has gone, and no one waits for the rows. */
        status = mmio_guard(render_job, &job, &err);
        if (status == 0)
            __atomic_add_fetch((uint16_t *)(v.data + FINISHED_AT), 1,
                               __ATOMIC_SEQ_CST);
        if (status < 0 && !err.path)
            err.path = opt->output;
        mmio_unmap(&v, NULL);
    }
    if (status < 0)
        tool_warn_error(&err);
    mmio_close(out, NULL);
    return status != 0 ? EXIT_TROUBLE : EXIT_SUCCESS;
}

/* ---- The output ---------------------------------------------------------- */

/* Writes the header into OUT and, with threads, the pixels.  Returns 0,
 * or -1 after a report. */
static int render_mapped(const struct options *opt, mmio_file *out)
{
    const struct image *im = &opt->image;
    mmio_error err = { 0 };
    mmio_view v = { 0 };
    int status = -1;

    if (mmio_map(out, 0, file_size(im), MMIO_MAP_SHARED, &v, &err) == 0) {
        mmio_advise(&v, MMIO_WILLWRITE);
        write_header(im, v.data);
        status = opt->processes ? 0
                                : render_threads(im, &v, opt->workers, &err);
        if (status < 0 && !err.path)
            err.path = opt->output;
        /* Unmapped before the commit: Windows renames no mapped file. */
        mmio_unmap(&v, NULL);
    }
    if (status < 0)
        tool_warn_error(&err);
    return status;
}

/* Renders the image into OUTPUT, which appears whole or not at all.
 * Returns the exit status. */
static int render(struct options *opt)
{
    mmio_file *out = tool_create_output(opt->output, file_size(&opt->image));
    mmio_error err;
    int status = out ? render_mapped(opt, out) : -1;

    if (status == 0 && opt->processes)
        status = render_processes(opt, out);
    if (status == 0 && mmio_commit(out, &err) < 0) {
        tool_warn_error(&err);
        status = -1;
    }
    mmio_close(out, NULL); /* the temporary goes, if not committed */
    return status < 0 ? EXIT_TROUBLE : EXIT_SUCCESS;
}

/* ---- Options --------------------------------------------------------- */

/* A count from 1 to MAX in decimal, all of TEXT, or a usage error. */
static uint64_t xcount(const char *what, const char *text, uint64_t max)
{
    uint64_t n;
    const char *end;

    if (size_parse_count(text, &n, &end) != SIZE_OK || *end || n < 1 || n > max)
        tool_usage_error("invalid %s: %s (1 to %" PRIu64 ")", what,
                         tool_quote(text), max);
    return n;
}

/* W and H from "WxH": the file must stay within the 4 GiB a BMP header
 * can give as its size. */
static void parse_size(struct image *im, const char *text)
{
    const char *x = strchr(text, 'x');
    char width[32];
    uint64_t w = 0, h = 0;

    if (x && (size_t)(x - text) < sizeof width) {
        memcpy(width, text, (size_t)(x - text));
        width[x - text] = '\0';
        w = xcount("size", width, INT32_MAX);
        h = xcount("size", x + 1, INT32_MAX);
    }
    im->width = (uint32_t)w;
    im->height = (uint32_t)h;
    if (!x || file_size(im) > UINT32_MAX)
        tool_usage_error("invalid size: %s (WxH, at most 4 GiB of BMP)",
                         tool_quote(text));
}

/* X0,X1,Y0,Y1: finite numbers, X0 < X1 and Y0 < Y1, with a finite span. */
static void parse_region(struct image *im, const char *text)
{
    double v[4];
    const char *p = text;
    char *end;
    bool ok = true;

    for (int i = 0; i < 4 && ok; i++) {
        errno = 0;
        v[i] = strtod(p, &end);
        ok = end != p && *end == (i < 3 ? ',' : '\0') && isfinite(v[i]);
        p = end + 1;
    }
    ok = ok && v[0] < v[1] && v[2] < v[3] && isfinite(v[1] - v[0])
         && isfinite(v[3] - v[2]);
    if (!ok)
        tool_usage_error("invalid region: %s "
                         "(X0,X1,Y0,Y1 with X0 < X1, Y0 < Y1)",
                         tool_quote(text));
    im->x0 = v[0];
    im->x1 = v[1];
    im->y0 = v[2];
    im->y1 = v[3];
}

/* A double from the 16 hexadecimal digits of its bits at *P, then SEP. */
static bool parse_bits(const char **p, char sep, double *value)
{
    char *end;
    uint64_t bits = strtoull(*p, &end, 16);

    memcpy(value, &bits, sizeof bits);
    if (end != *p + 16 || *end != sep)
        return false;
    *p = end + 1;
    return true;
}

/* The internal --worker=INDEX,COUNT,SHARE,W,H,N,X0,X1,Y0,Y1 (worker_option). */
static void parse_worker(struct options *opt, const char *text)
{
    struct image *im = &opt->image;
    unsigned long v[6];
    const char *p = text;
    static char share[32];
    char *end;
    bool ok = true;

    for (int i = 0; i < 6 && ok; i++) {
        v[i] = strtoul(p, &end, 10);
        ok = end != p && *end == ',' && (i != 2 || end - p < 32);
        if (ok && i == 2)
            memcpy(share, p, (size_t)(end - p));
        p = end + 1;
    }
    ok = ok && v[1] >= 1 && v[0] < v[1] && v[3] && v[4] && v[5]
         && parse_bits(&p, ',', &im->x0) && parse_bits(&p, ',', &im->x1)
         && parse_bits(&p, ',', &im->y0) && parse_bits(&p, '\0', &im->y1);
    if (!ok)
        tool_usage_error("invalid worker: %s", tool_quote(text));
    opt->worker = true;
    opt->worker_index = (unsigned)v[0];
    opt->workers = (unsigned)v[1];
    opt->share = share;
    im->width = (uint32_t)v[3];
    im->height = (uint32_t)v[4];
    im->iterations = (uint32_t)v[5];
}

static void set_workers(struct options *opt, const char *text, bool processes)
{
    if (opt->workers_given && opt->processes != processes)
        tool_usage_error("only one of --threads and --processes may be given");
    opt->workers = (unsigned)xcount(processes ? "number of processes"
                                              : "number of threads",
                                    text, MAX_WORKERS);
    opt->workers_given = true;
    opt->processes = processes;
}

static void parse_options(struct options *opt, int argc, char **argv)
{
    int c;

    while ((c = tool_getopt(argc, argv, "i:j:r:s:", long_options)) != -1) {
        switch (c) {
        case 's': parse_size(&opt->image, optarg); break;
        case 'r': parse_region(&opt->image, optarg); break;
        case 'i':
            opt->image.iterations =
                (uint32_t)xcount("number of iterations", optarg, UINT32_MAX);
            break;
        case 'j': set_workers(opt, optarg, false); break;
        case OPT_PROCESSES: set_workers(opt, optarg, true); break;
        case OPT_WORKER: parse_worker(opt, optarg); break;
        case OPT_HELP: tool_help(usage_text);
        case OPT_VERSION: tool_version();
        }
    }
}

int main(int argc, char **argv)
{
    struct options opt = {
        .image = { 500, 500, 256, -1.5, 0.496, -1.0, 0.996 },
    };

    tool_start("mmfractal", &argc, &argv);
    parse_options(&opt, argc, argv);
    argc -= optind;
    argv += optind;
    if (argc == 0)
        tool_usage_error("missing file operand");
    if (argc > 1)
        tool_usage_error("extra operand %s", tool_quote(argv[1]));
    opt.output = argv[0];
    if (opt.worker)
        return tool_finish(worker_main(&opt));
    if (!opt.workers_given)
        opt.workers = mmio_cpu_count();
    return tool_finish(render(&opt));
}
