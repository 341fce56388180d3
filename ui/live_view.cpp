// SPDX-License-Identifier: MIT
#include "live_view.h"

#include "audio/audio_device.h"
#include "audio_inputs.h"
#include "format.h"
#include "level_meter.h"
#include "quantile.h"
#include "theme.h"
#include "train/run_log.h"

#include <qcustomplot.h>

#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QTimer>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace astpeft::ui {

namespace {

// A run's labels, in class order (none for the bare backbone or an unreadable run).
QStringList runLabels(const QString &run)
{
    return run.isEmpty() ? QStringList() : qsList(core::readRunLog(run.toStdString()).labels);
}

constexpr double kViewSeconds = 5.0; // the rolling spectrogram
constexpr double kFrameSeconds = 0.01; // fbank frame shift
constexpr std::size_t kLatencyWindows = 100;
constexpr int kTopK = 5;

} // namespace

LiveView::LiveView(QWidget *parent)
    : QWidget(parent)
{
    // Microphone: the recorder's choice, remembered under the same key.
    m_devices = new QComboBox;
    m_devices->setAccessibleName(tr("Microphone"));
    m_devices->setToolTip(tr("The input device (remembered, shared with the recorder)"));
    auto *refresh = new QPushButton(tr("Refresh"));
    refresh->setAccessibleName(tr("Refresh microphones"));
    refresh->setToolTip(tr("List the input devices again (after plugging one in)"));
    m_meter = new LevelMeter;

    m_adapters = new QComboBox;
    m_adapters->setAccessibleName(tr("Adapter"));
    m_adapters->setToolTip(tr("The finished run whose adapter classifies the sound; switching "
                              "while listening keeps the microphone open"));

    m_precision = new QComboBox;
    m_precision->setAccessibleName(tr("Speed"));
    m_precision->addItem(tr("Exact (fp32)"), int(core::Precision::F32));
    m_precision->addItem(tr("Fast (int8, CPU)"), int(core::Precision::Int8));
    m_precision->setToolTip(
        tr("Fast runs the encoder's matrix products in 8-bit integers on the CPU: about 1.5x "
           "faster per window for AST-base on CPUs without fast bf16, with scores within a few "
           "hundredths of the exact ones. It takes effect at the next Start."));

    m_hop = new QDoubleSpinBox;
    m_hop->setRange(0.05, 2.0);
    m_hop->setSingleStep(0.05);
    m_hop->setDecimals(2);
    m_hop->setSuffix(tr(" s"));
    m_hop->setAccessibleName(tr("Hop"));
    m_hop->setToolTip(tr("A window is classified every hop (the window is the model's input "
                         "length)"));
    m_smooth = new QSpinBox;
    m_smooth->setRange(1, 20);
    m_smooth->setAccessibleName(tr("Smoothing windows"));
    m_smooth->setToolTip(tr("Scores are averaged over this many windows before deciding"));
    m_threshold = new QDoubleSpinBox;
    m_threshold->setRange(0.0, 1.0);
    m_threshold->setSingleStep(0.05);
    m_threshold->setDecimals(2);
    m_threshold->setAccessibleName(tr("Threshold"));
    m_threshold->setToolTip(tr("The smoothed score a label needs to count as a hit"));
    m_minHits = new QSpinBox;
    m_minHits->setRange(1, 20);
    m_minHits->setAccessibleName(tr("Minimum hits"));
    m_minHits->setToolTip(tr("Consecutive hits of one label before it is reported"));
    m_suppress = new QDoubleSpinBox;
    m_suppress->setRange(0.0, 30.0);
    m_suppress->setSingleStep(0.25);
    m_suppress->setDecimals(2);
    m_suppress->setSuffix(tr(" s"));
    m_suppress->setAccessibleName(tr("Suppression"));
    m_suppress->setToolTip(tr("No second detection of the same label within this time"));
    m_background = new QComboBox;
    m_background->setAccessibleName(tr("Background label"));
    m_background->setToolTip(tr("A label that is never reported (silence, room noise)"));
    setOptions({});

    m_startButton = new QPushButton(tr("Start"));
    m_startButton->setAccessibleName(tr("Start or stop listening"));
    m_startButton->setToolTip(tr("Start or stop listening (Ctrl+L)"));
    m_toggle = new QAction(tr("Start/stop &listening"), this);
    m_toggle->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
    m_toggle->setToolTip(tr("Start or stop live classification (Ctrl+L)"));

    m_message = new QLabel;
    m_message->setWordWrap(true);
    m_message->setAccessibleName(tr("Live status"));
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_latency = new QLabel;
    m_latency->setAccessibleName(tr("Latency and overflows"));
    m_latency->setToolTip(tr("Time from a window's last sample to its scores (median and 95th "
                             "percentile of the last %1 windows); overflows: audio lost because "
                             "the classifier fell behind")
                              .arg(kLatencyWindows));
    m_now = new QLabel;
    m_now->setAccessibleName(tr("Current label"));
    m_now->setToolTip(tr("The best label of the latest window (smoothed) and its score"));
    QFont big = m_now->font();
    big.setPointSizeF(big.pointSizeF() * 1.6);
    big.setBold(true);
    m_now->setFont(big);

    // Spectrogram: frames as columns, time in seconds (0 = now, negative = the past).
    m_spec = new QCustomPlot;
    m_spec->setAccessibleName(tr("Live spectrogram"));
    m_spec->setToolTip(tr("The last %1 s as the model sees them (normalised log-mel filterbank)")
                           .arg(kViewSeconds));
    m_map = new QCPColorMap(m_spec->xAxis, m_spec->yAxis);
    m_map->setGradient(QCPColorGradient::gpThermal);
    m_map->setInterpolate(false);
    m_spec->xAxis->setLabel(tr("seconds"));
    m_spec->yAxis->setLabel(tr("mel bin"));
    m_spec->xAxis->setRange(-kViewSeconds, 0);
    // Empty until the first frames arrive (QCPColorMap starts with a 10 x 10 grid of zeros,
    // drawn as a dark block), on AST's 128 mel bins until the model says otherwise.
    m_map->data()->clear();
    m_spec->yAxis->setRange(0, 127);
    m_spec->setMinimumHeight(140);

    m_barPlot = new QCustomPlot;
    m_barPlot->setAccessibleName(tr("Top labels"));
    m_barPlot->setToolTip(tr("The model's probabilities for the latest window, best first"));
    m_bars = new QCPBars(m_barPlot->xAxis, m_barPlot->yAxis);
    m_bars->setWidth(0.6);
    m_bars->setPen(Qt::NoPen);
    m_bars->setBrush(QColor(0x4a, 0x8f, 0xe7));
    m_barPlot->yAxis->setRange(0, 1);
    m_barPlot->yAxis->setLabel(tr("probability"));
    m_barPlot->xAxis->setTicker(QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText));
    m_barPlot->xAxis->setRange(0.4, kTopK + 0.6);
    m_barPlot->setMinimumHeight(140);

    m_history = new QTreeWidget;
    m_history->setAccessibleName(tr("Detections"));
    m_history->setToolTip(tr("Detections, newest first: stream time, label, smoothed score"));
    m_history->setHeaderLabels({ tr("Time"), tr("Label"), tr("Score") });
    m_history->setRootIsDecorated(false);
    m_history->header()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_clear = new QPushButton(tr("Clear"));
    m_clear->setAccessibleName(tr("Clear detections"));
    m_clear->setToolTip(tr("Empty the detection list"));

    // Layout: controls on the left; the plots and the history on the right.
    auto *deviceRow = new QHBoxLayout;
    deviceRow->addWidget(m_devices, 1);
    deviceRow->addWidget(refresh);
    auto *form = new QFormLayout;
    form->addRow(tr("Microphone"), deviceRow);
    form->addRow(tr("Level"), m_meter);
    form->addRow(tr("Adapter"), m_adapters);
    form->addRow(tr("Speed"), m_precision);
    auto *optionsBox = new QGroupBox(tr("Detection"));
    auto *optionsForm = new QFormLayout(optionsBox);
    optionsForm->addRow(tr("Hop"), m_hop);
    optionsForm->addRow(tr("Smoothing windows"), m_smooth);
    optionsForm->addRow(tr("Threshold"), m_threshold);
    optionsForm->addRow(tr("Minimum hits"), m_minHits);
    optionsForm->addRow(tr("Suppression"), m_suppress);
    optionsForm->addRow(tr("Background label"), m_background);
    auto *left = new QVBoxLayout;
    left->addLayout(form);
    left->addWidget(optionsBox);
    left->addWidget(m_startButton);
    left->addWidget(m_message);
    left->addWidget(m_latency);
    left->addStretch(1);

    auto *historyHeader = new QHBoxLayout;
    historyHeader->addWidget(new QLabel(tr("Detections")));
    historyHeader->addStretch(1);
    historyHeader->addWidget(m_clear);
    auto *right = new QVBoxLayout;
    right->addWidget(m_now);
    right->addWidget(m_spec, 3);
    auto *lower = new QHBoxLayout;
    lower->addWidget(m_barPlot, 3);
    auto *historyColumn = new QVBoxLayout;
    historyColumn->addLayout(historyHeader);
    historyColumn->addWidget(m_history, 1);
    lower->addLayout(historyColumn, 2);
    right->addLayout(lower, 2);

    auto *layout = new QHBoxLayout(this);
    layout->addLayout(left, 2);
    layout->addLayout(right, 5);

    m_redraw = new QTimer(this);
    m_redraw->setInterval(40);
    connect(m_redraw, &QTimer::timeout, this, &LiveView::redraw);

    // The worker in its thread.
    connect(this, &LiveView::listenRequested, m_worker.get(), &LiveWorker::listen);
    connect(m_worker.get(), &LiveWorker::started, this, &LiveView::onStarted);
    connect(m_worker.get(), &LiveWorker::window, this, &LiveView::onWindow);
    connect(m_worker.get(), &LiveWorker::detection, this, &LiveView::onDetection);
    connect(m_worker.get(), &LiveWorker::stopped, this, &LiveView::onStopped);
    connect(m_worker.get(), &LiveWorker::level, m_meter, &LevelMeter::setLevel);
    connect(m_worker.get(), &LiveWorker::status, this, [this](const LiveStatus &s) {
        m_status = s;
        m_dirty = true;
    });
    connect(m_worker.get(), &LiveWorker::adapterChanged, this,
        [this](const QString &adapter, const QStringList &labels) {
            setLabels(labels);
            setMessage(tr("Listening with %1").arg(QFileInfo(adapter).fileName()));
            Q_EMIT adapterSwitched(adapter);
        });
    connect(m_worker.get(), &LiveWorker::adapterFailed, this,
        [this](const QString &adapter, const QString &message) {
            setMessage(
                tr("Could not switch to %1: %2").arg(QFileInfo(adapter).fileName(), message), true);
        });
    m_worker.start();

    connect(refresh, &QPushButton::clicked, this, &LiveView::refreshDevices);
    connect(m_devices, &QComboBox::currentIndexChanged, this,
        [this] { rememberAudioInput(m_devices); });
    connect(m_adapters, &QComboBox::currentIndexChanged, this, [this] {
        setLabels(runLabels(adapter()));
        if (m_listening)
            m_worker->requestAdapter(adapter());
        updateState();
    });
    for (QDoubleSpinBox *box : { m_hop, m_threshold, m_suppress })
        connect(box, &QDoubleSpinBox::valueChanged, this, &LiveView::optionsChanged);
    for (QSpinBox *box : { m_smooth, m_minHits })
        connect(box, &QSpinBox::valueChanged, this, &LiveView::optionsChanged);
    connect(m_background, &QComboBox::currentIndexChanged, this, &LiveView::optionsChanged);
    connect(m_startButton, &QPushButton::clicked, this, &LiveView::toggle);
    connect(m_toggle, &QAction::triggered, this, &LiveView::toggle);
    connect(m_clear, &QPushButton::clicked, this, &LiveView::clearDetections);

    stylePlot(m_spec, palette());
    stylePlot(m_barPlot, palette());
    refreshDevices();
    updateState();
}

