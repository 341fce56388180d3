// SPDX-License-Identifier: MIT
// The studio's training runs: builds a run's options from the open project, its backbone and
// the Method view; starts runs and comparisons in the Training view; lists each run that starts
// in the project, the Runs view and the Live view, and re-reads them when they end. MainWindow
// owns it and routes its menus, shortcuts and messages through it.
#pragma once

#include "inference/classifier.h"
#include "train/trainer.h"

#include <QObject>
#include <QString>
#include <QStringList>

#include <optional>

namespace astpeft::ui {

class LiveView;
class MethodView;
class ProjectModel;
class RunsView;
class TrainingView;

class RunController : public QObject
{
    Q_OBJECT

public:
    RunController(ProjectModel *project, MethodView *method, TrainingView *training, RunsView *runs,
        LiveView *live, QObject *parent = nullptr);

    void setBackbone(const std::optional<core::ModelSummary> &summary);
    bool hasBackbone() const { return m_backbone.has_value(); }

    // The options a run of the open project would use (writes the project's training
    // manifest). Throws core::Error with the reason when it cannot.
    core::TrainOptions trainingOptions() const;
    // Starts a run; false with error() emitted when something is missing or one runs.
    bool startTraining();
    // Trains each method at one budget as one job (core::compare); see MainWindow.
    bool startComparison(const QStringList &methods, const QString &budget);

Q_SIGNALS:
    void trainingStarted(const QString &runDir);
    void error(const QString &title, const QString &message);
    void status(const QString &message, int milliseconds);
    void busyChanged(); // a run or comparison started or ended

private:
    void addRun(const core::TrainOptions &options);
    void refreshRuns(); // re-reads every run (one finished or failed)

    ProjectModel *m_project;
    MethodView *m_method;
    TrainingView *m_training;
    RunsView *m_runs;
    LiveView *m_live;
    std::optional<core::ModelSummary> m_backbone;
};

} // namespace astpeft::ui
