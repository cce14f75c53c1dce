/*
 * act_neon.c: activation quantizers for the NEON variants, byte-identical
 * to the reference from_float of engine/quant/act.c (the self-test compares
 * them byte for byte, NaN, ties and zero blocks included):
 *   Q8_0/Q8_1: amax by fmax (a NaN propagates, as the reference's sticky
 *     max), d = amax / 127, q = fcvtas(clamp(x * (1 / d))), i.e. roundf,
 *     half away from zero; the clamp is fmaxnm/fminnm, i.e. fmaxf/fminf.
 *   Q8_K: the signed value of largest magnitude (first one on ties, NaN
 *     ignored), iscale = -127 / max, q by the reference's nearest_int
 *     (add 1.5 * 2^23, read the low mantissa bits: ties to even), bsums.
 * Block scales go through the engine's own f32 -> f16 conversion (one per
 * block), so they round exactly as the reference's.
 */
#include "neon_shared.h"

#include <arm_neon.h>
#include <math.h>
#include <string.h>

#define AI static inline __attribute__((always_inline))

/* 32 floats -> 32 int8 of round(clamp(x * id)); returns the int sum */
AI int32_t q8_round32(const float *x, float id, int8_t *q)
{
    const float32x4_t lo = vdupq_n_f32(-127.0f), hi = vdupq_n_f32(127.0f);
    int16x8_t sum = vdupq_n_s16(0);
    for (int j = 0; j < 32; j += 8) {
        float32x4_t v0 = vmulq_n_f32(vld1q_f32(x + j), id);
        float32x4_t v1 = vmulq_n_f32(vld1q_f32(x + j + 4), id);
        v0 = vminnmq_f32(vmaxnmq_f32(v0, lo), hi);
        v1 = vminnmq_f32(vmaxnmq_f32(v1, lo), hi);
        const int16x8_t s = vcombine_s16(vmovn_s32(vcvtaq_s32_f32(v0)), vmovn_s32(vcvtaq_s32_f32(v1)));
        sum = vaddq_s16(sum, s);
        vst1_s8(q + j, vmovn_s16(s));
    }
    return vaddlvq_s16(sum);
}

/* max |x| over 32 floats; NaN if any is NaN (fmax propagates it) */
AI float q8_amax32(const float *x)
{
    float32x4_t m = vabsq_f32(vld1q_f32(x));
    for (int j = 4; j < 32; j += 4)
        m = vmaxq_f32(m, vabsq_f32(vld1q_f32(x + j)));
    return vmaxvq_f32(m);
}

void kern_neon_quant_q8_0(const float *x, void *vy, int64_t k)
{
    engine_block_q8_0 *y = vy;
    for (int64_t i = 0; i < k / ENGINE_QK8_0; i++, x += ENGINE_QK8_0) {
        const float d = q8_amax32(x) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = engine_f32_to_f16(d);
        q8_round32(x, id, y[i].qs);
    }
}

void kern_neon_quant_q8_1(const float *x, void *vy, int64_t k)
{
    engine_block_q8_1 *y = vy;
    for (int64_t i = 0; i < k / ENGINE_QK8_1; i++, x += ENGINE_QK8_1) {
        const float d = q8_amax32(x) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = engine_f32_to_f16(d);
        const int32_t sum = q8_round32(x, id, y[i].qs);
        y[i].s = engine_f32_to_f16((float)sum * d);
    }
}

void kern_neon_quant_q8_K(const float *x, void *vy, int64_t k)
{
    engine_block_q8_K *y = vy;
    for (int64_t i = 0; i < k / ENGINE_QK_K; i++, x += ENGINE_QK_K) {
        /* |x| with NaN lanes zeroed (the reference skips them), and whether
         * any lane was NaN */
        float32x4_t m = vdupq_n_f32(0);
        uint32x4_t num = vdupq_n_u32(0xffffffffu);
        for (int j = 0; j < ENGINE_QK_K; j += 4) {
            const float32x4_t v = vld1q_f32(x + j);
            const uint32x4_t ok = vceqq_f32(v, v);
            num = vandq_u32(num, ok);
            m = vmaxq_f32(m, vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(vabsq_f32(v)), ok)));
        }
        const float amax = vmaxvq_f32(m);
        const bool nan = vminvq_u32(num) == 0;
        if (amax == 0.0f) {
            y[i].d = 0.0f;
            memset(y[i].qs, 0, sizeof y[i].qs);
            memset(y[i].bsums, 0, sizeof y[i].bsums);
            continue;
        }
        /* the first value of that magnitude gives the sign */
        int j = 0;
        while (vmaxvq_u32(vceqq_f32(vabsq_f32(vld1q_f32(x + j)), vdupq_n_f32(amax))) == 0)
            j += 4;
        while (fabsf(x[j]) != amax)
            j++;
        const float iscale = -127.0f / x[j];
        const float32x4_t magic = vdupq_n_f32(12582912.f); /* 1.5 * 2^23 */
        const int32x4_t mant = vdupq_n_s32(0x007fffff), off = vdupq_n_s32(0x00400000);
        const int32x4_t top = vdupq_n_s32(127);
        for (int l = 0; l < ENGINE_QK_K; l += 16) {
            int16x8_t h[2];
            for (int u = 0; u < 2; u++) {
                int32x4_t q[2];
                for (int e = 0; e < 2; e++) {
                    const float32x4_t v = vaddq_f32(vmulq_n_f32(vld1q_f32(x + l + 8 * u + 4 * e), iscale), magic);
                    q[e] = vminq_s32(vsubq_s32(vandq_s32(vreinterpretq_s32_f32(v), mant), off), top);
                }
                h[u] = vcombine_s16(vmovn_s32(q[0]), vmovn_s32(q[1]));
            }
            const int8x16_t q8 = vcombine_s8(vmovn_s16(h[0]), vmovn_s16(h[1]));
            vst1q_s8(y[i].qs + l, q8);
            y[i].bsums[l / 16] = vaddlvq_s8(q8);
        }
        y[i].d = nan ? NAN : 1.0f / iscale;
    }
}
