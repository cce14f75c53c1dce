/* db_read.c: the reader side (reports, compare, resume): iteration with
 * filters, run lookup, reps and sensor series. Iterations prepare their own
 * statement, so a callback may call back into the store. */
#include "db_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_uuid_prefix(const char *s)
{
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || *s == '-'))
            return false;
    return true;
}

static int prepare(db_t *db, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(db->h, sql, -1, st, NULL);
    return rc == SQLITE_OK ? 0 : db_fail(db, rc, "preparing a query");
}

/* Runs a one-row query with up to two text parameters; copies column 0 to
 * out (if given) and column 1 to *id2 (if given). Returns the number of rows
 * seen (0, 1 or 2 meaning "more than one") or a negative error. */
static int query_one(db_t *db, const char *sql, const char *p1, const char *p2,
                     char out[DB_UUID_LEN], int64_t *id2)
{
    sqlite3_stmt *st;
    int err = prepare(db, sql, &st);
    if (err)
        return err;
    db_bind_text(st, 1, p1);
    db_bind_text(st, 2, p2);
    int rows = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && rows < 2) {
        if (rows == 0) {
            if (out)
                db_col_uuid(st, 0, out);
            if (id2)
                *id2 = sqlite3_column_int64(st, 1);
        }
        rows++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        rows = db_fail(db, rc, "looking up a row");
    sqlite3_finalize(st);
    return rows;
}

int db_run_resolve(db_t *db, const char *spec, char uuid[DB_UUID_LEN])
{
    uuid[0] = '\0';
    if (!spec || !*spec)
        return mb_err_set(MB_EINVAL, "empty run id: give a run uuid (or a unique prefix), "
                          "'latest' or 'previous'");
    int rows;
    if (!strcmp(spec, "latest") || !strcmp(spec, "previous")) {
        char latest[DB_UUID_LEN];
        rows = query_one(db, "SELECT uuid, id FROM runs ORDER BY started DESC, id DESC LIMIT 1",
                         NULL, NULL, latest, NULL);
        if (rows < 0)
            return rows;
        if (rows == 0)
            return mb_err_set(MB_ENOENT, "database %s has no runs yet", db->path);
        if (!strcmp(spec, "latest")) {
            memcpy(uuid, latest, DB_UUID_LEN);
            return 0;
        }
        rows = query_one(db,
                         "SELECT p.uuid, p.id FROM runs l JOIN runs p ON p.device_id = "
                         "l.device_id AND (p.started < l.started OR (p.started = l.started "
                         "AND p.id < l.id)) WHERE l.uuid = ?1 ORDER BY p.started DESC, p.id "
                         "DESC LIMIT 1",
                         latest, NULL, uuid, NULL);
        if (rows < 0)
            return rows;
        if (rows == 0)
            return mb_err_set(MB_ENOENT, "database %s has no run before the latest (%s) on "
                              "the same device", db->path, latest);
        return 0;
    }
    if (is_uuid_prefix(spec)) {
        rows = query_one(db, "SELECT uuid, id FROM runs WHERE uuid = ?1", spec, NULL, uuid,
                         NULL);
        if (rows != 0)
            return rows < 0 ? rows : 0;
        if (strlen(spec) >= 4) {
            rows = query_one(db, "SELECT uuid, id FROM runs WHERE substr(uuid, 1, length(?1)) "
                             "= ?1 LIMIT 2", spec, NULL, uuid, NULL);
            if (rows < 0)
                return rows;
            if (rows == 1)
                return 0;
            if (rows > 1) {
                uuid[0] = '\0';
                return mb_err_set(MB_EINVAL, "run id '%s' is ambiguous in database %s: give "
                                  "more characters of the uuid", spec, db->path);
            }
        }
    }
    return mb_err_set(MB_ENOENT, "no run '%s' in database %s: 'mobench db export --format "
                      "csv --table runs' lists them", spec, db->path);
}

