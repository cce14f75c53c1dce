/*
 * quantize_k.c: K-quant weight quantizers. Each 256-value super-block gets
 * sub-block scales (and mins) chosen by a weighted least-squares search
 * (search.c), then those are quantized to 4/6/8 bits against one half-float
 * super scale, and the quants are re-derived against the stored scales.
 * Weights: without an imatrix 1, so the searches minimise the plain squared
 * error, which for activations of unknown structure is the error of W x
 * (ggml's reference weighs by |x|, rms + |x| or x^2 and Q2_K by absolute
 * error: all measured 0.3-14% higher RMSE, docs/QUANT.md); with one,
 * imatrix * sqrt(sigma2 + x^2).
 */
#include "quant_impl.h"

#define QK ENGINE_QK_K

static inline int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* sigma2 of a super-block for the importance weights (as ggml: 2 * mean x^2) */
static float block_sigma2(const float *x)
{
    float s = 0.0f;
    for (int j = 0; j < QK; j++)
        s += x[j] * x[j];
    return 2.0f * s / (float)QK;
}

/* Search weights of a super-block: NULL (all 1) without an imatrix, else the
 * importance weights (per value, so the same for any sub-block size). */
static const float *block_weights(const float *x, const float *imatrix, float sigma2, float *w)
{
    if (!imatrix)
        return NULL;
    quant_imatrix_weights(QK, x, imatrix, sigma2, w);
    return w;
}

/* Pack 256 2-bit values: per 128, byte l holds l, l+32, l+64, l+96. */
static void pack_2bit(const uint8_t *L, uint8_t *qs)
{
    for (int j = 0; j < QK; j += 128)
        for (int l = 0; l < 32; l++)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 2 | L[j + l + 64] << 4 |
                                      L[j + l + 96] << 6);
}

/* ---- Q2_K: 16 x 16, 4-bit scale and min, x = d*sc*q - dmin*m, q in 0..3 ---- */
static void q2_K_block(const float *x, engine_block_q2_K *y, const float *imatrix)
{
    uint8_t L[QK];
    float w[QK], scales[16], mins[16];
    float max_scale = 0.0f, max_min = 0.0f;
    const float sigma2 = imatrix ? block_sigma2(x) : 0.0f;
    quant_search_affine_16x16(3, x, block_weights(x, imatrix, sigma2, w), L, scales, mins, -0.5f,
                              0.1f, 15);
    for (int j = 0; j < 16; j++) {
        max_scale = fmaxf(max_scale, scales[j]);
        max_min = fmaxf(max_min, mins[j]);
    }
    const float inv_scale = max_scale > 0.0f ? 15.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0.0f ? 15.0f / max_min : 0.0f;
    for (int j = 0; j < 16; j++) {
        const int ls = clampi(quant_nearest_int(inv_scale * scales[j]), 0, 15);
        const int lm = clampi(quant_nearest_int(inv_min * mins[j]), 0, 15);
        y->scales[j] = (uint8_t)(ls | lm << 4);
    }
    y->d = engine_f32_to_f16(max_scale / 15.0f);
    y->dmin = engine_f32_to_f16(max_min / 15.0f);
    const float d = engine_f16_to_f32(y->d), dmin = engine_f16_to_f32(y->dmin);
    for (int j = 0; j < 16; j++) {
        const float dl = d * (float)(y->scales[j] & 0x0f);
        if (dl == 0.0f)
            continue; /* keep the search's quants: they decode to -dmin*m alike */
        const float ml = dmin * (float)(y->scales[j] >> 4);
        for (int l = 0; l < 16; l++)
            L[16 * j + l] = (uint8_t)clampi(quant_nearest_int((x[16 * j + l] + ml) / dl), 0, 3);
    }
    pack_2bit(L, y->qs);
}

