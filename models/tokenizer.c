/* tokenizer.c: a GGUF file's tokenizer.* metadata -> models_tokenizer_t, and
 * what both tokenizers share: the text -> id map, the special-token split of
 * the text (llama.cpp's tokenizer_st_partition), BOS/EOS, decoding.
 * SentencePiece is tokenizer_spm.c, byte-level BPE tokenizer_bpe.c. */
#include "tokenizer_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MODEL "tokenizer.ggml.model"
#define KEY_PRE "tokenizer.ggml.pre"
#define KEY_TOKENS "tokenizer.ggml.tokens"
#define KEY_SCORES "tokenizer.ggml.scores"
#define KEY_TYPES "tokenizer.ggml.token_type"
#define KEY_MERGES "tokenizer.ggml.merges"

/* ---- maps -------------------------------------------------------------------- */
static uint32_t pow2_at_least(uint64_t n)
{
    uint32_t c = 16;
    while (c < n)
        c <<= 1;
    return c;
}

int32_t tok_find(const models_tokenizer_t *t, const char *s, size_t n)
{
    uint32_t h = tok_hash(s, n, TOK_HASH_SEED);
    for (uint32_t i = h & t->map_mask;; i = (i + 1) & t->map_mask) {
        const tok_slot_t *sl = &t->map[i];
        if (sl->id < 0)
            return -1;
        if (sl->hash == h) {
            const tok_token_t *k = &t->tokens[sl->id];
            if (k->len == n && !memcmp(t->arena + k->off, s, n))
                return sl->id;
        }
    }
}

static void map_insert(models_tokenizer_t *t, int32_t id)
{
    const tok_token_t *k = &t->tokens[id];
    uint32_t h = tok_hash(t->arena + k->off, k->len, TOK_HASH_SEED);
    for (uint32_t i = h & t->map_mask;; i = (i + 1) & t->map_mask) {
        tok_slot_t *sl = &t->map[i];
        if (sl->id < 0) {
            sl->hash = h;
            sl->id = id;
            return;
        }
        if (sl->hash == h) {
            const tok_token_t *o = &t->tokens[sl->id];
            if (o->len == k->len && !memcmp(t->arena + o->off, t->arena + k->off, k->len)) {
                sl->id = id; /* a duplicate text: the last id wins, as in llama.cpp */
                return;
            }
        }
    }
}

static uint32_t merge_hash(const char *l, size_t ln, const char *r, size_t rn)
{
    uint32_t h = tok_hash(l, ln, TOK_HASH_SEED);
    h = tok_hash(" ", 1, h);
    return tok_hash(r, rn, h);
}

int32_t tok_merge_rank(const models_tokenizer_t *t, const char *l, size_t ln, const char *r,
                       size_t rn)
{
    if (!t->merges)
        return -1;
    uint32_t h = merge_hash(l, ln, r, rn);
    for (uint32_t i = h & t->merge_mask;; i = (i + 1) & t->merge_mask) {
        const tok_merge_t *m = &t->merges[i];
        if (m->rank < 0)
            return -1;
        if (m->hash == h && m->left == ln && m->right == rn &&
            !memcmp(t->arena + m->off, l, ln) && !memcmp(t->arena + m->off + ln + 1, r, rn))
            return m->rank;
    }
}

int tok_ids_push(tok_ids_t *o, int32_t id)
{
    if (o->n == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 256;
        int32_t *v = realloc(o->v, nc * sizeof *v);
        if (!v)
            return mb_err_set(MB_ENOMEM, "tokenizer: out of memory for %zu token ids", nc);
        o->v = v;
        o->cap = nc;
    }
    o->v[o->n++] = id;
    return MB_OK;
}

