/* cmd_models_catalog.c: `mobench models list` and `mobench models show NAME`:
 * the compiled-in catalog with what each model costs (parameters, bytes per
 * weight type, KV cache bytes per 1k tokens). Rows in cmd_models.c's table. */
#include "commands.h"
#include "mb.h"
#include "models.h"

#include <inttypes.h>
#include <string.h>

/* The tensor's type under a quant recipe (models/recipes.c: llama-quantize's
 * per-tensor rules); synthetic sources are F32. */
typedef struct {
    const models_recipe_t *r;
    const models_spec_t *s;
} pick_ctx_t;

static engine_type_t pick_recipe_spec(const models_tensor_info_t *t, void *user)
{
    const pick_ctx_t *c = user;
    models_recipe_tensor_t rt = {
        .name = t->name, .n_dims = (uint32_t)t->n_dims, .ne0 = t->ne[0],
        .layer = models_recipe_layer_of(t->name), .n_layer = c->s->hp.n_layer,
        .n_gqa = c->s->hp.n_head / c->s->hp.n_head_kv, .has_output = !c->s->hp.tied,
        .src_type = ENGINE_TYPE_F32,
    };
    return models_recipe_tensor_type(c->r, &rt);
}

static int bytes_recipe(const models_spec_t *s, const models_recipe_t *r, uint64_t *out)
{
    pick_ctx_t c = {r, s};
    return models_spec_bytes(s, pick_recipe_spec, &c, out);
}

static int bytes_as(const models_spec_t *s, const char *recipe, uint64_t *out)
{
    const models_recipe_t *r;
    int rc = models_recipe_find(recipe, &r);
    return rc ? rc : bytes_recipe(s, r, out);
}

static bool want_json(int argc, char **argv, int *n_pos, char **pos, const char *cmd, int *rc)
{
    bool json = false;
    *n_pos = 0;
    *rc = MB_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (argv[i][0] == '-') {
            *rc = cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        } else if (*n_pos < 1) {
            pos[(*n_pos)++] = argv[i];
        } else {
            *rc = cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
        }
    }
    return json;
}

int cmd_models_list(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: mobench models list [--json]\n\n"
               "The models mobench knows (models/catalog/*.ini): shape, parameters, size as\n"
               "F16 and Q4_K_M (quant recipes), F16 KV cache per 1k tokens. Details: models show NAME.\n");
        return MB_EXIT_OK;
    }
    int n_pos, rc;
    char *pos[1];
    bool json = want_json(argc, argv, &n_pos, pos, "models list", &rc);
    if (rc)
        return rc;
    if (n_pos)
        return cli_usage_error("models list", "unexpected argument '%s'", pos[0]);
    int n = models_catalog_count();
    mb_json_t j;
    if (json) {
        mb_json_init(&j, stdout, true);
        mb_json_arr_begin(&j);
    } else {
        printf("%-14s %-8s %6s %6s %7s %6s %7s %8s %9s %9s %10s\n", "model", "arch", "layers",
               "embd", "heads", "ffn", "vocab", "params", "F16", "Q4_K_M", "KV/1k tok");
    }
    for (int i = 0; i < n; i++) {
        const models_spec_t *s = models_catalog_get(i);
        const engine_hparams_t *hp = &s->hp;
        uint64_t f16 = 0, q40 = 0;
        if ((rc = bytes_as(s, "F16", &f16)) || (rc = bytes_as(s, "Q4_K_M", &q40)))
            return cli_fail("models list", rc);
        uint64_t kv = models_spec_kv_bytes(s, 1024), params = models_spec_params(s);
        if (json) {
            mb_json_obj_begin(&j);
            mb_json_key(&j, "name"); mb_json_str(&j, s->name);
            mb_json_key(&j, "arch"); mb_json_str(&j, engine_arch_name(hp->arch));
            mb_json_key(&j, "n_layer"); mb_json_int(&j, hp->n_layer);
            mb_json_key(&j, "n_embd"); mb_json_int(&j, hp->n_embd);
            mb_json_key(&j, "n_head"); mb_json_int(&j, hp->n_head);
            mb_json_key(&j, "n_head_kv"); mb_json_int(&j, hp->n_head_kv);
            mb_json_key(&j, "n_ff"); mb_json_int(&j, hp->n_ff);
            mb_json_key(&j, "n_vocab"); mb_json_int(&j, hp->n_vocab);
            mb_json_key(&j, "params"); mb_json_int(&j, (int64_t)params);
            mb_json_key(&j, "bytes_f16"); mb_json_int(&j, (int64_t)f16);
            mb_json_key(&j, "bytes_q4_k_m"); mb_json_int(&j, (int64_t)q40);
            mb_json_key(&j, "kv_bytes_per_1k_tokens"); mb_json_int(&j, (int64_t)kv);
            mb_json_obj_end(&j);
        } else {
            char hb[16], fb[16], qb[16], kb[16], heads[16];
            if (params >= 1000000000ull)
                snprintf(hb, sizeof hb, "%.2fB", (double)params / 1e9);
            else
                snprintf(hb, sizeof hb, "%.1fM", (double)params / 1e6);
            mb_fmt_bytes(f16, fb, sizeof fb);
            mb_fmt_bytes(q40, qb, sizeof qb);
            mb_fmt_bytes(kv, kb, sizeof kb);
            snprintf(heads, sizeof heads, "%d/%d", hp->n_head, hp->n_head_kv);
            printf("%-14s %-8s %6d %6d %7s %6d %7d %8s %9s %9s %10s\n", s->name,
                   engine_arch_name(hp->arch), hp->n_layer, hp->n_embd, heads, hp->n_ff,
                   hp->n_vocab, hb, fb, qb, kb);
        }
    }
    if (json) {
        mb_json_arr_end(&j);
        fputc('\n', stdout);
    }
    return MB_EXIT_OK;
}

