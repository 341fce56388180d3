// SPDX-License-Identifier: MIT
// The Runs view: a table of run folders (method, trainable parameters, best validation and test
// accuracy, epochs, time, how the run ended) read from their metrics.jsonl and options.json;
// the selected rows' validation-accuracy curves overlaid in one plot. A folder that cannot be
// read is a row with its error, never a crash. GUI thread only.
//
// Following: a run without a finished or failed event (one training here, or on another machine
// writing to a shared file system) is followed: its metrics.jsonl is read on from where the last
// read stopped (core::RunLogReader) whenever a QFileSystemWatcher reports a change and every
// kPollMs (watchers miss changes made by other machines over NFS), and its row and curve are
// updated in place. It is "running" while its folder lock is held or the log changed within
// kLiveSeconds. Following stops when the run finishes or fails, or its row goes. A large log
// is read in slices of kSliceBytes between events, so the GUI never waits for a whole log.
#pragma once

#include "train/run_log.h"

#include <QStringList>
#include <QTimer>
#include <QWidget>

#include <memory>
#include <vector>

class QFileSystemWatcher;
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
        StatusColumn, // the finished reason, "running, epoch 2 / 10", or an unreadable run's error
        ColumnCount
    };

    static constexpr int kPollMs = 1500;
    static constexpr int kLiveSeconds = 300;
    // About 1000 step lines: 7 ms to parse on an idle 2-core box, under 25 ms on a busy one.
    static constexpr qint64 kSliceBytes = 256 * 1024;

    explicit RunsView(QWidget *parent = nullptr);
    ~RunsView() override;

    // Lists these folders (in this order), replacing the previous list, and reads them: a log of
    // up to kSliceBytes at once, the rest of a longer one in slices afterwards (its row says
    // "reading").
    void setRuns(const QStringList &runDirs);
    QStringList runs() const;
    // Appends the run folders among `dirs` not yet listed (a folder that is no run but holds run
    // folders stands for them) and emits runsAdded() with them; returns them. `problems` gets
    // one line for each folder that is neither.
    QStringList addRuns(const QStringList &dirs, QStringList *problems = nullptr);
    // Whether `dir` looks like a run folder (metrics.jsonl or options.json in it).
    static bool isRunFolder(const QString &dir);

    // The runs being followed (unfinished), and whether a row's run is running now.
    QStringList followedRuns() const;
    bool isRunning(int row) const;

    // Rows as displayed (sorting may reorder them).
    int rowCount() const;
    const core::RunLog &history(int row) const;
    QString text(int row, Column column) const;
    bool rowHasError(int row) const;
    QTableWidget *table() const { return m_table; }
    const RunsPlot *plot() const { return m_plot; }

public Q_SLOTS:
    void refresh(); // reads the same folders again
    void chooseRunFolders(); // "Open run folder..."
    void poll(); // reads on in the followed runs (the timer's and the watcher's slot)

Q_SIGNALS:
    void compareRequested(); // "Compare methods..."
    void runActivated(const QString &runDir); // double-click or Enter on a row
    void runsAdded(const QStringList &runDirs); // by addRuns(): the dialog or a drop
    // A followed run's log grew, was read again or ended (its row shows it already).
    void runUpdated(const QString &runDir);

protected:
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;

private:
    struct Run
    {
        std::unique_ptr<core::RunLogReader> reader;
        bool following = false; // unfinished: read on as it grows
        bool running = false; // following, and its lock is held or its log changed lately
    };

    int historyIndex(int row) const;
    int rowOf(int index) const;
    void fillRow(int index, int row = -1); // row: where it is, when known
    void updateSummary();
    void updatePlot();
    void updateFollowing(); // the watcher's paths and the timers
    bool readSlice(int index); // true when the run's row changed
    QString statusText(const Run &run) const;

    QTableWidget *m_table;
    RunsPlot *m_plot;
    QLabel *m_summary;
    QFileSystemWatcher *m_watcher;
    QTimer m_pollTimer; // kPollMs while any run is followed
    QTimer m_sliceTimer; // 0 ms while any log is not read to its end
    std::vector<Run> m_runs; // in setRuns() order
};

} // namespace astpeft::ui
