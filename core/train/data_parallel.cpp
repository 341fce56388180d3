// SPDX-License-Identifier: MIT
// The data-parallel process group (see data_parallel.h): c10d's TCPStore, ProcessGroupGloo and,
// in CUDA builds with NCCL's headers, ProcessGroupNCCL. Built without c10d's Gloo headers
// (libgloo-dev), a group of more than one process is refused with a one-line error.
#include "train/data_parallel.h"

#include "error.h"

#include <torch/version.h>

#if defined(ASTPEFT_DISTRIBUTED)
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if defined(ASTPEFT_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <future>
#include <thread>

namespace astpeft::core::detail {

#if defined(ASTPEFT_DISTRIBUTED)

namespace {

using std::chrono::milliseconds;

// A c10 exception's message without its backtrace, on one line.
std::string firstLine(const std::exception &e)
{
    std::string text = e.what();
    if (const auto *c10 = dynamic_cast<const c10::Error *>(&e))
        text = c10->what_without_backtrace();
    const std::size_t end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
}

std::string rankText(int rank)
{
    return "rank " + std::to_string(rank);
}

#if TORCH_VERSION_MAJOR >= 2
using GroupBase = c10d::Backend; // c10d's per-backend process group since torch 2.0
#else
using GroupBase = c10d::ProcessGroup;
#endif

constexpr milliseconds kBeatPeriod { 500 };

// This project's keys, beside the process group's own, under the group's prefix.
std::string beatKey(int rank)
{
    return "beat/" + std::to_string(rank);
}
std::string errorKey(int rank)
{
    return "error/" + std::to_string(rank);
}
std::string abortKey(int rank)
{
    return "abort/" + std::to_string(rank);
}
std::string nameKey(int rank)
{
    return "name/" + std::to_string(rank);
}

std::vector<std::uint8_t> bytesOf(const std::string &text)
{
    return { text.begin(), text.end() };
}

// The store at MASTER_ADDR:MASTER_PORT, under the group's prefix: rank 0 hosts it unless the
// launcher does; `rendezvous` waits until every rank has connected (the heartbeat's own
// connection does not count).
c10::intrusive_ptr<c10d::Store> connectStore(
    const DataParallelOptions &o, milliseconds timeout, bool rendezvous)
{
    c10d::TCPStoreOptions so;
    so.port = std::uint16_t(o.masterPort);
    so.isServer = rendezvous && o.rank == 0 && !o.launcherStore;
    if (rendezvous)
        so.numWorkers = std::size_t(o.worldSize);
    so.waitWorkers = rendezvous;
    so.timeout = timeout;
    return c10::make_intrusive<c10d::PrefixStore>(
        o.storePrefix, c10::make_intrusive<c10d::TCPStore>(o.masterAddr, so));
}

// Adds 1 to this rank's counter in the store every kBeatPeriod, on a connection of its own, so
// that the others can tell a rank that died or hangs (its counter stands still) from one that
// is merely slow. The thread is detached: a store that stopped answering cannot hold up the end
// of this process (the destructor waits for it at most two seconds).
class Heartbeat
{
public:
    Heartbeat(const DataParallelOptions &o, milliseconds timeout)
    {
        std::promise<void> finished;
        m_finished = finished.get_future();
        std::thread([o, timeout, stop = m_stop, finished = std::move(finished)]() mutable {
            try {
                const auto store = connectStore(o, timeout, false);
                while (!stop->load()) {
                    store->add(beatKey(o.rank), 1);
                    for (int i = 0; i < 10 && !stop->load(); ++i)
                        std::this_thread::sleep_for(kBeatPeriod / 10);
                }
            } catch (...) { // the store is gone: the group is ending anyway
            }
            finished.set_value();
        }).detach();
    }
    ~Heartbeat()
    {
        m_stop->store(true);
        m_finished.wait_for(std::chrono::seconds(2));
    }
    Heartbeat(const Heartbeat &) = delete;
    Heartbeat &operator=(const Heartbeat &) = delete;

private:
    std::shared_ptr<std::atomic<bool>> m_stop = std::make_shared<std::atomic<bool>>(false);
    std::future<void> m_finished;
};

std::string rendezvousFailure(const DataParallelOptions &o, const std::string &backend)
{
    return "the rendezvous at " + o.masterAddr + ":" + std::to_string(o.masterPort) + " ("
        + rankText(o.rank) + " of " + std::to_string(o.worldSize) + ", " + backend + ") failed: ";
}

// connectStore for the rendezvous, bounded by the timeout even where libtorch's client is not:
// a store whose server speaks another protocol (torchrun's agent from another PyTorch version
// than this program's libtorch) never answers it. The connecting thread is left behind then.
c10::intrusive_ptr<c10d::Store> joinStore(
    const DataParallelOptions &o, milliseconds timeout, const std::string &backend)
{
    auto connected = std::make_shared<std::promise<c10::intrusive_ptr<c10d::Store>>>();
    std::future<c10::intrusive_ptr<c10d::Store>> store = connected->get_future();
    std::thread([o, timeout, connected]() {
        try {
            connected->set_value(connectStore(o, timeout, true));
        } catch (...) {
            connected->set_exception(std::current_exception());
        }
    }).detach();
    if (store.wait_for(timeout + std::chrono::seconds(5)) != std::future_status::ready) {
        std::string why =
            "its store did not answer within " + std::to_string(timeout.count() / 1000) + " s";
        if (o.launcherStore)
            why += "; it is torchrun's own (TORCHELASTIC_USE_AGENT_STORE), which a torchrun of "
                   "another PyTorch version than this program's libtorch " TORCH_VERSION
                   " serves in another protocol: start torchrun with "
                   "TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 and --rdzv-backend c10d (or "
                   "--standalone), so that rank 0 hosts the store";
        throw Error(ErrorKind::Io, rendezvousFailure(o, backend) + why);
    }
    try {
        return store.get();
    } catch (const std::exception &e) {
        throw Error(ErrorKind::Io,
            rendezvousFailure(o, backend) + firstLine(e) + "; are all "
                + std::to_string(o.worldSize)
                + " processes started, with the same MASTER_ADDR and MASTER_PORT?");
    }
}

std::shared_ptr<::gloo::transport::Device> glooDevice(const std::string &masterAddr)
{
    if (const char *ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
        return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
    // All ranks on this machine (the --nproc launcher, a local torchrun): loopback needs no
    // name resolution, which a sandbox or a laptop without network may lack.
    if (masterAddr == "localhost" || masterAddr.rfind("127.", 0) == 0 || masterAddr == "::1")
        return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
    return c10d::ProcessGroupGloo::createDefaultDevice();
}

std::string hostName()
{
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0)
        return "?";
    return name;
}

// "rank 1 (pid 42 on node7)": a rank as the others name it.
std::string who(const std::vector<std::string> &names, int rank)
{
    std::string text = rankText(rank);
    if (std::size_t(rank) < names.size() && !names[std::size_t(rank)].empty())
        text += " (" + names[std::size_t(rank)] + ")";
    return text;
}

// Why the group failed, seen from `self`: a rank's posted error, else the ranks whose heartbeat
// stands still (ranks that diagnose a failure themselves mark it, so as not to be taken for
// silent once they have ended). Empty when it cannot tell. Throws when the store is unreachable.
std::string diagnose(c10d::Store &store, const std::vector<std::string> &names, int self, int world)
{
    store.set(abortKey(self), bytesOf("1"));
    auto postedError = [&]() -> std::string {
        for (int r = 0; r < world; ++r) {
            if (r == self || !store.check({ errorKey(r) }))
                continue;
            const std::vector<std::uint8_t> text = store.get(errorKey(r));
            return who(names, r) + " failed: " + std::string(text.begin(), text.end());
        }
        return {};
    };
    if (std::string posted = postedError(); !posted.empty())
        return posted;
    std::vector<std::int64_t> before;
    for (int r = 0; r < world; ++r)
        before.push_back(store.add(beatKey(r), 0));
    std::this_thread::sleep_for(3 * kBeatPeriod);
    if (std::string posted = postedError(); !posted.empty())
        return posted;
    std::string silent;
    for (int r = 0; r < world; ++r) {
        if (r == self || store.check({ abortKey(r) })
            || store.add(beatKey(r), 0) != before[std::size_t(r)])
            continue;
        silent += (silent.empty() ? "" : ", ") + who(names, r);
    }
    return silent.empty() ? std::string()
                          : silent + " stopped responding (its process ended or hangs)";
}

} // namespace

struct DataParallel::Group
{
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<GroupBase> group;
    bool hostsStore = false; // rank 0, unless the launcher hosts the store
    torch::Device commDevice { torch::kCPU };
    milliseconds timeout { 0 };
    std::vector<std::string> names; // "pid 42 on node7" by rank
    std::unique_ptr<Heartbeat> heartbeat;
    bool aborted = false; // this rank diagnosed a failed collective (posts no error of its own)
};

DataParallel::DataParallel() = default;

DataParallel::DataParallel(const DataParallelOptions &o, const torch::Device &device)
    : m_rank(o.rank)
    , m_world(o.worldSize)
{
    if (m_world <= 1)
        return;
    const bool cuda = device.is_cuda();
    m_backend = o.backend == "auto" ? (cuda ? "nccl" : "gloo") : o.backend;
    if (m_backend != "gloo" && m_backend != "nccl")
        throw Error(
            ErrorKind::Usage, "--dist-backend must be gloo, nccl or auto, not '" + o.backend + "'");
    if (m_backend == "nccl" && !cuda)
        throw Error(
            ErrorKind::Usage, "the NCCL backend needs a CUDA device; use --dist-backend gloo");
#if !defined(ASTPEFT_NCCL)
    if (m_backend == "nccl")
        throw Error(ErrorKind::Usage,
            "this build has no NCCL (c10d's ProcessGroupNCCL); use --dist-backend gloo");
#endif
    if (o.masterAddr.empty() || o.masterPort < 1 || o.masterPort > 65535)
        throw Error(ErrorKind::Usage, "a data-parallel run needs MASTER_ADDR and MASTER_PORT");
    if (!(o.timeoutSeconds > 0) || !std::isfinite(o.timeoutSeconds))
        throw Error(ErrorKind::Usage, "--dist-timeout must be a positive number of seconds");

    auto group = std::make_unique<Group>();
    group->timeout = milliseconds(std::int64_t(std::ceil(o.timeoutSeconds * 1000.0)));
    group->commDevice = m_backend == "nccl" ? device : torch::Device(torch::kCPU);
    group->hostsStore = !o.launcherStore;
    // The rendezvous: the store, then the backend's connections between every pair of ranks.
    group->store = joinStore(o, group->timeout, m_backend);
    try {
        group->store->set(
            nameKey(m_rank), bytesOf("pid " + std::to_string(::getpid()) + " on " + hostName()));
        if (m_backend == "gloo") {
            auto options = c10d::ProcessGroupGloo::Options::create(group->timeout);
            options->devices.push_back(glooDevice(o.masterAddr));
            group->group =
                c10::make_intrusive<c10d::ProcessGroupGloo>(group->store, m_rank, m_world, options);
        } else {
#if defined(ASTPEFT_NCCL)
            auto options = c10d::ProcessGroupNCCL::Options::create();
            options->timeout = group->timeout;
            group->group =
                c10::make_intrusive<c10d::ProcessGroupNCCL>(group->store, m_rank, m_world, options);
#endif
        }
        for (int r = 0; r < m_world; ++r) {
            const std::vector<std::uint8_t> name = group->store->get(nameKey(r));
            group->names.emplace_back(name.begin(), name.end());
        }
    } catch (const std::exception &e) {
        throw Error(ErrorKind::Io,
            rendezvousFailure(o, m_backend) + firstLine(e) + "; are all " + std::to_string(m_world)
                + " processes started, with the same MASTER_ADDR and MASTER_PORT?");
    }
    group->heartbeat = std::make_unique<Heartbeat>(o, group->timeout);
    m_group = std::move(group);
}

DataParallel::~DataParallel() = default;

torch::Tensor DataParallel::onCommDevice(const torch::Tensor &t) const
{
    return t.device() == m_group->commDevice ? t : t.to(m_group->commDevice);
}

template<typename F> void DataParallel::guarded(const char *what, F &&collective)
{
    try {
        collective();
    } catch (const Error &) {
        throw;
    } catch (const std::exception &e) {
        fail(what, e);
    }
}

// A collective failed (a peer closed its connections, or the timeout passed): name the rank at
// fault, within a bounded time (a store that stopped answering means its host, rank 0, hangs).
void DataParallel::fail(const char *what, const std::exception &e)
{
    Group &g = *m_group;
    g.aborted = true;
    // On a thread of its own that owns what it reads: a diagnosis that outlives the wait (a
    // store whose host hangs) must not touch this object once the error below has ended it.
    const std::string storeHost = g.hostsStore ? who(g.names, 0) : std::string();
    auto verdict = std::make_shared<std::promise<std::string>>();
    std::future<std::string> answer = verdict->get_future();
    std::thread([store = g.store, names = g.names, verdict, storeHost, self = m_rank,
                    world = m_world]() {
        std::string cause;
        try {
            cause = diagnose(*store, names, self, world);
        } catch (...) {
            if (self != 0 && !storeHost.empty())
                cause = storeHost + ", which hosts the rendezvous store, stopped responding";
        }
        verdict->set_value(cause);
    }).detach();
    std::string cause;
    if (answer.wait_for(std::chrono::seconds(10)) == std::future_status::ready)
        cause = answer.get();
    else if (m_rank != 0 && !storeHost.empty())
        cause = storeHost + ", which hosts the rendezvous store, stopped responding";
    const std::string detail = std::string(what) + " failed: " + firstLine(e);
    throw Error(ErrorKind::Io,
        (cause.empty() ? detail : cause + "; " + detail) + " (this is " + rankText(m_rank) + " of "
            + std::to_string(m_world) + ", ending too)");
}

void DataParallel::sumGradients(const std::vector<torch::Tensor> &parameters)
{
    if (!active())
        return;
    const auto start = std::chrono::steady_clock::now();
    torch::NoGradGuard noGrad;
    // Consecutive parameters of one dtype, up to kBucketBytes each.
    struct Bucket
    {
        std::size_t from = 0, to = 0;
        std::int64_t numel = 0;
    };
    std::vector<Bucket> buckets;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
        const torch::Tensor &p = parameters[i];
        const std::int64_t bytes = p.numel() * std::int64_t(p.element_size());
        if (buckets.empty()
            || (buckets.back().numel + p.numel()) * std::int64_t(p.element_size()) > kBucketBytes
            || parameters[buckets.back().from].scalar_type() != p.scalar_type() || bytes == 0)
            buckets.push_back({ i, i, 0 });
        buckets.back().to = i + 1;
        buckets.back().numel += p.numel();
    }
    std::vector<torch::Tensor> flats;
    guarded("the gradient all-reduce", [&] {
        std::vector<c10::intrusive_ptr<c10d::Work>> works;
        for (const Bucket &b : buckets) {
            const torch::Tensor &first = parameters[b.from];
            torch::Tensor flat = torch::zeros(
                { b.numel }, first.options().device(m_group->commDevice).requires_grad(false));
            std::int64_t offset = 0;
            for (std::size_t i = b.from; i < b.to; ++i) {
                const torch::Tensor &p = parameters[i];
                if (p.grad().defined())
                    flat.narrow(0, offset, p.numel()).copy_(p.grad().reshape({ -1 }));
                offset += p.numel();
            }
            std::vector<torch::Tensor> tensors { flat };
            works.push_back(m_group->group->allreduce(tensors));
            flats.push_back(flat);
            m_traffic.gradientBytes += b.numel * std::int64_t(first.element_size());
        }
        for (auto &work : works)
            work->wait();
    });
    for (std::size_t k = 0; k < buckets.size(); ++k) {
        std::int64_t offset = 0;
        for (std::size_t i = buckets[k].from; i < buckets[k].to; ++i) {
            torch::Tensor p = parameters[i];
            const torch::Tensor summed =
                flats[k].narrow(0, offset, p.numel()).view(p.sizes()).to(p.device());
            if (p.grad().defined())
                p.mutable_grad().copy_(summed);
            else
                p.mutable_grad() = summed.clone();
            offset += p.numel();
        }
    }
    ++m_traffic.gradientReductions;
    m_traffic.gradientSeconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<double> DataParallel::sum(std::vector<double> values)
{
    if (!active() || values.empty())
        return values;
    torch::Tensor t = onCommDevice(
        torch::from_blob(values.data(), { std::int64_t(values.size()) }, torch::kFloat64).clone());
    guarded("an all-reduce of the step's figures", [&] {
        std::vector<torch::Tensor> tensors { t };
        m_group->group->allreduce(tensors)->wait();
    });
    const torch::Tensor back = t.to(torch::kCPU).contiguous();
    std::copy_n(back.data_ptr<double>(), values.size(), values.begin());
    return values;
}

void DataParallel::broadcast(const std::vector<torch::Tensor> &tensors)
{
    if (!active())
        return;
    torch::NoGradGuard noGrad;
    guarded("the broadcast of rank 0's weights", [&] {
        for (const torch::Tensor &t : tensors) {
            std::vector<torch::Tensor> one { onCommDevice(t.detach()).contiguous() };
            m_group->group->broadcast(one)->wait();
            if (!one[0].is_same(t))
                t.detach().copy_(one[0]);
        }
    });
}

void DataParallel::checkSame(std::uint64_t value, const std::string &what)
{
    if (!active())
        return;
    const auto half = std::int64_t(value >> 1);
    torch::Tensor t = onCommDevice(torch::tensor({ half, -half }, torch::kInt64));
    guarded("the check that all processes agree", [&] {
        std::vector<torch::Tensor> tensors { t };
        c10d::AllreduceOptions max;
        max.reduceOp = c10d::ReduceOp::MAX;
        m_group->group->allreduce(tensors, max)->wait();
    });
    const torch::Tensor back = t.to(torch::kCPU);
    if (back[0].item<std::int64_t>() != -back[1].item<std::int64_t>())
        throw Error(ErrorKind::Usage,
            "the " + std::to_string(m_world) + " processes disagree on " + what
                + "; start every process with the same command, data and backbone");
}

void DataParallel::postError(const std::string &message) noexcept
{
    if (!active() || !m_group || m_group->aborted)
        return;
    try {
        m_group->store->set(errorKey(m_rank), bytesOf(message));
    } catch (...) { // the store is gone: the others find this rank silent instead
    }
}

#else // without c10d's Gloo

struct DataParallel::Group
{
};

DataParallel::DataParallel() = default;

DataParallel::DataParallel(const DataParallelOptions &o, const torch::Device &)
    : m_rank(o.rank)
    , m_world(o.worldSize)
{
    if (m_world > 1)
        throw Error(ErrorKind::Usage,
            "this build has no data-parallel training (c10d with Gloo): install libgloo-dev and "
            "build again");
}

DataParallel::~DataParallel() = default;

void DataParallel::sumGradients(const std::vector<torch::Tensor> &) { }
std::vector<double> DataParallel::sum(std::vector<double> values)
{
    return values;
}
void DataParallel::broadcast(const std::vector<torch::Tensor> &) { }
void DataParallel::checkSame(std::uint64_t, const std::string &) { }
void DataParallel::postError(const std::string &) noexcept { }

#endif

} // namespace astpeft::core::detail
