/*
 * ops.c: the scalar reference of the forward pass's vector ops (ops.h):
 * plain C, the ground truth the ISA variants are tested against.
 */
#include "ops.h"

#include <math.h>
#include <string.h>

static void attn_f16_ref(int D, int G, int n, const float *q, size_t qs, const engine_f16_t *K,
                         const engine_f16_t *V, size_t kvs, int R, int s0, float scale, float *scores,
                         float *out, size_t os)
{
    for (int g = 0; g < G; g++) {
        const float *qg = q + (size_t)g * qs;
        float *sc = scores + (size_t)g * (size_t)n, mx = -INFINITY;
        for (int j = 0; j < n; j++) {
            const engine_f16_t *k = K + kern_ring_row(R, s0, j) * kvs;
            float s = 0;
            for (int d = 0; d < D; d++)
                s += qg[d] * engine_f16_to_f32(k[d]);
            sc[j] = s * scale;
            mx = sc[j] > mx ? sc[j] : mx;
        }
        float sum = 0;
        for (int j = 0; j < n; j++) {
            sc[j] = expf(sc[j] - mx);
            sum += sc[j];
        }
        const float inv = 1.0f / sum;
        float *o = out + (size_t)g * os;
        memset(o, 0, (size_t)D * sizeof *o);
        for (int j = 0; j < n; j++) {
            const engine_f16_t *v = V + kern_ring_row(R, s0, j) * kvs;
            const float p = sc[j] * inv;
            for (int d = 0; d < D; d++)
                o[d] += p * engine_f16_to_f32(v[d]);
        }
    }
}

static void silu_mul_ref(int64_t n, float *h, const float *g, const float *u)
{
    for (int64_t i = 0; i < n; i++)
        h[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

static void gelu_mul_ref(int64_t n, float *h, const float *g, const float *u)
{
    const float c = 0.7978845608028654f; /* sqrt(2/pi) */
    for (int64_t i = 0; i < n; i++) {
        const float x = g[i];
        h[i] = 0.5f * x * (1.0f + tanhf(c * (x + 0.044715f * x * x * x))) * u[i];
    }
}

const kern_ops_t kern_ops_scalar = {
    .attn_f16 = attn_f16_ref,
    .silu_mul = silu_mul_ref,
    .gelu_mul = gelu_mul_ref,
};
