/* device.c: what the device is. Reads everything below a root (fixture trees
 * in tests), records each CPU source's answer and every disagreement, and
 * turns anything unreadable or absurd into null + reason + warning. */
#include "probes_impl.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MAX_CPUS 1024
/* Plausible ranges: outside them a reading is a sensor or driver error. */
#define TEMP_MIN_C 0.0
#define TEMP_MAX_C 150.0
#define MHZ_MIN 1.0
#define MHZ_MAX 20000.0

/* ---- per-cpu scratch from /proc/cpuinfo ---------------------------------- */
typedef struct {
    bool seen;
    double mhz; /* NaN if absent */
    int implementer, part; /* -1 if absent */
    int phys_id, core_id;  /* -1 if absent */
} ci_cpu_t;

typedef struct {
    ci_cpu_t *cpu; /* MAX_CPUS */
    int n_processors;
    bool arm, x86;
    bool hypervisor_flag;
    char hardware[PROBES_STR_LEN];
    char model[PROBES_STR_LEN]; /* ARM boards: "Model" line (Raspberry Pi) */
    int cpu_cores; /* x86 "cpu cores" */
} ci_t;

static void add_dis(probes_device_t *dev, const char *field, const char *src, const char *value,
                    const char *ref, const char *ref_value)
{
    size_t cap = dev->cpu.n_disagreements; /* grow one at a time: lists are short */
    probes_disagreement_t *d = realloc(dev->cpu.disagreements, (cap + 1) * sizeof *d);
    if (!d)
        return;
    dev->cpu.disagreements = d;
    probes_disagreement_t *x = &d[dev->cpu.n_disagreements++];
    memset(x, 0, sizeof *x);
    pr_copy(x->field, sizeof x->field, field);
    pr_copy(x->source, sizeof x->source, src);
    pr_copy(x->value, sizeof x->value, value);
    pr_copy(x->reference, sizeof x->reference, ref);
    pr_copy(x->ref_value, sizeof x->ref_value, ref_value);
}

static const char *src_names[PROBES_SRC_COUNT] = {"cpuid", "libcpuid", "hwcap", "cpuinfo", "sysfs"};

/* ---- small parsing helpers ---------------------------------------------------- */

static char *skip_ws(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* "key : value" -> key and value trimmed; false for lines without a colon. */
static bool split_kv(char *line, char **key, char **val)
{
    char *colon = strchr(line, ':');
    if (!colon)
        return false;
    *colon = '\0';
    *key = pr_trim(skip_ws(line));
    *val = pr_trim(skip_ws(colon + 1));
    return true;
}

static bool parse_int_any(const char *s, int base, long *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, base);
    if (errno || end == s || *skip_ws(end))
        return false;
    *out = v;
    return true;
}

/* Word in [brackets]: "always [madvise] never" -> "madvise". */
static bool bracketed(const char *s, char *out, size_t len)
{
    const char *a = strchr(s, '['), *b = a ? strchr(a, ']') : NULL;
    if (!a || !b || b == a + 1)
        return false;
    size_t n = MB_MIN((size_t)(b - a - 1), len - 1);
    memcpy(out, a + 1, n);
    out[n] = '\0';
    return true;
}

static const char *arm_implementer_name(int impl)
{
    switch (impl) {
    case 0x41: return "ARM";
    case 0x42: return "Broadcom";
    case 0x48: return "HiSilicon";
    case 0x4e: return "NVIDIA";
    case 0x51: return "Qualcomm";
    case 0x53: return "Samsung";
    case 0x61: return "Apple";
    case 0x6d: return "Microsoft";
    case 0xc0: return "Ampere";
    default: return NULL;
    }
}

/* cpuinfo flag/Features word -> feature, or -1. */
static int feature_from_cpuinfo(const char *w, bool arm)
{
    static const struct { const char *name; probes_feature_t f; } armmap[] = {
        {"asimd", PROBES_FEAT_ASIMD}, {"asimdhp", PROBES_FEAT_ARM_FP16}, {"asimddp", PROBES_FEAT_DOTPROD},
        {"i8mm", PROBES_FEAT_I8MM},   {"bf16", PROBES_FEAT_ARM_BF16},    {"sve", PROBES_FEAT_SVE},
        {"sve2", PROBES_FEAT_SVE2},   {"sme", PROBES_FEAT_SME},
    };
    if (arm) {
        for (size_t i = 0; i < MB_ARRAY_LEN(armmap); i++)
            if (!strcmp(w, armmap[i].name))
                return armmap[i].f;
        return -1;
    }
    /* x86 /proc/cpuinfo uses the same names as probes_feature_name. */
    for (int i = 0; i <= PROBES_FEAT_AMX_BF16; i++)
        if (!strcmp(w, probes_feature_name((probes_feature_t)i)))
            return i;
    return -1;
}

/* ---- /proc/cpuinfo --------------------------------------------------------------- */

