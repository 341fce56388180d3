// SPDX-License-Identifier: MIT
// astpeft-studio --demo: the demo project (core/project/demo_project.h) opened in the window.
// GUI thread only.
#pragma once

#include <QString>

namespace astpeft::ui {

class MainWindow;

// Opens the demo project in `window`, creating it first when `dir` holds none: every clip of
// the bundled demo dataset (core::demoDataDir()) imported, the bundled backbone
// (core::bundledBackboneDir()) as the model, which then loads in the window's worker thread.
// `dir` empty: core::defaultDemoProjectDir() ($XDG_DATA_HOME/astpeft/demo-project). Returns
// false with the reason in *error, and opens nothing, when the bundled files are missing or the
// folder cannot be used (not empty and no project, unwritable).
bool openDemoProject(MainWindow &window, const QString &dir = {}, QString *error = nullptr);

} // namespace astpeft::ui
