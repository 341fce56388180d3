// SPDX-License-Identifier: MIT
#include "train/self_check.h"

#include "error.h"
#include "model/checkpoint.h"
#include "peft/peft_modules.h"
#include "runtime/autocast.h"
#include "runtime/runtime.h"
#include "runtime/torch_compat.h"
#include "train/optimizer.h"
#include "train/trainer.h"

#include <torch/torch.h>

#include <cmath>

namespace astpeft::core {

SelfCheckResult selfCheck(const SelfCheckOptions &options)
{
    if (options.batchSize < 1 || options.steps < 1)
        throw Error(ErrorKind::Usage, "the self-check needs a batch size and steps of at least 1");
    SelfCheckResult result;
    result.device = resolveDevice(options.device);
    const torch::Device device(result.device);
    if (device.is_cuda())
        compat::allowTf32();
    const Precision precision = defaultTrainingPrecision(result.device);
    result.precision = precisionName(precision);

    const std::filesystem::path dir = resolveModelDir(options.model);
    LoadedAst loaded = loadAstCheckpoint(dir, { 0, PositionMode::Adapt });
    const AstConfig &c = loaded.config;
    torch::manual_seed(1);
    const torch::Tensor features =
        torch::randn({ options.batchSize, c.maxLength, c.numMelBins }) * 0.5;

    // The reference: the checkpoint's own head on the CPU, fp32.
    torch::Tensor expected;
    {
        torch::NoGradGuard noGrad;
        loaded.model->eval();
        expected = loaded.model->forward(features);
    }
    // The same forward on the device. TF32 products (CUDA) round to 10-bit mantissas: the
    // bound is relative to the logits' size.
    {
        torch::NoGradGuard noGrad;
        loaded.model->to(device);
        const torch::Tensor got = loaded.model->forward(features.to(device)).to(torch::kCPU);
        result.forwardMaxAbsDiff = (got - expected).abs().max().item<double>();
        const double scale = std::max(1.0, expected.abs().max().item<double>());
        result.tolerance = (device.is_cuda() ? 2e-2 : 1e-5) * scale;
    }

    // Two LoRA steps on the device, in the precision training would use there.
    const std::vector<std::string> labels = { "a", "b", "c", "d" };
    applyPeft(loaded.model, paperSetting(PeftMethod::Lora), labels, 1);
    loaded.model->to(device);
    loaded.model->train();
    compat::resetPeakMemory(device);
    AdamW opt;
    for (const auto &item : loaded.model->named_parameters())
        if (item.value().requires_grad())
            opt.add(item.key(), item.value());
    const torch::Tensor x = features.to(device);
    const torch::Tensor y = torch::arange(options.batchSize, torch::kInt64)
                                .remainder(std::int64_t(labels.size()))
                                .to(device);
    for (int step = 0; step < options.steps; ++step) {
        torch::Tensor logits;
        {
            const AutocastGuard autocast(device, precision);
            logits = loaded.model->forward(x).to(torch::kFloat32);
        }
        const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
        loss.backward();
        opt.update(paperLearningRate(PeftMethod::Lora));
        opt.zeroGrad();
        result.losses.push_back(loss.item<double>());
    }
    result.peakDeviceMemoryMb = double(compat::deviceMemory(device).peak) / (1024.0 * 1024.0);

    bool finite = true;
    for (double l : result.losses)
        finite = finite && std::isfinite(l);
    result.passed = finite && result.forwardMaxAbsDiff <= result.tolerance;
    return result;
}

} // namespace astpeft::core
