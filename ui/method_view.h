// SPDX-License-Identifier: MIT
// The studio's Method view: pick a PEFT method and its knobs (or a trainable-parameter budget
// that sizes them), see the exact trainable-parameter breakdown core computes and an estimate of
// the training memory, and set the hyper-parameters and the device of a training run. Every
// figure is cheap arithmetic in core, recomputed on the GUI thread at each edit.
#pragma once

#include "inference/classifier.h"
#include "peft/peft_config.h"
#include "setting_form.h"
#include "train/trainer.h"

#include <QHash>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPushButton;
class QSlider;
class QSpinBox;

namespace astpeft::ui {

class ScientificSpinBox;

class MethodView : public QWidget
{
    Q_OBJECT

public:
    explicit MethodView(QWidget *parent = nullptr);

    // The backbone the method is counted on (ModelSummary::config); its max_length sets the
    // tokens unless the "max length" field is set. `description` is shown above the breakdown.
    void setBackbone(const core::AstConfig &config, const QString &description);
    void setNumLabels(int labels); // the project's classes (the head's outputs)

    // The method and its knobs; with a budget, the size knob as solved for it.
    core::PeftConfig peft() const { return m_peft; }
    void setPeft(const core::PeftConfig &peft);
    // The budget as typed ("250k", "1.5M", "0.3%"); "" = no budget.
    QString budgetText() const;
    void setBudgetText(const QString &budget);
    core::ParameterBreakdown breakdown() const { return m_breakdown; }

    // Method, budget, hyper-parameters, device, precision, augmentation and checkpointing;
    // every other field of `options` (paths, splits, ...) is left as it is.
    void applyTo(core::TrainOptions &options) const;
    void setFrom(const core::TrainOptions &options);

    // A breakdown or status text by name, for tests and screen readers: "summary",
    // "methodModules", "layerNorms", "finalLayerNorm", "biases", "backboneWeights", "head",
    // "trainable", "share", "paperCount", "adapterFile", "memory", "budgetError", "backbone".
    QString field(const QString &name) const;

Q_SIGNALS:
    // The user changed a setting (the project autosaves it). The setters above and
    // setBackbone/setNumLabels do not emit it.
    void changed();

private:
    QWidget *buildMethodGroup();
    QWidget *buildTargets();
    QWidget *buildBudgetGroup();
    QWidget *buildBreakdownGroup();
    QWidget *buildTrainingGroup();
    void addDeviceRows(QFormLayout *form);
    QLabel *addField(
        QFormLayout *form, const QString &name, const QString &title, const QString &tooltip);

    void onEdited(); // a widget changed: read the widgets, solve, recount, emit changed()
    void onMethodChanged();
    void onBudgetSliderMoved(int position);
    void applyPaperSetting();
    void onDeviceChanged();
    void showDevice(const core::TrainOptions &options); // device and precision -> widgets

    void readKnobs(); // widgets -> m_peft
    void showKnobs(); // m_peft -> widgets (signals blocked)
    void updateVisibility();
    void recompute(); // budget solve, breakdown, memory, learning-rate hint
    void syncSliderToText();
    core::AstConfig effectiveConfig() const; // the backbone at the chosen max length

    core::AstConfig m_config;
    int m_labels = 0;
    core::PeftConfig m_peft;
    core::ParameterBreakdown m_breakdown;
    int m_quiet = 0; // > 0 while setters update widgets: no changed(), no re-reading

    // Widgets (owned through their layouts). The table-driven fields live in the two forms;
    // the pointers below are those the view reads or adjusts itself.
    SettingForm<core::PeftConfig> m_knobForm;
    SettingForm<core::TrainOptions> m_trainingForm;
    QComboBox *m_method = nullptr;
    QLabel *m_summary = nullptr;
    QFormLayout *m_knobs = nullptr;
    QSpinBox *m_rank = nullptr, *m_bottleneck = nullptr;
    QSpinBox *m_prompts = nullptr, *m_prefixTokens = nullptr;
    QComboBox *m_block = nullptr;
    QWidget *m_targets = nullptr;
    QHash<char, QCheckBox *> m_target;
    QPushButton *m_paper = nullptr;

    QLineEdit *m_budget = nullptr;
    QSlider *m_budgetSlider = nullptr;
    QLabel *m_budgetError = nullptr;

    QLabel *m_backbone = nullptr;
    QHash<QString, QLabel *> m_fields;

    QSpinBox *m_batch = nullptr, *m_maxLength = nullptr;
    ScientificSpinBox *m_learningRate = nullptr;
    QComboBox *m_precision = nullptr, *m_device = nullptr;
    QCheckBox *m_checkpoint = nullptr;
};

} // namespace astpeft::ui
