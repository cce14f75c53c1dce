/* sensors.c: bench_sensors_t over the probes' background sampler (hottest
 * zone, per-CPU frequency), the device probe's trip points, and the RAPL
 * energy counter where it is readable (often root-only: then no energy). */
#include "bench.h"
#include "probes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RING 4096

struct bench_probe_sensors {
    probes_sampler_t *sampler;
    bool running;
    int n_temp, n_freq;
    double trip_c;          /* lowest passive/hot/critical trip point; NAN: none */
    char rapl_path[600];    /* "" without a readable counter */
    char rapl_zone[48];
    double rapl_range_j;    /* wrap-around of the counter */
    double rapl_last, rapl_acc; /* unwrapped accumulation */
    probes_sample_t *buf;
};

static double read_rapl_raw(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NAN;
    unsigned long long uj;
    int ok = fscanf(f, "%llu", &uj) == 1;
    fclose(f);
    return ok ? (double)uj * 1e-6 : NAN;
}

int bench_probe_sensors_create(bench_probe_sensors_t **out)
{
    *out = NULL;
    bench_probe_sensors_t *p = calloc(1, sizeof *p);
    if (!p || !(p->buf = malloc(RING * sizeof *p->buf))) {
        free(p);
        return mb_err_set(MB_ENOMEM, "out of memory for the sensor sampler");
    }
    p->trip_c = NAN;
    p->rapl_last = NAN;
    int rc = probes_sampler_create(100, RING, NULL, &p->sampler);
    if (rc) {
        MB_WARN("no sensor sampler: %s", mb_err_msg());
        p->sampler = NULL;
    } else {
        probes_sampler_sensors(p->sampler, &p->n_temp, &p->n_freq);
    }
    probes_device_t dev;
    probes_opts_t po = {.quiet = true};
    if (probes_device_probe(&po, &dev) == 0) {
        for (size_t z = 0; z < dev.thermal.n_zones; z++)
            for (int t = 0; t < dev.thermal.zones[z].ntrips; t++) {
                const char *ty = dev.thermal.zones[z].trips[t].type;
                double c = dev.thermal.zones[z].trips[t].temp_c.v;
                if (dev.thermal.zones[z].trips[t].temp_c.ok && c > 0 &&
                    (!strcmp(ty, "passive") || !strcmp(ty, "hot") || !strcmp(ty, "critical")) &&
                    (!isfinite(p->trip_c) || c < p->trip_c))
                    p->trip_c = c;
            }
        for (size_t i = 0; i < dev.power.n_rapl; i++) {
            const probes_rapl_t *r = &dev.power.rapl[i];
            if (!r->energy_uj.ok)
                continue;
            const char *root = probes_root_get();
            snprintf(p->rapl_path, sizeof p->rapl_path, "%s/sys/class/powercap/%s/energy_uj",
                     root && strcmp(root, "/") ? root : "", r->zone);
            snprintf(p->rapl_zone, sizeof p->rapl_zone, "%s", r->zone);
            p->rapl_range_j = r->max_energy_range_uj.ok ? (double)r->max_energy_range_uj.v * 1e-6 : 0;
            if (!isfinite(read_rapl_raw(p->rapl_path)))
                p->rapl_path[0] = '\0';
            break;
        }
    }
    probes_device_free(&dev);
    *out = p;
    return MB_OK;
}

void bench_probe_sensors_destroy(bench_probe_sensors_t *p)
{
    if (!p)
        return;
    if (p->sampler) {
        if (p->running)
            probes_sampler_stop(p->sampler);
        probes_sampler_destroy(p->sampler);
    }
    free(p->buf);
    free(p);
}

void bench_probe_sensors_describe(const bench_probe_sensors_t *p, char *buf, size_t len)
{
    if (!p->n_temp && !p->n_freq && !p->rapl_path[0]) {
        snprintf(buf, len, "no sensors");
        return;
    }
    snprintf(buf, len, "%d temperature, %d frequency sensors, energy: %s", p->n_temp, p->n_freq,
             p->rapl_path[0] ? p->rapl_zone : "no counter");
}

static int ps_start(void *ctx)
{
    bench_probe_sensors_t *p = ctx;
    if (!p->sampler)
        return MB_OK;
    if (p->running)
        return MB_OK;
    int rc = probes_sampler_start(p->sampler);
    p->running = rc == 0;
    return rc;
}

