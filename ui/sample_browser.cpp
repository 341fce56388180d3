// SPDX-License-Identifier: MIT
#include "sample_browser.h"

#include "audio/audio_device.h"
#include "audio/audio_file.h"
#include "features/fbank.h"
#include "format.h"
#include "project/project.h"
#include "project_model.h"
#include "theme.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QShortcut>
#include <QTimer>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>

namespace astpeft::ui {

namespace {
constexpr int kRate = 16000; // what the model hears; the browser shows the same
}

SampleBrowser::SampleBrowser(ProjectModel *project, QWidget *parent)
    : QWidget(parent)
    , m_project(project)
{
    m_wave = new QCustomPlot;
    m_wave->setAccessibleName(tr("Waveform"));
    m_wave->setToolTip(tr("Drag to select a range; wheel zooms, right-drag pans"));
    m_wave->addGraph();
    m_wave->setPlottingHint(QCP::phFastPolylines, true); // minutes of audio stay interactive
    m_wave->yAxis->setRange(-1, 1);
    m_wave->yAxis->setLabel(tr("amplitude"));
    m_wave->xAxis->setLabel(tr("seconds"));
    m_wave->setInteractions(QCP::iRangeZoom);
    m_wave->axisRect()->setRangeZoom(Qt::Horizontal);
    m_wave->setMinimumHeight(110);
    m_selectionRect = new QCPItemRect(m_wave);
    m_selectionRect->setPen(Qt::NoPen);
    m_selectionRect->setBrush(QColor(74, 143, 231, 60));
    m_selectionRect->setVisible(false);
    m_playheadWave = new QCPItemStraightLine(m_wave);
    m_playheadWave->setPen(QPen(QColor(0xd9, 0x3b, 0x3b), 1.5));
    m_playheadWave->setVisible(false);

    m_spec = new QCustomPlot;
    m_spec->setAccessibleName(tr("Spectrogram"));
    m_spec->setToolTip(tr("The 128-bin log-mel filterbank the model sees (before normalisation)"));
    m_map = new QCPColorMap(m_spec->xAxis, m_spec->yAxis);
    m_map->setGradient(QCPColorGradient::gpThermal);
    m_map->setInterpolate(false);
    m_spec->yAxis->setLabel(tr("mel bin"));
    m_spec->setInteractions(QCP::iRangeZoom);
    m_spec->axisRect()->setRangeZoom(Qt::Horizontal);
    m_spec->setMinimumHeight(110);
    m_playheadSpec = new QCPItemStraightLine(m_spec);
    m_playheadSpec->setPen(QPen(Qt::white, 1.5));
    m_playheadSpec->setVisible(false);
    // The two time axes move together.
    connect(m_wave->xAxis, qOverload<const QCPRange &>(&QCPAxis::rangeChanged), this,
        [this](const QCPRange &r) {
            if (m_spec->xAxis->range() != r) {
                m_spec->xAxis->setRange(r);
                m_spec->replot(QCustomPlot::rpQueuedReplot);
            }
        });
    connect(m_spec->xAxis, qOverload<const QCPRange &>(&QCPAxis::rangeChanged), this,
        [this](const QCPRange &r) {
            if (m_wave->xAxis->range() != r) {
                m_wave->xAxis->setRange(r);
                m_wave->replot(QCustomPlot::rpQueuedReplot);
            }
        });
    // Drag on the waveform selects a range.
    connect(m_wave, &QCustomPlot::mousePress, this, [this](QMouseEvent *e) {
        if (e->button() == Qt::LeftButton && m_clip) {
            m_dragStart =
                std::clamp(m_wave->xAxis->pixelToCoord(e->position().x()), 0.0, duration());
        }
    });
    connect(m_wave, &QCustomPlot::mouseMove, this, [this](QMouseEvent *e) {
        if (m_dragStart < 0 || !(e->buttons() & Qt::LeftButton))
            return;
        const double x =
            std::clamp(m_wave->xAxis->pixelToCoord(e->position().x()), 0.0, duration());
        setSelection(std::min(m_dragStart, x), std::max(m_dragStart, x));
    });
    connect(m_wave, &QCustomPlot::mouseRelease, this, [this] { m_dragStart = -1.0; });

    m_start = new QDoubleSpinBox;
    m_end = new QDoubleSpinBox;
    for (QDoubleSpinBox *box : { m_start, m_end }) {
        box->setDecimals(3);
        box->setSuffix(tr(" s"));
        box->setSingleStep(0.05);
        connect(box, &QDoubleSpinBox::valueChanged, this, &SampleBrowser::updateSelectionItems);
    }
    m_start->setAccessibleName(tr("Selection start"));
    m_start->setToolTip(tr("Start of the selection (what plays, and what a trim keeps)"));
    m_end->setAccessibleName(tr("Selection end"));
    m_end->setToolTip(tr("End of the selection"));
    m_speed = new QComboBox;
    for (double s : { 0.25, 0.5, 0.75, 1.0, 1.5, 2.0 })
        m_speed->addItem(QStringLiteral("%1x").arg(s), s);
    m_speed->setCurrentIndex(3);
    m_speed->setAccessibleName(tr("Playback speed"));
    m_speed->setToolTip(tr("Slower or faster playback (the pitch changes with the speed)"));
    m_play = new QPushButton(tr("Play"));
    m_play->setAccessibleName(tr("Play or stop"));
    m_play->setToolTip(tr("Play the selection (Space)"));
    m_apply = new QPushButton(tr("Trim to selection"));
    m_apply->setAccessibleName(tr("Trim to selection"));
    m_apply->setToolTip(tr("Train on the selection only; the file is not changed (undoable)"));
    m_reset = new QPushButton(tr("Untrim"));
    m_reset->setAccessibleName(tr("Untrim"));
    m_reset->setToolTip(tr("Use the whole file again (undoable)"));
    m_message = new QLabel;
    m_message->setAccessibleName(tr("Clip"));
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto *controls = new QHBoxLayout;
    controls->addWidget(m_play);
    controls->addWidget(m_speed);
    controls->addSpacing(12);
    controls->addWidget(new QLabel(tr("Selection")));
    controls->addWidget(m_start);
    controls->addWidget(new QLabel(QStringLiteral("-")));
    controls->addWidget(m_end);
    controls->addWidget(m_apply);
    controls->addWidget(m_reset);
    controls->addStretch();
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_message);
    layout->addWidget(m_wave, 1);
    layout->addWidget(m_spec, 1);
    layout->addLayout(controls);

