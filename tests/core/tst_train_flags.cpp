// SPDX-License-Identifier: MIT
// core/train/train_flags: the one table between TrainOptions and command-line flags. Options
// written as flags and read back are the same options (options.json compared whole), defaults
// are left out, a knob is written only where it differs from the method's paper setting, and
// each bad value gets the one-line message the CLI prints.
#include "error.h"
#include "test_support.h"
#include "train/train_flags.h"

#include <QTest>

#include <set>
#include <string>
#include <vector>

using namespace astpeft;
using core::FlagValues;
using core::TrainFlag;
using core::TrainOptions;

namespace {

FlagValues asFlags(const std::vector<std::pair<std::string, std::string>> &written)
{
    FlagValues flags;
    for (const auto &[name, value] : written) {
        if (!flags.emplace(name, value).second)
            throw std::logic_error("flag written twice: --" + name);
    }
    return flags;
}

// Written, then read back as `astpeft train` reads them.
TrainOptions roundTrip(const TrainOptions &o)
{
    const FlagValues flags = asFlags(core::flagsOf(o));
    TrainOptions back = core::trainOptionsFromFlags(flags);
    back.peft = core::peftFromFlags(flags, core::parseMethod(flags.at("method")));
    back.command = o.command;
    return back;
}

TrainOptions everythingSet()
{
    TrainOptions o;
    o.model = "/models/ast base";
    o.data = "/data/it's here.csv";
    o.import.layout = core::DatasetLayout::Csv;
    o.import.minSeconds = 0.5;
    o.channel = 1;
    o.split.validationFraction = 0.2;
    o.split.testFraction = 0.15;
    o.split.validationFold = 3;
    o.split.testFold = 4;
    o.split.fewShot = 5;
    o.budget = "0.3%";
    o.epochs = 7;
    o.batchSize = 3;
    o.learningRate = 0.0123;
    o.weightDecay = 0.05;
    o.warmupSteps = 9;
    o.clipGradNorm = 1.5;
    o.accumulation = 2;
    o.patience = 4;
    o.seed = 12345678901234ULL;
    o.split.seed = o.seed;
    o.maxLength = 300;
    o.positions = core::PositionMode::Zero;
    o.device = "cpu";
    o.precision = core::Precision::BF16;
    o.augment.freqMaskParam = 24;
    o.augment.timeMaskParam = 80;
    o.augment.mixupAlpha = 0.3;
    o.augment.noiseProbability = 0.5;
    o.noiseFiles = { "/noise/a.wav", "/noise dir" };
    o.augment.shiftSeconds = 0.1;
    o.augment.gainDb = 6;
    o.featureCache = "/cache";
    o.useFeatureCache = false;
    o.cacheEncoderOutputs = false;
    o.evaluateTest = false;
    o.checkpointActivations = true;
    o.out = "/runs/one";
    o.peft = core::paperSetting(core::PeftMethod::Adapter, core::AdapterBlock::Bottleneck);
    o.peft.adapter.placement = core::AdapterPlacement::Houlsby;
    o.peft.adapter.mode = core::AdapterMode::Sequential;
    o.peft.adapter.activation = core::Activation::Relu;
    o.peft.adapter.residual = true;
    o.peft.adapter.bottleneck = 33;
    o.peft.init = core::PeftInit::Paper;
    return o;
}

} // namespace

