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
 *   3. tests, workloads, sensors      bench/testspec.c, bench/measure.c, bench/sensors.c
 *   4. cells and results              bench/result.c, bench/measure.c
 *   5. sweep files                    bench/sweep_file.c
 *   6. runner                         bench/runner.c, bench/cooldown.c
 *   7. store                          bench/store.c
 *   8. engine workload, quality       bench/workload.c
 *   9. output formats                 bench/output.c
 *  10. roofline                       bench/roofline.c
 *  11. perplexity and KLD on text     bench/ppl.c, bench/ppl_engine.c
 *  12. CPU sets and pinning           bench/pin.c
 */
#ifndef BENCH_H
#define BENCH_H

#include "mb.h"
#include "probes.h"

/* The seed of the synthetic weights and token ids when none is given: the
 * same for every command (bench, sweep files, models build, quality), so a
 * model built by one is the cache file the others use. */
#define BENCH_DEFAULT_SEED 1

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

/* A workload: one model in one context (KV cache), driven token by token.
 * The real one is the engine forward pass (bench/workload.c); tests use a
 * fake. All calls return 0 or a negative MB_E* code. */
typedef struct {
    void *impl;
    int n_ctx;   /* cache positions */
    int n_vocab; /* token ids are drawn from [0, n_vocab) */
    /* Appends n tokens to the cache (n = 1 is a decode step); with logits the
     * last token's logits are computed, as a generation step needs. */
    int (*eval)(void *impl, const int32_t *tokens, int n, bool logits);
    int (*reset)(void *impl); /* empty the cache */
    /* Keeps the first n_pos cache positions, dropping the rest. NULL when the
     * engine cannot: the depth is then refilled (untimed) before each rep. */
    int (*truncate)(void *impl, int n_pos);
    void (*close)(void *impl);
    /* The CPUs each thread ran on so far, "t0:0 t1:0-1" (section 12's
     * format). May be NULL. */
    void (*cpus_ran)(void *impl, char *buf, size_t len);
} bench_workload_t;

/* Sensor readings summarized over a time window. NAN / 0 samples = none. */
typedef struct {
    int n_samples;
    double temp_min, temp_mean, temp_max; /* hottest zone, degrees C */
    double freq_min, freq_mean, freq_max; /* mean over CPUs, MHz */
    double energy_j;                      /* energy used in the window (RAPL) */
    bool trip;                            /* a trip point was crossed */
} bench_sensor_window_t;

/* Sensors: a background sampler started in the process that measures. */
typedef struct {
    void *ctx;
    int (*start)(void *ctx);
    void (*stop)(void *ctx);
    /* Summary of the readings between two mb_clock_ns() times. */
    int (*window)(void *ctx, uint64_t t0_ns, uint64_t t1_ns, bench_sensor_window_t *out);
    /* The hottest zone now (cooldown); NAN without thermal sensors. */
    double (*hottest_c)(void *ctx);
    /* Cumulative energy counter now, joules (RAPL); NAN without one. May be NULL. */
    double (*energy_j)(void *ctx);
} bench_sensors_t;

/* One repetition of a test. */
typedef struct {
    int64_t wall_ns;     /* timed part of the rep */
    double ts;           /* tokens/s: pp n_prompt/prefill, tg n_gen/decode, pg (P+N)/total */
    double ttft_ms;      /* pp, pg: prefill of the prompt until the first token's logits; tg: NAN */
    double prefill_ts;   /* pp, pg; NAN for tg */
    double decode_ts;    /* tg, pg; NAN for pp */
    double lat_p50_ms, lat_p90_ms, lat_p99_ms; /* per-token decode latency; NAN for pp */
    bench_sensor_window_t sensors;
    bool throttled;      /* frequency fell below 90% of the cell's peak, or a trip point */
    double read_gbs;     /* --roofline-paired: read bandwidth measured just before this
                            rep (tg, pg), GB/s; NAN otherwise */
} bench_rep_t;

/* A time-series point (sensor windows, sustained windows, cooldown). */
typedef struct {
    double t;        /* wall-clock seconds */
    char kind[16];   /* "tps", "temp", "freq", "energy", "cooldown", "sustained", ... */
    char sensor[48]; /* "window", "hottest", "burst_ts", ... */
    double value;
} bench_sample_t;

/* Sustained mode: decode continuously, in windows. */
#define BENCH_SUSTAINED_WINDOW_S 5.0
#define BENCH_SUSTAINED_BURST_S 30.0
#define BENCH_SUSTAINED_TAIL_S 120.0
/* A sustained figure needs the burst and the tail apart: 30 s + 2 min. */
#define BENCH_SUSTAINED_MIN_S (BENCH_SUSTAINED_BURST_S + BENCH_SUSTAINED_TAIL_S)
typedef struct {
    double t0_s;     /* window start, seconds since the run began */
    double dur_s;
    int64_t tokens;
    double ts;
    bench_sensor_window_t sensors;
} bench_window_t;

