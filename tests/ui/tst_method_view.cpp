// SPDX-License-Identifier: MIT
// The Method view, offscreen, on AST-base at max_length 100 (the paper's counts) with 10
// labels: the breakdown is core's, the budget solves the size knob, only the chosen method's
// knobs show, the paper setting is the paper's, errors show instead of breaking the config, the
// training options round-trip (every field of the tables in method_fields.h, set or edited) and
// edits are announced.
#include "inference/classifier.h"
#include "method_fields.h"
#include "method_view.h"
#include "peft/peft_config.h"
#include "runtime/runtime.h"
#include "train/memory_estimate.h"
#include "train/trainer.h"

#include <QAbstractButton>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QtTest>

using namespace astpeft;

namespace {

core::AstConfig baseConfig()
{
    core::AstConfig c = core::presetConfig("base");
    c.maxLength = 100;
    return c;
}

QString count(std::int64_t n)
{
    return QLocale().toString(qlonglong(n));
}

bool samePeft(const core::PeftConfig &a, const core::PeftConfig &b)
{
    return a.method == b.method && a.lora.rank == b.lora.rank && a.lora.alpha == b.lora.alpha
        && a.lora.targets == b.lora.targets && a.lora.paperScaling == b.lora.paperScaling
        && a.adapter.block == b.adapter.block && a.adapter.placement == b.adapter.placement
        && a.adapter.mode == b.adapter.mode && a.adapter.residual == b.adapter.residual
        && a.adapter.bottleneck == b.adapter.bottleneck && a.adapter.kernel == b.adapter.kernel
        && a.adapter.activation == b.adapter.activation && a.prompts == b.prompts
        && a.prefixTokens == b.prefixTokens && a.init == b.init;
}

template<typename T> T *child(const QWidget &view, const char *name)
{
    T *w = view.findChild<T *>(QString::fromLatin1(name));
    if (!w)
        qFatal("no child %s", name);
    return w;
}

void selectMethod(const ui::MethodView &view, core::PeftMethod method)
{
    auto *combo = child<QComboBox>(view, "method");
    combo->setCurrentIndex(combo->findData(int(method)));
}

// Doubles that a widget stored: equal up to rounding.
bool same(double a, double b)
{
    return a == b || std::abs(a - b) <= 1e-9 * std::max(std::abs(a), std::abs(b));
}

// A value of the field other than `current`: within its range, on its step and decimals.
double otherValue(const ui::FieldLook &look, double current)
{
    switch (look.kind) {
    case ui::FieldKind::Check:
        return current != 0.0 ? 0.0 : 1.0;
    case ui::FieldKind::Combo:
        for (const ui::ComboChoice &choice : look.choices) {
            if (choice.value != int(current))
                return choice.value;
        }
        qFatal("%s has one choice", look.name);
    default:
        break;
    }
    const double maximum = look.kind == ui::FieldKind::Scientific ? 10.0 : look.maximum;
    const double value = current + look.step <= maximum ? current + look.step : current - look.step;
    const double scale = std::pow(10.0, look.decimals);
    return look.kind == ui::FieldKind::Double ? std::round(value * scale) / scale : value;
}

// What a field's widget shows, read through its Qt class.
double shownValue(const QWidget &view, const ui::FieldLook &look)
{
    QWidget *w = child<QWidget>(view, look.name);
    if (auto *box = qobject_cast<QSpinBox *>(w))
        return box->value();
    if (auto *box = qobject_cast<QDoubleSpinBox *>(w))
        return box->value();
    if (auto *combo = qobject_cast<QComboBox *>(w))
        return combo->currentData().toInt();
    if (auto *check = qobject_cast<QCheckBox *>(w))
        return check->isChecked() ? 1.0 : 0.0;
    qFatal("%s: not a field widget", look.name);
}

// Sets a field's widget as an edit would, through its Qt class.
void editField(const QWidget &view, const ui::FieldLook &look, double value)
{
    QWidget *w = child<QWidget>(view, look.name);
    if (auto *box = qobject_cast<QSpinBox *>(w)) {
        box->setValue(int(value));
    } else if (auto *box = qobject_cast<QDoubleSpinBox *>(w)) {
        box->setValue(value);
    } else if (auto *combo = qobject_cast<QComboBox *>(w)) {
        combo->setCurrentIndex(combo->findData(int(value)));
    } else if (auto *check = qobject_cast<QCheckBox *>(w)) {
        check->setChecked(value != 0.0);
    } else {
        qFatal("%s: not a field widget", look.name);
    }
}

QByteArray mismatch(const char *name, double got, double expected)
{
    return QStringLiteral("%1: %2, expected %3").arg(name).arg(got).arg(expected).toUtf8();
}

core::TrainOptions applied(const ui::MethodView &view)
{
    core::TrainOptions options;
    view.applyTo(options);
    return options;
}

core::TrainOptions &wholeOptions(core::TrainOptions &options)
{
    return options;
}

core::PeftConfig &peftOptions(core::TrainOptions &options)
{
    return options.peft;
}

// "" when every field differs from its default in `set` and both the widget and `back` show
// the value set; else the first field that does not.
template<typename Options>
QByteArray compareFields(const QWidget &view, const std::vector<ui::SettingField<Options>> &fields,
    const Options &set, const Options &defaults, const Options &back)
{
    for (const ui::SettingField<Options> &f : fields) {
        const double value = f.read(set);
        if (same(value, f.read(defaults)))
            return QByteArray(f.look.name) + ": set to its default";
        if (!same(shownValue(view, f.look), value))
            return "shown " + mismatch(f.look.name, shownValue(view, f.look), value);
        if (!same(f.read(back), value))
            return "applied " + mismatch(f.look.name, f.read(back), value);
    }
    return {};
}

// Sets each field alone, from the view's current options, to another value through setFrom().
// "" when applyTo() gave back that value and every other field's current one each time; else the
// first field that did not.
template<typename Options>
QByteArray setEachField(ui::MethodView &view, const std::vector<ui::SettingField<Options>> &fields,
    Options &(*part)(core::TrainOptions &))
{
    core::TrainOptions base = applied(view);
    for (const ui::SettingField<Options> &f : fields) {
        core::TrainOptions o = base;
        const double value = otherValue(f.look, f.read(part(o)));
        f.write(part(o), value);
        view.setFrom(o);
        core::TrainOptions back = applied(view);
        if (!same(f.read(part(back)), value))
            return mismatch(f.look.name, f.read(part(back)), value);
        for (const ui::SettingField<Options> &g : fields) {
            if (&g != &f && !same(g.read(part(back)), g.read(part(base))))
                return QByteArray(g.look.name) + " changed with " + f.look.name;
        }
    }
    return {};
}

// Edits each field's widget in turn. "" when each edit fired changed() once and applyTo() saw
// that field's new value and no other change; else what went wrong.
template<typename Options>
QByteArray editEachField(const ui::MethodView &view,
    const std::vector<ui::SettingField<Options>> &fields, Options &(*part)(core::TrainOptions &))
{
    QSignalSpy changed(&view, &ui::MethodView::changed);
    core::TrainOptions before = applied(view);
    for (const ui::SettingField<Options> &f : fields) {
        const double value = otherValue(f.look, f.read(part(before)));
        editField(view, f.look, value);
        if (changed.count() != 1) {
            return QByteArray(f.look.name) + ": changed() fired "
                + QByteArray::number(changed.count()) + " times";
        }
        changed.clear();
        core::TrainOptions after = applied(view);
        if (!same(f.read(part(after)), value))
            return mismatch(f.look.name, f.read(part(after)), value);
        for (const ui::SettingField<Options> &g : fields) {
            if (&g != &f && !same(g.read(part(after)), g.read(part(before))))
                return QByteArray(g.look.name) + " changed with " + f.look.name;
        }
        before = after;
    }
    return {};
}

} // namespace

