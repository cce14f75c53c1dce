/* test_db_bad.c: a locked database, read-only files and directories, a full
 * disk. Each case gives a clear error naming the file and loses no row that
 * was already stored. */
#include "fixtures/db/db_test_util.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

static char dir[256];
static char path[512];

static void setup(void)
{
    tu_mkdtemp(dir);
    tu_path(path, dir, "bad.db");
}

static void teardown(void)
{
    if (geteuid() != getuid())
        cr_assert_eq(seteuid(getuid()), 0);
    tu_rmdir(dir);
}

TestSuite(db_bad, .init = setup, .fini = teardown);

Test(db_bad, locked_database_times_out_with_ebusy_then_recovers)
{
    char run[DB_UUID_LEN];
    db_t *a = tu_open_run(path, "fp-lock", run);
    cr_assert_eq(tu_commit(a, run, "m", "Q4_0", DB_CELL_OK, 3, 3), 0);
    db_t *b = NULL;
    cr_assert_eq(db_open(path, 0, &b), 0, "%s", mb_err_msg());
    cr_assert_eq(db_exec(b, "BEGIN IMMEDIATE"), 0, "%s", mb_err_msg());

    cr_assert_eq(db_busy_timeout_set(a, 300), 0);
    uint64_t t0 = mb_clock_ns();
    int err = tu_commit(a, run, "m", "Q8_0", DB_CELL_OK, 3, 3);
    double waited_ms = (double)(mb_clock_ns() - t0) / 1e6;
    cr_assert_eq(err, MB_EBUSY, "got %d: %s", err, mb_err_msg());
    cr_assert_geq(waited_ms, 250.0, "gave up after %.0f ms, before the busy timeout", waited_ms);
    cr_assert_neq(strstr(mb_err_msg(), path), NULL, "message names the file: %s", mb_err_msg());
    cr_assert_neq(strstr(mb_err_msg(), "locked"), NULL, "%s", mb_err_msg());

    cr_assert_eq(db_exec(b, "ROLLBACK"), 0);
    db_close(b);
    cr_assert_eq(tu_commit(a, run, "m", "Q8_0", DB_CELL_OK, 3, 3), 0, "%s", mb_err_msg());
    db_counts_t k = tu_counts(a);
    cr_assert_eq(k.cells, 2);
    cr_assert_eq(k.reps, 6);
    db_close(a);
}

Test(db_bad, a_short_lock_is_waited_for)
{
    char run[DB_UUID_LEN];
    db_t *a = tu_open_run(path, "fp-wait", run);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        /* the other writer: hold the write lock for 400 ms */
        db_t *b = NULL;
        if (db_open(path, 0, &b) || db_exec(b, "BEGIN IMMEDIATE"))
            _exit(1);
        if (write(p[1], "L", 1) != 1)
            _exit(2);
        mb_clock_sleep_ns(400000000ull);
        int rc = db_exec(b, "COMMIT") ? 3 : 0;
        db_close(b);
        _exit(rc);
    }
    char ch;
    cr_assert_eq(read(p[0], &ch, 1), 1, "the lock holder did not start");
    uint64_t t0 = mb_clock_ns();
    int err = tu_commit(a, run, "m", "Q4_0", DB_CELL_OK, 2, 2); /* default 5 s timeout */
    double waited_ms = (double)(mb_clock_ns() - t0) / 1e6;
    int status = 0;
    waitpid(pid, &status, 0);
    cr_assert_eq(err, 0, "%s", mb_err_msg());
    cr_assert_geq(waited_ms, 200.0, "the commit did not wait for the lock (%.0f ms)", waited_ms);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_eq(tu_counts(a).cells, 1);
    db_close(a);
    close(p[0]);
    close(p[1]);
}

/* Root ignores file modes: become an unprivileged user for the read-only
 * cases (the effective uid only, so the teardown can switch back). */
static void drop_privileges(void)
{
    if (geteuid() == 0) {
        cr_assert_eq(chmod(dir, 0755), 0);
        cr_assert_eq(seteuid(65534), 0, "seteuid(nobody): %s", strerror(errno));
    }
}

Test(db_bad, read_only_file_is_eperm_for_writers_and_readable)
{
    char run[DB_UUID_LEN];
    db_t *db = tu_open_run(path, "fp-ro", run);
    cr_assert_eq(tu_commit(db, run, "m", "Q4_0", DB_CELL_OK, 3, 3), 0);
    db_close(db);
    cr_assert_eq(chmod(path, 0444), 0);
    drop_privileges();

    db = NULL;
    int err = db_open(path, 0, &db);
    cr_assert_eq(err, MB_EPERM, "got %d: %s", err, mb_err_msg());
    cr_assert_null(db);
    cr_assert_neq(strstr(mb_err_msg(), path), NULL, "%s", mb_err_msg());
    cr_assert_neq(strstr(mb_err_msg(), "read-only"), NULL, "%s", mb_err_msg());

    /* reports can still read it */
    err = db_open(path, DB_OPEN_READONLY, &db);
    cr_assert_eq(err, 0, "read-only open: %s", mb_err_msg());
    db_counts_t k = tu_counts(db);
    cr_assert_eq(k.cells, 1);
    cr_assert_eq(k.reps, 3);
    db_close(db);
}

