/* test_cli_bench.c: `mobench bench` output as a user reads it (the built
 * binary, MB_BIN, the tiny catalog model): the md table stays valid markdown
 * with failed and skipped cells (status and reason in notes after the
 * table, no doubled prefix); JSON carries the six temperature / frequency
 * figures per cell and per rep; a short --sustained run has no sustained
 * figure and says why. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mb.h"

static char g_dir[256];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mb-cli-bench-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

/* Runs "env... MB_BIN args" through the shell with this test's cache;
 * stdout into *out (stderr to g_dir/err). Returns the exit status. */
static int run(const char *env, const char *args, char **out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "MOBENCH_CACHE='%s/cache' MOBENCH_DB='%s/default.db' %s %s %s 2>'%s/err'",
             g_dir, g_dir, env, MB_BIN, args, g_dir);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t cap = 1 << 16, n = 0, r;
    char *buf = malloc(cap);
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (n + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    int st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *err_text(void)
{
    char path[300], *t = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/err", g_dir);
    cr_assert_eq(mb_file_read(path, 1 << 20, &t, &len), 0);
    return t;
}

/* Unescaped '|' in a line. */
static int pipes(const char *line, size_t len)
{
    int n = 0;
    for (size_t i = 0; i < len; i++)
        n += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    return n;
}

/* Every table line (starting with '|') has the header's number of '|';
 * returns the number of table lines. */
static int check_md_table(const char *md)
{
    int want = -1, lines = 0;
    for (const char *p = md; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len && p[0] == '|') {
            int n = pipes(p, len);
            if (want < 0)
                want = n;
            cr_assert_eq(n, want, "table line with %d '|' instead of %d: %.*s", n, want, (int)len, p);
            lines++;
        }
        p = e ? e + 1 : p + len;
    }
    return lines;
}

TestSuite(cli_bench, .init = setup, .fini = teardown, .timeout = 120);

Test(cli_bench, md_table_valid_with_failed_and_skipped_cells)
{
    char *out, args[512];
    /* cell 0 crashes on purpose (test hook): a failed row with a reason */
    cr_assert_eq(run("MOBENCH_TEST_CRASH_CELL=0",
                     "bench -m tiny-llama -p 16 -n 4 -r 1 -t 1 --no-warmup --no-db --no-roofline -o md", &out),
                 1, "%s", out);
    cr_assert_eq(check_md_table(out), 4, "%s", out); /* header, rule, 2 rows */
    cr_expect(strstr(out, " failed |"), "%s", out);
    cr_expect(strstr(out, "[1]"), "%s", out);
    cr_expect(strstr(out, "\nNotes:\n"), "%s", out);
    cr_expect(strstr(out, "- [1] "), "%s", out);
    cr_expect(strstr(out, "failed: crashed: SIGSEGV"), "%s", out);
    cr_expect(!strstr(out, "failed: failed"), "%s", out);
    cr_expect(!strstr(out, "^ "), "%s", out);
    free(out);

    /* a machine with 1 MB available: every cell is skipped by the fit check */
    char root[300], path[400];
    snprintf(root, sizeof root, "%s/root", g_dir);
    snprintf(path, sizeof path, "%s/proc", root);
    cr_assert_eq(mb_dir_create(path), 0);
    snprintf(path, sizeof path, "%s/proc/meminfo", root);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "MemTotal: 2000 kB\nMemAvailable: 1000 kB\n");
    fclose(f);
    char env[400];
    snprintf(env, sizeof env, "MOBENCH_SYSFS_ROOT='%s'", root);
    snprintf(args, sizeof args, "bench -m tiny-llama -p 16 -n 4 -r 1 -t 1 --no-db --no-roofline");
    cr_assert_eq(run(env, args, &out), 0, "%s", out);
    cr_assert_eq(check_md_table(out), 4, "%s", out);
    cr_expect(strstr(out, " skipped |"), "%s", out);
    cr_expect(strstr(out, "- [2] "), "%s", out);
    cr_expect(strstr(out, "skipped: needs "), "%s", out);
    cr_expect(!strstr(out, "skipped: skipped"), "%s", out);
    free(out);
    char *err = err_text();
    cr_expect(!strstr(err, "skipped: skipped"), "%s", err);
    free(err);
}

static const char *const sensor_keys[] = {"temp_min_c", "temp_mean_c", "temp_max_c",
                                          "freq_min_mhz", "freq_mean_mhz", "freq_max_mhz"};

