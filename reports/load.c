/* load.c: the one adapter between the store (db/db.h) and the plain
 * records every report works on. Read-only: a report never writes. */
#include "reports.h"
#include "db.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

/* Largest number under any member named `key`, anywhere in v. */
static double max_under(const mb_jv_t *v, const char *key, bool inside)
{
    double best = NAN;
    if (!v)
        return best;
    if (v->kind == MB_JV_NUM && inside)
        return v->num;
    if (v->kind == MB_JV_ARR || v->kind == MB_JV_OBJ)
        for (size_t i = 0; i < v->n; i++) {
            bool in = inside || (v->kind == MB_JV_OBJ && !strcmp(v->keys[i], key));
            double x = max_under(v->items[i], key, in);
            if (isfinite(x) && !(x <= best))
                best = x;
        }
    return best;
}

/* Peak of the compute kernels of one kind ("f32" or "i8"): objects with
 * that "kind" member, largest number under their "gops". */
static double max_peak(const mb_jv_t *v, const char *kind)
{
    double best = NAN;
    if (!v || (v->kind != MB_JV_ARR && v->kind != MB_JV_OBJ))
        return best;
    const mb_jv_t *k = mb_jv_get(v, "kind");
    if (k && k->kind == MB_JV_STR && !strcmp(k->str, kind))
        return max_under(v, "gops", false);
    for (size_t i = 0; i < v->n; i++) {
        double x = max_peak(v->items[i], kind);
        if (isfinite(x) && !(x <= best))
            best = x;
    }
    return best;
}

static const char *jstr(const mb_jv_t *root, const char *path)
{
    const mb_jv_t *v = mb_jv_path(root, path);
    return v && v->kind == MB_JV_STR ? v->str : NULL;
}

static bool jarr_nonempty(const mb_jv_t *root, const char *path)
{
    const mb_jv_t *v = mb_jv_path(root, path);
    return v && v->kind == MB_JV_ARR && v->n > 0;
}

static int on_device(void *ctx, const db_device_t *dd)
{
    reports_data_t *d = ctx;
    reports_device_t dev;
    reports_device_init(&dev);
    copy(dev.id, sizeof dev.id, dd->uuid);
    copy(dev.fingerprint, sizeof dev.fingerprint, dd->fingerprint);
    copy(dev.name, sizeof dev.name, dd->label);
    mb_jv_t *p = NULL;
    if (dd->probe_json && !mb_jv_parse(dd->probe_json, strlen(dd->probe_json), &p)) {
        const mb_jv_t *v = mb_jv_path(p, "memory.total_bytes");
        if (v && v->kind == MB_JV_NUM && v->num > 0)
            dev.ram_bytes = (uint64_t)v->num;
        v = mb_jv_path(p, "cpu.cores");
        if (v && v->kind == MB_JV_NUM)
            dev.n_cores = (int)v->num;
        /* the probe reads /proc and /sys: a probed device runs Linux, and
         * Android when it has a build.prop */
        const mb_jv_t *andr = mb_jv_path(p, "system.android");
        if (andr && andr->kind == MB_JV_OBJ)
            copy(dev.platform, sizeof dev.platform, "android");
        else if (mb_jv_get(p, "system"))
            copy(dev.platform, sizeof dev.platform, "linux");
        copy(dev.arch, sizeof dev.arch, jstr(p, "system.arch"));
        if (!dev.name[0])
            copy(dev.name, sizeof dev.name, jstr(p, "cpu.brand"));
        dev.has_temp = jarr_nonempty(p, "thermal.zones") || jarr_nonempty(p, "thermal.hwmon");
        dev.has_freq = jstr(p, "cpu.freq_source") != NULL;
        dev.has_energy = jarr_nonempty(p, "power.rapl");
        const mb_jv_t *feats = mb_jv_path(p, "cpu.features");
        /* best ISA level, from the flags that matter to the kernels */
        static const char *const isas[] = {"avx512_vnni", "avx512f", "avx_vnni", "avx2", "i8mm",
                                           "dotprod", "neon", "asimd", "sse4_2"};
        for (size_t i = 0; feats && i < MB_ARRAY_LEN(isas) && !dev.isa[0]; i++) {
            const mb_jv_t *f = mb_jv_get(feats, isas[i]);
            bool on = f && ((f->kind == MB_JV_BOOL && f->b) || (f->kind == MB_JV_NUM && f->num));
            if (!on && feats->kind == MB_JV_ARR)
                for (size_t k = 0; k < feats->n && !on; k++)
                    on = feats->items[k]->kind == MB_JV_STR && !strcmp(feats->items[k]->str, isas[i]);
            if (on)
                copy(dev.isa, sizeof dev.isa, isas[i]);
        }
    }
    mb_jv_free(p);
    mb_jv_t *c = NULL;
    if (dd->ceilings_json && !mb_jv_parse(dd->ceilings_json, strlen(dd->ceilings_json), &c)) {
        dev.bw_gbs = max_under(c, "read_gbs", false);
        dev.peak_f32_gflops = max_peak(c, "f32");
        dev.peak_int8_gops = max_peak(c, "i8");
    }
    mb_jv_free(c);
    return reports_data_add_device(d, &dev);
}

