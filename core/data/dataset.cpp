// SPDX-License-Identifier: MIT
#include "data/dataset.h"

#include "audio/audio_file.h"
#include "data/csv_table.h"
#include "data/dataset_files.h"
#include "error.h"
#include "random.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace astpeft::core {

namespace fs = std::filesystem;
using namespace detail;

namespace {

// ----------------------------------------------------------------------------------------------
// Small helpers

// Independent random streams of assignSplits(), for rngFor(seed, stream, class).
constexpr std::uint64_t kSplitStream = 1;
constexpr std::uint64_t kFewShotStream = 2;

// "0.005" for too-short messages.
std::string formatSeconds(double seconds)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", seconds);
    return text;
}

// A path from a manifest cell: relative paths resolve against `base`.
fs::path resolve(const fs::path &base, const std::string &cell)
{
    const fs::path path(cell);
    return (path.is_absolute() ? path : base / path).lexically_normal();
}

// ----------------------------------------------------------------------------------------------
// Listings: what a layout reader finds, before probing

struct Entry
{
    fs::path file;
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
    std::vector<fs::path> noise;
};

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
        if (isAudioFile(file))
            listing.noise.push_back(file);
        else if (!isObviouslyNotAudio(file))
            listing.entries.push_back(skipped(file, "not an audio file"));
    }
}

void sortByFile(std::vector<Entry> &entries)
{
    std::stable_sort(entries.begin(), entries.end(),
        [](const Entry &a, const Entry &b) { return a.file < b.file; });
}

// root/<label>/..., or root/{train,validation,test}/<label>/... when every visible folder of
// root is a split folder. Audio files outside class folders are reported.
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

Listing readFolders(const fs::path &root)
{
    Listing listing;
    std::vector<std::pair<fs::path, Split>> bases;
    if (isSplitFolderLayout(root)) {
        for (const auto &entry : listFolder(root))
            if (isDirectory(entry.path()) && !isHidden(entry.path()))
                if (const auto split = parseSplitName(entry.path().filename().string()))
                    bases.emplace_back(entry.path(), *split);
    }
    bases.emplace_back(root, Split::Unassigned);

    for (const auto &[base, split] : bases) {
        const bool top = base == root;
        for (const auto &entry : listFolder(base)) {
            const fs::path &path = entry.path();
            if (isHidden(path))
                continue;
            if (isDirectory(path)) {
                if (path.filename() == kNoiseFolder)
                    addNoiseFolder(listing, path);
                else if (!top || bases.size() == 1)
                    addClassFolder(listing, path, path.filename().string(), split);
            } else if (isFile(path) && isAudioFile(path)) {
                listing.entries.push_back(skipped(path, "not in a class folder"));
            }
        }
    }
    sortByFile(listing.entries);
    std::sort(listing.noise.begin(), listing.noise.end());
    return listing;
}

// Speech Commands: the part of the file name before "_nohash_".
std::string speakerOf(const fs::path &file)
{
    const std::string name = file.filename().string();
    const std::size_t at = name.find("_nohash_");
    return at == std::string::npos ? std::string() : name.substr(0, at);
}

Listing readSpeechCommands(const fs::path &root)
{
    if (!isFile(root / "validation_list.txt") && !isFile(root / "testing_list.txt"))
        throw Error(ErrorKind::Format,
            "not a Speech Commands folder: no validation_list.txt or testing_list.txt", root);

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
        if (!words.contains(word) || word == kNoiseFolder)
            listing.entries.push_back(
                skipped(file, withWhere("unknown label '" + word + "'", where)));
        else if (!isFile(file))
            listing.entries.push_back(skipped(file, withWhere("missing file", where)));
        else // listed, but not audio
            listing.entries.push_back(skipped(file, withWhere("not an audio file", where)));
    }
    return listing;
}

