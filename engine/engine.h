/*
 * engine.h: mobench's kernel engine. Quantization formats byte-identical to
 * GGUF's, scalar reference kernels plus ISA variants bound once at start-up,
 * a persistent thread pool, and the forward pass over an in-memory model.
 *
 * Knows nothing of files, catalogs or benchmarks. Depends on common/ (mb.h)
 * and probes/ (CPU features for kernel dispatch).
 *
 * Sections (each owned by one part of engine/):
 *   1. types and block layouts         engine/quant/
 *   2. thread pool                     engine/pool.c
 *   3. kernels: dispatch and matmul    engine/kernels/
 *   4. model and forward pass          engine/model/
 */
#ifndef ENGINE_H
#define ENGINE_H

#include "mb.h"
#include "probes.h"

/* ==== 1. types and block layouts ==========================================
 * Enum values are GGUF/ggml type ids, so they go to and from files as is. */
typedef enum {
    ENGINE_TYPE_F32 = 0,
    ENGINE_TYPE_F16 = 1,
    ENGINE_TYPE_Q4_0 = 2,
    ENGINE_TYPE_Q4_1 = 3,
    ENGINE_TYPE_Q5_0 = 6,
    ENGINE_TYPE_Q5_1 = 7,
    ENGINE_TYPE_Q8_0 = 8,
    ENGINE_TYPE_Q8_1 = 9,
    ENGINE_TYPE_Q2_K = 10,
    ENGINE_TYPE_Q3_K = 11,
    ENGINE_TYPE_Q4_K = 12,
    ENGINE_TYPE_Q5_K = 13,
    ENGINE_TYPE_Q6_K = 14,
    ENGINE_TYPE_Q8_K = 15,
    ENGINE_TYPE_IQ4_NL = 20,
    ENGINE_TYPE_BF16 = 30,
    ENGINE_TYPE_COUNT = 31 /* one past the largest id; not every id below is supported */
} engine_type_t;

typedef uint16_t engine_f16_t;  /* IEEE half, raw bits */
typedef uint16_t engine_bf16_t; /* bfloat16, raw bits */

#define ENGINE_QK4_0 32
#define ENGINE_QK4_1 32
#define ENGINE_QK5_0 32
#define ENGINE_QK5_1 32
#define ENGINE_QK8_0 32
#define ENGINE_QK8_1 32
#define ENGINE_QK4_NL 32
#define ENGINE_QK_K 256
#define ENGINE_K_SCALE_SIZE 12

/* Block layouts: field order and sizes exactly as GGUF stores them. */
typedef struct { engine_f16_t d; uint8_t qs[16]; } engine_block_q4_0;                 /* 18 B */
typedef struct { engine_f16_t d, m; uint8_t qs[16]; } engine_block_q4_1;              /* 20 B */
typedef struct { engine_f16_t d; uint8_t qh[4]; uint8_t qs[16]; } engine_block_q5_0;  /* 22 B */
typedef struct { engine_f16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } engine_block_q5_1; /* 24 B */
typedef struct { engine_f16_t d; int8_t qs[32]; } engine_block_q8_0;                  /* 34 B */
typedef struct { engine_f16_t d, s; int8_t qs[32]; } engine_block_q8_1;               /* 36 B, s = d * sum(qs) */
typedef struct { engine_f16_t d; uint8_t qs[16]; } engine_block_iq4_nl;               /* 18 B */
typedef struct {
    uint8_t scales[16]; /* 4-bit scale | 4-bit min per 16 weights */
    uint8_t qs[64];     /* 2-bit quants */
    engine_f16_t d, dmin;
} engine_block_q2_K; /* 84 B */
typedef struct {
    uint8_t hmask[32];  /* high bit of each quant */
    uint8_t qs[64];     /* low 2 bits */
    uint8_t scales[12]; /* 16 x 6-bit scales */
    engine_f16_t d;
} engine_block_q3_K; /* 110 B */
typedef struct {
    engine_f16_t d, dmin;
    uint8_t scales[ENGINE_K_SCALE_SIZE]; /* 8 x (6-bit scale, 6-bit min) */
    uint8_t qs[128];
} engine_block_q4_K; /* 144 B */
typedef struct {
    engine_f16_t d, dmin;
    uint8_t scales[ENGINE_K_SCALE_SIZE];
    uint8_t qh[32];
    uint8_t qs[128];
} engine_block_q5_K; /* 176 B */
typedef struct {
    uint8_t ql[128]; /* low 4 bits */
    uint8_t qh[64];  /* high 2 bits */
    int8_t scales[16];
    engine_f16_t d;
} engine_block_q6_K; /* 210 B */
typedef struct {
    float d;
    int8_t qs[ENGINE_QK_K];
    int16_t bsums[ENGINE_QK_K / 16]; /* sums of groups of 16 quants */
} engine_block_q8_K; /* 292 B */

