// SPDX-License-Identifier: MIT
// The training engine: imports a dataset, attaches a PEFT method to a frozen AST backbone and
// trains it with the paper's recipe (paper.md section 4), reporting events to an observer and
// writing a run folder. A plain function driven by the CLI (`astpeft train`) and, from a worker
// thread, by the GUI. Torch-free (ui/ and app/ include it).
//
// The run folder (RunFiles below):
//   adapter_config.json + adapter_model.safetensors   the best adapter (by validation accuracy,
//                                                     then loss; the last epoch without a
//                                                     validation split)
//   metrics.jsonl     every event, one JSON object a line ("event": import, step, epoch,
//                     finished or failed)
//   options.json      the resolved options; command.txt the command line that reproduces the run
//   confusion.csv     the best epoch's validation confusion matrix
//   checkpoints/last/ the last finished epoch: adapter, optimizer moments, trainer state; what
//                     --resume continues from
// Every file is written atomically: a failed write (full disk) leaves the previous one intact.
//
// Determinism: with the same options and seed a CPU run reproduces bit for bit, and a resumed
// run continues exactly as the uninterrupted one (shuffling and augmentation draw from streams
// seeded per epoch; the optimizer state is saved exactly).
#pragma once

#include "data/dataset.h"
#include "inference/classifier.h"
#include "peft/peft_config.h"
#include "train/augment.h"
#include "train/metrics.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace astpeft::core {

struct TrainOptions
{
    std::filesystem::path model; // backbone: HF-layout folder or model.safetensors
    std::filesystem::path data; // dataset folder or manifest
    ImportOptions import;
    SplitOptions split;
    int channel = -1; // decode channel; -1 mixes down

    PeftConfig peft;
    std::string budget; // "" or a parseBudget() text: sizes the method's knob (solveBudget)

    int epochs = 10;
    int batchSize = 8;
    double learningRate = 0.0; // 0: paperLearningRate(method)
    double weightDecay = 0.1; // AdamW, applied to every trainable tensor as in the paper
    double beta1 = 0.9, beta2 = 0.98, eps = 1e-6;
    int warmupSteps = 0; // linear warm-up, then cosine to 0 over the remaining steps
    double clipGradNorm = 0.0; // > 0: clip the global L2 norm
    int accumulation = 1; // batches per optimizer step
    int patience = 0; // > 0: stop after this many epochs without a better validation result

    // Frames of the model input; 0 = the longest training clip rounded up to a multiple of 10
    // (98 -> 100, 498 -> 500: the paper's lengths), at most the checkpoint's max_length.
    int maxLength = 0;
    PositionMode positions = PositionMode::Adapt;
    std::string device = "auto";
    Precision precision = Precision::F32; // BF16/F16: autocast of the forward pass
    std::uint64_t seed = 10;
    AugmentOptions augment;
    // Background-noise audio for augment.noiseProbability beside the dataset's own
    // (_background_noise_ folders): files, or folders whose audio files (by extension, not
    // recursive, sorted) are all used. A missing or unreadable one is skipped and reported.
    std::vector<std::filesystem::path> noiseFiles;

    std::filesystem::path out; // run folder
    bool resume = false; // continue from out/checkpoints/last
    std::filesystem::path featureCache; // empty: defaultFeatureCacheDir()
    bool useFeatureCache = true;
    // Linear probing without waveform augmentation: run the frozen encoder once per clip and
    // train the final LayerNorm and the head on its cached output (identical results, much
    // faster epochs). Needs 4 * tokens * hidden bytes per clip; skipped above cacheLimitBytes.
    bool cacheEncoderOutputs = true;
    std::int64_t cacheLimitBytes = std::int64_t(4) << 30;
    bool evaluateTest = true; // after training, evaluate the best adapter on the test split
    // Keep only each layer's input for the backward pass and recompute the layer there
    // (AstEncoderImpl::checkpointActivations): identical results, much less peak memory (most
    // for long inputs and prompt tuning), about a third more time per step.
    bool checkpointActivations = false;
    // Make the next batch (augmentation, fbank, mixup) on a second thread while the current one
    // trains: -1 on CUDA devices only, 0 never, 1 always. Results are identical either way (the
    // batches are made one at a time, in order), so options.json does not record it.
    int prefetch = -1;
    std::string command; // recorded in command.txt
};

