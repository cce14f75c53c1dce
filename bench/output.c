/* output.c: results as md (llama-bench's table plus our columns), csv, json
 * (one array), jsonl (one object per line) and sql (CREATE TABLE + INSERTs).
 * Field names follow llama-bench where one exists (docs/OUTPUT.md). */
#include "bench.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum { K_STR, K_INT, K_NUM, K_ARR, K_BOOL } kind_t; /* BOOL: i is 0/1 */

typedef struct {
    const char *name;
    kind_t kind;
} coldef_t;

static const coldef_t cols[] = {
    /* llama-bench */
    {"build_commit", K_STR}, {"cpu_info", K_STR}, {"model_filename", K_STR}, {"model_type", K_STR},
    {"model_size", K_INT}, {"model_n_params", K_INT}, {"n_threads", K_INT}, {"cpu_mask", K_STR},
    {"cpu_strict", K_BOOL}, {"type_k", K_STR},
    {"type_v", K_STR}, {"n_prompt", K_INT}, {"n_gen", K_INT}, {"n_depth", K_INT}, {"test_time", K_STR},
    {"avg_ns", K_INT}, {"stddev_ns", K_INT}, {"avg_ts", K_NUM}, {"stddev_ts", K_NUM},
    {"samples_ns", K_ARR}, {"samples_ts", K_ARR},
    /* ours */
    {"model", K_STR}, {"recipe", K_STR}, {"test", K_STR}, {"status", K_STR}, {"reason", K_STR},
    {"n_reps", K_INT}, {"stop", K_STR}, {"median_ts", K_NUM}, {"min_ts", K_NUM}, {"max_ts", K_NUM},
    {"ci95_ts", K_NUM}, {"cv", K_NUM}, {"ttft_ms", K_NUM}, {"decode_ts", K_NUM},
    {"lat_p50_ms", K_NUM}, {"lat_p90_ms", K_NUM}, {"lat_p99_ms", K_NUM}, {"peak_rss", K_INT},
    {"roofline_pct", K_NUM}, {"kernel", K_STR}, {"weights", K_STR}, {"cluster", K_STR},
    {"cpus_ran", K_STR}, {"throttled_reps", K_INT},
    {"temp_min_c", K_NUM}, {"temp_mean_c", K_NUM}, {"temp_max_c", K_NUM},
    {"freq_min_mhz", K_NUM}, {"freq_mean_mhz", K_NUM}, {"freq_max_mhz", K_NUM},
    {"energy_j", K_NUM}, {"burst_ts", K_NUM},
    {"sustained_ts", K_NUM}, {"sustained_ratio", K_NUM}, {"time_to_throttle_s", K_NUM},
    {"j_per_token", K_NUM},
    /* per repetition, in rep order (null: no sensor in that rep) */
    {"samples_temp_min_c", K_ARR}, {"samples_temp_mean_c", K_ARR}, {"samples_temp_max_c", K_ARR},
    {"samples_freq_min_mhz", K_ARR}, {"samples_freq_mean_mhz", K_ARR}, {"samples_freq_max_mhz", K_ARR},
    {"samples_read_gbs", K_ARR}, /* --roofline-paired: read bandwidth before each rep */
};
#define NCOLS ((int)MB_ARRAY_LEN(cols))

typedef struct {
    char s[1100]; /* cpus_ran: up to 1024 */
    int64_t i;   /* INT; INT64_MIN = null */
    double d;    /* NUM; NAN = null */
    double *arr; /* ARR (owned) */
    size_t n;
} val_t;

struct bench_out {
    FILE *f;
    bench_out_fmt_t fmt;
    char cpu[256];
    int rows;
    /* md: what does not fit a table cell (a cell's status and reason, a
     * sustained run's summary), listed after the table; rows point at them
     * with [N] in the note column. */
    char **notes;
    size_t n_notes;
};

int bench_out_columns(const char **names, int max)
{
    for (int i = 0; i < NCOLS && i < max; i++)
        names[i] = cols[i].name;
    return NCOLS;
}

