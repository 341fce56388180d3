// SPDX-License-Identifier: MIT
#pragma once

#include "plots/plot_widget.h"

#include <QStringList>
#include <QVector>

class QCPBars;

namespace astpeft::ui {

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

} // namespace astpeft::ui
