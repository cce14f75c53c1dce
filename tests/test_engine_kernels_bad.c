/* Bad input to the matmul API: every case is a clear MB_E* code with a
 * message, never undefined behaviour (this suite also runs under ASan+UBSan). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define K 64
#define N 4

static _Alignas(64) uint8_t wbuf[N * (K / 32) * 18 + 64];
static _Alignas(64) float xbuf[2 * K + 16];
static _Alignas(64) uint8_t abuf[2 * (K / 32) * 34 + 64];
static _Alignas(64) float ybuf[2 * N + 16];

static engine_tensor_t good_w(void)
{
    memset(wbuf, 0x11, sizeof wbuf);
    engine_tensor_t w = {.name = "blk.0.ffn_up", .type = ENGINE_TYPE_Q4_0, .ne = {K, N, 1, 1},
                         .data = wbuf, .nbytes = N * (K / 32) * 18};
    return w;
}

static void setup(void)
{
    engine_kernels_init(NULL, NULL);
    for (int i = 0; i < 2 * K; i++)
        xbuf[i] = (float)(i % 7) - 3.0f;
}

TestSuite(engine_kernels_bad, .init = setup);

Test(engine_kernels_bad, good_call_works)
{
    engine_tensor_t w = good_w();
    cr_assert_eq(engine_tensor_prepare(&w), 0, "%s", mb_err_msg());
    cr_assert_eq(engine_act_bytes(ENGINE_TYPE_Q4_0, K, 2), 2 * (K / 32) * 34);
    cr_assert_eq(engine_act_quantize(NULL, ENGINE_TYPE_Q4_0, xbuf, K, 2, abuf), 0);
    cr_assert_eq(engine_matmul(NULL, &w, abuf, 2, ybuf), 0, "%s", mb_err_msg());
    engine_tensor_release(&w);
    engine_tensor_release(NULL);
}

Test(engine_kernels_bad, null_buffers)
{
    engine_tensor_t w = good_w();
    cr_assert_eq(engine_matmul(NULL, NULL, abuf, 1, ybuf), MB_EINVAL);
    cr_assert_eq(engine_matmul(NULL, &w, NULL, 1, ybuf), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "activation") != NULL, "%s", mb_err_msg());
    cr_assert_eq(engine_matmul(NULL, &w, abuf, 1, NULL), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "output") != NULL, "%s", mb_err_msg());
    w.data = NULL;
    cr_assert_eq(engine_matmul(NULL, &w, abuf, 1, ybuf), MB_EINVAL);
    cr_assert_eq(engine_tensor_prepare(&w), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "blk.0.ffn_up") != NULL, "names the tensor: %s", mb_err_msg());
    cr_assert_eq(engine_tensor_prepare(NULL), MB_EINVAL);
    cr_assert_eq(engine_act_quantize(NULL, ENGINE_TYPE_Q4_0, NULL, K, 1, abuf), MB_EINVAL);
    cr_assert_eq(engine_act_quantize(NULL, ENGINE_TYPE_Q4_0, xbuf, K, 1, NULL), MB_EINVAL);
}

Test(engine_kernels_bad, misaligned_buffers)
{
    engine_tensor_t w = good_w();
    w.data = wbuf + 1;
    cr_assert_eq(engine_matmul(NULL, &w, abuf, 1, ybuf), MB_EALIGN);
    cr_assert_eq(engine_tensor_prepare(&w), MB_EALIGN);
    w = good_w();
    cr_assert_eq(engine_matmul(NULL, &w, abuf + 2, 1, ybuf), MB_EALIGN);
    cr_assert_eq(engine_matmul(NULL, &w, abuf, 1, (float *)((uint8_t *)ybuf + 2)), MB_EALIGN);
    cr_assert_eq(engine_act_quantize(NULL, ENGINE_TYPE_Q4_0, (const float *)((uint8_t *)xbuf + 1),
                                     K, 1, abuf),
                 MB_EALIGN);
    cr_assert_eq(engine_act_quantize(NULL, ENGINE_TYPE_Q4_0, xbuf, K, 1, abuf + 1), MB_EALIGN);
    /* F32 weights need 4-byte alignment. */
    engine_tensor_t f = {.name = "f", .type = ENGINE_TYPE_F32, .ne = {K, 1, 1, 1},
                         .data = (uint8_t *)xbuf + 2, .nbytes = K * 4};
    cr_assert_eq(engine_tensor_prepare(&f), MB_EALIGN);
}

