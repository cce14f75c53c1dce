/* forward.c: the decoder forward pass over an in-memory model, one code path
 * for every family (named switches in engine_hparams_t). Prefill runs a batch
 * of tokens with causal attention; decode is a batch of one. The KV cache is
 * F16; all scratch is allocated once in engine_ctx_create.
 *
 * Per layer (T tokens, E = n_embd, x the residual stream [T][E]):
 *   xn  = rmsnorm(x) * attn_norm
 *   q,k,v = xn Wq, xn Wk, xn Wv          (phi3: one fused Wqkv)
 *   q,k = rmsnorm per head (qwen3, gemma3n); v = rmsnorm per head (gemma3n)
 *   q,k = rope(pos)                       (not on smollm3's NoPE layers)
 *   K,V cache[pos] = k,v (F16)            (not on gemma3n's KV-shared layers)
 *   o   = softmax(q K^T * scale, causal[, window]) V  Wo
 *   x  += post_norm(o)                    (gemma: sandwich norm; + LAuReL)
 *   xn  = rmsnorm(x) * ffn_norm
 *   x  += post_norm(act(xn Wg) * (xn Wu) Wd)
 *   x  += per-layer-embedding branch      (gemma3n)
 * then rmsnorm * output_norm, logits = xn Wout (soft-capped for gemma3n). */
#include "engine.h"
#include "../kernels/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Norm weights as F32 (converted once at context creation). */
typedef struct {
    const float *attn_norm, *q_norm, *k_norm, *post_attn_norm, *ffn_norm, *post_ffn_norm;
    const float *laurel_norm, *ple_norm;
} layer_vecs_t;

struct engine_ctx {
    const engine_model_t *m;
    engine_pool_t *pool;
    int n_ctx, n_batch, pos;
    int nth;

    /* KV cache: per layer [n_ctx][Hk] F16 (F32 if kv_f32), NULL for KV-shared layers */
    void **k_cache, **v_cache;
    int *kv_rows; /* per owned layer: n_ctx, or a ring for sliding-window layers */
    int pos_hi;   /* highest position written since the last reset (rings: see truncate) */
    bool kv_f32;
    bool split_always;
    size_t kv_bytes;

    layer_vecs_t *lv;
    const float *output_norm, *ple_proj_norm;
    float *vec_store; /* owned F32 copies of non-F32 norm vectors */

    /* RoPE as ggml computes it: angle_i = (pos * scale^i, by repeated float
     * products) / ff[i], scale = base^(-2/D), ff the frequency factors */
    float *inv_freq, *inv_freq_swa; /* [D/2] ff: llama3 factors or 1 */
    float rope_scale, rope_scale_swa;

    /* scratch, sized for n_batch tokens */
    float *x, *xn, *q, *k, *v, *att, *o, *ff, *lr, *lr2, *ple_in, *ple_tmp, *ple_row, *rope_cs, *rope_cs_swa;
    float *ffh; /* FFN hidden h [T][F]: over the gate rows, or its own rows for phi3 */
    float zcut; /* gemma3n sparsity cut of the current layer (standard normal quantile) */
    float *scores; /* [nth][n_ctx] */
    void *act;
    size_t act_size;
    size_t scratch_bytes;
};

/* ---- helpers ------------------------------------------------------------- */

static const float *vec_f32(engine_ctx_t *c, const engine_tensor_t *t, size_t *used)
{
    if (!t->data)
        return NULL;
    if (t->type == ENGINE_TYPE_F32)
        return t->data;
    float *dst = c->vec_store + *used;
    engine_type_traits(t->type)->to_float(t->data, dst, t->ne[0]);
    *used += (size_t)t->ne[0];
    return dst;
}

static void rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
    /* 16 float partial sums (one SIMD register; a single double chain is
     * latency-bound: ~2 us for 2048 values on the decode path), added in
     * double */
    float part[16] = {0};
    int i0 = 0;
    for (; i0 + 16 <= n; i0 += 16)
        for (int j = 0; j < 16; j++)
            part[j] += x[i0 + j] * x[i0 + j];
    double ss = 0;
    for (int j = 0; j < 16; j++)
        ss += part[j];
    for (int i = i0; i < n; i++)
        ss += (double)x[i] * x[i];
    float s = (float)(1.0 / sqrt(ss / n + eps));
    if (w)
        for (int i = 0; i < n; i++)
            out[i] = x[i] * s * w[i];
    else
        for (int i = 0; i < n; i++)
            out[i] = x[i] * s;
}

static float gelu_tanh(float x)
{
    const float c = 0.7978845608028654f; /* sqrt(2/pi) */
    return 0.5f * x * (1.0f + tanhf(c * (x + 0.044715f * x * x * x)));
}

