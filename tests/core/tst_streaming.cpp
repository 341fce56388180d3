// SPDX-License-Identifier: MIT
// core/inference/streaming: the streamed window's features against the offline front end of
// the same samples (any chunking, windows ending off the frame grid), the window schedule,
// the detector's smoothing / threshold / consecutive hits / suppression / background rules,
// and a file's timeline against pushing the same samples. A tiny random checkpoint stands in
// for a trained model.
#include "audio/audio_file.h"
#include "error.h"
#include "features/fbank.h"
#include "inference/classifier.h"
#include "inference/streaming.h"
#include "test_support.h"

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

using namespace astpeft::core;
using astpeft::test::captureError;

namespace {

constexpr int kRate = 16000;
constexpr int kWindowFrames = 50; // the test model's max_length: a 0.505 s window

// Noise plus a gliding tone: every frame differs from its neighbours.
std::vector<float> testSignal(double seconds, unsigned seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0.0f, 0.05f);
    std::vector<float> s(std::size_t(std::lround(seconds * kRate)));
    double phase = 0.0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        phase += 2.0 * std::numbers::pi * (200.0 + 1500.0 * double(i) / double(s.size())) / kRate;
        s[i] = float(0.4 * std::sin(phase)) + noise(rng);
    }
    return s;
}

// The window that ends with the stream at `n` samples, from the offline front end.
FeatureMatrix offlineWindow(std::span<const float> samples, std::int64_t n, const FrontEnd &fe)
{
    const FbankOptions &f = fe.fbank;
    const std::int64_t frames = fbankFrameCount(n, f);
    if (frames <= fe.maxLength)
        return extractFeatures(samples.first(std::size_t(n)), fe);
    const std::int64_t start = (frames - fe.maxLength) * f.frameShift;
    const std::int64_t end = (frames - 1) * f.frameShift + f.frameLength;
    return extractFeatures(samples.subspan(std::size_t(start), std::size_t(end - start)), fe);
}

float maxAbsDifference(const FeatureMatrix &a, const FeatureMatrix &b)
{
    if (a.frames != b.frames || a.bins != b.bins || a.data.size() != b.data.size())
        return INFINITY;
    float worst = 0.0f;
    for (std::size_t i = 0; i < a.data.size(); ++i)
        worst = std::max(worst, std::abs(a.data[i] - b.data[i]));
    return worst;
}

WindowResult window(std::vector<float> probabilities)
{
    WindowResult w;
    w.probabilities = std::move(probabilities);
    return w;
}

} // namespace

