/*
 * gguf_int.h: private to models/. The GGUF reader's index, shared by the
 * parser (gguf_read.c: mapping, header, validation) and the accessors
 * (gguf_get.c: typed metadata lookups, tensor records).
 */
#ifndef MODELS_GGUF_INT_H
#define MODELS_GGUF_INT_H

#include "models.h"

/* A parsed metadata value. Payloads stay in the mapping. */
typedef struct gguf_node {
    uint32_t type;
    uint32_t elem_type;      /* ARR */
    uint64_t n;              /* ARR: elements; STR: bytes */
    const uint8_t *p;        /* STR bytes / ARR elements (fixed-size types) */
    models_gguf_value_t val; /* scalars decoded */
    struct gguf_node *items; /* ARR of ARR: one node per element */
    uint64_t *offs;          /* ARR of STR: file offset of each string (8 bytes each, so a
                              * hostile count costs at most the file's size) */
    char *cstr;              /* top-level STR: NUL-terminated copy */
} gguf_node_t;

typedef struct {
    char *key;
    uint64_t offset; /* file offset of the key, for messages */
    gguf_node_t node;
} gguf_kv_t;

struct models_gguf {
    char *name;
    unsigned flags;
    const uint8_t *base;
    size_t size;
    bool mapped;
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;
    gguf_kv_t *kv;
    int64_t n_kv;
    int64_t *kv_sorted; /* indexes sorted by key */
    models_gguf_tensor_t *tensors;
    int64_t n_tensors;
    int64_t *t_sorted; /* indexes sorted by name */
    bool have_sha;
    char sha[65];
};

/* Little-endian u64 at p (the file's byte order whatever the host's). */
uint64_t gguf_rd_u64(const uint8_t *p);
/* A fixed-size value of GGUF type `type` at p into v. */
void gguf_decode_scalar(uint32_t type, const uint8_t *p, models_gguf_value_t *v);

#endif /* MODELS_GGUF_INT_H */