typedef struct {
    bench_window_t *windows;
    size_t n_windows;
    double duration_s;
    double burst_ts;           /* tokens/s over the first 30 s */
    double sustained_ts;       /* tokens/s over the last 2 min; NAN when the run was
                                  shorter than BENCH_SUSTAINED_MIN_S (the windows would overlap) */
    double ratio;              /* sustained / burst; NAN when sustained_ts is */
    char absent[96];           /* why sustained_ts is NAN ("" when it is measured) */
    double time_to_throttle_s; /* start of the first window under 90% of burst; NAN: never */
    double j_per_token;        /* NAN without an energy counter */
    bool sensors;              /* false: "no sensors" */
} bench_sustained_t;

/* Summarizes windows (already filled) into burst, sustained, ratio, ... */
void bench_sustained_summarize(bench_sustained_t *s);
/* A sustained cell's decode_ts: the sustained rate, or (a run too short for
 * one) the rate over the whole run. */
double bench_sustained_decode_ts(const bench_sustained_t *s);

/* A set of CPUs (bit c of bits[c / 64]), up to glibc's CPU_SETSIZE. */
#define BENCH_MAX_CPUS 1024
typedef struct {
    uint64_t bits[BENCH_MAX_CPUS / 64];
} bench_cpuset_t;

/* ==== 4. cells and results ================================================= */
typedef enum {
    BENCH_CELL_OK, BENCH_CELL_SKIPPED, BENCH_CELL_FAILED, BENCH_CELL_OOM, BENCH_CELL_TIMEOUT,
    BENCH_CELL_INTERRUPTED
} bench_status_t;
const char *bench_status_name(bench_status_t s); /* "ok", "skipped", "failed", "oom", ... */

/* One cell: model x recipe x test (with depth) x threads. */
typedef struct {
    char model[256]; /* catalog name or GGUF path */
    char recipe[32];
    bench_test_t test;
    int n_threads;
    int n_ctx;       /* cache positions; 0 = what the test needs */
    int index;       /* position in the run, 0-based */
    /* Pinning (-C, --cluster, --cpu-strict; section 12): the CPUs the cell's
     * threads run on, empty = not pinned (the process's own affinity). */
    bench_cpuset_t cpus;
    bool cpu_strict;  /* thread i on the i-th CPU of cpus alone (round-robin) */
    char cluster[16]; /* "big", "mid", "little", "all" when cpus came from --cluster */
} bench_cell_t;
/* "qwen3-0.6b/Q4_0/pp512@d0/t2": the identity --resume matches on; a
 * pinned cell adds "/cpu=big" or "/cpu=0x3", and ",strict". */
void bench_cell_key(const bench_cell_t *c, char *buf, size_t len);

/* What the backend knows about a cell's model before and after loading. */
typedef struct {
    char model_type[96];   /* llama-bench's model_type: "qwen3 0.6B Q4_0" */
    uint64_t model_size;   /* weight bytes */
    uint64_t n_params;
    char weights[16];      /* "synthetic" | "file" */
    char weights_sha256[65]; /* GGUF file hash ("" for synthetic) */
    char kernel[64];       /* kernel variant bound, and its fallbacks: "avx512 (BF16: avx2)" */
    uint64_t kv_bytes;     /* KV cache for the cell's context */
    uint64_t scratch_bytes;
    int n_ctx_max;         /* longest context the model supports */
    /* Roofline inputs (bench/roofline.c, docs/OUTPUT.md); 0 = unknown. */
    uint64_t rf_decode_bytes;  /* weight bytes read per decoded token (lookup-only tables excluded) */
    uint64_t rf_matmul_params; /* weights multiplied per prompt token (output head excluded) */
    uint64_t rf_head_params;   /* output head: once per prompt, once per decoded token */
    uint64_t rf_kv_pos;        /* KV bytes read per attended position, full-attention layers */
    uint64_t rf_kv_pos_swa;    /* the same over sliding-window layers */
    int rf_swa_window;         /* their window (positions) */
    bool rf_float;             /* matmuls on float weights (F32/F16/BF16): the f32 peak applies */
} bench_model_info_t;

typedef struct {
    bench_cell_t cell;
    bench_model_info_t info;
    bench_status_t status;
    char reason[512];        /* why not ok; "" when ok */
    bench_rep_t *reps;
    size_t n_reps;
    bench_stats_t ts;        /* tokens/s over reps */
    double ttft_ms;          /* median TTFT over reps (pp, pg); NAN otherwise */
    double decode_ts;        /* median decode t/s (tg, pg); NAN for pp */
    bench_stop_t stop;
    int throttled_reps;
    int64_t peak_rss;        /* bytes; -1 unknown */
    double roofline_pct;     /* NAN unless ceilings are known */
    double started, ended;   /* wall clock */
    double cooldown_s;       /* waited before this cell */
    bench_sample_t *samples; /* sensor series of the cell */
    size_t n_samples;
    bench_sustained_t sustained; /* n_windows > 0 in sustained mode */
    char cpus_ran[1024];     /* per thread the CPUs it was seen on, "t0:0 t1:1" ("" unknown) */
} bench_result_t;