/* One row of n values of one type: x is the weight row, y the activation row
 * in the weight type's vec_dot_type; *s = sum_i x_i * y_i. n is a multiple of
 * the block size. */
typedef void (*engine_vec_dot_fn)(int64_t n, float *s, const void *x, const void *y);

typedef struct {
    const char *name;    /* "Q4_K", as GGUF tools print it */
    int64_t block_size;  /* values per block */
    size_t type_size;    /* bytes per block */
    bool quantized;
    double bpw;          /* bits per weight = 8 * type_size / block_size */
    /* Dequantize n values (n a multiple of block_size). */
    void (*to_float)(const void *x, float *y, int64_t n);
    /* Fast quantizer for activations (round to nearest); NULL if not an activation type. */
    void (*from_float)(const float *x, void *y, int64_t n);
    /* Weight quantizer of the standard quality (K-quants: weighted least-squares
     * search over scales/mins); imatrix is an optional per-column importance
     * vector of n_per_row floats. Returns bytes written. */
    size_t (*quantize)(const float *src, void *dst, int64_t nrows, int64_t n_per_row,
                       const float *imatrix);
    /* Scalar reference dot product with the partner format: the ground truth. */
    engine_vec_dot_fn vec_dot_ref;
    engine_type_t vec_dot_type; /* activation format this weight type is multiplied with */
} engine_type_traits_t;

/* Traits of a type, or NULL if the id is not a supported type. */
const engine_type_traits_t *engine_type_traits(engine_type_t type);
const char *engine_type_name(engine_type_t type); /* "?" if unsupported */
/* Case-insensitive name -> type ("q4_k", "Q4_K", "f16"). */
int engine_type_from_name(const char *name, engine_type_t *out);
/* Bytes of a row of n values; 0 if n is not a multiple of the block size. */
size_t engine_row_size(engine_type_t type, int64_t n);

float engine_f16_to_f32(engine_f16_t h);
engine_f16_t engine_f32_to_f16(float f);   /* round to nearest even */
float engine_bf16_to_f32(engine_bf16_t h);
engine_bf16_t engine_f32_to_bf16(float f); /* round to nearest even, NaN kept */

/* ==== 2. thread pool ==================================================== */
/* Persistent workers (spin, then sleep); the calling thread works as thread 0.
 * Workers flush denormals. engine_pool_run returns when all threads are done. */
typedef struct engine_pool engine_pool_t;
typedef void (*engine_task_fn)(void *arg, int ith, int nth);

int engine_pool_create(int n_threads, engine_pool_t **out);
void engine_pool_destroy(engine_pool_t *pool); /* NULL: no-op */
int engine_pool_threads(const engine_pool_t *pool);

