// SPDX-License-Identifier: MIT
// core/train/augment_torch: SpecAugment masks (widths below the parameter, contiguous, in range,
// zero-valued, drawn exactly as documented from the caller's Rng, padding respected), mixup
// (lambda ~ Beta(alpha, alpha) moments, exact mixing of features and soft targets) and waveform
// augmentation (circular shift, gain range, noise at the drawn SNR, silent clips).
// torch comes before Qt: Qt's `slots` macro breaks torch headers.
#include "error.h"
#include "random.h"
#include "test_support.h"
#include "train/augment_torch.h"

#include <QTest>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <set>
#include <vector>

using namespace astpeft;
using core::AugmentOptions;
using core::Rng;

namespace {

using test::captureError;

struct Interval
{
    std::int64_t start = 0;
    std::int64_t end = 0; // exclusive; start == end: no mask
    bool operator==(const Interval &) const = default;
};

// The documented draw (torchaudio 0.13 mask_along_axis): u1, u2 uniform;
// width = floor(u1 * param); start = floor(u2 * (size - u1 * param)); clamped to [0, size).
// Empty masks come back as {0, 0}, as runOf() reports them.
Interval expectedMask(Rng &rng, int param, std::int64_t size)
{
    const double value = rng.uniform() * param;
    const double position = rng.uniform() * (double(size) - value);
    Interval m;
    m.start = std::max<std::int64_t>(0, std::int64_t(std::floor(position)));
    m.end = std::max(m.start, std::min(size, m.start + std::int64_t(std::floor(value))));
    return m.end > m.start ? m : Interval {}; // an empty mask compares as {0, 0}
}

// The one contiguous run of true values in `flags`, or an empty interval; QFAIL-style checks
// are left to the caller through `contiguous`.
Interval runOf(const std::vector<bool> &flags, bool &contiguous)
{
    Interval m;
    const auto first = std::find(flags.begin(), flags.end(), true);
    if (first == flags.end()) {
        contiguous = true;
        return m;
    }
    m.start = first - flags.begin();
    const auto last = std::find(first, flags.end(), false);
    m.end = last - flags.begin();
    contiguous = std::find(last, flags.end(), true) == flags.end();
    return m;
}

// Masked rows (frames) and columns (bins) of example b of a masked batch whose unmasked values
// are all non-zero; checks that every zero lies in a masked row or column.
struct Found
{
    Interval freq;
    Interval time;
    bool contiguous = true;
    bool onlyMaskedZeros = true;
};

Found findMasks(const torch::Tensor &masked, std::int64_t b)
{
    const torch::Tensor zero = masked[b].eq(0); // [T, F]
    const torch::Tensor rows = zero.all(1); // [T]
    const torch::Tensor cols = zero.all(0); // [F]
    Found found;
    std::vector<bool> rowFlags(std::size_t(rows.size(0)));
    std::vector<bool> colFlags(std::size_t(cols.size(0)));
    for (std::size_t t = 0; t < rowFlags.size(); ++t)
        rowFlags[t] = rows[std::int64_t(t)].item<bool>();
    for (std::size_t f = 0; f < colFlags.size(); ++f)
        colFlags[f] = cols[std::int64_t(f)].item<bool>();
    bool rowRun = true;
    bool colRun = true;
    found.time = runOf(rowFlags, rowRun);
    found.freq = runOf(colFlags, colRun);
    found.contiguous = rowRun && colRun;
    found.onlyMaskedZeros =
        zero.eq(rows.unsqueeze(1).logical_or(cols.unsqueeze(0))).all().item<bool>();
    return found;
}

double power(const std::vector<double> &x)
{
    double sum = 0.0;
    for (const double v : x)
        sum += v * v;
    return sum / double(x.size());
}

std::vector<float> sine(std::size_t n, double amplitude = 0.5)
{
    std::vector<float> wave(n);
    for (std::size_t i = 0; i < n; ++i)
        wave[i] = float(amplitude * std::sin(2 * std::numbers::pi * 440.0 * double(i) / 16000.0));
    return wave;
}

std::vector<float> gaussian(std::size_t n, std::uint64_t seed)
{
    Rng rng { seed };
    std::vector<float> noise(n);
    for (float &x : noise)
        x = float(0.2 * rng.normal());
    return noise;
}

} // namespace

