/* recommend_out.c: `mobench recommend` output: per class and use case the
 * pick with one reason per rejected candidate, the two regenerated tables
 * of the mobile guides and where measurements disagree with the figures
 * those guides quote. Markdown, HTML fragment or JSON. */
#include "reports_int.h"

#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char **v;
    size_t n;
} strv_t;

static void strv_add(strv_t *s, const char *fmt, ...) MB_PRINTF(2, 3);
static void strv_add(strv_t *s, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **p = realloc(s->v, (s->n + 1) * sizeof *p);
    if (!p)
        return; /* out of memory: the line is dropped, the rest still prints */
    s->v = p;
    if ((s->v[s->n] = mb_strdup(buf)))
        s->n++;
}

static bool any_synthetic(const reports_candidate_t *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(c[i].weights, "synthetic"))
            return true;
    return false;
}

/* The disagreements with commonly quoted figures, as sentences. */
static void disagreements(const reports_classes_t *cl, const reports_candidate_t *cands,
                          size_t n, const reports_rec_t *recs, size_t n_recs, strv_t *out)
{
    const reports_use_case_t *chat = reports_use_case_find(cl, "chat");
    int ctx = chat ? chat->context : 4096;
    for (size_t q = 0; q < cl->n_quoted_mem; q++) {
        const reports_quoted_t *qm = &cl->quoted_mem[q];
        for (size_t i = 0; i < n; i++) {
            const reports_candidate_t *c = &cands[i];
            bool dup = false;
            for (size_t j = 0; j < i && !dup; j++)
                dup = !strcmp(cands[j].model, c->model) && !strcmp(cands[j].recipe, c->recipe);
            char key[128];
            snprintf(key, sizeof key, "%s@%s", c->model, c->recipe);
            if (dup || fnmatch(qm->key, key, 0) || !c->model_bytes ||
                (cl->exclude[0] && reports_model_in(cl->exclude, c->model)))
                continue;
            char w[32], r[32];
            mb_fmt_bytes(c->model_bytes, w, sizeof w);
            uint64_t res = reports_candidate_resident(cl, c, ctx);
            mb_fmt_bytes(res, r, sizeof r);
            double dw = ((double)c->model_bytes / qm->value - 1.0) * 100.0;
            double dr = ((double)res / qm->value - 1.0) * 100.0;
            const char *verdict = fabs(dr) <= 25.0 ? "agrees (within 25%)"
                                  : dr > 0          ? "DISAGREES: the app needs more"
                                                    : "DISAGREES: the app needs less";
            strv_add(out, "%s %s: guides quote %s; measured weights %s (%+.0f%%), resident with "
                          "%d tokens of KV %s (%+.0f%%): %s%s",
                     c->model, c->recipe, qm->text, w, dw, ctx, r, dr, verdict,
                     !strcmp(c->weights, "synthetic") ? " [synthetic weights, real shapes]" : "");
        }
    }
    for (size_t q = 0; q < cl->n_quoted_ppl; q++) {
        const reports_quoted_t *qp = &cl->quoted_ppl[q];
        for (size_t i = 0; i < n; i++) {
            const reports_candidate_t *c = &cands[i];
            if (strcmp(c->recipe, qp->key) || !isfinite(c->ppl_delta) ||
                (cl->exclude[0] && reports_model_in(cl->exclude, c->model)))
                continue;
            bool dup = false;
            for (size_t j = 0; j < i && !dup; j++)
                dup = !strcmp(cands[j].model, c->model) && !strcmp(cands[j].recipe, c->recipe);
            if (dup)
                continue;
            double m = c->ppl_delta * 100.0, g = qp->value * 100.0;
            bool agree = fabs(m - g) <= MB_MAX(1.0, 0.5 * g);
            strv_add(out, "%s on %s: guides quote %s perplexity; measured %+.2f%% (KLD %.4f): "
                          "%s%s",
                     c->recipe, c->model, qp->text, m, c->kld, agree ? "agrees" : "DISAGREES",
                     !strcmp(c->weights, "synthetic")
                         ? " [synthetic weights: quantization error on random weights of the "
                           "real shapes, not the real model's perplexity]"
                         : "");
        }
    }
    for (size_t i = 0; i < n_recs; i++) {
        const reports_rec_t *r = &recs[i];
        if (strcmp(r->uc->name, "chat") || !r->cls->quoted_quant[0])
            continue;
        if (r->best < 0)
            strv_add(out, "%s: guides recommend %s; nothing measured fits the %s budget",
                     r->cls->label, r->cls->quoted_quant, "chat");
        else if (!strstr(r->cls->quoted_quant, r->picks[r->best].c->recipe))
            strv_add(out, "%s: guides recommend %s; measurements pick %s %s (%s)",
                     r->cls->label, r->cls->quoted_quant, r->picks[r->best].c->model,
                     r->picks[r->best].c->recipe,
                     isfinite(r->picks[r->best].c->kld)
                         ? "least KLD that fits and meets the floors"
                         : "quality not measured: the fastest that fits");
    }
}

