// SPDX-License-Identifier: MIT
// The layouts with CSV manifests: Csv (path,label[,split|fold|group]), ESC-50, UrbanSound8K,
// Fluent Speech Commands and Hugging Face AudioFolder.
#include "data/layouts.h"

#include "data/csv_table.h"
#include "data/dataset_files.h"
#include "error.h"

#include <algorithm>
#include <map>
#include <utility>

namespace astpeft::core::detail {

namespace fs = std::filesystem;

namespace {

// The manifest of a Csv folder, or the file itself.
fs::path csvManifest(const fs::path &path)
{
    if (!isDirectory(path))
        return path;
    for (const char *name : { "manifest.csv", "manifest.tsv" }) {
        if (isFile(path / name))
            return path / name;
    }
    throw Error(ErrorKind::Format, "no manifest.csv or manifest.tsv in the folder", path);
}

// Appends `read(row)`, the entry of each row of `table`. A malformed row (CsvRow::problem), or
// one that `read` rejects with core::Error(Format) (a bad number, an unknown split, an empty
// path), does not fail the import: it is listed as skipped, naming the manifest, the line and
// the problem, like a bad clip (importDataset fails only when no clip is left).
template<typename Read> void readRows(const CsvTable &table, Listing &listing, Read &&read)
{
    for (const CsvRow &row : table.rows) {
        if (!row.problem.empty()) {
            listing.entries.push_back(skipped(table.file, row.problem));
            continue;
        }
        try {
            listing.entries.push_back(read(row));
        } catch (const Error &e) {
            if (e.kind() != ErrorKind::Format)
                throw;
            listing.entries.push_back(skipped(table.file, e.reason()));
        }
    }
}

} // namespace

bool detectCsvManifest(const fs::path &folder)
{
    return isFile(folder / "manifest.csv") || isFile(folder / "manifest.tsv");
}

// path|file|filename|file_name, label|class|category, and optionally split, fold and a group
// column (group|speaker|speaker_id|source).
Listing readCsvManifest(const fs::path &path)
{
    const fs::path manifest = csvManifest(path);
    const CsvTable table = readCsv(manifest);
    const int pathColumn = table.column({ "path", "file", "filename", "file_name" });
    const int labelColumn = table.column({ "label", "class", "category" });
    const int splitColumn = table.column({ "split" }, false);
    const int foldColumn = table.column({ "fold" }, false);
    const int groupColumn = table.column({ "group", "speaker", "speaker_id", "source" }, false);
    const fs::path base = manifest.parent_path();

    Listing listing;
    readRows(table, listing, [&](const CsvRow &row) {
        const std::string &file = row.cells[std::size_t(pathColumn)];
        if (file.empty()) {
            throw Error(
                ErrorKind::Format, "line " + std::to_string(row.line) + ": empty path", manifest);
        }
        Entry entry;
        entry.file = resolve(base, file);
        entry.label = row.cells[std::size_t(labelColumn)];
        entry.where = table.where(row);
        entry.listed = true;
        if (splitColumn >= 0) {
            const std::string &text = row.cells[std::size_t(splitColumn)];
            if (!text.empty()) {
                const auto split = parseSplitName(text);
                if (!split) {
                    throw Error(ErrorKind::Format,
                        "line " + std::to_string(row.line) + ": unknown split '" + text
                            + "' (expected train, validation, valid, val, dev or test)",
                        manifest);
                }
                entry.split = *split;
            }
        }
        if (foldColumn >= 0 && !row.cells[std::size_t(foldColumn)].empty())
            entry.fold = intCell(table, row, foldColumn, 1);
        if (groupColumn >= 0)
            entry.group = row.cells[std::size_t(groupColumn)];
        if (entry.label.empty())
            entry.skip = withWhere("no label", entry.where);
        return entry;
    });
    return listing;
}

namespace {

// Labels by class id: labels[id] = name, checking that ids and names match one to one.
struct LabelIds
{
    std::map<int, std::string> byId;
    std::map<std::string, int> byName;

