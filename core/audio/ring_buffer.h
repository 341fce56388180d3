// SPDX-License-Identifier: MIT
// A lock-free single-producer single-consumer ring of trivially copyable values, for handing
// audio from a real-time callback to an ordinary thread. Torch-free, header-only.
#pragma once

#include "error.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

namespace astpeft::core {

/// A fixed-capacity FIFO shared by exactly one producer thread and one consumer thread.
///
/// - write() is called from the producer thread only (the audio callback), read() and discard()
///   from the consumer thread only; capacity() from any thread; readAvailable() and
///   writeAvailable() are exact on the thread that owns the other side's role and a snapshot
///   elsewhere.
/// - Neither side allocates, locks or blocks: the storage is allocated once in the constructor.
/// - write() never overwrites unread values: it copies what fits and returns that count, so the
///   caller counts the remainder as an overflow (the oldest audio is kept, the newest dropped).
///
/// Example (PortAudio callback -> reader thread):
///   SpscRingBuffer<float> ring(16000 * 10);          // 10 s at 16 kHz, allocated here
///   // callback: dropped += count - ring.write(samples, count);
///   // reader:   std::size_t n = ring.read(out.data(), out.size());
template<typename T> class SpscRingBuffer
{
    static_assert(std::is_trivially_copyable_v<T>, "the ring copies values with memcpy semantics");

public:
    /// `capacity`: values the ring holds (> 0). Throws core::Error(Usage) for 0.
    explicit SpscRingBuffer(std::size_t capacity)
        : m_capacity(capacity)
        , m_data(capacity > 0 ? std::make_unique<T[]>(capacity) : nullptr)
    {
        if (capacity == 0)
            throw Error(ErrorKind::Usage, "ring buffer capacity must be positive");
    }

    SpscRingBuffer(const SpscRingBuffer &) = delete;
    SpscRingBuffer &operator=(const SpscRingBuffer &) = delete;

    /// Producer thread only. Appends up to `count` values from `data`; returns how many were
    /// appended (less than `count` when the ring is full).
    std::size_t write(const T *data, std::size_t count) noexcept
    {
        // Our own counter: only this thread stores it, so a relaxed load sees the latest value.
        const std::uint64_t writePos = m_write.load(std::memory_order_relaxed);
        // Acquire pairs with the consumer's release store in read(): once we see its advanced
        // read counter, its copies out of those slots are complete and we may overwrite them.
        const std::uint64_t readPos = m_read.load(std::memory_order_acquire);
        const std::size_t n = std::min(count, m_capacity - std::size_t(writePos - readPos));
        copyIn(std::size_t(writePos % m_capacity), data, n);
        // Release publishes the values copied above: a consumer that acquires this counter
        // sees them.
        m_write.store(writePos + n, std::memory_order_release);
        return n;
    }

    /// Consumer thread only. Moves up to `count` of the oldest values into `out`; returns how
    /// many were moved (0 when empty).
    std::size_t read(T *out, std::size_t count) noexcept
    {
        const std::uint64_t readPos = m_read.load(std::memory_order_relaxed); // ours
        // Acquire pairs with the producer's release store in write(): the values up to the
        // counter we see are fully written.
        const std::uint64_t writePos = m_write.load(std::memory_order_acquire);
        const std::size_t n = std::min(count, std::size_t(writePos - readPos));
        copyOut(std::size_t(readPos % m_capacity), out, n);
        // Release hands the slots back: the producer may overwrite them only after our copies.
        m_read.store(readPos + n, std::memory_order_release);
        return n;
    }

    /// Consumer thread only. Drops every value readable now; returns how many.
    std::size_t discard() noexcept
    {
        const std::uint64_t readPos = m_read.load(std::memory_order_relaxed);
        const std::uint64_t writePos = m_write.load(std::memory_order_acquire);
        m_read.store(writePos, std::memory_order_release);
        return std::size_t(writePos - readPos);
    }

    /// Values ready to read: exact on the consumer thread (it can only grow meanwhile).
    std::size_t readAvailable() const noexcept
    {
        // Read counter first: both counters only grow and read <= write, so this order never
        // yields a negative difference when called from a third thread.
        const std::uint64_t readPos = m_read.load(std::memory_order_acquire);
        const std::uint64_t writePos = m_write.load(std::memory_order_acquire);
        return std::min(m_capacity, std::size_t(writePos - readPos));
    }

    /// Free slots: exact on the producer thread (it can only grow meanwhile).
    std::size_t writeAvailable() const noexcept { return m_capacity - readAvailable(); }

    std::size_t capacity() const noexcept { return m_capacity; }

private:
    // The counters run freely (64 bits: centuries at any audio rate); a slot is counter %
    // capacity, so any capacity works and full (write - read == capacity) differs from empty.
    void copyIn(std::size_t slot, const T *data, std::size_t n) noexcept
    {
        const std::size_t first = std::min(n, m_capacity - slot);
        std::copy_n(data, first, m_data.get() + slot);
        std::copy_n(data + first, n - first, m_data.get());
    }

    void copyOut(std::size_t slot, T *out, std::size_t n) const noexcept
    {
        const std::size_t first = std::min(n, m_capacity - slot);
        std::copy_n(m_data.get() + slot, first, out);
        std::copy_n(m_data.get(), n - first, out + first);
    }

    const std::size_t m_capacity;
    const std::unique_ptr<T[]> m_data;
    // On separate cache lines so that the two threads do not invalidate each other's line on
    // every store (64 bytes: x86-64 and most ARM cores).
    alignas(64) std::atomic<std::uint64_t> m_write { 0 }; // values ever written; producer stores
    alignas(64) std::atomic<std::uint64_t> m_read { 0 }; // values ever read; consumer stores
};

} // namespace astpeft::core
