// SPDX-License-Identifier: MIT
// libFuzzer target: the input as an audio file (libsndfile tells the format from the content;
// the first byte picks the extension, which decides how MP3 and Ogg lengths are treated), probed
// and decoded to 16 kHz mono as import and training do. Decoded samples must be finite.
#include "fuzz_support.h"

#include "audio/audio_file.h"
#include "error.h"

#include <array>
#include <cmath>
#include <cstdlib>

using namespace astpeft;

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    if (size == 0)
        return 0;
    static constexpr std::array<const char *, 4> kNames = { "clip.wav", "clip.flac", "clip.ogg",
        "clip.mp3" };
    const std::filesystem::path file = fuzz::scratch() / kNames[data[0] % kNames.size()];
    fuzz::writeFile(file, fuzz::text(data + 1, size - 1));
    try {
        const core::AudioInfo info = core::probeAudio(file);
        if (info.sampleRate < core::kMinSampleRate || info.sampleRate > core::kMaxSampleRate
            || info.channels < 1)
            std::abort();
    } catch (const core::Error &) { }
    try {
        const core::Audio audio = core::decodeAudio(file, { .targetRate = 16000, .channel = -1 });
        for (const float s : audio.samples) {
            if (!std::isfinite(s))
                std::abort();
        }
    } catch (const core::Error &) { }
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
    return 0;
}
