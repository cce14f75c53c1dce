/*
 * types.c: the type table (one place to look), names, row sizes, and the
 * exact IEEE half / bfloat16 conversions every format builds on.
 */
#include <strings.h>

#include "quant_impl.h"

/* Block layouts must be byte-identical to GGUF's. */
_Static_assert(sizeof(engine_block_q4_0) == 18, "q4_0 block is 18 bytes");
_Static_assert(sizeof(engine_block_q4_1) == 20, "q4_1 block is 20 bytes");
_Static_assert(sizeof(engine_block_q5_0) == 22, "q5_0 block is 22 bytes");
_Static_assert(sizeof(engine_block_q5_1) == 24, "q5_1 block is 24 bytes");
_Static_assert(sizeof(engine_block_q8_0) == 34, "q8_0 block is 34 bytes");
_Static_assert(sizeof(engine_block_q8_1) == 36, "q8_1 block is 36 bytes");
_Static_assert(sizeof(engine_block_iq4_nl) == 18, "iq4_nl block is 18 bytes");
_Static_assert(sizeof(engine_block_q2_K) == 84, "q2_K block is 84 bytes");
_Static_assert(sizeof(engine_block_q3_K) == 110, "q3_K block is 110 bytes");
_Static_assert(sizeof(engine_block_q4_K) == 144, "q4_K block is 144 bytes");
_Static_assert(sizeof(engine_block_q5_K) == 176, "q5_K block is 176 bytes");
_Static_assert(sizeof(engine_block_q6_K) == 210, "q6_K block is 210 bytes");
_Static_assert(sizeof(engine_block_q8_K) == 292, "q8_K block is 292 bytes");

#define BPW(bytes, bs) (8.0 * (double)(bytes) / (double)(bs))

