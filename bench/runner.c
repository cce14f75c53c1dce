/* runner.c: runs cells, each in a forked child. The child measures and sends
 * its result as one JSON object over a pipe; the parent alone writes the
 * store, so a crash, an OOM kill or a time-out in a cell never touches it
 * and becomes a row with the reason while the run goes on. */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- cells ------------------------------------------------------------------ */
int bench_sweep_cells(const bench_sweep_t *sw, bench_cell_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t total = bench_sweep_n_cells(sw);
    if (!total)
        return mb_err_set(MB_EINVAL, "%s: the sweep has no cells", sw->path);
    bench_cell_t *c = calloc(total, sizeof *c);
    if (!c)
        return mb_err_set(MB_ENOMEM, "out of memory for %zu cells", total);
    for (size_t p = 0; p < sw->n_pins; p++)
        if (sw->pins[p].cluster[0] && bench_cpuset_empty(&sw->pins[p].cpus)) {
            free(c);
            return mb_err_set(MB_EINVAL, "%s: cluster '%s' not resolved against the device "
                              "(bench_pins_resolve)", sw->path, sw->pins[p].cluster);
        }
    size_t k = 0;
    for (size_t m = 0; m < sw->n_models; m++)
        for (size_t r = 0; r < sw->n_recipes; r++)
            for (size_t t = 0; t < sw->n_threads; t++)
                for (size_t p = 0; p < sw->n_pins; p++)
                    for (size_t s = 0; s < sw->n_stricts; s++)
                        for (size_t d = 0; d < sw->n_depths; d++)
                            for (size_t x = 0; x < sw->n_tests; x++, k++) {
                                if (strlen(sw->models[m]) >= sizeof c[k].model ||
                                    strlen(sw->recipes[r]) >= sizeof c[k].recipe) {
                                    free(c);
                                    return mb_err_set(MB_EINVAL, "%s: model or recipe name too long: '%s'",
                                                      sw->path, sw->models[m]);
                                }
                                strcpy(c[k].model, sw->models[m]);
                                strcpy(c[k].recipe, sw->recipes[r]);
                                c[k].test = sw->tests[x];
                                c[k].test.n_depth = sw->depths[d];
                                c[k].n_threads = sw->threads[t];
                                c[k].cpus = sw->pins[p].cpus;
                                c[k].cpu_strict = sw->stricts[s] && !bench_cpuset_empty(&c[k].cpus);
                                snprintf(c[k].cluster, sizeof c[k].cluster, "%s", sw->pins[p].cluster);
                                c[k].index = (int)k;
                            }
    *out = c;
    *n = total;
    return MB_OK;
}

