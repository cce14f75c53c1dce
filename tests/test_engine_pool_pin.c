/* Pinning the thread pool: each thread's affinity as read inside the task
 * (sched_getaffinity) and the CPU it ran on (sched_getcpu), strict
 * round-robin, the pool's own record of the CPUs seen, the caller's
 * affinity put back, and CPUs the kernel refuses. */
#include <criterion/criterion.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"

#define MAXT 8

typedef struct {
    cpu_set_t aff[MAXT];
    int cpu[MAXT];
    int calls[MAXT];
} where_t;

static void where_task(void *p, int ith, int nth)
{
    where_t *w = p;
    (void)nth;
    CPU_ZERO(&w->aff[ith]);
    sched_getaffinity(0, sizeof w->aff[ith], &w->aff[ith]); /* 0: this thread */
    w->cpu[ith] = sched_getcpu();
    w->calls[ith]++;
}

static bool only(const cpu_set_t *s, int cpu)
{
    return CPU_COUNT(s) == 1 && CPU_ISSET(cpu, s);
}

/* Both CPUs of the 2-CPU machine usable by this process, else skip. */
static void need_cpus_0_1(void)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    sched_getaffinity(0, sizeof s, &s);
    if (!CPU_ISSET(0, &s) || !CPU_ISSET(1, &s))
        cr_skip_test("needs CPUs 0 and 1 allowed to this process");
}

Test(engine_pool_pin, mask_of_cpu0_pins_every_thread)
{
    cpu_set_t s;
    sched_getaffinity(0, sizeof s, &s);
    if (!CPU_ISSET(0, &s))
        cr_skip_test("CPU 0 is not allowed to this process");
    int cpus[] = {0};
    engine_pin_t pin = {cpus, 1, false};
    engine_pool_t *pool = NULL;
    cr_assert_eq(engine_pool_create_pinned(3, &pin, &pool), 0, "%s", mb_err_msg());
    where_t w;
    memset(&w, 0, sizeof w);
    for (int run = 0; run < 20; run++)
        engine_pool_run(pool, where_task, &w);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(w.calls[i], 20);
        cr_assert(only(&w.aff[i], 0), "thread %d: affinity has %d CPUs", i, CPU_COUNT(&w.aff[i]));
        cr_assert_eq(w.cpu[i], 0, "thread %d ran on CPU %d", i, w.cpu[i]);
        uint64_t seen[ENGINE_CPU_WORDS];
        cr_assert_eq(engine_pool_cpus_seen(pool, i, seen, ENGINE_CPU_WORDS), 0);
        cr_assert_eq(seen[0], 1u, "thread %d seen on %#llx", i, (unsigned long long)seen[0]);
        for (int k = 1; k < ENGINE_CPU_WORDS; k++)
            cr_assert_eq(seen[k], 0u);
    }
    engine_pool_destroy(pool);
}

Test(engine_pool_pin, strict_puts_thread_i_on_cpu_i)
{
    need_cpus_0_1();
    int cpus[] = {0, 1};
    engine_pin_t pin = {cpus, 2, true};
    engine_pool_t *pool = NULL;
    cr_assert_eq(engine_pool_create_pinned(2, &pin, &pool), 0, "%s", mb_err_msg());
    where_t w;
    memset(&w, 0, sizeof w);
    for (int run = 0; run < 20; run++)
        engine_pool_run(pool, where_task, &w);
    for (int i = 0; i < 2; i++) {
        cr_assert(only(&w.aff[i], i), "thread %d: affinity not CPU %d alone", i, i);
        cr_assert_eq(w.cpu[i], i, "thread %d ran on CPU %d", i, w.cpu[i]);
        uint64_t seen[1];
        cr_assert_eq(engine_pool_cpus_seen(pool, i, seen, 1), 0);
        cr_assert_eq(seen[0], (uint64_t)1 << i);
    }
    engine_pool_destroy(pool);
}

Test(engine_pool_pin, strict_wraps_round_robin)
{
    need_cpus_0_1();
    int cpus[] = {1, 0};
    engine_pin_t pin = {cpus, 2, true};
    engine_pool_t *pool = NULL;
    cr_assert_eq(engine_pool_create_pinned(5, &pin, &pool), 0, "%s", mb_err_msg());
    where_t w;
    memset(&w, 0, sizeof w);
    engine_pool_run_claimed(pool, where_task, &w);
    engine_pool_run(pool, where_task, &w);
    for (int i = 0; i < 5; i++)
        cr_assert(only(&w.aff[i], cpus[i % 2]), "thread %d: not on CPU %d alone", i, cpus[i % 2]);
    engine_pool_destroy(pool);
}

