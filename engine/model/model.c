/* model.c: checks of an in-memory model against its hyperparameters, kernel
 * preparation of its matrices, and its weight bytes. */
#include "engine.h"

#include <string.h>

static int check_tensor(const engine_tensor_t *t, const char *what, int layer, int64_t ne0,
                        int64_t ne1)
{
    char where[32] = "";
    if (layer >= 0)
        snprintf(where, sizeof where, " of layer %d", layer);
    if (!t->data && !t->packed)
        return mb_err_set(MB_EINVAL, "model: tensor %s%s is missing; the loader must fill it",
                          what, where);
    const engine_type_traits_t *tr = engine_type_traits(t->type);
    if (!tr || !tr->to_float)
        return mb_err_set(MB_EUNSUPPORTED, "model: tensor %s%s has type %d, which the engine "
                          "cannot compute with", what, where, (int)t->type);
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] > 1 || t->ne[3] > 1)
        return mb_err_set(MB_ESHAPE, "model: tensor %s%s is [%lld, %lld], expected [%lld, %lld]",
                          what, where, (long long)t->ne[0], (long long)t->ne[1],
                          (long long)ne0, (long long)ne1);
    size_t row = engine_row_size(t->type, ne0);
    if (row == 0)
        return mb_err_set(MB_ESHAPE, "model: tensor %s%s: row of %lld does not fit type %s",
                          what, where, (long long)ne0, engine_type_name(t->type));
    if (t->data && t->nbytes < row * (size_t)ne1)
        return mb_err_set(MB_ESHAPE, "model: tensor %s%s holds %zu bytes, needs %zu", what,
                          where, t->nbytes, row * (size_t)ne1);
    return MB_OK;
}

#define CK(t, what, layer, a, b)                                                                  \
    do {                                                                                          \
        int rc_ = check_tensor(t, what, layer, a, b);                                             \
        if (rc_)                                                                                  \
            return rc_;                                                                           \
    } while (0)

int engine_model_validate(const engine_model_t *m)
{
    int rc = engine_hparams_validate(&m->hp);
    if (rc)
        return rc;
    const engine_hparams_t *hp = &m->hp;
    const int64_t E = hp->n_embd, D = hp->head_dim, F = hp->n_ff, V = hp->n_vocab;
    const int64_t Hq = (int64_t)hp->n_head * D, Hk = (int64_t)hp->n_head_kv * D;
    const int64_t P = hp->n_embd_per_layer;
    if (!m->layers)
        return mb_err_set(MB_EINVAL, "model: no layers");
    CK(&m->tok_embd, "token_embd", -1, E, V);
    CK(&m->output_norm, "output_norm", -1, E, 1);
    if (!hp->tied)
        CK(&m->output, "output", -1, E, V);
    if (m->rope_freqs.data)
        CK(&m->rope_freqs, "rope_freqs", -1, D / 2, 1);
    if (P > 0) {
        CK(&m->ple_embd, "per_layer_token_embd", -1, hp->n_layer * P, hp->n_vocab_per_layer);
        CK(&m->ple_model_proj, "per_layer_model_proj", -1, E, hp->n_layer * P);
        CK(&m->ple_proj_norm, "per_layer_proj_norm", -1, P, 1);
    }
    for (int il = 0; il < hp->n_layer; il++) {
        const engine_layer_t *l = &m->layers[il];
        bool own_kv = engine_layer_kv_source(hp, il) == il;
        CK(&l->attn_norm, "attn_norm", il, E, 1);
        if (hp->arch == ENGINE_ARCH_PHI3) {
            CK(&l->wqkv, "attn_qkv", il, E, Hq + 2 * Hk);
        } else {
            CK(&l->wq, "attn_q", il, E, Hq);
            if (own_kv) {
                CK(&l->wk, "attn_k", il, E, Hk);
                CK(&l->wv, "attn_v", il, E, Hk);
            }
        }
        if (hp->qk_norm) {
            CK(&l->q_norm, "attn_q_norm", il, D, 1);
            CK(&l->k_norm, "attn_k_norm", il, D, 1);
        }
        CK(&l->wo, "attn_output", il, Hq, E);
        CK(&l->ffn_norm, "ffn_norm", il, E, 1);
        if (hp->arch == ENGINE_ARCH_PHI3) {
            CK(&l->w_gate_up, "ffn_up (fused gate|up)", il, E, 2 * F);
        } else {
            CK(&l->w_gate, "ffn_gate", il, E, F);
            CK(&l->w_up, "ffn_up", il, E, F);
        }
        CK(&l->w_down, "ffn_down", il, F, E);
        if (hp->post_norms) {
            CK(&l->post_attn_norm, "post_attention_norm", il, E, 1);
            CK(&l->post_ffn_norm, "post_ffw_norm", il, E, 1);
        }
        if (hp->laurel_rank > 0) {
            CK(&l->laurel_l, "laurel_l", il, E, hp->laurel_rank);
            CK(&l->laurel_r, "laurel_r", il, hp->laurel_rank, E);
            CK(&l->laurel_norm, "laurel_post_norm", il, E, 1);
        }
        if (P > 0) {
            CK(&l->ple_gate, "inp_gate", il, E, P);
            CK(&l->ple_proj, "proj", il, P, E);
            CK(&l->ple_norm, "post_norm", il, E, 1);
        }
    }
    return MB_OK;
}

