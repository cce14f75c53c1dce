/*
 * fl_avx512.c: F32 and F16 weight rows x activations of the same type for
 * the avx512 variant. 16 values per step (F16 widened by vcvtph2ps), FMA in
 * float; the tail of a row that is not a multiple of 16 is read with masked
 * loads (zeros add nothing). Register tiles of up to 4 x 4 rows.
 */
#include "../kernels.h"
#include "avx512.h"


enum { FL_F32, FL_F16 };

AI __m512 fl_load(int kind, const uint8_t *p, int64_t i, __mmask16 m)
{
    if (kind == FL_F32)
        return _mm512_maskz_loadu_ps(m, (const float *)p + i);
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)p + i));
}

AI void fl_tile(int kind, int rt, int ct, int64_t k, const uint8_t *w, size_t wstride,
                const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    __m512 acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = _mm512_setzero_ps();
    for (int64_t i = 0; i < k; i += 16) {
        const __mmask16 m = k - i >= 16 ? 0xffff : (__mmask16)((1u << (k - i)) - 1);
        __m512 A[CT];
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            A[c] = fl_load(kind, a + c * astride, i, m);
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            __m512 W = fl_load(kind, w + r * wstride, i, m);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++)
                acc[r][c] = _mm512_fmadd_ps(W, A[c], acc[r][c]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = hsum(acc[r][c]);
}

/* nb is k for these (block size 1) */
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

#include "../mm_driver.h"

DEFINE_MM_NAMED(kern_avx512_mm_f32, f32, 1)
DEFINE_MM_NAMED(kern_avx512_mm_f16, f16, 1)
