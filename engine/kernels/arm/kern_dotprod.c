/*
 * kern_dotprod.c: the "dotprod" variant (ARMv8.2-A dot product). sdot
 * (vdotq_s32) sums 4 s8 x s8 products into each s32 lane, one 32-block at a
 * time; Q4_0 nibbles are made signed (q - 8) before the multiply. Tiles of
 * up to 4 weight rows x 2 activation rows.
 */
#include "../kernels.h"

#include <arm_neon.h>

#define AI static inline __attribute__((always_inline))
#define RT 4
#define CT 2

static bool dotprod_capable(const probes_features_t *f)
{
    return probes_features_has(f, PROBES_FEAT_ASIMD) && probes_features_has(f, PROBES_FEAT_DOTPROD);
}

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

DEFINE_MM(q8_0, ENGINE_QK8_0)
DEFINE_MM(q4_0, ENGINE_QK4_0)
DEFINE_MM(q4_K, ENGINE_QK_K)
DEFINE_MM(q6_K, ENGINE_QK_K)

const kern_variant_t kern_variant_dotprod = {
    .name = "dotprod",
    .capable = dotprod_capable,
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
