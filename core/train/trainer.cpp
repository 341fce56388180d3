// SPDX-License-Identifier: MIT
// The training loop (see trainer.h). Runs on the caller's thread; feature extraction fans out
// to one std::thread per core.
#include "train/trainer.h"

#include "audio/audio_file.h"
#include "data/feature_cache.h"
#include "error.h"
#include "io/atomic_file.h"
#include "io/json_reader.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "peft/adapter_io.h"
#include "peft/peft_modules.h"
#include "random.h"
#include "runtime/autocast.h"
#include "runtime/runtime.h"
#include "runtime/torch_compat.h"
#include "train/augment_torch.h"
#include "train/optimizer.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <future>
#include <numeric>
#include <sstream>
#include <thread>

namespace astpeft::core {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

double secondsSince(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// The noise clips to mix in: the dataset's own, then options.noiseFiles with each folder
// replaced by its audio files (sorted; not recursive). Paths that do not exist, and folders
// without audio, go to `skipped` with the reason; a path listed twice is used once.
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

// One training batch, made on the CPU (see makeBatch in train()).
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
                observer->onProgress({ ProgressPhase::Features, std::int64_t(done.load()), std::int64_t(n) });
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

// The decoded noise clips for waveform augmentation (none when it mixes no noise): the dataset's
// own and options.noiseFiles (noiseFileList); unreadable ones go to `skipped`.
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

// The feature cache folder a run uses; empty (no cache) when it uses none.
fs::path featureCacheOf(const TrainOptions &o)
{
    if (!o.useFeatureCache)
        return {};
    return o.featureCache.empty() ? defaultFeatureCacheDir() : o.featureCache;
}

// The order of the n training clips in `epoch` (1-based): a shuffle seeded per epoch, so a
// resumed run continues exactly. Augmentation draws from rngFor(seed, epoch, 2).
std::vector<std::int64_t> epochOrder(std::int64_t n, std::uint64_t seed, int epoch)
{
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    Rng shuffle = rngFor(seed, std::uint64_t(epoch), 1);
    shuffle.shuffle(order);
    return order;
}

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
        const std::vector<std::int64_t> &order, std::int64_t from, std::int64_t to, Rng &rng) const
    {
        const torch::Tensor index =
            torch::from_blob(const_cast<std::int64_t *>(order.data()) + from, { to - from },
                torch::TensorOptions().dtype(torch::kInt64))
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
            MixupResult mixed = mixup(
                batch.x, torch::one_hot(batch.y, numClasses).to(torch::kFloat32), augment, rng);
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
};

struct TrainerState
{
    int epoch = 0; // finished epochs
    std::int64_t step = 0;
    int bestEpoch = 0;
    double bestAccuracy = -1.0, bestLoss = 0.0;
    int staleEpochs = 0;
    std::uintmax_t metricsBytes = 0;
    double seconds = 0.0;
    double lossScale = 65536.0;
    std::int64_t goodSteps = 0;
};

constexpr const char *kStateFile = "trainer_state.json";
constexpr const char *kOptimizerFile = "optimizer.safetensors";

std::string stateJson(const TrainerState &s)
{
    return json {
        { "format", "astpeft-trainer-state" }, { "epoch", s.epoch }, { "step", s.step },
        { "best_epoch", s.bestEpoch }, { "best_val_accuracy", s.bestAccuracy },
        { "best_val_loss", s.bestLoss }, { "stale_epochs", s.staleEpochs },
        { "metrics_bytes", s.metricsBytes }, { "seconds", s.seconds },
        { "loss_scale", s.lossScale }, { "good_steps", s.goodSteps }
    }.dump(2)
        + "\n";
}

TrainerState parseState(const std::filesystem::path &file)
{
    const json j =
        parseFormatDocument(readTextFile(file), file, "astpeft-trainer-state", "a trainer state");
    const JsonReader r { j, file };
    TrainerState s;
    s.epoch = r.integer(j, "epoch", "epoch", 1);
    s.step = r.at(j, "step", "step").get<std::int64_t>();
    s.bestEpoch = r.integer(j, "best_epoch", "best_epoch", 0);
    s.bestAccuracy = r.number(j, "best_val_accuracy", "best_val_accuracy");
    s.bestLoss = r.number(j, "best_val_loss", "best_val_loss");
    s.staleEpochs = r.integer(j, "stale_epochs", "stale_epochs", 0);
    s.metricsBytes = r.at(j, "metrics_bytes", "metrics_bytes").get<std::uintmax_t>();
    s.seconds = r.number(j, "seconds", "seconds");
    s.lossScale = r.number(j, "loss_scale", "loss_scale");
    s.goodSteps = r.at(j, "good_steps", "good_steps").get<std::int64_t>();
    return s;
}

// Optimizer moments under "exp_avg.<param>" / "exp_avg_sq.<param>", float32.
void saveOptimizer(const AdamW &opt, const std::filesystem::path &file)
{
    std::vector<torch::Tensor> keep;
    std::vector<TensorToWrite> tensors;
    auto add = [&](const std::string &name, const torch::Tensor &t) {
        keep.push_back(t.detach().to(torch::kCPU, torch::kFloat32).contiguous());
        const torch::Tensor &c = keep.back();
        tensors.push_back({ name, DType::F32, c.sizes().vec(),
            std::span<const std::byte>(
                static_cast<const std::byte *>(c.data_ptr()), std::size_t(c.nbytes())) });
    };
    for (std::size_t i = 0; i < opt.params.size(); ++i) {
        add("exp_avg." + opt.names[i], opt.m[i]);
        add("exp_avg_sq." + opt.names[i], opt.v[i]);
    }
    writeSafetensors(file, tensors, { { "step", std::to_string(opt.step) } });
}

void loadOptimizer(AdamW &opt, const std::filesystem::path &file)
{
    const SafetensorsFile f(file);
    std::vector<std::string> missing, misshaped;
    torch::NoGradGuard noGrad;
    for (std::size_t i = 0; i < opt.params.size(); ++i) {
        for (auto [prefix, target] :
            { std::pair { "exp_avg.", &opt.m[i] }, std::pair { "exp_avg_sq.", &opt.v[i] } }) {
            const std::string name = prefix + opt.names[i];
            const TensorInfo *info = f.find(name);
            if (!info)
                missing.push_back(name);
            else if (info->shape != target->sizes().vec())
                misshaped.push_back(name);
            else
                target->copy_(loadTensor(f, *info));
        }
    }
    throwIfTensorsMismatch("the optimizer state does not match the run's trainable parameters",
        missing, {}, misshaped, file);
    const auto step = f.metadata().find("step");
    if (step == f.metadata().end())
        throw Error(ErrorKind::Format, "no step in the optimizer state's metadata", file);
    opt.step = std::stoll(step->second);
}

// Replaces `dir` by a folder written completely under a temporary name, so a crash or a full
// disk leaves either the old or the new checkpoint, never a mix. `write` fills the folder.
template<typename Write> void replaceFolder(const std::filesystem::path &dir, Write write)
{
    namespace fs = std::filesystem;
    const fs::path tmp = dir.string() + ".tmp";
    const fs::path old = dir.string() + ".old";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    createDirectories(tmp);
    write(tmp);
    fs::remove_all(old, ec);
    if (fs::exists(dir))
        fs::rename(dir, old);
    fs::rename(tmp, dir);
    fs::remove_all(old, ec);
}

// The checkpoint folder to resume from: `last`, or `last.old` when a replacement was cut short.
std::filesystem::path findCheckpoint(const std::filesystem::path &run)
{
    const std::filesystem::path last = run / RunFiles::lastCheckpoint;
    if (std::filesystem::exists(last / kStateFile))
        return last;
    const std::filesystem::path old = last.string() + ".old";
    if (std::filesystem::exists(old / kStateFile))
        return old;
    return {};
}

// Appends JSON lines to metrics.jsonl, flushed after each line.
class MetricsLog
{
public:
    MetricsLog() = default;
    void open(const std::filesystem::path &file, bool append)
    {
        m_file = file;
        m_out.open(file, append ? std::ios::binary | std::ios::app : std::ios::binary);
        if (!m_out)
            throw Error(ErrorKind::Io, "cannot write the metrics log", file);
    }
    void write(const std::string &line)
    {
        if (!m_out.is_open())
            return;
        m_out << line << '\n';
        m_out.flush();
        if (!m_out)
            throw Error(ErrorKind::Io, "cannot write the metrics log (disk full?)", m_file);
    }
    std::uintmax_t bytes() { return m_out.is_open() ? std::uintmax_t(m_out.tellp()) : 0; }

private:
    std::filesystem::path m_file;
    std::ofstream m_out;
};

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

