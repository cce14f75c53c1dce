/*
 * models.h: where mobench's models come from. GGUF files (read and written),
 * quant recipes, and (other sections) the catalog and synthetic weights.
 * Depends on common/ (mb.h) and engine/ (engine.h: type ids are GGUF's).
 *
 * Sections (each owned by one part of models/; edit only your own):
 *   1. GGUF reader                     models/gguf_read.c
 *   2. GGUF writer                     models/gguf_write.c
 *   3. quant recipes                   models/recipes.c
 *   4. catalog                         models/catalog.c, models/catalog/NAME.ini
 *   5. synthetic weights               models/synthetic.c
 *   6. synthetic GGUF build and cache  models/cache.c
 */
#ifndef MODELS_H
#define MODELS_H

#include "engine.h"
#include "mb.h"

/* ==== 1. GGUF reader ======================================================
 * A GGUF file (versions 2 and 3) mapped read-only. Everything in the header
 * (metadata, tensor infos) is checked when the file is opened, before any
 * tensor data is touched: counts and lengths against the bytes that remain,
 * dims (1..4, each > 0, product without overflow), tensor type known to the
 * engine, row length a multiple of the block size, offsets aligned, data
 * inside the file, no two tensors overlapping, no duplicate names or keys.
 * Failures: MB_EFORMAT (malformed), MB_EVERSION (GGUF v1 or > 3),
 * MB_EUNSUPPORTED (well-formed but not handled, e.g. a tensor type mobench
 * has no kernels for), each message naming the file, the key or tensor, what
 * is wrong and the file offset. */

#define MODELS_GGUF_DEFAULT_ALIGNMENT 32
#define MODELS_GGUF_MAX_ALIGNMENT 65536 /* general.alignment above this is refused (64 KiB pages) */
#define MODELS_GGUF_MAX_DIMS 4
#define MODELS_GGUF_MAX_NAME 64     /* tensor name length (spec: at most 64 bytes) */
#define MODELS_GGUF_MAX_ARR_DEPTH 8 /* nesting of arrays in arrays */

/* Metadata value types; the values are the file's type ids. */
typedef enum {
    MODELS_GGUF_U8 = 0,
    MODELS_GGUF_I8 = 1,
    MODELS_GGUF_U16 = 2,
    MODELS_GGUF_I16 = 3,
    MODELS_GGUF_U32 = 4,
    MODELS_GGUF_I32 = 5,
    MODELS_GGUF_F32 = 6,
    MODELS_GGUF_BOOL = 7,
    MODELS_GGUF_STR = 8,
    MODELS_GGUF_ARR = 9,
    MODELS_GGUF_U64 = 10,
    MODELS_GGUF_I64 = 11,
    MODELS_GGUF_F64 = 12,
    MODELS_GGUF_NTYPES = 13
} models_gguf_vtype_t;

typedef struct models_gguf models_gguf_t;

/* An array value (a view; valid while its file is open). */
typedef struct {
    models_gguf_vtype_t type; /* element type */
    uint64_t n;               /* number of elements */
    const void *priv;         /* the reader's node */
} models_gguf_arr_t;

/* One metadata value, as stored (no conversion, so a re-write is bit-exact). */
typedef struct {
    models_gguf_vtype_t type;
    union {
        uint64_t u64; /* U8, U16, U32, U64 */
        int64_t i64;  /* I8, I16, I32, I64 */
        float f32;    /* F32 */
        double f64;   /* F64 */
        bool b;       /* BOOL */
    } v;
    const char *str;       /* STR: bytes (NUL-terminated for top-level values) */
    size_t str_len;        /* STR: length in bytes */
    models_gguf_arr_t arr; /* ARR */
} models_gguf_value_t;

/* One tensor. ne[0] is the row length; unused dims are 1. */
typedef struct {
    const char *name;     /* NUL-terminated copy */
    engine_type_t type;
    uint32_t n_dims;
    int64_t ne[MODELS_GGUF_MAX_DIMS];
    uint64_t offset;      /* from the start of the data section */
    uint64_t info_offset; /* file offset of this tensor's info (for messages) */
    const void *data;     /* inside the mapping */
    size_t nbytes;
} models_gguf_tensor_t;

