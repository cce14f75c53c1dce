/* result.c: cell results: lifetime, names, and the JSON a cell's child sends
 * to the runner over its pipe (read back field by field). */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *bench_status_name(bench_status_t s)
{
    switch (s) {
    case BENCH_CELL_OK: return "ok";
    case BENCH_CELL_SKIPPED: return "skipped";
    case BENCH_CELL_FAILED: return "failed";
    case BENCH_CELL_OOM: return "oom";
    case BENCH_CELL_TIMEOUT: return "timeout";
    case BENCH_CELL_INTERRUPTED: return "interrupted";
    }
    return "?";
}

void bench_cell_key(const bench_cell_t *c, char *buf, size_t len)
{
    const bench_test_t *t = &c->test;
    char pin[320] = "";
    if (!bench_cpuset_empty(&c->cpus)) {
        /* Only pinned cells say so: the keys of earlier, unpinned cells stay. */
        char hex[300];
        bench_cpuset_hex(&c->cpus, hex, sizeof hex);
        snprintf(pin, sizeof pin, "/cpu=%s%s", c->cluster[0] ? c->cluster : hex,
                 c->cpu_strict ? ",strict" : "");
    }
    switch (t->kind) {
    case BENCH_TEST_PP:
        snprintf(buf, len, "%s/%s/pp%d@d%d/t%d", c->model, c->recipe, t->n_prompt, t->n_depth, c->n_threads);
        break;
    case BENCH_TEST_TG:
        snprintf(buf, len, "%s/%s/tg%d@d%d/t%d", c->model, c->recipe, t->n_gen, t->n_depth, c->n_threads);
        break;
    case BENCH_TEST_PG:
        snprintf(buf, len, "%s/%s/pg%d,%d@d%d/t%d", c->model, c->recipe, t->n_prompt, t->n_gen,
                 t->n_depth, c->n_threads);
        break;
    }
    size_t n = strlen(buf);
    if (pin[0] && n + 1 < len)
        snprintf(buf + n, len - n, "%s", pin);
}

void bench_result_init(bench_result_t *r, const bench_cell_t *cell)
{
    memset(r, 0, sizeof *r);
    if (cell)
        r->cell = *cell;
    r->ttft_ms = r->decode_ts = r->roofline_pct = NAN;
    r->peak_rss = -1;
    r->ts.mean = r->ts.median = r->ts.stddev = r->ts.min = r->ts.max = NAN;
    r->ts.cv = r->ts.ci95 = r->ts.p50 = r->ts.p90 = r->ts.p99 = NAN;
    r->sustained.burst_ts = r->sustained.sustained_ts = r->sustained.ratio = NAN;
    r->sustained.time_to_throttle_s = r->sustained.j_per_token = NAN;
}

const char *bench_result_reason(const bench_result_t *r)
{
    const char *st = bench_status_name(r->status);
    size_t n = strlen(st);
    if (!strncmp(r->reason, st, n) && r->reason[n] == ':')
        return r->reason + n + 1 + (r->reason[n + 1] == ' ');
    return r->reason;
}

void bench_result_clear(bench_result_t *r)
{
    free(r->reps);
    free(r->samples);
    free(r->sustained.windows);
    bench_cell_t c = r->cell;
    bench_result_init(r, &c);
}

int bench_result_add_sample(bench_result_t *r, double t, const char *kind, const char *sensor,
                            double value)
{
    /* Grows by doubling: capacity is the next power of two of n. */
    size_t n = r->n_samples;
    if ((n & (n - 1)) == 0) {
        bench_sample_t *ns = realloc(r->samples, (n ? 2 * n : 8) * sizeof *ns);
        if (!ns)
            return mb_err_set(MB_ENOMEM, "out of memory recording samples");
        r->samples = ns;
    }
    bench_sample_t *s = &r->samples[r->n_samples++];
    s->t = t;
    snprintf(s->kind, sizeof s->kind, "%s", kind);
    snprintf(s->sensor, sizeof s->sensor, "%s", sensor);
    s->value = value;
    return MB_OK;
}

