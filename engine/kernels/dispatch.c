/*
 * dispatch.c: the method table of kernel variants, binding once, argument
 * checks, and the threaded matmul/activation drivers over the bound tile
 * kernels. Work is split in (weight-row block x activation-row block) chunks
 * claimed dynamically, so a thread that was descheduled does not hold up the
 * others.
 */
#include "kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const kern_variant_t *const kern_variants[] = {
    &kern_variant_scalar,
#if defined(__x86_64__)
    &kern_variant_avx2,
    &kern_variant_avx512,
#endif
#if defined(__aarch64__)
    &kern_variant_neon,
    &kern_variant_dotprod,
    &kern_variant_i8mm,
#endif
};
#define N_VARIANTS ((int)MB_ARRAY_LEN(kern_variants))

/* The chosen variant and, per weight type, the variant whose matmul runs it
 * (its packing too), per activation type the quantizer; resolved once by
 * plan_make and kept (g_vt[t] NULL: the scalar reference). */
static const kern_variant_t *g_variant;
static const kern_variant_t *g_vt[ENGINE_TYPE_COUNT];
static kern_mm_fn g_mm[ENGINE_TYPE_COUNT];
static kern_mm_fn g_mm_packed[ENGINE_TYPE_COUNT];
static kern_quant_fn g_quant[ENGINE_TYPE_COUNT];
static char g_fallback_note[256]; /* "BF16: avx2" for the bound plan, "" none */

static bool type_ok(engine_type_t t)
{
    return (int)t >= 0 && (int)t < ENGINE_TYPE_COUNT && engine_type_traits(t) != NULL;
}

static bool has_all(const probes_features_t *f, uint64_t needs)
{
    return (f->bits & needs) == needs;
}

static bool variant_capable(const kern_variant_t *v, const probes_features_t *f)
{
    return has_all(f, v->needs);
}

/* A variant's specialized mm for t, if its activation format agrees with
 * the type table (else the reference is the only correct choice). */
static kern_mm_fn variant_mm(const kern_variant_t *v, engine_type_t t)
{
    if (!type_ok(t) || !v->mm[t])
        return NULL;
    const engine_type_traits_t *tr = engine_type_traits(t);
    if (!tr->vec_dot_ref || tr->vec_dot_type != v->act_type[t])
        return NULL;
    return v->mm[t];
}

/* Whether v can run its own mm for t on a CPU with f. */
static bool variant_runs(const kern_variant_t *v, engine_type_t t, const probes_features_t *f)
{
    return variant_mm(v, t) && variant_capable(v, f) && has_all(f, v->needs_type[t]);
}

static int variant_index(const kern_variant_t *v)
{
    for (int i = 0; i < N_VARIANTS; i++)
        if (kern_variants[i] == v)
            return i;
    return 0;
}

/* Who runs weight type t when v is chosen: v itself, else the closest
 * variant below it in the table (plain to best) that can, else NULL (the
 * scalar reference). Never a variant above v: forcing one means "nothing
 * newer than this". */
static const kern_variant_t *provider(const kern_variant_t *v, engine_type_t t,
                                      const probes_features_t *f)
{
    for (int i = variant_index(v); i > 0; i--)
        if (variant_runs(kern_variants[i], t, f))
            return kern_variants[i];
    return NULL;
}

/* The quantizer of activation type a: v's, else the closest capable one below. */
static const kern_variant_t *quant_provider(const kern_variant_t *v, engine_type_t a,
                                            const probes_features_t *f)
{
    for (int i = variant_index(v); i > 0; i--)
        if (kern_variants[i]->quant[a] && variant_capable(kern_variants[i], f))
            return kern_variants[i];
    return NULL;
}

