// SPDX-License-Identifier: MIT
// The studio's demo project (astpeft-studio --demo): the bundled demo dataset imported into a
// project whose backbone is the bundled pretrained one, ready to train. Torch-free.
#pragma once

#include "project/project.h"

#include <filesystem>

namespace astpeft::core {

// $XDG_DATA_HOME/astpeft/demo-project, or ~/.local/share/astpeft/demo-project when
// XDG_DATA_HOME is unset or not absolute (the XDG base directory rule). Not created.
std::filesystem::path defaultDemoProjectDir();

// Opens the project in `dir`, or creates it when `dir` holds no project.json: named "Demo",
// every clip of `demoData` (folder per class) imported, the backbone set to `backbone`. An
// existing project keeps its clips and settings; only a backbone that is unset or no longer
// exists is replaced by `backbone` (saved). Throws core::Error naming the file: a dataset that
// cannot be imported, a folder that is not empty and holds no project, an unwritable folder.
Project openDemoProject(const std::filesystem::path &dir, const std::filesystem::path &demoData,
    const std::filesystem::path &backbone);

} // namespace astpeft::core
