/* db_merge.c: `mobench db merge`: copy another database's rows in, matched by
 * uuid so that merging twice adds nothing.
 *
 * The other file is first copied (SQLite backup API, a consistent snapshot
 * even while it is being written) into a private temporary file, which is
 * upgraded to our schema version; the other file itself is never modified.
 * The copy is attached and merged with INSERT ... SELECT in one transaction. */
#include "db_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each step: SQL and the counter its changes go to (NULL = not counted). */
typedef struct {
    const char *sql;
    size_t counter; /* offset into db_counts_t, or SIZE_MAX */
} step_t;

#define NO_COUNT ((size_t)-1)
#define RUN_MAP(src_run_id)                                                                  \
    "(SELECT m.id FROM main.runs m JOIN mergesrc.runs sr ON sr.uuid = m.uuid WHERE sr.id = " \
    src_run_id ")"

static const step_t STEPS[] = {
    {"DROP TABLE IF EXISTS temp.merge_dev; DROP TABLE IF EXISTS temp.merge_cell", NO_COUNT},
    /* devices: new uuid and new fingerprint -> insert; otherwise the same device */
    {"INSERT INTO main.devices(uuid, fingerprint, label, probe_json, ceilings_json, first_seen, "
     "last_seen) SELECT s.uuid, s.fingerprint, s.label, s.probe_json, s.ceilings_json, "
     "s.first_seen, s.last_seen FROM mergesrc.devices s WHERE NOT EXISTS (SELECT 1 FROM "
     "main.devices m WHERE m.uuid = s.uuid OR m.fingerprint = s.fingerprint) ORDER BY s.id",
     offsetof(db_counts_t, devices)},
    {"UPDATE main.devices AS m SET last_seen = s.last_seen FROM mergesrc.devices s WHERE "
     "(s.uuid = m.uuid OR s.fingerprint = m.fingerprint) AND s.last_seen > m.last_seen",
     NO_COUNT},
    {"CREATE TEMP TABLE merge_dev AS SELECT s.id AS src_id, coalesce((SELECT m.id FROM "
     "main.devices m WHERE m.uuid = s.uuid), (SELECT m.id FROM main.devices m WHERE "
     "m.fingerprint = s.fingerprint)) AS dst_id FROM mergesrc.devices s",
     NO_COUNT},
    /* runs */
    {"INSERT INTO main.runs(uuid, device_id, started, ended, mobench_version, mobench_commit, "
     "cmdline, status, kind, sweep_file) SELECT s.uuid, md.dst_id, s.started, s.ended, "
     "s.mobench_version, s.mobench_commit, s.cmdline, s.status, s.kind, s.sweep_file FROM "
     "mergesrc.runs s JOIN temp.merge_dev md ON md.src_id = s.device_id WHERE NOT EXISTS "
     "(SELECT 1 FROM main.runs m WHERE m.uuid = s.uuid) ORDER BY s.id",
     offsetof(db_counts_t, runs)},
    /* a run merged while it was still running, now finished in the other file */
    {"UPDATE main.runs AS m SET status = s.status, ended = s.ended FROM mergesrc.runs s WHERE "
     "s.uuid = m.uuid AND m.status = 'running' AND s.status != 'running'",
     NO_COUNT},
    /* cells, with their reps and samples, only when the cell is new */
    {"CREATE TEMP TABLE merge_cell AS SELECT s.id AS src_id, s.uuid AS uuid FROM "
     "mergesrc.cells s WHERE NOT EXISTS (SELECT 1 FROM main.cells m WHERE m.uuid = s.uuid)",
     NO_COUNT},
    {"INSERT INTO main.cells(uuid, run_id, model, model_params, weights, weights_sha256, recipe, "
     "model_size, test, n_prompt, n_gen, n_depth, n_threads, kernel, status, reason, n, "
     "mean_ts, median_ts, stddev_ts, min_ts, max_ts, cv, ci95_ts, ttft_ms, peak_rss, started, "
     "ended, roofline_pct, throttled_reps, stop_reason, cpu_mask, cpu_strict, cluster, cpus_ran) "
     "SELECT s.uuid, " RUN_MAP("s.run_id")
     ", s.model, s.model_params, s.weights, s.weights_sha256, s.recipe, s.model_size, s.test, "
     "s.n_prompt, s.n_gen, s.n_depth, s.n_threads, s.kernel, s.status, s.reason, s.n, "
     "s.mean_ts, s.median_ts, s.stddev_ts, s.min_ts, s.max_ts, s.cv, s.ci95_ts, s.ttft_ms, "
     "s.peak_rss, s.started, s.ended, s.roofline_pct, s.throttled_reps, s.stop_reason, "
     "s.cpu_mask, s.cpu_strict, s.cluster, s.cpus_ran FROM "
     "mergesrc.cells s JOIN temp.merge_cell mc ON mc.src_id = s.id ORDER BY s.id",
     offsetof(db_counts_t, cells)},
    {"INSERT INTO main.reps(cell_id, idx, wall_ns, tokens_per_s, ttft_ms, lat_p50_ms, "
     "lat_p90_ms, lat_p99_ms, temp_min, temp_mean, temp_max, freq_min, freq_mean, freq_max, "
     "energy_j, throttled, read_gbs) SELECT (SELECT m.id FROM main.cells m WHERE m.uuid = "
     "mc.uuid), "
     "p.idx, p.wall_ns, p.tokens_per_s, p.ttft_ms, p.lat_p50_ms, p.lat_p90_ms, p.lat_p99_ms, "
     "p.temp_min, p.temp_mean, p.temp_max, p.freq_min, p.freq_mean, p.freq_max, p.energy_j, "
     "p.throttled, p.read_gbs FROM mergesrc.reps p JOIN temp.merge_cell mc ON mc.src_id = "
     "p.cell_id",
     offsetof(db_counts_t, reps)},
    {"INSERT INTO main.samples(run_id, cell_id, t, kind, sensor, value) SELECT "
     RUN_MAP("s.run_id") ", (SELECT m.id FROM main.cells m WHERE m.uuid = mc.uuid), s.t, "
     "s.kind, s.sensor, s.value FROM mergesrc.samples s JOIN temp.merge_cell mc ON mc.src_id = "
     "s.cell_id ORDER BY s.id",
     offsetof(db_counts_t, samples)},
    /* run-level samples have no uuid: an identical row counts as present */
    {"INSERT INTO main.samples(run_id, cell_id, t, kind, sensor, value) SELECT rm.id, NULL, "
     "s.t, s.kind, s.sensor, s.value FROM mergesrc.samples s JOIN mergesrc.runs sr ON sr.id = "
     "s.run_id JOIN main.runs rm ON rm.uuid = sr.uuid WHERE s.cell_id IS NULL AND NOT EXISTS "
     "(SELECT 1 FROM main.samples m WHERE m.run_id = rm.id AND m.cell_id IS NULL AND m.t = s.t "
     "AND m.kind = s.kind AND m.sensor = s.sensor AND m.value IS s.value) ORDER BY s.id",
     offsetof(db_counts_t, samples)},
    {"INSERT INTO main.quality(uuid, run_id, model, recipe, ref_recipe, weights, mean_kld, "
     "p99_kld, top1_agree, ppl_ratio, n_tokens, created, corpus_sha256, corpus_bytes, "
     "corpus_tokens, n_ctx, n_chunks, model_sha256, base_sha256, ppl, ppl_err, ppl_base, "
     "kld_err, kld_median, kld_p95, kld_max) SELECT s.uuid, rm.id, s.model, "
     "s.recipe, s.ref_recipe, s.weights, s.mean_kld, s.p99_kld, s.top1_agree, s.ppl_ratio, "
     "s.n_tokens, s.created, s.corpus_sha256, s.corpus_bytes, s.corpus_tokens, s.n_ctx, "
     "s.n_chunks, s.model_sha256, s.base_sha256, s.ppl, s.ppl_err, s.ppl_base, s.kld_err, "
     "s.kld_median, s.kld_p95, s.kld_max FROM mergesrc.quality s JOIN mergesrc.runs sr ON sr.id = s.run_id "
     "JOIN main.runs rm ON rm.uuid = sr.uuid WHERE NOT EXISTS (SELECT 1 FROM main.quality m "
     "WHERE m.uuid = s.uuid) ORDER BY s.id",
     offsetof(db_counts_t, quality)},
    {"DROP TABLE temp.merge_dev; DROP TABLE temp.merge_cell", NO_COUNT},
};

