/* test_bench_measure.c: the tests (pp, tg, pg, depth) and sustained mode on a
 * fake workload whose token costs advance a fake clock, with fake sensors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "bench.h"

typedef struct {
    uint64_t now;          /* fake clock, ns */
    uint64_t prefill_ns;   /* per prompt token */
    uint64_t decode_ns;    /* per decode step */
    uint64_t slow_after;   /* fake time after which decode is 25% slower (0: never) */
    int pos, n_ctx;
    int evals, resets, truncates, filled; /* call counts; filled = depth-fill evals */
    int max_pos;
} fake_t;

static uint64_t fake_now(void *ctx) { return ((fake_t *)ctx)->now; }

static int fake_eval(void *impl, const int32_t *tokens, int n, bool logits)
{
    fake_t *f = impl;
    for (int i = 0; i < n; i++)
        cr_assert(tokens[i] >= 0 && tokens[i] < 1000);
    if (f->pos + n > f->n_ctx)
        return mb_err_set(MB_ERANGE, "cache overflow");
    f->pos += n;
    if (f->pos > f->max_pos)
        f->max_pos = f->pos;
    f->evals++;
    if (!logits)
        f->filled++;
    if (n == 1) {
        uint64_t c = f->decode_ns;
        if (f->slow_after && f->now >= f->slow_after)
            c = c * 5 / 4;
        f->now += c;
    } else {
        f->now += f->prefill_ns * (uint64_t)n;
    }
    return 0;
}
static int fake_reset(void *impl) { ((fake_t *)impl)->pos = 0; ((fake_t *)impl)->resets++; return 0; }
static int fake_truncate(void *impl, int n)
{
    fake_t *f = impl;
    cr_assert_leq(n, f->pos);
    f->pos = n;
    f->truncates++;
    return 0;
}

static bench_workload_t workload(fake_t *f)
{
    return (bench_workload_t){.impl = f, .n_ctx = f->n_ctx, .n_vocab = 1000, .eval = fake_eval,
                              .reset = fake_reset, .truncate = fake_truncate};
}

/* Fake sensors: 2000 MHz, 1600 MHz once the fake workload slows down. */
static int fake_window(void *ctx, uint64_t t0, uint64_t t1, bench_sensor_window_t *s)
{
    fake_t *f = ctx;
    (void)t0;
    memset(s, 0, sizeof *s);
    bool slow = f->slow_after && t1 > f->slow_after;
    s->n_samples = 3;
    s->temp_min = 40; s->temp_mean = 45; s->temp_max = slow ? 80 : 50;
    s->freq_min = slow ? 1600 : 2000; s->freq_mean = slow ? 1700 : 2000; s->freq_max = 2000;
    s->energy_j = (double)(t1 - t0) * 1e-9 * 10.0; /* 10 W */
    return 0;
}

static bench_result_t run(fake_t *f, bench_test_t t, bench_reps_policy_t p, bool sensors, double sustained)
{
    bench_cell_t cell = {.model = "fake", .recipe = "Q4_0", .test = t, .n_threads = 1};
    bench_result_t r;
    bench_result_init(&r, &cell);
    bench_clock_t clk = {f, fake_now};
    bench_sensors_t se = {f, NULL, NULL, fake_window, NULL, NULL};
    bench_measure_opts_t o = {.reps = p, .warmup = true, .seed = 1, .sustained_s = sustained,
                              .clock = &clk, .sensors = sensors ? &se : NULL};
    bench_workload_t w = workload(f);
    int rc = bench_cell_measure(&o, &w, &r);
    cr_assert_eq(rc, 0, "%s", mb_err_msg());
    cr_assert_eq(r.status, BENCH_CELL_OK);
    return r;
}

