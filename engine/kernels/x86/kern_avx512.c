/*
 * kern_avx512.c: the "avx512" variant's table and its repacked layouts
 * (AVX-512 F/BW/VL/DQ + VNNI). The kernels over the GGUF layout live by
 * family: b32_avx512.c (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL), kq_avx512.c
 * (K-quants), fl_avx512.c (F32, F16), bf16_avx512bf16.c (BF16, the one that
 * needs AVX512_BF16). Integer dot products with 512-bit vpdpbusd (u8 x s8
 * -> s32): weight quants are made unsigned and the offset times the
 * activation block sum is folded in. Here: 16-row interleaved tiles for
 * Q4_0, Q8_0, Q4_K and Q6_K, whose decode broadcasts one activation group
 * against 16 rows per instruction.
 */
#include "../kernels.h"
#include "act_x86.h"
#include "avx512.h"

#include <string.h>

/* ---- repacked Q4_0 / Q8_0: 16 rows interleaved -----------------------------------
 * A tile holds 16 rows, in super-tiles of 8 blocks (256 values): first the
 * 16 row scales (f16) of each of the 8 blocks, then per block groups of 4
 * quant bytes: group g, lane i = row i's qs[4g..4g+3] (Q8_0 with 0x80 added,
 * i.e. unsigned). One vpdpbusd with a broadcast group of 4 activation bytes
 * then advances all 16 rows, and the 16 results are the 16 lanes: no
 * horizontal sums, no per-row scale shuffles. The offset term (-8 or -128
 * times the activation block sum) seeds the accumulator. Super-tiles keep
 * every 64-byte quant group on one cache line and stream like the K-quant
 * tiles (per-block 32 + 256 byte pieces streamed from DRAM a third slower).
 * The last super-tile of a row holds the remaining nb % 8 blocks. */
#define PR 16     /* rows per tile */
#define PCT 8     /* activation rows per register tile */
#define PMAXB 1024 /* blocks per row the packed kernels take (k <= 32768) */
/* Software prefetch distance in super-block tiles (8 tiles for 32-blocks):
 * decode streams one tile at a time, and with this much compute between
 * loads the hardware prefetcher alone fell behind (Q6_K GEMV from DRAM went
 * from ~10 to ~37 GB/s on one core). */
#define KPF 2

#define PSB 8 /* blocks per super-tile */

/* Offsets of block b's 16 scales and of its quant groups from the start of
 * its 16-row tile (nb blocks per row, qbytes quant bytes per block row). */
static inline void q32_loc(int64_t nb, int64_t b, size_t qbytes, size_t *so, size_t *qo)
{
    const int64_t st = b / PSB, i = b % PSB, nbs = MB_MIN(PSB, nb - st * PSB);
    const size_t base = (size_t)st * PSB * PR * (qbytes + 2);
    *so = base + (size_t)i * PR * 2;
    *qo = base + (size_t)nbs * PR * 2 + (size_t)i * PR * qbytes;
}

static void pack_q4_0(const void *src, void *dst, int64_t k, int64_t n)
{
    const int64_t nb = k / ENGINE_QK4_0;
    const engine_block_q4_0 *x = src;
    for (int64_t t = 0; t < (n + PR - 1) / PR; t++) {
        uint8_t *tile = (uint8_t *)dst + (size_t)t * (size_t)nb * PR * sizeof(engine_block_q4_0);
        memset(tile, 0, (size_t)nb * PR * sizeof(engine_block_q4_0));
        for (int64_t b = 0; b < nb; b++) {
            size_t so, qo;
            q32_loc(nb, b, 16, &so, &qo);
            for (int i = 0; i < PR && t * PR + i < n; i++) {
                const engine_block_q4_0 *q = &x[(t * PR + i) * nb + b];
                memcpy(tile + so + 2 * i, &q->d, 2);
                for (int g = 0; g < 4; g++)
                    memcpy(tile + qo + 64 * g + 4 * i, q->qs + 4 * g, 4);
            }
        }
    }
}

static void unpack_q4_0(const void *packed, void *block, int64_t k, int64_t r, int64_t b)
{
    const int64_t nb = k / ENGINE_QK4_0;
    const int i = (int)(r % PR);
    const uint8_t *tile = (const uint8_t *)packed + (size_t)(r / PR) * (size_t)nb * PR * sizeof(engine_block_q4_0);
    size_t so, qo;
    q32_loc(nb, b, 16, &so, &qo);
    engine_block_q4_0 *q = block;
    memcpy(&q->d, tile + so + 2 * i, 2);
    for (int g = 0; g < 4; g++)
        memcpy(q->qs + 4 * g, tile + qo + 64 * g + 4 * i, 4);
}

/* The tile holding block b of row r, and r's lane in it (the unpack_*
 * functions invert pack_* for one block). */
static const uint8_t *ptile(const void *packed, int64_t k, int64_t r, int64_t b, int64_t bs,
                            size_t bsize, int *lane)
{
    *lane = (int)(r % PR);
    return (const uint8_t *)packed + ((size_t)(r / PR) * (size_t)(k / bs) + (size_t)b) * PR * bsize;
}

