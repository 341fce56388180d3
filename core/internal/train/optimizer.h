// SPDX-License-Identifier: MIT
// The optimizer and learning-rate schedule of the paper's recipe (paper.md section 4), shared by
// the trainer and the training benchmark. Core-internal: includes torch.
#pragma once

#include "runtime/torch_compat.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace astpeft::core {

// How AdamW::update runs: ForEach, one torch::_foreach_* op per term over all tensors (on the
// CPU these run tensor by tensor, bit for bit the per-tensor update); Fused, one
// at::_fused_adamw_ kernel (libtorch 2.0+ on CUDA, 2.4+ on the CPU); Auto, Fused on CUDA where
// it exists, else ForEach (CPU runs stay bit-identical across libtorch versions).
enum class AdamWKernel { Auto, ForEach, Fused };

// AdamW exactly as torch.optim.AdamW (no amsgrad), with the state in plain tensors so that a
// checkpoint stores it bit for bit.
struct AdamW
{
    std::vector<std::string> names;
    std::vector<torch::Tensor> params, m, v;
    std::int64_t step = 0;
    double beta1 = 0.9, beta2 = 0.98, eps = 1e-6, weightDecay = 0.1;
    AdamWKernel kernel = AdamWKernel::Auto;

    void add(const std::string &name, const torch::Tensor &p)
    {
        names.push_back(name);
        params.push_back(p);
        m.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        v.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    }
    bool fused() const
    {
        if (params.empty() || kernel == AdamWKernel::ForEach)
            return false;
        return kernel == AdamWKernel::Fused || params.front().is_cuda();
    }
    // One step with learning rate `lr` on the parameters that have a gradient.
    void update(double lr)
    {
        torch::NoGradGuard noGrad;
        ++step;
        std::vector<torch::Tensor> ps, gs, ms, vs;
        for (std::size_t i = 0; i < params.size(); ++i) {
            if (!params[i].grad().defined())
                continue;
            ps.push_back(params[i]);
            gs.push_back(params[i].grad());
            ms.push_back(m[i]);
            vs.push_back(v[i]);
        }
        if (ps.empty())
            return;
        if (fused()) {
            // The kernel reads the step count from a float32 scalar on the parameters' device;
            // every tensor shares one, updated without a host round trip.
            if (!m_stepTensor.defined() || m_stepTensor.device() != ps.front().device())
                m_stepTensor = torch::zeros({}, ps.front().options().dtype(torch::kFloat32));
            m_stepTensor.fill_(double(step));
            compat::fusedAdamW(ps, gs, ms, vs, std::vector<torch::Tensor>(ps.size(), m_stepTensor),
                { lr, beta1, beta2, eps, weightDecay });
            return;
        }
        const double c1 = 1.0 - std::pow(beta1, double(step));
        const double c2 = 1.0 - std::pow(beta2, double(step));
        torch::_foreach_mul_(ps, 1.0 - lr * weightDecay);
        torch::_foreach_mul_(ms, beta1);
        torch::_foreach_add_(ms, gs, 1.0 - beta1);
        torch::_foreach_mul_(vs, beta2);
        torch::_foreach_addcmul_(vs, gs, gs, 1.0 - beta2);
        std::vector<torch::Tensor> denom = torch::_foreach_sqrt(vs);
        torch::_foreach_div_(denom, std::sqrt(c2));
        torch::_foreach_add_(denom, eps);
        torch::_foreach_addcdiv_(ps, ms, denom, -lr / c1);
    }
    void zeroGrad()
    {
        for (auto &p : params)
            if (p.grad().defined())
                p.mutable_grad() = torch::Tensor();
    }

private:
    torch::Tensor m_stepTensor;
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
