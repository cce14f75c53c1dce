/* db_export.c: `mobench db export`: every table as JSON, or one as CSV.
 * Foreign keys are exported as uuids (local ids mean nothing elsewhere). */
#include "db_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One query per table; ?1 = run uuid or NULL for every run. */
static const char *const EXPORT_SQL[DB_N_TABLES] = {
    [DB_TABLE_DEVICES] =
        "SELECT d.uuid, d.fingerprint, d.label, d.first_seen, d.last_seen, d.probe_json, "
        "d.ceilings_json FROM devices d WHERE ?1 IS NULL OR d.id IN (SELECT device_id FROM "
        "runs WHERE uuid = ?1) ORDER BY d.first_seen, d.id",
    [DB_TABLE_RUNS] =
        "SELECT r.uuid, d.uuid AS device_uuid, d.fingerprint AS device_fingerprint, r.started, "
        "r.ended, r.mobench_version, r.mobench_commit, r.cmdline, r.status, r.kind, "
        "r.sweep_file FROM runs r JOIN devices d ON d.id = r.device_id WHERE ?1 IS NULL OR "
        "r.uuid = ?1 ORDER BY r.started, r.id",
    [DB_TABLE_CELLS] =
        "SELECT c.uuid, r.uuid AS run_uuid, d.fingerprint AS device_fingerprint, c.model, "
        "c.model_params, c.weights, c.weights_sha256, c.recipe, c.model_size, c.test, "
        "c.n_prompt, c.n_gen, c.n_depth, c.n_threads, c.kernel, c.status, c.reason, c.n, "
        "c.mean_ts, c.median_ts, c.stddev_ts, c.min_ts, c.max_ts, c.cv, c.ci95_ts, c.ttft_ms, "
        "c.peak_rss, c.roofline_pct, c.throttled_reps, c.stop_reason, c.cpu_mask, c.cpu_strict, "
        "c.cluster, c.cpus_ran, c.started, c.ended, "
        "r.mobench_version, r.mobench_commit FROM cells c JOIN runs r ON r.id = c.run_id "
        "JOIN devices d ON d.id = r.device_id WHERE ?1 IS NULL OR r.uuid = ?1 "
        "ORDER BY r.started, r.id, c.started, c.id",
    [DB_TABLE_REPS] =
        "SELECT c.uuid AS cell_uuid, p.idx, p.wall_ns, p.tokens_per_s, p.ttft_ms, "
        "p.lat_p50_ms, p.lat_p90_ms, p.lat_p99_ms, p.temp_min, p.temp_mean, p.temp_max, "
        "p.freq_min, p.freq_mean, p.freq_max, p.energy_j, p.throttled, p.read_gbs FROM reps p "
        "JOIN cells c ON c.id = p.cell_id JOIN runs r ON r.id = c.run_id "
        "WHERE ?1 IS NULL OR r.uuid = ?1 ORDER BY r.started, r.id, c.started, c.id, p.idx",
    [DB_TABLE_SAMPLES] =
        "SELECT r.uuid AS run_uuid, c.uuid AS cell_uuid, s.t, s.kind, s.sensor, s.value "
        "FROM samples s JOIN runs r ON r.id = s.run_id LEFT JOIN cells c ON c.id = s.cell_id "
        "WHERE ?1 IS NULL OR r.uuid = ?1 ORDER BY r.started, r.id, s.t, s.id",
    [DB_TABLE_QUALITY] =
        "SELECT q.uuid, r.uuid AS run_uuid, q.model, q.recipe, q.ref_recipe, q.weights, "
        "q.mean_kld, q.p99_kld, q.top1_agree, q.ppl_ratio, q.n_tokens, q.created, "
        "q.corpus_sha256, q.corpus_bytes, q.corpus_tokens, q.n_ctx, q.n_chunks, q.model_sha256, "
        "q.base_sha256, q.ppl, q.ppl_err, q.ppl_base, q.kld_err, q.kld_median, q.kld_p95, "
        "q.kld_max FROM quality q JOIN runs r ON r.id = q.run_id WHERE ?1 IS NULL OR r.uuid = ?1 "
        "ORDER BY r.started, r.id, q.created, q.id",
};

