// SPDX-License-Identifier: MIT
// What a training run reports: the events its observer receives, their JSON lines in the run
// folder's metrics.jsonl (written here, read back by train/run_log.h), and the run folder's
// file names. Torch-free (ui/ and app/ include it).
#pragma once

#include "data/dataset.h"
#include "enum_names.h"
#include "peft/peft_config.h"
#include "train/metrics.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace astpeft::core {

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
    int worldSize = 1; // processes of a data-parallel run (1: a plain run)
};

// Feature extraction and other long preparations, for progress bars; not logged.
enum class ProgressPhase {
    Features, // fbank features of the clips (or loading them from the cache)
    EncoderCache, // linear probing: the frozen encoder's outputs, once per clip
    Evaluating, // the final test pass
};
template<> struct EnumTable<ProgressPhase>
{
    static constexpr const char *what = "phase";
    static constexpr std::pair<ProgressPhase, const char *> items[] = {
        { ProgressPhase::Features, "features" },
        { ProgressPhase::EncoderCache, "encoder-cache" },
        { ProgressPhase::Evaluating, "evaluating" },
    };
};

struct ProgressEvent
{
    ProgressPhase phase = ProgressPhase::Features;
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
    // Processes of a data-parallel run: loss and samples/s are the whole group's.
    int worldSize = 1;
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

enum class FinishReason {
    Completed, // every epoch ran
    EarlyStopping, // --patience epochs without a better validation result
    StoppedAfterEpoch, // TrainControl::stopAfterEpoch()
    Cancelled, // the stop token; resumable from the last finished epoch
};
template<> struct EnumTable<FinishReason>
{
    static constexpr const char *what = "finish reason";
    static constexpr std::pair<FinishReason, const char *> items[] = {
        { FinishReason::Completed, "completed" },
        { FinishReason::EarlyStopping, "early-stopping" },
        { FinishReason::StoppedAfterEpoch, "stopped-after-epoch" },
        { FinishReason::Cancelled, "cancelled" },
    };
};

struct FinishedEvent
{
    FinishReason reason = FinishReason::Completed;
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
    int worldSize = 1;
    // A data-parallel run's gradient all-reduces on this process (rank 0's, in metrics.jsonl):
    // how many, the gradient bytes each rank sent into them, and the time they took.
    std::int64_t allReduces = 0, allReduceBytes = 0;
    double allReduceSeconds = 0.0;
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

struct RunFiles
{
    static constexpr const char *metrics = "metrics.jsonl";
    static constexpr const char *options = "options.json";
    static constexpr const char *command = "command.txt";
    static constexpr const char *confusion = "confusion.csv";
    static constexpr const char *lastCheckpoint = "checkpoints/last";
};

} // namespace astpeft::core
