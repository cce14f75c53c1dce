/* cpuid_x86.c: the CPU's own answer (CPUID) about identity, the hypervisor
 * bit and hybrid core types. x86 only; elsewhere the source is unavailable. */
#include "probes_impl.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <sched.h>

void pr_cpuid_source(probes_cpu_source_t *src, pr_x86_extra_t *extra)
{
    memset(extra, 0, sizeof *extra);
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) {
        src->available = false;
        pr_why(src->why, "CPUID not supported");
        return;
    }
    src->available = true;
    unsigned max_leaf = a;
    char vendor[13];
    memcpy(vendor, &b, 4);
    memcpy(vendor + 4, &d, 4);
    memcpy(vendor + 8, &c, 4);
    vendor[12] = '\0';
    pr_str_set(&src->vendor, vendor);

    __get_cpuid(1, &a, &b, &c, &d);
    int base_family = (a >> 8) & 0xf, base_model = (a >> 4) & 0xf;
    int family = base_family, model = base_model;
    if (base_family == 0xf)
        family += (a >> 20) & 0xff;
    if (base_family == 0x6 || base_family == 0xf)
        model += ((a >> 16) & 0xf) << 4;
    pr_int_set(&src->family, family);
    pr_int_set(&src->model, model);
    pr_int_set(&src->stepping, a & 0xf);
    extra->hypervisor = (c >> 31) & 1;

    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        extra->hybrid = (d >> 15) & 1;
    }

    unsigned ext_max = __get_cpuid_max(0x80000000u, NULL);
    if (ext_max >= 0x80000004u) {
        char brand[49];
        for (unsigned i = 0; i < 3; i++) {
            __get_cpuid(0x80000002u + i, &a, &b, &c, &d);
            memcpy(brand + 16 * i, &a, 4);
            memcpy(brand + 16 * i + 4, &b, 4);
            memcpy(brand + 16 * i + 8, &c, 4);
            memcpy(brand + 16 * i + 12, &d, 4);
        }
        brand[48] = '\0';
        char *p = brand;
        while (*p == ' ')
            p++;
        pr_trim(p);
        pr_str_set(&src->brand, p);
    } else {
        pr_why(src->brand.why, "CPUID has no brand string leaves");
    }
    if (extra->hypervisor) {
        /* Leaf 0x40000000: hypervisor vendor signature ("KVMKVMKVM", "Microsoft Hv"). */
        __cpuid(0x40000000u, a, b, c, d);
        char hv[13];
        memcpy(hv, &b, 4);
        memcpy(hv + 4, &c, 4);
        memcpy(hv + 8, &d, 4);
        hv[12] = '\0';
        for (int i = 0; i < 12; i++)
            if ((unsigned char)hv[i] < 0x20 || (unsigned char)hv[i] > 0x7e)
                hv[i] = hv[i] ? '?' : '\0';
        pr_trim(hv);
        pr_copy(extra->hypervisor_vendor, sizeof extra->hypervisor_vendor, hv);
    }
    pr_why(src->cores.why, "CPUID topology is not decoded; see the sysfs source");
    pr_why(src->threads.why, "CPUID topology is not decoded; see the sysfs source");
    pr_why(src->packages.why, "CPUID topology is not decoded; see the sysfs source");
    pr_why(src->uarch.why, "CPUID has no microarchitecture name");
    pr_why(src->version.why, "not applicable");
    pr_why(src->l1d_bytes.why, "cache leaves not decoded; see sysfs");
    pr_why(src->l2_bytes.why, "cache leaves not decoded; see sysfs");
    pr_why(src->l3_bytes.why, "cache leaves not decoded; see sysfs");
    probes_features_detect(&src->features);
    for (int i = 0; i <= PROBES_FEAT_AMX_BF16; i++)
        probes_features_add(&src->known, (probes_feature_t)i);
}

bool pr_cpuid_hybrid_types(int ncpus, int *types)
{
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 0x1a)
        return false;
    __cpuid_count(7, 0, a, b, c, d);
    if (!((d >> 15) & 1))
        return false;
    cpu_set_t old;
    if (sched_getaffinity(0, sizeof old, &old) != 0)
        return false;
    for (int i = 0; i < ncpus && i < CPU_SETSIZE; i++) {
        types[i] = 0;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(i, &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0)
            continue;
        __cpuid_count(0x1a, 0, a, b, c, d);
        types[i] = (int)(a >> 24);
    }
    sched_setaffinity(0, sizeof old, &old);
    return true;
}

#else

void pr_cpuid_source(probes_cpu_source_t *src, pr_x86_extra_t *extra)
{
    memset(extra, 0, sizeof *extra);
    src->available = false;
    pr_why(src->why, "CPUID exists on x86 only");
}

bool pr_cpuid_hybrid_types(int ncpus, int *types)
{
    (void)ncpus;
    (void)types;
    return false;
}

#endif
