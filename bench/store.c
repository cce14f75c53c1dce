/* store.c: the runner's sink over the SQLite store (db/db.h): a run per
 * invocation, each cell with its reps and samples committed in one
 * transaction, finished cells looked up for --resume. */
#include "bench.h"
#include "db.h"
#include "probes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One earlier cell's duration; sorted by key so that a look-up is a
 * binary search (a linear scan per cell made --dry-run quadratic). */
typedef struct {
    char *key;
    double seconds;
    size_t order; /* position in the store's order (by run start): the latest wins */
} bench_eta_t;

static int cmp_key_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_eta(const void *a, const void *b)
{
    const bench_eta_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

struct bench_store {
    db_t *db;
    bench_store_opts_t o;
    char device_uuid[DB_UUID_LEN];
    char fingerprint[64];
    char run_uuid[DB_UUID_LEN];
    char **done_keys; /* finished cells of the resumed run */
    size_t n_done;
    bench_eta_t *eta; /* earlier ok cells' durations by key, sorted, for ETAs (loaded on first use) */
    size_t n_eta;
    bool hist_loaded;
};

static char *probe_json(probes_device_t *dev)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    mb_json_t j;
    mb_json_init(&j, f, false);
    int rc = probes_device_json(dev, &j);
    fclose(f);
    if (rc) {
        free(buf);
        return NULL;
    }
    return buf;
}

int bench_store_open(const char *path, const bench_store_opts_t *o, bench_store_t **out)
{
    *out = NULL;
    bench_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return mb_err_set(MB_ENOMEM, "out of memory opening %s", path);
    s->o = *o;
    int rc = db_open(path, 0, &s->db);
    if (rc) {
        free(s);
        return rc;
    }
    if (o->busy_timeout_ms > 0 && (rc = db_busy_timeout_set(s->db, o->busy_timeout_ms))) {
        bench_store_close(s);
        return rc;
    }
    probes_device_t dev;
    probes_opts_t po = {.quiet = true};
    rc = probes_device_probe(&po, &dev);
    if (rc) {
        probes_device_free(&dev);
        bench_store_close(s);
        return rc;
    }
    char label[300];
    snprintf(label, sizeof label, "%s%s%s", dev.cpu.brand.ok ? dev.cpu.brand.v : "unknown CPU",
             dev.system.hostname.ok ? " / " : "", dev.system.hostname.ok ? dev.system.hostname.v : "");
    char *json = probe_json(&dev);
    db_device_t d = {.fingerprint = dev.fingerprint, .label = label, .probe_json = json};
    rc = db_device_upsert(s->db, &d);
    snprintf(s->fingerprint, sizeof s->fingerprint, "%s", dev.fingerprint);
    free(json);
    probes_device_free(&dev);
    if (rc) {
        if (rc == MB_EBUSY) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", mb_err_msg());
            mb_err_set(rc, "%s (waited %d ms; --busy-timeout MS, or busy_timeout in a sweep file, "
                       "waits longer)", msg, o->busy_timeout_ms > 0 ? o->busy_timeout_ms : DB_BUSY_TIMEOUT_MS);
        }
        bench_store_close(s);
        return rc;
    }
    memcpy(s->device_uuid, d.uuid, sizeof s->device_uuid);
    *out = s;
    return MB_OK;
}

void bench_store_close(bench_store_t *s)
{
    if (!s)
        return;
    mb_strv_free(s->done_keys, s->n_done);
    for (size_t i = 0; i < s->n_eta; i++)
        free(s->eta[i].key);
    free(s->eta);
    db_close(s->db);
    free(s);
}

const char *bench_store_run(const bench_store_t *s)
{
    return s->run_uuid;
}

