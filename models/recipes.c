/*
 * recipes.c: quant recipes, i.e. which type each tensor of a model gets for
 * a named quantization ("Q4_K_M"). The per-tensor rules follow llama.cpp's
 * llama-quantize (src/llama-quant.cpp, llama_tensor_get_type and the
 * "quantize this tensor?" test before it) for the recipes mobench offers,
 * for dense models without an importance matrix:
 *   - only 2-D+ tensors whose name ends in "weight" are quantized; norms,
 *     AltUp, LAuReL and per_layer_model_proj keep their type;
 *   - output.weight, or token_embd.weight when the embedding is tied, gets
 *     Q6_K (Q8_0 stays Q8_0; Q8_0 too if the row is not a multiple of the
 *     recipe's block size);
 *   - attn_v / ffn_down / attn_output / attn_qkv get more bits on some
 *     layers for the K recipes ("use_more_bits": the first and last eighth of
 *     the layers and every third layer in between);
 *   - a row length that does not fit the chosen type falls back: Q2_K, Q3_K
 *     -> IQ4_NL, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, then F16.
 * Checked against the types llama.cpp chose in ../shared/fixtures/gguf-peer.
 */
#include "models.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* llama.cpp's llama_ftype values (general.file_type). */
enum {
    FT_ALL_F32 = 0, FT_F16 = 1, FT_Q4_0 = 2, FT_Q4_1 = 3, FT_Q8_0 = 7, FT_Q5_0 = 8, FT_Q5_1 = 9,
    FT_Q2_K = 10, FT_Q3_K_M = 12, FT_Q4_K_S = 14, FT_Q4_K_M = 15, FT_Q5_K_S = 16, FT_Q5_K_M = 17,
    FT_Q6_K = 18, FT_IQ4_NL = 25, FT_BF16 = 32,
};

static const models_recipe_t recipes[] = {
    {"F32", ENGINE_TYPE_F32, FT_ALL_F32, "everything in F32 (the reference)"},
    {"F16", ENGINE_TYPE_F16, FT_F16, "matrices in F16, norms F32"},
    {"BF16", ENGINE_TYPE_BF16, FT_BF16, "matrices in BF16, norms F32"},
    {"Q8_0", ENGINE_TYPE_Q8_0, FT_Q8_0, "8-bit, 8.5 bpw"},
    {"Q6_K", ENGINE_TYPE_Q6_K, FT_Q6_K, "6-bit K-quant, 6.56 bpw"},
    {"Q5_K_M", ENGINE_TYPE_Q5_K, FT_Q5_K_M, "Q5_K; attn_v, ffn_down Q6_K on more-bits layers"},
    {"Q5_K_S", ENGINE_TYPE_Q5_K, FT_Q5_K_S, "Q5_K throughout"},
    {"Q5_1", ENGINE_TYPE_Q5_1, FT_Q5_1, "5-bit with min, 6 bpw"},
    {"Q5_0", ENGINE_TYPE_Q5_0, FT_Q5_0, "5-bit, 5.5 bpw"},
    {"Q4_K_M", ENGINE_TYPE_Q4_K, FT_Q4_K_M, "Q4_K; attn_v, ffn_down Q6_K on more-bits layers"},
    {"Q4_K_S", ENGINE_TYPE_Q4_K, FT_Q4_K_S, "Q4_K; first attn_v and ffn_down layers Q5_K"},
    {"Q4_1", ENGINE_TYPE_Q4_1, FT_Q4_1, "4-bit with min, 5 bpw"},
    {"Q4_0", ENGINE_TYPE_Q4_0, FT_Q4_0, "4-bit, 4.5 bpw"},
    {"IQ4_NL", ENGINE_TYPE_IQ4_NL, FT_IQ4_NL, "4-bit non-linear codebook, 4.5 bpw"},
    {"Q3_K_M", ENGINE_TYPE_Q3_K, FT_Q3_K_M, "Q3_K; attn_v Q5_K/Q4_K, ffn_down, attn_output Q4_K"},
    {"Q2_K", ENGINE_TYPE_Q2_K, FT_Q2_K, "Q2_K; attn_v, ffn_down, attn_output Q3_K (Q4_K)"},
};

int models_recipe_count(void) { return (int)MB_ARRAY_LEN(recipes); }

const models_recipe_t *models_recipe_get(int i)
{
    return i >= 0 && i < (int)MB_ARRAY_LEN(recipes) ? &recipes[i] : NULL;
}

