/* test_db_schema.c: schema creation, migration from the v1 fixture, refusal
 * of newer and of foreign files. */
#include "fixtures/db/db_test_util.h"

static char dir[256];

static void setup(void)
{
    tu_mkdtemp(dir);
}

static void teardown(void)
{
    tu_rmdir(dir);
}

TestSuite(db_schema, .init = setup, .fini = teardown);

Test(db_schema, schema_sql_file_matches_the_built_in_text)
{
    char *text = NULL;
    size_t len = 0;
    int err = mb_file_read(MB_FIXTURES "/../../db/schema.sql", 0, &text, &len);
    cr_assert_eq(err, 0, "%s", mb_err_msg());
    cr_assert_str_eq(text, db_schema_sql(), "db/schema.sql and db/db_schema.c differ: edit both");
    free(text);
}

Test(db_schema, fresh_database_has_current_schema_in_wal_mode)
{
    char path[512], wal[600];
    tu_path(path, dir, "fresh.db");
    db_t *db = NULL;
    cr_assert_eq(db_open(path, 0, &db), 0, "%s", mb_err_msg());
    snprintf(wal, sizeof wal, "%s-wal", path);
    cr_assert_eq(access(wal, F_OK), 0, "no -wal file: not in WAL mode");
    db_check_t c;
    cr_assert_eq(db_check(db, &c), 0, "%s", mb_err_msg());
    cr_assert(c.ok, "check: %s / %s", c.integrity, c.schema_diff);
    cr_assert(c.schema_ok);
    cr_assert_eq(c.schema_version, DB_SCHEMA_VERSION);
    cr_assert_str_eq(c.integrity, "ok");
    cr_assert_eq(c.counts.devices + c.counts.runs + c.counts.cells + c.counts.reps +
                     c.counts.samples + c.counts.quality, 0);
    /* foreign keys are on: a sample for a run that does not exist is refused */
    cr_assert_neq(db_exec(db, "INSERT INTO samples(run_id, t, kind, sensor) VALUES (999, 0, "
                              "'temp', 'x')"), 0);
    db_close(db);
    /* reopening is a no-op */
    cr_assert_eq(db_open(path, DB_OPEN_NOCREATE, &db), 0, "%s", mb_err_msg());
    db_close(db);
}

Test(db_schema, missing_file_with_nocreate_is_enoent)
{
    char path[512];
    tu_path(path, dir, "absent.db");
    db_t *db = NULL;
    cr_assert_eq(db_open(path, DB_OPEN_NOCREATE, &db), MB_ENOENT);
    cr_assert_null(db);
    cr_assert_neq(strstr(mb_err_msg(), path), NULL, "%s", mb_err_msg());
    cr_assert_eq(access(path, F_OK), -1, "the file was created");
    cr_assert_eq(db_open(path, DB_OPEN_READONLY, &db), MB_ENOENT);
}

