/* cmd_models_catalog.c: `mobench models list` and `mobench models show NAME`:
 * the compiled-in catalog with what each model costs (parameters, bytes per
 * quant recipe, KV cache bytes per 1k tokens); `mobench models eval FILE`:
 * a GGUF file's logits for a token sequence. Rows in cmd_models.c's table. */
#include "cli_opts.h"
#include "commands.h"
#include "mb.h"
#include "models.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    *n_pos = 0;
    *rc = MB_EXIT_OK;
    cli_opts_t op;
    cli_opts_init(&op, argc, argv, "", longopts);
    int oc;
    const char *v;
    while (!*rc && (oc = cli_opts_next(&op, &v)) != CLI_OPT_END) {
        if (oc == 'j')
            json = true;
        else if (oc != CLI_OPT_OPERAND)
            *rc = cli_opts_error(&op, cmd, oc);
        else if (*n_pos < 1)
            pos[(*n_pos)++] = (char *)v;
        else
            *rc = cli_usage_error(cmd, "unexpected argument '%s'", v);
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
    char *pos[1] = {NULL};
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
    char *pos[1] = {NULL};
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

/* ---- eval: one GGUF file's logits for a token sequence --------------------------- */

static int read_tokens_file(const char *path, int32_t **out, int *n)
{
    char *text = NULL;
    size_t len = 0;
    int rc = mb_file_read(path, 0, &text, &len);
    if (rc)
        return rc;
    int cap = 256, cnt = 0;
    int32_t *tok = malloc((size_t)cap * sizeof *tok);
    char *save = NULL;
    for (char *w = strtok_r(text, " \t\r\n,", &save); w && tok; w = strtok_r(NULL, " \t\r\n,", &save)) {
        int64_t v;
        if (mb_parse_i64(w, &v) || v < 0 || v > INT32_MAX) {
            rc = mb_err_set(MB_EFORMAT, "%s: '%s' is not a token id (whitespace-separated "
                            "non-negative integers)", path, w);
            break;
        }
        if (cnt == cap) {
            int32_t *t2 = realloc(tok, (size_t)cap * 2 * sizeof *tok);
            if (!t2) {
                free(tok);
                tok = NULL;
                break;
            }
            tok = t2;
            cap *= 2;
        }
        tok[cnt++] = (int32_t)v;
    }
    free(text);
    if (!tok)
        return mb_err_set(MB_ENOMEM, "out of memory reading %s", path);
    if (!rc && cnt == 0)
        rc = mb_err_set(MB_EFORMAT, "%s: no tokens", path);
    if (rc) {
        free(tok);
        return rc;
    }
    *out = tok;
    *n = cnt;
    return MB_OK;
}

/* KL(P_ref || P) of one row of logits; *top says whether the argmaxes agree. */
static double row_kld(const float *ref, const float *x, int n, bool *top)
{
    double mr = -INFINITY, mx = -INFINITY;
    int ar = 0, ax = 0;
    for (int i = 0; i < n; i++) {
        if (ref[i] > mr) { mr = ref[i]; ar = i; }
        if (x[i] > mx) { mx = x[i]; ax = i; }
    }
    double zr = 0, zx = 0;
    for (int i = 0; i < n; i++) {
        zr += exp(ref[i] - mr);
        zx += exp(x[i] - mx);
    }
    double lzr = log(zr), lzx = log(zx), kl = 0;
    for (int i = 0; i < n; i++) {
        double lr = ref[i] - mr - lzr;
        kl += exp(lr) * (lr - (x[i] - mx - lzx));
    }
    *top = ar == ax;
    return kl;
}

static void eval_help(void)
{
    printf("usage: mobench models eval FILE.gguf --tokens T.txt [--logits-out OUT.f32]\n"
           "                          [--compare REF.f32] [--threads N]\n\n"
           "Runs the tokens (whitespace-separated ids) as one batch from an empty cache and\n"
           "writes the logits of every position: n x n_vocab little-endian float32, row-major\n"
           "(position, vocab), the layout of ../shared/fixtures/gguf-peer/*.logits.f32, so\n"
           "two engines can be cross-checked. --compare prints the mean KL divergence of\n"
           "our next-token distributions from REF's and the top-1 agreement.\n");
}

int cmd_models_eval(int argc, char **argv)
{
    const char *file = NULL, *tokens_path = NULL, *out_path = NULL, *cmp_path = NULL;
    int threads = 0;
    enum { OPT_TOKENS = 1000, OPT_OUT, OPT_CMP, OPT_THREADS };
    static const struct option longopts[] = {
        {"tokens", required_argument, NULL, OPT_TOKENS},
        {"logits-out", required_argument, NULL, OPT_OUT},
        {"compare", required_argument, NULL, OPT_CMP},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_opts_t op;
    cli_opts_init(&op, argc, argv, "h", longopts);
    int oc;
    const char *v;
    while ((oc = cli_opts_next(&op, &v)) != CLI_OPT_END) {
        switch (oc) {
        case 'h':
            eval_help();
            return MB_EXIT_OK;
        case OPT_TOKENS: tokens_path = v; break;
        case OPT_OUT: out_path = v; break;
        case OPT_CMP: cmp_path = v; break;
        case OPT_THREADS: {
            int64_t x;
            if (mb_parse_i64(v, &x) || x < 1 || x > 256)
                return cli_usage_error("models eval", "--threads wants 1..256, got '%s'", v);
            threads = (int)x;
            break;
        }
        case CLI_OPT_OPERAND:
            if (file)
                return cli_usage_error("models eval", "unexpected argument '%s'", v);
            file = v;
            break;
        default:
            return cli_opts_error(&op, "models eval", oc);
        }
    }
    if (!file || !tokens_path)
        return cli_usage_error("models eval", "needs FILE.gguf and --tokens T.txt");
    if (threads == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc > 0 ? (int)MB_MIN(nc, 256) : 1;
    }
    int32_t *tok = NULL;
    int n = 0, rc;
    models_gguf_t *g = NULL;
    engine_model_t *m = NULL;
    engine_pool_t *pool = NULL;
    engine_ctx_t *ctx = NULL;
    float *logits = NULL, *ref = NULL;
    int exit_code = MB_EXIT_FAIL;
    if ((rc = read_tokens_file(tokens_path, &tok, &n)) || (rc = models_gguf_open(file, &g)) ||
        (rc = models_model_from_gguf(g, &m)) || (rc = engine_pool_create(threads, &pool)))
        goto done;
    const int V = m->hp.n_vocab;
    engine_ctx_params_t p = {.n_ctx = n, .n_batch = n};
    if ((rc = engine_ctx_create(m, pool, &p, &ctx)))
        goto done;
    if (!(logits = malloc((size_t)n * (size_t)V * sizeof *logits))) {
        rc = mb_err_set(MB_ENOMEM, "out of memory for %d x %d logits", n, V);
        goto done;
    }
    uint64_t t0 = mb_clock_ns();
    if ((rc = engine_eval(ctx, tok, n, logits, true)))
        goto done;
    double secs = (double)(mb_clock_ns() - t0) / 1e9;
    if (out_path && (rc = mb_file_write_atomic(out_path, logits, (size_t)n * V * sizeof *logits)))
        goto done;
    printf("file       %s\narch       %s\ntokens     %d\nvocab      %d\nkernels    %s, %d threads\n"
           "time       %.3f s\n", file, engine_arch_name(m->hp.arch), n, V, engine_kernels_name(),
           threads, secs);
    if (out_path)
        printf("logits     %s (%d x %d float32)\n", out_path, n, V);
    if (cmp_path) {
        char *raw = NULL;
        size_t len = 0;
        size_t want = (size_t)n * V * sizeof(float);
        if ((rc = mb_file_read(cmp_path, want + 1, &raw, &len)))
            goto done;
        if (len != want) {
            free(raw);
            rc = mb_err_set(MB_EFORMAT, "%s: %zu bytes, expected %zu (%d x %d float32)", cmp_path,
                            len, want, n, V);
            goto done;
        }
        ref = (float *)raw;
        double kl = 0;
        int agree = 0;
        for (int i = 0; i < n; i++) {
            bool same;
            kl += row_kld(ref + (size_t)i * V, logits + (size_t)i * V, V, &same) / n;
            agree += same;
        }
        printf("vs %s: mean KLD %.6f, top-1 agreement %.3f (%d/%d)\n", cmp_path, kl,
               (double)agree / n, agree, n);
    }
    exit_code = MB_EXIT_OK;
done:
    if (exit_code != MB_EXIT_OK)
        cli_fail("models eval", rc);
    free(ref);
    free(logits);
    engine_ctx_destroy(ctx);
    engine_pool_destroy(pool);
    models_model_free(m);
    models_gguf_close(g);
    free(tok);
    return exit_code;
}
