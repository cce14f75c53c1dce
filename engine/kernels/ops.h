/*
 * ops.h: private to the engine. The vector operations of the forward pass
 * other than matmul (attention over the F16 KV cache, FFN activations),
 * bound together with the kernel variant: each variant may bring its own,
 * the scalar ones in ops.c are the reference.
 */
#ifndef ENGINE_KERNELS_OPS_H
#define ENGINE_KERNELS_OPS_H

#include "engine.h"

typedef struct {
    /* Attention of G query heads that share one KV head, over n keys:
     *   out[g] = softmax_j(scale * q[g] . K[j]) V[j]      g < G, j < n
     * q[g] = q + g * qs, out[g] = out + g * os (D floats each). The cache is a
     * ring of R rows: key j is row r = (s0 + j) mod R, K[j] = K + r * kvs,
     * V[j] = V + r * kvs (D halves each); s0 < R, n <= R. scores: G * n
     * floats of scratch. */
    void (*attn_f16)(int D, int G, int n, const float *q, size_t qs, const engine_f16_t *K,
                     const engine_f16_t *V, size_t kvs, int R, int s0, float scale,
                     float *scores, float *out, size_t os);
    /* h[i] = act(g[i]) * u[i], act = SiLU or GELU (tanh form); h may be g */
    void (*silu_mul)(int64_t n, float *h, const float *g, const float *u);
    void (*gelu_mul)(int64_t n, float *h, const float *g, const float *u);
} kern_ops_t;

extern const kern_ops_t kern_ops_scalar;
#if defined(__x86_64__)
extern const kern_ops_t kern_ops_avx2;
extern const kern_ops_t kern_ops_avx512;
#endif
#if defined(__aarch64__)
extern const kern_ops_t kern_ops_neon;
#endif

/* Row of key j in a ring of R rows starting at row s0 (see attn_f16). */
static inline size_t kern_ring_row(int R, int s0, int j)
{
    const int r = s0 + j;
    return (size_t)(r >= R ? r - R : r);
}

/* The ops of the bound kernel variant (binds the best one if none is). */
const kern_ops_t *kern_ops(void);

#endif /* ENGINE_KERNELS_OPS_H */
