// SPDX-License-Identifier: MIT
#include "main_window.h"

#include "compare_dialog.h"
#include "data_view.h"
#include "download_dialog.h"
#include "error.h"
#include "format.h"
#include "human_format.h"
#include "import_summary_dialog.h"
#include "live_view.h"
#include "method_view.h"
#include "model_info_widget.h"
#include "peft/peft_config.h"
#include "project/project.h"
#include "project_model.h"
#include "recorder_panel.h"
#include "run_controller.h"
#include "runs_view.h"
#include "runtime/runtime.h"
#include "sample_browser.h"
#include "theme.h"
#include "train/compare.h"
#include "train/train_flags.h"
#include "training_view.h"
#include "workers/import_worker.h"
#include "workers/model_loader.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDialog>
#include <QDir>
#include <QFileDialog>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QKeySequence>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QSettings>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QStatusBar>
#include <QToolBar>
#include <QUndoStack>
#include <QVBoxLayout>

#include <cstdio>

namespace astpeft::ui {

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
    , m_project(new ProjectModel(this))
{
    setWindowTitle(tr("AST PEFT Studio"));
    setAcceptDrops(true);

    m_info = new ModelInfoWidget;
    m_data = new DataView(m_project);
    auto *browser = new SampleBrowser(m_project);
    m_data->setSampleBrowser(browser);
    auto *recorder = new RecorderPanel(m_project);
    m_data->setRecorder(recorder);
    connect(m_data, &DataView::clipSelected, browser, &SampleBrowser::showClip);
    connect(m_data, &DataView::classSelected, recorder, [recorder](const QString &label) {
        if (!label.isEmpty() && !recorder->isRecording())
            recorder->setTargetClass(label);
    });
    m_method = new MethodView;
    m_training = new TrainingView;
    m_runs = new RunsView;
    m_live = new LiveView;
    m_runController = new RunController(m_project, m_method, m_training, m_runs, m_live, this);
    connect(m_runController, &RunController::trainingStarted, this, &MainWindow::trainingStarted);
    connect(m_runController, &RunController::error, this, &MainWindow::showError);
    connect(m_runController, &RunController::status, this,
        [this](const QString &message, int ms) { statusBar()->showMessage(message, ms); });
    connect(m_runController, &RunController::busyChanged, this, &MainWindow::updateActions);

    buildPages();
    buildStatusBar();
    connectWorkers();
    connectViews();
    buildMenus();
    QSettings settings;
    restoreGeometry(settings.value("window/geometry").toByteArray());
    restoreState(settings.value("window/state").toByteArray());
    updateTitle();
    updateActions();
    statusBar()->showMessage(tr("Ready"));
}

// The pages (the Method page: the backbone on top, then the Method view) behind the sidebar.
void MainWindow::buildPages()
{
    auto *backbone = new QGroupBox(tr("Backbone"));
    auto *openBackbone = new QPushButton(tr("Open backbone folder..."));
    openBackbone->setToolTip(tr("A Hugging Face AST folder (config.json + model.safetensors)"));
    openBackbone->setAccessibleName(tr("Open backbone folder"));
    connect(openBackbone, &QPushButton::clicked, this, &MainWindow::chooseModel);
    auto *backboneLayout = new QVBoxLayout(backbone);
    backboneLayout->addWidget(m_info);
    backboneLayout->addWidget(openBackbone, 0, Qt::AlignLeft);
    auto *methodPage = new QWidget;
    auto *methodLayout = new QHBoxLayout(methodPage);
    methodLayout->addWidget(backbone, 2);
    methodLayout->addWidget(m_method, 5);

    m_pages = new QStackedWidget;
    m_pages->addWidget(m_data);
    m_pages->addWidget(methodPage);
    m_pages->addWidget(m_training);
    m_pages->addWidget(m_runs);
    m_pages->addWidget(m_live);

    m_sidebar = new QListWidget;
    m_sidebar->setAccessibleName(tr("Views"));
    m_sidebar->setIconSize(QSize(32, 32));
    m_sidebar->setFixedWidth(132);
    const struct
    {
        const char *icon;
        QString text, tip;
    } items[] = {
        { "data", tr("Data"), tr("Classes and clips: import, record, review (Ctrl+1)") },
        { "method", tr("Method"), tr("Backbone, PEFT method, budget, hyper-parameters (Ctrl+2)") },
        { "train", tr("Train"), tr("Training progress, curves and per-class results (Ctrl+3)") },
        { "runs", tr("Runs"), tr("The project's runs compared (Ctrl+4)") },
        { "live", tr("Live"), tr("Classify the microphone live with a run's adapter (Ctrl+5)") },
    };
    for (const auto &item : items) {
        auto *entry = new QListWidgetItem(
            QIcon(QStringLiteral(":/icons/%1.svg").arg(item.icon)), item.text, m_sidebar);
        entry->setToolTip(item.tip);
        entry->setSizeHint(QSize(120, 56));
    }
    connect(m_sidebar, &QListWidget::currentRowChanged, m_pages, &QStackedWidget::setCurrentIndex);
    m_sidebar->setCurrentRow(0);

    auto *central = new QWidget;
    auto *layout = new QHBoxLayout(central);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_sidebar);
    layout->addWidget(m_pages, 1);
    setCentralWidget(central);
}

