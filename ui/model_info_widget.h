// SPDX-License-Identifier: MIT
// Shows what a loaded backbone is: architecture, input, parameter counts and labels.
#pragma once

#include "inference/classifier.h"

#include <QWidget>

class QLabel;
class QListWidget;

namespace astpeft::ui {

class ModelInfoWidget : public QWidget
{
    Q_OBJECT

public:
    explicit ModelInfoWidget(QWidget *parent = nullptr);

    void showSummary(const core::ModelSummary &summary);
    void showMessage(const QString &message); // clears the fields, shows the message

    // For tests and accessibility tools: the text of a field by its name
    // ("path", "architecture", "input", "parameters", "head").
    QString field(const QString &name) const;
    QStringList labels() const;

private:
    QLabel *addRow(const QString &name, const QString &title);

    QLabel *m_message = nullptr;
    QList<QLabel *> m_fields; // owned by the layout
    QListWidget *m_labels = nullptr;
};

} // namespace astpeft::ui
