/* recommend.c: which model x recipe to ship on which device class.
 *
 * A candidate is one model x recipe measured on one device. For a class
 * and a use case every model x recipe is checked in this order, and the
 * first failed check is its one reason: in the use case's models, fits the
 * memory budget (weights + KV for the use case's context + scratch, or the
 * measured peak RSS when larger), under the quality-loss ceiling, meets
 * the decode floor, meets the TTFT limit. Speed is checked only with
 * figures from devices of that class (the slowest one, to be safe); when
 * the lab measured no device of the class the figures of the measured
 * devices are shown, labelled, and the speed checks are not applied: we
 * never invent a phone's speed from a PC's. */
#include "reports_int.h"

#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void reports_rec_opts_default(reports_rec_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->min_tg = NAN;
    o->max_ttft_s = NAN;
}

void reports_rec_free(reports_rec_t *r)
{
    if (!r)
        return;
    free(r->picks);
    r->picks = NULL;
    r->n_picks = 0;
}

/* ---- candidates from measured cells --------------------------------------------- */

static double cell_rate(const reports_cell_t *c)
{
    if (isfinite(c->median_ts))
        return c->median_ts;
    return reports_median(c->samples_ts, c->n_samples);
}

int reports_candidates_build(const reports_data_t *d, reports_candidate_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    reports_candidate_t *v = NULL;
    size_t nv = 0;
    for (size_t i = 0; i < d->n_cells; i++) {
        const reports_cell_t *c = &d->cells[i];
        if (strcmp(c->status, "ok"))
            continue;
        reports_candidate_t *k = NULL;
        for (size_t j = 0; j < nv && !k; j++)
            if (!strcmp(v[j].device_id, c->device_id) && !strcmp(v[j].model, c->model) &&
                !strcmp(v[j].recipe, c->recipe))
                k = &v[j];
        if (!k) {
            reports_candidate_t *p = realloc(v, (nv + 1) * sizeof *v);
            if (!p) {
                free(v);
                return mb_err_set(MB_ENOMEM, "out of memory for %zu candidates", nv + 1);
            }
            v = p;
            k = &v[nv++];
            memset(k, 0, sizeof *k);
            snprintf(k->model, sizeof k->model, "%s", c->model);
            snprintf(k->recipe, sizeof k->recipe, "%s", c->recipe);
            snprintf(k->weights, sizeof k->weights, "%s", c->weights);
            snprintf(k->device_id, sizeof k->device_id, "%s", c->device_id);
            const reports_device_t *dev = reports_data_device(d, c->device_id);
            snprintf(k->device_name, sizeof k->device_name, "%s",
                     dev && dev->name[0] ? dev->name : c->device_id);
            k->tg_ts = k->pp_ts = k->ttft_s = k->kld = k->ppl_delta = NAN;
            k->text_ppl = k->text_ppl_err = NAN;
            k->t = -1;
        }
        /* the newest cell wins for each figure; older runs fill gaps */
        bool newer = c->t_start >= k->t;
        if (newer)
            k->t = c->t_start;
        double rate = cell_rate(c);
        if (c->kind == REPORTS_TEST_TG && isfinite(rate) && (newer || !isfinite(k->tg_ts)))
            k->tg_ts = rate;
        if (c->kind == REPORTS_TEST_PG) {
            if (isfinite(c->ttft_ms) && (newer || !isfinite(k->ttft_s))) {
                k->ttft_s = c->ttft_ms / 1000.0;
                k->ttft_tokens = c->n_prompt;
            }
            if (isfinite(c->decode_ts) && !isfinite(k->tg_ts))
                k->tg_ts = c->decode_ts;
        }
        if (c->kind == REPORTS_TEST_PP && isfinite(rate) && (newer || !isfinite(k->pp_ts))) {
            k->pp_ts = rate;
            k->pp_tokens = c->n_prompt;
        }
        if (isfinite(c->kld) && (newer || !isfinite(k->kld))) {
            k->kld = c->kld;
            snprintf(k->kld_ref, sizeof k->kld_ref, "%s", c->kld_ref);
        }
        if (isfinite(c->ppl_delta) && (newer || !isfinite(k->ppl_delta)))
            k->ppl_delta = c->ppl_delta;
        if (isfinite(c->text_ppl) && (newer || !isfinite(k->text_ppl))) {
            k->text_ppl = c->text_ppl;
            k->text_ppl_err = c->text_ppl_err;
            snprintf(k->text_corpus, sizeof k->text_corpus, "%s", c->text_corpus);
            k->text_n_ctx = c->text_n_ctx;
        }
        k->model_bytes = MB_MAX(k->model_bytes, c->model_bytes);
        k->n_params = MB_MAX(k->n_params, c->n_params);
        if (c->kv_bytes_per_token)
            k->kv_bytes_per_token = c->kv_bytes_per_token;
        if (c->peak_rss > k->peak_rss) {
            k->peak_rss = c->peak_rss;
            k->rss_ctx = c->n_prompt + c->n_gen + c->n_depth;
        }
    }
    *out = v;
    *n = nv;
    return 0;
}

