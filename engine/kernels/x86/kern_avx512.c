/*
 * kern_avx512.c: the "avx512" variant (AVX-512 F/BW/VL/DQ + VNNI; its BF16
 * kernel alone needs AVX512_BF16: bf16_avx512bf16.c, F32/F16: fl_avx512.c).
 * Integer dot products with 512-bit vpdpbusd (u8 x s8 -> s32). Weight
 * quants are made unsigned (offset +8 for Q4_0, +128 for Q8_0, 0..63 for
 * Q6_K), and the offset times the activation block sum is folded in
 * afterwards (computed once per activation block and tile, or from Q8_K's
 * bsums). Register tiles of up to 4 weight rows x 4 activation rows: a
 * weight block is unpacked once for 4 tokens (prefill), an activation block
 * loaded once for 4 rows (decode).
 */
#include "../kernels.h"
#include "act_x86.h"
#include "avx512.h"

#include <immintrin.h>
#include <string.h>

#define AI static inline __attribute__((always_inline))
#define RT 4 /* weight rows per register tile */
#define CT 4 /* activation rows per register tile */

/* Zero blocks stand in for the missing half of the last block pair when a
 * row has an odd number of 32-blocks: scale 0, quants 0, so they add 0. */
static const engine_block_q8_0 zero_q8_0;
static const engine_block_q4_0 zero_q4_0;

/* Two f16 scales -> 16 float lanes following the lane pattern idx. */
AI __m512 scale2(engine_f16_t d0, engine_f16_t d1, __m512i idx)
{
    __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)d0 | ((uint32_t)d1 << 16))));
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(f));
}

AI float hsum(__m512 v)
{
    return _mm512_reduce_add_ps(v);
}

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

/* ---- Q4_K x Q8_K ---------------------------------------------------------------
 * Chunk j (64 values) of a super-block: [low nibbles | high nibbles] of
 * qs[32j..32j+32] = values 64j..64j+63 in order; lanes 0-7 are sub-block 2j,
 * 8-15 sub-block 2j+1. Scales multiply the int32 lanes; the mins term comes
 * from Q8_K's bsums. */
AI void q4_K_scales(const uint8_t *s12, uint8_t out[16])
{
    const uint32_t km1 = 0x3f3f3f3f, km2 = 0x0f0f0f0f, km3 = 0x03030303;
    uint32_t u[4];
    memcpy(u, s12, 12);
    u[3] = ((u[2] >> 4) & km2) | (((u[1] >> 6) & km3) << 4);
    const uint32_t t = u[1] & km1;
    u[1] = (u[2] & km2) | (((u[0] >> 6) & km3) << 4);
    u[2] = t;
    u[0] &= km1;
    memcpy(out, u, 16); /* bytes 0-7 scales, 8-15 mins */
}

AI void q4_K_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m256i midx = _mm256_set_epi16(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
    __m512 acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const engine_block_q4_K *x = (const engine_block_q4_K *)(w + r * wstride) + b;
            uint8_t s[16];
            q4_K_scales(x->scales, s);
            __m128i s8 = _mm_loadu_si128((const __m128i *)s);
            __m256i s16 = _mm256_cvtepu8_epi16(s8); /* sc0..7, m0..7 */
            __m256i md = _mm256_permutexvar_epi16(midx, s16);
            __m512i s16z = _mm512_castsi256_si512(s16);
            __m512i W[4], SC[4];
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * j));
                W[j] = _mm512_and_si512(
                    _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1), m4);
                /* int16 lanes 0-15 (bytes 0-31) sub-block 2j, 16-31 sub-block 2j+1 */
                SC[j] = _mm512_permutexvar_epi16(
                    _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)(2 * j))),
                                       _mm256_set1_epi16((short)(2 * j + 1)), 1),
                    s16z);
            }
            const float d = _cvtsh_ss(x->d), dmin = _cvtsh_ss(x->dmin);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++) {
                const engine_block_q8_K *q8 = (const engine_block_q8_K *)(a + c * astride) + b;
                __m512i isum = _mm512_setzero_si512();
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) {
                    /* u4 x s8 pairs fit int16 (2 * 15 * 128), then x scale into int32 */
                    __m512i p = _mm512_maddubs_epi16(
                        W[j], _mm512_loadu_si512((const void *)(q8->qs + 64 * j)));
                    isum = _mm512_dpwssd_epi32(isum, p, SC[j]);
                }
                __m256i mn = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)q8->bsums), md);
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * q8->d),
                                            acc[r][c]);
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(mn)),
                                            _mm512_set1_ps(-dmin * q8->d), acc[r][c]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = hsum(acc[r][c]);
}

/* ---- Q6_K x Q8_K ---------------------------------------------------------------
 * Half h of a super-block (128 values) gives two zmm of 6-bit quants 0..63:
 * V0 = values 128h + 0..63, V1 = 128h + 64..127; lane l of chunk t covers
 * values 64t + 4l.., i.e. scale 4t + l/4. The -32 offset is folded in with
 * the bsums: -32 * sum_s scale_s * bsum_s. */
AI void q6_K_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512i m30 = _mm512_set1_epi8(0x30);
    __m512 acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const engine_block_q6_K *x = (const engine_block_q6_K *)(w + r * wstride) + b;
            __m128i s8 = _mm_loadu_si128((const __m128i *)x->scales);
            __m256i sc16 = _mm256_cvtepi8_epi16(s8);
            __m512i sc16z = _mm512_castsi256_si512(sc16);
            __m512i V[4], SC[4];
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                __m512i ql = _mm512_loadu_si512((const void *)(x->ql + 64 * h));
                __m256i qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
                __m512i qha = _mm512_and_si512(
                    _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_slli_epi16(qh, 4)),
                                       _mm256_slli_epi16(qh, 2), 1),
                    m30);
                __m512i qhb = _mm512_and_si512(
                    _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1),
                    m30);
                V[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, m4), qha);
                V[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4), qhb);
            }
            /* int16 lane l of chunk t covers values 64t + 2l: scale 4t + l/8 */
#pragma GCC unroll 4
            for (int t = 0; t < 4; t++) {
                const short s0 = (short)(4 * t);
                SC[t] = _mm512_permutexvar_epi16(
                    _mm512_inserti64x4(
                        _mm512_castsi256_si512(_mm256_set_epi16(
                            s0 + 1, s0 + 1, s0 + 1, s0 + 1, s0 + 1, s0 + 1, s0 + 1, s0 + 1, s0, s0,
                            s0, s0, s0, s0, s0, s0)),
                        _mm256_set_epi16(s0 + 3, s0 + 3, s0 + 3, s0 + 3, s0 + 3, s0 + 3, s0 + 3,
                                         s0 + 3, s0 + 2, s0 + 2, s0 + 2, s0 + 2, s0 + 2, s0 + 2,
                                         s0 + 2, s0 + 2),
                        1),
                    sc16z);
            }
            const float d = _cvtsh_ss(x->d);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++) {
                const engine_block_q8_K *q8 = (const engine_block_q8_K *)(a + c * astride) + b;
                __m512i isum = _mm512_setzero_si512();
#pragma GCC unroll 4
                for (int t = 0; t < 4; t++) {
                    /* u6 x s8 pairs fit int16 (2 * 63 * 128), then x scale into int32 */
                    __m512i p = _mm512_maddubs_epi16(
                        V[t], _mm512_loadu_si512((const void *)(q8->qs + 64 * t)));
                    isum = _mm512_dpwssd_epi32(isum, p, SC[t]);
                }
                __m256i mo = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)q8->bsums), sc16);
                isum = _mm512_sub_epi32(isum, _mm512_zextsi256_si512(_mm256_slli_epi32(mo, 5)));
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * q8->d),
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