static void probe_cpuinfo(const pr_ctx_t *c, probes_device_t *dev, ci_t *ci)
{
    probes_cpu_source_t *s = &dev->cpu.sources[PROBES_SRC_CPUINFO];
    for (int i = 0; i < MAX_CPUS; i++) {
        ci->cpu[i].mhz = NAN;
        ci->cpu[i].implementer = ci->cpu[i].part = -1;
        ci->cpu[i].phys_id = ci->cpu[i].core_id = -1;
    }
    char *text;
    if (pr_read(c, "proc/cpuinfo", PR_CPUINFO_MAX, &text, s->why) != MB_OK) {
        s->available = false;
        pr_warn(c, "cpuinfo: %s", s->why);
        return;
    }
    s->available = true;
    int cur = -1, bad_lines = 0;
    char *save = NULL;
    char vendor[PROBES_STR_LEN] = "", brand[PROBES_STR_LEN] = "";
    long family = -1, model = -1, stepping = -1, arch = -1;
    bool have_flags = false;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *k, *v;
        if (!*skip_ws(line))
            continue;
        if (!split_kv(line, &k, &v)) {
            bad_lines++;
            continue;
        }
        long x;
        if (!strcmp(k, "processor")) {
            if (parse_int_any(v, 10, &x) && x >= 0 && x < MAX_CPUS) {
                cur = (int)x;
                if (!ci->cpu[cur].seen)
                    ci->n_processors++;
                ci->cpu[cur].seen = true;
            } else {
                cur = -1;
                bad_lines++;
            }
            continue;
        }
        if (!strcmp(k, "vendor_id")) {
            ci->x86 = true;
            if (!vendor[0])
                pr_copy(vendor, sizeof vendor, v);
        } else if (!strcmp(k, "model name")) {
            if (!brand[0])
                pr_copy(brand, sizeof brand, v);
        } else if (!strcmp(k, "cpu family")) {
            if (family < 0 && !parse_int_any(v, 10, &family))
                bad_lines++;
        } else if (!strcmp(k, "model")) {
            if (model < 0 && !parse_int_any(v, 10, &model))
                bad_lines++;
        } else if (!strcmp(k, "stepping")) {
            if (stepping < 0 && !parse_int_any(v, 10, &stepping))
                bad_lines++;
        } else if (!strcmp(k, "CPU architecture")) {
            ci->arm = true;
            if (arch < 0 && !parse_int_any(v, 10, &arch))
                bad_lines++;
        } else if (!strcmp(k, "cpu MHz") && cur >= 0) {
            double mhz;
            if (mb_parse_f64(v, &mhz) == MB_OK)
                ci->cpu[cur].mhz = mhz;
            else
                bad_lines++;
        } else if (!strcmp(k, "CPU implementer") && cur >= 0) {
            ci->arm = true;
            if (parse_int_any(v, 0, &x))
                ci->cpu[cur].implementer = (int)x;
            else
                bad_lines++;
        } else if (!strcmp(k, "CPU part") && cur >= 0) {
            if (parse_int_any(v, 0, &x))
                ci->cpu[cur].part = (int)x;
            else
                bad_lines++;
        } else if (!strcmp(k, "physical id") && cur >= 0) {
            if (parse_int_any(v, 10, &x))
                ci->cpu[cur].phys_id = (int)x;
        } else if (!strcmp(k, "core id") && cur >= 0) {
            if (parse_int_any(v, 10, &x))
                ci->cpu[cur].core_id = (int)x;
        } else if (!strcmp(k, "cpu cores")) {
            if (parse_int_any(v, 10, &x) && x > 0 && x < 100000)
                ci->cpu_cores = (int)x;
        } else if (!strcmp(k, "Hardware")) {
            pr_copy(ci->hardware, sizeof ci->hardware, v);
        } else if (!strcmp(k, "Model")) {
            pr_copy(ci->model, sizeof ci->model, v);
        } else if (!strcmp(k, "flags") || !strcmp(k, "Features")) {
            if (have_flags)
                continue; /* the first CPU's list is the answer */
            have_flags = true;
            bool arm = !strcmp(k, "Features");
            char *save2 = NULL;
            for (char *w = strtok_r(v, " \t", &save2); w; w = strtok_r(NULL, " \t", &save2)) {
                if (!strcmp(w, "hypervisor"))
                    ci->hypervisor_flag = true;
                int f = feature_from_cpuinfo(w, arm);
                if (f >= 0)
                    probes_features_add(&s->features, (probes_feature_t)f);
            }
            int lo = arm ? PROBES_FEAT_ASIMD : 0, hi = arm ? PROBES_FEAT_COUNT - 1 : PROBES_FEAT_AMX_BF16;
            for (int i = lo; i <= hi; i++)
                probes_features_add(&s->known, (probes_feature_t)i);
        }
    }
    free(text);
    if (bad_lines)
        pr_warn(c, "cpuinfo: %d malformed or truncated line(s) in proc/cpuinfo ignored", bad_lines);
    if (ci->n_processors == 0) {
        pr_why(s->threads.why, "no 'processor' lines in proc/cpuinfo (truncated?)");
        pr_warn(c, "cpuinfo: %s", s->threads.why);
    } else {
        pr_int_set(&s->threads, ci->n_processors);
    }
    if (!have_flags)
        pr_why(s->why, "no flags/Features line: feature answer unknown");

    if (vendor[0])
        pr_str_set(&s->vendor, vendor);
    if (brand[0])
        pr_str_set(&s->brand, brand);
    if (ci->x86) {
        if (family >= 0)
            pr_int_set(&s->family, family);
        if (model >= 0)
            pr_int_set(&s->model, model);
        if (stepping >= 0)
            pr_int_set(&s->stepping, stepping);
        /* packages = distinct physical ids, cores = distinct (package, core) pairs */
        int npk = 0, ncore = 0;
        bool any = false;
        for (int i = 0; i < MAX_CPUS; i++) {
            if (!ci->cpu[i].seen || ci->cpu[i].phys_id < 0)
                continue;
            any = true;
            bool newpk = true, newcore = true;
            for (int j = 0; j < i; j++) {
                if (!ci->cpu[j].seen || ci->cpu[j].phys_id != ci->cpu[i].phys_id)
                    continue;
                newpk = false;
                if (ci->cpu[j].core_id == ci->cpu[i].core_id)
                    newcore = false;
            }
            npk += newpk;
            ncore += newcore;
        }
        if (any) {
            pr_int_set(&s->packages, npk);
            pr_int_set(&s->cores, ncore);
        }
    } else if (ci->arm) {
        int impl = -1;
        for (int i = 0; i < MAX_CPUS && impl < 0; i++)
            if (ci->cpu[i].seen)
                impl = ci->cpu[i].implementer;
        const char *iname = impl >= 0 ? arm_implementer_name(impl) : NULL;
        if (iname)
            pr_str_set(&s->vendor, iname);
        else if (impl >= 0) {
            char buf[32];
            snprintf(buf, sizeof buf, "implementer 0x%02x", impl);
            pr_str_set(&s->vendor, buf);
        }
        if (!brand[0] && (ci->model[0] || ci->hardware[0]))
            pr_str_set(&s->brand, ci->model[0] ? ci->model : ci->hardware);
        if (arch >= 0)
            pr_int_set(&s->family, arch);
        /* uarch: distinct part names in cpu order, "Cortex-A55 + Cortex-A76" */
        char parts[PROBES_STR_LEN] = "";
        int seen_parts[16], nseen = 0;
        for (int i = 0; i < MAX_CPUS; i++) {
            if (!ci->cpu[i].seen || ci->cpu[i].part < 0)
                continue;
            int key = (ci->cpu[i].implementer << 12) | ci->cpu[i].part;
            bool dup = false;
            for (int j = 0; j < nseen; j++)
                dup |= seen_parts[j] == key;
            if (dup || nseen == 16)
                continue;
            seen_parts[nseen++] = key;
            const char *pn = probes_arm_part_name(ci->cpu[i].implementer, ci->cpu[i].part);
            char unk[32];
            if (!pn) {
                snprintf(unk, sizeof unk, "part 0x%03x", ci->cpu[i].part);
                pn = unk;
            }
            size_t l = strlen(parts);
            snprintf(parts + l, sizeof parts - l, "%s%s", l ? " + " : "", pn);
        }
        if (parts[0])
            pr_str_set(&s->uarch, parts);
    }
}

/* ---- sysfs topology, cores, frequencies, caches --------------------------------- */

static void probe_topology(const pr_ctx_t *c, probes_device_t *dev, const ci_t *ci, bool *online)
{
    probes_cpu_source_t *s = &dev->cpu.sources[PROBES_SRC_SYSFS];
    char *text;
    char why[PROBES_WHY_LEN];
    int n = -1;
    const char *lists[] = {"sys/devices/system/cpu/online", "sys/devices/system/cpu/present"};
    for (size_t i = 0; i < 2 && n < 0; i++) {
        if (pr_read(c, lists[i], PR_SMALL_MAX, &text, why) != MB_OK)
            continue;
        n = pr_cpulist_parse(text, online, MAX_CPUS);
        if (n <= 0) {
            pr_warn(c, "topology: %s: unreadable cpu list '%.40s'", lists[i], pr_trim(text));
            memset(online, 0, MAX_CPUS * sizeof *online);
            n = -1;
        }
        free(text);
    }
    if (n < 0) {
        /* no list: cpuN directories, else the processors in cpuinfo */
        char **names;
        size_t nn;
        pr_list(c, "sys/devices/system/cpu", "cpu", &names, &nn);
        n = 0;
        for (size_t i = 0; i < nn; i++) {
            long x;
            if (parse_int_any(names[i] + 3, 10, &x) && x >= 0 && x < MAX_CPUS && !online[x]) {
                online[x] = true;
                n++;
            }
            free(names[i]);
        }
        free(names);
        for (int i = 0; n == 0 && i < MAX_CPUS; i++)
            if (ci->cpu[i].seen)
                online[i] = true;
        for (int i = 0; n == 0 && i < MAX_CPUS; i++)
            n += online[i];
    }
    if (!pr_is_dir(c, "sys/devices/system/cpu")) {
        s->available = false;
        pr_why(s->why, "sys/devices/system/cpu: missing");
        pr_warn(c, "topology: %s", s->why);
    } else {
        s->available = true;
    }
    if (n > 0 && s->available)
        pr_int_set(&s->threads, n);
    else
        pr_why(s->threads.why, "no cpu list under sys/devices/system/cpu");

    /* per-core records */
    dev->cpu.cores_list = calloc((size_t)(n > 0 ? n : 1), sizeof *dev->cpu.cores_list);
    if (!dev->cpu.cores_list)
        return;
    int npk = 0, ncore = 0;
    bool topo_ok = s->available;
    int pk_seen[MAX_CPUS > 256 ? 256 : MAX_CPUS];
    int64_t core_keys[MAX_CPUS];
    int n_keys = 0;
    for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
        if (!online[cpu])
            continue;
        probes_core_t *k = &dev->cpu.cores_list[dev->cpu.n_cores_list++];
        k->cpu = cpu;
        char rel[256];
        snprintf(rel, sizeof rel, "sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
        pr_read_int(c, &k->package, rel, "topology", -1, 1 << 20, false);
        snprintf(rel, sizeof rel, "sys/devices/system/cpu/cpu%d/topology/core_id", cpu);
        pr_read_int(c, &k->core_id, rel, "topology", -1, 1 << 30, false);
        snprintf(rel, sizeof rel, "sys/devices/system/cpu/cpu%d/cpu_capacity", cpu);
        pr_read_int(c, &k->capacity, rel, "capacity", 1, 4096, false);
        if (!k->capacity.ok && pr_exists(c, rel))
            pr_warn(c, "cpu%d capacity: %s", cpu, k->capacity.why);
        if (k->package.ok && k->core_id.ok) {
            bool newpk = true;
            for (int j = 0; j < npk; j++)
                newpk &= pk_seen[j] != (int)k->package.v;
            if (newpk && npk < (int)MB_ARRAY_LEN(pk_seen))
                pk_seen[npk++] = (int)k->package.v;
            int64_t key = (int64_t)(((uint64_t)k->package.v << 32) ^ ((uint64_t)k->core_id.v & 0xffffffffu));
            bool newcore = true;
            for (int j = 0; j < n_keys; j++)
                newcore &= core_keys[j] != key;
            if (newcore)
                core_keys[n_keys++] = key;
        } else {
            topo_ok = false;
        }
        if (cpu < MAX_CPUS && ci->cpu[cpu].implementer >= 0)
            pr_int_set(&k->arm_implementer, ci->cpu[cpu].implementer);
        else
            pr_why(k->arm_implementer.why, ci->arm ? "no 'CPU implementer' for this cpu in proc/cpuinfo" : "not ARM");
        if (ci->cpu[cpu].part >= 0) {
            pr_int_set(&k->arm_part, ci->cpu[cpu].part);
            const char *pn = probes_arm_part_name(ci->cpu[cpu].implementer, ci->cpu[cpu].part);
            if (pn)
                pr_str_set(&k->core_type, pn);
            else
                pr_why(k->core_type.why, "unknown ARM part 0x%03x", ci->cpu[cpu].part);
        } else {
            pr_why(k->arm_part.why, ci->arm ? "no 'CPU part' for this cpu in proc/cpuinfo" : "not ARM");
        }
    }
    ncore = n_keys;
    if (topo_ok && dev->cpu.n_cores_list) {
        pr_int_set(&s->packages, npk);
        pr_int_set(&s->cores, ncore);
    } else {
        pr_why(s->packages.why, "topology/physical_package_id or core_id unreadable");
        pr_why(s->cores.why, "topology/physical_package_id or core_id unreadable");
    }
}

