/* quality.c: what a quant recipe costs in output quality, measured against
 * the F32 model it was made from, on sequences sampled from that F32 model
 * (no tokenizer or text needed). Per recipe: mean and p99 KL divergence of
 * the next-token distributions, top-1 agreement, perplexity ratio. */
#include "models.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- recipe -> quantized in-memory model ----------------------------------- */

typedef struct {
    engine_model_t m;
    void **blobs;
    int n_blobs;
} qmodel_t;

static void qmodel_free(engine_model_t *m)
{
    if (!m)
        return;
    qmodel_t *q = (qmodel_t *)m;
    engine_model_release(m);
    for (int i = 0; i < q->n_blobs; i++)
        free(q->blobs[i]);
    free(q->blobs);
    free(m->layers);
    free(q);
}

/* engine_model_prepare_drop callback: frees the blob a packed tensor was made from. */
static void qmodel_drop(void *arg, const engine_tensor_t *t)
{
    qmodel_t *q = arg;
    for (int i = 0; i < q->n_blobs; i++)
        if (q->blobs[i] == t->data) {
            free(q->blobs[i]);
            q->blobs[i] = NULL;
        }
}

typedef struct {
    const engine_type_traits_t *tr;
    const float *src;
    void *dst;
    int64_t rows, cols;
    size_t row_bytes;
    engine_counter_t counter;
} quant_task_t;

static void quant_task(void *arg, int ith, int nth)
{
    (void)ith;
    (void)nth;
    quant_task_t *q = arg;
    const int64_t chunk = 16;
    for (int64_t r = engine_counter_claim(&q->counter, chunk); r < q->rows;
         r = engine_counter_claim(&q->counter, chunk)) {
        int64_t n = MB_MIN(chunk, q->rows - r);
        q->tr->quantize(q->src + r * q->cols, (char *)q->dst + (size_t)r * q->row_bytes, n,
                        q->cols, NULL);
    }
}

int models_quantize_model(const models_spec_t *spec, const engine_model_t *f32,
                          const models_recipe_t *r, engine_pool_t *pool, engine_model_t **out)
{
    *out = NULL;
    models_tensor_info_t *ts = NULL;
    int n = 0;
    int rc = models_spec_tensors(spec, &ts, &n);
    if (rc)
        return rc;
    qmodel_t *q = calloc(1, sizeof *q);
    if (!q || !(q->blobs = calloc((size_t)n, sizeof *q->blobs)) ||
        !(q->m.layers = calloc((size_t)f32->hp.n_layer, sizeof *q->m.layers))) {
        rc = mb_err_set(MB_ENOMEM, "quality: out of memory");
        goto err;
    }
    q->m.hp = f32->hp;
    for (int i = 0; i < n; i++) {
        const models_tensor_info_t *t = &ts[i];
        const engine_tensor_t *src = models_model_slot((engine_model_t *)f32, t->name);
        engine_tensor_t *dst = models_model_slot(&q->m, t->name);
        if (!src || !dst || !src->data)
            continue;
        if (src->type != ENGINE_TYPE_F32) {
            rc = mb_err_set(MB_EINVAL, "quality: the source model must be F32 (%s is %s)",
                            t->name, engine_type_name(src->type));
            goto err;
        }
        models_recipe_tensor_t rt = {
            .name = t->name, .n_dims = (uint32_t)t->n_dims, .ne0 = t->ne[0],
            .layer = models_recipe_layer_of(t->name), .n_layer = spec->hp.n_layer,
            .n_gqa = spec->hp.n_head / spec->hp.n_head_kv, .has_output = !spec->hp.tied,
            .src_type = ENGINE_TYPE_F32,
        };
        engine_type_t type = models_recipe_tensor_type(r, &rt);
        const engine_type_traits_t *tr = engine_type_traits(type);
        size_t row = engine_row_size(type, src->ne[0]);
        if (!tr || !row || (type != ENGINE_TYPE_F32 && !tr->quantize)) {
            rc = mb_err_set(MB_EUNSUPPORTED, "quality: %s: no quantizer for %s",
                            t->name, engine_type_name(type));
            goto err;
        }
        size_t nbytes = row * (size_t)src->ne[1];
        void *data = malloc(nbytes);
        if (!data) {
            rc = mb_err_set(MB_ENOMEM, "quality: out of memory for %s", t->name);
            goto err;
        }
        q->blobs[q->n_blobs++] = data;
        if (type == ENGINE_TYPE_F32) {
            memcpy(data, src->data, nbytes);
        } else {
            quant_task_t task = {tr, src->data, data, src->ne[1], src->ne[0], row, {0}};
            engine_counter_reset(&task.counter, 0);
            engine_pool_run(pool, quant_task, &task);
        }
        *dst = *src;
        dst->type = type;
        dst->data = data;
        dst->nbytes = nbytes;
        dst->packed = NULL;
        dst->packed_layout = 0;
    }
    free(ts);
    ts = NULL;
    if ((rc = engine_model_prepare_drop(&q->m, qmodel_drop, q))) /* held once, as packed */
        goto err;
    *out = &q->m;
    return MB_OK;
err:
    free(ts);
    if (q)
        qmodel_free(&q->m);
    return rc;
}

void models_quantized_free(engine_model_t *m)
{
    qmodel_free(m);
}

/* ---- sampling and comparison -------------------------------------------------- */

