/*
 * gguf_get.c: the GGUF reader's accessors: file facts, metadata by index or
 * key (binary search over the sorted keys), typed getters that check the
 * stored type and range and say what was found instead, arrays, tensors.
 * Everything points into the mapping gguf_read.c validated at open.
 */
#include "gguf_int.h"

#include <string.h>

/* ---- accessors -------------------------------------------------------------- */
const char *models_gguf_name(const models_gguf_t *g) { return g->name; }
uint32_t models_gguf_version(const models_gguf_t *g) { return g->version; }
uint32_t models_gguf_alignment(const models_gguf_t *g) { return g->alignment; }
uint64_t models_gguf_data_offset(const models_gguf_t *g) { return g->data_offset; }
uint64_t models_gguf_file_size(const models_gguf_t *g) { return g->size; }

int models_gguf_sha256(models_gguf_t *g, char hex[65])
{
    if (!g->have_sha) {
        mb_sha256_hex(g->base, g->size, g->sha);
        g->have_sha = true;
    }
    memcpy(hex, g->sha, 65);
    return MB_OK;
}

int64_t models_gguf_n_kv(const models_gguf_t *g) { return g->n_kv; }

const char *models_gguf_kv_key(const models_gguf_t *g, int64_t i)
{
    return i >= 0 && i < g->n_kv ? g->kv[i].key : NULL;
}

int models_gguf_kv_value(const models_gguf_t *g, int64_t i, models_gguf_value_t *out)
{
    if (i < 0 || i >= g->n_kv)
        return mb_err_set(MB_ERANGE, "%s: metadata index %lld out of range (0..%lld)", g->name,
                          (long long)i, (long long)g->n_kv - 1);
    *out = g->kv[i].node.val;
    return MB_OK;
}

