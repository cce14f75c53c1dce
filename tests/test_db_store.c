/* test_db_store.c: the writer and reader API round trip, filters, run lookup. */
#include "fixtures/db/db_test_util.h"

#include <ctype.h>

static char dir[256];
static char path[512];

static void setup(void)
{
    tu_mkdtemp(dir);
    tu_path(path, dir, "store.db");
}

static void teardown(void)
{
    tu_rmdir(dir);
}

TestSuite(db_store, .init = setup, .fini = teardown);

Test(db_store, uuids_are_v4_and_unique)
{
    char seen[200][DB_UUID_LEN];
    for (int i = 0; i < 200; i++) {
        cr_assert_eq(db_uuid_new(seen[i]), 0);
        const char *u = seen[i];
        cr_assert_eq(strlen(u), 36);
        for (int k = 0; k < 36; k++) {
            if (k == 8 || k == 13 || k == 18 || k == 23)
                cr_assert_eq(u[k], '-');
            else
                cr_assert(isxdigit((unsigned char)u[k]) && !isupper((unsigned char)u[k]));
        }
        cr_assert_eq(u[14], '4', "version nibble: %s", u);
        cr_assert(strchr("89ab", u[19]), "variant nibble: %s", u);
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(seen[i], seen[j]);
    }
}

Test(db_store, device_upsert_matches_by_fingerprint)
{
    db_t *db = NULL;
    cr_assert_eq(db_open(path, 0, &db), 0, "%s", mb_err_msg());
    db_device_t a = {.fingerprint = "fp-1", .label = "box", .probe_json = "{\"a\":1}"};
    db_device_t b = {.fingerprint = "fp-1", .ceilings_json = "{\"bw_gbs\":80.5}"};
    db_device_t c = {.fingerprint = "fp-2"};
    cr_assert_eq(db_device_upsert(db, &a), 0, "%s", mb_err_msg());
    cr_assert_eq(db_device_upsert(db, &b), 0, "%s", mb_err_msg());
    cr_assert_eq(db_device_upsert(db, &c), 0, "%s", mb_err_msg());
    cr_assert_str_eq(a.uuid, b.uuid);
    cr_assert_str_neq(a.uuid, c.uuid);
    cr_assert_eq(tu_counts(db).devices, 2);

    db_device_t bad = {.fingerprint = "fp-3", .probe_json = "{not json"};
    cr_assert_eq(db_device_upsert(db, &bad), MB_EINVAL);
    db_device_t none = {0};
    cr_assert_eq(db_device_upsert(db, &none), MB_EINVAL);
    cr_assert_eq(tu_counts(db).devices, 2);
    db_close(db);
}

typedef struct {
    int n;
    char probe[64], ceilings[64], label[32];
} dev_seen_t;

static int on_device(void *ctx, const db_device_t *d)
{
    dev_seen_t *s = ctx;
    if (!strcmp(d->fingerprint, "fp-rt")) {
        snprintf(s->probe, sizeof s->probe, "%s", d->probe_json ? d->probe_json : "");
        snprintf(s->ceilings, sizeof s->ceilings, "%s", d->ceilings_json ? d->ceilings_json : "");
        snprintf(s->label, sizeof s->label, "%s", d->label ? d->label : "");
    }
    s->n++;
    return 0;
}