/* Maps and validates path. */
int models_gguf_open(const char *path, models_gguf_t **out);
/* Same from a buffer the caller keeps alive until close (fuzzing, tests);
 * name is used in messages. Nothing is copied. */
int models_gguf_open_memory(const void *data, size_t size, const char *name,
                            models_gguf_t **out);
void models_gguf_close(models_gguf_t *g); /* NULL: no-op */
/* With flags. MODELS_GGUF_OPEN_ANY_TYPE: also accept tensors of ggml types the
 * engine has no kernels for (IQ2_XXS, IQ4_XS, ...; sizes still checked), for
 * inspecting; their engine_type_t is the ggml id, engine_type_traits() NULL. */
#define MODELS_GGUF_OPEN_ANY_TYPE 1u
#define MODELS_GGUF_GGML_TYPE_COUNT 40 /* one past the largest ggml type id known here */
int models_gguf_open_ex(const char *path, unsigned flags, models_gguf_t **out);
int models_gguf_open_memory_ex(const void *data, size_t size, const char *name, unsigned flags,
                               models_gguf_t **out);

const char *models_gguf_name(const models_gguf_t *g); /* path or name given */
uint32_t models_gguf_version(const models_gguf_t *g);
uint32_t models_gguf_alignment(const models_gguf_t *g);
uint64_t models_gguf_data_offset(const models_gguf_t *g); /* start of the data section */
uint64_t models_gguf_file_size(const models_gguf_t *g);
/* SHA-256 of the whole file, computed on first request. */
int models_gguf_sha256(models_gguf_t *g, char hex[65]);

/* Metadata, in file order. */
int64_t models_gguf_n_kv(const models_gguf_t *g);
const char *models_gguf_kv_key(const models_gguf_t *g, int64_t i);
int models_gguf_kv_value(const models_gguf_t *g, int64_t i, models_gguf_value_t *out);
/* Index of key, or -1. */
int64_t models_gguf_find_key(const models_gguf_t *g, const char *key);

/* Typed getters by key: MB_ENOENT if absent (message names the key), MB_EFORMAT
 * if the stored type does not convert. Integers convert between widths when
 * the value fits; get_f32/get_f64 accept F32 and F64. get_str gives the
 * NUL-terminated value (valid while the file is open). */
int models_gguf_get_u32(const models_gguf_t *g, const char *key, uint32_t *out);
int models_gguf_get_i32(const models_gguf_t *g, const char *key, int32_t *out);
int models_gguf_get_u64(const models_gguf_t *g, const char *key, uint64_t *out);
int models_gguf_get_i64(const models_gguf_t *g, const char *key, int64_t *out);
int models_gguf_get_f32(const models_gguf_t *g, const char *key, float *out);
int models_gguf_get_f64(const models_gguf_t *g, const char *key, double *out);
int models_gguf_get_bool(const models_gguf_t *g, const char *key, bool *out);
int models_gguf_get_str(const models_gguf_t *g, const char *key, const char **out);
int models_gguf_get_arr(const models_gguf_t *g, const char *key, models_gguf_arr_t *out);

/* Element i of an array (any type, arrays nested). Strings inside arrays are
 * NOT NUL-terminated: use str/str_len. MB_ERANGE if i >= n. */
int models_gguf_arr_get(const models_gguf_arr_t *a, uint64_t i, models_gguf_value_t *out);
/* Numeric element i converted to double / int64 (MB_EFORMAT for STR/ARR). */
int models_gguf_arr_f64(const models_gguf_arr_t *a, uint64_t i, double *out);
int models_gguf_arr_i64(const models_gguf_arr_t *a, uint64_t i, int64_t *out);

