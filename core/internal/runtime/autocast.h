// SPDX-License-Identifier: MIT
// Mixed precision for training and benchmarks: autocast of the forward pass to bf16/fp16 on CPU
// or CUDA, across libtorch versions (2.4 made the autocast API device-generic). Core-internal:
// includes torch. Precision lives in inference/classifier.h.
#pragma once

#include "inference/classifier.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

namespace astpeft::core {

// Autocast of the forward pass for bf16/fp16 (nothing for fp32). Restores the previous state.
class AutocastGuard
{
public:
    AutocastGuard(const torch::Device &device, Precision precision)
    {
        if (precision == Precision::F32)
            return;
        m_active = true;
        m_cuda = device.is_cuda();
        const auto dtype = precision == Precision::BF16 ? at::kBFloat16 : at::kHalf;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        const auto type = m_cuda ? at::kCUDA : at::kCPU;
        m_previous = at::autocast::is_autocast_enabled(type);
        m_previousType = at::autocast::get_autocast_dtype(type);
        at::autocast::set_autocast_enabled(type, true);
        at::autocast::set_autocast_dtype(type, dtype);
#else
        if (m_cuda) {
            m_previous = at::autocast::is_enabled();
            m_previousType = at::autocast::get_autocast_gpu_dtype();
            at::autocast::set_enabled(true);
            at::autocast::set_autocast_gpu_dtype(dtype);
        } else {
            m_previous = at::autocast::is_cpu_enabled();
            m_previousType = at::autocast::get_autocast_cpu_dtype();
            at::autocast::set_cpu_enabled(true);
            at::autocast::set_autocast_cpu_dtype(dtype);
        }
#endif
    }
    ~AutocastGuard()
    {
        if (!m_active)
            return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        const auto type = m_cuda ? at::kCUDA : at::kCPU;
        at::autocast::set_autocast_enabled(type, m_previous);
        at::autocast::set_autocast_dtype(type, m_previousType);
#else
        if (m_cuda) {
            at::autocast::set_enabled(m_previous);
            at::autocast::set_autocast_gpu_dtype(m_previousType);
        } else {
            at::autocast::set_cpu_enabled(m_previous);
            at::autocast::set_autocast_cpu_dtype(m_previousType);
        }
#endif
        at::autocast::clear_cache();
    }
    AutocastGuard(const AutocastGuard &) = delete;
    AutocastGuard &operator=(const AutocastGuard &) = delete;

private:
    bool m_active = false, m_cuda = false, m_previous = false;
    at::ScalarType m_previousType = at::kFloat;
};

// The autocast precision in effect now for `device`'s type: F32 when autocast is off. Lets code
// that runs part of a forward pass again later (activation checkpointing) run it as it ran first.
inline Precision currentAutocast(const torch::Device &device)
{
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    const auto type = device.is_cuda() ? at::kCUDA : at::kCPU;
    if (!at::autocast::is_autocast_enabled(type))
        return Precision::F32;
    return at::autocast::get_autocast_dtype(type) == at::kBFloat16 ? Precision::BF16
                                                                   : Precision::F16;
#else
    if (device.is_cuda()) {
        if (!at::autocast::is_enabled())
            return Precision::F32;
        return at::autocast::get_autocast_gpu_dtype() == at::kBFloat16 ? Precision::BF16
                                                                       : Precision::F16;
    }
    if (!at::autocast::is_cpu_enabled())
        return Precision::F32;
    return at::autocast::get_autocast_cpu_dtype() == at::kBFloat16 ? Precision::BF16
                                                                   : Precision::F16;
#endif
}

} // namespace astpeft::core