/* Device spec (uuid, fingerprint or a unique prefix of either) -> local id. */
static int device_resolve(db_t *db, const char *spec, int64_t *id)
{
    int rows = query_one(db, "SELECT uuid, id FROM devices WHERE uuid = ?1 OR fingerprint = ?1",
                         spec, NULL, NULL, id);
    if (rows == 1 || rows < 0)
        return rows < 0 ? rows : 0;
    rows = query_one(db, "SELECT uuid, id FROM devices WHERE substr(uuid, 1, length(?1)) = ?1 "
                     "OR substr(fingerprint, 1, length(?1)) = ?1 LIMIT 2",
                     spec, NULL, NULL, id);
    if (rows == 1 || rows < 0)
        return rows < 0 ? rows : 0;
    if (rows > 1)
        return mb_err_set(MB_EINVAL, "device '%s' is ambiguous in database %s: give more "
                          "characters", spec, db->path);
    return mb_err_set(MB_ENOENT, "no device '%s' in database %s: 'mobench db export --format "
                      "csv --table devices' lists them", spec, db->path);
}

/* Binds the common filter parameters: ?1 run uuid, ?2 device id, ?3 since,
 * ?4 status mask. */
static int bind_filter(db_t *db, sqlite3_stmt *st, const db_filter_t *f)
{
    if (f && f->run) {
        char uuid[DB_UUID_LEN];
        int err = db_run_resolve(db, f->run, uuid);
        if (err)
            return err;
        sqlite3_bind_text(st, 1, uuid, -1, SQLITE_TRANSIENT);
    }
    if (f && f->device) {
        int64_t id = 0;
        int err = device_resolve(db, f->device, &id);
        if (err)
            return err;
        sqlite3_bind_int64(st, 2, id);
    }
    sqlite3_bind_double(st, 3, f ? f->since : 0);
    sqlite3_bind_int64(st, 4, f ? (int64_t)f->status_mask : 0);
    return 0;
}

#define RUN_FILTER                                                                           \
    "(?1 IS NULL OR r.uuid = ?1) AND (?2 IS NULL OR r.device_id = ?2) AND r.started >= ?3"

static int iterate(db_t *db, const char *sql, const db_filter_t *f,
                   int (*row)(sqlite3_stmt *st, void *cb, void *ctx), void *cb, void *ctx)
{
    sqlite3_stmt *st;
    int err = prepare(db, sql, &st);
    if (err)
        return err;
    if ((err = bind_filter(db, st, f))) {
        sqlite3_finalize(st);
        return err;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int r = row(st, cb, ctx);
        if (r) {
            sqlite3_finalize(st);
            return r;
        }
    }
    err = rc == SQLITE_DONE ? 0 : db_fail(db, rc, "reading results");
    sqlite3_finalize(st);
    return err;
}

/* ---- devices ---------------------------------------------------------------------- */
static int device_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    db_device_t d = {0};
    db_col_uuid(st, 0, d.uuid);
    d.fingerprint = db_col_text(st, 1);
    d.label = db_col_text(st, 2);
    d.probe_json = db_col_text(st, 3);
    d.ceilings_json = db_col_text(st, 4);
    d.first_seen = db_col_real(st, 5);
    d.last_seen = db_col_real(st, 6);
    return ((db_device_cb)cb)(ctx, &d);
}

int db_devices_each(db_t *db, const db_filter_t *f, db_device_cb cb, void *ctx)
{
    /* A device matches when it has a run matching the filter, or, with no run
     * or since filter, when it matches the device filter alone. */
    static const char sql[] =
        "SELECT d.uuid, d.fingerprint, d.label, d.probe_json, d.ceilings_json, d.first_seen, "
        "d.last_seen FROM devices d WHERE (?2 IS NULL OR d.id = ?2) AND ((?1 IS NULL AND ?3 <= "
        "0) OR EXISTS (SELECT 1 FROM runs r WHERE r.device_id = d.id AND " RUN_FILTER "))"
        " ORDER BY d.first_seen, d.id";
    return iterate(db, sql, f, device_row, (void *)cb, ctx);
}

/* ---- runs ------------------------------------------------------------------------- */
static void run_from_row(sqlite3_stmt *st, db_run_t *r)
{
    memset(r, 0, sizeof *r);
    db_col_uuid(st, 0, r->uuid);
    db_col_uuid(st, 1, r->device_uuid);
    r->started = db_col_real(st, 2);
    r->ended = db_col_real(st, 3);
    r->version = db_col_text(st, 4);
    r->commit = db_col_text(st, 5);
    r->cmdline = db_col_text(st, 6);
    r->status = (db_run_status_t)db_enum_value("run_status", db_col_text(st, 7));
    r->kind = (db_run_kind_t)db_enum_value("run_kind", db_col_text(st, 8));
    r->sweep_file = db_col_text(st, 9);
    r->device_fingerprint = db_col_text(st, 10);
    r->device_label = db_col_text(st, 11);
    r->n_cells = sqlite3_column_int64(st, 12);
}

