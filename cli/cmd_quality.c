/* cmd_quality.c: `mobench quality -m MODEL -q RECIPES`: what each quant recipe
 * costs in output quality against the F32 synthetic model it is made from
 * (models/quality.c): KL divergence (mean, p99), top-1 agreement, ppl ratio.
 * `mobench quality -m FILE.gguf --text CORPUS`: perplexity (and KLD against
 * --kl-base) on real text as llama-perplexity computes it (bench/ppl*.c). */
#include "bench.h"
#include "cli_opts.h"
#include "db.h"
#include "commands.h"
#include "mb.h"
#include "models.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void quality_help(void)
{
    printf("usage: mobench quality -m MODEL -q RECIPE[,RECIPE...] [--seed S] [--seqs N]\n"
           "                       [--len T] [--sample-seed S] [--threads N] [--json]\n"
           "       mobench quality -m FILE.gguf --text CORPUS.txt [-c N_CTX] [--chunks N]\n"
           "                       [--kl-base BASE.gguf] [--kl-base-logits FILE] [-t N]\n"
           "                       [-o md|json] [--db FILE | --no-db]\n\n"
           "Real text (--text; docs/QUALITY.md): perplexity of FILE.gguf on CORPUS the\n"
           "way llama-perplexity computes it: the text tokenized once by the file's own\n"
           "tokenizer (BOS as the model adds it), cut into windows of N_CTX tokens\n"
           "(default 512; at least two windows needed), each window's first token BOS,\n"
           "each scored on its second half; PPL +- its standard error. --chunks N uses\n"
           "the first N windows only. --kl-base BASE.gguf (same vocabulary, e.g. the F16\n"
           "file FILE was quantized from): KL divergence of FILE's next-token\n"
           "distributions from BASE's at every scored position (mean +- error and\n"
           "percentiles), top-1 agreement and PPL(FILE)/PPL(BASE). --kl-base-logits FILE:\n"
           "the base's log-probabilities are saved there on the first run and reused\n"
           "later (then --kl-base may be left out); a file made for another base, corpus,\n"
           "context or tokenization is refused. The result is stored in the quality\n"
           "table of --db (default $MOBENCH_DB or ./mobench.db) unless --no-db.\n\n"
           "Sampled (-q; for catalog models with synthetic weights):\n"
           "Builds MODEL's synthetic F32 weights (seed S, default %d as in bench, sweep and\n"
           "models build; docs/SYNTHETIC.md),\n"
           "samples N sequences of T tokens from it (default 4 x 64, temperature 1), then\n"
           "for each recipe re-types the weights with its per-tensor rules and compares\n"
           "the next-token distributions at every position with the F32 model's:\n"
           "  KLD mean / p99   KL(P_f32 || P_recipe) in nats\n"
           "  top-1            agreement of the most likely token\n"
           "  ppl ratio        perplexity of the sampled tokens, recipe / F32\n"
           "Needs the F32 model in memory (4 bytes per parameter: about 5 GB for\n"
           "llama-3.2-1b).\n", CLI_DEFAULT_SEED);
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    int64_t v;
    if (mb_parse_i64(s, &v) || v < lo || v > hi)
        return MB_EINVAL;
    *out = (int)v;
    return MB_OK;
}

typedef struct {
    const char *model, *text, *kl_base, *kl_logits, *db_path;
    int n_ctx, chunks, threads;
    bool json, no_db;
    int argc;
    char **argv;
} quality_text_args_t;

static char *join_args(int argc, char **argv)
{
    size_t n = 1;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 1;
    char *s = malloc(n);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (int i = 0; i < argc; i++) {
        strcat(s, argv[i]);
        if (i + 1 < argc)
            strcat(s, " ");
    }
    return s;
}

