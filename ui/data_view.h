// SPDX-License-Identifier: MIT
// The Data view: the project's classes with clip counts, durations and balance warnings, the
// clips of the selected class, and the edits on them (add, rename and remove classes; move
// clips to another class; delete clips), all undoable through the ProjectModel. Importing
// (drop anywhere on the window, or the Import buttons) is the main window's job; the sample
// browser and the recorder sit in the slots this view provides.
#pragma once

#include <QWidget>

class QLabel;
class QTableView;
class QTableWidget;
class QComboBox;
class QPushButton;
class QVBoxLayout;
class QSplitter;

namespace astpeft::ui {

class ClipTableModel;
class ProjectModel;

class DataView : public QWidget
{
    Q_OBJECT

public:
    explicit DataView(ProjectModel *project, QWidget *parent = nullptr);

    QString currentClass() const; // empty: all clips
    void selectClass(const QString &label);
    QList<quint64> selectedClips() const;
    void selectClips(const QList<quint64> &ids);
    ClipTableModel *clipModel() const { return m_clipModel; }

    // For tests and screen readers: "label: N clips, D" per class, and the warnings shown.
    QStringList classLines() const;
    QStringList warnings() const;

    // Places the sample browser (below the clip table) and the recorder (beside the classes).
    void setSampleBrowser(QWidget *browser);
    void setRecorder(QWidget *recorder);

public Q_SLOTS:
    void refresh();
    void addClass();
    void renameClass();
    void removeClass();
    void moveSelectedClips(); // to the class chosen in the "Move to" box
    void deleteSelectedClips();

Q_SIGNALS:
    void importFolderRequested();
    void importFilesRequested();
    void clipSelected(quint64 id); // the current clip changed (0: none)
    void classSelected(const QString &label); // empty: all clips

private:
    void refreshClasses();
    void updateActions();

    ProjectModel *m_project; // owned by the main window
    QTableWidget *m_classes = nullptr;
    QLabel *m_warnings = nullptr;
    QLabel *m_hint = nullptr;
    QTableView *m_clips = nullptr;
    ClipTableModel *m_clipModel = nullptr;
    QComboBox *m_moveTo = nullptr;
    QPushButton *m_move = nullptr, *m_delete = nullptr, *m_rename = nullptr, *m_remove = nullptr;
    QVBoxLayout *m_leftColumn = nullptr;
    QSplitter *m_rightSplit = nullptr;
};

} // namespace astpeft::ui