Test(cli_bench, json_has_six_sensor_figures_per_cell_and_rep)
{
    char *out;
    cr_assert_eq(run("", "bench -m tiny-llama -p 16 -n 0 -r 3 -t 1 --no-warmup --no-db --no-roofline -o json",
                     &out), 0, "%s", out);
    mb_jv_t *j;
    cr_assert_eq(mb_jv_parse(out, strlen(out), &j), 0, "%s\n%s", mb_err_msg(), out);
    cr_assert_eq(j->kind, MB_JV_ARR);
    cr_assert_eq(j->n, 1);
    const mb_jv_t *row = j->items[0];
    for (int i = 0; i < 6; i++) {
        const mb_jv_t *v = mb_jv_get(row, sensor_keys[i]);
        cr_assert_not_null(v, "no key %s", sensor_keys[i]);
        cr_expect(v->kind == MB_JV_NUM || v->kind == MB_JV_NULL, "%s", sensor_keys[i]);
        char k[64];
        snprintf(k, sizeof k, "samples_%s", sensor_keys[i]);
        const mb_jv_t *a = mb_jv_get(row, k);
        cr_assert_not_null(a, "no key %s", k);
        cr_assert_eq(a->kind, MB_JV_ARR, "%s", k);
        cr_expect_eq(a->n, 3, "%s: one value per rep", k);
        for (size_t r = 0; r < a->n; r++)
            cr_expect(a->items[r]->kind == MB_JV_NUM || a->items[r]->kind == MB_JV_NULL);
    }
    /* consistent where sensors exist: min <= mean <= max */
    const mb_jv_t *lo = mb_jv_get(row, "freq_min_mhz"), *me = mb_jv_get(row, "freq_mean_mhz"),
                  *hi = mb_jv_get(row, "freq_max_mhz");
    if (lo->kind == MB_JV_NUM && me->kind == MB_JV_NUM && hi->kind == MB_JV_NUM)
        cr_expect(lo->num <= me->num + 1e-9 && me->num <= hi->num + 1e-9);
    mb_jv_free(j);
    free(out);

    /* CSV: the same columns in the header, one list entry per rep */
    cr_assert_eq(run("", "bench -m tiny-llama -p 16 -n 0 -r 2 -t 1 --no-warmup --no-db --no-roofline -o csv",
                     &out), 0, "%s", out);
    for (int i = 0; i < 6; i++) {
        char k[64];
        snprintf(k, sizeof k, ",%s,", sensor_keys[i]);
        cr_expect(strstr(out, k), "csv header lacks %s: %s", sensor_keys[i], out);
        snprintf(k, sizeof k, "samples_%s", sensor_keys[i]);
        cr_expect(strstr(out, k), "csv header lacks %s", k);
    }
    free(out);
}

/* --roofline-paired: a read-bandwidth figure before each decode rep, in the
 * JSON (samples_read_gbs) and in the store (reps.read_gbs); roofline_pct
 * from those pairs even with --no-roofline; pp cells are not paired. */
Test(cli_bench, roofline_paired_figures_per_rep)
{
    char *out, args[512];
    snprintf(args, sizeof args,
             "bench -m tiny-llama -p 16 -n 4 -r 2 -t 1 --no-warmup --db '%s/p.db' --no-roofline "
             "--roofline-paired -o json", g_dir);
    cr_assert_eq(run("", args, &out), 0, "%s", out);
    mb_jv_t *j;
    cr_assert_eq(mb_jv_parse(out, strlen(out), &j), 0, "%s\n%s", mb_err_msg(), out);
    cr_assert_eq(j->n, 2);
    for (size_t i = 0; i < 2; i++) {
        const mb_jv_t *row = j->items[i], *a = mb_jv_get(row, "samples_read_gbs");
        bool tg = !strcmp(mb_jv_get(row, "test")->str, "tg4");
        cr_assert_not_null(a);
        cr_assert_eq(a->n, tg ? 2u : 0u, "%s", out);
        for (size_t r = 0; r < a->n; r++)
            cr_expect(a->items[r]->kind == MB_JV_NUM && a->items[r]->num > 0, "%s", out);
        cr_expect_eq(mb_jv_get(row, "roofline_pct")->kind, tg ? MB_JV_NUM : MB_JV_NULL, "%s", out);
    }
    mb_jv_free(j);
    free(out);
    snprintf(args, sizeof args, "db export --format csv --table reps --db '%s/p.db'", g_dir);
    cr_assert_eq(run("", args, &out), 0, "%s", out);
    cr_expect(strstr(out, "read_gbs"), "reps export lacks read_gbs: %s", out);
    free(out);

    cr_assert_eq(run("", "bench -m tiny-llama --sustained 6s --roofline-paired --no-db", &out), 2);
    char *e = err_text();
    cr_expect(strstr(e, "--roofline-paired"), "%s", e);
    free(e);
    free(out);
}

Test(cli_bench, short_sustained_run_has_no_ratio)
{
    char *out;
    cr_assert_eq(run("", "bench -m tiny-llama --sustained 6s -t 1 --no-db --no-roofline -o jsonl", &out), 0,
                 "%s", out);
    mb_jv_t *j;
    cr_assert_eq(mb_jv_parse(out, strlen(out), &j), 0, "%s\n%s", mb_err_msg(), out);
    cr_assert_str_eq(mb_jv_get(j, "status")->str, "ok");
    cr_expect_eq(mb_jv_get(j, "burst_ts")->kind, MB_JV_NUM);
    cr_expect_gt(mb_jv_get(j, "burst_ts")->num, 0);
    cr_expect_eq(mb_jv_get(j, "sustained_ts")->kind, MB_JV_NULL, "%s", out);
    cr_expect_eq(mb_jv_get(j, "sustained_ratio")->kind, MB_JV_NULL, "%s", out);
    cr_expect(strstr(mb_jv_get(j, "reason")->str, "run >= 2.5 min for a sustained figure"), "%s", out);
    /* decode_ts: the whole run's rate, a measurement */
    cr_expect_eq(mb_jv_get(j, "decode_ts")->kind, MB_JV_NUM);
    mb_jv_free(j);
    free(out);
}
