/*
 * test_models_gguf.c: GGUF reader and writer. Round trip of every value type
 * and several tensor types, bit for bit; re-writing a read file gives the
 * same bytes (also for the files llama.cpp wrote in ../shared); typed getters;
 * writer argument checks.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models.h"

#define PEER_DIR MB_SHARED "/fixtures/gguf-peer"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint8_t rnd8(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint8_t)(rng_state >> 24);
}

typedef struct {
    const char *name;
    engine_type_t type;
    uint32_t n_dims;
    int64_t ne[4];
    uint8_t *data;
    size_t nbytes;
} tdef_t;

static tdef_t tdefs[] = {
    {"token_embd.weight", ENGINE_TYPE_Q6_K, 2, {256, 10, 1, 1}, NULL, 0},
    {"blk.0.attn_norm.weight", ENGINE_TYPE_F32, 1, {256, 1, 1, 1}, NULL, 0},
    {"blk.0.attn_q.weight", ENGINE_TYPE_Q4_K, 2, {256, 4, 1, 1}, NULL, 0},
    {"blk.0.attn_k.weight", ENGINE_TYPE_Q8_0, 2, {64, 3, 1, 1}, NULL, 0},
    {"blk.0.ffn_up.weight", ENGINE_TYPE_Q4_0, 3, {32, 2, 3, 1}, NULL, 0},
    {"blk.0.ffn_down.weight", ENGINE_TYPE_F16, 4, {3, 2, 2, 2}, NULL, 0},
    {"blk.0.ffn_gate.weight", ENGINE_TYPE_BF16, 2, {5, 1, 1, 1}, NULL, 0},
    {"x.iq4", ENGINE_TYPE_IQ4_NL, 2, {32, 2, 1, 1}, NULL, 0},
};

static void make_tensors(void)
{
    for (size_t i = 0; i < MB_ARRAY_LEN(tdefs); i++) {
        tdef_t *t = &tdefs[i];
        int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
        t->nbytes = engine_row_size(t->type, t->ne[0]) * (size_t)rows;
        cr_assert(t->nbytes > 0, "%s", t->name);
        free(t->data);
        t->data = malloc(t->nbytes);
        for (size_t k = 0; k < t->nbytes; k++)
            t->data[k] = rnd8();
    }
}

static const uint8_t u8s[] = {0, 1, 255};
static const int8_t i8s[] = {-128, 0, 127};
static const uint16_t u16s[] = {0, 65535};
static const int16_t i16s[] = {-32768, 5};
static const uint32_t u32s[] = {0, 4000000000u};
static const int32_t i32s[] = {-2147483647 - 1, 7};
static const float f32s[] = {1.5f, -0.0f, 1e-38f};
static const bool bools[] = {true, false, true};
static const uint64_t u64s[] = {UINT64_MAX, 3};
static const int64_t i64s[] = {INT64_MIN, -1};
static const double f64s[] = {3.141592653589793, -1e300};
static const char *strs[] = {"a", "", "ünïcode", "tail"};

static void fill_writer(models_gguf_writer_t *w, uint32_t alignment)
{
    cr_assert_eq(models_gguf_writer_set_str(w, "general.architecture", "llama"), MB_OK);
    if (alignment)
        cr_assert_eq(models_gguf_writer_set_u32(w, "general.alignment", alignment), MB_OK);
    cr_assert_eq(models_gguf_writer_set_u8(w, "t.u8", 200), MB_OK);
    cr_assert_eq(models_gguf_writer_set_i8(w, "t.i8", -100), MB_OK);
    cr_assert_eq(models_gguf_writer_set_u16(w, "t.u16", 60000), MB_OK);
    cr_assert_eq(models_gguf_writer_set_i16(w, "t.i16", -30000), MB_OK);
    cr_assert_eq(models_gguf_writer_set_u32(w, "t.u32", 4000000000u), MB_OK);
    cr_assert_eq(models_gguf_writer_set_i32(w, "t.i32", -2000000000), MB_OK);
    cr_assert_eq(models_gguf_writer_set_f32(w, "t.f32", 0.1f), MB_OK);
    cr_assert_eq(models_gguf_writer_set_bool(w, "t.bool", true), MB_OK);
    cr_assert_eq(models_gguf_writer_set_u64(w, "t.u64", 1ull << 63), MB_OK);
    cr_assert_eq(models_gguf_writer_set_i64(w, "t.i64", -(1ll << 62)), MB_OK);
    cr_assert_eq(models_gguf_writer_set_f64(w, "t.f64", 1.0 / 3.0), MB_OK);
    cr_assert_eq(models_gguf_writer_set_str(w, "t.str", "hello"), MB_OK);
    cr_assert_eq(models_gguf_writer_set_arr(w, "a.u8", MODELS_GGUF_U8, u8s, 3), MB_OK);
    cr_assert_eq(models_gguf_writer_set_arr(w, "a.i8", MODELS_GGUF_I8, i8s, 3), MB_OK);
    cr_assert_eq(models_gguf_writer_set_arr(w, "a.u16", MODELS_GGUF_U16, u16s, 2), MB_OK);
    cr_assert_eq(models_gguf_writer_set_arr(w, "a.i16", MODELS_GGUF_I16, i16s, 2), MB_OK);
    cr_assert_eq(models_gguf_writer_set_arr(w, "a.u32", MODELS_GGUF_U32, u32s, 2), MB_OK);
    cr_assert_eq(models_gguf_writer_set_arr(w, "a.i32", MODELS_GGUF_I32, i32s, 2), MB_OK);
    cr_assert_eq(models_gguf_writer_set_arr(w, "a.f32", MODELS_GGUF_F32, f32s, 3), MB_OK);
    cr_assert_eq(models_gguf_writer_set_arr(w, "a.bool", MODELS_GGUF_BOOL, bools, 3), MB_OK);
    cr_assert_eq(models_gguf_writer_set_arr(w, "a.u64", MODELS_GGUF_U64, u64s, 2), MB_OK);
    cr_assert_eq(models_gguf_writer_set_arr(w, "a.i64", MODELS_GGUF_I64, i64s, 2), MB_OK);
    cr_assert_eq(models_gguf_writer_set_arr(w, "a.f64", MODELS_GGUF_F64, f64s, 2), MB_OK);
    cr_assert_eq(models_gguf_writer_set_arr(w, "a.empty", MODELS_GGUF_U32, NULL, 0), MB_OK);
    cr_assert_eq(models_gguf_writer_set_arr_str(w, "a.str", strs, 4), MB_OK);
    for (size_t i = 0; i < MB_ARRAY_LEN(tdefs); i++) {
        tdef_t *t = &tdefs[i];
        cr_assert_eq(models_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data,
                                                   t->nbytes),
                     MB_OK, "%s: %s", t->name, mb_err_msg());
    }
}

static void check_arr_num(const models_gguf_t *g, const char *key, models_gguf_vtype_t type,
                          const void *want, uint64_t n)
{
    models_gguf_arr_t a;
    cr_assert_eq(models_gguf_get_arr(g, key, &a), MB_OK, "%s", mb_err_msg());
    cr_assert_eq(a.type, type, "%s", key);
    cr_assert_eq(a.n, n, "%s", key);
    size_t esz = models_gguf_vtype_size(type);
    for (uint64_t i = 0; i < n; i++) {
        models_gguf_value_t v;
        cr_assert_eq(models_gguf_arr_get(&a, i, &v), MB_OK);
        const uint8_t *p = (const uint8_t *)want + i * esz;
        switch (type) {
        case MODELS_GGUF_U8: cr_expect_eq(v.v.u64, *p); break;
        case MODELS_GGUF_I8: cr_expect_eq(v.v.i64, *(const int8_t *)p); break;
        case MODELS_GGUF_U16: cr_expect_eq(v.v.u64, *(const uint16_t *)(const void *)p); break;
        case MODELS_GGUF_I16: cr_expect_eq(v.v.i64, *(const int16_t *)(const void *)p); break;
        case MODELS_GGUF_U32: cr_expect_eq(v.v.u64, *(const uint32_t *)(const void *)p); break;
        case MODELS_GGUF_I32: cr_expect_eq(v.v.i64, *(const int32_t *)(const void *)p); break;
        case MODELS_GGUF_U64: cr_expect_eq(v.v.u64, *(const uint64_t *)(const void *)p); break;
        case MODELS_GGUF_I64: cr_expect_eq(v.v.i64, *(const int64_t *)(const void *)p); break;
        case MODELS_GGUF_F32: cr_expect(!memcmp(&v.v.f32, p, 4), "%s[%llu]", key, (unsigned long long)i); break;
        case MODELS_GGUF_F64: cr_expect(!memcmp(&v.v.f64, p, 8), "%s[%llu]", key, (unsigned long long)i); break;
        case MODELS_GGUF_BOOL: cr_expect_eq(v.v.b, *(const bool *)(const void *)p); break;
        default: cr_assert_fail("type");
        }
    }
}

static void check_file(const models_gguf_t *g, uint32_t alignment)
{
    cr_expect_eq(models_gguf_version(g), 3);
    cr_expect_eq(models_gguf_alignment(g), alignment ? alignment : 32);
    cr_expect_eq(models_gguf_data_offset(g) % models_gguf_alignment(g), 0);
    const char *s;
    cr_assert_eq(models_gguf_get_str(g, "general.architecture", &s), MB_OK);
    cr_expect_str_eq(s, "llama");
    cr_assert_eq(models_gguf_get_str(g, "t.str", &s), MB_OK);
    cr_expect_str_eq(s, "hello");
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    int64_t i64;
    float f32;
    double f64;
    bool b;
    cr_expect_eq(models_gguf_get_u32(g, "t.u8", &u32), MB_OK);
    cr_expect_eq(u32, 200);
    cr_expect_eq(models_gguf_get_i32(g, "t.i8", &i32), MB_OK);
    cr_expect_eq(i32, -100);
    cr_expect_eq(models_gguf_get_u32(g, "t.u16", &u32), MB_OK);
    cr_expect_eq(u32, 60000);
    cr_expect_eq(models_gguf_get_i32(g, "t.i16", &i32), MB_OK);
    cr_expect_eq(i32, -30000);
    cr_expect_eq(models_gguf_get_u32(g, "t.u32", &u32), MB_OK);
    cr_expect_eq(u32, 4000000000u);
    cr_expect_eq(models_gguf_get_i32(g, "t.i32", &i32), MB_OK);
    cr_expect_eq(i32, -2000000000);
    cr_expect_eq(models_gguf_get_f32(g, "t.f32", &f32), MB_OK);
    cr_expect_eq(f32, 0.1f);
    cr_expect_eq(models_gguf_get_bool(g, "t.bool", &b), MB_OK);
    cr_expect(b);
    cr_expect_eq(models_gguf_get_u64(g, "t.u64", &u64), MB_OK);
    cr_expect_eq(u64, 1ull << 63);
    cr_expect_eq(models_gguf_get_i64(g, "t.i64", &i64), MB_OK);
    cr_expect_eq(i64, -(1ll << 62));
    cr_expect_eq(models_gguf_get_f64(g, "t.f64", &f64), MB_OK);
    cr_expect_eq(f64, 1.0 / 3.0);
    check_arr_num(g, "a.u8", MODELS_GGUF_U8, u8s, 3);
    check_arr_num(g, "a.i8", MODELS_GGUF_I8, i8s, 3);
    check_arr_num(g, "a.u16", MODELS_GGUF_U16, u16s, 2);
    check_arr_num(g, "a.i16", MODELS_GGUF_I16, i16s, 2);
    check_arr_num(g, "a.u32", MODELS_GGUF_U32, u32s, 2);
    check_arr_num(g, "a.i32", MODELS_GGUF_I32, i32s, 2);
    check_arr_num(g, "a.f32", MODELS_GGUF_F32, f32s, 3);
    check_arr_num(g, "a.bool", MODELS_GGUF_BOOL, bools, 3);
    check_arr_num(g, "a.u64", MODELS_GGUF_U64, u64s, 2);
    check_arr_num(g, "a.i64", MODELS_GGUF_I64, i64s, 2);
    check_arr_num(g, "a.f64", MODELS_GGUF_F64, f64s, 2);
    check_arr_num(g, "a.empty", MODELS_GGUF_U32, NULL, 0);
    models_gguf_arr_t a;
    cr_assert_eq(models_gguf_get_arr(g, "a.str", &a), MB_OK);
    cr_assert_eq(a.type, MODELS_GGUF_STR);
    cr_assert_eq(a.n, 4);
    for (uint64_t i = 0; i < 4; i++) {
        models_gguf_value_t v;
        cr_assert_eq(models_gguf_arr_get(&a, i, &v), MB_OK);
        cr_expect_eq(v.str_len, strlen(strs[i]));
        cr_expect(!memcmp(v.str, strs[i], v.str_len));
    }
    cr_expect_eq(models_gguf_n_tensors(g), (int64_t)MB_ARRAY_LEN(tdefs));
    for (size_t i = 0; i < MB_ARRAY_LEN(tdefs); i++) {
        const tdef_t *d = &tdefs[i];
        const models_gguf_tensor_t *t = models_gguf_tensor(g, (int64_t)i);
        cr_assert_not_null(t);
        cr_expect_str_eq(t->name, d->name);
        cr_expect_eq(models_gguf_find_tensor(g, d->name), t);
        cr_expect_eq(t->type, d->type);
        cr_expect_eq(t->n_dims, d->n_dims);
        for (int k = 0; k < 4; k++)
            cr_expect_eq(t->ne[k], d->ne[k], "%s ne[%d]", d->name, k);
        cr_expect_eq(t->nbytes, d->nbytes);
        cr_expect(!memcmp(t->data, d->data, d->nbytes), "%s data differs", d->name);
        cr_expect_eq(t->offset % models_gguf_alignment(g), 0);
        cr_expect_eq(((uintptr_t)t->data - (uintptr_t)models_gguf_tensor(g, 0)->data) %
                         models_gguf_alignment(g), 0);
    }
    cr_expect_null(models_gguf_find_tensor(g, "nope"));
}

static void roundtrip(uint32_t alignment)
{
    make_tensors();
    models_gguf_writer_t *w;
    cr_assert_eq(models_gguf_writer_create(&w), MB_OK);
    fill_writer(w, alignment);
    void *buf;
    size_t len;
    cr_assert_eq(models_gguf_writer_write_mem(w, &buf, &len), MB_OK, "%s", mb_err_msg());
    cr_expect_eq(len, models_gguf_writer_size(w));

    /* to a file, then the same bytes */
    char path[] = "/tmp/mb_gguf_rt_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(models_gguf_writer_write(w, path), MB_OK, "%s", mb_err_msg());
    char *fbuf;
    size_t flen;
    cr_assert_eq(mb_file_read(path, 0, &fbuf, &flen), MB_OK);
    cr_expect(flen == len && !memcmp(fbuf, buf, len), "file and memory writes differ");
    free(fbuf);

    models_gguf_t *g;
    cr_assert_eq(models_gguf_open(path, &g), MB_OK, "%s", mb_err_msg());
    check_file(g, alignment);
    char hex[65], hex2[65];
    cr_assert_eq(models_gguf_sha256(g, hex), MB_OK);
    cr_assert_eq(mb_sha256_file(path, hex2), MB_OK);
    cr_expect_str_eq(hex, hex2);

    /* re-write from the reader: identical bytes */
    models_gguf_writer_t *w2;
    cr_assert_eq(models_gguf_writer_create(&w2), MB_OK);
    cr_assert_eq(models_gguf_writer_copy_from(w2, g), MB_OK, "%s", mb_err_msg());
    void *buf2;
    size_t len2;
    cr_assert_eq(models_gguf_writer_write_mem(w2, &buf2, &len2), MB_OK);
    cr_expect(len2 == len && !memcmp(buf2, buf, len), "re-written file differs");
    free(buf2);
    models_gguf_writer_destroy(w2);
    models_gguf_close(g);

    /* from memory too */
    cr_assert_eq(models_gguf_open_memory(buf, len, "mem", &g), MB_OK, "%s", mb_err_msg());
    check_file(g, alignment);
    models_gguf_close(g);
    unlink(path);
    free(buf);
    models_gguf_writer_destroy(w);
}

