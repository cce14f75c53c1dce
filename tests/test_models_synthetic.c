/* Synthetic weights: deterministic, trained-like statistics, and a model
 * built from them gives peaked next-token distributions. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"

static const models_spec_t *spec(const char *name)
{
    const models_spec_t *s;
    cr_assert_eq(models_catalog_find(name, &s), MB_OK, "%s", mb_err_msg());
    return s;
}

static models_tensor_info_t find_tensor(const models_spec_t *s, const char *name)
{
    models_tensor_info_t *t;
    int n;
    cr_assert_eq(models_spec_tensors(s, &t, &n), MB_OK);
    for (int i = 0; i < n; i++) {
        if (!strcmp(t[i].name, name)) {
            models_tensor_info_t r = t[i];
            free(t);
            return r;
        }
    }
    free(t);
    cr_assert_fail("no tensor %s", name);
    models_tensor_info_t none = {0};
    return none;
}

Test(models_synthetic, deterministic_per_model_seed_and_tensor)
{
    const models_spec_t *s = spec("tiny-llama");
    models_tensor_info_t t = find_tensor(s, "blk.1.attn_q.weight");
    size_t n = (size_t)models_tensor_nelem(&t);
    float *a = malloc(n * 4), *b = malloc(n * 4), *c = malloc(n * 4), *d = malloc(n * 4);
    cr_assert(a && b && c && d);
    cr_assert_eq(models_synth_tensor(s, 42, &t, a), MB_OK);
    cr_assert_eq(models_synth_tensor(s, 42, &t, b), MB_OK);
    cr_assert_eq(memcmp(a, b, n * 4), 0);
    cr_assert_eq(models_synth_tensor(s, 43, &t, c), MB_OK);
    cr_assert_neq(memcmp(a, c, n * 4), 0);
    /* rows in any chunks give the same values */
    const int64_t cols = t.ne[0], rows = t.ne[1];
    for (int64_t r = 0; r < rows; r += 37)
        cr_assert_eq(models_synth_rows(s, 42, &t, r, MB_MIN(37, rows - r), d + r * cols), MB_OK);
    cr_assert_eq(memcmp(a, d, n * 4), 0);
    cr_assert_eq(models_synth_rows(s, 42, &t, rows - 1, 2, d), MB_ERANGE);
    /* another tensor of the same shape differs */
    models_tensor_info_t t2 = find_tensor(s, "blk.2.attn_q.weight");
    cr_assert_eq(models_synth_tensor(s, 42, &t2, c), MB_OK);
    cr_assert_neq(memcmp(a, c, n * 4), 0);
    free(a);
    free(b);
    free(c);
    free(d);
}

Test(models_synthetic, trained_like_statistics)
{
    const models_spec_t *s = spec("tiny-llama");
    models_tensor_info_t t = find_tensor(s, "blk.0.ffn_gate.weight"); /* [256, 768] */
    const int64_t cols = t.ne[0], rows = t.ne[1];
    float *w = malloc((size_t)(cols * rows) * 4);
    cr_assert(w);
    cr_assert_eq(models_synth_tensor(s, 1, &t, w), MB_OK);
    /* statistics over the non-outlier columns */
    double *col_rms = calloc((size_t)cols, sizeof(double));
    double s2 = 0, s4 = 0;
    int64_t cnt = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < cols; i++) {
            double v = w[r * cols + i];
            col_rms[i] += v * v;
        }
    double sorted_med;
    {
        double *tmp = malloc((size_t)cols * sizeof(double));
        memcpy(tmp, col_rms, (size_t)cols * sizeof(double));
        for (int64_t i = 0; i < cols; i++) /* insertion sort: 256 values */
            for (int64_t j = i; j > 0 && tmp[j - 1] > tmp[j]; j--) {
                double x = tmp[j];
                tmp[j] = tmp[j - 1];
                tmp[j - 1] = x;
            }
        sorted_med = tmp[cols / 2];
        cr_assert(tmp[cols - 1] > 9 * sorted_med, "an outlier channel (x6 => x36 in power)");
        free(tmp);
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < cols; i++) {
            if (col_rms[i] > 4 * sorted_med)
                continue;
            double v = w[r * cols + i];
            s2 += v * v;
            s4 += v * v * v * v;
            cnt++;
        }
    double var = s2 / cnt, kurt = s4 / cnt / (var * var);
    double want = 1.0 / sqrt((double)cols);
    cr_assert(fabs(sqrt(var) - want) < 0.1 * want, "std %.4g, want %.4g", sqrt(var), want);
    cr_assert(kurt > 4.5, "kurtosis %.2f: tails should be heavier than a Gaussian's (3)", kurt);
    free(col_rms);

    /* norms: positive, around 1 (output norm around 2) */
    models_tensor_info_t nt = find_tensor(s, "blk.0.attn_norm.weight");
    float nv[256];
    cr_assert_eq(models_synth_tensor(s, 1, &nt, nv), MB_OK);
    for (int i = 0; i < 256; i++)
        cr_assert(nv[i] > 0.5f && nv[i] < 2.0f);
    nt = find_tensor(s, "output_norm.weight");
    cr_assert_eq(models_synth_tensor(s, 1, &nt, nv), MB_OK);
    for (int i = 0; i < 256; i++)
        cr_assert(nv[i] > 1.0f && nv[i] < 4.0f);

    /* quantization error is larger than on a plain Gaussian of the same size */
    const engine_type_traits_t *tr = engine_type_traits(ENGINE_TYPE_Q4_0);
    cr_assert(tr && tr->quantize && tr->to_float);
    size_t qbytes = engine_row_size(ENGINE_TYPE_Q4_0, cols) * (size_t)rows;
    void *q = malloc(qbytes);
    float *back = malloc((size_t)(cols * rows) * 4), *g = malloc((size_t)(cols * rows) * 4);
    uint64_t x = 12345;
    for (int64_t i = 0; i < cols * rows; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        double u1 = ((x >> 11) + 0.5) / 9007199254740992.0;
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        double u2 = ((x >> 11) + 0.5) / 9007199254740992.0;
        g[i] = (float)(want * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
    }
    double rel[2];
    float *src[2] = {w, g};
    for (int k = 0; k < 2; k++) {
        tr->quantize(src[k], q, rows, cols, NULL);
        tr->to_float(q, back, cols * rows);
        double e = 0, p = 0;
        for (int64_t i = 0; i < cols * rows; i++) {
            e += (back[i] - src[k][i]) * (double)(back[i] - src[k][i]);
            p += (double)src[k][i] * src[k][i];
        }
        rel[k] = sqrt(e / p);
    }
    cr_assert(rel[0] > 1.2 * rel[1], "Q4_0 relative RMSE: synthetic %.4f, gaussian %.4f", rel[0],
              rel[1]);
    free(q);
    free(back);
    free(g);
    free(w);
}