void bench_result_init(bench_result_t *r, const bench_cell_t *cell);
void bench_result_clear(bench_result_t *r); /* frees reps, samples, windows */
/* The reason without a leading "<status>: " (reasons such as "skipped: needs
 * 3.1 GB, ..." name the status themselves), for text that shows both. */
const char *bench_result_reason(const bench_result_t *r);
int bench_result_add_sample(bench_result_t *r, double t, const char *kind, const char *sensor,
                            double value);
/* The pipe protocol between a cell's child and the runner: one JSON object. */
int bench_result_write_json(FILE *f, const bench_result_t *r);
int bench_result_read_json(const char *text, size_t len, bench_result_t *r);

/* Measured ceilings per thread count (section 10). */
typedef struct bench_ceilings bench_ceilings_t;

/* A read-bandwidth meter (probes_bw_meter_t in the command; fakes in tests):
 * the fastest of `passes` read passes at `threads` threads, GB/s. */
typedef struct {
    void *ctx;
    int (*read_gbs)(void *ctx, int threads, int passes, double *gbs);
} bench_meter_t;
#define BENCH_PAIRED_PASSES 3 /* read passes before each paired rep */

/* The probes' read meter (probes_bw_meter_t, the probe's buffer size) as a
 * bench_meter_t. The buffer is mapped on first use by the process that
 * measures, i.e. in each cell's child, next to the weights it loaded: in
 * one experiment on the build VM a buffer the runner had mapped before the
 * fork read 50-58 GB/s where the child's own read 71-74 (three alternating
 * pairs; a later repeat showed no difference), which would have inflated
 * the ratios. Each cell maps and clears it once (2-3 s for 1 GiB here):
 * count probes_bw_meter_default_bytes() in the runner's headroom. */
typedef struct bench_probe_meter bench_probe_meter_t;
int bench_probe_meter_create(uint64_t bytes, bench_probe_meter_t **out); /* 0: the probe's size */
void bench_probe_meter_destroy(bench_probe_meter_t *p); /* NULL: no-op */
bench_meter_t bench_probe_meter(bench_probe_meter_t *p);

/* Runs one cell in this process: depth fill, warm-up, reps per the policy
 * (or sustained_s > 0: sustained mode), statistics. Fills r (status ok or
 * the error). sensors may be NULL. */
typedef struct {
    bench_reps_policy_t reps;
    bool warmup;
    uint64_t seed;
    double sustained_s;
    const bench_clock_t *clock;
    const bench_sensors_t *sensors;
    const bench_ceilings_t *ceilings; /* NULL: roofline_pct stays NAN */
    /* Non-NULL: before each recorded tg/pg rep (not the warm-up, not sustained
     * mode), the read bandwidth at the cell's thread count goes to the rep's
     * read_gbs, and a decode roofline_pct is the median of the reps' own
     * ratios (section 10). A meter error leaves read_gbs NAN (warned once). */
    const bench_meter_t *meter;
    /* Non-NULL: the prompt of pp and pg tests is these real token ids (the
     * first n_prompt of them; bench --prompt-file) instead of seeded ones. */
    const int32_t *prompt;
    int n_prompt_tokens;
} bench_measure_opts_t;
int bench_cell_measure(const bench_measure_opts_t *o, bench_workload_t *w, bench_result_t *r);

/* Sensors from the probes' background sampler (hottest zone, per-CPU
 * frequency), trip points from the device probe, energy from RAPL where
 * readable. Zero sensors is not an error: every reading is then NAN. */
typedef struct bench_probe_sensors bench_probe_sensors_t;
int bench_probe_sensors_create(bench_probe_sensors_t **out);
void bench_probe_sensors_destroy(bench_probe_sensors_t *p);
bench_sensors_t bench_probe_sensors(bench_probe_sensors_t *p);
/* "2 temperature, 8 frequency sensors, energy: intel-rapl:0" or "no sensors". */
void bench_probe_sensors_describe(const bench_probe_sensors_t *p, char *buf, size_t len);

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
    int busy_timeout_ms; /* [sweep] busy_timeout (0: the store's default, 5 s) */
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
    struct bench_pin *pins; /* [tests] clusters or cpu_mask (default: one, not pinned) */
    size_t n_pins;
    bool *stricts;    /* [tests] cpu_strict (default: 0) */
    size_t n_stricts;
    bench_reps_policy_t reps; /* [reps] min, max, cv_target */
    bool warmup;      /* [reps] warmup (true) */
    double cell_time_s;  /* [limits] cell_time: a cell running longer is killed (600 s) */
    uint64_t headroom;   /* [limits] memory_headroom, kept free beyond the cell's need (512 MiB) */
    bench_cooldown_t cooldown; /* [cooldown] */
    bool quality;        /* [quality] enabled */
    char *quality_ref;   /* [quality] reference: F32 (the model itself) or a recipe */
    int quality_tokens;  /* [quality] tokens (128) */
    char *quality_text;  /* [quality] text: corpus for the real-text perplexity of the
                            GGUF-file models (docs/QUALITY.md); NULL = none */
} bench_sweep_t;

