// SPDX-License-Identifier: MIT
// Training-time augmentation. Torch-free options; the functions in augment_torch.h.
//
// Waveform-level (need the clip's samples, so they bypass the feature cache): background-noise
// mixing at a random SNR, circular time shift, gain. Feature-level (on normalised [B, T, F]
// batches): SpecAugment frequency and time masks as in the paper (torchaudio 0.13
// mask_along_axis: width = floor(U * param), start = floor(U * (size - width)), value 0), and
// mixup of features and one-hot targets.
#pragma once

namespace astpeft::core {

struct AugmentOptions
{
    int freqMaskParam = 0; // SpecAugment: max frequency-mask width in mel bins (paper: 24)
    int timeMaskParam = 0; // max time-mask width in frames (paper: 80)
    int freqMasks = 1; // masks of each kind per example
    int timeMasks = 1;
    double mixupAlpha = 0.0; // > 0: lambda ~ Beta(alpha, alpha), partner = a shuffled batch
    double mixupProbability = 1.0; // chance a batch is mixed when mixupAlpha > 0
    double noiseProbability = 0.0; // chance a clip gets background noise (needs noise files)
    double noiseSnrMin = 5.0, noiseSnrMax = 20.0; // dB
    double shiftSeconds = 0.0; // max circular shift, either direction
    double gainDb = 0.0; // max |gain| in dB, uniform

    bool specAugment() const { return freqMaskParam > 0 || timeMaskParam > 0; }
    bool waveform() const { return noiseProbability > 0 || shiftSeconds > 0 || gainDb > 0; }
    bool any() const { return specAugment() || waveform() || mixupAlpha > 0; }
};

} // namespace astpeft::core