// The manifest of a Csv folder, or the file itself.
fs::path csvManifest(const fs::path &path)
{
    if (!isDirectory(path))
        return path;
    for (const char *name : { "manifest.csv", "manifest.tsv" })
        if (isFile(path / name))
            return path / name;
    throw Error(ErrorKind::Format, "no manifest.csv or manifest.tsv in the folder", path);
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
    for (const CsvRow &row : table.rows) {
        const std::string &file = row.cells[std::size_t(pathColumn)];
        if (file.empty())
            throw Error(
                ErrorKind::Format, "line " + std::to_string(row.line) + ": empty path", manifest);
        Entry entry;
        entry.file = resolve(base, file);
        entry.label = row.cells[std::size_t(labelColumn)];
        entry.where = table.where(row);
        entry.listed = true;
        if (splitColumn >= 0) {
            const std::string &text = row.cells[std::size_t(splitColumn)];
            if (!text.empty()) {
                const auto split = parseSplitName(text);
                if (!split)
                    throw Error(ErrorKind::Format,
                        "line " + std::to_string(row.line) + ": unknown split '" + text
                            + "' (expected train, validation, valid, val, dev or test)",
                        manifest);
                entry.split = *split;
            }
        }
        if (foldColumn >= 0 && !row.cells[std::size_t(foldColumn)].empty())
            entry.fold = intCell(table, row, foldColumn, 1);
        if (groupColumn >= 0)
            entry.group = row.cells[std::size_t(groupColumn)];
        if (entry.label.empty())
            entry.skip = withWhere("no label", entry.where);
        listing.entries.push_back(std::move(entry));
    }
    return listing;
}

// Labels by class id: labels[id] = name, checking that ids and names match one to one.
struct LabelIds
{
    std::map<int, std::string> byId;
    std::map<std::string, int> byName;

    void add(const CsvTable &table, const CsvRow &row, int id, const std::string &name)
    {
        if (name.empty())
            throw Error(ErrorKind::Format,
                "line " + std::to_string(row.line) + ": empty class name", table.file);
        const std::string &known = byId.emplace(id, name).first->second;
        const int knownId = byName.emplace(name, id).first->second;
        if (known != name)
            throw Error(ErrorKind::Format,
                "line " + std::to_string(row.line) + ": class id " + std::to_string(id) + " is '"
                    + known + "' on an earlier line, here '" + name + "'",
                table.file);
        if (knownId != id)
            throw Error(ErrorKind::Format,
                "line " + std::to_string(row.line) + ": class '" + name + "' has id "
                    + std::to_string(knownId) + " on an earlier line, here " + std::to_string(id),
                table.file);
    }
    std::vector<std::string> ordered() const
    {
        std::vector<std::string> names;
        for (const auto &[id, name] : byId)
            names.push_back(name);
        return names;
    }
};

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
    for (const CsvRow &row : table.rows) {
        const std::string &category = row.cells[std::size_t(categoryColumn)];
        ids.add(table, row, intCell(table, row, targetColumn), category);
        Entry entry;
        entry.file = resolve(root / "audio", row.cells[std::size_t(fileColumn)]);
        entry.label = category;
        entry.fold = intCell(table, row, foldColumn, 1);
        if (sourceColumn >= 0)
            entry.group = row.cells[std::size_t(sourceColumn)];
        entry.where = table.where(row);
        entry.listed = true;
        listing.entries.push_back(std::move(entry));
    }
    listing.labelOrder = ids.ordered();
    return listing;
}

Listing readUrbanSound8K(const fs::path &root)
{
    const fs::path manifest = root / "metadata" / "UrbanSound8K.csv";
    if (!isFile(manifest))
        throw Error(
            ErrorKind::Format, "not an UrbanSound8K folder: no metadata/UrbanSound8K.csv", root);
    const CsvTable table = readCsv(manifest);
    const int fileColumn = table.column({ "slice_file_name" });
    const int sourceColumn = table.column({ "fsid" });
    const int foldColumn = table.column({ "fold" });
    const int idColumn = table.column({ "classid" });
    const int classColumn = table.column({ "class" });

    Listing listing;
    LabelIds ids;
    for (const CsvRow &row : table.rows) {
        const std::string &name = row.cells[std::size_t(classColumn)];
        ids.add(table, row, intCell(table, row, idColumn), name);
        Entry entry;
        entry.fold = intCell(table, row, foldColumn, 1);
        entry.file = resolve(root / "audio" / ("fold" + std::to_string(entry.fold)),
            row.cells[std::size_t(fileColumn)]);
        entry.label = name;
        entry.group = row.cells[std::size_t(sourceColumn)];
        entry.where = table.where(row);
        entry.listed = true;
        listing.entries.push_back(std::move(entry));
    }
    listing.labelOrder = ids.ordered();
    return listing;
}

