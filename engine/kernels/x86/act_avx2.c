/*
 * act_avx2.c: avx2 activation quantizers, byte-identical to the reference
 * from_float of the type table (engine/quant/act.c):
 * - Q8_0/Q8_1: d = amax / 127 and id = 1 / d in scalar float exactly as the
 *   reference, x * id clamped to [-127, 127] with max/min in the operand
 *   order that turns a NaN product into -127 as fmaxf/fminf do, rounded
 *   half away from zero (roundf) as trunc + (|frac| >= 0.5 ? sign : 0).
 * - Q8_K: the signed value of largest magnitude (first in row order, as the
 *   reference's strict >), iscale = -127 / max, vcvtps2dq (nearest, ties to
 *   even: the reference's nearest_int), bsums from the packed bytes.
 * - F16 by vcvtps2ph, BF16 by integer round-to-nearest-even, NaN quieted
 *   and truncated as the reference does.
 * A block holding a NaN or an infinity, or whose scale overflows (an amax in
 * the denormal range), goes through the reference for that block: rare, and
 * the reference's exact bytes for those cases are what the tests pin down.
 */
#include "avx2.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Lanes that are NaN or +-inf, as a movemask (0: all finite). */
AI int nonfinite_mask(__m256 ax)
{
    return _mm256_movemask_ps(_mm256_cmp_ps(ax, _mm256_set1_ps(FLT_MAX), _CMP_NLE_UQ));
}

