/*
 * pool.c: persistent thread pool. Workers spin a little on a generation
 * counter (a run starts with low latency during a forward pass), then sleep
 * on a futex until the next run. The caller is thread 0. Nothing is
 * allocated per run.
 */
#include "engine.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define POOL_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define POOL_PAUSE() __asm__ __volatile__("yield" ::: "memory")
#else
#define POOL_PAUSE() ((void)0)
#endif

#define POOL_MAX_THREADS 256
/* Spin iterations before sleeping: ~tens of microseconds, enough to bridge
 * the gap between two matmuls of a forward pass without burning a core
 * while the pool idles (the build machines are shared). */
#define POOL_SPIN 20000

/* Per-worker state on cache lines of its own (the alignment rounds the size
 * up to whole lines), so workers never share a line. */
typedef struct {
    _Alignas(MB_CACHE_LINE) pthread_t tid;
    struct engine_pool *pool;
    int ith;
    int last_cpu;                    /* the CPU sched_getcpu gave at the last run */
    /* every CPU it gave: bit c of seen[c / 64]; atomic, since a worker that
     * woke for a claimed run it did not get into writes while the caller reads */
    _Atomic uint64_t seen[ENGINE_CPU_WORDS];
} pool_worker_t;

/* The entry word of a run: generation << 32 | plain bit | closed bit |
 * workers in. Plain runs (engine_pool_run) need every worker; claimed ones
 * are entered by CAS while open. */
#define POOL_PLAIN ((uint64_t)1 << 31)
#define POOL_CLOSED ((uint64_t)1 << 30)
#define POOL_IN_MASK (POOL_CLOSED - 1)

struct engine_pool {
    /* Written by the caller per run, read by workers. */
    _Alignas(MB_CACHE_LINE) _Atomic uint32_t gen; /* futex word: bumped once per run */
    engine_task_fn fn;
    void *arg;
    atomic_bool stop;
    /* Claimed runs: workers enter by CAS while the run is open. */
    _Alignas(MB_CACHE_LINE) _Atomic uint64_t entry;
    /* Written by workers: on its own line. */
    _Alignas(MB_CACHE_LINE) _Atomic int n_done;
    _Alignas(MB_CACHE_LINE) _Atomic int n_sleeping;
    _Alignas(MB_CACHE_LINE) int n_threads;
    pool_worker_t *workers; /* n_threads - 1 entries */
    /* Thread 0 (the caller): where it ran, and its affinity before pinning. */
    _Alignas(MB_CACHE_LINE) int last_cpu0;
    _Atomic uint64_t seen0[ENGINE_CPU_WORDS];
    bool pinned;
    pthread_t creator;
    cpu_set_t saved;
};

/* Notes the CPU this thread runs on now. sched_getcpu is a vDSO call (or an
 * rseq read): cheap next to a run, and only a changed CPU writes the set. */
static inline void pool_note_cpu(int *last, _Atomic uint64_t *seen)
{
    int c = sched_getcpu();
    if (c != *last && c >= 0 && c < ENGINE_MAX_CPUS) {
        *last = c;
        atomic_fetch_or_explicit(&seen[c >> 6], (uint64_t)1 << (c & 63), memory_order_relaxed);
    }
}

/* Flush-to-zero and denormals-are-zero: denormal inputs/outputs would make
 * some FP ops ~100x slower, and results must not depend on the thread. */
static void pool_set_ftz(void)
{
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr(_mm_getcsr() | 0x8040); /* FTZ (bit 15) | DAZ (bit 6) */
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    fpcr |= (uint64_t)1 << 24; /* FZ */
    __asm__ __volatile__("msr fpcr, %0" ::"r"(fpcr));
#endif
}

typedef struct {
    unsigned long v;
} pool_fpstate_t;

static pool_fpstate_t pool_fp_save(void)
{
    pool_fpstate_t s = {0};
#if defined(__x86_64__) || defined(__i386__)
    s.v = _mm_getcsr();
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    s.v = fpcr;
#endif
    return s;
}