constexpr std::pair<const char *, Split> kFluentFiles[] = {
    { "train_data.csv", Split::Train },
    { "valid_data.csv", Split::Validation },
    { "test_data.csv", Split::Test },
};

Listing readFluentSpeechCommands(const fs::path &root)
{
    Listing listing;
    bool any = false;
    for (const auto &[name, split] : kFluentFiles) {
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
        for (const CsvRow &row : table.rows) {
            Entry entry;
            entry.file = resolve(root, row.cells[std::size_t(pathColumn)]);
            entry.label = row.cells[std::size_t(actionColumn)] + '-'
                + row.cells[std::size_t(objectColumn)] + '-'
                + row.cells[std::size_t(locationColumn)];
            entry.split = split;
            entry.group = row.cells[std::size_t(speakerColumn)];
            entry.where = table.where(row);
            entry.listed = true;
            listing.entries.push_back(std::move(entry));
        }
    }
    if (!any)
        throw Error(ErrorKind::Format,
            "not a Fluent Speech Commands folder: no data/train_data.csv, data/valid_data.csv or "
            "data/test_data.csv",
            root);
    return listing;
}

// metadata.csv of an AudioFolder: in root, and in its split folders (train, validation, test).
std::vector<std::pair<fs::path, Split>> audioFolderMetadata(const fs::path &root)
{
    std::vector<std::pair<fs::path, Split>> files;
    if (isFile(root / "metadata.csv"))
        files.emplace_back(root / "metadata.csv", Split::Unassigned);
    for (const auto &entry : listFolder(root))
        if (isDirectory(entry.path()) && !isHidden(entry.path()))
            if (const auto split = parseSplitName(entry.path().filename().string()))
                if (isFile(entry.path() / "metadata.csv"))
                    files.emplace_back(entry.path() / "metadata.csv", *split);
    // The root first, then train, validation, test.
    std::stable_sort(files.begin(), files.end(),
        [](const auto &a, const auto &b) { return a.second < b.second; });
    return files;
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
    for (const auto &[manifest, folderSplit] : metadata) {
        const CsvTable table = readCsv(manifest);
        const int fileColumn = table.column({ "file_name", "filename", "file", "path" });
        const int labelColumn = table.column({ "label", "class", "category" }, false);
        const fs::path base = manifest.parent_path();
        for (const CsvRow &row : table.rows) {
            const std::string &name = row.cells[std::size_t(fileColumn)];
            if (name.empty())
                throw Error(ErrorKind::Format, "line " + std::to_string(row.line) + ": empty path",
                    manifest);
            Entry entry;
            entry.file = resolve(base, name);
            entry.where = table.where(row);
            entry.listed = true;
            entry.split = folderSplit;
            const fs::path relative = fs::path(name).lexically_normal();
            if (entry.split == Split::Unassigned && relative.has_parent_path())
                entry.split =
                    parseSplitName(relative.begin()->string()).value_or(Split::Unassigned);
            if (labelColumn >= 0) {
                entry.label = row.cells[std::size_t(labelColumn)];
            } else {
                const fs::path folder = entry.file.parent_path();
                if (folder != base.lexically_normal()
                    && !parseSplitName(folder.filename().string()))
                    entry.label = folder.filename().string();
            }
            if (entry.label.empty())
                entry.skip = withWhere(
                    labelColumn >= 0 ? "no label" : "no label: not in a class folder", entry.where);
            listing.entries.push_back(std::move(entry));
        }
    }
    return listing;
}

// ----------------------------------------------------------------------------------------------
// Probing

struct Probe
{
    AudioInfo info;
    std::string error; // non-empty: unreadable, with this reason
};

Probe probeOne(const fs::path &file)
{
    Probe probe;
    try {
        probe.info = probeAudio(file);
    } catch (const Error &e) {
        probe.error = e.reason();
    } catch (const std::exception &e) {
        probe.error = e.what();
    }
    return probe;
}

