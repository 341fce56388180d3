// SPDX-License-Identifier: MIT
// A sound card for tests on machines without one: ALSA's `file` plugin as PortAudio's default
// device. Call installVirtualAudio() in initTestCase, before any PortAudio call (ALSA reads its
// configuration on first use): it writes HOME/.asoundrc in a new HOME whose default capture
// device reads HOME/in.raw (raw samples, delivered as fast as they are read, then silence) and
// whose default playback device writes 16 kHz s16 mono to HOME/out.raw.
#pragma once

#include <QByteArray>
#include <QFile>
#include <QString>
#include <QtGlobal>
#include <QtTest>

#include <cstdint>
#include <span>
#include <vector>

namespace astpeft::test {

// No `plug` may sit in front of the capture file plugin: ALSA's converting plugins take more
// frames from it than they pass on, which skips parts of the file. The stream asks for 16-bit
// (AudioCapture does) and 16 kHz mono (the tests' capture rate), so in.raw must be that.
// `extraDevices`: more ALSA definitions appended as they are (%1 is replaced by `home`).
inline bool installVirtualAudio(const QString &home, const QString &extraDevices = {})
{
    QFile rc(home + "/.asoundrc");
    if (!rc.open(QIODevice::WriteOnly))
        return false;
    rc.write(QStringLiteral(
        "pcm.virtmic { type file; slave.pcm \"null\"; file \"/dev/null\"; infile \"%1/in.raw\"; "
        "format \"raw\" }\n"
        "pcm.virtout { type file; slave.pcm \"null\"; file \"%1/out.raw\"; format \"raw\" }\n"
        "pcm.virtspk { type plug; slave { pcm \"virtout\"; rate 16000; channels 1; format "
        "S16_LE } }\n"
        "pcm.!default { type asym; capture.pcm \"virtmic\"; playback.pcm \"virtspk\" }\n")
                 .arg(home)
                 .toUtf8());
    rc.write(QString(extraDevices).replace(QStringLiteral("%1"), home).toUtf8());
    rc.close();
    qputenv("HOME", QFile::encodeName(home));
    qunsetenv("XDG_CONFIG_HOME"); // ALSA 1.2.8 would read $XDG_CONFIG_HOME/alsa/asoundrc too
    qputenv("JACK_NO_START_SERVER", "1"); // PortAudio's JACK host API must not spawn jackd
    return true;
}

#ifdef ASTPEFT_FAILING_MIC_PLUGIN
// ALSA definitions (for installVirtualAudio's `extraDevices`) of a capture device `name` that
// delivers `infile` (raw s16 16 kHz mono) in real time, then fails after `frames` frames like
// an unplugged microphone (the driver answers ENODEV; tests/alsa_failing_mic.cpp). `failure`:
// "poll" (PortAudio ends the stream) or "xrun" (PortAudio 19.6 stalls in xrun recovery). Each
// open of the device starts afresh.
inline QString failingMicrophone(
    const QString &name, const QString &infile, qint64 frames, const QString &failure = "poll")
{
    return QStringLiteral("pcm_type.failing { lib \"%1\" }\n"
                          "pcm.%2 { type failing; infile \"%3\"; frames %4; failure \"%5\" }\n")
        .arg(QStringLiteral(ASTPEFT_FAILING_MIC_PLUGIN), name, infile)
        .arg(frames)
        .arg(failure);
}

// The two failing microphones the tests define with failingMicrophone(), as Qt Test data rows
// (columns "device" and "reason", the words of the error they cause), each with `extra` values
// appended by `more` (called with the row). "brokenmic" (failure "poll"): PortAudio notices and
// ends the stream. "stuckmic" (failure "xrun"): PortAudio 19.6 loops in its xrun recovery for
// ever (an unplugged USB microphone); only AudioCapture's watchdog notices.
template<typename More> inline void addFailingMicrophoneRows(const char *suffix, More more)
{
    more(QTest::addRow("stream ends%s", suffix)
        << QString("brokenmic") << QString("stopped by itself"));
    more(QTest::addRow("stream stalls%s", suffix)
        << QString("stuckmic") << QString("stopped delivering audio"));
}
inline void addFailingMicrophoneRows()
{
    QTest::addColumn<QString>("device");
    QTest::addColumn<QString>("reason");
    addFailingMicrophoneRows("", [](QTestData &) {});
}
#endif

// Writes float samples in [-1, 1] as raw s16 little-endian (the virtual microphone's input).
inline bool writeRawS16(const QString &file, std::span<const float> samples)
{
    QFile out(file);
    if (!out.open(QIODevice::WriteOnly))
        return false;
    std::vector<std::int16_t> s16(samples.size());
    for (std::size_t i = 0; i < samples.size(); ++i)
        s16[i] = std::int16_t(qBound(-32768, int(samples[i] * 32767.0f), 32767));
    return out.write(reinterpret_cast<const char *>(s16.data()), qint64(s16.size() * 2))
        == qint64(s16.size() * 2);
}

} // namespace astpeft::test
