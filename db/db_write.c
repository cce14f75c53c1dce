/* db_write.c: the writer side (bench runner): devices, runs, cells, quality. */
#include "db_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int check_json(const char *path, const char *what, const char *json)
{
    if (!json)
        return 0;
    mb_jv_t *v = NULL;
    int err = mb_jv_parse(json, strlen(json), &v);
    mb_jv_free(v);
    if (err)
        return mb_err_set(MB_EINVAL, "device %s for database %s is not valid JSON (%s): "
                          "pass the document written by the probe", what, path, mb_err_msg());
    return 0;
}

static int step_done(db_t *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        int err = db_fail(db, rc, what);
        sqlite3_reset(st);
        return err;
    }
    sqlite3_reset(st);
    return 0;
}

/* ---- devices ------------------------------------------------------------------ */
static const char SQL_DEV_UPDATE[] =
    "UPDATE devices SET last_seen = max(last_seen, ?2), label = coalesce(?3, label), "
    "probe_json = coalesce(?4, probe_json), ceilings_json = coalesce(?5, ceilings_json) "
    "WHERE fingerprint = ?1 RETURNING uuid";
static const char SQL_DEV_INSERT[] =
    "INSERT INTO devices(uuid, fingerprint, label, probe_json, ceilings_json, first_seen, "
    "last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)";

int db_device_upsert(db_t *db, db_device_t *d)
{
    if (!d->fingerprint || !*d->fingerprint)
        return mb_err_set(MB_EINVAL, "device for database %s has no fingerprint: take it "
                          "from the probe", db->path);
    int err;
    if ((err = check_json(db->path, "probe", d->probe_json)) ||
        (err = check_json(db->path, "ceilings", d->ceilings_json)))
        return err;
    double now = mb_clock_wall();
    if ((err = db_begin(db, "recording the device")))
        return err;
    sqlite3_stmt *st;
    if ((err = db_stmt(db, SQL_DEV_UPDATE, &st)))
        goto err;
    sqlite3_bind_text(st, 1, d->fingerprint, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 2, now);
    db_bind_text(st, 3, d->label);
    db_bind_text(st, 4, d->probe_json);
    db_bind_text(st, 5, d->ceilings_json);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        db_col_uuid(st, 0, d->uuid);
        sqlite3_reset(st);
    } else if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        if ((err = db_uuid_new(d->uuid)) || (err = db_stmt(db, SQL_DEV_INSERT, &st)))
            goto err;
        sqlite3_bind_text(st, 1, d->uuid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, d->fingerprint, -1, SQLITE_TRANSIENT);
        db_bind_text(st, 3, d->label);
        db_bind_text(st, 4, d->probe_json);
        db_bind_text(st, 5, d->ceilings_json);
        sqlite3_bind_double(st, 6, now);
        if ((err = step_done(db, st, "recording the device")))
            goto err;
    } else {
        err = db_fail(db, rc, "recording the device");
        goto err;
    }
    return db_commit(db, "recording the device");
err:
    db_rollback(db);
    return err;
}

/* ---- runs ---------------------------------------------------------------------- */
static const char SQL_RUN_INSERT[] =
    "INSERT INTO runs(uuid, device_id, started, ended, mobench_version, mobench_commit, "
    "cmdline, status, kind, sweep_file) "
    "SELECT ?1, id, ?2, NULL, ?3, ?4, ?5, 'running', ?6, ?7 FROM devices WHERE uuid = ?8";

