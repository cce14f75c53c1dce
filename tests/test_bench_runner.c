/* test_bench_runner.c: the sweep runner on a fake backend: a cell per child,
 * crash hook, time-out, OOM kill, failures, memory fit, SIGINT, resume,
 * cooldown on a fake clock. The store is a memory sink here; the SQLite
 * store is exercised by test_bench_store.c. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* ---- fake backend: a workload that spins a few microseconds per token ------ */
typedef struct {
    int pos, n_ctx;
    uint64_t ns_per_token;
} spin_t;

static int spin_eval(void *impl, const int32_t *t, int n, bool logits)
{
    (void)t;
    (void)logits;
    spin_t *s = impl;
    if (s->pos + n > s->n_ctx)
        return mb_err_set(MB_ERANGE, "cache overflow");
    s->pos += n;
    uint64_t until = mb_clock_ns() + s->ns_per_token * (uint64_t)n;
    while (mb_clock_ns() < until)
        ;
    return 0;
}
static int spin_reset(void *impl) { ((spin_t *)impl)->pos = 0; return 0; }
static int spin_truncate(void *impl, int n) { ((spin_t *)impl)->pos = n; return 0; }
static void spin_close(void *impl) { free(impl); }

static int fake_estimate(void *ctx, const bench_cell_t *c, bench_model_info_t *info)
{
    (void)ctx;
    memset(info, 0, sizeof *info);
    if (!strcmp(c->model, "unknown"))
        return mb_err_set(MB_ENOENT, "unknown model 'unknown'; known: small, huge");
    info->model_size = !strcmp(c->model, "huge") ? (3ull << 30) : (10ull << 20);
    info->kv_bytes = 1 << 20;
    info->scratch_bytes = 1 << 20;
    snprintf(info->model_type, sizeof info->model_type, "fake %s", c->recipe);
    return 0;
}

static int fake_open(void *ctx, const bench_cell_t *c, bench_workload_t *w, bench_model_info_t *info)
{
    fake_estimate(ctx, c, info);
    snprintf(info->kernel, sizeof info->kernel, "scalar");
    snprintf(info->weights, sizeof info->weights, "synthetic");
    if (!strcmp(c->model, "oomy"))
        raise(SIGKILL); /* what the OOM killer does */
    if (!strcmp(c->model, "fails"))
        return mb_err_set(MB_EIO, "cannot read fails.gguf: I/O error");
    spin_t *s = calloc(1, sizeof *s);
    s->n_ctx = 4096;
    s->ns_per_token = !strcmp(c->model, "sleepy") ? 200000000ull : 20000ull;
    *w = (bench_workload_t){.impl = s, .n_ctx = 4096, .n_vocab = 32000, .eval = spin_eval,
                            .reset = spin_reset, .truncate = spin_truncate, .close = spin_close};
    return 0;
}

static const bench_backend_t backend = {NULL, fake_estimate, NULL, fake_open, NULL};

/* ---- memory sink ---------------------------------------------------------------- */
typedef struct {
    bench_result_t res[32];
    int n;
    int begun, ended;
    bench_status_t final;
    const char *resumed_run;
    char done_keys[8][128];
    int n_done;
} msink_t;

static int ms_begin(void *ctx, const char *resume)
{
    msink_t *m = ctx;
    m->begun++;
    m->resumed_run = resume;
    return 0;
}
static int ms_done(void *ctx, const bench_cell_t *c, bool *done)
{
    msink_t *m = ctx;
    char key[400];
    bench_cell_key(c, key, sizeof key);
    *done = false;
    for (int i = 0; i < m->n_done; i++)
        if (!strcmp(key, m->done_keys[i]))
            *done = true;
    return 0;
}
static int ms_commit(void *ctx, const bench_result_t *r)
{
    msink_t *m = ctx;
    cr_assert_lt(m->n, 32);
    bench_result_t *d = &m->res[m->n++];
    *d = *r;
    d->reps = NULL; /* the runner frees its copy; keep the scalars */
    d->samples = NULL;
    d->sustained.windows = NULL;
    return 0;
}
static int ms_end(void *ctx, bench_status_t final)
{
    msink_t *m = ctx;
    m->ended++;
    m->final = final;
    return 0;
}

