/* compare.c: regression verdicts between two runs, cell by cell.
 *
 * Significance comes from the Mann-Whitney U test on the per-rep tokens/s
 * (rank based: one slow outlier rep cannot fake a regression, and the
 * exact null distribution keeps the false-alarm rate at alpha even with 5
 * reps). The size of the change is the ratio of medians with a percentile
 * bootstrap CI at level 1 - alpha. A cell is "regressed" when the
 * difference is significant, the candidate is slower and the CI reaches
 * the threshold: a slowdown that large is plausible. Small but significant
 * shifts (a 1% drift between two quiet runs) stay "unchanged" with a note.
 * Power figures: docs/REPORT.md "Compare". */
#include "reports_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *reports_verdict_name(reports_verdict_t v)
{
    switch (v) {
    case REPORTS_UNCHANGED: return "unchanged";
    case REPORTS_IMPROVED: return "improved";
    case REPORTS_REGRESSED: return "regressed";
    case REPORTS_NOT_COMPARABLE: return "not comparable";
    }
    return "?";
}

void reports_compare_opts_default(reports_compare_opts_t *o)
{
    o->threshold = 0.05;
    o->alpha = 0.01;
    o->n_boot = 2000;
    o->seed = 0x6d6f62656e6368ULL; /* "mobench" */
    o->min_samples = 3;
    o->max_cv = 0; /* 2 x threshold */
}

double reports_robust_cv(const double *x, size_t n)
{
    double m = reports_median(x, n);
    if (!(m > 0))
        return NAN;
    double stackbuf[64];
    double *dev = n <= 64 ? stackbuf : malloc(n * sizeof *dev);
    if (!dev)
        return NAN;
    for (size_t i = 0; i < n; i++)
        dev[i] = fabs(x[i] - m);
    double mad = reports_median(dev, n);
    if (dev != stackbuf)
        free(dev);
    return 1.4826 * mad / m;
}

void reports_compare_samples(const double *base, size_t nb, const double *cand, size_t nc,
                             const reports_compare_opts_t *o, reports_cmp_stat_t *out)
{
    memset(out, 0, sizeof *out);
    out->ratio = out->ci_lo = out->ci_hi = out->p = NAN;
    size_t need = o->min_samples > 0 ? (size_t)o->min_samples : 1;
    if (nb < need || nc < need) {
        out->verdict = REPORTS_NOT_COMPARABLE;
        snprintf(out->note, sizeof out->note, "too few reps (%zu baseline, %zu candidate; "
                 "need %zu each)", nb, nc, need);
        return;
    }
    double mb = reports_median(base, nb), mc = reports_median(cand, nc);
    if (!(mb > 0) || !isfinite(mc)) {
        out->verdict = REPORTS_NOT_COMPARABLE;
        snprintf(out->note, sizeof out->note, "baseline median is not a positive rate");
        return;
    }
    out->ratio = mc / mb;
    out->p = reports_mann_whitney_p(base, nb, cand, nc);
    out->significant = out->p < o->alpha;
    if (reports_bootstrap_ratio_ci(base, nb, cand, nc, 1.0 - o->alpha, o->n_boot, o->seed,
                                   &out->ci_lo, &out->ci_hi))
        out->ci_lo = out->ci_hi = out->ratio; /* degenerate: the point estimate */
    double pct = (out->ratio - 1.0) * 100.0;
    /* Noise gate. Reps within a run only see noise at the time scale of a
     * rep; a busy machine also moves whole runs (measured: two back-to-back
     * runs 4x apart at CV 16-41%), which no within-run test can tell from a
     * real change. So a side this noisy cannot be judged at this threshold. */
    double max_cv = o->max_cv > 0 ? o->max_cv : 2.0 * o->threshold;
    double cvb = reports_robust_cv(base, nb), cvc = reports_robust_cv(cand, nc);
    if (cvb > max_cv || cvc > max_cv) {
        out->verdict = REPORTS_NOT_COMPARABLE;
        snprintf(out->note, sizeof out->note, "too noisy: CV %.0f%% baseline, %.0f%% candidate "
                 "> %.0f%% (%+.1f%%, p=%.2g); rerun on a quiet machine", cvb * 100.0,
                 cvc * 100.0, max_cv * 100.0, pct, out->p);
        return;
    }
    if (out->significant && out->ratio < 1.0 && out->ci_lo <= 1.0 - o->threshold) {
        out->verdict = REPORTS_REGRESSED;
        snprintf(out->note, sizeof out->note, "%+.1f%% (p=%.3g)", pct, out->p);
    } else if (out->significant && out->ratio > 1.0 && out->ci_hi >= 1.0 + o->threshold) {
        out->verdict = REPORTS_IMPROVED;
        snprintf(out->note, sizeof out->note, "%+.1f%% (p=%.3g)", pct, out->p);
    } else {
        out->verdict = REPORTS_UNCHANGED;
        if (out->significant)
            snprintf(out->note, sizeof out->note, "significant %+.1f%% but within %.0f%%",
                     pct, o->threshold * 100.0);
        else
            snprintf(out->note, sizeof out->note, "%+.1f%%, not significant (p=%.2g)", pct,
                     out->p);
    }
}

