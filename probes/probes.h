/*
 * probes.h: what the device is. CPU identity and ISA features (libcpuid
 * cross-checked against CPUID/XGETBV, HWCAP and /proc/cpuinfo), memory,
 * thermal zones, frequencies, power; measured ceilings (bandwidth, peak
 * ops); a background sensor sampler.
 *
 * Stands alone: depends only on common/ (mb.h) and libcpuid.
 * All file reads go through a root directory (probes_root_set, env
 * MOBENCH_SYSFS_ROOT) so tests run on fixture trees.
 */
#ifndef PROBES_H
#define PROBES_H

#include "mb.h"

/* ---- ISA features: the set kernel dispatch uses ----------------------------
 * Detected from the CPU itself (CPUID + XGETBV on x86: what the OS enabled;
 * getauxval(AT_HWCAP/AT_HWCAP2) on ARM), never from libcpuid alone. */
typedef enum {
    /* x86 */
    PROBES_FEAT_SSE42,
    PROBES_FEAT_AVX,
    PROBES_FEAT_AVX2,
    PROBES_FEAT_FMA,
    PROBES_FEAT_F16C,
    PROBES_FEAT_AVX512F,
    PROBES_FEAT_AVX512BW,
    PROBES_FEAT_AVX512VL,
    PROBES_FEAT_AVX512DQ,
    PROBES_FEAT_AVX512_VNNI,
    PROBES_FEAT_AVX512_BF16,
    PROBES_FEAT_AVX_VNNI,
    PROBES_FEAT_AMX_TILE,
    PROBES_FEAT_AMX_INT8,
    PROBES_FEAT_AMX_BF16,
    /* ARM */
    PROBES_FEAT_ASIMD,
    PROBES_FEAT_ARM_FP16,
    PROBES_FEAT_DOTPROD,
    PROBES_FEAT_I8MM,
    PROBES_FEAT_ARM_BF16,
    PROBES_FEAT_SVE,
    PROBES_FEAT_SVE2,
    PROBES_FEAT_SME,
    PROBES_FEAT_COUNT
} probes_feature_t;

typedef struct {
    uint64_t bits; /* bit i set = feature i present and usable */
} probes_features_t;

/* Detects the features of the CPU this runs on. Cheap (no file reads on x86);
 * never fails: an undetectable feature is absent. */
void probes_features_detect(probes_features_t *out);
static inline bool probes_features_has(const probes_features_t *f, probes_feature_t feat)
{
    return (f->bits >> feat) & 1u;
}
static inline void probes_features_add(probes_features_t *f, probes_feature_t feat)
{
    f->bits |= (uint64_t)1 << feat;
}
/* "avx2", "avx512_vnni", "dotprod", ... (the names used in JSON and --kernel help). */
const char *probes_feature_name(probes_feature_t feat);
/* A feature set from a list of those names ("avx2,fma,f16c,avx512f"; commas
 * or blanks between, case ignored), for asking dispatch about another CPU.
 * Unknown name: MB_EINVAL naming it, a near miss and the known names. */
int probes_features_parse(const char *list, probes_features_t *out);

/* ---- root: every sysfs/procfs/etc read goes below it ------------------------
 * "/" probes this machine; a fixture tree holds proc/cpuinfo, sys/..., etc/...
 * Default: env MOBENCH_SYSFS_ROOT, else "/". Under a non-"/" root the sources
 * that describe the running CPU itself (CPUID, libcpuid, HWCAP, uname) are
 * not used, since they would describe the host, not the tree. */
int probes_root_set(const char *dir); /* NULL or "" = back to the default */
const char *probes_root_get(void);

/* ---- nullable values: ok, or null with a reason ----------------------------- */
#define PROBES_WHY_LEN 120
#define PROBES_STR_LEN 128
typedef struct { bool ok; int64_t v; char why[PROBES_WHY_LEN]; } probes_int_t;
typedef struct { bool ok; double v; char why[PROBES_WHY_LEN]; } probes_num_t;
typedef struct { bool ok; char v[PROBES_STR_LEN]; char why[PROBES_WHY_LEN]; } probes_str_t;

/* ---- the device record --------------------------------------------------------- */
typedef enum {
    PROBES_SRC_CPUID,    /* the CPU's own CPUID + XGETBV (x86, host only) */
    PROBES_SRC_LIBCPUID, /* libcpuid's cpu_identify (x86, host only) */
    PROBES_SRC_HWCAP,    /* getauxval(AT_HWCAP/AT_HWCAP2) (ARM, host only) */
    PROBES_SRC_CPUINFO,  /* /proc/cpuinfo under the root */
    PROBES_SRC_SYSFS,    /* /sys/devices/system/cpu topology and caches */
    PROBES_SRC_COUNT
} probes_source_id_t;

