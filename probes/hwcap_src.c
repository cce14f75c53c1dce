/* hwcap_src.c: the kernel's HWCAP answer on ARM (the dispatch set there). */
#include "probes_impl.h"

void pr_hwcap_source(probes_cpu_source_t *src)
{
#if defined(__aarch64__)
    src->available = true;
    probes_features_detect(&src->features);
    for (int i = PROBES_FEAT_ASIMD; i < PROBES_FEAT_COUNT; i++)
        probes_features_add(&src->known, (probes_feature_t)i);
#else
    src->available = false;
    pr_why(src->why, "HWCAP features are read on AArch64 only");
#endif
}
