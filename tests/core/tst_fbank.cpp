// SPDX-License-Identifier: MIT
// Kaldi fbank against torchaudio's golden values (tools/make_fbank_fixtures.py), the batched
// torch path against the fused CPU path, streaming slices, framing and AST's pad/normalise.
// torch comes before Qt: Qt's `slots` macro breaks torch headers.
#include "audio/audio_file.h"
#include "error.h"
#include "features/fbank.h"
#include "features/fbank_torch.h"
#include "io/npy.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include <cmath>

using namespace astpeft::core;
namespace fs = std::filesystem;

namespace {

const fs::path kDir = fs::path(ASTPEFT_FIXTURES) / "fbank";
constexpr float kPadValue = 0.4670324f; // (0 + 4.2677393) / (2 * 4.5689974)

QJsonArray manifestFixtures()
{
    QFile f(QString::fromStdString((kDir / "manifest.json").string()));
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot open the fbank manifest");
    return QJsonDocument::fromJson(f.readAll()).object().value("fixtures").toArray();
}

FrontEnd unpadded()
{
    FrontEnd fe;
    fe.maxLength = 0;
    return fe;
}

std::vector<float> tone(int n, double hz, double amplitude = 0.5)
{
    std::vector<float> x(std::size_t(n), 0.0f);
    for (int i = 0; i < n; ++i)
        x[std::size_t(i)] = float(amplitude * std::sin(2 * M_PI * hz * i / 16000.0));
    return x;
}

} // namespace