/* Size in bytes of one element of a fixed-size type; 0 for STR, ARR, unknown. */
size_t models_gguf_vtype_size(models_gguf_vtype_t t);
const char *models_gguf_vtype_name(models_gguf_vtype_t t); /* "u32", "str", "?" */
/* ggml's name of a type id, also of ids the engine does not support ("IQ2_XXS"); NULL if unknown. */
const char *models_gguf_ggml_type_name(uint32_t type_id);

/* Tensors, in file order. */
int64_t models_gguf_n_tensors(const models_gguf_t *g);
const models_gguf_tensor_t *models_gguf_tensor(const models_gguf_t *g, int64_t i);
const models_gguf_tensor_t *models_gguf_find_tensor(const models_gguf_t *g, const char *name);
/* Number of values in a tensor (product of ne). */
int64_t models_gguf_tensor_nelem(const models_gguf_tensor_t *t);

/* ==== 2. GGUF writer ======================================================
 * Builds a file in memory (metadata + tensors) and writes GGUF v3: header,
 * metadata in insertion order, tensor infos, then each tensor's data padded
 * to the alignment (general.alignment if set, else 32), exactly the layout
 * llama.cpp writes. Tensor data is referenced, not copied: it must stay valid
 * until models_gguf_writer_write returns. Setting an existing key replaces
 * its value in place. */
typedef struct models_gguf_writer models_gguf_writer_t;

int models_gguf_writer_create(models_gguf_writer_t **out);
void models_gguf_writer_destroy(models_gguf_writer_t *w); /* NULL: no-op */

int models_gguf_writer_set_u8(models_gguf_writer_t *w, const char *key, uint8_t v);
int models_gguf_writer_set_i8(models_gguf_writer_t *w, const char *key, int8_t v);
int models_gguf_writer_set_u16(models_gguf_writer_t *w, const char *key, uint16_t v);
int models_gguf_writer_set_i16(models_gguf_writer_t *w, const char *key, int16_t v);
int models_gguf_writer_set_u32(models_gguf_writer_t *w, const char *key, uint32_t v);
int models_gguf_writer_set_i32(models_gguf_writer_t *w, const char *key, int32_t v);
int models_gguf_writer_set_u64(models_gguf_writer_t *w, const char *key, uint64_t v);
int models_gguf_writer_set_i64(models_gguf_writer_t *w, const char *key, int64_t v);
int models_gguf_writer_set_f32(models_gguf_writer_t *w, const char *key, float v);
int models_gguf_writer_set_f64(models_gguf_writer_t *w, const char *key, double v);
int models_gguf_writer_set_bool(models_gguf_writer_t *w, const char *key, bool v);
int models_gguf_writer_set_str(models_gguf_writer_t *w, const char *key, const char *v);
/* Array of n fixed-size elements of type (data: n packed native values). */
int models_gguf_writer_set_arr(models_gguf_writer_t *w, const char *key,
                               models_gguf_vtype_t type, const void *data, uint64_t n);
int models_gguf_writer_set_arr_str(models_gguf_writer_t *w, const char *key,
                                   const char *const *strs, uint64_t n);
/* Any value, nested arrays included (e.g. one read by models_gguf_kv_value). Copied. */
int models_gguf_writer_set_value(models_gguf_writer_t *w, const char *key,
                                 const models_gguf_value_t *v);

/* Adds a tensor (ne[0] = row length; n_dims 1..4; nbytes must equal the size
 * its type and shape give). Names are unique. data NULL: the data comes from
 * the fill callback of models_gguf_writer_write_fill (one tensor in memory at
 * a time, for models larger than RAM). */
int models_gguf_writer_add_tensor(models_gguf_writer_t *w, const char *name, engine_type_t type,
                                  uint32_t n_dims, const int64_t *ne, const void *data,
                                  size_t nbytes);
/* Copies all metadata and tensors of an open file (tensor data referenced). */
int models_gguf_writer_copy_from(models_gguf_writer_t *w, const models_gguf_t *g);

/* Minimal vocabulary llama.cpp loads: tokenizer.ggml.model = "llama", tokens
 * "<unk>" "<s>" "</s>" then "t3" .. "t<n_vocab-1>", scores 0, token types
 * (2 unknown, 3 control, 1 normal), bos 1, eos 2. n_vocab >= 4. */
