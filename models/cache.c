/*
 * cache.c: synthetic models as GGUF files. models_build_gguf writes a catalog
 * model's synthetic weights (models_synth_rows), quantized tensor by tensor
 * with a recipe, with llama.cpp's metadata keys and a minimal vocabulary, so
 * llama.cpp and mobench can run the same file. One tensor is in memory at a
 * time; rows are generated and quantized in chunks on a thread pool.
 * The cache ($MOBENCH_CACHE, else ~/.cache/mobench) keeps one file per
 * (model, seed, recipe) so sweeps do not quantize again.
 */
#include "models.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUILD_CHUNK_ROWS 32 /* rows generated and quantized per claim */

/* ---- metadata ------------------------------------------------------------------ */
static int set_arch_u32(models_gguf_writer_t *w, const char *arch, const char *key, uint32_t v)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    return models_gguf_writer_set_u32(w, k, v);
}

static int set_arch_f32(models_gguf_writer_t *w, const char *arch, const char *key, float v)
{
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    return models_gguf_writer_set_f32(w, k, v);
}

/* llama.cpp's keys for the hyperparameters (the names its converter writes). */
static int build_metadata(models_gguf_writer_t *w, const models_spec_t *spec,
                          const models_recipe_t *r, uint64_t seed)
{
    const engine_hparams_t *hp = &spec->hp;
    const char *arch = engine_arch_name(hp->arch);
    int rc = 0;
    rc = rc ? rc : models_gguf_writer_set_str(w, "general.architecture", arch);
    rc = rc ? rc : models_gguf_writer_set_str(w, "general.name", spec->display);
    rc = rc ? rc : set_arch_u32(w, arch, "context_length", (uint32_t)hp->n_ctx_train);
    rc = rc ? rc : set_arch_u32(w, arch, "embedding_length", (uint32_t)hp->n_embd);
    rc = rc ? rc : set_arch_u32(w, arch, "block_count", (uint32_t)hp->n_layer);
    rc = rc ? rc : set_arch_u32(w, arch, "feed_forward_length", (uint32_t)hp->n_ff);
    rc = rc ? rc : set_arch_u32(w, arch, "attention.head_count", (uint32_t)hp->n_head);
    rc = rc ? rc : set_arch_u32(w, arch, "attention.head_count_kv", (uint32_t)hp->n_head_kv);
    rc = rc ? rc : set_arch_f32(w, arch, "rope.freq_base", hp->rope_theta);
    rc = rc ? rc : set_arch_f32(w, arch, "attention.layer_norm_rms_epsilon", hp->norm_eps);
    rc = rc ? rc : set_arch_u32(w, arch, "attention.key_length", (uint32_t)hp->head_dim);
    rc = rc ? rc : set_arch_u32(w, arch, "attention.value_length", (uint32_t)hp->head_dim);
    rc = rc ? rc : set_arch_u32(w, arch, "rope.dimension_count", (uint32_t)hp->head_dim);
    rc = rc ? rc : set_arch_u32(w, arch, "vocab_size", (uint32_t)hp->n_vocab);
    if (!rc && hp->swa_window > 0)
        rc = set_arch_u32(w, arch, "attention.sliding_window", (uint32_t)hp->swa_window);
    if (!rc && hp->final_softcap > 0)
        rc = set_arch_f32(w, arch, "final_logit_softcapping", hp->final_softcap);
    if (!rc && hp->arch == ENGINE_ARCH_GEMMA3N) {
        /* Gemma 3n's own keys (llama.cpp's gemma3n loader) */
        int L = hp->n_layer;
        float *sparsity = calloc((size_t)L, sizeof *sparsity);
        bool *sliding = calloc((size_t)L, sizeof *sliding);
        if (!sparsity || !sliding) {
            free(sparsity);
            free(sliding);
            return mb_err_set(MB_ENOMEM, "out of memory");
        }
        for (int il = 0; il < L; il++) {
            sparsity[il] = il < hp->n_layer_sparse ? hp->act_sparsity : 0.0f;
            sliding[il] = engine_layer_is_swa(hp, il);
        }
        char k[128];
        rc = rc ? rc : set_arch_f32(w, arch, "rope.freq_base_swa", hp->rope_theta_swa);
        rc = rc ? rc : set_arch_u32(w, arch, "altup.active_idx", 0);
        rc = rc ? rc : set_arch_u32(w, arch, "altup.num_inputs", (uint32_t)spec->altup_num_inputs);
        rc = rc ? rc : set_arch_u32(w, arch, "embedding_length_per_layer_input",
                                    (uint32_t)hp->n_embd_per_layer);
        rc = rc ? rc : set_arch_u32(w, arch, "attention.shared_kv_layers",
                                    (uint32_t)hp->n_kv_shared);
        snprintf(k, sizeof k, "%s.activation_sparsity_scale", arch);
        rc = rc ? rc : models_gguf_writer_set_arr(w, k, MODELS_GGUF_F32, sparsity, (uint64_t)L);
        snprintf(k, sizeof k, "%s.attention.sliding_window_pattern", arch);
        rc = rc ? rc : models_gguf_writer_set_arr(w, k, MODELS_GGUF_BOOL, sliding, (uint64_t)L);
        free(sparsity);
        free(sliding);
    }
    rc = rc ? rc : models_gguf_writer_add_vocab(w, (uint32_t)hp->n_vocab);
    rc = rc ? rc : models_gguf_writer_set_u32(w, "general.quantization_version", 2);
    rc = rc ? rc : models_gguf_writer_set_u32(w, "general.file_type", r->file_type);
    /* provenance: where the weights came from (checked on a cache hit) */
    rc = rc ? rc : models_gguf_writer_set_str(w, "mobench.weights", "synthetic");
    rc = rc ? rc : models_gguf_writer_set_str(w, "mobench.model", spec->name);
    rc = rc ? rc : models_gguf_writer_set_u64(w, "mobench.seed", seed);
    rc = rc ? rc : models_gguf_writer_set_str(w, "mobench.recipe", r->name);
    rc = rc ? rc : models_gguf_writer_set_str(w, "mobench.version", mb_version());
    rc = rc ? rc : models_gguf_writer_set_u64(w, "mobench.synth_version",
                                              (uint64_t)models_synth_version());
    return rc;
}