// Probes on several threads. libsndfile's error text for a failed open is process-wide, so
// failures are probed again one at a time for a reliable reason.
std::vector<Probe> probeAll(const std::vector<fs::path> &files)
{
    std::vector<Probe> probes(files.size());
    const std::size_t threads = std::min<std::size_t>(
        { std::max(1u, std::thread::hardware_concurrency()), 8, files.size() / 32 + 1 });
    std::atomic<std::size_t> next = 0;
    auto work = [&] {
        for (std::size_t i = next++; i < files.size(); i = next++)
            probes[i] = probeOne(files[i]);
    };
    {
        std::vector<std::jthread> pool;
        for (std::size_t t = 1; t < threads; ++t)
            pool.emplace_back(work);
        work();
    }
    if (threads > 1)
        for (std::size_t i = 0; i < files.size(); ++i)
            if (!probes[i].error.empty())
                probes[i] = probeOne(files[i]);
    return probes;
}

// Names in order: numerically when every name is an integer, else by bytes.
void sortLabels(std::vector<std::string> &labels)
{
    const bool numeric = std::all_of(labels.begin(), labels.end(),
        [](const std::string &name) { return parseInt(name).has_value(); });
    if (numeric)
        std::sort(labels.begin(), labels.end(), [](const std::string &a, const std::string &b) {
            return std::pair(*parseInt(a), a) < std::pair(*parseInt(b), b);
        });
    else
        std::sort(labels.begin(), labels.end());
}

Dataset finish(
    Listing listing, const fs::path &root, DatasetLayout layout, const ImportOptions &options)
{
    Dataset dataset;
    dataset.layout = layout;
    dataset.root = root;

    // Entries that are no clip, or a second mention of one.
    std::unordered_set<std::string> seen;
    for (Entry &entry : listing.entries) {
        if (!entry.skip.empty())
            continue;
        if (entry.listed && !isFile(entry.file))
            entry.skip = withWhere("missing file", entry.where);
        else if (!seen.insert(entry.file.lexically_normal().string()).second)
            entry.skip = withWhere("duplicate", entry.where);
    }

    std::vector<fs::path> toProbe;
    if (options.probe) {
        for (const Entry &entry : listing.entries)
            if (entry.skip.empty())
                toProbe.push_back(entry.file);
        toProbe.insert(toProbe.end(), listing.noise.begin(), listing.noise.end());
    }
    const std::vector<Probe> probes = probeAll(toProbe);

    std::vector<Clip> clips;
    std::vector<std::string> clipLabels;
    // Every label that had a candidate clip, readable or not: a class whose clips are all
    // unreadable stays a class (with no clips) so that assignSplits() names it, instead of the
    // model silently losing it.
    std::vector<std::string> candidateLabels;
    std::size_t p = 0;
    for (Entry &entry : listing.entries) {
        if (!entry.skip.empty()) {
            dataset.skipped.push_back({ entry.file, entry.skip });
            continue;
        }
        candidateLabels.push_back(entry.label);
        Clip clip;
        clip.file = entry.file;
        clip.split = clip.layoutSplit = entry.split;
        clip.fold = entry.fold;
        clip.group = entry.group;
        if (options.probe) {
            const Probe &probe = probes[p++];
            if (!probe.error.empty()) {
                dataset.skipped.push_back({ entry.file, "unreadable: " + probe.error });
                continue;
            }
            clip.seconds = probe.info.seconds();
            clip.sampleRate = probe.info.sampleRate;
            clip.channels = probe.info.channels;
            if (clip.seconds < options.minSeconds) {
                dataset.skipped.push_back({ entry.file,
                    "too short: " + formatSeconds(clip.seconds) + " s (minimum "
                        + formatSeconds(options.minSeconds) + " s)" });
                continue;
            }
        }
        clips.push_back(std::move(clip));
        clipLabels.push_back(std::move(entry.label));
    }
    for (const fs::path &noise : listing.noise) {
        const std::string error = options.probe ? probes[p++].error : std::string();
        if (error.empty())
            dataset.noise.push_back(noise);
        else
            dataset.skipped.push_back({ noise, "unreadable: " + error });
    }

    if (clips.empty()) {
        std::string message = "no usable audio clip";
        if (!dataset.skipped.empty())
            message += " (" + std::to_string(dataset.skipped.size()) + " file"
                + (dataset.skipped.size() == 1 ? "" : "s")
                + " skipped; first: " + dataset.skipped.front().file.string() + ": "
                + dataset.skipped.front().reason + ")";
        throw Error(ErrorKind::Usage, message, root);
    }

    if (!listing.labelOrder.empty()) {
        dataset.labels = std::move(listing.labelOrder);
    } else {
        dataset.labels = candidateLabels;
        sortLabels(dataset.labels);
        dataset.labels.erase(
            std::unique(dataset.labels.begin(), dataset.labels.end()), dataset.labels.end());
    }
    std::unordered_map<std::string, int> index;
    for (std::size_t i = 0; i < dataset.labels.size(); ++i)
        index.emplace(dataset.labels[i], int(i));
    for (std::size_t i = 0; i < clips.size(); ++i)
        clips[i].label = index.at(clipLabels[i]);
    dataset.clips = std::move(clips);
    return dataset;
}

