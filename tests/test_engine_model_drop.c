/* A prepared model whose original data was dropped (engine_model_prepare_drop)
 * computes bit-identical logits (prefill and decode, engine and reference
 * forward) for every repacked format, tied and untied; it is counted once;
 * rows read from the packed copy equal the original rows; and a re-bind to
 * another kernel variant is refused with a clear error, not a read of freed
 * memory. Without a variant that repacks (no AVX-512 here), the tests say so
 * and skip. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

typedef struct {
    engine_model_t m;
    void *blobs[128];
    int n_blobs;
    int n_dropped;
    uint64_t rng;
} qm_t;

static double rnd_n(qm_t *q)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        q->rng ^= q->rng << 13;
        q->rng ^= q->rng >> 7;
        q->rng ^= q->rng << 17;
        u[i] = ((q->rng >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
}

/* A [ne0, ne1] tensor: norms (ne1 = 1) F32 around 1, matrices of type. */
static void mk(qm_t *q, engine_tensor_t *dst, engine_type_t type, int64_t ne0, int64_t ne1,
               double s)
{
    size_t n = (size_t)(ne0 * ne1);
    float *f = malloc(n * sizeof *f);
    cr_assert(f);
    for (size_t i = 0; i < n; i++)
        f[i] = (float)(ne1 == 1 ? 1 + 0.1 * rnd_n(q) : s * rnd_n(q));
    if (ne1 == 1)
        type = ENGINE_TYPE_F32;
    void *data = f;
    size_t nbytes = n * sizeof *f;
    if (type != ENGINE_TYPE_F32) {
        nbytes = engine_row_size(type, ne0) * (size_t)ne1;
        data = malloc(nbytes);
        cr_assert(data);
        engine_type_traits(type)->quantize(f, data, ne1, ne0, NULL);
        free(f);
    }
    cr_assert_lt(q->n_blobs, 128);
    q->blobs[q->n_blobs++] = data;
    memset(dst, 0, sizeof *dst);
    dst->type = type;
    dst->ne[0] = ne0;
    dst->ne[1] = ne1;
    dst->ne[2] = dst->ne[3] = 1;
    dst->data = data;
    dst->nbytes = nbytes;
}

/* qwen3-like: every matrix of type (rows of 256 and 512: K-quant sized) */
static qm_t *build(engine_type_t type, bool tied)
{
    qm_t *q = calloc(1, sizeof *q);
    cr_assert(q);
    q->rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)type;
    engine_hparams_t *hp = &q->m.hp;
    hp->arch = ENGINE_ARCH_QWEN3;
    hp->n_vocab = 300; /* not a multiple of the 16-row tiles */
    hp->n_embd = 256;
    hp->n_layer = 2;
    hp->n_head = 4;
    hp->n_head_kv = 2;
    hp->head_dim = 64;
    hp->n_ff = 512;
    hp->n_ctx_train = 2048;
    hp->norm_eps = 1e-5f;
    hp->tied = tied;
    hp->rope_theta = 10000;
    hp->rope_mode = ENGINE_ROPE_NEOX;
    hp->qk_norm = true;
    const int64_t E = 256, D = 64, F = 512, V = 300, Hq = 256, Hk = 128;
    engine_model_t *m = &q->m;
    mk(q, &m->tok_embd, type, E, V, 0.2);
    mk(q, &m->output_norm, type, E, 1, 0);
    if (!tied)
        mk(q, &m->output, type, E, V, 0.06);
    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    cr_assert(m->layers);
    for (int il = 0; il < hp->n_layer; il++) {
        engine_layer_t *l = &m->layers[il];
        mk(q, &l->attn_norm, type, E, 1, 0);
        mk(q, &l->wq, type, E, Hq, 0.06);
        mk(q, &l->wk, type, E, Hk, 0.06);
        mk(q, &l->wv, type, E, Hk, 0.06);
        mk(q, &l->q_norm, type, D, 1, 0);
        mk(q, &l->k_norm, type, D, 1, 0);
        mk(q, &l->wo, type, Hq, E, 0.06);
        mk(q, &l->ffn_norm, type, E, 1, 0);
        mk(q, &l->w_gate, type, E, F, 0.06);
        mk(q, &l->w_up, type, E, F, 0.06);
        mk(q, &l->w_down, type, F, E, 0.04);
    }
    return q;
}

static void drop_blob(void *arg, const engine_tensor_t *t)
{
    qm_t *q = arg;
    for (int i = 0; i < q->n_blobs; i++)
        if (q->blobs[i] == t->data) {
            free(q->blobs[i]);
            q->blobs[i] = NULL;
            q->n_dropped++;
        }
}