int bench_mem_available(uint64_t *bytes)
{
    const char *root = getenv("MOBENCH_SYSFS_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/proc/meminfo", root && *root ? root : "");
    FILE *f = fopen(path, "r");
    if (!f)
        return mb_err_set(mb_err_from_errno(errno), "cannot read %s: %s", path, strerror(errno));
    char line[256];
    int rc = mb_err_set(MB_ENOENT, "%s has no MemAvailable line (kernel older than 3.14?)", path);
    while (fgets(line, sizeof line, f)) {
        unsigned long long kb;
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
            *bytes = kb * 1024ull;
            rc = MB_OK;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* "3.1 GB": one decimal, as the skip reason reads. */
static void fmt_size(uint64_t b, char *buf, size_t len)
{
    if (b >= 1000000000ull)
        snprintf(buf, len, "%.1f GB", (double)b / 1e9);
    else
        snprintf(buf, len, "%.0f MB", (double)b / 1e6);
}

uint64_t bench_cell_need(const bench_model_info_t *info)
{
    return info->model_size + info->kv_bytes + info->scratch_bytes;
}

/* ---- signals ------------------------------------------------------------ */
static volatile sig_atomic_t g_stop;
static volatile int g_stop_int; /* mirror for bench_cooldown_wait's poll */

static void on_signal(int sig)
{
    g_stop = sig;
    g_stop_int = sig;
}

/* ---- the child ----------------------------------------------------------- */
static int vmhwm(int64_t *bytes)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return MB_EIO;
    char line[256];
    int rc = MB_ENOENT;
    while (fgets(line, sizeof line, f)) {
        long long kb;
        if (sscanf(line, "VmHWM: %lld kB", &kb) == 1) {
            *bytes = kb * 1024;
            rc = MB_OK;
            break;
        }
    }
    fclose(f);
    return rc;
}

static void child_main(const bench_run_opts_t *o, const bench_cell_t *cell, int wfd)
{
    /* Die with the parent: an orphaned cell would go on heating the device. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        _exit(3);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    FILE *f = fdopen(wfd, "w");
    if (!f)
        _exit(4);
    bench_result_t r;
    bench_result_init(&r, cell);
    const char *hook = getenv("MOBENCH_TEST_CRASH_CELL");
    bench_workload_t w = {0};
    int rc = o->backend->open(o->backend->ctx, cell, &w, &r.info);
    if (hook && *hook && atoi(hook) == cell->index) {
        /* Test hook: a cell that crashes on purpose (default action, so that
         * a sanitizer's handler does not turn it into an exit). */
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    if (rc) {
        r.status = rc == MB_ENOMEM ? BENCH_CELL_OOM
                   : rc == MB_ESKIP || rc == MB_EUNSUPPORTED ? BENCH_CELL_SKIPPED
                                                             : BENCH_CELL_FAILED;
        snprintf(r.reason, sizeof r.reason, "%s", mb_err_msg());
    } else {
        bench_clock_t clk = bench_clock_real();
        bench_measure_opts_t mo = {.reps = o->reps, .warmup = o->warmup, .seed = o->seed,
                                   .sustained_s = o->sustained_s, .clock = &clk, .sensors = o->sensors,
                                   .ceilings = o->ceilings, .meter = o->meter,
                                   .prompt = o->prompt, .n_prompt_tokens = o->n_prompt_tokens};
        bench_cell_measure(&mo, &w, &r); /* status and reason set either way */
        if (w.cpus_ran)
            w.cpus_ran(w.impl, r.cpus_ran, sizeof r.cpus_ran);
        if (w.close)
            w.close(w.impl);
    }
    vmhwm(&r.peak_rss);
    rc = bench_result_write_json(f, &r);
    fclose(f);
    bench_result_clear(&r);
    _exit(rc ? 5 : 0);
}

/* ---- the parent side of one cell --------------------------------------------- */
static const char *signame(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    default: return "signal";
    }
}

static void kill_and_reap(pid_t pid, int *status, struct rusage *ru)
{
    kill(pid, SIGKILL);
    while (wait4(pid, status, 0, ru) < 0 && errno == EINTR)
        ;
}

