/*
 * test_models_tokenizer.c: the tokenizers (models.h section 9) on llama.cpp's
 * own tokenizer test sets in MB_SHARED/fixtures/vocab (vocab-only GGUFs with
 * .inp inputs and .out expected ids, no BOS/EOS, special tokens not parsed):
 * every test of every set must match. Then round trips through decode, the
 * special-token options, and the accessors.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models.h"

#define VOCAB_DIR MB_SHARED "/fixtures/vocab"
#define SEP "\n__ggml_vocab_test__\n"

static char *slurp(const char *path, size_t *len)
{
    char *b = NULL;
    cr_assert_eq(mb_file_read(path, 0, &b, len), MB_OK, "%s", mb_err_msg());
    return b;
}

static void need_vocab(const char *name, char *path, size_t n)
{
    snprintf(path, n, VOCAB_DIR "/ggml-vocab-%s.gguf", name);
    if (access(path, R_OK))
        cr_skip("%s absent (../shared not here): llama.cpp's vocab test set '%s' skipped", path,
                name);
}

static models_tokenizer_t *open_vocab(const char *name)
{
    char path[512];
    need_vocab(name, path, sizeof path);
    models_tokenizer_t *t = NULL;
    cr_assert_eq(models_tokenizer_open(path, &t), MB_OK, "%s", mb_err_msg());
    return t;
}

/* Every .inp test against its .out line; each also decodes back to its text. */
static void run_set(const char *name, const char *kind)
{
    char path[512];
    need_vocab(name, path, sizeof path);
    models_tokenizer_t *t = open_vocab(name);
    cr_expect_str_eq(models_tokenizer_kind(t), kind);
    char ip[600], op[600];
    snprintf(ip, sizeof ip, "%s.inp", path);
    snprintf(op, sizeof op, "%s.out", path);
    size_t il, ol;
    char *inp = slurp(ip, &il), *outs = slurp(op, &ol);
    char *line = outs;
    int n_tests = 0, n_bad = 0;
    for (char *p = inp; p < inp + il;) {
        char *e = strstr(p, SEP);
        if (!e)
            break; /* a trailing empty piece is not a test */
        size_t tl = (size_t)(e - p);
        char *nl = strchr(line, '\n');
        cr_assert_not_null(nl, "%s: fewer .out lines than tests", name);
        *nl = 0;
        int32_t *ids = NULL;
        size_t n = 0;
        cr_assert_eq(models_tokenizer_encode(t, p, tl, 0, 0, &ids, &n), MB_OK, "%s", mb_err_msg());
        /* the expected line as ids */
        size_t ne = 0;
        int32_t exp[4096];
        for (char *q = line; *q;) {
            char *end;
            long v = strtol(q, &end, 10);
            if (end == q)
                break;
            cr_assert_lt(ne, 4096);
            exp[ne++] = (int32_t)v;
            q = end;
        }
        bool ok = ne == n && (!n || !memcmp(exp, ids, n * sizeof *ids));
        if (!ok) {
            n_bad++;
            cr_log_error("%s test %d (\"%.*s\"): %zu ids, expected %zu (%s)", name, n_tests,
                         (int)MB_MIN(tl, (size_t)40), p, n, ne, line);
        }
        char *back = NULL;
        size_t bl = 0;
        cr_assert_eq(models_tokenizer_decode(t, ids, n, &back, &bl), MB_OK, "%s", mb_err_msg());
        cr_expect(bl == tl && !memcmp(back, p, tl), "%s test %d: decode gives \"%s\", not \"%.*s\"",
                  name, n_tests, back, (int)tl, p);
        free(back);
        free(ids);
        line = nl + 1;
        n_tests++;
        p = e + strlen(SEP);
    }
    cr_expect_gt(n_tests, 40, "%s: only %d tests read", name, n_tests);
    cr_expect_eq(n_bad, 0, "%s: %d of %d tests differ from llama.cpp's ids", name, n_bad, n_tests);
    free(inp);
    free(outs);
    models_tokenizer_destroy(t);
}

Test(tokenizer_sets, llama_spm) { run_set("llama-spm", "llama/default"); }
Test(tokenizer_sets, gpt_2) { run_set("gpt-2", "gpt2/gpt-2"); }
Test(tokenizer_sets, starcoder) { run_set("starcoder", "gpt2/starcoder"); }
Test(tokenizer_sets, deepseek_coder) { run_set("deepseek-coder", "gpt2/deepseek-coder"); }
Test(tokenizer_sets, falcon) { run_set("falcon", "gpt2/falcon"); }

