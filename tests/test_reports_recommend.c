/* Recommendation logic on hand-built records with known answers: budgets,
 * speed floors, ranking and ties, "nothing fits", speed only from devices
 * of the class, the data file, and the output formats. */
#include <criterion/criterion.h>

#include "reports.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GB (1024.0 * 1024.0 * 1024.0)

static reports_classes_t cl;

static void setup(void)
{
    cr_assert_eq(reports_classes_load(NULL, &cl), 0, "%s", mb_err_msg());
}

static void teardown(void)
{
    reports_classes_free(&cl);
}

static reports_device_t device(const char *id, const char *platform, double ram_gb)
{
    reports_device_t d;
    reports_device_init(&d);
    snprintf(d.id, sizeof d.id, "%s", id);
    snprintf(d.name, sizeof d.name, "device %s", id);
    snprintf(d.platform, sizeof d.platform, "%s", platform);
    d.ram_bytes = (uint64_t)(ram_gb * GB);
    return d;
}

static reports_candidate_t cand(const char *dev, const char *model, const char *recipe,
                                double size_gb, double tg, double kld, uint64_t params)
{
    reports_candidate_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.device_id, sizeof c.device_id, "%s", dev);
    snprintf(c.device_name, sizeof c.device_name, "device %s", dev);
    snprintf(c.model, sizeof c.model, "%s", model);
    snprintf(c.recipe, sizeof c.recipe, "%s", recipe);
    snprintf(c.weights, sizeof c.weights, "synthetic");
    c.model_bytes = (uint64_t)(size_gb * GB);
    c.tg_ts = tg;
    c.pp_ts = 200;
    c.ttft_s = NAN;
    c.kld = kld;
    c.ppl_delta = NAN;
    c.n_params = params;
    return c;
}

static const reports_pick_t *find(const reports_rec_t *r, const char *model, const char *recipe)
{
    for (size_t i = 0; i < r->n_picks; i++)
        if (!strcmp(r->picks[i].c->model, model) && !strcmp(r->picks[i].c->recipe, recipe))
            return &r->picks[i];
    cr_assert_fail("no pick %s %s", model, recipe);
    return NULL;
}

static reports_rec_t rec(const char *cls, const char *uc, const reports_candidate_t *c, size_t n,
                         const reports_device_t *devs, size_t nd, const reports_rec_opts_t *o)
{
    reports_rec_opts_t def;
    reports_rec_opts_default(&def);
    reports_rec_t r;
    const reports_class_t *k = reports_class_find(&cl, cls);
    const reports_use_case_t *u = reports_use_case_find(&cl, uc);
    cr_assert(k && u);
    cr_assert_eq(reports_recommend(&cl, k, u, c, n, devs, nd, o ? o : &def, &r), 0);
    return r;
}

TestSuite(recommend, .init = setup, .fini = teardown);

Test(recommend, builtin_data_matches_file)
{
    char *text;
    size_t len;
    cr_assert_eq(mb_file_read(MB_FIXTURES "/../../reports/classes.ini", 0, &text, &len), 0);
    cr_assert_str_eq(text, reports_classes_ini,
                     "reports/classes_ini.c is stale: run sh reports/embed_classes.sh");
    free(text);
    cr_assert_eq(cl.n_classes, 5);
    cr_assert_eq(cl.n_use_cases, 4);
    const reports_class_t *k = reports_class_find(&cl, "mid-android-8gb");
    cr_assert(k);
    cr_assert_eq(k->ram, (uint64_t)(8 * GB));
    cr_assert_float_eq(k->budget_share, 0.40, 1e-12);
    cr_assert(reports_class_find(&cl, "entry-android") && reports_class_find(&cl, "iphone-15-pro-8gb"));
    cr_assert_eq(reports_use_case_find(&cl, "fast")->rank, REPORTS_RANK_SPEED);
    cr_assert_float_eq(reports_use_case_find(&cl, "chat")->max_ttft_s, 2.0, 1e-12);
}

