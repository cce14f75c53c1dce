/* test_bench_roofline.c: roofline_pct and the device's ceilings.
 *  - parsing the ceilings object (the shape probes_ceilings_json writes and
 *    the reports' loader reads), bad documents rejected;
 *  - roofline_pct against hand-computed figures for pp, tg and pg at depth,
 *    float and quantized recipes, sliding-window KV;
 *  - the model's roofline inputs from a loaded engine model (tiny-llama);
 *  - the store: ceilings stored with the device and read back; a run uses
 *    the stored ones without measuring; bad JSON refused, stored data kept;
 *  - the engine workload fills the depth once per cell and truncates back;
 *  - end to end on the binary: probe --roofline --db, then bench stores
 *    cells with roofline_pct. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "db.h"

/* The fixture device's ceilings (tests/fixtures/reports/fixture_db.h). */
static const char CEIL[] =
    "{\"buffer_bytes\":268435456,\"passes\":5,\"bandwidth\":["
    "{\"threads\":1,\"read_gbs\":12.5,\"copy_gbs\":9.1,\"read_median_gbs\":12.1},"
    "{\"threads\":2,\"read_gbs\":20.5,\"copy_gbs\":14.2,\"read_median_gbs\":99}],"
    "\"peaks\":[{\"name\":\"f32_fma_avx2\",\"kind\":\"f32\",\"unit\":\"GFLOP/s\","
    "\"isa\":\"avx2+fma\",\"points\":[{\"threads\":1,\"gops\":60,\"gops_median\":58},"
    "{\"threads\":2,\"gops\":110,\"gops_median\":999}]},{\"name\":\"i8_maddubs_avx2\","
    "\"kind\":\"i8\",\"unit\":\"GOP/s\",\"isa\":\"avx2\",\"points\":[{\"threads\":1,"
    "\"gops\":200},{\"threads\":2,\"gops\":390}]},{\"name\":\"i8_vnni_avx512\",\"kind\":\"i8\","
    "\"points\":[{\"threads\":2,\"gops\":400}]}]}";

static char g_dir[256];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mb-roofline-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    char cache[300];
    snprintf(cache, sizeof cache, "%s/cache", g_dir);
    setenv("MOBENCH_CACHE", cache, 1);
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

Test(roofline, parse_the_probe_shape)
{
    bench_ceilings_t c;
    cr_assert_eq(bench_ceilings_parse(CEIL, strlen(CEIL), &c), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(c.n, 2);
    const bench_ceiling_t *p1 = bench_ceilings_find(&c, 1), *p2 = bench_ceilings_find(&c, 2);
    cr_assert(p1 && p2);
    cr_assert_float_eq(p1->read_gbs, 12.5, 1e-12, "best pass, not the median");
    cr_assert_float_eq(p1->f32_gflops, 60, 1e-12);
    cr_assert_float_eq(p1->i8_gops, 200, 1e-12);
    cr_assert_float_eq(p2->read_gbs, 20.5, 1e-12);
    cr_assert_float_eq(p2->f32_gflops, 110, 1e-12);
    cr_assert_float_eq(p2->i8_gops, 400, 1e-12, "the fastest int8 kernel at that thread count");
    cr_assert_null(bench_ceilings_find(&c, 4));

    /* a whole probe document with "ceilings" inside */
    char doc[2048];
    snprintf(doc, sizeof doc, "{\"fingerprint\":\"x\",\"ceilings\":%s}", CEIL);
    cr_assert_eq(bench_ceilings_parse(doc, strlen(doc), &c), MB_OK);
    cr_assert_eq(c.n, 2);
}

Test(roofline, parse_bad_documents)
{
    bench_ceilings_t c;
    cr_assert_eq(bench_ceilings_parse("{\"bandwidth\":[", 14, &c), MB_EFORMAT);
    cr_assert_eq(bench_ceilings_parse("{}", 2, &c), MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "ceilings"), "%s", mb_err_msg());
    const char *odd = "{\"bandwidth\":[{\"threads\":\"two\",\"read_gbs\":3}],\"peaks\":7}";
    cr_assert_eq(bench_ceilings_parse(odd, strlen(odd), &c), MB_EFORMAT, "no usable figure");
}

