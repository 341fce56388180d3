// SPDX-License-Identifier: MIT
// The dataset layouts importDataset reads, as one table: per layout its name, how detectLayout
// recognises a folder of it, and the reader that lists its clips (a Listing, probed later by
// importDataset). Core-internal (data/ only); torch-free.
#pragma once

#include "data/dataset.h"

#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace astpeft::core::detail {

// A clip as a layout lists it, before probing.
struct Entry
{
    std::filesystem::path file;
    std::string label;
    Split split = Split::Unassigned;
    int fold = 0;
    std::string group;
    std::string where; // "manifest.csv line 4" for messages; empty for folder listings
    bool listed = false; // named by a manifest or list: may be missing
    std::string skip; // non-empty: reported in Dataset::skipped with this reason
};

struct Listing
{
    std::vector<Entry> entries;
    std::vector<std::string> labelOrder; // fixed by the layout (by class id); empty: by name
    std::vector<std::filesystem::path> noise;
};

// An entry that is reported in Dataset::skipped with `reason`.
Entry skipped(std::filesystem::path file, std::string reason);
// "reason (manifest.csv line 4)", or the reason alone when `where` is empty.
std::string withWhere(const std::string &reason, const std::string &where);
// A path from a manifest cell: relative paths resolve against `base`.
std::filesystem::path resolve(const std::filesystem::path &base, const std::string &cell);

struct LayoutInfo
{
    DatasetLayout layout;
    const char *name; // enumName(layout), checked at compile time
    const char *lookedFor; // what detect() looks for, in detectLayout's message
    bool acceptsFile; // reads a manifest file given directly; the others need a folder
    // Whether the folder has this layout's marks. May throw core::Error(Io) for an unreadable
    // folder.
    bool (*detect)(const std::filesystem::path &folder);
    // The clips of the dataset at `path`. Throws core::Error (Io, Format naming file and line).
    Listing (*read)(const std::filesystem::path &path);
};

// Every layout but Auto, in detectLayout's order: the first whose detect() matches a folder
// wins. Layouts with a named marker file come first, most specific first (a Speech Commands or
// ESC-50 folder also holds audio in sub-folders); Folders, which only looks for audio, is last.
std::span<const LayoutInfo> layouts();

// The table entry of `layout`; nullptr for Auto.
const LayoutInfo *findLayout(DatasetLayout layout);

// Each layout's detect and read, beside each other (layouts_folders.cpp: Folders and Speech
// Commands; layouts_manifests.cpp: the layouts with CSV manifests).
bool detectFolders(const std::filesystem::path &folder);
Listing readFolders(const std::filesystem::path &root);
bool detectSpeechCommands(const std::filesystem::path &folder);
Listing readSpeechCommands(const std::filesystem::path &root);
bool detectCsvManifest(const std::filesystem::path &folder);
Listing readCsvManifest(const std::filesystem::path &path);
bool detectEsc50(const std::filesystem::path &folder);
Listing readEsc50(const std::filesystem::path &root);
bool detectUrbanSound8K(const std::filesystem::path &folder);
Listing readUrbanSound8K(const std::filesystem::path &root);
bool detectFluentSpeechCommands(const std::filesystem::path &folder);
Listing readFluentSpeechCommands(const std::filesystem::path &root);
bool detectAudioFolder(const std::filesystem::path &folder);
Listing readAudioFolder(const std::filesystem::path &root);

} // namespace astpeft::core::detail
