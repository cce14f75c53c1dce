/* tokenizer_bpe.c: byte-level BPE as llama.cpp's llm_tokenizer_bpe does it.
 * 1. Pre-tokenizer: the text is cut into pieces by the stages of its
 *    tokenizer.ggml.pre, each a hand-written matcher over code points and
 *    their Unicode flags standing for one of llama.cpp's regexes (a match is
 *    a piece, and so is the text between two matches). Stages apply in turn,
 *    each inside the pieces of the one before.
 * 2. Each piece's bytes are mapped to GPT-2's printable code points, split
 *    into characters, and the adjacent pair with the lowest merge rank is
 *    merged until none is left (ties: leftmost first).
 * Invalid UTF-8: a bad byte is classified as U+FFFD (what llama.cpp reads it
 * as) but its own byte is kept and encoded, so any bytes round-trip. */
#include "tokenizer_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- the text as code points ----------------------------------------------------- */
typedef struct {
    const uint32_t *cp;
    const uint16_t *fl;
    const size_t *pos; /* byte offset of each code point; pos[n] = bytes */
    size_t n;
    const models_tokenizer_t *t;
} txt_t;

typedef struct {
    size_t *v; /* piece ends (code point indexes) */
    size_t n, cap;
} cuts_t;

static int cut(cuts_t *c, size_t end)
{
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 256;
        size_t *v = realloc(c->v, nc * sizeof *v);
        if (!v)
            return mb_err_set(MB_ENOMEM, "tokenizer: out of memory for %zu pieces", nc);
        c->v = v;
        c->cap = nc;
    }
    c->v[c->n++] = end;
    return MB_OK;
}

#define OUT_OF_RANGE 0xFFFFFFFFu
static inline uint32_t cp_at(const txt_t *x, size_t s, size_t e, size_t i)
{
    return i >= s && i < e ? x->cp[i] : OUT_OF_RANGE;
}
static inline uint16_t fl_at(const txt_t *x, size_t s, size_t e, size_t i)
{
    return i >= s && i < e ? x->fl[i] : 0;
}
#define IS_WS(f) ((f) & UNI_WHITESPACE)
#define IS_L(f) ((f) & UNI_LETTER)
#define IS_N(f) ((f) & UNI_NUMBER)

/* ---- llama.cpp's custom splitters ----------------------------------------------- */
/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S) (GPT-2) */
static int split_gpt2(const txt_t *x, size_t s, size_t e, cuts_t *o)
{
    size_t prev = s;
    int rc = MB_OK;
#define ADD(end) do { if ((end) > prev && (rc = cut(o, (end)))) return rc; prev = (end); } while (0)
    for (size_t pos = s; pos < e;) {
        uint32_t c = cp_at(x, s, e, pos);
        uint16_t f = fl_at(x, s, e, pos);
        if (c == '\'' && pos + 1 < e) {
            uint32_t n1 = cp_at(x, s, e, pos + 1);
            if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') {
                ADD(pos + 2);
                pos += 2;
                continue;
            }
            if (pos + 2 < e) {
                uint32_t n2 = cp_at(x, s, e, pos + 2);
                if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') ||
                    (n1 == 'l' && n2 == 'l')) {
                    ADD(pos + 3);
                    pos += 3;
                    continue;
                }
            }
        }
        uint16_t f2 = c == ' ' ? fl_at(x, s, e, pos + 1) : f;
        if (IS_L(f2)) {
            pos += c == ' ';
            while (IS_L(f2))
                f2 = fl_at(x, s, e, ++pos);
            ADD(pos);
            continue;
        }
        if (IS_N(f2)) {
            pos += c == ' ';
            while (IS_N(f2))
                f2 = fl_at(x, s, e, ++pos);
            ADD(pos);
            continue;
        }
        if (!(f2 & (UNI_WHITESPACE | UNI_LETTER | UNI_NUMBER)) && f2) {
            pos += c == ' ';
            while (!(f2 & (UNI_WHITESPACE | UNI_LETTER | UNI_NUMBER)) && f2)
                f2 = fl_at(x, s, e, ++pos);
            ADD(pos);
            continue;
        }
        size_t nws = 0;
        while (IS_WS(fl_at(x, s, e, pos + nws)))
            nws++;
        if (nws > 1 && cp_at(x, s, e, pos + nws) != OUT_OF_RANGE) {
            pos += nws - 1; /* \s+(?!\S): leave the last one to the next piece */
            ADD(pos);
            continue;
        }
        if (nws > 0) {
            pos += nws;
            ADD(pos);
            continue;
        }
        ADD(pos + 1);
        pos++;
    }
    return rc;
}

static uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+   (Llama 3: 3; Qwen2: 1) */
static int split_llama3(const txt_t *x, size_t s, size_t e, cuts_t *o, size_t max_digits)
{
    size_t prev = s;
    int rc = MB_OK;
    for (size_t pos = s; pos < e;) {
        uint32_t c = cp_at(x, s, e, pos);
        uint16_t f = fl_at(x, s, e, pos);
        if (c == '\'' && pos + 1 < e) {
            uint32_t n1 = ascii_lower(cp_at(x, s, e, pos + 1));
            if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') {
                ADD(pos + 2);
                pos += 2;
                continue;
            }
            if (pos + 2 < e) {
                uint32_t n2 = ascii_lower(cp_at(x, s, e, pos + 2));
                if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') ||
                    (n1 == 'l' && n2 == 'l')) {
                    ADD(pos + 3);
                    pos += 3;
                    continue;
                }
            }
        }
        if (!(c == '\r' || c == '\n' || IS_N(f))) {
            if (IS_L(f) || IS_L(fl_at(x, s, e, pos + 1))) {
                pos++;
                while (IS_L(fl_at(x, s, e, pos)))
                    pos++;
                ADD(pos);
                continue;
            }
        }
        if (IS_N(f)) {
            size_t ini = pos;
            while (IS_N(fl_at(x, s, e, pos))) {
                if (++pos - ini >= max_digits) {
                    ADD(pos);
                    ini = pos;
                }
            }
            ADD(pos);
            continue;
        }
        uint16_t f2 = c == ' ' ? fl_at(x, s, e, pos + 1) : f;
        if (!(f2 & (UNI_WHITESPACE | UNI_LETTER | UNI_NUMBER)) && f) {
            pos += c == ' ';
            while (!(f2 & (UNI_WHITESPACE | UNI_LETTER | UNI_NUMBER)) && f2)
                f2 = fl_at(x, s, e, ++pos);
            uint32_t c2 = cp_at(x, s, e, pos);
            while (c2 == '\r' || c2 == '\n')
                c2 = cp_at(x, s, e, ++pos);
            ADD(pos);
            continue;
        }
        size_t nws = 0, last_rn = 0;
        while (IS_WS(fl_at(x, s, e, pos + nws))) {
            uint32_t c2 = cp_at(x, s, e, pos + nws);
            if (c2 == '\r' || c2 == '\n')
                last_rn = pos + nws + 1;
            nws++;
        }
        if (last_rn > 0) { /* \s*[\r\n]+ */
            pos = last_rn;
            ADD(pos);
            continue;
        }
        if (nws > 1 && cp_at(x, s, e, pos + nws) != OUT_OF_RANGE) {
            pos += nws - 1;
            ADD(pos);
            continue;
        }
        if (nws > 0) {
            pos += nws;
            ADD(pos);
            continue;
        }
        ADD(pos + 1);
        pos++;
    }
    return rc;
#undef ADD
}

/* ---- the other stages: "split at matches" of a small matcher ---------------------- */
/* Length of the match starting at i inside [s, e), 0 for none. */
typedef size_t (*match_fn)(const txt_t *x, size_t i, size_t e);

