// SPDX-License-Identifier: MIT
#include "train/augment_torch.h"

#include "error.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace astpeft::core {

namespace {

// One mask along an axis of `size` positions, as torchaudio 0.13 mask_along_axis draws it:
// value = u1 * param, start = floor(u2 * (size - value)), end = start + floor(value). The start
// uses the unfloored value, as torchaudio does, so 0 <= width < param and end <= size. Always
// draws two uniforms. The interval is clamped to [0, size) (only matters when size < param).
struct Interval
{
    std::int64_t start = 0;
    std::int64_t end = 0;
};

Interval drawMask(int param, std::int64_t size, Rng &rng)
{
    const double value = rng.uniform() * param;
    const double position = rng.uniform() * (double(size) - value);
    Interval mask;
    mask.start = std::max<std::int64_t>(0, std::int64_t(std::floor(position)));
    mask.end = std::min<std::int64_t>(size, mask.start + std::int64_t(std::floor(value)));
    mask.end = std::max(mask.end, mask.start);
    return mask;
}

// Gamma(alpha, 1) by Marsaglia and Tsang (2000), returned as its logarithm so that tiny alphas
// (whose draws underflow to 0) still give a finite Beta. alpha < 1 uses the boost
// Gamma(alpha) = Gamma(alpha + 1) * U^(1 / alpha).
double logGamma(double alpha, Rng &rng)
{
    const double boost = alpha < 1.0 ? alpha + 1.0 : alpha;
    const double d = boost - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    double logDraw = 0.0;
    for (;;) {
        const double x = rng.normal();
        double v = 1.0 + c * x;
        if (v <= 0.0)
            continue;
        v = v * v * v;
        const double u = rng.uniform();
        if (u < 1.0 - 0.0331 * (x * x) * (x * x)
            || std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) {
            logDraw = std::log(d * v);
            break;
        }
    }
    if (alpha < 1.0) {
        double u = rng.uniform();
        while (u <= 0.0)
            u = rng.uniform();
        logDraw += std::log(u) / alpha;
    }
    return logDraw;
}

double powerOf(const std::vector<double> &x)
{
    double sum = 0.0;
    for (const double v : x)
        sum += v * v;
    return x.empty() ? 0.0 : sum / double(x.size());
}

} // namespace

void specAugment(torch::Tensor &features, const AugmentOptions &options, Rng &rng,
    std::span<const std::int64_t> validFrames)
{
    if (!features.defined() || features.dim() != 3 || !features.is_floating_point())
        throw Error(ErrorKind::Usage, "specAugment needs float features [batch, frames, bins]");
    if (options.freqMaskParam < 0 || options.timeMaskParam < 0 || options.freqMasks < 0
        || options.timeMasks < 0)
        throw Error(ErrorKind::Usage, "specAugment: mask parameters and counts must be >= 0");
    const std::int64_t batch = features.size(0);
    const std::int64_t frames = features.size(1);
    const std::int64_t bins = features.size(2);
    if (!validFrames.empty() && std::int64_t(validFrames.size()) != batch)
        throw Error(ErrorKind::Usage,
            "specAugment: " + std::to_string(validFrames.size()) + " valid-frame counts for "
                + std::to_string(batch) + " examples");
    const bool freq = options.freqMaskParam > 0 && options.freqMasks > 0;
    const bool time = options.timeMaskParam > 0 && options.timeMasks > 0;
    if (!freq && !time)
        return;

    // Masks are built on the CPU ([B, 1, F] and [B, T, 1], true = masked) and applied with two
    // masked_fill_ calls, whatever the batch size or device.
    torch::Tensor freqMask = torch::zeros({ batch, 1, bins }, torch::kBool);
    torch::Tensor timeMask = torch::zeros({ batch, frames, 1 }, torch::kBool);
    auto freqAt = freqMask.accessor<bool, 3>();
    auto timeAt = timeMask.accessor<bool, 3>();
    for (std::int64_t b = 0; b < batch; ++b) {
        if (freq) {
            for (int m = 0; m < options.freqMasks; ++m) {
                const Interval mask = drawMask(options.freqMaskParam, bins, rng);
                for (std::int64_t f = mask.start; f < mask.end; ++f)
                    freqAt[b][0][f] = true;
            }
        }
        if (time) {
            const std::int64_t valid = validFrames.empty()
                ? frames
                : std::clamp<std::int64_t>(validFrames[std::size_t(b)], 0, frames);
            for (int m = 0; m < options.timeMasks; ++m) {
                const Interval mask = drawMask(options.timeMaskParam, valid, rng);
                for (std::int64_t t = mask.start; t < mask.end; ++t)
                    timeAt[b][t][0] = true;
            }
        }
    }
    if (freq) {
        torch::Tensor mask = freqMask;
        if (!validFrames.empty()) {
            // Padding frames keep their value in the masked bins too.
            const torch::Tensor valid = torch::tensor(
                std::vector<std::int64_t>(validFrames.begin(), validFrames.end()), torch::kInt64);
            const torch::Tensor rows = torch::arange(frames, torch::kInt64);
            mask = mask.logical_and(rows.view({ 1, frames, 1 }).lt(valid.view({ batch, 1, 1 })));
        }
        features.masked_fill_(mask.to(features.device()), 0.0);
    }
    if (time)
        features.masked_fill_(timeMask.to(features.device()), 0.0);
}

