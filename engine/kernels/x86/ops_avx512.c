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

/* The horizontal sums of 16 vectors, as one vector (lane j = sum of a[j]):
 * three rounds of pairwise shuffles and adds, ~3 instructions per sum where
 * a reduction per vector costs ~8. */
AI __m512 hsum16(const __m512 a[16])
{
    __m512 s[8], t[4];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) /* per 128-bit lane: a2i[0+2], a2i+1[0+2], a2i[1+3], a2i+1[1+3] */
        s[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]),
                             _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) /* per 128-bit lane: the lane's sums of a4i .. a4i+3 */
        t[i] = _mm512_add_ps(_mm512_shuffle_ps(s[2 * i], s[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(s[2 * i], s[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    /* then across the four 128-bit lanes: lane i of the result is t[i]'s total */
    const __m512 u0 = _mm512_add_ps(_mm512_shuffle_f32x4(t[0], t[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                    _mm512_shuffle_f32x4(t[0], t[1], _MM_SHUFFLE(3, 1, 3, 1)));
    const __m512 u1 = _mm512_add_ps(_mm512_shuffle_f32x4(t[2], t[3], _MM_SHUFFLE(2, 0, 2, 0)),
                                    _mm512_shuffle_f32x4(t[2], t[3], _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm512_add_ps(_mm512_shuffle_f32x4(u0, u1, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(u0, u1, _MM_SHUFFLE(3, 1, 3, 1)));
}

#define AKB 16  /* keys per block */
#define AMAXD 256 /* head sizes the blocked path takes (a block of F32 keys: 16 KiB) */
#define AHG 4   /* heads per value pass: 4 x 4 accumulators of 16 dims */
/* Prefetch distance of the value pass, in rows. The K and V rows of one
 * head are kvs halves apart (all KV heads interleaved), a stride the
 * hardware prefetcher did not cover well: prefetching the next block of K
 * rows during the scores and V rows 8 ahead in the value pass gave decode
 * +5.6 % at depth 2048 and +1.1 % at depth 64 (Llama-3.2-1B Q4_0, 2
 * threads, paired A/B); a second prefetch for the other half of a 128-byte
 * V row cost 3 %, the adjacent-line prefetcher brings it. */
#define APF 8

/* out[g] (CN x 16 dims from V's column 0) = inv[g] sum_j sc[g n + j] V[j]
 * for GN heads: each 16 halves of V converted once for the GN heads. */
AI void pv_pass(const int GN, const int CN, int n, const float *sc, const engine_f16_t *V, size_t kvs,
                int R, int s0, const float *inv, float *out, size_t os)
{
    __m512 acc[AHG][4];
#pragma GCC unroll 4
    for (int g = 0; g < GN; g++)
#pragma GCC unroll 4
        for (int c = 0; c < CN; c++)
            acc[g][c] = _mm512_setzero_ps();
    for (int j = 0; j < n; j++) {
        const engine_f16_t *v = V + kern_ring_row(R, s0, j) * kvs;
        if (j + APF < n) { /* rows are kvs apart: a stride the hardware may not follow */
            const char *pv = (const char *)(V + kern_ring_row(R, s0, j + APF) * kvs);
            _mm_prefetch(pv, _MM_HINT_T0);
        }
        __m512 vv[4];
#pragma GCC unroll 4
        for (int c = 0; c < CN; c++)
            vv[c] = kv16(v + 16 * c);
#pragma GCC unroll 4
        for (int g = 0; g < GN; g++) {
            const __m512 p = _mm512_set1_ps(sc[(size_t)g * (size_t)n + (size_t)j]);
#pragma GCC unroll 4
            for (int c = 0; c < CN; c++)
                acc[g][c] = _mm512_fmadd_ps(p, vv[c], acc[g][c]);
        }
    }
#pragma GCC unroll 4
    for (int g = 0; g < GN; g++)
#pragma GCC unroll 4
        for (int c = 0; c < CN; c++)
            _mm512_storeu_ps(out + (size_t)g * os + 16 * c, _mm512_mul_ps(acc[g][c], _mm512_set1_ps(inv[g])));
}

/* pv_pass with the head count and width as constants (registers, not memory) */
static void pv_heads(int gn, int cn, int n, const float *sc, const engine_f16_t *V, size_t kvs, int R,
                     int s0, const float *inv, float *out, size_t os)
{
#define PV(GN, CN) pv_pass(GN, CN, n, sc, V, kvs, R, s0, inv, out, os)
    if (cn == 4)
        switch (gn) {
        case 4: PV(4, 4); break;
        case 3: PV(3, 4); break;
        case 2: PV(2, 4); break;
        default: PV(1, 4); break;
        }
    else
        switch (gn) {
        case 4: PV(4, 1); break;
        case 3: PV(3, 1); break;
        case 2: PV(2, 1); break;
        default: PV(1, 1); break;
        }
#undef PV
}

/* Blocks of 16 keys: the block is converted to F32 once for the G heads,
 * each head's 16 scores come out of 16 dot products summed with hsum16, and
 * the value pass converts each row of V once for up to 4 heads. */
static void attn_f16_avx512(int D, int G, int n, const float *q, size_t qs, const engine_f16_t *K,
                            const engine_f16_t *V, size_t kvs, int R, int s0, float scale,
                            float *scores, float *out, size_t os)
{
    if (D % 16 || D > AMAXD) {
        kern_ops_scalar.attn_f16(D, G, n, q, qs, K, V, kvs, R, s0, scale, scores, out, os);
        return;
    }
    const int C = D / 16;
    _Alignas(64) float kf[AKB * AMAXD];
    const __m512 vscale = _mm512_set1_ps(scale);
    for (int j0 = 0; j0 < n; j0 += AKB) {
        const int nj = n - j0 < AKB ? n - j0 : AKB;
        /* the next block's K rows, while this one computes */
        for (int jj = 0; jj < AKB && j0 + AKB + jj < n; jj++)
            for (int b = 0; b < D * 2; b += 128) /* a line and its adjacent-line pair */
                _mm_prefetch((const char *)(K + kern_ring_row(R, s0, j0 + AKB + jj) * kvs) + b,
                             _MM_HINT_T0);
        for (int jj = 0; jj < AKB; jj++) {
            float *dst = kf + jj * D;
            if (jj < nj) {
                const engine_f16_t *k = K + kern_ring_row(R, s0, j0 + jj) * kvs;
                for (int c = 0; c < C; c++)
                    _mm512_store_ps(dst + 16 * c, kv16(k + 16 * c));
            } else {
                for (int c = 0; c < C; c++) /* past the last key: zeros, never stored */
                    _mm512_store_ps(dst + 16 * c, _mm512_setzero_ps());
            }
        }
        for (int g = 0; g < G; g++) {
            const float *qg = q + (size_t)g * qs;
            __m512 acc[AKB];
#pragma GCC unroll 16
            for (int jj = 0; jj < AKB; jj++)
                acc[jj] = _mm512_setzero_ps();
            for (int c = 0; c < C; c++) {
                const __m512 qv = _mm512_loadu_ps(qg + 16 * c);
#pragma GCC unroll 16
                for (int jj = 0; jj < AKB; jj++)
                    acc[jj] = _mm512_fmadd_ps(qv, _mm512_load_ps(kf + jj * D + 16 * c), acc[jj]);
            }
            _mm512_mask_storeu_ps(scores + (size_t)g * (size_t)n + j0, tail(nj),
                                  _mm512_mul_ps(hsum16(acc), vscale));
        }
    }
    float inv[AHG];
    for (int g0 = 0; g0 < G; g0 += AHG) {
        const int gn = G - g0 < AHG ? G - g0 : AHG;
        for (int g = 0; g < gn; g++) {
            float *sc = scores + (size_t)(g0 + g) * (size_t)n;
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
            inv[g] = 1.0f / _mm512_reduce_add_ps(sum);
        }
        /* out[g] = sum_j p_j V[j]: 64 dims at a time, then 16 */
        const float *sc = scores + (size_t)g0 * (size_t)n;
        float *o = out + (size_t)g0 * os;
        int c0 = 0;
        for (; c0 + 4 <= C; c0 += 4)
            pv_heads(gn, 4, n, sc, V + 16 * c0, kvs, R, s0, inv, o + 16 * c0, os);
        for (; c0 < C; c0++)
            pv_heads(gn, 1, n, sc, V + 16 * c0, kvs, R, s0, inv, o + 16 * c0, os);
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
