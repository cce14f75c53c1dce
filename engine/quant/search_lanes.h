/*
 * search_lanes.h: the K-quant scale searches of search.c run on all the
 * sub-blocks of a super-block at once. The sub-blocks are transposed so that
 * sub-block k is lane k and every inner loop runs over the lanes: each lane
 * does exactly the operations, in exactly the order, of quant_search_sym /
 * quant_search_affine on its sub-block (so the results are bit-identical to
 * them), but the loops have a fixed trip count and no cross-lane reductions,
 * so the compiler vectorises them without reassociating float sums.
 * Branches are selects; rounding is the float-domain twin of
 * quant_nearest_int ((v + 1.5*2^23) - 1.5*2^23, the same integer).
 *
 * Included by search.c (plain C, the reference) and by search_avx2.c and
 * search_avx512.c (the same source compiled with their ISA flags), each with
 * SL_NAME defined to give the functions their names. Build mode C11 without
 * -ffast-math: no FMA contraction, so every variant produces the same bytes.
 */
#ifndef SL_NAME
#error "define SL_NAME(name) before including search_lanes.h"
#endif

#include "quant_impl.h"

#define SL_AI static inline __attribute__((always_inline))
#define SL_MAXN 32   /* values per lane */
#define SL_MAXL 16   /* lanes */
#define SL_MAGIC 12582912.0f
/* weight of value i of lane k: the constant 1 when unit (the compiler then
 * drops the multiplications, which are exact: same results) */
#define WT(i, k) (unit ? 1.0f : wt[i][k])

SL_AI float sl_round(float v)
{
    return (v + SL_MAGIC) - SL_MAGIC;
}

SL_AI float sl_clamp(float v, float lo, float hi)
{
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* ---- symmetric: x ~ scale * l, l in [-nmax, nmax-1] ---- */
SL_AI void sl_sym(const int NL, const int unit, int n, int nmax, const float *x, const float *w,
                  int8_t *L, float *scales, uint32_t *fallback)
{
    float xt[SL_MAXN][SL_MAXL], wt[SL_MAXN][SL_MAXL], lt[SL_MAXN][SL_MAXL];
    float max[SL_MAXL], amax[SL_MAXL], best[SL_MAXL], bis[SL_MAXL];
    float sumlx[SL_MAXL], suml2[SL_MAXL];
    const float fnmax = (float)nmax, lo = -(float)nmax, hi = (float)(nmax - 1);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < NL; k++) {
            xt[i][k] = x[k * n + i];
            wt[i][k] = unit ? 1.0f : w[k * n + i];
        }
    for (int k = 0; k < NL; k++) {
        max[k] = 0.0f;
        amax[k] = 0.0f;
        best[k] = -1.0f;
        bis[k] = 0.0f;
        sumlx[k] = 0.0f;
        suml2[k] = 0.0f;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < NL; k++) {
            const float v = xt[i][k], av = v < 0.0f ? -v : v;
            const int gt = av > amax[k];
            amax[k] = gt ? av : amax[k];
            max[k] = gt ? v : max[k];
        }
    for (int k = 0; k < NL; k++)
        max[k] = amax[k] < 1e-15f ? 1.0f : max[k]; /* lane done by the fallback */
    for (int is = -9; is <= 9; is++) {
        float iscale[SL_MAXL], slx[SL_MAXL], sl2[SL_MAXL];
        const float num = -(fnmax + 0.1f * (float)is);
        for (int k = 0; k < NL; k++) {
            iscale[k] = num / max[k];
            slx[k] = 0.0f;
            sl2[k] = 0.0f;
        }
        for (int i = 0; i < n; i++)
            for (int k = 0; k < NL; k++) {
                const float q = sl_clamp(sl_round(iscale[k] * xt[i][k]), lo, hi);
                slx[k] += WT(i, k) * xt[i][k] * q;
                sl2[k] += WT(i, k) * (q * q);
            }
        for (int k = 0; k < NL; k++) {
            const int take =
                sl2[k] > 0.0f && (best[k] < 0.0f || slx[k] * slx[k] > best[k] * sl2[k]);
            const float sl2s = sl2[k] > 0.0f ? sl2[k] : 1.0f;
            best[k] = take ? slx[k] * slx[k] / sl2s : best[k];
            bis[k] = take ? iscale[k] : bis[k];
            sumlx[k] = take ? slx[k] : sumlx[k];
            suml2[k] = take ? sl2[k] : suml2[k];
        }
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < NL; k++)
            lt[i][k] = sl_clamp(sl_round(bis[k] * xt[i][k]), lo, hi);
    /* coordinate descent; a lane that changed nothing in a pass is at its
     * fixed point, so running more passes for the other lanes is harmless */
    for (int itry = 0; itry < 5; itry++) {
        int changed = 0;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < NL; k++) {
                const float wi = WT(i, k), xi = xt[i][k], li = lt[i][k];
                const float slx = sumlx[k] - wi * xi * li;
                const float sl2 = suml2[k] - wi * (li * li);
                const int ok = slx != 0.0f && sl2 > 0.0f;
                const float slxs = ok ? slx : 1.0f;
                const float nl = sl_clamp(sl_round(xi * sl2 / slxs), lo, hi);
                const float nslx = slx + wi * xi * nl;
                const float nsl2 = sl2 + wi * (nl * nl);
                const int acc = ok && nl != li && nsl2 > 0.0f &&
                                nslx * nslx * suml2[k] > sumlx[k] * sumlx[k] * nsl2;
                lt[i][k] = acc ? nl : li;
                sumlx[k] = acc ? nslx : sumlx[k];
                suml2[k] = acc ? nsl2 : suml2[k];
                changed |= acc;
            }
        if (!changed)
            break;
    }
    uint32_t fb = 0;
    for (int k = 0; k < NL; k++) {
        fb |= (uint32_t)(amax[k] < 1e-15f || best[k] < 0.0f) << k;
        scales[k] = sumlx[k] / (suml2[k] > 0.0f ? suml2[k] : 1.0f);
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < NL; k++)
            L[k * n + i] = (int8_t)(lt[i][k] + fnmax);
    *fallback = fb;
}

