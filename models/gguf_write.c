/*
 * gguf_write.c: GGUF v3 writer. Metadata and tensor infos are kept in memory
 * in insertion order; the file is header + metadata + tensor infos, padding
 * to the alignment, then each tensor's data followed by padding to the
 * alignment (the last one too), which is the layout llama.cpp's gguf writer
 * and gguf-py produce, so re-writing one of their files gives the same bytes.
 */
#include "models.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct wnode {
    uint32_t type;
    uint32_t elem_type;     /* ARR */
    uint64_t n;             /* ARR: elements; STR: bytes */
    uint8_t *raw;           /* STR bytes; fixed-size scalar or ARR elements, little-endian */
    struct wnode *items;    /* ARR of STR or ARR */
} wnode_t;

typedef struct {
    char *key;
    wnode_t node;
} wkv_t;

typedef struct {
    char *name;
    engine_type_t type;
    uint32_t n_dims;
    int64_t ne[MODELS_GGUF_MAX_DIMS];
    const void *data;
    size_t nbytes;
    uint64_t offset; /* set by layout() */
} wtensor_t;

struct models_gguf_writer {
    wkv_t *kv;
    size_t n_kv, cap_kv;
    wtensor_t *t;
    size_t n_t, cap_t;
};

/* ---- byte buffer ------------------------------------------------------------ */
typedef struct {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} buf_t;

