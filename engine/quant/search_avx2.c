/*
 * search_avx2.c: the lane-batched K-quant scale searches (search_lanes.h)
 * compiled with the avx2 flags; chosen at run time by search.c. Same bytes as
 * the plain C version (no FMA contraction in C11 mode).
 */
#define SL_NAME(name) name##_avx2
#include "search_lanes.h"
