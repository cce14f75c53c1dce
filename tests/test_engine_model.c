/* The forward pass against the naive F32 reference, for every architecture,
 * and the KV cache: decode after prefill equals prefill of the whole
 * sequence. Tiny random F32 models (tests/helpers_engine/tiny_model.c: engine tests
 * link only the engine). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "helpers_engine/tiny_model.h"

/* max |a-b| / max |b| over one row of n */
static double row_rel_err(const float *a, const float *b, int n)
{
    double md = 0, mb = 0;
    for (int i = 0; i < n; i++) {
        md = fmax(md, fabs((double)a[i] - b[i]));
        mb = fmax(mb, fabs((double)b[i]));
    }
    return mb > 0 ? md / mb : md;
}

/* ---- tests ------------------------------------------------------------------- */

#define NTOK 24

/* kv_f32: exact comparison (<= 1e-4); F16 cache against the reference that
 * rounds K/V alike: a value a hair from a rounding midpoint can round the
 * other way, so that one is held to 1e-3. */
static void check_vs_reference_kv(engine_arch_t arch, int n_threads, int n_batch, bool kv_f32,
                                  bool split)
{
    tiny_model_t *t = tiny_model_build(tiny_model_hparams(arch), 1 + (uint64_t)arch);
    const int V = t->m.hp.n_vocab;
    int32_t tok[NTOK];
    tiny_model_tokens(tok, NTOK, V, 7 + (uint32_t)arch);
    tok[3] = V - 1; /* beyond gemma3n's per-layer vocabulary in the test model */
    float *ref = malloc((size_t)NTOK * V * sizeof(float));
    float *got = malloc((size_t)NTOK * V * sizeof(float));
    float *last = malloc((size_t)V * sizeof(float));
    cr_assert(ref && got && last);
    cr_assert_eq(engine_ref_forward(&t->m, tok, NTOK, !kv_f32, ref), MB_OK, "%s", mb_err_msg());

    engine_pool_t *pool = NULL;
    cr_assert_eq(engine_pool_create(n_threads, &pool), MB_OK);
    engine_ctx_t *ctx = NULL;
    engine_ctx_params_t p = {.n_ctx = 64, .n_batch = n_batch, .kv_f32 = kv_f32,
                             .split_always = split};
    cr_assert_eq(engine_ctx_create(&t->m, pool, &p, &ctx), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(engine_eval(ctx, tok, NTOK, got, true), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(engine_ctx_pos(ctx), NTOK);
    double worst = 0;
    for (int i = 0; i < NTOK; i++)
        worst = fmax(worst, row_rel_err(got + (size_t)i * V, ref + (size_t)i * V, V));
    const double tol = kv_f32 ? 1e-4 : 1e-3;
    cr_assert(worst <= tol, "%s (kv %s): engine vs reference max relative error %.3g > %g",
              engine_arch_name(arch), kv_f32 ? "F32" : "F16", worst, tol);
    /* the logits are not degenerate: positions differ */
    cr_assert(row_rel_err(ref, ref + (size_t)(NTOK - 1) * V, V) > 1e-2);

    /* last-token-only logits are the last row */
    engine_ctx_reset(ctx);
    cr_assert_eq(engine_eval(ctx, tok, NTOK, last, false), MB_OK);
    cr_assert(row_rel_err(last, ref + (size_t)(NTOK - 1) * V, V) <= tol);

    engine_mem_t mem = engine_ctx_memory(ctx);
    cr_assert_eq(mem.weights, engine_model_weight_bytes(&t->m));
    cr_assert(mem.kv > 0 && mem.scratch > 0);
    engine_ctx_destroy(ctx);
    engine_pool_destroy(pool);
    free(ref);
    free(got);
    free(last);
    tiny_model_free(t);
}

static void check_vs_reference(engine_arch_t arch, int n_threads, int n_batch)
{
    check_vs_reference_kv(arch, n_threads, n_batch, true, false);
    check_vs_reference_kv(arch, n_threads, n_batch, false, false);
    /* the threaded per-token phases and attention (prefill of long prompts) */
    check_vs_reference_kv(arch, n_threads, n_batch, false, true);
    check_vs_reference_kv(arch, 3, n_batch, true, true);
    /* batches of 4: sliding-window layers get a ring of window + 4 rows,
     * which wraps several times over the sequence */
    check_vs_reference_kv(arch, n_threads, 4, false, false);
    check_vs_reference_kv(arch, n_threads, 4, true, true);
}

Test(engine_model, llama_matches_reference) { check_vs_reference(ENGINE_ARCH_LLAMA, 2, 512); }
Test(engine_model, qwen3_matches_reference) { check_vs_reference(ENGINE_ARCH_QWEN3, 2, 512); }
Test(engine_model, phi3_matches_reference) { check_vs_reference(ENGINE_ARCH_PHI3, 2, 512); }
Test(engine_model, smollm3_matches_reference) { check_vs_reference(ENGINE_ARCH_SMOLLM3, 2, 512); }
Test(engine_model, gemma3n_matches_reference) { check_vs_reference(ENGINE_ARCH_GEMMA3N, 2, 512); }
/* prefill split into several internal batches, one thread */
Test(engine_model, chunked_prefill_matches_reference)
{
    check_vs_reference(ENGINE_ARCH_QWEN3, 1, 5);
    check_vs_reference(ENGINE_ARCH_GEMMA3N, 1, 7);
}

/* decode after prefill == prefill over the whole sequence */
static void check_kv_consistency(engine_arch_t arch)
{
    tiny_model_t *t = tiny_model_build(tiny_model_hparams(arch), 11 + (uint64_t)arch);
    const int V = t->m.hp.n_vocab, N = 20;
    int32_t tok[20];
    tiny_model_tokens(tok, N, V, 3);
    float *full = malloc((size_t)N * V * sizeof(float));
    float *step = malloc((size_t)V * sizeof(float));
    cr_assert(full && step);
    engine_pool_t *pool = NULL;
    cr_assert_eq(engine_pool_create(2, &pool), MB_OK);
    engine_ctx_t *ctx = NULL;
    engine_ctx_params_t p = {.n_ctx = N, .n_batch = 0};
    cr_assert_eq(engine_ctx_create(&t->m, pool, &p, &ctx), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(engine_eval(ctx, tok, N, full, true), MB_OK, "%s", mb_err_msg());
    const int prefills[] = {1, 4, 9, 16};
    for (size_t k = 0; k < MB_ARRAY_LEN(prefills); k++) {
        int n0 = prefills[k];
        engine_ctx_reset(ctx);
        cr_assert_eq(engine_eval(ctx, tok, n0, step, false), MB_OK);
        cr_assert(row_rel_err(step, full + (size_t)(n0 - 1) * V, V) <= 1e-4);
        for (int i = n0; i < N; i++) {
            cr_assert_eq(engine_eval(ctx, tok + i, 1, step, false), MB_OK);
            double e = row_rel_err(step, full + (size_t)i * V, V);
            cr_assert(e <= 1e-4, "%s: prefill %d, decode at %d: rel err %.3g",
                      engine_arch_name(arch), n0, i, e);
        }
        /* the context is full now */
        cr_assert_eq(engine_eval(ctx, tok, 1, step, false), MB_ERANGE);
    }
    engine_ctx_destroy(ctx);
    engine_pool_destroy(pool);
    free(full);
    free(step);
    tiny_model_free(t);
}

Test(engine_model, kv_cache_llama) { check_kv_consistency(ENGINE_ARCH_LLAMA); }
Test(engine_model, kv_cache_phi3) { check_kv_consistency(ENGINE_ARCH_PHI3); }
Test(engine_model, kv_cache_smollm3) { check_kv_consistency(ENGINE_ARCH_SMOLLM3); }
Test(engine_model, kv_cache_gemma3n) { check_kv_consistency(ENGINE_ARCH_GEMMA3N); }

/* llama.cpp's rope_freqs.weight (llama3 factors as a tensor) == the rule from hparams */
Test(engine_model, rope_freqs_tensor_matches_llama3_rule)
{
    tiny_model_t *t = tiny_model_build(tiny_model_hparams(ENGINE_ARCH_LLAMA), 21);
    const engine_hparams_t *hp = &t->m.hp;
    const int V = hp->n_vocab, N = 16, half = hp->head_dim / 2;
    int32_t tok[16];
    tiny_model_tokens(tok, N, V, 5);
    float *a = malloc((size_t)N * V * 4), *b = malloc((size_t)N * V * 4), *c = malloc((size_t)N * V * 4);
    float fac[64];
    for (int i = 0; i < half; i++) { /* the converter's formula */
        double f = pow(hp->rope_theta, -2.0 * i / hp->head_dim), wl = 2 * M_PI / f;
        double sm = (hp->rope_orig_ctx / wl - hp->rope_low_freq) /
                    (hp->rope_high_freq - hp->rope_low_freq);
        fac[i] = wl < hp->rope_orig_ctx / hp->rope_high_freq  ? 1.0f
                 : wl > hp->rope_orig_ctx / hp->rope_low_freq ? hp->rope_factor
                                                              : (float)(1 / ((1 - sm) / hp->rope_factor + sm));
    }
    engine_ctx_params_t p = {.n_ctx = N, .kv_f32 = true};
    engine_ctx_t *ctx = NULL;
    cr_assert_eq(engine_ctx_create(&t->m, NULL, &p, &ctx), MB_OK);
    cr_assert_eq(engine_eval(ctx, tok, N, a, true), MB_OK);
    engine_ctx_destroy(ctx);
    engine_tensor_t *rf = &t->m.rope_freqs;
    rf->type = ENGINE_TYPE_F32;
    rf->ne[0] = half;
    rf->ne[1] = rf->ne[2] = rf->ne[3] = 1;
    rf->data = fac;
    rf->nbytes = (size_t)half * 4;
    cr_assert_eq(engine_ctx_create(&t->m, NULL, &p, &ctx), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(engine_eval(ctx, tok, N, b, true), MB_OK);
    engine_ctx_destroy(ctx);
    cr_assert_eq(engine_ref_forward(&t->m, tok, N, false, c), MB_OK);
    for (int i = 0; i < N; i++) {
        cr_assert(row_rel_err(b + (size_t)i * V, a + (size_t)i * V, V) <= 1e-5);
        cr_assert(row_rel_err(c + (size_t)i * V, a + (size_t)i * V, V) <= 1e-4);
    }
    rf->ne[0] = half + 1;
    cr_assert_eq(engine_model_validate(&t->m), MB_ESHAPE);
    memset(rf, 0, sizeof *rf);
    free(a);
    free(b);
    free(c);
    tiny_model_free(t);
}

/* an 8192-token context: decode at the end equals one prefill of everything.
 * Sliding-window layers (window 64) keep the test fast under ASan: the cache,
 * positions and RoPE angles still span 8192 tokens, and the full-attention
 * path is the same loop with j0 = 0. */
Test(engine_model, context_8192)
{
    engine_hparams_t hp = tiny_model_hparams(ENGINE_ARCH_LLAMA);
    hp.n_layer = 2;
    hp.n_head = 2;
    hp.n_head_kv = 1;
    hp.n_ctx_train = 8192;
    hp.swa_window = 64;
    tiny_model_t *t = tiny_model_build(hp, 77);
    const int N = 8192, V = hp.n_vocab;
    int32_t *tok = malloc((size_t)N * sizeof *tok);
    float *a = malloc((size_t)V * 4), *b = malloc((size_t)V * 4);
    cr_assert(tok && a && b);
    tiny_model_tokens(tok, N, V, 9);
    engine_pool_t *pool = NULL;
    cr_assert_eq(engine_pool_create(2, &pool), MB_OK);
    engine_ctx_t *ctx = NULL;
    engine_ctx_params_t p = {.n_ctx = N, .n_batch = 1024};
    cr_assert_eq(engine_ctx_create(&t->m, pool, &p, &ctx), MB_OK, "%s", mb_err_msg());
    /* the sliding-window layers keep a ring of window + n_batch rows */
    cr_assert_eq(engine_ctx_memory(ctx).kv, (size_t)2 * (64 + 1024) * 2 * 16 * 2);
    cr_assert_eq(engine_ctx_memory(ctx).kv, engine_kv_bytes(&hp, N, 1024));
    cr_assert_eq(engine_eval(ctx, tok, N - 1, NULL, false), MB_OK);
    cr_assert_eq(engine_eval(ctx, tok + N - 1, 1, a, false), MB_OK);
    cr_assert_eq(engine_ctx_pos(ctx), N);
    engine_ctx_reset(ctx);
    cr_assert_eq(engine_eval(ctx, tok, N, b, false), MB_OK);
    for (int i = 0; i < V; i++)
        cr_assert(isfinite(a[i]));
    cr_assert(row_rel_err(a, b, V) <= 1e-4, "rel err %.3g", row_rel_err(a, b, V));
    engine_ctx_destroy(ctx);
    engine_pool_destroy(pool);
    free(tok);
    free(a);
    free(b);
    tiny_model_free(t);
}

Test(engine_model, layer_switches)
{
    engine_hparams_t hp = tiny_model_hparams(ENGINE_ARCH_GEMMA3N);
    /* 10 layers, pattern 5: 4 and 9 are full attention */
    for (int il = 0; il < 10; il++)
        cr_assert_eq(engine_layer_is_swa(&hp, il), il != 4 && il != 9);
    /* last 4 share: 6, 7, 8 read 5 (sliding), 9 reads 4 (full) */
    for (int il = 0; il < 6; il++)
        cr_assert_eq(engine_layer_kv_source(&hp, il), il);
    cr_assert_eq(engine_layer_kv_source(&hp, 6), 5);
    cr_assert_eq(engine_layer_kv_source(&hp, 8), 5);
    cr_assert_eq(engine_layer_kv_source(&hp, 9), 4);
    engine_hparams_t sm = tiny_model_hparams(ENGINE_ARCH_SMOLLM3);
    sm.nope_interval = 4;
    cr_assert(engine_layer_has_rope(&sm, 0) && !engine_layer_has_rope(&sm, 3) &&
              engine_layer_has_rope(&sm, 4) && !engine_layer_has_rope(&sm, 7));
    engine_arch_t a;
    cr_assert_eq(engine_arch_from_name("gemma3n", &a), MB_OK);
    cr_assert_eq(a, ENGINE_ARCH_GEMMA3N);
    cr_assert_eq(engine_arch_from_name("mamba", &a), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "llama"));
}

Test(engine_model, bad_input_is_rejected)
{
    tiny_model_t *t = tiny_model_build(tiny_model_hparams(ENGINE_ARCH_QWEN3), 5);
    engine_ctx_t *ctx = NULL;
    engine_ctx_params_t p = {.n_ctx = 8, .n_batch = 4};
    cr_assert_eq(engine_ctx_create(&t->m, NULL, &p, &ctx), MB_OK);
    float *lg = malloc((size_t)t->m.hp.n_vocab * 9 * sizeof(float));
    int32_t tok[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    cr_assert_eq(engine_eval(ctx, tok, 9, lg, true), MB_ERANGE);
    cr_assert(strstr(mb_err_msg(), "overflow"));
    cr_assert_eq(engine_ctx_pos(ctx), 0, "a rejected eval leaves the cache untouched");
    int32_t bad[2] = {1, 256};
    cr_assert_eq(engine_eval(ctx, bad, 2, lg, false), MB_EINVAL);
    cr_assert_eq(engine_eval(ctx, tok, 0, lg, false), MB_EINVAL);
    /* logits NULL: only fills the cache */
    cr_assert_eq(engine_eval(ctx, tok, 3, NULL, false), MB_OK);
    cr_assert_eq(engine_ctx_pos(ctx), 3);
    engine_ctx_destroy(ctx);
    engine_ctx_destroy(NULL);

    /* a missing tensor and a wrong shape are named */
    const void *keep = t->m.layers[2].q_norm.data;
    t->m.layers[2].q_norm.data = NULL;
    cr_assert_eq(engine_model_validate(&t->m), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "attn_q_norm") && strstr(mb_err_msg(), "layer 2"));
    cr_assert_eq(engine_ctx_create(&t->m, NULL, &p, &ctx), MB_EINVAL);
    t->m.layers[2].q_norm.data = keep;
    t->m.layers[1].w_up.ne[1] = 64;
    cr_assert_eq(engine_model_validate(&t->m), MB_ESHAPE);
    cr_assert(strstr(mb_err_msg(), "ffn_up"));
    t->m.layers[1].w_up.ne[1] = 128;
    engine_hparams_t hp = t->m.hp;
    hp.n_head = 5;
    cr_assert_eq(engine_hparams_validate(&hp), MB_EINVAL);
    p.n_ctx = 0;
    cr_assert_eq(engine_ctx_create(&t->m, NULL, &p, &ctx), MB_EINVAL);
    free(lg);
    tiny_model_free(t);
}
