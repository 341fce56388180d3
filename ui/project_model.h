// SPDX-License-Identifier: MIT
// The open project on the Qt side: undoable dataset edits on a QUndoStack (by clip id), the
// method and training settings, autosave and the recent-projects list. GUI thread only.
//
// Autosave: every change (an edit, its undo or redo, a setting) restarts a 1.5 s single-shot
// timer whose timeout saves. A save marks the undo stack clean (undoStack()->isClean() for the
// window title; isModified() also covers the settings, which are not undoable). A failed save
// (read-only folder, full disk) emits saveFailed() and keeps everything in memory; the next
// change tries again. Opening another project or destroying the model saves pending changes.
#pragma once

#include "project/project.h"

#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QTimer>
#include <QUndoStack>

#include <unordered_map>

namespace astpeft::ui {

struct ProjectEdit; // one undoable edit (project_model.cpp)
class ProjectEditCommand;

class ProjectModel : public QObject
{
    Q_OBJECT

public:
    static constexpr int kAutosaveMs = 1500;
    static constexpr int kMaxRecent = 8;

    explicit ProjectModel(QObject *parent = nullptr);
    ~ProjectModel() override;

    bool isOpen() const { return m_open; }
    const core::Project &project() const { return m_project; }
    QString dir() const; // absolute; empty when none is open
    QUndoStack *undoStack() { return &m_undo; }
    // Changes not saved yet (edits and settings); false right after a save or open.
    bool isModified() const { return m_modified; }

    // Both save pending changes of the project open before, and add the folder to the recent
    // projects (QSettings "project/recent", newest first, at most kMaxRecent). On failure they
    // return false with the core error's message in *error and leave the open project as it was.
    bool create(const QString &dir, const QString &name, QString *error = nullptr);
    bool open(const QString &dir, QString *error = nullptr);
    bool save(QString *error = nullptr); // atomic; emits saved() or saveFailed()
    // The recent projects whose project.json still exists, newest first.
    static QStringList recentProjects();

    // Undoable edits, each one QUndoCommand on undoStack() (none when nothing would change or
    // no project is open). Labels are trimmed; a new label becomes a class at the end.
    // Returns the ids added (files already in the project are skipped).
    QList<quint64> addDataset(const core::Dataset &dataset, const QString &description);
    // A file recorded in the studio (probed for its length; kept with 0 s when unreadable).
    // Returns its id, 0 when nothing was added (no label, or the file is in the project).
    quint64 addRecording(const QString &file, const QString &label);
    void relabel(const QList<quint64> &clips, const QString &label);
    // Files are not deleted: recordings stay on disk until the project is cleaned.
    void removeClips(const QList<quint64> &clips);
    // Seconds into the file, end 0 = to the end. false (no change) unless 0 <= start < end and
    // start lies inside the file.
    bool trim(quint64 clip, double start, double end);
    void addClass(const QString &label);
    // Renaming to an existing class merges the two (the clips of `from` join `to`).
    void renameClass(const QString &from, const QString &to);
    void removeClass(const QString &label); // with its clips, one undo step

    // Not undoable, autosaved: settings of the method and training views.
    void setPeft(const core::PeftConfig &peft, const QString &budget);
    void setTraining(const core::TrainOptions &options);
    void setBackbone(const QString &path); // stored relative when inside the project
    // Stored relative when inside the project (runs/<name>), else absolute (a run folder opened
    // from elsewhere); listed once.
    void addRun(const QString &runDir);

    const core::ProjectClip *clip(quint64 id) const; // nullptr: no such clip

Q_SIGNALS:
    void opened();
    void changed(); // any change, undo and redo included
    void clipsChanged();
    void classesChanged();
    void saved();
    void saveFailed(const QString &message);

private:
    friend class ProjectEditCommand;
    // Called by the undo commands: redo (forward) or undo.
    void applyEdit(const ProjectEdit &edit, bool forward);
    void adopt(core::Project project);
    void noteChange();
    void push(ProjectEdit edit, const QString &text);
    void flushPending();
    static void addRecent(const QString &dir);

    core::Project m_project;
    bool m_open = false;
    bool m_modified = false;
    QUndoStack m_undo;
    QTimer m_autosave;
    // id -> index into m_project.clips; rebuilt on demand after the clip list changes.
    mutable std::unordered_map<quint64, std::size_t> m_index;
    mutable bool m_indexValid = false;
};

} // namespace astpeft::ui