static void probe_hybrid(const pr_ctx_t *c, probes_device_t *dev, bool host_hybrid)
{
    /* Intel hybrid parts expose two PMUs: sys/devices/cpu_core and cpu_atom. */
    bool core_mask[MAX_CPUS] = {0}, atom_mask[MAX_CPUS] = {0};
    char *text;
    char why[PROBES_WHY_LEN];
    bool have = false;
    if (pr_read(c, "sys/devices/cpu_core/cpus", PR_SMALL_MAX, &text, why) == MB_OK) {
        have |= pr_cpulist_parse(text, core_mask, MAX_CPUS) > 0;
        free(text);
    }
    if (pr_read(c, "sys/devices/cpu_atom/cpus", PR_SMALL_MAX, &text, why) == MB_OK) {
        have |= pr_cpulist_parse(text, atom_mask, MAX_CPUS) > 0;
        free(text);
    }
    int *types = NULL;
    if (!have && c->host && host_hybrid && dev->cpu.n_cores_list) {
        types = calloc(MAX_CPUS, sizeof *types);
        if (types && pr_cpuid_hybrid_types(MAX_CPUS, types)) {
            for (int i = 0; i < MAX_CPUS; i++) {
                core_mask[i] = types[i] == 0x40;
                atom_mask[i] = types[i] == 0x20;
            }
            have = true;
        }
        free(types);
    }
    if (!have)
        return;
    for (size_t i = 0; i < dev->cpu.n_cores_list; i++) {
        probes_core_t *k = &dev->cpu.cores_list[i];
        if (core_mask[k->cpu])
            pr_str_set(&k->core_type, "performance");
        else if (atom_mask[k->cpu])
            pr_str_set(&k->core_type, "efficiency");
    }
}

static void probe_freq(const pr_ctx_t *c, probes_device_t *dev, const ci_t *ci)
{
    int missing = 0;
    for (size_t i = 0; i < dev->cpu.n_cores_list; i++) {
        probes_core_t *k = &dev->cpu.cores_list[i];
        char base[128], rel[256];
        snprintf(base, sizeof base, "sys/devices/system/cpu/cpu%d/cpufreq", k->cpu);
        if (!pr_is_dir(c, base)) {
            missing++;
            pr_why(k->cur_mhz.why, "%s: missing", base);
            pr_why(k->min_mhz.why, "%s: missing", base);
            pr_why(k->max_mhz.why, "%s: missing", base);
            pr_why(k->scaling_max_mhz.why, "%s: missing", base);
            pr_why(k->governor.why, "%s: missing", base);
            pr_why(k->driver.why, "%s: missing", base);
            double mhz = k->cpu < MAX_CPUS ? ci->cpu[k->cpu].mhz : NAN;
            if (!isnan(mhz)) {
                if (mhz >= MHZ_MIN && mhz <= MHZ_MAX) {
                    pr_num_set(&k->cur_mhz, mhz);
                    pr_copy(dev->cpu.freq_source, sizeof dev->cpu.freq_source, "cpuinfo");
                } else {
                    pr_null(c, k->cur_mhz.why, "frequency", "proc/cpuinfo cpu%d: absurd 'cpu MHz' %g",
                            k->cpu, mhz);
                }
            }
            continue;
        }
        pr_copy(dev->cpu.freq_source, sizeof dev->cpu.freq_source, "cpufreq");
        char what[32];
        snprintf(what, sizeof what, "cpu%d frequency", k->cpu);
        snprintf(rel, sizeof rel, "%s/scaling_cur_freq", base);
        pr_read_num(c, &k->cur_mhz, rel, what, 1e-3, MHZ_MIN, MHZ_MAX, "MHz", true);
        snprintf(rel, sizeof rel, "%s/cpuinfo_min_freq", base);
        pr_read_num(c, &k->min_mhz, rel, what, 1e-3, MHZ_MIN, MHZ_MAX, "MHz", true);
        snprintf(rel, sizeof rel, "%s/cpuinfo_max_freq", base);
        pr_read_num(c, &k->max_mhz, rel, what, 1e-3, MHZ_MIN, MHZ_MAX, "MHz", true);
        snprintf(rel, sizeof rel, "%s/scaling_max_freq", base);
        pr_read_num(c, &k->scaling_max_mhz, rel, what, 1e-3, MHZ_MIN, MHZ_MAX, "MHz", true);
        snprintf(rel, sizeof rel, "%s/scaling_governor", base);
        pr_read_str(c, &k->governor, rel, what, true);
        snprintf(rel, sizeof rel, "%s/scaling_driver", base);
        pr_read_str(c, &k->driver, rel, what, true);
    }
    if (missing)
        pr_warn(c, "frequency: no cpufreq for %d cpu(s) (sys/devices/system/cpu/cpuN/cpufreq)%s", missing,
                !strcmp(dev->cpu.freq_source, "cpuinfo") ? "; current MHz from proc/cpuinfo" : "");
}