/* Runs cell in a child; fills r from its JSON or from how it died. */
static void run_cell(const bench_run_opts_t *o, const bench_cell_t *cell, bench_result_t *r)
{
    int fds[2];
    r->started = mb_clock_wall();
    if (pipe(fds)) {
        r->status = BENCH_CELL_FAILED;
        snprintf(r->reason, sizeof r->reason, "cannot create a pipe: %s", strerror(errno));
        return;
    }
    fflush(NULL); /* nothing buffered twice */
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        r->status = errno == ENOMEM || errno == EAGAIN ? BENCH_CELL_OOM : BENCH_CELL_FAILED;
        snprintf(r->reason, sizeof r->reason, "cannot fork the cell's process: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(o, cell, fds[1]);
    }
    close(fds[1]);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    bool timed_out = false, interrupted = false, eof = false, oom_buf = false;
    uint64_t deadline = o->cell_time_s > 0 ? mb_clock_ns() + (uint64_t)(o->cell_time_s * 1e9) : 0;
    while (!eof) {
        if (g_stop) {
            interrupted = true;
            break;
        }
        int ms = 1000;
        if (deadline) {
            uint64_t t = mb_clock_ns();
            if (t >= deadline) {
                timed_out = true;
                break;
            }
            uint64_t left = (deadline - t) / 1000000 + 1;
            ms = left < 1000 ? (int)left : 1000;
        }
        struct pollfd p = {fds[0], POLLIN, 0};
        int k = poll(&p, 1, ms);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            continue;
        if (len + 65536 > cap) {
            char *nb = realloc(buf, cap ? cap * 2 : 131072);
            if (!nb) {
                oom_buf = true;
                break;
            }
            buf = nb;
            cap = cap ? cap * 2 : 131072;
        }
        ssize_t got = read(fds[0], buf + len, cap - len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            eof = true;
        else
            len += (size_t)got;
    }
    close(fds[0]);
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    if (!eof) {
        kill_and_reap(pid, &status, &ru);
    } else {
        while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
            if (g_stop) { /* a result is complete once EOF came: keep it */
                kill_and_reap(pid, &status, &ru);
                break;
            }
        }
    }
    r->ended = mb_clock_wall();
    int64_t rss = ru.ru_maxrss > 0 ? (int64_t)ru.ru_maxrss * 1024 : -1;
    char rss_s[32] = "unknown";
    if (rss > 0)
        mb_fmt_bytes((uint64_t)rss, rss_s, sizeof rss_s);
    r->peak_rss = rss;
    if (interrupted) {
        r->status = BENCH_CELL_INTERRUPTED;
        snprintf(r->reason, sizeof r->reason, "interrupted by %s after %.1f s", signame(g_stop),
                 r->ended - r->started);
    } else if (timed_out) {
        r->status = BENCH_CELL_TIMEOUT;
        snprintf(r->reason, sizeof r->reason,
                 "timed out: killed after the cell time limit of %.0f s (raise [limits] cell_time)",
                 o->cell_time_s);
    } else if (oom_buf) {
        r->status = BENCH_CELL_OOM;
        snprintf(r->reason, sizeof r->reason, "out of memory reading the cell's result");
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        r->status = sig == SIGKILL ? BENCH_CELL_OOM : BENCH_CELL_FAILED;
        if (sig == SIGKILL)
            snprintf(r->reason, sizeof r->reason,
                     "killed by SIGKILL, most likely the kernel's OOM killer (peak RSS %s)", rss_s);
        else
            snprintf(r->reason, sizeof r->reason, "crashed: %s (signal %d) after %.1f s, peak RSS %s",
                     signame(sig), sig, r->ended - r->started, rss_s);
    } else if (WEXITSTATUS(status) != 0 || !len) {
        r->status = BENCH_CELL_FAILED;
        snprintf(r->reason, sizeof r->reason, "the cell's process exited with status %d%s",
                 WEXITSTATUS(status), len ? "" : " without a result");
    } else {
        double started = r->started, ended = r->ended;
        buf[len] = '\0';
        if (bench_result_read_json(buf, len, r)) {
            r->status = BENCH_CELL_FAILED;
            snprintf(r->reason, sizeof r->reason, "%s", mb_err_msg());
        }
        if (!isfinite(r->started) || r->started == 0)
            r->started = started;
        if (!isfinite(r->ended) || r->ended == 0)
            r->ended = ended;
        if (r->peak_rss < 0)
            r->peak_rss = rss;
    }
    free(buf);
}

/* ---- progress ----------------------------------------------------------------- */
static void fmt_eta(double s, char *buf, size_t len)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, len, "?");
    else if (s < 0.5)
        snprintf(buf, len, "<1s");
    else if (s < 90)
        snprintf(buf, len, "%.0fs", s);
    else if (s < 5400)
        snprintf(buf, len, "%.0fm%02.0fs", floor(s / 60), fmod(s, 60));
    else
        snprintf(buf, len, "%.0fh%02.0fm", floor(s / 3600), fmod(s / 60, 60));
}