static void buf_put(buf_t *b, const void *src, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void buf_u32(buf_t *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    buf_put(b, x, 4);
}

static void buf_u64(buf_t *b, uint64_t v)
{
    buf_u32(b, (uint32_t)v);
    buf_u32(b, (uint32_t)(v >> 32));
}

static void buf_str(buf_t *b, const void *s, uint64_t n)
{
    buf_u64(b, n);
    buf_put(b, s, (size_t)n);
}

/* ---- nodes -------------------------------------------------------------------- */
static void wnode_free(wnode_t *n)
{
    if (n->items) {
        for (uint64_t i = 0; i < n->n; i++)
            wnode_free(&n->items[i]);
        free(n->items);
    }
    free(n->raw);
    memset(n, 0, sizeof *n);
}

/* Encodes one fixed-size value v (native) at dst, little-endian. */
static void encode_scalar(uint32_t type, const models_gguf_value_t *v, uint8_t *dst)
{
    uint64_t bits = 0;
    switch (type) {
    case MODELS_GGUF_U8: case MODELS_GGUF_U16: case MODELS_GGUF_U32: case MODELS_GGUF_U64:
        bits = v->v.u64;
        break;
    case MODELS_GGUF_I8: case MODELS_GGUF_I16: case MODELS_GGUF_I32: case MODELS_GGUF_I64:
        bits = (uint64_t)v->v.i64;
        break;
    case MODELS_GGUF_F32: {
        uint32_t u;
        memcpy(&u, &v->v.f32, 4);
        bits = u;
        break;
    }
    case MODELS_GGUF_F64: memcpy(&bits, &v->v.f64, 8); break;
    case MODELS_GGUF_BOOL: bits = v->v.b ? 1 : 0; break;
    default: break;
    }
    size_t sz = models_gguf_vtype_size((models_gguf_vtype_t)type);
    for (size_t i = 0; i < sz; i++)
        dst[i] = (uint8_t)(bits >> (8 * i));
}

/* Native element i of a packed native array of type -> value. */
static void native_elem(uint32_t type, const void *data, uint64_t i, models_gguf_value_t *v)
{
    memset(v, 0, sizeof *v);
    v->type = (models_gguf_vtype_t)type;
    const uint8_t *p = (const uint8_t *)data + i * models_gguf_vtype_size(v->type);
    switch (type) {
    case MODELS_GGUF_U8: v->v.u64 = *p; break;
    case MODELS_GGUF_I8: v->v.i64 = *(const int8_t *)p; break;
    case MODELS_GGUF_U16: { uint16_t x; memcpy(&x, p, 2); v->v.u64 = x; break; }
    case MODELS_GGUF_I16: { int16_t x; memcpy(&x, p, 2); v->v.i64 = x; break; }
    case MODELS_GGUF_U32: { uint32_t x; memcpy(&x, p, 4); v->v.u64 = x; break; }
    case MODELS_GGUF_I32: { int32_t x; memcpy(&x, p, 4); v->v.i64 = x; break; }
    case MODELS_GGUF_U64: memcpy(&v->v.u64, p, 8); break;
    case MODELS_GGUF_I64: memcpy(&v->v.i64, p, 8); break;
    case MODELS_GGUF_F32: memcpy(&v->v.f32, p, 4); break;
    case MODELS_GGUF_F64: memcpy(&v->v.f64, p, 8); break;
    case MODELS_GGUF_BOOL: { uint8_t x = *p; v->v.b = x != 0; break; }
    default: break;
    }
}

static int set_node_from_value(wnode_t *n, const models_gguf_value_t *v, int depth);

static int set_node_str(wnode_t *n, const char *s, size_t len)
{
    n->type = MODELS_GGUF_STR;
    n->n = len;
    n->raw = malloc(len ? len : 1);
    if (!n->raw)
        return mb_err_set(MB_ENOMEM, "out of memory for a GGUF string of %zu bytes", len);
    memcpy(n->raw, s, len);
    return MB_OK;
}

static int set_node_from_value(wnode_t *n, const models_gguf_value_t *v, int depth)
{
    memset(n, 0, sizeof *n);
    uint32_t type = v->type;
    if (type >= MODELS_GGUF_NTYPES)
        return mb_err_set(MB_EINVAL, "GGUF value type %u is not valid (0..12)", type);
    size_t esz = models_gguf_vtype_size((models_gguf_vtype_t)type);
    if (esz) {
        n->type = type;
        n->raw = malloc(esz);
        if (!n->raw)
            return mb_err_set(MB_ENOMEM, "out of memory for a GGUF value");
        encode_scalar(type, v, n->raw);
        return MB_OK;
    }
    if (type == MODELS_GGUF_STR)
        return set_node_str(n, v->str ? v->str : "", v->str ? v->str_len : 0);
    /* array from the reader */
    if (depth >= MODELS_GGUF_MAX_ARR_DEPTH)
        return mb_err_set(MB_EINVAL, "GGUF arrays nested deeper than %d", MODELS_GGUF_MAX_ARR_DEPTH);
    const models_gguf_arr_t *a = &v->arr;
    if ((unsigned)a->type >= MODELS_GGUF_NTYPES)
        return mb_err_set(MB_EINVAL, "GGUF array element type %u is not valid (0..12)", a->type);
    n->type = MODELS_GGUF_ARR;
    n->elem_type = a->type;
    n->n = a->n;
    esz = models_gguf_vtype_size(a->type);
    if (a->n == 0)
        return MB_OK;
    if (esz) {
        if (a->n > SIZE_MAX / esz || !(n->raw = malloc((size_t)a->n * esz)))
            return mb_err_set(MB_ENOMEM, "out of memory for a GGUF array of %llu elements",
                              (unsigned long long)a->n);
    } else if (!(n->items = calloc((size_t)a->n, sizeof *n->items))) {
        return mb_err_set(MB_ENOMEM, "out of memory for a GGUF array of %llu elements",
                          (unsigned long long)a->n);
    }
    for (uint64_t i = 0; i < a->n; i++) {
        models_gguf_value_t e;
        int rc = models_gguf_arr_get(a, i, &e);
        if (!rc && esz)
            encode_scalar(a->type, &e, n->raw + i * esz);
        else if (!rc)
            rc = set_node_from_value(&n->items[i], &e, depth + 1);
        if (rc)
            return rc;
    }
    return MB_OK;
}

/* ---- writer ------------------------------------------------------------------- */
int models_gguf_writer_create(models_gguf_writer_t **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? MB_OK : mb_err_set(MB_ENOMEM, "out of memory creating a GGUF writer");
}

void models_gguf_writer_destroy(models_gguf_writer_t *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        wnode_free(&w->kv[i].node);
    }
    free(w->kv);
    for (size_t i = 0; i < w->n_t; i++)
        free(w->t[i].name);
    free(w->t);
    free(w);
}

