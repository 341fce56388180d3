// SPDX-License-Identifier: MIT
#include "main_window.h"

#include "model_info_widget.h"
#include "workers/model_loader.h"

#include <QAction>
#include <QApplication>
#include <QFileDialog>
#include <QKeySequence>
#include <QMenuBar>
#include <QSettings>
#include <QStatusBar>

namespace astpeft::ui {

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
    , m_info(new ModelInfoWidget)
{
    setWindowTitle(tr("AST PEFT Studio"));
    setCentralWidget(m_info);

    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *open = file->addAction(tr("&Open model folder..."), this, &MainWindow::chooseModel);
    open->setShortcut(QKeySequence::Open);
    open->setToolTip(tr("Open a Hugging Face AST folder (config.json + model.safetensors)"));
    QAction *quit = file->addAction(tr("&Quit"), qApp, &QApplication::closeAllWindows);
    quit->setShortcut(QKeySequence::Quit);

    m_loader = new ModelLoader; // no parent: it moves to the worker thread
    m_loader->moveToThread(&m_workerThread);
    connect(&m_workerThread, &QThread::finished, m_loader, &QObject::deleteLater);
    connect(this, &MainWindow::loadRequested, m_loader, &ModelLoader::load);
    connect(m_loader, &ModelLoader::loaded, this, &MainWindow::onLoaded);
    connect(m_loader, &ModelLoader::failed, this, &MainWindow::onFailed);
    m_workerThread.setObjectName("model loader");
    m_workerThread.start();

    QSettings settings;
    restoreGeometry(settings.value("window/geometry").toByteArray());
    statusBar()->showMessage(tr("Ready"));
}

MainWindow::~MainWindow()
{
    QSettings().setValue("window/geometry", saveGeometry());
    m_workerThread.quit();
    m_workerThread.wait();
}

void MainWindow::openModel(const QString &path)
{
    statusBar()->showMessage(tr("Loading %1...").arg(path));
    Q_EMIT loadRequested(path);
}

void MainWindow::chooseModel()
{
    QSettings settings;
    const QString dir = QFileDialog::getExistingDirectory(
        this, tr("Open model folder"), settings.value("model/lastFolder").toString());
    if (dir.isEmpty())
        return;
    settings.setValue("model/lastFolder", dir);
    openModel(dir);
}

void MainWindow::onLoaded(const QString &path, const core::ModelSummary &summary)
{
    m_info->showSummary(summary);
    statusBar()->showMessage(tr("Loaded %1").arg(path));
    Q_EMIT modelOpened(path);
}

void MainWindow::onFailed(const QString &path, const QString &message)
{
    m_info->showMessage(message);
    statusBar()->showMessage(tr("Could not open %1").arg(path));
    Q_EMIT modelFailed(path, message);
}

} // namespace astpeft::ui