int bench_out_parse(const char *s, bench_out_fmt_t *out)
{
    static const char *const names[] = {"md", "csv", "json", "jsonl", "sql"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i])) {
            *out = (bench_out_fmt_t)i;
            return MB_OK;
        }
    return mb_err_set(MB_EINVAL, "unknown output format '%s': expected md, csv, json, jsonl or sql", s);
}

static double med_rep(const bench_result_t *r, size_t off)
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
    bench_stats_t st;
    double m = n && bench_stats_compute(v, n, &st) == 0 ? st.median : NAN;
    free(v);
    return m;
}

/* Fills v[NCOLS] for one result. */
static void values(const bench_out_t *o, const bench_result_t *r, val_t *v)
{
    for (int i = 0; i < NCOLS; i++) {
        v[i].s[0] = '\0';
        v[i].i = INT64_MIN;
        v[i].d = NAN;
        v[i].arr = NULL;
        v[i].n = 0;
    }
    const bench_cell_t *c = &r->cell;
    const bench_model_info_t *in = &r->info;
    bool ok = r->status == BENCH_CELL_OK && r->n_reps > 0;
    int k = 0;
#define S(...) snprintf(v[k++].s, sizeof v[0].s, __VA_ARGS__)
#define I(x) (v[k++].i = (int64_t)(x))
#define D(x) (v[k++].d = (x))
    S("%s", mb_build_commit());
    S("%s", o->cpu);
    S("%s", c->model);
    S("%s", in->model_type);
    if (in->model_size) I(in->model_size); else k++;
    if (in->n_params) I(in->n_params); else k++;
    I(c->n_threads);
    char hex[300];
    bench_cpuset_hex(&c->cpus, hex, sizeof hex); /* "0x0": not pinned, as llama-bench */
    S("%s", hex);
    I(c->cpu_strict);
    S("f16");
    S("f16");
    I(c->test.n_prompt);
    I(c->test.n_gen);
    I(c->test.n_depth);
    time_t t = (time_t)(r->started > 0 ? r->started : mb_clock_wall());
    struct tm tm;
    gmtime_r(&t, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    S("%s", ts);
    if (ok) {
        double sum = 0, ss = 0;
        for (size_t i = 0; i < r->n_reps; i++)
            sum += (double)r->reps[i].wall_ns;
        double mean = sum / (double)r->n_reps;
        for (size_t i = 0; i < r->n_reps; i++)
            ss += ((double)r->reps[i].wall_ns - mean) * ((double)r->reps[i].wall_ns - mean);
        I(llround(mean));
        if (r->n_reps > 1) I(llround(sqrt(ss / (double)(r->n_reps - 1)))); else I(0);
        D(r->ts.mean);
        D(r->n_reps > 1 ? r->ts.stddev : 0.0);
        double *ns = malloc(r->n_reps * sizeof *ns), *tsv = malloc(r->n_reps * sizeof *tsv);
        for (size_t i = 0; ns && tsv && i < r->n_reps; i++) {
            ns[i] = (double)r->reps[i].wall_ns;
            tsv[i] = r->reps[i].ts;
        }
        if (ns && tsv) {
            v[k].arr = ns;
            v[k++].n = r->n_reps;
            v[k].arr = tsv;
            v[k++].n = r->n_reps;
        } else {
            free(ns);
            free(tsv);
            k += 2;
        }
    } else {
        k += 6;
    }
    S("%s", c->model);
    S("%s", c->recipe);
    char label[64];
    bench_test_label(&c->test, label, sizeof label);
    S("%s", label);
    S("%s", bench_status_name(r->status));
    S("%s", r->reason);
    I(r->n_reps);
    if (ok) S("%s", r->sustained.n_windows ? "sustained" : bench_stop_name(r->stop)); else k++;
    D(ok ? r->ts.median : NAN);
    D(ok ? r->ts.min : NAN);
    D(ok ? r->ts.max : NAN);
    D(ok ? r->ts.ci95 : NAN);
    D(ok ? r->ts.cv : NAN);
    D(r->ttft_ms);
    D(r->decode_ts);
    D(med_rep(r, offsetof(bench_rep_t, lat_p50_ms)));
    D(med_rep(r, offsetof(bench_rep_t, lat_p90_ms)));
    D(med_rep(r, offsetof(bench_rep_t, lat_p99_ms)));
    if (r->peak_rss > 0) I(r->peak_rss); else k++;
    D(r->roofline_pct);
    S("%s", in->kernel);
    S("%s", in->weights);
    S("%s", c->cluster);
    S("%s", r->cpus_ran);
    I(r->throttled_reps);
    /* The cell's sensor summary over its reps: lowest minimum, mean of the
     * reps' means (weighted by their samples), highest maximum. */
    double tmin = NAN, tmax = NAN, fmin = NAN, fmax = NAN, energy = NAN;
    double tsum = 0, fsum = 0, tn = 0, fn = 0;
    for (size_t i = 0; i < r->n_reps; i++) {
        const bench_sensor_window_t *w = &r->reps[i].sensors;
        double wn = w->n_samples > 0 ? w->n_samples : 1;
        if (isfinite(w->temp_min) && !(tmin <= w->temp_min))
            tmin = w->temp_min;
        if (isfinite(w->temp_max) && !(tmax >= w->temp_max))
            tmax = w->temp_max;
        if (isfinite(w->temp_mean)) {
            tsum += w->temp_mean * wn;
            tn += wn;
        }
        if (isfinite(w->freq_min) && !(fmin <= w->freq_min))
            fmin = w->freq_min;
        if (isfinite(w->freq_max) && !(fmax >= w->freq_max))
            fmax = w->freq_max;
        if (isfinite(w->freq_mean)) {
            fsum += w->freq_mean * wn;
            fn += wn;
        }
        if (isfinite(w->energy_j))
            energy = (isfinite(energy) ? energy : 0) + w->energy_j;
    }
    D(tmin);
    D(tn > 0 ? tsum / tn : NAN);
    D(tmax);
    D(fmin);
    D(fn > 0 ? fsum / fn : NAN);
    D(fmax);
    D(energy);
    const bench_sustained_t *su = &r->sustained;
    bool sus = su->n_windows > 0;
    D(sus ? su->burst_ts : NAN);
    D(sus ? su->sustained_ts : NAN);
    D(sus ? su->ratio : NAN);
    D(sus ? su->time_to_throttle_s : NAN);
    D(sus ? su->j_per_token : NAN);
    static const size_t soff[6] = {
        offsetof(bench_sensor_window_t, temp_min), offsetof(bench_sensor_window_t, temp_mean),
        offsetof(bench_sensor_window_t, temp_max), offsetof(bench_sensor_window_t, freq_min),
        offsetof(bench_sensor_window_t, freq_mean), offsetof(bench_sensor_window_t, freq_max),
    };
    for (int si = 0; si < 6; si++, k++) {
        double *a = r->n_reps ? malloc(r->n_reps * sizeof *a) : NULL;
        if (!a)
            continue;
        for (size_t i = 0; i < r->n_reps; i++)
            a[i] = *(const double *)((const char *)&r->reps[i].sensors + soff[si]);
        v[k].arr = a;
        v[k].n = r->n_reps;
    }
    bool paired = false;
    for (size_t i = 0; i < r->n_reps; i++)
        paired = paired || r->reps[i].read_gbs > 0;
    if (paired && (v[k].arr = malloc(r->n_reps * sizeof *v[k].arr))) {
        for (size_t i = 0; i < r->n_reps; i++)
            v[k].arr[i] = r->reps[i].read_gbs > 0 ? r->reps[i].read_gbs : NAN;
        v[k].n = r->n_reps;
    }
    k++;
#undef S
#undef I
#undef D
}

static void free_values(val_t *v)
{
    for (int i = 0; i < NCOLS; i++)
        free(v[i].arr);
}

int bench_out_begin(FILE *f, bench_out_fmt_t fmt, const char *cpu_info, bench_out_t **out)
{
    bench_out_t *o = calloc(1, sizeof *o);
    if (!o)
        return mb_err_set(MB_ENOMEM, "out of memory");
    o->f = f;
    o->fmt = fmt;
    snprintf(o->cpu, sizeof o->cpu, "%s", cpu_info ? cpu_info : "");
    switch (fmt) {
    case BENCH_OUT_MD:
        fprintf(f, "| %-28s | %10s | %8s | %-8s | %7s | %-12s | %-18s | %20s | %10s | %6s | %9s | %10s | %-10s | %-4s |\n",
                "model", "size", "params", "kernel", "threads", "cpus", "test", "t/s", "median t/s", "cv",
                "ttft ms", "peak RSS", "stop", "note");
    {
        /* column widths and right alignment, as in the header above */
        static const int w[] = {28, 10, 8, 8, 7, 12, 18, 20, 10, 6, 9, 10, 10, 4};
        static const bool right[] = {0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0};
        fputc('|', f);
        for (size_t c = 0; c < MB_ARRAY_LEN(w); c++) {
            fputc(' ', f);
            for (int i = 0; i < w[c] - (right[c] ? 1 : 0); i++)
                fputc('-', f);
            fputs(right[c] ? ": |" : " |", f);
        }
        fputc('\n', f);
    }
        break;
    case BENCH_OUT_CSV:
        for (int i = 0; i < NCOLS; i++)
            fprintf(f, "%s%s", i ? "," : "", cols[i].name);
        fputc('\n', f);
        break;
    case BENCH_OUT_JSON:
        fprintf(f, "[\n");
        break;
    case BENCH_OUT_SQL:
        fprintf(f, "CREATE TABLE IF NOT EXISTS test (\n");
        for (int i = 0; i < NCOLS; i++)
            fprintf(f, "  %s %s%s\n", cols[i].name,
                    cols[i].kind == K_INT || cols[i].kind == K_BOOL ? "INTEGER"
                    : cols[i].kind == K_NUM ? "REAL" : "TEXT",
                    i + 1 < NCOLS ? "," : "");
        fprintf(f, ");\n\n");
        break;
    case BENCH_OUT_JSONL:
        break;
    }
    fflush(f);
    *out = o;
    return MB_OK;
}

static void csv_str(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void sql_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

static void arr_text(FILE *f, const val_t *v, const char *sep, bool ints)
{
    for (size_t j = 0; j < v->n; j++) {
        if (!isfinite(v->arr[j]))
            fprintf(f, "%snull", j ? sep : ""); /* no sensor in that rep */
        else
            fprintf(f, ints ? "%s%.0f" : "%s%.6f", j ? sep : "", v->arr[j]);
    }
}

/* A table cell's text: '|' would end the cell, a newline the row. */
static void md_cell(char *dst, size_t len, const char *src)
{
    size_t k = 0;
    for (; *src && k + 2 < len; src++) {
        if (*src == '|')
            dst[k++] = '\\';
        if (k + 1 < len)
            dst[k++] = *src == '\n' || *src == '\r' ? ' ' : *src;
    }
    dst[k < len ? k : len - 1] = '\0';
}

/* Adds a note; returns its number (1-based), 0 if out of memory. */
static size_t md_note(bench_out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t md_note(bench_out_t *o, const char *fmt, ...)
{
    char buf[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **nv = realloc(o->notes, (o->n_notes + 1) * sizeof *nv);
    if (!nv)
        return 0;
    o->notes = nv;
    if (!(nv[o->n_notes] = mb_strdup(buf)))
        return 0;
    return ++o->n_notes;
}

static void md_row(bench_out_t *o, const bench_result_t *r)
{
    FILE *f = o->f;
    char size[32] = "-", params[32] = "-", label[64], ts[64], med[32] = "-", cv[16] = "-", ttft[32] = "-",
         rss[32] = "-", note[32] = "";
    if (r->info.model_size)
        snprintf(size, sizeof size, "%.2f MiB", (double)r->info.model_size / 1048576.0);
    if (r->info.n_params)
        snprintf(params, sizeof params, "%.2f %s", r->info.n_params >= 1000000000ull ? (double)r->info.n_params / 1e9 : (double)r->info.n_params / 1e6,
                 r->info.n_params >= 1000000000ull ? "B" : "M");
    bench_test_label(&r->cell.test, label, sizeof label);
    bool ok = r->status == BENCH_CELL_OK && r->n_reps > 0;
    if (ok) {
        snprintf(ts, sizeof ts, "%.2f ± %.2f", r->ts.mean, r->n_reps > 1 ? r->ts.stddev : 0.0);
        snprintf(med, sizeof med, "%.2f", r->ts.median);
        if (isfinite(r->ts.cv))
            snprintf(cv, sizeof cv, "%.1f%%", r->ts.cv * 100);
    } else {
        snprintf(ts, sizeof ts, "%s", bench_status_name(r->status));
    }
    if (isfinite(r->ttft_ms))
        snprintf(ttft, sizeof ttft, "%.2f", r->ttft_ms);
    if (r->peak_rss > 0)
        snprintf(rss, sizeof rss, "%.0f MiB", (double)r->peak_rss / 1048576.0);
    char model[300], kernel[80];
    md_cell(model, sizeof model, r->info.model_type[0] ? r->info.model_type : r->cell.model);
    md_cell(kernel, sizeof kernel, r->info.kernel[0] ? r->info.kernel : "-");
    char who[400];
    snprintf(who, sizeof who, "%s %s t%d", model, label, r->cell.n_threads);
    size_t n = 0;
    const bench_sustained_t *su = &r->sustained;
    if (!ok && r->reason[0]) {
        n = md_note(o, "%s: %s: %s", who, bench_status_name(r->status), bench_result_reason(r));
    } else if (ok && su->n_windows) {
        char ttt[48] = "never", jpt[48] = "no energy counter", sus[160];
        if (isfinite(su->time_to_throttle_s))
            snprintf(ttt, sizeof ttt, "%.0f s", su->time_to_throttle_s);
        if (isfinite(su->j_per_token))
            snprintf(jpt, sizeof jpt, "%.3f J/token", su->j_per_token);
        if (isfinite(su->sustained_ts))
            snprintf(sus, sizeof sus, "sustained %.2f t/s (ratio %.2f)", su->sustained_ts, su->ratio);
        else
            snprintf(sus, sizeof sus, "sustained: absent, %s", su->absent);
        n = md_note(o, "%s: sustained %.0f s: burst %.2f t/s, %s, time to throttle %s, %s%s", who,
                    su->duration_s, su->burst_ts, sus, ttt, jpt, su->sensors ? "" : ", no sensors");
    } else if (ok && r->reason[0]) {
        n = md_note(o, "%s: %s", who, r->reason);
    }
    if (n)
        snprintf(note, sizeof note, "[%zu]", n);
    /* "±" is 2 bytes, 1 column: widen its field by one byte. */
    char cpus[320];
    bench_cell_pin_label(&r->cell, cpus, sizeof cpus);
    fprintf(f, "| %-28s | %10s | %8s | %-8s | %7d | %-12s | %-18s | %*s | %10s | %6s | %9s | %10s | %-10s | %-4s |\n",
            model, size, params, kernel, r->cell.n_threads, cpus, label,
            ok ? 21 : 20, ts, med, cv, ttft, rss,
            ok ? (r->sustained.n_windows ? "sustained" : bench_stop_name(r->stop)) : "-", note);
}

void bench_out_row(bench_out_t *o, const bench_result_t *r)
{
    FILE *f = o->f;
    if (o->fmt == BENCH_OUT_MD) {
        md_row(o, r);
        o->rows++;
        fflush(f);
        return;
    }
    val_t *v = calloc(NCOLS, sizeof *v);
    if (!v)
        return;
    values(o, r, v);
    switch (o->fmt) {
    case BENCH_OUT_CSV:
        for (int i = 0; i < NCOLS; i++) {
            if (i)
                fputc(',', f);
            switch (cols[i].kind) {
            case K_STR: csv_str(f, v[i].s); break;
            case K_INT:
            case K_BOOL: if (v[i].i != INT64_MIN) fprintf(f, "%lld", (long long)v[i].i); break;
            case K_NUM: if (isfinite(v[i].d)) fprintf(f, "%.6f", v[i].d); break;
            case K_ARR: fputc('"', f); arr_text(f, &v[i], " ", !strcmp(cols[i].name, "samples_ns")); fputc('"', f); break;
            }
        }
        fputc('\n', f);
        break;
    case BENCH_OUT_JSON:
    case BENCH_OUT_JSONL: {
        if (o->fmt == BENCH_OUT_JSON && o->rows)
            fprintf(f, ",\n");
        mb_json_t j;
        mb_json_init(&j, f, false);
        mb_json_obj_begin(&j);
        for (int i = 0; i < NCOLS; i++) {
            mb_json_key(&j, cols[i].name);
            switch (cols[i].kind) {
            case K_STR: mb_json_str(&j, v[i].s); break;
            case K_INT: if (v[i].i == INT64_MIN) mb_json_null(&j); else mb_json_int(&j, v[i].i); break;
            case K_BOOL: if (v[i].i == INT64_MIN) mb_json_null(&j); else mb_json_bool(&j, v[i].i != 0); break;
            case K_NUM: mb_json_num(&j, v[i].d); break;
            case K_ARR:
                mb_json_arr_begin(&j);
                for (size_t k = 0; k < v[i].n; k++)
                    mb_json_num(&j, v[i].arr[k]);
                mb_json_arr_end(&j);
                break;
            }
        }
        mb_json_obj_end(&j);
        if (o->fmt == BENCH_OUT_JSONL)
            fputc('\n', f);
        break;
    }
    case BENCH_OUT_SQL:
        fprintf(f, "INSERT INTO test (");
        for (int i = 0; i < NCOLS; i++)
            fprintf(f, "%s%s", i ? ", " : "", cols[i].name);
        fprintf(f, ") VALUES (");
        for (int i = 0; i < NCOLS; i++) {
            if (i)
                fprintf(f, ", ");
            switch (cols[i].kind) {
            case K_STR: sql_str(f, v[i].s); break;
            case K_INT:
            case K_BOOL: if (v[i].i == INT64_MIN) fprintf(f, "NULL"); else fprintf(f, "%lld", (long long)v[i].i); break;
            case K_NUM: if (isfinite(v[i].d)) fprintf(f, "%.6f", v[i].d); else fprintf(f, "NULL"); break;
            case K_ARR: fputc('\'', f); arr_text(f, &v[i], " ", !strcmp(cols[i].name, "samples_ns")); fputc('\'', f); break;
            }
        }
        fprintf(f, ");\n");
        break;
    case BENCH_OUT_MD:
        break;
    }
    free_values(v);
    free(v);
    o->rows++;
    fflush(f);
}

void bench_out_end(bench_out_t *o)
{
    if (!o)
        return;
    if (o->fmt == BENCH_OUT_JSON)
        fprintf(o->f, "%s]\n", o->rows ? "\n" : "");
    if (o->n_notes) {
        fprintf(o->f, "\nNotes:\n\n");
        for (size_t i = 0; i < o->n_notes; i++)
            fprintf(o->f, "- [%zu] %s\n", i + 1, o->notes[i]);
    }
    fflush(o->f);
    mb_strv_free(o->notes, o->n_notes);
    free(o);
}
