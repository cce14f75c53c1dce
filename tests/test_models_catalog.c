/* The compiled-in catalog: embedded texts equal the .ini files, every model
 * parses with its published figures, and bad catalog files give clear errors. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"

#define CATALOG_DIR MB_FIXTURES "/../../models/catalog"

Test(models_catalog, embedded_texts_equal_the_ini_files)
{
    int n = models_catalog_text_count();
    cr_assert_eq(n, 10);
    for (int i = 0; i < n; i++) {
        const char *file;
        const char *text = models_catalog_text(i, &file);
        char path[512];
        snprintf(path, sizeof path, "%s/%s", CATALOG_DIR, file);
        char *disk = NULL;
        size_t len = 0;
        cr_assert_eq(mb_file_read(path, 0, &disk, &len), MB_OK, "%s", mb_err_msg());
        cr_assert_str_eq(text, disk, "%s differs from catalog_data.c: run sh models/catalog/embed.sh",
                         file);
        free(disk);
    }
    /* and every .ini file is embedded */
    DIR *d = opendir(CATALOG_DIR);
    cr_assert(d);
    int n_ini = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".ini"))
            n_ini++;
    }
    closedir(d);
    cr_assert_eq(n_ini, n, "models/catalog has %d .ini files, %d embedded: run embed.sh", n_ini, n);
}

typedef struct {
    const char *name;
    double params_b; /* published size, billions */
    double tol;
    int n_layer, n_embd, n_head, n_head_kv, head_dim, n_ff, n_vocab;
} expect_t;

/* Published parameter counts (model cards) and config.json figures. */
static const expect_t expected[] = {
    {"llama-3.2-1b", 1.236, 0.01, 16, 2048, 32, 8, 64, 8192, 128256},
    {"llama-3.2-3b", 3.213, 0.01, 28, 3072, 24, 8, 128, 8192, 128256},
    {"qwen3-0.6b", 0.596, 0.01, 28, 1024, 16, 8, 128, 3072, 151936},
    {"qwen3-1.7b", 1.721, 0.01, 28, 2048, 16, 8, 128, 6144, 151936},
    {"phi-3-mini-4k", 3.821, 0.01, 32, 3072, 32, 32, 96, 8192, 32064},
    {"smollm3-3b", 3.075, 0.01, 36, 2048, 16, 4, 128, 11008, 128256},
    {"gemma-3n-e2b", 4.46, 0.05, 30, 2048, 8, 2, 256, 8192, 262400},
    {"gemma-3n-e4b", 6.87, 0.05, 35, 2048, 8, 2, 256, 16384, 262400},
    {"tiny-llama", 0.0042, 0.0001, 4, 256, 8, 4, 32, 768, 4096},
    {"tiny-qwen3", 0.0042, 0.0001, 4, 256, 8, 4, 32, 768, 4096},
};

Test(models_catalog, every_model_has_its_published_shape)
{
    cr_assert_eq(models_catalog_count(), (int)MB_ARRAY_LEN(expected));
    for (size_t i = 0; i < MB_ARRAY_LEN(expected); i++) {
        const expect_t *x = &expected[i];
        const models_spec_t *s;
        cr_assert_eq(models_catalog_find(x->name, &s), MB_OK, "%s", mb_err_msg());
        const engine_hparams_t *hp = &s->hp;
        cr_assert(hp->n_layer == x->n_layer && hp->n_embd == x->n_embd &&
                      hp->n_head == x->n_head && hp->n_head_kv == x->n_head_kv &&
                      hp->head_dim == x->head_dim && hp->n_ff == x->n_ff &&
                      hp->n_vocab == x->n_vocab,
                  "%s: shape differs from config.json", x->name);
        double p = (double)models_spec_params(s) / 1e9;
        cr_assert(p > x->params_b - x->tol && p < x->params_b + x->tol,
                  "%s: %.4fB parameters, published %.3fB", x->name, p, x->params_b);
        cr_assert(strstr(s->source, "config.json") || strstr(s->source, "README.md"),
                  "%s: no source", x->name);
        cr_assert(s->exact[0] && s->approx[0]);
        engine_hparams_t out;
        cr_assert_eq(models_spec_hparams(s, &out), MB_OK);
        cr_assert_eq(memcmp(&out, hp, sizeof out), 0);
    }
}