/* Quality results sorted by run, model, recipe: one binary search per cell
 * instead of a scan (10,000 cells x 5,000 results otherwise). */
static int cmp_quality(const void *a, const void *b)
{
    const db_quality_t *x = a, *y = b;
    int r = strcmp(x->run_uuid, y->run_uuid);
    if (!r)
        r = strcmp(x->model ? x->model : "", y->model ? y->model : "");
    if (!r)
        r = strcmp(x->recipe ? x->recipe : "", y->recipe ? y->recipe : "");
    return r;
}

static int cmp_quality_time(const void *a, const void *b)
{
    int r = cmp_quality(a, b);
    const db_quality_t *x = a, *y = b;
    return r ? r : (x->created > y->created) - (x->created < y->created);
}

static reports_test_kind_t kind_of(db_test_t t)
{
    switch (t) {
    case DB_TEST_PP: return REPORTS_TEST_PP;
    case DB_TEST_TG: return REPORTS_TEST_TG;
    case DB_TEST_PG: return REPORTS_TEST_PG;
    default: return REPORTS_TEST_OTHER;
    }
}

static void test_name(const db_cell_t *c, char *buf, size_t len)
{
    switch (c->test) {
    case DB_TEST_PP: snprintf(buf, len, "pp%d", c->n_prompt); break;
    case DB_TEST_TG: snprintf(buf, len, "tg%d", c->n_gen); break;
    case DB_TEST_PG: snprintf(buf, len, "pg%d,%d", c->n_prompt, c->n_gen); break;
    default: snprintf(buf, len, "%s", db_test_name(c->test)); break;
    }
    if (c->n_depth > 0)
        snprintf(buf + strlen(buf), len - strlen(buf), "@d%d", c->n_depth);
}

