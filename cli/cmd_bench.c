/* cmd_bench.c: `mobench bench`, llama-bench-compatible one-off runs. Each
 * cell runs in its own child process (bench_run); results stream to stdout
 * as cells finish and go to the store unless --no-db. */
#include "bench.h"
#include "cli_opts.h"
#include "commands.h"
#include "db.h"
#include "mb.h"
#include "probes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static void bench_usage(FILE *f)
{
    fprintf(f,
        "usage: mobench bench -m MODEL[,MODEL...] [options]\n\n"
        "Prefill and decode speed of catalog models (synthetic weights, seeded, real shapes,\n"
        "built once into the models cache) at each quant recipe, or of GGUF files, llama-bench\n"
        "style: one row per model x recipe x threads x CPUs (-C, --cluster) x depth x test.\n\n"
        "options (lists are comma-separated; every combination runs):\n"
        "  -m, --model LIST       catalog names ('mobench models list') or GGUF file paths\n"
        "  -q, --quant LIST       quant recipes (default Q4_0, or 'file' when -m names only GGUF files), e.g. Q4_0,Q4_K_M\n"
        "  -p, --n-prompt LIST    prompt sizes for pp tests (default 512; 0 = none)\n"
        "  -n, --n-gen LIST       generation sizes for tg tests (default 128; 0 = none)\n"
        "  -pg, --pg P,N          a pp+tg test: prefill P, then decode N (repeatable)\n"
        "  --prompt-file F        the prompt is F's text, tokenized by the GGUF file's tokenizer:\n"
        "                         pp (and -pg) tests run its real tokens at its real length (one\n"
        "                         GGUF -m; not with -p; -pg P must then be the token count)\n"
        "  -d, --n-depth LIST     tokens already in the KV cache, filled once per cell (default 0)\n"
        "  -t, --threads LIST     thread counts (default: all %ld cores)\n"
        CLI_PIN_USAGE
        "  -r, --repetitions N    repetitions per cell, at least (default 5)\n"
        "  --cv-target PCT        more reps until the CV is under PCT (e.g. 2%%), up to --max-reps\n"
        "  --max-reps N           cap for --cv-target (default 20)\n"
        "  -o, --output FMT       md (default), csv, json, jsonl or sql, on stdout\n"
        "  --no-warmup            skip the untimed warm-up run per cell\n"
        "  --delay S              pause S seconds between cells (default 0)\n"
        "  --seed S               seed of the synthetic weights and token ids (default %d, as\n"
        "                         'models build' and sweep files: the same cached model)\n"
        "  --kernel V             force a kernel variant ('mobench kernels --list')\n"
        "  --sustained DURATION   decode continuously for DURATION (e.g. 10m) in 5 s windows:\n"
        "                         burst (first 30 s) vs sustained (last 2 min: runs of 2.5 min\n"
        "                         or more; shorter ones have none) t/s, time to throttle, J/token\n"
        "  --db FILE              store results here (default %s, or $MOBENCH_DB)\n"
        "  --no-db                do not store results\n"
        "  --busy-timeout MS      wait up to MS milliseconds for another writer's lock on the\n"
        "                         store before failing (default %d)\n"
        "  --no-roofline          do not measure ceilings: roofline_pct only from ceilings stored\n"
        "                         with the device ('mobench probe --roofline --db FILE'); default:\n"
        "                         thread counts without stored ceilings are measured once per run\n"
        "                         (a few seconds) and stored when the device has none\n"
        "  --roofline-paired      decode cells (tg, pg): measure the read bandwidth (the probe's\n"
        "                         buffer, min(1 GiB, RAM/4), mapped by each cell, and kernels) just\n"
        "                         before each rep; roofline_pct is then the median of the reps' own\n"
        "                         ratios, steady on machines whose bandwidth moves (shared hosts,\n"
        "                         throttling); the figures are in samples_read_gbs\n\n"
        "Columns: docs/OUTPUT.md. Each cell runs in a child process: a crash or an OOM kill\n"
        "becomes a row with the reason. Exit status 1 if any cell failed.\n",
        sysconf(_SC_NPROCESSORS_ONLN), CLI_DEFAULT_SEED, DB_DEFAULT_PATH, DB_BUSY_TIMEOUT_MS);
}