/* Pinning: the CPUs the pool's threads may run on, a plain list of CPU
 * numbers (0 .. ENGINE_MAX_CPUS-1). Strict: thread i (0 = the caller) runs
 * on cpus[i % n_cpus] alone, wrapping round-robin when there are more
 * threads than CPUs (as llama-bench's --cpu-strict 1); otherwise every
 * thread may run on any CPU of the list. The caller's own affinity is set
 * too (it works as thread 0) and put back by engine_pool_destroy when that
 * is called from the same thread. Each thread's affinity is read back from
 * the kernel: a CPU refused (offline, outside this process's cpuset) makes
 * create fail with MB_EINVAL and a message naming the thread and CPUs,
 * never a silently unpinned pool. n_cpus = 0 (or pin NULL): no pinning. */
#define ENGINE_MAX_CPUS 1024 /* glibc's CPU_SETSIZE */
#define ENGINE_CPU_WORDS (ENGINE_MAX_CPUS / 64)
typedef struct {
    const int *cpus;
    int n_cpus;
    bool strict;
} engine_pin_t;
int engine_pool_create_pinned(int n_threads, const engine_pin_t *pin, engine_pool_t **out);
/* The CPUs thread ith (0 = the caller) was seen running on, sampled with
 * sched_getcpu() each time it wakes for a run (a claimed run it does not get
 * into counts: it ran there): bit c of bits[c / 64], words beyond n_words
 * dropped. */
int engine_pool_cpus_seen(const engine_pool_t *pool, int ith, uint64_t *bits, int n_words);
void engine_pool_run(engine_pool_t *pool, engine_task_fn fn, void *arg);
/* NULL pool: runs fn(arg, 0, 1) on the caller. */

/* Like engine_pool_run for a task whose work is claimed dynamically (an
 * engine_counter_t): any subset of the threads finishes it. The caller runs
 * fn, then closes the run: a worker that had not started by then (it was
 * descheduled on a busy machine, or still waking up) skips it instead of
 * making everyone wait for it. ith is unique among the threads that run fn. */
void engine_pool_run_claimed(engine_pool_t *pool, engine_task_fn fn, void *arg);

/* Dynamic work claiming inside a task: one counter per run, on its own cache
 * line. Reset it before engine_pool_run; each thread then claims chunks with
 * engine_counter_claim until the returned start is >= the total. */
typedef struct {
    _Alignas(MB_CACHE_LINE) _Atomic int64_t next;
    char pad[MB_CACHE_LINE - sizeof(int64_t)];
} engine_counter_t;
void engine_counter_reset(engine_counter_t *c, int64_t start);
int64_t engine_counter_claim(engine_counter_t *c, int64_t step); /* start of the claimed chunk */

/* ==== 3. kernels ======================================================== */
/* A weight tensor: ne[0] is the row length (k), ne[1] the number of rows (n),
 * ne[2], ne[3] are 1 for matrices. data is read-only (may be mmapped).
 * packed belongs to the engine (engine_tensor_prepare). A tensor is present
 * when data or packed is set: after prepare its owner may drop data (see
 * engine_tensor_data_needed) and set it to NULL. */
typedef struct {
    const char *name;
    engine_type_t type;
    int64_t ne[4];
    const void *data;
    size_t nbytes;
    void *packed;        /* engine-private repacked copy, or NULL */
    int packed_layout;   /* 0 = none */
} engine_tensor_t;

/* Kernel variants, bound once. force = NULL binds the best capable variant
 * for the features; a name forces one ("scalar", "avx2", "avx512", "neon",
 * ...): unknown or not capable is MB_EINVAL / MB_EUNSUPPORTED with a message
 * listing the variants. Calling again re-binds (tests, --kernel). */
int engine_kernels_init(const probes_features_t *features, const char *force);
const char *engine_kernels_name(void); /* the bound variant, recorded with results */
/* Names of all compiled-in variants, capable or not; returns the count. */
int engine_kernels_list(const char **names, int max, const probes_features_t *features,
                        bool *capable);

/* Whether variant has its own code for weight type (false: it runs the scalar
 * reference for that type, or the variant/type is unknown). */
bool engine_kernels_specialized(const char *variant, engine_type_t type);