LiveView::~LiveView()
{
    m_worker->requestStop();
}

void LiveView::setBackbone(const QString &dir)
{
    m_backbone = dir;
    updateState();
}

void LiveView::setRuns(const QStringList &runDirs)
{
    const QString current = adapter();
    {
        const QSignalBlocker block(m_adapters);
        m_adapters->clear();
        for (const QString &dir : runDirs) {
            if (!QFileInfo::exists(dir + "/adapter_config.json"))
                continue;
            const core::RunLog h = core::readRunLog(dir.toStdString());
            if (!h.error.empty() || !h.finished)
                continue;
            m_adapters->addItem(tr("%1 (%2, %3% validation)")
                                    .arg(QFileInfo(dir).fileName(), qs(h.method))
                                    .arg(100.0 * h.bestValAccuracy(), 0, 'f', 1),
                dir);
        }
        const int i = m_adapters->findData(current);
        m_adapters->setCurrentIndex(i >= 0 ? i : m_adapters->count() - 1); // else the newest
    }
    if (adapter() != current) {
        setLabels(runLabels(adapter()));
        if (m_listening && adapter().isEmpty()) {
            stop(); // the run went away (another project): nothing to listen with
        } else if (m_listening) {
            m_worker->requestAdapter(adapter());
        }
    }
    updateState();
}