/* A fake read-bandwidth meter: 10, 20, 30 ... GB/s, or an error. */
typedef struct {
    int calls, threads, passes;
    bool fail;
} meter_t;
static int fake_meter(void *ctx, int threads, int passes, double *gbs)
{
    meter_t *m = ctx;
    m->threads = threads;
    m->passes = passes;
    if (m->fail) {
        *gbs = NAN;
        return mb_err_set(MB_ENOMEM, "fake meter: no buffer");
    }
    *gbs = 10.0 * ++m->calls;
    return 0;
}

static bench_result_t run_paired(fake_t *f, bench_test_t t, meter_t *mt, int n_reps)
{
    bench_cell_t cell = {.model = "fake", .recipe = "Q4_0", .test = t, .n_threads = 2};
    bench_result_t r;
    bench_result_init(&r, &cell);
    r.info.rf_decode_bytes = 1000000000; /* 1 GB per token, no KV */
    bench_clock_t clk = {f, fake_now};
    bench_meter_t me = {mt, fake_meter};
    bench_measure_opts_t o = {.reps = {.min_reps = n_reps}, .warmup = true, .seed = 1, .clock = &clk,
                              .meter = &me};
    bench_workload_t w = workload(f);
    cr_assert_eq(bench_cell_measure(&o, &w, &r), 0, "%s", mb_err_msg());
    cr_assert_eq(r.status, BENCH_CELL_OK);
    return r;
}

Test(measure, paired_read_before_each_decode_rep)
{
    /* 20 ms per token = 50 t/s = 50 GB/s at 1 GB per token */
    fake_t f = {.prefill_ns = 1000000, .decode_ns = 20000000, .n_ctx = 4096};
    meter_t mt = {0};
    bench_result_t r = run_paired(&f, (bench_test_t){BENCH_TEST_TG, 0, 8, 0}, &mt, 3);
    cr_assert_eq(mt.calls, 3, "one measurement per recorded rep, none for the warm-up");
    cr_assert_eq(mt.threads, 2, "at the cell's thread count");
    cr_assert_eq(mt.passes, BENCH_PAIRED_PASSES);
    for (int i = 0; i < 3; i++)
        cr_assert_float_eq(r.reps[i].read_gbs, 10.0 * (i + 1), 1e-12);
    /* ratios 50/10, 50/20, 50/30: median 250 % */
    cr_assert_float_eq(r.roofline_pct, 250.0, 1e-9);
    bench_result_clear(&r);

    /* pg: paired as well (its decode part) */
    memset(&mt, 0, sizeof mt);
    fake_t g = {.prefill_ns = 1000000, .decode_ns = 20000000, .n_ctx = 4096};
    r = run_paired(&g, (bench_test_t){BENCH_TEST_PG, 16, 8, 0}, &mt, 2);
    cr_assert_eq(mt.calls, 2);
    cr_assert_float_eq(r.reps[1].read_gbs, 20.0, 1e-12);
    bench_result_clear(&r);

    /* pp: never paired */
    memset(&mt, 0, sizeof mt);
    fake_t h = {.prefill_ns = 1000000, .decode_ns = 20000000, .n_ctx = 4096};
    r = run_paired(&h, (bench_test_t){BENCH_TEST_PP, 16, 0, 0}, &mt, 2);
    cr_assert_eq(mt.calls, 0);
    cr_assert(isnan(r.reps[0].read_gbs));
    bench_result_clear(&r);
}

Test(measure, paired_meter_failure_is_not_a_failed_cell)
{
    fake_t f = {.prefill_ns = 1000000, .decode_ns = 20000000, .n_ctx = 4096};
    meter_t mt = {.fail = true};
    bench_result_t r = run_paired(&f, (bench_test_t){BENCH_TEST_TG, 0, 8, 0}, &mt, 2);
    cr_assert(isnan(r.reps[0].read_gbs) && isnan(r.reps[1].read_gbs));
    cr_assert(isnan(r.roofline_pct), "no pairs and no ceilings: no roofline_pct");
    cr_assert_float_eq(r.decode_ts, 50.0, 1e-6, "the measurement itself stands");
    bench_result_clear(&r);
}

