/* sweep_file.c: the sweep file (INI, docs/SWEEP.md) into a bench_sweep_t.
 * Every error names FILE:LINE and what was expected there. */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const char *bench_cooldown_mode_name(bench_cooldown_mode_t m)
{
    switch (m) {
    case BENCH_COOLDOWN_THERMAL: return "thermal";
    case BENCH_COOLDOWN_FIXED: return "fixed";
    case BENCH_COOLDOWN_NONE: return "none";
    }
    return "?";
}

void bench_sweep_free(bench_sweep_t *sw)
{
    if (!sw)
        return;
    free(sw->path);
    free(sw->name);
    free(sw->db_path);
    free(sw->kernel);
    mb_strv_free(sw->models, sw->n_models);
    mb_strv_free(sw->recipes, sw->n_recipes);
    free(sw->tests);
    free(sw->depths);
    free(sw->threads);
    free(sw->pins);
    free(sw->stricts);
    free(sw->quality_ref);
    free(sw->quality_text);
    free(sw);
}

size_t bench_sweep_n_cells(const bench_sweep_t *sw)
{
    return sw->n_models * sw->n_recipes * sw->n_tests * sw->n_depths * sw->n_threads * sw->n_pins *
           sw->n_stricts;
}

/* The keys each section accepts (anything else is a typo worth an error). */
static const struct {
    const char *section;
    const char *keys;
} known[] = {
    {"sweep", "name, db, seed, kernel, busy_timeout"},
    {"models", "names, recipes"},
    {"tests", "pp, tg, pg, depth, threads, clusters, cpu_mask, cpu_strict"},
    {"reps", "min, max, cv_target, warmup"},
    {"limits", "cell_time, memory_headroom"},
    {"cooldown", "mode, within, max_wait, delay"},
    {"quality", "enabled, reference, tokens, text"},
};

/* "[sweep], [models], ..." for messages, and the plain names for hints. */
static void section_lists(char *brackets, size_t blen, char *plain, size_t plen)
{
    size_t bk = 0, pk = 0;
    brackets[0] = plain[0] = '\0';
    for (size_t i = 0; i < MB_ARRAY_LEN(known); i++) {
        bk += (size_t)snprintf(brackets + bk, bk < blen ? blen - bk : 0, "%s[%s]", i ? ", " : "",
                               known[i].section);
        pk += (size_t)snprintf(plain + pk, pk < plen ? plen - pk : 0, "%s%s", i ? ", " : "",
                               known[i].section);
    }
}

static int unknown_section(const char *file, int line, const char *name)
{
    char brackets[256], plain[256];
    section_lists(brackets, sizeof brackets, plain, sizeof plain);
    const char *near = mb_near_miss(name, plain);
    char hint[96] = "";
    if (near)
        snprintf(hint, sizeof hint, " (did you mean [%s]?)", near);
    return mb_err_set(MB_EFORMAT, "%s:%d: unknown section [%s]%s; expected one of: %s", file, line,
                      name, hint, brackets);
}

static int check_section(const char *file, const mb_ini_section_t *h)
{
    for (size_t i = 0; i < MB_ARRAY_LEN(known); i++)
        if (!strcmp(known[i].section, h->name))
            return MB_OK;
    return unknown_section(file, h->line, h->name);
}

static int check_key(const char *file, const mb_ini_entry_t *e)
{
    for (size_t i = 0; i < MB_ARRAY_LEN(known); i++) {
        if (strcmp(known[i].section, e->section))
            continue;
        /* whole-word match inside the comma-separated list */
        const char *k = known[i].keys;
        size_t n = strlen(e->key);
        for (const char *p = strstr(k, e->key); p; p = strstr(p + 1, e->key))
            if ((p == k || (p - k >= 2 && p[-2] == ',')) && (p[n] == ',' || p[n] == '\0'))
                return MB_OK;
        const char *near = mb_near_miss(e->key, known[i].keys);
        char hint[96] = "";
        if (near)
            snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
        return mb_err_set(MB_EFORMAT, "%s:%d: unknown key '%s' in [%s]%s; expected one of: %s", file,
                          e->line, e->key, e->section, hint, known[i].keys);
    }
    if (!*e->section)
        return mb_err_set(MB_EFORMAT, "%s:%d: key '%s' before any section; expected a section "
                          "header such as [sweep] first", file, e->line, e->key);
    return unknown_section(file, e->line, e->section);
}

