// SPDX-License-Identifier: MIT
// core/data/feature_cache: content-keyed features on disk. A hit returns exactly what was
// computed; editing the file, any front-end field or the channel changes the key; identical
// content at two paths shares an entry; damaged entries miss and are rewritten; an empty path
// disables the cache; unreadable audio names the file.
#include "audio/audio_file.h"
#include "data/feature_cache.h"
#include "error.h"
#include "io/fnv1a.h"
#include "test_support.h"

#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <numbers>
#include <set>
#include <thread>
#include <vector>

using namespace astpeft;
using core::FeatureCache;
using core::FeatureMatrix;
using core::FrontEnd;
namespace fs = std::filesystem;

namespace {

using test::captureError;

// A short front end keeps the tests fast: 1 s clips give 98 frames, padded to 100.
FrontEnd smallFrontEnd()
{
    FrontEnd f;
    f.maxLength = 100;
    return f;
}

// 1 s of a chord at 16 kHz; `variant` changes the content but not the length.
std::vector<float> tone(int variant, int channels = 1)
{
    std::vector<float> samples(std::size_t(16000 * channels));
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const double t = double(i / std::size_t(channels)) / 16000.0;
        const int c = int(i % std::size_t(channels));
        samples[i] = float(0.3 * std::sin(2 * std::numbers::pi * (440.0 + 110.0 * variant) * t)
            + 0.1 * std::sin(2 * std::numbers::pi * (1000.0 + 500.0 * c) * t));
    }
    return samples;
}

fs::path entryPath(const FeatureCache &cache, const std::string &key)
{
    return cache.dir() / key.substr(0, 2) / (key + ".feat");
}

std::string readBytes(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeBytes(const fs::path &path, const std::string &bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
}

bool sameBits(const FeatureMatrix &a, const FeatureMatrix &b)
{
    return a.frames == b.frames && a.bins == b.bins && a.data.size() == b.data.size()
        && std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(float)) == 0;
}

using Damage = std::function<std::string(std::string)>;

constexpr int kFormatVersion = 2; // the entry header's version field
// magic (4), version (4), frames (8), bins (4), checksum (8): FNV-1a of the 20 bytes before it
// and of the values.
constexpr std::size_t kHeaderSize = 28;

// The little-endian bytes of `count` copies of `value`.
std::string floats(std::size_t count, float value)
{
    std::string bytes;
    for (std::size_t i = 0; i < count; ++i) {
        const auto bits = std::bit_cast<std::uint32_t>(value);
        for (int b = 0; b < 4; ++b)
            bytes += char((bits >> (8 * b)) & 0xff);
    }
    return bytes;
}

// The entry's values replaced with `value`, the header kept (a stale checksum) or, with
// `fixChecksum`, given the checksum of the new values (so that only the value check is left).
Damage overwriteValues(float value, bool fixChecksum)
{
    return [value, fixChecksum](std::string bytes) {
        const std::string values = floats((bytes.size() - kHeaderSize) / 4, value);
        bytes.replace(kHeaderSize, std::string::npos, values);
        if (fixChecksum) {
            core::Fnv1a hash;
            hash.add(bytes.data(), 20);
            hash.add(values.data(), values.size());
            for (std::size_t b = 0; b < 8; ++b)
                bytes[20 + b] = char((hash.h >> (8 * b)) & 0xff);
        }
        return bytes;
    };
}

Damage setByte(std::size_t index, char value)
{
    return [index, value](std::string bytes) {
        if (index < bytes.size())
            bytes.replace(index, 1, 1, value);
        return bytes;
    };
}

Damage flipByte(std::size_t index)
{
    return [index](std::string bytes) {
        bytes[index] = char(bytes[index] ^ 0x5a);
        return bytes;
    };
}

} // namespace

Q_DECLARE_METATYPE(Damage)

class TestFeatureCache : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void hitAfterMiss();
    void contentChangeMisses();
    void keyCoversFrontEndAndChannel();
    void sameContentSharesKey();
    void damagedEntryMisses_data();
    void damagedEntryMisses();
    void overwrittenEntryIsRecomputed_data();
    void overwrittenEntryIsRecomputed();
    void oldFormatEntryIsRecomputed();
    void putGetExactBits();
    void disabled();
    void unreadableAudio();
    void invalidKey();
    void concurrentUse();
    void defaultDir();

private:
    std::unique_ptr<QTemporaryDir> m_tmp;
    fs::path m_root;
    fs::path m_wav;
};

