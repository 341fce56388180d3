// SPDX-License-Identifier: MIT
// "Get the AST AudioSet checkpoint": downloads a known model (core::knownModel) from the Hugging
// Face Hub or a mirror into a folder, with a progress bar, speed and time left. Cancel keeps the
// partial file; Get again resumes it. The download runs in a DownloadWorker in its own QThread;
// closing the dialog cancels it and waits for the worker (at most about a second).
#pragma once

#include "workers/download_worker.h"
#include "workers/worker_thread.h"

#include <QDialog>

class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;

namespace astpeft::ui {

class DownloadDialog : public QDialog
{
    Q_OBJECT

public:
    // `model`: a known model's name ("ast-audioset"); its default folder is preselected.
    explicit DownloadDialog(
        const QString &model = QStringLiteral("ast-audioset"), QWidget *parent = nullptr);
    ~DownloadDialog() override;

    QString destination() const;
    void setDestination(const QString &dir);
    // "" = $HF_ENDPOINT or https://huggingface.co.
    QString endpoint() const;
    void setEndpoint(const QString &url);
    bool isRunning() const { return m_running; }
    // For tests and screen readers.
    int progressPercent() const;
    QString statusText() const;
    QString errorText() const;

public Q_SLOTS:
    void start(); // Get (resumes a partial download)
    void cancel(); // keeps the partial file

Q_SIGNALS:
    void completed(const QString &dir);
    // The user chose to use the downloaded folder as the backbone (the dialog then closes).
    void useAsBackbone(const QString &dir);
    void downloadRequested(const QString &endpoint, const QString &repo, const QString &revision,
        const QStringList &files, const QString &dest); // queued to the worker

protected:
    void reject() override; // cancels a running download first

private:
    void onProgress(const QString &file, qint64 done, qint64 total, double bytesPerSecond);
    void onFinished(const QString &dir, bool offline, const QString &reason);
    void onCancelled();
    void onFailed(const QString &message);
    void setRunning(bool running);

    QString m_repo, m_revision;
    QStringList m_files;
    QLineEdit *m_dest = nullptr, *m_endpoint = nullptr;
    QPushButton *m_browse = nullptr, *m_get = nullptr, *m_cancel = nullptr, *m_use = nullptr;
    QProgressBar *m_bar = nullptr;
    QLabel *m_status = nullptr, *m_error = nullptr;
    bool m_running = false;
    WorkerThread<DownloadWorker> m_worker { QStringLiteral("download") };
};

} // namespace astpeft::ui