/* Parses and validates a sweep file. Errors: MB_EFORMAT "FILE:LINE: what was
 * expected", MB_ENOENT for an unknown model or recipe (with the known ones). */
int bench_sweep_load(const char *path, const bench_names_t *names, bench_sweep_t **out);
int bench_sweep_parse(const char *text, const char *name, const bench_names_t *names,
                      bench_sweep_t **out);
void bench_sweep_free(bench_sweep_t *sw);
/* Number of cells: models x recipes x tests x depths x threads x pins x stricts. */
size_t bench_sweep_n_cells(const bench_sweep_t *sw);
/* The most cells one sweep file may expand to: far above any real sweep (a
 * nightly sweep is hundreds), low enough that expansion, --dry-run and the
 * store stay quick. A file past it is refused with the axes' product. */
#define BENCH_SWEEP_MAX_CELLS 100000

/* ==== 6. runner ============================================================ */
/* Where models come from: the catalog/GGUF loader over the engine
 * (bench/workload.c), or a fake in tests. */
typedef struct {
    void *ctx;
    /* Sizes for the memory-fit check and the dry run, without loading weights. */
    int (*estimate)(void *ctx, const bench_cell_t *cell, bench_model_info_t *info);
    /* In the parent, after the fit check and before the fork: build what
     * cells share (the quantized weights; children inherit them copy-on-
     * write). May be NULL. */
    int (*prepare)(void *ctx, const bench_cell_t *cell);
    /* In the cell's child: load the model, bind kernels, create the context. */
    int (*open)(void *ctx, const bench_cell_t *cell, bench_workload_t *w, bench_model_info_t *info);
    /* Is the cell's model file at hand (the cache has it, or a GGUF path)?
     * false: prepare builds it first (the dry run's estimate counts that).
     * May be NULL (always at hand). */
    bool (*cached)(void *ctx, const bench_cell_t *cell);
} bench_backend_t;

/* Where results go: the SQLite store (bench/store.c) or a test's memory. */
typedef struct {
    void *ctx;
    /* Starts a run, or reopens resume_run ("latest", a uuid or a prefix). */
    int (*run_begin)(void *ctx, const char *resume_run);
    /* --resume: was this cell finished in the reopened run? */
    int (*cell_done)(void *ctx, const bench_cell_t *cell, bool *done);
    /* Stores one cell, its reps and samples, in one transaction. */
    int (*cell_commit)(void *ctx, const bench_result_t *r);
    /* Run-level samples (cooldown waits). May be NULL. */
    int (*run_samples)(void *ctx, const bench_sample_t *s, size_t n);
    /* Ends the run: BENCH_CELL_OK = done, INTERRUPTED, FAILED. */
    int (*run_end)(void *ctx, bench_status_t final);
    /* Seconds this cell took in an earlier run (for ETAs); MB_ENOENT if never. May be NULL. */
    int (*eta_hint)(void *ctx, const bench_cell_t *cell, double *seconds);
} bench_sink_t;

typedef enum { BENCH_PROGRESS_AUTO, BENCH_PROGRESS_BAR, BENCH_PROGRESS_LINES, BENCH_PROGRESS_OFF } bench_progress_t;

typedef struct {
    const bench_cell_t *cells;
    size_t n_cells;
    bench_reps_policy_t reps;
    bool warmup;
    uint64_t seed;
    double sustained_s;        /* > 0: sustained mode for every cell */
    double cell_time_s;        /* a cell's child is killed after this; 0 = no limit */
    uint64_t headroom;         /* bytes kept free beyond the cell's estimate */
    bench_cooldown_t cooldown; /* between cells */
    bool dry_run;              /* list cells, fit and ETA on stdout; run nothing. Cells
                                  that never ran get an estimate ("est.") from the model's
                                  size and the ceilings (below), when known */
    const char *resume;        /* reopen this run and skip its finished cells */
    const bench_backend_t *backend;
    const bench_sink_t *sink;       /* NULL: nothing stored (--no-db) */
    const bench_sensors_t *sensors; /* NULL: no sensors */
    int (*mem_available)(uint64_t *bytes); /* NULL: MemAvailable of /proc/meminfo */
    void (*on_result)(void *ctx, const bench_result_t *r); /* each finished cell (output) */
    void *on_result_ctx;
    bench_progress_t progress;
    const bench_ceilings_t *ceilings; /* NULL: no roofline_pct (section 10) */
    const bench_meter_t *meter;       /* NULL: not paired (bench_measure_opts_t) */
    const int32_t *prompt;            /* NULL: seeded prompts (bench_measure_opts_t) */
    int n_prompt_tokens;
} bench_run_opts_t;

