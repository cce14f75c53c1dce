/*
 * test_models_tokenizer_bad.c: tokenizers built from small GGUFs made here
 * (models_gguf_writer, in memory): bad metadata gets a clear error naming
 * what is wrong; tiny vocabularies check SPM's scores, leading space and byte
 * fallback and BPE's merge order exactly.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"

static void *g_buf;
static models_gguf_t *g_file;

static void done(void)
{
    models_gguf_close(g_file);
    free(g_buf);
    g_file = NULL;
    g_buf = NULL;
}

/* the writer's metadata as an open file */
static const models_gguf_t *finish(models_gguf_writer_t *w)
{
    size_t len;
    cr_assert_eq(models_gguf_writer_write_mem(w, &g_buf, &len), MB_OK, "%s", mb_err_msg());
    models_gguf_writer_destroy(w);
    cr_assert_eq(models_gguf_open_memory(g_buf, len, "tiny.gguf", &g_file), MB_OK, "%s",
                 mb_err_msg());
    return g_file;
}

static models_gguf_writer_t *writer(const char *model)
{
    models_gguf_writer_t *w;
    cr_assert_eq(models_gguf_writer_create(&w), MB_OK);
    if (model)
        cr_assert_eq(models_gguf_writer_set_str(w, "tokenizer.ggml.model", model), MB_OK);
    return w;
}