static int run_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    db_run_t r;
    run_from_row(st, &r);
    return ((db_run_cb)cb)(ctx, &r);
}

int db_runs_each(db_t *db, const db_filter_t *f, db_run_cb cb, void *ctx)
{
    static const char sql[] =
        "SELECT r.uuid, d.uuid, r.started, r.ended, r.mobench_version, r.mobench_commit, "
        "r.cmdline, r.status, r.kind, r.sweep_file, d.fingerprint, d.label, "
        "(SELECT count(*) FROM cells c WHERE c.run_id = r.id) "
        "FROM runs r JOIN devices d ON d.id = r.device_id WHERE " RUN_FILTER
        " ORDER BY r.started, r.id";
    return iterate(db, sql, f, run_row, (void *)cb, ctx);
}

/* ---- cells -------------------------------------------------------------------------- */
static int cell_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    db_cell_t c;
    memset(&c, 0, sizeof c);
    int i = 0;
    db_col_uuid(st, i++, c.uuid);
    db_col_uuid(st, i++, c.run_uuid);
    c.model = db_col_text(st, i++);
    c.model_params = db_col_size(st, i++);
    c.weights = (db_weights_t)db_enum_value("weights", db_col_text(st, i++));
    c.weights_sha256 = db_col_text(st, i++);
    c.recipe = db_col_text(st, i++);
    c.model_size = db_col_size(st, i++);
    c.test = (db_test_t)db_enum_value("test", db_col_text(st, i++));
    c.n_prompt = sqlite3_column_int(st, i++);
    c.n_gen = sqlite3_column_int(st, i++);
    c.n_depth = sqlite3_column_int(st, i++);
    c.n_threads = sqlite3_column_int(st, i++);
    c.kernel = db_col_text(st, i++);
    c.status = (db_cell_status_t)db_enum_value("cell_status", db_col_text(st, i++));
    c.reason = db_col_text(st, i++);
    c.n = sqlite3_column_int(st, i++);
    c.mean_ts = db_col_real(st, i++);
    c.median_ts = db_col_real(st, i++);
    c.stddev_ts = db_col_real(st, i++);
    c.min_ts = db_col_real(st, i++);
    c.max_ts = db_col_real(st, i++);
    c.cv = db_col_real(st, i++);
    c.ci95_ts = db_col_real(st, i++);
    c.ttft_ms = db_col_real(st, i++);
    c.peak_rss = db_col_size(st, i++);
    c.roofline_pct = db_col_real(st, i++);
    c.throttled_reps = sqlite3_column_int(st, i++);
    c.stop_reason = db_col_text(st, i++);
    c.cpu_mask = db_col_text(st, i++);
    c.cpu_strict = sqlite3_column_int(st, i++) != 0;
    c.cluster = db_col_text(st, i++);
    c.cpus_ran = db_col_text(st, i++);
    c.started = db_col_real(st, i++);
    c.ended = db_col_real(st, i++);
    db_col_uuid(st, i++, c.device_uuid);
    c.run_started = db_col_real(st, i++);
    return ((db_cell_cb)cb)(ctx, &c);
}

int db_cells_each(db_t *db, const db_filter_t *f, db_cell_cb cb, void *ctx)
{
    static const char sql[] =
        "SELECT c.uuid, r.uuid, c.model, c.model_params, c.weights, c.weights_sha256, "
        "c.recipe, c.model_size, c.test, c.n_prompt, c.n_gen, c.n_depth, c.n_threads, "
        "c.kernel, c.status, c.reason, c.n, c.mean_ts, c.median_ts, c.stddev_ts, c.min_ts, "
        "c.max_ts, c.cv, c.ci95_ts, c.ttft_ms, c.peak_rss, c.roofline_pct, c.throttled_reps, "
        "c.stop_reason, c.cpu_mask, c.cpu_strict, c.cluster, c.cpus_ran, c.started, c.ended, "
        "d.uuid, r.started "
        "FROM cells c JOIN runs r ON r.id = c.run_id JOIN devices d ON d.id = r.device_id "
        "WHERE " RUN_FILTER " AND (?4 = 0 OR (?4 & (CASE c.status WHEN 'ok' THEN 1 "
        "WHEN 'skipped' THEN 2 WHEN 'failed' THEN 4 WHEN 'oom' THEN 8 WHEN 'timeout' THEN 16 "
        "ELSE 32 END)) != 0) ORDER BY r.started, r.id, c.started, c.id";
    return iterate(db, sql, f, cell_row, (void *)cb, ctx);
}