Test(gguf, roundtrip_default_alignment) { roundtrip(0); }
Test(gguf, roundtrip_alignment_64) { roundtrip(64); }

Test(gguf, nested_arrays_roundtrip)
{
    /* nested arrays come only from a read file: build one by hand */
    static const uint8_t file[] = {
        'G', 'G', 'U', 'F', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
        8, 0, 0, 0, 0, 0, 0, 0, 'x', '.', 'n', 'e', 's', 't', 'e', 'd', /* key */
        9, 0, 0, 0,                                                   /* ARR */
        9, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,                           /* of 2 ARR */
        5, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0, /* i32 [-1, 7] */
        8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 'h', 'i'}; /* str ["hi"] */
    models_gguf_t *g;
    cr_assert_eq(models_gguf_open_memory(file, sizeof file, "nested", &g), MB_OK, "%s",
                 mb_err_msg());
    models_gguf_arr_t a;
    cr_assert_eq(models_gguf_get_arr(g, "x.nested", &a), MB_OK);
    cr_assert_eq(a.type, MODELS_GGUF_ARR);
    cr_assert_eq(a.n, 2);
    models_gguf_value_t v0, v1, e;
    cr_assert_eq(models_gguf_arr_get(&a, 0, &v0), MB_OK);
    cr_assert_eq(v0.type, MODELS_GGUF_ARR);
    cr_assert_eq(v0.arr.type, MODELS_GGUF_I32);
    int64_t x;
    cr_assert_eq(models_gguf_arr_i64(&v0.arr, 0, &x), MB_OK);
    cr_expect_eq(x, -1);
    cr_assert_eq(models_gguf_arr_i64(&v0.arr, 1, &x), MB_OK);
    cr_expect_eq(x, 7);
    cr_expect_eq(models_gguf_arr_i64(&v0.arr, 2, &x), MB_ERANGE);
    cr_assert_eq(models_gguf_arr_get(&a, 1, &v1), MB_OK);
    cr_assert_eq(models_gguf_arr_get(&v1.arr, 0, &e), MB_OK);
    cr_expect_eq(e.type, MODELS_GGUF_STR);
    cr_expect(e.str_len == 2 && !memcmp(e.str, "hi", 2));
    double d;
    cr_expect_eq(models_gguf_arr_f64(&v1.arr, 0, &d), MB_EFORMAT);

    models_gguf_writer_t *w;
    cr_assert_eq(models_gguf_writer_create(&w), MB_OK);
    cr_assert_eq(models_gguf_writer_copy_from(w, g), MB_OK, "%s", mb_err_msg());
    void *buf;
    size_t len;
    cr_assert_eq(models_gguf_writer_write_mem(w, &buf, &len), MB_OK);
    /* same bytes, then padding to 32 (the hand-made file has none: no tensors) */
    cr_expect_geq(len, sizeof file);
    cr_expect(!memcmp(buf, file, sizeof file));
    free(buf);
    models_gguf_writer_destroy(w);
    models_gguf_close(g);
}