Test(recommend, user_classes_add_and_replace)
{
    char path[] = "/tmp/mb_classes_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    const char *txt = "[class lab-box]\nlabel = Lab box\nplatform = linux\nram_lo = 16G\n"
                      "ram_hi = 32G\nram = 24G\nbudget = 50%\n"
                      "[class mid-android-8gb]\nplatform = android\nram = 8G\nbudget = 0.3\n";
    cr_assert_eq(write(fd, txt, strlen(txt)), (ssize_t)strlen(txt));
    close(fd);
    reports_classes_t c2;
    cr_assert_eq(reports_classes_load(path, &c2), 0, "%s", mb_err_msg());
    cr_assert_eq(c2.n_classes, 6);
    cr_assert_float_eq(reports_class_find(&c2, "mid-android-8gb")->budget_share, 0.3, 1e-12);
    reports_device_t d = device("x", "linux", 24);
    cr_assert_str_eq(reports_class_of_device(&c2, &d)->name, "lab-box");
    reports_classes_free(&c2);
    unlink(path);
}

Test(recommend, malformed_user_file_names_line)
{
    reports_classes_t c2 = {0};
    int rc = reports_classes_parse("[class x]\nram = 4G\nbudget = 3\n", "my.ini", &c2);
    cr_assert_eq(rc, MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "my.ini:3"), "%s", mb_err_msg());
    reports_classes_free(&c2);
    rc = reports_classes_parse("[clas x]\nram = 4G\n", "my.ini", &c2);
    cr_assert_eq(rc, MB_EFORMAT);
    cr_assert(strstr(mb_err_msg(), "unknown section"), "%s", mb_err_msg());
    reports_classes_free(&c2);
    cr_assert_eq(reports_classes_load("/nonexistent/classes.ini", &c2), MB_ENOENT);
}

Test(recommend, device_class_from_platform_and_ram)
{
    reports_device_t a = device("a", "android", 7.6), b = device("b", "linux", 24),
                     c = device("c", "ios", 6), e = device("e", "android", 4);
    cr_assert_str_eq(reports_class_of_device(&cl, &a)->name, "mid-android-8gb");
    cr_assert_null(reports_class_of_device(&cl, &b));
    cr_assert_str_eq(reports_class_of_device(&cl, &c)->name, "iphone-13-14-6gb");
    cr_assert_str_eq(reports_class_of_device(&cl, &e)->name, "entry-android");
    snprintf(b.class_name, sizeof b.class_name, "flagship-android-12gb");
    cr_assert_str_eq(reports_class_of_device(&cl, &b)->name, "flagship-android-12gb");
}

/* One mid-range Android phone measured: budget 0.4 * 8 GiB = 3.44 GB. */
static reports_device_t phone[1];
static reports_candidate_t cands[5];

static void phone_set(void)
{
    phone[0] = device("p", "android", 7.6);
    cands[0] = cand("p", "llama-3.2-1b", "Q4_K_M", 0.75, 15, 0.020, 1200000000);
    cands[1] = cand("p", "llama-3.2-1b", "Q8_0", 1.25, 9, 0.002, 1200000000);
    cands[2] = cand("p", "llama-3.2-3b", "Q4_K_M", 1.90, 11, 0.030, 3200000000);
    cands[3] = cand("p", "phi-3-mini-4k", "Q8_0", 3.80, 6, 0.003, 3800000000);
    cands[4] = cand("p", "qwen3-0.6b", "Q8_0", 0.60, 30, 0.001, 600000000);
}

