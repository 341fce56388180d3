// SPDX-License-Identifier: MIT
#include "import_summary_dialog.h"

#include "format.h"

#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace astpeft::ui {

namespace {
QTableWidgetItem *item(const QString &text, bool number = false)
{
    auto *i = new QTableWidgetItem(text);
    i->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
    if (number)
        i->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return i;
}
} // namespace

ImportSummaryDialog::ImportSummaryDialog(
    const core::Dataset &dataset, const QString &description, QWidget *parent)
    : QDialog(parent)
{
    setWindowTitle(tr("Import summary"));
    const core::ImportSummary summary = core::summarize(dataset);

    QStringList rates;
    for (const auto &[rate, clips] : summary.sampleRates)
        rates << tr("%1 Hz (%2)").arg(rate).arg(clips);
    m_headline = new QLabel(tr("<b>%1</b><br>Layout: %2. %3 classes, %4 clips, %5. "
                               "Sample rates: %6. Skipped: %7.")
                                .arg(description.toHtmlEscaped(),
                                    QString::fromStdString(core::enumName(dataset.layout)))
                                .arg(summary.classes.size())
                                .arg(summary.clips)
                                .arg(formatClipDuration(summary.seconds),
                                    rates.isEmpty() ? tr("unknown") : rates.join(", "))
                                .arg(summary.skipped));
    m_headline->setWordWrap(true);
    m_headline->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_classes = new QTableWidget(int(summary.classes.size()), 6);
    m_classes->setAccessibleName(tr("Imported classes"));
    m_classes->setHorizontalHeaderLabels(
        { tr("Class"), tr("Clips"), tr("Duration"), tr("Train"), tr("Validation"), tr("Test") });
    for (int r = 0; r < int(summary.classes.size()); ++r) {
        const core::ClassSummary &c = summary.classes[std::size_t(r)];
        auto split = [&](core::Split s) {
            const auto it = c.perSplit.find(s);
            return QString::number(it == c.perSplit.end() ? 0 : it->second);
        };
        m_classes->setItem(r, 0, item(QString::fromStdString(c.label)));
        m_classes->setItem(r, 1, item(QString::number(c.clips), true));
        m_classes->setItem(r, 2, item(formatClipDuration(c.seconds), true));
        m_classes->setItem(r, 3, item(split(core::Split::Train), true));
        m_classes->setItem(r, 4, item(split(core::Split::Validation), true));
        m_classes->setItem(r, 5, item(split(core::Split::Test), true));
    }
    m_classes->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_classes->verticalHeader()->hide();
    // Split columns only when the layout assigns splits (folds, lists, split folders);
    // otherwise training draws a stratified, seeded split, which the headline says.
    const bool layoutSplits = std::any_of(dataset.clips.begin(), dataset.clips.end(),
        [](const core::Clip &c) { return c.split != core::Split::Unassigned || c.fold > 0; });
    for (int column = 3; column < 6; ++column)
        m_classes->setColumnHidden(column, !layoutSplits);
    if (!layoutSplits) {
        m_headline->setText(
            m_headline->text() + tr(" Splits: drawn at training (stratified by class, seeded)."));
    }

    m_skipped = new QTableWidget(int(dataset.skipped.size()), 2);
    m_skipped->setAccessibleName(tr("Skipped files"));
    m_skipped->setHorizontalHeaderLabels({ tr("Skipped file"), tr("Reason") });
    for (int r = 0; r < int(dataset.skipped.size()); ++r) {
        const core::SkippedFile &s = dataset.skipped[std::size_t(r)];
        m_skipped->setItem(r, 0, item(QString::fromStdString(s.file.string())));
        m_skipped->setItem(r, 1, item(QString::fromStdString(s.reason)));
    }
    m_skipped->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_skipped->setTextElideMode(Qt::ElideLeft); // keep the file names visible
    m_skipped->verticalHeader()->hide();
    m_skipped->setVisible(!dataset.skipped.empty());

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Add to project"));
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_headline);
    layout->addWidget(m_classes, 2);
    layout->addWidget(m_skipped, 1);
    layout->addWidget(buttons);
    resize(640, 480);
}

QStringList ImportSummaryDialog::classLines() const
{
    QStringList lines;
    for (int r = 0; r < m_classes->rowCount(); ++r) {
        lines << QStringLiteral("%1: %2 clips, %3")
                     .arg(m_classes->item(r, 0)->text(), m_classes->item(r, 1)->text(),
                         m_classes->item(r, 2)->text());
    }
    return lines;
}

QStringList ImportSummaryDialog::skippedLines() const
{
    QStringList lines;
    for (int r = 0; r < m_skipped->rowCount(); ++r)
        lines << m_skipped->item(r, 0)->text() + ": " + m_skipped->item(r, 1)->text();
    return lines;
}

QString ImportSummaryDialog::headline() const
{
    return m_headline->text();
}

} // namespace astpeft::ui
