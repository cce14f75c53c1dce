/* ppl.c: perplexity and KL divergence on real text, with llama-perplexity's
 * definitions (tools/perplexity/perplexity.cpp): the corpus tokenized once,
 * cut into windows of n_ctx tokens, the first token of each window replaced
 * by BOS when the model adds one, each window evaluated from an empty cache
 * and scored on its second half (positions n_ctx/2 .. n_ctx-2 predict the
 * next token). KLD against a base model's log-probabilities, which are first
 * written to a base-logits file (log-softmax in uint16 with a scale and an
 * offset per row, llama.cpp's compact form) and read back chunk by chunk, so
 * the two models are never in memory together and a saved file gives the
 * same figures as a fresh base run. docs/QUALITY.md. */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KLB_MAGIC "MBKLBASE"
#define KLB_VERSION 1u
/* log-probs more than this far below the row's maximum are stored as the
 * floor (llama.cpp: 16 nats) */
#define KLB_RANGE 16.0f

int bench_ppl_chunks(size_t n_tokens, const bench_ppl_opts_t *o, int *n_chunks)
{
    *n_chunks = 0;
    if (o->n_ctx < 4)
        return mb_err_set(MB_EINVAL, "perplexity: a context of %d tokens is too small: use -c 4 "
                          "or more (llama-perplexity's default is 512)", o->n_ctx);
    if (n_tokens < 2 * (size_t)o->n_ctx)
        return mb_err_set(MB_EINVAL, "perplexity: the corpus tokenizes to %zu tokens, but a "
                          "context of %d needs at least %d (two windows, as llama-perplexity "
                          "asks): use a longer text or a smaller -c",
                          n_tokens, o->n_ctx, 2 * o->n_ctx);
    size_t n = n_tokens / (size_t)o->n_ctx;
    if (o->max_chunks > 0 && (size_t)o->max_chunks < n)
        n = (size_t)o->max_chunks;
    if (n > (size_t)INT32_MAX / (size_t)o->n_ctx)
        return mb_err_set(MB_EINVAL, "perplexity: %zu windows of %d tokens: too many (use --chunks)",
                          n, o->n_ctx);
    *n_chunks = (int)n;
    return MB_OK;
}

/* ---- per-row arithmetic (float where llama.cpp uses float, so the figures
 * are the ones it would print for the same logits) ----------------------------- */

/* -log p(tok) of a row of logits */
static double row_nll(const float *lg, int nv, int tok)
{
    float mx = lg[0];
    for (int i = 1; i < nv; i++)
        mx = lg[i] > mx ? lg[i] : mx;
    double s = 0;
    for (int i = 0; i < nv; i++)
        s += expf(lg[i] - mx);
    return -((double)(lg[tok] - mx) - log(s));
}

/* Row of logits -> its log-softmax as uint16 with a scale and minimum in
 * front (2 floats), llama.cpp's layout; returns -log p(tok). */
static double row_pack(const float *lg, int nv, int tok, uint16_t *row)
{
    float mx = lg[0], mn = lg[0];
    for (int i = 1; i < nv; i++) {
        mx = lg[i] > mx ? lg[i] : mx;
        mn = lg[i] < mn ? lg[i] : mn;
    }
    if (mn < mx - KLB_RANGE)
        mn = mx - KLB_RANGE;
    double s = 0;
    for (int i = 0; i < nv; i++)
        s += expf(lg[i] - mx);
    const float lse = (float)log(s);
    const float scale = (mx - mn) / 65535.0f, minlp = mn - mx - lse;
    memcpy(row, &scale, sizeof scale);
    memcpy(row + 2, &minlp, sizeof minlp);
    uint16_t *q = row + 4;
    if (scale > 0) {
        const float inv = 1 / scale;
        for (int i = 0; i < nv; i++)
            q[i] = lg[i] > mn ? (uint16_t)lrintf(inv * (lg[i] - mn)) : 0;
    } else {
        memset(q, 0, (size_t)nv * sizeof *q);
    }
    return (double)(mx + lse - lg[tok]);
}

