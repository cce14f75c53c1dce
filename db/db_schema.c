/* db_schema.c: the schema text, the upgrade steps and their application.
 * SCHEMA_SQL is db/schema.sql verbatim (test_db_schema checks they are equal);
 * edit both together. A schema change bumps DB_SCHEMA_VERSION in db.h and
 * appends one step to MIGRATIONS, which upgrades version N to N+1. */
#include "db_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SCHEMA_SQL[] =
    "-- mobench store schema, version 5 (PRAGMA user_version = 5).\n"
    "-- Fresh databases get this text; older ones are upgraded by the steps in\n"
    "-- db/db_schema.c (docs/DB.md). Rows carry uuids so that databases from\n"
    "-- different devices merge without collisions; integer ids are local.\n"
    "-- Times are wall-clock seconds since the epoch; NULL means \"not known\".\n"
    "\n"
    "CREATE TABLE devices (\n"
    "    id            INTEGER PRIMARY KEY,\n"
    "    uuid          TEXT NOT NULL UNIQUE,\n"
    "    fingerprint   TEXT NOT NULL UNIQUE,\n"
    "    label         TEXT,\n"
    "    probe_json    TEXT,\n"
    "    ceilings_json TEXT,\n"
    "    first_seen    REAL NOT NULL,\n"
    "    last_seen     REAL NOT NULL\n"
    ");\n"
    "\n"
    "CREATE TABLE runs (\n"
    "    id              INTEGER PRIMARY KEY,\n"
    "    uuid            TEXT NOT NULL UNIQUE,\n"
    "    device_id       INTEGER NOT NULL REFERENCES devices(id),\n"
    "    started         REAL NOT NULL,\n"
    "    ended           REAL,\n"
    "    mobench_version TEXT NOT NULL,\n"
    "    mobench_commit  TEXT NOT NULL,\n"
    "    cmdline         TEXT,\n"
    "    status          TEXT NOT NULL CHECK (status IN ('running', 'done', 'interrupted', 'failed')),\n"
    "    kind            TEXT NOT NULL CHECK (kind IN ('bench', 'sweep')),\n"
    "    sweep_file      TEXT\n"
    ");\n"
    "CREATE INDEX runs_started ON runs(started);\n"
    "CREATE INDEX runs_device ON runs(device_id, started);\n"
    "\n"
    "CREATE TABLE cells (\n"
    "    id             INTEGER PRIMARY KEY,\n"
    "    uuid           TEXT NOT NULL UNIQUE,\n"
    "    run_id         INTEGER NOT NULL REFERENCES runs(id),\n"
    "    model          TEXT NOT NULL,\n"
    "    model_params   INTEGER,\n"
    "    weights        TEXT NOT NULL CHECK (weights IN ('synthetic', 'file')),\n"
    "    weights_sha256 TEXT,\n"
    "    recipe         TEXT NOT NULL,\n"
    "    model_size     INTEGER,\n"
    "    test           TEXT NOT NULL CHECK (test IN ('pp', 'tg', 'pg', 'depth')),\n"
    "    n_prompt       INTEGER NOT NULL,\n"
    "    n_gen          INTEGER NOT NULL,\n"
    "    n_depth        INTEGER NOT NULL,\n"
    "    n_threads      INTEGER NOT NULL,\n"
    "    kernel         TEXT,\n"
    "    status         TEXT NOT NULL CHECK (status IN ('ok', 'skipped', 'failed', 'oom', 'timeout', 'interrupted')),\n"
    "    reason         TEXT,\n"
    "    n              INTEGER NOT NULL,\n"
    "    mean_ts        REAL,\n"
    "    median_ts      REAL,\n"
    "    stddev_ts      REAL,\n"
    "    min_ts         REAL,\n"
    "    max_ts         REAL,\n"
    "    cv             REAL,\n"
    "    ci95_ts        REAL,\n"
    "    ttft_ms        REAL,\n"
    "    peak_rss       INTEGER,\n"
    "    started        REAL NOT NULL,\n"
    "    ended          REAL NOT NULL,\n"
    "    roofline_pct   REAL,\n"
    "    throttled_reps INTEGER NOT NULL DEFAULT 0,\n"
    "    stop_reason    TEXT,\n"
    "    cpu_mask       TEXT NOT NULL DEFAULT '0x0',\n"
    "    cpu_strict     INTEGER NOT NULL DEFAULT 0,\n"
    "    cluster        TEXT,\n"
    "    cpus_ran       TEXT\n"
    ");\n"
    "CREATE INDEX cells_run ON cells(run_id, started);\n"
    "CREATE INDEX cells_model ON cells(model, recipe, test);\n"
    "\n"
    "CREATE TABLE reps (\n"
    "    cell_id      INTEGER NOT NULL REFERENCES cells(id),\n"
    "    idx          INTEGER NOT NULL,\n"
    "    wall_ns      INTEGER NOT NULL,\n"
    "    tokens_per_s REAL,\n"
    "    ttft_ms      REAL,\n"
    "    lat_p50_ms   REAL,\n"
    "    lat_p90_ms   REAL,\n"
    "    lat_p99_ms   REAL,\n"
    "    temp_min     REAL,\n"
    "    temp_mean    REAL,\n"
    "    temp_max     REAL,\n"
    "    freq_min     REAL,\n"
    "    freq_mean    REAL,\n"
    "    freq_max     REAL,\n"
    "    energy_j     REAL,\n"
    "    throttled    INTEGER NOT NULL,\n"
    "    read_gbs     REAL,\n"
    "    PRIMARY KEY (cell_id, idx)\n"
    ") WITHOUT ROWID;\n"
    "\n"
    "CREATE TABLE samples (\n"
    "    id      INTEGER PRIMARY KEY,\n"
    "    run_id  INTEGER NOT NULL REFERENCES runs(id),\n"
    "    cell_id INTEGER REFERENCES cells(id),\n"
    "    t       REAL NOT NULL,\n"
    "    kind    TEXT NOT NULL,\n"
    "    sensor  TEXT NOT NULL,\n"
    "    value   REAL\n"
    ");\n"
    "CREATE INDEX samples_run ON samples(run_id, t);\n"
    "CREATE INDEX samples_cell ON samples(cell_id, t);\n"
    "\n"
    "CREATE TABLE quality (\n"
    "    id         INTEGER PRIMARY KEY,\n"
    "    uuid       TEXT NOT NULL UNIQUE,\n"
    "    run_id     INTEGER NOT NULL REFERENCES runs(id),\n"
    "    model      TEXT NOT NULL,\n"
    "    recipe     TEXT NOT NULL,\n"
    "    ref_recipe TEXT NOT NULL,\n"
    "    weights    TEXT NOT NULL CHECK (weights IN ('synthetic', 'file')),\n"
    "    mean_kld   REAL,\n"
    "    p99_kld    REAL,\n"
    "    top1_agree REAL,\n"
    "    ppl_ratio  REAL,\n"
    "    n_tokens   INTEGER NOT NULL,\n"
    "    created    REAL NOT NULL,\n"
    "    corpus_sha256 TEXT,\n"
    "    corpus_bytes  INTEGER,\n"
    "    corpus_tokens INTEGER,\n"
    "    n_ctx         INTEGER,\n"
    "    n_chunks      INTEGER,\n"
    "    model_sha256  TEXT,\n"
    "    base_sha256   TEXT,\n"
    "    ppl           REAL,\n"
    "    ppl_err       REAL,\n"
    "    ppl_base      REAL,\n"
    "    kld_err       REAL,\n"
    "    kld_median    REAL,\n"
    "    kld_p95       REAL,\n"
    "    kld_max       REAL\n"
    ");\n"
    "CREATE INDEX quality_run ON quality(run_id);\n"
    "CREATE INDEX quality_model ON quality(model, recipe);\n"
    "CREATE INDEX quality_model_sha ON quality(model_sha256);\n";