static bool same_cell(const reports_cell_t *a, const reports_cell_t *b)
{
    return !strcmp(a->model, b->model) && !strcmp(a->recipe, b->recipe) &&
           !strcmp(a->test, b->test) && a->n_depth == b->n_depth &&
           a->n_threads == b->n_threads;
}

/* Why two matching cells cannot be compared, or NULL. */
static const char *incomparable(const reports_data_t *d, const reports_cell_t *a,
                                const reports_cell_t *b, char *buf, size_t len)
{
    const reports_device_t *da = reports_data_device(d, a->device_id);
    const reports_device_t *db = reports_data_device(d, b->device_id);
    const char *fa = da && da->fingerprint[0] ? da->fingerprint : a->device_id;
    const char *fb = db && db->fingerprint[0] ? db->fingerprint : b->device_id;
    if (strcmp(fa, fb))
        snprintf(buf, len, "different device (%.40s vs %.40s)", fa, fb);
    else if (strcmp(a->kernel, b->kernel))
        snprintf(buf, len, "different kernel (%s vs %s)", a->kernel, b->kernel);
    else if (strcmp(a->weights, b->weights) || strcmp(a->weights_sha, b->weights_sha))
        snprintf(buf, len, "different weights (%s %.12s vs %s %.12s)", a->weights,
                 a->weights_sha, b->weights, b->weights_sha);
    else if (strcmp(a->status, "ok") || strcmp(b->status, "ok"))
        snprintf(buf, len, "cell not ok (baseline %s, candidate %s)", a->status, b->status);
    else
        return NULL;
    return buf;
}

int reports_compare_runs(const reports_data_t *d, const char *base_run, const char *cand_run,
                         const reports_compare_opts_t *o, reports_cmp_t *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->base_run, sizeof out->base_run, "%s", base_run);
    snprintf(out->cand_run, sizeof out->cand_run, "%s", cand_run);
    if (!strcmp(base_run, cand_run))
        return mb_err_set(MB_EINVAL, "baseline and candidate are the same run (%s); name two "
                                     "different runs", base_run);
    size_t cap = 0;
    for (size_t i = 0; i < d->n_cells; i++)
        if (!strcmp(d->cells[i].run_id, base_run) || !strcmp(d->cells[i].run_id, cand_run))
            cap++;
    out->rows = calloc(cap ? cap : 1, sizeof *out->rows);
    if (!out->rows)
        return mb_err_set(MB_ENOMEM, "compare: out of memory for %zu rows", cap);
    /* baseline cells, each paired with the last matching candidate cell */
    for (size_t i = 0; i < d->n_cells; i++) {
        const reports_cell_t *b = &d->cells[i];
        if (strcmp(b->run_id, base_run))
            continue;
        reports_cmp_row_t *r = &out->rows[out->n_rows++];
        r->base = b;
        for (size_t j = 0; j < d->n_cells; j++)
            if (!strcmp(d->cells[j].run_id, cand_run) && same_cell(b, &d->cells[j]))
                r->cand = &d->cells[j];
    }
    for (size_t j = 0; j < d->n_cells; j++) {
        const reports_cell_t *c = &d->cells[j];
        if (strcmp(c->run_id, cand_run))
            continue;
        bool matched = false;
        for (size_t k = 0; k < out->n_rows && !matched; k++)
            matched = out->rows[k].cand == c ||
                      (out->rows[k].base && same_cell(out->rows[k].base, c));
        if (!matched)
            out->rows[out->n_rows++].cand = c;
    }
    for (size_t k = 0; k < out->n_rows; k++) {
        reports_cmp_row_t *r = &out->rows[k];
        char why[160];
        if (!r->base || !r->cand) {
            memset(&r->st, 0, sizeof r->st);
            r->st.verdict = REPORTS_NOT_COMPARABLE;
            r->st.ratio = r->st.ci_lo = r->st.ci_hi = r->st.p = NAN;
            snprintf(r->st.note, sizeof r->st.note, "only in the %s run",
                     r->base ? "baseline" : "candidate");
            continue;
        }
        if (incomparable(d, r->base, r->cand, why, sizeof why)) {
            memset(&r->st, 0, sizeof r->st);
            r->st.verdict = REPORTS_NOT_COMPARABLE;
            r->st.ratio = r->st.ci_lo = r->st.ci_hi = r->st.p = NAN;
            snprintf(r->st.note, sizeof r->st.note, "%s", why);
        } else {
            reports_compare_samples(r->base->samples_ts, r->base->n_samples,
                                    r->cand->samples_ts, r->cand->n_samples, o, &r->st);
        }
    }
    reports_cmp_tally(out);
    return 0;
}

