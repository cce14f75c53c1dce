/* ceil_avx512.c: AVX-512 F/VNNI bandwidth and peak kernels (built with the
 * AVX-512 flag set; called only when CPUID+XGETBV report it). */
#include "ceil_kernels.h"

#include <immintrin.h>

/* pf: a software prefetch CEIL_PF_BYTES ahead (a constant in each caller) */
static inline __attribute__((always_inline)) float read_loop(const float *a, size_t n, int pf)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < n; i += 64) {
        if (pf) /* past the end: harmless */
            for (int o = 0; o < 256; o += 64)
                _mm_prefetch((const char *)(a + i) + CEIL_PF_BYTES + o, _MM_HINT_T0);
        s0 = _mm512_add_ps(s0, _mm512_load_ps(a + i));
        s1 = _mm512_add_ps(s1, _mm512_load_ps(a + i + 16));
        s2 = _mm512_add_ps(s2, _mm512_load_ps(a + i + 32));
        s3 = _mm512_add_ps(s3, _mm512_load_ps(a + i + 48));
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

float ceil_read_avx512(const float *a, size_t n)
{
    return read_loop(a, n, 0);
}

float ceil_read_pf_avx512(const float *a, size_t n)
{
    return read_loop(a, n, 1);
}

void ceil_copy_avx512(float *restrict d, const float *restrict s, size_t n)
{
    for (size_t i = 0; i < n; i += 64) {
        _mm512_store_ps(d + i, _mm512_load_ps(s + i));
        _mm512_store_ps(d + i + 16, _mm512_load_ps(s + i + 16));
        _mm512_store_ps(d + i + 32, _mm512_load_ps(s + i + 32));
        _mm512_store_ps(d + i + 48, _mm512_load_ps(s + i + 48));
    }
}

void ceil_triad_avx512(float *restrict a, const float *restrict b, const float *restrict c, float k, size_t n)
{
    __m512 vk = _mm512_set1_ps(k);
    for (size_t i = 0; i < n; i += 32) {
        _mm512_store_ps(a + i, _mm512_fmadd_ps(vk, _mm512_load_ps(c + i), _mm512_load_ps(b + i)));
        _mm512_store_ps(a + i + 16, _mm512_fmadd_ps(vk, _mm512_load_ps(c + i + 16), _mm512_load_ps(b + i + 16)));
    }
}

float ceil_fma_avx512(uint64_t iters)
{
    const __m512 m = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
#define DECL(i) __m512 a##i = _mm512_set1_ps((float)(i) * 0.01f);
    CEIL_REP12(DECL)
#undef DECL
    for (uint64_t it = 0; it < iters; it++) {
#define STEP(i) a##i = _mm512_fmadd_ps(a##i, m, b);
        CEIL_REP12(STEP)
#undef STEP
    }
    __m512 s = _mm512_setzero_ps();
#define SUM(i) s = _mm512_add_ps(s, a##i);
    CEIL_REP12(SUM)
#undef SUM
    return _mm512_reduce_add_ps(s);
}

int32_t ceil_vnni_avx512(uint64_t iters)
{
    /* vpdpbusd: 64 u8*s8 products summed into 16 s32 lanes per instruction. */
    const __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(-2);
#define DECL(i) __m512i a##i = _mm512_set1_epi32(i);
    CEIL_REP12(DECL)
#undef DECL
    for (uint64_t it = 0; it < iters; it++) {
#define STEP(i) a##i = _mm512_dpbusd_epi32(a##i, x, y);
        CEIL_REP12(STEP)
#undef STEP
    }
    __m512i s = _mm512_setzero_si512();
#define SUM(i) s = _mm512_xor_si512(s, a##i);
    CEIL_REP12(SUM)
#undef SUM
    return _mm512_reduce_add_epi32(s);
}
