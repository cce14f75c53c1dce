/* mm_driver.h: private to engine/kernels/. The tile driver every SIMD kernel
 * file instantiates (x86 and arm alike): full RT x CT register tiles, then
 * the weight-row and activation-row remainders one at a time. Needs RT, CT
 * and fmt##_tile(rt, ct, nb, w, wstride, act, astride, y, ldy) in scope;
 * for float formats (block size 1) nb is k.
 *   DEFINE_MM(fmt, BS)             static void mm_fmt(...)
 *   DEFINE_MM_NAMED(name, fmt, BS) void name(...), for a kernel another file's
 *                                  variant table points at (needs a prototype) */
#ifndef ENGINE_KERNELS_MM_DRIVER_H
#define ENGINE_KERNELS_MM_DRIVER_H

#define DEFINE_MM_NAMED(name, fmt, BS)                                                          \
    void name(int64_t k, const void *w, size_t wstride, int64_t nr, const void *act,           \
              size_t astride, int64_t mr, float *y, int64_t ldy)                                \
    {                                                                                           \
        const uint8_t *W = w, *A = act;                                                         \
        const int64_t nb = k / (BS);                                                            \
        int64_t j = 0;                                                                          \
        for (; j + CT <= mr; j += CT) {                                                         \
            int64_t i = 0;                                                                      \
            for (; i + RT <= nr; i += RT)                                                       \
                fmt##_tile(RT, CT, nb, W + i * wstride, wstride, A + j * astride, astride,      \
                           y + j * ldy + i, ldy);                                               \
            for (; i < nr; i++)                                                                 \
                fmt##_tile(1, CT, nb, W + i * wstride, wstride, A + j * astride, astride,       \
                           y + j * ldy + i, ldy);                                               \
        }                                                                                       \
        for (; j < mr; j++) {                                                                   \
            int64_t i = 0;                                                                      \
            for (; i + RT <= nr; i += RT)                                                       \
                fmt##_tile(RT, 1, nb, W + i * wstride, wstride, A + j * astride, astride,       \
                           y + j * ldy + i, ldy);                                               \
            for (; i < nr; i++)                                                                 \
                fmt##_tile(1, 1, nb, W + i * wstride, wstride, A + j * astride, astride,        \
                           y + j * ldy + i, ldy);                                               \
        }                                                                                       \
    }

#define DEFINE_MM(fmt, BS) static DEFINE_MM_NAMED(mm_##fmt, fmt, BS)

#endif