/* ---- quality ------------------------------------------------------------------------- */
static int quality_row(sqlite3_stmt *st, void *cb, void *ctx)
{
    db_quality_t q;
    memset(&q, 0, sizeof q);
    db_col_uuid(st, 0, q.uuid);
    db_col_uuid(st, 1, q.run_uuid);
    q.model = db_col_text(st, 2);
    q.recipe = db_col_text(st, 3);
    q.ref_recipe = db_col_text(st, 4);
    q.weights = (db_weights_t)db_enum_value("weights", db_col_text(st, 5));
    q.mean_kld = db_col_real(st, 6);
    q.p99_kld = db_col_real(st, 7);
    q.top1_agree = db_col_real(st, 8);
    q.ppl_ratio = db_col_real(st, 9);
    q.n_tokens = sqlite3_column_int64(st, 10);
    q.created = db_col_real(st, 11);
    q.corpus_sha256 = db_col_text(st, 12);
    q.corpus_bytes = sqlite3_column_int64(st, 13);
    q.corpus_tokens = sqlite3_column_int64(st, 14);
    q.n_ctx = sqlite3_column_int(st, 15);
    q.n_chunks = sqlite3_column_int(st, 16);
    q.model_sha256 = db_col_text(st, 17);
    q.base_sha256 = db_col_text(st, 18);
    q.ppl = db_col_real(st, 19);
    q.ppl_err = db_col_real(st, 20);
    q.ppl_base = db_col_real(st, 21);
    q.kld_err = db_col_real(st, 22);
    q.kld_median = db_col_real(st, 23);
    q.kld_p95 = db_col_real(st, 24);
    q.kld_max = db_col_real(st, 25);
    return ((db_quality_cb)cb)(ctx, &q);
}

int db_quality_each(db_t *db, const db_filter_t *f, db_quality_cb cb, void *ctx)
{
    static const char sql[] =
        "SELECT q.uuid, r.uuid, q.model, q.recipe, q.ref_recipe, q.weights, q.mean_kld, "
        "q.p99_kld, q.top1_agree, q.ppl_ratio, q.n_tokens, q.created, q.corpus_sha256, "
        "q.corpus_bytes, q.corpus_tokens, q.n_ctx, q.n_chunks, q.model_sha256, q.base_sha256, "
        "q.ppl, q.ppl_err, q.ppl_base, q.kld_err, q.kld_median, q.kld_p95, q.kld_max "
        "FROM quality q JOIN runs r ON r.id = q.run_id WHERE " RUN_FILTER
        " ORDER BY r.started, r.id, q.created, q.id";
    return iterate(db, sql, f, quality_row, (void *)cb, ctx);
}

/* ---- owned arrays ---------------------------------------------------------------------- */
typedef struct {
    void *items;
    size_t n, cap, size;
} vec_t;

static void *vec_push(vec_t *v)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        void *p = realloc(v->items, cap * v->size);
        if (!p)
            return NULL;
        v->items = p;
        v->cap = cap;
    }
    void *slot = (char *)v->items + v->n * v->size;
    memset(slot, 0, v->size);
    v->n++;
    return slot;
}

/* Copies a borrowed string; sets *oom on allocation failure. */
static const char *dup(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = mb_strdup(s);
    if (!d)
        *oom = true;
    return d;
}

static int push_run(void *ctx, const db_run_t *r)
{
    vec_t *v = ctx;
    db_run_t *o = vec_push(v);
    if (!o)
        return MB_ENOMEM;
    bool oom = false;
    *o = *r;
    o->version = dup(r->version, &oom);
    o->commit = dup(r->commit, &oom);
    o->cmdline = dup(r->cmdline, &oom);
    o->sweep_file = dup(r->sweep_file, &oom);
    o->device_fingerprint = dup(r->device_fingerprint, &oom);
    o->device_label = dup(r->device_label, &oom);
    return oom ? MB_ENOMEM : 0;
}

