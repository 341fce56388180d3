// SPDX-License-Identifier: MIT
// Numbers for people and core's strings as Qt's, shared by the views.
#pragma once

#include <QString>
#include <QStringList>

#include <filesystem>
#include <string>
#include <vector>

namespace astpeft::ui {

// Whole seconds: "42 s", "3 min 5 s", "1 h 2 min" (training times, ETAs).
QString formatDuration(double seconds);
// Clip lengths: under a minute with decimals ("0.93 s", "12.4 s"), else as formatDuration.
QString formatClipDuration(double seconds);
// A fraction as a percentage with one decimal: "87.5%".
QString formatPercent(double fraction);

// core's UTF-8 strings, paths and label lists.
QString qs(const std::string &text);
QString qs(const char *text);
QString qs(const std::filesystem::path &path);
QStringList qsList(const std::vector<std::string> &texts);

} // namespace astpeft::ui