Test(measure, pp_prefill_rate_and_ttft)
{
    fake_t f = {.prefill_ns = 1000000, .decode_ns = 10000000, .n_ctx = 4096};
    bench_result_t r = run(&f, (bench_test_t){BENCH_TEST_PP, 512, 0, 0}, (bench_reps_policy_t){.min_reps = 3}, false, 0);
    cr_assert_eq(r.n_reps, 3);
    cr_assert_float_eq(r.ts.mean, 1000.0, 1e-6); /* 1 ms per prompt token */
    cr_assert_float_eq(r.ts.stddev, 0, 1e-9);
    cr_assert_float_eq(r.ttft_ms, 512.0, 1e-6);
    cr_assert(isnan(r.decode_ts));
    cr_assert(isnan(r.reps[0].lat_p50_ms));
    cr_assert(isnan(r.reps[0].sensors.temp_max)); /* no sensors */
    cr_assert_eq(r.stop, BENCH_STOP_FIXED);
    bench_result_clear(&r);
}

Test(measure, tg_decode_rate_and_latencies)
{
    fake_t f = {.prefill_ns = 1000000, .decode_ns = 20000000, .n_ctx = 4096};
    bench_result_t r = run(&f, (bench_test_t){BENCH_TEST_TG, 0, 16, 0}, (bench_reps_policy_t){.min_reps = 2}, true, 0);
    cr_assert_float_eq(r.ts.median, 50.0, 1e-6); /* 20 ms per token */
    cr_assert_float_eq(r.decode_ts, 50.0, 1e-6);
    cr_assert_float_eq(r.reps[1].lat_p50_ms, 20.0, 1e-6);
    cr_assert_float_eq(r.reps[1].lat_p99_ms, 20.0, 1e-6);
    cr_assert(isnan(r.ttft_ms));
    cr_assert_float_eq(r.reps[0].sensors.freq_mean, 2000, 0);
    cr_assert_float_eq(r.reps[0].sensors.energy_j, 16 * 0.02 * 10.0, 1e-9);
    cr_assert_eq(r.throttled_reps, 0);
    cr_assert_gt(r.n_samples, 0); /* temp, freq, energy per rep */
    /* One-token prompt + 16 decodes per rep: the cache never held more than 17. */
    cr_assert_eq(f.max_pos, 17);
    bench_result_clear(&r);
}

Test(measure, pg_separate_and_combined)
{
    fake_t f = {.prefill_ns = 1000000, .decode_ns = 10000000, .n_ctx = 4096};
    bench_result_t r = run(&f, (bench_test_t){BENCH_TEST_PG, 100, 10, 0}, (bench_reps_policy_t){.min_reps = 2}, false, 0);
    /* prefill 100 ms, decode 10 x 10 ms = 100 ms: 110 tokens / 0.2 s */
    cr_assert_float_eq(r.ts.mean, 550.0, 1e-6);
    cr_assert_float_eq(r.ttft_ms, 100.0, 1e-6);
    cr_assert_float_eq(r.decode_ts, 100.0, 1e-6);
    cr_assert_float_eq(r.reps[0].prefill_ts, 1000.0, 1e-6);
    bench_result_clear(&r);
}

Test(measure, depth_filled_once_untimed)
{
    fake_t f = {.prefill_ns = 1000000, .decode_ns = 10000000, .n_ctx = 4096};
    bench_result_t r = run(&f, (bench_test_t){BENCH_TEST_PP, 64, 0, 1024}, (bench_reps_policy_t){.min_reps = 4}, false, 0);
    cr_assert_eq(f.filled, 1, "depth filled %d times", f.filled);
    cr_assert_eq(f.truncates, 4); /* warm-up filled, then 4 reps truncate back */
    cr_assert_eq(f.max_pos, 1024 + 64);
    cr_assert_float_eq(r.ts.mean, 1000.0, 1e-6); /* the fill is not in the time */
    bench_result_clear(&r);
}

