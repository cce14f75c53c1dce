/*
 * reports.h: what people read from mobench. Regression compare between
 * runs, recommendation tables per device class, and the HTML report with
 * gnuplot charts.
 *
 * Everything here works on plain in-memory records (reports_data_t); one
 * adapter (reports_data_load) fills them from the store (db/db.h), so the
 * statistics, the recommendation logic and the writers are testable on
 * hand-built records. reports/ depends on db/ and common/ only.
 *
 * Conventions: tokens/s are "higher is better"; a ratio is candidate /
 * baseline, so a ratio below 1 is a slowdown. NaN means "not measured"
 * and is printed as such, never as 0.
 */
#ifndef REPORTS_H
#define REPORTS_H

#include "mb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- records ----------------------------------------------------------------- */

typedef struct {
    char id[64];          /* device uuid */
    char fingerprint[80];
    char name[128];       /* CPU model or marketing name */
    char platform[24];    /* "linux", "android", "ios", ... */
    char arch[24];        /* "x86_64", "aarch64" */
    char class_name[64];  /* device class set by the lab, "" = derive from RAM/platform */
    uint64_t ram_bytes;
    int n_cores;
    char isa[64];         /* best ISA level, e.g. "avx2", "neon+dotprod" */
    double bw_gbs;        /* measured memory bandwidth GB/s (NaN = not measured) */
    double peak_f32_gflops;
    double peak_int8_gops;
    bool has_temp, has_freq, has_energy; /* sensor availability */
} reports_device_t;

typedef struct {
    char id[64];          /* run uuid */
    char device_id[64];
    double t_start, t_end; /* unix seconds */
    char version[32];
    char commit[48];
    char status[16];      /* running|done|interrupted */
    char cmdline[256];
} reports_run_t;

typedef enum { REPORTS_TEST_PP, REPORTS_TEST_TG, REPORTS_TEST_PG, REPORTS_TEST_OTHER } reports_test_kind_t;

typedef struct {
    char id[64];          /* cell uuid */
    char run_id[64];
    char device_id[64];
    char model[64];       /* catalog name or file name */
    char recipe[32];      /* Q4_0, Q4_K_M, F16, ... */
    char test[32];        /* "pp512", "tg128", "pg512,128" */
    reports_test_kind_t kind;
    int n_prompt, n_gen, n_depth, n_threads;
    char kernel[32];      /* kernel variant that produced the numbers */
    char weights[16];     /* "synthetic" or "file" */
    char weights_sha[65];
    char status[16];      /* ok|skipped|failed|oom|timeout|interrupted */
    char reason[192];
    double t_start;       /* unix seconds */
    double *samples_ts;   /* per-rep tokens/s, owned (malloc) */
    size_t n_samples;
    double median_ts, ci_lo_ts, ci_hi_ts, cv; /* NaN when absent */
    double ttft_ms;       /* pg: time to first token; NaN otherwise */
    double decode_ts;     /* pg: decode rate alone; NaN otherwise */
    double roofline_pct;  /* the cell's stored roofline_pct (docs/OUTPUT.md); NaN = none */
    uint64_t model_bytes; /* weights as loaded */
    uint64_t n_params;
    uint64_t kv_bytes_per_token; /* 0 = unknown */
    uint64_t peak_rss;    /* 0 = not measured */
    double kld;           /* mean KL divergence vs kld_ref (NaN = quality not measured) */
    double ppl_delta;     /* relative perplexity change vs kld_ref, 0.05 = +5% */
    char kld_ref[16];     /* reference of the quality result: "F32" (the model's own
                           * F32 forward pass) or a recipe such as "F16"; "" = none */
    int throttled_reps;
    double temp_max_c;    /* NaN = no sensor */
    /* Perplexity on real text of this cell's file (the newest quality
     * --text row whose model_sha256 is weights_sha; docs/QUALITY.md). */
    double text_ppl, text_ppl_err; /* NaN = none */
    char text_corpus[13];          /* corpus sha256 prefix, with -c: "786dbf894537" */
    int text_n_ctx;
} reports_cell_t;

