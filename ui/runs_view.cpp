// SPDX-License-Identifier: MIT
#include "runs_view.h"

#include "format.h"

#include "plots/runs_plot.h"

#include "io/folder_lock.h"
#include "train/trainer.h"

#include <QDateTime>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFileSystemWatcher>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QSet>
#include <QSplitter>
#include <QTableWidget>
#include <QUrl>
#include <QVBoxLayout>

#include <cmath>

namespace astpeft::ui {

namespace {

constexpr int kHistoryRole = Qt::UserRole + 1; // on the run column: index into m_runs

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
    , m_watcher(new QFileSystemWatcher(this))
{
    setAcceptDrops(true);
    m_pollTimer.setInterval(kPollMs);
    connect(&m_pollTimer, &QTimer::timeout, this, &RunsView::poll);
    m_sliceTimer.setInterval(0);
    connect(&m_sliceTimer, &QTimer::timeout, this, &RunsView::poll);
    // A change seen by the watcher: read it now rather than at the next poll.
    connect(m_watcher, &QFileSystemWatcher::fileChanged, this, [this] { m_sliceTimer.start(); });
    connect(
        m_watcher, &QFileSystemWatcher::directoryChanged, this, [this] { m_sliceTimer.start(); });

    m_table->setHorizontalHeaderLabels({ tr("Run"), tr("Method"), tr("Trainable parameters"),
        tr("Best val accuracy"), tr("Test accuracy"), tr("Epochs"), tr("Time"), tr("Status") });
    m_table->horizontalHeaderItem(BestAccuracyColumn)
        ->setToolTip(tr("Validation accuracy of the best epoch (the adapter that was kept)"));
    m_table->horizontalHeaderItem(TestAccuracyColumn)
        ->setToolTip(tr("Accuracy of the best adapter on the test split, when there is one"));
    m_table->horizontalHeaderItem(EpochsColumn)->setToolTip(tr("Finished of planned epochs"));
    m_table->horizontalHeaderItem(StatusColumn)
        ->setToolTip(tr("How the run ended; a run in progress is followed live"));
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
                           "run to open it in the Training view (a run in progress there is "
                           "followed as it grows)"));
    connect(m_table, &QTableWidget::itemSelectionChanged, this, &RunsView::updatePlot);
    connect(m_table, &QTableWidget::itemActivated, this,
        [this](QTableWidgetItem *item) { Q_EMIT runActivated(qs(history(item->row()).dir)); });

    auto *open = new QPushButton(tr("O&pen run folder..."));
    open->setAccessibleName(tr("Open run folders"));
    open->setToolTip(tr("List a run folder trained elsewhere (for example by the command line on "
                        "a cluster, on a shared file system); a run in progress is followed "
                        "live. Run folders can also be dropped here."));
    connect(open, &QPushButton::clicked, this, &RunsView::chooseRunFolders);

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
    buttons->addWidget(open);
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

RunsView::~RunsView() = default;

void RunsView::setRuns(const QStringList &runDirs)
{
    m_runs.clear();
    for (const QString &dir : runDirs) {
        Run run;
        run.reader = std::make_unique<core::RunLogReader>(dir.toStdString());
        run.reader->update(kSliceBytes);
        m_runs.push_back(std::move(run));
    }

    updateFollowing();
    const QSignalBlocker block(m_table);
    m_table->setSortingEnabled(false); // rows must not move while they are filled
    m_table->clearContents();
    m_table->setRowCount(int(m_runs.size()));
    for (int row = 0; row < int(m_runs.size()); ++row) {
        auto *run = new QTableWidgetItem;
        run->setData(kHistoryRole, row);
        m_table->setItem(row, RunColumn, run);
        fillRow(row, row);
    }
    m_table->setSortingEnabled(true);
    m_table->resizeColumnsToContents();
    updateSummary();
    updatePlot();
}

QStringList RunsView::runs() const
{
    QStringList dirs;
    for (const Run &run : m_runs)
        dirs << qs(run.reader->log().dir);
    return dirs;
}

bool RunsView::isRunFolder(const QString &dir)
{
    const QDir d(dir);
    return d.exists(QString::fromLatin1(core::RunFiles::metrics))
        || d.exists(QString::fromLatin1(core::RunFiles::options));
}

QStringList RunsView::addRuns(const QStringList &dirs, QStringList *problems)
{
    QStringList listed = runs();
    for (QString &dir : listed)
        dir = QDir::cleanPath(QFileInfo(dir).absoluteFilePath());
    QStringList added;
    const auto add = [&](const QString &dir) {
        const QString clean = QDir::cleanPath(QFileInfo(dir).absoluteFilePath());
        if (!listed.contains(clean) && !added.contains(clean))
            added << clean;
    };
    for (const QString &dir : dirs) {
        if (isRunFolder(dir)) {
            add(dir);
            continue;
        }
        // A folder of runs (an --out parent, a project's runs/): its run folders, by name.
        QStringList inside;
        for (const QFileInfo &sub :
            QDir(dir).entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
            if (isRunFolder(sub.filePath()))
                inside << sub.filePath();
        }
        for (const QString &run : inside)
            add(run);
        if (inside.isEmpty() && problems) {
            *problems << tr("%1: not a run folder (no %2 in it or in its folders)")
                             .arg(QDir::toNativeSeparators(dir),
                                 QString::fromLatin1(core::RunFiles::metrics));
        }
    }
    if (!added.isEmpty()) {
        setRuns(runs() << added);
        Q_EMIT runsAdded(added);
    }
    return added;
}

void RunsView::chooseRunFolders()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open run folder"));
    if (dir.isEmpty())
        return;
    QStringList problems;
    addRuns({ dir }, &problems);
    if (!problems.isEmpty())
        QMessageBox::warning(this, tr("Open run folder"), problems.join('\n'));
}

