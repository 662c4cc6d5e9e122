/* Sizes and counts given on the command line, as GNU's xstrtoumax parses
 * them. */
#include <config.h>

#include <string.h>

#include "size.h"

static bool is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

enum size_status size_parse_count(const char *text, uint64_t *value,
                                  const char **end)
{
    const char *p = text;
    enum size_status status = SIZE_OK;
    uint64_t n = 0;

    while (is_space(*p))
        p++;
    if (*p == '-' || ((*p == '+') ? !(p[1] >= '0' && p[1] <= '9')
                                  : !(*p >= '0' && *p <= '9'))) {
        *end = text;
        return SIZE_INVALID;
    }
    if (*p == '+')
        p++;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (n > (UINT64_MAX - digit) / 10)
            status = SIZE_TOO_LARGE;
        else
            n = n * 10 + digit;
    }
    *value = status == SIZE_OK ? n : UINT64_MAX;
    *end = p;
    return status;
}

/* The power of 1024 that suffix C stands for, or -1: GNU takes k, m, g
 * and t in either case, P, E, Z and Y only in capitals. */
static int suffix_power(char c)
{
    static const char suffixes[] = "kKmMgGtTPEZY";
    const char *hit = c ? strchr(suffixes, c) : NULL;
    int i;

    if (!hit)
        return -1;
    i = (int)(hit - suffixes);
    return i < 8 ? i / 2 + 1 : i - 8 + 5;
}

static enum size_status scale(uint64_t *n, uint64_t factor)
{
    if (factor != 0 && *n > UINT64_MAX / factor)
        return SIZE_TOO_LARGE;
    *n *= factor;
    return SIZE_OK;
}

enum size_status size_parse(const char *text, uint64_t default_unit,
                            struct size_value *value)
{
    const char *suffix;
    uint64_t n;
    enum size_status status = size_parse_count(text, &n, &suffix);
    int power;

    if (status == SIZE_INVALID)
        return status;
    value->percent = false;
    value->amount = n;
    if (*suffix == '\0')
        return status == SIZE_OK ? scale(&value->amount, default_unit) : status;
    if (suffix[1] != '\0')
        return SIZE_BAD_SUFFIX;
    if (*suffix == 'b' || *suffix == '%') {
        value->percent = *suffix == '%';
        return status;
    }
    power = suffix_power(*suffix);
    if (power < 0)
        return SIZE_BAD_SUFFIX;
    if (status != SIZE_OK)
        return status;
    while (power-- > 0)
        if (scale(&n, 1024) != SIZE_OK)
            return SIZE_TOO_LARGE;
    value->amount = n;
    return SIZE_OK;
}