/* MIGRATIONS[i] upgrades version i+1 to i+2. */
static const char *const MIGRATIONS[] = {
    /* v1 -> v2: roofline share, throttled reps and the adaptive stop reason
     * per cell; quality (KLD) results. */
    "ALTER TABLE cells ADD COLUMN roofline_pct REAL;\n"
    "ALTER TABLE cells ADD COLUMN throttled_reps INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE cells ADD COLUMN stop_reason TEXT;\n"
    "CREATE TABLE quality (\n"
    "    id         INTEGER PRIMARY KEY,\n"
    "    uuid       TEXT NOT NULL UNIQUE,\n"
    "    run_id     INTEGER NOT NULL REFERENCES runs(id),\n"
    "    model      TEXT NOT NULL,\n"
    "    recipe     TEXT NOT NULL,\n"
    "    ref_recipe TEXT NOT NULL,\n"
    "    weights    TEXT NOT NULL CHECK (weights IN ('synthetic', 'file')),\n"
    "    mean_kld   REAL,\n"
    "    p99_kld    REAL,\n"
    "    top1_agree REAL,\n"
    "    ppl_ratio  REAL,\n"
    "    n_tokens   INTEGER NOT NULL,\n"
    "    created    REAL NOT NULL\n"
    ");\n"
    "CREATE INDEX quality_run ON quality(run_id);\n"
    "CREATE INDEX quality_model ON quality(model, recipe);\n",
    /* v2 -> v3: the read bandwidth measured just before a rep
     * (bench --roofline-paired). */
    "ALTER TABLE reps ADD COLUMN read_gbs REAL;\n",
    /* v3 -> v4: perplexity and KLD on real text (mobench quality --text):
     * the corpus, the windows, the model and base files, the figures. */
    "ALTER TABLE quality ADD COLUMN corpus_sha256 TEXT;\n"
    "ALTER TABLE quality ADD COLUMN corpus_bytes INTEGER;\n"
    "ALTER TABLE quality ADD COLUMN corpus_tokens INTEGER;\n"
    "ALTER TABLE quality ADD COLUMN n_ctx INTEGER;\n"
    "ALTER TABLE quality ADD COLUMN n_chunks INTEGER;\n"
    "ALTER TABLE quality ADD COLUMN model_sha256 TEXT;\n"
    "ALTER TABLE quality ADD COLUMN base_sha256 TEXT;\n"
    "ALTER TABLE quality ADD COLUMN ppl REAL;\n"
    "ALTER TABLE quality ADD COLUMN ppl_err REAL;\n"
    "ALTER TABLE quality ADD COLUMN ppl_base REAL;\n"
    "ALTER TABLE quality ADD COLUMN kld_err REAL;\n"
    "ALTER TABLE quality ADD COLUMN kld_median REAL;\n"
    "ALTER TABLE quality ADD COLUMN kld_p95 REAL;\n"
    "ALTER TABLE quality ADD COLUMN kld_max REAL;\n"
    "CREATE INDEX quality_model_sha ON quality(model_sha256);\n",
    /* v4 -> v5: where a cell's threads ran (-C, --cpu-strict, --cluster);
     * earlier cells were not pinned: mask 0x0, not strict. */
    "ALTER TABLE cells ADD COLUMN cpu_mask TEXT NOT NULL DEFAULT '0x0';\n"
    "ALTER TABLE cells ADD COLUMN cpu_strict INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE cells ADD COLUMN cluster TEXT;\n"
    "ALTER TABLE cells ADD COLUMN cpus_ran TEXT;\n",
};
_Static_assert(sizeof MIGRATIONS / sizeof MIGRATIONS[0] == DB_SCHEMA_VERSION - 1,
               "one migration step per schema version");

