/* bench/ppl.c on fake models: perplexity and KLD as llama-perplexity defines
 * them (windows, BOS replacement, second-half scoring, error estimates),
 * the base-logits file (round trip, refusals), corpus checks. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define NV 37

/* A causal fake: logits at position p depend on the token there and on the
 * sum of the tokens before it (so the window's first token, BOS or not,
 * matters at every position). tilt changes the model slightly. */
typedef struct {
    double tilt;
    int calls;
} fake_t;

static float fake_logit(const fake_t *f, int32_t tok, int64_t prefix, int i)
{
    return (float)(sin(0.7 * tok * (i + 1) + 0.013 * (double)prefix) * 3.0 +
                   f->tilt * cos(1.3 * i + tok));
}

static int fake_eval(void *ctx, const int32_t *tokens, int n, int first, float *logits)
{
    fake_t *f = ctx;
    f->calls++;
    int64_t prefix = 0;
    for (int p = 0; p < n; p++) {
        if (p >= first)
            for (int i = 0; i < NV; i++)
                logits[(size_t)(p - first) * NV + i] = fake_logit(f, tokens[p], prefix, i);
        prefix += tokens[p];
    }
    return MB_OK;
}

static int32_t *corpus(size_t n, uint64_t seed)
{
    int32_t *t = malloc(n * sizeof *t);
    cr_assert(t);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        t[i] = (int32_t)(3 + (seed >> 33) % (NV - 3));
    }
    return t;
}

/* log p(i) of position p of a window, in double, straight from the fake */
static void logprobs(const fake_t *f, const int32_t *w, int p, double *lp)
{
    int64_t prefix = 0;
    for (int k = 0; k < p; k++)
        prefix += w[k];
    double mx = -INFINITY, z = 0;
    for (int i = 0; i < NV; i++)
        mx = fmax(mx, fake_logit(f, w[p], prefix, i));
    for (int i = 0; i < NV; i++)
        z += exp(fake_logit(f, w[p], prefix, i) - mx);
    for (int i = 0; i < NV; i++)
        lp[i] = fake_logit(f, w[p], prefix, i) - mx - log(z);
}

/* The definition written out again: windows, BOS, scored half, error. */
static void reference_ppl(const fake_t *f, const int32_t *tok, int n_ctx, int n_chunks,
                          bool add_bos, double *ppl, double *err)
{
    double s = 0, s2 = 0;
    int64_t n = 0;
    int32_t *w = malloc((size_t)n_ctx * sizeof *w);
    double lp[NV];
    for (int c = 0; c < n_chunks; c++) {
        memcpy(w, tok + (size_t)c * n_ctx, (size_t)n_ctx * sizeof *w);
        if (add_bos)
            w[0] = 1;
        for (int p = n_ctx / 2; p < n_ctx - 1; p++) {
            logprobs(f, w, p, lp);
            double v = -lp[tok[(size_t)c * n_ctx + p + 1]];
            s += v;
            s2 += v * v;
            n++;
        }
    }
    free(w);
    double m = s / n, var = s2 / n - m * m;
    *ppl = exp(m);
    *err = sqrt(var / (n - 1)) * *ppl;
}