static void text_json(const quality_text_args_t *a, const bench_ppl_text_t *t, const char *run)
{
    const bench_ppl_result_t *r = &t->r;
    mb_json_t j;
    mb_json_init(&j, stdout, true);
    mb_json_obj_begin(&j);
    mb_json_key(&j, "model"); mb_json_str(&j, a->model);
    mb_json_key(&j, "model_sha256"); mb_json_str(&j, t->model_sha256);
    mb_json_key(&j, "weights"); mb_json_str(&j, t->synthetic ? "synthetic" : "gguf");
    mb_json_key(&j, "tokenizer"); mb_json_str(&j, t->tokenizer);
    mb_json_key(&j, "corpus"); mb_json_str(&j, a->text);
    mb_json_key(&j, "corpus_sha256"); mb_json_str(&j, t->corpus_sha256);
    mb_json_key(&j, "corpus_bytes"); mb_json_int(&j, t->corpus_bytes);
    mb_json_key(&j, "corpus_tokens"); mb_json_int(&j, t->corpus_tokens);
    mb_json_key(&j, "n_ctx"); mb_json_int(&j, r->n_ctx);
    mb_json_key(&j, "chunks"); mb_json_int(&j, r->n_chunks);
    mb_json_key(&j, "positions"); mb_json_int(&j, r->n_scored);
    mb_json_key(&j, "kernels"); mb_json_str(&j, t->kernels);
    mb_json_key(&j, "ppl"); mb_json_num(&j, r->ppl);
    mb_json_key(&j, "ppl_err"); mb_json_num(&j, r->ppl_err);
    if (r->kl) {
        mb_json_key(&j, "kl_base"); mb_json_str(&j, a->kl_base);
        mb_json_key(&j, "kl_base_logits"); mb_json_str(&j, a->kl_logits);
        mb_json_key(&j, "base_sha256"); mb_json_str(&j, t->base_sha256);
        mb_json_key(&j, "ppl_base"); mb_json_num(&j, r->ppl_base);
        mb_json_key(&j, "ppl_base_err"); mb_json_num(&j, r->ppl_base_err);
        mb_json_key(&j, "ppl_ratio"); mb_json_num(&j, r->ppl_ratio);
        mb_json_key(&j, "ppl_ratio_err"); mb_json_num(&j, r->ppl_ratio_err);
        mb_json_key(&j, "ln_ppl_ratio"); mb_json_num(&j, r->ln_ratio);
        mb_json_key(&j, "ln_ppl_ratio_err"); mb_json_num(&j, r->ln_ratio_err);
        mb_json_key(&j, "kld_mean"); mb_json_num(&j, r->kld_mean);
        mb_json_key(&j, "kld_err"); mb_json_num(&j, r->kld_err);
        mb_json_key(&j, "kld_max"); mb_json_num(&j, r->kld_max);
        mb_json_key(&j, "kld_p99_9"); mb_json_num(&j, r->kld_p999);
        mb_json_key(&j, "kld_p99"); mb_json_num(&j, r->kld_p99);
        mb_json_key(&j, "kld_p95"); mb_json_num(&j, r->kld_p95);
        mb_json_key(&j, "kld_p90"); mb_json_num(&j, r->kld_p90);
        mb_json_key(&j, "kld_median"); mb_json_num(&j, r->kld_median);
        mb_json_key(&j, "kld_p10"); mb_json_num(&j, r->kld_p10);
        mb_json_key(&j, "kld_p5"); mb_json_num(&j, r->kld_p05);
        mb_json_key(&j, "kld_p1"); mb_json_num(&j, r->kld_p01);
        mb_json_key(&j, "kld_p0_1"); mb_json_num(&j, r->kld_p001);
        mb_json_key(&j, "kld_min"); mb_json_num(&j, r->kld_min);
        mb_json_key(&j, "top1_agree"); mb_json_num(&j, r->top1_agree);
        mb_json_key(&j, "top1_err"); mb_json_num(&j, r->top1_err);
    }
    mb_json_key(&j, "run"); mb_json_str(&j, run);
    mb_json_obj_end(&j);
    fputc('\n', stdout);
}

static void text_md(const quality_text_args_t *a, const bench_ppl_text_t *t, double secs)
{
    const bench_ppl_result_t *r = &t->r;
    printf("%s (%s weights, sha256 %.12s), %s kernels, %.1f s\n", a->model,
           t->synthetic ? "synthetic" : "gguf", t->model_sha256, t->kernels, secs);
    printf("corpus %s: %" PRId64 " bytes, %" PRId64 " tokens (%s), sha256 %.12s\n", a->text,
           t->corpus_bytes, t->corpus_tokens, t->tokenizer, t->corpus_sha256);
    printf("%d windows of %d tokens, %" PRId64 " positions scored\n\n", r->n_chunks, r->n_ctx,
           r->n_scored);
    printf("Final estimate: PPL = %.4f +/- %.5f\n", r->ppl, r->ppl_err);
    if (!r->kl)
        return;
    printf("\nagainst %s (sha256 %.12s):\n", a->kl_base ? a->kl_base : a->kl_logits,
           t->base_sha256);
    printf("Mean PPL(Q)                   : %10.6f +/- %10.6f\n", r->ppl, r->ppl_err);
    printf("Mean PPL(base)                : %10.6f +/- %10.6f\n", r->ppl_base, r->ppl_base_err);
    printf("Mean ln(PPL(Q)/PPL(base))     : %10.6f +/- %10.6f\n", r->ln_ratio, r->ln_ratio_err);
    printf("Mean PPL(Q)/PPL(base)         : %10.6f +/- %10.6f\n", r->ppl_ratio, r->ppl_ratio_err);
    printf("Mean    KLD: %10.6f +/- %10.6f\n", r->kld_mean, r->kld_err);
    printf("Maximum KLD: %10.6f\n", r->kld_max);
    printf("99.9%%   KLD: %10.6f\n", r->kld_p999);
    printf("99.0%%   KLD: %10.6f\n", r->kld_p99);
    printf("95.0%%   KLD: %10.6f\n", r->kld_p95);
    printf("90.0%%   KLD: %10.6f\n", r->kld_p90);
    printf("Median  KLD: %10.6f\n", r->kld_median);
    printf("10.0%%   KLD: %10.6f\n", r->kld_p10);
    printf(" 5.0%%   KLD: %10.6f\n", r->kld_p05);
    printf(" 1.0%%   KLD: %10.6f\n", r->kld_p01);
    printf(" 0.1%%   KLD: %10.6f\n", r->kld_p001);
    printf("Minimum KLD: %10.6f\n", r->kld_min);
    printf("Same top p: %6.3f +/- %5.3f %%\n", 100 * r->top1_agree, 100 * r->top1_err);
}