class TestAugment : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void specAugmentMasks();
    void specAugmentValidFrames();
    void specAugmentSeeded();
    void specAugmentNothingToDo();
    void specAugmentCuda();
    void specAugmentErrors();

    void mixupExact();
    void mixupLambdaMoments_data();
    void mixupLambdaMoments();
    void mixupProbability();
    void mixupErrors();

    void waveShiftIsCircular();
    void waveGainRange();
    void waveNoiseSnr();
    void waveNoiseFixedSnr();
    void waveSilentClip();
    void waveNoNoiseClips();
    void waveSeeded();
    void waveErrors();
};

void TestAugment::specAugmentMasks()
{
    // The paper's settings on 64 examples of 100 frames x 128 bins; values in [1, 2) so that
    // every zero after masking was put there by a mask.
    AugmentOptions options;
    options.freqMaskParam = 24;
    options.timeMaskParam = 80;
    const std::int64_t batch = 64;
    torch::Tensor x = torch::rand({ batch, 100, 128 }) + 1.0;
    const torch::Tensor original = x.clone();
    Rng rng { 42 };
    Rng replay = rng;
    core::specAugment(x, options, rng);

    std::int64_t maxFreq = 0;
    std::int64_t maxTime = 0;
    for (std::int64_t b = 0; b < batch; ++b) {
        const Interval freq = expectedMask(replay, 24, 128);
        const Interval time = expectedMask(replay, 80, 100);
        const Found found = findMasks(x, b);
        QVERIFY(found.contiguous);
        QVERIFY(found.onlyMaskedZeros);
        QVERIFY2(found.freq == freq, qPrintable(QString("example %1").arg(b)));
        QVERIFY2(found.time == time, qPrintable(QString("example %1").arg(b)));
        QVERIFY(freq.end - freq.start < 24 && freq.start >= 0 && freq.end <= 128);
        QVERIFY(time.end - time.start < 80 && time.start >= 0 && time.end <= 100);
        maxFreq = std::max(maxFreq, freq.end - freq.start);
        maxTime = std::max(maxTime, time.end - time.start);
    }
    // Both generators consumed exactly the same draws.
    QCOMPARE(rng.state, replay.state);
    // The widths actually spread over their range.
    QVERIFY(maxFreq >= 12);
    QVERIFY(maxTime >= 40);
    // Unmasked values are untouched.
    const torch::Tensor kept = x.ne(0);
    QVERIFY(torch::equal(x.masked_select(kept), original.masked_select(kept)));
}

void TestAugment::specAugmentValidFrames()
{
    AugmentOptions options;
    options.freqMaskParam = 24;
    options.timeMaskParam = 80;
    const std::vector<std::int64_t> valid = { 100, 50, 10, 1, 0, 98, 30, 64 };
    const auto batch = std::int64_t(valid.size());
    torch::Tensor x = torch::rand({ batch, 100, 128 }) + 1.0;
    const torch::Tensor original = x.clone();
    Rng rng { 7 };
    Rng replay = rng;
    core::specAugment(x, options, rng, valid);
    for (std::int64_t b = 0; b < batch; ++b) {
        const std::int64_t v = valid[std::size_t(b)];
        const Interval freq = expectedMask(replay, 24, 128);
        const Interval time = expectedMask(replay, 80, v);
        QVERIFY(time.end <= v);
        // Masked: the time rows, and the frequency columns within the valid frames.
        torch::Tensor expected = torch::zeros({ 100, 128 }, torch::kBool);
        expected.narrow(0, 0, v).narrow(1, freq.start, freq.end - freq.start).fill_(true);
        expected.narrow(0, time.start, time.end - time.start).fill_(true);
        QVERIFY2(torch::equal(x[b].eq(0), expected), qPrintable(QString("example %1").arg(b)));
        // Padding frames are untouched.
        QVERIFY(torch::equal(x[b].narrow(0, v, 100 - v), original[b].narrow(0, v, 100 - v)));
    }
    QCOMPARE(rng.state, replay.state);

    // Several masks per kind: each draws in turn; the union stays within range.
    options.freqMasks = 2;
    options.timeMasks = 3;
    torch::Tensor y = torch::rand({ 4, 100, 128 }) + 1.0;
    Rng many { 9 };
    Rng manyReplay = many;
    core::specAugment(y, options, many);
    for (std::int64_t b = 0; b < 4; ++b) {
        torch::Tensor expected = y.new_zeros({ 100, 128 }, torch::kBool);
        for (int m = 0; m < 2; ++m) {
            const Interval f = expectedMask(manyReplay, 24, 128);
            expected.narrow(1, f.start, f.end - f.start).fill_(true);
        }
        for (int m = 0; m < 3; ++m) {
            const Interval t = expectedMask(manyReplay, 80, 100);
            expected.narrow(0, t.start, t.end - t.start).fill_(true);
        }
        QVERIFY(torch::equal(y[b].eq(0), expected));
    }
}