static int split_matches(const txt_t *x, size_t s, size_t e, cuts_t *o, match_fn m)
{
    size_t gap = s;
    int rc;
    for (size_t i = s; i < e;) {
        size_t l = m(x, i, e);
        if (!l) {
            i++;
            continue;
        }
        if (i > gap && (rc = cut(o, i)))
            return rc;
        if ((rc = cut(o, i + l)))
            return rc;
        i += l;
        gap = i;
    }
    if (e > gap && (rc = cut(o, e)))
        return rc;
    return MB_OK;
}

static bool ascii_ws(uint32_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* [\r\n] */
static size_t m_crlf(const txt_t *x, size_t i, size_t e)
{
    (void)e;
    return x->cp[i] == '\r' || x->cp[i] == '\n';
}
/* \p{N} */
static size_t m_digit(const txt_t *x, size_t i, size_t e)
{
    (void)e;
    return IS_N(x->fl[i]) ? 1 : 0;
}
/* \p{N}+ */
static size_t m_digits(const txt_t *x, size_t i, size_t e)
{
    size_t j = i;
    while (j < e && IS_N(x->fl[j]))
        j++;
    return j - i;
}
/* [0-9][0-9][0-9] */
static size_t m_3digits(const txt_t *x, size_t i, size_t e)
{
    if (i + 3 > e)
        return 0;
    for (size_t j = i; j < i + 3; j++)
        if (x->cp[j] < '0' || x->cp[j] > '9')
            return 0;
    return 3;
}
/* [\p{P}\$\+<=>\^~\|]+ (default) and with ` (falcon) */
static size_t punct_run(const txt_t *x, size_t i, size_t e, bool backtick)
{
    size_t j = i;
    for (; j < e; j++) {
        uint32_t c = x->cp[j];
        if (!((x->fl[j] & UNI_PUNCT) || c == '$' || c == '+' || c == '<' || c == '=' ||
              c == '>' || c == '^' || c == '~' || c == '|' || (backtick && c == '`')))
            break;
    }
    return j - i;
}
static size_t m_punct_default(const txt_t *x, size_t i, size_t e) { return punct_run(x, i, e, false); }
static size_t m_punct_falcon(const txt_t *x, size_t i, size_t e) { return punct_run(x, i, e, true); }

/* \s?X+ for a class X given by flags */
static size_t ws_opt_run(const txt_t *x, size_t i, size_t e, uint16_t cls)
{
    size_t j = i;
    if (IS_WS(x->fl[j]) && j + 1 < e && (x->fl[j + 1] & cls))
        j++;
    size_t k = j;
    while (k < e && (x->fl[k] & cls))
        k++;
    return k > j ? k - i : 0;
}
static size_t m_ws_letters(const txt_t *x, size_t i, size_t e) { return ws_opt_run(x, i, e, UNI_LETTER); }
static size_t m_ws_punct(const txt_t *x, size_t i, size_t e) { return ws_opt_run(x, i, e, UNI_PUNCT); }

/* [一-龥ࠀ-一가-퟿]+ */
static bool cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x0800 && c <= 0x4E00) ||
           (c >= 0xAC00 && c <= 0xD7FF);
}
static size_t m_cjk(const txt_t *x, size_t i, size_t e)
{
    size_t j = i;
    while (j < e && cjk(x->cp[j]))
        j++;
    return j - i;
}

/* deepseek-llm: \s?[A-Za-zµÀ-Ö...]+ (explicit ranges; \s is ASCII there since
 * llama.cpp runs these patterns through std::wregex on code points) */