static int quality_text(const quality_text_args_t *a)
{
    bench_ppl_text_opts_t o = {.model = a->model, .corpus = a->text, .kl_base = a->kl_base,
                               .kl_base_logits = a->kl_logits, .n_ctx = a->n_ctx,
                               .max_chunks = a->chunks, .n_threads = a->threads};
    bench_ppl_text_t *t = calloc(1, sizeof *t);
    bench_store_t *store = NULL;
    char *cmdline = NULL;
    int rc = MB_OK, exit_code = MB_EXIT_FAIL;
    if (!t)
        return cli_fail("quality", mb_err_set(MB_ENOMEM, "out of memory"));
    if ((rc = engine_kernels_init(NULL, NULL)))
        goto done;
    uint64_t t0 = mb_clock_ns();
    /* measured first: nothing is stored unless it succeeded */
    if ((rc = bench_ppl_text(&o, t)))
        goto done;
    double secs = (double)(mb_clock_ns() - t0) / 1e9;
    char run[DB_UUID_LEN] = "";
    if (!a->no_db) {
        cmdline = join_args(a->argc, a->argv);
        bench_store_opts_t so = {.sweep = false, .cmdline = cmdline};
        const char *path = a->db_path ? a->db_path : db_default_path();
        if ((rc = bench_store_open(path, &so, &store)))
            goto done;
        bench_sink_t sink = bench_store_sink(store);
        if ((rc = sink.run_begin(sink.ctx, NULL)))
            goto done;
        rc = bench_store_quality_text(store, a->model, t);
        int erc = sink.run_end(sink.ctx, rc ? BENCH_CELL_FAILED : BENCH_CELL_OK);
        if (rc || (rc = erc))
            goto done;
        snprintf(run, sizeof run, "%s", bench_store_run(store));
        MB_INFO("quality: stored in %s (run %s)", path, run);
    }
    if (a->json)
        text_json(a, t, run[0] ? run : NULL);
    else
        text_md(a, t, secs);
    exit_code = MB_EXIT_OK;
done:
    if (rc)
        exit_code = cli_fail("quality", rc);
    bench_store_close(store);
    free(cmdline);
    free(t);
    return exit_code;
}

