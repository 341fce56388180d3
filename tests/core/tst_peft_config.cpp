// SPDX-License-Identifier: MIT
// PEFT configuration: exact parameter accounting at the paper's settings (AST-base), the
// breakdown by part, budget parsing and the budget solver's edge cases.
#include "error.h"
#include "inference/classifier.h"
#include "peft/peft_config.h"
#include "test_support.h"

#include <QtTest>

using namespace astpeft;
using namespace astpeft::core;

Q_DECLARE_METATYPE(astpeft::core::PeftConfig)

namespace {

AstConfig base100()
{
    AstConfig c = presetConfig("base");
    c.maxLength = 100;
    return c;
}

PeftConfig adapter(AdapterBlock block, AdapterPlacement placement, int kernel = 31)
{
    PeftConfig p = paperSetting(PeftMethod::Adapter, block);
    p.adapter.placement = placement;
    p.adapter.kernel = kernel;
    return p;
}

} // namespace

class TestPeftConfig : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void exactCountsAtThePapersSettings_data()
    {
        QTest::addColumn<PeftConfig>("peft");
        QTest::addColumn<qlonglong>("withoutHead"); // the numbers
        QTest::addColumn<qlonglong>("paper"); // the paper's "Par" column, as derived in paper.md
        using B = AdapterBlock;
        using P = AdapterPlacement;
        QTest::addRow("bottleneck pfeiffer r=12")
            << adapter(B::Bottleneck, P::Pfeiffer) << 250512LL << 248976LL;
        QTest::addRow("bottleneck houlsby r=12")
            << adapter(B::Bottleneck, P::Houlsby) << 499488LL << 497952LL;
        QTest::addRow("conformer pfeiffer r=8 k=31")
            << adapter(B::Conformer, P::Pfeiffer) << 272256LL << 270720LL;
        QTest::addRow("conformer pfeiffer r=8 k=8")
            << adapter(B::Conformer, P::Pfeiffer, 8) << 270048LL << 268512LL;
        QTest::addRow("conformer houlsby r=8 k=31")
            << adapter(B::Conformer, P::Houlsby) << 542976LL << 541440LL;
        QTest::addRow("lora q,v r=6") << paperSetting(PeftMethod::Lora) << 222720LL << 221184LL;
        QTest::addRow("prefix 24") << paperSetting(PeftMethod::Prefix) << 222720LL << 221184LL;
        QTest::addRow("prompt-shallow 300")
            << paperSetting(PeftMethod::PromptShallow) << 231936LL << 230400LL;
        QTest::addRow("prompt-deep 25")
            << paperSetting(PeftMethod::PromptDeep) << 231936LL << 230400LL;
        QTest::addRow("bitfit") << paperSetting(PeftMethod::BitFit) << 102144LL << 102144LL;
        QTest::addRow("linear") << paperSetting(PeftMethod::Linear) << 1536LL << 1536LL;
        QTest::addRow("full, max_length 100")
            << paperSetting(PeftMethod::Full) << 85339392LL << 85339392LL;
    }
    void exactCountsAtThePapersSettings()
    {
        QFETCH(PeftConfig, peft);
        QFETCH(qlonglong, withoutHead);
        QFETCH(qlonglong, paper);
        const ParameterBreakdown b = countParameters(base100(), peft, 0);
        QCOMPARE(b.withoutHead(), std::int64_t(withoutHead));
        QCOMPARE(b.paperCount(), std::int64_t(paper));
        QCOMPARE(b.backbone, std::int64_t(85339392));
    }

    void headAndBreakdown()
    {
        // Linear probing on US8K (10 classes) and ESC-50 (50): the paper's 9,226 and 39,986.
        QCOMPARE(countParameters(base100(), paperSetting(PeftMethod::Linear), 10).total(),
            std::int64_t(9226));
        QCOMPARE(countParameters(base100(), paperSetting(PeftMethod::Linear), 50).total(),
            std::int64_t(39986));
        const ParameterBreakdown b = countParameters(
            base100(), adapter(AdapterBlock::Bottleneck, AdapterPlacement::Houlsby), 35);
        QCOMPARE(b.methodModules, std::int64_t(24 * 19212));
        QCOMPARE(b.layerNorms, std::int64_t(12 * 4 * 768));
        QCOMPARE(b.finalLayerNorm, std::int64_t(1536));
        QCOMPARE(b.head, std::int64_t(768 * 35 + 35));
        QCOMPARE(b.total(), b.withoutHead() + b.head);
        QVERIFY(std::abs(b.shareOfBackbone() - double(b.withoutHead()) / 85339392.0) < 1e-12);
        QVERIFY(b.adapterFileBytes() >= 4 * b.total());
        // The HF head adds its LayerNorm.
        QCOMPARE(
            countParameters(base100(), paperSetting(PeftMethod::Linear), 10, HeadKind::Hf).head,
            std::int64_t(1536 + 7690));
        // LoRA on all four projections doubles the q,v count; the conformer's k=31 vs k=1.
        PeftConfig all = paperSetting(PeftMethod::Lora);
        all.lora.targets = { 'q', 'k', 'v', 'o' };
        QCOMPARE(countParameters(base100(), all, 0).methodModules, std::int64_t(2 * 221184));
        QCOMPARE(countParameters(
                     base100(), adapter(AdapterBlock::Conformer, AdapterPlacement::Pfeiffer, 31), 0)
                     .total()
                - countParameters(
                    base100(), adapter(AdapterBlock::Conformer, AdapterPlacement::Pfeiffer, 1), 0)
                      .total(),
            std::int64_t(12 * 8 * 30)); // the paper: "roughly 2.8K"
    }

    void parseBudget_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<qlonglong>("expected");
        QTest::addRow("plain") << "250000" << 250000LL;
        QTest::addRow("k") << "250k" << 250000LL;
        QTest::addRow("M") << "1.5M" << 1500000LL;
        QTest::addRow("percent") << "0.3%" << 256018LL; // floor(0.003 * 85,339,392)
        QTest::addRow("fraction floors") << "2.9" << 2LL;
    }
    void parseBudget()
    {
        QFETCH(QString, text);
        QFETCH(qlonglong, expected);
        QCOMPARE(core::parseBudget(text.toStdString(), 85339392), std::int64_t(expected));
    }

    void badBudgets_data()
    {
        QTest::addColumn<QString>("text");
        // 1e99 (and inf) once overflowed into a negative budget (issue 17).
        for (const char *t :
            { "", "abc", "10x", "-5k", "0", "0%", "nan", "%", "1e99", "inf", "2e12", "1e30%" })
            QTest::addRow("%s", t) << t;
    }
    void badBudgets()
    {
        QFETCH(QString, text);
        const auto e = test::captureError([&] { core::parseBudget(text.toStdString(), 1000); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::Usage);
        QVERIFY2(e->reason().find("budget '" + text.toStdString() + "'") == 0, e->what());
    }

    void solverPicksTheLargestFittingKnob_data()
    {
        QTest::addColumn<PeftConfig>("base");
        QTest::addColumn<qlonglong>("budget");
        QTest::addColumn<int>("knob");
        const PeftConfig b12 = adapter(AdapterBlock::Bottleneck, AdapterPlacement::Pfeiffer);
        QTest::addRow("exactly r=12") << b12 << 250512LL << 12;
        QTest::addRow("one short of r=12") << b12 << 250511LL << 11;
        QTest::addRow("250k") << b12 << 250000LL << 11;
        QTest::addRow("lora exactly r=6") << paperSetting(PeftMethod::Lora) << 222720LL << 6;
        QTest::addRow("lora huge budget caps at hidden size")
            << paperSetting(PeftMethod::Lora) << 1000000000LL << 768;
        QTest::addRow("prefix 24 exactly") << paperSetting(PeftMethod::Prefix) << 222720LL << 24;
        QTest::addRow("prefix stays even")
            << paperSetting(PeftMethod::Prefix) << 222720LL + 9215 << 24;
        QTest::addRow("prompt-shallow 300")
            << paperSetting(PeftMethod::PromptShallow) << 231936LL << 300;
        QTest::addRow("prompt-deep 25") << paperSetting(PeftMethod::PromptDeep) << 231936LL << 25;
        QTest::addRow("conformer smallest")
            << adapter(AdapterBlock::Conformer, AdapterPlacement::Pfeiffer)
            << 12LL * (1536 + 2 * 768 + 2 + 31 + 1 + 2 + 768 + 768) + 18432 + 1536 << 1;
    }
    void solverPicksTheLargestFittingKnob()
    {
        QFETCH(PeftConfig, base);
        QFETCH(qlonglong, budget);
        QFETCH(int, knob);
        const PeftConfig solved = solveBudget(base100(), base, budget, 0);
        int got = 0;
        switch (base.method) {
        case PeftMethod::Lora:
            got = solved.lora.rank;
            break;
        case PeftMethod::Adapter:
            got = solved.adapter.bottleneck;
            break;
        case PeftMethod::Prefix:
            got = solved.prefixTokens;
            break;
        default:
            got = solved.prompts;
            break;
        }
        QCOMPARE(got, knob);
        QVERIFY(countParameters(base100(), solved, 0).withoutHead() <= budget);
        // Everything but the knob is kept.
        QCOMPARE(solved.adapter.block, base.adapter.block);
        QCOMPARE(solved.lora.targets, base.lora.targets);
    }

    void solverNamesTheMinimum()
    {
        const auto e = test::captureError(
            [] { solveBudget(base100(), paperSetting(PeftMethod::Lora), 1000, 0); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::Usage); // `params --budget` too small: exit status 2
        QVERIFY2(QString(e->what()).contains("rank 1"), e->what());
        QVERIFY2(QString(e->what()).contains("38,400"), e->what()); // 12 * 2 * 2 * 768 + 1536
        const auto b = test::captureError(
            [] { solveBudget(base100(), paperSetting(PeftMethod::BitFit), 100000, 0); });
        QVERIFY(b);
        QVERIFY2(QString(b->what()).contains("102,144"), b->what());
        // A method without a knob within budget is returned unchanged.
        QCOMPARE(solveBudget(base100(), paperSetting(PeftMethod::BitFit), 102144, 0).method,
            PeftMethod::BitFit);
    }

    void methodNames()
    {
        QCOMPARE(allMethods().size(), std::size_t(8));
        for (PeftMethod m : allMethods()) {
            QCOMPARE(parseMethod(methodName(m)), m);
            QVERIFY(!methodSummary(m).empty());
        }
        const auto e = test::captureError([] { parseMethod("adapters"); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::Usage);
        QVERIFY2(QString(e->what()).contains("prompt-shallow"), e->what());
        QCOMPARE(paperLearningRate(PeftMethod::Lora), 5e-3);
        QCOMPARE(paperLearningRate(PeftMethod::Prefix), 1e-2);
        QCOMPARE(paperLearningRate(PeftMethod::Full), 5e-5);
        QCOMPARE(paperLearningRate(PeftMethod::Linear), 1e-3);
    }
};

QTEST_GUILESS_MAIN(TestPeftConfig)
#include "tst_peft_config.moc"