/* Llama 3 RoPE scaling as llama.cpp stores it: one divisor per frequency pair
 * (rope_freqs.weight, what its converter computes from rope_scaling). */
static void llama3_rope_factors(const engine_hparams_t *hp, float *out)
{
    const double pi = 3.14159265358979323846;
    double low_wl = hp->rope_orig_ctx / hp->rope_low_freq;
    double high_wl = hp->rope_orig_ctx / hp->rope_high_freq;
    for (int i = 0; i < hp->head_dim / 2; i++) {
        double freq = 1.0 / pow(hp->rope_theta, 2.0 * i / hp->head_dim);
        double wl = 2 * pi / freq;
        if (wl < high_wl) {
            out[i] = 1.0f;
        } else if (wl > low_wl) {
            out[i] = hp->rope_factor;
        } else {
            double smooth = (hp->rope_orig_ctx / wl - hp->rope_low_freq) /
                            (hp->rope_high_freq - hp->rope_low_freq);
            out[i] = (float)(1.0 / ((1 - smooth) / hp->rope_factor + smooth));
        }
    }
}

/* ---- interruption ----------------------------------------------------------------
 * A real-shape model takes seconds to minutes to build. SIGINT/SIGTERM during
 * the build set a flag that the workers check between chunks of rows and the
 * writer between tensors: the build stops within a chunk, the writer removes
 * its temporary file, and models_build_gguf returns MB_EINTR. The caller's
 * own handler (a runner recording the cell as interrupted) is then called
 * with the signal; with the default action, the caller decides (the CLI
 * exits 130). */
static volatile sig_atomic_t g_build_sig;

static void build_on_signal(int sig)
{
    g_build_sig = sig;
}

typedef struct {
    struct sigaction old_int, old_term;
    bool int_set, term_set;
} build_sigs_t;

