/*
 * kern_i8mm.c: the "i8mm" variant (ARMv8.6-A int8 matrix multiply). For
 * prefill, the 32-block formats (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL) run
 * 2 weight rows x 2 activation rows per smmla (vmmlaq_s32: a 2x8 by 8x2
 * int8 product into a 2x2 int32 tile), four per 32-block; decode (one
 * activation row) and the remainders use sdot as the dotprod variant does,
 * and so do the K-quants; F32/F16/BF16 and the activation quantizers are
 * the neon functions.
 */
#include "neon_shared.h"

#include <arm_neon.h>

#define AI static inline __attribute__((always_inline))
#define RT 4
#define CT 2

AI float f16(engine_f16_t h)
{
    __fp16 v;
    __builtin_memcpy(&v, &h, sizeof v);
    return (float)v;
}

#include "mm_driver.h"
/* 16 s8 x s8 products into 4 s32 lanes */
#define DOT16(acc, w, a) vdotq_s32((acc), (w), (a))
#include "kquants_neon.h"
#include "q4q8_neon.h"
#include "b32_neon.h"
#include "kq_neon.h"

/* Weight kinds of the smmla tile: Q8_0, Q4_0, and the B32_* kinds of
 * b32_neon.h (Q4_1, Q5_0, Q5_1, IQ4_NL). */
enum { MM_Q8_0 = 16, MM_Q4_0 = 17 };

/* Block b of a weight row of the given kind -> values 0..15 in *w0,
 * 16..31 in *w1, scale *d, min *m (Q4_1/Q5_1; else 0). */
AI void mmla_unpack(int kind, const uint8_t *row, int64_t b, int8x16_t tab, int8x16_t *w0,
                    int8x16_t *w1, float *d, float *m)
{
    if (kind == MM_Q4_0) {
        const engine_block_q4_0 *x = (const engine_block_q4_0 *)row + b;
        const uint8x16_t q = vld1q_u8(x->qs), m4 = vdupq_n_u8(0x0f);
        const int8x16_t s8 = vdupq_n_s8(8);
        *w0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, m4)), s8);
        *w1 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), s8);
        *d = f16(x->d);
        *m = 0;
    } else if (kind == MM_Q8_0) {
        const engine_block_q8_0 *x = (const engine_block_q8_0 *)row + b;
        *w0 = vld1q_s8(x->qs);
        *w1 = vld1q_s8(x->qs + 16);
        *d = f16(x->d);
        *m = 0;
    } else {
        b32_unpack(kind, row + (size_t)b * b32_block_bytes(kind), tab, w0, w1, d, m);
    }
}

/* 2 weight rows x 2 activation rows of one kind. Lane 2i + j of the smmla
 * result is (weight row i, activation row j); Q4_1/Q5_1 add their min
 * terms m_i * s_j (Q8_1 activations) in the same lane order. */
AI void mmla_tile(int kind, int64_t nb, const uint8_t *w, size_t wstride, const uint8_t *a,
                  size_t astride, float *y, int64_t ldy)
{
    const bool q81 = kind != MM_Q8_0 && kind != MM_Q4_0 && b32_has_min(kind);
    const size_t abb = q81 ? sizeof(engine_block_q8_1) : sizeof(engine_block_q8_0);
    const int8x16_t tab = vld1q_s8(b32_iq4nl_values);
    float32x4_t acc = vdupq_n_f32(0), accm = vdupq_n_f32(0);
    for (int64_t b = 0; b < nb; b++) {
        int8x16_t W[2][2];
        float dw[2], mw[2];
        for (int r = 0; r < 2; r++)
            mmla_unpack(kind, w + r * wstride, b, tab, &W[r][0], &W[r][1], &dw[r], &mw[r]);
        int8x16_t A[2][2];
        float da[2], sa[2];
        for (int c = 0; c < 2; c++) {
            const uint8_t *ab = a + c * astride + (size_t)b * abb;
            if (q81) {
                const engine_block_q8_1 *q = (const engine_block_q8_1 *)ab;
                A[c][0] = vld1q_s8(q->qs);
                A[c][1] = vld1q_s8(q->qs + 16);
                da[c] = f16(q->d);
                sa[c] = f16(q->s);
            } else {
                const engine_block_q8_0 *q = (const engine_block_q8_0 *)ab;
                A[c][0] = vld1q_s8(q->qs);
                A[c][1] = vld1q_s8(q->qs + 16);
                da[c] = f16(q->d);
                sa[c] = 0;
            }
        }
        int32x4_t t = vdupq_n_s32(0);
        for (int h = 0; h < 2; h++) {
            int64x2_t w0 = vreinterpretq_s64_s8(W[0][h]), w1 = vreinterpretq_s64_s8(W[1][h]);
            int64x2_t x0 = vreinterpretq_s64_s8(A[0][h]), x1 = vreinterpretq_s64_s8(A[1][h]);
            t = vmmlaq_s32(t, vreinterpretq_s8_s64(vzip1q_s64(w0, w1)),
                           vreinterpretq_s8_s64(vzip1q_s64(x0, x1)));
            t = vmmlaq_s32(t, vreinterpretq_s8_s64(vzip2q_s64(w0, w1)),
                           vreinterpretq_s8_s64(vzip2q_s64(x0, x1)));
        }
        const float sc[4] = {dw[0] * da[0], dw[0] * da[1], dw[1] * da[0], dw[1] * da[1]};
        acc = vmlaq_f32(acc, vcvtq_f32_s32(t), vld1q_f32(sc));
        if (q81) {
            const float mi[4] = {mw[0], mw[0], mw[1], mw[1]}, sj[4] = {sa[0], sa[1], sa[0], sa[1]};
            accm = vmlaq_f32(accm, vld1q_f32(mi), vld1q_f32(sj));
        }
    }
    acc = vaddq_f32(acc, accm);
    y[0] = vgetq_lane_f32(acc, 0);
    y[ldy] = vgetq_lane_f32(acc, 1);
    y[1] = vgetq_lane_f32(acc, 2);
    y[ldy + 1] = vgetq_lane_f32(acc, 3);
}

