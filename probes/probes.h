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

#endif /* PROBES_H */
