/* test_db_fault.c: a disk that fails while a cell is written. MOBENCH_DB_FAULT
 * (db/db_fault.c) opens the store through a shim VFS that fails one write with
 * SQLITE_IOERR_WRITE (EIO) or SQLITE_FULL (ENOSPC). For every write of a cell's
 * transaction in turn: the cell is refused with a clear error naming the file,
 * the rows committed before are intact (integrity_check), the next cell and
 * the run's end are stored. Through the binary: bench stops with the error and
 * the run is closed, not left `running`. The counters are per process, so each
 * case runs in a child process of its own. */
#include "fixtures/db/db_test_util.h"

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

TestSuite(db_fault, .init = setup, .fini = teardown, .timeout = 300);

/* A store with one run and three ok cells, closed (so checkpointed). */
static void make_base(const char *path, char run[DB_UUID_LEN])
{
    db_t *db = tu_open_run(path, "fp-fault", run);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(tu_commit(db, run, "llama-3.2-1b", "Q4_0", DB_CELL_OK, 5, 20), 0, "%s", mb_err_msg());
    db_close(db);
}

typedef struct {
    int open_rc, a_rc, b_rc, end_rc;
    char a_msg[1024], b_msg[1024], end_msg[1024];
} child_out_t;

/* In a child with MOBENCH_DB_FAULT=spec: open, commit cell A then cell B,
 * close the run. What happened goes back through a pipe. */
static void run_child(const char *path, const char *run, const char *spec, child_out_t *out)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        child_out_t o;
        memset(&o, 0, sizeof o);
        setenv("MOBENCH_DB_FAULT", spec, 1);
        db_t *db = NULL;
        o.open_rc = db_open(path, 0, &db);
        if (!o.open_rc) {
            /* many samples: the cell spans several pages, so several writes */
            o.a_rc = tu_commit(db, run, "qwen3-0.6b", "Q8_0", DB_CELL_OK, 5, 400);
            snprintf(o.a_msg, sizeof o.a_msg, "%s", o.a_rc ? mb_err_msg() : "");
            o.b_rc = tu_commit(db, run, "qwen3-0.6b", "Q4_K_M", DB_CELL_OK, 5, 20);
            snprintf(o.b_msg, sizeof o.b_msg, "%s", o.b_rc ? mb_err_msg() : "");
            o.end_rc = db_run_status_set(db, run, DB_RUN_DONE);
            snprintf(o.end_msg, sizeof o.end_msg, "%s", o.end_rc ? mb_err_msg() : "");
        } else {
            snprintf(o.a_msg, sizeof o.a_msg, "%s", mb_err_msg());
        }
        db_close(db);
        ssize_t w = write(fds[1], &o, sizeof o);
        _exit(w == (ssize_t)sizeof o ? 0 : 3);
    }
    close(fds[1]);
    size_t got = 0;
    while (got < sizeof *out) {
        ssize_t r = read(fds[0], (char *)out + got, sizeof *out - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fds[0]);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 && got == sizeof *out, "child died: status %d", st);
}

static void expect_clear(int rc, const char *msg, const char *path, bool full, const char *what)
{
    cr_expect_eq(rc, full ? MB_ENOSPC : MB_EIO, "%s: code %d (%s): %s", what, rc, mb_err_str(rc), msg);
    cr_expect_neq(strstr(msg, path), NULL, "%s: the message does not name the file: %s", what, msg);
    if (full)
        cr_expect_neq(strstr(msg, "earlier rows are intact"), NULL, "%s: %s", what, msg);
    else
        cr_expect_neq(strstr(msg, "I/O error"), NULL, "%s: %s", what, msg);
}

/* The Nth write, for N = 1, 2, ... until the fault lands past the work. */
static void each_write(bool full)
{
    char base[512], work[512], run[DB_UUID_LEN];
    tu_path(base, dir, "base.db");
    tu_path(work, dir, "work.db");
    make_base(base, run);
    int hit_a = 0, hit_b = 0, hit_end = 0;
    int n;
    for (n = 1; n < 200; n++) {
        unlink(work);
        tu_copy(base, work);
        char spec[64];
        snprintf(spec, sizeof spec, "%s:write:%d", full ? "full" : "ioerr", n);
        child_out_t o;
        run_child(work, run, spec, &o);
        cr_assert_eq(o.open_rc, 0, "%s: opening an existing store writes nothing, yet: %s", spec, o.a_msg);
        int failed = (o.a_rc != 0) + (o.b_rc != 0) + (o.end_rc != 0);
        cr_expect_leq(failed, 1, "%s: one write failed but %d calls did (%d %d %d: %s / %s / %s)", spec,
                      failed, o.a_rc, o.b_rc, o.end_rc, o.a_msg, o.b_msg, o.end_msg);
        if (o.a_rc) {
            hit_a++;
            expect_clear(o.a_rc, o.a_msg, work, full, spec);
        }
        if (o.b_rc) {
            hit_b++;
            expect_clear(o.b_rc, o.b_msg, work, full, spec);
        }
        if (o.end_rc) {
            hit_end++;
            expect_clear(o.end_rc, o.end_msg, work, full, spec);
        }

        /* afterwards, without the fault: sound, and exactly what was acknowledged */
        db_t *db = NULL;
        cr_assert_eq(db_open(work, DB_OPEN_READONLY, &db), 0, "%s: %s", spec, mb_err_msg());
        db_check_t chk;
        cr_assert_eq(db_check(db, &chk), 0, "%s", mb_err_msg());
        cr_expect(chk.ok, "%s: %s / %s", spec, chk.integrity, chk.schema_diff);
        cr_expect_eq(chk.counts.cells, 3 + (o.a_rc == 0) + (o.b_rc == 0), "%s: %lld cells", spec,
                     (long long)chk.counts.cells);
        cr_expect_eq(chk.counts.reps, 5 * (3 + (o.a_rc == 0) + (o.b_rc == 0)), "%s: half a cell", spec);
        db_run_t *runs = NULL;
        size_t nr = 0;
        cr_assert_eq(db_runs_get(db, &(db_filter_t){0}, &runs, &nr), 0, "%s", mb_err_msg());
        cr_assert_eq(nr, 1);
        cr_expect_eq(runs[0].status, o.end_rc ? DB_RUN_RUNNING : DB_RUN_DONE, "%s", spec);
        db_runs_free(runs, nr);
        db_close(db);
        if (!failed)
            break; /* the Nth write came after all the work: every write was tried */
    }
    cr_expect_lt(n, 200, "the fault never stopped landing");
    cr_expect_geq(hit_a, 2, "the big cell's transaction was hit by %d faults", hit_a);
    cr_expect_geq(hit_b, 1);
    cr_expect_geq(hit_end, 1);
}

