/* cmd_compare.c: `mobench compare`: did the candidate run get slower? */
#include "commands.h"
#include "db.h"
#include "mb.h"
#include "reports.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void compare_help(void)
{
    printf("usage: mobench compare [--baseline RUN|previous] [--candidate RUN|latest] [options]\n\n"
           "Compares two runs cell by cell (same model, recipe, test, depth, threads) from\n"
           "their per-rep tokens/s: ratio of medians, a 99%% bootstrap CI of it, and the\n"
           "Mann-Whitney U test. A cell is 'regressed' when the slowdown is significant\n"
           "and the CI reaches the threshold; cells on different devices, kernels or\n"
           "weights, or with reps too noisy to judge (a busy machine), are 'not\n"
           "comparable'. Details: docs/REPORT.md.\n\n"
           "options:\n"
           "  --baseline RUN     run id (or unique prefix >= 4 chars) or 'previous'  default: previous\n"
           "  --candidate RUN    run id or 'latest'                                  default: latest\n"
           "  --threshold PCT    smallest slowdown that fails the check               default: 5%%\n"
           "  --alpha P          significance level of the test                       default: 0.01\n"
           "  --max-cv PCT       reps noisier than this (robust CV) on either side make\n"
           "                     the cell 'not comparable'              default: 2 x threshold\n"
           "  --db FILE          results database                 default: $MOBENCH_DB or ./mobench.db\n"
           "  -o, --format FMT   md or json (default: md; json when --output ends in .json)\n"
           "  --output FILE      write the table or JSON to FILE (default: stdout)\n"
           "  -h, --help         this text\n\n"
           "exit status: 0 no regression, 3 a significant regression beyond the threshold,\n"
           "1 run-time error, 2 usage error.\n");
}

int cmd_compare(int argc, char **argv)
{
    enum { OPT_BASE = 1, OPT_CAND, OPT_THR, OPT_ALPHA, OPT_DB, OPT_OUTPUT, OPT_MAXCV };
    static const struct option longopts[] = {
        {"baseline", required_argument, NULL, OPT_BASE},
        {"candidate", required_argument, NULL, OPT_CAND},
        {"threshold", required_argument, NULL, OPT_THR},
        {"alpha", required_argument, NULL, OPT_ALPHA},
        {"max-cv", required_argument, NULL, OPT_MAXCV},
        {"db", required_argument, NULL, OPT_DB},
        {"format", required_argument, NULL, 'o'},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *base = "previous", *cand = "latest", *db_path = db_default_path(), *fmt = NULL;
    const char *out_path = NULL;
    reports_compare_opts_t co;
    reports_compare_opts_default(&co);
    optind = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
        switch (o) {
        case OPT_BASE: base = optarg; break;
        case OPT_CAND: cand = optarg; break;
        case OPT_THR:
            if (mb_parse_fraction(optarg, &co.threshold) || !(co.threshold > 0 && co.threshold < 1))
                return cli_usage_error("compare", "--threshold '%s': expected a percentage "
                                                  "such as 5%% (between 0 and 100%%)", optarg);
            break;
        case OPT_ALPHA:
            if (mb_parse_f64(optarg, &co.alpha) || !(co.alpha > 0 && co.alpha < 0.5))
                return cli_usage_error("compare", "--alpha '%s': expected a probability such "
                                                  "as 0.01", optarg);
            break;
        case OPT_MAXCV:
            if (mb_parse_fraction(optarg, &co.max_cv) || !(co.max_cv > 0))
                return cli_usage_error("compare", "--max-cv '%s': expected a percentage such "
                                                  "as 10%%", optarg);
            break;
        case OPT_DB: db_path = optarg; break;
        case 'o': fmt = optarg; break;
        case OPT_OUTPUT:
            if (!strcmp(optarg, "md") || !strcmp(optarg, "json") || !*optarg)
                return cli_usage_error("compare", "--output '%s' names the file to write; the "
                                                  "format is -o %s (a file of that name: "
                                                  "--output ./%s)", optarg, optarg, optarg);
            out_path = optarg;
            break;
        case 'h': compare_help(); return MB_EXIT_OK;
        case ':': return cli_usage_error("compare", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("compare", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("compare", "unexpected argument '%s'", argv[optind]);
    if (!fmt) { /* from the output file's extension, else markdown */
        const char *ext = out_path ? strrchr(out_path, '.') : NULL;
        fmt = ext && !strcmp(ext, ".json") ? "json" : "md";
    }
    if (strcmp(fmt, "md") && strcmp(fmt, "json"))
        return cli_usage_error("compare", "-o '%s': expected md or json", fmt);

    reports_data_t d;
    int rc = reports_data_load(db_path, NULL, &d);
    if (rc)
        return cli_fail("compare", rc);
    char b[64], c[64];
    reports_cmp_t cmp = {0};
    if ((rc = reports_run_resolve(&d, base, b)) || (rc = reports_run_resolve(&d, cand, c)) ||
        (rc = reports_compare_runs(&d, b, c, &co, &cmp))) {
        reports_data_free(&d);
        return cli_fail("compare", rc);
    }
    reports_out_t out;
    if ((rc = reports_out_open(&out, out_path))) {
        reports_cmp_free(&cmp);
        reports_data_free(&d);
        return cli_fail("compare", rc);
    }
    if (!strcmp(fmt, "json"))
        reports_cmp_write_json(&cmp, &co, out.f);
    else
        reports_cmp_write_md(&cmp, &co, out.f);
    if ((rc = reports_out_close(&out, true))) {
        reports_cmp_free(&cmp);
        reports_data_free(&d);
        return cli_fail("compare", rc);
    }
    int exit_code = cmp.n_regressed ? MB_EXIT_REGRESSION : MB_EXIT_OK;
    if (cmp.n_regressed)
        fprintf(stderr, "mobench: compare: %zu cell%s regressed beyond %.1f%%\n", cmp.n_regressed,
                cmp.n_regressed > 1 ? "s" : "", co.threshold * 100.0);
    if (out_path)
        fprintf(stderr, "mobench: compare: %s written\n", out_path);
    reports_cmp_free(&cmp);
    reports_data_free(&d);
    return exit_code;
}
