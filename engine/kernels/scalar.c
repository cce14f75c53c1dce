/*
 * scalar.c: the "scalar" variant: every weight type through the reference
 * vec_dot of the type table (engine/quant/), the ground truth the SIMD
 * variants are tested against. Its tables are empty on purpose: a NULL entry
 * means "reference", which dispatch.c runs via kern_scalar_mm.
 */
#include "kernels.h"

const kern_variant_t kern_variant_scalar = {
    .name = "scalar",
    .needs = 0,
};