static int parse_bool(const char *s, bool *out)
{
    if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on") || !strcmp(s, "1"))
        *out = true;
    else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off") || !strcmp(s, "0"))
        *out = false;
    else
        return MB_EINVAL;
    return MB_OK;
}

/* Appends the integers of a comma list to *v (growing it). */
static int append_ints(const char *file, const mb_ini_entry_t *e, int lo, int hi, int **v,
                       size_t *n)
{
    char **parts;
    size_t np;
    int rc = mb_split_csv(e->value, &parts, &np);
    if (rc)
        return rc;
    if (np == 0) {
        mb_strv_free(parts, np);
        return mb_err_set(MB_EFORMAT, "%s:%d: %s: expected a list of integers from %d to %d, got nothing",
                          file, e->line, e->key, lo, hi);
    }
    int *nv = realloc(*v, (*n + np) * sizeof *nv);
    if (!nv) {
        mb_strv_free(parts, np);
        return mb_err_set(MB_ENOMEM, "out of memory reading %s", file);
    }
    *v = nv;
    for (size_t i = 0; i < np; i++) {
        int64_t x;
        if (mb_parse_i64(parts[i], &x) || x < lo || x > hi) {
            rc = mb_err_set(MB_EFORMAT, "%s:%d: %s: expected integers from %d to %d, got '%s'", file,
                            e->line, e->key, lo, hi, parts[i]);
            mb_strv_free(parts, np);
            return rc;
        }
        nv[(*n)++] = (int)x;
    }
    mb_strv_free(parts, np);
    return MB_OK;
}

static int add_test(bench_sweep_t *sw, const bench_test_t *t)
{
    bench_test_t *nt = realloc(sw->tests, (sw->n_tests + 1) * sizeof *nt);
    if (!nt)
        return mb_err_set(MB_ENOMEM, "out of memory reading %s", sw->path);
    sw->tests = nt;
    sw->tests[sw->n_tests++] = *t;
    return MB_OK;
}

static int set_str(char **dst, const char *v, const char *file)
{
    free(*dst);
    if (!(*dst = mb_strdup(v)))
        return mb_err_set(MB_ENOMEM, "out of memory reading %s", file);
    return MB_OK;
}

static int set_list(char ***v, size_t *n, const char *file, const mb_ini_entry_t *e)
{
    mb_strv_free(*v, *n);
    *v = NULL;
    *n = 0;
    int rc = mb_split_csv(e->value, v, n);
    if (rc)
        return rc;
    if (*n == 0)
        return mb_err_set(MB_EFORMAT, "%s:%d: %s: expected a comma-separated list, got nothing", file,
                          e->line, e->key);
    for (size_t i = 0; i < *n; i++)
        if (!*(*v)[i])
            return mb_err_set(MB_EFORMAT, "%s:%d: %s: empty name in the list '%s'", file, e->line,
                              e->key, e->value);
    return MB_OK;
}

