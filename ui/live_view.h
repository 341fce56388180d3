// SPDX-License-Identifier: MIT
// The Live view: what the microphone hears, classified live by one of the project's finished
// runs. A microphone picker (remembered in QSettings "audio/input", shared with the recorder),
// the input level, a rolling spectrogram of the last 5 s (the normalised fbank the model sees),
// the top-k probabilities of the latest window as bars, the detections (newest first), latency
// (median and p95 of the last 100 windows) and overflows, the detection options and an adapter
// picker. Capture and the model run in a LiveWorker in this view's QThread; the GUI thread only
// paints (at most every 40 ms). Switching the adapter while listening swaps it in the worker
// without reopening the microphone or reading the backbone again.
#pragma once

#include "workers/live_worker.h"
#include "workers/worker_thread.h"

#include <QStringList>
#include <QWidget>

#include <deque>
#include <vector>

class QAction;
class QComboBox;
class QCPBars;
class QCPColorMap;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSpinBox;
class QTimer;
class QTreeWidget;

namespace astpeft::ui {

class LevelMeter;

class LiveView : public QWidget
{
    Q_OBJECT

public:
    explicit LiveView(QWidget *parent = nullptr);
    ~LiveView() override; // stops listening and waits for the worker thread

    // The backbone every run of the project was trained on (empty: none opened yet).
    void setBackbone(const QString &dir);
    // The project's run folders; those that finished and hold an adapter are offered.
    void setRuns(const QStringList &runDirs);
    QStringList adapters() const; // the offered run folders, in the picker's order
    QString adapter() const; // the chosen run folder ("" when there is none)
    void setAdapter(const QString &runDir); // selects it (while listening: switches to it)

    QString device() const; // the chosen input's name ("" = default)
    void setDevice(const QString &name); // selects an input by name (added when not listed)
    core::StreamOptions options() const;
    void setOptions(const core::StreamOptions &options);
    // F32 or Int8 (the "Speed" picker); applies from the next start.
    core::Precision precision() const;
    void setPrecision(core::Precision precision);

    bool isListening() const { return m_listening; }
    QString message() const; // the status line: what is missing, or why the device failed
    QAction *toggleAction() const { return m_toggle; } // Start/Stop, Ctrl+L

    // What is displayed, for tests and accessibility.
    LevelMeter *meter() const { return m_meter; }
    QList<QPair<QString, double>> bars() const; // the top-k bars, best first
    int spectrogramFrames() const { return int(m_columns.size()); } // frames in the 5 s view
    QList<LiveDetection> detections() const; // as listed, newest first
    double medianLatencyMs() const;
    double p95LatencyMs() const;
    quint64 overflows() const { return m_status.overflows; }
    int captureOpens() const { return m_worker->captureOpens(); }

public Q_SLOTS:
    void start();
    void stop(); // returns at once; listeningStopped() follows
    void toggle();
    void refreshDevices();
    void clearDetections();

Q_SIGNALS:
    void listeningStarted(const QString &device);
    void listeningStopped(const QString &error); // empty after stop()
    void windowShown(const astpeft::ui::LiveWindow &window);
    void detected(const astpeft::ui::LiveDetection &detection);
    void adapterSwitched(const QString &runDir);
    void listenRequested(const astpeft::ui::LiveRequest &request); // queued to the worker

protected:
    void changeEvent(QEvent *event) override;

private:
    void onStarted(const QString &device, const QString &adapter, const QStringList &labels);
    void onWindow(const LiveWindow &window);
    void onDetection(const LiveDetection &detection);
    void onStopped(const QString &error);
    void setLabels(const QStringList &labels); // the background picker's choices
    void optionsChanged();
    void redraw(); // the plots and readouts, when something changed
    void updateState();
    void setMessage(const QString &text, bool error = false);

    QString m_backbone;
    QComboBox *m_devices = nullptr, *m_adapters = nullptr, *m_background = nullptr,
              *m_precision = nullptr;
    QDoubleSpinBox *m_hop = nullptr, *m_threshold = nullptr, *m_suppress = nullptr;
    QSpinBox *m_smooth = nullptr, *m_minHits = nullptr;
    QPushButton *m_startButton = nullptr, *m_clear = nullptr;
    QAction *m_toggle = nullptr;
    LevelMeter *m_meter = nullptr;
    QCustomPlot *m_spec = nullptr, *m_barPlot = nullptr;
    QCPColorMap *m_map = nullptr;
    QCPBars *m_bars = nullptr;
    QTreeWidget *m_history = nullptr;
    QLabel *m_message = nullptr, *m_latency = nullptr, *m_now = nullptr;
    QTimer *m_redraw = nullptr;

    WorkerThread<LiveWorker> m_worker { QStringLiteral("live") };
    bool m_listening = false, m_stopping = false;
    bool m_dirty = false;
    LiveWindow m_last; // the latest window
    std::deque<std::vector<float>> m_columns; // the last 5 s of fbank frames, oldest first
    int m_bins = 0;
    double m_lastSeconds = 0; // stream time of the newest frame
    std::deque<double> m_latencies; // the last 100 windows'
    LiveStatus m_status;
    QList<LiveDetection> m_detections; // newest first
};

} // namespace astpeft::ui
