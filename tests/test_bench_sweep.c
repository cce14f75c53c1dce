/* test_bench_sweep.c: sweep files, good and malformed (tests/fixtures/sweeps). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static int check_in(const char *name, const char *const *list, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(name, list[i]))
            return 0;
    return mb_err_set(MB_ENOENT, "unknown %s '%s'; known: %s, %s, ...", what, name, list[0], list[1]);
}
static int fake_model(void *ctx, const char *name)
{
    (void)ctx;
    static const char *const m[] = {"tiny-llama", "qwen3-0.6b"};
    return check_in(name, m, 2, "model");
}
static int fake_recipe(void *ctx, const char *name)
{
    (void)ctx;
    static const char *const r[] = {"Q4_0", "Q4_K_M", "Q8_0", "F16"};
    return check_in(name, r, 4, "recipe");
}
static const bench_names_t names = {NULL, fake_model, fake_recipe};

static int load(const char *file, bench_sweep_t **sw)
{
    char path[512];
    snprintf(path, sizeof path, "%s/sweeps/%s", MB_FIXTURES, file);
    return bench_sweep_load(path, &names, sw);
}

Test(sweep, good_file_every_value)
{
    bench_sweep_t *sw;
    cr_assert_eq(load("good.ini", &sw), 0, "%s", mb_err_msg());
    cr_assert_str_eq(sw->name, "fixture-good");
    cr_assert_str_eq(sw->db_path, "/tmp/fixture.db");
    cr_assert_eq(sw->seed, 7);
    cr_assert_null(sw->kernel); /* auto */
    cr_assert_eq(sw->n_models, 2);
    cr_assert_str_eq(sw->models[1], "qwen3-0.6b");
    cr_assert_eq(sw->n_recipes, 3);
    cr_assert_str_eq(sw->recipes[1], "Q4_K_M");
    cr_assert_eq(sw->n_tests, 5);
    cr_assert_eq(sw->tests[0].kind, BENCH_TEST_PP);
    cr_assert_eq(sw->tests[1].n_prompt, 128);
    cr_assert_eq(sw->tests[2].kind, BENCH_TEST_TG);
    cr_assert_eq(sw->tests[2].n_gen, 32);
    cr_assert_eq(sw->tests[3].kind, BENCH_TEST_PG);
    cr_assert_eq(sw->tests[3].n_prompt, 64);
    cr_assert_eq(sw->tests[3].n_gen, 16);
    cr_assert_eq(sw->tests[4].n_prompt, 128);
    cr_assert_eq(sw->n_depths, 2);
    cr_assert_eq(sw->depths[1], 256);
    cr_assert_eq(sw->n_threads, 2);
    cr_assert_eq(sw->threads[0], 1);
    cr_assert_eq(sw->reps.min_reps, 3);
    cr_assert_eq(sw->reps.max_reps, 12);
    cr_assert_float_eq(sw->reps.cv_target, 0.025, 1e-12);
    cr_assert(!sw->warmup);
    cr_assert_float_eq(sw->cell_time_s, 180, 1e-9);
    cr_assert_eq(sw->headroom, 1ull << 30);
    cr_assert_eq(sw->cooldown.mode, BENCH_COOLDOWN_FIXED);
    cr_assert_float_eq(sw->cooldown.within_c, 1.5, 1e-12);
    cr_assert_float_eq(sw->cooldown.max_wait_s, 90, 1e-12);
    cr_assert_float_eq(sw->cooldown.delay_s, 5, 1e-12);
    cr_assert(sw->quality);
    cr_assert_str_eq(sw->quality_ref, "Q8_0");
    cr_assert_eq(sw->quality_tokens, 64);
    cr_assert_eq(bench_sweep_n_cells(sw), 2 * 3 * 5 * 2 * 2);
    bench_sweep_free(sw);
}