Test(gguf, getters_convert_and_refuse)
{
    make_tensors();
    models_gguf_writer_t *w;
    cr_assert_eq(models_gguf_writer_create(&w), MB_OK);
    fill_writer(w, 0);
    void *buf;
    size_t len;
    cr_assert_eq(models_gguf_writer_write_mem(w, &buf, &len), MB_OK);
    models_gguf_t *g;
    cr_assert_eq(models_gguf_open_memory(buf, len, "getters", &g), MB_OK);
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    int64_t i64;
    double f64;
    const char *s;
    bool b;
    cr_expect_eq(models_gguf_get_u32(g, "missing.key", &u32), MB_ENOENT);
    cr_expect(strstr(mb_err_msg(), "'missing.key' not found"));
    cr_expect_eq(models_gguf_get_u32(g, "t.str", &u32), MB_EFORMAT);
    cr_expect(strstr(mb_err_msg(), "has type str, expected u32"), "%s", mb_err_msg());
    cr_expect_eq(models_gguf_get_u32(g, "t.i8", &u32), MB_ERANGE); /* -100 */
    cr_expect(strstr(mb_err_msg(), "-100 does not fit in u32"), "%s", mb_err_msg());
    cr_expect_eq(models_gguf_get_i32(g, "t.u32", &i32), MB_ERANGE); /* 4e9 */
    cr_expect_eq(models_gguf_get_u32(g, "t.u64", &u32), MB_ERANGE);
    cr_expect_eq(models_gguf_get_u64(g, "t.u64", &u64), MB_OK);
    cr_expect_eq(models_gguf_get_i64(g, "t.u64", &i64), MB_ERANGE);
    cr_expect_eq(models_gguf_get_i64(g, "t.u32", &i64), MB_OK);
    cr_expect_eq(i64, 4000000000ll);
    cr_expect_eq(models_gguf_get_f64(g, "t.f32", &f64), MB_OK);
    cr_expect_eq((float)f64, 0.1f);
    cr_expect_eq(models_gguf_get_f64(g, "t.u32", &f64), MB_EFORMAT);
    cr_expect_eq(models_gguf_get_str(g, "t.u8", &s), MB_EFORMAT);
    cr_expect_eq(models_gguf_get_bool(g, "t.u8", &b), MB_EFORMAT);
    models_gguf_arr_t a;
    cr_expect_eq(models_gguf_get_arr(g, "t.u8", &a), MB_EFORMAT);
    cr_expect_eq(models_gguf_find_key(g, "t.u8") >= 0, true);
    cr_expect_eq(models_gguf_find_key(g, "zzz"), -1);
    cr_expect_str_eq(models_gguf_kv_key(g, 0), "general.architecture");
    cr_expect_null(models_gguf_kv_key(g, models_gguf_n_kv(g)));
    models_gguf_close(g);
    free(buf);
    models_gguf_writer_destroy(w);
}

