/* GGUF files written and quantized by llama.cpp (../shared/fixtures/gguf-peer):
 * every file loads, and our logits for the fixed 64-token sequence agree
 * with the ones llama.cpp computed (mean KL divergence, top-1 agreement). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "models.h"

#define PEER MB_SHARED "/fixtures/gguf-peer"

static int read_tokens(int32_t *tok, int cap)
{
    FILE *f = fopen(PEER "/tokens.txt", "r");
    cr_assert(f);
    int n = 0, v;
    while (n < cap && fscanf(f, "%d", &v) == 1)
        tok[n++] = v;
    fclose(f);
    return n;
}

/* KL(P_ref || P_ours) of one row, and whether the argmaxes agree */
static double kld_row(const float *ref, const float *ours, int n, bool *same_top)
{
    double mr = -INFINITY, mo = -INFINITY;
    int ar = 0, ao = 0;
    for (int i = 0; i < n; i++) {
        if (ref[i] > mr) { mr = ref[i]; ar = i; }
        if (ours[i] > mo) { mo = ours[i]; ao = i; }
    }
    double zr = 0, zo = 0;
    for (int i = 0; i < n; i++) {
        zr += exp(ref[i] - mr);
        zo += exp(ours[i] - mo);
    }
    double lzr = log(zr), lzo = log(zo), kl = 0;
    for (int i = 0; i < n; i++) {
        double lr = ref[i] - mr - lzr, lo = ours[i] - mo - lzo;
        kl += exp(lr) * (lr - lo);
    }
    *same_top = ar == ao;
    return kl;
}