int models_gguf_writer_add_vocab(models_gguf_writer_t *w, uint32_t n_vocab);

/* Bytes the file will have. */
uint64_t models_gguf_writer_size(const models_gguf_writer_t *w);
/* Writes the file (temp file beside path, fsync, rename). */
int models_gguf_writer_write(models_gguf_writer_t *w, const char *path);
/* Like write, but tensors added with data NULL are produced by fill(user,
 * tensor index, buffer of nbytes) just before they are written. */
typedef int (*models_gguf_fill_fn)(void *user, int64_t index, void *buf, size_t nbytes);
int models_gguf_writer_write_fill(models_gguf_writer_t *w, const char *path,
                                  models_gguf_fill_fn fill, void *user);
/* Writes into a malloc'd buffer (tests, small files). */
int models_gguf_writer_write_mem(models_gguf_writer_t *w, void **out, size_t *len);

/* ==== 3. quant recipes (models/recipes.c) ===============================
 * A recipe names a quantization ("Q4_K_M") and decides each tensor's type
 * with llama-quantize's standard rules (no importance matrix): norms and
 * other 1-D tensors keep their type; output / tied token_embd Q6_K; more
 * bits for attn_v, ffn_down (and attn_output, attn_qkv) on llama.cpp's
 * layer subsets; fallbacks when a row length does not fit the type (Q2_K,
 * Q3_K -> IQ4_NL, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, else F16). */
typedef struct {
    const char *name;       /* "Q4_K_M" */
    engine_type_t base;     /* type of most quantized tensors */
    uint32_t file_type;     /* llama.cpp's llama_ftype, for general.file_type */
    const char *summary;
} models_recipe_t;

/* One tensor as the recipe sees it. */
typedef struct {
    const char *name;        /* "blk.3.attn_v.weight" */
    uint32_t n_dims;
    int64_t ne0;             /* row length */
    int layer;               /* block index (models_recipe_layer_of), -1 for global tensors */
    int n_layer;
    int n_gqa;               /* n_head / n_head_kv */
    bool has_output;         /* a separate output.weight exists (else the embedding is tied) */
    engine_type_t src_type;  /* its type now: kept when the tensor is not quantized */
} models_recipe_tensor_t;

int models_recipe_count(void);
const models_recipe_t *models_recipe_get(int i); /* NULL if out of range */
/* Case-insensitive; MB_ENOENT listing the recipes if unknown. */
int models_recipe_find(const char *name, const models_recipe_t **out);
/* Whether the recipe's type applies at all (false: norms, 1-D, AltUp, ...). */
bool models_recipe_quantizes(const models_recipe_tensor_t *t);
/* The type tensor t gets under recipe r. */
engine_type_t models_recipe_tensor_type(const models_recipe_t *r, const models_recipe_tensor_t *t);
/* N of "blk.N.*", or -1. */
int models_recipe_layer_of(const char *name);

/* ==== 4. catalog (models/catalog.c; data: models/catalog/NAME.ini) =========
 * The supported models with their exact hyperparameters, compiled in (the
 * .ini texts are embedded by models/catalog_data.c, regenerated with
 * models/catalog/embed.sh; a test checks both agree). docs/MODELS.md. */
#define MODELS_NAME_MAX 48

typedef struct {
    char name[MODELS_NAME_MAX]; /* "llama-3.2-1b" */
    char display[64];           /* "Llama 3.2 1B" */
    char source[256];           /* where the hyperparameters come from */
    char exact[768];            /* what the engine computes exactly */
    char approx[768];           /* what is approximated ("none") */
    engine_hparams_t hp;
    int altup_num_inputs;       /* Gemma 3n AltUp streams (counted, not computed); 0 = none */
} models_spec_t;

