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

#include <cstdint>
#include <stop_token>
#include <vector>

namespace astpeft::core::detail {

struct EvalOutput
{
    ClassificationMetrics metrics;
    double loss = 0.0;
    std::vector<ClipPrediction> predictions; // one per clip of the evaluated split, in order
};

// Each clip's outcome in a range of a split: what evaluation sums up (and what the ranks of a
// data-parallel run gather before they do).
struct ClipScores
{
    std::vector<int> predicted;
    std::vector<float> confidence; // softmax probability of `predicted`
    std::vector<double> loss; // cross-entropy
};

// Loss (the mean of the clips' losses, summed in order), metrics and per-clip predictions of
// `data` from every clip's scores.
EvalOutput summarizeScores(const Prepared &data, const ClipScores &scores, int numClasses);

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
    // The scores of clips [from, to) of `data`, in batches, in eval mode.
    ClipScores score(const Prepared &data, std::int64_t from, std::int64_t to, int batchSize);
    // Loss, metrics and per-clip predictions of `data`: every clip's score, summarized.
    EvalOutput evaluate(const Prepared &data, int numClasses, int batchSize);
};

} // namespace astpeft::core::detail