/* ---- Q5_K, Q3_K, Q2_K x Q8_K -------------------------------------------------------
 * Same scheme as Q4_K/Q6_K: unsigned quants x s8 by vpmaddubsw, scales by
 * vpdpwssd, mins and offsets from the bsums. */
AI void q5_K_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512i x10 = _mm512_set1_epi8(0x10);
    const __m256i midx = _mm256_set_epi16(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
    __m512 acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const engine_block_q5_K *x = (const engine_block_q5_K *)(w + r * wstride) + b;
            uint8_t sb[16];
            q4_K_scales(x->scales, sb);
            __m128i s8 = _mm_loadu_si128((const __m128i *)sb);
            __m256i s16 = _mm256_cvtepu8_epi16(s8);
            __m256i md = _mm256_permutexvar_epi16(midx, s16);
            __m512i s16z = _mm512_castsi256_si512(s16);
            __m256i qh = _mm256_loadu_si256((const __m256i *)x->qh);
            __m512i W[4], SC[4];
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * j));
                __m512i v = _mm512_and_si512(
                    _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1), m4);
                /* 5th bit: bit 2j of qh[l] for the low nibbles, 2j + 1 for the high */
                __m512i h = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_srli_epi16(qh, 2 * j)),
                                               _mm256_srli_epi16(qh, 2 * j + 1), 1);
                W[j] = _mm512_or_si512(v, _mm512_and_si512(_mm512_slli_epi16(h, 4), x10));
                SC[j] = _mm512_permutexvar_epi16(
                    _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)(2 * j))),
                                       _mm256_set1_epi16((short)(2 * j + 1)), 1),
                    s16z);
            }
            const float d = _cvtsh_ss(x->d), dmin = _cvtsh_ss(x->dmin);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++) {
                const engine_block_q8_K *q8 = (const engine_block_q8_K *)(a + c * astride) + b;
                __m512i isum = _mm512_setzero_si512();
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++)
                    isum = _mm512_dpwssd_epi32(
                        isum,
                        _mm512_maddubs_epi16(W[j],
                                             _mm512_loadu_si512((const void *)(q8->qs + 64 * j))),
                        SC[j]);
                __m256i mn = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)q8->bsums), md);
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * q8->d),
                                            acc[r][c]);
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(mn)),
                                            _mm512_set1_ps(-dmin * q8->d), acc[r][c]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = hsum(acc[r][c]);
}

/* Scale vectors for 16-value sub-blocks: int16 lane l of chunk t (64 values)
 * covers values 64t + 2l, i.e. scale 4t + l/8. */
AI __m512i sc16_chunk(__m512i s16z, int t)
{
    const short s0 = (short)(4 * t);
    return _mm512_permutexvar_epi16(
        _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_set_epi16(s0 + 1, s0 + 1, s0 + 1, s0 + 1, s0 + 1, s0 + 1,
                                                    s0 + 1, s0 + 1, s0, s0, s0, s0, s0, s0, s0, s0)),
            _mm256_set_epi16(s0 + 3, s0 + 3, s0 + 3, s0 + 3, s0 + 3, s0 + 3, s0 + 3, s0 + 3, s0 + 2,
                             s0 + 2, s0 + 2, s0 + 2, s0 + 2, s0 + 2, s0 + 2, s0 + 2),
            1),
        s16z);
}

/* 2-bit quants of Q2_K/Q3_K: value v is (qs[32 (v / 128) + v % 32] >> 2 ((v / 32) % 4)) & 3.
 * Chunk t = values 64t..64t+63. */
AI __m512i q2_chunk(const uint8_t *qs, int t)
{
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * (t / 2)));
    const int s0 = 2 * ((2 * t) % 4), s1 = 2 * ((2 * t + 1) % 4);
    return _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_and_si256(_mm256_srli_epi16(q, s0), m3)),
        _mm256_and_si256(_mm256_srli_epi16(q, s1), m3), 1);
}

AI void q3_K_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const uint32_t km1 = 0x03030303, km2 = 0x0f0f0f0f;
    const __m512i x04 = _mm512_set1_epi8(4);
    __m512 acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const engine_block_q3_K *x = (const engine_block_q3_K *)(w + r * wstride) + b;
            uint32_t aux[4];
            memcpy(aux, x->scales, 12);
            const uint32_t tmp = aux[2];
            aux[2] = ((aux[0] >> 4) & km2) | (((tmp >> 4) & km1) << 4);
            aux[3] = ((aux[1] >> 4) & km2) | (((tmp >> 6) & km1) << 4);
            aux[0] = (aux[0] & km2) | (((tmp >> 0) & km1) << 4);
            aux[1] = (aux[1] & km2) | (((tmp >> 2) & km1) << 4);
            __m128i s8 = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)aux), _mm_set1_epi8(32));
            __m256i sc16 = _mm256_cvtepi8_epi16(s8);
            __m512i s16z = _mm512_castsi256_si512(sc16);
            __m256i hm = _mm256_loadu_si256((const __m256i *)x->hmask);
            __m512i V[4], SC[4];
#pragma GCC unroll 4
            for (int t = 0; t < 4; t++) {
                /* 3rd bit: bit v / 32 of hmask[v % 32] */
                __m512i h = _mm512_inserti64x4(
                    _mm512_castsi256_si512(_mm256_srli_epi16(hm, 2 * t)),
                    _mm256_srli_epi16(hm, 2 * t + 1), 1);
                V[t] = _mm512_or_si512(q2_chunk(x->qs, t),
                                       _mm512_and_si512(_mm512_slli_epi16(h, 2), x04));
                SC[t] = sc16_chunk(s16z, t);
            }
            const float d = _cvtsh_ss(x->d);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++) {
                const engine_block_q8_K *q8 = (const engine_block_q8_K *)(a + c * astride) + b;
                __m512i isum = _mm512_setzero_si512();
#pragma GCC unroll 4
                for (int t = 0; t < 4; t++)
                    isum = _mm512_dpwssd_epi32(
                        isum,
                        _mm512_maddubs_epi16(V[t],
                                             _mm512_loadu_si512((const void *)(q8->qs + 64 * t))),
                        SC[t]);
                /* values are u - 4: subtract 4 * sum_s scale_s * bsum_s */
                __m256i mo = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)q8->bsums), sc16);
                isum = _mm512_sub_epi32(isum, _mm512_zextsi256_si512(_mm256_slli_epi32(mo, 2)));
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * q8->d),
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

