/* Compare statistics: power and false-alarm rate on synthetic samples with
 * known shifts (seeded, so the counts below are reproducible), the exact
 * Mann-Whitney distribution against hand-computed values, and run pairing
 * with "not comparable" reasons. */
#include <criterion/criterion.h>

#include "reports.h"

#include <math.h>
#include <string.h>

#define TRIALS 1000

typedef enum { NOISE_GAUSS, NOISE_UNIFORM } noise_t;

/* n samples around mean with relative noise: Gaussian sd = rel, or
 * uniform in [-rel, +rel]. */
static void draw(mb_rng_t *r, double *x, int n, double mean, double rel, noise_t kind)
{
    for (int i = 0; i < n; i++) {
        double e = kind == NOISE_GAUSS ? mb_rng_normal(r) * rel
                                       : (2.0 * mb_rng_uniform(r) - 1.0) * rel;
        x[i] = mean * (1.0 + e);
    }
}

/* Counts verdicts over TRIALS pairs: baseline mean 20 t/s, candidate
 * 20 * (1 + shift). */
static void trials(int n, double rel, noise_t kind, double shift, uint64_t seed, int *regressed,
                   int *improved)
{
    reports_compare_opts_t o;
    reports_compare_opts_default(&o);
    o.n_boot = 200; /* enough for the CI's threshold check; keeps the suite fast */
    mb_rng_t rng;
    mb_rng_seed(&rng, seed);
    double a[32], b[32];
    *regressed = *improved = 0;
    for (int t = 0; t < TRIALS; t++) {
        draw(&rng, a, n, 20.0, rel, kind);
        draw(&rng, b, n, 20.0 * (1.0 + shift), rel, kind);
        o.seed = (uint64_t)t + 1;
        reports_cmp_stat_t st;
        reports_compare_samples(a, (size_t)n, b, (size_t)n, &o, &st);
        *regressed += st.verdict == REPORTS_REGRESSED;
        *improved += st.verdict == REPORTS_IMPROVED;
    }
    fprintf(stderr, "n=%d noise=%s %.1f%% shift %+.1f%%: regressed %d, improved %d of %d\n", n,
            kind == NOISE_GAUSS ? "gauss-sd" : "uniform+-", rel * 100, shift * 100, *regressed,
            *improved, TRIALS);
}

Test(compare_power, slowdown_5pct_gauss_sd2pct_10reps)
{
    int reg, imp;
    trials(10, 0.02, NOISE_GAUSS, -0.05, 11, &reg, &imp);
    cr_assert_geq(reg, TRIALS * 95 / 100, "caught %d of %d", reg, TRIALS);
    cr_assert_eq(imp, 0);
}

Test(compare_power, slowdown_5pct_uniform2pct_5reps)
{
    int reg, imp;
    trials(5, 0.02, NOISE_UNIFORM, -0.05, 12, &reg, &imp);
    cr_assert_geq(reg, TRIALS * 95 / 100, "caught %d of %d", reg, TRIALS);
}

Test(compare_power, speedup_5pct_is_improved)
{
    int reg, imp;
    trials(10, 0.02, NOISE_GAUSS, +0.05, 13, &reg, &imp);
    cr_assert_geq(imp, TRIALS * 95 / 100, "improved %d of %d", imp, TRIALS);
    cr_assert_eq(reg, 0);
}

Test(compare_false_alarm, identical_gauss_10reps)
{
    int reg, imp;
    trials(10, 0.02, NOISE_GAUSS, 0.0, 21, &reg, &imp);
    cr_assert_leq(reg + imp, TRIALS / 100, "false alarms %d+%d of %d", reg, imp, TRIALS);
}

Test(compare_false_alarm, identical_gauss_5reps)
{
    int reg, imp;
    trials(5, 0.02, NOISE_GAUSS, 0.0, 22, &reg, &imp);
    cr_assert_leq(reg + imp, TRIALS / 100, "false alarms %d+%d of %d", reg, imp, TRIALS);
}

