/* libcpuid_src.c: libcpuid's answer, recorded as one source among others.
 * Compiled with MB_HAVE_LIBCPUID only where the library exists (x86 builds);
 * never used for kernel dispatch (Debian 12's 0.6.2 misreads Zen 5, see
 * docs/probe.md). */
#include "probes_impl.h"

#include <string.h>

#if defined(MB_HAVE_LIBCPUID) && (defined(__x86_64__) || defined(__i386__))
#include <libcpuid.h>

static void set_cache(probes_int_t *v, int32_t kb)
{
    if (kb < 0)
        pr_why(v->why, "libcpuid could not determine it");
    else
        pr_int_set(v, (int64_t)kb * 1024);
}

void pr_libcpuid_source(probes_cpu_source_t *src)
{
    pr_str_set(&src->version, cpuid_lib_version());
    if (!cpuid_present()) {
        src->available = false;
        pr_why(src->why, "libcpuid: CPUID not present");
        return;
    }
    struct cpu_raw_data_t raw;
    struct cpu_id_t id;
    memset(&raw, 0, sizeof raw);
    memset(&id, 0, sizeof id);
    if (cpuid_get_raw_data(&raw) < 0 || cpu_identify(&raw, &id) < 0) {
        src->available = false;
        pr_why(src->why, "libcpuid failed: %s", cpuid_error());
        return;
    }
    src->available = true;
    pr_str_set(&src->vendor, id.vendor_str);
    pr_str_set(&src->brand, id.brand_str);
    pr_trim(src->brand.v); /* libcpuid keeps CPUID's space padding */
    if (id.cpu_codename[0])
        pr_str_set(&src->uarch, id.cpu_codename);
    else
        pr_why(src->uarch.why, "libcpuid gave no codename");
    pr_int_set(&src->family, id.ext_family);
    pr_int_set(&src->model, id.ext_model);
    pr_int_set(&src->stepping, id.stepping);
    /* Reported as given, even 0: the disagreement check is the point. */
    pr_int_set(&src->cores, id.num_cores);
    pr_int_set(&src->threads, id.total_logical_cpus);
    pr_why(src->packages.why, "libcpuid does not count packages");
    set_cache(&src->l1d_bytes, id.l1_data_cache);
    set_cache(&src->l2_bytes, id.l2_cache);
    set_cache(&src->l3_bytes, id.l3_cache);
    static const struct { probes_feature_t f; cpu_feature_t lf; } map[] = {
        {PROBES_FEAT_SSE42, CPU_FEATURE_SSE4_2},     {PROBES_FEAT_AVX, CPU_FEATURE_AVX},
        {PROBES_FEAT_AVX2, CPU_FEATURE_AVX2},        {PROBES_FEAT_FMA, CPU_FEATURE_FMA3},
        {PROBES_FEAT_F16C, CPU_FEATURE_F16C},        {PROBES_FEAT_AVX512F, CPU_FEATURE_AVX512F},
        {PROBES_FEAT_AVX512BW, CPU_FEATURE_AVX512BW}, {PROBES_FEAT_AVX512VL, CPU_FEATURE_AVX512VL},
        {PROBES_FEAT_AVX512DQ, CPU_FEATURE_AVX512DQ}, {PROBES_FEAT_AVX512_VNNI, CPU_FEATURE_AVX512VNNI},
    };
    for (size_t i = 0; i < MB_ARRAY_LEN(map); i++) {
        probes_features_add(&src->known, map[i].f);
        if (id.flags[map[i].lf])
            probes_features_add(&src->features, map[i].f);
    }
}

#else

void pr_libcpuid_source(probes_cpu_source_t *src)
{
    src->available = false;
#if defined(__x86_64__) || defined(__i386__)
    pr_why(src->why, "built without libcpuid");
#else
    pr_why(src->why, "libcpuid identifies x86 CPUs only");
#endif
}

#endif
