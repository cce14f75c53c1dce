/*
 * b32_avx512.c: the avx512 variant's kernels for the 32-value block formats
 * over the GGUF layout: Q8_0 and Q4_0 (x Q8_0), Q5_0 and IQ4_NL (x Q8_0),
 * Q4_1 and Q5_1 (x Q8_1). A pair of blocks per zmm; register tiles of up to
 * 4 weight rows x 4 activation rows (a weight block unpacked once for 4
 * tokens in prefill, an activation block loaded once for 4 rows in decode).
 */
#include "../kernels.h"
#include "avx512.h"

#include <string.h>

/* Zero blocks stand in for the missing half of the last block pair when a
 * row has an odd number of 32-blocks: scale 0, quants 0, so they add 0. */
static const engine_block_q8_0 zero_q8_0;
static const engine_block_q4_0 zero_q4_0;

/* ---- Q8_0 x Q8_0 ---------------------------------------------------------------
 * A pair of blocks per zmm: [w0 | w1] ^ 0x80 (unsigned), activations [a0 | a1].
 * dot = sum (w + 128) a - 128 sum a; lanes 0-7 belong to block 0, 8-15 to 1. */
AI void q8_0_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i x80 = _mm512_set1_epi8((char)0x80);
    __m512 acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b += 2) {
        const bool two = b + 1 < nb;
        __m512i A[CT], off[CT];
        __m512 da[CT];
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++) {
            const engine_block_q8_0 *a0 = (const engine_block_q8_0 *)(a + c * astride) + b;
            const engine_block_q8_0 *a1 = two ? a0 + 1 : &zero_q8_0;
            A[c] = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a0->qs)),
                _mm256_loadu_si256((const __m256i *)a1->qs), 1);
            off[c] = _mm512_sub_epi32(_mm512_setzero_si512(),
                                      _mm512_dpbusd_epi32(_mm512_setzero_si512(), x80, A[c]));
            da[c] = scale2(a0->d, a1->d, idx);
        }
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const engine_block_q8_0 *w0 = (const engine_block_q8_0 *)(w + r * wstride) + b;
            const engine_block_q8_0 *w1 = two ? w0 + 1 : &zero_q8_0;
            __m512i W = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)w0->qs)),
                _mm256_loadu_si256((const __m256i *)w1->qs), 1);
            W = _mm512_xor_si512(W, x80);
            __m512 dw = scale2(w0->d, w1->d, idx);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++) {
                __m512i dot = _mm512_dpbusd_epi32(off[c], W, A[c]);
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw, da[c]),
                                            acc[r][c]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = hsum(acc[r][c]);
}

/* ---- Q4_0 x Q8_0 ---------------------------------------------------------------
 * Nibbles of a block pair: [lo0 | lo1 | hi0 | hi1] (16 bytes each), so the
 * activations are loaded as [a0[0:16] | a1[0:16] | a0[16:32] | a1[16:32]]:
 * lanes 0-3 and 8-11 belong to block 0, 4-7 and 12-15 to block 1. */
AI void q4_0_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0);
    const __m512i x08 = _mm512_set1_epi8(8);
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    __m512 acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b += 2) {
        const bool two = b + 1 < nb;
        __m512i A[CT], off[CT];
        __m512 da[CT];
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++) {
            const engine_block_q8_0 *a0 = (const engine_block_q8_0 *)(a + c * astride) + b;
            const engine_block_q8_0 *a1 = two ? a0 + 1 : &zero_q8_0;
            __m256i A0 = _mm256_loadu_si256((const __m256i *)a0->qs);
            __m256i A1 = _mm256_loadu_si256((const __m256i *)a1->qs);
            A[c] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_permute2x128_si256(A0, A1, 0x20)),
                                      _mm256_permute2x128_si256(A0, A1, 0x31), 1);
            off[c] = _mm512_sub_epi32(_mm512_setzero_si512(),
                                      _mm512_dpbusd_epi32(_mm512_setzero_si512(), x08, A[c]));
            da[c] = scale2(a0->d, a1->d, idx);
        }
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const engine_block_q4_0 *w0 = (const engine_block_q4_0 *)(w + r * wstride) + b;
            const engine_block_q4_0 *w1 = two ? w0 + 1 : &zero_q4_0;
            __m256i q = _mm256_inserti128_si256(
                _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)w0->qs)),
                _mm_loadu_si128((const __m128i *)w1->qs), 1);
            __m512i W = _mm512_and_si512(
                _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1), m4);
            __m512 dw = scale2(w0->d, w1->d, idx);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++) {
                __m512i dot = _mm512_dpbusd_epi32(off[c], W, A[c]);
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw, da[c]),
                                            acc[r][c]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = hsum(acc[r][c]);
}

