/* test_engine_truncate.c: engine_ctx_truncate keeps the first n positions of
 * the KV cache: prefill(d) + anything + truncate(d) + eval(x) gives the same
 * logits, bit for bit, as prefill(d) + eval(x). Tiny random F32 models (the
 * builder of test_engine_model.c), on the architectures whose attention
 * differs: plain GQA, sliding windows, KV-shared layers. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* ---- a tiny random model ----------------------------------------------------- */

typedef struct {
    engine_model_t m;
    float *blobs[512];
    int n_blobs;
    uint64_t rng;
} tiny_t;

static double rnd_u(tiny_t *t)
{
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return ((t->rng >> 11) + 0.5) / 9007199254740992.0;
}

static double rnd_n(tiny_t *t)
{
    return sqrt(-2 * log(rnd_u(t))) * cos(2 * M_PI * rnd_u(t));
}

/* mode 0: gaussian std s; 1: 1 + s*gaussian (norm weights) */
static void mk(tiny_t *t, engine_tensor_t *dst, int64_t ne0, int64_t ne1, int mode, double s)
{
    float *d = malloc((size_t)(ne0 * ne1) * sizeof(float));
    cr_assert(d);
    for (int64_t i = 0; i < ne0 * ne1; i++)
        d[i] = (float)(mode ? 1 + s * rnd_n(t) : s * rnd_n(t));
    t->blobs[t->n_blobs++] = d;
    memset(dst, 0, sizeof *dst);
    dst->type = ENGINE_TYPE_F32;
    dst->ne[0] = ne0;
    dst->ne[1] = ne1;
    dst->ne[2] = dst->ne[3] = 1;
    dst->data = d;
    dst->nbytes = (size_t)(ne0 * ne1) * sizeof(float);
}

static engine_hparams_t base_hp(engine_arch_t arch)
{
    engine_hparams_t hp = {0};
    hp.arch = arch;
    hp.n_vocab = 256;
    hp.n_embd = 64;
    hp.n_layer = 4;
    hp.n_head = 4;
    hp.n_head_kv = 2;
    hp.head_dim = 16;
    hp.n_ff = 128;
    hp.n_ctx_train = 2048;
    hp.norm_eps = 1e-5f;
    hp.tied = true;
    hp.rope_theta = 10000;
    hp.rope_mode = ENGINE_ROPE_NORM;
    switch (arch) {
    case ENGINE_ARCH_LLAMA: /* untied, llama3 scaling with a short original context */
        hp.tied = false;
        hp.rope_llama3 = true;
        hp.rope_factor = 8;
        hp.rope_low_freq = 1;
        hp.rope_high_freq = 4;
        hp.rope_orig_ctx = 64;
        hp.rope_theta = 500000;
        break;
    case ENGINE_ARCH_QWEN3:
        hp.qk_norm = true;
        hp.rope_mode = ENGINE_ROPE_NEOX;
        break;
    case ENGINE_ARCH_PHI3:
        hp.tied = false;
        hp.rope_mode = ENGINE_ROPE_NEOX;
        hp.n_head_kv = 4;
        hp.swa_window = 7; /* every layer slides, short enough to matter in the test */
        break;
    case ENGINE_ARCH_SMOLLM3:
        hp.nope_interval = 2;
        break;
    case ENGINE_ARCH_GEMMA3N:
        hp.n_layer = 10;
        hp.ffn_act = ENGINE_FFN_GELU_TANH;
        hp.rope_mode = ENGINE_ROPE_NEOX;
        hp.rope_theta = 1000000;
        hp.rope_theta_swa = 10000;
        hp.qk_norm = hp.v_norm = hp.post_norms = true;
        hp.attn_scale = 1;
        hp.embd_scale = 8;
        hp.swa_window = 6;
        hp.swa_pattern = 5;
        hp.n_kv_shared = 4;
        hp.n_layer_sparse = 3;
        hp.act_sparsity = 0.95f;
        hp.laurel_rank = 8;
        hp.n_embd_per_layer = 8;
        hp.n_vocab_per_layer = 200; /* tokens >= 200 use row 0 */
        hp.final_softcap = 30;
        break;
    default:
        break;
    }
    return hp;
}

