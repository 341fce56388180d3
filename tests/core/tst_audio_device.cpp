// SPDX-License-Identifier: MIT
// core/audio/audio_device through real PortAudio and ALSA, without a sound card: a temporary
// HOME holds an .asoundrc whose default capture device reads a raw file this test writes (the
// ALSA `file` plugin delivers it as fast as it is read) and whose playback devices write what
// they play to a file or to a FIFO the test reads at its own pace. Each time PortAudio starts it
// probes every ALSA device, and ALSA and JACK print a few hundred harmless lines on stderr.
#include "audio/audio_device.h"
#include "audio/audio_file.h"
#include "error.h"
#include "test_support.h"
#include "virtual_audio.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QScopeGuard>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <numbers>
#include <optional>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace astpeft;
using namespace std::chrono_literals;

namespace {

using test::captureError;

constexpr int kFileRate = 16000; // Hz of in.raw and of what the playback devices write
constexpr qint64 kBrokenAfter = 8000; // frames brokenmic delivers before it fails (0.5 s)

// 0.1 s silence, 0.4 s of 440 Hz, 0.4 s of 1000 Hz, 0.1 s silence, amplitude 0.5, as s16.
std::vector<std::int16_t> microphoneSignal()
{
    std::vector<std::int16_t> samples(kFileRate, 0);
    for (int i = kFileRate / 10; i < kFileRate * 9 / 10; ++i) {
        const double hz = i < kFileRate / 2 ? 440.0 : 1000.0;
        samples[std::size_t(i)] = std::int16_t(
            std::lround(0.5 * 32767.0 * std::sin(2.0 * std::numbers::pi * hz * i / kFileRate)));
    }
    return samples;
}

// s16 -> float as ALSA's plug converts it (x / 32768).
std::vector<float> toFloat(const std::vector<std::int16_t> &samples)
{
    std::vector<float> out(samples.size());
    for (std::size_t i = 0; i < samples.size(); ++i)
        out[i] = float(samples[i]) / 32768.0f;
    return out;
}

std::vector<float> fromS16Bytes(const QByteArray &bytes)
{
    std::vector<std::int16_t> samples(std::size_t(bytes.size()) / 2);
    std::memcpy(samples.data(), bytes.constData(), samples.size() * 2);
    return toFloat(samples);
}

// 440 Hz then 1000 Hz, amplitude 0.5, the phase continuous (no click that resamplers of
// different bandwidth would render differently).
std::vector<float> tones(double seconds, int rate)
{
    std::vector<float> samples(std::size_t(std::lround(seconds * rate)));
    double phase = 0.0;
    for (std::size_t i = 0; i < samples.size(); ++i) {
        samples[i] = float(0.5 * std::sin(phase));
        phase += 2.0 * std::numbers::pi * (i < samples.size() / 2 ? 440.0 : 1000.0) / rate;
    }
    return samples;
}

std::size_t firstAbove(const std::vector<float> &samples, float level)
{
    for (std::size_t i = 0; i < samples.size(); ++i) {
        if (std::abs(samples[i]) > level)
            return i;
    }
    return samples.size();
}

struct Match
{
    std::ptrdiff_t lag = 0; // got[i + lag] corresponds to expected[i]
    double maxError = 0.0; // over all of expected; a sample got lacks counts as 0
};

// Aligns `got` on `expected`: first sample above 0.01 in each, refined over +-8 samples by the
// least squared difference (resampling filters blur the onset).
std::optional<Match> align(const std::vector<float> &got, const std::vector<float> &expected)
{
    const std::size_t e0 = firstAbove(expected, 0.01f), g0 = firstAbove(got, 0.01f);
    if (e0 == expected.size() || g0 == got.size())
        return std::nullopt;
    auto at = [&](std::ptrdiff_t i) {
        return i >= 0 && i < std::ptrdiff_t(got.size()) ? got[std::size_t(i)] : 0.0f;
    };
    const std::ptrdiff_t coarse = std::ptrdiff_t(g0) - std::ptrdiff_t(e0);
    Match best;
    double bestSse = -1.0;
    for (std::ptrdiff_t lag = coarse - 8; lag <= coarse + 8; ++lag) {
        double sse = 0.0;
        for (std::size_t i = e0; i < std::min(expected.size(), e0 + 2000); ++i) {
            const double diff = double(at(std::ptrdiff_t(i) + lag)) - expected[i];
            sse += diff * diff;
        }
        if (bestSse < 0 || sse < bestSse) {
            bestSse = sse;
            best.lag = lag;
        }
    }
    for (std::size_t i = 0; i < expected.size(); ++i) {
        best.maxError = std::max(best.maxError,
            std::abs(double(at(std::ptrdiff_t(i) + best.lag)) - double(expected[i])));
    }
    return best;
}

QByteArray readFile(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// Reads the playback FIFO on its own thread, but only as many bytes as the test allows, so
// that the player's stream advances exactly as the test lets it. drainAll() lifts the limit.
class FifoReader
{
public:
    explicit FifoReader(int fd)
        : m_fd(fd)
        , m_thread([this](std::stop_token stop) { run(stop); })
    { }
    ~FifoReader() { drainAll(); }

    void allow(std::size_t bytes) { m_allowed.fetch_add(bytes); }
    void drainAll() { m_unlimited.store(true); }
    std::size_t total() const { return m_total.load(); }
    QByteArray bytes() const
    {
        std::lock_guard lock(m_mutex);
        return m_bytes;
    }

private:
    void run(std::stop_token stop)
    {
        char buffer[4096];
        while (!stop.stop_requested()) {
            const std::size_t total = m_total.load();
            const std::size_t room = m_unlimited.load()
                ? sizeof buffer
                : std::min(sizeof buffer, m_allowed.load() - std::min(m_allowed.load(), total));
            pollfd fd { m_fd, POLLIN, 0 };
            if (room == 0 || ::poll(&fd, 1, 5) <= 0) {
                if (room == 0)
                    std::this_thread::sleep_for(1ms);
                continue;
            }
            const ssize_t n = ::read(m_fd, buffer, room);
            if (n > 0) {
                std::lock_guard lock(m_mutex);
                m_bytes.append(buffer, qsizetype(n));
                m_total.fetch_add(std::size_t(n));
            } else {
                std::this_thread::sleep_for(1ms); // no writer (EOF) or nothing yet
            }
        }
    }

    int m_fd;
    std::atomic<std::size_t> m_allowed { 0 }, m_total { 0 };
    std::atomic<bool> m_unlimited { false };
    mutable std::mutex m_mutex;
    QByteArray m_bytes;
    std::jthread m_thread; // last: stopped and joined first
};

} // namespace

class TestAudioDevice : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void listsVirtualMicrophone();
    void findsDevices();
    void unknownDeviceIsUsageError();
    void rejectsBadOptions();
    void deviceErrorNamesDeviceAndReason();
    void capturesSignal_data();
    void capturesSignal();
    void countsOverflows();
    void restartsAfterStop();
    void reportsDeviceFailure_data();
    void reportsDeviceFailure();
    void playsToDevice_data();
    void playsToDevice();
    void reportsProgressThenFinishes();

private:
    QTemporaryDir m_home;
    std::vector<float> m_signal; // in.raw as the device delivers it
    int m_fifo = -1; // read end of out.fifo, open for the whole test
};