/* ---- open ------------------------------------------------------------------------ */
static const char *pre_of(const char *name, tok_pre_t *pre, bool *ignore_merges, bool *add_bos)
{
    static const struct {
        const char *name;
        tok_pre_t pre;
        bool llama3;
    } names[] = {
        {"default", TOK_PRE_DEFAULT, false},
        {"llama3", TOK_PRE_LLAMA3, true}, {"llama-v3", TOK_PRE_LLAMA3, true},
        {"llama-bpe", TOK_PRE_LLAMA3, true}, {"falcon3", TOK_PRE_LLAMA3, true},
        {"falcon-h1", TOK_PRE_LLAMA3, true}, {"pixtral", TOK_PRE_LLAMA3, true},
        {"midm-2.0", TOK_PRE_LLAMA3, true}, {"lfm2", TOK_PRE_LLAMA3, true},
        {"dbrx", TOK_PRE_LLAMA3, false}, {"smaug-bpe", TOK_PRE_LLAMA3, false},
        {"deepseek-llm", TOK_PRE_DEEPSEEK_LLM, false},
        {"deepseek-coder", TOK_PRE_DEEPSEEK_CODER, false},
        {"falcon", TOK_PRE_FALCON, false},
        {"mpt", TOK_PRE_GPT2, false}, {"gpt-2", TOK_PRE_GPT2, false},
        {"phi-2", TOK_PRE_GPT2, false}, {"jina-es", TOK_PRE_GPT2, false},
        {"jina-de", TOK_PRE_GPT2, false}, {"gigachat", TOK_PRE_GPT2, false},
        {"jina-v2-es", TOK_PRE_GPT2, false}, {"jina-v2-de", TOK_PRE_GPT2, false},
        {"a.x-4.0", TOK_PRE_GPT2, false}, {"mellum", TOK_PRE_GPT2, false},
        {"olmo", TOK_PRE_GPT2, false}, {"jais", TOK_PRE_GPT2, false},
        {"exaone4", TOK_PRE_GPT2, false},
        {"starcoder", TOK_PRE_STARCODER, false}, {"refact", TOK_PRE_STARCODER, false},
        {"command-r", TOK_PRE_STARCODER, false}, {"smollm", TOK_PRE_STARCODER, false},
        {"codeshell", TOK_PRE_STARCODER, false}, {"exaone", TOK_PRE_STARCODER, false},
        {"minerva-7b", TOK_PRE_STARCODER, false},
        {"qwen2", TOK_PRE_QWEN2, false}, {"deepseek-r1-qwen", TOK_PRE_QWEN2, false},
        {"stablelm2", TOK_PRE_QWEN2, false}, {"megrez", TOK_PRE_QWEN2, false},
        {"kormo", TOK_PRE_QWEN2, false},
    };
    for (size_t i = 0; i < MB_ARRAY_LEN(names); i++)
        if (!strcmp(name, names[i].name)) {
            *pre = names[i].pre;
            if (names[i].llama3) {
                *ignore_merges = true;
                *add_bos = true;
            }
            return names[i].name;
        }
    return NULL;
}

/* Texts llama.cpp treats as control tokens whatever their stored type (its
 * EOT/EOG/FIM detection by text), and the few it always renders. */
static const char *const forced_control[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
    "<|end_of_text|>", "<EOT>", "_<EOT>", "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
    "<end_of_utterance>", "<|eom_id|>", "<|return|>", "<|call|>",
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>",
    "<PRE>", "\xe2\x96\x81<PRE>", "<|code_prefix|>",
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81hole\xef\xbd\x9c>",
    "<SUF>", "\xe2\x96\x81<SUF>", "<|code_suffix|>",
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>",
    "<MID>", "\xe2\x96\x81<MID>", "<|code_middle|>",
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>",
    "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", "<|file_sep|>",
};
static const char *const forced_user[] = {"<|channel|>", "<|message|>", "<|start|>",
                                          "<|constrain|>"};

static int get_opt_bool(const models_gguf_t *g, const char *key, bool *v)
{
    if (models_gguf_find_key(g, key) < 0)
        return MB_OK;
    return models_gguf_get_bool(g, key, v);
}

/* An optional token id key; out of range is ignored (llama.cpp warns and keeps the default). */
static int get_opt_id(const models_gguf_t *g, const char *key, int32_t n_vocab, int32_t *id)
{
    if (models_gguf_find_key(g, key) < 0)
        return MB_OK;
    uint32_t v;
    int rc = models_gguf_get_u32(g, key, &v);
    if (rc)
        return rc;
    if (v < (uint32_t)n_vocab)
        *id = (int32_t)v;
    return MB_OK;
}

static int cmp_special(const void *a, const void *b, void *ctx)
{
    const models_tokenizer_t *t = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    uint32_t lx = t->tokens[x].len, ly = t->tokens[y].len;
    if (lx != ly)
        return lx > ly ? -1 : 1;
    return x < y ? -1 : x > y;
}

