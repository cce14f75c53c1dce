/*
 * act_x86.h: private to engine/kernels/x86/. The activation quantizers of
 * act_avx2.c (byte-identical to the reference from_float), which the avx512
 * variant uses too: every AVX-512 machine runs AVX2 code, and quantizing a
 * row is a small share of a matmul.
 */
#ifndef ENGINE_KERNELS_X86_ACT_H
#define ENGINE_KERNELS_X86_ACT_H

#include <stdint.h>

void kern_avx2_quant_q8_0(const float *x, void *y, int64_t k);
void kern_avx2_quant_q8_1(const float *x, void *y, int64_t k);
void kern_avx2_quant_q8_K(const float *x, void *y, int64_t k);
void kern_avx2_quant_f16(const float *x, void *y, int64_t k);
void kern_avx2_quant_bf16(const float *x, void *y, int64_t k);

#endif /* ENGINE_KERNELS_X86_ACT_H */
