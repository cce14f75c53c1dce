/* reps.c: the adaptive repetition loop. -r reps at least; with a CV target,
 * more until the CV is under it or --max-reps; the result says which. */
#include "bench.h"

#include <math.h>

const char *bench_stop_name(bench_stop_t s)
{
    switch (s) {
    case BENCH_STOP_FIXED: return "fixed";
    case BENCH_STOP_CV_REACHED: return "cv_reached";
    case BENCH_STOP_MAX_REPS: return "max_reps";
    case BENCH_STOP_TIME_LIMIT: return "time_limit";
    }
    return "?";
}

static uint64_t real_now(void *ctx)
{
    (void)ctx;
    return mb_clock_ns();
}

bench_clock_t bench_clock_real(void)
{
    return (bench_clock_t){NULL, real_now};
}

int bench_reps_policy_check(const bench_reps_policy_t *p)
{
    if (p->min_reps < 1)
        return mb_err_set(MB_EINVAL, "-r %d: at least one repetition is needed", p->min_reps);
    if (!(p->cv_target >= 0) || p->cv_target >= 1)
        return mb_err_set(MB_EINVAL, "--cv-target %g: expected a percentage like 2%% (under 100%%)",
                          p->cv_target * 100);
    if (p->cv_target > 0 && p->max_reps < p->min_reps)
        return mb_err_set(MB_EINVAL, "--max-reps %d is below -r %d: raise --max-reps", p->max_reps,
                          p->min_reps);
    if (!(p->budget_s >= 0))
        return mb_err_set(MB_EINVAL, "time budget %g s: expected >= 0", p->budget_s);
    return MB_OK;
}

/* CV of the first n values (NAN when undefined). */
static double cv_of(const double *v, size_t n)
{
    bench_stats_t st;
    if (n < 2 || bench_stats_compute(v, n, &st))
        return NAN;
    return st.cv;
}

int bench_reps_run(const bench_reps_policy_t *p, const bench_clock_t *clock,
                   bench_measure_fn measure, void *ctx, double *values, size_t *n,
                   bench_stop_t *why)
{
    *n = 0;
    int rc = bench_reps_policy_check(p);
    if (rc)
        return rc;
    bool adaptive = p->cv_target > 0;
    size_t limit = (size_t)(adaptive ? p->max_reps : p->min_reps);
    uint64_t t0 = clock->now_ns(clock->ctx);
    for (;;) {
        rc = measure(ctx, (int)*n, &values[*n]);
        if (rc)
            return rc;
        if (!isfinite(values[*n]))
            return mb_err_set(MB_EINVAL, "repetition %zu measured no finite value", *n + 1);
        (*n)++;
        if (*n < (size_t)p->min_reps)
            continue;
        if (!adaptive) {
            *why = BENCH_STOP_FIXED;
            return MB_OK;
        }
        double cv = cv_of(values, *n);
        if (isfinite(cv) && cv <= p->cv_target) {
            *why = BENCH_STOP_CV_REACHED;
            return MB_OK;
        }
        if (*n >= limit) {
            *why = BENCH_STOP_MAX_REPS;
            return MB_OK;
        }
        if (p->budget_s > 0 &&
            (double)(clock->now_ns(clock->ctx) - t0) * 1e-9 >= p->budget_s) {
            *why = BENCH_STOP_TIME_LIMIT;
            return MB_OK;
        }
    }
}