// ----------------------------------------------------------------------------------------------
// Splits

// Clips sharing a non-empty group, or one clip.
struct Unit
{
    std::vector<std::size_t> clips;
    std::map<int, int> perClass;
};

// Moves whole units of the pool to validation (and test), per class: round(fraction * n) clips
// of the class's n pool clips, at least 1 when n >= 2, never its last training clip. Classes in
// label order, units in a seeded order; a unit that would overshoot a class's target is passed
// over once the class has one held-out clip, so that large groups do not swamp small classes.
void drawSplits(Dataset &dataset, const std::vector<std::size_t> &pool, bool needValidation,
    bool needTest, const SplitOptions &options)
{
    const std::size_t classes = dataset.labels.size();
    std::vector<Unit> units;
    std::unordered_map<std::string, std::size_t> unitOf;
    for (std::size_t i : pool) {
        const Clip &clip = dataset.clips[i];
        std::size_t u = units.size();
        if (!clip.group.empty())
            u = unitOf.emplace(clip.group, units.size()).first->second;
        if (u == units.size())
            units.emplace_back();
        units[u].clips.push_back(i);
        ++units[u].perClass[clip.label];
    }
    std::vector<std::size_t> order(units.size());
    for (std::size_t u = 0; u < order.size(); ++u)
        order[u] = u;
    Rng rng = rngFor(options.seed, kSplitStream);
    rng.shuffle(order);

    std::vector<std::vector<std::size_t>> unitsOf(classes); // in the seeded order
    std::vector<int> poolCount(classes, 0);
    for (std::size_t u : order)
        for (const auto &[label, count] : units[u].perClass) {
            unitsOf[std::size_t(label)].push_back(u);
            poolCount[std::size_t(label)] += count;
        }

    auto target = [](double fraction, int n) {
        return n < 2 ? 0 : std::max(1, int(std::lround(fraction * n)));
    };
    std::vector<int> validationTarget(classes, 0);
    std::vector<int> testTarget(classes, 0);
    for (std::size_t c = 0; c < classes; ++c) {
        const int n = poolCount[c];
        int v = needValidation ? target(options.validationFraction, n) : 0;
        int t = needTest ? target(options.testFraction, n) : 0;
        t = std::max(0, std::min(t, n - 1 - v));
        v = std::max(0, std::min(v, n - 1 - t));
        validationTarget[c] = v;
        testTarget[c] = t;
    }

    std::vector<Split> decided(units.size(), Split::Unassigned);
    std::vector<int> trainLeft = poolCount; // pool clips not held out
    auto canHoldOut = [&](std::size_t u) {
        for (const auto &[label, count] : units[u].perClass)
            if (trainLeft[std::size_t(label)] - count < 1)
                return false;
        return true;
    };

    for (const auto &[heldOut, targets] : { std::pair { Split::Validation, &validationTarget },
             std::pair { Split::Test, &testTarget } }) {
        const Split split = heldOut;
        std::vector<int> held(classes, 0);
        auto take = [&](std::size_t u) {
            decided[u] = split;
            for (const auto &[label, count] : units[u].perClass) {
                held[std::size_t(label)] += count;
                trainLeft[std::size_t(label)] -= count;
            }
        };
        for (std::size_t c = 0; c < classes; ++c) {
            const int goal = (*targets)[c];
            if (goal == 0 || held[c] >= goal)
                continue;
            const int label = int(c);
            if (held[c] == 0) {
                // The first unit that fits the target, else the smallest one.
                std::optional<std::size_t> best;
                for (std::size_t u : unitsOf[c]) {
                    if (decided[u] != Split::Unassigned || !canHoldOut(u))
                        continue;
                    const int count = units[u].perClass.at(label);
                    if (count <= goal) {
                        best = u;
                        break;
                    }
                    if (!best || count < units[*best].perClass.at(label))
                        best = u;
                }
                if (!best)
                    continue;
                take(*best);
            }
            for (std::size_t u : unitsOf[c]) {
                if (held[c] >= goal)
                    break;
                if (decided[u] == Split::Unassigned && held[c] + units[u].perClass.at(label) <= goal
                    && canHoldOut(u))
                    take(u);
            }
        }
    }
    for (std::size_t u = 0; u < units.size(); ++u)
        for (std::size_t i : units[u].clips)
            dataset.clips[i].split = decided[u] == Split::Unassigned ? Split::Train : decided[u];
}