/* What dispatch would run on a CPU with these features (NULL: this one),
 * with force as for engine_kernels_init: the chosen variant; per weight type
 * the variant whose matmul runs it ("scalar" = the reference), whether it
 * uses repacked tiles, and whether that is a fallback from the chosen
 * variant (it lacks a kernel for the type, or the type's kernel needs a
 * feature the CPU lacks, e.g. avx512's BF16 without AVX512_BF16); per
 * activation type the variant of its quantizer (NULL: the reference).
 * Nothing is bound. Errors as engine_kernels_init. */
typedef struct {
    const char *variant;
    const char *ops;                    /* attention and activation ops */
    const char *mm[ENGINE_TYPE_COUNT];  /* NULL: not a weight type */
    bool packed[ENGINE_TYPE_COUNT];
    bool fallback[ENGINE_TYPE_COUNT];
    const char *act[ENGINE_TYPE_COUNT];
    char note[256];                     /* the fallbacks, "BF16: avx2"; "" none */
} engine_kernels_plan_t;
int engine_kernels_plan(const probes_features_t *features, const char *force,
                        engine_kernels_plan_t *out);

/* The bound variant as recorded with a result: its name, and the weight
 * types among used[] (NULL: all) that fall back to another variant, e.g.
 * "avx512 (BF16: avx2)". Always NUL-terminated. */
void engine_kernels_describe(const bool used[ENGINE_TYPE_COUNT], char *buf, size_t len);

/* Checks shape/type/alignment and, if the bound variant wins from it, builds a
 * repacked copy. Loaders call it once per weight matrix. */
int engine_tensor_prepare(engine_tensor_t *t);
void engine_tensor_release(engine_tensor_t *t); /* frees the packed copy */

/* Whether the engine still reads t->data after engine_tensor_prepare. False
 * when prepare made a packed copy that every reader uses instead (matmul,
 * engine_tensor_rows_f32, the reference forward): the owner should then free
 * or madvise the original bytes and set t->data = NULL, so that the model is
 * not held twice. Such a tensor is tied to the kernel variant that packed it:
 * re-binding another variant (engine_kernels_init) makes engine_matmul and
 * engine_tensor_prepare fail with MB_EUNSUPPORTED on it, so bind before
 * loading. engine_tensor_release then leaves it absent. */
bool engine_tensor_data_needed(const engine_tensor_t *t);

/* Dequantizes rows row0 .. row0+nrows-1 (ne[0] floats each) into out, from
 * data or, when data was dropped, from the packed copy (bit-identical). */
int engine_tensor_rows_f32(const engine_tensor_t *t, int64_t row0, int64_t nrows, float *out);

/* Matmul for decode (m = 1, GEMV) and prefill (m > 1, GEMM):
 *   y[m][n] = x[m][k] * W[n][k]^T
 * Activations are converted once into W's vec_dot_type (act) and can be
 * shared by every matrix that reads the same x (q, k, v; gate, up).
 * act rows are engine_act_bytes(wtype, k, 1) bytes apart. Alignment: x, y and
 * act 4 bytes, W data 2 bytes (F32 and Q8_K: 4); else MB_EALIGN. k must be a
 * multiple of W's block size, act from engine_act_quantize with the same k and
 * type; a NULL pool runs on the caller. */
size_t engine_act_bytes(engine_type_t wtype, int64_t k, int64_t m);
int engine_act_quantize(engine_pool_t *pool, engine_type_t wtype, const float *x, int64_t k,
                        int64_t m, void *act);
int engine_matmul(engine_pool_t *pool, const engine_tensor_t *w, const void *act, int64_t m,
                  float *y);
/* Up to 4 matrices that read the same activation (same k and vec_dot_type:
 * q/k/v, gate/up) in one pool run: ys[i] = act ws[i]^T. One hand-off instead
 * of nw, and no thread idles between the matrices. */
