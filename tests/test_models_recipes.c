/*
 * test_models_recipes.c: quant recipes choose, tensor by tensor, the types
 * llama.cpp's llama-quantize chose for the files in ../shared (read from each
 * file), plus the rules on a Llama-3.2-1B-like shape and the fallbacks.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <string.h>

#include "models.h"

#define PEER_DIR MB_SHARED "/fixtures/gguf-peer"

static models_recipe_tensor_t tensor(const char *name, uint32_t n_dims, int64_t ne0, int n_layer,
                                     int n_gqa, bool has_output)
{
    models_recipe_tensor_t t = {name, n_dims, ne0, models_recipe_layer_of(name), n_layer, n_gqa,
                                has_output, ENGINE_TYPE_F32};
    return t;
}

static engine_type_t pick(const char *recipe, const char *name, uint32_t n_dims, int64_t ne0,
                          int n_layer, int n_gqa, bool has_output)
{
    const models_recipe_t *r;
    cr_assert_eq(models_recipe_find(recipe, &r), MB_OK, "%s", mb_err_msg());
    models_recipe_tensor_t t = tensor(name, n_dims, ne0, n_layer, n_gqa, has_output);
    return models_recipe_tensor_type(r, &t);
}

Test(recipes, list_and_find)
{
    const char *want[] = {"F32", "F16", "BF16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q4_K_M",
                          "Q4_K_S", "Q4_0", "Q4_1", "Q5_0", "IQ4_NL", "Q3_K_M", "Q2_K"};
    for (size_t i = 0; i < MB_ARRAY_LEN(want); i++) {
        const models_recipe_t *r;
        cr_expect_eq(models_recipe_find(want[i], &r), MB_OK, "%s", want[i]);
    }
    const models_recipe_t *r;
    cr_expect_eq(models_recipe_find("q4_k_m", &r), MB_OK);
    cr_expect_str_eq(r->name, "Q4_K_M");
    cr_expect_eq(r->file_type, 15);
    cr_expect_eq(models_recipe_find("Q7_K", &r), MB_ENOENT);
    cr_expect_null(r);
    cr_expect(strstr(mb_err_msg(), "'Q7_K'") && strstr(mb_err_msg(), "Q4_K_M"), "%s",
              mb_err_msg());
    cr_expect_null(models_recipe_get(models_recipe_count()));
    cr_expect_eq(models_recipe_layer_of("blk.12.attn_v.weight"), 12);
    cr_expect_eq(models_recipe_layer_of("token_embd.weight"), -1);
    cr_expect_eq(models_recipe_layer_of("blk.x.attn_v.weight"), -1);
}

/* Llama 3.2 1B: 16 layers, 32 heads, 8 KV heads (n_gqa 4), tied embedding. */
Test(recipes, llama_1b_shape)
{
    /* more-bits layers for 16: first 2, last 2, and 4, 7, 10, 13 */
    const bool more[16] = {1, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 1};
    for (int i = 0; i < 16; i++) {
        char v[64], d[64], q[64];
        snprintf(v, sizeof v, "blk.%d.attn_v.weight", i);
        snprintf(d, sizeof d, "blk.%d.ffn_down.weight", i);
        snprintf(q, sizeof q, "blk.%d.attn_q.weight", i);
        engine_type_t hi = more[i] ? ENGINE_TYPE_Q6_K : ENGINE_TYPE_Q4_K;
        cr_expect_eq(pick("Q4_K_M", v, 2, 2048, 16, 4, false), hi, "Q4_K_M %s", v);
        cr_expect_eq(pick("Q4_K_M", d, 2, 8192, 16, 4, false), hi, "Q4_K_M %s", d);
        cr_expect_eq(pick("Q4_K_M", q, 2, 2048, 16, 4, false), ENGINE_TYPE_Q4_K);
        cr_expect_eq(pick("Q5_K_M", v, 2, 2048, 16, 4, false),
                     more[i] ? ENGINE_TYPE_Q6_K : ENGINE_TYPE_Q5_K);
        cr_expect_eq(pick("Q5_K_S", v, 2, 2048, 16, 4, false), ENGINE_TYPE_Q5_K);
        cr_expect_eq(pick("Q4_K_S", v, 2, 2048, 16, 4, false),
                     i < 4 ? ENGINE_TYPE_Q5_K : ENGINE_TYPE_Q4_K);
        cr_expect_eq(pick("Q4_K_S", d, 2, 8192, 16, 4, false),
                     i < 2 ? ENGINE_TYPE_Q5_K : ENGINE_TYPE_Q4_K);
        cr_expect_eq(pick("Q3_K_M", v, 2, 2048, 16, 4, false),
                     i < 2 ? ENGINE_TYPE_Q5_K : ENGINE_TYPE_Q4_K);
        cr_expect_eq(pick("Q3_K_M", d, 2, 8192, 16, 4, false),
                     i < 1 ? ENGINE_TYPE_Q5_K : ENGINE_TYPE_Q4_K);
        /* n_gqa 4: Q2_K gives attn_v Q4_K, IQ4_NL gives it Q5_K */
        cr_expect_eq(pick("Q2_K", v, 2, 2048, 16, 4, false), ENGINE_TYPE_Q4_K);
        cr_expect_eq(pick("Q2_K", v, 2, 2048, 16, 2, false), ENGINE_TYPE_Q3_K);
        cr_expect_eq(pick("Q2_K", d, 2, 8192, 16, 4, false), ENGINE_TYPE_Q3_K);
        cr_expect_eq(pick("IQ4_NL", v, 2, 2048, 16, 4, false), ENGINE_TYPE_Q5_K);
        cr_expect_eq(pick("IQ4_NL", d, 2, 8192, 16, 4, false),
                     i < 2 ? ENGINE_TYPE_Q5_K : ENGINE_TYPE_IQ4_NL);
    }
    /* tied embedding: the output's rule */
    cr_expect_eq(pick("Q4_0", "token_embd.weight", 2, 2048, 16, 4, false), ENGINE_TYPE_Q6_K);
    cr_expect_eq(pick("Q8_0", "token_embd.weight", 2, 2048, 16, 4, false), ENGINE_TYPE_Q8_0);
    cr_expect_eq(pick("Q4_K_M", "token_embd.weight", 2, 2048, 16, 4, true), ENGINE_TYPE_Q4_K);
    cr_expect_eq(pick("Q4_K_M", "output.weight", 2, 2048, 16, 4, true), ENGINE_TYPE_Q6_K);
    /* norms and 1-D keep their type; float recipes convert only matrices */
    cr_expect_eq(pick("Q4_K_M", "blk.0.attn_norm.weight", 1, 2048, 16, 4, false),
                 ENGINE_TYPE_F32);
    cr_expect_eq(pick("Q4_K_M", "blk.0.attn_q_norm.weight", 1, 64, 16, 4, false),
                 ENGINE_TYPE_F32);
    cr_expect_eq(pick("F16", "blk.0.attn_norm.weight", 1, 2048, 16, 4, false), ENGINE_TYPE_F32);
    cr_expect_eq(pick("F16", "token_embd.weight", 2, 2048, 16, 4, false), ENGINE_TYPE_F16);
    cr_expect_eq(pick("BF16", "blk.3.ffn_up.weight", 2, 2048, 16, 4, false), ENGINE_TYPE_BF16);
    cr_expect_eq(pick("F32", "blk.3.ffn_up.weight", 2, 2048, 16, 4, false), ENGINE_TYPE_F32);
    /* phi3's fused tensors */
    cr_expect_eq(pick("Q4_K_M", "blk.0.attn_qkv.weight", 2, 3072, 32, 1, true), ENGINE_TYPE_Q5_K);
    cr_expect_eq(pick("Q5_K_M", "blk.0.attn_qkv.weight", 2, 3072, 32, 1, true), ENGINE_TYPE_Q6_K);
    cr_expect_eq(pick("Q3_K_M", "blk.0.attn_qkv.weight", 2, 3072, 32, 1, true), ENGINE_TYPE_Q4_K);
    /* Gemma 3n tensors that llama.cpp leaves alone */
    cr_expect_eq(pick("Q4_K_M", "blk.0.altup_proj.weight", 2, 2048, 30, 4, false),
                 ENGINE_TYPE_F32);
    cr_expect_eq(pick("Q4_K_M", "blk.0.laurel_l.weight", 2, 2048, 30, 4, false), ENGINE_TYPE_F32);
    cr_expect_eq(pick("Q4_K_M", "per_layer_model_proj.weight", 2, 2048, 30, 4, false),
                 ENGINE_TYPE_F32);
}

