/*
 * kern_avx2.c: the "avx2" variant (AVX2 + FMA + F16C) and its method table;
 * kernels for Q8_0, Q4_0, Q4_K, Q6_K here, the other formats in
 * b32_avx2.c, kq_avx2.c, fl_avx2.c. One 32-block per ymm
 * with vpmaddubsw (u8 x s8 -> s16 pairs) and vpmaddwd to int32. Q8_0 uses
 * the abs/sign trick (|w| x sign(a, w)); Q4_0 subtracts 8 * sum(a) in the
 * 16-bit domain. Register tiles of up to 4 weight rows x 2 activation rows
 * (16 ymm registers).
 */
#include "avx2.h"
#include "../mm_driver.h"

#include <string.h>

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
            pf_row(x, (int)sizeof *x);
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
            pf_row(x, (int)sizeof *x);
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

/* ---- Q4_K, Q6_K x Q8_K: vpmaddubsw, then vpmaddwd with the sub-block scale ---- */
/* u[0..1]: the 8 scale bytes, u[2..3]: the 8 min bytes. Kept in registers
 * (a vector load of dwords just stored would stall on store forwarding). */
AI void q4_K_scales(const uint8_t *s12, uint32_t u[4])
{
    const uint32_t km1 = 0x3f3f3f3f, km2 = 0x0f0f0f0f, km3 = 0x03030303;
    memcpy(u, s12, 12);
    u[3] = ((u[2] >> 4) & km2) | (((u[1] >> 6) & km3) << 4);
    const uint32_t t = u[1] & km1;
    u[1] = (u[2] & km2) | (((u[0] >> 6) & km3) << 4);
    u[2] = t;
    u[0] &= km1;
}

/* Byte i (0..7) of the scale (or min) bytes held in two dwords. */
AI short q4_K_byte(const uint32_t *u2, int i)
{
    return (short)((u2[i / 4] >> (8 * (i % 4))) & 0xff);
}

AI void q4_K_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256 acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            acc[r][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const engine_block_q4_K *x = (const engine_block_q4_K *)(w + r * wstride) + b;
            pf_row(x, (int)sizeof *x);
            uint32_t u[4];
            q4_K_scales(x->scales, u);
            __m128i m8 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)u[3], (int)u[2]));
            __m256i md = _mm256_set_m128i(_mm_unpackhi_epi16(m8, m8), _mm_unpacklo_epi16(m8, m8));
            const float d = f16(x->d), dmin = f16(x->dmin);
#pragma GCC unroll 2
            for (int c = 0; c < ct; c++) {
                const engine_block_q8_K *q8 = (const engine_block_q8_K *)(a + c * astride) + b;
                __m256i isum = _mm256_setzero_si256();
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) {
                    __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * j));
                    __m256i plo = _mm256_maddubs_epi16(
                        _mm256_and_si256(q, m4), _mm256_loadu_si256((const __m256i *)(q8->qs + 64 * j)));
                    __m256i phi = _mm256_maddubs_epi16(
                        _mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                        _mm256_loadu_si256((const __m256i *)(q8->qs + 64 * j + 32)));
                    isum = _mm256_add_epi32(isum, _mm256_madd_epi16(plo, _mm256_set1_epi16(q4_K_byte(u, 2 * j))));
                    isum = _mm256_add_epi32(isum, _mm256_madd_epi16(phi, _mm256_set1_epi16(q4_K_byte(u, 2 * j + 1))));
                }
                __m256i mn = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)q8->bsums), md);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d * q8->d), acc[r][c]);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mn), _mm256_set1_ps(-dmin * q8->d), acc[r][c]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = hsum8(acc[r][c]);
}

AI void q6_K_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
    __m256 acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            acc[r][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const engine_block_q6_K *x = (const engine_block_q6_K *)(w + r * wstride) + b;
            pf_row(x, (int)sizeof *x);
            const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x->scales));
            const float d = f16(x->d);