const char *db_schema_sql(void)
{
    return SCHEMA_SQL;
}

/* The schema version and the number of schema objects, read by one
 * statement: one snapshot. Two statements outside a transaction could see
 * version 0 before another process's schema commit and its tables after it
 * ("tables but version 0": a fresh store taken for a foreign file). */
static int read_header(sqlite3 *h, const char *path, int *version, int64_t *objects)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h,
                                "SELECT (SELECT user_version FROM pragma_user_version), "
                                "(SELECT count(*) FROM sqlite_master)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
        *objects = sqlite3_column_int64(st, 1);
        sqlite3_finalize(st);
        return 0;
    }
    int e = db_sqlite_err(h, path, rc, "reading the schema version");
    sqlite3_finalize(st);
    return e;
}

static int exec(sqlite3 *h, const char *path, const char *sql, const char *what)
{
    int rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : db_sqlite_err(h, path, rc, what);
}

/* Refuses a version no step can start from: above ours (a newer mobench),
 * below 1 (no mobench writes that: a damaged or foreign file; MIGRATIONS[v-1]
 * would read outside the table), or 0 on a file that already has tables (a
 * SQLite file that is not a mobench store). 0 on an empty file is a new
 * store. Reads the header only: nothing is written. */
static int version_check(const char *path, int v, int64_t n)
{
    if (v > DB_SCHEMA_VERSION)
        return mb_err_set(MB_EVERSION,
                          "%s has schema version %d, newer than the version %d this mobench "
                          "(%s) knows (it supports 1 to %d): it was written by a newer mobench; "
                          "use that version (the file was left untouched)",
                          path, v, DB_SCHEMA_VERSION, mb_version(), DB_SCHEMA_VERSION);
    if (v < 0)
        return mb_err_set(MB_EVERSION,
                          "%s has schema version %d, outside the range this mobench (%s) "
                          "supports (1 to %d): no mobench writes such a version, so the file "
                          "is damaged or not a mobench store; it was left untouched: restore "
                          "it from a copy, or choose another file with --db",
                          path, v, mb_version(), DB_SCHEMA_VERSION);
    if (v == 0) {
        if (n > 0)
            return mb_err_set(MB_EFORMAT,
                              "%s is a SQLite database but not a mobench one: it has tables "
                              "but schema version 0, outside the range this mobench supports "
                              "(1 to %d); it was left untouched: choose another file with --db",
                              path, DB_SCHEMA_VERSION);
    }
    return 0;
}

int db_schema_precheck(sqlite3 *h, const char *path)
{
    int v = 0;
    int64_t n = 0;
    int err = read_header(h, path, &v, &n);
    return err ? err : version_check(path, v, n);
}

