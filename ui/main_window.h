// SPDX-License-Identifier: MIT
// The studio's main window. Today: open a backbone and see what it is; the data, method,
// training and live views arrive with their issues.
#pragma once

#include "inference/classifier.h"

#include <QMainWindow>
#include <QThread>

namespace astpeft::ui {

class ModelInfoWidget;
class ModelLoader;

class MainWindow : public QMainWindow
{
    Q_OBJECT

public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override; // stops the worker thread (waits for a load in progress)

    ModelInfoWidget *modelInfo() const { return m_info; }

public Q_SLOTS:
    // Starts loading in the worker thread; returns at once.
    void openModel(const QString &path);
    void chooseModel(); // File > Open model folder

Q_SIGNALS:
    void modelOpened(const QString &path);
    void modelFailed(const QString &path, const QString &message);
    void loadRequested(const QString &path); // queued to the worker

private:
    void onLoaded(const QString &path, const core::ModelSummary &summary);
    void onFailed(const QString &path, const QString &message);

    ModelInfoWidget *m_info = nullptr; // owned by this window
    QThread m_workerThread;
    ModelLoader *m_loader = nullptr; // lives in m_workerThread, deleted when it finishes
};

} // namespace astpeft::ui