QStringList LiveView::adapters() const
{
    QStringList out;
    for (int i = 0; i < m_adapters->count(); ++i)
        out << m_adapters->itemData(i).toString();
    return out;
}

QString LiveView::adapter() const
{
    return m_adapters->currentData().toString();
}

void LiveView::setAdapter(const QString &runDir)
{
    const int i = m_adapters->findData(runDir);
    if (i >= 0)
        m_adapters->setCurrentIndex(i);
}

QString LiveView::device() const
{
    return m_devices->currentData().toString();
}

void LiveView::setDevice(const QString &name)
{
    int i = m_devices->findData(name);
    if (i < 0) {
        m_devices->addItem(name, name);
        i = m_devices->count() - 1;
    }
    m_devices->setCurrentIndex(i);
}

core::StreamOptions LiveView::options() const
{
    core::StreamOptions o;
    o.hopSeconds = m_hop->value();
    o.smoothWindows = m_smooth->value();
    o.threshold = m_threshold->value();
    o.minHits = m_minHits->value();
    o.suppressSeconds = m_suppress->value();
    o.background = m_background->currentData().toString().toStdString();
    return o;
}

core::Precision LiveView::precision() const
{
    return core::Precision(m_precision->currentData().toInt());
}

void LiveView::setPrecision(core::Precision precision)
{
    const int i = m_precision->findData(int(precision));
    if (i >= 0)
        m_precision->setCurrentIndex(i);
}

