/* neon_shared.h: private to engine/kernels/arm/. Functions every NEON
 * variant (neon, dotprod, i8mm) points at, because the wider instructions
 * of the later ones would not change them: the F32/F16/BF16 tiles
 * (float_neon.c, plain fmla) and the activation quantizers (act_neon.c,
 * byte-identical to the reference from_float of engine/quant/act.c). */
#ifndef ENGINE_KERNELS_NEON_SHARED_H
#define ENGINE_KERNELS_NEON_SHARED_H

#include "../kernels.h"

/* kern_mm_fn for weight rows and activations of the same float type */
void kern_neon_mm_f32(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,
                      size_t astride, int64_t mr, float *y, int64_t ldy);
void kern_neon_mm_f16(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,
                      size_t astride, int64_t mr, float *y, int64_t ldy);
void kern_neon_mm_bf16(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,
                       size_t astride, int64_t mr, float *y, int64_t ldy);

/* kern_quant_fn: k floats -> one activation row (k a multiple of the block) */
void kern_neon_quant_q8_0(const float *x, void *y, int64_t k);
void kern_neon_quant_q8_1(const float *x, void *y, int64_t k);
void kern_neon_quant_q8_K(const float *x, void *y, int64_t k);

#endif
