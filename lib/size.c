/* Sizes with units, for every tool's options. */
#include <config.h>

#include <string.h>

#include "size.h"

/* The multiplier UNIT stands for, or 0 when it is no unit. */
static uint64_t unit_multiplier(const char *unit)
{
    static const char letters[] = "KMGTPE";
    const char *letter;
    uint64_t base, multiplier = 1;

    if (*unit == '\0')
        return 1;
    letter = strchr(letters, *unit);
    if (!letter)
        return 0;
    if (strcmp(unit + 1, "") == 0 || strcmp(unit + 1, "iB") == 0)
        base = 1024;
    else if (strcmp(unit + 1, "B") == 0)
        base = 1000;
    else
        return 0;
    for (const char *l = letters; l <= letter; l++)
        multiplier *= base;
    return multiplier;
}

int parse_size(const char *text, uint64_t *value)
{
    uint64_t number = 0, multiplier;
    const char *p = text;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (number > (UINT64_MAX - digit) / 10)
            return -1;
        number = number * 10 + digit;
    }
    multiplier = unit_multiplier(p);
    if (multiplier == 0 || (number && number > UINT64_MAX / multiplier))
        return -1;
    *value = number * multiplier;
    return 0;
}
