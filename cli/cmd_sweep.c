/* cmd_sweep.c: `mobench sweep FILE`: a sweep file's cells (docs/SWEEP.md),
 * each in a child process, stored one transaction per cell; --resume
 * continues an interrupted run, --dry-run lists cells, fit and ETA. */
#include "bench.h"
#include "commands.h"
#include "db.h"
#include "mb.h"

#include <stdlib.h>
#include <string.h>

static void sweep_usage(FILE *f)
{
    fprintf(f,
        "usage: mobench sweep FILE [--resume [RUN]] [--dry-run] [--db FILE] [--no-db]\n\n"
        "Runs every cell of a sweep file (models x recipes x threads x depths x tests; format:\n"
        "docs/SWEEP.md, examples sweeps/quick.ini and sweeps/nightly.ini). Each cell runs in a\n"
        "child process: a crash, an OOM kill or a time-out is stored as a row with the reason\n"
        "and the sweep goes on. Ctrl-C stores the running cell as interrupted and ends the run.\n\n"
        "options:\n"
        "  --resume [RUN]   continue RUN (default: latest), skipping its finished cells\n"
        "  --dry-run        list the cells, whether they fit in memory, and an ETA; run nothing\n"
        "  --db FILE        the store (default: the file's [sweep] db, else %s or $MOBENCH_DB)\n"
        "  --no-db          store nothing (results on stderr only)\n"
        "  --progress MODE  auto (default: a bar on a terminal), bar, lines or off\n\n"
        "Exit status: 0 when the run completed (failed cells are results), 1 when it could not\n"
        "run or store, 2 on a usage error or a malformed sweep file.\n", DB_DEFAULT_PATH);
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

int cmd_sweep(int argc, char **argv)
{
    const char *file = NULL, *resume = NULL, *db_path = NULL;
    bool dry = false, no_db = false;
    bench_progress_t progress = BENCH_PROGRESS_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            sweep_usage(stdout);
            return MB_EXIT_OK;
        } else if (!strcmp(a, "--resume")) {
            /* The run is optional: the next word is it unless it is an option
             * or the sweep file (when the file comes after --resume). */
            resume = "latest";
            if (i + 1 < argc && argv[i + 1][0] != '-' && (file || i + 2 < argc))
                resume = argv[++i];
        } else if (!strcmp(a, "--dry-run")) {
            dry = true;
        } else if (!strcmp(a, "--no-db")) {
            no_db = true;
        } else if (!strcmp(a, "--db")) {
            if (++i >= argc)
                return cli_usage_error("sweep", "--db: missing file name");
            db_path = argv[i];
        } else if (!strcmp(a, "--progress")) {
            if (++i >= argc)
                return cli_usage_error("sweep", "--progress: missing mode");
            const char *m = argv[i];
            if (!strcmp(m, "auto")) progress = BENCH_PROGRESS_AUTO;
            else if (!strcmp(m, "bar")) progress = BENCH_PROGRESS_BAR;
            else if (!strcmp(m, "lines")) progress = BENCH_PROGRESS_LINES;
            else if (!strcmp(m, "off")) progress = BENCH_PROGRESS_OFF;
            else return cli_usage_error("sweep", "--progress: expected auto, bar, lines or off, got '%s'", m);
        } else if (a[0] == '-') {
            return cli_usage_error("sweep", "unknown option '%s'", a);
        } else if (!file) {
            file = a;
        } else {
            return cli_usage_error("sweep", "unexpected argument '%s' (one sweep file per run)", a);
        }
    }
    if (!file)
        return cli_usage_error("sweep", "no sweep file: mobench sweep FILE (e.g. sweeps/quick.ini)");
    if (resume && no_db)
        return cli_usage_error("sweep", "--resume needs the store: drop --no-db");

    bench_names_t names = bench_engine_names();
    bench_sweep_t *sw = NULL;
    int rc = bench_sweep_load(file, &names, &sw);
    if (rc) {
        fprintf(stderr, "mobench: sweep: %s\n", mb_err_msg());
        return rc == MB_EFORMAT || rc == MB_ENOENT ? MB_EXIT_USAGE : MB_EXIT_FAIL;
    }
    int ret = MB_EXIT_OK;
    bench_cell_t *cells = NULL;
    size_t n_cells = 0;
    bench_engine_t *eng = NULL;
    bench_store_t *store = NULL;
    bench_probe_sensors_t *ps = NULL;
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
        bench_store_opts_t so = {.sweep = true, .cmdline = cmdline, .sweep_file = file};
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
    bench_run_opts_t ro = {
        .cells = cells, .n_cells = n_cells, .reps = sw->reps, .warmup = sw->warmup, .seed = sw->seed,
        .cell_time_s = sw->cell_time_s, .headroom = sw->headroom, .cooldown = sw->cooldown,
        .dry_run = dry, .resume = resume, .backend = &backend, .sink = no_db ? NULL : &sink,
        .sensors = have_sensors ? &sensors : NULL,
        .progress = progress,
    };
    if (!dry)
        MB_INFO("sweep %s: %zu cells%s%s", sw->name, n_cells, no_db ? "" : ", store ", no_db ? "" : db_path);
    bench_run_summary_t sum;
    rc = bench_run(&ro, &sum);
    if (!dry) {
        fprintf(stderr, "mobench: sweep %s: %zu ok, %zu skipped, %zu failed, %zu oom, %zu timeout, "
                "%zu interrupted, %zu finished earlier; cooldown %.0f s%s%s\n", sw->name,
                sum.done[BENCH_CELL_OK], sum.done[BENCH_CELL_SKIPPED], sum.done[BENCH_CELL_FAILED],
                sum.done[BENCH_CELL_OOM], sum.done[BENCH_CELL_TIMEOUT], sum.done[BENCH_CELL_INTERRUPTED],
                sum.resumed, sum.cooldown_s, store ? "; run " : "", store ? bench_store_run(store) : "");
    }
    if (rc)
        ret = cli_fail("sweep", rc);
out:
    bench_store_close(store);
    bench_probe_sensors_destroy(ps);
    bench_engine_destroy(eng);
    free(cells);
    free(cmdline);
    bench_sweep_free(sw);
    return ret;
}