static void pool_fp_restore(pool_fpstate_t s)
{
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr((unsigned)s.v);
#elif defined(__aarch64__)
    uint64_t fpcr = s.v;
    __asm__ __volatile__("msr fpcr, %0" ::"r"(fpcr));
#else
    (void)s;
#endif
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t expected)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void *pool_worker_main(void *p)
{
    pool_worker_t *w = p;
    struct engine_pool *pool = w->pool;
    pool_set_ftz();
    /* Where it runs from the start: a worker that never wakes for a run of
     * the cell (the caller finished every claimed run first) still says. */
    pool_note_cpu(&w->last_cpu, w->seen);
    uint32_t seen = 0;
    for (;;) {
        uint32_t g;
        int spins = 0;
        while ((g = atomic_load_explicit(&pool->gen, memory_order_acquire)) == seen) {
            if (++spins < POOL_SPIN) {
                POOL_PAUSE();
                continue;
            }
            atomic_fetch_add_explicit(&pool->n_sleeping, 1, memory_order_seq_cst);
            /* Re-check after announcing: a run started in between is not missed,
             * since the caller reads n_sleeping after bumping gen. */
            if (atomic_load_explicit(&pool->gen, memory_order_seq_cst) == seen)
                futex_wait(&pool->gen, seen);
            atomic_fetch_sub_explicit(&pool->n_sleeping, 1, memory_order_seq_cst);
            spins = 0;
        }
        seen = g;
        if (atomic_load_explicit(&pool->stop, memory_order_acquire))
            break;
        /* Where it runs, noted at every run it wakes for (a claimed run may
         * close before it gets in: it still ran here). */
        pool_note_cpu(&w->last_cpu, w->seen);
        uint64_t e = atomic_load_explicit(&pool->entry, memory_order_acquire);
        /* Another generation: run g was a claimed run that closed without
         * this worker (a plain run cannot end without it) and a newer run
         * started; the loop finds the newer gen at once. */
        if (e >> 32 != g)
            continue;
        if (!(e & POOL_PLAIN)) {
            /* A claimed run: enter only while it is open. fn and arg are read
             * after entering, when they are known to belong to run g. */
            bool in = false;
            while (e >> 32 == g && !(e & POOL_CLOSED))
                if (atomic_compare_exchange_weak_explicit(&pool->entry, &e, e + 1,
                                                          memory_order_acq_rel,
                                                          memory_order_acquire)) {
                    in = true;
                    break;
                }
            if (!in)
                continue;
        }
        pool->fn(pool->arg, w->ith, pool->n_threads);
        atomic_fetch_add_explicit(&pool->n_done, 1, memory_order_release);
    }
    return NULL;
}

/* "0-3,8": a CPU set as a list, for messages. */
static void pool_set_text(const cpu_set_t *set, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int c = 0; c < ENGINE_MAX_CPUS && k + 1 < len; c++) {
        if (!CPU_ISSET(c, set))
            continue;
        int e = c;
        while (e + 1 < ENGINE_MAX_CPUS && CPU_ISSET(e + 1, set))
            e++;
        int n = e > c ? snprintf(buf + k, len - k, "%s%d-%d", k ? "," : "", c, e)
                      : snprintf(buf + k, len - k, "%s%d", k ? "," : "", c);
        if (n < 0 || (size_t)n >= len - k)
            break;
        k += (size_t)n;
        c = e;
    }
    if (!buf[0])
        snprintf(buf, len, "none");
}

/* The set thread ith gets under pin. */
static void pool_pin_set(const engine_pin_t *pin, int ith, cpu_set_t *set)
{
    CPU_ZERO(set);
    if (pin->strict)
        CPU_SET(pin->cpus[ith % pin->n_cpus], set);
    else
        for (int i = 0; i < pin->n_cpus; i++)
            CPU_SET(pin->cpus[i], set);
}

static int pool_pin_error(int ith, int n_threads, const engine_pin_t *pin, int rc)
{
    cpu_set_t want;
    char ws[256];
    pool_pin_set(pin, ith, &want);
    pool_set_text(&want, ws, sizeof ws);
    return mb_err_set(MB_EINVAL, "cannot pin thread %d of %d to CPU %s: %s; the CPUs must be "
                      "online and allowed to this process (Cpus_allowed_list in "
                      "/proc/self/status: a container's or Android's cpuset may exclude them)",
                      ith, n_threads, ws, strerror(rc));
}

/* Pins thread tid (pool thread ith) unless it started pinned (set false),
 * and reads its affinity back: the kernel narrows a set to the CPUs it
 * allows without saying so. */
