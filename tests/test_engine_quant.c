/*
 * test_engine_quant.c: quantizers and reference dot products. Activation
 * quantizers round exactly as ggml's; weight quantizers reach bounded
 * round-trip RMSE on Gaussian and Student-t (nu = 4) data, K-quants beat the
 * naive min/max version of the same bits, an importance vector lowers the
 * weighted error; vec_dot_ref equals the dot of the dequantized values within
 * a named bound per format; bad input gets an error, never UB.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* ---- data ------------------------------------------------------------------ */
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
static double rng_student4(void) /* t = z / sqrt(chi2_4 / 4) */
{
    double c = 0.0;
    for (int i = 0; i < 4; i++) {
        const double g = rng_gauss();
        c += g * g;
    }
    return rng_gauss() / sqrt(c / 4.0);
}

enum { DIST_GAUSS, DIST_T4 };
#define NROWS 32
#define NCOLS 4096
#define NVALS (NROWS * NCOLS)

static float *make_data(int dist, uint64_t seed)
{
    float *x = malloc(NVALS * sizeof(float));
    cr_assert_not_null(x);
    rng_state = seed;
    for (int i = 0; i < NVALS; i++)
        x[i] = (float)(dist == DIST_GAUSS ? rng_gauss() : rng_student4());
    return x;
}

static const engine_type_t weight_types[] = {
    ENGINE_TYPE_F16,  ENGINE_TYPE_BF16, ENGINE_TYPE_Q8_0, ENGINE_TYPE_Q6_K,
    ENGINE_TYPE_Q5_1, ENGINE_TYPE_Q5_K, ENGINE_TYPE_Q5_0, ENGINE_TYPE_Q4_1,
    ENGINE_TYPE_Q4_K, ENGINE_TYPE_IQ4_NL, ENGINE_TYPE_Q4_0, ENGINE_TYPE_Q3_K,
    ENGINE_TYPE_Q2_K,
};
#define N_WEIGHT_TYPES (sizeof weight_types / sizeof weight_types[0])

/* Quantizes x (NROWS x NCOLS) and decodes it into y; returns the relative
 * RMSE (rmse / rms of x). Asserts every decoded value is finite. */
static double round_trip_rows(engine_type_t t, int64_t nrows, const float *x, float *y,
                              const float *imatrix, const float *w, double *wrmse)
{
    const engine_type_traits_t *tr = engine_type_traits(t);
    const size_t bytes = engine_row_size(t, NCOLS) * (size_t)nrows;
    const int64_t nvals = nrows * NCOLS;
    void *q = malloc(bytes);
    cr_assert_not_null(q);
    cr_assert_eq(tr->quantize(x, q, nrows, NCOLS, imatrix), bytes, "%s quantize size", tr->name);
    tr->to_float(q, y, nvals);
    free(q);
    double se = 0.0, ss = 0.0, wse = 0.0;
    for (int64_t i = 0; i < nvals; i++) {
        cr_assert(isfinite(y[i]), "%s: value %lld not finite", tr->name, (long long)i);
        const double e = (double)y[i] - x[i];
        se += e * e;
        ss += (double)x[i] * x[i];
        if (w)
            wse += w[i % NCOLS] * e * e;
    }
    if (wrmse)
        *wrmse = sqrt(wse / (double)nvals);
    return sqrt(se / ss);
}

static double round_trip(engine_type_t t, const float *x, float *y, const float *imatrix,
                         const float *w, double *wrmse)
{
    return round_trip_rows(t, NROWS, x, y, imatrix, w, wrmse);
}

/* ---- activation quantizers: rounding exactly as ggml ------------------------ */

