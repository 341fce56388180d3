// SPDX-License-Identifier: MIT
// Classification metrics from true and predicted class indices: accuracy, balanced accuracy,
// macro-F1, per-class precision/recall/F1/accuracy and the confusion matrix. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace astpeft::core {

struct ClassMetrics
{
    double precision = 0.0; // tp / (tp + fp); 0 when nothing was predicted as the class
    double recall = 0.0; // tp / (tp + fn) = the class's accuracy; 0 without examples
    double f1 = 0.0; // harmonic mean; 0 when precision + recall is 0
    int support = 0; // examples of the class
};

struct ClassificationMetrics
{
    int examples = 0;
    double accuracy = 0.0;
    double balancedAccuracy = 0.0; // mean recall over classes that have examples
    double macroF1 = 0.0; // mean F1 over classes that have examples
    std::vector<ClassMetrics> perClass;
    // confusion[true][predicted], numClasses x numClasses counts.
    std::vector<std::vector<std::int64_t>> confusion;
};

// truth and predicted have equal sizes and values in [0, numClasses). Throws core::Error(Usage)
// otherwise.
ClassificationMetrics computeMetrics(
    const std::vector<int> &truth, const std::vector<int> &predicted, int numClasses);

// "true\pred,label0,label1,...\nlabel0,n00,n01,...\n": labels quoted when they contain a comma
// or a quote.
std::string confusionCsv(
    const ClassificationMetrics &metrics, const std::vector<std::string> &labels);

} // namespace astpeft::core
