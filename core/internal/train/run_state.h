// SPDX-License-Identifier: MIT
// What a run folder keeps between epochs, so that --resume continues exactly: the trainer state
// and the optimizer moments in checkpoints/last (replaced as a whole), and metrics.jsonl.
// Core-internal: includes torch.
#pragma once

#include "train/dist_env.h"
#include "train/optimizer.h"
#include "train/trainer.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace astpeft::core::detail {

// The trainer's counters at the end of an epoch (trainer_state.json in the checkpoint).
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
    int worldSize = 1; // processes of a data-parallel run: a resumed run needs as many
};

inline constexpr const char *kStateFile = "trainer_state.json";
inline constexpr const char *kOptimizerFile = "optimizer.safetensors";

std::string stateJson(const TrainerState &s);
TrainerState parseState(const std::filesystem::path &file);

// Optimizer moments under "exp_avg.<param>" / "exp_avg_sq.<param>", float32.
void saveOptimizer(const AdamW &opt, const std::filesystem::path &file);
void loadOptimizer(AdamW &opt, const std::filesystem::path &file);

// Replaces `dir` by a folder written completely under a temporary name, so a crash or a full
// disk leaves either the old or the new checkpoint, never a mix. `write` fills the folder.
void replaceFolder(const std::filesystem::path &dir,
    const std::function<void(const std::filesystem::path &)> &write);

// The checkpoint folder to resume from: `last`, or `last.old` when a replacement was cut short.
// Empty when there is none.
std::filesystem::path findCheckpoint(const std::filesystem::path &run);

// Throws ErrorKind::Usage naming the options that differ from the options.json of the run folder
// `run` (paths compared as absolute paths) beyond those a resumed run may change (epochs, device,
// patience, the caches).
void checkResumeOptions(const TrainOptions &now, const std::filesystem::path &run);

// Appends JSON lines to metrics.jsonl, each written whole or not at all: a line that cannot be
// written (full disk) is cut off again, so the log keeps whole lines and a "failed" event can
// still follow.
class MetricsLog
{
public:
    MetricsLog() = default;
    ~MetricsLog();
    MetricsLog(const MetricsLog &) = delete;
    MetricsLog &operator=(const MetricsLog &) = delete;

    // Opens `file` for appending after its first `keep` bytes (0: a new log), dropping the rest:
    // what a resumed run logged after its checkpoint, a line cut short. A log shorter than
    // `keep` keeps its whole lines.
    void open(const std::filesystem::path &file, std::uintmax_t keep);
    void write(const std::string &line);
    std::uintmax_t bytes() const { return m_bytes; }

private:
    std::filesystem::path m_file;
    int m_fd = -1;
    std::uintmax_t m_bytes = 0;
};

} // namespace astpeft::core::detail