static void pack_q8_0(const void *src, void *dst, int64_t k, int64_t n)
{
    const int64_t nb = k / ENGINE_QK8_0;
    const engine_block_q8_0 *x = src;
    for (int64_t t = 0; t < (n + PR - 1) / PR; t++) {
        uint8_t *tile = (uint8_t *)dst + (size_t)t * (size_t)nb * PR * sizeof(engine_block_q8_0);
        memset(tile, 0, (size_t)nb * PR * sizeof(engine_block_q8_0));
        for (int64_t b = 0; b < nb; b++) {
            size_t so, qo;
            q32_loc(nb, b, 32, &so, &qo);
            for (int i = 0; i < PR && t * PR + i < n; i++) {
                const engine_block_q8_0 *q = &x[(t * PR + i) * nb + b];
                memcpy(tile + so + 2 * i, &q->d, 2);
                for (int g = 0; g < 8; g++)
                    for (int l = 0; l < 4; l++)
                        tile[qo + 64 * g + 4 * i + l] = (uint8_t)(q->qs[4 * g + l] ^ 0x80);
            }
        }
    }
}

static void unpack_q8_0(const void *packed, void *block, int64_t k, int64_t r, int64_t b)
{
    const int64_t nb = k / ENGINE_QK8_0;
    const int i = (int)(r % PR);
    const uint8_t *tile = (const uint8_t *)packed + (size_t)(r / PR) * (size_t)nb * PR * sizeof(engine_block_q8_0);
    size_t so, qo;
    q32_loc(nb, b, 32, &so, &qo);
    engine_block_q8_0 *q = block;
    memcpy(&q->d, tile + so + 2 * i, 2);
    for (int g = 0; g < 8; g++)
        for (int l = 0; l < 4; l++)
            q->qs[4 * g + l] = (int8_t)(tile[qo + 64 * g + 4 * i + l] ^ 0x80);
}

AI int32_t load_i32(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* offs[c * nb + b] = -off * sum of activation block b of row c */
AI void act_offsets(const uint8_t *a, size_t astride, int ct, int64_t nb, int off, int32_t *offs)
{
    const __m256i x80 = _mm256_set1_epi8((char)0x80);
    for (int c = 0; c < ct; c++)
        for (int64_t b = 0; b < nb; b++) {
            const engine_block_q8_0 *q = (const engine_block_q8_0 *)(a + c * astride) + b;
            __m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)q->qs), x80);
            __m256i s = _mm256_sad_epu8(v, _mm256_setzero_si256()); /* sums of (a + 128) */
            __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            int32_t sum = (int32_t)(_mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1)) - 128 * 32;
            offs[c * nb + b] = -off * sum;
        }
}

AI void store_rows(float *y, __m512 v, int64_t nr)
{
    if (nr >= PR)
        _mm512_storeu_ps(y, v);
    else
        _mm512_mask_storeu_ps(y, (__mmask16)((1u << nr) - 1), v);
}