class TestMethodView : public QObject
{
    Q_OBJECT

private:
    void setUp(ui::MethodView &view)
    {
        view.setBackbone(baseConfig(), "AST-base (test)");
        view.setNumLabels(10);
    }

    // Every breakdown field shows core's number for the view's current configuration.
    void compareBreakdown(const ui::MethodView &view)
    {
        const core::ParameterBreakdown b = core::countParameters(baseConfig(), view.peft(), 10);
        const core::ParameterBreakdown shown = view.breakdown();
        QCOMPARE(shown.total(), b.total());
        QCOMPARE(shown.methodModules, b.methodModules);
        QCOMPARE(view.field("methodModules"), count(b.methodModules));
        QCOMPARE(view.field("layerNorms"), count(b.layerNorms));
        QCOMPARE(view.field("finalLayerNorm"), count(b.finalLayerNorm));
        QCOMPARE(view.field("biases"), count(b.biases));
        QCOMPARE(view.field("backboneWeights"), count(b.backboneWeights));
        QCOMPARE(view.field("head"), count(b.head));
        QCOMPARE(view.field("trainable"), count(b.total()));
        QCOMPARE(view.field("paperCount"), count(b.paperCount()));
        QCOMPARE(
            view.field("share"), QLocale().toString(100.0 * b.shareOfBackbone(), 'f', 3) + " %");
        QCOMPARE(view.field("adapterFile"), QLocale().formattedDataSize(b.adapterFileBytes()));
    }

private Q_SLOTS:
    void breakdownIsCoresForEveryMethod_data()
    {
        QTest::addColumn<int>("method");
        for (core::PeftMethod m : core::allMethods())
            QTest::addRow("%s", core::methodName(m).c_str()) << int(m);
    }
    void breakdownIsCoresForEveryMethod()
    {
        QFETCH(int, method);
        ui::MethodView view;
        setUp(view);
        selectMethod(view, core::PeftMethod(method));
        QCOMPARE(int(view.peft().method), method);
        QCOMPARE(view.field("summary"),
            QString::fromStdString(core::methodSummary(core::PeftMethod(method))));
        compareBreakdown(view);
        // Counts that the README's table gives for the paper settings (without the head).
        view.setPeft(core::paperSetting(core::PeftMethod(method)));
        compareBreakdown(view);
        const std::int64_t withoutHead = view.breakdown().withoutHead();
        switch (core::PeftMethod(method)) {
        case core::PeftMethod::Lora:
        case core::PeftMethod::Prefix:
            QCOMPARE(withoutHead, 222720);
            break;
        case core::PeftMethod::PromptDeep:
            QCOMPARE(withoutHead, 231936);
            break;
        case core::PeftMethod::BitFit:
            QCOMPARE(withoutHead, 102144);
            break;
        case core::PeftMethod::Adapter:
            QCOMPARE(withoutHead, 272256);
            break;
        default:
            break;
        }
        // The memory estimate is core's, for the batch size shown.
        const core::MemoryEstimate memory =
            core::estimateTrainingMemory(baseConfig(), view.peft(), 10, 8, false);
        QCOMPARE(view.field("memory"), QLocale().formattedDataSize(memory.total()));
    }