static void check_file(const char *stem, double max_kld, double min_top1)
{
    char path[512], lpath[512];
    snprintf(path, sizeof path, "%s/%s.gguf", PEER, stem);
    snprintf(lpath, sizeof lpath, "%s/%s.logits.f32", PEER, stem);
    if (access(path, R_OK))
        cr_skip("%s absent (../shared/fixtures/gguf-peer not available)", path);
    int32_t tok[64];
    int n = read_tokens(tok, 64);
    cr_assert_eq(n, 64);
    models_gguf_t *g = NULL;
    cr_assert_eq(models_gguf_open(path, &g), MB_OK, "%s", mb_err_msg());
    engine_model_t *m = NULL;
    cr_assert_eq(models_model_from_gguf(g, &m), MB_OK, "%s", mb_err_msg());
    const int V = m->hp.n_vocab;
    cr_assert_eq(V, 4096);
    float *ref = malloc((size_t)n * V * 4), *ours = malloc((size_t)n * V * 4);
    cr_assert(ref && ours);
    FILE *f = fopen(lpath, "rb");
    cr_assert(f);
    cr_assert_eq(fread(ref, 4, (size_t)n * V, f), (size_t)n * V);
    fclose(f);
    engine_pool_t *pool = NULL;
    cr_assert_eq(engine_pool_create(2, &pool), MB_OK);
    engine_ctx_t *ctx = NULL;
    engine_ctx_params_t p = {.n_ctx = 64, .n_batch = 64};
    cr_assert_eq(engine_ctx_create(m, pool, &p, &ctx), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(engine_eval(ctx, tok, n, ours, true), MB_OK, "%s", mb_err_msg());
    double kl = 0;
    int agree = 0;
    for (int i = 0; i < n; i++) {
        bool same;
        kl += kld_row(ref + (size_t)i * V, ours + (size_t)i * V, V, &same) / n;
        agree += same;
    }
    double top1 = (double)agree / n;
    cr_log_info("%-20s mean KLD %.6f  top-1 %.3f (%s)", stem, kl, top1, engine_kernels_name());
    cr_assert(kl <= max_kld && top1 >= min_top1, "%s: mean KLD %.5f (max %g), top-1 %.3f (min %g)",
              stem, kl, max_kld, top1, min_top1);
    engine_ctx_destroy(ctx);
    engine_pool_destroy(pool);
    models_model_free(m);
    models_gguf_close(g);
    free(ref);
    free(ours);
}

Test(models_loader, llama_f16) { check_file("tiny-llama-F16", 0.002, 0.95); }
Test(models_loader, llama_bf16) { check_file("tiny-llama-BF16", 0.002, 0.95); }
Test(models_loader, llama_q8_0) { check_file("tiny-llama-Q8_0", 0.002, 0.95); }
Test(models_loader, llama_q6_k) { check_file("tiny-llama-Q6_K", 0.005, 0.9); }
Test(models_loader, llama_q5_k_m) { check_file("tiny-llama-Q5_K_M", 0.005, 0.9); }
Test(models_loader, llama_q5_1) { check_file("tiny-llama-Q5_1", 0.005, 0.9); }
Test(models_loader, llama_q5_0) { check_file("tiny-llama-Q5_0", 0.005, 0.9); }
Test(models_loader, llama_q4_k_m) { check_file("tiny-llama-Q4_K_M", 0.005, 0.9); }
Test(models_loader, llama_q4_1) { check_file("tiny-llama-Q4_1", 0.005, 0.9); }
Test(models_loader, llama_q4_0) { check_file("tiny-llama-Q4_0", 0.005, 0.9); }
Test(models_loader, llama_iq4_nl) { check_file("tiny-llama-IQ4_NL", 0.005, 0.9); }
Test(models_loader, llama_q3_k_m) { check_file("tiny-llama-Q3_K_M", 0.005, 0.9); }
Test(models_loader, llama_q2_k) { check_file("tiny-llama-Q2_K", 0.005, 0.9); }
Test(models_loader, qwen3_f16) { check_file("tiny-qwen3-F16", 0.002, 0.95); }
Test(models_loader, qwen3_q8_0) { check_file("tiny-qwen3-Q8_0", 0.002, 0.95); }
Test(models_loader, qwen3_q4_k_m) { check_file("tiny-qwen3-Q4_K_M", 0.005, 0.9); }

Test(models_loader, catalog_shape_matches_the_files)
{
    const char *path = PEER "/tiny-qwen3-F16.gguf";
    if (access(path, R_OK))
        cr_skip("%s absent", path);
    models_gguf_t *g = NULL;
    cr_assert_eq(models_gguf_open(path, &g), MB_OK);
    engine_model_t *m = NULL;
    cr_assert_eq(models_model_from_gguf(g, &m), MB_OK, "%s", mb_err_msg());
    const models_spec_t *s;
    cr_assert_eq(models_catalog_find("tiny-qwen3", &s), MB_OK);
    cr_assert_eq(memcmp(&m->hp, &s->hp, sizeof m->hp), 0, "catalog tiny-qwen3 == the file's hparams");
    models_model_free(m);
    models_gguf_close(g);
}

/* `mobench models eval` writes the same layout and compares */
Test(models_loader, eval_command)
{
    const char *gguf = PEER "/tiny-qwen3-Q8_0.gguf";
    if (access(gguf, R_OK))
        cr_skip("%s absent", gguf);
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd, "%s models eval %s --tokens %s/tokens.txt --logits-out /tmp/mb_eval_%d.f32 "
             "--compare %s/tiny-qwen3-Q8_0.logits.f32 --threads 2 2>&1", MB_BIN, gguf, PEER,
             (int)getpid(), PEER);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    cr_assert_eq(pclose(p), 0, "%s", out);
    cr_assert(strstr(out, "mean KLD") && strstr(out, "top-1 agreement"), "%s", out);
    char path[64];
    snprintf(path, sizeof path, "/tmp/mb_eval_%d.f32", (int)getpid());
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    fseek(f, 0, SEEK_END);
    cr_assert_eq(ftell(f), 64L * 4096 * 4);
    fclose(f);
    unlink(path);
    /* a bad token file and a token outside the vocabulary are clear errors */
    FILE *bt = fopen("/tmp/mb_bad_tokens.txt", "w");
    fputs("1 2 x3\n", bt);
    fclose(bt);
    snprintf(cmd, sizeof cmd, "%s models eval %s --tokens /tmp/mb_bad_tokens.txt 2>&1", MB_BIN, gguf);
    p = popen(cmd, "r");
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    cr_assert_eq(WEXITSTATUS(pclose(p)), 1);
    cr_assert(strstr(out, "'x3' is not a token id"), "%s", out);
    bt = fopen("/tmp/mb_bad_tokens.txt", "w");
    fputs("1 4096\n", bt);
    fclose(bt);
    p = popen(cmd, "r");
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    cr_assert_eq(WEXITSTATUS(pclose(p)), 1);
    cr_assert(strstr(out, "outside the vocabulary"), "%s", out);
    unlink("/tmp/mb_bad_tokens.txt");
}

/* synthetic weights -> GGUF (models_build_gguf, llama.cpp's keys) -> loader:
 * the same model as the in-memory synthetic build, for every architecture */