Test(recommend, chat_least_kld_with_reasons)
{
    phone_set();
    reports_rec_t r = rec("mid-android-8gb", "chat", cands, 5, phone, 1, NULL);
    cr_assert_eq(r.best, 0);
    cr_assert_str_eq(r.picks[0].c->model, "qwen3-0.6b");
    cr_assert(r.picks[0].speed_on_class);
    cr_assert(strstr(r.picks[0].speed_basis, "measured on 1 device of this class"));
    cr_assert_str_eq(find(&r, "llama-3.2-1b", "Q8_0")->reason, "9.0 tok/s < 10");
    const reports_pick_t *phi = find(&r, "phi-3-mini-4k", "Q8_0");
    cr_assert_not(phi->ok);
    /* 3.8 GiB * 1.1 + 384 KiB * 4096 = 6.10 GB > 3.44 GB */
    cr_assert_str_eq(phi->reason, "needs 6.10 GB > 3.44 GB budget", "%s", phi->reason);
    /* accepted ones come ranked: qwen (0.001), llama-1b Q4_K_M (0.020), 3b (0.030) */
    cr_assert(r.picks[1].ok && !strcmp(r.picks[1].c->model, "llama-3.2-1b"));
    cr_assert(r.picks[2].ok && !strcmp(r.picks[2].c->model, "llama-3.2-3b"));
    /* the 3B at Q4_K_M holds 4096 tokens of KV: 1.9 GiB * 1.1 + 112 KiB * 4096 */
    cr_assert_eq(r.picks[2].resident,
                 (uint64_t)((double)(uint64_t)(1.90 * GB) * 1.1) + 114688ull * 4096);
    reports_rec_free(&r);
}

Test(recommend, use_cases_fast_quality_multilingual)
{
    phone_set();
    reports_rec_t f = rec("mid-android-8gb", "fast", cands, 5, phone, 1, NULL);
    cr_assert_str_eq(f.picks[f.best].c->model, "qwen3-0.6b"); /* 30 tok/s */
    cr_assert_str_eq(find(&f, "llama-3.2-3b", "Q4_K_M")->reason, "11.0 tok/s < 20");
    reports_rec_free(&f);
    reports_rec_t q = rec("mid-android-8gb", "quality", cands, 5, phone, 1, NULL);
    cr_assert_str_eq(q.picks[q.best].c->model, "llama-3.2-3b"); /* largest that fits */
    reports_rec_free(&q);
    reports_rec_t m = rec("mid-android-8gb", "multilingual", cands, 5, phone, 1, NULL);
    cr_assert_str_eq(m.picks[m.best].c->model, "qwen3-0.6b");
    cr_assert(strstr(find(&m, "llama-3.2-3b", "Q4_K_M")->reason, "not a multilingual model"));
    reports_rec_free(&m);
}

Test(recommend, nothing_fits)
{
    phone_set();
    reports_rec_opts_t o;
    reports_rec_opts_default(&o);
    o.ram_override = (uint64_t)(1 * GB); /* 0.4 GiB budget */
    reports_rec_t r = rec("mid-android-8gb", "chat", cands, 5, phone, 1, &o);
    cr_assert_eq(r.best, -1);
    for (size_t i = 0; i < r.n_picks; i++) {
        cr_assert_not(r.picks[i].ok);
        cr_assert(strstr(r.picks[i].reason, "needs "), "%s", r.picks[i].reason);
    }
    reports_rec_free(&r);
    o.ram_override = 0;
    o.min_tg = 100; /* a floor nobody meets */
    r = rec("mid-android-8gb", "chat", cands, 5, phone, 1, &o);
    cr_assert_eq(r.best, -1);
    cr_assert_str_eq(find(&r, "qwen3-0.6b", "Q8_0")->reason, "30.0 tok/s < 100");
    reports_rec_free(&r);
}

Test(recommend, ties_broken_by_speed_then_name)
{
    reports_device_t d[1] = {device("p", "android", 8)};
    reports_candidate_t c[3] = {
        cand("p", "model-a", "Q4_0", 0.5, 12, 0.01, 1),
        cand("p", "model-b", "Q4_0", 0.5, 14, 0.01, 1),
        cand("p", "model-c", "Q4_0", 0.5, 14, 0.01, 1),
    };
    reports_rec_t r = rec("mid-android-8gb", "chat", c, 3, d, 1, NULL);
    cr_assert_str_eq(r.picks[0].c->model, "model-b");
    cr_assert_str_eq(r.picks[1].c->model, "model-c");
    cr_assert_str_eq(r.picks[2].c->model, "model-a");
    reports_rec_free(&r);
}

