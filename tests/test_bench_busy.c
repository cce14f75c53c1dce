/* test_bench_busy.c: --busy-timeout on the real binary. Another connection
 * holds the store's write lock: bench waits about the busy timeout, then
 * fails with a clear message; the rows stored before are intact. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "db.h"

static char g_dir[256];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mb-bench-busy-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(bench_busy, .init = setup, .fini = teardown, .timeout = 120);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs MB_BIN args; stderr into *err; returns the exit status. */
static int run(const char *args, char **err)
{
    char cmd[2048], errf[300];
    snprintf(errf, sizeof errf, "%s/err", g_dir);
    snprintf(cmd, sizeof cmd, "MOBENCH_CACHE='%s/cache' %s %s >/dev/null 2>'%s'", g_dir, MB_BIN, args, errf);
    int st = system(cmd);
    size_t len;
    *err = NULL;
    cr_assert_eq(mb_file_read(errf, 1 << 20, err, &len), 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int64_t n_cells(const char *db_path)
{
    db_t *db;
    cr_assert_eq(db_open(db_path, DB_OPEN_READONLY, &db), 0, "%s", mb_err_msg());
    db_counts_t c;
    cr_assert_eq(db_counts(db, &c), 0, "%s", mb_err_msg());
    db_close(db);
    return (int64_t)c.cells;
}

Test(bench_busy, locked_store_waits_the_busy_timeout_then_fails)
{
    char db_path[300], args[1024], *err;
    snprintf(db_path, sizeof db_path, "%s/b.db", g_dir);
    snprintf(args, sizeof args, "bench -m tiny-llama -p 8 -n 0 -r 1 -t 1 --no-warmup --no-roofline --db %s",
             db_path);
    cr_assert_eq(run(args, &err), 0, "%s", err);
    free(err);
    int64_t before = n_cells(db_path);
    cr_assert_eq(before, 1);

    /* another writer holds the lock */
    db_t *holder;
    cr_assert_eq(db_open(db_path, 0, &holder), 0, "%s", mb_err_msg());
    cr_assert_eq(db_exec(holder, "BEGIN IMMEDIATE"), 0, "%s", mb_err_msg());

    snprintf(args, sizeof args, "bench -m tiny-llama -p 8 -n 0 -r 1 -t 1 --no-warmup --no-roofline --db %s "
             "--busy-timeout 1500", db_path);
    double t0 = now_s();
    int rc = run(args, &err);
    double took = now_s() - t0;
    cr_expect_eq(rc, 1, "%s", err);
    cr_expect(strstr(err, "is locked by another writer"), "%s", err);
    cr_expect(strstr(err, "waited 1500 ms"), "%s", err);
    cr_expect(strstr(err, "--busy-timeout"), "%s", err);
    /* it waited (about) the timeout, not the 5 s default, not forever */
    cr_expect_geq(took, 1.4, "gave up after %.2f s", took);
    cr_expect_lt(took, 4.9, "waited %.2f s: the busy timeout was not applied", took);
    free(err);

    /* a short timeout gives up sooner */
    snprintf(args, sizeof args, "bench -m tiny-llama -p 8 -n 0 -r 1 -t 1 --no-warmup --no-roofline --db %s "
             "--busy-timeout 100", db_path);
    t0 = now_s();
    rc = run(args, &err);
    double took_short = now_s() - t0;
    cr_expect_eq(rc, 1, "%s", err);
    cr_expect_lt(took_short, took, "100 ms: %.2f s, 1500 ms: %.2f s", took_short, took);
    free(err);

    cr_assert_eq(db_exec(holder, "ROLLBACK"), 0, "%s", mb_err_msg());
    db_close(holder);
    cr_assert_eq(n_cells(db_path), before, "the rows stored before are intact");
    db_t *db;
    cr_assert_eq(db_open(db_path, DB_OPEN_READONLY, &db), 0);
    db_check_t chk;
    cr_assert_eq(db_check(db, &chk), 0);
    cr_assert(chk.ok, "%s", chk.integrity);
    db_close(db);
}
