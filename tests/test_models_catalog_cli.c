/* `mobench models list` and `mobench models show NAME` (runs the binary). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "models.h"

/* Runs cmd, captures stdout (and stderr if merge); returns the exit status. */
static int run(const char *args, char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", MB_BIN, args);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char buf[1 << 16];

Test(models_catalog_cli, list_shows_every_model)
{
    cr_assert_eq(run("models list", buf, sizeof buf), 0, "%s", buf);
    for (int i = 0; i < models_catalog_count(); i++)
        cr_assert(strstr(buf, models_catalog_get(i)->name), "%s missing", models_catalog_get(i)->name);
    cr_assert(strstr(buf, "1.24B"), "llama-3.2-1b parameters: %s", buf);
    cr_assert_eq(run("models list --json", buf, sizeof buf), 0);
    mb_jv_t *v = NULL;
    cr_assert_eq(mb_jv_parse(buf, strlen(buf), &v), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(v->kind, MB_JV_ARR);
    cr_assert_eq((int)v->n, models_catalog_count());
    mb_jv_free(v);
    cr_assert_eq(run("models list --bogus", buf, sizeof buf), 2);
}

Test(models_catalog_cli, show_gives_params_bytes_and_kv)
{
    cr_assert_eq(run("models show llama-3.2-1b", buf, sizeof buf), 0, "%s", buf);
    cr_assert(strstr(buf, "1235814400"), "%s", buf); /* parameters */
    cr_assert(strstr(buf, "33554432 bytes"), "%s", buf); /* KV per 1k tokens */
    cr_assert(strstr(buf, "Q4_K") && strstr(buf, "llama3 scaling"));
    cr_assert_eq(run("models show qwen3-0.6b --json", buf, sizeof buf), 0);
    mb_jv_t *v = NULL;
    cr_assert_eq(mb_jv_parse(buf, strlen(buf), &v), MB_OK, "%s", mb_err_msg());
    const mb_jv_t *b = mb_jv_path(v, "bytes.F16");
    cr_assert(b && b->kind == MB_JV_NUM && b->num > 1.1e9 && b->num < 1.3e9);
    cr_assert_eq(mb_jv_get(v, "params")->num, 596049920.0);
    mb_jv_free(v);
    /* errors: unknown model (1, names the catalog), missing name (2) */
    cr_assert_eq(run("models show llama-9b", buf, sizeof buf), 1);
    cr_assert(strstr(buf, "unknown model 'llama-9b'") && strstr(buf, "smollm3-3b"), "%s", buf);
    cr_assert_eq(run("models show", buf, sizeof buf), 2);
}