Test(measure, depth_refilled_without_truncate)
{
    fake_t f = {.prefill_ns = 1000000, .decode_ns = 10000000, .n_ctx = 4096};
    bench_cell_t cell = {.model = "fake", .recipe = "Q4_0", .test = {BENCH_TEST_TG, 0, 8, 256}, .n_threads = 1};
    bench_result_t r;
    bench_result_init(&r, &cell);
    bench_clock_t clk = {&f, fake_now};
    bench_measure_opts_t o = {.reps = {.min_reps = 3}, .warmup = false, .clock = &clk};
    bench_workload_t w = workload(&f);
    w.truncate = NULL;
    cr_assert_eq(bench_cell_measure(&o, &w, &r), 0);
    cr_assert_eq(f.filled, 3);
    cr_assert_float_eq(r.ts.mean, 100.0, 1e-6);
    bench_result_clear(&r);
}

Test(measure, context_too_small_is_an_error)
{
    fake_t f = {.prefill_ns = 1, .decode_ns = 1, .n_ctx = 100};
    bench_cell_t cell = {.model = "fake", .recipe = "Q4_0", .test = {BENCH_TEST_PP, 512, 0, 0}, .n_threads = 1};
    bench_result_t r;
    bench_result_init(&r, &cell);
    bench_clock_t clk = {&f, fake_now};
    bench_measure_opts_t o = {.reps = {.min_reps = 1}, .clock = &clk};
    bench_workload_t w = workload(&f);
    cr_assert_eq(bench_cell_measure(&o, &w, &r), MB_ERANGE);
    cr_assert_eq(r.status, BENCH_CELL_FAILED);
    cr_assert(strstr(r.reason, "512 cache positions"));
    bench_result_clear(&r);
}

Test(measure, throttled_reps_flagged)
{
    /* Decode slows (and the fake frequency drops) after 1 s of fake time. */
    fake_t f = {.prefill_ns = 1000000, .decode_ns = 10000000, .n_ctx = 4096, .slow_after = 1000000000};
    bench_result_t r = run(&f, (bench_test_t){BENCH_TEST_TG, 0, 32, 0}, (bench_reps_policy_t){.min_reps = 6}, true, 0);
    cr_assert(!r.reps[0].throttled);
    cr_assert(r.reps[5].throttled);
    cr_assert_gt(r.throttled_reps, 0);
    cr_assert_lt(r.throttled_reps, 6);
    bench_result_clear(&r);
}

Test(measure, sustained_windows_on_fake_clock)
{
    /* 10 ms per token, 25% slower after 60 s; 3 minutes; a 512-slot cache wraps. */
    fake_t f = {.prefill_ns = 1000000, .decode_ns = 10000000, .n_ctx = 512, .slow_after = 60000000000ull};
    bench_result_t r = run(&f, (bench_test_t){BENCH_TEST_TG, 0, 128, 0}, (bench_reps_policy_t){.min_reps = 1}, true, 180);
    const bench_sustained_t *s = &r.sustained;
    cr_assert_geq(s->n_windows, 36);
    cr_assert_leq(s->n_windows, 37);
    cr_assert_float_eq(s->burst_ts, 100.0, 0.5);
    cr_assert_float_eq(s->sustained_ts, 80.0, 0.5);
    cr_assert_float_eq(s->ratio, 0.8, 0.01);
    cr_assert_float_eq(s->time_to_throttle_s, 60.0, 5.01);
    cr_assert_float_eq(s->j_per_token, 10.0 / 100.0 * (100.0 * 60 + 80.0 * 120) / (100.0 * 60 + 80.0 * 120) * 1.0, 0.03);
    cr_assert(s->sensors);
    cr_assert_eq(r.n_reps, s->n_windows);
    cr_assert_gt(r.throttled_reps, 20);
    /* the JSON pipe round trip keeps windows and recomputes the summary */
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    cr_assert_eq(bench_result_write_json(mf, &r), 0);
    fclose(mf);
    bench_result_t back;
    bench_result_init(&back, &r.cell);
    cr_assert_eq(bench_result_read_json(buf, len, &back), 0, "%s", mb_err_msg());
    cr_assert_eq(back.sustained.n_windows, s->n_windows);
    cr_assert_float_eq(back.sustained.ratio, s->ratio, 1e-9);
    cr_assert_eq(back.n_reps, r.n_reps);
    cr_assert_float_eq(back.ts.mean, r.ts.mean, 1e-9);
    cr_assert_eq(back.n_samples, r.n_samples);
    cr_assert_eq(back.throttled_reps, r.throttled_reps);
    free(buf);
    bench_result_clear(&back);
    bench_result_clear(&r);
}

