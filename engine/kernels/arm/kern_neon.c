/*
 * kern_neon.c: the "neon" variant (baseline AArch64 Advanced SIMD). Widening
 * multiplies s8 x s8 -> s16 (vmull_s8) and pairwise accumulation to s32
 * (vpadalq_s16), one 32-block at a time; Q4_0 nibbles are made signed
 * (q - 8) before the multiply. Tiles of up to 4 weight rows x 2 activation
 * rows.
 */
#include "neon_shared.h"

#include <arm_neon.h>

#define AI static inline __attribute__((always_inline))
#define RT 4
#define CT 2

AI float f16(engine_f16_t h)
{
    __fp16 v; /* fcvt h -> s is baseline AArch64 */
    __builtin_memcpy(&v, &h, sizeof v);
    return (float)v;
}

#include "mm_driver.h"
/* 16 s8 x s8 products into 4 s32 lanes */
#define DOT16(acc, w, a)                                                                         \
    vpadalq_s16(vpadalq_s16((acc), vmull_s8(vget_low_s8(w), vget_low_s8(a))), vmull_high_s8((w), (a)))
#include "kquants_neon.h"
#include "q4q8_neon.h"
#include "b32_neon.h"
#include "kq_neon.h"

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

const kern_variant_t kern_variant_neon = {
    .name = "neon",
    .needs = KERN_FEAT(ASIMD),
    .ops = &kern_ops_neon,
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
