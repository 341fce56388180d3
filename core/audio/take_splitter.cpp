// SPDX-License-Identifier: MIT
#include "audio/take_splitter.h"

#include "error.h"

#include <algorithm>
#include <cmath>

namespace astpeft::core {

namespace {
double toDb(double amplitude)
{
    return amplitude > 1e-6 ? 20.0 * std::log10(amplitude) : -120.0;
}
} // namespace

Level measureLevel(std::span<const float> samples)
{
    Level level;
    if (samples.empty())
        return level;
    double peak = 0, sum = 0;
    for (float x : samples) {
        const double a = std::fabs(double(x));
        peak = std::max(peak, a);
        sum += a * a;
    }
    level.peakDb = toDb(peak);
    level.rmsDb = toDb(std::sqrt(sum / double(samples.size())));
    level.clipped = peak >= 0.999;
    return level;
}

std::vector<TakeSegment> splitTake(
    std::span<const float> x, int sampleRate, const TakeSplitOptions &o)
{
    if (sampleRate <= 0 || !(o.clipSeconds > 0) || !(o.maxClipSeconds >= o.clipSeconds)) {
        throw Error(ErrorKind::Usage,
            "take splitting needs a positive rate and clip length, and "
            "a maximum clip length of at least the clip length");
    }
    std::vector<TakeSegment> out;
    const std::size_t clip = std::size_t(std::llround(o.clipSeconds * sampleRate));
    if (o.mode == SplitMode::Fixed) {
        for (std::size_t begin = 0; begin < x.size(); begin += clip) {
            const std::size_t end = std::min(x.size(), begin + clip);
            if (end - begin >= clip / 2 && end > begin)
                out.push_back({ begin, end });
        }
        return out;
    }

    // 10 ms frames; RMS per frame in dB; active = within thresholdDb of the loudest frame.
    const std::size_t hop = std::max<std::size_t>(1, std::size_t(sampleRate / 100));
    const std::size_t frames = x.size() / hop;
    if (frames == 0)
        return out;
    std::vector<double> db(frames);
    for (std::size_t f = 0; f < frames; ++f)
        db[f] = measureLevel(x.subspan(f * hop, hop)).rmsDb;
    const double loudest = *std::max_element(db.begin(), db.end());
    if (loudest <= -90.0)
        return out; // digital silence
    const double threshold = loudest + o.thresholdDb;

    // Runs of active frames, merged across short gaps.
    std::vector<std::pair<std::size_t, std::size_t>> events; // frame ranges, end exclusive
    const std::size_t mergeGap = std::size_t(std::llround(o.mergeGapSeconds * 100));
    for (std::size_t f = 0; f < frames;) {
        if (db[f] < threshold) {
            ++f;
            continue;
        }
        std::size_t end = f;
        while (end < frames && db[end] >= threshold)
            ++end;
        if (!events.empty() && f - events.back().second <= mergeGap) {
            events.back().second = end;
        } else {
            events.emplace_back(f, end);
        }
        f = end;
    }

    const std::size_t pad = std::size_t(std::llround(o.padSeconds * sampleRate));
    const std::size_t maxClip = std::size_t(std::llround(o.maxClipSeconds * sampleRate));
    const double minSound = o.minSoundSeconds * 100;
    for (const auto &[first, last] : events) {
        if (double(last - first) < minSound)
            continue;
        std::size_t begin = first * hop > pad ? first * hop - pad : 0;
        std::size_t end = std::min(x.size(), last * hop + pad);
        if (end - begin < clip) { // centre the sound in a clip of the minimum length
            const std::size_t grow = clip - (end - begin);
            begin = begin > grow / 2 ? begin - grow / 2 : 0;
            end = std::min(x.size(), begin + clip);
            begin = end > clip ? end - clip : 0;
        }
        for (std::size_t b = begin; b < end; b += maxClip)
            out.push_back({ b, std::min(end, b + maxClip) });
    }
    return out;
}

} // namespace astpeft::core