void MainWindow::buildStatusBar()
{
    m_statusProject = new QLabel;
    m_statusModel = new QLabel(tr("No backbone"));
    m_statusDevice = new QLabel;
    const core::RuntimeInfo runtime = core::runtimeInfo();
    m_statusDevice->setText(runtime.gpus.empty()
            ? tr("CPU, %n thread(s)", nullptr, runtime.threads)
            : tr("%1 (%n GPU(s))", nullptr, int(runtime.gpus.size()))
                  .arg(QString::fromStdString(runtime.gpus.front().name)));
    m_statusDevice->setToolTip(tr("libtorch %1. Everything runs on this computer; nothing is "
                                  "uploaded.")
                                   .arg(qs(runtime.torchVersion)));
    statusBar()->addPermanentWidget(m_statusProject);
    statusBar()->addPermanentWidget(m_statusModel);
    statusBar()->addPermanentWidget(m_statusDevice);
}

// The model loader and the importer, each in its own thread.
void MainWindow::connectWorkers()
{
    connect(this, &MainWindow::loadRequested, m_loader.get(), &ModelLoader::load);
    connect(m_loader.get(), &ModelLoader::loaded, this, &MainWindow::onLoaded);
    connect(m_loader.get(), &ModelLoader::failed, this, &MainWindow::onLoadFailed);
    m_loader.start();

    connect(this, &MainWindow::importRequested, m_importer.get(), &ImportWorker::import);
    connect(m_importer.get(), &ImportWorker::imported, this, &MainWindow::onImported);
    connect(m_importer.get(), &ImportWorker::failed, this, [this](const QString &message) {
        statusBar()->showMessage(tr("Import failed"), 5000);
        showError(tr("Import failed"), message);
        Q_EMIT importFailed(message);
    });
    m_importer.start();
}