AI void q2_K_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    __m512 acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const engine_block_q2_K *x = (const engine_block_q2_K *)(w + r * wstride) + b;
            __m128i sb = _mm_loadu_si128((const __m128i *)x->scales);
            __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(sb, _mm_set1_epi8(0x0f)));
            __m256i mn16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sb, 4), _mm_set1_epi8(0x0f)));
            __m512i s16z = _mm512_castsi256_si512(sc16);
            __m512i V[4], SC[4];
#pragma GCC unroll 4
            for (int t = 0; t < 4; t++) {
                V[t] = q2_chunk(x->qs, t);
                SC[t] = sc16_chunk(s16z, t);
            }
            const float d = _cvtsh_ss(x->d), dmin = _cvtsh_ss(x->dmin);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++) {
                const engine_block_q8_K *q8 = (const engine_block_q8_K *)(a + c * astride) + b;
                __m512i isum = _mm512_setzero_si512();
#pragma GCC unroll 4
                for (int t = 0; t < 4; t++)
                    isum = _mm512_dpwssd_epi32(
                        isum,
                        _mm512_maddubs_epi16(V[t],
                                             _mm512_loadu_si512((const void *)(q8->qs + 64 * t))),
                        SC[t]);
                __m256i mn = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)q8->bsums), mn16);
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * q8->d),
                                            acc[r][c]);
                acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(mn)),
                                            _mm512_set1_ps(-dmin * q8->d), acc[r][c]);
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

/* ---- repacked Q4_0 / Q8_0: 16 rows interleaved -----------------------------------
 * A tile holds 16 rows, in super-tiles of 8 blocks (256 values): first the
 * 16 row scales (f16) of each of the 8 blocks, then per block groups of 4
 * quant bytes: group g, lane i = row i's qs[4g..4g+3] (Q8_0 with 0x80 added,
 * i.e. unsigned). One vpdpbusd with a broadcast group of 4 activation bytes
 * then advances all 16 rows, and the 16 results are the 16 lanes: no
 * horizontal sums, no per-row scale shuffles. The offset term (-8 or -128
 * times the activation block sum) seeds the accumulator. Super-tiles keep
 * every 64-byte quant group on one cache line and stream like the K-quant
 * tiles (per-block 32 + 256 byte pieces streamed from DRAM a third slower).
 * The last super-tile of a row holds the remaining nb % 8 blocks. */
#define PR 16     /* rows per tile */
#define PCT 8     /* activation rows per register tile */
#define PMAXB 1024 /* blocks per row the packed kernels take (k <= 32768) */
/* Software prefetch distance in super-block tiles (8 tiles for 32-blocks):
 * decode streams one tile at a time, and with this much compute between
 * loads the hardware prefetcher alone fell behind (Q6_K GEMV from DRAM went
 * from ~10 to ~37 GB/s on one core). */
#define KPF 2

#define PSB 8 /* blocks per super-tile */

/* Offsets of block b's 16 scales and of its quant groups from the start of
 * its 16-row tile (nb blocks per row, qbytes quant bytes per block row). */
static inline void q32_loc(int64_t nb, int64_t b, size_t qbytes, size_t *so, size_t *qo)
{
    const int64_t st = b / PSB, i = b % PSB, nbs = MB_MIN(PSB, nb - st * PSB);
    const size_t base = (size_t)st * PSB * PR * (qbytes + 2);
    *so = base + (size_t)i * PR * 2;
    *qo = base + (size_t)nbs * PR * 2 + (size_t)i * PR * qbytes;
}

static void pack_q4_0(const void *src, void *dst, int64_t k, int64_t n)
{
    const int64_t nb = k / ENGINE_QK4_0;
    const engine_block_q4_0 *x = src;
    for (int64_t t = 0; t < (n + PR - 1) / PR; t++) {
        uint8_t *tile = (uint8_t *)dst + (size_t)t * (size_t)nb * PR * sizeof(engine_block_q4_0);
        memset(tile, 0, (size_t)nb * PR * sizeof(engine_block_q4_0));
        for (int64_t b = 0; b < nb; b++) {
            size_t so, qo;
            q32_loc(nb, b, 16, &so, &qo);
            for (int i = 0; i < PR && t * PR + i < n; i++) {
                const engine_block_q4_0 *q = &x[(t * PR + i) * nb + b];
                memcpy(tile + so + 2 * i, &q->d, 2);
                for (int g = 0; g < 4; g++)
                    memcpy(tile + qo + 64 * g + 4 * i, q->qs + 4 * g, 4);
            }
        }
    }
}

static void unpack_q4_0(const void *packed, void *block, int64_t k, int64_t r, int64_t b)
{
    const int64_t nb = k / ENGINE_QK4_0;
    const int i = (int)(r % PR);
    const uint8_t *tile = (const uint8_t *)packed + (size_t)(r / PR) * (size_t)nb * PR * sizeof(engine_block_q4_0);
    size_t so, qo;
    q32_loc(nb, b, 16, &so, &qo);
    engine_block_q4_0 *q = block;
    memcpy(&q->d, tile + so + 2 * i, 2);
    for (int g = 0; g < 4; g++)
        memcpy(q->qs + 4 * g, tile + qo + 64 * g + 4 * i, 4);
}

/* The tile holding block b of row r, and r's lane in it (the unpack_*
 * functions invert pack_* for one block). */
static const uint8_t *ptile(const void *packed, int64_t k, int64_t r, int64_t b, int64_t bs,
                            size_t bsize, int *lane)
{
    *lane = (int)(r % PR);
    return (const uint8_t *)packed + ((size_t)(r / PR) * (size_t)(k / bs) + (size_t)b) * PR * bsize;
}

static void pack_q8_0(const void *src, void *dst, int64_t k, int64_t n)
{
    const int64_t nb = k / ENGINE_QK8_0;
    const engine_block_q8_0 *x = src;
    for (int64_t t = 0; t < (n + PR - 1) / PR; t++) {
        uint8_t *tile = (uint8_t *)dst + (size_t)t * (size_t)nb * PR * sizeof(engine_block_q8_0);
        memset(tile, 0, (size_t)nb * PR * sizeof(engine_block_q8_0));
        for (int64_t b = 0; b < nb; b++) {
            size_t so, qo;
            q32_loc(nb, b, 32, &so, &qo);
            for (int i = 0; i < PR && t * PR + i < n; i++) {
                const engine_block_q8_0 *q = &x[(t * PR + i) * nb + b];
                memcpy(tile + so + 2 * i, &q->d, 2);
                for (int g = 0; g < 8; g++)
                    for (int l = 0; l < 4; l++)
                        tile[qo + 64 * g + 4 * i + l] = (uint8_t)(q->qs[4 * g + l] ^ 0x80);
            }
        }
    }
}