Test(compare_false_alarm, identical_uniform_5reps)
{
    int reg, imp;
    trials(5, 0.02, NOISE_UNIFORM, 0.0, 23, &reg, &imp);
    cr_assert_leq(reg + imp, TRIALS / 100, "false alarms %d+%d of %d", reg, imp, TRIALS);
}

Test(compare_false_alarm, small_drift_stays_unchanged)
{
    /* a 1% drift with tight noise is significant but well inside 5% */
    int reg, imp;
    trials(10, 0.002, NOISE_GAUSS, -0.01, 24, &reg, &imp);
    cr_assert_eq(reg, 0, "a 1%% drift flagged %d times", reg);
}

Test(compare_stats, mann_whitney_exact_values)
{
    /* complete separation 5 vs 5: p = 2 / C(10,5) = 2/252 */
    double a[] = {1, 2, 3, 4, 5}, b[] = {6, 7, 8, 9, 10};
    cr_assert_float_eq(reports_mann_whitney_p(a, 5, b, 5), 2.0 / 252.0, 1e-12);
    cr_assert_float_eq(reports_mann_whitney_p(b, 5, a, 5), 2.0 / 252.0, 1e-12);
    /* 3 vs 3: pairs where e > c are 1 + 3 + 3, U = 7. The null counts of
     * U = 0..9 are 1,1,2,3,3,3,3,2,1,1 (20 arrangements): P(U >= 7) = 4/20,
     * two-sided 0.4 */
    double c[] = {1, 3, 5}, e[] = {2, 6, 7};
    cr_assert_float_eq(reports_mann_whitney_p(c, 3, e, 3), 0.4, 1e-12);
    /* interleaved: p = 1 */
    double f[] = {1, 4, 5, 8}, g[] = {2, 3, 6, 7};
    cr_assert_float_eq(reports_mann_whitney_p(f, 4, g, 4), 1.0, 1e-12);
}

Test(compare_stats, mann_whitney_ties_use_normal_approx)
{
    double a[] = {5, 5, 5, 5, 5}, b[] = {5, 5, 5, 5, 5};
    cr_assert_float_eq(reports_mann_whitney_p(a, 5, b, 5), 1.0, 1e-12);
    double c[] = {1, 1, 2, 2, 3}, d[] = {3, 4, 4, 5, 5};
    double p = reports_mann_whitney_p(c, 5, d, 5);
    cr_assert(p > 0.005 && p < 0.05, "p = %g", p);
}

Test(compare_stats, median_and_bootstrap)
{
    double x[] = {3, 1, 2}, y[] = {4, 1, 3, 2};
    cr_assert_float_eq(reports_median(x, 3), 2.0, 1e-12);
    cr_assert_float_eq(reports_median(y, 4), 2.5, 1e-12);
    cr_assert(isnan(reports_median(x, 0)));
    double a[] = {10, 10, 10, 10}, b[] = {9, 9, 9, 9};
    double lo, hi;
    cr_assert_eq(reports_bootstrap_ratio_ci(a, 4, b, 4, 0.99, 200, 1, &lo, &hi), 0);
    cr_assert_float_eq(lo, 0.9, 1e-12);
    cr_assert_float_eq(hi, 0.9, 1e-12);
    /* same seed, same CI */
    double s1[] = {10, 11, 9.5, 10.2, 10.7}, s2[] = {9, 9.8, 9.1, 9.4, 9.9};
    double l1, h1, l2, h2;
    reports_bootstrap_ratio_ci(s1, 5, s2, 5, 0.95, 500, 7, &l1, &h1);
    reports_bootstrap_ratio_ci(s1, 5, s2, 5, 0.95, 500, 7, &l2, &h2);
    cr_assert(l1 == l2 && h1 == h2);
    cr_assert(l1 < reports_median(s2, 5) / reports_median(s1, 5) && h1 > l1);
    cr_assert_eq(reports_bootstrap_ratio_ci(s1, 0, s2, 5, 0.95, 500, 7, &l1, &h1), MB_EINVAL);
}

