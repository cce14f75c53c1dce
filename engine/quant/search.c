/*
 * search.c: the scale searches behind the weight quantizers. The ideas are
 * ggml's (make_qx_quants, make_q3_quants, make_qkx2_quants): try a range of
 * candidate scales around the min/max one, refit each by weighted least
 * squares, keep the best.
 */
#include "quant_impl.h"

#define GROUP_MAX_EPS 1e-15f

static inline int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

float quant_search_sym(int n, int nmax, const float *x, const float *w, int8_t *L, bool grid)
{
    float max = 0.0f, amax = 0.0f;
    for (int i = 0; i < n; i++) {
        const float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        for (int i = 0; i < n; i++)
            L[i] = (int8_t)nmax;
        return 0.0f;
    }
    int8_t l[ENGINE_QK_K]; /* current quants, unbiased; n <= QK_K */
    float sumlx = 0.0f, suml2 = 0.0f, best = -1.0f, scale = 0.0f;
    for (int is = grid ? -9 : 0; is <= (grid ? 9 : 0); is++) {
        /* the extreme value maps to -nmax (the side with one more level) */
        const float iscale = -((float)nmax + 0.1f * (float)is) / max;
        float slx = 0.0f, sl2 = 0.0f;
        for (int i = 0; i < n; i++) {
            const int q = clampi(quant_nearest_int(iscale * x[i]), -nmax, nmax - 1);
            const float wi = w ? w[i] : x[i] * x[i];
            slx += wi * x[i] * (float)q;
            sl2 += wi * (float)(q * q);
        }
        /* error = sum w x^2 - slx^2 / sl2: maximise slx^2 / sl2 */
        if (sl2 > 0.0f && (best < 0.0f || slx * slx > best * sl2)) {
            for (int i = 0; i < n; i++)
                l[i] = (int8_t)clampi(quant_nearest_int(iscale * x[i]), -nmax, nmax - 1);
            sumlx = slx;
            suml2 = sl2;
            best = slx * slx / sl2;
        }
    }
    if (best < 0.0f) { /* every weight zero: plain min/max scale */
        const float iscale = -(float)nmax / max;
        for (int i = 0; i < n; i++)
            L[i] = (int8_t)(clampi(quant_nearest_int(iscale * x[i]), -nmax, nmax - 1) + nmax);
        return 1.0f / iscale;
    }
    /* coordinate descent: move single quants to their best level for the
     * current least-squares scale while that lowers the error */
    for (int itry = 0; itry < 5; itry++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            const float wi = w ? w[i] : x[i] * x[i];
            const float slx = sumlx - wi * x[i] * (float)l[i];
            const float sl2 = suml2 - wi * (float)(l[i] * l[i]);
            if (slx == 0.0f || sl2 <= 0.0f)
                continue;
            const int nl = clampi(quant_nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
            if (nl == l[i])
                continue;
            const float nslx = slx + wi * x[i] * (float)nl;
            const float nsl2 = sl2 + wi * (float)(nl * nl);
            if (nsl2 > 0.0f && nslx * nslx * suml2 > sumlx * sumlx * nsl2) {
                l[i] = (int8_t)nl;
                sumlx = nslx;
                suml2 = nsl2;
                changed++;
            }
        }
        if (!changed)
            break;
    }
    scale = sumlx / suml2;
    for (int i = 0; i < n; i++)
        L[i] = (int8_t)(l[i] + nmax);
    return scale;
}

float quant_search_affine(int n, int nmax, const float *x, const float *w, uint8_t *L,
                          float *the_min, float rmin, float rdelta, int nstep)
{
    float min = x[0], max = x[0];
    float sum_w = w[0], sum_x = w[0] * x[0], sum_x2 = w[0] * x[0] * x[0];
    for (int i = 1; i < n; i++) {
        min = fminf(min, x[i]);
        max = fmaxf(max, x[i]);
        sum_w += w[i];
        sum_x += w[i] * x[i];
        sum_x2 += w[i] * x[i] * x[i];
    }
    if (min > 0.0f)
        min = 0.0f; /* the offset only ever subtracts: mins are stored >= 0 */
    if (max <= min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.0f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1.0f / iscale;
    float best_err = 0.0f;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)clampi(quant_nearest_int(iscale * (x[i] - min)), 0, nmax);
        const float diff = scale * (float)L[i] + min - x[i];
        best_err += w[i] * diff * diff;
    }
    uint8_t laux[ENGINE_QK_K];
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
        for (int i = 0; i < n; i++) {
            const int l = clampi(quant_nearest_int(iscale * (x[i] - min)), 0, nmax);
            laux[i] = (uint8_t)l;
            sum_l += w[i] * (float)l;
            sum_l2 += w[i] * (float)(l * l);
            sum_xl += w[i] * (float)l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D <= 0.0f)
            continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        if (this_min > 0.0f) {
            this_min = 0.0f;
            this_scale = sum_xl / sum_l2;
        }
        /* sum w (s l + m - x)^2 expanded over the sums at hand: no second
         * pass (double: the terms nearly cancel) */
        const double s = this_scale, m = this_min;
        const float err = (float)(s * s * sum_l2 + 2.0 * s * m * sum_l + m * m * sum_w -
                                  2.0 * s * sum_xl - 2.0 * m * sum_x + sum_x2);
        if (err < best_err) {
            memcpy(L, laux, (size_t)n);
            best_err = err;
            scale = this_scale;
            min = this_min;
        }
    }
    *the_min = -min;
    return scale;
}