static void show_text(const models_spec_t *s)
{
    const engine_hparams_t *hp = &s->hp;
    printf("%s (%s)\n", s->name, s->display);
    printf("  source        %s\n", s->source);
    printf("  architecture  %s\n", engine_arch_name(hp->arch));
    printf("  layers        %d\n", hp->n_layer);
    printf("  n_embd        %d\n", hp->n_embd);
    printf("  heads         %d query, %d key/value, head dim %d\n", hp->n_head, hp->n_head_kv,
           hp->head_dim);
    printf("  ffn           %d (%s)\n", hp->n_ff,
           hp->ffn_act == ENGINE_FFN_SILU ? "SwiGLU" : "GeGLU, gelu tanh");
    printf("  vocab         %d\n", hp->n_vocab);
    printf("  context       %d (trained)\n", hp->n_ctx_train);
    printf("  rope          base %g, %s pairs%s", (double)hp->rope_theta,
           hp->rope_mode == ENGINE_ROPE_NEOX ? "neox" : "norm",
           hp->rope_llama3 ? ", llama3 scaling" : "");
    if (hp->rope_llama3)
        printf(" (factor %g, low %g, high %g, original context %d)", (double)hp->rope_factor,
               (double)hp->rope_low_freq, (double)hp->rope_high_freq, hp->rope_orig_ctx);
    if (hp->nope_interval)
        printf(", none on every %d-th layer", hp->nope_interval);
    printf("\n  norm eps      %g\n", (double)hp->norm_eps);
    printf("  embeddings    %s\n", hp->tied ? "tied (output = token embedding)" : "separate output");
    if (hp->qk_norm)
        printf("  qk-norm       per head\n");
    if (hp->swa_window && hp->swa_pattern)
        printf("  sliding win.  %d on all layers but every %d-th (full attention)\n",
               hp->swa_window, hp->swa_pattern);
    else if (hp->swa_window)
        printf("  sliding win.  %d on every layer\n", hp->swa_window);
    if (hp->n_kv_shared)
        printf("  KV sharing    last %d layers reuse earlier caches\n", hp->n_kv_shared);
    if (hp->n_embd_per_layer)
        printf("  per-layer emb %d per layer, table of %d rows\n", hp->n_embd_per_layer,
               hp->n_vocab_per_layer);
    if (hp->laurel_rank)
        printf("  LAuReL        rank %d\n", hp->laurel_rank);
    if (s->altup_num_inputs)
        printf("  AltUp         %d streams\n", s->altup_num_inputs);
    if (hp->n_layer_sparse)
        printf("  act. sparsity %.2f on the first %d layers\n", (double)hp->act_sparsity,
               hp->n_layer_sparse);
    if (hp->final_softcap > 0)
        printf("  logit softcap %g\n", (double)hp->final_softcap);
    printf("  modelled exactly: %s\n", s->exact);
    printf("  approximated:     %s\n", s->approx);
}

