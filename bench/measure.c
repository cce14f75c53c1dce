/* measure.c: one cell in this process. The cache is filled to the cell's
 * depth once (untimed), then each rep runs the test on top of it: pp
 * (prefill), tg (decode after a one-token prompt) or pg (prefill, then
 * decode: TTFT and decode rate separately and combined). Sustained mode
 * decodes continuously in 5 s windows. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const bench_measure_opts_t *o;
    bench_workload_t *w;
    bench_result_t *r;
    int32_t *tokens; /* max(prompt, depth, 1) ids */
    int n_tokens_cap;
    double *lat;     /* n_gen per-token latencies, ms */
    bool depth_ready;
    double freq_peak;
    uint64_t rng;
    size_t cap_reps;
    bool meter_warned;
} mctx_t;

/* xorshift64*: token ids need no quality, only determinism from the seed. */
static void fill_tokens(mctx_t *m, int n)
{
    for (int i = 0; i < n; i++) {
        m->rng ^= m->rng >> 12;
        m->rng ^= m->rng << 25;
        m->rng ^= m->rng >> 27;
        uint64_t x = m->rng * 0x2545F4914F6CDD1Dull;
        m->tokens[i] = (int32_t)(x % (uint64_t)m->w->n_vocab);
    }
}

/* The prompt of a pp/pg test: the real one when given (--prompt-file). */
static void fill_prompt(mctx_t *m, int n)
{
    if (m->o->prompt && n <= m->o->n_prompt_tokens)
        memcpy(m->tokens, m->o->prompt, (size_t)n * sizeof *m->tokens);
    else
        fill_tokens(m, n);
}

static uint64_t now(const mctx_t *m)
{
    return m->o->clock->now_ns(m->o->clock->ctx);
}

