// SPDX-License-Identifier: MIT
// "Compare methods...": which PEFT methods to train and the budget each gets. A modal dialog;
// the Runs view's button opens it.
#pragma once

#include <QDialog>
#include <QList>
#include <QStringList>

class QCheckBox;
class QLineEdit;

namespace astpeft::ui {

class CompareDialog : public QDialog
{
    Q_OBJECT

public:
    // `budget`: the Method view's budget text, shown as the default ("" shows 1%).
    CompareDialog(const QString &budget, QWidget *parent = nullptr);

    QStringList methods() const; // the checked ones, as core::methodName spells them
    QString budget() const;

private:
    QList<QCheckBox *> m_boxes;
    QLineEdit *m_budget;
};

} // namespace astpeft::ui
