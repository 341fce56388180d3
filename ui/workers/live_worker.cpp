// SPDX-License-Identifier: MIT
#include "workers/live_worker.h"

#include "audio/audio_device.h"
#include "error.h"

#include <algorithm>
#include <chrono>

namespace astpeft::ui {

namespace {

QStringList toQt(const std::vector<std::string> &labels)
{
    QStringList out;
    for (const std::string &l : labels)
        out << QString::fromStdString(l);
    return out;
}

// Fbank frames (25 ms, 10 ms apart, snip edges) that `samples` at 16 kHz hold.
std::int64_t framesIn(std::int64_t samples, const core::FbankOptions &f)
{
    const std::int64_t length = std::int64_t(f.frameLength), shift = std::int64_t(f.frameShift);
    return samples < length ? 0 : (samples - length) / shift + 1;
}

// The options the engine accepts for `labels`: a background label the adapter lacks is
// dropped (another adapter may name its silence class differently).
core::StreamOptions forLabels(core::StreamOptions o, const std::vector<std::string> &labels)
{
    if (!o.background.empty()
        && std::find(labels.begin(), labels.end(), o.background) == labels.end())
        o.background.clear();
    return o;
}

} // namespace

LiveWorker::~LiveWorker() = default;

void LiveWorker::requestStop()
{
    m_stop = true;
}

void LiveWorker::requestAdapter(const QString &adapter)
{
    const std::lock_guard lock(m_mutex);
    m_pendingAdapter = adapter;
}

void LiveWorker::requestOptions(const core::StreamOptions &options)
{
    const std::lock_guard lock(m_mutex);
    m_pendingOptions = options;
}

void LiveWorker::listen(const LiveRequest &request)
{
    m_stop = false;
    {
        const std::lock_guard lock(m_mutex);
        m_pendingAdapter.reset();
        m_pendingOptions.reset();
    }
    std::unique_ptr<core::AudioCapture> mic;
    std::unique_ptr<core::StreamingClassifier> stream;
    core::StreamOptions options = request.options;
    try {
        const std::filesystem::path adapter = request.adapter.toStdString();
        if (!m_model || m_modelDir != request.backbone || m_precision != request.precision) {
            m_model.reset();
            m_model = std::make_unique<core::AstClassifier>(request.backbone.toStdString(),
                core::ClassifierOptions { .precision = request.precision, .adapter = adapter });
            m_modelDir = request.backbone;
            m_precision = request.precision;
        } else if (m_model->summary().adapter != adapter) {
            m_model->setAdapter(adapter);
        }
        options = forLabels(options, m_model->summary().config.labels);
        stream = std::make_unique<core::StreamingClassifier>(*m_model, options);
        core::CaptureOptions capture;
        capture.device = request.device.toStdString();
        capture.sampleRate = stream->sampleRate();
        // 20 s: a short stall (a first window, an adapter switch) never drops audio; a
        // classifier that keeps falling behind still shows overflows within seconds.
        capture.bufferSeconds = 20;
        mic = std::make_unique<core::AudioCapture>(capture);
        ++m_opens;
        mic->start();
    } catch (const std::exception &e) { // core::Error names the device or folder
        Q_EMIT stopped(QString::fromStdString(e.what()));
        return;
    }
    const QString deviceName = QString::fromStdString(mic->device().name);
    QString adapterNow = request.adapter;
    Q_EMIT started(deviceName, adapterNow, toQt(stream->labels()));

    const int rate = stream->sampleRate();
    double offset = 0; // seconds classified by the engines before the current one
    std::vector<float> block;
    std::vector<core::Detection> detections;
    QString failure;
    try {
        while (!m_stop) {
            // Changes requested by the GUI thread, between two blocks: a new engine on the same
            // microphone, its clock continuing where the previous one stopped.
            std::optional<QString> nextAdapter;
            std::optional<core::StreamOptions> nextOptions;
            {
                const std::lock_guard lock(m_mutex);
                std::swap(nextAdapter, m_pendingAdapter);
                std::swap(nextOptions, m_pendingOptions);
            }
            if (nextAdapter || nextOptions) {
                if (nextOptions)
                    options = *nextOptions;
                offset += double(stream->samplesPushed()) / rate;
                stream.reset(); // it refers to the model's labels and front end
                if (nextAdapter && *nextAdapter != adapterNow) {
                    try {
                        m_model->setAdapter(nextAdapter->toStdString());
                        adapterNow = *nextAdapter;
                        Q_EMIT adapterChanged(adapterNow, toQt(m_model->summary().config.labels));
                    } catch (const std::exception &e) { // the model keeps its adapter
                        Q_EMIT adapterFailed(*nextAdapter, QString::fromStdString(e.what()));
                    }
                }
                stream = std::make_unique<core::StreamingClassifier>(
                    *m_model, forLabels(options, m_model->summary().config.labels));
            }

            // Blocks end where windows end, so a window's last sample is the last one read and
            // its latency runs from the read to the result.
            const std::int64_t hop = stream->hopSamples();
            const std::size_t want = std::size_t(std::min<std::int64_t>(
                std::max<std::int64_t>(hop / 2, 160), hop - stream->samplesPushed() % hop));
            block.resize(want);
            const std::size_t got = mic->readWait(block, std::chrono::milliseconds(200));
            const std::span<const float> samples = std::span(block).first(got);
            if (got > 0)
                Q_EMIT level(core::measureLevel(samples));
            const std::int64_t before = stream->samplesPushed();
            detections.clear();
            for (core::WindowResult &w : stream->push(samples, detections)) {
                LiveWindow out;
                out.seconds = offset + w.endSeconds;
                out.labels = toQt(stream->labels());
                out.probabilities = std::move(w.probabilities);
                out.smoothed = std::move(w.smoothed);
                out.top = w.top;
                out.latencyMs = w.latencyMs;
                // The frames this hop added: the window's real (not padded) rows are its first
                // min(frames so far, max_length); the newest are at their end.
                const core::FeatureMatrix f = stream->currentFeatures();
                const core::FbankOptions &fbank = m_model->frontEnd().fbank;
                const std::int64_t now = framesIn(stream->samplesPushed(), fbank);
                const std::int64_t real = std::min(now, f.frames);
                const std::int64_t added = std::clamp<std::int64_t>(
                    now - framesIn(before - (before % hop), fbank), 0, real);
                out.bins = f.bins;
                out.frames.assign(f.data.begin() + std::ptrdiff_t((real - added) * f.bins),
                    f.data.begin() + std::ptrdiff_t(real * f.bins));
                Q_EMIT window(out);
            }
            for (const core::Detection &d : detections)
                Q_EMIT detection(LiveDetection {
                    offset + d.seconds, QString::fromStdString(d.label), double(d.score) });
            Q_EMIT status(LiveStatus { offset + double(stream->samplesPushed()) / rate,
                mic->overflows(), mic->droppedSamples() });
            if (got < want && (mic->failed() || !mic->running())) {
                failure = mic->failed()
                    ? QString::fromStdString(mic->error())
                    : tr("The audio input \"%1\" stopped by itself").arg(deviceName);
                break;
            }
        }
    } catch (const std::exception &e) {
        failure = QString::fromStdString(e.what());
    }
    mic->stop();
    Q_EMIT stopped(failure);
}

} // namespace astpeft::ui
