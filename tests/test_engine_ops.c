/* The forward pass's vector ops (attention over the F16 KV cache, SiLU/GELU
 * gating) of every kernel variant this CPU can run, against the scalar
 * reference ops: random inputs, head sizes of the catalog's models, key
 * counts from 1 to past a SIMD width, extreme activations; a NaN fails. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "kernels/ops.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static float uni(void) /* [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 4503599627370496.0 - 1.0);
}

static int bind_each(const char **names, bool *capable)
{
    int n = engine_kernels_list(names, 16, NULL, capable);
    cr_assert_gt(n, 0);
    return n;
}

Test(engine_ops, attention_matches_reference)
{
    const char *names[16];
    bool capable[16];
    int nv = bind_each(names, capable);
    const int Ds[] = {64, 96, 128, 256};
    const int Gs[] = {1, 2, 3, 4, 8};
    const int Ns[] = {1, 2, 7, 16, 17, 33, 200};
    for (int vi = 0; vi < nv; vi++) {
        if (!capable[vi])
            continue;
        cr_assert_eq(engine_kernels_init(NULL, names[vi]), 0);
        const kern_ops_t *ops = kern_ops();
        for (size_t di = 0; di < sizeof Ds / sizeof *Ds; di++)
            for (size_t gi = 0; gi < sizeof Gs / sizeof *Gs; gi++)
                for (size_t ni = 0; ni < sizeof Ns / sizeof *Ns; ni++) {
                    const int D = Ds[di], G = Gs[gi], n = Ns[ni];
                    const size_t kvs = (size_t)D * 3; /* rows of a 3-KV-head cache */
                    /* the variant reads a ring of R rows whose key 0 is row s0 (it
                     * wraps when n > R - s0); the reference reads plain rows */
                    const int R = n + 3, s0 = (int)(ni * 5) % R;
                    float *q = malloc(sizeof(float) * (size_t)(G * D));
                    engine_f16_t *K = malloc(sizeof(engine_f16_t) * kvs * (size_t)n);
                    engine_f16_t *V = malloc(sizeof(engine_f16_t) * kvs * (size_t)n);
                    engine_f16_t *Kr = calloc(kvs * (size_t)R, sizeof(engine_f16_t));
                    engine_f16_t *Vr = calloc(kvs * (size_t)R, sizeof(engine_f16_t));
                    cr_assert(Kr && Vr);
                    float *sc = malloc(sizeof(float) * (size_t)(G * n));
                    float *o = malloc(sizeof(float) * (size_t)(G * D));
                    float *r = malloc(sizeof(float) * (size_t)(G * D));
                    cr_assert(q && K && V && sc && o && r);
                    for (int i = 0; i < G * D; i++)
                        q[i] = uni() * 2.0f;
                    for (size_t i = 0; i < kvs * (size_t)n; i++) {
                        K[i] = engine_f32_to_f16(uni() * 3.0f);
                        V[i] = engine_f32_to_f16(uni() * 5.0f);
                    }
                    for (int j = 0; j < n; j++) {
                        const size_t row = (size_t)((s0 + j) % R);
                        memcpy(Kr + row * kvs, K + (size_t)j * kvs, kvs * sizeof *K);
                        memcpy(Vr + row * kvs, V + (size_t)j * kvs, kvs * sizeof *V);
                    }
                    const float scale = 1.0f / sqrtf((float)D);
                    kern_ops_scalar.attn_f16(D, G, n, q, D, K, V, kvs, n, 0, scale, sc, r, D);
                    ops->attn_f16(D, G, n, q, D, Kr, Vr, kvs, R, s0, scale, sc, o, D);
                    for (int i = 0; i < G * D; i++) {
                        cr_assert(!isnan(o[i]), "%s: NaN at %d (D %d G %d n %d)", names[vi], i, D,
                                  G, n);
                        /* outputs are convex mixes of V (|V| <= 5): bound absolutely */
                        cr_assert_leq(fabsf(o[i] - r[i]), 5e-5f,
                                      "%s: D %d G %d n %d: out[%d] %g, reference %g", names[vi], D,
                                      G, n, i, o[i], r[i]);
                    }
                    free(q);
                    free(K);
                    free(V);
                    free(Kr);
                    free(Vr);
                    free(sc);
                    free(o);
                    free(r);
                }
    }
    engine_kernels_init(NULL, NULL);
}

Test(engine_ops, gating_matches_reference)
{
    const char *names[16];
    bool capable[16];
    int nv = bind_each(names, capable);
    const int64_t n = 1000 + 13;
    float *g = malloc(sizeof(float) * n), *u = malloc(sizeof(float) * n);
    float *h = malloc(sizeof(float) * n), *r = malloc(sizeof(float) * n);
    cr_assert(g && u && h && r);
    for (int64_t i = 0; i < n; i++) {
        g[i] = uni() * 12.0f;
        u[i] = uni() * 3.0f;
    }
    /* the tails of the activations and huge inputs */
    const float extremes[] = {-200.0f, -90.0f, -30.0f, 0.0f, 1e-30f, 30.0f, 90.0f, 200.0f, 1e6f};
    for (size_t i = 0; i < sizeof extremes / sizeof *extremes; i++)
        g[i] = extremes[i];
    for (int vi = 0; vi < nv; vi++) {
        if (!capable[vi])
            continue;
        cr_assert_eq(engine_kernels_init(NULL, names[vi]), 0);
        const kern_ops_t *ops = kern_ops();
        for (int which = 0; which < 2; which++) {
            void (*f)(int64_t, float *, const float *, const float *) =
                which ? ops->gelu_mul : ops->silu_mul;
            void (*ref)(int64_t, float *, const float *, const float *) =
                which ? kern_ops_scalar.gelu_mul : kern_ops_scalar.silu_mul;
            ref(n, r, g, u);
            f(n, h, g, u);
            for (int64_t i = 0; i < n; i++) {
                cr_assert(!isnan(h[i]), "%s %s: NaN at %lld (g %g)", names[vi],
                          which ? "gelu" : "silu", (long long)i, g[i]);
                cr_assert_leq(fabsf(h[i] - r[i]), 2e-6f * fabsf(r[i]) + 1e-6f * fabsf(u[i]),
                              "%s %s: g %g u %g: %g, reference %g", names[vi],
                              which ? "gelu" : "silu", g[i], u[i], h[i], r[i]);
            }
            /* in place (h = g), as the forward pass calls it */
            float *gi = malloc(sizeof(float) * n);
            cr_assert_not_null(gi);
            memcpy(gi, g, sizeof(float) * n);
            f(n, gi, gi, u);
            cr_assert_eq(memcmp(gi, h, sizeof(float) * n), 0, "%s: in-place result differs",
                         names[vi]);
            free(gi);
        }
    }
    engine_kernels_init(NULL, NULL);
    free(g);
    free(u);
    free(h);
    free(r);
}
