/* ceil_neon.c: AArch64 ASIMD bandwidth and f32 FMA peak kernels. */
#include "ceil_kernels.h"

#include <arm_neon.h>

/* pf: a software prefetch CEIL_PF_BYTES ahead (a constant in each caller) */
static inline __attribute__((always_inline)) float read_loop(const float *a, size_t n, int pf)
{
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < n; i += 16) {
        if (pf) /* past the end: harmless */
            __builtin_prefetch((const char *)(a + i) + CEIL_PF_BYTES);
        s0 = vaddq_f32(s0, vld1q_f32(a + i));
        s1 = vaddq_f32(s1, vld1q_f32(a + i + 4));
        s2 = vaddq_f32(s2, vld1q_f32(a + i + 8));
        s3 = vaddq_f32(s3, vld1q_f32(a + i + 12));
    }
    return vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
}

float ceil_read_neon(const float *a, size_t n)
{
    return read_loop(a, n, 0);
}

float ceil_read_pf_neon(const float *a, size_t n)
{
    return read_loop(a, n, 1);
}

void ceil_copy_neon(float *restrict d, const float *restrict s, size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        vst1q_f32(d + i, vld1q_f32(s + i));
        vst1q_f32(d + i + 4, vld1q_f32(s + i + 4));
        vst1q_f32(d + i + 8, vld1q_f32(s + i + 8));
        vst1q_f32(d + i + 12, vld1q_f32(s + i + 12));
    }
}

void ceil_triad_neon(float *restrict a, const float *restrict b, const float *restrict c, float k, size_t n)
{
    float32x4_t vk = vdupq_n_f32(k);
    for (size_t i = 0; i < n; i += 8) {
        vst1q_f32(a + i, vfmaq_f32(vld1q_f32(b + i), vk, vld1q_f32(c + i)));
        vst1q_f32(a + i + 4, vfmaq_f32(vld1q_f32(b + i + 4), vk, vld1q_f32(c + i + 4)));
    }
}

float ceil_fma_neon(uint64_t iters)
{
    const float32x4_t m = vdupq_n_f32(0.999f), b = vdupq_n_f32(0.001f);
#define DECL(i) float32x4_t a##i = vdupq_n_f32((float)(i) * 0.01f);
    CEIL_REP12(DECL)
#undef DECL
    for (uint64_t it = 0; it < iters; it++) {
#define STEP(i) a##i = vfmaq_f32(b, a##i, m);
        CEIL_REP12(STEP)
#undef STEP
    }
    float32x4_t s = vdupq_n_f32(0);
#define SUM(i) s = vaddq_f32(s, a##i);
    CEIL_REP12(SUM)
#undef SUM
    return vaddvq_f32(s);
}
