// SPDX-License-Identifier: MIT
// The folder layouts: Folders (a folder per class) and Speech Commands (a folder per word with
// validation and test lists).
#include "data/layouts.h"

#include "data/csv_table.h"
#include "data/dataset_files.h"
#include "error.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <utility>

namespace astpeft::core::detail {

namespace fs = std::filesystem;

namespace {

// Audio files of a class folder (recursively) as entries of `label`; other files are ignored
// when obviously not audio, else reported.
void addClassFolder(Listing &listing, const fs::path &dir, const std::string &label, Split split)
{
    for (const fs::path &file : listFiles(dir)) {
        if (isAudioFile(file)) {
            Entry entry;
            entry.file = file;
            entry.label = label;
            entry.split = split;
            listing.entries.push_back(std::move(entry));
        } else if (!isObviouslyNotAudio(file)) {
            listing.entries.push_back(skipped(file, "not an audio file"));
        }
    }
}

void addNoiseFolder(Listing &listing, const fs::path &dir)
{
    for (const fs::path &file : listFiles(dir)) {
        if (isAudioFile(file)) {
            listing.noise.push_back(file);
        } else if (!isObviouslyNotAudio(file)) {
            listing.entries.push_back(skipped(file, "not an audio file"));
        }
    }
}

void sortByFile(std::vector<Entry> &entries)
{
    std::stable_sort(entries.begin(), entries.end(),
        [](const Entry &a, const Entry &b) { return a.file < b.file; });
}

// Whether root has split folders and every visible folder of it (the noise folder aside) is one.
bool isSplitFolderLayout(const fs::path &root)
{
    int splits = 0;
    for (const auto &entry : listFolder(root)) {
        if (!isDirectory(entry.path()) || isHidden(entry.path())
            || entry.path().filename() == kNoiseFolder)
            continue;
        if (!parseSplitName(entry.path().filename().string()))
            return false;
        ++splits;
    }
    return splits > 0;
}

} // namespace

// root/<label>/..., or root/{train,validation,test}/<label>/... when every visible folder of
// root is a split folder. Audio files outside class folders are reported.
Listing readFolders(const fs::path &root)
{
    Listing listing;
    std::vector<std::pair<fs::path, Split>> bases;
    if (isSplitFolderLayout(root)) {
        for (const auto &entry : listFolder(root)) {
            if (isDirectory(entry.path()) && !isHidden(entry.path())) {
                if (const auto split = parseSplitName(entry.path().filename().string()))
                    bases.emplace_back(entry.path(), *split);
            }
        }
    }
    bases.emplace_back(root, Split::Unassigned);

    for (const auto &[base, split] : bases) {
        const bool top = base == root;
        for (const auto &entry : listFolder(base)) {
            const fs::path &path = entry.path();
            if (isHidden(path))
                continue;
            if (isDirectory(path)) {
                if (path.filename() == kNoiseFolder) {
                    addNoiseFolder(listing, path);
                } else if (!top || bases.size() == 1) {
                    addClassFolder(listing, path, path.filename().string(), split);
                }
            } else if (isFile(path) && isAudioFile(path)) {
                listing.entries.push_back(skipped(path, "not in a class folder"));
            }
        }
    }
    sortByFile(listing.entries);
    std::sort(listing.noise.begin(), listing.noise.end());
    return listing;
}

// A sub-folder holding audio: a class folder, or a split folder of class folders.
bool detectFolders(const fs::path &folder)
{
    for (const auto &entry : listFolder(folder)) {
        if (!isDirectory(entry.path()) || isHidden(entry.path())
            || entry.path().filename() == kNoiseFolder)
            continue;
        if (holdsAudio(entry.path(), parseSplitName(entry.path().filename().string()) ? 4 : 3))
            return true;
    }
    return false;
}

namespace {

// Speech Commands: the part of the file name before "_nohash_".
std::string speakerOf(const fs::path &file)
{
    const std::string name = file.filename().string();
    const std::size_t at = name.find("_nohash_");
    return at == std::string::npos ? std::string() : name.substr(0, at);
}

} // namespace

bool detectSpeechCommands(const fs::path &folder)
{
    return isFile(folder / "validation_list.txt") || isFile(folder / "testing_list.txt");
}

Listing readSpeechCommands(const fs::path &root)
{
    if (!isFile(root / "validation_list.txt") && !isFile(root / "testing_list.txt")) {
        throw Error(ErrorKind::Format,
            "not a Speech Commands folder: no validation_list.txt or testing_list.txt", root);
    }

    // relative path -> (split, "validation_list.txt line 3")
    std::map<std::string, std::pair<Split, std::string>> listed;
    std::vector<std::string> listedOrder;
    for (const auto &[name, split] : { std::pair { "validation_list.txt", Split::Validation },
             std::pair { "testing_list.txt", Split::Test } }) {
        const fs::path file = root / name;
        if (!isFile(file))
            continue;
        std::ifstream in(file, std::ios::binary);
        if (!in)
            throw Error(ErrorKind::Io, "cannot open list", file);
        std::string line;
        for (int number = 1; std::getline(in, line); ++number) {
            const std::string entry = fs::path(trim(line)).lexically_normal().generic_string();
            if (entry.empty() || entry == ".")
                continue;
            if (!listed.contains(entry))
                listedOrder.push_back(entry);
            listed[entry] = { split, std::string(name) + " line " + std::to_string(number) };
        }
    }

    Listing listing;
    std::set<std::string> words;
    for (const auto &entry : listFolder(root)) {
        const fs::path &path = entry.path();
        if (isHidden(path))
            continue;
        if (isDirectory(path)) {
            if (path.filename() == kNoiseFolder) {
                addNoiseFolder(listing, path);
                continue;
            }
            words.insert(path.filename().string());
            addClassFolder(listing, path, path.filename().string(), Split::Train);
        } else if (isFile(path) && isAudioFile(path)) {
            listing.entries.push_back(skipped(path, "not in a class folder"));
        }
    }
    std::set<std::string> found; // listed files that are in the listing (reported there if unfit)
    for (Entry &entry : listing.entries) {
        const std::string relative = entry.file.lexically_relative(root).generic_string();
        const auto it = listed.find(relative);
        if (it != listed.end())
            found.insert(relative);
        if (!entry.skip.empty())
            continue;
        entry.group = speakerOf(entry.file);
        if (it != listed.end())
            entry.split = it->second.first;
    }
    sortByFile(listing.entries);
    std::sort(listing.noise.begin(), listing.noise.end());

    for (const std::string &relative : listedOrder) {
        if (found.contains(relative))
            continue;
        const std::string &where = listed.at(relative).second;
        const fs::path file = (root / relative).lexically_normal();
        const std::string word = fs::path(relative).begin()->string();
        if (!words.contains(word) || word == kNoiseFolder) {
            listing.entries.push_back(
                skipped(file, withWhere("unknown label '" + word + "'", where)));
        } else if (!isFile(file)) {
            listing.entries.push_back(skipped(file, withWhere("missing file", where)));
        } else { // listed, but not audio
            listing.entries.push_back(skipped(file, withWhere("not an audio file", where)));
        }
    }
    return listing;
}

} // namespace astpeft::core::detail