    void budgetSolvesTheRank()
    {
        ui::MethodView view;
        setUp(view);
        view.setPeft(core::paperSetting(core::PeftMethod::Lora));
        child<QSpinBox>(view, "rank")->setValue(2);
        const std::int64_t before = view.breakdown().total();
        QCOMPARE(view.peft().lora.rank, 2);

        auto *budget = child<QLineEdit>(view, "budget");
        QTest::keyClicks(budget, "0.3%");
        QCOMPARE(view.budgetText(), QString("0.3%"));
        const core::AstConfig config = baseConfig();
        const std::int64_t limit = core::parseBudget("0.3%", core::backboneParameterCount(config));
        const core::PeftConfig solved =
            core::solveBudget(config, core::paperSetting(core::PeftMethod::Lora), limit, 10);
        QVERIFY(solved.lora.rank > 2);
        QCOMPARE(view.peft().lora.rank, solved.lora.rank);
        auto *rank = child<QSpinBox>(view, "rank");
        QCOMPARE(rank->value(), solved.lora.rank); // the knob shows the solved value
        QVERIFY(!rank->isEnabled());
        QVERIFY(view.breakdown().total() != before);
        QVERIFY(view.breakdown().withoutHead() <= limit);
        // The next rank would not fit: the solution is the largest.
        core::PeftConfig bigger = view.peft();
        ++bigger.lora.rank;
        QVERIFY(core::countParameters(config, bigger, 10).withoutHead() > limit);
        compareBreakdown(view);
        QVERIFY(view.field("budgetError").isEmpty());
        QVERIFY(view.field("budget").contains(count(limit)));

        // Another method at the same budget: its knob is solved instead.
        selectMethod(view, core::PeftMethod::PromptDeep);
        QCOMPARE(view.peft().prompts, core::solveBudget(config, view.peft(), limit, 10).prompts);
        QVERIFY(view.breakdown().withoutHead() <= limit);
        compareBreakdown(view);

        // Clearing the budget gives the knob back.
        budget->clear();
        QVERIFY(child<QSpinBox>(view, "prompts")->isEnabled());
        QVERIFY(view.budgetText().isEmpty());
    }

