/* ceilings.c: measured ceilings for the roofline. Memory bandwidth (read,
 * copy, triad) on a buffer far beyond the last-level cache, and peak f32 FMA
 * and int8 dot throughput for each ISA level present, per thread count.
 * Every figure is the median of `passes` timed passes of all threads at
 * once (a barrier starts and ends each pass). */
#include "ceil_kernels.h"
#include "probes_impl.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- portable fallbacks (auto-vectorized at best) ------------------------------ */

float ceil_read_scalar(const float *a, size_t n)
{
    float s[8] = {0};
    for (size_t i = 0; i < n; i += 8)
        for (int k = 0; k < 8; k++)
            s[k] += a[i + k];
    return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

float ceil_read_pf_scalar(const float *a, size_t n)
{
    float s[8] = {0};
    for (size_t i = 0; i < n; i += 16) {
        __builtin_prefetch((const char *)(a + i) + CEIL_PF_BYTES); /* past the end: harmless */
        for (int k = 0; k < 16; k++)
            s[k & 7] += a[i + k];
    }
    return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

void ceil_copy_scalar(float *restrict d, const float *restrict s, size_t n)
{
    memcpy(d, s, n * sizeof *d);
}

void ceil_triad_scalar(float *restrict a, const float *restrict b, const float *restrict c, float k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] + k * c[i];
}

/* ---- kernel selection ----------------------------------------------------------------- */

typedef float (*read_fn)(const float *, size_t);
typedef void (*copy_fn)(float *restrict, const float *restrict, size_t);
typedef void (*triad_fn)(float *restrict, const float *restrict, const float *restrict, float, size_t);
typedef double (*peak_fn)(uint64_t); /* returns a checksum */

typedef struct {
    const char *name;
    read_fn read;
    copy_fn copy;
    triad_fn triad;
    read_fn read_pf; /* read with a software prefetch (ceil_kernels.h) */
} bw_kernels_t;

/* ceil_avx512.c is compiled with AVX-512 F/BW/VL/DQ/VNNI (the *_avx512.c
 * flags): the compiler may use any of them anywhere in it, so all must be
 * present, not only AVX512F (a Xeon Phi has F without BW/VL). */
#if defined(__x86_64__) || defined(__i386__)
static bool ceil_avx512_ok(const probes_features_t *f)
{
    static const probes_feature_t need[] = {PROBES_FEAT_AVX512F, PROBES_FEAT_AVX512BW,
                                            PROBES_FEAT_AVX512VL, PROBES_FEAT_AVX512DQ,
                                            PROBES_FEAT_AVX512_VNNI};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!probes_features_has(f, need[i]))
            return false;
    return true;
}
#endif

static bw_kernels_t pick_bw(const probes_features_t *f)
{
    bw_kernels_t k = {"scalar", ceil_read_scalar, ceil_copy_scalar, ceil_triad_scalar, ceil_read_pf_scalar};
#if defined(__x86_64__) || defined(__i386__)
    if (ceil_avx512_ok(f))
        return (bw_kernels_t){"avx512", ceil_read_avx512, ceil_copy_avx512, ceil_triad_avx512,
                              ceil_read_pf_avx512};
    if (probes_features_has(f, PROBES_FEAT_AVX2) && probes_features_has(f, PROBES_FEAT_FMA))
        return (bw_kernels_t){"avx2", ceil_read_avx2, ceil_copy_avx2, ceil_triad_avx2, ceil_read_pf_avx2};
#elif defined(__aarch64__)
    if (probes_features_has(f, PROBES_FEAT_ASIMD))
        return (bw_kernels_t){"neon", ceil_read_neon, ceil_copy_neon, ceil_triad_neon, ceil_read_pf_neon};
#endif
    (void)f;
    return k;
}