/* A cell with hand-set roofline inputs. */
static bench_result_t cell(bench_test_kind_t kind, int p, int n, int d, int threads)
{
    bench_cell_t c = {.model = "m", .recipe = "Q4_0", .n_threads = threads};
    c.test = (bench_test_t){kind, p, n, d};
    bench_result_t r;
    bench_result_init(&r, &c);
    r.status = BENCH_CELL_OK;
    r.info.rf_decode_bytes = 500000000;   /* 0.5 GB per token */
    r.info.rf_matmul_params = 1000000000; /* 1 G weights per prompt token */
    r.info.rf_head_params = 200000000;
    r.info.rf_kv_pos = 100000;            /* bytes per attended position */
    return r;
}

Test(roofline, hand_computed)
{
    bench_ceilings_t c;
    cr_assert_eq(bench_ceilings_parse(CEIL, strlen(CEIL), &c), MB_OK);

    /* pp512 at 100 t/s on 2 threads, quantized: 2 x (1e9 + 2e8/512) x 100
     * = 200.078125 GOP/s of 400 -> 50.01953125 % */
    bench_result_t r = cell(BENCH_TEST_PP, 512, 0, 0, 2);
    r.ts.median = 100;
    cr_assert_float_eq(bench_roofline_pct(&c, &r), 50.01953125, 1e-9);
    r.info.rf_float = true; /* against the f32 peak, 110 */
    cr_assert_float_eq(bench_roofline_pct(&c, &r), 200.078125 / 110 * 100, 1e-9);

    /* tg16 at depth 100 on 1 thread, 10 t/s: steps attend 102 .. 117
     * positions, mean 109.5 -> 0.5e9 + 109.5 x 1e5 bytes per token,
     * x 10 / 12.5e9 */
    r = cell(BENCH_TEST_TG, 0, 16, 100, 1);
    r.decode_ts = 10;
    double want = (0.5e9 + 109.5 * 1e5) * 10 / 12.5e9 * 100;
    cr_assert_float_eq(bench_roofline_pct(&c, &r), want, 1e-9);

    /* pg 64,8 at depth 32: the decode part; steps attend 97 .. 104 */
    r = cell(BENCH_TEST_PG, 64, 8, 32, 1);
    r.decode_ts = 20;
    r.ts.median = 999; /* the combined rate is not what counts */
    want = (0.5e9 + 100.5 * 1e5) * 20 / 12.5e9 * 100;
    cr_assert_float_eq(bench_roofline_pct(&c, &r), want, 1e-9);

    /* sliding-window layers read at most their window */
    r = cell(BENCH_TEST_TG, 0, 4, 10, 1);
    r.info.rf_kv_pos = 0;
    r.info.rf_kv_pos_swa = 1000000;
    r.info.rf_swa_window = 13; /* steps attend 12, 13, 13, 13 */
    r.decode_ts = 1;
    want = (0.5e9 + 12.75 * 1e6) / 12.5e9 * 100;
    cr_assert_float_eq(bench_roofline_pct(&c, &r), want, 1e-9);

    /* unknown: no ceiling at this thread count, no model inputs, no ceilings */
    r = cell(BENCH_TEST_TG, 0, 16, 0, 4);
    r.decode_ts = 10;
    cr_assert(isnan(bench_roofline_pct(&c, &r)));
    r = cell(BENCH_TEST_TG, 0, 16, 0, 1);
    r.decode_ts = 10;
    r.info.rf_decode_bytes = 0;
    cr_assert(isnan(bench_roofline_pct(&c, &r)));
    cr_assert(isnan(bench_roofline_pct(NULL, &r)));
}

/* --roofline-paired: each rep against the read bandwidth measured just
 * before it; the cell's figure is the median of those ratios, whatever the
 * run's ceilings say (or without any). */
