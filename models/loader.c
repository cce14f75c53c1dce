/* loader.c: a GGUF file (llama.cpp's metadata keys and tensor names) as an
 * engine model. The tensors are not copied: they point into the file's
 * mapping, which must stay open while the model is used. */
#include "models.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int get_u32_arch(const models_gguf_t *g, const char *arch, const char *key, uint32_t dflt,
                        bool required, uint32_t *out)
{
    char k[160];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    if (models_gguf_find_key(g, k) < 0) {
        if (required)
            return mb_err_set(MB_EFORMAT, "%s: metadata key %s is missing", models_gguf_name(g), k);
        *out = dflt;
        return MB_OK;
    }
    if (models_gguf_get_u32(g, k, out) == MB_OK)
        return MB_OK;
    /* llama.cpp writes some per-layer values as arrays: accept a uniform one */
    models_gguf_arr_t a;
    int64_t v0, v;
    if (models_gguf_get_arr(g, k, &a) == MB_OK && a.n > 0 && models_gguf_arr_i64(&a, 0, &v0) == 0) {
        for (uint64_t i = 1; i < a.n; i++)
            if (models_gguf_arr_i64(&a, i, &v) || v != v0)
                return mb_err_set(MB_EUNSUPPORTED, "%s: %s differs between layers; mobench "
                                  "models one value for all layers", models_gguf_name(g), k);
        if (v0 < 0 || v0 > UINT32_MAX)
            return mb_err_set(MB_EFORMAT, "%s: %s out of range", models_gguf_name(g), k);
        *out = (uint32_t)v0;
        return MB_OK;
    }
    return mb_err_set(MB_EFORMAT, "%s: %s is not an unsigned integer", models_gguf_name(g), k);
}

static int get_f32_arch(const models_gguf_t *g, const char *arch, const char *key, float dflt,
                        bool required, float *out)
{
    char k[160];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    if (models_gguf_find_key(g, k) < 0) {
        if (required)
            return mb_err_set(MB_EFORMAT, "%s: metadata key %s is missing", models_gguf_name(g), k);
        *out = dflt;
        return MB_OK;
    }
    return models_gguf_get_f32(g, k, out);
}

static int gemma3n_hparams(const models_gguf_t *g, const char *arch, engine_hparams_t *hp)
{
    int rc;
    uint32_t u;
    char k[160];
    hp->ffn_act = ENGINE_FFN_GELU_TANH;
    hp->qk_norm = hp->v_norm = hp->post_norms = true;
    hp->attn_scale = 1.0f;
    hp->embd_scale = sqrtf((float)hp->n_embd);
    if ((rc = get_f32_arch(g, arch, "rope.freq_base_swa", 10000.0f, false, &hp->rope_theta_swa)) ||
        (rc = get_f32_arch(g, arch, "final_logit_softcapping", 0, false, &hp->final_softcap)) ||
        (rc = get_u32_arch(g, arch, "attention.sliding_window", 0, true, &u)))
        return rc;
    hp->swa_window = (int)u;
    if ((rc = get_u32_arch(g, arch, "attention.shared_kv_layers", 0, false, &u)))
        return rc;
    hp->n_kv_shared = (int)u;
    if ((rc = get_u32_arch(g, arch, "embedding_length_per_layer_input", 0, true, &u)))
        return rc;
    hp->n_embd_per_layer = (int)u;
    /* sliding pattern: one bool per layer; mobench models "every p-th layer is full" */
    models_gguf_arr_t a;
    snprintf(k, sizeof k, "%s.attention.sliding_window_pattern", arch);
    if ((rc = models_gguf_get_arr(g, k, &a)))
        return rc;
    if ((int64_t)a.n != hp->n_layer)
        return mb_err_set(MB_EFORMAT, "%s: %s has %llu entries for %d layers", models_gguf_name(g),
                          k, (unsigned long long)a.n, hp->n_layer);
    int pattern = 0;
    for (uint64_t i = 0; i < a.n; i++) {
        int64_t v;
        if ((rc = models_gguf_arr_i64(&a, i, &v)))
            return rc;
        if (!v && !pattern)
            pattern = (int)i + 1;
    }
    hp->swa_pattern = pattern;
    for (int il = 0; il < hp->n_layer; il++) {
        int64_t v;
        models_gguf_arr_i64(&a, (uint64_t)il, &v);
        if ((v != 0) != engine_layer_is_swa(hp, il))
            return mb_err_set(MB_EUNSUPPORTED, "%s: sliding-window layers are not periodic",
                              models_gguf_name(g));
    }
    snprintf(k, sizeof k, "%s.activation_sparsity_scale", arch);
    if (models_gguf_get_arr(g, k, &a) == MB_OK) {
        for (uint64_t i = 0; i < a.n && (int64_t)i < hp->n_layer; i++) {
            double v;
            if ((rc = models_gguf_arr_f64(&a, i, &v)))
                return rc;
            if (v > 0) {
                hp->n_layer_sparse = (int)i + 1;
                hp->act_sparsity = (float)v;
            }
        }
    }
    const models_gguf_tensor_t *t = models_gguf_find_tensor(g, "blk.0.laurel_l.weight");
    hp->laurel_rank = t ? (int)t->ne[1] : 0;
    t = models_gguf_find_tensor(g, "per_layer_token_embd.weight");
    if (!t)
        return mb_err_set(MB_EFORMAT, "%s: per_layer_token_embd.weight is missing",
                          models_gguf_name(g));
    hp->n_vocab_per_layer = (int)t->ne[1];
    return MB_OK;
}

