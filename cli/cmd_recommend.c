/* cmd_recommend.c: `mobench recommend`: which model x recipe per device class. */
#include "commands.h"
#include "db.h"
#include "mb.h"
#include "reports.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static void recommend_help(void)
{
    printf("usage: mobench recommend [options]\n\n"
           "For each device class and use case, the best measured model x recipe: fits the\n"
           "memory budget (weights + KV for the context + scratch), meets the speed floors,\n"
           "least quality loss (KLD), ties broken by speed; every rejected candidate with\n"
           "one reason. Then the two tables of the mobile guides regenerated from the\n"
           "measurements, and where they disagree with commonly quoted figures.\n"
           "Speed floors are checked only with devices of the class; other figures are\n"
           "labelled 'not measured on this class'. Details: docs/RECOMMEND.md.\n\n"
           "options:\n"
           "  --db FILE          results database               default: $MOBENCH_DB or ./mobench.db\n"
           "  --class NAME       one device class (see --list)  default: all\n"
           "  --ram SIZE         assume this RAM (e.g. 6G) instead of the class's\n"
           "  --budget SIZE      memory budget for the app, instead of a share of RAM\n"
           "  --min-tg T         decode floor, tokens/s         default: per use case\n"
           "  --max-ttft DUR     time-to-first-token limit (2s)  default: per use case\n"
           "  --context N        tokens of KV to hold           default: per use case\n"
           "  --use-case NAME    chat|fast|quality|multilingual default: all\n"
           "  --classes FILE     extra or replacement classes (INI, format of reports/classes.ini)\n"
           "  --list             list the classes and use cases, then exit\n"
           "  -o, --format FMT   md, html or json (default: md, or the --output file's\n"
           "                     extension: .html, .json)\n"
           "  --output FILE      write the tables to FILE (default: stdout)\n"
           "  -h, --help         this text\n");
}

static void list_classes(const reports_classes_t *cl)
{
    printf("device classes:\n");
    for (size_t i = 0; i < cl->n_classes; i++) {
        char ram[32], bud[32];
        const reports_class_t *k = &cl->classes[i];
        mb_fmt_bytes(k->ram, ram, sizeof ram);
        mb_fmt_bytes((uint64_t)((double)k->ram * k->budget_share), bud, sizeof bud);
        printf("  %-24s %-28s %-8s RAM %s, budget %s (%.0f%%)\n", k->name, k->label, k->platform,
               ram, bud, k->budget_share * 100);
    }
    printf("use cases:\n");
    for (size_t i = 0; i < cl->n_use_cases; i++) {
        const reports_use_case_t *u = &cl->use_cases[i];
        printf("  %-14s %-20s decode >= %g tok/s, TTFT <= %g s, context %d%s%s\n", u->name,
               u->label, u->min_tg, u->max_ttft_s, u->context, u->models[0] ? ", models " : "",
               u->models);
    }
}

