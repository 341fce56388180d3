// SPDX-License-Identifier: MIT
// Atomic file replacement: write to a temporary file beside the target, fsync, rename over the
// target, fsync the folder. On any failure (full disk included) the previous file stays intact
// and the temporary file is removed. Only a regular file or a missing path is replaced: a symbolic
// link, FIFO, device node or folder as the target is refused (core::Error(Io) naming it) and
// left as it is.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace astpeft::core {

// The whole file as bytes; core::Error(Io) naming the file when it cannot be opened or read.
std::string readTextFile(const std::filesystem::path &path);

// Creates `dir` and its missing parents; core::Error(Io) naming the folder when that fails.
void createDirectories(const std::filesystem::path &dir);

void writeFileAtomic(const std::filesystem::path &path, std::span<const std::byte> bytes);
void writeFileAtomic(const std::filesystem::path &path, std::string_view text);

// Streaming variant for large files. commit() publishes; destruction without commit() discards.
class AtomicFile
{
public:
    explicit AtomicFile(const std::filesystem::path &path);
    ~AtomicFile();
    AtomicFile(const AtomicFile &) = delete;
    AtomicFile &operator=(const AtomicFile &) = delete;

    void write(std::span<const std::byte> bytes);
    void write(std::string_view text);
    void commit();

private:
    std::filesystem::path m_path;
    std::filesystem::path m_tmp;
    int m_fd = -1;
};

} // namespace astpeft::core