static tiny_t *tiny_build(engine_hparams_t hp, uint64_t seed)
{
    tiny_t *t = calloc(1, sizeof *t);
    cr_assert(t);
    t->rng = seed * 0x9E3779B97F4A7C15ull + 1;
    engine_model_t *m = &t->m;
    m->hp = hp;
    const int64_t E = hp.n_embd, D = hp.head_dim, F = hp.n_ff, V = hp.n_vocab;
    const int64_t Hq = hp.n_head * D, Hk = hp.n_head_kv * D, P = hp.n_embd_per_layer;
    const double se = 1 / sqrt((double)E);
    mk(t, &m->tok_embd, E, V, 0, hp.embd_scale > 0 ? 1.0 / hp.embd_scale : 3 * se);
    mk(t, &m->output_norm, E, 1, 1, 0.1);
    if (!hp.tied)
        mk(t, &m->output, E, V, 0, se);
    if (P) {
        mk(t, &m->ple_embd, hp.n_layer * P, hp.n_vocab_per_layer, 0, 0.3);
        mk(t, &m->ple_model_proj, E, hp.n_layer * P, 0, se);
        mk(t, &m->ple_proj_norm, P, 1, 1, 0.1);
    }
    m->layers = calloc((size_t)hp.n_layer, sizeof *m->layers);
    cr_assert(m->layers);
    for (int il = 0; il < hp.n_layer; il++) {
        engine_layer_t *l = &m->layers[il];
        mk(t, &l->attn_norm, E, 1, 1, 0.1);
        if (hp.arch == ENGINE_ARCH_PHI3) {
            mk(t, &l->wqkv, E, Hq + 2 * Hk, 0, se);
        } else {
            mk(t, &l->wq, E, Hq, 0, se);
            if (engine_layer_kv_source(&hp, il) == il) {
                mk(t, &l->wk, E, Hk, 0, se);
                mk(t, &l->wv, E, Hk, 0, se);
            }
        }
        if (hp.qk_norm) {
            mk(t, &l->q_norm, D, 1, 1, 0.1);
            mk(t, &l->k_norm, D, 1, 1, 0.1);
        }
        mk(t, &l->wo, Hq, E, 0, 1 / sqrt((double)Hq));
        mk(t, &l->ffn_norm, E, 1, 1, 0.1);
        if (hp.arch == ENGINE_ARCH_PHI3) {
            mk(t, &l->w_gate_up, E, 2 * F, 0, se);
        } else {
            mk(t, &l->w_gate, E, F, 0, se);
            mk(t, &l->w_up, E, F, 0, se);
        }
        mk(t, &l->w_down, F, E, 0, 1 / sqrt((double)F));
        if (hp.post_norms) {
            mk(t, &l->post_attn_norm, E, 1, 1, 0.1);
            mk(t, &l->post_ffn_norm, E, 1, 1, 0.1);
        }
        if (hp.laurel_rank) {
            mk(t, &l->laurel_l, E, hp.laurel_rank, 0, se);
            mk(t, &l->laurel_r, hp.laurel_rank, E, 0, 1 / sqrt((double)hp.laurel_rank));
            mk(t, &l->laurel_norm, E, 1, 1, 0.1);
        }
        if (P) {
            mk(t, &l->ple_gate, E, P, 0, se);
            mk(t, &l->ple_proj, P, E, 0, 1 / sqrt((double)P));
            mk(t, &l->ple_norm, E, 1, 1, 0.1);
        }
    }
    cr_assert_eq(engine_model_validate(m), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(engine_model_prepare(m), MB_OK, "%s", mb_err_msg());
    return t;
}

static void tiny_free(tiny_t *t)
{
    engine_model_release(&t->m);
    for (int i = 0; i < t->n_blobs; i++)
        free(t->blobs[i]);
    free(t->m.layers);
    free(t);
}

static void make_tokens(int32_t *tok, int n, int vocab, uint32_t seed)
{
    for (int i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        tok[i] = (int32_t)((seed >> 8) % (uint32_t)vocab);
    }
}

/* ---- tests ------------------------------------------------------------------- */

#define DEPTH 12
#define NX 4
#define NY 5

typedef struct {
    engine_pool_t *pool;
    engine_ctx_t *ctx;
} run_t;

static run_t open_ctx(tiny_t *t)
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
    tiny_t *t = tiny_build(base_hp(arch), 11 + (uint64_t)arch);
    const int V = t->m.hp.n_vocab;
    int32_t d[DEPTH], x[NX], y[NY];
    make_tokens(d, DEPTH, V, 3);
    make_tokens(x, NX, V, 5);
    make_tokens(y, NY, V, 9);
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
     * d and x, equals the straight run */
    cr_assert_eq(engine_ctx_truncate(b.ctx, 6), MB_OK);
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
    tiny_free(t);
}

Test(engine_truncate, llama) { check_truncate(ENGINE_ARCH_LLAMA); }
Test(engine_truncate, phi3_sliding_window) { check_truncate(ENGINE_ARCH_PHI3); }
Test(engine_truncate, gemma3n_shared_kv) { check_truncate(ENGINE_ARCH_GEMMA3N); }

Test(engine_truncate, beyond_the_cache_is_rejected)
{
    tiny_t *t = tiny_build(base_hp(ENGINE_ARCH_QWEN3), 5);
    run_t r = open_ctx(t);
    int32_t d[DEPTH];
    make_tokens(d, DEPTH, t->m.hp.n_vocab, 3);
    cr_assert_eq(engine_ctx_truncate(r.ctx, 1), MB_EINVAL, "empty cache: nothing to keep");
    cr_assert_eq(engine_eval(r.ctx, d, DEPTH, NULL, false), MB_OK);
    cr_assert_eq(engine_ctx_truncate(r.ctx, DEPTH + 1), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "truncate"), "message: %s", mb_err_msg());
    cr_assert_eq(engine_ctx_truncate(r.ctx, -1), MB_EINVAL);
    cr_assert_eq(engine_ctx_pos(r.ctx), DEPTH, "a rejected truncation keeps the cache");
    cr_assert_eq(engine_ctx_truncate(r.ctx, 0), MB_OK);
    cr_assert_eq(engine_ctx_pos(r.ctx), 0);
    close_ctx(&r);
    tiny_free(t);
}