/* Frequency factors (divisors of the angle): the tensor's, llama3's rule, or 1. */
static void rope_factors(const engine_hparams_t *hp, float theta, bool llama3,
                         const float *factors, float *out)
{
    int half = hp->head_dim / 2;
    for (int i = 0; i < half; i++) {
        double f = pow((double)theta, -2.0 * i / hp->head_dim), ff = 1;
        if (factors) {
            ff = factors[i];
        } else if (llama3) { /* as llama.cpp's converter writes rope_freqs.weight */
            double wavelen = 2.0 * M_PI / f;
            double lo = hp->rope_orig_ctx / hp->rope_low_freq;
            double hi = hp->rope_orig_ctx / hp->rope_high_freq;
            if (wavelen > lo) {
                ff = hp->rope_factor;
            } else if (wavelen >= hi) {
                double sm = (hp->rope_orig_ctx / wavelen - hp->rope_low_freq) /
                            (hp->rope_high_freq - hp->rope_low_freq);
                ff = 1 / ((1 - sm) / hp->rope_factor + sm);
            }
        }
        out[i] = (float)ff;
    }
}

/* Rotates one head in place; cs holds cos/sin pairs for this position. */
static void rope_head(float *x, const float *cs, int D, engine_rope_mode_t mode)
{
    int half = D / 2;
    for (int i = 0; i < half; i++) {
        float c = cs[2 * i], s = cs[2 * i + 1];
        int a = mode == ENGINE_ROPE_NEOX ? i : 2 * i;
        int b = mode == ENGINE_ROPE_NEOX ? i + half : 2 * i + 1;
        float x0 = x[a], x1 = x[b];
        x[a] = x0 * c - x1 * s;
        x[b] = x0 * s + x1 * c;
    }
}

#define SMALL_WORK (1 << 16) /* below this many values/products, no thread hand-off */

/* y[m][n] = x[m][k] W^T for every weight in ws that reads the same x; the
 * activation is converted once per distinct vec_dot_type. */
static int matmul_group(engine_ctx_t *c, const float *x, int64_t k, int64_t m, int nw,
                        const engine_tensor_t *const *ws, float *const *ys)
{
    for (int i = 0; i < nw;) {
        /* the run of matrices that share this activation format: one
         * conversion and one pool run for all of them */
        const engine_type_t vdt = engine_type_traits(ws[i]->type)->vec_dot_type;
        int n = 1;
        while (i + n < nw && engine_type_traits(ws[i + n]->type)->vec_dot_type == vdt)
            n++;
        /* small conversions (decode) run on the caller: waking the pool
         * costs more than converting a few thousand values */
        engine_pool_t *p = k * m >= SMALL_WORK ? c->pool : NULL;
        int rc = engine_act_quantize(p, ws[i]->type, x, k, m, c->act);
        if (!rc)
            rc = engine_matmul_group(c->pool, n, ws + i, c->act, m, ys + i);
        if (rc)
            return rc;
        i += n;
    }
    return MB_OK;
}

static int matmul1(engine_ctx_t *c, const engine_tensor_t *w, const float *x, int64_t m, float *y)
{
    return matmul_group(c, x, w->ne[0], m, 1, &w, &y);
}

/* ---- attention, split over (token, head) across the pool ----------------- */

typedef struct {
    engine_ctx_t *c;
    int T, pos0, kv_layer;
    bool swa;
    float scale;
    engine_counter_t counter;
} attn_task_t;

static void attn_task(void *arg, int ith, int nth)
{
    (void)nth;
    attn_task_t *a = arg;
    engine_ctx_t *c = a->c;
    const engine_hparams_t *hp = &c->m->hp;
    const int D = hp->head_dim, H = hp->n_head, HK = hp->n_head_kv, Hk = HK * D;
    const int G = H / HK; /* query heads per KV head */
    const kern_ops_t *ops = kern_ops();
    const engine_f16_t *K = c->k_cache[a->kv_layer], *V = c->v_cache[a->kv_layer];
    const float *K32 = c->k_cache[a->kv_layer], *V32 = c->v_cache[a->kv_layer];
    float *sc = c->scores + (size_t)ith * (size_t)G * (size_t)c->n_ctx;
    /* one work item: a token's G query heads over their shared KV head */
    const int64_t total = (int64_t)a->T * HK;
    for (int64_t w = engine_counter_claim(&a->counter, 1); w < total;
         w = engine_counter_claim(&a->counter, 1)) {
        const int t = (int)(w / HK), g = (int)(w % HK);
        const int p = a->pos0 + t;
        const int j0 = a->swa ? MB_MAX(0, p - hp->swa_window + 1) : 0, n = p - j0 + 1;
        const int R = c->kv_rows[a->kv_layer], s0 = j0 % R; /* position j is row j mod R */
        const size_t kv0 = (size_t)g * D;
        const float *q = c->q + (size_t)t * H * D + (size_t)g * G * D;
        float *out = c->att + (size_t)t * H * D + (size_t)g * G * D;
        if (!c->kv_f32) {
            ops->attn_f16(D, G, n, q, D, K + kv0, V + kv0, Hk, R, s0, a->scale, sc, out, D);
            continue;
        }
        for (int h = 0; h < G; h++) { /* F32 cache (reference runs): plain C */
            const float *qh = q + (size_t)h * D;
            float mx = -INFINITY;
            for (int j = 0; j < n; j++) {
                const float *k = K32 + kv0 + kern_ring_row(R, s0, j) * Hk;
                float s = 0;
                for (int d = 0; d < D; d++)
                    s += qh[d] * k[d];
                sc[j] = s * a->scale;
                mx = sc[j] > mx ? sc[j] : mx;
            }
            float sum = 0;
            for (int j = 0; j < n; j++) {
                sc[j] = expf(sc[j] - mx);
                sum += sc[j];
            }
            const float inv = 1.0f / sum;
            float *o = out + (size_t)h * D;
            memset(o, 0, (size_t)D * sizeof *o);
            for (int j = 0; j < n; j++) {
                const float *v = V32 + kv0 + kern_ring_row(R, s0, j) * Hk, pj = sc[j] * inv;
                for (int d = 0; d < D; d++)
                    o[d] += pj * v[d];
            }
        }
    }
}