int cmd_models_show(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: mobench models show NAME [--json]\n\n"
               "One catalog model: hyperparameters and their source, parameters, weight bytes\n"
               "per quant recipe (llama-quantize's per-tensor rules), F16 KV cache bytes.\n");
        return MB_EXIT_OK;
    }
    int n_pos, rc;
    char *pos[1];
    bool json = want_json(argc, argv, &n_pos, pos, "models show", &rc);
    if (rc)
        return rc;
    if (!n_pos)
        return cli_usage_error("models show", "which model? (mobench models list)");
    const models_spec_t *s;
    if ((rc = models_catalog_find(pos[0], &s)))
        return cli_fail("models show", rc);
    const int n_rec = models_recipe_count();
    uint64_t bytes[64];
    if (n_rec > (int)MB_ARRAY_LEN(bytes))
        return cli_fail("models show", mb_err_set(MB_ERANGE, "too many recipes"));
    for (int i = 0; i < n_rec; i++)
        if ((rc = bytes_recipe(s, models_recipe_get(i), &bytes[i])))
            return cli_fail("models show", rc);
    const uint64_t params = models_spec_params(s), compute = models_spec_params_compute(s);
    const uint64_t kv = models_spec_kv_bytes(s, 1024);
    if (json) {
        mb_json_t j;
        mb_json_init(&j, stdout, true);
        mb_json_obj_begin(&j);
        mb_json_key(&j, "name"); mb_json_str(&j, s->name);
        mb_json_key(&j, "display"); mb_json_str(&j, s->display);
        mb_json_key(&j, "source"); mb_json_str(&j, s->source);
        mb_json_key(&j, "arch"); mb_json_str(&j, engine_arch_name(s->hp.arch));
        mb_json_key(&j, "n_layer"); mb_json_int(&j, s->hp.n_layer);
        mb_json_key(&j, "n_embd"); mb_json_int(&j, s->hp.n_embd);
        mb_json_key(&j, "n_head"); mb_json_int(&j, s->hp.n_head);
        mb_json_key(&j, "n_head_kv"); mb_json_int(&j, s->hp.n_head_kv);
        mb_json_key(&j, "head_dim"); mb_json_int(&j, s->hp.head_dim);
        mb_json_key(&j, "n_ff"); mb_json_int(&j, s->hp.n_ff);
        mb_json_key(&j, "n_vocab"); mb_json_int(&j, s->hp.n_vocab);
        mb_json_key(&j, "n_ctx_train"); mb_json_int(&j, s->hp.n_ctx_train);
        mb_json_key(&j, "rope_theta"); mb_json_num(&j, s->hp.rope_theta);
        mb_json_key(&j, "norm_eps"); mb_json_num(&j, s->hp.norm_eps);
        mb_json_key(&j, "tied"); mb_json_bool(&j, s->hp.tied);
        mb_json_key(&j, "params"); mb_json_int(&j, (int64_t)params);
        mb_json_key(&j, "params_compute"); mb_json_int(&j, (int64_t)compute);
        mb_json_key(&j, "kv_bytes_per_1k_tokens"); mb_json_int(&j, (int64_t)kv);
        mb_json_key(&j, "bytes");
        mb_json_obj_begin(&j);
        for (int i = 0; i < n_rec; i++) {
            mb_json_key(&j, models_recipe_get(i)->name);
            mb_json_int(&j, (int64_t)bytes[i]);
        }
        mb_json_obj_end(&j);
        mb_json_key(&j, "exact"); mb_json_str(&j, s->exact);
        mb_json_key(&j, "approx"); mb_json_str(&j, s->approx);
        mb_json_obj_end(&j);
        fputc('\n', stdout);
        return MB_EXIT_OK;
    }
    show_text(s);
    printf("\nparameters      %" PRIu64 " (%.3fB); read per token: %" PRIu64 " (%.3fB)\n", params,
           (double)params / 1e9, compute, (double)compute / 1e9);
    char b[16];
    mb_fmt_bytes(kv, b, sizeof b);
    printf("KV cache (F16)  %s per 1k tokens (%" PRIu64 " bytes)\n", b, kv);
    printf("\nweights per quant recipe (per-tensor types as llama-quantize chooses them):\n");
    printf("  %-8s %12s %9s %6s\n", "recipe", "bytes", "size", "bpw");
    for (int i = 0; i < n_rec; i++) {
        mb_fmt_bytes(bytes[i], b, sizeof b);
        printf("  %-8s %12" PRIu64 " %9s %6.2f\n", models_recipe_get(i)->name, bytes[i], b,
               8.0 * (double)bytes[i] / (double)params);
    }
    return MB_EXIT_OK;
}
