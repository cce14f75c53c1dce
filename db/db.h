/*
 * db.h: the mobench store (SQLite). The only public header of mb_db and the
 * only module that talks to SQLite; everything else sees an opaque handle and
 * plain record structs. Schema, migrations and guarantees: docs/DB.md.
 *
 * Conventions
 * - Functions return 0 or a negative MB_E* code with a message in mb_err_msg()
 *   that names the database file. Codes that matter to callers:
 *     MB_EBUSY     another connection held the write lock longer than the busy
 *                  timeout (default 5 s)
 *     MB_ENOSPC    disk (or page limit) full; the failed transaction is rolled
 *                  back, earlier rows are intact
 *     MB_EPERM     read-only file or directory
 *     MB_EFORMAT   not a SQLite file, corrupt, or not a mobench database
 *     MB_EVERSION  written by a newer mobench (schema version above ours)
 *     MB_ENOENT    no such file / run / cell
 * - Rows are identified across databases by uuids (v4, 36 chars). Local
 *   integer ids exist inside one file only and are never exported.
 * - Times are wall-clock seconds since the epoch (mb_clock_wall()).
 * - Unknown numbers: NAN for doubles and -1 for int64 byte counts; both are
 *   stored as SQL NULL and read back the same way.
 * - Writer records: the caller owns every string; NULL means "not known".
 *   Reader records handed to a callback are valid until the callback
 *   returns (copy what you keep); the *_get() arrays own their strings until
 *   the matching *_free().
 */
#ifndef DB_H
#define DB_H

#include "mb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DB_SCHEMA_VERSION 5      /* PRAGMA user_version written by this build */
#define DB_UUID_LEN 37           /* 36 chars + NUL */
#define DB_DEFAULT_PATH "./mobench.db"
#define DB_BUSY_TIMEOUT_MS 5000

typedef struct db db_t;

/* ---- enums (stored as their names, e.g. 'done', 'oom') ------------------- */
typedef enum { DB_RUN_RUNNING, DB_RUN_DONE, DB_RUN_INTERRUPTED, DB_RUN_FAILED } db_run_status_t;
typedef enum { DB_KIND_BENCH, DB_KIND_SWEEP } db_run_kind_t;
typedef enum {
    DB_CELL_OK, DB_CELL_SKIPPED, DB_CELL_FAILED, DB_CELL_OOM, DB_CELL_TIMEOUT, DB_CELL_INTERRUPTED
} db_cell_status_t;
typedef enum { DB_TEST_PP, DB_TEST_TG, DB_TEST_PG, DB_TEST_DEPTH } db_test_t;
typedef enum { DB_WEIGHTS_SYNTHETIC, DB_WEIGHTS_FILE } db_weights_t;

/* Cell status masks for db_filter_t.status_mask. "Finished" is every status
 * but interrupted: what `sweep --resume` skips. */
#define DB_CELL_MASK(s) (1u << (s))
#define DB_CELL_FINISHED (0x3Fu & ~DB_CELL_MASK(DB_CELL_INTERRUPTED))

/* Name <-> value ("running", "bench", "oom", "pg", "synthetic"). The parse
 * functions return MB_EINVAL with the list of valid names. */
const char *db_run_status_name(db_run_status_t s);
const char *db_run_kind_name(db_run_kind_t k);
const char *db_cell_status_name(db_cell_status_t s);
const char *db_test_name(db_test_t t);
const char *db_weights_name(db_weights_t w);
int db_run_status_parse(const char *s, db_run_status_t *out);
int db_cell_status_parse(const char *s, db_cell_status_t *out);
int db_test_parse(const char *s, db_test_t *out);

/* ---- records ----------------------------------------------------------- */
typedef struct {
    char uuid[DB_UUID_LEN];   /* out of upsert; in readers */
    const char *fingerprint;  /* stable device id from probes (required) */
    const char *label;        /* human name, e.g. "Ryzen 9 9950X / lab-3" */
    const char *probe_json;   /* `mobench probe --json` document (valid JSON or NULL) */
    const char *ceilings_json; /* measured ceilings (valid JSON or NULL) */
    double first_seen, last_seen; /* readers only */
} db_device_t;

typedef struct {
    char uuid[DB_UUID_LEN];        /* "" on begin: a new uuid is written back */
    char device_uuid[DB_UUID_LEN]; /* required on begin (from db_device_upsert) */
    double started;                /* 0 on begin: now */
    double ended;                  /* NAN while running */
    const char *version;           /* NULL on begin: mb_version() */
    const char *commit;            /* NULL on begin: mb_build_commit() */
    const char *cmdline;
    db_run_status_t status;        /* begin always writes RUNNING */
    db_run_kind_t kind;
    const char *sweep_file;
    /* readers only */
    const char *device_fingerprint;
    const char *device_label;
    int64_t n_cells;
} db_run_t;

