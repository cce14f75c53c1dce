/*
 * search_avx512.c: the lane-batched K-quant scale searches (search_lanes.h)
 * compiled with the avx512 flags; chosen at run time by search.c. Same bytes as
 * the plain C version (no FMA contraction in C11 mode).
 */
#define SL_NAME(name) name##_avx512
#include "search_lanes.h"
