// SPDX-License-Identifier: MIT
// Helpers shared by the test executables (header-only; tests/ is on their include path).
#pragma once

#include "error.h"

#include <optional>

namespace astpeft::test {

// Runs f and returns the core::Error it threw, or nothing when it did not throw.
template<typename F> std::optional<core::Error> captureError(F &&f)
{
    try {
        f();
    } catch (const core::Error &e) {
        return e;
    }
    return std::nullopt;
}

} // namespace astpeft::test