Test(db_bad, read_only_directory_is_eperm)
{
    char sub[512], file[600];
    tu_path(sub, dir, "ro");
    cr_assert_eq(mkdir(sub, 0555), 0);
    snprintf(file, sizeof file, "%s/new.db", sub);
    drop_privileges();
    db_t *db = NULL;
    int err = db_open(file, 0, &db);
    cr_assert_eq(err, MB_EPERM, "got %d: %s", err, mb_err_msg());
    cr_assert_neq(strstr(mb_err_msg(), file), NULL, "%s", mb_err_msg());
    cr_assert_eq(access(file, F_OK), -1);
}

Test(db_bad, missing_directory_is_enoent)
{
    char file[600];
    snprintf(file, sizeof file, "%s/no/such/dir/x.db", dir);
    db_t *db = NULL;
    int err = db_open(file, 0, &db);
    cr_assert_eq(err, MB_ENOENT, "got %d: %s", err, mb_err_msg());
}

Test(db_bad, full_disk_fails_the_cell_and_keeps_earlier_rows)
{
    char run[DB_UUID_LEN];
    db_t *db = tu_open_run(path, "fp-full", run);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(tu_commit(db, run, "m", "Q4_0", DB_CELL_OK, 5, 20), 0);
    db_counts_t before = tu_counts(db);

    /* The page limit cannot go below the current size: this freezes it. */
    cr_assert_eq(db_exec(db, "PRAGMA max_page_count = 1"), 0);
    int err = tu_commit(db, run, "m", "Q8_0", DB_CELL_OK, 5, 5000);
    cr_assert_eq(err, MB_ENOSPC, "got %d: %s", err, mb_err_msg());
    cr_assert_neq(strstr(mb_err_msg(), path), NULL, "%s", mb_err_msg());
    cr_assert_neq(strstr(mb_err_msg(), "earlier rows are intact"), NULL, "%s", mb_err_msg());

    db_counts_t after = tu_counts(db);
    cr_assert_eq(after.cells, before.cells);
    cr_assert_eq(after.reps, before.reps);
    cr_assert_eq(after.samples, before.samples);
    db_check_t c;
    cr_assert_eq(db_check(db, &c), 0);
    cr_assert(c.ok, "%s", c.integrity);

    /* space comes back: the same cell can be stored */
    cr_assert_eq(db_exec(db, "PRAGMA max_page_count = 1000000"), 0);
    cr_assert_eq(tu_commit(db, run, "m", "Q8_0", DB_CELL_OK, 5, 5000), 0, "%s", mb_err_msg());
    cr_assert_eq(tu_counts(db).cells, before.cells + 1);
    db_close(db);

    /* and everything survives a reopen */
    cr_assert_eq(db_open(path, 0, &db), 0);
    cr_assert_eq(tu_counts(db).cells, before.cells + 1);
    db_close(db);
}

Test(db_bad, killed_writer_loses_no_committed_cell)
{
    char run[DB_UUID_LEN];
    db_t *db = tu_open_run(path, "fp-kill", run);
    db_close(db);
    int64_t acked_total = 0;
    for (int round = 0; round < 10; round++) {
        int p[2];
        cr_assert_eq(pipe(p), 0);
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            close(p[0]);
            db_t *w = NULL;
            if (db_open(path, 0, &w))
                _exit(1);
            for (;;) {
                if (tu_commit(w, run, "m", "Q4_0", DB_CELL_OK, 5, 30))
                    _exit(2);
                if (write(p[1], "c", 1) != 1) /* acknowledged = committed */
                    _exit(3);
            }
        }
        close(p[1]);
        char ch;
        int acked = 0;
        int want = 1 + (int)(mb_clock_ns() % 7);
        while (acked < want && read(p[0], &ch, 1) == 1)
            acked++;
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        cr_assert(WIFSIGNALED(status), "the writer failed on its own: %d", status);
        /* drain the acks sent before the kill */
        while (read(p[0], &ch, 1) == 1)
            acked++;
        close(p[0]);
        acked_total += acked;

        cr_assert_eq(db_open(path, 0, &db), 0, "%s", mb_err_msg());
        db_check_t c;
        cr_assert_eq(db_check(db, &c), 0);
        cr_assert(c.ok, "round %d: %s", round, c.integrity);
        cr_assert_geq(c.counts.cells, acked_total, "round %d: %lld acknowledged, %lld stored",
                      round, (long long)acked_total, (long long)c.counts.cells);
        cr_assert_eq(c.counts.reps, c.counts.cells * 5, "a cell was stored without its reps");
        cr_assert_eq(c.counts.samples, c.counts.cells * 30);
        acked_total = c.counts.cells; /* a commit may land just before its ack */
        db_close(db);
    }
}