static void plan_make(const kern_variant_t *v, const probes_features_t *f,
                      engine_kernels_plan_t *p)
{
    memset(p, 0, sizeof *p);
    p->variant = v->name;
    p->ops = v->ops ? v->name : kern_variant_scalar.name;
    size_t off = 0;
    for (int t = 0; t < ENGINE_TYPE_COUNT; t++) {
        if (!type_ok((engine_type_t)t))
            continue;
        const engine_type_traits_t *tr = engine_type_traits((engine_type_t)t);
        if (tr->vec_dot_ref) {
            const kern_variant_t *pv = provider(v, (engine_type_t)t, f);
            p->mm[t] = pv ? pv->name : kern_variant_scalar.name;
            p->packed[t] = pv && pv->pack[t] && pv->mm_packed[t];
            p->fallback[t] = pv != v;
            /* A variant with nothing of its own (scalar) is no fallback. */
            if (v == &kern_variant_scalar)
                p->fallback[t] = false;
            if (p->fallback[t] && off < sizeof p->note) {
                int w = snprintf(p->note + off, sizeof p->note - off, "%s%s: %s", off ? ", " : "",
                                 tr->name, p->mm[t]);
                off = w > 0 ? off + (size_t)w : off;
            }
        }
        const kern_variant_t *qv = quant_provider(v, (engine_type_t)t, f);
        if (qv)
            p->act[t] = qv->name;
    }
}

static void bind(const kern_variant_t *v, const probes_features_t *f)
{
    engine_kernels_plan_t plan;
    plan_make(v, f, &plan);
    g_variant = v;
    for (int t = 0; t < ENGINE_TYPE_COUNT; t++) {
        const kern_variant_t *pv = type_ok((engine_type_t)t) && engine_type_traits(t)->vec_dot_ref
                                       ? provider(v, (engine_type_t)t, f)
                                       : NULL;
        g_vt[t] = pv;
        g_mm[t] = pv ? variant_mm(pv, (engine_type_t)t) : NULL;
        g_mm_packed[t] = pv && pv->pack[t] ? pv->mm_packed[t] : NULL;
        const kern_variant_t *qv =
            type_ok((engine_type_t)t) ? quant_provider(v, (engine_type_t)t, f) : NULL;
        g_quant[t] = qv ? qv->quant[t] : NULL;
    }
    /* Logged once per binding that falls back, and recorded with every
     * result (engine_kernels_describe). */
    if (plan.note[0] && strcmp(plan.note, g_fallback_note))
        mb_log(MB_LOG_WARN, "kernel variant %s has no kernel this CPU can run for some formats; "
               "they run another variant (format: variant): %s. mobench kernels --list shows "
               "the plan", v->name, plan.note);
    snprintf(g_fallback_note, sizeof g_fallback_note, "%s", plan.note);
}

