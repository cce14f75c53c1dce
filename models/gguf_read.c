/*
 * gguf_read.c: GGUF reader (versions 2 and 3). The file is mapped read-only
 * and its header parsed into a small index: metadata nodes that point into
 * the mapping, and tensor records. Every count and length is checked against
 * the bytes that remain before anything is allocated, so a hostile header
 * cannot ask for gigabytes; every tensor info is checked before data is read.
 *
 * Layout (little-endian):
 *   "GGUF" u32 version  u64 n_tensors  u64 n_kv
 *   n_kv x     { str key, u32 vtype, value }
 *   n_tensors x{ str name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset }
 *   padding to alignment, then the data section (offsets relative to it).
 *   str = u64 length + bytes; array = u32 elem type + u64 n + elements.
 */
#include "models.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf_int.h"


/* Appends " (context)" to the current message (mb_err_msg() is the target
 * buffer of mb_err_set, so it is copied first). */
static int err_ctx(int rc, const char *fmt, ...) MB_PRINTF(2, 3);
static int err_ctx(int rc, const char *fmt, ...)
{
    char prev[1024], ctx[512];
    snprintf(prev, sizeof prev, "%s", mb_err_msg());
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    return mb_err_set(rc, "%s (%s)", prev, ctx);
}

/* ---- cursor --------------------------------------------------------------- */
typedef struct {
    const uint8_t *base;
    size_t size, pos;
    const char *name;
} cur_t;

static size_t cur_left(const cur_t *c) { return c->size - c->pos; }

static int cur_need(cur_t *c, size_t n, const char *what)
{
    if (cur_left(c) < n)
        return mb_err_set(MB_EFORMAT,
                          "%s: truncated at offset %zu: %s needs %zu bytes, %zu remain "
                          "(the file is cut short; download or write it again)",
                          c->name, c->pos, what, n, cur_left(c));
    return MB_OK;
}

static uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t gguf_rd_u64(const uint8_t *p) { return (uint64_t)rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32; }

static int cur_u32(cur_t *c, uint32_t *v, const char *what)
{
    int rc = cur_need(c, 4, what);
    if (rc)
        return rc;
    *v = rd_u32(c->base + c->pos);
    c->pos += 4;
    return MB_OK;
}

static int cur_u64(cur_t *c, uint64_t *v, const char *what)
{
    int rc = cur_need(c, 8, what);
    if (rc)
        return rc;
    *v = gguf_rd_u64(c->base + c->pos);
    c->pos += 8;
    return MB_OK;
}

/* Offset of the first byte that breaks UTF-8 (overlong forms, surrogates
 * and code points past U+10FFFF included), or n if the bytes are valid. */
static size_t utf8_bad_at(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp, min;
        if ((b & 0xe0) == 0xc0)
            k = 1, cp = b & 0x1f, min = 0x80;
        else if ((b & 0xf0) == 0xe0)
            k = 2, cp = b & 0x0f, min = 0x800;
        else if ((b & 0xf8) == 0xf0)
            k = 3, cp = b & 0x07, min = 0x10000;
        else
            return i;
        if (n - i <= k)
            return i;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return i;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += k + 1;
    }
    return n;
}

/* A string: length checked against the remaining bytes, and UTF-8 as the
 * format requires (a name or value that is not text is never printed raw
 * by anything downstream). */
static int cur_str(cur_t *c, const uint8_t **p, uint64_t *len, const char *what)
{
    size_t at = c->pos;
    int rc = cur_u64(c, len, what);
    if (rc)
        return rc;
    if (*len > cur_left(c))
        return mb_err_set(MB_EFORMAT,
                          "%s: %s at offset %zu has length %llu but only %zu bytes remain in "
                          "the file (corrupt or truncated file)",
                          c->name, what, at, (unsigned long long)*len, cur_left(c));
    size_t bad = utf8_bad_at(c->base + c->pos, (size_t)*len);
    if (bad < *len)
        return mb_err_set(MB_EFORMAT,
                          "%s: %s at offset %zu is not valid UTF-8 (byte 0x%02x at offset %zu); "
                          "GGUF strings are UTF-8: re-convert the model",
                          c->name, what, at, c->base[c->pos + bad], c->pos + bad);
    *p = c->base + c->pos;
    c->pos += (size_t)*len;
    return MB_OK;
}

