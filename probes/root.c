/* root.c: the probing root and non-blocking, capped file reads below it. */
#include "probes_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root_override[512];
static bool root_overridden;

int probes_root_set(const char *dir)
{
    if (!dir || !*dir) {
        root_overridden = false;
        return MB_OK;
    }
    if (strlen(dir) >= sizeof root_override)
        return mb_err_set(MB_EINVAL, "sysfs root '%.64s...' is too long (max %zu bytes)", dir,
                          sizeof root_override - 1);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return mb_err_set(MB_ENOENT, "sysfs root '%s' is not a directory; pass an existing tree", dir);
    pr_copy(root_override, sizeof root_override, dir);
    root_overridden = true;
    return MB_OK;
}

const char *probes_root_get(void)
{
    if (root_overridden)
        return root_override;
    const char *env = getenv("MOBENCH_SYSFS_ROOT");
    return env && *env ? env : "/";
}

void pr_copy(char *dst, size_t len, const char *src)
{
    if (!len)
        return;
    size_t n = strlen(src);
    if (n >= len)
        n = len - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

char *pr_trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

void pr_warn(const pr_ctx_t *c, const char *fmt, ...)
{
    if (c->warnings)
        (*c->warnings)++;
    if (c->quiet)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    MB_WARN("probe: %s", msg);
}

void pr_why(char why[PROBES_WHY_LEN], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, PROBES_WHY_LEN, fmt, ap);
    va_end(ap);
}

void pr_null(const pr_ctx_t *c, char why[PROBES_WHY_LEN], const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, PROBES_WHY_LEN, fmt, ap);
    va_end(ap);
    pr_warn(c, "%s: %s", what, why);
}

void pr_path(const pr_ctx_t *c, char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/%s", c->root, rel);
}

static const char *errno_reason(int e)
{
    switch (e) {
    case ENOENT: return "missing";
    case EACCES:
    case EPERM: return "permission denied";
    case ENOTDIR: return "missing";
    case EAGAIN: return "would block";
    default: return strerror(e);
    }
}

int pr_read(const pr_ctx_t *c, const char *rel, size_t max, char **out, char why[PROBES_WHY_LEN])
{
    char path[1024];
    *out = NULL;
    pr_path(c, path, sizeof path, rel);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        pr_why(why, "%s: %s", rel, errno_reason(e));
        return mb_err_from_errno(e);
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        pr_why(why, "%s: not a regular file", rel);
        return MB_EFORMAT;
    }
    size_t cap = MB_MIN((size_t)4096, max), n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        pr_why(why, "%s: out of memory", rel);
        return MB_ENOMEM;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max)
                break;
            size_t ncap = MB_MIN(cap * 2, max);
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                close(fd);
                pr_why(why, "%s: out of memory", rel);
                return MB_ENOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            pr_why(why, "%s: %s", rel, errno_reason(e));
            return mb_err_from_errno(e);
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    if (strlen(buf) != n) { /* embedded NUL: binary garbage */
        free(buf);
        pr_why(why, "%s: binary content", rel);
        return MB_EFORMAT;
    }
    *out = buf;
    return MB_OK;
}

bool pr_exists(const pr_ctx_t *c, const char *rel)
{
    char path[1024];
    pr_path(c, path, sizeof path, rel);
    struct stat st;
    return stat(path, &st) == 0;
}

