/* test_db_merge.c: merge idempotence and semantics; exports parsed back. */
#include "fixtures/db/db_test_util.h"

static char dir[256];

static void setup(void)
{
    tu_mkdtemp(dir);
}

static void teardown(void)
{
    if (geteuid() != getuid())
        cr_assert_eq(seteuid(getuid()), 0);
    char sub[512];
    tu_path(sub, dir, "ro");
    chmod(sub, 0755);
    tu_rmdir(dir);
}

TestSuite(db_merge, .init = setup, .fini = teardown);

/* A database with one device, one run, n cells (4 reps, 6 samples each), a
 * quality row and a run-level sample. */
static void build(const char *path, const char *fp, int n, char run[DB_UUID_LEN])
{
    db_t *db = tu_open_run(path, fp, run);
    for (int i = 0; i < n; i++)
        cr_assert_eq(tu_commit(db, run, "llama-3.2-1b", i % 2 ? "Q4_K_M" : "Q4_0", DB_CELL_OK,
                               4, 6), 0, "%s", mb_err_msg());
    db_quality_t q = {.model = "llama-3.2-1b", .recipe = "Q4_0", .ref_recipe = "F16",
                      .mean_kld = 0.02, .p99_kld = 0.3, .top1_agree = 0.9, .ppl_ratio = 1.05,
                      .n_tokens = 256};
    memcpy(q.run_uuid, run, DB_UUID_LEN);
    cr_assert_eq(db_quality_commit(db, &q), 0);
    db_sample_t s = {.t = 1764000500.0, .kind = "cooldown", .sensor = "wait_s", .value = 3};
    cr_assert_eq(db_run_samples_add(db, run, &s, 1), 0);
    db_close(db);
}

static db_counts_t merge(db_t *db, const char *other)
{
    db_counts_t a;
    int err = db_merge(db, other, &a);
    cr_assert_eq(err, 0, "merge %s: %s", other, mb_err_msg());
    return a;
}

static bool counts_eq(db_counts_t a, db_counts_t b)
{
    return a.devices == b.devices && a.runs == b.runs && a.cells == b.cells &&
           a.reps == b.reps && a.samples == b.samples && a.quality == b.quality;
}