void MainWindow::connectViews()
{
    connect(m_project, &ProjectModel::opened, this, &MainWindow::onProjectOpened);
    connect(m_project, &ProjectModel::changed, this, &MainWindow::updateTitle);
    connect(m_project, &ProjectModel::classesChanged, this, [this] {
        if (m_project->isOpen())
            m_method->setNumLabels(std::max(1, core::classesWithClips(m_project->project())));
        updateActions();
    });
    connect(m_project, &ProjectModel::clipsChanged, this, &MainWindow::updateActions);
    connect(m_project, &ProjectModel::saveFailed, this, [this](const QString &message) {
        statusBar()->showMessage(tr("Could not save the project: %1").arg(message));
    });
    connect(m_project->undoStack(), &QUndoStack::cleanChanged, this, &MainWindow::updateTitle);
    connect(m_method, &MethodView::changed, this, [this] {
        if (!m_project->isOpen())
            return;
        m_project->setPeft(m_method->peft(), m_method->budgetText());
        core::TrainOptions t = m_project->project().training;
        m_method->applyTo(t);
        m_project->setTraining(t);
    });
    connect(m_data, &DataView::importFolderRequested, this, &MainWindow::chooseImportFolder);
    connect(m_data, &DataView::importFilesRequested, this, &MainWindow::chooseImportFiles);
    // While a run trains on a GPU, the status bar shows the memory it holds and its peak.
    connect(m_training, &TrainingView::stepReported, this, [this](const core::StepEvent &e) {
        if (e.peakDeviceMemoryBytes > 0) {
            m_statusDevice->setText(
                tr("GPU memory %1 GiB, peak %2 GiB")
                    .arg(double(e.deviceMemoryBytes) / double(1 << 30), 0, 'f', 1)
                    .arg(double(e.peakDeviceMemoryBytes) / double(1 << 30), 0, 'f', 1));
        }
    });
    const QString idleDevice = m_statusDevice->text();
    connect(m_training, &TrainingView::finished, m_statusDevice,
        [this, idleDevice] { m_statusDevice->setText(idleDevice); });
    connect(m_training, &TrainingView::failed, m_statusDevice,
        [this, idleDevice] { m_statusDevice->setText(idleDevice); });
    connect(m_training, &TrainingView::clipActivated, this, [this](const QString &file) {
        if (!m_project->isOpen())
            return;
        for (const core::ProjectClip &clip : m_project->project().clips) {
            if (qs(core::clipPath(m_project->project(), clip).string()) == file) {
                // Show it in the data view and play it (the confusion matrix's clip lists).
                showPage(Page::Data);
                m_data->selectClass(qs(clip.label));
                m_data->selectClips({ clip.id });
                if (auto *browser = m_data->findChild<SampleBrowser *>())
                    browser->play();
                return;
            }
        }
    });
    connect(m_runs, &RunsView::runActivated, this, [this](const QString &run) {
        if (m_training->isRunning())
            return;
        m_training->showRun(run);
        showPage(Page::Train);
    });
    // Opened or dropped run folders: remembered in the project (absolute paths when outside it);
    // without a project, for this session.
    connect(m_runs, &RunsView::runsAdded, this, [this](const QStringList &runs) {
        for (const QString &run : runs)
            m_project->addRun(run);
        m_live->setRuns(m_runs->runs());
    });
    connect(m_runs, &RunsView::compareRequested, this, [this] {
        CompareDialog dialog(m_method->budgetText(), this);
        if (dialog.exec() == QDialog::Accepted)
            startComparison(dialog.methods(), dialog.budget());
    });
}

MainWindow::~MainWindow()
{
    QSettings settings;
    settings.setValue("window/geometry", saveGeometry());
    settings.setValue("window/state", saveState());
}