/* [tests] clusters / cpu_mask: the pinning axis (one pin per list item). */
static int set_pins(bench_sweep_t *sw, const mb_ini_entry_t *e)
{
    char **parts;
    size_t np;
    int rc = mb_split_csv(e->value, &parts, &np);
    if (rc)
        return rc;
    bool cl = !strcmp(e->key, "clusters");
    if (!np)
        rc = mb_err_set(MB_EFORMAT, "%s:%d: %s: expected %s, got nothing", sw->path, e->line, e->key,
                        cl ? "cluster names such as 'big, little'" : "hex CPU masks such as 0x0f");
    bench_pin_t *pins = rc ? NULL : calloc(np, sizeof *pins);
    if (!rc && !pins)
        rc = mb_err_set(MB_ENOMEM, "out of memory reading %s", sw->path);
    for (size_t i = 0; !rc && i < np; i++) {
        pins[i].line = e->line;
        if (cl) {
            if (bench_cluster_check(parts[i]))
                rc = MB_EFORMAT;
            else
                snprintf(pins[i].cluster, sizeof pins[i].cluster, "%s", parts[i]);
        } else if (bench_cpuset_parse_hex(parts[i], &pins[i].cpus)) {
            rc = MB_EFORMAT;
        } else if (bench_cpuset_empty(&pins[i].cpus)) {
            rc = mb_err_set(MB_EFORMAT, "%s:%d: cpu_mask: '%s' names no CPU; expected a mask such as "
                            "0x0f (leave the key out for no pinning)", sw->path, e->line, parts[i]);
        }
    }
    mb_strv_free(parts, np);
    if (rc == MB_EFORMAT && !strstr(mb_err_msg(), sw->path)) {
        char msg[1024]; /* the parser's message, under FILE:LINE */
        snprintf(msg, sizeof msg, "%s", mb_err_msg());
        rc = mb_err_set(MB_EFORMAT, "%s:%d: %s: %s", sw->path, e->line, e->key, msg);
    }
    if (rc) {
        free(pins);
        return rc;
    }
    free(sw->pins);
    sw->pins = pins;
    sw->n_pins = np;
    return MB_OK;
}