int reports_data_load(const char *db_path, const reports_filter_t *rf, reports_data_t *d)
{
    memset(d, 0, sizeof *d);
    db_t *db = NULL;
    int rc = db_open(db_path, DB_OPEN_READONLY | DB_OPEN_NOCREATE, &db);
    if (rc)
        return rc;
    db_filter_t f = {0};
    if (rf) {
        f.run = rf->run;
        f.device = rf->device;
        f.since = rf->since;
    }
    db_run_t *runs = NULL;
    size_t n_runs = 0;
    db_cell_t *cells = NULL;
    size_t n_cells = 0;
    db_quality_t *q = NULL;
    size_t n_q = 0;
    if ((rc = db_devices_each(db, &f, on_device, d)))
        goto err;
    if ((rc = db_runs_get(db, &f, &runs, &n_runs)))
        goto err;
    for (size_t i = 0; i < n_runs; i++) {
        reports_run_t r = {0};
        copy(r.id, sizeof r.id, runs[i].uuid);
        copy(r.device_id, sizeof r.device_id, runs[i].device_uuid);
        r.t_start = runs[i].started;
        r.t_end = runs[i].ended;
        copy(r.version, sizeof r.version, runs[i].version);
        copy(r.commit, sizeof r.commit, runs[i].commit);
        copy(r.status, sizeof r.status, db_run_status_name(runs[i].status));
        copy(r.cmdline, sizeof r.cmdline, runs[i].cmdline);
        if ((rc = reports_data_add_run(d, &r)))
            goto err;
    }
    if ((rc = db_cells_get(db, &f, &cells, &n_cells)))
        goto err;
    if ((rc = db_quality_get(db, &f, &q, &n_q)))
        goto err;
    if (n_q > 1)
        qsort(q, n_q, sizeof *q, cmp_quality_time);
    for (size_t i = 0; i < n_cells; i++) {
        const db_cell_t *x = &cells[i];
        reports_cell_t c;
        reports_cell_init(&c);
        copy(c.id, sizeof c.id, x->uuid);
        copy(c.run_id, sizeof c.run_id, x->run_uuid);
        copy(c.device_id, sizeof c.device_id, x->device_uuid);
        copy(c.model, sizeof c.model, x->model);
        copy(c.recipe, sizeof c.recipe, x->recipe);
        test_name(x, c.test, sizeof c.test);
        c.kind = kind_of(x->test);
        c.n_prompt = x->n_prompt;
        c.n_gen = x->n_gen;
        c.n_depth = x->n_depth;
        c.n_threads = x->n_threads;
        copy(c.kernel, sizeof c.kernel, x->kernel);
        copy(c.weights, sizeof c.weights, db_weights_name(x->weights));
        copy(c.weights_sha, sizeof c.weights_sha, x->weights_sha256);
        copy(c.status, sizeof c.status, db_cell_status_name(x->status));
        copy(c.reason, sizeof c.reason, x->reason);
        c.t_start = x->started;
        c.median_ts = x->median_ts;
        if (isfinite(x->ci95_ts) && isfinite(x->mean_ts)) {
            /* t/s is positive: a normal-approximation interval of a very noisy
             * cell is cut at 0 rather than shown below it */
            c.ci_lo_ts = fmax(0.0, x->mean_ts - x->ci95_ts);
            c.ci_hi_ts = x->mean_ts + x->ci95_ts;
        }
        c.cv = x->cv;
        c.roofline_pct = x->roofline_pct;
        c.ttft_ms = x->ttft_ms;
        c.model_bytes = x->model_size > 0 ? (uint64_t)x->model_size : 0;
        c.n_params = x->model_params > 0 ? (uint64_t)x->model_params : 0;
        c.peak_rss = x->peak_rss > 0 ? (uint64_t)x->peak_rss : 0;
        c.throttled_reps = x->throttled_reps;
        db_quality_t key;
        memset(&key, 0, sizeof key);
        snprintf(key.run_uuid, sizeof key.run_uuid, "%s", x->run_uuid);
        key.model = x->model;
        key.recipe = x->recipe;
        const db_quality_t *hit = n_q ? bsearch(&key, q, n_q, sizeof *q, cmp_quality) : NULL;
        /* several results for one key: the newest (equal keys are adjacent,
         * oldest first) */
        while (hit && hit + 1 < q + n_q && !cmp_quality(hit + 1, &key))
            hit++;
        if (hit && !hit->corpus_sha256) {
            c.kld = hit->mean_kld;
            copy(c.kld_ref, sizeof c.kld_ref, hit->ref_recipe);
            c.ppl_delta = isfinite(hit->ppl_ratio) ? hit->ppl_ratio - 1.0 : NAN;
        }
        /* real-text quality of the same file, from any run: its KLD against
         * the base on real text replaces the sampled one (docs/RECOMMEND.md) */
        const db_quality_t *tq = NULL;
        for (size_t k = 0; x->weights_sha256 && k < n_q; k++)
            if (q[k].corpus_sha256 && q[k].model_sha256 &&
                !strcmp(q[k].model_sha256, x->weights_sha256) && (!tq || q[k].created >= tq->created))
                tq = &q[k];
        if (tq) {
            c.text_ppl = tq->ppl;
            c.text_ppl_err = tq->ppl_err;
            snprintf(c.text_corpus, sizeof c.text_corpus, "%.12s", tq->corpus_sha256);
            c.text_n_ctx = tq->n_ctx;
            if (isfinite(tq->mean_kld)) {
                c.kld = tq->mean_kld;
                copy(c.kld_ref, sizeof c.kld_ref, "text");
                c.ppl_delta = isfinite(tq->ppl_ratio) ? tq->ppl_ratio - 1.0 : NAN;
            }
        }
        db_rep_t *reps = NULL;
        size_t n_reps = 0;
        if ((rc = db_reps_get(db, x->uuid, &reps, &n_reps)))
            goto err;
        double stack[64];
        c.samples_ts = n_reps <= 64 ? stack : malloc(n_reps * sizeof *c.samples_ts);
        if (!c.samples_ts) {
            free(reps);
            rc = mb_err_set(MB_ENOMEM, "out of memory for %zu reps", n_reps);
            goto err;
        }
        for (size_t k = 0; k < n_reps; k++) {
            if (isfinite(reps[k].tokens_per_s))
                c.samples_ts[c.n_samples++] = reps[k].tokens_per_s;
            if (isfinite(reps[k].temp_max) && !(reps[k].temp_max <= c.temp_max_c))
                c.temp_max_c = reps[k].temp_max;
        }
        free(reps);
        rc = reports_data_add_cell(d, &c);
        if (c.samples_ts != stack)
            free(c.samples_ts);
        if (rc)
            goto err;
    }
    for (size_t i = 0; i < n_q; i++) {
        if (!q[i].corpus_sha256)
            continue;
        reports_textq_t t;
        memset(&t, 0, sizeof t);
        copy(t.run_id, sizeof t.run_id, q[i].run_uuid);
        copy(t.model, sizeof t.model, q[i].model);
        copy(t.model_sha, sizeof t.model_sha, q[i].model_sha256);
        copy(t.base_sha, sizeof t.base_sha, q[i].base_sha256);
        copy(t.corpus_sha, sizeof t.corpus_sha, q[i].corpus_sha256);
        copy(t.weights, sizeof t.weights, db_weights_name(q[i].weights));
        t.corpus_tokens = q[i].corpus_tokens;
        t.n_ctx = q[i].n_ctx;
        t.n_chunks = q[i].n_chunks;
        t.ppl = q[i].ppl;
        t.ppl_err = q[i].ppl_err;
        t.kld = q[i].mean_kld;
        t.kld_err = q[i].kld_err;
        t.kld_p99 = q[i].p99_kld;
        t.top1 = q[i].top1_agree;
        t.ppl_ratio = q[i].ppl_ratio;
        t.t = q[i].created;
        if ((rc = reports_data_add_textq(d, &t)))
            goto err;
    }
    for (size_t i = 0; i < d->n_runs; i++) {
        db_sample_t *s = NULL;
        size_t n = 0;
        if ((rc = db_samples_get(db, d->runs[i].id, &s, &n)))
            goto err;
        for (size_t k = 0; k < n && !rc; k++) {
            reports_sensor_t r;
            copy(r.run_id, sizeof r.run_id, d->runs[i].id);
            r.t = s[k].t;
            r.temp_c = !strcmp(s[k].kind, "temp") ? s[k].value : NAN;
            r.freq_mhz = !strcmp(s[k].kind, "freq") ? s[k].value : NAN;
            r.ts = !strcmp(s[k].kind, "tps") ? s[k].value : NAN;
            if (!isfinite(r.temp_c) && !isfinite(r.freq_mhz) && !isfinite(r.ts))
                continue;
            /* readings taken at the same instant form one row: the hottest
             * zone, the fastest core */
            reports_sensor_t *last = d->n_sensors ? &d->sensors[d->n_sensors - 1] : NULL;
            if (last && !strcmp(last->run_id, r.run_id) && fabs(last->t - r.t) < 1e-3) {
                if (isfinite(r.temp_c) && !(r.temp_c <= last->temp_c))
                    last->temp_c = r.temp_c;
                if (isfinite(r.freq_mhz) && !(r.freq_mhz <= last->freq_mhz))
                    last->freq_mhz = r.freq_mhz;
                if (isfinite(r.ts))
                    last->ts = r.ts;
            } else {
                rc = reports_data_add_sensor(d, &r);
            }
        }
        free(s);
        if (rc)
            goto err;
    }
    db_runs_free(runs, n_runs);
    db_cells_free(cells, n_cells);
    db_quality_free(q, n_q);
    db_close(db);
    return 0;
err:
    db_runs_free(runs, n_runs);
    db_cells_free(cells, n_cells);
    db_quality_free(q, n_q);
    db_close(db);
    reports_data_free(d);
    return rc;
}
