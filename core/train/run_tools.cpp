// SPDX-License-Identifier: MIT
// What works on a run's inputs or a finished run folder outside train(): the input pipeline
// benchmark, evaluation on a split, and the merged export (see trainer.h).
#include "train/trainer.h"

#include "error.h"
#include "io/atomic_file.h"
#include "model/checkpoint.h"
#include "peft/adapter_io.h"
#include "runtime/runtime.h"
#include "train/batches.h"
#include "train/runner.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>

namespace astpeft::core {

using namespace detail;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// Maps dataset labels onto `labels` (the adapter's), for evaluation on another copy of a
// dataset; clips whose label the adapter does not know are skipped.
std::vector<Clip> relabel(const Dataset &dataset, const std::vector<Clip> &clips,
    const std::vector<std::string> &labels, std::vector<SkippedFile> &skipped)
{
    std::vector<Clip> out;
    for (Clip clip : clips) {
        const std::string &name = dataset.labels[std::size_t(clip.label)];
        const auto it = std::find(labels.begin(), labels.end(), name);
        if (it == labels.end()) {
            skipped.push_back({ clip.file, "label '" + name + "' is not one of the adapter's" });
            continue;
        }
        clip.label = int(it - labels.begin());
        out.push_back(clip);
    }
    return out;
}

// A run folder's options and best adapter, loaded onto its backbone (`model` empty: the run's
// own) with the input length and position handling it was trained with.
struct LoadedRun
{
    TrainOptions options;
    AdapterManifest manifest;
    AstForAudioClassification model { nullptr };
};

LoadedRun loadRun(const std::filesystem::path &run, const std::filesystem::path &model)
{
    TrainOptions options = readRunOptions(run);
    AdapterManifest manifest = loadAdapterManifest(run);
    const std::filesystem::path modelDir = resolveModelDir(model.empty() ? options.model : model);
    // Checked against the backbone before anything is sized from it.
    checkAdapterFits(manifest, loadAstConfig(modelDir), run / kAdapterConfigFile);
    AstForAudioClassification loaded =
        loadAstCheckpoint(modelDir, { manifest.frontEnd.maxLength, manifest.positions }).model;
    loadAdapter(loaded, run, backboneFingerprint(modelDir));
    return { std::move(options), std::move(manifest), loaded };
}

} // namespace

PipelineBenchmark benchmarkInputPipeline(const TrainOptions &options, double minSeconds)
{
    if (options.batchSize < 1)
        throw Error(ErrorKind::Usage, "batch size must be at least 1");
    Dataset dataset = importDataset(options.data, options.import);
    assignSplits(dataset, options.split);
    const std::vector<Clip> clips = clipsOf(dataset, Split::Train);
    if (clips.empty())
        throw Error(ErrorKind::Usage, "the training split is empty", options.data);
    AstConfig config = loadAstConfig(resolveModelDir(options.model));
    config.maxLength = resolveMaxLength(options, clips, config, config.samplingRate);
    const FrontEnd frontEnd = frontEndOf(config);
    FeatureCache cache(featureCacheOf(options));
    std::vector<SkippedFile> skipped = dataset.skipped;
    const Prepared data = prepare(
        clips, frontEnd, options.channel, cache, options.augment.waveform(), skipped, nullptr, {});
    if (data.size() == 0)
        throw Error(ErrorKind::Usage, "no readable training clip", options.data);
    const std::vector<std::vector<float>> noise =
        loadNoise(options, dataset.noise, frontEnd.fbank.sampleRate, skipped);
    const BatchSource source { data, data.features, noise, options.augment, frontEnd,
        int(dataset.labels.size()), false };

    PipelineBenchmark result;
    result.waveform = options.augment.waveform();
    const Clock::time_point start = Clock::now();
    for (int epoch = 1; result.samples == 0 || secondsSince(start) < minSeconds; ++epoch) {
        const std::vector<std::int64_t> order = epochOrder(data.size(), options.seed, epoch);
        Rng rng = rngFor(options.seed, std::uint64_t(epoch), 2);
        for (std::int64_t from = 0;
             from < data.size() && (result.samples == 0 || secondsSince(start) < minSeconds);
             from += options.batchSize)
            result.samples +=
                source.make(order, from, std::min(data.size(), from + options.batchSize), rng)
                    .y.size(0);
    }
    result.seconds = secondsSince(start);
    result.samplesPerSecond = double(result.samples) / result.seconds;
    return result;
}

EvalResult evaluateRun(const EvalOptions &options, TrainObserver *observer)
{
    LoadedRun loaded = loadRun(options.run, options.model);
    const TrainOptions &run = loaded.options;
    const AdapterManifest &manifest = loaded.manifest;
    AstForAudioClassification model = loaded.model;
    const torch::Device device(resolveDevice(options.device));
    model->to(device);

    Dataset dataset = importDataset(options.data.empty() ? run.data : options.data, run.import);
    assignSplits(dataset, run.split);
    EvalResult result;
    result.labels = manifest.labels;
    result.skipped = dataset.skipped;
    const std::vector<Clip> inSplit = clipsOf(dataset, options.split);
    const std::size_t skippedBefore = result.skipped.size();
    const std::vector<Clip> clips = relabel(dataset, inSplit, manifest.labels, result.skipped);
    if (clips.empty() && !inSplit.empty()) {
        // Not "empty": the clips are there, under labels the adapter does not have.
        const SkippedFile &first = result.skipped[skippedBefore];
        throw Error(ErrorKind::Format,
            "no clip of the " + enumName(options.split) + " split has one of the adapter's labels ("
                + std::to_string(inSplit.size()) + (inSplit.size() == 1 ? " clip" : " clips")
                + "; first: " + first.file.string() + ": " + first.reason + ")",
            options.data.empty() ? run.data : options.data);
    }
    if (clips.empty())
        throw Error(ErrorKind::Usage,
            "the " + enumName(options.split) + " split of the dataset is empty",
            options.data.empty() ? run.data : options.data);
    FeatureCache cache(featureCacheOf(run));
    const Prepared data =
        prepare(clips, manifest.frontEnd, run.channel, cache, false, result.skipped, observer, {});
    if (data.size() == 0) {
        // Not "accuracy 0.0%": nothing was evaluated.
        throw Error(ErrorKind::Format,
            "no clip of the " + enumName(options.split) + " split could be read ("
                + std::to_string(clips.size()) + (clips.size() == 1 ? " clip" : " clips")
                + (data.failures.empty() ? std::string()
                                         : "; first: " + data.failures.front().second)
                + ")",
            options.data.empty() ? run.data : options.data);
    }
    Runner runner { model, device, Precision::F32, false };
    const EvalOutput out = runner.evaluate(data, int(manifest.labels.size()),
        options.batchSize > 0 ? options.batchSize : run.batchSize);
    result.metrics = out.metrics;
    result.loss = out.loss;
    return result;
}

void exportMergedRun(const std::filesystem::path &run, const std::filesystem::path &model,
    const std::filesystem::path &out, DType dtype)
{
    LoadedRun loaded = loadRun(run, model);
    saveMergedCheckpoint(loaded.model, loaded.manifest, out, dtype);
}

} // namespace astpeft::core