Test(tokenizer, spm_special_tokens_and_bos)
{
    models_tokenizer_t *t = open_vocab("llama-spm");
    cr_expect_eq(models_tokenizer_n_vocab(t), 32000);
    cr_expect_eq(models_tokenizer_bos(t), 1);
    cr_expect_eq(models_tokenizer_eos(t), 2);
    cr_expect_eq(models_tokenizer_add_bos(t), 1);
    cr_expect_eq(models_tokenizer_add_eos(t), 0);
    const char *txt = "Hello</s> world";
    int32_t *a = NULL, *b = NULL;
    size_t na, nb;
    /* parsed: BOS, "Hello", </s>, then " world" with its own leading space */
    cr_assert_eq(models_tokenizer_encode(t, txt, strlen(txt), 1, 1, &a, &na), MB_OK);
    cr_assert_geq(na, 4);
    cr_expect_eq(a[0], 1);
    bool has_eos = false;
    for (size_t i = 1; i < na; i++)
        has_eos |= a[i] == 2;
    cr_expect(has_eos, "</s> was not parsed into id 2");
    /* not parsed: no BOS, </s> is plain text */
    cr_assert_eq(models_tokenizer_encode(t, txt, strlen(txt), 0, 0, &b, &nb), MB_OK);
    for (size_t i = 0; i < nb; i++)
        cr_expect_neq(b[i], 2);
    cr_expect_gt(nb, na - 1);
    char *s;
    size_t sl;
    cr_assert_eq(models_tokenizer_decode(t, b, nb, &s, &sl), MB_OK);
    cr_expect_str_eq(s, txt);
    free(s);
    /* decode of the parsed form drops control tokens: "Hello world" */
    cr_assert_eq(models_tokenizer_decode(t, a, na, &s, &sl), MB_OK);
    cr_expect_str_eq(s, "Hello world");
    free(s);
    free(a);
    free(b);
    /* empty text: nothing, or BOS alone */
    cr_assert_eq(models_tokenizer_encode(t, "", 0, 0, 0, &a, &na), MB_OK);
    cr_expect_eq(na, 0);
    free(a);
    cr_assert_eq(models_tokenizer_encode(t, "", 0, 1, 0, &a, &na), MB_OK);
    cr_expect_eq(na, 1);
    cr_expect_eq(a[0], 1);
    free(a);
    models_tokenizer_destroy(t);
}

Test(tokenizer, bpe_special_tokens)
{
    models_tokenizer_t *t = open_vocab("gpt-2");
    cr_expect_eq(models_tokenizer_bos(t), 50256);
    cr_expect_eq(models_tokenizer_add_bos(t), 0); /* gpt2 files default to no BOS */
    const char *txt = "a<|endoftext|>b";
    int32_t *a = NULL;
    size_t na;
    cr_assert_eq(models_tokenizer_encode(t, txt, strlen(txt), 1, 1, &a, &na), MB_OK);
    cr_assert_eq(na, 3);
    cr_expect_eq(a[1], 50256);
    free(a);
    cr_assert_eq(models_tokenizer_encode(t, txt, strlen(txt), 0, 0, &a, &na), MB_OK);
    cr_expect_gt(na, 3);
    for (size_t i = 0; i < na; i++)
        cr_expect_neq(a[i], 50256);
    free(a);
    models_tokenizer_destroy(t);
}

/* Any bytes: invalid UTF-8 is tokenized without error. SPM (byte fallback)
 * and a BPE vocabulary with all 256 byte characters (gpt-2) give the bytes
 * back exactly; BPE vocabularies that lack some byte characters drop those
 * bytes, as llama.cpp does (starcoder has no token for byte 0xFF). */
