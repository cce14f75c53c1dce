/*
 * bf16_avx512bf16.c: BF16 weight rows x BF16 activations for the avx512
 * variant, with vdpbf16ps (32 products per instruction, float accumulate).
 * The only avx512 kernel that needs AVX512_BF16 (Cooper Lake, Sapphire
 * Rapids and later, Zen 4+): its own file so that the flag cannot leak into
 * the others. Masked loads for a row tail that is not a multiple of 32.
 */
#include "../kernels.h"
#include "avx512.h"


/* nb is k (block size 1) */
AI void bf16_tile(int rt, int ct, int64_t k, const uint8_t *w, size_t wstride, const uint8_t *a,
                  size_t astride, float *y, int64_t ldy)
{
    __m512 acc[RT][CT];
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[r][c] = _mm512_setzero_ps();
    for (int64_t i = 0; i < k; i += 32) {
        const __mmask32 m = k - i >= 32 ? 0xffffffffu : (__mmask32)((1u << (k - i)) - 1);
        __m512i A[CT];
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            A[c] = _mm512_maskz_loadu_epi16(m, (const uint16_t *)(a + c * astride) + i);
#pragma GCC unroll 4
        for (int r = 0; r < rt; r++) {
            __m512i W = _mm512_maskz_loadu_epi16(m, (const uint16_t *)(w + r * wstride) + i);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++)
                acc[r][c] = _mm512_dpbf16_ps(acc[r][c], (__m512bh)W, (__m512bh)A[c]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < rt; r++)
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            y[c * ldy + r] = hsum(acc[r][c]);
}

#include "../mm_driver.h"

DEFINE_MM_NAMED(kern_avx512_mm_bf16, bf16, 1)