Test(recipes, fallbacks_for_row_lengths)
{
    /* 96 = 3 x 32: no K-quant fits */
    cr_expect_eq(pick("Q4_K_M", "blk.5.attn_q.weight", 2, 96, 16, 4, false), ENGINE_TYPE_Q5_0);
    cr_expect_eq(pick("Q5_K_S", "blk.5.attn_q.weight", 2, 96, 16, 4, false), ENGINE_TYPE_Q5_1);
    cr_expect_eq(pick("Q6_K", "blk.5.attn_q.weight", 2, 96, 16, 4, false), ENGINE_TYPE_Q8_0);
    cr_expect_eq(pick("Q2_K", "blk.5.attn_q.weight", 2, 96, 16, 4, false), ENGINE_TYPE_IQ4_NL);
    cr_expect_eq(pick("Q3_K_M", "blk.5.attn_q.weight", 2, 96, 16, 4, false), ENGINE_TYPE_IQ4_NL);
    cr_expect_eq(pick("Q4_K_M", "blk.0.attn_v.weight", 2, 96, 16, 4, false), ENGINE_TYPE_Q8_0);
    /* output with a row that is not a multiple of the recipe's block: Q8_0 */
    cr_expect_eq(pick("Q4_K_M", "output.weight", 2, 96, 16, 4, true), ENGINE_TYPE_Q8_0);
    /* 48: not even a multiple of 32 -> F16 */
    cr_expect_eq(pick("Q4_K_M", "blk.5.attn_q.weight", 2, 48, 16, 4, false), ENGINE_TYPE_F16);
    cr_expect_eq(pick("Q4_0", "blk.5.attn_q.weight", 2, 48, 16, 4, false), ENGINE_TYPE_F16);
    cr_expect_eq(pick("Q4_0", "blk.5.attn_q.weight", 2, 96, 16, 4, false), ENGINE_TYPE_Q4_0);
}

