/* test_cli_sweep.c: `mobench sweep --dry-run` on the built binary: cells that
 * never ran get an ETA estimated from the model's size and the device's
 * ceilings (measured quickly when none are stored), labelled "est.", with
 * the build of a model the cache lacks counted once. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mb.h"

static char g_dir[256];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mb-cli-sweep-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(cli_sweep, .init = setup, .fini = teardown, .timeout = 180);

static int run(const char *args, char **out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "MOBENCH_CACHE='%s/cache' MOBENCH_DB='%s/default.db' %s %s 2>'%s/err'", g_dir,
             g_dir, MB_BIN, args, g_dir);
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

/* "12s est.", "1m05s est." or "<1s est." -> seconds; -1 if not an estimate */
static double eta_of(const char *line)
{
    const char *e = strstr(line, " est.");
    if (!e)
        return -1;
    const char *p = e;
    while (p > line && p[-1] != ' ')
        p--;
    if (*p == '<')
        return 0.5;
    double m = 0, s = 0;
    if (strchr(p, 'm') && strchr(p, 'm') < e) {
        if (sscanf(p, "%lfm%lfs", &m, &s) != 2)
            return -1;
        return m * 60 + s;
    }
    if (strchr(p, 'h') && strchr(p, 'h') < e)
        return 3600;
    return sscanf(p, "%lfs", &s) == 1 ? s : -1;
}

Test(cli_sweep, dry_run_estimates_cells_never_run)
{
    char path[400];
    snprintf(path, sizeof path, "%s/est.ini", g_dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    /* qwen3-0.6b is not in the (empty) cache: its first cell includes the build */
    fprintf(f, "[models]\nnames = qwen3-0.6b\nrecipes = Q4_0\n[tests]\npp = 8, 9\ntg = 4\nthreads = 1\n"
               "[reps]\nmin = 2\n[cooldown]\nmode = none\n");
    fclose(f);
    char args[600], *out;
    snprintf(args, sizeof args, "sweep %s --dry-run --no-db", path);
    cr_assert_eq(run(args, &out), 0, "%s", out);
    double eta[3];
    int n = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') {
            if (strstr(line, "cells fit")) {
                cr_expect(strstr(line, "est.") && strstr(line, "a model, not a measurement"), "%s", line);
                cr_expect(strstr(line, "with model builds"), "%s", line);
            }
            continue;
        }
        cr_assert_lt(n, 3, "%s", line);
        cr_assert(strstr(line, "qwen3-0.6b/Q4_0/"), "%s", line);
        eta[n] = eta_of(line);
        cr_assert_geq(eta[n], 0, "no estimate: %s", line);
        n++;
    }
    cr_assert_eq(n, 3);
    /* pp8 and pp9 cost about the same; the build (596 M params) is on the first */
    cr_expect_gt(eta[0], eta[1] + 3, "pp8 %.1f s (with the build) vs pp9 %.1f s", eta[0], eta[1]);
    free(out);
}

/* --roofline-paired on a sweep: the tg cells' reps carry the read bandwidth
 * measured before them (reps.read_gbs), the pp cells' do not. */
Test(cli_sweep, roofline_paired_stores_read_bandwidth_per_decode_rep)
{
    char args[600], *out;
    snprintf(args, sizeof args, "sweep %s/sweeps/tiny.ini --db '%s/p.db' --no-roofline --roofline-paired "
             "--progress off", MB_FIXTURES, g_dir);
    cr_assert_eq(run(args, &out), 0, "%s", out);
    free(out);
    snprintf(args, sizeof args, "db export --format json --db '%s/p.db'", g_dir);
    cr_assert_eq(run(args, &out), 0, "%s", out);
    mb_jv_t *j;
    cr_assert_eq(mb_jv_parse(out, strlen(out), &j), 0, "%s", mb_err_msg());
    const mb_jv_t *cells = mb_jv_get(j, "cells"), *reps = mb_jv_get(j, "reps");
    cr_assert(cells && reps && cells->kind == MB_JV_ARR && reps->kind == MB_JV_ARR);
    int paired = 0, unpaired = 0;
    for (size_t i = 0; i < reps->n; i++) {
        const mb_jv_t *r = reps->items[i];
        const char *cu = mb_jv_get(r, "cell_uuid")->str;
        const char *test = NULL;
        for (size_t k = 0; k < cells->n && !test; k++)
            if (!strcmp(mb_jv_get(cells->items[k], "uuid")->str, cu))
                test = mb_jv_get(cells->items[k], "test")->str;
        cr_assert_not_null(test);
        const mb_jv_t *g = mb_jv_get(r, "read_gbs");
        cr_assert_not_null(g);
        if (!strcmp(test, "tg")) {
            cr_expect(g->kind == MB_JV_NUM && g->num > 0, "tg rep without a read figure");
            paired++;
        } else {
            cr_expect_eq(g->kind, MB_JV_NULL, "%s rep with a read figure", test);
            unpaired++;
        }
    }
    cr_expect_eq(paired, 4, "2 tg cells x 2 reps");
    cr_expect_eq(unpaired, 4, "2 pp cells x 2 reps");
    mb_jv_free(j);
    free(out);
}