typedef struct {
    size_t done[BENCH_CELL_INTERRUPTED + 1]; /* cells per status */
    size_t resumed;                          /* skipped as finished earlier */
    double cooldown_s;                       /* total wait */
    bench_status_t final;                    /* OK (done), INTERRUPTED or FAILED */
} bench_run_summary_t;

/* Runs the cells, each in a forked child (crash, OOM kill, time-out: a row
 * with the reason, and the run goes on); the parent alone writes the sink.
 * SIGINT/SIGTERM: the running cell is stored as interrupted and the run ends
 * (returns MB_EINTR). Test hook: env MOBENCH_TEST_CRASH_CELL=N makes the
 * child of cell index N crash with SIGSEGV. */
int bench_run(const bench_run_opts_t *o, bench_run_summary_t *sum);

/* Cells of a sweep: models x recipes x threads x pins x stricts x depths x
 * tests, in that nesting (a model's cells run together). Resolve the pins
 * (bench_pins_resolve) first. free(*out). */
int bench_sweep_cells(const bench_sweep_t *sw, bench_cell_t **out, size_t *n);
/* MemAvailable from /proc/meminfo (under MOBENCH_SYSFS_ROOT if set). */
int bench_mem_available(uint64_t *bytes);
/* Bytes a cell needs: weights + KV + scratch (headroom not included). */
uint64_t bench_cell_need(const bench_model_info_t *info);

/* Waits per the policy; baseline_c is the hottest zone at the run's start.
 * *waited gets the seconds waited, how a description ("thermal: 43.5 C after
 * 12 s", "fixed 10 s: no thermal sensors"). sleep_ns and clock may be fakes;
 * stop (may be NULL) is polled to end the wait early. */
int bench_cooldown_wait(const bench_cooldown_t *c, const bench_sensors_t *s, double baseline_c,
                        const bench_clock_t *clock, void (*sleep_ns)(uint64_t ns),
                        volatile const int *stop, double *waited, char *how, size_t how_len);

/* ==== 7. store: the SQLite store as the runner's sink (bench/store.c) ====== */
typedef struct bench_store bench_store_t;
typedef struct {
    bool sweep;             /* run kind: sweep (true) or bench */
    int busy_timeout_ms;    /* wait this long for another writer's lock; 0 = the store's default (5 s) */
    const char *cmdline;    /* recorded with the run */
    const char *sweep_file;
} bench_store_opts_t;

/* Opens (creating) the database and records this device (probe JSON and
 * fingerprint). The run starts with the sink's run_begin. */
int bench_store_open(const char *path, const bench_store_opts_t *o, bench_store_t **out);
void bench_store_close(bench_store_t *s); /* NULL: no-op */
bench_sink_t bench_store_sink(bench_store_t *s);
const char *bench_store_run(const bench_store_t *s); /* run uuid ("" before run_begin) */

/* ==== 8. the engine workload (bench/workload.c) ============================
 * Catalog models with synthetic weights (seeded, real shapes), typed by the
 * recipe's per-tensor rules, built once into the models cache (a GGUF file
 * reused by later runs) in the runner's process; GGUF paths (recipe "file")
 * as they are. Each cell's child maps the file and runs the engine. */
typedef struct bench_engine bench_engine_t;
/* kernel: NULL = best for this CPU, else forced (--kernel). */
int bench_engine_create(const char *kernel, uint64_t seed, bench_engine_t **out);
void bench_engine_destroy(bench_engine_t *e); /* NULL: no-op */
bench_backend_t bench_engine_backend(bench_engine_t *e);
/* Name checks for sweep files and flags: MB_ENOENT listing the known ones. */
bench_names_t bench_engine_names(void);
/* Context positions a cell gets: what its test needs, or 4096 (capped by the
 * model's training context) in sustained mode. */
int bench_cell_n_ctx(const bench_cell_t *cell, bool sustained);

/* Quality of a recipe against a reference recipe (F16) on the same
 * synthetic model: a sequence sampled from the reference at temperature 1
 * (after a seeded first token), scored by both from an empty cache; per position the KL divergence of the next-token distributions
 * and whether the top token agrees; the perplexity ratio on the sequence
 * itself. Builds both models in this process. */