int db_run_begin(db_t *db, db_run_t *run)
{
    if (!run->device_uuid[0])
        return mb_err_set(MB_EINVAL, "run for database %s has no device: call "
                          "db_device_upsert() first", db->path);
    if ((unsigned)run->kind > DB_KIND_SWEEP)
        return mb_err_set(MB_EINVAL, "run kind %d out of range", (int)run->kind);
    int err;
    if (!run->uuid[0] && (err = db_uuid_new(run->uuid)))
        return err;
    if (run->started <= 0)
        run->started = mb_clock_wall();
    run->ended = NAN;
    run->status = DB_RUN_RUNNING;
    sqlite3_stmt *st;
    if ((err = db_stmt(db, SQL_RUN_INSERT, &st)))
        return err;
    sqlite3_bind_text(st, 1, run->uuid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 2, run->started);
    sqlite3_bind_text(st, 3, run->version ? run->version : mb_version(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, run->commit ? run->commit : mb_build_commit(), -1,
                      SQLITE_TRANSIENT);
    db_bind_text(st, 5, run->cmdline);
    sqlite3_bind_text(st, 6, db_run_kind_name(run->kind), -1, SQLITE_STATIC);
    db_bind_text(st, 7, run->sweep_file);
    sqlite3_bind_text(st, 8, run->device_uuid, -1, SQLITE_TRANSIENT);
    if ((err = step_done(db, st, "starting the run")))
        return err;
    if (sqlite3_changes(db->h) == 0)
        return mb_err_set(MB_ENOENT, "no device %s in database %s: call db_device_upsert() "
                          "first", run->device_uuid, db->path);
    return 0;
}

static const char SQL_RUN_STATUS[] =
    "UPDATE runs SET status = ?2, ended = CASE WHEN ?2 = 'running' THEN NULL ELSE ?3 END "
    "WHERE uuid = ?1";

int db_run_status_set(db_t *db, const char *run_uuid, db_run_status_t status)
{
    if (!run_uuid || (unsigned)status > DB_RUN_FAILED)
        return mb_err_set(MB_EINVAL, "bad run or status for database %s", db->path);
    sqlite3_stmt *st;
    int err = db_stmt(db, SQL_RUN_STATUS, &st);
    if (err)
        return err;
    sqlite3_bind_text(st, 1, run_uuid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, db_run_status_name(status), -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, mb_clock_wall());
    if ((err = step_done(db, st, "updating the run status")))
        return err;
    if (sqlite3_changes(db->h) == 0)
        return mb_err_set(MB_ENOENT, "no run %s in database %s", run_uuid, db->path);
    return 0;
}

/* ---- cells --------------------------------------------------------------------- */
static const char SQL_RUN_ID[] = "SELECT id FROM runs WHERE uuid = ?1";
static const char SQL_CELL_INSERT[] =
    "INSERT INTO cells(uuid, run_id, model, model_params, weights, weights_sha256, recipe, "
    "model_size, test, n_prompt, n_gen, n_depth, n_threads, kernel, status, reason, n, "
    "mean_ts, median_ts, stddev_ts, min_ts, max_ts, cv, ci95_ts, ttft_ms, peak_rss, started, "
    "ended, roofline_pct, throttled_reps, stop_reason, cpu_mask, cpu_strict, cluster, cpus_ran) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
    "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, "
    "?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35)";
static const char SQL_REP_INSERT[] =
    "INSERT INTO reps(cell_id, idx, wall_ns, tokens_per_s, ttft_ms, lat_p50_ms, lat_p90_ms, "
    "lat_p99_ms, temp_min, temp_mean, temp_max, freq_min, freq_mean, freq_max, energy_j, "
    "throttled, read_gbs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
    "?15, ?16, ?17)";
static const char SQL_SAMPLE_INSERT[] =
    "INSERT INTO samples(run_id, cell_id, t, kind, sensor, value) VALUES (?1, ?2, ?3, ?4, ?5, "
    "?6)";

static int run_id(db_t *db, const char *uuid, int64_t *out)
{
    sqlite3_stmt *st;
    int err = db_stmt(db, SQL_RUN_ID, &st);
    if (err)
        return err;
    sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return 0;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return mb_err_set(MB_ENOENT, "no run %s in database %s: call db_run_begin() first",
                          uuid, db->path);
    return db_fail(db, rc, "finding the run");
}

static int insert_samples(db_t *db, int64_t rid, int64_t cid, const db_sample_t *s, size_t n,
                          const char *what)
{
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *st;
        int err = db_stmt(db, SQL_SAMPLE_INSERT, &st);
        if (err)
            return err;
        sqlite3_bind_int64(st, 1, rid);
        if (cid > 0)
            sqlite3_bind_int64(st, 2, cid);
        sqlite3_bind_double(st, 3, s[i].t);
        sqlite3_bind_text(st, 4, s[i].kind, (int)strnlen(s[i].kind, sizeof s[i].kind),
                          SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, s[i].sensor, (int)strnlen(s[i].sensor, sizeof s[i].sensor),
                          SQLITE_TRANSIENT);
        db_bind_real(st, 6, s[i].value);
        if ((err = step_done(db, st, what)))
            return err;
    }
    return 0;
}

static int cell_validate(db_t *db, const db_cell_t *c)
{
    if (!c->run_uuid[0] || !c->model || !c->recipe)
        return mb_err_set(MB_EINVAL, "cell for database %s lacks its run, model or recipe",
                          db->path);
    if ((unsigned)c->weights > DB_WEIGHTS_FILE || (unsigned)c->test > DB_TEST_DEPTH ||
        (unsigned)c->status > DB_CELL_INTERRUPTED)
        return mb_err_set(MB_EINVAL, "cell %s/%s for database %s has an out-of-range "
                          "weights, test or status value", c->model, c->recipe, db->path);
    if (c->n < 0 || c->n_prompt < 0 || c->n_gen < 0 || c->n_depth < 0 || c->n_threads < 0)
        return mb_err_set(MB_EINVAL, "cell %s/%s for database %s has a negative count",
                          c->model, c->recipe, db->path);
    return 0;
}

