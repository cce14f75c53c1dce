/* stats.c: the statistics behind compare: seeded PRNG, median,
 * Mann-Whitney U test and a percentile bootstrap of the ratio of medians. */
#include "reports.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- median ------------------------------------------------------------------ */

static void sort_small(double *x, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double v = x[i];
        size_t j = i;
        while (j > 0 && x[j - 1] > v) {
            x[j] = x[j - 1];
            j--;
        }
        x[j] = v;
    }
}

static void sort_doubles(double *x, size_t n)
{
    if (n <= 32)
        sort_small(x, n);
    else
        qsort(x, n, sizeof *x, mb_cmp_double);
}

/* Median of a scratch buffer (sorted in place). */
static double median_inplace(double *x, size_t n)
{
    if (n == 0)
        return NAN;
    sort_doubles(x, n);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

double reports_median(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    double stackbuf[64];
    double *buf = n <= 64 ? stackbuf : malloc(n * sizeof *buf);
    if (!buf)
        return NAN;
    memcpy(buf, x, n * sizeof *buf);
    double m = median_inplace(buf, n);
    if (buf != stackbuf)
        free(buf);
    return m;
}

/* ---- Mann-Whitney U ------------------------------------------------------------- */

#define MW_EXACT_MAX 20 /* exact null distribution up to 20 x 20 reps */

/* P(U <= u) under H0 for sample sizes m, n without ties: counts of
 * arrangements by dynamic programming, c[i][j][k] = c[i-1][j][k-j] + c[i][j-1][k]. */
static double mw_exact_cdf(int m, int n, int u)
{
    int K = m * n + 1;
    size_t sz = (size_t)(m + 1) * (size_t)(n + 1) * (size_t)K;
    double *c = calloc(sz, sizeof *c);
    if (!c)
        return NAN;
#define C(i, j, k) c[((size_t)(i) * (size_t)(n + 1) + (size_t)(j)) * (size_t)K + (size_t)(k)]
    for (int i = 0; i <= m; i++)
        for (int j = 0; j <= n; j++) {
            if (i == 0 || j == 0) {
                C(i, j, 0) = 1.0;
                continue;
            }
            for (int k = 0; k <= i * j; k++) {
                double v = C(i, j - 1, k);
                if (k >= j)
                    v += C(i - 1, j, k - j);
                C(i, j, k) = v;
            }
        }
    double total = 0, below = 0;
    for (int k = 0; k <= m * n; k++) {
        total += C(m, n, k);
        if (k <= u)
            below += C(m, n, k);
    }
#undef C
    free(c);
    return below / total;
}

double reports_mann_whitney_p(const double *a, size_t na, const double *b, size_t nb)
{
    if (na == 0 || nb == 0)
        return NAN;
    /* U = pairs where b exceeds a, ties count half; ranks via pairwise counts
     * (samples are reps: tens, not thousands). */
    double u = 0;
    bool ties = false;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++) {
            if (b[j] > a[i])
                u += 1;
            else if (b[j] == a[i]) {
                u += 0.5;
                ties = true;
            }
        }
    double mn = (double)na * (double)nb;
    if (!ties && na <= MW_EXACT_MAX && nb <= MW_EXACT_MAX) {
        int m = (int)na, n = (int)nb, ui = (int)u;
        double lo = mw_exact_cdf(m, n, ui);              /* P(U <= u) */
        double hi = 1.0 - mw_exact_cdf(m, n, ui - 1);   /* P(U >= u) */
        double p = 2.0 * (lo < hi ? lo : hi);
        return p > 1.0 ? 1.0 : p;
    }
    /* Normal approximation with tie and continuity correction. */
    size_t N = na + nb;
    double *all = malloc(N * sizeof *all);
    if (!all)
        return NAN;
    memcpy(all, a, na * sizeof *all);
    memcpy(all + na, b, nb * sizeof *all);
    sort_doubles(all, N);
    double tie_sum = 0;
    for (size_t i = 0; i < N;) {
        size_t j = i;
        while (j < N && all[j] == all[i])
            j++;
        double t = (double)(j - i);
        tie_sum += t * t * t - t;
        i = j;
    }
    free(all);
    double Nd = (double)N;
    double var = mn / 12.0 * ((Nd + 1.0) - tie_sum / (Nd * (Nd - 1.0)));
    if (var <= 0)
        return 1.0; /* every value equal */
    double z = (fabs(u - mn / 2.0) - 0.5) / sqrt(var);
    if (z < 0)
        z = 0;
    return erfc(z / sqrt(2.0));
}

/* ---- bootstrap ----------------------------------------------------------------- */

int reports_bootstrap_ratio_ci(const double *a, size_t na, const double *b, size_t nb,
                               double level, int n_boot, uint64_t seed, double *lo, double *hi)
{
    *lo = *hi = NAN;
    if (na == 0 || nb == 0 || n_boot < 10 || !(level > 0 && level < 1))
        return mb_err_set(MB_EINVAL, "bootstrap needs samples on both sides, >= 10 resamples "
                                     "and a level in (0,1) (got %zu, %zu, %d, %g)",
                          na, nb, n_boot, level);
    double *ra = malloc(na * sizeof *ra), *rb = malloc(nb * sizeof *rb);
    double *ratios = malloc((size_t)n_boot * sizeof *ratios);
    if (!ra || !rb || !ratios) {
        free(ra);
        free(rb);
        free(ratios);
        return mb_err_set(MB_ENOMEM, "bootstrap: out of memory for %d resamples", n_boot);
    }
    mb_rng_t rng;
    mb_rng_seed(&rng, seed);
    int k = 0;
    for (int i = 0; i < n_boot; i++) {
        for (size_t j = 0; j < na; j++)
            ra[j] = a[mb_rng_next(&rng) % na];
        for (size_t j = 0; j < nb; j++)
            rb[j] = b[mb_rng_next(&rng) % nb];
        double ma = median_inplace(ra, na), mbv = median_inplace(rb, nb);
        if (ma > 0 && isfinite(mbv))
            ratios[k++] = mbv / ma;
    }
    if (k > 0) {
        sort_doubles(ratios, (size_t)k);
        double q = (1.0 - level) / 2.0;
        size_t il = (size_t)floor(q * (k - 1));
        size_t ih = (size_t)ceil((1.0 - q) * (k - 1));
        *lo = ratios[il];
        *hi = ratios[ih];
    }
    free(ra);
    free(rb);
    free(ratios);
    return k > 0 ? 0 : mb_err_set(MB_EINVAL, "bootstrap: baseline median is not positive");
}