/* ---- memory ------------------------------------------------------------------- */

static uint64_t kv_per_token(const reports_classes_t *cl, const reports_candidate_t *c)
{
    if (c->kv_bytes_per_token)
        return c->kv_bytes_per_token;
    for (size_t i = 0; i < cl->n_kv; i++)
        if (!fnmatch(cl->kv[i].key, c->model, 0))
            return (uint64_t)cl->kv[i].value;
    return 0;
}

static uint64_t resident(const reports_classes_t *cl, const reports_candidate_t *c, int ctx,
                         char *basis, size_t len)
{
    uint64_t kv = kv_per_token(cl, c);
    uint64_t est = (uint64_t)((double)c->model_bytes * (1.0 + cl->scratch_share)) +
                   kv * (uint64_t)ctx;
    uint64_t meas = 0;
    if (c->peak_rss)
        meas = c->peak_rss + (ctx > c->rss_ctx ? kv * (uint64_t)(ctx - c->rss_ctx) : 0);
    if (basis) {
        if (meas >= est && meas)
            snprintf(basis, len, "peak RSS at %d tokens%s", c->rss_ctx,
                     kv ? " + KV to the context" : "");
        else
            snprintf(basis, len, "weights + %.0f%% scratch%s", cl->scratch_share * 100,
                     kv ? " + KV" : "");
        if (!kv)
            snprintf(basis + strlen(basis), len - strlen(basis),
                     "; KV size per token unknown, not added");
    }
    return MB_MAX(est, meas);
}

uint64_t reports_candidate_resident(const reports_classes_t *cl, const reports_candidate_t *c,
                                    int ctx)
{
    return resident(cl, c, ctx, NULL, 0);
}

/* ---- ranking ------------------------------------------------------------------ */

bool reports_model_in(const char *patterns, const char *model)
{
    if (!patterns[0])
        return true;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", patterns);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        char *e = t + strlen(t);
        while (e > t && e[-1] == ' ')
            *--e = '\0';
        if (!fnmatch(t, model, 0))
            return true;
    }
    return false;
}

static reports_rank_t g_rank; /* qsort has no context argument */

/* NaN sorts last in "lower is better" comparisons. */
static int cmp_low(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) - isnan(b);
    /* equal within rounding counts as a tie (KLD values printed to 4 digits) */
    if (fabs(a - b) <= 1e-9 * MB_MAX(fabs(a), fabs(b)))
        return 0;
    return a < b ? -1 : 1;
}

/* Real-text perplexity orders two candidates only when both were measured on
 * the same corpus and context (otherwise the figures do not compare). */
static int cmp_text_ppl(const reports_candidate_t *a, const reports_candidate_t *b)
{
    if (!isfinite(a->text_ppl) || !isfinite(b->text_ppl) || a->text_n_ctx != b->text_n_ctx ||
        strcmp(a->text_corpus, b->text_corpus))
        return 0;
    return cmp_low(a->text_ppl, b->text_ppl);
}