void TestFeatureCache::init()
{
    m_tmp = std::make_unique<QTemporaryDir>();
    QVERIFY(m_tmp->isValid());
    m_root = fs::path(m_tmp->path().toStdString());
    m_wav = m_root / "clip.wav";
    core::writeAudio(m_wav, tone(0), 16000);
}

void TestFeatureCache::hitAfterMiss()
{
    FeatureCache cache(m_root / "cache");
    const FrontEnd fe = smallFrontEnd();
    const FeatureMatrix first = cache.features(m_wav, fe);
    QCOMPARE(cache.stats().misses, std::int64_t(1));
    QCOMPARE(cache.stats().hits, std::int64_t(0));
    QCOMPARE(cache.stats().writes, std::int64_t(1));
    QCOMPARE(first.frames, std::int64_t(100));
    QCOMPARE(first.bins, 128);

    // What a miss returns is what the front end computes directly.
    const core::Audio audio = core::decodeAudio(m_wav, { .targetRate = 16000, .channel = -1 });
    QVERIFY(sameBits(first, core::extractFeatures(audio.samples, fe)));

    const std::string key = cache.key(m_wav, fe);
    QCOMPARE(key.size(), std::size_t(32));
    const fs::path entry = entryPath(cache, key);
    QVERIFY(fs::is_regular_file(entry));
    QCOMPARE(fs::file_size(entry), std::uintmax_t(kHeaderSize + 100 * 128 * 4));

    const FeatureMatrix second = cache.features(m_wav, fe);
    QVERIFY(sameBits(first, second));
    QCOMPARE(cache.stats().hits, std::int64_t(1));
    QCOMPARE(cache.stats().misses, std::int64_t(1));
    QCOMPARE(cache.stats().writes, std::int64_t(1));

    // A second object on the same folder (another run) hits too; counters are per object.
    FeatureCache other(m_root / "cache");
    QVERIFY(sameBits(first, other.features(m_wav, fe)));
    QCOMPARE(other.stats().hits, std::int64_t(1));
    QCOMPARE(other.stats().misses, std::int64_t(0));
}

void TestFeatureCache::contentChangeMisses()
{
    FeatureCache cache(m_root / "cache");
    const FrontEnd fe = smallFrontEnd();
    const std::string before = cache.key(m_wav, fe);
    const FeatureMatrix old = cache.features(m_wav, fe);
    const auto size = fs::file_size(m_wav);
    const auto mtime = fs::last_write_time(m_wav);

    // Same path, same size, same modification time: only the bytes differ.
    core::writeAudio(m_wav, tone(1), 16000);
    fs::last_write_time(m_wav, mtime);
    QCOMPARE(fs::file_size(m_wav), size);
    const std::string after = cache.key(m_wav, fe);
    QVERIFY(before != after);

    const FeatureMatrix fresh = cache.features(m_wav, fe);
    QCOMPARE(cache.stats().misses, std::int64_t(2));
    QCOMPARE(cache.stats().hits, std::int64_t(0));
    QVERIFY(!sameBits(old, fresh));
    const core::Audio audio = core::decodeAudio(m_wav);
    QVERIFY(sameBits(fresh, core::extractFeatures(audio.samples, fe)));
}

void TestFeatureCache::keyCoversFrontEndAndChannel()
{
    const fs::path stereo = m_root / "stereo.wav";
    core::writeAudio(stereo, tone(0, 2), 16000, 2);
    FeatureCache cache(m_root / "cache");
    const FrontEnd base = smallFrontEnd();

    const std::vector<std::pair<const char *, std::function<void(FrontEnd &)>>> changes = {
        { "sampleRate", [](FrontEnd &f) { f.fbank.sampleRate = 22050; } },
        { "numMelBins", [](FrontEnd &f) { f.fbank.numMelBins = 64; } },
        { "frameLength", [](FrontEnd &f) { f.fbank.frameLength = 401; } },
        { "frameShift", [](FrontEnd &f) { f.fbank.frameShift = 161; } },
        { "lowFreq", [](FrontEnd &f) { f.fbank.lowFreq = std::nextafter(20.0, 21.0); } },
        { "highFreq", [](FrontEnd &f) { f.fbank.highFreq = -1.0; } },
        { "preemphasis", [](FrontEnd &f) { f.fbank.preemphasis = 0.0f; } },
        { "logFloor",
            [](FrontEnd &f) { f.fbank.logFloor = std::nextafter(f.fbank.logFloor, 1.0f); } },
        { "maxLength", [](FrontEnd &f) { f.maxLength = 0; } },
        { "normalize", [](FrontEnd &f) { f.normalize = false; } },
        // One ulp: the key keeps full float precision.
        { "mean", [](FrontEnd &f) { f.mean = std::nextafter(f.mean, 0.0f); } },
        { "std", [](FrontEnd &f) { f.std = std::nextafter(f.std, 10.0f); } },
    };
    std::set<std::string> keys;
    keys.insert(cache.key(stereo, base));
    for (const auto &[name, change] : changes) {
        FrontEnd changed = base;
        change(changed);
        QVERIFY2(keys.insert(cache.key(stereo, changed)).second, name);
    }
    for (const int channel : { 0, 1 })
        QVERIFY2(keys.insert(cache.key(stereo, base, channel)).second, "channel");
    // The key is a function of its inputs.
    QVERIFY(keys.count(cache.key(stereo, base)) == 1);
    QCOMPARE(keys.size(), changes.size() + 3);

    // Per-channel features are cached apart and differ.
    const FeatureMatrix left = cache.features(stereo, base, 0);
    const FeatureMatrix right = cache.features(stereo, base, 1);
    QVERIFY(!sameBits(left, right));
    QVERIFY(sameBits(left, cache.features(stereo, base, 0)));
    QCOMPARE(cache.stats().hits, std::int64_t(1));
}

