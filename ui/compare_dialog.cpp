// SPDX-License-Identifier: MIT
#include "compare_dialog.h"

#include "format.h"
#include "peft/peft_config.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLineEdit>

namespace astpeft::ui {

CompareDialog::CompareDialog(const QString &budget, QWidget *parent)
    : QDialog(parent)
    , m_budget(new QLineEdit(budget.isEmpty() ? QStringLiteral("1%") : budget))
{
    setWindowTitle(tr("Compare methods"));
    auto *form = new QFormLayout(this);
    for (core::PeftMethod m : core::allMethods()) {
        auto *box = new QCheckBox(qs(core::methodName(m)));
        box->setToolTip(qs(core::methodSummary(m)));
        box->setChecked(m == core::PeftMethod::Lora || m == core::PeftMethod::Adapter
            || m == core::PeftMethod::Linear);
        m_boxes << box;
        form->addRow(box);
    }
    m_budget->setToolTip(tr("Trainable parameters per method: 250k, 1.5M or 0.3%"));
    form->addRow(tr("Budget"), m_budget);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
}

QStringList CompareDialog::methods() const
{
    QStringList methods;
    for (const QCheckBox *box : m_boxes) {
        if (box->isChecked())
            methods << box->text();
    }
    return methods;
}

QString CompareDialog::budget() const
{
    return m_budget->text();
}

} // namespace astpeft::ui