void TestAudioDevice::initTestCase()
{
    QVERIFY(m_home.isValid());
    const QString home = m_home.path();
    std::vector<std::int16_t> signal = microphoneSignal();
    m_signal = toFloat(signal);
    // 10 s of silence after the signal: past the end of the file, the plugin repeats stale
    // buffer contents instead, and the capture tests read well within the 11 s.
    signal.resize(signal.size() + 10 * kFileRate, 0);
    QFile in(home + "/in.raw");
    QVERIFY(in.open(QIODevice::WriteOnly));
    QCOMPARE(in.write(reinterpret_cast<const char *>(signal.data()), qint64(signal.size() * 2)),
        qint64(signal.size() * 2));
    in.close();

    // The playback FIFO needs a reader before anything opens it for writing: ALSA opens it
    // whenever PortAudio probes the device, and an open for writing waits for a reader.
    const QByteArray fifo = QFile::encodeName(home + "/out.fifo");
    QCOMPARE(::mkfifo(fifo.constData(), 0600), 0);
    m_fifo = ::open(fifo.constData(), O_RDONLY | O_NONBLOCK);
    QVERIFY(m_fifo >= 0);

    // vanishing works only while vanishing.raw exists.
    QFile vanishing(home + "/vanishing.raw");
    QVERIFY(vanishing.open(QIODevice::WriteOnly));
    vanishing.close();

    // The default devices of tests/virtual_audio.h (virtmic reads in.raw, virtspk writes
    // out.raw), plus virtpipe, which converts what it plays to 16 kHz s16 mono into out.fifo,
    // and vanishing, a capture device that works only while vanishing.raw exists.
    QVERIFY(astpeft::test::installVirtualAudio(home,
        "pcm.pipeout { type file; slave.pcm \"null\"; file \"%1/out.fifo\"; format \"raw\" }\n"
        "pcm.virtpipe { type plug; slave { pcm \"pipeout\"; rate 16000; channels 1; format "
        "S16_LE } }\n"
        "pcm.vanishing { type file; slave.pcm \"null\"; file \"/dev/null\"; infile "
        "\"%1/vanishing.raw\"; format \"raw\" }\n"
            + astpeft::test::failingMicrophone("brokenmic", home + "/in.raw", kBrokenAfter)
            + astpeft::test::failingMicrophone(
                "stuckmic", home + "/in.raw", kBrokenAfter, "xrun")));
}