/* ---- Q3_K: 16 x 16, 6-bit signed scales, q in -4..3 ------------------------ */
static void q3_K_block(const float *x, engine_block_q3_K *y, const float *imatrix)
{
    int8_t L[QK];
    float w[QK], scales[16];
    float max_scale = 0.0f, amax = 0.0f;
    const float sigma2 = imatrix ? block_sigma2(x) : 0.0f;
    quant_search_sym_16x16(4, x, block_weights(x, imatrix, sigma2, w), L, scales);
    for (int j = 0; j < 16; j++) {
        if (fabsf(scales[j]) > amax) {
            amax = fabsf(scales[j]);
            max_scale = scales[j];
        }
    }
    memset(y->scales, 0, sizeof y->scales);
    if (max_scale != 0.0f) {
        const float iscale = -32.0f / max_scale;
        for (int j = 0; j < 16; j++) {
            const int l = clampi(quant_nearest_int(iscale * scales[j]), -32, 31) + 32;
            y->scales[j % 8] |= (uint8_t)((l & 0x0f) << (4 * (j / 8)));
            y->scales[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
        }
        y->d = engine_f32_to_f16(1.0f / iscale);
    } else {
        y->d = engine_f32_to_f16(0.0f);
    }
    const float d = engine_f16_to_f32(y->d);
    for (int j = 0; j < 16; j++) {
        const float dl = d * (float)quant_q3_K_scale(y->scales, j);
        if (dl == 0.0f) {
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = 4; /* decodes to 0 */
            continue;
        }
        for (int l = 0; l < 16; l++)
            L[16 * j + l] = (int8_t)(clampi(quant_nearest_int(x[16 * j + l] / dl), -4, 3) + 4);
    }
    /* 3rd bit: value (128h + 32s + l) -> bit (4h + s) of hmask[l] */
    memset(y->hmask, 0, sizeof y->hmask);
    uint8_t lo[QK];
    for (int j = 0; j < QK; j++) {
        if (L[j] > 3)
            y->hmask[j % 32] |= (uint8_t)(1u << (j / 32));
        lo[j] = (uint8_t)(L[j] & 3);
    }
    pack_2bit(lo, y->qs);
}

/* Pack 8 6-bit scales and mins into Q4_K/Q5_K's 12 bytes (get_scale_min_k4's inverse). */
static void pack_scale_min_k4(const uint8_t *ls, const uint8_t *lm, uint8_t *q)
{
    memset(q, 0, ENGINE_K_SCALE_SIZE);
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            q[j] = ls[j];
            q[j + 4] = lm[j];
        } else {
            q[j + 4] = (uint8_t)((ls[j] & 0x0f) | (lm[j] & 0x0f) << 4);
            q[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            q[j] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
}

/* Q4_K (nmax 15) and Q5_K (nmax 31): 8 x 32 sub-blocks, 6-bit scale and min
 * each. The searches run on nb (1 or 2) consecutive super-blocks at once (16
 * lanes fill AVX-512; the results do not depend on the pairing). */
static void qk_affine_search(const float *x, const float *imatrix, int nb, int nmax, float rmin,
                             float rdelta, int nstep, uint8_t *L, float *scales, float *mins)
{
    float w[2 * QK];
    const float *wp = NULL;
    if (imatrix) {
        for (int b = 0; b < nb; b++)
            quant_imatrix_weights(QK, x + QK * b, imatrix + QK * b, block_sigma2(x + QK * b),
                                  w + QK * b);
        wp = w;
    }
    if (nb == 2)
        quant_search_affine_16x32(nmax, x, wp, L, scales, mins, rmin, rdelta, nstep);
    else
        quant_search_affine_8x32(nmax, x, wp, L, scales, mins, rmin, rdelta, nstep);
}

/* One super-block from its search results: d, dmin, the packed scales, and
 * the quants L (0..nmax) re-derived against the stored scales. */
static void qk_affine_finish(const float *x, int nmax, const float *scales, const float *mins,
                             engine_f16_t *dh, engine_f16_t *dminh, uint8_t *packed, uint8_t *L)
{
    float max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < 8; j++) {
        max_scale = fmaxf(max_scale, scales[j]);
        max_min = fmaxf(max_min, mins[j]);
    }
    const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; j++) {
        ls[j] = (uint8_t)clampi(quant_nearest_int(inv_scale * scales[j]), 0, 63);
        lm[j] = (uint8_t)clampi(quant_nearest_int(inv_min * mins[j]), 0, 63);
    }
    pack_scale_min_k4(ls, lm, packed);
    *dh = engine_f32_to_f16(max_scale / 63.0f);
    *dminh = engine_f32_to_f16(max_min / 63.0f);
    const float d = engine_f16_to_f32(*dh), dmin = engine_f16_to_f32(*dminh);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        quant_get_scale_min_k4(j, packed, &sc, &m);
        const float dl = d * (float)sc;
        if (dl == 0.0f)
            continue;
        const float ml = dmin * (float)m;
        for (int l = 0; l < 32; l++)
            L[32 * j + l] =
                (uint8_t)clampi(quant_nearest_int((x[32 * j + l] + ml) / dl), 0, nmax);
    }
}

static void q4_K_pack(const uint8_t *L, engine_block_q4_K *y)
{
    for (int j = 0; j < QK; j += 64)
        for (int l = 0; l < 32; l++)
            y->qs[j / 2 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 4);
}

static void q5_K_pack(const uint8_t *L, engine_block_q5_K *y)
{
    memset(y->qh, 0, sizeof y->qh);
    for (int j = 0; j < QK; j += 64) {
        const int g = j / 32; /* sub-block of the low half: bit g, high half: bit g+1 */
        for (int l = 0; l < 32; l++) {
            const uint8_t a = L[j + l], b = L[j + l + 32];
            y->qs[j / 2 + l] = (uint8_t)((a & 0x0f) | (b & 0x0f) << 4);
            y->qh[l] |= (uint8_t)((a >> 4) << g | (b >> 4) << (g + 1));
        }
    }
}