void db_runs_free(db_run_t *runs, size_t n)
{
    for (size_t i = 0; runs && i < n; i++) {
        free((void *)runs[i].version);
        free((void *)runs[i].commit);
        free((void *)runs[i].cmdline);
        free((void *)runs[i].sweep_file);
        free((void *)runs[i].device_fingerprint);
        free((void *)runs[i].device_label);
    }
    free(runs);
}

int db_runs_get(db_t *db, const db_filter_t *f, db_run_t **out, size_t *n)
{
    vec_t v = {.size = sizeof(db_run_t)};
    int err = db_runs_each(db, f, push_run, &v);
    if (err) {
        db_runs_free(v.items, v.n);
        *out = NULL;
        *n = 0;
        return err == MB_ENOMEM ? mb_err_set(err, "out of memory reading runs") : err;
    }
    *out = v.items;
    *n = v.n;
    return 0;
}

static int push_cell(void *ctx, const db_cell_t *c)
{
    vec_t *v = ctx;
    db_cell_t *o = vec_push(v);
    if (!o)
        return MB_ENOMEM;
    bool oom = false;
    *o = *c;
    o->model = dup(c->model, &oom);
    o->weights_sha256 = dup(c->weights_sha256, &oom);
    o->recipe = dup(c->recipe, &oom);
    o->kernel = dup(c->kernel, &oom);
    o->reason = dup(c->reason, &oom);
    o->stop_reason = dup(c->stop_reason, &oom);
    o->cpu_mask = dup(c->cpu_mask, &oom);
    o->cluster = dup(c->cluster, &oom);
    o->cpus_ran = dup(c->cpus_ran, &oom);
    return oom ? MB_ENOMEM : 0;
}

void db_cells_free(db_cell_t *cells, size_t n)
{
    for (size_t i = 0; cells && i < n; i++) {
        free((void *)cells[i].model);
        free((void *)cells[i].weights_sha256);
        free((void *)cells[i].recipe);
        free((void *)cells[i].kernel);
        free((void *)cells[i].reason);
        free((void *)cells[i].stop_reason);
        free((void *)cells[i].cpu_mask);
        free((void *)cells[i].cluster);
        free((void *)cells[i].cpus_ran);
    }
    free(cells);
}

int db_cells_get(db_t *db, const db_filter_t *f, db_cell_t **out, size_t *n)
{
    vec_t v = {.size = sizeof(db_cell_t)};
    int err = db_cells_each(db, f, push_cell, &v);
    if (err) {
        db_cells_free(v.items, v.n);
        *out = NULL;
        *n = 0;
        return err == MB_ENOMEM ? mb_err_set(err, "out of memory reading cells") : err;
    }
    *out = v.items;
    *n = v.n;
    return 0;
}

static int push_quality(void *ctx, const db_quality_t *q)
{
    vec_t *v = ctx;
    db_quality_t *o = vec_push(v);
    if (!o)
        return MB_ENOMEM;
    bool oom = false;
    *o = *q;
    o->model = dup(q->model, &oom);
    o->recipe = dup(q->recipe, &oom);
    o->ref_recipe = dup(q->ref_recipe, &oom);
    o->corpus_sha256 = q->corpus_sha256 ? dup(q->corpus_sha256, &oom) : NULL;
    o->model_sha256 = q->model_sha256 ? dup(q->model_sha256, &oom) : NULL;
    o->base_sha256 = q->base_sha256 ? dup(q->base_sha256, &oom) : NULL;
    return oom ? MB_ENOMEM : 0;
}

void db_quality_free(db_quality_t *q, size_t n)
{
    for (size_t i = 0; q && i < n; i++) {
        free((void *)q[i].model);
        free((void *)q[i].recipe);
        free((void *)q[i].ref_recipe);
        free((void *)q[i].corpus_sha256);
        free((void *)q[i].model_sha256);
        free((void *)q[i].base_sha256);
    }
    free(q);
}

int db_quality_get(db_t *db, const db_filter_t *f, db_quality_t **out, size_t *n)
{
    vec_t v = {.size = sizeof(db_quality_t)};
    int err = db_quality_each(db, f, push_quality, &v);
    if (err) {
        db_quality_free(v.items, v.n);
        *out = NULL;
        *n = 0;
        return err == MB_ENOMEM ? mb_err_set(err, "out of memory reading quality rows") : err;
    }
    *out = v.items;
    *n = v.n;
    return 0;
}

