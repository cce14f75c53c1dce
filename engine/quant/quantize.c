/*
 * quantize.c: weight quantizers for the float types, the 32-value block
 * formats and IQ4_NL. Without an importance matrix Q4_0..Q5_1 and Q8_0
 * round to nearest from the block's min/max exactly as ggml's reference
 * quantizers; with one, a weighted search over scales (search.c). IQ4_NL
 * always searches the scale over the codebook.
 */
#include "quant_impl.h"

static size_t quantize_plain(const float *src, void *dst, int64_t nrows, int64_t n,
                             const char *type, void (*conv)(const float *, void *, int64_t),
                             size_t elem)
{
    if (quant_check_args(src, dst, nrows, n, 1, type) != 0)
        return 0;
    conv(src, dst, nrows * n);
    return (size_t)(nrows * n) * elem;
}

size_t quant_quantize_f32(const float *src, void *dst, int64_t nrows, int64_t n_per_row,
                          const float *imatrix)
{
    (void)imatrix;
    return quantize_plain(src, dst, nrows, n_per_row, "F32", quant_f32_from_float, sizeof(float));
}

size_t quant_quantize_f16(const float *src, void *dst, int64_t nrows, int64_t n_per_row,
                          const float *imatrix)
{
    (void)imatrix;
    return quantize_plain(src, dst, nrows, n_per_row, "F16", quant_f16_from_float,
                          sizeof(engine_f16_t));
}

size_t quant_quantize_bf16(const float *src, void *dst, int64_t nrows, int64_t n_per_row,
                           const float *imatrix)
{
    (void)imatrix;
    return quantize_plain(src, dst, nrows, n_per_row, "BF16", quant_bf16_from_float,
                          sizeof(engine_bf16_t));
}

/* Mean square of a row: the sigma2 of the importance weights. */
static float row_sigma2(const float *x, int64_t n)
{
    double s = 0.0;
    for (int64_t j = 0; j < n; j++)
        s += (double)x[j] * x[j];
    return (float)(s / (double)n);
}

/* float -> small non-negative int by truncation after the +0.5 bias, as ggml;
 * the clamp keeps out-of-range and NaN values away from the cast. */
static inline int trunc_clamp(float v, int hi)
{
    return (int)fminf(fmaxf(v, 0.0f), (float)hi);
}

static inline void put_qh(uint8_t qh[4], uint32_t v)
{
    qh[0] = (uint8_t)v;
    qh[1] = (uint8_t)(v >> 8);
    qh[2] = (uint8_t)(v >> 16);
    qh[3] = (uint8_t)(v >> 24);
}

/* Signed max-magnitude value of a block. */
static float block_absmax(const float *x, int n, float *amax_out)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    *amax_out = amax;
    return max;
}

/* ---- Q4_0 / Q5_0: symmetric, d = max / -2^(b-1) ---------------------------- */

static void q4_0_block(const float *x, engine_block_q4_0 *y, const float *w)
{
    uint8_t L[32];
    float d;
    if (w) {
        int8_t l[32];
        d = quant_search_sym(32, 8, x, w, l, true);
        for (int j = 0; j < 32; j++)
            L[j] = (uint8_t)l[j];
    } else {
        float amax;
        const float max = block_absmax(x, 32, &amax);
        d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int j = 0; j < 32; j++)
            L[j] = (uint8_t)trunc_clamp(x[j] * id + 8.5f, 15);
    }
    y->d = engine_f32_to_f16(d);
    for (int j = 0; j < 16; j++)
        y->qs[j] = (uint8_t)(L[j] | L[j + 16] << 4);
}

static void q5_0_block(const float *x, engine_block_q5_0 *y, const float *w)
{
    uint8_t L[32];
    float d;
    if (w) {
        int8_t l[32];
        d = quant_search_sym(32, 16, x, w, l, true);
        for (int j = 0; j < 32; j++)
            L[j] = (uint8_t)l[j];
    } else {
        float amax;
        const float max = block_absmax(x, 32, &amax);
        d = max / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int j = 0; j < 32; j++)
            L[j] = (uint8_t)trunc_clamp(x[j] * id + 16.5f, 31);
    }
    y->d = engine_f32_to_f16(d);
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
        y->qs[j] = (uint8_t)((L[j] & 0x0f) | (L[j + 16] & 0x0f) << 4);
        qh |= (uint32_t)(L[j] >> 4) << j;
        qh |= (uint32_t)(L[j + 16] >> 4) << (j + 16);
    }
    put_qh(y->qh, qh);
}

