// SPDX-License-Identifier: MIT
// The widgets of a table of SettingFields in a QFormLayout, and the copies between them and an
// options struct.
#pragma once

#include "setting_field.h"

#include <functional>
#include <string_view>
#include <vector>

class QFormLayout;
class QObject;
class QWidget;

namespace astpeft::ui {

// Builds the rows for `looks`, in order; returns each field's widget.
std::vector<QWidget *> addFieldRows(QFormLayout *form, const std::vector<const FieldLook *> &looks);
double fieldValue(const QWidget *widget, FieldKind kind);
void setFieldValue(QWidget *widget, FieldKind kind, double value); // signals blocked
void connectField(
    QWidget *widget, FieldKind kind, QObject *context, const std::function<void()> &edited);

template<typename Options> class SettingForm
{
public:
    using Field = SettingField<Options>;

    // A row per field (a field with a joiner joins the row above), after the form's rows.
    void addRows(QFormLayout *form, const std::vector<Field> &fields)
    {
        std::vector<const FieldLook *> looks;
        for (const Field &field : fields)
            looks.push_back(&field.look);
        const std::vector<QWidget *> widgets = addFieldRows(form, looks);
        for (std::size_t i = 0; i < fields.size(); ++i)
            m_bound.push_back({ fields[i], widgets[i] });
    }

    void read(Options &options) const // widgets -> options
    {
        for (const Bound &b : m_bound)
            b.field.write(options, fieldValue(b.widget, b.field.look.kind));
    }

    void show(const Options &options) // options -> widgets
    {
        for (const Bound &b : m_bound)
            setFieldValue(b.widget, b.field.look.kind, b.field.read(options));
    }

    // `edited` runs when the user changes any of the widgets.
    void connectEdits(QObject *context, const std::function<void()> &edited) const
    {
        for (const Bound &b : m_bound)
            connectField(b.widget, b.field.look.kind, context, edited);
    }

    template<typename W = QWidget> W *widget(const char *name) const
    {
        for (const Bound &b : m_bound) {
            if (std::string_view(b.field.look.name) == name)
                return dynamic_cast<W *>(b.widget);
        }
        return nullptr;
    }

private:
    struct Bound
    {
        Field field;
        QWidget *widget;
    };
    std::vector<Bound> m_bound;
};

} // namespace astpeft::ui
