// SPDX-License-Identifier: MIT
// core/audio/ring_buffer: the lock-free SPSC ring between the audio callback and its reader.
#include "audio/ring_buffer.h"
#include "error.h"
#include "test_support.h"

#include <QTest>

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <thread>
#include <vector>

using namespace astpeft;

namespace {

using test::captureError;

std::vector<int> counting(int first, int count)
{
    std::vector<int> values(std::size_t(count), 0);
    std::iota(values.begin(), values.end(), first);
    return values;
}

} // namespace

class TestRingBuffer : public QObject
{
    Q_OBJECT

private slots:
    void wrapsAround_data();
    void wrapsAround();
    void fullAndEmpty();
    void partialWrites();
    void discardDropsReadable();
    void zeroCapacityThrows();
    void twoThreadStress();
};

void TestRingBuffer::wrapsAround_data()
{
    QTest::addColumn<int>("capacity");
    QTest::addColumn<int>("chunk");
    QTest::addColumn<int>("total");
    QTest::addRow("exact fit") << 8 << 8 << 8;
    QTest::addRow("wraps once") << 8 << 5 << 13;
    QTest::addRow("wraps many times, odd capacity") << 7 << 3 << 100;
    QTest::addRow("chunk of one") << 3 << 1 << 20;
    QTest::addRow("chunk equals capacity, repeated") << 4 << 4 << 40;
}

// Chunks written and read alternately so that the slots wrap past the end of the storage many
// times; every value must come back in order.
void TestRingBuffer::wrapsAround()
{
    QFETCH(int, capacity);
    QFETCH(int, chunk);
    QFETCH(int, total);
    core::SpscRingBuffer<int> ring { std::size_t(capacity) };
    QCOMPARE(ring.capacity(), std::size_t(capacity));
    const std::vector<int> values = counting(1000, total);
    std::vector<int> out;
    std::vector<int> piece(std::size_t(chunk), -1);
    for (int written = 0; written < total;) {
        const int n = std::min(chunk, total - written);
        QCOMPARE(ring.write(values.data() + written, std::size_t(n)), std::size_t(n));
        written += n;
        QCOMPARE(ring.readAvailable(), std::size_t(n));
        QCOMPARE(ring.read(piece.data(), piece.size()), std::size_t(n));
        out.insert(out.end(), piece.begin(), piece.begin() + n);
        QCOMPARE(ring.readAvailable(), std::size_t(0));
    }
    QCOMPARE(out, values);
}

void TestRingBuffer::fullAndEmpty()
{
    core::SpscRingBuffer<float> ring(5);
    float sink[8] = {};
    QCOMPARE(ring.readAvailable(), std::size_t(0));
    QCOMPARE(ring.writeAvailable(), std::size_t(5));
    QCOMPARE(ring.read(sink, 8), std::size_t(0)); // empty: nothing, and no garbage

    const float five[5] = { 1, 2, 3, 4, 5 };
    QCOMPARE(ring.write(five, 5), std::size_t(5));
    QCOMPARE(ring.readAvailable(), std::size_t(5));
    QCOMPARE(ring.writeAvailable(), std::size_t(0));
    const float more[2] = { 6, 7 };
    QCOMPARE(ring.write(more, 2), std::size_t(0)); // full: dropped, old values kept

    QCOMPARE(ring.read(sink, 8), std::size_t(5));
    QCOMPARE(std::vector<float>(sink, sink + 5), std::vector<float>(five, five + 5));
    QCOMPARE(ring.readAvailable(), std::size_t(0));
    QCOMPARE(ring.read(sink, 8), std::size_t(0));
    QCOMPARE(ring.writeAvailable(), std::size_t(5));
}