void checkSplitOptions(const SplitOptions &options)
{
    auto fraction = [](double value, const char *name) {
        if (!(value >= 0.0 && value < 1.0))
            throw Error(ErrorKind::Usage,
                std::string(name) + " must be in [0, 1) (got " + std::to_string(value) + ")");
    };
    fraction(options.validationFraction, "validation fraction");
    fraction(options.testFraction, "test fraction");
    if (options.validationFraction + options.testFraction >= 1.0)
        throw Error(ErrorKind::Usage, "validation and test fractions must add up to less than 1");
    if (options.validationFold < 0 || options.testFold < 0)
        throw Error(ErrorKind::Usage, "folds are numbered from 1 (0 = default)");
    if (options.fewShot < 0)
        throw Error(ErrorKind::Usage,
            "few-shot count must be >= 0 (got " + std::to_string(options.fewShot) + ")");
}

} // namespace

// ----------------------------------------------------------------------------------------------

DatasetLayout detectLayout(const fs::path &path)
{
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (status.type() == fs::file_type::not_found)
        throw Error(ErrorKind::Io, "no such file or folder", path);
    if (ec)
        throw Error(ErrorKind::Io, "cannot access: " + ec.message(), path);
    if (fs::is_regular_file(status)) {
        const std::string ext = lowerExtension(path);
        if (ext == ".csv" || ext == ".tsv")
            return DatasetLayout::Csv;
        throw Error(
            ErrorKind::Format, "not a dataset: expected a folder or a .csv/.tsv manifest", path);
    }
    if (!fs::is_directory(status))
        throw Error(ErrorKind::Format, "not a folder or a .csv/.tsv manifest", path);

    if (isFile(path / "meta" / "esc50.csv"))
        return DatasetLayout::Esc50;
    if (isFile(path / "metadata" / "UrbanSound8K.csv"))
        return DatasetLayout::UrbanSound8K;
    for (const auto &[name, split] : kFluentFiles)
        if (isFile(path / "data" / name))
            return DatasetLayout::FluentSpeechCommands;
    if (isFile(path / "validation_list.txt") || isFile(path / "testing_list.txt"))
        return DatasetLayout::SpeechCommands;
    if (isFile(path / "manifest.csv") || isFile(path / "manifest.tsv"))
        return DatasetLayout::Csv;
    if (!audioFolderMetadata(path).empty())
        return DatasetLayout::AudioFolder;
    for (const auto &entry : listFolder(path)) {
        if (!isDirectory(entry.path()) || isHidden(entry.path())
            || entry.path().filename() == kNoiseFolder)
            continue;
        // A class folder, or a split folder of class folders.
        if (holdsAudio(entry.path(), parseSplitName(entry.path().filename().string()) ? 4 : 3))
            return DatasetLayout::Folders;
    }
    throw Error(ErrorKind::Format,
        "no known dataset layout; looked for meta/esc50.csv (esc50), metadata/UrbanSound8K.csv "
        "(urbansound8k), data/{train,valid,test}_data.csv (fluent-speech-commands), "
        "validation_list.txt or testing_list.txt (speech-commands), manifest.csv or manifest.tsv "
        "(csv), metadata.csv (audiofolder), and class folders holding audio files (folders)",
        path);
}

