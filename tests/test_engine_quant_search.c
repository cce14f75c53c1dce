/*
 * test_engine_quant_search.c: the lane-batched K-quant scale searches
 * (engine/quant/search_lanes.h) give bit-identical results to the
 * one-sub-block searches (quant_search_sym / quant_search_affine) they
 * replace, in every variant this CPU can run (plain C, AVX2, AVX-512), on
 * Gaussian and heavy-tailed data, importance weights (some zero), and the
 * degenerate sub-blocks (all zero, constant, all negative, one value).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "quant/quant_impl.h"

static uint64_t rng_state;
static double rng_u01(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((double)(rng_state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
static double rng_gauss(void)
{
    return sqrt(-2.0 * log(rng_u01())) * cos(6.283185307179586 * rng_u01());
}

/* Super-block number `it` of the test data: mostly Gaussian or heavy-tailed,
 * with degenerate sub-blocks mixed in; weights 1 or importance-like. */
static void make_block(int it, float *x, float *w)
{
    const double scale = 0.001 + 0.1 * rng_u01();
    for (int i = 0; i < ENGINE_QK_K; i++) {
        double g = rng_gauss();
        if (it % 3 == 1)
            g = g / sqrt(fabs(rng_gauss()) + 0.05); /* heavy tails */
        x[i] = (float)(scale * g);
        w[i] = it % 2 ? (float)exp(2.0 * rng_gauss()) : 1.0f;
    }
    if (it % 5 == 0) { /* degenerate sub-blocks, at both group sizes */
        memset(x, 0, 32 * sizeof(float));                 /* all zero */
        for (int i = 32; i < 64; i++)
            x[i] = 0.25f;                                  /* constant positive */
        for (int i = 64; i < 96; i++)
            x[i] = -fabsf(x[i]);                           /* all negative */
        memset(x + 96, 0, 32 * sizeof(float));
        x[100] = -0.5f;                                    /* one value */
        if (it % 2)
            memset(w + 128, 0, 16 * sizeof(float));       /* zero weights */
    }
}

#if defined(__x86_64__)
#define N_VAR 3
#else
#define N_VAR 1
#endif

static void variants(quant_sym_lanes_fn *sym, quant_affine_lanes_fn *a16,
                     quant_affine_lanes_fn *a8, quant_affine_lanes_fn *a16x32, bool *ok)
{
    sym[0] = quant_search_sym_16x16_ref;
    a16[0] = quant_search_affine_16x16_ref;
    a8[0] = quant_search_affine_8x32_ref;
    a16x32[0] = quant_search_affine_16x32_ref;
    ok[0] = true;
#if defined(__x86_64__)
    probes_features_t f;
    probes_features_detect(&f);
    sym[1] = quant_search_sym_16x16_avx2;
    a16[1] = quant_search_affine_16x16_avx2;
    a8[1] = quant_search_affine_8x32_avx2;
    a16x32[1] = quant_search_affine_16x32_avx2;
    ok[1] = probes_features_has(&f, PROBES_FEAT_AVX2) && probes_features_has(&f, PROBES_FEAT_FMA) &&
            probes_features_has(&f, PROBES_FEAT_F16C);
    sym[2] = quant_search_sym_16x16_avx512;
    a16[2] = quant_search_affine_16x16_avx512;
    a8[2] = quant_search_affine_8x32_avx512;
    a16x32[2] = quant_search_affine_16x32_avx512;
    ok[2] = probes_features_has(&f, PROBES_FEAT_AVX512F) &&
            probes_features_has(&f, PROBES_FEAT_AVX512BW) &&
            probes_features_has(&f, PROBES_FEAT_AVX512VL) &&
            probes_features_has(&f, PROBES_FEAT_AVX512DQ) &&
            probes_features_has(&f, PROBES_FEAT_AVX512_VNNI) &&
            probes_features_has(&f, PROBES_FEAT_AVX512_BF16);
#endif
}

