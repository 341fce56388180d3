// SPDX-License-Identifier: MIT
// The project's one pseudo-random generator: splitmix64, tiny, fast and identical on every
// platform and libtorch version, so seeded runs (initialisation, splits, shuffling,
// augmentation) reproduce bit for bit. Its whole state is one integer, which checkpoints store.
// Torch-free.
#pragma once

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace astpeft::core {

struct Rng
{
    std::uint64_t state = 0;

    std::uint64_t next()
    {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // [0, 1) with 53 random bits.
    double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
    // [0, n) for n > 0 (Lemire's multiply-shift; the bias is below 2^-32 for n < 2^32).
    std::uint64_t below(std::uint64_t n)
    {
        return std::uint64_t((static_cast<unsigned __int128>(next()) * n) >> 64);
    }
    // Standard normal (Box-Muller, one value per call).
    double normal()
    {
        double u1 = uniform();
        while (u1 <= 0.0)
            u1 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * uniform());
    }
    // Fisher-Yates.
    template<typename T> void shuffle(std::vector<T> &items)
    {
        for (std::size_t i = items.size(); i > 1; --i)
            std::swap(items[i - 1], items[below(i)]);
    }
};

// An independent stream for (seed, a, b): e.g. the shuffle of epoch 3, or the augmentation of
// epoch 3 — so resuming at an epoch boundary needs no generator state.
inline Rng rngFor(std::uint64_t seed, std::uint64_t a = 0, std::uint64_t b = 0)
{
    Rng mix { seed ^ 0x5851f42d4c957f2dull };
    mix.state ^= mix.next() + a * 0x9e3779b97f4a7c15ull;
    mix.state ^= mix.next() + b * 0xc2b2ae3d27d4eb4full;
    return Rng { mix.next() };
}

} // namespace astpeft::core