class TestTrainFlags : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // Every option away from its default survives flags -> options, whole.
    void everyOptionRoundTrips()
    {
        const TrainOptions o = everythingSet();
        QCOMPARE(core::trainOptionsJson(roundTrip(o)), core::trainOptionsJson(o));
        // And each of them was written (a field without a row would come back as its default).
        const FlagValues flags = asFlags(core::flagsOf(o));
        for (const TrainFlag &f : core::trainFlags()) {
            if (f.group == TrainFlag::Group::Options)
                QVERIFY2(flags.count(f.name), f.name.c_str());
        }
    }

    void knobsRoundTrip_data()
    {
        QTest::addColumn<int>("which");
        QTest::addRow("lora") << 0;
        QTest::addRow("conformer") << 1;
        QTest::addRow("prompt-deep") << 2;
        QTest::addRow("prefix") << 3;
    }

    void knobsRoundTrip()
    {
        QFETCH(int, which);
        TrainOptions o;
        switch (which) {
        case 0:
            o.peft = core::paperSetting(core::PeftMethod::Lora);
            o.peft.lora.rank = 16;
            o.peft.lora.alpha = 8.5;
            o.peft.lora.targets = { 'q', 'k', 'o' };
            o.peft.lora.paperScaling = true;
            break;
        case 1:
            o.peft = core::paperSetting(core::PeftMethod::Adapter);
            o.peft.adapter.kernel = 15;
            o.peft.adapter.officialLayerNormBug = true;
            break;
        case 2:
            o.peft = core::paperSetting(core::PeftMethod::PromptDeep);
            o.peft.prompts = 7;
            break;
        default:
            o.peft = core::paperSetting(core::PeftMethod::Prefix);
            o.peft.prefixTokens = 10;
            break;
        }
        QCOMPARE(core::trainOptionsJson(roundTrip(o)), core::trainOptionsJson(o));
    }

    // The defaults write only the method and the seed; the paper setting of a method writes no
    // knob, whatever the method.
    void defaultsAreLeftOut()
    {
        for (core::PeftMethod method : core::allMethods()) {
            TrainOptions o;
            o.peft = core::paperSetting(method);
            const auto written = core::flagsOf(o);
            QCOMPARE(written.size(), std::size_t(2));
            QCOMPARE(written[0].first, std::string("method"));
            QCOMPARE(written[0].second, core::methodName(method));
            QCOMPARE(written[1], std::make_pair(std::string("seed"), std::string("10")));
        }
    }

    void commandLine()
    {
        TrainOptions o;
        o.peft = core::paperSetting(core::PeftMethod::Lora);
        o.peft.lora.rank = 4;
        o.model = "/m";
        o.data = "/my data/words";
        o.learningRate = 0.005;
        o.checkpointActivations = true;
        o.out = "/runs/it's";
        QCOMPARE(core::trainCommandLine(o),
            std::string("astpeft train --method lora --rank 4 --model /m --data '/my data/words' "
                        "--lr 0.005 --seed 10 --checkpoint-activations --out '/runs/it'\\''s'"));
    }

    void names()
    {
        const core::TrainFlagNames options = core::trainFlagNames({ TrainFlag::Group::Options });
        QVERIFY(options.values.count("batch-size") && options.values.count("noise-files"));
        QVERIFY(options.switches.count("no-test") && !options.values.count("no-test"));
        QVERIFY(!options.values.count("rank"));
        const core::TrainFlagNames knobs = core::trainFlagNames({ TrainFlag::Group::Knob });
        QVERIFY(knobs.values.count("rank") && knobs.switches.count("residual"));
        std::set<std::string> all;
        for (const TrainFlag &f : core::trainFlags())
            QVERIFY2(all.insert(f.name).second, f.name.c_str()); // each name once
    }

    void badValues_data()
    {
        QTest::addColumn<QString>("flag");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("message");
        QTest::addRow("epochs 0") << "epochs"
                                  << "0"
                                  << "--epochs must be at least 1";
        QTest::addRow("batch abc") << "batch-size"
                                   << "abc"
                                   << "--batch-size needs an integer, got 'abc'";
        QTest::addRow("batch 12x") << "batch-size"
                                   << "12x"
                                   << "--batch-size needs an integer, got '12x'";
        QTest::addRow("lr -1") << "lr"
                               << "-1"
                               << "--lr must be positive";
        QTest::addRow("lr 1e") << "lr"
                               << "1e"
                               << "--lr needs a number, got '1e'";
        QTest::addRow("val-fraction 1") << "val-fraction"
                                        << "1"
                                        << "--val-fraction must be in [0, 1)";
        QTest::addRow("few-shot -2") << "few-shot"
                                     << "-2"
                                     << "--few-shot must be positive";
        QTest::addRow("seed -1") << "seed"
                                 << "-1"
                                 << "--seed needs a non-negative integer";
        QTest::addRow("layout")
            << "layout"
            << "zip"
            << "--layout must be one of auto, folders, csv, esc50, speech-commands, "
               "urbansound8k, fluent-speech-commands, audiofolder";
        QTest::addRow("precision") << "precision"
                                   << "fp8"
                                   << "--precision: ";
        QTest::addRow("rank 0") << "rank"
                                << "0"
                                << "--rank must be at least 1";
        QTest::addRow("targets") << "targets"
                                 << "q,x"
                                 << "--targets takes distinct letters from q, k, v, o";
        QTest::addRow("prefix odd") << "prefix-tokens"
                                    << "5"
                                    << "--prefix-tokens must be even (key plus value tokens)";
        // Sizes are bounded before anything is allocated from them (issue 17, defect 7).
        QTest::addRow("rank huge") << "rank"
                                   << "1000000000"
                                   << "--rank must be at most 16384, got 1000000000";
        QTest::addRow("max-length huge") << "max-length"
                                         << "100000000"
                                         << "--max-length must be at most 100000";
        QTest::addRow("batch huge") << "batch-size"
                                    << "100000"
                                    << "--batch-size must be at most 4096";
        QTest::addRow("prompts huge") << "prompts"
                                      << "5000"
                                      << "--prompts must be at most 4096";
        QTest::addRow("epochs past int") << "epochs"
                                         << "99999999999"
                                         << "--epochs needs an integer, got '99999999999'";
        QTest::addRow("lr inf") << "lr"
                                << "inf"
                                << "--lr must be a finite number, got 'inf'";
        QTest::addRow("alpha nan") << "alpha"
                                   << "nan"
                                   << "--alpha must be a finite number, got 'nan'";
        QTest::addRow("placement") << "placement"
                                   << "middle"
                                   << "--placement must be one of pfeiffer, houlsby";
        QTest::addRow("mode") << "mode"
                              << "diagonal"
                              << "--mode must be one of parallel, sequential";
    }

    void badValues()
    {
        QFETCH(QString, flag);
        QFETCH(QString, value);
        QFETCH(QString, message);
        const FlagValues flags { { flag.toStdString(), value.toStdString() } };
        const auto error = test::captureError([&] {
            core::trainOptionsFromFlags(flags);
            core::peftFromFlags(flags, core::PeftMethod::Prefix);
        });
        QVERIFY2(error, "no error");
        QCOMPARE(error->kind(), core::ErrorKind::Usage);
        QVERIFY2(error->reason().rfind(message.toStdString(), 0) == 0, error->what());
    }

    // --precision auto (or none) is the device's training default: fp32 on the CPU.
    void precisionAuto()
    {
        QCOMPARE(
            core::trainOptionsFromFlags({ { "device", "cpu" } }).precision, core::Precision::F32);
        QCOMPARE(
            core::trainOptionsFromFlags({ { "device", "cpu" }, { "precision", "auto" } }).precision,
            core::Precision::F32);
        QCOMPARE(core::trainOptionsFromFlags({ { "precision", "bf16" } }).precision,
            core::Precision::BF16);
    }

    // --block picks the paper setting the knobs start from.
    void blockPicksThePaperSetting()
    {
        const core::PeftConfig p =
            core::peftFromFlags({ { "block", "bottleneck" } }, core::PeftMethod::Adapter);
        QCOMPARE(p.adapter.block, core::AdapterBlock::Bottleneck);
        QCOMPARE(p.adapter.bottleneck,
            core::paperSetting(core::PeftMethod::Adapter, core::AdapterBlock::Bottleneck)
                .adapter.bottleneck);
    }
};

QTEST_APPLESS_MAIN(TestTrainFlags)
#include "tst_train_flags.moc"
