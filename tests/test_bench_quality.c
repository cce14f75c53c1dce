/* test_bench_quality.c: quality of a recipe against the reference on the
 * tiny catalog model (synthetic weights). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "engine.h"

/* A cache of this test's own, so that it never reads another run's files. */
static char g_cache[128];
static void setup(void)
{
    snprintf(g_cache, sizeof g_cache, "/tmp/mb-bench-qcache-XXXXXX");
    cr_assert_not_null(mkdtemp(g_cache));
    setenv("MOBENCH_CACHE", g_cache, 1);
}
static void teardown(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_cache);
    cr_assert_eq(system(cmd), 0);
}

Test(quality, recipe_against_itself_is_exact, .timeout = 60, .init = setup, .fini = teardown)
{
    bench_engine_t *e;
    cr_assert_eq(bench_engine_create(NULL, 3, &e), 0, "%s", mb_err_msg());
    bench_quality_t q;
    cr_assert_eq(bench_quality_measure(e, "tiny-llama", "F16", "F16", 16, 1, &q), 0, "%s", mb_err_msg());
    cr_assert_lt(q.mean_kld, 1e-9);
    cr_assert_float_eq(q.top1_agree, 1.0, 0);
    cr_assert_float_eq(q.ppl_ratio, 1.0, 1e-9);
    cr_assert_eq(q.n_tokens, 16);
    cr_assert_str_eq(q.ref_recipe, "F16");
    bench_engine_destroy(e);
}

Test(quality, more_bits_less_divergence, .timeout = 60, .init = setup, .fini = teardown)
{
    bench_engine_t *e;
    cr_assert_eq(bench_engine_create(NULL, 3, &e), 0);
    bench_quality_t q4, q8;
    cr_assert_eq(bench_quality_measure(e, "tiny-llama", "Q4_0", "F16", 24, 2, &q4), 0, "%s", mb_err_msg());
    cr_assert_eq(bench_quality_measure(e, "tiny-llama", "Q8_0", "F16", 24, 2, &q8), 0, "%s", mb_err_msg());
    cr_assert_gt(q4.mean_kld, 0);
    cr_assert_lt(q8.mean_kld, q4.mean_kld, "Q8_0 %g vs Q4_0 %g", q8.mean_kld, q4.mean_kld);
    cr_assert_geq(q8.top1_agree, q4.top1_agree);
    cr_assert_geq(q4.p99_kld, q4.mean_kld * 0.999);
    /* scored on text sampled from the reference: the quantized model cannot
     * be much more confident about it than the reference itself */
    cr_assert(isfinite(q4.ppl_ratio) && q4.ppl_ratio > 0.9, "ppl ratio %g", q4.ppl_ratio);
    bench_engine_destroy(e);
}

Test(quality, bad_input, .init = setup, .fini = teardown)
{
    bench_engine_t *e;
    cr_assert_eq(bench_engine_create(NULL, 3, &e), 0);
    bench_quality_t q;
    cr_assert_eq(bench_quality_measure(e, "gpt-5", "Q4_0", "F16", 16, 1, &q), MB_ENOENT);
    cr_assert_eq(bench_quality_measure(e, "tiny-llama", "Q9_9", "F16", 16, 1, &q), MB_ENOENT);
    cr_assert_eq(bench_quality_measure(e, "tiny-llama", "Q4_0", "F16", 1, 1, &q), MB_EINVAL);
    bench_engine_destroy(e);
    bench_engine_t *k = NULL;
    cr_assert_neq(bench_engine_create("no-such-kernel", 1, &k), 0);
    cr_assert_null(k);
    cr_assert_neq(mb_err_msg()[0], '\0');
    engine_kernels_init(NULL, NULL); /* back to the best variant */
}

Test(quality, against_f32_on_sampled_text, .timeout = 60, .init = setup, .fini = teardown)
{
    bench_engine_t *e;
    cr_assert_eq(bench_engine_create(NULL, 3, &e), 0);
    const char *const recipes[] = {"Q4_0", "Q8_0"};
    bench_quality_t q[2];
    cr_assert_eq(bench_quality_f32(e, "tiny-llama", recipes, 2, 32, 2, q), 0, "%s", mb_err_msg());
    cr_assert_str_eq(q[0].recipe, "Q4_0");
    cr_assert_str_eq(q[1].ref_recipe, "F32");
    cr_assert_eq(q[0].n_tokens, 31); /* next-token distributions of a 32-token sequence */
    cr_assert_gt(q[0].mean_kld, 0);
    cr_assert_lt(q[1].mean_kld, q[0].mean_kld);
    cr_assert(q[1].top1_agree >= 0.9, "Q8_0 top-1 %g", q[1].top1_agree);
    cr_assert_float_eq(q[1].ppl_ratio, 1.0, 0.05);
    const char *const bad[] = {"Q9_9"};
    cr_assert_eq(bench_quality_f32(e, "tiny-llama", bad, 1, 32, 1, q), MB_ENOENT);
    bench_engine_destroy(e);
}