typedef struct {
    char run_id[64];
    double t;             /* unix seconds */
    double temp_c;        /* NaN = no sensor */
    double freq_mhz;      /* NaN = no sensor */
    double ts;            /* tokens/s of the window, NaN if none */
} reports_sensor_t;

/* One `mobench quality --text` result (docs/QUALITY.md). */
typedef struct {
    char run_id[64];
    char model[256];
    char model_sha[65], base_sha[65], corpus_sha[65];
    char weights[16];
    int64_t corpus_tokens;
    int n_ctx, n_chunks;
    double ppl, ppl_err;
    double kld, kld_err, kld_p99, top1, ppl_ratio; /* NaN without --kl-base */
    double t;             /* created, unix seconds */
} reports_textq_t;

typedef struct {
    reports_device_t *devices; size_t n_devices;
    reports_run_t *runs;       size_t n_runs;      /* ascending t_start */
    reports_cell_t *cells;     size_t n_cells;
    reports_sensor_t *sensors; size_t n_sensors;
    reports_textq_t *textq;    size_t n_textq;     /* by run, model, time */
} reports_data_t;

/* Frees the arrays and every cell's samples; the struct itself is zeroed. */
void reports_data_free(reports_data_t *d);
/* Appends a copy of c (samples copied too). */
int reports_data_add_cell(reports_data_t *d, const reports_cell_t *c);
int reports_data_add_device(reports_data_t *d, const reports_device_t *dev);
int reports_data_add_run(reports_data_t *d, const reports_run_t *r);
int reports_data_add_sensor(reports_data_t *d, const reports_sensor_t *s);
int reports_data_add_textq(reports_data_t *d, const reports_textq_t *q);
/* A cell with every number NaN/0 and status "ok". */
void reports_cell_init(reports_cell_t *c);
void reports_device_init(reports_device_t *dev);
const reports_device_t *reports_data_device(const reports_data_t *d, const char *id);
const reports_run_t *reports_data_run(const reports_data_t *d, const char *id);

/* Selection for loading from the store. */
typedef struct {
    const char *run;      /* run uuid (or unique prefix); NULL = all */
    double since;         /* unix seconds; 0 = no limit */
    const char *device;   /* fingerprint or device uuid (prefix); NULL = all */
} reports_filter_t;

/* Fills d from the store at db_path (read-only). MB_ENOENT if the file is
 * absent; MB_EUNSUPPORTED when this build has no store module. */
int reports_data_load(const char *db_path, const reports_filter_t *f, reports_data_t *d);
/* Resolves "latest", "previous" or an id prefix to a run id in d. */
int reports_run_resolve(const reports_data_t *d, const char *spec, char out[64]);

/* ---- statistics -------------------------------------------------------------- */

/* Reproducible verdicts use common's seeded PRNG (mb_rng_t, mb.h). */

/* Median of x[0..n) (x is not modified); NaN if n == 0. */
double reports_median(const double *x, size_t n);
/* Two-sided Mann-Whitney U p-value for "a and b come from the same
 * distribution": exact for small samples without ties, normal
 * approximation with tie and continuity correction otherwise. */
double reports_mann_whitney_p(const double *a, size_t na, const double *b, size_t nb);
/* Percentile-bootstrap CI of median(b)/median(a) at level (e.g. 0.99). */
int reports_bootstrap_ratio_ci(const double *a, size_t na, const double *b, size_t nb,
                               double level, int n_boot, uint64_t seed, double *lo, double *hi);

/* ---- compare ----------------------------------------------------------------- */

typedef enum {
    REPORTS_UNCHANGED = 0,
    REPORTS_IMPROVED,
    REPORTS_REGRESSED,
    REPORTS_NOT_COMPARABLE,
} reports_verdict_t;

const char *reports_verdict_name(reports_verdict_t v); /* "unchanged", ... */

