/*
 * fuzz_gguf.c: libFuzzer target for the GGUF reader (and the writer on what
 * the reader accepts). Invariants checked beyond "no crash, no sanitizer
 * report": every accepted file's values and tensor bytes can be read, and
 * re-writing it gives a file the reader accepts with the same contents.
 */
#include <stdlib.h>
#include <string.h>

#include "models.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void touch_value(const models_gguf_value_t *v, int depth)
{
    if (v->type == MODELS_GGUF_STR && v->str_len)
        sink += (uint8_t)v->str[0] + (uint8_t)v->str[v->str_len - 1];
    if (v->type != MODELS_GGUF_ARR)
        return;
    for (uint64_t i = 0; i < v->arr.n && i < 64; i++) {
        models_gguf_value_t e;
        if (models_gguf_arr_get(&v->arr, i, &e) != MB_OK)
            abort();
        touch_value(&e, depth + 1);
    }
    if (v->arr.n) {
        models_gguf_value_t e;
        if (models_gguf_arr_get(&v->arr, v->arr.n - 1, &e) != MB_OK)
            abort();
        touch_value(&e, depth + 1);
    }
}

static void touch(const models_gguf_t *g)
{
    for (int64_t i = 0; i < models_gguf_n_kv(g); i++) {
        models_gguf_value_t v;
        if (models_gguf_kv_value(g, i, &v) != MB_OK)
            abort();
        touch_value(&v, 0);
        if (models_gguf_find_key(g, models_gguf_kv_key(g, i)) != i)
            abort();
    }
    for (int64_t i = 0; i < models_gguf_n_tensors(g); i++) {
        const models_gguf_tensor_t *t = models_gguf_tensor(g, i);
        const uint8_t *p = t->data;
        if (t->nbytes)
            sink += p[0] + p[t->nbytes - 1];
        if (models_gguf_find_tensor(g, t->name) != t)
            abort();
    }
    uint32_t u;
    const char *s;
    (void)models_gguf_get_u32(g, "general.alignment", &u);
    (void)models_gguf_get_str(g, "general.architecture", &s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mb_log_level_set(MB_LOG_QUIET);
    models_gguf_t *g = NULL;
    /* permissive open (inspect's): accepts more, must be as safe */
    if (models_gguf_open_memory_ex(data, size, "fuzz", MODELS_GGUF_OPEN_ANY_TYPE, &g) == MB_OK) {
        touch(g);
        models_gguf_close(g);
        g = NULL;
    }
    if (models_gguf_open_memory(data, size, "fuzz", &g) != MB_OK)
        return 0;
    touch(g);
    models_gguf_writer_t *w = NULL;
    void *buf = NULL;
    size_t len = 0;
    if (models_gguf_writer_create(&w) || models_gguf_writer_copy_from(w, g) ||
        models_gguf_writer_write_mem(w, &buf, &len))
        abort(); /* everything the reader accepts must be writable */
    models_gguf_t *g2 = NULL;
    if (models_gguf_open_memory(buf, len, "rewrite", &g2) != MB_OK)
        abort();
    if (models_gguf_n_kv(g2) != models_gguf_n_kv(g) ||
        models_gguf_n_tensors(g2) != models_gguf_n_tensors(g))
        abort();
    for (int64_t i = 0; i < models_gguf_n_tensors(g); i++) {
        const models_gguf_tensor_t *a = models_gguf_tensor(g, i), *b = models_gguf_tensor(g2, i);
        if (strcmp(a->name, b->name) || a->type != b->type || a->nbytes != b->nbytes ||
            memcmp(a->ne, b->ne, sizeof a->ne) || (a->nbytes && memcmp(a->data, b->data, a->nbytes)))
            abort();
    }
    models_gguf_close(g2);
    free(buf);
    models_gguf_writer_destroy(w);
    models_gguf_close(g);
    return 0;
}