Test(quant, q8_0_rounds_half_away_from_zero)
{
    float x[32] = {0};
    x[0] = 127.0f; /* amax 127: d = 1 */
    x[1] = 2.5f;
    x[2] = -2.5f;
    x[3] = 0.49f;
    x[4] = -126.5f;
    x[5] = 3.5f;
    engine_block_q8_0 b;
    engine_type_traits(ENGINE_TYPE_Q8_0)->from_float(x, &b, 32);
    cr_assert_eq(b.d, 0x3c00);
    cr_assert_eq(b.qs[0], 127);
    cr_assert_eq(b.qs[1], 3);
    cr_assert_eq(b.qs[2], -3);
    cr_assert_eq(b.qs[3], 0);
    cr_assert_eq(b.qs[4], -127);
    cr_assert_eq(b.qs[5], 4);
    float z[32] = {0};
    engine_type_traits(ENGINE_TYPE_Q8_0)->from_float(z, &b, 32);
    cr_assert_eq(b.d, 0);
    for (int j = 0; j < 32; j++)
        cr_assert_eq(b.qs[j], 0);
}

Test(quant, q8_1_sum_term)
{
    float x[64];
    rng_state = 3;
    for (int j = 0; j < 64; j++)
        x[j] = (float)rng_gauss();
    engine_block_q8_1 b[2];
    engine_type_traits(ENGINE_TYPE_Q8_1)->from_float(x, b, 64);
    for (int k = 0; k < 2; k++) {
        float amax = 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++)
            amax = fmaxf(amax, fabsf(x[32 * k + j]));
        const float d = amax / 127.0f;
        for (int j = 0; j < 32; j++) {
            cr_assert_eq(b[k].qs[j], (int8_t)roundf(x[32 * k + j] * (1.0f / d)));
            sum += b[k].qs[j];
        }
        cr_assert_eq(b[k].d, engine_f32_to_f16(d));
        cr_assert_eq(b[k].s, engine_f32_to_f16((float)sum * d), "s = d * sum, d unrounded");
    }
}

Test(quant, q8_K_ties_to_even_and_bsums)
{
    float x[256] = {0};
    x[0] = -127.0f; /* max by magnitude is negative: iscale = -127 / -127 = 1 */
    x[1] = 2.5f;
    x[2] = 3.5f;
    x[3] = -2.5f;
    x[17] = 100.4f;
    for (int j = 32; j < 256; j++)
        x[j] = (float)(j % 7) - 3.0f;
    engine_block_q8_K b;
    engine_type_traits(ENGINE_TYPE_Q8_K)->from_float(x, &b, 256);
    cr_assert_eq(b.d, 1.0f);
    cr_assert_eq(b.qs[0], -127);
    cr_assert_eq(b.qs[1], 2, "ties to even");
    cr_assert_eq(b.qs[2], 4);
    cr_assert_eq(b.qs[3], -2);
    cr_assert_eq(b.qs[17], 100);
    for (int g = 0; g < 16; g++) {
        int s = 0;
        for (int l = 0; l < 16; l++)
            s += b.qs[16 * g + l];
        cr_assert_eq(b.bsums[g], s, "bsums[%d]", g);
    }
    /* positive max: iscale = -127 / max, d negative */
    for (int j = 0; j < 256; j++)
        x[j] = (float)j / 255.0f;
    engine_type_traits(ENGINE_TYPE_Q8_K)->from_float(x, &b, 256);
    cr_assert_eq(b.qs[255], -127);
    cr_assert(b.d < 0.0f);
    cr_assert_float_eq(b.d * (float)b.qs[255], 1.0f, 1e-6);
}

Test(quant, nan_activations_are_visible)
{
    float x[256];
    for (int j = 0; j < 256; j++)
        x[j] = 0.5f;
    x[3] = NAN;
    engine_block_q8_0 a[8];
    engine_block_q8_1 b[8];
    engine_block_q8_K c;
    engine_type_traits(ENGINE_TYPE_Q8_0)->from_float(x, a, 256);
    engine_type_traits(ENGINE_TYPE_Q8_1)->from_float(x, b, 256);
    engine_type_traits(ENGINE_TYPE_Q8_K)->from_float(x, &c, 256);
    cr_assert(isnan(engine_f16_to_f32(a[0].d)));
    cr_assert(isnan(engine_f16_to_f32(b[0].d)));
    cr_assert(isnan(c.d));
    cr_assert_eq(a[1].d, engine_f32_to_f16(0.5f / 127.0f), "other blocks unaffected");
}