Test(recommend, speed_only_from_devices_of_the_class)
{
    /* a fast lab PC and a slow phone measured the same model x recipe */
    reports_device_t d[2] = {device("pc", "linux", 24), device("p", "android", 7.6)};
    reports_candidate_t c[2] = {
        cand("pc", "llama-3.2-1b", "Q4_K_M", 0.75, 60, 0.02, 1),
        cand("p", "llama-3.2-1b", "Q4_K_M", 0.75, 8, 0.02, 1),
    };
    reports_rec_t r = rec("mid-android-8gb", "chat", c, 2, d, 2, NULL);
    cr_assert_eq(r.best, -1);
    cr_assert_str_eq(r.picks[0].reason, "8.0 tok/s < 10");
    reports_rec_free(&r);
    /* a class nobody measured: the PC's figures are shown, labelled, floors not applied */
    r = rec("iphone-15-pro-8gb", "chat", c, 2, d, 2, NULL);
    cr_assert_eq(r.best, 0);
    cr_assert_not(r.picks[0].speed_on_class);
    cr_assert(strstr(r.picks[0].speed_basis, "not measured on this class"), "%s",
              r.picks[0].speed_basis);
    reports_rec_free(&r);
}

Test(recommend, unmeasured_on_a_measured_class_does_not_win)
{
    /* the phone measured Q4_0 (too slow); Q8_0 was measured only on the PC:
     * it cannot be shown to meet the floors on this class, so nothing is picked */
    reports_device_t d[2] = {device("pc", "linux", 24), device("p", "android", 7.6)};
    reports_candidate_t c[2] = {
        cand("p", "qwen3-0.6b", "Q4_0", 0.4, 6.2, 0.05, 1),
        cand("pc", "qwen3-0.6b", "Q8_0", 0.7, 40, 0.004, 1),
    };
    reports_rec_t r = rec("mid-android-8gb", "chat", c, 2, d, 2, NULL);
    cr_assert_eq(r.best, -1);
    cr_assert_str_eq(find(&r, "qwen3-0.6b", "Q4_0")->reason, "6.2 tok/s < 10");
    cr_assert(strstr(find(&r, "qwen3-0.6b", "Q8_0")->reason, "not measured on a device of this class"),
              "%s", find(&r, "qwen3-0.6b", "Q8_0")->reason);
    reports_rec_free(&r);
}

Test(recommend, budget_override_and_unknown_kv)
{
    reports_device_t d[1] = {device("p", "android", 8)};
    reports_candidate_t c[1] = {cand("p", "mystery", "Q4_0", 1.0, 20, 0.01, 1)};
    c[0].peak_rss = (uint64_t)(1.5 * GB);
    c[0].rss_ctx = 640;
    reports_rec_opts_t o;
    reports_rec_opts_default(&o);
    o.budget_override = (uint64_t)(1.4 * GB);
    reports_rec_t r = rec("mid-android-8gb", "chat", c, 1, d, 1, &o);
    cr_assert_eq(r.best, -1);
    cr_assert_eq(r.picks[0].resident, (uint64_t)(1.5 * GB)); /* measured RSS > 1.1 GiB estimate */
    cr_assert(strstr(r.picks[0].mem_basis, "KV size per token unknown"), "%s", r.picks[0].mem_basis);
    reports_rec_free(&r);
}

static void add_cell(reports_data_t *d, const char *model, const char *recipe,
                     reports_test_kind_t kind, double ts, double kld, double ppl, double gb)
{
    reports_cell_t c;
    reports_cell_init(&c);
    snprintf(c.run_id, sizeof c.run_id, "run1");
    snprintf(c.device_id, sizeof c.device_id, "p");
    snprintf(c.model, sizeof c.model, "%s", model);
    snprintf(c.recipe, sizeof c.recipe, "%s", recipe);
    snprintf(c.weights, sizeof c.weights, "synthetic");
    c.kind = kind;
    c.n_prompt = kind == REPORTS_TEST_PP ? 512 : 0;
    c.n_gen = kind == REPORTS_TEST_TG ? 128 : 0;
    c.median_ts = ts;
    c.kld = kld;
    c.ppl_delta = ppl;
    c.model_bytes = (uint64_t)(gb * GB);
    cr_assert_eq(reports_data_add_cell(d, &c), 0);
}

