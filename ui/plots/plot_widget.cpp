// SPDX-License-Identifier: MIT
#include "plots/plot_widget.h"

#include "theme.h"

#include "io/atomic_file.h"

#include <QBuffer>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QPdfWriter>
#include <QRegularExpression>
#include <QSettings>
#include <QSvgGenerator>
#include <QTimer>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <memory>

namespace astpeft::ui {

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
    if (exportTo(file, &error)) {
        Q_EMIT exported(file);
    } else {
        Q_EMIT exportFailed(error);
    }
}

} // namespace astpeft::ui