/* uint16 per row: 2 floats, then n_vocab values padded to an even count */
static size_t row_u16(int nv)
{
    return 4 + 2 * (((size_t)nv + 1) / 2);
}

typedef struct {
    double nll, nll2, nll_b, nll_b2, nll_nll_b, kld, kld2;
    int64_t same_top, count;
} kl_acc_t;

/* KL(P_base || P_q) of one position, llama.cpp's kl_divergence arithmetic. */
static double row_kld(const float *lg, int nv, const uint16_t *base, int tok, kl_acc_t *a)
{
    float mx = lg[0];
    int imax = 0;
    for (int i = 1; i < nv; i++)
        if (lg[i] > mx) {
            mx = lg[i];
            imax = i;
        }
    double s = 0;
    for (int i = 0; i < nv; i++)
        s += expf(lg[i] - mx);
    const float lse = (float)log(s);
    float scale, minlp;
    memcpy(&scale, base, sizeof scale);
    memcpy(&minlp, base + 2, sizeof minlp);
    const uint16_t *b = base + 4;
    const float nll = mx + lse - lg[tok];
    const float nll_b = -(scale * b[tok] + minlp);
    a->nll += nll;
    a->nll2 += (double)nll * nll;
    a->nll_b += nll_b;
    a->nll_b2 += (double)nll_b * nll_b;
    a->nll_nll_b += (double)nll * nll_b;
    const float top = mx + lse;
    double kl = 0;
    int imax_b = 0;
    float bmax = 0;
    for (int i = 0; i < nv; i++) {
        const float lb = scale * b[i] + minlp;
        if (i == 0 || lb > bmax) {
            bmax = lb;
            imax_b = i;
        }
        if (lb > -KLB_RANGE)
            kl += expf(lb) * (lb - lg[i] + top);
    }
    a->kld += kl;
    a->kld2 += kl * kl;
    a->same_top += imax == imax_b;
    a->count++;
    return kl;
}

/* mean and its standard error (llama.cpp: none below 11 values) */
static void mean_err(double sum, double sum2, int64_t n, double *mean, double *err)
{
    *mean = n > 0 ? sum / (double)n : NAN;
    double v = n > 0 ? sum2 / (double)n - *mean * *mean : 0;
    *err = v > 0 && n > 10 ? sqrt(v / (double)(n - 1)) : 0;
}

static double covariance(double sa, double sb, double sab, int64_t n)
{
    if (n < 10)
        return 0;
    double c = sab / (double)n - (sa / (double)n) * (sb / (double)n);
    return c / (double)(n - 1);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* llama-perplexity's percentile: linear between the two closest ranks */
static double pct(const float *v, size_t n, float f)
{
    if (f <= 0)
        return v[0];
    if (f >= 1)
        return v[n - 1];
    float p = f * (float)(n - 1);
    size_t ip = (size_t)p;
    p -= (float)ip;
    return (1 - p) * v[ip] + p * v[ip + 1 < n ? ip + 1 : n - 1];
}

/* ---- windows ------------------------------------------------------------------------- */

/* Window c as the model sees it: the corpus tokens, the first one BOS when
 * the model adds BOS. */
static void window(const int32_t *tokens, int c, const bench_ppl_opts_t *o, int32_t *w)
{
    memcpy(w, tokens + (size_t)c * o->n_ctx, (size_t)o->n_ctx * sizeof *w);
    if (o->add_bos)
        w[0] = o->bos;
}

static int check_model(const bench_ppl_model_t *m, const int32_t *tokens, size_t n)
{
    if (m->n_vocab < 2)
        return mb_err_set(MB_EINVAL, "perplexity: the model has %d tokens in its vocabulary",
                          m->n_vocab);
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= m->n_vocab)
            return mb_err_set(MB_ERANGE, "perplexity: token %zu is id %d, outside the model's "
                              "vocabulary of %d: the tokenizer and the model do not belong together",
                              i, (int)tokens[i], m->n_vocab);
    return MB_OK;
}

