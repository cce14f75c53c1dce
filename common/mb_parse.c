/* mb_parse.c: strict number, size and duration parsing for options and files. */
#include "mb.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *mb_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int mb_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return mb_err_set(MB_EINVAL, "expected an integer, got an empty string");
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return mb_err_set(MB_ERANGE, "integer '%s' out of range", s);
    if (*end || end == s)
        return mb_err_set(MB_EINVAL, "expected an integer, got '%s'", s);
    *out = v;
    return MB_OK;
}

int mb_parse_f64(const char *s, double *out)
{
    if (!s || !*s)
        return mb_err_set(MB_EINVAL, "expected a number, got an empty string");
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || end == s || !isfinite(v))
        return mb_err_set(MB_EINVAL, "expected a number, got '%s'", s);
    *out = v;
    return MB_OK;
}

/* Splits "1.5GiB" into 1.5 and "GiB". */
static int num_unit(const char *s, double *v, const char **unit)
{
    if (!s || !*s)
        return MB_EINVAL;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (end == s || errno || !isfinite(*v))
        return MB_EINVAL;
    while (isspace((unsigned char)*end))
        end++;
    *unit = end;
    return MB_OK;
}

int mb_parse_bytes(const char *s, uint64_t *out)
{
    double v;
    const char *u;
    if (num_unit(s, &v, &u) || v < 0)
        return mb_err_set(MB_EINVAL, "expected a size like 512M or 6G, got '%s'", s ? s : "");
    static const struct { const char *u; double m; } units[] = {
        {"", 1}, {"b", 1}, {"k", 1024.0}, {"kb", 1024.0}, {"kib", 1024.0},
        {"m", 1048576.0}, {"mb", 1048576.0}, {"mib", 1048576.0},
        {"g", 1073741824.0}, {"gb", 1073741824.0}, {"gib", 1073741824.0},
        {"t", 1099511627776.0}, {"tb", 1099511627776.0}, {"tib", 1099511627776.0},
    };
    for (size_t i = 0; i < MB_ARRAY_LEN(units); i++)
        if (!strcasecmp(u, units[i].u)) {
            double b = v * units[i].m;
            if (b > 1.8e19)
                return mb_err_set(MB_ERANGE, "size '%s' is too large", s);
            *out = (uint64_t)llround(b);
            return MB_OK;
        }
    return mb_err_set(MB_EINVAL, "unknown size unit in '%s' (use K, M, G or T)", s);
}

int mb_parse_duration(const char *s, double *out)
{
    double v;
    const char *u;
    if (num_unit(s, &v, &u) || v < 0)
        return mb_err_set(MB_EINVAL, "expected a duration like 30s, 10m or 2h, got '%s'", s ? s : "");
    static const struct { const char *u; double m; } units[] = {
        {"", 1}, {"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"m", 60}, {"min", 60}, {"h", 3600},
    };
    for (size_t i = 0; i < MB_ARRAY_LEN(units); i++)
        if (!strcasecmp(u, units[i].u)) {
            *out = v * units[i].m;
            return MB_OK;
        }
    return mb_err_set(MB_EINVAL, "unknown duration unit in '%s' (use ms, s, m or h)", s);
}

int mb_parse_fraction(const char *s, double *out)
{
    double v;
    const char *u;
    if (num_unit(s, &v, &u) || v < 0)
        return mb_err_set(MB_EINVAL, "expected a percentage like 2%% or a fraction like 0.02, got '%s'",
                          s ? s : "");
    if (!strcmp(u, "%"))
        v /= 100.0;
    else if (*u)
        return mb_err_set(MB_EINVAL, "expected a percentage like 2%% or a fraction like 0.02, got '%s'", s);
    *out = v;
    return MB_OK;
}

void mb_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int mb_split_csv(const char *s, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    char **v = calloc(cap, sizeof *v);
    if (!v)
        return mb_err_set(MB_ENOMEM, "out of memory");
    size_t k = 0;
    const char *p = s;
    for (;;) {
        size_t len = strcspn(p, ",");
        while (len && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        size_t tl = len;
        while (tl && isspace((unsigned char)p[tl - 1]))
            tl--;
        if (tl) {
            v[k] = malloc(tl + 1);
            if (!v[k]) {
                mb_strv_free(v, k);
                return mb_err_set(MB_ENOMEM, "out of memory");
            }
            memcpy(v[k], p, tl);
            v[k][tl] = '\0';
            k++;
        }
        if (!p[len])
            break;
        p += len + 1;
    }
    *out = v;
    *n = k;
    return MB_OK;
}

void mb_fmt_bytes(uint64_t bytes, char *buf, size_t len)
{
    double b = (double)bytes;
    if (b >= 1e9)
        snprintf(buf, len, "%.2f GB", b / 1e9);
    else if (b >= 1e6)
        snprintf(buf, len, "%.1f MB", b / 1e6);
    else if (b >= 1e3)
        snprintf(buf, len, "%.1f kB", b / 1e3);
    else
        snprintf(buf, len, "%llu B", (unsigned long long)bytes);
}