/* ---- Q4_1 / Q5_1: affine, d = (max - min) / (2^b - 1), m = min -------------- */

static void affine_block(const float *x, int nmax, const float *w, uint8_t *L, float *d,
                         float *m)
{
    if (w) {
        float the_min;
        *d = quant_search_affine(32, nmax, x, w, L, &the_min, -0.9f, 0.05f, 36);
        *m = -the_min;
        return;
    }
    float min = x[0], max = x[0];
    for (int j = 1; j < 32; j++) {
        min = fminf(min, x[j]);
        max = fmaxf(max, x[j]);
    }
    *d = (max - min) / (float)nmax;
    *m = min;
    const float id = *d != 0.0f ? 1.0f / *d : 0.0f;
    for (int j = 0; j < 32; j++)
        L[j] = (uint8_t)trunc_clamp((x[j] - min) * id + 0.5f, nmax);
}

static void q4_1_block(const float *x, engine_block_q4_1 *y, const float *w)
{
    uint8_t L[32];
    float d, m;
    affine_block(x, 15, w, L, &d, &m);
    y->d = engine_f32_to_f16(d);
    y->m = engine_f32_to_f16(m);
    for (int j = 0; j < 16; j++)
        y->qs[j] = (uint8_t)(L[j] | L[j + 16] << 4);
}

static void q5_1_block(const float *x, engine_block_q5_1 *y, const float *w)
{
    uint8_t L[32];
    float d, m;
    affine_block(x, 31, w, L, &d, &m);
    y->d = engine_f32_to_f16(d);
    y->m = engine_f32_to_f16(m);
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
        y->qs[j] = (uint8_t)((L[j] & 0x0f) | (L[j + 16] & 0x0f) << 4);
        qh |= (uint32_t)(L[j] >> 4) << j;
        qh |= (uint32_t)(L[j + 16] >> 4) << (j + 16);
    }
    put_qh(y->qh, qh);
}

/* ---- IQ4_NL: scale searched over the non-linear codebook -------------------- */

/* Index of the codebook entry nearest to v: the number of midpoints between
 * neighbouring entries that are <= v (ties go up, NaN to 0), by a branchless
 * 4-step binary search: the scale search calls it 30 times per value. */
static inline int iq4nl_index(float v)
{
    static const float mid[15] = {-115.5f, -93.5f, -74.0f, -57.0f, -42.0f, -28.5f, -16.0f, -4.5f,
                                  7.0f,    19.0f,  31.5f,  45.5f,  61.0f,  79.0f,  101.0f};
    int k = 0;
    k += (v >= mid[k + 7]) ? 8 : 0;
    k += (v >= mid[k + 3]) ? 4 : 0;
    k += (v >= mid[k + 1]) ? 2 : 0;
    k += (v >= mid[k]) ? 1 : 0;
    return k;
}