static const char ds_letter_class[] =
    "A-Za-z\xc2\xb5\xc3\x80-\xc3\x96\xc3\x98-\xc3\xb6\xc3\xb8-\xc6\xba\xc6\xbc-\xc6\xbf"
    "\xc7\x84-\xca\x93\xca\x95-\xca\xaf\xcd\xb0-\xcd\xb3\xcd\xb6\xcd\xb7\xcd\xbb-\xcd\xbd"
    "\xcd\xbf\xce\x86\xce\x88-\xce\x8a\xce\x8c\xce\x8e-\xce\xa1\xce\xa3-\xcf\xb5\xcf\xb7-"
    "\xd2\x81\xd2\x8a-\xd4\xaf\xd4\xb1-\xd5\x96\xe1\x82\xa0-\xe1\x83\x85\xe1\x8e\xa0-"
    "\xe1\x8f\xb5\xe1\x8f\xb8-\xe1\x8f\xbd\xe1\xb2\x90-\xe1\xb2\xba\xe1\xb2\xbd-\xe1\xb2\xbf"
    "\xe1\xb4\x80-\xe1\xb4\xab\xe1\xb5\xab-\xe1\xb5\xb7\xe1\xb5\xb9-\xe1\xb6\x9a\xe1\xb8\x80-"
    "\xe1\xbc\x95\xe1\xbc\x98-\xe1\xbc\x9d\xe1\xbc\xa0-\xe1\xbd\x85\xe1\xbd\x88-\xe1\xbd\x8d"
    "\xe1\xbd\x90-\xe1\xbd\x97\xe1\xbd\x99\xe1\xbd\x9b\xe1\xbd\x9d\xe1\xbd\x9f-\xe1\xbd\xbd"
    "\xe1\xbe\x80-\xe1\xbe\xb4\xe1\xbe\xb6-\xe1\xbe\xbc\xe1\xbe\xbe\xe1\xbf\x82-\xe1\xbf\x84"
    "\xe1\xbf\x86-\xe1\xbf\x8c\xe1\xbf\x90-\xe1\xbf\x93\xe1\xbf\x96-\xe1\xbf\x9b\xe1\xbf\xa0-"
    "\xe1\xbf\xac\xe1\xbf\xb2-\xe1\xbf\xb4\xe1\xbf\xb6-\xe1\xbf\xbc\xe2\x84\x82\xe2\x84\x87"
    "\xe2\x84\x8a-\xe2\x84\x93\xe2\x84\x95\xe2\x84\x99-\xe2\x84\x9d\xe2\x84\xa4\xe2\x84\xa6"
    "\xe2\x84\xa8\xe2\x84\xaa-\xe2\x84\xad\xe2\x84\xaf-\xe2\x84\xb4\xe2\x84\xb9\xe2\x84\xbc-"
    "\xe2\x84\xbf\xe2\x85\x85-\xe2\x85\x89\xe2\x85\x8e\xe2\x86\x83\xe2\x86\x84\xe2\xb0\x80-"
    "\xe2\xb1\xbb\xe2\xb1\xbe-\xe2\xb3\xa4\xe2\xb3\xab-\xe2\xb3\xae\xe2\xb3\xb2\xe2\xb3\xb3"
    "\xea\x99\x80-\xea\x99\xad\xea\x9a\x80-\xea\x9a\x9b\xea\x9c\xa2-\xea\x9d\xaf\xea\x9d\xb1-"
    "\xea\x9e\x87\xea\x9e\x8b-\xea\x9e\x8e\xea\xad\xb0-\xea\xae\xbf\xef\xac\x80-\xef\xac\x86"
    "\xef\xac\x93-\xef\xac\x97\xef\xbc\xa1-\xef\xbc\xba\xef\xbd\x81-\xef\xbd\x9a"
    "\xf0\x90\x90\x80-\xf0\x90\x91\x8f\xf0\x90\x92\xb0-\xf0\x90\x93\x93\xf0\x90\x93\x98-"
    "\xf0\x90\x93\xbb\xf0\x90\xb2\x80-\xf0\x90\xb2\xb2\xf0\x90\xb3\x80-\xf0\x90\xb3\xb2"
    "\xf0\x91\xa2\xa0-\xf0\x91\xa3\x9f\xf0\x9e\xa4\x80-\xf0\x9e\xa5\x83";

