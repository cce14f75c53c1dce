/* cmd_report.c: `mobench report`: the HTML report with gnuplot charts. */
#include "commands.h"
#include "db.h"
#include "mb.h"
#include "reports.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void report_help(void)
{
    printf("usage: mobench report [options]\n\n"
           "Writes DIR/index.html (self-contained, works offline, no scripts): the device,\n"
           "the runs, the results table, charts (prefill/decode t/s with CIs, memory vs\n"
           "quality with the Pareto front, temperature and frequency over time, roofline,\n"
           "nightly trend with regressions marked, device comparison) and the\n"
           "recommendation tables. Charts are PNG and SVG drawn by gnuplot; their .gp\n"
           "scripts and .dat files are written beside them. Without gnuplot the report\n"
           "still has the tables, data and scripts. Prints a summary table (main device:\n"
           "t/s, memory, KLD per model x recipe) and the report path. Details: docs/REPORT.md.\n\n"
           "options:\n"
           "  --db FILE         results database               default: $MOBENCH_DB or ./mobench.db\n"
           "  --run ID          one run (id prefix, 'latest' or 'previous')   default: all runs\n"
           "  --since DATE      runs started at or after DATE (2026-11-26[T08:00])\n"
           "  --device FP       one device (fingerprint or uuid, or a unique prefix)\n"
           "  --out DIR         output directory (created)     default: report\n"
           "  --classes FILE    extra device classes for the recommendation tables\n"
           "  --gnuplot PROG    gnuplot program                default: gnuplot; '' = do not draw\n"
           "  --title TEXT      page title                     default: mobench report\n"
           "  --no-summary      do not print the summary table on stdout\n"
           "  -h, --help        this text\n\n"
           "exit status: 0 report written, 1 run-time error or a selection (or database)\n"
           "with no results (nothing is written then), 2 usage error.\n");
}

int cmd_report(int argc, char **argv)
{
    enum { OPT_DB = 1, OPT_RUN, OPT_SINCE, OPT_DEVICE, OPT_OUT, OPT_CLASSES, OPT_GNUPLOT,
           OPT_TITLE, OPT_NOSUM };
    static const struct option longopts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"run", required_argument, NULL, OPT_RUN},
        {"since", required_argument, NULL, OPT_SINCE},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"out", required_argument, NULL, OPT_OUT},
        {"classes", required_argument, NULL, OPT_CLASSES},
        {"gnuplot", required_argument, NULL, OPT_GNUPLOT},
        {"title", required_argument, NULL, OPT_TITLE},
        {"no-summary", no_argument, NULL, OPT_NOSUM},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db_path = db_default_path(), *classes = NULL;
    reports_filter_t filt = {0};
    reports_report_opts_t ro = {.out_dir = "report"};
    bool quiet_summary = false;
    const char *since_arg = NULL;
    optind = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (o) {
        case OPT_DB: db_path = optarg; break;
        case OPT_RUN: filt.run = optarg; break;
        case OPT_SINCE:
            if (db_time_parse(optarg, &filt.since))
                return cli_usage_error("report", "--since '%s': expected a date such as "
                                                 "2026-11-26 or 2026-11-26T08:00 (UTC)", optarg);
            since_arg = optarg;
            break;
        case OPT_DEVICE: filt.device = optarg; break;
        case OPT_OUT: ro.out_dir = optarg; break;
        case OPT_CLASSES: classes = optarg; break;
        case OPT_GNUPLOT: ro.gnuplot = optarg; break;
        case OPT_TITLE: ro.title = optarg; break;
        case OPT_NOSUM: quiet_summary = true; break;
        case 'h': report_help(); return MB_EXIT_OK;
        case ':': return cli_usage_error("report", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("report", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("report", "unexpected argument '%s'", argv[optind]);
    if (!*ro.out_dir)
        return cli_usage_error("report", "--out needs a directory name");

    reports_classes_t cl;
    int rc = reports_classes_load(classes, &cl);
    if (rc)
        return cli_fail("report", rc);
    uint64_t t0 = mb_clock_ns();
    reports_data_t d;
    if ((rc = reports_data_load(db_path, &filt, &d))) {
        reports_classes_free(&cl);
        return cli_fail("report", rc);
    }
    double load_s = (double)(mb_clock_ns() - t0) / 1e9;
    if (d.n_cells == 0) {
        /* nothing to draw: say which selection is empty, write no charts */
        char sel[512] = "";
        if (filt.run)
            snprintf(sel + strlen(sel), sizeof sel - strlen(sel), " --run %.100s", filt.run);
        if (since_arg)
            snprintf(sel + strlen(sel), sizeof sel - strlen(sel), " --since %.100s", since_arg);
        if (filt.device)
            snprintf(sel + strlen(sel), sizeof sel - strlen(sel), " --device %.100s", filt.device);
        if (sel[0])
            fprintf(stderr, "mobench: report: no results match%s in %s (%zu run%s); nothing "
                            "written. Widen the selection; 'mobench db export --format csv "
                            "--table runs --db %s' lists the runs\n",
                    sel, db_path, d.n_runs, d.n_runs == 1 ? "" : "s", db_path);
        else
            fprintf(stderr, "mobench: report: %s holds no results; nothing written. Store some "
                            "with 'mobench bench --db %s' or 'mobench sweep FILE --db %s'\n",
                    db_path, db_path, db_path);
        reports_data_free(&d);
        reports_classes_free(&cl);
        return MB_EXIT_FAIL;
    }
    reports_report_stats_t st;
    rc = reports_report_write(&d, &cl, &ro, &st);
    if (!rc && !quiet_summary)
        rc = reports_summary_write(&d, &cl, stdout);
    size_t n_cells = d.n_cells, n_runs = d.n_runs;
    reports_data_free(&d);
    reports_classes_free(&cl);
    if (rc)
        return cli_fail("report", rc);
    printf("report: %s/index.html (%zu cells, %zu runs; %d/%d charts drawn)\n", ro.out_dir,
           n_cells, n_runs, st.n_rendered, st.n_charts);
    if (st.gnuplot_missing)
        printf("charts not drawn: gnuplot is not installed (apt-get install gnuplot-nox); the "
               ".gp scripts and .dat files are in %s\n", ro.out_dir);
    MB_INFO("report: load %.3f s, write %.3f s, gnuplot %.3f s", load_s, st.write_s, st.gnuplot_s);
    return fflush(stdout) == 0 ? MB_EXIT_OK : MB_EXIT_FAIL;
}
