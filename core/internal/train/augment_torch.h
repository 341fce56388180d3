// SPDX-License-Identifier: MIT
// The augmentation functions (augment.h has the options). Core-internal: includes torch. Every
// random draw comes from the caller's Rng, in a documented order, so a seeded epoch is
// reproducible and a resumed run draws the same masks.
#pragma once

#include "random.h"
#include "train/augment.h"

#include <torch/torch.h>

#include <span>
#include <vector>

namespace astpeft::core {

// In place on normalised features [B, T, F] (any device, float): for each example b in order,
// options.freqMasks frequency masks then options.timeMasks time masks, each drawing width then
// start. Masked values become 0. Frames beyond validFrames[b] (padding) are not masked when
// validFrames is given; the time mask is drawn over the valid frames only. Each mask draws two
// uniforms u1, u2: width = floor(u1 * param), start = floor(u2 * (size - u1 * param)) (torchaudio
// uses the unfloored u1 * param there), so 0 <= width < param. A kind with param 0 draws nothing.
void specAugment(torch::Tensor &features, const AugmentOptions &options, Rng &rng,
    std::span<const std::int64_t> validFrames = {});

// Mixup: draws lambda ~ Beta(alpha, alpha) (via two Gamma draws from rng) and a permutation;
// returns features' = lambda * x + (1 - lambda) * x[perm] and targets' likewise on one-hot
// targets [B, C]. With rng's draw u >= options.mixupProbability the batch is returned unchanged.
// Draw order: u, Gamma X, Gamma Y (lambda = X / (X + Y)), then the permutation (Rng::shuffle).
// mixupAlpha <= 0 returns the batch unchanged without drawing.
struct MixupResult
{
    torch::Tensor features;
    torch::Tensor targets; // [B, C] soft targets
    double lambda = 1.0;
    std::vector<std::int64_t> permutation; // the partner of row i is row permutation[i]
};
MixupResult mixup(const torch::Tensor &features, const torch::Tensor &oneHotTargets,
    const AugmentOptions &options, Rng &rng);

// Waveform augmentation of one mono clip at `sampleRate`, in place: circular time shift, gain,
// then (with options.noiseProbability) a random excerpt of a random noise clip mixed at an SNR
// uniform in [noiseSnrMin, noiseSnrMax] dB. `noise` holds decoded mono noise clips at the same
// rate; when empty, noise mixing is skipped. Silent clips get no noise scaling (no division by
// zero). Draw order: shift (when shiftSeconds > 0), gain (when gainDb > 0), then, with noise
// clips and noiseProbability > 0: u, clip index, SNR, excerpt start.
void augmentWaveform(std::vector<float> &wave, int sampleRate,
    const std::vector<std::vector<float>> &noise, const AugmentOptions &options, Rng &rng);

} // namespace astpeft::core
