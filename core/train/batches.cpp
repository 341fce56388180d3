// SPDX-License-Identifier: MIT
// Training inputs and batches (see batches.h). Feature extraction fans out to one std::thread
// per core.
#include "train/batches.h"

#include "audio/audio_file.h"
#include "error.h"
#include "train/augment_torch.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <thread>

namespace astpeft::core::detail {

namespace fs = std::filesystem;

std::vector<fs::path> noiseFileList(const std::vector<fs::path> &fromDataset,
    const std::vector<fs::path> &given, std::vector<SkippedFile> &skipped)
{
    std::vector<fs::path> files = fromDataset;
    auto add = [&files](const fs::path &file) {
        if (std::find(files.begin(), files.end(), file) == files.end())
            files.push_back(file);
    };
    for (const fs::path &path : given) {
        std::error_code error;
        if (fs::is_directory(path, error)) {
            std::vector<fs::path> inside;
            for (const fs::directory_entry &entry : fs::directory_iterator(path, error))
                if (entry.is_regular_file(error) && hasAudioExtension(entry.path()))
                    inside.push_back(entry.path());
            std::sort(inside.begin(), inside.end());
            if (inside.empty())
                skipped.push_back({ path, "noise folder without audio files" });
            std::for_each(inside.begin(), inside.end(), add);
        } else if (fs::exists(path, error)) {
            add(path);
        } else {
            skipped.push_back({ path, "noise file not found" });
        }
    }
    return files;
}

Prepared prepare(const std::vector<Clip> &clips, const FrontEnd &frontEnd, int channel,
    FeatureCache &cache, bool keepWaves, std::vector<SkippedFile> &skipped, TrainObserver *observer,
    std::stop_token stop)
{
    const std::size_t n = clips.size();
    std::vector<FeatureMatrix> features(n);
    std::vector<std::vector<float>> waves(keepWaves ? n : 0);
    std::vector<std::string> errors(n);
    std::atomic<std::size_t> next { 0 }, done { 0 };
    auto one = [&](std::size_t i) {
        try {
            if (keepWaves) {
                Audio audio = decodeAudio(
                    clips[i].file, { .targetRate = frontEnd.fbank.sampleRate, .channel = channel });
                features[i] = extractFeatures(audio.samples, frontEnd);
                waves[i] = std::move(audio.samples);
            } else {
                features[i] = cache.features(clips[i].file, frontEnd, channel);
            }
        } catch (const Error &e) {
            errors[i] = e.reason();
        } catch (const std::exception &e) {
            errors[i] = e.what();
        }
        ++done;
    };
    const unsigned threads = std::max(1u, std::min(std::thread::hardware_concurrency(), 8u));
    {
        std::vector<std::jthread> pool;
        for (unsigned t = 1; t < threads; ++t)
            pool.emplace_back([&] {
                for (std::size_t i = next++; i < n && !stop.stop_requested(); i = next++)
                    one(i);
            });
        // The calling thread works too and reports progress between clips.
        for (std::size_t i = next++; i < n && !stop.stop_requested(); i = next++) {
            one(i);
            if (observer && (i % 16 == 0))
                observer->onProgress(
                    { ProgressPhase::Features, std::int64_t(done.load()), std::int64_t(n) });
        }
    }
    if (observer)
        observer->onProgress({ ProgressPhase::Features, std::int64_t(n), std::int64_t(n) });

    Prepared p;
    const std::int64_t frames = frontEnd.maxLength;
    const int bins = frontEnd.fbank.numMelBins;
    std::vector<std::size_t> ok;
    for (std::size_t i = 0; i < n; ++i) {
        if (!errors[i].empty()) {
            skipped.push_back({ clips[i].file, "unreadable: " + errors[i] });
            p.failures.emplace_back(clips[i].label, clips[i].file.string() + ": " + errors[i]);
        } else if (features[i].frames == frames && features[i].bins == bins)
            ok.push_back(i);
        else if (!stop.stop_requested())
            skipped.push_back({ clips[i].file, "unexpected feature shape" });
    }
    p.features = torch::empty({ std::int64_t(ok.size()), frames, bins });
    p.labels = torch::empty({ std::int64_t(ok.size()) }, torch::kInt64);
    float *dst = p.features.data_ptr<float>();
    auto *label = p.labels.data_ptr<std::int64_t>();
    for (std::size_t k = 0; k < ok.size(); ++k) {
        const Clip &clip = clips[ok[k]];
        std::copy(features[ok[k]].data.begin(), features[ok[k]].data.end(),
            dst + std::int64_t(k) * frames * bins);
        label[k] = clip.label;
        p.clips.push_back(clip);
        const std::int64_t samples = std::llround(clip.seconds * frontEnd.fbank.sampleRate);
        p.validFrames.push_back(
            std::clamp<std::int64_t>(fbankFrameCount(samples, frontEnd.fbank), 1, frames));
        if (keepWaves)
            p.waves.push_back(std::move(waves[ok[k]]));
    }
    return p;
}

std::vector<std::vector<float>> loadNoise(const TrainOptions &options,
    const std::vector<fs::path> &fromDataset, int sampleRate, std::vector<SkippedFile> &skipped)
{
    std::vector<std::vector<float>> noise;
    if (!options.augment.waveform() || options.augment.noiseProbability <= 0)
        return noise;
    for (const fs::path &file : noiseFileList(fromDataset, options.noiseFiles, skipped)) {
        try {
            noise.push_back(decodeAudio(file, { .targetRate = sampleRate }).samples);
        } catch (const Error &e) {
            skipped.push_back({ file, "unreadable noise: " + e.reason() });
        }
    }
    return noise;
}

fs::path featureCacheOf(const TrainOptions &o)
{
    if (!o.useFeatureCache)
        return {};
    return o.featureCache.empty() ? defaultFeatureCacheDir() : o.featureCache;
}

int resolveMaxLength(
    const TrainOptions &o, const std::vector<Clip> &train, const AstConfig &config, int rate)
{
    if (o.maxLength > 0)
        return o.maxLength;
    double longest = 0.0;
    for (const Clip &c : train)
        longest = std::max(longest, c.seconds);
    FbankOptions fbank;
    fbank.sampleRate = rate;
    const std::int64_t frames = fbankFrameCount(std::llround(longest * rate), fbank);
    const int rounded = int((std::max<std::int64_t>(frames, 16) + 9) / 10 * 10);
    return std::min(rounded, config.maxLength);
}

std::vector<std::int64_t> epochOrder(std::int64_t n, std::uint64_t seed, int epoch)
{
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    Rng shuffle = rngFor(seed, std::uint64_t(epoch), 1);
    shuffle.shuffle(order);
    return order;
}

Batch BatchSource::make(
    const std::vector<std::int64_t> &order, std::int64_t from, std::int64_t to, Rng &rng) const
{
    const torch::Tensor index = torch::from_blob(const_cast<std::int64_t *>(order.data()) + from,
        { to - from }, torch::TensorOptions().dtype(torch::kInt64))
                                    .clone();
    Batch batch;
    if (augment.waveform()) {
        std::vector<float> samples;
        for (std::int64_t k = from; k < to; ++k) {
            std::vector<float> wave = data.waves[std::size_t(order[std::size_t(k)])];
            augmentWaveform(wave, frontEnd.fbank.sampleRate, noise, augment, rng);
            const FeatureMatrix f = extractFeatures(wave, frontEnd);
            samples.insert(samples.end(), f.data.begin(), f.data.end());
        }
        batch.x = torch::from_blob(samples.data(),
            { to - from, std::int64_t(frontEnd.maxLength), frontEnd.fbank.numMelBins })
                      .clone();
    } else {
        batch.x = inputs.index_select(0, index);
    }
    batch.y = data.labels.index_select(0, index);
    if (augment.specAugment()) {
        std::vector<std::int64_t> valid;
        for (std::int64_t k = from; k < to; ++k)
            valid.push_back(data.validFrames[std::size_t(order[std::size_t(k)])]);
        specAugment(batch.x, augment, rng, valid);
    }
    if (augment.mixupAlpha > 0) {
        MixupResult mixed =
            mixup(batch.x, torch::one_hot(batch.y, numClasses).to(torch::kFloat32), augment, rng);
        batch.x = mixed.features;
        batch.target = mixed.targets;
    }
    if (pinned) {
        batch.x = batch.x.pin_memory();
        if (batch.target.defined())
            batch.target = batch.target.pin_memory();
    }
    return batch;
}

} // namespace astpeft::core::detail