/* ---- context --------------------------------------------------------------- */

static size_t act_need(const engine_tensor_t *t, int64_t m)
{
    return t->data || t->packed ? engine_act_bytes(t->type, t->ne[0], m) : 0;
}

int engine_ctx_create(const engine_model_t *m, engine_pool_t *pool,
                      const engine_ctx_params_t *params, engine_ctx_t **out)
{
    *out = NULL;
    int rc = engine_model_validate(m);
    if (rc)
        return rc;
    if (!params || params->n_ctx <= 0 || params->n_ctx > (1 << 20) || params->n_batch < 0)
        return mb_err_set(MB_EINVAL, "context: n_ctx must be 1..2^20 and n_batch >= 0 (got %d, %d)",
                          params ? params->n_ctx : 0, params ? params->n_batch : 0);
    const engine_hparams_t *hp = &m->hp;
    engine_ctx_t *c = calloc(1, sizeof *c);
    if (!c)
        return mb_err_set(MB_ENOMEM, "context: out of memory");
    c->m = m;
    c->pool = pool;
    c->n_ctx = params->n_ctx;
    c->n_batch = MB_MIN(params->n_batch ? params->n_batch : 512, params->n_ctx);
    c->nth = engine_pool_threads(pool);
    c->kv_f32 = params->kv_f32;
    c->split_always = params->split_always;
    const size_t kv_elt = c->kv_f32 ? sizeof(float) : sizeof(engine_f16_t);
    const size_t T = (size_t)c->n_batch, E = (size_t)hp->n_embd, D = (size_t)hp->head_dim;
    const size_t Hq = (size_t)hp->n_head * D, Hk = (size_t)hp->n_head_kv * D;
    const size_t F = (size_t)hp->n_ff, L = (size_t)hp->n_layer, P = (size_t)hp->n_embd_per_layer;
    const size_t R = (size_t)hp->laurel_rank;

    c->k_cache = calloc(L, sizeof *c->k_cache);
    c->v_cache = calloc(L, sizeof *c->v_cache);
    c->kv_rows = calloc(L, sizeof *c->kv_rows);
    c->lv = calloc(L, sizeof *c->lv);
    if (!c->k_cache || !c->v_cache || !c->kv_rows || !c->lv)
        goto nomem;
    for (int il = 0; il < hp->n_layer; il++) {
        if (engine_layer_kv_source(hp, il) != il)
            continue;
        c->kv_rows[il] = engine_kv_rows(hp, il, c->n_ctx, c->n_batch);
        size_t n = (size_t)c->kv_rows[il] * Hk;
        c->k_cache[il] = malloc(n * kv_elt);
        c->v_cache[il] = malloc(n * kv_elt);
        if (!c->k_cache[il] || !c->v_cache[il])
            goto nomem;
        c->kv_bytes += 2 * n * kv_elt;
    }

    /* norm vectors as F32 */
    size_t nvec = E + P + L * (6 * E + 2 * D);
    c->vec_store = malloc(nvec * sizeof(float));
    if (!c->vec_store)
        goto nomem;
    size_t used = 0;
    c->output_norm = vec_f32(c, &m->output_norm, &used);
    c->ple_proj_norm = vec_f32(c, &m->ple_proj_norm, &used);
    for (int il = 0; il < hp->n_layer; il++) {
        const engine_layer_t *l = &m->layers[il];
        layer_vecs_t *v = &c->lv[il];
        v->attn_norm = vec_f32(c, &l->attn_norm, &used);
        v->q_norm = vec_f32(c, &l->q_norm, &used);
        v->k_norm = vec_f32(c, &l->k_norm, &used);
        v->post_attn_norm = vec_f32(c, &l->post_attn_norm, &used);
        v->ffn_norm = vec_f32(c, &l->ffn_norm, &used);
        v->post_ffn_norm = vec_f32(c, &l->post_ffn_norm, &used);
        v->laurel_norm = vec_f32(c, &l->laurel_norm, &used);
        v->ple_norm = vec_f32(c, &l->ple_norm, &used);
    }

    c->inv_freq = malloc(D / 2 * sizeof(float));
    c->inv_freq_swa = malloc(D / 2 * sizeof(float));
    if (!c->inv_freq || !c->inv_freq_swa)
        goto nomem;
    float *factors = NULL;
    if (m->rope_freqs.data) {
        if (!(factors = malloc(D / 2 * sizeof(float))))
            goto nomem;
        engine_type_traits(m->rope_freqs.type)->to_float(m->rope_freqs.data, factors,
                                                          (int64_t)D / 2);
    }
    const float theta_swa = hp->rope_theta_swa > 0 ? hp->rope_theta_swa : hp->rope_theta;
    rope_factors(hp, hp->rope_theta, hp->rope_llama3, factors, c->inv_freq);
    rope_factors(hp, theta_swa, false, NULL, c->inv_freq_swa);
    c->rope_scale = powf(hp->rope_theta, -2.0f / (float)hp->head_dim);
    c->rope_scale_swa = powf(theta_swa, -2.0f / (float)hp->head_dim);
    free(factors);

    /* scratch */
    struct {
        float **p;
        size_t n;
    } bufs[] = {
        {&c->x, T * E},       {&c->xn, T * E},
        {&c->q, T * (Hq + 2 * Hk)}, /* also the fused qkv output */
        {&c->k, T * Hk},      {&c->v, T * Hk},
        {&c->att, T * Hq},    {&c->o, T * E},
        {&c->ff, T * 2 * F},  {&c->lr, T * (R ? R : 1)},
        /* phi3's fused gate|up rows are 2F apart: h of token t would land on
         * token t/2's inputs, which another thread may not have read yet */
        {&c->ffh, hp->arch == ENGINE_ARCH_PHI3 ? T * F : 1},
        {&c->lr2, T * E},     {&c->ple_in, T * (P ? L * P : 1)},
        {&c->ple_tmp, T * (P ? P : 1)}, {&c->ple_row, P ? L * P : 1}, {&c->rope_cs, T * D}, {&c->rope_cs_swa, T * D},
        {&c->scores, (size_t)c->nth * (size_t)(hp->n_head / hp->n_head_kv) * (size_t)c->n_ctx},
    };
    for (size_t i = 0; i < MB_ARRAY_LEN(bufs); i++) {
        *bufs[i].p = malloc(bufs[i].n * sizeof(float));
        if (!*bufs[i].p)
            goto nomem;
        c->scratch_bytes += bufs[i].n * sizeof(float);
    }
    size_t act = 0;
    const engine_tensor_t *out_w = hp->tied ? &m->tok_embd : &m->output;
    act = MB_MAX(act, act_need(out_w, (int64_t)T));
    act = MB_MAX(act, act_need(&m->ple_model_proj, (int64_t)T));
    for (int il = 0; il < hp->n_layer; il++) {
        const engine_layer_t *l = &m->layers[il];
        const engine_tensor_t *ts[] = {&l->wq, &l->wk, &l->wv, &l->wqkv, &l->wo, &l->w_gate,
                                       &l->w_up, &l->w_gate_up, &l->w_down, &l->laurel_l,
                                       &l->laurel_r, &l->ple_gate, &l->ple_proj};
        for (size_t i = 0; i < MB_ARRAY_LEN(ts); i++)
            act = MB_MAX(act, act_need(ts[i], (int64_t)T));
    }
    c->act_size = act;
    c->act = aligned_alloc(MB_CACHE_LINE, (act + MB_CACHE_LINE - 1) / MB_CACHE_LINE * MB_CACHE_LINE);
    if (!c->act)
        goto nomem;
    c->scratch_bytes += act + nvec * sizeof(float) + D * sizeof(float);
    *out = c;
    return MB_OK;
nomem:
    engine_ctx_destroy(c);
    return mb_err_set(MB_ENOMEM, "context: out of memory for n_ctx %d, n_batch %d "
                      "(KV cache and scratch); use a shorter context", params->n_ctx,
                      params->n_batch);
}

