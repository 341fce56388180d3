// SPDX-License-Identifier: MIT
#pragma once

#include "plots/plot_widget.h"

#include <QList>
#include <QString>
#include <QVector>

namespace astpeft::ui {

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

} // namespace astpeft::ui
