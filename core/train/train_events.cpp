// SPDX-License-Identifier: MIT
// The torch-free half of the trainer: event and options JSON, TrainControl.
#include "train/trainer.h"

#include "error.h"
#include "io/atomic_file.h"
#include "io/json_reader.h"
#include "peft/peft_json.h"
#include "train/train_flags.h"

#include <cmath>

namespace astpeft::core {

using nlohmann::json;

void TrainControl::pause()
{
    std::lock_guard lock(m_mutex);
    m_paused = true;
}

void TrainControl::resume()
{
    {
        std::lock_guard lock(m_mutex);
        m_paused = false;
    }
    m_resumed.notify_all();
}

bool TrainControl::waitWhilePaused(std::stop_token stop)
{
    std::unique_lock lock(m_mutex);
    m_holding = m_paused.load();
    m_resumed.wait(lock, stop, [this] { return !m_paused.load(); });
    m_holding = false;
    return !stop.stop_requested();
}

namespace {

// JSON has no NaN or infinity: a diverged loss is written as null.
json number(double v)
{
    return std::isfinite(v) ? json(v) : json(nullptr);
}

json metricsObject(const ClassificationMetrics &m, const std::vector<std::string> &labels)
{
    json perClass = json::object();
    for (std::size_t c = 0; c < m.perClass.size(); ++c) {
        const ClassMetrics &k = m.perClass[c];
        perClass[c < labels.size() ? labels[c] : std::to_string(c)] = {
            { "precision", k.precision }, { "recall", k.recall }, { "f1", k.f1 },
            { "accuracy", k.recall }, { "support", k.support }
        };
    }
    return { { "examples", m.examples }, { "accuracy", m.accuracy },
        { "balanced_accuracy", m.balancedAccuracy }, { "macro_f1", m.macroF1 },
        { "per_class", perClass }, { "confusion", m.confusion } };
}

} // namespace

std::string metricsJson(const ClassificationMetrics &m, const std::vector<std::string> &labels)
{
    return metricsObject(m, labels).dump();
}

std::string eventJson(const ImportEvent &e)
{
    json counts = json::object(), classes = json::array(), splits = json::object();
    for (const ClassSummary &c : e.summary.classes) {
        counts[c.label] = c.clips;
        classes.push_back(c.label);
        json per = json::object();
        for (const auto &[split, n] : c.perSplit)
            per[enumName(split)] = n;
        splits[c.label] = per;
    }
    json skipped = json::array();
    for (const SkippedFile &s : e.skipped)
        skipped.push_back({ { "file", s.file.string() }, { "reason", s.reason } });
    json rates = json::object();
    for (const auto &[rate, n] : e.summary.sampleRates)
        rates[std::to_string(rate)] = n;
    json j = { { "event", "import" }, { "layout", enumName(e.layout) }, { "classes", classes },
        { "counts", counts }, { "splits", splits }, { "clips", e.summary.clips },
        { "seconds", e.summary.seconds }, { "sample_rates", rates }, { "skipped", skipped },
        { "max_length", e.maxLength }, { "method", methodName(e.peft.method) },
        { "device", e.device }, { "world_size", e.worldSize } };
    writePeftJson(j["peft"], e.peft);
    const ParameterBreakdown &p = e.parameters;
    j["parameters"] = { { "trainable", p.total() }, { "without_head", p.withoutHead() },
        { "paper_count", p.paperCount() }, { "method_modules", p.methodModules },
        { "layer_norms", p.layerNorms }, { "final_layer_norm", p.finalLayerNorm },
        { "biases", p.biases }, { "backbone_weights", p.backboneWeights }, { "head", p.head },
        { "backbone", p.backbone }, { "share_of_backbone", p.shareOfBackbone() } };
    return j.dump();
}

std::string eventJson(const StepEvent &e)
{
    json j = { { "event", "step" }, { "epoch", e.epoch }, { "step", e.step },
        { "total_steps", e.totalSteps }, { "loss", number(e.loss) },
        { "learning_rate", e.learningRate }, { "samples_per_second", e.samplesPerSecond },
        { "eta_seconds", e.etaSeconds }, { "world_size", e.worldSize } };
    if (e.peakDeviceMemoryBytes > 0) {
        j["device_memory_bytes"] = e.deviceMemoryBytes;
        j["peak_device_memory_bytes"] = e.peakDeviceMemoryBytes;
    }
    return j.dump();
}

std::string eventJson(const EpochEvent &e)
{
    json j = { { "event", "epoch" }, { "epoch", e.epoch }, { "epochs", e.epochs },
        { "train_loss", number(e.trainLoss) }, { "train_accuracy", e.trainAccuracy },
        { "best", e.best }, { "seconds", e.seconds }, { "eta_seconds", e.etaSeconds } };
    if (e.hasValidation) {
        j["val_loss"] = number(e.valLoss);
        j["val_accuracy"] = e.validation.accuracy;
        j["val_balanced_accuracy"] = e.validation.balancedAccuracy;
        j["val_macro_f1"] = e.validation.macroF1;
        const json m = metricsObject(e.validation, e.labels);
        j["per_class"] = m["per_class"];
        j["confusion"] = m["confusion"];
    } else {
        j["val_loss"] = nullptr;
        j["val_accuracy"] = nullptr;
    }
    return j.dump();
}

std::string eventJson(const FinishedEvent &e)
{
    json j = { { "event", "finished" }, { "reason", enumName(e.reason) },
        { "epochs_completed", e.epochsCompleted }, { "best_epoch", e.bestEpoch },
        { "best_val_accuracy", e.bestValAccuracy }, { "seconds", e.seconds },
        { "trainable_parameters", e.trainableParameters }, { "method", e.method },
        { "run", e.runDir.string() }, { "world_size", e.worldSize } };
    if (e.worldSize > 1) {
        j["all_reduce"] = { { "count", e.allReduces }, { "bytes", e.allReduceBytes },
            { "seconds", e.allReduceSeconds } };
    }
    if (e.hasTest) {
        j["test_loss"] = number(e.testLoss);
        j["test_accuracy"] = e.test.accuracy;
        j["test"] = metricsObject(e.test, e.labels);
    }
    return j.dump();
}

std::string eventJson(const FailedEvent &e)
{
    return json { { "event", "failed" }, { "message", e.message } }.dump();
}

std::string trainOptionsJson(const TrainOptions &o)
{
    json j;
    j["format"] = "astpeft-train-options";
    j["model"] = o.model.string();
    j["data"] = o.data.string();
    j["layout"] = enumName(o.import.layout);
    j["min_seconds"] = o.import.minSeconds;
    j["channel"] = o.channel;
    j["split"] = { { "seed", o.split.seed }, { "validation_fraction", o.split.validationFraction },
        { "test_fraction", o.split.testFraction }, { "validation_fold", o.split.validationFold },
        { "test_fold", o.split.testFold }, { "few_shot", o.split.fewShot } };
    writePeftJson(j["peft"], o.peft);
    j["budget"] = o.budget;
    j["epochs"] = o.epochs;
    j["batch_size"] = o.batchSize;
    j["learning_rate"] = o.learningRate;
    j["weight_decay"] = o.weightDecay;
    j["betas"] = { o.beta1, o.beta2 };
    j["eps"] = o.eps;
    j["warmup_steps"] = o.warmupSteps;
    j["clip_grad_norm"] = o.clipGradNorm;
    j["accumulation"] = o.accumulation;
    j["patience"] = o.patience;
    j["max_length"] = o.maxLength;
    j["positions"] = enumName(o.positions);
    j["device"] = o.device;
    j["precision"] = precisionName(o.precision);
    j["seed"] = o.seed;
    const AugmentOptions &a = o.augment;
    j["augment"] = { { "freq_mask", a.freqMaskParam }, { "time_mask", a.timeMaskParam },
        { "freq_masks", a.freqMasks }, { "time_masks", a.timeMasks },
        { "mixup_alpha", a.mixupAlpha }, { "mixup_probability", a.mixupProbability },
        { "noise_probability", a.noiseProbability },
        { "noise_snr", { a.noiseSnrMin, a.noiseSnrMax } }, { "shift_seconds", a.shiftSeconds },
        { "gain_db", a.gainDb } };
    json noise = json::array();
    for (const std::filesystem::path &file : o.noiseFiles)
        noise.push_back(file.string());
    j["noise_files"] = std::move(noise);
    j["out"] = o.out.string();
    j["feature_cache"] = o.featureCache.string();
    j["use_feature_cache"] = o.useFeatureCache;
    j["cache_encoder_outputs"] = o.cacheEncoderOutputs;
    j["evaluate_test"] = o.evaluateTest;
    j["checkpoint_activations"] = o.checkpointActivations;
    j["command"] = o.command;
    return j.dump(2) + "\n";
}

TrainOptions parseTrainOptions(const std::string &text, const std::filesystem::path &file)
{
    const json j =
        parseFormatDocument(text, file, "astpeft-train-options", "astpeft training options");
    const JsonReader r { j, file };
    TrainOptions o;
    o.model = r.string(j, "model", "model");
    o.data = r.string(j, "data", "data");
    o.import.layout = r.enumeration<DatasetLayout>(j, "layout", "layout");
    o.import.minSeconds = r.number(j, "min_seconds", "min_seconds");
    o.channel = r.integer(j, "channel", "channel", kChannelRange.min, kChannelRange.max);
    const json &s = r.at(j, "split", "split");
    o.split.seed = r.unsignedInteger(s, "seed", "split.seed");
    o.split.validationFraction = r.number(s, "validation_fraction", "split.validation_fraction");
    o.split.testFraction = r.number(s, "test_fraction", "split.test_fraction");
    o.split.validationFold = r.integer(s, "validation_fold", "split.validation_fold", 0);
    o.split.testFold = r.integer(s, "test_fold", "split.test_fold", 0);
    o.split.fewShot = r.integer(s, "few_shot", "split.few_shot", 0);
    o.peft = readPeftJson(r, r.at(j, "peft", "peft"));
    o.budget = r.string(j, "budget", "budget");
    o.epochs = r.integer(j, "epochs", "epochs", kEpochsRange.min, kEpochsRange.max);
    o.batchSize =
        r.integer(j, "batch_size", "batch_size", kBatchSizeRange.min, kBatchSizeRange.max);
    o.learningRate = r.number(j, "learning_rate", "learning_rate");
    o.weightDecay = r.number(j, "weight_decay", "weight_decay");
    const json &betas = r.at(j, "betas", "betas");
    if (!betas.is_array() || betas.size() != 2 || !betas[0].is_number() || !betas[1].is_number())
        throw Error(ErrorKind::Format, "field betas must be two numbers", file);
    o.beta1 = betas[0].get<double>();
    o.beta2 = betas[1].get<double>();
    o.eps = r.number(j, "eps", "eps");
    o.warmupSteps =
        r.integer(j, "warmup_steps", "warmup_steps", kWarmupRange.min, kWarmupRange.max);
    o.clipGradNorm = r.number(j, "clip_grad_norm", "clip_grad_norm");
    o.accumulation = r.integer(
        j, "accumulation", "accumulation", kAccumulationRange.min, kAccumulationRange.max);
    o.patience = r.integer(j, "patience", "patience", kPatienceRange.min, kPatienceRange.max);
    o.maxLength =
        r.integer(j, "max_length", "max_length", kMaxLengthRange.min, kMaxLengthRange.max);
    o.positions = r.enumeration<PositionMode>(j, "positions", "positions");
    o.device = r.string(j, "device", "device");
    try {
        o.precision = parsePrecision(r.string(j, "precision", "precision"));
    } catch (const Error &e) {
        throw Error(ErrorKind::Format, "field precision: " + e.reason(), file);
    }
    o.seed = r.unsignedInteger(j, "seed", "seed");
    const json &a = r.at(j, "augment", "augment");
    AugmentOptions &g = o.augment;
    g.freqMaskParam =
        r.integer(a, "freq_mask", "augment.freq_mask", kFreqMaskRange.min, kFreqMaskRange.max);
    g.timeMaskParam =
        r.integer(a, "time_mask", "augment.time_mask", kTimeMaskRange.min, kTimeMaskRange.max);
    g.freqMasks = r.integer(a, "freq_masks", "augment.freq_masks", 0);
    g.timeMasks = r.integer(a, "time_masks", "augment.time_masks", 0);
    g.mixupAlpha = r.number(a, "mixup_alpha", "augment.mixup_alpha");
    g.mixupProbability = r.number(a, "mixup_probability", "augment.mixup_probability");
    g.noiseProbability = r.number(a, "noise_probability", "augment.noise_probability");
    const json &snr = r.at(a, "noise_snr", "augment.noise_snr");
    if (!snr.is_array() || snr.size() != 2 || !snr[0].is_number() || !snr[1].is_number())
        throw Error(ErrorKind::Format, "field augment.noise_snr must be two numbers", file);
    g.noiseSnrMin = snr[0].get<double>();
    g.noiseSnrMax = snr[1].get<double>();
    g.shiftSeconds = r.number(a, "shift_seconds", "augment.shift_seconds");
    g.gainDb = r.number(a, "gain_db", "augment.gain_db");
    if (j.contains("noise_files")) { // absent in runs written before the option existed
        const json &noise = j["noise_files"];
        if (!noise.is_array())
            throw Error(ErrorKind::Format, "field noise_files must be an array of paths", file);
        for (const json &path : noise) {
            if (!path.is_string())
                throw Error(ErrorKind::Format, "field noise_files must be an array of paths", file);
            o.noiseFiles.emplace_back(path.get<std::string>());
        }
    }
    o.out = r.string(j, "out", "out");
    o.featureCache = r.string(j, "feature_cache", "feature_cache");
    o.useFeatureCache = r.boolean(j, "use_feature_cache", "use_feature_cache");
    o.cacheEncoderOutputs = r.boolean(j, "cache_encoder_outputs", "cache_encoder_outputs");
    o.evaluateTest = r.boolean(j, "evaluate_test", "evaluate_test");
    // Absent in runs written before the option existed.
    o.checkpointActivations = j.contains("checkpoint_activations")
        && r.boolean(j, "checkpoint_activations", "checkpoint_activations");
    o.command = r.string(j, "command", "command");
    return o;
}

namespace {

// Applies `f` to every path of `o` that names a file or folder.
template<typename F> void forEachPath(TrainOptions &o, F &&f)
{
    for (std::filesystem::path *p : { &o.model, &o.data, &o.out, &o.featureCache })
        f(*p);
    for (std::filesystem::path &p : o.noiseFiles)
        f(p);
}

} // namespace

TrainOptions withAbsolutePaths(TrainOptions options)
{
    forEachPath(options, [](std::filesystem::path &p) {
        if (!p.empty())
            p = std::filesystem::absolute(p).lexically_normal();
    });
    return options;
}

TrainOptions readRunOptions(const std::filesystem::path &run)
{
    namespace fs = std::filesystem;
    const fs::path file = run / RunFiles::options;
    TrainOptions o = parseTrainOptions(readTextFile(file), file);
    // The folder the run was started from: the run folder less the relative "out" recorded
    // ("runs/a" in /p/runs/a gives /p); the working directory when they do not match.
    fs::path base = fs::current_path();
    const fs::path out = o.out.lexically_normal();
    if (!out.empty() && out.is_relative()) {
        fs::path dir = fs::absolute(run).lexically_normal();
        fs::path tail = out;
        if (!dir.has_filename())
            dir = dir.parent_path();
        if (!tail.has_filename())
            tail = tail.parent_path();
        while (!tail.empty() && tail.filename() == dir.filename()) {
            tail = tail.parent_path();
            dir = dir.parent_path();
        }
        if (tail.empty() || tail == ".")
            base = dir;
    }
    forEachPath(o, [&](fs::path &p) {
        if (!p.empty() && p.is_relative())
            p = (base / p).lexically_normal();
    });
    return o;
}

} // namespace astpeft::core
