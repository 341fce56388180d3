// SPDX-License-Identifier: MIT
#include "method_view.h"

#include "error.h"
#include "method_fields.h"
#include "runtime/runtime.h"
#include "scientific_spin_box.h"
#include "train/memory_estimate.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace astpeft::ui {

namespace {

constexpr int kSliderSteps = 1000;
constexpr double kBudgetMin = 1000.0; // the slider's left end, in parameters

// "250k", "1.5M", "900": a count as a budget text (three significant digits).
QString compactCount(double count)
{
    const auto digits = [](double v) {
        const int decimals = v >= 100 ? 0 : v >= 10 ? 1 : 2;
        QString text = QString::number(v, 'f', decimals);
        if (text.contains(QLatin1Char('.'))) {
            while (text.endsWith(QLatin1Char('0')))
                text.chop(1);
            if (text.endsWith(QLatin1Char('.')))
                text.chop(1);
        }
        return text;
    };
    if (count >= 999.5e3)
        return digits(count / 1e6) + QLatin1Char('M');
    if (count >= 999.5)
        return digits(count / 1e3) + QLatin1Char('k');
    return QString::number(std::llround(count));
}

QString count(std::int64_t n)
{
    return QLocale().toString(qlonglong(n));
}

// Short descriptions of a method's paper setting, for the button's tooltip.
QString paperDescription(core::PeftMethod method, core::AdapterBlock block)
{
    const core::PeftConfig p = core::paperSetting(method, block);
    QString knobs;
    switch (method) {
    case core::PeftMethod::Lora:
        knobs =
            MethodView::tr("rank %1, alpha %2, targets q and v").arg(p.lora.rank).arg(p.lora.alpha);
        break;
    case core::PeftMethod::Adapter:
        knobs = block == core::AdapterBlock::Bottleneck
            ? MethodView::tr("bottleneck block, r = %1, Pfeiffer, parallel")
                  .arg(p.adapter.bottleneck)
            : MethodView::tr("conformer block, r = %1, kernel %2, Pfeiffer, parallel")
                  .arg(p.adapter.bottleneck)
                  .arg(p.adapter.kernel);
        break;
    case core::PeftMethod::PromptShallow:
    case core::PeftMethod::PromptDeep:
        knobs = MethodView::tr("%1 prompts").arg(p.prompts);
        break;
    case core::PeftMethod::Prefix:
        knobs = MethodView::tr("%1 prefix tokens").arg(p.prefixTokens);
        break;
    default:
        knobs = MethodView::tr("no knobs");
        break;
    }
    return MethodView::tr("The paper's setting (Cappellazzo et al., Table 1): %1; learning rate "
                          "%2. Clears the budget.")
        .arg(knobs, scientificText(core::paperLearningRate(method)));
}

void describe(QWidget *widget, const QString &objectName, const QString &accessibleName,
    const QString &tooltip)
{
    widget->setObjectName(objectName);
    widget->setAccessibleName(accessibleName);
    widget->setToolTip(tooltip);
}

void setComboData(QComboBox *combo, const QVariant &data)
{
    const int index = combo->findData(data);
    if (index >= 0)
        combo->setCurrentIndex(index);
}

QStandardItem *comboItem(QComboBox *combo, int index)
{
    auto *model = qobject_cast<QStandardItemModel *>(combo->model());
    return model ? model->item(index) : nullptr;
}

} // namespace

MethodView::MethodView(QWidget *parent)
    : QWidget(parent)
{
    auto *settings = new QWidget;
    auto *column = new QVBoxLayout(settings);
    column->addWidget(buildMethodGroup());
    column->addWidget(buildBudgetGroup());
    column->addWidget(buildTrainingGroup());
    column->addStretch(1);
    auto *scroll = new QScrollArea;
    scroll->setWidget(settings);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);

    auto *layout = new QHBoxLayout(this);
    layout->addWidget(scroll, 3);
    auto *right = new QVBoxLayout;
    right->addWidget(buildBreakdownGroup());
    right->addStretch(1);
    layout->addLayout(right, 2);

    m_backbone->setText(tr("No backbone opened yet: counts for AST-base at 1024 frames."));
    ++m_quiet;
    showKnobs();
    updateVisibility();
    --m_quiet;
    recompute();
}

