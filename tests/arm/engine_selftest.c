/* engine_selftest.c: the engine's kernel checks as a plain C program, for
 * cross builds run under an emulator (make test-arm: aarch64 under
 * qemu-aarch64-static -cpu max and -cpu cortex-a53), where Criterion is not
 * available. Every capable kernel variant against the scalar reference
 * (vec_dot_ref) with a named error bound per format, on random inputs
 * (quantizer output and random bits) for many shapes, row lengths that are
 * not a multiple of the SIMD step included; the NEON variants must have own
 * code for all 14 weight formats; the activation quantizers (Q8_0, Q8_1,
 * Q8_K) byte for byte against the reference from_float, corner cases
 * included; the forward pass's ops (attention over the F16 KV cache,
 * SiLU/GELU gating) against the scalar reference ops, as
 * tests/test_engine_ops.c; the thread pool; bad input. Variants the CPU cannot run are
 * skipped with a message. Prints one line per failure, per-variant counts
 * and "N passed, N failed"; exit 1 on failure. */
#include "engine.h"
#include "kernels/ops.h"

#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_pass, n_fail;

#define CHECK(cond, ...)                                                                         \
    do {                                                                                         \
        if (cond) {                                                                              \
            n_pass++;                                                                            \
        } else {                                                                                 \
            n_fail++;                                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                          \
            printf(__VA_ARGS__);                                                                 \
            printf("\n");                                                                        \
        }                                                                                        \
    } while (0)

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static float gauss(void)
{
    double u1 = ((double)(next_u64() >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (double)(next_u64() >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static void *xalloc(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
    if (!p) {
        printf("out of memory\n");
        exit(1);
    }
    return p;
}

/* Named error bounds, as tests/test_engine_kernels.c: the SIMD kernels
 * compute the same integer block sums as the reference (float formats: the
 * same products), so only the float summation order differs.
 *   |y - ref| <= tol * sum |w_i a_i| + 1e-6 */
typedef struct {
    engine_type_t type;
    double tol;
} fmt_bound_t;

static const fmt_bound_t bounds[] = {
    {ENGINE_TYPE_Q8_0, 1e-5}, {ENGINE_TYPE_Q4_0, 1e-5}, {ENGINE_TYPE_Q4_1, 1e-5},
    {ENGINE_TYPE_Q5_0, 1e-5}, {ENGINE_TYPE_Q5_1, 1e-5}, {ENGINE_TYPE_IQ4_NL, 1e-5},
    {ENGINE_TYPE_Q2_K, 1e-5}, {ENGINE_TYPE_Q3_K, 1e-5}, {ENGINE_TYPE_Q4_K, 1e-5},
    {ENGINE_TYPE_Q5_K, 1e-5}, {ENGINE_TYPE_Q6_K, 1e-5}, {ENGINE_TYPE_F16, 1e-5},
    {ENGINE_TYPE_BF16, 1e-5}, {ENGINE_TYPE_F32, 1e-5},
};

static double bound_of(engine_type_t t)
{
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++)
        if (bounds[i].type == t)
            return bounds[i].tol;
    CHECK(0, "no named error bound for type %d", (int)t);
    return 0;
}

/* Byte offset and length of the f16 scale fields of a block (kept as the
 * quantizer wrote them: random bytes there could be Inf/NaN). */
static void scale_fields(engine_type_t t, size_t *off, size_t *len)
{
    switch (t) {
    case ENGINE_TYPE_Q2_K:
        *off = offsetof(engine_block_q2_K, d), *len = 4;
        return;
    case ENGINE_TYPE_Q3_K:
        *off = offsetof(engine_block_q3_K, d), *len = 2;
        return;
    case ENGINE_TYPE_Q6_K:
        *off = offsetof(engine_block_q6_K, d), *len = 2;
        return;
    case ENGINE_TYPE_Q4_1:
    case ENGINE_TYPE_Q5_1:
    case ENGINE_TYPE_Q4_K:
    case ENGINE_TYPE_Q5_K:
        *off = 0, *len = 4; /* d, m / d, dmin */
        return;
    default:
        *off = 0, *len = 2; /* d */
        return;
    }
}

/* Every byte of every block but its scales random: every quant code, high
 * bit, sub-block scale and min is hit (Q8_0: -128 included). */
static void scramble(engine_type_t t, uint8_t *wd, size_t nbytes)
{
    const size_t bb = engine_type_traits(t)->type_size;
    size_t off, len;
    scale_fields(t, &off, &len);
    for (size_t b = 0; b + bb <= nbytes; b += bb)
        for (size_t i = 0; i < bb; i++)
            if (i < off || i >= off + len)
                wd[b + i] = (uint8_t)(next_u64() & 0xff);
}

/* One format under the bound variant over every shape (all_shapes) or a
 * few; returns the worst error as a fraction of the bound. */
static double check_type(engine_type_t t, engine_pool_t *pool, bool all_shapes)
{
    const engine_type_traits_t *tr = engine_type_traits(t);
    const engine_type_traits_t *vt = engine_type_traits(tr->vec_dot_type);
    const double tol = bound_of(t);
    /* k: 1, 3, 5, 8 blocks (odd counts); float formats any length, so
     * 7, 33, 100 (not a multiple of the 4- and 8-lane steps) and 256 */
    const int64_t kmul[] = {1, 3, 5, 8};
    const int64_t kfl[] = {7, 33, 100, 256};
    /* n: below, at and past the 4-row register tile; m: 1 (GEMV), 3 and 7
     * (2-row tiles + remainder) */
    const int64_t ns[] = {1, 5, 67};
    const int64_t ms[] = {1, 3, 7};
    double worst = 0;
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 3; b++)
            for (size_t c = 0; c < 3; c++) {
                if (!all_shapes && (a != 2 || b != 1))
                    continue; /* the single-thread pass: a few shapes */
                int64_t k = tr->block_size == 1 ? kfl[a] : tr->block_size * kmul[a];
                int64_t n = ns[b], m = ms[c];
                if (tr->block_size == ENGINE_QK_K && kmul[a] == 8 && n == 67 && m == 7)
                    continue; /* keep the run under qemu short */
                size_t rs = engine_row_size(t, k), as = engine_row_size(tr->vec_dot_type, k);
                float *src = xalloc(sizeof(float) * (size_t)(n * k));
                for (int64_t i = 0; i < n * k; i++)
                    src[i] = gauss() * 0.05f;
                uint8_t *wd = xalloc(rs * (size_t)n);
                tr->quantize(src, wd, n, k, NULL);
                /* half the shapes: the quantizer's blocks; half: random bits */
                if (tr->quantized && (b + c) % 2 == 0)
                    scramble(t, wd, rs * (size_t)n);
                engine_tensor_t w = {.name = "w", .type = t, .ne = {k, n, 1, 1}, .data = wd,
                                     .nbytes = rs * (size_t)n};
                float *x = xalloc(sizeof(float) * (size_t)(m * k));
                for (int64_t i = 0; i < m * k; i++)
                    x[i] = gauss();
                uint8_t *act = xalloc(engine_act_bytes(t, k, m));
                float *y = xalloc(sizeof(float) * (size_t)(m * n));
                for (int64_t i = 0; i < m * n; i++)
                    y[i] = NAN; /* every output must be written */
                int rc1 = engine_act_quantize(pool, t, x, k, m, act);
                int rc2 = engine_matmul(pool, &w, act, m, y);
                CHECK(rc1 == 0 && rc2 == 0, "%s: act %d matmul %d: %s", tr->name, rc1, rc2,
                      mb_err_msg());
                float *wf = xalloc(sizeof(float) * (size_t)(n * k));
                float *af = xalloc(sizeof(float) * (size_t)k);
                for (int64_t i = 0; i < n; i++)
                    tr->to_float(wd + (size_t)i * rs, wf + i * k, k);
                int bad = 0;
                for (int64_t j = 0; j < m && !bad; j++) {
                    vt->to_float(act + (size_t)j * as, af, k);
                    for (int64_t i = 0; i < n && !bad; i++) {
                        float ref;
                        tr->vec_dot_ref(k, &ref, wd + (size_t)i * rs, act + (size_t)j * as);
                        double mag = 0;
                        for (int64_t l = 0; l < k; l++)
                            mag += fabs((double)wf[i * k + l] * af[l]);
                        float got = y[j * n + i];
                        double allowed = tol * mag + 1e-6, err = fabs((double)got - ref);
                        if (isnan(got) || isnan(ref) || !(err <= allowed)) {
                            bad = 1;
                            CHECK(0,
                                  "%s %s k=%lld n=%lld m=%lld (%lld, %lld): got %.9g, ref %.9g "
                                  "(error %.3g > %.3g)",
                                  engine_kernels_name(), tr->name, (long long)k, (long long)n,
                                  (long long)m, (long long)j, (long long)i, got, ref, err,
                                  allowed);
                        } else if (err / allowed > worst) {
                            worst = err / allowed;
                        }
                    }
                }
                if (!bad)
                    n_pass++;
                engine_tensor_release(&w);
                free(src);
                free(wd);
                free(x);
                free(act);
                free(y);
                free(wf);
                free(af);
            }
    return worst;
}

/* Activation rows that exercise the quantizers' corners, block by block
 * (bs values per block, k = 8 blocks): Gaussian; exact rounding ties
 * (amax 127 so x * id = j + 0.5, or Q8_K iscale -1); a zero block; a NaN
 * (quiet, with a payload, signaling); +-Inf; the largest magnitude twice
 * with both signs (Q8_K takes the first); huge and tiny (denormal) values.
 * Denormals only when `denormals` (pool workers flush them to zero, the
 * reference on this thread does not). */
static void quant_input(float *x, int64_t bs, int64_t k, int pattern, bool denormals)
{
    for (int64_t i = 0; i < k; i++)
        x[i] = gauss();
    for (int64_t b = 0; b < k / bs; b++) {
        float *v = x + b * bs;
        const int kind = (int)((b + pattern) % 8);
        const uint32_t nans[3] = {0x7fc00000u, 0x7fd12345u, 0x7f800001u};
        switch (kind) {
        case 0:
            break;
        case 1: /* ties: +-(j + 0.5) with amax exactly 127 */
            for (int64_t j = 0; j < bs; j++)
                v[j] = (float)((j % 127) + 0.5) * ((j & 1) ? -1.0f : 1.0f);
            v[bs - 1] = 127.0f;
            break;
        case 2:
            for (int64_t j = 0; j < bs; j++)
                v[j] = (j & 1) ? -0.0f : 0.0f;
            break;
        case 3:
            memcpy(&v[(pattern * 7) % bs], &nans[pattern % 3], sizeof(float));
            break;
        case 4:
            v[(pattern * 5) % bs] = (pattern & 1) ? -INFINITY : INFINITY;
            break;
        case 5: /* the largest magnitude with both signs: the first one wins */
            v[3] = -4.0f;
            v[bs - 2] = 4.0f;
            break;
        case 6:
            for (int64_t j = 0; j < bs; j++)
                v[j] *= (j % 3) ? 1e30f : 1e-30f;
            break;
        case 7:
            if (denormals)
                for (int64_t j = 0; j < bs; j++)
                    v[j] *= 1e-39f; /* below FLT_MIN: denormal */
            if (pattern % 2 == 0)
                for (int64_t j = 0; j < bs; j++)
                    memcpy(&v[j], &nans[j % 3], sizeof(float)); /* all NaN */
            break;
        }
    }
}

/* The bound variant's activation quantizers (Q8_0, Q8_1, Q8_K, through
 * engine_act_quantize for a weight type of each) byte for byte against the
 * reference from_float of the type table. */
static void check_quantizers(const char *variant, engine_pool_t *pool)
{
    const engine_type_t wts[] = {ENGINE_TYPE_Q4_0, ENGINE_TYPE_Q4_1, ENGINE_TYPE_Q4_K};
    for (size_t t = 0; t < 3; t++) {
        const engine_type_traits_t *tr = engine_type_traits(wts[t]);
        const engine_type_traits_t *vt = engine_type_traits(tr->vec_dot_type);
        const int64_t bs = vt->block_size, k = 8 * bs, m = 16;
        const size_t as = engine_row_size(tr->vec_dot_type, k);
        float *x = xalloc(sizeof(float) * (size_t)(m * k));
        uint8_t *got = xalloc(as * (size_t)m), *ref = xalloc(as * (size_t)m);
        for (int pass = 0; pass < 2; pass++) { /* 0: this thread, 1: the pool */
            for (int64_t j = 0; j < m; j++)
                quant_input(x + j * k, bs, k, (int)j, pass == 0);
            memset(got, 0xa5, as * (size_t)m);
            memset(ref, 0x5a, as * (size_t)m);
            int rc = engine_act_quantize(pass ? pool : NULL, wts[t], x, k, m, got);
            CHECK(rc == 0, "%s %s act: %s", variant, vt->name, mb_err_msg());
            for (int64_t j = 0; j < m; j++)
                vt->from_float(x + j * k, ref + (size_t)j * as, k);
            int64_t diff = -1;
            for (int64_t j = 0; j < m && diff < 0; j++)
                if (memcmp(got + (size_t)j * as, ref + (size_t)j * as, as))
                    diff = j;
            CHECK(diff < 0, "%s %s quantizer (%s): row %lld differs from the reference",
                  variant, vt->name, pass ? "pool" : "one thread", (long long)diff);
        }
        free(x);
        free(got);
        free(ref);
    }
}

static float uni(void) /* [-1, 1) */
{
    return (float)((double)(next_u64() >> 11) / 4503599627370496.0 - 1.0);
}

/* The bound variant's attention against the scalar reference, as
 * tests/test_engine_ops.c: head sizes of the catalog's models, G query heads
 * per KV head, key counts from 1 to past a SIMD width, a ring that wraps;
 * plus D 44 (a 16-dim remainder), 6 and 320 (the scalar fallback). Outputs
 * are convex mixes of V (|V| <= 5): bounded absolutely by 5e-5; a NaN fails.
 * Returns the worst error. */
static double check_attention(const char *variant, const kern_ops_t *ops)
{
    const int Ds[] = {64, 96, 128, 256, 44, 6, 320};
    const int Gs[] = {1, 2, 3, 4, 8};
    const int Ns[] = {1, 2, 7, 16, 17, 33, 200};
    double worst = 0;
    for (size_t di = 0; di < sizeof Ds / sizeof *Ds; di++)
        for (size_t gi = 0; gi < sizeof Gs / sizeof *Gs; gi++)
            for (size_t ni = 0; ni < sizeof Ns / sizeof *Ns; ni++) {
                const int D = Ds[di], G = Gs[gi], n = Ns[ni];
                const size_t kvs = (size_t)D * 3; /* rows of a 3-KV-head cache */
                /* the variant reads a ring of R rows whose key 0 is row s0 (it
                 * wraps when n > R - s0); the reference reads plain rows */
                const int R = n + 3, s0 = (int)(ni * 5) % R;
                float *q = xalloc(sizeof(float) * (size_t)(G * D));
                engine_f16_t *K = xalloc(sizeof(engine_f16_t) * kvs * (size_t)n);
                engine_f16_t *V = xalloc(sizeof(engine_f16_t) * kvs * (size_t)n);
                engine_f16_t *Kr = xalloc(sizeof(engine_f16_t) * kvs * (size_t)R);
                engine_f16_t *Vr = xalloc(sizeof(engine_f16_t) * kvs * (size_t)R);
                memset(Kr, 0, sizeof(engine_f16_t) * kvs * (size_t)R);
                memset(Vr, 0, sizeof(engine_f16_t) * kvs * (size_t)R);
                float *sc = xalloc(sizeof(float) * (size_t)(G * n));
                float *o = xalloc(sizeof(float) * (size_t)(G * D));
                float *r = xalloc(sizeof(float) * (size_t)(G * D));
                for (int i = 0; i < G * D; i++)
                    q[i] = uni() * 2.0f;
                for (size_t i = 0; i < kvs * (size_t)n; i++) {
                    K[i] = engine_f32_to_f16(uni() * 3.0f);
                    V[i] = engine_f32_to_f16(uni() * 5.0f);
                }
                for (int j = 0; j < n; j++) {
                    const size_t row = (size_t)((s0 + j) % R);
                    memcpy(Kr + row * kvs, K + (size_t)j * kvs, kvs * sizeof *K);
                    memcpy(Vr + row * kvs, V + (size_t)j * kvs, kvs * sizeof *V);
                }
                for (int i = 0; i < G * D; i++)
                    o[i] = NAN; /* every output must be written */
                const float scale = 1.0f / sqrtf((float)D);
                kern_ops_scalar.attn_f16(D, G, n, q, D, K, V, kvs, n, 0, scale, sc, r, D);
                ops->attn_f16(D, G, n, q, D, Kr, Vr, kvs, R, s0, scale, sc, o, D);
                int bad = -1;
                for (int i = 0; i < G * D && bad < 0; i++) {
                    const double err = fabs((double)o[i] - r[i]);
                    if (isnan(o[i]) || !(err <= 5e-5))
                        bad = i;
                    else if (err > worst)
                        worst = err;
                }
                CHECK(bad < 0, "%s attention D %d G %d n %d (ring %d from %d): out[%d] %.9g, "
                      "reference %.9g", variant, D, G, n, R, s0, bad, bad < 0 ? 0 : o[bad],
                      bad < 0 ? 0 : r[bad]);
                free(q);
                free(K);
                free(V);
                free(Kr);
                free(Vr);
                free(sc);
                free(o);
                free(r);
            }
    return worst;
}

/* The bound variant's SiLU and GELU gating against the scalar reference, as
 * tests/test_engine_ops.c: random inputs, the activations' tails and huge
 * inputs; |h - ref| <= 2e-6 |ref| + 1e-6 |u|, a NaN fails; in place (h = g,
 * as the forward pass calls it) the same bits. */
static void check_gating(const char *variant, const kern_ops_t *ops)
{
    const int64_t n = 1000 + 13;
    float *g = xalloc(sizeof(float) * n), *u = xalloc(sizeof(float) * n);
    float *h = xalloc(sizeof(float) * n), *r = xalloc(sizeof(float) * n);
    float *gi = xalloc(sizeof(float) * n);
    for (int64_t i = 0; i < n; i++) {
        g[i] = uni() * 12.0f;
        u[i] = uni() * 3.0f;
    }
    const float extremes[] = {-200.0f, -90.0f, -30.0f, 0.0f, 1e-30f, 30.0f, 90.0f, 200.0f, 1e6f};
    for (size_t i = 0; i < sizeof extremes / sizeof *extremes; i++)
        g[i] = extremes[i];
    for (int which = 0; which < 2; which++) {
        const char *act = which ? "gelu" : "silu";
        void (*f)(int64_t, float *, const float *, const float *) =
            which ? ops->gelu_mul : ops->silu_mul;
        void (*ref)(int64_t, float *, const float *, const float *) =
            which ? kern_ops_scalar.gelu_mul : kern_ops_scalar.silu_mul;
        ref(n, r, g, u);
        f(n, h, g, u);
        int64_t bad = -1;
        for (int64_t i = 0; i < n && bad < 0; i++)
            if (isnan(h[i]) ||
                !(fabsf(h[i] - r[i]) <= 2e-6f * fabsf(r[i]) + 1e-6f * fabsf(u[i])))
                bad = i;
        CHECK(bad < 0, "%s %s: g %g u %g: %.9g, reference %.9g", variant, act,
              bad < 0 ? 0 : g[bad], bad < 0 ? 0 : u[bad], bad < 0 ? 0 : h[bad],
              bad < 0 ? 0 : r[bad]);
        memcpy(gi, g, sizeof(float) * n);
        f(n, gi, gi, u);
        CHECK(!memcmp(gi, h, sizeof(float) * n), "%s %s: in-place result differs", variant,
              act);
    }
    free(g);
    free(u);
    free(h);
    free(r);
    free(gi);
}

static void test_variants(void)
{
    probes_features_t f;
    probes_features_detect(&f);
    const char *names[16];
    bool capable[16];
    int nv = engine_kernels_list(names, 16, &f, capable);
    engine_pool_t *pool = NULL;
    CHECK(engine_pool_create(2, &pool) == 0, "pool: %s", mb_err_msg());
    for (int v = 0; v < nv && v < 16; v++) {
        if (!capable[v]) {
            printf("variant %s: not capable on this CPU (it needs %s), skipped\n", names[v],
                   !strcmp(names[v], "dotprod") ? "dotprod"
                   : !strcmp(names[v], "i8mm")  ? "dotprod and i8mm"
                                                : "features this CPU lacks");
            continue;
        }
        CHECK(engine_kernels_init(&f, names[v]) == 0, "init %s: %s", names[v], mb_err_msg());
        const int fails0 = n_fail, checks0 = n_pass + n_fail;
        int tested = 0;
        char worst_line[512] = "";
        size_t wl = 0;
        for (int t = 0; t < ENGINE_TYPE_COUNT; t++) {
            const engine_type_traits_t *tr = engine_type_traits((engine_type_t)t);
            if (!tr || !tr->vec_dot_ref || !tr->quantize || t == ENGINE_TYPE_Q8_1 ||
                t == ENGINE_TYPE_Q8_K)
                continue;
            bool scalar = !strcmp(names[v], "scalar");
            if (scalar ? t != ENGINE_TYPE_Q4_0
                       : !engine_kernels_specialized(names[v], (engine_type_t)t))
                continue;
            double w1 = check_type((engine_type_t)t, pool, true);
            double w2 = check_type((engine_type_t)t, NULL, false);
            int wn = snprintf(worst_line + wl, sizeof worst_line - wl, " %s %.2g", tr->name,
                              w1 > w2 ? w1 : w2);
            if (wn > 0 && (size_t)wn < sizeof worst_line - wl)
                wl += (size_t)wn;
            tested++;
        }
        check_quantizers(names[v], pool);
        const kern_ops_t *ops = kern_ops();
        const double attn_worst = check_attention(names[v], ops);
        check_gating(names[v], ops);
        printf("variant %s: %d formats against the reference, quantizers Q8_0/Q8_1/Q8_K "
               "byte-identical, ops (attention, SiLU/GELU) against the scalar ones: %d checks, "
               "%d failed\n",
               names[v], tested, n_pass + n_fail - checks0, n_fail - fails0);
        if (tested)
            printf("  worst error as a fraction of the bound:%s\n", worst_line);
        printf("  worst attention error: %.3g (bound 5e-05)\n", attn_worst);
        CHECK(tested > 0, "variant %s: no format checked", names[v]);
        if (!strcmp(names[v], "neon") || !strcmp(names[v], "dotprod") ||
            !strcmp(names[v], "i8mm")) {
            CHECK(tested == 14, "variant %s: own code for %d of the 14 weight formats",
                  names[v], tested);
            CHECK(ops == &kern_ops_neon, "variant %s: not bound to the NEON ops", names[v]);
        }
    }
    engine_pool_destroy(pool);
    /* the best variant is bound by default */
    CHECK(engine_kernels_init(&f, NULL) == 0, "bind best");
    printf("bound by default: %s\n", engine_kernels_name());
}

typedef struct {
    engine_counter_t ctr;
    _Atomic int hits[500];
    _Atomic int calls;
} claim_t;

static void claim_task(void *p, int ith, int nth)
{
    (void)ith;
    (void)nth;
    claim_t *c = p;
    atomic_fetch_add(&c->calls, 1);
    for (int64_t s; (s = engine_counter_claim(&c->ctr, 3)) < 500;)
        for (int64_t i = s; i < s + 3 && i < 500; i++)
            atomic_fetch_add(&c->hits[i], 1);
}

static void test_pool(void)
{
    engine_pool_t *pool = NULL;
    CHECK(engine_pool_create(3, &pool) == 0, "pool create");
    static claim_t c;
    for (int run = 0; run < 20; run++) {
        memset(&c, 0, sizeof c);
        engine_counter_reset(&c.ctr, 0);
        engine_pool_run(pool, claim_task, &c);
        int ok = atomic_load(&c.calls) == 3;
        for (int i = 0; i < 500; i++)
            ok &= atomic_load(&c.hits[i]) == 1;
        CHECK(ok, "pool run %d: every thread once, every item once", run);
    }
    engine_pool_destroy(pool);
    CHECK(engine_pool_create(0, &pool) == MB_EINVAL, "0 threads rejected");
}

static void test_bad_input(void)
{
    static _Alignas(64) uint8_t wbuf[4 * 2 * 18 + 8];
    static _Alignas(64) uint8_t abuf[2 * 34 + 8];
    static _Alignas(64) float y[8];
    engine_tensor_t w = {.name = "w", .type = ENGINE_TYPE_Q4_0, .ne = {64, 4, 1, 1}, .data = wbuf,
                         .nbytes = 4 * 2 * 18};
    CHECK(engine_matmul(NULL, &w, abuf, 1, y) == 0, "good call: %s", mb_err_msg());
    CHECK(engine_matmul(NULL, &w, NULL, 1, y) == MB_EINVAL, "NULL act");
    CHECK(engine_matmul(NULL, &w, abuf + 1, 1, y) == MB_EALIGN, "misaligned act");
    w.ne[0] = 48;
    CHECK(engine_matmul(NULL, &w, abuf, 1, y) == MB_ESHAPE, "k not a block multiple");
    w.ne[0] = 64;
    w.nbytes--;
    CHECK(engine_matmul(NULL, &w, abuf, 1, y) == MB_ESHAPE, "short buffer");
}

int main(void)
{
    test_pool();
    test_bad_input();
    test_variants();
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
