/* stats.c: summary statistics of repetition samples (tokens/s, latencies). */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* t(0.975, df) for df = 1..30; beyond that the Cornish-Fisher expansion
 * below is accurate to better than 1e-4. */
static const double t975_table[30] = {
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
    2.2010,  2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
    2.0796,  2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
};

double bench_t975(size_t df)
{
    if (df == 0)
        return NAN;
    if (df <= 30)
        return t975_table[df - 1];
    const double z = 1.959963984540054, d = (double)df;
    const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
    return z + (z3 + z) / (4 * d) + (5 * z5 + 16 * z3 + 3 * z) / (96 * d * d) +
           (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * d * d * d);
}

double bench_percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return NAN;
    if (p <= 0)
        return sorted[0];
    if (p >= 1)
        return sorted[n - 1];
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

int bench_stats_compute(const double *x, size_t n, bench_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return mb_err_set(MB_EINVAL, "statistics of zero samples: run at least one repetition");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return mb_err_set(MB_EINVAL, "sample %zu is not a finite number", i);
    double *s = malloc(n * sizeof *s);
    if (!s)
        return mb_err_set(MB_ENOMEM, "out of memory sorting %zu samples", n);
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, mb_cmp_double);

    /* Two-pass mean and variance: exact enough for benchmark samples. */
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += s[i];
    double mean = sum / (double)n;
    out->n = n;
    out->mean = mean;
    out->min = s[0];
    out->max = s[n - 1];
    out->median = out->p50 = bench_percentile(s, n, 0.5);
    out->p90 = bench_percentile(s, n, 0.9);
    out->p99 = bench_percentile(s, n, 0.99);
    if (n >= 2) {
        double ss = 0;
        for (size_t i = 0; i < n; i++)
            ss += (s[i] - mean) * (s[i] - mean);
        out->stddev = sqrt(ss / (double)(n - 1));
        out->cv = mean != 0 ? out->stddev / fabs(mean) : NAN;
        out->ci95 = bench_t975(n - 1) * out->stddev / sqrt((double)n);
    } else {
        out->stddev = out->cv = out->ci95 = NAN;
    }
    free(s);
    return MB_OK;
}