/* ---- value types ---------------------------------------------------------- */
size_t models_gguf_vtype_size(models_gguf_vtype_t t)
{
    switch (t) {
    case MODELS_GGUF_U8: case MODELS_GGUF_I8: case MODELS_GGUF_BOOL: return 1;
    case MODELS_GGUF_U16: case MODELS_GGUF_I16: return 2;
    case MODELS_GGUF_U32: case MODELS_GGUF_I32: case MODELS_GGUF_F32: return 4;
    case MODELS_GGUF_U64: case MODELS_GGUF_I64: case MODELS_GGUF_F64: return 8;
    default: return 0;
    }
}

const char *models_gguf_vtype_name(models_gguf_vtype_t t)
{
    static const char *names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                  "bool", "str", "arr", "u64", "i64", "f64"};
    return (unsigned)t < MB_ARRAY_LEN(names) ? names[t] : "?";
}

const char *models_gguf_ggml_type_name(uint32_t id)
{
    /* ggml's type ids; gaps are ids ggml removed. */
    static const char *names[] = {
        "F32", "F16", "Q4_0", "Q4_1", NULL, NULL, "Q5_0", "Q5_1", "Q8_0", "Q8_1",
        "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",
        "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M",
        "BF16", NULL, NULL, NULL, "TQ1_0", "TQ2_0", NULL, NULL, NULL, "MXFP4"};
    return id < MB_ARRAY_LEN(names) ? names[id] : NULL;
}

/* Block size and bytes per block of ggml types the engine does not run, so
 * their files can still be inspected (MODELS_GGUF_OPEN_ANY_TYPE). */
static bool ggml_layout(uint32_t id, int64_t *block, size_t *bytes)
{
    static const struct { uint32_t id; int64_t block; size_t bytes; } t[] = {
        {15, 256, 292}, /* Q8_K */   {16, 256, 66},  /* IQ2_XXS */ {17, 256, 74},  /* IQ2_XS */
        {18, 256, 98},  /* IQ3_XXS */ {19, 256, 50}, /* IQ1_S */   {21, 256, 110}, /* IQ3_S */
        {22, 256, 82},  /* IQ2_S */  {23, 256, 136}, /* IQ4_XS */  {24, 1, 1},     /* I8 */
        {25, 1, 2},     /* I16 */    {26, 1, 4},     /* I32 */     {27, 1, 8},     /* I64 */
        {28, 1, 8},     /* F64 */    {29, 256, 56},  /* IQ1_M */   {34, 256, 54},  /* TQ1_0 */
        {35, 256, 66},  /* TQ2_0 */  {39, 32, 17},   /* MXFP4 */
    };
    for (size_t i = 0; i < MB_ARRAY_LEN(t); i++)
        if (t[i].id == id) {
            *block = t[i].block;
            *bytes = t[i].bytes;
            return true;
        }
    return false;
}

/* Decodes one fixed-size element at p into v. */
void gguf_decode_scalar(uint32_t type, const uint8_t *p, models_gguf_value_t *v)
{
    memset(v, 0, sizeof *v);
    v->type = (models_gguf_vtype_t)type;
    switch (type) {
    case MODELS_GGUF_U8: v->v.u64 = p[0]; break;
    case MODELS_GGUF_I8: v->v.i64 = (int8_t)p[0]; break;
    case MODELS_GGUF_U16: v->v.u64 = (uint16_t)(p[0] | p[1] << 8); break;
    case MODELS_GGUF_I16: v->v.i64 = (int16_t)(uint16_t)(p[0] | p[1] << 8); break;
    case MODELS_GGUF_U32: v->v.u64 = rd_u32(p); break;
    case MODELS_GGUF_I32: v->v.i64 = (int32_t)rd_u32(p); break;
    case MODELS_GGUF_F32: {
        uint32_t u = rd_u32(p);
        memcpy(&v->v.f32, &u, 4);
        break;
    }
    case MODELS_GGUF_BOOL: v->v.b = p[0] != 0; break;
    case MODELS_GGUF_U64: v->v.u64 = gguf_rd_u64(p); break;
    case MODELS_GGUF_I64: v->v.i64 = (int64_t)gguf_rd_u64(p); break;
    case MODELS_GGUF_F64: {
        uint64_t u = gguf_rd_u64(p);
        memcpy(&v->v.f64, &u, 8);
        break;
    }
    default: break;
    }
}

static void node_free(gguf_node_t *n)
{
    if (n->items) {
        for (uint64_t i = 0; i < n->n; i++)
            node_free(&n->items[i]);
        free(n->items);
    }
    free(n->cstr);
    free(n->offs);
    n->offs = NULL;
    n->items = NULL;
    n->cstr = NULL;
}