Test(recommend, output_tables_and_quoted_figures)
{
    reports_data_t d = {0};
    reports_device_t dev = device("p", "android", 7.6);
    reports_data_add_device(&d, &dev);
    add_cell(&d, "llama-3.2-1b", "Q4_K_M", REPORTS_TEST_TG, 15, NAN, NAN, 0.75);
    add_cell(&d, "llama-3.2-1b", "Q4_K_M", REPORTS_TEST_PP, 150, 0.02, 0.031, 0.75);
    add_cell(&d, "llama-3.2-1b", "Q8_0", REPORTS_TEST_TG, 9, 0.002, 0.004, 1.25);
    reports_candidate_t *cs;
    size_t n;
    cr_assert_eq(reports_candidates_build(&d, &cs, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_float_eq(cs[0].tg_ts, 15, 1e-9);
    cr_assert_float_eq(cs[0].pp_ts, 150, 1e-9);
    cr_assert_float_eq(cs[0].kld, 0.02, 1e-9);
    free(cs);

    reports_rec_opts_t o;
    reports_rec_opts_default(&o);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(reports_recommend_write(&cl, &d, "mid-android-8gb", NULL, &o, REPORTS_FMT_MD, f), 0);
    fclose(f);
    cr_assert(strstr(buf, "Recommended quantization per device class"), "%s", buf);
    cr_assert(strstr(buf, "Model per use case"));
    cr_assert(strstr(buf, "9.0 tok/s < 10"));
    cr_assert(strstr(buf, "guides quote ~600M"), "%s", buf);
    cr_assert(strstr(buf, "Q4_K_M on llama-3.2-1b: guides quote ~5% perplexity; measured +3.10%"),
              "%s", buf);
    free(buf);

    buf = NULL;
    f = open_memstream(&buf, &len);
    cr_assert_eq(reports_recommend_write(&cl, &d, NULL, "chat", &o, REPORTS_FMT_JSON, f), 0);
    fclose(f);
    mb_jv_t *jv;
    cr_assert_eq(mb_jv_parse(buf, len, &jv), 0, "%s", mb_err_msg());
    const mb_jv_t *recs = mb_jv_get(jv, "recommendations");
    cr_assert_eq(recs->n, 5); /* every class, chat only */
    cr_assert_str_eq(mb_jv_path(jv, "recommendations.1.best.model")->str, "llama-3.2-1b");
    mb_jv_free(jv);
    free(buf);

    f = fopen("/dev/null", "w");
    cr_assert_eq(reports_recommend_write(&cl, &d, "no-such-class", NULL, &o, REPORTS_FMT_MD, f),
                 MB_EINVAL);
    cr_assert(strstr(mb_err_msg(), "mid-android-8gb"), "%s", mb_err_msg());
    fclose(f);
    reports_data_free(&d);
}

Test(recommend, test_models_and_ttft_prompt)
{
    reports_device_t d[1] = {device("p", "android", 8)};
    reports_candidate_t c[2] = {
        cand("p", "tiny-llama", "Q4_0", 0.01, 800, 0.001, 1),
        cand("p", "llama-3.2-1b", "Q4_0", 0.7, 20, 0.04, 1),
    };
    /* TTFT measured with a 32-token prompt does not stand for 256 tokens:
     * 256 / 100 t/s prefill = 2.56 s > 2 s */
    c[1].ttft_s = 0.1;
    c[1].ttft_tokens = 32;
    c[1].pp_ts = 100;
    reports_rec_t r = rec("mid-android-8gb", "chat", c, 2, d, 1, NULL);
    cr_assert_eq(r.best, -1);
    cr_assert(strstr(find(&r, "tiny-llama", "Q4_0")->reason, "a test model"));
    const reports_pick_t *p = find(&r, "llama-3.2-1b", "Q4_0");
    cr_assert_str_eq(p->reason, "TTFT 2.56 s > 2 s (from the prefill rate)", "%s", p->reason);
    reports_rec_free(&r);
    c[1].ttft_tokens = 256; /* measured at the use case's prompt: 0.1 s */
    r = rec("mid-android-8gb", "chat", c, 2, d, 1, NULL);
    cr_assert_str_eq(r.picks[r.best].c->model, "llama-3.2-1b");
    cr_assert_not(r.picks[r.best].ttft_derived);
    reports_rec_free(&r);
}
