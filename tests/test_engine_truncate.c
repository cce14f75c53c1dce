/* test_engine_truncate.c: engine_ctx_truncate keeps the first n positions of
 * the KV cache: prefill(d) + anything + truncate(d) + eval(x) gives the same
 * logits, bit for bit, as prefill(d) + eval(x). Tiny random F32 models
 * (tests/helpers_engine/tiny_model.c), on the architectures whose attention
 * differs: plain GQA, sliding windows, KV-shared layers. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "helpers_engine/tiny_model.h"

/* ---- tests ------------------------------------------------------------------- */

#define DEPTH 12
#define NX 4
#define NY 5

typedef struct {
    engine_pool_t *pool;
    engine_ctx_t *ctx;
} run_t;

static run_t open_ctx(tiny_model_t *t)
{
    run_t r = {0};
    cr_assert_eq(engine_pool_create(2, &r.pool), MB_OK);
    engine_ctx_params_t p = {.n_ctx = 64, .n_batch = 8};
    cr_assert_eq(engine_ctx_create(&t->m, r.pool, &p, &r.ctx), MB_OK, "%s", mb_err_msg());
    return r;
}

static void close_ctx(run_t *r)
{
    engine_ctx_destroy(r->ctx);
    engine_pool_destroy(r->pool);
}

/* x evaluated as a batch (all logits), then one more decode step */
static void eval_x(run_t *r, const int32_t *x, int V, float *out)
{
    cr_assert_eq(engine_eval(r->ctx, x, NX, out, true), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(engine_eval(r->ctx, x, 1, out + (size_t)NX * V, false), MB_OK, "%s", mb_err_msg());
}

static void check_truncate(engine_arch_t arch)
{
    tiny_model_t *t = tiny_model_build(tiny_model_hparams(arch), 11 + (uint64_t)arch);
    const int V = t->m.hp.n_vocab;
    int32_t d[DEPTH], x[NX], y[NY];
    tiny_model_tokens(d, DEPTH, V, 3);
    tiny_model_tokens(x, NX, V, 5);
    tiny_model_tokens(y, NY, V, 9);
    size_t n_out = (size_t)(NX + 1) * V;
    float *want = malloc(n_out * sizeof(float)), *got = malloc(n_out * sizeof(float));
    cr_assert(want && got);

    /* prefill(d) + eval(x) */
    run_t a = open_ctx(t);
    cr_assert_eq(engine_eval(a.ctx, d, DEPTH, NULL, false), MB_OK, "%s", mb_err_msg());
    eval_x(&a, x, V, want);

    /* prefill(d) + truncate(d) + eval(x): a no-op truncation */
    run_t b = open_ctx(t);
    cr_assert_eq(engine_eval(b.ctx, d, DEPTH, NULL, false), MB_OK);
    cr_assert_eq(engine_ctx_truncate(b.ctx, DEPTH), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(engine_ctx_pos(b.ctx), DEPTH);
    eval_x(&b, x, V, got);
    cr_assert(!memcmp(want, got, n_out * sizeof(float)), "%s: truncate(d) right after prefill(d) changed "
              "the logits", engine_arch_name(arch));

    /* the same context again: back to d after x (and after y), bit for bit
     * every time, as a benchmark's reps do */
    for (int rep = 0; rep < 2; rep++) {
        cr_assert_eq(engine_ctx_truncate(b.ctx, DEPTH), MB_OK);
        if (rep == 1) {
            cr_assert_eq(engine_eval(b.ctx, y, NY, NULL, false), MB_OK);
            cr_assert_eq(engine_ctx_truncate(b.ctx, DEPTH), MB_OK);
        }
        memset(got, 0, n_out * sizeof(float));
        eval_x(&b, x, V, got);
        cr_assert(!memcmp(want, got, n_out * sizeof(float)), "%s: rep %d after truncate(%d) differs",
                  engine_arch_name(arch), rep, DEPTH);
        cr_assert_eq(engine_ctx_pos(b.ctx), DEPTH + NX + 1);
    }

    /* truncate below the prefill: the first 6 tokens of d, then the rest of
     * d and x, equals the straight run. A sliding-window ring (window +
     * n_batch rows, shorter than the context) has overwritten what position 6
     * needs by now: that is refused, the context unchanged. */
    const engine_hparams_t *hp = &t->m.hp;
    bool ring = false;
    for (int il = 0; il < hp->n_layer; il++)
        ring |= engine_kv_rows(hp, il, 64, 8) > 0 && engine_kv_rows(hp, il, 64, 8) < 64;
    if (ring) {
        const int pos = engine_ctx_pos(b.ctx);
        cr_assert_eq(engine_ctx_truncate(b.ctx, 6), MB_EUNSUPPORTED, "%s", engine_arch_name(arch));
        cr_assert(strstr(mb_err_msg(), "sliding-window ring"), "%s", mb_err_msg());
        cr_assert_eq(engine_ctx_pos(b.ctx), pos);
        engine_ctx_reset(b.ctx);
        cr_assert_eq(engine_eval(b.ctx, d, 6, NULL, false), MB_OK);
    } else {
        cr_assert_eq(engine_ctx_truncate(b.ctx, 6), MB_OK);
    }
    cr_assert_eq(engine_eval(b.ctx, d + 6, DEPTH - 6, NULL, false), MB_OK);
    eval_x(&b, x, V, got);
    cr_assert(!memcmp(want, got, n_out * sizeof(float)), "%s: truncate(6) + rest of d differs",
              engine_arch_name(arch));

    /* truncate(0) is a reset */
    cr_assert_eq(engine_ctx_truncate(b.ctx, 0), MB_OK);
    cr_assert_eq(engine_eval(b.ctx, d, DEPTH, NULL, false), MB_OK);
    eval_x(&b, x, V, got);
    cr_assert(!memcmp(want, got, n_out * sizeof(float)), "%s: truncate(0) + prefill differs",
              engine_arch_name(arch));

    close_ctx(&a);
    close_ctx(&b);
    free(want);
    free(got);
    tiny_model_free(t);
}

Test(engine_truncate, llama) { check_truncate(ENGINE_ARCH_LLAMA); }
Test(engine_truncate, phi3_sliding_window) { check_truncate(ENGINE_ARCH_PHI3); }
Test(engine_truncate, gemma3n_shared_kv) { check_truncate(ENGINE_ARCH_GEMMA3N); }

Test(engine_truncate, beyond_the_cache_is_rejected)
{
    tiny_model_t *t = tiny_model_build(tiny_model_hparams(ENGINE_ARCH_QWEN3), 5);
    run_t r = open_ctx(t);
    int32_t d[DEPTH];
    tiny_model_tokens(d, DEPTH, t->m.hp.n_vocab, 3);
    cr_assert_eq(engine_ctx_truncate(r.ctx, 1), MB_EINVAL, "empty cache: nothing to keep");
    cr_assert_eq(engine_eval(r.ctx, d, DEPTH, NULL, false), MB_OK);
    cr_assert_eq(engine_ctx_truncate(r.ctx, DEPTH + 1), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "truncate"), "message: %s", mb_err_msg());
    cr_assert_eq(engine_ctx_truncate(r.ctx, -1), MB_EINVAL);
    cr_assert_eq(engine_ctx_pos(r.ctx), DEPTH, "a rejected truncation keeps the cache");
    cr_assert_eq(engine_ctx_truncate(r.ctx, 0), MB_OK);
    cr_assert_eq(engine_ctx_pos(r.ctx), 0);
    close_ctx(&r);
    tiny_model_free(t);
}
