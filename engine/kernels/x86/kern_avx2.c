/*
 * kern_avx2.c: the "avx2" variant (AVX2 + FMA + F16C). One 32-block per ymm
 * with vpmaddubsw (u8 x s8 -> s16 pairs) and vpmaddwd to int32. Q8_0 uses
 * the abs/sign trick (|w| x sign(a, w)); Q4_0 subtracts 8 * sum(a) in the
 * 16-bit domain. Register tiles of up to 4 weight rows x 2 activation rows
 * (16 ymm registers).
 */
#include "../kernels.h"

#include <immintrin.h>

#define AI static inline __attribute__((always_inline))
#define RT 4
#define CT 2

static bool avx2_capable(const probes_features_t *f)
{
    return probes_features_has(f, PROBES_FEAT_AVX2) && probes_features_has(f, PROBES_FEAT_FMA) &&
           probes_features_has(f, PROBES_FEAT_F16C);
}

AI float f16(engine_f16_t h)
{
    return _cvtsh_ss(h);
}

AI float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AI void q8_0_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            acc[r][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m256i A[CT];
        float da[CT];
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++) {
            const engine_block_q8_0 *q = (const engine_block_q8_0 *)(a + c * astride) + b;
            A[c] = _mm256_loadu_si256((const __m256i *)q->qs);
            da[c] = f16(q->d);
        }
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const engine_block_q8_0 *x = (const engine_block_q8_0 *)(w + r * wstride) + b;
            __m256i W = _mm256_loadu_si256((const __m256i *)x->qs);
            __m256i aw = _mm256_sign_epi8(W, W);
            const float dw = f16(x->d);
#pragma GCC unroll 2
            for (int c = 0; c < ct; c++) {
                __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(A[c], W)), ones);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * da[c]),
                                            acc[r][c]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = hsum8(acc[r][c]);
}

AI void q4_0_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i x08 = _mm256_set1_epi8(8);
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256 acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            acc[r][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m256i A[CT], off[CT];
        float da[CT];
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++) {
            const engine_block_q8_0 *q = (const engine_block_q8_0 *)(a + c * astride) + b;
            A[c] = _mm256_loadu_si256((const __m256i *)q->qs);
            off[c] = _mm256_maddubs_epi16(x08, A[c]);
            da[c] = f16(q->d);
        }
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const engine_block_q4_0 *x = (const engine_block_q4_0 *)(w + r * wstride) + b;
            __m128i q = _mm_loadu_si128((const __m128i *)x->qs);
            __m256i W = _mm256_and_si256(
                _mm256_inserti128_si256(_mm256_castsi128_si256(q), _mm_srli_epi16(q, 4), 1), m4);
            const float dw = f16(x->d);
#pragma GCC unroll 2
            for (int c = 0; c < ct; c++) {
                __m256i p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(W, A[c]), off[c]);
                __m256i p = _mm256_madd_epi16(p16, ones);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * da[c]),
                                            acc[r][c]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = hsum8(acc[r][c]);
}

#define DEFINE_MM(fmt, BS)                                                                      \
    static void mm_##fmt(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act, \
                         size_t astride, int64_t mr, float *y, int64_t ldy)                     \
    {                                                                                           \
        const uint8_t *W = w, *A = act;                                                         \
        const int64_t nb = k / (BS);                                                            \
        int64_t j = 0;                                                                          \
        for (; j + CT <= mr; j += CT) {                                                         \
            int64_t i = 0;                                                                      \
            for (; i + RT <= nr; i += RT)                                                       \
                fmt##_tile(RT, CT, nb, W + i * wstride, wstride, A + j * astride, astride,      \
                           y + j * ldy + i, ldy);                                               \
            for (; i < nr; i++)                                                                 \
                fmt##_tile(1, CT, nb, W + i * wstride, wstride, A + j * astride, astride,       \
                           y + j * ldy + i, ldy);                                               \
        }                                                                                       \
        for (; j < mr; j++) {                                                                   \
            int64_t i = 0;                                                                      \
            for (; i + RT <= nr; i += RT)                                                       \
                fmt##_tile(RT, 1, nb, W + i * wstride, wstride, A + j * astride, astride,       \
                           y + j * ldy + i, ldy);                                               \
            for (; i < nr; i++)                                                                 \
                fmt##_tile(1, 1, nb, W + i * wstride, wstride, A + j * astride, astride,        \
                           y + j * ldy + i, ldy);                                               \
        }                                                                                       \
    }

DEFINE_MM(q8_0, ENGINE_QK8_0)
DEFINE_MM(q4_0, ENGINE_QK4_0)

const kern_variant_t kern_variant_avx2 = {
    .name = "avx2",
    .capable = avx2_capable,
    .mm =
        {
            [ENGINE_TYPE_Q8_0] = mm_q8_0,
            [ENGINE_TYPE_Q4_0] = mm_q4_0,
        },
    .act_type =
        {
            [ENGINE_TYPE_Q8_0] = ENGINE_TYPE_Q8_0,
            [ENGINE_TYPE_Q4_0] = ENGINE_TYPE_Q8_0,
        },
};