/* One entry into the sweep. */
static int apply(bench_sweep_t *sw, const mb_ini_entry_t *e, bool *threads_set, bool *depth_set)
{
    const char *f = sw->path, *sec = e->section, *key = e->key, *val = e->value;
    int line = e->line;
#define IS(s, k) (!strcmp(sec, s) && !strcmp(key, k))
    if (IS("sweep", "name"))
        return set_str(&sw->name, val, f);
    if (IS("sweep", "db"))
        return set_str(&sw->db_path, val, f);
    if (IS("sweep", "kernel"))
        return strcasecmp(val, "auto") ? set_str(&sw->kernel, val, f) : MB_OK;
    if (IS("sweep", "seed")) {
        int64_t v;
        if (mb_parse_i64(val, &v) || v < 0)
            return mb_err_set(MB_EFORMAT, "%s:%d: seed: expected a non-negative integer, got '%s'", f,
                              line, val);
        sw->seed = (uint64_t)v;
        return MB_OK;
    }
    if (IS("sweep", "busy_timeout")) {
        double secs;
        if (mb_parse_duration(val, &secs) || secs < 0.001 || secs > 3600)
            return mb_err_set(MB_EFORMAT, "%s:%d: busy_timeout: expected a duration from 1ms to 1h "
                              "like 500ms or 30s, got '%s'", f, line, val);
        sw->busy_timeout_ms = (int)(secs * 1000 + 0.5);
        return MB_OK;
    }
    if (IS("models", "names"))
        return set_list(&sw->models, &sw->n_models, f, e);
    if (IS("models", "recipes"))
        return set_list(&sw->recipes, &sw->n_recipes, f, e);
    if (IS("tests", "pp") || IS("tests", "tg")) {
        int *v = NULL;
        size_t n = 0;
        int rc = append_ints(f, e, 1, 1 << 20, &v, &n);
        for (size_t i = 0; !rc && i < n; i++) {
            bench_test_t t = {.kind = key[0] == 'p' ? BENCH_TEST_PP : BENCH_TEST_TG};
            if (t.kind == BENCH_TEST_PP)
                t.n_prompt = v[i];
            else
                t.n_gen = v[i];
            rc = add_test(sw, &t);
        }
        free(v);
        return rc;
    }
    if (IS("tests", "pg")) {
        /* One pair per line ("pg = 512,128"); the key may repeat. */
        int *v = NULL;
        size_t n = 0;
        int rc = append_ints(f, e, 1, 1 << 20, &v, &n);
        if (!rc && n != 2)
            rc = mb_err_set(MB_EFORMAT, "%s:%d: pg: expected one pair 'PROMPT,GEN' such as 512,128 "
                            "(repeat the key for more), got '%s'", f, line, val);
        if (!rc)
            rc = add_test(sw, &(bench_test_t){.kind = BENCH_TEST_PG, .n_prompt = v[0], .n_gen = v[1]});
        free(v);
        return rc;
    }
    if (IS("tests", "depth")) {
        if (!*depth_set) {
            sw->n_depths = 0;
            *depth_set = true;
        }
        return append_ints(f, e, 0, 1 << 20, &sw->depths, &sw->n_depths);
    }
    if (IS("tests", "threads")) {
        if (!*threads_set) {
            sw->n_threads = 0;
            *threads_set = true;
        }
        return append_ints(f, e, 1, 1024, &sw->threads, &sw->n_threads);
    }
    if (IS("tests", "clusters") || IS("tests", "cpu_mask"))
        return set_pins(sw, e);
    if (IS("tests", "cpu_strict")) {
        int *v = NULL;
        size_t n = 0;
        int rc = append_ints(f, e, 0, 1, &v, &n);
        bool *b = rc ? NULL : calloc(n, sizeof *b);
        if (!rc && !b)
            rc = mb_err_set(MB_ENOMEM, "out of memory reading %s", f);
        for (size_t i = 0; !rc && i < n; i++)
            b[i] = v[i] != 0;
        free(v);
        if (rc)
            return rc;
        free(sw->stricts);
        sw->stricts = b;
        sw->n_stricts = n;
        return MB_OK;
    }
    if (IS("reps", "min") || IS("reps", "max")) {
        int64_t v;
        if (mb_parse_i64(val, &v) || v < 1 || v > 10000)
            return mb_err_set(MB_EFORMAT, "%s:%d: %s: expected a repetition count from 1 to 10000, got '%s'",
                              f, line, key, val);
        *(key[1] == 'i' ? &sw->reps.min_reps : &sw->reps.max_reps) = (int)v;
        return MB_OK;
    }
    if (IS("reps", "cv_target")) {
        if (mb_parse_fraction(val, &sw->reps.cv_target) || sw->reps.cv_target >= 1)
            return mb_err_set(MB_EFORMAT, "%s:%d: cv_target: expected a percentage like 2%% (0 = fixed "
                              "repetitions), got '%s'", f, line, val);
        return MB_OK;
    }
    if (IS("reps", "warmup") || IS("quality", "enabled")) {
        if (parse_bool(val, key[0] == 'w' ? &sw->warmup : &sw->quality))
            return mb_err_set(MB_EFORMAT, "%s:%d: %s: expected true or false, got '%s'", f, line, key, val);
        return MB_OK;
    }
    if (IS("limits", "cell_time") || IS("cooldown", "max_wait") || IS("cooldown", "delay")) {
        double *dst = key[0] == 'c' ? &sw->cell_time_s
                      : key[0] == 'm' ? &sw->cooldown.max_wait_s : &sw->cooldown.delay_s;
        if (mb_parse_duration(val, dst))
            return mb_err_set(MB_EFORMAT, "%s:%d: %s: expected a duration like 30s, 10m or 2h, got '%s'",
                              f, line, key, val);
        if (dst == &sw->cell_time_s && *dst <= 0)
            return mb_err_set(MB_EFORMAT, "%s:%d: cell_time: expected a duration above zero, got '%s'",
                              f, line, val);
        return MB_OK;
    }
    if (IS("limits", "memory_headroom")) {
        if (mb_parse_bytes(val, &sw->headroom))
            return mb_err_set(MB_EFORMAT, "%s:%d: memory_headroom: expected a size like 512M or 1G, got '%s'",
                              f, line, val);
        return MB_OK;
    }
    if (IS("cooldown", "mode")) {
        if (!strcmp(val, "thermal"))
            sw->cooldown.mode = BENCH_COOLDOWN_THERMAL;
        else if (!strcmp(val, "fixed"))
            sw->cooldown.mode = BENCH_COOLDOWN_FIXED;
        else if (!strcmp(val, "none"))
            sw->cooldown.mode = BENCH_COOLDOWN_NONE;
        else
            return mb_err_set(MB_EFORMAT, "%s:%d: mode: expected thermal, fixed or none, got '%s'", f,
                              line, val);
        return MB_OK;
    }
    if (IS("cooldown", "within")) {
        if (mb_parse_f64(val, &sw->cooldown.within_c) || sw->cooldown.within_c < 0 ||
            sw->cooldown.within_c > 50)
            return mb_err_set(MB_EFORMAT, "%s:%d: within: expected degrees C from 0 to 50, got '%s'", f,
                              line, val);
        return MB_OK;
    }
    if (IS("quality", "reference"))
        return set_str(&sw->quality_ref, val, f);
    if (IS("quality", "text")) {
        if (access(val, R_OK))
            return mb_err_set(MB_EFORMAT, "%s:%d: text: cannot read the corpus '%s': %s", f, line,
                              val, strerror(errno));
        return set_str(&sw->quality_text, val, f);
    }
    if (IS("quality", "tokens")) {
        int64_t v;
        if (mb_parse_i64(val, &v) || v < 8 || v > 65536)
            return mb_err_set(MB_EFORMAT, "%s:%d: tokens: expected a token count from 8 to 65536, got '%s'",
                              f, line, val);
        sw->quality_tokens = (int)v;
        return MB_OK;
    }
#undef IS
    return mb_err_set(MB_EFORMAT, "%s:%d: key '%s' is not handled in [%s]", f, line, key, sec);
}

