/* q4q8_neon.h: private to engine/kernels/arm/. Q8_0 and Q4_0 tiles for the
 * NEON variants over DOT16(acc, w, a) (16 s8 x s8 products into 4 s32
 * lanes), defined by each including file. One 32-block at a time; Q4_0
 * nibbles are made signed (q - 8). Needs RT, CT, AI and f16(). */
#ifndef ENGINE_KERNELS_Q4Q8_NEON_H
#define ENGINE_KERNELS_Q4Q8_NEON_H

/* sum over 32 lanes of w * a, as 4 int32 lanes */
AI int32x4_t dot32(int8x16_t w0, int8x16_t w1, int8x16_t a0, int8x16_t a1)
{
    return DOT16(DOT16(vdupq_n_s32(0), w0, a0), w1, a1);
}

AI void q8_0_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    float32x4_t acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = vdupq_n_f32(0);
    for (int64_t b = 0; b < nb; b++) {
        int8x16_t A0[CT], A1[CT];
        float da[CT];
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++) {
            const engine_block_q8_0 *q = (const engine_block_q8_0 *)(a + c * astride) + b;
            A0[c] = vld1q_s8(q->qs);
            A1[c] = vld1q_s8(q->qs + 16);
            da[c] = f16(q->d);
        }
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const engine_block_q8_0 *x = (const engine_block_q8_0 *)(w + r * wstride) + b;
            int8x16_t W0 = vld1q_s8(x->qs), W1 = vld1q_s8(x->qs + 16);
            const float dw = f16(x->d);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++)
                acc[r][c] = vmlaq_n_f32(acc[r][c], vcvtq_f32_s32(dot32(W0, W1, A0[c], A1[c])),
                                        dw * da[c]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = vaddvq_f32(acc[r][c]);
}

AI void q4_0_tile(int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                  const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const uint8x16_t m4 = vdupq_n_u8(0x0f);
    const int8x16_t s8 = vdupq_n_s8(8);
    float32x4_t acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = vdupq_n_f32(0);
    for (int64_t b = 0; b < nb; b++) {
        int8x16_t A0[CT], A1[CT];
        float da[CT];
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++) {
            const engine_block_q8_0 *q = (const engine_block_q8_0 *)(a + c * astride) + b;
            A0[c] = vld1q_s8(q->qs);
            A1[c] = vld1q_s8(q->qs + 16);
            da[c] = f16(q->d);
        }
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const engine_block_q4_0 *x = (const engine_block_q4_0 *)(w + r * wstride) + b;
            uint8x16_t q = vld1q_u8(x->qs);
            int8x16_t W0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, m4)), s8);
            int8x16_t W1 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), s8);
            const float dw = f16(x->d);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++)
                acc[r][c] = vmlaq_n_f32(acc[r][c], vcvtq_f32_s32(dot32(W0, W1, A0[c], A1[c])),
                                        dw * da[c]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = vaddvq_f32(acc[r][c]);
}

#endif
