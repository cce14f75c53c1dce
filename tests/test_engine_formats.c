/*
 * test_engine_formats.c: the type table, half/bfloat16 conversions, and byte
 * compatibility of every block format: hand-built blocks (known scales, known
 * quants, packed from the GGUF layout descriptions) decode to exactly the
 * expected floats. Optionally cross-checks against llama.cpp-written GGUF
 * files in MB_SHARED/fixtures/gguf-peer.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* ---- small deterministic PRNG -------------------------------------------- */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rng_u32(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
static int rng_int(int lo, int hi) /* inclusive */
{
    return lo + (int)(rng_u32() % (uint32_t)(hi - lo + 1));
}

static const engine_type_t all_types[] = {
    ENGINE_TYPE_F32,  ENGINE_TYPE_F16,  ENGINE_TYPE_BF16, ENGINE_TYPE_Q8_0,
    ENGINE_TYPE_Q8_1, ENGINE_TYPE_Q4_0, ENGINE_TYPE_Q4_1, ENGINE_TYPE_Q5_0,
    ENGINE_TYPE_Q5_1, ENGINE_TYPE_Q2_K, ENGINE_TYPE_Q3_K, ENGINE_TYPE_Q4_K,
    ENGINE_TYPE_Q5_K, ENGINE_TYPE_Q6_K, ENGINE_TYPE_Q8_K, ENGINE_TYPE_IQ4_NL,
};

/* ---- type table ----------------------------------------------------------- */

Test(formats, table_sizes_match_gguf)
{
    static const struct { engine_type_t t; const char *name; int64_t bs; size_t ts; } want[] = {
        {ENGINE_TYPE_F32, "F32", 1, 4},        {ENGINE_TYPE_F16, "F16", 1, 2},
        {ENGINE_TYPE_BF16, "BF16", 1, 2},      {ENGINE_TYPE_Q8_0, "Q8_0", 32, 34},
        {ENGINE_TYPE_Q8_1, "Q8_1", 32, 36},    {ENGINE_TYPE_Q4_0, "Q4_0", 32, 18},
        {ENGINE_TYPE_Q4_1, "Q4_1", 32, 20},    {ENGINE_TYPE_Q5_0, "Q5_0", 32, 22},
        {ENGINE_TYPE_Q5_1, "Q5_1", 32, 24},    {ENGINE_TYPE_Q2_K, "Q2_K", 256, 84},
        {ENGINE_TYPE_Q3_K, "Q3_K", 256, 110},  {ENGINE_TYPE_Q4_K, "Q4_K", 256, 144},
        {ENGINE_TYPE_Q5_K, "Q5_K", 256, 176},  {ENGINE_TYPE_Q6_K, "Q6_K", 256, 210},
        {ENGINE_TYPE_Q8_K, "Q8_K", 256, 292},  {ENGINE_TYPE_IQ4_NL, "IQ4_NL", 32, 18},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const engine_type_traits_t *t = engine_type_traits(want[i].t);
        cr_assert_not_null(t, "type %d", want[i].t);
        cr_assert_str_eq(t->name, want[i].name);
        cr_assert_eq(t->block_size, want[i].bs, "%s block size", want[i].name);
        cr_assert_eq(t->type_size, want[i].ts, "%s type size", want[i].name);
        cr_assert_float_eq(t->bpw, 8.0 * (double)want[i].ts / (double)want[i].bs, 1e-12);
        cr_assert_eq(t->quantized, want[i].bs > 1);
        cr_assert_not_null(t->to_float, "%s to_float", t->name);
        cr_assert_str_eq(engine_type_name(want[i].t), want[i].name);
    }
    cr_assert_float_eq(engine_type_traits(ENGINE_TYPE_Q4_K)->bpw, 4.5, 1e-12);
    cr_assert_float_eq(engine_type_traits(ENGINE_TYPE_Q6_K)->bpw, 6.5625, 1e-12);
}

Test(formats, table_functions_and_partners)
{
    static const struct { engine_type_t w, act; } pairs[] = {
        {ENGINE_TYPE_F32, ENGINE_TYPE_F32},     {ENGINE_TYPE_F16, ENGINE_TYPE_F16},
        {ENGINE_TYPE_BF16, ENGINE_TYPE_BF16},   {ENGINE_TYPE_Q8_0, ENGINE_TYPE_Q8_0},
        {ENGINE_TYPE_Q4_0, ENGINE_TYPE_Q8_0},   {ENGINE_TYPE_Q5_0, ENGINE_TYPE_Q8_0},
        {ENGINE_TYPE_IQ4_NL, ENGINE_TYPE_Q8_0}, {ENGINE_TYPE_Q4_1, ENGINE_TYPE_Q8_1},
        {ENGINE_TYPE_Q5_1, ENGINE_TYPE_Q8_1},   {ENGINE_TYPE_Q2_K, ENGINE_TYPE_Q8_K},
        {ENGINE_TYPE_Q3_K, ENGINE_TYPE_Q8_K},   {ENGINE_TYPE_Q4_K, ENGINE_TYPE_Q8_K},
        {ENGINE_TYPE_Q5_K, ENGINE_TYPE_Q8_K},   {ENGINE_TYPE_Q6_K, ENGINE_TYPE_Q8_K},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        const engine_type_traits_t *t = engine_type_traits(pairs[i].w);
        cr_assert_eq(t->vec_dot_type, pairs[i].act, "%s partner", t->name);
        cr_assert_not_null(t->vec_dot_ref, "%s vec_dot_ref", t->name);
        cr_assert_not_null(t->quantize, "%s quantize", t->name);
        const engine_type_traits_t *a = engine_type_traits(t->vec_dot_type);
        cr_assert_not_null(a->from_float, "%s's partner %s has from_float", t->name, a->name);
        cr_assert_eq(a->block_size % t->block_size == 0 || t->block_size % a->block_size == 0,
                     true);
    }
    /* activation-only types have no weight quantizer or dot of their own */
    cr_assert_null(engine_type_traits(ENGINE_TYPE_Q8_K)->quantize);
    cr_assert_null(engine_type_traits(ENGINE_TYPE_Q8_1)->vec_dot_ref);
    cr_assert_null(engine_type_traits(ENGINE_TYPE_Q4_K)->from_float);
}

Test(formats, unsupported_ids_and_names)
{
    const int bad[] = {-1, 4, 5, 16, 17, 18, 19, 21, 29, 31, 39, 1000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_null(engine_type_traits((engine_type_t)bad[i]), "id %d", bad[i]);
        cr_assert_str_eq(engine_type_name((engine_type_t)bad[i]), "?");
        cr_assert_eq(engine_row_size((engine_type_t)bad[i], 256), 0);
    }
    engine_type_t t = ENGINE_TYPE_F32;
    cr_assert_eq(engine_type_from_name("q4_k", &t), 0);
    cr_assert_eq(t, ENGINE_TYPE_Q4_K);
    cr_assert_eq(engine_type_from_name("IQ4_nl", &t), 0);
    cr_assert_eq(t, ENGINE_TYPE_IQ4_NL);
    cr_assert_eq(engine_type_from_name("bf16", &t), 0);
    cr_assert_eq(t, ENGINE_TYPE_BF16);
    for (size_t i = 0; i < sizeof all_types / sizeof all_types[0]; i++) {
        cr_assert_eq(engine_type_from_name(engine_type_name(all_types[i]), &t), 0);
        cr_assert_eq(t, all_types[i]);
    }
    t = ENGINE_TYPE_Q6_K;
    cr_assert_eq(engine_type_from_name("q4_k_m", &t), MB_ENOENT);
    cr_assert_eq(t, ENGINE_TYPE_Q6_K, "output untouched on error");
    cr_assert(strstr(mb_err_msg(), "q4_k_m") != NULL, "message names the input: %s", mb_err_msg());
    cr_assert_eq(engine_type_from_name("", &t), MB_ENOENT);
    cr_assert_eq(engine_type_from_name(NULL, &t), MB_EINVAL);
    cr_assert_eq(engine_type_from_name("f32", NULL), MB_EINVAL);
}

Test(formats, row_size)
{
    cr_assert_eq(engine_row_size(ENGINE_TYPE_F32, 7), 28);
    cr_assert_eq(engine_row_size(ENGINE_TYPE_F16, 7), 14);
    cr_assert_eq(engine_row_size(ENGINE_TYPE_Q4_0, 4096), 128 * 18);
    cr_assert_eq(engine_row_size(ENGINE_TYPE_Q4_K, 4096), 16 * 144);
    cr_assert_eq(engine_row_size(ENGINE_TYPE_Q6_K, 256), 210);
    cr_assert_eq(engine_row_size(ENGINE_TYPE_Q4_0, 33), 0, "not a multiple of 32");
    cr_assert_eq(engine_row_size(ENGINE_TYPE_Q4_K, 32), 0, "not a multiple of 256");
    cr_assert_eq(engine_row_size(ENGINE_TYPE_Q8_K, 384), 0);
    cr_assert_eq(engine_row_size(ENGINE_TYPE_Q8_0, 0), 0);
    cr_assert_eq(engine_row_size(ENGINE_TYPE_Q8_0, -32), 0);
}

/* ---- half and bfloat16 ------------------------------------------------------ */

static float bits_f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static uint32_t f_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

Test(formats, f16_known_values)
{
    static const struct { float f; uint16_t h; } v[] = {
        {0.0f, 0x0000},         {1.0f, 0x3c00},       {-2.0f, 0xc000},
        {0.5f, 0x3800},         {65504.0f, 0x7bff},   {65519.0f, 0x7bff},
        {65520.0f, 0x7c00},     {1e6f, 0x7c00},       {-1e6f, 0xfc00},
        {0x1p-14f, 0x0400},     {0x1p-24f, 0x0001},   {0x1p-25f, 0x0000},
        {0x1.8p-25f, 0x0001},   {0x1.8p-24f, 0x0002}, {0x1.4p-23f, 0x0002},
        {0x1.002p0f, 0x3c00},   {0x1.006p0f, 0x3c02}, {0x1.0021p0f, 0x3c01},
        {0x1.ffcp-15f, 0x0400}, {1e-30f, 0x0000},     {0x1p-149f, 0x0000},
        {0.333333343f, 0x3555}, {-0.0f, 0x8000},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        cr_assert_eq(engine_f32_to_f16(v[i].f), v[i].h, "%a -> %04x, want %04x", (double)v[i].f,
                     engine_f32_to_f16(v[i].f), v[i].h);
    cr_assert_eq(engine_f32_to_f16(INFINITY), 0x7c00);
    cr_assert_eq(engine_f32_to_f16(-INFINITY), 0xfc00);
    const uint16_t hn = engine_f32_to_f16(NAN);
    cr_assert((hn & 0x7c00) == 0x7c00 && (hn & 0x3ff) != 0, "NaN stays NaN: %04x", hn);
    cr_assert_eq(engine_f16_to_f32(0x0001), 0x1p-24f);
    cr_assert_eq(engine_f16_to_f32(0x03ff), 0x3ffp-24f);
    cr_assert_eq(engine_f16_to_f32(0x7bff), 65504.0f);
    cr_assert_eq(engine_f16_to_f32(0xc000), -2.0f);
    cr_assert(isinf(engine_f16_to_f32(0x7c00)) && engine_f16_to_f32(0x7c00) > 0);
    cr_assert(isnan(engine_f16_to_f32(0x7e00)));
    cr_assert(signbit(engine_f16_to_f32(0x8000)) && engine_f16_to_f32(0x8000) == 0.0f);
}

Test(formats, f16_every_half_round_trips)
{
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = engine_f16_to_f32((uint16_t)h);
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) {
            cr_assert(isnan(f));
            continue;
        }
        cr_assert_eq(engine_f32_to_f16(f), h, "%04x -> %a -> %04x", h, (double)f,
                     engine_f32_to_f16(f));
    }
}

