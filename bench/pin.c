/* pin.c: CPU sets (llama-bench's hex masks), cluster roles resolved from the
 * probe's clusters, and the pins of a run checked against the online CPUs.
 * The engine is handed a plain CPU list; what a cluster is stays here. */
#include "bench.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define WORDS (BENCH_MAX_CPUS / 64)

bool bench_cpuset_empty(const bench_cpuset_t *s)
{
    for (int i = 0; i < WORDS; i++)
        if (s->bits[i])
            return false;
    return true;
}

int bench_cpuset_count(const bench_cpuset_t *s)
{
    int n = 0;
    for (int i = 0; i < WORDS; i++)
        n += __builtin_popcountll(s->bits[i]);
    return n;
}

bool bench_cpuset_has(const bench_cpuset_t *s, int cpu)
{
    return cpu >= 0 && cpu < BENCH_MAX_CPUS && (s->bits[cpu / 64] >> (cpu % 64) & 1);
}

void bench_cpuset_add(bench_cpuset_t *s, int cpu)
{
    if (cpu >= 0 && cpu < BENCH_MAX_CPUS)
        s->bits[cpu / 64] |= (uint64_t)1 << (cpu % 64);
}

int bench_cpuset_parse_hex(const char *s, bench_cpuset_t *out)
{
    memset(out, 0, sizeof *out);
    if (!s)
        s = "";
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    size_t n = strlen(p);
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    if (!n)
        return mb_err_set(MB_EINVAL, "CPU mask '%s': expected hex digits such as 0x0f (bit i = CPU i)", s);
    /* Digit k from the right holds CPUs 4k .. 4k+3. */
    for (size_t k = 0; k < n; k++) {
        char ch = p[n - 1 - k];
        int d = isdigit((unsigned char)ch) ? ch - '0'
                : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10
                : (ch >= 'A' && ch <= 'F') ? ch - 'A' + 10 : -1;
        if (d < 0)
            return mb_err_set(MB_EINVAL, "CPU mask '%s': '%c' is not a hex digit; expected a hex mask "
                              "such as 0x0f (bit i = CPU i)", s, ch);
        if (!d)
            continue;
        if (k >= BENCH_MAX_CPUS / 4) {
            int cpu = (int)(4 * k + (size_t)__builtin_ctz((unsigned)d));
            return mb_err_set(MB_EINVAL, "CPU mask '%s' names CPU %d, beyond the %d CPUs mobench "
                              "handles (CPU_SETSIZE)", s, cpu, BENCH_MAX_CPUS);
        }
        out->bits[k / 16] |= (uint64_t)d << (4 * (k % 16));
    }
    return MB_OK;
}

void bench_cpuset_hex(const bench_cpuset_t *s, char *buf, size_t len)
{
    int top = WORDS - 1;
    while (top > 0 && !s->bits[top])
        top--;
    int k = snprintf(buf, len, "0x%llx", (unsigned long long)s->bits[top]);
    for (int i = top - 1; i >= 0 && k > 0 && (size_t)k < len; i--)
        k += snprintf(buf + k, len - (size_t)k, "%016llx", (unsigned long long)s->bits[i]);
}

void bench_cpuset_list(const bench_cpuset_t *s, char *buf, size_t len)
{
    size_t k = 0;
    if (len)
        buf[0] = '\0';
    for (int c = 0; c < BENCH_MAX_CPUS && k + 1 < len; c++) {
        if (!bench_cpuset_has(s, c))
            continue;
        int e = c;
        while (bench_cpuset_has(s, e + 1))
            e++;
        int n = e > c ? snprintf(buf + k, len - k, "%s%d-%d", k ? "," : "", c, e)
                      : snprintf(buf + k, len - k, "%s%d", k ? "," : "", c);
        if (n < 0 || (size_t)n >= len - k) {
            buf[k] = '\0';
            break;
        }
        k += (size_t)n;
        c = e;
    }
}

int bench_cpuset_cpus(const bench_cpuset_t *s, int *cpus, int max)
{
    int n = 0;
    for (int c = 0; c < BENCH_MAX_CPUS && n < max; c++)
        if (bench_cpuset_has(s, c))
            cpus[n++] = c;
    return n;
}

void bench_cpuset_online(const probes_device_t *dev, bench_cpuset_t *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < dev->cpu.n_cores_list; i++)
        bench_cpuset_add(out, dev->cpu.cores_list[i].cpu);
}

/* ---- cluster roles ---------------------------------------------------------------- */
static const char *const ROLES[] = {"little", "mid", "big", "all"};

int bench_cluster_check(const char *name)
{
    for (size_t i = 0; i < MB_ARRAY_LEN(ROLES); i++)
        if (!strcmp(name, ROLES[i]))
            return MB_OK;
    return mb_err_set(MB_EINVAL, "unknown cluster '%s': expected big, mid, little or all", name);
}

/* The role of cluster i of n (sorted from the smallest core up): little,
 * mid or big; NULL for a single cluster (no role to pick). */
static const char *role_of(const probes_device_t *dev, size_t i)
{
    const probes_cluster_t *cl = &dev->cpu.clusters[i];
    size_t n = dev->cpu.n_clusters;
    if (!strcmp(cl->role, "efficiency"))
        return "little";
    if (!strcmp(cl->role, "performance"))
        return "big";
    if (n < 2)
        return NULL;
    return i == 0 ? "little" : i == n - 1 ? "big" : "mid";
}

