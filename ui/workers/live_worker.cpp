// SPDX-License-Identifier: MIT
#include "workers/live_worker.h"

#include "error.h"
#include "format.h"

namespace astpeft::ui {

// core::listen()'s events as the worker's signals (emitted on the worker thread, queued to the
// GUI thread's receivers).
class LiveWorker::Forwarder : public core::ListenObserver
{
public:
    Forwarder(LiveWorker &worker, QString adapter)
        : m_worker(worker)
        , m_adapter(std::move(adapter))
    { }

    void onStarted(
        const core::AudioDeviceInfo &device, const std::vector<std::string> &labels) override
    {
        ++m_worker.m_opens;
        m_labels = qsList(labels);
        Q_EMIT m_worker.started(QString::fromStdString(device.name), m_adapter, m_labels);
    }

    void onLevel(const core::Level &level) override { Q_EMIT m_worker.level(level); }

    void onWindow(const core::ListenWindow &w) override
    {
        LiveWindow out;
        out.seconds = w.seconds;
        out.labels = m_labels;
        out.probabilities = w.result.probabilities;
        out.smoothed = w.result.smoothed;
        out.top = w.result.top;
        out.latencyMs = w.result.latencyMs;
        out.bins = w.bins;
        out.frames = w.frames;
        Q_EMIT m_worker.window(out);
    }

    void onDetection(const core::Detection &d) override
    {
        Q_EMIT m_worker.detection(
            LiveDetection { d.seconds, QString::fromStdString(d.label), double(d.score) });
    }

    void onStatus(const core::ListenStatus &s) override
    {
        Q_EMIT m_worker.status(LiveStatus { s.seconds, s.overflows, s.droppedSamples });
    }

    void onAdapterChanged(
        const std::filesystem::path &adapter, const std::vector<std::string> &labels) override
    {
        m_labels = qsList(labels);
        Q_EMIT m_worker.adapterChanged(QString::fromStdString(adapter.string()), m_labels);
    }

    void onAdapterFailed(const std::filesystem::path &adapter, const std::string &message) override
    {
        Q_EMIT m_worker.adapterFailed(
            QString::fromStdString(adapter.string()), QString::fromStdString(message));
    }

private:
    LiveWorker &m_worker;
    QString m_adapter;
    QStringList m_labels; // the running adapter's
};

LiveWorker::~LiveWorker() = default;

void LiveWorker::requestStop()
{
    const std::lock_guard lock(m_stopMutex);
    m_stop.request_stop();
}

void LiveWorker::requestAdapter(const QString &adapter)
{
    m_control.requestAdapter(adapter.toStdString());
}

void LiveWorker::requestOptions(const core::StreamOptions &options)
{
    m_control.requestOptions(options);
}

void LiveWorker::listen(const LiveRequest &request)
{
    std::stop_token stop;
    {
        const std::lock_guard lock(m_stopMutex);
        m_stop = std::stop_source();
        stop = m_stop.get_token();
    }
    m_control.take(); // changes meant for an earlier session
    QString failure;
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
        core::ListenOptions options;
        options.input = request.device.toStdString();
        options.stream = core::streamOptionsFor(request.options, m_model->summary().config.labels);
        // 20 s: a short stall (a first window, an adapter switch) never drops audio; a
        // classifier that keeps falling behind still shows overflows within seconds.
        options.bufferSeconds = 20;
        options.withFrames = true;
        Forwarder forwarder(*this, request.adapter);
        const core::ListenSummary summary =
            core::listen(*m_model, options, forwarder, stop, &m_control);
        failure = QString::fromStdString(summary.failure);
    } catch (const std::exception &e) { // core::Error names the device or folder
        failure = QString::fromStdString(e.what());
    }
    Q_EMIT stopped(failure);
}

} // namespace astpeft::ui