int models_tokenizer_from_gguf(const models_gguf_t *g, models_tokenizer_t **out)
{
    *out = NULL;
    const char *name = models_gguf_name(g);
    models_tokenizer_t *t = calloc(1, sizeof *t);
    if (!t)
        return mb_err_set(MB_ENOMEM, "%s: out of memory for the tokenizer", name);
    int rc;
    const char *model = NULL, *pre_name = NULL;
    if (models_gguf_find_key(g, KEY_MODEL) < 0) {
        rc = mb_err_set(MB_EFORMAT, "%s: no '%s' key: the file has no tokenizer (a GGUF made "
                        "without a vocabulary cannot be tokenized)", name, KEY_MODEL);
        goto err;
    }
    if ((rc = models_gguf_get_str(g, KEY_MODEL, &model)))
        goto err;
    bool add_bos = false, add_eos = false;
    t->bos = t->eos = t->unk = -1;
    if (!strcmp(model, "llama")) {
        t->type = TOK_SPM;
        t->bos = 1;
        t->eos = 2;
        t->unk = 0;
        t->add_space_prefix = true;
        add_bos = true;
        snprintf(t->kind, sizeof t->kind, "llama/default");
    } else if (!strcmp(model, "gpt2")) {
        t->type = TOK_BPE;
        t->bos = t->eos = 11; /* llama.cpp's defaults when the file names none */
        if (models_gguf_find_key(g, KEY_PRE) < 0) {
            pre_name = "default"; /* llama.cpp: missing pre-tokenizer -> default */
        } else {
            const char *p;
            if ((rc = models_gguf_get_str(g, KEY_PRE, &p)))
                goto err;
            pre_name = pre_of(p, &t->pre, &t->ignore_merges, &add_bos);
            if (!pre_name) {
                rc = mb_err_set(MB_EUNSUPPORTED,
                                "%s: pre-tokenizer '%s' (%s) is not supported; supported: "
                                "default, llama-bpe (llama3), qwen2, starcoder, refact, smollm, "
                                "deepseek-llm, deepseek-coder, falcon, mpt, gpt-2 and their "
                                "aliases (docs/TOKENIZER.md)", name, p, KEY_PRE);
                goto err;
            }
        }
        snprintf(t->kind, sizeof t->kind, "gpt2/%s", pre_name);
    } else {
        rc = mb_err_set(MB_EUNSUPPORTED,
                        "%s: tokenizer model '%s' (%s) is not supported; supported: 'llama' "
                        "(SentencePiece) and 'gpt2' (byte-level BPE)", name, model, KEY_MODEL);
        goto err;
    }

    /* tokens */
    models_gguf_arr_t toks, scores = {0}, types = {0};
    if (models_gguf_find_key(g, KEY_TOKENS) < 0) {
        rc = mb_err_set(MB_EFORMAT, "%s: no '%s' array: the tokenizer has no vocabulary", name,
                        KEY_TOKENS);
        goto err;
    }
    if ((rc = models_gguf_get_arr(g, KEY_TOKENS, &toks)))
        goto err;
    if (toks.type != MODELS_GGUF_STR || toks.n == 0 || toks.n > INT32_MAX / 2) {
        rc = mb_err_set(MB_EFORMAT, "%s: '%s' is an array of %llu %s, want 1 .. 2^30 strings",
                        name, KEY_TOKENS, (unsigned long long)toks.n,
                        models_gguf_vtype_name(toks.type));
        goto err;
    }
    t->n_vocab = (int32_t)toks.n;
    bool have_scores = models_gguf_find_key(g, KEY_SCORES) >= 0;
    bool have_types = models_gguf_find_key(g, KEY_TYPES) >= 0;
    if (have_scores && (rc = models_gguf_get_arr(g, KEY_SCORES, &scores)))
        goto err;
    if (have_types && (rc = models_gguf_get_arr(g, KEY_TYPES, &types)))
        goto err;
    if ((have_scores && (scores.n != toks.n || scores.type == MODELS_GGUF_STR ||
                         scores.type == MODELS_GGUF_ARR)) ||
        (have_types && (types.n != toks.n || types.type == MODELS_GGUF_STR ||
                        types.type == MODELS_GGUF_ARR))) {
        rc = mb_err_set(MB_EFORMAT, "%s: '%s' / '%s' must be numeric arrays of %d elements, "
                        "one per token (they have %llu and %llu)", name, KEY_SCORES, KEY_TYPES,
                        t->n_vocab, (unsigned long long)scores.n, (unsigned long long)types.n);
        goto err;
    }
    models_gguf_arr_t merges = {0};
    if (t->type == TOK_BPE) {
        if (models_gguf_find_key(g, KEY_MERGES) < 0) {
            rc = mb_err_set(MB_EFORMAT, "%s: no '%s' array: a gpt2 (BPE) tokenizer needs its "
                            "merges", name, KEY_MERGES);
            goto err;
        }
        if ((rc = models_gguf_get_arr(g, KEY_MERGES, &merges)))
            goto err;
        if (merges.type != MODELS_GGUF_STR || merges.n > INT32_MAX / 2) {
            rc = mb_err_set(MB_EFORMAT, "%s: '%s' must be an array of strings", name, KEY_MERGES);
            goto err;
        }
    }
    /* arena size: every string once (+ "[EMPTY_i]" for empty tokens) */
    size_t total = 0;
    for (uint64_t pass = 0; pass < 2; pass++) {
        const models_gguf_arr_t *a = pass ? &merges : &toks;
        for (uint64_t i = 0; i < a->n; i++) {
            models_gguf_value_t v;
            if ((rc = models_gguf_arr_get(a, i, &v)))
                goto err;
            total += v.str_len ? v.str_len : 24;
        }
    }
    if (total > UINT32_MAX) {
        rc = mb_err_set(MB_EFORMAT, "%s: the vocabulary's strings total %zu bytes, over 4 GiB",
                        name, total);
        goto err;
    }
    t->arena = malloc(total ? total : 1);
    t->tokens = calloc((size_t)t->n_vocab, sizeof *t->tokens);
    uint32_t cap = pow2_at_least((uint64_t)t->n_vocab * 2);
    t->map = malloc((size_t)cap * sizeof *t->map);
    if (!t->arena || !t->tokens || !t->map) {
        rc = mb_err_set(MB_ENOMEM, "%s: out of memory for %d tokens", name, t->n_vocab);
        goto err;
    }
    t->map_mask = cap - 1;
    memset(t->map, 0xff, (size_t)cap * sizeof *t->map);
    for (int32_t i = 0; i < t->n_vocab; i++) {
        models_gguf_value_t v;
        if ((rc = models_gguf_arr_get(&toks, (uint64_t)i, &v)))
            goto err;
        tok_token_t *k = &t->tokens[i];
        k->off = (uint32_t)t->arena_len;
        if (v.str_len) {
            memcpy(t->arena + t->arena_len, v.str, v.str_len);
            k->len = (uint32_t)v.str_len;
        } else { /* llama.cpp names empty tokens so they stay distinct */
            k->len = (uint32_t)snprintf(t->arena + t->arena_len, 24, "[EMPTY_%d]", i);
        }
        t->arena_len += k->len;
        double sc = 0;
        if (have_scores && (rc = models_gguf_arr_f64(&scores, (uint64_t)i, &sc)))
            goto err;
        k->score = (float)sc;
        k->attr = TOK_ATTR_NORMAL;
        if (have_types) {
            int64_t ty;
            if ((rc = models_gguf_arr_i64(&types, (uint64_t)i, &ty)))
                goto err;
            switch (ty) {
            case 1: k->attr = TOK_ATTR_NORMAL; break;
            case 2: k->attr = TOK_ATTR_UNKNOWN; break;
            case 3: k->attr = TOK_ATTR_CONTROL; break;
            case 4: k->attr = TOK_ATTR_USER_DEFINED; break;
            case 5: k->attr = TOK_ATTR_UNUSED; break;
            case 6: k->attr = TOK_ATTR_BYTE; break;
            default: k->attr = TOK_ATTR_UNDEFINED; break;
            }
        }
        map_insert(t, i);
    }

    /* merges: "left right", split at the first space after the first byte */
    if (t->type == TOK_BPE && merges.n) {
        uint32_t mcap = pow2_at_least(merges.n * 2);
        t->merges = malloc((size_t)mcap * sizeof *t->merges);
        if (!t->merges) {
            rc = mb_err_set(MB_ENOMEM, "%s: out of memory for %llu merges", name,
                            (unsigned long long)merges.n);
            goto err;
        }
        memset(t->merges, 0xff, (size_t)mcap * sizeof *t->merges);
        t->merge_mask = mcap - 1;
        for (uint64_t i = 0; i < merges.n; i++) {
            models_gguf_value_t v;
            if ((rc = models_gguf_arr_get(&merges, i, &v)))
                goto err;
            const char *sp = v.str_len > 1 ? memchr(v.str + 1, ' ', v.str_len - 1) : NULL;
            if (!sp) {
                rc = mb_err_set(MB_EFORMAT, "%s: '%s'[%llu] = \"%.*s\" is not \"LEFT RIGHT\" "
                                "(no space after the first byte): the merges are malformed",
                                name, KEY_MERGES, (unsigned long long)i,
                                (int)MB_MIN(v.str_len, (size_t)60), v.str);
                goto err;
            }
            size_t ln = (size_t)(sp - v.str), rn = v.str_len - ln - 1;
            uint32_t off = (uint32_t)t->arena_len;
            memcpy(t->arena + off, v.str, v.str_len);
            t->arena_len += v.str_len;
            uint32_t h = merge_hash(v.str, ln, sp + 1, rn);
            for (uint32_t j = h & t->merge_mask;; j = (j + 1) & t->merge_mask) {
                tok_merge_t *m = &t->merges[j];
                if (m->rank < 0) {
                    *m = (tok_merge_t){h, (int32_t)i, off, (uint32_t)ln, (uint32_t)rn};
                    break;
                }
                if (m->hash == h && m->left == ln && m->right == rn &&
                    !memcmp(t->arena + m->off, v.str, v.str_len))
                    break; /* a duplicate merge keeps its first rank */
            }
        }
        t->n_merges = (int32_t)merges.n;
    }

    /* special ids and flags */
    if ((rc = get_opt_id(g, "tokenizer.ggml.bos_token_id", t->n_vocab, &t->bos)) ||
        (rc = get_opt_id(g, "tokenizer.ggml.eos_token_id", t->n_vocab, &t->eos)) ||
        (rc = get_opt_id(g, "tokenizer.ggml.unknown_token_id", t->n_vocab, &t->unk)) ||
        (rc = get_opt_bool(g, "tokenizer.ggml.add_bos_token", &add_bos)) ||
        (rc = get_opt_bool(g, "tokenizer.ggml.add_eos_token", &add_eos)) ||
        (rc = get_opt_bool(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix)))
        goto err;
    if (t->bos >= t->n_vocab)
        t->bos = -1;
    if (t->eos >= t->n_vocab)
        t->eos = -1;
    if (t->unk >= t->n_vocab)
        t->unk = -1;
    t->add_bos = add_bos && t->bos >= 0;
    t->add_eos = add_eos && t->eos >= 0;
    for (size_t i = 0; i < MB_ARRAY_LEN(forced_control); i++) {
        int32_t id = tok_find(t, forced_control[i], strlen(forced_control[i]));
        if (id >= 0)
            t->tokens[id].attr = TOK_ATTR_CONTROL;
    }
    for (size_t i = 0; i < MB_ARRAY_LEN(forced_user); i++) {
        int32_t id = tok_find(t, forced_user[i], strlen(forced_user[i]));
        if (id >= 0)
            t->tokens[id].attr = TOK_ATTR_USER_DEFINED;
    }

    /* the special tokens the text is split at, longest first */
    t->special = malloc((size_t)t->n_vocab * sizeof *t->special);
    if (!t->special) {
        rc = mb_err_set(MB_ENOMEM, "%s: out of memory", name);
        goto err;
    }
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (t->tokens[i].attr & (TOK_ATTR_CONTROL | TOK_ATTR_USER_DEFINED | TOK_ATTR_UNKNOWN))
            t->special[t->n_special++] = i;
    qsort_r(t->special, (size_t)t->n_special, sizeof *t->special, cmp_special, t);

    /* Phi-3: special tokens eat the whitespace after them (llama.cpp's rule by model name) */
    const char *gname = NULL;
    if (models_gguf_find_key(g, "general.name") >= 0 &&
        !models_gguf_get_str(g, "general.name", &gname) && gname) {
        char low[256];
        size_t n = 0;
        for (; gname[n] && n + 1 < sizeof low; n++)
            low[n] = (char)tolower((unsigned char)gname[n]);
        low[n] = 0;
        if (strstr(low, "phi-3") || strstr(low, "phi3")) {
            for (int32_t i = 0; i < t->n_special; i++)
                t->tokens[t->special[i]].attr |= TOK_ATTR_RSTRIP;
            static const char *const on[] = {"</s>"}, *const off[] = {"<unk>", "<s>",
                                                                       "<|endoftext|>"};
            int32_t id = tok_find(t, on[0], strlen(on[0]));
            if (id >= 0)
                t->tokens[id].attr |= TOK_ATTR_RSTRIP;
            for (size_t i = 0; i < MB_ARRAY_LEN(off); i++)
                if ((id = tok_find(t, off[i], strlen(off[i]))) >= 0)
                    t->tokens[id].attr &= (uint16_t)~TOK_ATTR_RSTRIP;
        }
    }

    if (t->type == TOK_SPM) {
        bool in_token[128] = {0};
        for (size_t i = 0; i < t->arena_len; i++)
            if ((unsigned char)t->arena[i] < 128)
                in_token[(unsigned char)t->arena[i]] = true;
        for (int c = 0; c < 128; c++)
            t->spm_boundary[c] = !in_token[c];
        for (int b = 0; b < 256; b++) {
            char buf[8];
            snprintf(buf, sizeof buf, "<0x%02X>", b);
            int32_t id = tok_find(t, buf, 6);
            if (id < 0) { /* llama.cpp falls back to the byte as a one-byte token */
                char c = (char)b;
                id = tok_find(t, &c, 1);
            }
            t->byte_tok[b] = id;
        }
    } else if ((rc = tok_bpe_init(t))) {
        goto err;
    }
    *out = t;
    return MB_OK;
err:
    models_tokenizer_destroy(t);
    return rc;
}