/* ---- affine: x ~ scale * l - min, l in [0, nmax], min >= 0 ---- */
/* As quant_search_affine (and ggml's make_qkx2_quants), a candidate that wins
 * replaces the min the later candidates quantize against (cmin). */
SL_AI void sl_affine(const int NL, const int unit, int n, int nmax, const float *x,
                     const float *w, uint8_t *L, float *scales, float *the_mins, float rmin,
                     float rdelta, int nstep)
{
    float xt[SL_MAXN][SL_MAXL], wt[SL_MAXN][SL_MAXL];
    float mn[SL_MAXL], mx[SL_MAXL], sw[SL_MAXL], sx[SL_MAXL], sx2[SL_MAXL], cmin[SL_MAXL];
    float bis[SL_MAXL], bsub[SL_MAXL], besterr[SL_MAXL], bscale[SL_MAXL];
    int dg[SL_MAXL];
    const float fnmax = (float)nmax;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < NL; k++) {
            xt[i][k] = x[k * n + i];
            wt[i][k] = unit ? 1.0f : w[k * n + i];
        }
    for (int k = 0; k < NL; k++) {
        mn[k] = xt[0][k];
        mx[k] = xt[0][k];
        sw[k] = WT(0, k);
        sx[k] = WT(0, k) * xt[0][k];
        sx2[k] = WT(0, k) * xt[0][k] * xt[0][k];
    }
    for (int i = 1; i < n; i++)
        for (int k = 0; k < NL; k++) {
            const float v = xt[i][k], wv = WT(i, k);
            mn[k] = v < mn[k] ? v : mn[k];
            mx[k] = v > mx[k] ? v : mx[k];
            sw[k] += wv;
            sx[k] += wv * v;
            sx2[k] += wv * v * v;
        }
    for (int k = 0; k < NL; k++) {
        mn[k] = mn[k] > 0.0f ? 0.0f : mn[k];
        /* degenerate lane (max <= min): any finite scale, fixed at the end */
        dg[k] = mx[k] <= mn[k];
        mx[k] = dg[k] ? mn[k] + 1.0f : mx[k];
        cmin[k] = mn[k];
        bsub[k] = mn[k];
        bis[k] = fnmax / (mx[k] - mn[k]);
        bscale[k] = 1.0f / bis[k];
        besterr[k] = 0.0f;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < NL; k++) {
            const float l = sl_clamp(sl_round(bis[k] * (xt[i][k] - mn[k])), 0.0f, fnmax);
            const float diff = bscale[k] * l + mn[k] - xt[i][k];
            besterr[k] += WT(i, k) * diff * diff;
        }
    for (int is = 0; is <= nstep; is++) {
        float iscale[SL_MAXL], sl[SL_MAXL], sl2[SL_MAXL], sxl[SL_MAXL];
        const float num = rmin + rdelta * (float)is + fnmax;
        for (int k = 0; k < NL; k++) {
            iscale[k] = num / (mx[k] - cmin[k]);
            sl[k] = 0.0f;
            sl2[k] = 0.0f;
            sxl[k] = 0.0f;
        }
        for (int i = 0; i < n; i++)
            for (int k = 0; k < NL; k++) {
                const float l =
                    sl_clamp(sl_round(iscale[k] * (xt[i][k] - cmin[k])), 0.0f, fnmax);
                const float wv = WT(i, k);
                sl[k] += wv * l;
                sl2[k] += wv * (l * l);
                sxl[k] += wv * l * xt[i][k];
            }
        float ts[SL_MAXL], tm[SL_MAXL], err[SL_MAXL];
        int ok[SL_MAXL];
        for (int k = 0; k < NL; k++) {
            const float D = sw[k] * sl2[k] - sl[k] * sl[k];
            const float Ds = D > 0.0f ? D : 1.0f;
            const float fit_scale = (sw[k] * sxl[k] - sx[k] * sl[k]) / Ds;
            const float fit_min = (sl2[k] * sx[k] - sl[k] * sxl[k]) / Ds;
            const float sl2s = sl2[k] > 0.0f ? sl2[k] : 1.0f;
            const float zero_min_scale = sxl[k] / sl2s; /* both computed: no branch */
            const int pos = fit_min > 0.0f;
            ts[k] = pos ? zero_min_scale : fit_scale;
            tm[k] = pos ? 0.0f : fit_min;
            ok[k] = D > 0.0f;
        }
        /* sum w (s l + m - x)^2 expanded over the sums at hand (double: the
         * terms nearly cancel); a loop of its own so that it vectorises */
        for (int k = 0; k < NL; k++) {
            const double s = ts[k], m = tm[k];
            err[k] = (float)(s * s * sl2[k] + 2.0 * s * m * sl[k] + m * m * sw[k] -
                             2.0 * s * sxl[k] - 2.0 * m * sx[k] + sx2[k]);
        }
        for (int k = 0; k < NL; k++) {
            const int take = ok[k] & (err[k] < besterr[k]);
            besterr[k] = take ? err[k] : besterr[k];
            bis[k] = take ? iscale[k] : bis[k];
            bsub[k] = take ? cmin[k] : bsub[k];
            bscale[k] = take ? ts[k] : bscale[k];
            cmin[k] = take ? tm[k] : cmin[k];
        }
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < NL; k++) {
            const float l = sl_clamp(sl_round(bis[k] * (xt[i][k] - bsub[k])), 0.0f, fnmax);
            L[k * n + i] = (uint8_t)(dg[k] ? 0.0f : l);
        }
    for (int k = 0; k < NL; k++) {
        scales[k] = dg[k] ? 0.0f : bscale[k];
        the_mins[k] = dg[k] ? -mn[k] : -cmin[k];
    }
}

