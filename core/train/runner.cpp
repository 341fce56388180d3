// SPDX-License-Identifier: MIT
// Forward passes, the encoder cache and evaluation (see runner.h).
#include "train/runner.h"

#include "runtime/autocast.h"

#include <algorithm>

namespace astpeft::core::detail {

torch::Tensor Runner::forward(const torch::Tensor &input)
{
    const AutocastGuard autocast(device, precision);
    torch::Tensor logits;
    if (fromEncoded)
        logits = model->classifier(model->audio_spectrogram_transformer->layernorm(input));
    else
        logits = model->forward(input);
    return logits.to(torch::kFloat32);
}

torch::Tensor Runner::encode(const torch::Tensor &features, int batchSize, std::stop_token stop)
{
    torch::NoGradGuard noGrad;
    model->eval();
    std::vector<torch::Tensor> parts;
    for (std::int64_t i = 0; i < features.size(0) && !stop.stop_requested(); i += batchSize) {
        const torch::Tensor x =
            features.slice(0, i, std::min(features.size(0), i + batchSize)).to(device);
        const AutocastGuard autocast(device, precision);
        auto &ast = model->audio_spectrogram_transformer;
        parts.push_back(ast->encoder(ast->embeddings(x)).to(torch::kCPU, torch::kFloat32));
    }
    model->train();
    return parts.empty() ? torch::Tensor() : torch::cat(parts);
}

ClipScores Runner::score(const Prepared &data, std::int64_t from, std::int64_t to, int batchSize)
{
    torch::NoGradGuard noGrad;
    model->eval();
    const torch::Tensor &inputs = fromEncoded ? data.encoded : data.features;
    ClipScores scores;
    for (std::int64_t i = from; i < to; i += batchSize) {
        const std::int64_t end = std::min(to, i + batchSize);
        const torch::Tensor logits = forward(inputs.slice(0, i, end).to(device));
        const torch::Tensor y = data.labels.slice(0, i, end).to(device);
        const torch::Tensor losses = torch::nn::functional::cross_entropy(
            logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))
                                         .to(torch::kCPU, torch::kFloat64)
                                         .contiguous();
        const torch::Tensor best = logits.argmax(1);
        const torch::Tensor argmax = best.to(torch::kCPU).contiguous();
        const torch::Tensor confidence = torch::softmax(logits, 1)
                                             .gather(1, best.unsqueeze(1))
                                             .squeeze(1)
                                             .to(torch::kCPU, torch::kFloat32)
                                             .contiguous();
        const auto *p = argmax.data_ptr<std::int64_t>();
        const auto *c = confidence.data_ptr<float>();
        const auto *l = losses.data_ptr<double>();
        for (std::int64_t k = 0; k < end - i; ++k) {
            scores.predicted.push_back(int(p[k]));
            scores.confidence.push_back(c[k]);
            scores.loss.push_back(l[k]);
        }
    }
    model->train();
    return scores;
}

EvalOutput Runner::evaluate(const Prepared &data, int numClasses, int batchSize)
{
    return summarizeScores(data, score(data, 0, data.size(), batchSize), numClasses);
}

EvalOutput summarizeScores(const Prepared &data, const ClipScores &scores, int numClasses)
{
    std::vector<int> truth;
    double lossSum = 0.0;
    EvalOutput out;
    const auto *t = data.labels.data_ptr<std::int64_t>();
    for (std::size_t i = 0; i < scores.predicted.size(); ++i) {
        truth.push_back(int(t[i]));
        lossSum += scores.loss[i];
        out.predictions.push_back(
            { data.clips[i].file, truth.back(), scores.predicted[i], scores.confidence[i] });
    }
    out.metrics = computeMetrics(truth, scores.predicted, numClasses);
    out.loss = data.size() ? lossSum / double(data.size()) : 0.0;
    return out;
}

} // namespace astpeft::core::detail