void LiveView::setOptions(const core::StreamOptions &o)
{
    {
        const QSignalBlocker b1(m_hop), b2(m_smooth), b3(m_threshold), b4(m_minHits),
            b5(m_suppress), b6(m_background);
        m_hop->setValue(o.hopSeconds);
        m_smooth->setValue(o.smoothWindows);
        m_threshold->setValue(o.threshold);
        m_minHits->setValue(o.minHits);
        m_suppress->setValue(o.suppressSeconds);
        const QString bg = QString::fromStdString(o.background);
        if (m_background->findData(bg) < 0)
            m_background->addItem(bg.isEmpty() ? tr("(none)") : bg, bg);
        m_background->setCurrentIndex(m_background->findData(bg));
    }
    optionsChanged();
}

QString LiveView::message() const
{
    return m_message->text();
}

QList<QPair<QString, double>> LiveView::bars() const
{
    QList<QPair<QString, double>> out;
    const auto ticker = qSharedPointerDynamicCast<QCPAxisTickerText>(m_barPlot->xAxis->ticker());
    for (auto it = m_bars->data()->constBegin(); it != m_bars->data()->constEnd(); ++it)
        out.append({ ticker ? ticker->ticks().value(it->key) : QString(), it->value });
    return out;
}

QList<LiveDetection> LiveView::detections() const
{
    return m_detections;
}

double LiveView::medianLatencyMs() const
{
    return core::quantile({ m_latencies.begin(), m_latencies.end() }, 0.5);
}

double LiveView::p95LatencyMs() const
{
    return core::quantile({ m_latencies.begin(), m_latencies.end() }, 0.95);
}