#if defined(__x86_64__) || defined(__i386__)
static double pk_fma_avx2(uint64_t n) { return ceil_fma_avx2(n); }
static double pk_maddubs_avx2(uint64_t n) { return ceil_maddubs_avx2(n); }
static double pk_fma_avx512(uint64_t n) { return ceil_fma_avx512(n); }
static double pk_vnni_avx512(uint64_t n) { return ceil_vnni_avx512(n); }
static double pk_vnni_avxvnni(uint64_t n) { return ceil_vnni_avxvnni(n); }
#elif defined(__aarch64__)
static double pk_fma_neon(uint64_t n) { return ceil_fma_neon(n); }
static double pk_sdot_dotprod(uint64_t n) { return ceil_sdot_dotprod(n); }
#endif

typedef struct {
    const char *name, *kind, *isa;
    probes_feature_t need, need2;
    peak_fn fn;
    double ops_per_iter;
} peak_def_t;

static const peak_def_t peak_defs[] = {
#if defined(__x86_64__) || defined(__i386__)
    {"f32_fma_avx2", "f32", "avx2+fma", PROBES_FEAT_AVX2, PROBES_FEAT_FMA, pk_fma_avx2, CEIL_CHAINS * 16.0},
    {"f32_fma_avx512", "f32", "avx512f", PROBES_FEAT_AVX512F, PROBES_FEAT_AVX512F, pk_fma_avx512, CEIL_CHAINS * 32.0},
    {"i8_maddubs_avx2", "i8", "avx2", PROBES_FEAT_AVX2, PROBES_FEAT_AVX2, pk_maddubs_avx2, CEIL_CHAINS * 64.0},
    {"i8_vnni_avxvnni", "i8", "avx_vnni", PROBES_FEAT_AVX_VNNI, PROBES_FEAT_AVX2, pk_vnni_avxvnni, CEIL_CHAINS * 64.0},
    {"i8_vnni_avx512", "i8", "avx512_vnni", PROBES_FEAT_AVX512_VNNI, PROBES_FEAT_AVX512BW, pk_vnni_avx512,
     CEIL_CHAINS * 128.0},
#elif defined(__aarch64__)
    {"f32_fma_neon", "f32", "asimd", PROBES_FEAT_ASIMD, PROBES_FEAT_ASIMD, pk_fma_neon, CEIL_CHAINS * 8.0},
    {"i8_sdot_dotprod", "i8", "dotprod", PROBES_FEAT_DOTPROD, PROBES_FEAT_DOTPROD, pk_sdot_dotprod, CEIL_CHAINS * 32.0},
#endif
    {NULL, NULL, NULL, PROBES_FEAT_COUNT, PROBES_FEAT_COUNT, NULL, 0},
};

/* ---- a team of pinned threads running timed passes --------------------------------- */

typedef enum { JOB_TOUCH, JOB_READ, JOB_READ_PF, JOB_COPY, JOB_TRIAD, JOB_PEAK } job_kind_t;

typedef struct team team_t;
typedef struct {
    team_t *team;
    int id;
} worker_t;

struct team {
    int n;
    int passes;
    pthread_barrier_t bar;
    job_kind_t job;
    bw_kernels_t bw;
    float *buf;
    size_t nfloats; /* whole buffer */
    peak_fn peak;
    uint64_t iters;
    double *times; /* passes */
    volatile double sink;
    pthread_mutex_t sink_lock;
    /* start gate: workers wait until every thread exists (or give up) */
    pthread_mutex_t gate_lock;
    pthread_cond_t gate_cond;
    int gate; /* 0 wait, 1 go, -1 abort */
};