class TestFbank : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void matchesTorchaudio_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("frames");
        QTest::addColumn<int>("step");
        const QJsonArray fixtures = manifestFixtures();
        QVERIFY(fixtures.size() >= 12);
        for (const auto &v : fixtures) {
            const QJsonObject o = v.toObject();
            QTest::addRow("%s", qPrintable(o["name"].toString()))
                << o["name"].toString() << o["frames"].toInt() << o["frame_step"].toInt();
        }
    }
    void matchesTorchaudio()
    {
        QFETCH(QString, name);
        QFETCH(int, frames);
        QFETCH(int, step);
        const Audio audio = decodeAudio(kDir / (name.toStdString() + ".wav"));
        const FeatureMatrix ours = extractFeatures(audio.samples, unpadded());
        QCOMPARE(ours.frames, std::int64_t(frames));
        const NpyArray ref = readNpy(kDir / (name.toStdString() + ".npy"));
        QCOMPARE(ref.shape.size(), std::size_t(2));
        QCOMPARE(ref.shape[1], std::int64_t(128));
        QCOMPARE(ref.shape[0], std::int64_t((frames + step - 1) / step));
        double maxDiff = 0.0, sumDiff = 0.0;
        for (std::int64_t r = 0; r < ref.shape[0]; ++r)
            for (int b = 0; b < 128; ++b) {
                const double d =
                    std::abs(double(ours.at(r * step, b)) - ref.data[std::size_t(r * 128 + b)]);
                maxDiff = std::max(maxDiff, d);
                sumDiff += d;
            }
        const double meanDiff = sumDiff / double(ref.data.size());
        qInfo("max %.3g mean %.3g", maxDiff, meanDiff);
        QVERIFY2(maxDiff <= 5e-3, qPrintable(QString::number(maxDiff)));
        QVERIFY2(meanDiff <= 5e-5, qPrintable(QString::number(meanDiff)));
    }

    void batchedTorchPathEqualsCpuPath()
    {
        const int n = 16000;
        std::vector<std::vector<float>> waves = { tone(n, 440), tone(n, 3000, 0.9),
            tone(n, 50, 0.01) };
        for (std::size_t i = 0; i < waves[2].size(); ++i)
            waves[2][i] += float(0.05 * std::sin(i * 0.37) * std::cos(i * 0.011));
        torch::Tensor batch = torch::empty({ 3, n });
        for (int i = 0; i < 3; ++i)
            std::copy(waves[std::size_t(i)].begin(), waves[std::size_t(i)].end(),
                batch[i].data_ptr<float>());
        const torch::Tensor torchFeatures = fbankBatch(batch);
        QCOMPARE(torchFeatures.size(1), std::int64_t(98));
        for (int i = 0; i < 3; ++i) {
            const FeatureMatrix cpu = computeFbank(waves[std::size_t(i)]);
            const torch::Tensor t =
                torch::from_blob(const_cast<float *>(cpu.data.data()), { 98, 128 });
            // Raw log-mel; 1e-3 here is about 1e-4 after normalisation (spec: 5e-3).
            const float diff = (torchFeatures[i] - t).abs().max().item<float>();
            QVERIFY2(diff <= 1e-3f, qPrintable(QString::number(diff)));
        }
        // finishFeatures pads with the normalised zero, like extractFeatures.
        FrontEnd fe;
        fe.maxLength = 100;
        const torch::Tensor finished = finishFeatures(torchFeatures, fe);
        QCOMPARE(finished.size(1), std::int64_t(100));
        QVERIFY(std::abs(finished[0][99][5].item<float>() - kPadValue) < 1e-6f);
        const FeatureMatrix cpu = extractFeatures(waves[0], fe);
        const float diff =
            (finished[0] - torch::from_blob(const_cast<float *>(cpu.data.data()), { 100, 128 }))
                .abs()
                .max()
                .item<float>();
        QVERIFY(diff <= 1e-4f);
    }

    void streamingSliceEqualsOffline()
    {
        const std::vector<float> x = tone(48000, 1234.5);
        const FbankComputer computer;
        const FeatureMatrix full = computer.compute(x);
        const FeatureMatrix part = computer.computeFrames(x, 100, 37);
        QCOMPARE(part.frames, std::int64_t(37));
        for (int r = 0; r < 37; ++r)
            for (int b = 0; b < 128; ++b)
                QVERIFY(std::abs(part.at(r, b) - full.at(100 + r, b)) <= 1e-5f);
        QVERIFY_THROWS_EXCEPTION(Error, computer.computeFrames(x, full.frames - 1, 2));
    }

    void frameCounts_data()
    {
        QTest::addColumn<int>("samples");
        QTest::addColumn<int>("frames");
        QTest::addRow("399") << 399 << 0;
        QTest::addRow("400") << 400 << 1;
        QTest::addRow("559") << 559 << 1;
        QTest::addRow("560") << 560 << 2;
        QTest::addRow("1 s") << 16000 << 98;
        QTest::addRow("4 s") << 64000 << 398;
        QTest::addRow("5 s") << 80000 << 498;
    }
    void frameCounts()
    {
        QFETCH(int, samples);
        QFETCH(int, frames);
        QCOMPARE(fbankFrameCount(samples, {}), std::int64_t(frames));
        if (frames > 0)
            QCOMPARE(computeFbank(std::vector<float>(std::size_t(samples), 0.1f)).frames,
                std::int64_t(frames));
    }

    void shorterThanOneFrameIsAClearError()
    {
        try {
            computeFbank(std::vector<float>(399, 0.0f));
            QFAIL("expected an error");
        } catch (const Error &e) {
            QCOMPARE(e.kind(), ErrorKind::Usage);
            QVERIFY2(QString(e.what()).contains("shorter than one analysis frame"), e.what());
            QVERIFY2(QString(e.what()).contains("399 samples"), e.what());
        }
    }

    void nonFiniteInputIsAnError()
    {
        std::vector<float> x = tone(1000, 440);
        x[777] = std::numeric_limits<float>::quiet_NaN();
        try {
            computeFbank(x);
            QFAIL("expected an error");
        } catch (const Error &e) {
            QVERIFY2(QString(e.what()).contains("index 777"), e.what());
        }
    }

    void padTruncateAndNormalise()
    {
        const std::vector<float> x = tone(16000, 440);
        FrontEnd fe;
        fe.maxLength = 100;
        const FeatureMatrix padded = extractFeatures(x, fe);
        QCOMPARE(padded.frames, std::int64_t(100));
        for (int r = 98; r < 100; ++r)
            for (int b = 0; b < 128; ++b)
                QCOMPARE(padded.at(r, b), kPadValue);
        FeatureMatrix raw = computeFbank(x);
        QCOMPARE(padded.at(10, 7), (raw.at(10, 7) + 4.2677393f) / (2.0f * 4.5689974f));
        fe.maxLength = 50;
        const FeatureMatrix truncated = extractFeatures(x, fe);
        QCOMPARE(truncated.frames, std::int64_t(50));
        QCOMPARE(truncated.at(49, 3), padded.at(49, 3));
        fe.normalize = false;
        fe.maxLength = 0;
        QCOMPARE(extractFeatures(x, fe).data, raw.data);
        QVERIFY_THROWS_EXCEPTION(Error, normalizeFeatures(raw, 0.0f, 0.0f));
    }

    void melFilterbankShape()
    {
        const FbankComputer computer;
        const std::vector<float> mel = computer.melMatrix();
        QCOMPARE(mel.size(), std::size_t(128 * 257));
        int empty = 0;
        for (int b = 0; b < 128; ++b) {
            float sum = 0.0f;
            for (int k = 0; k < 257; ++k)
                sum += mel[std::size_t(b * 257 + k)];
            empty += sum == 0.0f;
            QCOMPARE(mel[std::size_t(b * 257 + 256)], 0.0f); // Nyquist bin unused
        }
        // At 16 kHz / 512 points the lowest filters are narrower than one bin (as in torchaudio)
        // but most are not.
        QVERIFY(empty > 0 && empty < 16);
        QCOMPARE(computer.window().size(), std::size_t(400));
        QCOMPARE(computer.window().front(), 0.0f);
        QVERIFY(std::abs(computer.window()[200] - 1.0f) < 1e-4f);
    }
};

QTEST_GUILESS_MAIN(TestFbank)
#include "tst_fbank.moc"
