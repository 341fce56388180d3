// SPDX-License-Identifier: MIT
// Helpers shared by the plots' .cpp files in ui/plots/ (internal; nothing else includes it).
#pragma once

#include <QColor>
#include <QPointF>
#include <QSharedPointer>
#include <QString>
#include <QStringList>
#include <QVector>

class QCPAxisTicker;
class QCPAxisTickerText;
class QCPGraph;

namespace astpeft::ui::plots {

// Matplotlib's tab10: distinguishable, and the default of most plotting tools users know.
QColor paletteColor(int i);
// The graph's data points (key, value).
QVector<QPointF> points(const QCPGraph *graph);
// Ticks at 0, 1, ... labelled with `labels`.
QSharedPointer<QCPAxisTickerText> labelTicker(const QStringList &labels);
// Ticks on whole numbers only (steps, epochs, clip counts), as many as fit.
QSharedPointer<QCPAxisTicker> integerTicker();
// "12.5%"; whole percent at 0 and from 99.5%.
QString percent(double fraction);

} // namespace astpeft::ui::plots