int db_schema_apply(sqlite3 *h, const char *path, bool readonly)
{
    int v = 0;
    int64_t n = 0;
    int err = read_header(h, path, &v, &n);
    if (err)
        return err;
    if ((err = version_check(path, v, n)))
        return err;
    if (v == DB_SCHEMA_VERSION)
        return 0;
    if (readonly && v == 0)
        return mb_err_set(MB_EFORMAT, "%s is an empty SQLite file, not yet a mobench store "
                          "(schema version 0): run a benchmark into it first", path);
    if (readonly)
        return mb_err_set(MB_EVERSION,
                          "%s has schema version %d, older than %d, and was opened read-only: "
                          "open it once for writing (e.g. 'mobench db check --db %s') to "
                          "upgrade it",
                          path, v, DB_SCHEMA_VERSION, path);

    /* IMMEDIATE: two processes opening a fresh file at once serialize here,
     * and the second one sees the first one's work when it re-reads. */
    if ((err = exec(h, path, "BEGIN IMMEDIATE", "locking the database to set up its schema")))
        return err;
    if ((err = read_header(h, path, &v, &n)))
        goto err;
    /* Another process may have changed it between the two reads. */
    if ((err = version_check(path, v, n)))
        goto err;
    if (v == 0) {
        if ((err = exec(h, path, SCHEMA_SQL, "creating the schema")))
            goto err;
    } else {
        for (; v < DB_SCHEMA_VERSION; v++) {
            MB_INFO("db: upgrading %s from schema version %d to %d", path, v, v + 1);
            if ((err = exec(h, path, MIGRATIONS[v - 1], "upgrading the schema")))
                goto err;
        }
    }
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", DB_SCHEMA_VERSION);
    if ((err = exec(h, path, sql, "recording the schema version")))
        goto err;
    if ((err = exec(h, path, "COMMIT", "committing the schema")))
        goto err;
    return 0;
err:
    if (!sqlite3_get_autocommit(h))
        sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    return err;
}

/* One line per column and per index column, in a stable order: two schemas
 * are the same when their signatures are equal, whatever the SQL text
 * (ALTER TABLE rewrites it differently from CREATE TABLE). */
static int schema_signature(sqlite3 *h, char **out, size_t *len)
{
    static const char sql[] =
        "SELECT 'table ' || m.name || ': ' || p.name || ' ' || p.type || "
        "CASE WHEN p.\"notnull\" THEN ' NOT NULL' ELSE '' END || "
        "coalesce(' DEFAULT ' || p.dflt_value, '') || CASE WHEN p.pk THEN ' PK' ELSE '' END "
        "FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND "
        "m.name NOT LIKE 'sqlite_%' "
        "UNION ALL SELECT 'index ' || m.name || ' ON ' || m.tbl_name || ': ' || i.seqno || ' ' || "
        "coalesce(i.name, '?') FROM sqlite_master m JOIN pragma_index_info(m.name) i WHERE "
        "m.type = 'index' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1";
    *out = NULL;
    *len = 0;
    FILE *f = open_memstream(out, len);
    if (!f)
        return mb_err_set(MB_ENOMEM, "out of memory comparing schemas");
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            fprintf(f, "%s\n", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    fclose(f);
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        return mb_err_set(MB_EDB, "reading the schema: %s", sqlite3_errmsg(h));
    }
    return 0;
}

int db_schema_compare(sqlite3 *h, char *diff, size_t diff_len)
{
    sqlite3 *mem = NULL;
    char *have = NULL, *want = NULL;
    size_t nh = 0, nw = 0;
    int err = 0;
    diff[0] = '\0';
    if (sqlite3_open(":memory:", &mem) != SQLITE_OK ||
        sqlite3_exec(mem, SCHEMA_SQL, NULL, NULL, NULL) != SQLITE_OK) {
        err = mb_err_set(MB_EDB, "building the reference schema: %s",
                         mem ? sqlite3_errmsg(mem) : "out of memory");
        goto out;
    }
    if ((err = schema_signature(mem, &want, &nw)) || (err = schema_signature(h, &have, &nh)))
        goto out;
    if (!strcmp(have, want))
        goto out;
    /* Report the first line that differs, from whichever side has it. */
    const char *a = have, *b = want;
    while (*a && *b) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (la != lb || memcmp(a, b, la)) {
            snprintf(diff, diff_len, "found '%.*s', expected '%.*s'", (int)la, a, (int)lb, b);
            goto differs;
        }
        a += la + (a[la] ? 1 : 0);
        b += lb + (b[lb] ? 1 : 0);
    }
    if (*a)
        snprintf(diff, diff_len, "unexpected '%.*s'", (int)strcspn(a, "\n"), a);
    else
        snprintf(diff, diff_len, "missing '%.*s'", (int)strcspn(b, "\n"), b);
differs:
    err = 1;
out:
    free(have);
    free(want);
    sqlite3_close(mem);
    return err;
}