Test(bench_ppl, matches_the_definition)
{
    fake_t f = {0};
    bench_ppl_model_t m = {&f, NV, fake_eval};
    const int n_ctx = 64;
    size_t n = 5 * n_ctx + 17; /* 5 windows, the rest ignored */
    int32_t *tok = corpus(n, 7);
    for (int bos = 0; bos < 2; bos++) {
        bench_ppl_opts_t o = {.n_ctx = n_ctx, .add_bos = bos, .bos = 1};
        bench_ppl_result_t r;
        f.calls = 0;
        cr_assert_eq(bench_ppl_run(&m, tok, n, &o, NULL, &r), MB_OK, "%s", mb_err_msg());
        cr_assert_eq(r.n_chunks, 5);
        cr_assert_eq(f.calls, 5);
        cr_assert_eq(r.n_scored, 5 * (n_ctx - 1 - n_ctx / 2));
        cr_assert(!r.kl);
        double ppl, err;
        reference_ppl(&f, tok, n_ctx, 5, bos, &ppl, &err);
        cr_assert(fabs(r.ppl / ppl - 1) < 1e-5, "ppl %.8f vs %.8f", r.ppl, ppl);
        cr_assert(fabs(r.ppl_err / err - 1) < 1e-4, "err %.8f vs %.8f", r.ppl_err, err);
    }
    /* BOS replacement changes the figure (the fake sees the first token) */
    bench_ppl_result_t a, b;
    bench_ppl_opts_t o0 = {.n_ctx = n_ctx, .add_bos = false}, o1 = {.n_ctx = n_ctx, .add_bos = true, .bos = 1};
    cr_assert_eq(bench_ppl_run(&m, tok, n, &o0, NULL, &a), MB_OK);
    cr_assert_eq(bench_ppl_run(&m, tok, n, &o1, NULL, &b), MB_OK);
    cr_assert_neq(a.ppl, b.ppl);
    free(tok);
}

Test(bench_ppl, chunks_limit_and_short_corpus)
{
    fake_t f = {0};
    bench_ppl_model_t m = {&f, NV, fake_eval};
    int32_t *tok = corpus(400, 3);
    bench_ppl_opts_t o = {.n_ctx = 100, .max_chunks = 2};
    bench_ppl_result_t r;
    cr_assert_eq(bench_ppl_run(&m, tok, 400, &o, NULL, &r), MB_OK);
    cr_assert_eq(r.n_chunks, 2);
    double ppl, err;
    reference_ppl(&f, tok, 100, 2, false, &ppl, &err);
    cr_assert(fabs(r.ppl / ppl - 1) < 1e-5);
    /* 199 tokens for -c 100: the message says 200 are needed */
    f.calls = 0;
    cr_assert_eq(bench_ppl_run(&m, tok, 199, &o, NULL, &r), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "199 tokens") && strstr(mb_err_msg(), "at least 200"), "%s",
              mb_err_msg());
    cr_assert_eq(f.calls, 0);
    int nc;
    cr_assert_eq(bench_ppl_chunks(200, &(bench_ppl_opts_t){.n_ctx = 100}, &nc), MB_OK);
    cr_assert_eq(nc, 2);
    cr_assert_eq(bench_ppl_chunks(1000, &(bench_ppl_opts_t){.n_ctx = 2}, &nc), MB_EINVAL);
    /* a token outside the vocabulary */
    tok[5] = NV;
    o.max_chunks = 0;
    cr_assert_eq(bench_ppl_run(&m, tok, 400, &o, NULL, &r), MB_ERANGE);
    cr_assert(strstr(mb_err_msg(), "outside the model's vocabulary"), "%s", mb_err_msg());
    free(tok);
}

static void tmp_path(char *buf, size_t len, const char *tag)
{
    snprintf(buf, len, "/tmp/mb_test_ppl_%d_%s.klb", (int)getpid(), tag);
    unlink(buf);
}

static bench_klbase_meta_t meta_of(const char *base, const char *corpus)
{
    bench_klbase_meta_t k;
    memset(&k, 0, sizeof k);
    snprintf(k.base_sha256, sizeof k.base_sha256, "%064d", 0);
    memset(k.base_sha256, base[0], 64);
    memset(k.corpus_sha256, corpus[0], 64);
    return k;
}

