/* test_db_version.c: a store whose schema version is outside 1..DB_SCHEMA_VERSION
 * (negative, 0 with tables, newer, huge) is refused by every entry point that
 * opens one (write, read-only, db merge source and destination, the CLI's
 * db check / export / merge and report) before any SQL runs: a message naming
 * the file, its version and the supported range, and the file byte-identical. */
#include "fixtures/db/db_test_util.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/wait.h>

static char dir[256];

static void setup(void)
{
    tu_mkdtemp(dir);
}

static void teardown(void)
{
    tu_rmdir(dir);
}

TestSuite(db_version, .init = setup, .fini = teardown, .timeout = 120);

/* A real store with two cells, then its version set to v. In rollback-journal
 * mode (DELETE), as a file copied from elsewhere may be: switching it to WAL
 * would rewrite its header, so any write before the check shows in the hash. */
static void make_store(const char *path, int v)
{
    char run[DB_UUID_LEN], sql[64];
    db_t *db = tu_open_run(path, "fp-version", run);
    cr_assert_eq(tu_commit(db, run, "llama-3.2-1b", "Q4_0", DB_CELL_OK, 3, 4), 0, "%s", mb_err_msg());
    cr_assert_eq(tu_commit(db, run, "llama-3.2-1b", "Q8_0", DB_CELL_OK, 3, 4), 0, "%s", mb_err_msg());
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
    cr_assert_eq(db_exec(db, sql), 0, "%s", mb_err_msg());
    cr_assert_eq(db_exec(db, "PRAGMA journal_mode = DELETE"), 0, "%s", mb_err_msg());
    db_close(db);
    char aux[600];
    snprintf(aux, sizeof aux, "%s-wal", path);
    cr_assert_neq(access(aux, F_OK), 0, "still in WAL mode");
}

static int expected_code(int v)
{
    return v == 0 ? MB_EFORMAT : MB_EVERSION;
}

static void expect_msg(const char *msg, const char *path, int v)
{
    char num[32];
    snprintf(num, sizeof num, "%d", v);
    cr_expect_neq(strstr(msg, path), NULL, "no file name: %s", msg);
    cr_expect_neq(strstr(msg, num), NULL, "no version %s: %s", num, msg);
    char range[32];
    snprintf(range, sizeof range, "1 to %d", DB_SCHEMA_VERSION);
    cr_expect_neq(strstr(msg, range), NULL, "no supported range: %s", msg);
    cr_expect_neq(strstr(msg, "untouched"), NULL, "%s", msg);
}

static const int BAD[] = {-1, -2, INT_MIN, 0, DB_SCHEMA_VERSION + 1, 1000000, INT_MAX};

static void api_case(int v)
{
    char path[512], good[512], before[65], after[65];
    snprintf(path, sizeof path, "%s/v%d.db", dir, v);
    snprintf(good, sizeof good, "%s/good%d.db", dir, v);
    make_store(path, v);
    cr_assert_eq(mb_sha256_file(path, before), 0);

    db_t *db = NULL;
    cr_expect_eq(db_open(path, 0, &db), expected_code(v), "write open, version %d: %s", v, mb_err_msg());
    cr_expect_null(db);
    expect_msg(mb_err_msg(), path, v);
    db_close(db);
    db = NULL;
    cr_expect_eq(db_open(path, DB_OPEN_READONLY, &db), expected_code(v), "read-only, version %d: %s", v,
                 mb_err_msg());
    expect_msg(mb_err_msg(), path, v);
    db_close(db);
    db = NULL;
    cr_expect_eq(db_open(path, DB_OPEN_NOCREATE, &db), expected_code(v));
    db_close(db);

    /* as the source of a merge: refused, the destination gains nothing */
    char run[DB_UUID_LEN];
    db = tu_open_run(good, "fp-good", run);
    cr_assert_eq(tu_commit(db, run, "llama-3.2-1b", "Q4_0", DB_CELL_OK, 3, 4), 0);
    db_counts_t c0, c1, add;
    cr_assert_eq(db_counts(db, &c0), 0);
    cr_expect_eq(db_merge(db, path, &add), expected_code(v), "merge source, version %d: %s", v,
                 mb_err_msg());
    expect_msg(mb_err_msg(), path, v);
    cr_assert_eq(db_counts(db, &c1), 0);
    cr_expect_eq(memcmp(&c0, &c1, sizeof c0), 0, "the destination changed");
    db_close(db);

    cr_assert_eq(mb_sha256_file(path, after), 0);
    cr_expect_str_eq(before, after, "version %d: the refused file was modified", v);
}

