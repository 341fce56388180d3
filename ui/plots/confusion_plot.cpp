// SPDX-License-Identifier: MIT
#include "plots/confusion_plot.h"

#include "plots/plot_style.h"

#include <QKeyEvent>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace astpeft::ui {

using plots::integerTicker;
using plots::labelTicker;
using plots::percent;

ConfusionPlot::ConfusionPlot(QWidget *parent)
    : PlotWidget(tr("Confusion matrix"), parent)
{
    QCustomPlot *p = m_plot;
    m_map = new QCPColorMap(p->xAxis, p->yAxis);
    m_map->setName(tr("confusion"));
    m_map->setInterpolate(false);
    m_map->setTightBoundary(false);
    m_scale = new QCPColorScale(p);
    p->plotLayout()->addElement(p->plotLayout()->rowCount() - 1, 1, m_scale); // beside the map
    m_scale->setType(QCPAxis::atRight);
    m_scale->setRangeDrag(false);
    m_scale->setRangeZoom(false);
    m_map->setColorScale(m_scale);
    QCPColorGradient blues; // ColorBrewer "Blues": light = few, dark = many
    blues.setColorStopAt(0.0, QColor(247, 251, 255));
    blues.setColorStopAt(0.5, QColor(107, 174, 214));
    blues.setColorStopAt(1.0, QColor(8, 48, 107));
    m_map->setGradient(blues);
    auto *group = new QCPMarginGroup(p);
    p->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    m_scale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    p->xAxis->setLabel(tr("predicted class"));
    p->yAxis->setLabel(tr("true class"));
    p->yAxis->setRangeReversed(true); // the first class on top, as confusion matrices are read
    p->xAxis->grid()->setVisible(false);
    p->yAxis->grid()->setVisible(false);
    p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);

    // A press and release without moving is a click, whether it lands on the map or on a cell's
    // count label above it.
    connect(p, &QCustomPlot::plottableClick, this,
        [this](QCPAbstractPlottable *, int, QMouseEvent *e) { onClick(e->position()); });
    connect(p, &QCustomPlot::itemClick, this,
        [this](QCPAbstractItem *, QMouseEvent *e) { onClick(e->position()); });
    p->setFocusPolicy(Qt::StrongFocus);
    p->installEventFilter(this);
    rebuild();
}

bool ConfusionPlot::eventFilter(QObject *watched, QEvent *event)
{
    if (watched != m_plot)
        return PlotWidget::eventFilter(watched, event);
    if (event->type() == QEvent::FocusIn || event->type() == QEvent::FocusOut) {
        placeOutline();
        return false;
    }
    if (event->type() != QEvent::KeyPress)
        return false;
    const int n = int(m_labels.size());
    if (n == 0)
        return false;
    const auto *key = static_cast<QKeyEvent *>(event);
    switch (key->key()) {
    case Qt::Key_Left:
        setCurrent(m_currentTruth, m_currentPredicted - 1);
        return true;
    case Qt::Key_Right:
        setCurrent(m_currentTruth, m_currentPredicted + 1);
        return true;
    case Qt::Key_Up:
        setCurrent(m_currentTruth - 1, m_currentPredicted);
        return true;
    case Qt::Key_Down:
        setCurrent(m_currentTruth + 1, m_currentPredicted);
        return true;
    case Qt::Key_Home:
        setCurrent(0, 0);
        return true;
    case Qt::Key_End:
        setCurrent(n - 1, n - 1);
        return true;
    case Qt::Key_Return:
    case Qt::Key_Enter:
    case Qt::Key_Space:
        Q_EMIT cellClicked(m_currentTruth, m_currentPredicted);
        return true;
    default:
        return false;
    }
}

QString ConfusionPlot::currentCellText() const
{
    const int n = int(m_labels.size());
    if (n == 0)
        return tr("No confusion matrix yet");
    const double value = cellValue(m_currentTruth, m_currentPredicted);
    return tr("true %1, predicted %2: %3")
        .arg(m_labels[m_currentTruth], m_labels[m_currentPredicted],
            m_normalised ? percent(value) : tr("%n clip(s)", nullptr, int(value)));
}

void ConfusionPlot::setCurrent(int truth, int predicted)
{
    const int last = std::max(int(m_labels.size()) - 1, 0);
    m_currentTruth = std::clamp(truth, 0, last);
    m_currentPredicted = std::clamp(predicted, 0, last);
    placeOutline();
}

