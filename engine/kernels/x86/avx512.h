/*
 * avx512.h: private to engine/kernels/x86/. Kernels of the avx512 variant
 * that live in their own files: the float formats (fl_avx512.c) and BF16
 * (bf16_avx512bf16.c, compiled with AVX512_BF16, which the rest of the
 * variant does not need: a CPU without it runs avx512 for every other
 * format and avx2's BF16 kernel, chosen explicitly by dispatch.c).
 */
#ifndef ENGINE_KERNELS_X86_AVX512_H
#define ENGINE_KERNELS_X86_AVX512_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#define AVX512_MM(name)                                                                        \
    void name(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,          \
              size_t astride, int64_t mr, float *y, int64_t ldy)

AVX512_MM(kern_avx512_mm_f32);
AVX512_MM(kern_avx512_mm_f16);
AVX512_MM(kern_avx512_mm_bf16);

#endif /* ENGINE_KERNELS_X86_AVX512_H */
