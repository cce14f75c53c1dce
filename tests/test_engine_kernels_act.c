/* Activation quantizers of every capable kernel variant (engine_act_quantize
 * under the bound variant, its quant[] table or the reference) against the
 * reference from_float of the type table: byte-identical blocks for Q8_0,
 * Q8_1, Q8_K, F16 and BF16 rows, on Gaussian rows of several scales and on
 * extreme rows: all zeros, signed zeros, huge values up to FLT_MAX,
 * denormals (alone, as the largest value of a block, mixed with normals),
 * exact rounding ties, equal magnitudes of opposite sign, and (through the
 * variants' fallback to the reference) infinities and NaNs. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static float uniform(void) /* [0, 1) */
{
    return (float)((double)(next_u64() >> 11) / 9007199254740992.0);
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
    cr_assert_not_null(p);
    return p;
}

static float bits_f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* A weight type per activation format: engine_act_quantize takes the weight
 * type and quantizes to its vec_dot_type. */
static const struct {
    engine_type_t wtype, atype;
} act_formats[] = {
    {ENGINE_TYPE_Q4_0, ENGINE_TYPE_Q8_0}, {ENGINE_TYPE_Q4_1, ENGINE_TYPE_Q8_1},
    {ENGINE_TYPE_Q4_K, ENGINE_TYPE_Q8_K}, {ENGINE_TYPE_F16, ENGINE_TYPE_F16},
    {ENGINE_TYPE_BF16, ENGINE_TYPE_BF16},
};

enum {
    ROW_GAUSS,      /* N(0, s^2), s from 3e-37 to 1e30 */
    ROW_ZERO,       /* +0 */
    ROW_SIGNED_0,   /* +-0 */
    ROW_HUGE,       /* magnitudes near FLT_MAX */
    ROW_DENORMAL,   /* denormals only */
    ROW_DENORM_MIX, /* blocks of denormals and blocks of small normals */
    ROW_TIES,       /* integers + 0.5 after scaling, amax 127 */
    ROW_OPPOSITE,   /* +-amax in one block, in both orders */
    ROW_F16_EDGE,   /* around the f16 limits: 65504, 65520, 2^-24, 2^-25 */
    ROW_INF,        /* one infinity per row */
    ROW_NAN,        /* NaNs with random payloads */
    ROW_KINDS
};
static const char *const row_names[ROW_KINDS] = {
    "gauss", "zero", "signed zero", "huge", "denormal", "denormal mix", "ties",
    "opposite", "f16 edge", "inf", "nan"};

static void fill_row(int kind, float *x, int64_t k, int64_t bs, float scale)
{
    for (int64_t i = 0; i < k; i++) {
        switch (kind) {
        case ROW_GAUSS: x[i] = gauss() * scale; break;
        case ROW_ZERO: x[i] = 0.0f; break;
        case ROW_SIGNED_0: x[i] = (next_u64() & 1) ? -0.0f : 0.0f; break;
        case ROW_HUGE: x[i] = (uniform() * 2.0f - 1.0f) * FLT_MAX; break;
        case ROW_DENORMAL:
            x[i] = bits_f((uint32_t)(next_u64() & 0x807fffffu)); /* sign + mantissa only */
            break;
        case ROW_DENORM_MIX:
            x[i] = ((i / bs) % 2) ? bits_f((uint32_t)(next_u64() & 0x807fffffu))
                                  : gauss() * 1e-37f;
            break;
        case ROW_TIES:
            /* amax 127 -> d = 1 (Q8_0) and iscale = +-1 (Q8_K): x + 0.5 is a tie */
            x[i] = (i % bs == 0) ? ((i / bs) % 2 ? -127.0f : 127.0f)
                                 : (float)((int)(next_u64() % 253) - 126) + 0.5f;
            break;
        case ROW_OPPOSITE: {
            const int64_t j = i % bs;
            const float m = 3.25f;
            x[i] = (j == 5) ? ((i / bs) % 2 ? m : -m) : (j == 9) ? ((i / bs) % 2 ? -m : m)
                                                                  : gauss();
            break;
        }
        case ROW_F16_EDGE: {
            static const float e[] = {65504.0f, 65519.99f, 65520.0f, -65520.0f, 5.9604645e-8f,
                                      2.9802322e-8f, 2.9802326e-8f, 1.0009766f, 1.00048828125f,
                                      1.00146484375f, 6.1035156e-5f, -6.0975552e-5f};
            x[i] = e[next_u64() % (sizeof e / sizeof e[0])];
            break;
        }
        case ROW_INF: x[i] = gauss(); break;
        case ROW_NAN:
            x[i] = (next_u64() % 7 == 0)
                       ? bits_f(0x7f800000u | (uint32_t)(next_u64() & 0x807fffffu) | 1u)
                       : gauss();
            break;
        }
    }
    if (kind == ROW_INF)
        x[next_u64() % (uint64_t)k] = (next_u64() & 1) ? INFINITY : -INFINITY;
}