#define DEFINE_MM_I8MM(fmt, KIND)                                                                \
    static void mm_i8mm_##fmt(int64_t k, const void *w, size_t wstride, int64_t nr,              \
                              const void *act, size_t astride, int64_t mr, float *y, int64_t ldy) \
    {                                                                                            \
        const uint8_t *W = w, *A = act;                                                          \
        const int64_t nb = k / 32;                                                               \
        int64_t j = 0;                                                                           \
        for (; j + 2 <= mr; j += 2) {                                                            \
            int64_t i = 0;                                                                       \
            for (; i + 2 <= nr; i += 2)                                                          \
                mmla_tile(KIND, nb, W + i * wstride, wstride, A + j * astride, astride,          \
                          y + j * ldy + i, ldy);                                                 \
            for (; i < nr; i++)                                                                  \
                fmt##_tile(1, 2, nb, W + i * wstride, wstride, A + j * astride, astride,         \
                           y + j * ldy + i, ldy);                                                \
        }                                                                                        \
        if (j < mr) /* decode, or the last odd activation row */                                 \
            mm_##fmt(k, w, wstride, nr, A + j * astride, astride, mr - j, y + j * ldy, ldy);     \
    }

DEFINE_MM(q8_0, ENGINE_QK8_0)
DEFINE_MM(q4_0, ENGINE_QK4_0)
DEFINE_MM(q4_K, ENGINE_QK_K)
DEFINE_MM(q6_K, ENGINE_QK_K)
DEFINE_MM(q5_0, ENGINE_QK5_0)
DEFINE_MM(q4_1, ENGINE_QK4_1)
DEFINE_MM(q5_1, ENGINE_QK5_1)
DEFINE_MM(iq4_nl, ENGINE_QK4_NL)
DEFINE_MM(q2_K, ENGINE_QK_K)
DEFINE_MM(q3_K, ENGINE_QK_K)
DEFINE_MM(q5_K, ENGINE_QK_K)
DEFINE_MM_I8MM(q8_0, MM_Q8_0)
DEFINE_MM_I8MM(q4_0, MM_Q4_0)
DEFINE_MM_I8MM(q4_1, B32_Q4_1)
DEFINE_MM_I8MM(q5_0, B32_Q5_0)
DEFINE_MM_I8MM(q5_1, B32_Q5_1)
DEFINE_MM_I8MM(iq4_nl, B32_IQ4_NL)

const kern_variant_t kern_variant_i8mm = {
    .name = "i8mm",
    .needs = KERN_FEAT(ASIMD) | KERN_FEAT(DOTPROD) | KERN_FEAT(ARM_FP16) | KERN_FEAT(I8MM) |
             KERN_FEAT(ARM_BF16),
    .ops = &kern_ops_neon,
    .mm =
        {
            [ENGINE_TYPE_Q8_0] = mm_i8mm_q8_0,
            [ENGINE_TYPE_Q4_0] = mm_i8mm_q4_0,
            [ENGINE_TYPE_Q4_K] = mm_q4_K,
            [ENGINE_TYPE_Q6_K] = mm_q6_K,
            [ENGINE_TYPE_Q5_0] = mm_i8mm_q5_0,
            [ENGINE_TYPE_Q4_1] = mm_i8mm_q4_1,
            [ENGINE_TYPE_Q5_1] = mm_i8mm_q5_1,
            [ENGINE_TYPE_IQ4_NL] = mm_i8mm_iq4_nl,
            [ENGINE_TYPE_Q2_K] = mm_q2_K,
            [ENGINE_TYPE_Q3_K] = mm_q3_K,
            [ENGINE_TYPE_Q5_K] = mm_q5_K,
            [ENGINE_TYPE_F32] = kern_neon_mm_f32,
            [ENGINE_TYPE_F16] = kern_neon_mm_f16,
            [ENGINE_TYPE_BF16] = kern_neon_mm_bf16,
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
            [ENGINE_TYPE_Q2_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_Q3_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_Q5_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_F32] = ENGINE_TYPE_F32,
            [ENGINE_TYPE_F16] = ENGINE_TYPE_F16,
            [ENGINE_TYPE_BF16] = ENGINE_TYPE_BF16,
        },
    .quant =
        {
            [ENGINE_TYPE_Q8_0] = kern_neon_quant_q8_0,
            [ENGINE_TYPE_Q8_1] = kern_neon_quant_q8_1,
            [ENGINE_TYPE_Q8_K] = kern_neon_quant_q8_K,
        },
};