void LiveView::start()
{
    if (m_listening || m_stopping)
        return;
    if (m_backbone.isEmpty() || adapter().isEmpty()) {
        updateState();
        return;
    }
    m_listening = true;
    m_columns.clear();
    m_latencies.clear();
    m_status = {};
    m_last = {};
    m_meter->reset();
    setMessage(tr("Loading the model and opening the microphone..."));
    updateState();
    m_redraw->start();
    Q_EMIT listenRequested({ m_backbone, adapter(), device(), options(), precision() });
}

void LiveView::stop()
{
    if (!m_listening)
        return;
    m_stopping = true;
    m_worker->requestStop();
    updateState();
}

void LiveView::toggle()
{
    if (m_listening) {
        stop();
    } else {
        start();
    }
}

void LiveView::refreshDevices()
{
    const QString error = fillAudioInputs(m_devices);
    if (!error.isEmpty())
        setMessage(tr("No audio input: %1").arg(error), true);
}

void LiveView::clearDetections()
{
    m_detections.clear();
    m_history->clear();
}

void LiveView::changeEvent(QEvent *event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) {
        stylePlot(m_spec, palette());
        stylePlot(m_barPlot, palette());
        m_spec->replot(QCustomPlot::rpQueuedReplot);
        m_barPlot->replot(QCustomPlot::rpQueuedReplot);
    }
}

void LiveView::onStarted(const QString &device, const QString &adapter, const QStringList &labels)
{
    setLabels(labels);
    setMessage(tr("Listening on \"%1\" with %2").arg(device, QFileInfo(adapter).fileName()));
    Q_EMIT listeningStarted(device);
}

void LiveView::onWindow(const LiveWindow &window)
{
    m_last = window;
    m_latencies.push_back(window.latencyMs);
    while (m_latencies.size() > kLatencyWindows)
        m_latencies.pop_front();
    if (window.bins > 0) {
        if (window.bins != m_bins)
            m_columns.clear();
        m_bins = window.bins;
        const std::size_t n = window.frames.size() / std::size_t(window.bins);
        for (std::size_t f = 0; f < n; ++f) {
            m_columns.emplace_back(window.frames.begin() + std::ptrdiff_t(f * std::size_t(m_bins)),
                window.frames.begin() + std::ptrdiff_t((f + 1) * std::size_t(m_bins)));
        }
        const auto keep = std::size_t(std::lround(kViewSeconds / kFrameSeconds));
        while (m_columns.size() > keep)
            m_columns.pop_front();
    }
    m_lastSeconds = window.seconds;
    m_dirty = true;
    Q_EMIT windowShown(window);
}

void LiveView::onDetection(const LiveDetection &d)
{
    m_detections.prepend(d);
    auto *item = new QTreeWidgetItem({ QStringLiteral("%1 s").arg(d.seconds, 0, 'f', 2), d.label,
        QString::number(d.score, 'f', 3) });
    item->setTextAlignment(0, Qt::AlignRight | Qt::AlignVCenter);
    item->setTextAlignment(2, Qt::AlignRight | Qt::AlignVCenter);
    m_history->insertTopLevelItem(0, item);
    Q_EMIT detected(d);
}

void LiveView::onStopped(const QString &error)
{
    m_listening = false;
    m_stopping = false;
    m_redraw->stop();
    redraw();
    if (error.isEmpty()) {
        setMessage(tr("Stopped."));
    } else {
        setMessage(tr("Listening stopped: %1").arg(error), true);
    }
    updateState();
    Q_EMIT listeningStopped(error);
}

void LiveView::setLabels(const QStringList &labels)
{
    const QString current = m_background->currentData().toString();
    {
        const QSignalBlocker block(m_background);
        m_background->clear();
        m_background->addItem(tr("(none)"), QString());
        for (const QString &l : labels)
            m_background->addItem(l, l);
        // The previous choice, else a label named "background" (the studio's suggestion).
        int i = current.isEmpty() ? -1 : m_background->findData(current);
        if (i < 0)
            i = std::max(0, m_background->findData(QStringLiteral("background")));
        m_background->setCurrentIndex(i);
    }
    if (m_background->currentData().toString() != current)
        optionsChanged();
}