Test(db_store, cell_round_trip_with_reps_and_samples)
{
    db_t *db = NULL;
    cr_assert_eq(db_open(path, 0, &db), 0, "%s", mb_err_msg());
    db_device_t d = {.fingerprint = "fp-rt", .label = "rt box", .probe_json = "{\"x\":[1,2]}",
                     .ceilings_json = "{\"bw\":1}"};
    cr_assert_eq(db_device_upsert(db, &d), 0);
    db_run_t run = {.kind = DB_KIND_BENCH, .cmdline = "mobench bench -m x"};
    memcpy(run.device_uuid, d.uuid, DB_UUID_LEN);
    cr_assert_eq(db_run_begin(db, &run), 0, "%s", mb_err_msg());
    cr_assert_eq(strlen(run.uuid), 36);
    cr_assert_gt(run.started, 1.7e9);

    db_cell_t c = {0};
    memcpy(c.run_uuid, run.uuid, DB_UUID_LEN);
    c.model = "qwen3-0.6b";
    c.model_params = 596049920;
    c.weights = DB_WEIGHTS_FILE;
    c.weights_sha256 = "ab12";
    c.recipe = "Q4_K_M";
    c.model_size = 484220000;
    c.test = DB_TEST_PG;
    c.n_prompt = 512;
    c.n_gen = 128;
    c.n_depth = 4096;
    c.n_threads = 2;
    c.kernel = "avx2";
    c.status = DB_CELL_OK;
    c.n = 5;
    c.mean_ts = 33.25;
    c.median_ts = 33.0;
    c.stddev_ts = 0.125;
    c.min_ts = 32.5;
    c.max_ts = 34.0;
    c.cv = 0.0037;
    c.ci95_ts = 0.155;
    c.ttft_ms = 812.5;
    c.peak_rss = 612345678;
    c.roofline_pct = 61.5;
    c.throttled_reps = 1;
    c.stop_reason = "cv-target";
    c.started = 1764000100.5;
    c.ended = 1764000160.25;
    db_rep_t *reps = tu_reps(5);
    db_sample_t *samples = tu_samples(8, 1764000101.0);
    cr_assert_eq(db_cell_commit(db, &c, reps, 5, samples, 8), 0, "%s", mb_err_msg());
    cr_assert_eq(strlen(c.uuid), 36);
    db_sample_t cool = {.t = 1764000170.0, .kind = "cooldown", .sensor = "wait_s", .value = 12.5};
    cr_assert_eq(db_run_samples_add(db, run.uuid, &cool, 1), 0, "%s", mb_err_msg());
    cr_assert_eq(db_run_status_set(db, run.uuid, DB_RUN_DONE), 0);

    db_cell_t *got = NULL;
    size_t n = 0;
    cr_assert_eq(db_cells_get(db, NULL, &got, &n), 0, "%s", mb_err_msg());
    cr_assert_eq(n, 1);
    db_cell_t *g = &got[0];
    cr_assert_str_eq(g->uuid, c.uuid);
    cr_assert_str_eq(g->run_uuid, run.uuid);
    cr_assert_str_eq(g->device_uuid, d.uuid);
    cr_assert_str_eq(g->model, "qwen3-0.6b");
    cr_assert_eq(g->model_params, 596049920);
    cr_assert_eq(g->weights, DB_WEIGHTS_FILE);
    cr_assert_str_eq(g->weights_sha256, "ab12");
    cr_assert_str_eq(g->recipe, "Q4_K_M");
    cr_assert_eq(g->model_size, 484220000);
    cr_assert_eq(g->test, DB_TEST_PG);
    cr_assert_eq(g->n_prompt, 512);
    cr_assert_eq(g->n_gen, 128);
    cr_assert_eq(g->n_depth, 4096);
    cr_assert_eq(g->n_threads, 2);
    cr_assert_str_eq(g->kernel, "avx2");
    cr_assert_eq(g->status, DB_CELL_OK);
    cr_assert_null(g->reason);
    cr_assert_eq(g->n, 5);
    cr_assert_eq(g->mean_ts, 33.25);
    cr_assert_eq(g->median_ts, 33.0);
    cr_assert_eq(g->stddev_ts, 0.125);
    cr_assert_eq(g->min_ts, 32.5);
    cr_assert_eq(g->max_ts, 34.0);
    cr_assert_eq(g->cv, 0.0037);
    cr_assert_eq(g->ci95_ts, 0.155);
    cr_assert_eq(g->ttft_ms, 812.5);
    cr_assert_eq(g->peak_rss, 612345678);
    cr_assert_eq(g->roofline_pct, 61.5);
    cr_assert_eq(g->throttled_reps, 1);
    cr_assert_str_eq(g->stop_reason, "cv-target");
    cr_assert_eq(g->started, 1764000100.5);
    cr_assert_eq(g->ended, 1764000160.25);
    cr_assert_eq(g->run_started, run.started);

    db_rep_t *r = NULL;
    cr_assert_eq(db_reps_get(db, c.uuid, &r, &n), 0, "%s", mb_err_msg());
    cr_assert_eq(n, 5);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(r[i].index, (int)i);
        cr_assert_eq(r[i].wall_ns, reps[i].wall_ns);
        cr_assert_eq(r[i].tokens_per_s, reps[i].tokens_per_s);
        cr_assert(isnan(r[i].ttft_ms) && isnan(r[i].temp_max) && isnan(r[i].energy_j));
        cr_assert_eq(r[i].lat_p99_ms, 30.0);
        cr_assert_eq(r[i].freq_mean, 3100.0);
        cr_assert_eq(r[i].throttled, i == 1);
        if (i == 2)
            cr_assert_eq(r[i].read_gbs, 55.5, "a paired rep keeps its read bandwidth");
        else
            cr_assert(isnan(r[i].read_gbs), "rep %zu: no paired read bandwidth is NULL", i);
    }
    free(r);

    db_sample_t *s = NULL;
    cr_assert_eq(db_samples_get(db, c.uuid, &s, &n), 0);
    cr_assert_eq(n, 8);
    cr_assert_str_eq(s[0].kind, "temp");
    cr_assert_str_eq(s[1].sensor, "cpu0");
    cr_assert_eq(s[2].value, samples[2].value);
    cr_assert_eq(s[7].t, samples[7].t);
    free(s);
    cr_assert_eq(db_samples_get(db, run.uuid, &s, &n), 0);
    cr_assert_eq(n, 9, "run series = cell samples + run samples");
    cr_assert_str_eq(s[8].kind, "cooldown");
    free(s);
    cr_assert_eq(db_samples_get(db, "no-such-thing", &s, &n), MB_ENOENT);

    db_run_t *runs = NULL;
    cr_assert_eq(db_runs_get(db, NULL, &runs, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(runs[0].status, DB_RUN_DONE);
    cr_assert_geq(runs[0].ended, runs[0].started);
    cr_assert_eq(runs[0].kind, DB_KIND_BENCH);
    cr_assert_str_eq(runs[0].cmdline, "mobench bench -m x");
    cr_assert_str_eq(runs[0].version, mb_version());
    cr_assert_str_eq(runs[0].commit, mb_build_commit());
    cr_assert_str_eq(runs[0].device_fingerprint, "fp-rt");
    cr_assert_eq(runs[0].n_cells, 1);
    db_runs_free(runs, n);

    /* resume sets a run back to running: ended is cleared */
    cr_assert_eq(db_run_status_set(db, run.uuid, DB_RUN_RUNNING), 0);
    cr_assert_eq(db_runs_get(db, NULL, &runs, &n), 0);
    cr_assert(isnan(runs[0].ended));
    db_runs_free(runs, n);

    dev_seen_t seen = {0};
    cr_assert_eq(db_devices_each(db, NULL, on_device, &seen), 0);
    cr_assert_eq(seen.n, 1);
    cr_assert_str_eq(seen.probe, "{\"x\":[1,2]}");
    cr_assert_str_eq(seen.ceilings, "{\"bw\":1}");
    cr_assert_str_eq(seen.label, "rt box");

    db_cells_free(got, 1);
    free(reps);
    free(samples);
    db_close(db);
}

Test(db_store, quality_round_trip)
{
    char run[DB_UUID_LEN];
    db_t *db = tu_open_run(path, "fp-q", run);
    db_quality_t q = {.model = "llama-3.2-1b", .recipe = "Q4_K_M", .ref_recipe = "BF16",
                      .weights = DB_WEIGHTS_SYNTHETIC, .mean_kld = 0.0123, .p99_kld = 0.25,
                      .top1_agree = 0.94, .ppl_ratio = NAN, .n_tokens = 2048};
    memcpy(q.run_uuid, run, DB_UUID_LEN);
    cr_assert_eq(db_quality_commit(db, &q), 0, "%s", mb_err_msg());
    db_quality_t *got = NULL;
    size_t n = 0;
    cr_assert_eq(db_quality_get(db, NULL, &got, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(got[0].uuid, q.uuid);
    cr_assert_str_eq(got[0].run_uuid, run);
    cr_assert_str_eq(got[0].ref_recipe, "BF16");
    cr_assert_eq(got[0].mean_kld, 0.0123);
    cr_assert(isnan(got[0].ppl_ratio));
    cr_assert_eq(got[0].n_tokens, 2048);

    /* a row without a corpus has no real-text figures */
    cr_assert_null(got[0].corpus_sha256);
    cr_assert(isnan(got[0].ppl));
    db_quality_free(got, n);
    got = NULL;

    /* a real-text result (mobench quality --text) */
    db_quality_t t = {.model = "/m/q8.gguf", .recipe = "file", .ref_recipe = "file",
                      .weights = DB_WEIGHTS_FILE, .mean_kld = 0.004, .p99_kld = 0.05,
                      .top1_agree = 0.9, .ppl_ratio = 1.01, .n_tokens = 1524,
                      .corpus_sha256 = "c0ffee", .corpus_bytes = 12345, .corpus_tokens = 3100,
                      .n_ctx = 512, .n_chunks = 6, .model_sha256 = "aa", .base_sha256 = "bb",
                      .ppl = 11.5, .ppl_err = 0.25, .ppl_base = 11.4, .kld_err = 0.0002,
                      .kld_median = 0.002, .kld_p95 = 0.015, .kld_max = 0.4};
    memcpy(t.run_uuid, run, DB_UUID_LEN);
    cr_assert_eq(db_quality_commit(db, &t), 0, "%s", mb_err_msg());
    cr_assert_eq(db_quality_get(db, NULL, &got, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(got[1].corpus_sha256, "c0ffee");
    cr_assert_str_eq(got[1].model_sha256, "aa");
    cr_assert_str_eq(got[1].base_sha256, "bb");
    cr_assert_eq(got[1].corpus_bytes, 12345);
    cr_assert_eq(got[1].corpus_tokens, 3100);
    cr_assert_eq(got[1].n_ctx, 512);
    cr_assert_eq(got[1].n_chunks, 6);
    cr_assert_eq(got[1].ppl, 11.5);
    cr_assert_eq(got[1].ppl_err, 0.25);
    cr_assert_eq(got[1].ppl_base, 11.4);
    cr_assert_eq(got[1].kld_err, 0.0002);
    cr_assert_eq(got[1].kld_median, 0.002);
    cr_assert_eq(got[1].kld_p95, 0.015);
    cr_assert_eq(got[1].kld_max, 0.4);
    db_quality_free(got, n);

    db_quality_t orphan = q;
    orphan.uuid[0] = '\0';
    snprintf(orphan.run_uuid, DB_UUID_LEN, "00000000-0000-4000-8000-000000000000");
    cr_assert_eq(db_quality_commit(db, &orphan), MB_ENOENT);
    db_close(db);
}

Test(db_store, cell_for_unknown_run_stores_nothing)
{
    char run[DB_UUID_LEN];
    db_t *db = tu_open_run(path, "fp-x", run);
    cr_assert_eq(tu_commit(db, "00000000-0000-4000-8000-000000000000", "m", "Q8_0",
                           DB_CELL_OK, 3, 3), MB_ENOENT);
    db_cell_t c;
    tu_cell(&c, run, "m", "Q8_0", DB_CELL_OK);
    c.status = (db_cell_status_t)42;
    cr_assert_eq(db_cell_commit(db, &c, NULL, 0, NULL, 0), MB_EINVAL);
    /* duplicate rep index: the whole cell is rolled back, not half-stored */
    tu_cell(&c, run, "m", "Q8_0", DB_CELL_OK);
    db_rep_t *r = tu_reps(3);
    r[2].index = 0;
    cr_assert_eq(db_cell_commit(db, &c, r, 3, NULL, 0), MB_EINVAL);
    free(r);
    db_counts_t k = tu_counts(db);
    cr_assert_eq(k.cells, 0);
    cr_assert_eq(k.reps, 0);
    cr_assert_eq(k.samples, 0);
    db_close(db);
}

static int count_cb(void *ctx, const db_cell_t *c)
{
    (void)c;
    (*(int *)ctx)++;
    return 0;
}

static int stop_cb(void *ctx, const db_cell_t *c)
{
    (void)c;
    (*(int *)ctx)++;
    return 7;
}

static int count_cells(db_t *db, const db_filter_t *f)
{
    int n = 0;
    int err = db_cells_each(db, f, count_cb, &n);
    cr_assert_eq(err, 0, "%s", mb_err_msg());
    return n;
}

Test(db_store, filters_and_run_lookup)
{
    char r1[DB_UUID_LEN], r2[DB_UUID_LEN], r3[DB_UUID_LEN];
    db_t *db = tu_open_run(path, "fingerprint-aaaa", r1);
    cr_assert_eq(tu_commit(db, r1, "m", "Q4_0", DB_CELL_OK, 1, 0), 0);
    cr_assert_eq(tu_commit(db, r1, "m", "Q8_0", DB_CELL_INTERRUPTED, 0, 0), 0);
    cr_assert_eq(tu_commit(db, r1, "m", "F16", DB_CELL_OOM, 0, 0), 0);
    cr_assert_eq(tu_commit(db, r1, "m", "Q2_K", DB_CELL_SKIPPED, 0, 0), 0);
    cr_assert_eq(db_run_status_set(db, r1, DB_RUN_INTERRUPTED), 0);

    /* a second run on the same device, a third on another */
    db_device_t d = {.fingerprint = "fingerprint-aaaa"};
    cr_assert_eq(db_device_upsert(db, &d), 0);
    db_run_t run = {.kind = DB_KIND_SWEEP, .started = 2e9};
    memcpy(run.device_uuid, d.uuid, DB_UUID_LEN);
    cr_assert_eq(db_run_begin(db, &run), 0);
    memcpy(r2, run.uuid, DB_UUID_LEN);
    cr_assert_eq(tu_commit(db, r2, "m", "Q4_0", DB_CELL_OK, 1, 0), 0);
    db_device_t e = {.fingerprint = "fingerprint-bbbb"};
    cr_assert_eq(db_device_upsert(db, &e), 0);
    db_run_t run3 = {.kind = DB_KIND_BENCH, .started = 2.1e9};
    memcpy(run3.device_uuid, e.uuid, DB_UUID_LEN);
    cr_assert_eq(db_run_begin(db, &run3), 0);
    memcpy(r3, run3.uuid, DB_UUID_LEN);
    cr_assert_eq(tu_commit(db, r3, "m", "Q4_0", DB_CELL_OK, 1, 0), 0);

    cr_assert_eq(count_cells(db, NULL), 6);
    /* resume: the finished cells of run 1 are all but the interrupted one */
    cr_assert_eq(count_cells(db, &(db_filter_t){.run = r1, .status_mask = DB_CELL_FINISHED}), 3);
    cr_assert_eq(count_cells(db, &(db_filter_t){.status_mask = DB_CELL_MASK(DB_CELL_OK)}), 3);
    cr_assert_eq(count_cells(db, &(db_filter_t){.device = "fingerprint-bbbb"}), 1);
    cr_assert_eq(count_cells(db, &(db_filter_t){.device = e.uuid}), 1);
    cr_assert_eq(count_cells(db, &(db_filter_t){.since = 1.9e9}), 2);
    int seen = 0;
    cr_assert_eq(db_cells_each(db, NULL, stop_cb, &seen), 7, "callback's value is returned");
    cr_assert_eq(seen, 1);
    cr_assert_eq(db_cells_each(db, &(db_filter_t){.device = "fingerprint"}, count_cb, &seen),
                 MB_EINVAL, "an ambiguous device prefix");
    cr_assert_eq(db_cells_each(db, &(db_filter_t){.device = "nope"}, count_cb, &seen),
                 MB_ENOENT);

    char u[DB_UUID_LEN];
    cr_assert_eq(db_run_resolve(db, "latest", u), 0);
    cr_assert_str_eq(u, r3);
    /* previous = the run before latest on latest's device: none for device b */
    cr_assert_eq(db_run_resolve(db, "previous", u), MB_ENOENT);
    char pre[12];
    snprintf(pre, sizeof pre, "%.8s", r2);
    cr_assert_eq(db_run_resolve(db, pre, u), 0, "%s", mb_err_msg());
    cr_assert_str_eq(u, r2);
    cr_assert_eq(db_run_resolve(db, r1, u), 0);
    cr_assert_str_eq(u, r1);
    cr_assert_eq(db_run_resolve(db, "zzzz", u), MB_ENOENT);
    cr_assert_eq(db_run_resolve(db, "", u), MB_EINVAL);

    /* a newer run on device a makes r2 the previous of the latest */
    db_run_t run4 = {.kind = DB_KIND_SWEEP, .started = 2.2e9};
    memcpy(run4.device_uuid, d.uuid, DB_UUID_LEN);
    cr_assert_eq(db_run_begin(db, &run4), 0);
    cr_assert_eq(db_run_resolve(db, "previous", u), 0);
    cr_assert_str_eq(u, r2);

    db_run_t *runs = NULL;
    size_t n = 0;
    cr_assert_eq(db_runs_get(db, &(db_filter_t){.device = "fingerprint-aaaa"}, &runs, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(runs[0].uuid, r1);
    cr_assert_eq(runs[0].status, DB_RUN_INTERRUPTED);
    cr_assert_eq(runs[0].n_cells, 4);
    db_runs_free(runs, n);
    db_close(db);
}

Test(db_store, time_and_enum_parsing)
{
    double t;
    cr_assert_eq(db_time_parse("2026-11-26", &t), 0);
    cr_assert_eq(t, 1795651200.0);
    cr_assert_eq(db_time_parse("2026-11-26T08:30", &t), 0);
    cr_assert_eq(t, 1795651200.0 + 8 * 3600 + 30 * 60);
    cr_assert_eq(db_time_parse("2026-11-26 08:30:15", &t), 0);
    cr_assert_eq(t, 1795651200.0 + 8 * 3600 + 30 * 60 + 15);
    cr_assert_eq(db_time_parse("1764000000", &t), 0);
    cr_assert_eq(t, 1764000000.0);
    cr_assert_eq(db_time_parse("yesterday", &t), MB_EINVAL);
    cr_assert_eq(db_time_parse("2026-13-01", &t), MB_EINVAL);
    cr_assert_eq(db_time_parse("2026-11-26T", &t), MB_EINVAL);

    db_cell_status_t s;
    cr_assert_eq(db_cell_status_parse("timeout", &s), 0);
    cr_assert_eq(s, DB_CELL_TIMEOUT);
    cr_assert_eq(db_cell_status_parse("crashed", &s), MB_EINVAL);
    cr_assert_neq(strstr(mb_err_msg(), "interrupted"), NULL, "lists the valid names");
    db_test_t te;
    cr_assert_eq(db_test_parse("depth", &te), 0);
    cr_assert_eq(te, DB_TEST_DEPTH);
    cr_assert_str_eq(db_run_status_name(DB_RUN_INTERRUPTED), "interrupted");
    cr_assert_str_eq(db_weights_name(DB_WEIGHTS_FILE), "file");
}

Test(db_store, default_path_follows_env)
{
    unsetenv("MOBENCH_DB");
    cr_assert_str_eq(db_default_path(), "./mobench.db");
    setenv("MOBENCH_DB", "/data/lab.db", 1);
    cr_assert_str_eq(db_default_path(), "/data/lab.db");
    setenv("MOBENCH_DB", "", 1);
    cr_assert_str_eq(db_default_path(), "./mobench.db");
}

Test(db_store, bulk_loading_in_one_outer_transaction)
{
    char run[DB_UUID_LEN];
    db_t *db = tu_open_run(path, "fp-bulk", run);
    cr_assert_eq(db_exec(db, "BEGIN IMMEDIATE"), 0);
    for (int i = 0; i < 50; i++)
        cr_assert_eq(tu_commit(db, run, "m", "Q4_0", DB_CELL_OK, 2, 2), 0, "%s", mb_err_msg());
    /* a bad cell inside rolls back alone */
    db_cell_t c;
    tu_cell(&c, run, "m", "Q4_0", DB_CELL_OK);
    db_rep_t *r = tu_reps(2);
    r[1].index = 0;
    cr_assert_eq(db_cell_commit(db, &c, r, 2, NULL, 0), MB_EINVAL);
    free(r);
    cr_assert_eq(tu_commit(db, run, "m", "Q8_0", DB_CELL_SKIPPED, 0, 0), 0);
    cr_assert_eq(db_merge(db, MB_FIXTURES "/db/v1.db", NULL), MB_EINVAL,
                 "merge refuses to run inside a transaction");
    cr_assert_eq(db_exec(db, "COMMIT"), 0);
    db_counts_t k = tu_counts(db);
    cr_assert_eq(k.cells, 51);
    cr_assert_eq(k.reps, 100);

    /* a cell without reps has an empty list; an unknown cell is ENOENT */
    db_cell_t *cells = NULL;
    size_t n = 0;
    cr_assert_eq(db_cells_get(db, &(db_filter_t){.status_mask = DB_CELL_MASK(DB_CELL_SKIPPED)},
                              &cells, &n), 0);
    cr_assert_eq(n, 1);
    db_rep_t *reps = NULL;
    size_t nr = 9;
    cr_assert_eq(db_reps_get(db, cells[0].uuid, &reps, &nr), 0, "%s", mb_err_msg());
    cr_assert_eq(nr, 0);
    free(reps);
    db_cells_free(cells, n);
    cr_assert_eq(db_reps_get(db, "00000000-0000-4000-8000-000000000000", &reps, &nr), MB_ENOENT);
    db_close(db);
}
