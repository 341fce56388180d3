// SPDX-License-Identifier: MIT
#include "train/compare.h"

#include "error.h"
#include "human_format.h"
#include "io/atomic_file.h"
#include "io/folder_lock.h"
#include "train/train_flags.h"

#include <optional>
#include <sstream>

namespace astpeft::core {

namespace {

CompareRow trainOne(const TrainOptions &options, CompareObserver &observer, std::stop_token stop,
    TrainControl *control)
{
    CompareRow row;
    row.method = methodName(options.peft.method);
    row.run = options.out;
    try {
        const FinishedEvent f = train(options, observer, stop, control);
        row.status = enumName(f.reason);
        row.trained = true;
        row.trainableParameters = f.trainableParameters;
        row.bestValAccuracy = f.bestValAccuracy;
        if (f.hasTest)
            row.testAccuracy = f.test.accuracy;
        row.seconds = f.seconds;
    } catch (const Error &e) {
        // One method that cannot run (over budget, out of memory) does not stop the others.
        row.status = e.reason();
    }
    return row;
}

} // namespace

std::vector<TrainOptions> comparisonRuns(const TrainOptions &base,
    const std::vector<PeftMethod> &methods, const std::function<PeftConfig(PeftMethod)> &peftOf,
    const std::function<std::filesystem::path(PeftMethod)> &outOf)
{
    std::vector<TrainOptions> runs;
    for (PeftMethod method : methods) {
        TrainOptions o = base;
        o.peft = peftOf(method);
        o.out = outOf(method);
        o.resume = false;
        o.command = trainCommandLine(o);
        runs.push_back(std::move(o));
    }
    return runs;
}

std::vector<CompareRow> compare(const std::vector<TrainOptions> &runs,
    const std::filesystem::path &out, CompareObserver &observer, std::stop_token stop,
    TrainControl *control)
{
    // The comparison's folder is one job's too (each run's folder is locked by train()).
    std::optional<FolderLock> lock;
    if (!out.empty()) {
        createDirectories(out);
        lock.emplace(out, "comparison folder");
    }
    std::vector<CompareRow> rows;
    for (const TrainOptions &options : runs) {
        observer.onRunStarted(options);
        rows.push_back(trainOne(options, observer, stop, control));
        observer.onRunFinished(rows.back());
        if (stop.stop_requested() || (control && control->stopAfterEpochRequested()))
            break;
    }
    if (!out.empty()) {
        writeFileAtomic(out / "comparison.csv", comparisonCsv(rows));
        writeFileAtomic(out / "comparison.md", comparisonMarkdown(rows));
    }
    return rows;
}

std::string comparisonCsv(const std::vector<CompareRow> &rows)
{
    std::ostringstream csv;
    csv << "method,trainable_parameters,best_val_accuracy,test_accuracy,seconds,status\n";
    for (const CompareRow &r : rows) {
        std::string status = r.status;
        for (std::size_t i = status.find('"'); i != std::string::npos; i = status.find('"', i + 2))
            status.insert(i, 1, '"');
        csv << r.method << ',' << r.trainableParameters << ',' << r.bestValAccuracy << ','
            << (r.testAccuracy ? std::to_string(*r.testAccuracy) : "") << ',' << r.seconds << ",\""
            << status << "\"\n";
    }
    return csv.str();
}

std::string comparisonMarkdown(const std::vector<CompareRow> &rows)
{
    std::ostringstream md;
    md << "| method | trainable parameters | best val accuracy | test accuracy | time | status "
          "|\n|---|---:|---:|---:|---:|---|\n";
    for (const CompareRow &r : rows) {
        std::string status = r.status;
        for (std::size_t i = status.find('|'); i != std::string::npos; i = status.find('|', i + 2))
            status.insert(i, 1, '\\');
        md << "| " << r.method << " | " << r.trainableParameters << " | "
           << humanPercent(r.bestValAccuracy) << " | "
           << (r.testAccuracy ? humanPercent(*r.testAccuracy) : "-") << " | "
           << humanDuration(r.seconds) << " | " << status << " |\n";
    }
    return md.str();
}

} // namespace astpeft::core