static void qm_free(qm_t *q)
{
    engine_model_release(&q->m);
    for (int i = 0; i < q->n_blobs; i++)
        free(q->blobs[i]);
    free(q->m.layers);
    free(q);
}

static bool repacks(engine_type_t type)
{
    engine_kernels_init(NULL, NULL);
    qm_t *q = build(type, true);
    cr_assert_eq(engine_model_prepare(&q->m), MB_OK, "%s", mb_err_msg());
    bool packed = q->m.layers[0].wq.packed != NULL;
    qm_free(q);
    return packed;
}

#define NT 9

typedef struct {
    float prefill[NT * 300]; /* all positions */
    float decode[300];       /* the last token, decoded after NT-1 prefilled */
    float ref[NT * 300];
} outs_t;

static void run(engine_model_t *m, const int32_t *tok, outs_t *o)
{
    engine_ctx_params_t cp = {.n_ctx = 32, .n_batch = 0};
    engine_ctx_t *c;
    cr_assert_eq(engine_ctx_create(m, NULL, &cp, &c), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(engine_eval(c, tok, NT, o->prefill, true), MB_OK, "%s", mb_err_msg());
    engine_ctx_reset(c);
    cr_assert_eq(engine_eval(c, tok, NT - 1, NULL, false), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(engine_eval(c, tok + NT - 1, 1, o->decode, false), MB_OK, "%s", mb_err_msg());
    engine_ctx_destroy(c);
    cr_assert_eq(engine_ref_forward(m, tok, NT, true, o->ref), MB_OK, "%s", mb_err_msg());
}

static void check_format(engine_type_t type, bool tied)
{
    qm_t *a = build(type, tied), *b = build(type, tied);
    cr_assert_eq(engine_model_prepare(&a->m), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(engine_model_prepare_drop(&b->m, drop_blob, b), MB_OK, "%s", mb_err_msg());
    const char *tn = engine_type_name(type);

    /* every matrix was packed and dropped; the untied table kept its rows */
    cr_assert_eq(b->m.layers[0].wq.data, NULL, "%s", tn);
    cr_assert_not_null(b->m.layers[1].w_down.packed, "%s", tn);
    cr_assert_eq(b->m.layers[1].w_down.data, NULL, "%s", tn);
    if (tied) {
        cr_assert_eq(b->m.tok_embd.data, NULL, "%s: the tied table is read from its packed copy", tn);
    } else {
        cr_assert_eq(b->m.tok_embd.packed, NULL, "%s: an untied table is never multiplied", tn);
        cr_assert_not_null(b->m.tok_embd.data, "%s", tn);
        cr_assert_eq(b->m.output.data, NULL, "%s", tn);
    }
    cr_assert_eq(b->n_dropped, 7 * 2 + 1, "%s: %d dropped", tn, b->n_dropped);

    /* counted once: a holds data and packed copies, b the packed copies only */
    size_t dropped = 0;
    for (int il = 0; il < 2; il++) {
        const engine_layer_t *l = &a->m.layers[il];
        const engine_tensor_t *ts[] = {&l->wq, &l->wk, &l->wv, &l->wo, &l->w_gate, &l->w_up,
                                       &l->w_down};
        for (size_t i = 0; i < 7; i++)
            dropped += ts[i]->nbytes;
    }
    dropped += tied ? a->m.tok_embd.nbytes : a->m.output.nbytes;
    cr_assert_eq(engine_model_weight_bytes(&b->m), engine_model_weight_bytes(&a->m) - dropped,
                 "%s", tn);

    int32_t tok[NT];
    for (int i = 0; i < NT; i++)
        tok[i] = (int32_t)((i * 97 + 13) % 300);
    outs_t *oa = malloc(sizeof *oa), *ob = malloc(sizeof *ob);
    cr_assert(oa && ob);
    run(&a->m, tok, oa);
    run(&b->m, tok, ob);
    cr_assert_eq(memcmp(oa->prefill, ob->prefill, sizeof oa->prefill), 0, "%s prefill", tn);
    cr_assert_eq(memcmp(oa->decode, ob->decode, sizeof oa->decode), 0, "%s decode", tn);
    cr_assert_eq(memcmp(oa->ref, ob->ref, sizeof oa->ref), 0, "%s reference", tn);
    for (int i = 0; i < NT * 300; i++)
        cr_assert(isfinite(ob->prefill[i]));
    free(oa);
    free(ob);
    qm_free(a);
    qm_free(b);
}

static const engine_type_t packed_types[] = {ENGINE_TYPE_Q4_0, ENGINE_TYPE_Q8_0,
                                              ENGINE_TYPE_Q4_K, ENGINE_TYPE_Q6_K};

Test(model_drop, logits_bit_identical_tied_and_untied, .timeout = 60)
{
    for (size_t i = 0; i < MB_ARRAY_LEN(packed_types); i++) {
        if (!repacks(packed_types[i]))
            cr_skip("kernel variant %s does not repack %s: nothing is dropped",
                    engine_kernels_name(), engine_type_name(packed_types[i]));
        check_format(packed_types[i], true);
        check_format(packed_types[i], false);
    }
}

Test(model_drop, rows_from_packed_equal_rows_from_data)
{
    for (size_t i = 0; i < MB_ARRAY_LEN(packed_types); i++) {
        if (!repacks(packed_types[i]))
            cr_skip("kernel variant %s does not repack", engine_kernels_name());
        qm_t *q = build(packed_types[i], true);
        cr_assert_eq(engine_model_prepare(&q->m), MB_OK, "%s", mb_err_msg());
        engine_tensor_t t = q->m.tok_embd; /* 300 rows: the last tile is partial */
        cr_assert(!engine_tensor_data_needed(&t));
        const size_t n = 300 * 256;
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        cr_assert(x && y);
        cr_assert_eq(engine_tensor_rows_f32(&t, 0, 300, x), MB_OK, "%s", mb_err_msg());
        t.data = NULL;
        cr_assert_eq(engine_tensor_rows_f32(&t, 0, 300, y), MB_OK, "%s", mb_err_msg());
        cr_assert_eq(memcmp(x, y, n * sizeof *x), 0, "%s", engine_type_name(t.type));
        cr_assert_eq(engine_tensor_rows_f32(&t, 299, 1, y), MB_OK);
        cr_assert_eq(memcmp(x + 299 * 256, y, 256 * sizeof *y), 0);
        cr_assert_eq(engine_tensor_rows_f32(&t, 299, 2, y), MB_ERANGE);
        t.packed = NULL;
        cr_assert_eq(engine_tensor_rows_f32(&t, 0, 1, y), MB_EINVAL);
        free(x);
        free(y);
        qm_free(q);
    }
}

Test(model_drop, data_needed_without_packed_copy)
{
    engine_kernels_init(NULL, NULL);
    qm_t *q = build(ENGINE_TYPE_Q5_0, false); /* never repacked */
    cr_assert_eq(engine_model_prepare_drop(&q->m, drop_blob, q), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(q->n_dropped, 0);
    cr_assert(engine_tensor_data_needed(&q->m.layers[0].wq));
    cr_assert_not_null(q->m.layers[0].wq.data);
    cr_assert(engine_tensor_data_needed(NULL));
    qm_free(q);
}

Test(model_drop, rebind_after_drop_is_refused)
{
    if (!repacks(ENGINE_TYPE_Q4_0))
        cr_skip("kernel variant %s does not repack", engine_kernels_name());
    const char *best = engine_kernels_name();
    qm_t *q = build(ENGINE_TYPE_Q4_0, true);
    cr_assert_eq(engine_model_prepare_drop(&q->m, drop_blob, q), MB_OK, "%s", mb_err_msg());
    engine_ctx_params_t cp = {.n_ctx = 8, .n_batch = 0};
    engine_ctx_t *c;
    cr_assert_eq(engine_ctx_create(&q->m, NULL, &cp, &c), MB_OK, "%s", mb_err_msg());
    int32_t tok[2] = {5, 7};
    float *lg = malloc(300 * sizeof *lg);
    cr_assert(lg);
    cr_assert_eq(engine_kernels_init(NULL, "scalar"), MB_OK);
    cr_assert_eq(engine_eval(c, tok, 2, lg, false), MB_EUNSUPPORTED);
    cr_assert(strstr(mb_err_msg(), best) && strstr(mb_err_msg(), "before loading"), "%s",
              mb_err_msg());
    cr_assert_eq(engine_tensor_prepare(&q->m.layers[0].wq), MB_EUNSUPPORTED);
    /* the row reader and the reference do not depend on the binding */
    float *ref = malloc(2 * 300 * sizeof *ref);
    cr_assert(ref);
    cr_assert_eq(engine_ref_forward(&q->m, tok, 2, true, ref), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(engine_kernels_init(NULL, NULL), MB_OK);
    engine_ctx_reset(c);
    cr_assert_eq(engine_eval(c, tok, 2, lg, false), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(engine_tensor_prepare(&q->m.layers[0].wq), MB_OK, "%s", mb_err_msg());
    free(lg);
    free(ref);
    engine_ctx_destroy(c);
    qm_free(q);
}
