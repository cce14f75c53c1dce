/* testspec.c: test names ("pp512", "tg128", "pg512,128") and their labels. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

const char *bench_test_kind_name(bench_test_kind_t k)
{
    switch (k) {
    case BENCH_TEST_PP: return "pp";
    case BENCH_TEST_TG: return "tg";
    case BENCH_TEST_PG: return "pg";
    }
    return "?";
}

/* A positive token count, at most 1M (the engine's cache limit). */
static int parse_count(const char *s, const char *what, int *out)
{
    int64_t v;
    if (mb_parse_i64(s, &v) || v < 1 || v > (1 << 20))
        return mb_err_set(MB_EINVAL, "%s: expected a token count from 1 to 1048576, got '%s'", what, s);
    *out = (int)v;
    return MB_OK;
}

int bench_test_parse(const char *s, bench_test_t *out)
{
    memset(out, 0, sizeof *out);
    if (!s || strlen(s) < 3 || strlen(s) > 64)
        goto bad;
    char buf[72];
    strcpy(buf, s);
    if (!strncmp(buf, "pp", 2)) {
        char *plus = strstr(buf, "+tg");
        if (plus) { /* llama-bench's label of pg: "pp512+tg128" */
            *plus = '\0';
            out->kind = BENCH_TEST_PG;
            if (parse_count(buf + 2, s, &out->n_prompt) || parse_count(plus + 3, s, &out->n_gen))
                return MB_EINVAL;
            return MB_OK;
        }
        out->kind = BENCH_TEST_PP;
        return parse_count(buf + 2, s, &out->n_prompt);
    }
    if (!strncmp(buf, "tg", 2)) {
        out->kind = BENCH_TEST_TG;
        return parse_count(buf + 2, s, &out->n_gen);
    }
    if (!strncmp(buf, "pg", 2)) {
        char *comma = strchr(buf, ',');
        if (!comma)
            goto bad;
        *comma = '\0';
        out->kind = BENCH_TEST_PG;
        if (parse_count(buf + 2, s, &out->n_prompt) || parse_count(comma + 1, s, &out->n_gen))
            return MB_EINVAL;
        return MB_OK;
    }
bad:
    return mb_err_set(MB_EINVAL, "unknown test '%s': expected ppN, tgN or pgP,N (e.g. pp512, tg128, pg512,128)",
                      s ? s : "");
}

void bench_test_label(const bench_test_t *t, char *buf, size_t len)
{
    int k = 0;
    switch (t->kind) {
    case BENCH_TEST_PP: k = snprintf(buf, len, "pp%d", t->n_prompt); break;
    case BENCH_TEST_TG: k = snprintf(buf, len, "tg%d", t->n_gen); break;
    case BENCH_TEST_PG: k = snprintf(buf, len, "pp%d+tg%d", t->n_prompt, t->n_gen); break;
    }
    if (t->n_depth > 0 && k >= 0 && (size_t)k < len)
        snprintf(buf + k, len - (size_t)k, " @ d%d", t->n_depth);
}

int bench_test_ctx_needed(const bench_test_t *t)
{
    switch (t->kind) {
    case BENCH_TEST_PP: return t->n_depth + t->n_prompt;
    case BENCH_TEST_TG: return t->n_depth + 1 + t->n_gen;
    case BENCH_TEST_PG: return t->n_depth + t->n_prompt + t->n_gen;
    }
    return 0;
}