Test(db_fault, io_error_on_each_write_refuses_that_cell_only)
{
    each_write(false);
}

Test(db_fault, full_disk_on_each_write_refuses_that_cell_only)
{
    each_write(true);
}

Test(db_fault, bad_spec_is_refused_before_the_file_is_made)
{
    char path[512];
    tu_path(path, dir, "never.db");
    setenv("MOBENCH_DB_FAULT", "ioerr:sometimes", 1);
    db_t *db = NULL;
    cr_expect_eq(db_open(path, 0, &db), MB_EINVAL);
    cr_expect_neq(strstr(mb_err_msg(), "KIND:WHERE:N"), NULL, "%s", mb_err_msg());
    cr_expect_neq(access(path, F_OK), 0, "the store was created anyway");
    unsetenv("MOBENCH_DB_FAULT");
}

/* ---- through the binary: bench with three cells, the second one's write fails ---- */
static int run_bin(const char *env, const char *args, char **err)
{
    char cmd[2048], errf[300];
    snprintf(errf, sizeof errf, "%s/stderr", dir);
    snprintf(cmd, sizeof cmd, "MOBENCH_DB= MOBENCH_CACHE='%s/cache' %s %s %s >/dev/null 2>'%s'", dir, env,
             MB_BIN, args, errf);
    int st = system(cmd);
    size_t len;
    *err = NULL;
    cr_assert_eq(mb_file_read(errf, 1 << 20, err, &len), 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void bench_case(const char *kind)
{
    char path[512], env[128], args[1024], *err;
    snprintf(path, sizeof path, "%s/%s.db", dir, kind);
    snprintf(env, sizeof env, "MOBENCH_DB_FAULT=%s:cell:2", kind);
    snprintf(args, sizeof args, "bench -m tiny-llama -p 8,9,10 -n 0 -r 1 -t 1 --no-warmup --no-roofline --db '%s'",
             path);
    int rc = run_bin(env, args, &err);
    cr_expect_eq(rc, 1, "%s: exit %d: %s", kind, rc, err);
    cr_expect_neq(strstr(err, "cannot store cell"), NULL, "%s", err);
    cr_expect_neq(strstr(err, path), NULL, "%s", err);
    if (!strcmp(kind, "full"))
        cr_expect_neq(strstr(err, "earlier rows are intact"), NULL, "%s", err);
    else
        cr_expect_neq(strstr(err, "I/O error"), NULL, "%s", err);
    free(err);

    db_t *db = NULL;
    cr_assert_eq(db_open(path, DB_OPEN_READONLY, &db), 0, "%s", mb_err_msg());
    db_check_t chk;
    cr_assert_eq(db_check(db, &chk), 0, "%s", mb_err_msg());
    cr_expect(chk.ok, "%s: %s", kind, chk.integrity);
    db_cell_t *cells = NULL;
    size_t nc = 0;
    cr_assert_eq(db_cells_get(db, &(db_filter_t){0}, &cells, &nc), 0, "%s", mb_err_msg());
    /* the first cell was stored before the fault; the second one could not be */
    cr_expect_geq(nc, 1, "%s: the cell stored before the fault is gone", kind);
    cr_expect(nc >= 1 && cells[0].status == DB_CELL_OK && cells[0].n_prompt == 8, "%s", kind);
    for (size_t i = 0; i < nc; i++)
        cr_expect(!(cells[i].n_prompt == 9 && cells[i].status == DB_CELL_OK),
                  "%s: the cell whose write failed is stored as ok", kind);
    db_cells_free(cells, nc);
    db_run_t *runs = NULL;
    size_t nr = 0;
    cr_assert_eq(db_runs_get(db, &(db_filter_t){0}, &runs, &nr), 0, "%s", mb_err_msg());
    cr_assert_eq(nr, 1);
    cr_expect_neq(runs[0].status, DB_RUN_RUNNING, "%s: the run was left running", kind);
    cr_expect(isfinite(runs[0].ended), "%s: the run has no end time", kind);
    db_runs_free(runs, nr);
    db_close(db);
}

Test(db_fault, bench_io_error_mid_run_closes_the_run)
{
    bench_case("ioerr");
}

Test(db_fault, bench_full_disk_mid_run_closes_the_run)
{
    bench_case("full");
}
