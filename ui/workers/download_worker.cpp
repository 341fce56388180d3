// SPDX-License-Identifier: MIT
#include "workers/download_worker.h"

#include "net/hub_download.h"

#include <exception>

namespace astpeft::ui {

void DownloadWorker::download(const QString &endpoint, const QString &repo, const QString &revision,
    const QStringList &files, const QString &dest)
{
    core::HubDownloadOptions o;
    o.endpoint = endpoint.toStdString();
    o.repo = repo.toStdString();
    o.revision = revision.toStdString();
    for (const QString &f : files)
        o.files.push_back(f.toStdString());
    o.dest = dest.toStdString();
    o.stop = m_stop.get_token();
    o.progress = [this](const core::DownloadProgress &p) {
        Q_EMIT progress(QString::fromStdString(p.file), p.allDone, p.allTotal, p.bytesPerSecond);
    };
    try {
        const core::HubDownloadResult r = core::downloadFromHub(o);
        if (r.cancelled) {
            Q_EMIT cancelled();
        } else {
            Q_EMIT finished(QString::fromStdString(r.dir.string()), r.offline,
                QString::fromStdString(r.offlineReason));
        }
    } catch (const std::exception &e) { // a core::Error, or out of memory: never past the thread
        Q_EMIT failed(QString::fromStdString(e.what()));
    }
}

} // namespace astpeft::ui