static int cmp_pick(const void *pa, const void *pb)
{
    const reports_pick_t *a = pa, *b = pb;
    if (a->ok != b->ok)
        return a->ok ? -1 : 1;
    if (!a->ok)
        return 0; /* rejected keep their order (qsort is not stable: ties broken by name below) */
    int r = 0;
    switch (g_rank) {
    case REPORTS_RANK_QUALITY:
        r = cmp_low(a->c->kld, b->c->kld);
        if (!r)
            r = cmp_text_ppl(a->c, b->c);
        if (!r)
            r = cmp_low(-a->tg_ts, -b->tg_ts);
        break;
    case REPORTS_RANK_SPEED:
        r = cmp_low(-a->tg_ts, -b->tg_ts);
        if (!r)
            r = cmp_low(a->c->kld, b->c->kld);
        break;
    case REPORTS_RANK_SIZE:
        r = cmp_low(-(double)a->c->n_params, -(double)b->c->n_params);
        if (!r)
            r = cmp_low(a->c->kld, b->c->kld);
        if (!r)
            r = cmp_low(-a->tg_ts, -b->tg_ts);
        break;
    }
    if (!r)
        r = cmp_low(-a->c->pp_ts, -b->c->pp_ts);
    if (!r)
        r = strcmp(a->c->model, b->c->model);
    if (!r)
        r = strcmp(a->c->recipe, b->c->recipe);
    return r;
}

static int cmp_rejected(const void *pa, const void *pb)
{
    const reports_pick_t *a = pa, *b = pb;
    if (a->ok != b->ok)
        return a->ok ? -1 : 1;
    if (a->ok)
        return cmp_pick(pa, pb);
    int r = strcmp(a->c->model, b->c->model);
    return r ? r : strcmp(a->c->recipe, b->c->recipe);
}