static void unpack_q8_0(const void *packed, void *block, int64_t k, int64_t r, int64_t b)
{
    const int64_t nb = k / ENGINE_QK8_0;
    const int i = (int)(r % PR);
    const uint8_t *tile = (const uint8_t *)packed + (size_t)(r / PR) * (size_t)nb * PR * sizeof(engine_block_q8_0);
    size_t so, qo;
    q32_loc(nb, b, 32, &so, &qo);
    engine_block_q8_0 *q = block;
    memcpy(&q->d, tile + so + 2 * i, 2);
    for (int g = 0; g < 8; g++)
        for (int l = 0; l < 4; l++)
            q->qs[4 * g + l] = (int8_t)(tile[qo + 64 * g + 4 * i + l] ^ 0x80);
}

AI int32_t load_i32(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* offs[c * nb + b] = -off * sum of activation block b of row c */
AI void act_offsets(const uint8_t *a, size_t astride, int ct, int64_t nb, int off, int32_t *offs)
{
    const __m256i x80 = _mm256_set1_epi8((char)0x80);
    for (int c = 0; c < ct; c++)
        for (int64_t b = 0; b < nb; b++) {
            const engine_block_q8_0 *q = (const engine_block_q8_0 *)(a + c * astride) + b;
            __m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)q->qs), x80);
            __m256i s = _mm256_sad_epu8(v, _mm256_setzero_si256()); /* sums of (a + 128) */
            __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            int32_t sum = (int32_t)(_mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1)) - 128 * 32;
            offs[c * nb + b] = -off * sum;
        }
}

AI void store_rows(float *y, __m512 v, int64_t nr)
{
    if (nr >= PR)
        _mm512_storeu_ps(y, v);
    else
        _mm512_mask_storeu_ps(y, (__mmask16)((1u << nr) - 1), v);
}

#define DEFINE_PACKED(fmt, QBYTES, NG, OFF, UNPACK)                                                \
    AI void fmt##_ptile(int ct, int64_t nb, const uint8_t *w, const uint8_t *a, size_t astride,    \
                        const int32_t *offs, float *y, int64_t ldy, int64_t nr)                    \
    {                                                                                              \
        __m512 acc[PCT];                                                                           \
        _Pragma("GCC unroll 8") for (int c = 0; c < ct; c++) acc[c] = _mm512_setzero_ps();         \
        for (int64_t b = 0; b < nb; b++) {                                                         \
            size_t so, qo;                                                                         \
            q32_loc(nb, b, QBYTES, &so, &qo);                                                      \
            const uint8_t *p = w + qo;                                                             \
            for (int o = 0; o < PR * QBYTES; o += 64) /* see KPF */                                \
                _mm_prefetch((const char *)(p + o + PSB * PR * (QBYTES + 2)), _MM_HINT_T0);        \
            const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + so)));      \
            __m512i Q[2 * 4];                                                                      \
            UNPACK                                                                                 \
            _Pragma("GCC unroll 8") for (int c = 0; c < ct; c++)                                   \
            {                                                                                      \
                const engine_block_q8_0 *q = (const engine_block_q8_0 *)(a + c * astride) + b;     \
                /* 4 independent chains: vpdpbusd latency, not throughput, would   \
                 * bound a single chain in decode (one activation row). */           \
                __m512i is[4] = {_mm512_set1_epi32(offs[c * nb + b]), _mm512_setzero_si512(),      \
                                 _mm512_setzero_si512(), _mm512_setzero_si512()};                  \
                _Pragma("GCC unroll 8") for (int g = 0; g < NG; g++) is[g & 3] =                   \
                    _mm512_dpbusd_epi32(is[g & 3], Q[g],                                           \
                                        _mm512_set1_epi32(load_i32(q->qs + 4 * g)));               \
                __m512i isum = _mm512_add_epi32(_mm512_add_epi32(is[0], is[1]),                    \
                                                _mm512_add_epi32(is[2], is[3]));                   \
                acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum),                                 \
                                         _mm512_mul_ps(dw, _mm512_set1_ps(_cvtsh_ss(q->d))),       \
                                         acc[c]);                                                  \
            }                                                                                      \
        }                                                                                          \
        _Pragma("GCC unroll 8") for (int c = 0; c < ct; c++) store_rows(y + c * ldy, acc[c], nr);  \
    }                                                                                              \
    /* decode (one activation row): one block's 16 row sums, added to *acc */                    \
    AI void fmt##_pblock1(const uint8_t *ps, const uint8_t *p, const engine_block_q8_0 *q,         \
                          int32_t off, __m512 *acc)                                                \
    {                                                                                              \
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)ps));                \
        __m512i Q[2 * 4];                                                                          \
        UNPACK                                                                                     \
        __m512i is[4] = {_mm512_set1_epi32(off), _mm512_setzero_si512(), _mm512_setzero_si512(),   \
                         _mm512_setzero_si512()};                                                  \
        _Pragma("GCC unroll 8") for (int g = 0; g < NG; g++) is[g & 3] =                           \
            _mm512_dpbusd_epi32(is[g & 3], Q[g], _mm512_set1_epi32(load_i32(q->qs + 4 * g)));      \
        __m512i isum = _mm512_add_epi32(_mm512_add_epi32(is[0], is[1]),                            \
                                        _mm512_add_epi32(is[2], is[3]));                           \
        *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum),                                           \
                               _mm512_mul_ps(dw, _mm512_set1_ps(_cvtsh_ss(q->d))), *acc);         \
    }                                                                                              \
    /* a super-tile (8 blocks) per step, prefetched KPF super-tiles ahead */  \
    AI void fmt##_ptile1(int64_t nb, const uint8_t *w, const uint8_t *a, const int32_t *offs,      \
                         float *y, int64_t nr)                                                     \
    {                                                                                              \
        const engine_block_q8_0 *q = (const engine_block_q8_0 *)a;                                 \
        const size_t sb = PSB * PR * (QBYTES + 2);                                                 \
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();                             \
        int64_t b = 0;                                                                             \
        for (; b + PSB <= nb; b += PSB) {                                                          \
            const uint8_t *ps = w + (size_t)(b / PSB) * sb, *p = ps + PSB * PR * 2;                \
            for (size_t o = 0; o < sb; o += 64)                                                    \
                _mm_prefetch((const char *)(ps + o + KPF * sb), _MM_HINT_T0);                      \
            _Pragma("GCC unroll 8") for (int i = 0; i < PSB; i += 2)                               \
            {                                                                                      \
                fmt##_pblock1(ps + i * PR * 2, p + i * PR * QBYTES, q + b + i, offs[b + i], &acc0);\
                fmt##_pblock1(ps + (i + 1) * PR * 2, p + (i + 1) * PR * QBYTES, q + b + i + 1,     \
                              offs[b + i + 1], &acc1);                                             \
            }                                                                                      \
        }                                                                                          \
        for (; b < nb; b++) {                                                                      \
            size_t so, qo;                                                                         \
            q32_loc(nb, b, QBYTES, &so, &qo);                                                      \
            fmt##_pblock1(w + so, w + qo, q + b, offs[b], &acc0);                                  \
        }                                                                                          \
        store_rows(y, _mm512_add_ps(acc0, acc1), nr);                                              \
    }                                                                                              \
    static void mmp_##fmt(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,   \
                          size_t astride, int64_t mr, float *y, int64_t ldy)                       \
    {                                                                                              \
        const uint8_t *W = w, *A = act;                                                            \
        const int64_t nb = k / 32;                                                                 \
        int32_t offs[PCT * PMAXB];                                                                 \
        for (int64_t j = 0; j < mr;) {                                                             \
            const int ct = mr - j >= PCT ? PCT : 1;                                                \
            act_offsets(A + j * astride, astride, ct, nb, OFF, offs);                              \
            for (int64_t i = 0; i < nr;) {                                                         \
                const uint8_t *tw = W + (size_t)i * wstride, *aj = A + j * astride;                \
                float *yj = y + j * ldy + i;                                                       \
                if (ct == PCT && nr - i > PR) { /* two tiles, 4 + 4 activation rows */             \
                    const uint8_t *tw1 = tw + (size_t)PR * wstride;                                \
                    fmt##_ptile2(nb, tw, tw1, aj, astride, offs, yj, ldy, nr - i - PR);            \
                    fmt##_ptile2(nb, tw, tw1, aj + 4 * astride, astride, offs + 4 * nb,            \
                                 yj + 4 * ldy, ldy, nr - i - PR);                                  \
                    i += 2 * PR;                                                                   \
                    continue;                                                                      \
                }                                                                                  \
                if (ct == PCT)                                                                     \
                    fmt##_ptile(PCT, nb, tw, aj, astride, offs, yj, ldy, nr - i);                  \
                else                                                                               \
                    fmt##_ptile1(nb, tw, aj, offs, yj, nr - i);                                    \
                i += PR;                                                                           \
            }                                                                                      \
            j += ct;                                                                               \
        }                                                                                          \
    }