#define DEFINE_PACKED(fmt, QBYTES, NG, OFF, UNPACK)                                                \
    AI void fmt##_ptile(int ct, int64_t nb, const uint8_t *w, const uint8_t *a, size_t astride,    \
                        const int32_t *offs, float *y, int64_t ldy, int64_t nr)                    \
    {                                                                                              \
        __m512 acc[PCT];                                                                           \
        _Pragma("GCC unroll 8") for (int c = 0; c < ct; c++) acc[c] = _mm512_setzero_ps();         \
        for (int64_t b = 0; b < nb; b++) {                                                         \
            size_t so, qo;                                                                         \
            q32_loc(nb, b, QBYTES, &so, &qo);                                                      \
            const uint8_t *p = w + qo;                                                             \
            for (int o = 0; o < PR * QBYTES; o += 64) /* see KPF */                                \
                _mm_prefetch((const char *)(p + o + PSB * PR * (QBYTES + 2)), _MM_HINT_T0);        \
            const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + so)));      \
            __m512i Q[2 * 4];                                                                      \
            UNPACK                                                                                 \
            _Pragma("GCC unroll 8") for (int c = 0; c < ct; c++)                                   \
            {                                                                                      \
                const engine_block_q8_0 *q = (const engine_block_q8_0 *)(a + c * astride) + b;     \
                /* 4 independent chains: vpdpbusd latency, not throughput, would   \
                 * bound a single chain in decode (one activation row). */           \
                __m512i is[4] = {_mm512_set1_epi32(offs[c * nb + b]), _mm512_setzero_si512(),      \
                                 _mm512_setzero_si512(), _mm512_setzero_si512()};                  \
                _Pragma("GCC unroll 8") for (int g = 0; g < NG; g++) is[g & 3] =                   \
                    _mm512_dpbusd_epi32(is[g & 3], Q[g],                                           \
                                        _mm512_set1_epi32(load_i32(q->qs + 4 * g)));               \
                __m512i isum = _mm512_add_epi32(_mm512_add_epi32(is[0], is[1]),                    \
                                                _mm512_add_epi32(is[2], is[3]));                   \
                acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum),                                 \
                                         _mm512_mul_ps(dw, _mm512_set1_ps(_cvtsh_ss(q->d))),       \
                                         acc[c]);                                                  \
            }                                                                                      \
        }                                                                                          \
        _Pragma("GCC unroll 8") for (int c = 0; c < ct; c++) store_rows(y + c * ldy, acc[c], nr);  \
    }                                                                                              \
    /* decode (one activation row): one block's 16 row sums, added to *acc */                    \
    AI void fmt##_pblock1(const uint8_t *ps, const uint8_t *p, const engine_block_q8_0 *q,         \
                          int32_t off, __m512 *acc)                                                \
    {                                                                                              \
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)ps));                \
        __m512i Q[2 * 4];                                                                          \
        UNPACK                                                                                     \
        __m512i is[4] = {_mm512_set1_epi32(off), _mm512_setzero_si512(), _mm512_setzero_si512(),   \
                         _mm512_setzero_si512()};                                                  \
        _Pragma("GCC unroll 8") for (int g = 0; g < NG; g++) is[g & 3] =                           \
            _mm512_dpbusd_epi32(is[g & 3], Q[g], _mm512_set1_epi32(load_i32(q->qs + 4 * g)));      \
        __m512i isum = _mm512_add_epi32(_mm512_add_epi32(is[0], is[1]),                            \
                                        _mm512_add_epi32(is[2], is[3]));                           \
        *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum),                                           \
                               _mm512_mul_ps(dw, _mm512_set1_ps(_cvtsh_ss(q->d))), *acc);         \
    }                                                                                              \
    /* a super-tile (8 blocks) per step, prefetched KPF super-tiles ahead */  \
    AI void fmt##_ptile1(int64_t nb, const uint8_t *w, const uint8_t *a, const int32_t *offs,      \
                         float *y, int64_t nr)                                                     \
    {                                                                                              \
        const engine_block_q8_0 *q = (const engine_block_q8_0 *)a;                                 \
        const size_t sb = PSB * PR * (QBYTES + 2);                                                 \
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();                             \
        int64_t b = 0;                                                                             \
        for (; b + PSB <= nb; b += PSB) {                                                          \
            const uint8_t *ps = w + (size_t)(b / PSB) * sb, *p = ps + PSB * PR * 2;                \
            for (size_t o = 0; o < sb; o += 64)                                                    \
                _mm_prefetch((const char *)(ps + o + KPF * sb), _MM_HINT_T0);                      \
            _Pragma("GCC unroll 8") for (int i = 0; i < PSB; i += 2)                               \
            {                                                                                      \
                fmt##_pblock1(ps + i * PR * 2, p + i * PR * QBYTES, q + b + i, offs[b + i], &acc0);\
                fmt##_pblock1(ps + (i + 1) * PR * 2, p + (i + 1) * PR * QBYTES, q + b + i + 1,     \
                              offs[b + i + 1], &acc1);                                             \
            }                                                                                      \
        }                                                                                          \
        for (; b < nb; b++) {                                                                      \
            size_t so, qo;                                                                         \
            q32_loc(nb, b, QBYTES, &so, &qo);                                                      \
            fmt##_pblock1(w + so, w + qo, q + b, offs[b], &acc0);                                  \
        }                                                                                          \
        store_rows(y, _mm512_add_ps(acc0, acc1), nr);                                              \
    }                                                                                              \
    static void mmp_##fmt(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,   \
                          size_t astride, int64_t mr, float *y, int64_t ldy)                       \
    {                                                                                              \
        const uint8_t *W = w, *A = act;                                                            \
        const int64_t nb = k / 32;                                                                 \
        int32_t offs[PCT * PMAXB];                                                                 \
        for (int64_t j = 0; j < mr;) {                                                             \
            const int ct = mr - j >= PCT ? PCT : 1;                                                \
            act_offsets(A + j * astride, astride, ct, nb, OFF, offs);                              \
            for (int64_t i = 0; i < nr;) {                                                         \
                const uint8_t *tw = W + (size_t)i * wstride, *aj = A + j * astride;                \
                float *yj = y + j * ldy + i;                                                       \
                if (ct == PCT && nr - i > PR) { /* two tiles, 4 + 4 activation rows */             \
                    const uint8_t *tw1 = tw + (size_t)PR * wstride;                                \
                    fmt##_ptile2(nb, tw, tw1, aj, astride, offs, yj, ldy, nr - i - PR);            \
                    fmt##_ptile2(nb, tw, tw1, aj + 4 * astride, astride, offs + 4 * nb,            \
                                 yj + 4 * ldy, ldy, nr - i - PR);                                  \
                    i += 2 * PR;                                                                   \
                    continue;                                                                      \
                }                                                                                  \
                if (ct == PCT)                                                                     \
                    fmt##_ptile(PCT, nb, tw, aj, astride, offs, yj, ldy, nr - i);                  \
                else                                                                               \
                    fmt##_ptile1(nb, tw, aj, offs, yj, nr - i);                                    \
                i += PR;                                                                           \
            }                                                                                      \
            j += ct;                                                                               \
        }                                                                                          \
    }