/* Quantizes m rows of kind `kind` under the bound variant and compares the
 * bytes with the reference; returns the number of rows compared. */
static int check_rows(engine_type_t wtype, engine_type_t atype, int kind, int64_t k, int64_t m,
                      engine_pool_t *pool, float scale)
{
    const engine_type_traits_t *at = engine_type_traits(atype);
    cr_assert_not_null(at);
    cr_assert_not_null(at->from_float);
    const int64_t bs = at->block_size == 1 ? 8 : at->block_size;
    float *x = xalloc(sizeof(float) * (size_t)(k * m));
    for (int64_t j = 0; j < m; j++)
        fill_row(kind, x + j * k, k, bs, scale);
    const size_t row = engine_row_size(atype, k);
    cr_assert_eq(engine_act_bytes(wtype, k, m), row * (size_t)m);
    uint8_t *got = xalloc(row * (size_t)m), *ref = xalloc(row * (size_t)m);
    memset(got, 0xa5, row * (size_t)m);
    memset(ref, 0x5a, row * (size_t)m);
    cr_assert_eq(engine_act_quantize(pool, wtype, x, k, m, got), 0, "%s", mb_err_msg());
    for (int64_t j = 0; j < m; j++)
        at->from_float(x + j * k, ref + (size_t)j * row, k);
    for (size_t i = 0; i < row * (size_t)m; i++)
        cr_assert_eq(got[i], ref[i],
                     "%s %s, %s rows (scale %g), k=%lld m=%lld: byte %zu of row %zu "
                     "(block %zu, offset %zu) is 0x%02x, reference 0x%02x",
                     engine_kernels_name(), at->name, row_names[kind], (double)scale,
                     (long long)k, (long long)m, i % row, i / row,
                     (i % row) / at->type_size, (i % row) % at->type_size, got[i], ref[i]);
    free(x);
    free(got);
    free(ref);
    return (int)m;
}

static void check_variant_act(const char *name, const probes_features_t *f)
{
    cr_assert_eq(engine_kernels_init(f, name), 0, "%s", mb_err_msg());
    engine_pool_t *pool = NULL;
    cr_assert_eq(engine_pool_create(2, &pool), 0);
    for (size_t a = 0; a < sizeof act_formats / sizeof act_formats[0]; a++) {
        const engine_type_t wt = act_formats[a].wtype, at = act_formats[a].atype;
        const int64_t bs = engine_type_traits(at)->block_size;
        /* block formats: 1, 3 and 8 blocks; float formats: odd tails too */
        const int64_t ks_blk[] = {bs, 3 * bs, 8 * bs};
        const int64_t ks_fl[] = {7, 33, 100, 256};
        const int64_t *ks = bs == 1 ? ks_fl : ks_blk;
        const int nk = bs == 1 ? 4 : 3;
        for (int ki = 0; ki < nk; ki++) {
            const int64_t k = ks[ki];
            /* 3e-37 .. 3e-35: block scales in the denormal range with a
             * finite inverse (the SIMD path, not the fallback) */
            const float scales[] = {3e-37f, 1e-36f, 3e-35f, 1e-6f, 1e-2f, 1.0f, 1e2f, 1e6f, 1e30f};
            for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++)
                check_rows(wt, at, ROW_GAUSS, k, 3, NULL, scales[si]);
            /* the threaded path (Gaussian rows only: workers run with
             * denormals flushed, the reference here does not) */
            check_rows(wt, at, ROW_GAUSS, k, 9, pool, 1.0f);
            for (int kind = ROW_ZERO; kind < ROW_KINDS; kind++)
                check_rows(wt, at, kind, k, 4, NULL, 1.0f);
        }
    }
    engine_pool_destroy(pool);
}