/* ---- base-logits file ------------------------------------------------------------------ */
/* Layout (little-endian): "MBKLBASE", u32 version, u32 n_vocab, u32 n_ctx,
 * u32 n_chunks, u32 first, u32 add_bos, i32 bos, 64 hex chars of the base
 * file's sha256, 64 of the corpus's, n_chunks x n_ctx i32 token ids (as
 * tokenized, before the BOS replacement), then per chunk n_ctx-1-first rows
 * of row_u16(n_vocab) uint16 (row_pack). The size must be exact. */
#define KLB_HEADER (8 + 7 * 4 + 64 + 64)

struct bench_klbase {
    FILE *f;
    char *path;
    bench_klbase_meta_t meta;
    int32_t *tokens;
    long rows_at; /* file offset of the first row */
};

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int bench_klbase_write(const char *path, const bench_klbase_meta_t *meta,
                       const bench_ppl_model_t *base, const int32_t *tokens, size_t n_tokens,
                       const bench_ppl_opts_t *o, bench_ppl_result_t *base_ppl)
{
    int n_chunks, rc = bench_ppl_chunks(n_tokens, o, &n_chunks);
    if (rc || (rc = check_model(base, tokens, (size_t)n_chunks * o->n_ctx)))
        return rc;
    const int nv = base->n_vocab, first = o->n_ctx / 2, nrow = o->n_ctx - 1 - first;
    const size_t ru = row_u16(nv);
    char *tmp = NULL;
    FILE *f = NULL;
    int32_t *w = malloc((size_t)o->n_ctx * sizeof *w);
    float *lg = malloc((size_t)(o->n_ctx - first) * nv * sizeof *lg);
    uint16_t *rows = malloc((size_t)nrow * ru * sizeof *rows);
    size_t tl = strlen(path) + 16;
    if (!w || !lg || !rows || !(tmp = malloc(tl))) {
        rc = mb_err_set(MB_ENOMEM, "base logits: out of memory for %d x %d logits", o->n_ctx, nv);
        goto out;
    }
    snprintf(tmp, tl, "%s.tmp", path);
    /* written beside the target and renamed at the end: an interrupted run
     * leaves no file that looks complete */
    if (!(f = fopen(tmp, "wb"))) {
        rc = mb_err_set(mb_err_from_errno(errno), "cannot write the base logits to %s: %s", tmp,
                        strerror(errno));
        goto out;
    }
    unsigned char h[KLB_HEADER];
    memcpy(h, KLB_MAGIC, 8);
    put_u32(h + 8, KLB_VERSION);
    put_u32(h + 12, (uint32_t)nv);
    put_u32(h + 16, (uint32_t)o->n_ctx);
    put_u32(h + 20, (uint32_t)n_chunks);
    put_u32(h + 24, (uint32_t)first);
    put_u32(h + 28, o->add_bos ? 1u : 0u);
    put_u32(h + 32, (uint32_t)o->bos);
    memcpy(h + 36, meta->base_sha256, 64);
    memcpy(h + 100, meta->corpus_sha256, 64);
    bool ok = fwrite(h, 1, sizeof h, f) == sizeof h;
    for (size_t i = 0; ok && i < (size_t)n_chunks * o->n_ctx; i++) {
        unsigned char b[4];
        put_u32(b, (uint32_t)tokens[i]);
        ok = fwrite(b, 1, 4, f) == 4;
    }
    double nll = 0, nll2 = 0;
    int64_t count = 0;
    for (int c = 0; ok && c < n_chunks; c++) {
        MB_INFO("base logits: window %d of %d", c + 1, n_chunks);
        window(tokens, c, o, w);
        if ((rc = base->eval(base->ctx, w, o->n_ctx, first, lg)))
            goto out;
        const int32_t *next = tokens + (size_t)c * o->n_ctx + first + 1;
        for (int r = 0; r < nrow; r++) {
            double v = row_pack(lg + (size_t)r * nv, nv, next[r], rows + (size_t)r * ru);
            nll += v;
            nll2 += v * v;
            count++;
        }
        ok = fwrite(rows, sizeof *rows, (size_t)nrow * ru, f) == (size_t)nrow * ru;
    }
    if (!ok || fflush(f) || fsync(fileno(f))) {
        rc = mb_err_set(MB_EIO, "cannot write the base logits to %s: %s", tmp, strerror(errno));
        goto out;
    }
    fclose(f);
    f = NULL;
    if (rename(tmp, path)) {
        rc = mb_err_set(MB_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        goto out;
    }
    if (base_ppl) {
        memset(base_ppl, 0, sizeof *base_ppl);
        base_ppl->n_ctx = o->n_ctx;
        base_ppl->n_chunks = n_chunks;
        base_ppl->n_scored = count;
        double m = nll / (double)count, v = nll2 / (double)count - m * m;
        base_ppl->ppl = exp(m);
        base_ppl->ppl_err = v > 0 ? sqrt(v / (double)(count - 1)) * base_ppl->ppl : 0;
    }
out:
    if (f) {
        fclose(f);
        unlink(tmp);
    } else if (rc && tmp) {
        unlink(tmp);
    }
    free(tmp);
    free(w);
    free(lg);
    free(rows);
    return rc;
}

void bench_klbase_close(bench_klbase_t *k)
{
    if (!k)
        return;
    if (k->f)
        fclose(k->f);
    free(k->tokens);
    free(k->path);
    free(k);
}

const bench_klbase_meta_t *bench_klbase_meta(const bench_klbase_t *k)
{
    return &k->meta;
}

int bench_klbase_open(const char *path, const bench_klbase_meta_t *expect, bench_klbase_t **out)
{
    *out = NULL;
    int rc = MB_OK;
    bench_klbase_t *k = calloc(1, sizeof *k);
    if (!k || !(k->path = mb_strdup(path))) {
        free(k);
        return mb_err_set(MB_ENOMEM, "out of memory");
    }
    if (!(k->f = fopen(path, "rb"))) {
        rc = mb_err_set(mb_err_from_errno(errno), "cannot read the base logits file %s: %s", path,
                        strerror(errno));
        goto err;
    }
    unsigned char h[KLB_HEADER];
    if (fread(h, 1, sizeof h, k->f) != sizeof h || memcmp(h, KLB_MAGIC, 8)) {
        rc = mb_err_set(MB_EFORMAT, "%s is not a mobench base-logits file (no %s header): pass "
                        "another path to --kl-base-logits, or remove it to have it written again",
                        path, KLB_MAGIC);
        goto err;
    }
    if (get_u32(h + 8) != KLB_VERSION) {
        rc = mb_err_set(MB_EVERSION, "%s: base-logits format version %u, this mobench reads %u: "
                        "remove the file to have it written again", path, get_u32(h + 8), KLB_VERSION);
        goto err;
    }
    bench_klbase_meta_t *m = &k->meta;
    m->n_vocab = (int)get_u32(h + 12);
    m->n_ctx = (int)get_u32(h + 16);
    m->n_chunks = (int)get_u32(h + 20);
    m->add_bos = get_u32(h + 28) != 0;
    m->bos = (int32_t)get_u32(h + 32);
    memcpy(m->base_sha256, h + 36, 64);
    m->base_sha256[64] = '\0';
    memcpy(m->corpus_sha256, h + 100, 64);
    m->corpus_sha256[64] = '\0';
    if (m->n_vocab < 2 || m->n_ctx < 4 || m->n_chunks < 1 || (int)get_u32(h + 24) != m->n_ctx / 2 ||
        (uint64_t)m->n_chunks * (uint64_t)m->n_ctx > (uint64_t)INT32_MAX) {
        rc = mb_err_set(MB_EFORMAT, "%s: damaged base-logits header (n_vocab %d, n_ctx %d, chunks %d)",
                        path, m->n_vocab, m->n_ctx, m->n_chunks);
        goto err;
    }
    const size_t n_tok = (size_t)m->n_chunks * m->n_ctx;
    const uint64_t want = KLB_HEADER + 4 * (uint64_t)n_tok +
                          (uint64_t)m->n_chunks * (uint64_t)(m->n_ctx - 1 - m->n_ctx / 2) *
                              row_u16(m->n_vocab) * 2;
    if (fseek(k->f, 0, SEEK_END) || (uint64_t)ftell(k->f) != want) {
        rc = mb_err_set(MB_EFORMAT, "%s: %ld bytes, but its header describes %llu: the file is "
                        "truncated or damaged; remove it to have it written again", path,
                        ftell(k->f), (unsigned long long)want);
        goto err;
    }
    if (fseek(k->f, KLB_HEADER, SEEK_SET) || !(k->tokens = malloc(n_tok * sizeof *k->tokens))) {
        rc = mb_err_set(MB_ENOMEM, "%s: out of memory for %zu token ids", path, n_tok);
        goto err;
    }
    for (size_t i = 0; i < n_tok; i++) {
        unsigned char b[4];
        if (fread(b, 1, 4, k->f) != 4) {
            rc = mb_err_set(MB_EIO, "%s: read error", path);
            goto err;
        }
        k->tokens[i] = (int32_t)get_u32(b);
    }
    m->tokens = k->tokens;
    k->rows_at = ftell(k->f);
    if (expect) {
        const char *what = NULL;
        char a[96] = "", b[96] = "";
        if (expect->base_sha256[0] && strcmp(expect->base_sha256, m->base_sha256)) {
            what = "base model";
            snprintf(a, sizeof a, "sha256 %.16s...", m->base_sha256);
            snprintf(b, sizeof b, "sha256 %.16s...", expect->base_sha256);
        } else if (expect->corpus_sha256[0] && strcmp(expect->corpus_sha256, m->corpus_sha256)) {
            what = "corpus";
            snprintf(a, sizeof a, "sha256 %.16s...", m->corpus_sha256);
            snprintf(b, sizeof b, "sha256 %.16s...", expect->corpus_sha256);
        } else if (expect->n_ctx && expect->n_ctx != m->n_ctx) {
            what = "context";
            snprintf(a, sizeof a, "-c %d", m->n_ctx);
            snprintf(b, sizeof b, "-c %d", expect->n_ctx);
        } else if (expect->n_vocab && expect->n_vocab != m->n_vocab) {
            what = "vocabulary";
            snprintf(a, sizeof a, "%d tokens", m->n_vocab);
            snprintf(b, sizeof b, "%d tokens", expect->n_vocab);
        } else if (expect->n_chunks && expect->n_chunks > m->n_chunks) {
            what = "number of windows";
            snprintf(a, sizeof a, "%d", m->n_chunks);
            snprintf(b, sizeof b, "%d", expect->n_chunks);
        } else if (expect->tokens && expect->n_chunks &&
                   memcmp(expect->tokens, m->tokens,
                          (size_t)expect->n_chunks * m->n_ctx * sizeof *m->tokens)) {
            what = "token ids";
            snprintf(a, sizeof a, "those of another tokenization");
            snprintf(b, sizeof b, "this model's tokenization of the corpus");
        }
        if (what) {
            rc = mb_err_set(MB_EINVAL, "%s was written for another %s (%s; this run has %s): "
                            "pass another path to --kl-base-logits, or remove the file to have it "
                            "written again from --kl-base", path, what, a, b);
            goto err;
        }
    }
    *out = k;
    return MB_OK;
err:
    bench_klbase_close(k);
    return rc;
}

/* ---- the run ------------------------------------------------------------------------- */

int bench_ppl_run(const bench_ppl_model_t *m, const int32_t *tokens, size_t n_tokens,
                  const bench_ppl_opts_t *o, bench_klbase_t *base, bench_ppl_result_t *out)
{
    memset(out, 0, sizeof *out);
    int n_chunks, rc = bench_ppl_chunks(n_tokens, o, &n_chunks);
    if (rc || (rc = check_model(m, tokens, (size_t)n_chunks * o->n_ctx)))
        return rc;
    const int nv = m->n_vocab, first = o->n_ctx / 2, nrow = o->n_ctx - 1 - first;
    const size_t ru = row_u16(nv);
    if (base) {
        const bench_klbase_meta_t *bm = &base->meta;
        if (bm->n_vocab != nv || bm->n_ctx != o->n_ctx || bm->n_chunks < n_chunks ||
            memcmp(bm->tokens, tokens, (size_t)n_chunks * o->n_ctx * sizeof *tokens))
            return mb_err_set(MB_EINVAL, "%s does not hold this run's windows (vocabulary %d vs "
                              "%d, -c %d vs %d, %d windows vs %d, or other token ids)", base->path,
                              bm->n_vocab, nv, bm->n_ctx, o->n_ctx, bm->n_chunks, n_chunks);
        if (fseek(base->f, base->rows_at, SEEK_SET))
            return mb_err_set(MB_EIO, "%s: cannot seek", base->path);
    }
    int32_t *w = malloc((size_t)o->n_ctx * sizeof *w);
    float *lg = malloc((size_t)(o->n_ctx - first) * nv * sizeof *lg);
    uint16_t *rows = base ? malloc((size_t)nrow * ru * sizeof *rows) : NULL;
    float *klds = base ? malloc((size_t)n_chunks * nrow * sizeof *klds) : NULL;
    if (!w || !lg || (base && (!rows || !klds))) {
        rc = mb_err_set(MB_ENOMEM, "perplexity: out of memory for %d x %d logits", o->n_ctx, nv);
        goto out;
    }
    double nll = 0, nll2 = 0;
    int64_t count = 0;
    kl_acc_t a = {0};
    for (int c = 0; c < n_chunks; c++) {
        MB_INFO("perplexity: window %d of %d", c + 1, n_chunks);
        window(tokens, c, o, w);
        if ((rc = m->eval(m->ctx, w, o->n_ctx, first, lg)))
            goto out;
        if (base && fread(rows, sizeof *rows, (size_t)nrow * ru, base->f) != (size_t)nrow * ru) {
            rc = mb_err_set(MB_EIO, "%s: cannot read the rows of window %d", base->path, c + 1);
            goto out;
        }
        const int32_t *next = tokens + (size_t)c * o->n_ctx + first + 1;
        for (int r = 0; r < nrow; r++) {
            const float *row = lg + (size_t)r * nv;
            if (base) {
                int64_t at = a.count; /* row_kld counts the position */
                klds[at] = (float)row_kld(row, nv, rows + (size_t)r * ru, next[r], &a);
            } else {
                double v = row_nll(row, nv, next[r]);
                nll += v;
                nll2 += v * v;
            }
            count++;
        }
    }
    out->n_ctx = o->n_ctx;
    out->n_chunks = n_chunks;
    out->n_scored = count;
    if (!base) {
        /* llama-perplexity's final estimate */
        double mn = nll / (double)count, v = nll2 / (double)count - mn * mn;
        out->ppl = exp(mn);
        out->ppl_err = v > 0 ? sqrt(v / (double)(count - 1)) * out->ppl : 0;
        goto out;
    }
    /* llama-perplexity --kl-divergence's statistics */
    double lp, lp_e, lb, lb_e;
    mean_err(a.nll, a.nll2, a.count, &lp, &lp_e);
    mean_err(a.nll_b, a.nll_b2, a.count, &lb, &lb_e);
    double cov = covariance(a.nll, a.nll_b, a.nll_nll_b, a.count);
    out->kl = true;
    out->ppl = exp(lp);
    out->ppl_err = out->ppl * lp_e;
    out->ppl_base = exp(lb);
    out->ppl_base_err = out->ppl_base * lb_e;
    out->ln_ratio = lp - lb;
    double lr2 = lp_e * lp_e + lb_e * lb_e - 2 * cov;
    out->ln_ratio_err = lr2 > 0 ? sqrt(lr2) : 0;
    out->ppl_ratio = exp(out->ln_ratio);
    out->ppl_ratio_err = out->ppl_ratio * out->ln_ratio_err;
    mean_err(a.kld, a.kld2, a.count, &out->kld_mean, &out->kld_err);
    size_t n = (size_t)a.count;
    qsort(klds, n, sizeof *klds, cmp_float);
    out->kld_max = klds[n - 1];
    out->kld_min = klds[0];
    out->kld_median = n % 2 ? klds[n / 2] : 0.5f * (klds[n / 2] + klds[n / 2 - 1]);
    out->kld_p999 = pct(klds, n, 0.999f);
    out->kld_p99 = pct(klds, n, 0.990f);
    out->kld_p95 = pct(klds, n, 0.950f);
    out->kld_p90 = pct(klds, n, 0.900f);
    out->kld_p10 = pct(klds, n, 0.100f);
    out->kld_p05 = pct(klds, n, 0.050f);
    out->kld_p01 = pct(klds, n, 0.010f);
    out->kld_p001 = pct(klds, n, 0.001f);
    out->top1_agree = (double)a.same_top / (double)a.count;
    out->top1_err = a.count > 1 ? sqrt(out->top1_agree * (1 - out->top1_agree) / (double)(a.count - 1)) : 0;
out:
    free(w);
    free(lg);
    free(rows);
    free(klds);
    return rc;
}

/* ---- the corpus ------------------------------------------------------------------------ */

/* Offset of the first byte that is not part of valid UTF-8, or len. */
static size_t utf8_bad(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return i;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
                return i;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return i;
        i += n + 1;
    }
    return len;
}