static const engine_type_traits_t type_table[ENGINE_TYPE_COUNT] = {
    [ENGINE_TYPE_F32] = {
        .name = "F32", .block_size = 1, .type_size = sizeof(float), .quantized = false,
        .bpw = 32.0,
        .to_float = quant_f32_to_float,
        .from_float = quant_f32_from_float,
        .vec_dot_ref = quant_vec_dot_f32,
        .quantize = quant_quantize_f32,
        .vec_dot_type = ENGINE_TYPE_F32,
    },
    [ENGINE_TYPE_F16] = {
        .name = "F16", .block_size = 1, .type_size = sizeof(engine_f16_t), .quantized = false,
        .bpw = 16.0,
        .to_float = quant_f16_to_float,
        .from_float = quant_f16_from_float,
        .vec_dot_ref = quant_vec_dot_f16,
        .quantize = quant_quantize_f16,
        .vec_dot_type = ENGINE_TYPE_F16,
    },
    [ENGINE_TYPE_BF16] = {
        .name = "BF16", .block_size = 1, .type_size = sizeof(engine_bf16_t), .quantized = false,
        .bpw = 16.0,
        .to_float = quant_bf16_to_float,
        .from_float = quant_bf16_from_float,
        .vec_dot_ref = quant_vec_dot_bf16,
        .quantize = quant_quantize_bf16,
        .vec_dot_type = ENGINE_TYPE_BF16,
    },
    [ENGINE_TYPE_Q4_0] = {
        .name = "Q4_0", .block_size = ENGINE_QK4_0, .type_size = sizeof(engine_block_q4_0),
        .quantized = true, .bpw = BPW(sizeof(engine_block_q4_0), ENGINE_QK4_0),
        .to_float = quant_q4_0_to_float,
        .vec_dot_ref = quant_vec_dot_q4_0_q8_0,
        .quantize = quant_quantize_q4_0,
        .vec_dot_type = ENGINE_TYPE_Q8_0,
    },
    [ENGINE_TYPE_Q4_1] = {
        .name = "Q4_1", .block_size = ENGINE_QK4_1, .type_size = sizeof(engine_block_q4_1),
        .quantized = true, .bpw = BPW(sizeof(engine_block_q4_1), ENGINE_QK4_1),
        .to_float = quant_q4_1_to_float,
        .vec_dot_ref = quant_vec_dot_q4_1_q8_1,
        .quantize = quant_quantize_q4_1,
        .vec_dot_type = ENGINE_TYPE_Q8_1,
    },
    [ENGINE_TYPE_Q5_0] = {
        .name = "Q5_0", .block_size = ENGINE_QK5_0, .type_size = sizeof(engine_block_q5_0),
        .quantized = true, .bpw = BPW(sizeof(engine_block_q5_0), ENGINE_QK5_0),
        .to_float = quant_q5_0_to_float,
        .vec_dot_ref = quant_vec_dot_q5_0_q8_0,
        .quantize = quant_quantize_q5_0,
        .vec_dot_type = ENGINE_TYPE_Q8_0,
    },
    [ENGINE_TYPE_Q5_1] = {
        .name = "Q5_1", .block_size = ENGINE_QK5_1, .type_size = sizeof(engine_block_q5_1),
        .quantized = true, .bpw = BPW(sizeof(engine_block_q5_1), ENGINE_QK5_1),
        .to_float = quant_q5_1_to_float,
        .vec_dot_ref = quant_vec_dot_q5_1_q8_1,
        .quantize = quant_quantize_q5_1,
        .vec_dot_type = ENGINE_TYPE_Q8_1,
    },
    [ENGINE_TYPE_Q8_0] = {
        .name = "Q8_0", .block_size = ENGINE_QK8_0, .type_size = sizeof(engine_block_q8_0),
        .quantized = true, .bpw = BPW(sizeof(engine_block_q8_0), ENGINE_QK8_0),
        .to_float = quant_q8_0_to_float,
        .from_float = quant_q8_0_from_float,
        .vec_dot_ref = quant_vec_dot_q8_0_q8_0,
        .quantize = quant_quantize_q8_0,
        .vec_dot_type = ENGINE_TYPE_Q8_0,
    },
    [ENGINE_TYPE_Q8_1] = {
        .name = "Q8_1", .block_size = ENGINE_QK8_1, .type_size = sizeof(engine_block_q8_1),
        .quantized = true, .bpw = BPW(sizeof(engine_block_q8_1), ENGINE_QK8_1),
        .to_float = quant_q8_1_to_float,
        .from_float = quant_q8_1_from_float,
        .vec_dot_type = ENGINE_TYPE_Q8_1,
    },
    [ENGINE_TYPE_Q2_K] = {
        .name = "Q2_K", .block_size = ENGINE_QK_K, .type_size = sizeof(engine_block_q2_K),
        .quantized = true, .bpw = BPW(sizeof(engine_block_q2_K), ENGINE_QK_K),
        .to_float = quant_q2_K_to_float,
        .vec_dot_ref = quant_vec_dot_q2_K_q8_K,
        .quantize = quant_quantize_q2_K,
        .vec_dot_type = ENGINE_TYPE_Q8_K,
    },
    [ENGINE_TYPE_Q3_K] = {
        .name = "Q3_K", .block_size = ENGINE_QK_K, .type_size = sizeof(engine_block_q3_K),
        .quantized = true, .bpw = BPW(sizeof(engine_block_q3_K), ENGINE_QK_K),
        .to_float = quant_q3_K_to_float,
        .vec_dot_ref = quant_vec_dot_q3_K_q8_K,
        .quantize = quant_quantize_q3_K,
        .vec_dot_type = ENGINE_TYPE_Q8_K,
    },
    [ENGINE_TYPE_Q4_K] = {
        .name = "Q4_K", .block_size = ENGINE_QK_K, .type_size = sizeof(engine_block_q4_K),
        .quantized = true, .bpw = BPW(sizeof(engine_block_q4_K), ENGINE_QK_K),
        .to_float = quant_q4_K_to_float,
        .vec_dot_ref = quant_vec_dot_q4_K_q8_K,
        .quantize = quant_quantize_q4_K,
        .vec_dot_type = ENGINE_TYPE_Q8_K,
    },
    [ENGINE_TYPE_Q5_K] = {
        .name = "Q5_K", .block_size = ENGINE_QK_K, .type_size = sizeof(engine_block_q5_K),
        .quantized = true, .bpw = BPW(sizeof(engine_block_q5_K), ENGINE_QK_K),
        .to_float = quant_q5_K_to_float,
        .vec_dot_ref = quant_vec_dot_q5_K_q8_K,
        .quantize = quant_quantize_q5_K,
        .vec_dot_type = ENGINE_TYPE_Q8_K,
    },
    [ENGINE_TYPE_Q6_K] = {
        .name = "Q6_K", .block_size = ENGINE_QK_K, .type_size = sizeof(engine_block_q6_K),
        .quantized = true, .bpw = BPW(sizeof(engine_block_q6_K), ENGINE_QK_K),
        .to_float = quant_q6_K_to_float,
        .vec_dot_ref = quant_vec_dot_q6_K_q8_K,
        .quantize = quant_quantize_q6_K,
        .vec_dot_type = ENGINE_TYPE_Q8_K,
    },
    [ENGINE_TYPE_Q8_K] = {
        .name = "Q8_K", .block_size = ENGINE_QK_K, .type_size = sizeof(engine_block_q8_K),
        .quantized = true, .bpw = BPW(sizeof(engine_block_q8_K), ENGINE_QK_K),
        .to_float = quant_q8_K_to_float,
        .from_float = quant_q8_K_from_float,
        .vec_dot_type = ENGINE_TYPE_Q8_K,
    },
    [ENGINE_TYPE_IQ4_NL] = {
        .name = "IQ4_NL", .block_size = ENGINE_QK4_NL, .type_size = sizeof(engine_block_iq4_nl),
        .quantized = true, .bpw = BPW(sizeof(engine_block_iq4_nl), ENGINE_QK4_NL),
        .to_float = quant_iq4_nl_to_float,
        .vec_dot_ref = quant_vec_dot_iq4_nl_q8_0,
        .quantize = quant_quantize_iq4_nl,
        .vec_dot_type = ENGINE_TYPE_Q8_0,
    },
};