static bench_run_opts_t opts(bench_cell_t *cells, size_t n, msink_t *m, const bench_sink_t *sink)
{
    (void)m;
    bench_run_opts_t o = {
        .cells = cells, .n_cells = n, .reps = {.min_reps = 2}, .warmup = false, .seed = 1,
        .cell_time_s = 20, .headroom = 1 << 20, .cooldown = {.mode = BENCH_COOLDOWN_NONE},
        .backend = &backend, .sink = sink, .progress = BENCH_PROGRESS_OFF,
    };
    return o;
}

static bench_cell_t cell(const char *model, int idx)
{
    bench_cell_t c = {.test = {BENCH_TEST_TG, 0, 16, 0}, .n_threads = 1, .index = idx};
    snprintf(c.model, sizeof c.model, "%s", model);
    snprintf(c.recipe, sizeof c.recipe, "Q4_0");
    return c;
}

#define SINK(m) {&(m), ms_begin, ms_done, ms_commit, NULL, ms_end, NULL}

Test(runner, cells_run_in_children_and_are_stored)
{
    msink_t m = {0};
    bench_sink_t sink = SINK(m);
    bench_cell_t cells[] = {cell("small", 0), cell("small", 1)};
    cells[1].test = (bench_test_t){BENCH_TEST_PP, 64, 0, 32};
    bench_run_opts_t o = opts(cells, 2, &m, &sink);
    bench_run_summary_t sum;
    cr_assert_eq(bench_run(&o, &sum), 0, "%s", mb_err_msg());
    cr_assert_eq(m.n, 2);
    cr_assert_eq(m.res[0].status, BENCH_CELL_OK, "%s", m.res[0].reason);
    cr_assert_eq(m.res[0].n_reps, 2);
    cr_assert_gt(m.res[0].ts.mean, 1000); /* 20 us per token: ~50000 t/s */
    cr_assert_str_eq(m.res[0].info.kernel, "scalar");
    cr_assert_gt(m.res[0].peak_rss, 0);
    cr_assert_eq(m.res[1].status, BENCH_CELL_OK);
    cr_assert_eq(m.res[1].cell.test.n_depth, 32);
    cr_assert_eq(m.final, BENCH_CELL_OK);
    cr_assert_eq(sum.done[BENCH_CELL_OK], 2);
}

Test(runner, crash_hook_makes_a_failed_row_and_the_next_cell_runs)
{
    msink_t m = {0};
    bench_sink_t sink = SINK(m);
    bench_cell_t cells[] = {cell("small", 0), cell("small", 1), cell("small", 2)};
    setenv("MOBENCH_TEST_CRASH_CELL", "1", 1);
    bench_run_opts_t o = opts(cells, 3, &m, &sink);
    bench_run_summary_t sum;
    cr_assert_eq(bench_run(&o, &sum), 0, "%s", mb_err_msg());
    unsetenv("MOBENCH_TEST_CRASH_CELL");
    cr_assert_eq(m.n, 3);
    cr_assert_eq(m.res[0].status, BENCH_CELL_OK);
    cr_assert_eq(m.res[1].status, BENCH_CELL_FAILED);
    cr_assert(strstr(m.res[1].reason, "crashed: SIGSEGV"), "%s", m.res[1].reason);
    cr_assert_eq(m.res[2].status, BENCH_CELL_OK);
    cr_assert_eq(m.final, BENCH_CELL_OK);
}