typedef struct {
    char model[256], recipe[32], ref_recipe[32];
    double mean_kld, p99_kld, top1_agree, ppl_ratio;
    int n_tokens;
} bench_quality_t;
int bench_quality_measure(bench_engine_t *e, const char *model, const char *recipe,
                          const char *ref_recipe, int n_tokens, int n_threads, bench_quality_t *out);
/* The same against the F32 model itself (reference "F32"), by the models'
 * quality measure: sequences sampled from the F32 model at temperature 1,
 * so the perplexity ratio is on text the reference finds likely. One call
 * per model for all its recipes; out[i] for recipes[i]. */
int bench_quality_f32(bench_engine_t *e, const char *model, const char *const *recipes,
                      int n_recipes, int n_tokens, int n_threads, bench_quality_t *out);
/* Stores a quality result in the store's current run. */
int bench_store_quality(bench_store_t *s, const bench_quality_t *q);
/* Was this quality result stored in the current (resumed) run? */
bool bench_store_quality_done(bench_store_t *s, const char *model, const char *recipe);

/* ==== 9. output formats (bench/output.c, docs/OUTPUT.md) ===================
 * Rows as cells finish: llama-bench's field names first, then ours. */
typedef enum { BENCH_OUT_MD, BENCH_OUT_CSV, BENCH_OUT_JSON, BENCH_OUT_JSONL, BENCH_OUT_SQL } bench_out_fmt_t;
int bench_out_parse(const char *s, bench_out_fmt_t *out); /* "md", "csv", ... */

typedef struct bench_out bench_out_t;
/* cpu_info: the CPU's name for the cpu_info column. */
int bench_out_begin(FILE *f, bench_out_fmt_t fmt, const char *cpu_info, bench_out_t **out);
void bench_out_row(bench_out_t *o, const bench_result_t *r);
/* Closes the table (JSON's bracket) and frees o. */
void bench_out_end(bench_out_t *o);
/* The column names, in order (for docs and tests); returns the count. */
int bench_out_columns(const char **names, int max);

/* ==== 10. roofline (bench/roofline.c, docs/OUTPUT.md roofline_pct) ========
 * The device's measured ceilings (probes_ceilings_json's object, stored with
 * the device row) reduced to what roofline_pct needs, per thread count. */
#define BENCH_MAX_CEILINGS 16
typedef struct {
    int threads;
    double read_gbs;   /* memory read bandwidth, GB/s; NAN: not measured */
    double i8_gops;    /* fastest int8 dot kernel, GOP/s; NAN: none */
    double f32_gflops; /* fastest f32 FMA kernel, GFLOP/s; NAN: none */
} bench_ceiling_t;
struct bench_ceilings {
    int n;
    bench_ceiling_t pt[BENCH_MAX_CEILINGS];
};
/* Parses the ceilings object (or a probe document holding "ceilings").
 * MB_EFORMAT when it is not JSON or has no bandwidth/peak figures. */
int bench_ceilings_parse(const char *json, size_t len, bench_ceilings_t *out);
/* The point for exactly this thread count, NULL if not measured. */
const bench_ceiling_t *bench_ceilings_find(const bench_ceilings_t *c, int threads);
/* roofline_pct of a finished cell (docs/OUTPUT.md): decode (tg, pg's decode
 * part, sustained) as bytes read per token x tokens/s over the read
 * bandwidth; prefill (pp) as 2 x multiplied params x tokens/s over the int8
 * peak (f32 peak for float recipes). NAN when the ceilings lack the cell's
 * thread count or the model's roofline inputs are unknown. A decode cell
 * whose reps carry read_gbs (--roofline-paired) is instead the median over
 * those reps of each rep's decode rate over its own read_gbs; c may then be
 * NULL. */
double bench_roofline_pct(const bench_ceilings_t *c, const bench_result_t *r);

/* Ceilings for a run's thread counts: the device's stored ones (s may be
 * NULL); thread counts they lack are measured once here when measure is true
 * (a short set: bandwidth and peaks, 3 passes) and, if the device had no
 * ceilings stored, the measurement is stored with it. *have is false when
 * no thread count of the run is covered. */
int bench_ceilings_for_run(bench_store_t *s, const bench_cell_t *cells, size_t n_cells, bool measure,
                           bench_ceilings_t *out, bool *have);
/* The device's stored ceilings JSON (NULL: none), malloc'd. */
int bench_store_ceilings_get(bench_store_t *s, char **json);
/* Stores ceilings JSON with this device. */
int bench_store_ceilings_set(bench_store_t *s, const char *json);

