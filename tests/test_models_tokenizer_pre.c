/*
 * test_models_tokenizer_pre.c: the pre-tokenizers of llama-bpe (Llama 3.x,
 * SmolLM3) and qwen2 (Qwen2/3), whose vocab files are not available: only
 * llama.cpp's expected ids (.out) for its inputs (.inp) are. Without the
 * vocabulary the ids cannot be computed, so this checks what the splits
 * alone must satisfy:
 *   - no test has more pieces than expected ids (every piece is >= 1 token);
 *   - where a test has exactly as many pieces as ids, each piece is one token,
 *     so equal piece texts must have equal ids across all such tests;
 *   - hand-checked splits (from the regexes) of a few inputs.
 * docs/TOKENIZER.md says what this does and does not verify.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenizer_int.h"

#define VOCAB_DIR MB_SHARED "/fixtures/vocab"
#define SEP "\n__ggml_vocab_test__\n"
#define MAXP 512

typedef struct {
    const char *text;
    size_t len;
} piece_t;

static piece_t seen_p[4096];
static int32_t seen_id[4096];
static size_t n_seen;

static void check_set(const char *pre, const char *file)
{
    char ip[512], op[512];
    snprintf(ip, sizeof ip, VOCAB_DIR "/ggml-vocab-%s.gguf.inp", file);
    snprintf(op, sizeof op, VOCAB_DIR "/ggml-vocab-%s.gguf.out", file);
    if (access(ip, R_OK) || access(op, R_OK))
        cr_skip("%s absent (../shared not here): pre-tokenizer '%s' checks skipped", ip, pre);
    models_tokenizer_t *t = NULL;
    cr_assert_eq(tok_bpe_pre_only(pre, &t), MB_OK, "%s", mb_err_msg());
    char *inp, *outs;
    size_t il, ol;
    cr_assert_eq(mb_file_read(ip, 0, &inp, &il), MB_OK);
    cr_assert_eq(mb_file_read(op, 0, &outs, &ol), MB_OK);
    char *line = outs;
    int n_tests = 0, n_exact = 0;
    n_seen = 0;
    for (char *p = inp;;) {
        char *e = strstr(p, SEP);
        if (!e)
            break;
        char *nl = strchr(line, '\n');
        cr_assert_not_null(nl);
        *nl = 0;
        int32_t ids[MAXP];
        size_t n_ids = 0;
        for (char *q = line;;) {
            char *end;
            long v = strtol(q, &end, 10);
            if (end == q)
                break;
            cr_assert_lt(n_ids, MAXP);
            ids[n_ids++] = (int32_t)v;
            q = end;
        }
        size_t *b, n;
        cr_assert_eq(tok_bpe_pretokenize(t, p, (size_t)(e - p), &b, &n), MB_OK);
        cr_expect_leq(n, n_ids, "%s test %d: %zu pieces but only %zu ids", pre, n_tests, n, n_ids);
        if (n == n_ids) {
            n_exact++;
            for (size_t i = 0; i < n; i++) {
                piece_t pc = {p + b[i], b[i + 1] - b[i]};
                size_t k = 0;
                for (; k < n_seen; k++)
                    if (seen_p[k].len == pc.len && !memcmp(seen_p[k].text, pc.text, pc.len))
                        break;
                if (k < n_seen)
                    cr_expect_eq(seen_id[k], ids[i], "%s test %d: piece \"%.*s\" is id %d here, %d "
                                 "elsewhere", pre, n_tests, (int)pc.len, pc.text, ids[i],
                                 seen_id[k]);
                else if (n_seen < MB_ARRAY_LEN(seen_p)) {
                    seen_p[n_seen] = pc;
                    seen_id[n_seen++] = ids[i];
                }
            }
        }
        free(b);
        line = nl + 1;
        n_tests++;
        p = e + strlen(SEP);
    }
    cr_expect_gt(n_tests, 40);
    cr_expect_gt(n_exact, 20, "%s: only %d tests with one token per piece", pre, n_exact);
    free(inp);
    free(outs);
    models_tokenizer_destroy(t);
}

Test(pretokenizer, llama_bpe_against_llama_cpp_ids) { check_set("llama-bpe", "llama-bpe"); }
Test(pretokenizer, qwen2_against_llama_cpp_ids) { check_set("qwen2", "qwen2"); }

/* pieces of text under pre, as "|"-joined strings */
static void expect_split(const char *pre, const char *text, const char *want)
{
    models_tokenizer_t *t = NULL;
    cr_assert_eq(tok_bpe_pre_only(pre, &t), MB_OK, "%s", mb_err_msg());
    size_t *b, n;
    cr_assert_eq(tok_bpe_pretokenize(t, text, strlen(text), &b, &n), MB_OK);
    char got[2048] = "";
    size_t gl = 0;
    for (size_t i = 0; i < n; i++)
        gl += (size_t)snprintf(got + gl, sizeof got - gl, "%s%.*s", i ? "|" : "",
                               (int)(b[i + 1] - b[i]), text + b[i]);
    cr_expect_str_eq(got, want, "%s: got [%s] want [%s]", pre, got, want);
    free(b);
    models_tokenizer_destroy(t);
}

/* Splits worked out by hand from llama.cpp's regexes for these pre-tokenizers. */
Test(pretokenizer, hand_checked_splits)
{
    const char *s1 = "Hello, y'all! How are you \xf0\x9f\x98\x81 ?\xe6\x88\x91\xe6\x83\xb3\xe5\x9c\xa8"
                     "apple\xe5\xb7\xa5\xe4\xbd\x9c" "1314151\xe5\xa4\xa9\xef\xbd\x9e";
    expect_split("llama-bpe", s1, "Hello|,| y|'all|!| How| are| you| \xf0\x9f\x98\x81| ?|"
                 "\xe6\x88\x91\xe6\x83\xb3\xe5\x9c\xa8" "apple\xe5\xb7\xa5\xe4\xbd\x9c|131|415|1|"
                 "\xe5\xa4\xa9|\xef\xbd\x9e");
    expect_split("qwen2", s1, "Hello|,| y|'all|!| How| are| you| \xf0\x9f\x98\x81| ?|"
                 "\xe6\x88\x91\xe6\x83\xb3\xe5\x9c\xa8" "apple\xe5\xb7\xa5\xe4\xbd\x9c|1|3|1|4|1|5|1|"
                 "\xe5\xa4\xa9|\xef\xbd\x9e");
    /* case-insensitive contractions; \s*[\r\n]+ ; \s+(?!\S) leaves one space */
    expect_split("llama-bpe", "I'VE 'Re x\n\n  y   z", "I|'VE| '|Re| x|\n\n| | y|  | z");
    expect_split("gpt-2", "I'VE 'Re x\n\n  y   z", "I|'|VE| '|Re| x|\n\n | y|  | z");
    expect_split("llama-bpe", "w048 7tuijk", "w|048| |7|tuijk");
    expect_split("qwen2", "w048 7tuijk", "w|0|4|8| |7|tuijk");
    expect_split("llama-bpe", "3333333 ...\r\n", "333|333|3| ...\r\n");
    /* the others on one line each */
    expect_split("starcoder", "ab 123 x", "ab| |1|2|3| x");
    expect_split("default", "a+=b 12345", "a|+=|b| |123|45");
    expect_split("falcon", "a`b 12345", "a|`|b| |123|45");
    expect_split("deepseek-coder", "ab, 12\ncd", "ab|,| |1|2|\n|cd");
    expect_split("deepseek-llm", "ab, 12\ncd  ", "ab|,| |12|\n|cd|  ");
}