static int ncpus_online(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Slice [lo, hi) of n floats for worker id of k, aligned to 64 floats. */
static void slice(size_t n, int k, int id, size_t *lo, size_t *hi)
{
    size_t blocks = n / 64;
    *lo = blocks * (size_t)id / (size_t)k * 64;
    *hi = blocks * (size_t)(id + 1) / (size_t)k * 64;
}

static void run_job(team_t *t, int id)
{
    size_t lo, hi;
    double local = 0;
    switch (t->job) {
    case JOB_TOUCH:
        slice(t->nfloats, t->n, id, &lo, &hi);
        for (size_t i = lo; i < hi; i++)
            t->buf[i] = (float)(i & 7) * 0.125f;
        break;
    case JOB_READ:
    case JOB_READ_PF:
        slice(t->nfloats, t->n, id, &lo, &hi);
        local = (t->job == JOB_READ ? t->bw.read : t->bw.read_pf)(t->buf + lo, hi - lo);
        break;
    case JOB_COPY: {
        size_t half = t->nfloats / 2 / 64 * 64;
        slice(half, t->n, id, &lo, &hi);
        t->bw.copy(t->buf + half + lo, t->buf + lo, hi - lo);
        local = t->buf[half + lo];
        break;
    }
    case JOB_TRIAD: {
        size_t third = t->nfloats / 3 / 64 * 64;
        slice(third, t->n, id, &lo, &hi);
        t->bw.triad(t->buf + lo, t->buf + third + lo, t->buf + 2 * third + lo, 0.5f, hi - lo);
        local = t->buf[lo];
        break;
    }
    case JOB_PEAK:
        local = t->peak(t->iters);
        break;
    }
    if (local != 0) { /* keep results alive without a shared hot line in the loop */
        pthread_mutex_lock(&t->sink_lock);
        t->sink += local;
        pthread_mutex_unlock(&t->sink_lock);
    }
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    team_t *t = w->team;
    int ncpu = ncpus_online();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(w->id % ncpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set); /* best effort: pinning steadies figures */
    pthread_mutex_lock(&t->gate_lock);
    while (t->gate == 0)
        pthread_cond_wait(&t->gate_cond, &t->gate_lock);
    int gate = t->gate;
    pthread_mutex_unlock(&t->gate_lock);
    if (gate < 0)
        return NULL;
    for (int p = 0; p < t->passes; p++) {
        pthread_barrier_wait(&t->bar);
        uint64_t t0 = w->id == 0 ? mb_clock_ns() : 0;
        run_job(t, w->id);
        pthread_barrier_wait(&t->bar);
        if (w->id == 0)
            t->times[p] = (double)(mb_clock_ns() - t0) * 1e-9;
    }
    return NULL;
}

/* Runs `passes` passes of the job on n threads; *best gets the fastest pass and
 * *median the median, in seconds. */
static int team_run2(team_t *t, int n, int passes, double *best, double *median)
{
    t->n = n;
    t->passes = passes;
    double times[64];
    t->times = times;
    if (pthread_barrier_init(&t->bar, NULL, (unsigned)n) != 0)
        return mb_err_set(MB_ENOMEM, "cannot create a thread barrier for %d threads", n);
    pthread_t th[256];
    worker_t w[256];
    int started = 0, rc = MB_OK;
    t->gate = 0;
    for (int i = 1; i < n; i++) {
        w[i] = (worker_t){t, i};
        if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0) {
            rc = mb_err_set(MB_ENOMEM, "cannot start measurement thread %d of %d; try fewer --threads", i, n);
            break;
        }
        started++;
    }
    pthread_mutex_lock(&t->gate_lock);
    t->gate = rc == MB_OK ? 1 : -1;
    pthread_cond_broadcast(&t->gate_cond);
    pthread_mutex_unlock(&t->gate_lock);
    if (rc != MB_OK) {
        for (int i = 1; i <= started; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&t->bar);
        return rc;
    }
    /* the caller's thread is worker 0: restore its affinity afterwards */
    cpu_set_t saved;
    bool have_saved = pthread_getaffinity_np(pthread_self(), sizeof saved, &saved) == 0;
    w[0] = (worker_t){t, 0};
    worker_main(&w[0]);
    if (have_saved)
        pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
    for (int i = 1; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&t->bar);
    qsort(times, (size_t)passes, sizeof *times, mb_cmp_double);
    *best = times[0];
    *median = passes % 2 ? times[passes / 2] : 0.5 * (times[passes / 2 - 1] + times[passes / 2]);
    return MB_OK;
}

static int team_run(team_t *t, int n, int passes, double *best)
{
    double med;
    return team_run2(t, n, passes, best, &med);
}

static uint64_t ram_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), ps = sysconf(_SC_PAGESIZE);
    return pages > 0 && ps > 0 ? (uint64_t)pages * (uint64_t)ps : 0;
}

