// SPDX-License-Identifier: MIT
#pragma once

#include <QWidget>

class QSplitter;

namespace astpeft::ui {

class ClassBarsPlot;
class ConfusionPlot;
class CurvesPlot;

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
