/*
 * kernels.h: private to engine/kernels/. The method table each ISA variant
 * fills in, and the one kernel signature all variants share.
 */
#ifndef ENGINE_KERNELS_H
#define ENGINE_KERNELS_H

#include "engine.h"
#include "ops.h"

/* Tile kernel: for weight rows i < nr and activation rows j < mr,
 *   y[j * ldy + i] = dot(W row i, act row j)
 * W rows are wstride bytes apart (k values of the weight type), act rows
 * astride bytes apart (k values of the weight type's vec_dot_type). k is a
 * multiple of the block size. Variants tile registers over rows of both so
 * a weight block is unpacked once for several activation rows (prefill) and
 * an activation block is loaded once for several weight rows (decode). */
typedef void (*kern_mm_fn)(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,
                           size_t astride, int64_t mr, float *y, int64_t ldy);

/* Activation row quantizer (x: k floats -> one row of the vec_dot_type). */
typedef void (*kern_quant_fn)(const float *x, void *y, int64_t k);

/* A CPU feature as a bit of probes_features_t.bits (variant needs below). */
#define KERN_FEAT(x) ((uint64_t)1 << PROBES_FEAT_##x)

typedef struct {
    const char *name;
    /* The CPU features the variant's files are compiled for (their flags in
     * CMakeLists.txt): the compiler may use any of them anywhere in those
     * files, so every one must be present. Data, not code, so that dispatch
     * can be asked about any feature set (mobench kernels --list --isa). */
    uint64_t needs;
    /* Extra features one weight type's kernel needs (its own file, own
     * flags); without them that type falls back, explicitly, to the next
     * variant below that has it (dispatch.c). */
    uint64_t needs_type[ENGINE_TYPE_COUNT];
    /* Per weight type; NULL = the variant does not specialize it and the
     * scalar reference is used (engine_kernels_specialized says so). */
    kern_mm_fn mm[ENGINE_TYPE_COUNT];
    /* Per activation type (Q8_0, Q8_1, Q8_K, ...); NULL = reference from_float. */
    kern_quant_fn quant[ENGINE_TYPE_COUNT];
    /* The vec_dot_type each specialized mm expects; checked against the type
     * table at bind time (a mismatch falls back to the reference). */
    engine_type_t act_type[ENGINE_TYPE_COUNT];
    /* Optional repacked weight layout (engine_tensor_prepare): pack[t] writes
     * n rows of k values into pack_rows-row tiles (rows past n zero-filled),
     * pack_rows * row size bytes per tile; mm_packed[t] then gets the tile
     * holding the first row and the row size as wstride. packed_layout is the
     * id stored in engine_tensor_t.packed_layout (unique per variant). */
    int packed_layout;
    int pack_rows;
    int64_t pack_max_k; /* longest row the packed kernels take */
    void (*pack[ENGINE_TYPE_COUNT])(const void *src, void *dst, int64_t k, int64_t n);
    kern_mm_fn mm_packed[ENGINE_TYPE_COUNT];
    /* Inverse of pack for one block: block b of row r, in the plain GGUF
     * layout, from the packed tiles. With it the engine reads rows (token
     * embeddings, the reference forward) without the original data, so the
     * owner can drop it (engine_tensor_data_needed). */
    void (*unpack[ENGINE_TYPE_COUNT])(const void *packed, void *block, int64_t k, int64_t r,
                                      int64_t b);
    /* Attention and activations of the forward pass; NULL = kern_ops_scalar. */
    const kern_ops_t *ops;
} kern_variant_t;

/* Variants, each defined in its own file (scalar.c, x86/..., arm/...). */
/* Memory for repacked weights (wmem.c): huge-page backed, 64-byte aligned.
 * kern_wmem_alloc returns NULL when out of memory; kern_wmem_free(NULL) is a
 * no-op. */
void *kern_wmem_alloc(size_t bytes);
void kern_wmem_free(void *p);

extern const kern_variant_t kern_variant_scalar;
#if defined(__x86_64__)
extern const kern_variant_t kern_variant_avx2;
extern const kern_variant_t kern_variant_avx512;
#endif
#if defined(__aarch64__)
extern const kern_variant_t kern_variant_neon;
extern const kern_variant_t kern_variant_dotprod;
extern const kern_variant_t kern_variant_i8mm;
#endif

/* The scalar tile over the reference vec_dot of the type table (needs the
 * weight type: the reference function comes from its traits). */
void kern_scalar_mm(engine_type_t type, int64_t k, const void *w, size_t wstride, int64_t nr,
                    const void *act, size_t astride, int64_t mr, float *y, int64_t ldy);

#endif /* ENGINE_KERNELS_H */
