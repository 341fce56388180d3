// SPDX-License-Identifier: MIT
// The Live view end to end, through real PortAudio with the virtual ALSA microphone of
// tests/virtual_audio.h playing a known sequence of espeak-ng words separated by silence
// (tests/listen_fixture.h, the data tst_cli_listen trains on): a tiny adapter trained with
// that test's recipe detects the words in order with the labels and times that
// core::classifyTimeline gives on the same samples; the top-k bars show the engine's
// probabilities of the latest window; the spectrogram and the level meter receive data;
// switching to another run's adapter mid-stream changes the labels without reopening the
// microphone; Stop stops; a bad device and a project without finished runs show a message.
// The microphone delivers its file as fast as it is read, so times are stream times.
#include "format.h"
#include "inference/classifier.h"
#include "inference/streaming.h"
#include "level_meter.h"
#include "listen_fixture.h"
#include "live_view.h"
#include "main_window.h"
#include "train/run_log.h"

#include <QAction>
#include <QComboBox>
#include <QDirIterator>
#include <QProcess>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>

using namespace astpeft;
using namespace astpeft::test;

namespace {

const QString kCli = QStringLiteral(ASTPEFT_CLI);

// Runs the CLI; returns its exit code (stderr shown on failure).
int runCli(const QStringList &args, const QString &dir)
{
    QProcess p;
    p.setWorkingDirectory(dir);
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(kCli, args);
    if (!p.waitForStarted(30000) || !p.waitForFinished(600000)) {
        p.kill();
        p.waitForFinished();
        return -1;
    }
    if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0)
        qWarning("%s", p.readAll().constData());
    return p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
}

} // namespace