uint64_t probes_bw_meter_default_bytes(void)
{
    uint64_t ram = ram_bytes();
    return MB_MIN(1ull << 30, ram ? ram / 4 : 1ull << 30);
}

/* The bandwidth buffer's size: want (0: the default), checked against RAM
 * and rounded down to a multiple of unit bytes. */
static int buffer_size(uint64_t want, uint64_t unit, uint64_t *out)
{
    uint64_t ram = ram_bytes(), bytes = want ? want : probes_bw_meter_default_bytes();
    if (bytes < (1u << 20))
        return mb_err_set(MB_EINVAL, "bandwidth buffer of %llu bytes is too small (min 1 MiB)",
                          (unsigned long long)bytes);
    if (ram && bytes > ram / 2)
        return mb_err_set(MB_EINVAL, "bandwidth buffer of %llu bytes exceeds half of RAM (%llu bytes)",
                          (unsigned long long)bytes, (unsigned long long)ram);
    *out = bytes / unit * unit;
    return MB_OK;
}

int probes_ceilings_measure(const probes_ceilings_opts_t *opts, probes_ceilings_t *out)
{
    memset(out, 0, sizeof *out);
    uint64_t t_start = mb_clock_ns();
    int ncpu = ncpus_online();
    int passes = opts && opts->passes > 0 ? opts->passes : 5;
    if (passes > 64)
        return mb_err_set(MB_EINVAL, "passes %d too many (max 64)", passes);
    bool quiet = opts && opts->quiet;

    /* thread counts: given, else 1, 2, 4, ... and nproc */
    int nt = 0;
    int threads[PROBES_MAX_THREAD_COUNTS];
    if (opts && opts->n_threads > 0) {
        if (opts->n_threads > PROBES_MAX_THREAD_COUNTS)
            return mb_err_set(MB_EINVAL, "%d thread counts given; at most %d", opts->n_threads,
                              PROBES_MAX_THREAD_COUNTS);
        for (int i = 0; i < opts->n_threads; i++) {
            if (opts->threads[i] < 1 || opts->threads[i] > 256)
                return mb_err_set(MB_EINVAL, "thread count %d out of range 1..256", opts->threads[i]);
            threads[nt++] = opts->threads[i];
        }
    } else {
        for (int t = 1; t < ncpu && nt < PROBES_MAX_THREAD_COUNTS - 1; t *= 2)
            threads[nt++] = t;
        threads[nt++] = ncpu;
    }

    uint64_t bytes; /* thirds of 64 floats: the triad's three arrays */
    int rc = buffer_size(opts ? opts->buffer_bytes : 0, 64 * 3 * sizeof(float), &bytes);
    if (rc)
        return rc;
    out->buffer_bytes = bytes;
    out->passes = passes;

    probes_features_t f;
    probes_features_detect(&f);
    team_t team;
    memset(&team, 0, sizeof team);
    pthread_mutex_init(&team.sink_lock, NULL);
    pthread_mutex_init(&team.gate_lock, NULL);
    pthread_cond_init(&team.gate_cond, NULL);
    team.bw = pick_bw(&f);
    out->read_kernel = team.bw.name;

    float *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        pthread_mutex_destroy(&team.sink_lock);
        pthread_mutex_destroy(&team.gate_lock);
        pthread_cond_destroy(&team.gate_cond);
        return mb_err_set(MB_ENOMEM, "cannot map a %llu-byte bandwidth buffer; pass a smaller --buffer",
                          (unsigned long long)bytes);
    }
    /* huge pages where THP allows: fewer TLB misses, figures closer to the DRAM limit */
    madvise(buf, bytes, MADV_HUGEPAGE);
    team.buf = buf;
    team.nfloats = bytes / sizeof(float);
    rc = MB_OK;
    double sec;
    /* first touch from every thread of the largest team (pages land near their users) */
    int tmax = 1;
    for (int i = 0; i < nt; i++)
        tmax = MB_MAX(tmax, threads[i]);
    team.job = JOB_TOUCH;
    if ((rc = team_run(&team, tmax, 1, &sec)) != MB_OK)
        goto done;

    for (int i = 0; i < nt; i++) {
        probes_bw_point_t *p = &out->bw[out->n_bw++];
        p->threads = threads[i];
        double pf_med = 0;
        const struct { job_kind_t job; double *best, *med; } jobs[] = {
            {JOB_READ, &p->read_plain_gbs, &p->read_median_gbs},
            {JOB_READ_PF, &p->read_prefetch_gbs, &pf_med},
            {JOB_COPY, &p->copy_gbs, &p->copy_median_gbs},
            {JOB_TRIAD, &p->triad_gbs, &p->triad_median_gbs}};
        for (size_t k = 0; k < MB_ARRAY_LEN(jobs); k++) {
            team.job = jobs[k].job;
            double med;
            /* warm-up pass, then the timed ones */
            if ((rc = team_run(&team, threads[i], 1, &sec)) != MB_OK ||
                (rc = team_run2(&team, threads[i], passes, &sec, &med)) != MB_OK)
                goto done;
            /* bytes moved: read = buffer; copy = half read + half written; triad = 3 thirds */
            *jobs[k].best = (double)bytes / sec * 1e-9;
            *jobs[k].med = (double)bytes / med * 1e-9;
        }
        /* the read ceiling: the faster kernel (its best pass, and its median) */
        bool pf = p->read_prefetch_gbs > p->read_plain_gbs;
        p->read_gbs = pf ? p->read_prefetch_gbs : p->read_plain_gbs;
        if (pf)
            p->read_median_gbs = pf_med;
        if (!quiet)
            MB_INFO("roofline: %d thread(s): read %.1f GB/s, copy %.1f GB/s, triad %.1f GB/s", p->threads,
                    p->read_gbs, p->copy_gbs, p->triad_gbs);
    }

    for (const peak_def_t *d = peak_defs; d->name && out->n_peaks < PROBES_MAX_PEAKS; d++) {
        if (!probes_features_has(&f, d->need) || !probes_features_has(&f, d->need2))
            continue;
#if defined(__x86_64__) || defined(__i386__)
        if (strstr(d->name, "_avx512") && !ceil_avx512_ok(&f)) /* ceil_avx512.c's flags */
            continue;
#endif
        probes_peak_t *pk = &out->peaks[out->n_peaks++];
        pr_copy(pk->name, sizeof pk->name, d->name);
        pr_copy(pk->kind, sizeof pk->kind, d->kind);
        pr_copy(pk->isa, sizeof pk->isa, d->isa);
        team.job = JOB_PEAK;
        team.peak = d->fn;
        /* calibrate on one thread: ~20 ms per pass at full speed (the fastest
         * of 3 runs, so a preempted run does not shrink the work) */
        uint64_t iters = 1 << 12;
        for (;;) {
            team.iters = iters;
            if ((rc = team_run(&team, 1, 3, &sec)) != MB_OK)
                goto done;
            if (sec > 0.002 || iters > (1ull << 40))
                break;
            iters *= 4;
        }
        team.iters = (uint64_t)((double)iters * 0.02 / (sec > 0 ? sec : 1e-3)) + 1;
        for (int i = 0; i < nt; i++) {
            double med;
            if ((rc = team_run2(&team, threads[i], passes, &sec, &med)) != MB_OK)
                goto done;
            pk->threads[pk->n] = threads[i];
            pk->gops[pk->n] = (double)threads[i] * (double)team.iters * d->ops_per_iter / sec * 1e-9;
            pk->gops_median[pk->n] = (double)threads[i] * (double)team.iters * d->ops_per_iter / med * 1e-9;
            if (!quiet)
                MB_INFO("roofline: %s %d thread(s): %.1f G%s/s", d->name, threads[i], pk->gops[pk->n],
                        !strcmp(d->kind, "f32") ? "FLOP" : "OP");
            pk->n++;
        }
    }
