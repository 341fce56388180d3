// SPDX-License-Identifier: MIT
// The model and how batches go through it during training and evaluation: from features, or
// from cached encoder outputs (linear probing). Core-internal: includes torch.
#pragma once

#include "inference/classifier.h"
#include "model/ast.h"
#include "train/batches.h"
#include "train/metrics.h"
#include "train/train_events.h"

#include <torch/torch.h>

#include <stop_token>
#include <vector>

namespace astpeft::core::detail {

struct EvalOutput
{
    ClassificationMetrics metrics;
    double loss = 0.0;
    std::vector<ClipPrediction> predictions; // one per clip of the evaluated split, in order
};

// The model and how batches go through it (features, or cached encoder outputs).
struct Runner
{
    AstForAudioClassification model { nullptr };
    torch::Device device { torch::kCPU };
    Precision precision = Precision::F32;
    bool fromEncoded = false; // inputs are encoder outputs [B, tokens, D]

    // Logits [B, C] in float32, under the run's autocast.
    torch::Tensor forward(const torch::Tensor &input);
    // The frozen encoder's output (before the final LayerNorm) for every clip, in batches.
    torch::Tensor encode(const torch::Tensor &features, int batchSize, std::stop_token stop);
    // Loss, metrics and per-clip predictions of `data`, in batches, in eval mode.
    EvalOutput evaluate(const Prepared &data, int numClasses, int batchSize);
};

} // namespace astpeft::core::detail
