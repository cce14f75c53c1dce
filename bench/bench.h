/*
 * bench.h: mobench's benchmark runner. Statistics, the adaptive-repetition
 * loop, the tests (pp, tg, pg, depth) over a workload, sustained mode, sweep
 * files, and the sweep runner (a forked child per cell, results over a pipe,
 * the parent writes the store).
 *
 * Everything that touches time, sensors, the model or the store goes through
 * a small callback interface (bench_clock_t, bench_sensors_t,
 * bench_workload_t / bench_backend_t, bench_sink_t), so the statistics and
 * the runner are tested on fake clocks, fake sensors and fake workloads.
 *
 * Sections:
 *   1. statistics                     bench/stats.c
 *   2. adaptive repetitions           bench/reps.c
 *   3. tests, workloads, sensors      bench/tests.c, bench/sustained.c
 *   4. cells and results              bench/cell.c, bench/result_json.c
 *   5. sweep files                    bench/sweep_file.c
 *   6. runner                         bench/runner.c, bench/cooldown.c
 *   7. output formats                 bench/output.c
 */
#ifndef BENCH_H
#define BENCH_H

#include "mb.h"

/* ==== 1. statistics ======================================================= */
typedef struct {
    size_t n;
    double mean;
    double median;
    double stddev; /* sample standard deviation (n - 1); NAN when n < 2 */
    double min, max;
    double cv;     /* stddev / mean; NAN when n < 2 or mean == 0 */
    double ci95;   /* half-width of the 95% confidence interval of the mean
                      (Student t, n - 1 degrees of freedom); NAN when n < 2 */
    double p50, p90, p99;
} bench_stats_t;

/* Statistics of n values (n >= 1; NAN values are not allowed). */
int bench_stats_compute(const double *x, size_t n, bench_stats_t *out);
/* Percentile p in [0, 1] of sorted values, linear interpolation between
 * closest ranks (numpy's default): p = 0.5 is the median. */
double bench_percentile(const double *sorted, size_t n, double p);
/* Two-sided 95% quantile of Student's t with df degrees of freedom (df >= 1). */
double bench_t975(size_t df);

/* ==== 2. adaptive repetitions ============================================= */
typedef enum {
    BENCH_STOP_FIXED,      /* no CV target: exactly min_reps */
    BENCH_STOP_CV_REACHED, /* CV at or under the target */
    BENCH_STOP_MAX_REPS,   /* CV target not reached within max_reps */
    BENCH_STOP_TIME_LIMIT, /* the cell's time budget ran out before either */
} bench_stop_t;
const char *bench_stop_name(bench_stop_t s); /* "fixed", "cv_reached", ... */

/* Monotonic clock in nanoseconds; real (mb_clock_ns) or fake in tests. */
typedef struct {
    void *ctx;
    uint64_t (*now_ns)(void *ctx);
} bench_clock_t;
bench_clock_t bench_clock_real(void);

typedef struct {
    int min_reps;     /* -r: at least this many (>= 1) */
    int max_reps;     /* --max-reps: at most this many when cv_target > 0 */
    double cv_target; /* --cv-target as a fraction (0.02); 0 = fixed repetitions */
    double budget_s;  /* stop adding reps past min_reps after this long; 0 = none */
} bench_reps_policy_t;

/* One repetition: measures and returns the value the CV is computed on
 * (tokens/s). A negative return aborts the loop with that code. */
typedef int (*bench_measure_fn)(void *ctx, int rep, double *value);

/* Runs reps until the policy says stop. values must hold max(min_reps,
 * max_reps) entries; *n gets the count, *why the reason. */
int bench_reps_run(const bench_reps_policy_t *policy, const bench_clock_t *clock,
                   bench_measure_fn measure, void *ctx, double *values, size_t *n,
                   bench_stop_t *why);
/* Checks a policy: the message names the bad option. */
int bench_reps_policy_check(const bench_reps_policy_t *policy);

#endif /* BENCH_H */
