/* classes.c: device classes, use cases and quoted figures from
 * reports/classes.ini (built in) and an optional user file. */
#include "reports.h"

#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void reports_classes_free(reports_classes_t *c)
{
    if (!c)
        return;
    free(c->classes);
    free(c->use_cases);
    free(c->quoted_mem);
    free(c->quoted_ppl);
    free(c->kv);
    memset(c, 0, sizeof *c);
}

const reports_class_t *reports_class_find(const reports_classes_t *c, const char *name)
{
    for (size_t i = 0; i < c->n_classes; i++)
        if (!strcmp(c->classes[i].name, name))
            return &c->classes[i];
    return NULL;
}

const reports_use_case_t *reports_use_case_find(const reports_classes_t *c, const char *name)
{
    for (size_t i = 0; i < c->n_use_cases; i++)
        if (!strcmp(c->use_cases[i].name, name))
            return &c->use_cases[i];
    return NULL;
}

const reports_class_t *reports_class_of_device(const reports_classes_t *c,
                                               const reports_device_t *dev)
{
    if (dev->class_name[0])
        return reports_class_find(c, dev->class_name);
    for (size_t i = 0; i < c->n_classes; i++) {
        const reports_class_t *k = &c->classes[i];
        bool plat = !strcmp(k->platform, "any") || !strcasecmp(k->platform, dev->platform);
        if (plat && dev->ram_bytes >= k->ram_lo && dev->ram_bytes <= k->ram_hi)
            return k;
    }
    return NULL;
}

/* Index of the element named `name` in an array of structs whose first
 * member is the name, appended (zeroed) when absent. */
static int slot(void **arr, size_t *n, size_t elem, const char *name, size_t name_len,
                size_t *idx, bool *fresh)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((const char *)*arr + i * elem, name)) {
            *idx = i;
            *fresh = false;
            return 0;
        }
    void *p = realloc(*arr, (*n + 1) * elem);
    if (!p)
        return mb_err_set(MB_ENOMEM, "out of memory reading device classes");
    *arr = p;
    memset((char *)p + *n * elem, 0, elem);
    snprintf((char *)p + *n * elem, name_len, "%s", name);
    *idx = (*n)++;
    *fresh = true;
    return 0;
}

static int bad(const mb_ini_entry_t *e, const char *name, const char *what)
{
    return mb_err_set(MB_EFORMAT, "%s:%d: [%s] %s = '%s': %s", name, e->line, e->section, e->key,
                      e->value, what);
}

static int set_class(reports_class_t *k, const mb_ini_entry_t *e, const char *name)
{
    const char *key = e->key, *v = e->value;
    double f;
    if (!strcmp(key, "label"))
        snprintf(k->label, sizeof k->label, "%s", v);
    else if (!strcmp(key, "platform"))
        snprintf(k->platform, sizeof k->platform, "%s", v);
    else if (!strcmp(key, "ram_lo") || !strcmp(key, "ram_hi") || !strcmp(key, "ram")) {
        uint64_t b;
        if (mb_parse_bytes(v, &b) || b == 0)
            return bad(e, name, "expected a size such as 6G or 7.5G");
        *(!strcmp(key, "ram_lo") ? &k->ram_lo : !strcmp(key, "ram_hi") ? &k->ram_hi : &k->ram) = b;
    } else if (!strcmp(key, "budget")) {
        if (mb_parse_fraction(v, &f) || !(f > 0 && f <= 1))
            return bad(e, name, "expected a share of RAM in (0, 1], e.g. 0.4 or 40%");
        k->budget_share = f;
    } else if (!strcmp(key, "quoted_quant"))
        snprintf(k->quoted_quant, sizeof k->quoted_quant, "%s", v);
    else if (!strcmp(key, "quoted_max_model"))
        snprintf(k->quoted_max_model, sizeof k->quoted_max_model, "%s", v);
    else
        return bad(e, name, "unknown key (known: label, platform, ram_lo, ram_hi, ram, budget, "
                            "quoted_quant, quoted_max_model)");
    return 0;
}

