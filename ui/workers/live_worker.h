// SPDX-License-Identifier: MIT
// Live classification off the GUI thread: core::listen() (microphone -> streaming engine ->
// windows and detections) runs in the worker's QThread, owned by its controller (LiveView).
// Results cross to the GUI thread as plain values in queued signals; the GUI thread only paints.
//
// listen() blocks the worker's event loop until stopped, so the controller steers it by direct
// calls that are thread-safe: requestStop() requests a stop that core::listen() sees within
// 200 ms; requestAdapter() and requestOptions() go through a core::ListenControl, applied
// between two blocks without reopening the microphone (the adapter is swapped with
// AstClassifier::setAdapter(): the backbone is not read again).
#pragma once

#include "audio/take_splitter.h"
#include "inference/listen.h"

#include <QObject>
#include <QString>
#include <QStringList>

#include <atomic>
#include <memory>
#include <mutex>
#include <stop_token>
#include <vector>

namespace astpeft::ui {

// What listen() needs.
struct LiveRequest
{
    QString backbone; // HF-layout folder
    QString adapter; // adapter or run folder; empty: the bare backbone
    QString device; // as core::findAudioDevice ("" = the default input)
    core::StreamOptions options {};
    // F32 (exact) or Int8 (the encoder's Linear layers in int8 on the CPU: about 1.5x faster per
    // window where the CPU lacks fast bf16, scores within a few hundredths).
    core::Precision precision = core::Precision::F32;
};

// One classified window. Times are seconds since listening started (continuous across adapter
// and option changes, which restart the engine's own clock).
struct LiveWindow
{
    double seconds = 0;
    QStringList labels {}; // the adapter's, in score order
    std::vector<float> probabilities {}; // the model's scores, per label
    std::vector<float> smoothed {};
    int top = -1; // argmax of smoothed
    double latencyMs = 0; // the window's last sample read -> result
    // The fbank frames (normalised, as the model sees them) this window added: frames x bins,
    // row-major, 10 ms apart, the last one ending at `seconds`.
    int bins = 0;
    std::vector<float> frames {};
};

struct LiveDetection
{
    double seconds = 0;
    QString label {};
    double score = 0;
};

struct LiveStatus
{
    double seconds = 0; // audio classified so far
    quint64 overflows = 0; // AudioCapture::overflows()
    quint64 droppedSamples = 0;
};

class LiveWorker : public QObject
{
    Q_OBJECT

public:
    using QObject::QObject;
    ~LiveWorker() override;

    // Any thread. Stops listen() after the block in hand (the flag is cleared when the next
    // listen() starts).
    void requestStop();
    // Any thread. listen() switches to this adapter (empty: the bare backbone) before its next
    // block; the microphone stays open. A refused adapter is reported by adapterFailed() and
    // the previous one keeps running.
    void requestAdapter(const QString &adapter);
    // Any thread. New detection options from the next block on (the smoothing history restarts).
    void requestOptions(const core::StreamOptions &options);
    // How many times listen() opened the microphone (a switch must not reopen it). Any thread.
    int captureOpens() const { return m_opens.load(); }

public Q_SLOTS:
    // Worker thread: loads the backbone (kept between calls for the same folder), opens and
    // starts the microphone, emits started(), then classifies until requestStop() or a device
    // failure, and emits stopped() exactly once (also when it could not start; then with the
    // reason). Never throws.
    void listen(const astpeft::ui::LiveRequest &request);

Q_SIGNALS:
    void started(const QString &deviceName, const QString &adapter, const QStringList &labels);
    void adapterChanged(const QString &adapter, const QStringList &labels);
    void adapterFailed(const QString &adapter, const QString &message);
    void level(const astpeft::core::Level &level); // per block read
    void window(const astpeft::ui::LiveWindow &window);
    void detection(const astpeft::ui::LiveDetection &detection);
    void status(const astpeft::ui::LiveStatus &status); // per block read
    // `error`: empty after requestStop(); the reason when the device failed or could not open,
    // or the model could not load.
    void stopped(const QString &error);

private:
    class Forwarder;

    std::atomic<int> m_opens { 0 };
    std::mutex m_stopMutex; // guards m_stop (a fresh source per listen())
    std::stop_source m_stop;
    core::ListenControl m_control;
    // Worker thread only.
    std::unique_ptr<core::AstClassifier> m_model;
    QString m_modelDir;
    core::Precision m_precision = core::Precision::F32; // m_model's
};

} // namespace astpeft::ui