/* Stores node n (ownership taken, also on failure) under key: replaces the
 * value of an existing key in place, else appends. */
static int kv_put(models_gguf_writer_t *w, const char *key, wnode_t *n)
{
    if (!key || !*key) {
        wnode_free(n);
        return mb_err_set(MB_EINVAL, "GGUF metadata key must not be empty");
    }
    for (size_t i = 0; i < w->n_kv; i++)
        if (!strcmp(w->kv[i].key, key)) {
            wnode_free(&w->kv[i].node);
            w->kv[i].node = *n;
            return MB_OK;
        }
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? w->cap_kv * 2 : 32;
        wkv_t *nk = realloc(w->kv, cap * sizeof *nk);
        if (!nk) {
            wnode_free(n);
            return mb_err_set(MB_ENOMEM, "out of memory adding GGUF key '%s'", key);
        }
        w->kv = nk;
        w->cap_kv = cap;
    }
    wkv_t *kv = &w->kv[w->n_kv];
    if (!(kv->key = mb_strdup(key))) {
        wnode_free(n);
        return mb_err_set(MB_ENOMEM, "out of memory adding GGUF key '%s'", key);
    }
    kv->node = *n;
    w->n_kv++;
    return MB_OK;
}

int models_gguf_writer_set_value(models_gguf_writer_t *w, const char *key,
                                 const models_gguf_value_t *v)
{
    wnode_t n;
    int rc = set_node_from_value(&n, v, 0);
    if (rc) {
        wnode_free(&n);
        char prev[1024];
        snprintf(prev, sizeof prev, "%s", mb_err_msg());
        return mb_err_set(rc, "GGUF key '%s': %s", key ? key : "", prev);
    }
    return kv_put(w, key, &n);
}

static int set_scalar(models_gguf_writer_t *w, const char *key, models_gguf_value_t v)
{
    return models_gguf_writer_set_value(w, key, &v);
}

#define SETTER(fn, T, VT, field)                                                          \
    int fn(models_gguf_writer_t *w, const char *key, T x)                                 \
    {                                                                                     \
        models_gguf_value_t v = {.type = VT};                                             \
        v.v.field = x;                                                                    \
        return set_scalar(w, key, v);                                                     \
    }
SETTER(models_gguf_writer_set_u8, uint8_t, MODELS_GGUF_U8, u64)
SETTER(models_gguf_writer_set_i8, int8_t, MODELS_GGUF_I8, i64)
SETTER(models_gguf_writer_set_u16, uint16_t, MODELS_GGUF_U16, u64)
SETTER(models_gguf_writer_set_i16, int16_t, MODELS_GGUF_I16, i64)
SETTER(models_gguf_writer_set_u32, uint32_t, MODELS_GGUF_U32, u64)
SETTER(models_gguf_writer_set_i32, int32_t, MODELS_GGUF_I32, i64)
SETTER(models_gguf_writer_set_u64, uint64_t, MODELS_GGUF_U64, u64)
SETTER(models_gguf_writer_set_i64, int64_t, MODELS_GGUF_I64, i64)
SETTER(models_gguf_writer_set_f32, float, MODELS_GGUF_F32, f32)
SETTER(models_gguf_writer_set_f64, double, MODELS_GGUF_F64, f64)
SETTER(models_gguf_writer_set_bool, bool, MODELS_GGUF_BOOL, b)
#undef SETTER

