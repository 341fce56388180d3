// SPDX-License-Identifier: MIT
// astpeft-bench: the C++ side of bench/run.sh. Prints one JSON line per case, with the same
// fields as the Python baselines (bench/py_fbank.py, bench/py_ast_forward.py,
// bench/py_ast_train.py).
//   astpeft-bench fbank [--threads N] [--min-time S]
//   astpeft-bench forward MODEL [--max-length N] [--runs R] [--warmup W] [--precision fp32|bf16]
//                 [--device cpu|cuda|cuda:N]
//   astpeft-bench train MODEL --method M [--batch 8] [--steps 10] [--warmup 2] [--max-length 100]
//                 [--precision fp32|bf16] [--device cpu|cuda] [--seed 10]
//                 [--checkpoint-activations 0|1]
//     M: full, linear, bitfit, prompt-shallow, prompt-deep, prefix, lora, adapter (conformer),
//     adapter-bottleneck; each at the paper's setting (paperSetting) and learning rate.
//   astpeft-bench stream MODEL [--adapter RUN] [--hop 0.25] [--max-length 100] [--seconds 20]
//                 [--device cpu|cuda|cuda:N]
//     live classification (core::StreamingClassifier) fed 10 ms blocks as a microphone would,
//     against the baseline of recomputing each window's whole front end (offline path).
//   astpeft-bench pipeline MODEL --data DATASET [--batch 32] [--seconds 5] [--max-length N]
//                 [--augment none|spec|wave|all]
//     the training input pipeline alone (samples/s one thread delivers).
#include "error.h"
#include "features/fbank.h"
#include "inference/classifier.h"
#include "inference/streaming.h"
#include "model/checkpoint.h"
#include "peft/peft_config.h"
#include "peft/peft_modules.h"
#include "runtime/autocast.h"
#include "runtime/jemalloc_conf.h"
#include "runtime/runtime.h"
#include "runtime/torch_compat.h"
#include "train/optimizer.h"
#include "train/trainer.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <sys/resource.h>
#include <vector>

using namespace astpeft;
using Clock = std::chrono::steady_clock;

namespace {

double peakRssMb()
{
    rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) / 1024.0; // Linux: KiB
}

// User plus system CPU time of the whole process (all threads), ms.
double processCpuMs()
{
    rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    auto ms = [](const timeval &t) { return double(t.tv_sec) * 1e3 + double(t.tv_usec) / 1e3; };
    return ms(usage.ru_utime) + ms(usage.ru_stime);
}

long minorFaults()
{
    rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
}

double percentile(std::vector<double> v, double p)
{
    std::sort(v.begin(), v.end());
    const double pos = p / 100.0 * double(v.size() - 1); // numpy's linear interpolation
    const std::size_t lo = std::size_t(pos);
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - double(lo));
}

std::string option(int argc, char **argv, const std::string &name, const std::string &fallback)
{
    for (int i = 2; i + 1 < argc; ++i)
        if (argv[i] == "--" + name)
            return argv[i + 1];
    return fallback;
}

// Noise plus a random tone, like bench/py_fbank.py's clips.
std::vector<float> makeClip(double seconds, std::mt19937 &rng)
{
    std::normal_distribution<double> noise(0.0, 0.1);
    std::uniform_real_distribution<double> freq(100.0, 4000.0);
    const double f = freq(rng);
    std::vector<float> x(std::size_t(seconds * 16000));
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = float(noise(rng) + 0.3 * std::sin(2 * M_PI * f * double(i) / 16000.0));
    return x;
}