void reports_cmp_tally(reports_cmp_t *c)
{
    c->n_regressed = c->n_improved = c->n_unchanged = c->n_not_comparable = c->n_unmatched = 0;
    for (size_t k = 0; k < c->n_rows; k++) {
        const reports_cmp_row_t *r = &c->rows[k];
        /* a cell in one run only is one of the "not comparable" rows */
        c->n_unmatched += !r->base || !r->cand;
        switch (r->st.verdict) {
        case REPORTS_REGRESSED: c->n_regressed++; break;
        case REPORTS_IMPROVED: c->n_improved++; break;
        case REPORTS_UNCHANGED: c->n_unchanged++; break;
        case REPORTS_NOT_COMPARABLE: c->n_not_comparable++; break;
        }
    }
}

void reports_cmp_free(reports_cmp_t *c)
{
    if (!c)
        return;
    free(c->rows);
    c->rows = NULL;
    c->n_rows = 0;
}

static const reports_cell_t *row_cell(const reports_cmp_row_t *r)
{
    return r->base ? r->base : r->cand;
}

/* v with 'digits' decimals, or "-" when not a number. */
static void fmt_num(char *buf, size_t len, int digits, double v)
{
    if (isfinite(v))
        snprintf(buf, len, "%.*f", digits, v);
    else
        snprintf(buf, len, "-");
}

/* The counts of the rows as printed (the summary line can never disagree
 * with the table, whoever filled the rows). */
static reports_cmp_t counted(const reports_cmp_t *c)
{
    reports_cmp_t t = *c;
    reports_cmp_tally(&t);
    return t;
}

void reports_cmp_write_md(const reports_cmp_t *c, const reports_compare_opts_t *o, FILE *f)
{
    fprintf(f, "## mobench compare\n\nbaseline `%s`, candidate `%s`; threshold %.1f%%, "
               "alpha %.3g (Mann-Whitney U), CI %.0f%% bootstrap of the median ratio; reps "
               "noisier than CV %.0f%% are not judged\n\n",
            c->base_run, c->cand_run, o->threshold * 100.0, o->alpha, (1.0 - o->alpha) * 100.0,
            (o->max_cv > 0 ? o->max_cv : 2.0 * o->threshold) * 100.0);
    fprintf(f, "| model | recipe | test | d | t | base t/s | cand t/s | ratio | CI | verdict | note |\n"
               "|---|---|---|--:|--:|--:|--:|--:|---|---|---|\n");
    for (size_t i = 0; i < c->n_rows; i++) {
        const reports_cmp_row_t *r = &c->rows[i];
        const reports_cell_t *x = row_cell(r);
        char bm[32], cm[32], ra[32], lo[32], hi[32];
        fmt_num(bm, sizeof bm, 2,
                r->base ? reports_median(r->base->samples_ts, r->base->n_samples) : NAN);
        fmt_num(cm, sizeof cm, 2,
                r->cand ? reports_median(r->cand->samples_ts, r->cand->n_samples) : NAN);
        fmt_num(ra, sizeof ra, 3, r->st.ratio);
        fmt_num(lo, sizeof lo, 3, r->st.ci_lo);
        fmt_num(hi, sizeof hi, 3, r->st.ci_hi);
        const char *em = r->st.verdict == REPORTS_REGRESSED ? "**" : "";
        fprintf(f, "| %s | %s | %s | %d | %d | %s | %s | %s | %s..%s | %s%s%s | %s |\n", x->model,
                x->recipe, x->test, x->n_depth, x->n_threads, bm, cm, ra, lo, hi, em,
                reports_verdict_name(r->st.verdict), em, r->st.note);
    }
    reports_cmp_t t = counted(c);
    fprintf(f, "\n%zu regressed, %zu improved, %zu unchanged, %zu not comparable "
               "(%zu only in one run)\n",
            t.n_regressed, t.n_improved, t.n_unchanged, t.n_not_comparable, t.n_unmatched);
}