Test(db_schema, v1_fixture_is_migrated_keeping_its_rows)
{
    char path[512], before[65], after[65];
    tu_path(path, dir, "v1.db");
    const char *fixture = MB_FIXTURES "/db/v1.db";
    cr_assert_eq(mb_sha256_file(fixture, before), 0);
    tu_copy(fixture, path);

    db_t *db = NULL;
    cr_assert_eq(db_open(path, DB_OPEN_READONLY, &db), MB_EVERSION,
                 "read-only open of an old schema must refuse, not half-work");
    cr_assert_neq(strstr(mb_err_msg(), "older"), NULL, "%s", mb_err_msg());

    cr_assert_eq(db_open(path, 0, &db), 0, "%s", mb_err_msg());
    db_check_t c;
    cr_assert_eq(db_check(db, &c), 0, "%s", mb_err_msg());
    cr_assert(c.ok, "check after migration: %s / %s", c.integrity, c.schema_diff);
    cr_assert_eq(c.schema_version, DB_SCHEMA_VERSION);
    cr_assert_eq(c.counts.devices, 1);
    cr_assert_eq(c.counts.runs, 1);
    cr_assert_eq(c.counts.cells, 2);
    cr_assert_eq(c.counts.reps, 3);
    cr_assert_eq(c.counts.samples, 3);
    cr_assert_eq(c.counts.quality, 0);

    db_cell_t *cells = NULL;
    size_t n = 0;
    cr_assert_eq(db_cells_get(db, NULL, &cells, &n), 0, "%s", mb_err_msg());
    cr_assert_eq(n, 2);
    cr_assert_str_eq(cells[0].uuid, "c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8");
    cr_assert_str_eq(cells[0].model, "tiny");
    cr_assert_eq(cells[0].test, DB_TEST_PP);
    cr_assert_float_eq(cells[0].mean_ts, 100.0, 1e-9);
    cr_assert_eq(cells[0].peak_rss, 10485760);
    cr_assert(isnan(cells[0].roofline_pct), "v2 column should be NULL after migration");
    cr_assert_eq(cells[0].throttled_reps, 0);
    cr_assert_null(cells[0].stop_reason);
    cr_assert_eq(cells[1].status, DB_CELL_OOM);
    cr_assert_str_eq(cells[1].reason, "killed by the OOM killer");
    db_cells_free(cells, n);

    db_rep_t *reps = NULL;
    cr_assert_eq(db_reps_get(db, "c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8", &reps, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert(reps[2].throttled);
    cr_assert_float_eq(reps[1].tokens_per_s, 101.0, 1e-9);
    free(reps);

    /* the upgraded file takes v2 rows */
    db_quality_t q = {.model = "tiny", .recipe = "Q4_0", .ref_recipe = "F16",
                      .mean_kld = 0.01, .p99_kld = 0.1, .top1_agree = 0.95, .ppl_ratio = 1.02,
                      .n_tokens = 512};
    snprintf(q.run_uuid, DB_UUID_LEN, "0b6e2d4a-1c3f-4e5a-8b7c-9d0e1f2a3b4c");
    cr_assert_eq(db_quality_commit(db, &q), 0, "%s", mb_err_msg());
    db_close(db);

    cr_assert_eq(mb_sha256_file(fixture, after), 0);
    cr_assert_str_eq(before, after, "the fixture itself was modified");
}

Test(db_schema, newer_schema_is_refused_and_left_untouched)
{
    char path[512], before[65], after[65];
    tu_path(path, dir, "newer.db");
    db_t *db = NULL;
    cr_assert_eq(db_open(path, 0, &db), 0);
    cr_assert_eq(db_exec(db, "PRAGMA user_version = 99"), 0);
    db_close(db);
    cr_assert_eq(mb_sha256_file(path, before), 0);
    cr_assert_eq(db_open(path, 0, &db), MB_EVERSION);
    cr_assert_null(db);
    const char *msg = mb_err_msg();
    cr_assert_neq(strstr(msg, path), NULL, "%s", msg);
    cr_assert_neq(strstr(msg, "99"), NULL, "%s", msg);
    cr_assert_neq(strstr(msg, "newer"), NULL, "%s", msg);
    cr_assert_eq(db_open(path, DB_OPEN_READONLY, &db), MB_EVERSION);
    cr_assert_eq(mb_sha256_file(path, after), 0);
    cr_assert_str_eq(before, after);
}

Test(db_schema, non_sqlite_file_is_eformat_and_untouched)
{
    char path[512], before[65], after[65];
    tu_path(path, dir, "notes.txt");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 200; i++)
        fprintf(f, "this is a lab notebook, not a database, line %d\n", i);
    fclose(f);
    cr_assert_eq(mb_sha256_file(path, before), 0);
    db_t *db = NULL;
    cr_assert_eq(db_open(path, 0, &db), MB_EFORMAT, "%s", mb_err_msg());
    cr_assert_neq(strstr(mb_err_msg(), path), NULL, "%s", mb_err_msg());
    cr_assert_eq(db_open(path, DB_OPEN_READONLY, &db), MB_EFORMAT);
    cr_assert_eq(mb_sha256_file(path, after), 0);
    cr_assert_str_eq(before, after);
}

Test(db_schema, foreign_sqlite_database_is_refused)
{
    char path[512];
    tu_path(path, dir, "other.db");
    db_t *db = NULL;
    cr_assert_eq(db_open(path, 0, &db), 0);
    /* a SQLite file with tables but without our version mark */
    cr_assert_eq(db_exec(db, "PRAGMA user_version = 0"), 0);
    db_close(db);
    cr_assert_eq(db_open(path, 0, &db), MB_EFORMAT);
    cr_assert_neq(strstr(mb_err_msg(), "not a mobench"), NULL, "%s", mb_err_msg());
}

Test(db_schema, damaged_pages_are_found_by_check)
{
    char path[512];
    tu_path(path, dir, "damaged.db");
    char run[DB_UUID_LEN];
    db_t *db = tu_open_run(path, "fp-damaged", run);
    for (int i = 0; i < 40; i++)
        cr_assert_eq(tu_commit(db, run, "llama-3.2-1b", "Q4_0", DB_CELL_OK, 5, 40), 0);
    db_close(db); /* checkpoints the WAL into the file */

    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_gt(sb.st_size, 8 * 4096);
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    /* scribble over the middle pages, leaving the header page intact */
    for (long off = 4 * 4096; off < sb.st_size - 4096; off += 4096 * 2) {
        fseek(f, off, SEEK_SET);
        for (int i = 0; i < 4096; i++)
            fputc((i * 7 + 13) & 0xff, f);
    }
    fclose(f);

    int err = db_open(path, 0, &db);
    if (err) {
        cr_assert_eq(err, MB_EFORMAT, "%s", mb_err_msg());
        return;
    }
    db_check_t c;
    cr_assert_eq(db_check(db, &c), 0, "%s", mb_err_msg());
    cr_assert_not(c.ok, "a damaged file passed the check");
    cr_assert_str_neq(c.integrity, "ok");
    db_close(db);
}