Test(compare_stats, too_few_reps_not_comparable)
{
    reports_compare_opts_t o;
    reports_compare_opts_default(&o);
    double a[] = {10, 10.1}, b[] = {5, 5.1};
    reports_cmp_stat_t st;
    reports_compare_samples(a, 2, b, 2, &o, &st);
    cr_assert_eq(st.verdict, REPORTS_NOT_COMPARABLE);
    cr_assert(strstr(st.note, "too few reps"), "%s", st.note);
}

/* ---- runs ------------------------------------------------------------------ */

static void add_cell(reports_data_t *d, const char *run, const char *dev, const char *model,
                     const char *recipe, const char *kernel, const double *s, size_t n)
{
    reports_cell_t c;
    reports_cell_init(&c);
    snprintf(c.id, sizeof c.id, "%s-%s-%s", run, model, recipe);
    snprintf(c.run_id, sizeof c.run_id, "%s", run);
    snprintf(c.device_id, sizeof c.device_id, "%s", dev);
    snprintf(c.model, sizeof c.model, "%s", model);
    snprintf(c.recipe, sizeof c.recipe, "%s", recipe);
    snprintf(c.test, sizeof c.test, "tg128");
    snprintf(c.kernel, sizeof c.kernel, "%s", kernel);
    snprintf(c.weights, sizeof c.weights, "synthetic");
    c.kind = REPORTS_TEST_TG;
    c.n_gen = 128;
    c.n_threads = 2;
    c.samples_ts = (double *)s;
    c.n_samples = n;
    cr_assert_eq(reports_data_add_cell(d, &c), 0);
}

static void add_run(reports_data_t *d, const char *id, const char *dev, double t)
{
    reports_run_t r = {0};
    snprintf(r.id, sizeof r.id, "%s", id);
    snprintf(r.device_id, sizeof r.device_id, "%s", dev);
    r.t_start = t;
    cr_assert_eq(reports_data_add_run(d, &r), 0);
}