static void pick_cells(const reports_pick_t *p, bool best, char cells[9][160])
{
    const reports_candidate_t *c = p->c;
    snprintf(cells[0], 160, "%s", c->model);
    snprintf(cells[1], 160, "%s", c->recipe);
    snprintf(cells[2], 160, "%s", c->weights);
    reports_fmt_bytes(p->resident, cells[3], 160);
    reports_fmt_num(cells[4], 160, 1, p->tg_ts);
    reports_fmt_num(cells[5], 160, 2, p->ttft_s);
    if (p->ttft_derived && isfinite(p->ttft_s))
        strcat(cells[5], "*");
    reports_fmt_num(cells[6], 160, 4, c->kld);
    snprintf(cells[7], 160, "%s", best ? "PICK" : p->ok ? "fits" : p->reason);
    snprintf(cells[8], 160, "%s", p->speed_basis);
}

static void write_rec_doc(reports_doc_t *doc, const reports_rec_t *r, const reports_rec_opts_t *o)
{
    char bud[32], ram[32];
    mb_fmt_bytes(r->budget, bud, sizeof bud);
    mb_fmt_bytes(o->ram_override ? o->ram_override : r->cls->ram, ram, sizeof ram);
    double min_tg = isfinite(o->min_tg) ? o->min_tg : r->uc->min_tg;
    double ttft = isfinite(o->max_ttft_s) ? o->max_ttft_s : r->uc->max_ttft_s;
    int ctx = o->context > 0 ? o->context : r->uc->context;
    reports_doc_h(doc, 3, "%s: %s", r->cls->label, r->uc->label);
    reports_doc_p(doc, "Budget %s (%s%.0f%% of %s RAM); context %d tokens; floors: decode >= %g "
                       "tok/s, TTFT <= %g s for %d prompt tokens; ranked by %s.",
                  bud, o->budget_override ? "set by --budget, not " : "",
                  r->cls->budget_share * 100, ram, ctx, min_tg, ttft, r->uc->prompt,
                  r->uc->rank == REPORTS_RANK_QUALITY ? "least KLD, ties by decode speed"
                  : r->uc->rank == REPORTS_RANK_SPEED ? "decode speed, ties by KLD"
                                                      : "model size, then least KLD");
    if (r->best >= 0)
        reports_doc_p(doc, "Pick: %s %s (%s).", r->picks[r->best].c->model,
                      r->picks[r->best].c->recipe, r->picks[r->best].speed_basis);
    else if (r->n_picks)
        reports_doc_p(doc, "Nothing fits: every measured candidate is rejected, one reason each "
                           "below.");
    else
        reports_doc_p(doc, "Nothing measured: run a sweep with quality (mobench sweep) first.");
    if (!r->n_picks)
        return;
    reports_doc_table(doc, "model|recipe|weights|resident|decode t/s|TTFT s|KLD|result|speed from");
    for (size_t i = 0; i < r->n_picks; i++) {
        char cells[9][160];
        pick_cells(&r->picks[i], (int)i == r->best, cells);
        const char *row[9];
        for (int k = 0; k < 9; k++)
            row[k] = cells[k];
        reports_doc_row(doc, 9, row);
    }
    reports_doc_table_end(doc);
}

static void json_pick(mb_json_t *j, const reports_pick_t *p)
{
    mb_json_obj_begin(j);
    mb_json_key(j, "model"); mb_json_str(j, p->c->model);
    mb_json_key(j, "recipe"); mb_json_str(j, p->c->recipe);
    mb_json_key(j, "weights"); mb_json_str(j, p->c->weights);
    mb_json_key(j, "resident_bytes"); mb_json_int(j, (int64_t)p->resident);
    mb_json_key(j, "memory_basis"); mb_json_str(j, p->mem_basis);
    mb_json_key(j, "tg_ts"); reports_json_num(j, p->tg_ts);
    mb_json_key(j, "ttft_s"); reports_json_num(j, p->ttft_s);
    mb_json_key(j, "ttft_derived"); mb_json_bool(j, p->ttft_derived);
    mb_json_key(j, "kld"); reports_json_num(j, p->c->kld);
    mb_json_key(j, "kld_ref"); mb_json_str(j, p->c->kld_ref[0] ? p->c->kld_ref : NULL);
    mb_json_key(j, "ppl_text"); reports_json_num(j, p->c->text_ppl);
    mb_json_key(j, "ok"); mb_json_bool(j, p->ok);
    mb_json_key(j, "reason"); mb_json_str(j, p->ok ? NULL : p->reason);
    mb_json_key(j, "speed_on_class"); mb_json_bool(j, p->speed_on_class);
    mb_json_key(j, "speed_basis"); mb_json_str(j, p->speed_basis);
    mb_json_obj_end(j);
}