done:
    munmap(buf, bytes);
    pthread_mutex_destroy(&team.sink_lock);
    pthread_mutex_destroy(&team.gate_lock);
    pthread_cond_destroy(&team.gate_cond);
    out->seconds = (double)(mb_clock_ns() - t_start) * 1e-9;
    return rc;
}

/* ---- a read-bandwidth meter that keeps its buffer --------------------------------- */
struct probes_bw_meter {
    team_t team;
    uint64_t bytes;
};

int probes_bw_meter_create(uint64_t bytes, probes_bw_meter_t **out)
{
    if (!out)
        return mb_err_set(MB_EINVAL, "probes_bw_meter_create: out is NULL");
    *out = NULL;
    int rc = buffer_size(bytes, 64 * sizeof(float), &bytes);
    if (rc)
        return rc;
    probes_bw_meter_t *m = calloc(1, sizeof *m);
    if (!m)
        return mb_err_set(MB_ENOMEM, "out of memory for a bandwidth meter");
    float *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        free(m);
        return mb_err_set(MB_ENOMEM, "cannot map a %llu-byte bandwidth buffer: %s",
                          (unsigned long long)bytes, strerror(errno));
    }
    madvise(buf, bytes, MADV_HUGEPAGE); /* as the probe: figures closer to the DRAM limit */
    probes_features_t f;
    probes_features_detect(&f);
    pthread_mutex_init(&m->team.sink_lock, NULL);
    pthread_mutex_init(&m->team.gate_lock, NULL);
    pthread_cond_init(&m->team.gate_cond, NULL);
    m->team.bw = pick_bw(&f);
    m->team.buf = buf;
    m->team.nfloats = bytes / sizeof(float);
    m->bytes = bytes;
    m->team.job = JOB_TOUCH;
    double sec;
    rc = team_run(&m->team, MB_MAX(1, MB_MIN(ncpus_online(), 256)), 1, &sec);
    if (rc) {
        probes_bw_meter_destroy(m);
        return rc;
    }
    *out = m;
    return MB_OK;
}