static void build_sigs_install(build_sigs_t *bs)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    memset(bs, 0, sizeof *bs);
    sa.sa_handler = build_on_signal;
    sigemptyset(&sa.sa_mask);
    g_build_sig = 0;
    /* A signal the process ignores stays ignored. */
    if (sigaction(SIGINT, NULL, &bs->old_int) == 0 && bs->old_int.sa_handler != SIG_IGN)
        bs->int_set = sigaction(SIGINT, &sa, NULL) == 0;
    if (sigaction(SIGTERM, NULL, &bs->old_term) == 0 && bs->old_term.sa_handler != SIG_IGN)
        bs->term_set = sigaction(SIGTERM, &sa, NULL) == 0;
}

/* Restores the caller's handlers; passes a caught signal on to a handler
 * the caller installed. Returns the signal caught (0: none). */
static int build_sigs_restore(build_sigs_t *bs)
{
    if (bs->int_set)
        sigaction(SIGINT, &bs->old_int, NULL);
    if (bs->term_set)
        sigaction(SIGTERM, &bs->old_term, NULL);
    int sig = g_build_sig;
    g_build_sig = 0;
    const struct sigaction *old = sig == SIGINT ? &bs->old_int : sig == SIGTERM ? &bs->old_term : NULL;
    if (old && !(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN)
        raise(sig);
    return sig;
}

static int build_interrupted(const models_spec_t *spec)
{
    int sig = g_build_sig;
    return mb_err_set(MB_EINTR, "interrupted by %s while building %s; nothing was kept "
                      "(the partial file was removed)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                      spec->name);
}

/* ---- tensor data ------------------------------------------------------------------- */
typedef struct {
    const models_spec_t *spec;
    uint64_t seed;
    models_tensor_info_t *infos; /* catalog tensors, in file order */
    int n_infos;
    engine_type_t *types;
    float *rope_factors; /* rope_freqs.weight data, or NULL */
    engine_pool_t *pool;
    float **scratch;     /* per thread: BUILD_CHUNK_ROWS rows of F32 */
    /* the tensor being filled */
    const models_tensor_info_t *t;
    engine_type_t type;
    uint8_t *dst;
    size_t row_bytes;
    int64_t rows;
    engine_counter_t next;
    _Atomic int rc;
    int64_t done_params, total_params;
    uint64_t t0;
} build_t;

static void fill_task(void *arg, int ith, int nth)
{
    (void)nth;
    build_t *b = arg;
    const int64_t ne0 = b->t->ne[0];
    const engine_type_traits_t *tr = engine_type_traits(b->type);
    float *x = b->scratch[ith];
    for (;;) {
        int64_t r0 = engine_counter_claim(&b->next, BUILD_CHUNK_ROWS);
        if (r0 >= b->rows || b->rc)
            break;
        if (g_build_sig) {
            b->rc = MB_EINTR;
            break;
        }
        int64_t n = MB_MIN((int64_t)BUILD_CHUNK_ROWS, b->rows - r0);
        int rc = models_synth_rows(b->spec, b->seed, b->t, r0, n, x);
        if (rc) {
            b->rc = rc;
            break;
        }
        uint8_t *out = b->dst + (size_t)r0 * b->row_bytes;
        if (b->type == ENGINE_TYPE_F32)
            memcpy(out, x, (size_t)n * (size_t)ne0 * sizeof(float));
        else
            tr->quantize(x, out, n, ne0, NULL);
    }
}

static int fill_tensor(void *user, int64_t index, void *buf, size_t nbytes)
{
    build_t *b = user;
    if (g_build_sig)
        return build_interrupted(b->spec);
    if (index >= b->n_infos) { /* rope_freqs.weight, after the catalog's tensors */
        memcpy(buf, b->rope_factors, nbytes);
        return MB_OK;
    }
    b->t = &b->infos[index];
    b->type = b->types[index];
    b->dst = buf;
    b->row_bytes = engine_row_size(b->type, b->t->ne[0]);
    b->rows = b->t->ne[1] * b->t->ne[2] * b->t->ne[3];
    b->rc = MB_OK;
    engine_counter_reset(&b->next, 0);
    engine_pool_run(b->pool, fill_task, b);
    if (b->rc == MB_EINTR)
        return build_interrupted(b->spec);
    if (b->rc)
        return b->rc;
    b->done_params += models_tensor_nelem(b->t);
    MB_DEBUG("build: %s %s [%lld x %lld] (%.0f%%)", b->t->name, engine_type_name(b->type),
             (long long)b->t->ne[0], (long long)b->rows,
             100.0 * (double)b->done_params / (double)b->total_params);
    return MB_OK;
}

int models_build_gguf(const models_spec_t *spec, const models_recipe_t *r, uint64_t seed,
                      int n_threads, const char *path)
{
    build_t b = {.spec = spec, .seed = seed};
    models_gguf_writer_t *w = NULL;
    const engine_hparams_t *hp = &spec->hp;
    int rc = models_spec_tensors(spec, &b.infos, &b.n_infos);
    if (rc)
        return rc;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nth = n_threads > 0 ? n_threads : ncpu > 0 ? (int)MB_MIN(ncpu, 64L) : 1;
    if ((rc = engine_pool_create(nth, &b.pool)))
        goto err;
    nth = engine_pool_threads(b.pool);
    b.types = calloc((size_t)b.n_infos, sizeof *b.types);
    b.scratch = calloc((size_t)nth, sizeof *b.scratch);
    if (!b.types || !b.scratch) {
        rc = mb_err_set(MB_ENOMEM, "out of memory building %s", spec->name);
        goto err;
    }
    int64_t max_ne0 = 1;
    for (int i = 0; i < b.n_infos; i++)
        max_ne0 = MB_MAX(max_ne0, b.infos[i].ne[0]);
    for (int i = 0; i < nth; i++)
        if (!(b.scratch[i] = malloc((size_t)max_ne0 * BUILD_CHUNK_ROWS * sizeof(float)))) {
            rc = mb_err_set(MB_ENOMEM, "out of memory building %s", spec->name);
            goto err;
        }
    if ((rc = models_gguf_writer_create(&w)) || (rc = build_metadata(w, spec, r, seed)))
        goto err;
    int n_gqa = hp->n_head_kv > 0 ? hp->n_head / hp->n_head_kv : 1;
    for (int i = 0; i < b.n_infos; i++) {
        const models_tensor_info_t *t = &b.infos[i];
        models_recipe_tensor_t rt = {t->name, (uint32_t)t->n_dims, t->ne[0],
                                     t->layer, hp->n_layer, n_gqa, !hp->tied, ENGINE_TYPE_F32};
        b.types[i] = models_recipe_tensor_type(r, &rt);
        size_t bytes = engine_row_size(b.types[i], t->ne[0]) *
                       (size_t)(t->ne[1] * t->ne[2] * t->ne[3]);
        b.total_params += models_tensor_nelem(t);
        if ((rc = models_gguf_writer_add_tensor(w, t->name, b.types[i], (uint32_t)t->n_dims,
                                                t->ne, NULL, bytes)))
            goto err;
    }
    bool listed = false; /* the catalog may list rope_freqs.weight itself */
    for (int i = 0; i < b.n_infos; i++)
        listed |= !strcmp(b.infos[i].name, "rope_freqs.weight");
    if (hp->rope_llama3 && !listed) {
        int64_t ne[1] = {hp->head_dim / 2};
        b.rope_factors = malloc((size_t)ne[0] * sizeof(float));
        if (!b.rope_factors) {
            rc = mb_err_set(MB_ENOMEM, "out of memory");
            goto err;
        }
        llama3_rope_factors(hp, b.rope_factors);
        if ((rc = models_gguf_writer_add_tensor(w, "rope_freqs.weight", ENGINE_TYPE_F32, 1, ne,
                                                NULL, (size_t)ne[0] * sizeof(float))))
            goto err;
    }
    b.t0 = mb_clock_ns();
    build_sigs_t bs;
    build_sigs_install(&bs);
    rc = models_gguf_writer_write_fill(w, path, fill_tensor, &b);
    if (build_sigs_restore(&bs) && !rc) {
        /* The signal came after the last tensor: the file is complete and
         * in place; the caller still learns of the signal (handler above). */
        MB_DEBUG("build: a signal arrived as %s was finished; the file is kept", path);
    }
    if (rc)
        goto err;
    MB_INFO("built %s (%s, seed %llu) in %.1f s: %s", spec->name, r->name,
            (unsigned long long)seed, (double)(mb_clock_ns() - b.t0) / 1e9, path);
err:
    models_gguf_writer_destroy(w);
    if (b.scratch)
        for (int i = 0; i < nth; i++)
            free(b.scratch[i]);
    free(b.scratch);
    free(b.types);
    free(b.rope_factors);
    free(b.infos);
    engine_pool_destroy(b.pool);
    return rc;
}

/* ---- cache ----------------------------------------------------------------------------- */
int models_cache_dir(char *buf, size_t len)
{
    const char *env = getenv("MOBENCH_CACHE");
    int n;
    if (env && *env) {
        n = snprintf(buf, len, "%s", env);
    } else {
        const char *home = getenv("HOME");
        if (!home || !*home)
            return mb_err_set(MB_ENOENT, "no cache directory: set MOBENCH_CACHE or HOME");
        n = snprintf(buf, len, "%s/.cache/mobench", home);
    }
    if (n < 0 || (size_t)n >= len)
        return mb_err_set(MB_ERANGE, "cache directory path is too long");
    return MB_OK;
}

int models_cache_path(const models_spec_t *spec, const models_recipe_t *r, uint64_t seed,
                      char *buf, size_t len)
{
    char dir[1024];
    int rc = models_cache_dir(dir, sizeof dir);
    if (rc)
        return rc;
    int n = snprintf(buf, len, "%s/%s-s%llu-%s.gguf", dir, spec->name, (unsigned long long)seed,
                     r->name);
    if (n < 0 || (size_t)n >= len)
        return mb_err_set(MB_ERANGE, "cache file path is too long");
    return MB_OK;
}

/* A cached file is used only if it opens and says it is what we want. */
static bool cache_file_ok(const char *path, const models_spec_t *spec, const models_recipe_t *r,
                          uint64_t seed)
{
    models_gguf_t *g;
    if (models_gguf_open(path, &g) != MB_OK) {
        MB_WARN("cache: %s unusable (%s); building it again", path, mb_err_msg());
        return false;
    }
    const char *model = NULL, *recipe = NULL, *version = NULL;
    uint64_t s = 0, gen = 0;
    bool ok = !models_gguf_get_str(g, "mobench.model", &model) && !strcmp(model, spec->name) &&
              !models_gguf_get_str(g, "mobench.recipe", &recipe) && !strcmp(recipe, r->name) &&
              !models_gguf_get_u64(g, "mobench.seed", &s) && s == seed &&
              !models_gguf_get_str(g, "mobench.version", &version) &&
              !strcmp(version, mb_version()) &&
              /* files from an older weight generator (no key: version 1-2) */
              !models_gguf_get_u64(g, "mobench.synth_version", &gen) &&
              gen == (uint64_t)models_synth_version();
    if (!ok)
        MB_WARN("cache: %s was made for another model, recipe, seed, mobench version or "
                "synthetic-weight generator; building it again", path);
    models_gguf_close(g);
    return ok;
}

int models_cache_get(const models_spec_t *spec, const models_recipe_t *r, uint64_t seed,
                     int n_threads, char *path, size_t len, bool *built)
{
    if (built)
        *built = false;
    char dir[1024];
    int rc = models_cache_dir(dir, sizeof dir);
    if (!rc)
        rc = models_cache_path(spec, r, seed, path, len);
    if (rc)
        return rc;
    struct stat st;
    if (stat(path, &st) == 0 && cache_file_ok(path, spec, r, seed))
        return MB_OK;
    if ((rc = mb_dir_create(dir)))
        return rc;
    if ((rc = models_build_gguf(spec, r, seed, n_threads, path)))
        return rc;
    if (built)
        *built = true;
    return MB_OK;
}
