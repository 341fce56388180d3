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
#include <string_view>

#include <sys/stat.h>

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

// One event line into the log; `imported` turns true at the import event; `epochs`: the most
// epochs an epoch event planned.
void addEvent(RunLog &log, const json &o, bool &imported, int &epochs)
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
        epochs = std::max(epochs, log.epochs.back().epochs);
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

// How many bytes before the read offset are compared on each update: a log cut back and written
// again past the offset between two updates differs there (a resumed run's step lines differ
// from the first attempt's in their speed and ETA), so it is read again from the start.
constexpr std::size_t kTailBytes = 4096;

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
    RunLogReader reader(runDir);
    reader.update();
    return reader.log();
}

RunLogReader::RunLogReader(fs::path runDir)
    : m_file(runDir / RunFiles::metrics)
{
    m_log.dir = std::move(runDir);
}

void RunLogReader::restart()
{
    RunLog fresh;
    fresh.dir = std::move(m_log.dir);
    m_log = std::move(fresh);
    m_haveFile = false;
    m_offset = 0;
    m_tail.clear();
    m_newlines = 0;
    m_imported = false;
    m_atEnd = false;
    m_optionsRead = false;
    m_optionsEpochs = m_eventEpochs = 0;
    m_methodFromOptions.clear();
    m_lineError.clear();
    m_optionsError.clear();
}

// options.json: the planned epochs (absent in a folder copied without it, or before the trainer
// wrote it); read once it is there.
bool RunLogReader::readOptions()
{
    const fs::path options = m_log.dir / RunFiles::options;
    std::error_code ec;
    if (m_optionsRead || !fs::exists(options, ec))
        return false;
    m_optionsRead = true;
    try {
        const TrainOptions o = parseTrainOptions(readTextFile(options), options);
        m_optionsEpochs = o.epochs;
        m_methodFromOptions = methodName(o.peft.method);
    } catch (const std::exception &e) {
        m_optionsError = e.what();
    }
    return true;
}

bool RunLogReader::parse(const std::string &text, std::size_t pos, bool eof)
{
    bool added = false;
    while (pos < text.size()) {
        const std::size_t end = text.find('\n', pos);
        const bool whole = end != std::string::npos;
        if (!whole && !eof)
            break; // the rest of the line is beyond this slice
        const std::string_view line(text.data() + pos, (whole ? end : text.size()) - pos);
        const std::size_t next = whole ? end + 1 : text.size();
        const std::string where = m_file.string() + ": line " + std::to_string(m_newlines + 1);
        if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
            json o = json::parse(line, nullptr, false);
            if (!o.is_object()) {
                if (whole)
                    m_lineError = where + " is not a JSON object";
                break; // a partial last line waits for its rest
            }
            try {
                addEvent(m_log, o, m_imported, m_eventEpochs);
            } catch (const std::exception &e) {
                m_lineError = where + ": " + e.what();
                break;
            }
            added = true;
        }
        m_offset += next - pos;
        m_newlines += whole ? 1 : 0;
        pos = next;
    }
    const std::size_t keep = std::min(kTailBytes, pos);
    m_tail.assign(text, pos - keep, keep);
    return added;
}

void RunLogReader::composeError()
{
    m_log.plannedEpochs = m_optionsEpochs > 0 ? m_optionsEpochs : m_eventEpochs;
    if (m_log.method.empty())
        m_log.method = m_methodFromOptions;
    if (!m_fileError.empty()) {
        m_log.error = m_fileError;
    } else if (!m_lineError.empty()) {
        m_log.error = m_lineError;
    } else if (m_atEnd && !m_imported) {
        m_log.error = m_file.string() + ": no import event; not a training run's log";
    } else {
        m_log.error = m_optionsError;
    }
}

RunLogReader::Update RunLogReader::update(std::uintmax_t maxBytes)
{
    const std::string errorBefore = m_log.error;
    Update result = Update::Unchanged;
    const auto finish = [&] {
        if (readOptions() && result == Update::Unchanged)
            result = Update::Appended;
        composeError();
        if (result == Update::Unchanged && m_log.error != errorBefore)
            result = Update::Appended;
        return result;
    };

    std::error_code ec;
    if (!fs::is_directory(m_log.dir, ec)) {
        m_fileError = m_log.dir.string() + ": no such run folder";
        m_atEnd = true;
        return finish();
    }
    struct stat st = {};
    if (::stat(m_file.c_str(), &st) != 0) {
        m_fileError =
            m_file.string() + ": cannot read the metrics log (" + std::strerror(errno) + ")";
        m_atEnd = true;
        return finish();
    }
    m_fileError.clear();
    const auto size = std::uintmax_t(st.st_size);
    const long long mtime = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
    const bool sameFile = m_haveFile && st.st_dev == m_device && st.st_ino == m_inode;
    if (!sameFile || size < m_offset) {
        restart(); // a new file, or cut back (a resumed run)
        result = Update::Reread;
    } else if (m_atEnd && size == m_size && mtime == m_mtimeNs) {
        return finish();
    }

    for (int attempt = 0; attempt < 3; ++attempt) {
        const std::uintmax_t from = m_offset - m_tail.size();
        const std::uintmax_t available = size > from ? size - from : 0;
        const std::uintmax_t want =
            maxBytes >= available - std::min<std::uintmax_t>(available, m_tail.size())
            ? available
            : m_tail.size() + maxBytes;
        std::ifstream in(m_file, std::ios::binary);
        if (!in) {
            m_fileError =
                m_file.string() + ": cannot read the metrics log (" + std::strerror(errno) + ")";
            m_atEnd = true;
            return finish();
        }
        std::string text(std::size_t(want), '\0');
        in.seekg(std::streamoff(from));
        in.read(text.data(), std::streamsize(text.size()));
        text.resize(std::size_t(std::max<std::streamsize>(in.gcount(), 0)));
        if (text.compare(0, m_tail.size(), m_tail) != 0) {
            // Cut back and written again past the offset since the last update: read it again.
            restart();
            result = Update::Reread;
            continue;
        }
        // A short read is the end too (a file system that reports a size before the bytes).
        const bool eof = text.size() < want || from + text.size() >= size;
        const std::uintmax_t offsetBefore = m_offset;
        m_lineError.clear(); // a bad line is read again once the file changed
        if (parse(text, m_tail.size(), eof) && result == Update::Unchanged)
            result = Update::Appended;
        m_atEnd = eof || !m_lineError.empty();
        if (m_atEnd || m_offset != offsetBefore)
            break;
        maxBytes = kAll; // a line longer than the slice: read it whole
    }
    m_haveFile = true;
    m_device = st.st_dev;
    m_inode = st.st_ino;
    m_size = size;
    m_mtimeNs = mtime;
    return finish();
}

} // namespace astpeft::core
