/* tiny_model.c: tiny random F32 models for the engine's tests (every
 * architecture's named differences, at sizes a test runs in milliseconds). */
#include "helpers_engine/tiny_model.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double rnd_u(tiny_model_t *t)
{
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return ((t->rng >> 11) + 0.5) / 9007199254740992.0;
}

static double rnd_n(tiny_model_t *t)
{
    return sqrt(-2 * log(rnd_u(t))) * cos(2 * M_PI * rnd_u(t));
}

/* mode 0: gaussian std s; 1: 1 + s*gaussian (norm weights) */
static void mk(tiny_model_t *t, engine_tensor_t *dst, int64_t ne0, int64_t ne1, int mode, double s)
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

engine_hparams_t tiny_model_hparams(engine_arch_t arch)
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

tiny_model_t *tiny_model_build(engine_hparams_t hp, uint64_t seed)
{
    tiny_model_t *t = calloc(1, sizeof *t);
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

void tiny_model_free(tiny_model_t *t)
{
    engine_model_release(&t->m);
    for (int i = 0; i < t->n_blobs; i++)
        free(t->blobs[i]);
    free(t->m.layers);
    free(t);
}

void tiny_model_tokens(int32_t *tok, int n, int vocab, uint32_t seed)
{
    for (int i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        tok[i] = (int32_t)((seed >> 8) % (uint32_t)vocab);
    }
}

