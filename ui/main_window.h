// SPDX-License-Identifier: MIT
// The studio's main window: a sidebar of views (Data, Method, Train, Runs, Live) over one
// project.
// It owns the project model, the backbone (loaded in a worker thread), and the import worker
// (another thread); the training view owns the training thread. Drops of folders, audio files
// or manifests anywhere on the window import them after a summary the user confirms.
#pragma once

#include "data/dataset.h"
#include "inference/classifier.h"
#include "train/trainer.h"
#include "workers/import_worker.h"
#include "workers/model_loader.h"
#include "workers/worker_thread.h"

#include <QMainWindow>

#include <optional>

class QAction;
class QLabel;
class QListWidget;
class QMenu;
class QStackedWidget;

namespace astpeft::ui {

class DataView;
class LiveView;
class MethodView;
class ModelInfoWidget;
class ProjectModel;
class RunController;
class RunsView;
class TrainingView;

class MainWindow : public QMainWindow
{
    Q_OBJECT

public:
    enum class Page { Data, Method, Train, Runs, Live };

    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override; // stops the worker threads (waits for a load or import in progress)

    ModelInfoWidget *modelInfo() const { return m_info; }
    ProjectModel *project() const { return m_project; }
    DataView *dataView() const { return m_data; }
    MethodView *methodView() const { return m_method; }
    TrainingView *trainingView() const { return m_training; }
    RunsView *runsView() const { return m_runs; }
    LiveView *liveView() const { return m_live; }
    Page currentPage() const;
    bool hasModel() const { return m_model.has_value(); }
    // Builds the options a training run of the current project would use (writes the
    // project's training manifest). Throws core::Error with the reason when it cannot.
    core::TrainOptions trainingOptions();

public Q_SLOTS:
    void showPage(astpeft::ui::MainWindow::Page page);
    // Starts loading in the worker thread; returns at once.
    void openModel(const QString &path);
    void chooseModel(); // File > Open backbone folder
    bool newProject(const QString &dir, const QString &name);
    bool openProject(const QString &dir);
    // The project given at start (astpeft-studio --project DIR): opened, or created when the
    // folder holds no project.json. When that fails, the error (naming the file and the
    // problem) goes to stderr and, with `ask`, to a message box that offers to open another
    // project (a folder dialog; asked again while that fails too) or to start without one.
    // Returns false when the studio should exit 1: the user chose Quit, or the project failed
    // and `ask` is false (--quit-after smoke tests, which no dialog may block).
    bool openStartupProject(const QString &dir, bool ask = true);
    void chooseNewProject();
    void chooseOpenProject();
    // Imports in the worker thread, then shows the summary; the clips join the project when
    // the user confirms it. `label` names the class of loose audio files (empty: folder name).
    void importPaths(const QStringList &paths, const QString &label = {});
    void chooseImportFolder();
    void chooseImportFiles();
    // Starts a training run of the project with the Method view's settings; false (and a
    // message) when something is missing.
    bool startTraining();
    // Trains each method at the same budget, one after another (core::compare, as the CLI's
    // compare): each run that trains joins the project; the table goes to a "comparison" folder
    // beside the runs. A method the budget cannot fit is reported and the others go on.
    bool startComparison(const QStringList &methods, const QString &budget);

Q_SIGNALS:
    void modelOpened(const QString &path);
    void modelFailed(const QString &path, const QString &message);
    void loadRequested(const QString &path); // queued to the model loader
    void importRequested(const QStringList &paths, astpeft::core::DatasetLayout layout,
        const QString &label); // queued to the import worker
    void importReady(const QString &description); // the summary dialog is open
    void importFinished(int clipsAdded);
    void importFailed(const QString &message);
    void trainingStarted(const QString &runDir);

protected:
    // The folder dialog of File > Open project and of openStartupProject(); empty when
    // cancelled. Virtual so that a test can answer it.
    virtual QString askProjectFolder();
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;
    void closeEvent(QCloseEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    void buildPages();
    void buildStatusBar();
    void buildMenus();
    void connectWorkers();
    void connectViews(); // the views, the project and the run controller with each other
    void onLoaded(const QString &path, const core::ModelSummary &summary);
    void onLoadFailed(const QString &path, const QString &message);
    void onImported(const core::Dataset &dataset, const QString &description);
    void onProjectOpened();
    // ProjectModel::create, then the loaded backbone as the project's (newProject without the
    // message box).
    bool createProjectIn(const QString &dir, const QString &name, QString *error);
    bool ensureProject();
    void updateTitle();
    void updateRecentMenu();
    void updateActions();
    void showError(const QString &title, const QString &message);

    ProjectModel *m_project = nullptr; // child of this window
    QListWidget *m_sidebar = nullptr;
    QStackedWidget *m_pages = nullptr;
    ModelInfoWidget *m_info = nullptr;
    DataView *m_data = nullptr;
    MethodView *m_method = nullptr;
    TrainingView *m_training = nullptr;
    RunsView *m_runs = nullptr;
    LiveView *m_live = nullptr;
    RunController *m_runController = nullptr; // child of this window
    QLabel *m_statusProject = nullptr, *m_statusModel = nullptr, *m_statusDevice = nullptr;
    QMenu *m_recentMenu = nullptr;
    QAction *m_startAction = nullptr, *m_undoAction = nullptr, *m_redoAction = nullptr;

    std::optional<core::ModelSummary> m_model;
    QString m_loadingModel;

    WorkerThread<ModelLoader> m_loader { QStringLiteral("model loader") };
    WorkerThread<ImportWorker> m_importer { QStringLiteral("import") };
};

} // namespace astpeft::ui