class TestLiveView : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp, m_home;
    QString m_model, m_run, m_renamedRun;
    ListenData m_listen;
    core::Timeline m_timeline; // the stream through the engine, offline

    // A view ready to listen with `run` and the detection options of the fixture.
    void prepare(ui::LiveView &view, const QString &run) const
    {
        view.setBackbone(m_model);
        view.setRuns({ m_run, m_renamedRun });
        view.setAdapter(run);
        view.setDevice(QString()); // the default input: the virtual microphone
        view.setOptions(listenDetectOptions());
    }

    // Waits (up to 2 min) until the windows shown cover the whole sequence.
    void waitForTheSequence(const QSignalSpy &windows) const
    {
        const auto lastSeconds = [&] {
            return windows.isEmpty() ? 0.0 : windows.last()[0].value<ui::LiveWindow>().seconds;
        };
        QTRY_VERIFY_WITH_TIMEOUT(lastSeconds() >= m_listen.streamSeconds - 0.25, 120000);
    }
    // The view's detections within the sequence, oldest first (the list shows newest first).
    QList<ui::LiveDetection> sequenceDetections(const ui::LiveView &view) const
    {
        QList<ui::LiveDetection> got;
        for (const ui::LiveDetection &d : view.detections()) {
            if (d.seconds <= m_listen.streamSeconds)
                got.prepend(d);
        }
        return got;
    }
    // The index of a shown window in a timeline of the fixture's 0.25 s hop.
    static std::size_t timelineIndex(const ui::LiveWindow &w)
    {
        return std::size_t(std::lround(w.seconds / 0.25)) - 1;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName("AST PEFT Studio tests");
        QStandardPaths::setTestModeEnabled(true);
        QVERIFY(m_tmp.isValid() && m_home.isValid());
        // Besides the default microphone, two that fail 1.5 s into in.raw, the ways
        // tests/alsa_failing_mic.cpp can: PortAudio ends the stream, or it stalls.
        QVERIFY(installVirtualAudio(m_home.path(),
            failingMicrophone("brokenmic", m_home.filePath("in.raw"), 24000)
                + failingMicrophone("stuckmic", m_home.filePath("in.raw"), 24000, "xrun")));
        m_listen = writeListenData(m_tmp.path(), m_home.filePath("in.raw"));
        QVERIFY2(m_listen.error.isEmpty(), qPrintable(m_listen.error));

        m_model = m_tmp.filePath("model");
        m_run = m_tmp.filePath("run");
        QCOMPARE(runCli({ "init-model", "--preset", "tiny", "--max-length",
                            QString::number(kListenWindowFrames), "--seed", "3", "--out", m_model },
                     m_tmp.path()),
            0);
        QCOMPARE(runCli(QStringList { "train", "--model", m_model, "--data", m_listen.data }
                         + kListenTrainArguments
                         + QStringList { "--cache-dir", m_tmp.filePath("cache"), "--out", m_run },
                     m_tmp.path()),
            0);

        // A second run with other label names (a quick linear probe on the same clips): what
        // it detects shows which adapter is live.
        const QString renamed = m_tmp.filePath("renamed");
        const QMap<QString, QString> names = { { "yes", "affirmative" }, { "no", "negative" },
            { "stop", "halt" }, { "background", "quiet" } };
        for (auto it = names.begin(); it != names.end(); ++it) {
            QVERIFY(QDir().mkpath(renamed + "/" + it.value()));
            QDirIterator files(m_listen.data + "/" + it.key(), { "*.wav" }, QDir::Files);
            while (files.hasNext()) {
                const QString file = files.next();
                QVERIFY(QFile::copy(
                    file, renamed + "/" + it.value() + "/" + QFileInfo(file).fileName()));
            }
        }
        m_renamedRun = m_tmp.filePath("run-renamed");
        QCOMPARE(runCli({ "train", "--model", m_model, "--data", renamed, "--method", "linear",
                            "--epochs", "2", "--batch-size", "16", "--val-fraction", "0.1",
                            "--seed", "1", "--no-test", "--cache-dir", m_tmp.filePath("cache"),
                            "--out", m_renamedRun },
                     m_tmp.path()),
            0);

        // The reference: the delivered samples through the same engine, offline.
        const QString wav = m_tmp.filePath("stream.wav");
        core::writeAudio(wav.toStdString(), m_listen.delivered, kListenRate, 1, "FLOAT");
        const core::AstClassifier model(m_model.toStdString(), { .adapter = m_run.toStdString() });
        m_timeline = core::classifyTimeline(model, wav.toStdString(), listenDetectOptions());
        QCOMPARE(m_timeline.detections.size(), m_listen.expected.size());
        for (std::size_t i = 0; i < m_listen.expected.size(); ++i) {
            QCOMPARE(
                QString::fromStdString(m_timeline.detections[i].label), m_listen.expected[i].label);
        }
    }

    void offersOnlyFinishedRuns()
    {
        QVERIFY(QDir().mkpath(m_tmp.filePath("unfinished")));
        ui::LiveView view;
        view.setBackbone(m_model);
        view.setRuns({ m_tmp.filePath("unfinished") });
        QVERIFY(view.adapters().isEmpty());
        QVERIFY2(view.message().contains("No finished run"), qPrintable(view.message()));
        QVERIFY(!view.toggleAction()->isEnabled());
        view.start(); // refused: nothing to listen with
        QVERIFY(!view.isListening());

        view.setRuns({ m_tmp.filePath("unfinished"), m_run, m_renamedRun });
        QCOMPARE(view.adapters(), (QStringList { m_run, m_renamedRun }));
        QVERIFY(view.toggleAction()->isEnabled());
        QVERIFY(!view.message().contains("No finished run"));

        ui::LiveView noBackbone;
        noBackbone.setRuns({ m_run });
        QVERIFY2(noBackbone.message().contains("No backbone"), qPrintable(noBackbone.message()));
        QVERIFY(!noBackbone.toggleAction()->isEnabled());
    }

    void detectsWordsInOrder()
    {
        ui::LiveView view;
        prepare(view, m_run);
        QSignalSpy started(&view, &ui::LiveView::listeningStarted);
        QSignalSpy stopped(&view, &ui::LiveView::listeningStopped);
        QSignalSpy windows(&view, &ui::LiveView::windowShown);
        view.start();
        QVERIFY(view.isListening());
        QVERIFY(started.wait(120000));
        QVERIFY2(stopped.isEmpty(), qPrintable(view.message()));
        // Until the whole sequence has been classified.
        waitForTheSequence(windows);
        if (QTest::currentTestFailed())
            return;
        view.stop();
        QVERIFY(stopped.wait(30000) || !stopped.isEmpty());
        QCOMPARE(stopped.last()[0].toString(), QString());
        QVERIFY(!view.isListening());
        // Stop stops: the worker's loop has returned, so every window it sent was queued before
        // stopped() and has been shown; nothing arrives any more.
        const qsizetype shown = windows.size();
        QCoreApplication::sendPostedEvents();
        QCoreApplication::processEvents();
        QCOMPARE(windows.size(), shown);

        // The detections within the sequence: the timeline's, newest first in the list.
        const QList<ui::LiveDetection> got = sequenceDetections(view);
        QString list;
        for (const ui::LiveDetection &d : got)
            list += QStringLiteral(" %1@%2").arg(d.label).arg(d.seconds, 0, 'f', 3);
        QVERIFY2(got.size() == int(m_timeline.detections.size()), qPrintable(list));
        for (int i = 0; i < got.size(); ++i) {
            const core::Detection &want = m_timeline.detections[std::size_t(i)];
            QCOMPARE(got[i].label, QString::fromStdString(want.label));
            QCOMPARE(got[i].label, m_listen.expected[std::size_t(i)].label);
            QVERIFY2(std::abs(got[i].seconds - want.seconds) < 1e-6, qPrintable(list));
            QVERIFY2(std::abs(got[i].score - double(want.score)) < 1e-4, qPrintable(list));
        }

        // The windows within the sequence: the engine's probabilities, as offline.
        int compared = 0;
        for (const QList<QVariant> &args : windows) {
            const ui::LiveWindow w = args[0].value<ui::LiveWindow>();
            const std::size_t k = timelineIndex(w);
            if (k >= m_timeline.windows.size())
                continue;
            const core::WindowResult &want = m_timeline.windows[k];
            QVERIFY(std::abs(want.endSeconds - w.seconds) < 1e-6);
            QCOMPARE(w.probabilities.size(), want.probabilities.size());
            for (std::size_t i = 0; i < want.probabilities.size(); ++i)
                QVERIFY(std::abs(w.probabilities[i] - want.probabilities[i]) < 1e-4f);
            ++compared;
        }
        QCOMPARE(compared, int(m_timeline.windows.size()));

        // The bars: the latest window's top k (k = min(5, labels) = 4), best first.
        const ui::LiveWindow last = windows.last()[0].value<ui::LiveWindow>();
        const auto bars = view.bars();
        QCOMPARE(bars.size(), std::min(5, int(last.labels.size())));
        std::vector<float> sorted = last.probabilities;
        std::sort(sorted.rbegin(), sorted.rend());
        for (int i = 0; i < bars.size(); ++i) {
            QCOMPARE(bars[i].second, double(sorted[std::size_t(i)]));
            const auto index = std::find(last.probabilities.begin(), last.probabilities.end(),
                                   float(bars[i].second))
                - last.probabilities.begin();
            QCOMPARE(bars[i].first, last.labels[int(index)]);
        }

        // The spectrogram holds the last 5 s of frames; the meter saw speech.
        QCOMPARE(view.spectrogramFrames(), 500);
        QVERIFY(view.meter()->peakHoldDb() > -30.0);
        QVERIFY(view.medianLatencyMs() > 0.0);
        QVERIFY(view.p95LatencyMs() >= view.medianLatencyMs());

        view.clearDetections();
        QVERIFY(view.detections().isEmpty());
    }

    void listensInInt8()
    {
        // "Fast (int8, CPU)": the same engine over the int8 model; what it shows equals the int8
        // model's offline timeline of the same samples, and differs a little from fp32's.
        const core::AstClassifier int8(m_model.toStdString(),
            { .precision = core::Precision::Int8, .adapter = m_run.toStdString() });
        const QString wav = m_tmp.filePath("stream.wav");
        const core::Timeline want =
            core::classifyTimeline(int8, wav.toStdString(), listenDetectOptions());

        ui::LiveView view;
        prepare(view, m_run);
        QCOMPARE(view.precision(), core::Precision::F32); // exact unless asked
        view.setPrecision(core::Precision::Int8);
        QCOMPARE(view.precision(), core::Precision::Int8);
        QSignalSpy started(&view, &ui::LiveView::listeningStarted);
        QSignalSpy stopped(&view, &ui::LiveView::listeningStopped);
        QSignalSpy windows(&view, &ui::LiveView::windowShown);
        view.start();
        QVERIFY(started.wait(120000));
        QVERIFY2(stopped.isEmpty(), qPrintable(view.message()));
        QComboBox *picker = nullptr;
        for (QComboBox *box : view.findChildren<QComboBox *>()) {
            if (box->accessibleName() == "Speed")
                picker = box;
        }
        QVERIFY(picker);
        QVERIFY(!picker->isEnabled()); // fixed while listening
        waitForTheSequence(windows);
        if (QTest::currentTestFailed())
            return;
        view.stop();
        QVERIFY(stopped.wait(30000) || !stopped.isEmpty());
        QVERIFY(picker->isEnabled());

        int compared = 0;
        double fromFp32 = 0;
        for (const QList<QVariant> &args : windows) {
            const ui::LiveWindow w = args[0].value<ui::LiveWindow>();
            const std::size_t k = timelineIndex(w);
            if (k >= want.windows.size())
                continue;
            for (std::size_t i = 0; i < w.probabilities.size(); ++i) {
                QVERIFY(std::abs(w.probabilities[i] - want.windows[k].probabilities[i]) < 1e-4f);
                fromFp32 = std::max(fromFp32,
                    double(std::abs(w.probabilities[i] - m_timeline.windows[k].probabilities[i])));
            }
            ++compared;
        }
        QCOMPARE(compared, int(want.windows.size()));
        QVERIFY2(fromFp32 > 1e-6, "the int8 model did not run"); // int8 products round
        QVERIFY2(fromFp32 < 0.1, qPrintable(QString::number(fromFp32)));
        const QList<ui::LiveDetection> got = sequenceDetections(view);
        QCOMPARE(got.size(), int(want.detections.size()));
        for (int i = 0; i < got.size(); ++i)
            QCOMPARE(got[i].label, QString::fromStdString(want.detections[std::size_t(i)].label));
    }

    void switchesAdapterWithoutReopening()
    {
        ui::LiveView view;
        prepare(view, m_run);
        QSignalSpy started(&view, &ui::LiveView::listeningStarted);
        QSignalSpy stopped(&view, &ui::LiveView::listeningStopped);
        QSignalSpy switched(&view, &ui::LiveView::adapterSwitched);
        QSignalSpy windows(&view, &ui::LiveView::windowShown);
        view.start();
        QVERIFY(started.wait(120000));
        QCOMPARE(view.captureOpens(), 1);
        // After the first word has been heard, switch (the list is newest first; the
        // microphone runs ahead of the GUI thread, so more may be listed by now).
        QTRY_VERIFY_WITH_TIMEOUT(!view.detections().isEmpty(), 120000);
        QCOMPARE(view.detections().last().label, QStringLiteral("yes"));
        const qsizetype before = windows.size();
        view.setAdapter(m_renamedRun);
        QVERIFY(switched.wait(60000) || !switched.isEmpty());
        QCOMPARE(switched.last()[0].toString(), m_renamedRun);
        const QStringList renamedLabels =
            ui::qsList(core::readRunLog(m_renamedRun.toStdString()).labels);
        QTRY_VERIFY_WITH_TIMEOUT(windows.size() > before
                && windows.last()[0].value<ui::LiveWindow>().labels == renamedLabels,
            60000);
        QVERIFY(stopped.isEmpty());
        QCOMPARE(view.captureOpens(), 1); // the same microphone stream
        // Stream time runs on across the switch.
        double previous = 0;
        for (const QList<QVariant> &args : windows) {
            const double t = args[0].value<ui::LiveWindow>().seconds;
            QVERIFY(t > previous);
            previous = t;
        }
        // The bars and the background choice follow the new labels.
        QTRY_VERIFY_WITH_TIMEOUT(
            !view.bars().isEmpty() && renamedLabels.contains(view.bars().first().first), 10000);
        QVERIFY(view.options().background.empty()); // "background" is not a label of this run
        view.stop();
        QVERIFY(stopped.wait(30000) || !stopped.isEmpty());
        QCOMPARE(stopped.last()[0].toString(), QString());
    }

    void badDeviceShowsMessage()
    {
        ui::LiveView view;
        prepare(view, m_run);
        view.setDevice("no-such-microphone");
        QSignalSpy stopped(&view, &ui::LiveView::listeningStopped);
        view.start();
        QVERIFY(stopped.wait(120000));
        const QString error = stopped.last()[0].toString();
        QVERIFY2(error.contains("no-such-microphone"), qPrintable(error));
        QVERIFY2(view.message().contains("no-such-microphone"), qPrintable(view.message()));
        QVERIFY(!view.isListening());
        QCOMPARE(view.captureOpens(), 0);
    }

    void deviceFailureShowsMessage_data() { addFailingMicrophoneRows(); }

    // A microphone failing mid-stream stops listening with its reason shown; Start is offered
    // again and listens, here on a healthy microphone.
    void deviceFailureShowsMessage()
    {
        QFETCH(QString, device);
        QFETCH(QString, reason);
        ui::LiveView view;
        prepare(view, m_run);
        view.setDevice(device);
        QSignalSpy started(&view, &ui::LiveView::listeningStarted);
        QSignalSpy stopped(&view, &ui::LiveView::listeningStopped);
        QSignalSpy windows(&view, &ui::LiveView::windowShown);
        view.start();
        QVERIFY(started.wait(120000));
        QCOMPARE(started.last()[0].toString(), device);
        QVERIFY(stopped.wait(120000) || !stopped.isEmpty()); // by itself: no stop() called
        QCOMPARE(stopped.size(), 1);
        const QString error = stopped.last()[0].toString();
        QVERIFY2(error.contains("\"" + device + "\"") && error.contains(reason), qPrintable(error));
        QVERIFY2(view.message().contains(error), qPrintable(view.message()));
        QVERIFY(!view.isListening());
        QVERIFY(view.toggleAction()->isEnabled());
        QCOMPARE(view.captureOpens(), 1);

        // Start again, on the default (healthy) input: it listens and classifies.
        view.setDevice(QString());
        windows.clear();
        view.start();
        QVERIFY(view.isListening());
        QVERIFY(started.wait(120000));
        QCOMPARE(started.size(), 2);
        QCOMPARE(view.captureOpens(), 2);
        QVERIFY2(!view.message().contains(error), qPrintable(view.message()));
        QTRY_VERIFY_WITH_TIMEOUT(!windows.isEmpty(), 120000);
        QCOMPARE(stopped.size(), 1);
        view.stop();
        QVERIFY(stopped.wait(30000) || stopped.size() == 2);
        QCOMPARE(stopped.last()[0].toString(), QString());
    }

    void mainWindowHasLivePage()
    {
        ui::MainWindow window;
        window.showPage(ui::MainWindow::Page::Live);
        QCOMPARE(window.currentPage(), ui::MainWindow::Page::Live);
        QVERIFY(window.liveView()->isVisibleTo(&window));
        QCOMPARE(window.liveView()->toggleAction()->shortcut(), QKeySequence("Ctrl+L"));
    }
};

QTEST_MAIN(TestLiveView)
#include "tst_live_view.moc"