/* ---- JSON out ------------------------------------------------------------- */
static void w_window(mb_json_t *j, const bench_sensor_window_t *s)
{
    mb_json_key(j, "n_samples"); mb_json_int(j, s->n_samples);
    mb_json_key(j, "temp"); mb_json_arr_begin(j);
    mb_json_num(j, s->temp_min); mb_json_num(j, s->temp_mean); mb_json_num(j, s->temp_max);
    mb_json_arr_end(j);
    mb_json_key(j, "freq"); mb_json_arr_begin(j);
    mb_json_num(j, s->freq_min); mb_json_num(j, s->freq_mean); mb_json_num(j, s->freq_max);
    mb_json_arr_end(j);
    mb_json_key(j, "energy_j"); mb_json_num(j, s->energy_j);
    mb_json_key(j, "trip"); mb_json_bool(j, s->trip);
}

int bench_result_write_json(FILE *f, const bench_result_t *r)
{
    mb_json_t j;
    mb_json_init(&j, f, false);
    mb_json_obj_begin(&j);
    const bench_model_info_t *in = &r->info;
    mb_json_key(&j, "model_type"); mb_json_str(&j, in->model_type);
    mb_json_key(&j, "model_size"); mb_json_int(&j, (int64_t)in->model_size);
    mb_json_key(&j, "n_params"); mb_json_int(&j, (int64_t)in->n_params);
    mb_json_key(&j, "weights"); mb_json_str(&j, in->weights);
    mb_json_key(&j, "weights_sha256"); mb_json_str(&j, in->weights_sha256);
    mb_json_key(&j, "kernel"); mb_json_str(&j, in->kernel);
    mb_json_key(&j, "kv_bytes"); mb_json_int(&j, (int64_t)in->kv_bytes);
    mb_json_key(&j, "scratch_bytes"); mb_json_int(&j, (int64_t)in->scratch_bytes);
    mb_json_key(&j, "n_ctx_max"); mb_json_int(&j, in->n_ctx_max);
    mb_json_key(&j, "status"); mb_json_str(&j, bench_status_name(r->status));
    mb_json_key(&j, "reason"); mb_json_str(&j, r->reason);
    mb_json_key(&j, "stop"); mb_json_int(&j, r->stop);
    mb_json_key(&j, "peak_rss"); mb_json_int(&j, r->peak_rss);
    mb_json_key(&j, "roofline_pct"); mb_json_num(&j, r->roofline_pct);
    mb_json_key(&j, "started"); mb_json_num(&j, r->started);
    mb_json_key(&j, "ended"); mb_json_num(&j, r->ended);
    mb_json_key(&j, "cpus_ran"); mb_json_str(&j, r->cpus_ran);
    mb_json_key(&j, "reps"); mb_json_arr_begin(&j);
    for (size_t i = 0; i < r->n_reps; i++) {
        const bench_rep_t *p = &r->reps[i];
        mb_json_obj_begin(&j);
        mb_json_key(&j, "wall_ns"); mb_json_int(&j, p->wall_ns);
        mb_json_key(&j, "ts"); mb_json_num(&j, p->ts);
        mb_json_key(&j, "ttft_ms"); mb_json_num(&j, p->ttft_ms);
        mb_json_key(&j, "prefill_ts"); mb_json_num(&j, p->prefill_ts);
        mb_json_key(&j, "decode_ts"); mb_json_num(&j, p->decode_ts);
        mb_json_key(&j, "read_gbs"); mb_json_num(&j, p->read_gbs);
        mb_json_key(&j, "lat"); mb_json_arr_begin(&j);
        mb_json_num(&j, p->lat_p50_ms); mb_json_num(&j, p->lat_p90_ms); mb_json_num(&j, p->lat_p99_ms);
        mb_json_arr_end(&j);
        w_window(&j, &p->sensors);
        mb_json_key(&j, "throttled"); mb_json_bool(&j, p->throttled);
        mb_json_obj_end(&j);
    }
    mb_json_arr_end(&j);
    mb_json_key(&j, "samples"); mb_json_arr_begin(&j);
    for (size_t i = 0; i < r->n_samples; i++) {
        const bench_sample_t *s = &r->samples[i];
        mb_json_arr_begin(&j);
        mb_json_num(&j, s->t); mb_json_str(&j, s->kind); mb_json_str(&j, s->sensor); mb_json_num(&j, s->value);
        mb_json_arr_end(&j);
    }
    mb_json_arr_end(&j);
    mb_json_key(&j, "windows"); mb_json_arr_begin(&j);
    for (size_t i = 0; i < r->sustained.n_windows; i++) {
        const bench_window_t *w = &r->sustained.windows[i];
        mb_json_obj_begin(&j);
        mb_json_key(&j, "t0"); mb_json_num(&j, w->t0_s);
        mb_json_key(&j, "dur"); mb_json_num(&j, w->dur_s);
        mb_json_key(&j, "tokens"); mb_json_int(&j, w->tokens);
        w_window(&j, &w->sensors);
        mb_json_obj_end(&j);
    }
    mb_json_arr_end(&j);
    mb_json_obj_end(&j);
    fputc('\n', f);
    return fflush(f) || ferror(f) ? mb_err_set(MB_EIO, "cannot write the cell result") : MB_OK;
}

