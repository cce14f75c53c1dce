/*
 * b32_avx2.c: avx2 kernels for the 32-blocks other than Q4_0/Q8_0: Q5_0 and
 * IQ4_NL (x Q8_0), Q4_1 and Q5_1 (x Q8_1). One block per ymm, values 0..31
 * in order ([low nibbles | high nibbles] of qs), vpmaddubsw (u8 x s8 -> s16
 * pairs) and vpmaddwd to int32.
 * - Q5_x: the 5th bit of value j is bit j of qh, spread to bytes by one
 *   vpshufb (byte j <- qh byte j/8) and a compare with the bit of j % 8.
 * - Q5_0 (quants 0..31, value q - 16): 16 * sum(a) is subtracted in the
 *   16-bit domain, as Q4_0 does with 8.
 * - IQ4_NL: codebook lookup by vpshufb, signed values, then the sign trick
 *   (|w| x sign(a, w)) as Q8_0; |codebook| <= 127 keeps the pairs in int16.
 * - Q4_1/Q5_1: unsigned quants x a as is; the min term m * s (s = d_a *
 *   sum(a), stored in the Q8_1 block) is added per block in float.
 */
#include "avx2.h"
#include "../mm_driver.h"

#include <string.h>

enum { B32_Q4_1, B32_Q5_0, B32_Q5_1, B32_IQ4_NL };

/* ggml's kvalues_iq4nl (the format definition) */
static const int8_t iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                        1,    13,   25,  38,  53,  69,  89,  113};

/* 32 nibbles of a block as bytes 0..15: value j = byte j of the result. */
AI __m256i nibbles(const uint8_t *qs)
{
    __m128i q = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(
        _mm256_inserti128_si256(_mm256_castsi128_si256(q), _mm_srli_epi16(q, 4), 1),
        _mm256_set1_epi8(0x0f));
}

/* Byte j = 0x10 if bit j of the 32-bit qh is set, else 0. */
AI __m256i high_bits(const uint8_t *qh)
{
    uint32_t h;
    memcpy(&h, qh, 4);
    const __m256i spread = _mm256_set_epi64x(0x0303030303030303ll, 0x0202020202020202ll,
                                             0x0101010101010101ll, 0);
    const __m256i sel = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    __m256i b = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)h), spread), sel);
    return _mm256_and_si256(_mm256_cmpeq_epi8(b, sel), _mm256_set1_epi8(0x10));
}

AI void b32_tile(int kind, int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                 const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const bool q81 = kind == B32_Q4_1 || kind == B32_Q5_1;
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i x10 = _mm256_set1_epi8(0x10);
    const __m256i tab = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)iq4nl_values));
    __m256 acc[RT][CT];
    float mins[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++) {
            acc[r][c] = _mm256_setzero_ps();
            mins[r][c] = 0.0f;
        }
    for (int64_t b = 0; b < nb; b++) {
        __m256i A[CT], off[CT];
        float da[CT], sa[CT];
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++) {
            if (q81) {
                const engine_block_q8_1 *q = (const engine_block_q8_1 *)(a + c * astride) + b;
                A[c] = _mm256_loadu_si256((const __m256i *)q->qs);
                da[c] = f16(q->d);
                sa[c] = f16(q->s);
                off[c] = _mm256_setzero_si256();
            } else {
                const engine_block_q8_0 *q = (const engine_block_q8_0 *)(a + c * astride) + b;
                A[c] = _mm256_loadu_si256((const __m256i *)q->qs);
                da[c] = f16(q->d);
                sa[c] = 0.0f;
                off[c] = kind == B32_Q5_0 ? _mm256_maddubs_epi16(x10, A[c]) : _mm256_setzero_si256();
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const uint8_t *row = w + r * wstride;
            __m256i W;
            float dw, mw = 0.0f;
            if (kind == B32_Q4_1) {
                const engine_block_q4_1 *x = (const engine_block_q4_1 *)row + b;
                pf_row(x, (int)sizeof *x);
                W = nibbles(x->qs);
                dw = f16(x->d);
                mw = f16(x->m);
            } else if (kind == B32_Q5_0) {
                const engine_block_q5_0 *x = (const engine_block_q5_0 *)row + b;
                pf_row(x, (int)sizeof *x);
                W = _mm256_or_si256(nibbles(x->qs), high_bits(x->qh));
                dw = f16(x->d);
            } else if (kind == B32_Q5_1) {
                const engine_block_q5_1 *x = (const engine_block_q5_1 *)row + b;
                pf_row(x, (int)sizeof *x);
                W = _mm256_or_si256(nibbles(x->qs), high_bits(x->qh));
                dw = f16(x->d);
                mw = f16(x->m);
            } else {
                const engine_block_iq4_nl *x = (const engine_block_iq4_nl *)row + b;
                pf_row(x, (int)sizeof *x);
                W = _mm256_shuffle_epi8(tab, nibbles(x->qs));
                dw = f16(x->d);
            }
            const __m256i aw = kind == B32_IQ4_NL ? _mm256_sign_epi8(W, W) : W;
#pragma GCC unroll 2
            for (int c = 0; c < ct; c++) {
                __m256i p16;
                if (kind == B32_IQ4_NL)
                    p16 = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(A[c], W));
                else if (kind == B32_Q5_0)
                    p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(W, A[c]), off[c]);
                else
                    p16 = _mm256_maddubs_epi16(W, A[c]);
                __m256i p = _mm256_madd_epi16(p16, ones);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * da[c]),
                                            acc[r][c]);
                if (q81)
                    mins[r][c] += mw * sa[c];
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = hsum8(acc[r][c]) + mins[r][c];
}

AI void q4_1_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t ws, const uint8_t *a,
                  size_t as, float *y, int64_t ldy)
{
    b32_tile(B32_Q4_1, rt, ct, nb, w, ws, a, as, y, ldy);
}
AI void q5_0_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t ws, const uint8_t *a,
                  size_t as, float *y, int64_t ldy)
{
    b32_tile(B32_Q5_0, rt, ct, nb, w, ws, a, as, y, ldy);
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

DEFINE_MM_NAMED(kern_avx2_mm_q4_1, q4_1, ENGINE_QK4_1)
DEFINE_MM_NAMED(kern_avx2_mm_q5_0, q5_0, ENGINE_QK5_0)
DEFINE_MM_NAMED(kern_avx2_mm_q5_1, q5_1, ENGINE_QK5_1)
DEFINE_MM_NAMED(kern_avx2_mm_iq4_nl, iq4_nl, ENGINE_QK4_NL)