int models_catalog_count(void);
const models_spec_t *models_catalog_get(int i); /* NULL if out of range */
/* MB_ENOENT with the list of names if unknown. */
int models_catalog_find(const char *name, const models_spec_t **out);
/* Parses one catalog file's text (origin names it in messages). */
int models_spec_parse(const char *text, const char *origin, models_spec_t *out);
/* The embedded catalog texts (name = file name without .ini). */
int models_catalog_text_count(void);
const char *models_catalog_text(int i, const char **file);

/* The tensors of a model as stored in a checkpoint/GGUF (llama.cpp names). */
typedef enum {
    MODELS_ROLE_TOKEN_EMBD = 0, MODELS_ROLE_OUTPUT, MODELS_ROLE_NORM,
    MODELS_ROLE_ATTN_Q, MODELS_ROLE_ATTN_K, MODELS_ROLE_ATTN_V, MODELS_ROLE_ATTN_QKV,
    MODELS_ROLE_ATTN_OUT, MODELS_ROLE_FFN_GATE, MODELS_ROLE_FFN_UP, MODELS_ROLE_FFN_GATE_UP,
    MODELS_ROLE_FFN_DOWN, MODELS_ROLE_LAUREL, MODELS_ROLE_PLE, MODELS_ROLE_PLE_EMBD,
    MODELS_ROLE_ALTUP,
    MODELS_ROLE_ROPE_FREQS, /* llama3 RoPE factors (rope_freqs.weight): derived, not learned */
    MODELS_ROLE_COUNT
} models_role_t;

typedef struct {
    char name[64];      /* "blk.3.attn_q.weight" */
    models_role_t role;
    int layer;          /* -1 for global tensors */
    int n_dims;
    int64_t ne[4];      /* ne[0] = row length */
    bool computed;      /* false: stored in memory, not used by the engine (AltUp) */
} models_tensor_info_t;

/* malloc'd list of every tensor; *n its length. */
int models_spec_tensors(const models_spec_t *spec, models_tensor_info_t **out, int *n);
int64_t models_tensor_nelem(const models_tensor_info_t *t);
uint64_t models_spec_params(const models_spec_t *spec);
/* Parameters the engine reads per token (no embedding tables, no AltUp). */
uint64_t models_spec_params_compute(const models_spec_t *spec);
/* F16 K+V bytes for n_tokens positions, as engine_ctx_create allocates them
 * (KV-shared layers own none; sliding-window layers keep all positions). */
uint64_t models_spec_kv_bytes(const models_spec_t *spec, int64_t n_tokens);
/* Weight bytes when each tensor gets pick(tensor) (engine_row_size per row);
 * MB_EINVAL if a row length does not fit the chosen type. */
typedef engine_type_t (*models_type_pick_fn)(const models_tensor_info_t *t, void *user);
int models_spec_bytes(const models_spec_t *spec, models_type_pick_fn pick, void *user,
                      uint64_t *out);
/* Fills hparams (== spec->hp after validation). */
int models_spec_hparams(const models_spec_t *spec, engine_hparams_t *out);
/* The engine_model_t slot of a tensor name ("blk.3.attn_q.weight"), or NULL
 * if the engine has no slot for it (AltUp, rope_freqs). */
engine_tensor_t *models_model_slot(engine_model_t *m, const char *name);

/* ==== 5. synthetic weights (models/synthetic.c, docs/SYNTHETIC.md) ========
 * Deterministic from (model name, seed, tensor name): trained-like per-tensor
 * scales, Student-t tails, a few outlier channels, norms near their usual
 * values. One tensor at a time, so a 3B model never needs all of its F32. */
/* The generator's version: it changes whenever the same (model, seed) starts
 * giving other values, so files made by an older generator (the cache) can
 * be told apart and rebuilt. 2: depth-scaled residual branches, 3: their
 * gain 0.35 -> 0.25 (both 2026-11-26). */
#define MODELS_SYNTH_VERSION 3
int models_synth_version(void);
/* Fills out (models_tensor_nelem(t) floats) with tensor t's values. */
int models_synth_tensor(const models_spec_t *spec, uint64_t seed, const models_tensor_info_t *t,
                        float *out);
