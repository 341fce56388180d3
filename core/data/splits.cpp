// SPDX-License-Identifier: MIT
#include "data/splits.h"

#include "error.h"
#include "random.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

namespace astpeft::core {

namespace detail {

namespace {

// Independent random streams of assignSplits(), for rngFor(seed, stream, class).
constexpr std::uint64_t kSplitStream = 1;
constexpr std::uint64_t kFewShotStream = 2;

// Clips sharing a non-empty group, or one clip.
struct Unit
{
    std::vector<std::size_t> clips;
    std::map<int, int> perClass;
};

// The units of the pool, in pool order.
std::vector<Unit> unitsOfPool(const Dataset &dataset, const std::vector<std::size_t> &pool)
{
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
    return units;
}

// Per class, how many of its n pool clips to hold out: round(fraction * n), at least 1 when
// n >= 2, and together never all of them.
struct Targets
{
    std::vector<int> validation;
    std::vector<int> test;
};
Targets heldOutTargets(const std::vector<int> &poolCount, bool needValidation, bool needTest,
    const SplitOptions &options)
{
    auto target = [](double fraction, int n) {
        return n < 2 ? 0 : std::max(1, int(std::lround(fraction * n)));
    };
    Targets targets;
    targets.validation.assign(poolCount.size(), 0);
    targets.test.assign(poolCount.size(), 0);
    for (std::size_t c = 0; c < poolCount.size(); ++c) {
        const int n = poolCount[c];
        int v = needValidation ? target(options.validationFraction, n) : 0;
        int t = needTest ? target(options.testFraction, n) : 0;
        t = std::max(0, std::min(t, n - 1 - v));
        v = std::max(0, std::min(v, n - 1 - t));
        targets.validation[c] = v;
        targets.test[c] = t;
    }
    return targets;
}

} // namespace

void checkSplitOptions(const SplitOptions &options)
{
    auto fraction = [](double value, const char *name) {
        if (!(value >= 0.0 && value < 1.0)) {
            throw Error(ErrorKind::Usage,
                std::string(name) + " must be in [0, 1) (got " + std::to_string(value) + ")");
        }
    };
    fraction(options.validationFraction, "validation fraction");
    fraction(options.testFraction, "test fraction");
    if (options.validationFraction + options.testFraction >= 1.0)
        throw Error(ErrorKind::Usage, "validation and test fractions must add up to less than 1");
    if (options.validationFold < 0 || options.testFold < 0)
        throw Error(ErrorKind::Usage, "folds are numbered from 1 (0 = default)");
    if (options.fewShot < 0) {
        throw Error(ErrorKind::Usage,
            "few-shot count must be >= 0 (got " + std::to_string(options.fewShot) + ")");
    }
}

void splitByFolds(Dataset &dataset, const SplitOptions &options)
{
    std::set<int> folds;
    for (const Clip &clip : dataset.clips) {
        if (clip.fold > 0)
            folds.insert(clip.fold);
    }
    const bool foldsGiven = options.validationFold > 0 || options.testFold > 0;
    if (foldsGiven && folds.empty()) {
        throw Error(
            ErrorKind::Usage, "a validation or test fold was given, but the dataset has no folds");
    }
    const bool standardFolds =
        dataset.layout == DatasetLayout::Esc50 || dataset.layout == DatasetLayout::UrbanSound8K;
    if (folds.empty() || !(standardFolds || foldsGiven))
        return;

    int validationFold = options.validationFold;
    int testFold = options.testFold;
    if (dataset.layout == DatasetLayout::Esc50) {
        validationFold = validationFold ? validationFold : 4;
        testFold = testFold ? testFold : 5;
    } else if (dataset.layout == DatasetLayout::UrbanSound8K) {
        testFold = testFold ? testFold : 10;
    }
    if (validationFold > 0 && validationFold == testFold) {
        throw Error(ErrorKind::Usage,
            "fold " + std::to_string(testFold) + " cannot be both validation and test fold");
    }
    for (const int fold : { validationFold, testFold }) {
        if (fold > 0 && !folds.contains(fold)) {
            throw Error(ErrorKind::Usage,
                "no clip in fold " + std::to_string(fold) + " (the folds are "
                    + std::to_string(*folds.begin()) + " to " + std::to_string(*folds.rbegin())
                    + ")");
        }
    }
    for (Clip &clip : dataset.clips) {
        if (clip.split == Split::Unassigned && clip.fold > 0) {
            clip.split = clip.fold == testFold ? Split::Test
                : clip.fold == validationFold  ? Split::Validation
                                               : Split::Train;
        }
    }
}

// Classes in label order, units in a seeded order; a unit that would overshoot a class's target
// is passed over once the class has one held-out clip, so that large groups do not swamp small
// classes.
void drawSplits(Dataset &dataset, const std::vector<std::size_t> &pool, bool needValidation,
    bool needTest, const SplitOptions &options)
{
    const std::size_t classes = dataset.labels.size();
    const std::vector<Unit> units = unitsOfPool(dataset, pool);
    std::vector<std::size_t> order(units.size());
    for (std::size_t u = 0; u < order.size(); ++u)
        order[u] = u;
    Rng rng = rngFor(options.seed, kSplitStream);
    rng.shuffle(order);

    std::vector<std::vector<std::size_t>> unitsOf(classes); // in the seeded order
    std::vector<int> poolCount(classes, 0);
    for (std::size_t u : order) {
        for (const auto &[label, count] : units[u].perClass) {
            unitsOf[std::size_t(label)].push_back(u);
            poolCount[std::size_t(label)] += count;
        }
    }
    const Targets wanted = heldOutTargets(poolCount, needValidation, needTest, options);

    std::vector<Split> decided(units.size(), Split::Unassigned);
    std::vector<int> trainLeft = poolCount; // pool clips not held out
    auto canHoldOut = [&](std::size_t u) {
        for (const auto &[label, count] : units[u].perClass) {
            if (trainLeft[std::size_t(label)] - count < 1)
                return false;
        }
        return true;
    };

    for (const auto &[heldOut, targets] : { std::pair { Split::Validation, &wanted.validation },
             std::pair { Split::Test, &wanted.test } }) {
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
    for (std::size_t u = 0; u < units.size(); ++u) {
        for (std::size_t i : units[u].clips)
            dataset.clips[i].split = decided[u] == Split::Unassigned ? Split::Train : decided[u];
    }
}

void keepFewShot(Dataset &dataset, const SplitOptions &options)
{
    if (options.fewShot <= 0)
        return;
    std::vector<std::vector<std::size_t>> training(dataset.labels.size());
    for (std::size_t i = 0; i < dataset.clips.size(); ++i) {
        if (dataset.clips[i].split == Split::Train)
            training[std::size_t(dataset.clips[i].label)].push_back(i);
    }
    for (std::size_t c = 0; c < training.size(); ++c) {
        Rng rng = rngFor(options.seed, kFewShotStream, c);
        rng.shuffle(training[c]);
        for (std::size_t k = std::size_t(options.fewShot); k < training[c].size(); ++k)
            dataset.clips[training[c][k]].split = Split::Unassigned;
    }
}

void requireTrainingClips(const Dataset &dataset)
{
    std::vector<std::map<Split, int>> perClass(dataset.labels.size());
    for (const Clip &clip : dataset.clips)
        ++perClass[std::size_t(clip.label)][clip.split];
    for (std::size_t c = 0; c < perClass.size(); ++c) {
        if (perClass[c][Split::Train] > 0)
            continue;
        std::string counts;
        for (const auto &[split, count] : perClass[c]) {
            if (count > 0) {
                counts +=
                    (counts.empty() ? "" : ", ") + std::to_string(count) + " " + enumName(split);
            }
        }
        throw Error(ErrorKind::Usage,
            "class '" + dataset.labels[c] + "' has no training clip ("
                + (counts.empty()
                        ? std::string("none of its files could be used; see the skipped files")
                        : counts)
                + ")",
            dataset.root);
    }
}

} // namespace detail

void assignSplits(Dataset &dataset, const SplitOptions &options)
{
    using namespace detail;
    checkSplitOptions(options);
    for (const Clip &clip : dataset.clips) {
        if (clip.label < 0 || std::size_t(clip.label) >= dataset.labels.size())
            throw Error(ErrorKind::Usage, "clip has no valid label", clip.file);
    }
    for (Clip &clip : dataset.clips)
        clip.split = clip.layoutSplit;

    splitByFolds(dataset, options);

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
    for (const std::size_t i : pool) {
        if (dataset.clips[i].split == Split::Unassigned)
            dataset.clips[i].split = Split::Train;
    }

    keepFewShot(dataset, options);
    requireTrainingClips(dataset);
}

} // namespace astpeft::core