void TestFeatureCache::sameContentSharesKey()
{
    const fs::path copy = m_root / "elsewhere" / "renamed.wav";
    fs::create_directories(copy.parent_path());
    fs::copy_file(m_wav, copy);
    FeatureCache cache(m_root / "cache");
    const FrontEnd fe = smallFrontEnd();
    QCOMPARE(cache.key(m_wav, fe), cache.key(copy, fe));
    const FeatureMatrix a = cache.features(m_wav, fe);
    const FeatureMatrix b = cache.features(copy, fe);
    QVERIFY(sameBits(a, b));
    QCOMPARE(cache.stats().hits, std::int64_t(1));
    QCOMPARE(cache.stats().writes, std::int64_t(1));
}

void TestFeatureCache::damagedEntryMisses_data()
{
    QTest::addColumn<Damage>("damage");
    QTest::addRow("truncated by one byte") << Damage([](std::string b) {
        b.pop_back();
        return b;
    });
    QTest::addRow("header only") << Damage([](std::string b) { return b.substr(0, 20); });
    QTest::addRow("half a header") << Damage([](std::string b) { return b.substr(0, 10); });
    QTest::addRow("empty") << Damage([](std::string) { return std::string(); });
    QTest::addRow("extra byte") << Damage([](std::string b) { return b + '\0'; });
    // Header bytes: magic 0-3, version 4-7, frames 8-15, bins 16-19, checksum 20-27
    // (little-endian).
    QTest::addRow("bad magic") << setByte(0, 'X');
    QTest::addRow("other version") << setByte(4, char(kFormatVersion + 1));
    QTest::addRow("frames too large") << setByte(8, char(101)); // data for 100 frames
    QTest::addRow("frames huge") << setByte(15, char(0x7f));
    QTest::addRow("negative bins") << setByte(19, char(0x80));
    QTest::addRow("checksum") << flipByte(20);
    QTest::addRow("one value") << flipByte(kHeaderSize + 1000);
}

void TestFeatureCache::damagedEntryMisses()
{
    QFETCH(Damage, damage);
    FeatureCache cache(m_root / "cache");
    const FrontEnd fe = smallFrontEnd();
    const FeatureMatrix good = cache.features(m_wav, fe);
    const std::string key = cache.key(m_wav, fe);
    const fs::path entry = entryPath(cache, key);
    const std::string intact = readBytes(entry);
    writeBytes(entry, damage(intact));

    QVERIFY(!cache.get(key));
    QCOMPARE(cache.stats().misses, std::int64_t(2));
    // features() recomputes and rewrites the entry, which then hits again.
    QVERIFY(sameBits(good, cache.features(m_wav, fe)));
    QCOMPARE(cache.stats().writes, std::int64_t(2));
    QVERIFY(readBytes(entry) == intact);
    const auto again = cache.get(key);
    QVERIFY(again);
    QVERIFY(sameBits(good, *again));
}

// Issue 17, defect 8: an entry overwritten with constants was served as features, and one of
// NaN made training fail with "loss is not finite". Either is rejected, recomputed and rewritten.
void TestFeatureCache::overwrittenEntryIsRecomputed_data()
{
    QTest::addColumn<Damage>("damage");
    QTest::addRow("zeros") << overwriteValues(0.0f, false);
    QTest::addRow("ones") << overwriteValues(1.0f, false);
    QTest::addRow("NaN") << overwriteValues(std::numeric_limits<float>::quiet_NaN(), false);
    QTest::addRow("NaN, checksum matching") // only the finiteness check catches this one
        << overwriteValues(std::numeric_limits<float>::quiet_NaN(), true);
    QTest::addRow("infinity, checksum matching")
        << overwriteValues(-std::numeric_limits<float>::infinity(), true);
}

