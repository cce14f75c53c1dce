/* The persistent thread pool: every thread runs each task exactly once with
 * its index, runs are repeated without re-creating threads, the dynamic
 * counter hands out every chunk exactly once, workers flush denormals. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <string.h>

#include "engine.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef struct {
    _Atomic int calls;
    _Atomic int seen[8];
    int nth_seen;
} count_arg_t;

static void count_task(void *p, int ith, int nth)
{
    count_arg_t *a = p;
    atomic_fetch_add(&a->calls, 1);
    atomic_fetch_add(&a->seen[ith], 1);
    a->nth_seen = nth;
}

Test(engine_pool, each_thread_runs_once_per_run)
{
    for (int n = 1; n <= 4; n++) {
        engine_pool_t *pool = NULL;
        cr_assert_eq(engine_pool_create(n, &pool), 0);
        cr_assert_eq(engine_pool_threads(pool), n);
        for (int run = 0; run < 200; run++) {
            count_arg_t a;
            memset(&a, 0, sizeof a);
            engine_pool_run(pool, count_task, &a);
            cr_assert_eq(atomic_load(&a.calls), n);
            for (int i = 0; i < n; i++)
                cr_assert_eq(atomic_load(&a.seen[i]), 1, "thread %d ran %d times", i,
                             atomic_load(&a.seen[i]));
            cr_assert_eq(a.nth_seen, n);
        }
        engine_pool_destroy(pool);
    }
}

typedef struct {
    engine_counter_t ctr;
    int64_t total;
    _Atomic int hits[1000];
} claim_arg_t;

static void claim_task(void *p, int ith, int nth)
{
    (void)ith;
    (void)nth;
    claim_arg_t *a = p;
    for (;;) {
        int64_t s = engine_counter_claim(&a->ctr, 7);
        if (s >= a->total)
            break;
        for (int64_t i = s; i < s + 7 && i < a->total; i++)
            atomic_fetch_add(&a->hits[i], 1);
    }
}

Test(engine_pool, counter_hands_out_every_chunk_once)
{
    engine_pool_t *pool = NULL;
    cr_assert_eq(engine_pool_create(3, &pool), 0);
    static claim_arg_t a;
    for (int run = 0; run < 50; run++) {
        memset(&a, 0, sizeof a);
        a.total = 1000;
        engine_counter_reset(&a.ctr, 0);
        engine_pool_run(pool, claim_task, &a);
        for (int i = 0; i < 1000; i++)
            cr_assert_eq(atomic_load(&a.hits[i]), 1, "item %d claimed %d times", i,
                         atomic_load(&a.hits[i]));
    }
    engine_pool_destroy(pool);
}

Test(engine_pool, sleeping_workers_wake_up)
{
    engine_pool_t *pool = NULL;
    cr_assert_eq(engine_pool_create(2, &pool), 0);
    for (int run = 0; run < 3; run++) {
        mb_clock_sleep_ns(30 * 1000 * 1000); /* long enough for workers to sleep */
        count_arg_t a;
        memset(&a, 0, sizeof a);
        engine_pool_run(pool, count_task, &a);
        cr_assert_eq(atomic_load(&a.calls), 2);
    }
    engine_pool_destroy(pool);
}

static void ftz_task(void *p, int ith, int nth)
{
    (void)nth;
    volatile float tiny = 1e-39f; /* a denormal */
    volatile float half = 0.5f;
    float r = tiny * half;
    ((float *)p)[ith] = r;
}

Test(engine_pool, threads_flush_denormals)
{
    engine_pool_t *pool = NULL;
    cr_assert_eq(engine_pool_create(2, &pool), 0);
    float out[2] = {1, 1};
    engine_pool_run(pool, ftz_task, out);
#if defined(__x86_64__) || defined(__aarch64__)
    cr_assert_eq(out[0], 0.0f, "thread 0 kept a denormal");
    cr_assert_eq(out[1], 0.0f, "worker kept a denormal");
#endif
    engine_pool_destroy(pool);
#if defined(__x86_64__)
    /* The caller's FP mode is restored after the run. */
    cr_assert_eq(_mm_getcsr() & 0x8040u, 0u);
#endif
}

Test(engine_pool, bad_thread_counts)
{
    engine_pool_t *pool = (engine_pool_t *)&pool;
    cr_assert_eq(engine_pool_create(0, &pool), MB_EINVAL);
    cr_assert_null(pool);
    cr_assert_eq(engine_pool_create(-3, &pool), MB_EINVAL);
    cr_assert_eq(engine_pool_create(100000, &pool), MB_EINVAL);
    cr_assert_eq(engine_pool_create(2, NULL), MB_EINVAL);
    engine_pool_destroy(NULL);
    cr_assert_eq(engine_pool_threads(NULL), 1);
    count_arg_t a;
    memset(&a, 0, sizeof a);
    engine_pool_run(NULL, count_task, &a);
    cr_assert_eq(atomic_load(&a.calls), 1);
}

/* Claimed runs: whichever threads take part, every item is done exactly once,
 * ith values are distinct, and interleaving them with plain runs (which all
 * threads must join) keeps both kinds right. A slow worker (one that sleeps
 * before claiming) must not lose or duplicate work. */
typedef struct {
    engine_counter_t ctr;
    int64_t total;
    _Atomic int hits[1000];
    _Atomic int ith_seen[8];
    int slow_ith;
} claimed_arg_t;

static void claimed_task(void *p, int ith, int nth)
{
    (void)nth;
    claimed_arg_t *a = p;
    atomic_fetch_add(&a->ith_seen[ith], 1);
    if (ith == a->slow_ith)
        mb_clock_sleep_ns(200 * 1000);
    for (int64_t s = engine_counter_claim(&a->ctr, 5); s < a->total;
         s = engine_counter_claim(&a->ctr, 5))
        for (int64_t i = s; i < s + 5 && i < a->total; i++)
            atomic_fetch_add(&a->hits[i], 1);
}

Test(engine_pool, claimed_runs_do_every_item_once)
{
    static claimed_arg_t a;
    for (int n = 1; n <= 4; n++) {
        engine_pool_t *pool = NULL;
        cr_assert_eq(engine_pool_create(n, &pool), 0);
        for (int run = 0; run < 1000; run++) {
            memset(&a, 0, sizeof a);
            a.total = 1 + run * 3 % 1000;
            a.slow_ith = run % 7 == 0 ? 1 + run % n : -1;
            engine_counter_reset(&a.ctr, 0);
            engine_pool_run_claimed(pool, claimed_task, &a);
            for (int64_t i = 0; i < a.total; i++)
                cr_assert_eq(atomic_load(&a.hits[i]), 1, "n %d run %d: item %lld done %d times",
                             n, run, (long long)i, atomic_load(&a.hits[i]));
            cr_assert_eq(atomic_load(&a.ith_seen[0]), 1, "the caller must run the task");
            for (int i = 1; i < n; i++)
                cr_assert_leq(atomic_load(&a.ith_seen[i]), 1, "thread %d ran twice", i);
            { /* a plain run right after: every thread joins it exactly once,
               * also one that arrives late from the claimed run before */
                count_arg_t c;
                memset(&c, 0, sizeof c);
                engine_pool_run(pool, count_task, &c);
                cr_assert_eq(atomic_load(&c.calls), n);
            }
        }
        engine_pool_destroy(pool);
    }
}
