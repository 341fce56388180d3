// SPDX-License-Identifier: MIT
#include "clip_table_model.h"

#include "format.h"
#include "project_model.h"

#include <QFileInfo>

namespace astpeft::ui {

ClipTableModel::ClipTableModel(const ProjectModel *project, QObject *parent)
    : QAbstractTableModel(parent)
    , m_project(project)
{
    refresh();
}

void ClipTableModel::setClassFilter(const QString &label)
{
    m_filter = label;
    refresh();
}

void ClipTableModel::refresh()
{
    beginResetModel();
    m_ids.clear();
    if (m_project->isOpen()) {
        const std::string filter = m_filter.toStdString();
        for (const core::ProjectClip &clip : m_project->project().clips) {
            if (filter.empty() || clip.label == filter)
                m_ids.push_back(clip.id);
        }
    }
    endResetModel();
}

int ClipTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_ids.size());
}

int ClipTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ClipTableModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= int(m_ids.size()))
        return {};
    const core::ProjectClip *clip = m_project->clip(m_ids[index.row()]);
    if (!clip)
        return {};
    if (role == IdRole)
        return QVariant::fromValue(clip->id);
    if (role == Qt::TextAlignmentRole && index.column() >= Duration && index.column() <= SampleRate)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole && index.column() == File)
        return QString::fromStdString(core::clipPath(m_project->project(), *clip).string());
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case File:
        return QFileInfo(QString::fromStdString(clip->file.string())).fileName();
    case Class:
        return QString::fromStdString(clip->label);
    case Duration:
        return formatClipDuration(clip->seconds);
    case SampleRate:
        return clip->sampleRate > 0 ? tr("%1 Hz").arg(clip->sampleRate) : QString();
    case Split:
        return clip->split == core::Split::Unassigned
            ? (clip->fold > 0 ? tr("fold %1").arg(clip->fold) : tr("auto"))
            : QString::fromStdString(core::enumName(clip->split));
    case Trim:
        if (clip->trimStart <= 0 && clip->trimEnd <= 0)
            return QString();
        return tr("%1-%2 s")
            .arg(clip->trimStart, 0, 'f', 2)
            .arg(clip->trimEnd > 0 ? clip->trimEnd : clip->seconds, 0, 'f', 2);
    default:
        return {};
    }
}

QVariant ClipTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case File:
        return tr("File");
    case Class:
        return tr("Class");
    case Duration:
        return tr("Duration");
    case SampleRate:
        return tr("Rate");
    case Split:
        return tr("Split");
    case Trim:
        return tr("Trim");
    default:
        return {};
    }
}

} // namespace astpeft::ui
