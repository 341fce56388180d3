// SPDX-License-Identifier: MIT
// The training plots, each a QWidget around one QCustomPlot: loss and accuracy curves, per-class
// accuracy bars, the confusion-matrix heatmap, and the Runs view's overlay of validation curves.
// QCustomPlot firewall: only ui/plots/*.cpp include qcustomplot.h (its `signals:` and `foreach`
// break under QT_NO_KEYWORDS); this header forward-declares it. GUI thread only.
#pragma once

#include <QList>
#include <QPointF>
#include <QStringList>
#include <QVector>
#include <QWidget>

#include <cstdint>
#include <vector>

class QCPBars;
class QCPColorMap;
class QCPColorScale;
class QCPItemRect;
class QCPGraph;
class QCPTextElement;
class QCustomPlot;
class QSplitter;
class QTimer;

namespace astpeft::ui {

// A QCustomPlot with export (PNG, PDF, SVG; right-click menu or exportTo()) and coalesced
// replots: callers append data and call requestReplot(), which replots at most every 40 ms with
// rpQueuedReplot, so a flood of step events cannot stall the GUI thread.
class PlotWidget : public QWidget
{
    Q_OBJECT

public:
    explicit PlotWidget(const QString &title, QWidget *parent = nullptr);

    QString title() const { return m_title; }
    void setTitle(const QString &title); // shown above the plot (and in exports)
    QCustomPlot *customPlot() const { return m_plot; }
    // The same widget, for code that must not include qcustomplot.h (tests send it mouse events).
    QWidget *canvas() const;

    // Writes the plot at its on-screen size (800x500 when smaller than 400x300, e.g. hidden):
    // .png (2x pixel ratio), .pdf or .svg (vector), chosen by the suffix. Replaces the file
    // atomically. Returns false and sets *error ("FILE: reason") on failure.
    bool exportTo(const QString &file, QString *error = nullptr);
    // Asks for a file name (suffix preselected: "png", "pdf" or "svg"), then exportTo(); the
    // outcome comes as exported() or exportFailed().
    void exportInteractively(const QString &suffix);

public Q_SLOTS:
    virtual void resetView(); // rescales to the data

Q_SIGNALS:
    void exported(const QString &file);
    void exportFailed(const QString &message);

protected:
    void changeEvent(QEvent *event) override; // restyles on palette changes (theme switch)
    void requestReplot();
    // Runs right before each coalesced replot (rescaling, for instance).
    virtual void prepareReplot() { }

    QCustomPlot *m_plot; // child widget

private:
    void replotNow();

    QString m_title;
    QCPTextElement *m_titleElement; // owned by m_plot's layout
    QTimer *m_replotTimer;
};

// Training loss per optimizer step, raw (thin) and smoothed (exponential moving average with
// TensorBoard's bias correction), training accuracy and validation loss and accuracy per epoch
// (plotted at the step that ended the epoch; accuracy on the right axis, 0..1). Drag to pan,
// wheel to zoom; the view then stops following new data until resetView() or a double-click.
class CurvesPlot : public PlotWidget
{
    Q_OBJECT

public:
    explicit CurvesPlot(QWidget *parent = nullptr);

    void clear();
    void addStep(double step, double loss); // steps in increasing order; NaN leaves a gap
    // An epoch's end at `step`; validation NaN when the run has no validation split.
    void addEpoch(double step, double trainAccuracy, double valLoss, double valAccuracy);
    // 0 (raw) .. 0.999; recomputes the smoothed curve.
    void setSmoothing(double weight);
    double smoothing() const { return m_smoothing; }
    bool following() const { return m_following; }

    QVector<QPointF> rawLoss() const;
    QVector<QPointF> smoothedLoss() const;
    QVector<QPointF> trainAccuracy() const;
    QVector<QPointF> validationLoss() const;
    QVector<QPointF> validationAccuracy() const;

    // TensorBoard's debiased EMA of `values` (non-finite values pass through and are skipped).
    static QVector<double> smooth(const QVector<double> &values, double weight);

public Q_SLOTS:
    void resetView() override;

protected:
    void prepareReplot() override;

private:
    void showReadout(const QPoint &pos);

