/* engine_selftest.c: the engine's kernel checks as a plain C program, for
 * cross builds run under an emulator (make test-arm: aarch64 under
 * qemu-aarch64-static -cpu max), where Criterion is not available.
 * Every capable kernel variant against the scalar reference (vec_dot_ref)
 * on random inputs for many shapes, the thread pool, and bad input.
 * Prints one line per failure and "N passed, N failed"; exit 1 on failure. */
#include "engine.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_pass, n_fail;

#define CHECK(cond, ...)                                                                         \
    do {                                                                                         \
        if (cond) {                                                                              \
            n_pass++;                                                                            \
        } else {                                                                                 \
            n_fail++;                                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                          \
            printf(__VA_ARGS__);                                                                 \
            printf("\n");                                                                        \
        }                                                                                        \
    } while (0)

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static float gauss(void)
{
    double u1 = ((double)(next_u64() >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (double)(next_u64() >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static void *xalloc(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
    if (!p) {
        printf("out of memory\n");
        exit(1);
    }
    return p;
}

/* Same bound as tests/test_engine_kernels.c: |y - ref| <= 1e-5 sum |w a| + 1e-6. */
#define TOL 1e-5

static void check_type(engine_type_t t, engine_pool_t *pool)
{
    const engine_type_traits_t *tr = engine_type_traits(t);
    const engine_type_traits_t *vt = engine_type_traits(tr->vec_dot_type);
    const int64_t bs = tr->block_size == 1 ? 32 : tr->block_size;
    const int64_t kmul[] = {1, 3, 8};
    const int64_t ns[] = {1, 5, 67};
    const int64_t ms[] = {1, 3, 4, 7};
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 3; b++)
            for (size_t c = 0; c < 4; c++) {
                int64_t k = bs * kmul[a], n = ns[b], m = ms[c];
                size_t rs = engine_row_size(t, k), as = engine_row_size(tr->vec_dot_type, k);
                float *src = xalloc(sizeof(float) * (size_t)(n * k));
                for (int64_t i = 0; i < n * k; i++)
                    src[i] = gauss() * 0.05f;
                uint8_t *wd = xalloc(rs * (size_t)n);
                tr->quantize(src, wd, n, k, NULL);
                if (t == ENGINE_TYPE_Q8_0) /* every code, -128 included */
                    for (int64_t i = 0; i < n * k / 32; i++)
                        for (int j = 0; j < 32; j++)
                            ((engine_block_q8_0 *)wd)[i].qs[j] = (int8_t)(next_u64() & 0xff);
                engine_tensor_t w = {.name = "w", .type = t, .ne = {k, n, 1, 1}, .data = wd,
                                     .nbytes = rs * (size_t)n};
                float *x = xalloc(sizeof(float) * (size_t)(m * k));
                for (int64_t i = 0; i < m * k; i++)
                    x[i] = gauss();
                uint8_t *act = xalloc(engine_act_bytes(t, k, m));
                float *y = xalloc(sizeof(float) * (size_t)(m * n));
                for (int64_t i = 0; i < m * n; i++)
                    y[i] = NAN;
                int rc1 = engine_act_quantize(pool, t, x, k, m, act);
                int rc2 = engine_matmul(pool, &w, act, m, y);
                CHECK(rc1 == 0 && rc2 == 0, "%s: act %d matmul %d: %s", tr->name, rc1, rc2,
                      mb_err_msg());
                float *wf = xalloc(sizeof(float) * (size_t)k), *af = xalloc(sizeof(float) * (size_t)k);
                int bad = 0;
                for (int64_t j = 0; j < m && !bad; j++) {
                    vt->to_float(act + (size_t)j * as, af, k);
                    for (int64_t i = 0; i < n && !bad; i++) {
                        float ref;
                        tr->vec_dot_ref(k, &ref, wd + (size_t)i * rs, act + (size_t)j * as);
                        tr->to_float(wd + (size_t)i * rs, wf, k);
                        double mag = 0;
                        for (int64_t l = 0; l < k; l++)
                            mag += fabs((double)wf[l] * af[l]);
                        float got = y[j * n + i];
                        if (isnan(got) || isnan(ref) || fabs((double)got - ref) > TOL * mag + 1e-6) {
                            bad = 1;
                            CHECK(0, "%s %s k=%lld n=%lld m=%lld (%lld, %lld): got %.9g, ref %.9g",
                                  engine_kernels_name(), tr->name, (long long)k, (long long)n,
                                  (long long)m, (long long)j, (long long)i, got, ref);
                        }
                    }
                }
                if (!bad)
                    n_pass++;
                engine_tensor_release(&w);
                free(src);
                free(wd);
                free(x);
                free(act);
                free(y);
                free(wf);
                free(af);
            }
}

static void test_variants(void)
{
    probes_features_t f;
    probes_features_detect(&f);
    const char *names[16];
    bool capable[16];
    int nv = engine_kernels_list(names, 16, &f, capable);
    engine_pool_t *pool = NULL;
    CHECK(engine_pool_create(2, &pool) == 0, "pool: %s", mb_err_msg());
    for (int v = 0; v < nv && v < 16; v++) {
        if (!capable[v]) {
            printf("variant %s: not capable on this CPU, skipped\n", names[v]);
            continue;
        }
        CHECK(engine_kernels_init(&f, names[v]) == 0, "init %s: %s", names[v], mb_err_msg());
        int tested = 0;
        for (int t = 0; t < ENGINE_TYPE_COUNT; t++) {
            const engine_type_traits_t *tr = engine_type_traits((engine_type_t)t);
            if (!tr || !tr->vec_dot_ref || !tr->quantize || t == ENGINE_TYPE_Q8_1 ||
                t == ENGINE_TYPE_Q8_K)
                continue;
            bool scalar = !strcmp(names[v], "scalar");
            if (scalar ? t != ENGINE_TYPE_Q4_0
                       : !engine_kernels_specialized(names[v], (engine_type_t)t))
                continue;
            check_type((engine_type_t)t, pool);
            check_type((engine_type_t)t, NULL);
            tested++;
        }
        printf("variant %s: %d formats checked against the reference\n", names[v], tested);
        CHECK(tested > 0, "variant %s: no format checked", names[v]);
    }
    engine_pool_destroy(pool);
    /* the best variant is bound by default */
    CHECK(engine_kernels_init(&f, NULL) == 0, "bind best");
    printf("bound by default: %s\n", engine_kernels_name());
}

typedef struct {
    engine_counter_t ctr;
    _Atomic int hits[500];
    _Atomic int calls;
} claim_t;

static void claim_task(void *p, int ith, int nth)
{
    (void)ith;
    (void)nth;
    claim_t *c = p;
    atomic_fetch_add(&c->calls, 1);
    for (int64_t s; (s = engine_counter_claim(&c->ctr, 3)) < 500;)
        for (int64_t i = s; i < s + 3 && i < 500; i++)
            atomic_fetch_add(&c->hits[i], 1);
}

static void test_pool(void)
{
    engine_pool_t *pool = NULL;
    CHECK(engine_pool_create(3, &pool) == 0, "pool create");
    static claim_t c;
    for (int run = 0; run < 20; run++) {
        memset(&c, 0, sizeof c);
        engine_counter_reset(&c.ctr, 0);
        engine_pool_run(pool, claim_task, &c);
        int ok = atomic_load(&c.calls) == 3;
        for (int i = 0; i < 500; i++)
            ok &= atomic_load(&c.hits[i]) == 1;
        CHECK(ok, "pool run %d: every thread once, every item once", run);
    }
    engine_pool_destroy(pool);
    CHECK(engine_pool_create(0, &pool) == MB_EINVAL, "0 threads rejected");
}

static void test_bad_input(void)
{
    static _Alignas(64) uint8_t wbuf[4 * 2 * 18 + 8];
    static _Alignas(64) uint8_t abuf[2 * 34 + 8];
    static _Alignas(64) float y[8];
    engine_tensor_t w = {.name = "w", .type = ENGINE_TYPE_Q4_0, .ne = {64, 4, 1, 1}, .data = wbuf,
                         .nbytes = 4 * 2 * 18};
    CHECK(engine_matmul(NULL, &w, abuf, 1, y) == 0, "good call: %s", mb_err_msg());
    CHECK(engine_matmul(NULL, &w, NULL, 1, y) == MB_EINVAL, "NULL act");
    CHECK(engine_matmul(NULL, &w, abuf + 1, 1, y) == MB_EALIGN, "misaligned act");
    w.ne[0] = 48;
    CHECK(engine_matmul(NULL, &w, abuf, 1, y) == MB_ESHAPE, "k not a block multiple");
    w.ne[0] = 64;
    w.nbytes--;
    CHECK(engine_matmul(NULL, &w, abuf, 1, y) == MB_ESHAPE, "short buffer");
}

int main(void)
{
    test_pool();
    test_bad_input();
    test_variants();
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
