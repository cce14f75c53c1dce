/* ceil_avxvnni.c: VEX-encoded vpdpbusd (AVX-VNNI, 256-bit) peak kernel. */
#include "ceil_kernels.h"

#include <immintrin.h>

int32_t ceil_vnni_avxvnni(uint64_t iters)
{
    const __m256i x = _mm256_set1_epi8(3), y = _mm256_set1_epi8(-2);
#define DECL(i) __m256i a##i = _mm256_set1_epi32(i);
    CEIL_REP12(DECL)
#undef DECL
    for (uint64_t it = 0; it < iters; it++) {
#define STEP(i) a##i = _mm256_dpbusd_avx_epi32(a##i, x, y);
        CEIL_REP12(STEP)
#undef STEP
    }
    __m256i s = _mm256_setzero_si256();
#define SUM(i) s = _mm256_xor_si256(s, a##i);
    CEIL_REP12(SUM)
#undef SUM
    return _mm256_extract_epi32(s, 0) ^ _mm256_extract_epi32(s, 7);
}
