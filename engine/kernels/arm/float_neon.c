/*
 * float_neon.c: F32, F16 and BF16 weight rows x activations of the same
 * type for every NEON variant (baseline AArch64: fcvtl widens F16, a 16-bit
 * shift widens BF16; fmla accumulates in float). 8 values per step, then
 * 4, then the last k % 4 one by one: any row length. Tiles of up to 4
 * weight rows x 2 activation rows.
 */
#include "neon_shared.h"

#include <arm_neon.h>

#define AI static inline __attribute__((always_inline))
#define RT 4
#define CT 2

#include "mm_driver.h"

enum { FL_F32, FL_F16, FL_BF16 };

/* 4 values from index i of a row */
AI float32x4_t fl_load4(int kind, const uint8_t *p, int64_t i)
{
    if (kind == FL_F32)
        return vld1q_f32((const float *)p + i);
    const uint16x4_t h = vld1_u16((const uint16_t *)p + i);
    if (kind == FL_F16)
        return vcvt_f32_f16(vreinterpret_f16_u16(h));
    return vreinterpretq_f32_u32(vshll_n_u16(h, 16));
}

/* 8 values from index i */
AI void fl_load8(int kind, const uint8_t *p, int64_t i, float32x4_t *lo, float32x4_t *hi)
{
    if (kind == FL_F32) {
        *lo = vld1q_f32((const float *)p + i);
        *hi = vld1q_f32((const float *)p + i + 4);
        return;
    }
    const uint16x8_t h = vld1q_u16((const uint16_t *)p + i);
    if (kind == FL_F16) {
        const float16x8_t f = vreinterpretq_f16_u16(h);
        *lo = vcvt_f32_f16(vget_low_f16(f));
        *hi = vcvt_high_f32_f16(f);
    } else {
        *lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
        *hi = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
    }
}

AI float fl_load1(int kind, const uint8_t *p, int64_t i)
{
    if (kind == FL_F32)
        return ((const float *)p)[i];
    uint16_t h;
    __builtin_memcpy(&h, p + 2 * i, 2);
    if (kind == FL_F16) {
        __fp16 v; /* fcvt h -> s is baseline AArch64 */
        __builtin_memcpy(&v, &h, sizeof v);
        return (float)v;
    }
    const uint32_t u = (uint32_t)h << 16;
    float f;
    __builtin_memcpy(&f, &u, sizeof f);
    return f;
}

AI void fl_tile(int kind, int rt, int ct, int64_t k, const uint8_t *w, size_t wstride,
                const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    float32x4_t acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = vdupq_n_f32(0);
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        float32x4_t A0[CT], A1[CT];
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            fl_load8(kind, a + c * astride, i, &A0[c], &A1[c]);
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            float32x4_t W0, W1;
            fl_load8(kind, w + r * wstride, i, &W0, &W1);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++)
                acc[r][c] = vfmaq_f32(vfmaq_f32(acc[r][c], W0, A0[c]), W1, A1[c]);
        }
    }
    if (i + 4 <= k) {
        float32x4_t A[CT];
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            A[c] = fl_load4(kind, a + c * astride, i);
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const float32x4_t W = fl_load4(kind, w + r * wstride, i);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++)
                acc[r][c] = vfmaq_f32(acc[r][c], W, A[c]);
        }
        i += 4;
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++) {
            float s = vaddvq_f32(acc[r][c]);
            for (int64_t l = i; l < k; l++)
                s += fl_load1(kind, w + r * wstride, l) * fl_load1(kind, a + c * astride, l);
            y[c * ldy + r] = s;
        }
}

/* block size 1: nb is k */
AI void f32_tile(int rt, int ct, int64_t k, const uint8_t *w, size_t ws, const uint8_t *a,
                 size_t as, float *y, int64_t ldy)
{
    fl_tile(FL_F32, rt, ct, k, w, ws, a, as, y, ldy);
}
AI void f16_tile(int rt, int ct, int64_t k, const uint8_t *w, size_t ws, const uint8_t *a,
                 size_t as, float *y, int64_t ldy)
{
    fl_tile(FL_F16, rt, ct, k, w, ws, a, as, y, ldy);
}
AI void bf16_tile(int rt, int ct, int64_t k, const uint8_t *w, size_t ws, const uint8_t *a,
                  size_t as, float *y, int64_t ldy)
{
    fl_tile(FL_BF16, rt, ct, k, w, ws, a, as, y, ldy);
}

DEFINE_MM(f32, 1)
DEFINE_MM(f16, 1)
DEFINE_MM(bf16, 1)

void kern_neon_mm_f32(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,
                      size_t astride, int64_t mr, float *y, int64_t ldy)
{
    mm_f32(k, w, wstride, nr, act, astride, mr, y, ldy);
}

void kern_neon_mm_f16(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,
                      size_t astride, int64_t mr, float *y, int64_t ldy)
{
    mm_f16(k, w, wstride, nr, act, astride, mr, y, ldy);
}

void kern_neon_mm_bf16(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,
                       size_t astride, int64_t mr, float *y, int64_t ldy)
{
    mm_bf16(k, w, wstride, nr, act, astride, mr, y, ldy);
}