void probes_bw_meter_destroy(probes_bw_meter_t *m)
{
    if (!m)
        return;
    munmap(m->team.buf, m->bytes);
    pthread_mutex_destroy(&m->team.sink_lock);
    pthread_mutex_destroy(&m->team.gate_lock);
    pthread_cond_destroy(&m->team.gate_cond);
    free(m);
}

uint64_t probes_bw_meter_bytes(const probes_bw_meter_t *m)
{
    return m ? m->bytes : 0;
}

int probes_bw_meter_read(probes_bw_meter_t *m, int threads, int passes, double *gbs)
{
    if (!m || !gbs)
        return mb_err_set(MB_EINVAL, "probes_bw_meter_read: meter or result is NULL");
    *gbs = NAN;
    if (threads < 1 || threads > 256)
        return mb_err_set(MB_EINVAL, "thread count %d out of range 1..256", threads);
    if (passes < 1 || passes > 64)
        return mb_err_set(MB_EINVAL, "passes %d out of range 1..64", passes);
    double best = 0;
    for (int k = 0; k < 2; k++) { /* both read kernels, as the probe's read ceiling */
        m->team.job = k ? JOB_READ_PF : JOB_READ;
        double sec;
        /* an untimed pass first, as the probe does: TLB and prefetchers warm */
        int rc = team_run(&m->team, threads, 1, &sec);
        if (!rc)
            rc = team_run(&m->team, threads, passes, &sec);
        if (rc)
            return rc;
        best = MB_MAX(best, (double)m->bytes / sec * 1e-9);
    }
    *gbs = best;
    return MB_OK;
}

