/* cmd_sweep.c: `mobench sweep FILE`: a sweep file's cells (docs/SWEEP.md),
 * each in a child process, stored one transaction per cell; --resume
 * continues an interrupted run, --dry-run lists cells, fit and ETA. */
#include "bench.h"
#include "cli_opts.h"
#include "commands.h"
#include "db.h"
#include "mb.h"
#include "probes.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

static void sweep_usage(FILE *f)
{
    fprintf(f,
        "usage: mobench sweep FILE [--resume [RUN]] [--dry-run] [--db FILE] [--no-db] [--no-roofline]\n"
        "                          [--roofline-paired] [--busy-timeout MS] [--progress MODE]\n"
        "                          [-C LIST | --cluster LIST] [--cpu-strict LIST]\n\n"
        "Runs every cell of a sweep file (models x recipes x threads x CPUs x depths x tests; format:\n"
        "docs/SWEEP.md, examples sweeps/quick.ini and sweeps/nightly.ini). Each cell runs in a\n"
        "child process: a crash, an OOM kill or a time-out is stored as a row with the reason\n"
        "and the sweep goes on. Ctrl-C stores the running cell as interrupted and ends the run.\n\n"
        "options:\n"
        "  --resume [RUN]   continue RUN (default: latest), skipping its finished cells\n"
        "  --dry-run        list the cells, whether they fit in memory, and an ETA; run nothing\n"
        "  --db FILE        the store (default: the file's [sweep] db, else %s or $MOBENCH_DB)\n"
        "  --no-db          store nothing (results still printed on stdout)\n"
        "  --busy-timeout MS  wait up to MS milliseconds for another writer's lock on the store\n"
        "                   before failing (default: the file's [sweep] busy_timeout, else %d)\n"
        "  --no-roofline    measure no ceilings: roofline_pct only from those stored with the\n"
        "                   device ('mobench probe --roofline --db FILE'); default: thread counts\n"
        "                   without stored ceilings are measured once per run (a few seconds)\n"
        "                   and stored when the device has none\n"
        "  --roofline-paired  tg and pg cells: the read bandwidth measured just before each rep;\n"
        "                   their roofline_pct is the median of the reps' own ratios (as bench)\n"
        "  --progress MODE  auto (default: a bar on a terminal), bar, lines or off\n"
        "pinning (replaces the file's [tests] clusters / cpu_mask / cpu_strict):\n"
        CLI_PIN_USAGE "\n"
        "Exit status: 0 when the run completed (failed cells are results), 1 when it could not\n"
        "run or store, 2 on a usage error or a malformed sweep file.\n", DB_DEFAULT_PATH, DB_BUSY_TIMEOUT_MS);
}