/* ==== 11. perplexity and KLD on real text (bench/ppl.c, docs/QUALITY.md) ===
 * llama-perplexity's definitions: the corpus tokenized once (BOS as the
 * model adds it), cut into windows of n_ctx tokens (at least two needed),
 * each window's first token replaced by BOS when the model adds BOS, each
 * evaluated from an empty cache and scored on positions n_ctx/2 .. n_ctx-2
 * (each predicting the next token). ppl = exp(mean nll), ppl_err = ppl x the
 * standard error of the mean nll. KLD: KL(P_base || P_model) per scored
 * position against the base's log-probabilities as stored in a base-logits
 * file (log-softmax as uint16 with a scale and minimum per row, the base
 * floor 16 nats below the row's top, as llama.cpp stores them), with
 * llama-perplexity's statistics. The model is a callback, so the arithmetic
 * is tested on fakes; bench_ppl_engine_open gives the engine's forward. */
typedef struct {
    void *ctx;
    int n_vocab;
    /* Logits of positions first..n-1 of tokens[0..n) evaluated from an empty
     * cache: (n - first) x n_vocab floats, row-major. */
    int (*eval)(void *ctx, const int32_t *tokens, int n, int first, float *logits);
} bench_ppl_model_t;

typedef struct {
    int n_ctx;      /* window, >= 4 */
    int max_chunks; /* --chunks: at most this many windows; 0 = all */
    bool add_bos;   /* the model adds BOS: each window starts with bos */
    int32_t bos;
} bench_ppl_opts_t;

typedef struct {
    int n_ctx, n_chunks;
    int64_t n_scored;              /* positions scored: chunks x (n_ctx - 1 - n_ctx/2) */
    double ppl, ppl_err;
    bool kl;                       /* the figures below are set */
    double ppl_base, ppl_base_err; /* the base's, from its stored log-probs */
    double ln_ratio, ln_ratio_err; /* mean ln(PPL(model)/PPL(base)) */
    double ppl_ratio, ppl_ratio_err;
    double kld_mean, kld_err;      /* nats */
    double kld_max, kld_p999, kld_p99, kld_p95, kld_p90, kld_median, kld_p10, kld_p05, kld_p01,
        kld_p001, kld_min;
    double top1_agree, top1_err;   /* "Same top p", a fraction */
} bench_ppl_result_t;

/* Windows a corpus of n_tokens gives (MB_EINVAL saying the length needed when
 * it is shorter than 2 x n_ctx). */
int bench_ppl_chunks(size_t n_tokens, const bench_ppl_opts_t *o, int *n_chunks);

/* What a base-logits file was made from. */
typedef struct {
    char base_sha256[65];   /* the base GGUF file's; "" in an expectation: any */
    char corpus_sha256[65]; /* of the corpus bytes; "" in an expectation: any */
    int n_vocab, n_ctx, n_chunks; /* 0 in an expectation: any */
    bool add_bos;
    int32_t bos;
    const int32_t *tokens;  /* n_chunks x n_ctx ids as tokenized; NULL in an expectation: any */
} bench_klbase_meta_t;
typedef struct bench_klbase bench_klbase_t;

/* Evaluates the base on every window and writes path (beside it first,
 * renamed when complete). meta gives the two sha256s; the rest comes from
 * the run. base_ppl (may be NULL) gets the base's own perplexity. */
int bench_klbase_write(const char *path, const bench_klbase_meta_t *meta,
                       const bench_ppl_model_t *base, const int32_t *tokens, size_t n_tokens,
                       const bench_ppl_opts_t *o, bench_ppl_result_t *base_ppl);
/* Opens and checks a base-logits file against expect (may be NULL): another
 * base, corpus, context, vocabulary, fewer windows or other token ids is
 * MB_EINVAL naming what differs; not such a file MB_EFORMAT. */
int bench_klbase_open(const char *path, const bench_klbase_meta_t *expect, bench_klbase_t **out);
const bench_klbase_meta_t *bench_klbase_meta(const bench_klbase_t *k);
void bench_klbase_close(bench_klbase_t *k); /* NULL: no-op */

/* Perplexity of m on the windows of tokens; with base, also the KLD figures. */
int bench_ppl_run(const bench_ppl_model_t *m, const int32_t *tokens, size_t n_tokens,
                  const bench_ppl_opts_t *o, bench_klbase_t *base, bench_ppl_result_t *out);

/* A corpus must be non-empty UTF-8 text without NUL bytes (MB_EINVAL /
 * MB_EFORMAT naming the offset). load reads path, checks it, and gives the
 * bytes' sha256. */
int bench_corpus_check(const char *name, const char *text, size_t len);
int bench_corpus_load(const char *path, char **text, size_t *len, char sha256[65]);
/* The same, naming the file as what ("prompt file") in messages. */
int bench_text_load(const char *what, const char *path, char **text, size_t *len, char sha256[65]);