Test(tokenizer, invalid_utf8)
{
    static const char bad[] = "ok \xff\xfe x\xc3 \xe2\x82 end\x80";
    const char *sets[] = {"llama-spm", "gpt-2", "starcoder", "deepseek-coder", "falcon"};
    for (size_t k = 0; k < MB_ARRAY_LEN(sets); k++) {
        models_tokenizer_t *t = open_vocab(sets[k]);
        int32_t *ids = NULL;
        size_t n;
        cr_assert_eq(models_tokenizer_encode(t, bad, sizeof bad - 1, 0, 0, &ids, &n), MB_OK,
                     "%s: %s", sets[k], mb_err_msg());
        cr_expect_gt(n, 0);
        char *s;
        size_t sl;
        cr_assert_eq(models_tokenizer_decode(t, ids, n, &s, &sl), MB_OK);
        if (k < 2)
            cr_expect(sl == sizeof bad - 1 && !memcmp(s, bad, sl),
                      "%s: bytes did not round-trip (%zu bytes back, %zu in)", sets[k], sl,
                      sizeof bad - 1);
        cr_expect(strstr(s, " end"), "%s: the valid text around the bad bytes is lost", sets[k]);
        free(s);
        free(ids);
        models_tokenizer_destroy(t);
    }
}

Test(tokenizer, same_vocab)
{
    models_tokenizer_t *a = open_vocab("gpt-2"), *b = open_vocab("gpt-2"),
                       *c = open_vocab("starcoder");
    cr_expect_eq(models_tokenizer_same_vocab(a, b), 1);
    cr_expect_eq(models_tokenizer_same_vocab(a, c), 0);
    models_tokenizer_destroy(a);
    models_tokenizer_destroy(b);
    models_tokenizer_destroy(c);
    models_tokenizer_destroy(NULL);
}

/* A vocab-only file tokenizes, but is no model. */
Test(tokenizer, vocab_only_is_not_a_model)
{
    char path[512];
    need_vocab("llama-spm", path, sizeof path);
    models_gguf_t *g = NULL;
    cr_assert_eq(models_gguf_open(path, &g), MB_OK, "%s", mb_err_msg());
    cr_expect_eq(models_gguf_n_tensors(g), 0);
    engine_model_t *m = NULL;
    int rc = models_model_from_gguf(g, &m);
    cr_expect_neq(rc, MB_OK);
    cr_expect_null(m);
    cr_expect_gt(strlen(mb_err_msg()), 10, "no message: %s", mb_err_msg());
    models_model_free(m);
    models_gguf_close(g);
}

/* Random texts (ASCII, multi-byte characters, whitespace runs, digits, stray
 * bytes): encode never fails, ids are in range, and SPM and gpt-2 (all 256
 * byte characters) decode back to the same bytes. */
Test(tokenizer, random_texts_round_trip)
{
    static const char *const bits[] = {" ", "  ", "\n", "\t", "\r\n", "a", "Z", "'s", "'LL",
                                       "42", "12345", ".", "!!", "<", "</s", "\xc3\xa9",
                                       "\xe4\xb8\xad", "\xf0\x9f\x98\x81",
                                       "\xd0\x96", "\xff", "\x80", "\xe2\x82", "\x01"};
    const char *sets[] = {"llama-spm", "gpt-2", "starcoder", "deepseek-coder", "falcon"};
    uint64_t s = 12345;
    for (size_t k = 0; k < MB_ARRAY_LEN(sets); k++) {
        models_tokenizer_t *t = open_vocab(sets[k]);
        for (int it = 0; it < 200; it++) {
            char text[1024];
            size_t len = 0;
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            int parts = (int)((s >> 33) % 40);
            for (int p = 0; p < parts; p++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                const char *b = bits[(s >> 33) % MB_ARRAY_LEN(bits)];
                memcpy(text + len, b, strlen(b));
                len += strlen(b);
            }
            int32_t *ids = NULL;
            size_t n;
            cr_assert_eq(models_tokenizer_encode(t, text, len, it & 1, 0, &ids, &n), MB_OK,
                         "%s: %s", sets[k], mb_err_msg());
            for (size_t i = 0; i < n; i++)
                cr_assert(ids[i] >= 0 && ids[i] < models_tokenizer_n_vocab(t));
            char *back;
            size_t bl;
            cr_assert_eq(models_tokenizer_decode(t, ids, n, &back, &bl), MB_OK);
            if (k < 2)
                cr_expect(bl == len && !memcmp(back, text, len),
                          "%s: text %d did not round-trip (%zu -> %zu bytes)", sets[k], it, len,
                          bl);
            free(back);
            free(ids);
        }
        models_tokenizer_destroy(t);
    }
}