// write() takes what fits; the caller sees the count and the rest is not stored.
void TestRingBuffer::partialWrites()
{
    core::SpscRingBuffer<int> ring(10);
    const std::vector<int> a = counting(0, 7), b = counting(100, 7), c = counting(200, 7);
    QCOMPARE(ring.write(a.data(), a.size()), std::size_t(7));
    QCOMPARE(ring.write(b.data(), b.size()), std::size_t(3)); // 100, 101, 102 fit
    std::vector<int> out(5);
    QCOMPARE(ring.read(out.data(), out.size()), std::size_t(5));
    QCOMPARE(out, counting(0, 5));
    QCOMPARE(ring.write(c.data(), c.size()), std::size_t(5)); // 200..204 fit, wrapping
    QCOMPARE(ring.readAvailable(), std::size_t(10));
    out.assign(20, -1);
    QCOMPARE(ring.read(out.data(), out.size()), std::size_t(10));
    out.resize(10);
    const std::vector<int> expected { 5, 6, 100, 101, 102, 200, 201, 202, 203, 204 };
    QCOMPARE(out, expected);
}

void TestRingBuffer::discardDropsReadable()
{
    core::SpscRingBuffer<int> ring(4);
    const std::vector<int> a = counting(0, 3);
    ring.write(a.data(), a.size());
    QCOMPARE(ring.discard(), std::size_t(3));
    QCOMPARE(ring.readAvailable(), std::size_t(0));
    const std::vector<int> b = counting(10, 4);
    QCOMPARE(ring.write(b.data(), b.size()), std::size_t(4)); // the discarded slots are free
    std::vector<int> out(4);
    QCOMPARE(ring.read(out.data(), out.size()), std::size_t(4));
    QCOMPARE(out, b);
}

void TestRingBuffer::zeroCapacityThrows()
{
    const auto error = captureError([] { core::SpscRingBuffer<float> ring(0); });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
}

// A producer writes 0, 1, 2, ... in odd-sized chunks (retrying what did not fit) while a
// consumer reads in sizes 1 to 125 and checks every value: a lost, repeated or torn value, or
// one read before it was published, breaks the sequence. The capacity is prime so that chunk
// boundaries fall everywhere relative to the wrap, and small (61) so that producer chunks of up to
// 97 values must often be split.
void TestRingBuffer::twoThreadStress()
{
    using Value = std::uint64_t;
    constexpr Value kTotal = 3'000'000;
    core::SpscRingBuffer<Value> ring(61);

    std::thread producer([&] {
        std::vector<Value> chunk;
        Value next = 0;
        std::size_t size = 1;
        while (next < kTotal) {
            chunk.clear();
            for (std::size_t i = 0; i < size && next + i < kTotal; ++i)
                chunk.push_back(next + i);
            std::size_t done = 0;
            while (done < chunk.size()) {
                const std::size_t n = ring.write(chunk.data() + done, chunk.size() - done);
                done += n;
                if (n == 0)
                    std::this_thread::yield();
            }
            next += chunk.size();
            size = size >= 97 ? 1 : size + 2; // 1, 3, ..., 97, then again
        }
    });

    Value expected = 0;
    Value mismatches = 0, firstBad = 0, firstBadValue = 0;
    std::vector<Value> buffer(127);
    std::size_t size = 0;
    while (expected < kTotal) {
        size = size % 125 + 1; // 1, 2, ..., 125
        const std::size_t n = ring.read(buffer.data(), size);
        if (n == 0) {
            std::this_thread::yield();
            continue;
        }
        QVERIFY(n <= size);
        for (std::size_t i = 0; i < n; ++i, ++expected) {
            if (buffer[i] != expected && mismatches++ == 0) {
                firstBad = expected;
                firstBadValue = buffer[i];
            }
        }
    }
    producer.join();
    QVERIFY2(mismatches == 0,
        qPrintable(QStringLiteral("%1 values out of sequence; first: got %2 where %3 was due")
                       .arg(mismatches)
                       .arg(firstBadValue)
                       .arg(firstBad)));
    QCOMPARE(expected, kTotal);
    QCOMPARE(ring.readAvailable(), std::size_t(0));
}

QTEST_GUILESS_MAIN(TestRingBuffer)
#include "tst_ring_buffer.moc"