int db_cell_commit(db_t *db, db_cell_t *c, const db_rep_t *reps, size_t n_reps,
                   const db_sample_t *samples, size_t n_samples)
{
    int err = cell_validate(db, c);
    if (err)
        return err;
    if ((n_reps && !reps) || (n_samples && !samples))
        return mb_err_set(MB_EINVAL, "cell %s/%s: reps or samples counted but not given",
                          c->model, c->recipe);
    if (!c->uuid[0] && (err = db_uuid_new(c->uuid)))
        return err;
    if (c->ended <= 0)
        c->ended = mb_clock_wall();
    if (c->started <= 0)
        c->started = c->ended;
    char what[160];
    snprintf(what, sizeof what, "storing cell %s %s %s", c->model, c->recipe,
             db_test_name(c->test));

    if ((err = db_begin(db, what)))
        return err;
    db_fault_cell_begin();
    int64_t rid = 0;
    if ((err = run_id(db, c->run_uuid, &rid)))
        goto err;
    sqlite3_stmt *st;
    if ((err = db_stmt(db, SQL_CELL_INSERT, &st)))
        goto err;
    sqlite3_bind_text(st, 1, c->uuid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, rid);
    sqlite3_bind_text(st, 3, c->model, -1, SQLITE_TRANSIENT);
    db_bind_size(st, 4, c->model_params);
    sqlite3_bind_text(st, 5, db_weights_name(c->weights), -1, SQLITE_STATIC);
    db_bind_text(st, 6, c->weights_sha256);
    sqlite3_bind_text(st, 7, c->recipe, -1, SQLITE_TRANSIENT);
    db_bind_size(st, 8, c->model_size);
    sqlite3_bind_text(st, 9, db_test_name(c->test), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 10, c->n_prompt);
    sqlite3_bind_int(st, 11, c->n_gen);
    sqlite3_bind_int(st, 12, c->n_depth);
    sqlite3_bind_int(st, 13, c->n_threads);
    db_bind_text(st, 14, c->kernel);
    sqlite3_bind_text(st, 15, db_cell_status_name(c->status), -1, SQLITE_STATIC);
    db_bind_text(st, 16, c->reason);
    sqlite3_bind_int(st, 17, c->n);
    db_bind_real(st, 18, c->mean_ts);
    db_bind_real(st, 19, c->median_ts);
    db_bind_real(st, 20, c->stddev_ts);
    db_bind_real(st, 21, c->min_ts);
    db_bind_real(st, 22, c->max_ts);
    db_bind_real(st, 23, c->cv);
    db_bind_real(st, 24, c->ci95_ts);
    db_bind_real(st, 25, c->ttft_ms);
    db_bind_size(st, 26, c->peak_rss);
    sqlite3_bind_double(st, 27, c->started);
    sqlite3_bind_double(st, 28, c->ended);
    db_bind_real(st, 29, c->roofline_pct);
    sqlite3_bind_int(st, 30, c->throttled_reps);
    db_bind_text(st, 31, c->stop_reason);
    sqlite3_bind_text(st, 32, c->cpu_mask && *c->cpu_mask ? c->cpu_mask : "0x0", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 33, c->cpu_strict);
    db_bind_text(st, 34, c->cluster && *c->cluster ? c->cluster : NULL);
    db_bind_text(st, 35, c->cpus_ran && *c->cpus_ran ? c->cpus_ran : NULL);
    if ((err = step_done(db, st, what)))
        goto err;
    int64_t cid = sqlite3_last_insert_rowid(db->h);

    for (size_t i = 0; i < n_reps; i++) {
        const db_rep_t *r = &reps[i];
        if ((err = db_stmt(db, SQL_REP_INSERT, &st)))
            goto err;
        sqlite3_bind_int64(st, 1, cid);
        sqlite3_bind_int(st, 2, r->index);
        sqlite3_bind_int64(st, 3, r->wall_ns);
        db_bind_real(st, 4, r->tokens_per_s);
        db_bind_real(st, 5, r->ttft_ms);
        db_bind_real(st, 6, r->lat_p50_ms);
        db_bind_real(st, 7, r->lat_p90_ms);
        db_bind_real(st, 8, r->lat_p99_ms);
        db_bind_real(st, 9, r->temp_min);
        db_bind_real(st, 10, r->temp_mean);
        db_bind_real(st, 11, r->temp_max);
        db_bind_real(st, 12, r->freq_min);
        db_bind_real(st, 13, r->freq_mean);
        db_bind_real(st, 14, r->freq_max);
        db_bind_real(st, 15, r->energy_j);
        sqlite3_bind_int(st, 16, r->throttled ? 1 : 0);
        db_bind_real(st, 17, r->read_gbs);
        if ((err = step_done(db, st, what)))
            goto err;
    }
    if ((err = insert_samples(db, rid, cid, samples, n_samples, what)))
        goto err;
    return db_commit(db, what);
err:
    db_rollback(db);
    return err;
}