Test(engine_pool_pin, non_strict_allows_every_cpu_of_the_list)
{
    need_cpus_0_1();
    int cpus[] = {0, 1};
    engine_pin_t pin = {cpus, 2, false};
    engine_pool_t *pool = NULL;
    cr_assert_eq(engine_pool_create_pinned(2, &pin, &pool), 0, "%s", mb_err_msg());
    where_t w;
    memset(&w, 0, sizeof w);
    engine_pool_run(pool, where_task, &w);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(CPU_COUNT(&w.aff[i]), 2);
        cr_assert(CPU_ISSET(0, &w.aff[i]) && CPU_ISSET(1, &w.aff[i]));
        cr_assert(w.cpu[i] == 0 || w.cpu[i] == 1);
    }
    engine_pool_destroy(pool);
}

Test(engine_pool_pin, caller_affinity_restored)
{
    need_cpus_0_1();
    cpu_set_t before, during, after;
    sched_getaffinity(0, sizeof before, &before);
    int cpus[] = {1};
    engine_pin_t pin = {cpus, 1, true};
    engine_pool_t *pool = NULL;
    cr_assert_eq(engine_pool_create_pinned(2, &pin, &pool), 0, "%s", mb_err_msg());
    sched_getaffinity(0, sizeof during, &during);
    cr_assert(only(&during, 1), "the caller works as thread 0: pinned too");
    engine_pool_destroy(pool);
    sched_getaffinity(0, sizeof after, &after);
    cr_assert(CPU_EQUAL(&before, &after), "the caller's affinity is put back");
}

Test(engine_pool_pin, no_pin_is_the_plain_pool)
{
    engine_pin_t none = {NULL, 0, false};
    engine_pool_t *pool = NULL;
    cr_assert_eq(engine_pool_create_pinned(2, &none, &pool), 0);
    where_t w;
    memset(&w, 0, sizeof w);
    engine_pool_run(pool, where_task, &w);
    uint64_t seen[ENGINE_CPU_WORDS];
    cr_assert_eq(engine_pool_cpus_seen(pool, 1, seen, ENGINE_CPU_WORDS), 0);
    cr_assert(seen[w.cpu[1] / 64] >> (w.cpu[1] % 64) & 1, "the sampled CPU is recorded");
    cr_assert_eq(engine_pool_cpus_seen(pool, 2, seen, 1), MB_EINVAL);
    engine_pool_destroy(pool);
}

Test(engine_pool_pin, refused_cpus_are_errors)
{
    engine_pool_t *pool = (engine_pool_t *)1;
    int big[] = {ENGINE_MAX_CPUS};
    engine_pin_t p1 = {big, 1, false};
    cr_assert_eq(engine_pool_create_pinned(2, &p1, &pool), MB_EINVAL);
    cr_assert_null(pool);
    cr_assert(strstr(mb_err_msg(), "out of range"), "%s", mb_err_msg());

    /* A CPU this 2-CPU machine does not have: the kernel refuses it. */
    long n = sysconf(_SC_NPROCESSORS_CONF);
    if (n >= 1000)
        cr_skip_test("this machine has CPU 1000");
    cpu_set_t before, after;
    sched_getaffinity(0, sizeof before, &before);
    int absent[] = {1000};
    engine_pin_t p2 = {absent, 1, true};
    cr_assert_eq(engine_pool_create_pinned(2, &p2, &pool), MB_EINVAL);
    cr_assert_null(pool);
    cr_assert(strstr(mb_err_msg(), "CPU 1000"), "%s", mb_err_msg());
    sched_getaffinity(0, sizeof after, &after);
    cr_assert(CPU_EQUAL(&before, &after), "a failed create leaves the caller as it was");

    /* Part of the list absent: the kernel narrows it; the read-back says so. */
    sched_getaffinity(0, sizeof before, &before);
    if (CPU_ISSET(0, &before)) {
        int part[] = {0, 1000};
        engine_pin_t p3 = {part, 2, false};
        cr_assert_eq(engine_pool_create_pinned(1, &p3, &pool), MB_EINVAL);
        cr_assert(strstr(mb_err_msg(), "allowed only 0"), "%s", mb_err_msg());
    }
    int none[1] = {0};
    engine_pin_t p4 = {none, -1, false};
    cr_assert_eq(engine_pool_create_pinned(1, &p4, &pool), MB_EINVAL);
}