static int set_use_case(reports_use_case_t *u, const mb_ini_entry_t *e, const char *name)
{
    const char *key = e->key, *v = e->value;
    double f;
    int64_t i;
    if (!strcmp(key, "label"))
        snprintf(u->label, sizeof u->label, "%s", v);
    else if (!strcmp(key, "min_tg")) {
        if (mb_parse_f64(v, &f) || f < 0)
            return bad(e, name, "expected tokens/s >= 0");
        u->min_tg = f;
    } else if (!strcmp(key, "max_ttft")) {
        if (mb_parse_duration(v, &f) || f < 0)
            return bad(e, name, "expected a duration such as 2s or 500ms");
        u->max_ttft_s = f;
    } else if (!strcmp(key, "prompt") || !strcmp(key, "context")) {
        if (mb_parse_i64(v, &i) || i < 1 || i > 10000000)
            return bad(e, name, "expected a token count >= 1");
        *(!strcmp(key, "prompt") ? &u->prompt : &u->context) = (int)i;
    } else if (!strcmp(key, "max_kld")) {
        if (mb_parse_f64(v, &f) || f < 0)
            return bad(e, name, "expected a KL divergence >= 0 (0 = no ceiling)");
        u->max_kld = f;
    } else if (!strcmp(key, "rank")) {
        if (!strcmp(v, "quality"))
            u->rank = REPORTS_RANK_QUALITY;
        else if (!strcmp(v, "speed"))
            u->rank = REPORTS_RANK_SPEED;
        else if (!strcmp(v, "size"))
            u->rank = REPORTS_RANK_SIZE;
        else
            return bad(e, name, "expected quality, speed or size");
    } else if (!strcmp(key, "models"))
        snprintf(u->models, sizeof u->models, "%s", v);
    else if (!strcmp(key, "quoted"))
        snprintf(u->quoted, sizeof u->quoted, "%s", v);
    else
        return bad(e, name, "unknown key (known: label, min_tg, max_ttft, prompt, context, "
                            "max_kld, rank, models, quoted)");
    return 0;
}

static int add_quoted(reports_quoted_t **arr, size_t *n, const mb_ini_entry_t *e, const char *name,
                      bool bytes)
{
    size_t idx = 0;
    bool fresh;
    int rc = slot((void **)arr, n, sizeof **arr, e->key, sizeof((*arr)->key), &idx, &fresh);
    if (rc)
        return rc;
    reports_quoted_t *q = &(*arr)[idx];
    if (bytes) {
        uint64_t b;
        if (mb_parse_bytes(e->value, &b))
            return bad(e, name, "expected a size such as 600M or 1.5G");
        q->value = (double)b;
    } else if (mb_parse_fraction(e->value, &q->value)) {
        return bad(e, name, "expected a share such as 5% or 0.05");
    }
    snprintf(q->text, sizeof q->text, "~%s", e->value);
    return 0;
}

