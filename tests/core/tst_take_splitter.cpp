// SPDX-License-Identifier: MIT
// Cutting a recorded take into clips: fixed pieces, sound events found in silence and noise
// (with padding, merging of close events, dropped clicks, centring in the minimum length, and
// long sounds cut), and the level meter's peak/RMS/clipping.
#include "audio/take_splitter.h"
#include "error.h"

#include <QtTest>

#include <cmath>

using namespace astpeft::core;

namespace {
constexpr int kRate = 16000;

// Silence with low noise, and tone bursts at [start, end) seconds.
std::vector<float> take(double seconds, const std::vector<std::pair<double, double>> &bursts)
{
    std::vector<float> x(std::size_t(seconds * kRate));
    std::uint32_t s = 7;
    for (std::size_t i = 0; i < x.size(); ++i) {
        s = s * 1664525u + 1013904223u;
        x[i] = float((double(s >> 8) / double(1 << 24) - 0.5) * 0.002); // about -60 dBFS
    }
    for (const auto &[a, b] : bursts) {
        for (std::size_t i = std::size_t(a * kRate); i < std::size_t(b * kRate); ++i)
            x[i] += float(0.5 * std::sin(2 * M_PI * 440.0 * double(i) / kRate));
    }
    return x;
}

double sec(std::size_t samples)
{
    return double(samples) / kRate;
}
} // namespace

class TestTakeSplitter : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void fixedPieces()
    {
        const std::vector<float> x = take(3.4, {});
        const auto pieces = splitTake(x, kRate, { .mode = SplitMode::Fixed, .clipSeconds = 1.0 });
        QCOMPARE(pieces.size(), std::size_t(3)); // the last 0.4 s is less than half a clip
        for (std::size_t i = 0; i < 3; ++i) {
            QCOMPARE(pieces[i].begin, i * kRate);
            QCOMPARE(pieces[i].end, (i + 1) * kRate);
        }
        const auto withTail = splitTake(take(3.6, {}), kRate, { .mode = SplitMode::Fixed });
        QCOMPARE(withTail.size(), std::size_t(4));
        QCOMPARE(withTail.back().end, std::size_t(3.6 * kRate));
    }

    void soundsInSilence()
    {
        // Three words; the second is two syllables 0.15 s apart (one sound); a 20 ms click.
        const std::vector<float> x =
            take(8.0, { { 1.0, 1.4 }, { 3.0, 3.3 }, { 3.45, 3.8 }, { 5.0, 5.02 }, { 6.5, 7.0 } });
        const auto sounds = splitTake(x, kRate, {});
        QCOMPARE(sounds.size(), std::size_t(3));
        // Each clip is at least 1 s, contains its whole sound, and is centred on it.
        const std::pair<double, double> expected[] = { { 1.0, 1.4 }, { 3.0, 3.8 }, { 6.5, 7.0 } };
        for (std::size_t i = 0; i < 3; ++i) {
            const double b = sec(sounds[i].begin), e = sec(sounds[i].end);
            QVERIFY2(e - b >= 0.999, qPrintable(QString::number(e - b)));
            QVERIFY(b <= expected[i].first && e >= expected[i].second);
            const double centre = (expected[i].first + expected[i].second) / 2;
            QVERIFY2(
                std::abs((b + e) / 2 - centre) < 0.06, qPrintable(QString::number((b + e) / 2)));
        }
    }

    void longSoundIsCut()
    {
        const std::vector<float> x = take(14.0, { { 1.0, 13.0 } });
        const auto sounds = splitTake(x, kRate, { .maxClipSeconds = 5.0 });
        QCOMPARE(sounds.size(), std::size_t(3)); // 12.2 s with padding: 5 + 5 + 2.2
        QCOMPARE(sec(sounds[0].end - sounds[0].begin), 5.0);
        QCOMPARE(sounds[1].begin, sounds[0].end);
        QVERIFY(sec(sounds[0].begin) <= 1.0 && sec(sounds[2].end) >= 13.0);
    }

    void silenceAndEdges()
    {
        QVERIFY(splitTake(std::vector<float>(kRate * 2, 0.0f), kRate, {}).empty());
        QVERIFY(splitTake({}, kRate, {}).empty());
        // A sound at the very start and end stays inside the take.
        const std::vector<float> x = take(3.0, { { 0.0, 0.3 }, { 2.8, 3.0 } });
        const auto sounds = splitTake(x, kRate, {});
        QCOMPARE(sounds.size(), std::size_t(2));
        QCOMPARE(sounds[0].begin, std::size_t(0));
        QCOMPARE(sounds[1].end, x.size());
        QVERIFY_THROWS_EXCEPTION(Error, splitTake(x, 0, {}));
        QVERIFY_THROWS_EXCEPTION(Error, splitTake(x, kRate, { .clipSeconds = 0 }));
    }

    void levels()
    {
        std::vector<float> x(1600);
        for (std::size_t i = 0; i < x.size(); ++i)
            x[i] = float(0.5 * std::sin(2 * M_PI * 100.0 * double(i) / kRate));
        const Level l = measureLevel(x);
        QVERIFY(std::abs(l.peakDb - 20 * std::log10(0.5)) < 0.05);
        QVERIFY(std::abs(l.rmsDb - 20 * std::log10(0.5 / std::sqrt(2.0))) < 0.05);
        QVERIFY(!l.clipped);
        x[10] = 1.0f;
        QVERIFY(measureLevel(x).clipped);
        QCOMPARE(measureLevel(std::vector<float>(10, 0.0f)).peakDb, -120.0);
    }
};

QTEST_APPLESS_MAIN(TestTakeSplitter)
#include "tst_take_splitter.moc"