void probes_ceilings_json(const probes_ceilings_t *c, mb_json_t *j)
{
    mb_json_obj_begin(j);
    mb_json_key(j, "buffer_bytes");
    mb_json_int(j, (int64_t)c->buffer_bytes);
    mb_json_key(j, "passes");
    mb_json_int(j, c->passes);
    mb_json_key(j, "statistic");
    mb_json_str(j, "best pass (fastest of passes); *_median: median pass");
    mb_json_key(j, "bandwidth_kernel");
    mb_json_str(j, c->read_kernel);
    mb_json_key(j, "seconds");
    mb_json_num(j, c->seconds);
    mb_json_key(j, "bandwidth");
    mb_json_arr_begin(j);
    for (int i = 0; i < c->n_bw; i++) {
        mb_json_obj_begin(j);
        mb_json_key(j, "threads");
        mb_json_int(j, c->bw[i].threads);
        mb_json_key(j, "read_gbs");
        mb_json_num(j, c->bw[i].read_gbs);
        mb_json_key(j, "read_plain_gbs");
        mb_json_num(j, c->bw[i].read_plain_gbs);
        mb_json_key(j, "read_prefetch_gbs");
        mb_json_num(j, c->bw[i].read_prefetch_gbs);
        mb_json_key(j, "copy_gbs");
        mb_json_num(j, c->bw[i].copy_gbs);
        mb_json_key(j, "triad_gbs");
        mb_json_num(j, c->bw[i].triad_gbs);
        mb_json_key(j, "read_median_gbs");
        mb_json_num(j, c->bw[i].read_median_gbs);
        mb_json_key(j, "copy_median_gbs");
        mb_json_num(j, c->bw[i].copy_median_gbs);
        mb_json_key(j, "triad_median_gbs");
        mb_json_num(j, c->bw[i].triad_median_gbs);
        mb_json_obj_end(j);
    }
    mb_json_arr_end(j);
    mb_json_key(j, "peaks");
    mb_json_arr_begin(j);
    for (int i = 0; i < c->n_peaks; i++) {
        const probes_peak_t *p = &c->peaks[i];
        mb_json_obj_begin(j);
        mb_json_key(j, "name");
        mb_json_str(j, p->name);
        mb_json_key(j, "kind");
        mb_json_str(j, p->kind);
        mb_json_key(j, "unit");
        mb_json_str(j, !strcmp(p->kind, "f32") ? "GFLOP/s" : "GOP/s");
        mb_json_key(j, "isa");
        mb_json_str(j, p->isa);
        mb_json_key(j, "points");
        mb_json_arr_begin(j);
        for (int k = 0; k < p->n; k++) {
            mb_json_obj_begin(j);
            mb_json_key(j, "threads");
            mb_json_int(j, p->threads[k]);
            mb_json_key(j, "gops");
            mb_json_num(j, p->gops[k]);
            mb_json_key(j, "gops_median");
            mb_json_num(j, p->gops_median[k]);
            mb_json_obj_end(j);
        }
        mb_json_arr_end(j);
        mb_json_obj_end(j);
    }
    mb_json_arr_end(j);
    mb_json_obj_end(j);
}

void probes_ceilings_print(const probes_ceilings_t *c, FILE *f)
{
    char b[32];
    mb_fmt_bytes(c->buffer_bytes, b, sizeof b);
    fprintf(f, "\nCeilings (best of %d passes, %s buffer, %s kernels, %.1f s)\n", c->passes, b, c->read_kernel,
            c->seconds);
    fprintf(f, "  %-8s %12s %12s %12s   %s\n", "threads", "read GB/s", "copy GB/s", "triad GB/s",
            "(read: plain / prefetching loads)");
    for (int i = 0; i < c->n_bw; i++)
        fprintf(f, "  %-8d %12.1f %12.1f %12.1f   (%.1f / %.1f)\n", c->bw[i].threads, c->bw[i].read_gbs,
                c->bw[i].copy_gbs, c->bw[i].triad_gbs, c->bw[i].read_plain_gbs, c->bw[i].read_prefetch_gbs);
    for (int i = 0; i < c->n_peaks; i++) {
        const probes_peak_t *p = &c->peaks[i];
        fprintf(f, "  %-18s", p->name);
        for (int k = 0; k < p->n; k++)
            fprintf(f, "  %dT %8.1f", p->threads[k], p->gops[k]);
        fprintf(f, " %s\n", !strcmp(p->kind, "f32") ? "GFLOP/s" : "GOP/s");
    }
}
