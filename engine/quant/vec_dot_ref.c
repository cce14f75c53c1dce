/*
 * vec_dot_ref.c: scalar reference dot products, weight format x its
 * activation partner. The ground truth for every ISA variant. As in ggml:
 * integer sums inside a block, then one float multiply-add by the scales per
 * block, accumulated in float. F32/F16/BF16 accumulate in double.
 */
#include "quant_impl.h"

void quant_vec_dot_f32(int64_t n, float *s, const void *vx, const void *vy)
{
    const float *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(x[i] * y[i]);
    *s = (float)sum;
}

void quant_vec_dot_f16(int64_t n, float *s, const void *vx, const void *vy)
{
    const engine_f16_t *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(engine_f16_to_f32(x[i]) * engine_f16_to_f32(y[i]));
    *s = (float)sum;
}

void quant_vec_dot_bf16(int64_t n, float *s, const void *vx, const void *vy)
{
    const engine_bf16_t *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(engine_bf16_to_f32(x[i]) * engine_bf16_to_f32(y[i]));
    *s = (float)sum;
}

static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void quant_vec_dot_q4_0_q8_0(int64_t n, float *s, const void *vx, const void *vy)
{
    const engine_block_q4_0 *x = vx;
    const engine_block_q8_0 *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / ENGINE_QK8_0; i++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            sumi += ((x[i].qs[j] & 0x0f) - 8) * y[i].qs[j];
            sumi += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
        }
        sumf += (float)sumi * engine_f16_to_f32(x[i].d) * engine_f16_to_f32(y[i].d);
    }
    *s = sumf;
}

void quant_vec_dot_q4_1_q8_1(int64_t n, float *s, const void *vx, const void *vy)
{
    const engine_block_q4_1 *x = vx;
    const engine_block_q8_1 *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / ENGINE_QK8_1; i++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            sumi += (x[i].qs[j] & 0x0f) * y[i].qs[j];
            sumi += (x[i].qs[j] >> 4) * y[i].qs[j + 16];
        }
        sumf += (engine_f16_to_f32(x[i].d) * engine_f16_to_f32(y[i].d)) * (float)sumi +
                engine_f16_to_f32(x[i].m) * engine_f16_to_f32(y[i].s);
    }
    *s = sumf;
}

void quant_vec_dot_q5_0_q8_0(int64_t n, float *s, const void *vx, const void *vy)
{
    const engine_block_q5_0 *x = vx;
    const engine_block_q8_0 *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / ENGINE_QK8_0; i++) {
        const uint32_t qh = le32(x[i].qh);
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            const int h0 = (int)((qh >> j) << 4) & 0x10;
            const int h1 = (int)(qh >> (j + 12)) & 0x10;
            sumi += (((x[i].qs[j] & 0x0f) | h0) - 16) * y[i].qs[j];
            sumi += (((x[i].qs[j] >> 4) | h1) - 16) * y[i].qs[j + 16];
        }
        sumf += (engine_f16_to_f32(x[i].d) * engine_f16_to_f32(y[i].d)) * (float)sumi;
    }
    *s = sumf;
}

void quant_vec_dot_q5_1_q8_1(int64_t n, float *s, const void *vx, const void *vy)
{
    const engine_block_q5_1 *x = vx;
    const engine_block_q8_1 *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / ENGINE_QK8_1; i++) {
        const uint32_t qh = le32(x[i].qh);
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            const int h0 = (int)((qh >> j) << 4) & 0x10;
            const int h1 = (int)(qh >> (j + 12)) & 0x10;
            sumi += ((x[i].qs[j] & 0x0f) | h0) * y[i].qs[j];
            sumi += ((x[i].qs[j] >> 4) | h1) * y[i].qs[j + 16];
        }
        sumf += (engine_f16_to_f32(x[i].d) * engine_f16_to_f32(y[i].d)) * (float)sumi +
                engine_f16_to_f32(x[i].m) * engine_f16_to_f32(y[i].s);
    }
    *s = sumf;
}

void quant_vec_dot_q8_0_q8_0(int64_t n, float *s, const void *vx, const void *vy)
{
    const engine_block_q8_0 *x = vx;
    const engine_block_q8_0 *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / ENGINE_QK8_0; i++) {
        int sumi = 0;
        for (int j = 0; j < ENGINE_QK8_0; j++)
            sumi += x[i].qs[j] * y[i].qs[j];
        sumf += (float)sumi * (engine_f16_to_f32(x[i].d) * engine_f16_to_f32(y[i].d));
    }
    *s = sumf;
}

void quant_vec_dot_iq4_nl_q8_0(int64_t n, float *s, const void *vx, const void *vy)
{
    const engine_block_iq4_nl *x = vx;
    const engine_block_q8_0 *y = vy;
    const int8_t *kv = engine_quant_iq4nl_values;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / ENGINE_QK4_NL; i++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            sumi += y[i].qs[j] * kv[x[i].qs[j] & 0x0f];
            sumi += y[i].qs[j + 16] * kv[x[i].qs[j] >> 4];
        }
        sumf += (engine_f16_to_f32(x[i].d) * engine_f16_to_f32(y[i].d)) * (float)sumi;
    }
    *s = sumf;
}