MixupResult mixup(const torch::Tensor &features, const torch::Tensor &oneHotTargets,
    const AugmentOptions &options, Rng &rng)
{
    if (!features.defined() || features.dim() < 1 || !oneHotTargets.defined()
        || oneHotTargets.dim() != 2 || oneHotTargets.size(0) != features.size(0))
        throw Error(ErrorKind::Usage,
            "mixup needs features [B, ...] and one-hot targets [B, C] with the same B");
    const std::int64_t batch = features.size(0);
    MixupResult result;
    result.features = features;
    result.targets =
        oneHotTargets.is_floating_point() ? oneHotTargets : oneHotTargets.to(torch::kFloat32);
    result.lambda = 1.0;
    result.permutation.resize(std::size_t(batch));
    std::iota(result.permutation.begin(), result.permutation.end(), std::int64_t(0));
    // Draw order: u (apply?), then Gamma X, Gamma Y, then the permutation (Fisher-Yates).
    if (!(options.mixupAlpha > 0.0))
        return result;
    if (rng.uniform() >= options.mixupProbability)
        return result;
    const double logX = logGamma(options.mixupAlpha, rng);
    const double logY = logGamma(options.mixupAlpha, rng);
    // X / (X + Y) without forming X or Y.
    result.lambda = 1.0 / (1.0 + std::exp(logY - logX));
    rng.shuffle(result.permutation);

    const torch::Tensor index = torch::tensor(result.permutation, torch::kInt64);
    const double lambda = result.lambda;
    result.features =
        lambda * features + (1.0 - lambda) * features.index_select(0, index.to(features.device()));
    result.targets = lambda * result.targets
        + (1.0 - lambda) * result.targets.index_select(0, index.to(result.targets.device()));
    return result;
}

void augmentWaveform(std::vector<float> &wave, int sampleRate,
    const std::vector<std::vector<float>> &noise, const AugmentOptions &options, Rng &rng)
{
    if (sampleRate <= 0)
        throw Error(ErrorKind::Usage, "augmentWaveform needs a sample rate > 0");
    if (options.shiftSeconds < 0 || options.gainDb < 0 || options.noiseProbability < 0
        || options.noiseSnrMin > options.noiseSnrMax)
        throw Error(ErrorKind::Usage,
            "augmentWaveform: shift and gain must be >= 0 and noiseSnrMin <= noiseSnrMax");
    const std::size_t n = wave.size();

    // Shift: one draw, an integer uniform in [-max, max] samples; positive moves samples later.
    if (options.shiftSeconds > 0) {
        const auto maxShift = std::int64_t(std::floor(options.shiftSeconds * sampleRate));
        const std::int64_t shift =
            std::int64_t(rng.below(std::uint64_t(2 * maxShift + 1))) - maxShift;
        if (n > 1) {
            const auto right =
                std::size_t(((shift % std::int64_t(n)) + std::int64_t(n))) % n; // in [0, n)
            std::rotate(wave.begin(), wave.begin() + std::ptrdiff_t(n - right), wave.end());
        }
    }

    // Gain: one draw, uniform in [-gainDb, gainDb) dB.
    if (options.gainDb > 0) {
        const double db = (2.0 * rng.uniform() - 1.0) * options.gainDb;
        const auto factor = float(std::pow(10.0, db / 20.0));
        for (float &x : wave)
            x *= factor;
    }

    // Noise: u (apply?), then the clip index, the SNR in dB and the excerpt's start. Drawn
    // whether or not the clip is silent, so the stream does not depend on the audio.
    if (options.noiseProbability > 0 && !noise.empty()) {
        if (rng.uniform() >= options.noiseProbability)
            return;
        const std::vector<float> &source = noise[std::size_t(rng.below(noise.size()))];
        const double snrDb =
            options.noiseSnrMin + rng.uniform() * (options.noiseSnrMax - options.noiseSnrMin);
        if (source.empty() || n == 0)
            return;
        // An excerpt of n samples from a random start; a noise clip shorter than the clip is
        // repeated (circularly).
        const std::size_t start = source.size() >= n ? std::size_t(rng.below(source.size() - n + 1))
                                                     : std::size_t(rng.below(source.size()));
        std::vector<double> excerpt(n);
        for (std::size_t i = 0; i < n; ++i)
            excerpt[i] = source[(start + i) % source.size()];
        std::vector<double> signal(wave.begin(), wave.end());
        const double signalPower = powerOf(signal);
        const double noisePower = powerOf(excerpt);
        // A silent clip has no level to measure the SNR against; silent noise adds nothing.
        if (!(signalPower > 0.0) || !(noisePower > 0.0))
            return;
        // Power of scale * noise = signalPower / 10^(snr / 10).
        const double scale = std::sqrt(signalPower / (noisePower * std::pow(10.0, snrDb / 10.0)));
        for (std::size_t i = 0; i < n; ++i)
            wave[i] = float(signal[i] + scale * excerpt[i]);
    }
}

} // namespace astpeft::core