QWidget *MethodView::buildMethodGroup()
{
    auto *group = new QGroupBox(tr("Method"));
    auto *form = new QFormLayout(group);

    m_method = new QComboBox;
    for (core::PeftMethod m : core::allMethods()) {
        m_method->addItem(QString::fromStdString(core::methodName(m)), int(m));
        m_method->setItemData(
            m_method->count() - 1, QString::fromStdString(core::methodSummary(m)), Qt::ToolTipRole);
    }
    describe(m_method, "method", tr("PEFT method"),
        tr("What is trained besides the new head; the backbone stays frozen otherwise."));
    form->addRow(tr("Method"), m_method);
    m_summary = new QLabel;
    m_summary->setWordWrap(true);
    m_summary->setObjectName("summary");
    m_summary->setAccessibleName(tr("Method summary"));
    form->addRow(m_summary);

    // The knobs from the tables (method_fields.cpp); the LoRA targets are a row of check boxes
    // that must keep one checked, so they are built here.
    m_knobs = form;
    m_knobForm.addRows(form, loraKnobFields());
    form->addRow(tr("Targets"), buildTargets());
    m_knobForm.addRows(form, adapterKnobFields());
    m_knobForm.addRows(form, tokenKnobFields());
    m_rank = m_knobForm.widget<QSpinBox>("rank");
    m_block = m_knobForm.widget<QComboBox>("block");
    m_bottleneck = m_knobForm.widget<QSpinBox>("bottleneck");
    m_prompts = m_knobForm.widget<QSpinBox>("prompts");
    m_prefixTokens = m_knobForm.widget<QSpinBox>("prefixTokens");

    m_paper = new QPushButton(tr("Paper setting"));
    describe(m_paper, "paperSetting", tr("Paper setting"), QString());
    form->addRow(QString(), m_paper);

    connect(m_method, &QComboBox::currentIndexChanged, this, &MethodView::onMethodChanged);
    // The adapter block shows or hides the kernel.
    m_knobForm.connectEdits(this, [this] {
        updateVisibility();
        onEdited();
    });
    connect(m_paper, &QPushButton::clicked, this, &MethodView::applyPaperSetting);
    return group;
}

QWidget *MethodView::buildTargets()
{
    m_targets = new QWidget;
    auto *targets = new QHBoxLayout(m_targets);
    targets->setContentsMargins(0, 0, 0, 0);
    const QString names[] = { tr("query"), tr("key"), tr("value"), tr("attention output") };
    int i = 0;
    for (char t : { 'q', 'k', 'v', 'o' }) {
        auto *box = new QCheckBox(QString(QLatin1Char(t)));
        describe(box, QStringLiteral("target_%1").arg(QLatin1Char(t)),
            tr("LoRA on the %1 projection").arg(names[i]),
            tr("Adapt the %1 projection of every layer (the paper: q and v).").arg(names[i]));
        ++i;
        targets->addWidget(box);
        m_target.insert(t, box);
        connect(box, &QCheckBox::toggled, this, [this, box](bool on) {
            // LoRA needs at least one target: the last one cannot be unchecked.
            if (!on && std::none_of(m_target.cbegin(), m_target.cend(), [](const QCheckBox *b) {
                    return b->isChecked();
                })) {
                const QSignalBlocker block(box);
                box->setChecked(true);
                return;
            }
            onEdited();
        });
    }
    targets->addStretch(1);
    m_targets->setObjectName("targets");
    m_targets->setAccessibleName(tr("LoRA targets"));
    m_targets->setToolTip(tr("The attention projections that get a low-rank update."));
    return m_targets;
}

