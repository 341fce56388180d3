// SPDX-License-Identifier: MIT
// Where this process stands in a data-parallel training (issue 18), as its launcher tells it
// through the environment: torchrun's contract (which `astpeft train --nproc N` and a plain shell
// loop follow too) or SLURM's srun. Torch-free; the process group itself is built in core/train.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace astpeft::core {

struct DistEnv
{
    int rank = 0; // 0 .. worldSize-1
    int worldSize = 1; // processes in the whole training
    int localRank = 0; // 0 .. localWorldSize-1: this process's index on its machine (its GPU)
    int localWorldSize = 1; // processes on this machine
    std::string masterAddr; // rendezvous host (rank 0's); empty in a single process
    int masterPort = 0; // rendezvous port, 1..65535; 0 in a single process
    std::string launcher; // "torchrun" (the torchrun/env contract), "slurm", or "" (single process)

    bool distributed() const { return worldSize > 1; }
};

// The most processes one training may have (WORLD_SIZE and SLURM_NTASKS above it are refused).
inline constexpr int kMaxWorldSize = 65536;

// A variable's value, or nothing when it is not set. An empty value counts as not set.
using EnvGetter = std::function<std::optional<std::string>(const std::string &name)>;

// Reads the launcher's variables through `get`:
//  - torchrun's contract when any of RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE is set:
//    RANK and WORLD_SIZE (RANK may be left out when WORLD_SIZE is 1), LOCAL_RANK and
//    LOCAL_WORLD_SIZE (default: RANK and WORLD_SIZE, one machine), and with WORLD_SIZE > 1
//    MASTER_ADDR and MASTER_PORT. launcher "torchrun".
//  - otherwise SLURM inside an srun job step (SLURM_STEP_ID set; a batch script's own shell has
//    SLURM_PROCID=0 and SLURM_NTASKS=N too, but it is one process): SLURM_PROCID, SLURM_NTASKS,
//    SLURM_LOCALID, the local world size from SLURM_NTASKS_PER_NODE, else this node's entry
//    (SLURM_NODEID) of SLURM_TASKS_PER_NODE ("2(x3),1"). MASTER_ADDR when set, else the first
//    host of SLURM_STEP_NODELIST, SLURM_JOB_NODELIST or SLURM_NODELIST; MASTER_PORT when set,
//    else 20000 + SLURM_JOB_ID % 20000, the same in every task of the job. launcher "slurm".
//  - neither: a single process (the defaults above). WORLD_SIZE=1 is one too.
// Throws core::Error(Usage) with a one-line "<VARIABLE>: <problem>" for a malformed or
// inconsistent value: not an integer, RANK >= WORLD_SIZE, WORLD_SIZE outside 1..kMaxWorldSize,
// a port outside 1..65535, a partial set, a missing rendezvous address.
DistEnv readDistEnv(const EnvGetter &get);
// The same from the process environment.
DistEnv readDistEnv();

// The first host of a SLURM node list, zero padding kept: "node[01-04,07],gpu5" -> "node01",
// "a,b" -> "a", "n[9-10]" -> "n9", "rack[1-2]-n[3,5]" -> "rack1-n3". Checks the whole list;
// throws core::Error(Usage) with a one-line message (without a variable name) when malformed.
std::string firstSlurmHost(const std::string &nodelist);

} // namespace astpeft::core