const engine_type_traits_t *engine_type_traits(engine_type_t type)
{
    if ((int)type < 0 || (int)type >= ENGINE_TYPE_COUNT || !type_table[type].name)
        return NULL;
    return &type_table[type];
}

const char *engine_type_name(engine_type_t type)
{
    const engine_type_traits_t *t = engine_type_traits(type);
    return t ? t->name : "?";
}

int engine_type_from_name(const char *name, engine_type_t *out)
{
    if (!name || !out)
        return mb_err_set(MB_EINVAL, "engine_type_from_name: NULL argument");
    for (int i = 0; i < ENGINE_TYPE_COUNT; i++) {
        if (type_table[i].name && strcasecmp(type_table[i].name, name) == 0) {
            *out = (engine_type_t)i;
            return 0;
        }
    }
    return mb_err_set(MB_ENOENT,
                      "unknown tensor type '%s'; known: F32, F16, BF16, Q8_0, Q8_1, Q4_0, "
                      "Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_NL",
                      name);
}

size_t engine_row_size(engine_type_t type, int64_t n)
{
    const engine_type_traits_t *t = engine_type_traits(type);
    if (!t || n <= 0 || n % t->block_size != 0)
        return 0;
    return (size_t)(n / t->block_size) * t->type_size;
}

/* ---- IEEE binary16 <-> binary32, integer-only (independent of FTZ/DAZ) ---- */

float engine_f16_to_f32(engine_f16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {
            /* subnormal half: normalise into a float exponent */
            int e = -1;
            do {
                mant <<= 1;
                e++;
            } while (!(mant & 0x400u));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13); /* inf, NaN with its payload */
    } else {
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

engine_f16_t engine_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t exp = (x >> 23) & 0xffu;
    uint32_t mant = x & 0x7fffffu;

    if (exp == 0xff) {
        if (mant) /* NaN: keep the top payload bits, force quiet */
            return (engine_f16_t)(sign | 0x7e00u | (mant >> 13));
        return (engine_f16_t)(sign | 0x7c00u);
    }
    if (exp > 142) /* >= 2^16: beyond the largest half */
        return (engine_f16_t)(sign | 0x7c00u);
    if (exp >= 113) {
        /* normal half; a carry out of the mantissa bumps the exponent, up to inf */
        uint32_t h = ((exp - 112u) << 10) | (mant >> 13);
        uint32_t rem = mant & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
            h++;
        return (engine_f16_t)(sign | h);
    }
    if (exp < 102) /* < 2^-25: rounds to zero (float subnormals included) */
        return (engine_f16_t)sign;
    /* subnormal half: value = m * 2^(exp-150), unit 2^-24 */
    uint32_t m = mant | 0x800000u;
    uint32_t shift = 126u - exp; /* 14..24 */
    uint32_t q = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u)))
        q++; /* may become 0x400, the smallest normal: still the right encoding */
    return (engine_f16_t)(sign | q);
}

float engine_bf16_to_f32(engine_bf16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

engine_bf16_t engine_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    if ((x & 0x7fffffffu) > 0x7f800000u) /* NaN: truncate and force quiet */
        return (engine_bf16_t)((x >> 16) | 0x40u);
    return (engine_bf16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}