Test(bench_ppl, kld_against_the_definition)
{
    fake_t fb = {0}, fq = {.tilt = 0.4};
    bench_ppl_model_t mb = {&fb, NV, fake_eval}, mq = {&fq, NV, fake_eval};
    const int n_ctx = 48, n_chunks = 6;
    size_t n = (size_t)n_ctx * n_chunks;
    int32_t *tok = corpus(n, 11);
    bench_ppl_opts_t o = {.n_ctx = n_ctx, .add_bos = true, .bos = 1};
    char path[256];
    tmp_path(path, sizeof path, "kld");
    bench_klbase_meta_t meta = meta_of("b", "c");
    bench_ppl_result_t bp, r, self;
    cr_assert_eq(bench_klbase_write(path, &meta, &mb, tok, n, &o, &bp), MB_OK, "%s", mb_err_msg());
    double ppl_b, err_b;
    reference_ppl(&fb, tok, n_ctx, n_chunks, true, &ppl_b, &err_b);
    cr_assert(fabs(bp.ppl / ppl_b - 1) < 1e-5);
    bench_klbase_t *k = NULL;
    cr_assert_eq(bench_klbase_open(path, &meta, &k), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(bench_ppl_run(&mq, tok, n, &o, k, &r), MB_OK, "%s", mb_err_msg());
    cr_assert(r.kl);
    /* independent: exact KL in double, top-1, the ppl of each */
    int32_t *w = malloc((size_t)n_ctx * sizeof *w);
    double lb[NV], lq[NV], kl = 0, kl2 = 0, nq = 0, nb = 0;
    int same = 0, cnt = 0;
    double *all = malloc(n * sizeof *all);
    for (int c = 0; c < n_chunks; c++) {
        memcpy(w, tok + (size_t)c * n_ctx, (size_t)n_ctx * sizeof *w);
        w[0] = 1;
        for (int p = n_ctx / 2; p < n_ctx - 1; p++) {
            logprobs(&fb, w, p, lb);
            logprobs(&fq, w, p, lq);
            double d = 0;
            int ab = 0, aq = 0;
            for (int i = 0; i < NV; i++) {
                d += exp(lb[i]) * (lb[i] - lq[i]);
                ab = lb[i] > lb[ab] ? i : ab;
                aq = lq[i] > lq[aq] ? i : aq;
            }
            all[cnt++] = d;
            kl += d;
            kl2 += d * d;
            same += ab == aq;
            int next = tok[(size_t)c * n_ctx + p + 1];
            nq -= lq[next];
            nb -= lb[next];
        }
    }
    cr_assert_eq(r.n_scored, cnt);
    double mean = kl / cnt;
    /* uint16 log-probs: a step of 16/65535 nats, so the KL moves by far less than 1e-3 */
    cr_assert(fabs(r.kld_mean - mean) < 1e-3 * fmax(1, mean), "kld %.6f vs %.6f", r.kld_mean, mean);
    double se = sqrt((kl2 / cnt - mean * mean) / (cnt - 1));
    cr_assert(fabs(r.kld_err - se) < 0.02 * se + 1e-4, "kld_err %.6f vs %.6f", r.kld_err, se);
    /* uint16 rounding can tie two near-equal top base log-probs: a position or two */
    cr_assert(fabs(r.top1_agree - (double)same / cnt) <= 2.0 / cnt, "top1 %.4f vs %.4f", r.top1_agree,
              (double)same / cnt);
    cr_assert(fabs(r.ppl / exp(nq / cnt) - 1) < 1e-5);
    cr_assert(fabs(r.ppl_base / exp(nb / cnt) - 1) < 1e-3);
    cr_assert(fabs(r.ppl_ratio - exp((nq - nb) / cnt)) < 1e-3);
    cr_assert(r.kld_min <= r.kld_p01 && r.kld_p01 <= r.kld_p10 && r.kld_p10 <= r.kld_median &&
              r.kld_median <= r.kld_p90 && r.kld_p90 <= r.kld_p99 && r.kld_p99 <= r.kld_max);
    cr_assert(r.kld_mean > 0.01, "the tilt makes a visible difference (%.5f)", r.kld_mean);

    /* the same file again gives the same figures; the base against itself ~0 */
    bench_ppl_result_t r2;
    cr_assert_eq(bench_ppl_run(&mq, tok, n, &o, k, &r2), MB_OK);
    cr_assert_eq(memcmp(&r, &r2, sizeof r), 0);
    cr_assert_eq(bench_ppl_run(&mb, tok, n, &o, k, &self), MB_OK);
    cr_assert(self.kld_mean < 1e-5 && self.top1_agree >= 1 - 2.0 / cnt && fabs(self.ppl_ratio - 1) < 1e-3,
              "self: kld %.3g top1 %.3f ratio %.6f", self.kld_mean, self.top1_agree, self.ppl_ratio);
    bench_klbase_close(k);
    free(w);
    free(all);
    free(tok);
    unlink(path);
}

Test(bench_ppl, base_file_refusals)
{
    fake_t fb = {0};
    bench_ppl_model_t mb = {&fb, NV, fake_eval};
    const int n_ctx = 32;
    size_t n = 3 * n_ctx;
    int32_t *tok = corpus(n, 5);
    bench_ppl_opts_t o = {.n_ctx = n_ctx, .add_bos = true, .bos = 1};
    char path[256];
    tmp_path(path, sizeof path, "bad");
    bench_klbase_meta_t meta = meta_of("b", "c");
    cr_assert_eq(bench_klbase_write(path, &meta, &mb, tok, n, &o, NULL), MB_OK, "%s", mb_err_msg());
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert(access(tmp, F_OK) != 0, "no temp file left");
    bench_klbase_t *k = NULL;
    /* nothing expected: the header is read back */
    cr_assert_eq(bench_klbase_open(path, NULL, &k), MB_OK, "%s", mb_err_msg());
    const bench_klbase_meta_t *got = bench_klbase_meta(k);
    cr_assert_eq(got->n_ctx, n_ctx);
    cr_assert_eq(got->n_chunks, 3);
    cr_assert_eq(got->n_vocab, NV);
    cr_assert_str_eq(got->corpus_sha256, meta.corpus_sha256);
    cr_assert_eq(memcmp(got->tokens, tok, n * sizeof *tok), 0);
    bench_klbase_close(k);

    bench_klbase_meta_t e = meta_of("x", "c");
    cr_assert_eq(bench_klbase_open(path, &e, &k), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "another base model"), "%s", mb_err_msg());
    e = meta_of("b", "x");
    cr_assert_eq(bench_klbase_open(path, &e, &k), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "another corpus"), "%s", mb_err_msg());
    e = meta_of("b", "c");
    e.n_ctx = 64;
    cr_assert_eq(bench_klbase_open(path, &e, &k), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "another context"), "%s", mb_err_msg());
    e = meta_of("b", "c");
    e.n_vocab = NV + 1;
    cr_assert_eq(bench_klbase_open(path, &e, &k), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "another vocabulary"), "%s", mb_err_msg());
    e = meta_of("b", "c");
    int32_t *other = corpus(n, 6);
    e.tokens = other;
    e.n_chunks = 3;
    cr_assert_eq(bench_klbase_open(path, &e, &k), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "token ids"), "%s", mb_err_msg());
    e.n_chunks = 4;
    cr_assert_eq(bench_klbase_open(path, &e, &k), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "number of windows"), "%s", mb_err_msg());
    cr_assert_null(k);

    /* truncated, and not such a file at all */
    FILE *f = fopen(path, "r+b");
    cr_assert(f);
    cr_assert_eq(ftruncate(fileno(f), 500), 0);
    fclose(f);
    cr_assert_eq(bench_klbase_open(path, NULL, &k), MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "truncated"), "%s", mb_err_msg());
    f = fopen(path, "wb");
    fputs("some text that is not a base file at all, long enough for a header..................."
          "..........................................................................", f);
    fclose(f);
    cr_assert_eq(bench_klbase_open(path, NULL, &k), MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "not a mobench base-logits file"), "%s", mb_err_msg());
    unlink(path);
    cr_assert_eq(bench_klbase_open(path, NULL, &k), MB_ENOENT);
    free(tok);
    free(other);
}

