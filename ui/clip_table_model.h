// SPDX-License-Identifier: MIT
// The project's clips as a table (file, class, duration, sample rate, split, trim), optionally
// only one class's. Rows follow the project's clip order; ids map rows back to clips. Reset
// whenever the project's clips change (edits are few and user-paced; a reset of 100 k rows
// takes milliseconds since the model holds only ids).
#pragma once

#include <QAbstractTableModel>
#include <QList>

namespace astpeft::ui {

class ProjectModel;

class ClipTableModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column { File, Class, Duration, SampleRate, Split, Trim, ColumnCount };
    static constexpr int IdRole = Qt::UserRole + 1; // quint64 clip id

    explicit ClipTableModel(const ProjectModel *project, QObject *parent = nullptr);

    void setClassFilter(const QString &label); // empty: every clip
    QString classFilter() const { return m_filter; }
    quint64 idAt(int row) const { return m_ids.value(row); }
    int rowOf(quint64 id) const { return int(m_ids.indexOf(id)); }
    void refresh();

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    const ProjectModel *m_project; // owned by the main window, outlives this model
    QString m_filter;
    QList<quint64> m_ids;
};

} // namespace astpeft::ui