class TestStreaming : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    std::filesystem::path m_model;
    std::unique_ptr<AstClassifier> m_classifier;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        m_model = std::filesystem::path(m_tmp.path().toStdString()) / "model";
        RandomModelOptions o;
        o.preset = "tiny";
        o.maxLength = kWindowFrames;
        o.labels = { "background", "yes", "no" };
        o.seed = 5;
        writeRandomModel(m_model, o);
        m_classifier =
            std::make_unique<AstClassifier>(m_model, ClassifierOptions { .device = "cpu" });
        QCOMPARE(m_classifier->frontEnd().maxLength, kWindowFrames);
    }

    void featuresMatchOfflineFrontEnd_data()
    {
        QTest::addColumn<int>("chunk");
        QTest::addColumn<double>("hop");
        for (int chunk : { 1, 37, 160, 4000 }) {
            // 0.25 s: windows end on the 10 ms grid; 0.2503 s (4005 samples): they do not.
            QTest::addRow("chunk %d, hop 0.25", chunk) << chunk << 0.25;
            QTest::addRow("chunk %d, hop 0.2503", chunk) << chunk << 0.2503;
        }
    }

    void featuresMatchOfflineFrontEnd()
    {
        QFETCH(int, chunk);
        QFETCH(double, hop);
        const std::vector<float> samples = testSignal(2.3, 11);
        const FrontEnd fe = m_classifier->frontEnd();
        StreamingClassifier stream(*m_classifier, { .hopSeconds = hop });
        const std::int64_t hopSamples = stream.hopSamples();
        QCOMPARE(hopSamples, std::int64_t(std::llround(hop * kRate)));
        std::vector<Detection> detections;
        int windows = 0, padded = 0;
        for (std::size_t at = 0; at < samples.size(); at += std::size_t(chunk)) {
            const std::size_t n = std::min(std::size_t(chunk), samples.size() - at);
            const std::vector<WindowResult> got =
                stream.push(std::span(samples).subspan(at, n), detections);
            for (const WindowResult &w : got) {
                ++windows;
                const std::int64_t end = windows * hopSamples;
                const std::int64_t frames = fbankFrameCount(end, fe.fbank);
                QCOMPARE(w.endSeconds,
                    double((frames - 1) * fe.fbank.frameShift + fe.fbank.frameLength) / kRate);
                QCOMPARE(int(w.probabilities.size()), 3);
                QVERIFY(w.top >= 0 && w.top < 3);
                padded += frames < kWindowFrames;
            }
            if (got.empty())
                continue;
            // The current window is the last one completed.
            const FeatureMatrix streamed = stream.currentFeatures();
            QCOMPARE(streamed.frames, std::int64_t(kWindowFrames));
            const float diff =
                maxAbsDifference(streamed, offlineWindow(samples, windows * hopSamples, fe));
            QVERIFY2(diff <= 1e-5f,
                qPrintable(QStringLiteral("window %1: max difference %2").arg(windows).arg(diff)));
        }
        QCOMPARE(stream.samplesPushed(), std::int64_t(samples.size()));
        QCOMPARE(std::int64_t(windows), std::int64_t(samples.size()) / hopSamples);
        // The first window (0.25 s, 23 frames) is padded like a short training clip.
        QCOMPARE(padded, 2);
    }

    void firstWindowIsPaddedClip()
    {
        const std::vector<float> samples = testSignal(0.25, 3);
        StreamingClassifier stream(*m_classifier, { .hopSeconds = 0.25 });
        std::vector<Detection> detections;
        QCOMPARE(stream.push(std::span(samples).first(3999), detections).size(), std::size_t(0));
        const auto windows = stream.push(std::span(samples).last(1), detections);
        QCOMPARE(windows.size(), std::size_t(1));
        // Exactly what predict (and training) computes for this 0.25 s clip.
        const FeatureMatrix clip = extractFeatures(samples, m_classifier->frontEnd());
        QCOMPARE(maxAbsDifference(stream.currentFeatures(), clip), 0.0f);
        const auto expected = m_classifier->scores(m_classifier->logits({ clip }).front());
        QCOMPARE(windows.front().probabilities, expected);
        // Its last frames are padding: (0 - mean) / (2 std) in every bin.
        const FrontEnd fe = m_classifier->frontEnd();
        const float pad = (0.0f - fe.mean) / (2.0f * fe.std);
        QVERIFY(std::abs(clip.at(kWindowFrames - 1, 0) - pad) < 1e-6f);
    }

    void windowSchedule_data()
    {
        QTest::addColumn<double>("seconds");
        QTest::addColumn<double>("hop");
        QTest::addColumn<int>("windows");
        QTest::addRow("3 s every 0.25 s") << 3.0 << 0.25 << 12;
        QTest::addRow("3 s every 0.3 s") << 3.0 << 0.3 << 10;
        QTest::addRow("3 s every 0.7 s") << 3.0 << 0.7 << 4;
        QTest::addRow("0.2 s every 0.25 s") << 0.2 << 0.25 << 0;
        QTest::addRow("1 s every 1 s") << 1.0 << 1.0 << 1;
    }

    void windowSchedule()
    {
        QFETCH(double, seconds);
        QFETCH(double, hop);
        QFETCH(int, windows);
        const std::vector<float> samples = testSignal(seconds, 1);
        StreamingClassifier stream(*m_classifier, { .hopSeconds = hop });
        std::vector<Detection> detections;
        const auto got = stream.push(samples, detections);
        QCOMPARE(int(got.size()), windows);
        for (std::size_t i = 1; i < got.size(); ++i)
            QVERIFY(std::abs(got[i].endSeconds - got[i - 1].endSeconds - hop) <= 0.0101);
    }

    void rejectsBadOptions()
    {
        for (const StreamOptions &o : { StreamOptions { .hopSeconds = 0.0 },
                 StreamOptions { .hopSeconds = 0.01 }, // shorter than one 25 ms frame
                 StreamOptions { .smoothWindows = 0 }, StreamOptions { .threshold = 1.5 },
                 StreamOptions { .minHits = 0 }, StreamOptions { .suppressSeconds = -1 } }) {
            const auto error = captureError([&] { StreamingClassifier s(*m_classifier, o); });
            QVERIFY(error);
            QCOMPARE(error->kind(), ErrorKind::Usage);
        }
        const auto error = captureError(
            [&] { StreamingClassifier s(*m_classifier, { .background = "silence" }); });
        QVERIFY(error);
        QCOMPARE(error->kind(), ErrorKind::Usage);
        const QString message = QString::fromStdString(error->what());
        QVERIFY2(message.contains("\"silence\"") && message.contains("\"background\""),
            qPrintable(message));
    }

    void smoothsOverWindows()
    {
        Detector detector({ .smoothWindows = 3, .threshold = 1.0 }, { "a", "b" });
        const std::vector<std::vector<float>> p = { { 1.0f, 0.0f }, { 0.0f, 1.0f }, { 0.0f, 1.0f },
            { 0.5f, 0.5f }, { 1.0f, 0.0f } };
        const std::vector<std::vector<float>> expected = { { 1.0f, 0.0f }, { 0.5f, 0.5f },
            { 1.0f / 3, 2.0f / 3 }, { 0.5f / 3, 2.5f / 3 }, { 1.5f / 3, 1.5f / 3 } };
        for (std::size_t i = 0; i < p.size(); ++i) {
            WindowResult w = window(p[i]);
            QVERIFY(!detector.add(0.25 * double(i + 1), w));
            QCOMPARE(w.smoothed.size(), std::size_t(2));
            for (std::size_t k = 0; k < 2; ++k) {
                QVERIFY2(std::abs(w.smoothed[k] - expected[i][k]) < 1e-6f,
                    qPrintable(QStringLiteral("window %1 label %2").arg(i).arg(k)));
            }
        }
        WindowResult w = window({ 0.2f, 0.8f });
        detector.add(1.5, w);
        QCOMPARE(w.top, 0); // (0.5 + 1 + 0.2) / 3 > (0.5 + 0 + 0.8) / 3
    }

    // Smoothing off (1 window) to test the rules one at a time.
    void detectsAfterConsecutiveHitsWithSuppression()
    {
        Detector detector({ .smoothWindows = 1,
                              .threshold = 0.5,
                              .minHits = 2,
                              .suppressSeconds = 1.5,
                              .background = "background" },
            { "background", "yes", "no" });
        const std::vector<float> yes = { 0.05f, 0.9f, 0.05f }, no = { 0.05f, 0.05f, 0.9f },
                                 quiet = { 0.98f, 0.01f, 0.01f }, weak = { 0.3f, 0.45f, 0.25f };
        struct Step
        {
            std::vector<float> p;
            const char *detection; // label detected at this window, or null
        };
        const std::vector<Step> steps = {
            { yes, nullptr }, // 0.25: 1 hit
            { yes, "yes" }, // 0.5: 2 hits
            { yes, nullptr }, // 0.75: the same run is reported once
            { quiet, nullptr }, // 1.0: background is never a hit, and ends the run
            { yes, nullptr }, // 1.25
            { yes, nullptr }, // 1.5: 2 hits, but 1.0 s after the last "yes" (suppressed)
            { yes, nullptr }, // 1.75: still suppressed
            { yes, "yes" }, // 2.0: the run outlasts the suppression: reported once
            { yes, nullptr }, // 2.25
            { no, nullptr }, // 2.5: another label starts a new run
            { weak, nullptr }, // 2.75: below the threshold ends it
            { no, nullptr }, // 3.0
            { yes, nullptr }, // 3.25: alternating labels never reach 2 hits
            { no, nullptr }, // 3.5
            { no, "no" }, // 3.75: "no" was never detected, so no suppression
            { quiet, nullptr }, { quiet, nullptr }, { quiet, nullptr }, // background, however sure
        };
        std::vector<Detection> detections;
        for (std::size_t i = 0; i < steps.size(); ++i) {
            WindowResult w = window(steps[i].p);
            const double t = 0.25 * double(i + 1);
            const std::optional<Detection> d = detector.add(t, w);
            QVERIFY2(bool(d) == bool(steps[i].detection), qPrintable(QString::number(t)));
            if (d) {
                QCOMPARE(d->label, std::string(steps[i].detection));
                QCOMPARE(d->seconds, t);
                QCOMPARE(d->score, 0.9f);
            }
        }
        // reset() forgets the suppression.
        detector.reset();
        WindowResult a = window(yes), b = window(yes);
        QVERIFY(!detector.add(4.0, a));
        QVERIFY(detector.add(4.25, b));
    }

    void thresholdAppliesToSmoothedScore()
    {
        // Smoothed over 3 windows, "yes" reaches the threshold only at the third window
        // although the second alone is sure of it; with minHits 1 it is detected there.
        Detector detector({ .smoothWindows = 3, .threshold = 0.6, .minHits = 1 }, { "bg", "yes" });
        WindowResult a = window({ 1.0f, 0.0f }), b = window({ 0.1f, 0.9f }),
                     c = window({ 0.0f, 1.0f });
        QVERIFY(detector.add(0.25, a)); // "bg" is a label like any other without .background
        QVERIFY(!detector.add(0.5, b)); // bg 0.55, yes 0.45: no hit
        const auto d = detector.add(0.75, c); // bg 0.37, yes 0.63
        QVERIFY(d);
        QCOMPARE(d->label, std::string("yes"));
        QVERIFY(std::abs(d->score - 1.9f / 3) < 1e-6f);
    }

    void timelineEqualsPushing()
    {
        // Float WAV: decoding gives back exactly these samples.
        const std::vector<float> samples = testSignal(3.1, 7);
        const std::filesystem::path file =
            std::filesystem::path(m_tmp.path().toStdString()) / "long.wav";
        writeAudio(file, samples, kRate, 1, "FLOAT");
        // Threshold 0 and one hit: every change of the top label is a detection.
        const StreamOptions options { .hopSeconds = 0.3,
            .smoothWindows = 2,
            .threshold = 0.0,
            .minHits = 1,
            .suppressSeconds = 0.0 };
        const Timeline timeline = classifyTimeline(*m_classifier, file, options);
        QCOMPARE(timeline.labels, (std::vector<std::string> { "background", "yes", "no" }));

        StreamingClassifier stream(*m_classifier, options);
        std::vector<WindowResult> windows;
        std::vector<Detection> detections;
        for (std::size_t at = 0; at < samples.size(); at += 37) {
            auto got = stream.push(
                std::span(samples).subspan(at, std::min<std::size_t>(37, samples.size() - at)),
                detections);
            windows.insert(windows.end(), got.begin(), got.end());
        }
        QCOMPARE(int(timeline.windows.size()), 10);
        QCOMPARE(timeline.windows.size(), windows.size());
        for (std::size_t i = 0; i < windows.size(); ++i) {
            QCOMPARE(timeline.windows[i].endSeconds, windows[i].endSeconds);
            QCOMPARE(timeline.windows[i].top, windows[i].top);
            for (std::size_t k = 0; k < 3; ++k) {
                QVERIFY(std::abs(timeline.windows[i].probabilities[k] - windows[i].probabilities[k])
                    <= 1e-6f);
                QVERIFY(
                    std::abs(timeline.windows[i].smoothed[k] - windows[i].smoothed[k]) <= 1e-6f);
            }
        }
        QVERIFY(!detections.empty());
        QCOMPARE(timeline.detections.size(), detections.size());
        for (std::size_t i = 0; i < detections.size(); ++i) {
            QCOMPARE(timeline.detections[i].label, detections[i].label);
            QCOMPARE(timeline.detections[i].seconds, detections[i].seconds);
        }

        const auto missing = captureError(
            [&] { classifyTimeline(*m_classifier, file.parent_path() / "missing.wav", options); });
        QVERIFY(missing);
        QVERIFY(QString::fromStdString(missing->what()).contains("missing.wav"));
    }

    void rejectsNonFiniteSamples()
    {
        StreamingClassifier stream(*m_classifier, { .hopSeconds = 0.25 });
        std::vector<float> samples = testSignal(0.3, 2);
        samples[100] = NAN;
        std::vector<Detection> detections;
        const auto error = captureError([&] { stream.push(samples, detections); });
        QVERIFY(error);
        QCOMPARE(error->kind(), ErrorKind::Usage);
    }
};

QTEST_GUILESS_MAIN(TestStreaming)
#include "tst_streaming.moc"