/* Group cores into clusters by (max MHz, capacity, ARM part, hybrid type). */
static void make_clusters(probes_device_t *dev, bool x86)
{
    size_t n = dev->cpu.n_cores_list;
    if (!n)
        return;
    dev->cpu.clusters = calloc(n, sizeof *dev->cpu.clusters);
    if (!dev->cpu.clusters)
        return;
    typedef struct { double mhz; int64_t cap; int64_t part; char type[PROBES_STR_LEN]; } key_t_;
    key_t_ *keys = calloc(n, sizeof *keys);
    if (!keys)
        return;
    size_t nk = 0;
    for (size_t i = 0; i < n; i++) {
        probes_core_t *k = &dev->cpu.cores_list[i];
        key_t_ key;
        memset(&key, 0, sizeof key);
        /* x86: frequency differences between cores of one type are turbo
         * binning (favoured cores), not clusters; group by hybrid type only. */
        key.mhz = (!x86 && k->max_mhz.ok) ? k->max_mhz.v : -1;
        key.cap = k->capacity.ok ? k->capacity.v : -1;
        key.part = k->arm_part.ok ? (k->arm_implementer.ok ? k->arm_implementer.v << 12 : 0) | k->arm_part.v : -1;
        if (k->core_type.ok)
            pr_copy(key.type, sizeof key.type, k->core_type.v);
        size_t j = 0;
        for (; j < nk; j++)
            if (keys[j].mhz == key.mhz && keys[j].cap == key.cap && keys[j].part == key.part &&
                !strcmp(keys[j].type, key.type))
                break;
        if (j == nk)
            keys[nk++] = key;
        k->cluster = (int)j;
    }
    /* order clusters from smallest to biggest core: capacity, then MHz, then "efficiency" first */
    int *order = calloc(nk, sizeof *order);
    if (!order) {
        free(keys);
        return;
    }
    for (size_t i = 0; i < nk; i++)
        order[i] = (int)i;
    for (size_t i = 1; i < nk; i++)
        for (size_t j = i; j > 0; j--) {
            key_t_ *a = &keys[order[j - 1]], *b = &keys[order[j]];
            int ea = !strcmp(a->type, "efficiency"), eb = !strcmp(b->type, "efficiency");
            bool swap = a->cap > b->cap || (a->cap == b->cap && a->mhz > b->mhz) ||
                        (a->cap == b->cap && a->mhz == b->mhz && ea < eb);
            if (!swap)
                break;
            int t = order[j - 1];
            order[j - 1] = order[j];
            order[j] = t;
        }
    int *rank = calloc(nk, sizeof *rank);
    if (!rank) {
        free(order);
        free(keys);
        return;
    }
    for (size_t i = 0; i < nk; i++)
        rank[order[i]] = (int)i;
    dev->cpu.n_clusters = nk;
    for (size_t i = 0; i < n; i++) {
        probes_core_t *k = &dev->cpu.cores_list[i];
        k->cluster = rank[k->cluster];
        probes_cluster_t *cl = &dev->cpu.clusters[k->cluster];
        size_t l = strlen(cl->cpus);
        /* compact list: extend "a-b" when consecutive */
        if (cl->ncpus && cl->cpus[l - 1] != ',') {
            int last = -1;
            const char *p = cl->cpus + l;
            while (p > cl->cpus && isdigit((unsigned char)p[-1]))
                p--;
            last = atoi(p);
            if (last == k->cpu - 1) {
                const char *q = p;
                bool range = q > cl->cpus && q[-1] == '-';
                if (range) {
                    snprintf(cl->cpus + (p - cl->cpus), sizeof cl->cpus - (size_t)(p - cl->cpus), "%d", k->cpu);
                } else {
                    snprintf(cl->cpus + l, sizeof cl->cpus - l, "-%d", k->cpu);
                }
            } else {
                snprintf(cl->cpus + l, sizeof cl->cpus - l, ",%d", k->cpu);
            }
        } else {
            snprintf(cl->cpus + l, sizeof cl->cpus - l, "%d", k->cpu);
        }
        if (k->cpu >= 0 && k->cpu < PROBES_MAX_CPUS)
            cl->mask[k->cpu / 64] |= (uint64_t)1 << (k->cpu % 64);
        if (!cl->ncpus) {
            cl->max_mhz = k->max_mhz;
            cl->capacity = k->capacity;
            cl->core_name = k->core_type;
        } else if (k->max_mhz.ok && (!cl->max_mhz.ok || k->max_mhz.v > cl->max_mhz.v)) {
            cl->max_mhz = k->max_mhz;
        }
        cl->ncpus++;
    }
    for (size_t i = 0; i < nk; i++) {
        probes_cluster_t *cl = &dev->cpu.clusters[i];
        /* Ordered smallest first: the ends are little and big, the rest mid
         * (x86 hybrid: efficiency cores little, performance cores big), so
         * --cluster names the same cores on every device. */
        const char *role;
        if (nk == 1)
            role = "uniform";
        else if (i == 0)
            role = "little";
        else if (i == nk - 1)
            role = "big";
        else
            role = "mid";
        pr_copy(cl->role, sizeof cl->role, role);
        if (!cl->core_name.ok && !cl->core_name.why[0])
            pr_why(cl->core_name.why, "no core type (not hybrid, no ARM part)");
    }
    free(rank);
    free(order);
    free(keys);
}

static void probe_caches(const pr_ctx_t *c, probes_device_t *dev)
{
    probes_cpu_source_t *s = &dev->cpu.sources[PROBES_SRC_SYSFS];
    const char *dir = "sys/devices/system/cpu/cpu0/cache";
    char **names;
    size_t nn;
    if (pr_list(c, dir, "index", &names, &nn) != MB_OK || nn == 0) {
        free(names);
        pr_why(dev->cpu.caches_why, "%s: missing", dir);
        pr_warn(c, "caches: %s", dev->cpu.caches_why);
        pr_why(s->l1d_bytes.why, "%s: missing", dir);
        pr_why(s->l2_bytes.why, "%s: missing", dir);
        pr_why(s->l3_bytes.why, "%s: missing", dir);
        return;
    }
    dev->cpu.caches = calloc(nn, sizeof *dev->cpu.caches);
    for (size_t i = 0; i < nn && dev->cpu.caches; i++) {
        char rel[256];
        probes_cache_t *k = &dev->cpu.caches[dev->cpu.n_caches];
        probes_int_t level;
        probes_str_t type, size, shared;
        snprintf(rel, sizeof rel, "%s/%s/level", dir, names[i]);
        pr_read_int(c, &level, rel, "cache", 0, 5, true);
        snprintf(rel, sizeof rel, "%s/%s/type", dir, names[i]);
        pr_read_str(c, &type, rel, "cache", true);
        if (!level.ok || !type.ok)
            continue;
        k->level = (int)level.v;
        pr_copy(k->type, sizeof k->type, type.v);
        snprintf(rel, sizeof rel, "%s/%s/size", dir, names[i]);
        pr_read_str(c, &size, rel, "cache", true);
        uint64_t bytes;
        if (size.ok && mb_parse_bytes(size.v, &bytes) == MB_OK && bytes > 0 && bytes < (1ull << 40))
            pr_int_set(&k->size_bytes, (int64_t)bytes);
        else if (size.ok)
            pr_null(c, k->size_bytes.why, "cache", "%s: not a size: '%.24s'", rel, size.v);
        else
            pr_copy(k->size_bytes.why, sizeof k->size_bytes.why, size.why);
        snprintf(rel, sizeof rel, "%s/%s/coherency_line_size", dir, names[i]);
        pr_read_int(c, &k->line_bytes, rel, "cache", 1, 4096, false);
        snprintf(rel, sizeof rel, "%s/%s/ways_of_associativity", dir, names[i]);
        pr_read_int(c, &k->ways, rel, "cache", 0, 1 << 16, false);
        snprintf(rel, sizeof rel, "%s/%s/shared_cpu_list", dir, names[i]);
        pr_read_str(c, &shared, rel, "cache", false);
        if (shared.ok)
            pr_copy(k->shared_cpus, sizeof k->shared_cpus, shared.v);
        dev->cpu.n_caches++;
        if (k->size_bytes.ok) {
            bool data = strcmp(k->type, "Instruction") != 0;
            if (k->level == 1 && data && strcmp(k->type, "Unified"))
                s->l1d_bytes = k->size_bytes;
            else if (k->level == 2 && data)
                s->l2_bytes = k->size_bytes;
            else if (k->level == 3 && data)
                s->l3_bytes = k->size_bytes;
        }
    }
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    if (!s->l1d_bytes.ok)
        pr_why(s->l1d_bytes.why, "no L1 data cache in %s", dir);
    if (!s->l2_bytes.ok)
        pr_why(s->l2_bytes.why, "no L2 cache in %s", dir);
    if (!s->l3_bytes.ok)
        pr_why(s->l3_bytes.why, "no L3 cache in %s", dir);
}

/* ---- memory ---------------------------------------------------------------------- */

