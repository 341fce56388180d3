// SPDX-License-Identifier: MIT
// Light and dark appearance. "System" follows the desktop: Qt >= 6.5 reports the colour scheme
// (QStyleHints::colorScheme, followed live); Qt 6.4 (Debian 12) has no such API, so the
// platform palette's window colour and GTK_THEME's ":dark" suffix decide, re-checked whenever
// the platform sends a palette or theme change. Dark uses the Fusion style with a dark palette,
// so it looks the same on every platform. Plots (QCustomPlot) are styled from the palette.
#pragma once

#include <QPalette>
#include <QString>

class QCustomPlot;
class QWidget;

namespace astpeft::ui {

enum class ThemeChoice { System, Light, Dark };
ThemeChoice parseThemeChoice(const QString &name); // "system", "light", "dark"; else System
QString themeChoiceName(ThemeChoice choice);

bool systemPrefersDark();
// Applies the choice to the application (style, palette) and restyles every QCustomPlot of
// every top-level widget. Call on the GUI thread.
void applyTheme(ThemeChoice choice);
bool darkThemeActive();

// Background, axes, grid, ticks and legend of one plot from `palette`.
void stylePlot(QCustomPlot *plot, const QPalette &palette);
// Every QCustomPlot under `root`.
void stylePlots(QWidget *root);

} // namespace astpeft::ui
