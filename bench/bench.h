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

/* ==== 3. tests, workloads, sensors ======================================== */
typedef enum {
    BENCH_TEST_PP, /* prefill n_prompt tokens from an empty cache (or from depth) */
    BENCH_TEST_TG, /* decode n_gen tokens after a one-token prompt */
    BENCH_TEST_PG, /* prefill n_prompt, then decode n_gen: TTFT, decode rate, combined */
} bench_test_kind_t;

typedef struct {
    bench_test_kind_t kind;
    int n_prompt; /* pp, pg */
    int n_gen;    /* tg, pg */
    int n_depth;  /* tokens already in the cache (filled once per cell, not timed) */
} bench_test_t;

const char *bench_test_kind_name(bench_test_kind_t k); /* "pp", "tg", "pg" */
/* "pp512", "tg128", "pg512,128" (also "pp512+tg128"); depth stays 0. */
int bench_test_parse(const char *s, bench_test_t *out);
/* llama-bench's test name: "pp512", "tg128", "pp512+tg128", with " @ d512". */
void bench_test_label(const bench_test_t *t, char *buf, size_t len);
/* Cache positions a rep needs: depth + prompt (1 for tg) + gen. */
int bench_test_ctx_needed(const bench_test_t *t);

/* ==== 5. sweep files (docs/SWEEP.md) ===================================== */
typedef enum {
    BENCH_COOLDOWN_THERMAL, /* wait for the hottest zone to return near the baseline */
    BENCH_COOLDOWN_FIXED,   /* always wait a fixed delay */
    BENCH_COOLDOWN_NONE,
} bench_cooldown_mode_t;

typedef struct {
    bench_cooldown_mode_t mode;
    double within_c;   /* thermal: done when hottest zone <= baseline + within_c (2) */
    double max_wait_s; /* thermal: give up after this long (120 s) */
    double delay_s;    /* fixed mode, and thermal without sensors (10 s) */
} bench_cooldown_t;
const char *bench_cooldown_mode_name(bench_cooldown_mode_t m);

/* Name checks against the catalog and the recipes: MB_ENOENT with a message
 * listing the known names. NULL callbacks accept every name. */
typedef struct {
    void *ctx;
    int (*check_model)(void *ctx, const char *name);
    int (*check_recipe)(void *ctx, const char *name);
} bench_names_t;

typedef struct {
    char *path;       /* the file, for messages */
    char *name;       /* [sweep] name (default: the file name) */
    char *db_path;    /* [sweep] db (NULL: the default store) */
    uint64_t seed;    /* [sweep] seed: synthetic weights and token ids */
    char *kernel;     /* [sweep] kernel (NULL: best for the CPU) */
    char **models;    /* [models] names */
    size_t n_models;
    char **recipes;   /* [models] recipes */
    size_t n_recipes;
    bench_test_t *tests; /* [tests] pp, tg, pg (depth 0) */
    size_t n_tests;
    int *depths;      /* [tests] depth (default 0) */
    size_t n_depths;
    int *threads;     /* [tests] threads (default: all cores) */
    size_t n_threads;
    bench_reps_policy_t reps; /* [reps] min, max, cv_target */
    bool warmup;      /* [reps] warmup (true) */
    double cell_time_s;  /* [limits] cell_time: a cell running longer is killed (600 s) */
    uint64_t headroom;   /* [limits] memory_headroom, kept free beyond the cell's need (512 MiB) */
    bench_cooldown_t cooldown; /* [cooldown] */
    bool quality;        /* [quality] enabled */
    char *quality_ref;   /* [quality] reference recipe (F16) */
    int quality_tokens;  /* [quality] tokens (128) */
} bench_sweep_t;

/* Parses and validates a sweep file. Errors: MB_EFORMAT "FILE:LINE: what was
 * expected", MB_ENOENT for an unknown model or recipe (with the known ones). */
int bench_sweep_load(const char *path, const bench_names_t *names, bench_sweep_t **out);
int bench_sweep_parse(const char *text, const char *name, const bench_names_t *names,
                      bench_sweep_t **out);
void bench_sweep_free(bench_sweep_t *sw);
/* Number of cells: models x recipes x tests x depths x threads. */
size_t bench_sweep_n_cells(const bench_sweep_t *sw);

#endif /* BENCH_H */
