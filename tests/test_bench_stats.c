/* test_bench_stats.c: statistics against hand-computed values; the adaptive
 * repetition loop on fake samples and a fake clock. */
#include <criterion/criterion.h>
#include <math.h>

#include "bench.h"

#define NEAR(a, b, eps) cr_assert(fabs((a) - (b)) <= (eps), "%s = %.6f, expected %.6f", #a, (double)(a), (double)(b))

Test(stats, hand_computed_eight_values)
{
    /* Unsorted on purpose. mean 5; squared deviations sum to 32; s^2 = 32/7. */
    const double x[] = {9, 4, 2, 5, 4, 7, 4, 5};
    bench_stats_t st;
    cr_assert_eq(bench_stats_compute(x, 8, &st), 0);
    cr_assert_eq(st.n, 8);
    NEAR(st.mean, 5.0, 1e-12);
    NEAR(st.median, 4.5, 1e-12);
    NEAR(st.min, 2.0, 0);
    NEAR(st.max, 9.0, 0);
    NEAR(st.stddev, sqrt(32.0 / 7.0), 1e-12);          /* 2.138090 */
    NEAR(st.cv, sqrt(32.0 / 7.0) / 5.0, 1e-12);        /* 0.427618 */
    NEAR(st.ci95, 2.3646 * sqrt(32.0 / 7.0) / sqrt(8.0), 1e-9); /* 1.787 */
    NEAR(st.p50, 4.5, 1e-12);
    NEAR(st.p90, 7.6, 1e-12);  /* rank 6.3 between 7 and 9 */
    NEAR(st.p99, 8.86, 1e-12); /* rank 6.93 */
}

Test(stats, three_values_small_n_t)
{
    const double x[] = {10, 12, 14};
    bench_stats_t st;
    cr_assert_eq(bench_stats_compute(x, 3, &st), 0);
    NEAR(st.mean, 12, 1e-12);
    NEAR(st.stddev, 2, 1e-12);
    NEAR(st.ci95, 4.3027 * 2 / sqrt(3.0), 1e-9); /* t(0.975, 2) */
    NEAR(st.cv, 2.0 / 12.0, 1e-12);
}

Test(stats, single_value_has_no_spread)
{
    const double x[] = {42};
    bench_stats_t st;
    cr_assert_eq(bench_stats_compute(x, 1, &st), 0);
    NEAR(st.mean, 42, 0);
    NEAR(st.median, 42, 0);
    NEAR(st.p99, 42, 0);
    cr_assert(isnan(st.stddev) && isnan(st.cv) && isnan(st.ci95));
}

Test(stats, bad_input)
{
    bench_stats_t st;
    cr_assert_eq(bench_stats_compute(NULL, 0, &st), MB_EINVAL);
    const double x[] = {1, NAN};
    cr_assert_eq(bench_stats_compute(x, 2, &st), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "sample 1"));
}

Test(stats, t_quantiles)
{
    NEAR(bench_t975(1), 12.7062, 1e-4);
    NEAR(bench_t975(4), 2.7764, 1e-4);
    NEAR(bench_t975(30), 2.0423, 1e-4);
    NEAR(bench_t975(40), 2.0211, 2e-4);  /* tables: 2.0211 */
    NEAR(bench_t975(60), 2.0003, 2e-4);  /* 2.0003 */
    NEAR(bench_t975(120), 1.9799, 2e-4); /* 1.9799 */
    NEAR(bench_t975(100000), 1.95996, 1e-4);
    cr_assert(isnan(bench_t975(0)));
}

