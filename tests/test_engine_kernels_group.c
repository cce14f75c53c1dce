/* engine_matmul_group: matrices that share an activation, in one pool run,
 * give exactly what separate engine_matmul calls give (packed or not, GEMV
 * and GEMM, 1 and 3 threads); matrices with different activation formats
 * or row lengths are refused. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float uni(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 4503599627370496.0 - 1.0);
}

static engine_tensor_t make(engine_type_t t, int64_t k, int64_t n, void **store)
{
    const engine_type_traits_t *tr = engine_type_traits(t);
    size_t rs = engine_row_size(t, k);
    float *src = malloc(sizeof(float) * (size_t)(k * n));
    void *d = aligned_alloc(64, (rs * (size_t)n + 63) & ~(size_t)63);
    cr_assert(src && d);
    for (int64_t i = 0; i < k * n; i++)
        src[i] = uni() * 0.1f;
    tr->quantize(src, d, n, k, NULL);
    free(src);
    *store = d;
    engine_tensor_t w = {.name = "w", .type = t, .ne = {k, n, 1, 1}, .data = d,
                         .nbytes = rs * (size_t)n};
    cr_assert_eq(engine_tensor_prepare(&w), 0);
    return w;
}

Test(engine_matmul_group, equals_separate_matmuls)
{
    const int64_t k = 512;
    const int64_t ns[3] = {96, 32, 48};
    const engine_type_t types[2][3] = {
        {ENGINE_TYPE_Q4_0, ENGINE_TYPE_Q8_0, ENGINE_TYPE_Q4_0}, /* all x Q8_0 */
        {ENGINE_TYPE_Q4_K, ENGINE_TYPE_Q6_K, ENGINE_TYPE_Q5_K}, /* all x Q8_K */
    };
    for (int threads = 1; threads <= 3; threads += 2) {
        engine_pool_t *pool = NULL;
        cr_assert_eq(engine_pool_create(threads, &pool), 0);
        for (int ti = 0; ti < 2; ti++)
            for (int64_t m = 1; m <= 70; m += 69) {
                void *store[3];
                engine_tensor_t w[3];
                for (int i = 0; i < 3; i++)
                    w[i] = make(types[ti][i], k, ns[i], &store[i]);
                float *x = malloc(sizeof(float) * (size_t)(k * m));
                void *act = aligned_alloc(64, (engine_act_bytes(w[0].type, k, m) + 63) & ~(size_t)63);
                cr_assert(x && act);
                for (int64_t i = 0; i < k * m; i++)
                    x[i] = uni();
                cr_assert_eq(engine_act_quantize(pool, w[0].type, x, k, m, act), 0);
                float *y1[3], *y2[3];
                const engine_tensor_t *ws[3] = {&w[0], &w[1], &w[2]};
                for (int i = 0; i < 3; i++) {
                    y1[i] = calloc((size_t)(ns[i] * m), sizeof(float));
                    y2[i] = calloc((size_t)(ns[i] * m), sizeof(float));
                    cr_assert(y1[i] && y2[i]);
                    cr_assert_eq(engine_matmul(pool, &w[i], act, m, y1[i]), 0);
                }
                cr_assert_eq(engine_matmul_group(pool, 3, ws, act, m, y2), 0, "%s", mb_err_msg());
                for (int i = 0; i < 3; i++) {
                    cr_assert_eq(memcmp(y1[i], y2[i], sizeof(float) * (size_t)(ns[i] * m)), 0,
                                 "matrix %d (%s), m %lld, %d threads differs", i,
                                 engine_type_name(w[i].type), (long long)m, threads);
                    free(y1[i]);
                    free(y2[i]);
                    engine_tensor_release(&w[i]);
                    free(store[i]);
                }
                free(x);
                free(act);
            }
        engine_pool_destroy(pool);
    }
}

Test(engine_matmul_group, refuses_mixed_activations)
{
    void *s1, *s2, *s3;
    engine_tensor_t a = make(ENGINE_TYPE_Q4_0, 256, 16, &s1);
    engine_tensor_t b = make(ENGINE_TYPE_Q4_K, 256, 16, &s2);
    engine_tensor_t c = make(ENGINE_TYPE_Q4_0, 512, 16, &s3);
    float y[16 * 1], y2[16], y3[16];
    float *ys[2] = {y, y2};
    static _Alignas(64) uint8_t act[4096];
    const engine_tensor_t *ab[2] = {&a, &b}, *ac[2] = {&a, &c};
    cr_assert_eq(engine_matmul_group(NULL, 2, ab, act, 1, ys), MB_ESHAPE);
    cr_assert(strstr(mb_err_msg(), "does not share"), "%s", mb_err_msg());
    ys[1] = y3;
    cr_assert_eq(engine_matmul_group(NULL, 2, ac, act, 1, ys), MB_ESHAPE);
    cr_assert_eq(engine_matmul_group(NULL, 0, ab, act, 1, ys), MB_EINVAL);
    cr_assert_eq(engine_matmul_group(NULL, 5, ab, act, 1, ys), MB_EINVAL);
    engine_tensor_release(&a);
    engine_tensor_release(&b);
    engine_tensor_release(&c);
    free(s1);
    free(s2);
    free(s3);
}
