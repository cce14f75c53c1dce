/* reference.c: the naive F32 forward pass the engine is checked against.
 * Straight loops, one thread, no SIMD, no KV cache: every position of the
 * sequence is computed from scratch. Weights are dequantized with the
 * format's to_float; with kv_f16, K and V are rounded to F16 as the engine's
 * default cache stores them. Written for reading, not
 * speed: keep it that way. */
#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* W as F32, [rows][cols] (malloc'd), or NULL if absent; *oom set if the
 * allocation failed. */
static float *deq(const engine_tensor_t *t, bool *oom)
{
    if (!t->data && !t->packed)
        return NULL;
    int64_t cols = t->ne[0], rows = t->ne[1];
    float *w = malloc((size_t)(cols * rows) * sizeof(float));
    if (!w) {
        *oom = true;
        return NULL;
    }
    /* rows from data, or from the packed copy once the owner dropped data */
    engine_tensor_rows_f32(t, 0, rows, w); /* cannot fail: the model was validated */
    return w;
}

/* y[n_out] = W[n_out][n_in] x[n_in] */
static void linear(float *y, const float *w, const float *x, int n_in, int n_out)
{
    for (int r = 0; r < n_out; r++) {
        float s = 0;
        for (int i = 0; i < n_in; i++)
            s += w[(size_t)r * n_in + i] * x[i];
        y[r] = s;
    }
}

static void rms_norm(float *out, const float *x, const float *w, int n, float eps)
{
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / n + eps));
    for (int i = 0; i < n; i++)
        out[i] = x[i] * scale * (w ? w[i] : 1.0f);
}

static float round_f16(float x)
{
    return engine_f16_to_f32(engine_f32_to_f16(x));
}

/* RoPE as ggml defines it: the angle of pair i is pos * base^(-2i/D), the
 * power built by repeated float products, divided by a frequency factor
 * (rope_freqs.weight, or llama3's rule: long wavelengths / factor, short ones
 * kept, a smooth blend between). */
static void rope(float *x, int D, int pos, float theta, const engine_hparams_t *hp, bool llama3,
                 const float *factors)
{
    const float step = powf(theta, -2.0f / (float)D);
    float th = (float)pos;
    for (int i = 0; i < D / 2; i++, th *= step) {
        double freq = pow((double)theta, -2.0 * i / D);
        double ff = 1;
        if (factors) {
            ff = factors[i];
        } else if (llama3) {
            double wavelen = 2.0 * M_PI / freq;
            double low_wavelen = hp->rope_orig_ctx / hp->rope_low_freq;
            double high_wavelen = hp->rope_orig_ctx / hp->rope_high_freq;
            if (wavelen > low_wavelen) {
                ff = hp->rope_factor;
            } else if (wavelen >= high_wavelen) {
                double smooth = (hp->rope_orig_ctx / wavelen - hp->rope_low_freq) /
                                (hp->rope_high_freq - hp->rope_low_freq);
                ff = 1 / ((1 - smooth) / hp->rope_factor + smooth);
            }
        }
        float angle = th / (float)ff;
        float c = cosf(angle), s = sinf(angle);
        int a, b;
        if (hp->rope_mode == ENGINE_ROPE_NEOX) {
            a = i;
            b = i + D / 2;
        } else {
            a = 2 * i;
            b = 2 * i + 1;
        }
        float x0 = x[a], x1 = x[b];
        x[a] = x0 * c - x1 * s;
        x[b] = x0 * s + x1 * c;
    }
}

