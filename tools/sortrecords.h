/* mmsort's record mode (--record-size): fixed-size binary records sorted
 * by a key of bytes, integers or floats, in place through a writable
 * shared mapping, into an atomic -o FILE or to standard output. */
#ifndef SORTRECORDS_H
#define SORTRECORDS_H

#include <stdbool.h>
#include <stdint.h>

/* What --record-size, --key-offset, --key-size and --key-type say. */
struct record_options {
    uint64_t record_size;  /* 0: text mode */
    uint64_t key_offset;
    uint64_t key_size;
    bool key_offset_given, key_size_given;
    int key_type;          /* an index into the table of key types */
    const char *key_type_given; /* or NULL */
};

/* The options of record mode, as record_option takes them. */
enum record_option_index {
    RECORD_SIZE, RECORD_KEY_OFFSET, RECORD_KEY_SIZE, RECORD_KEY_TYPE
};

/* Parses the value ARG of option WHICH into R; a usage error (exit 2)
 * when it is not a valid one. */
void record_option(struct record_options *r, enum record_option_index which,
                   const char *arg);

/* A whole record-mode run: the options of both modes that apply. */
struct record_job {
    struct record_options rec;
    bool reverse;          /* -r */
    bool stable;           /* -s */
    bool unique;           /* -u */
    bool in_place;         /* -I */
    int check;             /* 0, 'c' or 'C' */
    const char *output;    /* -o, or NULL */
    unsigned threads;      /* --parallel */
};

/* Checks the combination of options (usage errors, exit 2), then sorts
 * or checks the COUNT files NAMES ("-" or none: standard input).
 * Returns the exit status: 0, 1 for disorder (-c, -C), 2 for trouble. */
int sort_records_main(const struct record_job *job, char **names, int count);

#endif