int cmd_quality(int argc, char **argv)
{
    const char *model = NULL, *recipes_arg = NULL;
    uint64_t seed = CLI_DEFAULT_SEED, sample_seed = 1;
    int n_seq = 4, len = 64, threads = 0;
    bool json = false;
    enum { OPT_SEED = 1000, OPT_SAMPLE_SEED, OPT_SEQS, OPT_LEN, OPT_THREADS, OPT_JSON, OPT_TEXT,
           OPT_CHUNKS, OPT_KL_BASE, OPT_KL_LOGITS, OPT_DB, OPT_NO_DB };
    const char *text = NULL, *kl_base = NULL, *kl_logits = NULL, *db_path = NULL, *out_fmt = NULL;
    int n_ctx = 512, chunks = 0;
    bool no_db = false, text_only = false;
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"quant", required_argument, NULL, 'q'},
        {"seed", required_argument, NULL, OPT_SEED},
        {"sample-seed", required_argument, NULL, OPT_SAMPLE_SEED},
        {"seqs", required_argument, NULL, OPT_SEQS},
        {"len", required_argument, NULL, OPT_LEN},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"json", no_argument, NULL, OPT_JSON},
        {"text", required_argument, NULL, OPT_TEXT},
        {"ctx-size", required_argument, NULL, 'c'},
        {"chunks", required_argument, NULL, OPT_CHUNKS},
        {"kl-base", required_argument, NULL, OPT_KL_BASE},
        {"kl-base-logits", required_argument, NULL, OPT_KL_LOGITS},
        {"output", required_argument, NULL, 'o'},
        {"db", required_argument, NULL, OPT_DB},
        {"no-db", no_argument, NULL, OPT_NO_DB},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_opts_t op;
    cli_opts_init(&op, argc, argv, "m:q:t:c:o:h", longopts);
    int oc;
    const char *v;
    while ((oc = cli_opts_next(&op, &v)) != CLI_OPT_END) {
        int64_t x;
        switch (oc) {
        case 'h':
            quality_help();
            return MB_EXIT_OK;
        case 'm': model = v; break;
        case 'q': recipes_arg = v; break;
        case OPT_SEED:
            if (mb_parse_i64(v, &x) || x < 0)
                return cli_usage_error("quality", "--seed wants a non-negative integer");
            seed = (uint64_t)x;
            break;
        case OPT_SAMPLE_SEED:
            if (mb_parse_i64(v, &x) || x < 0)
                return cli_usage_error("quality", "--sample-seed wants a non-negative integer");
            sample_seed = (uint64_t)x;
            break;
        case OPT_SEQS:
            if (parse_int(v, 1, 10000, &n_seq))
                return cli_usage_error("quality", "--seqs wants 1..10000");
            break;
        case OPT_LEN:
            if (parse_int(v, 2, 65536, &len))
                return cli_usage_error("quality", "--len wants 2..65536");
            break;
        case 't':
        case OPT_THREADS:
            if (parse_int(v, 1, 256, &threads))
                return cli_usage_error("quality", "--threads wants 1..256");
            break;
        case OPT_JSON: json = true; break;
        case OPT_TEXT: text = v; break;
        case 'c':
            if (parse_int(v, 4, 1 << 20, &n_ctx))
                return cli_usage_error("quality", "-c wants a context of 4..1048576 tokens");
            text_only = true;
            break;
        case OPT_CHUNKS:
            if (parse_int(v, 1, INT32_MAX, &chunks))
                return cli_usage_error("quality", "--chunks wants a positive number of windows");
            text_only = true;
            break;
        case OPT_KL_BASE: kl_base = v; text_only = true; break;
        case OPT_KL_LOGITS: kl_logits = v; text_only = true; break;
        case 'o':
            if (strcmp(v, "md") && strcmp(v, "json"))
                return cli_usage_error("quality", "-o wants md or json");
            out_fmt = v;
            text_only = true;
            break;
        case OPT_DB: db_path = v; text_only = true; break;
        case OPT_NO_DB: no_db = true; text_only = true; break;
        case CLI_OPT_OPERAND:
            return cli_usage_error("quality", "unexpected argument '%s'", v);
        default:
            return cli_opts_error(&op, "quality", oc);
        }
    }
    if (text) {
        if (!model)
            return cli_usage_error("quality", "--text needs -m FILE.gguf");
        if (recipes_arg)
            return cli_usage_error("quality", "--text measures the file as it is: drop -q");
        size_t ml = strlen(model);
        if (!strchr(model, '/') && !(ml > 5 && !strcasecmp(model + ml - 5, ".gguf")))
            return cli_usage_error("quality", "--text needs a GGUF file with -m, not '%s': catalog "
                                   "models have synthetic weights and no tokenizer (use -q for "
                                   "their sampled quality)", model);
        if (threads == 0) {
            long nc = sysconf(_SC_NPROCESSORS_ONLN);
            threads = nc > 0 ? (int)MB_MIN(nc, 256) : 1;
        }
        quality_text_args_t a = {model, text, kl_base, kl_logits, db_path, n_ctx, chunks, threads,
                                 json || (out_fmt && !strcmp(out_fmt, "json")), no_db, argc, argv};
        return quality_text(&a);
    }
    if (text_only)
        return cli_usage_error("quality", "-c, --chunks, --kl-base, --kl-base-logits, -o, --db and "
                               "--no-db go with --text CORPUS");
    if (!model || !recipes_arg)
        return cli_usage_error("quality", "needs -m MODEL and -q RECIPES (e.g. -q Q8_0,Q4_K_M), "
                               "or -m FILE.gguf --text CORPUS");
    const models_spec_t *spec;
    int rc = models_catalog_find(model, &spec);
    if (rc)
        return cli_fail("quality", rc);
    char **names = NULL;
    size_t n_names = 0;
    if ((rc = mb_split_csv(recipes_arg, &names, &n_names)) || n_names == 0) {
        mb_strv_free(names, n_names);
        return cli_usage_error("quality", "-q wants a comma-separated list of recipes");
    }
    const models_recipe_t **rec = calloc(n_names, sizeof *rec);
    models_quality_t *res = calloc(n_names, sizeof *res);
    engine_model_t *f32 = NULL;
    engine_pool_t *pool = NULL;
    int exit_code = MB_EXIT_FAIL;
    if (!rec || !res) {
        rc = mb_err_set(MB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_names; i++) {
        if ((rc = models_recipe_find(names[i], &rec[i]))) {
            exit_code = cli_fail("quality", rc);
            rc = MB_OK;
            goto done;
        }
    }
    if (threads == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc > 0 ? (int)MB_MIN(nc, 256) : 1;
    }
    if ((rc = engine_pool_create(threads, &pool)))
        goto done;
    MB_INFO("quality: building %s F32 synthetic weights (seed %" PRIu64 ")", spec->name, seed);
    if ((rc = models_synth_build(spec, seed, ENGINE_TYPE_F32, &f32)))
        goto done;
    models_quality_opts_t o = {.n_seq = n_seq, .seq_len = len, .seed = sample_seed};
    uint64_t t0 = mb_clock_ns();
    if ((rc = models_quality_run(spec, f32, rec, (int)n_names, &o, pool, res)))
        goto done;
    double secs = (double)(mb_clock_ns() - t0) / 1e9;
    if (json) {
        mb_json_t j;
        mb_json_init(&j, stdout, true);
        mb_json_obj_begin(&j);
        mb_json_key(&j, "model"); mb_json_str(&j, spec->name);
        mb_json_key(&j, "weights"); mb_json_str(&j, "synthetic");
        mb_json_key(&j, "seed"); mb_json_int(&j, (int64_t)seed);
        mb_json_key(&j, "sample_seed"); mb_json_int(&j, (int64_t)sample_seed);
        mb_json_key(&j, "n_seq"); mb_json_int(&j, n_seq);
        mb_json_key(&j, "seq_len"); mb_json_int(&j, len);
        mb_json_key(&j, "kernels"); mb_json_str(&j, engine_kernels_name());
        mb_json_key(&j, "results");
        mb_json_arr_begin(&j);
        for (size_t i = 0; i < n_names; i++) {
            const models_quality_t *q = &res[i];
            mb_json_obj_begin(&j);
            mb_json_key(&j, "recipe"); mb_json_str(&j, q->recipe);
            mb_json_key(&j, "positions"); mb_json_int(&j, q->n_positions);
            mb_json_key(&j, "kld_mean"); mb_json_num(&j, q->kld_mean);
            mb_json_key(&j, "kld_p99"); mb_json_num(&j, q->kld_p99);
            mb_json_key(&j, "kld_max"); mb_json_num(&j, q->kld_max);
            mb_json_key(&j, "top1"); mb_json_num(&j, q->top1);
            mb_json_key(&j, "ppl_ref"); mb_json_num(&j, q->ppl_ref);
            mb_json_key(&j, "ppl"); mb_json_num(&j, q->ppl);
            mb_json_key(&j, "ppl_ratio"); mb_json_num(&j, q->ppl_ratio);
            mb_json_key(&j, "weight_bytes"); mb_json_int(&j, (int64_t)q->weight_bytes);
            mb_json_obj_end(&j);
        }
        mb_json_arr_end(&j);
        mb_json_obj_end(&j);
        fputc('\n', stdout);
    } else {
        printf("%s, synthetic weights (seed %" PRIu64 "), %d x %d sampled tokens, %s kernels, "
               "%.1f s\n", spec->name, seed, n_seq, len, engine_kernels_name(), secs);
        printf("%-8s %10s %10s %8s %10s %10s\n", "recipe", "KLD mean", "KLD p99", "top-1",
               "ppl ratio", "weights");
        for (size_t i = 0; i < n_names; i++) {
            const models_quality_t *q = &res[i];
            char b[16];
            mb_fmt_bytes(q->weight_bytes, b, sizeof b);
            printf("%-8s %10.6f %10.6f %8.4f %10.5f %10s\n", q->recipe, q->kld_mean, q->kld_p99,
                   q->top1, q->ppl_ratio, b);
        }
    }
    exit_code = MB_EXIT_OK;
done:
    if (rc)
        exit_code = cli_fail("quality", rc);
    models_synth_free(f32);
    engine_pool_destroy(pool);
    free(rec);
    free(res);
    mb_strv_free(names, n_names);
    return exit_code;
}
