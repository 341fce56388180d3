// SPDX-License-Identifier: MIT
// The process group of a data-parallel training run, on PyTorch's own distributed engine (c10d):
// a TCPStore at MASTER_ADDR:MASTER_PORT for the rendezvous (rank 0 hosts it), then Gloo (CPU) or
// NCCL (CUDA builds) for the collectives. Every collective is bounded by the run's timeout, and a
// failed one is turned into one line that names the rank at fault:
//   - a rank that failed on its own (bad input, out of memory) posts its error to the store
//     before it ends (postError): the others report "rank 1 (pid 42 on node7) failed: ...";
//   - a rank that died or hangs stops its heartbeat (a counter each rank adds to every half
//     second): the others report "rank 1 (pid 42 on node7) stopped responding".
// A one-process group (worldSize 1) does nothing: every call returns at once, so the trainer
// has one code path. Core-internal: includes torch.
#pragma once

#include "train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace astpeft::core::detail {

// What a run's collectives moved: for the benchmark and the finished event.
struct CollectiveTraffic
{
    std::int64_t gradientBytes = 0; // summed gradient bytes sent into all-reduces (per rank)
    std::int64_t gradientReductions = 0; // sumGradients calls
    double gradientSeconds = 0.0; // time in them, copies included
};

class DataParallel
{
public:
    DataParallel(); // one process
    // Joins the group described by `options` (worldSize > 1) for a model on `device`: the
    // backend is NCCL on a CUDA device and Gloo otherwise, unless options.backend names one.
    // Throws core::Error (Usage for an impossible backend, Io when the rendezvous or the group
    // cannot be made within the timeout, naming the address).
    DataParallel(const DataParallelOptions &options, const torch::Device &device);
    ~DataParallel();
    DataParallel(const DataParallel &) = delete;
    DataParallel &operator=(const DataParallel &) = delete;

    int rank() const { return m_rank; }
    int worldSize() const { return m_world; }
    bool active() const { return m_world > 1; }
    bool leader() const { return m_rank == 0; }
    const std::string &backend() const { return m_backend; }

    // Sums every parameter's gradient over the ranks, in place (an undefined gradient counts as
    // zeros and is defined afterwards). The gradients are packed into buckets of at most
    // kBucketBytes, whose all-reduces are started together and then awaited.
    void sumGradients(const std::vector<torch::Tensor> &parameters);
    // Sums `values` over the ranks (float64; one collective).
    std::vector<double> sum(std::vector<double> values);
    // Rank 0's values of `tensors` on every rank, in place.
    void broadcast(const std::vector<torch::Tensor> &tensors);
    // Throws core::Error(Usage) "the processes disagree on WHAT" unless every rank passed the
    // same value.
    void checkSame(std::uint64_t value, const std::string &what);
    // Tells the other ranks why this one is ending (their errors quote it). Never throws.
    void postError(const std::string &message) noexcept;

    const CollectiveTraffic &traffic() const { return m_traffic; }

    static constexpr std::int64_t kBucketBytes = std::int64_t(25) << 20;

    struct Group; // c10d's objects, out of this header's includes

private:
    template<typename F> void guarded(const char *what, F &&collective);
    [[noreturn]] void fail(const char *what, const std::exception &e);
    torch::Tensor onCommDevice(const torch::Tensor &t) const;

    int m_rank = 0, m_world = 1;
    std::string m_backend = "none";
    std::unique_ptr<Group> m_group;
    CollectiveTraffic m_traffic;
};

} // namespace astpeft::core::detail
