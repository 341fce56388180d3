// SPDX-License-Identifier: MIT
#include "plots/curves_plot.h"

#include "plots/plot_style.h"

#include <QToolTip>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace astpeft::ui {

using plots::integerTicker;
using plots::paletteColor;
using plots::percent;
using plots::points;

CurvesPlot::CurvesPlot(QWidget *parent)
    : PlotWidget(tr("Training curves"), parent)
{
    QCustomPlot *p = m_plot;
    // Wide antialiased polylines go through Qt's stroker: 434 ms for 100,000 steps against
    // 11 ms with fast polylines (bench/gui_bench.cpp, bench/README.md).
    p->setPlottingHint(QCP::phFastPolylines, true);
    p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    p->axisRect()->setRangeDragAxes({ p->xAxis }, { p->yAxis, p->yAxis2 });
    p->axisRect()->setRangeZoomAxes({ p->xAxis }, { p->yAxis, p->yAxis2 });
    p->xAxis->setLabel(tr("optimizer step"));
    p->xAxis->setTicker(integerTicker());
    p->yAxis->setLabel(tr("loss"));
    p->yAxis2->setVisible(true);
    p->yAxis2->setTickLabels(true);
    p->yAxis2->setLabel(tr("accuracy"));
    p->yAxis2->setRange(0.0, 1.02);
    p->yAxis->setRange(0.0, 1.0);
    p->xAxis->setRange(0.0, 1.0);

    const QColor blue = paletteColor(0), orange = paletteColor(1), green = paletteColor(2);
    m_raw = p->addGraph();
    m_raw->setName(tr("training loss (per step)"));
    m_raw->setPen(QPen(blue.lighter(160), 1));
    m_smoothed = p->addGraph();
    m_smoothed->setName(tr("training loss (smoothed)"));
    m_smoothed->setPen(QPen(blue, 2));
    m_valLoss = p->addGraph();
    m_valLoss->setName(tr("validation loss"));
    m_valLoss->setPen(QPen(orange, 2));
    m_valLoss->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 6));
    m_trainAccuracy = p->addGraph(p->xAxis, p->yAxis2);
    m_trainAccuracy->setName(tr("training accuracy"));
    m_trainAccuracy->setPen(QPen(green, 1.5, Qt::DashLine));
    m_valAccuracy = p->addGraph(p->xAxis, p->yAxis2);
    m_valAccuracy->setName(tr("validation accuracy"));
    m_valAccuracy->setPen(QPen(green, 2));
    m_valAccuracy->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 6));

    p->legend->setVisible(true);
    QFont legendFont = font();
    legendFont.setPointSizeF(legendFont.pointSizeF() * 0.85);
    p->legend->setFont(legendFont);
    p->legend->setBrush(QColor(255, 255, 255, 200));
    p->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);

    // Panning or zooming stops the view from following new data; double-click returns to it.
    connect(p, &QCustomPlot::mousePress, this, [this](QMouseEvent *e) {
        if (e->button() == Qt::LeftButton)
            m_following = false;
    });
    connect(p, &QCustomPlot::mouseWheel, this, [this] { m_following = false; });
    connect(p, &QCustomPlot::mouseDoubleClick, this, &CurvesPlot::resetView);
    p->setMouseTracking(true);
    connect(p, &QCustomPlot::mouseMove, this,
        [this](QMouseEvent *e) { showReadout(e->position().toPoint()); });
}

void CurvesPlot::clear()
{
    for (QCPGraph *g : { m_raw, m_smoothed, m_valLoss, m_trainAccuracy, m_valAccuracy })
        g->data()->clear();
    m_steps.clear();
    m_losses.clear();
    m_emaLast = 0.0;
    m_emaCount = 0;
    m_following = true;
    requestReplot();
}

QVector<double> CurvesPlot::smooth(const QVector<double> &values, double weight)
{
    QVector<double> out;
    out.reserve(values.size());
    double last = 0.0;
    int count = 0;
    for (double v : values) {
        if (!std::isfinite(v)) {
            out.append(v);
            continue;
        }
        last = last * weight + (1.0 - weight) * v;
        ++count;
        out.append(last / (1.0 - std::pow(weight, count)));
    }
    return out;
}

