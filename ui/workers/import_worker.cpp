// SPDX-License-Identifier: MIT
#include "workers/import_worker.h"

#include "error.h"

#include <QFileInfo>

#include <filesystem>
#include <unordered_map>

namespace astpeft::ui {

namespace fs = std::filesystem;

void ImportWorker::merge(core::Dataset &into, core::Dataset from)
{
    if (into.labels.empty() && into.clips.empty() && into.skipped.empty()) {
        into = std::move(from);
        return;
    }
    std::unordered_map<std::string, int> index;
    for (std::size_t i = 0; i < into.labels.size(); ++i)
        index.emplace(into.labels[i], int(i));
    std::vector<int> remap(from.labels.size());
    for (std::size_t i = 0; i < from.labels.size(); ++i) {
        const auto [it, added] = index.emplace(from.labels[i], int(into.labels.size()));
        if (added)
            into.labels.push_back(from.labels[i]);
        remap[i] = it->second;
    }
    for (core::Clip &clip : from.clips) {
        clip.label = remap[std::size_t(clip.label)];
        into.clips.push_back(std::move(clip));
    }
    into.noise.insert(into.noise.end(), from.noise.begin(), from.noise.end());
    into.skipped.insert(into.skipped.end(), from.skipped.begin(), from.skipped.end());
}

void ImportWorker::import(
    const QStringList &paths, core::DatasetLayout layout, const QString &label)
{
    try {
        if (paths.isEmpty())
            throw core::Error(core::ErrorKind::Usage, "nothing to import");
        core::Dataset result;
        QStringList parts;
        std::vector<fs::path> loose;
        for (const QString &path : paths) {
            const QFileInfo info(path);
            const fs::path p = path.toStdString();
            const bool manifest = info.isFile()
                && (info.suffix().compare("csv", Qt::CaseInsensitive) == 0
                    || info.suffix().compare("tsv", Qt::CaseInsensitive) == 0);
            if (info.isDir() || manifest) {
                core::Dataset d = core::importDataset(p, { .layout = layout });
                parts << QStringLiteral("%1 (%2)").arg(
                    path, QString::fromStdString(core::enumName(d.layout)));
                merge(result, std::move(d));
            } else if (!info.exists()) {
                throw core::Error(core::ErrorKind::Io, "no such file or folder", p);
            } else {
                loose.push_back(p);
            }
        }
        if (!loose.empty()) {
            merge(result, core::importFiles(loose, label.toStdString()));
            parts << (loose.size() == 1 ? QString::fromStdString(loose.front().string())
                                        : QStringLiteral("%1 audio files").arg(loose.size()));
        }
        Q_EMIT imported(result, parts.join(QStringLiteral(", ")));
    } catch (const std::exception &e) { // core::Error or bad_alloc: never past the thread
        Q_EMIT failed(QString::fromStdString(e.what()));
    }
}

} // namespace astpeft::ui
