/* workload.c: the engine as a bench workload. Catalog models get synthetic
 * weights (seeded, real shapes), quantized tensor by tensor with the
 * recipe's rules; the forward pass is the engine's. The quantized model is
 * built once per (model, recipe) in the runner's process, before the fork,
 * so every cell's child shares it instead of rebuilding it. */
#include "bench.h"
#include "engine.h"
#include "models.h"
#include "probes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct {
    engine_model_t m;
    void **blobs;
    int n_blobs;
    char model[256];
    char recipe[32];
    uint64_t weight_bytes;
} built_t;

struct bench_engine {
    uint64_t seed;
    char kernel[32];
    built_t *cur; /* the model the current cells share */
};

static void built_free(built_t *b)
{
    if (!b)
        return;
    engine_model_release(&b->m);
    for (int i = 0; i < b->n_blobs; i++)
        free(b->blobs[i]);
    free(b->blobs);
    free(b->m.layers);
    free(b);
}

int bench_engine_create(const char *kernel, uint64_t seed, bench_engine_t **out)
{
    *out = NULL;
    int rc = engine_kernels_init(NULL, kernel);
    if (rc)
        return rc;
    bench_engine_t *e = calloc(1, sizeof *e);
    if (!e)
        return mb_err_set(MB_ENOMEM, "out of memory");
    e->seed = seed;
    snprintf(e->kernel, sizeof e->kernel, "%s", engine_kernels_name());
    *out = e;
    return MB_OK;
}

void bench_engine_destroy(bench_engine_t *e)
{
    if (!e)
        return;
    built_free(e->cur);
    free(e);
}

/* ---- names ----------------------------------------------------------------- */
static bool looks_like_path(const char *name)
{
    size_t n = strlen(name);
    return strchr(name, '/') || (n > 5 && !strcasecmp(name + n - 5, ".gguf"));
}

static int find_spec(const char *name, const models_spec_t **spec)
{
    if (looks_like_path(name))
        return mb_err_set(MB_EUNSUPPORTED, "%s: running GGUF files needs a GGUF model loader, which "
                          "this build lacks; use a catalog name ('mobench models list')", name);
    return models_catalog_find(name, spec);
}

static int check_model(void *ctx, const char *name)
{
    (void)ctx;
    const models_spec_t *s;
    return find_spec(name, &s);
}

static int check_recipe(void *ctx, const char *name)
{
    (void)ctx;
    const models_recipe_t *r;
    return models_recipe_find(name, &r);
}

bench_names_t bench_engine_names(void)
{
    return (bench_names_t){NULL, check_model, check_recipe};
}

/* ---- sizes ------------------------------------------------------------------- */
typedef struct {
    const models_spec_t *spec;
    const models_recipe_t *recipe;
} pick_ctx_t;

static void recipe_tensor(const models_spec_t *spec, const models_tensor_info_t *t,
                          models_recipe_tensor_t *rt)
{
    memset(rt, 0, sizeof *rt);
    rt->name = t->name;
    rt->n_dims = (uint32_t)t->n_dims;
    rt->ne0 = t->ne[0];
    rt->layer = models_recipe_layer_of(t->name);
    rt->n_layer = spec->hp.n_layer;
    rt->n_gqa = spec->hp.n_head_kv > 0 ? spec->hp.n_head / spec->hp.n_head_kv : 1;
    rt->has_output = !spec->hp.tied;
    rt->src_type = ENGINE_TYPE_F32;
}

static engine_type_t pick_type(const models_tensor_info_t *t, void *user)
{
    pick_ctx_t *p = user;
    models_recipe_tensor_t rt;
    recipe_tensor(p->spec, t, &rt);
    return models_recipe_quantizes(&rt) ? models_recipe_tensor_type(p->recipe, &rt) : ENGINE_TYPE_F32;
}

int bench_cell_n_ctx(const bench_cell_t *cell, bool sustained)
{
    int need = sustained ? 4096 : bench_test_ctx_needed(&cell->test);
    const models_spec_t *spec;
    if (sustained && find_spec(cell->model, &spec) == 0 && spec->hp.n_ctx_train > 0)
        need = MB_MIN(need, spec->hp.n_ctx_train);
    return need;
}