static const mb_ini_entry_t *first_in(const mb_ini_t *ini, const char *section, const char *key)
{
    for (size_t i = 0; i < ini->n; i++)
        if (!strcmp(ini->entries[i].section, section) && !strcmp(ini->entries[i].key, key))
            return &ini->entries[i];
    return NULL;
}

static int from_ini(const mb_ini_t *ini, const bench_names_t *names, bench_sweep_t *sw)
{
    const char *f = sw->path;
    int rc;
    bool threads_set = false, depth_set = false;
    for (size_t i = 0; i < ini->n_sections; i++)
        if ((rc = check_section(f, &ini->sections[i])))
            return rc;
    for (size_t i = 0; i < ini->n; i++) {
        const mb_ini_entry_t *e = &ini->entries[i];
        if ((rc = check_key(f, e)))
            return rc;
        /* A key given twice in a section is a mistake (which one did the
         * user mean?), except pg: one pair per line, repeated for more. */
        const mb_ini_entry_t *first = strcmp(e->key, "pg") ? first_in(ini, e->section, e->key) : NULL;
        if (first && first != e)
            return mb_err_set(MB_EFORMAT, "%s:%d: duplicate key '%s' in [%s], first given at %s:%d: "
                              "expected each key once per section (lists are comma-separated: "
                              "'%s = a, b')", f, e->line, e->key, e->section, f, first->line, e->key);
        if ((rc = apply(sw, e, &threads_set, &depth_set)))
            return rc;
    }
    /* Required: something to run. Point at the section (or the file end). */
    if (!sw->n_models)
        return mb_err_set(MB_EFORMAT, "%s: no models: expected a [models] section with 'names = NAME, ...'", f);
    if (!sw->n_recipes)
        return mb_err_set(MB_EFORMAT, "%s: no recipes: expected 'recipes = Q4_0, Q4_K_M, ...' in [models]", f);
    if (!sw->n_tests)
        return mb_err_set(MB_EFORMAT, "%s: no tests: expected 'pp = N', 'tg = N' or 'pg = P,N' in [tests]", f);
    /* The product in floating point: axes of up to 10^6 each must not wrap
     * a size_t before the cap is checked. */
    double cells = (double)sw->n_models * (double)sw->n_recipes * (double)sw->n_threads *
                   (double)sw->n_depths * (double)sw->n_tests * (double)MB_MAX(sw->n_pins, 1) *
                   (double)MB_MAX(sw->n_stricts, 1);
    if (cells > BENCH_SWEEP_MAX_CELLS)
        return mb_err_set(MB_ERANGE, "%s: models %zu x recipes %zu x threads %zu x depths %zu x "
                          "tests %zu x pinnings %zu x cpu_strict %zu = %.0f cells; the most one sweep "
                          "file may expand to is %d: split it into several files or shorten a list",
                          f, sw->n_models, sw->n_recipes, sw->n_threads, sw->n_depths, sw->n_tests,
                          MB_MAX(sw->n_pins, 1), MB_MAX(sw->n_stricts, 1), cells,
                          BENCH_SWEEP_MAX_CELLS);
    const mb_ini_entry_t *e, *ec = first_in(ini, "tests", "clusters"), *em = first_in(ini, "tests", "cpu_mask");
    if (ec && em)
        return mb_err_set(MB_EFORMAT, "%s:%d: clusters and cpu_mask (line %d) both given: expected one "
                          "of them (a cluster is a mask the probe names)", f, MB_MAX(ec->line, em->line),
                          MB_MIN(ec->line, em->line));
    e = first_in(ini, "tests", "cpu_strict");
    for (size_t i = 0; e && !ec && !em && i < sw->n_stricts; i++)
        if (sw->stricts[i])
            return mb_err_set(MB_EFORMAT, "%s:%d: cpu_strict = 1 needs CPUs to pin to: add 'clusters = "
                              "...' or 'cpu_mask = 0x...' to [tests] (clusters = all for every CPU)",
                              f, e->line);
    if (sw->reps.cv_target > 0 && sw->reps.max_reps < sw->reps.min_reps) {
        e = first_in(ini, "reps", "max");
        return mb_err_set(MB_EFORMAT, "%s:%d: max = %d is below min = %d: expected max >= min", f,
                          e ? e->line : 0, sw->reps.max_reps, sw->reps.min_reps);
    }
    if (sw->quality && !sw->quality_ref && !(sw->quality_ref = mb_strdup("F32")))
        return mb_err_set(MB_ENOMEM, "out of memory reading %s", f);
    /* Names last, so that a format error is reported first. */
    for (size_t i = 0; names && names->check_model && i < sw->n_models; i++)
        if ((rc = names->check_model(names->ctx, sw->models[i]))) {
            e = first_in(ini, "models", "names");
            char msg[2048];
            snprintf(msg, sizeof msg, "%s", mb_err_msg());
            return mb_err_set(rc, "%s:%d: %s", f, e ? e->line : 0, msg);
        }
    for (size_t i = 0; names && names->check_recipe && i < sw->n_recipes; i++)
        if ((rc = names->check_recipe(names->ctx, sw->recipes[i]))) {
            e = first_in(ini, "models", "recipes");
            char msg[2048];
            snprintf(msg, sizeof msg, "%s", mb_err_msg());
            return mb_err_set(rc, "%s:%d: %s", f, e ? e->line : 0, msg);
        }
    if (sw->quality && names && names->check_recipe && strcasecmp(sw->quality_ref, "F32") &&
        (rc = names->check_recipe(names->ctx, sw->quality_ref))) {
        e = first_in(ini, "quality", "reference");
        char msg[2048];
        snprintf(msg, sizeof msg, "%s", mb_err_msg());
        return mb_err_set(rc, "%s:%d: %s", f, e ? e->line : 0, msg);
    }
    return MB_OK;
}

