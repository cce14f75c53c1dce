/*
 * avx512.h: private to engine/kernels/x86/. The avx512 variant's kernels by
 * family, each file its own (the table is in kern_avx512.c): b32_avx512.c,
 * kq_avx512.c, fl_avx512.c, and BF16 in bf16_avx512bf16.c, compiled with
 * AVX512_BF16, which the rest of the variant does not need (a CPU without
 * it runs avx512 for every other format and avx2's BF16 kernel, chosen
 * explicitly by dispatch.c). Also the helpers they share.
 */
#ifndef ENGINE_KERNELS_X86_AVX512_H
#define ENGINE_KERNELS_X86_AVX512_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#define AVX512_MM(name)                                                                        \
    void name(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,          \
              size_t astride, int64_t mr, float *y, int64_t ldy)

#define AI static inline __attribute__((always_inline))
#define RT 4 /* weight rows per register tile */
#define CT 4 /* activation rows per register tile */

/* Two f16 scales -> 16 float lanes following the lane pattern idx. */
AI __m512 scale2(engine_f16_t d0, engine_f16_t d1, __m512i idx)
{
    __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)d0 | ((uint32_t)d1 << 16))));
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(f));
}

AI float hsum(__m512 v)
{
    return _mm512_reduce_add_ps(v);
}

AVX512_MM(kern_avx512_mm_q8_0);
AVX512_MM(kern_avx512_mm_q4_0);
AVX512_MM(kern_avx512_mm_q5_0);
AVX512_MM(kern_avx512_mm_q4_1);
AVX512_MM(kern_avx512_mm_q5_1);
AVX512_MM(kern_avx512_mm_iq4_nl);
AVX512_MM(kern_avx512_mm_q4_K);
AVX512_MM(kern_avx512_mm_q6_K);
AVX512_MM(kern_avx512_mm_q5_K);
AVX512_MM(kern_avx512_mm_q3_K);
AVX512_MM(kern_avx512_mm_q2_K);
AVX512_MM(kern_avx512_mm_f32);
AVX512_MM(kern_avx512_mm_f16);
AVX512_MM(kern_avx512_mm_bf16);

#endif /* ENGINE_KERNELS_X86_AVX512_H */
