/*
 * ops_avx2.c: the forward pass's vector ops (ops.h) with AVX2 + FMA + F16C:
 * attention over the F16 KV cache (8 dims per FMA) and the FFN activations,
 * with a vectorized exp (range reduction to [-ln2/2, ln2/2], degree-6
 * polynomial, 2^n built in the exponent bits: inputs are clamped to
 * [-87, 88.7] so n stays a normal exponent; exp(-87) ~ 1.6e-38 stands in
 * for smaller values, which only ever meet a sum of at least 1 here).
 */
#include "avx2.h" /* AI, hsum8 */

#include <math.h>
#include <string.h>

AI __m256 exp256(__m256 x)
{
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f)), _mm256_set1_ps(-87.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

AI __m256 kv8(const engine_f16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

static void attn_f16_avx2(int D, int G, int n, const float *q, size_t qs, const engine_f16_t *K,
                          const engine_f16_t *V, size_t kvs, int R, int s0, float scale, float *scores, float *out,
                          size_t os)
{
    if (D % 16 || D > 512) {
        kern_ops_scalar.attn_f16(D, G, n, q, qs, K, V, kvs, R, s0, scale, scores, out, os);
        return;
    }
    const int C = D / 8;
    for (int j = 0; j < n; j++) {
        const engine_f16_t *k = K + kern_ring_row(R, s0, j) * kvs;
        for (int g = 0; g < G; g++) {
            const float *qg = q + (size_t)g * qs;
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
            for (int c = 0; c < C; c += 2) {
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + 8 * c), kv8(k + 8 * c), a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + 8 * c + 8), kv8(k + 8 * c + 8), a1);
            }
            scores[(size_t)g * (size_t)n + (size_t)j] = hsum8(_mm256_add_ps(a0, a1)) * scale;
        }
    }
    for (int g = 0; g < G; g++) {
        float *sc = scores + (size_t)g * (size_t)n;
        float mx = -INFINITY;
        for (int j = 0; j < n; j++)
            mx = sc[j] > mx ? sc[j] : mx;
        const __m256 m = _mm256_set1_ps(mx);
        __m256 sum = _mm256_setzero_ps();
        int j = 0;
        for (; j + 8 <= n; j += 8) {
            const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(sc + j), m));
            sum = _mm256_add_ps(sum, e);
            _mm256_storeu_ps(sc + j, e);
        }
        float s = hsum8(sum);
        for (; j < n; j++) {
            sc[j] = expf(sc[j] - mx);
            s += sc[j];
        }
        const float inv = 1.0f / s;
        float *o = out + (size_t)g * os;
        for (int c0 = 0; c0 < C; c0 += 4) {
            const int cn = C - c0 < 4 ? C - c0 : 4;
            __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                             _mm256_setzero_ps()};
            for (int jj = 0; jj < n; jj++) {
                const engine_f16_t *v = V + kern_ring_row(R, s0, jj) * kvs + 8 * c0;
                const __m256 p = _mm256_set1_ps(sc[jj]);
                for (int c = 0; c < cn; c++)
                    acc[c] = _mm256_fmadd_ps(p, kv8(v + 8 * c), acc[c]);
            }
            for (int c = 0; c < cn; c++)
                _mm256_storeu_ps(o + 8 * (c0 + c), _mm256_mul_ps(acc[c], _mm256_set1_ps(inv)));
        }
    }
}

static void silu_mul_avx2(int64_t n, float *h, const float *g, const float *u)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(g + i);
        const __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), x));
        _mm256_storeu_ps(h + i, _mm256_div_ps(_mm256_mul_ps(x, _mm256_loadu_ps(u + i)),
                                              _mm256_add_ps(one, e)));
    }
    if (i < n)
        kern_ops_scalar.silu_mul(n - i, h + i, g + i, u + i);
}

static void gelu_mul_avx2(int64_t n, float *h, const float *g, const float *u)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 c2 = _mm256_set1_ps(-2.0f * 0.7978845608028654f);
    const __m256 c3 = _mm256_set1_ps(0.044715f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(g + i);
        const __m256 z = _mm256_fmadd_ps(_mm256_mul_ps(c3, x), _mm256_mul_ps(x, x), x);
        const __m256 e = exp256(_mm256_mul_ps(c2, z));
        _mm256_storeu_ps(h + i, _mm256_div_ps(_mm256_mul_ps(x, _mm256_loadu_ps(u + i)),
                                              _mm256_add_ps(one, e)));
    }
    if (i < n)
        kern_ops_scalar.gelu_mul(n - i, h + i, g + i, u + i);
}

const kern_ops_t kern_ops_avx2 = {
    .attn_f16 = attn_f16_avx2,
    .silu_mul = silu_mul_avx2,
    .gelu_mul = gelu_mul_avx2,
};