QWidget *MethodView::buildBudgetGroup()
{
    auto *group = new QGroupBox(tr("Budget"));
    auto *form = new QFormLayout(group);
    m_budget = new QLineEdit;
    m_budget->setPlaceholderText(tr("none (e.g. 250k, 1.5M or 0.3%)"));
    m_budget->setClearButtonEnabled(true);
    describe(m_budget, "budget", tr("Trainable-parameter budget"),
        tr("Trainable parameters without the head: a count (250000, 250k, 1.5M) or a share of "
           "the backbone (0.3%). The method's size knob is set to the largest value that "
           "fits. Empty: no budget."));
    form->addRow(tr("Parameters"), m_budget);
    m_budgetSlider = new QSlider(Qt::Horizontal);
    m_budgetSlider->setRange(0, kSliderSteps);
    describe(m_budgetSlider, "budgetSlider", tr("Budget slider"),
        tr("The budget on a logarithmic scale, from 1k parameters to the whole backbone."));
    form->addRow(QString(), m_budgetSlider);
    m_budgetError = new QLabel;
    m_budgetError->setWordWrap(true);
    m_budgetError->setObjectName("budgetMessage");
    m_budgetError->setAccessibleName(tr("Budget status"));
    m_budgetError->setTextInteractionFlags(Qt::TextSelectableByMouse);
    form->addRow(m_budgetError);

    connect(m_budget, &QLineEdit::textChanged, this, [this] {
        if (m_quiet)
            return;
        syncSliderToText();
        onEdited();
    });
    connect(m_budgetSlider, &QSlider::valueChanged, this, &MethodView::onBudgetSliderMoved);
    return group;
}

QLabel *MethodView::addField(
    QFormLayout *form, const QString &name, const QString &title, const QString &tooltip)
{
    auto *label = new QLabel;
    label->setObjectName(name);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    label->setAccessibleName(title);
    label->setToolTip(tooltip);
    form->addRow(title, label);
    m_fields.insert(name, label);
    return label;
}

QWidget *MethodView::buildBreakdownGroup()
{
    auto *group = new QGroupBox(tr("Trainable parameters"));
    auto *form = new QFormLayout(group);
    m_backbone = new QLabel;
    m_backbone->setWordWrap(true);
    m_backbone->setObjectName("backbone");
    m_backbone->setAccessibleName(tr("Backbone"));
    form->addRow(m_backbone);
    addField(form, "methodModules", tr("Method modules"),
        tr("Adapters, LoRA matrices, prompts or prefixes."));
    addField(form, "layerNorms", tr("LayerNorms"),
        tr("Per-layer LayerNorms that are unfrozen (adapters: after, Houlsby also before)."));
    addField(form, "finalLayerNorm", tr("Final LayerNorm"),
        tr("The backbone's last LayerNorm, trained by every method."));
    addField(form, "biases", tr("Biases"),
        tr("BitFit: every Linear and LayerNorm bias (the patch embedding's stays frozen)."));
    addField(form, "backboneWeights", tr("Backbone weights"),
        tr("Full fine-tuning: every other parameter of the backbone."));
    addField(
        form, "head", tr("Head"), tr("The new classification head: mean of all tokens, Linear."));
    addField(form, "trainable", tr("Total trainable"), tr("Everything above."));
    addField(form, "share", tr("Share of the backbone"),
        tr("Trainable parameters without the head over the backbone's parameters."));
    addField(form, "paperCount", tr("The paper's count"),
        tr("As the paper counts: without the head and, except for BitFit, linear probing and "
           "full fine-tuning, without the final LayerNorm."));
    addField(form, "adapterFile", tr("Adapter file"),
        tr("adapter_model.safetensors: the trained tensors in float32 plus the head."));
    addField(form, "memory", tr("Training memory (estimate)"), QString());
    return group;
}