    void budgetSliderFollowsTheText()
    {
        ui::MethodView view;
        setUp(view);
        view.setPeft(core::paperSetting(core::PeftMethod::Lora));
        auto *slider = child<QSlider>(view, "budgetSlider");
        view.setBudgetText("100k");
        const int low = slider->value();
        view.setBudgetText("1M");
        const int high = slider->value();
        QVERIFY(high > low);
        // Moving the slider writes a budget the text field and core accept, and solves it.
        QSignalSpy changed(&view, &ui::MethodView::changed);
        slider->setValue(low);
        QCOMPARE(changed.count(), 1);
        const std::int64_t budget = core::parseBudget(
            view.budgetText().toStdString(), core::backboneParameterCount(baseConfig()));
        QVERIFY2(budget >= 90000 && budget <= 110000, qPrintable(view.budgetText()));
        QVERIFY(view.breakdown().withoutHead() <= budget);
        QVERIFY(view.field("budgetError").isEmpty());
    }

    void rankUpdatesTheBreakdown()
    {
        ui::MethodView view;
        setUp(view);
        view.setPeft(core::paperSetting(core::PeftMethod::Lora));
        const QString before = view.field("trainable");
        child<QSpinBox>(view, "rank")->setValue(10);
        QCOMPARE(view.peft().lora.rank, 10);
        core::PeftConfig expected = core::paperSetting(core::PeftMethod::Lora);
        expected.lora.rank = 10;
        const core::ParameterBreakdown b = core::countParameters(baseConfig(), expected, 10);
        QCOMPARE(view.field("trainable"), count(b.total()));
        QCOMPARE(view.field("methodModules"), count(b.methodModules));
        QVERIFY(view.field("trainable") != before);
        // A third target adds its matrices.
        child<QCheckBox>(view, "target_k")->setChecked(true);
        QCOMPARE(view.peft().lora.targets, (std::vector<char> { 'q', 'k', 'v' }));
        expected.lora.targets = { 'q', 'k', 'v' };
        QCOMPARE(view.field("methodModules"),
            count(core::countParameters(baseConfig(), expected, 10).methodModules));
        // The last target cannot be removed: LoRA needs one.
        child<QCheckBox>(view, "target_q")->setChecked(false);
        child<QCheckBox>(view, "target_k")->setChecked(false);
        child<QCheckBox>(view, "target_v")->setChecked(false);
        QCOMPARE(view.peft().lora.targets, (std::vector<char> { 'v' }));
        QVERIFY(child<QCheckBox>(view, "target_v")->isChecked());
        // The batch size and checkpointing move the memory estimate.
        const QString memory = view.field("memory");
        child<QSpinBox>(view, "batchSize")->setValue(32);
        const core::MemoryEstimate at32 =
            core::estimateTrainingMemory(baseConfig(), view.peft(), 10, 32, false);
        QCOMPARE(view.field("memory"), QLocale().formattedDataSize(at32.total()));
        QVERIFY(view.field("memory") != memory);
        child<QCheckBox>(view, "checkpointActivations")->setChecked(true);
        QCOMPARE(view.field("memory"),
            QLocale().formattedDataSize(
                core::estimateTrainingMemory(baseConfig(), view.peft(), 10, 32, true).total()));
    }

    void onlyTheMethodsKnobsShow()
    {
        ui::MethodView view;
        setUp(view);
        const auto visible = [&](const char *name) {
            return child<QWidget>(view, name)->isVisibleTo(&view);
        };
        selectMethod(view, core::PeftMethod::Lora);
        QVERIFY(visible("rank") && visible("alpha") && visible("targets"));
        QVERIFY(!visible("bottleneck") && !visible("block") && !visible("prompts")
            && !visible("prefixTokens") && !visible("kernel"));

        selectMethod(view, core::PeftMethod::Adapter);
        QVERIFY(!visible("rank") && !visible("alpha") && !visible("targets"));
        QVERIFY(
            visible("block") && visible("placement") && visible("mode") && visible("bottleneck"));
        auto *block = child<QComboBox>(view, "block");
        block->setCurrentIndex(block->findData(int(core::AdapterBlock::Conformer)));
        QVERIFY(visible("kernel"));
        block->setCurrentIndex(block->findData(int(core::AdapterBlock::Bottleneck)));
        QVERIFY(!visible("kernel")); // the bottleneck block has no kernel
        QCOMPARE(view.peft().adapter.block, core::AdapterBlock::Bottleneck);

        selectMethod(view, core::PeftMethod::PromptShallow);
        QVERIFY(visible("prompts"));
        QVERIFY(!visible("block") && !visible("bottleneck") && !visible("prefixTokens"));
        selectMethod(view, core::PeftMethod::Prefix);
        QVERIFY(visible("prefixTokens") && !visible("prompts"));
        selectMethod(view, core::PeftMethod::BitFit);
        for (const char *knob : { "rank", "alpha", "targets", "block", "placement", "mode",
                 "bottleneck", "kernel", "prompts", "prefixTokens" })
            QVERIFY2(!visible(knob), knob);
        QVERIFY(visible("paperSetting"));
    }

