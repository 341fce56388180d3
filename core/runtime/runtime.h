// SPDX-License-Identifier: MIT
// Process-wide compute settings: intra-op threads and devices. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace astpeft::core {

// Sets torch's intra-op thread count; 0 means one per hardware thread (Debian's libtorch starts
// with 1). Call once at start-up, before any parallel work.
void configureThreads(int threads = 0);

struct GpuInfo
{
    std::string device; // "cuda:N"
    std::string name; // "NVIDIA H100 80GB HBM3"
    std::int64_t memoryBytes = 0;
    int major = 0, minor = 0; // compute capability
    bool bf16 = false; // native bf16 (8.0+): --precision auto trains in bf16 there
};

struct RuntimeInfo
{
    std::string torchVersion; // e.g. "1.13.1"
    int threads = 0; // intra-op threads in use
    bool cudaBuild = false; // libtorch was built with CUDA
    std::string cudaVersion, cudnnVersion; // that build's; empty without CUDA
    bool cudaAvailable = false;
    int cudaDevices = 0;
    std::vector<GpuInfo> gpus; // the visible devices (CUDA_VISIBLE_DEVICES applies)
    bool bf16Fast = false; // the CPU has native bf16 dot products (AVX512-BF16 or AMX)
};
RuntimeInfo runtimeInfo();

// "auto", "cpu", "cuda" or "cuda:N": a name resolveDevice takes (listen's --device may also
// name a microphone).
bool isComputeDeviceName(const std::string &name);

// Resolves "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N"; throws
// core::Error(Usage) for CUDA on a build or machine without it, saying which.
std::string resolveDevice(const std::string &requested);

// The BLAS library libtorch multiplies fp32 matrices with. Debian's libtorch calls OpenBLAS, whose
// own pthread pool sits beside torch's OpenMP pool (oneDNN's int8 products and the element-wise
// ops run there); PyTorch's own builds use MKL, which follows at::set_num_threads.
struct BlasInfo
{
    std::string library; // "openblas", or "other" when the thread count is not ours to set
    int threads = 0; // OpenBLAS's current thread count; 0 for "other"
};
BlasInfo blasInfo();

// While alive, OpenBLAS runs single-threaded; the count in force before the first live guard
// comes back when the last one ends (guards may live on several threads at once). Inference in
// int8 holds one: its products run in oneDNN on the OpenMP pool, and the few BLAS calls left
// (attention) would otherwise wake OpenBLAS's pool, whose workers then spin on the same cores
// as OpenMP's. Measured on this project's 2-core VM, 1 s AST-base windows in int8, medians of
// 20 forwards: 89-216 ms with OpenBLAS at 2 threads, 110-133 ms single-threaded, in alternating
// runs. Process-wide: fp32 products on other threads meanwhile also run on one thread.
// A no-op where the BLAS is not OpenBLAS.
class SingleThreadedBlas
{
public:
    SingleThreadedBlas();
    ~SingleThreadedBlas();
    SingleThreadedBlas(const SingleThreadedBlas &) = delete;
    SingleThreadedBlas &operator=(const SingleThreadedBlas &) = delete;

private:
    bool m_active = false;
};

// If OMP_WAIT_POLICY is unset, sets it to PASSIVE and re-executes the program (libgomp reads it
// only at load time). Spinning OpenMP and OpenBLAS pools otherwise fight over the cores.
// Returns normally when nothing had to be done or re-execution failed.
void ensurePassiveOpenMp(char **argv);

} // namespace astpeft::core
