// SPDX-License-Identifier: MIT
// Streaming classification: a sliding window over a live stream (or a long file) through an
// AstClassifier, with exactly the classifier's front end, plus the post-processing live
// keyword spotters use (posterior smoothing, threshold, consecutive hits, suppression).
// Torch-free public header (pimpl): app/ and ui/ include it.
#pragma once

#include "features/fbank.h"
#include "inference/classifier.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace astpeft::core {

struct StreamOptions
{
    double hopSeconds = 0.25; // a window every hop; the window is the model's max_length frames
    int smoothWindows = 3; // posterior smoothing: mean of the last N windows' probabilities
    double threshold = 0.5; // smoothed score to count as a hit
    int minHits = 2; // consecutive hits of the same label before a detection
    double suppressSeconds = 1.0; // no second detection of the same label within this time
    std::string background {}; // a label never reported as a detection (e.g. "background")
};

// One classified window. Times are stream times in seconds from the first sample pushed.
struct WindowResult
{
    double endSeconds = 0; // the end of the window's last fbank frame
    std::vector<float> probabilities {}; // the model's scores (softmax or sigmoid), per label
    std::vector<float> smoothed {}; // mean of the last smoothWindows windows' probabilities
    int top = -1; // argmax of smoothed
    double latencyMs = 0; // wall time: the window's last sample handed to push() -> result
};

struct Detection
{
    double seconds = 0; // endSeconds of the window that completed the detection
    std::string label {};
    float score = 0; // its smoothed probability there
};

// The post-processing alone, on windows' probabilities (exposed for tests and for callers
// that run the model themselves). A window is a hit when its smoothed top label reaches the
// threshold and is not the background label; minHits consecutive hits of one label give one
// detection, at most one per run of hits, and none while the same label was detected less
// than suppressSeconds before (a run that outlasts the suppression is then reported once,
// at its first window past it).
class Detector
{
public:
    // Throws core::Error(Usage) for bad options or a background label the labels lack.
    Detector(const StreamOptions &options, std::vector<std::string> labels);

    // Adds the window ending at `seconds` (non-decreasing); fills result.smoothed and
    // result.top from result.probabilities (one per label). Returns the detection it completes.
    std::optional<Detection> add(double seconds, WindowResult &result);
    void reset();
    const std::vector<std::string> &labels() const { return m_labels; }

private:
    StreamOptions m_options;
    std::vector<std::string> m_labels;
    int m_background = -1;
    std::vector<std::vector<float>> m_history; // the last smoothWindows probabilities
    int m_runLabel = -1, m_runHits = 0;
    bool m_runReported = false;
    std::vector<double> m_lastDetection; // per label; -inf when never
};

// Feeds mono samples at the model's rate (frontEnd().fbank.sampleRate, 16 kHz for AST) in any
// chunk sizes. Computes the fbank of only the new frames (FbankComputer::computeFrames over a
// sliding sample buffer that starts at a frame boundary, so every frame equals the offline
// one), keeps the last max_length frames, and every hop runs the model on them, normalised as
// the classifier's FrontEnd does.
//
// Windows fall at stream sample counts hop, 2 hop, 3 hop, ... (hop = round(hopSeconds * rate)
// samples). Until max_length frames exist, a window holds every frame so far, padded with zeros
// at the end before normalisation: exactly what training does to a clip of that length
// (padOrTruncate), so the first window comes after one hop, not after a whole window. From
// then on a window is the last max_length frames: the offline front end of the samples from
// its first frame's start to its last frame's end. Samples after the last whole hop (the end
// of a file) are not classified. A hop shorter than one frame (25 ms) is refused.
//
// Threads: one thread at a time; the model must not be used elsewhere meanwhile.
class StreamingClassifier
{
public:
    // `model` must outlive this object. Throws core::Error(Usage) for bad options.
    StreamingClassifier(const AstClassifier &model, const StreamOptions &options);
    ~StreamingClassifier();
    StreamingClassifier(const StreamingClassifier &) = delete;
    StreamingClassifier &operator=(const StreamingClassifier &) = delete;

    // Returns the windows completed by these samples (and appends detections to
    // `detections`). Throws core::Error(Usage) for non-finite samples.
    std::vector<WindowResult> push(
        std::span<const float> samples, std::vector<Detection> &detections);
    std::vector<std::string> labels() const;
    // The normalised features of the current (last classified) window [max_length x bins];
    // no frames before the first window.
    FeatureMatrix currentFeatures() const;

    int sampleRate() const; // Hz push() expects
    std::int64_t hopSamples() const;
    std::int64_t windowFrames() const; // max_length
    std::int64_t samplesPushed() const;

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

// A file through the same engine: every window and detection (the timeline of a long
// recording). The file is decoded at the model's rate (channels averaged) and pushed one hop
// at a time, so latencyMs is the compute time per window.
struct Timeline
{
    std::vector<WindowResult> windows {};
    std::vector<Detection> detections {};
    std::vector<std::string> labels {};
};
Timeline classifyTimeline(
    const AstClassifier &model, const std::filesystem::path &file, const StreamOptions &options);

} // namespace astpeft::core
