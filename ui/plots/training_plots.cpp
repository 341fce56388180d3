// SPDX-License-Identifier: MIT
#include "plots/training_plots.h"

#include "theme.h"

#include "io/atomic_file.h"

#include <QBuffer>
#include <QFileDialog>
#include <QFileInfo>
#include <QKeyEvent>
#include <QMenu>
#include <QPdfWriter>
#include <QRegularExpression>
#include <QSettings>
#include <QSplitter>
#include <QSvgGenerator>
#include <QTimer>
#include <QToolTip>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

namespace astpeft::ui {

namespace {

// Matplotlib's tab10: distinguishable, and the default of most plotting tools users know.
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

// Ticks on whole numbers only (steps, epochs, clip counts), as many as fit.
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

} // namespace

// --- PlotWidget ---------------------------------------------------------------------------------

PlotWidget::PlotWidget(const QString &title, QWidget *parent)
    : QWidget(parent)
    , m_plot(new QCustomPlot(this))
    , m_title(title)
    , m_titleElement(nullptr)
    , m_replotTimer(new QTimer(this))
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
    m_plot->setAccessibleName(title);
    QFont bold = font();
    bold.setBold(true);
    m_plot->plotLayout()->insertRow(0);
    m_titleElement = new QCPTextElement(m_plot, title, bold);
    m_plot->plotLayout()->addElement(0, 0, m_titleElement);
    m_plot->setToolTip(tr("%1: drag to pan, wheel to zoom, double-click to reset, right-click "
                          "to export")
                           .arg(title));
    m_plot->setMinimumSize(220, 160);
    m_replotTimer->setSingleShot(true);
    m_replotTimer->setInterval(40);
    connect(m_replotTimer, &QTimer::timeout, this, &PlotWidget::replotNow);
    // Colours from the palette (light or dark theme) once the derived plot has built its
    // items, and again on every palette change.
    QTimer::singleShot(0, this, [this] { stylePlot(m_plot, palette()); });

    m_plot->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_plot, &QWidget::customContextMenuRequested, this, [this](const QPoint &pos) {
        QMenu menu(this);
        menu.addAction(tr("Reset view"), this, &PlotWidget::resetView);
        menu.addSeparator();
        menu.addAction(tr("Export as PNG..."), this, [this] { exportInteractively("png"); });
        menu.addAction(tr("Export as PDF..."), this, [this] { exportInteractively("pdf"); });
        menu.addAction(tr("Export as SVG..."), this, [this] { exportInteractively("svg"); });
        menu.exec(m_plot->mapToGlobal(pos));
    });
}

void PlotWidget::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::PaletteChange)
        stylePlot(m_plot, palette());
    QWidget::changeEvent(event);
}

QWidget *PlotWidget::canvas() const
{
    return m_plot;
}

void PlotWidget::setTitle(const QString &title)
{
    if (title == m_title)
        return;
    m_title = title;
    m_titleElement->setText(title);
    m_plot->setAccessibleName(title);
    requestReplot();
}

void PlotWidget::requestReplot()
{
    if (!m_replotTimer->isActive())
        m_replotTimer->start();
}

