/* test_cli_bench_opts.c: option parsing of bench, sweep, kernels, models and
 * quality (getopt_long): llama-bench's short forms including the two-letter
 * -pg, usage errors with exit code 2, sweep's --resume [RUN] in either order,
 * and the one default seed (models build and bench share the cached model). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mb.h"

static char g_dir[256];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mb-cli-opts-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(cli_opts, .init = setup, .fini = teardown, .timeout = 120);

/* Runs MB_BIN args with this test's cache and default DB; stdout and stderr
 * (2>&1 when both) into *out. */
static int run(const char *args, bool both, char **out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "MOBENCH_CACHE='%s/cache' MOBENCH_DB='%s/default.db' %s %s %s", g_dir, g_dir,
             MB_BIN, args, both ? "2>&1" : "2>/dev/null");
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

static void expect_usage(const char *args, const char *msg)
{
    char *out;
    int rc = run(args, true, &out);
    cr_expect_eq(rc, 2, "%s: exit %d: %s", args, rc, out);
    cr_expect(strstr(out, msg), "%s: expected '%s' in: %s", args, msg, out);
    free(out);
}

Test(cli_opts, bench_short_forms_and_pg)
{
    char *out;
    /* -pg is llama-bench's two-letter flag; -r1 -t1 as getopt clusters values */
    cr_assert_eq(run("bench -m tiny-llama -q Q4_0 -p 0 -n 0 -pg 8,2 -r1 -t 1 -d 0 -o jsonl --no-warmup "
                     "--no-db --no-roofline", false, &out), 0, "%s", out);
    mb_jv_t *j;
    cr_assert_eq(mb_jv_parse(out, strlen(out), &j), 0, "%s: %s", mb_err_msg(), out);
    cr_expect_str_eq(mb_jv_get(j, "test")->str, "pp8+tg2");
    cr_expect_eq(mb_jv_get(j, "n_prompt")->num, 8);
    cr_expect_eq(mb_jv_get(j, "n_gen")->num, 2);
    cr_expect_eq(mb_jv_get(j, "n_threads")->num, 1);
    cr_expect_eq(mb_jv_get(j, "n_reps")->num, 1);
    mb_jv_free(j);
    free(out);
    /* long forms, and two -pg pairs */
    cr_assert_eq(run("bench --model tiny-llama --quant Q4_0 --n-prompt 0 --n-gen 0 -pg 8,2 --pg 4,1 "
                     "--repetitions 1 --threads 1 --output csv --no-warmup --no-db --no-roofline", false, &out),
                 0, "%s", out);
    cr_expect(strstr(out, "pp8+tg2") && strstr(out, "pp4+tg1"), "%s", out);
    free(out);
}

Test(cli_opts, usage_errors_exit_2)
{
    expect_usage("bench -m", "-m: missing value");
    expect_usage("bench -m tiny-llama -pg", "-pg: missing value");
    expect_usage("bench -m tiny-llama -pg 1,2,3", "-pg: expected one pair P,N");
    expect_usage("bench -m tiny-llama --bogus", "unknown option '--bogus'");
    expect_usage("bench -m tiny-llama -x", "unknown option '-x'");
    expect_usage("bench tiny-llama", "unexpected argument");
    expect_usage("bench -m tiny-llama -r 0", "-r: expected a repetition count");
    expect_usage("bench -m tiny-llama --busy-timeout soon", "--busy-timeout: expected milliseconds");
    expect_usage("bench", "no model");
    expect_usage("sweep", "no sweep file");
    expect_usage("sweep --bogus", "unknown option '--bogus'");
    expect_usage("sweep a.ini b.ini", "unexpected argument 'b.ini'");
    expect_usage("sweep " MB_FIXTURES "/sweeps/tiny.ini --db", "--db: missing value");
    expect_usage("sweep " MB_FIXTURES "/sweeps/tiny.ini --progress fancy", "--progress: expected auto");
    expect_usage("sweep " MB_FIXTURES "/sweeps/tiny.ini --busy-timeout 0", "--busy-timeout");
    expect_usage("kernels --bogus", "unknown option '--bogus'");
    expect_usage("kernels --threads", "--threads: missing value");
    expect_usage("kernels --reps 2", "--reps '2'");
    expect_usage("kernels --isa avx2", "--isa goes with --list");
    expect_usage("kernels --list --isa avx2,fmaa", "did you mean 'fma'");
    expect_usage("models build tiny-llama --quant", "--quant: missing value");
    expect_usage("models build tiny-llama --quant Q4_0 --frob", "unknown option '--frob'");
    expect_usage("models build a b --quant Q4_0", "one model at a time");
    expect_usage("models inspect --frob", "unknown option '--frob'");
    expect_usage("models list extra", "unexpected argument 'extra'");
    expect_usage("models show --frob", "unknown option '--frob'");
    expect_usage("models eval x.gguf --threads 0", "--threads wants 1..256");
    expect_usage("models eval x.gguf --tokens", "--tokens: missing value");
    expect_usage("quality -m tiny-llama -q", "-q: missing value");
    expect_usage("quality -m tiny-llama -q Q4_0 --len 1", "--len wants 2..65536");
    expect_usage("quality --frob", "unknown option '--frob'");
}

