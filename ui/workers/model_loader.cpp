// SPDX-License-Identifier: MIT
#include "workers/model_loader.h"

#include "error.h"

namespace astpeft::ui {

void ModelLoader::load(const QString &path)
{
    try {
        // CPU is enough to read the configuration and count parameters.
        const core::AstClassifier model(path.toStdString(), { .device = "cpu" });
        Q_EMIT loaded(path, model.summary());
    } catch (const std::exception &e) { // a core::Error, or out of memory: never past the thread
        Q_EMIT failed(path, QString::fromStdString(e.what()));
    }
}

} // namespace astpeft::ui
