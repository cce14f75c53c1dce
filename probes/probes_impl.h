/* probes_impl.h: private helpers shared by the probes/ sources (not part of
 * the public API; include probes.h from other modules). */
#ifndef PROBES_IMPL_H
#define PROBES_IMPL_H

#include "probes.h"

/* One probing pass: where to read, whether the root is this host, warnings. */
typedef struct {
    const char *root; /* no trailing slash; "" for "/" */
    bool host;        /* root is "/": CPUID, libcpuid, HWCAP, uname describe it */
    bool quiet;
    int *warnings;
} pr_ctx_t;

/* Sysfs/procfs attribute files are small; a cap keeps garbage from costing much. */
#define PR_SMALL_MAX (64u << 10)
#define PR_CPUINFO_MAX (4u << 20)

/* Warns on stderr (unless quiet) and counts. */
void pr_warn(const pr_ctx_t *c, const char *fmt, ...) MB_PRINTF(2, 3);
/* Sets a reason buffer and warns with the same text prefixed by what. */
void pr_null(const pr_ctx_t *c, char why[PROBES_WHY_LEN], const char *what, const char *fmt, ...)
    MB_PRINTF(4, 5);
#define PR_SET_NULL(c, val, what, ...) ((val)->ok = false, pr_null((c), (val)->why, (what), __VA_ARGS__))
/* Reason without a warning (e.g. "not applicable under a fixture root"). */
void pr_why(char why[PROBES_WHY_LEN], const char *fmt, ...) MB_PRINTF(2, 3);

/* root + "/" + rel (rel has no leading slash). */
void pr_path(const pr_ctx_t *c, char *buf, size_t len, const char *rel);
/* Reads a regular file under the root without ever blocking (O_NONBLOCK, no
 * FIFOs or devices). 0 or a negative MB_E* with a short reason in why. */
int pr_read(const pr_ctx_t *c, const char *rel, size_t max, char **out, char why[PROBES_WHY_LEN]);
bool pr_exists(const pr_ctx_t *c, const char *rel);
bool pr_is_dir(const pr_ctx_t *c, const char *rel);

/* First line of a file, trimmed, into a string value (null + warning on failure
 * when warn is set, else null silently). */
void pr_read_str(const pr_ctx_t *c, probes_str_t *out, const char *rel, const char *what, bool warn);
/* An integer file, scaled by 1/div, kept only within [lo, hi]. */
void pr_read_int(const pr_ctx_t *c, probes_int_t *out, const char *rel, const char *what, int64_t lo,
                 int64_t hi, bool warn);
void pr_read_num(const pr_ctx_t *c, probes_num_t *out, const char *rel, const char *what, double scale,
                 double lo, double hi, const char *unit, bool warn);

void pr_str_set(probes_str_t *s, const char *v);
void pr_int_set(probes_int_t *s, int64_t v);
void pr_num_set(probes_num_t *s, double v);

/* Names in dir that start with prefix, sorted in version order ("zone2" < "zone10").
 * A missing directory gives 0 names and MB_ENOENT. */
int pr_list(const pr_ctx_t *c, const char *rel_dir, const char *prefix, char ***names, size_t *n);
/* "0-3,6" -> sets flags in mask[0..max) and returns the count, or -1 on garbage. */
int pr_cpulist_parse(const char *s, bool *mask, int max);
/* Trims trailing whitespace/newlines in place; returns s. */
char *pr_trim(char *s);
void pr_copy(char *dst, size_t len, const char *src);

/* Host-only sources, filled in place (available=false + why when unusable). */
typedef struct {
    bool hypervisor;
    char hypervisor_vendor[16];
    bool hybrid;
} pr_x86_extra_t;
void pr_cpuid_source(probes_cpu_source_t *src, pr_x86_extra_t *extra);
/* Core type of each cpu from CPUID leaf 0x1A (runs briefly on each cpu);
 * types[i] = 0x20 Atom, 0x40 Core, 0 unknown. Returns false if not hybrid. */
bool pr_cpuid_hybrid_types(int ncpus, int *types);
void pr_libcpuid_source(probes_cpu_source_t *src);
void pr_hwcap_source(probes_cpu_source_t *src);

/* Every Android property from getprop (android.c), as "key=value" lines in
 * *out (free it). MB_ENOENT when there is no getprop; MB_EIO when it fails,
 * hangs (killed after a few seconds) or prints nothing usable; why says which. */
int pr_getprop_read(const pr_ctx_t *c, char **out, char why[PROBES_WHY_LEN]);

/* Microarchitecture from x86 vendor/family/model (NULL if not in the table). */
const char *pr_x86_uarch(const char *vendor, int family, int model);

/* Growable arrays: *n elements of size sz in *p. */
void *pr_grow(void *p, size_t *cap, size_t n, size_t sz);

#endif
