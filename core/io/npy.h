// SPDX-License-Identifier: MIT
// NumPy .npy (format 1.0/2.0) for little-endian float32 C-order arrays. Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace astpeft::core {

struct NpyArray
{
    std::vector<std::int64_t> shape;
    std::vector<float> data; // C order
};

// Atomic write of a '<f4' array.
void writeNpy(const std::filesystem::path &path, std::span<const float> data,
    const std::vector<std::int64_t> &shape);
// Reads '<f4' (and converts '<f8') arrays; throws core::Error naming the file otherwise.
NpyArray readNpy(const std::filesystem::path &path);

} // namespace astpeft::core
