/*
 * ops_avx512.c: the forward pass's vector ops (ops.h) with AVX-512: attention
 * over the F16 KV cache (vcvtph2ps, 16 dims per FMA) and the FFN activations,
 * with a vectorized exp (range reduction to [-ln2/2, ln2/2], degree-6
 * polynomial, vscalefps for 2^n: ~1 ulp; tests bound it against expf).
 */
#include "../ops.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define AI static inline __attribute__((always_inline))

AI __m512 exp512(__m512 x)
{
    /* below -104 exp is 0 in float; above 88.72 it overflows to inf */
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.72283935546875f)),
                      _mm512_set1_ps(-104.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

AI __mmask16 tail(int64_t left)
{
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

AI __m512 kv16(const engine_f16_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

static void attn_f16_avx512(int D, int G, int n, const float *q, size_t qs, const engine_f16_t *K,
                            const engine_f16_t *V, size_t kvs, int R, int s0, float scale, float *scores,
                            float *out, size_t os)
{
    if (D % 16 || D > 512) {
        kern_ops_scalar.attn_f16(D, G, n, q, qs, K, V, kvs, R, s0, scale, scores, out, os);
        return;
    }
    const int C = D / 16;
    /* scores[g][j] = scale * q[g] . K[j]: each key row is converted once for
     * the G heads that read it */
    for (int j = 0; j < n; j++) {
        const engine_f16_t *k = K + kern_ring_row(R, s0, j) * kvs;
        for (int g = 0; g < G; g++) {
            const float *qg = q + (size_t)g * qs;
            __m512 a0 = _mm512_mul_ps(_mm512_loadu_ps(qg), kv16(k));
            __m512 a1 = _mm512_setzero_ps();
            int c = 1;
            for (; c + 1 < C; c += 2) {
                a1 = _mm512_fmadd_ps(_mm512_loadu_ps(qg + 16 * c), kv16(k + 16 * c), a1);
                a0 = _mm512_fmadd_ps(_mm512_loadu_ps(qg + 16 * c + 16), kv16(k + 16 * c + 16), a0);
            }
            if (c < C)
                a1 = _mm512_fmadd_ps(_mm512_loadu_ps(qg + 16 * c), kv16(k + 16 * c), a1);
            scores[(size_t)g * (size_t)n + (size_t)j] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1)) * scale;
        }
    }
    for (int g = 0; g < G; g++) {
        float *sc = scores + (size_t)g * (size_t)n;
        __m512 mx = _mm512_set1_ps(-INFINITY);
        for (int64_t j = 0; j < n; j += 16)
            mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(mx, tail(n - j), sc + j));
        const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
        __m512 sum = _mm512_setzero_ps();
        for (int64_t j = 0; j < n; j += 16) {
            const __mmask16 t = tail(n - j);
            __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(t, sc + j), m));
            e = _mm512_maskz_mov_ps(t, e);
            sum = _mm512_add_ps(sum, e);
            _mm512_mask_storeu_ps(sc + j, t, e);
        }
        const float inv = 1.0f / _mm512_reduce_add_ps(sum);
        /* out[g] = sum_j p_j V[j], 4 x 16 dims of accumulators at a time */
        float *o = out + (size_t)g * os;
        for (int c0 = 0; c0 < C; c0 += 4) {
            const int cn = C - c0 < 4 ? C - c0 : 4;
            __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                             _mm512_setzero_ps()};
            for (int j = 0; j < n; j++) {
                const engine_f16_t *v = V + kern_ring_row(R, s0, j) * kvs + 16 * c0;
                const __m512 p = _mm512_set1_ps(sc[j]);
                for (int c = 0; c < cn; c++)
                    acc[c] = _mm512_fmadd_ps(p, kv16(v + 16 * c), acc[c]);
            }
            for (int c = 0; c < cn; c++)
                _mm512_storeu_ps(o + 16 * (c0 + c), _mm512_mul_ps(acc[c], _mm512_set1_ps(inv)));
        }
    }
}

/* x * u / (1 + exp(-x)) */
static void silu_mul_avx512(int64_t n, float *h, const float *g, const float *u)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 t = tail(n - i);
        const __m512 x = _mm512_maskz_loadu_ps(t, g + i);
        const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), x));
        const __m512 y = _mm512_div_ps(_mm512_mul_ps(x, _mm512_maskz_loadu_ps(t, u + i)),
                                       _mm512_add_ps(one, e));
        _mm512_mask_storeu_ps(h + i, t, y);
    }
}

/* 0.5 x (1 + tanh(z)) = x / (1 + exp(-2z)), z = sqrt(2/pi) (x + 0.044715 x^3) */
static void gelu_mul_avx512(int64_t n, float *h, const float *g, const float *u)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 c2 = _mm512_set1_ps(-2.0f * 0.7978845608028654f);
    const __m512 c3 = _mm512_set1_ps(0.044715f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 t = tail(n - i);
        const __m512 x = _mm512_maskz_loadu_ps(t, g + i);
        const __m512 z = _mm512_fmadd_ps(_mm512_mul_ps(c3, x), _mm512_mul_ps(x, x), x);
        const __m512 e = exp512(_mm512_mul_ps(c2, z));
        const __m512 y = _mm512_div_ps(_mm512_mul_ps(x, _mm512_maskz_loadu_ps(t, u + i)),
                                       _mm512_add_ps(one, e));
        _mm512_mask_storeu_ps(h + i, t, y);
    }
}

const kern_ops_t kern_ops_avx512 = {
    .attn_f16 = attn_f16_avx512,
    .silu_mul = silu_mul_avx512,
    .gelu_mul = gelu_mul_avx512,
};