static void probe_memory(const pr_ctx_t *c, probes_device_t *dev)
{
    char *text;
    char why[PROBES_WHY_LEN];
    struct { const char *key; probes_int_t *v; } want[] = {
        {"MemTotal", &dev->memory.total_bytes},
        {"MemAvailable", &dev->memory.available_bytes},
        {"SwapTotal", &dev->memory.swap_total_bytes},
        {"SwapFree", &dev->memory.swap_free_bytes},
    };
    if (pr_read(c, "proc/meminfo", PR_SMALL_MAX, &text, why) != MB_OK) {
        for (size_t i = 0; i < MB_ARRAY_LEN(want); i++)
            pr_copy(want[i].v->why, PROBES_WHY_LEN, why);
        pr_warn(c, "memory: %s", why);
    } else {
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char *k, *v;
            if (!split_kv(line, &k, &v))
                continue;
            for (size_t i = 0; i < MB_ARRAY_LEN(want); i++) {
                if (strcmp(k, want[i].key))
                    continue;
                char *end;
                errno = 0;
                long long kb = strtoll(v, &end, 10);
                end = skip_ws(end);
                if (errno || end == v || (*end && strcmp(end, "kB")) || kb < 0 || kb > (1ll << 42))
                    pr_null(c, want[i].v->why, "memory", "proc/meminfo %s: bad value '%.32s'", k, v);
                else
                    pr_int_set(want[i].v, kb * 1024);
            }
        }
        free(text);
        for (size_t i = 0; i < MB_ARRAY_LEN(want); i++)
            if (!want[i].v->ok && !want[i].v->why[0])
                pr_null(c, want[i].v->why, "memory", "proc/meminfo has no %s line", want[i].key);
    }
    if (c->host) {
        long ps = sysconf(_SC_PAGESIZE);
        if (ps > 0)
            pr_int_set(&dev->memory.page_size, ps);
        else
            pr_null(c, dev->memory.page_size.why, "memory", "sysconf(_SC_PAGESIZE) failed");
    } else {
        pr_why(dev->memory.page_size.why, "comes from the running kernel, not from the --sysfs-root tree");
    }
    probes_str_t thp;
    pr_read_str(c, &thp, "sys/kernel/mm/transparent_hugepage/enabled", "memory", false);
    char mode[32];
    if (thp.ok && bracketed(thp.v, mode, sizeof mode))
        pr_str_set(&dev->memory.thp, mode);
    else if (thp.ok)
        pr_null(c, dev->memory.thp.why, "memory", "transparent_hugepage/enabled: no [mode] in '%.40s'", thp.v);
    else
        pr_why(dev->memory.thp.why, "%s", thp.why); /* kernels without THP: not worth a warning */

    char **names;
    size_t nn;
    pr_list(c, "sys/block", "zram", &names, &nn);
    if (nn)
        dev->memory.zram = calloc(nn, sizeof *dev->memory.zram);
    for (size_t i = 0; i < nn; i++) {
        if (dev->memory.zram) {
            probes_zram_t *z = &dev->memory.zram[dev->memory.n_zram++];
            char rel[256];
            pr_copy(z->name, sizeof z->name, names[i]);
            snprintf(rel, sizeof rel, "sys/block/%s/disksize", names[i]);
            pr_read_int(c, &z->disksize_bytes, rel, "zram", 0, INT64_MAX, true);
            snprintf(rel, sizeof rel, "sys/block/%s/comp_algorithm", names[i]);
            probes_str_t alg;
            pr_read_str(c, &alg, rel, "zram", false);
            char a[32];
            if (alg.ok && bracketed(alg.v, a, sizeof a))
                pr_str_set(&z->algorithm, a);
            else
                pr_why(z->algorithm.why, "%s", alg.ok ? "no [algorithm] selected" : alg.why);
            snprintf(rel, sizeof rel, "sys/block/%s/mm_stat", names[i]);
            char *mm;
            char w2[PROBES_WHY_LEN];
            unsigned long long f[3];
            if (pr_read(c, rel, PR_SMALL_MAX, &mm, w2) == MB_OK &&
                sscanf(mm, "%llu %llu %llu", &f[0], &f[1], &f[2]) == 3) {
                pr_int_set(&z->orig_bytes, (int64_t)f[0]);
                pr_int_set(&z->compr_bytes, (int64_t)f[1]);
                pr_int_set(&z->mem_used_bytes, (int64_t)f[2]);
            } else {
                if (mm)
                    pr_why(w2, "%s: expected 3+ numbers", rel);
                pr_copy(z->orig_bytes.why, PROBES_WHY_LEN, w2);
                pr_copy(z->compr_bytes.why, PROBES_WHY_LEN, w2);
                pr_copy(z->mem_used_bytes.why, PROBES_WHY_LEN, w2);
            }
            free(mm);
        }
        free(names[i]);
    }
    free(names);
    if (!dev->memory.n_zram)
        pr_why(dev->memory.zram_why, "no zram devices under sys/block");
}

/* ---- thermal ---------------------------------------------------------------------- */

static void probe_thermal(const pr_ctx_t *c, probes_device_t *dev)
{
    char **names;
    size_t nn;
    int rc = pr_list(c, "sys/class/thermal", "thermal_zone", &names, &nn);
    if (nn)
        dev->thermal.zones = calloc(nn, sizeof *dev->thermal.zones);
    for (size_t i = 0; i < nn; i++) {
        long idx;
        if (dev->thermal.zones && parse_int_any(names[i] + strlen("thermal_zone"), 10, &idx)) {
            probes_thermal_zone_t *z = &dev->thermal.zones[dev->thermal.n_zones++];
            z->index = (int)idx;
            char rel[256], what[48];
            snprintf(what, sizeof what, "thermal_zone%d", z->index);
            snprintf(rel, sizeof rel, "sys/class/thermal/%s/type", names[i]);
            pr_read_str(c, &z->type, rel, what, true);
            snprintf(rel, sizeof rel, "sys/class/thermal/%s/temp", names[i]);
            pr_read_num(c, &z->temp_c, rel, what, 1e-3, TEMP_MIN_C, TEMP_MAX_C, "C", true);
            for (int t = 0; t < PROBES_MAX_TRIPS; t++) {
                snprintf(rel, sizeof rel, "sys/class/thermal/%s/trip_point_%d_temp", names[i], t);
                if (!pr_exists(c, rel))
                    break;
                pr_read_num(c, &z->trips[t].temp_c, rel, what, 1e-3, TEMP_MIN_C, 250.0, "C", true);
                snprintf(rel, sizeof rel, "sys/class/thermal/%s/trip_point_%d_type", names[i], t);
                probes_str_t ty;
                pr_read_str(c, &ty, rel, what, false);
                pr_copy(z->trips[t].type, sizeof z->trips[t].type, ty.ok ? ty.v : "");
                z->ntrips = t + 1;
            }
        }
        free(names[i]);
    }
    free(names);
    if (!dev->thermal.n_zones) {
        pr_why(dev->thermal.zones_why, "no thermal zones%s", rc == MB_ENOENT ? " (sys/class/thermal missing)" : "");
        pr_warn(c, "thermal: %s", dev->thermal.zones_why);
    }

    rc = pr_list(c, "sys/class/thermal", "cooling_device", &names, &nn);
    if (nn)
        dev->thermal.cooling = calloc(nn, sizeof *dev->thermal.cooling);
    for (size_t i = 0; i < nn; i++) {
        long idx;
        if (dev->thermal.cooling && parse_int_any(names[i] + strlen("cooling_device"), 10, &idx)) {
            probes_cooling_t *k = &dev->thermal.cooling[dev->thermal.n_cooling++];
            k->index = (int)idx;
            char rel[256], what[48];
            snprintf(what, sizeof what, "cooling_device%d", k->index);
            snprintf(rel, sizeof rel, "sys/class/thermal/%s/type", names[i]);
            pr_read_str(c, &k->type, rel, what, true);
            snprintf(rel, sizeof rel, "sys/class/thermal/%s/cur_state", names[i]);
            pr_read_int(c, &k->cur_state, rel, what, 0, 1 << 30, true);
            snprintf(rel, sizeof rel, "sys/class/thermal/%s/max_state", names[i]);
            pr_read_int(c, &k->max_state, rel, what, 0, 1 << 30, true);
        }
        free(names[i]);
    }
    free(names);
    if (!dev->thermal.n_cooling)
        pr_why(dev->thermal.cooling_why, "no cooling devices under sys/class/thermal");

    rc = pr_list(c, "sys/class/hwmon", "hwmon", &names, &nn);
    size_t cap = 0;
    for (size_t i = 0; i < nn; i++) {
        char rel[256], chip[48];
        probes_str_t name;
        snprintf(rel, sizeof rel, "sys/class/hwmon/%s/name", names[i]);
        pr_read_str(c, &name, rel, "hwmon", false);
        if (!name.ok) {
            snprintf(rel, sizeof rel, "sys/class/hwmon/%s/device/name", names[i]);
            pr_read_str(c, &name, rel, "hwmon", false);
        }
        pr_copy(chip, sizeof chip, name.ok ? name.v : names[i]);
        char dir[128];
        snprintf(dir, sizeof dir, "sys/class/hwmon/%s", names[i]);
        char **files;
        size_t nf;
        pr_list(c, dir, "temp", &files, &nf);
        for (size_t f = 0; f < nf; f++) {
            size_t l = strlen(files[f]);
            if (l > 6 && !strcmp(files[f] + l - 6, "_input") && l - 6 < 16) {
                probes_hwmon_temp_t *nh = pr_grow(dev->thermal.hwmon, &cap, dev->thermal.n_hwmon, sizeof *nh);
                if (nh) {
                    dev->thermal.hwmon = nh;
                    probes_hwmon_temp_t *h = &nh[dev->thermal.n_hwmon++];
                    pr_copy(h->chip, sizeof h->chip, chip);
                    memcpy(h->sensor, files[f], l - 6);
                    h->sensor[l - 6] = '\0';
                    char what[96];
                    snprintf(what, sizeof what, "hwmon %s %s", chip, h->sensor);
                    snprintf(rel, sizeof rel, "%s/%s", dir, files[f]);
                    pr_read_num(c, &h->temp_c, rel, what, 1e-3, TEMP_MIN_C, TEMP_MAX_C, "C", true);
                    snprintf(rel, sizeof rel, "%s/%s_label", dir, h->sensor);
                    pr_read_str(c, &h->label, rel, what, false);
                }
            }
            free(files[f]);
        }
        free(files);
        free(names[i]);
    }
    free(names);
    if (!dev->thermal.n_hwmon)
        pr_why(dev->thermal.hwmon_why, "no hwmon temperature sensors%s",
               rc == MB_ENOENT ? " (sys/class/hwmon missing)" : "");
}

