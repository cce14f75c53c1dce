/* synthetic.c: deterministic trained-like weights at a model's real shapes
 * (docs/SYNTHETIC.md). Each tensor is a function of (model name, seed,
 * tensor name) and each of its rows has its own PRNG stream, so tensors and
 * rows can be generated in any order, by any number of threads, one at a time.
 *
 * Value of row r, column i of a matrix:
 *   w = std_tensor * row_scale[r] * col_scale[i] * t5(u)
 * t5: Student-t with 5 degrees of freedom scaled to unit variance (heavy
 * tails), by inverse CDF from a table; row_scale: log-normal (sigma 0.2), so
 * blocks differ in range; col_scale: a few outlier input channels of the
 * residual stream (the same channels in every matrix of a model) x4, and
 * matrices writing the residual stream have those rows x2. std_tensor is
 * gain(role) / sqrt(fan_in); the matrices writing the residual stream get a
 * small gain that shrinks with depth, so the network is not chaotic and a
 * recipe's KL divergence has a trained model's order of magnitude. Norm
 * weights are positive, log-normal around their role's usual value. */
#include "models.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T5_TABLE 65536
#define T5_NU 5.0

static float t5_table[T5_TABLE + 1];
static pthread_once_t t5_once = PTHREAD_ONCE_INIT;

/* CDF of Student-t with 5 degrees of freedom (closed form for odd nu). */
static double t5_cdf(double t)
{
    double th = atan(t / sqrt(T5_NU));
    double c = cos(th), s = sin(th);
    return 0.5 + (th + s * c * (1.0 + 2.0 / 3.0 * c * c)) / M_PI;
}

static void t5_init(void)
{
    const double unit = sqrt((T5_NU - 2) / T5_NU); /* variance nu/(nu-2) -> 1 */
    /* lower half (u < 1/2, t < 0) by bisection, the upper half by symmetry */
    for (int i = 0; i <= T5_TABLE / 2; i++) {
        /* midpoints keep the end points finite: u in (0, 1) */
        double u = (i + 0.5) / (T5_TABLE + 1.0);
        double lo = -64, hi = 0; /* the quantile of 0.5/65537 is -16.4 */
        for (int it = 0; it < 52; it++) {
            double mid = 0.5 * (lo + hi);
            if (t5_cdf(mid) < u)
                lo = mid;
            else
                hi = mid;
        }
        double t = 0.5 * (lo + hi);
        t5_table[i] = (float)(t * unit);
        t5_table[T5_TABLE - i] = -t5_table[i];
    }
}

/* ---- PRNG: common's mb_rng_t (xoshiro256** seeded by splitmix64) ---------- */

/* uniform 32 bits -> unit-variance t5 (table with linear interpolation) */
static float t5_draw(uint32_t u)
{
    uint32_t idx = u >> 16;
    float frac = (float)(u & 0xFFFF) * (1.0f / 65536.0f);
    return t5_table[idx] + (t5_table[idx + 1] - t5_table[idx]) * frac;
}

