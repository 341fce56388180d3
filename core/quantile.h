// SPDX-License-Identifier: MIT
// The q-quantile (0..1) of `values` by the nearest-rank method; 0 when empty. Latency
// summaries of `astpeft listen` and the studio's Live view use it, so they agree.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace astpeft::core {

inline double quantile(std::vector<double> values, double q)
{
    if (values.empty())
        return 0.0;
    std::sort(values.begin(), values.end());
    const std::size_t rank = std::size_t(std::ceil(q * double(values.size())));
    return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

} // namespace astpeft::core