int engine_matmul_group(engine_pool_t *pool, int nw, const engine_tensor_t *const *ws,
                        const void *act, int64_t m, float *const *ys);

/* ==== 4. model and forward pass ========================================= */
/* One decoder code path; the families differ by the named switches below.
 * A loader (GGUF, synthetic) fills engine_hparams_t and engine_model_t;
 * engine_ctx_t holds the F16 KV cache and all scratch, allocated once. */
typedef enum {
    ENGINE_ARCH_LLAMA = 0, /* GQA, RoPE (+llama3 scaling), RMSNorm, SwiGLU */
    ENGINE_ARCH_QWEN3,     /* llama + per-head RMSNorm on q and k */
    ENGINE_ARCH_PHI3,      /* llama with fused qkv and fused gate|up tensors */
    ENGINE_ARCH_SMOLLM3,   /* llama without RoPE on every nope_interval-th layer */
    ENGINE_ARCH_GEMMA3N,   /* gemma-style decoder, Gemma 3n text model (docs/MODELS.md) */
    ENGINE_ARCH_COUNT
} engine_arch_t;

const char *engine_arch_name(engine_arch_t arch); /* "llama", "qwen3", ... ("?" if bad) */
int engine_arch_from_name(const char *name, engine_arch_t *out);

typedef enum { ENGINE_ROPE_NORM = 0, ENGINE_ROPE_NEOX = 1 } engine_rope_mode_t;
typedef enum { ENGINE_FFN_SILU = 0, ENGINE_FFN_GELU_TANH = 1 } engine_ffn_act_t;

#define ENGINE_MAX_LAYERS 128

typedef struct {
    engine_arch_t arch;
    int n_vocab, n_embd, n_layer;
    int n_head, n_head_kv, head_dim; /* q has n_head*head_dim rows, k and v n_head_kv*head_dim */
    int n_ff;                        /* FFN inner size */
    int n_ctx_train;
    float norm_eps;
    bool tied;                       /* output projection = token embedding */
    engine_ffn_act_t ffn_act;        /* SwiGLU (silu) or GeGLU (gelu tanh) */
    /* RoPE: theta_i = pos * rope_theta^(-2i/head_dim), pairs per rope_mode */
    engine_rope_mode_t rope_mode;    /* NORM: (x[2i], x[2i+1]); NEOX: (x[i], x[i+d/2]) */
    float rope_theta;
    bool rope_llama3;                /* llama3 frequency scaling: */
    float rope_factor, rope_low_freq, rope_high_freq;
    int rope_orig_ctx;
    int nope_interval;               /* >0: layer il has no RoPE when (il+1) % nope_interval == 0 */
    bool qk_norm;                    /* per-head RMSNorm on q and k (weights attn_q_norm/attn_k_norm) */
    float attn_scale;                /* 0 = 1/sqrt(head_dim) */
    /* gemma-style switches */
    float embd_scale;                /* 0 = 1; gemma: sqrt(n_embd) */
    bool v_norm;                     /* RMSNorm without weight on each v head */
    bool post_norms;                 /* RMSNorm on attention and FFN outputs before the residual add */
    int swa_window;                  /* >0: sliding-window layers attend to the last swa_window positions */
    int swa_pattern;                 /* >0: layer il is full attention when (il+1) % swa_pattern == 0,
                                      * else sliding; 0 (with swa_window > 0): every layer slides */
    float rope_theta_swa;            /* RoPE base of the sliding layers */
    int n_kv_shared;                 /* the last n_kv_shared layers reuse the KV of the last earlier layer of their kind */
    int n_layer_sparse;              /* first n layers: gaussian top-k on the gate, keeping act_sparsity */
    float act_sparsity;              /* e.g. 0.95: zero the gate below mean + icdf(0.95)*std */
    int laurel_rank;                 /* >0: LAuReL low-rank residual branch */
    int n_embd_per_layer;            /* >0: per-layer embeddings (PLE) of this width */
    int n_vocab_per_layer;           /* rows of the per-layer embedding table */
    float final_softcap;             /* >0: logits = c * tanh(logits / c) */
} engine_hparams_t;

