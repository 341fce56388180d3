// SPDX-License-Identifier: MIT
#include "plots/plot_style.h"

#include <qcustomplot.h>

namespace astpeft::ui::plots {

QColor paletteColor(int i)
{
    static const QColor colors[] = { QColor(0x1f, 0x77, 0xb4), QColor(0xff, 0x7f, 0x0e),
        QColor(0x2c, 0xa0, 0x2c), QColor(0xd6, 0x27, 0x28), QColor(0x94, 0x67, 0xbd),
        QColor(0x8c, 0x56, 0x4b), QColor(0xe3, 0x77, 0xc2), QColor(0x7f, 0x7f, 0x7f),
        QColor(0xbc, 0xbd, 0x22), QColor(0x17, 0xbe, 0xcf) };
    return colors[i % 10];
}

QVector<QPointF> points(const QCPGraph *graph)
{
    QVector<QPointF> out;
    for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it)
        out.append(QPointF(it->key, it->value));
    return out;
}

QSharedPointer<QCPAxisTickerText> labelTicker(const QStringList &labels)
{
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int i = 0; i < labels.size(); ++i)
        ticker->addTick(i, labels[i]);
    return ticker;
}

QSharedPointer<QCPAxisTicker> integerTicker()
{
    QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    return ticker;
}

QString percent(double fraction)
{
    return QString::number(fraction * 100.0, 'f', fraction >= 0.995 || fraction == 0 ? 0 : 1)
        + QStringLiteral("%");
}

} // namespace astpeft::ui::plots