static int pool_pin_thread(pthread_t tid, int ith, int n_threads, const engine_pin_t *pin, bool set)
{
    cpu_set_t want, got;
    pool_pin_set(pin, ith, &want);
    char ws[256], gs[256];
    pool_set_text(&want, ws, sizeof ws);
    int rc = set ? pthread_setaffinity_np(tid, sizeof want, &want) : 0;
    if (rc)
        return pool_pin_error(ith, n_threads, pin, rc);
    CPU_ZERO(&got);
    if ((rc = pthread_getaffinity_np(tid, sizeof got, &got)))
        return mb_err_set(MB_EINVAL, "cannot read back the affinity of thread %d of %d: %s", ith,
                          n_threads, strerror(rc));
    if (!CPU_EQUAL(&want, &got)) {
        pool_set_text(&got, gs, sizeof gs);
        return mb_err_set(MB_EINVAL, "thread %d of %d was to run on CPU %s but the kernel allowed "
                          "only %s: some of those CPUs are offline or outside this process's "
                          "cpuset (Cpus_allowed_list in /proc/self/status)", ith, n_threads, ws, gs);
    }
    return MB_OK;
}

int engine_pool_create(int n_threads, engine_pool_t **out)
{
    return engine_pool_create_pinned(n_threads, NULL, out);
}

int engine_pool_create_pinned(int n_threads, const engine_pin_t *pin, engine_pool_t **out)
{
    if (!out)
        return mb_err_set(MB_EINVAL, "engine_pool_create: out is NULL");
    *out = NULL;
    if (n_threads < 1 || n_threads > POOL_MAX_THREADS)
        return mb_err_set(MB_EINVAL, "thread count %d out of range; use 1..%d", n_threads,
                          POOL_MAX_THREADS);
    if (pin && pin->n_cpus) {
        if (pin->n_cpus < 0 || !pin->cpus)
            return mb_err_set(MB_EINVAL, "engine_pool_create: %d CPUs to pin to, list %s",
                              pin->n_cpus, pin->cpus ? "given" : "NULL");
        for (int i = 0; i < pin->n_cpus; i++)
            if (pin->cpus[i] < 0 || pin->cpus[i] >= ENGINE_MAX_CPUS)
                return mb_err_set(MB_EINVAL, "CPU %d to pin to is out of range; use 0..%d",
                                  pin->cpus[i], ENGINE_MAX_CPUS - 1);
    } else {
        pin = NULL;
    }
    struct engine_pool *pool = aligned_alloc(MB_CACHE_LINE, sizeof *pool);
    if (!pool)
        return mb_err_set(MB_ENOMEM, "cannot allocate the thread pool");
    memset(pool, 0, sizeof *pool);
    atomic_init(&pool->gen, 0);
    atomic_init(&pool->n_done, 0);
    atomic_init(&pool->n_sleeping, 0);
    atomic_init(&pool->entry, 0);
    atomic_init(&pool->stop, false);
    pool->n_threads = 1;
    pool->last_cpu0 = -1;
    if (pin) {
        /* The caller first: workers start with its affinity, then get theirs. */
        pool->creator = pthread_self();
        CPU_ZERO(&pool->saved);
        int rc = pthread_getaffinity_np(pool->creator, sizeof pool->saved, &pool->saved);
        if (rc) {
            free(pool);
            return mb_err_set(MB_EINVAL, "cannot read this thread's affinity: %s", strerror(rc));
        }
        pool->pinned = true;
        if ((rc = pool_pin_thread(pool->creator, 0, n_threads, pin, true))) {
            engine_pool_destroy(pool);
            return rc;
        }
    }
    if (n_threads > 1) {
        size_t bytes = sizeof(pool_worker_t) * (size_t)(n_threads - 1);
        pool->workers = aligned_alloc(MB_CACHE_LINE, bytes);
        if (!pool->workers) {
            free(pool);
            return mb_err_set(MB_ENOMEM, "cannot allocate %d pool workers", n_threads - 1);
        }
        memset(pool->workers, 0, bytes);
    }
    for (int i = 1; i < n_threads; i++) {
        pool_worker_t *w = &pool->workers[i - 1];
        w->pool = pool;
        w->ith = i;
        w->last_cpu = -1;
        /* A pinned worker starts on its CPUs: the first CPU it notes is one of them. */
        pthread_attr_t attr;
        int rc = pthread_attr_init(&attr);
        cpu_set_t set;
        if (!rc && pin) {
            pool_pin_set(pin, i, &set);
            rc = pthread_attr_setaffinity_np(&attr, sizeof set, &set);
        }
        if (!rc) {
            rc = pthread_create(&w->tid, &attr, pool_worker_main, w);
            pthread_attr_destroy(&attr);
        }
        if (rc) {
            engine_pool_destroy(pool);
            if (pin && rc == EINVAL)
                return pool_pin_error(i, n_threads, pin, rc);
            return mb_err_set(MB_ENOMEM, "cannot start pool thread %d of %d: %s", i, n_threads,
                              strerror(rc));
        }
        pool->n_threads = i + 1; /* destroy joins only started threads */
        if (pin && (rc = pool_pin_thread(w->tid, i, n_threads, pin, false))) {
            engine_pool_destroy(pool);
            return rc;
        }
    }
    *out = pool;
    return 0;
}