Test(measure, sustained_without_sensors_says_so)
{
    fake_t f = {.prefill_ns = 1000000, .decode_ns = 10000000, .n_ctx = 512};
    bench_result_t r = run(&f, (bench_test_t){BENCH_TEST_TG, 0, 128, 0}, (bench_reps_policy_t){.min_reps = 1}, false, 20);
    cr_assert(!r.sustained.sensors);
    cr_assert(isnan(r.sustained.j_per_token));
    cr_assert(isnan(r.sustained.time_to_throttle_s));
    /* 20 s < 2.5 min: burst and tail would overlap, so no sustained figure */
    cr_assert_float_eq(r.sustained.burst_ts, 100.0, 0.5);
    cr_assert(isnan(r.sustained.sustained_ts));
    cr_assert(isnan(r.sustained.ratio));
    cr_assert(strstr(r.sustained.absent, "run >= 2.5 min for a sustained figure"), "%s", r.sustained.absent);
    cr_assert(strstr(r.reason, "run >= 2.5 min"), "%s", r.reason);
    cr_assert_float_eq(r.decode_ts, 100.0, 0.5); /* the whole run's rate */
    /* md: no ratio printed, the absence and its reason in the notes */
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    bench_out_t *o;
    cr_assert_eq(bench_out_begin(mf, BENCH_OUT_MD, "cpu", &o), 0);
    bench_out_row(o, &r);
    bench_out_end(o);
    fclose(mf);
    cr_assert(strstr(buf, "sustained: absent, run >= 2.5 min"), "%s", buf);
    cr_assert(!strstr(buf, "ratio"), "%s", buf);
    free(buf);
    bench_result_clear(&r);
}

Test(measure, result_json_round_trip)
{
    fake_t f = {.prefill_ns = 1000000, .decode_ns = 10000000, .n_ctx = 4096};
    bench_result_t r = run(&f, (bench_test_t){BENCH_TEST_PG, 32, 8, 0}, (bench_reps_policy_t){.min_reps = 3}, true, 0);
    snprintf(r.info.kernel, sizeof r.info.kernel, "avx2");
    r.info.model_size = 123456789;
    r.peak_rss = 1 << 20;
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    cr_assert_eq(bench_result_write_json(mf, &r), 0);
    fclose(mf);
    bench_result_t back;
    bench_result_init(&back, &r.cell);
    cr_assert_eq(bench_result_read_json(buf, len, &back), 0);
    cr_assert_str_eq(back.info.kernel, "avx2");
    cr_assert_eq(back.info.model_size, 123456789);
    cr_assert_eq(back.peak_rss, 1 << 20);
    cr_assert_eq(back.n_reps, 3);
    cr_assert_float_eq(back.ts.median, r.ts.median, 1e-9);
    cr_assert_float_eq(back.ttft_ms, r.ttft_ms, 1e-9);
    cr_assert_float_eq(back.reps[2].lat_p90_ms, r.reps[2].lat_p90_ms, 1e-9);
    cr_assert_float_eq(back.reps[2].sensors.freq_max, 2000, 0);
    free(buf);
    bench_result_clear(&back);
    cr_assert_eq(bench_result_read_json("{oops", 5, &back), MB_EFORMAT);
    bench_result_clear(&back);
    bench_result_clear(&r);
}