void engine_ctx_destroy(engine_ctx_t *c)
{
    if (!c)
        return;
    for (int il = 0; c->k_cache && il < c->m->hp.n_layer; il++) {
        free(c->k_cache[il]);
        free(c->v_cache[il]);
    }
    free(c->k_cache);
    free(c->v_cache);
    free(c->kv_rows);
    free(c->lv);
    free(c->vec_store);
    free(c->inv_freq);
    free(c->inv_freq_swa);
    float *bufs[] = {c->x,  c->xn, c->q,  c->k,      c->v,      c->att,     c->o,
                     c->ff, c->ffh, c->lr, c->lr2, c->ple_in, c->ple_tmp, c->ple_row, c->rope_cs, c->rope_cs_swa, c->scores};
    for (size_t i = 0; i < MB_ARRAY_LEN(bufs); i++)
        free(bufs[i]);
    free(c->act);
    free(c);
}

void engine_ctx_reset(engine_ctx_t *c)
{
    c->pos = 0;
    c->pos_hi = 0;
}

int engine_ctx_pos(const engine_ctx_t *c)
{
    return c->pos;
}

/* The cache is indexed by position and nothing else depends on later ones:
 * moving pos back is the whole truncation, as long as every sliding-window
 * ring still holds the window before n_pos (rows of positions up to pos_hi
 * have overwritten those R positions earlier). */
