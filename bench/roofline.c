/* roofline.c: roofline_pct, a cell's speed as a share of the device's
 * measured ceilings (docs/OUTPUT.md). Decode is memory-bound: every weight
 * matrix and the KV cache up to the position are read once per token, so
 * bytes/token x tokens/s is set against the measured read bandwidth. Prefill
 * is compute-bound: 2 operations per multiplied weight per prompt token,
 * against the int8 dot peak (the quantized kernels multiply int8) or the f32
 * FMA peak (float recipes). Ceilings come from the device row of the store
 * (`mobench probe --roofline --db`) or a short measurement once per run. */
#include "bench_int.h"
#include "probes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the model's roofline inputs --------------------------------------------- */
static bool present(const engine_tensor_t *t)
{
    return t->data || t->packed;
}

static uint64_t t_elems(const engine_tensor_t *t)
{
    uint64_t n = 1;
    for (int i = 0; i < 4; i++)
        n *= (uint64_t)(t->ne[i] > 0 ? t->ne[i] : 1);
    return n;
}

/* Bytes as stored (a repacked copy holds the same rows in the same format). */
static uint64_t t_bytes(const engine_tensor_t *t)
{
    size_t row = engine_row_size(t->type, t->ne[0]);
    if (!row)
        return t->nbytes;
    return (uint64_t)row * (t_elems(t) / (uint64_t)(t->ne[0] > 0 ? t->ne[0] : 1));
}

typedef struct {
    uint64_t bytes, params, quant_params, float_params;
} acc_t;

static void add_vec(acc_t *a, const engine_tensor_t *t)
{
    if (present(t))
        a->bytes += t_bytes(t);
}

static void add_mat(acc_t *a, const engine_tensor_t *t)
{
    if (!present(t))
        return;
    const engine_type_traits_t *tr = engine_type_traits(t->type);
    a->bytes += t_bytes(t);
    a->params += t_elems(t);
    if (tr && tr->quantized)
        a->quant_params += t_elems(t);
    else
        a->float_params += t_elems(t);
}

void bench_roofline_info(const engine_model_t *m, bench_model_info_t *info)
{
    const engine_hparams_t *hp = &m->hp;
    acc_t a = {0};
    for (int il = 0; il < hp->n_layer; il++) {
        const engine_layer_t *l = &m->layers[il];
        const engine_tensor_t *mats[] = {&l->wq,     &l->wk,       &l->wv,       &l->wqkv,
                                         &l->wo,     &l->w_gate,   &l->w_up,     &l->w_gate_up,
                                         &l->w_down, &l->laurel_l, &l->laurel_r, &l->ple_gate,
                                         &l->ple_proj};
        const engine_tensor_t *vecs[] = {&l->attn_norm,     &l->q_norm,   &l->k_norm,
                                         &l->post_attn_norm, &l->ffn_norm, &l->post_ffn_norm,
                                         &l->laurel_norm,    &l->ple_norm};
        for (size_t i = 0; i < MB_ARRAY_LEN(mats); i++)
            add_mat(&a, mats[i]);
        for (size_t i = 0; i < MB_ARRAY_LEN(vecs); i++)
            add_vec(&a, vecs[i]);
    }
    add_mat(&a, &m->ple_model_proj); /* per-layer embeddings' projection: every token */
    add_vec(&a, &m->output_norm);
    add_vec(&a, &m->ple_proj_norm);
    /* The output head: the token embedding itself when tied. An untied token
     * embedding and the per-layer embedding table are only looked up (a row
     * per token), so they are not counted. */
    const engine_tensor_t *head = hp->tied || !present(&m->output) ? &m->tok_embd : &m->output;
    info->rf_matmul_params = a.params;
    info->rf_head_params = present(head) ? t_elems(head) : 0;
    info->rf_decode_bytes = a.bytes + (present(head) ? t_bytes(head) : 0);
    info->rf_float = a.float_params > a.quant_params;
    /* KV read per attended position: K and V rows (F16) of every layer,
     * KV-shared layers reading their source's cache as well. */
    uint64_t row = 2ull * 2ull * (uint64_t)hp->n_head_kv * (uint64_t)hp->head_dim;
    info->rf_kv_pos = info->rf_kv_pos_swa = 0;
    for (int il = 0; il < hp->n_layer; il++) {
        if (engine_layer_is_swa(hp, il))
            info->rf_kv_pos_swa += row;
        else
            info->rf_kv_pos += row;
    }
    info->rf_swa_window = hp->swa_window;
}