    m_playTimer = new QTimer(this);
    m_playTimer->setInterval(30);
    connect(m_playTimer, &QTimer::timeout, this, &SampleBrowser::updatePlayhead);
    connect(m_play, &QPushButton::clicked, this, [this] { isPlaying() ? stop() : play(); });
    connect(m_apply, &QPushButton::clicked, this, &SampleBrowser::applyTrim);
    connect(m_reset, &QPushButton::clicked, this, &SampleBrowser::resetTrim);
    auto *space = new QShortcut(QKeySequence(Qt::Key_Space), this);
    space->setContext(Qt::WidgetWithChildrenShortcut);
    connect(space, &QShortcut::activated, m_play, &QPushButton::click);
    connect(m_project, &ProjectModel::clipsChanged, this, [this] {
        if (m_clip && !m_project->clip(m_clip)) {
            showClip(0);
        } else if (m_clip) {
            updateSelectionItems();
        }
    });
    showClip(0);
    stylePlot(m_wave, palette());
    stylePlot(m_spec, palette());
}

void SampleBrowser::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::PaletteChange) {
        stylePlot(m_wave, palette());
        stylePlot(m_spec, palette());
    }
    QWidget::changeEvent(event);
}

SampleBrowser::~SampleBrowser()
{
    stop();
}

double SampleBrowser::duration() const
{
    return double(m_samples.size()) / kRate;
}

double SampleBrowser::selectionStart() const
{
    return m_start->value();
}

double SampleBrowser::selectionEnd() const
{
    return m_end->value();
}

int SampleBrowser::waveformPoints() const
{
    return m_wave->graph(0)->dataCount();
}

int SampleBrowser::spectrogramFrames() const
{
    return m_frames;
}

int SampleBrowser::spectrogramBins() const
{
    return m_bins;
}

QString SampleBrowser::message() const
{
    return m_message->text();
}

bool SampleBrowser::isPlaying() const
{
    return m_player && m_player->playing();
}

double SampleBrowser::playheadSeconds() const
{
    return m_playheadWave->point1->coords().x();
}