    void paperSettingIsThePapers_data() { breakdownIsCoresForEveryMethod_data(); }
    void paperSettingIsThePapers()
    {
        QFETCH(int, method);
        const auto m = core::PeftMethod(method);
        ui::MethodView view;
        setUp(view);
        selectMethod(view, m);
        child<QSpinBox>(view, "rank")->setValue(40);
        child<QSpinBox>(view, "bottleneck")->setValue(33);
        child<QSpinBox>(view, "prompts")->setValue(7);
        child<QSpinBox>(view, "prefixTokens")->setValue(64);
        child<QDoubleSpinBox>(view, "learningRate")->setValue(1e-4);
        view.setBudgetText("1M");
        QSignalSpy changed(&view, &ui::MethodView::changed);
        child<QPushButton>(view, "paperSetting")->click();
        QCOMPARE(changed.count(), 1);
        QVERIFY(samePeft(view.peft(), core::paperSetting(m)));
        QVERIFY(view.budgetText().isEmpty());
        core::TrainOptions options;
        options.learningRate = 1.0;
        view.applyTo(options);
        QCOMPARE(options.learningRate, 0.0); // 0: the trainer uses paperLearningRate(method)
        QCOMPARE(child<QDoubleSpinBox>(view, "learningRate")->text(),
            QString("paper: %1")
                .arg(QStringList { "5e-5", "1e-3", "5e-3", "1e-2", "1e-2", "1e-2", "5e-3", "5e-3" }
                         .at(method)));
        compareBreakdown(view);
    }

    void paperSettingKeepsTheAdapterBlock()
    {
        ui::MethodView view;
        setUp(view);
        selectMethod(view, core::PeftMethod::Adapter);
        auto *block = child<QComboBox>(view, "block");
        block->setCurrentIndex(block->findData(int(core::AdapterBlock::Bottleneck)));
        child<QPushButton>(view, "paperSetting")->click();
        QVERIFY(samePeft(view.peft(),
            core::paperSetting(core::PeftMethod::Adapter, core::AdapterBlock::Bottleneck)));
        QCOMPARE(view.peft().adapter.bottleneck, 12);
        QCOMPARE(view.breakdown().withoutHead(), 250512); // README: bottleneck Pfeiffer r=12
    }

    void impossibleBudgetShowsTheError()
    {
        ui::MethodView view;
        setUp(view);
        view.setPeft(core::paperSetting(core::PeftMethod::Lora));
        child<QSpinBox>(view, "rank")->setValue(9);
        QTest::keyClicks(child<QLineEdit>(view, "budget"), "10");
        // Core's message, naming the minimum.
        QVERIFY2(view.field("budgetError").contains("smallest lora configuration (rank 1)"),
            qPrintable(view.field("budgetError")));
        QVERIFY(view.field("budgetError").contains("over the budget of 10"));
        QCOMPARE(view.peft().lora.rank, 9); // unchanged, still a valid configuration
        QVERIFY(!view.peft().lora.targets.empty());
        QVERIFY(child<QSpinBox>(view, "rank")->isEnabled());
        compareBreakdown(view);

        // A method without a knob over the budget; then text that is no budget at all.
        selectMethod(view, core::PeftMethod::Full);
        QVERIFY(view.field("budgetError").contains("over the budget"));
        compareBreakdown(view);
        view.setBudgetText("lots");
        QVERIFY(view.field("budgetError").contains("not a count"));
        compareBreakdown(view);
        // A good budget clears the error.
        selectMethod(view, core::PeftMethod::Lora);
        view.setBudgetText("250k");
        QVERIFY(view.field("budgetError").isEmpty());
        QVERIFY(view.breakdown().withoutHead() <= 250000);
    }

