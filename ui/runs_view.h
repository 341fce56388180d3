// SPDX-License-Identifier: MIT
// The Runs view: a table of run folders (method, trainable parameters, best validation and test
// accuracy, epochs, time, how the run ended) read from their metrics.jsonl and options.json;
// the selected rows' validation-accuracy curves overlaid in one plot. A folder that cannot be
// read is a row with its error, never a crash. GUI thread only; reading happens in setRuns().
#pragma once

#include "train/run_log.h"

#include <QStringList>
#include <QWidget>

#include <vector>

class QLabel;
class QTableWidget;

namespace astpeft::ui {

class RunsPlot;

class RunsView : public QWidget
{
    Q_OBJECT

public:
    enum Column {
        RunColumn,
        MethodColumn,
        ParametersColumn,
        BestAccuracyColumn, // Qt::UserRole: the accuracy, 0..1
        TestAccuracyColumn, // Qt::UserRole: the accuracy, or -1 without a test split
        EpochsColumn,
        TimeColumn,
        StatusColumn, // the finished reason, or the error of an unreadable run
        ColumnCount
    };

    explicit RunsView(QWidget *parent = nullptr);

    // Reads every folder (in this order) and lists it; replaces the previous list.
    void setRuns(const QStringList &runDirs);
    QStringList runs() const;

    // Rows as displayed (sorting may reorder them).
    int rowCount() const;
    const core::RunLog &history(int row) const;
    QString text(int row, Column column) const;
    bool rowHasError(int row) const;
    QTableWidget *table() const { return m_table; }
    const RunsPlot *plot() const { return m_plot; }

public Q_SLOTS:
    void refresh(); // reads the same folders again

Q_SIGNALS:
    void compareRequested(); // "Compare methods..."
    void runActivated(const QString &runDir); // double-click or Enter on a row

private:
    int historyIndex(int row) const;
    void updatePlot();

    QTableWidget *m_table;
    RunsPlot *m_plot;
    QLabel *m_summary;
    std::vector<core::RunLog> m_histories; // in setRuns() order
};

} // namespace astpeft::ui
