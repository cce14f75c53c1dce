/* test_bench_crash.c: the sweep survives what labs throw at it, on the real
 * mobench binary, the tiny model and the SQLite store:
 *  - SIGKILL of the sweep process at random points, >= 10 times: after
 *    each, integrity_check is ok and no finished cell is lost; --resume
 *    then completes the run;
 *  - the crash hook (MOBENCH_TEST_CRASH_CELL): a failed row, next cell runs;
 *  - two sweeps writing the same database at once lose no rows. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "db.h"

#define SWEEP MB_FIXTURES "/sweeps/tiny.ini"
#define N_CELLS 4

static char g_dir[256];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mb-bench-crash-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

/* Starts mobench with args (NULL-terminated), output to /dev/null. */
static pid_t spawn(const char *const *args, const char *crash_cell)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        if (crash_cell)
            setenv("MOBENCH_TEST_CRASH_CELL", crash_cell, 1);
        else
            unsetenv("MOBENCH_TEST_CRASH_CELL");
        setenv("MOBENCH_DB", "/nonexistent/never-used.db", 1);
        char cache[300];
        snprintf(cache, sizeof cache, "%s/cache", g_dir);
        setenv("MOBENCH_CACHE", cache, 1);
        execv(MB_BIN, (char *const *)args);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid)
{
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

typedef struct {
    int finished;   /* cells of the run with a final status (not interrupted) */
    int ok;
    int failed;
    int dup;        /* finished cells stored twice */
    char keys[64][128];
} cells_t;

static int count_cb(void *ctx, const db_cell_t *c)
{
    cells_t *k = ctx;
    if (c->status == DB_CELL_INTERRUPTED)
        return 0;
    char key[128];
    snprintf(key, sizeof key, "%s/%s/%d/%d/%d", c->model, c->recipe, (int)c->test, c->n_prompt, c->n_gen);
    for (int i = 0; i < k->finished && i < 64; i++)
        if (!strcmp(k->keys[i], key))
            k->dup++;
    if (k->finished < 64)
        snprintf(k->keys[k->finished], sizeof k->keys[0], "%s", key);
    k->finished++;
    k->ok += c->status == DB_CELL_OK;
    k->failed += c->status == DB_CELL_FAILED;
    return 0;
}

/* SQLite creates the file at open (and may write its header when the
 * journal mode is set) before the schema's transaction commits: a kill in
 * between leaves a file at schema version 0 with no tables, which is no
 * store yet, and which a read-only open refuses as such. */
static bool not_yet_a_store(int rc)
{
    return rc == MB_EFORMAT && strstr(mb_err_msg(), "not yet a mobench store");
}

/* Integrity and the finished cells of one run (NULL: every run). */
static void check_db(const char *path, const char *run, cells_t *k)
{
    memset(k, 0, sizeof *k);
    if (access(path, F_OK))
        return; /* killed before the database was created */
    db_t *db;
    int rc = db_open(path, DB_OPEN_READONLY, &db);
    if (not_yet_a_store(rc))
        return;
    cr_assert_eq(rc, 0, "%s", mb_err_msg());
    db_check_t chk;
    cr_assert_eq(db_check(db, &chk), 0, "%s", mb_err_msg());
    cr_assert(chk.ok, "integrity: %s, fk violations %lld", chk.integrity, (long long)chk.fk_violations);
    db_filter_t f = {.run = run};
    rc = db_cells_each(db, &f, count_cb, k);
    cr_assert(rc == 0 || rc == MB_ENOENT, "%s", mb_err_msg());
    db_close(db);
}

static int n_runs(const char *path)
{
    if (access(path, F_OK))
        return 0;
    db_t *db;
    int rc = db_open(path, DB_OPEN_READONLY, &db);
    if (not_yet_a_store(rc))
        return 0;
    cr_assert_eq(rc, 0, "%s", mb_err_msg());
    db_counts_t c;
    cr_assert_eq(db_counts(db, &c), 0);
    db_close(db);
    return (int)c.runs;
}

static double now_s(void)
{
    return (double)mb_clock_ns() * 1e-9;
}

Test(crash, sigkill_at_random_points_then_resume, .init = setup, .fini = teardown, .timeout = 150)
{
    char dbp[300], ref[300];
    snprintf(dbp, sizeof dbp, "%s/sweep.db", g_dir);
    snprintf(ref, sizeof ref, "%s/ref.db", g_dir);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    /* A full run first (also fills the model cache): its length scales the kill points. */
    const char *args_ref[] = {MB_BIN, "sweep", SWEEP, "--db", ref, "--progress", "off", "--no-roofline", NULL};
    double t0 = now_s();
    cr_assert_eq(wait_exit(spawn(args_ref, NULL)), 0);
    double full = now_s() - t0;
    int prev_finished = 0, kills = 0;
    for (int i = 0; i < 40 && kills < 10; i++) {
        /* Resume the latest run unless it is complete; then start a new one. */
        cells_t k;
        check_db(dbp, "latest", &k);
        bool resume = n_runs(dbp) > 0 && k.finished < N_CELLS;
        const char *args_new[] = {MB_BIN, "sweep", SWEEP, "--db", dbp, "--progress", "off", "--no-roofline", NULL};
        const char *args_res[] = {MB_BIN, "sweep", SWEEP, "--db", dbp, "--progress", "off", "--no-roofline", "--resume", NULL};
        pid_t pid = spawn(resume ? args_res : args_new, NULL);
        /* Before the store opens, mid-cell, between commits, at the end:
         * within what the cells left to run take, so that most runs die. */
        int left = resume ? N_CELLS - k.finished : N_CELLS;
        double span = 0.8 * full * (0.25 + 0.75 * left / N_CELLS);
        usleep((useconds_t)((double)(rand() % 1000) / 1000.0 * span * 1e6));
        kill(pid, SIGKILL);
        kills += wait_exit(pid) == 128 + SIGKILL;
        check_db(dbp, "latest", &k);
        cr_assert_eq(k.dup, 0, "a finished cell was run again after a resume");
        if (resume)
            cr_assert_geq(k.finished, prev_finished, "finished cells lost: %d -> %d", prev_finished, k.finished);
        prev_finished = k.finished;
    }
    cr_assert_geq(kills, 10, "only %d of the runs were killed mid-way", kills);
    /* Then --resume completes the run (or a new one if the last was complete). */
    cells_t k;
    check_db(dbp, "latest", &k);
    const char *args_res[] = {MB_BIN, "sweep", SWEEP, "--db", dbp, "--progress", "off", "--no-roofline", "--resume", NULL};
    const char *args_new[] = {MB_BIN, "sweep", SWEEP, "--db", dbp, "--progress", "off", "--no-roofline", NULL};
    int st = wait_exit(spawn(n_runs(dbp) && k.finished < N_CELLS ? args_res : args_new, NULL));
    cr_assert_eq(st, 0, "the resumed sweep exited with %d", st);
    check_db(dbp, "latest", &k);
    cr_assert_eq(k.finished, N_CELLS, "the resumed run has %d of %d cells", k.finished, N_CELLS);
    cr_assert_eq(k.ok, N_CELLS);
    cr_assert_eq(k.dup, 0);
}

Test(crash, crash_hook_cell_fails_next_runs, .init = setup, .fini = teardown, .timeout = 60)
{
    char dbp[300];
    snprintf(dbp, sizeof dbp, "%s/hook.db", g_dir);
    const char *args[] = {MB_BIN, "sweep", SWEEP, "--db", dbp, "--progress", "off", "--no-roofline", NULL};
    int st = wait_exit(spawn(args, "1"));
    cr_assert_eq(st, 0);
    db_t *db;
    cr_assert_eq(db_open(dbp, DB_OPEN_READONLY, &db), 0);
    db_cell_t *cells;
    size_t n;
    db_filter_t f = {.run = "latest"};
    cr_assert_eq(db_cells_get(db, &f, &cells, &n), 0);
    cr_assert_eq(n, N_CELLS);
    cr_assert_eq(cells[0].status, DB_CELL_OK);
    cr_assert_eq(cells[1].status, DB_CELL_FAILED);
    cr_assert(strstr(cells[1].reason, "crashed: SIGSEGV"), "%s", cells[1].reason);
    cr_assert_eq(cells[2].status, DB_CELL_OK);
    cr_assert_eq(cells[3].status, DB_CELL_OK);
    db_cells_free(cells, n);
    db_close(db);
}

Test(crash, two_sweeps_same_db_lose_no_rows, .init = setup, .fini = teardown, .timeout = 60)
{
    char dbp[300];
    snprintf(dbp, sizeof dbp, "%s/shared.db", g_dir);
    /* Create the database first, so the two do not race on the schema. */
    db_t *db;
    cr_assert_eq(db_open(dbp, 0, &db), 0);
    db_close(db);
    const char *args[] = {MB_BIN, "sweep", SWEEP, "--db", dbp, "--progress", "off", "--no-roofline", NULL};
    pid_t a = spawn(args, NULL), b = spawn(args, NULL);
    cr_assert_eq(wait_exit(a), 0);
    cr_assert_eq(wait_exit(b), 0);
    cells_t k;
    check_db(dbp, NULL, &k);
    cr_assert_eq(n_runs(dbp), 2);
    cr_assert_eq(k.finished, 2 * N_CELLS);
    cr_assert_eq(k.ok, 2 * N_CELLS);
}