QWidget *MethodView::buildTrainingGroup()
{
    auto *group = new QGroupBox(tr("Training"));
    auto *form = new QFormLayout(group);
    // The fields from the tables (method_fields.cpp), with the device and the precision, whose
    // entries depend on the machine and on each other, built between them.
    m_trainingForm.addRows(form, hyperParameterFields());
    addDeviceRows(form);
    m_trainingForm.addRows(form, augmentationFields());
    m_batch = m_trainingForm.widget<QSpinBox>("batchSize");
    m_learningRate = m_trainingForm.widget<ScientificSpinBox>("learningRate");
    m_maxLength = m_trainingForm.widget<QSpinBox>("maxLength");
    m_checkpoint = m_trainingForm.widget<QCheckBox>("checkpointActivations");

    // Defaults: the trainer's (the paper's recipe).
    const core::TrainOptions defaults;
    m_trainingForm.show(defaults);
    setComboData(m_precision, int(defaults.precision));
    if (core::runtimeInfo()
            .cudaAvailable) { // the trainer's "auto": the first GPU, in its precision
        setComboData(m_device, QStringLiteral("cuda:0"));
        setComboData(m_precision, int(core::defaultTrainingPrecision("cuda:0")));
    }
    onDeviceChanged();

    m_trainingForm.connectEdits(this, [this] { onEdited(); });
    connect(m_precision, &QComboBox::currentIndexChanged, this, &MethodView::onEdited);
    connect(m_device, &QComboBox::currentIndexChanged, this, [this] {
        // A device the user picks brings its default precision (bf16 on GPUs with native
        // bf16, fp32 elsewhere), as `astpeft train --precision auto`; they may change it after.
        setComboData(m_precision,
            int(core::defaultTrainingPrecision(m_device->currentData().toString().toStdString())));
        onDeviceChanged();
        onEdited();
    });
    return group;
}

void MethodView::addDeviceRows(QFormLayout *form)
{
    m_device = new QComboBox;
    const core::RuntimeInfo runtime = core::runtimeInfo();
    m_device->addItem(tr("CPU"), QStringLiteral("cpu"));
    if (runtime.cudaAvailable) {
        // One entry per visible GPU (CUDA_VISIBLE_DEVICES applies), with its name and memory.
        for (const core::GpuInfo &g : runtime.gpus) {
            const QString device = QString::fromStdString(g.device);
            m_device->addItem(tr("%1: %2, %3 GiB")
                                  .arg(device, QString::fromStdString(g.name))
                                  .arg(double(g.memoryBytes) / double(1 << 30), 0, 'f', 1),
                device);
            m_device->setItemData(m_device->count() - 1,
                g.bf16 ? tr("Compute capability %1.%2: trains in bf16 by default.")
                             .arg(g.major)
                             .arg(g.minor)
                       : tr("Compute capability %1.%2: no native bf16; trains in fp32 by "
                            "default.")
                             .arg(g.major)
                             .arg(g.minor),
                Qt::ToolTipRole);
        }
    } else {
        m_device->addItem(tr("CUDA (unavailable)"), QStringLiteral("cuda"));
        // RuntimeInfo does not tell a CPU-only libtorch from a CUDA build on a machine without
        // a GPU, so the reason names both.
        const QString reason = tr("No CUDA: this libtorch build has no CUDA, or no CUDA device "
                                  "was found.");
        if (QStandardItem *item = comboItem(m_device, 1)) {
            item->setEnabled(false);
            item->setToolTip(reason);
        }
    }
    describe(m_device, "device", tr("Device"),
        runtime.cudaAvailable ? tr("Where training runs.")
                              : tr("Where training runs. CUDA is unavailable: this libtorch "
                                   "build has no CUDA, or no CUDA device was found."));
    form->addRow(tr("Device"), m_device);

    m_precision = new QComboBox;
    m_precision->addItem(tr("fp32"), int(core::Precision::F32));
    m_precision->addItem(tr("bf16 (autocast)"), int(core::Precision::BF16));
    m_precision->addItem(tr("fp16 (autocast, CUDA only)"), int(core::Precision::F16));
    describe(m_precision, "precision", tr("Precision"),
        tr("fp32; or autocast of the forward pass to bf16 (fast on GPUs and CPUs with "
           "AVX512-BF16 or AMX) or fp16 (CUDA only, with dynamic loss scaling)."));
    form->addRow(tr("Precision"), m_precision);
}

