/*
 * quant_impl.h: engine/quant's private declarations (not part of the public
 * API; engine/engine.h section 1 is). The per-format functions the type table
 * in types.c points at, and the rounding helper the quantizers share.
 */
#ifndef ENGINE_QUANT_IMPL_H
#define ENGINE_QUANT_IMPL_H

#include <math.h>
#include <string.h>

#include "engine.h"

/* No fused multiply-adds in the quantizers: the ISA variants of the searches
 * must give the plain C version's bytes. gcc in C11 mode does not contract;
 * clang does unless told. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* Round to nearest, ties to even, as ggml's nearest_int (valid for |f| < 2^22). */
static inline int quant_nearest_int(float f)
{
    float v = f + 12582912.f; /* 1.5 * 2^23: the integer lands in the low mantissa bits */
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* Non-linear 4-bit codebook of IQ4_NL (ggml's kvalues_iq4nl). */
extern const int8_t engine_quant_iq4nl_values[16];

/* ---- dequantizers (dequant.c) ---- */
void quant_f32_to_float(const void *x, float *y, int64_t n);
void quant_f16_to_float(const void *x, float *y, int64_t n);
void quant_bf16_to_float(const void *x, float *y, int64_t n);
void quant_q4_0_to_float(const void *x, float *y, int64_t n);
void quant_q4_1_to_float(const void *x, float *y, int64_t n);
void quant_q5_0_to_float(const void *x, float *y, int64_t n);
void quant_q5_1_to_float(const void *x, float *y, int64_t n);
void quant_q8_0_to_float(const void *x, float *y, int64_t n);
void quant_q8_1_to_float(const void *x, float *y, int64_t n);
void quant_q2_K_to_float(const void *x, float *y, int64_t n);
void quant_q3_K_to_float(const void *x, float *y, int64_t n);
void quant_q4_K_to_float(const void *x, float *y, int64_t n);
void quant_q5_K_to_float(const void *x, float *y, int64_t n);
void quant_q6_K_to_float(const void *x, float *y, int64_t n);
void quant_q8_K_to_float(const void *x, float *y, int64_t n);
void quant_iq4_nl_to_float(const void *x, float *y, int64_t n);

/* 6-bit scale and min j (0..7) of a Q4_K/Q5_K block's 12 packed bytes. */
void quant_get_scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m);
/* 6-bit scale j (0..15) of a Q3_K block, unbiased (-32..31). */
int quant_q3_K_scale(const uint8_t *scales, int j);

/* ---- activation quantizers (act.c) ---- */
void quant_f32_from_float(const float *x, void *y, int64_t n);
void quant_f16_from_float(const float *x, void *y, int64_t n);
void quant_bf16_from_float(const float *x, void *y, int64_t n);
void quant_q8_0_from_float(const float *x, void *y, int64_t n);
void quant_q8_1_from_float(const float *x, void *y, int64_t n);
void quant_q8_K_from_float(const float *x, void *y, int64_t n);

/* ---- scalar reference dot products (vec_dot_ref.c) ---- */
void quant_vec_dot_f32(int64_t n, float *s, const void *x, const void *y);
void quant_vec_dot_f16(int64_t n, float *s, const void *x, const void *y);
void quant_vec_dot_bf16(int64_t n, float *s, const void *x, const void *y);
void quant_vec_dot_q4_0_q8_0(int64_t n, float *s, const void *x, const void *y);
void quant_vec_dot_q4_1_q8_1(int64_t n, float *s, const void *x, const void *y);
void quant_vec_dot_q5_0_q8_0(int64_t n, float *s, const void *x, const void *y);
void quant_vec_dot_q5_1_q8_1(int64_t n, float *s, const void *x, const void *y);
void quant_vec_dot_q8_0_q8_0(int64_t n, float *s, const void *x, const void *y);
void quant_vec_dot_iq4_nl_q8_0(int64_t n, float *s, const void *x, const void *y);
void quant_vec_dot_q2_K_q8_K(int64_t n, float *s, const void *x, const void *y);
void quant_vec_dot_q3_K_q8_K(int64_t n, float *s, const void *x, const void *y);
void quant_vec_dot_q4_K_q8_K(int64_t n, float *s, const void *x, const void *y);
void quant_vec_dot_q5_K_q8_K(int64_t n, float *s, const void *x, const void *y);
void quant_vec_dot_q6_K_q8_K(int64_t n, float *s, const void *x, const void *y);

/* ---- scale searches shared by the weight quantizers (search.c) ---- */
/* Symmetric: x ~ scale * l, l in [-nmax, nmax-1]; weighted least squares over
 * a grid of candidate scales (grid = false: only the min/max one), then
 * coordinate descent on single quants. w = NULL weighs by x^2 (as ggml).
 * L receives l + nmax; returns scale (0 if all ~0). */
float quant_search_sym(int n, int nmax, const float *x, const float *w, int8_t *L, bool grid);
/* Affine: x ~ scale * l - min, l in [0, nmax], min >= 0; candidate scales
 * (nmax + rmin + rdelta*k) / (max - min) for k = 0..nstep, each refit by
 * weighted least squares for scale and min; keeps the lowest weighted squared
 * error. Returns scale, *the_min = min. */
float quant_search_affine(int n, int nmax, const float *x, const float *w, uint8_t *L,
                          float *the_min, float rmin, float rdelta, int nstep);
/* The same searches on all the sub-blocks of one super-block at once
 * (search_lanes.h): sub-block k is x[k*n .. k*n+n-1] (n = 16 or 32), results
 * bit-identical to calling the searches above on each sub-block (grid on);
 * w == NULL means all weights 1 (not x^2 as for quant_search_sym).
 * Dispatched to the best ISA variant. The variants' sym search leaves the
 * lanes whose amax is ~0 or whose weights are all zero to the caller (bit k
 * of *fallback set: redo sub-block k with quant_search_sym). */
void quant_search_sym_16x16(int nmax, const float *x, const float *w, int8_t *L, float *scales);
void quant_search_affine_16x16(int nmax, const float *x, const float *w, uint8_t *L,
                               float *scales, float *the_mins, float rmin, float rdelta,
                               int nstep);
void quant_search_affine_8x32(int nmax, const float *x, const float *w, uint8_t *L,
                              float *scales, float *the_mins, float rmin, float rdelta,
                              int nstep);
void quant_search_affine_16x32(int nmax, const float *x, const float *w, uint8_t *L,
                               float *scales, float *the_mins, float rmin, float rdelta,
                               int nstep);
/* The variants behind them (plain C, AVX2, AVX-512), for the tests. */
typedef void (*quant_sym_lanes_fn)(int nmax, const float *x, const float *w, int8_t *L,
                                   float *scales, uint32_t *fallback);
typedef void (*quant_affine_lanes_fn)(int nmax, const float *x, const float *w, uint8_t *L,
                                      float *scales, float *the_mins, float rmin,
                                      float rdelta, int nstep);
#define QUANT_LANES_DECL(sfx)                                                                 \
    void quant_search_sym_16x16_##sfx(int nmax, const float *x, const float *w, int8_t *L,    \
                                      float *scales, uint32_t *fallback);                     \
    void quant_search_affine_16x16_##sfx(int nmax, const float *x, const float *w,            \
                                         uint8_t *L, float *scales, float *the_mins,          \
                                         float rmin, float rdelta, int nstep);                \
    void quant_search_affine_8x32_##sfx(int nmax, const float *x, const float *w, uint8_t *L, \
                                        float *scales, float *the_mins, float rmin,           \
                                        float rdelta, int nstep);                             \
    void quant_search_affine_16x32_##sfx(int nmax, const float *x, const float *w,            \
                                         uint8_t *L, float *scales, float *the_mins,          \
                                         float rmin, float rdelta, int nstep);