void TestAudioDevice::cleanupTestCase()
{
    if (m_fifo >= 0)
        ::close(m_fifo);
}

void TestAudioDevice::listsVirtualMicrophone()
{
    const std::vector<core::AudioDeviceInfo> devices = core::listAudioDevices();
    auto named = [&](const std::string &name) -> const core::AudioDeviceInfo * {
        for (const core::AudioDeviceInfo &device : devices) {
            if (device.name == name)
                return &device;
        }
        return nullptr;
    };
    const core::AudioDeviceInfo *def = named("default");
    QVERIFY2(def, "PortAudio lists no ALSA device called default");
    QCOMPARE(def->hostApi, std::string("ALSA"));
    QVERIFY(def->maxInputChannels > 0);
    QVERIFY(def->maxOutputChannels > 0);
    QVERIFY(def->defaultInput);
    QVERIFY(def->defaultOutput);
    QCOMPARE(def->index, int(def - devices.data()));
    QVERIFY(def->defaultSampleRate > 0);
    QVERIFY(named("virtmic"));
    QVERIFY(named("virtspk"));
    QCOMPARE(std::count_if(devices.begin(), devices.end(),
                 [](const core::AudioDeviceInfo &d) { return d.defaultInput; }),
        std::ptrdiff_t(1));
}

void TestAudioDevice::findsDevices()
{
    QCOMPARE(core::findAudioDevice("", true).name, std::string("default"));
    QCOMPARE(core::findAudioDevice("", false).name, std::string("default"));
    QCOMPARE(core::findAudioDevice("VirtMic", true).name, std::string("virtmic"));
    QCOMPARE(core::findAudioDevice("IRTSP", false).name, std::string("virtspk"));
    // An exact name wins over an earlier device that merely contains it.
    QCOMPARE(core::findAudioDevice("virtout", false).name, std::string("virtout"));
    const core::AudioDeviceInfo byName = core::findAudioDevice("default", true);
    const core::AudioDeviceInfo byIndex = core::findAudioDevice(std::to_string(byName.index), true);
    QCOMPARE(byIndex.index, byName.index);
    QCOMPARE(byIndex.name, byName.name);
}

void TestAudioDevice::unknownDeviceIsUsageError()
{
    auto error = captureError([] { core::findAudioDevice("no-such-microphone", true); });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
    const QString message = QString::fromStdString(error->what());
    QVERIFY2(message.contains("\"no-such-microphone\""), qPrintable(message));
    QVERIFY2(message.contains("inputs:") && message.contains("\"default\""), qPrintable(message));

    error = captureError([] { core::findAudioDevice("9999", true); });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
    QVERIFY2(QString::fromStdString(error->what()).contains("9999"), error->what());

    error = captureError([] { core::AudioCapture capture({ .device = "no-such-microphone" }); });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
    QVERIFY2(QString::fromStdString(error->what()).contains("no-such-microphone"), error->what());

    error = captureError([] { core::AudioPlayer player({ .device = "no-such-speaker" }); });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
    QVERIFY2(QString::fromStdString(error->what()).contains("outputs:"), error->what());
}

void TestAudioDevice::rejectsBadOptions()
{
    auto error =
        captureError([] { core::AudioCapture capture({ .device = "", .sampleRate = 100 }); });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
    QVERIFY2(QString::fromStdString(error->what()).contains("\"default\""), error->what());
    error = captureError([] {
        core::AudioCapture capture({ .device = "", .sampleRate = 16000, .bufferSeconds = 0 });
    });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Usage);

    core::AudioPlayer player;
    for (double speed : { 0.1, 2.5, std::nan("") }) {
        error = captureError([&] { player.play(tones(0.1, 16000), 16000, speed); });
        QVERIFY(error);
        QCOMPARE(error->kind(), core::ErrorKind::Usage);
        QVERIFY(!player.playing());
    }
    error = captureError([&] { player.play(tones(0.1, 16000), 0); });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
}

