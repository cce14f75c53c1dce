/* bench_int.h: bench-internal declarations that need the engine's types
 * (bench.h stays free of them). */
#ifndef BENCH_INT_H
#define BENCH_INT_H

#include "bench.h"
#include "engine.h"

/* Fills info's roofline inputs (rf_*) from a loaded model: weight bytes read
 * per decoded token, multiplied params, KV bytes per attended position. */
void bench_roofline_info(const engine_model_t *m, bench_model_info_t *info);

#endif /* BENCH_INT_H */
