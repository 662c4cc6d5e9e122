/* Merging sorted texts as a stream: a heap of cursors, one per text. */
#include <config.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sortmerge.h"

/* Where a text is: its current line, and what follows it. */
struct cursor {
    struct line line;
    const unsigned char *next, *end;
    size_t index; /* the text's place among the others, for ties */
};

/* Steps C to its next line; false at the end of its text. */
static bool cursor_step(const struct sort_spec *spec, struct cursor *c)
{
    const unsigned char *p = c->next, *eol;
    size_t length;

    if (p >= c->end)
        return false;
    eol = memchr(p, spec->eol, (size_t)(c->end - p));
    length = (size_t)((eol ? eol : c->end) - p);
    c->line = (struct line){ p, length, sort_prefix(spec, p, length) };
    c->next = p + length + 1;
    return true;
}

/* Whether A's line goes before B's: by SPEC, then the earlier text. */
static bool cursor_before(const struct sort_spec *spec, const struct cursor *a,
                          const struct cursor *b)
{
    int diff = line_order(spec, &a->line, &b->line);

    return diff < 0 || (diff == 0 && a->index < b->index);
}

/* Moves HEAP[AT] down to its place in the heap of N cursors. */
static void sift_down(const struct sort_spec *spec, struct cursor **heap,
                      size_t n, size_t at)
{
    for (;;) {
        size_t child = 2 * at + 1;
        struct cursor *swap;
        if (child >= n)
            return;
        if (child + 1 < n && cursor_before(spec, heap[child + 1], heap[child]))
            child++;
        if (!cursor_before(spec, heap[child], heap[at]))
            return;
        swap = heap[at];
        heap[at] = heap[child];
        heap[child] = swap;
        at = child;
    }
}

void merge_texts(const struct sort_spec *spec, const struct text_range *texts,
                 size_t count, void (*emit)(void *ctx, const struct line *line),
                 void *ctx)
{
    struct cursor *cursors = malloc((count ? count : 1) * sizeof *cursors);
    struct cursor **heap = malloc((count ? count : 1) * sizeof *heap);
    struct line last;
    size_t n = 0;
    bool emitted = false;

    if (!cursors || !heap)
        abort();
    for (size_t i = 0; i < count; i++) {
        cursors[i] = (struct cursor){ { NULL, 0, 0 }, texts[i].start,
                                      texts[i].end, i };
        if (cursor_step(spec, &cursors[i]))
            heap[n++] = &cursors[i];
    }
    for (size_t i = n / 2; i-- > 0;)
        sift_down(spec, heap, n, i);
    while (n > 0) {
        struct cursor *top = heap[0];
        if (!spec->unique || !emitted || line_order(spec, &last, &top->line) != 0) {
            emit(ctx, &top->line);
            last = top->line;
            emitted = true;
        }
        if (!cursor_step(spec, top))
            heap[0] = heap[--n];
        sift_down(spec, heap, n, 0);
    }
    free(heap);
    free(cursors);
}