Test(gguf, writer_refuses_bad_tensors)
{
    models_gguf_writer_t *w;
    cr_assert_eq(models_gguf_writer_create(&w), MB_OK);
    static uint8_t data[1024];
    int64_t ne[4] = {33, 2, 1, 1};
    cr_expect_eq(models_gguf_writer_add_tensor(w, "a", ENGINE_TYPE_Q4_0, 2, ne, data, 36),
                 MB_ESHAPE);
    cr_expect(strstr(mb_err_msg(), "row length 33"), "%s", mb_err_msg());
    ne[0] = 32;
    cr_expect_eq(models_gguf_writer_add_tensor(w, "a", ENGINE_TYPE_Q4_0, 2, ne, data, 37),
                 MB_ESHAPE);
    cr_expect_eq(models_gguf_writer_add_tensor(w, "a", ENGINE_TYPE_Q4_0, 2, ne, data, 36), MB_OK);
    cr_expect_eq(models_gguf_writer_add_tensor(w, "a", ENGINE_TYPE_Q4_0, 2, ne, data, 36),
                 MB_EINVAL);
    cr_expect(strstr(mb_err_msg(), "added twice"), "%s", mb_err_msg());
    cr_expect_eq(models_gguf_writer_add_tensor(w, "b", (engine_type_t)16, 2, ne, data, 36),
                 MB_EINVAL);
    cr_expect_eq(models_gguf_writer_add_tensor(w, "b", ENGINE_TYPE_Q4_0, 5, ne, data, 36),
                 MB_EINVAL);
    ne[1] = 0;
    cr_expect_eq(models_gguf_writer_add_tensor(w, "b", ENGINE_TYPE_Q4_0, 2, ne, data, 0),
                 MB_EINVAL);
    cr_expect_eq(models_gguf_writer_add_tensor(w, "", ENGINE_TYPE_Q4_0, 2, ne, data, 0),
                 MB_EINVAL);
    cr_expect_eq(models_gguf_writer_set_u32(w, "general.alignment", 48), MB_OK);
    void *buf;
    size_t len;
    cr_expect_eq(models_gguf_writer_write_mem(w, &buf, &len), MB_EINVAL);
    cr_expect(strstr(mb_err_msg(), "power of two"), "%s", mb_err_msg());
    /* replacing a key keeps one entry */
    cr_expect_eq(models_gguf_writer_set_u32(w, "general.alignment", 32), MB_OK);
    cr_assert_eq(models_gguf_writer_write_mem(w, &buf, &len), MB_OK);
    models_gguf_t *g;
    cr_assert_eq(models_gguf_open_memory(buf, len, "w", &g), MB_OK, "%s", mb_err_msg());
    cr_expect_eq(models_gguf_n_kv(g), 1);
    cr_expect_eq(models_gguf_n_tensors(g), 1);
    models_gguf_close(g);
    free(buf);
    cr_expect_neq(models_gguf_writer_write(w, "/nonexistent-dir/x.gguf"), MB_OK);
    models_gguf_writer_destroy(w);
    models_gguf_writer_destroy(NULL);
    models_gguf_close(NULL);
}