/* Puts the cache at the cell's depth: filled once, then truncated back. */
static int restore_depth(mctx_t *m)
{
    int depth = m->r->cell.test.n_depth;
    if (m->depth_ready && m->w->truncate) {
        int rc = m->w->truncate(m->w->impl, depth);
        /* MB_EUNSUPPORTED: a sliding-window ring no longer holds the window
         * before depth (the test wrote more than a batch past it): refill */
        if (rc != MB_EUNSUPPORTED)
            return rc;
    }
    int rc = m->w->reset(m->w->impl);
    if (rc || depth == 0) {
        m->depth_ready = !rc;
        return rc;
    }
    fill_tokens(m, depth);
    if ((rc = m->w->eval(m->w->impl, m->tokens, depth, false)))
        return rc;
    m->depth_ready = true;
    return MB_OK;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* n_gen decode steps, each timed; returns the total ns. */
static int decode_steps(mctx_t *m, int n, uint64_t *total)
{
    *total = 0;
    for (int i = 0; i < n; i++) {
        fill_tokens(m, 1);
        uint64_t t0 = now(m);
        int rc = m->w->eval(m->w->impl, m->tokens, 1, true);
        uint64_t dt = now(m) - t0;
        if (rc)
            return rc;
        m->lat[i] = (double)dt * 1e-6;
        *total += dt;
    }
    return MB_OK;
}

static void latency_percentiles(mctx_t *m, int n, bench_rep_t *rep)
{
    qsort(m->lat, (size_t)n, sizeof *m->lat, cmp_d);
    rep->lat_p50_ms = bench_percentile(m->lat, (size_t)n, 0.5);
    rep->lat_p90_ms = bench_percentile(m->lat, (size_t)n, 0.9);
    rep->lat_p99_ms = bench_percentile(m->lat, (size_t)n, 0.99);
}

static void no_sensors(bench_sensor_window_t *s)
{
    memset(s, 0, sizeof *s);
    s->temp_min = s->temp_mean = s->temp_max = NAN;
    s->freq_min = s->freq_mean = s->freq_max = NAN;
    s->energy_j = NAN;
}

static double energy_now(const mctx_t *m)
{
    const bench_sensors_t *se = m->o->sensors;
    return se && se->energy_j ? se->energy_j(se->ctx) : NAN;
}

/* e0: the energy counter at t0 (NAN: none); the window's energy is the
 * counter's difference when the sensors give no energy of their own. */
static void read_window(mctx_t *m, uint64_t t0, uint64_t t1, double e0, bench_sensor_window_t *s)
{
    no_sensors(s);
    const bench_sensors_t *se = m->o->sensors;
    if (se && se->window && se->window(se->ctx, t0, t1, s))
        no_sensors(s);
    double e1 = energy_now(m);
    if (!isfinite(s->energy_j) && isfinite(e0) && isfinite(e1) && e1 >= e0)
        s->energy_j = e1 - e0;
}

/* Throttled: frequency fell below 90% of the highest seen in this cell, or a
 * trip point was crossed. Without frequency readings only the trip counts. */
static bool judge_throttle(mctx_t *m, const bench_sensor_window_t *s)
{
    if (isfinite(s->freq_max) && s->freq_max > m->freq_peak)
        m->freq_peak = s->freq_max;
    bool fell = isfinite(s->freq_min) && m->freq_peak > 0 && s->freq_min < 0.9 * m->freq_peak;
    return fell || s->trip;
}

/* --roofline-paired: the read bandwidth of this minute, just before the
 * rep's timed part (the engine's pool is idle, so it has the cores). */
static void paired_read(mctx_t *m, bench_rep_t *rep)
{
    const bench_meter_t *me = m->o->meter;
    if (!me || !me->read_gbs)
        return;
    double gbs = NAN;
    if (me->read_gbs(me->ctx, m->r->cell.n_threads, BENCH_PAIRED_PASSES, &gbs) || !(gbs > 0)) {
        if (!m->meter_warned)
            MB_WARN("roofline: no paired read bandwidth for this cell (%s): its roofline_pct uses "
                    "the run's ceilings", mb_err_msg());
        m->meter_warned = true;
        return;
    }
    rep->read_gbs = gbs;
}

/* One rep of the test; *ts is what the CV is computed on. */
static int run_rep(mctx_t *m, bench_rep_t *rep, bool record)
{
    const bench_test_t *t = &m->r->cell.test;
    memset(rep, 0, sizeof *rep);
    rep->ttft_ms = rep->prefill_ts = rep->decode_ts = NAN;
    rep->lat_p50_ms = rep->lat_p90_ms = rep->lat_p99_ms = NAN;
    rep->read_gbs = NAN;
    int rc = restore_depth(m);
    if (rc)
        return rc;
    uint64_t t0, t1, dec = 0;
    double e0 = record ? energy_now(m) : NAN;
    switch (t->kind) {
    case BENCH_TEST_PP:
        fill_prompt(m, t->n_prompt);
        t0 = now(m);
        rc = m->w->eval(m->w->impl, m->tokens, t->n_prompt, true);
        t1 = now(m);
        if (rc)
            return rc;
        rep->ttft_ms = (double)(t1 - t0) * 1e-6;
        rep->prefill_ts = rep->ts = t->n_prompt / ((double)(t1 - t0) * 1e-9);
        break;
    case BENCH_TEST_TG:
        fill_tokens(m, 1); /* the one-token prompt, untimed */
        if ((rc = m->w->eval(m->w->impl, m->tokens, 1, true)))
            return rc;
        if (record) {
            paired_read(m, rep);
            e0 = energy_now(m);
        }
        t0 = now(m);
        rc = decode_steps(m, t->n_gen, &dec);
        t1 = now(m);
        if (rc)
            return rc;
        rep->decode_ts = rep->ts = t->n_gen / ((double)(t1 - t0) * 1e-9);
        latency_percentiles(m, t->n_gen, rep);
        break;
    case BENCH_TEST_PG: {
        if (record) {
            paired_read(m, rep);
            e0 = energy_now(m);
        }
        fill_prompt(m, t->n_prompt);
        t0 = now(m);
        rc = m->w->eval(m->w->impl, m->tokens, t->n_prompt, true);
        uint64_t tf = now(m);
        if (rc)
            return rc;
        rc = decode_steps(m, t->n_gen, &dec);
        t1 = now(m);
        if (rc)
            return rc;
        rep->ttft_ms = (double)(tf - t0) * 1e-6;
        rep->prefill_ts = t->n_prompt / ((double)(tf - t0) * 1e-9);
        rep->decode_ts = t->n_gen / ((double)(t1 - tf) * 1e-9);
        rep->ts = (t->n_prompt + t->n_gen) / ((double)(t1 - t0) * 1e-9);
        latency_percentiles(m, t->n_gen, rep);
        break;
    }
    default:
        return mb_err_set(MB_EINVAL, "unknown test kind %d", (int)t->kind);
    }
    rep->wall_ns = (int64_t)(t1 - t0);
    if (!(rep->ts > 0) || !isfinite(rep->ts))
        return mb_err_set(MB_EIO, "rep measured %g tokens/s: the clock did not advance", rep->ts);
    if (record) {
        read_window(m, t0, t1, e0, &rep->sensors);
        rep->throttled = judge_throttle(m, &rep->sensors);
    }
    return MB_OK;
}

static int measure_cb(void *ctx, int i, double *value)
{
    mctx_t *m = ctx;
    if ((size_t)i >= m->cap_reps)
        return mb_err_set(MB_ERANGE, "rep %d beyond the %zu allocated", i, m->cap_reps);
    bench_rep_t *rep = &m->r->reps[i];
    int rc = run_rep(m, rep, true);
    if (rc)
        return rc;
    m->r->n_reps = (size_t)i + 1;
    double t = mb_clock_wall();
    if (rep->sensors.n_samples > 0) {
        if (isfinite(rep->sensors.temp_max))
            bench_result_add_sample(m->r, t, "temp", "hottest", rep->sensors.temp_max);
        if (isfinite(rep->sensors.freq_mean))
            bench_result_add_sample(m->r, t, "freq", "mean", rep->sensors.freq_mean);
        if (isfinite(rep->sensors.energy_j))
            bench_result_add_sample(m->r, t, "energy", "rep", rep->sensors.energy_j);
    }
    *value = rep->ts;
    return MB_OK;
}

static double median_of(const bench_result_t *r, size_t off)
{
    double *v = malloc((r->n_reps ? r->n_reps : 1) * sizeof *v);
    size_t n = 0;
    if (!v)
        return NAN;
    for (size_t i = 0; i < r->n_reps; i++) {
        double x = *(const double *)((const char *)&r->reps[i] + off);
        if (isfinite(x))
            v[n++] = x;
    }
    double med = NAN;
    if (n) {
        qsort(v, n, sizeof *v, cmp_d);
        med = bench_percentile(v, n, 0.5);
    }
    free(v);
    return med;
}

/* ---- sustained mode ----------------------------------------------------- */
void bench_sustained_summarize(bench_sustained_t *s)
{
    double btok = 0, bdur = 0, stok = 0, sdur = 0, energy = 0, tokens = 0;
    bool all_energy = s->n_windows > 0;
    s->sensors = false;
    s->duration_s = 0;
    for (size_t i = 0; i < s->n_windows; i++) {
        const bench_window_t *w = &s->windows[i];
        double end = w->t0_s + w->dur_s;
        if (end > s->duration_s)
            s->duration_s = end;
    }
    double tail_from = s->duration_s - BENCH_SUSTAINED_TAIL_S;
    for (size_t i = 0; i < s->n_windows; i++) {
        const bench_window_t *w = &s->windows[i];
        if (w->t0_s < BENCH_SUSTAINED_BURST_S) {
            btok += (double)w->tokens;
            bdur += w->dur_s;
        }
        if (w->t0_s >= tail_from - 1e-9) {
            stok += (double)w->tokens;
            sdur += w->dur_s;
        }
        tokens += (double)w->tokens;
        if (w->sensors.n_samples > 0)
            s->sensors = true;
        if (isfinite(w->sensors.energy_j))
            energy += w->sensors.energy_j;
        else
            all_energy = false;
    }
    s->burst_ts = bdur > 0 ? btok / bdur : NAN;
    s->absent[0] = '\0';
    if (s->duration_s + 1e-6 < BENCH_SUSTAINED_MIN_S) {
        /* The last 2 min would overlap the first 30 s: no honest figure. */
        s->sustained_ts = s->ratio = NAN;
        snprintf(s->absent, sizeof s->absent,
                 "run >= 2.5 min for a sustained figure (this run: %.0f s)", s->duration_s);
    } else {
        s->sustained_ts = sdur > 0 ? stok / sdur : NAN;
        s->ratio = s->burst_ts > 0 ? s->sustained_ts / s->burst_ts : NAN;
    }
    s->time_to_throttle_s = NAN;
    /* A short last window (the run's remainder) is too noisy to call. */
    for (size_t i = 0; i < s->n_windows; i++)
        if (s->windows[i].dur_s >= 0.5 * BENCH_SUSTAINED_WINDOW_S && s->windows[i].ts < 0.9 * s->burst_ts) {
            s->time_to_throttle_s = s->windows[i].t0_s;
            break;
        }
    s->j_per_token = all_energy && tokens > 0 ? energy / tokens : NAN;
}

double bench_sustained_decode_ts(const bench_sustained_t *s)
{
    if (isfinite(s->sustained_ts))
        return s->sustained_ts;
    double tok = 0, dur = 0;
    for (size_t i = 0; i < s->n_windows; i++) {
        tok += (double)s->windows[i].tokens;
        dur += s->windows[i].dur_s;
    }
    return dur > 0 ? tok / dur : NAN;
}

static int close_window(mctx_t *m, bench_sustained_t *s, uint64_t start, uint64_t w0, uint64_t w1,
                        int64_t tokens, double e0)
{
    bench_window_t *nw = realloc(s->windows, (s->n_windows + 1) * sizeof *nw);
    if (!nw)
        return mb_err_set(MB_ENOMEM, "out of memory recording sustained windows");
    s->windows = nw;
    bench_window_t *w = &nw[s->n_windows++];
    w->t0_s = (double)(w0 - start) * 1e-9;
    w->dur_s = (double)(w1 - w0) * 1e-9;
    w->tokens = tokens;
    w->ts = w->dur_s > 0 ? (double)tokens / w->dur_s : NAN;
    read_window(m, w0, w1, e0, &w->sensors);
    return MB_OK;
}

static int run_sustained(mctx_t *m)
{
    bench_result_t *r = m->r;
    bench_sustained_t *s = &r->sustained;
    int rc = m->w->reset(m->w->impl);
    fill_tokens(m, 1);
    if (rc || (rc = m->w->eval(m->w->impl, m->tokens, 1, true)))
        return rc;
    int pos = 1;
    const uint64_t win = (uint64_t)(BENCH_SUSTAINED_WINDOW_S * 1e9);
    const uint64_t dur = (uint64_t)(m->o->sustained_s * 1e9);
    uint64_t start = now(m), w0 = start;
    int64_t wtok = 0;
    double e0 = energy_now(m);
    for (;;) {
        if (pos + 1 >= m->w->n_ctx) {
            /* Cache full: start over from the one-token prompt. The rewind is
             * inside the window's time, as a chat app's would be. */
            rc = m->w->truncate ? m->w->truncate(m->w->impl, 1) : MB_EUNSUPPORTED;
            if (rc == MB_EUNSUPPORTED) /* no truncation, or a ring that moved on */
                if (!(rc = m->w->reset(m->w->impl)))
                    rc = m->w->eval(m->w->impl, m->tokens, 1, true);
            if (rc)
                return rc;
            pos = 1;
        }
        fill_tokens(m, 1);
        if ((rc = m->w->eval(m->w->impl, m->tokens, 1, true)))
            return rc;
        pos++;
        wtok++;
        uint64_t t = now(m);
        bool done = t - start >= dur;
        if (t - w0 >= win || done) {
            if ((rc = close_window(m, s, start, w0, t, wtok, e0)))
                return rc;
            e0 = energy_now(m);
            w0 = t;
            wtok = 0;
        }
        if (done)
            break;
    }
    bench_sustained_summarize(s);
    /* Windows are the cell's reps: their t/s, sensors and throttle flags. */
    r->reps = calloc(s->n_windows, sizeof *r->reps);
    if (!r->reps)
        return mb_err_set(MB_ENOMEM, "out of memory recording sustained windows");
    double *v = malloc(s->n_windows * sizeof *v);
    if (!v)
        return mb_err_set(MB_ENOMEM, "out of memory recording sustained windows");
    double wall = mb_clock_wall() - s->duration_s;
    for (size_t i = 0; i < s->n_windows; i++) {
        const bench_window_t *w = &s->windows[i];
        bench_rep_t *rep = &r->reps[i];
        rep->wall_ns = (int64_t)(w->dur_s * 1e9);
        rep->ts = rep->decode_ts = v[i] = w->ts;
        rep->ttft_ms = rep->prefill_ts = rep->read_gbs = NAN;
        rep->lat_p50_ms = rep->lat_p90_ms = rep->lat_p99_ms = NAN;
        rep->sensors = w->sensors;
        rep->throttled = judge_throttle(m, &w->sensors) || w->ts < 0.9 * s->burst_ts;
        r->throttled_reps += rep->throttled;
        double t = wall + w->t0_s + w->dur_s;
        bench_result_add_sample(r, t, "tps", "window", w->ts);
        if (isfinite(w->sensors.temp_max))
            bench_result_add_sample(r, t, "temp", "hottest", w->sensors.temp_max);
        if (isfinite(w->sensors.freq_mean))
            bench_result_add_sample(r, t, "freq", "mean", w->sensors.freq_mean);
        if (isfinite(w->sensors.energy_j))
            bench_result_add_sample(r, t, "energy", "window", w->sensors.energy_j);
    }
    r->n_reps = s->n_windows;
    double t = mb_clock_wall();
    bench_result_add_sample(r, t, "sustained", "burst_ts", s->burst_ts);
    if (isfinite(s->sustained_ts)) { /* absent (too short a run): no sample rather than a made-up one */
        bench_result_add_sample(r, t, "sustained", "sustained_ts", s->sustained_ts);
        bench_result_add_sample(r, t, "sustained", "ratio", s->ratio);
    }
    bench_result_add_sample(r, t, "sustained", "time_to_throttle_s", s->time_to_throttle_s);
    bench_result_add_sample(r, t, "sustained", "j_per_token", s->j_per_token);
    rc = bench_stats_compute(v, s->n_windows, &r->ts);
    free(v);
    r->stop = BENCH_STOP_FIXED;
    r->decode_ts = bench_sustained_decode_ts(s);
    return rc;
}

int bench_cell_measure(const bench_measure_opts_t *o, bench_workload_t *w, bench_result_t *r)
{
    const bench_test_t *t = &r->cell.test;
    mctx_t m = {.o = o, .w = w, .r = r, .rng = o->seed * 0x9E3779B97F4A7C15ull + 1};
    int rc;
    if (bench_test_ctx_needed(t) > w->n_ctx && o->sustained_s <= 0) {
        rc = mb_err_set(MB_ERANGE, "test needs %d cache positions, the context has %d",
                        bench_test_ctx_needed(t), w->n_ctx);
        goto out;
    }
    m.n_tokens_cap = MB_MAX(MB_MAX(t->n_prompt, t->n_depth), 1);
    m.tokens = malloc((size_t)m.n_tokens_cap * sizeof *m.tokens);
    m.lat = malloc((size_t)MB_MAX(t->n_gen, 1) * sizeof *m.lat);
    if (!m.tokens || !m.lat) {
        rc = mb_err_set(MB_ENOMEM, "out of memory for %d tokens", m.n_tokens_cap);
        goto out;
    }
    const bench_sensors_t *se = o->sensors;
    if (se && se->start && se->start(se->ctx))
        se = NULL; /* measured without sensors rather than not at all */
    bench_measure_opts_t o2 = *o;
    o2.sensors = se;
    m.o = &o2;
    r->started = mb_clock_wall();
    if (o->sustained_s > 0) {
        rc = run_sustained(&m);
    } else {
        if (o->warmup) {
            /* As llama-bench: the prompt once, one generated token. */
            bench_rep_t tmp;
            bench_test_t saved = r->cell.test;
            if (saved.kind != BENCH_TEST_PP)
                r->cell.test.n_gen = 1;
            rc = run_rep(&m, &tmp, false);
            r->cell.test = saved;
            if (rc)
                goto stop;
        }
        m.cap_reps = (size_t)MB_MAX(o->reps.min_reps, o->reps.max_reps);
        if (!(r->reps = calloc(m.cap_reps, sizeof *r->reps))) {
            rc = mb_err_set(MB_ENOMEM, "out of memory for %zu reps", m.cap_reps);
            goto stop;
        }
        double *v = malloc(m.cap_reps * sizeof *v);
        size_t n = 0;
        if (!v) {
            rc = mb_err_set(MB_ENOMEM, "out of memory for %zu reps", m.cap_reps);
            goto stop;
        }
        rc = bench_reps_run(&o->reps, o->clock, measure_cb, &m, v, &n, &r->stop);
        if (!rc)
            rc = bench_stats_compute(v, n, &r->ts);
        free(v);
        for (size_t i = 0; i < r->n_reps; i++)
            r->throttled_reps += r->reps[i].throttled;
        r->ttft_ms = median_of(r, offsetof(bench_rep_t, ttft_ms));
        r->decode_ts = median_of(r, offsetof(bench_rep_t, decode_ts));
    }
stop:
    if (se && se->stop)
        se->stop(se->ctx);
    r->ended = mb_clock_wall();
out:
    free(m.tokens);
    free(m.lat);
    if (rc) {
        r->status = rc == MB_ENOMEM ? BENCH_CELL_OOM : BENCH_CELL_FAILED;
        snprintf(r->reason, sizeof r->reason, "%s", mb_err_msg());
    } else {
        r->status = BENCH_CELL_OK;
        if (r->sustained.n_windows && r->sustained.absent[0])
            snprintf(r->reason, sizeof r->reason, "no sustained figure: %s", r->sustained.absent);
        if (o->ceilings || o->meter)
            r->roofline_pct = bench_roofline_pct(o->ceilings, r);
    }
    return rc;
}
