/* cmd_quality.c: `mobench quality -m MODEL -q RECIPES`: what each quant recipe
 * costs in output quality against the F32 synthetic model it is made from
 * (models/quality.c): KL divergence (mean, p99), top-1 agreement, ppl ratio. */
#include "cli_opts.h"
#include "commands.h"
#include "mb.h"
#include "models.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void quality_help(void)
{
    printf("usage: mobench quality -m MODEL -q RECIPE[,RECIPE...] [--seed S] [--seqs N]\n"
           "                       [--len T] [--sample-seed S] [--threads N] [--json]\n\n"
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

int cmd_quality(int argc, char **argv)
{
    const char *model = NULL, *recipes_arg = NULL;
    uint64_t seed = CLI_DEFAULT_SEED, sample_seed = 1;
    int n_seq = 4, len = 64, threads = 0;
    bool json = false;
    enum { OPT_SEED = 1000, OPT_SAMPLE_SEED, OPT_SEQS, OPT_LEN, OPT_THREADS, OPT_JSON };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"quant", required_argument, NULL, 'q'},
        {"seed", required_argument, NULL, OPT_SEED},
        {"sample-seed", required_argument, NULL, OPT_SAMPLE_SEED},
        {"seqs", required_argument, NULL, OPT_SEQS},
        {"len", required_argument, NULL, OPT_LEN},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_opts_t op;
    cli_opts_init(&op, argc, argv, "m:q:h", longopts);
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
        case OPT_THREADS:
            if (parse_int(v, 1, 256, &threads))
                return cli_usage_error("quality", "--threads wants 1..256");
            break;
        case OPT_JSON: json = true; break;
        case CLI_OPT_OPERAND:
            return cli_usage_error("quality", "unexpected argument '%s'", v);
        default:
            return cli_opts_error(&op, "quality", oc);
        }
    }
    if (!model || !recipes_arg)
        return cli_usage_error("quality", "needs -m MODEL and -q RECIPES (e.g. -q Q8_0,Q4_K_M)");
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