int benchFbank(int argc, char **argv)
{
    const double minTime = std::stod(option(argc, argv, "min-time", "1.0"));
    const core::FrontEnd fe; // pad to 1024 and normalise, as AST's extractor does
    core::FrontEnd unpadded = fe;
    unpadded.maxLength = 0; // the Python baseline does not pad
    std::mt19937 rng(0);
    for (double seconds : { 1.0, 10.0 }) {
        for (int clips : { 1, 32 }) {
            std::vector<std::vector<float>> data;
            for (int i = 0; i < clips; ++i)
                data.push_back(makeClip(seconds, rng));
            auto once = [&] {
                for (const auto &c : data)
                    core::extractFeatures(c, unpadded);
            };
            once();
            std::vector<double> perRep;
            double total = 0.0;
            while (total < minTime || perRep.size() < 5) {
                const auto t0 = Clock::now();
                once();
                const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
                perRep.push_back(dt);
                total += dt;
            }
            nlohmann::json j = { { "impl", "cpp" }, { "bench", "fbank" }, { "clip_s", seconds },
                { "mode", clips == 1 ? "single" : "batch32" }, { "clips", clips },
                { "threads", core::runtimeInfo().threads }, { "reps", perRep.size() },
                { "audio_s_per_s", double(perRep.size()) * clips * seconds / total },
                { "ms_per_clip_median", percentile(perRep, 50) * 1000.0 / clips } };
            std::cout << j.dump() << std::endl;
        }
    }
    return 0;
}

int benchForward(int argc, char **argv)
{
    if (argc < 3)
        throw std::runtime_error("forward needs a MODEL folder");
    const int runs = std::stoi(option(argc, argv, "runs", "20"));
    const int warmup = std::stoi(option(argc, argv, "warmup", "3"));
    core::ClassifierOptions o;
    o.maxLength = std::stoi(option(argc, argv, "max-length", "0"));
    o.device = option(argc, argv, "device", "cpu");
    o.precision = core::parsePrecision(option(argc, argv, "precision", "fp32"));
    const core::AstClassifier model(argv[2], o);
    const core::AstConfig &c = model.summary().config;
    std::mt19937 rng(0);
    std::normal_distribution<float> normal(0.0f, 0.5f);
    core::FeatureMatrix f;
    f.frames = c.maxLength;
    f.bins = c.numMelBins;
    f.data.resize(std::size_t(f.frames) * std::size_t(f.bins));
    for (float &x : f.data)
        x = normal(rng);
    for (int i = 0; i < warmup; ++i)
        model.logits({ f });
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = Clock::now();
        model.logits({ f });
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    nlohmann::json j = { { "impl", "cpp" }, { "max_length", c.maxLength },
        { "median_ms", percentile(ms, 50) }, { "p95_ms", percentile(ms, 95) },
        { "peak_rss_mb", peakRssMb() }, { "threads", core::runtimeInfo().threads },
        { "dtype", option(argc, argv, "precision", "fp32") }, { "runs", runs },
        { "tokens", c.numTokens() } };
    std::cout << j.dump() << std::endl;
    return 0;
}

// "adapter" is the paper's conformer adapter; "adapter-bottleneck" its bottleneck block (r = 12).
core::PeftConfig benchMethod(const std::string &name)
{
    if (name == "adapter-bottleneck")
        return core::paperSetting(core::PeftMethod::Adapter, core::AdapterBlock::Bottleneck);
    if (name == "adapter-conformer")
        return core::paperSetting(core::PeftMethod::Adapter, core::AdapterBlock::Conformer);
    return core::paperSetting(core::parseMethod(name));
}

