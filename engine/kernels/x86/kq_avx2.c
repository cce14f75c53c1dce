/*
 * kq_avx2.c: avx2 kernels for Q2_K, Q3_K and Q5_K x Q8_K. Per 32 values of
 * a super-block: the quants unpacked to unsigned bytes (Q2_K 0..3, Q3_K
 * 0..7, Q5_K 0..31), vpmaddubsw against the Q8_K bytes (int16 pairs, at most
 * 2 * 31 * 127), vpmaddwd by the sub-block scales (int16, one per 16 lanes
 * for the 16-value sub-blocks of Q2_K/Q3_K, one per ymm for Q5_K's 32) into
 * int32. Mins (Q2_K, Q5_K) and the -4 offset of Q3_K come from Q8_K's bsums:
 * one vpmaddwd per super-block. The quants of a weight row are unpacked once
 * per super-block and used for every activation row of the tile.
 */
#include "avx2.h"
#include "../mm_driver.h"

#include <string.h>

/* Scales of sub-blocks 2u and 2u + 1 (u = 0..3) from 8 int16 scales held in
 * both halves of S: int16 lanes 0-7 get scale 2u, lanes 8-15 scale 2u + 1
 * (lanes 0-7 of a vpmaddubsw result cover the first 16 values of 32). */
AI __m256i scale_pair(__m256i S, int u)
{
    const short lo = (short)((4 * u + 1) << 8 | 4 * u);
    const short hi = (short)((4 * u + 3) << 8 | (4 * u + 2));
    return _mm256_shuffle_epi8(S, _mm256_set_m128i(_mm_set1_epi16(hi), _mm_set1_epi16(lo)));
}

/* Bit `from` of every byte moved to bit `to` (other bits garbage). */
AI __m256i bit_move(__m256i v, int from, int to)
{
    if (from > to)
        return _mm256_srli_epi16(v, from - to);
    if (from < to)
        return _mm256_slli_epi16(v, to - from);
    return v;
}

AI void acc_init(__m256 acc[RT][CT], int rt, int ct)
{
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            acc[r][c] = _mm256_setzero_ps();
}

AI void acc_store(__m256 acc[RT][CT], int rt, int ct, float *y, int64_t ldy)
{
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = hsum8(acc[r][c]);
}

/* ---- Q2_K: value v = (qs[32 (v / 128) + v % 32] >> 2 ((v / 32) % 4)) & 3 ------------
 * 32-value chunk t = 0..7 is sub-blocks 2t, 2t + 1; scales in the low, mins
 * in the high nibbles. */
AI void q2_K_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m128i m4 = _mm_set1_epi8(0x0f);
    __m256 acc[RT][CT];
    acc_init(acc, rt, ct);
    for (int64_t b = 0; b < nb; b++) {
        const engine_block_q8_K *q8[CT];
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            q8[c] = (const engine_block_q8_K *)(a + c * astride) + b;
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const engine_block_q2_K *x = (const engine_block_q2_K *)(w + r * wstride) + b;
            pf_row(x, (int)sizeof *x);
            const __m128i sb = _mm_loadu_si128((const __m128i *)x->scales);
            const __m128i sc8 = _mm_and_si128(sb, m4);
            const __m256i mn16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sb, 4), m4));
            const __m256i S[2] = {
                _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sc8)),
                _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_srli_si128(sc8, 8))),
            };
            __m256i isum[CT];
#pragma GCC unroll 2
            for (int c = 0; c < ct; c++)
                isum[c] = _mm256_setzero_si256();
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                const __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * h));
#pragma GCC unroll 4
                for (int s = 0; s < 4; s++) {
                    const int t = 4 * h + s;
                    const __m256i v = _mm256_and_si256(_mm256_srli_epi16(q, 2 * s), m3);
                    const __m256i sc = scale_pair(S[h], s);
#pragma GCC unroll 2
                    for (int c = 0; c < ct; c++) {
                        __m256i p = _mm256_maddubs_epi16(
                            v, _mm256_loadu_si256((const __m256i *)(q8[c]->qs + 32 * t)));
                        isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(p, sc));
                    }
                }
            }
            const float d = f16(x->d), dmin = f16(x->dmin);
