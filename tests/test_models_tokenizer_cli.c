/*
 * test_models_tokenizer_cli.c: `mobench tokenize` as a user runs it (MB_BIN):
 * ids on one line, --special, -o json, --file, and the exit codes.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "models.h"

#define SPM MB_SHARED "/fixtures/vocab/ggml-vocab-llama-spm.gguf"
#define GPT2 MB_SHARED "/fixtures/vocab/ggml-vocab-gpt-2.gguf"

static int run(const char *cmd, char **out)
{
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

static void need(const char *f)
{
    if (access(f, R_OK))
        cr_skip("%s absent (../shared not here): tokenize CLI test skipped", f);
}

Test(tokenize_cli, ids_special_json_file)
{
    need(SPM);
    char cmd[1024], *out;
    snprintf(cmd, sizeof cmd, "%s tokenize -m %s --text 'Hello world'", MB_BIN, SPM);
    cr_assert_eq(run(cmd, &out), 0, "%s", out);
    cr_expect_str_eq(out, "15043 3186\n"); /* llama.cpp's ids for " Hello" " world" */
    free(out);
    snprintf(cmd, sizeof cmd, "%s tokenize -m %s --text 'Hello world</s>' --special", MB_BIN, SPM);
    cr_assert_eq(run(cmd, &out), 0, "%s", out);
    cr_expect_str_eq(out, "1 15043 3186 2\n");
    free(out);
    need(GPT2);
    snprintf(cmd, sizeof cmd, "printf 'Hello world' | %s tokenize -m %s --file - -o json", MB_BIN,
             GPT2);
    cr_assert_eq(run(cmd, &out), 0, "%s", out);
    mb_jv_t *j;
    cr_assert_eq(mb_jv_parse(out, strlen(out), &j), MB_OK, "%s\n%s", mb_err_msg(), out);
    cr_expect_str_eq(mb_jv_get(j, "tokenizer")->str, "gpt2/gpt-2");
    cr_expect_eq(mb_jv_get(j, "n_vocab")->num, 50257);
    cr_expect_eq(mb_jv_get(j, "n_tokens")->num, 2);
    cr_expect_eq(mb_jv_path(j, "ids.0")->num, 15496);
    cr_expect_eq(mb_jv_path(j, "ids.1")->num, 995);
    cr_expect_str_eq(mb_jv_path(j, "texts.1")->str, "\xc4\xa0world");
    mb_jv_free(j);
    free(out);
}

Test(tokenize_cli, usage_and_failures)
{
    char cmd[1024], *out;
    snprintf(cmd, sizeof cmd, "%s tokenize --help", MB_BIN);
    cr_expect_eq(run(cmd, &out), 0);
    cr_expect(strstr(out, "--special"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s tokenize --text x 2>&1", MB_BIN);
    cr_expect_eq(run(cmd, &out), 2, "%s", out);
    cr_expect(strstr(out, "-m"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s tokenize -m x.gguf --text x --file y 2>&1", MB_BIN);
    cr_expect_eq(run(cmd, &out), 2, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s tokenize -m x.gguf --text x -o csv 2>&1", MB_BIN);
    cr_expect_eq(run(cmd, &out), 2, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s tokenize -m /nonexistent/v.gguf --text x 2>&1", MB_BIN);
    cr_expect_eq(run(cmd, &out), 1, "%s", out);
    cr_expect(strstr(out, "/nonexistent/v.gguf"), "%s", out);
    free(out);
    /* a GGUF without a tokenizer: exit 1, the key named */
    snprintf(cmd, sizeof cmd, "%s tokenize -m %s/gguf-bad/valid-basis.gguf --text x 2>&1", MB_BIN,
             MB_FIXTURES);
    cr_expect_eq(run(cmd, &out), 1, "%s", out);
    cr_expect(strstr(out, "tokenizer.ggml.model"), "%s", out);
    free(out);
}
