/* kquants_neon.h: private to engine/kernels/arm/. Q4_K and Q6_K tiles for
 * the NEON variants, written once over DOT16(acc, w, a) (16 s8 x s8
 * products summed into 4 s32 lanes), which each including file defines:
 * vmull_s8 + vpadalq_s16 for "neon", sdot for "dotprod". Needs RT, CT, AI,
 * f16() and DEFINE_MM from mm_driver.h. */
#ifndef ENGINE_KERNELS_KQUANTS_NEON_H
#define ENGINE_KERNELS_KQUANTS_NEON_H

#include <string.h>

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
    const uint8x16_t m4 = vdupq_n_u8(0x0f);
    float acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = 0;
    for (int64_t b = 0; b < nb; b++) {
        /* one weight row at a time: its unpacked block fills the registers */
        for (int r = 0; r < rt; r++) {
            const engine_block_q4_K *x = (const engine_block_q4_K *)(w + r * wstride) + b;
            uint8_t sm[16];
            q4_K_scales(x->scales, sm);
            const float d = f16(x->d), dmin = f16(x->dmin);
            int16x8_t mins = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(sm + 8)));
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++) {
                const engine_block_q8_K *q8 = (const engine_block_q8_K *)(a + c * astride) + b;
                int32x4_t isum = vdupq_n_s32(0);
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) {
                    uint8x16_t q0 = vld1q_u8(x->qs + 32 * j), q1 = vld1q_u8(x->qs + 32 * j + 16);
                    const int8_t *aq = q8->qs + 64 * j;
                    int32x4_t lo = vdupq_n_s32(0), hi = vdupq_n_s32(0);
                    lo = DOT16(lo, vreinterpretq_s8_u8(vandq_u8(q0, m4)), vld1q_s8(aq));
                    lo = DOT16(lo, vreinterpretq_s8_u8(vandq_u8(q1, m4)), vld1q_s8(aq + 16));
                    hi = DOT16(hi, vreinterpretq_s8_u8(vshrq_n_u8(q0, 4)), vld1q_s8(aq + 32));
                    hi = DOT16(hi, vreinterpretq_s8_u8(vshrq_n_u8(q1, 4)), vld1q_s8(aq + 48));
                    isum = vmlaq_n_s32(isum, lo, sm[2 * j]);
                    isum = vmlaq_n_s32(isum, hi, sm[2 * j + 1]);
                }
                /* mins: sum_j m_j (bsums[2j] + bsums[2j+1]) */
                int16x8_t bs = vpaddq_s16(vld1q_s16(q8->bsums), vld1q_s16(q8->bsums + 8));
                int32x4_t mm = vmull_s16(vget_low_s16(bs), vget_low_s16(mins));
                mm = vmlal_s16(mm, vget_high_s16(bs), vget_high_s16(mins));
                acc[r][c] += d * q8->d * (float)vaddvq_s32(isum) -
                             dmin * q8->d * (float)vaddvq_s32(mm);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = acc[r][c];
}

AI void q6_K_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const uint8x16_t m4 = vdupq_n_u8(0x0f), m3 = vdupq_n_u8(0x03);
    const int8x16_t s32 = vdupq_n_s8(32);
    float acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = 0;
    for (int64_t b = 0; b < nb; b++) {
        /* one weight row at a time: its unpacked block fills the registers */
        for (int r = 0; r < rt; r++) {
            const engine_block_q6_K *x = (const engine_block_q6_K *)(w + r * wstride) + b;
            const float d = f16(x->d);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++) {
                const engine_block_q8_K *q8 = (const engine_block_q8_K *)(a + c * astride) + b;
                int32x4_t isum = vdupq_n_s32(0);
#pragma GCC unroll 2
                for (int h = 0; h < 2; h++) {
                    const uint8_t *ql = x->ql + 64 * h, *qh = x->qh + 32 * h;
#pragma GCC unroll 2
                    for (int u = 0; u < 2; u++) { /* l = 16u .. 16u + 15 */
                        uint8x16_t A = vld1q_u8(ql + 16 * u), B = vld1q_u8(ql + 32 + 16 * u);
                        uint8x16_t H = vld1q_u8(qh + 16 * u);
                        int8x16_t v[4];
                        v[0] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(A, m4),
                                                                     vshlq_n_u8(vandq_u8(H, m3), 4))), s32);
                        v[1] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(
                                            vandq_u8(B, m4), vshlq_n_u8(vandq_u8(vshrq_n_u8(H, 2), m3), 4))),
                                        s32);
                        v[2] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(
                                            vshrq_n_u8(A, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(H, 4), m3), 4))),
                                        s32);
                        v[3] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(B, 4),
                                                                     vshlq_n_u8(vshrq_n_u8(H, 6), 4))),
                                        s32);
#pragma GCC unroll 4
                        for (int t = 0; t < 4; t++) {
                            const int v0 = 128 * h + 32 * t + 16 * u;
                            int32x4_t p = DOT16(vdupq_n_s32(0), v[t], vld1q_s8(q8->qs + v0));
                            isum = vmlaq_n_s32(isum, p, x->scales[v0 / 16]);
                        }
                    }
                }
                acc[r][c] += d * q8->d * (float)vaddvq_s32(isum);
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