Test(bench_ppl, corpus_checks)
{
    cr_assert_eq(bench_corpus_check("c", "", 0), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "empty"), "%s", mb_err_msg());
    cr_assert_eq(bench_corpus_check("c", "ab\0cd", 5), MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "NUL byte at offset 2"), "%s", mb_err_msg());
    cr_assert_eq(bench_corpus_check("c", "ok \xff no", 7), MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "not valid UTF-8") && strstr(mb_err_msg(), "offset 3"), "%s",
              mb_err_msg());
    cr_assert_eq(bench_corpus_check("c", "\xc0\xaf", 2), MB_EFORMAT);         /* overlong */
    cr_assert_eq(bench_corpus_check("c", "\xed\xa0\x80", 3), MB_EFORMAT);     /* surrogate */
    cr_assert_eq(bench_corpus_check("c", "caf\xc3", 4), MB_EFORMAT);          /* cut short */
    const char *good = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n";
    cr_assert_eq(bench_corpus_check("c", good, strlen(good)), MB_OK, "%s", mb_err_msg());
}

/* bench --prompt-file: pp and pg tests evaluate the given ids, not seeded ones */
typedef struct {
    uint64_t now;
    int pos;
    int32_t seen[64];
    int n_seen, prompts;
} pw_t;

static uint64_t pw_now(void *ctx) { return ((pw_t *)ctx)->now += 1000; }

