/* A GGUF model loaded with a repacking kernel variant is resident once: the
 * mapped pages of each repacked tensor are dropped as it is packed, so the
 * RSS (and its peak during the load) grows by about the weight bytes, not
 * twice that, and the engine's weight figure is the file's tensor bytes. The
 * logits equal those of the same file opened from memory (bytes kept). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models.h"

/* VmRSS or VmHWM of this process, bytes */
static size_t status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    cr_assert(f);
    char line[256];
    size_t kb = 0;
    size_t n = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':')
            kb = strtoul(line + n + 1, NULL, 10);
    fclose(f);
    return kb * 1024;
}

/* Resets VmHWM to the current RSS (Linux >= 4.0); false if not possible. */
static bool reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

static char path[256];
static models_spec_t spec;

/* tiny-qwen3 widened to matrices of a few MB (~15 MB at Q4_0), built once */
static void setup(void)
{
    engine_kernels_init(NULL, NULL);
    const models_spec_t *s;
    cr_assert_eq(models_catalog_find("tiny-qwen3", &s), MB_OK);
    spec = *s;
    spec.hp.n_vocab = 8192;
    spec.hp.n_embd = 1024;
    spec.hp.n_layer = 2;
    spec.hp.n_head = 16;
    spec.hp.n_head_kv = 8;
    spec.hp.head_dim = 64;
    spec.hp.n_ff = 2048;
    snprintf(path, sizeof path, "/tmp/mb-test-memory-%d.gguf", (int)getpid());
    const models_recipe_t *r;
    cr_assert_eq(models_recipe_find("Q4_0", &r), MB_OK);
    cr_assert_eq(models_build_gguf(&spec, r, 5, 2, path), MB_OK, "%s", mb_err_msg());
}

static void teardown(void)
{
    unlink(path);
}

static bool repacking(const engine_model_t *m)
{
    return m->layers[0].w_up.packed != NULL;
}

Test(models_memory, mapped_model_resident_once, .init = setup, .fini = teardown, .timeout = 60)
{
    models_gguf_t *g;
    cr_assert_eq(models_gguf_open(path, &g), MB_OK, "%s", mb_err_msg());
    size_t file_bytes = 0;
    for (int64_t i = 0; i < models_gguf_n_tensors(g); i++)
        file_bytes += models_gguf_tensor(g, i)->nbytes;
    bool peak_ok = reset_peak();
    size_t rss0 = status_kb("VmRSS");
    engine_model_t *m;
    cr_assert_eq(models_model_from_gguf(g, &m), MB_OK, "%s", mb_err_msg());
    size_t rss1 = status_kb("VmRSS"), hwm = status_kb("VmHWM");
    if (!repacking(m)) {
        models_model_free(m);
        models_gguf_close(g);
        cr_skip("kernel variant %s does not repack: nothing to drop", engine_kernels_name());
    }
    size_t wb = engine_model_weight_bytes(m);
    /* the engine's figure is the weights once (norms stay in the mapping) */
    cr_assert_leq(wb, file_bytes, "%zu > %zu", wb, file_bytes);
    cr_assert_geq(wb, file_bytes * 99 / 100, "%zu vs %zu", wb, file_bytes);
    double grow = (double)(rss1 - rss0) / (double)file_bytes;
    cr_log_info("weights %.1f MB: RSS +%.1f MB (%.2fx), peak +%.1f MB", file_bytes / 1e6,
                (rss1 - rss0) / 1e6, grow, (hwm - rss0) / 1e6);
#if defined(__SANITIZE_ADDRESS__)
    /* ASan adds shadow memory (1/8) and redzones to the heap-held packed copy */
    const double max_grow = 1.5, max_peak = 1.8;
#else
    const double max_grow = 1.3, max_peak = 1.5;
#endif
    cr_assert(grow > 0.8 && grow < max_grow, "RSS grew by %.2fx the weight bytes, expected ~1x", grow);
    if (peak_ok) {
        double peak = (double)(hwm - rss0) / (double)file_bytes;
        cr_assert(peak < max_peak, "peak RSS grew by %.2fx the weight bytes during the load", peak);
    }
    models_model_free(m);
    models_gguf_close(g);
}

Test(models_memory, logits_equal_kept_and_dropped, .init = setup, .fini = teardown,
     .timeout = 60)
{
    /* the same bytes opened from memory: not a file mapping, so kept */
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc((size_t)len);
    cr_assert(buf);
    cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    models_gguf_t *gm, *gf;
    engine_model_t *mm, *mf;
    cr_assert_eq(models_gguf_open_memory(buf, (size_t)len, "mem", &gm), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(models_gguf_open(path, &gf), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(models_model_from_gguf(gm, &mm), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(models_model_from_gguf(gf, &mf), MB_OK, "%s", mb_err_msg());
    cr_assert_not_null(mm->layers[0].wq.data, "a buffer the caller owns is never dropped");
    if (repacking(mf)) {
        cr_assert_null(mf->layers[0].wq.data);
        cr_assert_null(mf->tok_embd.data, "the tied table is read from its packed copy");
        cr_assert_gt(engine_model_weight_bytes(mm), engine_model_weight_bytes(mf) * 19 / 10);
    }
    /* the caller's buffer is intact */
    FILE *f2 = fopen(path, "rb");
    void *buf2 = malloc((size_t)len);
    cr_assert(f2 && buf2);
    cr_assert_eq(fread(buf2, 1, (size_t)len, f2), (size_t)len);
    fclose(f2);
    cr_assert_eq(memcmp(buf, buf2, (size_t)len), 0);
    free(buf2);

    const int n = 6, V = spec.hp.n_vocab;
    int32_t tok[6] = {1, 77, 4000, 8191, 12, 512};
    float *a = malloc((size_t)n * V * sizeof *a), *b = malloc((size_t)n * V * sizeof *b);
    cr_assert(a && b);
    engine_ctx_params_t cp = {.n_ctx = 16, .n_batch = 0};
    engine_ctx_t *ca, *cb;
    cr_assert_eq(engine_ctx_create(mm, NULL, &cp, &ca), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(engine_ctx_create(mf, NULL, &cp, &cb), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(engine_eval(ca, tok, n, a, true), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(engine_eval(cb, tok, n, b, true), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(memcmp(a, b, (size_t)n * V * sizeof *a), 0);
    cr_assert_eq(engine_eval(ca, tok, 1, a, false), MB_OK); /* decode */
    cr_assert_eq(engine_eval(cb, tok, 1, b, false), MB_OK);
    cr_assert_eq(memcmp(a, b, (size_t)V * sizeof *a), 0);
    engine_ctx_destroy(ca);
    engine_ctx_destroy(cb);
    free(a);
    free(b);
    models_model_free(mm);
    models_model_free(mf);
    models_gguf_close(gm);
    models_gguf_close(gf);
    free(buf);
}