static bool ds_letter(const models_tokenizer_t *t, uint32_t c)
{
    for (size_t i = 0; i < t->n_ds_letters; i++)
        if (c >= t->ds_letters[i][0] && c <= t->ds_letters[i][1])
            return true;
    return false;
}
static size_t m_ds_letters(const txt_t *x, size_t i, size_t e)
{
    size_t j = i;
    if (ascii_ws(x->cp[j]) && j + 1 < e && ds_letter(x->t, x->cp[j + 1]))
        j++;
    size_t k = j;
    while (k < e && ds_letter(x->t, x->cp[k]))
        k++;
    return k > j ? k - i : 0;
}
/* \s?[!-/:-~！-／：-～‘-‟　-。]+ */
static bool ds_punct(uint32_t c)
{
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x7E) || (c >= 0xFF01 && c <= 0xFF0F) ||
           (c >= 0xFF1A && c <= 0xFF5E) || (c >= 0x2018 && c <= 0x201F) ||
           (c >= 0x3000 && c <= 0x3002);
}
static size_t m_ds_punct(const txt_t *x, size_t i, size_t e)
{
    size_t j = i;
    if (ascii_ws(x->cp[j]) && j + 1 < e && ds_punct(x->cp[j + 1]))
        j++;
    size_t k = j;
    while (k < e && ds_punct(x->cp[k]))
        k++;
    return k > j ? k - i : 0;
}
/* \s+$ */
static size_t m_ws_end(const txt_t *x, size_t i, size_t e)
{
    size_t j = i;
    while (j < e && ascii_ws(x->cp[j]))
        j++;
    return j > i && j == e ? e - i : 0;
}

/* ---- the stages of each pre-tokenizer ----------------------------------------------- */
enum { ST_GPT2 = 1, ST_LLAMA3, ST_QWEN2 };
typedef struct {
    int custom;     /* ST_*, or 0: split_matches(m) */
    match_fn m;
} stage_t;

static size_t stages_of(tok_pre_t pre, stage_t st[6])
{
    switch (pre) {
    case TOK_PRE_LLAMA3:
        st[0] = (stage_t){ST_LLAMA3, NULL};
        return 1;
    case TOK_PRE_QWEN2:
        st[0] = (stage_t){ST_QWEN2, NULL};
        return 1;
    case TOK_PRE_DEEPSEEK_LLM:
        st[0] = (stage_t){0, m_crlf};
        st[1] = (stage_t){0, m_ds_letters};
        st[2] = (stage_t){0, m_ds_punct};
        st[3] = (stage_t){0, m_ws_end};
        st[4] = (stage_t){0, m_cjk};
        st[5] = (stage_t){0, m_digits};
        return 6;
    case TOK_PRE_DEEPSEEK_CODER:
        st[0] = (stage_t){0, m_crlf};
        st[1] = (stage_t){0, m_ws_letters};
        st[2] = (stage_t){0, m_ws_punct};
        st[3] = (stage_t){0, m_cjk};
        st[4] = (stage_t){0, m_digit};
        return 5;
    case TOK_PRE_FALCON:
        st[0] = (stage_t){0, m_punct_falcon};
        st[1] = (stage_t){ST_GPT2, NULL};
        st[2] = (stage_t){0, m_3digits};
        return 3;
    case TOK_PRE_STARCODER:
        st[0] = (stage_t){0, m_digit};
        st[1] = (stage_t){ST_GPT2, NULL};
        return 2;
    case TOK_PRE_GPT2:
        st[0] = (stage_t){ST_GPT2, NULL};
        return 1;
    case TOK_PRE_DEFAULT:
    default:
        st[0] = (stage_t){0, m_punct_default};
        st[1] = (stage_t){ST_GPT2, NULL};
        st[2] = (stage_t){0, m_digits};
        st[3] = (stage_t){0, m_3digits};
        return 4;
    }
}