void ConfusionPlot::placeOutline()
{
    m_plot->setAccessibleDescription(currentCellText());
    if (!m_outline)
        return;
    const double t = m_currentTruth, q = m_currentPredicted;
    m_outline->topLeft->setCoords(q - 0.5, t - 0.5);
    m_outline->bottomRight->setCoords(q + 0.5, t + 0.5);
    m_outline->setVisible(!m_labels.isEmpty() && m_plot->hasFocus());
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void ConfusionPlot::clear()
{
    setMatrix({}, {});
}

void ConfusionPlot::setMatrix(
    const QStringList &labels, const std::vector<std::vector<std::int64_t>> &counts)
{
    m_labels = labels;
    m_counts = counts;
    rebuild();
}

void ConfusionPlot::setNormalised(bool normalised)
{
    if (normalised == m_normalised)
        return;
    m_normalised = normalised;
    rebuild();
}

double ConfusionPlot::cellValue(int truth, int predicted) const
{
    return m_map->data()->cell(predicted, truth);
}

void ConfusionPlot::rebuild()
{
    const int n = int(m_labels.size());
    QCPColorMapData *data = m_map->data();
    data->setSize(std::max(n, 1), std::max(n, 1));
    data->setRange(QCPRange(0, std::max(n - 1, 0)), QCPRange(0, std::max(n - 1, 0)));
    data->fill(0.0);
    double maximum = 0.0;
    for (int t = 0; t < n && t < int(m_counts.size()); ++t) {
        const std::vector<std::int64_t> &row = m_counts[std::size_t(t)];
        double sum = 0.0;
        for (std::int64_t c : row)
            sum += double(c);
        for (int q = 0; q < n && q < int(row.size()); ++q) {
            const double count = double(row[std::size_t(q)]);
            const double value = m_normalised ? (sum > 0 ? count / sum : 0.0) : count;
            data->setCell(q, t, value);
            maximum = std::max(maximum, value);
        }
    }
    const double top = m_normalised ? 1.0 : std::max(1.0, maximum);
    m_map->setDataRange(QCPRange(0.0, top));
    m_scale->axis()->setLabel(m_normalised ? tr("fraction of the true class") : tr("clips"));
    m_scale->axis()->setTicker(
        m_normalised ? QSharedPointer<QCPAxisTicker>(new QCPAxisTicker) : integerTicker());
    m_map->setVisible(n > 0);

    QCustomPlot *p = m_plot;
    p->xAxis->setTicker(labelTicker(m_labels));
    p->yAxis->setTicker(labelTicker(m_labels));
    p->xAxis->setTickLabelRotation(n > 4 ? 45 : 0);
    p->clearItems();
    if (n <= 30) {
        QFont small = font();
        if (n > 10)
            small.setPointSizeF(small.pointSizeF() * 0.75);
        for (int t = 0; t < n; ++t) {
            for (int q = 0; q < n; ++q) {
                const double value = data->cell(q, t);
                auto *text = new QCPItemText(p);
                text->position->setType(QCPItemPosition::ptPlotCoords);
                text->position->setCoords(q, t);
                text->setText(m_normalised ? percent(value) : QString::number(qint64(value)));
                text->setFont(small);
                text->setColor(value > 0.5 * top ? Qt::white : Qt::black);
                text->setClipToAxisRect(true);
            }
        }
    }
    m_outline = new QCPItemRect(p); // the keyboard's current cell
    m_outline->topLeft->setType(QCPItemPosition::ptPlotCoords);
    m_outline->bottomRight->setType(QCPItemPosition::ptPlotCoords);
    m_outline->setPen(QPen(palette().color(QPalette::Highlight), 3));
    m_outline->setBrush(Qt::NoBrush);
    m_outline->setClipToAxisRect(true);
    m_outline->setSelectable(false);
    setCurrent(m_currentTruth, m_currentPredicted); // clamps to the new size
    resetView();
}

void ConfusionPlot::resetView()
{
    const double upper = std::max<double>(1, double(m_labels.size())) - 0.5;
    m_plot->xAxis->setRange(-0.5, upper);
    m_plot->yAxis->setRange(-0.5, upper);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QPoint ConfusionPlot::cellPosition(int truth, int predicted)
{
    m_plot->replot(QCustomPlot::rpImmediateRefresh);
    return QPoint(int(std::lround(m_plot->xAxis->coordToPixel(predicted))),
        int(std::lround(m_plot->yAxis->coordToPixel(truth))));
}

void ConfusionPlot::onClick(const QPointF &pos)
{
    const int n = int(m_labels.size());
    if (n == 0 || !m_plot->axisRect()->rect().contains(pos.toPoint()))
        return;
    const long predicted = std::lround(m_plot->xAxis->pixelToCoord(pos.x()));
    const long truth = std::lround(m_plot->yAxis->pixelToCoord(pos.y()));
    if (predicted >= 0 && predicted < n && truth >= 0 && truth < n) {
        setCurrent(int(truth), int(predicted)); // the keyboard carries on from here
        Q_EMIT cellClicked(int(truth), int(predicted));
    }
}

} // namespace astpeft::ui