/* GEMM on two adjacent tiles (32 rows) and 4 activation rows: each broadcast
 * group of activation bytes feeds two vpdpbusd (one per tile), and the
 * per-block float work is shared by twice the multiplies: half the
 * broadcasts and ~40% fewer other instructions per vpdpbusd than 16 rows x
 * 8 activation rows (GEMM 44 -> 64 % of peak, docs/PERFORMANCE.md). PAIR(p, g, lo, hi)
 * gives groups g and g + 4 (activation bytes 4g and 16 + 4g) of a block.
 * nr1: rows of the second tile (1..16). */
#define DEFINE_PTILE2(fmt, QBYTES, PAIR)                                                           \
    AI void fmt##_ptile2(int64_t nb, const uint8_t *w0, const uint8_t *w1, const uint8_t *a,       \
                         size_t astride, const int32_t *offs, float *y, int64_t ldy, int64_t nr1)  \
    {                                                                                              \
        __m512 acc[4][2];                                                                          \
        _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) acc[c][0] = acc[c][1] =                \
            _mm512_setzero_ps();                                                                   \
        for (int64_t b = 0; b < nb; b++) {                                                         \
            size_t so, qo;                                                                         \
            q32_loc(nb, b, QBYTES, &so, &qo);                                                      \
            const uint8_t *p0 = w0 + qo, *p1 = w1 + qo;                                            \
            for (int o = 0; o < PR * QBYTES; o += 64) { /* see KPF */                              \
                _mm_prefetch((const char *)(p0 + o + PSB * PR * (QBYTES + 2)), _MM_HINT_T0);       \
                _mm_prefetch((const char *)(p1 + o + PSB * PR * (QBYTES + 2)), _MM_HINT_T0);       \
            }                                                                                      \
            const __m512 dw0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w0 + so)));   \
            const __m512 dw1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w1 + so)));   \
            const engine_block_q8_0 *q[4];                                                         \
            __m512i is[4][2];                                                                      \
            _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++)                                    \
            {                                                                                      \
                q[c] = (const engine_block_q8_0 *)(a + c * astride) + b;                           \
                is[c][0] = is[c][1] = _mm512_set1_epi32(offs[c * nb + b]);                         \
            }                                                                                      \
            _Pragma("GCC unroll 4") for (int g = 0; g < 4; g++)                                    \
            {                                                                                      \
                __m512i lo0, hi0, lo1, hi1;                                                        \
                PAIR(p0, g, lo0, hi0);                                                             \
                PAIR(p1, g, lo1, hi1);                                                             \
                _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++)                                \
                {                                                                                  \
                    const __m512i bl = _mm512_set1_epi32(load_i32(q[c]->qs + 4 * g));              \
                    const __m512i bh = _mm512_set1_epi32(load_i32(q[c]->qs + 16 + 4 * g));         \
                    is[c][0] = _mm512_dpbusd_epi32(is[c][0], lo0, bl);                             \
                    is[c][1] = _mm512_dpbusd_epi32(is[c][1], lo1, bl);                             \
                    is[c][0] = _mm512_dpbusd_epi32(is[c][0], hi0, bh);                             \
                    is[c][1] = _mm512_dpbusd_epi32(is[c][1], hi1, bh);                             \
                }                                                                                  \
            }                                                                                      \
            _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++)                                    \
            {                                                                                      \
                const __m512 d = _mm512_set1_ps(_cvtsh_ss(q[c]->d));                               \
                acc[c][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[c][0]), _mm512_mul_ps(dw0, d),   \
                                            acc[c][0]);                                            \
                acc[c][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[c][1]), _mm512_mul_ps(dw1, d),   \
                                            acc[c][1]);                                            \
            }                                                                                      \
        }                                                                                          \
        _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++)                                        \
        {                                                                                          \
            _mm512_storeu_ps(y + c * ldy, acc[c][0]);                                              \
            store_rows(y + c * ldy + PR, acc[c][1], nr1);                                          \
        }                                                                                          \
    }

#define Q4_0_PAIR(p, g, lo, hi)                                                                    \
    do {                                                                                           \
        const __m512i v_ = _mm512_loadu_si512((const void *)((p) + 64 * (g)));                     \
        lo = _mm512_and_si512(v_, _mm512_set1_epi8(0x0f));                                         \
        hi = _mm512_and_si512(_mm512_srli_epi16(v_, 4), _mm512_set1_epi8(0x0f));                   \
    } while (0)
#define Q8_0_PAIR(p, g, lo, hi)                                                                    \
    do {                                                                                           \
        lo = _mm512_loadu_si512((const void *)((p) + 64 * (g)));                                   \
        hi = _mm512_loadu_si512((const void *)((p) + 64 * ((g) + 4)));                            \
    } while (0)
DEFINE_PTILE2(q4_0, 16, Q4_0_PAIR)
DEFINE_PTILE2(q8_0, 32, Q8_0_PAIR)

