/* test_probes_features.c: the CPUID/XGETBV (or HWCAP) feature set agrees with
 * the compiler's own runtime detection on the build machine. */
#include <criterion/criterion.h>
#include <string.h>

#include "probes.h"

Test(probes_features, names_are_unique_and_known)
{
    for (int i = 0; i < PROBES_FEAT_COUNT; i++) {
        const char *a = probes_feature_name((probes_feature_t)i);
        cr_assert(a && *a && strcmp(a, "unknown"), "feature %d has no name", i);
        for (int j = i + 1; j < PROBES_FEAT_COUNT; j++)
            cr_assert(strcmp(a, probes_feature_name((probes_feature_t)j)), "duplicate name %s", a);
    }
    cr_assert_str_eq(probes_feature_name(PROBES_FEAT_AVX512_VNNI), "avx512_vnni");
    cr_assert_str_eq(probes_feature_name(PROBES_FEAT_DOTPROD), "dotprod");
    cr_assert_str_eq(probes_feature_name(PROBES_FEAT_COUNT), "unknown");
}

Test(probes_features, detect_is_stable)
{
    probes_features_t a, b;
    probes_features_detect(&a);
    probes_features_detect(&b);
    cr_assert_eq(a.bits, b.bits);
    cr_assert_eq(a.bits >> PROBES_FEAT_COUNT, 0, "bits beyond the last feature are set");
}

#if defined(__x86_64__)
#define CHECK(feat, gccname)                                                               \
    cr_expect_eq(probes_features_has(&f, feat), __builtin_cpu_supports(gccname) != 0,      \
                 "%s: CPUID+XGETBV says %d, __builtin_cpu_supports says %d", gccname,      \
                 probes_features_has(&f, feat), __builtin_cpu_supports(gccname) != 0)

Test(probes_features, x86_matches_builtin_cpu_supports)
{
    probes_features_t f;
    probes_features_detect(&f);
    __builtin_cpu_init();
    CHECK(PROBES_FEAT_SSE42, "sse4.2");
    CHECK(PROBES_FEAT_AVX, "avx");
    CHECK(PROBES_FEAT_AVX2, "avx2");
    CHECK(PROBES_FEAT_FMA, "fma");
    CHECK(PROBES_FEAT_F16C, "f16c");
    CHECK(PROBES_FEAT_AVX512F, "avx512f");
    CHECK(PROBES_FEAT_AVX512BW, "avx512bw");
    CHECK(PROBES_FEAT_AVX512VL, "avx512vl");
    CHECK(PROBES_FEAT_AVX512DQ, "avx512dq");
    CHECK(PROBES_FEAT_AVX512_VNNI, "avx512vnni");
    CHECK(PROBES_FEAT_AVX512_BF16, "avx512bf16");
#if __GNUC__ >= 11 && !defined(__clang__)
    CHECK(PROBES_FEAT_AVX_VNNI, "avxvnni");
#endif
#if __GNUC__ >= 11 && !defined(__clang__)
    CHECK(PROBES_FEAT_AMX_TILE, "amx-tile");
    CHECK(PROBES_FEAT_AMX_INT8, "amx-int8");
    CHECK(PROBES_FEAT_AMX_BF16, "amx-bf16");
#endif
    /* x86 never reports ARM features */
    for (int i = PROBES_FEAT_ASIMD; i < PROBES_FEAT_COUNT; i++)
        cr_assert(!probes_features_has(&f, (probes_feature_t)i));
}
#elif defined(__aarch64__)
Test(probes_features, arm_has_asimd)
{
    probes_features_t f;
    probes_features_detect(&f);
    cr_assert(probes_features_has(&f, PROBES_FEAT_ASIMD), "AArch64 Linux always has ASIMD");
    for (int i = 0; i < PROBES_FEAT_ASIMD; i++)
        cr_assert(!probes_features_has(&f, (probes_feature_t)i));
}
#endif

Test(probes_features, parse_names)
{
    probes_features_t f;
    cr_assert_eq(probes_features_parse("avx2, FMA,f16c", &f), 0);
    cr_assert(probes_features_has(&f, PROBES_FEAT_AVX2) && probes_features_has(&f, PROBES_FEAT_FMA) &&
              probes_features_has(&f, PROBES_FEAT_F16C));
    cr_assert_eq(__builtin_popcountll(f.bits), 3);
    cr_assert_eq(probes_features_parse("", &f), 0);
    cr_assert_eq(f.bits, 0);
    cr_assert_eq(probes_features_parse("avx2,avx512vnni", &f), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "'avx512vnni'") && strstr(mb_err_msg(), "avx512_vnni"), "%s",
              mb_err_msg());
    cr_assert_eq(probes_features_parse("avx2,qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", &f), MB_EINVAL);
    cr_assert_eq(probes_features_parse(NULL, &f), MB_EINVAL);
}