int engine_ctx_truncate(engine_ctx_t *c, int n_pos)
{
    if (n_pos < 0 || n_pos > c->pos)
        return mb_err_set(MB_EINVAL, "truncate: cannot keep %d positions of a cache holding %d; "
                          "expected 0..%d", n_pos, c->pos, c->pos);
    const engine_hparams_t *hp = &c->m->hp;
    for (int il = 0; il < hp->n_layer; il++) {
        const int R = c->kv_rows[il];
        if (!R || R >= c->n_ctx || !engine_layer_is_swa(hp, il))
            continue;
        /* intact positions: [pos_hi - R, pos_hi); needed: [n_pos - window + 1, n_pos) */
        if (n_pos - hp->swa_window + 1 < c->pos_hi - R && n_pos > 0)
            return mb_err_set(MB_EUNSUPPORTED, "truncate: layer %d's sliding-window ring (%d rows) no "
                              "longer holds the %d positions before %d (positions up to %d "
                              "were written since); truncate by at most %d positions, or reset",
                              il, R, hp->swa_window, n_pos, c->pos_hi,
                              R - hp->swa_window + 1);
    }
    c->pos = n_pos;
    return MB_OK;
}

engine_mem_t engine_ctx_memory(const engine_ctx_t *c)
{
    engine_mem_t mem = {engine_model_weight_bytes(c->m), c->kv_bytes, c->scratch_bytes};
    return mem;
}

/* ---- one batch --------------------------------------------------------------- */

static int embed(engine_ctx_t *c, const int32_t *tokens, int T)
{
    const engine_model_t *m = c->m;
    const engine_hparams_t *hp = &m->hp;
    const int E = hp->n_embd;
    float scale = hp->embd_scale > 0 ? hp->embd_scale : 1.0f;
    for (int t = 0; t < T; t++) {
        float *x = c->x + (size_t)t * E;
        /* from the packed copy when the tied table's data was dropped */
        int rc = engine_tensor_rows_f32(&m->tok_embd, tokens[t], 1, x);
        if (rc)
            return rc;
        if (scale != 1.0f)
            for (int i = 0; i < E; i++)
                x[i] *= scale;
    }
    if (hp->n_embd_per_layer <= 0)
        return MB_OK;
    /* per-layer inputs: (rmsnorm(x W_ple / sqrt(E)) + table[token] * sqrt(P)) / sqrt(2) */
    const int P = hp->n_embd_per_layer, LP = hp->n_layer * P;
    int rc = matmul1(c, &m->ple_model_proj, c->x, T, c->ple_in);
    if (rc)
        return rc;
    const engine_type_traits_t *ptr = engine_type_traits(m->ple_embd.type);
    size_t prow = engine_row_size(m->ple_embd.type, LP);
    const float in_scale = 1.0f / sqrtf((float)E), tab_scale = sqrtf((float)P);
    const float mix = 1.0f / sqrtf(2.0f);
    float *tab = c->ple_row;
    for (int t = 0; t < T; t++) {
        float *pl = c->ple_in + (size_t)t * LP;
        int32_t tok = tokens[t] < hp->n_vocab_per_layer ? tokens[t] : 0;
        ptr->to_float((const char *)m->ple_embd.data + (size_t)tok * prow, tab, LP);
        for (int il = 0; il < hp->n_layer; il++) {
            float *s = pl + (size_t)il * P;
            for (int i = 0; i < P; i++)
                s[i] *= in_scale;
            rmsnorm(s, s, c->ple_proj_norm, P, hp->norm_eps);
            for (int i = 0; i < P; i++)
                s[i] = (s[i] + tab[(size_t)il * P + i] * tab_scale) * mix;
        }
    }
    return MB_OK;
}

/* ---- per-token work, split over the pool in prefill --------------------------- */

/* A phase of a layer that is independent per token: fn(c, il, t0, t1). */
typedef void (*rows_fn)(engine_ctx_t *c, int il, int t0, int t1);

typedef struct {
    engine_ctx_t *c;
    int il, T;
    rows_fn fn;
    engine_counter_t counter;
} rows_task_t;

#define ROWS_CHUNK 8 /* tokens per claim */

static void rows_task(void *arg, int ith, int nth)
{
    (void)ith;
    (void)nth;
    rows_task_t *r = arg;
    for (int64_t t0 = engine_counter_claim(&r->counter, ROWS_CHUNK); t0 < r->T;
         t0 = engine_counter_claim(&r->counter, ROWS_CHUNK))
        r->fn(r->c, r->il, (int)t0, (int)MB_MIN(t0 + ROWS_CHUNK, r->T));
}

/* Decode (one token) and short batches run on the caller: the hand-off
 * would cost more than the work. */
static void rows_run(engine_ctx_t *c, int il, int T, int64_t per_token, rows_fn fn)
{
    if (!c->split_always && (T < 2 * ROWS_CHUNK || (int64_t)T * per_token < SMALL_WORK)) {
        fn(c, il, 0, T);
        return;
    }
    rows_task_t r = {.c = c, .il = il, .T = T, .fn = fn};
    engine_counter_reset(&r.counter, 0);
    engine_pool_run_claimed(c->pool, rows_task, &r);
}

static void ph_attn_norm(engine_ctx_t *c, int il, int t0, int t1)
{
    const engine_hparams_t *hp = &c->m->hp;
    const size_t E = (size_t)hp->n_embd;
    for (int t = t0; t < t1; t++)
        rmsnorm(c->xn + t * E, c->x + t * E, c->lv[il].attn_norm, (int)E, hp->norm_eps);
}