/* Nearest-even against the definition: pick the nearer of the two
 * neighbouring halves by exact double arithmetic. */
Test(formats, f16_rounding_matches_definition)
{
    rng_state = 42;
    for (int i = 0; i < 200000; i++) {
        uint32_t u = rng_u32() << 16 ^ rng_u32();
        /* concentrate on the half range, subnormals included */
        u = (u & 0x807fffffu) | (uint32_t)(rng_int(98, 144) << 23);
        const float f = bits_f(u);
        const uint16_t h = engine_f32_to_f16(f);
        const double a = fabs((double)f);
        const uint16_t hm = h & 0x7fff;
        if (hm == 0x7c00) {
            cr_assert(a >= 65520.0, "%a overflowed", (double)f);
            continue;
        }
        const double got = fabs((double)engine_f16_to_f32(h));
        const double lo = hm ? fabs((double)engine_f16_to_f32((uint16_t)(hm - 1))) : -1.0;
        const double hi = fabs((double)engine_f16_to_f32((uint16_t)(hm + 1)));
        const double e = fabs(got - a);
        cr_assert(e <= fabs(a - hi) && (hm == 0 || e <= fabs(a - lo)), "%a -> %04x", (double)f, h);
        if (e == fabs(a - hi) || (hm && e == fabs(a - lo)))
            cr_assert_eq(hm & 1, 0, "tie %a must go to even, got %04x", (double)f, h);
        cr_assert_eq(!!(h & 0x8000), !!signbit(f));
    }
}