/* ---- power ------------------------------------------------------------------------ */

static void probe_power(const pr_ctx_t *c, probes_device_t *dev)
{
    char **names;
    size_t nn;
    size_t cap = 0;
    pr_list(c, "sys/class/powercap", "", &names, &nn);
    for (size_t i = 0; i < nn; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "sys/class/powercap/%s/energy_uj", names[i]);
        if (pr_exists(c, rel)) {
            probes_rapl_t *nr = pr_grow(dev->power.rapl, &cap, dev->power.n_rapl, sizeof *nr);
            if (nr) {
                dev->power.rapl = nr;
                probes_rapl_t *r = &nr[dev->power.n_rapl++];
                pr_copy(r->zone, sizeof r->zone, names[i]);
                char what[64];
                snprintf(what, sizeof what, "rapl %s", names[i]);
                pr_read_int(c, &r->energy_uj, rel, what, 0, INT64_MAX, true);
                snprintf(rel, sizeof rel, "sys/class/powercap/%s/name", names[i]);
                pr_read_str(c, &r->name, rel, what, true);
                snprintf(rel, sizeof rel, "sys/class/powercap/%s/max_energy_range_uj", names[i]);
                pr_read_int(c, &r->max_energy_range_uj, rel, what, 0, INT64_MAX, false);
            }
        }
        free(names[i]);
    }
    free(names);
    if (!dev->power.n_rapl)
        pr_why(dev->power.rapl_why, "no RAPL energy counters under sys/class/powercap");

    cap = 0;
    pr_list(c, "sys/class/power_supply", "", &names, &nn);
    for (size_t i = 0; i < nn; i++) {
        char rel[256];
        probes_str_t type;
        snprintf(rel, sizeof rel, "sys/class/power_supply/%s/type", names[i]);
        pr_read_str(c, &type, rel, "power_supply", false);
        if (type.ok && !strcmp(type.v, "Battery")) {
            probes_battery_t *nb = pr_grow(dev->power.batteries, &cap, dev->power.n_batteries, sizeof *nb);
            if (nb) {
                dev->power.batteries = nb;
                probes_battery_t *b = &nb[dev->power.n_batteries++];
                pr_copy(b->name, sizeof b->name, names[i]);
                char what[80];
                snprintf(what, sizeof what, "battery %s", names[i]);
                snprintf(rel, sizeof rel, "sys/class/power_supply/%s/capacity", names[i]);
                pr_read_int(c, &b->capacity_pct, rel, what, 0, 100, true);
                snprintf(rel, sizeof rel, "sys/class/power_supply/%s/status", names[i]);
                pr_read_str(c, &b->status, rel, what, true);
                snprintf(rel, sizeof rel, "sys/class/power_supply/%s/technology", names[i]);
                pr_read_str(c, &b->technology, rel, what, false);
                snprintf(rel, sizeof rel, "sys/class/power_supply/%s/current_now", names[i]);
                pr_read_int(c, &b->current_ua, rel, what, -50000000, 50000000, true);
                snprintf(rel, sizeof rel, "sys/class/power_supply/%s/voltage_now", names[i]);
                pr_read_int(c, &b->voltage_uv, rel, what, 0, 60000000, true);
                snprintf(rel, sizeof rel, "sys/class/power_supply/%s/temp", names[i]);
                pr_read_num(c, &b->temp_c, rel, what, 0.1, TEMP_MIN_C, TEMP_MAX_C, "C", false);
                if (!b->temp_c.ok && pr_exists(c, rel))
                    pr_warn(c, "%s: %s", what, b->temp_c.why);
            }
        }
        free(names[i]);
    }
    free(names);
    if (!dev->power.n_batteries)
        pr_why(dev->power.batteries_why, "no batteries under sys/class/power_supply");
}

/* ---- system ----------------------------------------------------------------------- */

/* KEY=value files (os-release) and key=value props (build.prop). */
static bool kv_lookup(const char *text, const char *key, char *out, size_t len)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            const char *v = p + kl + 1;
            size_t vl = ll - kl - 1;
            if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
                v++;
                vl -= 2;
            }
            vl = MB_MIN(vl, len - 1);
            memcpy(out, v, vl);
            out[vl] = '\0';
            pr_trim(out);
            return out[0] != '\0';
        }
        p = eol ? eol + 1 : NULL;
    }
    return false;
}

static void probe_system(const pr_ctx_t *c, probes_device_t *dev, const ci_t *ci)
{
    struct utsname u;
    bool have_uname = c->host && uname(&u) == 0;
    pr_read_str(c, &dev->system.kernel, "proc/sys/kernel/osrelease", "system", false);
    if (!dev->system.kernel.ok && have_uname)
        pr_str_set(&dev->system.kernel, u.release);
    else if (!dev->system.kernel.ok)
        pr_warn(c, "kernel: %s", dev->system.kernel.why);
    pr_read_str(c, &dev->system.kernel_version, "proc/sys/kernel/version", "system", false);
    if (!dev->system.kernel_version.ok && have_uname)
        pr_str_set(&dev->system.kernel_version, u.version);
    pr_read_str(c, &dev->system.hostname, "proc/sys/kernel/hostname", "system", false);
    if (!dev->system.hostname.ok && have_uname)
        pr_str_set(&dev->system.hostname, u.nodename);
    if (have_uname)
        pr_str_set(&dev->system.arch, u.machine);
    else if (ci->x86)
        pr_str_set(&dev->system.arch, "x86_64");
    else if (ci->arm)
        pr_str_set(&dev->system.arch, "aarch64");
    else
        pr_null(c, dev->system.arch.why, "system", "architecture unknown: proc/cpuinfo has neither vendor_id nor CPU implementer");

    char *text;
    char why[PROBES_WHY_LEN];
    if (pr_read(c, "etc/os-release", PR_SMALL_MAX, &text, why) == MB_OK ||
        pr_read(c, "usr/lib/os-release", PR_SMALL_MAX, &text, why) == MB_OK) {
        char v[PROBES_STR_LEN];
        if (kv_lookup(text, "PRETTY_NAME", v, sizeof v))
            pr_str_set(&dev->system.os_name, v);
        else
            pr_why(dev->system.os_name.why, "os-release has no PRETTY_NAME");
        if (kv_lookup(text, "ID", v, sizeof v))
            pr_str_set(&dev->system.os_id, v);
        else
            pr_why(dev->system.os_id.why, "os-release has no ID");
        if (kv_lookup(text, "VERSION_ID", v, sizeof v))
            pr_str_set(&dev->system.os_version, v);
        else
            pr_why(dev->system.os_version.why, "os-release has no VERSION_ID");
        free(text);
    } else {
        pr_why(dev->system.os_name.why, "%s", why);
        pr_why(dev->system.os_id.why, "%s", why);
        pr_why(dev->system.os_version.why, "%s", why);
    }
    probes_str_t *andr[] = {&dev->system.android_manufacturer, &dev->system.android_model,
                            &dev->system.android_device, &dev->system.android_release,
                            &dev->system.android_sdk, &dev->system.android_soc,
                            &dev->system.android_platform, &dev->system.android_build,
                            &dev->system.android_soc_manufacturer};
    const char *props[] = {"ro.product.manufacturer", "ro.product.model", "ro.product.device",
                           "ro.build.version.release", "ro.build.version.sdk", "ro.soc.model",
                           "ro.board.platform", "ro.build.fingerprint", "ro.soc.manufacturer"};
    /* getprop first (it sees vendor/odm properties too), build.prop for the rest */
    char *gp = NULL, *bp = NULL;
    char gp_why[PROBES_WHY_LEN], bp_why[PROBES_WHY_LEN];
    int gp_rc = pr_getprop_read(c, &gp, gp_why);
    if (gp_rc != MB_OK && gp_rc != MB_ENOENT)
        pr_warn(c, "android: %s", gp_why);
    if (pr_read(c, "system/build.prop", 1u << 20, &bp, bp_why) != MB_OK)
        bp = NULL;
    if (gp || bp) {
        dev->system.android = true;
        snprintf(dev->system.android_source, sizeof dev->system.android_source, "%s",
                 gp && bp ? "getprop+build.prop" : gp ? "getprop" : "build.prop");
        for (size_t i = 0; i < MB_ARRAY_LEN(props); i++) {
            char v[PROBES_STR_LEN];
            if ((gp && kv_lookup(gp, props[i], v, sizeof v)) || (bp && kv_lookup(bp, props[i], v, sizeof v)))
                pr_str_set(andr[i], v);
            else
                pr_why(andr[i]->why, "%s has no %s", dev->system.android_source, props[i]);
        }
        free(gp);
        free(bp);
        if (!dev->system.os_name.ok) {
            char v[PROBES_STR_LEN + 16];
            snprintf(v, sizeof v, "Android %s", dev->system.android_release.ok ? dev->system.android_release.v : "");
            pr_str_set(&dev->system.os_name, pr_trim(v));
            pr_str_set(&dev->system.os_id, "android");
            if (dev->system.android_release.ok)
                pr_str_set(&dev->system.os_version, dev->system.android_release.v);
        }
    } else {
        for (size_t i = 0; i < MB_ARRAY_LEN(props); i++)
            pr_why(andr[i]->why, "not Android (no getprop, no system/build.prop)");
    }
    if (!dev->system.os_name.ok)
        pr_warn(c, "os: %s", dev->system.os_name.why);
}

