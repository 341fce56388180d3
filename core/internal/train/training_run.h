// SPDX-License-Identifier: MIT
// One train() call as named phases, called in this order by train() (trainer.cpp):
//   joinGroup                        the device, and a data-parallel run's process group
//   readInputs, loadBackbone         checks, dataset and backbone; before the run folder is
//                                    touched (an existing one is locked), errors throw without
//                                    a failed event
//   attachMethod, prepareInputs      PEFT modules and optimizer (or those of checkpoints/last),
//                                    features and noise, the run folder, the import event
//   cacheEncoderOutputs, planSteps   linear probing's encoder cache; the schedule
//   trainEpoch, endEpoch             per epoch: its steps, then validation and the checkpoint
//   finish                           the test pass with the best adapter, the finished event
// From attachMethod on, train() hands an error to reportFailure (failed event) and rethrows.
// The phases keep the order of random draws, file writes and events of a single loop, so a CPU
// run reproduces bit for bit and --resume continues exactly. training_epoch.cpp holds the epoch
// phases, training_run.cpp the others. Core-internal: includes torch.
//
// A data-parallel run (options.parallel.worldSize > 1) runs these phases in every process:
// each epoch's shuffle is the same everywhere, and global batch b (batchSize x worldSize clips)
// is split into one per-rank batch each; the ranks sum their gradients, each scaled by its share
// of the global batch, before every optimizer step (DataParallel), so the step is the one a
// single process would take on the whole global batch. Validation and test are sharded and
// their clips' scores gathered. Only rank 0 (the leader) locks and writes the run folder. A stop
// request takes effect where the ranks agree on it: at the next optimizer step.
#pragma once

#include "error.h"
#include "io/folder_lock.h"
#include "model/checkpoint.h"
#include "peft/adapter_manifest.h"
#include "train/batches.h"
#include "train/data_parallel.h"
#include "train/optimizer.h"
#include "train/run_state.h"
#include "train/runner.h"
#include "train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

namespace astpeft::core::detail {

using Clock = std::chrono::steady_clock;

inline double secondsSince(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// The running totals of one epoch, from trainEpoch to endEpoch.
struct EpochProgress
{
    int epoch = 0;
    Clock::time_point start;
    double pausedSeconds = 0.0;
    double lossSum = 0.0; // over the epoch: the clips' losses, summed
    std::int64_t correct = 0, seen = 0, inStep = 0, stepsThisEpoch = 0;
    // The current optimizer step's figures on this rank (the whole group's once the step's
    // all-reduce has summed them): the mean losses of its batches, each scaled by the rank's
    // share of its global batch; the clips' losses summed; correct and seen clips.
    double stepLoss = 0.0, stepLossSum = 0.0;
    std::int64_t stepCorrect = 0, stepSeen = 0;
};

class TrainingRun
{
public:
    TrainingRun(const TrainOptions &options, TrainObserver &observer, std::stop_token stop,
        TrainControl *control);

    void joinGroup();
    void readInputs();
    void loadBackbone();
    void attachMethod();
    void prepareInputs();
    void cacheEncoderOutputs();
    void planSteps();

    int firstEpoch() const { return m_state.epoch + 1; }
    bool runsEpoch(int epoch) const;
    // The steps of one epoch; nullopt when cancelled (the reason is set).
    std::optional<EpochProgress> trainEpoch(int epoch);
    // Validation, best adapter, checkpoint and epoch event; false when the run stops here.
    bool endEpoch(const EpochProgress &progress);
    FinishedEvent finish();

    // Writes and emits the failed event for `e`; returns the error to throw instead of `e` (out
    // of memory, with advice) or nullopt to rethrow `e`.
    std::optional<Error> reportFailure(const std::exception &e);
    // Tells the other processes of a data-parallel run why this one ends.
    void tellPeers(const std::exception &e) noexcept;

private:
    bool leader() const { return m_parallel->leader(); }
    // Whether the run stops: the stop token, or in a data-parallel run the ranks' agreement.
    bool stopRequested() const;
    void agreeOnStop();
    void logEvent(const std::string &json); // rank 0 only
    // A global batch's part for this rank: [from, to) of the epoch's order.
    std::pair<std::int64_t, std::int64_t> shardOf(std::int64_t batch) const;
    std::int64_t globalBatchSize(std::int64_t batch) const;
    void closeStep(EpochProgress &progress);
    EvalOutput evaluate(const Prepared &data);
    std::uint64_t dataFingerprint() const;
    bool waitWhilePaused(EpochProgress &progress);
    void trainBatch(const Batch &batch, std::int64_t globalSize, EpochProgress &progress);
    double optimizerStep();
    void reportStep(EpochProgress &progress, double learningRate);
    EpochEvent validateEpoch(const EpochProgress &progress);
    void keepIfBest(EpochEvent &e);
    void saveCheckpoint();
    void testBestAdapter();
    void encodeOnce();
    void checkEveryClassTrains() const;
    void checkRunFolder();
    void createRunFolder();
    BatchSource batchSource() const;

    const TrainOptions &m_options;
    TrainObserver &m_observer;
    std::stop_token m_stop;
    TrainControl *m_control = nullptr;
    const Clock::time_point m_started;
    const std::filesystem::path m_run;
    // Held from the first look at an existing run folder, or from its creation, to the end
    // (declared first of what the run writes: released last).
    std::optional<FolderLock> m_lock;
    std::filesystem::path m_checkpoint; // the one resumed from; empty: from the start
    // joinGroup: the process group (a one-process group for a plain run)
    std::unique_ptr<DataParallel> m_parallel = std::make_unique<DataParallel>();
    bool m_agreedStop = false;

    // readInputs
    Dataset m_dataset;
    int m_numClasses = 0;
    std::vector<Clip> m_trainClips, m_valClips, m_testClips;

    // loadBackbone
    int m_maxLength = 0;
    LoadedAst m_loaded;
    std::string m_fingerprint;
    std::string m_deviceName;
    torch::Device m_device { torch::kCPU };
    MetricsLog m_log;
    TrainerState m_state;

    // attachMethod
    AstForAudioClassification m_model { nullptr };
    AdapterManifest m_manifest; // its peft from loadBackbone (sized by the budget)
    AdamW m_opt;
    std::int64_t m_trainable = 0;

    // prepareInputs
    std::vector<SkippedFile> m_skipped;
    Prepared m_trainData, m_valData, m_testData;
    std::vector<std::vector<float>> m_noise;

    // cacheEncoderOutputs, planSteps
    Runner m_runner;
    double m_baseRate = 0.0;
    std::int64_t m_batches = 0, m_totalSteps = 0;
    bool m_f16 = false, m_prefetch = false, m_pinned = false;

    // the epochs and the test pass
    FinishedEvent m_finished;
    double m_lastEvalSeconds = 0.0;
    std::vector<std::pair<std::string, torch::Tensor>> m_best; // clones, for the test pass
};

} // namespace astpeft::core::detail