int models_gguf_writer_set_str(models_gguf_writer_t *w, const char *key, const char *s)
{
    models_gguf_value_t v = {.type = MODELS_GGUF_STR, .str = s ? s : "", .str_len = s ? strlen(s) : 0};
    return set_scalar(w, key, v);
}

int models_gguf_writer_set_arr(models_gguf_writer_t *w, const char *key,
                               models_gguf_vtype_t type, const void *data, uint64_t n)
{
    size_t esz = models_gguf_vtype_size(type);
    if (!esz)
        return mb_err_set(MB_EINVAL, "GGUF key '%s': set_arr takes fixed-size element types, "
                                     "not %s (use set_arr_str)",
                          key, models_gguf_vtype_name(type));
    if (n > SIZE_MAX / esz)
        return mb_err_set(MB_ERANGE, "GGUF key '%s': array of %llu elements is too large", key,
                          (unsigned long long)n);
    wnode_t node = {.type = MODELS_GGUF_ARR, .elem_type = type, .n = n};
    if (n) {
        node.raw = malloc((size_t)n * esz);
        if (!node.raw)
            return mb_err_set(MB_ENOMEM, "GGUF key '%s': out of memory", key);
        for (uint64_t i = 0; i < n; i++) {
            models_gguf_value_t e;
            native_elem(type, data, i, &e);
            encode_scalar(type, &e, node.raw + i * esz);
        }
    }
    return kv_put(w, key, &node);
}

int models_gguf_writer_set_arr_str(models_gguf_writer_t *w, const char *key,
                                   const char *const *strs, uint64_t n)
{
    wnode_t node = {.type = MODELS_GGUF_ARR, .elem_type = MODELS_GGUF_STR};
    if (n) {
        node.items = calloc((size_t)n, sizeof *node.items);
        if (!node.items)
            return mb_err_set(MB_ENOMEM, "GGUF key '%s': out of memory for %llu strings", key,
                              (unsigned long long)n);
        node.n = n;
        for (uint64_t i = 0; i < n; i++) {
            const char *s = strs[i] ? strs[i] : "";
            int rc = set_node_str(&node.items[i], s, strlen(s));
            if (rc) {
                wnode_free(&node);
                return rc;
            }
        }
    }
    return kv_put(w, key, &node);
}

int models_gguf_writer_add_tensor(models_gguf_writer_t *w, const char *name, engine_type_t type,
                                  uint32_t n_dims, const int64_t *ne, const void *data,
                                  size_t nbytes)
{
    size_t nlen = name ? strlen(name) : 0;
    if (nlen == 0 || nlen > MODELS_GGUF_MAX_NAME)
        return mb_err_set(MB_EINVAL, "GGUF tensor name '%s' must be 1..%d bytes", name ? name : "",
                          MODELS_GGUF_MAX_NAME);
    if (n_dims == 0 || n_dims > MODELS_GGUF_MAX_DIMS)
        return mb_err_set(MB_EINVAL, "GGUF tensor '%s': n_dims %u must be 1..%d", name, n_dims,
                          MODELS_GGUF_MAX_DIMS);
    const engine_type_traits_t *tr = engine_type_traits(type);
    if (!tr)
        return mb_err_set(MB_EINVAL, "GGUF tensor '%s': type id %d is not supported", name,
                          (int)type);
    int64_t rows = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] <= 0)
            return mb_err_set(MB_EINVAL, "GGUF tensor '%s': dimension %u is %lld, must be > 0",
                              name, d, (long long)ne[d]);
        if (d > 0) {
            if (rows > INT64_MAX / ne[d])
                return mb_err_set(MB_ERANGE, "GGUF tensor '%s': too many elements", name);
            rows *= ne[d];
        }
    }
    size_t row = engine_row_size(type, ne[0]);
    if (!row)
        return mb_err_set(MB_ESHAPE, "GGUF tensor '%s': row length %lld is not a multiple of the "
                                     "%s block size %lld",
                          name, (long long)ne[0], tr->name, (long long)tr->block_size);
    if ((uint64_t)rows > SIZE_MAX / row || row * (size_t)rows != nbytes)
        return mb_err_set(MB_ESHAPE, "GGUF tensor '%s': %zu bytes given, its %s shape needs %llu",
                          name, nbytes, tr->name, (unsigned long long)row * (uint64_t)rows);
    for (size_t i = 0; i < w->n_t; i++)
        if (!strcmp(w->t[i].name, name))
            return mb_err_set(MB_EINVAL, "GGUF tensor '%s' added twice", name);
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? w->cap_t * 2 : 64;
        wtensor_t *nt = realloc(w->t, cap * sizeof *nt);
        if (!nt)
            return mb_err_set(MB_ENOMEM, "out of memory adding tensor '%s'", name);
        w->t = nt;
        w->cap_t = cap;
    }
    wtensor_t *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    if (!(t->name = mb_strdup(name)))
        return mb_err_set(MB_ENOMEM, "out of memory adding tensor '%s'", name);
    t->type = type;
    t->n_dims = n_dims;
    for (int d = 0; d < MODELS_GGUF_MAX_DIMS; d++)
        t->ne[d] = (uint32_t)d < n_dims ? ne[d] : 1;
    t->data = data;
    t->nbytes = nbytes;
    w->n_t++;
    return MB_OK;
}