// One training step per batch exactly as core/train/training_run.cpp runs it (no augmentation,
// no accumulation, no clipping): forward under autocast, cross-entropy, loss.item(), backward,
// AdamW at the cosine-scheduled rate, gradients dropped. Inputs are random normalised features
// already in memory, like the trainer's preloaded feature tensor.
int benchTrain(int argc, char **argv)
{
    if (argc < 3 || std::string(argv[2]).starts_with("--"))
        throw std::runtime_error("train needs a MODEL folder");
    const std::string methodName = option(argc, argv, "method", "lora");
    const int batch = std::stoi(option(argc, argv, "batch", "8"));
    const int steps = std::stoi(option(argc, argv, "steps", "10"));
    const int warmup = std::stoi(option(argc, argv, "warmup", "2"));
    const int maxLength = std::stoi(option(argc, argv, "max-length", "100"));
    const std::string precisionName = option(argc, argv, "precision", "fp32");
    const core::Precision precision = core::parsePrecision(precisionName);
    const std::uint64_t seed = std::stoull(option(argc, argv, "seed", "10"));
    if (batch < 1 || steps < 1 || warmup < 0)
        throw std::runtime_error("--batch and --steps must be at least 1, --warmup at least 0");
    const torch::Device device(core::resolveDevice(option(argc, argv, "device", "cpu")));
    if (precision == core::Precision::F16 && device.is_cpu())
        throw std::runtime_error("fp16 needs a CUDA device");
    if (device.is_cuda())
        core::compat::allowTf32(); // as the trainer does

    const core::PeftConfig peft = benchMethod(methodName);
    core::LoadedAst loaded =
        core::loadAstCheckpoint(argv[2], { maxLength, core::PositionMode::Adapt });
    const core::AstConfig &c = loaded.config;
    std::vector<std::string> labels = c.labels;
    if (labels.empty())
        for (int i = 0; i < 10; ++i)
            labels.push_back("class" + std::to_string(i));
    core::AstForAudioClassification model = loaded.model;
    core::applyPeft(model, peft, labels, seed);
    const bool checkpointActivations = option(argc, argv, "checkpoint-activations", "0") == "1";
    model->audio_spectrogram_transformer->encoder->checkpointActivations = checkpointActivations;
    model->to(device);
    model->train();

    core::AdamW opt; // the paper's betas (0.9, 0.98), eps 1e-6, weight decay 0.1
    for (const auto &item : model->named_parameters())
        if (item.value().requires_grad())
            opt.add(item.key(), item.value());
    const std::int64_t trainable = core::countTrainable(*model);
    const double baseRate = core::paperLearningRate(peft.method);

    // A few distinct batches in memory, cycled (the trainer index_selects its preloaded tensor).
    constexpr int kPool = 4;
    torch::manual_seed(seed);
    const torch::Tensor features = torch::randn({ kPool * batch, c.maxLength, c.numMelBins }) * 0.5;
    const torch::Tensor targets =
        torch::randint(std::int64_t(labels.size()), { kPool * batch }, torch::kInt64);

    const int total = warmup + steps;
    // Per measured step: wall and process CPU time, minor page faults, and the phases forward
    // (to loss.item()), backward (with the accuracy count) and optimizer; the item() calls
    // synchronise a CUDA device, as in the trainer.
    std::vector<double> ms, cpuMs, faults, forwardMs, backwardMs, optimizerMs;
    double lossValue = 0.0;
    auto since = [](Clock::time_point a, Clock::time_point b) {
        return std::chrono::duration<double, std::milli>(b - a).count();
    };
    for (int t = 0; t < total; ++t) {
        const auto t0 = Clock::now();
        const double cpu0 = processCpuMs();
        const long faults0 = minorFaults();
        const std::int64_t from = std::int64_t(t % kPool) * batch;
        const torch::Tensor x = features.slice(0, from, from + batch).to(device);
        const torch::Tensor y = targets.slice(0, from, from + batch).to(device);
        torch::Tensor logits;
        {
            const core::AutocastGuard autocast(device, precision);
            logits = model->forward(x).to(torch::kFloat32);
        }
        const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
        lossValue = loss.item<double>();
        const auto t1 = Clock::now();
        loss.backward();
        (void)(logits.argmax(1) == y).sum().item<std::int64_t>(); // the trainer's accuracy count
        const auto t2 = Clock::now();
        opt.update(core::scheduledRate(baseRate, t, total, 0));
        opt.zeroGrad();
        if (device.is_cuda())
            torch::cuda::synchronize();
        const auto t3 = Clock::now();
        if (t >= warmup) {
            ms.push_back(since(t0, t3));
            cpuMs.push_back(processCpuMs() - cpu0);
            faults.push_back(double(minorFaults() - faults0));
            forwardMs.push_back(since(t0, t1));
            backwardMs.push_back(since(t1, t2));
            optimizerMs.push_back(since(t2, t3));
        }
    }
    if (!std::isfinite(lossValue))
        throw std::runtime_error("the loss is not finite");
    const double median = percentile(ms, 50);
    nlohmann::json j = { { "impl", "cpp" }, { "bench", "train" }, { "method", methodName },
        { "batch", batch }, { "max_length", c.maxLength }, { "tokens", c.numTokens() },
        { "samples_per_s", batch * 1000.0 / median }, { "step_ms_median", median },
        { "step_ms_p95", percentile(ms, 95) }, { "cpu_ms_median", percentile(cpuMs, 50) },
        { "page_faults_per_step", percentile(faults, 50) },
        { "forward_ms", percentile(forwardMs, 50) }, { "backward_ms", percentile(backwardMs, 50) },
        { "optimizer_ms", percentile(optimizerMs, 50) }, { "trainable", trainable },
        { "peak_rss_mb", peakRssMb() }, { "threads", core::runtimeInfo().threads },
        { "dtype", precisionName }, { "device", device.str() }, { "steps", steps },
        { "warmup", warmup }, { "loss", lossValue },
        { "checkpoint_activations", checkpointActivations } };
    if (device.is_cuda())
        j["peak_device_mb"] = double(core::compat::deviceMemory(device).peak) / (1024.0 * 1024.0);
    std::cout << j.dump() << std::endl;
    return 0;
}

