// SPDX-License-Identifier: MIT
// Reading a whole file in chunks (to hash it, for example) and the small text helpers that go
// with it. Torch-free.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <span>
#include <string>

namespace astpeft::core {

// Reads `path` from start to end and hands each chunk (at most `chunkBytes`) to `consume`, on the
// calling thread, retrying reads that a signal interrupts. Throws Error(Io) naming the file:
// "cannot open PURPOSE: REASON" or "cannot read PURPOSE: REASON", e.g. with purpose "to verify
// it" or "the audio file". An exception from `consume` propagates; the file is closed either way.
void readInChunks(const std::filesystem::path &path,
    const std::function<void(std::span<const unsigned char>)> &consume, const std::string &purpose,
    std::size_t chunkBytes = std::size_t(1) << 16);

// Lower-case hexadecimal, two digits per byte in order ("00ff10").
std::string lowerHex(std::span<const unsigned char> bytes);

} // namespace astpeft::core