static void fill_info(const bench_engine_t *e, const models_spec_t *spec, const models_recipe_t *r,
                      uint64_t wbytes, int n_ctx, bench_model_info_t *info)
{
    memset(info, 0, sizeof *info);
    uint64_t np = models_spec_params(spec);
    /* llama-bench's model_type: "<arch> <size> <ftype>" */
    double b = (double)np / 1e9;
    char size[16];
    if (b >= 1)
        snprintf(size, sizeof size, "%.1fB", b);
    else
        snprintf(size, sizeof size, "%.0fM", (double)np / 1e6);
    snprintf(info->model_type, sizeof info->model_type, "%s %s %s", engine_arch_name(spec->hp.arch),
             size, r->name);
    info->model_size = wbytes;
    info->n_params = np;
    snprintf(info->weights, sizeof info->weights, "synthetic");
    snprintf(info->kernel, sizeof info->kernel, "%s", e->kernel);
    info->kv_bytes = models_spec_kv_bytes(spec, n_ctx);
    /* Scratch before the context exists: activations of a 512-token batch
     * (residual, q/k/v, FFN, attention scores over the context) and the
     * logits. An upper estimate; the child reports the engine's figure. */
    const engine_hparams_t *hp = &spec->hp;
    uint64_t batch = (uint64_t)MB_MIN(n_ctx, 512);
    uint64_t per_tok = 4ull * (uint64_t)(3 * hp->n_embd + 2 * hp->n_ff +
                                         (hp->n_head + 2 * hp->n_head_kv) * hp->head_dim +
                                         hp->n_head * n_ctx);
    info->scratch_bytes = batch * per_tok + 4ull * (uint64_t)hp->n_vocab;
    info->n_ctx_max = hp->n_ctx_train;
}

static int lookup(const bench_cell_t *cell, const models_spec_t **spec, const models_recipe_t **r)
{
    int rc = find_spec(cell->model, spec);
    if (rc)
        return rc;
    return models_recipe_find(cell->recipe, r);
}

static int be_estimate(void *ctx, const bench_cell_t *cell, bench_model_info_t *info)
{
    bench_engine_t *e = ctx;
    const models_spec_t *spec;
    const models_recipe_t *r;
    int rc = lookup(cell, &spec, &r);
    if (rc)
        return rc;
    pick_ctx_t pc = {spec, r};
    uint64_t wbytes;
    if ((rc = models_spec_bytes(spec, pick_type, &pc, &wbytes)))
        return rc;
    int n_ctx = cell->n_ctx > 0 ? cell->n_ctx : bench_test_ctx_needed(&cell->test);
    if (spec->hp.n_ctx_train > 0 && n_ctx > spec->hp.n_ctx_train)
        return mb_err_set(MB_ESKIP, "skipped: the test needs %d positions, %s was trained for %d",
                          n_ctx, spec->name, spec->hp.n_ctx_train);
    fill_info(e, spec, r, wbytes, n_ctx, info);
    return MB_OK;
}

/* ---- building a quantized model ---------------------------------------------------- */
typedef struct {
    const models_spec_t *spec;
    uint64_t seed;
    const models_tensor_info_t *t;
    engine_type_t type;
    int64_t rows, row_len;
    size_t row_bytes;
    uint8_t *dst;
    float **tmp; /* per thread: 64 rows */
    int rc[64];
} qjob_t;

#define QROWS 64

static void quantize_task(void *arg, int ith, int nth)
{
    qjob_t *q = arg;
    const engine_type_traits_t *tr = engine_type_traits(q->type);
    float *tmp = q->tmp[ith];
    int64_t chunks = (q->rows + QROWS - 1) / QROWS;
    for (int64_t c = ith; c < chunks; c += nth) {
        int64_t r0 = c * QROWS, nr = MB_MIN(QROWS, q->rows - r0);
        int rc = models_synth_rows(q->spec, q->seed, q->t, r0, nr, tmp);
        if (rc) {
            q->rc[ith] = rc;
            return;
        }
        uint8_t *d = q->dst + (size_t)r0 * q->row_bytes;
        if (q->type == ENGINE_TYPE_F32) {
            memcpy(d, tmp, (size_t)(nr * q->row_len) * sizeof(float));
        } else if (q->type == ENGINE_TYPE_F16 || q->type == ENGINE_TYPE_BF16) {
            uint16_t *h = (uint16_t *)d;
            for (int64_t i = 0; i < nr * q->row_len; i++)
                h[i] = q->type == ENGINE_TYPE_F16 ? engine_f32_to_f16(tmp[i]) : engine_f32_to_bf16(tmp[i]);
        } else {
            tr->quantize(tmp, d, nr, q->row_len, NULL);
        }
    }
}

