// SPDX-License-Identifier: MIT
// jemalloc's start-up options, for the executables that link it (astpeft_use_jemalloc() in
// CMake defines ASTPEFT_JEMALLOC). Include in exactly one source file of such an executable.
// Freed pages are kept for reuse instead of being returned to the system (decay -1): a training
// step frees and reallocates the same activation sizes every step, and returning them costs
// page faults every step. Peak memory is what the process needed, without heap fragmentation.
#pragma once

#ifdef ASTPEFT_JEMALLOC
extern "C" {
// Read by jemalloc at its initialisation (Debian's build has no symbol prefix).
// NOLINTNEXTLINE: the name and type are jemalloc's.
extern const char *malloc_conf;
const char *malloc_conf = "dirty_decay_ms:-1,muzzy_decay_ms:-1";
}
#endif
