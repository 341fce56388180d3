// SPDX-License-Identifier: MIT
#include "data/dataset.h"

#include "audio/audio_file.h"
#include "data/csv_table.h"
#include "data/dataset_files.h"
#include "data/layouts.h"
#include "error.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace astpeft::core {

namespace fs = std::filesystem;
using namespace detail;

namespace {

// "0.005" for too-short messages.
std::string formatSeconds(double seconds)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", seconds);
    return text;
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
    if (threads > 1) {
        for (std::size_t i = 0; i < files.size(); ++i) {
            if (!probes[i].error.empty())
                probes[i] = probeOne(files[i]);
        }
    }
    return probes;
}

// Names in order: numerically when every name is an integer, else by bytes.
void sortLabels(std::vector<std::string> &labels)
{
    const bool numeric = std::all_of(labels.begin(), labels.end(),
        [](const std::string &name) { return parseInt(name).has_value(); });
    if (numeric) {
        std::sort(labels.begin(), labels.end(), [](const std::string &a, const std::string &b) {
            return std::pair(*parseInt(a), a) < std::pair(*parseInt(b), b);
        });
    } else {
        std::sort(labels.begin(), labels.end());
    }
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
        if (entry.listed && !isFile(entry.file)) {
            entry.skip = withWhere("missing file", entry.where);
        } else if (!seen.insert(entry.file.lexically_normal().string()).second) {
            entry.skip = withWhere("duplicate", entry.where);
        }
    }

    std::vector<fs::path> toProbe;
    if (options.probe) {
        for (const Entry &entry : listing.entries) {
            if (entry.skip.empty())
                toProbe.push_back(entry.file);
        }
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
        if (error.empty()) {
            dataset.noise.push_back(noise);
        } else {
            dataset.skipped.push_back({ noise, "unreadable: " + error });
        }
    }

    if (clips.empty()) {
        std::string message = "no usable audio clip";
        if (!dataset.skipped.empty()) {
            message += " (" + std::to_string(dataset.skipped.size()) + " file"
                + (dataset.skipped.size() == 1 ? "" : "s")
                + " skipped; first: " + dataset.skipped.front().file.string() + ": "
                + dataset.skipped.front().reason + ")";
        }
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

} // namespace

// ----------------------------------------------------------------------------------------------

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

void mergeDatasets(Dataset &into, Dataset from)
{
    if (into.labels.empty() && into.clips.empty() && into.skipped.empty() && into.noise.empty()) {
        into = std::move(from);
        return;
    }
    std::unordered_map<std::string, int> index;
    for (std::size_t i = 0; i < into.labels.size(); ++i)
        index.emplace(into.labels[i], int(i));
    std::vector<int> remap(from.labels.size());
    for (std::size_t i = 0; i < from.labels.size(); ++i) {
        const auto [it, added] = index.emplace(from.labels[i], int(into.labels.size()));
        if (added)
            into.labels.push_back(from.labels[i]);
        remap[i] = it->second;
    }
    for (Clip &clip : from.clips) {
        clip.label = remap[std::size_t(clip.label)];
        into.clips.push_back(std::move(clip));
    }
    into.noise.insert(into.noise.end(), from.noise.begin(), from.noise.end());
    into.skipped.insert(into.skipped.end(), from.skipped.begin(), from.skipped.end());
}

namespace {

// A .csv or .tsv file in any case, by what follows the last dot of the name (".csv" counts),
// as the studio's drop has always told manifests from loose files.
bool isManifestFile(const fs::path &path)
{
    if (!isFile(path))
        return false;
    const std::string name = path.filename().string();
    const std::size_t dot = name.rfind('.');
    const std::string suffix = dot == std::string::npos ? std::string() : lower(name.substr(dot));
    return suffix == ".csv" || suffix == ".tsv";
}

} // namespace

Dataset importPaths(const std::vector<fs::path> &paths, DatasetLayout layout,
    const std::string &looseLabel, std::string *description)
{
    if (paths.empty())
        throw Error(ErrorKind::Usage, "nothing to import");
    Dataset result;
    std::string parts;
    auto addPart = [&](const std::string &part) { parts += (parts.empty() ? "" : ", ") + part; };
    std::vector<fs::path> loose;
    for (const fs::path &path : paths) {
        std::error_code ec;
        if (isDirectory(path) || isManifestFile(path)) {
            Dataset dataset = importDataset(path, { .layout = layout });
            addPart(path.string() + " (" + enumName(dataset.layout) + ")");
            mergeDatasets(result, std::move(dataset));
        } else if (!fs::exists(path, ec)) {
            throw Error(ErrorKind::Io, "no such file or folder", path);
        } else {
            loose.push_back(path);
        }
    }
    if (!loose.empty()) {
        mergeDatasets(result, importFiles(loose, looseLabel));
        addPart(loose.size() == 1 ? loose.front().string()
                                  : std::to_string(loose.size()) + " audio files");
    }
    if (description)
        *description = parts;
    return result;
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
    const LayoutInfo *info = findLayout(layout);
    if (!info)
        throw Error(ErrorKind::Internal, "unresolved dataset layout", path);
    if (!info->acceptsFile && !isDirectory(path))
        throw Error(ErrorKind::Usage, "the " + enumName(layout) + " layout needs a folder", path);
    return finish(info->read(path), path, layout, options);
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

ImportSummary summarize(const Dataset &dataset, const std::vector<SkippedFile> &skipped)
{
    std::unordered_set<std::string> unusable;
    for (const SkippedFile &s : skipped)
        unusable.insert(s.file.lexically_normal().string());
    Dataset usable;
    usable.labels = dataset.labels;
    for (const Clip &clip : dataset.clips) {
        if (!unusable.contains(clip.file.lexically_normal().string()))
            usable.clips.push_back(clip);
    }
    usable.skipped = skipped;
    return summarize(usable);
}

std::vector<Clip> clipsOf(const Dataset &dataset, Split split)
{
    std::vector<Clip> clips;
    for (const Clip &clip : dataset.clips) {
        if (clip.split == split)
            clips.push_back(clip);
    }
    return clips;
}

} // namespace astpeft::core