/* ---- merging sources ---------------------------------------------------------------- */

static const probes_str_t *pick_str(probes_device_t *dev, size_t off, const int *order, int n, int *from)
{
    for (int i = 0; i < n; i++) {
        const probes_cpu_source_t *s = &dev->cpu.sources[order[i]];
        const probes_str_t *v = (const probes_str_t *)((const char *)s + off);
        if (s->available && v->ok) {
            *from = order[i];
            return v;
        }
    }
    *from = -1;
    return NULL;
}

static const probes_int_t *pick_int(probes_device_t *dev, size_t off, const int *order, int n, int *from)
{
    for (int i = 0; i < n; i++) {
        const probes_cpu_source_t *s = &dev->cpu.sources[order[i]];
        const probes_int_t *v = (const probes_int_t *)((const char *)s + off);
        if ((s->available || order[i] == PROBES_SRC_CPUINFO) && v->ok) {
            *from = order[i];
            return v;
        }
    }
    *from = -1;
    return NULL;
}

static void merge_str(probes_device_t *dev, probes_str_t *dst, const char *field, size_t off, const int *order,
                      int n)
{
    int from;
    const probes_str_t *v = pick_str(dev, off, order, n, &from);
    if (!v) {
        pr_why(dst->why, "no source could tell the %s", field);
        return;
    }
    *dst = *v;
    for (int i = 0; i < PROBES_SRC_COUNT; i++) {
        const probes_cpu_source_t *s = &dev->cpu.sources[i];
        const probes_str_t *o = (const probes_str_t *)((const char *)s + off);
        if (i != from && o->ok && strcmp(o->v, v->v))
            add_dis(dev, field, src_names[i], o->v, src_names[from], v->v);
    }
}

static void merge_int(probes_device_t *dev, probes_int_t *dst, const char *field, size_t off, const int *order,
                      int n)
{
    int from;
    const probes_int_t *v = pick_int(dev, off, order, n, &from);
    if (!v) {
        pr_why(dst->why, "no source could tell the %s", field);
        return;
    }
    *dst = *v;
    for (int i = 0; i < PROBES_SRC_COUNT; i++) {
        const probes_cpu_source_t *s = &dev->cpu.sources[i];
        const probes_int_t *o = (const probes_int_t *)((const char *)s + off);
        if (i != from && o->ok && o->v != v->v) {
            char a[32], b[32];
            snprintf(a, sizeof a, "%" PRId64, o->v);
            snprintf(b, sizeof b, "%" PRId64, v->v);
            add_dis(dev, field, src_names[i], a, src_names[from], b);
        }
    }
}

static void merge_cpu(const pr_ctx_t *c, probes_device_t *dev)
{
    (void)c;
    /* Identity: the CPU itself first, then the kernel's view, then libcpuid. */
    const int id_order[] = {PROBES_SRC_CPUID, PROBES_SRC_CPUINFO, PROBES_SRC_LIBCPUID};
    /* Counts: the kernel's topology first. */
    const int count_order[] = {PROBES_SRC_SYSFS, PROBES_SRC_CPUINFO, PROBES_SRC_LIBCPUID};
    merge_str(dev, &dev->cpu.vendor, "vendor", offsetof(probes_cpu_source_t, vendor), id_order, 3);
    merge_str(dev, &dev->cpu.brand, "brand", offsetof(probes_cpu_source_t, brand), id_order, 3);
    merge_int(dev, &dev->cpu.family, "family", offsetof(probes_cpu_source_t, family), id_order, 3);
    merge_int(dev, &dev->cpu.model, "model", offsetof(probes_cpu_source_t, model), id_order, 3);
    merge_int(dev, &dev->cpu.stepping, "stepping", offsetof(probes_cpu_source_t, stepping), id_order, 3);
    merge_int(dev, &dev->cpu.packages, "packages", offsetof(probes_cpu_source_t, packages), count_order, 3);
    merge_int(dev, &dev->cpu.cores, "cores", offsetof(probes_cpu_source_t, cores), count_order, 3);
    merge_int(dev, &dev->cpu.threads, "threads", offsetof(probes_cpu_source_t, threads), count_order, 3);
    /* caches: sysfs is the reference, libcpuid is compared with it */
    const int cache_order[] = {PROBES_SRC_SYSFS, PROBES_SRC_LIBCPUID};
    probes_int_t tmp;
    memset(&tmp, 0, sizeof tmp);
    merge_int(dev, &tmp, "l1d_bytes", offsetof(probes_cpu_source_t, l1d_bytes), cache_order, 2);
    merge_int(dev, &tmp, "l2_bytes", offsetof(probes_cpu_source_t, l2_bytes), cache_order, 2);
    merge_int(dev, &tmp, "l3_bytes", offsetof(probes_cpu_source_t, l3_bytes), cache_order, 2);
    /* No cache topology in sysfs (some VMs): fall back to libcpuid's sizes, said so. */
    const probes_cpu_source_t *lcs = &dev->cpu.sources[PROBES_SRC_LIBCPUID];
    if (!dev->cpu.n_caches && lcs->available) {
        const probes_int_t *sz[3] = {&lcs->l1d_bytes, &lcs->l2_bytes, &lcs->l3_bytes};
        dev->cpu.caches = calloc(3, sizeof *dev->cpu.caches);
        for (int i = 0; i < 3 && dev->cpu.caches; i++) {
            if (!sz[i]->ok || sz[i]->v <= 0)
                continue;
            probes_cache_t *k = &dev->cpu.caches[dev->cpu.n_caches++];
            k->level = i + 1;
            snprintf(k->type, sizeof k->type, "%s", i ? "Unified" : "Data");
            k->size_bytes = *sz[i];
            pr_why(k->line_bytes.why, "libcpuid source: line size not read");
            pr_why(k->ways.why, "libcpuid source: associativity not read");
            snprintf(k->shared_cpus, sizeof k->shared_cpus, "?");
        }
        if (dev->cpu.n_caches)
            pr_why(dev->cpu.caches_why, "sysfs cache topology missing: sizes from libcpuid");
    }

    /* microarchitecture: our table from vendor/family/model, else ARM parts, else libcpuid */
    const probes_cpu_source_t *lc = &dev->cpu.sources[PROBES_SRC_LIBCPUID];
    const char *ua = NULL;
    if (dev->cpu.vendor.ok && dev->cpu.family.ok && dev->cpu.model.ok)
        ua = pr_x86_uarch(dev->cpu.vendor.v, (int)dev->cpu.family.v, (int)dev->cpu.model.v);
    if (ua) {
        pr_str_set(&dev->cpu.uarch, ua);
        if (lc->available && lc->uarch.ok) {
            /* libcpuid names products ("Abu Dhabi"), not cores: a mismatch is noted, not judged by name */
            char ref[80];
            snprintf(ref, sizeof ref, "%s (family 0x%" PRIx64 " model 0x%" PRIx64 ")", ua, dev->cpu.family.v,
                     dev->cpu.model.v);
            add_dis(dev, "uarch", "libcpuid", lc->uarch.v, "table", ref);
        }
    } else if (dev->cpu.sources[PROBES_SRC_CPUINFO].uarch.ok) {
        dev->cpu.uarch = dev->cpu.sources[PROBES_SRC_CPUINFO].uarch;
    } else if (lc->available && lc->uarch.ok) {
        dev->cpu.uarch = lc->uarch;
    } else {
        pr_why(dev->cpu.uarch.why, "unknown CPU: not in the microarchitecture tables");
        pr_warn(c, "cpu: %s", dev->cpu.uarch.why);
    }

    /* features: the dispatch set against every other source that can tell */
    int ref = c->host ? (dev->cpu.sources[PROBES_SRC_CPUID].available ? PROBES_SRC_CPUID : PROBES_SRC_HWCAP) : -1;
    if (ref < 0 || !dev->cpu.sources[ref].available)
        return;
    const probes_cpu_source_t *r = &dev->cpu.sources[ref];
    for (int si = 0; si < PROBES_SRC_COUNT; si++) {
        const probes_cpu_source_t *s = &dev->cpu.sources[si];
        if (si == ref || !s->available)
            continue;
        for (int f = 0; f < PROBES_FEAT_COUNT; f++) {
            if (!probes_features_has(&r->known, (probes_feature_t)f))
                continue;
            if (!probes_features_has(&s->known, (probes_feature_t)f)) {
                /* e.g. libcpuid 0.6.2 has no AVX-512 BF16 / AVX-VNNI flag: say it
                 * cannot see a feature the CPU has */
                if (si == PROBES_SRC_LIBCPUID && probes_features_has(&r->features, (probes_feature_t)f)) {
                    char field[48];
                    snprintf(field, sizeof field, "feature %s", probes_feature_name((probes_feature_t)f));
                    add_dis(dev, field, src_names[si], "not reported (unknown to this version)", src_names[ref],
                            "present");
                }
                continue;
            }
            bool a = probes_features_has(&s->features, (probes_feature_t)f);
            bool b = probes_features_has(&r->features, (probes_feature_t)f);
            if (a != b) {
                char field[48];
                snprintf(field, sizeof field, "feature %s", probes_feature_name((probes_feature_t)f));
                add_dis(dev, field, src_names[si], a ? "present" : "absent", src_names[ref], b ? "present" : "absent");
            }
        }
    }
}