/* scratch of one encode call (allocated once per call, not per piece) */
typedef struct {
    uint32_t *cp;
    uint16_t *fl;
    size_t *pos;
    cuts_t a, b;
    char *word;
    size_t word_cap;
    struct bsym { int32_t prev, next; uint32_t off, n; } *sym;
    size_t sym_cap;
    struct bbig { int32_t left, right, rank; uint32_t size; } *heap;
    size_t heap_n, heap_cap;
} scratch_t;

static void scratch_free(scratch_t *w)
{
    free(w->cp);
    free(w->fl);
    free(w->pos);
    free(w->a.v);
    free(w->b.v);
    free(w->word);
    free(w->sym);
    free(w->heap);
}

/* text -> code points + flags, then every stage; the pieces' ends land in w->a */
static int pretokenize(const models_tokenizer_t *t, const char *text, size_t len, scratch_t *w,
                       txt_t *x)
{
    w->cp = malloc((len + 1) * sizeof *w->cp);
    w->fl = malloc((len + 1) * sizeof *w->fl);
    w->pos = malloc((len + 1) * sizeof *w->pos);
    if (!w->cp || !w->fl || !w->pos)
        return mb_err_set(MB_ENOMEM, "tokenizer: out of memory for %zu bytes of text", len);
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        size_t l = unicode_decode((const unsigned char *)text + i, len - i, &c);
        w->cp[n] = c;
        w->fl[n] = unicode_flags(c);
        w->pos[n++] = i;
        i += l;
    }
    w->pos[n] = len;
    *x = (txt_t){w->cp, w->fl, w->pos, n, t};
    w->a.n = 0;
    int rc;
    if (n && (rc = cut(&w->a, n)))
        return rc;
    stage_t st[6];
    size_t ns = stages_of(t->pre, st);
    for (size_t k = 0; k < ns; k++) {
        w->b.n = 0;
        size_t s = 0;
        for (size_t p = 0; p < w->a.n; p++) {
            size_t e = w->a.v[p];
            switch (st[k].custom) {
            case ST_GPT2: rc = split_gpt2(x, s, e, &w->b); break;
            case ST_LLAMA3: rc = split_llama3(x, s, e, &w->b, 3); break;
            case ST_QWEN2: rc = split_llama3(x, s, e, &w->b, 1); break;
            default: rc = split_matches(x, s, e, &w->b, st[k].m); break;
            }
            if (rc)
                return rc;
            s = e;
        }
        cuts_t tmp = w->a;
        w->a = w->b;
        w->b = tmp;
    }
    return MB_OK;
}