/* One source's answer about the CPU. */
typedef struct {
    const char *name; /* "cpuid", "libcpuid", ... */
    bool available;
    char why[PROBES_WHY_LEN]; /* why not available */
    probes_str_t version;     /* libcpuid's version */
    probes_str_t vendor, brand, uarch; /* uarch: libcpuid's codename, ARM part name */
    probes_int_t family, model, stepping, packages, cores, threads;
    probes_int_t l1d_bytes, l2_bytes, l3_bytes;
    probes_features_t features; /* present */
    probes_features_t known;    /* features this source can tell about */
} probes_cpu_source_t;

/* "source says value, reference says ref_value". */
typedef struct {
    char field[48];
    char source[16];
    char value[80];
    char reference[16];
    char ref_value[80];
} probes_disagreement_t;

typedef struct {
    int cpu;                            /* logical CPU number */
    probes_int_t package, core_id;
    probes_num_t cur_mhz, min_mhz, max_mhz; /* max: cpuinfo_max_freq (hardware limit) */
    probes_num_t scaling_max_mhz;
    probes_str_t governor, driver;
    probes_int_t capacity;              /* cpu_capacity (ARM, 1024 = biggest) */
    probes_int_t arm_implementer, arm_part;
    probes_str_t core_type;             /* "performance"/"efficiency" (x86 hybrid) or ARM part name */
    int cluster;                        /* index into clusters */
} probes_core_t;

/* Logical CPU numbers a cluster's mask can hold (Linux's default NR_CPUS for arm64). */
#define PROBES_MAX_CPUS 1024
typedef struct {
    int ncpus;
    char cpus[96];           /* "4-6" (compact list) */
    uint64_t mask[PROBES_MAX_CPUS / 64]; /* bit i of word i/64 set = CPU i is in the cluster */
    probes_num_t max_mhz;
    probes_int_t capacity;
    probes_str_t core_name;  /* "Cortex-A76", "performance" */
    /* "little" (smallest cores), "big" (biggest), "mid" (every cluster in
     * between), or "uniform" (one cluster). Clusters are ordered by
     * cpu_capacity, then max MHz (x86 hybrid: efficiency before performance),
     * so `--cluster big|mid|little` resolves to the union of the clusters
     * with that role. */
    char role[16];
} probes_cluster_t;
static inline bool probes_cluster_has_cpu(const probes_cluster_t *cl, int cpu)
{
    return cpu >= 0 && cpu < PROBES_MAX_CPUS && ((cl->mask[cpu / 64] >> (cpu % 64)) & 1u);
}

typedef struct {
    int level;
    char type[16]; /* "Data", "Instruction", "Unified" */
    probes_int_t size_bytes, line_bytes, ways;
    char shared_cpus[64];
} probes_cache_t;

#define PROBES_MAX_TRIPS 16
typedef struct {
    int index;               /* N of thermal_zoneN */
    probes_str_t type;
    probes_num_t temp_c;
    int ntrips;
    struct { probes_num_t temp_c; char type[16]; } trips[PROBES_MAX_TRIPS];
} probes_thermal_zone_t;

typedef struct {
    char chip[48];    /* hwmon 'name' (coretemp, k10temp, ...) or hwmonN */
    char sensor[16];  /* "temp1" */
    probes_str_t label;
    probes_num_t temp_c;
} probes_hwmon_temp_t;

typedef struct {
    int index;
    probes_str_t type;
    probes_int_t cur_state, max_state;
} probes_cooling_t;

typedef struct {
    char zone[48]; /* "intel-rapl:0" */
    probes_str_t name;
    probes_int_t energy_uj, max_energy_range_uj;
} probes_rapl_t;

typedef struct {
    char name[48]; /* power_supply entry, e.g. "battery" */
    probes_int_t capacity_pct;
    probes_str_t status, technology;
    probes_int_t current_ua, voltage_uv;
    probes_num_t temp_c;
} probes_battery_t;

typedef struct {
    char name[16]; /* "zram0" */
    probes_int_t disksize_bytes, orig_bytes, compr_bytes, mem_used_bytes;
    probes_str_t algorithm;
} probes_zram_t;

