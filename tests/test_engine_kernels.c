/* Every kernel variant this CPU can run against the scalar reference
 * (vec_dot_ref of the type table), on fresh random inputs, for many shapes:
 * m = 1 (GEMV) and m > 1 (GEMM), odd n, row lengths that are not a multiple
 * of the SIMD width (odd block counts). Error bound per format, relative to
 * sum |w_i a_i|; a NaN anywhere fails. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* Under AddressSanitizer the largest shape is left to the plain build, so
 * the binary stays within its time budget with all 14 formats of avx2 and
 * avx512 (the remainder paths it exercises are covered by smaller shapes). */
#if defined(__SANITIZE_ADDRESS__)
#define KT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KT_ASAN 1
#endif
#endif
#ifndef KT_ASAN
#define KT_ASAN 0
#endif

/* Named error bounds: the SIMD kernels compute the same integer block sums
 * as the reference, so only the float summation order differs. */
typedef struct {
    engine_type_t type;
    double tol; /* |y - ref| <= tol * sum |w_i a_i| + 1e-6 */
} fmt_bound_t;

static const fmt_bound_t bounds[] = {
    {ENGINE_TYPE_Q8_0, 1e-5},  {ENGINE_TYPE_Q4_0, 1e-5}, {ENGINE_TYPE_Q4_1, 1e-5},
    {ENGINE_TYPE_Q5_0, 1e-5},  {ENGINE_TYPE_Q5_1, 1e-5}, {ENGINE_TYPE_IQ4_NL, 1e-5},
    {ENGINE_TYPE_Q2_K, 1e-5},  {ENGINE_TYPE_Q3_K, 1e-5}, {ENGINE_TYPE_Q4_K, 1e-5},
    {ENGINE_TYPE_Q5_K, 1e-5},  {ENGINE_TYPE_Q6_K, 1e-5}, {ENGINE_TYPE_F16, 1e-5},
    {ENGINE_TYPE_BF16, 1e-5},  {ENGINE_TYPE_F32, 1e-5},
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static float gauss(void)
{
    double u1 = ((double)(next_u64() >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (double)(next_u64() >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static void *xalloc(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
    cr_assert_not_null(p);
    return p;
}

/* Weights: the format's own quantizer on Gaussian rows (realistic scales);
 * for Q8_0 the quants are then replaced by random bytes, so -128 and every
 * other code are hit. */
static void *make_weights(engine_type_t t, int64_t n, int64_t k, size_t *bytes)
{
    const engine_type_traits_t *tr = engine_type_traits(t);
    size_t rs = engine_row_size(t, k);
    *bytes = rs * (size_t)n;
    float *src = xalloc(sizeof(float) * (size_t)(n * k));
    for (int64_t i = 0; i < n * k; i++)
        src[i] = gauss() * 0.05f;
    uint8_t *w = xalloc(*bytes);
    tr->quantize(src, w, n, k, NULL);
    if (t == ENGINE_TYPE_Q8_0) {
        engine_block_q8_0 *b = (engine_block_q8_0 *)w;
        for (int64_t i = 0; i < n * k / 32; i++)
            for (int j = 0; j < 32; j++)
                b[i].qs[j] = (int8_t)(next_u64() & 0xff);
    }
    free(src);
    return w;
}

static double bound_of(engine_type_t t)
{
    for (size_t i = 0; i < MB_ARRAY_LEN(bounds); i++)
        if (bounds[i].type == t)
            return bounds[i].tol;
    return 1e-5;
}

/* Runs every shape for one type under the bound variant; returns the worst
 * error ratio (err / allowed). */
static double check_type(engine_type_t t, engine_pool_t *pool, bool all_shapes)
{
    const engine_type_traits_t *tr = engine_type_traits(t);
    const engine_type_traits_t *vt = engine_type_traits(tr->vec_dot_type);
    const int64_t bs = tr->block_size == 1 ? 32 : tr->block_size;
    /* k: 1, 3, 5 blocks (odd counts leave a half pair) and 8 blocks. */
    const int64_t kmul[] = {1, 3, 5, 8};
    /* n: partial 16-row tiles (1, 5), one tile + 1 (17), several + 3 (67);
     * m: 1 (GEMV), 5 and 9 (register tiles of 4 and 8 plus remainders), 70
     * (across the 64-row chunk) */
    const int64_t ns[] = {1, 5, 17, 67};
    const int64_t ms[] = {1, 5, 9, 70};
    double worst = 0;
    for (size_t a = 0; a < MB_ARRAY_LEN(kmul); a++)
        for (size_t b = 0; b < MB_ARRAY_LEN(ns); b++)
            for (size_t c = 0; c < MB_ARRAY_LEN(ms); c++) {
                /* float formats take any k: odd lengths exercise the masked tails */
                const int64_t kfl[] = {7, 33, 100, 256};
                int64_t k = tr->block_size == 1 ? kfl[a] : bs * kmul[a], n = ns[b], m = ms[c];
                if (bs == 256 && kmul[a] == 8 && m == 70)
                    continue; /* keep the ASan run short */
                if (KT_ASAN && n == 67 && m == 70)
                    continue; /* the largest tile grid: the plain build runs it */
                if (!all_shapes && (a != 1 || b != 2 || (c != 0 && c != 2)))
                    continue; /* the single-thread pass: a few shapes suffice */
                size_t wbytes;
                void *wd = make_weights(t, n, k, &wbytes);
                engine_tensor_t w = {.name = "w", .type = t, .ne = {k, n, 1, 1}, .data = wd,
                                     .nbytes = wbytes};
                cr_assert_eq(engine_tensor_prepare(&w), 0, "%s", mb_err_msg());
                float *x = xalloc(sizeof(float) * (size_t)(m * k));
                for (int64_t i = 0; i < m * k; i++)
                    x[i] = gauss();
                size_t ab = engine_act_bytes(t, k, m);
                cr_assert_gt(ab, 0);
                uint8_t *act = xalloc(ab);
                cr_assert_eq(engine_act_quantize(pool, t, x, k, m, act), 0, "%s", mb_err_msg());
                /* y: through the prepared tensor (repacked where the variant
                 * repacks); y2: the rows in place. */
                float *y = xalloc(sizeof(float) * (size_t)(m * n));
                float *y2 = xalloc(sizeof(float) * (size_t)(m * n));
                for (int64_t i = 0; i < m * n; i++)
                    y[i] = y2[i] = NAN; /* every output must be written */
                cr_assert_eq(engine_matmul(pool, &w, act, m, y), 0, "%s", mb_err_msg());
                engine_tensor_t wp = w;
                wp.packed = NULL;
                wp.packed_layout = 0;
                cr_assert_eq(engine_matmul(pool, &wp, act, m, y2), 0, "%s", mb_err_msg());
                size_t rs = engine_row_size(t, k), as = engine_row_size(tr->vec_dot_type, k);
                float *wf = xalloc(sizeof(float) * (size_t)(n * k)), *af = xalloc(sizeof(float) * (size_t)k);
                for (int64_t i = 0; i < n; i++)
                    tr->to_float((const uint8_t *)wd + (size_t)i * rs, wf + i * k, k);
                for (int64_t j = 0; j < m; j++) {
                    vt->to_float(act + (size_t)j * as, af, k);
                    for (int64_t i = 0; i < n; i++) {
                        const uint8_t *wr = (const uint8_t *)wd + (size_t)i * rs;
                        float ref;
                        tr->vec_dot_ref(k, &ref, wr, act + (size_t)j * as);
                        double mag = 0;
                        for (int64_t l = 0; l < k; l++)
                            mag += fabs((double)wf[i * k + l] * af[l]);
                        for (int pass = 0; pass < 2; pass++) {
                        float got = (pass ? y2 : y)[j * n + i];
                        cr_assert(!isnan(got) && !isnan(ref),
                                  "%s %s k=%lld n=%lld m=%lld: NaN at (%lld, %lld)",
                                  engine_kernels_name(), tr->name, (long long)k, (long long)n,
                                  (long long)m, (long long)j, (long long)i);
                        double allowed = bound_of(t) * mag + 1e-6;
                        double err = fabs((double)got - ref);
                        cr_assert(err <= allowed,
                                  "%s %s k=%lld n=%lld m=%lld (%lld, %lld): got %.9g, reference "
                                  "%.9g (error %.3g > %.3g)",
                                  engine_kernels_name(), tr->name, (long long)k, (long long)n,
                                  (long long)m, (long long)j, (long long)i, got, ref, err,
                                  allowed);
                        if (err / allowed > worst)
                            worst = err / allowed;
                        }
                    }
                }
                free(wf);
                free(af);
                free(y);
                free(y2);
                engine_tensor_release(&w);
                free(act);
                free(x);
                free(wd);
            }
    return worst;
}

/* Every weight format through whatever dispatch binds for variant name on a
 * CPU with this one's features minus `drop` (a fallback included: it must
 * be as exact as the variant's own kernels). */
static void check_variant_without(const char *name, uint64_t drop)
{
    probes_features_t f;
    probes_features_detect(&f);
    f.bits &= ~drop;
    const char *names[16];
    bool capable[16];
    int nv = engine_kernels_list(names, 16, &f, capable);
    bool found = false, can = false;
    for (int i = 0; i < nv && i < 16; i++)
        if (!strcmp(names[i], name)) {
            found = true;
            can = capable[i];
        }
    if (!found || !can) {
        cr_skip("kernel variant %s is %s on this machine", name,
                found ? "not capable" : "not compiled in");
        return;
    }
    cr_assert_eq(engine_kernels_init(&f, name), 0, "%s", mb_err_msg());
    cr_assert_str_eq(engine_kernels_name(), name);
    engine_pool_t *pool = NULL;
    cr_assert_eq(engine_pool_create(2, &pool), 0);
    int tested = 0;
    for (int t = 0; t < ENGINE_TYPE_COUNT; t++) {
        const engine_type_traits_t *tr = engine_type_traits((engine_type_t)t);
        if (!tr || !tr->vec_dot_ref || !tr->quantize || t == ENGINE_TYPE_Q8_1 ||
            t == ENGINE_TYPE_Q8_K)
            continue;
        /* The scalar variant is the reference itself: one type suffices to
         * check the drivers (chunking, threads, strides). */
        if (!strcmp(name, "scalar") && t != ENGINE_TYPE_Q4_0 && t != ENGINE_TYPE_Q4_K)
            continue;
        double w1 = check_type((engine_type_t)t, pool, true);
        double w2 = check_type((engine_type_t)t, NULL, false);
        cr_log_info("%s %s: worst error %.3g of the bound", name, tr->name, MB_MAX(w1, w2));
        tested++;
    }
    if (strcmp(name, "scalar"))
        cr_assert_eq(tested, 14, "%d of the 14 weight formats tested for %s", tested, name);
    engine_pool_destroy(pool);
    engine_kernels_init(NULL, NULL);
}

static void check_variant(const char *name)
{
    check_variant_without(name, 0);
}

Test(engine_kernels, scalar_drivers) { check_variant("scalar"); }
Test(engine_kernels, avx2) { check_variant("avx2"); }
Test(engine_kernels, avx512) { check_variant("avx512"); }
/* A Cascade/Ice Lake-like CPU: avx512 for all but BF16, which runs avx2's. */
Test(engine_kernels, avx512_without_bf16)
{
    check_variant_without("avx512", (uint64_t)1 << PROBES_FEAT_AVX512_BF16);
}
Test(engine_kernels, neon) { check_variant("neon"); }
Test(engine_kernels, dotprod) { check_variant("dotprod"); }
Test(engine_kernels, i8mm) { check_variant("i8mm"); }

Test(engine_kernels, best_variant_bound_and_listed)
{
    probes_features_t f;
    probes_features_detect(&f);
    cr_assert_eq(engine_kernels_init(&f, NULL), 0);
    const char *names[16];
    bool capable[16];
    int nv = engine_kernels_list(names, 16, &f, capable);
    cr_assert_geq(nv, 1);
    cr_assert_str_eq(names[0], "scalar");
    cr_assert(capable[0]);
    /* The bound variant is the last capable one in the list. */
    const char *best = NULL;
    for (int i = 0; i < nv; i++)
        if (capable[i])
            best = names[i];
    cr_assert_str_eq(engine_kernels_name(), best);
    /* Forcing by name, case-insensitively. */
    cr_assert_eq(engine_kernels_init(&f, "SCALAR"), 0);
    cr_assert_str_eq(engine_kernels_name(), "scalar");
    cr_assert(!engine_kernels_specialized("scalar", ENGINE_TYPE_Q4_0));
}

Test(engine_kernels, unknown_or_incapable_variant)
{
    probes_features_t none = {0};
    cr_assert_eq(engine_kernels_init(&none, "nosuch"), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "scalar") != NULL, "message lists the variants: %s",
              mb_err_msg());
    const char *names[16];
    bool capable[16];
    int nv = engine_kernels_list(names, 16, &none, capable);
    for (int i = 1; i < nv; i++) {
        cr_assert(!capable[i], "%s capable without features", names[i]);
        cr_assert_eq(engine_kernels_init(&none, names[i]), MB_EUNSUPPORTED);
    }
    /* Without features only the scalar variant can be bound. */
    cr_assert_eq(engine_kernels_init(&none, NULL), 0);
    cr_assert_str_eq(engine_kernels_name(), "scalar");
}