void reports_cmp_write_json(const reports_cmp_t *c, const reports_compare_opts_t *o, FILE *f)
{
    mb_json_t j;
    mb_json_init(&j, f, true);
    mb_json_obj_begin(&j);
    mb_json_key(&j, "baseline"); mb_json_str(&j, c->base_run);
    mb_json_key(&j, "candidate"); mb_json_str(&j, c->cand_run);
    mb_json_key(&j, "threshold"); reports_json_num(&j, o->threshold);
    mb_json_key(&j, "alpha"); reports_json_num(&j, o->alpha);
    mb_json_key(&j, "max_cv"); reports_json_num(&j, o->max_cv > 0 ? o->max_cv : 2.0 * o->threshold);
    reports_cmp_t t = counted(c);
    mb_json_key(&j, "regressed"); mb_json_int(&j, (int64_t)t.n_regressed);
    mb_json_key(&j, "improved"); mb_json_int(&j, (int64_t)t.n_improved);
    mb_json_key(&j, "unchanged"); mb_json_int(&j, (int64_t)t.n_unchanged);
    mb_json_key(&j, "not_comparable"); mb_json_int(&j, (int64_t)t.n_not_comparable);
    mb_json_key(&j, "only_in_one_run"); mb_json_int(&j, (int64_t)t.n_unmatched);
    mb_json_key(&j, "cells");
    mb_json_arr_begin(&j);
    for (size_t i = 0; i < c->n_rows; i++) {
        const reports_cmp_row_t *r = &c->rows[i];
        const reports_cell_t *x = row_cell(r);
        mb_json_obj_begin(&j);
        mb_json_key(&j, "model"); mb_json_str(&j, x->model);
        mb_json_key(&j, "recipe"); mb_json_str(&j, x->recipe);
        mb_json_key(&j, "test"); mb_json_str(&j, x->test);
        mb_json_key(&j, "n_depth"); mb_json_int(&j, x->n_depth);
        mb_json_key(&j, "n_threads"); mb_json_int(&j, x->n_threads);
        mb_json_key(&j, "baseline_median_ts");
        reports_json_num(&j, r->base ? reports_median(r->base->samples_ts, r->base->n_samples) : NAN);
        mb_json_key(&j, "candidate_median_ts");
        reports_json_num(&j, r->cand ? reports_median(r->cand->samples_ts, r->cand->n_samples) : NAN);
        mb_json_key(&j, "ratio"); reports_json_num(&j, r->st.ratio);
        mb_json_key(&j, "ci_lo"); reports_json_num(&j, r->st.ci_lo);
        mb_json_key(&j, "ci_hi"); reports_json_num(&j, r->st.ci_hi);
        mb_json_key(&j, "p"); reports_json_num(&j, r->st.p);
        mb_json_key(&j, "verdict"); mb_json_str(&j, reports_verdict_name(r->st.verdict));
        mb_json_key(&j, "note"); mb_json_str(&j, r->st.note);
        mb_json_obj_end(&j);
    }
    mb_json_arr_end(&j);
    mb_json_obj_end(&j);
    fputc('\n', f);
}
