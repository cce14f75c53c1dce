/* The compare, recommend and report commands end to end on the fixture
 * database (built through the store API): known verdicts, exit code 3 on
 * a regression, a table with reasons, and clear errors on bad input. */
#include <criterion/criterion.h>

#include "fixtures/reports/fixture_db.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256], dbpath[300], a1[DB_UUID_LEN], a2[DB_UUID_LEN], b1[DB_UUID_LEN];
static char *out_text, *err_text;

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/mb_reports_cli_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(dbpath, sizeof dbpath, "%s/fixture.db", dir);
    cr_assert_eq(fixture_db_build(dbpath, a1, a2, b1), 0, "%s", mb_err_msg());
    out_text = err_text = NULL;
}

static void teardown(void)
{
    free(out_text);
    free(err_text);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", dir, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
}

/* Runs mobench with args (NULL-terminated); stdout/stderr to out_text/err_text. */
static int run(const char *const *args)
{
    char outp[400], errp[400];
    snprintf(outp, sizeof outp, "%s/stdout", dir);
    snprintf(errp, sizeof errp, "%s/stderr", dir);
    const char *argv[32] = {MB_BIN};
    int n = 1;
    for (; args[n - 1] && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1);
        dup2(fe, 2);
        setenv("MOBENCH_DB", "/nonexistent/default.db", 1);
        execv(MB_BIN, (char *const *)argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    free(out_text);
    free(err_text);
    size_t len;
    cr_assert_eq(mb_file_read(outp, 0, &out_text, &len), 0);
    cr_assert_eq(mb_file_read(errp, 0, &err_text, &len), 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TestSuite(reports_cli, .init = setup, .fini = teardown, .timeout = 60);

Test(reports_cli, compare_regression_exits_3)
{
    const char *args[] = {"compare", "--db", dbpath, "--baseline", a1, "--candidate", a2, NULL};
    cr_assert_eq(run(args), 3, "stdout:\n%s\nstderr:\n%s", out_text, err_text);
    cr_assert(strstr(out_text, "| llama-3.2-1b | Q4_K_M | tg128 |"), "%s", out_text);
    cr_assert(strstr(out_text, "**regressed**"), "%s", out_text);
    cr_assert(strstr(out_text, "different kernel (avx2 vs scalar)"), "%s", out_text);
    cr_assert(strstr(out_text, "1 regressed, 0 improved, 6 unchanged, 1 not comparable"), "%s",
              out_text);
    cr_assert(strstr(err_text, "1 cell regressed"), "%s", err_text);
}

Test(reports_cli, compare_json_and_threshold)
{
    const char *args[] = {"compare", "--db", dbpath, "--baseline", a1, "--candidate", a2,
                          "-o", "json", NULL};
    cr_assert_eq(run(args), 3);
    mb_jv_t *jv;
    cr_assert_eq(mb_jv_parse(out_text, strlen(out_text), &jv), 0, "%s", mb_err_msg());
    cr_assert_eq(mb_jv_get(jv, "regressed")->num, 1);
    cr_assert_eq(mb_jv_get(jv, "unchanged")->num, 6);
    mb_jv_free(jv);
    /* a 20% threshold: the 10% slowdown cannot reach it, so it passes */
    const char *lax[] = {"compare", "--db", dbpath, "--baseline", a1, "--candidate", a2,
                         "--threshold", "20%", NULL};
    cr_assert_eq(run(lax), 0, "%s", out_text);
    cr_assert(strstr(out_text, "significant -10."), "%s", out_text);
    /* the reverse direction is an improvement, exit 0 */
    const char *rev[] = {"compare", "--db", dbpath, "--baseline", a2, "--candidate", a1, NULL};
    cr_assert_eq(run(rev), 0, "%s", out_text);
    cr_assert(strstr(out_text, "improved"), "%s", out_text);
}

Test(reports_cli, compare_bad_input)
{
    const char *same[] = {"compare", "--db", dbpath, "--baseline", a1, "--candidate", a1, NULL};
    cr_assert_eq(run(same), 1);
    cr_assert(strstr(err_text, "same run"), "%s", err_text);
    /* latest is the phone's only run: no 'previous' on that device */
    const char *prev[] = {"compare", "--db", dbpath, NULL};
    cr_assert_eq(run(prev), 1);
    cr_assert(strstr(err_text, "previous"), "%s", err_text);
    const char *nope[] = {"compare", "--db", dbpath, "--baseline", "zzzzzz", NULL};
    cr_assert_eq(run(nope), 1);
    cr_assert(strstr(err_text, "no run 'zzzzzz'"), "%s", err_text);
    const char *thr[] = {"compare", "--db", dbpath, "--threshold", "lots", NULL};
    cr_assert_eq(run(thr), 2);
    cr_assert(strstr(err_text, "--threshold"), "%s", err_text);
    const char *nodb[] = {"compare", NULL};
    cr_assert_eq(run(nodb), 1);
    cr_assert(strstr(err_text, "/nonexistent/default.db"), "%s", err_text);
    /* nothing was written to the database by any of this */
    struct stat st1, st2;
    cr_assert_eq(stat(dbpath, &st1), 0);
    const char *ok[] = {"compare", "--db", dbpath, "--baseline", a1, "--candidate", a2, NULL};
    run(ok);
    cr_assert_eq(stat(dbpath, &st2), 0);
    cr_assert_eq(st1.st_mtime, st2.st_mtime);
}

Test(reports_cli, recommend_mid_android_with_reasons)
{
    const char *args[] = {"recommend", "--db", dbpath, "--class", "mid-android-8gb", NULL};
    cr_assert_eq(run(args), 0, "%s", err_text);
    /* the phone measured llama-3.2-1b Q4_0 only: that is the one on-class figure */
    cr_assert(strstr(out_text, "measured on 1 device of this class"), "%s", out_text);
    cr_assert(strstr(out_text, "not measured on this class"), "%s", out_text);
    cr_assert(strstr(out_text, "Recommended quantization per device class"));
    cr_assert(strstr(out_text, "Model per use case"));
    cr_assert(strstr(out_text, "guides quote ~600M"), "%s", out_text);
    /* a floor the phone misses: its 11 tok/s is the reason */
    const char *floor[] = {"recommend", "--db", dbpath, "--class", "mid-android-8gb",
                           "--use-case", "chat", "--min-tg", "12", NULL};
    cr_assert_eq(run(floor), 0);
    cr_assert(strstr(out_text, "tok/s < 12"), "%s", out_text);
    /* nothing fits in 512 MB */
    const char *tiny[] = {"recommend", "--db", dbpath, "--class", "mid-android-8gb",
                          "--use-case", "chat", "--budget", "512M", NULL};
    cr_assert_eq(run(tiny), 0);
    cr_assert(strstr(out_text, "Nothing fits"), "%s", out_text);
    cr_assert(strstr(out_text, "budget"), "%s", out_text);
    const char *json[] = {"recommend", "--db", dbpath, "-o", "json", NULL};
    cr_assert_eq(run(json), 0);
    mb_jv_t *jv;
    cr_assert_eq(mb_jv_parse(out_text, strlen(out_text), &jv), 0, "%s", mb_err_msg());
    cr_assert_eq(mb_jv_get(jv, "recommendations")->n, 5 * 4);
    mb_jv_free(jv);
    const char *html[] = {"recommend", "--db", dbpath, "-o", "html", NULL};
    cr_assert_eq(run(html), 0);
    cr_assert(strstr(out_text, "<table>") && strstr(out_text, "</html>"));
}

Test(reports_cli, recommend_bad_input)
{
    const char *cls[] = {"recommend", "--db", dbpath, "--class", "pager", NULL};
    cr_assert_eq(run(cls), 2);
    cr_assert(strstr(err_text, "pager"), "%s", err_text);
    const char *uc[] = {"recommend", "--db", dbpath, "--use-case", "poetry", NULL};
    cr_assert_eq(run(uc), 2);
    const char *ram[] = {"recommend", "--db", dbpath, "--ram", "lots", NULL};
    cr_assert_eq(run(ram), 2);
    char bad[400];
    snprintf(bad, sizeof bad, "%s/bad.ini", dir);
    FILE *f = fopen(bad, "w");
    fputs("[class x]\nram = 4G\nbudget = 150%\n", f);
    fclose(f);
    const char *file[] = {"recommend", "--db", dbpath, "--classes", bad, NULL};
    cr_assert_eq(run(file), 1);
    cr_assert(strstr(err_text, "bad.ini:3"), "%s", err_text);
    const char *list[] = {"recommend", "--list", NULL};
    cr_assert_eq(run(list), 0);
    cr_assert(strstr(out_text, "iphone-15-pro-8gb"), "%s", out_text);
}

Test(reports_cli, report_writes_the_directory)
{
    char out[400];
    snprintf(out, sizeof out, "%s/rep", dir);
    const char *args[] = {"report", "--db", dbpath, "--out", out, "--device", "fp-lab-a", NULL};
    cr_assert_eq(run(args), 0, "%s", err_text);
    cr_assert(strstr(out_text, "index.html (16 cells, 2 runs"), "%s", out_text);
    char p[500];
    snprintf(p, sizeof p, "%s/index.html", out);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    const char *since[] = {"report", "--db", dbpath, "--out", out, "--since", "someday", NULL};
    cr_assert_eq(run(since), 2);
    cr_assert(strstr(err_text, "--since"), "%s", err_text);
    const char *nog[] = {"report", "--db", dbpath, "--out", out, "--gnuplot", "/nonexistent/gp", NULL};
    cr_assert_eq(run(nog), 0, "%s", err_text);
    cr_assert(strstr(out_text, "apt-get install gnuplot-nox"), "%s", out_text);
}

/* Largest count of significant digits of any number in a JSON text
 * (strings skipped); the writers round to 10. */
static int max_json_digits(const char *s, char *worst, size_t len)
{
    int best = 0;
    bool in_str = false;
    for (const char *p = s; *p; p++) {
        if (in_str) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_str = false;
            continue;
        }
        if (*p == '"') {
            in_str = true;
            continue;
        }
        if (!(*p == '-' || (*p >= '0' && *p <= '9')))
            continue;
        const char *e = p + strspn(p, "-+0123456789.eE");
        int sig = 0;
        bool lead = true;
        for (const char *q = p; q < e && *q != 'e' && *q != 'E'; q++)
            if (*q >= '0' && *q <= '9' && !(lead && *q == '0')) {
                lead = false;
                sig++;
            }
        if (sig > best) {
            best = sig;
            snprintf(worst, len, "%.*s", (int)(e - p), p);
        }
        p = e - 1;
    }
    return best;
}

Test(reports_cli, json_numbers_have_no_float_noise)
{
    char worst[64] = "";
    const char *cmp[] = {"compare", "--db", dbpath, "--baseline", a1, "--candidate", a2,
                         "-o", "json", NULL};
    cr_assert_eq(run(cmp), 3);
    cr_assert(strstr(out_text, "\"threshold\": 0.05,"), "%s", out_text);
    cr_assert_leq(max_json_digits(out_text, worst, sizeof worst), 10, "%s in\n%s", worst,
                  out_text);
    const char *rec[] = {"recommend", "--db", dbpath, "-o", "json", NULL};
    cr_assert_eq(run(rec), 0, "%s", err_text);
    cr_assert_leq(max_json_digits(out_text, worst, sizeof worst), 10, "%s in\n%s", worst,
                  out_text);
    /* and it still parses */
    mb_jv_t *jv;
    cr_assert_eq(mb_jv_parse(out_text, strlen(out_text), &jv), 0, "%s", mb_err_msg());
    mb_jv_free(jv);
}

Test(reports_cli, report_empty_selection_fails_and_writes_nothing)
{
    char out[400], p[500];
    snprintf(out, sizeof out, "%s/rep-empty", dir);
    struct stat st;
    const char *since[] = {"report", "--db", dbpath, "--out", out, "--since", "2030-01-01", NULL};
    cr_assert_eq(run(since), 1, "stdout:\n%s\nstderr:\n%s", out_text, err_text);
    cr_assert(strstr(err_text, "no results match --since 2030-01-01"), "%s", err_text);
    cr_assert_eq(stat(out, &st), -1, "nothing may be written for an empty selection");
    const char *dev[] = {"report", "--db", dbpath, "--out", out, "--device", "fp-nothing", NULL};
    int rc = run(dev);
    cr_assert_eq(rc, 1, "%s", err_text);
    cr_assert_eq(stat(out, &st), -1);
    /* a selection that holds runs but no cells is empty too */
    const char *both[] = {"report", "--db", dbpath, "--out", out, "--device", "fp-phone",
                          "--since", "2026-11-21", NULL};
    cr_assert_eq(run(both), 0, "%s", err_text); /* B1 is on 11-22: found */
    const char *late[] = {"report", "--db", dbpath, "--out", out, "--device", "fp-lab",
                          "--since", "2026-11-22", NULL};
    cr_assert_eq(run(late), 1, "%s", out_text);
    cr_assert(strstr(err_text, "no results match --since 2026-11-22 --device fp-lab"), "%s",
              err_text);
    /* an empty database (schema, no rows) */
    char empty[400];
    snprintf(empty, sizeof empty, "%s/empty.db", dir);
    db_t *db;
    cr_assert_eq(db_open(empty, 0, &db), 0, "%s", mb_err_msg());
    db_close(db);
    snprintf(out, sizeof out, "%s/rep-empty-db", dir);
    const char *edb[] = {"report", "--db", empty, "--out", out, NULL};
    cr_assert_eq(run(edb), 1, "%s", out_text);
    cr_assert(strstr(err_text, "holds no results"), "%s", err_text);
    cr_assert(strstr(err_text, empty), "%s", err_text);
    cr_assert_eq(stat(out, &st), -1);
    snprintf(p, sizeof p, "%s/rep-empty-db/index.html", dir);
    cr_assert_eq(stat(p, &st), -1);
    cr_assert_eq(strlen(out_text), 0, "no summary on stdout: %s", out_text);
}

Test(reports_cli, output_file_for_compare_and_recommend)
{
    char p[400], *text = NULL;
    size_t len;
    /* compare: --help names it; the file gets what stdout would; exit 3 still */
    const char *help[] = {"compare", "--help", NULL};
    cr_assert_eq(run(help), 0);
    cr_assert(strstr(out_text, "--output FILE"), "%s", out_text);
    const char *md[] = {"compare", "--db", dbpath, "--baseline", a1, "--candidate", a2, NULL};
    cr_assert_eq(run(md), 3);
    char *stdout_md = strdup(out_text);
    snprintf(p, sizeof p, "%s/cmp.md", dir);
    const char *file[] = {"compare", "--db", dbpath, "--baseline", a1, "--candidate", a2,
                          "--output", p, NULL};
    cr_assert_eq(run(file), 3, "%s", err_text);
    cr_assert_eq(strlen(out_text), 0, "stdout should be empty: %s", out_text);
    cr_assert_eq(mb_file_read(p, 0, &text, &len), 0);
    cr_assert_str_eq(text, stdout_md);
    free(text);
    free(stdout_md);
    /* the format follows the extension unless -o says otherwise */
    snprintf(p, sizeof p, "%s/cmp.json", dir);
    const char *json[] = {"compare", "--db", dbpath, "--baseline", a1, "--candidate", a2,
                          "--output", p, NULL};
    cr_assert_eq(run(json), 3);
    cr_assert_eq(mb_file_read(p, 0, &text, &len), 0);
    mb_jv_t *jv;
    cr_assert_eq(mb_jv_parse(text, len, &jv), 0, "%s", text);
    cr_assert_eq(mb_jv_get(jv, "regressed")->num, 1);
    mb_jv_free(jv);
    free(text);
    const char *forced[] = {"compare", "--db", dbpath, "--baseline", a1, "--candidate", a2,
                            "--output", p, "-o", "md", NULL};
    cr_assert_eq(run(forced), 3);
    cr_assert_eq(mb_file_read(p, 0, &text, &len), 0);
    cr_assert(!strncmp(text, "## mobench compare", 18), "%s", text);
    free(text);
    /* a format name is not a file name; an unwritable path fails, leaving nothing */
    const char *fmt[] = {"compare", "--db", dbpath, "--output", "json", NULL};
    cr_assert_eq(run(fmt), 2);
    cr_assert(strstr(err_text, "-o json"), "%s", err_text);
    const char *bad[] = {"compare", "--db", dbpath, "--baseline", a1, "--candidate", a2,
                         "--output", "/nonexistent/dir/cmp.md", NULL};
    cr_assert_eq(run(bad), 1);
    cr_assert(strstr(err_text, "/nonexistent/dir/cmp.md"), "%s", err_text);

    /* recommend: the same */
    const char *rhelp[] = {"recommend", "--help", NULL};
    cr_assert_eq(run(rhelp), 0);
    cr_assert(strstr(out_text, "--output FILE"), "%s", out_text);
    snprintf(p, sizeof p, "%s/rec.html", dir);
    const char *rec[] = {"recommend", "--db", dbpath, "--class", "mid-android-8gb", "--output", p,
                         NULL};
    cr_assert_eq(run(rec), 0, "%s", err_text);
    cr_assert_eq(strlen(out_text), 0, "stdout should be empty: %s", out_text);
    cr_assert_eq(mb_file_read(p, 0, &text, &len), 0);
    cr_assert(!strncmp(text, "<!DOCTYPE html>", 15) && strstr(text, "</html>"), "%s", text);
    cr_assert(strstr(text, "Recommended quantization per device class"));
    free(text);
    snprintf(p, sizeof p, "%s/rec.json", dir);
    const char *rj[] = {"recommend", "--db", dbpath, "--output", p, NULL};
    cr_assert_eq(run(rj), 0, "%s", err_text);
    cr_assert_eq(mb_file_read(p, 0, &text, &len), 0);
    cr_assert_eq(mb_jv_parse(text, len, &jv), 0, "%s", text);
    cr_assert_eq(mb_jv_get(jv, "recommendations")->n, 5 * 4);
    mb_jv_free(jv);
    free(text);
    /* a failing recommend (no database) leaves no output file behind */
    snprintf(p, sizeof p, "%s/rec-fail.md", dir);
    const char *rf[] = {"recommend", "--db", "/nonexistent/x.db", "--output", p, NULL};
    cr_assert_eq(run(rf), 1);
    struct stat st;
    cr_assert_eq(stat(p, &st), -1);
    snprintf(p, sizeof p, "%s/rec-fail.md.tmp", dir);
    cr_assert_eq(stat(p, &st), -1);
}