/* Parses one value of type at the cursor into n. key names it in messages. */
static int parse_value(cur_t *c, uint32_t type, gguf_node_t *n, const char *key, int depth)
{
    memset(n, 0, sizeof *n);
    n->type = type;
    size_t at = c->pos;
    if (type >= MODELS_GGUF_NTYPES)
        return mb_err_set(MB_EFORMAT,
                          "%s: key '%s': unknown value type %u at offset %zu (valid: 0..12)",
                          c->name, key, type, at);
    size_t esz = models_gguf_vtype_size((models_gguf_vtype_t)type);
    if (esz) {
        int rc = cur_need(c, esz, "a metadata value");
        if (rc)
            return rc;
        n->p = c->base + c->pos;
        if (type == MODELS_GGUF_BOOL && n->p[0] > 1)
            return mb_err_set(MB_EFORMAT, "%s: key '%s': bool value %u at offset %zu is not 0 or 1",
                              c->name, key, n->p[0], at);
        gguf_decode_scalar(type, n->p, &n->val);
        c->pos += esz;
        return MB_OK;
    }
    if (type == MODELS_GGUF_STR) {
        int rc = cur_str(c, &n->p, &n->n, "string value");
        if (rc)
            return err_ctx(rc, "key '%s'", key);
        n->val.type = MODELS_GGUF_STR;
        n->val.str = (const char *)n->p;
        n->val.str_len = (size_t)n->n;
        return MB_OK;
    }
    /* array */
    if (depth >= MODELS_GGUF_MAX_ARR_DEPTH)
        return mb_err_set(MB_EFORMAT, "%s: key '%s': arrays nested deeper than %d at offset %zu",
                          c->name, key, MODELS_GGUF_MAX_ARR_DEPTH, at);
    uint32_t et;
    uint64_t cnt;
    int rc = cur_u32(c, &et, "an array element type");
    if (!rc)
        rc = cur_u64(c, &cnt, "an array length");
    if (rc)
        return rc;
    if (et >= MODELS_GGUF_NTYPES)
        return mb_err_set(MB_EFORMAT,
                          "%s: key '%s': array at offset %zu has unknown element type %u "
                          "(valid: 0..12)",
                          c->name, key, at, et);
    n->elem_type = et;
    n->n = cnt;
    n->val.type = MODELS_GGUF_ARR;
    n->val.arr.type = (models_gguf_vtype_t)et;
    n->val.arr.n = cnt;
    n->val.arr.priv = n;
    esz = models_gguf_vtype_size((models_gguf_vtype_t)et);
    /* smallest encoding of one element: its size, 8 (string length), 12 (array head) */
    size_t min = esz ? esz : et == MODELS_GGUF_STR ? 8 : 12;
    if (cnt > cur_left(c) / min)
        return mb_err_set(MB_EFORMAT,
                          "%s: key '%s': array at offset %zu claims %llu elements of type %s, "
                          "more than the %zu remaining bytes can hold (corrupt file)",
                          c->name, key, at, (unsigned long long)cnt,
                          models_gguf_vtype_name((models_gguf_vtype_t)et), cur_left(c));
    if (esz) {
        n->p = c->base + c->pos;
        if (et == MODELS_GGUF_BOOL)
            for (uint64_t i = 0; i < cnt; i++)
                if (n->p[i] > 1)
                    return mb_err_set(MB_EFORMAT,
                                      "%s: key '%s': bool element %llu at offset %zu is not 0 or 1",
                                      c->name, key, (unsigned long long)i, c->pos + (size_t)i);
        c->pos += (size_t)cnt * esz;
        return MB_OK;
    }
    if (cnt == 0)
        return MB_OK;
    if (et == MODELS_GGUF_STR) {
        n->p = c->base;
        n->offs = malloc((size_t)cnt * sizeof *n->offs);
        if (!n->offs)
            return mb_err_set(MB_ENOMEM, "%s: out of memory for array '%s' (%llu strings)",
                              c->name, key, (unsigned long long)cnt);
        for (uint64_t i = 0; i < cnt; i++) {
            const uint8_t *sp;
            uint64_t slen;
            n->offs[i] = c->pos;
            if ((rc = cur_str(c, &sp, &slen, "string in an array")))
                return err_ctx(rc, "key '%s', element %llu", key, (unsigned long long)i);
        }
        return MB_OK;
    }
    n->items = calloc((size_t)cnt, sizeof *n->items);
    if (!n->items)
        return mb_err_set(MB_ENOMEM, "%s: out of memory for array '%s' (%llu elements)", c->name,
                          key, (unsigned long long)cnt);
    for (uint64_t i = 0; i < cnt; i++) {
        rc = parse_value(c, et, &n->items[i], key, depth + 1);
        if (rc) {
            /* free what was parsed; node_free walks all n items (rest are zeroed) */
            return rc;
        }
    }
    return MB_OK;
}