typedef struct {
    char root[512];
    char fingerprint[17]; /* first 16 hex chars of sha256(identity fields) */
    double timestamp;     /* wall clock, seconds since the epoch */
    int warnings;         /* warnings issued while probing */

    struct {
        probes_str_t vendor, brand, uarch;
        probes_int_t family, model, stepping;
        probes_int_t packages, cores, threads;
        probes_features_t features; /* dispatch set: CPUID+XGETBV / HWCAP of THIS host */
        const char *features_source;
        probes_cpu_source_t sources[PROBES_SRC_COUNT];
        probes_disagreement_t *disagreements;
        size_t n_disagreements;
        probes_core_t *cores_list;
        size_t n_cores_list;
        probes_cluster_t *clusters;
        size_t n_clusters;
        probes_cache_t *caches;
        size_t n_caches;
        char freq_source[16]; /* "cpufreq", "cpuinfo" (MHz fallback) or "" */
        char caches_why[PROBES_WHY_LEN];
    } cpu;
    struct {
        probes_int_t total_bytes, available_bytes, swap_total_bytes, swap_free_bytes;
        probes_int_t page_size;
        probes_str_t thp; /* transparent huge pages: "always", "madvise", "never" */
        probes_zram_t *zram;
        size_t n_zram;
        char zram_why[PROBES_WHY_LEN];
    } memory;
    struct {
        probes_thermal_zone_t *zones;
        size_t n_zones;
        char zones_why[PROBES_WHY_LEN];
        probes_hwmon_temp_t *hwmon;
        size_t n_hwmon;
        char hwmon_why[PROBES_WHY_LEN];
        probes_cooling_t *cooling;
        size_t n_cooling;
        char cooling_why[PROBES_WHY_LEN];
    } thermal;
    struct {
        probes_rapl_t *rapl;
        size_t n_rapl;
        char rapl_why[PROBES_WHY_LEN];
        probes_battery_t *batteries;
        size_t n_batteries;
        char batteries_why[PROBES_WHY_LEN];
    } power;
    struct {
        probes_str_t kernel, kernel_version, arch, hostname;
        probes_str_t os_name, os_id, os_version;
        bool android;
        probes_str_t android_manufacturer, android_model, android_device, android_release,
            android_sdk, android_soc, android_platform, android_build, android_soc_manufacturer;
        char android_source[32]; /* "getprop", "build.prop", "getprop+build.prop" */
        probes_int_t hypervisor; /* 0/1 */
        probes_str_t hypervisor_vendor;
    } system;
} probes_device_t;

typedef struct {
    const char *root; /* NULL = probes_root_get() */
    bool quiet;       /* no warnings on stderr (they are still counted) */
} probes_opts_t;

/* Fills *dev (which it zeroes first). Never fails on unreadable or absurd
 * input: those fields are null with a reason. Returns MB_ENOMEM only, or
 * MB_ENOENT when the root directory itself does not exist. Free with
 * probes_device_free (also after a failure). */
int probes_device_probe(const probes_opts_t *opts, probes_device_t *dev);
void probes_device_free(probes_device_t *dev);
/* Writes the record as one JSON object (schema: docs/probe.md). */
int probes_device_json(const probes_device_t *dev, mb_json_t *j);
/* The same members without the enclosing braces, to add more (e.g. "ceilings"). */
int probes_device_json_fields(const probes_device_t *dev, mb_json_t *j);
/* Writes a readable table to f. */
void probes_device_print(const probes_device_t *dev, FILE *f);
/* Name of an ARM core from implementer and part ("Cortex-A76"), NULL if unknown. */
const char *probes_arm_part_name(int implementer, int part);

/* ---- measured ceilings -------------------------------------------------------- */
#define PROBES_MAX_THREAD_COUNTS 16
typedef struct {
    int threads[PROBES_MAX_THREAD_COUNTS]; /* thread counts to measure; n_threads = 0: 1..nproc */
    int n_threads;
    uint64_t buffer_bytes; /* 0: min(1 GiB, RAM/4) */
    int passes;            /* timed passes per figure (best and median kept); 0: 5 */
    bool quiet;            /* no progress on stderr */
} probes_ceilings_opts_t;

typedef struct {
    int threads;
    double read_gbs, copy_gbs, triad_gbs; /* GB/s = 1e9 bytes/s, fastest pass; read: the faster
                                             of the two read kernels below */
    double read_plain_gbs, read_prefetch_gbs; /* plain loads; with a software prefetch */
    double read_median_gbs, copy_median_gbs, triad_median_gbs; /* median pass */
} probes_bw_point_t;

