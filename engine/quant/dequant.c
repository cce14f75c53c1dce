/*
 * dequant.c: to_float for every format, following the GGUF/ggml block
 * definitions value by value (same float expressions, so bit-identical
 * results to ggml's dequantize_row_*).
 */
#include "quant_impl.h"

const int8_t engine_quant_iq4nl_values[16] = {
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
};

#define F16(h) engine_f16_to_f32(h)

void quant_f32_to_float(const void *x, float *y, int64_t n)
{
    memcpy(y, x, (size_t)n * sizeof(float));
}

void quant_f16_to_float(const void *x, float *y, int64_t n)
{
    const engine_f16_t *h = x;
    for (int64_t i = 0; i < n; i++)
        y[i] = engine_f16_to_f32(h[i]);
}

void quant_bf16_to_float(const void *x, float *y, int64_t n)
{
    const engine_bf16_t *h = x;
    for (int64_t i = 0; i < n; i++)
        y[i] = engine_bf16_to_f32(h[i]);
}

/* Q4_0: 32 values, x = d * (q - 8); byte j holds value j (low) and j+16 (high). */
void quant_q4_0_to_float(const void *vx, float *y, int64_t n)
{
    const engine_block_q4_0 *x = vx;
    for (int64_t i = 0; i < n / ENGINE_QK4_0; i++, y += ENGINE_QK4_0) {
        const float d = F16(x[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((x[i].qs[j] & 0x0f) - 8) * d;
            y[j + 16] = (float)((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

/* Q4_1: x = d * q + m. */
void quant_q4_1_to_float(const void *vx, float *y, int64_t n)
{
    const engine_block_q4_1 *x = vx;
    for (int64_t i = 0; i < n / ENGINE_QK4_1; i++, y += ENGINE_QK4_1) {
        const float d = F16(x[i].d), m = F16(x[i].m);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)(x[i].qs[j] & 0x0f) * d + m;
            y[j + 16] = (float)(x[i].qs[j] >> 4) * d + m;
        }
    }
}

/* Q5_0: 5th bit of value j in bit j of the little-endian 32-bit qh; x = d * (q - 16). */
void quant_q5_0_to_float(const void *vx, float *y, int64_t n)
{
    const engine_block_q5_0 *x = vx;
    for (int64_t i = 0; i < n / ENGINE_QK5_0; i++, y += ENGINE_QK5_0) {
        const float d = F16(x[i].d);
        const uint32_t qh = (uint32_t)x[i].qh[0] | (uint32_t)x[i].qh[1] << 8 |
                            (uint32_t)x[i].qh[2] << 16 | (uint32_t)x[i].qh[3] << 24;
        for (int j = 0; j < 16; j++) {
            const int h0 = (int)((qh >> j) << 4) & 0x10;
            const int h1 = (int)(qh >> (j + 12)) & 0x10;
            y[j] = (float)(((x[i].qs[j] & 0x0f) | h0) - 16) * d;
            y[j + 16] = (float)(((x[i].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

/* Q5_1: x = d * q + m, q in 0..31. */
void quant_q5_1_to_float(const void *vx, float *y, int64_t n)
{
    const engine_block_q5_1 *x = vx;
    for (int64_t i = 0; i < n / ENGINE_QK5_1; i++, y += ENGINE_QK5_1) {
        const float d = F16(x[i].d), m = F16(x[i].m);
        const uint32_t qh = (uint32_t)x[i].qh[0] | (uint32_t)x[i].qh[1] << 8 |
                            (uint32_t)x[i].qh[2] << 16 | (uint32_t)x[i].qh[3] << 24;
        for (int j = 0; j < 16; j++) {
            const int h0 = (int)((qh >> j) << 4) & 0x10;
            const int h1 = (int)(qh >> (j + 12)) & 0x10;
            y[j] = (float)((x[i].qs[j] & 0x0f) | h0) * d + m;
            y[j + 16] = (float)((x[i].qs[j] >> 4) | h1) * d + m;
        }
    }
}

void quant_q8_0_to_float(const void *vx, float *y, int64_t n)
{
    const engine_block_q8_0 *x = vx;
    for (int64_t i = 0; i < n / ENGINE_QK8_0; i++, y += ENGINE_QK8_0) {
        const float d = F16(x[i].d);
        for (int j = 0; j < ENGINE_QK8_0; j++)
            y[j] = (float)x[i].qs[j] * d;
    }
}

void quant_q8_1_to_float(const void *vx, float *y, int64_t n)
{
    const engine_block_q8_1 *x = vx;
    for (int64_t i = 0; i < n / ENGINE_QK8_1; i++, y += ENGINE_QK8_1) {
        const float d = F16(x[i].d);
        for (int j = 0; j < ENGINE_QK8_1; j++)
            y[j] = (float)x[i].qs[j] * d;
    }
}

void quant_iq4_nl_to_float(const void *vx, float *y, int64_t n)
{
    const engine_block_iq4_nl *x = vx;
    for (int64_t i = 0; i < n / ENGINE_QK4_NL; i++, y += ENGINE_QK4_NL) {
        const float d = F16(x[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)engine_quant_iq4nl_values[x[i].qs[j] & 0x0f];
            y[j + 16] = d * (float)engine_quant_iq4nl_values[x[i].qs[j] >> 4];
        }
    }
}

/* Q2_K: 16 groups of 16; scales[g] = scale (low nibble) | min (high nibble).
 * qs: per 128 values, 32 bytes; value (128h + 32s + l) is bits 2s..2s+1 of
 * qs[32h + l]. x = d * sc * q - dmin * m. */
void quant_q2_K_to_float(const void *vx, float *y, int64_t n)
{
    const engine_block_q2_K *x = vx;
    for (int64_t i = 0; i < n / ENGINE_QK_K; i++) {
        const float d = F16(x[i].d), min = F16(x[i].dmin);
        const uint8_t *q = x[i].qs;
        int is = 0;
        for (int h = 0; h < ENGINE_QK_K; h += 128) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; half++) {
                    const uint8_t sc = x[i].scales[is++];
                    const float dl = d * (float)(sc & 0x0f), ml = min * (float)(sc >> 4);
                    for (int l = 0; l < 16; l++)
                        *y++ = dl * (float)((q[l + 16 * half] >> shift) & 3) - ml;
                }
            }
            q += 32;
        }
    }
}

int quant_q3_K_scale(const uint8_t *scales, int j)
{
    const int lo = (scales[j % 8] >> (4 * (j / 8))) & 0x0f;
    const int hi = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | hi << 4) - 32;
}

/* Q3_K: 16 groups of 16 with 6-bit signed scales (packed: low nibbles in
 * bytes 0..7, high 2-bit pairs in bytes 8..11). Low 2 bits of the quant as in
 * Q2_K; the 3rd bit of value (128h + 32s + l) is bit (4h + s) of hmask[l];
 * a clear bit subtracts 4. x = d * sc * q, q in -4..3. */
void quant_q3_K_to_float(const void *vx, float *y, int64_t n)
{
    const engine_block_q3_K *x = vx;
    for (int64_t i = 0; i < n / ENGINE_QK_K; i++) {
        const float d_all = F16(x[i].d);
        const uint8_t *q = x[i].qs;
        const uint8_t *hm = x[i].hmask;
        uint8_t m = 1;
        int is = 0;
        for (int h = 0; h < ENGINE_QK_K; h += 128) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; half++) {
                    const float dl = d_all * (float)quant_q3_K_scale(x[i].scales, is++);
                    for (int l = 16 * half; l < 16 * half + 16; l++)
                        *y++ = dl * (float)(((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
                }
                m <<= 1;
            }
            q += 32;
        }
    }
}

void quant_get_scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Q4_K: 8 groups of 32, 6-bit scale and min each; per 64 values 32 bytes of
 * qs, low nibbles first group, high nibbles second. x = d*sc*q - dmin*m. */
void quant_q4_K_to_float(const void *vx, float *y, int64_t n)
{
    const engine_block_q4_K *x = vx;
    for (int64_t i = 0; i < n / ENGINE_QK_K; i++) {
        const float d = F16(x[i].d), min = F16(x[i].dmin);
        const uint8_t *q = x[i].qs;
        for (int is = 0; is < 8; is += 2, q += 32) {
            uint8_t sc, m;
            quant_get_scale_min_k4(is, x[i].scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = min * (float)m;
            quant_get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * (float)sc, m2 = min * (float)m;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (float)(q[l] & 0x0f) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

/* Q5_K: Q4_K plus a 5th bit: value (64p + l) has it in bit 2p of qh[l],
 * value (64p + 32 + l) in bit 2p+1. */
void quant_q5_K_to_float(const void *vx, float *y, int64_t n)
{
    const engine_block_q5_K *x = vx;
    for (int64_t i = 0; i < n / ENGINE_QK_K; i++) {
        const float d = F16(x[i].d), min = F16(x[i].dmin);
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        uint8_t u1 = 1, u2 = 2;
        for (int is = 0; is < 8; is += 2, ql += 32) {
            uint8_t sc, m;
            quant_get_scale_min_k4(is, x[i].scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = min * (float)m;
            quant_get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * (float)sc, m2 = min * (float)m;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (float)((ql[l] & 0x0f) + ((qh[l] & u1) ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * (float)((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
            u1 = (uint8_t)(u1 << 2);
            u2 = (uint8_t)(u2 << 2);
        }
    }
}

/* Q6_K: 16 groups of 16, int8 scales; per 128 values 64 bytes ql and 32 qh:
 * value l+32k (k = 0..3) takes nibble (k/2) of ql[l + 32(k%2)] and bits 2k..2k+1
 * of qh[l]; x = d * sc * (q - 32). */
void quant_q6_K_to_float(const void *vx, float *y, int64_t n)
{
    const engine_block_q6_K *x = vx;
    for (int64_t i = 0; i < n / ENGINE_QK_K; i++) {
        const float d = F16(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int h = 0; h < ENGINE_QK_K; h += 128) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * (float)sc[is] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

void quant_q8_K_to_float(const void *vx, float *y, int64_t n)
{
    const engine_block_q8_K *x = vx;
    for (int64_t i = 0; i < n / ENGINE_QK_K; i++, y += ENGINE_QK_K)
        for (int j = 0; j < ENGINE_QK_K; j++)
            y[j] = (float)x[i].qs[j] * x[i].d;
}
