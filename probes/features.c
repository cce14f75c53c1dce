/* features.c: ISA features kernel dispatch uses, from the CPU itself.
 * x86: CPUID leaves 1 and 7 (subleaves 0, 1), gated by XGETBV so a feature
 * only counts when the OS saves its registers. ARM: getauxval(HWCAP/HWCAP2).
 * Never from libcpuid (which lags new CPUs, see docs/probe.md). */
#include "probes.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
#endif

static const char *const feature_names[PROBES_FEAT_COUNT] = {
    [PROBES_FEAT_SSE42] = "sse4_2",
    [PROBES_FEAT_AVX] = "avx",
    [PROBES_FEAT_AVX2] = "avx2",
    [PROBES_FEAT_FMA] = "fma",
    [PROBES_FEAT_F16C] = "f16c",
    [PROBES_FEAT_AVX512F] = "avx512f",
    [PROBES_FEAT_AVX512BW] = "avx512bw",
    [PROBES_FEAT_AVX512VL] = "avx512vl",
    [PROBES_FEAT_AVX512DQ] = "avx512dq",
    [PROBES_FEAT_AVX512_VNNI] = "avx512_vnni",
    [PROBES_FEAT_AVX512_BF16] = "avx512_bf16",
    [PROBES_FEAT_AVX_VNNI] = "avx_vnni",
    [PROBES_FEAT_AMX_TILE] = "amx_tile",
    [PROBES_FEAT_AMX_INT8] = "amx_int8",
    [PROBES_FEAT_AMX_BF16] = "amx_bf16",
    [PROBES_FEAT_ASIMD] = "asimd",
    [PROBES_FEAT_ARM_FP16] = "fp16",
    [PROBES_FEAT_DOTPROD] = "dotprod",
    [PROBES_FEAT_I8MM] = "i8mm",
    [PROBES_FEAT_ARM_BF16] = "bf16",
    [PROBES_FEAT_SVE] = "sve",
    [PROBES_FEAT_SVE2] = "sve2",
    [PROBES_FEAT_SME] = "sme",
};

const char *probes_feature_name(probes_feature_t feat)
{
    if ((int)feat < 0 || feat >= PROBES_FEAT_COUNT)
        return "unknown";
    return feature_names[feat];
}

int probes_features_parse(const char *list, probes_features_t *out)
{
    if (!list || !out)
        return mb_err_set(MB_EINVAL, "probes_features_parse: no list or no output");
    out->bits = 0;
    char choices[512];
    size_t off = 0;
    for (int i = 0; i < PROBES_FEAT_COUNT && off < sizeof choices; i++) {
        int w = snprintf(choices + off, sizeof choices - off, "%s%s", i ? ", " : "",
                         feature_names[i]);
        off = w > 0 ? off + (size_t)w : off;
    }
    const char *p = list;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, ", ");
        char word[32];
        if (n >= sizeof word)
            return mb_err_set(MB_EINVAL, "CPU feature '%.*s...' is too long; features: %s", 20, p,
                              choices);
        memcpy(word, p, n);
        word[n] = '\0';
        int found = -1;
        for (int i = 0; i < PROBES_FEAT_COUNT; i++)
            if (!strcasecmp(word, feature_names[i]))
                found = i;
        if (found < 0) {
            const char *near = mb_near_miss(word, choices);
            if (near)
                return mb_err_set(MB_EINVAL, "unknown CPU feature '%s' (did you mean '%s'?); "
                                  "features: %s", word, near, choices);
            return mb_err_set(MB_EINVAL, "unknown CPU feature '%s'; features: %s", word, choices);
        }
        probes_features_add(out, (probes_feature_t)found);
        p += n;
    }
    return 0;
}

#if defined(__x86_64__) || defined(__i386__)

/* XGETBV through inline asm: the _xgetbv intrinsic needs -mxsave. */
static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

