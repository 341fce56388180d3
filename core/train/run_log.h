// SPDX-License-Identifier: MIT
// A run folder read back: its metrics.jsonl as the trainer's event structs (the mirror of
// eventJson() in train_events.cpp), plus options.json. What the studio's Runs view lists and
// plots, and what the Live view takes an adapter's labels from. Torch-free; any thread.
#pragma once

#include "train/train_events.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace astpeft::core {

struct RunLog
{
    std::filesystem::path dir;
    // Non-empty when the run could not be read ("FILE: reason"); the fields below then hold
    // what was read before the problem, if anything.
    std::string error;

    std::vector<std::string> labels; // class order (the import event)
    std::string method; // "lora", ...
    std::int64_t trainableParameters = 0;
    int plannedEpochs = 0; // options.json (or the epoch events); 0 unknown
    std::vector<StepEvent> steps;
    // Labels filled in; predictions empty (not logged); per-class metrics in label order.
    std::vector<EpochEvent> epochs;
    std::optional<FinishedEvent> finished; // absent while running or after a crash
    std::string failure; // the "failed" event's message

    // The best validation accuracy (the finished event's, else the epochs' maximum), 0..1.
    double bestValAccuracy() const;
    // "completed", "cancelled", ..., "failed: MESSAGE", or "not finished".
    std::string status() const;
    double seconds() const; // training time: the finished event's, else the epochs' sum
};

// Never throws: an unreadable folder, a missing or malformed metrics.jsonl (a truncated last
// line, as a crash mid-write leaves, is ignored) or a malformed options.json sets `error`.
RunLog readRunLog(const std::filesystem::path &runDir);

} // namespace astpeft::core
