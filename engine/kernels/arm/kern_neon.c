/*
 * kern_neon.c: the "neon" variant (baseline AArch64 Advanced SIMD). Widening
 * multiplies s8 x s8 -> s16 (vmull_s8) and pairwise accumulation to s32
 * (vpadalq_s16), one 32-block at a time; Q4_0 nibbles are made signed
 * (q - 8) before the multiply. Tiles of up to 4 weight rows x 2 activation
 * rows.
 */
#include "../kernels.h"

#include <arm_neon.h>

#define AI static inline __attribute__((always_inline))
#define RT 4
#define CT 2

static bool neon_capable(const probes_features_t *f)
{
    return probes_features_has(f, PROBES_FEAT_ASIMD);
}

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

DEFINE_MM(q8_0, ENGINE_QK8_0)
DEFINE_MM(q4_0, ENGINE_QK4_0)
DEFINE_MM(q4_K, ENGINE_QK_K)
DEFINE_MM(q6_K, ENGINE_QK_K)

const kern_variant_t kern_variant_neon = {
    .name = "neon",
    .capable = neon_capable,
    .mm =
        {
            [ENGINE_TYPE_Q8_0] = mm_q8_0,
            [ENGINE_TYPE_Q4_0] = mm_q4_0,
            [ENGINE_TYPE_Q4_K] = mm_q4_K,
            [ENGINE_TYPE_Q6_K] = mm_q6_K,
        },
    .act_type =
        {
            [ENGINE_TYPE_Q8_0] = ENGINE_TYPE_Q8_0,
            [ENGINE_TYPE_Q4_0] = ENGINE_TYPE_Q8_0,
            [ENGINE_TYPE_Q4_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_Q6_K] = ENGINE_TYPE_Q8_K,
        },
};