Test(roofline, paired_reps)
{
    bench_ceilings_t c;
    cr_assert_eq(bench_ceilings_parse(CEIL, strlen(CEIL), &c), MB_OK);
    bench_result_t r = cell(BENCH_TEST_TG, 0, 16, 100, 1);
    bench_rep_t reps[4] = {{0}};
    /* bytes per token as in hand_computed: 0.5e9 + 109.5e5 */
    const double bytes = 0.5e9 + 109.5 * 1e5, ts[4] = {10, 20, 10, 10}, gbs[4] = {10, 10, 20, NAN};
    for (int i = 0; i < 4; i++) {
        reps[i].decode_ts = ts[i];
        reps[i].read_gbs = gbs[i];
    }
    r.reps = reps;
    r.n_reps = 4;
    r.decode_ts = 10;
    /* rep ratios: 10/10, 20/10, 10/20 (the rep without a figure does not
     * count): median 10/10 */
    double want = bytes * 10 / 10e9 * 100;
    cr_assert_float_eq(bench_roofline_pct(&c, &r), want, 1e-9);
    cr_assert_float_eq(bench_roofline_pct(NULL, &r), want, 1e-9, "no run ceilings needed");
    /* no rep paired: the run's ceilings (12.5 GB/s at 1 thread) */
    for (int i = 0; i < 4; i++)
        reps[i].read_gbs = NAN;
    cr_assert_float_eq(bench_roofline_pct(&c, &r), bytes * 10 / 12.5e9 * 100, 1e-9);
    cr_assert(isnan(bench_roofline_pct(NULL, &r)));
    /* pp cells are never paired: the int8 peak */
    r = cell(BENCH_TEST_PP, 512, 0, 0, 2);
    r.ts.median = 100;
    reps[0].read_gbs = 10;
    r.reps = reps;
    r.n_reps = 1;
    cr_assert_float_eq(bench_roofline_pct(&c, &r), 50.01953125, 1e-9);
}

/* The probes' meter as the runner uses it: mapped by whichever process
 * reads, so a fork()ed child (each cell's) maps its own buffer. */
Test(roofline, probe_meter_maps_per_process)
{
    bench_probe_meter_t *p = NULL;
    cr_assert_eq(bench_probe_meter_create(8u << 20, &p), MB_OK);
    bench_meter_t m = bench_probe_meter(p);
    double g = 0;
    cr_assert_eq(m.read_gbs(m.ctx, 1, 2, &g), MB_OK, "%s", mb_err_msg());
    cr_assert(g > 0 && isfinite(g));
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        double c = 0;
        int rc = m.read_gbs(m.ctx, 2, 1, &c);
        _exit(rc == MB_OK && c > 0 && isfinite(c) ? 0 : 1);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child could not measure");
    cr_assert_eq(m.read_gbs(m.ctx, 1, 1, &g), MB_OK, "the parent's buffer is still its own");
    bench_probe_meter_destroy(p);
    bench_probe_meter_destroy(NULL);
    /* a buffer too small for the probe: the error comes back from the read */
    cr_assert_eq(bench_probe_meter_create(1000, &p), MB_OK);
    m = bench_probe_meter(p);
    cr_assert_eq(m.read_gbs(m.ctx, 1, 1, &g), MB_EINVAL);
    bench_probe_meter_destroy(p);
}

/* The engine workload: tiny-llama Q8_0 from the models cache. */
static int open_cell(bench_engine_t **e, bench_cell_t *c, bench_workload_t *w, bench_model_info_t *info)
{
    cr_assert_eq(bench_engine_create(NULL, 42, e), MB_OK, "%s", mb_err_msg());
    bench_backend_t b = bench_engine_backend(*e);
    cr_assert_eq(b.prepare(b.ctx, c), MB_OK, "%s", mb_err_msg());
    return b.open(b.ctx, c, w, info);
}