Dataset importFiles(
    const std::vector<fs::path> &files, const std::string &label, const ImportOptions &options)
{
    if (!(options.minSeconds >= 0.0))
        throw Error(ErrorKind::Usage, "minimum clip length must be >= 0 s");
    Listing listing;
    for (const fs::path &file : files) {
        if (!isFile(file)) {
            listing.entries.push_back(skipped(file, "missing file"));
            continue;
        }
        if (!isAudioFile(file)) {
            listing.entries.push_back(skipped(file, "not an audio file"));
            continue;
        }
        Entry entry;
        entry.file = file;
        entry.label = label.empty() ? file.parent_path().filename().string() : label;
        if (entry.label.empty())
            entry.label = "unlabelled";
        listing.entries.push_back(std::move(entry));
    }
    const fs::path root = files.empty() ? fs::path() : files.front().parent_path();
    return finish(std::move(listing), root, DatasetLayout::Folders, options);
}

bool hasAudioExtension(const fs::path &path)
{
    return isAudioFile(path);
}

Dataset importDataset(const fs::path &path, const ImportOptions &options)
{
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw Error(ErrorKind::Io, "no such file or folder", path);
    if (!(options.minSeconds >= 0.0))
        throw Error(ErrorKind::Usage, "minimum clip length must be >= 0 s");
    const DatasetLayout layout =
        options.layout == DatasetLayout::Auto ? detectLayout(path) : options.layout;
    if (layout != DatasetLayout::Csv && !isDirectory(path))
        throw Error(ErrorKind::Usage, "the " + enumName(layout) + " layout needs a folder", path);

    Listing listing;
    switch (layout) {
    case DatasetLayout::Folders:
        listing = readFolders(path);
        break;
    case DatasetLayout::Csv:
        listing = readCsvManifest(path);
        break;
    case DatasetLayout::Esc50:
        listing = readEsc50(path);
        break;
    case DatasetLayout::SpeechCommands:
        listing = readSpeechCommands(path);
        break;
    case DatasetLayout::UrbanSound8K:
        listing = readUrbanSound8K(path);
        break;
    case DatasetLayout::FluentSpeechCommands:
        listing = readFluentSpeechCommands(path);
        break;
    case DatasetLayout::AudioFolder:
        listing = readAudioFolder(path);
        break;
    case DatasetLayout::Auto:
        throw Error(ErrorKind::Internal, "unresolved dataset layout", path);
    }
    return finish(std::move(listing), path, layout, options);
}

ImportSummary summarize(const Dataset &dataset)
{
    ImportSummary summary;
    for (const std::string &label : dataset.labels)
        summary.classes.emplace_back().label = label;
    for (const Clip &clip : dataset.clips) {
        if (clip.label >= 0 && std::size_t(clip.label) < summary.classes.size()) {
            ClassSummary &c = summary.classes[std::size_t(clip.label)];
            ++c.clips;
            c.seconds += clip.seconds;
            ++c.perSplit[clip.split];
        }
        ++summary.clips;
        summary.seconds += clip.seconds;
        ++summary.sampleRates[clip.sampleRate];
    }
    summary.skipped = int(dataset.skipped.size());
    return summary;
}