Test(runner, oom_kill_timeout_failure_unknown_and_no_fit)
{
    msink_t m = {0};
    bench_sink_t sink = SINK(m);
    bench_cell_t cells[] = {cell("oomy", 0), cell("sleepy", 1), cell("fails", 2), cell("unknown", 3),
                            cell("huge", 4), cell("small", 5)};
    bench_run_opts_t o = opts(cells, 6, &m, &sink);
    o.cell_time_s = 0.5;
    bench_run_summary_t sum;
    cr_assert_eq(bench_run(&o, &sum), 0, "%s", mb_err_msg());
    cr_assert_eq(m.n, 6);
    cr_assert_eq(m.res[0].status, BENCH_CELL_OOM);
    cr_assert(strstr(m.res[0].reason, "SIGKILL"), "%s", m.res[0].reason);
    cr_assert_eq(m.res[1].status, BENCH_CELL_TIMEOUT);
    cr_assert(strstr(m.res[1].reason, "cell time limit of 0 s") || strstr(m.res[1].reason, "cell time limit"),
              "%s", m.res[1].reason);
    cr_assert_lt(m.res[1].ended - m.res[1].started, 5.0);
    cr_assert_eq(m.res[2].status, BENCH_CELL_FAILED);
    cr_assert(strstr(m.res[2].reason, "fails.gguf"), "%s", m.res[2].reason);
    cr_assert_eq(m.res[3].status, BENCH_CELL_FAILED);
    cr_assert(strstr(m.res[3].reason, "known: small"), "%s", m.res[3].reason);
    /* "huge" (3 GiB + 2 MiB + 1 MiB headroom) against a 24 GB machine fits;
     * the no-fit case is below with a fake MemAvailable. */
    cr_assert_eq(m.res[5].status, BENCH_CELL_OK);
    cr_assert_eq(sum.done[BENCH_CELL_OK], 2);
}

static int two_gib(uint64_t *b) { *b = 2200000000ull; return 0; }

Test(runner, cell_that_does_not_fit_is_skipped_with_sizes)
{
    msink_t m = {0};
    bench_sink_t sink = SINK(m);
    bench_cell_t cells[] = {cell("huge", 0), cell("small", 1)};
    bench_run_opts_t o = opts(cells, 2, &m, &sink);
    o.mem_available = two_gib;
    o.headroom = 0;
    bench_run_summary_t sum;
    cr_assert_eq(bench_run(&o, &sum), 0);
    cr_assert_eq(m.res[0].status, BENCH_CELL_SKIPPED);
    cr_assert_str_eq(m.res[0].reason, "skipped: needs 3.2 GB, 2.2 GB available");
    cr_assert_eq(m.res[1].status, BENCH_CELL_OK);
}

static void *interrupt_later(void *arg)
{
    (void)arg;
    usleep(400000);
    kill(getpid(), SIGINT);
    return NULL;
}

Test(runner, sigint_records_the_running_cell_as_interrupted)
{
    msink_t m = {0};
    bench_sink_t sink = SINK(m);
    bench_cell_t cells[] = {cell("small", 0), cell("sleepy", 1), cell("small", 2)};
    bench_run_opts_t o = opts(cells, 3, &m, &sink);
    o.cell_time_s = 0;
    pthread_t th;
    pthread_create(&th, NULL, interrupt_later, NULL);
    bench_run_summary_t sum;
    int rc = bench_run(&o, &sum);
    pthread_join(th, NULL);
    cr_assert_eq(rc, MB_EINTR, "rc %d: %s", rc, mb_err_msg());
    cr_assert(strstr(mb_err_msg(), "--resume"));
    cr_assert_eq(m.n, 2);
    cr_assert_eq(m.res[0].status, BENCH_CELL_OK);
    cr_assert_eq(m.res[1].status, BENCH_CELL_INTERRUPTED);
    cr_assert(strstr(m.res[1].reason, "SIGINT"), "%s", m.res[1].reason);
    cr_assert_eq(m.ended, 1);
    cr_assert_eq(m.final, BENCH_CELL_INTERRUPTED);
    cr_assert_eq(sum.final, BENCH_CELL_INTERRUPTED);
    /* the handler is restored */
    struct sigaction cur;
    sigaction(SIGINT, NULL, &cur);
    cr_assert_eq(cur.sa_handler, SIG_DFL);
}