/* ---- open ----------------------------------------------------------------- */
/* qsort has no context argument in C11: the file being sorted, per thread. */
static _Thread_local const models_gguf_t *sort_ctx;

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(sort_ctx->kv[*(const int64_t *)a].key, sort_ctx->kv[*(const int64_t *)b].key);
}

static int cmp_tname(const void *a, const void *b)
{
    return strcmp(sort_ctx->tensors[*(const int64_t *)a].name,
                  sort_ctx->tensors[*(const int64_t *)b].name);
}

static int cmp_toff(const void *a, const void *b)
{
    uint64_t x = sort_ctx->tensors[*(const int64_t *)a].offset;
    uint64_t y = sort_ctx->tensors[*(const int64_t *)b].offset;
    return x < y ? -1 : x > y;
}

static void sort_idx(const models_gguf_t *g, int64_t *idx, int64_t n,
                     int (*cmp)(const void *, const void *))
{
    sort_ctx = g;
    qsort(idx, (size_t)n, sizeof *idx, cmp);
}

/* Magic, version and the two counts, each count checked against the bytes
 * left (a hostile count cannot make us allocate). */
static int parse_preamble(models_gguf_t *g, cur_t *c, uint64_t *nt, uint64_t *nkv)
{
    if (g->size < 4)
        return mb_err_set(MB_EFORMAT,
                          "%s: truncated header: %zu bytes, a GGUF file starts with the 4-byte "
                          "magic \"GGUF\" and a 24-byte header",
                          g->name, g->size);
    if (memcmp(g->base, "GGUF", 4)) {
        const uint8_t *m = g->base;
        const char *hint = "";
        if (!memcmp(m, "lmgg", 4) || !memcmp(m, "fmgg", 4) || !memcmp(m, "tjgg", 4))
            hint = " (this is a pre-GGUF GGML/GGJT file: convert the model again with a "
                   "current llama.cpp)";
        else if (!memcmp(m, "FUGG", 4))
            hint = " (byte-swapped magic: a big-endian GGUF, not supported)";
        return mb_err_set(MB_EFORMAT,
                          "%s: not a GGUF file: bad magic %02x %02x %02x %02x at offset 0, "
                          "expected \"GGUF\" (47 47 55 46)%s",
                          g->name, m[0], m[1], m[2], m[3], hint);
    }
    c->pos = 4;
    int rc = cur_u32(c, &g->version, "the version");
    if (rc)
        return mb_err_set(MB_EFORMAT, "%s: truncated header: the file ends at %zu bytes, inside "
                                      "the 24-byte GGUF header",
                          g->name, g->size);
    if (g->version == 1)
        return mb_err_set(MB_EVERSION,
                          "%s: GGUF version 1 (the 2023 draft with 32-bit counts) is not "
                          "supported; re-convert the model with a current llama.cpp "
                          "(convert_hf_to_gguf.py) to get version 3",
                          g->name);
    if (g->version == 0 || (g->version & 0xffff) == 0)
        return mb_err_set(g->version ? MB_EUNSUPPORTED : MB_EFORMAT,
                          "%s: GGUF version field is 0x%08x at offset 4%s", g->name, g->version,
                          g->version ? ": a big-endian GGUF file, not supported" : ": corrupt header");
    if (g->version > 3)
        return mb_err_set(MB_EVERSION,
                          "%s: GGUF version %u is newer than this mobench understands (2 and 3); "
                          "update mobench",
                          g->name, g->version);
    if (cur_u64(c, nt, "the tensor count") || cur_u64(c, nkv, "the metadata count"))
        return mb_err_set(MB_EFORMAT, "%s: truncated header: the file ends at %zu bytes, inside "
                                      "the 24-byte GGUF header",
                          g->name, g->size);
    /* each kv takes at least 13 bytes (key length, type, u8), each tensor info 24 */
    if (*nkv > cur_left(c) / 13)
        return mb_err_set(MB_EFORMAT,
                          "%s: header at offset 16 claims %llu metadata entries, more than the "
                          "%zu remaining bytes can hold (corrupt file)",
                          g->name, (unsigned long long)*nkv, cur_left(c));
    if (*nt > cur_left(c) / 24)
        return mb_err_set(MB_EFORMAT,
                          "%s: header at offset 8 claims %llu tensors, more than the %zu "
                          "remaining bytes can hold (corrupt file)",
                          g->name, (unsigned long long)*nt, cur_left(c));

    return MB_OK;
}

