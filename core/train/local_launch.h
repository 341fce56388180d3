// SPDX-License-Identifier: MIT
// `astpeft train --nproc N`: N worker processes on this machine under torchrun's contract (see
// dist_env.h), started and watched by the calling process, as torchrun's --standalone does.
// Torch-free.
#pragma once

#include <functional>
#include <stop_token>
#include <string>
#include <vector>

namespace astpeft::core {

// The most workers one local launch starts.
inline constexpr int kMaxLocalWorkers = 256;

struct LocalLaunch
{
    int nproc = 2; // workers, 1..kMaxLocalWorkers
    std::vector<std::string> argv; // the worker command: argv[0] and the arguments
    std::string program; // the file executed (no PATH search); empty: argv[0]
    int threadsPerWorker = 0; // > 0: OMP_NUM_THREADS and ASTPEFT_THREADS set to it in each worker
    bool cudaDevices = false; // reserved: one GPU per worker follows from LOCAL_RANK
    // After the first worker fails (or a stop), how long the others get to end on their own
    // before SIGTERM, then SIGKILL 5 s later.
    double graceSeconds = 30;
    // Receives each line about a worker (no newline); empty: written to stderr.
    std::function<void(const std::string &line)> report;
};

// Starts launch.nproc workers (fork + execve) with the environment of this process plus
// MASTER_ADDR=127.0.0.1, MASTER_PORT=freeLoopbackPort(), RANK=LOCAL_RANK=i and
// WORLD_SIZE=LOCAL_WORLD_SIZE=nproc, and waits for all of them, on the calling thread.
// The workers inherit stdin, stdout and stderr, no other descriptor; each is its own process
// group (so that Ctrl-C on a terminal reaches them once, through this process) and gets SIGTERM
// should this process die first.
// Returns the exit status to use: 0 when every worker succeeded; 130 when `stop` was requested
// (SIGINT is forwarded to the workers, which end resumable with 130); else the first failing
// worker's exit status (1 for one killed by a signal). Each failing worker gets one line,
// "astpeft: worker rank 1 (pid 1234) exited with status 3" or "... was killed by signal 9"
// (after a stop, workers ending with 0 or 130 are not failing). A worker that cannot be started
// gives "astpeft: cannot start worker: PROGRAM: REASON", the ones already started are stopped,
// and the result is 1. Never waits forever: after the first failure or the stop, the others
// get launch.graceSeconds to end, then SIGTERM, then SIGKILL 5 s later.
// Throws core::Error(Usage) for a launch outside the ranges above, core::Error(Io) when no
// port or process can be had.
int launchLocalWorkers(const LocalLaunch &launch, std::stop_token stop = {});

// A TCP port on 127.0.0.1 that was free a moment ago: bound to port 0, read back and closed.
// Throws core::Error(Io) when no socket can be bound.
int freeLoopbackPort();

} // namespace astpeft::core