/* ---- weight quantizers: exact reference rounding without imatrix ------------- */

Test(quant, q4_0_reference_rounding)
{
    float x[32];
    for (int j = 0; j < 32; j++)
        x[j] = (float)(j % 16 - 8) * 0.5f; /* max magnitude -4: d = 0.5, q = j % 16 */
    engine_block_q4_0 b;
    cr_assert_eq(engine_type_traits(ENGINE_TYPE_Q4_0)->quantize(x, &b, 1, 32, NULL), 18);
    cr_assert_eq(b.d, 0x3800);
    for (int j = 0; j < 16; j++)
        cr_assert_eq(b.qs[j], (uint8_t)(j | j << 4));
    float y[32];
    engine_type_traits(ENGINE_TYPE_Q4_0)->to_float(&b, y, 32);
    for (int j = 0; j < 32; j++)
        cr_assert_eq(y[j], x[j]);
}

Test(quant, exact_grids_round_trip_exactly)
{
    /* values on each format's own grid come back unchanged */
    float x[256], y[256];
    for (int j = 0; j < 256; j++)
        x[j] = (float)((j * 7) % 16) * 0.25f - 2.0f; /* -2 .. 1.75 step 0.25 */
    /* (not Q5_1, Q8_0, Q5_K: their steps (max - min) / 31, amax / 127 and
     * scale / 63 in half precision are off this grid) */
    const engine_type_t exact[] = {ENGINE_TYPE_Q4_0, ENGINE_TYPE_Q4_1, ENGINE_TYPE_Q5_0,
                                   ENGINE_TYPE_Q6_K, ENGINE_TYPE_F16,
                                   ENGINE_TYPE_BF16};
    unsigned char q[1024];
    for (size_t k = 0; k < sizeof exact / sizeof exact[0]; k++) {
        const engine_type_traits_t *tr = engine_type_traits(exact[k]);
        tr->quantize(x, q, 1, 256, NULL);
        tr->to_float(q, y, 256);
        for (int j = 0; j < 256; j++)
            cr_assert_float_eq(y[j], x[j], 1e-6, "%s value %d: %g vs %g", tr->name, j, (double)y[j],
                               (double)x[j]);
    }
}

Test(quant, zero_constant_and_extreme_rows)
{
    float x[512], y[512];
    unsigned char q[2048];
    for (size_t k = 0; k < N_WEIGHT_TYPES; k++) {
        const engine_type_traits_t *tr = engine_type_traits(weight_types[k]);
        for (int c = 0; c < 5; c++) {
            for (int j = 0; j < 512; j++) {
                x[j] = c == 0 ? 0.0f : c == 1 ? 0.75f : c == 2 ? -3e-30f * (float)(j % 5)
                     : c == 3 ? (j % 2 ? 1000.0f : -1000.0f) * (float)(j % 9) / 8.0f
                              : (j == 100 ? 50.0f : 0.01f * (float)(j % 3));
            }
            cr_assert_eq(tr->quantize(x, q, 2, 256, NULL), engine_row_size(weight_types[k], 256) * 2);
            tr->to_float(q, y, 512);
            double amax = 0.0;
            for (int j = 0; j < 512; j++) {
                cr_assert(isfinite(y[j]), "%s case %d value %d not finite", tr->name, c, j);
                amax = fmax(amax, fabs((double)x[j]));
            }
            for (int j = 0; j < 512; j++) {
                if (c == 0)
                    cr_assert_eq(y[j], 0.0f, "%s: zero row decodes to zero", tr->name);
                /* no decoded value strays beyond the block's range by more than
                 * a coarse step */
                cr_assert(fabs((double)y[j]) <= amax * 1.5 + 1e-6, "%s case %d value %d: %g",
                          tr->name, c, j, (double)y[j]);
            }
        }
    }
}

