// SPDX-License-Identifier: MIT
#include "plots/class_bars_plot.h"

#include "plots/plot_style.h"

#include <qcustomplot.h>

#include <algorithm>

namespace astpeft::ui {

using plots::labelTicker;
using plots::paletteColor;
using plots::percent;

ClassBarsPlot::ClassBarsPlot(QWidget *parent)
    : PlotWidget(tr("Per-class accuracy"), parent)
{
    QCustomPlot *p = m_plot;
    m_bars = new QCPBars(p->xAxis, p->yAxis);
    m_bars->setName(tr("validation accuracy"));
    m_bars->setWidth(0.6);
    m_bars->setPen(Qt::NoPen);
    m_bars->setBrush(paletteColor(0));
    p->yAxis->setLabel(tr("validation accuracy (recall)"));
    p->yAxis->setRange(0.0, 1.1);
    p->xAxis->grid()->setVisible(false);
    p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    p->axisRect()->setRangeDrag(Qt::Horizontal);
    p->axisRect()->setRangeZoom(Qt::Horizontal);
}

void ClassBarsPlot::clear()
{
    setAccuracies({}, {});
}

void ClassBarsPlot::setAccuracies(const QStringList &labels, const QVector<double> &accuracy)
{
    m_labels = labels;
    QVector<double> keys;
    for (int i = 0; i < accuracy.size(); ++i)
        keys.append(i);
    m_bars->setData(keys, accuracy, true);
    QCustomPlot *p = m_plot;
    p->xAxis->setTicker(labelTicker(labels));
    p->xAxis->setTickLabelRotation(labels.size() > 6 ? 60 : 0);
    p->clearItems();
    if (accuracy.size() <= 30) {
        for (int i = 0; i < accuracy.size(); ++i) {
            auto *text = new QCPItemText(p);
            text->position->setType(QCPItemPosition::ptPlotCoords);
            text->position->setCoords(i, accuracy[i]);
            text->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
            text->setText(percent(accuracy[i]));
            text->setClipToAxisRect(true);
        }
    }
    resetView();
}

QVector<double> ClassBarsPlot::accuracies() const
{
    QVector<double> out;
    for (auto it = m_bars->data()->constBegin(); it != m_bars->data()->constEnd(); ++it)
        out.append(it->value);
    return out;
}

void ClassBarsPlot::resetView()
{
    m_plot->xAxis->setRange(-0.5, std::max<double>(1, double(m_labels.size())) - 0.5);
    m_plot->yAxis->setRange(0.0, 1.1);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace astpeft::ui
