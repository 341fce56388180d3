// SPDX-License-Identifier: MIT
#include "workers/import_worker.h"

#include "error.h"
#include "format.h"

#include <filesystem>
#include <vector>

namespace astpeft::ui {

void ImportWorker::import(
    const QStringList &paths, core::DatasetLayout layout, const QString &label)
{
    try {
        std::vector<std::filesystem::path> files;
        for (const QString &path : paths)
            files.emplace_back(path.toStdString());
        std::string description;
        core::Dataset result = core::importPaths(files, layout, label.toStdString(), &description);
        Q_EMIT imported(result, qs(description));
    } catch (const std::exception &e) { // core::Error or bad_alloc: never past the thread
        Q_EMIT failed(QString::fromStdString(e.what()));
    }
}

} // namespace astpeft::ui