Test(quant, bad_input)
{
    float x[64] = {0};
    unsigned char q[256];
    for (size_t k = 0; k < N_WEIGHT_TYPES; k++) {
        const engine_type_traits_t *tr = engine_type_traits(weight_types[k]);
        if (tr->block_size > 1) {
            mb_err_clear();
            cr_assert_eq(tr->quantize(x, q, 1, 33, NULL), 0, "%s: 33 per row", tr->name);
            cr_assert(strstr(mb_err_msg(), "33") != NULL, "%s message: %s", tr->name, mb_err_msg());
        }
        cr_assert_eq(tr->quantize(NULL, q, 1, 32, NULL), 0);
        cr_assert_eq(tr->quantize(x, NULL, 1, 32, NULL), 0);
        cr_assert_eq(tr->quantize(x, q, 1, 0, NULL), 0);
        cr_assert_eq(tr->quantize(x, q, -1, 256, NULL), 0);
    }
    cr_assert_eq(engine_type_traits(ENGINE_TYPE_Q4_K)->quantize(x, q, 1, 64, NULL), 0);
}

/* ---- round-trip quality --------------------------------------------------- */

struct bound { engine_type_t t; double gauss, t4; };
/* Relative RMSE bounds (rmse / rms(x)), a little above the measured values
 * recorded in docs/QUANT.md. */
static const struct bound rmse_bounds[] = {
    {ENGINE_TYPE_F16, 0.00022, 0.00022},   {ENGINE_TYPE_BF16, 0.00175, 0.00175},
    {ENGINE_TYPE_Q8_0, 0.0056, 0.0077},    {ENGINE_TYPE_Q6_K, 0.0181, 0.0234},
    {ENGINE_TYPE_Q5_1, 0.0397, 0.0475},    {ENGINE_TYPE_Q5_K, 0.0377, 0.0459},
    {ENGINE_TYPE_Q5_0, 0.0450, 0.0612},    {ENGINE_TYPE_Q4_1, 0.0821, 0.0986},
    {ENGINE_TYPE_Q4_K, 0.0743, 0.0903},    {ENGINE_TYPE_IQ4_NL, 0.0779, 0.0953},
    {ENGINE_TYPE_Q4_0, 0.0899, 0.1220},    {ENGINE_TYPE_Q3_K, 0.1507, 0.1843},
    {ENGINE_TYPE_Q2_K, 0.2772, 0.3103},
};

Test(quant, round_trip_rmse_bounds)
{
    float *g = make_data(DIST_GAUSS, 1234), *t = make_data(DIST_T4, 5678);
    float *y = malloc(NVALS * sizeof(float));
    cr_assert_not_null(y);
    fprintf(stderr, "| format | bpw | rel. RMSE Gaussian | rel. RMSE Student-t (nu=4) |\n");
    fprintf(stderr, "|---|---|---|---|\n");
    for (size_t k = 0; k < sizeof rmse_bounds / sizeof rmse_bounds[0]; k++) {
        const engine_type_traits_t *tr = engine_type_traits(rmse_bounds[k].t);
        const double rg = round_trip(rmse_bounds[k].t, g, y, NULL, NULL, NULL);
        const double rt = round_trip(rmse_bounds[k].t, t, y, NULL, NULL, NULL);
        fprintf(stderr, "| %s | %.4g | %.5f | %.5f |\n", tr->name, tr->bpw, rg, rt);
        cr_expect(rg < rmse_bounds[k].gauss, "%s Gaussian: %.5f >= %.5f", tr->name, rg,
                  rmse_bounds[k].gauss);
        cr_expect(rt < rmse_bounds[k].t4, "%s Student-t: %.5f >= %.5f", tr->name, rt,
                  rmse_bounds[k].t4);
    }
    free(g);
    free(t);
    free(y);
}

/* Naive min/max K-quants, same bits: each sub-block's scale (and min) from
 * its extremes, those quantized against the super-block's largest, quants
 * rounded to nearest. Decoded values straight into y. */
static float f16r(float v)
{
    return engine_f16_to_f32(engine_f32_to_f16(v));
}

static int nint(float v)
{
    return (int)lrintf(v);
}