/* GEMM on two adjacent tiles (32 rows) and 4 activation rows: each broadcast
 * group of activation bytes feeds two vpdpbusd (one per tile), and the
 * per-block float work is shared by twice the multiplies: half the
 * broadcasts and ~40% fewer other instructions per vpdpbusd than 16 rows x
 * 8 activation rows (GEMM 44 -> 64 % of peak, docs/PERFORMANCE.md). PAIR(p, g, lo, hi)
 * gives groups g and g + 4 (activation bytes 4g and 16 + 4g) of a block.
 * nr1: rows of the second tile (1..16). */
#define DEFINE_PTILE2(fmt, QBYTES, PAIR)                                                           \
    AI void fmt##_ptile2(int64_t nb, const uint8_t *w0, const uint8_t *w1, const uint8_t *a,       \
                         size_t astride, const int32_t *offs, float *y, int64_t ldy, int64_t nr1)  \
    {                                                                                              \
        __m512 acc[4][2];                                                                          \
        _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) acc[c][0] = acc[c][1] =                \
            _mm512_setzero_ps();                                                                   \
        for (int64_t b = 0; b < nb; b++) {                                                         \
            size_t so, qo;                                                                         \
            q32_loc(nb, b, QBYTES, &so, &qo);                                                      \
            const uint8_t *p0 = w0 + qo, *p1 = w1 + qo;                                            \
            for (int o = 0; o < PR * QBYTES; o += 64) { /* see KPF */                              \
                _mm_prefetch((const char *)(p0 + o + PSB * PR * (QBYTES + 2)), _MM_HINT_T0);       \
                _mm_prefetch((const char *)(p1 + o + PSB * PR * (QBYTES + 2)), _MM_HINT_T0);       \
            }                                                                                      \
            const __m512 dw0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w0 + so)));   \
            const __m512 dw1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w1 + so)));   \
            const engine_block_q8_0 *q[4];                                                         \
            __m512i is[4][2];                                                                      \
            _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++)                                    \
            {                                                                                      \
                q[c] = (const engine_block_q8_0 *)(a + c * astride) + b;                           \
                is[c][0] = is[c][1] = _mm512_set1_epi32(offs[c * nb + b]);                         \
            }                                                                                      \
            _Pragma("GCC unroll 4") for (int g = 0; g < 4; g++)                                    \
            {                                                                                      \
                __m512i lo0, hi0, lo1, hi1;                                                        \
                PAIR(p0, g, lo0, hi0);                                                             \
                PAIR(p1, g, lo1, hi1);                                                             \
                _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++)                                \
                {                                                                                  \
                    const __m512i bl = _mm512_set1_epi32(load_i32(q[c]->qs + 4 * g));              \
                    const __m512i bh = _mm512_set1_epi32(load_i32(q[c]->qs + 16 + 4 * g));         \
                    is[c][0] = _mm512_dpbusd_epi32(is[c][0], lo0, bl);                             \
                    is[c][1] = _mm512_dpbusd_epi32(is[c][1], lo1, bl);                             \
                    is[c][0] = _mm512_dpbusd_epi32(is[c][0], hi0, bh);                             \
                    is[c][1] = _mm512_dpbusd_epi32(is[c][1], hi1, bh);                             \
                }                                                                                  \
            }                                                                                      \
            _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++)                                    \
            {                                                                                      \
                const __m512 d = _mm512_set1_ps(_cvtsh_ss(q[c]->d));                               \
                acc[c][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[c][0]), _mm512_mul_ps(dw0, d),   \
                                            acc[c][0]);                                            \
                acc[c][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[c][1]), _mm512_mul_ps(dw1, d),   \
                                            acc[c][1]);                                            \
            }                                                                                      \
        }                                                                                          \
        _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++)                                        \
        {                                                                                          \
            _mm512_storeu_ps(y + c * ldy, acc[c][0]);                                              \
            store_rows(y + c * ldy + PR, acc[c][1], nr1);                                          \
        }                                                                                          \
    }

#define Q4_0_PAIR(p, g, lo, hi)                                                                    \
    do {                                                                                           \
        const __m512i v_ = _mm512_loadu_si512((const void *)((p) + 64 * (g)));                     \
        lo = _mm512_and_si512(v_, _mm512_set1_epi8(0x0f));                                         \
        hi = _mm512_and_si512(_mm512_srli_epi16(v_, 4), _mm512_set1_epi8(0x0f));                   \
    } while (0)
#define Q8_0_PAIR(p, g, lo, hi)                                                                    \
    do {                                                                                           \
        lo = _mm512_loadu_si512((const void *)((p) + 64 * (g)));                                   \
        hi = _mm512_loadu_si512((const void *)((p) + 64 * ((g) + 4)));                            \
    } while (0)
DEFINE_PTILE2(q4_0, 16, Q4_0_PAIR)
DEFINE_PTILE2(q8_0, 32, Q8_0_PAIR)