int models_gguf_writer_copy_from(models_gguf_writer_t *w, const models_gguf_t *g)
{
    for (int64_t i = 0; i < models_gguf_n_kv(g); i++) {
        models_gguf_value_t v;
        int rc = models_gguf_kv_value(g, i, &v);
        if (!rc)
            rc = models_gguf_writer_set_value(w, models_gguf_kv_key(g, i), &v);
        if (rc)
            return rc;
    }
    for (int64_t i = 0; i < models_gguf_n_tensors(g); i++) {
        const models_gguf_tensor_t *t = models_gguf_tensor(g, i);
        int rc = models_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data,
                                               t->nbytes);
        if (rc)
            return rc;
    }
    return MB_OK;
}

int models_gguf_writer_add_vocab(models_gguf_writer_t *w, uint32_t n_vocab)
{
    if (n_vocab < 4)
        return mb_err_set(MB_EINVAL, "vocabulary of %u tokens: need at least 4 (<unk> <s> </s> t3)",
                          n_vocab);
    int rc = MB_ENOMEM;
    char **tok = calloc(n_vocab, sizeof *tok);
    char *pool = malloc((size_t)n_vocab * 12);
    float *scores = calloc(n_vocab, sizeof *scores);
    int32_t *types = malloc((size_t)n_vocab * sizeof *types);
    if (!tok || !pool || !scores || !types) {
        rc = mb_err_set(MB_ENOMEM, "out of memory for a vocabulary of %u tokens", n_vocab);
        goto err;
    }
    static const char *special[3] = {"<unk>", "<s>", "</s>"};
    for (uint32_t i = 0; i < n_vocab; i++) {
        tok[i] = pool + (size_t)i * 12;
        if (i < 3)
            snprintf(tok[i], 12, "%s", special[i]);
        else
            snprintf(tok[i], 12, "t%u", i);
        /* llama.cpp token types: 1 normal, 2 unknown, 3 control */
        types[i] = i == 0 ? 2 : i < 3 ? 3 : 1;
    }
    if ((rc = models_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama")) ||
        (rc = models_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)tok,
                                             n_vocab)) ||
        (rc = models_gguf_writer_set_arr(w, "tokenizer.ggml.scores", MODELS_GGUF_F32, scores,
                                         n_vocab)) ||
        (rc = models_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", MODELS_GGUF_I32, types,
                                         n_vocab)) ||
        (rc = models_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1)) ||
        (rc = models_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2)))
        goto err;
    rc = MB_OK;