static void naive_affine(const float *x, float *y, int nsub, int sub, int nmax, int sbits)
{
    const int smax = (1 << sbits) - 1;
    for (int b = 0; b < NVALS; b += 256) {
        float sc[16], mn[16], max_sc = 0.0f, max_mn = 0.0f;
        for (int s = 0; s < nsub; s++) {
            float lo = 0.0f, hi = -INFINITY;
            for (int l = 0; l < sub; l++) {
                lo = fminf(lo, x[b + s * sub + l]);
                hi = fmaxf(hi, x[b + s * sub + l]);
            }
            sc[s] = (hi - lo) / (float)nmax;
            mn[s] = -lo;
            max_sc = fmaxf(max_sc, sc[s]);
            max_mn = fmaxf(max_mn, mn[s]);
        }
        const float d = f16r(max_sc / (float)smax), dmin = f16r(max_mn / (float)smax);
        for (int s = 0; s < nsub; s++) {
            const int ls = d > 0.0f ? MB_MIN(smax, nint(sc[s] / d)) : 0;
            const int lm = dmin > 0.0f ? MB_MIN(smax, nint(mn[s] / dmin)) : 0;
            const float dl = d * (float)ls, ml = dmin * (float)lm;
            for (int l = 0; l < sub; l++) {
                const int i = b + s * sub + l;
                const int q = dl > 0.0f ? MB_MAX(0, MB_MIN(nmax, nint((x[i] + ml) / dl))) : 0;
                y[i] = dl * (float)q - ml;
            }
        }
    }
}

static void naive_sym(const float *x, float *y, int nmax, int smax)
{
    for (int b = 0; b < NVALS; b += 256) {
        float sc[16], max_sc = 0.0f;
        for (int s = 0; s < 16; s++) {
            float m = 0.0f;
            for (int l = 0; l < 16; l++)
                if (fabsf(x[b + 16 * s + l]) > fabsf(m))
                    m = x[b + 16 * s + l];
            sc[s] = m / (float)-nmax;
            if (fabsf(sc[s]) > fabsf(max_sc))
                max_sc = sc[s];
        }
        const float d = f16r(max_sc / (float)-smax);
        for (int s = 0; s < 16; s++) {
            const int ls = d != 0.0f ? MB_MAX(-smax, MB_MIN(smax - 1, nint(sc[s] / d))) : 0;
            const float dl = d * (float)ls;
            for (int l = 0; l < 16; l++) {
                const int i = b + 16 * s + l;
                const int q = dl != 0.0f ? MB_MAX(-nmax, MB_MIN(nmax - 1, nint(x[i] / dl))) : 0;
                y[i] = dl * (float)q;
            }
        }
    }
}

static double rel_rmse(const float *x, const float *y)
{
    double se = 0.0, ss = 0.0;
    for (int i = 0; i < NVALS; i++) {
        se += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
        ss += (double)x[i] * x[i];
    }
    return sqrt(se / ss);
}

Test(quant, k_quants_beat_naive_min_max)
{
    float *y = malloc(NVALS * sizeof(float)), *z = malloc(NVALS * sizeof(float));
    cr_assert(y && z);
    for (int dist = 0; dist < 2; dist++) {
        float *x = make_data(dist, 99 + (uint64_t)dist);
        struct { engine_type_t t; double naive; } r[5];
        naive_affine(x, z, 16, 16, 3, 4);
        r[0].t = ENGINE_TYPE_Q2_K, r[0].naive = rel_rmse(x, z);
        naive_sym(x, z, 4, 32);
        r[1].t = ENGINE_TYPE_Q3_K, r[1].naive = rel_rmse(x, z);
        naive_affine(x, z, 8, 32, 15, 6);
        r[2].t = ENGINE_TYPE_Q4_K, r[2].naive = rel_rmse(x, z);
        naive_affine(x, z, 8, 32, 31, 6);
        r[3].t = ENGINE_TYPE_Q5_K, r[3].naive = rel_rmse(x, z);
        naive_sym(x, z, 32, 128);
        r[4].t = ENGINE_TYPE_Q6_K, r[4].naive = rel_rmse(x, z);
        for (int k = 0; k < 5; k++) {
            const double ours = round_trip(r[k].t, x, y, NULL, NULL, NULL);
            fprintf(stderr, "%s %s: searched %.5f, naive min/max %.5f\n",
                    dist ? "Student-t" : "Gaussian", engine_type_name(r[k].t), ours, r[k].naive);
            cr_expect(ours < r[k].naive * 0.97, "%s: %.5f not below naive %.5f",
                      engine_type_name(r[k].t), ours, r[k].naive);
        }
        free(x);
    }
    free(y);
    free(z);
}