/* Rows row0..row0+nrows-1 only (rows of ne[0] values; a 3-D tensor has
 * ne[1]*ne[2] rows): each row has its own stream, so threads can split a
 * tensor and results do not depend on the split. */
int models_synth_rows(const models_spec_t *spec, uint64_t seed, const models_tensor_info_t *t,
                      int64_t row0, int64_t nrows, float *out);
/* A whole F32 model in memory (small models, tests, quality reference).
 * type: F32, F16 or BF16 for the matrices (norms stay F32). */
int models_synth_build(const models_spec_t *spec, uint64_t seed, engine_type_t type,
                       engine_model_t **out);
void models_synth_free(engine_model_t *m); /* NULL: no-op */

/* ==== 6. synthetic GGUF files and their cache (models/cache.c) ===========
 * A catalog model's synthetic weights (section 5), typed by a recipe, written
 * as a GGUF file llama.cpp can load (its metadata keys, a minimal vocabulary,
 * rope_freqs.weight for Llama 3 RoPE scaling) plus provenance keys
 * mobench.weights = "synthetic", mobench.model, mobench.seed, mobench.recipe,
 * mobench.version. One tensor in memory at a time; n_threads 0 = all cores. */
int models_build_gguf(const models_spec_t *spec, const models_recipe_t *r, uint64_t seed,
                      int n_threads, const char *path);
/* $MOBENCH_CACHE, else $HOME/.cache/mobench. */
int models_cache_dir(char *buf, size_t len);
/* DIR/MODEL-sSEED-RECIPE.gguf */
int models_cache_path(const models_spec_t *spec, const models_recipe_t *r, uint64_t seed,
                      char *buf, size_t len);
/* The cached file for (model, seed, recipe), built first if absent, unreadable
 * or made by another mobench version; *built (may be NULL) says whether it was. */
int models_cache_get(const models_spec_t *spec, const models_recipe_t *r, uint64_t seed,
                     int n_threads, char *path, size_t len, bool *built);

/* ==== 7. GGUF file -> engine model (models/loader.c) ======================
 * Hyperparameters from llama.cpp's metadata keys, tensors by llama.cpp's
 * names, types as stored (no conversion, no copy: data points into the
 * mapping, so g must stay open until models_model_free). Architectures:
 * llama, qwen3, phi3, smollm3, gemma3n; others MB_EUNSUPPORTED. */
int models_model_from_gguf(const models_gguf_t *g, engine_model_t **out);
void models_model_free(engine_model_t *m); /* NULL: no-op; leaves the file open */
/* Whether g can be a model at all, from its metadata and tensor list alone
 * (nothing is mapped or allocated by size): a known architecture, valid
 * hyperparameters, and tensors for every layer block_count names. The
 * benchmark calls it before estimating memory, so that a file that can never
 * load fails with this reason instead of "does not fit". *hp may be NULL. */
int models_gguf_model_check(const models_gguf_t *g, engine_hparams_t *hp);

/* ==== 8. quality of a recipe (models/quality.c) ============================
 * Against the F32 model it is made from, on sequences sampled from that F32
 * model at temperature 1 (no tokenizer needed). */
typedef struct {
    int n_seq;     /* sequences */
    int seq_len;   /* tokens per sequence (>= 2) */
    uint64_t seed; /* sampling seed */
} models_quality_opts_t;

typedef struct {
    const char *recipe;
    int n_positions;          /* next-token distributions compared */
    double kld_mean, kld_p99, kld_max; /* KL(P_f32 || P_recipe), nats */
    double top1;              /* argmax agreement */
    double ppl_ref, ppl, ppl_ratio; /* perplexities of the sampled tokens, and ppl / ppl_ref */
    size_t weight_bytes;      /* of the quantized model */
} models_quality_t;

/* The F32 model f32 (of spec) re-typed by recipe r (its per-tensor rules; the
 * quantizers run on the pool), in memory. Free with models_quantized_free. */
int models_quantize_model(const models_spec_t *spec, const engine_model_t *f32,
                          const models_recipe_t *r, engine_pool_t *pool, engine_model_t **out);