typedef struct {
    char uuid[DB_UUID_LEN];     /* "" on commit: a new uuid is written back */
    char run_uuid[DB_UUID_LEN]; /* required */
    const char *model;          /* catalog name or GGUF path (required) */
    int64_t model_params;       /* -1 unknown */
    db_weights_t weights;
    const char *weights_sha256;
    const char *recipe;         /* quant recipe, e.g. "Q4_K_M" (required) */
    int64_t model_size;         /* bytes, -1 unknown */
    db_test_t test;
    int n_prompt, n_gen, n_depth, n_threads;
    const char *kernel;         /* dispatched kernel variant */
    db_cell_status_t status;
    const char *reason;         /* why skipped/failed/...; NULL when ok */
    /* statistics over reps, tokens/s (NAN when n == 0) */
    int n;
    double mean_ts, median_ts, stddev_ts, min_ts, max_ts, cv, ci95_ts;
    double ttft_ms;
    int64_t peak_rss;           /* bytes, -1 unknown */
    double roofline_pct;
    int throttled_reps;
    const char *stop_reason;    /* adaptive reps: "reps", "cv-target", "max-reps", ... */
    const char *cpu_mask;       /* pinning mask, "0x3"; NULL on commit = "0x0" (not pinned) */
    bool cpu_strict;            /* thread i on the i-th CPU of the mask */
    const char *cluster;        /* "big", "little", ... when the mask came from --cluster; NULL */
    const char *cpus_ran;       /* "t0:0 t1:1": CPUs each thread was seen on; NULL unknown */
    double started, ended;      /* 0 on commit: ended = now, started = ended */
    /* readers only */
    char device_uuid[DB_UUID_LEN];
    double run_started;
} db_cell_t;

typedef struct {
    int index;                  /* 0-based within the cell */
    int64_t wall_ns;
    double tokens_per_s;
    double ttft_ms;
    double lat_p50_ms, lat_p90_ms, lat_p99_ms; /* per-token decode latency */
    double temp_min, temp_mean, temp_max;      /* degrees C, NAN = no sensor */
    double freq_min, freq_mean, freq_max;      /* MHz, NAN = no sensor */
    double energy_j;                           /* NAN = no counter */
    bool throttled;
    double read_gbs; /* read bandwidth measured just before the rep (paired roofline); NAN = none */
} db_rep_t;

typedef struct {
    double t;          /* wall-clock seconds */
    char kind[16];     /* "temp", "freq", "power", "tps", "cooldown", ... */
    char sensor[48];   /* "thermal_zone0", "cpu3", "window", ... */
    double value;
} db_sample_t;

typedef struct {
    char uuid[DB_UUID_LEN];     /* "" on commit: a new uuid is written back */
    char run_uuid[DB_UUID_LEN]; /* required */
    const char *model, *recipe, *ref_recipe;
    db_weights_t weights;
    double mean_kld, p99_kld, top1_agree, ppl_ratio;
    int64_t n_tokens;
    double created;             /* 0 on commit: now */
    /* Real-text perplexity (mobench quality --text, docs/QUALITY.md). Only
     * when corpus_sha256 is set; otherwise these are stored as NULL (read
     * back: NULL strings, 0 counts, NAN figures). */
    const char *corpus_sha256;
    int64_t corpus_bytes, corpus_tokens;
    int n_ctx, n_chunks;
    const char *model_sha256, *base_sha256; /* base NULL: no KLD */
    double ppl, ppl_err, ppl_base, kld_err, kld_median, kld_p95, kld_max;
} db_quality_t;

/* ---- open / close ------------------------------------------------------ */
enum {
    DB_OPEN_READONLY = 1 << 0, /* never writes; an older schema is MB_EVERSION */
    DB_OPEN_NOCREATE = 1 << 1, /* a missing file is MB_ENOENT instead of a new DB */
};

/* The default path: $MOBENCH_DB if set and non-empty, else "./mobench.db". */
const char *db_default_path(void);
/* Opens (creating unless NOCREATE) and migrates to DB_SCHEMA_VERSION in one
 * transaction. WAL, foreign keys, synchronous=FULL, busy timeout 5 s. */
int db_open(const char *path, unsigned flags, db_t **out);
void db_close(db_t *db);
const char *db_path(const db_t *db);
/* Wait up to ms for another writer's lock before MB_EBUSY (0 = fail at once). */
int db_busy_timeout_set(db_t *db, int ms);
/* Runs maintenance SQL (pragmas, explicit BEGIN/COMMIT in tests). Not for data. */
int db_exec(db_t *db, const char *sql);
/* The schema this build creates (the text of db/schema.sql). */
const char *db_schema_sql(void);
/* A fresh random (v4) uuid. */
int db_uuid_new(char out[DB_UUID_LEN]);
/* "2026-11-26", "2026-11-26T08:00[:00]" (UTC) or epoch seconds -> seconds. */
int db_time_parse(const char *s, double *out);

/* ---- writers (bench runner) --------------------------------------------- */
/* Inserts the device or, when its fingerprint is known, updates last_seen
 * and the JSON documents given (non-NULL). Writes d->uuid. */
int db_device_upsert(db_t *db, db_device_t *d);
/* Inserts a run with status running. Writes run->uuid (if empty) and started. */
int db_run_begin(db_t *db, db_run_t *run);
/* Sets the status; a final status (done/interrupted/failed) also sets ended
 * to now, RUNNING clears it (resume). */