typedef struct {
    double threshold;  /* practical threshold, 0.05 = 5% */
    double alpha;      /* significance level of the two-sided test, 0.01 */
    int n_boot;        /* bootstrap resamples, 2000 */
    uint64_t seed;
    int min_samples;   /* fewer reps than this: not comparable (3) */
    double max_cv;     /* robust CV (1.4826 MAD / median) above which a side is too
                        * noisy to judge: not comparable. 0 = 2 x threshold */
} reports_compare_opts_t;

void reports_compare_opts_default(reports_compare_opts_t *o);
/* Robust coefficient of variation: 1.4826 x MAD / median (a normal
 * sample's sd / mean; one outlier rep barely moves it). NaN if n == 0. */
double reports_robust_cv(const double *x, size_t n);

typedef struct {
    reports_verdict_t verdict;
    double ratio;       /* median(candidate) / median(baseline) */
    double ci_lo, ci_hi; /* bootstrap CI of the ratio at level 1 - alpha */
    double p;           /* Mann-Whitney two-sided p-value */
    bool significant;   /* p < alpha */
    char note[160];     /* why not comparable, or "significant -2.1%, within 5%" */
} reports_cmp_stat_t;

/* The verdict for one cell from per-rep samples:
 * not comparable when either side's reps are too noisy (robust CV above
 * max_cv: the machine was busy, and a busy machine also shifts whole runs,
 * which reps within one run cannot show); else regressed when the
 * difference is significant (p < alpha), the median ratio is below 1 and
 * the CI reaches 1 - threshold (a slowdown as large as the threshold is
 * plausible); improved symmetrically; unchanged otherwise. */
void reports_compare_samples(const double *base, size_t nb, const double *cand, size_t nc,
                             const reports_compare_opts_t *o, reports_cmp_stat_t *out);

typedef struct {
    const reports_cell_t *base; /* NULL: cell only in the candidate */
    const reports_cell_t *cand; /* NULL: cell only in the baseline */
    reports_cmp_stat_t st;
} reports_cmp_row_t;

typedef struct {
    char base_run[64], cand_run[64];
    reports_cmp_row_t *rows;
    size_t n_rows;
    size_t n_regressed, n_improved, n_unchanged, n_not_comparable; /* sum = n_rows */
    size_t n_unmatched; /* of the not comparable: cells in one run only */
} reports_cmp_t;

/* Pairs the cells of two runs by (model, recipe, test, depth, threads) and
 * compares each pair. Pairs on different devices, kernels or weights are
 * "not comparable" with the reason. */
int reports_compare_runs(const reports_data_t *d, const char *base_run, const char *cand_run,
                         const reports_compare_opts_t *o, reports_cmp_t *out);
void reports_cmp_free(reports_cmp_t *c);
/* Recounts the n_* fields from the rows' verdicts (cells in one run only
 * are "not comparable" and also counted in n_unmatched). The writers print
 * the counts of the rows they print. */
void reports_cmp_tally(reports_cmp_t *c);
/* Markdown / JSON summaries for CI systems (stdout of `mobench compare`). */
void reports_cmp_write_md(const reports_cmp_t *c, const reports_compare_opts_t *o, FILE *f);
void reports_cmp_write_json(const reports_cmp_t *c, const reports_compare_opts_t *o, FILE *f);

/* ---- recommend --------------------------------------------------------------- */

typedef struct {
    char name[48];        /* "mid-android-8gb" */
    char label[96];       /* "Mid-range Android (8 GB)" */
    char platform[24];    /* "android", "ios", "any" */
    uint64_t ram_lo, ram_hi; /* RAM range of devices in the class */
    uint64_t ram;         /* RAM assumed for the budget */
    double budget_share;  /* share of RAM one app may use */
    char quoted_quant[64]; /* what the common guides recommend, for the comparison */
    char quoted_max_model[64];
} reports_class_t;

typedef enum { REPORTS_RANK_QUALITY, REPORTS_RANK_SPEED, REPORTS_RANK_SIZE } reports_rank_t;