/* Copies `other` into the temporary file `tmp` and upgrades the copy. */
static int snapshot(const char *other, const char *tmp)
{
    sqlite3 *src = NULL, *dst = NULL;
    int err = 0;
    char *uri = NULL;
    if ((err = db_readonly_uri(other, &uri)))
        return err;
    int rc = sqlite3_open_v2(uri ? uri : other, &src,
                             SQLITE_OPEN_READONLY | (uri ? SQLITE_OPEN_URI : 0), NULL);
    free(uri);
    if (rc != SQLITE_OK) {
        err = db_sqlite_err(src, other, rc, "opening the database to merge");
        goto out;
    }
    sqlite3_busy_timeout(src, DB_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(src, 1);
    /* Refuse a version outside our range before copying a byte of it. */
    if ((err = db_schema_precheck(src, other)))
        goto out;
    rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK) {
        err = db_sqlite_err(dst, tmp, rc, "creating a temporary copy for the merge");
        goto out;
    }
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        err = db_sqlite_err(dst, tmp, sqlite3_errcode(dst), "copying the database to merge");
        goto out;
    }
    rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        /* The reading side's code says what is wrong with the other file. */
        int src_rc = sqlite3_errcode(src);
        err = db_sqlite_err(src, other, src_rc != SQLITE_OK ? src_rc : rc,
                            "reading the database to merge");
        goto out;
    }
    err = db_schema_apply(dst, other, false);
