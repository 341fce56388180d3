// SPDX-License-Identifier: MIT
#include "data/feature_cache.h"

#include "audio/audio_file.h"
#include "error.h"
#include "io/atomic_file.h"
#include "io/file_chunks.h"
#include "io/fnv1a.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <span>
#include <string_view>
#include <system_error>
#include <type_traits>

#include <fcntl.h>
#include <unistd.h>

namespace astpeft::core {

namespace {

// Bump when the entry layout or the feature computation changes: old entries then miss (their
// keys differ, and an entry of another version found under a key is rejected by its header) and
// are never read back with the wrong meaning. Version 2 added the checksum.
constexpr std::uint32_t kFormatVersion = 2;
constexpr char kMagic[4] = { 'A', 'P', 'F', 'C' };
// magic (4) + version (u32) + frames (i64) + bins (i32) + checksum (u64), little-endian.
constexpr std::size_t kHeaderSize = 4 + 4 + 8 + 4 + 8;
constexpr std::size_t kChecksumOffset = 20;

// A new FrontEnd or FbankOptions field must also go into canonicalFrontEnd(), or the cache
// would serve features computed with the old value. These asserts fail when the structs change
// (x86-64 / AArch64 layouts).
static_assert(sizeof(FbankOptions) == 40, "update canonicalFrontEnd() for the new field");
static_assert(sizeof(FrontEnd) == 56, "update canonicalFrontEnd() for the new field");

// MurmurHash3 x64_128 (Austin Appleby, public domain), incremental: bytes may arrive in chunks
// of any size and give the same hash as one call over their concatenation.
class Murmur3x128
{
public:
    explicit Murmur3x128(std::uint64_t seed = 0)
        : m_h1(seed)
        , m_h2(seed)
    { }

    void update(std::span<const unsigned char> bytes)
    {
        m_length += bytes.size();
        std::size_t i = 0;
        if (m_pendingSize > 0) {
            while (m_pendingSize < 16 && i < bytes.size())
                m_pending[m_pendingSize++] = bytes[i++];
            if (m_pendingSize < 16)
                return;
            block(m_pending.data());
            m_pendingSize = 0;
        }
        for (; i + 16 <= bytes.size(); i += 16)
            block(bytes.data() + i);
        while (i < bytes.size())
            m_pending[m_pendingSize++] = bytes[i++];
    }
    void update(std::string_view text)
    {
        update(std::span(reinterpret_cast<const unsigned char *>(text.data()), text.size()));
    }

    // 32 lowercase hex digits: h1 then h2, most significant digit first.
    std::string hex() const
    {
        std::uint64_t h1 = m_h1;
        std::uint64_t h2 = m_h2;
        std::uint64_t k1 = 0;
        std::uint64_t k2 = 0;
        const unsigned char *tail = m_pending.data();
        // The reference's fall-through switch over the tail bytes.
        for (std::size_t j = m_pendingSize; j > 8; --j)
            k2 ^= std::uint64_t(tail[j - 1]) << (8 * (j - 9));
        if (m_pendingSize > 8) {
            k2 *= kC2;
            k2 = std::rotl(k2, 33);
            k2 *= kC1;
            h2 ^= k2;
        }
        for (std::size_t j = std::min<std::size_t>(m_pendingSize, 8); j > 0; --j)
            k1 ^= std::uint64_t(tail[j - 1]) << (8 * (j - 1));
        if (m_pendingSize > 0) {
            k1 *= kC1;
            k1 = std::rotl(k1, 31);
            k1 *= kC2;
            h1 ^= k1;
        }
        h1 ^= m_length;
        h2 ^= m_length;
        h1 += h2;
        h2 += h1;
        h1 = fmix(h1);
        h2 = fmix(h2);
        h1 += h2;
        h2 += h1;

        std::array<unsigned char, 16> bytes {}; // h1 then h2, most significant byte first
        for (int i = 0; i < 8; ++i) {
            bytes[std::size_t(i)] = static_cast<unsigned char>(h1 >> (56 - 8 * i));
            bytes[std::size_t(8 + i)] = static_cast<unsigned char>(h2 >> (56 - 8 * i));
        }
        return lowerHex(bytes);
    }

private:
    static constexpr std::uint64_t kC1 = 0x87c37b91114253d5ull;
    static constexpr std::uint64_t kC2 = 0x4cf5ad432745937full;

