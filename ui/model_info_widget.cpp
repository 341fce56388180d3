// SPDX-License-Identifier: MIT
#include "model_info_widget.h"

#include <QFormLayout>
#include <QLabel>
#include <QListWidget>
#include <QLocale>

namespace astpeft::ui {

ModelInfoWidget::ModelInfoWidget(QWidget *parent)
    : QWidget(parent)
{
    auto *layout = new QFormLayout(this);
    m_message = new QLabel(tr("Open a Hugging Face AST folder (config.json + model.safetensors)."));
    m_message->setWordWrap(true);
    m_message->setAccessibleName(tr("Status"));
    layout->addRow(m_message);
    addRow("path", tr("Folder"));
    addRow("architecture", tr("Architecture"));
    addRow("input", tr("Input"));
    addRow("parameters", tr("Parameters"));
    addRow("head", tr("Head"));
    m_labels = new QListWidget;
    m_labels->setAccessibleName(tr("Labels"));
    layout->addRow(tr("Labels"), m_labels);
}

QLabel *ModelInfoWidget::addRow(const QString &name, const QString &title)
{
    auto *label = new QLabel;
    label->setObjectName(name);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setAccessibleName(title);
    static_cast<QFormLayout *>(layout())->addRow(title, label);
    m_fields.append(label);
    return label;
}

void ModelInfoWidget::showSummary(const core::ModelSummary &s)
{
    const core::AstConfig &c = s.config;
    const QLocale locale;
    m_message->clear();
    findChild<QLabel *>("path")->setText(QString::fromStdString(s.dir.string()));
    findChild<QLabel *>("architecture")
        ->setText(tr("AST, %1 layers, hidden size %2, %3 heads")
                      .arg(c.numHiddenLayers)
                      .arg(c.hiddenSize)
                      .arg(c.numAttentionHeads));
    findChild<QLabel *>("input")->setText(tr("%1 frames (%2 s) x %3 mel bins, %4 tokens")
                                              .arg(c.maxLength)
                                              .arg(c.maxLength / 100.0)
                                              .arg(c.numMelBins)
                                              .arg(c.numTokens()));
    findChild<QLabel *>("parameters")
        ->setText(tr("%1 (backbone %2, head %3)")
                      .arg(locale.toString(qlonglong(s.parameters)),
                          locale.toString(qlonglong(s.backboneParameters)),
                          locale.toString(qlonglong(s.headParameters))));
    findChild<QLabel *>("head")->setText(c.labels.empty()
            ? tr("none (a bare backbone)")
            : tr("%1 labels, %2")
                  .arg(c.labels.size())
                  .arg(c.multiLabel() ? tr("multi-label") : tr("single-label")));
    m_labels->clear();
    for (const std::string &label : c.labels)
        m_labels->addItem(QString::fromStdString(label));
}

void ModelInfoWidget::showMessage(const QString &message)
{
    for (QLabel *field : std::as_const(m_fields))
        field->clear();
    m_labels->clear();
    m_message->setText(message);
}

QString ModelInfoWidget::field(const QString &name) const
{
    if (name == "message")
        return m_message->text();
    const QLabel *label = findChild<QLabel *>(name);
    return label ? label->text() : QString();
}

QStringList ModelInfoWidget::labels() const
{
    QStringList out;
    for (int i = 0; i < m_labels->count(); ++i)
        out << m_labels->item(i)->text();
    return out;
}

} // namespace astpeft::ui
