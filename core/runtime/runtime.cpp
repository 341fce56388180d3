// SPDX-License-Identifier: MIT
#include "runtime/runtime.h"

#include "error.h"
#include "runtime/torch_compat.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <cstdlib>
#include <dlfcn.h>
#include <fstream>
#include <mutex>
#include <thread>
#include <unistd.h>

#ifdef __x86_64__
#include <cpuid.h>
#endif

namespace astpeft::core {

void configureThreads(int threads)
{
    if (threads <= 0)
        threads = int(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(threads);
}

namespace {
bool cpuHasFastBf16()
{
#ifdef __x86_64__
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5))) // AVX512_BF16
        return true;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (d & (1u << 22))) // AMX-BF16
        return true;
#endif
    return false;
}
} // namespace

RuntimeInfo runtimeInfo()
{
    RuntimeInfo info;
    info.torchVersion = std::to_string(TORCH_VERSION_MAJOR) + "."
        + std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH);
    info.threads = at::get_num_threads();
    info.cudaVersion = compat::cudaVersion();
    info.cudnnVersion = compat::cudnnVersion();
    info.cudaBuild = !info.cudaVersion.empty();
    info.cudaAvailable = torch::cuda::is_available();
    info.cudaDevices = info.cudaAvailable ? int(torch::cuda::device_count()) : 0;
    int index = 0;
    for (const compat::GpuProperties &p : compat::gpuProperties()) {
        const torch::Device device(torch::kCUDA, c10::DeviceIndex(index++));
        info.gpus.push_back({ device.str(), p.name, p.totalMemory, p.major, p.minor,
            compat::cudaSupportsBf16(device) });
    }
    info.bf16Fast = cpuHasFastBf16();
    return info;
}

bool isComputeDeviceName(const std::string &name)
{
    return name == "auto" || name == "cpu" || name == "cuda" || name.rfind("cuda:", 0) == 0;
}

std::string resolveDevice(const std::string &requested)
{
    if (requested == "auto")
        return torch::cuda::is_available() ? "cuda" : "cpu";
    if (requested == "cpu")
        return requested;
    if (requested == "cuda" || requested.rfind("cuda:", 0) == 0) {
        if (!torch::cuda::is_available())
            throw Error(ErrorKind::Usage,
                "device " + requested
                    + " requested, but this libtorch build or machine has no usable CUDA "
                      "device; use --device cpu");
        return requested;
    }
    throw Error(ErrorKind::Usage, "unknown device '" + requested + "' (cpu, cuda, cuda:N or auto)");
}

namespace {

// OpenBLAS's thread controls, looked up at run time: libtorch links whichever BLAS the system
// provides, and only OpenBLAS has these (null otherwise).
struct OpenBlasThreads
{
    using Get = int (*)();
    using Set = void (*)(int);
    Get get = nullptr;
    Set set = nullptr;

    static const OpenBlasThreads &instance()
    {
        static const OpenBlasThreads found = [] {
            OpenBlasThreads f;
            // dlsym returns void*; POSIX guarantees the conversion to a function pointer.
            f.get = reinterpret_cast<Get>(::dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
            f.set = reinterpret_cast<Set>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
            if (!f.get || !f.set)
                f = {};
            return f;
        }();
        return found;
    }
};

std::mutex g_blasMutex;
int g_blasGuards = 0; // live SingleThreadedBlas guards (under g_blasMutex)
int g_blasSaved = 0; // OpenBLAS's count before the first of them

} // namespace

BlasInfo blasInfo()
{
    const OpenBlasThreads &blas = OpenBlasThreads::instance();
    if (!blas.get)
        return { "other", 0 };
    return { "openblas", blas.get() };
}

SingleThreadedBlas::SingleThreadedBlas()
{
    const OpenBlasThreads &blas = OpenBlasThreads::instance();
    if (!blas.set)
        return;
    const std::lock_guard lock(g_blasMutex);
    if (g_blasGuards++ == 0) {
        g_blasSaved = blas.get();
        if (g_blasSaved != 1)
            blas.set(1);
    }
    m_active = true;
}

SingleThreadedBlas::~SingleThreadedBlas()
{
    if (!m_active)
        return;
    const std::lock_guard lock(g_blasMutex);
    if (--g_blasGuards == 0 && g_blasSaved != 1)
        OpenBlasThreads::instance().set(g_blasSaved);
}

void ensurePassiveOpenMp(char **argv)
{
    if (std::getenv("OMP_WAIT_POLICY") || std::getenv("ASTPEFT_NO_REEXEC"))
        return;
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    ::setenv("ASTPEFT_NO_REEXEC", "1", 1);
    ::execv("/proc/self/exe", argv); // returns only on failure: carry on with the defaults
}

} // namespace astpeft::core