void MethodView::setBackbone(const core::AstConfig &config, const QString &description)
{
    m_config = config;
    ++m_quiet;
    m_rank->setMaximum(std::max(1, config.hiddenSize));
    m_bottleneck->setMaximum(std::max(1, config.hiddenSize));
    m_backbone->setText(
        tr("%1\n%2 backbone parameters, %3 layers, hidden size %4, %5 tokens at %6 frames")
            .arg(description, count(core::backboneParameterCount(config)))
            .arg(config.numHiddenLayers)
            .arg(config.hiddenSize)
            .arg(config.numTokens())
            .arg(config.maxLength));
    showKnobs();
    syncSliderToText();
    --m_quiet;
    recompute();
}

void MethodView::setNumLabels(int labels)
{
    m_labels = std::max(0, labels);
    recompute();
}

void MethodView::setPeft(const core::PeftConfig &peft)
{
    m_peft = peft;
    ++m_quiet;
    showKnobs();
    updateVisibility();
    --m_quiet;
    recompute();
}

QString MethodView::budgetText() const
{
    return m_budget->text().trimmed();
}

void MethodView::setBudgetText(const QString &budget)
{
    ++m_quiet;
    m_budget->setText(budget.trimmed());
    syncSliderToText();
    --m_quiet;
    recompute();
}

void MethodView::applyTo(core::TrainOptions &o) const
{
    o.peft = m_peft;
    o.budget = budgetText().toStdString();
    m_trainingForm.read(o);
    o.precision = core::Precision(m_precision->currentData().toInt());
    o.device = m_device->currentData().toString().toStdString();
}

void MethodView::setFrom(const core::TrainOptions &o)
{
    ++m_quiet;
    m_peft = o.peft;
    m_budget->setText(QString::fromStdString(o.budget).trimmed());
    syncSliderToText();
    m_trainingForm.show(o);
    showDevice(o);
    showKnobs();
    updateVisibility();
    --m_quiet;
    recompute();
}

void MethodView::showDevice(const core::TrainOptions &o)
{
    // "auto" resolves to CUDA when available, as the trainer does; CUDA without a device falls
    // back to the CPU entry.
    QString device = QString::fromStdString(o.device);
    if (device == QLatin1String("auto")) {
        device =
            core::runtimeInfo().cudaAvailable ? QStringLiteral("cuda:0") : QStringLiteral("cpu");
    }
    if (device == QLatin1String("cuda") && m_device->findData(device) < 0)
        device = QStringLiteral("cuda:0"); // the GPUs are listed one by one
    const int deviceIndex = m_device->findData(device);
    const QStandardItem *deviceItem = deviceIndex >= 0 ? comboItem(m_device, deviceIndex) : nullptr;
    m_device->setCurrentIndex(deviceItem && deviceItem->isEnabled() ? deviceIndex : 0);
    onDeviceChanged();
    const int precisionIndex = m_precision->findData(int(o.precision));
    const QStandardItem *precisionItem =
        precisionIndex >= 0 ? comboItem(m_precision, precisionIndex) : nullptr;
    m_precision->setCurrentIndex(precisionItem && precisionItem->isEnabled() ? precisionIndex : 0);
}

QString MethodView::field(const QString &name) const
{
    if (name == QLatin1String("summary"))
        return m_summary->text();
    if (name == QLatin1String("backbone"))
        return m_backbone->text();
    if (name == QLatin1String("budgetError"))
        return m_budgetError->property("error").toBool() ? m_budgetError->text() : QString();
    if (name == QLatin1String("budget"))
        return m_budgetError->text();
    const QLabel *label = m_fields.value(name);
    return label ? label->text() : QString();
}

void MethodView::onEdited()
{
    if (m_quiet)
        return;
    readKnobs();
    recompute();
    Q_EMIT changed();
}

void MethodView::onMethodChanged()
{
    if (m_quiet)
        return;
    updateVisibility();
    onEdited();
}

void MethodView::onBudgetSliderMoved(int position)
{
    if (m_quiet)
        return;
    const double lo = std::log10(kBudgetMin);
    const double hi = std::log10(
        std::max(kBudgetMin * 10, double(core::backboneParameterCount(effectiveConfig()))));
    const double value = std::pow(10.0, lo + (hi - lo) * position / kSliderSteps);
    ++m_quiet;
    m_budget->setText(compactCount(value));
    --m_quiet;
    onEdited();
}

