// SPDX-License-Identifier: MIT
#include "data/layouts.h"

#include "data/dataset_files.h"
#include "error.h"

#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace astpeft::core {

namespace fs = std::filesystem;

namespace detail {

Entry skipped(fs::path file, std::string reason)
{
    Entry entry;
    entry.file = std::move(file);
    entry.skip = std::move(reason);
    return entry;
}

std::string withWhere(const std::string &reason, const std::string &where)
{
    return where.empty() ? reason : reason + " (" + where + ")";
}

fs::path resolve(const fs::path &base, const std::string &cell)
{
    const fs::path path(cell);
    return (path.is_absolute() ? path : base / path).lexically_normal();
}

namespace {

// In detectLayout's order; see layouts().
constexpr LayoutInfo kLayouts[] = {
    { DatasetLayout::Esc50, "esc50", "meta/esc50.csv", false, detectEsc50, readEsc50 },
    { DatasetLayout::UrbanSound8K, "urbansound8k", "metadata/UrbanSound8K.csv", false,
        detectUrbanSound8K, readUrbanSound8K },
    { DatasetLayout::FluentSpeechCommands, "fluent-speech-commands",
        "data/{train,valid,test}_data.csv", false, detectFluentSpeechCommands,
        readFluentSpeechCommands },
    { DatasetLayout::SpeechCommands, "speech-commands", "validation_list.txt or testing_list.txt",
        false, detectSpeechCommands, readSpeechCommands },
    { DatasetLayout::Csv, "csv", "manifest.csv or manifest.tsv", true, detectCsvManifest,
        readCsvManifest },
    { DatasetLayout::AudioFolder, "audiofolder", "metadata.csv", false, detectAudioFolder,
        readAudioFolder },
    { DatasetLayout::Folders, "folders", "class folders holding audio files", false, detectFolders,
        readFolders },
};

// Every layout but Auto exactly once, under its enumName.
constexpr bool tableMatchesEnum()
{
    if (std::size(kLayouts) + 1 != std::size(EnumTable<DatasetLayout>::items))
        return false;
    for (const auto &[layout, name] : EnumTable<DatasetLayout>::items) {
        int found = 0;
        for (const LayoutInfo &info : kLayouts) {
            if (info.layout == layout && std::string_view(info.name) == name)
                ++found;
        }
        if (found != (layout == DatasetLayout::Auto ? 0 : 1))
            return false;
    }
    return true;
}
static_assert(
    tableMatchesEnum(), "kLayouts: one entry per DatasetLayout but Auto, named as enumName");

} // namespace

std::span<const LayoutInfo> layouts()
{
    return kLayouts;
}

const LayoutInfo *findLayout(DatasetLayout layout)
{
    for (const LayoutInfo &info : kLayouts) {
        if (info.layout == layout)
            return &info;
    }
    return nullptr;
}

} // namespace detail

DatasetLayout detectLayout(const fs::path &path)
{
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (status.type() == fs::file_type::not_found)
        throw Error(ErrorKind::Io, "no such file or folder", path);
    if (ec)
        throw Error(ErrorKind::Io, "cannot access: " + ec.message(), path);
    if (fs::is_regular_file(status)) {
        const std::string ext = detail::lowerExtension(path);
        if (ext == ".csv" || ext == ".tsv")
            return DatasetLayout::Csv;
        throw Error(
            ErrorKind::Format, "not a dataset: expected a folder or a .csv/.tsv manifest", path);
    }
    if (!fs::is_directory(status))
        throw Error(ErrorKind::Format, "not a folder or a .csv/.tsv manifest", path);

    // The first layout whose marks the folder has; else an error listing what was looked for.
    const auto table = detail::layouts();
    std::string lookedFor;
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (table[i].detect(path))
            return table[i].layout;
        lookedFor += std::string(i == 0 ? "" : ", ") + (i + 1 == table.size() ? "and " : "")
            + table[i].lookedFor + " (" + table[i].name + ")";
    }
    throw Error(ErrorKind::Format, "no known dataset layout; looked for " + lookedFor, path);
}

} // namespace astpeft::core