Test(formats, bf16_conversions)
{
    cr_assert_eq(engine_f32_to_bf16(1.0f), 0x3f80);
    cr_assert_eq(engine_f32_to_bf16(bits_f(0x3f808000u)), 0x3f80, "tie to even (down)");
    cr_assert_eq(engine_f32_to_bf16(bits_f(0x3f818000u)), 0x3f82, "tie to even (up)");
    cr_assert_eq(engine_f32_to_bf16(bits_f(0x3f808001u)), 0x3f81);
    cr_assert_eq(engine_f32_to_bf16(bits_f(0x7f7fffffu)), 0x7f80, "FLT_MAX rounds to inf");
    cr_assert_eq(engine_f32_to_bf16(-INFINITY), 0xff80);
    cr_assert_eq(engine_f32_to_bf16(bits_f(0x00000001u)), 0x0000, "subnormal kept, rounded");
    cr_assert_eq(engine_f32_to_bf16(bits_f(0x00018000u)), 0x0002);
    const uint16_t n = engine_f32_to_bf16(bits_f(0x7f800001u)); /* signalling NaN */
    cr_assert(isnan(engine_bf16_to_f32(n)), "NaN kept: %04x", n);
    cr_assert_eq(engine_bf16_to_f32(0xc0a0), -5.0f);
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = engine_bf16_to_f32((uint16_t)h);
        cr_assert_eq(f_bits(f), h << 16);
        if (!isnan(f))
            cr_assert_eq(engine_f32_to_bf16(f), h);
    }
}

/* ---- literal blocks: bytes written out by hand from the layouts ------------- */

static void decode(engine_type_t t, const void *blk, float *y)
{
    const engine_type_traits_t *tr = engine_type_traits(t);
    tr->to_float(blk, y, tr->block_size);
}