int reports_recommend_write(const reports_classes_t *cl, const reports_data_t *d,
                            const char *only_class, const char *only_uc,
                            const reports_rec_opts_t *o, reports_fmt_t fmt, FILE *f)
{
    if (only_class && !reports_class_find(cl, only_class)) {
        char names[512] = "";
        for (size_t i = 0; i < cl->n_classes; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                     cl->classes[i].name);
        return mb_err_set(MB_EINVAL, "unknown device class '%s' (known: %s); add one with "
                                     "--classes FILE", only_class, names);
    }
    if (only_uc && !reports_use_case_find(cl, only_uc)) {
        char names[256] = "";
        for (size_t i = 0; i < cl->n_use_cases; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                     cl->use_cases[i].name);
        return mb_err_set(MB_EINVAL, "unknown use case '%s' (known: %s)", only_uc, names);
    }
    reports_candidate_t *cands;
    size_t n;
    int rc = reports_candidates_build(d, &cands, &n);
    if (rc)
        return rc;
    size_t n_recs = 0, cap = cl->n_classes * cl->n_use_cases;
    reports_rec_t *recs = calloc(cap ? cap : 1, sizeof *recs);
    strv_t dis = {0};
    if (!recs) {
        free(cands);
        return mb_err_set(MB_ENOMEM, "out of memory for recommendations");
    }
    for (size_t i = 0; i < cl->n_classes && !rc; i++) {
        if (only_class && strcmp(only_class, cl->classes[i].name))
            continue;
        for (size_t u = 0; u < cl->n_use_cases && !rc; u++) {
            if (only_uc && strcmp(only_uc, cl->use_cases[u].name))
                continue;
            rc = reports_recommend(cl, &cl->classes[i], &cl->use_cases[u], cands, n, d->devices,
                                   d->n_devices, o, &recs[n_recs]);
            if (!rc)
                n_recs++;
        }
    }
    if (rc)
        goto out;
    disagreements(cl, cands, n, recs, n_recs, &dis);

    if (fmt == REPORTS_FMT_JSON) {
        mb_json_t j;
        mb_json_init(&j, f, true);
        mb_json_obj_begin(&j);
        mb_json_key(&j, "devices");
        mb_json_arr_begin(&j);
        for (size_t i = 0; i < d->n_devices; i++) {
            const reports_class_t *k = reports_class_of_device(cl, &d->devices[i]);
            mb_json_obj_begin(&j);
            mb_json_key(&j, "id"); mb_json_str(&j, d->devices[i].id);
            mb_json_key(&j, "name"); mb_json_str(&j, d->devices[i].name);
            mb_json_key(&j, "class"); mb_json_str(&j, k ? k->name : NULL);
            mb_json_obj_end(&j);
        }
        mb_json_arr_end(&j);
        mb_json_key(&j, "recommendations");
        mb_json_arr_begin(&j);
        for (size_t i = 0; i < n_recs; i++) {
            const reports_rec_t *r = &recs[i];
            mb_json_obj_begin(&j);
            mb_json_key(&j, "class"); mb_json_str(&j, r->cls->name);
            mb_json_key(&j, "use_case"); mb_json_str(&j, r->uc->name);
            mb_json_key(&j, "budget_bytes"); mb_json_int(&j, (int64_t)r->budget);
            mb_json_key(&j, "best");
            if (r->best >= 0)
                json_pick(&j, &r->picks[r->best]);
            else
                mb_json_null(&j);
            mb_json_key(&j, "candidates");
            mb_json_arr_begin(&j);
            for (size_t k = 0; k < r->n_picks; k++)
                json_pick(&j, &r->picks[k]);
            mb_json_arr_end(&j);
            mb_json_obj_end(&j);
        }
        mb_json_arr_end(&j);
        mb_json_key(&j, "disagreements");
        mb_json_arr_begin(&j);
        for (size_t i = 0; i < dis.n; i++)
            mb_json_str(&j, dis.v[i]);
        mb_json_arr_end(&j);
        mb_json_obj_end(&j);
        fputc('\n', f);
        goto out;
    }

    reports_doc_t doc = {.f = f, .fmt = fmt};
    reports_doc_h(&doc, 2, "Recommendations from measured data");
    if (d->n_devices == 0)
        reports_doc_p(&doc, "No device in the database: run 'mobench sweep sweeps/quick.ini'.");
    for (size_t i = 0; i < d->n_devices; i++) {
        const reports_device_t *dv = &d->devices[i];
        const reports_class_t *k = reports_class_of_device(cl, dv);
        char ram[32];
        reports_fmt_bytes(dv->ram_bytes, ram, sizeof ram);
        reports_doc_li(&doc, "measured device %s (%s, %s RAM): %s", dv->name[0] ? dv->name : dv->id,
                       dv->platform[0] ? dv->platform : "?", ram,
                       k ? k->label : "in no device class, so its speeds are shown as 'not "
                                      "measured on this class' and speed floors are not applied");
    }
    reports_doc_list_end(&doc);
    if (any_synthetic(cands, n))
        reports_doc_p(&doc, "Quality figures (KLD) of synthetic weights measure the quantization "
                            "error on random weights of the real shapes, not a real model's "
                            "loss. TTFT marked * is prompt tokens / prefill rate (no pg cell).");
    for (size_t i = 0; i < n_recs; i++)
        write_rec_doc(&doc, &recs[i], o);

    reports_doc_h(&doc, 2, "Recommended quantization per device class (regenerated)");
    reports_doc_table(&doc, "class|budget|chat pick|best recipe per model|guides say");
    for (size_t i = 0; i < n_recs; i++) {
        const reports_rec_t *r = &recs[i];
        if (strcmp(r->uc->name, only_uc ? only_uc : "chat"))
            continue;
        char bud[32], pick[160] = "nothing fits", per[512] = "";
        mb_fmt_bytes(r->budget, bud, sizeof bud);
        if (r->best >= 0)
            snprintf(pick, sizeof pick, "%s %s", r->picks[r->best].c->model,
                     r->picks[r->best].c->recipe);
        for (size_t k = 0; k < r->n_picks; k++) {
            if (!r->picks[k].ok)
                continue;
            bool first = true; /* picks are ranked: the first of a model is its best */
            for (size_t m = 0; m < k && first; m++)
                first = !(r->picks[m].ok && !strcmp(r->picks[m].c->model, r->picks[k].c->model));
            if (first && strlen(per) < sizeof per - 100)
                snprintf(per + strlen(per), sizeof per - strlen(per), "%s%s %s", per[0] ? ", " : "",
                         r->picks[k].c->model, r->picks[k].c->recipe);
        }
        char quoted[160];
        snprintf(quoted, sizeof quoted, "%s (max model %s)", r->cls->quoted_quant,
                 r->cls->quoted_max_model);
        const char *row[] = {r->cls->label, bud, pick, per[0] ? per : "-", quoted};
        reports_doc_row(&doc, 5, row);
    }
    reports_doc_table_end(&doc);

    reports_doc_h(&doc, 2, "Model per use case (regenerated)");
    reports_doc_table(&doc, "use case|class|model|recipe|resident|decode t/s|guides say");
    for (size_t i = 0; i < n_recs; i++) {
        const reports_rec_t *r = &recs[i];
        const reports_pick_t *p = r->best >= 0 ? &r->picks[r->best] : NULL;
        char res[32] = "-", tg[32] = "-";
        if (p) {
            reports_fmt_bytes(p->resident, res, sizeof res);
            reports_fmt_num(tg, sizeof tg, 1, p->tg_ts);
            if (!p->speed_on_class && isfinite(p->tg_ts))
                strcat(tg, " (not this class)");
        }
        const char *row[] = {r->uc->label, r->cls->label, p ? p->c->model : "nothing fits",
                             p ? p->c->recipe : "-", res, tg, r->uc->quoted};
        reports_doc_row(&doc, 7, row);
    }
    reports_doc_table_end(&doc);

    reports_doc_h(&doc, 2, "Measurements against commonly quoted figures");
    if (dis.n == 0)
        reports_doc_p(&doc, "No measured model x recipe matches a quoted figure "
                            "(reports/classes.ini [quoted.*]).");
    for (size_t i = 0; i < dis.n; i++)
        reports_doc_li(&doc, "%s", dis.v[i]);
    reports_doc_list_end(&doc);
out:
    for (size_t i = 0; i < n_recs; i++)
        reports_rec_free(&recs[i]);
    free(recs);
    mb_strv_free(dis.v, dis.n);
    free(cands);
    return rc;
}
