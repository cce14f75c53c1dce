/* ceil_avx2.c: AVX2/FMA bandwidth and peak kernels (built with -mavx2 -mfma). */
#include "ceil_kernels.h"

#include <immintrin.h>

/* pf: a software prefetch CEIL_PF_BYTES ahead (a constant in each caller) */
static inline __attribute__((always_inline)) float read_loop(const float *a, size_t n, int pf)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < n; i += 32) {
        if (pf) { /* past the end: harmless */
            _mm_prefetch((const char *)(a + i) + CEIL_PF_BYTES, _MM_HINT_T0);
            _mm_prefetch((const char *)(a + i) + CEIL_PF_BYTES + 64, _MM_HINT_T0);
        }
        s0 = _mm256_add_ps(s0, _mm256_load_ps(a + i));
        s1 = _mm256_add_ps(s1, _mm256_load_ps(a + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_load_ps(a + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_load_ps(a + i + 24));
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

float ceil_read_avx2(const float *a, size_t n)
{
    return read_loop(a, n, 0);
}

float ceil_read_pf_avx2(const float *a, size_t n)
{
    return read_loop(a, n, 1);
}

void ceil_copy_avx2(float *restrict d, const float *restrict s, size_t n)
{
    for (size_t i = 0; i < n; i += 32) {
        _mm256_store_ps(d + i, _mm256_load_ps(s + i));
        _mm256_store_ps(d + i + 8, _mm256_load_ps(s + i + 8));
        _mm256_store_ps(d + i + 16, _mm256_load_ps(s + i + 16));
        _mm256_store_ps(d + i + 24, _mm256_load_ps(s + i + 24));
    }
}

void ceil_triad_avx2(float *restrict a, const float *restrict b, const float *restrict c, float k, size_t n)
{
    __m256 vk = _mm256_set1_ps(k);
    for (size_t i = 0; i < n; i += 16) {
        _mm256_store_ps(a + i, _mm256_fmadd_ps(vk, _mm256_load_ps(c + i), _mm256_load_ps(b + i)));
        _mm256_store_ps(a + i + 8, _mm256_fmadd_ps(vk, _mm256_load_ps(c + i + 8), _mm256_load_ps(b + i + 8)));
    }
}

float ceil_fma_avx2(uint64_t iters)
{
    /* acc = acc * m + b converges to b / (1 - m): no overflow, no denormals */
    const __m256 m = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
#define DECL(i) __m256 a##i = _mm256_set1_ps((float)(i) * 0.01f);
    CEIL_REP12(DECL)
#undef DECL
    for (uint64_t it = 0; it < iters; it++) {
#define STEP(i) a##i = _mm256_fmadd_ps(a##i, m, b);
        CEIL_REP12(STEP)
#undef STEP
    }
    __m256 s = _mm256_setzero_ps();
#define SUM(i) s = _mm256_add_ps(s, a##i);
    CEIL_REP12(SUM)
#undef SUM
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[7];
}

int32_t ceil_maddubs_avx2(uint64_t iters)
{
    /* The AVX2 int8 dot path of Q8/Q4 kernels: u8*s8 pairs -> s16 (maddubs),
     * s16 pairs -> s32 (madd with ones), accumulate: 32 MACs per step. The
     * accumulator feeds the next step's u8 operand so nothing can be hoisted
     * out of the loop (16 ymm registers leave no room for per-chain inputs). */
    const __m256i b = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
#define DECL(i) __m256i a##i = _mm256_set1_epi32(i);
    CEIL_REP12(DECL)
#undef DECL
    for (uint64_t it = 0; it < iters; it++) {
#define STEP(i) a##i = _mm256_add_epi32(a##i, _mm256_madd_epi16(_mm256_maddubs_epi16(a##i, b), ones));
        CEIL_REP12(STEP)
#undef STEP
    }
    __m256i s = _mm256_setzero_si256();
#define SUM(i) s = _mm256_xor_si256(s, a##i);
    CEIL_REP12(SUM)
#undef SUM
    return _mm256_extract_epi32(s, 0) ^ _mm256_extract_epi32(s, 7);
}