/* ---- merges ---------------------------------------------------------------------- */
static bool big_before(const struct bbig *a, const struct bbig *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static int big_push(scratch_t *w, struct bbig x)
{
    if (w->heap_n == w->heap_cap) {
        size_t nc = w->heap_cap ? w->heap_cap * 2 : 64;
        struct bbig *v = realloc(w->heap, nc * sizeof *v);
        if (!v)
            return mb_err_set(MB_ENOMEM, "tokenizer: out of memory");
        w->heap = v;
        w->heap_cap = nc;
    }
    size_t i = w->heap_n++;
    while (i) {
        size_t p = (i - 1) / 2;
        if (!big_before(&x, &w->heap[p]))
            break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = x;
    return MB_OK;
}

static struct bbig big_pop(scratch_t *w)
{
    struct bbig top = w->heap[0], x = w->heap[--w->heap_n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= w->heap_n)
            break;
        if (c + 1 < w->heap_n && big_before(&w->heap[c + 1], &w->heap[c]))
            c++;
        if (!big_before(&w->heap[c], &x))
            break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (w->heap_n)
        w->heap[i] = x;
    return top;
}

static int add_bigram(const models_tokenizer_t *t, scratch_t *w, int32_t l, int32_t r)
{
    if (l < 0 || r < 0)
        return MB_OK;
    const struct bsym *a = &w->sym[l], *b = &w->sym[r];
    int32_t rank = tok_merge_rank(t, w->word + a->off, a->n, w->word + b->off, b->n);
    if (rank < 0)
        return MB_OK;
    return big_push(w, (struct bbig){l, r, rank, a->n + b->n});
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return MB_OK;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, nc * elem);
    if (!q)
        return mb_err_set(MB_ENOMEM, "tokenizer: out of memory");
    *p = q;
    *cap = nc;
    return MB_OK;
}

/* one piece (bytes) -> ids */
static int bpe_word(const models_tokenizer_t *t, scratch_t *w, const char *bytes, size_t n,
                    tok_ids_t *out)
{
    int rc;
    if ((rc = grow((void **)&w->word, &w->word_cap, 2 * n, 1)))
        return rc;
    size_t wl = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)bytes[i];
        memcpy(w->word + wl, t->byte_enc[b], t->byte_enc_len[b]);
        wl += t->byte_enc_len[b];
    }
    if (t->ignore_merges) {
        int32_t id = tok_find(t, w->word, wl);
        if (id >= 0)
            return tok_ids_push(out, id);
    }
    if ((rc = grow((void **)&w->sym, &w->sym_cap, wl, sizeof *w->sym)))
        return rc;
    int32_t ns = 0;
    for (size_t off = 0; off < wl;) {
        size_t l = MB_MIN(unicode_len_utf8((unsigned char)w->word[off]), wl - off);
        w->sym[ns] = (struct bsym){ns - 1, off + l == wl ? -1 : ns + 1, (uint32_t)off, (uint32_t)l};
        ns++;
        off += l;
    }
    w->heap_n = 0;
    for (int32_t i = 1; i < ns; i++)
        if ((rc = add_bigram(t, w, i - 1, i)))
            return rc;
    while (w->heap_n) {
        struct bbig g = big_pop(w);
        struct bsym *l = &w->sym[g.left], *r = &w->sym[g.right];
        if (!l->n || !r->n || l->n + r->n != g.size)
            continue; /* outdated */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            w->sym[r->next].prev = g.left;
        if ((rc = add_bigram(t, w, l->prev, g.left)) || (rc = add_bigram(t, w, g.left, l->next)))
            return rc;
    }
    for (int32_t i = ns ? 0 : -1; i >= 0; i = w->sym[i].next) {
        const struct bsym *sy = &w->sym[i];
        int32_t id = tok_find(t, w->word + sy->off, sy->n);
        if (id >= 0) {
            if ((rc = tok_ids_push(out, id)))
                return rc;
            continue;
        }
        /* no such token: each byte that is a token on its own (llama.cpp) */
        for (uint32_t j = 0; j < sy->n; j++)
            if ((id = tok_find(t, w->word + sy->off + j, 1)) >= 0 && (rc = tok_ids_push(out, id)))
                return rc;
    }
    return MB_OK;
}

int tok_bpe_encode(const models_tokenizer_t *t, const char *text, size_t len, tok_ids_t *out)
{
    scratch_t w = {0};
    txt_t x;
    int rc = pretokenize(t, text, len, &w, &x);
    size_t s = 0;
    for (size_t p = 0; !rc && p < w.a.n; p++) {
        size_t e = w.a.v[p];
        rc = bpe_word(t, &w, text + x.pos[s], x.pos[e] - x.pos[s], out);
        s = e;
    }
    scratch_free(&w);
    return rc;
}

