// SPDX-License-Identifier: MIT
#include "demo.h"

#include "error.h"
#include "main_window.h"
#include "project/demo_project.h"
#include "runtime/resources.h"

namespace astpeft::ui {

bool openDemoProject(MainWindow &window, const QString &dir, QString *error)
{
    std::filesystem::path where;
    try {
        where = dir.isEmpty() ? core::defaultDemoProjectDir()
                              : std::filesystem::path(dir.toStdString());
        // Both looked up before anything is created, so that a missing one leaves no project.
        const std::filesystem::path data = core::demoDataDir();
        const std::filesystem::path backbone = core::bundledBackboneDir();
        core::openDemoProject(where, data, backbone);
    } catch (const core::Error &e) {
        if (error)
            *error = QString::fromStdString(e.what());
        return false;
    }
    // The project's backbone is set: opening it starts loading the model.
    if (!window.openProject(QString::fromStdString(where.string()))) {
        if (error) {
            *error = QStringLiteral("could not open the demo project in %1")
                         .arg(QString::fromStdString(where.string()));
        }
        return false;
    }
    return true;
}

} // namespace astpeft::ui
