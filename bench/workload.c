/* workload.c: the engine as a bench workload. Catalog models get synthetic
 * weights (seeded, real shapes) typed by the recipe's per-tensor rules,
 * built once into the models cache (a GGUF file, reused by later runs);
 * GGUF paths are loaded as they are. Each cell's child maps the file and
 * runs the engine's forward pass. */
#include "bench.h"
#include "bench_int.h"
#include "engine.h"
#include "models.h"
#include "probes.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct bench_engine {
    uint64_t seed;
    char kernel[32];
    /* the file the current cells share (prepared in the runner's process) */
    char key[320];
    char path[1024];
    char sha256[65];
};

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
    free(e);
}

/* ---- names ----------------------------------------------------------------- */
static bool is_gguf_path(const char *name)
{
    size_t n = strlen(name);
    return strchr(name, '/') || (n > 5 && !strcasecmp(name + n - 5, ".gguf"));
}

static int check_model(void *ctx, const char *name)
{
    (void)ctx;
    if (is_gguf_path(name)) {
        if (access(name, R_OK))
            return mb_err_set(MB_ENOENT, "cannot read the GGUF file %s: %s", name, strerror(errno));
        return MB_OK;
    }
    const models_spec_t *s;
    return models_catalog_find(name, &s);
}

static int check_recipe(void *ctx, const char *name)
{
    (void)ctx;
    if (!strcasecmp(name, "file"))
        return MB_OK; /* a GGUF file's own types */
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

static engine_type_t pick_type(const models_tensor_info_t *t, void *user)
{
    pick_ctx_t *p = user;
    const models_spec_t *spec = p->spec;
    models_recipe_tensor_t rt;
    memset(&rt, 0, sizeof rt);
    rt.name = t->name;
    rt.n_dims = (uint32_t)t->n_dims;
    rt.ne0 = t->ne[0];
    rt.layer = models_recipe_layer_of(t->name);
    rt.n_layer = spec->hp.n_layer;
    rt.n_gqa = spec->hp.n_head_kv > 0 ? spec->hp.n_head / spec->hp.n_head_kv : 1;
    rt.has_output = !spec->hp.tied;
    rt.src_type = ENGINE_TYPE_F32;
    return models_recipe_quantizes(&rt) ? models_recipe_tensor_type(p->recipe, &rt) : ENGINE_TYPE_F32;
}

int bench_cell_n_ctx(const bench_cell_t *cell, bool sustained)
{
    int need = sustained ? 4096 : bench_test_ctx_needed(&cell->test);
    const models_spec_t *spec;
    if (sustained && !is_gguf_path(cell->model) && models_catalog_find(cell->model, &spec) == 0 &&
        spec->hp.n_ctx_train > 0)
        need = MB_MIN(need, spec->hp.n_ctx_train);
    return need;
}

static int cell_ctx(const bench_cell_t *cell)
{
    return MB_MAX(cell->n_ctx > 0 ? cell->n_ctx : bench_test_ctx_needed(&cell->test), 16);
}

/* llama-bench's model_type: "<arch> <size> <ftype>" */
static void model_type(char *buf, size_t len, const char *arch, uint64_t n_params, const char *recipe)
{
    double b = (double)n_params / 1e9;
    char size[16];
    if (b >= 1)
        snprintf(size, sizeof size, "%.1fB", b);
    else
        snprintf(size, sizeof size, "%.0fM", (double)n_params / 1e6);
    snprintf(buf, len, "%s %s %s", arch, size, recipe);
}

/* Scratch before a context exists: a 512-token batch's activations (residual,
 * q/k/v, FFN, attention scores over the context) and the logits. An upper
 * estimate for the fit check; the child reports the engine's own figure. */
static uint64_t scratch_estimate(const engine_hparams_t *hp, int n_ctx)
{
    uint64_t batch = (uint64_t)MB_MIN(n_ctx, 512);
    uint64_t per_tok = 4ull * (uint64_t)(3 * hp->n_embd + 2 * hp->n_ff +
                                         (hp->n_head + 2 * hp->n_head_kv) * hp->head_dim +
                                         hp->n_head * n_ctx);
    return batch * per_tok + 4ull * (uint64_t)hp->n_vocab;
}

static int estimate_catalog(const bench_engine_t *e, const bench_cell_t *cell, bench_model_info_t *info)
{
    const models_spec_t *spec;
    const models_recipe_t *r;
    int rc = models_catalog_find(cell->model, &spec);
    if (rc || (rc = models_recipe_find(cell->recipe, &r)))
        return rc;
    pick_ctx_t pc = {spec, r};
    uint64_t wbytes;
    if ((rc = models_spec_bytes(spec, pick_type, &pc, &wbytes)))
        return rc;
    int n_ctx = cell_ctx(cell);
    if (spec->hp.n_ctx_train > 0 && n_ctx > spec->hp.n_ctx_train)
        return mb_err_set(MB_ESKIP, "skipped: the test needs %d positions, %s was trained for %d",
                          n_ctx, spec->name, spec->hp.n_ctx_train);
    memset(info, 0, sizeof *info);
    model_type(info->model_type, sizeof info->model_type, engine_arch_name(spec->hp.arch),
               models_spec_params(spec), r->name);
    info->model_size = wbytes;
    info->n_params = models_spec_params(spec);
    snprintf(info->weights, sizeof info->weights, "synthetic");
    snprintf(info->kernel, sizeof info->kernel, "%s", e->kernel);
    info->kv_bytes = models_spec_kv_bytes(spec, n_ctx);
    info->scratch_bytes = scratch_estimate(&spec->hp, n_ctx);
    info->n_ctx_max = spec->hp.n_ctx_train;
    return MB_OK;
}

/* A file that cannot be a model is a failed cell, never a skipped one
 * (skipped is for valid cells that do not fit): the reader's and loader's
 * "unsupported" (a big-endian file, an unknown architecture, a type with no
 * kernels) become a failure with the same reason. */
static int unloadable(int rc)
{
    return rc == MB_EUNSUPPORTED ? MB_EFORMAT : rc;
}

/* A GGUF file: its tensors' bytes, and the KV cache from its metadata. */
static int estimate_file(const bench_engine_t *e, const bench_cell_t *cell, bench_model_info_t *info)
{
    if (strcasecmp(cell->recipe, "file"))
        return mb_err_set(MB_ESKIP, "skipped: %s is a GGUF file: its types are its own; give the "
                          "recipe 'file' (-q file) rather than %s", cell->model, cell->recipe);
    models_gguf_t *g;
    int rc = models_gguf_open(cell->model, &g);
    if (rc)
        return unloadable(rc);
    if ((rc = models_gguf_model_check(g, NULL))) {
        models_gguf_close(g);
        return unloadable(rc);
    }
    memset(info, 0, sizeof *info);
    uint64_t bytes = 0, params = 0;
    for (int64_t i = 0; i < models_gguf_n_tensors(g); i++) {
        const models_gguf_tensor_t *t = models_gguf_tensor(g, i);
        bytes += t->nbytes;
        params += (uint64_t)models_gguf_tensor_nelem(t);
    }
    const char *arch = "?", *ftype = "file";
    models_gguf_get_str(g, "general.architecture", &arch);
    uint32_t ft;
    if (models_gguf_get_u32(g, "general.file_type", &ft) == MB_OK)
        for (int i = 0; i < models_recipe_count(); i++)
            if (models_recipe_get(i)->file_type == ft)
                ftype = models_recipe_get(i)->name; /* llama.cpp's name of the file's mix */
    char k[96];
    uint32_t n_layer = 0, n_head = 0, n_head_kv = 0, n_embd = 0, key_len = 0, n_ctx_train = 0;
    snprintf(k, sizeof k, "%s.block_count", arch);
    models_gguf_get_u32(g, k, &n_layer);
    snprintf(k, sizeof k, "%s.attention.head_count", arch);
    models_gguf_get_u32(g, k, &n_head);
    snprintf(k, sizeof k, "%s.attention.head_count_kv", arch);
    if (models_gguf_get_u32(g, k, &n_head_kv))
        n_head_kv = n_head;
    snprintf(k, sizeof k, "%s.embedding_length", arch);
    models_gguf_get_u32(g, k, &n_embd);
    snprintf(k, sizeof k, "%s.attention.key_length", arch);
    if (models_gguf_get_u32(g, k, &key_len) && n_head)
        key_len = n_embd / n_head;
    snprintf(k, sizeof k, "%s.context_length", arch);
    models_gguf_get_u32(g, k, &n_ctx_train);
    mb_err_clear();
    int n_ctx = cell_ctx(cell);
    model_type(info->model_type, sizeof info->model_type, arch, params, ftype);
    info->model_size = bytes;
    info->n_params = params;
    snprintf(info->weights, sizeof info->weights, "file");
    snprintf(info->kernel, sizeof info->kernel, "%s", e->kernel);
    info->kv_bytes = 2ull * 2ull * n_layer * n_head_kv * key_len * (uint64_t)n_ctx;
    info->scratch_bytes = (uint64_t)MB_MIN(n_ctx, 512) * 4ull * (8ull * n_embd + (uint64_t)n_head * (uint64_t)n_ctx);
    info->n_ctx_max = (int)n_ctx_train;
    models_gguf_close(g);
    if (n_ctx_train && n_ctx > (int)n_ctx_train)
        return mb_err_set(MB_ESKIP, "skipped: the test needs %d positions, %s was trained for %u", n_ctx,
                          cell->model, n_ctx_train);
    return MB_OK;
}

static int be_estimate(void *ctx, const bench_cell_t *cell, bench_model_info_t *info)
{
    bench_engine_t *e = ctx;
    return is_gguf_path(cell->model) ? estimate_file(e, cell, info) : estimate_catalog(e, cell, info);
}

/* ---- the file a cell runs ------------------------------------------------------ */
/* Resolves (and for catalog models builds into the cache) the GGUF file of
 * a cell; remembers it so that the next cells of the same model x recipe
 * (and the children, which inherit e) find it at once. */
static int cell_file(bench_engine_t *e, const bench_cell_t *cell)
{
    char key[320];
    snprintf(key, sizeof key, "%s|%s", cell->model, cell->recipe);
    if (!strcmp(key, e->key))
        return MB_OK;
    e->key[0] = e->sha256[0] = '\0';
    if (is_gguf_path(cell->model)) {
        if (strlen(cell->model) >= sizeof e->path)
            return mb_err_set(MB_EINVAL, "path too long: %s", cell->model);
        snprintf(e->path, sizeof e->path, "%s", cell->model);
        int rc = mb_sha256_file(cell->model, e->sha256);
        if (rc)
            return rc;
    } else {
        const models_spec_t *spec;
        const models_recipe_t *r;
        int rc = models_catalog_find(cell->model, &spec);
        if (rc || (rc = models_recipe_find(cell->recipe, &r)))
            return rc;
        bool built = false;
        uint64_t t0 = mb_clock_ns();
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        if ((rc = models_cache_get(spec, r, e->seed, ncpu > 0 ? (int)ncpu : 1, e->path, sizeof e->path, &built)))
            return rc;
        if (built)
            MB_DEBUG("built %s %s (synthetic, seed %llu) into %s in %.1f s", spec->name, r->name,
                    (unsigned long long)e->seed, e->path, (double)(mb_clock_ns() - t0) * 1e-9);
    }
    snprintf(e->key, sizeof e->key, "%s", key);
    return MB_OK;
}

static int be_prepare(void *ctx, const bench_cell_t *cell)
{
    return cell_file(ctx, cell);
}

static bool be_cached(void *ctx, const bench_cell_t *cell)
{
    bench_engine_t *e = ctx;
    if (is_gguf_path(cell->model))
        return true;
    const models_spec_t *spec;
    const models_recipe_t *r;
    char path[1024];
    struct stat st;
    return models_catalog_find(cell->model, &spec) == 0 && models_recipe_find(cell->recipe, &r) == 0 &&
           models_cache_path(spec, r, e->seed, path, sizeof path) == 0 && stat(path, &st) == 0;
}

/* ---- the workload in the child ------------------------------------------------------ */
typedef struct {
    models_gguf_t *g;
    engine_model_t *m;
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

static int ew_truncate(void *impl, int n_pos)
{
    return engine_ctx_truncate(((ew_t *)impl)->ctx, n_pos);
}

/* "t0:0 t1:1": per thread the CPUs the pool saw it on. */
static void ew_cpus_ran(void *impl, char *buf, size_t len)
{
    ew_t *w = impl;
    size_t k = 0;
    buf[0] = '\0';
    int n = engine_pool_threads(w->pool);
    for (int i = 0; i < n && k + 1 < len; i++) {
        bench_cpuset_t s;
        char list[256];
        if (engine_pool_cpus_seen(w->pool, i, s.bits, (int)MB_ARRAY_LEN(s.bits)))
            break;
        bench_cpuset_list(&s, list, sizeof list);
        int m = snprintf(buf + k, len - k, "%st%d:%s", i ? " " : "", i, list[0] ? list : "?");
        if (m < 0 || (size_t)m >= len - k) {
            buf[k] = '\0'; /* whole entries only */
            break;
        }
        k += (size_t)m;
    }
}

/* The cell's pool, pinned as the cell says (in the cell's child: the
 * calling thread, which loads the model next, is pinned with it). */
static int cell_pool(const bench_cell_t *cell, engine_pool_t **out)
{
    int cpus[BENCH_MAX_CPUS];
    engine_pin_t pin = {cpus, bench_cpuset_cpus(&cell->cpus, cpus, BENCH_MAX_CPUS), cell->cpu_strict};
    int rc = engine_pool_create_pinned(cell->n_threads, &pin, out);
    if (rc && pin.n_cpus) {
        char what[400], msg[1024];
        bench_cell_pin_label(cell, what, sizeof what);
        snprintf(msg, sizeof msg, "%s", mb_err_msg());
        return mb_err_set(rc, "pinning the cell's %d thread%s (%s): %s", cell->n_threads,
                          cell->n_threads == 1 ? "" : "s", what, msg);
    }
    return rc;
}

static void ew_close(void *impl)
{
    ew_t *w = impl;
    engine_ctx_destroy(w->ctx);
    engine_pool_destroy(w->pool);
    models_model_free(w->m);
    models_gguf_close(w->g);
    free(w->logits);
    free(w);
}

/* Maps a GGUF file and makes the engine model of it. */
static int load_file(const char *path, models_gguf_t **g, engine_model_t **m)
{
    int rc = models_gguf_open(path, g);
    if (!rc && (rc = models_model_from_gguf(*g, m))) {
        models_gguf_close(*g);
        *g = NULL;
    }
    return unloadable(rc);
}

static int be_open(void *ctx, const bench_cell_t *cell, bench_workload_t *out, bench_model_info_t *info)
{
    bench_engine_t *e = ctx;
    int rc = be_estimate(e, cell, info);
    if (rc || (rc = cell_file(e, cell)))
        return rc;
    snprintf(info->weights_sha256, sizeof info->weights_sha256, "%s", e->sha256);
    int n_ctx = cell_ctx(cell);
    ew_t *w = calloc(1, sizeof *w);
    if (!w)
        return mb_err_set(MB_ENOMEM, "out of memory");
    engine_ctx_params_t cp = {.n_ctx = n_ctx, .n_batch = 512};
    if ((rc = cell_pool(cell, &w->pool)) || (rc = load_file(e->path, &w->g, &w->m)) ||
        (rc = engine_ctx_create(w->m, w->pool, &cp, &w->ctx)))
        goto err;
    if (!(w->logits = malloc((size_t)w->m->hp.n_vocab * sizeof *w->logits))) {
        rc = mb_err_set(MB_ENOMEM, "out of memory for the logits");
        goto err;
    }
    /* model_size stays the weights as stored (llama-bench's meaning); the
     * engine's figure is the resident weights, each matrix once (a repacked
     * copy replaces the mapped pages it came from). */
    engine_mem_t mem = engine_ctx_memory(w->ctx);
    info->kv_bytes = mem.kv;
    info->scratch_bytes = mem.scratch;
    bool used[ENGINE_TYPE_COUNT];
    engine_model_types(w->m, used);
    engine_kernels_describe(used, info->kernel, sizeof info->kernel);
    bench_roofline_info(w->m, info);
    *out = (bench_workload_t){w, n_ctx, w->m->hp.n_vocab, ew_eval, ew_reset, ew_truncate, ew_close,
                              ew_cpus_ran};
    return MB_OK;
err:
    ew_close(w);
    return rc;
}

bench_backend_t bench_engine_backend(bench_engine_t *e)
{
    return (bench_backend_t){e, be_estimate, be_prepare, be_open, be_cached};
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

/* Logits at every position of tokens for (model, recipe) from the cache.
 * With sample, tokens[1..n-1] are first drawn from this model itself at
 * temperature 1 (one decode step per token, the logits of each step kept),
 * so that the text is what the reference finds likely. */
static int all_logits(bench_engine_t *e, const models_spec_t *spec, const models_recipe_t *r,
                      int32_t *tokens, int n, int n_threads, bool sample, float *out)
{
    char path[1024];
    models_gguf_t *g = NULL;
    engine_model_t *m = NULL;
    engine_pool_t *pool = NULL;
    engine_ctx_t *ctx = NULL;
    engine_ctx_params_t cp = {.n_ctx = n, .n_batch = 512};
    int rc = models_cache_get(spec, r, e->seed, n_threads, path, sizeof path, NULL);
    if (!rc)
        rc = load_file(path, &g, &m);
    if (!rc)
        rc = engine_pool_create(n_threads, &pool);
    if (!rc)
        rc = engine_ctx_create(m, pool, &cp, &ctx);
    if (!rc && !sample)
        rc = engine_eval(ctx, tokens, n, out, true);
    uint64_t st = e->seed * 0xD1B54A32D192ED03ull + 11;
    const size_t nv = (size_t)spec->hp.n_vocab;
    for (int t = 0; !rc && sample && t < n; t++) {
        float *row = out + (size_t)t * nv;
        if ((rc = engine_eval(ctx, tokens + t, 1, row, false)) || t + 1 == n)
            break;
        double z = log_sum_exp(row, (int)nv), c = 0;
        st ^= st >> 12;
        st ^= st << 25;
        st ^= st >> 27;
        double u = (double)((st * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
        int32_t pick = (int32_t)nv - 1;
        for (size_t i = 0; i < nv; i++) {
            c += exp((double)row[i] - z);
            if (u < c) {
                pick = (int32_t)i;
                break;
            }
        }
        tokens[t + 1] = pick;
    }
    engine_ctx_destroy(ctx);
    engine_pool_destroy(pool);
    models_model_free(m);
    models_gguf_close(g);
    return rc;
}

int bench_quality_measure(bench_engine_t *e, const char *model, const char *recipe,
                          const char *ref_recipe, int n_tokens, int n_threads, bench_quality_t *out)
{
    memset(out, 0, sizeof *out);
    const models_spec_t *spec;
    const models_recipe_t *r, *rr;
    int rc = models_catalog_find(model, &spec);
    if (rc || (rc = models_recipe_find(recipe, &r)) || (rc = models_recipe_find(ref_recipe, &rr)))
        return rc;
    if (n_tokens < 2 || (spec->hp.n_ctx_train > 0 && n_tokens > spec->hp.n_ctx_train))
        return mb_err_set(MB_EINVAL, "quality: %d tokens: expected 2 to %d", n_tokens, spec->hp.n_ctx_train);
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
    if ((rc = all_logits(e, spec, rr, tok, n_tokens, n_threads, true, lr)) ||
        (rc = all_logits(e, spec, r, tok, n_tokens, n_threads, false, lq)))
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
    qsort(kld, (size_t)n_tokens, sizeof *kld, mb_cmp_double);
    snprintf(out->model, sizeof out->model, "%s", spec->name);
    snprintf(out->recipe, sizeof out->recipe, "%s", r->name);
    snprintf(out->ref_recipe, sizeof out->ref_recipe, "%s", rr->name);
    out->n_tokens = n_tokens;
    out->mean_kld = sum / n_tokens;
    out->p99_kld = bench_percentile(kld, (size_t)n_tokens, 0.99);
    out->top1_agree = agree / n_tokens;
    out->ppl_ratio = exp((nll_q - nll_r) / (n_tokens - 1));
out:
    free(tok);
    free(kld);
    free(lq);
    free(lr);
    return rc;
}

int bench_quality_f32(bench_engine_t *e, const char *model, const char *const *recipes,
                      int n_recipes, int n_tokens, int n_threads, bench_quality_t *out)
{
    const models_spec_t *spec;
    int rc = models_catalog_find(model, &spec);
    if (rc)
        return rc;
    if (n_recipes < 1 || n_recipes > 64)
        return mb_err_set(MB_EINVAL, "quality: 1 to 64 recipes, got %d", n_recipes);
    const models_recipe_t *rs[64];
    for (int i = 0; i < n_recipes; i++)
        if ((rc = models_recipe_find(recipes[i], &rs[i])))
            return rc;
    engine_model_t *f32 = NULL;
    engine_pool_t *pool = NULL;
    models_quality_t *q = calloc((size_t)n_recipes, sizeof *q);
    if (!q)
        return mb_err_set(MB_ENOMEM, "out of memory");
    models_quality_opts_t o = {.n_seq = 1, .seq_len = n_tokens, .seed = e->seed};
    if (!(rc = models_synth_build(spec, e->seed, ENGINE_TYPE_F32, &f32)) &&
        !(rc = engine_pool_create(n_threads, &pool)))
        rc = models_quality_run(spec, f32, rs, n_recipes, &o, pool, q);
    for (int i = 0; !rc && i < n_recipes; i++) {
        memset(&out[i], 0, sizeof out[i]);
        snprintf(out[i].model, sizeof out[i].model, "%s", spec->name);
        snprintf(out[i].recipe, sizeof out[i].recipe, "%s", rs[i]->name);
        snprintf(out[i].ref_recipe, sizeof out[i].ref_recipe, "F32");
        out[i].mean_kld = q[i].kld_mean;
        out[i].p99_kld = q[i].kld_p99;
        out[i].top1_agree = q[i].top1;
        out[i].ppl_ratio = q[i].ppl_ratio;
        out[i].n_tokens = q[i].n_positions;
    }
    engine_pool_destroy(pool);
    models_synth_free(f32);
    free(q);
    return rc;
}