void assignSplits(Dataset &dataset, const SplitOptions &options)
{
    checkSplitOptions(options);
    for (const Clip &clip : dataset.clips)
        if (clip.label < 0 || std::size_t(clip.label) >= dataset.labels.size())
            throw Error(ErrorKind::Usage, "clip has no valid label", clip.file);
    for (Clip &clip : dataset.clips)
        clip.split = clip.layoutSplit;

    // Folds: ESC-50 and UrbanSound8K always, other layouts when the caller names a fold.
    std::set<int> folds;
    for (const Clip &clip : dataset.clips)
        if (clip.fold > 0)
            folds.insert(clip.fold);
    const bool foldsGiven = options.validationFold > 0 || options.testFold > 0;
    if (foldsGiven && folds.empty())
        throw Error(
            ErrorKind::Usage, "a validation or test fold was given, but the dataset has no folds");
    const bool standardFolds =
        dataset.layout == DatasetLayout::Esc50 || dataset.layout == DatasetLayout::UrbanSound8K;
    if (!folds.empty() && (standardFolds || foldsGiven)) {
        int validationFold = options.validationFold;
        int testFold = options.testFold;
        if (dataset.layout == DatasetLayout::Esc50) {
            validationFold = validationFold ? validationFold : 4;
            testFold = testFold ? testFold : 5;
        } else if (dataset.layout == DatasetLayout::UrbanSound8K) {
            testFold = testFold ? testFold : 10;
        }
        if (validationFold > 0 && validationFold == testFold)
            throw Error(ErrorKind::Usage,
                "fold " + std::to_string(testFold) + " cannot be both validation and test fold");
        for (const int fold : { validationFold, testFold })
            if (fold > 0 && !folds.contains(fold))
                throw Error(ErrorKind::Usage,
                    "no clip in fold " + std::to_string(fold) + " (the folds are "
                        + std::to_string(*folds.begin()) + " to " + std::to_string(*folds.rbegin())
                        + ")");
        for (Clip &clip : dataset.clips)
            if (clip.split == Split::Unassigned && clip.fold > 0)
                clip.split = clip.fold == testFold ? Split::Test
                    : clip.fold == validationFold  ? Split::Validation
                                                   : Split::Train;
    }

    // The seeded split draws validation and test from the training pool when the layout (or its
    // folds) defines none.
    std::vector<std::size_t> pool;
    bool hasValidation = false;
    bool hasTest = false;
    for (std::size_t i = 0; i < dataset.clips.size(); ++i) {
        const Split split = dataset.clips[i].split;
        hasValidation |= split == Split::Validation;
        hasTest |= split == Split::Test;
        if (split == Split::Unassigned || split == Split::Train)
            pool.push_back(i);
    }
    const bool needValidation = options.validationFraction > 0.0 && !hasValidation;
    const bool needTest = options.testFraction > 0.0 && !hasTest;
    if (needValidation || needTest)
        drawSplits(dataset, pool, needValidation, needTest, options);
    for (const std::size_t i : pool)
        if (dataset.clips[i].split == Split::Unassigned)
            dataset.clips[i].split = Split::Train;

    if (options.fewShot > 0) {
        std::vector<std::vector<std::size_t>> training(dataset.labels.size());
        for (std::size_t i = 0; i < dataset.clips.size(); ++i)
            if (dataset.clips[i].split == Split::Train)
                training[std::size_t(dataset.clips[i].label)].push_back(i);
        for (std::size_t c = 0; c < training.size(); ++c) {
            Rng rng = rngFor(options.seed, kFewShotStream, c);
            rng.shuffle(training[c]);
            for (std::size_t k = std::size_t(options.fewShot); k < training[c].size(); ++k)
                dataset.clips[training[c][k]].split = Split::Unassigned;
        }
    }

    std::vector<std::map<Split, int>> perClass(dataset.labels.size());
    for (const Clip &clip : dataset.clips)
        ++perClass[std::size_t(clip.label)][clip.split];
    for (std::size_t c = 0; c < perClass.size(); ++c) {
        if (perClass[c][Split::Train] > 0)
            continue;
        std::string counts;
        for (const auto &[split, count] : perClass[c])
            if (count > 0)
                counts +=
                    (counts.empty() ? "" : ", ") + std::to_string(count) + " " + enumName(split);
        throw Error(ErrorKind::Usage,
            "class '" + dataset.labels[c] + "' has no training clip ("
                + (counts.empty()
                        ? std::string("none of its files could be used; see the skipped files")
                        : counts)
                + ")",
            dataset.root);
    }
}

std::vector<Clip> clipsOf(const Dataset &dataset, Split split)
{
    std::vector<Clip> clips;
    for (const Clip &clip : dataset.clips)
        if (clip.split == split)
            clips.push_back(clip);
    return clips;
}

} // namespace astpeft::core