/* sha256 over identity fields only (no readings), so results group by device. */
static void fingerprint(probes_device_t *dev)
{
    char buf[2048];
    size_t l = 0;
#define FP_STR(x) l += (size_t)snprintf(buf + l, sizeof buf - l, "%s|", (x).ok ? (x).v : "")
#define FP_INT(x) l += (size_t)snprintf(buf + l, sizeof buf - l, "%" PRId64 "|", (x).ok ? (x).v : -1)
    FP_STR(dev->system.arch);
    FP_STR(dev->cpu.vendor);
    FP_STR(dev->cpu.brand);
    FP_INT(dev->cpu.family);
    FP_INT(dev->cpu.model);
    FP_INT(dev->cpu.stepping);
    FP_INT(dev->cpu.threads);
    for (size_t i = 0; i < dev->cpu.n_clusters && l < sizeof buf - 200; i++) {
        const probes_cluster_t *cl = &dev->cpu.clusters[i];
        l += (size_t)snprintf(buf + l, sizeof buf - l, "%d:%s:%.0f|", cl->ncpus, cl->core_name.ok ? cl->core_name.v : "",
                              cl->max_mhz.ok ? cl->max_mhz.v : -1.0);
    }
    l += (size_t)snprintf(buf + l, sizeof buf - l, "%.0f|",
                          dev->memory.total_bytes.ok ? (double)dev->memory.total_bytes.v / (1 << 30) : -1.0);
    FP_STR(dev->system.android_manufacturer);
    FP_STR(dev->system.android_model);
#undef FP_STR
#undef FP_INT
    char hex[65];
    mb_sha256_hex(buf, MB_MIN(l, sizeof buf - 1), hex);
    memcpy(dev->fingerprint, hex, 16);
    dev->fingerprint[16] = '\0';
}

int probes_device_probe(const probes_opts_t *opts, probes_device_t *dev)
{
    memset(dev, 0, sizeof *dev);
    const char *root = opts && opts->root ? opts->root : probes_root_get();
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return mb_err_set(MB_ENOENT, "probe root '%s' is not a directory; pass an existing tree to --sysfs-root",
                          root);
    pr_copy(dev->root, sizeof dev->root, root);
    char norm[512];
    pr_copy(norm, sizeof norm, root);
    size_t nl = strlen(norm);
    while (nl > 0 && norm[nl - 1] == '/')
        norm[--nl] = '\0';
    char real[PATH_MAX];
    bool host = realpath(root, real) && !strcmp(real, "/");
    pr_ctx_t c = {.root = norm, .host = host, .quiet = opts && opts->quiet, .warnings = &dev->warnings};
    dev->timestamp = mb_clock_wall();
    for (int i = 0; i < PROBES_SRC_COUNT; i++)
        dev->cpu.sources[i].name = src_names[i];

    ci_t ci;
    memset(&ci, 0, sizeof ci);
    ci.cpu = calloc(MAX_CPUS, sizeof *ci.cpu);
    bool *online = calloc(MAX_CPUS, sizeof *online);
    if (!ci.cpu || !online) {
        free(ci.cpu);
        free(online);
        return mb_err_set(MB_ENOMEM, "out of memory probing the device");
    }
    probe_cpuinfo(&c, dev, &ci);
    probe_topology(&c, dev, &ci, online);

    pr_x86_extra_t extra;
    memset(&extra, 0, sizeof extra);
    if (host) {
        pr_cpuid_source(&dev->cpu.sources[PROBES_SRC_CPUID], &extra);
        pr_libcpuid_source(&dev->cpu.sources[PROBES_SRC_LIBCPUID]);
        pr_hwcap_source(&dev->cpu.sources[PROBES_SRC_HWCAP]);
    } else {
        for (int i = PROBES_SRC_CPUID; i <= PROBES_SRC_HWCAP; i++)
            pr_why(dev->cpu.sources[i].why, "not used under a --sysfs-root tree (it describes this host)");
    }
    /* Dispatch features always come from the running CPU (kernels run here). */
    probes_features_detect(&dev->cpu.features);
#if defined(__aarch64__)
    dev->cpu.features_source = "hwcap (this host)";
#elif defined(__x86_64__) || defined(__i386__)
    dev->cpu.features_source = "cpuid+xgetbv (this host)";
#else
    dev->cpu.features_source = "none (unknown architecture)";
#endif

    probe_hybrid(&c, dev, extra.hybrid);
    probe_freq(&c, dev, &ci);
    make_clusters(dev, ci.x86 || (host && dev->cpu.sources[PROBES_SRC_CPUID].available));
    probe_caches(&c, dev);
    probe_memory(&c, dev);
    probe_thermal(&c, dev);
    probe_power(&c, dev);
    probe_system(&c, dev, &ci);
    merge_cpu(&c, dev);

    /* hypervisor: CPUID bit on the host, else the cpuinfo flag (x86) */
    if (host && dev->cpu.sources[PROBES_SRC_CPUID].available) {
        pr_int_set(&dev->system.hypervisor, extra.hypervisor);
        if (ci.x86 && ci.hypervisor_flag != extra.hypervisor)
            add_dis(dev, "hypervisor", "cpuinfo", ci.hypervisor_flag ? "yes" : "no", "cpuid",
                    extra.hypervisor ? "yes" : "no");
        if (extra.hypervisor && extra.hypervisor_vendor[0])
            pr_str_set(&dev->system.hypervisor_vendor, extra.hypervisor_vendor);
        else
            pr_why(dev->system.hypervisor_vendor.why, extra.hypervisor ? "no vendor signature" : "no hypervisor");
    } else if (ci.x86 && dev->cpu.sources[PROBES_SRC_CPUINFO].available) {
        pr_int_set(&dev->system.hypervisor, ci.hypervisor_flag);
        pr_why(dev->system.hypervisor_vendor.why, "only CPUID leaf 0x40000000 names it (host only)");
    } else {
        pr_read_str(&c, &dev->system.hypervisor_vendor, "sys/hypervisor/type", "system", false);
        if (dev->system.hypervisor_vendor.ok)
            pr_int_set(&dev->system.hypervisor, 1);
        else
            pr_why(dev->system.hypervisor.why, "no hypervisor flag available on this architecture");
    }

    fingerprint(dev);
    free(ci.cpu);
    free(online);
    return MB_OK;
}

void probes_device_free(probes_device_t *dev)
{
    if (!dev)
        return;
    free(dev->cpu.disagreements);
    free(dev->cpu.cores_list);
    free(dev->cpu.clusters);
    free(dev->cpu.caches);
    free(dev->memory.zram);
    free(dev->thermal.zones);
    free(dev->thermal.hwmon);
    free(dev->thermal.cooling);
    free(dev->power.rapl);
    free(dev->power.batteries);
    memset(dev, 0, sizeof *dev);
}
