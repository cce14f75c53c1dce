/* tokenizer_int.h: what the tokenizer files of models/ share (not public):
 * the vocabulary, its hash maps, the Unicode tables and the two tokenizers'
 * entry points. models.h section 9 is the public face; docs/TOKENIZER.md. */
#ifndef MODELS_TOKENIZER_INT_H
#define MODELS_TOKENIZER_INT_H

#include "models.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Unicode (models/unicode.c, table in models/unicode_data.c) ----------- */
enum {
    UNI_UNDEFINED = 0x001, /* unassigned (Cn), or beyond U+10FFFF */
    UNI_NUMBER = 0x002,    /* \p{N} */
    UNI_LETTER = 0x004,    /* \p{L} */
    UNI_SEPARATOR = 0x008, /* \p{Z} */
    UNI_MARK = 0x010,      /* \p{M} */
    UNI_PUNCT = 0x020,     /* \p{P} */
    UNI_SYMBOL = 0x040,    /* \p{S} */
    UNI_CONTROL = 0x080,   /* \p{C} */
    UNI_WHITESPACE = 0x100 /* White_Space (PropList) */
};
typedef struct {
    uint32_t first;
    uint16_t flags;
} unicode_run_t;
extern const unicode_run_t unicode_runs[];
extern const size_t unicode_n_runs;
extern const char unicode_data_version[];

uint16_t unicode_flags(uint32_t cp);
/* One code point from s[0..n) (n >= 1) as llama.cpp reads UTF-8 (lead byte
 * and continuation bytes checked, overlong forms not): the bytes it took.
 * An invalid sequence takes 1 byte and gives U+FFFD. */
size_t unicode_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* UTF-8 bytes of cp into out (1..4). */
size_t unicode_encode(uint32_t cp, char out[4]);
/* Length of the sequence a lead byte announces (1 for continuation bytes). */
static inline size_t unicode_len_utf8(unsigned char c)
{
    static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[c >> 4];
}

/* ---- vocabulary ------------------------------------------------------------- */
/* llama.cpp's llama_token_attr bits */
enum {
    TOK_ATTR_UNDEFINED = 0,
    TOK_ATTR_UNKNOWN = 1 << 0,
    TOK_ATTR_UNUSED = 1 << 1,
    TOK_ATTR_NORMAL = 1 << 2,
    TOK_ATTR_CONTROL = 1 << 3,
    TOK_ATTR_USER_DEFINED = 1 << 4,
    TOK_ATTR_BYTE = 1 << 5,
    TOK_ATTR_LSTRIP = 1 << 7,
    TOK_ATTR_RSTRIP = 1 << 8,
};

typedef enum { TOK_SPM = 1, TOK_BPE = 2 } tok_type_t;

/* BPE pre-tokenizers: each a list of splitting stages (tokenizer_bpe.c) */
typedef enum {
    TOK_PRE_DEFAULT = 0,
    TOK_PRE_LLAMA3,
    TOK_PRE_QWEN2,
    TOK_PRE_DEEPSEEK_LLM,
    TOK_PRE_DEEPSEEK_CODER,
    TOK_PRE_FALCON,
    TOK_PRE_STARCODER, /* also refact, command-r, smollm, codeshell, exaone, minerva */
    TOK_PRE_GPT2,      /* also mpt, olmo, jais, phi-2, ... */
} tok_pre_t;

typedef struct {
    uint32_t off, len; /* text in tok->arena */
    float score;
    uint16_t attr;
} tok_token_t;

typedef struct {
    uint32_t hash;
    int32_t id; /* -1: empty */
} tok_slot_t;

typedef struct {
    uint32_t hash;
    int32_t rank;   /* -1: empty */
    uint32_t off;   /* "left right" in tok->arena */
    uint32_t left;  /* length of left */
    uint32_t right; /* length of right */
} tok_merge_t;

struct models_tokenizer {
    tok_type_t type;
    tok_pre_t pre;
    char kind[96];
    char *arena; /* token texts, then merge texts */
    size_t arena_len;
    tok_token_t *tokens;
    int32_t n_vocab;
    tok_slot_t *map; /* text -> id, open addressing */
    uint32_t map_mask;
    tok_merge_t *merges; /* (left, right) -> rank */
    uint32_t merge_mask;
    int32_t n_merges;
    int32_t *special; /* CONTROL / USER_DEFINED / UNKNOWN ids, longest text first */
    int32_t n_special;
    int32_t bos, eos, unk;
    bool add_bos, add_eos, add_space_prefix, ignore_merges;
    int32_t byte_tok[256]; /* SPM: id of <0xNN> (or of the byte itself), -1 */
    bool spm_boundary[128];  /* SPM: ASCII bytes no token's text contains */
    /* BPE: GPT-2's byte <-> printable code point mapping */
    char byte_enc[256][2];
    uint8_t byte_enc_len[256];
    int16_t byte_dec[324]; /* code point -> byte, -1 */
    /* deepseek-llm's letter class, parsed once */
    uint32_t (*ds_letters)[2];
    size_t n_ds_letters;
};

static inline uint32_t tok_hash(const void *p, size_t n, uint32_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 16777619u;
    return h;
}
#define TOK_HASH_SEED 2166136261u

/* id of a text, -1 if none (the last of duplicates, as llama.cpp). */
int32_t tok_find(const models_tokenizer_t *t, const char *s, size_t n);
/* rank of the merge (left, right), -1 if none. */
int32_t tok_merge_rank(const models_tokenizer_t *t, const char *l, size_t ln, const char *r,
                       size_t rn);

/* A growable id list. */
typedef struct {
    int32_t *v;
    size_t n, cap;
} tok_ids_t;
int tok_ids_push(tok_ids_t *o, int32_t id);

/* One text fragment (no special tokens inside) -> ids appended to out. */
int tok_spm_encode(const models_tokenizer_t *t, const char *text, size_t len, bool space_prefix,
                   tok_ids_t *out);
int tok_bpe_encode(const models_tokenizer_t *t, const char *text, size_t len, tok_ids_t *out);
/* Sets up the pre-tokenizer tables (byte map, deepseek-llm class). */
int tok_bpe_init(models_tokenizer_t *t);

/* Pre-tokenizer alone (tests): splits text into pieces; *bounds_out
 * (malloc'd) holds n_out+1 byte offsets, bounds[0] = 0, bounds[n] = len. */
int tok_bpe_pretokenize(const models_tokenizer_t *t, const char *text, size_t len,
                        size_t **bounds_out, size_t *n_out);
/* A tokenizer shell with only a pre-tokenizer (no vocabulary): for testing
 * the splitters of pre-tokenizers whose vocab file is absent. */
int tok_bpe_pre_only(const char *pre_name, models_tokenizer_t **out);

#endif