static void variant_names(char *buf, size_t len, const probes_features_t *f)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < N_VARIANTS && off < len; i++) {
        int w = snprintf(buf + off, len - off, "%s%s%s", i ? ", " : "", kern_variants[i]->name,
                         variant_capable(kern_variants[i], f) ? "" : " (not capable here)");
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

/* The variant force names (NULL/"": the best capable one) for f. */
static int choose(const probes_features_t *f, const char *force, const kern_variant_t **out)
{
    char names[256];
    if (force && *force) {
        for (int i = 0; i < N_VARIANTS; i++) {
            if (strcasecmp(kern_variants[i]->name, force))
                continue;
            if (!variant_capable(kern_variants[i], f)) {
                variant_names(names, sizeof names, f);
                return mb_err_set(MB_EUNSUPPORTED,
                                  "kernel variant '%s' needs CPU features this machine lacks; "
                                  "variants: %s",
                                  force, names);
            }
            *out = kern_variants[i];
            return 0;
        }
        variant_names(names, sizeof names, f);
        return mb_err_set(MB_EINVAL, "unknown kernel variant '%s'; variants: %s", force, names);
    }
    /* The table is ordered from plain to best: the last capable one wins. */
    const kern_variant_t *best = &kern_variant_scalar;
    for (int i = 0; i < N_VARIANTS; i++)
        if (variant_capable(kern_variants[i], f))
            best = kern_variants[i];
    *out = best;
    return 0;
}

/* The variant for force on features (NULL: this CPU's, copied to *f). */
static int resolve(const probes_features_t *features, const char *force, probes_features_t *f,
                   const kern_variant_t **v)
{
    if (features)
        *f = *features;
    else
        probes_features_detect(f);
    return choose(f, force, v);
}

int engine_kernels_init(const probes_features_t *features, const char *force)
{
    probes_features_t f;
    const kern_variant_t *v;
    int rc = resolve(features, force, &f, &v);
    if (!rc)
        bind(v, &f);
    return rc;
}

int engine_kernels_plan(const probes_features_t *features, const char *force,
                        engine_kernels_plan_t *out)
{
    if (!out)
        return mb_err_set(MB_EINVAL, "engine_kernels_plan: out is NULL");
    probes_features_t f;
    const kern_variant_t *v;
    int rc = resolve(features, force, &f, &v);
    if (!rc)
        plan_make(v, &f, out);
    return rc;
}

static void ensure_bound(void)
{
    if (!g_variant)
        engine_kernels_init(NULL, NULL);
}

const kern_ops_t *kern_ops(void)
{
    ensure_bound();
    return g_variant->ops ? g_variant->ops : &kern_ops_scalar;
}

const char *engine_kernels_name(void)
{
    ensure_bound();
    return g_variant->name;
}

void engine_kernels_describe(const bool used[ENGINE_TYPE_COUNT], char *buf, size_t len)
{
    ensure_bound();
    if (!buf || !len)
        return;
    size_t off = (size_t)snprintf(buf, len, "%s", g_variant->name);
    bool first = true;
    for (int t = 0; t < ENGINE_TYPE_COUNT && off < len; t++) {
        if (used && !used[t])
            continue;
        if (!type_ok((engine_type_t)t) || !engine_type_traits(t)->vec_dot_ref ||
            g_variant == &kern_variant_scalar || g_vt[t] == g_variant)
            continue;
        int w = snprintf(buf + off, len - off, "%s%s: %s", first ? " (" : ", ",
                         engine_type_traits(t)->name, g_vt[t] ? g_vt[t]->name : "scalar");
        if (w < 0 || (size_t)w >= len - off) {
            off = len;
            break;
        }
        off += (size_t)w;
        first = false;
    }
    if (!first && off + 1 < len)
        snprintf(buf + off, len - off, ")");
}

int engine_kernels_list(const char **names, int max, const probes_features_t *features,
                        bool *capable)
{
    probes_features_t detected;
    if (!features) {
        probes_features_detect(&detected);
        features = &detected;
    }
    for (int i = 0; i < N_VARIANTS && i < max; i++) {
        if (names)
            names[i] = kern_variants[i]->name;
        if (capable)
            capable[i] = variant_capable(kern_variants[i], features);
    }
    return N_VARIANTS;
}

bool engine_kernels_specialized(const char *variant, engine_type_t type)
{
    if (!variant)
        return false;
    for (int i = 0; i < N_VARIANTS; i++)
        if (!strcasecmp(kern_variants[i]->name, variant)) {
            if (kern_variants[i] == &kern_variant_scalar)
                return false;
            return variant_mm(kern_variants[i], type) != NULL;
        }
    return false;
}

/* ---- argument checks ------------------------------------------------------- */

static size_t type_align(engine_type_t t)
{
    return (t == ENGINE_TYPE_F32 || t == ENGINE_TYPE_Q8_K) ? 4 : 2;
}

static bool aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

static int check_weight(const engine_tensor_t *t, const char *what)
{
    if (!t)
        return mb_err_set(MB_EINVAL, "%s: weight tensor is NULL", what);
    const char *name = t->name ? t->name : "(unnamed)";
    if (!type_ok(t->type))
        return mb_err_set(MB_EUNSUPPORTED, "%s: tensor %s has unsupported type id %d", what, name,
                          (int)t->type);
    const engine_type_traits_t *tr = engine_type_traits(t->type);
    if (!tr->vec_dot_ref)
        return mb_err_set(MB_EUNSUPPORTED, "%s: tensor %s: type %s cannot be a matmul weight",
                          what, name, tr->name);
    if (t->ne[0] <= 0 || t->ne[1] <= 0 || t->ne[2] != 1 || t->ne[3] != 1)
        return mb_err_set(MB_ESHAPE,
                          "%s: tensor %s has shape [%lld, %lld, %lld, %lld]; a weight matrix "
                          "needs k > 0, n > 0 and ne[2] = ne[3] = 1",
                          what, name, (long long)t->ne[0], (long long)t->ne[1],
                          (long long)t->ne[2], (long long)t->ne[3]);
    if (t->ne[0] > ((int64_t)1 << 40) || t->ne[1] > ((int64_t)1 << 40))
        return mb_err_set(MB_ERANGE, "%s: tensor %s: shape [%lld, %lld] is too large", what, name,
                          (long long)t->ne[0], (long long)t->ne[1]);
    if (t->ne[0] % tr->block_size)
        return mb_err_set(MB_ESHAPE,
                          "%s: tensor %s: row length %lld is not a multiple of the %s block "
                          "size %lld; use a format with smaller blocks for this tensor",
                          what, name, (long long)t->ne[0], tr->name, (long long)tr->block_size);
    if (t->ne[1] > INT64_MAX / (int64_t)engine_row_size(t->type, t->ne[0]))
        return mb_err_set(MB_ERANGE, "%s: tensor %s is too large", what, name);
    size_t need = engine_row_size(t->type, t->ne[0]) * (size_t)t->ne[1];
    if (!t->data && t->packed)
        return 0; /* dropped by its owner: the packed copy is all there is */
    if (!t->data)
        return mb_err_set(MB_EINVAL, "%s: tensor %s has no data", what, name);
    if (t->nbytes < need)
        return mb_err_set(MB_ESHAPE, "%s: tensor %s holds %zu bytes; %lld x %lld %s needs %zu",
                          what, name, t->nbytes, (long long)t->ne[1], (long long)t->ne[0],
                          tr->name, need);
    if (!aligned(t->data, type_align(t->type)))
        return mb_err_set(MB_EALIGN, "%s: tensor %s data at %p is not %zu-byte aligned", what,
                          name, t->data, type_align(t->type));
    return 0;
}

/* The variant that made packed_layout, or NULL. */
static const kern_variant_t *layout_variant(int layout)
{
    for (int i = 0; layout && i < N_VARIANTS; i++)
        if (kern_variants[i]->packed_layout == layout)
            return kern_variants[i];
    return NULL;
}

/* A tensor whose data was dropped can only be read through the packed copy,
 * so only by the variant that packed it. */
static int check_dropped(const engine_tensor_t *t, const char *what)
{
    const kern_variant_t *pv = g_vt[t->type];
    if (t->data || (pv && t->packed_layout == pv->packed_layout))
        return 0;
    const kern_variant_t *v = layout_variant(t->packed_layout);
    return mb_err_set(MB_EUNSUPPORTED,
                      "%s: tensor %s was repacked for kernel variant %s and its original data "
                      "released; that format now runs variant %s: choose the kernel variant before "
                      "loading the model",
                      what, t->name ? t->name : "(unnamed)", v ? v->name : "?",
                      pv ? pv->name : "scalar");
}

int engine_tensor_prepare(engine_tensor_t *t)
{
    int rc = check_weight(t, "engine_tensor_prepare");
    if (rc)
        return rc;
    ensure_bound();
    if (!t->data) /* dropped: already packed, nothing to redo */
        return check_dropped(t, "engine_tensor_prepare");
    engine_tensor_release(t);
    /* Row-interleaved tiles where the bound variant has kernels for them:
     * one activation broadcast feeds pack_rows rows per instruction and the
     * results land in lanes in row order (docs/PERFORMANCE.md, "Kernels"). */
    const kern_variant_t *v = g_vt[t->type];
    if (!v || !g_mm_packed[t->type] || t->ne[0] > v->pack_max_k)
        return 0;
    int64_t tiles = (t->ne[1] + v->pack_rows - 1) / v->pack_rows;
    size_t bytes = engine_row_size(t->type, t->ne[0]) * (size_t)v->pack_rows * (size_t)tiles;
    /* huge-page backed: decode streams it once per token (wmem.c) */
    void *p = kern_wmem_alloc(bytes);
    if (!p)
        return mb_err_set(MB_ENOMEM, "cannot allocate %zu bytes to repack tensor %s", bytes,
                          t->name ? t->name : "(unnamed)");
    v->pack[t->type](t->data, p, t->ne[0], t->ne[1]);
    t->packed = p;
    t->packed_layout = v->packed_layout;
    return 0;
}

void engine_tensor_release(engine_tensor_t *t)
{
    if (!t)
        return;
    kern_wmem_free(t->packed);
    t->packed = NULL;
    t->packed_layout = 0;
}

bool engine_tensor_data_needed(const engine_tensor_t *t)
{
    if (!t || !t->packed || !type_ok(t->type))
        return true;
    const kern_variant_t *v = layout_variant(t->packed_layout);
    return !v || !v->unpack[t->type];
}

int engine_tensor_rows_f32(const engine_tensor_t *t, int64_t row0, int64_t nrows, float *out)
{
    if (!t || !out || !type_ok(t->type) || !engine_type_traits(t->type)->to_float)
        return mb_err_set(MB_EINVAL, "engine_tensor_rows_f32: no tensor, no output or a type "
                          "without to_float");
    const char *name = t->name ? t->name : "(unnamed)";
    const engine_type_traits_t *tr = engine_type_traits(t->type);
    const int64_t k = t->ne[0], n = t->ne[1] * MB_MAX(t->ne[2], 1) * MB_MAX(t->ne[3], 1);
    if (row0 < 0 || nrows < 0 || row0 + nrows > n)
        return mb_err_set(MB_ERANGE, "engine_tensor_rows_f32: rows %lld..%lld outside tensor %s "
                          "(%lld rows)", (long long)row0, (long long)(row0 + nrows), name,
                          (long long)n);
    size_t row = engine_row_size(t->type, k);
    if (t->data) {
        for (int64_t r = row0; r < row0 + nrows; r++)
            tr->to_float((const uint8_t *)t->data + (size_t)r * row, out + (r - row0) * k, k);
        return 0;
    }
    const kern_variant_t *v = layout_variant(t->packed_layout);
    /* one block at a time through a block-sized buffer: no allocation */
    _Alignas(8) uint8_t blk[sizeof(engine_block_q8_K)];
    if (!t->packed || !v || !v->unpack[t->type] || tr->type_size > sizeof blk)
        return mb_err_set(MB_EINVAL, "engine_tensor_rows_f32: tensor %s has no data", name);
    const int64_t bs = tr->block_size;
    for (int64_t r = row0; r < row0 + nrows; r++)
        for (int64_t b = 0; b < k / bs; b++) {
            v->unpack[t->type](t->packed, blk, k, r, b);
            tr->to_float(blk, out + (r - row0) * k + b * bs, bs);
        }
    return 0;
}

size_t engine_act_bytes(engine_type_t wtype, int64_t k, int64_t m)
{
    if (!type_ok(wtype) || k <= 0 || m <= 0)
        return 0;
    const engine_type_traits_t *tr = engine_type_traits(wtype);
    if (k % tr->block_size)
        return 0;
    size_t row = engine_row_size(tr->vec_dot_type, k);
    if (!row || (uint64_t)m > SIZE_MAX / row)
        return 0;
    return row * (size_t)m;
}

/* ---- activation quantization ---------------------------------------------- */

typedef struct {
    engine_counter_t ctr; /* rows, claimed 4 at a time */
    engine_type_t vdt;
    kern_quant_fn quant;
    void (*from_float)(const float *x, void *y, int64_t n);
    const float *x;
    int64_t k, m;
    uint8_t *act;
    size_t arow;
} act_task_t;

static void act_row(const act_task_t *t, int64_t j)
{
    const float *x = t->x + j * t->k;
    void *y = t->act + (size_t)j * t->arow;
    if (t->quant) {
        t->quant(x, y, t->k);
    } else if (t->from_float) {
        t->from_float(x, y, t->k);
    } else if (t->vdt == ENGINE_TYPE_F32) {
        memcpy(y, x, (size_t)t->k * sizeof(float));
    } else if (t->vdt == ENGINE_TYPE_F16) {
        engine_f16_t *h = y;
        for (int64_t i = 0; i < t->k; i++)
            h[i] = engine_f32_to_f16(x[i]);
    } else {
        engine_bf16_t *h = y;
        for (int64_t i = 0; i < t->k; i++)
            h[i] = engine_f32_to_bf16(x[i]);
    }
}

static void act_task(void *arg, int ith, int nth)
{
    (void)ith;
    (void)nth;
    act_task_t *t = arg;
    for (int64_t j0 = engine_counter_claim(&t->ctr, 4); j0 < t->m;
         j0 = engine_counter_claim(&t->ctr, 4))
        for (int64_t j = j0; j < MB_MIN(j0 + 4, t->m); j++)
            act_row(t, j);
}

int engine_act_quantize(engine_pool_t *pool, engine_type_t wtype, const float *x, int64_t k,
                        int64_t m, void *act)
{
    if (!type_ok(wtype))
        return mb_err_set(MB_EUNSUPPORTED, "engine_act_quantize: unsupported weight type id %d",
                          (int)wtype);
    const engine_type_traits_t *tr = engine_type_traits(wtype);
    if (k <= 0 || m <= 0)
        return mb_err_set(MB_ESHAPE, "engine_act_quantize: k = %lld, m = %lld; both must be > 0",
                          (long long)k, (long long)m);
    if (k % tr->block_size)
        return mb_err_set(MB_ESHAPE,
                          "engine_act_quantize: k = %lld is not a multiple of the %s block "
                          "size %lld",
                          (long long)k, tr->name, (long long)tr->block_size);
    if (!x || !act)
        return mb_err_set(MB_EINVAL, "engine_act_quantize: %s buffer is NULL",
                          !x ? "input" : "activation");
    if (!aligned(x, 4) || !aligned(act, 4))
        return mb_err_set(MB_EALIGN, "engine_act_quantize: %s buffer %p is not 4-byte aligned",
                          !aligned(x, 4) ? "input" : "activation",
                          !aligned(x, 4) ? (const void *)x : act);
    engine_type_t vdt = tr->vec_dot_type;
    const engine_type_traits_t *vt = engine_type_traits(vdt);
    if (!vt)
        return mb_err_set(MB_EUNSUPPORTED, "engine_act_quantize: %s has no activation format",
                          tr->name);
    if (!vt->from_float && vdt != ENGINE_TYPE_F32 && vdt != ENGINE_TYPE_F16 &&
        vdt != ENGINE_TYPE_BF16)
        return mb_err_set(MB_EUNSUPPORTED, "engine_act_quantize: no quantizer for %s activations",
                          vt->name);
    ensure_bound();
    act_task_t t = {
        .vdt = vdt,
        .quant = g_quant[vdt],
        .from_float = vt->from_float,
        .x = x,
        .k = k,
        .m = m,
        .act = act,
        .arow = engine_row_size(vdt, k),
    };
    engine_counter_reset(&t.ctr, 0);
    if (m == 1 || !pool)
        act_task(&t, 0, 1);
    else
        engine_pool_run_claimed(pool, act_task, &t);
    return 0;
}

/* ---- matmul ------------------------------------------------------------------ */

void kern_scalar_mm(engine_type_t type, int64_t k, const void *w, size_t wstride, int64_t nr,
                    const void *act, size_t astride, int64_t mr, float *y, int64_t ldy)
{
    engine_vec_dot_fn dot = engine_type_traits(type)->vec_dot_ref;
    for (int64_t j = 0; j < mr; j++)
        for (int64_t i = 0; i < nr; i++)
            dot(k, &y[j * ldy + i], (const uint8_t *)w + (size_t)i * wstride,
                (const uint8_t *)act + (size_t)j * astride);
}

#define MM_MAX_GROUP 4

/* One weight matrix of a matmul run and how its rows are chunked. */
typedef struct {
    kern_mm_fn mm;
    bool packed; /* w is tiles of pack rows */
    engine_type_t type;
    int64_t n;
    const uint8_t *w;
    size_t wstride;
    float *y;
    int64_t nb, n_nb; /* chunk size in weight rows, chunks along n */
    int64_t c0;       /* index of its first chunk in the run */
} mm_mat_t;

/* GEMV: each thread walks its own contiguous range of chunks, then helps
 * with the others' (claiming from the front of what is left). A thread's
 * consecutive chunks are then adjacent tiles, one weight stream per thread
 * that the prefetches run ahead on, instead of chunks alternating between
 * the threads, where every chunk restarts a stream: +11 % decode on
 * Llama-3.2-1B Q4_0 at 2 threads (docs/PERFORMANCE.md, session 3). */
#define MM_RANGES 8

typedef struct {
    engine_counter_t ctr;
    engine_counter_t rng[MM_RANGES]; /* GEMV: range r's next chunk */
    int n_rng;
    int64_t k, m;
    const uint8_t *act;
    size_t astride;
    int64_t mb, n_mb; /* chunk size in activation rows, chunks along m */
    int nmat;
    int64_t total;
    mm_mat_t mat[MM_MAX_GROUP];
} mm_task_t;

/* Rows [i0, i0 + nr) of matrix w against activation rows [j0, j0 + mr). */
static void mm_rows(const mm_task_t *t, const mm_mat_t *w, int64_t i0, int64_t nr, int64_t j0,
                    int64_t mr)
{
    const uint8_t *wp = w->w + (size_t)i0 * w->wstride; /* tiles: i0 % pack_rows == 0 */
    const uint8_t *a = t->act + (size_t)j0 * t->astride;
    float *y = w->y + j0 * w->n + i0;
    if (w->mm)
        w->mm(t->k, wp, w->wstride, nr, a, t->astride, mr, y, w->n);
    else
        kern_scalar_mm(w->type, t->k, wp, w->wstride, nr, a, t->astride, mr, y, w->n);
}

/* GEMV over ranges: in its own range a thread claims a quarter of what is
 * left at a time (at least one chunk), others' ranges a chunk at a time;
 * the chunks of one claim that lie in one matrix are one kernel call, so
 * the per-call set-up (the activation's block sums) is paid a few times per
 * range rather than once per chunk, and the last claims stay small. */
static void mm_task_gemv(mm_task_t *t, int ith)
{
    int r = ith % t->n_rng;
    int64_t next = r * t->total / t->n_rng; /* own range: where the next claim starts, at least */
    for (int tries = 0; tries < t->n_rng;) {
        const int64_t end = (r + 1) * t->total / t->n_rng;
        const int64_t step = tries == 0 ? MB_MAX(1, (end - next) / 4) : 1;
        int64_t c = engine_counter_claim(&t->rng[r], step);
        next = c + step;
        if (c >= end) {
            tries++;
            r = (r + 1) % t->n_rng;
            continue;
        }
        const int64_t cend = MB_MIN(c + step, end);
        int mi = 0;
        while (c < cend) {
            while (mi + 1 < t->nmat && c >= t->mat[mi + 1].c0)
                mi++;
            const mm_mat_t *w = &t->mat[mi];
            const int64_t last = MB_MIN(cend, mi + 1 < t->nmat ? t->mat[mi + 1].c0 : t->total);
            const int64_t i0 = (c - w->c0) * w->nb, i1 = MB_MIN((last - w->c0) * w->nb, w->n);
            mm_rows(t, w, i0, i1 - i0, 0, 1);
            c = last;
        }
    }
}

static void mm_task(void *arg, int ith, int nth)
{
    (void)nth;
    mm_task_t *t = arg;
    if (t->n_rng) {
        mm_task_gemv(t, ith);
        return;
    }
    int mi = 0;
    for (;;) {
        int64_t c = engine_counter_claim(&t->ctr, 1);
        if (c >= t->total)
            break;
        while (mi + 1 < t->nmat && c >= t->mat[mi + 1].c0) /* claims only grow */
            mi++;
        const mm_mat_t *w = &t->mat[mi];
        c -= w->c0;
        /* Consecutive chunks walk down the activation rows of one weight
         * block, so the weight block stays in cache between them. */
        int64_t ib = c / t->n_mb, jb = c % t->n_mb;
        int64_t i0 = ib * w->nb, j0 = jb * t->mb;
        mm_rows(t, w, i0, MB_MIN(w->nb, w->n - i0), j0, MB_MIN(t->mb, t->m - j0));
    }
}

/* Binds matrix w of a run: its kernel (packed if prepared for the bound
 * variant), and its chunking for nth threads and m activation rows. */
static void mm_mat_init(mm_mat_t *mt, const engine_tensor_t *w, int64_t m, int nth,
                        size_t gemv_bytes, float *y)
{
    const int64_t k = w->ne[0], n = w->ne[1];
    *mt = (mm_mat_t){
        .mm = g_mm[w->type],
        .type = w->type,
        .n = n,
        .w = w->data,
        .wstride = engine_row_size(w->type, k),
        .y = y,
    };
    int pack_rows = 1;
    /* The repacked copy, if it was made for the bound variant (a re-bind
     * after prepare falls back to the rows in place). */
    const kern_variant_t *pv = g_vt[w->type];
    if (w->packed && pv && w->packed_layout == pv->packed_layout && g_mm_packed[w->type] &&
        k <= pv->pack_max_k) {
        mt->mm = g_mm_packed[w->type];
        mt->w = w->packed;
        mt->packed = true;
        pack_rows = pv->pack_rows;
    }
    if (m == 1) {
        /* GEMV: chunks of about the same bytes in every matrix of the run
         * (gemv_bytes: the run's weights), ~16 per thread, so that ranges of
         * equal chunk counts are equal work (q with small k/v: equal row
         * counts gave one thread 3 times the other's bytes before stealing;
         * no speed change measured, stealing had evened it out); 16+ rows per
         * chunk keep the per-chunk overhead small. Row counts are multiples
         * of 4, the register tile of the SIMD kernels. */
        const size_t per = gemv_bytes / ((size_t)nth * 16);
        int64_t nb = (int64_t)((per + mt->wstride - 1) / mt->wstride);
        mt->nb = MB_MAX(16, (nb + 3) & ~(int64_t)3);
    } else {
        /* GEMM: a weight block of ~64 KB and 64 activation rows per chunk
         * keep both operands of the register tiles in L2. */
        int64_t nb = (int64_t)(65536 / mt->wstride);
        mt->nb = MB_MAX(4, MB_MIN(64, nb & ~(int64_t)3));
    }
    mt->nb = (mt->nb + pack_rows - 1) / pack_rows * pack_rows; /* chunks start on a tile */
    mt->n_nb = (n + mt->nb - 1) / mt->nb;
}

static int mm_check(const engine_tensor_t *w, const void *act, int64_t m, const float *y)
{
    int rc = check_weight(w, "engine_matmul");
    if (rc)
        return rc;
    if (m <= 0)
        return mb_err_set(MB_ESHAPE, "engine_matmul: %lld activation rows; need m > 0",
                          (long long)m);
    if (!act || !y)
        return mb_err_set(MB_EINVAL, "engine_matmul: %s buffer is NULL",
                          !act ? "activation" : "output");
    if (!aligned(act, 4) || !aligned(y, 4))
        return mb_err_set(MB_EALIGN, "engine_matmul: %s buffer %p is not 4-byte aligned",
                          !aligned(act, 4) ? "activation" : "output",
                          !aligned(act, 4) ? act : (const void *)y);
    return MB_OK;
}

int engine_matmul_group(engine_pool_t *pool, int nw, const engine_tensor_t *const *ws,
                        const void *act, int64_t m, float *const *ys)
{
    if (nw < 1 || nw > MM_MAX_GROUP || !ws || !ys)
        return mb_err_set(MB_EINVAL, "engine_matmul_group: %d matrices; need 1..%d", nw,
                          MM_MAX_GROUP);
    int rc;
    for (int i = 0; i < nw; i++)
        if ((rc = mm_check(ws[i], act, m, ys[i])))
            return rc;
    ensure_bound();
    for (int i = 0; i < nw; i++)
        if ((rc = check_dropped(ws[i], "engine_matmul")))
            return rc;
    const engine_type_traits_t *tr = engine_type_traits(ws[0]->type);
    const int64_t k = ws[0]->ne[0];
    for (int i = 1; i < nw; i++)
        if (ws[i]->ne[0] != k || engine_type_traits(ws[i]->type)->vec_dot_type != tr->vec_dot_type)
            return mb_err_set(MB_ESHAPE, "engine_matmul_group: %s (%s, k = %lld) does not share "
                              "the activation of %s (%s, k = %lld)", ws[i]->name ? ws[i]->name : "?",
                              engine_type_name(ws[i]->type), (long long)ws[i]->ne[0],
                              ws[0]->name ? ws[0]->name : "?", tr->name, (long long)k);
    mm_task_t task = {
        .k = k,
        .m = m,
        .act = act,
        .astride = engine_row_size(tr->vec_dot_type, k),
        .mb = m == 1 ? 1 : 64,
        .nmat = nw,
    };
    task.n_mb = (m + task.mb - 1) / task.mb;
    const int nth = engine_pool_threads(pool);
    size_t gemv_bytes = 0;
    for (int i = 0; i < nw; i++)
        gemv_bytes += engine_row_size(ws[i]->type, k) * (size_t)ws[i]->ne[1];
    for (int i = 0; i < nw; i++) {
        mm_mat_init(&task.mat[i], ws[i], m, nth, gemv_bytes, ys[i]);
        task.mat[i].c0 = task.total;
        task.total += task.mat[i].n_nb * task.n_mb;
    }
    engine_counter_reset(&task.ctr, 0);
    if (m == 1 && nth > 1) { /* range r: chunks [r total / n_rng, (r + 1) total / n_rng) */
        task.n_rng = MB_MIN(nth, MM_RANGES);
        for (int r = 0; r < task.n_rng; r++)
            engine_counter_reset(&task.rng[r], r * task.total / task.n_rng);
    }
    if (nth == 1 || task.total == 1)
        mm_task(&task, 0, 1);
    else
        engine_pool_run_claimed(pool, mm_task, &task);
    return 0;
}

int engine_matmul(engine_pool_t *pool, const engine_tensor_t *w, const void *act, int64_t m,
                  float *y)
{
    return engine_matmul_group(pool, 1, &w, act, m, &y);
}