Test(formats, literal_q4_0_q4_1_q5_0_q5_1_q8_0_iq4_nl)
{
    float y[32];
    engine_block_q4_0 a = {.d = 0x3800}; /* 0.5 */
    a.qs[0] = 0x1f;                      /* value 0 = 15, value 16 = 1 */
    a.qs[15] = 0x80;                     /* value 15 = 0, value 31 = 8 */
    decode(ENGINE_TYPE_Q4_0, &a, y);
    cr_assert_eq(y[0], 3.5f);
    cr_assert_eq(y[16], -3.5f);
    cr_assert_eq(y[15], -4.0f);
    cr_assert_eq(y[31], 0.0f);
    cr_assert_eq(y[1], -4.0f);

    engine_block_q4_1 b = {.d = 0x4000, .m = 0xbc00}; /* d 2, m -1 */
    b.qs[3] = 0xa5;
    decode(ENGINE_TYPE_Q4_1, &b, y);
    cr_assert_eq(y[3], 9.0f);
    cr_assert_eq(y[19], 19.0f);
    cr_assert_eq(y[0], -1.0f);

    engine_block_q5_0 c = {.d = 0x3c00, .qh = {0x01, 0x00, 0x00, 0x80}};
    c.qs[0] = 0xf0;
    c.qs[15] = 0x30;
    decode(ENGINE_TYPE_Q5_0, &c, y);
    cr_assert_eq(y[0], 0.0f);   /* 0 | 16 - 16 */
    cr_assert_eq(y[16], -1.0f); /* 15 - 16 */
    cr_assert_eq(y[31], 3.0f);  /* 3 | 16 - 16 */
    cr_assert_eq(y[15], -16.0f);

    engine_block_q5_1 e = {.d = 0x3800, .m = 0x3c00, .qh = {0x00, 0x00, 0x02, 0x00}};
    e.qs[1] = 0x47; /* value 1 = 7, value 17 = 4 | bit 17 */
    decode(ENGINE_TYPE_Q5_1, &e, y);
    cr_assert_eq(y[1], 4.5f);
    cr_assert_eq(y[17], 11.0f); /* (4 + 16) * 0.5 + 1 */

    engine_block_q8_0 f = {.d = 0xb400}; /* -0.25 */
    f.qs[7] = -128;
    f.qs[8] = 127;
    decode(ENGINE_TYPE_Q8_0, &f, y);
    cr_assert_eq(y[7], 32.0f);
    cr_assert_eq(y[8], -31.75f);

    engine_block_iq4_nl g = {.d = 0x3800};
    g.qs[0] = 0xf0;
    g.qs[9] = 0x78;
    decode(ENGINE_TYPE_IQ4_NL, &g, y);
    cr_assert_eq(y[0], -63.5f);
    cr_assert_eq(y[16], 56.5f);
    cr_assert_eq(y[9], 0.5f);
    cr_assert_eq(y[25], -5.0f);
}

Test(formats, literal_k_quants)
{
    float y[256];
    engine_block_q2_K a;
    memset(&a, 0, sizeof a);
    a.d = 0x3800;    /* 0.5 */
    a.dmin = 0x3c00; /* 1.0 */
    a.scales[0] = 0x35;
    a.scales[2] = 0x12;
    a.scales[4] = 0x01;
    a.scales[6] = 0x0f;
    a.scales[9] = 0xff;
    a.qs[0] = 0xe4;  /* values 0, 32, 64, 96: q = 0, 1, 2, 3 */
    a.qs[48] = 0x80; /* value 128 + 96 + 16 = 240 (group 15): q = 2 */
    a.scales[15] = 0x26;
    decode(ENGINE_TYPE_Q2_K, &a, y);
    cr_assert_eq(y[0], -3.0f);
    cr_assert_eq(y[32], 0.0f);
    cr_assert_eq(y[64], 1.0f);
    cr_assert_eq(y[96], 22.5f);
    cr_assert_eq(y[240], 4.0f); /* 0.5*6*2 - 1*2 */
    cr_assert_eq(y[150], -15.0f);

    engine_block_q3_K b;
    memset(&b, 0, sizeof b);
    b.d = 0x3c00;
    b.scales[0] = 0x02;  /* scale 0 low nibble 2 */
    b.scales[8] = 0x02;  /* scale 0 high bits 2: 34 - 32 = 2 */
    b.scales[7] = 0x10;  /* scale 15 low nibble 1, high 0: 1 - 32 = -31 */
    b.qs[0] = 0x03;      /* value 0 low bits 3 */
    b.hmask[0] = 0x01;   /* value 0 high bit set: q = 3 */
    b.qs[63] = 0x40;     /* value 255 low bits 1; hmask[31] bit 7 clear: q = -3 */
    b.scales[8] |= 0xc0; /* scale 12 high bits 3 (bits 6-7 of byte 8): 48 - 32 = 16 */
    b.hmask[20] = 0x40;  /* value 212 (group 13): bit 6 of hmask[20] */
    decode(ENGINE_TYPE_Q3_K, &b, y);
    cr_assert_eq(y[0], 6.0f);
    cr_assert_eq(y[1], -8.0f);
    cr_assert_eq(y[255], 93.0f);
    cr_assert_eq(y[192], -64.0f);  /* scale 12 = 16, q = -4 */
    cr_assert_eq(y[212], 0.0f);    /* scale 13 = -32, q = 0 */
    cr_assert_eq(y[213], 128.0f);  /* scale 13 = -32, q = -4 */

    engine_block_q4_K c;
    memset(&c, 0, sizeof c);
    c.d = 0x3c00;    /* 1 */
    c.dmin = 0x3800; /* 0.5 */
    c.scales[0] = 0x42; /* scale 0 = 2; top bits -> scale 4 high = 1 */
    c.scales[4] = 0x03; /* min 0 = 3 */
    c.scales[8] = 0x21; /* scale 4 low 1, min 4 low 2 */
    c.scales[5] = 0x80; /* min 5 high = 2 */
    c.scales[9] = 0x30; /* scale 5 low 0, min 5 low 3: min 5 = 35 */
    c.qs[0] = 0x5a;     /* value 0 = 10, value 32 = 5 */
    c.qs[64] = 0x07;    /* value 128 = 7 */
    decode(ENGINE_TYPE_Q4_K, &c, y);
    cr_assert_eq(y[0], 18.5f);     /* 2*10 - 0.5*3 */
    cr_assert_eq(y[32], 0.0f);     /* scale 1 = 0, min 1 = 0 */
    cr_assert_eq(y[128], 118.0f);  /* 17*7 - 0.5*2 */
    cr_assert_eq(y[160], -17.5f);  /* scale 5 = 0, min 5 = 35 */

    engine_block_q5_K d5;
    memset(&d5, 0, sizeof d5);
    d5.d = 0x3c00;
    d5.dmin = 0x3c00;
    d5.scales[1] = 0x01; /* scale 1 = 1 */
    d5.scales[3] = 0x02; /* scale 3 = 2 */
    d5.scales[7] = 0x05; /* min 3 = 5 */
    d5.qs[5] = 0x30;     /* value 37 (group 1) = 3 */
    d5.qh[5] = 0x02;     /* bit 1: value 37 + 16 */
    d5.qs[32 + 6] = 0xf0;/* value 64 + 32 + 6 = 102 (group 3) = 15 */
    d5.qh[6] = 0x08;     /* bit 3: value 102 + 16 */
    decode(ENGINE_TYPE_Q5_K, &d5, y);
    cr_assert_eq(y[37], 19.0f);
    cr_assert_eq(y[102], 57.0f); /* 2*31 - 5 */
    cr_assert_eq(y[96], -5.0f);

    engine_block_q6_K e;
    memset(&e, 0, sizeof e);
    e.d = 0x3c00;
    e.scales[0] = 3;
    e.scales[2] = 4;
    e.scales[4] = 1;
    e.scales[10] = -2;
    e.ql[0] = 0x21;  /* value 0 low 1, value 64 low 2 */
    e.qh[0] = 0x09;  /* value 0 high 1, value 32 high 2, value 64 high 0 */
    e.ql[32] = 0x05; /* value 32 low 5 */
    e.ql[96] = 0x0f; /* value 160 low 15 */
    e.qh[32] = 0x0c; /* value 160 high 3 */
    decode(ENGINE_TYPE_Q6_K, &e, y);
    cr_assert_eq(y[0], -45.0f);
    cr_assert_eq(y[32], 20.0f);
    cr_assert_eq(y[64], -30.0f);
    cr_assert_eq(y[160], -62.0f);
    cr_assert_eq(y[161], 64.0f); /* 0 - 32 = -32 times -2 */

    engine_block_q8_K f;
    memset(&f, 0, sizeof f);
    f.d = 0.25f;
    f.qs[5] = -7;
    f.qs[255] = 127;
    decode(ENGINE_TYPE_Q8_K, &f, y);
    cr_assert_eq(y[5], -1.75f);
    cr_assert_eq(y[255], 31.75f);
}

