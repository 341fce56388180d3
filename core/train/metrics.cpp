// SPDX-License-Identifier: MIT
#include "train/metrics.h"

#include "error.h"

#include <cstddef>

namespace astpeft::core {

namespace {

double ratio(std::int64_t numerator, std::int64_t denominator)
{
    return denominator > 0 ? double(numerator) / double(denominator) : 0.0;
}

// RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled.
std::string csvField(const std::string &text)
{
    if (text.find_first_of(",\"\r\n") == std::string::npos)
        return text;
    std::string quoted(1, '"');
    for (const char c : text) {
        if (c == '"')
            quoted += '"';
        quoted += c;
    }
    quoted += '"';
    return quoted;
}

} // namespace

ClassificationMetrics computeMetrics(
    const std::vector<int> &truth, const std::vector<int> &predicted, int numClasses)
{
    if (numClasses <= 0) {
        throw Error(
            ErrorKind::Usage, "metrics need at least one class, got " + std::to_string(numClasses));
    }
    if (truth.size() != predicted.size()) {
        throw Error(ErrorKind::Usage,
            "metrics: " + std::to_string(truth.size()) + " true labels but "
                + std::to_string(predicted.size()) + " predictions");
    }

    const auto n = std::size_t(numClasses);
    ClassificationMetrics m;
    m.examples = int(truth.size());
    m.confusion.assign(n, std::vector<std::int64_t>(n, 0));
    std::int64_t correct = 0;
    for (std::size_t i = 0; i < truth.size(); ++i) {
        const int t = truth[i];
        const int p = predicted[i];
        if (t < 0 || t >= numClasses || p < 0 || p >= numClasses) {
            throw Error(ErrorKind::Usage,
                "metrics: example " + std::to_string(i) + " has true class " + std::to_string(t)
                    + " and predicted class " + std::to_string(p) + ", outside [0, "
                    + std::to_string(numClasses) + ")");
        }
        ++m.confusion[std::size_t(t)][std::size_t(p)];
        correct += t == p ? 1 : 0;
    }
    m.accuracy = ratio(correct, std::int64_t(truth.size()));

    m.perClass.resize(n);
    int withExamples = 0;
    double recallSum = 0.0;
    double f1Sum = 0.0;
    for (std::size_t c = 0; c < n; ++c) {
        std::int64_t support = 0; // row sum: tp + fn
        std::int64_t predictedAs = 0; // column sum: tp + fp
        for (std::size_t k = 0; k < n; ++k) {
            support += m.confusion[c][k];
            predictedAs += m.confusion[k][c];
        }
        const std::int64_t tp = m.confusion[c][c];
        ClassMetrics &cm = m.perClass[c];
        cm.support = int(support);
        cm.precision = ratio(tp, predictedAs);
        cm.recall = ratio(tp, support);
        // 2tp / (2tp + fp + fn) equals the harmonic mean and is exact in integers.
        cm.f1 = ratio(2 * tp, predictedAs + support);
        if (support > 0) {
            ++withExamples;
            recallSum += cm.recall;
            f1Sum += cm.f1;
        }
    }
    if (withExamples > 0) {
        m.balancedAccuracy = recallSum / withExamples;
        m.macroF1 = f1Sum / withExamples;
    }
    return m;
}

std::string confusionCsv(
    const ClassificationMetrics &metrics, const std::vector<std::string> &labels)
{
    const std::size_t n = metrics.confusion.size();
    if (labels.size() != n) {
        throw Error(ErrorKind::Usage,
            "confusion CSV: " + std::to_string(labels.size()) + " labels for " + std::to_string(n)
                + " classes");
    }
    std::string csv = "true\\pred";
    for (const std::string &label : labels)
        csv += ',' + csvField(label);
    csv += '\n';
    for (std::size_t t = 0; t < n; ++t) {
        if (metrics.confusion[t].size() != n)
            throw Error(ErrorKind::Usage, "confusion CSV: the confusion matrix is not square");
        csv += csvField(labels[t]);
        for (const std::int64_t count : metrics.confusion[t])
            csv += ',' + std::to_string(count);
        csv += '\n';
    }
    return csv;
}

} // namespace astpeft::core
