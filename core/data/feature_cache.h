// SPDX-License-Identifier: MIT
// A feature cache on disk shared by runs and methods: the normalised, padded fbank of a clip,
// keyed by the clip's content (a hash of its bytes, not its path or mtime) and by every
// front-end parameter and the decode channel, so that editing a file or changing the front end
// never serves stale features. Torch-free.
//
// Layout: <dir>/<first 2 hex digits>/<32 hex digits>.feat, one file per entry, written
// atomically, with a small header (magic, version, frames, bins, and an FNV-1a checksum of these
// and of the values) validated on read; an entry that fails the checksum, holds a value that is
// not finite, is truncated or is of another format version is treated as a miss (and counted as
// rejected), and features() recomputes and atomically rewrites it. Safe for several processes
// sharing the folder (atomic rename); one FeatureCache object may be used from several threads.
#pragma once

#include "features/fbank.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace astpeft::core {

struct FeatureCacheStats
{
    std::int64_t hits = 0;
    std::int64_t misses = 0;
    std::int64_t writes = 0;
    std::int64_t writeErrors = 0; // features() could not store an entry (full disk, read-only)
    std::int64_t rejected = 0; // entries found but not trusted (damaged, old format); also misses
};

class FeatureCache
{
public:
    // `dir` is created on first write. An empty path disables the cache (every get misses,
    // put does nothing).
    explicit FeatureCache(std::filesystem::path dir);

    // 128-bit key (32 hex digits) of the file's bytes + frontEnd + channel. Reads the file.
    // Throws core::Error(Io) naming the file when it cannot be read.
    std::string key(
        const std::filesystem::path &audio, const FrontEnd &frontEnd, int channel = -1) const;

    std::optional<FeatureMatrix> get(const std::string &key);
    // core::Error(Usage) when the shape and the values disagree or a value is not finite.
    void put(const std::string &key, const FeatureMatrix &features);

    // get(key(...)) or decode + extractFeatures + put.
    FeatureMatrix features(
        const std::filesystem::path &audio, const FrontEnd &frontEnd, int channel = -1);

    const std::filesystem::path &dir() const { return m_dir; }
    FeatureCacheStats stats() const;

private:
    std::filesystem::path m_dir;
    struct Counters;
    std::shared_ptr<Counters> m_counters;
};

// The default cache folder: $XDG_CACHE_HOME/astpeft/features or ~/.cache/astpeft/features.
std::filesystem::path defaultFeatureCacheDir();

} // namespace astpeft::core