Test(runner, resume_skips_finished_cells)
{
    msink_t m = {0};
    bench_sink_t sink = SINK(m);
    bench_cell_t cells[] = {cell("small", 0), cell("small", 1), cell("small", 2)};
    cells[1].n_threads = 2;
    cells[2].n_threads = 3;
    bench_cell_key(&cells[0], m.done_keys[0], sizeof m.done_keys[0]);
    bench_cell_key(&cells[1], m.done_keys[1], sizeof m.done_keys[1]);
    m.n_done = 2;
    bench_run_opts_t o = opts(cells, 3, &m, &sink);
    o.resume = "latest";
    bench_run_summary_t sum;
    cr_assert_eq(bench_run(&o, &sum), 0);
    cr_assert_str_eq(m.resumed_run, "latest");
    cr_assert_eq(sum.resumed, 2);
    cr_assert_eq(m.n, 1);
    cr_assert_eq(m.res[0].cell.index, 2);
}

Test(runner, dry_run_lists_cells_and_runs_nothing, .init = cr_redirect_stdout)
{
    msink_t m = {0};
    bench_sink_t sink = SINK(m);
    bench_cell_t cells[] = {cell("small", 0), cell("huge", 1)};
    bench_run_opts_t o = opts(cells, 2, &m, &sink);
    o.dry_run = true;
    o.mem_available = two_gib;
    bench_run_summary_t sum;
    cr_assert_eq(bench_run(&o, &sum), 0);
    cr_assert_eq(m.begun, 0);
    cr_assert_eq(m.n, 0);
    fflush(stdout);
    FILE *f = cr_get_redirected_stdout();
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    cr_assert(strstr(buf, "small/Q4_0/tg16@d0/t1"), "%s", buf);
    cr_assert(strstr(buf, " no "), "%s", buf);
    cr_assert(strstr(buf, "1 of 2 cells fit"), "%s", buf);
    cr_assert(strstr(buf, "ETA unknown"), "%s", buf);
}

Test(runner, sweep_cells_expand)
{
    bench_sweep_t *sw;
    const char *text = "[models]\nnames=a,b\nrecipes=Q4_0,Q8_0\n[tests]\npp=64\ntg=16\ndepth=0,128\nthreads=1,2\n";
    cr_assert_eq(bench_sweep_parse(text, "x.ini", NULL, &sw), 0);
    bench_cell_t *c;
    size_t n;
    cr_assert_eq(bench_sweep_cells(sw, &c, &n), 0);
    cr_assert_eq(n, 2 * 2 * 2 * 2 * 2);
    char key[400];
    bench_cell_key(&c[0], key, sizeof key);
    cr_assert_str_eq(key, "a/Q4_0/pp64@d0/t1");
    bench_cell_key(&c[3], key, sizeof key);
    cr_assert_str_eq(key, "a/Q4_0/tg16@d128/t1");
    bench_cell_key(&c[31], key, sizeof key);
    cr_assert_str_eq(key, "b/Q8_0/tg16@d128/t2");
    cr_assert_eq(c[31].index, 31);
    free(c);
    bench_sweep_free(sw);
}

/* ---- cooldown on a fake clock ---------------------------------------------------- */
typedef struct {
    uint64_t now;
    double temp0, rate; /* temperature falls rate C per second */
    bool none;
} therm_t;
static therm_t *g_th;
static uint64_t th_now(void *ctx) { return ((therm_t *)ctx)->now; }
static void th_sleep(uint64_t ns) { g_th->now += ns; }
static double th_hot(void *ctx)
{
    therm_t *t = ctx;
    return t->none ? NAN : t->temp0 - t->rate * (double)t->now * 1e-9;
}

