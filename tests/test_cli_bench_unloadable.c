/* test_cli_bench_unloadable.c: a GGUF file that cannot be a model is a
 * failed cell with the loader's reason and exit 1 from `mobench bench`,
 * never "skipped" with exit 0 (issue 14, item 7). Skipped stays for valid
 * cells that do not fit. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mb.h"

#define GEN_BAD_NO_MAIN
#include "fixtures/gguf-bad/gen_bad.c"

static char g_dir[256];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mb-cli-unloadable-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

static void kv_u32(gb_t *g, const char *k, uint32_t v)
{
    gb_str(g, k);
    gb_u32(g, 4);
    gb_u32(g, v);
}
static void kv_u64(gb_t *g, const char *k, uint64_t v)
{
    gb_str(g, k);
    gb_u32(g, 10);
    gb_u64(g, v);
}
static void kv_f32(gb_t *g, const char *k, float v)
{
    gb_str(g, k);
    gb_u32(g, 6);
    uint32_t u;
    memcpy(&u, &v, 4);
    gb_u32(g, u);
}

/* llama metadata that passes every hyperparameter check, a token embedding
 * of 8 x 16, and block_count layers of which the file holds none. */
static void llama_without_layers(gb_t *g, const char *arch)
{
    char k[96];
    gb_head(g, 3, 1, 6);
    gb_kv_str(g, "general.architecture", arch);
    snprintf(k, sizeof k, "%s.embedding_length", arch);
    kv_u32(g, k, 8);
    snprintf(k, sizeof k, "%s.block_count", arch);
    kv_u32(g, k, 4);
    snprintf(k, sizeof k, "%s.feed_forward_length", arch);
    kv_u32(g, k, 16);
    snprintf(k, sizeof k, "%s.attention.head_count", arch);
    kv_u32(g, k, 2);
    snprintf(k, sizeof k, "%s.attention.layer_norm_rms_epsilon", arch);
    kv_f32(g, k, 1e-5f);
    gb_tinfo(g, "token_embd.weight", 8, 16, 0, 0);
    gb_pad(g, 32);
    gb_zeros(g, 8 * 16 * 4);
}

/* 2^32 layers as a 64-bit value, and no tensors at all. */
static void huge_block_count(gb_t *g)
{
    gb_head(g, 3, 0, 2);
    gb_kv_str(g, "general.architecture", "llama");
    kv_u64(g, "llama.block_count", (uint64_t)1 << 32);
}

static char *write_file(const char *name, const gb_t *g)
{
    static char path[320];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(g->b, 1, g->n, f), g->n);
    cr_assert_eq(fclose(f), 0);
    return path;
}

/* Runs bench on one file; returns the exit status, stdout (JSON) in *out. */
static int bench(const char *path, char **out)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "MOBENCH_CACHE='%s/cache' %s bench -m '%s' -q file -p 8 -n 0 -r 1 "
             "--no-db --no-roofline -o json 2>'%s/err'", g_dir, MB_BIN, path, g_dir);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t cap = 1 << 16, n = 0, r;
    char *buf = malloc(cap);
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0)
        n += r;
    buf[n] = '\0';
    int st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect_failed(const char *path, const char *reason)
{
    char *out;
    int st = bench(path, &out);
    cr_expect_eq(st, 1, "%s: exit %d, expected 1: %s", path, st, out);
    cr_expect(strstr(out, "\"status\":\"failed\""), "%s: not failed: %s", path, out);
    cr_expect_null(strstr(out, "\"status\":\"skipped\""), "%s: %s", path, out);
    cr_expect(strstr(out, reason), "%s: reason lacks '%s': %s", path, reason, out);
    free(out);
}

TestSuite(cli_unloadable, .init = setup, .fini = teardown);

Test(cli_unloadable, big_endian_file_fails)
{
    static gb_t g;
    c_big_endian(&g);
    expect_failed(write_file("be.gguf", &g), "big-endian");
}

Test(cli_unloadable, unknown_architecture_fails)
{
    static gb_t g;
    llama_without_layers(&g, "bogusarch");
    expect_failed(write_file("arch.gguf", &g), "architecture 'bogusarch' is not supported");
}

Test(cli_unloadable, block_count_without_its_layers_fails)
{
    static gb_t g;
    llama_without_layers(&g, "llama");
    expect_failed(write_file("layers.gguf", &g), "block_count is 4 but no tensor of layer 3");
}

Test(cli_unloadable, huge_block_count_without_tensors_fails)
{
    static gb_t g;
    huge_block_count(&g);
    expect_failed(write_file("huge.gguf", &g), "huge.gguf");
}

Test(cli_unloadable, invalid_utf8_name_fails_and_is_never_printed_raw)
{
    char path[512];
    snprintf(path, sizeof path, "%s/gguf-bad/bad-utf8-name.gguf", MB_FIXTURES);
    expect_failed(path, "not valid UTF-8");
    char *out;
    bench(path, &out);
    cr_expect_null(strchr(out, 0x80), "a raw 0x80 byte reached stdout");
    free(out);
}