/* phi3's fused q|k|v rows [T][Hq + 2Hk] -> k and v; q is compacted after */
static void ph_split_qkv(engine_ctx_t *c, int il, int t0, int t1)
{
    (void)il;
    const engine_hparams_t *hp = &c->m->hp;
    const size_t Hq = (size_t)hp->n_head * hp->head_dim, Hk = (size_t)hp->n_head_kv * hp->head_dim;
    for (int t = t0; t < t1; t++) {
        const float *r = c->q + t * (Hq + 2 * Hk);
        memcpy(c->k + t * Hk, r + Hq, Hk * sizeof(float));
        memcpy(c->v + t * Hk, r + Hq + Hk, Hk * sizeof(float));
    }
}

/* q/k norms, RoPE, and the new K/V rows into the cache */
static void ph_qk(engine_ctx_t *c, int il, int t0, int t1)
{
    const engine_hparams_t *hp = &c->m->hp;
    const layer_vecs_t *lv = &c->lv[il];
    const int D = hp->head_dim, H = hp->n_head, HK = hp->n_head_kv, Hq = H * D, Hk = HK * D;
    const float eps = hp->norm_eps;
    const bool own_kv = engine_layer_kv_source(hp, il) == il;
    const bool rope = engine_layer_has_rope(hp, il);
    const float *cs_all = engine_layer_is_swa(hp, il) ? c->rope_cs_swa : c->rope_cs;
    for (int t = t0; t < t1; t++) {
        float *q = c->q + (size_t)t * Hq, *k = c->k + (size_t)t * Hk, *v = c->v + (size_t)t * Hk;
        if (hp->qk_norm) {
            for (int h = 0; h < H; h++)
                rmsnorm(q + h * D, q + h * D, lv->q_norm, D, eps);
            for (int h = 0; h < HK && own_kv; h++)
                rmsnorm(k + h * D, k + h * D, lv->k_norm, D, eps);
        }
        if (hp->v_norm && own_kv)
            for (int h = 0; h < HK; h++)
                rmsnorm(v + h * D, v + h * D, NULL, D, eps);
        if (rope) {
            const float *cs = cs_all + (size_t)t * D;
            for (int h = 0; h < H; h++)
                rope_head(q + h * D, cs, D, hp->rope_mode);
            for (int h = 0; h < HK && own_kv; h++)
                rope_head(k + h * D, cs, D, hp->rope_mode);
        }
        const size_t row = own_kv ? (size_t)((c->pos + t) % c->kv_rows[il]) : 0;
        if (own_kv && c->kv_f32) {
            size_t off = row * Hk;
            memcpy((float *)c->k_cache[il] + off, k, (size_t)Hk * sizeof(float));
            memcpy((float *)c->v_cache[il] + off, v, (size_t)Hk * sizeof(float));
        } else if (own_kv) {
            /* F16 rows through the bound variant's converter (F16C on x86) */
            engine_f16_t *kc = (engine_f16_t *)c->k_cache[il] + row * Hk;
            engine_f16_t *vc = (engine_f16_t *)c->v_cache[il] + row * Hk;
            engine_act_quantize(NULL, ENGINE_TYPE_F16, k, Hk, 1, kc);
            engine_act_quantize(NULL, ENGINE_TYPE_F16, v, Hk, 1, vc);
        }
    }
}

/* x += post_norm(o) (+ LAuReL mix), then xn = ffn_norm(x) */
static void ph_attn_out(engine_ctx_t *c, int il, int t0, int t1)
{
    const engine_hparams_t *hp = &c->m->hp;
    const layer_vecs_t *lv = &c->lv[il];
    const int E = hp->n_embd;
    const float eps = hp->norm_eps, mix = 1.0f / sqrtf(2.0f);
    for (int t = t0; t < t1; t++) {
        float *o = c->o + (size_t)t * E, *x = c->x + (size_t)t * E;
        if (hp->laurel_rank > 0) {
            /* LAuReL: lr2 = xn + rmsnorm(xn L R) * w, from the attention input */
            float *r = c->lr2 + (size_t)t * E;
            rmsnorm(r, r, lv->laurel_norm, E, eps);
            for (int i = 0; i < E; i++)
                r[i] += c->xn[(size_t)t * E + i];
        }
        if (hp->post_norms)
            rmsnorm(o, o, lv->post_attn_norm, E, eps);
        for (int i = 0; i < E; i++)
            x[i] += o[i];
        if (hp->laurel_rank > 0)
            for (int i = 0; i < E; i++)
                x[i] = (x[i] + c->lr2[(size_t)t * E + i]) * mix;
        rmsnorm(c->xn + (size_t)t * E, x, lv->ffn_norm, E, eps);
    }
}

/* h = act(gate) * up, written over the gate rows (gemma3n's first layers
 * first keep only the gate values above a per-token Gaussian quantile) */