/* Rewrites the current error message so that it is safe to print: bytes
 * that are not printable ASCII become \xNN, and a quoted excerpt of the
 * input ('...') longer than EXCERPT_MAX characters is cut with "...". A
 * binary file's bytes must not reach the terminal raw. */
#define EXCERPT_MAX 60  /* characters shown of a quoted excerpt */
#define MESSAGE_MAX 480  /* characters of the whole message */
static int safe_error(int rc)
{
    const char *m = mb_err_msg();
    char out[MESSAGE_MAX + 8];
    size_t k = 0;
    bool quoted = false, cut = false, elided = false;
    size_t q0 = 0; /* where the quoted text starts in out */
    for (const unsigned char *p = (const unsigned char *)m; *p && !cut; p++) {
        /* A quote closes an excerpt only where prose follows it, so that
         * quote bytes inside the input do not end it. */
        bool closing = quoted && *p == '\'' && (!p[1] || strchr(" ;,:).", p[1]));
        if (closing || (!quoted && *p == '\'')) {
            quoted = !quoted;
            q0 = k + 1;
            elided = false;
        } else if (quoted && k - q0 >= EXCERPT_MAX) {
            if (!elided && k + 3 <= MESSAGE_MAX) {
                memcpy(out + k, "...", 3);
                k += 3;
            }
            elided = true;
            continue;
        }
        char e[8];
        int n = *p < 0x20 || *p >= 0x7f ? snprintf(e, sizeof e, "\\x%02x", *p) : snprintf(e, sizeof e, "%c", *p);
        if (k + (size_t)n > MESSAGE_MAX) {
            cut = true;
            break;
        }
        memcpy(out + k, e, (size_t)n);
        k += (size_t)n;
    }
    if (cut) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return mb_err_set(rc, "%s", out);
}