/* ---- reps and samples ------------------------------------------------------------------- */
static const char SQL_REPS[] =
    "SELECT p.idx, p.wall_ns, p.tokens_per_s, p.ttft_ms, p.lat_p50_ms, p.lat_p90_ms, "
    "p.lat_p99_ms, p.temp_min, p.temp_mean, p.temp_max, p.freq_min, p.freq_mean, p.freq_max, "
    "p.energy_j, p.throttled, p.read_gbs FROM reps p JOIN cells c ON c.id = p.cell_id "
    "WHERE c.uuid = ?1 "
    "ORDER BY p.idx";

int db_reps_get(db_t *db, const char *cell_uuid, db_rep_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    /* Cached statement: reports call this once per cell, thousands of times. */
    sqlite3_stmt *st;
    int err = db_stmt(db, SQL_REPS, &st);
    if (err)
        return err;
    db_bind_text(st, 1, cell_uuid);
    vec_t v = {.size = sizeof(db_rep_t)};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        db_rep_t *r = vec_push(&v);
        if (!r) {
            err = mb_err_set(MB_ENOMEM, "out of memory reading reps");
            break;
        }
        r->index = sqlite3_column_int(st, 0);
        r->wall_ns = sqlite3_column_int64(st, 1);
        double *dst[] = {&r->tokens_per_s, &r->ttft_ms, &r->lat_p50_ms, &r->lat_p90_ms,
                         &r->lat_p99_ms, &r->temp_min, &r->temp_mean, &r->temp_max,
                         &r->freq_min, &r->freq_mean, &r->freq_max, &r->energy_j};
        for (int i = 0; i < (int)MB_ARRAY_LEN(dst); i++)
            *dst[i] = db_col_real(st, 2 + i);
        r->throttled = sqlite3_column_int(st, 14) != 0;
        r->read_gbs = db_col_real(st, 15);
    }
    if (!err && rc != SQLITE_DONE)
        err = db_fail(db, rc, "reading reps");
    sqlite3_reset(st);
    if (!err && v.n == 0) {
        /* No reps: a cell without any (skipped, failed) or no such cell? */
        int rows = query_one(db, "SELECT uuid, id FROM cells WHERE uuid = ?1", cell_uuid, NULL,
                             NULL, NULL);
        if (rows < 0)
            err = rows;
        else if (rows == 0)
            err = mb_err_set(MB_ENOENT, "no cell %s in database %s", cell_uuid ? cell_uuid : "",
                             db->path);
    }
    if (err) {
        free(v.items);
        return err;
    }
    *out = v.items;
    *n = v.n;
    return 0;
}

int db_samples_get(db_t *db, const char *uuid, db_sample_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int64_t id = 0;
    const char *sql;
    int rows = query_one(db, "SELECT uuid, id FROM cells WHERE uuid = ?1", uuid, NULL, NULL,
                         &id);
    if (rows < 0)
        return rows;
    if (rows == 1) {
        sql = "SELECT t, kind, sensor, value FROM samples WHERE cell_id = ?1 ORDER BY t, id";
    } else {
        rows = query_one(db, "SELECT uuid, id FROM runs WHERE uuid = ?1", uuid, NULL, NULL, &id);
        if (rows < 0)
            return rows;
        if (rows == 0)
            return mb_err_set(MB_ENOENT, "no cell or run %s in database %s", uuid ? uuid : "",
                              db->path);
        sql = "SELECT t, kind, sensor, value FROM samples WHERE run_id = ?1 ORDER BY t, id";
    }
    sqlite3_stmt *st;
    int err = prepare(db, sql, &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, id);
    vec_t v = {.size = sizeof(db_sample_t)};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        db_sample_t *s = vec_push(&v);
        if (!s) {
            err = mb_err_set(MB_ENOMEM, "out of memory reading samples");
            break;
        }
        s->t = db_col_real(st, 0);
        const char *k = db_col_text(st, 1), *name = db_col_text(st, 2);
        snprintf(s->kind, sizeof s->kind, "%s", k ? k : "");
        snprintf(s->sensor, sizeof s->sensor, "%s", name ? name : "");
        s->value = db_col_real(st, 3);
    }
    if (!err && rc != SQLITE_DONE)
        err = db_fail(db, rc, "reading samples");
    sqlite3_finalize(st);
    if (err) {
        free(v.items);
        return err;
    }
    *out = v.items;
    *n = v.n;
    return 0;
}
