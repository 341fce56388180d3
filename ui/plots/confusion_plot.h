// SPDX-License-Identifier: MIT
#pragma once

#include "plots/plot_widget.h"

#include <QStringList>

#include <cstdint>
#include <vector>

class QCPColorMap;
class QCPColorScale;
class QCPItemRect;

namespace astpeft::ui {

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

} // namespace astpeft::ui
