// SPDX-License-Identifier: MIT
#include "training_view.h"

#include "format.h"

#include "io/atomic_file.h"
#include "plots/class_bars_plot.h"
#include "plots/confusion_plot.h"
#include "plots/curves_plot.h"
#include "plots/training_plots.h"
#include "train/run_log.h"
#include "workers/training_worker.h"

#include <QAction>
#include <QCheckBox>
#include <QDateTime>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QKeySequence>
#include <QLabel>
#include <QListWidget>
#include <QLocale>
#include <QMenu>
#include <QProgressBar>
#include <QSettings>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>
#include <limits>
#include <map>

namespace astpeft::ui {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The wall-clock time `seconds` from now: "14:32", with the date when it is not today.
QString clockIn(double seconds)
{
    const QDateTime now = QDateTime::currentDateTime();
    const QDateTime then = now.addSecs(qint64(std::llround(std::max(0.0, seconds))));
    const QLocale locale;
    return then.date() == now.date() ? locale.toString(then.time(), QLocale::ShortFormat)
                                     : locale.toString(then, QLocale::ShortFormat);
}

QString csvNumber(double v)
{
    return std::isfinite(v) ? QString::number(v, 'g', 10) : QString();
}

QString csvField(const QString &text)
{
    if (!text.contains(',') && !text.contains('"') && !text.contains('\n'))
        return text;
    return '"' + QString(text).replace('"', "\"\"") + '"';
}

QToolButton *actionButton(QAction *action, const QString &accessibleName)
{
    auto *button = new QToolButton;
    button->setDefaultAction(action);
    button->setToolButtonStyle(Qt::ToolButtonTextOnly);
    button->setAccessibleName(accessibleName);
    return button;
}

QLabel *infoLabel(const QString &objectName, const QString &accessibleName)
{
    auto *label = new QLabel;
    label->setObjectName(objectName);
    label->setAccessibleName(accessibleName);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    return label;
}

} // namespace

