/* tiny_model.h: tiny random F32 models for the engine's tests
 * (tests/helpers_engine/, linked into test_engine_* only). */
#ifndef TINY_MODEL_H
#define TINY_MODEL_H

#include <stdint.h>

#include "engine.h"

typedef struct {
    engine_model_t m;
    float *blobs[512];
    int n_blobs;
    uint64_t rng;
} tiny_model_t;

/* Small hyperparameters (vocab 256, 64 wide, 4 layers; gemma3n 10) with the
 * architecture's differences switched on: llama untied with llama3 RoPE
 * scaling, qwen3 QK-norm, phi3 fused tensors and a sliding window, smollm3
 * NoPE layers, gemma3n everything it has. */
engine_hparams_t tiny_model_hparams(engine_arch_t arch);
/* Gaussian weights (norms around 1) from seed; validated and prepared.
 * Fails the running test on error. */
tiny_model_t *tiny_model_build(engine_hparams_t hp, uint64_t seed);
void tiny_model_free(tiny_model_t *t);
/* n pseudo-random token ids below vocab (an LCG from seed). */
void tiny_model_tokens(int32_t *tok, int n, int vocab, uint32_t seed);

#endif /* TINY_MODEL_H */