/* Calls fn on every tensor slot of the model (present or not). */
static void for_each(engine_model_t *m, void (*fn)(engine_tensor_t *, bool matrix, void *),
                     void *arg)
{
    fn(&m->tok_embd, m->hp.tied, arg); /* a matrix only as the tied output; else rows are gathered */
    fn(&m->output_norm, false, arg);
    fn(&m->output, true, arg);
    fn(&m->ple_embd, false, arg); /* rows are gathered, never multiplied */
    fn(&m->ple_model_proj, true, arg);
    fn(&m->ple_proj_norm, false, arg);
    fn(&m->rope_freqs, false, arg);
    for (int il = 0; m->layers && il < m->hp.n_layer; il++) {
        engine_layer_t *l = &m->layers[il];
        engine_tensor_t *mats[] = {&l->wq,     &l->wk,        &l->wv,       &l->wqkv,
                                   &l->wo,     &l->w_gate,    &l->w_up,     &l->w_gate_up,
                                   &l->w_down, &l->laurel_l,  &l->laurel_r, &l->ple_gate,
                                   &l->ple_proj};
        engine_tensor_t *vecs[] = {&l->attn_norm, &l->q_norm,        &l->k_norm,
                                   &l->post_attn_norm, &l->ffn_norm, &l->post_ffn_norm,
                                   &l->laurel_norm, &l->ple_norm};
        for (size_t i = 0; i < MB_ARRAY_LEN(mats); i++)
            fn(mats[i], true, arg);
        for (size_t i = 0; i < MB_ARRAY_LEN(vecs); i++)
            fn(vecs[i], false, arg);
    }
}

typedef struct {
    int rc;
    size_t bytes;
    void (*drop)(void *arg, const engine_tensor_t *t);
    void *arg;
} walk_t;

static void prepare_one(engine_tensor_t *t, bool matrix, void *arg)
{
    walk_t *w = arg;
    if (w->rc || !matrix || (!t->data && !t->packed))
        return;
    if ((w->rc = engine_tensor_prepare(t)))
        return;
    if (w->drop && t->data && !engine_tensor_data_needed(t)) {
        w->drop(w->arg, t);
        t->data = NULL;
    }
}

static void release_one(engine_tensor_t *t, bool matrix, void *arg)
{
    (void)matrix;
    (void)arg;
    if (t->packed)
        engine_tensor_release(t);
}

static void bytes_one(engine_tensor_t *t, bool matrix, void *arg)
{
    (void)matrix;
    walk_t *w = arg;
    if (t->data)
        w->bytes += t->nbytes;
    if (t->packed)
        w->bytes += engine_row_size(t->type, t->ne[0]) * (size_t)t->ne[1];
}

int engine_model_prepare(engine_model_t *m)
{
    return engine_model_prepare_drop(m, NULL, NULL);
}

int engine_model_prepare_drop(engine_model_t *m, void (*drop)(void *arg, const engine_tensor_t *t),
                              void *arg)
{
    int rc = engine_model_validate(m);
    if (rc)
        return rc;
    walk_t w = {0, 0, drop, arg};
    for_each(m, prepare_one, &w);
    return w.rc;
}

void engine_model_release(engine_model_t *m)
{
    if (m)
        for_each(m, release_one, NULL);
}

size_t engine_model_weight_bytes(const engine_model_t *m)
{
    walk_t w = {0, 0, NULL, NULL};
    for_each((engine_model_t *)m, bytes_one, &w);
    return w.bytes;
}

static void types_one(engine_tensor_t *t, bool matrix, void *arg)
{
    bool *used = arg;
    if (matrix && (t->data || t->packed) && (int)t->type >= 0 && (int)t->type < ENGINE_TYPE_COUNT)
        used[t->type] = true;
}

void engine_model_types(const engine_model_t *m, bool used[ENGINE_TYPE_COUNT])
{
    memset(used, 0, sizeof(bool) * ENGINE_TYPE_COUNT);
    if (m)
        for_each((engine_model_t *)m, types_one, used);
}