typedef struct {
    char name[32];        /* chat|fast|quality|multilingual */
    char label[96];
    double min_tg;        /* tokens/s floor (0 = none) */
    double max_ttft_s;    /* seconds (0 = none) */
    int prompt;           /* prompt tokens behind the TTFT check */
    int context;          /* tokens of KV the budget must hold */
    double max_kld;       /* 0 = none */
    reports_rank_t rank;
    char models[256];     /* comma-separated name patterns (fnmatch); "" = all */
    char quoted[160];     /* the common guides' pick, for the comparison */
} reports_use_case_t;

typedef struct {
    char key[96];         /* "llama-3.2-1b@Q4_*" (fnmatch on model@recipe) or recipe name */
    double value;         /* bytes for memory, fraction for perplexity */
    char text[96];        /* as quoted, e.g. "~600MB" */
} reports_quoted_t;

typedef struct {
    reports_class_t *classes; size_t n_classes;
    reports_use_case_t *use_cases; size_t n_use_cases;
    reports_quoted_t *quoted_mem; size_t n_quoted_mem;
    reports_quoted_t *quoted_ppl; size_t n_quoted_ppl;
    reports_quoted_t *kv; size_t n_kv; /* model pattern -> F16 KV bytes per token */
    double scratch_share; /* runtime scratch on top of weights + KV, share of weights */
    char exclude[256];    /* model patterns never recommended (test models) */
} reports_classes_t;

/* The built-in data file (reports/classes.ini, embedded at build time). */
extern const char reports_classes_ini[];
/* Loads the built-in classes, then the user's file (NULL = none): a
 * [class NAME] there replaces or adds a class. Errors name file:line. */
int reports_classes_load(const char *user_file, reports_classes_t *out);
int reports_classes_parse(const char *text, const char *name, reports_classes_t *c);
void reports_classes_free(reports_classes_t *c);
const reports_class_t *reports_class_find(const reports_classes_t *c, const char *name);
const reports_use_case_t *reports_use_case_find(const reports_classes_t *c, const char *name);
/* The class a measured device belongs to (its class_name, else platform and RAM range). */
const reports_class_t *reports_class_of_device(const reports_classes_t *c, const reports_device_t *dev);

/* One model x recipe as measured on one device: the unit recommended. */
typedef struct {
    char model[64], recipe[32], weights[16];
    char device_id[64], device_name[128];
    uint64_t n_params;
    uint64_t model_bytes, kv_bytes_per_token, peak_rss;
    int rss_ctx;          /* context (prompt + gen + depth) at which peak_rss was taken */
    double tg_ts, pp_ts, ttft_s; /* NaN = not measured */
    double t;             /* start of the newest cell behind the figures */
    double kld, ppl_delta;
    char kld_ref[16];     /* what kld is measured against ("F32", "F16", "text"); "" = none */
    double text_ppl, text_ppl_err; /* real-text perplexity of the file; NaN = none */
    char text_corpus[13];
    int text_n_ctx;
    int pp_tokens;        /* prompt size behind pp_ts */
    int ttft_tokens;      /* prompt size behind ttft_s */
} reports_candidate_t;

/* Builds candidates from the ok cells of d (best figures of the latest run
 * per device x model x recipe). ttft is taken from pg cells, else derived
 * as prompt/pp_ts for the use case's prompt. */
int reports_candidates_build(const reports_data_t *d, reports_candidate_t **out, size_t *n);

typedef struct {
    const reports_candidate_t *c;
    uint64_t resident;    /* bytes needed for the use case's context */
    bool ok;
    char reason[160];     /* why rejected ("needs 2.3 GB > 2.0 GB budget") */
    char speed_basis[160]; /* "measured on class device X" / "not measured on this class: figures from X" */
    bool speed_on_class;  /* speed measured on a device of this class */
    double tg_ts, ttft_s; /* figures used for this class (see speed_basis) */
    bool ttft_derived;    /* prompt / prefill rate, no pg cell */
    char mem_basis[96];   /* how resident was computed */
} reports_pick_t;