void MethodView::syncSliderToText()
{
    const QSignalBlocker block(m_budgetSlider);
    const std::int64_t backbone = core::backboneParameterCount(effectiveConfig());
    std::int64_t budget = 0;
    try {
        budget = core::parseBudget(budgetText().toStdString(), backbone);
    } catch (const core::Error &) {
        return; // empty or not (yet) a budget: the slider stays where it is
    }
    const double lo = std::log10(kBudgetMin);
    const double hi = std::log10(std::max(kBudgetMin * 10, double(backbone)));
    const double at = (std::log10(std::max(1.0, double(budget))) - lo) / (hi - lo);
    m_budgetSlider->setValue(int(std::lround(std::clamp(at, 0.0, 1.0) * kSliderSteps)));
}

void MethodView::applyPaperSetting()
{
    const auto method = core::PeftMethod(m_method->currentData().toInt());
    const core::PeftConfig p = core::paperSetting(method, m_peft.adapter.block);
    ++m_quiet;
    m_peft = p;
    m_budget->clear();
    m_learningRate->setValue(0.0); // the paper's rate for the method
    showKnobs();
    updateVisibility();
    --m_quiet;
    recompute();
    Q_EMIT changed();
}

void MethodView::onDeviceChanged()
{
    const bool cuda = m_device->currentData().toString().startsWith(QLatin1String("cuda"));
    const int fp16 = m_precision->findData(int(core::Precision::F16));
    if (QStandardItem *item = comboItem(m_precision, fp16)) {
        item->setEnabled(cuda);
        item->setToolTip(cuda ? tr("Autocast to fp16 with dynamic loss scaling.")
                              : tr("fp16 needs a CUDA device (the CPU has no fast fp16 "
                                   "arithmetic); use bf16 there."));
    }
    if (!cuda && m_precision->currentIndex() == fp16) {
        const QSignalBlocker block(m_precision);
        setComboData(m_precision, int(core::Precision::F32));
    }
}

void MethodView::readKnobs()
{
    m_peft.method = core::PeftMethod(m_method->currentData().toInt());
    m_knobForm.read(m_peft);
    m_peft.lora.targets.clear();
    for (char t : { 'q', 'k', 'v', 'o' }) {
        if (m_target.value(t)->isChecked())
            m_peft.lora.targets.push_back(t);
    }
}

void MethodView::showKnobs()
{
    {
        const QSignalBlocker block(m_method);
        setComboData(m_method, int(m_peft.method));
    }
    m_knobForm.show(m_peft);
    for (char t : { 'q', 'k', 'v', 'o' }) {
        QCheckBox *box = m_target.value(t);
        const QSignalBlocker block(box);
        box->setChecked(std::find(m_peft.lora.targets.begin(), m_peft.lora.targets.end(), t)
            != m_peft.lora.targets.end());
    }
}

void MethodView::updateVisibility()
{
    const auto method = core::PeftMethod(m_method->currentData().toInt());
    const bool lora = method == core::PeftMethod::Lora;
    const bool adapter = method == core::PeftMethod::Adapter;
    const bool conformer =
        core::AdapterBlock(m_block->currentData().toInt()) == core::AdapterBlock::Conformer;
    const bool prompts =
        method == core::PeftMethod::PromptShallow || method == core::PeftMethod::PromptDeep;
    const std::pair<const char *, bool> knobs[] = { { "rank", lora }, { "alpha", lora },
        { "block", adapter }, { "placement", adapter }, { "mode", adapter },
        { "bottleneck", adapter }, { "kernel", adapter && conformer }, { "prompts", prompts },
        { "prefixTokens", method == core::PeftMethod::Prefix } };
    for (const auto &[name, shown] : knobs)
        m_knobs->setRowVisible(m_knobForm.widget(name), shown);
    m_knobs->setRowVisible(m_targets, lora);
    m_summary->setText(QString::fromStdString(core::methodSummary(method)));
    m_paper->setToolTip(paperDescription(method,
        adapter ? core::AdapterBlock(m_block->currentData().toInt()) : m_peft.adapter.block));
    m_learningRate->setPaperRate(core::paperLearningRate(method));
}