Test(engine_kernels_bad, shape_mismatch)
{
    engine_tensor_t w = good_w();
    w.ne[0] = 48; /* not a multiple of 32 */
    cr_assert_eq(engine_matmul(NULL, &w, abuf, 1, ybuf), MB_ESHAPE);
    cr_assert(strstr(mb_err_msg(), "multiple") != NULL, "%s", mb_err_msg());
    cr_assert_eq(engine_tensor_prepare(&w), MB_ESHAPE);
    w = good_w();
    w.ne[1] = 0;
    cr_assert_eq(engine_matmul(NULL, &w, abuf, 1, ybuf), MB_ESHAPE);
    w = good_w();
    w.ne[2] = 2;
    cr_assert_eq(engine_matmul(NULL, &w, abuf, 1, ybuf), MB_ESHAPE);
    w = good_w();
    w.nbytes -= 1; /* the buffer cannot hold n rows */
    cr_assert_eq(engine_matmul(NULL, &w, abuf, 1, ybuf), MB_ESHAPE);
    w = good_w();
    w.ne[1] = (int64_t)1 << 50; /* row count whose byte size would overflow */
    cr_assert_eq(engine_matmul(NULL, &w, abuf, 1, ybuf), MB_ERANGE);
    w = good_w();
    cr_assert_eq(engine_matmul(NULL, &w, abuf, 0, ybuf), MB_ESHAPE);
    cr_assert_eq(engine_matmul(NULL, &w, abuf, -1, ybuf), MB_ESHAPE);
    /* k that the activation format cannot hold */
    cr_assert_eq(engine_act_quantize(NULL, ENGINE_TYPE_Q4_0, xbuf, 40, 1, abuf), MB_ESHAPE);
    cr_assert_eq(engine_act_quantize(NULL, ENGINE_TYPE_Q4_K, xbuf, K, 1, abuf), MB_ESHAPE);
    cr_assert_eq(engine_act_quantize(NULL, ENGINE_TYPE_Q4_0, xbuf, 0, 1, abuf), MB_ESHAPE);
    cr_assert_eq(engine_act_quantize(NULL, ENGINE_TYPE_Q4_0, xbuf, K, 0, abuf), MB_ESHAPE);
    cr_assert_eq(engine_act_bytes(ENGINE_TYPE_Q4_K, 100, 1), 0);
    cr_assert_eq(engine_act_bytes(ENGINE_TYPE_Q4_0, K, 0), 0);
}

Test(engine_kernels_bad, unsupported_types)
{
    engine_tensor_t w = good_w();
    w.type = (engine_type_t)4; /* a retired GGUF id */
    cr_assert_eq(engine_matmul(NULL, &w, abuf, 1, ybuf), MB_EUNSUPPORTED);
    w.type = (engine_type_t)-1;
    cr_assert_eq(engine_tensor_prepare(&w), MB_EUNSUPPORTED);
    w.type = ENGINE_TYPE_COUNT;
    cr_assert_eq(engine_tensor_prepare(&w), MB_EUNSUPPORTED);
    cr_assert_eq(engine_act_quantize(NULL, (engine_type_t)5, xbuf, K, 1, abuf), MB_EUNSUPPORTED);
    cr_assert_eq(engine_act_bytes((engine_type_t)99, K, 1), 0);
    cr_assert(!engine_kernels_specialized("nosuch", ENGINE_TYPE_Q4_0));
    cr_assert(!engine_kernels_specialized(NULL, ENGINE_TYPE_Q4_0));
}
