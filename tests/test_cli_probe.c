/* test_cli_probe.c: `mobench probe` as a user runs it (MB_BIN). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "mb.h"

typedef struct {
    int status;
    char *out, *err;
    size_t out_len;
} run_t;

/* Runs MB_BIN with args through sh; captures stdout and stderr. */
static run_t run(const char *args)
{
    run_t r = {0};
    char errpath[] = "/tmp/mb-cli-probe-err-XXXXXX";
    int fd = mkstemp(errpath);
    cr_assert(fd >= 0);
    close(fd);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>'%s'", MB_BIN, args, errpath);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t cap = 1 << 16;
    r.out = malloc(cap + 1);
    size_t n;
    while ((n = fread(r.out + r.out_len, 1, cap - r.out_len, p)) > 0) {
        r.out_len += n;
        if (r.out_len == cap) {
            cap *= 2;
            r.out = realloc(r.out, cap + 1);
        }
    }
    r.out[r.out_len] = '\0';
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    size_t elen;
    cr_assert_eq(mb_file_read(errpath, 0, &r.err, &elen), MB_OK);
    unlink(errpath);
    return r;
}

static void run_free(run_t *r)
{
    free(r->out);
    free(r->err);
}

Test(cli_probe, bad_option_exits_2_naming_it)
{
    run_t r = run("probe --bogus-option");
    cr_assert_eq(r.status, 2, "exit %d", r.status);
    cr_assert(strstr(r.err, "--bogus-option"), "stderr: %s", r.err);
    run_free(&r);
    r = run("probe --sysfs-root");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "--sysfs-root"), "stderr: %s", r.err);
    run_free(&r);
    r = run("probe --sysfs-root /nonexistent/mobench-tree");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "--sysfs-root") && strstr(r.err, "/nonexistent/mobench-tree"), "stderr: %s", r.err);
    run_free(&r);
    r = run("probe --threads 2");
    cr_assert_eq(r.status, 2, "--threads without --roofline");
    cr_assert(strstr(r.err, "--threads") && strstr(r.err, "--roofline"), "stderr: %s", r.err);
    run_free(&r);
    r = run("probe --roofline --passes 0");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "--passes"), "stderr: %s", r.err);
    run_free(&r);
    r = run("probe --roofline --buffer 12x");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "--buffer"), "stderr: %s", r.err);
    run_free(&r);
    r = run("probe --roofline --sysfs-root '" MB_FIXTURES "/sysfs/rpi'");
    cr_assert_eq(r.status, 2, "the roofline measures this host, not a tree");
    cr_assert(strstr(r.err, "--roofline"), "stderr: %s", r.err);
    run_free(&r);
    r = run("probe --roofline --threads 0");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "--threads"), "stderr: %s", r.err);
    run_free(&r);
    r = run("probe --roofline --threads 1,x");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "--threads"), "stderr: %s", r.err);
    run_free(&r);
    r = run("probe stray");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "stray"));
    run_free(&r);
}

Test(cli_probe, help_lists_every_option_with_default)
{
    run_t r = run("probe --help");
    cr_assert_eq(r.status, 0);
    const char *opts[] = {"--json", "--sysfs-root", "--roofline", "--threads", "--help"};
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
        cr_assert(strstr(r.out, opts[i]), "help lacks %s", opts[i]);
    cr_assert(strstr(r.out, "default"));
    run_free(&r);
}

Test(cli_probe, json_on_fixture_has_required_keys)
{
    run_t r = run("probe --json --sysfs-root '" MB_FIXTURES "/sysfs/android-3cluster'");
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    mb_jv_t *v;
    cr_assert_eq(mb_jv_parse(r.out, r.out_len, &v), MB_OK, "%s", mb_err_msg());
    const char *req[] = {"schema", "root", "fingerprint", "timestamp", "warnings", "cpu.vendor", "cpu.brand",
                         "cpu.uarch", "cpu.threads", "cpu.features", "cpu.clusters", "cpu.caches", "cpu.cores",
                         "cpu.sources", "cpu.disagreements", "memory.total_bytes", "memory.thp", "memory.zram",
                         "thermal.zones", "thermal.hwmon", "thermal.cooling", "power.rapl", "power.batteries",
                         "system.kernel", "system.os_name", "system.hostname", "system.hypervisor",
                         "system.android"};
    for (size_t i = 0; i < sizeof req / sizeof *req; i++)
        cr_assert(mb_jv_path(v, req[i]), "missing key %s", req[i]);
    cr_assert_eq(mb_jv_path(v, "cpu.threads")->num, 8);
    cr_assert_eq(mb_jv_path(v, "cpu.clusters")->n, 3);
    mb_jv_free(v);
    run_free(&r);
}

Test(cli_probe, env_root_and_broken_tree)
{
    run_t r = run("probe --json --sysfs-root '" MB_FIXTURES "/sysfs/broken'");
    cr_assert_eq(r.status, 0, "a broken tree is not a failure");
    cr_assert(strstr(r.err, "warning"), "warnings go to stderr");
    mb_jv_t *v;
    cr_assert_eq(mb_jv_parse(r.out, r.out_len, &v), MB_OK);
    cr_assert_eq(mb_jv_path(v, "memory.total_bytes")->kind, MB_JV_NULL);
    mb_jv_free(v);
    run_free(&r);
    r = run("-q probe");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "CPU"));
    run_free(&r);
}

Test(cli_probe, env_var_sets_the_root)
{
    setenv("MOBENCH_SYSFS_ROOT", MB_FIXTURES "/sysfs/rpi", 1);
    run_t r = run("probe --json");
    unsetenv("MOBENCH_SYSFS_ROOT");
    cr_assert_eq(r.status, 0, "%s", r.err);
    mb_jv_t *v;
    cr_assert_eq(mb_jv_parse(r.out, r.out_len, &v), MB_OK);
    cr_assert_str_eq(mb_jv_path(v, "cpu.brand")->str, "Raspberry Pi 4 Model B Rev 1.4");
    mb_jv_free(v);
    run_free(&r);
}

/* A tiny roofline run: the JSON gains "ceilings" with bandwidth and peaks. */
Test(cli_probe, roofline_json_small)
{
    run_t r = run("-q probe --json --roofline --buffer 8M --passes 1 --threads 1");
    cr_assert_eq(r.status, 0, "%s", r.err);
    mb_jv_t *v;
    cr_assert_eq(mb_jv_parse(r.out, r.out_len, &v), MB_OK);
    const mb_jv_t *bw = mb_jv_path(v, "ceilings.bandwidth.0.read_gbs");
    cr_assert(bw && bw->kind == MB_JV_NUM && bw->num > 0);
    cr_assert_eq(mb_jv_path(v, "ceilings.bandwidth.0.threads")->num, 1);
    const mb_jv_t *peaks = mb_jv_path(v, "ceilings.peaks");
    cr_assert(peaks && peaks->kind == MB_JV_ARR);
#if defined(__x86_64__) || defined(__aarch64__)
    cr_assert_gt(peaks->n, 0, "at least one ISA peak on x86-64/AArch64");
    cr_assert_gt(mb_jv_path(v, "ceilings.peaks.0.points.0.gops")->num, 0);
#endif
    mb_jv_free(v);
    run_free(&r);
}

Test(cli_probe, version_prints_version)
{
    run_t r = run("--version");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "mobench ") && strstr(r.out, "commit"), "%s", r.out);
    run_free(&r);
}