void TestFeatureCache::overwrittenEntryIsRecomputed()
{
    QFETCH(Damage, damage);
    FeatureCache cache(m_root / "cache");
    const FrontEnd fe = smallFrontEnd();
    const FeatureMatrix good = cache.features(m_wav, fe);
    const fs::path entry = entryPath(cache, cache.key(m_wav, fe));
    const std::string intact = readBytes(entry);
    const std::string damaged = damage(intact);
    QCOMPARE(damaged.size(), intact.size());
    QVERIFY(damaged != intact);
    writeBytes(entry, damaged);

    QVERIFY(sameBits(good, cache.features(m_wav, fe)));
    QCOMPARE(cache.stats().rejected, std::int64_t(1));
    QCOMPARE(cache.stats().hits, std::int64_t(0));
    QCOMPARE(cache.stats().writes, std::int64_t(2));
    QVERIFY(readBytes(entry) == intact); // rewritten
    QVERIFY(sameBits(good, cache.features(m_wav, fe)));
    QCOMPARE(cache.stats().hits, std::int64_t(1));
    QCOMPARE(cache.stats().rejected, std::int64_t(1));
}

// An entry of format version 1 (no checksum, a 20-byte header) under a current key is
// recomputed, never read as version 2 data.
void TestFeatureCache::oldFormatEntryIsRecomputed()
{
    FeatureCache cache(m_root / "cache");
    const FrontEnd fe = smallFrontEnd();
    const FeatureMatrix good = cache.features(m_wav, fe);
    const fs::path entry = entryPath(cache, cache.key(m_wav, fe));
    const std::string intact = readBytes(entry);

    std::string old = intact.substr(0, 20);
    old[4] = char(1); // version 1
    // 100 x 128 values after the old header, the first 8 bytes of them where the checksum is.
    old += floats(std::size_t(good.frames) * std::size_t(good.bins), 0.25f);
    writeBytes(entry, old);

    QVERIFY(!cache.get(cache.key(m_wav, fe)));
    QCOMPARE(cache.stats().rejected, std::int64_t(1));
    QVERIFY(sameBits(good, cache.features(m_wav, fe)));
    QCOMPARE(cache.stats().rejected, std::int64_t(2));
    QVERIFY(readBytes(entry) == intact);
}

void TestFeatureCache::putGetExactBits()
{
    FeatureCache cache(m_root / "cache");
    FeatureMatrix m;
    m.frames = 2;
    m.bins = 3;
    m.data = { -0.0f, std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max(),
        -1.5f, std::numeric_limits<float>::lowest(), 0.4670324f };
    const std::string key = "0123456789abcdef0123456789abcdef";
    QVERIFY(!cache.get(key));
    cache.put(key, m);
    const auto back = cache.get(key);
    QVERIFY(back);
    QVERIFY(sameBits(m, *back));
    QVERIFY(std::signbit(back->data[0]));
    QCOMPARE(cache.stats().writes, std::int64_t(1));

    // Zero frames is a valid entry (maxLength 0 on a clip of exactly no frames never happens,
    // but put/get must not choke on it).
    FeatureMatrix empty;
    empty.bins = 128;
    const std::string emptyKey = "ffffffffffffffffffffffffffffffff";
    cache.put(emptyKey, empty);
    const auto emptyBack = cache.get(emptyKey);
    QVERIFY(emptyBack);
    QCOMPARE(emptyBack->frames, std::int64_t(0));
    QCOMPARE(emptyBack->bins, 128);

    // Inconsistent shapes are a usage error.
    FeatureMatrix bad = m;
    bad.data.pop_back();
    const auto error = captureError([&] { cache.put(key, bad); });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Usage);

    // So are values that are not finite: features never hold them, and get() rejects them.
    for (const float x :
        { std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity() }) {
        FeatureMatrix nonFinite = m;
        nonFinite.data[4] = x;
        const auto refused = captureError([&] { cache.put(key, nonFinite); });
        QVERIFY(refused);
        QCOMPARE(refused->kind(), core::ErrorKind::Usage);
        QVERIFY2(refused->reason().find("not finite") != std::string::npos, refused->what());
    }
    QVERIFY(sameBits(m, *cache.get(key))); // the stored entry is untouched
}