void CurvesPlot::addStep(double step, double loss)
{
    m_steps.append(step);
    m_losses.append(loss);
    m_raw->addData(step, loss);
    double smoothed = loss;
    if (std::isfinite(loss)) {
        m_emaLast = m_emaLast * m_smoothing + (1.0 - m_smoothing) * loss;
        ++m_emaCount;
        smoothed = m_emaLast / (1.0 - std::pow(m_smoothing, m_emaCount));
    }
    m_smoothed->addData(step, smoothed);
    requestReplot();
}

void CurvesPlot::addEpoch(double step, double trainAccuracy, double valLoss, double valAccuracy)
{
    m_trainAccuracy->addData(step, trainAccuracy);
    if (!std::isnan(valAccuracy)) {
        m_valLoss->addData(step, valLoss);
        m_valAccuracy->addData(step, valAccuracy);
    }
    requestReplot();
}

void CurvesPlot::setSmoothing(double weight)
{
    m_smoothing = std::clamp(weight, 0.0, 0.999);
    m_smoothed->setData(m_steps, smooth(m_losses, m_smoothing), true);
    // The EMA state at the last point, so that addStep() continues the same curve.
    m_emaLast = 0.0;
    m_emaCount = 0;
    for (double v : m_losses) {
        if (std::isfinite(v)) {
            m_emaLast = m_emaLast * m_smoothing + (1.0 - m_smoothing) * v;
            ++m_emaCount;
        }
    }
    requestReplot();
}

QVector<QPointF> CurvesPlot::rawLoss() const
{
    return points(m_raw);
}
QVector<QPointF> CurvesPlot::smoothedLoss() const
{
    return points(m_smoothed);
}
QVector<QPointF> CurvesPlot::trainAccuracy() const
{
    return points(m_trainAccuracy);
}
QVector<QPointF> CurvesPlot::validationLoss() const
{
    return points(m_valLoss);
}
QVector<QPointF> CurvesPlot::validationAccuracy() const
{
    return points(m_valAccuracy);
}

void CurvesPlot::prepareReplot()
{
    if (!m_following || m_raw->data()->isEmpty())
        return;
    QCustomPlot *p = m_plot;
    p->xAxis->rescale();
    p->yAxis->rescale();
    const QCPRange x = p->xAxis->range();
    p->xAxis->setRange(std::min(0.0, x.lower), std::max(x.upper, 1.0));
    const QCPRange y = p->yAxis->range();
    p->yAxis->setRange(std::min(0.0, y.lower), y.upper > 0 ? y.upper * 1.05 : 1.0);
    p->yAxis2->setRange(0.0, 1.02);
}

void CurvesPlot::resetView()
{
    m_following = true;
    prepareReplot();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void CurvesPlot::showReadout(const QPoint &pos)
{
    if (m_steps.isEmpty() || !m_plot->axisRect()->rect().contains(pos)) {
        QToolTip::hideText();
        return;
    }
    const double x = m_plot->xAxis->pixelToCoord(pos.x());
    auto nearest = [x](const QVector<double> &keys) {
        const auto it = std::lower_bound(keys.begin(), keys.end(), x);
        qsizetype i = it - keys.begin();
        if (i == keys.size() || (i > 0 && x - keys[i - 1] < keys[i] - x))
            --i;
        return i;
    };
    const qsizetype i = nearest(m_steps);
    const double smoothed = m_smoothed->data()->at(int(i))->value; // one point per step too
    QString text = tr("step %1: loss %2 (smoothed %3)")
                       .arg(m_steps[i])
                       .arg(m_losses[i], 0, 'g', 4)
                       .arg(smoothed, 0, 'g', 4);
    const QVector<QPointF> val = validationAccuracy(), valLoss = validationLoss();
    if (!val.isEmpty()) {
        QVector<double> keys;
        for (const QPointF &v : val)
            keys.append(v.x());
        const qsizetype e = nearest(keys);
        text += tr("\nepoch %1 (step %2): validation loss %3, accuracy %4")
                    .arg(e + 1)
                    .arg(keys[e])
                    .arg(valLoss[e].y(), 0, 'g', 4)
                    .arg(percent(val[e].y()));
    }
    QToolTip::showText(m_plot->mapToGlobal(pos), text, m_plot);
}

} // namespace astpeft::ui