Test(stats, percentiles_interpolate)
{
    const double s[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    NEAR(bench_percentile(s, 10, 0.5), 5.5, 1e-12);
    NEAR(bench_percentile(s, 10, 0.9), 9.1, 1e-12);
    NEAR(bench_percentile(s, 10, 0.99), 9.91, 1e-12);
    NEAR(bench_percentile(s, 10, 0), 1, 0);
    NEAR(bench_percentile(s, 10, 1), 10, 0);
}

/* ---- the adaptive loop on fake samples and a fake clock ------------------- */
typedef struct {
    const double *samples;
    size_t n;
    uint64_t now;     /* fake clock, ns */
    uint64_t step_ns; /* each rep takes this long */
    int calls;
} fake_t;

static uint64_t fake_now(void *ctx) { return ((fake_t *)ctx)->now; }

static int fake_measure(void *ctx, int rep, double *v)
{
    fake_t *f = ctx;
    cr_assert_eq(rep, f->calls);
    cr_assert_lt((size_t)rep, f->n, "the loop asked for more reps than allowed");
    *v = f->samples[rep];
    f->now += f->step_ns;
    f->calls++;
    return 0;
}

Test(reps, fixed_runs_exactly_r)
{
    const double s[] = {10, 20, 30, 40, 50, 60};
    fake_t f = {s, 6, 0, 1000000, 0};
    bench_clock_t clk = {&f, fake_now};
    bench_reps_policy_t p = {.min_reps = 3};
    double v[8];
    size_t n;
    bench_stop_t why;
    cr_assert_eq(bench_reps_run(&p, &clk, fake_measure, &f, v, &n, &why), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(why, BENCH_STOP_FIXED);
    cr_assert_str_eq(bench_stop_name(why), "fixed");
}

Test(reps, continues_until_cv_reached)
{
    /* After 3: {100,80,120} cv 0.2. Then noise shrinks the CV:
     * {100,80,120,100,100,100,100} -> stddev 11.547, cv 0.11547 at 7;
     * cv <= 0.12 first at n = 7 (n = 6: stddev 12.649, cv 0.12649). */
    const double s[] = {100, 80, 120, 100, 100, 100, 100, 100, 100, 100};
    fake_t f = {s, 10, 0, 1000000, 0};
    bench_clock_t clk = {&f, fake_now};
    bench_reps_policy_t p = {.min_reps = 3, .max_reps = 10, .cv_target = 0.12};
    double v[10];
    size_t n;
    bench_stop_t why;
    cr_assert_eq(bench_reps_run(&p, &clk, fake_measure, &f, v, &n, &why), 0);
    cr_assert_eq(n, 7);
    cr_assert_eq(why, BENCH_STOP_CV_REACHED);
    cr_assert_str_eq(bench_stop_name(why), "cv_reached");
}

Test(reps, cv_already_low_after_min)
{
    const double s[] = {100, 101, 99, 0, 0};
    fake_t f = {s, 3, 0, 1000, 0};
    bench_clock_t clk = {&f, fake_now};
    bench_reps_policy_t p = {.min_reps = 3, .max_reps = 5, .cv_target = 0.02};
    double v[5];
    size_t n;
    bench_stop_t why;
    cr_assert_eq(bench_reps_run(&p, &clk, fake_measure, &f, v, &n, &why), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(why, BENCH_STOP_CV_REACHED);
}

Test(reps, stops_at_max_reps)
{
    const double s[] = {50, 150, 50, 150, 50, 150};
    fake_t f = {s, 6, 0, 1000, 0};
    bench_clock_t clk = {&f, fake_now};
    bench_reps_policy_t p = {.min_reps = 2, .max_reps = 6, .cv_target = 0.02};
    double v[6];
    size_t n;
    bench_stop_t why;
    cr_assert_eq(bench_reps_run(&p, &clk, fake_measure, &f, v, &n, &why), 0);
    cr_assert_eq(n, 6);
    cr_assert_eq(why, BENCH_STOP_MAX_REPS);
}

Test(reps, time_budget_on_fake_clock)
{
    /* Each rep takes 4 s of fake time; budget 10 s: after min 2 reps (8 s)
     * one more starts, then 12 s >= 10 s stops the loop at 3. */
    const double s[] = {50, 150, 50, 150, 50, 150};
    fake_t f = {s, 6, 0, 4000000000ull, 0};
    bench_clock_t clk = {&f, fake_now};
    bench_reps_policy_t p = {.min_reps = 2, .max_reps = 6, .cv_target = 0.02, .budget_s = 10};
    double v[6];
    size_t n;
    bench_stop_t why;
    cr_assert_eq(bench_reps_run(&p, &clk, fake_measure, &f, v, &n, &why), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(why, BENCH_STOP_TIME_LIMIT);
}

static int failing_measure(void *ctx, int rep, double *v)
{
    (void)ctx;
    *v = 1;
    return rep == 1 ? mb_err_set(MB_EIO, "rep failed") : 0;
}

Test(reps, errors_propagate_and_bad_policies)
{
    bench_clock_t clk = bench_clock_real();
    double v[4];
    size_t n;
    bench_stop_t why;
    bench_reps_policy_t p = {.min_reps = 3};
    cr_assert_eq(bench_reps_run(&p, &clk, failing_measure, NULL, v, &n, &why), MB_EIO);
    cr_assert_eq(n, 1);
    bench_reps_policy_t bad0 = {.min_reps = 0};
    cr_assert_eq(bench_reps_policy_check(&bad0), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "-r"));
    bench_reps_policy_t bad1 = {.min_reps = 5, .max_reps = 3, .cv_target = 0.02};
    cr_assert_eq(bench_reps_policy_check(&bad1), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "--max-reps"));
    bench_reps_policy_t bad2 = {.min_reps = 5, .max_reps = 8, .cv_target = 1.5};
    cr_assert_eq(bench_reps_policy_check(&bad2), MB_EINVAL);
}