static float gelu_tanh(float x)
{
    return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

static double normal_quantile(double p)
{
    double lo = -10, hi = 10;
    for (int it = 0; it < 100; it++) {
        double mid = (lo + hi) / 2;
        if (0.5 * erfc(-mid / sqrt(2.0)) < p)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

int engine_ref_forward(const engine_model_t *m, const int32_t *tokens, int n, bool kv_f16,
                       float *logits)
{
    int rc = engine_model_validate(m);
    if (rc)
        return rc;
    const engine_hparams_t *hp = &m->hp;
    const int E = hp->n_embd, D = hp->head_dim, H = hp->n_head, HK = hp->n_head_kv;
    const int F = hp->n_ff, V = hp->n_vocab, L = hp->n_layer, P = hp->n_embd_per_layer;
    const int R = hp->laurel_rank;
    const float eps = hp->norm_eps;
    for (int t = 0; t < n; t++)
        if (tokens[t] < 0 || tokens[t] >= V)
            return mb_err_set(MB_EINVAL, "reference: token %d outside the vocabulary", tokens[t]);

    /* activations for the whole sequence */
    float *x = calloc((size_t)n * E, sizeof(float));        /* residual [n][E] */
    float *xn = calloc((size_t)n * E, sizeof(float));       /* normed input [n][E] */
    float *q = calloc((size_t)n * H * D, sizeof(float));    /* [n][H*D] */
    float *kk = calloc((size_t)L * n * HK * D, sizeof(float)); /* per layer [n][HK*D] */
    float *vv = calloc((size_t)L * n * HK * D, sizeof(float));
    float *att = calloc((size_t)n * H * D, sizeof(float));
    float *tmp = calloc((size_t)E + 2 * (size_t)F + (size_t)H * D + 2 * (size_t)HK * D, sizeof(float));
    float *tmp2 = calloc((size_t)E, sizeof(float));
    float *scores = calloc((size_t)n, sizeof(float));
    float *ple = P ? calloc((size_t)n * L * P, sizeof(float)) : NULL;
    float *lr = R ? calloc((size_t)R, sizeof(float)) : NULL;
    float *lrx = calloc((size_t)n * E, sizeof(float));
    float *w = NULL, *w2 = NULL, *w3 = NULL;
    bool oom = false;
    float *factors = deq(&m->rope_freqs, &oom); /* NULL when absent */
    if (!x || !xn || !q || !kk || !vv || !att || !tmp || !tmp2 || !scores || !lrx ||
        (P && !ple) || (R && !lr)) {
        rc = mb_err_set(MB_ENOMEM, "reference: out of memory");
        goto done;
    }

    /* embeddings */
    float *emb = deq(&m->tok_embd, &oom);
    if (!emb) {
        rc = mb_err_set(MB_ENOMEM, "reference: out of memory");
        goto done;
    }
    for (int t = 0; t < n; t++)
        for (int i = 0; i < E; i++)
            x[(size_t)t * E + i] = emb[(size_t)tokens[t] * E + i] *
                                   (hp->embd_scale > 0 ? hp->embd_scale : 1.0f);
    free(emb);

    if (P) {
        /* per-layer inputs: (rmsnorm(x Wproj / sqrt(E)) + table[token] * sqrt(P)) / sqrt(2) */
        float *proj = deq(&m->ple_model_proj, &oom), *tab = deq(&m->ple_embd, &oom);
        float *pnorm = deq(&m->ple_proj_norm, &oom);
        if (!proj || !tab || !pnorm) {
            free(proj);
            free(tab);
            free(pnorm);
            rc = mb_err_set(MB_ENOMEM, "reference: out of memory");
            goto done;
        }
        for (int t = 0; t < n; t++) {
            float *out = ple + (size_t)t * L * P;
            linear(out, proj, x + (size_t)t * E, E, L * P);
            int tok = tokens[t] < hp->n_vocab_per_layer ? tokens[t] : 0;
            for (int il = 0; il < L; il++) {
                float *s = out + (size_t)il * P;
                for (int i = 0; i < P; i++)
                    s[i] /= sqrtf((float)E);
                rms_norm(s, s, pnorm, P, eps);
                for (int i = 0; i < P; i++)
                    s[i] = (s[i] + tab[(size_t)tok * L * P + (size_t)il * P + i] * sqrtf((float)P)) /
                           sqrtf(2.0f);
            }
        }
        free(proj);
        free(tab);
        free(pnorm);
    }

    for (int il = 0; il < L; il++) {
        const engine_layer_t *l = &m->layers[il];
        const int src = engine_layer_kv_source(hp, il);
        const bool own = src == il;
        const int Hq = H * D, Hk = HK * D;
        float *an = deq(&l->attn_norm, &oom), *qn = deq(&l->q_norm, &oom);
        float *kn = deq(&l->k_norm, &oom), *pan = deq(&l->post_attn_norm, &oom);
        float *fn = deq(&l->ffn_norm, &oom), *pfn = deq(&l->post_ffn_norm, &oom);
        float *ln = deq(&l->laurel_norm, &oom), *pn = deq(&l->ple_norm, &oom);
        if (oom)
            goto layer_oom;
        float *K = kk + (size_t)src * n * Hk, *Vc = vv + (size_t)src * n * Hk;

        /* attention input and projections */
        for (int t = 0; t < n; t++)
            rms_norm(xn + (size_t)t * E, x + (size_t)t * E, an, E, eps);
        if (hp->arch == ENGINE_ARCH_PHI3) {
            w = deq(&l->wqkv, &oom);
            if (oom)
                goto layer_oom;
            for (int t = 0; t < n; t++) {
                linear(tmp, w, xn + (size_t)t * E, E, Hq + 2 * Hk);
                memcpy(q + (size_t)t * Hq, tmp, (size_t)Hq * sizeof(float));
                memcpy(K + (size_t)t * Hk, tmp + Hq, (size_t)Hk * sizeof(float));
                memcpy(Vc + (size_t)t * Hk, tmp + Hq + Hk, (size_t)Hk * sizeof(float));
            }
            free(w);
            w = NULL;
        } else {
            w = deq(&l->wq, &oom);
            if (oom)
                goto layer_oom;
            for (int t = 0; t < n; t++)
                linear(q + (size_t)t * Hq, w, xn + (size_t)t * E, E, Hq);
            free(w);
            w = NULL;
            if (own) {
                w = deq(&l->wk, &oom);
                w2 = deq(&l->wv, &oom);
                if (oom)
                    goto layer_oom;
                for (int t = 0; t < n; t++) {
                    linear(K + (size_t)t * Hk, w, xn + (size_t)t * E, E, Hk);
                    linear(Vc + (size_t)t * Hk, w2, xn + (size_t)t * E, E, Hk);
                }
                free(w);
                free(w2);
                w = w2 = NULL;
            }
        }
        bool swa = engine_layer_is_swa(hp, il);
        float theta = swa && hp->rope_theta_swa > 0 ? hp->rope_theta_swa : hp->rope_theta;
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < H; h++) {
                float *qh = q + (size_t)t * Hq + (size_t)h * D;
                if (hp->qk_norm)
                    rms_norm(qh, qh, qn, D, eps);
                if (engine_layer_has_rope(hp, il))
                    rope(qh, D, t, theta, hp, hp->rope_llama3 && !swa, swa ? NULL : factors);
            }
            for (int h = 0; h < HK && own; h++) {
                float *kh = K + (size_t)t * Hk + (size_t)h * D;
                float *vh = Vc + (size_t)t * Hk + (size_t)h * D;
                if (hp->qk_norm)
                    rms_norm(kh, kh, kn, D, eps);
                if (hp->v_norm)
                    rms_norm(vh, vh, NULL, D, eps);
                if (engine_layer_has_rope(hp, il))
                    rope(kh, D, t, theta, hp, hp->rope_llama3 && !swa, swa ? NULL : factors);
                for (int d = 0; d < D && kv_f16; d++) {
                    kh[d] = round_f16(kh[d]);
                    vh[d] = round_f16(vh[d]);
                }
            }
        }
        /* causal (optionally windowed) softmax attention, GQA */
        float scale = hp->attn_scale > 0 ? hp->attn_scale : 1.0f / sqrtf((float)D);
        for (int t = 0; t < n; t++) {
            int first = swa ? MB_MAX(0, t - hp->swa_window + 1) : 0;
            for (int h = 0; h < H; h++) {
                int g = h / (H / HK);
                const float *qh = q + (size_t)t * Hq + (size_t)h * D;
                float maxs = -INFINITY;
                for (int j = first; j <= t; j++) {
                    float s = 0;
                    for (int d = 0; d < D; d++)
                        s += qh[d] * K[(size_t)j * Hk + (size_t)g * D + d];
                    scores[j] = s * scale;
                    maxs = fmaxf(maxs, scores[j]);
                }
                float sum = 0;
                for (int j = first; j <= t; j++) {
                    scores[j] = expf(scores[j] - maxs);
                    sum += scores[j];
                }
                float *out = att + (size_t)t * Hq + (size_t)h * D;
                for (int d = 0; d < D; d++) {
                    float acc = 0;
                    for (int j = first; j <= t; j++)
                        acc += scores[j] / sum * Vc[(size_t)j * Hk + (size_t)g * D + d];
                    out[d] = acc;
                }
            }
        }
        /* LAuReL branch from the attention input */
        if (R) {
            w = deq(&l->laurel_l, &oom);
            w2 = deq(&l->laurel_r, &oom);
            if (oom)
                goto layer_oom;
            for (int t = 0; t < n; t++) {
                linear(lr, w, xn + (size_t)t * E, E, R);
                float *o = lrx + (size_t)t * E;
                linear(o, w2, lr, R, E);
                rms_norm(o, o, ln, E, eps);
                for (int i = 0; i < E; i++)
                    o[i] += xn[(size_t)t * E + i];
            }
            free(w);
            free(w2);
            w = w2 = NULL;
        }
        w = deq(&l->wo, &oom);
        if (oom)
            goto layer_oom;
        for (int t = 0; t < n; t++) {
            float *xt = x + (size_t)t * E;
            linear(tmp2, w, att + (size_t)t * Hq, Hq, E);
            if (hp->post_norms)
                rms_norm(tmp2, tmp2, pan, E, eps);
            for (int i = 0; i < E; i++)
                xt[i] += tmp2[i];
            if (R)
                for (int i = 0; i < E; i++)
                    xt[i] = (xt[i] + lrx[(size_t)t * E + i]) / sqrtf(2.0f);
        }
        free(w);
        w = NULL;

        /* feed-forward */
        double zcut = il < hp->n_layer_sparse ? normal_quantile(hp->act_sparsity) : 0;
        if (hp->arch == ENGINE_ARCH_PHI3) {
            w = deq(&l->w_gate_up, &oom);
        } else {
            w = deq(&l->w_gate, &oom);
            w2 = deq(&l->w_up, &oom);
        }
        w3 = deq(&l->w_down, &oom);
        if (oom)
            goto layer_oom;
        for (int t = 0; t < n; t++) {
            float *xt = x + (size_t)t * E;
            float *gate = tmp, *up = tmp + F;
            rms_norm(xn, xt, fn, E, eps);
            if (hp->arch == ENGINE_ARCH_PHI3) {
                linear(gate, w, xn, E, 2 * F); /* gate rows, then up rows */
            } else {
                linear(gate, w, xn, E, F);
                linear(up, w2, xn, E, F);
            }
            if (il < hp->n_layer_sparse) {
                double mean = 0, var = 0;
                for (int i = 0; i < F; i++)
                    mean += gate[i];
                mean /= F;
                for (int i = 0; i < F; i++)
                    var += (gate[i] - mean) * (gate[i] - mean);
                double cutoff = mean + sqrt(var / F) * zcut;
                for (int i = 0; i < F; i++)
                    gate[i] = gate[i] > cutoff ? (float)(gate[i] - cutoff) : 0.0f;
            }
            for (int i = 0; i < F; i++) {
                float a = hp->ffn_act == ENGINE_FFN_GELU_TANH
                              ? gelu_tanh(gate[i])
                              : gate[i] / (1.0f + expf(-gate[i]));
                gate[i] = a * up[i];
            }
            linear(tmp2, w3, gate, F, E);
            if (hp->post_norms)
                rms_norm(tmp2, tmp2, pfn, E, eps);
            for (int i = 0; i < E; i++)
                xt[i] += tmp2[i];
        }
        free(w);
        free(w2);
        free(w3);
        w = w2 = w3 = NULL;

        /* per-layer embedding branch */
        if (P) {
            w = deq(&l->ple_gate, &oom);
            w2 = deq(&l->ple_proj, &oom);
            if (oom)
                goto layer_oom;
            for (int t = 0; t < n; t++) {
                float *xt = x + (size_t)t * E;
                float *g = tmp;
                linear(g, w, xt, E, P);
                for (int i = 0; i < P; i++)
                    g[i] = gelu_tanh(g[i]) * ple[(size_t)t * L * P + (size_t)il * P + i];
                linear(tmp2, w2, g, P, E);
                rms_norm(tmp2, tmp2, pn, E, eps);
                for (int i = 0; i < E; i++)
                    xt[i] += tmp2[i];
            }
            free(w);
            free(w2);
            w = w2 = NULL;
        }
    layer_oom:
        free(an);
        free(qn);
        free(kn);
        free(pan);
        free(fn);
        free(pfn);
        free(ln);
        free(pn);
        if (oom) {
            rc = mb_err_set(MB_ENOMEM, "reference: out of memory dequantizing layer %d", il);
            goto done;
        }
    }

    /* output */
    {
        float *on = deq(&m->output_norm, &oom);
        w = deq(hp->tied ? &m->tok_embd : &m->output, &oom);
        if (!on || !w) {
            free(on);
            rc = mb_err_set(MB_ENOMEM, "reference: out of memory");
            goto done;
        }
        for (int t = 0; t < n; t++) {
            rms_norm(tmp2, x + (size_t)t * E, on, E, eps);
            float *lg = logits + (size_t)t * V;
            linear(lg, w, tmp2, E, V);
            if (hp->final_softcap > 0)
                for (int i = 0; i < V; i++)
                    lg[i] = hp->final_softcap * tanhf(lg[i] / hp->final_softcap);
        }
        free(on);
    }
done:
    free(factors);
    free(w);
    free(w2);
    free(w3);
    free(x);
    free(xn);
    free(q);
    free(kk);
    free(vv);
    free(att);
    free(tmp);
    free(tmp2);
    free(scores);
    free(ple);
    free(lr);
    free(lrx);
    return rc;
}