/* ---- ceilings ------------------------------------------------------------------ */
static bench_ceiling_t *point(bench_ceilings_t *c, int threads)
{
    for (int i = 0; i < c->n; i++)
        if (c->pt[i].threads == threads)
            return &c->pt[i];
    if (c->n >= BENCH_MAX_CEILINGS || threads < 1)
        return NULL;
    bench_ceiling_t *p = &c->pt[c->n++];
    *p = (bench_ceiling_t){threads, NAN, NAN, NAN};
    return p;
}

static double jnum(const mb_jv_t *v, const char *key)
{
    const mb_jv_t *x = mb_jv_get(v, key);
    return x && x->kind == MB_JV_NUM ? x->num : NAN;
}

static void keep_max(double *dst, double x)
{
    if (isfinite(x) && x > 0 && !(*dst >= x))
        *dst = x;
}

int bench_ceilings_parse(const char *json, size_t len, bench_ceilings_t *out)
{
    memset(out, 0, sizeof *out);
    mb_jv_t *doc;
    int rc = mb_jv_parse(json, len, &doc);
    if (rc)
        return mb_err_set(MB_EFORMAT, "ceilings: not JSON: %s", mb_err_msg());
    const mb_jv_t *c = mb_jv_get(doc, "ceilings");
    if (!c)
        c = doc;
    const mb_jv_t *bw = mb_jv_get(c, "bandwidth"), *peaks = mb_jv_get(c, "peaks");
    for (size_t i = 0; bw && bw->kind == MB_JV_ARR && i < bw->n; i++) {
        bench_ceiling_t *p = point(out, (int)jnum(bw->items[i], "threads"));
        if (p)
            keep_max(&p->read_gbs, jnum(bw->items[i], "read_gbs"));
    }
    for (size_t i = 0; peaks && peaks->kind == MB_JV_ARR && i < peaks->n; i++) {
        const mb_jv_t *k = mb_jv_get(peaks->items[i], "kind");
        const mb_jv_t *pts = mb_jv_get(peaks->items[i], "points");
        if (!k || k->kind != MB_JV_STR || !pts || pts->kind != MB_JV_ARR)
            continue;
        bool i8 = !strcmp(k->str, "i8"), f32 = !strcmp(k->str, "f32");
        for (size_t j = 0; (i8 || f32) && j < pts->n; j++) {
            bench_ceiling_t *p = point(out, (int)jnum(pts->items[j], "threads"));
            if (p)
                keep_max(i8 ? &p->i8_gops : &p->f32_gflops, jnum(pts->items[j], "gops"));
        }
    }
    mb_jv_free(doc);
    if (!out->n)
        return mb_err_set(MB_EFORMAT, "ceilings: no bandwidth or peak figures (expected the object "
                          "'mobench probe --roofline --json' writes under \"ceilings\")");
    return MB_OK;
}

const bench_ceiling_t *bench_ceilings_find(const bench_ceilings_t *c, int threads)
{
    for (int i = 0; c && i < c->n; i++)
        if (c->pt[i].threads == threads)
            return &c->pt[i];
    return NULL;
}

/* Mean KV bytes read per decode step over n steps, the first attending a0
 * positions, each next one more. */