/* The key of a stored cell, the same as bench_cell_key of the cell that made it. */
static void db_cell_key(const db_cell_t *c, char *buf, size_t len)
{
    bench_cell_t bc;
    memset(&bc, 0, sizeof bc);
    snprintf(bc.model, sizeof bc.model, "%s", c->model ? c->model : "");
    snprintf(bc.recipe, sizeof bc.recipe, "%s", c->recipe ? c->recipe : "");
    bc.test.kind = c->test == DB_TEST_PP ? BENCH_TEST_PP : c->test == DB_TEST_TG ? BENCH_TEST_TG : BENCH_TEST_PG;
    bc.test.n_prompt = c->n_prompt;
    bc.test.n_gen = c->n_gen;
    bc.test.n_depth = c->n_depth;
    bc.n_threads = c->n_threads;
    if (c->cpu_mask && bench_cpuset_parse_hex(c->cpu_mask, &bc.cpus) != MB_OK)
        memset(&bc.cpus, 0, sizeof bc.cpus); /* not a mask we wrote: taken as not pinned */
    bc.cpu_strict = c->cpu_strict;
    snprintf(bc.cluster, sizeof bc.cluster, "%s", c->cluster ? c->cluster : "");
    bench_cell_key(&bc, buf, len);
}

static int st_run_begin(void *ctx, const char *resume)
{
    bench_store_t *s = ctx;
    int rc;
    if (resume) {
        if ((rc = db_run_resolve(s->db, resume, s->run_uuid)))
            return rc;
        db_filter_t f = {.run = s->run_uuid, .status_mask = DB_CELL_FINISHED};
        db_cell_t *cells = NULL;
        size_t n = 0;
        if ((rc = db_cells_get(s->db, &f, &cells, &n)))
            return rc;
        s->done_keys = calloc(n ? n : 1, sizeof *s->done_keys);
        for (size_t i = 0; s->done_keys && i < n; i++) {
            char key[400];
            db_cell_key(&cells[i], key, sizeof key);
            s->done_keys[s->n_done++] = mb_strdup(key);
        }
        db_cells_free(cells, n);
        if (!s->done_keys)
            return mb_err_set(MB_ENOMEM, "out of memory reading the finished cells");
        for (size_t i = 0; i < s->n_done; i++)
            if (!s->done_keys[i])
                return mb_err_set(MB_ENOMEM, "out of memory reading the finished cells");
        qsort(s->done_keys, s->n_done, sizeof *s->done_keys, cmp_key_ptr);
        MB_INFO("resuming run %s: %zu cells finished earlier", s->run_uuid, s->n_done);
        return db_run_status_set(s->db, s->run_uuid, DB_RUN_RUNNING);
    }
    db_run_t run;
    memset(&run, 0, sizeof run);
    memcpy(run.device_uuid, s->device_uuid, sizeof run.device_uuid);
    run.ended = NAN;
    run.cmdline = s->o.cmdline;
    run.kind = s->o.sweep ? DB_KIND_SWEEP : DB_KIND_BENCH;
    run.sweep_file = s->o.sweep_file;
    if ((rc = db_run_begin(s->db, &run)))
        return rc;
    memcpy(s->run_uuid, run.uuid, sizeof s->run_uuid);
    return MB_OK;
}

static int st_cell_done(void *ctx, const bench_cell_t *cell, bool *done)
{
    bench_store_t *s = ctx;
    char key[400];
    bench_cell_key(cell, key, sizeof key);
    const char *k = key;
    *done = s->n_done && bsearch(&k, s->done_keys, s->n_done, sizeof *s->done_keys, cmp_key_ptr);
    return MB_OK;
}

static db_cell_status_t to_db_status(bench_status_t st)
{
    switch (st) {
    case BENCH_CELL_OK: return DB_CELL_OK;
    case BENCH_CELL_SKIPPED: return DB_CELL_SKIPPED;
    case BENCH_CELL_FAILED: return DB_CELL_FAILED;
    case BENCH_CELL_OOM: return DB_CELL_OOM;
    case BENCH_CELL_TIMEOUT: return DB_CELL_TIMEOUT;
    case BENCH_CELL_INTERRUPTED: return DB_CELL_INTERRUPTED;
    }
    return DB_CELL_FAILED;
}

