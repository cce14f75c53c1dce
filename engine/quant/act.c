/*
 * act.c: activation quantizers (from_float). Round to nearest exactly as
 * ggml's reference quantizers do (roundf for Q8_0/Q8_1, ties-to-even
 * nearest_int for Q8_K), so dot products match llama.cpp's.
 */
#include "quant_impl.h"

void quant_f32_from_float(const float *x, void *y, int64_t n)
{
    memcpy(y, x, (size_t)n * sizeof(float));
}

void quant_f16_from_float(const float *x, void *y, int64_t n)
{
    engine_f16_t *h = y;
    for (int64_t i = 0; i < n; i++)
        h[i] = engine_f32_to_f16(x[i]);
}

void quant_bf16_from_float(const float *x, void *y, int64_t n)
{
    engine_bf16_t *h = y;
    for (int64_t i = 0; i < n; i++)
        h[i] = engine_f32_to_bf16(x[i]);
}

/* A sticky NaN max: a NaN input makes the block scale NaN, so the failure
 * shows in every result instead of being silently dropped. */
static inline float nan_max(float a, float b)
{
    return (a > b || a != a) ? a : b;
}

/* roundf (half away from zero) of a value already within [-127, 127]; the
 * clamp only keeps a NaN from reaching the (undefined) float->int cast. */
static inline int8_t round_q8(float v)
{
    return (int8_t)roundf(fminf(fmaxf(v, -127.0f), 127.0f));
}

/* d = amax / 127, q = round(x / d) (half away from zero). */
void quant_q8_0_from_float(const float *x, void *vy, int64_t n)
{
    engine_block_q8_0 *y = vy;
    for (int64_t i = 0; i < n / ENGINE_QK8_0; i++, x += ENGINE_QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < ENGINE_QK8_0; j++)
            amax = nan_max(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = engine_f32_to_f16(d);
        for (int j = 0; j < ENGINE_QK8_0; j++)
            y[i].qs[j] = round_q8(x[j] * id);
    }
}

/* As Q8_0, plus s = d * sum(q) (d before its rounding to half, as ggml). */
void quant_q8_1_from_float(const float *x, void *vy, int64_t n)
{
    engine_block_q8_1 *y = vy;
    for (int64_t i = 0; i < n / ENGINE_QK8_1; i++, x += ENGINE_QK8_1) {
        float amax = 0.0f;
        for (int j = 0; j < ENGINE_QK8_1; j++)
            amax = nan_max(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = engine_f32_to_f16(d);
        int sum = 0;
        for (int j = 0; j < ENGINE_QK8_1; j++) {
            y[i].qs[j] = round_q8(x[j] * id);
            sum += y[i].qs[j];
        }
        y[i].s = engine_f32_to_f16((float)sum * d);
    }
}

/* Q8_K: scale from the signed value of largest magnitude, iscale = -127/max,
 * q = nearest_int(iscale * x) (ties to even), d = 1/iscale in float; bsums
 * are the sums of each 16 quants. */
void quant_q8_K_from_float(const float *x, void *vy, int64_t n)
{
    engine_block_q8_K *y = vy;
    for (int64_t i = 0; i < n / ENGINE_QK_K; i++, x += ENGINE_QK_K) {
        float max = 0.0f, amax = 0.0f;
        bool nan = false;
        for (int j = 0; j < ENGINE_QK_K; j++) {
            const float ax = fabsf(x[j]);
            nan |= ax != ax;
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            y[i].d = 0.0f;
            memset(y[i].qs, 0, sizeof y[i].qs);
            memset(y[i].bsums, 0, sizeof y[i].bsums);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < ENGINE_QK_K; j++) {
            const int v = quant_nearest_int(iscale * x[j]);
            y[i].qs[j] = (int8_t)MB_MIN(127, v);
        }
        for (int g = 0; g < ENGINE_QK_K / 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++)
                sum += y[i].qs[16 * g + l];
            y[i].bsums[g] = (int16_t)sum;
        }
        y[i].d = nan ? NAN : 1.0f / iscale;
    }
}
