// SPDX-License-Identifier: MIT
// The steps of assignSplits (declared in data/dataset.h), in the order it runs them. Each works
// on Clip::split in place. Core-internal (data/ only); torch-free.
#pragma once

#include "data/dataset.h"

#include <cstddef>
#include <vector>

namespace astpeft::core::detail {

// Throws core::Error(Usage) for fractions outside [0, 1) or adding up to 1 or more, negative
// folds or a negative few-shot count.
void checkSplitOptions(const SplitOptions &options);

// Unassigned clips with a fold go to the test fold, the validation fold, or train: always for
// ESC-50 (folds 4 and 5 by default) and UrbanSound8K (test fold 10 by default), for other
// layouts when the options name a fold. Throws core::Error(Usage) for a fold no clip is in, or
// one fold named for both.
void splitByFolds(Dataset &dataset, const SplitOptions &options);

// Moves whole units of the pool (clips sharing a non-empty group, or one clip) to validation
// (and test), per class: round(fraction * n) clips of the class's n pool clips, at least 1 when
// n >= 2, never its last training clip. Every other pool clip trains.
void drawSplits(Dataset &dataset, const std::vector<std::size_t> &pool, bool needValidation,
    bool needTest, const SplitOptions &options);

// Keeps options.fewShot seeded training clips per class (all when a class has fewer); the
// others become Unassigned. Nothing when options.fewShot is 0.
void keepFewShot(Dataset &dataset, const SplitOptions &options);

// Throws core::Error(Usage) naming the first class with no training clip and its other counts.
void requireTrainingClips(const Dataset &dataset);

} // namespace astpeft::core::detail