Test(quant_search, lanes_equal_one_block_searches)
{
    quant_sym_lanes_fn sym[N_VAR];
    quant_affine_lanes_fn a16[N_VAR], a8[N_VAR], a16x32[N_VAR];
    bool ok[N_VAR];
    variants(sym, a16, a8, a16x32, ok);
    cr_log_info("lane searches bound: %s", quant_search_lanes_variant());
    rng_state = 0x9e3779b97f4a7c15ull;
    float x[2 * ENGINE_QK_K], w[2 * ENGINE_QK_K];
    int n_fallback = 0;
    for (int it = 0; it < 400; it++) {
        make_block(it, x, w);
        make_block(it + 1, x + ENGINE_QK_K, w + ENGINE_QK_K);
        if (it % 2 == 0)
            for (int i = 0; i < 2 * ENGINE_QK_K; i++)
                w[i] = 1.0f;
        const float *wl = it % 2 ? w : NULL; /* NULL: the lanes' all-ones case */
        /* expected: the one-sub-block searches */
        int8_t Ls[ENGINE_QK_K];
        uint8_t La16[ENGINE_QK_K], La8[2 * ENGINE_QK_K];
        float ss[16], sa16[16], ma16[16], sa8[16], ma8[16];
        const int nmax_s = it % 2 ? 32 : 4, nmax_a = it % 2 ? 15 : 31;
        for (int k = 0; k < 16; k++) {
            ss[k] = quant_search_sym(16, nmax_s, x + 16 * k, w + 16 * k, Ls + 16 * k, true);
            sa16[k] = quant_search_affine(16, 3, x + 16 * k, w + 16 * k, La16 + 16 * k, &ma16[k],
                                          -0.5f, 0.1f, 15);
        }
        for (int k = 0; k < 16; k++)
            sa8[k] = quant_search_affine(32, nmax_a, x + 32 * k, w + 32 * k, La8 + 32 * k,
                                         &ma8[k], -1.0f, 0.1f, 20);
        for (int v = 0; v < N_VAR; v++) {
            if (!ok[v])
                continue;
            int8_t Lsv[ENGINE_QK_K];
            uint8_t La16v[ENGINE_QK_K], La8v[2 * ENGINE_QK_K];
            float ssv[16], sa16v[16], ma16v[16], sa8v[16], ma8v[16];
            uint32_t fb = 0;
            sym[v](nmax_s, x, wl, Lsv, ssv, &fb);
            for (int k = 0; k < 16; k++) {
                if (fb >> k & 1u) {
                    n_fallback++;
                    continue; /* the dispatch redoes these with quant_search_sym */
                }
                cr_assert(!memcmp(&ss[k], &ssv[k], sizeof(float)) &&
                              !memcmp(Ls + 16 * k, Lsv + 16 * k, 16),
                          "variant %d, block %d, sym sub-block %d: scale %g vs %g", v, it, k,
                          (double)ssv[k], (double)ss[k]);
            }
            a16[v](3, x, wl, La16v, sa16v, ma16v, -0.5f, 0.1f, 15);
            cr_assert(!memcmp(sa16, sa16v, sizeof sa16) && !memcmp(ma16, ma16v, sizeof ma16) &&
                          !memcmp(La16, La16v, sizeof La16),
                      "variant %d, block %d: affine 16x16 differs", v, it);
            a8[v](nmax_a, x, wl, La8v, sa8v, ma8v, -1.0f, 0.1f, 20);
            cr_assert(!memcmp(sa8, sa8v, 8 * sizeof(float)) &&
                          !memcmp(ma8, ma8v, 8 * sizeof(float)) &&
                          !memcmp(La8, La8v, ENGINE_QK_K),
                      "variant %d, block %d: affine 8x32 differs", v, it);
            a16x32[v](nmax_a, x, wl, La8v, sa8v, ma8v, -1.0f, 0.1f, 20);
            cr_assert(!memcmp(sa8, sa8v, sizeof sa8) && !memcmp(ma8, ma8v, sizeof ma8) &&
                          !memcmp(La8, La8v, sizeof La8),
                      "variant %d, block %d: affine 16x32 differs", v, it);
        }
        /* the dispatched entry point, fallback lanes included */
        int8_t Ld[ENGINE_QK_K];
        float sd[16];
        quant_search_sym_16x16(nmax_s, x, wl, Ld, sd);
        cr_assert(!memcmp(ss, sd, sizeof ss) && !memcmp(Ls, Ld, sizeof Ls),
                  "block %d: dispatched sym search differs", it);
    }
    cr_assert(n_fallback > 0, "the data must exercise the fallback lanes");
}