Test(cli_opts, sweep_resume_either_order)
{
    char *out;
    /* --resume RUN before or after the file, or --resume=RUN: a run named
     * 'nosuchrun' is looked up (and not found) in both orders */
    char db[400], args[1024];
    snprintf(db, sizeof db, "%s/s.db", g_dir);
    for (int i = 0; i < 3; i++) {
        const char *f = MB_FIXTURES "/sweeps/tiny.ini";
        if (i == 0)
            snprintf(args, sizeof args, "sweep --resume nosuchrun %s --db %s", f, db);
        else if (i == 1)
            snprintf(args, sizeof args, "sweep %s --resume nosuchrun --db %s", f, db);
        else
            snprintf(args, sizeof args, "sweep %s --resume=nosuchrun --db %s", f, db);
        int rc = run(args, true, &out);
        cr_expect_eq(rc, 1, "%s: %d %s", args, rc, out);
        cr_expect(strstr(out, "nosuchrun"), "%s: %s", args, out);
        free(out);
    }
    /* --resume without a run, before the file: the file is not taken as the run */
    snprintf(args, sizeof args, "sweep --resume %s --no-db", MB_FIXTURES "/sweeps/tiny.ini");
    expect_usage(args, "--resume needs the store");
}

/* The one file in the cache (its name into buf); fails unless exactly one. */
static void cache_file(char *buf, size_t len)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/cache", g_dir);
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(buf, len, "%s", e->d_name);
            n++;
        }
    closedir(d);
    cr_assert_eq(n, 1, "%d files in the cache", n);
}

Test(cli_opts, one_default_seed_shared_cache)
{
    char *out, first[256], second[256];
    /* bench without --seed builds the model into the cache ... */
    cr_assert_eq(run("bench -m tiny-llama -q Q4_0 -p 8 -n 0 -r 1 -t 1 --no-warmup --no-db --no-roofline", false,
                     &out), 0, "%s", out);
    free(out);
    cache_file(first, sizeof first);
    /* ... and models build without --seed finds that very file */
    cr_assert_eq(run("-v models build tiny-llama --quant Q4_0", true, &out), 0, "%s", out);
    cr_expect(strstr(out, first), "models build used another cache key than bench (%s): %s", first, out);
    cr_expect(strstr(out, "in the cache already"), "%s", out);
    free(out);
    cache_file(second, sizeof second);
    cr_expect_str_eq(first, second);
    /* the default is documented where the flag is */
    cr_assert_eq(run("bench --help", false, &out), 0);
    char want[64];
    snprintf(want, sizeof want, "-s%s-Q4_0.gguf", "1");
    cr_expect(strstr(first, want), "%s", first);
    cr_expect(strstr(out, "(default 1"), "%s", out);
    free(out);
    cr_assert_eq(run("models build --help", false, &out), 0);
    cr_expect(strstr(out, "(default 1"), "%s", out);
    free(out);
    cr_assert_eq(run("quality --help", false, &out), 0);
    cr_expect(strstr(out, "default 1 "), "%s", out);
    free(out);
}

/* kernels --list --isa: the plan for another CPU, fallbacks marked. */
Test(cli_opts, kernels_list_for_another_cpu)
{
    char *out;
    int rc = run("kernels --list", false, &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "chosen on this CPU:"), "%s", out);
    free(out);
#if defined(__x86_64__)
    rc = run("kernels --list --isa avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512_vnni",
             false, &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "chosen on a CPU with the --isa features: avx512"), "%s", out);
    cr_assert(strstr(out, "BF16     avx2 *"), "%s", out);
    cr_assert(strstr(out, "Q4_0     avx512     yes"), "%s", out);
    cr_assert(strstr(out, "* fallback:"), "%s", out);
    free(out);
    rc = run("kernels --list --isa avx2,fma,f16c,avx512f --json", false, &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "\"chosen\": \"avx2\""), "%s", out);
    cr_assert(!strstr(out, "\"fallback\": true"), "%s", out);
    free(out);
    rc = run("kernels --list --isa avx2,fma,f16c --kernel avx512", true, &out);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "needs CPU features"), "%s", out);
    free(out);
#endif
}
