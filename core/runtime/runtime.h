// SPDX-License-Identifier: MIT
// Process-wide compute settings: intra-op threads and devices. Torch-free.
#pragma once

#include <string>

namespace astpeft::core {

// Sets torch's intra-op thread count; 0 means one per hardware thread (Debian's libtorch starts
// with 1). Call once at start-up, before any parallel work.
void configureThreads(int threads = 0);

struct RuntimeInfo
{
    std::string torchVersion; // e.g. "1.13.1"
    int threads = 0; // intra-op threads in use
    bool cudaAvailable = false;
    int cudaDevices = 0;
    bool bf16Fast = false; // the CPU has native bf16 dot products (AVX512-BF16 or AMX)
};
RuntimeInfo runtimeInfo();

// Resolves "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N"; throws
// core::Error(Usage) for CUDA on a build or machine without it, saying which.
std::string resolveDevice(const std::string &requested);

// If OMP_WAIT_POLICY is unset, sets it to PASSIVE and re-executes the program (libgomp reads it
// only at load time). Spinning OpenMP and OpenBLAS pools otherwise fight over the cores.
// Returns normally when nothing had to be done or re-execution failed.
void ensurePassiveOpenMp(char **argv);

} // namespace astpeft::core