typedef struct {
    char name[32];   /* "f32_fma_avx512", "i8_dot_avx512vnni", ... */
    char kind[8];    /* "f32" (GFLOP/s) or "i8" (GOP/s) */
    char isa[24];    /* feature the kernel needs */
    int n;           /* points */
    int threads[PROBES_MAX_THREAD_COUNTS];
    double gops[PROBES_MAX_THREAD_COUNTS];        /* fastest pass (the ceiling) */
    double gops_median[PROBES_MAX_THREAD_COUNTS]; /* median pass */
} probes_peak_t;

#define PROBES_MAX_PEAKS 12
typedef struct {
    uint64_t buffer_bytes;
    int passes;
    const char *read_kernel; /* variant used for the bandwidth kernels */
    int n_bw;
    probes_bw_point_t bw[PROBES_MAX_THREAD_COUNTS];
    int n_peaks;
    probes_peak_t peaks[PROBES_MAX_PEAKS];
    double seconds; /* wall time of the whole measurement */
} probes_ceilings_t;

/* Measures bandwidth and peaks on this host (never under a fixture root). */
int probes_ceilings_measure(const probes_ceilings_opts_t *opts, probes_ceilings_t *out);
/* A read-bandwidth meter that keeps its buffer between measurements, for
 * ratios taken against the bandwidth of the same minute (`mobench bench
 * --roofline-paired` measures one before each decode rep): on a shared or
 * throttling machine the bandwidth moves, and a ceiling from another minute
 * moves every ratio with it. The buffer (bytes; 0 = the probe's default,
 * min(1 GiB, RAM/4)) is mapped and touched once, by the process that will
 * measure (bench_probe_meter: each cell's child maps its own). */
typedef struct probes_bw_meter probes_bw_meter_t;
int probes_bw_meter_create(uint64_t bytes, probes_bw_meter_t **out);
uint64_t probes_bw_meter_default_bytes(void); /* min(1 GiB, RAM/4) */
void probes_bw_meter_destroy(probes_bw_meter_t *m); /* NULL: no-op */
uint64_t probes_bw_meter_bytes(const probes_bw_meter_t *m);
/* The fastest of `passes` read passes (1..64) over the whole buffer by
 * `threads` pinned threads (1..256), each read kernel after one untimed
 * pass, in GB/s (1e9 bytes/s): the statistic probes_ceilings_measure keeps
 * as read_gbs (the faster of the plain and the prefetching kernel). */
int probes_bw_meter_read(probes_bw_meter_t *m, int threads, int passes, double *gbs);
/* Writes the "ceilings" object. */
void probes_ceilings_json(const probes_ceilings_t *c, mb_json_t *j);
void probes_ceilings_print(const probes_ceilings_t *c, FILE *f);

/* ---- sampler: temperatures and frequencies in the background ------------------ */
typedef struct probes_sampler probes_sampler_t;

#define PROBES_SAMPLER_MAX_CPUS 64
typedef struct {
    uint64_t t_ns;      /* mb_clock_ns() at the sample */
    float hottest_c;    /* NaN if no sensor could be read */
    int ncpus;          /* cpus with a frequency sensor (<= PROBES_SAMPLER_MAX_CPUS) */
    float mhz[PROBES_SAMPLER_MAX_CPUS]; /* NaN where unreadable */
} probes_sample_t;

/* period_ms 0 = 250; capacity = ring size in samples (0 = 4096); root NULL =
 * probes_root_get(). Opens the sensor files once. */
int probes_sampler_create(unsigned period_ms, size_t capacity, const char *root,
                          probes_sampler_t **out);
int probes_sampler_start(probes_sampler_t *s);
/* Returns after the thread has stopped (at most one read cycle). */
int probes_sampler_stop(probes_sampler_t *s);
/* Copies up to max of the most recent samples, oldest first; *n gets the count. */
int probes_sampler_read(probes_sampler_t *s, probes_sample_t *out, size_t max, size_t *n);
/* Samples taken since create (including those overwritten in the ring). */
uint64_t probes_sampler_count(const probes_sampler_t *s);
/* Number of temperature and frequency files the sampler reads. */
void probes_sampler_sensors(const probes_sampler_t *s, int *n_temp, int *n_freq);
void probes_sampler_destroy(probes_sampler_t *s);

#endif /* PROBES_H */