    QCPGraph *m_raw, *m_smoothed, *m_trainAccuracy, *m_valLoss, *m_valAccuracy;
    QVector<double> m_steps, m_losses; // the raw curve, kept for re-smoothing
    double m_smoothing = 0.6;
    // EMA state of the last appended point (so appending is O(1)).
    double m_emaLast = 0.0;
    int m_emaCount = 0;
    bool m_following = true;
};

// Validation accuracy (recall) per class as bars, labelled with the class names.
class ClassBarsPlot : public PlotWidget
{
    Q_OBJECT

public:
    explicit ClassBarsPlot(QWidget *parent = nullptr);

    void clear();
    void setAccuracies(const QStringList &labels, const QVector<double> &accuracy); // 0..1
    QStringList labels() const { return m_labels; }
    QVector<double> accuracies() const; // what the bars show

public Q_SLOTS:
    void resetView() override;

private:
    QCPBars *m_bars;
    QStringList m_labels;
};

// The confusion matrix as a heatmap: rows (y, top to bottom) true classes, columns (x)
// predicted classes, each cell labelled with its count (or row fraction when normalised; up to
// 30 classes). A click on a cell emits cellClicked(truth, predicted).
class ConfusionPlot : public PlotWidget
{
    Q_OBJECT

public:
    explicit ConfusionPlot(QWidget *parent = nullptr);

    void clear();
    // counts[truth][predicted], labels.size() x labels.size().
    void setMatrix(const QStringList &labels, const std::vector<std::vector<std::int64_t>> &counts);
    // Each row divided by its sum (the row's recall on the diagonal); empty rows stay 0.
    void setNormalised(bool normalised);
    bool normalised() const { return m_normalised; }
    int classCount() const { return int(m_labels.size()); }
    QStringList labels() const { return m_labels; }
    double cellValue(int truth, int predicted) const; // what the heatmap shows
    // The cell's centre in canvas() coordinates; lays the plot out first (replots now).
    QPoint cellPosition(int truth, int predicted);
    // Keyboard use: the canvas takes focus (Tab or a click); the arrow keys, Home and End move
    // the current cell, outlined while the canvas has focus; Enter or Space opens it as a click
    // does (cellClicked). The canvas's accessible description reads the current cell: "true
    // yes, predicted no: 3 clips". Kept across new matrices of the same size.
    int currentTruth() const { return m_currentTruth; }
    int currentPredicted() const { return m_currentPredicted; }
    QString currentCellText() const;

public Q_SLOTS:
    void resetView() override;

Q_SIGNALS:
    void cellClicked(int truth, int predicted);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override; // the canvas's keys and focus

private:
    void rebuild();
    void onClick(const QPointF &pos);
    void setCurrent(int truth, int predicted); // clamped; updates outline and description
    void placeOutline();

    QCPColorMap *m_map;
    QCPColorScale *m_scale;
    QCPItemRect *m_outline = nullptr; // re-created by rebuild() (clearItems() deletes items)
    int m_currentTruth = 0, m_currentPredicted = 0;
    QStringList m_labels;
    std::vector<std::vector<std::int64_t>> m_counts;
    bool m_normalised = false;
};

// Validation accuracy per epoch of several runs, one coloured curve each, with a legend.
class RunsPlot : public PlotWidget
{
    Q_OBJECT

public:
    struct Curve
    {
        QString name;
        QVector<double> epochs;
        QVector<double> accuracy; // 0..1
    };

    explicit RunsPlot(QWidget *parent = nullptr);

    void setCurves(const QList<Curve> &curves);
    int curveCount() const;
    Curve curve(int index) const; // as plotted

public Q_SLOTS:
    void resetView() override;
};

// The Training view's plots: curves on top, per-class bars and the confusion heatmap below.
class TrainingPlots : public QWidget
{
    Q_OBJECT

public:
    explicit TrainingPlots(QWidget *parent = nullptr);

    CurvesPlot *curves() { return m_curves; }
    const CurvesPlot *curves() const { return m_curves; }
    ClassBarsPlot *classBars() { return m_bars; }
    const ClassBarsPlot *classBars() const { return m_bars; }
    ConfusionPlot *confusion() { return m_confusion; }
    const ConfusionPlot *confusion() const { return m_confusion; }

    // Puts `panel` (the clip list) to the right of the heatmap; takes ownership.
    void addBesideConfusion(QWidget *panel);
    void clear(); // every plot

private:
    CurvesPlot *m_curves;
    ClassBarsPlot *m_bars;
    ConfusionPlot *m_confusion;
    QSplitter *m_bottom;
};

} // namespace astpeft::ui