typedef struct {
    const reports_class_t *cls;
    const reports_use_case_t *uc;
    uint64_t budget;
    int best;             /* index into picks, -1 = nothing fits */
    reports_pick_t *picks; size_t n_picks; /* ranked: accepted first, then rejected */
} reports_rec_t;

typedef struct {
    uint64_t ram_override;    /* --ram: replaces the class RAM (0 = class) */
    uint64_t budget_override; /* --budget bytes (0 = share of RAM) */
    double min_tg;            /* overrides the use case when >= 0 (NaN = use case) */
    double max_ttft_s;        /* same */
    int context;              /* 0 = use case */
} reports_rec_opts_t;

void reports_rec_opts_default(reports_rec_opts_t *o);
/* Ranks the candidates for one class and use case. Speed floors are
 * checked against devices of the class when any was measured, else the
 * figures of the measured devices, labelled "not measured on this class". */
int reports_recommend(const reports_classes_t *cl, const reports_class_t *cls,
                      const reports_use_case_t *uc, const reports_candidate_t *cands, size_t n,
                      const reports_device_t *devs, size_t n_devs, const reports_rec_opts_t *o,
                      reports_rec_t *out);
void reports_rec_free(reports_rec_t *r);
/* Resident bytes of a candidate at ctx tokens: weights + KV + scratch, or
 * the measured peak RSS when the KV size is unknown. */
uint64_t reports_candidate_resident(const reports_classes_t *cl, const reports_candidate_t *c, int ctx);

typedef enum { REPORTS_FMT_MD, REPORTS_FMT_HTML, REPORTS_FMT_JSON } reports_fmt_t;

/* The full recommendation output: per class x use case pick with reasons,
 * the two regenerated tables and the disagreements with quoted figures.
 * only_class / only_uc restrict (NULL = all). */
int reports_recommend_write(const reports_classes_t *cl, const reports_data_t *d,
                            const char *only_class, const char *only_uc,
                            const reports_rec_opts_t *o, reports_fmt_t fmt, FILE *f);

/* ---- report -------------------------------------------------------------------- */

typedef struct {
    const char *out_dir;
    const char *gnuplot;     /* program name/path, NULL = "gnuplot"; "" = do not run */
    const char *title;
    bool quiet;
} reports_report_opts_t;

typedef struct {
    int n_charts;            /* charts written as .gp + .dat */
    int n_rendered;          /* charts gnuplot rendered to PNG + SVG */
    bool gnuplot_missing;
    double write_s;          /* time spent writing (excluding gnuplot) */
    double gnuplot_s;
} reports_report_stats_t;

/* Writes out_dir/index.html, the .dat/.gp files and (if gnuplot runs)
 * PNG and SVG charts. */
int reports_report_write(const reports_data_t *d, const reports_classes_t *cl,
                         const reports_report_opts_t *o, reports_report_stats_t *st);

/* Output of a command: stdout (path NULL or "") or a file, written as
 * PATH.tmp and renamed over PATH on success, so a failed run leaves no
 * half-written file. */
typedef struct {
    FILE *f;
    char path[4096];
    char tmp[4104];
} reports_out_t;
int reports_out_open(reports_out_t *o, const char *path);
/* ok = false (the command failed): the temporary file is removed. */
int reports_out_close(reports_out_t *o, bool ok);

/* The inline CSS of every HTML page mobench writes (no external refs). */
const char *reports_css_text(void);
/* A short markdown table for the terminal: per model x recipe on the main
 * device (the one with the most cells), prefill and decode t/s, memory, KLD. */
int reports_summary_write(const reports_data_t *d, const reports_classes_t *cl, FILE *f);
/* HTML escaping to a stream. */
void reports_html_escape(FILE *f, const char *s);
/* Runs `prog script` with cwd = dir as a child process (no shell).
 * MB_ENOENT when the program is not installed. */
int reports_gnuplot_run(const char *prog, const char *dir, const char *script);

#endif /* REPORTS_H */
