// SPDX-License-Identifier: MIT
// Recording and reviewing clips through real PortAudio with a virtual ALSA microphone
// (tests/virtual_audio.h): a take of three spoken words becomes three clips of the chosen class
// in the project, fixed cutting gives 1 s pieces, the level meter sees the speech, the
// background-noise tip follows the classes; the sample browser shows a clip's waveform and
// fbank, trims it (undoable) and plays the selection with a moving playhead.
#include "audio/audio_file.h"
#include "features/fbank.h"
#include "level_meter.h"
#include "project/project.h"
#include "project_model.h"
#include "recorder_panel.h"
#include "sample_browser.h"
#include "virtual_audio.h"

#include <QComboBox>
#include <QProcess>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>

using namespace astpeft;
constexpr qint64 kBrokenAfter = 32000; // frames the failing microphones deliver (2 s)

class TestRecorder : public QObject
{
    Q_OBJECT

    QTemporaryDir m_home;
    QTemporaryDir m_tmp;
    int m_projects = 0;

    bool freshProject(ui::ProjectModel &model)
    {
        return model.create(m_tmp.filePath(QString("p%1").arg(++m_projects)), "rec");
    }

private Q_SLOTS:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName("AST PEFT Studio tests");
        QStandardPaths::setTestModeEnabled(true);
        QVERIFY(m_home.isValid() && m_tmp.isValid());
        // "yes" three times with pauses, at 16 kHz, as the microphone's input.
        const QString wav = m_tmp.filePath("yes.wav");
        QCOMPARE(QProcess::execute("espeak-ng", { "-v", "en", "-w", wav, "yes" }), 0);
        const std::vector<float> word = core::decodeAudio(wav.toStdString()).samples;
        std::vector<float> take(8000, 0.0f);
        for (int i = 0; i < 3; ++i) {
            take.insert(take.end(), word.begin(), word.end());
            take.insert(take.end(), 12000, 0.0f);
        }
        // Past its end the file plugin repeats old buffers: silence to well past every take.
        take.insert(take.end(), std::size_t(16000 * 6), 0.0f);
        QVERIFY(test::writeRawS16(m_home.filePath("in.raw"), take));
        // Besides the default microphone, two that fail 2 s into the take, the ways
        // tests/alsa_failing_mic.cpp can: PortAudio ends the stream, or it stalls.
        QVERIFY(test::installVirtualAudio(m_home.path(),
            test::failingMicrophone("brokenmic", m_home.filePath("in.raw"), kBrokenAfter)
                + test::failingMicrophone(
                    "stuckmic", m_home.filePath("in.raw"), kBrokenAfter, "xrun")));
    }

    void takeBecomesOneClipPerWord()
    {
        ui::ProjectModel model;
        QVERIFY(freshProject(model));
        ui::RecorderPanel panel(&model);
        QVERIFY(panel.suggestsBackground());
        panel.setCountdownSeconds(0);
        panel.setTakeSeconds(4);
        panel.setTargetClass("yes");
        panel.setCut(ui::RecorderPanel::Cut::Sounds);
        QSignalSpy finished(&panel, &ui::RecorderPanel::takeFinished);
        QSignalSpy failed(&panel, &ui::RecorderPanel::failed);
        panel.record();
        QVERIFY2(panel.isRecording(), qPrintable(panel.status()));
        QVERIFY(finished.wait(20000));
        QCOMPARE(failed.size(), 0);
        QCOMPARE(finished[0][0].toInt(), 3);
        QCOMPARE(finished[0][1].toString(), QString("yes"));
        QVERIFY(!panel.isRecording());
        const core::Project &p = model.project();
        QCOMPARE(p.clips.size(), std::size_t(3));
        for (const core::ProjectClip &clip : p.clips) {
            QCOMPARE(clip.label, std::string("yes"));
            QVERIFY(clip.recorded);
            const auto path = core::clipPath(p, clip);
            QVERIFY2(std::filesystem::exists(path), path.c_str());
            QVERIFY(path.string().find("recordings") != std::string::npos);
            const core::Audio audio = core::decodeAudio(path);
            QVERIFY(audio.samples.size() >= 16000); // at least the 1 s minimum clip
            QVERIFY(core::measureLevel(audio.samples).peakDb > -20);
        }
        QVERIFY2(panel.meter()->peakHoldDb() > -20,
            qPrintable(QString::number(panel.meter()->peakHoldDb())));
        QVERIFY2(
            panel.status().startsWith("3 clips of \"yes\" saved."), qPrintable(panel.status()));
        // The class now exists; a background class hides the tip.
        QCOMPARE(p.classes, std::vector<std::string>({ "yes" }));
        model.addClass("background");
        QVERIFY(!panel.suggestsBackground());
    }

    void deviceFailureKeepsTheTake_data() { test::addFailingMicrophoneRows(); }

    // A microphone failing during a take ends it: the audio captured before is saved, and the
    // failure is reported and stays in the status line.
    void deviceFailureKeepsTheTake()
    {
        QFETCH(QString, device);
        QFETCH(QString, reason);
        ui::ProjectModel model;
        QVERIFY(freshProject(model));
        ui::RecorderPanel panel(&model);
        auto *devices = panel.findChild<QComboBox *>();
        QVERIFY(devices && devices->accessibleName() == "Microphone");
        const int broken = devices->findData(device);
        QVERIFY(broken >= 0);
        const int healthy = devices->currentIndex();
        devices->setCurrentIndex(broken);
        auto restore = qScopeGuard([&] { devices->setCurrentIndex(healthy); }); // remembered
        QCOMPARE(panel.device(), device);
        panel.setCountdownSeconds(0);
        panel.setTakeSeconds(10); // longer than the device lasts
        panel.setTargetClass("yes");
        panel.setCut(ui::RecorderPanel::Cut::Whole);
        QSignalSpy finished(&panel, &ui::RecorderPanel::takeFinished);
        QSignalSpy failed(&panel, &ui::RecorderPanel::failed);
        panel.record();
        QVERIFY2(panel.isRecording(), qPrintable(panel.status()));
        QVERIFY(finished.wait(60000) || !finished.isEmpty());
        QVERIFY(!panel.isRecording());
        QCOMPARE(failed.size(), 1);
        const QString error = failed[0][0].toString();
        QVERIFY2(error.contains("\"" + device + "\"") && error.contains(reason), qPrintable(error));
        QCOMPARE(finished[0][0].toInt(), 1);
        QVERIFY2(
            panel.status().contains(error) && panel.status().contains("1 clip of \"yes\" saved"),
            qPrintable(panel.status()));
        const core::Project &p = model.project();
        QCOMPARE(p.clips.size(), std::size_t(1));
        const core::Audio audio = core::decodeAudio(core::clipPath(p, p.clips[0]));
        QVERIFY2(audio.samples.size() > 0 && audio.samples.size() <= std::size_t(kBrokenAfter),
            qPrintable(QString::number(audio.samples.size())));
        QVERIFY(core::measureLevel(audio.samples).peakDb > -20); // the words, not silence
    }

    void fixedPiecesAndCountdown()
    {
        ui::ProjectModel model;
        QVERIFY(freshProject(model));
        ui::RecorderPanel panel(&model);
        panel.setCountdownSeconds(1);
        panel.setTakeSeconds(2);
        panel.recordBackground();
        QCOMPARE(panel.targetClass(), QString("background"));
        panel.setTakeSeconds(2);
        QSignalSpy finished(&panel, &ui::RecorderPanel::takeFinished);
        panel.record();
        QVERIFY(panel.isCountingDown());
        QVERIFY(!panel.isRecording());
        QVERIFY(finished.wait(20000));
        QCOMPARE(finished[0][0].toInt(), 2);
        for (const core::ProjectClip &clip : model.project().clips) {
            QCOMPARE(clip.label, std::string("background"));
            QCOMPARE(clip.seconds, 1.0);
        }
        // Stop during the countdown cancels without recording.
        panel.setCountdownSeconds(3);
        panel.record();
        panel.stop();
        QVERIFY(!panel.isCountingDown() && !panel.isRecording());
        QCOMPARE(model.project().clips.size(), std::size_t(2));
    }

    void browserShowsTrimsAndPlays()
    {
        ui::ProjectModel model;
        QVERIFY(freshProject(model));
        const std::filesystem::path file = m_tmp.filePath("yes.wav").toStdString();
        const quint64 id = model.addRecording(QString::fromStdString(file.string()), "yes");
        QVERIFY(id != 0);
        ui::SampleBrowser browser(&model);
        browser.showClip(id);
        const std::vector<float> samples = core::decodeAudio(file).samples;
        QCOMPARE(browser.waveformPoints(), int(samples.size()));
        QCOMPARE(browser.spectrogramFrames(),
            int(core::fbankFrameCount(std::int64_t(samples.size()), {})));
        QCOMPARE(browser.spectrogramBins(), 128);
        QCOMPARE(browser.selectionStart(), 0.0);
        QVERIFY(std::abs(browser.selectionEnd() - browser.duration()) < 0.001); // 1 ms steps

        browser.setSelection(0.1, 0.4);
        browser.applyTrim();
        QCOMPARE(model.clip(id)->trimStart, 0.1);
        QCOMPARE(model.clip(id)->trimEnd, 0.4);
        model.undoStack()->undo();
        QCOMPARE(model.clip(id)->trimStart, 0.0);
        QCOMPARE(model.clip(id)->trimEnd, 0.0);
        model.undoStack()->redo();
        QCOMPARE(model.clip(id)->trimEnd, 0.4);
        browser.showClip(id); // shows the stored trim as the selection
        QCOMPARE(browser.selectionStart(), 0.1);
        QCOMPARE(browser.selectionEnd(), 0.4);

        QSignalSpy playbackFailed(&browser, &ui::SampleBrowser::playbackFailed);
        browser.play();
        // The virtual speaker takes samples as fast as they come, so the playback may already
        // be over here; it must not have failed, and its end moves the playhead.
        QCOMPARE(playbackFailed.size(), 0);
        QTRY_VERIFY_WITH_TIMEOUT(!browser.isPlaying(), 10000);
        // The playhead's last update (within one 30 ms tick) puts it at the selection's end.
        QTRY_VERIFY2(std::abs(browser.playheadSeconds() - 0.4) < 0.02,
            qPrintable(QString::number(browser.playheadSeconds())));
        // The virtual speaker received the 0.3 s selection.
        QTRY_VERIFY(QFileInfo(m_home.filePath("out.raw")).size() >= 2 * 4800);

        browser.resetTrim();
        QCOMPARE(model.clip(id)->trimEnd, 0.0);
        model.removeClips({ id });
        QCOMPARE(browser.clipId(), quint64(0));
    }
};

QTEST_MAIN(TestRecorder)
#include "tst_recorder.moc"
