// SPDX-License-Identifier: MIT
#include "train/run_log.h"

#include "error.h"
#include "io/atomic_file.h"
#include "train/trainer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

namespace astpeft::core {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A number, or NaN for null or missing (the trainer writes a diverged loss as null).
double number(const json &o, const char *key)
{
    const auto it = o.find(key);
    return it != o.end() && it->is_number() ? it->get<double>()
                                            : std::numeric_limits<double>::quiet_NaN();
}

double numberOr0(const json &o, const char *key)
{
    const double v = number(o, key);
    return std::isnan(v) ? 0.0 : v;
}

template<typename T> T value(const json &o, const char *key, T fallback = {})
{
    const auto it = o.find(key);
    if (it == o.end() || it->is_null())
        return fallback;
    if constexpr (std::is_same_v<T, std::string>) {
        return it->is_string() ? it->get<std::string>() : fallback;
    } else if constexpr (std::is_same_v<T, bool>) {
        return it->is_boolean() ? it->get<bool>() : fallback;
    } else {
        return it->is_number() ? it->get<T>() : fallback;
    }
}

// "per_class" (keyed by label) and "confusion" of an epoch or test object, in label order.
void readMetrics(const json &o, const std::vector<std::string> &labels, ClassificationMetrics &m)
{
    const json perClass =
        o.contains("per_class") && o["per_class"].is_object() ? o["per_class"] : json::object();
    std::vector<std::string> order = labels;
    if (order.empty()) { // no import event: the keys, in the object's (sorted) order
        for (const auto &[label, c] : perClass.items())
            order.push_back(label);
    }
    for (const std::string &label : order) {
        const json c = perClass.value(label, json::object());
        ClassMetrics k;
        k.precision = numberOr0(c, "precision");
        k.recall = numberOr0(c, "recall");
        k.f1 = numberOr0(c, "f1");
        k.support = value<int>(c, "support");
        m.perClass.push_back(k);
    }
    if (const auto it = o.find("confusion"); it != o.end() && it->is_array()) {
        for (const json &row : *it) {
            std::vector<std::int64_t> counts;
            for (const json &n : row)
                counts.push_back(n.is_number() ? n.get<std::int64_t>() : 0);
            m.confusion.push_back(std::move(counts));
        }
    }
    m.examples = 0;
    for (const ClassMetrics &k : m.perClass)
        m.examples += k.support;
}

StepEvent stepEvent(const json &o)
{
    StepEvent e;
    e.epoch = value<int>(o, "epoch");
    e.step = value<std::int64_t>(o, "step");
    e.totalSteps = value<std::int64_t>(o, "total_steps");
    e.loss = number(o, "loss");
    e.learningRate = numberOr0(o, "learning_rate");
    e.samplesPerSecond = numberOr0(o, "samples_per_second");
    e.etaSeconds = numberOr0(o, "eta_seconds");
    e.deviceMemoryBytes = value<std::int64_t>(o, "device_memory_bytes");
    e.peakDeviceMemoryBytes = value<std::int64_t>(o, "peak_device_memory_bytes");
    return e;
}

EpochEvent epochEvent(const json &o, const std::vector<std::string> &labels)
{
    EpochEvent e;
    e.epoch = value<int>(o, "epoch");
    e.epochs = value<int>(o, "epochs");
    e.trainLoss = number(o, "train_loss");
    e.trainAccuracy = numberOr0(o, "train_accuracy");
    e.best = value<bool>(o, "best");
    e.seconds = numberOr0(o, "seconds");
    e.etaSeconds = numberOr0(o, "eta_seconds");
    e.labels = labels;
    e.hasValidation = o.contains("val_accuracy") && o["val_accuracy"].is_number();
    if (e.hasValidation) {
        e.valLoss = number(o, "val_loss");
        e.validation.accuracy = numberOr0(o, "val_accuracy");
        e.validation.balancedAccuracy = numberOr0(o, "val_balanced_accuracy");
        e.validation.macroF1 = numberOr0(o, "val_macro_f1");
        readMetrics(o, labels, e.validation);
    }
    return e;
}

// Throws core::Error(Usage) for an unknown reason.
FinishedEvent finishedEvent(const json &o, const std::vector<std::string> &labels)
{
    FinishedEvent e;
    e.reason = parseEnum<FinishReason>(value<std::string>(o, "reason"));
    e.epochsCompleted = value<int>(o, "epochs_completed");
    e.bestEpoch = value<int>(o, "best_epoch");
    e.bestValAccuracy = numberOr0(o, "best_val_accuracy");
    e.seconds = numberOr0(o, "seconds");
    e.trainableParameters = value<std::int64_t>(o, "trainable_parameters");
    e.method = value<std::string>(o, "method");
    e.runDir = value<std::string>(o, "run");
    e.labels = labels;
    e.hasTest = o.contains("test_accuracy") && o["test_accuracy"].is_number();
    if (e.hasTest) {
        const json test = o.value("test", json::object());
        e.testLoss = number(o, "test_loss");
        e.test.accuracy = numberOr0(o, "test_accuracy");
        e.test.balancedAccuracy = numberOr0(test, "balanced_accuracy");
        e.test.macroF1 = numberOr0(test, "macro_f1");
        readMetrics(test, labels, e.test);
    }
    return e;
}

// One event line into the log; `imported` turns true at the import event.
void addEvent(RunLog &log, const json &o, bool &imported)
{
    const std::string event = value<std::string>(o, "event");
    if (event == "import") {
        imported = true;
        log.labels.clear();
        for (const json &c : o.value("classes", json::array())) {
            if (c.is_string())
                log.labels.push_back(c.get<std::string>());
        }
        log.method = value<std::string>(o, "method");
        log.trainableParameters =
            value<std::int64_t>(o.value("parameters", json::object()), "trainable");
    } else if (event == "step") {
        log.steps.push_back(stepEvent(o));
    } else if (event == "epoch") {
        log.epochs.push_back(epochEvent(o, log.labels));
        log.plannedEpochs = std::max(log.plannedEpochs, log.epochs.back().epochs);
    } else if (event == "finished") {
        log.finished = finishedEvent(o, log.labels);
        if (log.method.empty())
            log.method = log.finished->method;
        if (log.finished->trainableParameters > 0)
            log.trainableParameters = log.finished->trainableParameters;
    } else if (event == "failed") {
        log.failure = value<std::string>(o, "message");
    }
}

// metrics.jsonl into `log`; returns the problem ("" when none).
std::string readMetricsFile(RunLog &log, const fs::path &file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return file.string() + ": cannot read the metrics log (" + std::strerror(errno) + ")";
    std::stringstream whole;
    whole << in.rdbuf();
    const std::string text = whole.str();
    bool imported = false;
    std::size_t start = 0;
    for (int number = 1; start < text.size(); ++number) {
        const std::size_t end = text.find('\n', start);
        const bool last = end == std::string::npos; // no newline: a line cut short by a crash
        const std::string line = text.substr(start, last ? std::string::npos : end - start);
        start = last ? text.size() : end + 1;
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        json o = json::parse(line, nullptr, false);
        if (!o.is_object()) {
            if (last)
                break; // everything before it is good
            return file.string() + ": line " + std::to_string(number) + " is not a JSON object";
        }
        try {
            addEvent(log, o, imported);
        } catch (const std::exception &e) {
            return file.string() + ": line " + std::to_string(number) + ": " + e.what();
        }
    }
    if (!imported)
        return file.string() + ": no import event; not a training run's log";
    return {};
}

} // namespace

