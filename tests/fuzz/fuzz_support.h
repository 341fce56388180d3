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

// A fresh folder under $ASTPEFT_FUZZ_SCRATCH (tools/fuzz.sh's, which it removes after the run),
// else /dev/shm (memory) or $TMPDIR, made once per process. libFuzzer often leaves through
// _Exit(), past the clean-up below.
inline const std::filesystem::path &scratch()
{
    static const std::filesystem::path dir = [] {
        namespace fs = std::filesystem;
        std::error_code ec;
        const char *given = std::getenv("ASTPEFT_FUZZ_SCRATCH");
        fs::path base = given && *given ? fs::path(given) : fs::path("/dev/shm");
        if (!fs::is_directory(base, ec))
            base = fs::temp_directory_path();
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
