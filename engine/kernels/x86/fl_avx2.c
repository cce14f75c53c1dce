/*
 * fl_avx2.c: avx2 kernels for F32, F16 and BF16 weights (activations in the
 * same type). 8 values per step converted to f32 (F16 by vcvtph2ps, BF16 by
 * a zero-extend and a 16-bit shift: bf16 is the top half of an f32) and
 * accumulated by FMA in f32, 4 weight rows x 2 activation rows per register
 * tile. Any k: the last k % 8 values are copied into a zero-padded buffer
 * (AVX2 has no 16-bit masked load), zeros add nothing.
 */
#include "avx2.h"
#include "../mm_driver.h"

#include <string.h>

enum { FL_F32, FL_F16, FL_BF16 };

AI __m256 fl_load8(int kind, const uint8_t *p)
{
    if (kind == FL_F32)
        return _mm256_loadu_ps((const float *)p);
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    if (kind == FL_F16)
        return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* The last n < 8 values of a row starting at p, zero-padded to 8. */
AI __m256 fl_load_tail(int kind, const uint8_t *p, int64_t n)
{
    _Alignas(32) uint8_t buf[32] = {0};
    memcpy(buf, p, (size_t)n * (kind == FL_F32 ? 4 : 2));
    return fl_load8(kind, buf);
}

AI void fl_tile(int kind, int rt, int ct, int64_t k, const uint8_t *w, size_t wstride,
                const uint8_t *a, size_t astride, float *y, int64_t ldy)
{
    const size_t es = kind == FL_F32 ? 4 : 2;
    __m256 acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            acc[r][c] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        __m256 A[CT];
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            A[c] = fl_load8(kind, a + c * astride + (size_t)i * es);
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const __m256 W = fl_load8(kind, w + r * wstride + (size_t)i * es);
#pragma GCC unroll 2
            for (int c = 0; c < ct; c++)
                acc[r][c] = _mm256_fmadd_ps(W, A[c], acc[r][c]);
        }
    }
    if (i < k) {
        __m256 A[CT];
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            A[c] = fl_load_tail(kind, a + c * astride + (size_t)i * es, k - i);
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            const __m256 W = fl_load_tail(kind, w + r * wstride + (size_t)i * es, k - i);
#pragma GCC unroll 2
            for (int c = 0; c < ct; c++)
                acc[r][c] = _mm256_fmadd_ps(W, A[c], acc[r][c]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 2
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = hsum8(acc[r][c]);
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
AI void bf16_tile(int rt, int ct, int64_t k, const uint8_t *w, size_t ws, const uint8_t *a,
                  size_t as, float *y, int64_t ldy)
{
    fl_tile(FL_BF16, rt, ct, k, w, ws, a, as, y, ldy);
}

DEFINE_MM_NAMED(kern_avx2_mm_f32, f32, 1)
DEFINE_MM_NAMED(kern_avx2_mm_f16, f16, 1)
DEFINE_MM_NAMED(kern_avx2_mm_bf16, bf16, 1)