// One row per split in the import event.
struct ImportEvent
{
    std::vector<std::string> labels;
    ImportSummary summary;
    std::vector<SkippedFile> skipped; // import and feature extraction
    DatasetLayout layout = DatasetLayout::Auto;
    int maxLength = 0; // resolved
    PeftConfig peft; // resolved (budget applied)
    ParameterBreakdown parameters;
    std::string device;
};

// Feature extraction and other long preparations, for progress bars; not logged.
struct ProgressEvent
{
    std::string phase; // "features", "encoder-cache", "evaluating"
    std::int64_t done = 0, total = 0;
};

struct StepEvent
{
    int epoch = 0; // 1-based
    std::int64_t step = 0; // optimizer steps so far (1-based), over the whole run
    std::int64_t totalSteps = 0;
    double loss = 0.0; // this batch's mean loss
    double learningRate = 0.0; // used for this step
    double samplesPerSecond = 0.0; // over the epoch so far
    double etaSeconds = 0.0; // to the end of the run, at the epoch's rate
    // On a CUDA device: bytes its caching allocator holds for tensors now, and the most since
    // the run (or resumption) started; 0 on the CPU.
    std::int64_t deviceMemoryBytes = 0, peakDeviceMemoryBytes = 0;
};

// One validation clip's outcome in an epoch (EpochEvent::predictions); not logged.
struct ClipPrediction
{
    std::filesystem::path file {};
    int truth = 0; // class index into EpochEvent::labels
    int predicted = 0; // argmax of the logits
    float confidence = 0.0f; // softmax probability of `predicted`, 0..1
};

struct EpochEvent
{
    int epoch = 0, epochs = 0;
    double trainLoss = 0.0, trainAccuracy = 0.0; // over the epoch (against the hard labels)
    bool hasValidation = false;
    double valLoss = 0.0;
    ClassificationMetrics validation;
    bool best = false; // the adapter was saved as the run's best
    double seconds = 0.0; // this epoch, training + validation
    double etaSeconds = 0.0;
    std::vector<std::string> labels;
    // Every validation clip in the order of the split (empty without validation), for
    // click-through from the confusion matrix; not written to metrics.jsonl.
    std::vector<ClipPrediction> predictions;
};

struct FinishedEvent
{
    std::string reason; // "completed", "early-stopping", "stopped-after-epoch", "cancelled"
    int epochsCompleted = 0;
    int bestEpoch = 0; // 0 when no epoch finished
    double bestValAccuracy = 0.0;
    bool hasTest = false;
    double testLoss = 0.0;
    ClassificationMetrics test;
    double seconds = 0.0; // this process's training time
    std::int64_t trainableParameters = 0;
    std::string method;
    std::filesystem::path runDir;
    std::vector<std::string> labels;
};

struct FailedEvent
{
    std::string message; // one line, naming the file when one is involved
};

// Called on the training thread. Exceptions thrown by an observer abort the run (failed).
class TrainObserver
{
public:
    virtual ~TrainObserver() = default;
    virtual void onImport(const ImportEvent &) { }
    virtual void onProgress(const ProgressEvent &) { }
    virtual void onStep(const StepEvent &) { }
    virtual void onEpoch(const EpochEvent &) { }
    virtual void onFinished(const FinishedEvent &) { }
    virtual void onFailed(const FailedEvent &) { }
};

// Pause/resume and "stop after this epoch", from any thread. Cancel is the stop token.
class TrainControl
{
public:
    void pause();
    void resume();
    bool paused() const { return m_paused.load(); }
    void stopAfterEpoch() { m_stopAfterEpoch = true; }
    bool stopAfterEpochRequested() const { return m_stopAfterEpoch.load(); }
    // Training thread: blocks while paused; returns false when the stop token fires.
    bool waitWhilePaused(std::stop_token stop);

private:
    std::atomic<bool> m_paused { false }, m_stopAfterEpoch { false };
    std::mutex m_mutex;
    std::condition_variable_any m_resumed;
};

