/* kq_neon.h: private to engine/kernels/arm/. Q2_K, Q3_K and Q5_K tiles
 * (x Q8_K) for the NEON variants, written once over DOT16(acc, w, a) (16
 * s8 x s8 products into 4 s32 lanes), which each including file defines.
 * Needs RT, CT, AI, f16() and q4_K_scales() from kquants_neon.h.
 *
 * Each weight super-block is unpacked once per weight row into 16 int8x16
 * (values 16g .. 16g + 15 in W[g]) and 16 (or 8) integer scales, then
 * dotted against each activation row of the tile:
 *   Q2_K: (q >> 2s) & 3, scale = low nibble, min = high nibble of scales[g]
 *   Q3_K: ((q >> 2s) & 3) - (hmask bit clear ? 4 : 0), 6-bit signed scales
 *   Q5_K: nibble | hmask bit << 4, 6-bit scale and min per 32 (as Q4_K)
 * The min terms use the Q8_K group sums (bsums), as the reference does. */
#ifndef ENGINE_KERNELS_KQ_NEON_H
#define ENGINE_KERNELS_KQ_NEON_H

#include <string.h>

/* sum_g sc[g] * dot(values of scale g, activations): per = 1 (a scale per
 * 16 values) or 2 (a scale per 32). */
AI int32_t kq_dot(const int8x16_t W[16], const int8_t *sc, int per, const int8_t *aq)
{
    int32x4_t isum = vdupq_n_s32(0);
#pragma GCC unroll 16
    for (int g = 0; g < 16; g += per) {
        int32x4_t p = DOT16(vdupq_n_s32(0), W[g], vld1q_s8(aq + 16 * g));
        if (per == 2)
            p = DOT16(p, W[g + 1], vld1q_s8(aq + 16 * g + 16));
        isum = vmlaq_n_s32(isum, p, sc[g / per]);
    }
    return vaddvq_s32(isum);
}

/* 2-bit fields s = 0..3 of q (a right shift by a register count) */
AI uint8x16_t kq_crumb(uint8x16_t q, int s)
{
    return vandq_u8(vshlq_u8(q, vdupq_n_s8((int8_t)(-2 * s))), vdupq_n_u8(3));
}

/* sum of 16 int16 x 16 int16 */
AI int32_t kq_dot_s16(int16x8_t a0, int16x8_t a1, int16x8_t b0, int16x8_t b1)
{
    int32x4_t t = vmull_s16(vget_low_s16(a0), vget_low_s16(b0));
    t = vmlal_s16(t, vget_high_s16(a0), vget_high_s16(b0));
    t = vmlal_s16(t, vget_low_s16(a1), vget_low_s16(b1));
    t = vmlal_s16(t, vget_high_s16(a1), vget_high_s16(b1));
    return vaddvq_s32(t);
}

AI void q2_K_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    float acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = 0;
    for (int64_t b = 0; b < nb; b++) {
        /* one weight row at a time: its unpacked block fills the registers */
        for (int r = 0; r < rt; r++) {
            const engine_block_q2_K *x = (const engine_block_q2_K *)(w + r * wstride) + b;
            int8x16_t W[16];
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                const uint8x16_t q0 = vld1q_u8(x->qs + 32 * h), q1 = vld1q_u8(x->qs + 32 * h + 16);
#pragma GCC unroll 4
                for (int s = 0; s < 4; s++) {
                    W[8 * h + 2 * s] = vreinterpretq_s8_u8(kq_crumb(q0, s));
                    W[8 * h + 2 * s + 1] = vreinterpretq_s8_u8(kq_crumb(q1, s));
                }
            }
            const uint8x16_t S = vld1q_u8(x->scales);
            int8_t sc[16];
            vst1q_s8(sc, vreinterpretq_s8_u8(vandq_u8(S, vdupq_n_u8(0x0f))));
            const uint8x16_t mn = vshrq_n_u8(S, 4);
            const int16x8_t mn0 = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(mn)));
            const int16x8_t mn1 = vreinterpretq_s16_u16(vmovl_high_u8(mn));
            const float dall = f16(x->d), dmin = f16(x->dmin);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++) {
                const engine_block_q8_K *q8 = (const engine_block_q8_K *)(a + c * astride) + b;
                const int32_t isum = kq_dot(W, sc, 1, q8->qs);
                const int32_t summs = kq_dot_s16(vld1q_s16(q8->bsums), vld1q_s16(q8->bsums + 8),
                                                 mn0, mn1);
                acc[r][c] += q8->d * dall * (float)isum - q8->d * dmin * (float)summs;
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = acc[r][c];
}

/* the 16 6-bit Q3_K scales, unbiased (-32..31) */
AI void q3_K_scales(const uint8_t *s12, int8_t out[16])
{
    const uint32_t km1 = 0x03030303, km2 = 0x0f0f0f0f;
    uint32_t u[4];
    memcpy(u, s12, 12);
    const uint32_t t = u[2];
    u[2] = ((u[0] >> 4) & km2) | (((t >> 4) & km1) << 4);
    u[3] = ((u[1] >> 4) & km2) | (((t >> 6) & km1) << 4);
    u[0] = (u[0] & km2) | ((t & km1) << 4);
    u[1] = (u[1] & km2) | (((t >> 2) & km1) << 4);
    int8x16_t v;
    memcpy(&v, u, 16);
    vst1q_s8(out, vsubq_s8(v, vdupq_n_s8(32)));
}