Test(models_catalog, family_specifics)
{
    const models_spec_t *s;
    cr_assert_eq(models_catalog_find("llama-3.2-1b", &s), MB_OK);
    cr_assert(s->hp.rope_llama3 && s->hp.rope_factor == 32 && s->hp.rope_low_freq == 1 &&
              s->hp.rope_high_freq == 4 && s->hp.rope_orig_ctx == 8192 &&
              s->hp.rope_theta == 500000 && s->hp.tied);
    cr_assert_eq(models_catalog_find("qwen3-0.6b", &s), MB_OK);
    cr_assert(s->hp.qk_norm && s->hp.rope_mode == ENGINE_ROPE_NEOX && s->hp.norm_eps < 2e-6f);
    cr_assert_eq(models_catalog_find("phi-3-mini-4k", &s), MB_OK);
    cr_assert(s->hp.arch == ENGINE_ARCH_PHI3 && !s->hp.tied);
    cr_assert_eq(models_catalog_find("smollm3-3b", &s), MB_OK);
    cr_assert(!engine_layer_has_rope(&s->hp, 3) && engine_layer_has_rope(&s->hp, 4) &&
              !engine_layer_has_rope(&s->hp, 35) && s->hp.rope_theta == 5e6f);
    cr_assert_eq(models_catalog_find("gemma-3n-e2b", &s), MB_OK);
    cr_assert(s->hp.n_kv_shared == 10 && s->hp.laurel_rank == 64 && s->altup_num_inputs == 4 &&
              s->hp.n_embd_per_layer == 256 && s->hp.final_softcap == 30);
    cr_assert(engine_layer_is_swa(&s->hp, 0) && !engine_layer_is_swa(&s->hp, 4));
    cr_assert_eq(engine_layer_kv_source(&s->hp, 29), 19); /* full: last non-shared full layer */
    cr_assert_eq(engine_layer_kv_source(&s->hp, 20), 18); /* sliding */
    cr_assert(strstr(s->approx, "AltUp"));
    /* effective compute is well below the stored size */
    cr_assert(models_spec_params_compute(s) < models_spec_params(s) * 6 / 10);
}

Test(models_catalog, kv_bytes_and_recipe_bytes)
{
    const models_spec_t *s;
    cr_assert_eq(models_catalog_find("llama-3.2-1b", &s), MB_OK);
    /* 16 layers x (K+V) x 8 heads x 64 x 2 bytes = 32 KiB per token */
    cr_assert_eq(models_spec_kv_bytes(s, 1024), 32ull << 20);
    cr_assert_eq(models_catalog_find("gemma-3n-e2b", &s), MB_OK);
    /* 20 of 30 layers own a cache */
    cr_assert_eq(models_spec_kv_bytes(s, 1), 20ull * 2 * 2 * 256 * 2);
    /* at 8192 positions: 4 full layers keep every position, 16 sliding ones
     * a ring of window 512 + batch 512 rows */
    cr_assert_eq(models_spec_kv_bytes(s, 8192), (4ull * 8192 + 16ull * 1024) * 2 * 2 * 256 * 2);
}

static engine_type_t pick_f16(const models_tensor_info_t *t, void *user)
{
    (void)user;
    return t->n_dims == 1 ? ENGINE_TYPE_F32 : ENGINE_TYPE_F16;
}

static engine_type_t pick_q4k(const models_tensor_info_t *t, void *user)
{
    (void)user;
    return t->n_dims == 1 ? ENGINE_TYPE_F32 : ENGINE_TYPE_Q4_K;
}

Test(models_catalog, bytes_follow_row_sizes)
{
    const models_spec_t *s;
    cr_assert_eq(models_catalog_find("tiny-llama", &s), MB_OK);
    uint64_t b = 0;
    cr_assert_eq(models_spec_bytes(s, pick_f16, NULL, &b), MB_OK);
    /* norms: 4 layers x 2 x 256 + 256 F32; the rest F16 */
    uint64_t norms = (4 * 2 + 1) * 256;
    cr_assert_eq(b, (models_spec_params(s) - norms) * 2 + norms * 4);
    /* head_dim-sized q/k norms etc. are fine, but a 96-wide row cannot be Q4_K */
    cr_assert_eq(models_catalog_find("phi-3-mini-4k", &s), MB_OK);
    cr_assert_eq(models_spec_bytes(s, pick_q4k, NULL, &b), MB_OK); /* 3072 and 8192 rows */
    cr_assert_eq(models_catalog_find("tiny-qwen3", &s), MB_OK);
    cr_assert_eq(models_spec_bytes(s, pick_q4k, NULL, &b), MB_OK);
}