Test(db_version, negative_versions_are_refused_untouched)
{
    api_case(-1);
    api_case(-2);
    api_case(INT_MIN);
}

Test(db_version, version_zero_with_tables_is_refused_untouched)
{
    api_case(0);
}

Test(db_version, newer_and_huge_versions_are_refused_untouched)
{
    api_case(DB_SCHEMA_VERSION + 1);
    api_case(1000000);
    api_case(INT_MAX);
}

Test(db_version, empty_file_at_version_zero_is_a_new_store)
{
    char path[512];
    tu_path(path, dir, "empty.db");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    close(fd);
    db_t *db = NULL;
    /* read-only: not a store yet, and still empty afterwards */
    cr_expect_neq(db_open(path, DB_OPEN_READONLY, &db), 0);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_expect_eq(sb.st_size, 0);
    cr_assert_eq(db_open(path, 0, &db), 0, "%s", mb_err_msg());
    db_check_t chk;
    cr_assert_eq(db_check(db, &chk), 0);
    cr_expect(chk.ok, "%s / %s", chk.integrity, chk.schema_diff);
    cr_expect_eq(chk.schema_version, DB_SCHEMA_VERSION);
    db_close(db);
}

/* ---- the same through the binary ------------------------------------------------ */
static int run_bin(const char *args, char **err)
{
    char cmd[4096], errf[300];
    snprintf(errf, sizeof errf, "%s/stderr", dir);
    snprintf(cmd, sizeof cmd, "MOBENCH_DB= MOBENCH_CACHE='%s/cache' %s %s >/dev/null 2>'%s'", dir, MB_BIN,
             args, errf);
    int st = system(cmd);
    size_t len;
    *err = NULL;
    cr_assert_eq(mb_file_read(errf, 1 << 20, err, &len), 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(db_version, cli_entry_points_refuse_and_leave_the_file)
{
    for (size_t k = 0; k < MB_ARRAY_LEN(BAD); k++) {
        int v = BAD[k];
        char path[512], good[512], before[65], after[65], gbefore[65], gafter[65], args[1500];
        snprintf(path, sizeof path, "%s/cli%d.db", dir, v);
        snprintf(good, sizeof good, "%s/cligood%d.db", dir, v);
        make_store(path, v);
        char run[DB_UUID_LEN];
        db_t *gdb = tu_open_run(good, "fp-good", run); /* a sound store in WAL mode */
        cr_assert_eq(tu_commit(gdb, run, "llama-3.2-1b", "Q4_0", DB_CELL_OK, 3, 4), 0);
        db_close(gdb);
        cr_assert_eq(mb_sha256_file(path, before), 0);
        cr_assert_eq(mb_sha256_file(good, gbefore), 0);
        for (int c = 0; c < 5; c++) {
            switch (c) {
            case 0: snprintf(args, sizeof args, "db check --db '%s'", path); break;
            case 1: snprintf(args, sizeof args, "db export --format json --db '%s'", path); break;
            case 2: snprintf(args, sizeof args, "report --db '%s' --out '%s.report'", path, path); break;
            case 3: snprintf(args, sizeof args, "db merge '%s' --db '%s'", path, good); break; /* bad source */
            default: snprintf(args, sizeof args, "db merge '%s' --db '%s'", good, path); break; /* bad destination */
            }
            char *err;
            int rc = run_bin(args, &err);
            cr_expect_eq(rc, 1, "version %d: mobench %s: exit %d: %s", v, args, rc, err);
            expect_msg(err, path, v);
            free(err);
        }
        cr_assert_eq(mb_sha256_file(path, after), 0);
        cr_expect_str_eq(before, after, "version %d: the refused file was modified", v);
        cr_assert_eq(mb_sha256_file(good, gafter), 0);
        cr_expect_str_eq(gbefore, gafter, "version %d: the merge destination was modified", v);
    }
}