static int st_cell_commit(void *ctx, const bench_result_t *r)
{
    bench_store_t *s = ctx;
    const bench_cell_t *c = &r->cell;
    const bench_model_info_t *in = &r->info;
    db_cell_t dc;
    memset(&dc, 0, sizeof dc);
    memcpy(dc.run_uuid, s->run_uuid, sizeof dc.run_uuid);
    dc.model = c->model;
    dc.model_params = in->n_params ? (int64_t)in->n_params : -1;
    dc.weights = !strcmp(in->weights, "file") ? DB_WEIGHTS_FILE : DB_WEIGHTS_SYNTHETIC;
    dc.weights_sha256 = in->weights_sha256[0] ? in->weights_sha256 : NULL;
    dc.recipe = c->recipe;
    dc.model_size = in->model_size ? (int64_t)in->model_size : -1;
    dc.test = c->test.kind == BENCH_TEST_PP ? DB_TEST_PP : c->test.kind == BENCH_TEST_TG ? DB_TEST_TG : DB_TEST_PG;
    dc.n_prompt = c->test.n_prompt;
    dc.n_gen = c->test.n_gen;
    dc.n_depth = c->test.n_depth;
    dc.n_threads = c->n_threads;
    dc.kernel = in->kernel[0] ? in->kernel : NULL;
    dc.status = to_db_status(r->status);
    dc.reason = r->reason[0] ? r->reason : NULL;
    bool ok = r->status == BENCH_CELL_OK && r->n_reps > 0;
    dc.n = ok ? (int)r->ts.n : 0;
    dc.mean_ts = ok ? r->ts.mean : NAN;
    dc.median_ts = ok ? r->ts.median : NAN;
    dc.stddev_ts = ok ? r->ts.stddev : NAN;
    dc.min_ts = ok ? r->ts.min : NAN;
    dc.max_ts = ok ? r->ts.max : NAN;
    dc.cv = ok ? r->ts.cv : NAN;
    dc.ci95_ts = ok ? r->ts.ci95 : NAN;
    dc.ttft_ms = r->ttft_ms;
    dc.peak_rss = r->peak_rss;
    dc.roofline_pct = r->roofline_pct;
    dc.throttled_reps = r->throttled_reps;
    dc.stop_reason = ok ? (r->sustained.n_windows ? "sustained" : bench_stop_name(r->stop)) : NULL;
    char mask[300];
    bench_cpuset_hex(&c->cpus, mask, sizeof mask);
    dc.cpu_mask = mask;
    dc.cpu_strict = c->cpu_strict;
    dc.cluster = c->cluster[0] ? c->cluster : NULL;
    dc.cpus_ran = r->cpus_ran[0] ? r->cpus_ran : NULL;
    dc.started = r->started;
    dc.ended = r->ended;
    db_rep_t *reps = r->n_reps ? calloc(r->n_reps, sizeof *reps) : NULL;
    db_sample_t *smp = r->n_samples ? calloc(r->n_samples, sizeof *smp) : NULL;
    if ((r->n_reps && !reps) || (r->n_samples && !smp)) {
        free(reps);
        free(smp);
        return mb_err_set(MB_ENOMEM, "out of memory storing cell %s", c->model);
    }
    for (size_t i = 0; i < r->n_reps; i++) {
        const bench_rep_t *p = &r->reps[i];
        db_rep_t *d = &reps[i];
        d->index = (int)i;
        d->wall_ns = p->wall_ns;
        d->tokens_per_s = p->ts;
        d->ttft_ms = p->ttft_ms;
        d->lat_p50_ms = p->lat_p50_ms;
        d->lat_p90_ms = p->lat_p90_ms;
        d->lat_p99_ms = p->lat_p99_ms;
        d->temp_min = p->sensors.temp_min;
        d->temp_mean = p->sensors.temp_mean;
        d->temp_max = p->sensors.temp_max;
        d->freq_min = p->sensors.freq_min;
        d->freq_mean = p->sensors.freq_mean;
        d->freq_max = p->sensors.freq_max;
        d->energy_j = p->sensors.energy_j;
        d->throttled = p->throttled;
        d->read_gbs = p->read_gbs > 0 ? p->read_gbs : NAN;
    }
    for (size_t i = 0; i < r->n_samples; i++) {
        smp[i].t = r->samples[i].t;
        snprintf(smp[i].kind, sizeof smp[i].kind, "%s", r->samples[i].kind);
        snprintf(smp[i].sensor, sizeof smp[i].sensor, "%s", r->samples[i].sensor);
        smp[i].value = r->samples[i].value;
    }
    int rc = db_cell_commit(s->db, &dc, reps, r->n_reps, smp, r->n_samples);
    free(reps);
    free(smp);
    return rc;
}