Test(roofline, model_inputs_from_the_engine, .init = setup, .fini = teardown, .timeout = 60)
{
    bench_cell_t c = {.model = "tiny-llama", .recipe = "Q8_0", .n_threads = 1};
    c.test = (bench_test_t){BENCH_TEST_TG, 0, 4, 0};
    bench_engine_t *e;
    bench_workload_t w;
    bench_model_info_t in;
    memset(&in, 0, sizeof in);
    cr_assert_eq(open_cell(&e, &c, &w, &in), MB_OK, "%s", mb_err_msg());
    /* every weight is read per token except an untied embedding's rows:
     * the decode bytes lie below the file's weight bytes by at most the
     * embedding table, and the multiplied params below n_params */
    cr_assert_gt(in.rf_decode_bytes, 0);
    cr_assert_leq(in.rf_decode_bytes, in.model_size);
    cr_assert_gt(in.rf_matmul_params, in.n_params / 4);
    cr_assert_lt(in.rf_matmul_params + in.rf_head_params, in.n_params + 1);
    cr_assert_gt(in.rf_head_params, 0);
    cr_assert_gt(in.rf_kv_pos, 0);
    cr_assert(!in.rf_float, "Q8_0 multiplies int8");
    cr_assert_not_null(w.truncate, "the engine workload truncates instead of refilling the depth");
    w.close(w.impl);
    bench_engine_destroy(e);
}

/* Depth filled once per cell: count the untimed fills through a wrapper. */
typedef struct {
    bench_workload_t inner;
    int fills, truncates;
} count_t;

static int c_eval(void *impl, const int32_t *t, int n, bool logits)
{
    count_t *k = impl;
    k->fills += n == 24 && !logits;
    return k->inner.eval(k->inner.impl, t, n, logits);
}
static int c_reset(void *impl) { count_t *k = impl; return k->inner.reset(k->inner.impl); }
static int c_truncate(void *impl, int n)
{
    count_t *k = impl;
    cr_assert_eq(n, 24);
    k->truncates++;
    return k->inner.truncate(k->inner.impl, n);
}