void SampleBrowser::showClip(quint64 id)
{
    stop();
    m_clip = 0;
    m_samples.clear();
    m_frames = m_bins = 0;
    m_wave->graph(0)->data()->clear();
    m_map->data()->clear();
    const core::ProjectClip *clip = id ? m_project->clip(id) : nullptr;
    const bool ok = clip != nullptr;
    if (clip) {
        const auto path = core::clipPath(m_project->project(), *clip);
        try {
            m_samples = core::decodeAudio(path, { .targetRate = kRate }).samples;
            m_clip = id;
            m_message->setText(
                tr("%1 (%2, %3, %4 Hz)")
                    .arg(QString::fromStdString(path.filename().string()),
                        QString::fromStdString(clip->label), formatClipDuration(clip->seconds))
                    .arg(clip->sampleRate));
        } catch (const std::exception &e) {
            m_message->setText(QString::fromStdString(e.what()));
        }
    } else {
        m_message->setText(tr("Select a clip to see, play and trim it."));
    }
    if (m_clip) {
        const int n = int(m_samples.size());
        QVector<double> x(n), y(n);
        for (int i = 0; i < n; ++i) {
            x[i] = double(i) / kRate;
            y[i] = m_samples[std::size_t(i)];
        }
        m_wave->graph(0)->setData(x, y, true);
        const core::FeatureMatrix fbank = core::computeFbank(m_samples);
        m_frames = int(fbank.frames);
        m_bins = fbank.bins;
        // Frame f covers [f * 10 ms, f * 10 ms + 25 ms): centre at f * 0.01 + 0.0125 s.
        m_map->data()->setSize(m_frames, m_bins);
        m_map->data()->setRange(QCPRange(0.0125, 0.0125 + 0.01 * std::max(0, m_frames - 1)),
            QCPRange(0, std::max(0, m_bins - 1)));
        for (int f = 0; f < m_frames; ++f) {
            for (int b = 0; b < m_bins; ++b)
                m_map->data()->setCell(f, b, fbank.at(f, b));
        }
        m_map->rescaleDataRange(true);
        m_spec->yAxis->setRange(0, std::max(1, m_bins - 1));
    }
    const double d = std::max(duration(), 0.001);
    for (QDoubleSpinBox *box : { m_start, m_end }) {
        const QSignalBlocker block(box);
        box->setRange(0, d);
    }
    {
        const QSignalBlocker b1(m_start), b2(m_end);
        m_start->setValue(clip && ok ? clip->trimStart : 0);
        m_end->setValue(clip && ok && clip->trimEnd > 0 ? clip->trimEnd : d);
    }
    m_wave->xAxis->setRange(0, d);
    for (QWidget *w :
        std::initializer_list<QWidget *> { m_play, m_apply, m_reset, m_start, m_end, m_speed })
        w->setEnabled(m_clip != 0);
    updateSelectionItems();
    m_wave->replot();
    m_spec->replot();
}

void SampleBrowser::setSelection(double start, double end)
{
    if (end <= 0)
        end = duration();
    m_start->setValue(std::clamp(start, 0.0, duration()));
    m_end->setValue(std::clamp(end, 0.0, duration()));
}

void SampleBrowser::updateSelectionItems()
{
    const double a = m_start->value(), b = m_end->value();
    const bool partial = m_clip && b > a && (a > 0.0005 || b < duration() - 0.0005);
    m_selectionRect->setVisible(partial);
    m_selectionRect->topLeft->setCoords(a, 1.0);
    m_selectionRect->bottomRight->setCoords(b, -1.0);
    const core::ProjectClip *clip = m_clip ? m_project->clip(m_clip) : nullptr;
    m_apply->setEnabled(partial);
    m_reset->setEnabled(clip && (clip->trimStart > 0 || clip->trimEnd > 0));
    m_wave->replot(QCustomPlot::rpQueuedReplot);
}

void SampleBrowser::applyTrim()
{
    const double a = m_start->value(), b = m_end->value();
    if (!m_clip || b <= a)
        return;
    m_project->trim(m_clip, a, b >= duration() - 0.0005 ? 0.0 : b);
    updateSelectionItems();
}

void SampleBrowser::resetTrim()
{
    if (!m_clip)
        return;
    m_project->trim(m_clip, 0.0, 0.0);
    setSelection(0, 0);
}

void SampleBrowser::play()
{
    if (!m_clip || m_samples.empty())
        return;
    stop();
    const double a = m_start->value(), b = m_end->value() > a ? m_end->value() : duration();
    const auto first = std::size_t(a * kRate);
    const auto last = std::min(m_samples.size(), std::size_t(b * kRate));
    if (last <= first)
        return;
    try {
        if (!m_player) {
            m_player = std::make_unique<core::AudioPlayer>(core::PlaybackOptions {
                .device = QSettings().value("audio/output").toString().toStdString() });
        }
        m_playOffset = a;
        m_player->play(std::vector<float>(m_samples.begin() + std::ptrdiff_t(first),
                           m_samples.begin() + std::ptrdiff_t(last)),
            kRate, m_speed->currentData().toDouble());
    } catch (const std::exception &e) {
        m_player.reset();
        const QString message = tr("Cannot play: %1").arg(QString::fromStdString(e.what()));
        m_message->setText(message);
        Q_EMIT playbackFailed(message);
        return;
    }
    m_play->setText(tr("Stop"));
    m_playheadWave->setVisible(true);
    m_playheadSpec->setVisible(true);
    m_playTimer->start();
    updatePlayhead();
}

void SampleBrowser::stop()
{
    if (m_player)
        m_player->stop();
    if (m_playTimer)
        m_playTimer->stop();
    if (m_play)
        m_play->setText(tr("Play"));
}

void SampleBrowser::updatePlayhead()
{
    const double t = m_playOffset + (m_player ? m_player->positionSeconds() : 0.0);
    m_playheadWave->point1->setCoords(t, -1);
    m_playheadWave->point2->setCoords(t, 1);
    m_playheadSpec->point1->setCoords(t, 0);
    m_playheadSpec->point2->setCoords(t, 1);
    m_wave->replot(QCustomPlot::rpQueuedReplot);
    m_spec->replot(QCustomPlot::rpQueuedReplot);
    if (!isPlaying()) {
        m_playTimer->stop();
        m_play->setText(tr("Play"));
    }
}

} // namespace astpeft::ui