    static std::uint64_t load64(const unsigned char *p)
    {
        std::uint64_t v = 0;
        for (int b = 7; b >= 0; --b)
            v = (v << 8) | p[b];
        return v;
    }
    static std::uint64_t fmix(std::uint64_t k)
    {
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccdull;
        k ^= k >> 33;
        k *= 0xc4ceb9fe1a85ec53ull;
        k ^= k >> 33;
        return k;
    }
    void block(const unsigned char *p)
    {
        std::uint64_t k1 = load64(p);
        std::uint64_t k2 = load64(p + 8);
        k1 *= kC1;
        k1 = std::rotl(k1, 31);
        k1 *= kC2;
        m_h1 ^= k1;
        m_h1 = std::rotl(m_h1, 27);
        m_h1 += m_h2;
        m_h1 = m_h1 * 5 + 0x52dce729;
        k2 *= kC2;
        k2 = std::rotl(k2, 33);
        k2 *= kC1;
        m_h2 ^= k2;
        m_h2 = std::rotl(m_h2, 31);
        m_h2 += m_h1;
        m_h2 = m_h2 * 5 + 0x38495ab5;
    }

    std::uint64_t m_h1;
    std::uint64_t m_h2;
    std::uint64_t m_length = 0;
    std::array<unsigned char, 16> m_pending {};
    std::size_t m_pendingSize = 0;
};

// Shortest text that reads back to exactly the same value (std::to_chars round trip).
template<typename T> std::string exact(T value)
{
    std::array<char, 64> buffer {};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    return std::string(buffer.data(), result.ptr);
}

// Every parameter that changes the features, in a fixed order, one line without newlines.
std::string canonicalFrontEnd(const FrontEnd &f, int channel)
{
    const FbankOptions &o = f.fbank;
    std::string s;
    s += "sampleRate=" + exact(o.sampleRate);
    s += ";numMelBins=" + exact(o.numMelBins);
    s += ";frameLength=" + exact(o.frameLength);
    s += ";frameShift=" + exact(o.frameShift);
    s += ";lowFreq=" + exact(o.lowFreq);
    s += ";highFreq=" + exact(o.highFreq);
    s += ";preemphasis=" + exact(o.preemphasis);
    s += ";logFloor=" + exact(o.logFloor);
    s += ";maxLength=" + exact(f.maxLength);
    s += ";normalize=" + exact(int(f.normalize));
    s += ";mean=" + exact(f.mean);
    s += ";std=" + exact(f.std);
    s += ";channel=" + exact(channel);
    return s;
}

bool isKey(const std::string &key)
{
    if (key.size() != 32)
        return false;
    for (const char c : key) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

void checkKey(const std::string &key)
{
    if (!isKey(key)) {
        throw Error(ErrorKind::Usage,
            "feature cache: \"" + key + "\" is not a key (32 lowercase hex digits)");
    }
}

template<typename T> void putLittle(std::string &out, T value)
{
    using U = std::make_unsigned_t<T>;
    const auto bits = static_cast<U>(value);
    for (std::size_t b = 0; b < sizeof(T); ++b)
        out += char((bits >> (8 * b)) & 0xff);
}

template<typename T> T getLittle(const char *p)
{
    using U = std::make_unsigned_t<T>;
    U bits = 0;
    for (std::size_t b = sizeof(T); b > 0; --b)
        bits = U(bits << 8) | U(static_cast<unsigned char>(p[b - 1]));
    return static_cast<T>(bits);
}

// FNV-1a of the header before the checksum (magic, version, shape) and of the values: an entry
// overwritten or damaged anywhere, by constants included, fails it.
std::uint64_t entryChecksum(std::string_view headerFields, std::string_view values)
{
    Fnv1a hash;
    hash.add(headerFields.data(), headerFields.size());
    hash.add(values.data(), values.size());
    return hash.h;
}

} // namespace

struct FeatureCache::Counters
{
    std::atomic<std::int64_t> hits { 0 };
    std::atomic<std::int64_t> misses { 0 };
    std::atomic<std::int64_t> writes { 0 };
    std::atomic<std::int64_t> writeErrors { 0 };
    std::atomic<std::int64_t> rejected { 0 };
};

FeatureCache::FeatureCache(std::filesystem::path dir)
    : m_dir(std::move(dir))
    , m_counters(std::make_shared<Counters>())
{ }

std::string FeatureCache::key(
    const std::filesystem::path &audio, const FrontEnd &frontEnd, int channel) const
{
    Murmur3x128 hash;
    // The parameters first: the line ends at the first newline, so no file content can be
    // mistaken for parameters.
    hash.update("astpeft feature cache v" + std::to_string(kFormatVersion) + "\n");
    hash.update(canonicalFrontEnd(frontEnd, channel) + "\n");

    readInChunks(
        audio, [&](std::span<const unsigned char> chunk) { hash.update(chunk); }, "the audio file");
    return hash.hex();
}

std::optional<FeatureMatrix> FeatureCache::get(const std::string &key)
{
    checkKey(key);
    const auto miss = [this]() -> std::optional<FeatureMatrix> {
        m_counters->misses.fetch_add(1, std::memory_order_relaxed);
        return std::nullopt;
    };
    // An entry that is there but cannot be trusted: a miss, counted as rejected too.
    const auto reject = [this, &miss]() -> std::optional<FeatureMatrix> {
        m_counters->rejected.fetch_add(1, std::memory_order_relaxed);
        return miss();
    };
    if (m_dir.empty())
        return miss();

    std::ifstream in(m_dir / key.substr(0, 2) / (key + ".feat"), std::ios::binary | std::ios::ate);
    if (!in)
        return miss();
    const std::streamoff fileSize = in.tellg();
    std::array<char, kHeaderSize> header {};
    if (fileSize < std::streamoff(kHeaderSize) || !in.seekg(0)
        || !in.read(header.data(), header.size()))
        return reject();
    const auto version = getLittle<std::uint32_t>(header.data() + 4);
    const auto frames = getLittle<std::int64_t>(header.data() + 8);
    const auto bins = getLittle<std::int32_t>(header.data() + 16);
    const auto checksum = getLittle<std::uint64_t>(header.data() + kChecksumOffset);
    // The data must fill the rest of the file exactly: a truncated or extended entry misses.
    const std::int64_t dataBytes = fileSize - std::streamoff(kHeaderSize);
    if (std::memcmp(header.data(), kMagic, 4) != 0 || version != kFormatVersion || frames < 0
        || bins <= 0 || frames > dataBytes / std::int64_t(sizeof(float)) / bins
        || frames * bins * std::int64_t(sizeof(float)) != dataBytes)
        return reject();
    const auto values = std::size_t(frames) * std::size_t(bins);
    std::string bytes(values * sizeof(float), '\0');
    if (!in.read(bytes.data(), std::streamsize(bytes.size())))
        return reject();
    if (entryChecksum(std::string_view(header.data(), kChecksumOffset), bytes) != checksum)
        return reject();

    FeatureMatrix features;
    features.frames = frames;
    features.bins = bins;
    features.data.resize(values);
    for (std::size_t i = 0; i < values; ++i) {
        const float x = std::bit_cast<float>(getLittle<std::uint32_t>(&bytes[4 * i]));
        // Features are always finite; put() never stores anything else.
        if (!std::isfinite(x))
            return reject();
        features.data[i] = x;
    }
    m_counters->hits.fetch_add(1, std::memory_order_relaxed);
    return features;
}

void FeatureCache::put(const std::string &key, const FeatureMatrix &features)
{
    checkKey(key);
    if (features.frames < 0 || features.bins <= 0
        || features.data.size() != std::size_t(features.frames) * std::size_t(features.bins)) {
        throw Error(ErrorKind::Usage,
            "feature cache: " + std::to_string(features.data.size()) + " values for "
                + std::to_string(features.frames) + " x " + std::to_string(features.bins)
                + " features");
    }
    if (const auto bad = std::find_if_not(
            features.data.begin(), features.data.end(), [](float x) { return std::isfinite(x); });
        bad != features.data.end()) {
        throw Error(ErrorKind::Usage,
            "feature cache: value " + std::to_string(bad - features.data.begin())
                + " is not finite (" + std::to_string(*bad) + ")");
    }
    if (m_dir.empty())
        return;

    std::string values;
    values.reserve(features.data.size() * sizeof(float));
    for (const float x : features.data)
        putLittle(values, std::bit_cast<std::uint32_t>(x));
    std::string bytes;
    bytes.reserve(kHeaderSize + values.size());
    bytes.append(kMagic, 4);
    putLittle(bytes, kFormatVersion);
    putLittle(bytes, features.frames);
    putLittle(bytes, std::int32_t(features.bins));
    putLittle(bytes, entryChecksum(bytes, values));
    bytes += values;

    const std::filesystem::path folder = m_dir / key.substr(0, 2);
    createDirectories(folder);
    // Several writers of one key (threads or processes) each rename a complete file over it.
    writeFileAtomic(folder / (key + ".feat"), std::string_view(bytes));
    m_counters->writes.fetch_add(1, std::memory_order_relaxed);
}

FeatureMatrix FeatureCache::features(
    const std::filesystem::path &audio, const FrontEnd &frontEnd, int channel)
{
    std::string cacheKey;
    if (!m_dir.empty()) {
        cacheKey = key(audio, frontEnd, channel);
        if (std::optional<FeatureMatrix> cached = get(cacheKey))
            return std::move(*cached);
    } else {
        m_counters->misses.fetch_add(1, std::memory_order_relaxed);
    }

    const Audio decoded = decodeAudio(
        audio, DecodeOptions { .targetRate = frontEnd.fbank.sampleRate, .channel = channel });
    FeatureMatrix features;
    try {
        features = extractFeatures(decoded.samples, frontEnd);
    } catch (const Error &e) {
        // e.g. a clip shorter than one frame: name the file.
        throw Error(e.kind(), e.reason(), audio);
    }
    if (!m_dir.empty()) {
        // The cache only saves time: a full disk or a read-only folder must not fail the run.
        try {
            put(cacheKey, features);
        } catch (const Error &) {
            m_counters->writeErrors.fetch_add(1, std::memory_order_relaxed);
        }
    }
    return features;
}

FeatureCacheStats FeatureCache::stats() const
{
    FeatureCacheStats s;
    s.hits = m_counters->hits.load(std::memory_order_relaxed);
    s.misses = m_counters->misses.load(std::memory_order_relaxed);
    s.writes = m_counters->writes.load(std::memory_order_relaxed);
    s.writeErrors = m_counters->writeErrors.load(std::memory_order_relaxed);
    s.rejected = m_counters->rejected.load(std::memory_order_relaxed);
    return s;
}

std::filesystem::path defaultFeatureCacheDir()
{
    // XDG: a relative XDG_CACHE_HOME is invalid and ignored.
    if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && xdg[0] == '/')
        return std::filesystem::path(xdg) / "astpeft" / "features";
    if (const char *home = std::getenv("HOME"); home && home[0] != '\0')
        return std::filesystem::path(home) / ".cache" / "astpeft" / "features";
    // Nowhere to keep it: an empty path disables the cache.
    return {};
}

} // namespace astpeft::core