    torch::Tensor forward(const torch::Tensor &input)
    {
        const AutocastGuard autocast(device, precision);
        torch::Tensor logits;
        if (fromEncoded)
            logits = model->classifier(model->audio_spectrogram_transformer->layernorm(input));
        else
            logits = model->forward(input);
        return logits.to(torch::kFloat32);
    }

    // The frozen encoder's output (before the final LayerNorm) for every clip, in batches.
    torch::Tensor encode(const torch::Tensor &features, int batchSize, std::stop_token stop)
    {
        torch::NoGradGuard noGrad;
        model->eval();
        std::vector<torch::Tensor> parts;
        for (std::int64_t i = 0; i < features.size(0) && !stop.stop_requested(); i += batchSize) {
            const torch::Tensor x =
                features.slice(0, i, std::min(features.size(0), i + batchSize)).to(device);
            const AutocastGuard autocast(device, precision);
            auto &ast = model->audio_spectrogram_transformer;
            parts.push_back(ast->encoder(ast->embeddings(x)).to(torch::kCPU, torch::kFloat32));
        }
        model->train();
        return parts.empty() ? torch::Tensor() : torch::cat(parts);
    }

    EvalOutput evaluate(const Prepared &data, int numClasses, int batchSize)
    {
        torch::NoGradGuard noGrad;
        model->eval();
        const torch::Tensor &inputs = fromEncoded ? data.encoded : data.features;
        std::vector<int> truth, predicted;
        std::vector<ClipPrediction> predictions;
        double lossSum = 0.0;
        for (std::int64_t i = 0; i < data.size(); i += batchSize) {
            const std::int64_t end = std::min(data.size(), i + batchSize);
            const torch::Tensor logits = forward(inputs.slice(0, i, end).to(device));
            const torch::Tensor y = data.labels.slice(0, i, end).to(device);
            lossSum += torch::nn::functional::cross_entropy(
                logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                           .item<double>();
            const torch::Tensor best = logits.argmax(1);
            const torch::Tensor argmax = best.to(torch::kCPU).contiguous();
            const torch::Tensor confidence = torch::softmax(logits, 1)
                                                 .gather(1, best.unsqueeze(1))
                                                 .squeeze(1)
                                                 .to(torch::kCPU, torch::kFloat32)
                                                 .contiguous();
            const auto *p = argmax.data_ptr<std::int64_t>();
            const auto *c = confidence.data_ptr<float>();
            const auto *t = data.labels.data_ptr<std::int64_t>();
            for (std::int64_t k = 0; k < end - i; ++k) {
                truth.push_back(int(t[i + k]));
                predicted.push_back(int(p[k]));
                predictions.push_back(
                    { data.clips[std::size_t(i + k)].file, truth.back(), predicted.back(), c[k] });
            }
        }
        model->train();
        EvalOutput out;
        out.predictions = std::move(predictions);
        out.metrics = computeMetrics(truth, predicted, numClasses);
        out.loss = data.size() ? lossSum / double(data.size()) : 0.0;
        return out;
    }
};

void validate(const TrainOptions &o)
{
    auto fail = [](const std::string &m) { throw Error(ErrorKind::Usage, m); };
    if (o.model.empty())
        fail("no model given (--model)");
    if (o.data.empty())
        fail("no dataset given (--data)");
    if (o.out.empty())
        fail("no run folder given (--out)");
    if (o.epochs < 1)
        fail("epochs must be at least 1");
    if (o.batchSize < 1)
        fail("batch size must be at least 1");
    if (o.accumulation < 1)
        fail("accumulation must be at least 1");
    if (o.learningRate < 0 || !std::isfinite(o.learningRate))
        fail("the learning rate must be a positive number");
    if (o.warmupSteps < 0 || o.patience < 0 || o.clipGradNorm < 0 || o.maxLength < 0)
        fail("warm-up, patience, gradient clipping and max length cannot be negative");
    if (o.split.validationFraction < 0 || o.split.testFraction < 0
        || o.split.validationFraction + o.split.testFraction >= 1.0)
        fail("validation and test fractions must be >= 0 and sum to less than 1");
    const AugmentOptions &a = o.augment;
    if (a.freqMaskParam < 0 || a.timeMaskParam < 0 || a.mixupAlpha < 0 || a.noiseProbability < 0
        || a.noiseProbability > 1 || a.shiftSeconds < 0 || a.gainDb < 0
        || a.noiseSnrMin > a.noiseSnrMax)
        fail("augmentation settings out of range");
}

// Fields that may change between a run and its resumption.
bool resumableDifference(const std::string &key)
{
    static const char *allowed[] = { "epochs", "out", "command", "device", "patience",
        "evaluate_test", "feature_cache", "use_feature_cache" };
    return std::find(std::begin(allowed), std::end(allowed), key) != std::end(allowed);
}

void checkResumeOptions(const TrainOptions &now, const std::filesystem::path &file)
{
    const json before = json::parse(readTextFile(file));
    const json after = json::parse(trainOptionsJson(now));
    std::string differences;
    for (const auto &[key, value] : after.items())
        if (!resumableDifference(key) && (!before.contains(key) || before[key] != value))
            differences += (differences.empty() ? "" : ", ") + key;
    if (!differences.empty())
        throw Error(ErrorKind::Usage,
            "cannot resume: these options differ from the run's options.json: " + differences
                + " (only epochs, device, patience and the caches may change)",
            file);
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

} // namespace

Precision defaultTrainingPrecision(const std::string &device)
{
    return compat::cudaSupportsBf16(torch::Device(device)) ? Precision::BF16 : Precision::F32;
}

FinishedEvent train(const TrainOptions &options, TrainObserver &observer, std::stop_token stop,
    TrainControl *control)
{
    namespace fs = std::filesystem;
    const Clock::time_point started = Clock::now();
    validate(options);
    const fs::path run = options.out;

    // --- Checks before the run folder is touched -------------------------------------------
    const bool existing = fs::exists(run / RunFiles::metrics);
    fs::path checkpoint;
    if (options.resume) {
        checkpoint = findCheckpoint(run);
        if (checkpoint.empty())
            throw Error(ErrorKind::Usage,
                "nothing to resume: no finished epoch in the run folder (checkpoints/last)", run);
        checkResumeOptions(options, run / RunFiles::options);
    } else if (existing) {
        throw Error(ErrorKind::Usage,
            "the folder already holds a run (metrics.jsonl); resume it with --resume or choose "
            "another --out",
            run);
    }
    if (fs::exists(run) && !fs::is_directory(run))
        throw Error(ErrorKind::Io, "the run folder is a file", run);

    Dataset dataset = importDataset(options.data, options.import);
    assignSplits(dataset, options.split);
    const std::vector<std::string> &labels = dataset.labels;
    const int numClasses = int(labels.size());
    if (numClasses < 2)
        throw Error(ErrorKind::Usage,
            "a classifier needs at least 2 classes; the dataset has " + std::to_string(numClasses),
            options.data);
    const std::vector<Clip> trainClips = clipsOf(dataset, Split::Train);
    const std::vector<Clip> valClips = clipsOf(dataset, Split::Validation);
    const std::vector<Clip> testClips = clipsOf(dataset, Split::Test);

    const fs::path modelDir = resolveModelDir(options.model);
    const AstConfig probeConfig = loadAstConfig(modelDir);
    const int maxLength =
        resolveMaxLength(options, trainClips, probeConfig, probeConfig.samplingRate);
    LoadedAst loaded = loadAstCheckpoint(modelDir, { maxLength, options.positions });
    const std::string fingerprint = backboneFingerprint(modelDir);

    PeftConfig peft = options.peft;
    if (!options.budget.empty())
        peft = solveBudget(loaded.config, peft,
            parseBudget(options.budget, backboneParameterCount(loaded.config)), numClasses);
    const std::string deviceName = resolveDevice(options.device);
    const torch::Device device(deviceName);
    if (device.is_cuda())
        compat::allowTf32();
    if (options.precision == Precision::F16 && device.is_cpu())
        throw Error(ErrorKind::Usage, "fp16 training needs a CUDA device; use fp32 or bf16 on CPU");
    if (options.precision == Precision::Int8)
        throw Error(ErrorKind::Usage,
            "int8 is for inference (predict, listen, timeline); train "
            "in fp32 or bf16");

    MetricsLog log;
    TrainerState state;
    if (options.resume)
        state = parseState(checkpoint / kStateFile);

    try {
        // --- Model ------------------------------------------------------------------------------
        AstForAudioClassification model = loaded.model;
        AdapterManifest manifest;
        manifest.peft = peft;
        manifest.labels = labels;
        manifest.positions = options.positions;
        manifest.frontEnd = frontEndOf(loaded.config);
        manifest.backboneFingerprint = fingerprint;
        manifest.hiddenSize = loaded.config.hiddenSize;
        manifest.numHiddenLayers = loaded.config.numHiddenLayers;
        if (options.resume)
            loadAdapter(model, checkpoint, fingerprint);
        else
            applyPeft(model, peft, labels, options.seed);
        model->audio_spectrogram_transformer->encoder->checkpointActivations =
            options.checkpointActivations;
        model->to(device);
        model->train();

        AdamW opt;
        opt.beta1 = options.beta1;
        opt.beta2 = options.beta2;
        opt.eps = options.eps;
        opt.weightDecay = options.weightDecay;
        for (const auto &item : model->named_parameters())
            if (item.value().requires_grad())
                opt.add(item.key(), item.value());
        if (options.resume)
            loadOptimizer(opt, checkpoint / kOptimizerFile);
        const std::int64_t trainable = countTrainable(*model);

        // --- Data -------------------------------------------------------------------------------
        FeatureCache cache(featureCacheOf(options));
        std::vector<SkippedFile> skipped = dataset.skipped;
        const bool waveAug = options.augment.waveform();
        Prepared trainData = prepare(trainClips, manifest.frontEnd, options.channel, cache, waveAug,
            skipped, &observer, stop);
        Prepared valData = prepare(
            valClips, manifest.frontEnd, options.channel, cache, false, skipped, &observer, stop);
        Prepared testData;
        if (options.evaluateTest && !testClips.empty())
            testData = prepare(testClips, manifest.frontEnd, options.channel, cache, false, skipped,
                &observer, stop);
        const std::vector<std::vector<float>> noise =
            loadNoise(options, dataset.noise, manifest.frontEnd.fbank.sampleRate, skipped);
        {
            std::vector<int> perClass(std::size_t(numClasses), 0);
            for (const Clip &c : trainData.clips)
                ++perClass[std::size_t(c.label)];
            for (int c = 0; c < numClasses && !stop.stop_requested(); ++c) {
                if (perClass[std::size_t(c)] != 0)
                    continue;
                std::string example;
                for (const auto &[label, why] : trainData.failures)
                    if (label == c) {
                        example = " (" + why + ")";
                        break;
                    }
                throw Error(ErrorKind::Usage,
                    "class '" + labels[std::size_t(c)]
                        + "' has no readable training clip after the split" + example,
                    options.data);
            }
        }

        // --- The run folder: created only now that the inputs are known to be usable ----------
        try {
            createDirectories(run);
            if (!options.resume) {
                writeFileAtomic(run / RunFiles::options, trainOptionsJson(options));
                writeFileAtomic(run / RunFiles::command, options.command + "\n");
            }
        } catch (const Error &e) {
            throw Error(ErrorKind::Io, "the run folder is not writable: " + e.reason(), run);
        }
        // Resuming drops what was logged after the checkpoint (an interrupted epoch), so the
        // log reads as if the run had never stopped.
        if (options.resume && fs::exists(run / RunFiles::metrics)
            && fs::file_size(run / RunFiles::metrics) > state.metricsBytes)
            fs::resize_file(run / RunFiles::metrics, state.metricsBytes);
        log.open(run / RunFiles::metrics, options.resume);

        const ImportEvent importEvent { .labels = labels,
            .summary = summarize(dataset),
            .skipped = skipped,
            .layout = dataset.layout,
            .maxLength = maxLength,
            .peft = peft,
            .parameters = countParameters(loaded.config, peft, numClasses),
            .device = deviceName };
        if (!options.resume)
            log.write(eventJson(importEvent));
        observer.onImport(importEvent);

        Runner runner { model, device, options.precision, false };
        const bool encoderCache = peft.method == PeftMethod::Linear && options.cacheEncoderOutputs
            && !options.augment.any();
        if (encoderCache && !stop.stop_requested()) {
            const auto &c = loaded.config;
            const std::int64_t tokens = 2
                + std::int64_t((c.numMelBins - c.patchSize) / c.frequencyStride + 1)
                    * ((maxLength - c.patchSize) / c.timeStride + 1);
            const std::int64_t bytes =
                (trainData.size() + valData.size() + testData.size()) * tokens * c.hiddenSize * 4;
            if (bytes <= options.cacheLimitBytes) {
                observer.onProgress({ ProgressPhase::EncoderCache, 0, trainData.size() });
                trainData.encoded = runner.encode(trainData.features, options.batchSize, stop);
                valData.encoded = runner.encode(valData.features, options.batchSize, stop);
                if (testData.size())
                    testData.encoded = runner.encode(testData.features, options.batchSize, stop);
                runner.fromEncoded = !stop.stop_requested();
                observer.onProgress({ ProgressPhase::EncoderCache, trainData.size(), trainData.size() });
            }
        }

        // --- Training ---------------------------------------------------------------------------
        const double baseRate =
            options.learningRate > 0 ? options.learningRate : paperLearningRate(peft.method);
        const std::int64_t n = trainData.size();
        const std::int64_t batches = (n + options.batchSize - 1) / options.batchSize;
        const std::int64_t stepsPerEpoch =
            (batches + options.accumulation - 1) / options.accumulation;
        const std::int64_t totalSteps = stepsPerEpoch * options.epochs;
        const bool f16 = options.precision == Precision::F16;
        const bool prefetch = options.prefetch < 0 ? device.is_cuda() : options.prefetch > 0;
        const bool pinned = device.is_cuda(); // page-locked batches copy asynchronously
        const BatchSource source { trainData,
            runner.fromEncoded ? trainData.encoded : trainData.features, noise, options.augment,
            manifest.frontEnd, numClasses, pinned };
        compat::resetPeakMemory(device);

        FinishedEvent finished;
        finished.method = methodName(peft.method);
        finished.trainableParameters = trainable;
        finished.runDir = run;
        finished.labels = labels;
        finished.epochsCompleted = state.epoch;
        finished.bestEpoch = state.bestEpoch;
        finished.bestValAccuracy = std::max(0.0, state.bestAccuracy);
        finished.reason = FinishReason::Completed;
        double lastEvalSeconds = 0.0;
        std::vector<std::pair<std::string, torch::Tensor>> best; // clones, for the test pass

        for (int epoch = state.epoch + 1; epoch <= options.epochs && !stop.stop_requested();
             ++epoch) {
            const Clock::time_point epochStart = Clock::now();
            double pausedSeconds = 0.0;
            const std::vector<std::int64_t> order = epochOrder(n, options.seed, epoch);
            Rng augRng = rngFor(options.seed, std::uint64_t(epoch), 2);

            double lossSum = 0.0, stepLoss = 0.0;
            std::int64_t correct = 0, seen = 0, inStep = 0, stepsThisEpoch = 0;
            // Batch b on the CPU. With `prefetch` (CUDA devices by default) batch b + 1 is made
            // on a second thread while b trains; batches are still made one at a time and in
            // order, so the draws and the results are those of the inline path.
            auto makeBatch = [&](std::int64_t b) {
                const std::int64_t from = b * options.batchSize;
                return source.make(order, from, std::min(n, from + options.batchSize), augRng);
            };
            std::future<Batch> ahead; // batch b + 1 while b trains (prefetch)
            for (std::int64_t b = 0; b < batches; ++b) {
                if (stop.stop_requested())
                    break;
                if (control && control->paused()) {
                    const Clock::time_point p = Clock::now();
                    if (!control->waitWhilePaused(stop))
                        break;
                    pausedSeconds += secondsSince(p);
                }
                Batch batch = ahead.valid() ? ahead.get() : makeBatch(b);
                if (prefetch && b + 1 < batches)
                    ahead = std::async(std::launch::async, makeBatch, b + 1);
                const std::int64_t size = batch.y.size(0);
                const torch::Tensor x = batch.x.to(device, /*non_blocking=*/pinned);
                const torch::Tensor target = batch.target.defined()
                    ? batch.target.to(device, /*non_blocking=*/pinned)
                    : torch::Tensor();
                const torch::Tensor logits = runner.forward(x);
                const torch::Tensor yd = batch.y.to(device);
                torch::Tensor loss = target.defined()
                    ? -(target * torch::log_softmax(logits, 1)).sum(1).mean()
                    : torch::nn::functional::cross_entropy(logits, yd);
                const double lossValue = loss.item<double>();
                if (!std::isfinite(lossValue) && !f16)
                    throw Error(ErrorKind::Internal,
                        "the loss is not finite at epoch " + std::to_string(epoch)
                            + "; lower the learning rate (--lr)");
                torch::Tensor scaled = loss / double(options.accumulation);
                if (f16)
                    scaled = scaled * state.lossScale;
                scaled.backward();
                lossSum += lossValue * double(size);
                stepLoss += lossValue;
                correct += (logits.argmax(1) == yd).sum().item<std::int64_t>();
                seen += size;
                ++inStep;
                if (inStep < options.accumulation && b + 1 < batches)
                    continue;

                // One optimizer step.
                bool apply = true;
                if (f16) { // fp16 runs on CUDA only: one fused unscale-and-check, one sync
                    torch::NoGradGuard noGrad;
                    std::vector<torch::Tensor> grads;
                    for (auto &p : opt.params)
                        if (p.grad().defined())
                            grads.push_back(p.grad());
                    torch::Tensor foundInf = torch::zeros({ 1 }, grads.front().options());
                    at::_amp_foreach_non_finite_check_and_unscale_(grads, foundInf,
                        torch::full({ 1 }, 1.0 / state.lossScale, grads.front().options()));
                    apply = foundInf.item<float>() == 0.0f;
                    if (!apply) {
                        state.lossScale /= 2;
                        state.goodSteps = 0;
                    } else if (++state.goodSteps % 2000 == 0) {
                        state.lossScale *= 2;
                    }
                }
                const double lr =
                    scheduledRate(baseRate, state.step, totalSteps, options.warmupSteps);
                if (apply) {
                    if (options.clipGradNorm > 0)
                        torch::nn::utils::clip_grad_norm_(opt.params, options.clipGradNorm);
                    opt.update(lr);
                }
                opt.zeroGrad();
                ++state.step;
                ++stepsThisEpoch;

                StepEvent step;
                step.epoch = epoch;
                step.step = state.step;
                step.totalSteps = totalSteps;
                step.loss = stepLoss / double(inStep);
                step.learningRate = lr;
                const double elapsed = std::max(1e-9, secondsSince(epochStart) - pausedSeconds);
                step.samplesPerSecond = double(seen) / elapsed;
                step.etaSeconds = elapsed / double(stepsThisEpoch) * double(totalSteps - state.step)
                    + lastEvalSeconds * double(options.epochs - epoch + 1);
                const compat::DeviceMemory memory = compat::deviceMemory(device);
                step.deviceMemoryBytes = memory.allocated;
                step.peakDeviceMemoryBytes = memory.peak;
                log.write(eventJson(step));
                observer.onStep(step);
                stepLoss = 0.0;
                inStep = 0;
            }
            if (stop.stop_requested()) {
                opt.zeroGrad();
                finished.reason = FinishReason::Cancelled;
                break;
            }

            // --- End of epoch: validation, best, checkpoint --------------------------------------
            const Clock::time_point evalStart = Clock::now();
            EpochEvent e;
            e.epoch = epoch;
            e.epochs = options.epochs;
            e.labels = labels;
            e.trainLoss = seen ? lossSum / double(seen) : 0.0;
            e.trainAccuracy = seen ? double(correct) / double(seen) : 0.0;
            e.hasValidation = valData.size() > 0;
            if (e.hasValidation) {
                observer.onProgress({ ProgressPhase::Evaluating, 0, valData.size() });
                const EvalOutput v = runner.evaluate(valData, numClasses, options.batchSize);
                e.validation = v.metrics;
                e.valLoss = v.loss;
                e.predictions = v.predictions;
            }
            lastEvalSeconds = secondsSince(evalStart);
            const double accuracy = e.hasValidation ? e.validation.accuracy : 0.0;
            e.best = !e.hasValidation || state.bestEpoch == 0 || accuracy > state.bestAccuracy
                || (accuracy == state.bestAccuracy && e.valLoss < state.bestLoss);
            if (e.best) {
                state.bestEpoch = epoch;
                state.bestAccuracy = accuracy;
                state.bestLoss = e.valLoss;
                state.staleEpochs = 0;
                saveAdapter(model, manifest, run);
                if (e.hasValidation)
                    writeFileAtomic(run / RunFiles::confusion, confusionCsv(e.validation, labels));
                best.clear();
                for (const auto &[name, tensor] : adapterTensors(model))
                    best.emplace_back(name, tensor.detach().clone());
            } else {
                ++state.staleEpochs;
            }
            e.seconds = secondsSince(epochStart) - pausedSeconds;
            e.etaSeconds = e.seconds * double(options.epochs - epoch);
            state.epoch = epoch;
            state.seconds += e.seconds;
            log.write(eventJson(e));
            state.metricsBytes = log.bytes();
            replaceFolder(run / RunFiles::lastCheckpoint, [&](const fs::path &dir) {
                saveAdapter(model, manifest, dir);
                saveOptimizer(opt, dir / kOptimizerFile);
                writeFileAtomic(dir / kStateFile, stateJson(state));
            });
            observer.onEpoch(e);

            finished.epochsCompleted = epoch;
            finished.bestEpoch = state.bestEpoch;
            finished.bestValAccuracy = std::max(0.0, state.bestAccuracy);
            if (options.patience > 0 && e.hasValidation && state.staleEpochs >= options.patience
                && epoch < options.epochs) {
                finished.reason = FinishReason::EarlyStopping;
                break;
            }
            if (control && control->stopAfterEpochRequested() && epoch < options.epochs) {
                finished.reason = FinishReason::StoppedAfterEpoch;
                break;
            }
        }
        if (stop.stop_requested())
            finished.reason = FinishReason::Cancelled;

        // --- Test pass with the best adapter -------------------------------------------------
        if (finished.reason != FinishReason::Cancelled && testData.size() > 0 && state.bestEpoch > 0) {
            torch::NoGradGuard noGrad;
            if (best.empty()) { // resumed after the best epoch: read it back
                const SafetensorsFile file(run / kAdapterWeightsFile);
                for (const auto &[name, tensor] : adapterTensors(model))
                    if (const TensorInfo *info = file.find(name);
                        info && tensor.is_floating_point())
                        tensor.copy_(loadTensor(file, *info));
            } else {
                auto now = adapterTensors(model);
                for (std::size_t i = 0; i < now.size() && i < best.size(); ++i)
                    now[i].second.copy_(best[i].second);
            }
            observer.onProgress({ ProgressPhase::Evaluating, 0, testData.size() });
            const EvalOutput t = runner.evaluate(testData, numClasses, options.batchSize);
            finished.hasTest = true;
            finished.test = t.metrics;
            finished.testLoss = t.loss;
        }
        finished.seconds = secondsSince(started);
        log.write(eventJson(finished));
        observer.onFinished(finished);
        return finished;
    } catch (const std::exception &e) {
        std::optional<Error> outOfMemory;
        if (compat::isOutOfMemory(e)) {
            compat::releaseCachedMemory();
            outOfMemory.emplace(ErrorKind::Usage,
                "out of memory on " + deviceName + " at batch size "
                    + std::to_string(options.batchSize) + ": lower --batch-size"
                    + (options.checkpointActivations ? "" : ", add --checkpoint-activations")
                    + (options.precision == Precision::F32 ? " or train in --precision bf16" : "")
                    + (state.epoch > 0
                            ? "; --resume continues after epoch " + std::to_string(state.epoch)
                            : ""),
                run);
        }
        FailedEvent failed { outOfMemory ? outOfMemory->what() : e.what() };
        try {
            log.write(eventJson(failed));
        } catch (...) { // the log itself failed (disk full): report the original error
        }
        observer.onFailed(failed);
        if (outOfMemory)
            throw *outOfMemory;
        throw;
    }
}

namespace {

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
    TrainOptions options =
        parseTrainOptions(readTextFile(run / RunFiles::options), run / RunFiles::options);
    AdapterManifest manifest = loadAdapterManifest(run);
    const std::filesystem::path modelDir = resolveModelDir(model.empty() ? options.model : model);
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
    const std::vector<Clip> clips =
        relabel(dataset, clipsOf(dataset, options.split), manifest.labels, result.skipped);
    if (clips.empty())
        throw Error(ErrorKind::Usage,
            "the " + enumName(options.split) + " split of the dataset is empty",
            options.data.empty() ? run.data : options.data);
    FeatureCache cache(featureCacheOf(run));
    const Prepared data =
        prepare(clips, manifest.frontEnd, run.channel, cache, false, result.skipped, observer, {});
    Runner runner { model, device, Precision::F32, false };
    const EvalOutput out = runner.evaluate(data, int(manifest.labels.size()),
        options.batchSize > 0 ? options.batchSize : run.batchSize);
    result.metrics = out.metrics;
    result.loss = out.loss;
    return result;
}

void exportMergedRun(const std::filesystem::path &run, const std::filesystem::path &model,
    const std::filesystem::path &out)
{
    LoadedRun loaded = loadRun(run, model);
    saveMergedCheckpoint(loaded.model, loaded.manifest, out);
}

} // namespace astpeft::core