// A device PortAudio listed but can no longer open (as when unplugged): the error names it and
// carries PortAudio's reason.
void TestAudioDevice::deviceErrorNamesDeviceAndReason()
{
    core::AudioSession session; // the device list is taken now, while vanishing.raw exists
    QCOMPARE(core::findAudioDevice("vanishing", true).name, std::string("vanishing"));
    QVERIFY(QFile::remove(m_home.path() + "/vanishing.raw"));
    const auto error = captureError([] { core::AudioCapture capture({ .device = "vanishing" }); });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Io);
    const QString message = QString::fromStdString(error->what());
    QVERIFY2(message.startsWith("audio input \"vanishing\" (ALSA, device "), qPrintable(message));
    QVERIFY2(message.contains("16000"), qPrintable(message));
    QVERIFY2(message.contains("could not be opened"), qPrintable(message));
    // PortAudio's own text (Pa_GetErrorText) ends the message.
    QVERIFY2(message.section("): ", -1).size() > 3, qPrintable(message));
}

void TestAudioDevice::capturesSignal_data()
{
    QTest::addColumn<int>("rate"); // what read() delivers
    QTest::addColumn<int>("deviceRate"); // CaptureOptions::deviceRate
    QTest::addColumn<double>("tolerance");
    // Native: the samples of in.raw exactly (s16 -> float is exact).
    QTest::addRow("16 kHz, device 16 kHz") << 16000 << 0 << 1e-6;
    // The device stays at 16 kHz and libsamplerate converts on the reading side, in pieces;
    // the reference is core::resample() of the same samples (the same converter, in one go;
    // measured: identical).
    QTest::addRow("22.05 kHz, device 16 kHz") << 22050 << 16000 << 1e-5;
    QTest::addRow("8 kHz, device 16 kHz") << 8000 << 16000 << 1e-5;
    QTest::addRow("48 kHz, device 16 kHz") << 48000 << 16000 << 1e-5;
}

void TestAudioDevice::capturesSignal()
{
    QFETCH(int, rate);
    QFETCH(int, deviceRate);
    QFETCH(double, tolerance);
    core::AudioCapture capture(
        { .device = "default", .sampleRate = rate, .bufferSeconds = 4, .deviceRate = deviceRate });
    QCOMPARE(capture.device().name, std::string("default"));
    QCOMPARE(capture.deviceSampleRate(), 16000.0);
    QCOMPARE(capture.sampleRate(), rate);
    QCOMPARE(capture.deviceChannels(), 1);
    QVERIFY(!capture.running());

    capture.start();
    QVERIFY(capture.running());
    std::vector<float> got(std::size_t(rate) * 3 / 2); // the 1 s signal and silence after it
    QCOMPARE(capture.readWait(got, 20s), got.size());
    capture.stop();
    QVERIFY(!capture.running());
    QVERIFY(!capture.failed());
    QVERIFY(capture.error().empty());

    const std::vector<float> expected =
        rate == kFileRate ? m_signal : core::resample(m_signal, kFileRate, rate);
    const std::optional<Match> match = align(got, expected);
    QVERIFY2(match, "nothing but silence was captured");
    QVERIFY2(match->maxError <= tolerance,
        qPrintable(
            QStringLiteral("largest difference %1 (lag %2)").arg(match->maxError).arg(match->lag)));
    // The stream starts with the file: no samples lost or invented in front of it.
    QVERIFY2(std::abs(match->lag) <= 1, qPrintable(QString::number(match->lag)));
    // After the file comes silence.
    const auto tail = got.begin() + std::ptrdiff_t(expected.size()) + match->lag + rate / 100;
    QVERIFY(std::all_of(tail, got.end(), [](float x) { return std::abs(x) < 1e-3f; }));
}