void TestAugment::specAugmentSeeded()
{
    AugmentOptions options;
    options.freqMaskParam = 24;
    options.timeMaskParam = 80;
    const torch::Tensor x = torch::rand({ 8, 100, 128 }) + 1.0;
    torch::Tensor a = x.clone();
    torch::Tensor b = x.clone();
    torch::Tensor c = x.clone();
    Rng ra = core::rngFor(1, 3);
    Rng rb = core::rngFor(1, 3);
    Rng rc = core::rngFor(1, 4);
    core::specAugment(a, options, ra);
    core::specAugment(b, options, rb);
    core::specAugment(c, options, rc);
    QVERIFY(torch::equal(a, b));
    QVERIFY(!torch::equal(a, c));
}

void TestAugment::specAugmentNothingToDo()
{
    // Zero parameters (the default options) mask nothing and draw nothing.
    torch::Tensor x = torch::rand({ 2, 10, 8 });
    const torch::Tensor original = x.clone();
    Rng rng { 5 };
    core::specAugment(x, AugmentOptions {}, rng);
    QVERIFY(torch::equal(x, original));
    QCOMPARE(rng.state, std::uint64_t(5));
}

void TestAugment::specAugmentCuda()
{
    if (!torch::cuda::is_available())
        QSKIP("no CUDA device");
    AugmentOptions options;
    options.freqMaskParam = 24;
    options.timeMaskParam = 80;
    torch::Tensor cpu = torch::rand({ 8, 100, 128 }) + 1.0;
    torch::Tensor gpu = cpu.to(torch::kCUDA);
    Rng a { 3 };
    Rng b { 3 };
    const std::vector<std::int64_t> valid = { 100, 40, 0, 7, 100, 99, 64, 80 };
    core::specAugment(cpu, options, a, valid);
    core::specAugment(gpu, options, b, valid);
    QVERIFY(gpu.is_cuda());
    QVERIFY(torch::equal(cpu, gpu.cpu()));
}

void TestAugment::specAugmentErrors()
{
    AugmentOptions options;
    options.freqMaskParam = 4;
    Rng rng { 1 };
    torch::Tensor flat = torch::rand({ 10, 8 });
    auto error = captureError([&] { core::specAugment(flat, options, rng); });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Usage);

    torch::Tensor x = torch::rand({ 2, 10, 8 });
    const std::vector<std::int64_t> valid = { 10 };
    error = captureError([&] { core::specAugment(x, options, rng, valid); });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
}

