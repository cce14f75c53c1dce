/*
 * ops_neon.c: the forward pass's vector ops (ops.h) with baseline AArch64
 * Advanced SIMD, shared by every NEON variant (neon, dotprod, i8mm: their
 * wider integer instructions do not help here): attention over the F16 KV
 * cache (fcvtl widens F16, 4 dims per fmla) and the FFN activations, with a
 * vectorized exp (range reduction to [-ln2/2, ln2/2], degree-6 polynomial,
 * 2^n built in the exponent bits: inputs are clamped to [-87, 88.38] so n
 * stays a normal exponent; exp(-87) ~ 1.6e-38 stands in for smaller values,
 * which only ever meet a sum of at least 1 here).
 */
#include "../ops.h"

#include <arm_neon.h>
#include <math.h>
#include <string.h>

#define AI static inline __attribute__((always_inline))

AI float32x4_t exp4(float32x4_t x)
{
    x = vmaxq_f32(vminq_f32(x, vdupq_n_f32(88.3762626647949f)), vdupq_n_f32(-87.0f));
    const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.0f / 720);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 120), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 24), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 6), p, r);
    p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

/* 4 halves of the cache as floats */
AI float32x4_t kv4(const engine_f16_t *p)
{
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

/* The horizontal sums of 4 vectors, as one vector (lane j = sum of a[j]):
 * two rounds of pairwise adds, where a reduction per vector costs 2 each
 * and the lanes would still have to be put together. */
AI float32x4_t hsum4(float32x4_t a0, float32x4_t a1, float32x4_t a2, float32x4_t a3)
{
    return vpaddq_f32(vpaddq_f32(a0, a1), vpaddq_f32(a2, a3));
}

#define AKB 8     /* keys per block: 8 accumulators + q + keys fit the 32 registers */
#define AMAXD 256 /* head sizes the blocked path takes (a block of F32 keys: 8 KiB) */
#define AHG 4     /* heads per value pass: 4 x 4 accumulators of 4 dims */

/* out[g] (CN x 4 dims from V's column 0) = inv[g] sum_j sc[g n + j] V[j]
 * for GN heads: each 4 halves of V converted once for the GN heads. */
AI void pv_pass(const int GN, const int CN, int n, const float *sc, const engine_f16_t *V, size_t kvs,
                int R, int s0, const float *inv, float *out, size_t os)
{
    float32x4_t acc[AHG][4];
#pragma GCC unroll 4
    for (int g = 0; g < GN; g++)
#pragma GCC unroll 4
        for (int c = 0; c < CN; c++)
            acc[g][c] = vdupq_n_f32(0.0f);
    for (int j = 0; j < n; j++) {
        const engine_f16_t *v = V + kern_ring_row(R, s0, j) * kvs;
        float32x4_t vv[4];
#pragma GCC unroll 4
        for (int c = 0; c < CN; c++)
            vv[c] = kv4(v + 4 * c);
#pragma GCC unroll 4
        for (int g = 0; g < GN; g++) {
            const float p = sc[(size_t)g * (size_t)n + (size_t)j];
#pragma GCC unroll 4
            for (int c = 0; c < CN; c++)
                acc[g][c] = vfmaq_n_f32(acc[g][c], vv[c], p);
        }
    }
#pragma GCC unroll 4
    for (int g = 0; g < GN; g++)
#pragma GCC unroll 4
        for (int c = 0; c < CN; c++)
            vst1q_f32(out + (size_t)g * os + 4 * c, vmulq_n_f32(acc[g][c], inv[g]));
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

/* scores[0 .. n) = exp(scores - max); returns 1 / their sum */
static float softmax_exp(int n, float *sc)
{
    int j = 0;
    float32x4_t mv = vdupq_n_f32(-INFINITY);
    for (; j + 4 <= n; j += 4)
        mv = vmaxq_f32(mv, vld1q_f32(sc + j));
    float mx = vmaxvq_f32(mv);
    for (; j < n; j++)
        mx = sc[j] > mx ? sc[j] : mx;
    const float32x4_t m = vdupq_n_f32(mx);
    float32x4_t sum = vdupq_n_f32(0.0f);
    for (j = 0; j + 4 <= n; j += 4) {
        const float32x4_t e = exp4(vsubq_f32(vld1q_f32(sc + j), m));
        sum = vaddq_f32(sum, e);
        vst1q_f32(sc + j, e);
    }
    float s = vaddvq_f32(sum);
    if (j < n) { /* the last n % 4 through the same exp, padded with the max */
        float t[4] = {mx, mx, mx, mx};
        memcpy(t, sc + j, sizeof(float) * (size_t)(n - j));
        vst1q_f32(t, exp4(vsubq_f32(vld1q_f32(t), m)));
        for (int i = 0; j + i < n; i++) {
            sc[j + i] = t[i];
            s += t[i];
        }
    }
    return 1.0f / s;
}

/* Blocks of 8 keys: the block is converted to F32 once for the G heads,
 * each head's 8 scores come out of 8 dot products summed with hsum4, and
 * the value pass converts each row of V once for up to 4 heads. */
static void attn_f16_neon(int D, int G, int n, const float *q, size_t qs, const engine_f16_t *K,
                          const engine_f16_t *V, size_t kvs, int R, int s0, float scale, float *scores,
                          float *out, size_t os)
{
    /* n < 1: the reference's zero output (no keys, no softmax to take) */
    if (D % 4 || D > AMAXD || n < 1) {
        kern_ops_scalar.attn_f16(D, G, n, q, qs, K, V, kvs, R, s0, scale, scores, out, os);
        return;
    }
    const int C = D / 4;
    _Alignas(16) float kf[AKB * AMAXD];
    for (int j0 = 0; j0 < n; j0 += AKB) {
        const int nj = n - j0 < AKB ? n - j0 : AKB;
        for (int jj = 0; jj < AKB; jj++) {
            float *dst = kf + jj * D;
            if (jj < nj) {
                const engine_f16_t *k = K + kern_ring_row(R, s0, j0 + jj) * kvs;
                for (int c = 0; c < C; c++)
                    vst1q_f32(dst + 4 * c, kv4(k + 4 * c));
            } else {
                memset(dst, 0, sizeof(float) * (size_t)D); /* past the last key: never stored */
            }
        }
        for (int g = 0; g < G; g++) {
            const float *qg = q + (size_t)g * qs;
            float32x4_t acc[AKB];
#pragma GCC unroll 8
            for (int jj = 0; jj < AKB; jj++)
                acc[jj] = vdupq_n_f32(0.0f);
            for (int c = 0; c < C; c++) {
                const float32x4_t qv = vld1q_f32(qg + 4 * c);
#pragma GCC unroll 8
                for (int jj = 0; jj < AKB; jj++)
                    acc[jj] = vfmaq_f32(acc[jj], qv, vld1q_f32(kf + jj * D + 4 * c));
            }
            float *sc = scores + (size_t)g * (size_t)n + j0;
            const float32x4_t lo = vmulq_n_f32(hsum4(acc[0], acc[1], acc[2], acc[3]), scale);
            const float32x4_t hi = vmulq_n_f32(hsum4(acc[4], acc[5], acc[6], acc[7]), scale);
            if (nj == AKB) {
                vst1q_f32(sc, lo);
                vst1q_f32(sc + 4, hi);
            } else { /* the last block: only its nj keys (scores has G * n floats) */
                float t[AKB];
                vst1q_f32(t, lo);
                vst1q_f32(t + 4, hi);
                memcpy(sc, t, sizeof(float) * (size_t)nj);
            }
        }
    }
    float inv[AHG];
    for (int g0 = 0; g0 < G; g0 += AHG) {
        const int gn = G - g0 < AHG ? G - g0 : AHG;
        for (int g = 0; g < gn; g++)
            inv[g] = softmax_exp(n, scores + (size_t)(g0 + g) * (size_t)n);
        /* out[g] = sum_j p_j V[j]: 16 dims at a time, then 4 */
        const float *sc = scores + (size_t)g0 * (size_t)n;
        float *o = out + (size_t)g0 * os;
        int c0 = 0;
        for (; c0 + 4 <= C; c0 += 4)
            pv_heads(gn, 4, n, sc, V + 4 * c0, kvs, R, s0, inv, o + 4 * c0, os);
        for (; c0 < C; c0++)
            pv_heads(gn, 1, n, sc, V + 4 * c0, kvs, R, s0, inv, o + 4 * c0, os);
    }
}

/* x * u / (1 + exp(-x)) */
AI float32x4_t silu4(float32x4_t x, float32x4_t u)
{
    const float32x4_t e = exp4(vnegq_f32(x));
    return vdivq_f32(vmulq_f32(x, u), vaddq_f32(vdupq_n_f32(1.0f), e));
}

/* 0.5 x (1 + tanh(z)) = x / (1 + exp(-2z)), z = sqrt(2/pi) (x + 0.044715 x^3) */
AI float32x4_t gelu4(float32x4_t x, float32x4_t u)
{
    const float32x4_t z = vfmaq_f32(x, vmulq_n_f32(x, 0.044715f), vmulq_f32(x, x));
    const float32x4_t e = exp4(vmulq_n_f32(z, -2.0f * 0.7978845608028654f));
    return vdivq_f32(vmulq_f32(x, u), vaddq_f32(vdupq_n_f32(1.0f), e));
}

/* h = act(g) * u, 4 at a time; the last n % 4 through the same vector code
 * (padded with zeros), so every element is computed alike and h may be g */
#define GATE(name, act)                                                                          \
    static void name(int64_t n, float *h, const float *g, const float *u)                        \
    {                                                                                            \
        int64_t i = 0;                                                                           \
        for (; i + 4 <= n; i += 4)                                                               \
            vst1q_f32(h + i, act(vld1q_f32(g + i), vld1q_f32(u + i)));                           \
        if (i < n) {                                                                             \
            float tg[4] = {0}, tu[4] = {0};                                                      \
            memcpy(tg, g + i, sizeof(float) * (size_t)(n - i));                                  \
            memcpy(tu, u + i, sizeof(float) * (size_t)(n - i));                                  \
            vst1q_f32(tg, act(vld1q_f32(tg), vld1q_f32(tu)));                                    \
            memcpy(h + i, tg, sizeof(float) * (size_t)(n - i));                                  \
        }                                                                                        \
    }

GATE(silu_mul_neon, silu4)
GATE(gelu_mul_neon, gelu4)

const kern_ops_t kern_ops_neon = {
    .attn_f16 = attn_f16_neon,
    .silu_mul = silu_mul_neon,
    .gelu_mul = gelu_mul_neon,
};