// A reader that does not read for longer than the ring holds loses the newest audio, counted
// by overflows(); what the ring kept is the oldest, intact.
void TestAudioDevice::countsOverflows()
{
    core::AudioCapture capture({ .device = "default", .sampleRate = 16000, .bufferSeconds = 0.25 });
    capture.start();
    QTRY_VERIFY_WITH_TIMEOUT(capture.overflows() > 0, 20000);
    capture.stop();
    const std::uint64_t dropped = capture.droppedSamples();
    QVERIFY(dropped > 0);
    QCOMPARE(capture.overflows(), dropped + capture.deviceOverflows());

    std::vector<float> got(16000, -2.0f);
    QCOMPARE(capture.read(got), std::size_t(4000)); // 0.25 s at 16 kHz: the ring, full
    QCOMPARE(capture.read(got), std::size_t(0));
    got.resize(4000);
    const std::vector<float> expected(m_signal.begin(), m_signal.begin() + 4000);
    QVERIFY(std::equal(got.begin(), got.end(), expected.begin()));
    QCOMPARE(capture.droppedSamples(), dropped); // stopped: nothing more arrives
}

void TestAudioDevice::restartsAfterStop()
{
    core::AudioCapture capture({ .device = "default", .sampleRate = 16000, .bufferSeconds = 2 });
    capture.start();
    std::vector<float> first(8000);
    QCOMPARE(capture.readWait(first, 20s), first.size());
    QVERIFY(std::equal(first.begin(), first.end(), m_signal.begin()));
    // An overflow means the ring (2 s) is full: samples 8000 to 40000 wait in it.
    QTRY_VERIFY_WITH_TIMEOUT(capture.overflows() > 0, 20000);
    capture.stop();
    QVERIFY(!capture.running());

    // Samples captured before stop() stay readable, then come the restarted stream's.
    capture.start();
    QVERIFY(capture.running());
    std::vector<float> kept(24000);
    QCOMPARE(capture.readWait(kept, 20s), kept.size());
    QVERIFY(std::equal(kept.begin(), kept.begin() + 8000, m_signal.begin() + 8000));
    QVERIFY(std::all_of(kept.begin() + 8000, kept.end(), [](float x) { return x == 0.0f; }));
    std::vector<float> fresh(8000);
    QCOMPARE(capture.readWait(fresh, 20s), fresh.size());
    QVERIFY(capture.running());
    capture.stop();
    QVERIFY(!capture.failed());
}

void TestAudioDevice::reportsDeviceFailure_data()
{
    astpeft::test::addFailingMicrophoneRows(); // "reason": in error()
}

// A microphone that dies mid-stream (its driver answers ENODEV; tests/alsa_failing_mic.cpp):
// the capture stops by itself and says why, a waiting read returns instead of waiting out its
// timeout, what came before stays readable, and neither a restart nor destruction hangs.
void TestAudioDevice::reportsDeviceFailure()
{
    QFETCH(QString, device);
    QFETCH(QString, reason);
    const std::string name = device.toStdString();
    {
        core::AudioCapture capture({ .device = name, .sampleRate = 16000, .bufferSeconds = 4 });
        QCOMPARE(capture.deviceSampleRate(), 16000.0);
        capture.start();
        std::vector<float> got(16000, -2.0f); // more than the device delivers before it fails
        const std::size_t count = capture.readWait(got, 60s);
        QVERIFY2(
            count > 0 && count <= std::size_t(kBrokenAfter), qPrintable(QString::number(count)));
        QVERIFY(std::equal(got.begin(), got.begin() + std::ptrdiff_t(count), m_signal.begin()));
        QVERIFY(!capture.running()); // readWait() returned early: the stream is over
        QVERIFY(capture.failed());
        const QString message = QString::fromStdString(capture.error());
        QVERIFY2(message.startsWith("audio input \"" + device + "\" (ALSA, device "),
            qPrintable(message));
        QVERIFY2(message.contains(reason), qPrintable(message));
        QCOMPARE(capture.read(got), std::size_t(0));

        // The device is still gone: a restart is refused with a message naming it.
        const auto error = captureError([&] { capture.start(); });
        QVERIFY(error);
        QCOMPARE(error->kind(), core::ErrorKind::Io);
        QVERIFY2(
            QString::fromStdString(error->what()).contains("\"" + device + "\""), error->what());
        QVERIFY(!capture.running());
        capture.stop(); // returns, also now
        QVERIFY(capture.failed());
    } // and so does the destructor

    // A fresh open of the device (as after plugging it back in) works again.
    core::AudioCapture again({ .device = name, .sampleRate = 16000, .bufferSeconds = 4 });
    again.start();
    std::vector<float> first(4000);
    QCOMPARE(again.readWait(first, 60s), first.size());
    QVERIFY(std::equal(first.begin(), first.end(), m_signal.begin()));
    again.stop();
    QVERIFY(!again.failed());
}