typedef struct {
    int *v;
    size_t n;
} ints_t;

static int parse_ints(const char *opt, const char *s, int lo, ints_t *out)
{
    char **parts;
    size_t n;
    if (mb_split_csv(s, &parts, &n))
        return cli_usage_error("bench", "%s: %s", opt, mb_err_msg());
    free(out->v);
    out->v = calloc(n ? n : 1, sizeof *out->v);
    out->n = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        int64_t x;
        if (mb_parse_i64(parts[i], &x) || x < lo || x > (1 << 20))
            rc = cli_usage_error("bench", "%s: expected integers from %d to 1048576, got '%s'", opt, lo,
                                 parts[i]);
        else
            out->v[out->n++] = (int)x;
    }
    mb_strv_free(parts, n);
    if (!rc && !out->n)
        rc = cli_usage_error("bench", "%s: expected a list of integers", opt);
    return rc;
}

typedef struct {
    bench_out_t *out;
    size_t bad;
} sinkout_t;

static void on_result(void *ctx, const bench_result_t *r)
{
    sinkout_t *s = ctx;
    bench_out_row(s->out, r);
    if (r->status != BENCH_CELL_OK && r->status != BENCH_CELL_SKIPPED)
        s->bad++;
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

int cmd_bench(int argc, char **argv)
{
    char **models = NULL, **recipes = NULL;
    size_t n_models = 0, n_recipes = 0;
    ints_t prompts = {0}, gens = {0}, depths = {0}, threads = {0}, pgs = {0};
    bench_reps_policy_t reps = {.min_reps = 5, .max_reps = 20, .cv_target = 0};
    bench_out_fmt_t fmt = BENCH_OUT_MD;
    bool warmup = true, no_db = false, max_set = false, no_roofline = false, paired = false;
    double delay = 0, sustained = 0;
    uint64_t seed = CLI_DEFAULT_SEED;
    int busy_ms = 0;
    char **pg_argv = NULL;
    const char *kernel = NULL, *db_path = db_default_path(), *prompt_file = NULL;
    int32_t *prompt = NULL;
    size_t n_prompt_tok = 0;
    int rc = MB_EXIT_OK;
    bench_cell_t *cells = NULL;
    bench_engine_t *eng = NULL;
    bench_probe_sensors_t *ps = NULL;
    bench_store_t *store = NULL;
    bench_probe_meter_t *meter = NULL;
    char *cmdline = NULL;
    cli_pins_t pins = {0};

    enum { OPT_PG = 1000, OPT_NO_WARMUP, OPT_NO_DB, OPT_NO_ROOFLINE, OPT_MAX_REPS, OPT_CV_TARGET,
           OPT_DELAY, OPT_SEED, OPT_KERNEL, OPT_DB, OPT_SUSTAINED, OPT_BUSY, OPT_PAIRED,
           OPT_PROMPT_FILE };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"quant", required_argument, NULL, 'q'},
        {"n-prompt", required_argument, NULL, 'p'},
        {"n-gen", required_argument, NULL, 'n'},
        {"pg", required_argument, NULL, OPT_PG},
        {"prompt-file", required_argument, NULL, OPT_PROMPT_FILE},
        {"n-depth", required_argument, NULL, 'd'},
        {"threads", required_argument, NULL, 't'},
        {"repetitions", required_argument, NULL, 'r'},
        {"output", required_argument, NULL, 'o'},
        {"max-reps", required_argument, NULL, OPT_MAX_REPS},
        {"cv-target", required_argument, NULL, OPT_CV_TARGET},
        {"no-warmup", no_argument, NULL, OPT_NO_WARMUP},
        {"delay", required_argument, NULL, OPT_DELAY},
        {"seed", required_argument, NULL, OPT_SEED},
        {"kernel", required_argument, NULL, OPT_KERNEL},
        {"sustained", required_argument, NULL, OPT_SUSTAINED},
        {"db", required_argument, NULL, OPT_DB},
        {"no-db", no_argument, NULL, OPT_NO_DB},
        {"no-roofline", no_argument, NULL, OPT_NO_ROOFLINE},
        {"roofline-paired", no_argument, NULL, OPT_PAIRED},
        {"busy-timeout", required_argument, NULL, OPT_BUSY},
        CLI_PIN_LONGOPTS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* llama-bench's -pg is two letters after one dash, which getopt would
     * read as -p with the value "g": give getopt its long form. */
    pg_argv = malloc(((size_t)argc + 1) * sizeof *pg_argv);
    if (!pg_argv) {
        rc = cli_fail("bench", MB_ENOMEM);
        goto out;
    }
    for (int i = 0; i < argc; i++)
        pg_argv[i] = !strcmp(argv[i], "-pg") ? (char *)"--pg" : argv[i];
    pg_argv[argc] = NULL;
    cli_opts_t op;
    cli_opts_init(&op, argc, pg_argv, "m:q:p:n:d:t:r:o:C:h", longopts);
    op.shown = argv;
    int oc;
    const char *v;
    while ((oc = cli_opts_next(&op, &v)) != CLI_OPT_END) {
        switch (oc) {
        case 'h':
            bench_usage(stdout);
            goto out;
        case OPT_NO_WARMUP: warmup = false; break;
        case OPT_NO_DB: no_db = true; break;
        case OPT_NO_ROOFLINE: no_roofline = true; break;
        case OPT_PAIRED: paired = true; break;
        case 'm':
            mb_strv_free(models, n_models);
            models = NULL;
            n_models = 0;
            if (mb_split_csv(v, &models, &n_models) || !n_models) {
                rc = cli_usage_error("bench", "-m: expected model names, got '%s'", v);
                goto out;
            }
            break;
        case 'q':
            mb_strv_free(recipes, n_recipes);
            recipes = NULL;
            n_recipes = 0;
            if (mb_split_csv(v, &recipes, &n_recipes) || !n_recipes) {
                rc = cli_usage_error("bench", "-q: expected recipe names, got '%s'", v);
                goto out;
            }
            break;
        case 'p':
            if ((rc = parse_ints("-p", v, 0, &prompts)))
                goto out;
            break;
        case OPT_PROMPT_FILE: prompt_file = v; break;
        case 'n':
            if ((rc = parse_ints("-n", v, 0, &gens)))
                goto out;
            break;
        case OPT_PG: {
            ints_t pair = {0};
            if ((rc = parse_ints("-pg", v, 1, &pair)) || pair.n != 2) {
                free(pair.v);
                if (!rc)
                    rc = cli_usage_error("bench", "-pg: expected one pair P,N such as 512,128, got '%s'", v);
                goto out;
            }
            int *nv = realloc(pgs.v, (pgs.n + 2) * sizeof *nv);
            if (!nv) {
                free(pair.v);
                rc = cli_fail("bench", MB_ENOMEM);
                goto out;
            }
            pgs.v = nv;
            pgs.v[pgs.n++] = pair.v[0];
            pgs.v[pgs.n++] = pair.v[1];
            free(pair.v);
            break;
        }
        case 'd':
            if ((rc = parse_ints("-d", v, 0, &depths)))
                goto out;
            break;
        case 't':
            if ((rc = parse_ints("-t", v, 1, &threads)))
                goto out;
            break;
        case 'r': {
            int64_t x;
            if (mb_parse_i64(v, &x) || x < 1 || x > 10000) {
                rc = cli_usage_error("bench", "-r: expected a repetition count from 1 to 10000, got '%s'", v);
                goto out;
            }
            reps.min_reps = (int)x;
            break;
        }
        case OPT_MAX_REPS: {
            int64_t x;
            if (mb_parse_i64(v, &x) || x < 1 || x > 10000) {
                rc = cli_usage_error("bench", "--max-reps: expected a count from 1 to 10000, got '%s'", v);
                goto out;
            }
            reps.max_reps = (int)x;
            max_set = true;
            break;
        }
        case OPT_CV_TARGET:
            if (mb_parse_fraction(v, &reps.cv_target) || reps.cv_target <= 0 || reps.cv_target >= 1) {
                rc = cli_usage_error("bench", "--cv-target: expected a percentage like 2%%, got '%s'", v);
                goto out;
            }
            break;
        case 'o':
            if (bench_out_parse(v, &fmt)) {
                rc = cli_usage_error("bench", "-o: %s", mb_err_msg());
                goto out;
            }
            break;
        case OPT_DELAY:
            if (mb_parse_duration(v, &delay)) {
                rc = cli_usage_error("bench", "--delay: %s", mb_err_msg());
                goto out;
            }
            break;
        case OPT_SEED: {
            int64_t x;
            if (mb_parse_i64(v, &x) || x < 0) {
                rc = cli_usage_error("bench", "--seed: expected a non-negative integer, got '%s'", v);
                goto out;
            }
            seed = (uint64_t)x;
            break;
        }
        case OPT_KERNEL: kernel = v; break;
        case OPT_DB: db_path = v; break;
        case OPT_SUSTAINED:
            if (mb_parse_duration(v, &sustained) || sustained < BENCH_SUSTAINED_WINDOW_S) {
                rc = cli_usage_error("bench", "--sustained: expected a duration of at least 5s, like 10m, got '%s'", v);
                goto out;
            }
            break;
        case OPT_BUSY:
            if ((rc = cli_parse_busy_timeout("bench", v, &busy_ms)))
                goto out;
            break;
        case CLI_OPT_CPU_MASK:
        case CLI_OPT_CPU_STRICT:
        case CLI_OPT_CLUSTER:
            if ((rc = cli_pins_option("bench", oc, v, &pins)))
                goto out;
            break;
        case CLI_OPT_OPERAND:
            rc = cli_usage_error("bench", "%s: unexpected argument (models go after -m)", v);
            goto out;
        default:
            rc = cli_opts_error(&op, "bench", oc);
            goto out;
        }
    }
    if (!n_models) {
        rc = cli_usage_error("bench", "no model: give -m NAME (catalog: 'mobench models list')");
        goto out;
    }
    if (reps.cv_target > 0 && !max_set && reps.max_reps < reps.min_reps)
        reps.max_reps = reps.min_reps;
    if (bench_reps_policy_check(&reps)) {
        rc = cli_usage_error("bench", "%s", mb_err_msg());
        goto out;
    }
    /* GGUF files carry their own types: without -q, a run of files alone
     * benchmarks them as they are. */
    bool all_files = n_models > 0;
    for (size_t i = 0; i < n_models; i++) {
        size_t len = strlen(models[i]);
        all_files &= strchr(models[i], '/') || (len > 5 && !strcasecmp(models[i] + len - 5, ".gguf"));
    }
    if (!recipes && mb_split_csv(all_files ? "file" : "Q4_0", &recipes, &n_recipes)) {
        rc = cli_fail("bench", MB_ENOMEM);
        goto out;
    }
    if (prompt_file) {
        /* the real prompt: tokenized by the one GGUF file's own tokenizer */
        if (prompts.n) {
            rc = cli_usage_error("bench", "--prompt-file sets the prompt: drop -p");
            goto out;
        }
        if (n_models != 1 || !all_files) {
            rc = cli_usage_error("bench", "--prompt-file needs exactly one GGUF file with -m: "
                                 "catalog models have synthetic weights and no tokenizer");
            goto out;
        }
        int erc = bench_prompt_tokens(models[0], prompt_file, &prompt, &n_prompt_tok);
        if (erc) {
            rc = cli_fail("bench", erc);
            goto out;
        }
        char np[24];
        snprintf(np, sizeof np, "%zu", n_prompt_tok);
        if ((rc = parse_ints("-p", np, 0, &prompts)))
            goto out;
        for (size_t i = 0; i + 1 < pgs.n; i += 2)
            if ((size_t)pgs.v[i] != n_prompt_tok) {
                rc = cli_usage_error("bench", "--prompt-file %s is %zu tokens: use -pg %zu,N",
                                     prompt_file, n_prompt_tok, n_prompt_tok);
                goto out;
            }
        MB_INFO("prompt: %s, %zu tokens", prompt_file, n_prompt_tok);
    }
    if (!prompts.n && parse_ints("-p", "512", 0, &prompts))
        goto out;
    if (!gens.n && parse_ints("-n", "128", 0, &gens))
        goto out;
    if (!depths.n && parse_ints("-d", "0", 0, &depths))
        goto out;
    if (!threads.n) {
        char nc[16];
        snprintf(nc, sizeof nc, "%ld", sysconf(_SC_NPROCESSORS_ONLN));
        if (parse_ints("-t", nc, 1, &threads))
            goto out;
    }
    /* Names first: a typo is a usage error with the known names. */
    bench_names_t names = bench_engine_names();
    for (size_t i = 0; i < n_models; i++)
        if (names.check_model(NULL, models[i])) {
            rc = cli_usage_error("bench", "-m: %s", mb_err_msg());
            goto out;
        }
    for (size_t i = 0; i < n_recipes; i++)
        if (names.check_recipe(NULL, recipes[i])) {
            rc = cli_usage_error("bench", "-q: %s", mb_err_msg());
            goto out;
        }

    /* Tests: pp per prompt size, tg per gen size, then the pg pairs. In
     * sustained mode one continuous decode per model x recipe x threads. */
    size_t n_tests = 0;
    bench_test_t tests[256];
    if (sustained > 0) {
        tests[n_tests++] = (bench_test_t){BENCH_TEST_TG, 0, gens.v[0] > 0 ? gens.v[0] : 128, 0};
    } else {
        for (size_t i = 0; i < prompts.n && n_tests < 256; i++)
            if (prompts.v[i] > 0)
                tests[n_tests++] = (bench_test_t){BENCH_TEST_PP, prompts.v[i], 0, 0};
        for (size_t i = 0; i < gens.n && n_tests < 256; i++)
            if (gens.v[i] > 0)
                tests[n_tests++] = (bench_test_t){BENCH_TEST_TG, 0, gens.v[i], 0};
        for (size_t i = 0; i + 1 < pgs.n && n_tests < 256; i += 2)
            tests[n_tests++] = (bench_test_t){BENCH_TEST_PG, pgs.v[i], pgs.v[i + 1], 0};
    }
    if (!n_tests) {
        rc = cli_usage_error("bench", "no tests: -p and -n are both 0 and no -pg was given");
        goto out;
    }
    if (paired && sustained > 0) {
        rc = cli_usage_error("bench", "--roofline-paired pairs each rep with a bandwidth measurement; "
                             "--sustained decodes without reps: use one or the other");
        goto out;
    }
    /* The CPUs, last of the checks: it probes the device. */
    if ((rc = cli_pins_finish("bench", &pins)))
        goto out;
    size_t nd = sustained > 0 ? 1 : depths.n;
    size_t n_cells = n_models * n_recipes * threads.n * pins.n_pins * pins.n_stricts * nd * n_tests;
    cells = calloc(n_cells, sizeof *cells);
    if (!cells) {
        rc = cli_fail("bench", MB_ENOMEM);
        goto out;
    }
    size_t k = 0;
    for (size_t m = 0; m < n_models; m++)
        for (size_t q = 0; q < n_recipes; q++)
            for (size_t t = 0; t < threads.n; t++)
                for (size_t pi = 0; pi < pins.n_pins * pins.n_stricts; pi++)
                    for (size_t d = 0; d < nd; d++)
                        for (size_t x = 0; x < n_tests; x++, k++) {
                            bench_cell_t *c = &cells[k];
                            snprintf(c->model, sizeof c->model, "%s", models[m]);
                            snprintf(c->recipe, sizeof c->recipe, "%s", recipes[q]);
                            c->test = tests[x];
                            c->test.n_depth = sustained > 0 ? 0 : depths.v[d];
                            c->n_threads = threads.v[t];
                            const bench_pin_t *pin = &pins.pins[pi / pins.n_stricts];
                            c->cpus = pin->cpus;
                            c->cpu_strict = pins.stricts[pi % pins.n_stricts] && !bench_cpuset_empty(&c->cpus);
                            snprintf(c->cluster, sizeof c->cluster, "%s", pin->cluster);
                            c->index = (int)k;
                            if (sustained > 0)
                                c->n_ctx = bench_cell_n_ctx(c, true);
                        }

    int erc = bench_engine_create(kernel, seed, &eng);
    if (erc) {
        rc = erc == MB_EINVAL || erc == MB_EUNSUPPORTED ? cli_usage_error("bench", "--kernel: %s", mb_err_msg())
                                                        : cli_fail("bench", erc);
        goto out;
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
    bench_sink_t sink;
    if (!no_db) {
        cmdline = join_args(argc, argv);
        bench_store_opts_t so = {.sweep = false, .cmdline = cmdline, .busy_timeout_ms = busy_ms};
        if ((erc = bench_store_open(db_path, &so, &store))) {
            rc = cli_fail("bench", erc);
            goto out;
        }
        sink = bench_store_sink(store);
    }
    char cpu[256] = "";
    probes_device_t dev;
    probes_opts_t po = {.quiet = true};
    if (probes_device_probe(&po, &dev) == 0 && dev.cpu.brand.ok)
        snprintf(cpu, sizeof cpu, "%s", dev.cpu.brand.v);
    probes_device_free(&dev);

    sinkout_t so = {0};
    if ((erc = bench_out_begin(stdout, fmt, cpu, &so.out))) {
        rc = cli_fail("bench", erc);
        goto out;
    }
    bench_ceilings_t ceil;
    bool have_ceil = false;
    if ((erc = bench_ceilings_for_run(store, cells, n_cells, !no_roofline, &ceil, &have_ceil))) {
        bench_out_end(so.out);
        rc = cli_fail("bench", erc);
        goto out;
    }
    bench_meter_t bm = {0};
    if (paired) {
        if ((erc = bench_probe_meter_create(0, &meter))) {
            bench_out_end(so.out);
            rc = cli_fail("bench", erc);
            goto out;
        }
        bm = bench_probe_meter(meter);
    }
    bench_run_opts_t ro = {
        .cells = cells, .n_cells = n_cells, .reps = reps, .warmup = warmup, .seed = seed,
        .sustained_s = sustained,
        /* A cell that hangs should not hang the bench: generous per-cell limit. */
        .cell_time_s = sustained > 0 ? sustained + 600 : 3600,
        /* --roofline-paired: each cell maps the meter's buffer too */
        .headroom = (256ull << 20) + (paired ? probes_bw_meter_default_bytes() : 0),
        .cooldown = {delay > 0 ? BENCH_COOLDOWN_FIXED : BENCH_COOLDOWN_NONE, 2, 0, delay},
        .backend = &backend, .sink = no_db ? NULL : &sink, .sensors = have_sensors ? &sensors : NULL,
        .on_result = on_result, .on_result_ctx = &so, .progress = BENCH_PROGRESS_AUTO,
        .ceilings = have_ceil ? &ceil : NULL, .meter = paired ? &bm : NULL,
        .prompt = prompt, .n_prompt_tokens = (int)n_prompt_tok,
    };
    bench_run_summary_t sum;
    erc = bench_run(&ro, &sum);
    bench_out_end(so.out);
    if (erc) {
        rc = cli_fail("bench", erc);
        goto out;
    }
    if (store)
        MB_INFO("stored run %s in %s", bench_store_run(store), db_path);
    if (so.bad)
        rc = MB_EXIT_FAIL;
out:
    bench_probe_meter_destroy(meter);
    bench_store_close(store);
    bench_probe_sensors_destroy(ps);
    bench_engine_destroy(eng);
    free(cells);
    free(cmdline);
    mb_strv_free(models, n_models);
    mb_strv_free(recipes, n_recipes);
    free(prompts.v);
    free(gens.v);
    free(depths.v);
    free(threads.v);
    free(pgs.v);
    free(pg_argv);
    free(prompt);
    cli_pins_free(&pins);
    return rc;
}
