/* test_engine_kernels_plan.c: dispatch by declared features (issue 15 §3).
 * Each variant declares the features its files are compiled for; the plan
 * for any feature set (not only this CPU's) says which variant runs each
 * weight format, and a fallback is explicit, in the plan and in the kernel
 * string recorded with results. */
#include <criterion/criterion.h>
#include <string.h>

#include "engine.h"

static probes_features_t feats(const char *list)
{
    probes_features_t f;
    cr_assert_eq(probes_features_parse(list, &f), 0, "%s: %s", list, mb_err_msg());
    return f;
}

#define X86_AVX512 "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512_vnni"

static bool compiled(const char *variant)
{
    const char *names[16];
    int n = engine_kernels_list(names, 16, NULL, NULL);
    for (int i = 0; i < n && i < 16; i++)
        if (!strcmp(names[i], variant))
            return true;
    return false;
}

Test(engine_kernels_plan, no_features_is_scalar_without_fallbacks)
{
    probes_features_t none = {0};
    engine_kernels_plan_t p;
    cr_assert_eq(engine_kernels_plan(&none, NULL, &p), 0);
    cr_assert_str_eq(p.variant, "scalar");
    cr_assert_str_eq(p.ops, "scalar");
    for (int t = 0; t < ENGINE_TYPE_COUNT; t++) {
        cr_assert(!p.fallback[t]);
        if (p.mm[t])
            cr_assert_str_eq(p.mm[t], "scalar");
    }
    cr_assert_str_eq(p.note, "");
    cr_assert_eq(engine_kernels_plan(&none, "avx2", &p) == 0, !compiled("avx2"));
}

/* AVX512F without BW/VL/VNNI (Xeon Phi): the avx512 files may use any of
 * their flags' instructions, so avx512 is not capable; avx2 runs all. */
Test(engine_kernels_plan, avx512f_alone_is_not_avx512)
{
    if (!compiled("avx512"))
        cr_skip("no x86 variants in this build");
    probes_features_t f = feats("avx2,fma,f16c,avx512f");
    engine_kernels_plan_t p;
    cr_assert_eq(engine_kernels_plan(&f, NULL, &p), 0);
    cr_assert_str_eq(p.variant, "avx2");
    for (int t = 0; t < ENGINE_TYPE_COUNT; t++)
        if (p.mm[t]) {
            cr_assert_str_eq(p.mm[t], "avx2", "%s", engine_type_name((engine_type_t)t));
            cr_assert(!p.fallback[t]);
        }
    cr_assert_eq(engine_kernels_plan(&f, "avx512", &p), MB_EUNSUPPORTED);
    cr_assert(strstr(mb_err_msg(), "avx512"), "%s", mb_err_msg());
    /* and without F16C even avx2 is out */
    f = feats("avx2,fma");
    cr_assert_eq(engine_kernels_plan(&f, NULL, &p), 0);
    cr_assert_str_eq(p.variant, "scalar");
}

/* Cascade Lake / Ice Lake: AVX-512 with VNNI but no BF16: avx512 for every
 * format but BF16, which falls back to avx2's kernel, said so. */
Test(engine_kernels_plan, bf16_falls_back_explicitly)
{
    if (!compiled("avx512"))
        cr_skip("no x86 variants in this build");
    probes_features_t f = feats(X86_AVX512);
    engine_kernels_plan_t p;
    cr_assert_eq(engine_kernels_plan(&f, NULL, &p), 0);
    cr_assert_str_eq(p.variant, "avx512");
    cr_assert_str_eq(p.ops, "avx512");
    int n = 0;
    for (int t = 0; t < ENGINE_TYPE_COUNT; t++) {
        if (!p.mm[t])
            continue;
        n++;
        const bool bf16 = t == ENGINE_TYPE_BF16;
        cr_assert_str_eq(p.mm[t], bf16 ? "avx2" : "avx512", "%s",
                         engine_type_name((engine_type_t)t));
        cr_assert_eq(p.fallback[t], bf16);
    }
    cr_assert_eq(n, 14);
    cr_assert_str_eq(p.note, "BF16: avx2");
    cr_assert(p.packed[ENGINE_TYPE_Q4_0] && p.packed[ENGINE_TYPE_Q4_K]);

    /* with AVX512_BF16, no fallback */
    f = feats(X86_AVX512 ",avx512_bf16");
    cr_assert_eq(engine_kernels_plan(&f, NULL, &p), 0);
    cr_assert_str_eq(p.mm[ENGINE_TYPE_BF16], "avx512");
    cr_assert_str_eq(p.note, "");

    /* forcing avx2 is never a fallback, even though avx512 could run */
    cr_assert_eq(engine_kernels_plan(&f, "avx2", &p), 0);
    cr_assert_str_eq(p.variant, "avx2");
    cr_assert_str_eq(p.note, "");
    cr_assert(!p.packed[ENGINE_TYPE_Q4_0]);
}

/* Binding such a plan on this CPU (a subset of its features is safe): the
 * recorded kernel string names the fallback, for the formats a model uses. */
Test(engine_kernels_plan, recorded_kernel_names_the_fallback)
{
    probes_features_t mine;
    probes_features_detect(&mine);
    probes_features_t f = feats(X86_AVX512);
    if (!compiled("avx512") || (mine.bits & f.bits) != f.bits)
        cr_skip("this CPU lacks AVX-512 F/BW/VL/DQ/VNNI");
    cr_assert_eq(engine_kernels_init(&f, NULL), 0, "%s", mb_err_msg());
    bool used[ENGINE_TYPE_COUNT] = {0};
    char buf[64];
    used[ENGINE_TYPE_Q4_0] = used[ENGINE_TYPE_F32] = true;
    engine_kernels_describe(used, buf, sizeof buf);
    cr_assert_str_eq(buf, "avx512");
    used[ENGINE_TYPE_BF16] = true;
    engine_kernels_describe(used, buf, sizeof buf);
    cr_assert_str_eq(buf, "avx512 (BF16: avx2)");
    engine_kernels_describe(used, buf, 10); /* truncated, still a string */
    cr_assert_eq(strlen(buf), 9);
    engine_kernels_init(NULL, NULL);
    engine_kernels_describe(NULL, buf, sizeof buf);
    cr_assert(!strchr(buf, '('), "%s", buf);
}

/* aarch64: dotprod/i8mm files are compiled with +fp16 (and i8mm with +bf16). */
Test(engine_kernels_plan, arm_needs)
{
    if (!compiled("neon"))
        cr_skip("no ARM variants in this build");
    engine_kernels_plan_t p;
    probes_features_t f = feats("asimd,dotprod");
    cr_assert_eq(engine_kernels_plan(&f, NULL, &p), 0);
    cr_assert_str_eq(p.variant, "neon");
    f = feats("asimd,fp16,dotprod,i8mm");
    cr_assert_eq(engine_kernels_plan(&f, NULL, &p), 0);
    cr_assert_str_eq(p.variant, "dotprod");
    f = feats("asimd,fp16,dotprod,i8mm,bf16");
    cr_assert_eq(engine_kernels_plan(&f, NULL, &p), 0);
    cr_assert_str_eq(p.variant, "i8mm");
}

Test(engine_kernels_plan, bad_input)
{
    engine_kernels_plan_t p;
    cr_assert_eq(engine_kernels_plan(NULL, NULL, NULL), MB_EINVAL);
    cr_assert_eq(engine_kernels_plan(NULL, "nosuch", &p), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "nosuch"));
}
