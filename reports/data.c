/* data.c: the plain in-memory records every report works on. */
#include "reports.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void reports_cell_init(reports_cell_t *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->status, "ok");
    c->median_ts = c->ci_lo_ts = c->ci_hi_ts = c->cv = NAN;
    c->ttft_ms = c->decode_ts = c->kld = c->ppl_delta = c->temp_max_c = c->roofline_pct = NAN;
    c->text_ppl = c->text_ppl_err = NAN;
}

void reports_device_init(reports_device_t *dev)
{
    memset(dev, 0, sizeof *dev);
    dev->bw_gbs = dev->peak_f32_gflops = dev->peak_int8_gops = NAN;
}

void reports_data_free(reports_data_t *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_cells; i++)
        free(d->cells[i].samples_ts);
    free(d->cells);
    free(d->devices);
    free(d->runs);
    free(d->sensors);
    free(d->textq);
    memset(d, 0, sizeof *d);
}

/* Grows an array about to hold n + 1 elements. No capacity field: the
 * capacity is 8, then doubles, so it is full exactly when n is 0 or a power
 * of two >= 8. */
static int grow(void **arr, size_t n, size_t elem)
{
    if (n != 0 && (n < 8 || (n & (n - 1)) != 0))
        return 0;
    size_t cap = n ? n * 2 : 8;
    void *p = realloc(*arr, cap * elem);
    if (!p)
        return mb_err_set(MB_ENOMEM, "out of memory for %zu report records", cap);
    *arr = p;
    return 0;
}

int reports_data_add_cell(reports_data_t *d, const reports_cell_t *c)
{
    int rc = grow((void **)&d->cells, d->n_cells, sizeof *d->cells);
    if (rc)
        return rc;
    reports_cell_t *dst = &d->cells[d->n_cells];
    *dst = *c;
    dst->samples_ts = NULL;
    if (c->n_samples) {
        dst->samples_ts = malloc(c->n_samples * sizeof *dst->samples_ts);
        if (!dst->samples_ts)
            return mb_err_set(MB_ENOMEM, "out of memory for %zu samples", c->n_samples);
        memcpy(dst->samples_ts, c->samples_ts, c->n_samples * sizeof *dst->samples_ts);
    }
    d->n_cells++;
    return 0;
}

int reports_data_add_device(reports_data_t *d, const reports_device_t *dev)
{
    int rc = grow((void **)&d->devices, d->n_devices, sizeof *d->devices);
    if (rc)
        return rc;
    d->devices[d->n_devices++] = *dev;
    return 0;
}

int reports_data_add_run(reports_data_t *d, const reports_run_t *r)
{
    int rc = grow((void **)&d->runs, d->n_runs, sizeof *d->runs);
    if (rc)
        return rc;
    /* keep runs ascending by start time (insertion: runs are few) */
    size_t i = d->n_runs;
    while (i > 0 && d->runs[i - 1].t_start > r->t_start) {
        d->runs[i] = d->runs[i - 1];
        i--;
    }
    d->runs[i] = *r;
    d->n_runs++;
    return 0;
}

int reports_data_add_sensor(reports_data_t *d, const reports_sensor_t *s)
{
    int rc = grow((void **)&d->sensors, d->n_sensors, sizeof *d->sensors);
    if (rc)
        return rc;
    d->sensors[d->n_sensors++] = *s;
    return 0;
}

int reports_data_add_textq(reports_data_t *d, const reports_textq_t *q)
{
    int rc = grow((void **)&d->textq, d->n_textq, sizeof *d->textq);
    if (rc)
        return rc;
    d->textq[d->n_textq++] = *q;
    return 0;
}

const reports_device_t *reports_data_device(const reports_data_t *d, const char *id)
{
    for (size_t i = 0; i < d->n_devices; i++)
        if (!strcmp(d->devices[i].id, id))
            return &d->devices[i];
    return NULL;
}

const reports_run_t *reports_data_run(const reports_data_t *d, const char *id)
{
    for (size_t i = 0; i < d->n_runs; i++)
        if (!strcmp(d->runs[i].id, id))
            return &d->runs[i];
    return NULL;
}

int reports_run_resolve(const reports_data_t *d, const char *spec, char out[64])
{
    if (d->n_runs == 0)
        return mb_err_set(MB_ENOENT, "the database holds no runs; run 'mobench bench' or "
                                     "'mobench sweep' first");
    if (!strcmp(spec, "latest")) {
        snprintf(out, 64, "%s", d->runs[d->n_runs - 1].id);
        return 0;
    }
    if (!strcmp(spec, "previous")) {
        if (d->n_runs < 2)
            return mb_err_set(MB_ENOENT, "'previous' needs two runs, the database holds one (%s)",
                              d->runs[0].id);
        /* the run before the latest one on the same device */
        const reports_run_t *last = &d->runs[d->n_runs - 1];
        for (size_t i = d->n_runs - 1; i-- > 0;)
            if (!strcmp(d->runs[i].device_id, last->device_id)) {
                snprintf(out, 64, "%s", d->runs[i].id);
                return 0;
            }
        return mb_err_set(MB_ENOENT, "'previous': no earlier run on the device of the latest "
                                     "run %s; name the baseline run", last->id);
    }
    const reports_run_t *hit = NULL;
    size_t len = strlen(spec);
    for (size_t i = 0; i < d->n_runs; i++) {
        if (!strcmp(d->runs[i].id, spec)) {
            hit = &d->runs[i];
            break;
        }
        if (len >= 4 && !strncmp(d->runs[i].id, spec, len)) {
            if (hit)
                return mb_err_set(MB_EINVAL, "run '%s' is ambiguous (%s, %s, ...); give more "
                                             "characters of the id",
                                  spec, hit->id, d->runs[i].id);
            hit = &d->runs[i];
        }
    }
    if (!hit)
        return mb_err_set(MB_ENOENT, "no run '%s' in the database (latest is %s); use a run id "
                                     "from 'mobench db export', 'latest' or 'previous'",
                          spec, d->runs[d->n_runs - 1].id);
    snprintf(out, 64, "%s", hit->id);
    return 0;
}