/* Every llama.cpp file in ../shared: our recipe gives each tensor the type llama.cpp gave it. */
Test(recipes, match_llama_cpp_files)
{
    DIR *d = opendir(PEER_DIR);
    if (!d)
        cr_skip("%s absent: llama.cpp's choices not checked", PEER_DIR);
    struct dirent *e;
    int checked = 0;
    while ((e = readdir(d))) {
        char arch[16], recipe[32];
        if (sscanf(e->d_name, "tiny-%15[a-z0-9]-%31[A-Z0-9_].gguf", arch, recipe) != 2 ||
            strlen(e->d_name) < 5 || strcmp(e->d_name + strlen(e->d_name) - 5, ".gguf"))
            continue;
        const models_recipe_t *r;
        if (models_recipe_find(recipe, &r) != MB_OK)
            cr_assert_fail("%s: no recipe %s", e->d_name, recipe);
        char path[1024], src_path[1024];
        snprintf(path, sizeof path, PEER_DIR "/%.200s", e->d_name);
        snprintf(src_path, sizeof src_path, PEER_DIR "/tiny-%s-F16.gguf", arch);
        models_gguf_t *g, *src;
        cr_assert_eq(models_gguf_open(path, &g), MB_OK, "%s", mb_err_msg());
        cr_assert_eq(models_gguf_open(src_path, &src), MB_OK, "%s", mb_err_msg());
        uint32_t ft, n_layer, n_head, n_head_kv;
        char key[64];
        cr_assert_eq(models_gguf_get_u32(g, "general.file_type", &ft), MB_OK);
        cr_expect_eq(ft, r->file_type, "%s: file_type %u, recipe %s says %u", e->d_name, ft,
                     r->name, r->file_type);
        snprintf(key, sizeof key, "%s.block_count", arch);
        cr_assert_eq(models_gguf_get_u32(g, key, &n_layer), MB_OK);
        snprintf(key, sizeof key, "%s.attention.head_count", arch);
        cr_assert_eq(models_gguf_get_u32(g, key, &n_head), MB_OK);
        snprintf(key, sizeof key, "%s.attention.head_count_kv", arch);
        cr_assert_eq(models_gguf_get_u32(g, key, &n_head_kv), MB_OK);
        bool has_output = models_gguf_find_tensor(src, "output.weight") != NULL;
        for (int64_t i = 0; i < models_gguf_n_tensors(g); i++) {
            const models_gguf_tensor_t *t = models_gguf_tensor(g, i);
            const models_gguf_tensor_t *s = models_gguf_find_tensor(src, t->name);
            cr_assert_not_null(s, "%s: %s not in the F16 file", e->d_name, t->name);
            models_recipe_tensor_t rt = {t->name, t->n_dims, t->ne[0],
                                         models_recipe_layer_of(t->name), (int)n_layer,
                                         (int)(n_head / n_head_kv), has_output, s->type};
            engine_type_t want = t->type, got = models_recipe_tensor_type(r, &rt);
            cr_expect_eq(got, want, "%s: %s: recipe gives %s, llama.cpp chose %s", e->d_name,
                         t->name, engine_type_name(got), engine_type_name(want));
        }
        models_gguf_close(src);
        models_gguf_close(g);
        checked++;
    }
    closedir(d);
    cr_expect_geq(checked, 10, "only %d files checked", checked);
}
