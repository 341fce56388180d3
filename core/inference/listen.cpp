// SPDX-License-Identifier: MIT
#include "inference/listen.h"

#include "error.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <span>

namespace astpeft::core {

namespace {

// Fbank frames (snip edges) that `samples` hold.
std::int64_t framesIn(std::int64_t samples, const FbankOptions &f)
{
    const auto length = std::int64_t(f.frameLength), shift = std::int64_t(f.frameShift);
    return samples < length ? 0 : (samples - length) / shift + 1;
}

// The frames the window just classified added: its real (not padded) rows are the first
// min(frames so far, max_length); the newest are at their end. `before`: samples pushed before
// the block that completed the window.
void addFrames(ListenWindow &out, const StreamingClassifier &stream, const FbankOptions &fbank,
    std::int64_t before)
{
    const FeatureMatrix f = stream.currentFeatures();
    const std::int64_t hop = stream.hopSamples();
    const std::int64_t now = framesIn(stream.samplesPushed(), fbank);
    const std::int64_t real = std::min(now, f.frames);
    const std::int64_t added =
        std::clamp<std::int64_t>(now - framesIn(before - (before % hop), fbank), 0, real);
    out.bins = f.bins;
    out.frames.assign(f.data.begin() + std::ptrdiff_t((real - added) * f.bins),
        f.data.begin() + std::ptrdiff_t(real * f.bins));
}

// The engine on one microphone: restarted (same model, new options or adapter) by a
// ListenControl, its clock continuing where the previous engine stopped.
class Session
{
public:
    Session(AstClassifier &model, const ListenOptions &options, ListenObserver &observer)
        : m_model(model)
        , m_options(options)
        , m_observer(observer)
        , m_stream(std::make_unique<StreamingClassifier>(model, options.stream))
    { }

    const StreamingClassifier &stream() const { return *m_stream; }
    double seconds() const { return m_offset + double(m_stream->samplesPushed()) / rate(); }
    int rate() const { return m_stream->sampleRate(); }

    void apply(ListenControl::Changes changes)
    {
        if (!changes.adapter && !changes.options)
            return;
        if (changes.options)
            m_options.stream = *changes.options;
        m_offset = seconds();
        m_stream.reset(); // it refers to the model's labels and front end
        if (changes.adapter && *changes.adapter != m_model.summary().adapter) {
            try {
                m_model.setAdapter(*changes.adapter);
                m_observer.onAdapterChanged(*changes.adapter, m_model.summary().config.labels);
            } catch (const std::exception &e) { // the model keeps its adapter
                m_observer.onAdapterFailed(*changes.adapter, e.what());
            }
        }
        m_stream = std::make_unique<StreamingClassifier>(
            m_model, streamOptionsFor(m_options.stream, m_model.summary().config.labels));
    }

    // How many samples the next block reads: up to the next window's end, at most half a hop.
    std::size_t nextBlock(std::int64_t limit) const
    {
        const std::int64_t hop = m_stream->hopSamples();
        std::int64_t want =
            std::min(std::max<std::int64_t>(hop / 2, 160), hop - m_stream->samplesPushed() % hop);
        if (limit >= 0)
            want = std::min(want, limit - m_total);
        return std::size_t(std::max<std::int64_t>(want, 0));
    }

    // Classifies one block; the observer gets its windows and detections.
    void push(std::span<const float> samples, ListenSummary &summary)
    {
        const std::int64_t before = m_stream->samplesPushed();
        m_detections.clear();
        for (WindowResult &w : m_stream->push(samples, m_detections)) {
            summary.latenciesMs.push_back(w.latencyMs);
            ListenWindow out;
            out.seconds = m_offset + w.endSeconds;
            out.result = std::move(w);
            if (m_options.withFrames)
                addFrames(out, *m_stream, m_model.frontEnd().fbank, before);
            m_observer.onWindow(out);
        }
        for (Detection d : m_detections) {
            d.seconds += m_offset;
            m_observer.onDetection(d);
        }
        summary.detections += m_detections.size();
        m_total += std::int64_t(samples.size());
    }

    std::int64_t total() const { return m_total; } // samples pushed across engines

private:
    AstClassifier &m_model;
    ListenOptions m_options;
    ListenObserver &m_observer;
    std::unique_ptr<StreamingClassifier> m_stream;
    double m_offset = 0; // seconds classified by the engines before the current one
    std::int64_t m_total = 0;
    std::vector<Detection> m_detections;
};

double bufferSeconds(const ListenOptions &options)
{
    if (options.bufferSeconds > 0)
        return options.bufferSeconds;
    return std::clamp(options.seconds + 1.0, 10.0, 600.0);
}

} // namespace

void ListenControl::requestAdapter(std::filesystem::path adapter)
{
    const std::lock_guard lock(m_mutex);
    m_pending.adapter = std::move(adapter);
}

void ListenControl::requestOptions(const StreamOptions &options)
{
    const std::lock_guard lock(m_mutex);
    m_pending.options = options;
}

ListenControl::Changes ListenControl::take()
{
    const std::lock_guard lock(m_mutex);
    return std::exchange(m_pending, Changes {});
}

StreamOptions streamOptionsFor(StreamOptions options, const std::vector<std::string> &labels)
{
    if (!options.background.empty()
        && std::find(labels.begin(), labels.end(), options.background) == labels.end())
        options.background.clear();
    return options;
}

ListenSummary listen(AstClassifier &model, const ListenOptions &options, ListenObserver &observer,
    std::stop_token stop, ListenControl *control)
{
    Session session(model, options, observer);
    CaptureOptions capture;
    capture.device = options.input;
    capture.sampleRate = session.rate();
    capture.bufferSeconds = bufferSeconds(options);
    std::optional<AudioCapture> mic;
    try {
        mic.emplace(capture);
        mic->start();
    } catch (const Error &e) { // an unknown or failing device is an input error
        throw Error(ErrorKind::Io, e.reason(), e.file());
    }

    ListenSummary summary;
    summary.device = mic->device();
    observer.onStarted(summary.device, session.stream().labels());
    const std::int64_t limit =
        options.seconds > 0 ? std::int64_t(std::llround(options.seconds * session.rate())) : -1;
    std::vector<float> block;
    while (!stop.stop_requested()) {
        if (control)
            session.apply(control->take());
        const std::size_t want = session.nextBlock(limit);
        if (want == 0)
            break; // the limit is reached
        block.resize(want);
        const std::size_t got = mic->readWait(block, std::chrono::milliseconds(200));
        const std::span<const float> samples = std::span(block).first(got);
        if (got > 0)
            observer.onLevel(measureLevel(samples));
        session.push(samples, summary);
        observer.onStatus({ session.seconds(), mic->overflows(), mic->droppedSamples() });
        if (got < want && (mic->failed() || !mic->running())) {
            summary.failure = mic->failed()
                ? mic->error()
                : "audio input \"" + summary.device.name + "\" stopped by itself";
            break;
        }
    }
    mic->stop();
    summary.seconds = session.seconds();
    summary.overflows = mic->overflows();
    summary.stopped = stop.stop_requested();
    // Samples the ring dropped come after everything it held: with a limit within its capacity
    // they lie past the classified audio (a source faster than real time keeps producing);
    // otherwise, and for overflows in the device, the classified audio has gaps.
    summary.gaps = mic->deviceOverflows() > 0
        || (mic->droppedSamples() > 0
            && !(options.seconds > 0 && options.seconds <= capture.bufferSeconds));
    return summary;
}

} // namespace astpeft::core