static double kv_mean(const bench_model_info_t *in, double a0, double n)
{
    double full = (double)in->rf_kv_pos * (a0 + (n - 1) / 2);
    double swa = 0;
    if (in->rf_kv_pos_swa) {
        double w = in->rf_swa_window > 0 ? in->rf_swa_window : INFINITY, s = 0;
        for (double i = 0; i < n; i++)
            s += fmin(a0 + i, w);
        swa = (double)in->rf_kv_pos_swa * s / n;
    }
    return full + swa;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* --roofline-paired: the median of the reps' own ratios. NAN when no rep has
 * both a read figure and a decode rate. */
static double paired_pct(const bench_result_t *r, double bytes)
{
    double *v = malloc((r->n_reps ? r->n_reps : 1) * sizeof *v), med = NAN;
    size_t n = 0;
    for (size_t i = 0; v && i < r->n_reps; i++) {
        const bench_rep_t *p = &r->reps[i];
        if (p->read_gbs > 0 && p->decode_ts > 0)
            v[n++] = bytes * p->decode_ts / (p->read_gbs * 1e9) * 100.0;
    }
    if (n) {
        qsort(v, n, sizeof *v, cmp_d);
        med = bench_percentile(v, n, 0.5);
    }
    free(v);
    return med;
}

double bench_roofline_pct(const bench_ceilings_t *c, const bench_result_t *r)
{
    const bench_ceiling_t *p = bench_ceilings_find(c, r->cell.n_threads);
    const bench_model_info_t *in = &r->info;
    const bench_test_t *t = &r->cell.test;
    bool sustained = r->sustained.n_windows > 0;
    if (t->kind == BENCH_TEST_PP && !sustained) {
        double peak = p ? (in->rf_float ? p->f32_gflops : p->i8_gops) : NAN, ts = r->ts.median;
        if (!(peak > 0) || !in->rf_matmul_params || !(ts > 0) || t->n_prompt < 1)
            return NAN;
        /* the head runs once per prompt: logits of the last token only */
        double ops = 2.0 * ((double)in->rf_matmul_params + (double)in->rf_head_params / t->n_prompt);
        return ops * ts / (peak * 1e9) * 100.0;
    }
    double a0, n;
    if (sustained) { /* decode cycles from position 1 to the end of the context */
        if (r->cell.n_ctx < 4)
            return NAN;
        a0 = 2;
        n = r->cell.n_ctx - 2;
    } else if (t->kind == BENCH_TEST_TG) { /* one-token prompt at d, steps at d+1.. */
        a0 = t->n_depth + 2;
        n = t->n_gen;
    } else { /* pg: steps after the prompt, at d+P.. */
        a0 = t->n_depth + t->n_prompt + 1;
        n = t->n_gen;
    }
    if (n < 1 || !in->rf_decode_bytes)
        return NAN;
    double bytes = (double)in->rf_decode_bytes + kv_mean(in, a0, n);
    bool paired = false;
    for (size_t i = 0; i < r->n_reps && !paired && !sustained; i++)
        paired = r->reps[i].read_gbs > 0;
    if (paired)
        return paired_pct(r, bytes);
    double ts = r->decode_ts;
    if (!p || !(p->read_gbs > 0) || !(ts > 0))
        return NAN;
    return bytes * ts / (p->read_gbs * 1e9) * 100.0;
}

/* ---- the probes' read meter, mapped by the measuring process ------------------ */
struct bench_probe_meter {
    probes_bw_meter_t *m;
    pid_t pid;      /* the process that mapped m */
    uint64_t bytes; /* 0: the probe's default */
};

int bench_probe_meter_create(uint64_t bytes, bench_probe_meter_t **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return mb_err_set(MB_ENOMEM, "out of memory for the bandwidth meter");
    (*out)->bytes = bytes;
    return MB_OK;
}

void bench_probe_meter_destroy(bench_probe_meter_t *p)
{
    if (!p)
        return;
    if (p->m && p->pid == getpid())
        probes_bw_meter_destroy(p->m);
    free(p);
}

static int probe_meter_read(void *ctx, int threads, int passes, double *gbs)
{
    bench_probe_meter_t *p = ctx;
    if (!p->m || p->pid != getpid()) {
        /* a fork()ed child: its own buffer (the parent's copy, if any, stays
         * the parent's) */
        p->m = NULL;
        int rc = probes_bw_meter_create(p->bytes, &p->m);
        if (rc)
            return rc;
        p->pid = getpid();
    }
    return probes_bw_meter_read(p->m, threads, passes, gbs);
}

bench_meter_t bench_probe_meter(bench_probe_meter_t *p)
{
    return (bench_meter_t){p, probe_meter_read};
}

/* ---- ceilings for a run -------------------------------------------------------- */
static bool covered(const bench_ceilings_t *c, int threads)
{
    const bench_ceiling_t *p = bench_ceilings_find(c, threads);
    return p && p->read_gbs > 0 && (p->i8_gops > 0 || p->f32_gflops > 0);
}

static char *ceilings_json(const probes_ceilings_t *pc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    mb_json_t j;
    mb_json_init(&j, f, false);
    probes_ceilings_json(pc, &j);
    if (fclose(f)) {
        free(buf);
        return NULL;
    }
    return buf;
}

#define SEEN_MAX 4096 /* thread counts tracked by the bitmap below; sweeps allow up to 1024 */
int bench_ceilings_for_run(bench_store_t *s, const bench_cell_t *cells, size_t n_cells, bool measure,
                           bench_ceilings_t *out, bool *have)
{
    memset(out, 0, sizeof *out);
    *have = false;
    char *stored = NULL;
    int rc;
    if (s && (rc = bench_store_ceilings_get(s, &stored)))
        return rc;
    if (stored && bench_ceilings_parse(stored, strlen(stored), out)) {
        MB_WARN("the device's stored ceilings are unreadable (%s); measuring them again", mb_err_msg());
        memset(out, 0, sizeof *out);
    }
    int missing[PROBES_MAX_THREAD_COUNTS], n_missing = 0, n_threads = 0;
    /* Thread counts seen so far, as a bitmap: linear in the cells (a scan
     * of the earlier cells made a 10^5-cell sweep quadratic). */
    uint64_t seen_bits[(SEEN_MAX + 64) / 64] = {0};
    for (size_t i = 0; i < n_cells; i++) {
        int t = cells[i].n_threads;
        if (t >= 0 && t <= SEEN_MAX) {
            uint64_t bit = 1ull << (t % 64);
            if (seen_bits[t / 64] & bit)
                continue;
            seen_bits[t / 64] |= bit;
        }
        n_threads++;
        if (!covered(out, t) && n_missing < PROBES_MAX_THREAD_COUNTS && t <= 256)
            missing[n_missing++] = t;
    }
    if (n_missing && !measure) {
        MB_INFO("roofline: no stored ceilings for %d of %d thread counts and --no-roofline: their "
                "roofline_pct stays empty ('mobench probe --roofline --db FILE' stores them)",
                n_missing, n_threads);
    } else if (n_missing) {
        probes_ceilings_opts_t po = {.n_threads = n_missing, .passes = 3};
        memcpy(po.threads, missing, (size_t)n_missing * sizeof *missing);
        MB_INFO("roofline: measuring the ceilings for %d thread count(s) once for this run "
                "(skip with --no-roofline; 'mobench probe --roofline --db FILE' stores a full set)",
                n_missing);
        probes_ceilings_t pc;
        char *js = NULL;
        bench_ceilings_t m;
        rc = probes_ceilings_measure(&po, &pc);
        if (!rc && !(js = ceilings_json(&pc)))
            rc = mb_err_set(MB_ENOMEM, "out of memory writing the ceilings");
        if (!rc)
            rc = bench_ceilings_parse(js, strlen(js), &m);
        if (rc) {
            MB_WARN("roofline: cannot measure the ceilings (%s): roofline_pct stays empty", mb_err_msg());
        } else {
            MB_INFO("roofline: ceilings measured in %.1f s", pc.seconds);
            for (int i = 0; i < m.n; i++) {
                bench_ceiling_t *p = point(out, m.pt[i].threads);
                if (p && !covered(out, p->threads))
                    *p = m.pt[i];
            }
            if (s && !stored && (rc = bench_store_ceilings_set(s, js)))
                MB_WARN("roofline: cannot store the ceilings: %s", mb_err_msg());
            else if (s && stored)
                MB_INFO("roofline: kept the device's stored ceilings; the extra thread counts measured "
                        "now are used for this run only (store them with 'mobench probe --roofline "
                        "--threads LIST --db FILE')");
        }
        free(js);
    }
    free(stored);
    for (size_t i = 0; i < n_cells && !*have; i++)
        *have = covered(out, cells[i].n_threads);
    return MB_OK;
}
