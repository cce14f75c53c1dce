/* ceil_kernels.h: ISA variants of the ceiling kernels (private to probes/).
 * Each ISA file is compiled with its own flags (CMakeLists.txt: *_avx2.c,
 * *_avx512.c, *_avxvnni.c, *_neon.c, *_dotprod.c) and only called after the
 * runtime feature check. n counts floats and is a multiple of 64. */
#ifndef CEIL_KERNELS_H
#define CEIL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Independent accumulator chains in the peak kernels: enough to cover FMA /
 * dot latency (4-5 cycles) times issue width (2 per cycle) on current cores. */
#define CEIL_CHAINS 12
/* Named registers, not an array: GCC -O2 keeps an array of vectors in memory. */
#define CEIL_REP12(S) S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7) S(8) S(9) S(10) S(11)

/* The read kernels come twice: plain loads (the hardware prefetcher alone)
 * and the same loads with a software prefetch CEIL_PF_BYTES ahead. Which is
 * faster depends on the machine and even the minute: on the build VM the
 * plain loop was faster when its two vCPUs had memory to themselves, while
 * in slow spells the engine's prefetching GEMV out-read it by up to a
 * quarter. The read ceiling is the faster of the two. */
#define CEIL_PF_BYTES 8192

float ceil_read_scalar(const float *a, size_t n);
float ceil_read_pf_scalar(const float *a, size_t n);
void ceil_copy_scalar(float *restrict d, const float *restrict s, size_t n);
void ceil_triad_scalar(float *restrict a, const float *restrict b, const float *restrict c, float k, size_t n);

#if defined(__x86_64__) || defined(__i386__)
float ceil_read_avx2(const float *a, size_t n);
float ceil_read_pf_avx2(const float *a, size_t n);
void ceil_copy_avx2(float *restrict d, const float *restrict s, size_t n);
void ceil_triad_avx2(float *restrict a, const float *restrict b, const float *restrict c, float k, size_t n);
/* Peak kernels return a value derived from every chain so nothing is elided.
 * Ops per iteration: fma_avx2 CEIL_CHAINS*16 flops; maddubs_avx2 CEIL_CHAINS*64. */
float ceil_fma_avx2(uint64_t iters);
int32_t ceil_maddubs_avx2(uint64_t iters);
float ceil_read_avx512(const float *a, size_t n);
float ceil_read_pf_avx512(const float *a, size_t n);
void ceil_copy_avx512(float *restrict d, const float *restrict s, size_t n);
void ceil_triad_avx512(float *restrict a, const float *restrict b, const float *restrict c, float k, size_t n);
float ceil_fma_avx512(uint64_t iters);     /* CEIL_CHAINS*32 flops per iteration */
int32_t ceil_vnni_avx512(uint64_t iters);  /* CEIL_CHAINS*128 int8 ops per iteration */
int32_t ceil_vnni_avxvnni(uint64_t iters); /* CEIL_CHAINS*64 int8 ops per iteration */
#endif

#if defined(__aarch64__)
float ceil_read_neon(const float *a, size_t n);
float ceil_read_pf_neon(const float *a, size_t n);
void ceil_copy_neon(float *restrict d, const float *restrict s, size_t n);
void ceil_triad_neon(float *restrict a, const float *restrict b, const float *restrict c, float k, size_t n);
float ceil_fma_neon(uint64_t iters);        /* CEIL_CHAINS*8 flops per iteration */
int32_t ceil_sdot_dotprod(uint64_t iters);  /* CEIL_CHAINS*32 int8 ops per iteration */
#endif

#endif