/* Shortest "%.Ng" that reads back to the same double. */
static void fmt_real(char *buf, size_t len, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static bool is_json_column(const char *name)
{
    return !strcmp(name, "probe_json") || !strcmp(name, "ceilings_json");
}

static int export_table(db_t *db, FILE *f, db_format_t fmt, db_table_t t, const char *run,
                        mb_json_t *j)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->h, EXPORT_SQL[t], -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(db, rc, "preparing the export");
    db_bind_text(st, 1, run);
    int ncol = sqlite3_column_count(st);
    if (fmt == DB_FMT_CSV) {
        for (int i = 0; i < ncol; i++) {
            if (i)
                fputc(',', f);
            csv_field(f, sqlite3_column_name(st, i));
        }
        fputc('\n', f);
    } else {
        mb_json_key(j, db_table_name(t));
        mb_json_arr_begin(j);
    }
    char num[40];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (fmt == DB_FMT_JSON)
            mb_json_obj_begin(j);
        for (int i = 0; i < ncol; i++) {
            const char *name = sqlite3_column_name(st, i);
            int type = sqlite3_column_type(st, i);
            if (fmt == DB_FMT_CSV) {
                if (i)
                    fputc(',', f);
                if (type == SQLITE_INTEGER)
                    fprintf(f, "%" PRId64, (int64_t)sqlite3_column_int64(st, i));
                else if (type == SQLITE_FLOAT) {
                    fmt_real(num, sizeof num, sqlite3_column_double(st, i));
                    fputs(num, f);
                } else if (type != SQLITE_NULL)
                    csv_field(f, db_col_text(st, i));
                continue;
            }
            mb_json_key(j, name);
            if (type == SQLITE_INTEGER) {
                mb_json_int(j, sqlite3_column_int64(st, i));
            } else if (type == SQLITE_FLOAT) {
                mb_json_num(j, sqlite3_column_double(st, i));
            } else if (type == SQLITE_NULL) {
                mb_json_null(j);
            } else {
                const char *s = db_col_text(st, i);
                mb_jv_t *v = NULL;
                /* Embedded documents stay JSON when they are valid JSON. */
                if (is_json_column(name) && mb_jv_parse(s, strlen(s), &v) == 0) {
                    mb_json_raw(j, s);
                } else {
                    mb_json_str(j, s);
                    mb_err_clear(); /* drop the parse message: not an error here */
                }
                mb_jv_free(v);
            }
        }
        if (fmt == DB_FMT_CSV)
            fputc('\n', f);
        else
            mb_json_obj_end(j);
    }
    int err = rc == SQLITE_DONE ? 0 : db_fail(db, rc, "exporting");
    sqlite3_finalize(st);
    if (fmt == DB_FMT_JSON)
        mb_json_arr_end(j);
    return err;
}

int db_export(db_t *db, FILE *f, db_format_t fmt, db_table_t csv_table, const char *run)
{
    if ((unsigned)fmt > DB_FMT_JSON || (unsigned)csv_table >= DB_N_TABLES)
        return mb_err_set(MB_EINVAL, "bad export format or table");
    char uuid[DB_UUID_LEN];
    int err;
    if (run && (err = db_run_resolve(db, run, uuid)))
        return err;
    /* One read transaction: a consistent snapshot even while a sweep writes. */
    bool own_txn = sqlite3_get_autocommit(db->h);
    int rc = own_txn ? sqlite3_exec(db->h, "BEGIN", NULL, NULL, NULL) : SQLITE_OK;
    if (rc != SQLITE_OK)
        return db_fail(db, rc, "starting the export");
    if (fmt == DB_FMT_CSV) {
        err = export_table(db, f, fmt, csv_table, run ? uuid : NULL, NULL);
    } else {
        mb_json_t j;
        mb_json_init(&j, f, true);
        mb_json_obj_begin(&j);
        mb_json_key(&j, "format");
        mb_json_str(&j, "mobench-db-export");
        mb_json_key(&j, "schema_version");
        mb_json_int(&j, DB_SCHEMA_VERSION);
        mb_json_key(&j, "mobench_version");
        mb_json_str(&j, mb_version());
        mb_json_key(&j, "run");
        mb_json_str(&j, run ? uuid : NULL);
        err = 0;
        for (int t = 0; t < DB_N_TABLES && !err; t++)
            err = export_table(db, f, fmt, (db_table_t)t, run ? uuid : NULL, &j);
        mb_json_obj_end(&j);
        fputc('\n', f);
    }
    if (own_txn)
        sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
    if (!err && (fflush(f) != 0 || ferror(f)))
        err = mb_err_set(MB_EIO, "writing the export of %s failed (disk full or closed "
                         "pipe?)", db->path);
    return err;
}
