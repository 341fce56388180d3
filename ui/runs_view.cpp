// SPDX-License-Identifier: MIT
#include "runs_view.h"

#include "format.h"

#include "plots/runs_plot.h"

#include <QDir>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSet>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>

namespace astpeft::ui {

namespace {

constexpr int kHistoryRole = Qt::UserRole + 1; // on the run column: index into m_histories

// Sorts by the number in Qt::UserRole rather than by the displayed text.
class NumberItem : public QTableWidgetItem
{
public:
    NumberItem(const QString &text, double key)
        : QTableWidgetItem(text)
    {
        setData(Qt::UserRole, key);
        setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }
    bool operator<(const QTableWidgetItem &other) const override
    {
        return data(Qt::UserRole).toDouble() < other.data(Qt::UserRole).toDouble();
    }
};

} // namespace

RunsView::RunsView(QWidget *parent)
    : QWidget(parent)
    , m_table(new QTableWidget(0, ColumnCount))
    , m_plot(new RunsPlot)
    , m_summary(new QLabel)
{
    m_table->setHorizontalHeaderLabels({ tr("Run"), tr("Method"), tr("Trainable parameters"),
        tr("Best val accuracy"), tr("Test accuracy"), tr("Epochs"), tr("Time"), tr("Finished") });
    m_table->horizontalHeaderItem(BestAccuracyColumn)
        ->setToolTip(tr("Validation accuracy of the best epoch (the adapter that was kept)"));
    m_table->horizontalHeaderItem(TestAccuracyColumn)
        ->setToolTip(tr("Accuracy of the best adapter on the test split, when there is one"));
    m_table->horizontalHeaderItem(EpochsColumn)->setToolTip(tr("Finished of planned epochs"));
    m_table->setAccessibleName(tr("Training runs"));
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    // Rows keep setRuns()'s order until a header is clicked.
    m_table->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
    m_table->setSortingEnabled(true);
    m_table->verticalHeader()->setVisible(false);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setToolTip(tr("Select runs to compare their validation accuracy; double-click a "
                           "run to open it"));
    connect(m_table, &QTableWidget::itemSelectionChanged, this, &RunsView::updatePlot);
    connect(m_table, &QTableWidget::itemActivated, this,
        [this](QTableWidgetItem *item) { Q_EMIT runActivated(qs(history(item->row()).dir)); });

    auto *compare = new QPushButton(tr("C&ompare methods..."));
    compare->setAccessibleName(tr("Compare methods"));
    compare->setToolTip(tr("Train several PEFT methods at one parameter budget and compare them"));
    connect(compare, &QPushButton::clicked, this, &RunsView::compareRequested);
    auto *refresh = new QPushButton(tr("&Refresh"));
    refresh->setAccessibleName(tr("Refresh the runs"));
    refresh->setToolTip(tr("Read the run folders again"));
    refresh->setShortcut(QKeySequence::Refresh);
    connect(refresh, &QPushButton::clicked, this, &RunsView::refresh);
    m_summary->setAccessibleName(tr("Runs summary"));

    auto *buttons = new QHBoxLayout;
    buttons->addWidget(m_summary, 1);
    buttons->addWidget(refresh);
    buttons->addWidget(compare);
    auto *split = new QSplitter(Qt::Vertical);
    split->addWidget(m_table);
    split->addWidget(m_plot);
    split->setChildrenCollapsible(false);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(buttons);
    layout->addWidget(split, 1);
}

void RunsView::setRuns(const QStringList &runDirs)
{
    m_histories.clear();
    for (const QString &dir : runDirs)
        m_histories.push_back(core::readRunLog(dir.toStdString()));

    const QSignalBlocker block(m_table);
    m_table->setSortingEnabled(false); // rows must not move while they are filled
    m_table->clearContents();
    m_table->setRowCount(int(m_histories.size()));
    int errors = 0;
    for (int row = 0; row < int(m_histories.size()); ++row) {
        const core::RunLog &h = m_histories[std::size_t(row)];
        auto *run = new QTableWidgetItem(QDir(qs(h.dir)).dirName());
        run->setData(kHistoryRole, row);
        run->setToolTip(qs(h.dir));
        m_table->setItem(row, RunColumn, run);
        if (!h.error.empty()) {
            ++errors;
            for (int c = MethodColumn; c < StatusColumn; ++c)
                m_table->setItem(row, c, new NumberItem(QStringLiteral("-"), -1));
            auto *status = new QTableWidgetItem(qs(h.error));
            m_table->setItem(row, StatusColumn, status);
            for (int c = 0; c < ColumnCount; ++c) {
                m_table->item(row, c)->setForeground(QColor(0xb0, 0x00, 0x20));
                m_table->item(row, c)->setToolTip(qs(h.error));
            }
            continue;
        }
        m_table->setItem(row, MethodColumn, new QTableWidgetItem(qs(h.method)));
        m_table->setItem(row, ParametersColumn,
            new NumberItem(
                QLocale().toString(h.trainableParameters), double(h.trainableParameters)));
        const bool anyValidation = std::any_of(h.epochs.begin(), h.epochs.end(),
            [](const core::EpochEvent &e) { return e.hasValidation; });
        m_table->setItem(row, BestAccuracyColumn,
            new NumberItem(anyValidation ? formatPercent(h.bestValAccuracy()) : QStringLiteral("-"),
                h.bestValAccuracy()));
        const bool hasTest = h.finished && h.finished->hasTest;
        m_table->setItem(row, TestAccuracyColumn,
            new NumberItem(hasTest ? formatPercent(h.finished->test.accuracy) : QStringLiteral("-"),
                hasTest ? h.finished->test.accuracy : -1.0));
        const int done = h.finished ? h.finished->epochsCompleted : int(h.epochs.size());
        m_table->setItem(row, EpochsColumn,
            new NumberItem(h.plannedEpochs > 0 ? tr("%1 / %2").arg(done).arg(h.plannedEpochs)
                                               : QString::number(done),
                done));
        m_table->setItem(row, TimeColumn, new NumberItem(formatDuration(h.seconds()), h.seconds()));
        auto *status = new QTableWidgetItem(qs(h.status()));
        if (!h.failure.empty())
            status->setToolTip(qs(h.failure));
        m_table->setItem(row, StatusColumn, status);
    }
    m_table->setSortingEnabled(true);
    m_table->resizeColumnsToContents();
    m_summary->setText(errors
            ? tr("%n run(s), %1 unreadable", nullptr, int(m_histories.size())).arg(errors)
            : tr("%n run(s)", nullptr, int(m_histories.size())));
    updatePlot();
}

QStringList RunsView::runs() const
{
    QStringList dirs;
    for (const core::RunLog &h : m_histories)
        dirs << qs(h.dir);
    return dirs;
}

void RunsView::refresh()
{
    setRuns(runs());
}

int RunsView::rowCount() const
{
    return m_table->rowCount();
}

int RunsView::historyIndex(int row) const
{
    const QTableWidgetItem *item = m_table->item(row, RunColumn);
    return item ? item->data(kHistoryRole).toInt() : -1;
}

const core::RunLog &RunsView::history(int row) const
{
    return m_histories.at(std::size_t(historyIndex(row)));
}

QString RunsView::text(int row, Column column) const
{
    const QTableWidgetItem *item = m_table->item(row, column);
    return item ? item->text() : QString();
}

bool RunsView::rowHasError(int row) const
{
    return !history(row).error.empty();
}

void RunsView::updatePlot()
{
    // The selected runs; with no selection, every run (so that the plot is never empty).
    QSet<int> rows;
    for (const QTableWidgetItem *item : m_table->selectedItems())
        rows.insert(item->row());
    if (rows.isEmpty()) {
        for (int r = 0; r < m_table->rowCount(); ++r)
            rows.insert(r);
    }
    QList<int> ordered(rows.begin(), rows.end());
    std::sort(ordered.begin(), ordered.end());
    QList<RunsPlot::Curve> curves;
    for (int row : ordered) {
        const core::RunLog &h = history(row);
        RunsPlot::Curve curve;
        const QString name = QDir(qs(h.dir)).dirName();
        curve.name = h.method.empty() ? name : tr("%1 (%2)").arg(name, qs(h.method));
        for (const core::EpochEvent &e : h.epochs) {
            if (e.hasValidation) {
                curve.epochs.append(e.epoch);
                curve.accuracy.append(e.validation.accuracy);
            }
        }
        if (!curve.epochs.isEmpty())
            curves.append(curve);
    }
    m_plot->setCurves(curves);
}

} // namespace astpeft::ui
