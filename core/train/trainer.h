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
#include "io/safetensors.h"
#include "peft/peft_config.h"
#include "train/augment.h"
#include "train/metrics.h"
#include "train/train_events.h"

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

// One process of a data-parallel run (torch.distributed's c10d): where it joins its group and
// which collective backend it uses. The launchers' environment (torchrun, SLURM, --nproc) is read
// by the CLI from the launcher's environment (torchrun, SLURM, --nproc); worldSize 1 is a plain
// single-process run. Not in options.json; the checkpoint records the world size, and --resume
// needs the same.
struct DataParallelOptions
{
    int rank = 0;
    int worldSize = 1;
    int localRank = 0; // which GPU of its machine a CUDA process uses
    std::string masterAddr; // the rendezvous host (rank 0 listens there)
    int masterPort = 0;
    std::string backend = "auto"; // "gloo", "nccl", or "auto": NCCL on CUDA devices, else Gloo
    double timeoutSeconds = 300.0; // rendezvous and each collective: a peer silent this long fails
    // The launcher hosts the store at masterAddr:masterPort (torchrun's agent,
    // TORCHELASTIC_USE_AGENT_STORE): rank 0 joins it as the others do instead of listening.
    bool launcherStore = false;
    // The group's keys in the store start with it: a restarted group (torchrun's
    // TORCHELASTIC_RESTART_COUNT) must not read its predecessor's.
    std::string storePrefix = "astpeft";
};

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
    DataParallelOptions parallel;
};

// Pause/resume and "stop after this epoch", from any thread. Cancel is the stop token.
class TrainControl
{
public:
    void pause();
    void resume();
    bool paused() const { return m_paused.load(); }
    // Whether the training thread is held in waitWhilePaused() now (a pause has taken effect).
    bool holding() const { return m_holding.load(); }
    void stopAfterEpoch() { m_stopAfterEpoch = true; }
    bool stopAfterEpochRequested() const { return m_stopAfterEpoch.load(); }
    // Training thread: blocks while paused; returns false when the stop token fires.
    bool waitWhilePaused(std::stop_token stop);

private:
    std::atomic<bool> m_paused { false }, m_stopAfterEpoch { false }, m_holding { false };
    std::mutex m_mutex;
    std::condition_variable_any m_resumed;
};

// Runs the whole job. Input errors (unknown layout, an empty class, a bad option, a missing
// model, an unwritable run folder, resume of a folder where no run started) throw core::Error
// before training starts and before the run folder is touched. Once training runs, an error
// emits onFailed (and a "failed" line where the log can still be written) and is rethrown.
// Cancel (stop token) returns within one step with reason "cancelled"; checkpoints/last keeps
// the last finished epoch. `resume` continues from checkpoints/last, or from the start when the
// run stopped in its first epoch (no checkpoint yet).
//
// A run folder belongs to one train() at a time (FolderLock, io/folder_lock.h: `.lock` in the
// folder, held until train() returns): another train() on it, in this process or another, is
// refused at once with core::Error(Io) "the run folder is in use by process PID".
//
// Data-parallel (options.parallel.worldSize > 1; internal/train/training_run.h): every process
// calls train() with the same options; the global batch is batchSize x worldSize and the
// schedule counts its steps; the result is that of one process training on the global batch
// (to fp32 rounding; augmentation draws per rank; BatchNorm's batch statistics are per rank).
// Rank 0 alone locks and writes the run folder; every process emits the events to its
// observer. An error on one rank ends the others within options.parallel.timeoutSeconds, each
// throwing core::Error(Io) naming the rank at fault; a resumed run needs the same world size.
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

// options.json <-> TrainOptions (every field; paths as given).
std::string trainOptionsJson(const TrainOptions &options);
TrainOptions parseTrainOptions(const std::string &json, const std::filesystem::path &file = {});
// `options` with its paths (model, data, noise files, out, feature cache) absolute: what train()
// records in options.json, so that eval, export and --resume work from any folder.
TrainOptions withAbsolutePaths(TrainOptions options);
// A run folder's options.json with absolute paths. A relative one (a run recorded before paths
// were made absolute: as given on the command line) is taken relative to the folder that run
// was started from, the run folder less its relative "out" ("runs/a" in /p/runs/a: /p), or,
// when they do not match, the working directory. core::Error as parseTrainOptions.
TrainOptions readRunOptions(const std::filesystem::path &run);

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
// before anything is written. `model` empty: the run's backbone. `dtype` (F32, F16 or BF16) is
// how the weights are stored; loading converts them back to float32.
void exportMergedRun(const std::filesystem::path &run, const std::filesystem::path &model,
    const std::filesystem::path &out, DType dtype = DType::F32);

} // namespace astpeft::core