    void trainOptionsRoundTrip()
    {
        ui::MethodView view;
        setUp(view);
        // The defaults are the trainer's.
        core::TrainOptions defaults, shown;
        shown.learningRate = 1.0;
        view.applyTo(shown);
        QCOMPARE(shown.epochs, defaults.epochs);
        QCOMPARE(shown.batchSize, defaults.batchSize);
        QCOMPARE(shown.learningRate, 0.0);
        QCOMPARE(shown.weightDecay, defaults.weightDecay);
        QCOMPARE(shown.seed, defaults.seed);
        QCOMPARE(shown.augment.freqMasks, defaults.augment.freqMasks);
        QCOMPARE(shown.device,
            std::string(core::runtimeInfo().cudaAvailable ? "cuda:0" : "cpu")); // as "auto"

        core::TrainOptions o;
        o.peft = core::paperSetting(core::PeftMethod::Adapter, core::AdapterBlock::Bottleneck);
        o.peft.adapter.placement = core::AdapterPlacement::Houlsby;
        o.peft.adapter.mode = core::AdapterMode::Sequential;
        o.peft.adapter.bottleneck = 20;
        o.peft.adapter.residual = true; // not shown, kept
        o.peft.init = core::PeftInit::Paper; // not shown, kept
        o.epochs = 37;
        o.batchSize = 12;
        o.learningRate = 3e-4;
        o.weightDecay = 0.05;
        o.warmupSteps = 120;
        o.clipGradNorm = 1.5;
        o.accumulation = 4;
        o.patience = 6;
        o.maxLength = 500;
        o.seed = 4242;
        o.precision = core::Precision::BF16;
        o.device = "cpu";
        o.augment.freqMaskParam = 24;
        o.augment.freqMasks = 2;
        o.augment.timeMaskParam = 80;
        o.augment.timeMasks = 3;
        o.augment.mixupAlpha = 0.4;
        o.augment.mixupProbability = 0.5;
        o.augment.noiseProbability = 0.3;
        o.augment.noiseSnrMin = 3;
        o.augment.noiseSnrMax = 15;
        o.augment.shiftSeconds = 0.25;
        o.augment.gainDb = 6;
        o.checkpointActivations = true;
        o.model = "/m"; // not the view's: left alone
        QSignalSpy changed(&view, &ui::MethodView::changed);
        view.setFrom(o);
        QCOMPARE(changed.count(), 0); // loading settings is no edit

        core::TrainOptions back;
        back.model = "/other";
        view.applyTo(back);
        QVERIFY(samePeft(back.peft, o.peft));
        QCOMPARE(back.budget, std::string());
        QCOMPARE(back.epochs, o.epochs);
        QCOMPARE(back.batchSize, o.batchSize);
        QCOMPARE(back.learningRate, o.learningRate);
        QCOMPARE(back.weightDecay, o.weightDecay);
        QCOMPARE(back.warmupSteps, o.warmupSteps);
        QCOMPARE(back.clipGradNorm, o.clipGradNorm);
        QCOMPARE(back.accumulation, o.accumulation);
        QCOMPARE(back.patience, o.patience);
        QCOMPARE(back.maxLength, o.maxLength);
        QCOMPARE(back.seed, o.seed);
        QCOMPARE(back.split.seed, o.seed);
        QCOMPARE(back.precision, o.precision);
        QCOMPARE(back.device, o.device);
        QCOMPARE(back.augment.freqMaskParam, o.augment.freqMaskParam);
        QCOMPARE(back.augment.freqMasks, o.augment.freqMasks);
        QCOMPARE(back.augment.timeMaskParam, o.augment.timeMaskParam);
        QCOMPARE(back.augment.timeMasks, o.augment.timeMasks);
        QCOMPARE(back.augment.mixupAlpha, o.augment.mixupAlpha);
        QCOMPARE(back.augment.mixupProbability, o.augment.mixupProbability);
        QCOMPARE(back.augment.noiseProbability, o.augment.noiseProbability);
        QCOMPARE(back.augment.noiseSnrMin, o.augment.noiseSnrMin);
        QCOMPARE(back.augment.noiseSnrMax, o.augment.noiseSnrMax);
        QCOMPARE(back.augment.shiftSeconds, o.augment.shiftSeconds);
        QCOMPARE(back.augment.gainDb, o.augment.gainDb);
        QCOMPARE(back.checkpointActivations, o.checkpointActivations);
        QCOMPARE(back.model, std::filesystem::path("/other"));
        QCOMPARE(view.field("memory"),
            QLocale().formattedDataSize(core::estimateTrainingMemory(
                [] {
                    core::AstConfig c = baseConfig();
                    c.maxLength = 500; // the max-length field sets the tokens
                    return c;
                }(),
                o.peft, 10, 12, true, core::Precision::BF16)
                                            .total()));

        // With a budget: the text round-trips and the knob is the solved one.
        o.peft = core::paperSetting(core::PeftMethod::Lora);
        o.budget = "150k";
        o.maxLength = 0;
        view.setFrom(o);
        view.applyTo(back);
        QCOMPARE(back.budget, std::string("150k"));
        QCOMPARE(
            back.peft.lora.rank, core::solveBudget(baseConfig(), o.peft, 150000, 10).lora.rank);
        QCOMPARE(back.maxLength, 0);
    }