static int build(bench_engine_t *e, const models_spec_t *spec, const models_recipe_t *r, int n_threads,
                 built_t **out)
{
    *out = NULL;
    models_tensor_info_t *ts = NULL;
    int n = 0;
    engine_pool_t *pool = NULL;
    float *tmps[64] = {0};
    int rc = models_spec_tensors(spec, &ts, &n);
    if (rc)
        return rc;
    built_t *b = calloc(1, sizeof *b);
    if (!b || !(b->blobs = calloc((size_t)n, sizeof *b->blobs)) ||
        !(b->m.layers = calloc((size_t)spec->hp.n_layer, sizeof *b->m.layers))) {
        rc = mb_err_set(MB_ENOMEM, "out of memory building %s", spec->name);
        goto err;
    }
    b->m.hp = spec->hp;
    n_threads = MB_MAX(1, MB_MIN(n_threads, 64));
    if ((rc = engine_pool_create(n_threads, &pool)))
        goto err;
    for (int i = 0; i < n_threads; i++)
        if (!(tmps[i] = malloc((size_t)QROWS * (size_t)spec->hp.n_embd * 8 * sizeof(float)))) {
            rc = mb_err_set(MB_ENOMEM, "out of memory building %s", spec->name);
            goto err;
        }
    pick_ctx_t pc = {spec, r};
    for (int i = 0; i < n; i++) {
        const models_tensor_info_t *t = &ts[i];
        engine_tensor_t *slot = models_model_slot(&b->m, t->name);
        if (!t->computed || !slot)
            continue;
        engine_type_t type = pick_type(t, &pc);
        const engine_type_traits_t *tr = engine_type_traits(type);
        if (!tr || (tr->quantized && !tr->quantize)) {
            rc = mb_err_set(MB_EUNSUPPORTED, "%s: the engine cannot quantize to %s (recipe %s)",
                            t->name, engine_type_name(type), r->name);
            goto err;
        }
        int64_t rows = models_tensor_nelem(t) / t->ne[0];
        size_t row_bytes = engine_row_size(type, t->ne[0]);
        if (!row_bytes) {
            rc = mb_err_set(MB_ESHAPE, "%s: row of %lld does not fit %s", t->name,
                            (long long)t->ne[0], engine_type_name(type));
            goto err;
        }
        size_t nbytes = row_bytes * (size_t)rows;
        void *data = malloc(nbytes);
        if (!data) {
            rc = mb_err_set(MB_ENOMEM, "out of memory for %s of %s (%zu bytes)", t->name, spec->name, nbytes);
            goto err;
        }
        b->blobs[b->n_blobs++] = data;
        qjob_t q = {.spec = spec, .seed = e->seed, .t = t, .type = type, .rows = rows,
                    .row_len = t->ne[0], .row_bytes = row_bytes, .dst = data, .tmp = tmps};
        if ((size_t)t->ne[0] > (size_t)spec->hp.n_embd * 8) {
            /* Very long rows (rare): the scratch holds QROWS rows of 8*n_embd;
             * reallocate per thread for this tensor. */
            for (int k = 0; k < n_threads; k++) {
                float *nt = realloc(tmps[k], (size_t)QROWS * (size_t)t->ne[0] * sizeof(float));
                if (!nt) {
                    rc = mb_err_set(MB_ENOMEM, "out of memory building %s", spec->name);
                    goto err;
                }
                tmps[k] = nt;
            }
        }
        engine_pool_run(pool, quantize_task, &q);
        for (int k = 0; k < n_threads; k++)
            if (q.rc[k]) {
                rc = q.rc[k];
                goto err;
            }
        slot->name = NULL;
        slot->type = type;
        slot->ne[0] = t->ne[0];
        slot->ne[1] = rows;
        slot->ne[2] = slot->ne[3] = 1;
        slot->data = data;
        slot->nbytes = nbytes;
        b->weight_bytes += nbytes;
    }
    if ((rc = engine_model_validate(&b->m)) || (rc = engine_model_prepare(&b->m)))
        goto err;
    snprintf(b->model, sizeof b->model, "%s", spec->name);
    snprintf(b->recipe, sizeof b->recipe, "%s", r->name);
    for (int i = 0; i < 64; i++)
        free(tmps[i]);
    engine_pool_destroy(pool); /* no idle workers left to compete with the cells */
    free(ts);
    *out = b;
    return MB_OK;
err:
    for (int i = 0; i < 64; i++)
        free(tmps[i]);
    engine_pool_destroy(pool);
    free(ts);
    built_free(b);
    return rc;
}

