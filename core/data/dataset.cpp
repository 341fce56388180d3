// SPDX-License-Identifier: MIT
#include "data/dataset.h"

#include "audio/audio_file.h"
#include "data/csv_table.h"
#include "data/dataset_files.h"
#include "data/layouts.h"
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
