/* sampler.c: a background thread that reads the hottest temperature (every
 * thermal zone and hwmon temp*_input) and each core's current frequency
 * every period into a ring buffer. Files are opened once at create and read
 * with pread, so a sample costs a few syscalls (< 1% of a core at 250 ms). */
#include "probes_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct probes_sampler {
    unsigned period_ms;
    int *temp_fd;
    int n_temp;
    int freq_fd[PROBES_SAMPLER_MAX_CPUS];
    int n_freq; /* cpus 0..n_freq-1 have a slot (fd may be -1) */
    int n_freq_files;

    probes_sample_t *ring;
    size_t cap;
    uint64_t count; /* samples taken in total; ring holds the last min(count, cap) */

    pthread_t thread;
    bool running;
    bool stop;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* signalled on stop; CLOCK_MONOTONIC waits */
};

static int open_regular(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads an integer with pread at offset 0; false on any failure. */
static bool read_fd_i64(int fd, int64_t *out)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || end == buf || (*end && *end != '\n'))
        return false;
    *out = v;
    return true;
}

static int add_temp_fd(probes_sampler_t *s, size_t *cap, int fd)
{
    if ((size_t)s->n_temp == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        int *nf = realloc(s->temp_fd, ncap * sizeof *nf);
        if (!nf)
            return MB_ENOMEM;
        s->temp_fd = nf;
        *cap = ncap;
    }
    s->temp_fd[s->n_temp++] = fd;
    return MB_OK;
}

static int open_sensors(probes_sampler_t *s, const char *root)
{
    pr_ctx_t c = {.root = root, .host = false, .quiet = true, .warnings = NULL};
    char path[1024], rel[512];
    size_t cap = 0;
    char **names;
    size_t nn;
    int rc = MB_OK;
    pr_list(&c, "sys/class/thermal", "thermal_zone", &names, &nn);
    for (size_t i = 0; i < nn; i++) {
        snprintf(rel, sizeof rel, "sys/class/thermal/%s/temp", names[i]);
        pr_path(&c, path, sizeof path, rel);
        int fd = open_regular(path);
        if (fd >= 0 && rc == MB_OK && (rc = add_temp_fd(s, &cap, fd)) != MB_OK)
            close(fd);
        free(names[i]);
    }
    free(names);
    pr_list(&c, "sys/class/hwmon", "hwmon", &names, &nn);
    for (size_t i = 0; i < nn; i++) {
        char dir[128];
        snprintf(dir, sizeof dir, "sys/class/hwmon/%s", names[i]);
        char **files;
        size_t nf;
        pr_list(&c, dir, "temp", &files, &nf);
        for (size_t k = 0; k < nf; k++) {
            size_t l = strlen(files[k]);
            if (l > 6 && !strcmp(files[k] + l - 6, "_input")) {
                snprintf(rel, sizeof rel, "%s/%s", dir, files[k]);
                pr_path(&c, path, sizeof path, rel);
                int fd = open_regular(path);
                if (fd >= 0 && rc == MB_OK && (rc = add_temp_fd(s, &cap, fd)) != MB_OK)
                    close(fd);
            }
            free(files[k]);
        }
        free(files);
        free(names[i]);
    }
    free(names);
    for (int cpu = 0; cpu < PROBES_SAMPLER_MAX_CPUS; cpu++) {
        s->freq_fd[cpu] = -1;
        snprintf(rel, sizeof rel, "sys/devices/system/cpu/cpu%d", cpu);
        if (!pr_is_dir(&c, rel))
            continue;
        snprintf(rel, sizeof rel, "sys/devices/system/cpu/cpu%d/cpufreq/scaling_cur_freq", cpu);
        pr_path(&c, path, sizeof path, rel);
        s->freq_fd[cpu] = open_regular(path);
        if (s->freq_fd[cpu] >= 0) {
            s->n_freq_files++;
            s->n_freq = cpu + 1;
        }
    }
    return rc;
}

static void take_sample(probes_sampler_t *s, probes_sample_t *out)
{
    out->t_ns = mb_clock_ns();
    float hot = NAN;
    for (int i = 0; i < s->n_temp; i++) {
        int64_t mc;
        if (!read_fd_i64(s->temp_fd[i], &mc))
            continue;
        float c = (float)mc * 1e-3f;
        if (c >= 0.0f && c <= 150.0f && (isnan(hot) || c > hot)) /* outside: sensor error */
            hot = c;
    }
    out->hottest_c = hot;
    out->ncpus = s->n_freq;
    for (int cpu = 0; cpu < s->n_freq; cpu++) {
        int64_t khz;
        float mhz = NAN;
        if (s->freq_fd[cpu] >= 0 && read_fd_i64(s->freq_fd[cpu], &khz)) {
            mhz = (float)khz * 1e-3f;
            if (!(mhz >= 1.0f && mhz <= 20000.0f))
                mhz = NAN;
        }
        out->mhz[cpu] = mhz;
    }
    for (int cpu = s->n_freq; cpu < PROBES_SAMPLER_MAX_CPUS; cpu++)
        out->mhz[cpu] = NAN;
}

