// SPDX-License-Identifier: MIT
#include "scientific_spin_box.h"

#include <QCoreApplication>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>

namespace astpeft::ui {

QString scientificText(double value)
{
    if (!(value > 0.0))
        return QStringLiteral("0");
    int exponent = int(std::floor(std::log10(value)));
    double mantissa = value / std::pow(10.0, exponent);
    if (mantissa >= 9.9995) { // rounding carried into the next decade
        mantissa /= 10.0;
        ++exponent;
    }
    QString text = QString::number(mantissa, 'g', 4);
    return exponent == 0 ? text : text + QLatin1Char('e') + QString::number(exponent);
}

ScientificSpinBox::ScientificSpinBox()
{
    setDecimals(12); // QDoubleSpinBox rounds values to its decimals
    setRange(0.0, 10.0);
    // Half-typed rates ("2.5e") are not values: take the text when editing finishes.
    setKeyboardTracking(false);
}

void ScientificSpinBox::setPaperRate(double rate)
{
    m_paperRate = rate;
    // The Method view's text, translated in its context.
    setSpecialValueText(QCoreApplication::translate("astpeft::ui::MethodView", "paper: %1")
                            .arg(scientificText(rate)));
}

QString ScientificSpinBox::textFromValue(double value) const
{
    return scientificText(value);
}

double ScientificSpinBox::valueFromText(const QString &text) const
{
    if (text == specialValueText())
        return 0.0;
    return text.trimmed().toDouble();
}

QValidator::State ScientificSpinBox::validate(QString &input, int &) const
{
    const QString text = input.trimmed();
    if (text == specialValueText())
        return QValidator::Acceptable;
    if (text.isEmpty() || specialValueText().startsWith(text))
        return QValidator::Intermediate;
    static const QRegularExpression number(QStringLiteral("^[0-9]*\\.?[0-9]*([eE][-+]?[0-9]*)?$"));
    if (!number.match(text).hasMatch())
        return QValidator::Invalid;
    bool ok = false;
    const double v = text.toDouble(&ok);
    return ok && v >= minimum() && v <= maximum() ? QValidator::Acceptable
                                                  : QValidator::Intermediate;
}

void ScientificSpinBox::stepBy(int steps)
{
    const double start = value() > 0.0 ? value() : m_paperRate;
    setValue(std::clamp(start * std::pow(2.0, steps), 1e-8, maximum()));
}

} // namespace astpeft::ui