#pragma GCC unroll 2
            for (int c = 0; c < ct; c++) {
                const engine_block_q8_K *q8 = (const engine_block_q8_K *)(a + c * astride) + b;
                __m256i isum = _mm256_setzero_si256();
#pragma GCC unroll 2
                for (int h = 0; h < 2; h++) {
                    __m256i ql0 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h));
                    __m256i ql1 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32));
                    __m256i qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
                    __m256i v[4];
                    v[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
                    v[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
                    v[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30));
                    v[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                           _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
#pragma GCC unroll 4
                    for (int t = 0; t < 4; t++) {
                        /* 32 values 128h + 32t: sub-blocks s and s + 1 */
                        const int sb = 8 * h + 2 * t;
                        __m256i p = _mm256_maddubs_epi16(
                            v[t], _mm256_loadu_si256((const __m256i *)(q8->qs + 128 * h + 32 * t)));
                        __m256i scv = _mm256_set_m128i(_mm_set1_epi16(x->scales[sb + 1]),
                                                       _mm_set1_epi16(x->scales[sb]));
                        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, scv));
                    }
                }
                __m256i mo = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)q8->bsums), sc16);
                isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(mo, 5));
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d * q8->d), acc[r][c]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = hsum8(acc[r][c]);
}

DEFINE_MM(q8_0, ENGINE_QK8_0)
DEFINE_MM(q4_0, ENGINE_QK4_0)
DEFINE_MM(q4_K, ENGINE_QK_K)
DEFINE_MM(q6_K, ENGINE_QK_K)

/* The variant: Q8_0, Q4_0, Q4_K, Q6_K from this file, the other formats
 * and the activation quantizers from b32_avx2.c, kq_avx2.c, fl_avx2.c and
 * act_avx2.c (declared in avx2.h). */
const kern_variant_t kern_variant_avx2 = {
    .name = "avx2",
    .needs = KERN_FEAT(AVX2) | KERN_FEAT(FMA) | KERN_FEAT(F16C),
    .ops = &kern_ops_avx2,
    .mm =
        {
            [ENGINE_TYPE_Q8_0] = mm_q8_0,
            [ENGINE_TYPE_Q4_0] = mm_q4_0,
            [ENGINE_TYPE_Q4_K] = mm_q4_K,
            [ENGINE_TYPE_Q6_K] = mm_q6_K,
            [ENGINE_TYPE_Q4_1] = kern_avx2_mm_q4_1,
            [ENGINE_TYPE_Q5_0] = kern_avx2_mm_q5_0,
            [ENGINE_TYPE_Q5_1] = kern_avx2_mm_q5_1,
            [ENGINE_TYPE_IQ4_NL] = kern_avx2_mm_iq4_nl,
            [ENGINE_TYPE_Q2_K] = kern_avx2_mm_q2_K,
            [ENGINE_TYPE_Q3_K] = kern_avx2_mm_q3_K,
            [ENGINE_TYPE_Q5_K] = kern_avx2_mm_q5_K,
            [ENGINE_TYPE_F32] = kern_avx2_mm_f32,
            [ENGINE_TYPE_F16] = kern_avx2_mm_f16,
            [ENGINE_TYPE_BF16] = kern_avx2_mm_bf16,
        },
    .quant =
        {
            [ENGINE_TYPE_Q8_0] = kern_avx2_quant_q8_0,
            [ENGINE_TYPE_Q8_1] = kern_avx2_quant_q8_1,
            [ENGINE_TYPE_Q8_K] = kern_avx2_quant_q8_K,
            [ENGINE_TYPE_F16] = kern_avx2_quant_f16,
            [ENGINE_TYPE_BF16] = kern_avx2_quant_bf16,
        },
    .act_type =
        {
            [ENGINE_TYPE_Q8_0] = ENGINE_TYPE_Q8_0,
            [ENGINE_TYPE_Q4_0] = ENGINE_TYPE_Q8_0,
            [ENGINE_TYPE_Q4_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_Q6_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_Q4_1] = ENGINE_TYPE_Q8_1,
            [ENGINE_TYPE_Q5_0] = ENGINE_TYPE_Q8_0,
            [ENGINE_TYPE_Q5_1] = ENGINE_TYPE_Q8_1,
            [ENGINE_TYPE_IQ4_NL] = ENGINE_TYPE_Q8_0,
            [ENGINE_TYPE_Q2_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_Q3_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_Q5_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_F32] = ENGINE_TYPE_F32,
            [ENGINE_TYPE_F16] = ENGINE_TYPE_F16,
            [ENGINE_TYPE_BF16] = ENGINE_TYPE_BF16,
        },
};
