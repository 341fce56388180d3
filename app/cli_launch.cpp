// SPDX-License-Identifier: MIT
#include "cli_launch.h"

#include "cli_interrupt.h"
#include "error.h"
#include "train/dist_env.h"
#include "train/local_launch.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace astpeft::cli {

namespace {

// The value of the last --nproc in `args`, which loses every --nproc; the values of the
// command's other options stay as they are, even one that reads "--nproc".
std::optional<std::string> takeNproc(const Command &train, std::vector<std::string> &args)
{
    std::optional<std::string> value;
    std::vector<std::string> kept;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string &a = args[i];
        if (a == "--nproc") {
            if (i + 1 == args.size())
                throw UsageError("--nproc needs a value");
            value = args[++i];
        } else if (a.rfind("--nproc=", 0) == 0) {
            value = a.substr(8);
        } else {
            kept.push_back(a);
            if (a.rfind("--", 0) == 0 && a.find('=') == std::string::npos
                && train.valueOptions.count(a.substr(2)) && i + 1 < args.size())
                kept.push_back(args[++i]);
        }
    }
    args = std::move(kept);
    return value;
}

// --nproc starts the workers itself: refused in a process that a launcher started as one, in
// one line (a core::Error, not a UsageError: the command line is not what is wrong).
void refuseInsideAWorker()
{
    for (const char *name : { "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE" }) {
        if (const char *value = std::getenv(name); value && *value) {
            throw core::Error(core::ErrorKind::Usage,
                std::string("--nproc starts its own workers, but ") + name
                    + " is set: this process is already one (torchrun, a shell loop or --nproc)");
        }
    }
    if (const core::DistEnv env = core::readDistEnv(); env.distributed()) {
        throw core::Error(core::ErrorKind::Usage,
            "--nproc starts its own workers, but this is task " + std::to_string(env.rank) + " of "
                + std::to_string(env.worldSize)
                + " of an srun step (SLURM_PROCID, SLURM_NTASKS): let srun start the tasks, or "
                  "give "
                  "--nproc to a step of one task");
    }
}

} // namespace

std::optional<int> launchTrainWorkers(
    const Command &train, std::vector<std::string> &args, int threads)
{
    const std::optional<std::string> value = takeNproc(train, args);
    if (!value)
        return std::nullopt;
    const int nproc = asUsage([&] {
        return core::flagInteger("nproc", *value, { 1, core::kMaxLocalWorkers });
    });
    refuseInsideAWorker();
    if (nproc == 1)
        return std::nullopt;
    core::LocalLaunch launch;
    launch.nproc = nproc;
    launch.program = "/proc/self/exe";
    // The global options before the command are --threads alone; each worker gets its count.
    launch.argv = { "astpeft" };
    if (threads > 0) {
        launch.threadsPerWorker = threads;
        launch.argv.insert(launch.argv.end(), { "--threads", std::to_string(threads) });
    } else {
        launch.threadsPerWorker = std::max(1, int(std::thread::hardware_concurrency()) / nproc);
    }
    launch.argv.push_back(train.name);
    launch.argv.insert(launch.argv.end(), args.begin(), args.end());
    const StopOnInterrupt interrupt;
    return core::launchLocalWorkers(launch, interrupt.token());
}

} // namespace astpeft::cli
