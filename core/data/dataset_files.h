// SPDX-License-Identifier: MIT
// File-system helpers shared by the dataset layouts and the import: which files are audio,
// sorted folder listings, split folder names. Core-internal (data/ only); torch-free.
#pragma once

#include "data/dataset.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace astpeft::core::detail {

// Background noise in folder layouts (Speech Commands' name): not a class.
inline constexpr const char *kNoiseFolder = "_background_noise_";

std::string lowerExtension(const std::filesystem::path &path);

// Readable by libsndfile (with its MP3 and Opus support, Debian 12).
bool isAudioFile(const std::filesystem::path &path);

bool isHidden(const std::filesystem::path &path);

// Files that sit next to audio in dataset folders and are obviously not audio: hidden files,
// text, tables, documentation, scripts, OS droppings. They are ignored without a report; any
// other non-audio file in a class folder is reported as "not an audio file".
bool isObviouslyNotAudio(const std::filesystem::path &path);

// A split folder's name, or a manifest's split cell: train|training, validation|valid|val|dev,
// test|testing (any case, trimmed).
std::optional<Split> parseSplitName(const std::string &name);

// Never throw: false when the path cannot be checked.
bool isFile(const std::filesystem::path &path);
bool isDirectory(const std::filesystem::path &path);

// The entries of a folder, sorted by name. Throws core::Error(Io) when it cannot be read.
std::vector<std::filesystem::directory_entry> listFolder(const std::filesystem::path &dir);

// The files under `dir` (recursively, hidden files and folders left out), sorted by path.
// Throws core::Error(Io) when it cannot be read.
std::vector<std::filesystem::path> listFiles(const std::filesystem::path &dir);

// Whether `dir` holds an audio file within `depth` folder levels.
bool holdsAudio(const std::filesystem::path &dir, int depth);

} // namespace astpeft::core::detail