/* Checks ranges and consistency; MB_EINVAL with the offending field. */
int engine_hparams_validate(const engine_hparams_t *hp);
/* Does layer il apply RoPE / use sliding-window attention / own its KV? */
bool engine_layer_has_rope(const engine_hparams_t *hp, int il);
bool engine_layer_is_swa(const engine_hparams_t *hp, int il);
/* Layer whose KV cache layer il reads (il itself unless KV-shared). */
int engine_layer_kv_source(const engine_hparams_t *hp, int il);
/* Rows of layer il's KV cache in a context of n_ctx positions and batches of
 * n_batch tokens (0 = 512): n_ctx, or for a sliding-window layer a ring of
 * swa_window + n_batch rows (a batch writes its rows before its first token
 * reads the window) when that is shorter. 0 for layers that share another's
 * cache. engine_kv_bytes: the F16 cache of all layers, K and V. */
int engine_kv_rows(const engine_hparams_t *hp, int il, int n_ctx, int n_batch);
size_t engine_kv_bytes(const engine_hparams_t *hp, int n_ctx, int n_batch);

/* Per-layer weights. Tensors not used by the architecture have data == NULL.
 * Shapes (ne[0] = row length first, llama.cpp order), E = n_embd, D = head_dim,
 * Hq = n_head*D, Hk = n_head_kv*D, F = n_ff, R = laurel_rank, P = n_embd_per_layer: */
typedef struct {
    engine_tensor_t attn_norm;      /* [E] */
    engine_tensor_t wq, wk, wv;     /* [E, Hq], [E, Hk], [E, Hk] (k, v absent on KV-shared layers) */
    engine_tensor_t wqkv;           /* phi3: [E, Hq + 2*Hk] (q rows, then k, then v) */
    engine_tensor_t q_norm, k_norm; /* [D] */
    engine_tensor_t wo;             /* [Hq, E] */
    engine_tensor_t post_attn_norm; /* [E] */
    engine_tensor_t ffn_norm;       /* [E] */
    engine_tensor_t w_gate, w_up;   /* [E, F] */
    engine_tensor_t w_gate_up;      /* phi3: [E, 2F] (gate rows, then up) */
    engine_tensor_t w_down;         /* [F, E] */
    engine_tensor_t post_ffn_norm;  /* [E] */
    engine_tensor_t laurel_l;       /* [E, R] */
    engine_tensor_t laurel_r;       /* [R, E] */
    engine_tensor_t laurel_norm;    /* [E] */
    engine_tensor_t ple_gate;       /* [E, P] */
    engine_tensor_t ple_proj;       /* [P, E] */
    engine_tensor_t ple_norm;       /* [E] */
} engine_layer_t;

typedef struct {
    engine_hparams_t hp;
    engine_tensor_t tok_embd;       /* [E, n_vocab] */
    engine_tensor_t output_norm;    /* [E] */
    engine_tensor_t output;         /* [E, n_vocab]; data NULL when tied */
    engine_tensor_t ple_embd;       /* [n_layer*P, n_vocab_per_layer] */
    engine_tensor_t ple_model_proj; /* [E, n_layer*P] */
    engine_tensor_t ple_proj_norm;  /* [P] */
    engine_tensor_t rope_freqs;     /* [D/2] optional (llama.cpp's rope_freqs.weight): RoPE
                                     * frequency i is divided by it; replaces rope_llama3 */
    engine_layer_t *layers;         /* n_layer entries */
} engine_model_t;

/* Checks every tensor the architecture uses: present, shape, type. */
int engine_model_validate(const engine_model_t *m);
/* Calls engine_tensor_prepare on every weight matrix (once, after loading;
 * the token embedding only when it is also the output matrix). */
