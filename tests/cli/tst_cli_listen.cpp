// SPDX-License-Identifier: MIT
// astpeft listen and timeline, end to end: `astpeft train` overfits a tiny backbone on
// espeak-ng words ("yes", "no", "stop") placed at several positions in window-long clips plus
// a background class (silence, faint noise, words mostly cut off, short clips); the virtual
// microphone of tests/virtual_audio.h then plays a known sequence of those words separated by
// silence, and `listen` must detect them in order with the right labels. `timeline` on the same
// samples as a WAV must give the same detections; --list-devices lists the virtual default
// input; an unknown device is an input error naming it. The virtual microphone delivers its
// file as fast as it is read, so times are stream times, not wall times.
#include "audio/audio_file.h"
#include "cli_support.h"
#include "listen_fixture.h"

#include <QDir>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

#include <csignal>
#include <sys/types.h>

using namespace astpeft;
using namespace astpeft::test;

namespace {

const QString kCli = QStringLiteral(ASTPEFT_CLI);
constexpr int kRate = kListenRate;
constexpr int kWindowFrames = kListenWindowFrames;
constexpr int kWindowSamples = kListenWindowSamples;
constexpr qint64 kBrokenAfter = 24000; // frames the failing microphones deliver (1.5 s)

} // namespace

class TestCliListen : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp, m_home;
    QProcessEnvironment m_env;
    QString m_model, m_run, m_wav;
    std::vector<ExpectedWord> m_expected;
    double m_streamSeconds = 0; // the sequence without the silence padding the raw file
    QStringList m_detectOptions;

    CliResult run(const QStringList &args) const
    {
        return runIn(kCli, m_tmp.path(), args, m_env, 600000);
    }

    // The detections among JSON lines, as (time, label).
    static QList<QPair<double, QString>> detections(const QList<QJsonObject> &lines)
    {
        QList<QPair<double, QString>> out;
        for (const QJsonObject &o : lines) {
            if (o.value("event").toString() == "detection")
                out.append({ o.value("time").toDouble(), o.value("label").toString() });
        }
        return out;
    }

    // Each expected word detected once, in order, while it or its window is in view.
    void checkDetections(const QList<QPair<double, QString>> &got, const QString &context) const
    {
        QString list;
        for (const auto &[t, label] : got)
            list += QStringLiteral(" %1@%2").arg(label).arg(t, 0, 'f', 3);
        QVERIFY2(got.size() == int(m_expected.size()), qPrintable(context + ":" + list));
        for (std::size_t i = 0; i < m_expected.size(); ++i) {
            const auto &[t, label] = got[int(i)];
            QVERIFY2(label == m_expected[i].label, qPrintable(context + ":" + list));
            // Detected after the word began and before its last window (plus two hops of
            // smoothing) has passed.
            QVERIFY2(t > m_expected[i].start
                    && t < m_expected[i].end + double(kWindowSamples) / kRate + 0.5,
                qPrintable(context + ":" + list));
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid() && m_home.isValid());
        // Besides the default microphone, two that fail 1.5 s into in.raw, the ways
        // tests/alsa_failing_mic.cpp can: PortAudio ends the stream, or it stalls.
        QVERIFY(installVirtualAudio(m_home.path(),
            failingMicrophone("brokenmic", m_home.filePath("in.raw"), kBrokenAfter)
                + failingMicrophone("stuckmic", m_home.filePath("in.raw"), kBrokenAfter, "xrun")));
        m_env = QProcessEnvironment::systemEnvironment(); // HOME is the virtual sound card's

        // Words, training data and the stream (tests/listen_fixture.h).
        const ListenData listen = writeListenData(m_tmp.path(), m_home.filePath("in.raw"));
        QVERIFY2(listen.error.isEmpty(), qPrintable(listen.error));
        const QString data = listen.data;
        m_expected = listen.expected;
        m_streamSeconds = listen.streamSeconds;

        m_model = m_tmp.filePath("model");
        m_run = m_tmp.filePath("run");
        ASTPEFT_RUN_EXPECT(run, init,
            (QStringList { "init-model", "--preset", "tiny", "--max-length",
                QString::number(kWindowFrames), "--seed", "3", "--out", m_model }),
            0);
        ASTPEFT_RUN_EXPECT(run, train,
            (QStringList { "train", "--model", m_model, "--data", data } + kListenTrainArguments
                + QStringList { "--cache-dir", m_tmp.filePath("cache"), "--out", m_run }),
            0);

        // As the microphone delivers the stream, written as float for timeline.
        m_wav = m_tmp.filePath("stream.wav");
        core::writeAudio(m_wav.toStdString(), listen.delivered, kRate, 1, "FLOAT");

        m_detectOptions = QStringList { "--adapter", m_run } + kListenDetectArguments;
    }

    void listenDetectsWordsInOrder()
    {
        const QString seconds = QString::number(m_streamSeconds, 'f', 3);
        ASTPEFT_RUN_EXPECT(run, r,
            (QStringList { "listen", "--model", m_model, "--seconds", seconds, "--json" }
                + m_detectOptions),
            0);
        const QList<QJsonObject> lines = jsonLines(r.out);
        QVERIFY2(!lines.isEmpty(), r.out.constData());
        checkDetections(detections(lines), "listen");
        const QJsonObject summary = lines.last();
        QCOMPARE(summary.value("event").toString(), QStringLiteral("summary"));
        QCOMPARE(summary.value("device").toString(), QStringLiteral("default"));
        QCOMPARE(summary.value("seconds").toDouble(), std::round(m_streamSeconds * kRate) / kRate);
        QCOMPARE(
            summary.value("windows").toInt(), int(std::llround(m_streamSeconds * kRate)) / 4000);
        QCOMPARE(summary.value("detections").toInt(), int(m_expected.size()));
        QVERIFY(summary.value("median_latency_ms").toDouble() > 0.0);
        QVERIFY(summary.value("p95_latency_ms").toDouble()
            >= summary.value("median_latency_ms").toDouble());
        QVERIFY(summary.contains("overflows"));
        // The ring holds all of --seconds: nothing classified was lost.
        QCOMPARE(summary.value("gaps").toBool(), false);
        QVERIFY(!summary.contains("error"));
    }

    void timelineGivesTheSameDetections()
    {
        ASTPEFT_RUN_EXPECT(
            run, json, (QStringList { "timeline", m_model, m_wav, "--json" } + m_detectOptions), 0);
        const QList<QJsonObject> lines = jsonLines(json.out);
        QVERIFY2(!lines.isEmpty(), json.out.constData());
        checkDetections(detections(lines), "timeline");
        int windows = 0;
        for (const QJsonObject &o : lines)
            windows += o.value("event").toString() == "window";
        QCOMPARE(windows, int(std::llround(m_streamSeconds * kRate)) / 4000);
        QCOMPARE(lines.last().value("event").toString(), QStringLiteral("summary"));

        // The listen run's detections, at the same times (same samples, same engine).
        ASTPEFT_RUN_EXPECT(run, live,
            (QStringList { "listen", "--model", m_model, "--seconds",
                 QString::number(m_streamSeconds, 'f', 3), "--json" }
                + m_detectOptions),
            0);
        const auto a = detections(lines), b = detections(jsonLines(live.out));
        QCOMPARE(a.size(), b.size());
        for (int i = 0; i < a.size(); ++i) {
            QCOMPARE(a[i].second, b[i].second);
            QVERIFY2(std::abs(a[i].first - b[i].first) < 1e-6,
                qPrintable(QStringLiteral("%1 vs %2").arg(a[i].first).arg(b[i].first)));
        }

        // CSV: a header with every label, one row per window.
        ASTPEFT_RUN_EXPECT(
            run, csv, (QStringList { "timeline", m_model, m_wav, "--csv" } + m_detectOptions), 0);
        const QList<QByteArray> rows = csv.out.trimmed().split('\n');
        QCOMPARE(rows.first(), QByteArray("seconds,label,score,background,no,stop,yes"));
        QCOMPARE(rows.size() - 1, windows);
        QCOMPARE(rows[1].split(',').size(), 7);
    }

    // Without --seconds, listen runs until Ctrl-C, then still prints its summary.
    void stopsOnCtrlC()
    {
        QProcess p;
        p.setProcessEnvironment(m_env);
        p.setWorkingDirectory(m_tmp.path());
        p.start(kCli, QStringList { "listen", "--model", m_model, "--json" } + m_detectOptions);
        QVERIFY(p.waitForStarted(30000));
        QByteArray out;
        QElapsedTimer clock;
        clock.start();
        while (!out.contains("\"detection\"") && clock.elapsed() < 120000
            && p.state() == QProcess::Running) {
            p.waitForReadyRead(1000);
            out += p.readAllStandardOutput();
        }
        QVERIFY2(out.contains("\"detection\""), out.constData());
        QCOMPARE(::kill(pid_t(p.processId()), SIGINT), 0);
        QVERIFY(p.waitForFinished(30000));
        out += p.readAllStandardOutput();
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 0);
        const QList<QJsonObject> lines = jsonLines(out);
        QVERIFY2(!lines.isEmpty(), out.constData());
        const QJsonObject summary = lines.last();
        QCOMPARE(summary.value("event").toString(), QStringLiteral("summary"));
        QVERIFY(summary.value("interrupted").toBool());
        QVERIFY(summary.value("windows").toInt() > 0);
        QCOMPARE(detections(lines).first().second, QStringLiteral("yes"));
    }

    void helpDescribesTheCommands()
    {
        ASTPEFT_RUN_EXPECT(run, listen, (QStringList { "listen", "--help" }), 0);
        QVERIFY(listen.out.startsWith("usage: astpeft listen --model MODEL"));
        for (const char *text : { "--list-devices", "--background LABEL", "--min-hits N",
                 "median_latency_ms", "Ctrl-C" })
            QVERIFY2(listen.out.contains(text), text);
        ASTPEFT_RUN_EXPECT(run, timeline, (QStringList { "timeline", "--help" }), 0);
        QVERIFY(timeline.out.startsWith("usage: astpeft timeline MODEL"));
        QVERIFY(timeline.out.contains("--csv"));
        ASTPEFT_RUN_EXPECT(run, all, (QStringList { "--help" }), 0);
        QVERIFY(all.out.contains("\n  listen --model MODEL"));
        QVERIFY(all.out.contains("\n  timeline MODEL"));
    }

    void listsTheVirtualMicrophone()
    {
        ASTPEFT_RUN_EXPECT(run, r, (QStringList { "listen", "--list-devices", "--json" }), 0);
        const QJsonDocument doc = QJsonDocument::fromJson(r.out);
        QVERIFY2(doc.isArray(), r.out.constData());
        int defaults = 0;
        bool found = false;
        for (const QJsonValue &v : doc.array()) {
            const QJsonObject d = v.toObject();
            QVERIFY(d.value("input_channels").toInt() > 0);
            defaults += d.value("default").toBool();
            if (d.value("name").toString() == "default") {
                found = true;
                QVERIFY(d.value("default").toBool());
                QCOMPARE(d.value("host_api").toString(), QStringLiteral("ALSA"));
            }
        }
        QVERIFY2(found, r.out.constData());
        QCOMPARE(defaults, 1);
        ASTPEFT_RUN_EXPECT(run, text, (QStringList { "listen", "--list-devices" }), 0);
        QVERIFY2(text.out.contains("default"), text.out.constData());
    }

    void unknownDeviceIsAnInputError()
    {
        ASTPEFT_RUN_EXPECT(run, r,
            (QStringList { "listen", "--model", m_model, "--adapter", m_run, "--input",
                "no-such-microphone", "--seconds", "1" }),
            1);
        QVERIFY2(r.err.contains("no-such-microphone"), r.err.constData());
        QVERIFY2(r.err.trimmed().split('\n').last().startsWith("astpeft: "), r.err.constData());
        QVERIFY(r.out.isEmpty());
    }

    void deviceFailureIsAnInputError_data()
    {
        QTest::addColumn<QString>("device");
        QTest::addColumn<QString>("reason");
        QTest::addColumn<bool>("json");
        addFailingMicrophoneRows("", [](QTestData &row) { row << false; });
        addFailingMicrophoneRows(", json", [](QTestData &row) { row << true; });
    }

    // A microphone that fails mid-stream ends listen (which would otherwise run until Ctrl-C)
    // with exit code 1 and a message naming the device and why; --json's summary says so too.
    void deviceFailureIsAnInputError()
    {
        QFETCH(QString, device);
        QFETCH(QString, reason);
        QFETCH(bool, json);
        QStringList args { "listen", "--model", m_model, "--device", device };
        if (json)
            args << "--json";
        ASTPEFT_RUN_EXPECT(run, r, args + m_detectOptions, 1);
        // The message, on one line. (In the stalled case PortAudio's own thread may still
        // print its complaints around it.)
        const QString quoted = "\"" + device + "\"";
        QString message;
        for (const QByteArray &line : r.err.split('\n')) {
            if (line.startsWith("astpeft: "))
                message = QString::fromUtf8(line);
        }
        QVERIFY2(message.contains("audio input " + quoted) && message.contains(reason)
                && message.contains("device unplugged or driver error"),
            r.err.constData());
        if (device == "brokenmic")
            QVERIFY2(r.err.trimmed().split('\n').last().startsWith("astpeft: "), r.err.constData());
        if (json) {
            const QList<QJsonObject> lines = jsonLines(r.out);
            QVERIFY2(!lines.isEmpty(), r.out.constData());
            const QJsonObject summary = lines.last();
            QCOMPARE(summary.value("event").toString(), QStringLiteral("summary"));
            QCOMPARE(summary.value("device").toString(), device);
            QVERIFY2(summary.value("error").toString().contains(quoted)
                    && summary.value("error").toString().contains(reason),
                r.out.constData());
            QCOMPARE(summary.value("interrupted").toBool(), false);
            // What came before the failure was classified (at most what the device delivered).
            const double seconds = summary.value("seconds").toDouble();
            QVERIFY2(seconds > 0.0 && seconds <= double(kBrokenAfter) / kRate,
                qPrintable(QString::number(seconds)));
        }
    }

    void badOptionsAreUsageErrors()
    {
        for (const QStringList &bad :
            { QStringList { "--hop", "0.01" }, QStringList { "--threshold", "2" },
                QStringList { "--min-hits", "0" }, QStringList { "--smooth", "0" },
                // Issue 17: values that would overflow the sample counts made from them.
                QStringList { "--hop", "1e300" }, QStringList { "--suppress", "1e300" },
                QStringList { "--seconds", "1e300" }, QStringList { "--smooth", "100000" } }) {
            ASTPEFT_RUN_EXPECT(run, r,
                (QStringList { "listen", "--model", m_model, "--adapter", m_run } + bad), 2);
        }
        // A background label the model lacks names the model's labels.
        ASTPEFT_RUN_EXPECT(run, r,
            (QStringList {
                "timeline", m_model, m_wav, "--adapter", m_run, "--background", "silence" }),
            2);
        QVERIFY2(r.err.contains("\"silence\"") && r.err.contains("\"stop\""), r.err.constData());
        ASTPEFT_RUN_EXPECT(run, missing,
            (QStringList {
                "timeline", m_model, m_tmp.filePath("missing.wav"), "--adapter", m_run }),
            1);
        QVERIFY(missing.err.contains("missing.wav"));
        QVERIFY(isOneLine(missing.err));
    }
};

QTEST_GUILESS_MAIN(TestCliListen)
#include "tst_cli_listen.moc"
