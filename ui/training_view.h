// SPDX-License-Identifier: MIT
// The Training view: runs core::train in a worker thread and shows it live (progress, phase,
// speed, ETA, loss and accuracy curves, per-class accuracy, the confusion matrix with
// click-through to the validation clips), with pause/resume, stop after this epoch and cancel,
// and exports of the plots and the per-epoch metrics. Also shows a run from its folder, read-only;
// a run still in progress there (trained by the command line, here or on a cluster over a shared
// file system) is followed: its metrics.jsonl is read on every kFollowMs and the curves grow.
// GUI thread only.
#pragma once

#include "train/trainer.h"
#include "workers/training_worker.h"
#include "workers/worker_thread.h"

#include <QString>
#include <QTimer>
#include <QWidget>

#include <map>
#include <memory>
#include <vector>

class QAction;
class QCheckBox;
class QDoubleSpinBox;
class QLabel;
class QListWidget;
class QProgressBar;

namespace astpeft::ui {

class TrainingPlots;
struct TrainingControls;

} // namespace astpeft::ui

namespace astpeft::core {
class RunLogReader;
} // namespace astpeft::core

namespace astpeft::ui {

class TrainingView : public QWidget
{
    Q_OBJECT

public:
    enum class Plot { Curves, ClassAccuracy, Confusion };
    static constexpr int kFollowMs = 1000;

    explicit TrainingView(QWidget *parent = nullptr);
    // Cancels a run in progress and waits for it (within one training step; a feature
    // extraction in progress stops between clips).
    ~TrainingView() override;

    // Starts a run in the worker thread and returns at once (started() is emitted). Refused
    // (a message, nothing else) while a run is in progress. Clears the plots.
    void start(const core::TrainOptions &options);
    // Trains `runs` one after another as one job (core::compare), writing comparison.csv and
    // comparison.md into `out`: runStarted() for each run that trains (the view then shows it),
    // finished() or failed() for each, comparisonFinished() at the end. Pause, stop after epoch
    // and cancel act on the run in hand; the last two end the comparison. Refused like start().
    void startComparison(const std::vector<core::TrainOptions> &runs, const QString &out);
    bool isRunning() const { return m_running; }
    bool isComparing() const { return m_comparing; }
    bool isPaused() const { return m_paused; }
    // Whether the trainer is held by the pause now (it takes effect before the next step).
    bool isHeld() const;

    // Reading back what the view shows (tests, the main window).
    const TrainingPlots *plots() const { return m_plots; }
    TrainingPlots *plots() { return m_plots; }
    QString phaseText() const; // "Training: epoch 2 of 3, step 7 of 9", "Paused", ...
    QString speedText() const; // "42.0 samples/s"
    QString etaText() const; // "ETA 1 min 5 s (at 14:32)"
    QString message() const; // the last error or outcome; empty when none
    int progressValue() const;
    int progressMaximum() const;
    // The clips listed for the selected confusion cell (file paths, in list order).
    QStringList listedClips() const;
    QListWidget *clipList() const { return m_clips; }
    QAction *pauseAction() const { return m_pause; } // toggles pause and resume
    QAction *stopAfterEpochAction() const { return m_stopAfterEpoch; }
    QAction *cancelAction() const { return m_cancel; }
    // The run folder shown by showRun() (empty while training or before), and whether it is
    // followed (unfinished: read on as its log grows).
    QString shownRun() const;
    bool isFollowing() const { return m_followTimer.isActive(); }
    // Every epoch shown so far (predictions only in the last one).
    const std::vector<core::EpochEvent> &epochs() const { return m_epochs; }