#pragma GCC unroll 2
            for (int c = 0; c < ct; c++) {
                __m256i mn = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)q8[c]->bsums), mn16);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_set1_ps(d * q8[c]->d),
                                            acc[r][c]);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mn), _mm256_set1_ps(-dmin * q8[c]->d),
                                            acc[r][c]);
            }
        }
    }
    acc_store(acc, rt, ct, y, ldy);
}

/* ---- Q3_K: Q2_K's low bits plus bit t of hmask[v % 32] for chunk t; value
 * q - 4 with q = 0..7; 16 signed 6-bit scales (stored + 32). ---------------- */
AI __m128i q3_K_scales(const uint8_t *s12)
{
    const uint32_t km1 = 0x03030303, km2 = 0x0f0f0f0f;
    uint32_t aux[4];
    memcpy(aux, s12, 12);
    const uint32_t tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & km2) | (((tmp >> 4) & km1) << 4);
    aux[3] = ((aux[1] >> 4) & km2) | (((tmp >> 6) & km1) << 4);
    aux[0] = (aux[0] & km2) | (((tmp >> 0) & km1) << 4);
    aux[1] = (aux[1] & km2) | (((tmp >> 2) & km1) << 4);
    /* built in registers: a vector load of the dwords just stored would
     * stall on store forwarding */
    return _mm_sub_epi8(_mm_set_epi32((int)aux[3], (int)aux[2], (int)aux[1], (int)aux[0]),
                        _mm_set1_epi8(32));
}

AI void q3_K_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const __m256i m3 = _mm256_set1_epi8(3), x04 = _mm256_set1_epi8(4);
    __m256 acc[RT][CT];
    acc_init(acc, rt, ct);
    for (int64_t b = 0; b < nb; b++) {
        const engine_block_q8_K *q8[CT];
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            q8[c] = (const engine_block_q8_K *)(a + c * astride) + b;
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const engine_block_q3_K *x = (const engine_block_q3_K *)(w + r * wstride) + b;
            pf_row(x, (int)sizeof *x);
            const __m128i s8 = q3_K_scales(x->scales);
            const __m256i sc16 = _mm256_cvtepi8_epi16(s8);
            const __m256i S[2] = {
                _mm256_broadcastsi128_si256(_mm256_castsi256_si128(sc16)),
                _mm256_broadcastsi128_si256(_mm256_extracti128_si256(sc16, 1)),
            };
            const __m256i hm = _mm256_loadu_si256((const __m256i *)x->hmask);
            __m256i isum[CT];
#pragma GCC unroll 2
            for (int c = 0; c < ct; c++)
                isum[c] = _mm256_setzero_si256();
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                const __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * h));
#pragma GCC unroll 4
                for (int s = 0; s < 4; s++) {
                    const int t = 4 * h + s;
                    const __m256i v = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2 * s), m3),
                                                      _mm256_and_si256(bit_move(hm, t, 2), x04));
                    const __m256i sc = scale_pair(S[h], s);
#pragma GCC unroll 2
                    for (int c = 0; c < ct; c++) {
                        __m256i p = _mm256_maddubs_epi16(
                            v, _mm256_loadu_si256((const __m256i *)(q8[c]->qs + 32 * t)));
                        isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(p, sc));
                    }
                }
            }
            const float d = f16(x->d);
#pragma GCC unroll 2
            for (int c = 0; c < ct; c++) {
                /* values are q - 4: subtract 4 * sum_s scale_s * bsum_s */
                __m256i mo = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)q8[c]->bsums), sc16);
                __m256i is = _mm256_sub_epi32(isum[c], _mm256_slli_epi32(mo, 2));
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_set1_ps(d * q8[c]->d),
                                            acc[r][c]);
            }
        }
    }
    acc_store(acc, rt, ct, y, ldy);
}