    // Every field of the tables, set to a value other than its default through setFrom(), all
    // together and then one at a time: the widget shows it and applyTo() gives it back.
    void everyTableFieldRoundTrips()
    {
        ui::MethodView view;
        setUp(view);
        const std::vector<ui::TrainField> fields = ui::trainFields();
        const std::vector<ui::KnobField> knobs = ui::knobFields();
        QVERIFY(fields.size() >= 22 && knobs.size() >= 9);
        const core::TrainOptions defaults;
        core::TrainOptions o;
        for (const ui::TrainField &f : fields)
            f.write(o, otherValue(f.look, f.read(defaults)));
        for (const ui::KnobField &f : knobs)
            f.write(o.peft, otherValue(f.look, f.read(defaults.peft)));
        view.setFrom(o);
        const core::TrainOptions back = applied(view);
        QByteArray error = compareFields(view, fields, o, defaults, back);
        QVERIFY2(error.isEmpty(), error.constData());
        error = compareFields(view, knobs, o.peft, defaults.peft, back.peft);
        QVERIFY2(error.isEmpty(), error.constData());
        QCOMPARE(back.split.seed, o.seed);
        // One field at a time: no field reads or writes another's member.
        error = setEachField(view, fields, wholeOptions);
        QVERIFY2(error.isEmpty(), error.constData());
        error = setEachField(view, knobs, peftOptions);
        QVERIFY2(error.isEmpty(), error.constData());
    }

    // Each field's widget, edited alone: applyTo() sees the new value and no other field
    // changes; each edit is announced once.
    void editingEachTableFieldReachesTheOptions()
    {
        ui::MethodView view;
        setUp(view);
        QByteArray error = editEachField(view, ui::trainFields(), wholeOptions);
        QVERIFY2(error.isEmpty(), error.constData());
        error = editEachField(view, ui::knobFields(), peftOptions);
        QVERIFY2(error.isEmpty(), error.constData());
    }

    void devicesAndPrecision()
    {
        ui::MethodView view;
        setUp(view);
        auto *device = child<QComboBox>(view, "device");
        auto *precision = child<QComboBox>(view, "precision");
        const auto *devices = qobject_cast<QStandardItemModel *>(device->model());
        const auto *precisions = qobject_cast<QStandardItemModel *>(precision->model());
        QVERIFY(devices && precisions);
        QCOMPARE(device->itemData(0).toString(), QString("cpu"));
        const core::RuntimeInfo runtime = core::runtimeInfo();
        // Each GPU is listed by itself ("cuda:N"); without one, a disabled "cuda" says why.
        const int cuda = device->findData(QString(runtime.cudaAvailable ? "cuda:0" : "cuda"));
        QVERIFY(cuda > 0);
        QCOMPARE(device->count(), 1 + std::max<int>(1, int(runtime.gpus.size())));
        const int fp16 = precision->findData(int(core::Precision::F16));
        if (!core::runtimeInfo().cudaAvailable) {
            QVERIFY(!devices->item(cuda)->isEnabled());
            QVERIFY(devices->item(cuda)->toolTip().contains("CUDA"));
            QVERIFY(!precisions->item(fp16)->isEnabled()); // fp16 is CUDA only
            QVERIFY(precisions->item(fp16)->toolTip().contains("CUDA"));
            // A run asking for CUDA or fp16 shows what this machine can do.
            core::TrainOptions o;
            o.device = "cuda";
            o.precision = core::Precision::F16;
            view.setFrom(o);
            core::TrainOptions back;
            view.applyTo(back);
            QCOMPARE(back.device, std::string("cpu"));
            QCOMPARE(back.precision, core::Precision::F32);
            // A device, once picked, brings its default precision: fp32 on this CPU.
            precision->setCurrentIndex(precision->findData(int(core::Precision::BF16)));
            QCOMPARE(precision->currentData().toInt(), int(core::Precision::BF16));
            device->setCurrentIndex(cuda);
            device->setCurrentIndex(0);
            QCOMPARE(precision->currentData().toInt(), int(core::defaultTrainingPrecision("cpu")));
        } else {
            device->setCurrentIndex(cuda);
            QCOMPARE(precision->currentData().toInt(),
                int(core::defaultTrainingPrecision("cuda:0"))); // bf16 on Ampere and newer
            QVERIFY(precisions->item(fp16)->isEnabled());
            QVERIFY(device->itemText(cuda).contains(QString::fromStdString(runtime.gpus[0].name)));
            precision->setCurrentIndex(fp16);
            device->setCurrentIndex(0);
            QVERIFY(!precisions->item(fp16)->isEnabled());
            QCOMPARE(precision->currentData().toInt(), int(core::Precision::F32));
        }
    }