int bench_corpus_check(const char *name, const char *text, size_t len)
{
    if (len == 0)
        return mb_err_set(MB_EINVAL, "%s is empty: give a text file (a corpus needs at least two "
                          "windows of tokens, e.g. wiki.test.raw)", name);
    const char *nul = memchr(text, '\0', len);
    if (nul)
        return mb_err_set(MB_EFORMAT, "%s has a NUL byte at offset %zu: it is a binary file, "
                          "not text; give a UTF-8 text file", name, (size_t)(nul - text));
    size_t bad = utf8_bad((const unsigned char *)text, len);
    if (bad < len)
        return mb_err_set(MB_EFORMAT, "%s is not valid UTF-8 (byte 0x%02x at offset %zu): "
                          "convert it to UTF-8 text first (e.g. iconv)", name,
                          (unsigned)(unsigned char)text[bad], bad);
    return MB_OK;
}

int bench_corpus_load(const char *path, char **text, size_t *len, char sha256[65])
{
    return bench_text_load("corpus", path, text, len, sha256);
}

int bench_text_load(const char *what, const char *path, char **text, size_t *len, char sha256[65])
{
    *text = NULL;
    *len = 0;
    /* 1 GiB is far more than any evaluation corpus (wiki.test.raw is 1.3 MB) */
    int rc = mb_file_read(path, (size_t)1 << 30, text, len);
    if (rc)
        return rc;
    char name[1100];
    snprintf(name, sizeof name, "%s %s", what, path);
    if ((rc = bench_corpus_check(name, *text, *len))) {
        free(*text);
        *text = NULL;
        *len = 0;
        return rc;
    }
    mb_sha256_hex(*text, *len, sha256);
    return MB_OK;
}