static void fmt_last(const bench_result_t *r, char *buf, size_t len)
{
    if (r->status == BENCH_CELL_OK)
        snprintf(buf, len, "%.2f t/s (median of %zu, cv %.1f%%, %s)", r->ts.median, r->n_reps,
                 isfinite(r->ts.cv) ? r->ts.cv * 100 : 0.0, bench_stop_name(r->stop));
    else
        snprintf(buf, len, "%s: %s", bench_status_name(r->status), bench_result_reason(r));
}

typedef struct {
    bool bar;
    bool off;
    double t0;
    size_t done, total;
    double spent;  /* seconds in cells run in this process */
    size_t ran;
    char last[600];
} progress_t;

static void progress_show(progress_t *p, const char *key)
{
    if (p->off || !p->bar)
        return;
    double eta = p->ran ? p->spent / (double)p->ran * (double)(p->total - p->done) : NAN;
    char e[32];
    fmt_eta(eta, e, sizeof e);
    const int width = 20;
    int fill = p->total ? (int)(width * p->done / p->total) : 0;
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r\033[K[%s] %zu/%zu %s  ETA %s  last: %.60s", bar, p->done, p->total, key, e,
            p->last[0] ? p->last : "-");
    fflush(stderr);
}

static void progress_cell_done(progress_t *p, const char *key, const bench_result_t *r)
{
    fmt_last(r, p->last, sizeof p->last);
    if (p->off)
        return;
    if (!p->bar)
        fprintf(stderr, "mobench: [%zu/%zu] %s: %s\n", p->done, p->total, key, p->last);
}

/* ---- dry run ------------------------------------------------------------------
 * A cell that ran before gets the time it took then. One that never ran gets
 * an estimate, labelled "est.", from a simple model of the engine against the
 * device's ceilings at the cell's thread count:
 *   decode:  weight bytes per token / (read bandwidth x DECODE_EFF)
 *   prefill: 2 x params x tokens / (int8 peak x PREFILL_EFF); float recipes
 *            against the f32 peak x FLOAT_EFF
 *   per cell: warm-up (the prompt and a token), the depth fill, the reps
 *            (-r / [reps] min), loading the weights (LOAD_GBS), the cooldown
 *   per model x recipe not in the cache: the build, params / BUILD_PARAMS_S
 *            per thread.
 * The efficiencies are what the engine reached on the build VM when quiet
 * (docs/PERFORMANCE.md: decode ~50 % of the read roof, prefill ~11 % of the
 * int8 peak, F16 prefill ~50 % of the f32 peak; a build of 1.24 B params in
 * ~19 s of CPU). */
#define EST_DECODE_EFF 0.5
#define EST_PREFILL_EFF 0.11
#define EST_FLOAT_EFF 0.5
#define EST_LOAD_GBS 1.0
#define EST_BUILD_PARAMS_S 65e6

static bool float_recipe(const char *r)
{
    return !strcasecmp(r, "F32") || !strcasecmp(r, "F16") || !strcasecmp(r, "BF16");
}