Test(compare_runs, known_verdicts)
{
    reports_data_t d = {0};
    reports_device_t dev;
    reports_device_init(&dev);
    strcpy(dev.id, "dev1");
    strcpy(dev.fingerprint, "fp-1");
    reports_data_add_device(&d, &dev);
    add_run(&d, "run-aaaa", "dev1", 100);
    add_run(&d, "run-bbbb", "dev1", 200);
    double same[] = {20.0, 20.3, 19.8, 20.1, 19.9, 20.2, 20.0, 19.7, 20.4, 20.05};
    double slow[] = {18.0, 18.3, 17.8, 18.1, 17.9, 18.2, 18.0, 17.7, 18.4, 18.05};
    double fast[] = {24.0, 24.3, 23.8, 24.1, 23.9, 24.2, 24.0, 23.7, 24.4, 24.05};
    add_cell(&d, "run-aaaa", "dev1", "llama-3.2-1b", "Q4_0", "avx2", same, 10);
    add_cell(&d, "run-aaaa", "dev1", "llama-3.2-1b", "Q4_K_M", "avx2", same, 10);
    add_cell(&d, "run-aaaa", "dev1", "qwen3-0.6b", "Q8_0", "avx2", same, 10);
    add_cell(&d, "run-aaaa", "dev1", "qwen3-0.6b", "Q4_0", "avx2", same, 10);
    add_cell(&d, "run-aaaa", "dev1", "gone", "Q4_0", "avx2", same, 10);
    add_cell(&d, "run-bbbb", "dev1", "llama-3.2-1b", "Q4_0", "avx2", same, 10);
    add_cell(&d, "run-bbbb", "dev1", "llama-3.2-1b", "Q4_K_M", "avx2", slow, 10);
    add_cell(&d, "run-bbbb", "dev1", "qwen3-0.6b", "Q8_0", "avx2", fast, 10);
    add_cell(&d, "run-bbbb", "dev1", "qwen3-0.6b", "Q4_0", "scalar", slow, 10);
    reports_compare_opts_t o;
    reports_compare_opts_default(&o);
    reports_cmp_t c;
    cr_assert_eq(reports_compare_runs(&d, "run-aaaa", "run-bbbb", &o, &c), 0);
    cr_assert_eq(c.n_rows, 5);
    cr_assert_eq(c.rows[0].st.verdict, REPORTS_UNCHANGED);
    cr_assert_eq(c.rows[1].st.verdict, REPORTS_REGRESSED);
    cr_assert_float_eq(c.rows[1].st.ratio, 0.9, 0.01);
    cr_assert_eq(c.rows[2].st.verdict, REPORTS_IMPROVED);
    cr_assert_eq(c.rows[3].st.verdict, REPORTS_NOT_COMPARABLE);
    cr_assert(strstr(c.rows[3].st.note, "different kernel"), "%s", c.rows[3].st.note);
    cr_assert_eq(c.rows[4].st.verdict, REPORTS_NOT_COMPARABLE);
    cr_assert(strstr(c.rows[4].st.note, "only in the baseline"));
    cr_assert_eq(c.n_regressed, 1);
    cr_assert_eq(c.n_improved, 1);
    cr_assert_eq(c.n_unmatched, 1);

    /* JSON output parses back with the counts */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    reports_cmp_write_json(&c, &o, f);
    fclose(f);
    mb_jv_t *jv;
    cr_assert_eq(mb_jv_parse(buf, len, &jv), 0, "%s", mb_err_msg());
    cr_assert_eq(mb_jv_get(jv, "regressed")->num, 1);
    cr_assert_eq(mb_jv_get(jv, "cells")->n, 5);
    cr_assert_str_eq(mb_jv_path(jv, "cells.1.verdict")->str, "regressed");
    mb_jv_free(jv);
    free(buf);

    char id[64];
    cr_assert_eq(reports_run_resolve(&d, "latest", id), 0);
    cr_assert_str_eq(id, "run-bbbb");
    cr_assert_eq(reports_run_resolve(&d, "previous", id), 0);
    cr_assert_str_eq(id, "run-aaaa");
    cr_assert_eq(reports_run_resolve(&d, "run-", id), MB_EINVAL); /* ambiguous */
    cr_assert_eq(reports_run_resolve(&d, "nope", id), MB_ENOENT);
    reports_cmp_free(&c);
    cr_assert_eq(reports_compare_runs(&d, "run-aaaa", "run-aaaa", &o, &c), MB_EINVAL);
    reports_cmp_free(&c);
    reports_data_free(&d);
}

Test(compare_runs, different_device_not_comparable)
{
    reports_data_t d = {0};
    reports_device_t a, b;
    reports_device_init(&a);
    reports_device_init(&b);
    strcpy(a.id, "d1");
    strcpy(a.fingerprint, "fp-a");
    strcpy(b.id, "d2");
    strcpy(b.fingerprint, "fp-b");
    reports_data_add_device(&d, &a);
    reports_data_add_device(&d, &b);
    add_run(&d, "r1", "d1", 1);
    add_run(&d, "r2", "d2", 2);
    double s[] = {10, 10.1, 9.9, 10.2, 9.8};
    add_cell(&d, "r1", "d1", "m", "Q4_0", "avx2", s, 5);
    add_cell(&d, "r2", "d2", "m", "Q4_0", "avx2", s, 5);
    reports_compare_opts_t o;
    reports_compare_opts_default(&o);
    reports_cmp_t c;
    cr_assert_eq(reports_compare_runs(&d, "r1", "r2", &o, &c), 0);
    cr_assert_eq(c.rows[0].st.verdict, REPORTS_NOT_COMPARABLE);
    cr_assert(strstr(c.rows[0].st.note, "different device"), "%s", c.rows[0].st.note);
    reports_cmp_free(&c);
    reports_data_free(&d);
}

