// SPDX-License-Identifier: MIT
// Runs core::downloadFromHub off the GUI thread. Lives in a worker QThread (moveToThread);
// progress and the outcome cross back as values in queued signals. Cancel is a flag, not a
// queued slot (the worker's event loop is busy inside the download): the owner calls
// requestStop() from the GUI thread; the partial file stays for the next download().
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>

#include <stop_token>

namespace astpeft::ui {

class DownloadWorker : public QObject
{
    Q_OBJECT

public:
    using QObject::QObject;

    // GUI thread, while no download runs: a fresh stop flag for the next download().
    void prepare() { m_stop = std::stop_source(); }
    // Any thread: the running download stops within about a second.
    void requestStop() { m_stop.request_stop(); }

public Q_SLOTS:
    // Runs on the worker thread; emits progress() (at most about 10 times a second), then
    // exactly one of finished(), cancelled() or failed(). `endpoint` "" = $HF_ENDPOINT or the
    // Hub.
    void download(const QString &endpoint, const QString &repo, const QString &revision,
        const QStringList &files, const QString &dest);

Q_SIGNALS:
    // Bytes over all files; `file` is the one being transferred.
    void progress(const QString &file, qint64 done, qint64 total, double bytesPerSecond);
    // `offline`: the endpoint could not be reached and the files already in `dir` were used
    // without being re-checked against it (`reason` says why; "" otherwise).
    void finished(const QString &dir, bool offline, const QString &reason);
    void cancelled();
    void failed(const QString &message);

private:
    std::stop_source m_stop;
};

} // namespace astpeft::ui
