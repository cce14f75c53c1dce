/* ppl_engine.c: `mobench quality --text` end to end. The corpus is checked
 * and tokenized by the model file's own tokenizer (models/tokenizer*.c),
 * the windows go through the engine's forward pass (one prefill per window:
 * the first half fills the KV cache, the second half returns the logits of
 * each of its positions), and the base file, if any, is run first into the
 * base-logits file (bench/ppl.c) and closed before the model is loaded, so
 * only one model is in memory at a time. */
#include "bench.h"
#include "engine.h"
#include "models.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    models_gguf_t *g;
    engine_model_t *m;
    engine_pool_t *pool;
    engine_ctx_t *ctx;
} ppl_engine_t;

static void engine_close(ppl_engine_t *e)
{
    engine_ctx_destroy(e->ctx);
    engine_pool_destroy(e->pool);
    models_model_free(e->m);
    models_gguf_close(e->g);
    memset(e, 0, sizeof *e);
}

static int engine_open(const char *path, int n_ctx, int n_threads, ppl_engine_t *e)
{
    memset(e, 0, sizeof *e);
    engine_ctx_params_t cp = {.n_ctx = n_ctx, .n_batch = MB_MIN(n_ctx, 512)};
    int rc = models_gguf_open(path, &e->g);
    if (!rc)
        rc = models_model_from_gguf(e->g, &e->m);
    if (!rc)
        rc = engine_pool_create(n_threads, &e->pool);
    if (!rc)
        rc = engine_ctx_create(e->m, e->pool, &cp, &e->ctx);
    if (rc)
        engine_close(e);
    else if (e->m->hp.n_ctx_train > 0 && n_ctx > e->m->hp.n_ctx_train)
        MB_WARN("%s: -c %d is longer than the model's training context (%d)", path, n_ctx,
                e->m->hp.n_ctx_train);
    return rc;
}

static int engine_window(void *ctx, const int32_t *tokens, int n, int first, float *logits)
{
    ppl_engine_t *e = ctx;
    engine_ctx_reset(e->ctx);
    int rc = first > 0 ? engine_eval(e->ctx, tokens, first, NULL, false) : MB_OK;
    return rc ? rc : engine_eval(e->ctx, tokens + first, n - first, logits, true);
}

static bench_ppl_model_t engine_model(ppl_engine_t *e)
{
    return (bench_ppl_model_t){e, e->m->hp.n_vocab, engine_window};
}

static bool gguf_synthetic(const models_gguf_t *g)
{
    const char *w = NULL;
    return models_gguf_get_str(g, "mobench.weights", &w) == MB_OK && w && !strcmp(w, "synthetic");
}

/* sha256 and provenance of a GGUF file (mapped once, hashed, closed) */
static int file_info(const char *path, char sha[65], bool *synthetic)
{
    models_gguf_t *g = NULL;
    int rc = models_gguf_open(path, &g);
    if (!rc)
        rc = models_gguf_sha256(g, sha);
    if (!rc && synthetic)
        *synthetic = gguf_synthetic(g);
    models_gguf_close(g);
    return rc;
}