// Only folders that are runs or hold runs: another drop (a dataset) goes on to the window.
void RunsView::dragEnterEvent(QDragEnterEvent *event)
{
    for (const QUrl &url : event->mimeData()->urls()) {
        const QString dir = url.toLocalFile();
        if (!url.isLocalFile() || !QFileInfo(dir).isDir())
            continue;
        bool runs = isRunFolder(dir);
        for (const QFileInfo &sub : QDir(dir).entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot)) {
            if (runs)
                break;
            runs = isRunFolder(sub.filePath());
        }
        if (runs) {
            event->acceptProposedAction();
            return;
        }
    }
    event->ignore();
}

void RunsView::dropEvent(QDropEvent *event)
{
    QStringList dirs;
    for (const QUrl &url : event->mimeData()->urls()) {
        if (url.isLocalFile() && QFileInfo(url.toLocalFile()).isDir())
            dirs << url.toLocalFile();
    }
    if (dirs.isEmpty())
        return;
    event->acceptProposedAction();
    QStringList problems;
    addRuns(dirs, &problems);
    if (!problems.isEmpty())
        QMessageBox::warning(this, tr("Open run folder"), problems.join('\n'));
}

void RunsView::refresh()
{
    setRuns(runs());
}

QStringList RunsView::followedRuns() const
{
    QStringList dirs;
    for (const Run &run : m_runs) {
        if (run.following)
            dirs << qs(run.reader->log().dir);
    }
    return dirs;
}

bool RunsView::isRunning(int row) const
{
    return m_runs.at(std::size_t(historyIndex(row))).running;
}

QString RunsView::statusText(const Run &run) const
{
    const core::RunLog &h = run.reader->log();
    if (!run.reader->atEnd())
        return tr("reading...");
    if (run.running) {
        if (h.plannedEpochs > 0 && !h.epochs.empty() && h.epochs.back().epoch >= h.plannedEpochs)
            return tr("running, finishing"); // the test split, the last files
        int epoch = h.steps.empty() ? int(h.epochs.size()) + 1 : h.steps.back().epoch;
        if (!h.epochs.empty() && h.epochs.back().epoch >= epoch)
            epoch = h.epochs.back().epoch + 1; // between epochs
        if (h.plannedEpochs > 0) {
            epoch = std::min(epoch, h.plannedEpochs);
            return tr("running, epoch %1 / %2").arg(epoch).arg(h.plannedEpochs);
        }
        return tr("running, epoch %1").arg(epoch);
    }
    return qs(h.status());
}

int RunsView::rowOf(int index) const
{
    for (int row = 0; row < m_table->rowCount(); ++row) {
        if (historyIndex(row) == index)
            return row;
    }
    return -1;
}

// Fills the cells of m_runs[index]'s row in place (a selected row stays selected).
void RunsView::fillRow(int index, int row)
{
    if (row < 0)
        row = rowOf(index);
    const Run &r = m_runs[std::size_t(index)];
    const core::RunLog &h = r.reader->log();
    const auto set = [&](int column, const QString &text, double key, bool number) {
        QTableWidgetItem *item = m_table->item(row, column);
        if (!item) {
            item = number ? new NumberItem(text, key) : new QTableWidgetItem(text);
            m_table->setItem(row, column, item);
        }
        item->setText(text);
        if (number)
            item->setData(Qt::UserRole, key);
        item->setToolTip(QString());
        item->setData(Qt::ForegroundRole, QVariant());
    };
    QTableWidgetItem *name = m_table->item(row, RunColumn);
    name->setText(QDir(qs(h.dir)).dirName());
    name->setToolTip(qs(h.dir));
    name->setData(Qt::ForegroundRole, QVariant());
    if (!h.error.empty()) {
        for (int c = MethodColumn; c < StatusColumn; ++c)
            set(c, QStringLiteral("-"), -1, true);
        set(StatusColumn, qs(h.error), 0, false);
        for (int c = 0; c < ColumnCount; ++c) {
            m_table->item(row, c)->setForeground(QColor(0xb0, 0x00, 0x20));
            m_table->item(row, c)->setToolTip(qs(h.error));
        }
        name->setToolTip(qs(h.dir) + '\n' + qs(h.error));
        return;
    }
    set(MethodColumn, qs(h.method), 0, false);
    set(ParametersColumn, QLocale().toString(h.trainableParameters), double(h.trainableParameters),
        true);
    const bool anyValidation = std::any_of(h.epochs.begin(), h.epochs.end(),
        [](const core::EpochEvent &e) { return e.hasValidation; });
    set(BestAccuracyColumn,
        anyValidation ? formatPercent(h.bestValAccuracy()) : QStringLiteral("-"),
        h.bestValAccuracy(), true);
    const bool hasTest = h.finished && h.finished->hasTest;
    set(TestAccuracyColumn,
        hasTest ? formatPercent(h.finished->test.accuracy) : QStringLiteral("-"),
        hasTest ? h.finished->test.accuracy : -1.0, true);
    const int done = h.finished ? h.finished->epochsCompleted : int(h.epochs.size());
    set(EpochsColumn,
        h.plannedEpochs > 0 ? tr("%1 / %2").arg(done).arg(h.plannedEpochs) : QString::number(done),
        done, true);
    set(TimeColumn, formatDuration(h.seconds()), h.seconds(), true);
    set(StatusColumn, statusText(r), 0, false);
    if (!h.failure.empty()) {
        m_table->item(row, StatusColumn)->setToolTip(qs(h.failure));
    } else if (r.following) {
        m_table->item(row, StatusColumn)->setToolTip(tr("Followed live: read again as it grows"));
    }
}