static void iq4_nl_block(const float *x, engine_block_iq4_nl *y, const float *imatrix)
{
    const int8_t *values = engine_quant_iq4nl_values;
    float w[32];
    float sigma2 = 0.0f;
    for (int j = 0; j < 32; j++)
        sigma2 += x[j] * x[j];
    sigma2 *= 2.0f / 32.0f;
    if (imatrix)
        quant_imatrix_weights(32, x, imatrix, sigma2, w);
    else
        for (int j = 0; j < 32; j++)
            w[j] = 1.0f; /* plain squared error (ggml: x^2, measured 2-3% higher RMSE) */
    float amax;
    const float max = block_absmax(x, 32, &amax);
    float d = 0.0f;
    if (amax >= 1e-15f) {
        /* the extreme value on the codebook's -127 end, then on its +113
         * end (the codebook is asymmetric), each with the neighbouring
         * scales; every candidate refit by weighted LS */
        float best = -1.0f;
        for (int k = 0; k < 30; k++) {
            const float c = (float)(k % 15 - 7) + (float)values[0];
            const float id = (k < 15 ? c : -c) / max;
            float sumqx = 0.0f, sumq2 = 0.0f;
            for (int j = 0; j < 32; j++) {
                const float q = values[iq4nl_index(id * x[j])];
                sumqx += w[j] * q * x[j];
                sumq2 += w[j] * q * q;
            }
            if (sumq2 > 0.0f && (best < 0.0f || sumqx * sumqx > best * sumq2)) {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        if (best < 0.0f) /* all weights zero */
            d = max / (float)values[0];
    }
    y->d = engine_f32_to_f16(d);
    /* final indices against the stored (half-rounded) scale */
    const float dq = engine_f16_to_f32(y->d);
    const float id = dq != 0.0f ? 1.0f / dq : 0.0f;
    uint8_t L[32];
    for (int j = 0; j < 32; j++)
        L[j] = (uint8_t)iq4nl_index(id * x[j]);
    for (int j = 0; j < 16; j++)
        y->qs[j] = (uint8_t)(L[j] | L[j + 16] << 4);
}

/* ---- row drivers ---------------------------------------------------------- */

#define DEFINE_QUANTIZE_32(fn, tname, block_t, block_fn, use_imatrix)                          \
    size_t fn(const float *src, void *dst, int64_t nrows, int64_t n_per_row,                 \
              const float *imatrix)                                                           \
    {                                                                                         \
        if (quant_check_args(src, dst, nrows, n_per_row, 32, tname) != 0)                     \
            return 0;                                                                         \
        block_t *y = dst;                                                                     \
        float w[32];                                                                          \
        for (int64_t r = 0; r < nrows; r++) {                                                 \
            const float *x = src + r * n_per_row;                                             \
            const float sigma2 = (use_imatrix) && imatrix ? row_sigma2(x, n_per_row) : 0.0f;   \
            for (int64_t b = 0; b < n_per_row / 32; b++, y++) {                               \
                const float *wp = NULL;                                                       \
                if ((use_imatrix) && imatrix) {                                               \
                    quant_imatrix_weights(32, x + 32 * b, imatrix + 32 * b, sigma2, w);       \
                    wp = w;                                                                   \
                }                                                                             \
                block_fn(x + 32 * b, y, wp);                                                  \
            }                                                                                 \
        }                                                                                     \
        return (size_t)(nrows * (n_per_row / 32)) * sizeof(block_t);                          \
    }

DEFINE_QUANTIZE_32(quant_quantize_q4_0, "Q4_0", engine_block_q4_0, q4_0_block, true)
DEFINE_QUANTIZE_32(quant_quantize_q4_1, "Q4_1", engine_block_q4_1, q4_1_block, true)
DEFINE_QUANTIZE_32(quant_quantize_q5_0, "Q5_0", engine_block_q5_0, q5_0_block, true)
DEFINE_QUANTIZE_32(quant_quantize_q5_1, "Q5_1", engine_block_q5_1, q5_1_block, true)

size_t quant_quantize_q8_0(const float *src, void *dst, int64_t nrows, int64_t n_per_row,
                           const float *imatrix)
{
    (void)imatrix; /* 8 bits: round to nearest is as good as a search, as in ggml */
    if (quant_check_args(src, dst, nrows, n_per_row, 32, "Q8_0") != 0)
        return 0;
    quant_q8_0_from_float(src, dst, nrows * n_per_row);
    return engine_row_size(ENGINE_TYPE_Q8_0, n_per_row) * (size_t)nrows;
}

size_t quant_quantize_iq4_nl(const float *src, void *dst, int64_t nrows, int64_t n_per_row,
                             const float *imatrix)
{
    if (quant_check_args(src, dst, nrows, n_per_row, 32, "IQ4_NL") != 0)
        return 0;
    engine_block_iq4_nl *y = dst;
    for (int64_t r = 0; r < nrows; r++) {
        const float *x = src + r * n_per_row;
        for (int64_t b = 0; b < n_per_row / 32; b++, y++)
            iq4_nl_block(x + 32 * b, y, imatrix ? imatrix + 32 * b : NULL);
    }
    return (size_t)(nrows * (n_per_row / 32)) * sizeof(engine_block_iq4_nl);
}