// Live classification: `seconds` of audio pushed in 10 ms blocks (a microphone callback's
// size) through StreamingClassifier ("stream": only new fbank frames per hop), then the same
// windows the offline way ("offline": the whole window's fbank, pad, normalise, forward each
// hop). Latency per window: its last block handed over -> result. Real-time factor: compute
// time / audio time (below 1: keeps up with the microphone on this machine).
int benchStream(int argc, char **argv)
{
    if (argc < 3)
        throw std::runtime_error("stream needs a MODEL folder");
    core::ClassifierOptions o;
    o.device = option(argc, argv, "device", "cpu");
    o.adapter = option(argc, argv, "adapter", "");
    if (o.adapter.empty())
        o.maxLength = std::stoi(option(argc, argv, "max-length", "100"));
    const std::string precisionName = option(argc, argv, "precision", "fp32");
    o.precision = core::parsePrecision(precisionName);
    const core::AstClassifier model(argv[2], o);
    core::StreamOptions so;
    so.hopSeconds = std::stod(option(argc, argv, "hop", "0.25"));
    const double seconds = std::stod(option(argc, argv, "seconds", "20"));
    const core::FrontEnd fe = model.frontEnd();
    const int rate = fe.fbank.sampleRate;
    std::mt19937 rng(0);
    std::vector<float> audio;
    while (double(audio.size()) < seconds * rate) {
        const std::vector<float> clip = makeClip(1.0, rng);
        audio.insert(audio.end(), clip.begin(), clip.end());
    }
    audio.resize(std::size_t(seconds * rate));
    const std::size_t block = std::size_t(rate / 100);
    const std::int64_t windowSamples =
        std::int64_t(fe.maxLength - 1) * fe.fbank.frameShift + fe.fbank.frameLength;

    for (const std::string mode : { "stream", "offline" }) {
        core::StreamingClassifier stream(model, so);
        const std::int64_t hop = stream.hopSamples();
        std::vector<core::Detection> detections;
        std::vector<double> latency;
        // Warm-up: one window of each kind, not counted.
        model.logits({ core::extractFeatures(std::span(audio).first(std::size_t(hop)), fe) });
        const double cpu0 = processCpuMs();
        const auto t0 = Clock::now();
        for (std::size_t at = 0; at < audio.size(); at += block) {
            const std::span<const float> chunk =
                std::span(audio).subspan(at, std::min(block, audio.size() - at));
            if (mode == "stream") {
                for (const core::WindowResult &w : stream.push(chunk, detections))
                    latency.push_back(w.latencyMs);
                continue;
            }
            const std::int64_t end = std::int64_t(at + chunk.size());
            if (end / hop == std::int64_t(at) / hop)
                continue; // no window completed by this block
            const auto arrived = Clock::now();
            const std::int64_t windowEnd = end / hop * hop;
            const std::int64_t start = std::max<std::int64_t>(0, windowEnd - windowSamples);
            const core::FeatureMatrix f = core::extractFeatures(
                std::span(audio).subspan(std::size_t(start), std::size_t(windowEnd - start)), fe);
            model.scores(model.logits({ f }).front());
            latency.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - arrived).count());
        }
        const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
        nlohmann::json j = { { "impl", "cpp" }, { "bench", "stream" }, { "mode", mode },
            { "max_length", fe.maxLength }, { "window_s", double(windowSamples) / rate },
            { "hop_s", so.hopSeconds }, { "audio_s", seconds }, { "windows", latency.size() },
            { "median_ms", percentile(latency, 50) }, { "p95_ms", percentile(latency, 95) },
            { "rtf", wall / seconds }, { "cpu_ms_per_audio_s", (processCpuMs() - cpu0) / seconds },
            { "threads", core::runtimeInfo().threads }, { "adapter", o.adapter.string() },
            { "dtype", precisionName } };
        std::cout << j.dump() << std::endl;
    }
    return 0;
}

} // namespace