static void *sampler_main(void *arg)
{
    probes_sampler_t *s = arg;
    probes_sample_t smp;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        pthread_mutex_unlock(&s->lock);
        take_sample(s, &smp);
        pthread_mutex_lock(&s->lock);
        s->ring[s->count % s->cap] = smp;
        s->count++;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        uint64_t ns = (uint64_t)until.tv_nsec + (uint64_t)s->period_ms * 1000000ull;
        until.tv_sec += (time_t)(ns / 1000000000ull);
        until.tv_nsec = (long)(ns % 1000000000ull);
        while (!s->stop) {
            int r = pthread_cond_timedwait(&s->cond, &s->lock, &until);
            if (r == ETIMEDOUT)
                break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int probes_sampler_create(unsigned period_ms, size_t capacity, const char *root, probes_sampler_t **out)
{
    *out = NULL;
    if (period_ms == 0)
        period_ms = 250;
    if (capacity == 0)
        capacity = 4096;
    if (period_ms > 3600u * 1000u)
        return mb_err_set(MB_EINVAL, "sampler period %u ms is too long (max 1 hour)", period_ms);
    if (capacity > (1u << 24))
        return mb_err_set(MB_EINVAL, "sampler ring of %zu samples is too large (max %u)", capacity, 1u << 24);
    const char *r = root ? root : probes_root_get();
    struct stat st;
    if (stat(r, &st) != 0 || !S_ISDIR(st.st_mode))
        return mb_err_set(MB_ENOENT, "sampler root '%s' is not a directory", r);
    char norm[512];
    pr_copy(norm, sizeof norm, r);
    size_t nl = strlen(norm);
    while (nl > 0 && norm[nl - 1] == '/')
        norm[--nl] = '\0';

    probes_sampler_t *s = calloc(1, sizeof *s);
    if (!s)
        return mb_err_set(MB_ENOMEM, "out of memory for the sampler");
    for (int i = 0; i < PROBES_SAMPLER_MAX_CPUS; i++)
        s->freq_fd[i] = -1;
    s->period_ms = period_ms;
    s->cap = capacity;
    s->ring = calloc(capacity, sizeof *s->ring);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->lock, NULL);
    if (!s->ring || open_sensors(s, norm) != MB_OK) {
        probes_sampler_destroy(s);
        return mb_err_set(MB_ENOMEM, "out of memory for the sampler ring (%zu samples)", capacity);
    }
    *out = s;
    return MB_OK;
}

int probes_sampler_start(probes_sampler_t *s)
{
    if (!s)
        return mb_err_set(MB_EINVAL, "no sampler");
    if (s->running)
        return MB_OK;
    s->stop = false;
    int e = pthread_create(&s->thread, NULL, sampler_main, s);
    if (e)
        return mb_err_set(MB_ENOMEM, "cannot start the sampler thread: %s", strerror(e));
    s->running = true;
    return MB_OK;
}

int probes_sampler_stop(probes_sampler_t *s)
{
    if (!s)
        return mb_err_set(MB_EINVAL, "no sampler");
    if (!s->running)
        return MB_OK;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->running = false;
    return MB_OK;
}

int probes_sampler_read(probes_sampler_t *s, probes_sample_t *out, size_t max, size_t *n)
{
    *n = 0;
    if (!s)
        return mb_err_set(MB_EINVAL, "no sampler");
    pthread_mutex_lock(&s->lock);
    uint64_t have = s->count < s->cap ? s->count : s->cap;
    uint64_t take = have < max ? have : max;
    for (uint64_t i = 0; i < take; i++)
        out[i] = s->ring[(s->count - take + i) % s->cap];
    pthread_mutex_unlock(&s->lock);
    *n = (size_t)take;
    return MB_OK;
}

uint64_t probes_sampler_count(const probes_sampler_t *s)
{
    if (!s)
        return 0;
    pthread_mutex_lock((pthread_mutex_t *)&s->lock);
    uint64_t c = s->count;
    pthread_mutex_unlock((pthread_mutex_t *)&s->lock);
    return c;
}

void probes_sampler_sensors(const probes_sampler_t *s, int *n_temp, int *n_freq)
{
    if (n_temp)
        *n_temp = s ? s->n_temp : 0;
    if (n_freq)
        *n_freq = s ? s->n_freq_files : 0;
}

void probes_sampler_destroy(probes_sampler_t *s)
{
    if (!s)
        return;
    probes_sampler_stop(s);
    for (int i = 0; i < s->n_temp; i++)
        close(s->temp_fd[i]);
    for (int i = 0; i < PROBES_SAMPLER_MAX_CPUS; i++)
        if (s->freq_fd[i] >= 0)
            close(s->freq_fd[i]);
    free(s->temp_fd);
    free(s->ring);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}