void TestAugment::mixupExact()
{
    AugmentOptions options;
    options.mixupAlpha = 0.4;
    const torch::Tensor x = torch::randn({ 8, 20, 16 });
    const torch::Tensor labels = torch::tensor({ 0, 1, 2, 3, 4, 0, 1, 2 }, torch::kInt64);
    const torch::Tensor onehot = torch::one_hot(labels, 5).to(torch::kFloat32);
    Rng rng { 11 };
    const core::MixupResult r = core::mixup(x, onehot, options, rng);

    QVERIFY(r.lambda >= 0.0 && r.lambda <= 1.0);
    QVERIFY(r.lambda != 1.0);
    std::vector<std::int64_t> sorted = r.permutation;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::int64_t> identity(8);
    std::iota(identity.begin(), identity.end(), 0);
    QVERIFY(sorted == identity);

    // Bit for bit the documented expression.
    const torch::Tensor perm = torch::tensor(r.permutation, torch::kInt64);
    const torch::Tensor expected = r.lambda * x + (1.0 - r.lambda) * x.index_select(0, perm);
    QVERIFY(torch::equal(r.features, expected));
    // ... which is the mixture, elementwise (float rounding only).
    for (std::int64_t i = 0; i < 8; ++i) {
        const torch::Tensor mix = r.lambda * x[i].to(torch::kFloat64)
            + (1.0 - r.lambda) * x[r.permutation[std::size_t(i)]].to(torch::kFloat64);
        QVERIFY(torch::allclose(r.features[i].to(torch::kFloat64), mix, 1e-6, 1e-6));
        const double own = r.targets[i][labels[i].item<std::int64_t>()].item<double>();
        QVERIFY(own >= std::min(r.lambda, 1.0 - r.lambda) - 1e-6);
    }
    QCOMPARE(r.targets.sizes(), onehot.sizes());
    QVERIFY(torch::allclose(r.targets.sum(1), torch::ones({ 8 }), 1e-6, 1e-6));
    QVERIFY(r.targets.ge(0).all().item<bool>());

    // Same seed, same draw; integer one-hot targets come back as float.
    Rng again { 11 };
    const core::MixupResult s = core::mixup(x, torch::one_hot(labels, 5), options, again);
    QCOMPARE(s.lambda, r.lambda);
    QVERIFY(s.permutation == r.permutation);
    QVERIFY(s.targets.is_floating_point());
    QVERIFY(torch::equal(s.targets, r.targets));
}

void TestAugment::mixupLambdaMoments_data()
{
    QTest::addColumn<double>("alpha");
    for (const double alpha : { 0.1, 0.4, 1.0, 2.0, 8.0 })
        QTest::addRow("alpha %g", alpha) << alpha;
}

void TestAugment::mixupLambdaMoments()
{
    // Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)).
    QFETCH(double, alpha);
    AugmentOptions options;
    options.mixupAlpha = alpha;
    const torch::Tensor x = torch::rand({ 2, 1 });
    const torch::Tensor t = torch::eye(2);
    Rng rng = core::rngFor(2024, std::uint64_t(alpha * 100));
    constexpr int kDraws = 4000;
    double sum = 0.0;
    double sumSquares = 0.0;
    for (int i = 0; i < kDraws; ++i) {
        const double lambda = core::mixup(x, t, options, rng).lambda;
        QVERIFY(lambda >= 0.0 && lambda <= 1.0 && std::isfinite(lambda));
        sum += lambda;
        sumSquares += lambda * lambda;
    }
    const double mean = sum / kDraws;
    const double variance = sumSquares / kDraws - mean * mean;
    const double expected = 1.0 / (4.0 * (2.0 * alpha + 1.0));
    QVERIFY2(std::abs(mean - 0.5) < 0.02, qPrintable(QString::number(mean)));
    QVERIFY2(std::abs(variance / expected - 1.0) < 0.08,
        qPrintable(QString("variance %1, expected %2").arg(variance).arg(expected)));
}

void TestAugment::mixupProbability()
{
    const torch::Tensor x = torch::rand({ 4, 3 });
    const torch::Tensor t = torch::eye(4);
    AugmentOptions options;
    options.mixupAlpha = 1.0;

    // Probability 0: one draw, then the batch as it came.
    options.mixupProbability = 0.0;
    Rng rng { 1 };
    core::MixupResult r = core::mixup(x, t, options, rng);
    QCOMPARE(r.lambda, 1.0);
    QVERIFY(torch::equal(r.features, x));
    QVERIFY(torch::equal(r.targets, t));
    Rng oneDraw { 1 };
    oneDraw.uniform();
    QCOMPARE(rng.state, oneDraw.state);

    // mixupAlpha 0: no mixup, no draw.
    AugmentOptions off;
    Rng untouched { 1 };
    r = core::mixup(x, t, off, untouched);
    QCOMPARE(r.lambda, 1.0);
    QCOMPARE(untouched.state, std::uint64_t(1));

    // Probability 1/2: about half the batches are mixed.
    options.mixupProbability = 0.5;
    int mixed = 0;
    for (int i = 0; i < 2000; ++i)
        mixed += core::mixup(x, t, options, rng).lambda != 1.0 ? 1 : 0;
    QVERIFY2(mixed > 900 && mixed < 1100, qPrintable(QString::number(mixed)));
}

