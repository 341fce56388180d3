// SPDX-License-Identifier: MIT
#pragma once

#include "plots/plot_widget.h"

#include <QPointF>
#include <QVector>

class QCPGraph;

namespace astpeft::ui {

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

} // namespace astpeft::ui
