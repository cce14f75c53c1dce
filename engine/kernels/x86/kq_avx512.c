/*
 * kq_avx512.c: the avx512 variant's K-quant kernels over the GGUF layout
 * (x Q8_K): Q4_K and Q5_K (vpdpbusd with the 6-bit scales per sub-block,
 * mins from Q8_K's bsums), Q6_K (made unsigned 0..63, offset -32 folded in
 * from bsums), Q3_K and Q2_K (vpmaddubsw + vpdpwssd with int16 scales).
 * Register tiles of up to 4 x 4 rows.
 */
#include "../kernels.h"
#include "avx512.h"

#include <string.h>

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


#include "../mm_driver.h"

DEFINE_MM_NAMED(kern_avx512_mm_q4_K, q4_K, ENGINE_QK_K)
DEFINE_MM_NAMED(kern_avx512_mm_q6_K, q6_K, ENGINE_QK_K)
DEFINE_MM_NAMED(kern_avx512_mm_q5_K, q5_K, ENGINE_QK_K)
DEFINE_MM_NAMED(kern_avx512_mm_q3_K, q3_K, ENGINE_QK_K)
DEFINE_MM_NAMED(kern_avx512_mm_q2_K, q2_K, ENGINE_QK_K)
