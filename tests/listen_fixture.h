// SPDX-License-Identifier: MIT
// The data live-classification tests train and listen with (tst_cli_listen, tst_live_view):
// espeak-ng words ("yes", "no", "stop") placed at several positions in window-long clips plus
// a background class (silence, faint noise, words mostly cut off, short clips), and a stream of
// a known sequence of those words separated by silence, for the virtual microphone of
// tests/virtual_audio.h. A tiny backbone (max_length 96) trained with the recipe in
// kListenTrainArguments overfits it so that the stream's words are detected in order.
// Header-only; needs espeak-ng on PATH.
#pragma once

#include "audio/audio_file.h"
#include "inference/streaming.h"
#include "virtual_audio.h"
#include "word_dataset.h"

#include <QDir>
#include <QString>
#include <QStringList>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace astpeft::test {

inline constexpr int kListenRate = 16000;
inline constexpr int kListenWindowFrames = 96; // max_length of the backbone: a 0.975 s window
inline constexpr int kListenWindowSamples = (kListenWindowFrames - 1) * 160 + 400;

// `astpeft train` arguments after --model/--data (and before --out) that overfit the data.
inline const QStringList kListenTrainArguments = { "--method", "full", "--epochs", "40", "--lr",
    "3e-3", "--batch-size", "16", "--val-fraction", "0.1", "--seed", "1", "--no-test" };

// The options that detect the stream's words (as `listen` flags).
inline const QStringList kListenDetectArguments = { "--hop", "0.25", "--smooth", "2", "--threshold",
    "0.6", "--min-hits", "2", "--suppress", "1", "--background", "background" };

// The same options for the engine itself.
inline core::StreamOptions listenDetectOptions()
{
    core::StreamOptions o;
    o.hopSeconds = 0.25;
    o.smoothWindows = 2;
    o.threshold = 0.6;
    o.minHits = 2;
    o.suppressSeconds = 1;
    o.background = "background";
    return o;
}

// The spoken part of a clip: from the first to the last sample above 2% of full scale.
inline std::vector<float> trimSilence(const std::vector<float> &s)
{
    const auto loud = [](float x) { return std::abs(x) > 0.02f; };
    const auto first = std::find_if(s.begin(), s.end(), loud);
    const auto last = std::find_if(s.rbegin(), s.rend(), loud).base();
    return first < last ? std::vector<float>(first, last) : std::vector<float> {};
}

// A window-long clip with `word` starting at sample `offset` (may be negative or run past the
// end: the word is then cut).
inline std::vector<float> placed(const std::vector<float> &word, int offset)
{
    std::vector<float> clip(kListenWindowSamples, 0.0f);
    for (int i = 0; i < int(word.size()); ++i) {
        if (offset + i >= 0 && offset + i < kListenWindowSamples)
            clip[std::size_t(offset + i)] = word[std::size_t(i)];
    }
    return clip;
}

struct ExpectedWord
{
    QString label;
    double start = 0, end = 0; // seconds in the stream
};

struct ListenData
{
    QString data; // training folder: one folder per label
    std::map<QString, std::vector<std::vector<float>>> words; // trimmed, 16 kHz, per label
    // The stream: 1 s of silence, then words 1.5 s apart, in whole milliseconds; `delivered`
    // is what the microphone delivers of it (s16 -> x / 32768).
    std::vector<float> stream, delivered;
    std::vector<ExpectedWord> expected;
    double streamSeconds = 0; // the sequence without the silence padding the raw file
    QString error; // non-empty when generation failed
};