Test(gguf, open_errors)
{
    models_gguf_t *g;
    cr_expect_eq(models_gguf_open("/nonexistent/file.gguf", &g), MB_ENOENT);
    cr_expect(strstr(mb_err_msg(), "/nonexistent/file.gguf"));
    cr_expect_eq(models_gguf_open("/tmp", &g), MB_EINVAL);
    cr_expect(strstr(mb_err_msg(), "not a regular file"));
}

/* ---- files written by llama.cpp -------------------------------------------------- */
static int peer_files(char names[][256], int max)
{
    DIR *d = opendir(PEER_DIR);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".gguf"))
            snprintf(names[n++], 256, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

Test(gguf_peer, every_file_opens_and_validates)
{
    static char names[64][256];
    int n = peer_files(names, 64);
    if (n <= 0)
        cr_skip("no GGUF files in %s (../shared absent): llama.cpp files not checked", PEER_DIR);
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, PEER_DIR "/%.200s", names[i]);
        models_gguf_t *g;
        int rc = models_gguf_open(path, &g);
        cr_assert_eq(rc, MB_OK, "%s: %s", names[i], mb_err_msg());
        const char *arch;
        cr_assert_eq(models_gguf_get_str(g, "general.architecture", &arch), MB_OK);
        const char *want = strstr(names[i], "qwen3") ? "qwen3" : "llama";
        cr_expect_str_eq(arch, want, "%s", names[i]);
        char key[128];
        uint32_t v;
        snprintf(key, sizeof key, "%s.embedding_length", arch);
        cr_expect_eq(models_gguf_get_u32(g, key, &v), MB_OK, "%s", mb_err_msg());
        cr_expect_eq(v, 256);
        snprintf(key, sizeof key, "%s.block_count", arch);
        cr_expect_eq(models_gguf_get_u32(g, key, &v), MB_OK);
        cr_expect_eq(v, 4);
        snprintf(key, sizeof key, "%s.attention.head_count_kv", arch);
        cr_expect_eq(models_gguf_get_u32(g, key, &v), MB_OK);
        cr_expect_eq(v, 4);
        float eps;
        snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", arch);
        cr_expect_eq(models_gguf_get_f32(g, key, &eps), MB_OK);
        cr_expect_float_eq(eps, 1e-5f, 1e-9f);
        models_gguf_arr_t toks;
        cr_assert_eq(models_gguf_get_arr(g, "tokenizer.ggml.tokens", &toks), MB_OK);
        cr_expect_eq(toks.n, 4096);
        /* tensors: 2 globals + 9 per layer (+2 q/k norms for qwen3), tied embedding */
        int64_t want_t = 2 + 4 * (strstr(names[i], "qwen3") ? 11 : 9);
        cr_expect_eq(models_gguf_n_tensors(g), want_t, "%s: %lld tensors", names[i],
                     (long long)models_gguf_n_tensors(g));
        const models_gguf_tensor_t *te = models_gguf_find_tensor(g, "token_embd.weight");
        cr_assert_not_null(te);
        cr_expect_eq(te->ne[0], 256);
        cr_expect_eq(te->ne[1], 4096);
        const models_gguf_tensor_t *on = models_gguf_find_tensor(g, "output_norm.weight");
        cr_assert_not_null(on);
        cr_expect_eq(on->type, ENGINE_TYPE_F32);
        for (int64_t k = 0; k < models_gguf_n_tensors(g); k++) {
            const models_gguf_tensor_t *t = models_gguf_tensor(g, k);
            cr_expect_eq(t->nbytes, engine_row_size(t->type, t->ne[0]) *
                                        (size_t)(t->ne[1] * t->ne[2] * t->ne[3]));
        }
        /* F32 norms read as numbers near 1 (the fixture's norms are 1 or 1 +- 0.1) */
        float x;
        memcpy(&x, on->data, 4);
        cr_expect(fabsf(x - 1.0f) < 0.2f, "%s: output_norm[0] = %g", names[i], x);
        models_gguf_close(g);
    }
}