/* ---- the other 32-blocks: Q4_1, Q5_0, Q5_1, IQ4_NL ------------------------------
 * Same pair layout as Q4_0 ([lo0 | lo1 | hi0 | hi1] against activations
 * loaded the same way). Q5_x: the 5th bit from qh via a byte mask (bit i of
 * the 64-bit mask = byte i). IQ4_NL: codebook + 128 by vpshufb, offset 128.
 * Q4_1/Q5_1 (x Q8_1): no offset; the min term m * s (s = d_a * sum a, stored
 * in the Q8_1 block) is added per block in float. */
enum { B32_Q5_0, B32_Q4_1, B32_Q5_1, B32_IQ4_NL };

static const int8_t iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                        1,    13,   25,  38,  53,  69,  89,  113};

AI uint64_t qh_mask(const uint8_t *qh0, const uint8_t *qh1)
{
    uint32_t h0, h1;
    memcpy(&h0, qh0, 4);
    memcpy(&h1, qh1, 4);
    return (uint64_t)(h0 & 0xffff) | (uint64_t)(h1 & 0xffff) << 16 | (uint64_t)(h0 >> 16) << 32 |
           (uint64_t)(h1 >> 16) << 48;
}

static const engine_block_q5_0 zero_q5_0;
static const engine_block_q4_1 zero_q4_1;
static const engine_block_q5_1 zero_q5_1;
static const engine_block_iq4_nl zero_iq4_nl;
static const engine_block_q8_1 zero_q8_1;

AI __m512i nibbles2(const uint8_t *q0, const uint8_t *q1)
{
    __m256i q = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)q0)),
                                        _mm_loadu_si128((const __m128i *)q1), 1);
    return _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1),
                            _mm512_set1_epi8(0x0f));
}

AI __m512i acts2(const int8_t *a0, const int8_t *a1)
{
    __m256i A0 = _mm256_loadu_si256((const __m256i *)a0);
    __m256i A1 = _mm256_loadu_si256((const __m256i *)a1);
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_permute2x128_si256(A0, A1, 0x20)),
                              _mm256_permute2x128_si256(A0, A1, 0x31), 1);
}