/* `mobench quality --text` (bench/ppl_engine.c): corpus file -> the model's
 * tokenizer -> windows through the engine; with kl_base, the base file first
 * (its vocabulary must be the model's) into kl_base_logits, or a temporary
 * file when NULL; an existing kl_base_logits is reused after its header is
 * checked (kl_base may then be NULL). Errors before any weights are loaded
 * for a bad corpus, a corpus shorter than two windows, another vocabulary. */
typedef struct {
    const char *model, *corpus;
    const char *kl_base, *kl_base_logits; /* NULL: none */
    int n_ctx, max_chunks, n_threads;
} bench_ppl_text_opts_t;

typedef struct {
    bench_ppl_result_t r;
    char corpus_sha256[65], model_sha256[65], base_sha256[65]; /* base "" = no KLD */
    int64_t corpus_bytes, corpus_tokens;
    bool synthetic;       /* the model file says mobench.weights = synthetic */
    char tokenizer[48];   /* models_tokenizer_kind */
    char kernels[32];
} bench_ppl_text_t;
int bench_ppl_text(const bench_ppl_text_opts_t *o, bench_ppl_text_t *out);
/* A text file tokenized by a GGUF file's tokenizer as llama.cpp does a prompt
 * (BOS as the model adds it), checked as a corpus is; free(*ids). */
int bench_prompt_tokens(const char *gguf, const char *path, int32_t **ids, size_t *n);
/* Stores a real-text result in the store's current run (recipe "file",
 * ref_recipe "file" with KLD, "" without; model as given). */
int bench_store_quality_text(bench_store_t *s, const char *model, const bench_ppl_text_t *t);

/* ==== 12. CPU sets and pinning (bench/pin.c, docs/OUTPUT.md cpu_mask) =====
 * llama-bench's -C/--cpu-mask and --cpu-strict, and --cluster resolved from
 * the probe's clusters. The engine gets a plain CPU list (engine_pin_t); the
 * cluster names are ours. */
bool bench_cpuset_empty(const bench_cpuset_t *s);
int bench_cpuset_count(const bench_cpuset_t *s);
bool bench_cpuset_has(const bench_cpuset_t *s, int cpu);
void bench_cpuset_add(bench_cpuset_t *s, int cpu); /* cpu outside 0..BENCH_MAX_CPUS-1: ignored */
/* A hex mask, llama-bench's -C: "0x0f", "0XF", "ff00000000" (bit c = CPU c).
 * MB_EINVAL with a message: empty, not hex, a CPU beyond BENCH_MAX_CPUS.
 * "0x0" parses to the empty set (llama-bench's "no mask"). */
int bench_cpuset_parse_hex(const char *s, bench_cpuset_t *out);
/* "0xf0" (lowercase, no leading zeros; "0x0" for the empty set). */
void bench_cpuset_hex(const bench_cpuset_t *s, char *buf, size_t len);
/* "0-3,8" ("" for the empty set). */
void bench_cpuset_list(const bench_cpuset_t *s, char *buf, size_t len);
/* Up to max CPU numbers of s, ascending; returns the count. */
int bench_cpuset_cpus(const bench_cpuset_t *s, int *cpus, int max);
/* The online CPUs of a probed device (its per-core records). */
void bench_cpuset_online(const probes_device_t *dev, bench_cpuset_t *out);

/* One pinning choice: a cluster name or a mask. */
typedef struct bench_pin {
    char cluster[16];    /* "big", "mid", "little", "all"; "" = the mask below */
    bench_cpuset_t cpus; /* the mask (empty with no cluster: not pinned); a
                            cluster's CPUs once resolved */
    int line;            /* the sweep file line it came from; 0: the command line */
} bench_pin_t;
/* Is name one of big, mid, little, all? MB_EINVAL (message listing them) otherwise. */
int bench_cluster_check(const char *name);
/* The CPUs of a cluster role on a device: clusters sorted from the smallest
 * core up; with two, the first is little and the second big; with three or
 * more, the first little, the last big, the ones between mid (x86 hybrid:
 * efficiency = little, performance = big). "all": every online CPU. A role
 * this device lacks is MB_ENOENT, the message naming the clusters present. */
int bench_cluster_cpus(const probes_device_t *dev, const char *role, bench_cpuset_t *out);
/* Resolves each pin against the device: a cluster to its CPUs; a mask is
 * narrowed to the online CPUs (a warning names those left out), and one
 * naming no online CPU is MB_EINVAL naming the online CPUs. Messages start
 * "FILE:LINE: clusters" for pins from sweep file `file` (line > 0), else
 * "--cluster big" / "-C 0x3". */
int bench_pins_resolve(bench_pin_t *pins, size_t n, const probes_device_t *dev, const char *file);
/* The cell's pinning for messages and the md table: "-" (not pinned), "big",
 * "0x3", with " strict". */
void bench_cell_pin_label(const bench_cell_t *c, char *buf, size_t len);

#endif /* BENCH_H */