void quant_imatrix_weights(int n, const float *x, const float *imatrix, float sigma2, float *w)
{
    for (int j = 0; j < n; j++)
        w[j] = imatrix[j] * sqrtf(sigma2 + x[j] * x[j]);
}

int quant_check_args(const float *src, const void *dst, int64_t nrows, int64_t n_per_row,
                     int64_t block_size, const char *type)
{
    if (!src || !dst)
        return mb_err_set(MB_EINVAL, "quantize %s: NULL source or destination buffer", type);
    if (nrows < 0 || n_per_row <= 0 || n_per_row % block_size != 0)
        return mb_err_set(MB_ESHAPE,
                          "quantize %s: row length %lld is not a positive multiple of the block "
                          "size %lld (or %lld rows); pick a type whose block divides the row",
                          type, (long long)n_per_row, (long long)block_size, (long long)nrows);
    return 0;
}

/* ---- the lane-batched searches: plain C variant and run-time dispatch ---- */
#define SL_NAME(name) name##_ref
#include "search_lanes.h"

#include <pthread.h>

static struct {
    const char *name;
    quant_sym_lanes_fn sym16;
    quant_affine_lanes_fn aff16, aff8, aff16x32;
} g_lanes = {"scalar", quant_search_sym_16x16_ref, quant_search_affine_16x16_ref,
             quant_search_affine_8x32_ref, quant_search_affine_16x32_ref};
static pthread_once_t g_lanes_once = PTHREAD_ONCE_INIT;

static void lanes_bind(void)
{
#if defined(__x86_64__)
    probes_features_t f;
    probes_features_detect(&f);
    if (probes_features_has(&f, PROBES_FEAT_AVX512F) &&
        probes_features_has(&f, PROBES_FEAT_AVX512BW) &&
        probes_features_has(&f, PROBES_FEAT_AVX512VL) &&
        probes_features_has(&f, PROBES_FEAT_AVX512DQ) &&
        probes_features_has(&f, PROBES_FEAT_AVX512_VNNI)) { /* search_avx512.c's flags */
        g_lanes.name = "avx512";
        g_lanes.sym16 = quant_search_sym_16x16_avx512;
        g_lanes.aff16 = quant_search_affine_16x16_avx512;
        g_lanes.aff8 = quant_search_affine_8x32_avx512;
        g_lanes.aff16x32 = quant_search_affine_16x32_avx512;
    } else if (probes_features_has(&f, PROBES_FEAT_AVX2) &&
               probes_features_has(&f, PROBES_FEAT_FMA) &&
               probes_features_has(&f, PROBES_FEAT_F16C)) {
        g_lanes.name = "avx2";
        g_lanes.sym16 = quant_search_sym_16x16_avx2;
        g_lanes.aff16 = quant_search_affine_16x16_avx2;
        g_lanes.aff8 = quant_search_affine_8x32_avx2;
        g_lanes.aff16x32 = quant_search_affine_16x32_avx2;
    }
#endif
}

const char *quant_search_lanes_variant(void)
{
    pthread_once(&g_lanes_once, lanes_bind);
    return g_lanes.name;
}

void quant_search_sym_16x16(int nmax, const float *x, const float *w, int8_t *L, float *scales)
{
    pthread_once(&g_lanes_once, lanes_bind);
    uint32_t fallback = 0;
    g_lanes.sym16(nmax, x, w, L, scales, &fallback);
    static const float ones[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    for (int k = 0; k < 16; k++)
        if (fallback >> k & 1u)
            scales[k] =
                quant_search_sym(16, nmax, x + 16 * k, w ? w + 16 * k : ones, L + 16 * k, true);
}

void quant_search_affine_16x16(int nmax, const float *x, const float *w, uint8_t *L,
                               float *scales, float *the_mins, float rmin, float rdelta,
                               int nstep)
{
    pthread_once(&g_lanes_once, lanes_bind);
    g_lanes.aff16(nmax, x, w, L, scales, the_mins, rmin, rdelta, nstep);
}

void quant_search_affine_8x32(int nmax, const float *x, const float *w, uint8_t *L,
                              float *scales, float *the_mins, float rmin, float rdelta,
                              int nstep)
{
    pthread_once(&g_lanes_once, lanes_bind);
    g_lanes.aff8(nmax, x, w, L, scales, the_mins, rmin, rdelta, nstep);
}

void quant_search_affine_16x32(int nmax, const float *x, const float *w, uint8_t *L,
                               float *scales, float *the_mins, float rmin, float rdelta,
                               int nstep)
{
    pthread_once(&g_lanes_once, lanes_bind);
    g_lanes.aff16x32(nmax, x, w, L, scales, the_mins, rmin, rdelta, nstep);
}