/* Seconds the cell would take (NAN: no ceilings for its thread count). */
static double estimate_cell(const bench_run_opts_t *o, const bench_cell_t *c, const bench_model_info_t *info)
{
    const bench_ceiling_t *pt = o->ceilings ? bench_ceilings_find(o->ceilings, c->n_threads) : NULL;
    if (!pt || !info->model_size || !info->n_params)
        return NAN;
    bool flt = float_recipe(c->recipe);
    double peak = flt ? pt->f32_gflops * 1e9 * EST_FLOAT_EFF : pt->i8_gops * 1e9 * EST_PREFILL_EFF;
    double bw = pt->read_gbs * 1e9 * EST_DECODE_EFF;
    if (!(peak > 0) || !(bw > 0))
        return NAN;
    double per_prompt_tok = 2.0 * (double)info->n_params / peak;
    double per_gen_tok = (double)info->model_size / bw;
    double load = (double)info->model_size / (EST_LOAD_GBS * 1e9);
    if (o->sustained_s > 0)
        return load + o->sustained_s;
    const bench_test_t *t = &c->test;
    double rep = 0;
    switch (t->kind) {
    case BENCH_TEST_PP: rep = t->n_prompt * per_prompt_tok; break;
    case BENCH_TEST_TG: rep = per_prompt_tok + t->n_gen * per_gen_tok; break;
    case BENCH_TEST_PG: rep = t->n_prompt * per_prompt_tok + t->n_gen * per_gen_tok; break;
    }
    double warm = o->warmup ? MB_MAX(t->n_prompt, 1) * per_prompt_tok + per_gen_tok : 0;
    double depth = t->n_depth * per_prompt_tok;
    return load + depth + warm + rep * MB_MAX(o->reps.min_reps, 1);
}

static double cooldown_estimate(const bench_run_opts_t *o)
{
    switch (o->cooldown.mode) {
    case BENCH_COOLDOWN_FIXED: return o->cooldown.delay_s;
    case BENCH_COOLDOWN_THERMAL: {
        const bench_sensors_t *se = o->sensors;
        bool thermal = se && se->hottest_c && isfinite(se->hottest_c(se->ctx));
        return thermal ? 0 : o->cooldown.delay_s; /* with sensors: unknown, counted as none */
    }
    case BENCH_COOLDOWN_NONE: return 0;
    }
    return 0;
}

static int dry_run(const bench_run_opts_t *o, uint64_t avail, bool have_avail)
{
    char a[32] = "unknown";
    if (have_avail)
        mb_fmt_bytes(avail, a, sizeof a);
    printf("# %zu cells; memory available %s, headroom kept ", o->n_cells, a);
    char h[32];
    mb_fmt_bytes(o->headroom, h, sizeof h);
    printf("%s\n", h);
    printf("%-4s %-56s %10s %5s %12s\n", "#", "cell", "needs", "fits", "eta");
    double eta = 0, cool = cooldown_estimate(o);
    size_t known = 0, estimated = 0, fit = 0, builds = 0;
    char built_key[320] = "";
    for (size_t i = 0; i < o->n_cells; i++) {
        const bench_cell_t *c = &o->cells[i];
        char key[400], need_s[32] = "?", eta_s[48] = "?";
        bench_cell_key(c, key, sizeof key);
        bench_model_info_t info;
        memset(&info, 0, sizeof info);
        const char *fits = "?";
        bool have_info = o->backend->estimate(o->backend->ctx, c, &info) == 0;
        if (have_info) {
            uint64_t need = bench_cell_need(&info) + o->headroom;
            mb_fmt_bytes(need, need_s, sizeof need_s);
            fits = !have_avail ? "?" : need <= avail ? "yes" : "no";
            fit += have_avail && need <= avail;
        } else {
            fits = "error";
        }
        double s;
        if (o->sink && o->sink->eta_hint && o->sink->eta_hint(o->sink->ctx, c, &s) == 0) {
            fmt_eta(s, eta_s, sizeof eta_s);
            eta += s + (i ? cool : 0);
            known++;
        } else if (have_info && isfinite(s = estimate_cell(o, c, &info))) {
            /* the first cell of a model x recipe the cache lacks builds it */
            char mk[320];
            snprintf(mk, sizeof mk, "%s|%s", c->model, c->recipe);
            if (strcmp(mk, built_key) && o->backend->cached && !o->backend->cached(o->backend->ctx, c)) {
                s += (double)info.n_params / (EST_BUILD_PARAMS_S * MB_MAX(c->n_threads, 1));
                builds++;
            }
            snprintf(built_key, sizeof built_key, "%s", mk);
            char e[32];
            fmt_eta(s, e, sizeof e);
            snprintf(eta_s, sizeof eta_s, "%s est.", e);
            eta += s + (i ? cool : 0);
            estimated++;
        }
        printf("%-4zu %-56s %10s %5s %12s\n", i, key, need_s, fits, eta_s);
    }
    char e[32];
    fmt_eta(eta, e, sizeof e);
    printf("# %zu of %zu cells fit", fit, o->n_cells);
    if (known == o->n_cells)
        printf("; ETA %s (from earlier runs of the same cells)\n", e);
    else if (known + estimated == o->n_cells)
        printf("; ETA %s est.: %zu cells from earlier runs, %zu estimated from the model's size and the "
               "device's ceilings%s%s (a model, not a measurement)\n", e, known, estimated,
               builds ? ", with model builds" : "", cool > 0 ? " and cooldown delays" : "");
    else if (known + estimated)
        printf("; ETA at least %s (%zu cells from earlier runs, %zu estimated; the others have no "
               "estimate: no ceilings for their thread count)\n", e, known, estimated);
    else
        printf("; ETA unknown (no earlier run of these cells in the store, and no ceilings to "
               "estimate from)\n");
    return MB_OK;
}

