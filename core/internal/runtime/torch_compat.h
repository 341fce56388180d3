// SPDX-License-Identifier: MIT
// Every difference between the libtorch versions this project builds against, in one place:
// Debian's libtorch 1.13 (CPU; CI's main build) and libtorch 2.x from pytorch.org or a pip
// wheel (CPU or CUDA). Code elsewhere calls these functions and never tests TORCH_VERSION_*
// itself. Core-internal: includes torch.
//
// ASTPEFT_CUDA is defined (core/CMakeLists.txt) when the libtorch is a CUDA build; the CUDA
// runtime queries (device names, memory) exist only then.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

#include <cstdint>
#include <string>
#include <vector>

#define ASTPEFT_TORCH_AT_LEAST(major, minor)                                                       \
    (TORCH_VERSION_MAJOR > (major)                                                                 \
        || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace astpeft::core::compat {

// at::scaled_dot_product_attention (flash / memory-efficient kernels on CUDA, a fused kernel on
// the CPU) exists from libtorch 2.0.
constexpr bool kHasSdpa = ASTPEFT_TORCH_AT_LEAST(2, 0);
// at::_fused_adamw_: CUDA from 2.0, CPU from 2.4.
constexpr bool kHasFusedAdamWCuda = ASTPEFT_TORCH_AT_LEAST(2, 0);
constexpr bool kHasFusedAdamWCpu = ASTPEFT_TORCH_AT_LEAST(2, 4);

// softmax(q k^T / sqrt(headDim)) v over [B, H, N, headDim] queries and [B, H, Nk, headDim] keys
// and values. `fused` takes scaled_dot_product_attention where the libtorch has it; otherwise
// (or with fused = false) the explicit products, in query blocks of 256 rows when not recording
// a graph (the B x H x N x Nk scores never exist at once for 10 s inputs). Both compute the same
// function; results agree to floating-point rounding (tst_ast checks it).
torch::Tensor attention(
    const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v, bool fused = true);

// One AdamW step (torch.optim.AdamW's update, no amsgrad) over parameters that all have a
// gradient. `steps` holds one float32 scalar per parameter on the parameters' device: the step
// count the update uses (already incremented). Fused: at::_fused_adamw_ (one kernel for all
// tensors); throws core::Error(Usage) where fusedAdamWAvailable() is false.
struct AdamWHyper
{
    double lr = 0.0, beta1 = 0.9, beta2 = 0.98, eps = 1e-6, weightDecay = 0.1;
};
bool fusedAdamWAvailable(const torch::Device &device);
void fusedAdamW(const std::vector<torch::Tensor> &params, const std::vector<torch::Tensor> &grads,
    const std::vector<torch::Tensor> &m, const std::vector<torch::Tensor> &v,
    const std::vector<torch::Tensor> &steps, const AdamWHyper &h);

// Where fp32 products may run in TF32 on CUDA (Ampere and newer), as PyTorch's
// set_float32_matmul_precision("high"). Process-wide; a no-op without CUDA.
void allowTf32();

// bf16 has native tensor-core support on this CUDA device (compute capability 8.0+).
bool cudaSupportsBf16(const torch::Device &device);

// The CUDA caching allocator's counters for one device, in bytes; zeros without CUDA.
struct DeviceMemory
{
    std::int64_t allocated = 0; // in use by tensors now
    std::int64_t peak = 0; // most in use since the last resetPeakMemory()
    std::int64_t reserved = 0; // held by the allocator (what nvidia-smi shows, less the context)
    std::int64_t total = 0; // the device's memory
};
DeviceMemory deviceMemory(const torch::Device &device);
void resetPeakMemory(const torch::Device &device);
// Returns cached blocks to the driver (after an out-of-memory error).
void releaseCachedMemory();

struct GpuProperties
{
    std::string name;
    std::int64_t totalMemory = 0; // bytes
    int major = 0, minor = 0; // compute capability
};
// One entry per visible CUDA device (CUDA_VISIBLE_DEVICES applies); empty without CUDA.
std::vector<GpuProperties> gpuProperties();

// The CUDA and cuDNN versions this libtorch was built with ("" when it has none).
std::string cudaVersion();
std::string cudnnVersion();

// True for a device allocator's out-of-memory error (CUDA's, or the CPU allocator's).
bool isOutOfMemory(const std::exception &error);

} // namespace astpeft::core::compat