/* ---- random blocks, packed from the layout descriptions ---------------------
 * Scales are small integers times powers of two, so every expected value is
 * exact whatever the evaluation order. */

static const int8_t kv_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                    1,    13,   25,  38,  53,  69,  89,  113};

static uint16_t pow2_half(int e) /* 2^e as a half, e in -14..15 */
{
    return (uint16_t)((e + 15) << 10);
}

Test(formats, random_legacy_blocks_decode_exactly)
{
    rng_state = 7;
    float y[32];
    for (int it = 0; it < 200; it++) {
        const uint16_t dh = (uint16_t)(pow2_half(rng_int(-6, 3)) | (rng_int(0, 1) << 15));
        const uint16_t mh = (uint16_t)(pow2_half(rng_int(-6, 3)) | (rng_int(0, 1) << 15));
        const float d = engine_f16_to_f32(dh), m = engine_f16_to_f32(mh);
        int q[32];
        uint32_t qh = 0;
        uint8_t lo[16];
        for (int j = 0; j < 32; j++) {
            q[j] = rng_int(0, 31);
            if (q[j] & 16)
                qh |= 1u << j;
        }
        for (int j = 0; j < 16; j++)
            lo[j] = (uint8_t)((q[j] & 15) | (q[j + 16] & 15) << 4);
        const uint8_t qhb[4] = {(uint8_t)qh, (uint8_t)(qh >> 8), (uint8_t)(qh >> 16),
                                (uint8_t)(qh >> 24)};

        engine_block_q4_0 a = {.d = dh};
        memcpy(a.qs, lo, 16);
        decode(ENGINE_TYPE_Q4_0, &a, y);
        for (int j = 0; j < 32; j++)
            cr_assert_eq(y[j], (float)((q[j] & 15) - 8) * d);
        engine_block_q4_1 b = {.d = dh, .m = mh};
        memcpy(b.qs, lo, 16);
        decode(ENGINE_TYPE_Q4_1, &b, y);
        for (int j = 0; j < 32; j++)
            cr_assert_eq(y[j], (float)(q[j] & 15) * d + m);
        engine_block_q5_0 c = {.d = dh};
        memcpy(c.qs, lo, 16);
        memcpy(c.qh, qhb, 4);
        decode(ENGINE_TYPE_Q5_0, &c, y);
        for (int j = 0; j < 32; j++)
            cr_assert_eq(y[j], (float)(q[j] - 16) * d, "q5_0 value %d", j);
        engine_block_q5_1 e = {.d = dh, .m = mh};
        memcpy(e.qs, lo, 16);
        memcpy(e.qh, qhb, 4);
        decode(ENGINE_TYPE_Q5_1, &e, y);
        for (int j = 0; j < 32; j++)
            cr_assert_eq(y[j], (float)q[j] * d + m, "q5_1 value %d", j);
        engine_block_iq4_nl g = {.d = dh};
        memcpy(g.qs, lo, 16);
        decode(ENGINE_TYPE_IQ4_NL, &g, y);
        for (int j = 0; j < 32; j++)
            cr_assert_eq(y[j], (float)kv_iq4nl[q[j] & 15] * d);
        engine_block_q8_0 f = {.d = dh};
        for (int j = 0; j < 32; j++)
            f.qs[j] = (int8_t)(q[j] * 8 - 128);
        decode(ENGINE_TYPE_Q8_0, &f, y);
        for (int j = 0; j < 32; j++)
            cr_assert_eq(y[j], (float)(q[j] * 8 - 128) * d);
    }
}

