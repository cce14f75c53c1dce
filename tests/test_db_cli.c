/* test_db_cli.c: `mobench db check|export|merge` through the built binary. */
#include "fixtures/db/db_test_util.h"

#include <fcntl.h>
#include <sys/wait.h>

static char dir[256];
static char path[512];
static char out_path[512];

static void setup(void)
{
    if (access(MB_BIN, X_OK) != 0)
        cr_skip("mobench binary %s not built", MB_BIN);
    tu_mkdtemp(dir);
    tu_path(path, dir, "cli.db");
    tu_path(out_path, dir, "stdout.txt");
}

static void teardown(void)
{
    if (dir[0])
        tu_rmdir(dir);
}

TestSuite(db_cli, .init = setup, .fini = teardown);

/* Runs mobench with args (NULL-terminated); stdout goes to out_path and is
 * returned in *out (malloc'd). Returns the exit status. */
static int run(char **out, const char *arg, ...)
{
    const char *argv[16] = {MB_BIN};
    int n = 1;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a && n < 15; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_WRONLY);
        if (fd < 0 || nul < 0)
            _exit(126);
        dup2(fd, 1);
        dup2(nul, 2);
        unsetenv("MOBENCH_DB");
        execv(MB_BIN, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    size_t len = 0;
    *out = NULL;
    cr_assert_eq(mb_file_read(out_path, 0, out, &len), 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void build(const char *p, const char *fp, int cells)
{
    char r[DB_UUID_LEN];
    db_t *db = tu_open_run(p, fp, r);
    for (int i = 0; i < cells; i++)
        cr_assert_eq(tu_commit(db, r, "llama-3.2-1b", "Q4_0", DB_CELL_OK, 3, 4), 0);
    db_close(db);
}

Test(db_cli, help_and_usage_errors)
{
    char *out;
    cr_assert_eq(run(&out, "db", "--help", NULL), 0);
    cr_assert_neq(strstr(out, "merge"), NULL);
    free(out);
    cr_assert_eq(run(&out, "db", NULL), 2);
    free(out);
    cr_assert_eq(run(&out, "db", "vacuum", NULL), 2);
    free(out);
    cr_assert_eq(run(&out, "db", "export", "--db", path, NULL), 2, "export without --format");
    free(out);
    cr_assert_eq(run(&out, "db", "export", "--format", "xml", "--db", path, NULL), 2);
    free(out);
    cr_assert_eq(run(&out, "db", "check", "--bogus", NULL), 2);
    free(out);
    cr_assert_eq(run(&out, "db", "merge", "--db", path, NULL), 2, "merge without files");
    free(out);
}

Test(db_cli, check_reports_ok_and_counts)
{
    build(path, "fp-cli", 2);
    char *out;
    cr_assert_eq(run(&out, "db", "check", "--db", path, NULL), 0);
    cr_assert_neq(strstr(out, "status:         ok"), NULL, "%s", out);
    cr_assert_neq(strstr(out, "cells:          2"), NULL, "%s", out);
    cr_assert_neq(strstr(out, "reps:           6"), NULL, "%s", out);
    cr_assert_neq(strstr(out, "integrity:      ok"), NULL, "%s", out);
    free(out);
}

Test(db_cli, check_fails_on_missing_and_foreign_files)
{
    char *out;
    cr_assert_eq(run(&out, "db", "check", "--db", path, NULL), 1);
    free(out);
    cr_assert_eq(access(path, F_OK), -1, "check created the file");
    FILE *f = fopen(path, "w");
    fputs("not a database\n", f);
    fclose(f);
    cr_assert_eq(run(&out, "db", "check", "--db", path, NULL), 1);
    free(out);
}

Test(db_cli, export_json_and_csv)
{
    build(path, "fp-cli", 3);
    char *out;
    cr_assert_eq(run(&out, "db", "export", "--format", "json", "--db", path, NULL), 0);
    mb_jv_t *v = NULL;
    cr_assert_eq(mb_jv_parse(out, strlen(out), &v), 0, "%s", mb_err_msg());
    cr_assert_eq(mb_jv_get(v, "cells")->n, 3);
    cr_assert_eq(mb_jv_get(v, "reps")->n, 9);
    mb_jv_free(v);
    free(out);

    cr_assert_eq(run(&out, "db", "export", "--format", "csv", "--run", "latest", "--db", path,
                     NULL), 0);
    int lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, 4, "header + 3 cells:\n%s", out);
    cr_assert_eq(strncmp(out, "uuid,run_uuid,", 14), 0, "%s", out);
    free(out);
    cr_assert_eq(run(&out, "db", "export", "--format", "csv", "--table", "samples", "--db", path,
                     NULL), 0);
    cr_assert_eq(strncmp(out, "run_uuid,cell_uuid,t,kind,sensor,value\n", 39), 0, "%s", out);
    free(out);
    cr_assert_eq(run(&out, "db", "export", "--format", "csv", "--run", "nosuchrun", "--db",
                     path, NULL), 1);
    free(out);
}

Test(db_cli, merge_twice_adds_nothing)
{
    char other[512];
    tu_path(other, dir, "other.db");
    build(path, "fp-here", 1);
    build(other, "fp-there", 2);
    char *out;
    cr_assert_eq(run(&out, "db", "merge", other, "--db", path, NULL), 0);
    cr_assert_neq(strstr(out, "+2 cells"), NULL, "%s", out);
    free(out);
    cr_assert_eq(run(&out, "db", "merge", "--db", path, other, NULL), 0);
    cr_assert_neq(strstr(out, "+0 devices, +0 runs, +0 cells, +0 reps, +0 samples, +0 quality"),
                  NULL, "%s", out);
    free(out);
    cr_assert_eq(run(&out, "db", "check", "--db", path, NULL), 0);
    cr_assert_neq(strstr(out, "cells:          3"), NULL, "%s", out);
    free(out);
}