int reports_classes_parse(const char *text, const char *name, reports_classes_t *c)
{
    mb_ini_t *ini;
    int rc = mb_ini_parse(text, name, &ini);
    if (rc)
        return rc;
    const char *cur = NULL; /* section of the previous entry */
    for (size_t i = 0; i < ini->n && !rc; i++) {
        const mb_ini_entry_t *e = &ini->entries[i];
        bool new_section = !cur || strcmp(cur, e->section);
        cur = e->section;
        size_t idx = 0;
        bool fresh;
        if (!strncmp(e->section, "class ", 6)) {
            const char *nm = e->section + 6;
            if (!*nm || strlen(nm) >= sizeof c->classes->name)
                rc = bad(e, name, "a class needs a name shorter than 48 characters");
            else if (!(rc = slot((void **)&c->classes, &c->n_classes, sizeof *c->classes, nm,
                                 sizeof c->classes->name, &idx, &fresh))) {
                reports_class_t *k = &c->classes[idx];
                if (new_section) { /* a section replaces the whole class */
                    memset(k, 0, sizeof *k);
                    snprintf(k->name, sizeof k->name, "%s", nm);
                    snprintf(k->label, sizeof k->label, "%s", nm);
                    snprintf(k->platform, sizeof k->platform, "any");
                    k->ram_hi = UINT64_MAX;
                    k->budget_share = 0.4;
                }
                rc = set_class(k, e, name);
            }
        } else if (!strncmp(e->section, "use-case ", 9)) {
            const char *nm = e->section + 9;
            if (!*nm || strlen(nm) >= sizeof c->use_cases->name)
                rc = bad(e, name, "a use case needs a name shorter than 32 characters");
            else if (!(rc = slot((void **)&c->use_cases, &c->n_use_cases, sizeof *c->use_cases,
                                 nm, sizeof c->use_cases->name, &idx, &fresh))) {
                reports_use_case_t *u = &c->use_cases[idx];
                if (new_section) {
                    memset(u, 0, sizeof *u);
                    snprintf(u->name, sizeof u->name, "%s", nm);
                    snprintf(u->label, sizeof u->label, "%s", nm);
                    u->prompt = 256;
                    u->context = 4096;
                }
                rc = set_use_case(u, e, name);
            }
        } else if (!strcmp(e->section, "memory")) {
            double f;
            if (strcmp(e->key, "scratch"))
                rc = bad(e, name, "unknown key (known: scratch)");
            else if (mb_parse_fraction(e->value, &f) || f < 0 || f > 10)
                rc = bad(e, name, "expected a share of the weights, e.g. 0.1");
            else
                c->scratch_share = f;
        } else if (!strcmp(e->section, "candidates")) {
            if (strcmp(e->key, "exclude"))
                rc = bad(e, name, "unknown key (known: exclude)");
            else
                snprintf(c->exclude, sizeof c->exclude, "%s", e->value);
        } else if (!strcmp(e->section, "quoted.memory")) {
            rc = add_quoted(&c->quoted_mem, &c->n_quoted_mem, e, name, true);
        } else if (!strcmp(e->section, "quoted.perplexity")) {
            rc = add_quoted(&c->quoted_ppl, &c->n_quoted_ppl, e, name, false);
        } else if (!strcmp(e->section, "kv.bytes-per-token")) {
            rc = add_quoted(&c->kv, &c->n_kv, e, name, true);
        } else {
            rc = bad(e, name, "unknown section (known: [class NAME], [use-case NAME], [memory], [candidates], "
                              "[quoted.memory], [quoted.perplexity], [kv.bytes-per-token])");
        }
    }
    mb_ini_free(ini);
    if (rc)
        return rc;
    for (size_t i = 0; i < c->n_classes; i++) {
        reports_class_t *k = &c->classes[i];
        if (!k->ram)
            return mb_err_set(MB_EFORMAT, "%s: [class %s] has no 'ram = SIZE' to compute its "
                                          "budget from", name, k->name);
        if (k->ram_lo > k->ram_hi)
            return mb_err_set(MB_EFORMAT, "%s: [class %s] ram_lo is above ram_hi", name, k->name);
    }
    return 0;
}

int reports_classes_load(const char *user_file, reports_classes_t *out)
{
    memset(out, 0, sizeof *out);
    out->scratch_share = 0.1;
    int rc = reports_classes_parse(reports_classes_ini, "reports/classes.ini (built in)", out);
    if (!rc && user_file) {
        char *text = NULL;
        size_t len;
        rc = mb_file_read(user_file, 1 << 20, &text, &len);
        if (!rc)
            rc = reports_classes_parse(text, user_file, out);
        free(text);
    }
    if (rc)
        reports_classes_free(out);
    return rc;
}