int cmd_recommend(int argc, char **argv)
{
    enum { OPT_DB = 1, OPT_CLASS, OPT_RAM, OPT_BUDGET, OPT_MINTG, OPT_TTFT, OPT_CTX, OPT_UC,
           OPT_CLASSES, OPT_LIST, OPT_OUTPUT };
    static const struct option longopts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"class", required_argument, NULL, OPT_CLASS},
        {"ram", required_argument, NULL, OPT_RAM},
        {"budget", required_argument, NULL, OPT_BUDGET},
        {"min-tg", required_argument, NULL, OPT_MINTG},
        {"max-ttft", required_argument, NULL, OPT_TTFT},
        {"context", required_argument, NULL, OPT_CTX},
        {"use-case", required_argument, NULL, OPT_UC},
        {"classes", required_argument, NULL, OPT_CLASSES},
        {"list", no_argument, NULL, OPT_LIST},
        {"format", required_argument, NULL, 'o'},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db_path = db_default_path(), *cls = NULL, *uc = NULL, *classes = NULL;
    const char *fmt = NULL, *out_path = NULL;
    bool list = false;
    reports_rec_opts_t ro;
    reports_rec_opts_default(&ro);
    optind = 0;
    opterr = 0;
    int o;
    int64_t i64;
    while ((o = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
        switch (o) {
        case OPT_DB: db_path = optarg; break;
        case OPT_CLASS: cls = optarg; break;
        case OPT_UC: uc = optarg; break;
        case OPT_CLASSES: classes = optarg; break;
        case OPT_LIST: list = true; break;
        case OPT_RAM:
            if (mb_parse_bytes(optarg, &ro.ram_override) || ro.ram_override == 0)
                return cli_usage_error("recommend", "--ram '%s': expected a size such as 6G", optarg);
            break;
        case OPT_BUDGET:
            if (mb_parse_bytes(optarg, &ro.budget_override) || ro.budget_override == 0)
                return cli_usage_error("recommend", "--budget '%s': expected a size such as 2G",
                                       optarg);
            break;
        case OPT_MINTG:
            if (mb_parse_f64(optarg, &ro.min_tg) || !(ro.min_tg >= 0))
                return cli_usage_error("recommend", "--min-tg '%s': expected tokens/s >= 0", optarg);
            break;
        case OPT_TTFT:
            if (mb_parse_duration(optarg, &ro.max_ttft_s) || !(ro.max_ttft_s >= 0))
                return cli_usage_error("recommend", "--max-ttft '%s': expected a duration such "
                                                    "as 2s or 800ms", optarg);
            break;
        case OPT_CTX:
            if (mb_parse_i64(optarg, &i64) || i64 < 1 || i64 > 10000000)
                return cli_usage_error("recommend", "--context '%s': expected a token count",
                                       optarg);
            ro.context = (int)i64;
            break;
        case 'o': fmt = optarg; break;
        case OPT_OUTPUT:
            if (!strcmp(optarg, "md") || !strcmp(optarg, "html") || !strcmp(optarg, "json") ||
                !*optarg)
                return cli_usage_error("recommend", "--output '%s' names the file to write; "
                                                    "the format is -o %s (a file of that "
                                                    "name: --output ./%s)", optarg, optarg,
                                       optarg);
            out_path = optarg;
            break;
        case 'h': recommend_help(); return MB_EXIT_OK;
        case ':': return cli_usage_error("recommend", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("recommend", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("recommend", "unexpected argument '%s'", argv[optind]);
    if (!fmt) { /* from the output file's extension, else markdown */
        const char *ext = out_path ? strrchr(out_path, '.') : NULL;
        fmt = !ext ? "md" : !strcmp(ext, ".json") ? "json"
                          : !strcmp(ext, ".html") || !strcmp(ext, ".htm") ? "html" : "md";
    }
    reports_fmt_t f;
    if (!strcmp(fmt, "md"))
        f = REPORTS_FMT_MD;
    else if (!strcmp(fmt, "html"))
        f = REPORTS_FMT_HTML;
    else if (!strcmp(fmt, "json"))
        f = REPORTS_FMT_JSON;
    else
        return cli_usage_error("recommend", "-o '%s': expected md, html or json", fmt);

    reports_classes_t cl;
    int rc = reports_classes_load(classes, &cl);
    if (rc)
        return cli_fail("recommend", rc);
    if (list) {
        list_classes(&cl);
        reports_classes_free(&cl);
        return MB_EXIT_OK;
    }
    if (cls && !reports_class_find(&cl, cls)) {
        reports_classes_free(&cl);
        return cli_usage_error("recommend", "--class '%s': unknown class; 'mobench recommend "
                                            "--list' shows them", cls);
    }
    if (uc && !reports_use_case_find(&cl, uc)) {
        reports_classes_free(&cl);
        return cli_usage_error("recommend", "--use-case '%s': expected chat, fast, quality or "
                                            "multilingual (or one from --classes)", uc);
    }
    reports_data_t d;
    if ((rc = reports_data_load(db_path, NULL, &d))) {
        reports_classes_free(&cl);
        return cli_fail("recommend", rc);
    }
    reports_out_t out;
    if ((rc = reports_out_open(&out, out_path))) {
        reports_data_free(&d);
        reports_classes_free(&cl);
        return cli_fail("recommend", rc);
    }
    if (f == REPORTS_FMT_HTML)
        fprintf(out.f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                       "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                       "<title>mobench recommend</title><style>%s</style></head><body>\n",
                reports_css_text());
    rc = reports_recommend_write(&cl, &d, cls, uc, &ro, f, out.f);
    if (f == REPORTS_FMT_HTML && !rc)
        fprintf(out.f, "</body></html>\n");
    int rc2 = reports_out_close(&out, rc == 0);
    rc = rc ? rc : rc2;
    reports_data_free(&d);
    reports_classes_free(&cl);
    if (rc)
        return cli_fail("recommend", rc);
    if (out_path)
        fprintf(stderr, "mobench: recommend: %s written\n", out_path);
    return MB_EXIT_OK;
}