Test(sweep, minimal_file_defaults)
{
    bench_sweep_t *sw;
    cr_assert_eq(load("minimal.ini", &sw), 0, "%s", mb_err_msg());
    cr_assert_str_eq(sw->name, "minimal"); /* from the file name */
    cr_assert_null(sw->db_path);
    cr_assert_eq(sw->n_depths, 1);
    cr_assert_eq(sw->depths[0], 0);
    cr_assert_eq(sw->n_threads, 1);
    cr_assert_eq(sw->threads[0], (int)sysconf(_SC_NPROCESSORS_ONLN));
    cr_assert_eq(sw->reps.min_reps, 5);
    cr_assert_float_eq(sw->reps.cv_target, 0, 0);
    cr_assert(sw->warmup);
    cr_assert_float_eq(sw->cell_time_s, 600, 0);
    cr_assert_eq(sw->headroom, 512ull << 20);
    cr_assert_eq(sw->cooldown.mode, BENCH_COOLDOWN_THERMAL);
    cr_assert_float_eq(sw->cooldown.within_c, 2, 0);
    cr_assert(!sw->quality);
    cr_assert_eq(bench_sweep_n_cells(sw), 1);
    bench_sweep_free(sw);
}

/* Each malformed file: the code, and the message names file:line and what was expected. */
static void expect_error(const char *file, int code, const char *where, const char *what)
{
    bench_sweep_t *sw = (bench_sweep_t *)1;
    int rc = load(file, &sw);
    cr_assert_eq(rc, code, "%s: rc %d (%s)", file, rc, mb_err_msg());
    cr_assert_null(sw);
    cr_assert(strstr(mb_err_msg(), where), "%s: '%s' lacks '%s'", file, mb_err_msg(), where);
    cr_assert(strstr(mb_err_msg(), what), "%s: '%s' lacks '%s'", file, mb_err_msg(), what);
}

Test(sweep, malformed_files)
{
    expect_error("bad_pg.ini", MB_EFORMAT, "bad_pg.ini:6:", "one pair 'PROMPT,GEN'");
    expect_error("bad_duration.ini", MB_EFORMAT, "bad_duration.ini:7:", "expected a duration");
    expect_error("unknown_key.ini", MB_EFORMAT, "unknown_key.ini:6:", "(did you mean 'threads'?); expected one of: pp, tg, pg, depth, threads");
    expect_error("unknown_section.ini", MB_EFORMAT, "unknown_section.ini:4:", "unknown section [test] (did you mean [tests]?)");
    expect_error("bad_header.ini", MB_EFORMAT, "bad_header.ini:1:", "section header");
    expect_error("no_models.ini", MB_EFORMAT, "no_models.ini", "expected a [models] section");
    expect_error("max_below_min.ini", MB_EFORMAT, "max_below_min.ini:8:", "expected max >= min");
    expect_error("zero_tokens.ini", MB_EFORMAT, "zero_tokens.ini:5:", "expected integers from 1");
    expect_error("bad_cooldown.ini", MB_EFORMAT, "bad_cooldown.ini:7:", "thermal, fixed or none");
}

Test(sweep, unknown_names_list_known_ones)
{
    expect_error("unknown_model.ini", MB_ENOENT, "unknown_model.ini:2:", "unknown model 'gpt-5'; known: tiny-llama");
    expect_error("unknown_recipe.ini", MB_ENOENT, "unknown_recipe.ini:3:", "unknown recipe 'Q3_XXL'; known: Q4_0");
}

Test(sweep, missing_file)
{
    bench_sweep_t *sw;
    cr_assert_eq(load("does-not-exist.ini", &sw), MB_ENOENT);
    cr_assert(strstr(mb_err_msg(), "does-not-exist.ini"));
}

Test(sweep, inline_text_and_test_names)
{
    bench_sweep_t *sw;
    const char *text = "[models]\nnames=a\nrecipes=b\n[tests]\ntg=8,16\n";
    cr_assert_eq(bench_sweep_parse(text, "inline", NULL, &sw), 0, "%s", mb_err_msg());
    cr_assert_eq(sw->n_tests, 2);
    bench_sweep_free(sw);

    bench_test_t t;
    char label[64];
    cr_assert_eq(bench_test_parse("pp512", &t), 0);
    cr_assert_eq(t.kind, BENCH_TEST_PP);
    cr_assert_eq(t.n_prompt, 512);
    cr_assert_eq(bench_test_parse("pg512,128", &t), 0);
    t.n_depth = 1024;
    bench_test_label(&t, label, sizeof label);
    cr_assert_str_eq(label, "pp512+tg128 @ d1024");
    cr_assert_eq(bench_test_ctx_needed(&t), 1024 + 512 + 128);
    cr_assert_eq(bench_test_parse("pp512+tg128", &t), 0);
    cr_assert_eq(t.kind, BENCH_TEST_PG);
    cr_assert_eq(bench_test_parse("tg0", &t), MB_EINVAL);
    cr_assert_eq(bench_test_parse("xx12", &t), MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "expected ppN, tgN or pgP,N"));
    cr_assert_eq(bench_test_parse("pg512", &t), MB_EINVAL);
}