/* Counts the table rows of a markdown compare whose verdict column is v. */
static size_t md_rows_with(const char *md, const char *v)
{
    size_t n = 0;
    char pat[64];
    snprintf(pat, sizeof pat, "| %s |", v);
    char pat2[64];
    snprintf(pat2, sizeof pat2, "| **%s** |", v);
    for (const char *p = md; (p = strchr(p, '\n')); p++)
        if (p[1] == '|') {
            const char *e = strchr(p + 1, '\n');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            char line[1024];
            snprintf(line, sizeof line, "%.*s", (int)MB_MIN(len, sizeof line - 1), p + 1);
            n += strstr(line, pat) || strstr(line, pat2);
        }
    return n;
}

Test(compare_runs, summary_counts_match_the_table)
{
    /* not comparable for every reason at once: a kernel change, a failed
     * cell, too few reps, and cells present in one run only (each side) */
    reports_data_t d = {0};
    reports_device_t dev;
    reports_device_init(&dev);
    strcpy(dev.id, "dev1");
    strcpy(dev.fingerprint, "fp-1");
    reports_data_add_device(&d, &dev);
    add_run(&d, "run-aaaa", "dev1", 100);
    add_run(&d, "run-bbbb", "dev1", 200);
    double same[] = {20.0, 20.3, 19.8, 20.1, 19.9, 20.2, 20.0, 19.7, 20.4, 20.05};
    double slow[] = {18.0, 18.3, 17.8, 18.1, 17.9, 18.2, 18.0, 17.7, 18.4, 18.05};
    add_cell(&d, "run-aaaa", "dev1", "m1", "Q4_0", "avx2", same, 10);
    add_cell(&d, "run-bbbb", "dev1", "m1", "Q4_0", "avx2", slow, 10);   /* regressed */
    add_cell(&d, "run-aaaa", "dev1", "m2", "Q4_0", "avx2", same, 10);
    add_cell(&d, "run-bbbb", "dev1", "m2", "Q4_0", "avx2", same, 10);   /* unchanged */
    add_cell(&d, "run-aaaa", "dev1", "m3", "Q4_0", "avx2", same, 10);
    add_cell(&d, "run-bbbb", "dev1", "m3", "Q4_0", "scalar", same, 10); /* kernel */
    add_cell(&d, "run-aaaa", "dev1", "m4", "Q4_0", "avx2", same, 10);
    add_cell(&d, "run-bbbb", "dev1", "m4", "Q4_0", "avx2", same, 2);    /* too few reps */
    add_cell(&d, "run-aaaa", "dev1", "gone", "Q4_0", "avx2", same, 10); /* baseline only */
    add_cell(&d, "run-bbbb", "dev1", "new1", "Q4_0", "avx2", same, 10); /* candidate only */
    add_cell(&d, "run-bbbb", "dev1", "new2", "Q8_0", "avx2", same, 10); /* candidate only */
    reports_compare_opts_t o;
    reports_compare_opts_default(&o);
    reports_cmp_t c;
    cr_assert_eq(reports_compare_runs(&d, "run-aaaa", "run-bbbb", &o, &c), 0);
    cr_assert_eq(c.n_rows, 7);
    cr_assert_eq(c.n_regressed + c.n_improved + c.n_unchanged + c.n_not_comparable, c.n_rows);
    cr_assert_eq(c.n_regressed, 1);
    cr_assert_eq(c.n_unchanged, 1);
    cr_assert_eq(c.n_not_comparable, 5, "kernel, reps, 3 in one run only: %zu",
                 c.n_not_comparable);
    cr_assert_eq(c.n_unmatched, 3);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    reports_cmp_write_md(&c, &o, f);
    fclose(f);
    /* the summary is the table's own count */
    char want[160];
    snprintf(want, sizeof want, "%zu regressed, %zu improved, %zu unchanged, %zu not comparable "
             "(3 only in one run)", md_rows_with(buf, "regressed"), md_rows_with(buf, "improved"),
             md_rows_with(buf, "unchanged"), md_rows_with(buf, "not comparable"));
    cr_assert(strstr(buf, want), "summary should read '%s':\n%s", want, buf);
    cr_assert(strstr(buf, "1 regressed, 0 improved, 1 unchanged, 5 not comparable"), "%s", buf);
    free(buf);

    /* a caller that edits a row's verdict: the writers recount what they print */
    c.rows[1].st.verdict = REPORTS_NOT_COMPARABLE;
    buf = NULL;
    f = open_memstream(&buf, &len);
    reports_cmp_write_json(&c, &o, f);
    fclose(f);
    mb_jv_t *jv;
    cr_assert_eq(mb_jv_parse(buf, len, &jv), 0, "%s", mb_err_msg());
    size_t n_nc = 0;
    const mb_jv_t *cells = mb_jv_get(jv, "cells");
    for (size_t i = 0; i < cells->n; i++) {
        char key[48];
        snprintf(key, sizeof key, "cells.%zu.verdict", i);
        n_nc += !strcmp(mb_jv_path(jv, key)->str, "not comparable");
    }
    cr_assert_eq(n_nc, 6);
    cr_assert_eq(mb_jv_get(jv, "not_comparable")->num, 6);
    cr_assert_eq(mb_jv_get(jv, "unchanged")->num, 0);
    cr_assert_eq(mb_jv_get(jv, "only_in_one_run")->num, 3);
    mb_jv_free(jv);
    free(buf);
    reports_cmp_free(&c);
    reports_data_free(&d);
}

