// SPDX-License-Identifier: MIT
// core/train/run_log: metrics.jsonl read back is the mirror of its writer (eventJson): every
// field of step, epoch and finished events survives the round trip, a line cut short by a crash
// is ignored, and each way a run folder can be unreadable gives one message naming the file.
#include "io/atomic_file.h"
#include "io/folder_lock.h"
#include "train/metrics.h"
#include "train/run_log.h"
#include "train/trainer.h"

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace astpeft;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kLabels = { "no", "yes", "up" };

core::ImportEvent importEvent()
{
    core::ImportEvent e;
    e.labels = kLabels;
    for (const std::string &l : kLabels)
        e.summary.classes.push_back({ .label = l, .clips = 4, .seconds = 2.0, .perSplit = {} });
    e.peft.method = core::PeftMethod::Lora;
    e.parameters.methodModules = 1234;
    e.parameters.head = 5;
    return e;
}

core::ClassificationMetrics metrics()
{
    return core::computeMetrics({ 0, 0, 1, 2, 2, 2 }, { 0, 1, 1, 2, 2, 0 }, 3);
}

core::StepEvent stepEvent(int step)
{
    return { .epoch = 1 + (step - 1) / 2,
        .step = step,
        .totalSteps = 4,
        .loss = 1.5 / step,
        .learningRate = 1e-3 * step,
        .samplesPerSecond = 40.5,
        .etaSeconds = 12.0 / step,
        .deviceMemoryBytes = step * 1000,
        .peakDeviceMemoryBytes = 9000 };
}

core::EpochEvent epochEvent(int epoch)
{
    core::EpochEvent e;
    e.epoch = epoch;
    e.epochs = 2;
    e.trainLoss = 0.9 / epoch;
    e.trainAccuracy = 0.25 * epoch;
    e.hasValidation = true;
    e.valLoss = 0.7 / epoch;
    e.validation = metrics();
    e.best = epoch == 2;
    e.seconds = 3.5;
    e.labels = kLabels;
    return e;
}

core::FinishedEvent finishedEvent()
{
    core::FinishedEvent e;
    e.reason = core::FinishReason::EarlyStopping;
    e.epochsCompleted = 2;
    e.bestEpoch = 2;
    e.bestValAccuracy = 0.625;
    e.hasTest = true;
    e.testLoss = 0.5;
    e.test = metrics();
    e.seconds = 7.25;
    e.trainableParameters = 1239;
    e.method = "lora";
    e.labels = kLabels;
    return e;
}

void writeLines(
    const fs::path &file, const std::vector<std::string> &lines, bool lastNewline = true)
{
    std::ofstream out(file, std::ios::binary);
    for (std::size_t i = 0; i < lines.size(); ++i)
        out << lines[i] << (i + 1 < lines.size() || lastNewline ? "\n" : "");
}

std::vector<std::string> wholeRun()
{
    return { core::eventJson(importEvent()), core::eventJson(stepEvent(1)),
        core::eventJson(stepEvent(2)), core::eventJson(epochEvent(1)),
        core::eventJson(stepEvent(3)), core::eventJson(stepEvent(4)),
        core::eventJson(epochEvent(2)), core::eventJson(finishedEvent()) };
}

void append(const fs::path &file, const std::string &text)
{
    std::ofstream(file, std::ios::binary | std::ios::app) << text;
}

void compareMetrics(const core::ClassificationMetrics &got, const core::ClassificationMetrics &want)
{
    QCOMPARE(got.accuracy, want.accuracy);
    QCOMPARE(got.balancedAccuracy, want.balancedAccuracy);
    QCOMPARE(got.macroF1, want.macroF1);
    QCOMPARE(got.examples, want.examples);
    QCOMPARE(got.confusion, want.confusion);
    QCOMPARE(got.perClass.size(), want.perClass.size());
    for (std::size_t c = 0; c < want.perClass.size(); ++c) {
        QCOMPARE(got.perClass[c].precision, want.perClass[c].precision);
        QCOMPARE(got.perClass[c].recall, want.perClass[c].recall);
        QCOMPARE(got.perClass[c].f1, want.perClass[c].f1);
        QCOMPARE(got.perClass[c].support, want.perClass[c].support);
    }
}

} // namespace