/* Value i of a 256-block sits, for 2-bit planes (Q2_K/Q3_K), in byte
 * 32*(i/128) + i%32 at bits 2*((i%128)/32); for 4-bit planes (Q4_K/Q5_K) in
 * byte 32*(i/64) + i%32, high nibble when (i/32) is odd. */
Test(formats, random_k_blocks_decode_exactly)
{
    rng_state = 11;
    float y[256];
    for (int it = 0; it < 100; it++) {
        const int de = rng_int(-8, 0), me = rng_int(-8, 0);
        const float d = ldexpf(1.0f, de), dmin = ldexpf(1.0f, me);
        int q[256], sc[16], mn[16];
        for (int i = 0; i < 256; i++)
            q[i] = rng_int(0, 63);
        for (int j = 0; j < 16; j++) {
            sc[j] = rng_int(0, 63);
            mn[j] = rng_int(0, 63);
        }

        /* Q2_K */
        engine_block_q2_K a;
        memset(&a, 0, sizeof a);
        a.d = pow2_half(de);
        a.dmin = pow2_half(me);
        for (int j = 0; j < 16; j++)
            a.scales[j] = (uint8_t)((sc[j] & 15) | (mn[j] & 15) << 4);
        for (int i = 0; i < 256; i++)
            a.qs[32 * (i / 128) + i % 32] |= (uint8_t)((q[i] & 3) << (2 * ((i % 128) / 32)));
        decode(ENGINE_TYPE_Q2_K, &a, y);
        for (int i = 0; i < 256; i++)
            cr_assert_eq(y[i], d * (float)(sc[i / 16] & 15) * (float)(q[i] & 3) -
                                   dmin * (float)(mn[i / 16] & 15), "q2_K value %d", i);

        /* Q3_K: 6-bit scale j: low nibble in byte j%8 (nibble j/8), high
         * pair in byte 8 + j%4 (bits 2*(j/4)); value = scale - 32. */
        engine_block_q3_K b;
        memset(&b, 0, sizeof b);
        b.d = pow2_half(de);
        for (int j = 0; j < 16; j++) {
            b.scales[j % 8] |= (uint8_t)((sc[j] & 15) << (4 * (j / 8)));
            b.scales[8 + j % 4] |= (uint8_t)((sc[j] >> 4) << (2 * (j / 4)));
        }
        for (int i = 0; i < 256; i++) {
            b.qs[32 * (i / 128) + i % 32] |= (uint8_t)((q[i] & 3) << (2 * ((i % 128) / 32)));
            if (q[i] & 4)
                b.hmask[i % 32] |= (uint8_t)(1u << (i / 32));
        }
        decode(ENGINE_TYPE_Q3_K, &b, y);
        for (int i = 0; i < 256; i++)
            cr_assert_eq(y[i], d * (float)(sc[i / 16] - 32) * (float)((q[i] & 7) - 4),
                         "q3_K value %d", i);

        /* Q4_K / Q5_K: 8 x (6-bit scale, 6-bit min) in 12 bytes */
        uint8_t s12[12] = {0};
        for (int j = 0; j < 8; j++) {
            if (j < 4) {
                s12[j] = (uint8_t)sc[j];
                s12[j + 4] = (uint8_t)mn[j];
            } else {
                s12[j + 4] = (uint8_t)((sc[j] & 15) | (mn[j] & 15) << 4);
                s12[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
                s12[j] |= (uint8_t)((mn[j] >> 4) << 6);
            }
        }
        engine_block_q4_K c;
        memset(&c, 0, sizeof c);
        c.d = pow2_half(de);
        c.dmin = pow2_half(me);
        memcpy(c.scales, s12, 12);
        for (int i = 0; i < 256; i++)
            c.qs[32 * (i / 64) + i % 32] |= (uint8_t)((q[i] & 15) << (4 * ((i / 32) & 1)));
        decode(ENGINE_TYPE_Q4_K, &c, y);
        for (int i = 0; i < 256; i++)
            cr_assert_eq(y[i], d * (float)sc[i / 32] * (float)(q[i] & 15) -
                                   dmin * (float)mn[i / 32], "q4_K value %d", i);

        engine_block_q5_K e;
        memset(&e, 0, sizeof e);
        e.d = pow2_half(de);
        e.dmin = pow2_half(me);
        memcpy(e.scales, s12, 12);
        for (int i = 0; i < 256; i++) {
            e.qs[32 * (i / 64) + i % 32] |= (uint8_t)((q[i] & 15) << (4 * ((i / 32) & 1)));
            if (q[i] & 16)
                e.qh[i % 32] |= (uint8_t)(1u << (i / 32));
        }
        decode(ENGINE_TYPE_Q5_K, &e, y);
        for (int i = 0; i < 256; i++)
            cr_assert_eq(y[i], d * (float)sc[i / 32] * (float)(q[i] & 31) -
                                   dmin * (float)mn[i / 32], "q5_K value %d", i);

        /* Q6_K: value i = 128h + 32k + l: low nibble (k/2) of ql[64h + l + 32(k%2)],
         * high pair bits 2k of qh[32h + l]; scale i/16 (int8); q - 32. */
        engine_block_q6_K f;
        memset(&f, 0, sizeof f);
        f.d = pow2_half(de);
        for (int j = 0; j < 16; j++)
            f.scales[j] = (int8_t)(sc[j] * 4 - 128);
        for (int i = 0; i < 256; i++) {
            const int h = i / 128, k = (i % 128) / 32, l = i % 32;
            f.ql[64 * h + l + 32 * (k % 2)] |= (uint8_t)((q[i] & 15) << (4 * (k / 2)));
            f.qh[32 * h + l] |= (uint8_t)((q[i] >> 4) << (2 * k));
        }
        decode(ENGINE_TYPE_Q6_K, &f, y);
        for (int i = 0; i < 256; i++)
            cr_assert_eq(y[i], d * (float)(sc[i / 16] * 4 - 128) * (float)(q[i] - 32),
                         "q6_K value %d", i);
    }
}

/* ---- cross-check against GGUF files written by llama.cpp ---------------------- */

#define PEER_DIR MB_SHARED "/fixtures/gguf-peer"

typedef struct {
    char name[96];
    uint32_t type;
    uint64_t ne[4];
    uint64_t offset;
} peer_tensor_t;

typedef struct {
    unsigned char *buf;
    size_t len;
    size_t data_start;
    peer_tensor_t t[64];
    int n;
} peer_file_t;

static bool rd(const peer_file_t *f, size_t *p, void *out, size_t n)
{
    if (*p + n > f->len)
        return false;
    memcpy(out, f->buf + *p, n);
    *p += n;
    return true;
}

static bool skip_value(const peer_file_t *f, size_t *p, uint32_t type)
{
    static const size_t sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type > 12)
        return false;
    if (type == 8) {
        uint64_t n;
        if (!rd(f, p, &n, 8) || n > f->len)
            return false;
        *p += n;
        return *p <= f->len;
    }
    if (type == 9) {
        uint32_t et;
        uint64_t n;
        if (!rd(f, p, &et, 4) || !rd(f, p, &n, 8) || n > f->len)
            return false;
        for (uint64_t i = 0; i < n; i++)
            if (!skip_value(f, p, et))
                return false;
        return true;
    }
    *p += sz[type];
    return *p <= f->len;
}

