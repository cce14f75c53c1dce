/* b32_neon.h: private to engine/kernels/arm/. The 32-blocks besides Q8_0
 * and Q4_0: Q4_1, Q5_0, Q5_1 and IQ4_NL tiles for the NEON variants, written
 * once over DOT16(acc, w, a) (16 s8 x s8 products into 4 s32 lanes), which
 * each including file defines. Needs RT, CT, AI, f16() and dot32() from
 * q4q8_neon.h.
 *
 * Each weight block is unpacked to two int8x16 (values 0..15 and 16..31 of
 * the block) and dotted against the activation block as Q4_0 is:
 *   Q5_0:   (nibble | 5th bit) - 16             x Q8_0
 *   IQ4_NL: codebook[nibble] (tbl)              x Q8_0
 *   Q4_1:   nibble, + m * s per block           x Q8_1
 *   Q5_1:   nibble | 5th bit, + m * s per block x Q8_1
 * (s = d_a * sum of the activation quants, stored in the Q8_1 block). The
 * 5th bits: bit j of qh belongs to value j, so byte j of a vector gets
 * 0x10 when bit j is set (byte of qh broadcast over 8 lanes, tested against
 * 1, 2, 4, ... 128). */
#ifndef ENGINE_KERNELS_B32_NEON_H
#define ENGINE_KERNELS_B32_NEON_H

enum { B32_Q4_1, B32_Q5_0, B32_Q5_1, B32_IQ4_NL };

/* ggml's kvalues_iq4nl: the IQ4_NL codebook (a format constant). */
static const int8_t b32_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};
static const uint8_t b32_bits[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};

/* 0x10 in byte j of *h0 (j < 16) / *h1 (value 16 + j) where bit of qh is set */
AI void b32_high_bits(const uint8_t qh[4], uint8x16_t *h0, uint8x16_t *h1)
{
    const uint8x16_t bits = vld1q_u8(b32_bits), b4 = vdupq_n_u8(0x10);
    *h0 = vandq_u8(vtstq_u8(vcombine_u8(vdup_n_u8(qh[0]), vdup_n_u8(qh[1])), bits), b4);
    *h1 = vandq_u8(vtstq_u8(vcombine_u8(vdup_n_u8(qh[2]), vdup_n_u8(qh[3])), bits), b4);
}

AI bool b32_has_min(int kind)
{
    return kind == B32_Q4_1 || kind == B32_Q5_1;
}

AI size_t b32_block_bytes(int kind)
{
    switch (kind) {
    case B32_Q4_1:
        return sizeof(engine_block_q4_1);
    case B32_Q5_0:
        return sizeof(engine_block_q5_0);
    case B32_Q5_1:
        return sizeof(engine_block_q5_1);
    default:
        return sizeof(engine_block_iq4_nl);
    }
}

/* Block p of the given kind -> values 0..15 in *w0, 16..31 in *w1, its
 * scale in *d and (Q4_1/Q5_1) its min in *m. */
AI void b32_unpack(int kind, const uint8_t *p, int8x16_t tab, int8x16_t *w0, int8x16_t *w1,
                   float *d, float *m)
{
    const uint8x16_t m4 = vdupq_n_u8(0x0f);
    if (kind == B32_Q4_1) {
        const engine_block_q4_1 *x = (const engine_block_q4_1 *)p;
        uint8x16_t q = vld1q_u8(x->qs);
        *w0 = vreinterpretq_s8_u8(vandq_u8(q, m4));
        *w1 = vreinterpretq_s8_u8(vshrq_n_u8(q, 4));
        *d = f16(x->d);
        *m = f16(x->m);
    } else if (kind == B32_Q5_0) {
        const engine_block_q5_0 *x = (const engine_block_q5_0 *)p;
        uint8x16_t q = vld1q_u8(x->qs), h0, h1;
        b32_high_bits(x->qh, &h0, &h1);
        const int8x16_t s16 = vdupq_n_s8(16);
        *w0 = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(q, m4), h0)), s16);
        *w1 = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(q, 4), h1)), s16);
        *d = f16(x->d);
        *m = 0;
    } else if (kind == B32_Q5_1) {
        const engine_block_q5_1 *x = (const engine_block_q5_1 *)p;
        uint8x16_t q = vld1q_u8(x->qs), h0, h1;
        b32_high_bits(x->qh, &h0, &h1);
        *w0 = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(q, m4), h0));
        *w1 = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(q, 4), h1));
        *d = f16(x->d);
        *m = f16(x->m);
    } else {
        const engine_block_iq4_nl *x = (const engine_block_iq4_nl *)p;
        uint8x16_t q = vld1q_u8(x->qs);
        *w0 = vqtbl1q_s8(tab, vandq_u8(q, m4));
        *w1 = vqtbl1q_s8(tab, vshrq_n_u8(q, 4));
        *d = f16(x->d);
        *m = 0;
    }
}

AI void b32_tile(int kind, int rt, int ct, int64_t nb, const uint8_t *w, size_t wstride,
                 const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const bool q81 = b32_has_min(kind);
    const size_t wbb = b32_block_bytes(kind);
    const size_t abb = q81 ? sizeof(engine_block_q8_1) : sizeof(engine_block_q8_0);
    const int8x16_t tab = vld1q_s8(b32_iq4nl_values);
    float32x4_t acc[RT][CT];
    float accm[RT][CT]; /* the min terms m * s (Q4_1, Q5_1) */
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++) {
            acc[r][c] = vdupq_n_f32(0);
            accm[r][c] = 0;
        }
    for (int64_t b = 0; b < nb; b++) {
        int8x16_t A0[CT], A1[CT];
        float da[CT], sa[CT];
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++) {
            const uint8_t *ab = a + c * astride + (size_t)b * abb;
            if (q81) {
                const engine_block_q8_1 *q = (const engine_block_q8_1 *)ab;
                A0[c] = vld1q_s8(q->qs);
                A1[c] = vld1q_s8(q->qs + 16);
                da[c] = f16(q->d);
                sa[c] = f16(q->s);
            } else {
                const engine_block_q8_0 *q = (const engine_block_q8_0 *)ab;
                A0[c] = vld1q_s8(q->qs);
                A1[c] = vld1q_s8(q->qs + 16);
                da[c] = f16(q->d);
                sa[c] = 0;
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            int8x16_t W0, W1;
            float dw, mw;
            b32_unpack(kind, w + r * wstride + (size_t)b * wbb, tab, &W0, &W1, &dw, &mw);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++) {
                acc[r][c] = vmlaq_n_f32(acc[r][c], vcvtq_f32_s32(dot32(W0, W1, A0[c], A1[c])),
                                        dw * da[c]);
                if (q81)
                    accm[r][c] += mw * sa[c];
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = vaddvq_f32(acc[r][c]) + accm[r][c];
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

#endif