    void add(const CsvTable &table, const CsvRow &row, int id, const std::string &name)
    {
        if (name.empty()) {
            throw Error(ErrorKind::Format,
                "line " + std::to_string(row.line) + ": empty class name", table.file);
        }
        // Checked before anything is added, so that a rejected row leaves no trace.
        if (const auto known = byId.find(id); known != byId.end() && known->second != name) {
            throw Error(ErrorKind::Format,
                "line " + std::to_string(row.line) + ": class id " + std::to_string(id) + " is '"
                    + known->second + "' on an earlier line, here '" + name + "'",
                table.file);
        }
        if (const auto known = byName.find(name); known != byName.end() && known->second != id) {
            throw Error(ErrorKind::Format,
                "line " + std::to_string(row.line) + ": class '" + name + "' has id "
                    + std::to_string(known->second) + " on an earlier line, here "
                    + std::to_string(id),
                table.file);
        }
        byId.emplace(id, name);
        byName.emplace(name, id);
    }
    std::vector<std::string> ordered() const
    {
        std::vector<std::string> names;
        for (const auto &[id, name] : byId)
            names.push_back(name);
        return names;
    }
};

} // namespace

bool detectEsc50(const fs::path &folder)
{
    return isFile(folder / "meta" / "esc50.csv");
}

Listing readEsc50(const fs::path &root)
{
    const fs::path manifest = root / "meta" / "esc50.csv";
    if (!isFile(manifest))
        throw Error(ErrorKind::Format, "not an ESC-50 folder: no meta/esc50.csv", root);
    const CsvTable table = readCsv(manifest);
    const int fileColumn = table.column({ "filename" });
    const int foldColumn = table.column({ "fold" });
    const int targetColumn = table.column({ "target" });
    const int categoryColumn = table.column({ "category" });
    const int sourceColumn = table.column({ "src_file" }, false);

    Listing listing;
    LabelIds ids;
    readRows(table, listing, [&](const CsvRow &row) {
        const std::string &category = row.cells[std::size_t(categoryColumn)];
        const int target = intCell(table, row, targetColumn);
        Entry entry;
        entry.file = resolve(root / "audio", row.cells[std::size_t(fileColumn)]);
        entry.label = category;
        entry.fold = intCell(table, row, foldColumn, 1);
        if (sourceColumn >= 0)
            entry.group = row.cells[std::size_t(sourceColumn)];
        entry.where = table.where(row);
        entry.listed = true;
        ids.add(table, row, target, category); // last: a row rejected above adds no class
        return entry;
    });
    listing.labelOrder = ids.ordered();
    return listing;
}

bool detectUrbanSound8K(const fs::path &folder)
{
    return isFile(folder / "metadata" / "UrbanSound8K.csv");
}

Listing readUrbanSound8K(const fs::path &root)
{
    const fs::path manifest = root / "metadata" / "UrbanSound8K.csv";
    if (!isFile(manifest)) {
        throw Error(
            ErrorKind::Format, "not an UrbanSound8K folder: no metadata/UrbanSound8K.csv", root);
    }
    const CsvTable table = readCsv(manifest);
    const int fileColumn = table.column({ "slice_file_name" });
    const int sourceColumn = table.column({ "fsid" });
    const int foldColumn = table.column({ "fold" });
    const int idColumn = table.column({ "classid" });
    const int classColumn = table.column({ "class" });

    Listing listing;
    LabelIds ids;
    readRows(table, listing, [&](const CsvRow &row) {
        const std::string &name = row.cells[std::size_t(classColumn)];
        const int id = intCell(table, row, idColumn);
        Entry entry;
        entry.fold = intCell(table, row, foldColumn, 1);
        entry.file = resolve(root / "audio" / ("fold" + std::to_string(entry.fold)),
            row.cells[std::size_t(fileColumn)]);
        entry.label = name;
        entry.group = row.cells[std::size_t(sourceColumn)];
        entry.where = table.where(row);
        entry.listed = true;
        ids.add(table, row, id, name); // last: a row rejected above adds no class
        return entry;
    });
    listing.labelOrder = ids.ordered();
    return listing;
}

namespace {

constexpr std::pair<const char *, Split> kFluentFiles[] = {
    { "train_data.csv", Split::Train },
    { "valid_data.csv", Split::Validation },
    { "test_data.csv", Split::Test },
};

} // namespace

bool detectFluentSpeechCommands(const fs::path &folder)
{
    for (const auto &[name, split] : kFluentFiles) {
        if (isFile(folder / "data" / name))
            return true;
    }
    return false;
}

Listing readFluentSpeechCommands(const fs::path &root)
{
    Listing listing;
    bool any = false;
    for (const auto &[name, fileSplit] : kFluentFiles) {
        const Split split = fileSplit; // a lambda below uses it
        const fs::path manifest = root / "data" / name;
        if (!isFile(manifest))
            continue;
        any = true;
        const CsvTable table = readCsv(manifest);
        const int pathColumn = table.column({ "path" });
        const int speakerColumn = table.column({ "speakerid" });
        const int actionColumn = table.column({ "action" });
        const int objectColumn = table.column({ "object" });
        const int locationColumn = table.column({ "location" });
        readRows(table, listing, [&](const CsvRow &row) {
            Entry entry;
            entry.file = resolve(root, row.cells[std::size_t(pathColumn)]);
            entry.label = row.cells[std::size_t(actionColumn)] + '-'
                + row.cells[std::size_t(objectColumn)] + '-'
                + row.cells[std::size_t(locationColumn)];
            entry.split = split;
            entry.group = row.cells[std::size_t(speakerColumn)];
            entry.where = table.where(row);
            entry.listed = true;
            return entry;
        });
    }
    if (!any) {
        throw Error(ErrorKind::Format,
            "not a Fluent Speech Commands folder: no data/train_data.csv, data/valid_data.csv or "
            "data/test_data.csv",
            root);
    }
    return listing;
}

namespace {

// metadata.csv of an AudioFolder: in root, and in its split folders (train, validation, test).
std::vector<std::pair<fs::path, Split>> audioFolderMetadata(const fs::path &root)
{
    std::vector<std::pair<fs::path, Split>> files;
    if (isFile(root / "metadata.csv"))
        files.emplace_back(root / "metadata.csv", Split::Unassigned);
    for (const auto &entry : listFolder(root)) {
        if (isDirectory(entry.path()) && !isHidden(entry.path())) {
            if (const auto split = parseSplitName(entry.path().filename().string())) {
                if (isFile(entry.path() / "metadata.csv"))
                    files.emplace_back(entry.path() / "metadata.csv", *split);
            }
        }
    }
    // The root first, then train, validation, test.
    std::stable_sort(files.begin(), files.end(),
        [](const auto &a, const auto &b) { return a.second < b.second; });
    return files;
}

} // namespace

bool detectAudioFolder(const fs::path &folder)
{
    return !audioFolderMetadata(folder).empty();
}

// Hugging Face AudioFolder: file_name relative to the metadata.csv; the label from a
// label|class|category column, else the name of the folder holding the file. The split from
// the split folder holding the metadata.csv, else the first folder of file_name.
Listing readAudioFolder(const fs::path &root)
{
    const auto metadata = audioFolderMetadata(root);
    if (metadata.empty())
        throw Error(ErrorKind::Format, "not an AudioFolder: no metadata.csv", root);
    Listing listing;
    for (const auto &[metadataFile, metadataSplit] : metadata) {
        // Named copies: a lambda below uses them (no capture of structured bindings in C++20).
        const fs::path &manifest = metadataFile;
        const Split folderSplit = metadataSplit;
        const CsvTable table = readCsv(manifest);
        const int fileColumn = table.column({ "file_name", "filename", "file", "path" });
        const int labelColumn = table.column({ "label", "class", "category" }, false);
        const fs::path base = manifest.parent_path();
        readRows(table, listing, [&](const CsvRow &row) {
            const std::string &name = row.cells[std::size_t(fileColumn)];
            if (name.empty()) {
                throw Error(ErrorKind::Format, "line " + std::to_string(row.line) + ": empty path",
                    manifest);
            }
            Entry entry;
            entry.file = resolve(base, name);
            entry.where = table.where(row);
            entry.listed = true;
            entry.split = folderSplit;
            const fs::path relative = fs::path(name).lexically_normal();
            if (entry.split == Split::Unassigned && relative.has_parent_path()) {
                entry.split =
                    parseSplitName(relative.begin()->string()).value_or(Split::Unassigned);
            }
            if (labelColumn >= 0) {
                entry.label = row.cells[std::size_t(labelColumn)];
            } else {
                const fs::path folder = entry.file.parent_path();
                if (folder != base.lexically_normal()
                    && !parseSplitName(folder.filename().string()))
                    entry.label = folder.filename().string();
            }
            if (entry.label.empty()) {
                entry.skip = withWhere(
                    labelColumn >= 0 ? "no label" : "no label: not in a class folder", entry.where);
            }
            return entry;
        });
    }
    return listing;
}

} // namespace astpeft::core::detail