    // Writes a plot (.png, .pdf or .svg by suffix) or the per-epoch metrics as CSV (epoch,
    // train_loss, val_loss, val_accuracy, balanced_accuracy, macro_f1, then accuracy_<class>
    // for each class; empty cells without validation). Atomic; false with message() set on
    // failure.
    bool exportPlot(Plot plot, const QString &file);
    bool exportMetricsCsv(const QString &file);
    QString metricsCsv() const;

public Q_SLOTS:
    // Pause takes effect before the next training batch (not during feature extraction).
    void pause();
    void resume();
    // Finishes the current epoch (validation and checkpoint included), then stops.
    void stopAfterEpoch();
    // Stops within one training step; checkpoints/last keeps the last finished epoch, so the
    // run can be resumed. The worker then reports finished() with reason "cancelled".
    void cancel();
    // Shows a run folder read from its metrics.jsonl (no training); refused while running.
    // Clip lists are unavailable (predictions are not logged). An unfinished run is followed
    // until it finishes or fails, another run is shown, or a training starts.
    void showRun(const QString &runDir);
    // Lists the validation clips of the last epoch with this (true, predicted) pair.
    void showCellClips(int truth, int predicted);
    void setNormalised(bool normalised);
    void setSmoothing(double weight);

Q_SIGNALS:
    void started();
    // Feature extraction, encoder caching and evaluation progress (not logged by the trainer).
    void progressReported(const astpeft::core::ProgressEvent &event);
    void stepReported(const astpeft::core::StepEvent &event);
    void epochReported(const astpeft::core::EpochEvent &event);
    void finished(const astpeft::core::FinishedEvent &event);
    void failed(const QString &message);
    // A clip of the list was activated (double-click or Enter): play or open it.
    void clipActivated(const QString &file);
    void runStarted(const astpeft::core::TrainOptions &options); // a comparison's next run
    // The comparison ended; `error` is set when its table could not be written.
    void comparisonFinished(const QString &out, const QString &error);
    void runRequested(const astpeft::core::TrainOptions &options); // queued to the worker
    void comparisonRequested(
        const std::vector<astpeft::core::TrainOptions> &runs, const QString &out); // queued

private:
    void reset();
    void onImported(const core::ImportEvent &event);
    void onProgress(const core::ProgressEvent &event);
    void onStep(const core::StepEvent &event);
    void onEpoch(const core::EpochEvent &event);
    void showEpoch(const core::EpochEvent &event); // plots and stores it
    void onFinished(const core::FinishedEvent &event);
    void onFailed(const QString &message);
    void onRunStarted(const core::TrainOptions &options);
    void onComparisonFinished(const QString &out, const QString &error);
    bool begin(); // controls for a new job; false (with a message) while one runs
    void updateActions();
    void setMessage(const QString &text, bool error);
    void chooseMetricsExport();
    void readShownRun(); // what the shown run's log added since the last read
    void stopShowingRun();

    TrainingPlots *m_plots;
    QProgressBar *m_progress;
    QLabel *m_phase, *m_speed, *m_eta, *m_message, *m_cellTitle;
    QDoubleSpinBox *m_smoothing;
    QCheckBox *m_normalise;
    QListWidget *m_clips;
    QAction *m_pause, *m_stopAfterEpoch, *m_cancel;

    WorkerThread<TrainingWorker> m_worker { QStringLiteral("training") };
    std::shared_ptr<TrainingControls> m_controls; // the current run's
    bool m_running = false, m_paused = false, m_stopRequested = false;
    bool m_comparing = false; // m_running stays true from run to run

    int m_plannedEpochs = 0;
    qint64 m_lastStep = 0, m_stepsPerEpoch = 0;
    int m_lastStepEpoch = 0; // the epoch of the last step event
    std::vector<core::EpochEvent> m_epochs;
    int m_cellTruth = -1, m_cellPredicted = -1;

    // showRun(): the folder's log, how much of it is plotted, each epoch's last step.
    std::unique_ptr<core::RunLogReader> m_shown;
    std::size_t m_shownSteps = 0, m_shownEpochs = 0;
    std::map<int, qint64> m_shownLastStep;
    QTimer m_followTimer;
};

} // namespace astpeft::ui
