// SPDX-License-Identifier: MIT
// The safetensors format: 8-byte little-endian header length N, N bytes of JSON header,
// then the raw little-endian tensor data. Reading memory-maps the file and validates everything
// before any tensor is handed out. Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace astpeft::core {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

std::size_t dtypeSize(DType dtype);
std::string dtypeName(DType dtype); // the safetensors spelling: "F32", "BF16", ...
std::optional<DType> parseDType(const std::string &name);

struct TensorInfo
{
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0; // byte offsets into the data section, [begin, end)
    std::uint64_t end = 0;
    std::int64_t numel() const;
};

// Largest header we accept; real checkpoints have headers of a few hundred KB.
inline constexpr std::uint64_t kMaxSafetensorsHeader = 100ull << 20;

class SafetensorsFile
{
public:
    // Throws core::Error (Io or Format) naming the file and the first problem found.
    explicit SafetensorsFile(const std::filesystem::path &path);
    ~SafetensorsFile();
    SafetensorsFile(SafetensorsFile &&other) noexcept;
    SafetensorsFile &operator=(SafetensorsFile &&other) noexcept;
    SafetensorsFile(const SafetensorsFile &) = delete;
    SafetensorsFile &operator=(const SafetensorsFile &) = delete;

    const std::filesystem::path &path() const { return m_path; }
    // Sorted by name.
    const std::vector<TensorInfo> &tensors() const { return m_tensors; }
    const TensorInfo *find(const std::string &name) const; // nullptr when absent
    // The tensor's bytes inside the mapping; valid while this object lives.
    std::span<const std::byte> data(const TensorInfo &tensor) const;
    const std::map<std::string, std::string> &metadata() const { return m_metadata; }
    // Drops the tensor's whole pages from memory once it has been copied (the mapping stays
    // valid: pages are re-read from the file if touched again). Keeps the peak memory of a
    // load near one copy of the weights instead of two.
    void release(const TensorInfo &tensor) const;

private:
    std::filesystem::path m_path;
    std::vector<TensorInfo> m_tensors;
    std::map<std::string, std::string> m_metadata;
    const std::byte *m_map = nullptr; // whole file, read-only mapping
    std::size_t m_mapSize = 0;
    std::size_t m_dataStart = 0; // 8 + header length
};

struct TensorToWrite
{
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    std::span<const std::byte> bytes; // exactly numel * dtypeSize bytes, little-endian
};

// Writes atomically (see atomic_file.h). Tensors are laid out in name order, header padded with
// spaces to a multiple of 8 bytes as the reference implementation does. Throws on duplicate
// names or byte counts that do not match the shape.
void writeSafetensors(const std::filesystem::path &path, const std::vector<TensorToWrite> &tensors,
    const std::map<std::string, std::string> &metadata = {});

} // namespace astpeft::core