// The training input pipeline alone (core::benchmarkInputPipeline): batches of a dataset's
// training split made on one thread as the trainer makes them, with the augmentation preset
// --augment: none (features from memory), spec (SpecAugment as the paper's ESC-50 recipe),
// wave (noise, shift, gain: fbank per batch) or all (wave + spec + mixup). One JSON line.
int benchPipeline(int argc, char **argv)
{
    if (argc < 3 || std::string(argv[2]).starts_with("--"))
        throw std::runtime_error("pipeline needs a MODEL folder (and --data DATASET)");
    core::TrainOptions o;
    o.model = argv[2];
    o.data = option(argc, argv, "data", "");
    if (o.data.empty())
        throw std::runtime_error("pipeline needs --data DATASET");
    o.batchSize = std::stoi(option(argc, argv, "batch", "32"));
    o.maxLength = std::stoi(option(argc, argv, "max-length", "0"));
    o.split.validationFraction = 0.0;
    const std::string augment = option(argc, argv, "augment", "all");
    const bool spec = augment == "spec" || augment == "all";
    const bool wave = augment == "wave" || augment == "all";
    if (!spec && !wave && augment != "none")
        throw std::runtime_error("--augment must be none, spec, wave or all");
    if (spec) {
        o.augment.freqMaskParam = 24;
        o.augment.timeMaskParam = 96;
    }
    if (wave) {
        o.augment.noiseProbability = 0.5;
        o.augment.shiftSeconds = 0.1;
        o.augment.gainDb = 6;
    }
    if (augment == "all")
        o.augment.mixupAlpha = 0.5;
    const double seconds = std::stod(option(argc, argv, "seconds", "5"));
    const core::PipelineBenchmark r = core::benchmarkInputPipeline(o, seconds);
    std::cout << nlohmann::json {
        { "impl", "cpp-pipeline" }, { "bench", "pipeline" }, { "augment", augment },
        { "batch", o.batchSize }, { "samples", r.samples }, { "seconds", r.seconds },
        { "samples_per_s", r.samplesPerSecond }, { "waveform", r.waveform }
    }.dump() << std::endl;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        std::fprintf(stderr,
            "usage: astpeft-bench fbank|forward|train|stream|pipeline ... (see bench/run.sh)\n");
        return 2;
    }
    try {
        core::configureThreads(std::stoi(option(argc, argv, "threads", "0")));
        const std::string what = argv[1];
        if (what == "fbank")
            return benchFbank(argc, argv);
        if (what == "forward")
            return benchForward(argc, argv);
        if (what == "train")
            return benchTrain(argc, argv);
        if (what == "stream")
            return benchStream(argc, argv);
        if (what == "pipeline")
            return benchPipeline(argc, argv);
        std::fprintf(stderr, "astpeft-bench: unknown benchmark %s\n", what.c_str());
        return 2;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "astpeft-bench: %s\n", e.what());
        return 1;
    }
}
