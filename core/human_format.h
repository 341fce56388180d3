// SPDX-License-Identifier: MIT
// Numbers for people in plain text (the CLI's tables and comparison.md): "87.5%", "1m05s".
// The studio has its own translated spellings (ui/format.h).
#pragma once

#include <string>

namespace astpeft::core {

std::string humanPercent(double fraction); // one decimal: "87.5%"
std::string humanDuration(double seconds); // "42s", "3m05s", "1h02m"

} // namespace astpeft::core