/* Q4_0: 4 groups of 64 bytes; low nibbles are values 4g.., high 16 + 4g.. */
DEFINE_PACKED(q4_0, 16, 8, 8, {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    for (int g = 0; g < 4; g++) {
        __m512i v = _mm512_loadu_si512((const void *)(p + 64 * g));
        Q[g] = _mm512_and_si512(v, m4);
        Q[g + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
    }
})
/* Q4_0's groups 4..7 pair with activation bytes 16 + 4(g - 4): the same
 * offsets 4g as Q8_0's 8 groups, since 16 + 4(g - 4) = 4g. */

DEFINE_PACKED(q8_0, 32, 8, 128, {
    for (int g = 0; g < 8; g++)
        Q[g] = _mm512_loadu_si512((const void *)(p + 64 * g));
})

/* ---- repacked Q4_K: 16 rows interleaved ------------------------------------------
 * Per super-block, a tile holds the 16 rows' d (f16 x 16), dmin (f16 x 16),
 * their 12 scale bytes as 3 groups of 16 dwords (lane i = row i), then the
 * quants as 32 groups of 16 dwords (group g, lane i = row i's qs[4g..4g+3]):
 * 2304 bytes, the size of 16 plain rows. The 6-bit scales are decoded for
 * all 16 rows at once with the same shifts ggml uses per row, the nibbles
 * once per tile, and each vpdpbusd with a broadcast of 4 activation bytes
 * advances 16 rows. Sub-block sums are scaled in float (exact: < 2^24). */
#define PKCT 4 /* activation rows per register tile */

static void pack_q4_K(const void *src, void *dst, int64_t k, int64_t n)
{
    const int64_t nb = k / ENGINE_QK_K;
    const engine_block_q4_K *x = src;
    uint8_t *d = dst;
    for (int64_t t = 0; t < (n + PR - 1) / PR; t++)
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *p = d + ((size_t)t * nb + (size_t)b) * PR * sizeof(engine_block_q4_K);
            memset(p, 0, PR * sizeof(engine_block_q4_K));
            for (int i = 0; i < PR && t * PR + i < n; i++) {
                const engine_block_q4_K *q = &x[(t * PR + i) * nb + b];
                memcpy(p + 2 * i, &q->d, 2);
                memcpy(p + 32 + 2 * i, &q->dmin, 2);
                for (int g = 0; g < 3; g++)
                    memcpy(p + 64 + 64 * g + 4 * i, q->scales + 4 * g, 4);
                for (int g = 0; g < 32; g++)
                    memcpy(p + 256 + 64 * g + 4 * i, q->qs + 4 * g, 4);
            }
        }
}

static void unpack_q4_K(const void *packed, void *block, int64_t k, int64_t r, int64_t b)
{
    int i;
    const uint8_t *p = ptile(packed, k, r, b, ENGINE_QK_K, sizeof(engine_block_q4_K), &i);
    engine_block_q4_K *q = block;
    memcpy(&q->d, p + 2 * i, 2);
    memcpy(&q->dmin, p + 32 + 2 * i, 2);
    for (int g = 0; g < 3; g++)
        memcpy(q->scales + 4 * g, p + 64 + 64 * g + 4 * i, 4);
    for (int g = 0; g < 32; g++)
        memcpy(q->qs + 4 * g, p + 256 + 64 * g + 4 * i, 4);
}

/* byte j of every lane, as floats */
AI __m512 lane_byte(__m512i u, int j)
{
    return _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(u, 8 * j), _mm512_set1_epi32(0xff)));
}

AI void q4_K_ptile(int ct, int64_t nb, const uint8_t *w, const uint8_t *a, size_t astride,
                   float *y, int64_t ldy, int64_t nr)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512i km1 = _mm512_set1_epi32(0x3f3f3f3f), km2 = _mm512_set1_epi32(0x0f0f0f0f),
                  km3 = _mm512_set1_epi32(0x03030303);
    __m512 acc[PKCT];
#pragma GCC unroll 4
    for (int c = 0; c < ct; c++)
        acc[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *p = w + (size_t)b * PR * sizeof(engine_block_q4_K);
        _mm_prefetch((const char *)(p + KPF * PR * sizeof(engine_block_q4_K)), _MM_HINT_T0);
        _mm_prefetch((const char *)(p + 64 + KPF * PR * sizeof(engine_block_q4_K)), _MM_HINT_T0);
        _mm_prefetch((const char *)(p + 128 + KPF * PR * sizeof(engine_block_q4_K)), _MM_HINT_T0);
        _mm_prefetch((const char *)(p + 192 + KPF * PR * sizeof(engine_block_q4_K)), _MM_HINT_T0);
        const __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
        const __m512 dmv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + 32)));
        const __m512i u0 = _mm512_loadu_si512((const void *)(p + 64));
        const __m512i u1 = _mm512_loadu_si512((const void *)(p + 128));
        const __m512i u2 = _mm512_loadu_si512((const void *)(p + 192));
        /* U[0] = scales 0-3, U[1] = scales 4-7, U[2] = mins 0-3, U[3] = mins 4-7 */
        __m512i U[4];
        U[3] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u2, 4), km2),
                               _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u1, 6), km3), 4));
        U[2] = _mm512_and_si512(u1, km1);
        U[1] = _mm512_or_si512(_mm512_and_si512(u2, km2),
                               _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u0, 6), km3), 4));
        U[0] = _mm512_and_si512(u0, km1);
        __m512 bacc[PKCT];
        const engine_block_q8_K *q8[PKCT];
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++) {
            bacc[c] = _mm512_setzero_ps();
            q8[c] = (const engine_block_q8_K *)(a + c * astride) + b;
        }
#pragma GCC unroll 1
        for (int j = 0; j < 4; j++) {
            __m512i L[8], H[8];
#pragma GCC unroll 8
            for (int g = 0; g < 8; g++) {
                _mm_prefetch((const char *)(p + 256 + 64 * (8 * j + g) + KPF * PR * sizeof(engine_block_q4_K)), _MM_HINT_T0);
                __m512i v = _mm512_loadu_si512((const void *)(p + 256 + 64 * (8 * j + g)));
                L[g] = _mm512_and_si512(v, m4);
                H[g] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
            }
            const __m512 slo = lane_byte(U[(2 * j) / 4], (2 * j) % 4);
            const __m512 shi = lane_byte(U[(2 * j + 1) / 4], (2 * j + 1) % 4);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++) {
                const int8_t *aq = q8[c]->qs + 64 * j;
                __m512i lo0 = _mm512_setzero_si512(), lo1 = _mm512_setzero_si512();
                __m512i hi0 = _mm512_setzero_si512(), hi1 = _mm512_setzero_si512();
#pragma GCC unroll 8
                for (int g = 0; g < 8; g += 2) {
                    lo0 = _mm512_dpbusd_epi32(lo0, L[g], _mm512_set1_epi32(load_i32(aq + 4 * g)));
                    lo1 = _mm512_dpbusd_epi32(lo1, L[g + 1], _mm512_set1_epi32(load_i32(aq + 4 * g + 4)));
                    hi0 = _mm512_dpbusd_epi32(hi0, H[g], _mm512_set1_epi32(load_i32(aq + 32 + 4 * g)));
                    hi1 = _mm512_dpbusd_epi32(hi1, H[g + 1],
                                              _mm512_set1_epi32(load_i32(aq + 36 + 4 * g)));
                }
                bacc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(lo0, lo1)), slo, bacc[c]);
                bacc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(hi0, hi1)), shi, bacc[c]);
            }
        }
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++) {
            /* mins: sum_s m_s * (bsums[2s] + bsums[2s+1]) */
            __m512 msum = _mm512_setzero_ps();
#pragma GCC unroll 8
            for (int s8 = 0; s8 < 8; s8++) {
                const float bs = (float)(q8[c]->bsums[2 * s8] + q8[c]->bsums[2 * s8 + 1]);
                msum = _mm512_fmadd_ps(lane_byte(U[2 + s8 / 4], s8 % 4), _mm512_set1_ps(bs), msum);
            }
            const __m512 da = _mm512_set1_ps(q8[c]->d);
            acc[c] = _mm512_fmadd_ps(bacc[c], _mm512_mul_ps(dv, da), acc[c]);
            acc[c] = _mm512_fnmadd_ps(msum, _mm512_mul_ps(dmv, da), acc[c]);
        }
    }