void PlotWidget::replotNow()
{
    prepareReplot();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void PlotWidget::resetView()
{
    m_plot->rescaleAxes();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

bool PlotWidget::exportTo(const QString &file, QString *error)
{
    auto fail = [&](const QString &reason) {
        if (error)
            *error = file + QStringLiteral(": ") + reason;
        return false;
    };
    prepareReplot(); // a coalesced replot may be pending: export what the data says now
    QSize size = m_plot->size();
    if (size.width() < 400 || size.height() < 300)
        size = QSize(800, 500);
    const QString suffix = QFileInfo(file).suffix().toLower();
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    if (suffix == "png") {
        const QPixmap pixmap = m_plot->toPixmap(size.width(), size.height(), 2.0);
        if (pixmap.isNull() || !pixmap.save(&buffer, "PNG"))
            return fail(tr("cannot render the plot as PNG"));
    } else if (suffix == "pdf" || suffix == "svg") {
        // Vector output: QCustomPlot paints through a QCPPainter in vectorised mode (no pixmap
        // caching), at 72 dpi so that one pixel is one point.
        std::unique_ptr<QPaintDevice> device;
        if (suffix == "pdf") {
            auto pdf = std::make_unique<QPdfWriter>(&buffer);
            pdf->setTitle(m_title);
            pdf->setCreator(QStringLiteral("AST PEFT Studio"));
            pdf->setResolution(72);
            pdf->setPageLayout(QPageLayout(
                QPageSize(QSizeF(size), QPageSize::Point, QString(), QPageSize::ExactMatch),
                QPageLayout::Portrait, QMarginsF(0, 0, 0, 0)));
            device = std::move(pdf);
        } else {
            auto svg = std::make_unique<QSvgGenerator>();
            svg->setOutputDevice(&buffer);
            svg->setSize(size);
            svg->setViewBox(QRect(QPoint(0, 0), size));
            svg->setTitle(m_title);
            svg->setDescription(QStringLiteral("AST PEFT Studio"));
            device = std::move(svg);
        }
        QCPPainter painter;
        if (!painter.begin(device.get()))
            return fail(tr("cannot render the plot as %1").arg(suffix.toUpper()));
        painter.setMode(QCPPainter::pmVectorized);
        painter.setMode(QCPPainter::pmNoCaching);
        m_plot->toPainter(&painter, size.width(), size.height());
        painter.end();
    } else {
        return fail(tr("unknown image format '%1' (use .png, .pdf or .svg)").arg(suffix));
    }
    buffer.close();
    if (bytes.isEmpty())
        return fail(tr("the rendered plot is empty"));
    try {
        core::writeFileAtomic(
            file.toStdString(), std::string_view(bytes.constData(), std::size_t(bytes.size())));
    } catch (const std::exception &e) {
        if (error)
            *error = QString::fromStdString(e.what());
        return false;
    }
    return true;
}

void PlotWidget::exportInteractively(const QString &suffix)
{
    QSettings settings;
    const QString folder = settings.value("plots/lastExportFolder").toString();
    QString name = m_title.toLower();
    name.replace(QRegularExpression("[^a-z0-9]+"), "_");
    name = name.remove(QRegularExpression("^_+|_+$")) + "." + suffix;
    const QString filter = suffix == "png" ? tr("PNG image (*.png)")
        : suffix == "pdf"                  ? tr("PDF document (*.pdf)")
                                           : tr("SVG image (*.svg)");
    QString file = QFileDialog::getSaveFileName(
        this, tr("Export %1").arg(m_title), QDir(folder).filePath(name), filter);
    if (file.isEmpty())
        return;
    if (QFileInfo(file).suffix().isEmpty())
        file += "." + suffix;
    settings.setValue("plots/lastExportFolder", QFileInfo(file).absolutePath());
    QString error;
    if (exportTo(file, &error))
        Q_EMIT exported(file);
    else
        Q_EMIT exportFailed(error);
}

// --- CurvesPlot ---------------------------------------------------------------------------------

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
    for (double v : m_losses)
        if (std::isfinite(v)) {
            m_emaLast = m_emaLast * m_smoothing + (1.0 - m_smoothing) * v;
            ++m_emaCount;
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

// --- ClassBarsPlot ------------------------------------------------------------------------------

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
    if (accuracy.size() <= 30)
        for (int i = 0; i < accuracy.size(); ++i) {
            auto *text = new QCPItemText(p);
            text->position->setType(QCPItemPosition::ptPlotCoords);
            text->position->setCoords(i, accuracy[i]);
            text->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
            text->setText(percent(accuracy[i]));
            text->setClipToAxisRect(true);
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

// --- ConfusionPlot ------------------------------------------------------------------------------

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
        for (int t = 0; t < n; ++t)
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

// --- RunsPlot -----------------------------------------------------------------------------------

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

// --- TrainingPlots ------------------------------------------------------------------------------

TrainingPlots::TrainingPlots(QWidget *parent)
    : QWidget(parent)
    , m_curves(new CurvesPlot)
    , m_bars(new ClassBarsPlot)
    , m_confusion(new ConfusionPlot)
    , m_bottom(new QSplitter(Qt::Horizontal))
{
    auto *vertical = new QSplitter(Qt::Vertical);
    vertical->addWidget(m_curves);
    m_bottom->addWidget(m_bars);
    m_bottom->addWidget(m_confusion);
    vertical->addWidget(m_bottom);
    vertical->setStretchFactor(0, 3);
    vertical->setStretchFactor(1, 2);
    vertical->setChildrenCollapsible(false);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(vertical);
}

void TrainingPlots::addBesideConfusion(QWidget *panel)
{
    m_bottom->addWidget(panel);
}

void TrainingPlots::clear()
{
    m_curves->clear();
    m_bars->clear();
    m_confusion->clear();
}

} // namespace astpeft::ui
