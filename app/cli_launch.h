// SPDX-License-Identifier: MIT
// `astpeft train --nproc N`: data-parallel training on this machine, N worker processes of this
// same program under torchrun's contract (core/train/local_launch.h). Called by main() before the
// train command's own parsing.
#pragma once

#include "cli_args.h"

#include <optional>
#include <string>
#include <vector>

namespace astpeft::cli {

// Takes --nproc N (or --nproc=N) out of `args`, the train command's arguments. With N > 1 starts
// N workers, each `astpeft [--threads T] train ARGS` (this program, /proc/self/exe), and waits
// for them: returns the exit status (0, 130 after Ctrl-C or SIGTERM, else the first failing
// worker's). Each worker gets `threads` intra-op threads when it is above 0 (the global
// --threads or ASTPEFT_THREADS), else an equal share of the hardware threads. Without --nproc or
// with N = 1 returns nothing: train runs in this process with `args`. Throws UsageError for N
// outside 1..256, core::Error(Usage) when this process is itself a worker (RANK, WORLD_SIZE,
// LOCAL_RANK or LOCAL_WORLD_SIZE set, or an srun step of several tasks) or the launcher's
// variables are malformed.
std::optional<int> launchTrainWorkers(
    const Command &train, std::vector<std::string> &args, int threads);

} // namespace astpeft::cli
