// SPDX-License-Identifier: MIT
// Method comparison as one job: the same data and recipe trained once per method at one budget,
// each run in its own folder, then a table of trainable parameters, best validation accuracy,
// test accuracy and time (the paper's Table 1 on your data) as comparison.csv and
// comparison.md. Behind both `astpeft compare` and the studio's "Compare methods...".
// Torch-free.
#pragma once

#include "train/trainer.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace astpeft::core {

struct CompareRow
{
    std::string method;
    // The finish reason ("completed", "cancelled", ...), or why the run could not train (over
    // budget, out of memory, a bad option): one line.
    std::string status;
    bool trained = false; // the run finished (whatever its reason); false: `status` is an error
    std::int64_t trainableParameters = 0;
    double bestValAccuracy = 0.0;
    std::optional<double> testAccuracy;
    double seconds = 0.0;
    std::filesystem::path run;
};

class CompareObserver : public TrainObserver
{
public:
    // Before each run, with its options (the run folder is not written yet).
    virtual void onRunStarted(const TrainOptions &) { }
    // After each run, trained or not.
    virtual void onRunFinished(const CompareRow &) { }
};

// One run per method: `base` with the method's PEFT setting from peftOf(method) and its run
// folder from outOf(method); options.command is the CLI command that repeats each run.
std::vector<TrainOptions> comparisonRuns(const TrainOptions &base,
    const std::vector<PeftMethod> &methods, const std::function<PeftConfig(PeftMethod)> &peftOf,
    const std::function<std::filesystem::path(PeftMethod)> &outOf);

// Trains `runs` one after another. A run that cannot train (its budget does not fit the method,
// the device runs out of memory) gets a row with the reason and the others go on. A stop
// request, or a run ended by TrainControl::stopAfterEpoch(), ends the comparison after the run
// in hand (its row says so). Writes comparison.csv and comparison.md into `out` (atomically;
// nothing when `out` is empty) and returns the rows, in run order. `out` is created and locked
// first (FolderLock): a second comparison into it throws core::Error(Io) before any run.
std::vector<CompareRow> compare(const std::vector<TrainOptions> &runs,
    const std::filesystem::path &out, CompareObserver &observer, std::stop_token stop = {},
    TrainControl *control = nullptr);

// "method,trainable_parameters,best_val_accuracy,test_accuracy,seconds,status" rows.
std::string comparisonCsv(const std::vector<CompareRow> &rows);
// A Markdown table: method, trainable parameters, accuracies in %, time, status.
std::string comparisonMarkdown(const std::vector<CompareRow> &rows);

} // namespace astpeft::core