void TestAudioDevice::playsToDevice_data()
{
    QTest::addColumn<double>("speed");
    QTest::addColumn<int>("referenceRate"); // what the source is resampled from, as if recorded at
    QTest::addColumn<double>("tolerance");
    // s16 rounding only; with resampling also play()'s medium-quality converter against
    // core::resample()'s best one (measured: up to 2.6e-3, where the tone starts and stops; a
    // sample off or a wrong speed gives 0.1 and more).
    QTest::addRow("normal speed") << 1.0 << 16000 << 2.0 / 32768;
    QTest::addRow("double speed") << 2.0 << 32000 << 5e-3;
    QTest::addRow("half speed") << 0.5 << 8000 << 5e-3;
}

// virtspk runs at 16 kHz, the source's rate; at other speeds play() resamples. What reaches
// the device (out.raw) must be the source, or core::resample() of it taken at rate * speed.
void TestAudioDevice::playsToDevice()
{
    QFETCH(double, speed);
    QFETCH(int, referenceRate);
    QFETCH(double, tolerance);
    const std::vector<float> source = tones(0.5, 16000);
    {
        core::AudioPlayer player({ .device = "virtspk" });
        QCOMPARE(player.device().name, std::string("virtspk"));
        QCOMPARE(player.positionSeconds(), 0.0);
        player.play(source, 16000, speed);
        QTRY_VERIFY_WITH_TIMEOUT(!player.playing(), 20000);
        QCOMPARE(player.positionSeconds(), 0.5);
    } // closing the stream flushes ALSA's file plugin

    const std::vector<float> written = fromS16Bytes(readFile(m_home.path() + "/out.raw"));
    const std::vector<float> expected =
        speed == 1.0 ? source : core::resample(source, referenceRate, 16000);
    const std::optional<Match> match = align(written, expected);
    QVERIFY2(match, "the device received only silence");
    QVERIFY2(match->maxError <= tolerance,
        qPrintable(QStringLiteral("largest difference %1").arg(match->maxError)));
    // Nothing but (PortAudio's priming) silence before it and padding after it.
    QVERIFY(match->lag >= 0);
    QVERIFY(std::all_of(written.begin(), written.begin() + match->lag,
        [](float x) { return std::abs(x) < 1e-3f; }));
    const std::size_t end = std::size_t(match->lag) + expected.size();
    QVERIFY(written.size() >= end);
    QVERIFY(std::all_of(written.begin() + std::ptrdiff_t(end) + 16, written.end(),
        [](float x) { return std::abs(x) < 1e-3f; }));
}

// virtpipe writes into a FIFO that holds about 2 s of its output; playing 5 s therefore stalls
// until the test reads. Each read lets the position advance; the end stops the player.
void TestAudioDevice::reportsProgressThenFinishes()
{
    const std::vector<float> source = tones(5.0, 16000);
    FifoReader reader(m_fifo);
    core::AudioPlayer player({ .device = "virtpipe" });
    const auto release = qScopeGuard([&] { reader.drainAll(); }); // runs before ~AudioPlayer
    player.play(source, 16000);
    QVERIFY(player.playing());
    QTRY_VERIFY_WITH_TIMEOUT(player.positionSeconds() > 0.0, 20000);
    QVERIFY(player.positionSeconds() < 5.0);
    QCOMPARE(reader.total(), std::size_t(0));

    double previous = player.positionSeconds();
    int steps = 0, intermediate = 0;
    while (player.playing() && steps < 100) {
        reader.allow(16384); // 0.5 s of output
        ++steps;
        QTRY_VERIFY_WITH_TIMEOUT(player.positionSeconds() > previous || !player.playing(), 20000);
        const double now = player.positionSeconds();
        QVERIFY(now >= previous);
        if (now > 0.0 && now < 5.0)
            ++intermediate;
        previous = now;
    }
    QTRY_VERIFY_WITH_TIMEOUT(!player.playing(), 20000);
    QCOMPARE(player.positionSeconds(), 5.0);
    QVERIFY2(intermediate >= 3, qPrintable(QString::number(intermediate)));

    reader.drainAll();
    player.stop(); // flushes the plugin's last piece into the FIFO
    QTRY_VERIFY_WITH_TIMEOUT(reader.total() >= source.size() * 2, 20000);
    const std::optional<Match> match = align(fromS16Bytes(reader.bytes()), source);
    QVERIFY(match);
    QVERIFY2(match->maxError <= 2.0 / 32768,
        qPrintable(QStringLiteral("largest difference %1").arg(match->maxError)));
}

QTEST_GUILESS_MAIN(TestAudioDevice)
#include "tst_audio_device.moc"