int models_tokenizer_open(const char *gguf_path, models_tokenizer_t **out)
{
    *out = NULL;
    models_gguf_t *g = NULL;
    /* ANY_TYPE: a tokenizer does not care what the tensors are */
    int rc = models_gguf_open_ex(gguf_path, MODELS_GGUF_OPEN_ANY_TYPE, &g);
    if (rc)
        return rc;
    rc = models_tokenizer_from_gguf(g, out);
    models_gguf_close(g);
    return rc;
}

void models_tokenizer_destroy(models_tokenizer_t *t)
{
    if (!t)
        return;
    free(t->arena);
    free(t->tokens);
    free(t->map);
    free(t->merges);
    free(t->special);
    free(t->ds_letters);
    free(t);
}

/* ---- accessors ------------------------------------------------------------------ */
int models_tokenizer_n_vocab(const models_tokenizer_t *t) { return t->n_vocab; }
int32_t models_tokenizer_bos(const models_tokenizer_t *t) { return t->bos; }
int32_t models_tokenizer_eos(const models_tokenizer_t *t) { return t->eos; }
int models_tokenizer_add_bos(const models_tokenizer_t *t) { return t->add_bos; }
int models_tokenizer_add_eos(const models_tokenizer_t *t) { return t->add_eos; }
const char *models_tokenizer_kind(const models_tokenizer_t *t) { return t->kind; }