int reports_recommend(const reports_classes_t *cl, const reports_class_t *cls,
                      const reports_use_case_t *uc, const reports_candidate_t *cands, size_t n,
                      const reports_device_t *devs, size_t n_devs, const reports_rec_opts_t *o,
                      reports_rec_t *out)
{
    memset(out, 0, sizeof *out);
    out->cls = cls;
    out->uc = uc;
    out->best = -1;
    uint64_t ram = o->ram_override ? o->ram_override : cls->ram;
    out->budget = o->budget_override ? o->budget_override
                                     : (uint64_t)((double)ram * cls->budget_share);
    double min_tg = isfinite(o->min_tg) ? o->min_tg : uc->min_tg;
    double max_ttft = isfinite(o->max_ttft_s) ? o->max_ttft_s : uc->max_ttft_s;
    int ctx = o->context > 0 ? o->context : uc->context;

    out->picks = calloc(n ? n : 1, sizeof *out->picks);
    if (!out->picks)
        return mb_err_set(MB_ENOMEM, "out of memory ranking %zu candidates", n);
    /* Was anything measured on a device of this class? Then a candidate that
     * was not cannot show it meets the speed floors, and must not win over
     * one that was measured and checked. */
    bool class_measured = false;
    for (size_t j = 0; j < n && !class_measured; j++)
        for (size_t k = 0; k < n_devs; k++)
            if (!strcmp(devs[k].id, cands[j].device_id) && isfinite(cands[j].tg_ts) &&
                reports_class_of_device(cl, &devs[k]) == cls)
                class_measured = true;
    /* one pick per model x recipe: the representative is the first candidate
     * of the group; speed comes from the class's devices when there are any */
    for (size_t i = 0; i < n; i++) {
        const reports_candidate_t *c = &cands[i];
        bool seen = false;
        for (size_t k = 0; k < out->n_picks && !seen; k++)
            seen = !strcmp(out->picks[k].c->model, c->model) &&
                   !strcmp(out->picks[k].c->recipe, c->recipe);
        if (seen)
            continue;
        reports_pick_t *p = &out->picks[out->n_picks++];
        p->c = c;
        p->tg_ts = NAN;
        p->ttft_s = NAN;
        const reports_candidate_t *slowest = NULL, *shown = NULL;
        int n_class = 0;
        for (size_t j = i; j < n; j++) {
            const reports_candidate_t *x = &cands[j];
            if (strcmp(x->model, c->model) || strcmp(x->recipe, c->recipe))
                continue;
            const reports_device_t *dev = NULL;
            for (size_t k = 0; k < n_devs; k++)
                if (!strcmp(devs[k].id, x->device_id))
                    dev = &devs[k];
            bool in_class = dev && reports_class_of_device(cl, dev) == cls;
            if (in_class && isfinite(x->tg_ts)) {
                n_class++;
                if (!slowest || x->tg_ts < slowest->tg_ts)
                    slowest = x;
            }
            if (!shown || (isfinite(x->tg_ts) && !isfinite(shown->tg_ts)))
                shown = x;
        }
        const reports_candidate_t *src = slowest ? slowest : shown;
        p->speed_on_class = slowest != NULL;
        p->tg_ts = src->tg_ts;
        /* a measured TTFT counts for the use case's prompt size only; else
         * prompt / prefill rate */
        p->ttft_s = src->ttft_tokens == uc->prompt ? src->ttft_s : NAN;
        if (!isfinite(p->ttft_s) && isfinite(src->pp_ts) && src->pp_ts > 0) {
            p->ttft_s = uc->prompt / src->pp_ts;
            p->ttft_derived = true;
        }
        if (slowest)
            snprintf(p->speed_basis, sizeof p->speed_basis, "measured on %d device%s of this "
                     "class (slowest: %.60s)", n_class, n_class > 1 ? "s" : "", src->device_name);
        else
            snprintf(p->speed_basis, sizeof p->speed_basis, "not measured on this class: "
                     "figures from %.60s, speed floors not applied", src->device_name);
        p->resident = resident(cl, c, ctx, p->mem_basis, sizeof p->mem_basis);

        char need[32], bud[32];
        p->ok = false;
        if (cl->exclude[0] && reports_model_in(cl->exclude, c->model)) {
            snprintf(p->reason, sizeof p->reason, "a test model, not one to ship (%.100s)",
                     cl->exclude);
        } else if (!reports_model_in(uc->models, c->model)) {
            snprintf(p->reason, sizeof p->reason, "not a %.24s model (%.100s)", uc->name, uc->models);
        } else if (p->resident > out->budget) {
            mb_fmt_bytes(p->resident, need, sizeof need);
            mb_fmt_bytes(out->budget, bud, sizeof bud);
            snprintf(p->reason, sizeof p->reason, "needs %s > %s budget", need, bud);
        } else if (uc->max_kld > 0 && isfinite(c->kld) && c->kld > uc->max_kld) {
            snprintf(p->reason, sizeof p->reason, "KLD %.4f > %g", c->kld, uc->max_kld);
        } else if (p->speed_on_class && min_tg > 0 && p->tg_ts < min_tg) {
            snprintf(p->reason, sizeof p->reason, "%.1f tok/s < %g", p->tg_ts, min_tg);
        } else if (p->speed_on_class && max_ttft > 0 && isfinite(p->ttft_s) &&
                   p->ttft_s > max_ttft) {
            snprintf(p->reason, sizeof p->reason, "TTFT %.2f s > %g s%s", p->ttft_s, max_ttft,
                     p->ttft_derived ? " (from the prefill rate)" : "");
        } else if (class_measured && !p->speed_on_class && (min_tg > 0 || max_ttft > 0)) {
            snprintf(p->reason, sizeof p->reason,
                     "not measured on a device of this class, so the speed floors are unchecked");
        } else if (!isfinite(p->tg_ts) && !p->speed_on_class && min_tg > 0) {
            snprintf(p->reason, sizeof p->reason, "decode speed not measured");
        } else {
            p->ok = true;
        }
    }
    g_rank = uc->rank;
    qsort(out->picks, out->n_picks, sizeof *out->picks, cmp_rejected);
    if (out->n_picks && out->picks[0].ok)
        out->best = 0;
    return 0;
}