/* Minimal GGUF v3 header walk: enough to find tensor data. */
static bool peer_open(const char *path, peer_file_t *f)
{
    memset(f, 0, sizeof *f);
    char *buf;
    size_t len;
    if (mb_file_read(path, 256u << 20, &buf, &len) != 0)
        return false;
    f->buf = (unsigned char *)buf;
    f->len = len;
    size_t p = 0;
    uint32_t magic, version;
    uint64_t nt, nkv;
    if (!rd(f, &p, &magic, 4) || memcmp(&magic, "GGUF", 4) != 0 || !rd(f, &p, &version, 4) ||
        !rd(f, &p, &nt, 8) || !rd(f, &p, &nkv, 8) || nt > 64)
        return false;
    uint64_t align = 32;
    for (uint64_t i = 0; i < nkv; i++) {
        uint64_t kl;
        uint32_t vt;
        if (!rd(f, &p, &kl, 8) || p + kl > len)
            return false;
        const bool is_align = kl == 17 && memcmp(f->buf + p, "general.alignment", 17) == 0;
        p += kl;
        if (!rd(f, &p, &vt, 4))
            return false;
        if (is_align && vt == 4) {
            uint32_t a;
            if (!rd(f, &p, &a, 4))
                return false;
            align = a;
        } else if (!skip_value(f, &p, vt)) {
            return false;
        }
    }
    for (uint64_t i = 0; i < nt; i++) {
        peer_tensor_t *t = &f->t[f->n++];
        uint64_t nl;
        uint32_t nd;
        if (!rd(f, &p, &nl, 8) || nl >= sizeof t->name || !rd(f, &p, t->name, nl) ||
            !rd(f, &p, &nd, 4) || nd > 4)
            return false;
        for (int d = 0; d < 4; d++)
            t->ne[d] = 1;
        for (uint32_t d = 0; d < nd; d++)
            if (!rd(f, &p, &t->ne[d], 8))
                return false;
        if (!rd(f, &p, &t->type, 4) || !rd(f, &p, &t->offset, 8))
            return false;
    }
    f->data_start = (p + align - 1) / align * align;
    return true;
}

static const peer_tensor_t *peer_find(const peer_file_t *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0)
            return &f->t[i];
    return NULL;
}