/* The nkv metadata entries: keys copied, values indexed in the mapping;
 * then sorted by key, and a duplicate key refused. */
static int parse_metadata(models_gguf_t *g, cur_t *c, uint64_t nkv)
{
    int rc;
    g->kv = calloc(nkv ? (size_t)nkv : 1, sizeof *g->kv);
    g->kv_sorted = calloc(nkv ? (size_t)nkv : 1, sizeof *g->kv_sorted);
    if (!g->kv || !g->kv_sorted)
        return mb_err_set(MB_ENOMEM, "%s: out of memory for %llu metadata entries", g->name,
                          (unsigned long long)nkv);
    for (uint64_t i = 0; i < nkv; i++) {
        gguf_kv_t *kv = &g->kv[i];
        kv->offset = c->pos;
        const uint8_t *kp;
        uint64_t klen;
        if ((rc = cur_str(c, &kp, &klen, "metadata key")))
            return err_ctx(rc, "metadata entry %llu", (unsigned long long)i);
        kv->key = malloc((size_t)klen + 1);
        if (!kv->key)
            return mb_err_set(MB_ENOMEM, "%s: out of memory", g->name);
        memcpy(kv->key, kp, (size_t)klen);
        kv->key[klen] = '\0';
        g->n_kv = (int64_t)i + 1;
        if (klen == 0 || memchr(kp, '\0', (size_t)klen))
            return mb_err_set(MB_EFORMAT, "%s: metadata key %llu at offset %llu is %s", g->name,
                              (unsigned long long)i, (unsigned long long)kv->offset,
                              klen ? "not text (contains a NUL byte)" : "empty");
        uint32_t type;
        if ((rc = cur_u32(c, &type, "a metadata value type")))
            return err_ctx(rc, "key '%s'", kv->key);
        if ((rc = parse_value(c, type, &kv->node, kv->key, 0)))
            return rc;
        if (type == MODELS_GGUF_STR) {
            kv->node.cstr = malloc((size_t)kv->node.n + 1);
            if (!kv->node.cstr)
                return mb_err_set(MB_ENOMEM, "%s: out of memory", g->name);
            memcpy(kv->node.cstr, kv->node.p, (size_t)kv->node.n);
            kv->node.cstr[kv->node.n] = '\0';
            kv->node.val.str = kv->node.cstr;
        }
        if (type == MODELS_GGUF_ARR)
            kv->node.val.arr.priv = &kv->node;
        g->kv_sorted[i] = (int64_t)i;
    }
    sort_idx(g, g->kv_sorted, g->n_kv, cmp_kv);
    for (int64_t i = 1; i < g->n_kv; i++)
        if (!strcmp(g->kv[g->kv_sorted[i]].key, g->kv[g->kv_sorted[i - 1]].key))
            return mb_err_set(MB_EFORMAT, "%s: duplicate metadata key '%s' (at offsets %llu and %llu)",
                              g->name, g->kv[g->kv_sorted[i]].key,
                              (unsigned long long)g->kv[g->kv_sorted[i - 1]].offset,
                              (unsigned long long)g->kv[g->kv_sorted[i]].offset);

    return MB_OK;
}

/* general.alignment: a u32 power of two up to 64 KiB, else the default. */
static int parse_alignment(models_gguf_t *g)
{
    g->alignment = MODELS_GGUF_DEFAULT_ALIGNMENT;
    int64_t ai = models_gguf_find_key(g, "general.alignment");
    if (ai >= 0) {
        const gguf_kv_t *kv = &g->kv[ai];
        if (kv->node.type != MODELS_GGUF_U32)
            return mb_err_set(MB_EFORMAT, "%s: key 'general.alignment' at offset %llu has type %s, "
                                          "expected u32",
                              g->name, (unsigned long long)kv->offset,
                              models_gguf_vtype_name((models_gguf_vtype_t)kv->node.type));
        uint64_t a = kv->node.val.v.u64;
        if (a == 0 || (a & (a - 1)) || a > MODELS_GGUF_MAX_ALIGNMENT)
            return mb_err_set(MB_EFORMAT, "%s: key 'general.alignment' at offset %llu is %llu, "
                                          "not a power of two up to 65536",
                              g->name, (unsigned long long)kv->offset, (unsigned long long)a);
        g->alignment = (uint32_t)a;
    }

    return MB_OK;
}

