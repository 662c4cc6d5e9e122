/* mmsort's text mode, in four files: mmsort.c (options, the sort in
 * memory, -c, -I, main), sortinput.c (the inputs and the lines found in
 * them), sortoutput.c (writing the sorted lines) and sortexternal.c (runs
 * and merges past the memory budget, and -m).  What they share. */
#ifndef SORTTEXT_H
#define SORTTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmio.h"
#include "progress.h"
#include "size.h"
#include "sortkey.h"
#include "sortlines.h"
#include "sortrecords.h"

struct options {
    struct sort_spec spec;
    int check;              /* 0, or 'c' or 'C' */
    bool merge;             /* -m */
    bool in_place;          /* -I */
    const char *output;     /* -o, or NULL for standard output */
    unsigned threads;       /* --parallel */
    struct size_value size; /* -S */
    bool size_given;
    const char **temp_dirs; /* -T, in order; or mmio_temp_dir() alone */
    size_t temp_dir_count;
    bool progress;          /* --progress */
    struct record_options records; /* --record-size and its key */
    int text_only;          /* the last option given that only text takes */
};

/* One operand, loaded whole: mapped when it is a regular file.  When
 * sorting, any other input is read into BUFFER, and one that does not fit
 * there is sorted piece by piece as it comes (MORE). */
struct input {
    const char *name;
    mmio_file *file;
    mmio_view view;
    unsigned char *buffer;  /* VIEW's bytes, when read here */
    size_t capacity;        /* BUFFER's size */
    bool more;              /* the stream goes on past what BUFFER holds */
};

/* Everything a sort works on: the inputs and the lines found in them. */
struct sort {
    struct options options;
    struct input *inputs;
    size_t input_count;
    struct line *lines;
    size_t line_count;
    bool by_key;         /* sort_lines finds the first keys: no prefixes */
    size_t max_lines;    /* more lines than this: sorted in runs (or 0) */
    struct progress progress; /* --progress */
    bool external;       /* there are more: no lines were found */
    bool bucketed;       /* the lines were found in buckets (sort_bucketed) */
    size_t bucket_start[FIRST_BUCKETS + 1];
};

#define OUT_SIZE ((size_t)256 * 1024)

/* Where the sorted lines go, buffered; NAME is what messages call it. */
struct output {
    mmio_file *file;
    const char *name;
    unsigned char *buf;
    size_t used;
    unsigned char eol;  /* for emit_line */
    struct progress *progress; /* counts the bytes written, or NULL */
    struct ostream *stream; /* writes BUF while the next is filled, or NULL */
};

/* mmsort.c: "mmsort: MESSAGE" (or "WHAT: PATH: REASON"), then exit 2, as
 * GNU sort's die(SORT_FAILURE, ...). */
void xdie(const char *format, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void xdie_error(const char *what, const mmio_error *err)
    __attribute__((noreturn));
/* The same message, without the exit. */
void warn_error(const char *what, const mmio_error *err);

/* mmsort.c: sorts S's lines, then drops duplicates for -u; for
 * parallel_run, in a guard. */
int sort_guarded(void *arg, unsigned index);

/* sortinput.c */
void load_input(struct input *in, const char *name);
/* -I: opens and maps NAME as S's one input, to be written, and finds its
 * lines; false after reporting why it cannot be (S->inputs is still
 * allocated), so that the other files are still sorted. */
bool load_in_place(struct sort *s, const char *name);
void fill_buffer(struct input *in, size_t held);
uint64_t input_bytes(const struct sort *s);
void release_inputs(struct sort *s);
void xdie_shrunk(struct sort *s) __attribute__((noreturn));
void find_lines(struct sort *s);
size_t lines_in_budget(const struct options *o);
void load_inputs(struct sort *s, char **names, size_t count);

/* sortoutput.c */
void output_flush(struct output *o);
void output_stream_start(struct output *o);
void output_stream_end(struct output *o);
void output_line(struct output *o, const struct line *line, unsigned char eol);
void write_mapped(struct sort *s, struct output *o);
void write_in_place(struct sort *s);
void open_output(const struct sort *s, struct output *o);
void close_output(const struct sort *s, struct output *o);
void write_output(struct sort *s);

/* sortexternal.c */
void sort_external(struct sort *s);
void merge_inputs(struct sort *s, char **names, size_t count);

#endif