/* "little (CPUs 0-3, Cortex-A55), big (CPUs 4-7, Cortex-A78)" */
static void clusters_text(const probes_device_t *dev, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < dev->cpu.n_clusters && k + 1 < len; i++) {
        const probes_cluster_t *cl = &dev->cpu.clusters[i];
        const char *r = role_of(dev, i);
        int n = snprintf(buf + k, len - k, "%s%s (CPU%s %s%s%s)", i ? ", " : "",
                         r ? r : "uniform", cl->ncpus == 1 ? "" : "s", cl->cpus,
                         cl->core_name.ok ? ", " : "", cl->core_name.ok ? cl->core_name.v : "");
        if (n < 0 || (size_t)n >= len - k)
            break;
        k += (size_t)n;
    }
    if (!buf[0])
        snprintf(buf, len, "none known");
}

int bench_cluster_cpus(const probes_device_t *dev, const char *role, bench_cpuset_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = bench_cluster_check(role);
    if (rc)
        return rc;
    if (!strcmp(role, "all")) {
        bench_cpuset_online(dev, out);
        if (bench_cpuset_empty(out))
            return mb_err_set(MB_ENOENT, "--cluster all: the probe found no online CPU");
        return MB_OK;
    }
    for (size_t i = 0; i < dev->cpu.n_cores_list; i++) {
        const probes_core_t *k = &dev->cpu.cores_list[i];
        if (k->cluster < 0 || (size_t)k->cluster >= dev->cpu.n_clusters)
            continue;
        const char *r = role_of(dev, (size_t)k->cluster);
        if (r && !strcmp(r, role))
            bench_cpuset_add(out, k->cpu);
    }
    if (!bench_cpuset_empty(out))
        return MB_OK;
    char have[512], roles[64] = "";
    clusters_text(dev, have, sizeof have);
    for (size_t i = 0; i < MB_ARRAY_LEN(ROLES); i++) {
        bool present = !strcmp(ROLES[i], "all");
        for (size_t c = 0; c < dev->cpu.n_clusters && !present; c++) {
            const char *r = role_of(dev, c);
            present = r && !strcmp(r, ROLES[i]);
        }
        if (present)
            snprintf(roles + strlen(roles), sizeof roles - strlen(roles), "%s%s", roles[0] ? ", " : "",
                     ROLES[i]);
    }
    return mb_err_set(MB_ENOENT, "this device has no %s cluster; its clusters: %s; use --cluster %s "
                      "(or -C HEX)", role, have, roles);
}

int bench_pins_resolve(bench_pin_t *pins, size_t n, const probes_device_t *dev, const char *file)
{
    bench_cpuset_t online;
    bench_cpuset_online(dev, &online);
    char on[512];
    bench_cpuset_list(&online, on, sizeof on);
    for (size_t i = 0; i < n; i++) {
        bench_pin_t *p = &pins[i];
        char hex[300], at[600];
        bench_cpuset_hex(&p->cpus, hex, sizeof hex);
        /* "FILE:LINE: clusters" in a sweep file, "--cluster big" on the command line */
        if (file && p->line)
            snprintf(at, sizeof at, "%s:%d: %s", file, p->line, p->cluster[0] ? "clusters" : "cpu_mask");
        else
            snprintf(at, sizeof at, "%s %s", p->cluster[0] ? "--cluster" : "-C",
                     p->cluster[0] ? p->cluster : hex);
        if (p->cluster[0]) {
            int rc = bench_cluster_cpus(dev, p->cluster, &p->cpus);
            if (rc) {
                char msg[1024];
                snprintf(msg, sizeof msg, "%s", mb_err_msg());
                return mb_err_set(rc, "%s: %s", at, msg);
            }
            continue;
        }
        if (bench_cpuset_empty(&p->cpus))
            continue; /* not pinned */
        if (bench_cpuset_empty(&online))
            return mb_err_set(MB_EINVAL, "%s: the probe found no online CPU to check CPU mask %s "
                              "against", at, hex);
        bench_cpuset_t in = p->cpus, out = p->cpus;
        for (int w = 0; w < WORDS; w++) {
            in.bits[w] &= online.bits[w];
            out.bits[w] &= ~online.bits[w];
        }
        char off[512];
        bench_cpuset_list(&out, off, sizeof off);
        if (bench_cpuset_empty(&in))
            return mb_err_set(MB_EINVAL, "%s: CPU mask %s names no online CPU (it names CPU%s %s); "
                              "the online CPUs are %s", at, hex,
                              bench_cpuset_count(&out) == 1 ? "" : "s", off, on);
        if (!bench_cpuset_empty(&out)) {
            char kept[300];
            bench_cpuset_hex(&in, kept, sizeof kept);
            MB_WARN("%s: CPU%s %s %s not online (online: %s); pinning to %s", at,
                    bench_cpuset_count(&out) == 1 ? "" : "s", off,
                    bench_cpuset_count(&out) == 1 ? "is" : "are", on, kept);
        }
        p->cpus = in;
    }
    return MB_OK;
}

void bench_cell_pin_label(const bench_cell_t *c, char *buf, size_t len)
{
    if (bench_cpuset_empty(&c->cpus)) {
        snprintf(buf, len, "-");
        return;
    }
    char hex[300];
    bench_cpuset_hex(&c->cpus, hex, sizeof hex);
    snprintf(buf, len, "%s%s", c->cluster[0] ? c->cluster : hex, c->cpu_strict ? " strict" : "");
}