const char *models_tokenizer_token_text(const models_tokenizer_t *t, int32_t id, size_t *len)
{
    if (id < 0 || id >= t->n_vocab)
        return NULL;
    if (len)
        *len = t->tokens[id].len;
    return t->arena + t->tokens[id].off;
}

int models_tokenizer_same_vocab(const models_tokenizer_t *a, const models_tokenizer_t *b)
{
    if (a == b)
        return 1;
    if (!a || !b || a->type != b->type || a->pre != b->pre || a->n_vocab != b->n_vocab ||
        a->n_merges != b->n_merges || a->arena_len != b->arena_len || a->bos != b->bos ||
        a->eos != b->eos || a->unk != b->unk || a->add_bos != b->add_bos ||
        a->add_eos != b->add_eos || a->add_space_prefix != b->add_space_prefix ||
        a->ignore_merges != b->ignore_merges)
        return 0;
    if (memcmp(a->arena, b->arena, a->arena_len))
        return 0;
    for (int32_t i = 0; i < a->n_vocab; i++) {
        const tok_token_t *x = &a->tokens[i], *y = &b->tokens[i];
        if (x->off != y->off || x->len != y->len || x->attr != y->attr ||
            memcmp(&x->score, &y->score, sizeof x->score))
            return 0;
    }
    return 1;
}

