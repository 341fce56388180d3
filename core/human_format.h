// SPDX-License-Identifier: MIT
// Numbers and text for people in plain text (the CLI's tables and messages, comparison.md):
// "87.5%", "1m05s", and text from data made safe to print. The studio has its own translated
// spellings (ui/format.h).
#pragma once

#include <string>
#include <string_view>

namespace astpeft::core {

std::string humanPercent(double fraction); // one decimal: "87.5%"
std::string humanDuration(double seconds); // "42s", "3m05s", "1h02m"

// Text that comes from data (labels, file names, anything read from a file, error messages that
// quote them) as it may be written to a terminal or a log: control characters (C0 and DEL as
// "\x1b", "\n", "\r", "\t"; C1 as "\u009b") and bytes that are not UTF-8 ("\xff") are
// escaped, so that no escape sequence reaches the terminal and every message stays one line.
// Printable UTF-8 (accents, CJK, emoji) is unchanged.
std::string printable(std::string_view text);

} // namespace astpeft::core