void models_quantized_free(engine_model_t *m);
/* out[i] for recipes[i]. */
int models_quality_run(const models_spec_t *spec, const engine_model_t *f32,
                       const models_recipe_t *const *recipes, int n_recipes,
                       const models_quality_opts_t *o, engine_pool_t *pool,
                       models_quality_t *out);

/* ==== 9. tokenizers (models/tokenizer*.c, models/unicode*.c; docs/TOKENIZER.md)
 * From a GGUF file's tokenizer.* metadata only (a vocab-only file with no
 * tensors is fine), the way llama.cpp tokenizes:
 *   tokenizer.ggml.model = "llama": SentencePiece (scores, byte fallback
 *     <0xNN>, a leading space before the text and after each special token;
 *     Phi-3 and Gemma files are this kind);
 *   tokenizer.ggml.model = "gpt2": byte-level BPE (merges), its pre-tokenizer
 *     chosen by tokenizer.ggml.pre (default, gpt-2, llama-bpe, qwen2,
 *     starcoder, refact, deepseek-llm, deepseek-coder, falcon, mpt, smollm and
 *     the other names llama.cpp maps onto these).
 * Another model or pre-tokenizer is MB_EUNSUPPORTED naming it. Any bytes are
 * accepted as text (invalid UTF-8 included: SPM falls back to byte tokens,
 * BPE maps every byte). Ids are llama_token's: int32_t, 0 .. n_vocab-1. */
typedef struct models_tokenizer models_tokenizer_t;

/* Reads the tokenizer of gguf_path (metadata only; the file is closed again). */
int models_tokenizer_open(const char *gguf_path, models_tokenizer_t **out);
/* Same from an open file (the tokenizer copies what it needs). */
int models_tokenizer_from_gguf(const models_gguf_t *g, models_tokenizer_t **out);
void models_tokenizer_destroy(models_tokenizer_t *tok); /* NULL: no-op */
/* text[0..len) -> *ids_out (malloc'd, caller frees; NULL when *n_out is 0 is
 * allowed). add_special: BOS/EOS as add_bos_token/add_eos_token say.
 * parse_special: control tokens written in the text ("<s>", "<|im_end|>")
 * become their ids; user-defined tokens always do (as in llama.cpp). */
int models_tokenizer_encode(const models_tokenizer_t *tok, const char *text, size_t len,
                            int add_special, int parse_special, int32_t **ids_out,
                            size_t *n_out);
/* ids -> text (malloc'd and NUL-terminated, *len_out bytes without the NUL).
 * Control and unknown tokens give no text; SPM drops the space the encoder
 * put before the text (and after special tokens), so decode(encode(t)) == t.
 * MB_ERANGE for an id outside 0 .. n_vocab-1. */
int models_tokenizer_decode(const models_tokenizer_t *tok, const int32_t *ids, size_t n,
                            char **text_out, size_t *len_out);
int models_tokenizer_n_vocab(const models_tokenizer_t *tok);
int32_t models_tokenizer_bos(const models_tokenizer_t *tok); /* -1 if none */
int32_t models_tokenizer_eos(const models_tokenizer_t *tok); /* -1 if none */
int models_tokenizer_add_bos(const models_tokenizer_t *tok); /* add_bos_token, else the model's default */
int models_tokenizer_add_eos(const models_tokenizer_t *tok);
/* "llama/default" (SPM), "gpt2/qwen2" (BPE/pre-tokenizer as named in the file). */
const char *models_tokenizer_kind(const models_tokenizer_t *tok);
/* The text of token id (the vocabulary's bytes, not decoded), NULL if out of range. */
const char *models_tokenizer_token_text(const models_tokenizer_t *tok, int32_t id, size_t *len);
/* 1 when both give the same ids for every text (same model, pre-tokenizer,
 * tokens, scores, types, merges and special-token settings), else 0. */
int models_tokenizer_same_vocab(const models_tokenizer_t *a, const models_tokenizer_t *b);

#endif /* MODELS_H */