Test(engine_kernels_act, every_variant_matches_reference_bytes)
{
    probes_features_t f;
    probes_features_detect(&f);
    const char *names[16];
    bool capable[16];
    int nv = engine_kernels_list(names, 16, &f, capable);
    int tested = 0;
    for (int i = 0; i < nv && i < 16; i++) {
        if (!capable[i])
            continue;
        check_variant_act(names[i], &f);
        cr_log_info("%s: activation quantizers byte-identical to the reference", names[i]);
        tested++;
    }
    cr_assert_geq(tested, 1);
    engine_kernels_init(&f, NULL);
}

/* Hand-made blocks with known answers, so a variant and the reference
 * cannot agree on a wrong rounding rule: Q8_0 rounds half away from zero,
 * Q8_K to even, and Q8_K takes its sign from the first of equal magnitudes. */
Test(engine_kernels_act, rounding_rules_known_values)
{
    probes_features_t f;
    probes_features_detect(&f);
    const char *names[16];
    bool capable[16];
    int nv = engine_kernels_list(names, 16, &f, capable);
    for (int v = 0; v < nv && v < 16; v++) {
        if (!capable[v])
            continue;
        cr_assert_eq(engine_kernels_init(&f, names[v]), 0);
        float x[256] = {0};
        x[0] = 127.0f; /* d = 1 */
        x[1] = 2.5f;
        x[2] = -2.5f;
        x[3] = 3.5f;
        x[4] = 0.49999997f;
        engine_block_q8_0 q0;
        cr_assert_eq(engine_act_quantize(NULL, ENGINE_TYPE_Q4_0, x, 32, 1, &q0), 0);
        cr_assert_eq(engine_f16_to_f32(q0.d), 1.0f);
        cr_assert_eq(q0.qs[1], 3, "%s: Q8_0 2.5 -> %d", names[v], q0.qs[1]);
        cr_assert_eq(q0.qs[2], -3);
        cr_assert_eq(q0.qs[3], 4);
        cr_assert_eq(q0.qs[4], 0);
        /* Q8_K: max = -127 (first of +-127) -> iscale = 1, d = 1 */
        x[0] = -127.0f;
        x[100] = 127.0f;
        engine_block_q8_K qk;
        cr_assert_eq(engine_act_quantize(NULL, ENGINE_TYPE_Q4_K, x, 256, 1, &qk), 0);
        cr_assert_eq(qk.d, 1.0f, "%s: Q8_K d = %g", names[v], (double)qk.d);
        cr_assert_eq(qk.qs[0], -127);
        cr_assert_eq(qk.qs[100], 127);
        cr_assert_eq(qk.qs[1], 2, "%s: Q8_K 2.5 -> %d (ties to even)", names[v], qk.qs[1]);
        cr_assert_eq(qk.qs[2], -2);
        cr_assert_eq(qk.qs[3], 4);
        cr_assert_eq(qk.bsums[0], -127 + 2 - 2 + 4);
        cr_assert_eq(qk.bsums[6], 127); /* value 100 is in group 6 */
        /* the same magnitudes, + first: the sign flips */
        x[0] = 127.0f;
        x[100] = -127.0f;
        cr_assert_eq(engine_act_quantize(NULL, ENGINE_TYPE_Q4_K, x, 256, 1, &qk), 0);
        cr_assert_eq(qk.d, -1.0f);
        cr_assert_eq(qk.qs[1], -2);
    }
    engine_kernels_init(&f, NULL);
}