static uint64_t mix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* log-softmax of a row into out */
static void log_softmax(const float *x, int n, double *out)
{
    double mx = -INFINITY;
    for (int i = 0; i < n; i++)
        mx = fmax(mx, x[i]);
    double z = 0;
    for (int i = 0; i < n; i++)
        z += exp(x[i] - mx);
    double lz = log(z) + mx;
    for (int i = 0; i < n; i++)
        out[i] = x[i] - lz;
}

int models_quality_run(const models_spec_t *spec, const engine_model_t *f32,
                       const models_recipe_t *const *recipes, int n_recipes,
                       const models_quality_opts_t *o, engine_pool_t *pool,
                       models_quality_t *out)
{
    const int V = f32->hp.n_vocab, L = o->seq_len, S = o->n_seq;
    if (L < 2 || S < 1 || L > 1 << 16)
        return mb_err_set(MB_EINVAL, "quality: need seq_len >= 2 and n_seq >= 1 (got %d, %d)", L,
                          S);
    int rc = MB_OK;
    int32_t *seqs = malloc((size_t)S * L * sizeof *seqs);
    float *ref = malloc((size_t)S * L * V * sizeof *ref); /* reference logits, all positions */
    float *lg = malloc((size_t)L * V * sizeof *lg);
    double *lp = malloc((size_t)V * sizeof *lp), *lq = malloc((size_t)V * sizeof *lq);
    double *klds = malloc((size_t)S * (L - 1) * sizeof *klds);
    engine_ctx_t *ctx = NULL;
    engine_model_t *qm = NULL;
    if (!seqs || !ref || !lg || !lp || !lq || !klds) {
        rc = mb_err_set(MB_ENOMEM, "quality: out of memory for %d x %d logits", S * L, V);
        goto done;
    }
    engine_ctx_params_t cp = {.n_ctx = L, .n_batch = MB_MIN(L, 512)};
    if ((rc = engine_ctx_create(f32, pool, &cp, &ctx)))
        goto done;
    /* sample each sequence from the reference model (temperature 1) */
    MB_INFO("quality: sampling %d x %d tokens from the reference model", S, L);
    uint64_t st = o->seed * 0xA24BAED4963EE407ull + 17;
    for (int s = 0; s < S; s++) {
        int32_t *seq = seqs + (size_t)s * L;
        engine_ctx_reset(ctx);
        seq[0] = (int32_t)(mix64(&st) % (uint64_t)V);
        for (int t = 1; t < L; t++) {
            if ((rc = engine_eval(ctx, seq + t - 1, 1, lg, false)))
                goto done;
            log_softmax(lg, V, lp);
            double u = (double)(mix64(&st) >> 11) / 9007199254740992.0, c = 0;
            int pick = V - 1;
            for (int i = 0; i < V; i++) {
                c += exp(lp[i]);
                if (u < c) {
                    pick = i;
                    break;
                }
            }
            seq[t] = pick;
        }
        /* reference logits at every position, from one prefill */
        engine_ctx_reset(ctx);
        if ((rc = engine_eval(ctx, seq, L, ref + (size_t)s * L * V, true)))
            goto done;
    }
    engine_ctx_destroy(ctx);
    ctx = NULL;

    for (int k = 0; k < n_recipes; k++) {
        models_quality_t *q = &out[k];
        memset(q, 0, sizeof *q);
        q->recipe = recipes[k]->name;
        MB_INFO("quality: %s: quantizing and comparing", q->recipe);
        if ((rc = models_quantize_model(spec, f32, recipes[k], pool, &qm)) ||
            (rc = engine_ctx_create(qm, pool, &cp, &ctx)))
            goto done;
        q->weight_bytes = engine_model_weight_bytes(qm);
        double nll_ref = 0, nll_q = 0, kl_sum = 0;
        int agree = 0, np = 0;
        for (int s = 0; s < S; s++) {
            const int32_t *seq = seqs + (size_t)s * L;
            engine_ctx_reset(ctx);
            if ((rc = engine_eval(ctx, seq, L, lg, true)))
                goto done;
            for (int t = 0; t + 1 < L; t++) {
                const float *rr = ref + ((size_t)s * L + t) * V, *qq = lg + (size_t)t * V;
                log_softmax(rr, V, lp);
                log_softmax(qq, V, lq);
                double kl = 0;
                int ar = 0, aq = 0;
                for (int i = 0; i < V; i++) {
                    kl += exp(lp[i]) * (lp[i] - lq[i]);
                    if (rr[i] > rr[ar])
                        ar = i;
                    if (qq[i] > qq[aq])
                        aq = i;
                }
                kl = fmax(kl, 0.0); /* rounding can give -1e-17 */
                klds[np++] = kl;
                kl_sum += kl;
                agree += ar == aq;
                nll_ref -= lp[seq[t + 1]];
                nll_q -= lq[seq[t + 1]];
            }
        }
        qsort(klds, (size_t)np, sizeof *klds, mb_cmp_double);
        q->n_positions = np;
        q->kld_mean = kl_sum / np;
        q->kld_p99 = klds[(size_t)MB_MIN(np - 1, (int)ceil(0.99 * np) - 1)];
        q->kld_max = klds[np - 1];
        q->top1 = (double)agree / np;
        q->ppl_ref = exp(nll_ref / np);
        q->ppl = exp(nll_q / np);
        q->ppl_ratio = q->ppl / q->ppl_ref;
        engine_ctx_destroy(ctx);
        ctx = NULL;
        qmodel_free(qm);
        qm = NULL;
    }
done:
    engine_ctx_destroy(ctx);
    qmodel_free(qm);
    free(seqs);
    free(ref);
    free(lg);
    free(lp);
    free(lq);
    free(klds);
    return rc;
}
