// SPDX-License-Identifier: MIT
// The training inputs in memory and the batches made from them: features through the cache,
// noise clips, the per-epoch shuffle and augmentation. Shared by the trainer and the input
// pipeline benchmark, so that both make the same batches. Core-internal: includes torch.
#pragma once

#include "data/dataset.h"
#include "data/feature_cache.h"
#include "features/fbank.h"
#include "model/ast_config.h"
#include "random.h"
#include "train/trainer.h"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

namespace astpeft::core::detail {

// One training batch, made on the CPU (BatchSource::make).
struct Batch
{
    torch::Tensor x; // [B, T, F] features, or [B, tokens, D] cached encoder outputs
    torch::Tensor y; // [B] int64 labels
    torch::Tensor target; // [B, C] mixup's soft targets, or undefined
};

// The clips of one split with their features in memory: what the paper's loaders hold.
struct Prepared
{
    std::vector<Clip> clips;
    torch::Tensor features; // [N, T, F] float32, CPU, normalised and padded
    torch::Tensor labels; // [N] int64
    std::vector<std::int64_t> validFrames; // unpadded frames per clip (<= T)
    std::vector<std::vector<float>> waves; // mono at the front end's rate (waveform augmentation)
    torch::Tensor encoded; // [N, tokens, D] encoder outputs (linear probing cache) or undefined
    std::vector<std::pair<int, std::string>> failures; // label, "FILE: reason" of unusable clips
    std::int64_t size() const { return std::int64_t(clips.size()); }
};

// Features of `clips` through the cache, on one thread per core. A clip that fails to decode is
// moved to `skipped` (never fatal). Stops early (returns what it has) when `stop` fires.
Prepared prepare(const std::vector<Clip> &clips, const FrontEnd &frontEnd, int channel,
    FeatureCache &cache, bool keepWaves, std::vector<SkippedFile> &skipped, TrainObserver *observer,
    std::stop_token stop);

// The noise clips to mix in: the dataset's own, then options.noiseFiles with each folder
// replaced by its audio files (sorted; not recursive). Paths that do not exist, and folders
// without audio, go to `skipped` with the reason; a path listed twice is used once.
std::vector<std::filesystem::path> noiseFileList(
    const std::vector<std::filesystem::path> &fromDataset,
    const std::vector<std::filesystem::path> &given, std::vector<SkippedFile> &skipped);

// The decoded noise clips for waveform augmentation (none when it mixes no noise): the dataset's
// own and options.noiseFiles (noiseFileList); unreadable ones go to `skipped`.
std::vector<std::vector<float>> loadNoise(const TrainOptions &options,
    const std::vector<std::filesystem::path> &fromDataset, int sampleRate,
    std::vector<SkippedFile> &skipped);

// The feature cache folder a run uses; empty (no cache) when it uses none.
std::filesystem::path featureCacheOf(const TrainOptions &o);

// The model input length in frames: options.maxLength, or the longest training clip rounded up
// to a multiple of 10, at most the checkpoint's max_length.
int resolveMaxLength(
    const TrainOptions &o, const std::vector<Clip> &train, const AstConfig &config, int rate);

// The order of the n training clips in `epoch` (1-based): a shuffle seeded per epoch, so a
// resumed run continues exactly. Augmentation draws from rngFor(seed, epoch, 2).
std::vector<std::int64_t> epochOrder(std::int64_t n, std::uint64_t seed, int epoch);

// What training batches are made from: the training split in memory and its augmentation.
struct BatchSource
{
    const Prepared &data;
    const torch::Tensor &inputs; // data.features, or data.encoded (linear-probing cache)
    const std::vector<std::vector<float>> &noise;
    const AugmentOptions &augment;
    const FrontEnd &frontEnd;
    int numClasses = 0;
    bool pinned = false; // page-locked memory, for an asynchronous copy to a CUDA device

    // The clips order[from, to) on the CPU: waveform augmentation and fbank, then SpecAugment,
    // then mixup, drawing from `rng` in that order.
    Batch make(
        const std::vector<std::int64_t> &order, std::int64_t from, std::int64_t to, Rng &rng) const;
};

} // namespace astpeft::core::detail