void LiveView::optionsChanged()
{
    if (m_listening && !m_stopping)
        m_worker->requestOptions(options());
}

void LiveView::redraw()
{
    if (!m_dirty)
        return;
    m_dirty = false;
    // Spectrogram: the newest frame at 0 s.
    const int n = int(m_columns.size());
    if (n > 0 && m_bins > 0) {
        m_map->data()->setSize(n, m_bins);
        m_map->data()->setRange(
            QCPRange(-(n - 1) * kFrameSeconds, 0), QCPRange(0, std::max(1, m_bins - 1)));
        for (int f = 0; f < n; ++f) {
            const std::vector<float> &c = m_columns[std::size_t(f)];
            for (int b = 0; b < m_bins; ++b)
                m_map->data()->setCell(f, b, c[std::size_t(b)]);
        }
        m_map->setDataRange(QCPRange(-1.5, 1.5)); // normalised features: about N(0, 0.5)
        m_spec->yAxis->setRange(0, std::max(1, m_bins - 1));
        m_spec->replot(QCustomPlot::rpQueuedReplot);
    }
    // Top-k of the latest window's probabilities.
    if (!m_last.probabilities.empty()) {
        std::vector<int> order(m_last.probabilities.size());
        std::iota(order.begin(), order.end(), 0);
        const int k = std::min<int>(kTopK, int(order.size()));
        std::partial_sort(order.begin(), order.begin() + k, order.end(), [this](int a, int b) {
            return m_last.probabilities[std::size_t(a)] > m_last.probabilities[std::size_t(b)];
        });
        QVector<double> keys, values;
        auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
        for (int i = 0; i < k; ++i) {
            keys << i + 1;
            values << m_last.probabilities[std::size_t(order[std::size_t(i)])];
            ticker->addTick(i + 1, m_last.labels.value(order[std::size_t(i)]));
        }
        m_bars->setData(keys, values, true);
        m_barPlot->xAxis->setTicker(ticker);
        m_barPlot->xAxis->setRange(0.4, k + 0.6);
        m_barPlot->replot(QCustomPlot::rpQueuedReplot);
        if (m_last.top >= 0 && m_last.top < int(m_last.smoothed.size())) {
            m_now->setText(QStringLiteral("%1  %2")
                               .arg(m_last.labels.value(m_last.top))
                               .arg(m_last.smoothed[std::size_t(m_last.top)], 0, 'f', 2));
        }
    }
    m_latency->setText(tr("Latency: median %1 ms, p95 %2 ms; %3 s heard; overflows: %4")
                           .arg(medianLatencyMs(), 0, 'f', 1)
                           .arg(p95LatencyMs(), 0, 'f', 1)
                           .arg(m_status.seconds, 0, 'f', 1)
                           .arg(m_status.overflows));
}

void LiveView::updateState()
{
    const bool ready = !m_backbone.isEmpty() && m_adapters->count() > 0;
    m_startButton->setText(m_listening ? tr("Stop") : tr("Start"));
    m_startButton->setEnabled(m_listening ? !m_stopping : ready);
    m_toggle->setEnabled(m_startButton->isEnabled());
    m_devices->setEnabled(!m_listening);
    m_precision->setEnabled(!m_listening); // the model is built at start
    if (m_listening)
        return;
    if (m_backbone.isEmpty()) {
        setMessage(
            tr("No backbone: open one (File > Open backbone folder) and train a run."), true);
    } else if (m_adapters->count() == 0) {
        setMessage(tr("No finished run yet: train one in the Train view (Ctrl+3), then listen "
                      "with it here."),
            true);
    } else if (m_message->property("error").toBool() && m_message->text().startsWith(tr("No "))) {
        setMessage(tr("Ready: press Start (Ctrl+L) to classify the microphone live."));
    } else if (m_message->text().isEmpty()) {
        setMessage(tr("Ready: press Start (Ctrl+L) to classify the microphone live."));
    }
}

void LiveView::setMessage(const QString &text, bool error)
{
    m_message->setText(text);
    m_message->setProperty("error", error);
    m_message->setStyleSheet(error ? QStringLiteral("color: #d93b3b;") : QString());
}

} // namespace astpeft::ui
