/* ceil_dotprod.c: ARMv8.2 SDOT int8 peak kernel (built with +dotprod). */
#include "ceil_kernels.h"

#include <arm_neon.h>

int32_t ceil_sdot_dotprod(uint64_t iters)
{
    /* sdot: 16 s8*s8 products summed into 4 s32 lanes per instruction. */
    const int8x16_t x = vdupq_n_s8(3), y = vdupq_n_s8(-2);
#define DECL(i) int32x4_t a##i = vdupq_n_s32(i);
    CEIL_REP12(DECL)
#undef DECL
    for (uint64_t it = 0; it < iters; it++) {
#define STEP(i) a##i = vdotq_s32(a##i, x, y);
        CEIL_REP12(STEP)
#undef STEP
    }
    int32x4_t s = vdupq_n_s32(0);
#define SUM(i) s = veorq_s32(s, a##i);
    CEIL_REP12(SUM)
#undef SUM
    return vaddvq_s32(s);
}