int db_run_status_set(db_t *db, const char *run_uuid, db_run_status_t status);
/* Commits a finished cell with its reps and sensor samples in ONE
 * transaction: all of it is stored or nothing is. Writes cell->uuid. */
int db_cell_commit(db_t *db, db_cell_t *cell, const db_rep_t *reps, size_t n_reps,
                   const db_sample_t *samples, size_t n_samples);
/* Run-level sensor samples (cooldown waits, sustained windows), one transaction. */
int db_run_samples_add(db_t *db, const char *run_uuid, const db_sample_t *s, size_t n);
int db_quality_commit(db_t *db, db_quality_t *q);

/* ---- readers (reports, compare, resume) -------------------------------- */
typedef struct {
    const char *run;      /* anything db_run_resolve() accepts; NULL = all runs */
    const char *device;   /* device uuid or fingerprint, or a unique prefix; NULL = all */
    double since;         /* runs started at or after; 0 = no limit */
    unsigned status_mask; /* cells: DB_CELL_MASK bits; 0 = any status */
} db_filter_t;

/* A callback returns 0 to go on; anything else stops the iteration and is
 * returned by the *_each function. */
typedef int (*db_device_cb)(void *ctx, const db_device_t *d);
typedef int (*db_run_cb)(void *ctx, const db_run_t *r);
typedef int (*db_cell_cb)(void *ctx, const db_cell_t *c);
typedef int (*db_quality_cb)(void *ctx, const db_quality_t *q);

/* Resolves a run: a full uuid, a unique uuid prefix (>= 4 chars), "latest"
 * (most recently started), or "previous" (the run before latest on the same
 * device). MB_ENOENT when nothing matches, MB_EINVAL when a prefix is ambiguous. */
int db_run_resolve(db_t *db, const char *spec, char uuid[DB_UUID_LEN]);
/* Devices by first_seen; runs by started; cells by run start, then cell start. */
int db_devices_each(db_t *db, const db_filter_t *f, db_device_cb cb, void *ctx);
int db_runs_each(db_t *db, const db_filter_t *f, db_run_cb cb, void *ctx);
int db_cells_each(db_t *db, const db_filter_t *f, db_cell_cb cb, void *ctx);
int db_quality_each(db_t *db, const db_filter_t *f, db_quality_cb cb, void *ctx);
/* The same as owned arrays (strings copied); free with the matching *_free. */
int db_runs_get(db_t *db, const db_filter_t *f, db_run_t **out, size_t *n);
void db_runs_free(db_run_t *runs, size_t n);
int db_cells_get(db_t *db, const db_filter_t *f, db_cell_t **out, size_t *n);
void db_cells_free(db_cell_t *cells, size_t n);
int db_quality_get(db_t *db, const db_filter_t *f, db_quality_t **out, size_t *n);
void db_quality_free(db_quality_t *q, size_t n);
/* Reps of a cell by index; free(*out). */
int db_reps_get(db_t *db, const char *cell_uuid, db_rep_t **out, size_t *n);
/* Sensor series by time; free(*out). For a cell uuid: that cell's samples.
 * For a run uuid: every sample of the run (its cells' and its own). */
int db_samples_get(db_t *db, const char *uuid, db_sample_t **out, size_t *n);

/* ---- maintenance (`mobench db`) ------------------------------------------ */
typedef struct {
    int64_t devices, runs, cells, reps, samples, quality;
} db_counts_t;

typedef struct {
    bool ok;                  /* integrity, foreign keys, version and schema all ok */
    char integrity[512];      /* "ok" or the first problems integrity_check found */
    int64_t fk_violations;    /* rows failing PRAGMA foreign_key_check */
    int schema_version;
    bool schema_ok;           /* tables, columns and indices as this build creates them */
    char schema_diff[256];    /* the first difference when !schema_ok */
    db_counts_t counts;
} db_check_t;

int db_check(db_t *db, db_check_t *out);
int db_counts(db_t *db, db_counts_t *out);

typedef enum { DB_FMT_CSV, DB_FMT_JSON } db_format_t;
typedef enum {
    DB_TABLE_DEVICES, DB_TABLE_RUNS, DB_TABLE_CELLS, DB_TABLE_REPS, DB_TABLE_SAMPLES,
    DB_TABLE_QUALITY
} db_table_t;
#define DB_N_TABLES 6
const char *db_table_name(db_table_t t);
int db_table_parse(const char *s, db_table_t *out);

/* JSON: one object {"schema_version", "devices": [...], "runs": [...], ...}
 * with every table. CSV: one table (header row + one row per record).
 * run != NULL (any db_run_resolve() spec) limits the rows to that run. */
int db_export(db_t *db, FILE *f, db_format_t fmt, db_table_t csv_table, const char *run);

/* Merges another mobench database into db, idempotently: rows whose uuid is
 * already present are skipped (devices also match by fingerprint), so merging
 * the same file twice adds nothing. One transaction. `added` may be NULL. */
int db_merge(db_t *db, const char *other_path, db_counts_t *added);

#endif /* DB_H */
