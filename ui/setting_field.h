// SPDX-License-Identifier: MIT
// One setting of an options struct, described once: how its widget looks (kind, range, texts)
// and how its value is read from and written to the struct. SettingForm builds the widgets from
// a table of them and copies the values both ways.
#pragma once

#include <cmath>
#include <functional>
#include <type_traits>
#include <vector>

namespace astpeft::ui {

enum class FieldKind {
    Int, // QSpinBox
    Double, // QDoubleSpinBox
    Scientific, // ScientificSpinBox (learning rates)
    Combo, // QComboBox over ComboChoice values
    Check, // QCheckBox; its text is the title, its row has no label
};

struct ComboChoice
{
    const char *text;
    int value;
};

// How a field's widget looks. The texts are untranslated; SettingForm translates them in the
// Method view's context.
struct FieldLook
{
    FieldKind kind = FieldKind::Int;
    const char *name = ""; // objectName
    const char *title = ""; // the row's label (a check box's text)
    const char *accessibleName = "";
    const char *tooltip = "";
    double minimum = 0.0, maximum = 0.0, step = 1.0;
    int decimals = 0;
    const char *special = nullptr; // specialValueText: the text shown at the minimum
    const char *suffix = nullptr;
    // Set: the field shares the row above, after a label with this text.
    const char *joiner = nullptr;
    std::vector<ComboChoice> choices = {};
};

// Every value travels as a double: ints, enums (combo data) and bools are exact in one.
template<typename Options> struct FieldAccess
{
    std::function<double(const Options &)> read;
    std::function<void(Options &, double)> write;
};

template<typename Options> struct SettingField
{
    FieldLook look;
    FieldAccess<Options> access;

    double read(const Options &options) const { return access.read(options); }
    void write(Options &options, double value) const { access.write(options, value); }
};

namespace detail {

template<typename T> double toValue(T value)
{
    if constexpr (std::is_enum_v<T>) {
        return double(static_cast<std::underlying_type_t<T>>(value));
    } else {
        return double(value);
    }
}

template<typename T> T fromValue(double value)
{
    if constexpr (std::is_same_v<T, bool>) {
        return value != 0.0;
    } else if constexpr (std::is_floating_point_v<T>) {
        return T(value);
    } else {
        return T(std::llround(value));
    }
}

} // namespace detail

// The accessors of a member (options.*m) or of a member's member (options.*outer.*m).
template<typename Options, typename T> FieldAccess<Options> member(T Options::*m)
{
    return { [m](const Options &o) { return detail::toValue(o.*m); },
        [m](Options &o, double v) { o.*m = detail::fromValue<T>(v); } };
}

template<typename Options, typename Inner, typename T>
FieldAccess<Options> member(Inner Options::*outer, T Inner::*m)
{
    return { [outer, m](const Options &o) { return detail::toValue(o.*outer.*m); },
        [outer, m](Options &o, double v) { o.*outer.*m = detail::fromValue<T>(v); } };
}

} // namespace astpeft::ui