err:
    free(tok);
    free(pool);
    free(scores);
    free(types);
    return rc;
}

/* ---- serialization ------------------------------------------------------------ */
static void put_node(buf_t *b, const wnode_t *n)
{
    size_t esz = models_gguf_vtype_size((models_gguf_vtype_t)n->type);
    if (esz) {
        buf_put(b, n->raw, esz);
    } else if (n->type == MODELS_GGUF_STR) {
        buf_str(b, n->raw, n->n);
    } else {
        buf_u32(b, n->elem_type);
        buf_u64(b, n->n);
        size_t ee = models_gguf_vtype_size((models_gguf_vtype_t)n->elem_type);
        if (ee) {
            if (n->n)
                buf_put(b, n->raw, (size_t)n->n * ee);
        } else {
            for (uint64_t i = 0; i < n->n; i++)
                put_node(b, &n->items[i]);
        }
    }
}

static int writer_alignment(const models_gguf_writer_t *w, uint64_t *out)
{
    *out = MODELS_GGUF_DEFAULT_ALIGNMENT;
    for (size_t i = 0; i < w->n_kv; i++)
        if (!strcmp(w->kv[i].key, "general.alignment")) {
            const wnode_t *n = &w->kv[i].node;
            if (n->type != MODELS_GGUF_U32)
                return mb_err_set(MB_EINVAL, "GGUF key 'general.alignment' must be u32");
            uint64_t a = (uint64_t)n->raw[0] | (uint64_t)n->raw[1] << 8 |
                         (uint64_t)n->raw[2] << 16 | (uint64_t)n->raw[3] << 24;
            if (a == 0 || (a & (a - 1)) || a > MODELS_GGUF_MAX_ALIGNMENT)
                return mb_err_set(MB_EINVAL, "GGUF key 'general.alignment' = %llu is not a power "
                                             "of two up to 65536",
                                  (unsigned long long)a);
            *out = a;
        }
    return MB_OK;
}

/* Header bytes (through the padding before the data section), offsets set. */
static int layout(models_gguf_writer_t *w, buf_t *b, uint64_t *total)
{
    uint64_t a;
    int rc = writer_alignment(w, &a);
    if (rc)
        return rc;
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        w->t[i].offset = off;
        off += (w->t[i].nbytes + a - 1) / a * a;
    }
    memset(b, 0, sizeof *b);
    buf_put(b, "GGUF", 4);
    buf_u32(b, 3);
    buf_u64(b, w->n_t);
    buf_u64(b, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        buf_str(b, w->kv[i].key, strlen(w->kv[i].key));
        buf_u32(b, w->kv[i].node.type);
        put_node(b, &w->kv[i].node);
    }
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor_t *t = &w->t[i];
        buf_str(b, t->name, strlen(t->name));
        buf_u32(b, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++)
            buf_u64(b, (uint64_t)t->ne[d]);
        buf_u32(b, (uint32_t)t->type);
        buf_u64(b, t->offset);
    }
    static const uint8_t zero[64];
    while (b->n % a)
        buf_put(b, zero, (size_t)MB_MIN((uint64_t)sizeof zero, a - b->n % a));
    if (b->oom) {
        free(b->p);
        b->p = NULL;
        return mb_err_set(MB_ENOMEM, "out of memory laying out a GGUF header");
    }
    *total = b->n + off;
    return MB_OK;
}

uint64_t models_gguf_writer_size(const models_gguf_writer_t *w)
{
    buf_t b;
    uint64_t total = 0;
    if (layout((models_gguf_writer_t *)w, &b, &total))
        return 0;
    free(b.p);
    return total;
}