int bench_sweep_parse(const char *text, const char *name, const bench_names_t *names,
                      bench_sweep_t **out)
{
    *out = NULL;
    mb_ini_t *ini = NULL;
    int rc = mb_ini_parse(text, name, &ini);
    if (rc)
        return safe_error(rc);
    bench_sweep_t *sw = calloc(1, sizeof *sw);
    if (!sw || !(sw->path = mb_strdup(name)) || !(sw->depths = calloc(1, sizeof(int))) ||
        !(sw->threads = calloc(1, sizeof(int))) || !(sw->pins = calloc(1, sizeof *sw->pins)) ||
        !(sw->stricts = calloc(1, sizeof *sw->stricts))) {
        rc = mb_err_set(MB_ENOMEM, "out of memory reading %s", name);
        goto err;
    }
    /* Defaults (docs/SWEEP.md). */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    sw->threads[0] = ncpu > 0 ? (int)ncpu : 1;
    sw->n_threads = 1;
    sw->depths[0] = 0;
    sw->n_depths = 1;
    sw->n_pins = 1; /* not pinned */
    sw->n_stricts = 1;
    sw->seed = BENCH_DEFAULT_SEED;
    sw->reps = (bench_reps_policy_t){.min_reps = 5, .max_reps = 20, .cv_target = 0};
    sw->warmup = true;
    sw->cell_time_s = 600;
    sw->headroom = 512ull << 20;
    sw->cooldown = (bench_cooldown_t){BENCH_COOLDOWN_THERMAL, 2.0, 120.0, 10.0};
    sw->quality_tokens = 128;
    if ((rc = from_ini(ini, names, sw)))
        goto err;
    if (!sw->name) {
        const char *base = strrchr(name, '/');
        base = base ? base + 1 : name;
        size_t len = strcspn(base, ".");
        if (!(sw->name = malloc(len + 1))) {
            rc = mb_err_set(MB_ENOMEM, "out of memory reading %s", name);
            goto err;
        }
        memcpy(sw->name, base, len);
        sw->name[len] = '\0';
    }
    mb_ini_free(ini);
    *out = sw;
    return MB_OK;
err:
    mb_ini_free(ini);
    bench_sweep_free(sw);
    return safe_error(rc);
}

int bench_sweep_load(const char *path, const bench_names_t *names, bench_sweep_t **out)
{
    *out = NULL;
    char *text = NULL;
    size_t len;
    int rc = mb_file_read(path, 1 << 20, &text, &len);
    if (rc)
        return safe_error(rc);
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        rc = mb_err_set(MB_EFORMAT, "%s: not a text file (a NUL byte at offset %zu): expected a sweep "
                        "file, INI text as docs/SWEEP.md describes", path, (size_t)(nul - text));
        free(text);
        return safe_error(rc);
    }
    rc = bench_sweep_parse(text, path, names, out);
    free(text);
    return rc;
}