/* ---- encode ------------------------------------------------------------------------ */
typedef struct {
    int32_t id;      /* >= 0: a special token; -1: raw text */
    size_t off, len; /* raw text */
} frag_t;

typedef struct {
    frag_t *v;
    size_t n, cap;
} frags_t;

static int frag_push(frags_t *f, int32_t id, size_t off, size_t len)
{
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 16;
        frag_t *v = realloc(f->v, nc * sizeof *v);
        if (!v)
            return mb_err_set(MB_ENOMEM, "tokenizer: out of memory for %zu text fragments", nc);
        f->v = v;
        f->cap = nc;
    }
    f->v[f->n++] = (frag_t){id, off, len};
    return MB_OK;
}

static bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Splits the text at every special token, longest token first (llama.cpp's
 * tokenizer_st_partition). A token that occurs nowhere in the text costs
 * one test per candidate position (bytes that start some special token). */
static int partition(const models_tokenizer_t *t, const char *text, size_t len,
                     bool parse_special, frags_t *cur)
{
    frags_t nxt = {0};
    size_t *cand = NULL, n_cand = 0;
    int rc = MB_OK;
    cur->n = 0;
    if (len && (rc = frag_push(cur, -1, 0, len)))
        return rc;
    if (!len || !t->n_special)
        return MB_OK;
    bool first[256] = {0};
    for (int32_t s = 0; s < t->n_special; s++) {
        const tok_token_t *k = &t->tokens[t->special[s]];
        if (!parse_special && (k->attr & (TOK_ATTR_CONTROL | TOK_ATTR_UNKNOWN)))
            continue;
        first[(unsigned char)t->arena[k->off]] = true;
    }
    for (size_t i = 0; i < len; i++)
        n_cand += first[(unsigned char)text[i]];
    if (!n_cand)
        return MB_OK;
    cand = malloc(n_cand * sizeof *cand);
    if (!cand)
        return mb_err_set(MB_ENOMEM, "tokenizer: out of memory");
    n_cand = 0;
    for (size_t i = 0; i < len; i++)
        if (first[(unsigned char)text[i]])
            cand[n_cand++] = i;
    for (int32_t s = 0; s < t->n_special; s++) {
        int32_t id = t->special[s];
        const tok_token_t *k = &t->tokens[id];
        if (!parse_special && (k->attr & (TOK_ATTR_CONTROL | TOK_ATTR_UNKNOWN)))
            continue;
        const char *tt = t->arena + k->off;
        bool found = false;
        for (size_t c = 0; c < n_cand && !found; c++)
            found = cand[c] + k->len <= len && !memcmp(text + cand[c], tt, k->len);
        if (!found)
            continue;
        nxt.n = 0;
        for (size_t f = 0; f < cur->n; f++) {
            frag_t fr = cur->v[f];
            if (fr.id >= 0) {
                if ((rc = frag_push(&nxt, fr.id, 0, 0)))
                    goto out;
                continue;
            }
            size_t off = fr.off, flen = fr.len;
            for (;;) {
                const char *m = flen >= k->len ? memmem(text + off, flen, tt, k->len) : NULL;
                if (!m) {
                    if (flen && (rc = frag_push(&nxt, -1, off, flen)))
                        goto out;
                    break;
                }
                size_t mo = (size_t)(m - text), left = mo - off;
                if (k->attr & TOK_ATTR_LSTRIP)
                    while (left && is_space((unsigned char)text[off + left - 1]))
                        left--;
                if (left && (rc = frag_push(&nxt, -1, off, left)))
                    goto out;
                if ((rc = frag_push(&nxt, id, 0, 0)))
                    goto out;
                size_t ro = mo + k->len, rl = off + flen - ro;
                if (k->attr & TOK_ATTR_RSTRIP)
                    while (rl && is_space((unsigned char)text[ro])) {
                        ro++;
                        rl--;
                    }
                off = ro;
                flen = rl;
                if (!flen)
                    break;
            }
        }
        frags_t tmp = *cur;
        *cur = nxt;
        nxt = tmp;
    }
out:
    free(nxt.v);
    free(cand);
    return rc;
}