/* Q4_0: 4 groups of 64 bytes; low nibbles are values 4g.., high 16 + 4g.. */
DEFINE_PACKED(q4_0, 16, 8, 8, {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    for (int g = 0; g < 4; g++) {
        __m512i v = _mm512_loadu_si512((const void *)(p + 64 * g));
        Q[g] = _mm512_and_si512(v, m4);
        Q[g + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
    }
})
/* Q4_0's groups 4..7 pair with activation bytes 16 + 4(g - 4): the same
 * offsets 4g as Q8_0's 8 groups, since 16 + 4(g - 4) = 4g. */

DEFINE_PACKED(q8_0, 32, 8, 128, {
    for (int g = 0; g < 8; g++)
        Q[g] = _mm512_loadu_si512((const void *)(p + 64 * g));
})

/* ---- repacked Q4_K: 16 rows interleaved ------------------------------------------
 * Per super-block, a tile holds the 16 rows' d (f16 x 16), dmin (f16 x 16),
 * their 12 scale bytes as 3 groups of 16 dwords (lane i = row i), then the
 * quants as 32 groups of 16 dwords (group g, lane i = row i's qs[4g..4g+3]):
 * 2304 bytes, the size of 16 plain rows. The 6-bit scales are decoded for
 * all 16 rows at once with the same shifts ggml uses per row, the nibbles
 * once per tile, and each vpdpbusd with a broadcast of 4 activation bytes
 * advances 16 rows. Sub-block sums are scaled in float (exact: < 2^24). */
#define PKCT 4 /* activation rows per register tile */

static void pack_q4_K(const void *src, void *dst, int64_t k, int64_t n)
{
    const int64_t nb = k / ENGINE_QK_K;
    const engine_block_q4_K *x = src;
    uint8_t *d = dst;
    for (int64_t t = 0; t < (n + PR - 1) / PR; t++)
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *p = d + ((size_t)t * nb + (size_t)b) * PR * sizeof(engine_block_q4_K);
            memset(p, 0, PR * sizeof(engine_block_q4_K));
            for (int i = 0; i < PR && t * PR + i < n; i++) {
                const engine_block_q4_K *q = &x[(t * PR + i) * nb + b];
                memcpy(p + 2 * i, &q->d, 2);
                memcpy(p + 32 + 2 * i, &q->dmin, 2);
                for (int g = 0; g < 3; g++)
                    memcpy(p + 64 + 64 * g + 4 * i, q->scales + 4 * g, 4);
                for (int g = 0; g < 32; g++)
                    memcpy(p + 256 + 64 * g + 4 * i, q->qs + 4 * g, 4);
            }
        }
}

static void unpack_q4_K(const void *packed, void *block, int64_t k, int64_t r, int64_t b)
{
    int i;
    const uint8_t *p = ptile(packed, k, r, b, ENGINE_QK_K, sizeof(engine_block_q4_K), &i);
    engine_block_q4_K *q = block;
    memcpy(&q->d, p + 2 * i, 2);
    memcpy(&q->dmin, p + 32 + 2 * i, 2);
    for (int g = 0; g < 3; g++)
        memcpy(q->scales + 4 * g, p + 64 + 64 * g + 4 * i, 4);
    for (int g = 0; g < 32; g++)
        memcpy(q->qs + 4 * g, p + 256 + 64 * g + 4 * i, 4);
}

/* byte j of every lane, as floats */
AI __m512 lane_byte(__m512i u, int j)
{
    return _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(u, 8 * j), _mm512_set1_epi32(0xff)));
}

AI void q4_K_ptile(int ct, int64_t nb, const uint8_t *w, const uint8_t *a, size_t astride,
                   float *y, int64_t ldy, int64_t nr)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512i km1 = _mm512_set1_epi32(0x3f3f3f3f), km2 = _mm512_set1_epi32(0x0f0f0f0f),
                  km3 = _mm512_set1_epi32(0x03030303);
    __m512 acc[PKCT];
#pragma GCC unroll 4
    for (int c = 0; c < ct; c++)
        acc[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *p = w + (size_t)b * PR * sizeof(engine_block_q4_K);
        _mm_prefetch((const char *)(p + KPF * PR * sizeof(engine_block_q4_K)), _MM_HINT_T0);
        _mm_prefetch((const char *)(p + 64 + KPF * PR * sizeof(engine_block_q4_K)), _MM_HINT_T0);
        _mm_prefetch((const char *)(p + 128 + KPF * PR * sizeof(engine_block_q4_K)), _MM_HINT_T0);
        _mm_prefetch((const char *)(p + 192 + KPF * PR * sizeof(engine_block_q4_K)), _MM_HINT_T0);
        const __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
        const __m512 dmv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + 32)));
        const __m512i u0 = _mm512_loadu_si512((const void *)(p + 64));
        const __m512i u1 = _mm512_loadu_si512((const void *)(p + 128));
        const __m512i u2 = _mm512_loadu_si512((const void *)(p + 192));
        /* U[0] = scales 0-3, U[1] = scales 4-7, U[2] = mins 0-3, U[3] = mins 4-7 */
        __m512i U[4];
        U[3] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u2, 4), km2),
                               _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u1, 6), km3), 4));
        U[2] = _mm512_and_si512(u1, km1);
        U[1] = _mm512_or_si512(_mm512_and_si512(u2, km2),
                               _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u0, 6), km3), 4));
        U[0] = _mm512_and_si512(u0, km1);
        __m512 bacc[PKCT];
        const engine_block_q8_K *q8[PKCT];
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++) {
            bacc[c] = _mm512_setzero_ps();
            q8[c] = (const engine_block_q8_K *)(a + c * astride) + b;
        }