int models_recipe_find(const char *name, const models_recipe_t **out)
{
    *out = NULL;
    for (size_t i = 0; name && i < MB_ARRAY_LEN(recipes); i++)
        if (!strcasecmp(recipes[i].name, name)) {
            *out = &recipes[i];
            return MB_OK;
        }
    char list[256];
    size_t o = 0;
    for (size_t i = 0; i < MB_ARRAY_LEN(recipes) && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", recipes[i].name);
    return mb_err_set(MB_ENOENT, "unknown quant recipe '%s'; known: %s", name ? name : "", list);
}

static bool contains(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* llama.cpp's layer subset that gets more bits in the _M recipes. */
static bool use_more_bits(int i, int n)
{
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

bool models_recipe_quantizes(const models_recipe_tensor_t *t)
{
    const char *n = t->name;
    if (!ends_with(n, "weight") || t->n_dims < 2)
        return false;
    static const char *keep[] = {"_norm.weight", "ffn_gate_inp.weight", "altup", "laurel",
                                 "per_layer_model_proj", "position_embd.weight",
                                 "token_types.weight", "attn_rel_b.weight"};
    for (size_t i = 0; i < MB_ARRAY_LEN(keep); i++)
        if (contains(n, keep[i]))
            return false;
    return true;
}

static engine_type_t fallback(engine_type_t t, int64_t ne0)
{
    const engine_type_traits_t *tr = engine_type_traits(t);
    if (tr && ne0 % tr->block_size == 0)
        return t;
    switch (t) {
    case ENGINE_TYPE_Q2_K: case ENGINE_TYPE_Q3_K: t = ENGINE_TYPE_IQ4_NL; break;
    case ENGINE_TYPE_Q4_K: t = ENGINE_TYPE_Q5_0; break;
    case ENGINE_TYPE_Q5_K: t = ENGINE_TYPE_Q5_1; break;
    case ENGINE_TYPE_Q6_K: t = ENGINE_TYPE_Q8_0; break;
    default: return ENGINE_TYPE_F16; /* llama.cpp refuses these shapes; F16 always fits */
    }
    tr = engine_type_traits(t);
    return ne0 % tr->block_size == 0 ? t : ENGINE_TYPE_F16;
}

engine_type_t models_recipe_tensor_type(const models_recipe_t *r, const models_recipe_tensor_t *t)
{
    if (!models_recipe_quantizes(t))
        return t->src_type;
    engine_type_t ty = r->base;
    const engine_type_traits_t *base = engine_type_traits(r->base);
    if (!base->quantized)
        return ty; /* F32, F16, BF16: every quantizable tensor in that type */

    const char *n = t->name;
    uint32_t ft = r->file_type;
    int i = t->layer, nl = t->n_layer;
    if (!strcmp(n, "output.weight") || (!t->has_output && !strcmp(n, "token_embd.weight"))) {
        if (t->ne0 % base->block_size != 0)
            ty = ENGINE_TYPE_Q8_0;
        else if (ty != ENGINE_TYPE_Q8_0)
            ty = ENGINE_TYPE_Q6_K;
    } else if (!strcmp(n, "token_embd.weight") || !strcmp(n, "per_layer_token_embd.weight")) {
        /* untied embeddings keep the recipe's type */
    } else if (contains(n, "attn_v.weight")) {
        if (ft == FT_Q2_K)
            ty = t->n_gqa >= 4 ? ENGINE_TYPE_Q4_K : ENGINE_TYPE_Q3_K;
        else if (ft == FT_Q3_K_M)
            ty = i < 2 ? ENGINE_TYPE_Q5_K : ENGINE_TYPE_Q4_K;
        else if (ft == FT_IQ4_NL && t->n_gqa >= 4)
            ty = ENGINE_TYPE_Q5_K;
        else if ((ft == FT_Q4_K_M || ft == FT_Q5_K_M) && use_more_bits(i, nl))
            ty = ENGINE_TYPE_Q6_K;
        else if (ft == FT_Q4_K_S && i < 4)
            ty = ENGINE_TYPE_Q5_K;
    } else if (contains(n, "ffn_down")) {
        if (ft == FT_Q2_K)
            ty = ENGINE_TYPE_Q3_K;
        else if (ft == FT_Q3_K_M)
            ty = i < nl / 16 ? ENGINE_TYPE_Q5_K : ENGINE_TYPE_Q4_K;
        else if (ft == FT_Q4_K_M && use_more_bits(i, nl))
            ty = ENGINE_TYPE_Q6_K;
        else if (ft == FT_IQ4_NL && i < nl / 8)
            ty = ENGINE_TYPE_Q5_K;
        else if (ft == FT_Q5_K_M && use_more_bits(i, nl))
            ty = ENGINE_TYPE_Q6_K;
        else if (ft == FT_Q4_K_S && i < nl / 8)
            ty = ENGINE_TYPE_Q5_K;
    } else if (contains(n, "attn_output.weight")) {
        if (ft == FT_Q2_K)
            ty = ENGINE_TYPE_Q3_K;
        else if (ft == FT_Q3_K_M)
            ty = ENGINE_TYPE_Q4_K;
    } else if (contains(n, "attn_qkv.weight")) {
        if (ft == FT_Q3_K_M)
            ty = ENGINE_TYPE_Q4_K;
        else if (ft == FT_Q4_K_M)
            ty = ENGINE_TYPE_Q5_K;
        else if (ft == FT_Q5_K_M)
            ty = ENGINE_TYPE_Q6_K;
    }
    return fallback(ty, t->ne0);
}

int models_recipe_layer_of(const char *name)
{
    int layer = -1, len = 0;
    if (sscanf(name, "blk.%d.%n", &layer, &len) == 1 && len > 0 && layer >= 0)
        return layer;
    return -1;
}