int models_tokenizer_encode(const models_tokenizer_t *t, const char *text, size_t len,
                            int add_special, int parse_special, int32_t **ids_out, size_t *n_out)
{
    *ids_out = NULL;
    *n_out = 0;
    if (!text && len)
        return mb_err_set(MB_EINVAL, "tokenizer: NULL text of %zu bytes", len);
    tok_ids_t out = {0};
    frags_t fr = {0};
    int rc = partition(t, text, len, parse_special != 0, &fr);
    if (rc)
        goto err;
    if (add_special && t->add_bos && (rc = tok_ids_push(&out, t->bos)))
        goto err;
    bool prev_special = true; /* SPM: a space before the first text, and after specials */
    for (size_t i = 0; i < fr.n; i++) {
        const frag_t *f = &fr.v[i];
        if (f->id >= 0) {
            if ((rc = tok_ids_push(&out, f->id)))
                goto err;
            prev_special = true;
            continue;
        }
        if (t->type == TOK_SPM)
            rc = tok_spm_encode(t, text + f->off, f->len, t->add_space_prefix && prev_special,
                                &out);
        else
            rc = tok_bpe_encode(t, text + f->off, f->len, &out);
        if (rc)
            goto err;
        prev_special = false;
    }
    if (add_special && t->add_eos && (rc = tok_ids_push(&out, t->eos)))
        goto err;
    free(fr.v);
    *ids_out = out.v;
    *n_out = out.n;
    return MB_OK;
err:
    free(fr.v);
    free(out.v);
    return rc;
}

