/* report.c: `mobench report`: DIR/index.html (self-contained: inline CSS,
 * no scripts, no external references), the charts beside it, and the
 * recommendation tables. The HTML is written even when gnuplot is missing:
 * then the page says how to install it and the .gp/.dat files are there. */
#include "reports_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void esc(FILE *f, const char *s)
{
    reports_html_escape(f, s);
}

static void fmt_time(double t, char *buf, size_t len)
{
    if (!isfinite(t) || t <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
}

static void td(FILE *f, const char *s)
{
    fputs("<td>", f);
    esc(f, s);
    fputs("</td>", f);
}

static void tdn(FILE *f, int digits, double v)
{
    if (isfinite(v))
        fprintf(f, "<td class=\"n\">%.*f</td>", digits, v);
    else
        fputs("<td class=\"n\">-</td>", f);
}

static void tdb(FILE *f, uint64_t b)
{
    char buf[32];
    reports_fmt_bytes(b, buf, sizeof buf);
    fprintf(f, "<td class=\"n\">%s</td>", buf);
}

static const char *yes_no(bool b) { return b ? "yes" : "no"; }

static void section_devices(FILE *f, const reports_data_t *d, const reports_classes_t *cl)
{
    fputs("<h2 id=\"device\">Device</h2>\n", f);
    if (!d->n_devices) {
        fputs("<p>No device in this selection.</p>\n", f);
        return;
    }
    fputs("<div class=\"tw\"><table>\n<tr><th>device</th><th>fingerprint</th><th>platform</th>"
          "<th>arch</th><th>cores</th><th>RAM</th><th>ISA</th><th>read bandwidth GB/s</th>"
          "<th>f32 peak GFLOP/s</th><th>int8 peak GOP/s</th><th>temperature</th>"
          "<th>frequency</th><th>energy</th><th>device class</th></tr>\n", f);
    for (size_t i = 0; i < d->n_devices; i++) {
        const reports_device_t *v = &d->devices[i];
        const reports_class_t *k = reports_class_of_device(cl, v);
        char fp[24];
        snprintf(fp, sizeof fp, "%.16s", v->fingerprint);
        fputs("<tr>", f);
        td(f, v->name[0] ? v->name : v->id);
        td(f, fp);
        td(f, v->platform[0] ? v->platform : "-");
        td(f, v->arch[0] ? v->arch : "-");
        if (v->n_cores)
            fprintf(f, "<td class=\"n\">%d</td>", v->n_cores);
        else
            fputs("<td class=\"n\">-</td>", f);
        tdb(f, v->ram_bytes);
        td(f, v->isa[0] ? v->isa : "-");
        tdn(f, 1, v->bw_gbs);
        tdn(f, 0, v->peak_f32_gflops);
        tdn(f, 0, v->peak_int8_gops);
        td(f, yes_no(v->has_temp));
        td(f, yes_no(v->has_freq));
        td(f, yes_no(v->has_energy));
        td(f, k ? k->label : "none of the phone classes");
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n", f);
    bool ceil = false;
    for (size_t i = 0; i < d->n_devices; i++)
        ceil |= isfinite(d->devices[i].bw_gbs);
    if (!ceil)
        fputs("<p class=\"note\">Ceilings (bandwidth, peaks) not measured: run "
              "<code>mobench probe --roofline</code> to store them; the roofline chart needs "
              "them.</p>\n", f);
}

static void section_runs(FILE *f, const reports_data_t *d)
{
    fputs("<h2 id=\"runs\">Runs</h2>\n<div class=\"tw\"><table>\n<tr><th>run</th><th>device</th>"
          "<th>started</th><th>status</th><th>mobench</th><th>cells</th><th>command</th></tr>\n", f);
    for (size_t i = d->n_runs; i-- > 0;) {
        const reports_run_t *r = &d->runs[i];
        const reports_device_t *v = reports_data_device(d, r->device_id);
        char t[48], id[16], ver[96];
        fmt_time(r->t_start, t, sizeof t);
        snprintf(id, sizeof id, "%.8s", r->id);
        snprintf(ver, sizeof ver, "%s %s", r->version, r->commit);
        size_t n = 0;
        for (size_t k = 0; k < d->n_cells; k++)
            n += !strcmp(d->cells[k].run_id, r->id);
        fputs("<tr>", f);
        td(f, id);
        td(f, v ? (v->name[0] ? v->name : v->id) : r->device_id);
        td(f, t);
        td(f, r->status);
        td(f, ver);
        fprintf(f, "<td class=\"n\">%zu</td>", n);
        td(f, r->cmdline[0] ? r->cmdline : "-");
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n", f);
}

static void section_results(FILE *f, const reports_data_t *d)
{
    fprintf(f, "<h2 id=\"results\">Results (%zu cells)</h2>\n", d->n_cells);
    if (!d->n_cells) {
        fputs("<p>No cells in this selection.</p>\n", f);
        return;
    }
    fputs("<div class=\"tw\"><table>\n<tr><th>run</th><th>model</th><th>recipe</th>"
          "<th>weights</th><th>test</th><th>threads</th><th>kernel</th><th>t/s median</th>"
          "<th>95% CI</th><th>CV %</th><th>reps</th><th>TTFT ms</th><th>peak RSS</th>"
          "<th>KLD</th><th>PPL (text)</th><th>throttled</th><th>status</th></tr>\n", f);
    for (size_t i = 0; i < d->n_cells; i++) {
        const reports_cell_t *c = &d->cells[i];
        char id[16], ci[64];
        snprintf(id, sizeof id, "%.8s", c->run_id);
        double m = isfinite(c->median_ts) ? c->median_ts : reports_median(c->samples_ts, c->n_samples);
        if (isfinite(c->ci_lo_ts) && isfinite(c->ci_hi_ts))
            snprintf(ci, sizeof ci, "%.2f..%.2f", c->ci_lo_ts, c->ci_hi_ts);
        else
            snprintf(ci, sizeof ci, "-");
        fputs("<tr>", f);
        td(f, id);
        td(f, c->model);
        td(f, c->recipe);
        td(f, c->weights);
        td(f, c->test);
        fprintf(f, "<td class=\"n\">%d</td>", c->n_threads);
        td(f, c->kernel);
        tdn(f, 2, m);
        fprintf(f, "<td class=\"n\">%s</td>", ci);
        tdn(f, 1, isfinite(c->cv) ? c->cv * 100.0 : NAN);
        fprintf(f, "<td class=\"n\">%zu</td>", c->n_samples);
        tdn(f, 1, c->ttft_ms);
        tdb(f, c->peak_rss);
        tdn(f, 4, c->kld);
        tdn(f, 3, c->text_ppl);
        fprintf(f, "<td class=\"n\">%d</td>", c->throttled_reps);
        if (!strcmp(c->status, "ok")) {
            td(f, "ok");
        } else {
            fputs("<td class=\"bad\">", f);
            esc(f, c->status);
            if (c->reason[0]) {
                fputs(": ", f);
                esc(f, c->reason);
            }
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n", f);
}

static bool file_nonempty(const char *dir, const char *name, const char *ext)
{
    char path[4096];
    snprintf(path, sizeof path, "%.4000s/%.32s%.8s", dir, name, ext);
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0;
}

/* Real-text quality (quality --text) with the speed measured on the same
 * file (cells whose weights sha256 is the result's model sha256). */
static void section_text_quality(FILE *f, const reports_data_t *d)
{
    if (!d->n_textq)
        return;
    fprintf(f, "<h2 id=\"text-quality\">Quality on real text (%zu result%s)</h2>\n"
               "<p>Perplexity (and KLD against the base file) as llama-perplexity computes it "
               "(docs/QUALITY.md), next to the best prefill and decode rates measured on the "
               "same file. Perplexities compare only on the same corpus and context.</p>\n",
            d->n_textq, d->n_textq == 1 ? "" : "s");
    fputs("<div class=\"tw\"><table>\n<tr><th>model</th><th>weights</th><th>file sha256</th>"
          "<th>corpus sha256</th><th>ctx</th><th>windows</th><th>PPL</th><th>+-</th>"
          "<th>KLD vs base</th><th>top-1</th><th>PPL ratio</th><th>pp t/s</th>"
          "<th>tg t/s</th></tr>\n", f);
    for (size_t i = 0; i < d->n_textq; i++) {
        const reports_textq_t *q = &d->textq[i];
        double pp = NAN, tg = NAN;
        for (size_t k = 0; k < d->n_cells; k++) {
            const reports_cell_t *c = &d->cells[k];
            if (strcmp(c->weights_sha, q->model_sha) || strcmp(c->status, "ok"))
                continue;
            double m = isfinite(c->median_ts) ? c->median_ts : reports_median(c->samples_ts, c->n_samples);
            if (c->kind == REPORTS_TEST_PP && !(m <= pp))
                pp = m;
            if (c->kind == REPORTS_TEST_TG && !(m <= tg))
                tg = m;
        }
        char ms[16], cs[16];
        snprintf(ms, sizeof ms, "%.12s", q->model_sha);
        snprintf(cs, sizeof cs, "%.12s", q->corpus_sha);
        fputs("<tr>", f);
        td(f, q->model);
        td(f, q->weights);
        td(f, ms);
        td(f, cs);
        fprintf(f, "<td class=\"n\">%d</td><td class=\"n\">%d</td>", q->n_ctx, q->n_chunks);
        tdn(f, 4, q->ppl);
        tdn(f, 4, q->ppl_err);
        tdn(f, 5, q->kld);
        tdn(f, 3, q->top1);
        tdn(f, 4, q->ppl_ratio);
        tdn(f, 1, pp);
        tdn(f, 1, tg);
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n", f);
}

static void section_charts(FILE *f, const reports_chart_t *ch, int n, bool gnuplot_missing,
                           const char *gnuplot_err)
{
    fputs("<h2 id=\"charts\">Charts</h2>\n", f);
    if (gnuplot_missing)
        fputs("<p class=\"note\">gnuplot is not installed, so the charts were not drawn. "
              "Install it with <code>apt-get install gnuplot-nox</code> and run "
              "<code>mobench report</code> again, or run <code>gnuplot NAME.gp</code> in this "
              "directory for each chart. The data (.dat) and scripts (.gp) are here.</p>\n", f);
    else if (gnuplot_err && *gnuplot_err) {
        fputs("<p class=\"note\">gnuplot failed on some charts: ", f);
        esc(f, gnuplot_err);
        fputs("</p>\n", f);
    }
    for (int i = 0; i < n; i++) {
        fprintf(f, "<figure id=\"chart-%s\">\n<h3>", ch[i].name);
        esc(f, ch[i].title);
        fputs("</h3>\n", f);
        if (ch[i].rendered)
            fprintf(f, "<img src=\"%s.png\" alt=\"%s\" width=\"1000\">\n", ch[i].name, ch[i].name);
        fputs("<figcaption>", f);
        esc(f, ch[i].caption);
        fprintf(f, " Files: %s%s.gp, %s.dat.</figcaption>\n</figure>\n",
                ch[i].rendered ? "" : "(not drawn) ", ch[i].name, ch[i].name);
        if (ch[i].html)
            fputs(ch[i].html, f);
        if (ch[i].rendered)
            fprintf(f, "<p><a href=\"%s.svg\">%s.svg</a> (vector)</p>\n", ch[i].name, ch[i].name);
    }
}

int reports_report_write(const reports_data_t *d, const reports_classes_t *cl,
                         const reports_report_opts_t *o, reports_report_stats_t *st)
{
    memset(st, 0, sizeof *st);
    const char *dir = o->out_dir ? o->out_dir : "report";
    uint64_t t0 = mb_clock_ns();
    int rc = mb_dir_create(dir);
    if (rc)
        return rc;
    reports_chart_t charts[REPORTS_MAX_CHARTS];
    int n = 0;
    if ((rc = reports_charts_write(d, cl, dir, charts, &n))) {
        reports_charts_free(charts);
        return rc;
    }
    st->n_charts = n;
    uint64_t t1 = mb_clock_ns();

    /* gnuplot: one child per chart; a failing chart does not stop the others */
    char gp_err[512] = "";
    if (!o->gnuplot || *o->gnuplot) {
        char log[4096];
        snprintf(log, sizeof log, "%s/gnuplot.log", dir);
        remove(log);
        for (int i = 0; i < n; i++) {
            char script[64];
            snprintf(script, sizeof script, "%.32s.gp", charts[i].name);
            int r = reports_gnuplot_run(o->gnuplot, dir, script);
            if (r == MB_ENOENT) {
                st->gnuplot_missing = true;
                if (!o->quiet)
                    MB_WARN("report: %s", mb_err_msg());
                break;
            }
            if (r) {
                if (!gp_err[0])
                    snprintf(gp_err, sizeof gp_err, "%s", mb_err_msg());
                MB_WARN("report: %s", mb_err_msg());
                continue;
            }
            charts[i].rendered = file_nonempty(dir, charts[i].name, ".png") &&
                                 file_nonempty(dir, charts[i].name, ".svg");
            st->n_rendered += charts[i].rendered;
        }
    } else {
        st->gnuplot_missing = true;
    }
    uint64_t t2 = mb_clock_ns();

    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/index.html", dir);
    snprintf(tmp, sizeof tmp, "%s/.index.html.tmp", dir);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        reports_charts_free(charts);
        return mb_err_set(mb_err_from_errno(errno), "cannot write %s: %s; check the --out "
                                                    "directory", tmp, strerror(errno));
    }
    char now[48];
    fmt_time(mb_clock_wall(), now, sizeof now);
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
               "<title>");
    esc(f, o->title ? o->title : "mobench report");
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", reports_css);
    esc(f, o->title ? o->title : "mobench report");
    fprintf(f, "</h1>\n<p>Generated %s by mobench %s (commit %s): %zu device%s, %zu run%s, "
               "%zu cells. Every figure below comes from the results database; weights are "
               "marked synthetic (seeded, real shapes) or file.</p>\n"
               "<p><a href=\"#device\">Device</a> &middot; <a href=\"#runs\">Runs</a> &middot; "
               "<a href=\"#results\">Results</a> &middot; <a href=\"#charts\">Charts</a> &middot; "
               "<a href=\"#recommend\">Recommendations</a></p>\n",
            now, mb_version(), mb_build_commit(), d->n_devices, d->n_devices == 1 ? "" : "s",
            d->n_runs, d->n_runs == 1 ? "" : "s", d->n_cells);
    section_devices(f, d, cl);
    section_runs(f, d);
    section_charts(f, charts, n, st->gnuplot_missing, gp_err);
    section_results(f, d);
    section_text_quality(f, d);
    fputs("<div id=\"recommend\"></div>\n", f);
    reports_rec_opts_t ro;
    reports_rec_opts_default(&ro);
    rc = reports_recommend_write(cl, d, NULL, "chat", &ro, REPORTS_FMT_HTML, f);
    fputs("<p>Other use cases and options: <code>mobench recommend --help</code>.</p>\n"
          "</body>\n</html>\n", f);
    if (ferror(f) | (fclose(f) != 0) && !rc)
        rc = mb_err_set(MB_EIO, "writing %s failed (disk full?)", tmp);
    if (!rc && rename(tmp, path) != 0)
        rc = mb_err_set(mb_err_from_errno(errno), "cannot rename %s to %s: %s", tmp, path,
                        strerror(errno));
    if (rc)
        remove(tmp);
    reports_charts_free(charts);
    uint64_t t3 = mb_clock_ns();
    st->write_s = (double)((t1 - t0) + (t3 - t2)) / 1e9;
    st->gnuplot_s = (double)(t2 - t1) / 1e9;
    return rc;
}

int reports_summary_write(const reports_data_t *d, const reports_classes_t *cl, FILE *f)
{
    int main_dev = reports_main_device(d);
    if (main_dev < 0) {
        fprintf(f, "no results in this selection\n");
        return 0;
    }
    reports_candidate_t *cs;
    size_t n;
    int rc = reports_candidates_build(d, &cs, &n);
    if (rc)
        return rc;
    const reports_device_t *dev = &d->devices[main_dev];
    fprintf(f, "\n%s (%zu cells, %zu runs)\n\n", dev->name[0] ? dev->name : dev->id, d->n_cells,
            d->n_runs);
    reports_doc_t doc = {.f = f, .fmt = REPORTS_FMT_MD};
    reports_doc_table(&doc, "model|recipe|weights|prefill t/s|decode t/s|resident (4096 ctx)|KLD|PPL (text)");
    for (size_t i = 0; i < n; i++) {
        const reports_candidate_t *c = &cs[i];
        if (strcmp(c->device_id, dev->id))
            continue;
        char pp[32], tg[32], res[32], kld[32], ppl[48];
        reports_fmt_num(pp, sizeof pp, 1, c->pp_ts);
        reports_fmt_num(tg, sizeof tg, 1, c->tg_ts);
        reports_fmt_bytes(reports_candidate_resident(cl, c, 4096), res, sizeof res);
        reports_fmt_num(kld, sizeof kld, 4, c->kld);
        reports_fmt_num(ppl, sizeof ppl, 3, c->text_ppl);
        const char *row[] = {c->model, c->recipe, c->weights, pp, tg, res, kld, ppl};
        reports_doc_row(&doc, 8, row);
    }
    reports_doc_table_end(&doc);
    free(cs);
    return 0;
}