void MainWindow::buildMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *newProject =
        file->addAction(tr("&New project..."), this, &MainWindow::chooseNewProject);
    newProject->setShortcut(QKeySequence::New);
    QAction *open = file->addAction(tr("&Open project..."), this, &MainWindow::chooseOpenProject);
    open->setShortcut(QKeySequence::Open);
    m_recentMenu = file->addMenu(tr("Open &recent"));
    QAction *save = file->addAction(tr("&Save"), this, [this] {
        QString error;
        if (m_project->isOpen() && !m_project->save(&error))
            showError(tr("Save failed"), error);
    });
    save->setShortcut(QKeySequence::Save);
    file->addSeparator();
    QAction *importFolder = file->addAction(
        tr("&Import dataset folder or manifest..."), this, &MainWindow::chooseImportFolder);
    importFolder->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
    QAction *importFiles =
        file->addAction(tr("Import audio &files..."), this, &MainWindow::chooseImportFiles);
    importFiles->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_I));
    QAction *model =
        file->addAction(tr("Open &backbone folder..."), this, &MainWindow::chooseModel);
    model->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_B));
    model->setToolTip(tr("Open a Hugging Face AST folder (config.json + model.safetensors)"));
    QAction *openRun = file->addAction(tr("Open r&un folder..."), this, [this] {
        showPage(Page::Runs);
        m_runs->chooseRunFolders();
    });
    openRun->setToolTip(tr("List a run folder trained elsewhere (the command line, a cluster) "
                           "in the Runs view; a run in progress is followed live"));
    QAction *getAst = file->addAction(tr("&Get the AST AudioSet checkpoint..."), this, [this] {
        auto *dialog = new DownloadDialog(QStringLiteral("ast-audioset"), this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        connect(dialog, &DownloadDialog::useAsBackbone, this, [this](const QString &dir) {
            QSettings().setValue("model/lastFolder", dir);
            openModel(dir);
            if (m_project->isOpen())
                m_project->setBackbone(dir);
        });
        dialog->open();
    });
    getAst->setToolTip(tr("Download MIT/ast-finetuned-audioset-10-10-0.4593, the paper's "
                          "backbone, from the Hugging Face Hub (about 350 MB)"));
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu *edit = menuBar()->addMenu(tr("&Edit"));
    m_undoAction = m_project->undoStack()->createUndoAction(this, tr("&Undo"));
    m_undoAction->setShortcut(QKeySequence::Undo);
    m_redoAction = m_project->undoStack()->createRedoAction(this, tr("&Redo"));
    m_redoAction->setShortcut(QKeySequence::Redo);
    edit->addAction(m_undoAction);
    edit->addAction(m_redoAction);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    const Page pages[] = { Page::Data, Page::Method, Page::Train, Page::Runs, Page::Live };
    for (int i = 0; i < 5; ++i) {
        QAction *a = view->addAction(
            m_sidebar->item(i)->text(), this, [this, page = pages[i]] { showPage(page); });
        a->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)));
    }
    view->addAction(m_live->toggleAction()); // Ctrl+L
    view->addSeparator();
    QMenu *theme = view->addMenu(tr("&Theme"));
    auto *themes = new QActionGroup(this);
    const ThemeChoice current = parseThemeChoice(QSettings().value("ui/theme").toString());
    for (ThemeChoice choice : { ThemeChoice::System, ThemeChoice::Light, ThemeChoice::Dark }) {
        const QString name = themeChoiceName(choice);
        QAction *a = theme->addAction(name.left(1).toUpper() + name.mid(1), this, [choice] {
            QSettings().setValue("ui/theme", themeChoiceName(choice));
            applyTheme(choice);
        });
        a->setCheckable(true);
        a->setChecked(choice == current);
        themes->addAction(a);
    }

    QMenu *train = menuBar()->addMenu(tr("&Train"));
    m_startAction = train->addAction(tr("&Start training"), this, &MainWindow::startTraining);
    m_startAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    m_startAction->setToolTip(tr("Train the chosen method on the project's clips (Ctrl+Enter)"));
    m_startAction->setIcon(QIcon(QStringLiteral(":/icons/train.svg")));
    train->addAction(tr("&Pause"), m_training, &TrainingView::pause);
    train->addAction(tr("&Resume"), m_training, &TrainingView::resume);
    train->addAction(tr("Stop &after this epoch"), m_training, &TrainingView::stopAfterEpoch);
    train->addAction(tr("&Cancel"), m_training, &TrainingView::cancel);
    train->addSeparator();
    train->addAction(tr("C&ompare methods..."), m_runs, &RunsView::compareRequested);

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About"), this, [this] {
        QMessageBox::about(this, tr("About AST PEFT Studio"),
            tr("<b>AST PEFT Studio %1</b><p>Parameter-efficient fine-tuning of Audio "
               "Spectrogram Transformers (Cappellazzo et al., MLSP 2024) on your own sounds. "
               "Everything runs on this computer.</p><p>libtorch %2</p>")
                .arg(QStringLiteral(ASTPEFT_VERSION), qs(core::runtimeInfo().torchVersion)));
    });

    QToolBar *tools = addToolBar(tr("Main"));
    tools->setObjectName("main toolbar");
    tools->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    tools->addAction(m_startAction);
    tools->addAction(m_undoAction);
    tools->addAction(m_redoAction);
    updateRecentMenu();
}