#pragma GCC unroll 4
    for (int c = 0; c < ct; c++)
        store_rows(y + c * ldy, acc[c], nr);
}

static void mmp_q4_K(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,
                     size_t astride, int64_t mr, float *y, int64_t ldy)
{
    const uint8_t *W = w, *A = act;
    const int64_t nb = k / ENGINE_QK_K;
    for (int64_t j = 0; j < mr;) {
        const int ct = mr - j >= PKCT ? PKCT : 1;
        for (int64_t i = 0; i < nr; i += PR) {
            const uint8_t *tw = W + (size_t)i * wstride;
            if (ct == PKCT)
                q4_K_ptile(PKCT, nb, tw, A + j * astride, astride, y + j * ldy + i, ldy, nr - i);
            else
                q4_K_ptile(1, nb, tw, A + j * astride, astride, y + j * ldy + i, ldy, nr - i);
        }
        j += ct;
    }
}

/* ---- repacked Q6_K: 16 rows interleaved ------------------------------------------
 * Per super-block: d (f16 x 16), the 16 sub-block scales as 16 groups of 16
 * bytes (group s, byte i = row i's scale s), ql as 32 groups and qh as 16
 * groups of 16 dwords (lane i = row i's 4 bytes): 3360 bytes, the size of
 * 16 plain rows. Each sub-block of 16 values is 4 vpdpbusd seeded with
 * -32 * bsum (the -32 offset of the quants), then scaled in float. */
static void pack_q6_K(const void *src, void *dst, int64_t k, int64_t n)
{
    const int64_t nb = k / ENGINE_QK_K;
    const engine_block_q6_K *x = src;
    uint8_t *d = dst;
    for (int64_t t = 0; t < (n + PR - 1) / PR; t++)
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *p = d + ((size_t)t * nb + (size_t)b) * PR * sizeof(engine_block_q6_K);
            memset(p, 0, PR * sizeof(engine_block_q6_K));
            for (int i = 0; i < PR && t * PR + i < n; i++) {
                const engine_block_q6_K *q = &x[(t * PR + i) * nb + b];
                memcpy(p + 2 * i, &q->d, 2);
                for (int sb = 0; sb < 16; sb++)
                    p[32 + 16 * sb + i] = (uint8_t)q->scales[sb];
                for (int g = 0; g < 32; g++)
                    memcpy(p + 288 + 64 * g + 4 * i, q->ql + 4 * g, 4);
                for (int g = 0; g < 16; g++)
                    memcpy(p + 288 + 2048 + 64 * g + 4 * i, q->qh + 4 * g, 4);
            }
        }
}

static void unpack_q6_K(const void *packed, void *block, int64_t k, int64_t r, int64_t b)
{
    int i;
    const uint8_t *p = ptile(packed, k, r, b, ENGINE_QK_K, sizeof(engine_block_q6_K), &i);
    engine_block_q6_K *q = block;
    memcpy(&q->d, p + 2 * i, 2);
    for (int sb = 0; sb < 16; sb++)
        q->scales[sb] = (int8_t)p[32 + 16 * sb + i];
    for (int g = 0; g < 32; g++)
        memcpy(q->ql + 4 * g, p + 288 + 64 * g + 4 * i, 4);
    for (int g = 0; g < 16; g++)
        memcpy(q->qh + 4 * g, p + 288 + 2048 + 64 * g + 4 * i, 4);
}

AI void q6_K_ptile(int ct, int64_t nb, const uint8_t *w, const uint8_t *a, size_t astride,
                   float *y, int64_t ldy, int64_t nr)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    __m512 acc[PKCT];
#pragma GCC unroll 4
    for (int c = 0; c < ct; c++)
        acc[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *p = w + (size_t)b * PR * sizeof(engine_block_q6_K);
        for (int o = 0; o < (int)(PR * sizeof(engine_block_q6_K)); o += 64)
            _mm_prefetch((const char *)(p + o + KPF * PR * sizeof(engine_block_q6_K)), _MM_HINT_T0);
        const __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
        __m512 bacc[PKCT];
        const engine_block_q8_K *q8[PKCT];
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++) {
            bacc[c] = _mm512_setzero_ps();
            q8[c] = (const engine_block_q8_K *)(a + c * astride) + b;
        }
        /* half hh, quarter qq: l = 16 qq .. 16 qq + 15 gives four sub-blocks:
         * values 128hh + l (+0, +32, +64, +96) */
#pragma GCC unroll 1
        for (int hq = 0; hq < 4; hq++) {
            const int hh = hq / 2, qq = hq % 2;
            /* One part (sub-block) at a time: its 4 groups are unpacked from
             * L1 again per part, which keeps the live registers to the 4
             * groups plus the accumulators (all 16 at once spilled). */
#pragma GCC unroll 4
            for (int part = 0; part < 4; part++) {
                __m512i V[4];
#pragma GCC unroll 4
                for (int g = 0; g < 4; g++) {
                    const int lg = 4 * qq + g; /* group of l = 4 lg .. 4 lg + 3 */
                    const __m512i L = _mm512_loadu_si512(
                        (const void *)(p + 288 + 64 * (16 * hh + (part & 1) * 8 + lg)));
                    const __m512i H =
                        _mm512_loadu_si512((const void *)(p + 288 + 2048 + 64 * (8 * hh + lg)));
                    const __m512i lo = part < 2 ? L : _mm512_srli_epi16(L, 4);
                    const __m512i hi = part == 0   ? _mm512_slli_epi16(H, 4)
                                       : part == 1 ? _mm512_slli_epi16(H, 2)
                                       : part == 2 ? H
                                                   : _mm512_srli_epi16(H, 2);
                    V[g] = _mm512_or_si512(_mm512_and_si512(lo, m4), _mm512_and_si512(hi, m30));
                }
                const int sb = (128 * hh + 32 * part + 16 * qq) / 16;
                const __m512 scf = _mm512_cvtepi32_ps(
                    _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 32 + 16 * sb))));
                const int v0 = 128 * hh + 32 * part + 16 * qq;
