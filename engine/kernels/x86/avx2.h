/*
 * avx2.h: private to the *_avx2.c files of engine/kernels/x86/ (built with
 * -mavx2 -mfma -mf16c). The register tile shared by all avx2 kernels, small
 * helpers, and the kernels and quantizers the variant table in kern_avx2.c
 * points at from the other files.
 */
#ifndef ENGINE_KERNELS_X86_AVX2_H
#define ENGINE_KERNELS_X86_AVX2_H

#include "../kernels.h"

#include <immintrin.h>

#define AI static inline __attribute__((always_inline))
#define RT 4 /* weight rows per register tile */
#define CT 2 /* activation rows per register tile */

AI float f16(engine_f16_t h)
{
    return _cvtsh_ss(h);
}

AI float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Software prefetch, AVX2_PF_AHEAD bytes ahead in a weight row, one line per
 * 64 bytes of a block: the kernels do enough work per byte that the
 * hardware prefetcher alone leaves DRAM latency exposed in GEMV. */
#define AVX2_PF_AHEAD 1024
AI void pf_row(const void *p, int bytes)
{
    for (int o = 0; o < bytes; o += 64)
        _mm_prefetch((const char *)p + AVX2_PF_AHEAD + o, _MM_HINT_T0);
}

#define AVX2_MM(name)                                                                          \
    void name(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,          \
              size_t astride, int64_t mr, float *y, int64_t ldy)

/* b32_avx2.c: 32-blocks x Q8_0 / Q8_1 */
AVX2_MM(kern_avx2_mm_q4_1);
AVX2_MM(kern_avx2_mm_q5_0);
AVX2_MM(kern_avx2_mm_q5_1);
AVX2_MM(kern_avx2_mm_iq4_nl);
/* kq_avx2.c: K-quants x Q8_K */
AVX2_MM(kern_avx2_mm_q2_K);
AVX2_MM(kern_avx2_mm_q3_K);
AVX2_MM(kern_avx2_mm_q5_K);
/* fl_avx2.c: float formats x the same format */
AVX2_MM(kern_avx2_mm_f32);
AVX2_MM(kern_avx2_mm_f16);
AVX2_MM(kern_avx2_mm_bf16);

/* act_avx2.c: activation rows (k floats, k a multiple of the block size);
 * byte-identical to the reference from_float of the type table. Declared in
 * act_x86.h, which the avx512 variant includes too. */
#include "act_x86.h"

#endif /* ENGINE_KERNELS_X86_AVX2_H */