void RunsView::updateSummary()
{
    const auto errors = std::count_if(m_runs.begin(), m_runs.end(),
        [](const Run &run) { return !run.reader->log().error.empty(); });
    const auto running =
        std::count_if(m_runs.begin(), m_runs.end(), [](const Run &run) { return run.running; });
    QString text = errors ? tr("%n run(s), %1 unreadable", nullptr, int(m_runs.size())).arg(errors)
                          : tr("%n run(s)", nullptr, int(m_runs.size()));
    if (running)
        text += ", " + tr("%n running", nullptr, int(running));
    m_summary->setText(text);
}

void RunsView::updateFollowing()
{
    QStringList watch;
    bool reading = false;
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (Run &run : m_runs) {
        const core::RunLog &h = run.reader->log();
        run.following = !h.finished && h.failure.empty();
        reading = reading || !run.reader->atEnd();
        bool running = false;
        if (run.following) {
            const QString dir = qs(h.dir);
            const QFileInfo log(QDir(dir).filePath(QString::fromLatin1(core::RunFiles::metrics)));
            watch << (log.exists() ? log.filePath() : dir);
            running = core::isFolderLocked(h.dir)
                || (log.exists() && log.lastModified().toUTC().secsTo(now) <= qint64(kLiveSeconds));
        }
        run.running = running;
    }
    const QStringList watched = m_watcher->files() + m_watcher->directories();
    for (const QString &path : watched) {
        if (!watch.contains(path))
            m_watcher->removePath(path);
    }
    for (const QString &path : watch) {
        if (!watched.contains(path))
            m_watcher->addPath(path); // may fail (a file system without notification)
    }
    if (watch.isEmpty()) {
        m_pollTimer.stop();
    } else if (!m_pollTimer.isActive()) {
        m_pollTimer.start();
    }
    if (!reading) {
        m_sliceTimer.stop();
    } else if (!m_sliceTimer.isActive()) {
        m_sliceTimer.start();
    }
}

bool RunsView::readSlice(int index)
{
    Run &run = m_runs[std::size_t(index)];
    const bool wasAtEnd = run.reader->atEnd();
    return run.reader->update(kSliceBytes) != core::RunLogReader::Update::Unchanged
        || wasAtEnd != run.reader->atEnd();
}

void RunsView::poll()
{
    // Unfinished logs read to their end get a slice each; one still being read gets one slice
    // per call, so that a large log never holds the event loop for long.
    QList<int> changed;
    bool sliced = false;
    for (int i = 0; i < int(m_runs.size()); ++i) {
        Run &run = m_runs[std::size_t(i)];
        if (!run.reader->atEnd()) {
            if (sliced)
                continue;
            sliced = true;
        } else if (!run.following) {
            continue;
        }
        if (readSlice(i))
            changed << i;
    }
    std::vector<bool> wasRunning;
    for (const Run &run : m_runs)
        wasRunning.push_back(run.running);
    updateFollowing();
    for (int i = 0; i < int(m_runs.size()); ++i) {
        if (m_runs[std::size_t(i)].running != wasRunning[std::size_t(i)] && !changed.contains(i))
            changed << i;
    }
    if (changed.isEmpty())
        return;
    {
        const QSignalBlocker block(m_table);
        m_table->setSortingEnabled(false);
        for (int i : changed)
            fillRow(i);
        m_table->setSortingEnabled(true);
    }
    updateSummary();
    updatePlot();
    for (int i : changed)
        Q_EMIT runUpdated(qs(m_runs[std::size_t(i)].reader->log().dir));
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
    return m_runs.at(std::size_t(historyIndex(row))).reader->log();
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