int db_run_samples_add(db_t *db, const char *run_uuid, const db_sample_t *s, size_t n)
{
    if (!run_uuid || (n && !s))
        return mb_err_set(MB_EINVAL, "run samples for database %s: no run or no samples",
                          db->path);
    int err = db_begin(db, "storing run samples");
    if (err)
        return err;
    int64_t rid = 0;
    if ((err = run_id(db, run_uuid, &rid)) ||
        (err = insert_samples(db, rid, 0, s, n, "storing run samples")))
        goto err;
    return db_commit(db, "storing run samples");
err:
    db_rollback(db);
    return err;
}

/* ---- quality -------------------------------------------------------------------- */
static const char SQL_QUALITY_INSERT[] =
    "INSERT INTO quality(uuid, run_id, model, recipe, ref_recipe, weights, mean_kld, p99_kld, "
    "top1_agree, ppl_ratio, n_tokens, created, corpus_sha256, corpus_bytes, corpus_tokens, "
    "n_ctx, n_chunks, model_sha256, base_sha256, ppl, ppl_err, ppl_base, kld_err, kld_median, "
    "kld_p95, kld_max) SELECT ?1, id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?13, ?14, ?15, "
    "?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26 FROM runs WHERE uuid = ?12";

int db_quality_commit(db_t *db, db_quality_t *q)
{
    if (!q->run_uuid[0] || !q->model || !q->recipe || !q->ref_recipe ||
        (unsigned)q->weights > DB_WEIGHTS_FILE || q->n_tokens < 0)
        return mb_err_set(MB_EINVAL, "quality result for database %s lacks its run, model, "
                          "recipe or reference recipe", db->path);
    int err;
    if (!q->uuid[0] && (err = db_uuid_new(q->uuid)))
        return err;
    if (q->created <= 0)
        q->created = mb_clock_wall();
    sqlite3_stmt *st;
    if ((err = db_stmt(db, SQL_QUALITY_INSERT, &st)))
        return err;
    sqlite3_bind_text(st, 1, q->uuid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, q->model, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, q->recipe, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, q->ref_recipe, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, db_weights_name(q->weights), -1, SQLITE_STATIC);
    db_bind_real(st, 6, q->mean_kld);
    db_bind_real(st, 7, q->p99_kld);
    db_bind_real(st, 8, q->top1_agree);
    db_bind_real(st, 9, q->ppl_ratio);
    sqlite3_bind_int64(st, 10, q->n_tokens);
    sqlite3_bind_double(st, 11, q->created);
    sqlite3_bind_text(st, 12, q->run_uuid, -1, SQLITE_TRANSIENT);
    for (int i = 13; i <= 26; i++)
        sqlite3_bind_null(st, i);
    if (q->corpus_sha256) { /* a real-text result: the rest is NULL otherwise */
        sqlite3_bind_text(st, 13, q->corpus_sha256, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 14, q->corpus_bytes);
        sqlite3_bind_int64(st, 15, q->corpus_tokens);
        sqlite3_bind_int(st, 16, q->n_ctx);
        sqlite3_bind_int(st, 17, q->n_chunks);
        if (q->model_sha256)
            sqlite3_bind_text(st, 18, q->model_sha256, -1, SQLITE_TRANSIENT);
        if (q->base_sha256)
            sqlite3_bind_text(st, 19, q->base_sha256, -1, SQLITE_TRANSIENT);
        db_bind_real(st, 20, q->ppl);
        db_bind_real(st, 21, q->ppl_err);
        db_bind_real(st, 22, q->ppl_base);
        db_bind_real(st, 23, q->kld_err);
        db_bind_real(st, 24, q->kld_median);
        db_bind_real(st, 25, q->kld_p95);
        db_bind_real(st, 26, q->kld_max);
    }
    if ((err = step_done(db, st, "storing a quality result")))
        return err;
    if (sqlite3_changes(db->h) == 0)
        return mb_err_set(MB_ENOENT, "no run %s in database %s for the quality result",
                          q->run_uuid, db->path);
    return 0;
}