Test(compare_stats, noisy_reps_are_not_judged)
{
    /* measured on the busy development VM: the same build, two back-to-back
     * runs of tiny-llama Q8_0 pp64, 7 reps each, 4x apart (robust CV 42% and 5.5%) */
    static const double base[] = {213.4, 204.5, 272.4, 348.0, 592.2, 457.3, 297.9};
    static const double cand[] = {1201.5, 1188.5, 1128.5, 1230.8, 1306.6, 1246.1, 744.8};
    reports_compare_opts_t o;
    reports_compare_opts_default(&o);
    reports_cmp_stat_t st;
    reports_compare_samples(base, 7, cand, 7, &o, &st);
    cr_assert_eq(st.verdict, REPORTS_NOT_COMPARABLE, "%s", st.note);
    cr_assert(strstr(st.note, "too noisy"), "%s", st.note);
    cr_assert(strstr(st.note, "> 10%"), "%s", st.note); /* 2 x the 5% threshold */
    cr_assert(st.p < 0.01, "the test alone would call it significant (p=%g)", st.p);
    cr_assert(isfinite(st.ratio) && st.ratio > 3, "the figures are still shown");
    /* the robust CV ignores one outlier rep: a quiet cell with one slow rep is judged */
    static const double quiet[] = {20.0, 20.2, 19.9, 20.1, 19.8, 20.0, 12.0, 20.1, 19.9, 20.0};
    cr_assert_lt(reports_robust_cv(quiet, 10), 0.02, "%g", reports_robust_cv(quiet, 10));
    static const double same[] = {20.1, 19.9, 20.0, 20.2, 19.8, 20.0, 20.1, 19.9, 20.05, 20.0};
    reports_compare_samples(quiet, 10, same, 10, &o, &st);
    cr_assert_eq(st.verdict, REPORTS_UNCHANGED, "%s", st.note);
    /* a looser gate (--max-cv 100%) lets the noisy pair through to the test */
    o.max_cv = 1.0;
    reports_compare_samples(base, 7, cand, 7, &o, &st);
    cr_assert_eq(st.verdict, REPORTS_IMPROVED, "%s", st.note);
    /* the gate follows the threshold: 20% threshold, 40% gate */
    reports_compare_opts_default(&o);
    o.threshold = 0.2;
    static const double mid_a[] = {20, 24, 16, 22, 18, 21, 19};   /* CV ~ 15% */
    static const double mid_b[] = {20, 23, 17, 22, 18, 21, 19.5};
    reports_compare_samples(mid_a, 7, mid_b, 7, &o, &st);
    cr_assert_eq(st.verdict, REPORTS_UNCHANGED, "%s", st.note);
    cr_assert(isnan(reports_robust_cv(NULL, 0)));
}
