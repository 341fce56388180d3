// SPDX-License-Identifier: MIT
// Decoding audio files to float mono at a target rate (libsndfile + libsamplerate). Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace astpeft::core {

struct DecodeOptions
{
    int targetRate = 16000; // Hz; the output rate
    int channel = -1; // -1: average all channels; k >= 0: keep only channel k (0-based)
    // > 0: decode only the file's first maxSeconds (a command that needs no more reads a long
    // file in bounded memory); AudioInfo still describes the whole file.
    double maxSeconds = 0;
};

// What the file says, before any conversion. For MP3 and Ogg, whose headers only estimate the
// length, decodeAudio() sets `frames` to the count actually decoded.
struct AudioInfo
{
    int sampleRate = 0; // Hz
    int channels = 0;
    std::int64_t frames = 0; // samples per channel
    std::string format; // e.g. "WAV", "FLAC", "OGG", "MPEG"
    double seconds() const { return sampleRate > 0 ? double(frames) / sampleRate : 0.0; }
};

struct Audio
{
    std::vector<float> samples; // mono, in [-1, 1] for integer sources
    int sampleRate = 0; // Hz, equals DecodeOptions::targetRate
    AudioInfo source;
};

// Accepted source rates, inclusive, in Hz.
inline constexpr int kMinSampleRate = 8000;
inline constexpr int kMaxSampleRate = 192000;

// Throws core::Error naming the file and the reason: missing, empty, truncated or corrupt file,
// unsupported format, zero samples, non-finite samples, absurd header (rate, channels, length).
AudioInfo probeAudio(const std::filesystem::path &path);
Audio decodeAudio(const std::filesystem::path &path, const DecodeOptions &options = {});

// libsamplerate's best sinc converter. Returns the input unchanged when the rates are equal.
std::vector<float> resample(std::span<const float> input, int fromRate, int toRate);

// Writes mono or interleaved multi-channel audio; subtype "PCM_16", "PCM_24", "FLOAT", or
// "VORBIS"/"FLAC"/"MPEG" by extension (.wav, .flac, .ogg, .mp3). Used by tests and tools.
void writeAudio(const std::filesystem::path &path, std::span<const float> interleaved,
    int sampleRate, int channels = 1, const std::string &subtype = "PCM_16");

} // namespace astpeft::core
