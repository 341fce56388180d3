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

EvalOutput Runner::evaluate(const Prepared &data, int numClasses, int batchSize)
{
    torch::NoGradGuard noGrad;
    model->eval();
    const torch::Tensor &inputs = fromEncoded ? data.encoded : data.features;
    std::vector<int> truth, predicted;
    std::vector<ClipPrediction> predictions;
    double lossSum = 0.0;
    for (std::int64_t i = 0; i < data.size(); i += batchSize) {
        const std::int64_t end = std::min(data.size(), i + batchSize);
        const torch::Tensor logits = forward(inputs.slice(0, i, end).to(device));
        const torch::Tensor y = data.labels.slice(0, i, end).to(device);
        lossSum += torch::nn::functional::cross_entropy(
            logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                       .item<double>();
        const torch::Tensor best = logits.argmax(1);
        const torch::Tensor argmax = best.to(torch::kCPU).contiguous();
        const torch::Tensor confidence = torch::softmax(logits, 1)
                                             .gather(1, best.unsqueeze(1))
                                             .squeeze(1)
                                             .to(torch::kCPU, torch::kFloat32)
                                             .contiguous();
        const auto *p = argmax.data_ptr<std::int64_t>();
        const auto *c = confidence.data_ptr<float>();
        const auto *t = data.labels.data_ptr<std::int64_t>();
        for (std::int64_t k = 0; k < end - i; ++k) {
            truth.push_back(int(t[i + k]));
            predicted.push_back(int(p[k]));
            predictions.push_back(
                { data.clips[std::size_t(i + k)].file, truth.back(), predicted.back(), c[k] });
        }
    }
    model->train();
    EvalOutput out;
    out.predictions = std::move(predictions);
    out.metrics = computeMetrics(truth, predicted, numClasses);
    out.loss = data.size() ? lossSum / double(data.size()) : 0.0;
    return out;
}

} // namespace astpeft::core::detail