AI __m256 vabs(__m256 v)
{
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

AI float hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* Four vectors of 8 int32 in [-128, 127] -> 32 bytes in order. */
AI __m256i pack32(__m256i i0, __m256i i1, __m256i i2, __m256i i3)
{
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* roundf(fminf(fmaxf(v, -127), 127)) for 8 lanes, as int32. */
AI __m256i round_q8(__m256 v)
{
    v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 half = _mm256_cmp_ps(vabs(_mm256_sub_ps(v, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 one = _mm256_or_ps(_mm256_and_ps(v, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(1.0f));
    return _mm256_cvttps_epi32(_mm256_add_ps(t, _mm256_and_ps(half, one)));
}

/* One 32-block of Q8_0/Q8_1: the quants into qs, *d the unrounded scale and
 * *sum the sum of the quants. false: not finite, use the reference. */
AI bool q8_32(const float *x, int8_t *qs, float *d_out, int *sum)
{
    __m256 v[4], mx = _mm256_setzero_ps();
    int bad = 0;
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_loadu_ps(x + 8 * i);
        const __m256 ax = vabs(v[i]);
        bad |= nonfinite_mask(ax);
        mx = _mm256_max_ps(mx, ax);
    }
    if (bad)
        return false;
    const float amax = hmax8(mx);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    if (!(id <= FLT_MAX))
        return false;
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++)
        q[i] = round_q8(_mm256_mul_ps(v[i], vid));
    _mm256_storeu_si256((__m256i *)qs, pack32(q[0], q[1], q[2], q[3]));
    const __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
    *sum = _mm_cvtsi128_si32(s4);
    *d_out = d;
    return true;
}

AI engine_f16_t to_f16(float f)
{
    return (engine_f16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}

void kern_avx2_quant_q8_0(const float *x, void *vy, int64_t k)
{
    engine_block_q8_0 *y = vy;
    const engine_type_traits_t *ref = engine_type_traits(ENGINE_TYPE_Q8_0);
    for (int64_t i = 0; i < k / ENGINE_QK8_0; i++, x += ENGINE_QK8_0) {
        float d;
        int sum;
        if (q8_32(x, y[i].qs, &d, &sum))
            y[i].d = to_f16(d);
        else
            ref->from_float(x, &y[i], ENGINE_QK8_0);
    }
}

void kern_avx2_quant_q8_1(const float *x, void *vy, int64_t k)
{
    engine_block_q8_1 *y = vy;
    const engine_type_traits_t *ref = engine_type_traits(ENGINE_TYPE_Q8_1);
    for (int64_t i = 0; i < k / ENGINE_QK8_1; i++, x += ENGINE_QK8_1) {
        float d;
        int sum;
        if (q8_32(x, y[i].qs, &d, &sum)) {
            y[i].d = to_f16(d);
            y[i].s = to_f16((float)sum * d);
        } else {
            ref->from_float(x, &y[i], ENGINE_QK8_1);
        }
    }
}

/* One Q8_K super-block; false: not finite or the scale overflows. */
static bool q8_K_block(const float *x, engine_block_q8_K *y)
{
    __m256 mx = _mm256_setzero_ps();
    int bad = 0;
    for (int i = 0; i < ENGINE_QK_K; i += 8) {
        const __m256 ax = vabs(_mm256_loadu_ps(x + i));
        bad |= nonfinite_mask(ax);
        mx = _mm256_max_ps(mx, ax);
    }
    if (bad)
        return false;
    const float amax = hmax8(mx);
    if (amax == 0.0f) {
        memset(y, 0, sizeof *y);
        return true;
    }
    /* the first value whose magnitude is amax (the reference's strict >) */
    float max = 0.0f;
    const __m256 va = _mm256_set1_ps(amax);
    for (int i = 0; i < ENGINE_QK_K; i += 8) {
        const int m = _mm256_movemask_ps(_mm256_cmp_ps(vabs(_mm256_loadu_ps(x + i)), va, _CMP_EQ_OQ));
        if (m) {
            max = x[i + __builtin_ctz((unsigned)m)];
            break;
        }
    }
    const float iscale = -127.0f / max;
    if (!(fabsf(iscale) <= FLT_MAX))
        return false;
    const __m256 vs = _mm256_set1_ps(iscale);
    const __m256i c127 = _mm256_set1_epi32(127);
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (int h = 0; h < 2; h++) {
        __m256i s4[4]; /* per 32 values: 8 sums of 4 quants */
        for (int c = 0; c < 4; c++) {
            const float *xc = x + 128 * h + 32 * c;
            __m256i q[4];
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++)
                q[i] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(vs, _mm256_loadu_ps(xc + 8 * i))),
                                        c127);
            const __m256i p = pack32(q[0], q[1], q[2], q[3]);
            _mm256_storeu_si256((__m256i *)(y->qs + 128 * h + 32 * c), p);
            s4[c] = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, p), ones16);
        }
        /* hadd twice: low lane sums of values 0-15 of chunks 0-3, high lane 16-31 */
        __m256i g = _mm256_hadd_epi32(_mm256_hadd_epi32(s4[0], s4[1]), _mm256_hadd_epi32(s4[2], s4[3]));
        g = _mm256_permutevar8x32_epi32(g, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        const __m128i b16 = _mm_packs_epi32(_mm256_castsi256_si128(g), _mm256_extracti128_si256(g, 1));
        _mm_storeu_si128((__m128i *)(y->bsums + 8 * h), b16);
    }
    y->d = 1.0f / iscale;
    return true;
}

void kern_avx2_quant_q8_K(const float *x, void *vy, int64_t k)
{
    engine_block_q8_K *y = vy;
    const engine_type_traits_t *ref = engine_type_traits(ENGINE_TYPE_Q8_K);
    for (int64_t i = 0; i < k / ENGINE_QK_K; i++, x += ENGINE_QK_K)
        if (!q8_K_block(x, &y[i]))
            ref->from_float(x, &y[i], ENGINE_QK_K);
}

void kern_avx2_quant_f16(const float *x, void *vy, int64_t k)
{
    engine_f16_t *y = vy;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8)
        _mm_storeu_si128((__m128i *)(y + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < k; i++)
        y[i] = engine_f32_to_f16(x[i]);
}

void kern_avx2_quant_bf16(const float *x, void *vy, int64_t k)
{
    engine_bf16_t *y = vy;
    const __m256i mabs = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i one = _mm256_set1_epi32(1), rnd = _mm256_set1_epi32(0x7fff);
    const __m256i quiet = _mm256_set1_epi32(0x40);
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        __m256i r[2];
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            const __m256i b = _mm256_castps_si256(_mm256_loadu_ps(x + i + 8 * h));
            const __m256i hi = _mm256_srli_epi32(b, 16);
            const __m256i rn = _mm256_srli_epi32(
                _mm256_add_epi32(_mm256_add_epi32(b, rnd), _mm256_and_si256(hi, one)), 16);
            const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(b, mabs), inf);
            r[h] = _mm256_blendv_epi8(rn, _mm256_or_si256(hi, quiet), nan);
        }
        const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(r[0], r[1]), 0xd8);
        _mm256_storeu_si256((__m256i *)(y + i), p);
    }
    for (; i < k; i++)
        y[i] = engine_f32_to_bf16(x[i]);
}