/* Hyperparameters from llama.cpp's metadata keys. */
static int hparams_from_gguf(const models_gguf_t *g, engine_hparams_t *hp)
{
    memset(hp, 0, sizeof *hp);
    const char *arch = NULL;
    int rc = models_gguf_get_str(g, "general.architecture", &arch);
    if (rc)
        return rc;
    if (engine_arch_from_name(arch, &hp->arch))
        return mb_err_set(MB_EUNSUPPORTED, "%s: architecture '%s' is not supported; mobench runs "
                          "llama, qwen3, phi3, smollm3 and gemma3n", models_gguf_name(g), arch);
    uint32_t u;
    const models_gguf_tensor_t *emb = models_gguf_find_tensor(g, "token_embd.weight");
    if (!emb)
        return mb_err_set(MB_EFORMAT, "%s: token_embd.weight is missing", models_gguf_name(g));
    hp->n_vocab = (int)emb->ne[1];
#define U32(key, field, dflt, req)                                                                \
    do {                                                                                          \
        if ((rc = get_u32_arch(g, arch, key, dflt, req, &u)))                                     \
            return rc;                                                                            \
        hp->field = (int)u;                                                                       \
    } while (0)
    U32("embedding_length", n_embd, 0, true);
    U32("block_count", n_layer, 0, true);
    U32("feed_forward_length", n_ff, 0, true);
    U32("attention.head_count", n_head, 0, true);
    U32("attention.head_count_kv", n_head_kv, (uint32_t)hp->n_head, false);
    U32("attention.key_length", head_dim,
        hp->n_head ? (uint32_t)(hp->n_embd / hp->n_head) : 0, false);
    U32("context_length", n_ctx_train, 2048, false);
#undef U32
    if ((rc = get_f32_arch(g, arch, "attention.layer_norm_rms_epsilon", 0, true, &hp->norm_eps)) ||
        (rc = get_f32_arch(g, arch, "rope.freq_base", 10000.0f, false, &hp->rope_theta)))
        return rc;
    hp->tied = models_gguf_find_tensor(g, "output.weight") == NULL;
    switch (hp->arch) {
    case ENGINE_ARCH_LLAMA:
        hp->rope_mode = ENGINE_ROPE_NORM; /* the converter permutes q/k for it */
        break;
    case ENGINE_ARCH_SMOLLM3:
        hp->rope_mode = ENGINE_ROPE_NORM;
        hp->nope_interval = 4; /* llama.cpp: n_no_rope_layer_step, fixed at 4 */
        break;
    case ENGINE_ARCH_QWEN3:
        hp->rope_mode = ENGINE_ROPE_NEOX;
        hp->qk_norm = true;
        break;
    case ENGINE_ARCH_PHI3:
        hp->rope_mode = ENGINE_ROPE_NEOX;
        if ((rc = get_u32_arch(g, arch, "attention.sliding_window", 0, false, &u)))
            return rc;
        hp->swa_window = (int)u;
        break;
    case ENGINE_ARCH_GEMMA3N:
        hp->rope_mode = ENGINE_ROPE_NEOX;
        if ((rc = gemma3n_hparams(g, arch, hp)))
            return rc;
        break;
    default:
        break;
    }
    char k[160];
    const char *scaling = NULL;
    snprintf(k, sizeof k, "%s.rope.scaling.type", arch);
    if (models_gguf_find_key(g, k) >= 0 && models_gguf_get_str(g, k, &scaling) == MB_OK &&
        strcmp(scaling, "none") && strcmp(scaling, "llama3"))
        return mb_err_set(MB_EUNSUPPORTED, "%s: RoPE scaling '%s' is not supported (none, or "
                          "llama3 through rope_freqs.weight)", models_gguf_name(g), scaling);
    rc = engine_hparams_validate(hp);
    if (rc) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", mb_err_msg());
        return mb_err_set(rc, "%s: %s", models_gguf_name(g), msg);
    }
    return MB_OK;
}

