// SPDX-License-Identifier: MIT
#include "data/dataset_files.h"

#include "data/csv_table.h"
#include "error.h"

#include <algorithm>
#include <set>
#include <system_error>

namespace astpeft::core::detail {

namespace fs = std::filesystem;

std::string lowerExtension(const fs::path &path)
{
    return lower(path.extension().string());
}

bool isAudioFile(const fs::path &path)
{
    static const std::set<std::string> kAudio = { ".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3",
        ".aif", ".aiff" };
    return kAudio.contains(lowerExtension(path));
}

bool isHidden(const fs::path &path)
{
    const std::string name = path.filename().string();
    return !name.empty() && name.front() == '.';
}

bool isObviouslyNotAudio(const fs::path &path)
{
    if (isHidden(path))
        return true;
    static const std::set<std::string> kText = { ".txt", ".csv", ".tsv", ".md", ".rst", ".json",
        ".jsonl", ".yaml", ".yml", ".xml", ".ini", ".cfg", ".log", ".html", ".htm", ".pdf", ".py",
        ".sh", ".db" };
    if (kText.contains(lowerExtension(path)))
        return true;
    const std::string stem = lower(path.stem().string());
    return stem == "readme" || stem == "license" || stem == "licence" || stem == "copying";
}

std::optional<Split> parseSplitName(const std::string &name)
{
    const std::string text = lower(trim(name));
    if (text == "train" || text == "training")
        return Split::Train;
    if (text == "validation" || text == "valid" || text == "val" || text == "dev")
        return Split::Validation;
    if (text == "test" || text == "testing")
        return Split::Test;
    return std::nullopt;
}

bool isFile(const fs::path &path)
{
    std::error_code ec;
    return fs::is_regular_file(path, ec);
}

bool isDirectory(const fs::path &path)
{
    std::error_code ec;
    return fs::is_directory(path, ec);
}

std::vector<fs::directory_entry> listFolder(const fs::path &dir)
{
    std::vector<fs::directory_entry> entries;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec))
        entries.push_back(*it);
    if (ec)
        throw Error(ErrorKind::Io, "cannot list folder: " + ec.message(), dir);
    std::sort(entries.begin(), entries.end(),
        [](const auto &a, const auto &b) { return a.path() < b.path(); });
    return entries;
}

std::vector<fs::path> listFiles(const fs::path &dir)
{
    std::vector<fs::path> files;
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code statusError;
        if (isHidden(it->path())) {
            if (it->is_directory(statusError))
                it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file(statusError))
            files.push_back(it->path());
    }
    if (ec)
        throw Error(ErrorKind::Io, "cannot list folder: " + ec.message(), dir);
    std::sort(files.begin(), files.end());
    return files;
}

bool holdsAudio(const fs::path &dir, int depth)
{
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code statusError;
        const bool hidden = isHidden(it->path());
        if (it->is_directory(statusError)) {
            if (hidden || it.depth() + 1 >= depth)
                it.disable_recursion_pending();
        } else if (!hidden && isAudioFile(it->path())) {
            return true;
        }
    }
    return false;
}

} // namespace astpeft::core::detail