#pragma GCC unroll 4
                for (int c = 0; c < ct; c++) {
                    const int8_t *aq = q8[c]->qs + v0;
                    __m512i is0 = _mm512_set1_epi32(-32 * q8[c]->bsums[v0 / 16]);
                    __m512i is1 = _mm512_setzero_si512();
                    is0 = _mm512_dpbusd_epi32(is0, V[0], _mm512_set1_epi32(load_i32(aq)));
                    is1 = _mm512_dpbusd_epi32(is1, V[1], _mm512_set1_epi32(load_i32(aq + 4)));
                    is0 = _mm512_dpbusd_epi32(is0, V[2], _mm512_set1_epi32(load_i32(aq + 8)));
                    is1 = _mm512_dpbusd_epi32(is1, V[3], _mm512_set1_epi32(load_i32(aq + 12)));
                    bacc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(is0, is1)), scf,
                                              bacc[c]);
                }
            }
        }
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[c] = _mm512_fmadd_ps(bacc[c], _mm512_mul_ps(dv, _mm512_set1_ps(q8[c]->d)), acc[c]);
    }
#pragma GCC unroll 4
    for (int c = 0; c < ct; c++)
        store_rows(y + c * ldy, acc[c], nr);
}

static void mmp_q6_K(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,
                     size_t astride, int64_t mr, float *y, int64_t ldy)
{
    const uint8_t *W = w, *A = act;
    const int64_t nb = k / ENGINE_QK_K;
    for (int64_t j = 0; j < mr;) {
        const int ct = mr - j >= PKCT ? PKCT : 1;
        for (int64_t i = 0; i < nr; i += PR) {
            const uint8_t *tw = W + (size_t)i * wstride;
            if (ct == PKCT)
                q6_K_ptile(PKCT, nb, tw, A + j * astride, astride, y + j * ldy + i, ldy, nr - i);
            else
                q6_K_ptile(1, nb, tw, A + j * astride, astride, y + j * ldy + i, ldy, nr - i);
        }
        j += ct;
    }
}

/* ---- drivers: full tiles, then the row and column remainders one by one ---- */
#include "../mm_driver.h"

DEFINE_MM(q8_0, ENGINE_QK8_0)
DEFINE_MM(q4_0, ENGINE_QK4_0)
DEFINE_MM(q4_K, ENGINE_QK_K)
DEFINE_MM(q6_K, ENGINE_QK_K)
DEFINE_MM(q5_0, ENGINE_QK5_0)
DEFINE_MM(q4_1, ENGINE_QK4_1)
DEFINE_MM(q5_1, ENGINE_QK5_1)
DEFINE_MM(iq4_nl, ENGINE_QK4_NL)
DEFINE_MM(q5_K, ENGINE_QK_K)
DEFINE_MM(q3_K, ENGINE_QK_K)
DEFINE_MM(q2_K, ENGINE_QK_K)

const kern_variant_t kern_variant_avx512 = {
    .name = "avx512",
    .needs = KERN_FEAT(AVX2) | KERN_FEAT(FMA) | KERN_FEAT(F16C) | KERN_FEAT(AVX512F) |
             KERN_FEAT(AVX512BW) | KERN_FEAT(AVX512VL) | KERN_FEAT(AVX512DQ) |
             KERN_FEAT(AVX512_VNNI),
    .needs_type = {[ENGINE_TYPE_BF16] = KERN_FEAT(AVX512_BF16)},
    .mm =
        {
            [ENGINE_TYPE_Q8_0] = mm_q8_0,
            [ENGINE_TYPE_Q4_0] = mm_q4_0,
            [ENGINE_TYPE_Q4_K] = mm_q4_K,
            [ENGINE_TYPE_Q6_K] = mm_q6_K,
            [ENGINE_TYPE_Q5_0] = mm_q5_0,
            [ENGINE_TYPE_Q4_1] = mm_q4_1,
            [ENGINE_TYPE_Q5_1] = mm_q5_1,
            [ENGINE_TYPE_IQ4_NL] = mm_iq4_nl,
            [ENGINE_TYPE_Q5_K] = mm_q5_K,
            [ENGINE_TYPE_Q3_K] = mm_q3_K,
            [ENGINE_TYPE_Q2_K] = mm_q2_K,
            [ENGINE_TYPE_F32] = kern_avx512_mm_f32,
            [ENGINE_TYPE_F16] = kern_avx512_mm_f16,
            [ENGINE_TYPE_BF16] = kern_avx512_mm_bf16,
        },
    .act_type =
        {
            [ENGINE_TYPE_Q8_0] = ENGINE_TYPE_Q8_0,
            [ENGINE_TYPE_Q4_0] = ENGINE_TYPE_Q8_0,
            [ENGINE_TYPE_Q4_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_Q6_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_Q5_0] = ENGINE_TYPE_Q8_0,
            [ENGINE_TYPE_Q4_1] = ENGINE_TYPE_Q8_1,
            [ENGINE_TYPE_Q5_1] = ENGINE_TYPE_Q8_1,
            [ENGINE_TYPE_IQ4_NL] = ENGINE_TYPE_Q8_0,
            [ENGINE_TYPE_Q5_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_Q3_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_Q2_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_F32] = ENGINE_TYPE_F32,
            [ENGINE_TYPE_F16] = ENGINE_TYPE_F16,
            [ENGINE_TYPE_BF16] = ENGINE_TYPE_BF16,
        },
    .quant =
        {
            [ENGINE_TYPE_Q8_0] = kern_avx2_quant_q8_0,
            [ENGINE_TYPE_Q8_1] = kern_avx2_quant_q8_1,
            [ENGINE_TYPE_Q8_K] = kern_avx2_quant_q8_K,
            [ENGINE_TYPE_F16] = kern_avx2_quant_f16,
            [ENGINE_TYPE_BF16] = kern_avx2_quant_bf16,
        },
    .ops = &kern_ops_avx512,
    .packed_layout = 1,
    .pack_rows = PR,
    .pack_max_k = PMAXB * 32,
    .pack =
        {
            [ENGINE_TYPE_Q8_0] = pack_q8_0,
            [ENGINE_TYPE_Q4_0] = pack_q4_0,
            [ENGINE_TYPE_Q4_K] = pack_q4_K,
            [ENGINE_TYPE_Q6_K] = pack_q6_K,
        },
    .mm_packed =
        {
            [ENGINE_TYPE_Q8_0] = mmp_q8_0,
            [ENGINE_TYPE_Q4_0] = mmp_q4_0,
            [ENGINE_TYPE_Q4_K] = mmp_q4_K,
            [ENGINE_TYPE_Q6_K] = mmp_q6_K,
        },
    .unpack =
        {
            [ENGINE_TYPE_Q8_0] = unpack_q8_0,
            [ENGINE_TYPE_Q4_0] = unpack_q4_0,
            [ENGINE_TYPE_Q4_K] = unpack_q4_K,
            [ENGINE_TYPE_Q6_K] = unpack_q6_K,
        },
};
