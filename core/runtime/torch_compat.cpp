// SPDX-License-Identifier: MIT
#include "runtime/torch_compat.h"

#include "error.h"

#include <algorithm>
#include <cmath>

#ifdef ASTPEFT_CUDA
// The CUDA runtime's own device query, not ATen/cuda/CUDAContext.h: that one needs the cuBLAS
// and cuSPARSE headers, which not every toolkit install has.
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#endif

namespace astpeft::core::compat {

namespace {

torch::Tensor explicitAttention(
    const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v)
{
    const std::int64_t b = q.size(0), heads = q.size(1), n = q.size(2), headDim = q.size(3);
    const std::int64_t nk = k.size(2);
    // Scaling q (N x headDim values) is cheaper than scaling the N x Nk scores.
    const torch::Tensor qs = q * (1.0 / std::sqrt(double(headDim)));
    // Query blocks: 256 rows keep a block's scores (H x 256 x Nk floats) cache-sized and halve
    // the memory traffic of softmax for 10 s inputs; short inputs and graphs for the backward
    // pass take the direct path.
    constexpr std::int64_t kBlock = 256;
    if (torch::GradMode::is_enabled() || n <= kBlock)
        return torch::matmul(torch::softmax(torch::matmul(qs, k.transpose(-1, -2)), -1), v);
    const torch::Tensor qf = qs.reshape({ b * heads, n, headDim });
    const torch::Tensor kt = k.transpose(-1, -2).reshape({ b * heads, headDim, nk }).contiguous();
    const torch::Tensor vf = v.reshape({ b * heads, nk, headDim }).contiguous();
    torch::Tensor context = torch::empty({ b * heads, n, headDim }, q.options());
    for (std::int64_t start = 0; start < n; start += kBlock) {
        const std::int64_t rows = std::min(kBlock, n - start);
        const torch::Tensor probs = torch::softmax(torch::bmm(qf.narrow(1, start, rows), kt), -1);
        context.narrow(1, start, rows).copy_(torch::bmm(probs, vf));
    }
    return context.view({ b, heads, n, headDim });
}

#ifdef ASTPEFT_CUDA
c10::DeviceIndex indexOf(const torch::Device &device)
{
    return device.has_index() ? device.index() : c10::cuda::current_device();
}

cudaDeviceProp propertiesOf(c10::DeviceIndex index)
{
    cudaDeviceProp p {};
    if (cudaGetDeviceProperties(&p, int(index)) != cudaSuccess)
        throw Error(ErrorKind::Usage, "cannot query CUDA device " + std::to_string(int(index)));
    return p;
}
#endif

} // namespace

torch::Tensor attention(
    const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v, bool fused)
{
#if ASTPEFT_TORCH_AT_LEAST(2, 0)
    if (fused)
        return at::scaled_dot_product_attention(q, k, v);
#else
    (void)fused;
#endif
    return explicitAttention(q, k, v);
}

bool fusedAdamWAvailable(const torch::Device &device)
{
    return device.is_cuda() ? kHasFusedAdamWCuda : device.is_cpu() && kHasFusedAdamWCpu;
}

void fusedAdamW(const std::vector<torch::Tensor> &params, const std::vector<torch::Tensor> &grads,
    const std::vector<torch::Tensor> &m, const std::vector<torch::Tensor> &v,
    const std::vector<torch::Tensor> &steps, const AdamWHyper &h)
{
    if (params.empty())
        return;
    if (!fusedAdamWAvailable(params.front().device()))
        throw Error(ErrorKind::Usage,
            "the fused AdamW kernel needs libtorch 2.0 (CUDA) or 2.4 (CPU); this is "
                + std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR));
#if ASTPEFT_TORCH_AT_LEAST(2, 0)
    at::_fused_adamw_(params, grads, m, v, /*max_exp_avg_sqs=*/ {}, steps, h.lr, h.beta1, h.beta2,
        h.weightDecay, h.eps, /*amsgrad=*/false, /*maximize=*/false);
#else
    (void)grads, (void)m, (void)v, (void)steps, (void)h;
#endif
}

void allowTf32()
{
#ifdef ASTPEFT_CUDA
    at::globalContext().setFloat32MatmulPrecision("high");
#endif
}

bool cudaSupportsBf16([[maybe_unused]] const torch::Device &device)
{
#ifdef ASTPEFT_CUDA
    if (device.is_cuda() && torch::cuda::is_available())
        return propertiesOf(indexOf(device)).major >= 8;
#endif
    return false;
}

DeviceMemory deviceMemory([[maybe_unused]] const torch::Device &device)
{
    DeviceMemory memory;
#ifdef ASTPEFT_CUDA
    if (!device.is_cuda() || !torch::cuda::is_available())
        return memory;
    const c10::DeviceIndex index = indexOf(device);
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
    memory.allocated = stats.allocated_bytes[0].current; // [0]: StatType::AGGREGATE
    memory.peak = stats.allocated_bytes[0].peak;
    memory.reserved = stats.reserved_bytes[0].current;
    memory.total = std::int64_t(propertiesOf(index).totalGlobalMem);
#endif
    return memory;
}

void resetPeakMemory([[maybe_unused]] const torch::Device &device)
{
#ifdef ASTPEFT_CUDA
    if (device.is_cuda() && torch::cuda::is_available())
        c10::cuda::CUDACachingAllocator::resetPeakStats(indexOf(device));
#endif
}

void releaseCachedMemory()
{
#ifdef ASTPEFT_CUDA
    if (torch::cuda::is_available())
        c10::cuda::CUDACachingAllocator::emptyCache();
#endif
}

std::vector<GpuProperties> gpuProperties()
{
    std::vector<GpuProperties> gpus;
#ifdef ASTPEFT_CUDA
    if (!torch::cuda::is_available())
        return gpus;
    for (int i = 0; i < int(torch::cuda::device_count()); ++i) {
        const cudaDeviceProp p = propertiesOf(c10::DeviceIndex(i));
        gpus.push_back({ p.name, std::int64_t(p.totalGlobalMem), p.major, p.minor });
    }
#endif
    return gpus;
}

std::string cudaVersion()
{
#ifdef ASTPEFT_CUDA
    return std::to_string(CUDART_VERSION / 1000) + "." + std::to_string(CUDART_VERSION % 1000 / 10);
#else
    return {};
#endif
}

std::string cudnnVersion()
{
#ifdef ASTPEFT_CUDA
    if (!at::detail::getCUDAHooks().hasCuDNN())
        return {};
    const long v = at::detail::getCUDAHooks().versionCuDNN(); // 90100 for 9.1.0 (8xyz for 8.x)
    return v >= 10000 ? std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "."
            + std::to_string(v % 100)
                      : std::to_string(v / 1000) + "." + std::to_string(v / 100 % 10) + "."
            + std::to_string(v % 100);
#else
    return {};
#endif
}

bool isOutOfMemory(const std::exception &error)
{
#if ASTPEFT_TORCH_AT_LEAST(2, 0)
    if (dynamic_cast<const c10::OutOfMemoryError *>(&error))
        return true;
#endif
    const std::string what = error.what();
    for (const char *marker : { "out of memory", "not enough memory", "can't allocate memory" })
        if (what.find(marker) != std::string::npos)
            return true;
    return dynamic_cast<const std::bad_alloc *>(&error) != nullptr;
}

} // namespace astpeft::core::compat