/* An importance vector (per column) lowers the importance-weighted error. */
Test(quant, imatrix_lowers_weighted_error)
{
    float *x = make_data(DIST_GAUSS, 4321);
    float *y = malloc(NVALS * sizeof(float)), *imp = malloc(NCOLS * sizeof(float));
    cr_assert(y && imp);
    rng_state = 777;
    for (int j = 0; j < NCOLS; j++)
        imp[j] = (float)exp(2.0 * rng_gauss()); /* importance spread over ~e^4 */
    const engine_type_t types[] = {ENGINE_TYPE_Q4_0, ENGINE_TYPE_Q4_1, ENGINE_TYPE_Q5_0,
                                   ENGINE_TYPE_Q5_1, ENGINE_TYPE_IQ4_NL, ENGINE_TYPE_Q2_K,
                                   ENGINE_TYPE_Q3_K, ENGINE_TYPE_Q4_K, ENGINE_TYPE_Q5_K,
                                   ENGINE_TYPE_Q6_K};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        double w_plain, w_imat;
        const double plain = round_trip(types[k], x, y, NULL, imp, &w_plain);
        const double imat = round_trip(types[k], x, y, imp, imp, &w_imat);
        fprintf(stderr, "%s: weighted RMSE %.5f -> %.5f with imatrix (plain RMSE %.5f -> %.5f)\n",
                engine_type_name(types[k]), w_plain, w_imat, plain, imat);
        cr_expect(w_imat < w_plain * 0.97, "%s: imatrix %.5f vs %.5f", engine_type_name(types[k]),
                  w_imat, w_plain);
    }
    free(x);
    free(y);
    free(imp);
}

/* Degenerate importance vectors (all zero, zeros in places, huge) still give
 * finite values of sane quality. */
Test(quant, imatrix_degenerate)
{
    float *x = make_data(DIST_GAUSS, 31);
    float *y = malloc(NVALS * sizeof(float)), *imp = malloc(NCOLS * sizeof(float));
    cr_assert(y && imp);
    double plain[N_WEIGHT_TYPES];
    for (size_t k = 0; k < N_WEIGHT_TYPES; k++)
        plain[k] = round_trip_rows(weight_types[k], 4, x, y, NULL, NULL, NULL);
    for (int c = 0; c < 3; c++) {
        for (int j = 0; j < NCOLS; j++)
            imp[j] = c == 0 ? 0.0f : c == 1 ? (float)(j % 3 == 0) : 1e6f;
        for (size_t k = 0; k < N_WEIGHT_TYPES; k++) {
            const double imat = round_trip_rows(weight_types[k], 4, x, y, imp, NULL, NULL);
            cr_expect(imat < plain[k] * 1.6 + 1e-4, "%s imatrix case %d: %.5f vs plain %.5f",
                      engine_type_name(weight_types[k]), c, imat, plain[k]);
        }
    }
    free(x);
    free(y);
    free(imp);
}

/* ---- reference dot products --------------------------------------------------- */

/* Bound per format, relative to sum |x_i * y_i| of the dequantized values:
 * float accumulation over blocks; Q8_1 partners add the half-rounded
 * s = d * sum term (relative 2^-10 of sum |m * s|). */
struct dot_bound { engine_type_t t; double rel; };
static const struct dot_bound dot_bounds[] = {
    {ENGINE_TYPE_F32, 1e-6},  {ENGINE_TYPE_F16, 1e-6},  {ENGINE_TYPE_BF16, 1e-6},
    {ENGINE_TYPE_Q8_0, 2e-5}, {ENGINE_TYPE_Q4_0, 2e-5}, {ENGINE_TYPE_Q5_0, 2e-5},
    {ENGINE_TYPE_IQ4_NL, 2e-5}, {ENGINE_TYPE_Q4_1, 2e-5}, {ENGINE_TYPE_Q5_1, 2e-5},
    {ENGINE_TYPE_Q2_K, 2e-5}, {ENGINE_TYPE_Q3_K, 2e-5}, {ENGINE_TYPE_Q4_K, 2e-5},
    {ENGINE_TYPE_Q5_K, 2e-5}, {ENGINE_TYPE_Q6_K, 2e-5},
};