/* softmax top-1 probability of one row of logits */
static double top1_prob(const float *l, int n)
{
    float mx = l[0];
    for (int i = 1; i < n; i++)
        mx = fmaxf(mx, l[i]);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += exp((double)l[i] - mx);
    return 1.0 / sum;
}

static void check_peaked(const char *name)
{
    const models_spec_t *s = spec(name);
    engine_model_t *m = NULL;
    cr_assert_eq(models_synth_build(s, 7, ENGINE_TYPE_F32, &m), MB_OK, "%s", mb_err_msg());
    engine_ctx_t *ctx = NULL;
    engine_ctx_params_t p = {.n_ctx = 64, .n_batch = 32};
    cr_assert_eq(engine_ctx_create(m, NULL, &p, &ctx), MB_OK, "%s", mb_err_msg());
    const int N = 32, V = s->hp.n_vocab;
    int32_t tok[32];
    for (int i = 0; i < N; i++)
        tok[i] = (int32_t)((i * 2654435761u) % (uint32_t)V);
    float *lg = malloc((size_t)N * V * sizeof(float));
    cr_assert_eq(engine_eval(ctx, tok, N, lg, true), MB_OK, "%s", mb_err_msg());
    double mean = 0;
    for (int i = 0; i < N; i++)
        mean += top1_prob(lg + (size_t)i * V, V) / N;
    cr_log_info("%s: mean top-1 probability %.3f (uniform %.5f)", name, mean, 1.0 / V);
    cr_assert(mean > 100.0 / V, "%s: mean top-1 probability %.4f is near uniform (%.5f)", name,
              mean, 1.0 / V);
    free(lg);
    engine_ctx_destroy(ctx);
    models_synth_free(m);
}

Test(models_synthetic, logits_are_peaked_llama) { check_peaked("tiny-llama"); }
Test(models_synthetic, logits_are_peaked_qwen3) { check_peaked("tiny-qwen3"); }

Test(models_synthetic, f16_build_is_the_f32_build_rounded)
{
    const models_spec_t *s = spec("tiny-qwen3");
    engine_model_t *a = NULL, *b = NULL;
    cr_assert_eq(models_synth_build(s, 3, ENGINE_TYPE_F32, &a), MB_OK);
    cr_assert_eq(models_synth_build(s, 3, ENGINE_TYPE_F16, &b), MB_OK);
    const engine_tensor_t *x = &a->layers[2].w_down, *y = &b->layers[2].w_down;
    cr_assert_eq(y->type, ENGINE_TYPE_F16);
    cr_assert_eq(b->layers[2].q_norm.type, ENGINE_TYPE_F32, "norms stay F32");
    const float *xf = x->data;
    const engine_f16_t *yh = y->data;
    for (int64_t i = 0; i < x->ne[0] * x->ne[1]; i++)
        cr_assert_eq(yh[i], engine_f32_to_f16(xf[i]));
    cr_assert_eq(engine_model_weight_bytes(b) < engine_model_weight_bytes(a), true);
    models_synth_free(a);
    models_synth_free(b);
    engine_model_t *c = NULL;
    cr_assert_eq(models_synth_build(s, 3, ENGINE_TYPE_Q4_0, &c), MB_EINVAL);
    cr_assert_null(c);
    models_synth_free(NULL);
}
