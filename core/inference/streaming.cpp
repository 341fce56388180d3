// SPDX-License-Identifier: MIT
#include "inference/streaming.h"

#include "audio/audio_file.h"
#include "error.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>

namespace astpeft::core {

namespace {

void checkOptions(const StreamOptions &o)
{
    const auto bad = [](const std::string &what) { throw Error(ErrorKind::Usage, what); };
    if (!(o.hopSeconds > 0.0) || !std::isfinite(o.hopSeconds))
        bad("the hop must be a positive number of seconds");
    if (o.smoothWindows < 1)
        bad("smoothing needs at least 1 window");
    if (!(o.threshold >= 0.0 && o.threshold <= 1.0))
        bad("the threshold must be in [0, 1]");
    if (o.minHits < 1)
        bad("at least 1 hit is needed for a detection");
    if (!(o.suppressSeconds >= 0.0) || !std::isfinite(o.suppressSeconds))
        bad("the suppression time must be 0 or more seconds");
}

} // namespace

Detector::Detector(const StreamOptions &options, std::vector<std::string> labels)
    : m_options(options)
    , m_labels(std::move(labels))
{
    checkOptions(options);
    if (m_labels.empty())
        throw Error(ErrorKind::Usage, "the model has no labels to detect");
    if (!options.background.empty()) {
        const auto it = std::find(m_labels.begin(), m_labels.end(), options.background);
        if (it == m_labels.end()) {
            std::ostringstream s;
            s << "background label \"" << options.background << "\" is not one of the model's:";
            for (const std::string &l : m_labels)
                s << " \"" << l << '"';
            throw Error(ErrorKind::Usage, s.str());
        }
        m_background = int(it - m_labels.begin());
    }
    reset();
}

void Detector::reset()
{
    m_history.clear();
    m_runLabel = -1;
    m_runHits = 0;
    m_runReported = false;
    m_lastDetection.assign(m_labels.size(), -std::numeric_limits<double>::infinity());
}

std::optional<Detection> Detector::add(double seconds, WindowResult &result)
{
    const std::size_t n = m_labels.size();
    if (result.probabilities.size() != n) {
        throw Error(ErrorKind::Usage,
            "detector: " + std::to_string(result.probabilities.size()) + " probabilities for "
                + std::to_string(n) + " labels");
    }
    m_history.push_back(result.probabilities);
    if (m_history.size() > std::size_t(m_options.smoothWindows))
        m_history.erase(m_history.begin());
    result.smoothed.assign(n, 0.0f);
    for (const auto &p : m_history) {
        for (std::size_t i = 0; i < n; ++i)
            result.smoothed[i] += p[i];
    }
    for (float &x : result.smoothed)
        x /= float(m_history.size());
    result.top = int(
        std::max_element(result.smoothed.begin(), result.smoothed.end()) - result.smoothed.begin());

    const float score = result.smoothed[std::size_t(result.top)];
    const bool hit = score >= m_options.threshold && result.top != m_background;
    if (!hit) {
        m_runLabel = -1;
        m_runHits = 0;
        m_runReported = false;
        return std::nullopt;
    }
    if (result.top != m_runLabel) {
        m_runLabel = result.top;
        m_runHits = 0;
        m_runReported = false;
    }
    ++m_runHits;
    double &last = m_lastDetection[std::size_t(result.top)];
    if (m_runReported || m_runHits < m_options.minHits
        || seconds - last < m_options.suppressSeconds)
        return std::nullopt;
    m_runReported = true;
    last = seconds;
    return Detection {
        .seconds = seconds, .label = m_labels[std::size_t(result.top)], .score = score
    };
}

struct StreamingClassifier::Impl
{
    const AstClassifier &model;
    FrontEnd frontEnd;
    FbankComputer fbank;
    Detector detector;
    std::int64_t hop = 0; // samples
    std::int64_t maxLength = 0; // frames
    int bins = 0;

    // Samples from absolute index bufferStart (a multiple of frameShift: the start of frame
    // bufferStart / frameShift, the next frame to compute) to `pushed`.
    std::vector<float> buffer;
    std::int64_t bufferStart = 0;
    std::int64_t pushed = 0;
    // Raw (unnormalised) fbank of frames [framesDone - frames.size() / bins, framesDone),
    // at most maxLength of them.
    std::vector<float> frames;
    std::int64_t framesDone = 0;
    std::int64_t nextWindow = 0; // the sample count at which the next window is due
    FeatureMatrix current;