/* ---- decode ------------------------------------------------------------------------ */
typedef struct {
    char *p;
    size_t n, cap;
} buf_t;

static int buf_add(buf_t *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + n + 1)
            nc *= 2;
        char *p = realloc(b->p, nc);
        if (!p)
            return mb_err_set(MB_ENOMEM, "tokenizer: out of memory for %zu bytes of text", nc);
        b->p = p;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return MB_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int models_tokenizer_decode(const models_tokenizer_t *t, const int32_t *ids, size_t n,
                            char **text_out, size_t *len_out)
{
    *text_out = NULL;
    if (len_out)
        *len_out = 0;
    buf_t b = {0};
    int rc = buf_add(&b, "", 0);
    bool strip = t->type == TOK_SPM && t->add_space_prefix;
    for (size_t i = 0; i < n && !rc; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->n_vocab) {
            rc = mb_err_set(MB_ERANGE, "tokenizer: token id %d (at %zu) is outside the vocabulary "
                            "(0 .. %d)", id, i, t->n_vocab - 1);
            break;
        }
        const tok_token_t *k = &t->tokens[id];
        const char *s = t->arena + k->off;
        size_t start = b.n;
        if (k->attr & TOK_ATTR_USER_DEFINED) {
            rc = buf_add(&b, s, k->len);
            strip = t->type == TOK_SPM && t->add_space_prefix;
            continue;
        }
        if (k->attr & (TOK_ATTR_CONTROL | TOK_ATTR_UNKNOWN)) {
            strip = t->type == TOK_SPM && t->add_space_prefix;
            continue;
        }
        if (t->type == TOK_SPM) {
            if (k->attr & TOK_ATTR_BYTE) {
                int hi = k->len == 6 ? hexval(s[3]) : -1, lo = k->len == 6 ? hexval(s[4]) : -1;
                if (hi >= 0 && lo >= 0) {
                    char c = (char)(hi * 16 + lo);
                    rc = buf_add(&b, &c, 1);
                } else {
                    rc = buf_add(&b, s, k->len);
                }
            } else if (k->attr & TOK_ATTR_NORMAL) {
                for (size_t j = 0; j < k->len && !rc; j++) {
                    if (j + 2 < k->len && !memcmp(s + j, "\xe2\x96\x81", 3)) {
                        rc = buf_add(&b, " ", 1);
                        j += 2;
                    } else {
                        rc = buf_add(&b, s + j, 1);
                    }
                }
            }
            if (strip && b.n > start) {
                if (b.p[start] == ' ') {
                    memmove(b.p + start, b.p + start + 1, b.n - start - 1);
                    b.n--;
                }
                strip = false;
            }
        } else if (k->attr & TOK_ATTR_NORMAL) {
            /* BPE: each code point of the text is one byte (GPT-2's mapping);
             * a code point outside the mapping is kept as its UTF-8 */
            for (size_t j = 0; j < k->len && !rc;) {
                uint32_t cp;
                size_t l = unicode_decode((const unsigned char *)s + j, k->len - j, &cp);
                if (cp < 324 && t->byte_dec[cp] >= 0) {
                    char c = (char)t->byte_dec[cp];
                    rc = buf_add(&b, &c, 1);
                } else {
                    rc = buf_add(&b, s + j, l);
                }
                j += l;
            }
        }
    }
    if (rc) {
        free(b.p);
        return rc;
    }
    b.p[b.n] = 0;
    *text_out = b.p;
    if (len_out)
        *len_out = b.n;
    return MB_OK;
}
