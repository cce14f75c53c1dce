/* mobench bench / sweep pinning from the command line: usage errors (exit 2)
 * for masks naming no online CPU, clusters the device lacks, -C with
 * --cluster, strict without CPUs; a real pinned run whose rows, store and
 * `db export` carry cpu_mask, cpu_strict, cluster and cpus_ran; strict 1
 * with 2 threads on 0x3 putting thread i on CPU i; a refused CPU failing its
 * cell with the reason; a sweep whose clusters axis expands into cells. */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char g_dir[256];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mb-cli-pin-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(cli_pin, .init = setup, .fini = teardown, .timeout = 300);

/* Runs `env MB_BIN args`; stdout (and stderr with both) into *out. */
static int run(const char *env, const char *args, bool both, char **out)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "MOBENCH_CACHE='%s/cache' MOBENCH_DB='%s/default.db' %s '%s' %s %s", g_dir,
             g_dir, env ? env : "", MB_BIN, args, both ? "2>&1" : "2>/dev/null");
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

#define RPI "MOBENCH_SYSFS_ROOT='" MB_FIXTURES "/sysfs/rpi'"
#define PHONE "MOBENCH_SYSFS_ROOT='" MB_FIXTURES "/sysfs/android-3cluster'"

static void expect_usage(const char *env, const char *args, const char *msg)
{
    char *out;
    int rc = run(env, args, true, &out);
    cr_expect_eq(rc, 2, "%s: exit %d: %s", args, rc, out);
    cr_expect(strstr(out, msg), "%s: expected '%s' in: %s", args, msg, out);
    free(out);
}

Test(cli_pin, usage_errors)
{
    const char *m = "bench -m tiny-llama --no-db -r 1 -p 0 -n 4 ";
    char a[512];
#define U(env, opts, msg) (snprintf(a, sizeof a, "%s%s", m, opts), expect_usage(env, a, msg))
    /* the fixture's online CPUs are 0-3 */
    U(RPI, "-C 0xf0", "-C 0xf0: CPU mask 0xf0 names no online CPU (it names CPUs 4-7); the online CPUs are 0-3");
    U(RPI, "--cluster big", "--cluster big: this device has no big cluster; its clusters: uniform (CPUs 0-3");
    U(PHONE, "--cluster mid -C 0x1", "-C and --cluster both given");
    U(NULL, "-C 0xq", "-C: CPU mask '0xq': 'q' is not a hex digit");
    U(NULL, "-C ''", "-C: expected a value");
    U(NULL, "--cpu-mask 0x0", "-C: '0x0' names no CPU");
    U(NULL, "--cluster huge", "unknown cluster 'huge': expected big, mid, little or all");
    U(NULL, "-C 0x1 --cpu-strict 2", "--cpu-strict: expected 0 or 1, got '2'");
    U(NULL, "--cpu-strict 1", "--cpu-strict 1 needs CPUs to pin to");
    /* beyond CPU_SETSIZE */
    char big[400] = "-C 0x1";
    for (int i = 0; i < 256; i++)
        strcat(big, "0");
    U(NULL, big, "names CPU 1024, beyond the 1024 CPUs");
#undef U
    expect_usage(RPI, "sweep '" MB_FIXTURES "/sweeps/tiny.ini' --no-db --cluster little",
                 "--cluster little: this device has no little cluster");
}

/* One row of -o json (an array of one object) as text. */
static char *bench_json(const char *env, const char *opts, const char *db, int *rc)
{
    char a[1024], *out;
    snprintf(a, sizeof a, "-q bench -m tiny-llama -r 1 -p 0 -n 4 --no-warmup --no-roofline -o json %s %s%s",
             opts, db ? "--db " : "--no-db", db ? db : "");
    *rc = run(env, a, false, &out);
    return out;
}

static bool cpus_allowed(int a, int b)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    sched_getaffinity(0, sizeof s, &s);
    return CPU_ISSET(a, &s) && CPU_ISSET(b, &s);
}

Test(cli_pin, pinned_run_is_stored_and_exported)
{
    if (!cpus_allowed(0, 0))
        cr_skip_test("CPU 0 is not allowed to this process");
    char db[400], a[600];
    snprintf(db, sizeof db, "%s/p.db", g_dir);
    int rc;
    char *out = bench_json(NULL, "-t 2 -C 0x1 --cpu-strict 1", db, &rc);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "\"n_threads\":2,\"cpu_mask\":\"0x1\",\"cpu_strict\":true"), "%s", out);
    cr_assert(strstr(out, "\"status\":\"ok\""), "%s", out);
    cr_assert(strstr(out, "\"cluster\":\"\",\"cpus_ran\":\"t0:0 t1:0\""), "both threads on CPU 0: %s", out);
    free(out);
    snprintf(a, sizeof a, "db export --format csv --table cells --db '%s'", db);
    cr_assert_eq(run(NULL, a, false, &out), 0, "%s", out);
    cr_assert(strstr(out, ",cpu_mask,cpu_strict,cluster,cpus_ran,"), "%s", out);
    cr_assert(strstr(out, ",0x1,1,,t0:0 t1:0,"), "%s", out);
    free(out);
    snprintf(a, sizeof a, "db export --format json --db '%s'", db);
    cr_assert_eq(run(NULL, a, false, &out), 0, "%s", out);
    cr_assert(strstr(out, "\"cpu_mask\": \"0x1\""), "%s", out);
    free(out);
}