void TestAugment::mixupErrors()
{
    AugmentOptions options;
    options.mixupAlpha = 1.0;
    Rng rng { 1 };
    const auto error = captureError([&] {
        core::mixup(torch::rand({ 4, 3 }), torch::eye(3), options, rng);
    });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
}

void TestAugment::waveShiftIsCircular()
{
    // A ramp 0..999 at 1 kHz, shifted by at most 0.3 s = 300 samples either way.
    AugmentOptions options;
    options.shiftSeconds = 0.3;
    std::vector<float> ramp(1000);
    std::iota(ramp.begin(), ramp.end(), 0.0f);
    const double total = std::accumulate(ramp.begin(), ramp.end(), 0.0);
    std::set<std::int64_t> shifts;
    for (std::uint64_t seed = 0; seed < 200; ++seed) {
        std::vector<float> wave = ramp;
        Rng rng { seed };
        core::augmentWaveform(wave, 1000, {}, options, rng);
        QCOMPARE(std::accumulate(wave.begin(), wave.end(), 0.0), total);
        // out[i] = in[(i - shift) mod n]
        const auto back = std::int64_t(wave[0]); // (-shift) mod n
        for (std::size_t i = 0; i < wave.size(); ++i)
            QCOMPARE(wave[i], ramp[(std::size_t(back) + i) % 1000]);
        const std::int64_t shift = back == 0 ? 0 : (back <= 500 ? -back : 1000 - back);
        QVERIFY2(std::abs(shift) <= 300, qPrintable(QString::number(shift)));
        shifts.insert(shift);
    }
    QVERIFY(*shifts.begin() < -200);
    QVERIFY(*shifts.rbegin() > 200);
    QVERIFY(shifts.size() > 100);
}

void TestAugment::waveGainRange()
{
    AugmentOptions options;
    options.gainDb = 6.0;
    const std::vector<float> clip = sine(1600);
    double lowest = 0.0;
    double highest = 0.0;
    for (std::uint64_t seed = 0; seed < 200; ++seed) {
        std::vector<float> wave = clip;
        Rng rng { seed };
        core::augmentWaveform(wave, 16000, {}, options, rng);
        const double ratio = double(wave[1]) / double(clip[1]);
        for (std::size_t i = 1; i < wave.size(); ++i)
            if (clip[i] != 0.0f)
                QVERIFY(std::abs(double(wave[i]) / double(clip[i]) - ratio) < 1e-6);
        const double db = 20.0 * std::log10(ratio);
        QVERIFY2(db >= -6.0 - 1e-6 && db <= 6.0 + 1e-6, qPrintable(QString::number(db)));
        lowest = std::min(lowest, db);
        highest = std::max(highest, db);
    }
    QVERIFY(lowest < -5.0 && highest > 5.0);
}

void TestAugment::waveNoiseSnr()
{
    // Noise clips longer and shorter (repeated) than the 0.1 s clip.
    AugmentOptions options;
    options.noiseProbability = 1.0;
    options.noiseSnrMin = 5.0;
    options.noiseSnrMax = 20.0;
    const std::vector<std::vector<float>> noise = { gaussian(5000, 1), gaussian(700, 2) };
    const std::vector<float> clip = sine(1600);
    double lowest = 100.0;
    double highest = -100.0;
    for (std::uint64_t seed = 0; seed < 200; ++seed) {
        std::vector<float> wave = clip;
        Rng rng { seed };
        core::augmentWaveform(wave, 16000, noise, options, rng);
        // The SNR of what was added, measured against the clip.
        std::vector<double> signal(clip.begin(), clip.end());
        std::vector<double> added(wave.size());
        for (std::size_t i = 0; i < wave.size(); ++i)
            added[i] = double(wave[i]) - double(clip[i]);
        const double snr = 10.0 * std::log10(power(signal) / power(added));
        QVERIFY2(snr > 5.0 - 0.01 && snr < 20.0 + 0.01, qPrintable(QString::number(snr)));
        lowest = std::min(lowest, snr);
        highest = std::max(highest, snr);
    }
    QVERIFY(lowest < 6.0 && highest > 19.0);
}

