/*
 * test_models_gguf_cli.c: `mobench models inspect` and `mobench models build`
 * as a user runs them (the built binary, MB_BIN): output, JSON, exit codes.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models.h"

/* Runs cmd through the shell; output (stdout, or both) into a malloc'd string. */
static int run(const char *cmd, char **out)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t r;
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

Test(models_cli, inspect_text_and_json)
{
    char cmd[1024], *out;
    const char *f = MB_FIXTURES "/gguf-bad/valid-basis.gguf";
    snprintf(cmd, sizeof cmd, "%s models inspect %s", MB_BIN, f);
    cr_assert_eq(run(cmd, &out), 0, "%s", out);
    cr_expect(strstr(out, "GGUF v3"), "%s", out);
    cr_expect(strstr(out, "general.architecture"), "%s", out);
    cr_expect(strstr(out, "\"llama\""), "%s", out);
    cr_expect(strstr(out, "8 x 2"), "%s", out); /* shape of w */
    cr_expect(strstr(out, "32.000"), "%s", out); /* F32 bpw */
    free(out);

    snprintf(cmd, sizeof cmd, "%s models inspect --json --sha256 %s", MB_BIN, f);
    cr_assert_eq(run(cmd, &out), 0, "%s", out);
    mb_jv_t *j;
    cr_assert_eq(mb_jv_parse(out, strlen(out), &j), MB_OK, "%s\n%s", mb_err_msg(), out);
    char hex[65];
    cr_assert_eq(mb_sha256_file(f, hex), MB_OK);
    cr_assert_not_null(mb_jv_get(j, "sha256"));
    cr_assert_not_null(mb_jv_path(j, "tensors.0.name"));
    cr_expect_str_eq(mb_jv_get(j, "sha256")->str, hex);
    cr_expect_eq(mb_jv_path(j, "gguf_version")->num, 3);
    /* keys with dots: look them up directly, not as a dotted path */
    const mb_jv_t *arch = mb_jv_get(mb_jv_get(j, "metadata"), "general.architecture");
    cr_assert_not_null(arch);
    cr_expect_str_eq(arch->str, "llama");
    cr_expect_str_eq(mb_jv_path(j, "tensors.0.name")->str, "w");
    cr_expect_str_eq(mb_jv_path(j, "tensors.0.type")->str, "F32");
    cr_expect_eq(mb_jv_path(j, "tensors.0.bytes")->num, 64);
    cr_expect_eq(mb_jv_path(j, "bpw")->num, 32);
    mb_jv_free(j);
    free(out);
}

Test(models_cli, inspect_errors)
{
    char cmd[1024], *out;
    snprintf(cmd, sizeof cmd, "%s models inspect %s/gguf-bad/version1.gguf 2>&1", MB_BIN,
             MB_FIXTURES);
    cr_expect_eq(run(cmd, &out), 1);
    cr_expect(strstr(out, "GGUF version 1"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s models inspect 2>&1", MB_BIN);
    cr_expect_eq(run(cmd, &out), 2);
    cr_expect(strstr(out, "which file?"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s models inspect --bogus x 2>&1", MB_BIN);
    cr_expect_eq(run(cmd, &out), 2);
    free(out);
    snprintf(cmd, sizeof cmd, "%s models frobnicate 2>&1", MB_BIN);
    cr_expect_eq(run(cmd, &out), 2);
    cr_expect(strstr(out, "unknown subcommand 'frobnicate'"), "%s", out);
    free(out);
}

Test(models_cli, build_then_inspect)
{
    char dir[] = "/tmp/mb_cli_build_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[2048], *out, path[512];
    snprintf(path, sizeof path, "%s/t.gguf", dir);
    snprintf(cmd, sizeof cmd, "%s models build tiny-llama --quant q4_k_m --seed 9 -o %s", MB_BIN,
             path);
    cr_assert_eq(run(cmd, &out), 0, "%s", out);
    cr_expect(strstr(out, path), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s models inspect %s", MB_BIN, path);
    cr_assert_eq(run(cmd, &out), 0, "%s", out);
    cr_expect(strstr(out, "general.file_type"), "%s", out);
    cr_expect(strstr(out, "15 (Q4_K_M)"), "%s", out);
    cr_expect(strstr(out, "blk.3.attn_v.weight"), "%s", out);
    cr_expect(strstr(out, "\"synthetic\""), "%s", out);
    free(out);
    /* into the cache: built once, then reused (same path printed) */
    snprintf(cmd, sizeof cmd, "MOBENCH_CACHE=%s/c %s models build tiny-qwen3 --quant F16", dir,
             MB_BIN);
    cr_assert_eq(run(cmd, &out), 0, "%s", out);
    cr_expect(strstr(out, "/c/tiny-qwen3-s1-F16.gguf"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "MOBENCH_CACHE=%s/c %s -v models build tiny-qwen3 --quant F16 2>&1",
             dir, MB_BIN);
    cr_assert_eq(run(cmd, &out), 0, "%s", out);
    cr_expect(strstr(out, "in the cache already"), "%s", out);
    free(out);
    /* usage errors */
    snprintf(cmd, sizeof cmd, "%s models build tiny-llama --quant Q9 2>&1", MB_BIN);
    cr_expect_eq(run(cmd, &out), 2);
    cr_expect(strstr(out, "unknown quant recipe 'Q9'"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s models build tiny-llama 2>&1", MB_BIN);
    cr_expect_eq(run(cmd, &out), 2);
    free(out);
    snprintf(cmd, sizeof cmd, "%s models build no-such-model --quant Q8_0 -o %s/x.gguf 2>&1",
             MB_BIN, dir);
    cr_expect_eq(run(cmd, &out), 1);
    cr_expect_neq(access(path, F_OK) == 0 && strstr(out, "no-such-model") == NULL, 1, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}