void engine_pool_destroy(engine_pool_t *pool)
{
    if (!pool)
        return;
    atomic_store_explicit(&pool->stop, true, memory_order_release);
    atomic_fetch_add_explicit(&pool->gen, 1, memory_order_seq_cst);
    futex_wake_all(&pool->gen);
    for (int i = 1; i < pool->n_threads; i++)
        pthread_join(pool->workers[i - 1].tid, NULL);
    /* The caller gets its own affinity back (another thread's is not ours to set). */
    if (pool->pinned && pthread_equal(pool->creator, pthread_self()))
        pthread_setaffinity_np(pool->creator, sizeof pool->saved, &pool->saved);
    free(pool->workers);
    free(pool);
}

int engine_pool_cpus_seen(const engine_pool_t *pool, int ith, uint64_t *bits, int n_words)
{
    if (!pool || !bits || n_words < 0 || ith < 0 || ith >= pool->n_threads)
        return mb_err_set(MB_EINVAL, "engine_pool_cpus_seen: no thread %d in a pool of %d", ith,
                          pool ? pool->n_threads : 0);
    const _Atomic uint64_t *s = ith ? pool->workers[ith - 1].seen : pool->seen0;
    for (int i = 0; i < n_words; i++)
        bits[i] = i < ENGINE_CPU_WORDS ? atomic_load_explicit(&s[i], memory_order_relaxed) : 0;
    return MB_OK;
}

int engine_pool_threads(const engine_pool_t *pool)
{
    return pool ? pool->n_threads : 1;
}

static void pool_run(engine_pool_t *pool, engine_task_fn fn, void *arg, bool claimed)
{
    pool_fpstate_t fp = pool_fp_save();
    pool_set_ftz(); /* same FP mode as the workers while thread 0 works */
    if (pool)
        pool_note_cpu(&pool->last_cpu0, pool->seen0);
    if (!pool || pool->n_threads == 1) {
        fn(arg, 0, 1);
        pool_fp_restore(fp);
        return;
    }
    pool->fn = fn;
    pool->arg = arg;
    atomic_store_explicit(&pool->n_done, 0, memory_order_relaxed);
    uint32_t g = atomic_load_explicit(&pool->gen, memory_order_relaxed) + 1;
    atomic_store_explicit(&pool->entry, (uint64_t)g << 32 | (claimed ? 0 : POOL_PLAIN),
                          memory_order_release);
    atomic_store_explicit(&pool->gen, g, memory_order_seq_cst);
    if (atomic_load_explicit(&pool->n_sleeping, memory_order_seq_cst) > 0)
        futex_wake_all(&pool->gen);
    fn(arg, 0, pool->n_threads);
    int want = pool->n_threads - 1;
    if (claimed) /* close the run: wait only for the workers inside */
        want = (int)(atomic_fetch_or_explicit(&pool->entry, POOL_CLOSED, memory_order_acq_rel) &
                     POOL_IN_MASK);
    int spins = 0;
    while (atomic_load_explicit(&pool->n_done, memory_order_acquire) < want) {
        if (++spins < POOL_SPIN)
            POOL_PAUSE();
        else
            sched_yield(); /* a worker was descheduled (busy machine): give it the core */
    }
    pool_fp_restore(fp);
}

void engine_pool_run(engine_pool_t *pool, engine_task_fn fn, void *arg)
{
    pool_run(pool, fn, arg, false);
}

void engine_pool_run_claimed(engine_pool_t *pool, engine_task_fn fn, void *arg)
{
    pool_run(pool, fn, arg, true);
}

void engine_counter_reset(engine_counter_t *c, int64_t start)
{
    atomic_store_explicit(&c->next, start, memory_order_relaxed);
}

int64_t engine_counter_claim(engine_counter_t *c, int64_t step)
{
    return atomic_fetch_add_explicit(&c->next, step, memory_order_relaxed);
}