void TestAugment::waveNoiseFixedSnr()
{
    AugmentOptions options;
    options.noiseProbability = 1.0;
    options.noiseSnrMin = options.noiseSnrMax = 12.5;
    const std::vector<std::vector<float>> noise = { gaussian(3000, 3) };
    const std::vector<float> clip = sine(2000, 0.05);
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        std::vector<float> wave = clip;
        Rng rng { seed };
        core::augmentWaveform(wave, 16000, noise, options, rng);
        std::vector<double> signal(clip.begin(), clip.end());
        std::vector<double> added(wave.size());
        for (std::size_t i = 0; i < wave.size(); ++i)
            added[i] = double(wave[i]) - double(clip[i]);
        const double snr = 10.0 * std::log10(power(signal) / power(added));
        QVERIFY2(std::abs(snr - 12.5) < 0.01, qPrintable(QString::number(snr)));
    }

    // Probability 1/2: about half the clips get noise.
    options.noiseProbability = 0.5;
    int noisy = 0;
    for (std::uint64_t seed = 0; seed < 400; ++seed) {
        std::vector<float> wave = clip;
        Rng rng { seed };
        core::augmentWaveform(wave, 16000, noise, options, rng);
        noisy += wave != clip ? 1 : 0;
    }
    QVERIFY2(noisy > 160 && noisy < 240, qPrintable(QString::number(noisy)));
}

void TestAugment::waveSilentClip()
{
    AugmentOptions options;
    options.noiseProbability = 1.0;
    options.shiftSeconds = 0.05;
    options.gainDb = 10.0;
    const std::vector<std::vector<float>> noise = { gaussian(3000, 4) };
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        std::vector<float> wave(1600, 0.0f);
        Rng rng { seed };
        core::augmentWaveform(wave, 16000, noise, options, rng);
        QVERIFY(std::all_of(wave.begin(), wave.end(), [](float x) { return x == 0.0f; }));
    }
    // Silent noise adds nothing; an empty clip stays empty.
    std::vector<float> wave = sine(1600);
    const std::vector<float> clip = wave;
    options.shiftSeconds = 0.0;
    options.gainDb = 0.0;
    Rng rng { 1 };
    core::augmentWaveform(wave, 16000, { std::vector<float>(500, 0.0f) }, options, rng);
    QVERIFY(wave == clip);
    std::vector<float> empty;
    core::augmentWaveform(empty, 16000, noise, options, rng);
    QVERIFY(empty.empty());
}

void TestAugment::waveNoNoiseClips()
{
    AugmentOptions options;
    options.noiseProbability = 1.0;
    std::vector<float> wave = sine(1600);
    const std::vector<float> clip = wave;
    Rng rng { 8 };
    core::augmentWaveform(wave, 16000, {}, options, rng);
    QVERIFY(wave == clip);
    QCOMPARE(rng.state, std::uint64_t(8));
}

void TestAugment::waveSeeded()
{
    AugmentOptions options;
    options.noiseProbability = 0.8;
    options.shiftSeconds = 0.02;
    options.gainDb = 6.0;
    const std::vector<std::vector<float>> noise = { gaussian(3000, 5), gaussian(900, 6) };
    std::vector<float> a = sine(1600);
    std::vector<float> b = a;
    std::vector<float> c = a;
    Rng ra = core::rngFor(9, 1, 2);
    Rng rb = core::rngFor(9, 1, 2);
    Rng rc = core::rngFor(9, 1, 3);
    core::augmentWaveform(a, 16000, noise, options, ra);
    core::augmentWaveform(b, 16000, noise, options, rb);
    core::augmentWaveform(c, 16000, noise, options, rc);
    QVERIFY(a == b);
    QVERIFY(a != c);
    QCOMPARE(ra.state, rb.state);
}

void TestAugment::waveErrors()
{
    std::vector<float> wave = sine(100);
    Rng rng { 1 };
    AugmentOptions options;
    auto error = captureError([&] { core::augmentWaveform(wave, 0, {}, options, rng); });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
    options.noiseSnrMin = 20.0;
    options.noiseSnrMax = 5.0;
    error = captureError([&] { core::augmentWaveform(wave, 16000, {}, options, rng); });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
}

QTEST_GUILESS_MAIN(TestAugment)
#include "tst_augment.moc"