/* ---- JSON in -------------------------------------------------------------- */
static double num(const mb_jv_t *o, const char *key)
{
    const mb_jv_t *v = mb_jv_get(o, key);
    return v && v->kind == MB_JV_NUM ? v->num : NAN;
}
static double idx(const mb_jv_t *a, size_t i)
{
    return a && a->kind == MB_JV_ARR && i < a->n && a->items[i]->kind == MB_JV_NUM ? a->items[i]->num : NAN;
}
static void str(const mb_jv_t *o, const char *key, char *dst, size_t len)
{
    const mb_jv_t *v = mb_jv_get(o, key);
    snprintf(dst, len, "%s", v && v->kind == MB_JV_STR ? v->str : "");
}
static int64_t i64(const mb_jv_t *o, const char *key, int64_t dflt)
{
    double d = num(o, key);
    return isfinite(d) ? (int64_t)d : dflt;
}
static void r_window(const mb_jv_t *o, bench_sensor_window_t *s)
{
    const mb_jv_t *t = mb_jv_get(o, "temp"), *f = mb_jv_get(o, "freq"), *tr = mb_jv_get(o, "trip");
    s->n_samples = (int)i64(o, "n_samples", 0);
    s->temp_min = idx(t, 0); s->temp_mean = idx(t, 1); s->temp_max = idx(t, 2);
    s->freq_min = idx(f, 0); s->freq_mean = idx(f, 1); s->freq_max = idx(f, 2);
    s->energy_j = num(o, "energy_j");
    s->trip = tr && tr->kind == MB_JV_BOOL && tr->b;
}

