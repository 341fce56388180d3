// SPDX-License-Identifier: MIT
// Numbers for people, shared by the views.
#pragma once

#include <QString>

namespace astpeft::ui {

// Whole seconds: "42 s", "3 min 5 s", "1 h 2 min" (training times, ETAs).
QString formatDuration(double seconds);
// Clip lengths: under a minute with decimals ("0.93 s", "12.4 s"), else as formatDuration.
QString formatClipDuration(double seconds);

} // namespace astpeft::ui