MainWindow::Page MainWindow::currentPage() const
{
    return Page(m_pages->currentIndex());
}

void MainWindow::showPage(Page page)
{
    m_sidebar->setCurrentRow(int(page));
}

void MainWindow::openModel(const QString &path)
{
    m_loadingModel = path;
    statusBar()->showMessage(tr("Loading %1...").arg(path));
    Q_EMIT loadRequested(path);
}

void MainWindow::chooseModel()
{
    QSettings settings;
    const QString dir = QFileDialog::getExistingDirectory(
        this, tr("Open backbone folder"), settings.value("model/lastFolder").toString());
    if (dir.isEmpty())
        return;
    settings.setValue("model/lastFolder", dir);
    openModel(dir);
    if (m_project->isOpen())
        m_project->setBackbone(dir);
}

void MainWindow::onLoaded(const QString &path, const core::ModelSummary &summary)
{
    m_model = summary;
    m_runController->setBackbone(m_model);
    m_info->showSummary(summary);
    m_method->setBackbone(summary.config,
        tr("%1: %2 layers, hidden %3")
            .arg(QDir(path).dirName())
            .arg(summary.config.numHiddenLayers)
            .arg(summary.config.hiddenSize));
    m_live->setBackbone(qs(summary.dir.string()));
    m_statusModel->setText(tr("Backbone: %1").arg(QDir(path).dirName()));
    m_statusModel->setToolTip(path);
    statusBar()->showMessage(tr("Loaded %1").arg(path), 5000);
    updateActions();
    Q_EMIT modelOpened(path);
}

void MainWindow::onLoadFailed(const QString &path, const QString &message)
{
    m_info->showMessage(message);
    statusBar()->showMessage(tr("Could not open %1").arg(path));
    Q_EMIT modelFailed(path, message);
}

bool MainWindow::createProjectIn(const QString &dir, const QString &name, QString *error)
{
    if (!m_project->create(dir, name, error))
        return false;
    if (m_model)
        m_project->setBackbone(qs(m_model->dir.string()));
    return true;
}

bool MainWindow::newProject(const QString &dir, const QString &name)
{
    QString error;
    if (!createProjectIn(dir, name, &error)) {
        showError(tr("Could not create the project"), error);
        return false;
    }
    return true;
}

bool MainWindow::openProject(const QString &dir)
{
    QString error;
    if (!m_project->open(dir, &error)) {
        showError(tr("Could not open the project"), error);
        return false;
    }
    return true;
}

bool MainWindow::openStartupProject(const QString &dir, bool ask)
{
    QString current = dir;
    for (;;) {
        QString error;
        const bool exists = QDir(current).exists("project.json");
        if (exists ? m_project->open(current, &error)
                   : createProjectIn(current, QDir(current).dirName(), &error))
            return true;
        std::fprintf(stderr, "astpeft-studio: %s\n", core::printable(error.toStdString()).c_str());
        if (!ask)
            return false;
        // Modal and blocking: the studio waits for the answer before it goes on starting.
        QMessageBox box(QMessageBox::Critical,
            exists ? tr("Cannot open the project") : tr("Cannot create the project"), error,
            QMessageBox::NoButton, this);
        box.setInformativeText(tr("Open another project, or start without one?"));
        box.setTextInteractionFlags(Qt::TextSelectableByMouse);
        QPushButton *another =
            box.addButton(tr("Open another project..."), QMessageBox::AcceptRole);
        QPushButton *none = box.addButton(tr("Start without a project"), QMessageBox::RejectRole);
        QPushButton *quit = box.addButton(tr("Quit"), QMessageBox::DestructiveRole);
        box.setDefaultButton(another);
        box.setEscapeButton(none);
        box.exec();
        if (box.clickedButton() == quit)
            return false;
        if (box.clickedButton() != another)
            return true;
        current = askProjectFolder();
        if (current.isEmpty())
            return true; // cancelled: no project
    }
}