Test(db_merge, merging_twice_adds_nothing)
{
    char a[512], b[512], run_a[DB_UUID_LEN], run_b[DB_UUID_LEN];
    tu_path(a, dir, "a.db");
    tu_path(b, dir, "b.db");
    build(a, "fp-a", 3, run_a);
    build(b, "fp-b", 2, run_b);

    db_t *db = NULL;
    cr_assert_eq(db_open(a, 0, &db), 0);
    db_counts_t before = tu_counts(db);
    db_counts_t add = merge(db, b);
    cr_assert_eq(add.devices, 1);
    cr_assert_eq(add.runs, 1);
    cr_assert_eq(add.cells, 2);
    cr_assert_eq(add.reps, 8);
    cr_assert_eq(add.samples, 13);
    cr_assert_eq(add.quality, 1);
    db_counts_t once = tu_counts(db);
    cr_assert_eq(once.cells, before.cells + 2);

    add = merge(db, b);
    cr_assert(counts_eq(add, (db_counts_t){0}), "second merge added rows");
    cr_assert(counts_eq(tu_counts(db), once));

    /* the merged cells read back with their reps under the other device */
    db_cell_t *cells = NULL;
    size_t n = 0;
    cr_assert_eq(db_cells_get(db, &(db_filter_t){.device = "fp-b"}, &cells, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(cells[0].run_uuid, run_b);
    db_rep_t *reps = NULL;
    size_t nr = 0;
    cr_assert_eq(db_reps_get(db, cells[0].uuid, &reps, &nr), 0);
    cr_assert_eq(nr, 4);
    free(reps);
    db_cells_free(cells, n);
    db_check_t c;
    cr_assert_eq(db_check(db, &c), 0);
    cr_assert(c.ok, "%s", c.integrity);
    db_close(db);

    /* into an empty database: twice gives the same as once */
    char e[512];
    tu_path(e, dir, "empty.db");
    cr_assert_eq(db_open(e, 0, &db), 0);
    merge(db, a);
    db_counts_t first = tu_counts(db);
    cr_assert(counts_eq(first, once));
    cr_assert(counts_eq(merge(db, a), (db_counts_t){0}));
    cr_assert(counts_eq(merge(db, b), (db_counts_t){0}), "b's rows came in with a already");
    db_close(db);
}

Test(db_merge, same_device_in_two_files_is_one_device)
{
    char a[512], b[512], run_a[DB_UUID_LEN], run_b[DB_UUID_LEN];
    tu_path(a, dir, "a.db");
    tu_path(b, dir, "b.db");
    build(a, "fp-same", 1, run_a);
    build(b, "fp-same", 1, run_b); /* another uuid, the same fingerprint */
    db_t *db = NULL;
    cr_assert_eq(db_open(a, 0, &db), 0);
    db_counts_t add = merge(db, b);
    cr_assert_eq(add.devices, 0);
    cr_assert_eq(add.runs, 1);
    cr_assert_eq(tu_counts(db).devices, 1);
    db_run_t *runs = NULL;
    size_t n = 0;
    cr_assert_eq(db_runs_get(db, &(db_filter_t){.device = "fp-same"}, &runs, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(runs[0].device_uuid, runs[1].device_uuid);
    db_runs_free(runs, n);
    db_close(db);
}

Test(db_merge, a_run_merged_while_running_gets_its_final_status)
{
    char a[512], c[512], run[DB_UUID_LEN];
    tu_path(a, dir, "a.db");
    tu_path(c, dir, "c.db");
    build(a, "fp-a", 1, run);
    db_t *dc = NULL;
    cr_assert_eq(db_open(c, 0, &dc), 0);
    merge(dc, a);
    db_t *da = NULL;
    cr_assert_eq(db_open(a, 0, &da), 0);
    cr_assert_eq(tu_commit(da, run, "m", "Q8_0", DB_CELL_OK, 2, 0), 0);
    cr_assert_eq(db_run_status_set(da, run, DB_RUN_DONE), 0);
    db_close(da);
    db_counts_t add = merge(dc, a);
    cr_assert_eq(add.cells, 1, "the cell stored after the first merge comes in");
    cr_assert_eq(add.runs, 0);
    db_run_t *runs = NULL;
    size_t n = 0;
    cr_assert_eq(db_runs_get(dc, NULL, &runs, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(runs[0].status, DB_RUN_DONE);
    cr_assert(!isnan(runs[0].ended));
    db_runs_free(runs, n);
    db_close(dc);
}

Test(db_merge, v1_file_is_upgraded_in_a_copy_and_merged)
{
    char t[512], before[65], after[65];
    const char *fixture = MB_FIXTURES "/db/v1.db";
    tu_path(t, dir, "t.db");
    cr_assert_eq(mb_sha256_file(fixture, before), 0);
    db_t *db = NULL;
    cr_assert_eq(db_open(t, 0, &db), 0);
    db_counts_t add = merge(db, fixture);
    cr_assert_eq(add.devices, 1);
    cr_assert_eq(add.runs, 1);
    cr_assert_eq(add.cells, 2);
    cr_assert_eq(add.reps, 3);
    cr_assert_eq(add.samples, 3);
    cr_assert(counts_eq(merge(db, fixture), (db_counts_t){0}));
    db_close(db);
    cr_assert_eq(mb_sha256_file(fixture, after), 0);
    cr_assert_str_eq(before, after, "merge modified its source");
}

Test(db_merge, bad_sources_are_refused_and_change_nothing)
{
    char a[512], junk[512], newer[512], run[DB_UUID_LEN];
    tu_path(a, dir, "a.db");
    tu_path(junk, dir, "junk.db");
    tu_path(newer, dir, "newer.db");
    build(a, "fp-a", 2, run);
    FILE *f = fopen(junk, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 500; i++)
        fputs("garbage garbage garbage\n", f);
    fclose(f);
    db_t *db = NULL;
    cr_assert_eq(db_open(newer, 0, &db), 0);
    cr_assert_eq(db_exec(db, "PRAGMA user_version = 77"), 0);
    db_close(db);

    cr_assert_eq(db_open(a, 0, &db), 0);
    db_counts_t before = tu_counts(db);
    db_counts_t add;
    cr_assert_eq(db_merge(db, junk, &add), MB_EFORMAT, "%s", mb_err_msg());
    cr_assert_neq(strstr(mb_err_msg(), junk), NULL, "%s", mb_err_msg());
    cr_assert_eq(db_merge(db, newer, &add), MB_EVERSION, "%s", mb_err_msg());
    cr_assert_neq(strstr(mb_err_msg(), newer), NULL, "%s", mb_err_msg());
    char none[512];
    tu_path(none, dir, "none.db");
    cr_assert_eq(db_merge(db, none, &add), MB_ENOENT);
    cr_assert_eq(db_merge(db, a, &add), MB_EINVAL, "merging a file into itself");
    cr_assert(counts_eq(tu_counts(db), before));
    db_close(db);
}

/* ---- export ------------------------------------------------------------------- */
static char *export_to_string(db_t *db, db_format_t fmt, db_table_t t, const char *run)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    int err = db_export(db, f, fmt, t, run);
    fclose(f);
    cr_assert_eq(err, 0, "export: %s", mb_err_msg());
    return buf;
}

/* A CSV reader for what the exporter writes (RFC 4180 quoting). Returns rows
 * of fields; fields are malloc'd. */
typedef struct {
    char ***rows;
    size_t *nf;
    size_t n;
} csv_t;

static csv_t csv_parse(const char *s)
{
    csv_t c = {0};
    char **row = NULL;
    size_t nf = 0;
    char field[4096];
    size_t fl = 0;
    bool q = false, any = false;
    for (;; s++) {
        char ch = *s;
        if (q) {
            cr_assert_neq(ch, '\0', "unterminated quote");
            if (ch == '"' && s[1] == '"') {
                field[fl++] = '"';
                s++;
            } else if (ch == '"') {
                q = false;
            } else {
                field[fl++] = ch;
            }
            continue;
        }
        if (ch == '"') {
            q = true;
            any = true;
        } else if (ch == ',' || ch == '\n' || ch == '\0') {
            if (ch == '\0' && !any && nf == 0)
                break;
            field[fl] = '\0';
            row = realloc(row, (nf + 1) * sizeof *row);
            row[nf++] = strdup(field);
            fl = 0;
            if (ch != ',') {
                c.rows = realloc(c.rows, (c.n + 1) * sizeof *c.rows);
                c.nf = realloc(c.nf, (c.n + 1) * sizeof *c.nf);
                c.rows[c.n] = row;
                c.nf[c.n++] = nf;
                row = NULL;
                nf = 0;
                any = false;
            }
            if (ch == '\0')
                break;
        } else {
            field[fl++] = ch;
            any = true;
        }
        cr_assert_lt(fl, sizeof field - 1);
    }
    return c;
}

static void csv_free(csv_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        for (size_t j = 0; j < c->nf[i]; j++)
            free(c->rows[i][j]);
        free(c->rows[i]);
    }
    free(c->rows);
    free(c->nf);
}

static int csv_col(const csv_t *c, const char *name)
{
    for (size_t j = 0; j < c->nf[0]; j++)
        if (!strcmp(c->rows[0][j], name))
            return (int)j;
    cr_assert_fail("no column %s", name);
    return -1;
}

Test(db_merge, json_export_parses_back)
{
    char a[512], run[DB_UUID_LEN];
    tu_path(a, dir, "a.db");
    build(a, "fp-json", 3, run);
    db_t *db = NULL;
    cr_assert_eq(db_open(a, 0, &db), 0);
    /* a second run that --run must leave out */
    char run2[DB_UUID_LEN];
    db_close(db);
    db = tu_open_run(a, "fp-json", run2);
    cr_assert_eq(tu_commit(db, run2, "weird, \"quoted\"\nmodel", "Q8_0", DB_CELL_FAILED, 0, 0),
                 0);
    db_counts_t k = tu_counts(db);

    char *text = export_to_string(db, DB_FMT_JSON, DB_TABLE_CELLS, NULL);
    mb_jv_t *v = NULL;
    cr_assert_eq(mb_jv_parse(text, strlen(text), &v), 0, "export is not JSON: %s", mb_err_msg());
    cr_assert_str_eq(mb_jv_get(v, "format")->str, "mobench-db-export");
    cr_assert_eq(mb_jv_get(v, "schema_version")->num, DB_SCHEMA_VERSION);
    cr_assert_eq(mb_jv_get(v, "devices")->n, (size_t)k.devices);
    cr_assert_eq(mb_jv_get(v, "runs")->n, (size_t)k.runs);
    cr_assert_eq(mb_jv_get(v, "cells")->n, (size_t)k.cells);
    cr_assert_eq(mb_jv_get(v, "reps")->n, (size_t)k.reps);
    cr_assert_eq(mb_jv_get(v, "samples")->n, (size_t)k.samples);
    cr_assert_eq(mb_jv_get(v, "quality")->n, (size_t)k.quality);
    const mb_jv_t *probe = mb_jv_path(v, "devices.0.probe_json.cpu.brand");
    cr_assert_not_null(probe, "probe JSON is embedded as JSON");
    cr_assert_str_eq(probe->str, "Test CPU");
    const mb_jv_t *c0 = mb_jv_path(v, "cells.0");
    cr_assert_str_eq(mb_jv_get(c0, "run_uuid")->str, run);
    cr_assert_str_eq(mb_jv_get(c0, "model")->str, "llama-3.2-1b");
    cr_assert_eq(mb_jv_get(c0, "mean_ts")->num, 41.5);
    cr_assert_eq(mb_jv_get(c0, "n_gen")->num, 128);
    cr_assert_eq(mb_jv_get(c0, "min_ts")->kind, MB_JV_NULL);
    cr_assert_str_eq(mb_jv_path(v, "cells.3.model")->str, "weird, \"quoted\"\nmodel");
    mb_jv_free(v);
    free(text);

    text = export_to_string(db, DB_FMT_JSON, DB_TABLE_CELLS, run);
    cr_assert_eq(mb_jv_parse(text, strlen(text), &v), 0);
    cr_assert_str_eq(mb_jv_get(v, "run")->str, run);
    cr_assert_eq(mb_jv_get(v, "runs")->n, 1);
    cr_assert_eq(mb_jv_get(v, "cells")->n, 3);
    cr_assert_eq(mb_jv_get(v, "reps")->n, 12);
    cr_assert_eq(mb_jv_get(v, "samples")->n, 19);
    cr_assert_eq(mb_jv_get(v, "devices")->n, 1);
    mb_jv_free(v);
    free(text);

    FILE *devnull = fopen("/dev/null", "w");
    cr_assert_eq(db_export(db, devnull, DB_FMT_JSON, DB_TABLE_CELLS, "ffffffff"), MB_ENOENT);
    fclose(devnull);
    db_close(db);
}

Test(db_merge, csv_export_parses_back)
{
    char a[512], run[DB_UUID_LEN];
    tu_path(a, dir, "a.db");
    db_t *db = tu_open_run(a, "fp-csv", run);
    cr_assert_eq(tu_commit(db, run, "llama-3.2-1b", "Q4_0", DB_CELL_OK, 3, 2), 0);
    cr_assert_eq(tu_commit(db, run, "weird, \"quoted\"\nmodel", "Q8_0", DB_CELL_SKIPPED, 0, 0),
                 0);

    char *text = export_to_string(db, DB_FMT_CSV, DB_TABLE_CELLS, NULL);
    csv_t c = csv_parse(text);
    cr_assert_eq(c.n, 3, "header + 2 rows, got %zu:\n%s", c.n, text);
    for (size_t i = 1; i < c.n; i++)
        cr_assert_eq(c.nf[i], c.nf[0], "row %zu has %zu fields, header %zu", i, c.nf[i],
                     c.nf[0]);
    cr_assert_str_eq(c.rows[1][csv_col(&c, "run_uuid")], run);
    cr_assert_str_eq(c.rows[1][csv_col(&c, "model")], "llama-3.2-1b");
    cr_assert_str_eq(c.rows[1][csv_col(&c, "mean_ts")], "41.5");
    cr_assert_str_eq(c.rows[1][csv_col(&c, "n_threads")], "2");
    cr_assert_str_eq(c.rows[1][csv_col(&c, "min_ts")], "");
    cr_assert_str_eq(c.rows[1][csv_col(&c, "device_fingerprint")], "fp-csv");
    cr_assert_str_eq(c.rows[2][csv_col(&c, "model")], "weird, \"quoted\"\nmodel");
    cr_assert_str_eq(c.rows[2][csv_col(&c, "status")], "skipped");
    csv_free(&c);
    free(text);

    text = export_to_string(db, DB_FMT_CSV, DB_TABLE_REPS, NULL);
    c = csv_parse(text);
    cr_assert_eq(c.n, 4);
    cr_assert_str_eq(c.rows[3][csv_col(&c, "idx")], "2");
    cr_assert_str_eq(c.rows[3][csv_col(&c, "tokens_per_s")], "42");
    csv_free(&c);
    free(text);

    for (int t = 0; t < DB_N_TABLES; t++) {
        text = export_to_string(db, DB_FMT_CSV, (db_table_t)t, run);
        c = csv_parse(text);
        cr_assert_geq(c.n, 1, "table %s has no header", db_table_name((db_table_t)t));
        csv_free(&c);
        free(text);
    }
    db_close(db);
}

Test(db_merge, source_in_a_read_only_directory_is_merged)
{
    char src_dir[512], src[600], dst_dir[512], dst[600], run[DB_UUID_LEN];
    tu_path(src_dir, dir, "ro");
    tu_path(dst_dir, dir, "rw");
    cr_assert_eq(mkdir(src_dir, 0755), 0);
    cr_assert_eq(mkdir(dst_dir, 0777), 0);
    cr_assert_eq(chmod(dst_dir, 0777), 0);
    snprintf(src, sizeof src, "%s/src.db", src_dir);
    snprintf(dst, sizeof dst, "%s/dst.db", dst_dir);
    build(src, "fp-ro", 2, run);
    cr_assert_eq(chmod(src_dir, 0555), 0);
    cr_assert_eq(chmod(dir, 0755), 0);
    if (geteuid() == 0)
        cr_assert_eq(seteuid(65534), 0);
    db_t *db = NULL;
    cr_assert_eq(db_open(dst, 0, &db), 0, "%s", mb_err_msg());
    db_counts_t add = merge(db, src);
    cr_assert_eq(add.cells, 2);
    db_close(db);
    if (geteuid() != getuid())
        cr_assert_eq(seteuid(getuid()), 0);
}