static int pw_eval(void *impl, const int32_t *tokens, int n, bool logits)
{
    (void)logits;
    pw_t *p = impl;
    if (n > 1) {
        cr_assert_leq(n, 64);
        memcpy(p->seen, tokens, (size_t)n * sizeof *tokens);
        p->n_seen = n;
        p->prompts++;
    }
    p->pos += n;
    return 0;
}
static int pw_reset(void *impl) { ((pw_t *)impl)->pos = 0; return 0; }
static int pw_truncate(void *impl, int n) { ((pw_t *)impl)->pos = n; return 0; }

Test(bench_ppl, prompt_ids_are_the_ones_given)
{
    int32_t prompt[12];
    for (int i = 0; i < 12; i++)
        prompt[i] = 100 + 7 * i;
    bench_test_t tests[2] = {{BENCH_TEST_PP, 12, 0, 0}, {BENCH_TEST_PG, 12, 3, 0}};
    for (int k = 0; k < 2; k++) {
        pw_t p = {0};
        bench_cell_t cell = {.model = "fake", .recipe = "file", .test = tests[k], .n_threads = 1};
        bench_result_t r;
        bench_result_init(&r, &cell);
        bench_clock_t clk = {&p, pw_now};
        bench_measure_opts_t o = {.reps = {.min_reps = 2, .max_reps = 2}, .warmup = true,
                                  .seed = 1, .clock = &clk, .prompt = prompt,
                                  .n_prompt_tokens = 12};
        bench_workload_t w = {.impl = &p, .n_ctx = 64, .n_vocab = 1000, .eval = pw_eval,
                              .reset = pw_reset, .truncate = pw_truncate};
        cr_assert_eq(bench_cell_measure(&o, &w, &r), MB_OK, "%s", mb_err_msg());
        cr_assert_eq(r.status, BENCH_CELL_OK);
        cr_assert_eq(p.prompts, 3, "warm-up and two reps");
        cr_assert_eq(p.n_seen, 12);
        cr_assert_eq(memcmp(p.seen, prompt, sizeof prompt), 0);
        bench_result_clear(&r);
    }
}

/* [quality] text = FILE in sweep files */
Test(bench_ppl, sweep_text_key)
{
    const char *base = "[models]\nnames = /x/a.gguf\nrecipes = file\n[tests]\npp = 16\n"
                       "[quality]\nenabled = true\n";
    char text[512], corpus[256];
    snprintf(corpus, sizeof corpus, "/tmp/mb_test_ppl_sweep_%d.txt", (int)getpid());
    FILE *f = fopen(corpus, "w");
    fputs("t3t4t5", f);
    fclose(f);
    snprintf(text, sizeof text, "%stext = %s\n", base, corpus);
    bench_sweep_t *sw = NULL;
    cr_assert_eq(bench_sweep_parse(text, "s.ini", NULL, &sw), MB_OK, "%s", mb_err_msg());
    cr_assert_str_eq(sw->quality_text, corpus);
    bench_sweep_free(sw);
    unlink(corpus);
    cr_assert_eq(bench_sweep_parse(text, "s.ini", NULL, &sw), MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "s.ini:8: text: cannot read the corpus"), "%s", mb_err_msg());
    cr_assert_eq(bench_sweep_parse(base, "s.ini", NULL, &sw), MB_OK);
    cr_assert_null(sw->quality_text);
    bench_sweep_free(sw);
}
