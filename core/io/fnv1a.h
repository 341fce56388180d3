// SPDX-License-Identifier: MIT
// FNV-1a, 64 bit: a small, stable, non-cryptographic hash for fingerprints and cache keys that
// must not change between versions or platforms (backbone fingerprints, trimmed-clip names).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace astpeft::core {

struct Fnv1a
{
    std::uint64_t h = 0xcbf29ce484222325ull;
    void add(const void *data, std::size_t n)
    {
        const auto *p = static_cast<const unsigned char *>(data);
        for (std::size_t i = 0; i < n; ++i) {
            h ^= p[i];
            h *= 0x100000001b3ull;
        }
    }
    // The string and a terminating zero byte (so that "ab" + "c" differs from "a" + "bc").
    void add(const std::string &s)
    {
        add(s.data(), s.size());
        add("\0", 1);
    }
};

} // namespace astpeft::core