/* Re-writing a file llama.cpp wrote gives the same bytes: our layout is theirs. */
Test(gguf_peer, rewrite_is_identical)
{
    static char names[64][256];
    int n = peer_files(names, 64);
    if (n <= 0)
        cr_skip("no GGUF files in %s (../shared absent)", PEER_DIR);
    int done = 0;
    for (int i = 0; i < n && done < 3; i++) {
        if (!strstr(names[i], "Q4_K_M") && !strstr(names[i], "llama-F16"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, PEER_DIR "/%.200s", names[i]);
        models_gguf_t *g;
        cr_assert_eq(models_gguf_open(path, &g), MB_OK, "%s", mb_err_msg());
        models_gguf_writer_t *w;
        cr_assert_eq(models_gguf_writer_create(&w), MB_OK);
        cr_assert_eq(models_gguf_writer_copy_from(w, g), MB_OK, "%s", mb_err_msg());
        void *buf;
        size_t len;
        cr_assert_eq(models_gguf_writer_write_mem(w, &buf, &len), MB_OK);
        char *orig;
        size_t olen;
        cr_assert_eq(mb_file_read(path, 1u << 30, &orig, &olen), MB_OK);
        cr_expect_eq(len, olen, "%s: %zu vs %zu bytes", names[i], len, olen);
        cr_expect(len == olen && !memcmp(buf, orig, len), "%s: re-written bytes differ",
                  names[i]);
        free(orig);
        free(buf);
        models_gguf_writer_destroy(w);
        models_gguf_close(g);
        done++;
    }
    cr_expect_gt(done, 0);
}

/* The vocabulary helper writes what the llama.cpp fixtures carry. */
Test(gguf_peer, vocab_matches_llama_cpp_files)
{
    models_gguf_t *p;
    if (models_gguf_open(PEER_DIR "/tiny-llama-F16.gguf", &p) != MB_OK)
        cr_skip("%s", mb_err_msg());
    models_gguf_writer_t *w;
    cr_assert_eq(models_gguf_writer_create(&w), MB_OK);
    cr_assert_eq(models_gguf_writer_add_vocab(w, 4096), MB_OK);
    cr_expect_eq(models_gguf_writer_add_vocab(w, 3), MB_EINVAL);
    void *buf;
    size_t len;
    cr_assert_eq(models_gguf_writer_write_mem(w, &buf, &len), MB_OK);
    models_gguf_t *g;
    cr_assert_eq(models_gguf_open_memory(buf, len, "vocab", &g), MB_OK, "%s", mb_err_msg());
    cr_expect_eq(models_gguf_n_kv(g), 6);
    for (int64_t i = 0; i < models_gguf_n_kv(g); i++) {
        const char *key = models_gguf_kv_key(g, i);
        int64_t j = models_gguf_find_key(p, key);
        cr_assert_geq(j, 0, "%s not in the llama.cpp file", key);
        models_gguf_value_t a, b;
        models_gguf_kv_value(g, i, &a);
        models_gguf_kv_value(p, j, &b);
        cr_assert_eq(a.type, b.type, "%s", key);
        if (a.type == MODELS_GGUF_STR) {
            cr_expect_str_eq(a.str, b.str);
        } else if (a.type == MODELS_GGUF_ARR) {
            cr_assert_eq(a.arr.type, b.arr.type, "%s", key);
            cr_assert_eq(a.arr.n, b.arr.n, "%s", key);
            for (uint64_t k = 0; k < a.arr.n; k++) {
                models_gguf_value_t x, y;
                models_gguf_arr_get(&a.arr, k, &x);
                models_gguf_arr_get(&b.arr, k, &y);
                if (x.type == MODELS_GGUF_STR)
                    cr_assert(x.str_len == y.str_len && !memcmp(x.str, y.str, x.str_len),
                              "%s[%llu]", key, (unsigned long long)k);
                else
                    cr_assert(!memcmp(&x.v, &y.v, sizeof x.v), "%s[%llu]", key,
                              (unsigned long long)k);
            }
        } else {
            cr_expect(!memcmp(&a.v, &b.v, sizeof a.v), "%s", key);
        }
    }
    models_gguf_close(g);
    models_gguf_close(p);
    free(buf);
    models_gguf_writer_destroy(w);
}

/* Version 2 has the same layout as 3 and is read; a byte-swapped (big-endian)
 * header is refused as unsupported, not misread. */
Test(gguf, version2_and_big_endian)
{
    models_gguf_writer_t *w;
    cr_assert_eq(models_gguf_writer_create(&w), MB_OK);
    cr_assert_eq(models_gguf_writer_set_str(w, "general.architecture", "llama"), MB_OK);
    static const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int64_t ne[1] = {8};
    cr_assert_eq(models_gguf_writer_add_tensor(w, "x", ENGINE_TYPE_F32, 1, ne, x, sizeof x), MB_OK);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(models_gguf_writer_write_mem(w, (void **)&buf, &len), MB_OK);
    buf[4] = 2;
    models_gguf_t *g;
    cr_assert_eq(models_gguf_open_memory(buf, len, "v2", &g), MB_OK, "%s", mb_err_msg());
    cr_expect_eq(models_gguf_version(g), 2);
    cr_expect(!memcmp(models_gguf_find_tensor(g, "x")->data, x, sizeof x));
    models_gguf_close(g);
    buf[4] = 0;
    buf[7] = 3; /* 0x03000000: version 3 written big-endian */
    cr_expect_eq(models_gguf_open_memory(buf, len, "be", &g), MB_EUNSUPPORTED);
    cr_expect(strstr(mb_err_msg(), "big-endian"), "%s", mb_err_msg());
    free(buf);
    models_gguf_writer_destroy(w);
}