AI void q3_K_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const uint8x16_t b2 = vdupq_n_u8(4);
    const int8x16_t s4 = vdupq_n_s8(4);
    float acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = 0;
    for (int64_t b = 0; b < nb; b++) {
        /* one weight row at a time: its unpacked block fills the registers */
        for (int r = 0; r < rt; r++) {
            const engine_block_q3_K *x = (const engine_block_q3_K *)(w + r * wstride) + b;
            const uint8x16_t hm0 = vld1q_u8(x->hmask), hm1 = vld1q_u8(x->hmask + 16);
            int8x16_t W[16];
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                const uint8x16_t q0 = vld1q_u8(x->qs + 32 * h), q1 = vld1q_u8(x->qs + 32 * h + 16);
#pragma GCC unroll 4
                for (int s = 0; s < 4; s++) {
                    /* the 3rd bit of value 128h + 32s + l is bit 4h + s of hmask[l] */
                    const uint8x16_t m = vdupq_n_u8((uint8_t)(1u << (4 * h + s)));
                    const uint8x16_t h0 = vandq_u8(vtstq_u8(hm0, m), b2);
                    const uint8x16_t h1 = vandq_u8(vtstq_u8(hm1, m), b2);
                    W[8 * h + 2 * s] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(kq_crumb(q0, s), h0)), s4);
                    W[8 * h + 2 * s + 1] =
                        vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(kq_crumb(q1, s), h1)), s4);
                }
            }
            int8_t sc[16];
            q3_K_scales(x->scales, sc);
            const float d = f16(x->d);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++) {
                const engine_block_q8_K *q8 = (const engine_block_q8_K *)(a + c * astride) + b;
                acc[r][c] += d * q8->d * (float)kq_dot(W, sc, 1, q8->qs);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = acc[r][c];
}

AI void q5_K_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const uint8x16_t m4 = vdupq_n_u8(0x0f), b4 = vdupq_n_u8(0x10);
    float acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = 0;
    for (int64_t b = 0; b < nb; b++) {
        /* one weight row at a time: its unpacked block fills the registers */
        for (int r = 0; r < rt; r++) {
            const engine_block_q5_K *x = (const engine_block_q5_K *)(w + r * wstride) + b;
            const uint8x16_t qh0 = vld1q_u8(x->qh), qh1 = vld1q_u8(x->qh + 16);
            int8x16_t W[16];
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                const uint8x16_t q0 = vld1q_u8(x->qs + 32 * j), q1 = vld1q_u8(x->qs + 32 * j + 16);
                /* group 2j: low nibbles + bit 2j of qh; group 2j + 1: high + bit 2j + 1 */
                const uint8x16_t ml = vdupq_n_u8((uint8_t)(1u << (2 * j)));
                const uint8x16_t mh = vdupq_n_u8((uint8_t)(2u << (2 * j)));
                W[4 * j] = vreinterpretq_s8_u8(
                    vorrq_u8(vandq_u8(q0, m4), vandq_u8(vtstq_u8(qh0, ml), b4)));
                W[4 * j + 1] = vreinterpretq_s8_u8(
                    vorrq_u8(vandq_u8(q1, m4), vandq_u8(vtstq_u8(qh1, ml), b4)));
                W[4 * j + 2] = vreinterpretq_s8_u8(
                    vorrq_u8(vshrq_n_u8(q0, 4), vandq_u8(vtstq_u8(qh0, mh), b4)));
                W[4 * j + 3] = vreinterpretq_s8_u8(
                    vorrq_u8(vshrq_n_u8(q1, 4), vandq_u8(vtstq_u8(qh1, mh), b4)));
            }
            uint8_t sm[16];
            q4_K_scales(x->scales, sm); /* same 12-byte layout: 0-7 scales, 8-15 mins */
            int8_t sc[8];
            memcpy(sc, sm, 8); /* 6-bit: fit in int8 */
            const int16x8_t mins = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(sm + 8)));
            const float d = f16(x->d), dmin = f16(x->dmin);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++) {
                const engine_block_q8_K *q8 = (const engine_block_q8_K *)(a + c * astride) + b;
                const int32_t isum = kq_dot(W, sc, 2, q8->qs);
                /* mins: sum_g m_g (bsums[2g] + bsums[2g + 1]) */
                const int16x8_t bs = vpaddq_s16(vld1q_s16(q8->bsums), vld1q_s16(q8->bsums + 8));
                int32x4_t mm = vmull_s16(vget_low_s16(bs), vget_low_s16(mins));
                mm = vmlal_s16(mm, vget_high_s16(bs), vget_high_s16(mins));
                acc[r][c] += d * q8->d * (float)isum - dmin * q8->d * (float)vaddvq_s32(mm);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = acc[r][c];
}

#endif