core::AstConfig MethodView::effectiveConfig() const
{
    core::AstConfig c = m_config;
    if (m_maxLength && m_maxLength->value() > 0)
        c.maxLength = std::max(m_maxLength->value(), c.patchSize);
    return c;
}

void MethodView::recompute()
{
    const core::AstConfig config = effectiveConfig();
    const QString budget = budgetText();
    bool solved = false;
    QString message;
    if (!budget.isEmpty()) {
        try {
            const std::int64_t n =
                core::parseBudget(budget.toStdString(), core::backboneParameterCount(config));
            m_peft = core::solveBudget(config, m_peft, n, m_labels);
            solved = true;
            message = tr("Budget %1 parameters without the head; this setting uses %2.")
                          .arg(count(n),
                              count(core::countParameters(config, m_peft, m_labels).withoutHead()));
        } catch (const core::Error &e) {
            // Over budget (core names the minimum) or not a budget: the method keeps its
            // knobs, so peft() stays a valid configuration.
            message = QString::fromStdString(e.reason());
        }
    }
    m_budgetError->setText(message);
    m_budgetError->setProperty("error", !budget.isEmpty() && !solved);
    m_budgetError->setStyleSheet(
        !budget.isEmpty() && !solved ? QStringLiteral("color: #c62828;") : QString());
    {
        ++m_quiet;
        showKnobs();
        const QString byBudget = tr("Set by the budget; clear the budget to edit it.");
        for (QSpinBox *knob : { m_rank, m_bottleneck, m_prompts, m_prefixTokens }) {
            knob->setEnabled(!solved);
            knob->setStatusTip(solved ? byBudget : QString());
        }
        --m_quiet;
    }

    m_breakdown = core::countParameters(config, m_peft, m_labels);
    const core::ParameterBreakdown &b = m_breakdown;
    const QLocale locale;
    m_fields.value("methodModules")->setText(count(b.methodModules));
    m_fields.value("layerNorms")->setText(count(b.layerNorms));
    m_fields.value("finalLayerNorm")->setText(count(b.finalLayerNorm));
    m_fields.value("biases")->setText(count(b.biases));
    m_fields.value("backboneWeights")->setText(count(b.backboneWeights));
    m_fields.value("head")->setText(count(b.head));
    m_fields.value("trainable")->setText(count(b.total()));
    m_fields.value("share")->setText(locale.toString(100.0 * b.shareOfBackbone(), 'f', 3) + " %");
    m_fields.value("paperCount")->setText(count(b.paperCount()));
    m_fields.value("adapterFile")->setText(locale.formattedDataSize(b.adapterFileBytes()));

    const auto precision = core::Precision(m_precision->currentData().toInt());
    const core::MemoryEstimate memory = core::estimateTrainingMemory(
        config, m_peft, m_labels, m_batch->value(), m_checkpoint->isChecked(), precision);
    QLabel *memoryLabel = m_fields.value("memory");
    memoryLabel->setText(locale.formattedDataSize(memory.total()));
    memoryLabel->setToolTip(
        tr("An estimate of one training step's peak at batch %1, %2 tokens%3: weights %4, "
           "saved activations %5, AdamW moments %6, gradients %7 (freed activations make room "
           "for them, so the larger of the two counts), libraries and allocator %8. Calibrated "
           "against the CPU peaks measured for AST-base (bench/README.md).")
            .arg(m_batch->value())
            .arg(config.numTokens())
            .arg(m_checkpoint->isChecked() ? tr(", activation checkpointing") : QString())
            .arg(locale.formattedDataSize(memory.weightsBytes),
                locale.formattedDataSize(memory.activationBytes),
                locale.formattedDataSize(memory.optimizerBytes),
                locale.formattedDataSize(memory.gradientBytes),
                locale.formattedDataSize(memory.runtimeBytes)));
}

} // namespace astpeft::ui
