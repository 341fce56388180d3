// SPDX-License-Identifier: MIT
// Batched fbank with libtorch ops, on whatever device the input lives (CPU or CUDA).
// Core-internal: includes torch.
#pragma once

#include "features/fbank.h"

#include <torch/torch.h>

namespace astpeft::core {

// waves: [B, N] float32 on any device, every row the same length (>= one frame).
// Returns log-mel features [B, frames, numMelBins] on the same device, not normalised.
torch::Tensor fbankBatch(const torch::Tensor &waves, const FbankOptions &options = {});

// [B, T, bins] -> [B, maxLength, bins] (zero pad at the end, or truncate), then
// (x - mean) / (2 * std) when frontEnd.normalize.
torch::Tensor finishFeatures(const torch::Tensor &fbank, const FrontEnd &frontEnd);

} // namespace astpeft::core