/* The nt tensor infos, read as they are (validated by check_tensor_data). */
static int parse_tensor_infos(models_gguf_t *g, cur_t *c, uint64_t nt)
{
    int rc;
    g->tensors = calloc(nt ? (size_t)nt : 1, sizeof *g->tensors);
    g->t_sorted = calloc(nt ? (size_t)nt : 1, sizeof *g->t_sorted);
    if (!g->tensors || !g->t_sorted)
        return mb_err_set(MB_ENOMEM, "%s: out of memory for %llu tensors", g->name,
                          (unsigned long long)nt);
    uint32_t *raw_type = calloc(nt ? (size_t)nt : 1, sizeof *raw_type);
    if (!raw_type)
        return mb_err_set(MB_ENOMEM, "%s: out of memory for %llu tensors", g->name,
                          (unsigned long long)nt);
    for (uint64_t i = 0; i < nt; i++) {
        models_gguf_tensor_t *t = &g->tensors[i];
        t->info_offset = c->pos;
        const uint8_t *np;
        uint64_t nlen;
        if ((rc = cur_str(c, &np, &nlen, "tensor name")))
            goto tinfo_err;
        char *name = malloc((size_t)nlen + 1);
        if (!name) {
            rc = mb_err_set(MB_ENOMEM, "%s: out of memory", g->name);
            goto tinfo_err;
        }
        memcpy(name, np, (size_t)nlen);
        name[nlen] = '\0';
        t->name = name;
        g->n_tensors = (int64_t)i + 1;
        if (nlen == 0 || nlen > MODELS_GGUF_MAX_NAME || memchr(name, '\0', (size_t)nlen)) {
            rc = mb_err_set(MB_EFORMAT,
                            "%s: tensor %llu (info at offset %llu): name of %llu bytes is %s (must be "
                            "1..%d bytes without NUL)",
                            g->name, (unsigned long long)i, (unsigned long long)t->info_offset,
                            (unsigned long long)nlen, nlen == 0 ? "empty" : "too long or has NUL",
                            MODELS_GGUF_MAX_NAME);
            goto tinfo_err;
        }
        if ((rc = cur_u32(c, &t->n_dims, "tensor n_dims")))
            goto tinfo_named_err;
        if (t->n_dims == 0 || t->n_dims > MODELS_GGUF_MAX_DIMS) {
            rc = mb_err_set(MB_EFORMAT,
                            "%s: tensor '%s' (info at offset %llu): n_dims = %u, must be 1..%d", g->name,
                            t->name, (unsigned long long)t->info_offset, t->n_dims,
                            MODELS_GGUF_MAX_DIMS);
            goto tinfo_err;
        }
        for (int d = 0; d < MODELS_GGUF_MAX_DIMS; d++)
            t->ne[d] = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            uint64_t ne;
            if ((rc = cur_u64(c, &ne, "a tensor dimension")))
                goto tinfo_named_err;
            if (ne == 0 || ne > (uint64_t)INT64_MAX) {
                rc = mb_err_set(MB_EFORMAT,
                                "%s: tensor '%s' (info at offset %llu): dimension %u is %llu, must be "
                                "1..2^63-1",
                                g->name, t->name, (unsigned long long)t->info_offset, d,
                                (unsigned long long)ne);
                goto tinfo_err;
            }
            t->ne[d] = (int64_t)ne;
        }
        if ((rc = cur_u32(c, &raw_type[i], "tensor type")) ||
            (rc = cur_u64(c, &t->offset, "tensor data offset")))
            goto tinfo_named_err;
        t->type = (engine_type_t)raw_type[i];
        g->t_sorted[i] = (int64_t)i;
        continue;
    tinfo_named_err:
        rc = err_ctx(rc, "info of tensor '%s'", t->name);
    tinfo_err:
        free(raw_type);
        return rc;
    }
    free(raw_type);
    raw_type = NULL;

    return MB_OK;
}

/* Each tensor's type, shape and data range against the data section that
 * starts at the first aligned offset after the infos (end: c->pos). */