    Impl(const AstClassifier &m, const StreamOptions &options)
        : model(m)
        , frontEnd(m.frontEnd())
        , fbank(frontEnd.fbank)
        , detector(options, m.summary().config.labels)
    {
        const FbankOptions &f = frontEnd.fbank;
        hop = std::llround(options.hopSeconds * f.sampleRate);
        if (hop < f.frameLength) {
            throw Error(ErrorKind::Usage,
                "the hop (" + std::to_string(options.hopSeconds)
                    + " s) must be at least one frame ("
                    + std::to_string(double(f.frameLength) / f.sampleRate) + " s)");
        }
        maxLength = frontEnd.maxLength;
        if (maxLength <= 0)
            throw Error(ErrorKind::Usage, "streaming needs a model with a fixed max_length");
        bins = f.numMelBins;
        nextWindow = hop;
        current.bins = bins;
    }

    // Computes the frames that the samples so far complete, and drops the samples no later
    // frame needs.
    void advanceFrames()
    {
        const FbankOptions &f = frontEnd.fbank;
        const std::int64_t available = fbankFrameCount(pushed, f);
        if (available <= framesDone)
            return;
        const FeatureMatrix fresh = fbank.computeFrames(
            buffer, framesDone - bufferStart / f.frameShift, available - framesDone);
        frames.insert(frames.end(), fresh.data.begin(), fresh.data.end());
        framesDone = available;
        const std::size_t keep = std::size_t(maxLength) * std::size_t(bins);
        if (frames.size() > keep)
            frames.erase(frames.begin(), frames.end() - std::ptrdiff_t(keep));
        const std::int64_t start = framesDone * f.frameShift;
        buffer.erase(buffer.begin(), buffer.begin() + std::ptrdiff_t(start - bufferStart));
        bufferStart = start;
    }

    WindowResult classify(
        std::chrono::steady_clock::time_point available, std::vector<Detection> &detections)
    {
        advanceFrames();
        const FbankOptions &f = frontEnd.fbank;
        FeatureMatrix window;
        window.bins = bins;
        window.frames = std::int64_t(frames.size()) / bins;
        window.data = frames;
        padOrTruncate(window, maxLength); // zeros at the end, as training pads short clips
        if (frontEnd.normalize)
            normalizeFeatures(window, frontEnd.mean, frontEnd.std);
        WindowResult r;
        r.endSeconds = double((framesDone - 1) * f.frameShift + f.frameLength) / f.sampleRate;
        r.probabilities = model.scores(model.logits({ window }).front());
        current = std::move(window);
        if (auto detection = detector.add(r.endSeconds, r))
            detections.push_back(std::move(*detection));
        r.latencyMs =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - available)
                .count();
        return r;
    }
};

StreamingClassifier::StreamingClassifier(const AstClassifier &model, const StreamOptions &options)
    : d(std::make_unique<Impl>(model, options))
{ }

StreamingClassifier::~StreamingClassifier() = default;

std::vector<WindowResult> StreamingClassifier::push(
    std::span<const float> samples, std::vector<Detection> &detections)
{
    // Every sample of this call is available now: a window completed by it is late by the
    // time spent here before its result.
    const auto arrived = std::chrono::steady_clock::now();
    std::vector<WindowResult> out;
    while (!samples.empty()) {
        const std::size_t take =
            std::min<std::size_t>(samples.size(), std::size_t(d->nextWindow - d->pushed));
        d->buffer.insert(d->buffer.end(), samples.begin(), samples.begin() + std::ptrdiff_t(take));
        d->pushed += std::int64_t(take);
        samples = samples.subspan(take);
        if (d->pushed == d->nextWindow) {
            out.push_back(d->classify(arrived, detections));
            d->nextWindow += d->hop;
        }
    }
    // Frames complete so far, so that the next window computes fewer.
    d->advanceFrames();
    return out;
}

std::vector<std::string> StreamingClassifier::labels() const
{
    return d->detector.labels();
}

FeatureMatrix StreamingClassifier::currentFeatures() const
{
    return d->current;
}

int StreamingClassifier::sampleRate() const
{
    return d->frontEnd.fbank.sampleRate;
}

std::int64_t StreamingClassifier::hopSamples() const
{
    return d->hop;
}

std::int64_t StreamingClassifier::windowFrames() const
{
    return d->maxLength;
}

std::int64_t StreamingClassifier::samplesPushed() const
{
    return d->pushed;
}

Timeline classifyTimeline(
    const AstClassifier &model, const std::filesystem::path &file, const StreamOptions &options)
{
    StreamingClassifier stream(model, options);
    const Audio audio = decodeAudio(file, { .targetRate = stream.sampleRate() });
    Timeline t;
    t.labels = stream.labels();
    const std::span<const float> all(audio.samples);
    const std::size_t hop = std::size_t(stream.hopSamples());
    try {
        for (std::size_t at = 0; at < all.size(); at += hop) {
            auto windows =
                stream.push(all.subspan(at, std::min(hop, all.size() - at)), t.detections);
            for (WindowResult &w : windows)
                t.windows.push_back(std::move(w));
        }
    } catch (const Error &e) {
        throw Error(ErrorKind::Format, e.reason(), file);
    }
    return t;
}

} // namespace astpeft::core
