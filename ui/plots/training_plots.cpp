// SPDX-License-Identifier: MIT
#include "plots/training_plots.h"

#include "plots/class_bars_plot.h"
#include "plots/confusion_plot.h"
#include "plots/curves_plot.h"

#include <QSplitter>
#include <QVBoxLayout>

namespace astpeft::ui {

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