#define DEFINE_QUANTIZE_QK_AFFINE(fn, tname, block_t, nmax, rmin, rdelta, nstep, pack)        \
    size_t fn(const float *src, void *dst, int64_t nrows, int64_t n_per_row,                 \
              const float *imatrix)                                                           \
    {                                                                                         \
        if (quant_check_args(src, dst, nrows, n_per_row, QK, tname) != 0)                     \
            return 0;                                                                         \
        block_t *y = dst;                                                                     \
        const int64_t nb = n_per_row / QK;                                                    \
        for (int64_t r = 0; r < nrows; r++)                                                   \
            for (int64_t b = 0; b < nb; b += 2) {                                             \
                const int m = nb - b >= 2 ? 2 : 1;                                            \
                const float *x = src + r * n_per_row + QK * b;                                \
                uint8_t L[2 * QK];                                                            \
                float scales[16], mins[16];                                                   \
                qk_affine_search(x, imatrix ? imatrix + QK * b : NULL, m, nmax, rmin, rdelta, \
                                 nstep, L, scales, mins);                                     \
                for (int i = 0; i < m; i++, y++) {                                            \
                    qk_affine_finish(x + QK * i, nmax, scales + 8 * i, mins + 8 * i, &y->d,   \
                                     &y->dmin, y->scales, L + QK * i);                        \
                    pack(L + QK * i, y);                                                      \
                }                                                                             \
            }                                                                                 \
        return (size_t)(nrows * nb) * sizeof(block_t);                                        \
    }

/* ---- Q6_K: 16 x 16, int8 scales, q in -32..31 ------------------------------ */
static void q6_K_block(const float *x, engine_block_q6_K *y, const float *imatrix)
{
    int8_t L[QK];
    float w[QK], scales[16];
    float max_scale = 0.0f, amax = 0.0f;
    const float sigma2 = imatrix ? block_sigma2(x) : 0.0f;
    quant_search_sym_16x16(32, x, block_weights(x, imatrix, sigma2, w), L, scales);
    for (int j = 0; j < 16; j++) {
        if (fabsf(scales[j]) > amax) {
            amax = fabsf(scales[j]);
            max_scale = scales[j];
        }
    }
    if (amax < 1e-15f) {
        memset(y, 0, sizeof *y);
        return;
    }
    const float iscale = -128.0f / max_scale;
    y->d = engine_f32_to_f16(1.0f / iscale);
    for (int j = 0; j < 16; j++)
        y->scales[j] = (int8_t)MB_MIN(127, quant_nearest_int(iscale * scales[j]));
    const float d = engine_f16_to_f32(y->d);
    for (int j = 0; j < 16; j++) {
        const float dl = d * (float)y->scales[j];
        if (dl == 0.0f) {
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = 32;
            continue;
        }
        for (int l = 0; l < 16; l++)
            L[16 * j + l] = (int8_t)(clampi(quant_nearest_int(x[16 * j + l] / dl), -32, 31) + 32);
    }
    uint8_t *ql = y->ql, *qh = y->qh;
    for (int j = 0; j < QK; j += 128) {
        for (int l = 0; l < 32; l++) {
            const int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
            ql[l] = (uint8_t)((q1 & 0x0f) | (q3 & 0x0f) << 4);
            ql[l + 32] = (uint8_t)((q2 & 0x0f) | (q4 & 0x0f) << 4);
            qh[l] = (uint8_t)((q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
        }
        ql += 64;
        qh += 32;
    }
}

#define DEFINE_QUANTIZE_K(fn, tname, block_t, block_fn)                                        \
    size_t fn(const float *src, void *dst, int64_t nrows, int64_t n_per_row,                 \
              const float *imatrix)                                                           \
    {                                                                                         \
        if (quant_check_args(src, dst, nrows, n_per_row, QK, tname) != 0)                     \
            return 0;                                                                         \
        block_t *y = dst;                                                                     \
        for (int64_t r = 0; r < nrows; r++)                                                   \
            for (int64_t b = 0; b < n_per_row / QK; b++, y++)                                 \
                block_fn(src + r * n_per_row + QK * b, y, imatrix ? imatrix + QK * b : NULL); \
        return (size_t)(nrows * (n_per_row / QK)) * sizeof(block_t);                          \
    }

DEFINE_QUANTIZE_K(quant_quantize_q2_K, "Q2_K", engine_block_q2_K, q2_K_block)
DEFINE_QUANTIZE_K(quant_quantize_q3_K, "Q3_K", engine_block_q3_K, q3_K_block)
DEFINE_QUANTIZE_K(quant_quantize_q6_K, "Q6_K", engine_block_q6_K, q6_K_block)
DEFINE_QUANTIZE_QK_AFFINE(quant_quantize_q4_K, "Q4_K", engine_block_q4_K, 15, -1.0f, 0.1f, 20,
                          q4_K_pack)
DEFINE_QUANTIZE_QK_AFFINE(quant_quantize_q5_K, "Q5_K", engine_block_q5_K, 31, -0.5f, 0.1f, 15,
                          q5_K_pack)