static int st_run_samples(void *ctx, const bench_sample_t *in, size_t n)
{
    bench_store_t *s = ctx;
    db_sample_t *d = calloc(n ? n : 1, sizeof *d);
    if (!d)
        return mb_err_set(MB_ENOMEM, "out of memory storing samples");
    for (size_t i = 0; i < n; i++) {
        d[i].t = in[i].t;
        snprintf(d[i].kind, sizeof d[i].kind, "%s", in[i].kind);
        snprintf(d[i].sensor, sizeof d[i].sensor, "%s", in[i].sensor);
        d[i].value = in[i].value;
    }
    int rc = db_run_samples_add(s->db, s->run_uuid, d, n);
    free(d);
    return rc;
}

static int st_run_end(void *ctx, bench_status_t final)
{
    bench_store_t *s = ctx;
    db_run_status_t st = final == BENCH_CELL_OK ? DB_RUN_DONE
                         : final == BENCH_CELL_INTERRUPTED ? DB_RUN_INTERRUPTED : DB_RUN_FAILED;
    return db_run_status_set(s->db, s->run_uuid, st);
}

static int st_eta_hint(void *ctx, const bench_cell_t *cell, double *seconds)
{
    bench_store_t *s = ctx;
    if (!s->hist_loaded) {
        s->hist_loaded = true;
        db_filter_t f = {.status_mask = DB_CELL_MASK(DB_CELL_OK)};
        db_cell_t *hist = NULL;
        size_t n = 0;
        if (db_cells_get(s->db, &f, &hist, &n) == MB_OK && n &&
            (s->eta = calloc(n, sizeof *s->eta))) {
            for (size_t i = 0; i < n; i++) {
                double d = hist[i].ended - hist[i].started;
                char k2[400];
                if (!isfinite(d))
                    continue;
                db_cell_key(&hist[i], k2, sizeof k2);
                if (!(s->eta[s->n_eta].key = mb_strdup(k2)))
                    break; /* fewer hints, never a wrong one */
                s->eta[s->n_eta].seconds = d;
                s->eta[s->n_eta].order = i;
                s->n_eta++;
            }
            qsort(s->eta, s->n_eta, sizeof *s->eta, cmp_eta);
        }
        db_cells_free(hist, n);
    }
    char key[400];
    bench_cell_key(cell, key, sizeof key);
    /* The latest earlier run of the same cell: the last of its equal keys. */
    size_t lo = 0, hi = s->n_eta;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->eta[mid].key, key) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo && !strcmp(s->eta[lo - 1].key, key)) {
        *seconds = s->eta[lo - 1].seconds;
        return MB_OK;
    }
    return MB_ENOENT;
}

bench_sink_t bench_store_sink(bench_store_t *s)
{
    return (bench_sink_t){s, st_run_begin, st_cell_done, st_cell_commit, st_run_samples, st_run_end,
                          st_eta_hint};
}

