// SPDX-License-Identifier: MIT
// The read-only files that ship with the program: the bundled pretrained backbone (a Hugging
// Face AST folder) and the demo dataset (folder per class). Torch-free.
//
// The resource folder is the first of these that is a folder:
//   1. $ASTPEFT_RESOURCE_DIR (when set and not empty; it must then be a folder, else an error:
//      an explicit choice is never silently replaced by another folder)
//   2. <folder of the running executable>/../share/astpeft (an installed package:
//      /usr/bin/astpeft -> /usr/share/astpeft)
//   3. the source tree's resources/ (a build run from its build folder)
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace astpeft::core {

// The candidate folders in search order (those that do not exist included; the environment
// variable only when set).
std::vector<std::filesystem::path> resourceSearchPath();

// The first candidate that is a folder. Throws core::Error(Io) naming every place searched when
// none is, or naming $ASTPEFT_RESOURCE_DIR when it is set to something that is not a folder.
std::filesystem::path resourceDir();

// resourceDir()/backbone; throws core::Error(Io) naming that folder and every place searched
// when it holds no config.json.
std::filesystem::path bundledBackboneDir();

// resourceDir()/demo; throws core::Error(Io) naming that folder and every place searched when it
// is missing.
std::filesystem::path demoDataDir();

// The user's writable data folder for the program: $XDG_DATA_HOME/astpeft when XDG_DATA_HOME is
// an absolute path, else $HOME/.local/share/astpeft (the XDG base directory rules). Holds
// downloaded models and the demo project. Throws core::Error(Usage) saying that neither is set
// and that `what` needs an explicit folder.
std::filesystem::path userDataDir(const std::string &what);

} // namespace astpeft::core