void TestFeatureCache::disabled()
{
    FeatureCache cache(fs::path {});
    const FrontEnd fe = smallFrontEnd();
    const FeatureMatrix a = cache.features(m_wav, fe);
    const FeatureMatrix b = cache.features(m_wav, fe);
    QVERIFY(sameBits(a, b));
    QCOMPARE(cache.stats().misses, std::int64_t(2));
    QCOMPARE(cache.stats().hits, std::int64_t(0));
    QCOMPARE(cache.stats().writes, std::int64_t(0));

    const std::string key = cache.key(m_wav, fe);
    cache.put(key, a);
    QVERIFY(!cache.get(key));
    QCOMPARE(cache.stats().writes, std::int64_t(0));
    QCOMPARE(cache.stats().misses, std::int64_t(3));
    // Nothing was written next to the working folder or the clip.
    QCOMPARE(std::distance(fs::directory_iterator(m_root), fs::directory_iterator()), 1);
}

void TestFeatureCache::unreadableAudio()
{
    const fs::path missing = m_root / "missing.wav";
    const fs::path garbage = m_root / "garbage.wav";
    writeBytes(garbage, std::string(4096, 'x'));
    const FrontEnd fe = smallFrontEnd();
    for (const fs::path &dir : { m_root / "cache", fs::path {} }) {
        FeatureCache cache(dir);
        for (const fs::path &clip : { missing, garbage }) {
            const auto error = captureError([&] { cache.features(clip, fe); });
            QVERIFY(error);
            QCOMPARE(error->file(), clip);
            QVERIFY2(
                std::string(error->what()).find(clip.string()) != std::string::npos, error->what());
        }
        QCOMPARE(cache.stats().writes, std::int64_t(0));
    }
    FeatureCache cache(m_root / "cache");
    const auto error = captureError([&] { cache.key(missing, fe); });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Io);
    QCOMPARE(error->file(), missing);
}

void TestFeatureCache::invalidKey()
{
    FeatureCache cache(m_root / "cache");
    for (const std::string &key : { std::string(), std::string("../../etc/passwd"),
             std::string(31, 'a'), std::string(32, 'A'), std::string(33, 'a') }) {
        const auto error = captureError([&] { cache.get(key); });
        QVERIFY(error);
        QCOMPARE(error->kind(), core::ErrorKind::Usage);
    }
}

void TestFeatureCache::concurrentUse()
{
    // Several threads on one object and one clip: every result is identical, every call is
    // counted once, and the folder holds one complete entry and no temporary files.
    FeatureCache cache(m_root / "cache");
    const FrontEnd fe = smallFrontEnd();
    const FeatureMatrix expected = FeatureCache(fs::path {}).features(m_wav, fe);
    constexpr int kThreads = 4;
    constexpr int kCalls = 3;
    std::atomic<int> mismatches { 0 };
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < kCalls; ++i) {
                if (!sameBits(expected, cache.features(m_wav, fe)))
                    ++mismatches;
            }
        });
    }
    for (std::thread &thread : threads)
        thread.join();
    QCOMPARE(mismatches.load(), 0);
    const core::FeatureCacheStats stats = cache.stats();
    QCOMPARE(stats.hits + stats.misses, std::int64_t(kThreads * kCalls));
    QCOMPARE(stats.writes, stats.misses);
    int files = 0;
    for (const auto &item : fs::recursive_directory_iterator(cache.dir()))
        files += item.is_regular_file() ? 1 : 0;
    QCOMPARE(files, 1);
}

void TestFeatureCache::defaultDir()
{
    const QByteArray xdg = qgetenv("XDG_CACHE_HOME");
    const QByteArray home = qgetenv("HOME");
    const bool hadXdg = qEnvironmentVariableIsSet("XDG_CACHE_HOME");

    qputenv("XDG_CACHE_HOME", "/tmp/xdg-cache");
    QCOMPARE(core::defaultFeatureCacheDir(), fs::path("/tmp/xdg-cache/astpeft/features"));
    qputenv("XDG_CACHE_HOME", "relative/ignored");
    qputenv("HOME", "/home/someone");
    QCOMPARE(core::defaultFeatureCacheDir(), fs::path("/home/someone/.cache/astpeft/features"));
    qunsetenv("XDG_CACHE_HOME");
    QCOMPARE(core::defaultFeatureCacheDir(), fs::path("/home/someone/.cache/astpeft/features"));

    qputenv("HOME", home);
    if (hadXdg)
        qputenv("XDG_CACHE_HOME", xdg);
}

QTEST_GUILESS_MAIN(TestFeatureCache)
#include "tst_feature_cache.moc"