static bench_status_t status_of(const char *s)
{
    for (int i = BENCH_CELL_OK; i <= BENCH_CELL_INTERRUPTED; i++)
        if (!strcmp(s, bench_status_name((bench_status_t)i)))
            return (bench_status_t)i;
    return BENCH_CELL_FAILED;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int bench_result_read_json(const char *text, size_t len, bench_result_t *r)
{
    mb_jv_t *doc = NULL;
    int rc = mb_jv_parse(text, len, &doc);
    if (rc)
        return mb_err_set(MB_EFORMAT, "the cell's child sent a malformed result: %s", mb_err_msg());
    if (doc->kind != MB_JV_OBJ) {
        mb_jv_free(doc);
        return mb_err_set(MB_EFORMAT, "the cell's child sent a result that is not an object");
    }
    bench_model_info_t *in = &r->info;
    str(doc, "model_type", in->model_type, sizeof in->model_type);
    in->model_size = (uint64_t)i64(doc, "model_size", 0);
    in->n_params = (uint64_t)i64(doc, "n_params", 0);
    str(doc, "weights", in->weights, sizeof in->weights);
    str(doc, "weights_sha256", in->weights_sha256, sizeof in->weights_sha256);
    str(doc, "kernel", in->kernel, sizeof in->kernel);
    in->kv_bytes = (uint64_t)i64(doc, "kv_bytes", 0);
    in->scratch_bytes = (uint64_t)i64(doc, "scratch_bytes", 0);
    in->n_ctx_max = (int)i64(doc, "n_ctx_max", 0);
    char st[32];
    str(doc, "status", st, sizeof st);
    r->status = status_of(st);
    str(doc, "reason", r->reason, sizeof r->reason);
    r->stop = (bench_stop_t)i64(doc, "stop", 0);
    r->peak_rss = i64(doc, "peak_rss", -1);
    r->roofline_pct = num(doc, "roofline_pct");
    r->started = num(doc, "started");
    r->ended = num(doc, "ended");
    str(doc, "cpus_ran", r->cpus_ran, sizeof r->cpus_ran);

    const mb_jv_t *reps = mb_jv_get(doc, "reps");
    size_t n = reps && reps->kind == MB_JV_ARR ? reps->n : 0;
    if (n && !(r->reps = calloc(n, sizeof *r->reps))) {
        rc = mb_err_set(MB_ENOMEM, "out of memory reading %zu reps", n);
        goto out;
    }
    double *v = n ? malloc(n * sizeof *v) : NULL;
    if (n && !v) {
        rc = mb_err_set(MB_ENOMEM, "out of memory reading %zu reps", n);
        goto out;
    }
    r->throttled_reps = 0;
    for (size_t i = 0; i < n; i++) {
        const mb_jv_t *o = reps->items[i];
        bench_rep_t *p = &r->reps[i];
        p->wall_ns = i64(o, "wall_ns", 0);
        p->ts = num(o, "ts");
        p->ttft_ms = num(o, "ttft_ms");
        p->prefill_ts = num(o, "prefill_ts");
        p->decode_ts = num(o, "decode_ts");
        p->read_gbs = num(o, "read_gbs");
        const mb_jv_t *lat = mb_jv_get(o, "lat");
        p->lat_p50_ms = idx(lat, 0); p->lat_p90_ms = idx(lat, 1); p->lat_p99_ms = idx(lat, 2);
        r_window(o, &p->sensors);
        const mb_jv_t *th = mb_jv_get(o, "throttled");
        p->throttled = th && th->kind == MB_JV_BOOL && th->b;
        r->throttled_reps += p->throttled;
        v[i] = p->ts;
    }
    r->n_reps = n;
    /* Statistics are recomputed from the reps, never trusted from the wire. */
    if (n && r->status == BENCH_CELL_OK && (rc = bench_stats_compute(v, n, &r->ts))) {
        free(v);
        goto out;
    }
    for (int pass = 0; pass < 2 && n; pass++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            double x = pass ? r->reps[i].decode_ts : r->reps[i].ttft_ms;
            if (isfinite(x))
                v[k++] = x;
        }
        qsort(v, k, sizeof *v, cmp_d);
        double med = k ? bench_percentile(v, k, 0.5) : NAN;
        *(pass ? &r->decode_ts : &r->ttft_ms) = med;
    }
    free(v);

    const mb_jv_t *sm = mb_jv_get(doc, "samples");
    for (size_t i = 0; sm && sm->kind == MB_JV_ARR && i < sm->n; i++) {
        const mb_jv_t *a = sm->items[i];
        if (a->kind != MB_JV_ARR || a->n != 4 || a->items[1]->kind != MB_JV_STR ||
            a->items[2]->kind != MB_JV_STR)
            continue;
        if ((rc = bench_result_add_sample(r, idx(a, 0), a->items[1]->str, a->items[2]->str, idx(a, 3))))
            goto out;
    }
    const mb_jv_t *ws = mb_jv_get(doc, "windows");
    size_t nw = ws && ws->kind == MB_JV_ARR ? ws->n : 0;
    if (nw) {
        bench_sustained_t *s = &r->sustained;
        if (!(s->windows = calloc(nw, sizeof *s->windows))) {
            rc = mb_err_set(MB_ENOMEM, "out of memory reading %zu windows", nw);
            goto out;
        }
        for (size_t i = 0; i < nw; i++) {
            const mb_jv_t *o = ws->items[i];
            bench_window_t *w = &s->windows[i];
            w->t0_s = num(o, "t0");
            w->dur_s = num(o, "dur");
            w->tokens = i64(o, "tokens", 0);
            w->ts = w->dur_s > 0 ? (double)w->tokens / w->dur_s : NAN;
            r_window(o, &w->sensors);
        }
        s->n_windows = nw;
        bench_sustained_summarize(s);
        r->decode_ts = bench_sustained_decode_ts(s);
    }
out:
    mb_jv_free(doc);
    return rc;
}