int models_gguf_model_check(const models_gguf_t *g, engine_hparams_t *hp_out)
{
    engine_hparams_t hp;
    int rc = hparams_from_gguf(g, &hp);
    if (rc)
        return rc;
    /* The last layer must have tensors: block_count is what sizes the KV
     * cache and the layer table, so an impossible one must stop here. */
    char prefix[32];
    int n = snprintf(prefix, sizeof prefix, "blk.%d.", hp.n_layer - 1);
    bool found = false;
    for (int64_t i = 0; i < models_gguf_n_tensors(g) && !found; i++)
        found = !strncmp(models_gguf_tensor(g, i)->name, prefix, (size_t)n);
    if (!found)
        return mb_err_set(MB_EFORMAT, "%s: block_count is %d but no tensor of layer %d (%s*) is in "
                          "the file: the metadata does not describe its tensors; re-convert the "
                          "model", models_gguf_name(g), hp.n_layer, hp.n_layer - 1, prefix);
    if (hp_out)
        *hp_out = hp;
    return MB_OK;
}

/* ---- dropping the original bytes of repacked tensors ------------------------ */

/* Whether [p, p + n) lies in one read-only, private, file-backed mapping
 * (/proc/self/maps: perms r-?p, an inode). Only there MADV_DONTNEED is
 * harmless: the pages leave the RSS and would re-fault from the file. On
 * anonymous memory (a GGUF opened from a buffer) it would zero the caller's
 * bytes, so those are kept. */
static bool readonly_file_mapping(const void *p, size_t n)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return false;
    uintptr_t a = (uintptr_t)p, b = a + n;
    char line[512];
    bool ok = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, inode;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s %*s %*s %lu", &lo, &hi, perms, &inode) != 4)
            continue;
        if (a >= lo && b <= hi) {
            ok = inode != 0 && perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p';
            break;
        }
    }
    fclose(f);
    return ok;
}

/* engine_model_prepare_drop callback: the whole pages inside the tensor's bytes
 * (the partial pages at both ends may hold neighbours' data). */
static void drop_pages(void *arg, const engine_tensor_t *t)
{
    (void)arg;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)t->data + page - 1) & ~(page - 1);
    uintptr_t b = ((uintptr_t)t->data + t->nbytes) & ~(page - 1);
    if (b > a)
        madvise((void *)a, b - a, MADV_DONTNEED);
}

int models_model_from_gguf(const models_gguf_t *g, engine_model_t **out)
{
    *out = NULL;
    engine_model_t *m = calloc(1, sizeof *m);
    if (!m)
        return mb_err_set(MB_ENOMEM, "out of memory loading %s", models_gguf_name(g));
    int rc = hparams_from_gguf(g, &m->hp);
    if (rc)
        goto err;
    if (!(m->layers = calloc((size_t)m->hp.n_layer, sizeof *m->layers))) {
        rc = mb_err_set(MB_ENOMEM, "out of memory loading %s", models_gguf_name(g));
        goto err;
    }
    int64_t n = models_gguf_n_tensors(g);
    for (int64_t i = 0; i < n; i++) {
        const models_gguf_tensor_t *t = models_gguf_tensor(g, i);
        engine_tensor_t *slot = models_model_slot(m, t->name);
        if (!slot)
            continue; /* stored but not computed (AltUp), or unknown to the engine */
        slot->name = t->name;
        slot->type = t->type;
        slot->ne[0] = t->ne[0];
        slot->ne[1] = t->ne[1] * t->ne[2] * t->ne[3];
        slot->ne[2] = slot->ne[3] = 1;
        slot->data = t->data;
        slot->nbytes = t->nbytes;
    }
    /* The kernels' packed copies replace the mapped rows (the engine reads
     * nothing else of them): their pages are dropped as each is packed, or
     * the model would be held twice. */
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int64_t i = 0; i < n; i++) {
        const models_gguf_tensor_t *t = models_gguf_tensor(g, i);
        lo = MB_MIN(lo, (uintptr_t)t->data);
        hi = MB_MAX(hi, (uintptr_t)t->data + t->nbytes);
    }
    bool mapped = hi > lo && readonly_file_mapping((const void *)lo, hi - lo);
    if ((rc = engine_model_prepare_drop(m, mapped ? drop_pages : NULL, NULL))) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", mb_err_msg());
        rc = mb_err_set(rc, "%s: %s", models_gguf_name(g), msg);
        goto err;
    }
    *out = m;
    return MB_OK;
err:
    models_model_free(m);
    return rc;
}

void models_model_free(engine_model_t *m)
{
    if (!m)
        return;
    engine_model_release(m);
    free(m->layers);
    free(m);
}