Test(models_catalog, tensor_list_and_slots)
{
    const models_spec_t *s;
    cr_assert_eq(models_catalog_find("phi-3-mini-4k", &s), MB_OK);
    models_tensor_info_t *t;
    int n;
    cr_assert_eq(models_spec_tensors(s, &t, &n), MB_OK);
    cr_assert_eq(n, 2 + 32 * 6 + 1); /* embd, output_norm, output + 6 per layer */
    cr_assert_str_eq(t[0].name, "token_embd.weight");
    bool found = false;
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].name, "blk.31.ffn_up.weight")) {
            found = true;
            cr_assert_eq(t[i].role, MODELS_ROLE_FFN_GATE_UP);
            cr_assert(t[i].ne[0] == 3072 && t[i].ne[1] == 2 * 8192);
        }
    cr_assert(found);
    free(t);

    engine_layer_t layers[4];
    engine_model_t m = {.layers = layers};
    m.hp.n_layer = 4;
    m.hp.arch = ENGINE_ARCH_LLAMA;
    cr_assert_eq(models_model_slot(&m, "blk.3.attn_q.weight"), &layers[3].wq);
    cr_assert_eq(models_model_slot(&m, "blk.0.ffn_up.weight"), &layers[0].w_up);
    cr_assert_eq(models_model_slot(&m, "output.weight"), &m.output);
    cr_assert_null(models_model_slot(&m, "blk.4.attn_q.weight"));
    cr_assert_null(models_model_slot(&m, "blk.x.attn_q.weight"));
    cr_assert_eq(models_model_slot(&m, "rope_freqs.weight"), &m.rope_freqs);
    cr_assert_null(models_model_slot(&m, "blk.0.altup_router.weight"));
    m.hp.arch = ENGINE_ARCH_PHI3;
    cr_assert_eq(models_model_slot(&m, "blk.0.ffn_up.weight"), &layers[0].w_gate_up);
}

Test(models_catalog, unknown_model_lists_the_catalog)
{
    const models_spec_t *s;
    cr_assert_eq(models_catalog_find("llama-9b", &s), MB_ENOENT);
    cr_assert_null(s);
    cr_assert(strstr(mb_err_msg(), "llama-9b") && strstr(mb_err_msg(), "qwen3-0.6b"));
    cr_assert_null(models_catalog_get(99));
    cr_assert_null(models_catalog_get(-1));
}

static const char *good =
    "[model]\nname = t\narch = llama\n[hparams]\nn_vocab = 32\nn_embd = 32\nn_layer = 1\n"
    "n_head = 2\nn_head_kv = 1\nhead_dim = 16\nn_ff = 64\nn_ctx_train = 128\nnorm_eps = 1e-5\n"
    "rope_theta = 10000\n";

static void expect_error(const char *extra, int code, const char *needle)
{
    char text[1024];
    snprintf(text, sizeof text, "%s%s", good, extra);
    models_spec_t s;
    int rc = models_spec_parse(text, "bad.ini", &s);
    cr_assert_eq(rc, code, "'%s': rc %d (%s)", extra, rc, mb_err_msg());
    cr_assert(strstr(mb_err_msg(), needle), "'%s': message '%s' lacks '%s'", extra,
              mb_err_msg(), needle);
    cr_assert(strstr(mb_err_msg(), "bad.ini"));
}

Test(models_catalog, bad_files_give_clear_errors)
{
    models_spec_t s;
    cr_assert_eq(models_spec_parse(good, "good.ini", &s), MB_OK, "%s", mb_err_msg());
    expect_error("n_heads = 4\n", MB_EFORMAT, "unknown hparams key 'n_heads'");
    expect_error("n_ff = lots\n", MB_EFORMAT, "n_ff must be a non-negative integer");
    expect_error("norm_eps = x\n", MB_EFORMAT, "norm_eps must be a number");
    expect_error("tied = maybe\n", MB_EFORMAT, "tied must be true or false");
    expect_error("rope_mode = spiral\n", MB_EFORMAT, "rope_mode");
    expect_error("ffn_act = relu\n", MB_EFORMAT, "ffn_act");
    expect_error("n_head_kv = 3\n", MB_EINVAL, "n_head");
    expect_error("rope_scaling = llama3\n", MB_EINVAL, "llama3");
    expect_error("[oops\n", MB_EFORMAT, "section");
    cr_assert_eq(models_spec_parse("[model]\nname = t\narch = rwkv\n", "a.ini", &s), MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "unknown arch 'rwkv'"));
    cr_assert_eq(models_spec_parse("[model]\nname = t\narch = llama\n[hparams]\nn_vocab = 3\n",
                                   "b.ini", &s), MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "lacks required key"));
    cr_assert_eq(models_spec_parse("[hparams]\n", "c.ini", &s), MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "'name' and 'arch'"));
}