bool pr_is_dir(const pr_ctx_t *c, const char *rel)
{
    char path[1024];
    pr_path(c, path, sizeof path, rel);
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void pr_str_set(probes_str_t *s, const char *v)
{
    s->ok = true;
    s->why[0] = '\0';
    pr_copy(s->v, sizeof s->v, v);
}

void pr_int_set(probes_int_t *s, int64_t v)
{
    s->ok = true;
    s->why[0] = '\0';
    s->v = v;
}

void pr_num_set(probes_num_t *s, double v)
{
    s->ok = true;
    s->why[0] = '\0';
    s->v = v;
}

/* Reads the first line; returns malloc'd trimmed text or NULL with why. */
static char *first_line(const pr_ctx_t *c, const char *rel, char why[PROBES_WHY_LEN])
{
    char *buf;
    if (pr_read(c, rel, PR_SMALL_MAX, &buf, why) != MB_OK)
        return NULL;
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
    pr_trim(buf);
    char *p = buf;
    while (*p == ' ' || *p == '\t')
        p++;
    if (p != buf)
        memmove(buf, p, strlen(p) + 1);
    if (!*buf) {
        free(buf);
        pr_why(why, "%s: empty", rel);
        return NULL;
    }
    return buf;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return false;
    return true;
}

void pr_read_str(const pr_ctx_t *c, probes_str_t *out, const char *rel, const char *what, bool warn)
{
    out->ok = false;
    char *v = first_line(c, rel, out->why);
    if (v && !printable(v)) {
        pr_why(out->why, "%s: non-text content", rel);
        free(v);
        v = NULL;
    }
    if (!v) {
        if (warn)
            pr_warn(c, "%s: %s", what, out->why);
        return;
    }
    pr_str_set(out, v);
    free(v);
}

void pr_read_int(const pr_ctx_t *c, probes_int_t *out, const char *rel, const char *what, int64_t lo,
                 int64_t hi, bool warn)
{
    out->ok = false;
    char *v = first_line(c, rel, out->why);
    int64_t x;
    if (v && mb_parse_i64(v, &x) != MB_OK) {
        pr_why(out->why, "%s: not an integer: '%.32s'", rel, v);
        free(v);
        v = NULL;
    } else if (v && (x < lo || x > hi)) {
        pr_why(out->why, "%s: absurd value %lld (expected %lld..%lld)", rel, (long long)x,
               (long long)lo, (long long)hi);
        free(v);
        v = NULL;
    }
    if (!v) {
        if (warn)
            pr_warn(c, "%s: %s", what, out->why);
        return;
    }
    free(v);
    pr_int_set(out, x);
}

void pr_read_num(const pr_ctx_t *c, probes_num_t *out, const char *rel, const char *what, double scale,
                 double lo, double hi, const char *unit, bool warn)
{
    out->ok = false;
    char *v = first_line(c, rel, out->why);
    double x = 0;
    if (v && mb_parse_f64(v, &x) != MB_OK) {
        pr_why(out->why, "%s: not a number: '%.32s'", rel, v);
        free(v);
        v = NULL;
    } else if (v) {
        x *= scale;
        if (!(x >= lo && x <= hi)) {
            pr_why(out->why, "%s: absurd value %g %s (expected %g..%g)", rel, x, unit, lo, hi);
            free(v);
            v = NULL;
        }
    }
    if (!v) {
        if (warn)
            pr_warn(c, "%s: %s", what, out->why);
        return;
    }
    free(v);
    pr_num_set(out, x);
}

static int cmp_names(const void *a, const void *b)
{
    return strverscmp(*(char *const *)a, *(char *const *)b);
}

int pr_list(const pr_ctx_t *c, const char *rel_dir, const char *prefix, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    char path[1024];
    pr_path(c, path, sizeof path, rel_dir);
    DIR *d = opendir(path);
    if (!d)
        return mb_err_from_errno(errno);
    size_t cap = 0, cnt = 0;
    char **v = NULL;
    size_t plen = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, plen))
            continue;
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nv = realloc(v, ncap * sizeof *nv);
            if (!nv)
                break;
            v = nv;
            cap = ncap;
        }
        v[cnt] = mb_strdup(e->d_name);
        if (!v[cnt])
            break;
        cnt++;
    }
    closedir(d);
    if (cnt)
        qsort(v, cnt, sizeof *v, cmp_names);
    *names = v;
    *n = cnt;
    return MB_OK;
}

int pr_cpulist_parse(const char *s, bool *mask, int max)
{
    int count = 0;
    const char *p = s;
    while (*p == ' ')
        p++;
    if (!*p || *p == '\n')
        return 0;
    for (;;) {
        char *end;
        long a = strtol(p, &end, 10);
        if (end == p || a < 0)
            return -1;
        long b = a;
        p = end;
        if (*p == '-') {
            p++;
            b = strtol(p, &end, 10);
            if (end == p || b < a)
                return -1;
            p = end;
        }
        if (b - a > 100000)
            return -1;
        for (long i = a; i <= b; i++)
            if (i < max && !mask[i]) {
                mask[i] = true;
                count++;
            }
        if (*p == ',') {
            p++;
            continue;
        }
        while (*p == ' ' || *p == '\n')
            p++;
        if (*p)
            return -1;
        return count;
    }
}

void *pr_grow(void *p, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return p;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *np = realloc(p, ncap * sz);
    if (!np)
        return NULL;
    memset((char *)np + *cap * sz, 0, (ncap - *cap) * sz);
    *cap = ncap;
    return np;
}