QUANT_LANES_DECL(ref)
#if defined(__x86_64__)
QUANT_LANES_DECL(avx2)
QUANT_LANES_DECL(avx512)
#endif
/* Name of the variant the dispatch bound ("scalar", "avx2", "avx512"). */
const char *quant_search_lanes_variant(void);
/* Importance weights of one block: imatrix[j] * sqrt(sigma2 + x[j]^2). */
void quant_imatrix_weights(int n, const float *x, const float *imatrix, float sigma2, float *w);
/* Checks the arguments every quantize() shares; 0 ok, else records an error. */
int quant_check_args(const float *src, const void *dst, int64_t nrows, int64_t n_per_row,
                     int64_t block_size, const char *type);

/* ---- weight quantizers (quantize.c, quantize_k.c) ---- */
size_t quant_quantize_f32(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quant_quantize_f16(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quant_quantize_bf16(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quant_quantize_q4_0(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quant_quantize_q4_1(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quant_quantize_q5_0(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quant_quantize_q5_1(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quant_quantize_q8_0(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quant_quantize_iq4_nl(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quant_quantize_q2_K(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quant_quantize_q3_K(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quant_quantize_q4_K(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quant_quantize_q5_K(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);
size_t quant_quantize_q6_K(const float *src, void *dst, int64_t nrows, int64_t n_per_row, const float *imatrix);

#endif /* ENGINE_QUANT_IMPL_H */