static int check_tensor_data(models_gguf_t *g, const cur_t *c, uint64_t nt)
{
    uint64_t a = g->alignment;
    g->data_offset = ((uint64_t)c->pos + a - 1) / a * a;
    if (nt > 0 && g->data_offset > g->size)
        return mb_err_set(MB_EFORMAT,
                          "%s: truncated: the data section should start at offset %llu but the "
                          "file has %zu bytes",
                          g->name, (unsigned long long)g->data_offset, g->size);
    uint64_t data_size = nt > 0 ? g->size - g->data_offset : 0;

    for (int64_t i = 0; i < g->n_tensors; i++) {
        models_gguf_tensor_t *t = &g->tensors[i];
        unsigned long long io = (unsigned long long)t->info_offset;
        /* product of dims without overflow */
        int64_t nel = 1;
        for (int d = 0; d < MODELS_GGUF_MAX_DIMS; d++) {
            if (nel > INT64_MAX / t->ne[d])
                return mb_err_set(MB_EFORMAT,
                                  "%s: tensor '%s' (info at offset %llu): dims %lld x %lld x %lld x %lld "
                                  "overflow 64 bits",
                                  g->name, t->name, io, (long long)t->ne[0], (long long)t->ne[1],
                                  (long long)t->ne[2], (long long)t->ne[3]);
            nel *= t->ne[d];
        }
        uint32_t tid = (uint32_t)t->type;
        const engine_type_traits_t *tr =
            tid < ENGINE_TYPE_COUNT ? engine_type_traits(t->type) : NULL;
        int64_t bs = tr ? tr->block_size : 0;
        size_t ts = tr ? tr->type_size : 0;
        const char *tname = tr ? tr->name : models_gguf_ggml_type_name(tid);
        if (!tr && !((g->flags & MODELS_GGUF_OPEN_ANY_TYPE) && ggml_layout(tid, &bs, &ts))) {
            if (tname)
                return mb_err_set(MB_EUNSUPPORTED,
                                  "%s: tensor '%s' (info at offset %llu) has type %s (id %u), which "
                                  "mobench has no kernels for; use a file quantized to F32, F16, "
                                  "BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K or IQ4_NL",
                                  g->name, t->name, io, tname, tid);
            return mb_err_set(MB_EFORMAT, "%s: tensor '%s' (info at offset %llu): unknown type id %u",
                              g->name, t->name, io, tid);
        }
        if (t->ne[0] % bs)
            return mb_err_set(MB_EFORMAT,
                              "%s: tensor '%s' (info at offset %llu): row length %lld is not a multiple "
                              "of the %s block size %lld",
                              g->name, t->name, io, (long long)t->ne[0], tname, (long long)bs);
        uint64_t rows = (uint64_t)(nel / t->ne[0]);
        uint64_t row_bytes = (uint64_t)(t->ne[0] / bs) * ts;
        if (rows && row_bytes > UINT64_MAX / rows)
            return mb_err_set(MB_EFORMAT, "%s: tensor '%s' (info at offset %llu): size overflows 64 bits",
                              g->name, t->name, io);
        uint64_t nbytes = row_bytes * rows;
        if (t->offset % a)
            return mb_err_set(MB_EFORMAT,
                              "%s: tensor '%s' (info at offset %llu): data offset %llu is not a multiple "
                              "of the alignment %llu",
                              g->name, t->name, io, (unsigned long long)t->offset,
                              (unsigned long long)a);
        if (t->offset > data_size || nbytes > data_size - t->offset)
            return mb_err_set(MB_EFORMAT,
                              "%s: tensor '%s' (info at offset %llu): data [%llu, +%llu) lies outside the "
                              "file (data section of %llu bytes starting at %llu; truncated file?)",
                              g->name, t->name, io, (unsigned long long)t->offset,
                              (unsigned long long)nbytes, (unsigned long long)data_size,
                              (unsigned long long)g->data_offset);
        t->nbytes = (size_t)nbytes;
        t->data = g->base + g->data_offset + t->offset;
    }

    return MB_OK;
}