void MainWindow::chooseNewProject()
{
    const QString dir =
        QFileDialog::getExistingDirectory(this, tr("New project: choose an empty folder"),
            QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation));
    if (dir.isEmpty())
        return;
    newProject(dir, QDir(dir).dirName());
}

QString MainWindow::askProjectFolder()
{
    return QFileDialog::getExistingDirectory(this, tr("Open project folder"),
        QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation));
}

void MainWindow::chooseOpenProject()
{
    const QString dir = askProjectFolder();
    if (!dir.isEmpty())
        openProject(dir);
}

void MainWindow::onProjectOpened()
{
    const core::Project &p = m_project->project();
    m_method->setNumLabels(std::max(1, core::classesWithClips(p)));
    {
        const QSignalBlocker block(m_method); // restoring is not an edit
        m_method->setFrom(p.training);
        m_method->setPeft(p.peft);
        m_method->setBudgetText(qs(p.budget));
    }
    QStringList runs;
    for (const auto &run : p.runs)
        runs << qs((p.dir / run).string());
    m_runs->setRuns(runs);
    m_live->setRuns(m_runs->runs());
    if (!p.backbone.empty()) {
        const QString backbone = qs(p.backbone.string());
        if (!m_model || qs(m_model->dir.string()) != backbone)
            openModel(backbone);
    } else if (m_model) {
        m_project->setBackbone(qs(m_model->dir.string()));
    }
    updateRecentMenu();
    updateTitle();
    updateActions();
}

bool MainWindow::ensureProject()
{
    if (m_project->isOpen())
        return true;
    // A new project in the documents folder, named like "Untitled 2".
    const QDir base(QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation)
        + QStringLiteral("/AST PEFT Studio"));
    QString name = tr("Untitled");
    for (int n = 2; base.exists(name); ++n)
        name = tr("Untitled %1").arg(n);
    return newProject(base.filePath(name), name);
}

void MainWindow::importPaths(const QStringList &paths, const QString &label)
{
    if (paths.isEmpty() || !ensureProject())
        return;
    statusBar()->showMessage(tr("Importing %1...").arg(paths.join(", ")));
    Q_EMIT importRequested(paths, core::DatasetLayout::Auto, label);
}

void MainWindow::chooseImportFolder()
{
    QSettings settings;
    const QString dir = QFileDialog::getExistingDirectory(this,
        tr("Import a dataset folder (folder per class, ESC-50, Speech Commands, ...)"),
        settings.value("import/lastFolder").toString());
    if (dir.isEmpty())
        return;
    settings.setValue("import/lastFolder", dir);
    importPaths({ dir });
}

void MainWindow::chooseImportFiles()
{
    QSettings settings;
    const QStringList files = QFileDialog::getOpenFileNames(this,
        tr("Import audio files or a manifest"), settings.value("import/lastFolder").toString(),
        tr("Audio and manifests (*.wav *.flac *.ogg *.oga *.opus *.mp3 *.aif *.aiff *.csv "
           "*.tsv);;All files (*)"));
    if (files.isEmpty())
        return;
    settings.setValue("import/lastFolder", QFileInfo(files.first()).absolutePath());
    QString label;
    const bool audio = std::all_of(files.begin(), files.end(),
        [](const QString &f) { return core::hasAudioExtension(f.toStdString()); });
    if (audio) {
        QStringList classes;
        for (const std::string &c :
            m_project->isOpen() ? m_project->project().classes : std::vector<std::string>())
            classes << qs(c);
        const QString folder = QFileInfo(files.first()).absoluteDir().dirName();
        if (!classes.contains(folder))
            classes.prepend(folder);
        bool ok = false;
        label = QInputDialog::getItem(this, tr("Import audio files"),
            tr("Class of these %n file(s):", nullptr, int(files.size())), classes, 0, true, &ok);
        if (!ok || label.trimmed().isEmpty())
            return;
    }
    importPaths(files, label.trimmed());
}