static void ps_stop(void *ctx)
{
    bench_probe_sensors_t *p = ctx;
    if (p->sampler && p->running)
        probes_sampler_stop(p->sampler);
    p->running = false;
}

static double cpu_mean(const probes_sample_t *s)
{
    double sum = 0;
    int n = 0;
    for (int i = 0; i < s->ncpus && i < PROBES_SAMPLER_MAX_CPUS; i++)
        if (isfinite(s->mhz[i])) {
            sum += s->mhz[i];
            n++;
        }
    return n ? sum / n : NAN;
}

static void acc(double v, double *mn, double *sum, double *mx, int *n)
{
    if (!isfinite(v))
        return;
    *mn = *n && *mn < v ? *mn : v;
    *mx = *n && *mx > v ? *mx : v;
    *sum += v;
    (*n)++;
}

static int ps_window(void *ctx, uint64_t t0, uint64_t t1, bench_sensor_window_t *out)
{
    bench_probe_sensors_t *p = ctx;
    if (!p->sampler)
        return MB_OK; /* out already says "none" */
    size_t n = 0;
    int rc = probes_sampler_read(p->sampler, p->buf, RING, &n);
    if (rc)
        return rc;
    /* Samples inside the window; a window shorter than the period uses the
     * last sample taken before its end. */
    size_t first = n, last = n;
    for (size_t i = 0; i < n; i++) {
        if (p->buf[i].t_ns >= t0 && p->buf[i].t_ns <= t1) {
            if (first == n)
                first = i;
            last = i;
        }
    }
    if (first == n) {
        for (size_t i = n; i-- > 0;)
            if (p->buf[i].t_ns <= t1) {
                first = last = i;
                break;
            }
        if (first == n)
            return MB_OK;
    }
    double tmn = 0, tsum = 0, tmx = 0, fmn = 0, fsum = 0, fmx = 0;
    int tn = 0, fn = 0;
    for (size_t i = first; i <= last; i++) {
        acc(p->buf[i].hottest_c, &tmn, &tsum, &tmx, &tn);
        acc(cpu_mean(&p->buf[i]), &fmn, &fsum, &fmx, &fn);
    }
    if (tn || fn)
        out->n_samples = (int)(last - first + 1); /* readings, not just sampler ticks */
    if (tn) {
        out->temp_min = tmn;
        out->temp_mean = tsum / tn;
        out->temp_max = tmx;
        out->trip = isfinite(p->trip_c) && tmx >= p->trip_c;
    }
    if (fn) {
        out->freq_min = fmn;
        out->freq_mean = fsum / fn;
        out->freq_max = fmx;
    }
    return MB_OK;
}

static double ps_hottest(void *ctx)
{
    bench_probe_sensors_t *p = ctx;
    if (!p->sampler || !p->n_temp)
        return NAN;
    bool was = p->running;
    uint64_t before = probes_sampler_count(p->sampler);
    if (!was && ps_start(p))
        return NAN;
    /* One fresh sample (the period is 100 ms). */
    uint64_t until = mb_clock_ns() + 1000000000ull;
    while (probes_sampler_count(p->sampler) == before && mb_clock_ns() < until)
        mb_clock_sleep_ns(10000000);
    size_t n = 0;
    double v = NAN;
    if (probes_sampler_read(p->sampler, p->buf, RING, &n) == 0 && n)
        v = p->buf[n - 1].hottest_c;
    if (!was)
        ps_stop(p);
    return v;
}

static double ps_energy(void *ctx)
{
    bench_probe_sensors_t *p = ctx;
    if (!p->rapl_path[0])
        return NAN;
    double e = read_rapl_raw(p->rapl_path);
    if (!isfinite(e))
        return NAN;
    if (isfinite(p->rapl_last)) {
        double d = e - p->rapl_last;
        if (d < 0 && p->rapl_range_j > 0)
            d += p->rapl_range_j; /* the counter wrapped */
        if (d >= 0)
            p->rapl_acc += d;
    }
    p->rapl_last = e;
    return p->rapl_acc;
}

bench_sensors_t bench_probe_sensors(bench_probe_sensors_t *p)
{
    return (bench_sensors_t){p, ps_start, ps_stop, ps_window, ps_hottest, ps_energy};
}