class TestRunLog : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    int m_runs = 0;

    fs::path newRun()
    {
        const fs::path run = fs::path(m_dir.path().toStdString()) / std::to_string(++m_runs);
        fs::create_directories(run);
        return run;
    }

private Q_SLOTS:
    void roundTrip()
    {
        const fs::path run = newRun();
        writeLines(run / core::RunFiles::metrics, wholeRun());
        const core::RunLog log = core::readRunLog(run);
        QVERIFY2(log.error.empty(), log.error.c_str());
        QCOMPARE(log.dir, run);
        QCOMPARE(log.labels, kLabels);
        QCOMPARE(log.method, std::string("lora"));
        QCOMPARE(log.trainableParameters, std::int64_t(1239)); // the finished event's
        QCOMPARE(log.plannedEpochs, 2);

        QCOMPARE(log.steps.size(), std::size_t(4));
        for (int i = 0; i < 4; ++i) {
            const core::StepEvent want = stepEvent(i + 1), &got = log.steps[std::size_t(i)];
            QCOMPARE(got.epoch, want.epoch);
            QCOMPARE(got.step, want.step);
            QCOMPARE(got.totalSteps, want.totalSteps);
            QCOMPARE(got.loss, want.loss);
            QCOMPARE(got.learningRate, want.learningRate);
            QCOMPARE(got.samplesPerSecond, want.samplesPerSecond);
            QCOMPARE(got.etaSeconds, want.etaSeconds);
            QCOMPARE(got.deviceMemoryBytes, want.deviceMemoryBytes);
            QCOMPARE(got.peakDeviceMemoryBytes, want.peakDeviceMemoryBytes);
        }
        QCOMPARE(log.epochs.size(), std::size_t(2));
        for (int i = 0; i < 2; ++i) {
            const core::EpochEvent want = epochEvent(i + 1), &got = log.epochs[std::size_t(i)];
            QCOMPARE(got.epoch, want.epoch);
            QCOMPARE(got.epochs, want.epochs);
            QCOMPARE(got.trainLoss, want.trainLoss);
            QCOMPARE(got.trainAccuracy, want.trainAccuracy);
            QCOMPARE(got.best, want.best);
            QCOMPARE(got.seconds, want.seconds);
            QCOMPARE(got.labels, kLabels);
            QVERIFY(got.hasValidation);
            QCOMPARE(got.valLoss, want.valLoss);
            compareMetrics(got.validation, want.validation);
        }
        QVERIFY(log.finished);
        const core::FinishedEvent want = finishedEvent();
        QCOMPARE(log.finished->reason, want.reason);
        QCOMPARE(log.finished->epochsCompleted, want.epochsCompleted);
        QCOMPARE(log.finished->bestEpoch, want.bestEpoch);
        QCOMPARE(log.finished->bestValAccuracy, want.bestValAccuracy);
        QCOMPARE(log.finished->seconds, want.seconds);
        QVERIFY(log.finished->hasTest);
        QCOMPARE(log.finished->testLoss, want.testLoss);
        compareMetrics(log.finished->test, want.test);
        QCOMPARE(log.status(), std::string("early-stopping"));
        QCOMPARE(log.bestValAccuracy(), 0.625);
        QCOMPARE(log.seconds(), 7.25);
    }

    // A run still training (or killed): no finished event, a last line cut short. What came
    // before is read; the summary comes from the epochs.
    void unfinishedRunWithTruncatedLine()
    {
        const fs::path run = newRun();
        std::vector<std::string> lines = wholeRun();
        lines.resize(5);
        lines.back() = lines.back().substr(0, lines.back().size() / 2);
        writeLines(run / core::RunFiles::metrics, lines, false);
        const core::RunLog log = core::readRunLog(run);
        QVERIFY2(log.error.empty(), log.error.c_str());
        QVERIFY(!log.finished);
        QCOMPARE(log.steps.size(), std::size_t(2));
        QCOMPARE(log.epochs.size(), std::size_t(1));
        QCOMPARE(log.status(), std::string("not finished"));
        QCOMPARE(log.bestValAccuracy(), metrics().accuracy);
        QCOMPARE(log.seconds(), 3.5);
        QCOMPARE(log.trainableParameters, importEvent().parameters.total());
    }

    void failedRun()
    {
        const fs::path run = newRun();
        writeLines(run / core::RunFiles::metrics,
            { core::eventJson(importEvent()),
                core::eventJson(core::FailedEvent { "disk full: /x/adapter_model.safetensors" }) });
        const core::RunLog log = core::readRunLog(run);
        QVERIFY2(log.error.empty(), log.error.c_str());
        QCOMPARE(log.status(), std::string("failed: disk full: /x/adapter_model.safetensors"));
    }

    // A diverged loss is written as null and read back as NaN.
    void divergedLoss()
    {
        const fs::path run = newRun();
        core::StepEvent step = stepEvent(1);
        step.loss = std::nan("");
        writeLines(run / core::RunFiles::metrics,
            { core::eventJson(importEvent()), core::eventJson(step) });
        const core::RunLog log = core::readRunLog(run);
        QVERIFY2(log.error.empty(), log.error.c_str());
        QVERIFY(std::isnan(log.steps.at(0).loss));
    }

    // options.json gives the planned epochs (the epoch events only those that ran).
    void plannedEpochsFromOptions()
    {
        const fs::path run = newRun();
        std::vector<std::string> lines = wholeRun();
        lines.resize(4);
        writeLines(run / core::RunFiles::metrics, lines);
        core::TrainOptions options;
        options.epochs = 30;
        options.peft.method = core::PeftMethod::Lora;
        core::writeFileAtomic(run / core::RunFiles::options, core::trainOptionsJson(options));
        QCOMPARE(core::readRunLog(run).plannedEpochs, 30);
    }

    void unreadable_data()
    {
        QTest::addColumn<QString>("content"); // of metrics.jsonl; "-": no such file
        QTest::addColumn<QString>("expected");
        const QString import = QString::fromStdString(core::eventJson(importEvent()));
        QTest::addRow("missing") << "-"
                                 << "metrics.jsonl: cannot read the metrics log";
        QTest::addRow("bad middle line") << import + "\nnot json\n" + import + "\n"
                                         << "metrics.jsonl: line 2 is not a JSON object";
        QTest::addRow("no import") << "{\"event\": \"step\", \"step\": 1}\n"
                                   << "metrics.jsonl: no import event";
        QTest::addRow("unknown reason")
            << import + "\n{\"event\": \"finished\", \"reason\": \"exploded\"}\n"
            << "metrics.jsonl: line 2: finish reason must be one of completed";
    }

    void unreadable()
    {
        QFETCH(QString, content);
        QFETCH(QString, expected);
        const fs::path run = newRun();
        if (content != "-")
            std::ofstream(run / core::RunFiles::metrics, std::ios::binary) << content.toStdString();
        const core::RunLog log = core::readRunLog(run);
        QVERIFY2(log.error.find(expected.toStdString()) != std::string::npos, log.error.c_str());
        QVERIFY2(log.error.rfind(run.string(), 0) == 0, log.error.c_str()); // names the file
    }

    void noSuchFolder()
    {
        const fs::path run = fs::path(m_dir.path().toStdString()) / "gone";
        QCOMPARE(core::readRunLog(run).error, run.string() + ": no such run folder");
    }

    void badOptions()
    {
        const fs::path run = newRun();
        writeLines(run / core::RunFiles::metrics, wholeRun());
        std::ofstream(run / core::RunFiles::options) << "{";
        const core::RunLog log = core::readRunLog(run);
        QVERIFY2(log.error.find("options.json") != std::string::npos, log.error.c_str());
        QVERIFY(log.finished); // what was read before the problem stays
    }

    // RunLogReader: a log read while the trainer appends to it, line by line and then byte by
    // byte, ends as readRunLog() reads the finished file; only new lines are parsed.
    void readerFollowsGrowth()
    {
        using Update = core::RunLogReader::Update;
        const fs::path run = newRun(), file = run / core::RunFiles::metrics;
        const std::vector<std::string> lines = wholeRun();
        core::RunLogReader reader(run);
        QVERIFY(reader.update() != Update::Unchanged); // no file yet: an error
        QVERIFY(reader.log().error.find("cannot read the metrics log") != std::string::npos);

        append(file, lines[0] + "\n");
        QCOMPARE(reader.update(), Update::Reread); // the file appeared
        QVERIFY2(reader.log().error.empty(), reader.log().error.c_str());
        QCOMPARE(reader.log().labels, kLabels);
        QCOMPARE(reader.update(), Update::Unchanged);

        append(file, lines[1] + "\n" + lines[2] + "\n");
        QCOMPARE(reader.update(), Update::Appended);
        QCOMPARE(reader.log().steps.size(), std::size_t(2));
        QCOMPARE(reader.offset(), std::uintmax_t(fs::file_size(file)));

        // The epoch line arrives a byte at a time: no prefix of it is an event or an error.
        const std::uintmax_t before = reader.offset();
        const std::string &epoch = lines[3];
        for (std::size_t n = 0; n + 1 < epoch.size(); ++n) {
            append(file, epoch.substr(n, 1));
            reader.update();
            QVERIFY2(reader.log().error.empty(), reader.log().error.c_str());
            QVERIFY(reader.log().epochs.empty());
            QCOMPARE(reader.offset(), before);
        }
        append(file, epoch.substr(epoch.size() - 1)); // its closing brace, no newline yet
        QCOMPARE(reader.update(), Update::Appended);
        QCOMPARE(reader.log().epochs.size(), std::size_t(1));
        append(file, "\n"); // the newline alone adds nothing
        QCOMPARE(reader.update(), Update::Unchanged);
        QCOMPARE(reader.log().epochs.size(), std::size_t(1));

        for (std::size_t i = 4; i < lines.size(); ++i)
            append(file, lines[i] + "\n");
        QCOMPARE(reader.update(), Update::Appended);
        const core::RunLog whole = core::readRunLog(run);
        QVERIFY(reader.log().finished);
        QCOMPARE(reader.log().steps.size(), whole.steps.size());
        QCOMPARE(reader.log().epochs.size(), whole.epochs.size());
        QCOMPARE(reader.log().status(), whole.status());
        QCOMPARE(reader.log().plannedEpochs, whole.plannedEpochs);

        // A bad whole line names its number, counted across the updates.
        append(file, "not json\n");
        QCOMPARE(reader.update(), Update::Appended);
        QVERIFY2(reader.log().error.find("line 9 is not a JSON object") != std::string::npos,
            reader.log().error.c_str());
    }

    // A resumed run cuts its log back to its checkpoint and appends again, possibly past the
    // offset already read before the next update: the reader starts over either way.
    void readerRereadsCutBackLog()
    {
        using Update = core::RunLogReader::Update;
        const fs::path run = newRun(), file = run / core::RunFiles::metrics;
        const std::vector<std::string> lines = wholeRun();
        writeLines(file, { lines.begin(), lines.begin() + 6 });
        core::RunLogReader reader(run);
        reader.update();
        QCOMPARE(reader.log().steps.size(), std::size_t(4));

        // Cut back, then longer than before with other bytes where the reader had stopped.
        core::StepEvent other = stepEvent(3);
        other.loss = 9.0;
        writeLines(file,
            { lines[0], lines[1], lines[2], lines[3], core::eventJson(other),
                core::eventJson(stepEvent(4)), lines[6], lines[7] });
        QCOMPARE(reader.update(), Update::Reread);
        QCOMPARE(reader.log().steps.size(), std::size_t(4));
        QCOMPARE(reader.log().steps[2].loss, 9.0);
        QVERIFY(reader.log().finished);

        writeLines(file, { lines.begin(), lines.begin() + 4 }); // shorter
        QCOMPARE(reader.update(), Update::Reread);
        QCOMPARE(reader.log().steps.size(), std::size_t(2));
        QCOMPARE(reader.log().epochs.size(), std::size_t(1));
        QVERIFY(!reader.log().finished);
        append(file, lines[4] + "\n"); // the same bytes before the offset: read on
        QCOMPARE(reader.update(), Update::Appended);
        QCOMPARE(reader.log().steps.size(), std::size_t(3));

        fs::remove_all(run); // the folder is gone: an error, and what was read stays
        QCOMPARE(reader.update(), Update::Appended);
        QCOMPARE(reader.log().error, run.string() + ": no such run folder");
    }

    // A large log read in slices gives what one read gives. ASTPEFT_RUN_LOG_LINES sets the size
    // (the time of a whole read is printed).
    void readerSlices()
    {
        const fs::path run = newRun(), file = run / core::RunFiles::metrics;
        const int count = qEnvironmentVariableIsSet("ASTPEFT_RUN_LOG_LINES")
            ? qEnvironmentVariableIntValue("ASTPEFT_RUN_LOG_LINES")
            : 5000;
        {
            std::ofstream out(file, std::ios::binary);
            out << core::eventJson(importEvent()) << '\n';
            for (int i = 1; i <= count; ++i) {
                core::StepEvent step = stepEvent(i);
                step.epoch = 1 + i / 1000;
                out << core::eventJson(step) << '\n';
                if (i % 1000 == 0)
                    out << core::eventJson(epochEvent(i / 1000)) << '\n';
            }
        }
        QElapsedTimer clock;
        clock.start();
        const core::RunLog whole = core::readRunLog(run);
        const qint64 wholeMs = clock.elapsed();
        QVERIFY2(whole.error.empty(), whole.error.c_str());
        QCOMPARE(whole.steps.size(), std::size_t(count));

        core::RunLogReader reader(run);
        int slices = 0;
        qint64 longest = 0;
        do {
            clock.restart();
            reader.update(256 * 1024);
            longest = std::max(longest, clock.elapsed());
            ++slices;
        } while (!reader.atEnd());
        qInfo("%d lines, %.1f MB: read whole in %lld ms; in %d slices of 256 KiB, %lld ms at most",
            count, double(fs::file_size(file)) / 1e6, wholeMs, slices, longest);
        QVERIFY2(reader.log().error.empty(), reader.log().error.c_str());
        QCOMPARE(reader.log().steps.size(), whole.steps.size());
        QCOMPARE(reader.log().epochs.size(), whole.epochs.size());
        QCOMPARE(reader.log().steps.back().loss, whole.steps.back().loss);
        QCOMPARE(reader.offset(), std::uintmax_t(fs::file_size(file)));
    }

    // isFolderLocked sees a lock another process holds, and asking does not drop this process's.
    void folderLocked()
    {
        const fs::path run = newRun();
        QVERIFY(!core::isFolderLocked(run));
        int ready[2], done[2];
        QCOMPARE(::pipe(ready), 0);
        QCOMPARE(::pipe(done), 0);
        const pid_t child = ::fork();
        if (child == 0) {
            char c = 0;
            {
                const core::FolderLock lock(run, "run");
                [[maybe_unused]] const auto w = ::write(ready[1], "x", 1);
                [[maybe_unused]] const auto r = ::read(done[0], &c, 1);
            }
            ::_exit(0);
        }
        char c = 0;
        QCOMPARE(::read(ready[0], &c, 1), ssize_t(1));
        QVERIFY(core::isFolderLocked(run));
        QCOMPARE(::write(done[1], "x", 1), ssize_t(1));
        int status = 0;
        ::waitpid(child, &status, 0);
        QVERIFY(!core::isFolderLocked(run));

        const core::FolderLock mine(run, "run");
        QVERIFY(core::isFolderLocked(run));
        QVERIFY(core::isFolderLocked(run)); // twice: the first probe dropped nothing
        const pid_t other = ::fork();
        if (other == 0) {
            try {
                const core::FolderLock lock(run, "run");
                ::_exit(1); // got it: the lock was dropped
            } catch (...) {
                ::_exit(0);
            }
        }
        ::waitpid(other, &status, 0);
        QVERIFY(WIFEXITED(status));
        QCOMPARE(WEXITSTATUS(status), 0);
        for (int fd : { ready[0], ready[1], done[0], done[1] })
            ::close(fd);
    }
};

QTEST_APPLESS_MAIN(TestRunLog)
#include "tst_run_log.moc"