static const char *tiny_specs[] = {
    "[model]\nname = rt-phi3\narch = phi3\n[hparams]\nn_vocab = 512\nn_embd = 64\nn_layer = 2\n"
    "n_head = 4\nn_head_kv = 4\nhead_dim = 16\nn_ff = 96\nn_ctx_train = 256\nnorm_eps = 1e-5\n"
    "tied = false\nrope_mode = neox\nrope_theta = 10000\nswa_window = 5\n",
    "[model]\nname = rt-smollm3\narch = smollm3\n[hparams]\nn_vocab = 512\nn_embd = 64\n"
    "n_layer = 4\nn_head = 4\nn_head_kv = 2\nhead_dim = 16\nn_ff = 96\nn_ctx_train = 256\n"
    "norm_eps = 1e-6\ntied = true\nrope_mode = norm\nrope_theta = 5000000\nnope_interval = 4\n",
    "[model]\nname = rt-llama\narch = llama\n[hparams]\nn_vocab = 512\nn_embd = 64\nn_layer = 2\n"
    "n_head = 4\nn_head_kv = 2\nhead_dim = 16\nn_ff = 96\nn_ctx_train = 256\nnorm_eps = 1e-5\n"
    "tied = true\nrope_mode = norm\nrope_theta = 500000\nrope_scaling = llama3\nrope_factor = 32\n"
    "rope_low_freq_factor = 1\nrope_high_freq_factor = 4\nrope_orig_ctx = 64\n",
    "[model]\nname = rt-gemma3n\narch = gemma3n\n[hparams]\nn_vocab = 512\nn_embd = 64\n"
    "n_layer = 10\nn_head = 4\nn_head_kv = 2\nhead_dim = 16\nn_ff = 96\nn_ctx_train = 256\n"
    "norm_eps = 1e-6\ntied = true\nffn_act = gelu_tanh\nrope_mode = neox\nrope_theta = 1000000\n"
    "rope_theta_swa = 10000\nqk_norm = true\nv_norm = true\npost_norms = true\nattn_scale = 1\n"
    "embd_scale = 8\nswa_window = 6\nswa_pattern = 5\nn_kv_shared = 4\nn_layer_sparse = 3\n"
    "act_sparsity = 0.95\nlaurel_rank = 8\nn_embd_per_layer = 8\nn_vocab_per_layer = 500\n"
    "final_softcap = 30\naltup_num_inputs = 4\n",
};

Test(models_loader, synthetic_gguf_round_trip_every_arch)
{
    const models_recipe_t *r;
    cr_assert_eq(models_recipe_find("F32", &r), MB_OK);
    for (size_t k = 0; k < MB_ARRAY_LEN(tiny_specs); k++) {
        models_spec_t spec;
        cr_assert_eq(models_spec_parse(tiny_specs[k], "rt.ini", &spec), MB_OK, "%s", mb_err_msg());
        char path[128];
        snprintf(path, sizeof path, "/tmp/mb_rt_%d_%zu.gguf", (int)getpid(), k);
        cr_assert_eq(models_build_gguf(&spec, r, 9, 1, path), MB_OK, "%s: %s", spec.name,
                     mb_err_msg());
        models_gguf_t *g = NULL;
        engine_model_t *a = NULL, *b = NULL;
        cr_assert_eq(models_gguf_open(path, &g), MB_OK, "%s", mb_err_msg());
        cr_assert_eq(models_model_from_gguf(g, &a), MB_OK, "%s: %s", spec.name, mb_err_msg());
        engine_hparams_t hp = a->hp;
        if (spec.hp.rope_llama3) { /* a GGUF carries llama3 scaling as rope_freqs.weight */
            cr_assert(a->rope_freqs.data && !hp.rope_llama3);
            hp.rope_llama3 = true;
            hp.rope_factor = spec.hp.rope_factor;
            hp.rope_low_freq = spec.hp.rope_low_freq;
            hp.rope_high_freq = spec.hp.rope_high_freq;
            hp.rope_orig_ctx = spec.hp.rope_orig_ctx;
        }
        cr_assert_eq(memcmp(&hp, &spec.hp, sizeof hp), 0,
                     "%s: hparams read back from the GGUF differ", spec.name);
        cr_assert_eq(models_synth_build(&spec, 9, ENGINE_TYPE_F32, &b), MB_OK);
        const int N = 12, V = spec.hp.n_vocab;
        int32_t tok[12];
        for (int i = 0; i < N; i++)
            tok[i] = (int32_t)((i * 131 + 7) % V);
        float *la = malloc((size_t)N * V * 4), *lb = malloc((size_t)N * V * 4);
        engine_ctx_params_t p = {.n_ctx = N};
        engine_ctx_t *ca = NULL, *cb = NULL;
        cr_assert_eq(engine_ctx_create(a, NULL, &p, &ca), MB_OK);
        cr_assert_eq(engine_ctx_create(b, NULL, &p, &cb), MB_OK);
        cr_assert_eq(engine_eval(ca, tok, N, la, true), MB_OK);
        cr_assert_eq(engine_eval(cb, tok, N, lb, true), MB_OK);
        cr_assert_eq(memcmp(la, lb, (size_t)N * V * 4), 0, "%s: logits differ", spec.name);
        engine_ctx_destroy(ca);
        engine_ctx_destroy(cb);
        free(la);
        free(lb);
        models_synth_free(b);
        models_model_free(a);
        models_gguf_close(g);
        unlink(path);
    }
}