static int ensure_built(bench_engine_t *e, const bench_cell_t *cell, const models_spec_t *spec,
                        const models_recipe_t *r)
{
    if (e->cur && !strcmp(e->cur->model, spec->name) && !strcmp(e->cur->recipe, r->name))
        return MB_OK;
    built_free(e->cur); /* cells come grouped by model and recipe */
    e->cur = NULL;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    (void)cell;
    uint64_t t0 = mb_clock_ns();
    int rc = build(e, spec, r, ncpu > 0 ? (int)ncpu : 1, &e->cur);
    if (!rc)
        MB_INFO("built %s %s (synthetic, seed %llu) in %.1f s", spec->name, r->name,
                (unsigned long long)e->seed, (double)(mb_clock_ns() - t0) * 1e-9);
    return rc;
}

static int be_prepare(void *ctx, const bench_cell_t *cell)
{
    bench_engine_t *e = ctx;
    const models_spec_t *spec;
    const models_recipe_t *r;
    int rc = lookup(cell, &spec, &r);
    return rc ? rc : ensure_built(e, cell, spec, r);
}

/* ---- the workload in the child ------------------------------------------------------ */
typedef struct {
    engine_pool_t *pool;
    engine_ctx_t *ctx;
    float *logits;
} ew_t;

static int ew_eval(void *impl, const int32_t *tokens, int n, bool logits)
{
    ew_t *w = impl;
    return engine_eval(w->ctx, tokens, n, logits ? w->logits : NULL, false);
}

static int ew_reset(void *impl)
{
    engine_ctx_reset(((ew_t *)impl)->ctx);
    return MB_OK;
}

static void ew_close(void *impl)
{
    ew_t *w = impl;
    engine_ctx_destroy(w->ctx);
    engine_pool_destroy(w->pool);
    free(w->logits);
    free(w);
}

static int be_open(void *ctx, const bench_cell_t *cell, bench_workload_t *out, bench_model_info_t *info)
{
    bench_engine_t *e = ctx;
    const models_spec_t *spec;
    const models_recipe_t *r;
    int rc = lookup(cell, &spec, &r);
    if (rc || (rc = ensure_built(e, cell, spec, r)))
        return rc;
    int n_ctx = MB_MAX(cell->n_ctx > 0 ? cell->n_ctx : bench_test_ctx_needed(&cell->test), 16);
    fill_info(e, spec, r, e->cur->weight_bytes, n_ctx, info);
    ew_t *w = calloc(1, sizeof *w);
    if (!w)
        return mb_err_set(MB_ENOMEM, "out of memory");
    engine_ctx_params_t cp = {.n_ctx = n_ctx, .n_batch = 512};
    if ((rc = engine_pool_create(cell->n_threads, &w->pool)) ||
        (rc = engine_ctx_create(&e->cur->m, w->pool, &cp, &w->ctx)))
        goto err;
    if (!(w->logits = malloc((size_t)spec->hp.n_vocab * sizeof *w->logits))) {
        rc = mb_err_set(MB_ENOMEM, "out of memory for the logits");
        goto err;
    }
    engine_mem_t mem = engine_ctx_memory(w->ctx);
    info->kv_bytes = mem.kv;
    info->scratch_bytes = mem.scratch;
    /* model_size stays the weights as stored (llama-bench's meaning); the
     * engine's figure adds repacked copies, visible in peak_rss. */
    snprintf(info->kernel, sizeof info->kernel, "%s", engine_kernels_name());
    *out = (bench_workload_t){w, n_ctx, spec->hp.n_vocab, ew_eval, ew_reset, NULL, ew_close};
    return MB_OK;
err:
    ew_close(w);
    return rc;
}

bench_backend_t bench_engine_backend(bench_engine_t *e)
{
    return (bench_backend_t){e, be_estimate, be_prepare, be_open};
}