Test(cli_pin, strict_puts_thread_i_on_cpu_i)
{
    if (!cpus_allowed(0, 1))
        cr_skip_test("needs CPUs 0 and 1 allowed to this process");
    int rc;
    char *out = bench_json(NULL, "-t 2 -C 0x3 --cpu-strict 1", NULL, &rc);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "\"cpus_ran\":\"t0:0 t1:1\""), "%s", out);
    free(out);
    /* --cluster all: every online CPU, strict round-robin over them */
    out = bench_json(NULL, "-t 2 --cluster all --cpu-strict 1", NULL, &rc);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "\"cluster\":\"all\",\"cpus_ran\":\"t0:0 t1:1\""), "%s", out);
    free(out);
}

Test(cli_pin, refused_cpu_fails_the_cell_with_the_reason)
{
    /* The fixture says CPU 3 is online; this machine's kernel refuses it
     * when it has no CPU 3 (the same as a cpuset excluding it). */
    if (cpus_allowed(3, 3))
        cr_skip_test("this machine has CPU 3");
    int rc;
    char *out = bench_json(RPI, "-t 1 -C 0x8", NULL, &rc);
    cr_assert_eq(rc, 1, "a failed cell: exit 1: %s", out);
    cr_assert(strstr(out, "\"status\":\"failed\""), "%s", out);
    cr_assert(strstr(out, "pinning the cell's 1 thread (0x8): cannot pin thread 0 of 1 to CPU 3"), "%s", out);
    free(out);
}

Test(cli_pin, sweep_clusters_axis)
{
    if (!cpus_allowed(0, 1))
        cr_skip_test("needs CPUs 0 and 1 allowed to this process");
    char ini[400], a[1200];
    snprintf(ini, sizeof ini, "%s/c.ini", g_dir);
    FILE *f = fopen(ini, "w");
    cr_assert_not_null(f);
    fprintf(f, "[models]\nnames = tiny-llama\nrecipes = Q4_0\n[tests]\ntg = 4\nthreads = 2\n"
               "cpu_mask = 0x1, 0x3\ncpu_strict = 1\n[reps]\nmin = 1\nwarmup = false\n"
               "[cooldown]\nmode = none\n");
    fclose(f);
    snprintf(a, sizeof a, "sweep '%s' --dry-run --no-db", ini);
    char *out;
    cr_assert_eq(run(NULL, a, false, &out), 0, "%s", out);
    cr_assert(strstr(out, "tiny-llama/Q4_0/tg4@d0/t2/cpu=0x1,strict"), "%s", out);
    cr_assert(strstr(out, "tiny-llama/Q4_0/tg4@d0/t2/cpu=0x3,strict"), "%s", out);
    free(out);
    snprintf(a, sizeof a, "sweep '%s' --db '%s/s.db' --progress off", ini, g_dir);
    cr_assert_eq(run(NULL, a, false, &out), 0, "%s", out);
    cr_assert(strstr(out, "| 0x1 strict "), "%s", out);
    cr_assert(strstr(out, "| 0x3 strict "), "%s", out);
    free(out);
    snprintf(a, sizeof a, "db export --format csv --table cells --db '%s/s.db'", g_dir);
    cr_assert_eq(run(NULL, a, false, &out), 0, "%s", out);
    cr_assert(strstr(out, ",0x1,1,,t0:0 t1:0,") && strstr(out, ",0x3,1,,t0:0 t1:1,"), "%s", out);
    free(out);
    /* the command line replaces the file's axis */
    snprintf(a, sizeof a, "sweep '%s' --dry-run --no-db --cluster all", ini);
    cr_assert_eq(run(NULL, a, false, &out), 0, "%s", out);
    cr_assert(strstr(out, "t2/cpu=all,strict") && !strstr(out, "cpu=0x1"), "%s", out);
    free(out);
    /* a cluster this device lacks, from the file: FILE:LINE */
    f = fopen(ini, "w");
    fprintf(f, "[models]\nnames = tiny-llama\nrecipes = Q4_0\n[tests]\ntg = 4\nclusters = big, little\n");
    fclose(f);
    snprintf(a, sizeof a, "sweep '%s' --dry-run --no-db", ini);
    char env[600];
    snprintf(env, sizeof env, "%s", RPI);
    char want[600];
    snprintf(want, sizeof want, "%s:6: clusters: this device has no big cluster", ini);
    expect_usage(env, a, want);
}
