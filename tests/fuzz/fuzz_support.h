// SPDX-License-Identifier: MIT
// Shared by the libFuzzer targets: a scratch folder per process for the readers that take a
// path, and the contract every target checks: a reader may throw core::Error, and nothing else
// (any other exception escapes LLVMFuzzerTestOneInput and libFuzzer reports it as a crash).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace astpeft::fuzz {

// A fresh folder under /dev/shm (memory; $TMPDIR without it), made once per process. libFuzzer
// leaves through exit() or _exit(); the few files in it are left behind on a crash only.
inline const std::filesystem::path &scratch()
{
    static const std::filesystem::path dir = [] {
        namespace fs = std::filesystem;
        std::error_code ec;
        const fs::path base =
            fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
        const fs::path made = base / ("astpeft-fuzz-" + std::to_string(::getpid()));
        fs::remove_all(made, ec);
        fs::create_directories(made);
        std::atexit([] {
            std::error_code ignored;
            std::filesystem::remove_all(scratch(), ignored);
        });
        return made;
    }();
    return dir;
}

inline std::string_view text(const std::uint8_t *data, std::size_t size)
{
    return { reinterpret_cast<const char *>(data), size };
}

// Writes `bytes` to `path` (its folder created), replacing what was there.
inline void writeFile(const std::filesystem::path &path, std::string_view bytes)
{
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out.flush())
        std::abort(); // the scratch folder itself failed: not a finding
}

} // namespace astpeft::fuzz