#pragma GCC unroll 1
        for (int j = 0; j < 4; j++) {
            __m512i L[8], H[8];
#pragma GCC unroll 8
            for (int g = 0; g < 8; g++) {
                _mm_prefetch((const char *)(p + 256 + 64 * (8 * j + g) + KPF * PR * sizeof(engine_block_q4_K)), _MM_HINT_T0);
                __m512i v = _mm512_loadu_si512((const void *)(p + 256 + 64 * (8 * j + g)));
                L[g] = _mm512_and_si512(v, m4);
                H[g] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
            }
            const __m512 slo = lane_byte(U[(2 * j) / 4], (2 * j) % 4);
            const __m512 shi = lane_byte(U[(2 * j + 1) / 4], (2 * j + 1) % 4);
#pragma GCC unroll 4
            for (int c = 0; c < ct; c++) {
                const int8_t *aq = q8[c]->qs + 64 * j;
                __m512i lo0 = _mm512_setzero_si512(), lo1 = _mm512_setzero_si512();
                __m512i hi0 = _mm512_setzero_si512(), hi1 = _mm512_setzero_si512();
#pragma GCC unroll 8
                for (int g = 0; g < 8; g += 2) {
                    lo0 = _mm512_dpbusd_epi32(lo0, L[g], _mm512_set1_epi32(load_i32(aq + 4 * g)));
                    lo1 = _mm512_dpbusd_epi32(lo1, L[g + 1], _mm512_set1_epi32(load_i32(aq + 4 * g + 4)));
                    hi0 = _mm512_dpbusd_epi32(hi0, H[g], _mm512_set1_epi32(load_i32(aq + 32 + 4 * g)));
                    hi1 = _mm512_dpbusd_epi32(hi1, H[g + 1],
                                              _mm512_set1_epi32(load_i32(aq + 36 + 4 * g)));
                }
                bacc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(lo0, lo1)), slo, bacc[c]);
                bacc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(hi0, hi1)), shi, bacc[c]);
            }
        }
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++) {
            /* mins: sum_s m_s * (bsums[2s] + bsums[2s+1]) */
            __m512 msum = _mm512_setzero_ps();
#pragma GCC unroll 8
            for (int s8 = 0; s8 < 8; s8++) {
                const float bs = (float)(q8[c]->bsums[2 * s8] + q8[c]->bsums[2 * s8 + 1]);
                msum = _mm512_fmadd_ps(lane_byte(U[2 + s8 / 4], s8 % 4), _mm512_set1_ps(bs), msum);
            }
            const __m512 da = _mm512_set1_ps(q8[c]->d);
            acc[c] = _mm512_fmadd_ps(bacc[c], _mm512_mul_ps(dv, da), acc[c]);
            acc[c] = _mm512_fnmadd_ps(msum, _mm512_mul_ps(dmv, da), acc[c]);
        }
    }
#pragma GCC unroll 4
    for (int c = 0; c < ct; c++)
        store_rows(y + c * ldy, acc[c], nr);
}

static void mmp_q4_K(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,
                     size_t astride, int64_t mr, float *y, int64_t ldy)
{
    const uint8_t *W = w, *A = act;
    const int64_t nb = k / ENGINE_QK_K;
    for (int64_t j = 0; j < mr;) {
        const int ct = mr - j >= PKCT ? PKCT : 1;
        for (int64_t i = 0; i < nr; i += PR) {
            const uint8_t *tw = W + (size_t)i * wstride;
            if (ct == PKCT)
                q4_K_ptile(PKCT, nb, tw, A + j * astride, astride, y + j * ldy + i, ldy, nr - i);
            else
                q4_K_ptile(1, nb, tw, A + j * astride, astride, y + j * ldy + i, ldy, nr - i);
        }
        j += ct;
    }
}

/* ---- repacked Q6_K: 16 rows interleaved ------------------------------------------
 * Per super-block: d (f16 x 16), the 16 sub-block scales as 16 groups of 16
 * bytes (group s, byte i = row i's scale s), ql as 32 groups and qh as 16
 * groups of 16 dwords (lane i = row i's 4 bytes): 3360 bytes, the size of
 * 16 plain rows. Each sub-block of 16 values is 4 vpdpbusd seeded with
 * -32 * bsum (the -32 offset of the quants), then scaled in float. */
static void pack_q6_K(const void *src, void *dst, int64_t k, int64_t n)
{
    const int64_t nb = k / ENGINE_QK_K;
    const engine_block_q6_K *x = src;
    uint8_t *d = dst;
    for (int64_t t = 0; t < (n + PR - 1) / PR; t++)
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *p = d + ((size_t)t * nb + (size_t)b) * PR * sizeof(engine_block_q6_K);
            memset(p, 0, PR * sizeof(engine_block_q6_K));
            for (int i = 0; i < PR && t * PR + i < n; i++) {
                const engine_block_q6_K *q = &x[(t * PR + i) * nb + b];
                memcpy(p + 2 * i, &q->d, 2);
                for (int sb = 0; sb < 16; sb++)
                    p[32 + 16 * sb + i] = (uint8_t)q->scales[sb];
                for (int g = 0; g < 32; g++)
                    memcpy(p + 288 + 64 * g + 4 * i, q->ql + 4 * g, 4);
                for (int g = 0; g < 16; g++)
                    memcpy(p + 288 + 2048 + 64 * g + 4 * i, q->qh + 4 * g, 4);
            }
        }
}