/* Tensor names are unique, and tensor data ranges do not overlap. */
static int check_tensor_layout(models_gguf_t *g)
{
    int rc;
    /* duplicate names */
    sort_idx(g, g->t_sorted, g->n_tensors, cmp_tname);
    for (int64_t i = 1; i < g->n_tensors; i++) {
        const models_gguf_tensor_t *x = &g->tensors[g->t_sorted[i - 1]];
        const models_gguf_tensor_t *y = &g->tensors[g->t_sorted[i]];
        if (!strcmp(x->name, y->name))
            return mb_err_set(MB_EFORMAT, "%s: duplicate tensor name '%s' (infos at offsets %llu "
                                          "and %llu)",
                              g->name, x->name, (unsigned long long)x->info_offset,
                              (unsigned long long)y->info_offset);
    }
    /* overlaps: sorted by offset, each must end before the next begins */
    if (g->n_tensors > 1) {
        int64_t *by_off = malloc((size_t)g->n_tensors * sizeof *by_off);
        if (!by_off)
            return mb_err_set(MB_ENOMEM, "%s: out of memory", g->name);
        for (int64_t i = 0; i < g->n_tensors; i++)
            by_off[i] = i;
        sort_idx(g, by_off, g->n_tensors, cmp_toff);
        for (int64_t i = 1; i < g->n_tensors; i++) {
            const models_gguf_tensor_t *x = &g->tensors[by_off[i - 1]];
            const models_gguf_tensor_t *y = &g->tensors[by_off[i]];
            if (x->offset + x->nbytes > y->offset) {
                rc = mb_err_set(MB_EFORMAT,
                                "%s: tensors '%s' (data [%llu, %llu)) and '%s' (data from %llu) "
                                "overlap (infos at offsets %llu and %llu)",
                                g->name, x->name, (unsigned long long)x->offset,
                                (unsigned long long)(x->offset + x->nbytes), y->name,
                                (unsigned long long)y->offset,
                                (unsigned long long)x->info_offset,
                                (unsigned long long)y->info_offset);
                free(by_off);
                return rc;
            }
        }
        free(by_off);
    }
    return MB_OK;
}

static int parse_header(models_gguf_t *g)
{
    cur_t c = {g->base, g->size, 0, g->name};
    uint64_t nt = 0, nkv = 0;
    int rc;
    if ((rc = parse_preamble(g, &c, &nt, &nkv)) || (rc = parse_metadata(g, &c, nkv)) ||
        (rc = parse_alignment(g)) || (rc = parse_tensor_infos(g, &c, nt)) ||
        (rc = check_tensor_data(g, &c, nt)) || (rc = check_tensor_layout(g)))
        return rc;
    return MB_OK;
}

static int gguf_open_common(models_gguf_t *g, models_gguf_t **out)
{
    int rc = parse_header(g);
    if (rc) {
        models_gguf_close(g);
        return rc;
    }
    *out = g;
    return MB_OK;
}

int models_gguf_open_memory(const void *data, size_t size, const char *name, models_gguf_t **out)
{
    return models_gguf_open_memory_ex(data, size, name, 0, out);
}

int models_gguf_open_memory_ex(const void *data, size_t size, const char *name, unsigned flags,
                               models_gguf_t **out)
{
    *out = NULL;
    models_gguf_t *g = calloc(1, sizeof *g);
    if (!g)
        return mb_err_set(MB_ENOMEM, "out of memory opening %s", name ? name : "GGUF buffer");
    g->name = mb_strdup(name ? name : "<memory>");
    if (!g->name) {
        free(g);
        return mb_err_set(MB_ENOMEM, "out of memory opening %s", name ? name : "GGUF buffer");
    }
    g->base = data;
    g->size = size;
    g->flags = flags;
    return gguf_open_common(g, out);
}

int models_gguf_open(const char *path, models_gguf_t **out)
{
    return models_gguf_open_ex(path, 0, out);
}

int models_gguf_open_ex(const char *path, unsigned flags, models_gguf_t **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mb_err_set(mb_err_from_errno(errno), "cannot open %s: %s; check the path",
                          path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return mb_err_set(mb_err_from_errno(e), "cannot stat %s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return mb_err_set(MB_EINVAL, "%s is not a regular file; give a .gguf file", path);
    }
    models_gguf_t *g = calloc(1, sizeof *g);
    if (!g || !(g->name = mb_strdup(path))) {
        free(g);
        close(fd);
        return mb_err_set(MB_ENOMEM, "out of memory opening %s", path);
    }
    g->size = (size_t)st.st_size;
    g->flags = flags;
    if (g->size > 0) {
        void *m = mmap(NULL, g->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            close(fd);
            free(g->name);
            free(g);
            return mb_err_set(mb_err_from_errno(e), "cannot map %s (%zu bytes): %s", path,
                              (size_t)st.st_size, strerror(e));
        }
        g->base = m;
        g->mapped = true;
    } else {
        static const uint8_t empty[1];
        g->base = empty;
    }
    close(fd);
    return gguf_open_common(g, out);
}

void models_gguf_close(models_gguf_t *g)
{
    if (!g)
        return;
    for (int64_t i = 0; i < g->n_kv; i++) {
        free(g->kv[i].key);
        node_free(&g->kv[i].node);
    }
    free(g->kv);
    free(g->kv_sorted);
    for (int64_t i = 0; i < g->n_tensors; i++)
        free((char *)g->tensors[i].name);
    free(g->tensors);
    free(g->t_sorted);
    if (g->mapped)
        munmap((void *)g->base, g->size);
    free(g->name);
    free(g);
}