void probes_features_detect(probes_features_t *out)
{
    out->bits = 0;
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d))
        return;
    unsigned max_leaf = a;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return;
    unsigned ecx1 = c;
    if (ecx1 & (1u << 20))
        probes_features_add(out, PROBES_FEAT_SSE42);

    /* OSXSAVE (ECX bit 27) must be set before XGETBV may run. */
    uint64_t xcr0 = (ecx1 & (1u << 27)) ? xgetbv0() : 0;
    bool os_avx = (xcr0 & 0x6) == 0x6;            /* XMM + YMM state */
    bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM_Hi256, Hi16_ZMM */
    bool os_amx = (xcr0 & (3u << 17)) == (3u << 17);  /* XTILECFG + XTILEDATA */

    if (os_avx) {
        if (ecx1 & (1u << 28))
            probes_features_add(out, PROBES_FEAT_AVX);
        if (ecx1 & (1u << 12))
            probes_features_add(out, PROBES_FEAT_FMA);
        if (ecx1 & (1u << 29))
            probes_features_add(out, PROBES_FEAT_F16C);
    }
    if (max_leaf < 7)
        return;
    __cpuid_count(7, 0, a, b, c, d);
    unsigned max_sub7 = a, ebx7 = b, ecx7 = c, edx7 = d;
    unsigned eax71 = 0;
    if (max_sub7 >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        eax71 = a;
    }
    if (os_avx) {
        if (ebx7 & (1u << 5))
            probes_features_add(out, PROBES_FEAT_AVX2);
        if (eax71 & (1u << 4))
            probes_features_add(out, PROBES_FEAT_AVX_VNNI);
    }
    if (os_avx512 && (ebx7 & (1u << 16))) {
        probes_features_add(out, PROBES_FEAT_AVX512F);
        if (ebx7 & (1u << 30))
            probes_features_add(out, PROBES_FEAT_AVX512BW);
        if (ebx7 & (1u << 31))
            probes_features_add(out, PROBES_FEAT_AVX512VL);
        if (ebx7 & (1u << 17))
            probes_features_add(out, PROBES_FEAT_AVX512DQ);
        if (ecx7 & (1u << 11))
            probes_features_add(out, PROBES_FEAT_AVX512_VNNI);
        if (eax71 & (1u << 5))
            probes_features_add(out, PROBES_FEAT_AVX512_BF16);
    }
    if (os_amx && (edx7 & (1u << 24))) {
        probes_features_add(out, PROBES_FEAT_AMX_TILE);
        if (edx7 & (1u << 25))
            probes_features_add(out, PROBES_FEAT_AMX_INT8);
        if (edx7 & (1u << 22))
            probes_features_add(out, PROBES_FEAT_AMX_BF16);
    }
}

#elif defined(__aarch64__)

/* Linux arch/arm64 uapi hwcap bits; defined here for older headers. */
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1ul << 1)
#endif
#ifndef HWCAP_ASIMDHP
#define HWCAP_ASIMDHP (1ul << 10)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1ul << 20)
#endif
#ifndef HWCAP_SVE
#define HWCAP_SVE (1ul << 22)
#endif
#ifndef HWCAP2_SVE2
#define HWCAP2_SVE2 (1ul << 1)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1ul << 13)
#endif
#ifndef HWCAP2_BF16
#define HWCAP2_BF16 (1ul << 14)
#endif
#ifndef HWCAP2_SME
#define HWCAP2_SME (1ul << 23)
#endif
#ifndef AT_HWCAP2
#define AT_HWCAP2 26
#endif

void probes_features_detect(probes_features_t *out)
{
    out->bits = 0;
    unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    if (hw & HWCAP_ASIMD)
        probes_features_add(out, PROBES_FEAT_ASIMD);
    if (hw & HWCAP_ASIMDHP)
        probes_features_add(out, PROBES_FEAT_ARM_FP16);
    if (hw & HWCAP_ASIMDDP)
        probes_features_add(out, PROBES_FEAT_DOTPROD);
    if (hw & HWCAP_SVE)
        probes_features_add(out, PROBES_FEAT_SVE);
    if (hw2 & HWCAP2_SVE2)
        probes_features_add(out, PROBES_FEAT_SVE2);
    if (hw2 & HWCAP2_I8MM)
        probes_features_add(out, PROBES_FEAT_I8MM);
    if (hw2 & HWCAP2_BF16)
        probes_features_add(out, PROBES_FEAT_ARM_BF16);
    if (hw2 & HWCAP2_SME)
        probes_features_add(out, PROBES_FEAT_SME);
}

#else

void probes_features_detect(probes_features_t *out)
{
    out->bits = 0; /* unknown architecture: scalar kernels only */
}

#endif