/* Decodes tensor t of f into a malloc'd float array; NULL if out of bounds. */
static float *peer_decode(const peer_file_t *f, const peer_tensor_t *t, int64_t *n_out)
{
    const engine_type_traits_t *tr = engine_type_traits((engine_type_t)t->type);
    cr_assert_not_null(tr, "%s: type %u unsupported", t->name, t->type);
    const int64_t n = (int64_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
    const size_t bytes = engine_row_size((engine_type_t)t->type, (int64_t)t->ne[0]) *
                         (size_t)(t->ne[1] * t->ne[2] * t->ne[3]);
    if (bytes == 0 || f->data_start + t->offset + bytes > f->len)
        return NULL;
    float *y = malloc((size_t)n * sizeof(float));
    cr_assert_not_null(y);
    tr->to_float(f->buf + f->data_start + t->offset, y, n);
    *n_out = n;
    return y;
}

struct peer_case {
    const char *file;
    engine_type_t type;
    double max_rel_rmse; /* decoded vs the F16 file's values, relative to their rms */
};

/* Every tensor of each quantized file, decoded, must be close to the same
 * tensor of the F16 file: a wrong layout gives errors of the order of the
 * values themselves. For the 32-value legacy formats, quantizing the F16
 * values with our quantizer (no imatrix: ggml's reference rounding) must
 * reproduce llama.cpp's bytes exactly; for the others our round-trip error
 * may not be worse than that of llama.cpp's file (measured: lower for all of
 * them, docs/QUANT.md). */
Test(formats, peer_gguf_files_decode)
{
    static const struct peer_case cases[] = {
        {"tiny-llama-BF16.gguf", ENGINE_TYPE_BF16, 0.005},
        {"tiny-llama-Q8_0.gguf", ENGINE_TYPE_Q8_0, 0.01},
        {"tiny-llama-Q6_K.gguf", ENGINE_TYPE_Q6_K, 0.04},
        {"tiny-llama-Q5_1.gguf", ENGINE_TYPE_Q5_1, 0.06},
        {"tiny-llama-Q5_0.gguf", ENGINE_TYPE_Q5_0, 0.06},
        {"tiny-llama-Q5_K_M.gguf", ENGINE_TYPE_Q5_K, 0.06},
        {"tiny-llama-Q4_1.gguf", ENGINE_TYPE_Q4_1, 0.13},
        {"tiny-llama-Q4_0.gguf", ENGINE_TYPE_Q4_0, 0.13},
        {"tiny-llama-Q4_K_M.gguf", ENGINE_TYPE_Q4_K, 0.12},
        {"tiny-llama-IQ4_NL.gguf", ENGINE_TYPE_IQ4_NL, 0.12},
        {"tiny-llama-Q3_K_M.gguf", ENGINE_TYPE_Q3_K, 0.25},
        {"tiny-llama-Q2_K.gguf", ENGINE_TYPE_Q2_K, 0.45},
    };
    peer_file_t ref;
    if (!peer_open(PEER_DIR "/tiny-llama-F16.gguf", &ref)) {
        free(ref.buf);
        cr_skip("no llama.cpp GGUF fixtures in " PEER_DIR " (shared/ absent): cross-check skipped");
    }
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", PEER_DIR, cases[c].file);
        peer_file_t f;
        cr_assert(peer_open(path, &f), "cannot parse %s", path);
        int checked = 0;
        int requantized[ENGINE_TYPE_COUNT] = {0};
        for (int i = 0; i < f.n; i++) {
            const peer_tensor_t *t = &f.t[i];
            const peer_tensor_t *r = peer_find(&ref, t->name);
            if (!r || r->type != ENGINE_TYPE_F16 || t->type == ENGINE_TYPE_F16 ||
                t->type == ENGINE_TYPE_F32)
                continue;
            int64_t n, nr;
            float *y = peer_decode(&f, t, &n);
            float *x = peer_decode(&ref, r, &nr);
            cr_assert(y && x && n == nr, "%s: %s out of bounds or shape differs", path, t->name);
            double se = 0.0, ss = 0.0;
            for (int64_t j = 0; j < n; j++) {
                cr_assert(isfinite(y[j]), "%s %s[%lld] not finite", path, t->name, (long long)j);
                se += ((double)y[j] - x[j]) * ((double)y[j] - x[j]);
                ss += (double)x[j] * x[j];
            }
            const double rel = sqrt(se / ss);
            double bound = cases[c].max_rel_rmse;
            if (t->type != (uint32_t)cases[c].type) /* recipe's other tensors: Q6_K, Q8_0, ... */
                bound = 0.45;
            cr_assert(rel < bound, "%s %s (%s): relative RMSE %.4f >= %.4f", cases[c].file,
                      t->name, engine_type_name((engine_type_t)t->type), rel, bound);

            /* our quantizer on the same F16 values: two tensors of each type
             * per file (enough to compare, and fast under the sanitizers) */
            if (requantized[t->type]++ >= 2 || n > 256 * 768) {
                free(x);
                free(y);
                checked++;
                continue;
            }
            const engine_type_traits_t *tr = engine_type_traits((engine_type_t)t->type);
            const size_t bytes = engine_row_size((engine_type_t)t->type, (int64_t)t->ne[0]) *
                                 (size_t)(n / (int64_t)t->ne[0]);
            void *q = malloc(bytes);
            float *z = malloc((size_t)n * sizeof(float));
            cr_assert(q && z);
            cr_assert_eq(tr->quantize(x, q, n / (int64_t)t->ne[0], (int64_t)t->ne[0], NULL), bytes);
            const unsigned char *theirs = f.buf + f.data_start + t->offset;
            const bool legacy = t->type == ENGINE_TYPE_Q4_0 || t->type == ENGINE_TYPE_Q4_1 ||
                                t->type == ENGINE_TYPE_Q5_0 || t->type == ENGINE_TYPE_Q5_1 ||
                                t->type == ENGINE_TYPE_Q8_0 || t->type == ENGINE_TYPE_BF16;
            if (legacy) {
                cr_assert(memcmp(q, theirs, bytes) == 0, "%s %s: bytes differ from llama.cpp's",
                          cases[c].file, t->name);
            } else {
                tr->to_float(q, z, n);
                double se2 = 0.0;
                for (int64_t j = 0; j < n; j++)
                    se2 += ((double)z[j] - x[j]) * ((double)z[j] - x[j]);
                const double ours = sqrt(se2 / ss);
                cr_log_info("%s %s %s: llama.cpp rel RMSE %.5f, ours %.5f", cases[c].file,
                            t->name, tr->name, rel, ours);
                cr_assert(ours <= rel * 1.001 + 1e-6, "%s %s (%s): our RMSE %.5f vs llama.cpp's %.5f",
                          cases[c].file, t->name, tr->name, ours, rel);
            }
            free(q);
            free(z);
            free(x);
            free(y);
            checked++;
        }
        cr_assert(checked >= 4, "%s: only %d tensors compared", cases[c].file, checked);
        free(f.buf);
    }
    free(ref.buf);
}