AI void b32_tile(int kind, int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                 const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0);
    const bool q81 = kind == B32_Q4_1 || kind == B32_Q5_1;
    const int off = kind == B32_Q5_0 ? 16 : kind == B32_IQ4_NL ? 128 : 0;
    const __m512i voff = _mm512_set1_epi8((char)off);
    const __m512i x10 = _mm512_set1_epi8(0x10);
    __m128i tab128 = _mm_add_epi8(_mm_loadu_si128((const __m128i *)iq4nl_values),
                                  _mm_set1_epi8((char)0x80));
    const __m512i tab = _mm512_broadcast_i32x4(tab128);
    __m512 acc[RT][CT];
    float mins[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++) {
            acc[r][c] = _mm512_setzero_ps();
            mins[r][c] = 0;
        }
    for (int64_t b = 0; b < nb; b += 2) {
        const bool two = b + 1 < nb;
        __m512i A[CT], offv[CT];
        __m512 da[CT];
        float s0[CT], s1[CT];
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++) {
            if (q81) {
                const engine_block_q8_1 *a0 = (const engine_block_q8_1 *)(a + c * astride) + b;
                const engine_block_q8_1 *a1 = two ? a0 + 1 : &zero_q8_1;
                A[c] = acts2(a0->qs, a1->qs);
                da[c] = scale2(a0->d, a1->d, idx);
                s0[c] = _cvtsh_ss(a0->s);
                s1[c] = _cvtsh_ss(a1->s);
                offv[c] = _mm512_setzero_si512();
            } else {
                const engine_block_q8_0 *a0 = (const engine_block_q8_0 *)(a + c * astride) + b;
                const engine_block_q8_0 *a1 = two ? a0 + 1 : &zero_q8_0;
                A[c] = acts2(a0->qs, a1->qs);
                da[c] = scale2(a0->d, a1->d, idx);
                offv[c] = _mm512_sub_epi32(_mm512_setzero_si512(),
                                           _mm512_dpbusd_epi32(_mm512_setzero_si512(), voff, A[c]));
                s0[c] = s1[c] = 0;
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const uint8_t *row = w + r * wstride;
            __m512i W;
            __m512 dw;
            float m0 = 0, m1 = 0;
            if (kind == B32_Q5_0) {
                const engine_block_q5_0 *x0 = (const engine_block_q5_0 *)row + b;
                const engine_block_q5_0 *x1 = two ? x0 + 1 : &zero_q5_0;
                W = nibbles2(x0->qs, x1->qs);
                W = _mm512_mask_add_epi8(W, qh_mask(x0->qh, x1->qh), W, x10);
                dw = scale2(x0->d, x1->d, idx);
            } else if (kind == B32_Q4_1) {
                const engine_block_q4_1 *x0 = (const engine_block_q4_1 *)row + b;
                const engine_block_q4_1 *x1 = two ? x0 + 1 : &zero_q4_1;
                W = nibbles2(x0->qs, x1->qs);
                dw = scale2(x0->d, x1->d, idx);
                m0 = _cvtsh_ss(x0->m);
                m1 = _cvtsh_ss(x1->m);
            } else if (kind == B32_Q5_1) {
                const engine_block_q5_1 *x0 = (const engine_block_q5_1 *)row + b;
                const engine_block_q5_1 *x1 = two ? x0 + 1 : &zero_q5_1;
                W = nibbles2(x0->qs, x1->qs);
                W = _mm512_mask_add_epi8(W, qh_mask(x0->qh, x1->qh), W, x10);
                dw = scale2(x0->d, x1->d, idx);
                m0 = _cvtsh_ss(x0->m);
                m1 = _cvtsh_ss(x1->m);
            } else {
                const engine_block_iq4_nl *x0 = (const engine_block_iq4_nl *)row + b;
                const engine_block_iq4_nl *x1 = two ? x0 + 1 : &zero_iq4_nl;
                W = _mm512_shuffle_epi8(tab, nibbles2(x0->qs, x1->qs));
                dw = scale2(x0->d, x1->d, idx);
            }
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++) {
                __m512i dot = _mm512_dpbusd_epi32(offv[c], W, A[c]);
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw, da[c]),
                                            acc[r][c]);
                if (q81)
                    mins[r][c] += m0 * s0[c] + m1 * s1[c];
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = hsum(acc[r][c]) + mins[r][c];
}

AI void q5_0_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t ws, const uint8_t *a,
                  size_t as, float *y, int64_t ldy)
{
    b32_tile(B32_Q5_0, rt, ct, nb, w, ws, a, as, y, ldy);
}
AI void q4_1_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t ws, const uint8_t *a,
                  size_t as, float *y, int64_t ldy)
{
    b32_tile(B32_Q4_1, rt, ct, nb, w, ws, a, as, y, ldy);
}
AI void q5_1_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t ws, const uint8_t *a,
                  size_t as, float *y, int64_t ldy)
{
    b32_tile(B32_Q5_1, rt, ct, nb, w, ws, a, as, y, ldy);
}
AI void iq4_nl_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t ws, const uint8_t *a,
                    size_t as, float *y, int64_t ldy)
{
    b32_tile(B32_IQ4_NL, rt, ct, nb, w, ws, a, as, y, ldy);
}


#include "../mm_driver.h"

DEFINE_MM_NAMED(kern_avx512_mm_q8_0, q8_0, ENGINE_QK8_0)
DEFINE_MM_NAMED(kern_avx512_mm_q4_0, q4_0, ENGINE_QK4_0)
DEFINE_MM_NAMED(kern_avx512_mm_q5_0, q5_0, ENGINE_QK5_0)
DEFINE_MM_NAMED(kern_avx512_mm_q4_1, q4_1, ENGINE_QK4_1)
DEFINE_MM_NAMED(kern_avx512_mm_q5_1, q5_1, ENGINE_QK5_1)
DEFINE_MM_NAMED(kern_avx512_mm_iq4_nl, iq4_nl, ENGINE_QK4_NL)
