// SPDX-License-Identifier: MIT
#include "project_model.h"

#include "audio/audio_file.h"
#include "error.h"
#include "format.h"

#include <QDir>
#include <QFileInfo>
#include <QSettings>
#include <QUndoCommand>

#include <algorithm>
#include <filesystem>
#include <set>
#include <unordered_set>

namespace astpeft::ui {

namespace fs = std::filesystem;

// What an undoable edit changes, enough to apply it in both directions. Commands refer to clips
// by id, never by pointer or (except for restoring removed clips) by position.
struct ProjectEdit
{
    bool classesChange = false;
    std::vector<std::string> classesBefore {}, classesAfter {};
    // Removed clips with their index in the list before the edit, ascending.
    std::vector<std::pair<std::size_t, core::ProjectClip>> removed {};
    // Clips changed in place (same id): before, after.
    std::vector<std::pair<core::ProjectClip, core::ProjectClip>> modified {};
    std::vector<core::ProjectClip> added {}; // appended at the end
    bool listsChange = false; // noise and imports (an import)
    std::vector<fs::path> noiseBefore {}, noiseAfter {};
    std::vector<std::string> importsBefore {}, importsAfter {};

    bool empty() const
    {
        return !classesChange && removed.empty() && modified.empty() && added.empty()
            && !listsChange;
    }
};

class ProjectEditCommand : public QUndoCommand
{
public:
    ProjectEditCommand(ProjectModel *model, ProjectEdit edit, const QString &text)
        : m_model(model)
        , m_edit(std::move(edit))
    {
        setText(text);
    }
    void redo() override { m_model->applyEdit(m_edit, true); }
    void undo() override { m_model->applyEdit(m_edit, false); }

private:
    ProjectModel *m_model; // owns the stack that owns this command
    ProjectEdit m_edit;
};

namespace {

std::string label(const QString &text)
{
    return text.trimmed().toStdString();
}

bool hasClass(const core::Project &project, const std::string &name)
{
    return std::find(project.classes.begin(), project.classes.end(), name) != project.classes.end();
}

std::set<quint64> idSet(const QList<quint64> &ids)
{
    return std::set<quint64>(ids.begin(), ids.end());
}

} // namespace

ProjectModel::ProjectModel(QObject *parent)
    : QObject(parent)
{
    m_autosave.setSingleShot(true);
    m_autosave.setInterval(kAutosaveMs);
    connect(&m_autosave, &QTimer::timeout, this, [this] { save(); });
}

ProjectModel::~ProjectModel()
{
    // Last chance for pending changes; no signals from a dying object.
    if (m_open && m_modified) {
        try {
            core::saveProject(m_project);
        } catch (const std::exception &e) {
            qWarning("project not saved: %s", e.what());
        }
    }
    m_undo.clear(); // the commands point back at this model
}

QString ProjectModel::dir() const
{
    return m_open ? qs(m_project.dir.string()) : QString();
}

void ProjectModel::flushPending()
{
    if (m_open && m_modified)
        save();
}

void ProjectModel::adopt(core::Project project)
{
    m_autosave.stop();
    m_undo.clear();
    m_project = std::move(project);
    m_open = true;
    m_modified = false;
    m_indexValid = false;
    m_undo.setClean();
    addRecent(dir());
    Q_EMIT opened();
    Q_EMIT classesChanged();
    Q_EMIT clipsChanged();
}

bool ProjectModel::create(const QString &dir, const QString &name, QString *error)
{
    flushPending();
    try {
        adopt(core::createProject(dir.toStdString(), name.toStdString()));
        return true;
    } catch (const std::exception &e) {
        if (error)
            *error = QString::fromUtf8(e.what());
        return false;
    }
}

bool ProjectModel::open(const QString &dir, QString *error)
{
    flushPending();
    try {
        adopt(core::loadProject(dir.toStdString()));
        return true;
    } catch (const std::exception &e) {
        if (error)
            *error = QString::fromUtf8(e.what());
        return false;
    }
}

bool ProjectModel::save(QString *error)
{
    m_autosave.stop();
    if (!m_open) {
        if (error)
            *error = tr("No project is open.");
        return false;
    }
    try {
        core::saveProject(m_project);
    } catch (const std::exception &e) {
        const QString message = QString::fromUtf8(e.what());
        if (error)
            *error = message;
        Q_EMIT saveFailed(message);
        return false;
    }
    m_modified = false;
    m_undo.setClean();
    Q_EMIT saved();
    return true;
}

QStringList ProjectModel::recentProjects()
{
    QStringList out;
    for (const QString &dir : QSettings().value("project/recent").toStringList()) {
        if (QFileInfo(dir + "/" + core::ProjectFiles::project).isFile())
            out << dir;
    }
    return out;
}

void ProjectModel::addRecent(const QString &dir)
{
    const QString clean = QDir::cleanPath(QDir(dir).absolutePath());
    QSettings settings;
    QStringList recent = settings.value("project/recent").toStringList();
    recent.removeAll(clean);
    recent.prepend(clean);
    while (recent.size() > kMaxRecent)
        recent.removeLast();
    settings.setValue("project/recent", recent);
}

void ProjectModel::noteChange()
{
    m_modified = true;
    Q_EMIT changed();
    m_autosave.start(); // restarts a running timer
}

void ProjectModel::push(ProjectEdit edit, const QString &text)
{
    if (!m_open || edit.empty())
        return;
    m_undo.push(new ProjectEditCommand(this, std::move(edit), text)); // push() calls redo()
}

void ProjectModel::applyEdit(const ProjectEdit &edit, bool forward)
{
    std::vector<core::ProjectClip> &clips = m_project.clips;
    if (forward) {
        std::unordered_set<quint64> gone;
        for (const auto &[index, clip] : edit.removed)
            gone.insert(clip.id);
        std::erase_if(clips, [&](const core::ProjectClip &c) { return gone.contains(c.id); });
        m_indexValid = false;
        for (const auto &[before, after] : edit.modified) {
            for (core::ProjectClip &c : clips) {
                if (c.id == after.id)
                    c = after;
            }
        }
        clips.insert(clips.end(), edit.added.begin(), edit.added.end());
        if (edit.classesChange)
            m_project.classes = edit.classesAfter;
        if (edit.listsChange) {
            m_project.noise = edit.noiseAfter;
            m_project.imports = edit.importsAfter;
        }
    } else {
        std::unordered_set<quint64> added;
        for (const core::ProjectClip &clip : edit.added)
            added.insert(clip.id);
        std::erase_if(clips, [&](const core::ProjectClip &c) { return added.contains(c.id); });
        for (const auto &[before, after] : edit.modified) {
            for (core::ProjectClip &c : clips) {
                if (c.id == before.id)
                    c = before;
            }
        }
        for (const auto &[index, clip] : edit.removed) // ascending: each lands where it was
            clips.insert(clips.begin() + std::ptrdiff_t(std::min(index, clips.size())), clip);
        if (edit.classesChange)
            m_project.classes = edit.classesBefore;
        if (edit.listsChange) {
            m_project.noise = edit.noiseBefore;
            m_project.imports = edit.importsBefore;
        }
    }
    m_indexValid = false;
    if (edit.classesChange)
        Q_EMIT classesChanged();
    if (!edit.removed.empty() || !edit.modified.empty() || !edit.added.empty())
        Q_EMIT clipsChanged();
    noteChange();
}

QList<quint64> ProjectModel::addDataset(const core::Dataset &dataset, const QString &description)
{
    if (!m_open)
        return {};
    core::Project after = m_project;
    const std::vector<std::uint64_t> ids = core::addDataset(after, dataset);
    // Ids only grow, also across undo, so that no id ever names two clips.
    m_project.nextClipId = after.nextClipId;
    ProjectEdit edit;
    edit.added.assign(
        after.clips.begin() + std::ptrdiff_t(m_project.clips.size()), after.clips.end());
    if (after.classes != m_project.classes) {
        edit.classesChange = true;
        edit.classesBefore = m_project.classes;
        edit.classesAfter = after.classes;
    }
    if (!edit.added.empty() || after.noise != m_project.noise) {
        edit.listsChange = true;
        edit.noiseBefore = m_project.noise;
        edit.noiseAfter = after.noise;
        edit.importsBefore = m_project.imports;
        edit.importsAfter = after.imports;
    }
    push(std::move(edit),
        description.isEmpty() ? tr("Import %n clip(s)", nullptr, int(ids.size())) : description);
    return QList<quint64>(ids.begin(), ids.end());
}

quint64 ProjectModel::addRecording(const QString &file, const QString &labelText)
{
    const std::string name = label(labelText);
    if (!m_open || name.empty() || file.isEmpty())
        return 0;
    core::ProjectClip clip;
    const fs::path path = fs::absolute(file.toStdString()).lexically_normal();
    clip.file = core::storedPath(m_project, path);
    for (const core::ProjectClip &c : m_project.clips) {
        if (core::clipPath(m_project, c) == path)
            return 0; // already in the project
    }
    clip.label = name;
    clip.recorded = true;
    try {
        const core::AudioInfo info = core::probeAudio(path);
        clip.seconds = info.seconds();
        clip.sampleRate = info.sampleRate;
        clip.channels = info.channels;
    } catch (const core::Error &e) {
        qWarning("recording not probed: %s", e.what());
    }
    clip.id = m_project.nextClipId++;
    ProjectEdit edit;
    if (!hasClass(m_project, name)) {
        edit.classesChange = true;
        edit.classesBefore = m_project.classes;
        edit.classesAfter = m_project.classes;
        edit.classesAfter.push_back(name);
    }
    edit.added.push_back(clip);
    push(std::move(edit), tr("Record a clip of %1").arg(qs(name)));
    return clip.id;
}

void ProjectModel::relabel(const QList<quint64> &ids, const QString &labelText)
{
    const std::string name = label(labelText);
    if (!m_open || name.empty())
        return;
    const std::set<quint64> wanted = idSet(ids);
    ProjectEdit edit;
    for (const core::ProjectClip &c : m_project.clips) {
        if (wanted.contains(c.id) && c.label != name) {
            core::ProjectClip after = c;
            after.label = name;
            edit.modified.emplace_back(c, std::move(after));
        }
    }
    if (edit.modified.empty())
        return;
    if (!hasClass(m_project, name)) {
        edit.classesChange = true;
        edit.classesBefore = m_project.classes;
        edit.classesAfter = m_project.classes;
        edit.classesAfter.push_back(name);
    }
    const int n = int(edit.modified.size());
    push(std::move(edit), tr("Relabel %n clip(s) as %1", nullptr, n).arg(qs(name)));
}

void ProjectModel::removeClips(const QList<quint64> &ids)
{
    if (!m_open)
        return;
    const std::set<quint64> wanted = idSet(ids);
    ProjectEdit edit;
    for (std::size_t i = 0; i < m_project.clips.size(); ++i) {
        if (wanted.contains(m_project.clips[i].id))
            edit.removed.emplace_back(i, m_project.clips[i]);
    }
    const int n = int(edit.removed.size());
    push(std::move(edit), tr("Remove %n clip(s)", nullptr, n));
}

bool ProjectModel::trim(quint64 id, double start, double end)
{
    const core::ProjectClip *c = clip(id);
    if (!c || !(start >= 0.0) || !(end >= 0.0) || (end > 0.0 && end <= start)
        || (c->seconds > 0.0 && start >= c->seconds))
        return false;
    if (c->trimStart == start && c->trimEnd == end)
        return true;
    core::ProjectClip after = *c;
    after.trimStart = start;
    after.trimEnd = end;
    ProjectEdit edit;
    edit.modified.emplace_back(*c, std::move(after));
    push(std::move(edit), tr("Trim a clip"));
    return true;
}

void ProjectModel::addClass(const QString &labelText)
{
    const std::string name = label(labelText);
    if (!m_open || name.empty() || hasClass(m_project, name))
        return;
    ProjectEdit edit;
    edit.classesChange = true;
    edit.classesBefore = m_project.classes;
    edit.classesAfter = m_project.classes;
    edit.classesAfter.push_back(name);
    push(std::move(edit), tr("Add class %1").arg(qs(name)));
}

void ProjectModel::renameClass(const QString &fromText, const QString &toText)
{
    const std::string from = label(fromText);
    const std::string to = label(toText);
    if (!m_open || to.empty() || from == to || !hasClass(m_project, from))
        return;
    ProjectEdit edit;
    edit.classesChange = true;
    edit.classesBefore = m_project.classes;
    if (hasClass(m_project, to)) { // merge into the existing class
        for (const std::string &c : m_project.classes) {
            if (c != from)
                edit.classesAfter.push_back(c);
        }
    } else {
        edit.classesAfter = m_project.classes;
        std::replace(edit.classesAfter.begin(), edit.classesAfter.end(), from, to);
    }
    for (const core::ProjectClip &c : m_project.clips) {
        if (c.label == from) {
            core::ProjectClip after = c;
            after.label = to;
            edit.modified.emplace_back(c, std::move(after));
        }
    }
    push(std::move(edit), tr("Rename class %1 to %2").arg(qs(from), qs(to)));
}

void ProjectModel::removeClass(const QString &labelText)
{
    const std::string name = label(labelText);
    if (!m_open || !hasClass(m_project, name))
        return;
    ProjectEdit edit;
    edit.classesChange = true;
    edit.classesBefore = m_project.classes;
    for (const std::string &c : m_project.classes) {
        if (c != name)
            edit.classesAfter.push_back(c);
    }
    for (std::size_t i = 0; i < m_project.clips.size(); ++i) {
        if (m_project.clips[i].label == name)
            edit.removed.emplace_back(i, m_project.clips[i]);
    }
    push(std::move(edit), tr("Remove class %1").arg(qs(name)));
}

void ProjectModel::setPeft(const core::PeftConfig &peft, const QString &budget)
{
    if (!m_open)
        return;
    m_project.peft = peft;
    m_project.budget = budget.trimmed().toStdString();
    noteChange();
}

void ProjectModel::setTraining(const core::TrainOptions &options)
{
    if (!m_open)
        return;
    m_project.training = options;
    noteChange();
}

void ProjectModel::setBackbone(const QString &path)
{
    if (!m_open)
        return;
    m_project.backbone = path.isEmpty()
        ? fs::path()
        : core::storedPath(m_project, fs::absolute(path.toStdString()).lexically_normal());
    noteChange();
}

void ProjectModel::addRun(const QString &runDir)
{
    if (!m_open || runDir.isEmpty())
        return;
    const fs::path run =
        core::storedPath(m_project, fs::absolute(runDir.toStdString()).lexically_normal());
    if (std::find(m_project.runs.begin(), m_project.runs.end(), run) != m_project.runs.end())
        return;
    m_project.runs.push_back(run);
    noteChange();
}

const core::ProjectClip *ProjectModel::clip(quint64 id) const
{
    if (!m_open)
        return nullptr;
    if (!m_indexValid) {
        m_index.clear();
        for (std::size_t i = 0; i < m_project.clips.size(); ++i)
            m_index.emplace(m_project.clips[i].id, i);
        m_indexValid = true;
    }
    const auto it = m_index.find(id);
    return it == m_index.end() ? nullptr : &m_project.clips[it->second];
}

} // namespace astpeft::ui