Test(roofline, depth_filled_once_per_cell, .init = setup, .fini = teardown, .timeout = 60)
{
    bench_cell_t c = {.model = "tiny-llama", .recipe = "Q8_0", .n_threads = 1};
    c.test = (bench_test_t){BENCH_TEST_TG, 0, 4, 24};
    bench_engine_t *e;
    bench_workload_t w;
    bench_result_t r;
    bench_result_init(&r, &c);
    cr_assert_eq(open_cell(&e, &c, &w, &r.info), MB_OK, "%s", mb_err_msg());
    count_t k = {.inner = w};
    bench_workload_t cw = {.impl = &k, .n_ctx = w.n_ctx, .n_vocab = w.n_vocab, .eval = c_eval,
                           .reset = c_reset, .truncate = c_truncate};
    bench_ceilings_t ceil;
    cr_assert_eq(bench_ceilings_parse(CEIL, strlen(CEIL), &ceil), MB_OK);
    bench_clock_t clk = bench_clock_real();
    bench_measure_opts_t o = {.reps = {.min_reps = 4, .max_reps = 4}, .warmup = true, .seed = 3,
                              .clock = &clk, .ceilings = &ceil};
    cr_assert_eq(bench_cell_measure(&o, &cw, &r), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(r.n_reps, 4);
    cr_assert_eq(k.fills, 1, "the depth is filled once per cell, not per rep (%d fills)", k.fills);
    cr_assert_eq(k.truncates, 4, "truncated back before each rep");
    cr_assert(isfinite(r.roofline_pct) && r.roofline_pct > 0, "roofline_pct %g", r.roofline_pct);
    bench_result_clear(&r);
    w.close(w.impl);
    bench_engine_destroy(e);
}

Test(roofline, stored_with_the_device, .init = setup, .fini = teardown, .timeout = 30)
{
    char path[300];
    snprintf(path, sizeof path, "%s/s.db", g_dir);
    bench_store_opts_t so = {.sweep = false};
    bench_store_t *s;
    cr_assert_eq(bench_store_open(path, &so, &s), MB_OK, "%s", mb_err_msg());
    char *js = (char *)1;
    cr_assert_eq(bench_store_ceilings_get(s, &js), MB_OK);
    cr_assert_null(js, "a new device has no ceilings");
    cr_assert_eq(bench_store_ceilings_set(s, CEIL), MB_OK, "%s", mb_err_msg());
    cr_assert_neq(bench_store_ceilings_set(s, "{not json"), MB_OK, "bad JSON refused");
    cr_assert_eq(bench_store_ceilings_get(s, &js), MB_OK);
    cr_assert_str_eq(js, CEIL, "stored data kept after the refused write");
    free(js);

    /* a run on 1 and 2 threads uses the stored ceilings, measuring nothing */
    bench_cell_t cells[3] = {{.model = "m", .recipe = "Q4_0", .n_threads = 2},
                             {.model = "m", .recipe = "Q4_0", .n_threads = 1},
                             {.model = "m", .recipe = "Q4_0", .n_threads = 2}};
    bench_ceilings_t c;
    bool have = false;
    uint64_t t0 = mb_clock_ns();
    cr_assert_eq(bench_ceilings_for_run(s, cells, 3, true, &c, &have), MB_OK, "%s", mb_err_msg());
    cr_assert(have);
    cr_assert_lt((double)(mb_clock_ns() - t0) * 1e-9, 0.5, "nothing measured");
    cr_assert_float_eq(bench_ceilings_find(&c, 2)->read_gbs, 20.5, 1e-12);
    /* a thread count without stored ceilings and measuring off: not covered */
    bench_cell_t three = {.model = "m", .recipe = "Q4_0", .n_threads = 3};
    cr_assert_eq(bench_ceilings_for_run(s, &three, 1, false, &c, &have), MB_OK);
    cr_assert(!have);
    bench_store_close(s);

    /* the reports' reader sees them on the device row */
    db_t *db;
    cr_assert_eq(db_open(path, DB_OPEN_READONLY, &db), MB_OK);
    db_counts_t n;
    cr_assert_eq(db_counts(db, &n), MB_OK);
    cr_assert_eq(n.devices, 1);
    db_close(db);
}

/* Runs the binary; 0 on exit status 0. */
static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int cell_cb(void *ctx, const db_cell_t *c)
{
    int *n = ctx;
    cr_assert_eq(c->status, DB_CELL_OK, "%s", c->reason ? c->reason : "");
    cr_assert(isfinite(c->roofline_pct) && c->roofline_pct > 0, "%s %d: roofline_pct %g", c->model,
              (int)c->test, c->roofline_pct);
    (*n)++;
    return 0;
}

Test(roofline, probe_then_bench_on_the_binary, .init = setup, .fini = teardown, .timeout = 120)
{
    char cmd[1024], path[300];
    snprintf(path, sizeof path, "%s/e.db", g_dir);
    snprintf(cmd, sizeof cmd, "'%s' -q probe --roofline --buffer 8M --passes 1 --threads 1 --db '%s' >/dev/null",
             MB_BIN, path);
    cr_assert_eq(sh(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "'%s' -q bench -m tiny-llama -q Q8_0 -p 16 -n 4 -d 8 -t 1 -r 1 --no-roofline "
             "--db '%s' -o csv >/dev/null", MB_BIN, path);
    cr_assert_eq(sh(cmd), 0, "%s", cmd);
    db_t *db;
    cr_assert_eq(db_open(path, DB_OPEN_READONLY, &db), MB_OK);
    int n = 0;
    db_filter_t f = {0};
    cr_assert_eq(db_cells_each(db, &f, cell_cb, &n), MB_OK);
    cr_assert_eq(n, 2, "pp16 and tg4 at depth 8");
    db_close(db);

    /* --db with a fixture tree is a usage error */
    snprintf(cmd, sizeof cmd, "'%s' -q probe --sysfs-root '%s/sysfs/rpi' --db '%s' >/dev/null 2>&1", MB_BIN,
             MB_FIXTURES, path);
    cr_assert_eq(sh(cmd), 2);
}
