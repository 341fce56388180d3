// SPDX-License-Identifier: MIT
// An estimate of the peak memory of one training step, for the studio's method view and the
// CLI: arithmetic on the configuration, nothing allocated. Torch-free (ui/ and app/ include it).
// It is an estimate, calibrated against the peak RSS measured for AST-base in bench/README.md
// ("Training": within 8 % of the jemalloc peaks measured there); allocator behaviour, other
// libtorch builds and GPUs (the CUDA context, the caching allocator) move the real figure.
#pragma once

#include "inference/classifier.h"
#include "peft/peft_config.h"

#include <cstdint>

namespace astpeft::core {

struct MemoryEstimate
{
    // Parameters of the backbone, the method's modules and the head (fp32), plus the fused
    // q/k/v weight the frozen attention caches and, under autocast, half copies of trainable
    // weights.
    std::int64_t weightsBytes = 0;
    // Tensors saved for the backward pass by the layers that need gradients, plus one layer's
    // gradient buffers in flight.
    std::int64_t activationBytes = 0;
    std::int64_t optimizerBytes = 0; // AdamW's two moments per trainable parameter (fp32)
    std::int64_t gradientBytes = 0; // one fp32 gradient per trainable parameter
    // Libraries, thread pools and allocator slack: a constant measured on the CPU build.
    std::int64_t runtimeBytes = 0;

    // The peak: weights + optimizer + runtime + the larger of activations and gradients. The
    // backward pass frees each layer's saved activations as it allocates that layer's
    // gradients, so the two never peak together.
    std::int64_t total() const;
};

// Training peak estimate for one step: fp32 weights, AdamW moments and gradients of the
// trainable tensors, and saved activations of the layers that need gradients (tokens x hidden x
// batch x a per-layer factor, plus the attention probabilities heads x tokens x keys x batch),
// less with activation checkpointing (each layer keeps only its input; one layer is recomputed
// at a time). `precision` BF16/F16 is autocast: products save half-precision tensors while
// LayerNorm and softmax stay fp32. `config.maxLength` sets the tokens. Never throws; invalid
// sizes (batch < 1) count as 1.
MemoryEstimate estimateTrainingMemory(const AstConfig &config, const PeftConfig &peft,
    int numLabels, int batchSize, bool checkpointActivations, Precision precision = Precision::F32);

} // namespace astpeft::core