Test(quant, vec_dot_ref_matches_dequantized_dot)
{
    static const int64_t lengths[] = {256, 512, 768, 4096, 32, 96, 800};
    const int64_t maxn = 4096;
    float *x = malloc(maxn * sizeof(float)), *a = malloc(maxn * sizeof(float));
    float *dx = malloc(maxn * sizeof(float)), *da = malloc(maxn * sizeof(float));
    unsigned char *qx = malloc(maxn * 4), *qa = malloc(maxn * 4 + 1024);
    cr_assert(x && a && dx && da && qx && qa);
    rng_state = 2024;
    for (size_t k = 0; k < sizeof dot_bounds / sizeof dot_bounds[0]; k++) {
        const engine_type_t t = dot_bounds[k].t;
        const engine_type_traits_t *tw = engine_type_traits(t);
        const engine_type_traits_t *ta = engine_type_traits(tw->vec_dot_type);
        for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
            const int64_t n = lengths[li];
            if (n % tw->block_size || n % ta->block_size)
                continue;
            for (int rep = 0; rep < 8; rep++) {
                const double offset = rep % 2 ? 0.7 : 0.0; /* exercise the min terms */
                for (int64_t i = 0; i < n; i++) {
                    x[i] = (float)(rng_gauss() + offset);
                    a[i] = (float)(rep % 4 >= 2 ? rng_student4() : rng_gauss());
                }
                cr_assert_eq(tw->quantize(x, qx, 1, n, NULL), engine_row_size(t, n));
                ta->from_float(a, qa, n);
                tw->to_float(qx, dx, n);
                ta->to_float(qa, da, n);
                double exp = 0.0, mag = 0.0, sterm = 0.0;
                for (int64_t i = 0; i < n; i++) {
                    exp += (double)dx[i] * da[i];
                    mag += fabs((double)dx[i] * da[i]);
                }
                if (tw->vec_dot_type == ENGINE_TYPE_Q8_1) {
                    const size_t wsz = tw->type_size;
                    for (int64_t b = 0; b < n / 32; b++) {
                        engine_f16_t m, s;
                        memcpy(&m, qx + (size_t)b * wsz + 2, 2);
                        memcpy(&s, qa + (size_t)b * sizeof(engine_block_q8_1) + 2, 2);
                        sterm += fabs((double)engine_f16_to_f32(m) * engine_f16_to_f32(s));
                    }
                }
                float got = NAN;
                tw->vec_dot_ref(n, &got, qx, qa);
                cr_assert(isfinite(got), "%s n=%lld: NaN/inf", tw->name, (long long)n);
                const double bound = dot_bounds[k].rel * mag + sterm / 1024.0 + 1e-30;
                cr_assert(fabs(got - exp) <= bound, "%s n=%lld rep %d: ref %.9g vs %.9g (bound %.3g)",
                          tw->name, (long long)n, rep, (double)got, exp, bound);
            }
        }
    }
    free(x);
    free(a);
    free(dx);
    free(da);
    free(qx);
    free(qa);
}

Test(quant, vec_dot_ref_q4_0_q8_0_hand_computed)
{
    /* weights q - 8 = 1 everywhere with d = 0.5; activations 2 with d = 1 */
    engine_block_q4_0 w = {.d = 0x3800};
    memset(w.qs, 0x99, 16);
    engine_block_q8_0 act = {.d = 0x3c00};
    memset(act.qs, 2, 32);
    float s = 0.0f;
    engine_type_traits(ENGINE_TYPE_Q4_0)->vec_dot_ref(32, &s, &w, &act);
    cr_assert_eq(s, 32.0f); /* 32 * (1 * 0.5) * 2 */
}