double RunLog::bestValAccuracy() const
{
    if (finished)
        return finished->bestValAccuracy;
    double best = 0.0;
    for (const EpochEvent &e : epochs) {
        if (e.hasValidation)
            best = std::max(best, e.validation.accuracy);
    }
    return best;
}

std::string RunLog::status() const
{
    if (finished)
        return enumName(finished->reason);
    if (!failure.empty())
        return "failed: " + failure;
    return "not finished";
}

double RunLog::seconds() const
{
    if (finished)
        return finished->seconds;
    double sum = 0.0;
    for (const EpochEvent &e : epochs)
        sum += e.seconds;
    return sum;
}

RunLog readRunLog(const fs::path &runDir)
{
    RunLog log;
    log.dir = runDir;
    std::error_code ec;
    if (!fs::is_directory(runDir, ec)) {
        log.error = runDir.string() + ": no such run folder";
        return log;
    }
    log.error = readMetricsFile(log, runDir / RunFiles::metrics);
    if (!log.error.empty())
        return log;
    // options.json: the planned epochs (absent in a folder copied without it).
    const fs::path options = runDir / RunFiles::options;
    if (fs::exists(options, ec)) {
        try {
            const TrainOptions o = parseTrainOptions(readTextFile(options), options);
            log.plannedEpochs = o.epochs;
            if (log.method.empty())
                log.method = methodName(o.peft.method);
        } catch (const std::exception &e) {
            log.error = e.what();
        }
    }
    return log;
}

} // namespace astpeft::core
