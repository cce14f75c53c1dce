/* hparams.c: architecture names, hyperparameter checks and the per-layer
 * switches (RoPE or not, sliding window or not, whose KV cache). */
#include "engine.h"

#include <math.h>
#include <string.h>

static const char *const arch_names[ENGINE_ARCH_COUNT] = {
    [ENGINE_ARCH_LLAMA] = "llama",     [ENGINE_ARCH_QWEN3] = "qwen3",
    [ENGINE_ARCH_PHI3] = "phi3",       [ENGINE_ARCH_SMOLLM3] = "smollm3",
    [ENGINE_ARCH_GEMMA3N] = "gemma3n",
};

const char *engine_arch_name(engine_arch_t arch)
{
    if ((int)arch < 0 || arch >= ENGINE_ARCH_COUNT)
        return "?";
    return arch_names[arch];
}

int engine_arch_from_name(const char *name, engine_arch_t *out)
{
    for (int i = 0; i < ENGINE_ARCH_COUNT; i++) {
        if (name && !strcmp(name, arch_names[i])) {
            *out = (engine_arch_t)i;
            return MB_OK;
        }
    }
    return mb_err_set(MB_EINVAL, "unknown architecture '%s'; supported: llama, qwen3, phi3, "
                      "smollm3, gemma3n", name ? name : "(null)");
}

#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        if (!(cond))                                                                              \
            return mb_err_set(MB_EINVAL, __VA_ARGS__);                                            \
    } while (0)

int engine_hparams_validate(const engine_hparams_t *hp)
{
    CHECK(hp, "hparams: NULL");
    CHECK((int)hp->arch >= 0 && hp->arch < ENGINE_ARCH_COUNT, "hparams: bad arch %d",
          (int)hp->arch);
    CHECK(hp->n_vocab > 0 && hp->n_vocab <= (1 << 24), "hparams: n_vocab %d out of 1..2^24",
          hp->n_vocab);
    CHECK(hp->n_embd > 0 && hp->n_embd <= 65536, "hparams: n_embd %d out of 1..65536",
          hp->n_embd);
    CHECK(hp->n_layer > 0 && hp->n_layer <= ENGINE_MAX_LAYERS, "hparams: n_layer %d out of 1..%d",
          hp->n_layer, ENGINE_MAX_LAYERS);
    CHECK(hp->n_head > 0 && hp->n_head_kv > 0 && hp->n_head % hp->n_head_kv == 0,
          "hparams: n_head %d must be a positive multiple of n_head_kv %d", hp->n_head,
          hp->n_head_kv);
    CHECK(hp->head_dim > 0 && hp->head_dim % 2 == 0 && hp->head_dim <= 1024,
          "hparams: head_dim %d must be even and <= 1024", hp->head_dim);
    CHECK(hp->n_ff > 0 && hp->n_ff <= (1 << 20), "hparams: n_ff %d out of range", hp->n_ff);
    CHECK(hp->n_ctx_train > 0, "hparams: n_ctx_train %d must be positive", hp->n_ctx_train);
    CHECK(hp->norm_eps > 0 && hp->norm_eps < 1, "hparams: norm_eps %g out of (0, 1)",
          (double)hp->norm_eps);
    CHECK(hp->rope_theta > 0, "hparams: rope_theta %g must be positive", (double)hp->rope_theta);
    CHECK(hp->rope_mode == ENGINE_ROPE_NORM || hp->rope_mode == ENGINE_ROPE_NEOX,
          "hparams: bad rope_mode %d", (int)hp->rope_mode);
    CHECK(hp->ffn_act == ENGINE_FFN_SILU || hp->ffn_act == ENGINE_FFN_GELU_TANH,
          "hparams: bad ffn_act %d", (int)hp->ffn_act);
    if (hp->rope_llama3)
        CHECK(hp->rope_factor >= 1 && hp->rope_high_freq > hp->rope_low_freq &&
                  hp->rope_low_freq > 0 && hp->rope_orig_ctx > 0,
              "hparams: llama3 RoPE scaling needs factor >= 1, 0 < low_freq < high_freq, "
              "orig_ctx > 0");
    CHECK(hp->nope_interval >= 0, "hparams: nope_interval must be >= 0");
    CHECK(hp->attn_scale >= 0 && hp->embd_scale >= 0 && hp->final_softcap >= 0,
          "hparams: attn_scale, embd_scale and final_softcap must be >= 0");
    CHECK(hp->swa_window >= 0 && hp->swa_pattern >= 0, "hparams: swa_window/pattern must be >= 0");
    if (hp->swa_window > 0 && hp->swa_pattern != 1)
        CHECK(hp->rope_theta_swa >= 0, "hparams: rope_theta_swa must be >= 0");
    CHECK(hp->n_kv_shared >= 0 && hp->n_kv_shared < hp->n_layer,
          "hparams: n_kv_shared %d must be below n_layer %d", hp->n_kv_shared, hp->n_layer);
    CHECK(hp->n_layer_sparse >= 0 && hp->n_layer_sparse <= hp->n_layer,
          "hparams: n_layer_sparse out of 0..n_layer");
    CHECK(hp->act_sparsity >= 0 && hp->act_sparsity < 1, "hparams: act_sparsity out of [0, 1)");
    CHECK(hp->n_layer_sparse == 0 || hp->act_sparsity > 0,
          "hparams: n_layer_sparse needs act_sparsity > 0");
    CHECK(hp->laurel_rank >= 0 && hp->laurel_rank <= 4096, "hparams: laurel_rank out of range");
    CHECK(hp->n_embd_per_layer >= 0 && hp->n_embd_per_layer <= 4096,
          "hparams: n_embd_per_layer out of range");
    CHECK(hp->n_embd_per_layer == 0 || hp->n_vocab_per_layer > 0,
          "hparams: per-layer embeddings need n_vocab_per_layer > 0");
    return MB_OK;
}

