// SPDX-License-Identifier: MIT
// A learning-rate box: scientific notation ("5e-3"), steps that double or halve, and 0 shown as
// the method's paper rate ("paper: 5e-3").
#pragma once

#include <QDoubleSpinBox>

namespace astpeft::ui {

// "5e-3", "1e-2", "2.5e-4": how the paper and the CLI write learning rates.
QString scientificText(double value);

class ScientificSpinBox : public QDoubleSpinBox
{
public:
    ScientificSpinBox();
    void setPaperRate(double rate);

    QString textFromValue(double value) const override;
    double valueFromText(const QString &text) const override;
    QValidator::State validate(QString &input, int &position) const override;
    void stepBy(int steps) override;

protected:
    StepEnabled stepEnabled() const override { return StepUpEnabled | StepDownEnabled; }

private:
    double m_paperRate = 5e-3;
};

} // namespace astpeft::ui