static void unpack_q6_K(const void *packed, void *block, int64_t k, int64_t r, int64_t b)
{
    int i;
    const uint8_t *p = ptile(packed, k, r, b, ENGINE_QK_K, sizeof(engine_block_q6_K), &i);
    engine_block_q6_K *q = block;
    memcpy(&q->d, p + 2 * i, 2);
    for (int sb = 0; sb < 16; sb++)
        q->scales[sb] = (int8_t)p[32 + 16 * sb + i];
    for (int g = 0; g < 32; g++)
        memcpy(q->ql + 4 * g, p + 288 + 64 * g + 4 * i, 4);
    for (int g = 0; g < 16; g++)
        memcpy(q->qh + 4 * g, p + 288 + 2048 + 64 * g + 4 * i, 4);
}

AI void q6_K_ptile(int ct, int64_t nb, const uint8_t *w, const uint8_t *a, size_t astride,
                   float *y, int64_t ldy, int64_t nr)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    __m512 acc[PKCT];
#pragma GCC unroll 4
    for (int c = 0; c < ct; c++)
        acc[c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *p = w + (size_t)b * PR * sizeof(engine_block_q6_K);
        for (int o = 0; o < (int)(PR * sizeof(engine_block_q6_K)); o += 64)
            _mm_prefetch((const char *)(p + o + KPF * PR * sizeof(engine_block_q6_K)), _MM_HINT_T0);
        const __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
        __m512 bacc[PKCT];
        const engine_block_q8_K *q8[PKCT];
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++) {
            bacc[c] = _mm512_setzero_ps();
            q8[c] = (const engine_block_q8_K *)(a + c * astride) + b;
        }
        /* half hh, quarter qq: l = 16 qq .. 16 qq + 15 gives four sub-blocks:
         * values 128hh + l (+0, +32, +64, +96) */
#pragma GCC unroll 1
        for (int hq = 0; hq < 4; hq++) {
            const int hh = hq / 2, qq = hq % 2;
            /* One part (sub-block) at a time: its 4 groups are unpacked from
             * L1 again per part, which keeps the live registers to the 4
             * groups plus the accumulators (all 16 at once spilled). */
#pragma GCC unroll 4
            for (int part = 0; part < 4; part++) {
                __m512i V[4];
#pragma GCC unroll 4
                for (int g = 0; g < 4; g++) {
                    const int lg = 4 * qq + g; /* group of l = 4 lg .. 4 lg + 3 */
                    const __m512i L = _mm512_loadu_si512(
                        (const void *)(p + 288 + 64 * (16 * hh + (part & 1) * 8 + lg)));
                    const __m512i H =
                        _mm512_loadu_si512((const void *)(p + 288 + 2048 + 64 * (8 * hh + lg)));
                    const __m512i lo = part < 2 ? L : _mm512_srli_epi16(L, 4);
                    const __m512i hi = part == 0   ? _mm512_slli_epi16(H, 4)
                                       : part == 1 ? _mm512_slli_epi16(H, 2)
                                       : part == 2 ? H
                                                   : _mm512_srli_epi16(H, 2);
                    V[g] = _mm512_or_si512(_mm512_and_si512(lo, m4), _mm512_and_si512(hi, m30));
                }
                const int sb = (128 * hh + 32 * part + 16 * qq) / 16;
                const __m512 scf = _mm512_cvtepi32_ps(
                    _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 32 + 16 * sb))));
                const int v0 = 128 * hh + 32 * part + 16 * qq;
#pragma GCC unroll 4
                for (int c = 0; c < ct; c++) {
                    const int8_t *aq = q8[c]->qs + v0;
                    __m512i is0 = _mm512_set1_epi32(-32 * q8[c]->bsums[v0 / 16]);
                    __m512i is1 = _mm512_setzero_si512();
                    is0 = _mm512_dpbusd_epi32(is0, V[0], _mm512_set1_epi32(load_i32(aq)));
                    is1 = _mm512_dpbusd_epi32(is1, V[1], _mm512_set1_epi32(load_i32(aq + 4)));
                    is0 = _mm512_dpbusd_epi32(is0, V[2], _mm512_set1_epi32(load_i32(aq + 8)));
                    is1 = _mm512_dpbusd_epi32(is1, V[3], _mm512_set1_epi32(load_i32(aq + 12)));
                    bacc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(is0, is1)), scf,
                                              bacc[c]);
                }
            }
        }
#pragma GCC unroll 4
        for (int c = 0; c < ct; c++)
            acc[c] = _mm512_fmadd_ps(bacc[c], _mm512_mul_ps(dv, _mm512_set1_ps(q8[c]->d)), acc[c]);
    }
#pragma GCC unroll 4
    for (int c = 0; c < ct; c++)
        store_rows(y + c * ldy, acc[c], nr);
}

