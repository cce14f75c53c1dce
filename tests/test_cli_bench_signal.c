/* test_cli_bench_signal.c: Ctrl-C during a model cache build (the built
 * binary, a real-shape model): `models build` and a bench cell that builds
 * the cached GGUF stop within seconds, leave no temporary file in
 * $MOBENCH_CACHE, and report the interruption (exit 130; the cell's status
 * "interrupted"). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mb.h"

static char g_dir[256], g_cache[300];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mb-cli-signal-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    snprintf(g_cache, sizeof g_cache, "%s/cache", g_dir);
    cr_assert_eq(mb_dir_create(g_cache), 0);
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(cli_signal, .init = setup, .fini = teardown, .timeout = 120);

/* Files in the cache whose name contains what (a count). */
static int count_files(const char *what)
{
    DIR *d = opendir(g_cache);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.' && strstr(e->d_name, what) != NULL;
    closedir(d);
    return n;
}

/* Starts mobench with args; stdout to out_path (or /dev/null). SIGINT gets
 * its default action in the child (a shell's background job ignores it). */
static pid_t spawn(const char *const *args, const char *out_path)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        int fd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(nul, 2);
        setenv("MOBENCH_CACHE", g_cache, 1);
        unsetenv("MOBENCH_TEST_CRASH_CELL");
        execv(MB_BIN, (char *const *)args);
        _exit(127);
    }
    return pid;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Waits until the build's temporary file exists (the build is under way),
 * then ~0.5 s more, then sends SIGINT; returns the exit status (128 + signal
 * if killed) and the seconds from the signal to the exit. */
static int interrupt_build(pid_t pid, double *took)
{
    double t0 = now_s();
    while (count_files(".tmp") == 0) {
        int st;
        cr_assert_eq(waitpid(pid, &st, WNOHANG), 0, "mobench exited before the build started");
        cr_assert_lt(now_s() - t0, 60, "the build did not start within 60 s");
        usleep(20000);
    }
    usleep(500000);
    double ts = now_s();
    cr_assert_eq(kill(pid, SIGINT), 0);
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (now_s() - ts > 30) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            cr_assert_fail("mobench did not stop within 30 s of SIGINT");
        }
        usleep(10000);
    }
    *took = now_s() - ts;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(cli_signal, models_build_interrupted)
{
    const char *args[] = {MB_BIN, "models", "build", "qwen3-0.6b", "--quant", "Q4_0", "--threads", "1", NULL};
    double took;
    int rc = interrupt_build(spawn(args, NULL), &took);
    cr_assert_eq(rc, 130, "exit status %d", rc);
    cr_assert_lt(took, 5.0, "took %.1f s to stop", took);
    cr_assert_eq(count_files("tmp"), 0, "a temporary file was left in %s", g_cache);
    cr_assert_eq(count_files(".gguf"), 0, "an unfinished model was left in %s", g_cache);
}

Test(cli_signal, bench_cell_building_interrupted)
{
    char out[300], db[300];
    snprintf(out, sizeof out, "%s/out.jsonl", g_dir);
    snprintf(db, sizeof db, "%s/b.db", g_dir);
    const char *args[] = {MB_BIN, "bench", "-m", "qwen3-0.6b", "-q", "Q4_0", "-p", "16", "-n", "0", "-r", "1",
                          "--no-roofline", "--db", db, "-o", "jsonl", NULL};
    double took;
    int rc = interrupt_build(spawn(args, out), &took);
    cr_assert_eq(rc, 1, "exit status %d", rc);
    cr_assert_lt(took, 5.0, "took %.1f s to stop", took);
    cr_assert_eq(count_files("tmp"), 0, "a temporary file was left in %s", g_cache);
    char *text;
    size_t len;
    cr_assert_eq(mb_file_read(out, 1 << 20, &text, &len), 0);
    mb_jv_t *j;
    cr_assert_eq(mb_jv_parse(text, len, &j), 0, "%s: %s", mb_err_msg(), text);
    cr_assert_str_eq(mb_jv_get(j, "status")->str, "interrupted", "%s", text);
    cr_assert(strstr(mb_jv_get(j, "reason")->str, "while building qwen3-0.6b"), "%s", text);
    mb_jv_free(j);
    free(text);
}