/* ---- quality against a reference recipe ------------------------------------------ */
/* log-softmax normalizer of n logits */
static double log_sum_exp(const float *x, int n)
{
    float mx = x[0];
    for (int i = 1; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    double s = 0;
    for (int i = 0; i < n; i++)
        s += exp((double)(x[i] - mx));
    return (double)mx + log(s);
}

static int all_logits(const built_t *b, const int32_t *tokens, int n, int n_threads, float *out)
{
    engine_pool_t *pool = NULL;
    engine_ctx_t *ctx = NULL;
    engine_ctx_params_t cp = {.n_ctx = n, .n_batch = 512};
    int rc = engine_pool_create(n_threads, &pool);
    if (!rc)
        rc = engine_ctx_create(&b->m, pool, &cp, &ctx);
    if (!rc)
        rc = engine_eval(ctx, tokens, n, out, true);
    engine_ctx_destroy(ctx);
    engine_pool_destroy(pool);
    return rc;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int bench_quality_measure(bench_engine_t *e, const char *model, const char *recipe,
                          const char *ref_recipe, int n_tokens, int n_threads, bench_quality_t *out)
{
    memset(out, 0, sizeof *out);
    const models_spec_t *spec;
    const models_recipe_t *r, *rr;
    int rc = find_spec(model, &spec);
    if (rc || (rc = models_recipe_find(recipe, &r)) || (rc = models_recipe_find(ref_recipe, &rr)))
        return rc;
    if (n_tokens < 2 || (spec->hp.n_ctx_train > 0 && n_tokens > spec->hp.n_ctx_train))
        return mb_err_set(MB_EINVAL, "quality: %d tokens: expected 2 to %d", n_tokens, spec->hp.n_ctx_train);
    built_t *bq = NULL, *br = NULL;
    float *lq = NULL, *lr = NULL;
    int32_t *tok = malloc((size_t)n_tokens * sizeof *tok);
    double *kld = malloc((size_t)n_tokens * sizeof *kld);
    size_t nv = (size_t)spec->hp.n_vocab;
    if (!tok || !kld || !(lq = malloc((size_t)n_tokens * nv * sizeof *lq)) ||
        !(lr = malloc((size_t)n_tokens * nv * sizeof *lr))) {
        rc = mb_err_set(MB_ENOMEM, "quality: out of memory for %d x %zu logits", n_tokens, nv);
        goto out;
    }
    uint64_t x = e->seed * 0x9E3779B97F4A7C15ull + 7;
    for (int i = 0; i < n_tokens; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        tok[i] = (int32_t)((x * 0x2545F4914F6CDD1Dull) % nv);
    }
    /* One model at a time keeps the peak at the larger of the two. */
    if ((rc = build(e, spec, rr, n_threads, &br)) || (rc = all_logits(br, tok, n_tokens, n_threads, lr)))
        goto out;
    built_free(br);
    br = NULL;
    if ((rc = build(e, spec, r, n_threads, &bq)) || (rc = all_logits(bq, tok, n_tokens, n_threads, lq)))
        goto out;
    double agree = 0, nll_q = 0, nll_r = 0;
    for (int p = 0; p < n_tokens; p++) {
        const float *a = lr + (size_t)p * nv, *b = lq + (size_t)p * nv;
        double za = log_sum_exp(a, (int)nv), zb = log_sum_exp(b, (int)nv), k = 0;
        size_t ta = 0, tb = 0;
        for (size_t i = 0; i < nv; i++) {
            double la = a[i] - za, lb = b[i] - zb;
            k += exp(la) * (la - lb);
            ta = a[i] > a[ta] ? i : ta;
            tb = b[i] > b[tb] ? i : tb;
        }
        kld[p] = k > 0 ? k : 0; /* rounding can go a hair below zero */
        agree += ta == tb;
        if (p + 1 < n_tokens) {
            nll_r -= a[tok[p + 1]] - za;
            nll_q -= b[tok[p + 1]] - zb;
        }
    }
    double sum = 0;
    for (int p = 0; p < n_tokens; p++)
        sum += kld[p];
    qsort(kld, (size_t)n_tokens, sizeof *kld, cmp_dbl);
    snprintf(out->model, sizeof out->model, "%s", spec->name);
    snprintf(out->recipe, sizeof out->recipe, "%s", r->name);
    snprintf(out->ref_recipe, sizeof out->ref_recipe, "%s", rr->name);
    out->n_tokens = n_tokens;
    out->mean_kld = sum / n_tokens;
    out->p99_kld = bench_percentile(kld, (size_t)n_tokens, 0.99);
    out->top1_agree = agree / n_tokens;
    out->ppl_ratio = exp((nll_q - nll_r) / (n_tokens - 1));
out:
    built_free(bq);
    built_free(br);
    free(tok);
    free(kld);
    free(lq);
    free(lr);
    return rc;
}