    void changedFiresOnEdits()
    {
        ui::MethodView view;
        setUp(view);
        QSignalSpy changed(&view, &ui::MethodView::changed);
        view.setPeft(core::paperSetting(core::PeftMethod::Lora));
        view.setBudgetText("");
        QCOMPARE(changed.count(), 0); // setters are no edits

        int expected = 0;
        const auto edited = [&](const char *what) {
            ++expected;
            QVERIFY2(changed.count() == expected,
                qPrintable(QStringLiteral("%1: %2 signals").arg(what).arg(changed.count())));
        };
        child<QSpinBox>(view, "rank")->setValue(7);
        edited("rank");
        child<QDoubleSpinBox>(view, "alpha")->setValue(8);
        edited("alpha");
        child<QCheckBox>(view, "target_o")->setChecked(true);
        edited("target");
        selectMethod(view, core::PeftMethod::Adapter);
        edited("method");
        child<QComboBox>(view, "placement")->setCurrentIndex(1);
        edited("placement");
        QTest::keyClick(child<QLineEdit>(view, "budget"), Qt::Key_5);
        edited("budget");
        child<QSpinBox>(view, "epochs")->setValue(3);
        edited("epochs");
        child<QDoubleSpinBox>(view, "learningRate")->setValue(2e-3);
        edited("learning rate");
        child<QDoubleSpinBox>(view, "mixup")->setValue(0.2);
        edited("mixup");
        child<QComboBox>(view, "precision")->setCurrentIndex(1);
        edited("precision");
        child<QCheckBox>(view, "checkpointActivations")->setChecked(true);
        edited("checkpointing");
        QCOMPARE(view.peft().adapter.placement, core::AdapterPlacement::Houlsby);
        QCOMPARE(view.peft().lora.rank, 7); // hidden knobs keep their values
        QCOMPARE(view.peft().lora.alpha, 8.0);
    }

    void learningRateBoxReadsScientificNotation()
    {
        ui::MethodView view;
        setUp(view);
        auto *rate = child<QDoubleSpinBox>(view, "learningRate");
        rate->setValue(0.0);
        rate->findChild<QLineEdit *>()->selectAll();
        QTest::keyClicks(rate, "2.5e-4");
        QTest::keyClick(rate, Qt::Key_Return);
        QCOMPARE(rate->value(), 2.5e-4);
        QCOMPARE(rate->text(), QString("2.5e-4"));
        rate->stepUp();
        QCOMPARE(rate->value(), 5e-4);
    }

    void everyControlHasANameAndATooltip()
    {
        ui::MethodView view;
        setUp(view);
        int controls = 0;
        for (QWidget *w : view.findChildren<QWidget *>()) {
            const bool control = qobject_cast<QAbstractSpinBox *>(w) || qobject_cast<QComboBox *>(w)
                || qobject_cast<QAbstractButton *>(w) || qobject_cast<QLineEdit *>(w)
                || qobject_cast<QSlider *>(w);
            // Parts of composite controls (a spin box's editor, the line edit's clear button).
            QWidget *parent = w->parentWidget();
            const bool part = qobject_cast<QAbstractSpinBox *>(parent)
                || qobject_cast<QLineEdit *>(parent) || qobject_cast<QComboBox *>(parent);
            if (!control || part)
                continue;
            ++controls;
            QVERIFY2(!w->accessibleName().isEmpty(), qPrintable(w->objectName()));
            QVERIFY2(!w->toolTip().isEmpty(), qPrintable(w->accessibleName()));
        }
        QVERIFY(controls >= 35);
    }
};

QTEST_MAIN(TestMethodView)
#include "tst_method_view.moc"