Test(sweep, duplicate_key_names_both_lines)
{
    bench_sweep_t *sw;
    cr_assert_eq(load("duplicate_key.ini", &sw), MB_EFORMAT);
    const char *m = mb_err_msg();
    cr_assert(strstr(m, "duplicate_key.ini:13: duplicate key 'recipes' in [models], first given at "), "%s", m);
    cr_assert(strstr(m, "duplicate_key.ini:7"), "%s", m);
    /* pg is the documented exception: one pair per line, repeated */
    cr_assert_eq(bench_sweep_parse("[models]\nnames = tiny-llama\nrecipes = Q4_0\n[tests]\npg = 16,4\npg = 32,8\n",
                                   "pg.ini", &names, &sw), 0, "%s", mb_err_msg());
    cr_assert_eq(sw->n_tests, 2);
    bench_sweep_free(sw);
    /* the same key in the same section twice in a row, too */
    cr_assert_eq(bench_sweep_parse("[sweep]\nseed = 1\nseed = 2\n[models]\nnames = tiny-llama\nrecipes = Q4_0\n"
                                   "[tests]\npp = 8\n", "seeds.ini", &names, &sw), MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "seeds.ini:3: duplicate key 'seed' in [sweep], first given at seeds.ini:2"),
              "%s", mb_err_msg());
}

/* No byte of the message outside printable ASCII. */
static void assert_printable(const char *m)
{
    for (const unsigned char *p = (const unsigned char *)m; *p; p++)
        cr_assert(*p >= 0x20 && *p < 0x7f, "byte 0x%02x at %zu in: %s", *p, (size_t)((const char *)p - m), m);
}

Test(sweep, binary_file_safe_error)
{
    bench_sweep_t *sw;
    cr_assert_eq(load("binary_nul.ini", &sw), MB_EFORMAT);
    const char *m = mb_err_msg();
    assert_printable(m);
    cr_assert(strstr(m, "binary_nul.ini: not a text file"), "%s", m);
    cr_assert_lt(strlen(m), 400, "%s", m);

    /* no NUL, but control bytes, an escape sequence and invalid UTF-8 */
    cr_assert_eq(load("binary_ctrl.ini", &sw), MB_EFORMAT);
    m = mb_err_msg();
    assert_printable(m);
    cr_assert(strstr(m, "binary_ctrl.ini:1:"), "%s", m);
    cr_assert(strstr(m, "\\x1b"), "escaped, not raw: %s", m);
    cr_assert(strstr(m, "..."), "a capped excerpt: %s", m);
    cr_assert_lt(strlen(m), 400, "%s", m);
}

Test(sweep, busy_timeout_key)
{
    bench_sweep_t *sw;
    cr_assert_eq(load("busy_timeout.ini", &sw), 0, "%s", mb_err_msg());
    cr_assert_eq(sw->busy_timeout_ms, 750);
    cr_assert_eq(sw->seed, BENCH_DEFAULT_SEED);
    bench_sweep_free(sw);
    cr_assert_eq(load("minimal.ini", &sw), 0, "%s", mb_err_msg());
    cr_assert_eq(sw->busy_timeout_ms, 0); /* the store's default */
    bench_sweep_free(sw);
    cr_assert_eq(bench_sweep_parse("[sweep]\nbusy_timeout = soon\n", "bt.ini", &names, &sw), MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "bt.ini:2: busy_timeout: expected a duration"), "%s", mb_err_msg());
}
