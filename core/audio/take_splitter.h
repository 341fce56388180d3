// SPDX-License-Identifier: MIT
// Cutting one long microphone take into clips, for the studio's recorder: fixed-length pieces,
// or the sounds in it (energy above a threshold relative to the take's loudest 10 ms, with a
// little padding, short blips dropped, each sound centred in a clip of the target length when
// it is shorter). Plain arithmetic on mono samples; torch-free.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace astpeft::core {

enum class SplitMode {
    Fixed, // consecutive clips of clipSeconds; a last piece shorter than half of it is dropped
    Sounds, // one clip per sound event
};

struct TakeSplitOptions
{
    SplitMode mode = SplitMode::Sounds;
    double clipSeconds = 1.0; // Fixed: the piece length; Sounds: the minimum clip length
    double thresholdDb = -30.0; // Sounds: frames this far below the loudest frame are silence
    double minSoundSeconds = 0.08; // Sounds: shorter events are dropped (clicks, pops)
    double padSeconds = 0.1; // Sounds: kept before and after each event
    double mergeGapSeconds = 0.25; // Sounds: events closer than this are one sound
    double maxClipSeconds = 10.0; // Sounds: longer events are cut into pieces of this length
};

struct TakeSegment
{
    std::size_t begin = 0, end = 0; // sample indices, end exclusive
};

// The clips of a take at `sampleRate` Hz; empty when the take is silent or too short.
std::vector<TakeSegment> splitTake(
    std::span<const float> samples, int sampleRate, const TakeSplitOptions &options = {});

// Peak (max |x|) and RMS of a block, in dBFS (-inf for digital silence -> -120).
struct Level
{
    double peakDb = -120.0, rmsDb = -120.0;
    bool clipped = false; // a sample at or above 0.999 of full scale
};
Level measureLevel(std::span<const float> samples);

} // namespace astpeft::core