/* w == NULL: all weights 1 (a specialised copy of the loops) */
/* 16 sub-blocks of 16 (Q3_K, Q6_K) */
void SL_NAME(quant_search_sym_16x16)(int nmax, const float *x, const float *w, int8_t *L,
                                     float *scales, uint32_t *fallback)
{
    if (w)
        sl_sym(16, 0, 16, nmax, x, w, L, scales, fallback);
    else
        sl_sym(16, 1, 16, nmax, x, w, L, scales, fallback);
}

/* 16 sub-blocks of 16 (Q2_K) */
void SL_NAME(quant_search_affine_16x16)(int nmax, const float *x, const float *w, uint8_t *L,
                                        float *scales, float *the_mins, float rmin,
                                        float rdelta, int nstep)
{
    if (w)
        sl_affine(16, 0, 16, nmax, x, w, L, scales, the_mins, rmin, rdelta, nstep);
    else
        sl_affine(16, 1, 16, nmax, x, w, L, scales, the_mins, rmin, rdelta, nstep);
}

/* 8 sub-blocks of 32 (Q4_K, Q5_K: one super-block) */
void SL_NAME(quant_search_affine_8x32)(int nmax, const float *x, const float *w, uint8_t *L,
                                       float *scales, float *the_mins, float rmin, float rdelta,
                                       int nstep)
{
    if (w)
        sl_affine(8, 0, 32, nmax, x, w, L, scales, the_mins, rmin, rdelta, nstep);
    else
        sl_affine(8, 1, 32, nmax, x, w, L, scales, the_mins, rmin, rdelta, nstep);
}

/* 16 sub-blocks of 32 (Q4_K, Q5_K: two consecutive super-blocks; fills
 * AVX-512's 16 lanes) */
void SL_NAME(quant_search_affine_16x32)(int nmax, const float *x, const float *w, uint8_t *L,
                                        float *scales, float *the_mins, float rmin,
                                        float rdelta, int nstep)
{
    if (w)
        sl_affine(16, 0, 32, nmax, x, w, L, scales, the_mins, rmin, rdelta, nstep);
    else
        sl_affine(16, 1, 32, nmax, x, w, L, scales, the_mins, rmin, rdelta, nstep);
}