static double rng_normal(mb_rng_t *r)
{
    double u1 = ((mb_rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = ((mb_rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001B3ull;
    }
    return h;
}

static uint64_t tensor_seed(const models_spec_t *spec, uint64_t seed, const char *name)
{
    uint64_t h = fnv1a(0xCBF29CE484222325ull, spec->name);
    h = fnv1a(h ^ 0xFF, name);
    uint64_t x = h ^ (seed * 0xD1B54A32D192ED03ull);
    return mb_splitmix64(&x);
}

/* ---- parameters of the generator ------------------------------------------- */

#define ROW_SIGMA 0.2       /* log-normal spread of row scales */
#define OUTLIER_COL_GAIN 4.0
#define OUTLIER_ROW_GAIN 2.0

/* What one layer adds to the residual stream, relative to the stream: small,
 * and smaller in deeper models, so that no layer replaces the stream and an
 * error made in one layer is not amplified by the next ones (random networks
 * with O(1) residual branches are chaotic: a Q8_0 rounding grew into a KLD of
 * 0.03 over Llama-3.2-1B's 16 layers). RESID_GAIN / sqrt(n_layer): 0.125 for
 * 4 layers, 0.0625 for 16, 0.042 for 35 (docs/SYNTHETIC.md, measurements). */
#define RESID_GAIN 0.25

static double resid_gain(const models_spec_t *spec)
{
    return RESID_GAIN / sqrt((double)MB_MAX(1, spec->hp.n_layer));
}

/* Gain times 1/sqrt(fan_in) is a matrix's standard deviation. */
static double matrix_gain(const models_spec_t *spec, const models_tensor_info_t *t)
{
    const char *n = t->name;
    switch (t->role) {
    case MODELS_ROLE_ATTN_Q:
    case MODELS_ROLE_ATTN_K:
        return 0.6; /* attention logits q.k/sqrt(d) with a spread of about 0.4: sharper
                     * attention makes the softmax amplify small input errors */
    case MODELS_ROLE_ATTN_V:
        return 0.8;
    case MODELS_ROLE_ATTN_QKV:
        return 1.0;
    case MODELS_ROLE_ATTN_OUT:
    case MODELS_ROLE_FFN_DOWN:
        return resid_gain(spec); /* residual writers */
    case MODELS_ROLE_FFN_GATE:
    case MODELS_ROLE_FFN_UP:
    case MODELS_ROLE_FFN_GATE_UP:
        return 1.0;
    case MODELS_ROLE_LAUREL:
        return strstr(n, "laurel_r") ? resid_gain(spec) : 1.0;
    case MODELS_ROLE_PLE:
        return strstr(n, ".proj.") ? resid_gain(spec) : 1.0;
    case MODELS_ROLE_ALTUP:
        return 0.1;
    default:
        return 1.0;
    }
}

/* Usual value of a norm weight (RMSNorm multiplies by it). */
static double norm_center(const models_spec_t *spec, const models_tensor_info_t *t)
{
    const char *n = t->name;
    if (!strcmp(n, "output_norm.weight"))
        return 2.0; /* sets the logit spread: peaked next-token distributions */
    if (strstr(n, "altup_correct_scale"))
        return 1.0;
    if (strstr(n, "post_attention_norm") || strstr(n, "post_ffw_norm") ||
        strstr(n, "laurel_post_norm") || strstr(n, ".post_norm."))
        return resid_gain(spec); /* gemma's sandwich norms set what each branch adds */
    return 1.0;
}

/* The residual-stream outlier channels of a model: n_embd/256 of them (at
 * least 1), the same in every matrix. */
static bool is_outlier_channel(const models_spec_t *spec, uint64_t seed, int64_t i)
{
    int64_t E = spec->hp.n_embd;
    int n = (int)MB_MAX(1, E / 256);
    uint64_t x = fnv1a(0x84222325CBF29CE4ull, spec->name) ^ (seed * 0x9E3779B97F4A7C15ull);
    for (int k = 0; k < n; k++)
        if ((int64_t)(mb_splitmix64(&x) % (uint64_t)E) == i)
            return true;
    return false;
}

static bool is_norm(const models_tensor_info_t *t)
{
    return t->role == MODELS_ROLE_NORM ||
           (t->role == MODELS_ROLE_ALTUP && strstr(t->name, "norm")) ||
           strstr(t->name, "altup_correct_scale");
}

int models_synth_version(void)
{
    return MODELS_SYNTH_VERSION;
}

int models_synth_rows(const models_spec_t *spec, uint64_t seed, const models_tensor_info_t *t,
                      int64_t row0, int64_t nrows, float *out)
{
    pthread_once(&t5_once, t5_init);
    const int64_t cols = t->ne[0], rows = t->ne[1] * t->ne[2] * t->ne[3];
    if (row0 < 0 || nrows < 0 || row0 + nrows > rows)
        return mb_err_set(MB_ERANGE, "synthetic: rows %lld..%lld outside tensor %s (%lld rows)",
                          (long long)row0, (long long)(row0 + nrows), t->name, (long long)rows);
    const uint64_t ts = tensor_seed(spec, seed, t->name);
    const int64_t E = spec->hp.n_embd;
    if (t->role == MODELS_ROLE_ROPE_FREQS) {
        /* not random: llama3 factors as llama.cpp's converter writes them */
        const engine_hparams_t *hp = &spec->hp;
        for (int64_t i = 0; i < cols; i++) {
            double f = pow((double)hp->rope_theta, -2.0 * (double)i / hp->head_dim);
            double wavelen = 2 * M_PI / f, fac = 1;
            if (wavelen > hp->rope_orig_ctx / hp->rope_low_freq) {
                fac = hp->rope_factor;
            } else if (wavelen >= hp->rope_orig_ctx / hp->rope_high_freq) {
                double sm = (hp->rope_orig_ctx / wavelen - hp->rope_low_freq) /
                            (hp->rope_high_freq - hp->rope_low_freq);
                fac = 1 / ((1 - sm) / hp->rope_factor + sm);
            }
            out[i] = (float)fac;
        }
        return MB_OK;
    }
    if (is_norm(t)) {
        /* one row: positive, log-normal around the role's value */
        mb_rng_t r;
        mb_rng_seed(&r, ts);
        double c = norm_center(spec, t);
        for (int64_t i = 0; i < cols * nrows; i++)
            out[i] = (float)(c * exp(0.1 * rng_normal(&r)));
        return MB_OK;
    }
    double fan_in = (double)cols;
    if (t->role == MODELS_ROLE_TOKEN_EMBD || t->role == MODELS_ROLE_OUTPUT)
        fan_in = (double)E;
    if (t->role == MODELS_ROLE_PLE_EMBD)
        fan_in = (double)spec->hp.n_embd_per_layer; /* scaled by sqrt(P) when read */
    const double std = matrix_gain(spec, t) / sqrt(fan_in);
    /* columns reading the residual stream carry its outlier channels */
    const bool reads_resid = cols == E && t->role != MODELS_ROLE_PLE_EMBD;
    const bool writes_resid = (t->role == MODELS_ROLE_ATTN_OUT || t->role == MODELS_ROLE_FFN_DOWN ||
                               (t->role == MODELS_ROLE_PLE && strstr(t->name, ".proj."))) &&
                              rows == E;
    float *colg = NULL;
    if (reads_resid) {
        colg = malloc((size_t)cols * sizeof *colg);
        if (!colg)
            return mb_err_set(MB_ENOMEM, "synthetic: out of memory");
        for (int64_t i = 0; i < cols; i++)
            colg[i] = is_outlier_channel(spec, seed, i) ? (float)OUTLIER_COL_GAIN : 1.0f;
    }
    for (int64_t r = row0; r < row0 + nrows; r++) {
        mb_rng_t g;
        mb_rng_seed(&g, ts ^ ((uint64_t)(r + 1) * 0xA24BAED4963EE407ull));
        double rs = std * exp(ROW_SIGMA * rng_normal(&g) - 0.5 * ROW_SIGMA * ROW_SIGMA);
        if (writes_resid && is_outlier_channel(spec, seed, r))
            rs *= OUTLIER_ROW_GAIN;
        float s = (float)rs;
        float *o = out + (r - row0) * cols;
        int64_t i = 0;
        for (; i + 1 < cols; i += 2) {
            uint64_t u = mb_rng_next(&g);
            o[i] = s * t5_draw((uint32_t)u);
            o[i + 1] = s * t5_draw((uint32_t)(u >> 32));
        }
        if (i < cols)
            o[i] = s * t5_draw((uint32_t)mb_rng_next(&g));
        if (colg)
            for (int64_t j = 0; j < cols; j++)
                o[j] *= colg[j];
    }
    free(colg);
    return MB_OK;
}

int models_synth_tensor(const models_spec_t *spec, uint64_t seed, const models_tensor_info_t *t,
                        float *out)
{
    return models_synth_rows(spec, seed, t, 0, t->ne[1] * t->ne[2] * t->ne[3], out);
}

/* ---- whole model in memory ------------------------------------------------- */

/* The blobs of a built model live after its layers, in one allocation list. */
typedef struct {
    engine_model_t m;
    void **blobs;
    int n_blobs;
} synth_model_t;

void models_synth_free(engine_model_t *m)
{
    if (!m)
        return;
    synth_model_t *s = (synth_model_t *)m; /* m is the first member */
    engine_model_release(m);
    for (int i = 0; i < s->n_blobs; i++)
        free(s->blobs[i]);
    free(s->blobs);
    free(m->layers);
    free(s);
}

/* Rows of one tensor generated (and rounded to F16/BF16) on the pool. */
typedef struct {
    const models_spec_t *spec;
    uint64_t seed;
    const models_tensor_info_t *t;
    engine_type_t type;
    void *data;
    int64_t rows;
    engine_counter_t counter;
    int rc; /* first error (MB_OK if none); written under no lock: any error wins */
} synth_task_t;

#define SYNTH_CHUNK_ROWS 16

static void synth_task(void *arg, int ith, int nth)
{
    (void)ith;
    (void)nth;
    synth_task_t *k = arg;
    const int64_t cols = k->t->ne[0];
    float *tmp = NULL;
    if (k->type != ENGINE_TYPE_F32 && !(tmp = malloc((size_t)(cols * SYNTH_CHUNK_ROWS) * sizeof *tmp))) {
        k->rc = MB_ENOMEM;
        return;
    }
    for (int64_t r = engine_counter_claim(&k->counter, SYNTH_CHUNK_ROWS); r < k->rows;
         r = engine_counter_claim(&k->counter, SYNTH_CHUNK_ROWS)) {
        int64_t n = MB_MIN(SYNTH_CHUNK_ROWS, k->rows - r);
        if (k->type == ENGINE_TYPE_F32) {
            if (models_synth_rows(k->spec, k->seed, k->t, r, n, (float *)k->data + r * cols))
                k->rc = MB_EINVAL;
            continue;
        }
        if (models_synth_rows(k->spec, k->seed, k->t, r, n, tmp)) {
            k->rc = MB_EINVAL;
            continue;
        }
        uint16_t *d = (uint16_t *)k->data + r * cols;
        for (int64_t j = 0; j < n * cols; j++)
            d[j] = k->type == ENGINE_TYPE_F16 ? engine_f32_to_f16(tmp[j]) : engine_f32_to_bf16(tmp[j]);
    }
    free(tmp);
}

int models_synth_build(const models_spec_t *spec, uint64_t seed, engine_type_t type,
                       engine_model_t **out)
{
    *out = NULL;
    if (type != ENGINE_TYPE_F32 && type != ENGINE_TYPE_F16 && type != ENGINE_TYPE_BF16)
        return mb_err_set(MB_EINVAL, "synthetic: in-memory models are F32, F16 or BF16 (got %s); "
                          "quantized models come from 'mobench models build'",
                          engine_type_name(type));
    models_tensor_info_t *ts = NULL;
    int n = 0;
    int rc = models_spec_tensors(spec, &ts, &n);
    if (rc)
        return rc;
    synth_model_t *s = calloc(1, sizeof *s);
    engine_pool_t *pool = NULL;
    if (!s || !(s->blobs = calloc((size_t)n, sizeof *s->blobs)) ||
        !(s->m.layers = calloc((size_t)spec->hp.n_layer, sizeof *s->m.layers))) {
        rc = mb_err_set(MB_ENOMEM, "synthetic: out of memory building %s", spec->name);
        goto err;
    }
    /* rows are independent: generate them on every core (same values on any count) */
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    if ((rc = engine_pool_create(nc > 0 ? (int)MB_MIN(nc, 64) : 1, &pool)))
        goto err;
    s->m.hp = spec->hp;
    for (int i = 0; i < n; i++) {
        const models_tensor_info_t *t = &ts[i];
        engine_tensor_t *slot = models_model_slot(&s->m, t->name);
        if (!t->computed || !slot)
            continue; /* stored in real checkpoints, not read by the engine */
        int64_t ne = models_tensor_nelem(t);
        engine_type_t tt = t->n_dims == 1 ? ENGINE_TYPE_F32 : type;
        size_t nbytes = engine_row_size(tt, t->ne[0]) * (size_t)(ne / t->ne[0]);
        void *data = malloc(nbytes);
        if (!data) {
            rc = mb_err_set(MB_ENOMEM, "synthetic: out of memory for %s of %s (%zu bytes)",
                            t->name, spec->name, nbytes);
            goto err;
        }
        s->blobs[s->n_blobs++] = data;
        synth_task_t task = {spec, seed, t, tt, data, ne / t->ne[0], {0}, MB_OK};
        engine_counter_reset(&task.counter, 0);
        engine_pool_run(pool, synth_task, &task);
        if (task.rc) {
            rc = mb_err_set(task.rc, "synthetic: generating %s of %s failed%s", t->name,
                            spec->name, task.rc == MB_ENOMEM ? " (out of memory)" : "");
            goto err;
        }
        slot->name = NULL;
        slot->type = tt;
        slot->ne[0] = t->ne[0];
        slot->ne[1] = t->ne[1] * t->ne[2] * t->ne[3];
        slot->ne[2] = slot->ne[3] = 1;
        slot->data = data;
        slot->nbytes = nbytes;
    }
    engine_pool_destroy(pool);
    pool = NULL;
    free(ts);
    ts = NULL;
    if ((rc = engine_model_prepare(&s->m)))
        goto err;
    *out = &s->m;
    return MB_OK;
err:
    engine_pool_destroy(pool);
    free(ts);
    if (s)
        models_synth_free(&s->m);
    return rc;
}
