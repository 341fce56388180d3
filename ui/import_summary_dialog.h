// SPDX-License-Identifier: MIT
// What an import found, before it joins the project: the layout, classes with clip counts,
// durations and splits, the sample rates, and every skipped file with its reason.
#pragma once

#include "data/dataset.h"

#include <QDialog>

class QLabel;
class QTableWidget;

namespace astpeft::ui {

class ImportSummaryDialog : public QDialog
{
    Q_OBJECT

public:
    ImportSummaryDialog(
        const core::Dataset &dataset, const QString &description, QWidget *parent = nullptr);

    // For tests and screen readers: one "label: N clips, D s" line per class, and one
    // "file: reason" line per skipped file.
    QStringList classLines() const;
    QStringList skippedLines() const;
    QString headline() const;

private:
    QLabel *m_headline = nullptr;
    QTableWidget *m_classes = nullptr;
    QTableWidget *m_skipped = nullptr;
};

} // namespace astpeft::ui