int64_t models_gguf_find_key(const models_gguf_t *g, const char *key)
{
    int64_t lo = 0, hi = g->n_kv - 1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(g->kv[g->kv_sorted[mid]].key, key);
        if (!c)
            return g->kv_sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static int get_node(const models_gguf_t *g, const char *key, const models_gguf_value_t **v)
{
    int64_t i = models_gguf_find_key(g, key);
    if (i < 0)
        return mb_err_set(MB_ENOENT, "%s: metadata key '%s' not found", g->name, key);
    *v = &g->kv[i].node.val;
    return MB_OK;
}

static int wrong_type(const models_gguf_t *g, const char *key, const models_gguf_value_t *v,
                      const char *want)
{
    return mb_err_set(MB_EFORMAT, "%s: metadata key '%s' has type %s, expected %s", g->name, key,
                      models_gguf_vtype_name(v->type), want);
}

/* Integer value as signed/unsigned with a flag telling which is valid. */
static int value_int(const models_gguf_value_t *v, bool *is_signed, uint64_t *u, int64_t *s)
{
    switch (v->type) {
    case MODELS_GGUF_U8: case MODELS_GGUF_U16: case MODELS_GGUF_U32: case MODELS_GGUF_U64:
        *is_signed = false;
        *u = v->v.u64;
        return MB_OK;
    case MODELS_GGUF_I8: case MODELS_GGUF_I16: case MODELS_GGUF_I32: case MODELS_GGUF_I64:
        *is_signed = true;
        *s = v->v.i64;
        return MB_OK;
    default:
        return MB_EFORMAT;
    }
}

static int get_int(const models_gguf_t *g, const char *key, int64_t lo, uint64_t hi,
                   const char *want, bool *neg, uint64_t *mag)
{
    const models_gguf_value_t *v = NULL;
    int rc = get_node(g, key, &v);
    if (rc)
        return rc;
    bool sg;
    uint64_t u = 0;
    int64_t s = 0;
    if (value_int(v, &sg, &u, &s))
        return wrong_type(g, key, v, want);
    if (sg && s < 0) {
        if (s < lo)
            goto range;
        *neg = true;
        *mag = (uint64_t)s; /* two's complement bits; caller casts back */
        return MB_OK;
    }
    u = sg ? (uint64_t)s : u;
    if (u > hi)
        goto range;
    *neg = false;
    *mag = u;
    return MB_OK;
range:
    return mb_err_set(MB_ERANGE, "%s: metadata key '%s' = %s%llu does not fit in %s", g->name,
                      key, sg && s < 0 ? "-" : "",
                      sg && s < 0 ? (unsigned long long)(-(s + 1)) + 1ull : (unsigned long long)u,
                      want);
}

int models_gguf_get_u32(const models_gguf_t *g, const char *key, uint32_t *out)
{
    bool neg = false;
    uint64_t m = 0;
    int rc = get_int(g, key, 0, UINT32_MAX, "u32", &neg, &m);
    if (!rc)
        *out = (uint32_t)m;
    return rc;
}

int models_gguf_get_i32(const models_gguf_t *g, const char *key, int32_t *out)
{
    bool neg = false;
    uint64_t m = 0;
    int rc = get_int(g, key, INT32_MIN, INT32_MAX, "i32", &neg, &m);
    if (!rc)
        *out = (int32_t)(int64_t)m;
    return rc;
}

int models_gguf_get_u64(const models_gguf_t *g, const char *key, uint64_t *out)
{
    bool neg = false;
    uint64_t m = 0;
    int rc = get_int(g, key, 0, UINT64_MAX, "u64", &neg, &m);
    if (!rc)
        *out = m;
    return rc;
}

int models_gguf_get_i64(const models_gguf_t *g, const char *key, int64_t *out)
{
    bool neg = false;
    uint64_t m = 0;
    int rc = get_int(g, key, INT64_MIN, INT64_MAX, "i64", &neg, &m);
    if (!rc)
        *out = (int64_t)m;
    return rc;
}

int models_gguf_get_f64(const models_gguf_t *g, const char *key, double *out)
{
    const models_gguf_value_t *v = NULL;
    int rc = get_node(g, key, &v);
    if (rc)
        return rc;
    if (v->type == MODELS_GGUF_F32)
        *out = v->v.f32;
    else if (v->type == MODELS_GGUF_F64)
        *out = v->v.f64;
    else
        return wrong_type(g, key, v, "f32 or f64");
    return MB_OK;
}

int models_gguf_get_f32(const models_gguf_t *g, const char *key, float *out)
{
    double d = 0;
    int rc = models_gguf_get_f64(g, key, &d);
    if (!rc)
        *out = (float)d;
    return rc;
}

int models_gguf_get_bool(const models_gguf_t *g, const char *key, bool *out)
{
    const models_gguf_value_t *v = NULL;
    int rc = get_node(g, key, &v);
    if (rc)
        return rc;
    if (v->type != MODELS_GGUF_BOOL)
        return wrong_type(g, key, v, "bool");
    *out = v->v.b;
    return MB_OK;
}

int models_gguf_get_str(const models_gguf_t *g, const char *key, const char **out)
{
    const models_gguf_value_t *v = NULL;
    int rc = get_node(g, key, &v);
    if (rc)
        return rc;
    if (v->type != MODELS_GGUF_STR)
        return wrong_type(g, key, v, "str");
    *out = v->str;
    return MB_OK;
}

int models_gguf_get_arr(const models_gguf_t *g, const char *key, models_gguf_arr_t *out)
{
    const models_gguf_value_t *v = NULL;
    int rc = get_node(g, key, &v);
    if (rc)
        return rc;
    if (v->type != MODELS_GGUF_ARR)
        return wrong_type(g, key, v, "arr");
    *out = v->arr;
    return MB_OK;
}

int models_gguf_arr_get(const models_gguf_arr_t *a, uint64_t i, models_gguf_value_t *out)
{
    if (i >= a->n)
        return mb_err_set(MB_ERANGE, "array index %llu out of range (%llu elements)",
                          (unsigned long long)i, (unsigned long long)a->n);
    const gguf_node_t *n = a->priv;
    size_t esz = models_gguf_vtype_size(a->type);
    if (esz) {
        gguf_decode_scalar(a->type, n->p + i * esz, out);
    } else if (a->type == MODELS_GGUF_STR) {
        /* checked when the file was opened: length prefix and bytes are inside it */
        const uint8_t *sp = n->p + n->offs[i];
        memset(out, 0, sizeof *out);
        out->type = MODELS_GGUF_STR;
        out->str_len = (size_t)gguf_rd_u64(sp);
        out->str = (const char *)sp + 8;
    } else {
        *out = n->items[i].val;
    }
    return MB_OK;
}

int models_gguf_arr_f64(const models_gguf_arr_t *a, uint64_t i, double *out)
{
    models_gguf_value_t v;
    int rc = models_gguf_arr_get(a, i, &v);
    if (rc)
        return rc;
    switch (v.type) {
    case MODELS_GGUF_U8: case MODELS_GGUF_U16: case MODELS_GGUF_U32: case MODELS_GGUF_U64:
        *out = (double)v.v.u64;
        return MB_OK;
    case MODELS_GGUF_I8: case MODELS_GGUF_I16: case MODELS_GGUF_I32: case MODELS_GGUF_I64:
        *out = (double)v.v.i64;
        return MB_OK;
    case MODELS_GGUF_F32: *out = v.v.f32; return MB_OK;
    case MODELS_GGUF_F64: *out = v.v.f64; return MB_OK;
    case MODELS_GGUF_BOOL: *out = v.v.b; return MB_OK;
    default:
        return mb_err_set(MB_EFORMAT, "array element of type %s is not a number",
                          models_gguf_vtype_name(v.type));
    }
}

int models_gguf_arr_i64(const models_gguf_arr_t *a, uint64_t i, int64_t *out)
{
    models_gguf_value_t v;
    int rc = models_gguf_arr_get(a, i, &v);
    if (rc)
        return rc;
    bool sg;
    uint64_t u = 0;
    int64_t s = 0;
    if (v.type == MODELS_GGUF_BOOL) {
        *out = v.v.b;
        return MB_OK;
    }
    if (value_int(&v, &sg, &u, &s))
        return mb_err_set(MB_EFORMAT, "array element of type %s is not an integer",
                          models_gguf_vtype_name(v.type));
    if (!sg && u > INT64_MAX)
        return mb_err_set(MB_ERANGE, "array element %llu does not fit in i64",
                          (unsigned long long)u);
    *out = sg ? s : (int64_t)u;
    return MB_OK;
}

int64_t models_gguf_n_tensors(const models_gguf_t *g) { return g->n_tensors; }

const models_gguf_tensor_t *models_gguf_tensor(const models_gguf_t *g, int64_t i)
{
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const models_gguf_tensor_t *models_gguf_find_tensor(const models_gguf_t *g, const char *name)
{
    int64_t lo = 0, hi = g->n_tensors - 1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(g->tensors[g->t_sorted[mid]].name, name);
        if (!c)
            return &g->tensors[g->t_sorted[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

int64_t models_gguf_tensor_nelem(const models_gguf_tensor_t *t)
{
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}
