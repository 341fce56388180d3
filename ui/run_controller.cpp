// SPDX-License-Identifier: MIT
#include "run_controller.h"

#include "error.h"
#include "format.h"
#include "live_view.h"
#include "method_view.h"
#include "project/project.h"
#include "project_model.h"
#include "runs_view.h"
#include "train/compare.h"
#include "train/train_flags.h"
#include "training_view.h"

namespace astpeft::ui {

RunController::RunController(ProjectModel *project, MethodView *method, TrainingView *training,
    RunsView *runs, LiveView *live, QObject *parent)
    : QObject(parent)
    , m_project(project)
    , m_method(method)
    , m_training(training)
    , m_runs(runs)
    , m_live(live)
{
    connect(m_training, &TrainingView::runStarted, this, &RunController::addRun);
    connect(m_training, &TrainingView::finished, this, [this](const core::FinishedEvent &e) {
        refreshRuns();
        Q_EMIT status(tr("Run finished (%1): best validation accuracy %2 %")
                          .arg(qs(core::enumName(e.reason)))
                          .arg(e.bestValAccuracy * 100, 0, 'f', 1),
            10000);
        Q_EMIT busyChanged();
    });
    connect(m_training, &TrainingView::failed, this, [this] {
        refreshRuns();
        Q_EMIT busyChanged();
    });
    connect(m_training, &TrainingView::comparisonFinished, this,
        [this](const QString &out, const QString &error) {
            Q_EMIT status(
                error.isEmpty() ? tr("Comparison finished: %1").arg(out + "/comparison.md") : error,
                10000);
            Q_EMIT busyChanged();
        });
}

void RunController::setBackbone(const std::optional<core::ModelSummary> &summary)
{
    m_backbone = summary;
}

core::TrainOptions RunController::trainingOptions() const
{
    if (!m_project->isOpen())
        throw core::Error(core::ErrorKind::Usage, "no project is open");
    if (!m_backbone) {
        throw core::Error(core::ErrorKind::Usage,
            "no backbone: open a Hugging Face AST folder (File > Open backbone folder)");
    }
    const core::Project &p = m_project->project();
    if (core::classesWithClips(p) < 2) {
        throw core::Error(core::ErrorKind::Usage,
            "training needs at least two classes with clips: import or record some");
    }
    core::TrainOptions o = p.training;
    m_method->applyTo(o);
    o.model = m_backbone->dir;
    o.data = core::writeTrainingManifest(p);
    o.import.layout = core::DatasetLayout::Csv;
    o.noiseFiles.clear(); // the manifest cannot list noise: the project's files go here
    for (const std::filesystem::path &file : p.noise)
        o.noiseFiles.push_back(core::resolvePath(p, file));
    o.out = core::newRunDir(p, core::methodName(o.peft.method));
    o.resume = false;
    o.command = core::trainCommandLine(o);
    return o;
}

bool RunController::startTraining()
{
    if (m_training->isRunning()) {
        Q_EMIT status(tr("A run is in progress"), 3000);
        return false;
    }
    core::TrainOptions o;
    try {
        o = trainingOptions();
    } catch (const std::exception &e) {
        Q_EMIT error(tr("Cannot start training"), qs(e.what()));
        return false;
    }
    m_training->start(o);
    addRun(o);
    Q_EMIT busyChanged();
    return true;
}

bool RunController::startComparison(const QStringList &methods, const QString &budget)
{
    if (m_training->isRunning() || methods.isEmpty())
        return false;
    std::vector<core::TrainOptions> runs;
    std::filesystem::path table;
    try {
        core::TrainOptions base = trainingOptions();
        base.budget = budget.trimmed().toStdString(); // the trainer sizes each method
        base.learningRate = 0; // the paper's rate for each method
        std::vector<core::PeftMethod> parsed;
        for (const QString &name : methods)
            parsed.push_back(core::parseMethod(name.toStdString()));
        const core::Project &project = m_project->project();
        // Each method is listed once, so the run folders (named after them) are distinct.
        runs = core::comparisonRuns(
            base, parsed, [](core::PeftMethod m) { return core::paperSetting(m); },
            [&](core::PeftMethod m) { return core::newRunDir(project, core::methodName(m)); });
        table = core::newRunDir(project, "comparison");
    } catch (const std::exception &e) {
        Q_EMIT error(tr("Cannot compare"), qs(e.what()));
        return false;
    }
    m_training->startComparison(runs, qs(table));
    Q_EMIT busyChanged();
    return true;
}

void RunController::addRun(const core::TrainOptions &options)
{
    const QString run = qs(options.out);
    m_project->addRun(run);
    m_runs->setRuns(m_runs->runs() << run);
    m_live->setRuns(m_runs->runs());
    Q_EMIT trainingStarted(run);
}

void RunController::refreshRuns()
{
    m_runs->setRuns(m_runs->runs());
    m_live->setRuns(m_runs->runs());
}

} // namespace astpeft::ui
