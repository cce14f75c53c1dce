/* tokenizer_spm.c: SentencePiece-style tokenization as llama.cpp's
 * llm_tokenizer_spm does it: spaces become U+2581, the text is split into
 * UTF-8 characters, then the adjacent pair whose concatenation is the
 * highest-scoring token is merged, again and again (ties: leftmost first);
 * what is left and is no token falls back to byte tokens <0xNN>. */
#include "tokenizer_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int32_t prev, next;
    uint32_t off; /* into the escaped text */
    uint32_t n;   /* bytes; 0 once merged into its left neighbour */
} sym_t;

typedef struct {
    int32_t left, right;
    float score;
    uint32_t size;
} bigram_t;

/* heap order: higher score first, then smaller left */
static bool before(const bigram_t *a, const bigram_t *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

typedef struct {
    bigram_t *v;
    size_t n, cap;
} heap_t;

static int heap_push(heap_t *h, bigram_t x)
{
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 64;
        bigram_t *v = realloc(h->v, nc * sizeof *v);
        if (!v)
            return mb_err_set(MB_ENOMEM, "tokenizer: out of memory");
        h->v = v;
        h->cap = nc;
    }
    size_t i = h->n++;
    while (i) {
        size_t p = (i - 1) / 2;
        if (!before(&x, &h->v[p]))
            break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = x;
    return MB_OK;
}

static bigram_t heap_pop(heap_t *h)
{
    bigram_t top = h->v[0], x = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!before(&h->v[c], &x))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = x;
    return top;
}

static int try_bigram(const models_tokenizer_t *t, const char *s, const sym_t *sy, int32_t l,
                      int32_t r, heap_t *h)
{
    if (l < 0 || r < 0)
        return MB_OK;
    uint32_t size = sy[l].n + sy[r].n;
    int32_t id = tok_find(t, s + sy[l].off, size);
    if (id < 0)
        return MB_OK;
    return heap_push(h, (bigram_t){l, r, t->tokens[id].score, size});
}

/* Merges and emits s[a..b): one stretch of the escaped text. */
static int spm_segment(const models_tokenizer_t *t, const char *s, size_t a, size_t b, sym_t *sy,
                       heap_t *h, tok_ids_t *out)
{
    int rc;
    int32_t ns = 0;
    for (size_t off = a; off < b;) {
        /* a valid character, or one bad byte (llama.cpp takes the length
         * its lead byte announces; the same on valid UTF-8) */
        uint32_t cp;
        size_t l = unicode_decode((const unsigned char *)s + off, b - off, &cp);
        sy[ns] = (sym_t){ns - 1, off + l == b ? -1 : ns + 1, (uint32_t)off, (uint32_t)l};
        ns++;
        off += l;
    }
    h->n = 0;
    for (int32_t i = 1; i < ns; i++)
        if ((rc = try_bigram(t, s, sy, i - 1, i, h)))
            return rc;
    while (h->n) {
        bigram_t g = heap_pop(h);
        sym_t *l = &sy[g.left], *r = &sy[g.right];
        if (!l->n || !r->n || l->n + r->n != g.size)
            continue; /* outdated: one side has merged since */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            sy[r->next].prev = g.left;
        if ((rc = try_bigram(t, s, sy, l->prev, g.left, h)) ||
            (rc = try_bigram(t, s, sy, g.left, l->next, h)))
            return rc;
    }
    for (int32_t i = ns ? 0 : -1; i >= 0; i = sy[i].next) {
        /* every merged symbol is a token; a lone character may not be */
        int32_t id = tok_find(t, s + sy[i].off, sy[i].n);
        if (id >= 0) {
            if ((rc = tok_ids_push(out, id)))
                return rc;
            continue;
        }
        for (uint32_t j = 0; j < sy[i].n; j++) {
            unsigned char c = (unsigned char)s[sy[i].off + j];
            int32_t bt = t->byte_tok[c] >= 0 ? t->byte_tok[c] : t->unk;
            if (bt < 0)
                return mb_err_set(MB_EFORMAT, "tokenizer: byte 0x%02X has no token (no <0x%02X> "
                                  "and no unknown token in the vocabulary)", c, c);
            if ((rc = tok_ids_push(out, bt)))
                return rc;
        }
    }
    return MB_OK;
}

int tok_spm_encode(const models_tokenizer_t *t, const char *text, size_t len, bool space_prefix,
                   tok_ids_t *out)
{
    size_t n_sp = space_prefix;
    for (size_t i = 0; i < len; i++)
        n_sp += text[i] == ' ';
    size_t elen = len + (space_prefix ? 1 : 0) + 2 * n_sp;
    if (elen > UINT32_MAX / 2)
        return mb_err_set(MB_ERANGE, "tokenizer: a text fragment of %zu bytes is over 2 GiB",
                          len);
    char *s = malloc(elen ? elen : 1);
    sym_t *sy = malloc((elen ? elen : 1) * sizeof *sy);
    heap_t h = {0};
    int rc = MB_OK;
    if (!s || !sy) {
        rc = mb_err_set(MB_ENOMEM, "tokenizer: out of memory for %zu bytes of text", len);
        goto out;
    }
    size_t p = 0;
    if (space_prefix) {
        memcpy(s, "\xe2\x96\x81", 3);
        p = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(s + p, "\xe2\x96\x81", 3);
            p += 3;
        } else {
            s[p++] = text[i];
        }
    }
    /* An ASCII byte that no token contains can never be merged with a
     * neighbour: the text splits there into stretches that merge alone
     * (the same result, and small heaps instead of one for the whole text). */
    size_t a0 = 0;
    for (size_t i = 0; i < p; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80 && t->spm_boundary[c]) {
            if ((rc = spm_segment(t, s, a0, i, sy, &h, out)) ||
                (rc = spm_segment(t, s, i, i + 1, sy, &h, out)))
                goto out;
            a0 = i + 1;
        }
    }
    rc = spm_segment(t, s, a0, p, sy, &h, out);
out:
    free(s);
    free(sy);
    free(h.v);
    return rc;
}