static void ph_gate(engine_ctx_t *c, int il, int t0, int t1)
{
    const engine_hparams_t *hp = &c->m->hp;
    const int F = hp->n_ff;
    const bool phi3 = hp->arch == ENGINE_ARCH_PHI3;
    const size_t gstride = phi3 ? 2 * (size_t)F : (size_t)F, ustride = gstride;
    float *gate = c->ff, *up = phi3 ? c->ff + F : c->ff + (size_t)c->n_batch * F;
    const bool sparse = il < hp->n_layer_sparse;
    const kern_ops_t *ops = kern_ops();
    for (int t = t0; t < t1; t++) {
        float *g = gate + (size_t)t * gstride, *u = up + (size_t)t * ustride;
        float *h = (phi3 ? c->ffh : c->ff) + (size_t)t * F; /* phi3: own rows; else g's row */
        if (sparse) {
            double mean = 0, var = 0;
            for (int i = 0; i < F; i++)
                mean += g[i];
            mean /= F;
            for (int i = 0; i < F; i++)
                var += (g[i] - mean) * (g[i] - mean);
            float cut = (float)(mean + sqrt(var / F) * c->zcut);
            for (int i = 0; i < F; i++)
                g[i] = g[i] > cut ? g[i] - cut : 0.0f;
        }
        if (hp->ffn_act == ENGINE_FFN_GELU_TANH)
            ops->gelu_mul(F, h, g, u);
        else
            ops->silu_mul(F, h, g, u);
    }
}

/* x += post_norm(o) */
static void ph_ffn_out(engine_ctx_t *c, int il, int t0, int t1)
{
    const engine_hparams_t *hp = &c->m->hp;
    const int E = hp->n_embd;
    for (int t = t0; t < t1; t++) {
        float *o = c->o + (size_t)t * E, *x = c->x + (size_t)t * E;
        if (hp->post_norms)
            rmsnorm(o, o, c->lv[il].post_ffn_norm, E, hp->norm_eps);
        for (int i = 0; i < E; i++)
            x[i] += o[i];
    }
}

static int layer_forward(engine_ctx_t *c, int il, int T)
{
    const engine_model_t *m = c->m;
    const engine_hparams_t *hp = &m->hp;
    const engine_layer_t *l = &m->layers[il];
    const layer_vecs_t *lv = &c->lv[il];
    const int E = hp->n_embd, D = hp->head_dim, H = hp->n_head, HK = hp->n_head_kv;
    const int Hq = H * D, Hk = HK * D, F = hp->n_ff;
    const float eps = hp->norm_eps;
    const int kv_layer = engine_layer_kv_source(hp, il);
    const bool own_kv = kv_layer == il;
    int rc;

    rows_run(c, il, T, E, ph_attn_norm);

    /* q, k, v */
    if (hp->arch == ENGINE_ARCH_PHI3) {
        float *qkv = c->q; /* [T][Hq+2Hk], then split in place: q first */
        if ((rc = matmul1(c, &l->wqkv, c->xn, T, qkv)))
            return rc;
        rows_run(c, il, T, 2 * Hk, ph_split_qkv);
        for (int t = 0; t < T; t++) /* compact q rows: row t moves down, never overlapping ahead */
            memmove(c->q + (size_t)t * Hq, qkv + (size_t)t * (Hq + 2 * Hk),
                    (size_t)Hq * sizeof(float));
    } else {
        const engine_tensor_t *ws[3] = {&l->wq, &l->wk, &l->wv};
        float *ys[3] = {c->q, c->k, c->v};
        if ((rc = matmul_group(c, c->xn, E, T, own_kv ? 3 : 1, ws, ys)))
            return rc;
    }
    rows_run(c, il, T, 4 * (Hq + 2 * Hk), ph_qk);

    attn_task_t at = {.c = c, .T = T, .pos0 = c->pos, .kv_layer = kv_layer,
                      .swa = engine_layer_is_swa(hp, il),
                      .scale = hp->attn_scale > 0 ? hp->attn_scale : 1.0f / sqrtf((float)D)};
    engine_counter_reset(&at.counter, 0);
    /* short contexts: the attention is smaller than a thread hand-off */
    int64_t attn_work = (int64_t)T * H * (c->pos + T) * D;
    engine_pool_run_claimed(attn_work >= SMALL_WORK || c->split_always ? c->pool : NULL,
                            attn_task, &at);

    if ((rc = matmul1(c, &l->wo, c->att, T, c->o)))
        return rc;
    if (hp->laurel_rank > 0) {
        /* LAuReL's low-rank pair, from the attention input xn */
        if ((rc = matmul1(c, &l->laurel_l, c->xn, T, c->lr)) ||
            (rc = matmul1(c, &l->laurel_r, c->lr, T, c->lr2)))
            return rc;
    }
    rows_run(c, il, T, 4 * E, ph_attn_out);

    /* FFN: gate and up share the quantized xn; h is written over the gate rows */
    if (hp->arch == ENGINE_ARCH_PHI3) {
        if ((rc = matmul1(c, &l->w_gate_up, c->xn, T, c->ff)))
            return rc;
    } else {
        const engine_tensor_t *ws[2] = {&l->w_gate, &l->w_up};
        float *ys[2] = {c->ff, c->ff + (size_t)c->n_batch * F};
        if ((rc = matmul_group(c, c->xn, E, T, 2, ws, ys)))
            return rc;
    }
    if (il < hp->n_layer_sparse) {
        /* standard normal quantile of act_sparsity (Acklam-free: bisection on erf) */
        double lo = -10, hi = 10;
        for (int it = 0; it < 100; it++) {
            double mid = 0.5 * (lo + hi);
            if (0.5 * erfc(-mid / sqrt(2.0)) < hp->act_sparsity)
                lo = mid;
            else
                hi = mid;
        }
        c->zcut = (float)(0.5 * (lo + hi));
    }
    rows_run(c, il, T, 4 * F, ph_gate);
    if ((rc = matmul1(c, &l->w_down, hp->arch == ENGINE_ARCH_PHI3 ? c->ffh : c->ff, T, c->o)))
        return rc;
    rows_run(c, il, T, 2 * E, ph_ffn_out);

    if (hp->n_embd_per_layer > 0) {
        /* x += rmsnorm(gelu(x Wg) * ple_in[il] Wp) */
        const int P = hp->n_embd_per_layer, LP = hp->n_layer * P;
        if ((rc = matmul1(c, &l->ple_gate, c->x, T, c->ple_tmp)))
            return rc;
        for (int t = 0; t < T; t++) {
            float *g = c->ple_tmp + (size_t)t * P;
            const float *pin = c->ple_in + (size_t)t * LP + (size_t)il * P;
            for (int i = 0; i < P; i++)
                g[i] = gelu_tanh(g[i]) * pin[i];
        }
        if ((rc = matmul1(c, &l->ple_proj, c->ple_tmp, T, c->o)))
            return rc;
        for (int t = 0; t < T; t++) {
            float *o = c->o + (size_t)t * E, *x = c->x + (size_t)t * E;
            rmsnorm(o, o, lv->ple_norm, E, eps);
            for (int i = 0; i < E; i++)
                x[i] += o[i];
        }
    }
    return MB_OK;
}