/* ---- Q5_K: Q4_K's nibbles plus bit g of qh[v % 32] for sub-block g (32
 * values); 8 x (6-bit scale, 6-bit min) packed as Q4_K's. ------------------ */
/* u[0..1]: the 8 scale bytes, u[2..3]: the 8 min bytes. Kept in registers
 * (a vector load of dwords just stored would stall on store forwarding). */
AI void k4_scales_mins(const uint8_t *s12, uint32_t u[4])
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
AI short k4_byte(const uint32_t *u2, int i)
{
    return (short)((u2[i / 4] >> (8 * (i % 4))) & 0xff);
}

AI void q5_K_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), x10 = _mm256_set1_epi8(0x10);
    __m256 acc[RT][CT];
    acc_init(acc, rt, ct);
    for (int64_t b = 0; b < nb; b++) {
        const engine_block_q8_K *q8[CT];
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            q8[c] = (const engine_block_q8_K *)(a + c * astride) + b;
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const engine_block_q5_K *x = (const engine_block_q5_K *)(w + r * wstride) + b;
            pf_row(x, (int)sizeof *x);
            uint32_t u[4];
            k4_scales_mins(x->scales, u);
            /* mins per 16-value bsum: m0 m0 m1 m1 ... m7 m7 */
            const __m128i m8 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)u[3], (int)u[2]));
            const __m256i md = _mm256_set_m128i(_mm_unpackhi_epi16(m8, m8), _mm_unpacklo_epi16(m8, m8));
            const __m256i qh = _mm256_loadu_si256((const __m256i *)x->qh);
            __m256i isum[CT];
#pragma GCC unroll 2
            for (int c = 0; c < ct; c++)
                isum[c] = _mm256_setzero_si256();
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                const __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * j));
                const __m256i vlo = _mm256_or_si256(_mm256_and_si256(q, m4),
                                                    _mm256_and_si256(bit_move(qh, 2 * j, 4), x10));
                const __m256i vhi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                                                    _mm256_and_si256(bit_move(qh, 2 * j + 1, 4), x10));
                const __m256i slo = _mm256_set1_epi16(k4_byte(u, 2 * j));
                const __m256i shi = _mm256_set1_epi16(k4_byte(u, 2 * j + 1));
#pragma GCC unroll 2
                for (int c = 0; c < ct; c++) {
                    const int8_t *aq = q8[c]->qs + 64 * j;
                    __m256i plo = _mm256_maddubs_epi16(vlo, _mm256_loadu_si256((const __m256i *)aq));
                    __m256i phi = _mm256_maddubs_epi16(vhi, _mm256_loadu_si256((const __m256i *)(aq + 32)));
                    isum[c] = _mm256_add_epi32(isum[c], _mm256_add_epi32(_mm256_madd_epi16(plo, slo),
                                                                         _mm256_madd_epi16(phi, shi)));
                }
            }
            const float d = f16(x->d), dmin = f16(x->dmin);
#pragma GCC unroll 2
            for (int c = 0; c < ct; c++) {
                __m256i mn = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)q8[c]->bsums), md);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_set1_ps(d * q8[c]->d),
                                            acc[r][c]);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mn), _mm256_set1_ps(-dmin * q8[c]->d),
                                            acc[r][c]);
            }
        }
    }
    acc_store(acc, rt, ct, y, ldy);
}

DEFINE_MM_NAMED(kern_avx2_mm_q2_K, q2_K, ENGINE_QK_K)
DEFINE_MM_NAMED(kern_avx2_mm_q3_K, q3_K, ENGINE_QK_K)
DEFINE_MM_NAMED(kern_avx2_mm_q5_K, q5_K, ENGINE_QK_K)
