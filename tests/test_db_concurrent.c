/* test_db_concurrent.c: writers in separate processes share one database
 * (two sweeps at once): every cell each of them committed is there. */
#include "fixtures/db/db_test_util.h"

#include <sys/wait.h>

static char dir[256];
static char path[512];

static void setup(void)
{
    tu_mkdtemp(dir);
    tu_path(path, dir, "shared.db");
}

static void teardown(void)
{
    tu_rmdir(dir);
}

TestSuite(db_concurrent, .init = setup, .fini = teardown);

#define CELLS_PER_WRITER 40

/* One writer: opens (maybe creating) the shared file at the same moment as
 * the others, registers the same device, runs its own run. */
static int writer(int id, int go_fd)
{
    char ch;
    if (read(go_fd, &ch, 1) != 1)
        return 10;
    db_t *db = NULL;
    if (db_open(path, 0, &db)) {
        fprintf(stderr, "writer %d open: %s\n", id, mb_err_msg());
        return 11;
    }
    db_device_t d = {.fingerprint = "fp-shared", .label = "lab box"};
    if (db_device_upsert(db, &d))
        return 12;
    db_run_t r = {.kind = DB_KIND_SWEEP};
    memcpy(r.device_uuid, d.uuid, DB_UUID_LEN);
    if (db_run_begin(db, &r))
        return 13;
    char model[32];
    snprintf(model, sizeof model, "writer-%d", id);
    for (int i = 0; i < CELLS_PER_WRITER; i++) {
        int err = tu_commit(db, r.uuid, model, "Q4_0", DB_CELL_OK, 5, 10);
        if (err) {
            fprintf(stderr, "writer %d cell %d: %s\n", id, i, mb_err_msg());
            return 14;
        }
    }
    if (db_run_status_set(db, r.uuid, DB_RUN_DONE))
        return 15;
    db_close(db);
    return 0;
}

Test(db_concurrent, three_writers_lose_no_rows)
{
    enum { N = 3 };
    int go[2];
    cr_assert_eq(pipe(go), 0);
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        cr_assert_neq(pids[i], -1);
        if (pids[i] == 0) {
            close(go[1]);
            _exit(writer(i, go[0]));
        }
    }
    close(go[0]);
    /* release them together, so that they also race to create the schema */
    cr_assert_eq(write(go[1], "GGG", N), N);
    close(go[1]);
    for (int i = 0; i < N; i++) {
        int status = 0;
        cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d exit status %d", i,
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    db_t *db = NULL;
    cr_assert_eq(db_open(path, DB_OPEN_NOCREATE, &db), 0, "%s", mb_err_msg());
    db_check_t c;
    cr_assert_eq(db_check(db, &c), 0);
    cr_assert(c.ok, "%s", c.integrity);
    cr_assert_eq(c.counts.devices, 1, "the device was registered twice");
    cr_assert_eq(c.counts.runs, N);
    cr_assert_eq(c.counts.cells, N * CELLS_PER_WRITER);
    cr_assert_eq(c.counts.reps, N * CELLS_PER_WRITER * 5);
    cr_assert_eq(c.counts.samples, N * CELLS_PER_WRITER * 10);
    db_run_t *runs = NULL;
    size_t n = 0;
    cr_assert_eq(db_runs_get(db, NULL, &runs, &n), 0);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(runs[i].status, DB_RUN_DONE);
        cr_assert_eq(runs[i].n_cells, CELLS_PER_WRITER);
    }
    db_runs_free(runs, n);
    db_close(db);
}

Test(db_concurrent, a_reader_sees_a_consistent_snapshot_while_a_writer_commits)
{
    char run[DB_UUID_LEN];
    db_t *db = tu_open_run(path, "fp-snap", run);
    db_close(db);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        db_t *w = NULL;
        if (db_open(path, 0, &w))
            _exit(1);
        for (int i = 0; i < 60; i++)
            if (tu_commit(w, run, "m", "Q4_0", DB_CELL_OK, 4, 8))
                _exit(2);
        db_close(w);
        _exit(0);
    }
    db_t *r = NULL;
    cr_assert_eq(db_open(path, DB_OPEN_READONLY, &r), 0, "%s", mb_err_msg());
    for (int i = 0; i < 30; i++) {
        /* one export is one read transaction: a cell never shows up
         * without its reps */
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        cr_assert_eq(db_export(r, f, DB_FMT_JSON, DB_TABLE_CELLS, NULL), 0, "%s", mb_err_msg());
        fclose(f);
        mb_jv_t *v = NULL;
        cr_assert_eq(mb_jv_parse(buf, len, &v), 0);
        size_t cells = mb_jv_get(v, "cells")->n, reps = mb_jv_get(v, "reps")->n;
        cr_assert_eq(reps, cells * 4, "snapshot with %zu cells has %zu reps", cells, reps);
        mb_jv_free(v);
        free(buf);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_eq(tu_counts(r).cells, 60);
    db_close(r);
}