int models_gguf_writer_write_mem(models_gguf_writer_t *w, void **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    buf_t b;
    uint64_t total;
    int rc = layout(w, &b, &total);
    if (rc)
        return rc;
    uint8_t *p = total <= SIZE_MAX ? calloc(1, (size_t)total ? (size_t)total : 1) : NULL;
    if (!p) {
        free(b.p);
        return mb_err_set(MB_ENOMEM, "out of memory for a GGUF file of %llu bytes",
                          (unsigned long long)total);
    }
    memcpy(p, b.p, b.n);
    for (size_t i = 0; i < w->n_t; i++) {
        if (w->t[i].nbytes && !w->t[i].data) {
            free(p);
            free(b.p);
            return mb_err_set(MB_EINVAL, "GGUF tensor '%s' has no data (use write_fill)",
                              w->t[i].name);
        }
        if (w->t[i].nbytes)
            memcpy(p + b.n + w->t[i].offset, w->t[i].data, w->t[i].nbytes);
    }
    free(b.p);
    *out = p;
    *len = (size_t)total;
    return MB_OK;
}

static int write_all(int fd, const void *data, size_t n, const char *path)
{
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t r = write(fd, p, MB_MIN(n, (size_t)1 << 30));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return mb_err_set(mb_err_from_errno(errno), "cannot write %s: %s; check free space",
                              path, strerror(errno));
        }
        p += r;
        n -= (size_t)r;
    }
    return MB_OK;
}

int models_gguf_writer_write(models_gguf_writer_t *w, const char *path)
{
    return models_gguf_writer_write_fill(w, path, NULL, NULL);
}

int models_gguf_writer_write_fill(models_gguf_writer_t *w, const char *path,
                                  models_gguf_fill_fn fill, void *user)
{
    uint8_t *fbuf = NULL;
    size_t fmax = 0;
    for (size_t i = 0; i < w->n_t; i++)
        if (!w->t[i].data && w->t[i].nbytes) {
            if (!fill)
                return mb_err_set(MB_EINVAL, "GGUF tensor '%s' has no data and no fill function "
                                             "was given",
                                  w->t[i].name);
            fmax = MB_MAX(fmax, w->t[i].nbytes);
        }
    buf_t b;
    uint64_t total, a;
    int rc = layout(w, &b, &total);
    if (rc)
        return rc;
    writer_alignment(w, &a);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    int fd = -1;
    if (!tmp) {
        rc = mb_err_set(MB_ENOMEM, "out of memory writing %s", path);
        goto err;
    }
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = mb_err_set(mb_err_from_errno(errno), "cannot create a temporary file beside %s: %s",
                        path, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto err;
    }
    (void)fchmod(fd, 0644);
    if ((rc = write_all(fd, b.p, b.n, path)))
        goto err;
    static const uint8_t zero[4096];
    if (fmax && !(fbuf = malloc(fmax))) {
        rc = mb_err_set(MB_ENOMEM, "out of memory for a tensor of %zu bytes writing %s", fmax,
                        path);
        goto err;
    }
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor_t *t = &w->t[i];
        const void *data = t->data;
        if (!data && t->nbytes) {
            if ((rc = fill(user, (int64_t)i, fbuf, t->nbytes)))
                goto err;
            data = fbuf;
        }
        if ((rc = write_all(fd, data, t->nbytes, path)))
            goto err;
        size_t pad = (size_t)((a - t->nbytes % a) % a);
        while (pad > 0) {
            size_t k = MB_MIN(pad, sizeof zero);
            if ((rc = write_all(fd, zero, k, path)))
                goto err;
            pad -= k;
        }
    }
    if (fsync(fd) != 0) {
        rc = mb_err_set(mb_err_from_errno(errno), "cannot sync %s: %s", path, strerror(errno));
        goto err;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = mb_err_set(mb_err_from_errno(errno), "cannot close %s: %s", path, strerror(errno));
        goto err;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = mb_err_set(mb_err_from_errno(errno), "cannot rename %s to %s: %s", tmp, path,
                        strerror(errno));
        goto err;
    }
    free(tmp);
    free(b.p);
    free(fbuf);
    return MB_OK;
err:
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    free(b.p);
    free(fbuf);
    return rc;
}