bool engine_layer_has_rope(const engine_hparams_t *hp, int il)
{
    return !(hp->nope_interval > 0 && (il + 1) % hp->nope_interval == 0);
}

bool engine_layer_is_swa(const engine_hparams_t *hp, int il)
{
    if (hp->swa_window <= 0)
        return false;
    /* pattern 0: every layer slides (phi3); else every pattern-th layer is full */
    return hp->swa_pattern == 0 || (il + 1) % hp->swa_pattern != 0;
}

int engine_layer_kv_source(const engine_hparams_t *hp, int il)
{
    int first_shared = hp->n_layer - hp->n_kv_shared;
    if (hp->n_kv_shared <= 0 || il < first_shared)
        return il;
    bool swa = engine_layer_is_swa(hp, il);
    for (int j = first_shared - 1; j >= 0; j--)
        if (engine_layer_is_swa(hp, j) == swa)
            return j;
    return il;
}

int engine_kv_rows(const engine_hparams_t *hp, int il, int n_ctx, int n_batch)
{
    if (engine_layer_kv_source(hp, il) != il)
        return 0;
    if (!engine_layer_is_swa(hp, il))
        return n_ctx;
    const int64_t ring = (int64_t)hp->swa_window + (n_batch > 0 ? MB_MIN(n_batch, n_ctx) : MB_MIN(512, n_ctx));
    return ring < n_ctx ? (int)ring : n_ctx;
}

size_t engine_kv_bytes(const engine_hparams_t *hp, int n_ctx, int n_batch)
{
    size_t s = 0;
    const size_t row = 2 * (size_t)hp->n_head_kv * (size_t)hp->head_dim * sizeof(engine_f16_t);
    for (int il = 0; il < hp->n_layer; il++)
        s += row * (size_t)engine_kv_rows(hp, il, n_ctx, n_batch);
    return s;
}
