// SPDX-License-Identifier: MIT
#include "data_view.h"

#include "clip_table_model.h"
#include "format.h"
#include "project_model.h"

#include <QAction>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>

namespace astpeft::ui {

namespace {
QPushButton *button(const QString &text, const QString &tip, QWidget *parent)
{
    auto *b = new QPushButton(text, parent);
    b->setToolTip(tip);
    b->setAccessibleName(QString(text).remove('&').remove(QStringLiteral("...")));
    return b;
}
} // namespace

DataView::DataView(ProjectModel *project, QWidget *parent)
    : QWidget(parent)
    , m_project(project)
{
    // Left: classes.
    m_classes = new QTableWidget(0, 3);
    m_classes->setAccessibleName(tr("Classes"));
    m_classes->setToolTip(tr("The project's classes; select one to see its clips"));
    m_classes->setHorizontalHeaderLabels({ tr("Class"), tr("Clips"), tr("Duration") });
    m_classes->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_classes->verticalHeader()->hide();
    m_classes->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_classes->setSelectionMode(QAbstractItemView::SingleSelection);
    m_classes->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_warnings = new QLabel;
    m_warnings->setWordWrap(true);
    m_warnings->setAccessibleName(tr("Balance warnings"));
    m_warnings->setStyleSheet(QStringLiteral("color: #c77d00"));

    auto *add =
        button(tr("&Add class..."), tr("Add an empty class to record or import into"), this);
    m_rename = button(tr("Re&name..."), tr("Rename the selected class"), this);
    m_remove = button(tr("Remove"), tr("Remove the selected class and its clips (undoable)"), this);
    auto *classButtons = new QHBoxLayout;
    classButtons->addWidget(add);
    classButtons->addWidget(m_rename);
    classButtons->addWidget(m_remove);

    auto *importFolder = button(tr("Import &folder..."),
        tr("Import a dataset folder or manifest: folder per class, CSV, ESC-50, Speech Commands, "
           "UrbanSound8K, Fluent Speech Commands, AudioFolder"),
        this);
    auto *importFiles = button(tr("Import f&iles..."), tr("Add audio files to a class"), this);
    auto *importButtons = new QHBoxLayout;
    importButtons->addWidget(importFolder);
    importButtons->addWidget(importFiles);

    m_leftColumn = new QVBoxLayout;
    m_leftColumn->addWidget(m_classes, 1);
    m_leftColumn->addWidget(m_warnings);
    m_leftColumn->addLayout(classButtons);
    m_leftColumn->addLayout(importButtons);
    auto *left = new QWidget;
    left->setLayout(m_leftColumn);

    // Right: clips of the selected class.
    m_hint = new QLabel(tr("Drop folders, audio files or dataset manifests anywhere on the "
                           "window to import them."));
    m_hint->setWordWrap(true);
    m_clipModel = new ClipTableModel(m_project, this);
    m_clips = new QTableView;
    m_clips->setModel(m_clipModel);
    m_clips->setAccessibleName(tr("Clips"));
    m_clips->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_clips->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_clips->horizontalHeader()->setSectionResizeMode(ClipTableModel::File, QHeaderView::Stretch);
    m_clips->verticalHeader()->hide();
    m_clips->setWordWrap(false);

    m_moveTo = new QComboBox;
    m_moveTo->setAccessibleName(tr("Move to class"));
    m_moveTo->setToolTip(tr("The class that \"Move\" relabels the selected clips to"));
    m_move = button(tr("&Move"), tr("Relabel the selected clips (undoable)"), this);
    m_delete = button(
        tr("&Delete"), tr("Remove the selected clips from the project (Del; undoable)"), this);
    auto *deleteAction = new QAction(this);
    deleteAction->setShortcut(QKeySequence::Delete);
    deleteAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_clips->addAction(deleteAction);
    connect(deleteAction, &QAction::triggered, this, &DataView::deleteSelectedClips);
    auto *clipButtons = new QHBoxLayout;
    clipButtons->addWidget(new QLabel(tr("Move to:")));
    clipButtons->addWidget(m_moveTo, 1);
    clipButtons->addWidget(m_move);
    clipButtons->addStretch();
    clipButtons->addWidget(m_delete);

    auto *clipPane = new QWidget;
    auto *clipLayout = new QVBoxLayout(clipPane);
    clipLayout->setContentsMargins(0, 0, 0, 0);
    clipLayout->addWidget(m_hint);
    clipLayout->addWidget(m_clips, 1);
    clipLayout->addLayout(clipButtons);
    m_rightSplit = new QSplitter(Qt::Vertical);
    m_rightSplit->addWidget(clipPane);

    auto *split = new QSplitter(Qt::Horizontal);
    split->addWidget(left);
    split->addWidget(m_rightSplit);
    split->setStretchFactor(1, 3);
    auto *layout = new QHBoxLayout(this);
    layout->addWidget(split);

    connect(add, &QPushButton::clicked, this, &DataView::addClass);
    connect(m_rename, &QPushButton::clicked, this, &DataView::renameClass);
    connect(m_remove, &QPushButton::clicked, this, &DataView::removeClass);
    connect(m_move, &QPushButton::clicked, this, &DataView::moveSelectedClips);
    connect(m_delete, &QPushButton::clicked, this, &DataView::deleteSelectedClips);
    connect(importFolder, &QPushButton::clicked, this, &DataView::importFolderRequested);
    connect(importFiles, &QPushButton::clicked, this, &DataView::importFilesRequested);
    connect(m_classes, &QTableWidget::itemSelectionChanged, this, [this] {
        m_clipModel->setClassFilter(currentClass());
        updateActions();
        Q_EMIT classSelected(currentClass());
    });
    connect(m_clips->selectionModel(), &QItemSelectionModel::selectionChanged, this,
        &DataView::updateActions);
    connect(m_clips->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
        [this](const QModelIndex &current) {
            Q_EMIT clipSelected(current.isValid() ? m_clipModel->idAt(current.row()) : 0);
        });
    connect(m_project, &ProjectModel::clipsChanged, this, &DataView::refresh);
    connect(m_project, &ProjectModel::classesChanged, this, &DataView::refresh);
    connect(m_project, &ProjectModel::opened, this, &DataView::refresh);
    refresh();
}

QString DataView::currentClass() const
{
    const QList<QTableWidgetItem *> selected = m_classes->selectedItems();
    if (selected.isEmpty())
        return {};
    const QTableWidgetItem *first = m_classes->item(selected.first()->row(), 0);
    return first->data(Qt::UserRole).toString();
}

void DataView::selectClass(const QString &label)
{
    for (int r = 0; r < m_classes->rowCount(); ++r) {
        if (m_classes->item(r, 0)->data(Qt::UserRole).toString() == label) {
            m_classes->selectRow(r);
            return;
        }
    }
}

QList<quint64> DataView::selectedClips() const
{
    QList<quint64> ids;
    for (const QModelIndex &row : m_clips->selectionModel()->selectedRows())
        ids << m_clipModel->idAt(row.row());
    return ids;
}

void DataView::selectClips(const QList<quint64> &ids)
{
    m_clips->clearSelection();
    bool first = true;
    for (quint64 id : ids) {
        const int row = m_clipModel->rowOf(id);
        if (row < 0)
            continue;
        const QModelIndex index = m_clipModel->index(row, 0);
        if (first) { // the current clip: the sample browser shows it
            m_clips->selectionModel()->setCurrentIndex(index, QItemSelectionModel::NoUpdate);
            m_clips->scrollTo(index);
            first = false;
        }
        m_clips->selectionModel()->select(
            index, QItemSelectionModel::Select | QItemSelectionModel::Rows);
    }
}

QStringList DataView::classLines() const
{
    QStringList lines;
    for (int r = 1; r < m_classes->rowCount(); ++r) { // row 0: all clips
        lines << QStringLiteral("%1: %2 clips, %3")
                     .arg(m_classes->item(r, 0)->text(), m_classes->item(r, 1)->text(),
                         m_classes->item(r, 2)->text());
    }
    return lines;
}

QStringList DataView::warnings() const
{
    return m_warnings->text().isEmpty() ? QStringList() : m_warnings->text().split('\n');
}

void DataView::setSampleBrowser(QWidget *browser)
{
    m_rightSplit->addWidget(browser);
    m_rightSplit->setStretchFactor(1, 1);
}

void DataView::setRecorder(QWidget *recorder)
{
    m_leftColumn->addWidget(recorder);
}

void DataView::refresh()
{
    const QString selected = currentClass();
    const QList<quint64> clips = selectedClips();
    refreshClasses();
    selectClass(selected);
    if (m_classes->selectedItems().isEmpty() && m_classes->rowCount() > 0)
        m_classes->selectRow(0);
    m_clipModel->refresh();
    selectClips(clips);
    updateActions();
}

void DataView::refreshClasses()
{
    const QSignalBlocker block(m_classes);
    m_classes->setRowCount(0);
    m_moveTo->clear();
    if (!m_project->isOpen()) {
        m_warnings->clear();
        return;
    }
    const std::vector<core::ClassCount> counts = core::classCounts(m_project->project());
    int total = 0;
    double seconds = 0;
    for (const core::ClassCount &c : counts) {
        total += c.clips;
        seconds += c.seconds;
    }
    auto addRow = [this](const QString &shown, const QString &label, int clips, double secs) {
        const int r = m_classes->rowCount();
        m_classes->insertRow(r);
        auto *name = new QTableWidgetItem(shown);
        name->setData(Qt::UserRole, label);
        m_classes->setItem(r, 0, name);
        auto *n = new QTableWidgetItem(QString::number(clips));
        n->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        m_classes->setItem(r, 1, n);
        auto *d = new QTableWidgetItem(formatClipDuration(secs));
        d->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        m_classes->setItem(r, 2, d);
    };
    addRow(tr("All clips"), QString(), total, seconds);
    for (const core::ClassCount &c : counts) {
        const QString label = QString::fromStdString(c.label);
        addRow(label, label, c.clips, c.seconds);
        m_moveTo->addItem(label);
    }
    QStringList warnings;
    for (const std::string &w : core::balanceWarnings(m_project->project()))
        warnings << QString::fromStdString(w);
    m_warnings->setText(warnings.join('\n'));
    m_hint->setVisible(total == 0);
}

void DataView::updateActions()
{
    const bool classSelected = !currentClass().isEmpty();
    const bool clipsSelected = !selectedClips().isEmpty();
    m_rename->setEnabled(classSelected);
    m_remove->setEnabled(classSelected);
    m_move->setEnabled(clipsSelected && m_moveTo->count() > 0);
    m_delete->setEnabled(clipsSelected);
}

void DataView::addClass()
{
    bool ok = false;
    const QString label = QInputDialog::getText(
        this, tr("Add class"), tr("Name of the new class:"), QLineEdit::Normal, {}, &ok)
                              .trimmed();
    if (!ok || label.isEmpty())
        return;
    m_project->addClass(label);
    selectClass(label);
}

void DataView::renameClass()
{
    const QString from = currentClass();
    if (from.isEmpty())
        return;
    bool ok = false;
    const QString to = QInputDialog::getText(
        this, tr("Rename class"), tr("New name of \"%1\":").arg(from), QLineEdit::Normal, from, &ok)
                           .trimmed();
    if (!ok || to.isEmpty() || to == from)
        return;
    m_project->renameClass(from, to);
    selectClass(to);
}

void DataView::removeClass()
{
    const QString label = currentClass();
    if (label.isEmpty())
        return;
    if (QMessageBox::question(this, tr("Remove class"),
            tr("Remove the class \"%1\" and its clips from the project? (Edit > Undo brings "
               "them back; the audio files stay on disk.)")
                .arg(label))
        != QMessageBox::Yes)
        return;
    m_project->removeClass(label);
}

void DataView::moveSelectedClips()
{
    const QList<quint64> ids = selectedClips();
    if (ids.isEmpty() || m_moveTo->currentText().isEmpty())
        return;
    m_project->relabel(ids, m_moveTo->currentText());
}

void DataView::deleteSelectedClips()
{
    const QList<quint64> ids = selectedClips();
    if (!ids.isEmpty())
        m_project->removeClips(ids);
}

} // namespace astpeft::ui