TrainingView::TrainingView(QWidget *parent)
    : QWidget(parent)
    , m_plots(new TrainingPlots)
    , m_progress(new QProgressBar)
    , m_phase(infoLabel("phase", tr("Training phase")))
    , m_speed(infoLabel("speed", tr("Training speed")))
    , m_eta(infoLabel("eta", tr("Estimated time left")))
    , m_message(infoLabel("message", tr("Training message")))
    , m_cellTitle(infoLabel("cellTitle", tr("Selected confusion cell")))
    , m_smoothing(new QDoubleSpinBox)
    , m_normalise(new QCheckBox(tr("&Normalise rows")))
    , m_clips(new QListWidget)
    , m_pause(new QAction(tr("&Pause"), this))
    , m_stopAfterEpoch(new QAction(tr("Stop after this &epoch"), this))
    , m_cancel(new QAction(tr("&Cancel"), this))
{
    connect(&m_followTimer, &QTimer::timeout, this, &TrainingView::readShownRun);

    // --- Run controls ---------------------------------------------------------------------------
    m_pause->setShortcut(QKeySequence(tr("Ctrl+Shift+P")));
    connect(m_pause, &QAction::triggered, this, [this] { m_paused ? resume() : pause(); });
    m_stopAfterEpoch->setShortcut(QKeySequence(tr("Ctrl+Shift+E")));
    m_stopAfterEpoch->setToolTip(tr("Finish the current epoch (validation and checkpoint "
                                    "included), then stop (Ctrl+Shift+E)"));
    connect(m_stopAfterEpoch, &QAction::triggered, this, &TrainingView::stopAfterEpoch);
    m_cancel->setShortcut(QKeySequence(tr("Ctrl+Shift+X")));
    m_cancel->setToolTip(tr("Stop within one training step (Ctrl+Shift+X); the last finished "
                            "epoch stays in checkpoints/last, so the run can be resumed"));
    connect(m_cancel, &QAction::triggered, this, &TrainingView::cancel);
    for (QAction *a : { m_pause, m_stopAfterEpoch, m_cancel }) {
        a->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        addAction(a);
    }

    m_progress->setAccessibleName(tr("Training progress"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setTextVisible(true);
    m_message->setWordWrap(true);
    m_phase->setText(tr("No run yet: start one from the Train button or open a run folder."));

    auto *controls = new QHBoxLayout;
    controls->addWidget(actionButton(m_pause, tr("Pause or resume training")));
    controls->addWidget(actionButton(m_stopAfterEpoch, tr("Stop after this epoch")));
    controls->addWidget(actionButton(m_cancel, tr("Cancel training")));
    controls->addWidget(m_progress, 1);
    auto *status = new QHBoxLayout;
    status->addWidget(m_phase, 1);
    status->addWidget(m_speed);
    status->addSpacing(12);
    status->addWidget(m_eta);

    // --- Plot tools -----------------------------------------------------------------------------
    auto *smoothingLabel = new QLabel(tr("&Smoothing:"));
    smoothingLabel->setBuddy(m_smoothing);
    m_smoothing->setRange(0.0, 0.999);
    m_smoothing->setSingleStep(0.05);
    m_smoothing->setDecimals(3);
    m_smoothing->setValue(0.6);
    m_smoothing->setAccessibleName(tr("Loss smoothing"));
    m_smoothing->setToolTip(tr("Weight of the exponential moving average of the training loss "
                               "(bias-corrected, as TensorBoard); 0 shows the raw loss"));
    connect(m_smoothing, &QDoubleSpinBox::valueChanged, this, &TrainingView::setSmoothing);

    auto *resetView = new QToolButton;
    resetView->setText(tr("&Reset view"));
    resetView->setAccessibleName(tr("Reset the curves' view"));
    resetView->setToolTip(tr("Fit the curves to the data and follow new data again"));
    connect(resetView, &QToolButton::clicked, m_plots->curves(), &CurvesPlot::resetView);

    auto *exportButton = new QToolButton;
    exportButton->setText(tr("E&xport plot"));
    exportButton->setAccessibleName(tr("Export a plot"));
    exportButton->setToolTip(tr("Save a plot as PNG, PDF or SVG (also on each plot's "
                                "right-click menu)"));
    exportButton->setPopupMode(QToolButton::InstantPopup);
    auto *exportMenu = new QMenu(exportButton);
    const std::pair<PlotWidget *, QString> plots[] = {
        { m_plots->curves(), tr("Curves") },
        { m_plots->classBars(), tr("Per-class accuracy") },
        { m_plots->confusion(), tr("Confusion matrix") },
    };
    for (const auto &[plot, name] : plots) {
        QMenu *sub = exportMenu->addMenu(name);
        for (const QString suffix : { "png", "pdf", "svg" }) {
            sub->addAction(tr("As %1...").arg(suffix.toUpper()), plot,
                [plot = plot, suffix] { plot->exportInteractively(suffix); });
        }
        connect(plot, &PlotWidget::exported, this,
            [this](const QString &file) { setMessage(tr("Saved %1").arg(file), false); });
        connect(plot, &PlotWidget::exportFailed, this,
            [this](const QString &error) { setMessage(error, true); });
    }
    exportButton->setMenu(exportMenu);

    auto *csvButton = new QToolButton;
    csvButton->setText(tr("Export &metrics (CSV)..."));
    csvButton->setAccessibleName(tr("Export the metrics as CSV"));
    csvButton->setToolTip(tr("Per-epoch losses, accuracies, balanced accuracy, macro-F1 and "
                             "per-class accuracy as a CSV file"));
    connect(csvButton, &QToolButton::clicked, this, [this] { chooseMetricsExport(); });

    auto *tools = new QHBoxLayout;
    tools->addWidget(smoothingLabel);
    tools->addWidget(m_smoothing);
    tools->addWidget(resetView);
    tools->addStretch(1);
    tools->addWidget(exportButton);
    tools->addWidget(csvButton);

    // --- Confusion click-through ----------------------------------------------------------------
    m_normalise->setAccessibleName(tr("Normalise the confusion matrix rows"));
    m_normalise->setToolTip(tr("Show each true class's row as fractions (the diagonal is the "
                               "class's accuracy) instead of clip counts"));
    connect(m_normalise, &QCheckBox::toggled, this, &TrainingView::setNormalised);
    m_cellTitle->setWordWrap(true);
    m_cellTitle->setText(tr("Click a cell of the confusion matrix (or move to it with the arrow "
                            "keys and press Enter) to list its clips."));
    m_clips->setAccessibleName(tr("Clips of the selected confusion cell"));
    m_clips->setToolTip(tr("Double-click or press Enter to play a clip"));
    connect(m_clips, &QListWidget::itemActivated, this, [this](QListWidgetItem *item) {
        Q_EMIT clipActivated(item->data(Qt::UserRole).toString());
    });
    connect(m_plots->confusion(), &ConfusionPlot::cellClicked, this, &TrainingView::showCellClips);
    auto *cellPanel = new QWidget;
    auto *cellLayout = new QVBoxLayout(cellPanel);
    cellLayout->setContentsMargins(0, 0, 0, 0);
    cellLayout->addWidget(m_normalise);
    cellLayout->addWidget(m_cellTitle);
    cellLayout->addWidget(m_clips, 1);
    m_plots->addBesideConfusion(cellPanel);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addLayout(status);
    layout->addWidget(m_message);
    layout->addLayout(tools);
    layout->addWidget(m_plots, 1);

    // --- Worker ---------------------------------------------------------------------------------
    connect(this, &TrainingView::runRequested, m_worker.get(), &TrainingWorker::run);
    connect(m_worker.get(), &TrainingWorker::imported, this, &TrainingView::onImported);
    connect(m_worker.get(), &TrainingWorker::progress, this, &TrainingView::onProgress);
    connect(m_worker.get(), &TrainingWorker::step, this, &TrainingView::onStep);
    connect(m_worker.get(), &TrainingWorker::epoch, this, &TrainingView::onEpoch);
    connect(m_worker.get(), &TrainingWorker::finished, this, &TrainingView::onFinished);
    connect(m_worker.get(), &TrainingWorker::failed, this, &TrainingView::onFailed);
    connect(this, &TrainingView::comparisonRequested, m_worker.get(), &TrainingWorker::compare);
    connect(m_worker.get(), &TrainingWorker::runStarted, this, &TrainingView::onRunStarted);
    connect(m_worker.get(), &TrainingWorker::comparisonFinished, this,
        &TrainingView::onComparisonFinished);
    m_worker.start();
    updateActions();
}

TrainingView::~TrainingView()
{
    if (m_controls)
        m_controls->stop.request_stop(); // also ends a pause: waitWhilePaused watches the token
}

bool TrainingView::isHeld() const
{
    return m_controls && m_controls->control.holding();
}

bool TrainingView::begin()
{
    if (m_running) {
        setMessage(tr("A run is in progress: cancel it or wait for it to finish first."), true);
        return false;
    }
    stopShowingRun();
    reset();
    m_controls = std::make_shared<TrainingControls>();
    m_worker->setControls(m_controls);
    m_running = true;
    m_paused = false;
    m_stopRequested = false;
    return true;
}

void TrainingView::start(const core::TrainOptions &options)
{
    if (!begin())
        return;
    m_plannedEpochs = options.epochs;
    m_phase->setText(tr("Starting: importing %1").arg(qs(options.data)));
    updateActions();
    Q_EMIT runRequested(options);
    Q_EMIT started();
}

void TrainingView::startComparison(const std::vector<core::TrainOptions> &runs, const QString &out)
{
    if (runs.empty() || !begin())
        return;
    m_comparing = true;
    m_plannedEpochs = runs.front().epochs;
    m_phase->setText(tr("Comparing %n method(s): importing %1", nullptr, int(runs.size()))
                         .arg(qs(runs.front().data)));
    updateActions();
    Q_EMIT comparisonRequested(runs, out);
    Q_EMIT started();
}

void TrainingView::onRunStarted(const core::TrainOptions &options)
{
    reset();
    m_plannedEpochs = options.epochs;
    m_phase->setText(tr("Training %1").arg(qs(core::methodName(options.peft.method))));
    Q_EMIT runStarted(options);
}

void TrainingView::onComparisonFinished(const QString &out, const QString &error)
{
    m_running = false;
    m_paused = false;
    m_comparing = false;
    updateActions();
    m_phase->setText(tr("Comparison finished"));
    setMessage(
        error.isEmpty() ? tr("The comparison table is in %1").arg(out + "/comparison.md") : error,
        !error.isEmpty());
    Q_EMIT comparisonFinished(out, error);
}

void TrainingView::reset()
{
    m_plots->clear();
    m_plots->classBars()->setTitle(tr("Per-class accuracy"));
    m_plots->confusion()->setTitle(tr("Confusion matrix"));
    m_epochs.clear();
    m_clips->clear();
    m_cellTruth = m_cellPredicted = -1;
    m_cellTitle->setText(tr("Click a cell of the confusion matrix (or move to it with the arrow "
                            "keys and press Enter) to list its clips."));
    m_lastStep = 0;
    m_lastStepEpoch = 0;
    m_stepsPerEpoch = 0;
    m_plannedEpochs = 0;
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat("%p%");
    m_speed->clear();
    m_eta->clear();
    setMessage({}, false);
}

void TrainingView::pause()
{
    if (!m_running || m_paused || m_controls->stop.stop_requested())
        return;
    m_controls->control.pause();
    m_paused = true;
    m_phase->setText(tr("Paused (training holds before its next batch)"));
    m_eta->clear();
    updateActions();
}

void TrainingView::resume()
{
    if (!m_running || !m_paused)
        return;
    m_controls->control.resume();
    m_paused = false;
    m_phase->setText(tr("Resuming"));
    updateActions();
}

void TrainingView::stopAfterEpoch()
{
    if (!m_running || m_stopRequested || m_controls->stop.stop_requested())
        return;
    m_controls->control.stopAfterEpoch();
    m_stopRequested = true;
    setMessage(tr("Stopping after this epoch."), false);
    updateActions();
}

void TrainingView::cancel()
{
    if (!m_running || m_controls->stop.stop_requested())
        return;
    m_controls->stop.request_stop();
    m_paused = false;
    m_phase->setText(tr("Cancelling"));
    updateActions();
}

void TrainingView::updateActions()
{
    const bool live = m_running && !(m_controls && m_controls->stop.stop_requested());
    m_pause->setEnabled(live);
    m_pause->setText(m_paused ? tr("&Resume") : tr("&Pause"));
    m_pause->setToolTip(m_paused ? tr("Continue training (Ctrl+Shift+P)")
                                 : tr("Hold training before its next batch (Ctrl+Shift+P)"));
    m_stopAfterEpoch->setEnabled(live && !m_stopRequested);
    m_cancel->setEnabled(live);
}

void TrainingView::setMessage(const QString &text, bool error)
{
    m_message->setText(text);
    m_message->setStyleSheet(error ? QStringLiteral("color: #b00020;") : QString());
    m_message->setVisible(!text.isEmpty());
}

QString TrainingView::phaseText() const
{
    return m_phase->text();
}
QString TrainingView::speedText() const
{
    return m_speed->text();
}
QString TrainingView::etaText() const
{
    return m_eta->text();
}
QString TrainingView::message() const
{
    return m_message->text();
}
int TrainingView::progressValue() const
{
    return m_progress->value();
}
int TrainingView::progressMaximum() const
{
    return m_progress->maximum();
}

QStringList TrainingView::listedClips() const
{
    QStringList files;
    for (int i = 0; i < m_clips->count(); ++i)
        files << m_clips->item(i)->data(Qt::UserRole).toString();
    return files;
}

// --- Events from the worker ---------------------------------------------------------------------

void TrainingView::onImported(const core::ImportEvent &e)
{
    const QStringList labels = qsList(e.labels);
    m_plots->classBars()->setAccuracies(labels, QVector<double>(labels.size(), 0.0));
    m_plots->confusion()->setMatrix(labels, {});
    setMessage(tr("%1: %2 trainable parameters; %3 clips in %4 classes, %5 skipped; device %6.")
                   .arg(QString::fromStdString(core::methodName(e.peft.method)))
                   .arg(QLocale().toString(qint64(e.parameters.total())))
                   .arg(e.summary.clips)
                   .arg(labels.size())
                   .arg(e.skipped.size())
                   .arg(QString::fromStdString(e.device)),
        false);
}

void TrainingView::onProgress(const core::ProgressEvent &e)
{
    Q_EMIT progressReported(e);
    if (m_paused)
        return;
    if (e.phase == core::ProgressPhase::Features) {
        m_phase->setText(tr("Extracting features: %1 of %2 clips").arg(e.done).arg(e.total));
        m_progress->setRange(0, int(std::max<std::int64_t>(e.total, 1)));
        m_progress->setValue(int(e.done));
        m_progress->setFormat(tr("%v / %m clips"));
    } else if (e.phase == core::ProgressPhase::EncoderCache) {
        m_phase->setText(tr("Caching the frozen encoder's outputs (%1 clips)").arg(e.total));
    } else if (e.phase == core::ProgressPhase::Evaluating) {
        // Validation follows an epoch's steps, before its epoch event; the test pass comes
        // after the last epoch event.
        const bool validation = m_epochs.empty() || m_epochs.back().epoch < m_lastStepEpoch;
        m_phase->setText(validation
                ? tr("Evaluating %1 validation clips").arg(e.total)
                : tr("Evaluating the best adapter on %1 test clips").arg(e.total));
    }
}

void TrainingView::onStep(const core::StepEvent &e)
{
    m_lastStep = e.step;
    m_lastStepEpoch = e.epoch;
    if (m_plannedEpochs > 0)
        m_stepsPerEpoch = e.totalSteps / m_plannedEpochs;
    m_plots->curves()->addStep(double(e.step), e.loss);
    m_progress->setRange(0, int(e.totalSteps));
    m_progress->setValue(int(e.step));
    m_progress->setFormat(tr("%v / %m steps"));
    if (!m_paused && !(m_controls && m_controls->stop.stop_requested())) {
        m_phase->setText(tr("Training: epoch %1 of %2, step %3 of %4")
                             .arg(e.epoch)
                             .arg(m_plannedEpochs)
                             .arg(e.step)
                             .arg(e.totalSteps));
    }
    m_speed->setText(tr("%1 samples/s").arg(e.samplesPerSecond, 0, 'f', 1));
    if (!m_paused) {
        m_eta->setText(
            tr("ETA %1 (at %2)").arg(formatDuration(e.etaSeconds), clockIn(e.etaSeconds)));
    }
    Q_EMIT stepReported(e);
}

void TrainingView::showEpoch(const core::EpochEvent &e)
{
    double x = double(m_lastStep);
    if (x == 0 && m_stepsPerEpoch > 0)
        x = double(e.epoch * m_stepsPerEpoch);
    m_plots->curves()->addEpoch(x, e.trainAccuracy, e.hasValidation ? e.valLoss : kNaN,
        e.hasValidation ? e.validation.accuracy : kNaN);
    if (e.hasValidation) {
        const QStringList labels = qsList(e.labels);
        QVector<double> accuracy;
        for (const core::ClassMetrics &c : e.validation.perClass)
            accuracy.append(c.recall);
        m_plots->classBars()->setAccuracies(labels, accuracy);
        m_plots->classBars()->setTitle(
            tr("Per-class accuracy (validation, epoch %1)").arg(e.epoch));
        m_plots->confusion()->setMatrix(labels, e.validation.confusion);
        m_plots->confusion()->setTitle(tr("Confusion matrix (validation, epoch %1)").arg(e.epoch));
    }
    if (!m_epochs.empty())
        m_epochs.back().predictions.clear(); // only the last epoch's clips are listed
    m_epochs.push_back(e);
    if (m_cellTruth >= 0)
        showCellClips(m_cellTruth, m_cellPredicted);
}

void TrainingView::onEpoch(const core::EpochEvent &e)
{
    showEpoch(e);
    if (m_running && !m_paused && e.epoch < e.epochs) {
        m_eta->setText(
            tr("ETA %1 (at %2)").arg(formatDuration(e.etaSeconds), clockIn(e.etaSeconds)));
    }
    Q_EMIT epochReported(e);
}

void TrainingView::onFinished(const core::FinishedEvent &e)
{
    m_running = m_comparing; // a comparison goes on with its next run
    m_paused = false;
    updateActions();
    if (e.reason == core::FinishReason::Completed)
        m_progress->setValue(m_progress->maximum());
    m_phase->setText(tr("Finished: %1").arg(QString::fromStdString(core::enumName(e.reason))));
    m_eta->clear();
    QString text = tr("%1 after %2 epochs in %3.")
                       .arg(QString::fromStdString(core::enumName(e.reason)))
                       .arg(e.epochsCompleted)
                       .arg(formatDuration(e.seconds));
    if (e.bestEpoch > 0) {
        text += ' '
            + tr("Best validation accuracy %1 (epoch %2).")
                  .arg(formatPercent(e.bestValAccuracy))
                  .arg(e.bestEpoch);
    }
    if (e.hasTest)
        text += ' ' + tr("Test accuracy %1.").arg(formatPercent(e.test.accuracy));
    text += ' ' + tr("Run folder: %1").arg(QString::fromStdString(e.runDir.string()));
    setMessage(text, false);
    Q_EMIT finished(e);
}

void TrainingView::onFailed(const QString &message)
{
    m_running = m_comparing;
    m_paused = false;
    updateActions();
    m_phase->setText(tr("Failed"));
    m_eta->clear();
    setMessage(message, true);
    Q_EMIT failed(message);
}

// --- Showing a finished run ---------------------------------------------------------------------

void TrainingView::showRun(const QString &runDir)
{
    if (m_running) {
        setMessage(tr("A run is in progress: cancel it or wait for it to finish first."), true);
        return;
    }
    reset();
    m_shown = std::make_unique<core::RunLogReader>(runDir.toStdString());
    m_shownSteps = m_shownEpochs = 0;
    m_shownLastStep.clear();
    m_cellTitle->setText(tr("Clip lists are available while a run trains (the run folder does "
                            "not record per-clip predictions)."));
    readShownRun();
}

QString TrainingView::shownRun() const
{
    return m_shown ? qs(m_shown->log().dir) : QString();
}

void TrainingView::stopShowingRun()
{
    m_shown.reset();
    m_followTimer.stop();
}

void TrainingView::readShownRun()
{
    if (!m_shown || m_running)
        return;
    constexpr std::uintmax_t kSliceBytes = 256 * 1024; // under 25 ms on a busy 2-core box
    if (m_shown->update(kSliceBytes) == core::RunLogReader::Update::Reread
        && (m_shownSteps > 0 || m_shownEpochs > 0)) {
        // Cut back (the run was resumed): plot it again from the start.
        const QString title = m_cellTitle->text();
        reset();
        m_cellTitle->setText(title);
        m_shownSteps = m_shownEpochs = 0;
        m_shownLastStep.clear();
    }
    const core::RunLog &h = m_shown->log();
    const QString runDir = qs(h.dir);
    m_plannedEpochs = h.plannedEpochs;
    for (; m_shownSteps < h.steps.size(); ++m_shownSteps) {
        const core::StepEvent &s = h.steps[m_shownSteps];
        m_plots->curves()->addStep(double(s.step), s.loss);
        m_shownLastStep[s.epoch] = s.step;
        m_lastStep = s.step;
        m_progress->setRange(0, int(s.totalSteps));
        m_progress->setValue(int(s.step));
        m_progress->setFormat(tr("%v / %m steps"));
    }
    for (; m_shownEpochs < h.epochs.size(); ++m_shownEpochs) {
        const core::EpochEvent &e = h.epochs[m_shownEpochs];
        const auto it = m_shownLastStep.find(e.epoch);
        m_lastStep = it == m_shownLastStep.end() ? 0 : it->second;
        showEpoch(e);
    }
    const bool following = !h.finished && h.failure.empty();
    if (!m_shown->atEnd()) {
        m_phase->setText(tr("Run folder %1: reading...").arg(runDir));
    } else if (following && h.error.empty()) {
        const int epoch = h.steps.empty() ? int(h.epochs.size()) + 1 : h.steps.back().epoch;
        m_phase->setText(h.plannedEpochs > 0
                ? tr("Run folder %1: following its log, epoch %2 of %3")
                      .arg(runDir)
                      .arg(epoch)
                      .arg(h.plannedEpochs)
                : tr("Run folder %1: following its log").arg(runDir));
    } else {
        m_phase->setText(tr("Run folder %1: %2").arg(runDir, qs(h.status())));
    }
    if (!h.error.empty()) {
        setMessage(qs(h.error), true);
    } else if (h.finished) {
        QString text = tr("%1: %2 epochs in %3, best validation accuracy %4 (epoch %5).")
                           .arg(qs(h.method))
                           .arg(h.finished->epochsCompleted)
                           .arg(formatDuration(h.seconds()))
                           .arg(formatPercent(h.bestValAccuracy()))
                           .arg(h.finished->bestEpoch);
        if (h.finished->hasTest)
            text += ' ' + tr("Test accuracy %1.").arg(formatPercent(h.finished->test.accuracy));
        setMessage(text, false);
    } else if (!h.failure.empty()) {
        setMessage(qs(h.failure), true);
    } else {
        setMessage({}, false);
    }
    if (!m_shown->atEnd()) {
        m_followTimer.start(0);
    } else if (following) {
        m_followTimer.start(kFollowMs);
    } else {
        m_followTimer.stop();
    }
}

// --- Click-through, smoothing, normalisation ----------------------------------------------------

void TrainingView::showCellClips(int truth, int predicted)
{
    m_cellTruth = truth;
    m_cellPredicted = predicted;
    m_clips->clear();
    if (m_epochs.empty())
        return;
    const core::EpochEvent &e = m_epochs.back();
    const QStringList labels = qsList(e.labels);
    const QString t = truth < labels.size() ? labels[truth] : QString::number(truth);
    const QString p = predicted < labels.size() ? labels[predicted] : QString::number(predicted);
    std::vector<const core::ClipPrediction *> matches;
    for (const core::ClipPrediction &c : e.predictions) {
        if (c.truth == truth && c.predicted == predicted)
            matches.push_back(&c);
    }
    // Most confident first: confident mistakes are the ones worth listening to.
    std::stable_sort(matches.begin(), matches.end(),
        [](const auto *a, const auto *b) { return a->confidence > b->confidence; });
    for (const core::ClipPrediction *c : matches) {
        const QString file = QString::fromStdString(c->file.string());
        auto *item = new QListWidgetItem(
            tr("%1  (%2 confident)").arg(QFileInfo(file).fileName(), formatPercent(c->confidence)));
        item->setData(Qt::UserRole, file);
        item->setToolTip(file);
        m_clips->addItem(item);
    }
    if (e.predictions.empty()) {
        m_cellTitle->setText(tr("True %1, predicted %2: clip lists are available while a run "
                                "trains.")
                                 .arg(t, p));
    } else {
        m_cellTitle->setText(
            tr("True %1, predicted %2: %n clip(s) at epoch %3.", nullptr, int(matches.size()))
                .arg(t, p)
                .arg(e.epoch));
    }
}

void TrainingView::setNormalised(bool normalised)
{
    if (m_normalise->isChecked() != normalised) {
        m_normalise->setChecked(normalised); // comes back through toggled()
    } else {
        m_plots->confusion()->setNormalised(normalised);
    }
}

void TrainingView::setSmoothing(double weight)
{
    if (std::abs(m_smoothing->value() - weight) > 1e-9) {
        m_smoothing->setValue(weight); // comes back through valueChanged()
    } else {
        m_plots->curves()->setSmoothing(weight);
    }
}

// --- Exports ------------------------------------------------------------------------------------

QString TrainingView::metricsCsv() const
{
    QStringList labels;
    if (!m_epochs.empty())
        labels = qsList(m_epochs.back().labels);
    QStringList header { "epoch", "train_loss", "val_loss", "val_accuracy", "balanced_accuracy",
        "macro_f1" };
    for (const QString &l : labels)
        header << csvField("accuracy_" + l);
    QString out = header.join(',') + '\n';
    for (const core::EpochEvent &e : m_epochs) {
        QStringList row { QString::number(e.epoch), csvNumber(e.trainLoss) };
        const bool v = e.hasValidation;
        row << (v ? csvNumber(e.valLoss) : QString())
            << (v ? csvNumber(e.validation.accuracy) : QString())
            << (v ? csvNumber(e.validation.balancedAccuracy) : QString())
            << (v ? csvNumber(e.validation.macroF1) : QString());
        for (qsizetype c = 0; c < labels.size(); ++c) {
            row << (v && std::size_t(c) < e.validation.perClass.size()
                    ? csvNumber(e.validation.perClass[std::size_t(c)].recall)
                    : QString());
        }
        out += row.join(',') + '\n';
    }
    return out;
}

bool TrainingView::exportMetricsCsv(const QString &file)
{
    try {
        core::writeFileAtomic(file.toStdString(), metricsCsv().toStdString());
    } catch (const std::exception &e) {
        setMessage(QString::fromStdString(e.what()), true);
        return false;
    }
    setMessage(tr("Saved %1").arg(file), false);
    return true;
}

bool TrainingView::exportPlot(Plot plot, const QString &file)
{
    PlotWidget *widget = plot == Plot::Curves ? static_cast<PlotWidget *>(m_plots->curves())
        : plot == Plot::ClassAccuracy         ? static_cast<PlotWidget *>(m_plots->classBars())
                                              : static_cast<PlotWidget *>(m_plots->confusion());
    QString error;
    if (!widget->exportTo(file, &error)) {
        setMessage(error, true);
        return false;
    }
    setMessage(tr("Saved %1").arg(file), false);
    return true;
}

void TrainingView::chooseMetricsExport()
{
    QSettings settings;
    const QString folder = settings.value("plots/lastExportFolder").toString();
    QString file = QFileDialog::getSaveFileName(
        this, tr("Export metrics"), QDir(folder).filePath("metrics.csv"), tr("CSV file (*.csv)"));
    if (file.isEmpty())
        return;
    if (QFileInfo(file).suffix().isEmpty())
        file += ".csv";
    settings.setValue("plots/lastExportFolder", QFileInfo(file).absolutePath());
    exportMetricsCsv(file);
}

} // namespace astpeft::ui