/* K-quants x Q8_K: per super-block, isum = sum_g sc_g * dot_g (int) and the
 * min term from the Q8_K group sums; sumf += d*dy*isum - dmin*dy*summs. */
void quant_vec_dot_q2_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const engine_block_q2_K *x = vx;
    const engine_block_q8_K *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / ENGINE_QK_K; i++) {
        const uint8_t *sc = x[i].scales;
        const int8_t *q8 = y[i].qs;
        int summs = 0;
        for (int g = 0; g < 16; g++)
            summs += y[i].bsums[g] * (sc[g] >> 4);
        int isum = 0, is = 0;
        for (int h = 0; h < 2; h++) {
            const uint8_t *q2 = x[i].qs + 32 * h;
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; half++) {
                    int dot = 0;
                    for (int l = 16 * half; l < 16 * half + 16; l++)
                        dot += q8[l] * ((q2[l] >> shift) & 3);
                    isum += (sc[is++] & 0x0f) * dot;
                }
                q8 += 32;
            }
        }
        const float dall = y[i].d * engine_f16_to_f32(x[i].d);
        const float dmin = y[i].d * engine_f16_to_f32(x[i].dmin);
        sumf += dall * (float)isum - dmin * (float)summs;
    }
    *s = sumf;
}

void quant_vec_dot_q3_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const engine_block_q3_K *x = vx;
    const engine_block_q8_K *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / ENGINE_QK_K; i++) {
        const int8_t *q8 = y[i].qs;
        const uint8_t *hm = x[i].hmask;
        int isum = 0, is = 0;
        uint8_t m = 1;
        for (int h = 0; h < 2; h++) {
            const uint8_t *q3 = x[i].qs + 32 * h;
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; half++) {
                    int dot = 0;
                    for (int l = 16 * half; l < 16 * half + 16; l++)
                        dot += q8[l] * (((q3[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
                    isum += quant_q3_K_scale(x[i].scales, is++) * dot;
                }
                q8 += 32;
                m = (uint8_t)(m << 1);
            }
        }
        sumf += engine_f16_to_f32(x[i].d) * y[i].d * (float)isum;
    }
    *s = sumf;
}

void quant_vec_dot_q4_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const engine_block_q4_K *x = vx;
    const engine_block_q8_K *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / ENGINE_QK_K; i++) {
        const uint8_t *q4 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        int isum = 0, summs = 0;
        for (int g = 0; g < 8; g++) {
            uint8_t sc, m;
            quant_get_scale_min_k4(g, x[i].scales, &sc, &m);
            const int shift = 4 * (g & 1);
            int dot = 0;
            for (int l = 0; l < 32; l++)
                dot += q8[32 * g + l] * ((q4[32 * (g / 2) + l] >> shift) & 0x0f);
            isum += sc * dot;
            summs += m * (y[i].bsums[2 * g] + y[i].bsums[2 * g + 1]);
        }
        const float d = engine_f16_to_f32(x[i].d) * y[i].d;
        const float dmin = engine_f16_to_f32(x[i].dmin) * y[i].d;
        sumf += d * (float)isum - dmin * (float)summs;
    }
    *s = sumf;
}

void quant_vec_dot_q5_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const engine_block_q5_K *x = vx;
    const engine_block_q8_K *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / ENGINE_QK_K; i++) {
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        const int8_t *q8 = y[i].qs;
        int isum = 0, summs = 0;
        for (int g = 0; g < 8; g++) {
            uint8_t sc, m;
            quant_get_scale_min_k4(g, x[i].scales, &sc, &m);
            const int shift = 4 * (g & 1);
            int dot = 0;
            for (int l = 0; l < 32; l++) {
                const int q = ((ql[32 * (g / 2) + l] >> shift) & 0x0f) | (((qh[l] >> g) & 1) << 4);
                dot += q8[32 * g + l] * q;
            }
            isum += sc * dot;
            summs += m * (y[i].bsums[2 * g] + y[i].bsums[2 * g + 1]);
        }
        const float d = engine_f16_to_f32(x[i].d) * y[i].d;
        const float dmin = engine_f16_to_f32(x[i].dmin) * y[i].d;
        sumf += d * (float)isum - dmin * (float)summs;
    }
    *s = sumf;
}

void quant_vec_dot_q6_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
    const engine_block_q6_K *x = vx;
    const engine_block_q8_K *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / ENGINE_QK_K; i++) {
        int8_t q[ENGINE_QK_K];
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        for (int h = 0; h < ENGINE_QK_K; h += 128) {
            for (int l = 0; l < 32; l++) {
                q[h + l] = (int8_t)(((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32);
                q[h + l + 32] = (int8_t)(((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32);
                q[h + l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                q[h + l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
            ql += 64;
            qh += 32;
        }
        int isum = 0;
        for (int g = 0; g < 16; g++) {
            int dot = 0;
            for (int l = 0; l < 16; l++)
                dot += q[16 * g + l] * y[i].qs[16 * g + l];
            isum += x[i].scales[g] * dot;
        }
        sumf += engine_f16_to_f32(x[i].d) * y[i].d * (float)isum;
    }
    *s = sumf;
}