int tok_bpe_pretokenize(const models_tokenizer_t *t, const char *text, size_t len,
                        size_t **bounds_out, size_t *n_out)
{
    *bounds_out = NULL;
    *n_out = 0;
    scratch_t w = {0};
    txt_t x;
    int rc = pretokenize(t, text, len, &w, &x);
    size_t *b = rc ? NULL : malloc((w.a.n + 1) * sizeof *b);
    if (!rc && !b)
        rc = mb_err_set(MB_ENOMEM, "tokenizer: out of memory");
    if (!rc) {
        b[0] = 0;
        for (size_t p = 0; p < w.a.n; p++)
            b[p + 1] = x.pos[w.a.v[p]];
        *bounds_out = b;
        *n_out = w.a.n;
    }
    scratch_free(&w);
    return rc;
}

/* ---- setup ------------------------------------------------------------------------ */
int tok_bpe_init(models_tokenizer_t *t)
{
    /* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
     * the others get 256, 257, ... in byte order */
    int extra = 0;
    for (int i = 0; i < 324; i++)
        t->byte_dec[i] = -1;
    for (int b = 0; b < 256; b++) {
        bool keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        uint32_t cp = keep ? (uint32_t)b : (uint32_t)(256 + extra++);
        char u[4];
        t->byte_enc_len[b] = (uint8_t)unicode_encode(cp, u);
        memcpy(t->byte_enc[b], u, t->byte_enc_len[b]);
        t->byte_dec[cp] = (int16_t)b;
    }
    if (t->pre == TOK_PRE_DEEPSEEK_LLM && !t->ds_letters) {
        size_t n = sizeof ds_letter_class - 1, k = 0;
        uint32_t cps[512];
        for (size_t i = 0; i < n && k < MB_ARRAY_LEN(cps);)
            i += unicode_decode((const unsigned char *)ds_letter_class + i, n - i, &cps[k++]);
        t->ds_letters = malloc(k * sizeof *t->ds_letters);
        if (!t->ds_letters)
            return mb_err_set(MB_ENOMEM, "tokenizer: out of memory");
        size_t m = 0;
        for (size_t i = 0; i < k; i++) {
            if (i + 2 < k && cps[i + 1] == '-') {
                t->ds_letters[m][0] = cps[i];
                t->ds_letters[m++][1] = cps[i + 2];
                i += 2;
            } else {
                t->ds_letters[m][0] = t->ds_letters[m][1] = cps[i];
                m++;
            }
        }
        t->n_ds_letters = m;
    }
    return MB_OK;
}

int tok_bpe_pre_only(const char *pre_name, models_tokenizer_t **out)
{
    *out = NULL;
    models_tokenizer_t *t = calloc(1, sizeof *t);
    if (!t)
        return mb_err_set(MB_ENOMEM, "tokenizer: out of memory");
    static const struct { const char *name; tok_pre_t pre; } names[] = {
        {"default", TOK_PRE_DEFAULT}, {"llama-bpe", TOK_PRE_LLAMA3}, {"qwen2", TOK_PRE_QWEN2},
        {"deepseek-llm", TOK_PRE_DEEPSEEK_LLM}, {"deepseek-coder", TOK_PRE_DEEPSEEK_CODER},
        {"falcon", TOK_PRE_FALCON}, {"starcoder", TOK_PRE_STARCODER}, {"gpt-2", TOK_PRE_GPT2},
    };
    bool found = false;
    for (size_t i = 0; i < MB_ARRAY_LEN(names); i++)
        if (!strcmp(pre_name, names[i].name)) {
            t->pre = names[i].pre;
            found = true;
        }
    if (!found) {
        free(t);
        return mb_err_set(MB_EUNSUPPORTED, "tokenizer: unknown pre-tokenizer '%s'", pre_name);
    }
    t->type = TOK_BPE;
    t->bos = t->eos = t->unk = -1;
    snprintf(t->kind, sizeof t->kind, "gpt2/%s", pre_name);
    int rc = tok_bpe_init(t);
    if (rc) {
        models_tokenizer_destroy(t);
        return rc;
    }
    *out = t;
    return MB_OK;
}