static char *join_args(int argc, char **argv)
{
    size_t len = 8;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    strcpy(s, "mobench");
    for (int i = 0; i < argc; i++) {
        strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

static void sweep_on_result(void *ctx, const bench_result_t *r)
{
    bench_out_row(ctx, r);
    fflush(stdout);
}

/* One quality measurement in a child process (it builds two models: an
 * OOM kill or a crash must not take the sweep with it). */
static int quality_in_child(bench_engine_t *eng, const bench_sweep_t *sw, const char *model,
                            const char *const *recipes, int n, bench_quality_t *q)
{
    int fds[2];
    if (pipe(fds))
        return mb_err_set(MB_EIO, "cannot create a pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return mb_err_set(MB_ECHILD, "cannot fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        int threads = sw->threads[sw->n_threads - 1], rc = 0;
        if (!strcasecmp(sw->quality_ref, "F32"))
            rc = bench_quality_f32(eng, model, recipes, n, sw->quality_tokens, threads, q);
        else
            for (int i = 0; i < n && !rc; i++)
                rc = bench_quality_measure(eng, model, recipes[i], sw->quality_ref, sw->quality_tokens,
                                           threads, &q[i]);
        if (rc)
            snprintf(q[0].model, sizeof q[0].model, "error: %s", mb_err_msg());
        size_t want = (size_t)n * sizeof *q;
        ssize_t w = write(fds[1], q, want);
        _exit(w == (ssize_t)want && !rc ? 0 : 1);
    }
    close(fds[1]);
    size_t got = 0, want = (size_t)n * sizeof *q;
    while (got < want) {
        ssize_t k = read(fds[0], (char *)q + got, want - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(st))
        return mb_err_set(WTERMSIG(st) == SIGKILL ? MB_ENOMEM : MB_ECHILD, "quality of %s: killed by signal %d%s",
                          model, WTERMSIG(st), WTERMSIG(st) == SIGKILL ? " (out of memory?)" : "");
    if (got != want || WEXITSTATUS(st))
        return mb_err_set(MB_ECHILD, "quality of %s: %s", model,
                          got >= sizeof *q ? q[0].model : "the measuring process exited without a result");
    return MB_OK;
}

/* [quality] text: quality --text of one GGUF-file model, in a child process
 * like the sampled measure (the result is a plain struct over the pipe). */
typedef struct {
    bench_ppl_text_t t;
    char err[512];
} text_msg_t;

static int text_in_child(const bench_sweep_t *sw, const char *model, text_msg_t *t)
{
    int fds[2];
    if (pipe(fds))
        return mb_err_set(MB_EIO, "cannot create a pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return mb_err_set(MB_ECHILD, "cannot fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        bench_ppl_text_opts_t o = {.model = model, .corpus = sw->quality_text, .n_ctx = 512,
                                   .n_threads = sw->threads[sw->n_threads - 1]};
        int rc = bench_ppl_text(&o, &t->t);
        if (rc)
            snprintf(t->err, sizeof t->err, "%s", mb_err_msg());
        ssize_t w = write(fds[1], t, sizeof *t);
        _exit(w == (ssize_t)sizeof *t && !rc ? 0 : 1);
    }
    close(fds[1]);
    size_t got = 0;
    while (got < sizeof *t) {
        ssize_t k = read(fds[0], (char *)t + got, sizeof *t - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(st))
        return mb_err_set(MB_ECHILD, "quality --text of %s: killed by signal %d", model, WTERMSIG(st));
    if (got != sizeof *t || WEXITSTATUS(st))
        return mb_err_set(MB_ECHILD, "quality --text of %s on %s: %s", model, sw->quality_text,
                          got == sizeof *t ? t->err : "the measuring process exited without a result");
    return MB_OK;
}

static void run_quality_text(const bench_sweep_t *sw, bench_store_t *store)
{
    for (size_t m = 0; m < sw->n_models; m++) {
        size_t len = strlen(sw->models[m]);
        bool file = strchr(sw->models[m], '/') || (len > 5 && !strcasecmp(sw->models[m] + len - 5, ".gguf"));
        if (!file || (store && bench_store_quality_done(store, sw->models[m], "file")))
            continue;
        text_msg_t *t = calloc(1, sizeof *t);
        if (!t) {
            MB_ERROR("out of memory");
            return;
        }
        int rc = text_in_child(sw, sw->models[m], t);
        if (rc) {
            MB_WARN("%s", mb_err_msg());
        } else {
            fprintf(stderr, "mobench: quality %s on %s: PPL %.4f +/- %.5f (%d windows of %d)\n",
                    sw->models[m], sw->quality_text, t->t.r.ppl, t->t.r.ppl_err, t->t.r.n_chunks,
                    t->t.r.n_ctx);
            if (store && (rc = bench_store_quality_text(store, sw->models[m], &t->t)))
                MB_ERROR("cannot store the quality of %s: %s", sw->models[m], mb_err_msg());
        }
        free(t);
    }
}

static void run_quality(bench_engine_t *eng, const bench_sweep_t *sw, bench_store_t *store)
{
    if (sw->quality_text)
        run_quality_text(sw, store);
    const char *todo[64];
    bench_quality_t q[64];
    for (size_t m = 0; m < sw->n_models; m++) {
        int n = 0;
        for (size_t r = 0; r < sw->n_recipes && n < 64; r++) {
            if (!strcasecmp(sw->recipes[r], sw->quality_ref) || !strcasecmp(sw->recipes[r], "file"))
                continue;
            if (store && bench_store_quality_done(store, sw->models[m], sw->recipes[r]))
                continue;
            todo[n++] = sw->recipes[r];
        }
        if (!n)
            continue;
        int rc = quality_in_child(eng, sw, sw->models[m], todo, n, q);
        if (rc) {
            MB_WARN("%s", mb_err_msg());
            continue;
        }
        for (int i = 0; i < n; i++) {
            fprintf(stderr, "mobench: quality %s %s vs %s over %d positions: mean KLD %.5f, p99 KLD %.5f, "
                    "top-1 agreement %.1f%%, PPL ratio %.4f\n", q[i].model, q[i].recipe, q[i].ref_recipe,
                    q[i].n_tokens, q[i].mean_kld, q[i].p99_kld, q[i].top1_agree * 100, q[i].ppl_ratio);
            if (store && (rc = bench_store_quality(store, &q[i])))
                MB_ERROR("cannot store the quality of %s %s: %s", q[i].model, q[i].recipe, mb_err_msg());
        }
    }
}

/* Is there an operand (the sweep file) among argv[from..], not counting the
 * values of options that take one? */
static bool operand_after(int argc, char **argv, int from)
{
    for (int i = from; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--"))
            return i + 1 < argc;
        if (a[0] != '-')
            return true;
        if (!strchr(a, '=') && (!strcmp(a, "--db") || !strcmp(a, "--progress") || !strcmp(a, "--busy-timeout") ||
                                !strcmp(a, "-C") || !strcmp(a, "--cpu-mask") || !strcmp(a, "--cpu-strict") ||
                                !strcmp(a, "--cluster")))
            i++;
    }
    return false;
}

/* The pinning axes: the command line's, when given, replace the file's;
 * then clusters and masks are resolved against this device. Exit code. */
static int sweep_pins(bench_sweep_t *sw, cli_pins_t *p)
{
    if (p->n_pins || p->n_stricts) {
        bool keep_file_pins = !p->n_pins; /* only --cpu-strict given: the file's CPUs */
        if (keep_file_pins) {
            bool pinned = false;
            for (size_t i = 0; i < sw->n_pins; i++)
                pinned |= sw->pins[i].cluster[0] || !bench_cpuset_empty(&sw->pins[i].cpus);
            if (pinned) {
                p->pins = sw->pins;
                p->n_pins = sw->n_pins;
                sw->pins = NULL;
                sw->n_pins = 0;
            }
        }
        if (!p->n_stricts) { /* only -C or --cluster given: the file's cpu_strict */
            p->stricts = sw->stricts;
            p->n_stricts = sw->n_stricts;
            sw->stricts = NULL;
            sw->n_stricts = 0;
        }
        int rc = cli_pins_finish("sweep", p);
        if (rc)
            return rc;
        free(sw->pins);
        free(sw->stricts);
        sw->pins = p->pins;
        sw->n_pins = p->n_pins;
        sw->stricts = p->stricts;
        sw->n_stricts = p->n_stricts;
        memset(p, 0, sizeof *p);
        return MB_EXIT_OK;
    }
    bool pinned = false;
    for (size_t i = 0; i < sw->n_pins; i++)
        pinned |= sw->pins[i].cluster[0] || !bench_cpuset_empty(&sw->pins[i].cpus);
    if (!pinned)
        return MB_EXIT_OK;
    probes_device_t dev;
    probes_opts_t po = {.quiet = true};
    int rc = probes_device_probe(&po, &dev);
    if (!rc)
        rc = bench_pins_resolve(sw->pins, sw->n_pins, &dev, sw->path);
    probes_device_free(&dev);
    if (rc) {
        fprintf(stderr, "mobench: sweep: %s\n", mb_err_msg());
        return rc == MB_EINVAL || rc == MB_ENOENT ? MB_EXIT_USAGE : MB_EXIT_FAIL;
    }
    return MB_EXIT_OK;
}

int cmd_sweep(int argc, char **argv)
{
    const char *file = NULL, *resume = NULL, *db_path = NULL;
    bool dry = false, no_db = false, no_roofline = false, paired = false;
    bench_progress_t progress = BENCH_PROGRESS_AUTO;
    int busy_ms = 0;
    enum { OPT_RESUME = 1000, OPT_DRY, OPT_NO_DB, OPT_NO_ROOFLINE, OPT_DB, OPT_PROGRESS, OPT_BUSY, OPT_PAIRED };
    static const struct option longopts[] = {
        {"resume", optional_argument, NULL, OPT_RESUME},
        {"dry-run", no_argument, NULL, OPT_DRY},
        {"no-db", no_argument, NULL, OPT_NO_DB},
        {"no-roofline", no_argument, NULL, OPT_NO_ROOFLINE},
        {"roofline-paired", no_argument, NULL, OPT_PAIRED},
        {"db", required_argument, NULL, OPT_DB},
        {"progress", required_argument, NULL, OPT_PROGRESS},
        {"busy-timeout", required_argument, NULL, OPT_BUSY},
        CLI_PIN_LONGOPTS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_opts_t op;
    cli_opts_init(&op, argc, argv, "C:h", longopts);
    cli_pins_t pins = {0};
    int prc;
    int oc;
    const char *v;
    while ((oc = cli_opts_next(&op, &v)) != CLI_OPT_END) {
        switch (oc) {
        case 'h':
            sweep_usage(stdout);
            cli_pins_free(&pins);
            return MB_EXIT_OK;
        case OPT_RESUME: {
            /* The run is optional: --resume=RUN, or the next word unless it
             * is an option or the sweep file (when the file comes after). */
            resume = v ? v : "latest";
            int k = cli_opts_index(&op);
            if (!v && k < argc && argv[k][0] != '-' && (file || operand_after(argc, argv, k + 1))) {
                resume = argv[k];
                cli_opts_skip(&op);
            }
            break;
        }
        case OPT_DRY: dry = true; break;
        case OPT_NO_DB: no_db = true; break;
        case OPT_NO_ROOFLINE: no_roofline = true; break;
        case OPT_PAIRED: paired = true; break;
        case OPT_DB: db_path = v; break;
        case OPT_PROGRESS:
            if (!strcmp(v, "auto")) progress = BENCH_PROGRESS_AUTO;
            else if (!strcmp(v, "bar")) progress = BENCH_PROGRESS_BAR;
            else if (!strcmp(v, "lines")) progress = BENCH_PROGRESS_LINES;
            else if (!strcmp(v, "off")) progress = BENCH_PROGRESS_OFF;
            else return cli_usage_error("sweep", "--progress: expected auto, bar, lines or off, got '%s'", v);
            break;
        case OPT_BUSY:
            if (cli_parse_busy_timeout("sweep", v, &busy_ms))
                return MB_EXIT_USAGE;
            break;
        case CLI_OPT_CPU_MASK:
        case CLI_OPT_CPU_STRICT:
        case CLI_OPT_CLUSTER:
            if ((prc = cli_pins_option("sweep", oc, v, &pins))) {
                cli_pins_free(&pins);
                return prc;
            }
            break;
        case CLI_OPT_OPERAND:
            if (file)
                return cli_usage_error("sweep", "unexpected argument '%s' (one sweep file per run)", v);
            file = v;
            break;
        default:
            return cli_opts_error(&op, "sweep", oc);
        }
    }
    if (!file || (resume && no_db))
        cli_pins_free(&pins);
    if (!file)
        return cli_usage_error("sweep", "no sweep file: mobench sweep FILE (e.g. sweeps/quick.ini)");
    if (resume && no_db)
        return cli_usage_error("sweep", "--resume needs the store: drop --no-db");

    bench_names_t names = bench_engine_names();
    bench_sweep_t *sw = NULL;
    int rc = bench_sweep_load(file, &names, &sw);
    if (rc) {
        cli_pins_free(&pins);
        fprintf(stderr, "mobench: sweep: %s\n", mb_err_msg());
        return rc == MB_EFORMAT || rc == MB_ENOENT ? MB_EXIT_USAGE : MB_EXIT_FAIL;
    }
    if ((prc = sweep_pins(sw, &pins))) {
        cli_pins_free(&pins);
        bench_sweep_free(sw);
        return prc;
    }
    cli_pins_free(&pins);
    int ret = MB_EXIT_OK;
    bench_cell_t *cells = NULL;
    size_t n_cells = 0;
    bench_engine_t *eng = NULL;
    bench_store_t *store = NULL;
    bench_probe_sensors_t *ps = NULL;
    bench_probe_meter_t *meter = NULL;
    char *cmdline = NULL;
    if ((rc = bench_sweep_cells(sw, &cells, &n_cells)) || (rc = bench_engine_create(sw->kernel, sw->seed, &eng))) {
        ret = cli_fail("sweep", rc);
        goto out;
    }
    if (!db_path)
        db_path = sw->db_path ? sw->db_path : db_default_path();
    bench_sink_t sink;
    if (!no_db) {
        cmdline = join_args(argc, argv);
        bench_store_opts_t so = {.sweep = true, .cmdline = cmdline, .sweep_file = file,
                                 .busy_timeout_ms = busy_ms ? busy_ms : sw->busy_timeout_ms};
        if ((rc = bench_store_open(db_path, &so, &store))) {
            ret = cli_fail("sweep", rc);
            goto out;
        }
        sink = bench_store_sink(store);
    }
    bench_backend_t backend = bench_engine_backend(eng);
    bench_sensors_t sensors;
    bool have_sensors = bench_probe_sensors_create(&ps) == 0;
    if (have_sensors) {
        sensors = bench_probe_sensors(ps);
        char d[160];
        bench_probe_sensors_describe(ps, d, sizeof d);
        MB_INFO("sensors: %s", d);
    }
    /* Adaptive reps stop adding past the minimum at half the cell's time
     * limit, so a slow cell ends with a result instead of a time-out. */
    bench_reps_policy_t reps = sw->reps;
    reps.budget_s = sw->cell_time_s / 2;
    bench_ceilings_t ceil;
    bool have_ceil = false;
    /* The dry run needs them too: its ETA for cells that never ran. */
    if ((rc = bench_ceilings_for_run(store, cells, n_cells, !no_roofline, &ceil, &have_ceil))) {
        ret = cli_fail("sweep", rc);
        goto out;
    }
    bench_meter_t bm = {0};
    if (paired && !dry) {
        if ((rc = bench_probe_meter_create(0, &meter))) {
            ret = cli_fail("sweep", rc);
            goto out;
        }
        bm = bench_probe_meter(meter);
    }
    bench_run_opts_t ro = {
        .cells = cells, .n_cells = n_cells, .reps = reps, .warmup = sw->warmup, .seed = sw->seed,
        .cell_time_s = sw->cell_time_s, .cooldown = sw->cooldown,
        /* --roofline-paired: each cell maps the meter's buffer too */
        .headroom = sw->headroom + (paired && !dry ? probes_bw_meter_default_bytes() : 0),
        .dry_run = dry, .resume = resume, .backend = &backend, .sink = no_db ? NULL : &sink,
        .sensors = have_sensors ? &sensors : NULL,
        .progress = progress, .ceilings = have_ceil ? &ceil : NULL,
        .meter = meter ? &bm : NULL,
    };
    if (!dry)
        MB_INFO("sweep %s: %zu cells%s%s", sw->name, n_cells, no_db ? "" : ", store ", no_db ? "" : db_path);
    /* Results on stdout, one row per finished cell (progress stays on stderr). */
    bench_out_t *out_md = NULL;
    if (!dry && bench_out_begin(stdout, BENCH_OUT_MD, "", &out_md) == 0) {
        ro.on_result = sweep_on_result;
        ro.on_result_ctx = out_md;
    }
    bench_run_summary_t sum;
    rc = bench_run(&ro, &sum);
    if (out_md)
        bench_out_end(out_md);
    if (!dry) {
        fprintf(stderr, "mobench: sweep %s: %zu ok, %zu skipped, %zu failed, %zu oom, %zu timeout, "
                "%zu interrupted, %zu finished earlier; cooldown %.0f s%s%s\n", sw->name,
                sum.done[BENCH_CELL_OK], sum.done[BENCH_CELL_SKIPPED], sum.done[BENCH_CELL_FAILED],
                sum.done[BENCH_CELL_OOM], sum.done[BENCH_CELL_TIMEOUT], sum.done[BENCH_CELL_INTERRUPTED],
                sum.resumed, sum.cooldown_s, store ? "; run " : "", store ? bench_store_run(store) : "");
    }
    if (rc)
        ret = cli_fail("sweep", rc);
    else if (sw->quality && !dry)
        run_quality(eng, sw, store);
out:
    bench_probe_meter_destroy(meter);
    bench_store_close(store);
    bench_probe_sensors_destroy(ps);
    bench_engine_destroy(eng);
    free(cells);
    free(cmdline);
    bench_sweep_free(sw);
    return ret;
}
