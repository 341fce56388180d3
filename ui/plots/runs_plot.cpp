// SPDX-License-Identifier: MIT
#include "plots/runs_plot.h"

#include "plots/plot_style.h"

#include <qcustomplot.h>

#include <algorithm>

namespace astpeft::ui {

using plots::integerTicker;
using plots::paletteColor;
using plots::points;

RunsPlot::RunsPlot(QWidget *parent)
    : PlotWidget(tr("Validation accuracy of runs"), parent)
{
    QCustomPlot *p = m_plot;
    p->setPlottingHint(QCP::phFastPolylines, true);
    p->xAxis->setLabel(tr("epoch"));
    p->xAxis->setTicker(integerTicker());
    p->yAxis->setLabel(tr("validation accuracy"));
    p->yAxis->setRange(0.0, 1.02);
    p->legend->setVisible(true);
    p->legend->setBrush(QColor(255, 255, 255, 200));
    p->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
    p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    connect(p, &QCustomPlot::mouseDoubleClick, this, &RunsPlot::resetView);
}

void RunsPlot::setCurves(const QList<Curve> &curves)
{
    QCustomPlot *p = m_plot;
    p->clearGraphs();
    for (int i = 0; i < curves.size(); ++i) {
        QCPGraph *g = p->addGraph();
        g->setName(curves[i].name);
        g->setData(curves[i].epochs, curves[i].accuracy);
        g->setPen(QPen(paletteColor(i), 2));
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 5));
    }
    resetView();
}

int RunsPlot::curveCount() const
{
    return m_plot->graphCount();
}

RunsPlot::Curve RunsPlot::curve(int index) const
{
    const QCPGraph *g = m_plot->graph(index);
    Curve c;
    c.name = g->name();
    for (const QPointF &pt : points(g)) {
        c.epochs.append(pt.x());
        c.accuracy.append(pt.y());
    }
    return c;
}

void RunsPlot::resetView()
{
    QCustomPlot *p = m_plot;
    if (p->graphCount() > 0) {
        p->xAxis->rescale();
        const QCPRange x = p->xAxis->range();
        p->xAxis->setRange(std::min(0.5, x.lower - 0.5), std::max(x.upper + 0.5, 1.5));
    } else {
        p->xAxis->setRange(0.5, 1.5);
    }
    p->yAxis->setRange(0.0, 1.02);
    p->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace astpeft::ui