/* ---- the run -------------------------------------------------------------------- */
static void real_sleep(uint64_t ns)
{
    if (!g_stop)
        mb_clock_sleep_ns(ns);
}

int bench_run(const bench_run_opts_t *o, bench_run_summary_t *sum)
{
    memset(sum, 0, sizeof *sum);
    int rc = bench_reps_policy_check(&o->reps);
    if (rc)
        return rc;
    if (!o->backend || !o->backend->estimate || !o->backend->open)
        return mb_err_set(MB_EINVAL, "no model backend to run cells with");
    uint64_t avail = 0;
    int (*mem)(uint64_t *) = o->mem_available ? o->mem_available : bench_mem_available;
    bool have_avail = mem(&avail) == 0;
    if (!have_avail)
        MB_WARN("memory-fit check off: %s", mb_err_msg());
    if (o->dry_run)
        return dry_run(o, avail, have_avail);

    const bench_sink_t *sink = o->sink;
    if (sink && (rc = sink->run_begin(sink->ctx, o->resume)))
        return rc;

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll and sleeps return at once */
    sigemptyset(&sa.sa_mask);
    g_stop = 0;
    g_stop_int = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    progress_t pg = {.total = o->n_cells, .t0 = mb_clock_wall()};
    pg.off = o->progress == BENCH_PROGRESS_OFF;
    pg.bar = o->progress == BENCH_PROGRESS_BAR || (o->progress == BENCH_PROGRESS_AUTO && isatty(2));

    const bench_sensors_t *se = o->sensors;
    double baseline = se && se->hottest_c ? se->hottest_c(se->ctx) : NAN;
    bench_clock_t clk = bench_clock_real();
    bool first = true;
    int store_rc = 0;
    for (size_t i = 0; i < o->n_cells && !g_stop; i++) {
        const bench_cell_t *cell = &o->cells[i];
        char key[400];
        bench_cell_key(cell, key, sizeof key);
        bool done = false;
        if (o->resume && sink && sink->cell_done && (rc = sink->cell_done(sink->ctx, cell, &done))) {
            store_rc = rc;
            break;
        }
        if (done) {
            sum->resumed++;
            pg.done++;
            continue;
        }
        bench_result_t r;
        bench_result_init(&r, cell);
        /* Memory fit before anything heavy. */
        int erc = o->backend->estimate(o->backend->ctx, cell, &r.info);
        uint64_t need = bench_cell_need(&r.info) + o->headroom;
        if (erc) {
            r.status = erc == MB_ESKIP || erc == MB_EUNSUPPORTED ? BENCH_CELL_SKIPPED : BENCH_CELL_FAILED;
            snprintf(r.reason, sizeof r.reason, "%s", mb_err_msg());
            r.started = r.ended = mb_clock_wall();
        } else if (have_avail && need > avail) {
            /* Re-read: memory freed since the run began counts. */
            mem(&avail);
        }
        if (!erc && have_avail && need > avail) {
            char n_s[32], a_s[32];
            fmt_size(need, n_s, sizeof n_s);
            fmt_size(avail, a_s, sizeof a_s);
            r.status = BENCH_CELL_SKIPPED;
            snprintf(r.reason, sizeof r.reason, "skipped: needs %s, %s available", n_s, a_s);
            r.started = r.ended = mb_clock_wall();
        } else if (!erc) {
            if (!first) {
                char how[160];
                double waited = 0;
                bench_cooldown_wait(&o->cooldown, se, baseline, &clk, real_sleep, &g_stop_int, &waited,
                                    how, sizeof how);
                r.cooldown_s = waited;
                sum->cooldown_s += waited;
                if (o->cooldown.mode != BENCH_COOLDOWN_NONE) {
                    MB_DEBUG("cooldown before %s: %s", key, how);
                    bench_sample_t cs = {.t = mb_clock_wall(), .kind = "cooldown",
                                         .sensor = "wait_s", .value = waited};
                    if (sink && sink->run_samples)
                        sink->run_samples(sink->ctx, &cs, 1);
                }
                if (g_stop) {
                    bench_result_clear(&r);
                    break; /* interrupted while waiting: no cell was running */
                }
            }
            first = false;
            progress_show(&pg, key);
            double t0 = mb_clock_wall();
            int prc = o->backend->prepare ? o->backend->prepare(o->backend->ctx, cell) : 0;
            if (prc) {
                /* A signal during the model build: the builder removed its
                 * partial file and passed the signal on (g_stop is set). */
                r.status = prc == MB_EINTR || g_stop ? BENCH_CELL_INTERRUPTED
                           : prc == MB_ENOMEM ? BENCH_CELL_OOM
                           : prc == MB_ESKIP || prc == MB_EUNSUPPORTED ? BENCH_CELL_SKIPPED
                                                                       : BENCH_CELL_FAILED;
                snprintf(r.reason, sizeof r.reason, "%s", mb_err_msg());
                r.started = t0;
                r.ended = mb_clock_wall();
            } else {
                run_cell(o, cell, &r);
            }
            pg.spent += mb_clock_wall() - t0 + r.cooldown_s;
            pg.ran++;
        }
        pg.done++;
        sum->done[r.status]++;
        if (sink && (rc = sink->cell_commit(sink->ctx, &r))) {
            /* A full or read-only disk: this cell is lost, earlier ones stay. */
            MB_ERROR("cannot store cell %s: %s", key, mb_err_msg());
            store_rc = rc;
        }
        progress_cell_done(&pg, key, &r);
        if (o->on_result) {
            if (pg.bar && !pg.off) { /* the row may go to the same terminal */
                fprintf(stderr, "\r\033[K");
                fflush(stderr);
            }
            o->on_result(o->on_result_ctx, &r);
        }
        bench_result_clear(&r);
        if (store_rc)
            break;
    }
    if (pg.bar && !pg.off)
        fprintf(stderr, "\r\033[K");
    int sig = g_stop;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sum->final = sig ? BENCH_CELL_INTERRUPTED : store_rc ? BENCH_CELL_FAILED : BENCH_CELL_OK;
    if (sink && sink->run_end) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", mb_err_msg());
        int erc = sink->run_end(sink->ctx, sum->final);
        if (erc && !store_rc)
            store_rc = erc;
        else if (store_rc)
            mb_err_set(store_rc, "%s", msg);
    }
    if (store_rc)
        return store_rc;
    if (sig)
        return mb_err_set(MB_EINTR, "interrupted by %s: the running cell was stored as interrupted; "
                          "continue with --resume", signame(sig));
    return MB_OK;
}