// Runs the whole job. Input errors (unknown layout, an empty class, a bad option, a missing
// model, an unwritable run folder, resume without a checkpoint) throw core::Error before
// training starts and before the run folder is touched. Once training runs, an error emits
// onFailed (and a "failed" line) and is rethrown. Cancel (stop token) returns within one step
// with reason "cancelled"; checkpoints/last keeps the last finished epoch.
//
// A device running out of memory (CUDA's allocator, or the CPU's) ends the run the same way, with
// a message naming the batch size, --checkpoint-activations and bf16; checkpoints/last keeps the
// last finished epoch, so `--resume` continues once the settings fit.
FinishedEvent train(const TrainOptions &options, TrainObserver &observer, std::stop_token stop = {},
    TrainControl *control = nullptr);

// The precision `--precision auto` trains in on `device` (as resolveDevice returns it): bf16
// autocast on a CUDA device with native bf16 (compute capability 8.0 and newer), else fp32.
Precision defaultTrainingPrecision(const std::string &device);

// The input pipeline alone, without a model: the training split's batches made on one thread
// exactly as train() makes them (waveform augmentation and fbank, SpecAugment, mixup; features
// from memory when nothing augments the waveform), epoch after epoch for at least `minSeconds`.
// A GPU step faster than this rate would wait for its data. Throws as train() does for bad
// input.
struct PipelineBenchmark
{
    std::int64_t samples = 0;
    double seconds = 0.0;
    double samplesPerSecond = 0.0;
    bool waveform = false; // batches were made from audio (waveform augmentation)
};
PipelineBenchmark benchmarkInputPipeline(const TrainOptions &options, double minSeconds);

// The JSON lines of metrics.jsonl (one object, no newline).
std::string eventJson(const ImportEvent &event);
std::string eventJson(const StepEvent &event);
std::string eventJson(const EpochEvent &event);
std::string eventJson(const FinishedEvent &event);
std::string eventJson(const FailedEvent &event);

// {"examples", "accuracy", "balanced_accuracy", "macro_f1", "per_class": label -> {precision,
// recall, f1, accuracy, support}, "confusion"}: how epoch, finished and `astpeft eval` report
// metrics.
std::string metricsJson(
    const ClassificationMetrics &metrics, const std::vector<std::string> &labels);

// options.json <-> TrainOptions (every field; paths as given).
std::string trainOptionsJson(const TrainOptions &options);
TrainOptions parseTrainOptions(const std::string &json, const std::filesystem::path &file = {});

struct RunFiles
{
    static constexpr const char *metrics = "metrics.jsonl";
    static constexpr const char *options = "options.json";
    static constexpr const char *command = "command.txt";
    static constexpr const char *confusion = "confusion.csv";
    static constexpr const char *lastCheckpoint = "checkpoints/last";
};

// Evaluates a run folder's adapter on one split of a dataset, with the run's preprocessing and
// its split options (so "validation" is the validation set it was trained with).
struct EvalOptions
{
    std::filesystem::path run {};
    std::filesystem::path data {}; // empty: the run's data
    std::filesystem::path model {}; // empty: the run's backbone
    Split split = Split::Test;
    std::string device = "auto";
    int batchSize = 0; // 0: the run's (so losses match its epoch events to the last bit)
};
struct EvalResult
{
    ClassificationMetrics metrics;
    double loss = 0.0;
    std::vector<std::string> labels;
    std::vector<SkippedFile> skipped;
};
EvalResult evaluateRun(const EvalOptions &options, TrainObserver *observer = nullptr);

// Writes a run's adapter merged into its backbone as a plain Hugging Face-layout checkpoint in
// `out` (config.json with the run's labels, max_length and normalisation; model.safetensors,
// both written atomically): how the bundled backbone is made from a full fine-tuning run
// (tools/make_backbone.sh). Full, linear, BitFit and LoRA runs merge; adapters, prompts and
// prefixes add computation a plain AST cannot express: ErrorKind::Usage "cannot be merged",
// before anything is written. `model` empty: the run's backbone.
void exportMergedRun(const std::filesystem::path &run, const std::filesystem::path &model,
    const std::filesystem::path &out);

} // namespace astpeft::core