int engine_model_prepare(engine_model_t *m);
void engine_model_release(engine_model_t *m); /* engine_tensor_release on all */
/* engine_model_prepare for an owner that can release the original bytes:
 * right after each matrix is packed, if its data is no longer needed
 * (engine_tensor_data_needed), calls drop(arg, t) so the owner frees or
 * madvises t->data (t->nbytes bytes), then sets t->data = NULL. Tensor by
 * tensor, so the peak stays near one copy of the model plus one tensor.
 * Owners that still need the original bytes (a GGUF writer, a buffer they do
 * not own) call engine_model_prepare and hold both. */
int engine_model_prepare_drop(engine_model_t *m, void (*drop)(void *arg, const engine_tensor_t *t),
                              void *arg);
/* Bytes of weight data the model holds: data not dropped, plus the kernels'
 * repacked copies (counted at their rows' bytes; the padding of the last
 * tile is not). A model prepared and dropped holds each matrix once. */
size_t engine_model_weight_bytes(const engine_model_t *m);
/* used[t] = some weight matrix of m has type t. */
void engine_model_types(const engine_model_t *m, bool used[ENGINE_TYPE_COUNT]);

typedef struct {
    int n_ctx;   /* KV cache positions (max sequence length), <= 1<<20 */
    int n_batch; /* max tokens per internal step; longer inputs are split (0 = 512) */
    bool kv_f32; /* F32 cache instead of F16 (exactness checks; twice the memory) */
    /* Split every per-token phase and the attention over the pool, however
     * small (normally short batches stay on the caller): lets tests run the
     * threaded paths on tiny models. */
    bool split_always;
} engine_ctx_params_t;

typedef struct {
    size_t weights; /* engine_model_weight_bytes */
    size_t kv;      /* F16 K and V, owned layers only (engine_kv_bytes) */
    size_t scratch; /* activations, quantized activations, logits */
} engine_mem_t;

typedef struct engine_ctx engine_ctx_t;

/* The model and pool must outlive the context. */
int engine_ctx_create(const engine_model_t *m, engine_pool_t *pool,
                      const engine_ctx_params_t *params, engine_ctx_t **out);
void engine_ctx_destroy(engine_ctx_t *ctx); /* NULL: no-op */
void engine_ctx_reset(engine_ctx_t *ctx);   /* empty the KV cache */
int engine_ctx_pos(const engine_ctx_t *ctx); /* tokens in the cache */
/* Keeps the first n_pos positions of the KV cache; later evals append after
 * them (as if only those tokens had been evaluated). MB_EINVAL if n_pos < 0
 * or n_pos > engine_ctx_pos(ctx). MB_EUNSUPPORTED (context unchanged) when a
 * sliding-window layer's ring has since overwritten the window before n_pos
 * (possible once more than n_batch + 1 positions past n_pos were written):
 * reset and evaluate the n_pos tokens again instead. */
int engine_ctx_truncate(engine_ctx_t *ctx, int n_pos);
engine_mem_t engine_ctx_memory(const engine_ctx_t *ctx);

/* Runs n tokens at positions pos..pos+n-1 (causal, appended to the cache).
 * logits: n_vocab floats for the last token, or, if all_logits, n x n_vocab
 * (row-major, position then vocab); NULL computes no logits (KV fill only).
 * n = 1 is decode. MB_ERANGE if the cache would overflow. */
int engine_eval(engine_ctx_t *ctx, const int32_t *tokens, int n, float *logits, bool all_logits);

/* Naive F32 reference forward (engine/model/reference.c): straight loops,
 * one thread, weights dequantized with to_float (engine_tensor_rows_f32, so
 * it also runs on a model whose data was dropped); kv_f16 rounds K and V to F16
 * as the default cache stores them. Logits for all n positions (n x n_vocab)
 * from an empty cache. */
int engine_ref_forward(const engine_model_t *m, const int32_t *tokens, int n, bool kv_f16,
                       float *logits);

#endif /* ENGINE_H */