out:
    sqlite3_close(src);
    sqlite3_close(dst);
    return err;
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int db_merge(db_t *db, const char *other, db_counts_t *added)
{
    db_counts_t cnt = {0};
    if (added)
        *added = cnt;
    if (db->flags & DB_OPEN_READONLY)
        return mb_err_set(MB_EPERM, "database %s was opened read-only: cannot merge into it",
                          db->path);
    if (!sqlite3_get_autocommit(db->h))
        return mb_err_set(MB_EINVAL, "cannot merge into %s inside an open transaction: "
                          "commit it first", db->path);
    struct stat sb;
    if (!other || stat(other, &sb) != 0)
        return mb_err_set(MB_ENOENT, "no database to merge at %s: %s", other ? other : "(null)",
                          strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return mb_err_set(MB_EINVAL, "%s is a directory, not a database to merge", other);
    if (same_file(other, db->path))
        return mb_err_set(MB_EINVAL, "cannot merge %s into itself", other);

    const char *tmpdir = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/mobench-merge-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = mkstemp(tmp);
    if (fd < 0)
        return mb_err_set(mb_err_from_errno(errno), "cannot create a temporary file %s for "
                          "the merge: %s; set TMPDIR to a writable directory", tmp,
                          strerror(errno));
    close(fd);
    bool attached = false;
    int err = snapshot(other, tmp);
    if (err)
        goto out;

    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->h, "ATTACH ?1 AS mergesrc", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, tmp, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_OK) {
        err = db_fail(db, rc, "attaching the database to merge");
        goto out;
    }
    attached = true;
    if ((err = db_begin(db, "merging")))
        goto out;
    for (size_t i = 0; i < MB_ARRAY_LEN(STEPS); i++) {
        rc = sqlite3_exec(db->h, STEPS[i].sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            char what[600];
            snprintf(what, sizeof what, "merging %s", other);
            err = db_fail(db, rc, what);
            db_rollback(db);
            goto out;
        }
        if (STEPS[i].counter != NO_COUNT)
            *(int64_t *)((char *)&cnt + STEPS[i].counter) += sqlite3_changes64(db->h);
    }
    if ((err = db_commit(db, "committing the merge")))
        goto out;
    if (added)
        *added = cnt;
out:
    if (attached)
        sqlite3_exec(db->h, "DETACH mergesrc", NULL, NULL, NULL);
    unlink(tmp);
    return err;
}