static void mmp_q6_K(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,
                     size_t astride, int64_t mr, float *y, int64_t ldy)
{
    const uint8_t *W = w, *A = act;
    const int64_t nb = k / ENGINE_QK_K;
    for (int64_t j = 0; j < mr;) {
        const int ct = mr - j >= PKCT ? PKCT : 1;
        for (int64_t i = 0; i < nr; i += PR) {
            const uint8_t *tw = W + (size_t)i * wstride;
            if (ct == PKCT)
                q6_K_ptile(PKCT, nb, tw, A + j * astride, astride, y + j * ldy + i, ldy, nr - i);
            else
                q6_K_ptile(1, nb, tw, A + j * astride, astride, y + j * ldy + i, ldy, nr - i);
        }
        j += ct;
    }
}



const kern_variant_t kern_variant_avx512 = {
    .name = "avx512",
    .needs = KERN_FEAT(AVX2) | KERN_FEAT(FMA) | KERN_FEAT(F16C) | KERN_FEAT(AVX512F) |
             KERN_FEAT(AVX512BW) | KERN_FEAT(AVX512VL) | KERN_FEAT(AVX512DQ) |
             KERN_FEAT(AVX512_VNNI),
    .needs_type = {[ENGINE_TYPE_BF16] = KERN_FEAT(AVX512_BF16)},
    .mm =
        {
            [ENGINE_TYPE_Q8_0] = kern_avx512_mm_q8_0,
            [ENGINE_TYPE_Q4_0] = kern_avx512_mm_q4_0,
            [ENGINE_TYPE_Q4_K] = kern_avx512_mm_q4_K,
            [ENGINE_TYPE_Q6_K] = kern_avx512_mm_q6_K,
            [ENGINE_TYPE_Q5_0] = kern_avx512_mm_q5_0,
            [ENGINE_TYPE_Q4_1] = kern_avx512_mm_q4_1,
            [ENGINE_TYPE_Q5_1] = kern_avx512_mm_q5_1,
            [ENGINE_TYPE_IQ4_NL] = kern_avx512_mm_iq4_nl,
            [ENGINE_TYPE_Q5_K] = kern_avx512_mm_q5_K,
            [ENGINE_TYPE_Q3_K] = kern_avx512_mm_q3_K,
            [ENGINE_TYPE_Q2_K] = kern_avx512_mm_q2_K,
            [ENGINE_TYPE_F32] = kern_avx512_mm_f32,
            [ENGINE_TYPE_F16] = kern_avx512_mm_f16,
            [ENGINE_TYPE_BF16] = kern_avx512_mm_bf16,
        },
    .act_type =
        {
            [ENGINE_TYPE_Q8_0] = ENGINE_TYPE_Q8_0,
            [ENGINE_TYPE_Q4_0] = ENGINE_TYPE_Q8_0,
            [ENGINE_TYPE_Q4_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_Q6_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_Q5_0] = ENGINE_TYPE_Q8_0,
            [ENGINE_TYPE_Q4_1] = ENGINE_TYPE_Q8_1,
            [ENGINE_TYPE_Q5_1] = ENGINE_TYPE_Q8_1,
            [ENGINE_TYPE_IQ4_NL] = ENGINE_TYPE_Q8_0,
            [ENGINE_TYPE_Q5_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_Q3_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_Q2_K] = ENGINE_TYPE_Q8_K,
            [ENGINE_TYPE_F32] = ENGINE_TYPE_F32,
            [ENGINE_TYPE_F16] = ENGINE_TYPE_F16,
            [ENGINE_TYPE_BF16] = ENGINE_TYPE_BF16,
        },
    .quant =
        {
            [ENGINE_TYPE_Q8_0] = kern_avx2_quant_q8_0,
            [ENGINE_TYPE_Q8_1] = kern_avx2_quant_q8_1,
            [ENGINE_TYPE_Q8_K] = kern_avx2_quant_q8_K,
            [ENGINE_TYPE_F16] = kern_avx2_quant_f16,
            [ENGINE_TYPE_BF16] = kern_avx2_quant_bf16,
        },
    .ops = &kern_ops_avx512,
    .packed_layout = 1,
    .pack_rows = PR,
    .pack_max_k = PMAXB * 32,
    .pack =
        {
            [ENGINE_TYPE_Q8_0] = pack_q8_0,
            [ENGINE_TYPE_Q4_0] = pack_q4_0,
            [ENGINE_TYPE_Q4_K] = pack_q4_K,
            [ENGINE_TYPE_Q6_K] = pack_q6_K,
        },
    .mm_packed =
        {
            [ENGINE_TYPE_Q8_0] = mmp_q8_0,
            [ENGINE_TYPE_Q4_0] = mmp_q4_0,
            [ENGINE_TYPE_Q4_K] = mmp_q4_K,
            [ENGINE_TYPE_Q6_K] = mmp_q6_K,
        },
    .unpack =
        {
            [ENGINE_TYPE_Q8_0] = unpack_q8_0,
            [ENGINE_TYPE_Q4_0] = unpack_q4_0,
            [ENGINE_TYPE_Q4_K] = unpack_q4_K,
            [ENGINE_TYPE_Q6_K] = unpack_q6_K,
        },
};