int bench_store_quality(bench_store_t *s, const bench_quality_t *q)
{
    db_quality_t d;
    memset(&d, 0, sizeof d);
    memcpy(d.run_uuid, s->run_uuid, sizeof d.run_uuid);
    d.model = q->model;
    d.recipe = q->recipe;
    d.ref_recipe = q->ref_recipe;
    d.weights = DB_WEIGHTS_SYNTHETIC;
    d.mean_kld = q->mean_kld;
    d.p99_kld = q->p99_kld;
    d.top1_agree = q->top1_agree;
    d.ppl_ratio = q->ppl_ratio;
    d.n_tokens = q->n_tokens;
    return db_quality_commit(s->db, &d);
}

int bench_store_quality_text(bench_store_t *s, const char *model, const bench_ppl_text_t *t)
{
    const bench_ppl_result_t *r = &t->r;
    db_quality_t d;
    memset(&d, 0, sizeof d);
    memcpy(d.run_uuid, s->run_uuid, sizeof d.run_uuid);
    d.model = model;
    d.recipe = "file"; /* the file's own types, as bench names GGUF cells */
    d.ref_recipe = r->kl ? "file" : "";
    d.weights = t->synthetic ? DB_WEIGHTS_SYNTHETIC : DB_WEIGHTS_FILE;
    d.mean_kld = r->kl ? r->kld_mean : NAN;
    d.p99_kld = r->kl ? r->kld_p99 : NAN;
    d.top1_agree = r->kl ? r->top1_agree : NAN;
    d.ppl_ratio = r->kl ? r->ppl_ratio : NAN;
    d.n_tokens = r->n_scored;
    d.corpus_sha256 = t->corpus_sha256;
    d.corpus_bytes = t->corpus_bytes;
    d.corpus_tokens = t->corpus_tokens;
    d.n_ctx = r->n_ctx;
    d.n_chunks = r->n_chunks;
    d.model_sha256 = t->model_sha256;
    d.base_sha256 = r->kl && t->base_sha256[0] ? t->base_sha256 : NULL;
    d.ppl = r->ppl;
    d.ppl_err = r->ppl_err;
    d.ppl_base = r->kl ? r->ppl_base : NAN;
    d.kld_err = r->kl ? r->kld_err : NAN;
    d.kld_median = r->kl ? r->kld_median : NAN;
    d.kld_p95 = r->kl ? r->kld_p95 : NAN;
    d.kld_max = r->kl ? r->kld_max : NAN;
    return db_quality_commit(s->db, &d);
}

typedef struct {
    const char *model, *recipe;
    bool found;
} qfind_t;

static int qfind_cb(void *ctx, const db_quality_t *q)
{
    qfind_t *f = ctx;
    if (q->model && q->recipe && !strcmp(q->model, f->model) && !strcmp(q->recipe, f->recipe))
        f->found = true;
    return 0;
}

bool bench_store_quality_done(bench_store_t *s, const char *model, const char *recipe)
{
    if (!s->run_uuid[0])
        return false;
    qfind_t f = {model, recipe, false};
    db_filter_t flt = {.run = s->run_uuid};
    db_quality_each(s->db, &flt, qfind_cb, &f);
    return f.found;
}

/* ---- the device's ceilings (section 10) ------------------------------------------ */
static int ceil_cb(void *ctx, const db_device_t *d)
{
    char **out = ctx;
    if (d->ceilings_json && !*out && !(*out = mb_strdup(d->ceilings_json)))
        return MB_ENOMEM;
    return 0;
}

int bench_store_ceilings_get(bench_store_t *s, char **json)
{
    *json = NULL;
    db_filter_t f = {.device = s->device_uuid};
    int rc = db_devices_each(s->db, &f, ceil_cb, json);
    if (rc == MB_ENOMEM)
        return mb_err_set(MB_ENOMEM, "out of memory reading the device's ceilings");
    return rc;
}

int bench_store_ceilings_set(bench_store_t *s, const char *json)
{
    db_device_t d = {.fingerprint = s->fingerprint, .ceilings_json = json};
    return db_device_upsert(s->db, &d);
}
