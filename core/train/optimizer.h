// SPDX-License-Identifier: MIT
// The optimizer and learning-rate schedule of the paper's recipe (paper.md section 4), shared by
// the trainer and the training benchmark. Core-internal: includes torch.
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace astpeft::core {

// AdamW exactly as torch.optim.AdamW (no amsgrad), with the state in plain tensors so that a
// checkpoint stores it bit for bit.
struct AdamW
{
    std::vector<std::string> names;
    std::vector<torch::Tensor> params, m, v;
    std::int64_t step = 0;
    double beta1 = 0.9, beta2 = 0.98, eps = 1e-6, weightDecay = 0.1;

    void add(const std::string &name, const torch::Tensor &p)
    {
        names.push_back(name);
        params.push_back(p);
        m.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        v.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    }
    // One step with learning rate `lr` on the parameters that have a gradient.
    void update(double lr)
    {
        torch::NoGradGuard noGrad;
        ++step;
        const double c1 = 1.0 - std::pow(beta1, double(step));
        const double c2 = 1.0 - std::pow(beta2, double(step));
        for (std::size_t i = 0; i < params.size(); ++i) {
            const torch::Tensor &g = params[i].grad();
            if (!g.defined())
                continue;
            params[i].mul_(1.0 - lr * weightDecay);
            m[i].mul_(beta1).add_(g, 1.0 - beta1);
            v[i].mul_(beta2).addcmul_(g, g, 1.0 - beta2);
            const torch::Tensor denom = (v[i].sqrt() / std::sqrt(c2)).add_(eps);
            params[i].addcdiv_(m[i], denom, -lr / c1);
        }
    }
    void zeroGrad()
    {
        for (auto &p : params)
            if (p.grad().defined())
                p.mutable_grad() = torch::Tensor();
    }
};

// Linear warm-up, then CosineAnnealingLR (eta_min 0) stepped once per optimizer step: the
// learning rate used by optimizer step `t` (0-based) of `total`.
inline double scheduledRate(double base, std::int64_t t, std::int64_t total, int warmup)
{
    if (t < warmup)
        return base * double(t + 1) / double(warmup);
    const double span = double(std::max<std::int64_t>(1, total - warmup));
    return base * 0.5 * (1.0 + std::cos(3.141592653589793 * double(t - warmup) / span));
}

} // namespace astpeft::core