// Writes the training folder `dir`/data (espeak-ng words in `dir`/words), builds the stream
// and writes it, padded with `padSeconds` of silence (past the end of its file the virtual
// microphone repeats stale buffers), as `rawFile` for the virtual microphone.
inline ListenData writeListenData(
    const QString &dir, const QString &rawFile, double padSeconds = 5.0)
{
    ListenData out;
    const QStringList words = { "yes", "no", "stop" };
    WordDatasetOptions wordOptions;
    wordOptions.words = words;
    wordOptions.voices = { "en", "en-us", "en+f3", "en+m3" };
    wordOptions.speeds = { 140, 180 };
    const QString raw = dir + "/words";
    if (writeWordDataset(raw, wordOptions) != int(words.size() * wordOptions.voices.size() * 2)) {
        out.error = "espeak-ng failed";
        return out;
    }
    for (const QString &word : words) {
        for (const QString &name : QDir(raw + "/" + word).entryList({ "*.wav" }, QDir::Files)) {
            const std::string file = (raw + "/" + word + "/" + name).toStdString();
            std::vector<float> w =
                trimSilence(core::decodeAudio(file, { .targetRate = kListenRate }).samples);
            if (!(w.size() > 1600 && w.size() < std::size_t(kListenWindowSamples) * 3 / 4)) {
                out.error = QString::fromStdString(file) + ": unexpected word length";
                return out;
            }
            out.words[word].push_back(std::move(w));
        }
    }

    // Training clips, one window long: each word at five positions from a quarter cut off at
    // the start to a quarter cut off at the end; background: silence, faint noise and words
    // with all but a fifth cut off.
    out.data = dir + "/data";
    std::mt19937 rng(5);
    int clip = 0;
    const auto write = [&](const QString &label, const std::vector<float> &samples) {
        QDir().mkpath(out.data + "/" + label);
        core::writeAudio(
            QStringLiteral("%1/%2/%3.wav").arg(out.data, label).arg(++clip).toStdString(), samples,
            kListenRate);
    };
    for (const auto &[label, list] : out.words) {
        for (const std::vector<float> &w : list) {
            const int n = int(w.size());
            for (int k = 0; k < 5; ++k)
                write(label, placed(w, -n / 4 + k * (kListenWindowSamples - n / 2) / 4));
            write("background", placed(w, -n * 4 / 5));
            write("background", placed(w, kListenWindowSamples - n / 5));
        }
    }
    for (int k = 0; k < 16; ++k) {
        std::normal_distribution<float> noise(0.0f, 0.0005f * float(k));
        std::vector<float> s(kListenWindowSamples);
        for (float &x : s)
            x = noise(rng);
        write("background", s);
    }
    // Short background clips (1 to 3 hops): training pads them as the stream pads its first
    // windows, so the model learns what those look like.
    for (int hops = 1; hops <= 3; ++hops) {
        for (float level : { 0.0f, 0.001f, 0.003f }) {
            std::normal_distribution<float> noise(0.0f, level);
            std::vector<float> s(std::size_t(hops * kListenRate / 4));
            for (float &x : s)
                x = level > 0.0f ? noise(rng) : 0.0f;
            write("background", s);
        }
    }

    // The stream: 1 s of silence, then words 1.5 s apart (voices of the training set).
    const std::vector<std::pair<QString, int>> sequence = { { "yes", 0 }, { "no", 3 },
        { "stop", 5 }, { "yes", 6 } };
    std::vector<float> &stream = out.stream;
    stream.assign(std::size_t(kListenRate), 0.0f);
    for (const auto &[label, voice] : sequence) {
        const std::vector<float> &w = out.words[label][std::size_t(voice)];
        const double start = double(stream.size()) / kListenRate;
        stream.insert(stream.end(), w.begin(), w.end());
        out.expected.push_back({ label, start, double(stream.size()) / kListenRate });
        stream.resize(stream.size() + std::size_t(kListenRate) * 3 / 2, 0.0f);
    }
    stream.resize((stream.size() + 15) / 16 * 16, 0.0f); // whole milliseconds
    out.streamSeconds = double(stream.size()) / kListenRate;
    out.delivered.resize(stream.size());
    for (std::size_t i = 0; i < stream.size(); ++i) {
        out.delivered[i] =
            float(std::int16_t(qBound(-32768, int(stream[i] * 32767.0f), 32767))) / 32768.0f;
    }
    std::vector<float> padded = stream;
    padded.resize(padded.size() + std::size_t(std::llround(padSeconds * kListenRate)), 0.0f);
    if (!writeRawS16(rawFile, padded))
        out.error = "cannot write " + rawFile;
    return out;
}

} // namespace astpeft::test