int bench_ppl_text(const bench_ppl_text_opts_t *o, bench_ppl_text_t *out)
{
    memset(out, 0, sizeof *out);
    char *text = NULL, tmp_path[64] = "";
    int32_t *ids = NULL;
    size_t n_ids = 0;
    models_tokenizer_t *tok = NULL, *btok = NULL;
    bench_klbase_t *kb = NULL;
    ppl_engine_t e = {0};
    int rc;
    if (!o->model || !o->corpus)
        return mb_err_set(MB_EINVAL, "quality --text: needs a model file and a corpus");
    if (o->kl_base_logits && !o->kl_base && access(o->kl_base_logits, F_OK))
        return mb_err_set(MB_EINVAL, "--kl-base-logits %s does not exist yet: give --kl-base "
                          "BASE.gguf once to have it written", o->kl_base_logits);
    size_t len = 0;
    if ((rc = bench_corpus_load(o->corpus, &text, &len, out->corpus_sha256)))
        goto out;
    out->corpus_bytes = (int64_t)len;
    if ((rc = models_tokenizer_open(o->model, &tok)))
        goto out;
    /* as llama-perplexity: BOS as the model adds it, special tokens in the
     * text taken as text */
    if ((rc = models_tokenizer_encode(tok, text, len, 1, 0, &ids, &n_ids)))
        goto out;
    free(text);
    text = NULL;
    out->corpus_tokens = (int64_t)n_ids;
    snprintf(out->tokenizer, sizeof out->tokenizer, "%s", models_tokenizer_kind(tok));
    bench_ppl_opts_t po = {.n_ctx = o->n_ctx, .max_chunks = o->max_chunks,
                           .add_bos = models_tokenizer_add_bos(tok) != 0,
                           .bos = models_tokenizer_bos(tok)};
    if (po.add_bos && po.bos < 0) {
        rc = mb_err_set(MB_EFORMAT, "%s: the tokenizer adds BOS but names no BOS token", o->model);
        goto out;
    }
    int n_chunks;
    if ((rc = bench_ppl_chunks(n_ids, &po, &n_chunks))) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mb_err_msg());
        mb_err_set(rc, "%s (%s): %s", o->corpus, o->model, msg);
        goto out;
    }
    if ((rc = file_info(o->model, out->model_sha256, &out->synthetic)))
        goto out;
    if (o->kl_base) {
        if ((rc = models_tokenizer_open(o->kl_base, &btok)))
            goto out;
        if (!models_tokenizer_same_vocab(tok, btok)) {
            rc = mb_err_set(MB_EINVAL, "--kl-base %s has another vocabulary than %s (%s, %d "
                            "tokens vs %s, %d): KL divergence compares distributions over the same "
                            "tokens; use the base file this model was quantized from",
                            o->kl_base, o->model, models_tokenizer_kind(btok),
                            models_tokenizer_n_vocab(btok), models_tokenizer_kind(tok),
                            models_tokenizer_n_vocab(tok));
            goto out;
        }
        if ((rc = file_info(o->kl_base, out->base_sha256, NULL)))
            goto out;
    }
    bench_klbase_meta_t want = {.n_vocab = models_tokenizer_n_vocab(tok), .n_ctx = po.n_ctx,
                                .n_chunks = n_chunks, .tokens = ids};
    snprintf(want.corpus_sha256, sizeof want.corpus_sha256, "%s", out->corpus_sha256);
    snprintf(want.base_sha256, sizeof want.base_sha256, "%s", out->base_sha256);
    const char *klpath = o->kl_base_logits;
    if (klpath && !access(klpath, F_OK)) {
        if ((rc = bench_klbase_open(klpath, &want, &kb)))
            goto out;
        if (!o->kl_base)
            snprintf(out->base_sha256, sizeof out->base_sha256, "%s", bench_klbase_meta(kb)->base_sha256);
        MB_INFO("quality: base log-probabilities from %s", klpath);
    } else if (o->kl_base) {
        if (!klpath) {
            /* no file asked for: a temporary one, removed at the end */
            const char *td = getenv("TMPDIR");
            snprintf(tmp_path, sizeof tmp_path, "%s/mobench-klbase-XXXXXX", td && *td && strlen(td) < 30 ? td : "/tmp");
            int fd = mkstemp(tmp_path);
            if (fd < 0) {
                rc = mb_err_set(MB_EIO, "cannot create a temporary file %s: %s", tmp_path,
                                strerror(errno));
                tmp_path[0] = '\0';
                goto out;
            }
            close(fd);
            klpath = tmp_path;
        }
        MB_INFO("quality: evaluating the base %s on %d windows", o->kl_base, n_chunks);
        if ((rc = engine_open(o->kl_base, po.n_ctx, o->n_threads, &e)))
            goto out;
        bench_ppl_model_t bm = engine_model(&e);
        rc = bench_klbase_write(klpath, &want, &bm, ids, n_ids, &po, NULL);
        engine_close(&e);
        if (rc || (rc = bench_klbase_open(klpath, &want, &kb)))
            goto out;
    }
    MB_INFO("quality: evaluating %s on %d windows of %d tokens", o->model, n_chunks, po.n_ctx);
    if ((rc = engine_open(o->model, po.n_ctx, o->n_threads, &e)))
        goto out;
    bench_ppl_model_t mm = engine_model(&e);
    if ((rc = bench_ppl_run(&mm, ids, n_ids, &po, kb, &out->r)))
        goto out;
    snprintf(out->kernels, sizeof out->kernels, "%s", engine_kernels_name());
out:
    engine_close(&e);
    bench_klbase_close(kb);
    if (tmp_path[0])
        unlink(tmp_path);
    models_tokenizer_destroy(tok);
    models_tokenizer_destroy(btok);
    free(ids);
    free(text);
    return rc;
}

int bench_prompt_tokens(const char *gguf, const char *path, int32_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    char *text = NULL, sha[65];
    size_t len = 0;
    models_tokenizer_t *tok = NULL;
    int rc = bench_text_load("prompt file", path, &text, &len, sha);
    if (!rc)
        rc = models_tokenizer_open(gguf, &tok);
    if (!rc)
        rc = models_tokenizer_encode(tok, text, len, 1, 0, ids, n);
    if (!rc && *n > (size_t)INT32_MAX / 2)
        rc = mb_err_set(MB_ERANGE, "--prompt-file %s: %zu tokens is too long a prompt", path, *n);
    if (rc) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    models_tokenizer_destroy(tok);
    free(text);
    return rc;
}