static void set_tokens(models_gguf_writer_t *w, const char *const *tok, uint64_t n)
{
    cr_assert_eq(models_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", tok, n), MB_OK);
}

static void expect_fail(const models_gguf_t *g, int code, const char *needle)
{
    models_tokenizer_t *t = (models_tokenizer_t *)1;
    int rc = models_tokenizer_from_gguf(g, &t);
    cr_expect_eq(rc, code, "rc %d (%s)", rc, mb_err_msg());
    cr_expect_null(t);
    cr_expect(strstr(mb_err_msg(), needle), "message \"%s\" does not name '%s'", mb_err_msg(),
              needle);
    done();
}

static const char *const few[] = {"a", "b", "ab"};

TestSuite(tokenizer_bad, .fini = done);

Test(tokenizer_bad, no_tokenizer_at_all)
{
    expect_fail(finish(writer(NULL)), MB_EFORMAT, "tokenizer.ggml.model");
}

Test(tokenizer_bad, unknown_model_named)
{
    models_gguf_writer_t *w = writer("bert");
    set_tokens(w, few, 3);
    expect_fail(finish(w), MB_EUNSUPPORTED, "'bert'");
}

Test(tokenizer_bad, unknown_pre_named)
{
    models_gguf_writer_t *w = writer("gpt2");
    cr_assert_eq(models_gguf_writer_set_str(w, "tokenizer.ggml.pre", "superbpe-x"), MB_OK);
    set_tokens(w, few, 3);
    const char *m[] = {"a b"};
    cr_assert_eq(models_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", m, 1), MB_OK);
    expect_fail(finish(w), MB_EUNSUPPORTED, "'superbpe-x'");
}

Test(tokenizer_bad, missing_tokens)
{
    expect_fail(finish(writer("llama")), MB_EFORMAT, "tokenizer.ggml.tokens");
}

Test(tokenizer_bad, tokens_not_strings)
{
    models_gguf_writer_t *w = writer("llama");
    int32_t v[3] = {1, 2, 3};
    cr_assert_eq(models_gguf_writer_set_arr(w, "tokenizer.ggml.tokens", MODELS_GGUF_I32, v, 3),
                 MB_OK);
    expect_fail(finish(w), MB_EFORMAT, "tokenizer.ggml.tokens");
}

Test(tokenizer_bad, scores_of_wrong_length)
{
    models_gguf_writer_t *w = writer("llama");
    set_tokens(w, few, 3);
    float s[2] = {0, 0};
    cr_assert_eq(models_gguf_writer_set_arr(w, "tokenizer.ggml.scores", MODELS_GGUF_F32, s, 2),
                 MB_OK);
    expect_fail(finish(w), MB_EFORMAT, "tokenizer.ggml.scores");
}

Test(tokenizer_bad, bpe_without_merges)
{
    models_gguf_writer_t *w = writer("gpt2");
    set_tokens(w, few, 3);
    expect_fail(finish(w), MB_EFORMAT, "tokenizer.ggml.merges");
}

Test(tokenizer_bad, merges_malformed)
{
    models_gguf_writer_t *w = writer("gpt2");
    set_tokens(w, few, 3);
    const char *m[] = {"a b", "ab"};
    cr_assert_eq(models_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", m, 2), MB_OK);
    expect_fail(finish(w), MB_EFORMAT, "malformed");
}

/* SPM: "<unk>" "<s>" "</s>", the 256 byte tokens, then pieces with scores */
static models_tokenizer_t *tiny_spm(bool space_prefix)
{
    const char *tok[270];
    char bytes[256][8];
    float sc[270] = {0};
    int32_t ty[270];
    size_t n = 0;
    tok[n] = "<unk>"; ty[n++] = 2;
    tok[n] = "<s>"; ty[n++] = 3;
    tok[n] = "</s>"; ty[n++] = 3;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        tok[n] = bytes[b];
        ty[n++] = 6;
    }
    /* 259.. */
    const char *pieces[] = {"\xe2\x96\x81", "a", "b", "\xe2\x96\x81" "a", "ab",
                            "\xe2\x96\x81" "ab", "<tool>"};
    const float scores[] = {-1, -2, -2, -3, -1.5f, -4, 0};
    for (size_t i = 0; i < MB_ARRAY_LEN(pieces); i++) {
        sc[n] = scores[i];
        ty[n] = i == 6 ? 4 : 1; /* <tool>: user-defined */
        tok[n++] = pieces[i];
    }
    models_gguf_writer_t *w = writer("llama");
    set_tokens(w, tok, n);
    cr_assert_eq(models_gguf_writer_set_arr(w, "tokenizer.ggml.scores", MODELS_GGUF_F32, sc, n),
                 MB_OK);
    cr_assert_eq(models_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", MODELS_GGUF_I32, ty,
                                            n), MB_OK);
    if (!space_prefix)
        cr_assert_eq(models_gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", false),
                     MB_OK);
    models_tokenizer_t *t;
    cr_assert_eq(models_tokenizer_from_gguf(finish(w), &t), MB_OK, "%s", mb_err_msg());
    done(); /* the tokenizer keeps its own copy */
    return t;
}

static void expect_ids(const models_tokenizer_t *t, const char *text, int add, int parse,
                       const int32_t *want, size_t n_want)
{
    int32_t *ids;
    size_t n;
    cr_assert_eq(models_tokenizer_encode(t, text, strlen(text), add, parse, &ids, &n), MB_OK,
                 "%s", mb_err_msg());
    cr_expect_eq(n, n_want, "\"%s\": %zu ids, want %zu", text, n, n_want);
    for (size_t i = 0; i < n && i < n_want; i++)
        cr_expect_eq(ids[i], want[i], "\"%s\": id %zu is %d, want %d", text, i, ids[i], want[i]);
    char *back;
    size_t bl;
    cr_assert_eq(models_tokenizer_decode(t, ids, n, &back, &bl), MB_OK);
    if (!add && !parse) /* control tokens decode to nothing */
        cr_expect_str_eq(back, text);
    free(back);
    free(ids);
}

Test(tokenizer_bad, spm_scores_space_and_byte_fallback)
{
    models_tokenizer_t *t = tiny_spm(true);
    cr_expect_str_eq(models_tokenizer_kind(t), "llama/default");
    /* "▁ab": ▁+a (-3) vs a+b (-1.5): ab first, then ▁+ab -> ▁ab */
    expect_ids(t, "ab", 0, 0, (int32_t[]){264}, 1);
    /* "c" is no token: its byte; the space prefix alone is ▁ */
    expect_ids(t, "c", 0, 0, (int32_t[]){259, 3 + 'c'}, 2);
    expect_ids(t, "ab", 1, 0, (int32_t[]){1, 264}, 2);
    /* user-defined tokens are split out even without parse_special; text after
     * a special token gets its own leading space */
    expect_ids(t, "a<tool>b", 0, 0, (int32_t[]){262, 265, 259, 261}, 4);
    /* control tokens only with parse_special */
    expect_ids(t, "a</s>", 0, 1, (int32_t[]){262, 2}, 2);
    models_tokenizer_destroy(t);
    t = tiny_spm(false);
    expect_ids(t, "ab", 0, 0, (int32_t[]){263}, 1);
    models_tokenizer_destroy(t);
}

Test(tokenizer_bad, decode_out_of_range)
{
    models_tokenizer_t *t = tiny_spm(true);
    char *s = (char *)1;
    size_t l;
    int32_t bad1[] = {262, -1}, bad2[] = {266};
    cr_expect_eq(models_tokenizer_decode(t, bad1, 2, &s, &l), MB_ERANGE);
    cr_expect_null(s);
    cr_expect(strstr(mb_err_msg(), "-1"), "%s", mb_err_msg());
    cr_expect_eq(models_tokenizer_decode(t, bad2, 1, &s, &l), MB_ERANGE);
    cr_expect(strstr(mb_err_msg(), "266"), "%s", mb_err_msg());
    models_tokenizer_destroy(t);
}

/* BPE: byte-level tokens for a, b, c, space (Ġ), and merges in rank order */
Test(tokenizer_bad, bpe_merge_order_and_missing_pre)
{
    const char *tok[] = {"a", "b", "c", "\xc4\xa0", "ab", "bc", "\xc4\xa0" "a", "abc"};
    const char *m[] = {"b c", "a b", "\xc4\xa0 a", "a bc"};
    models_gguf_writer_t *w = writer("gpt2");
    set_tokens(w, tok, MB_ARRAY_LEN(tok));
    cr_assert_eq(models_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", m, MB_ARRAY_LEN(m)),
                 MB_OK);
    models_tokenizer_t *t;
    cr_assert_eq(models_tokenizer_from_gguf(finish(w), &t), MB_OK, "%s", mb_err_msg());
    done();
    /* no tokenizer.ggml.pre: llama.cpp's default */
    cr_expect_str_eq(models_tokenizer_kind(t), "gpt2/default");
    cr_expect_eq(models_tokenizer_add_bos(t), 0);
    /* "abc": "b c" (rank 0), then "a bc" -> abc. " ab": a+b (rank 1) before
     * Ġ+a (rank 2) -> Ġ, ab. " ac": Ġ+a -> Ġa, c */
    expect_ids(t, "abc", 0, 0, (int32_t[]){7}, 1);
    expect_ids(t, " ab", 0, 0, (int32_t[]){3, 4}, 2);
    expect_ids(t, " ac", 0, 0, (int32_t[]){6, 2}, 2);
    models_tokenizer_destroy(t);
}
