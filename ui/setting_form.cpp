// SPDX-License-Identifier: MIT
#include "setting_form.h"

#include "scientific_spin_box.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSpinBox>

namespace astpeft::ui {

namespace {

// The tables' texts belong to the Method view.
QString translated(const char *text)
{
    return QCoreApplication::translate("astpeft::ui::MethodView", text);
}

QWidget *createWidget(const FieldLook &look)
{
    switch (look.kind) {
    case FieldKind::Int: {
        auto *box = new QSpinBox;
        box->setRange(int(look.minimum), int(look.maximum));
        box->setSingleStep(int(look.step));
        return box;
    }
    case FieldKind::Double: {
        auto *box = new QDoubleSpinBox;
        box->setDecimals(look.decimals);
        box->setRange(look.minimum, look.maximum);
        box->setSingleStep(look.step);
        return box;
    }
    case FieldKind::Scientific:
        return new ScientificSpinBox;
    case FieldKind::Combo: {
        auto *combo = new QComboBox;
        for (const ComboChoice &choice : look.choices)
            combo->addItem(translated(choice.text), choice.value);
        return combo;
    }
    case FieldKind::Check:
        return new QCheckBox(translated(look.title));
    }
    return nullptr;
}

QWidget *createField(const FieldLook &look)
{
    QWidget *widget = createWidget(look);
    if (auto *box = qobject_cast<QAbstractSpinBox *>(widget); box && look.special)
        box->setSpecialValueText(translated(look.special));
    if (look.suffix) {
        if (auto *box = qobject_cast<QSpinBox *>(widget)) {
            box->setSuffix(translated(look.suffix));
        } else if (auto *box = qobject_cast<QDoubleSpinBox *>(widget)) {
            box->setSuffix(translated(look.suffix));
        }
    }
    widget->setObjectName(QString::fromLatin1(look.name));
    widget->setAccessibleName(translated(look.accessibleName));
    widget->setToolTip(translated(look.tooltip));
    return widget;
}

} // namespace

std::vector<QWidget *> addFieldRows(QFormLayout *form, const std::vector<const FieldLook *> &looks)
{
    std::vector<QWidget *> widgets;
    for (std::size_t i = 0; i < looks.size(); ++i) {
        const FieldLook &look = *looks[i];
        widgets.push_back(createField(look));
        if (look.kind == FieldKind::Check) {
            form->addRow(QString(), widgets.back());
            continue;
        }
        if (i + 1 == looks.size() || !looks[i + 1]->joiner) {
            form->addRow(translated(look.title), widgets.back());
            continue;
        }
        // The fields that join this one share its row, each after its joiner label.
        auto *row = new QHBoxLayout;
        row->addWidget(widgets.back(), 1);
        for (; i + 1 < looks.size() && looks[i + 1]->joiner; ++i) {
            row->addWidget(new QLabel(translated(looks[i + 1]->joiner)));
            widgets.push_back(createField(*looks[i + 1]));
            row->addWidget(widgets.back());
        }
        form->addRow(translated(look.title), row);
    }
    return widgets;
}

double fieldValue(const QWidget *widget, FieldKind kind)
{
    switch (kind) {
    case FieldKind::Int:
        return static_cast<const QSpinBox *>(widget)->value();
    case FieldKind::Double:
    case FieldKind::Scientific:
        return static_cast<const QDoubleSpinBox *>(widget)->value();
    case FieldKind::Combo:
        return static_cast<const QComboBox *>(widget)->currentData().toInt();
    case FieldKind::Check:
        return static_cast<const QCheckBox *>(widget)->isChecked() ? 1.0 : 0.0;
    }
    return 0.0;
}

void setFieldValue(QWidget *widget, FieldKind kind, double value)
{
    const QSignalBlocker block(widget);
    switch (kind) {
    case FieldKind::Int:
        static_cast<QSpinBox *>(widget)->setValue(int(std::llround(value)));
        break;
    case FieldKind::Double:
    case FieldKind::Scientific:
        static_cast<QDoubleSpinBox *>(widget)->setValue(value);
        break;
    case FieldKind::Combo: {
        auto *combo = static_cast<QComboBox *>(widget);
        const int index = combo->findData(int(std::llround(value)));
        if (index >= 0)
            combo->setCurrentIndex(index);
        break;
    }
    case FieldKind::Check:
        static_cast<QCheckBox *>(widget)->setChecked(value != 0.0);
        break;
    }
}

void connectField(
    QWidget *widget, FieldKind kind, QObject *context, const std::function<void()> &edited)
{
    switch (kind) {
    case FieldKind::Int:
        QObject::connect(static_cast<QSpinBox *>(widget), &QSpinBox::valueChanged, context, edited);
        break;
    case FieldKind::Double:
    case FieldKind::Scientific:
        QObject::connect(
            static_cast<QDoubleSpinBox *>(widget), &QDoubleSpinBox::valueChanged, context, edited);
        break;
    case FieldKind::Combo:
        QObject::connect(
            static_cast<QComboBox *>(widget), &QComboBox::currentIndexChanged, context, edited);
        break;
    case FieldKind::Check:
        QObject::connect(static_cast<QCheckBox *>(widget), &QCheckBox::toggled, context, edited);
        break;
    }
}

} // namespace astpeft::ui