/* cos/sin pairs of every token of the batch, per RoPE base: computed once per
 * batch, not once per layer */
static void rope_tables(engine_ctx_t *c, int T)
{
    const engine_hparams_t *hp = &c->m->hp;
    const int D = hp->head_dim;
    for (int which = 0; which < 2; which++) {
        const float *ff = which ? c->inv_freq_swa : c->inv_freq;
        const float sc = which ? c->rope_scale_swa : c->rope_scale;
        float *cs = which ? c->rope_cs_swa : c->rope_cs;
        for (int t = 0; t < T; t++) {
            float th = (float)(c->pos + t);
            for (int i = 0; i < D / 2; i++) {
                float ang = th / ff[i];
                cs[(size_t)t * D + 2 * i] = cosf(ang);
                cs[(size_t)t * D + 2 * i + 1] = sinf(ang);
                th *= sc;
            }
        }
    }
}

static int batch_forward(engine_ctx_t *c, const int32_t *tokens, int T, float *logits,
                         bool all_logits)
{
    const engine_model_t *m = c->m;
    const engine_hparams_t *hp = &m->hp;
    const int E = hp->n_embd;
    int rc = embed(c, tokens, T);
    rope_tables(c, T);
    for (int il = 0; rc == MB_OK && il < hp->n_layer; il++)
        rc = layer_forward(c, il, T);
    if (rc)
        return rc;
    c->pos += T;
    c->pos_hi = MB_MAX(c->pos_hi, c->pos);
    if (!logits)
        return MB_OK;
    int t0 = all_logits ? 0 : T - 1, n = T - t0;
    for (int t = t0; t < T; t++)
        rmsnorm(c->xn + (size_t)(t - t0) * E, c->x + (size_t)t * E, c->output_norm, E,
                hp->norm_eps);
    const engine_tensor_t *w = hp->tied ? &m->tok_embd : &m->output;
    if ((rc = matmul1(c, w, c->xn, n, logits)))
        return rc;
    if (hp->final_softcap > 0) {
        const float cap = hp->final_softcap;
        for (size_t i = 0; i < (size_t)n * (size_t)hp->n_vocab; i++)
            logits[i] = cap * tanhf(logits[i] / cap);
    }
    return MB_OK;
}

int engine_eval(engine_ctx_t *c, const int32_t *tokens, int n, float *logits, bool all_logits)
{
    const engine_hparams_t *hp = &c->m->hp;
    if (n <= 0 || !tokens)
        return mb_err_set(MB_EINVAL, "eval: need at least one token (got %d)", n);
    if (n > c->n_ctx - c->pos)
        return mb_err_set(MB_ERANGE, "eval: %d tokens at position %d overflow the context of %d; "
                          "reset the context or create it with a larger n_ctx", n, c->pos,
                          c->n_ctx);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= hp->n_vocab)
            return mb_err_set(MB_EINVAL, "eval: token %d at index %d is outside the vocabulary "
                              "(0..%d)", tokens[i], i, hp->n_vocab - 1);
    for (int done = 0; done < n;) {
        int T = MB_MIN(c->n_batch, n - done);
        bool last = done + T == n;
        float *out = NULL;
        if (logits && all_logits)
            out = logits + (size_t)done * (size_t)hp->n_vocab;
        else if (logits && last)
            out = logits;
        int rc = batch_forward(c, tokens + done, T, out, all_logits);
        if (rc)
            return rc;
        done += T;
    }
    return MB_OK;
}