void MainWindow::onImported(const core::Dataset &dataset, const QString &description)
{
    statusBar()->showMessage(tr("Imported %1: review and confirm").arg(description), 5000);
    auto *dialog = new ImportSummaryDialog(dataset, description, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dataset, description] {
        if (!m_project->isOpen())
            return;
        const std::size_t before = m_project->project().clips.size();
        m_project->addDataset(dataset,
            tr("Import of %1 clip(s)").arg(dataset.clips.size())); // the undo text
        const int added = int(m_project->project().clips.size() - before);
        statusBar()->showMessage(tr("Added %n clip(s)", nullptr, added), 5000);
        showPage(Page::Data);
        Q_EMIT importFinished(added);
    });
    dialog->open(); // window-modal, does not block the event loop
    Q_EMIT importReady(description);
}

core::TrainOptions MainWindow::trainingOptions()
{
    return m_runController->trainingOptions();
}

bool MainWindow::startTraining()
{
    if (!m_runController->startTraining())
        return false;
    showPage(Page::Train);
    return true;
}

bool MainWindow::startComparison(const QStringList &methods, const QString &budget)
{
    if (!m_runController->startComparison(methods, budget))
        return false;
    showPage(Page::Train);
    return true;
}

void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    const QMimeData *mime = event->mimeData();
    if (!mime->hasUrls())
        return;
    for (const QUrl &url : mime->urls()) {
        if (url.isLocalFile()) {
            event->acceptProposedAction();
            return;
        }
    }
}

void MainWindow::dropEvent(QDropEvent *event)
{
    QStringList paths, refused;
    for (const QUrl &url : event->mimeData()->urls()) {
        if (url.isLocalFile()) {
            paths << url.toLocalFile();
        } else {
            refused << url.toString();
        }
    }
    event->acceptProposedAction();
    if (!refused.isEmpty()) {
        showError(tr("Import"),
            tr("Only files and folders on this computer can be imported; ignored: %1")
                .arg(refused.join(", ")));
    }
    importPaths(paths);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (m_training->isRunning()) {
        if (QMessageBox::question(this, tr("Training in progress"),
                tr("A run is in progress. Cancel it and quit? (Its last finished epoch stays in "
                   "the run folder and can be resumed with astpeft train --resume.)"))
            != QMessageBox::Yes) {
            event->ignore();
            return;
        }
        m_training->cancel();
    }
    if (m_project->isOpen())
        m_project->save();
    event->accept();
}

void MainWindow::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::ThemeChange
        && parseThemeChoice(QSettings().value("ui/theme").toString()) == ThemeChoice::System)
        applyTheme(ThemeChoice::System);
    QMainWindow::changeEvent(event);
}

void MainWindow::updateTitle()
{
    const QString name = m_project->isOpen() ? qs(m_project->project().name) : tr("No project");
    setWindowTitle(tr("%1[*] - AST PEFT Studio").arg(name));
    setWindowModified(m_project->isOpen() && !m_project->undoStack()->isClean());
    m_statusProject->setText(m_project->isOpen() ? tr("Project: %1").arg(name) : name);
    m_statusProject->setToolTip(m_project->dir());
}

void MainWindow::updateRecentMenu()
{
    m_recentMenu->clear();
    const QStringList recent = ProjectModel::recentProjects();
    for (const QString &dir : recent)
        m_recentMenu->addAction(dir, this, [this, dir] { openProject(dir); });
    m_recentMenu->setEnabled(!recent.isEmpty());
}

void MainWindow::updateActions()
{
    const bool running = m_training->isRunning();
    m_startAction->setEnabled(!running);
}

void MainWindow::showError(const QString &title, const QString &message)
{
    // Window-modal and non-blocking, so that a worker's signal never waits on a dialog.
    auto *box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setTextInteractionFlags(Qt::TextSelectableByMouse);
    box->open();
}

} // namespace astpeft::ui