Test(cooldown, waits_until_within_two_degrees)
{
    therm_t t = {.temp0 = 60, .rate = 1};
    g_th = &t;
    bench_clock_t clk = {&t, th_now};
    bench_sensors_t s = {&t, NULL, NULL, NULL, th_hot, NULL};
    bench_cooldown_t c = {BENCH_COOLDOWN_THERMAL, 2, 120, 10};
    double waited;
    char how[160];
    cr_assert_eq(bench_cooldown_wait(&c, &s, 45, &clk, th_sleep, NULL, &waited, how, sizeof how), 0);
    cr_assert_float_eq(waited, 13.0, 0.26); /* 60 -> 47 C at 1 C/s */
    cr_assert(strstr(how, "baseline 45.0 C"), "%s", how);
}

Test(cooldown, gives_up_at_the_limit)
{
    therm_t t = {.temp0 = 90, .rate = 0.1};
    g_th = &t;
    bench_clock_t clk = {&t, th_now};
    bench_sensors_t s = {&t, NULL, NULL, NULL, th_hot, NULL};
    bench_cooldown_t c = {BENCH_COOLDOWN_THERMAL, 2, 30, 10};
    double waited;
    char how[160];
    bench_cooldown_wait(&c, &s, 45, &clk, th_sleep, NULL, &waited, how, sizeof how);
    cr_assert_float_eq(waited, 30.0, 0.26);
    cr_assert(strstr(how, "still"), "%s", how);
}

Test(cooldown, fixed_delay_without_sensors)
{
    therm_t t = {.none = true};
    g_th = &t;
    bench_clock_t clk = {&t, th_now};
    bench_sensors_t s = {&t, NULL, NULL, NULL, th_hot, NULL};
    bench_cooldown_t c = {BENCH_COOLDOWN_THERMAL, 2, 120, 7};
    double waited;
    char how[160];
    bench_cooldown_wait(&c, &s, NAN, &clk, th_sleep, NULL, &waited, how, sizeof how);
    cr_assert_float_eq(waited, 7.0, 1e-9);
    cr_assert(strstr(how, "no thermal sensors"), "%s", how);
    c.mode = BENCH_COOLDOWN_NONE;
    bench_cooldown_wait(&c, &s, NAN, &clk, th_sleep, NULL, &waited, how, sizeof how);
    cr_assert_float_eq(waited, 0, 0);
}

/* A full or read-only disk: the store refuses a commit. The run stops with
 * that error, the cells stored before stay, the run is ended as failed. */
static int full_after_one(void *ctx, const bench_result_t *r)
{
    msink_t *m = ctx;
    if (m->n >= 1)
        return mb_err_set(MB_ENOSPC, "database or disk is full (test)");
    return ms_commit(ctx, r);
}

Test(runner, store_failure_stops_the_run_earlier_rows_stay)
{
    msink_t m = {0};
    bench_sink_t sink = SINK(m);
    sink.cell_commit = full_after_one;
    bench_cell_t cells[] = {cell("small", 0), cell("small", 1), cell("small", 2)};
    cells[1].n_threads = 2;
    cells[2].n_threads = 3;
    bench_run_opts_t o = opts(cells, 3, &m, &sink);
    bench_run_summary_t sum;
    int rc = bench_run(&o, &sum);
    cr_assert_eq(rc, MB_ENOSPC, "rc %d", rc);
    cr_assert(strstr(mb_err_msg(), "disk is full"), "%s", mb_err_msg());
    cr_assert_eq(m.n, 1);
    cr_assert_eq(m.res[0].status, BENCH_CELL_OK);
    cr_assert_eq(m.final, BENCH_CELL_FAILED);
    cr_assert_eq(sum.final, BENCH_CELL_FAILED);
}
