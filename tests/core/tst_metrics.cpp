// SPDX-License-Identifier: MIT
// core/train/metrics: accuracy, balanced accuracy and macro-F1 against hand-computed values
// (sklearn's definitions, except that the macro averages run over classes with examples only),
// per-class precision/recall/F1, the confusion matrix, its CSV and the usage errors.
#include "error.h"
#include "test_support.h"
#include "train/metrics.h"

#include <QTest>

#include <string>
#include <vector>

using namespace astpeft;
using core::ClassificationMetrics;
using core::computeMetrics;
using core::confusionCsv;

Q_DECLARE_METATYPE(std::vector<int>)

namespace {

using Matrix = std::vector<std::vector<std::int64_t>>;

} // namespace

class TestMetrics : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void summary_data();
    void summary();
    void imbalancedPerClass();
    void classNeverPredicted();
    void classWithoutExamples();
    void empty();
    void csv();
    void csvLabelCount();
    void errors();
};

void TestMetrics::summary_data()
{
    QTest::addColumn<std::vector<int>>("truth");
    QTest::addColumn<std::vector<int>>("predicted");
    QTest::addColumn<int>("classes");
    QTest::addColumn<double>("accuracy");
    QTest::addColumn<double>("balanced");
    QTest::addColumn<double>("macroF1");

    QTest::addRow("perfect") << std::vector { 0, 1, 2, 1 } << std::vector { 0, 1, 2, 1 } << 3 << 1.0
                             << 1.0 << 1.0;
    QTest::addRow("all wrong") << std::vector { 0, 0, 1, 1 } << std::vector { 1, 1, 0, 0 } << 2
                               << 0.0 << 0.0 << 0.0;
    // Supports 6/2/2. Confusion rows [5 1 0] [0 1 1] [0 1 1].
    // Recall 5/6, 1/2, 1/2 -> balanced 11/18. Precision 5/5, 1/3, 1/2.
    // F1 = 2tp / (2tp + fp + fn): 10/11, 2/5, 1/2 -> macro (10/11 + 2/5 + 1/2) / 3 = 199/330.
    QTest::addRow("imbalanced") << std::vector { 0, 0, 0, 0, 0, 0, 1, 1, 2, 2 }
                                << std::vector { 0, 0, 0, 0, 0, 1, 1, 2, 2, 1 } << 3 << 0.7
                                << 11.0 / 18.0 << 199.0 / 330.0;
    // Class 2 never predicted: its precision, recall and F1 are 0 and it still counts.
    // Recall 1, 1, 0 -> 2/3. F1 1, 2*(1/3)*1/(4/3) = 1/2, 0 -> 1/2.
    QTest::addRow("class never predicted")
        << std::vector { 0, 1, 2, 2 } << std::vector { 0, 1, 1, 1 } << 3 << 0.5 << 2.0 / 3.0 << 0.5;
    // Classes 2 and 3 have no examples (3 is predicted once): averages over classes 0 and 1.
    // Recall 1/2, 1 -> 3/4. F1 2/3, 1 -> 5/6 (sklearn's macro-F1 over labels {0,1,3}: 5/9).
    QTest::addRow("class without examples")
        << std::vector { 0, 0, 1, 1 } << std::vector { 0, 3, 1, 1 } << 4 << 0.75 << 0.75
        << 5.0 / 6.0;
}

void TestMetrics::summary()
{
    QFETCH(std::vector<int>, truth);
    QFETCH(std::vector<int>, predicted);
    QFETCH(int, classes);
    QFETCH(double, accuracy);
    QFETCH(double, balanced);
    QFETCH(double, macroF1);

    const ClassificationMetrics m = computeMetrics(truth, predicted, classes);
    QCOMPARE(m.examples, int(truth.size()));
    QVERIFY(qAbs(m.accuracy - accuracy) < 1e-12);
    QVERIFY2(qAbs(m.balancedAccuracy - balanced) < 1e-12,
        qPrintable(QString::number(m.balancedAccuracy, 'g', 17)));
    QVERIFY2(qAbs(m.macroF1 - macroF1) < 1e-12, qPrintable(QString::number(m.macroF1, 'g', 17)));
    QCOMPARE(int(m.perClass.size()), classes);
    QCOMPARE(int(m.confusion.size()), classes);

    // The confusion matrix agrees with the pairs and the supports with its rows.
    Matrix expected(std::size_t(classes), std::vector<std::int64_t>(std::size_t(classes), 0));
    for (std::size_t i = 0; i < truth.size(); ++i)
        ++expected[std::size_t(truth[i])][std::size_t(predicted[i])];
    QVERIFY(m.confusion == expected);
    for (int c = 0; c < classes; ++c) {
        std::int64_t row = 0;
        for (const std::int64_t v : m.confusion[std::size_t(c)])
            row += v;
        QCOMPARE(std::int64_t(m.perClass[std::size_t(c)].support), row);
    }
}

void TestMetrics::imbalancedPerClass()
{
    const ClassificationMetrics m =
        computeMetrics({ 0, 0, 0, 0, 0, 0, 1, 1, 2, 2 }, { 0, 0, 0, 0, 0, 1, 1, 2, 2, 1 }, 3);
    const Matrix expected = { { 5, 1, 0 }, { 0, 1, 1 }, { 0, 1, 1 } };
    QVERIFY(m.confusion == expected);
    const double precision[] = { 1.0, 1.0 / 3.0, 0.5 };
    const double recall[] = { 5.0 / 6.0, 0.5, 0.5 };
    const double f1[] = { 10.0 / 11.0, 0.4, 0.5 };
    const int support[] = { 6, 2, 2 };
    for (std::size_t c = 0; c < 3; ++c) {
        QVERIFY(qAbs(m.perClass[c].precision - precision[c]) < 1e-12);
        QVERIFY(qAbs(m.perClass[c].recall - recall[c]) < 1e-12);
        QVERIFY(qAbs(m.perClass[c].f1 - f1[c]) < 1e-12);
        QCOMPARE(m.perClass[c].support, support[c]);
    }
}

void TestMetrics::classNeverPredicted()
{
    const ClassificationMetrics m = computeMetrics({ 0, 1, 2, 2 }, { 0, 1, 1, 1 }, 3);
    QCOMPARE(m.perClass[2].precision, 0.0);
    QCOMPARE(m.perClass[2].recall, 0.0);
    QCOMPARE(m.perClass[2].f1, 0.0);
    QCOMPARE(m.perClass[2].support, 2);
    QVERIFY(qAbs(m.perClass[1].precision - 1.0 / 3.0) < 1e-12);
    QCOMPARE(m.perClass[1].recall, 1.0);
}

void TestMetrics::classWithoutExamples()
{
    const ClassificationMetrics m = computeMetrics({ 0, 0, 1, 1 }, { 0, 3, 1, 1 }, 4);
    // Class 3: no examples, one false positive. Class 2: nothing at all.
    QCOMPARE(m.perClass[3].support, 0);
    QCOMPARE(m.perClass[3].precision, 0.0);
    QCOMPARE(m.perClass[3].recall, 0.0);
    QCOMPARE(m.perClass[3].f1, 0.0);
    QCOMPARE(m.perClass[2].support, 0);
    QCOMPARE(m.perClass[2].f1, 0.0);
    QCOMPARE(m.confusion[0][3], std::int64_t(1));
}

void TestMetrics::empty()
{
    const ClassificationMetrics m = computeMetrics({}, {}, 2);
    QCOMPARE(m.examples, 0);
    QCOMPARE(m.accuracy, 0.0);
    QCOMPARE(m.balancedAccuracy, 0.0);
    QCOMPARE(m.macroF1, 0.0);
    QVERIFY(m.confusion == Matrix(2, std::vector<std::int64_t>(2, 0)));
}

void TestMetrics::csv()
{
    const ClassificationMetrics m = computeMetrics({ 0, 1, 1, 2, 2, 2 }, { 0, 1, 2, 2, 2, 0 }, 3);
    const std::string text = confusionCsv(m, { "dog", "a,b", "say \"hi\"" });
    const std::string expected = "true\\pred,dog,\"a,b\",\"say \"\"hi\"\"\"\n"
                                 "dog,1,0,0\n"
                                 "\"a,b\",0,1,1\n"
                                 "\"say \"\"hi\"\"\",1,0,2\n";
    QCOMPARE(QString::fromStdString(text), QString::fromStdString(expected));
}

void TestMetrics::csvLabelCount()
{
    const ClassificationMetrics m = computeMetrics({ 0, 1 }, { 0, 1 }, 2);
    const auto error = test::captureError([&] { confusionCsv(m, { "only one" }); });
    QVERIFY(error);
    QCOMPARE(error->kind(), core::ErrorKind::Usage);
}

void TestMetrics::errors()
{
    const auto check = [](const std::vector<int> &truth, const std::vector<int> &predicted,
                           int classes) {
        const auto error = test::captureError([&] { computeMetrics(truth, predicted, classes); });
        QVERIFY(error);
        QCOMPARE(error->kind(), core::ErrorKind::Usage);
    };
    check({ 0, 1 }, { 0 }, 2); // size mismatch
    check({ 0, -1 }, { 0, 1 }, 2); // negative true class
    check({ 0, 1 }, { 0, 2 }, 2); // predicted class == numClasses
    check({ 3 }, { 0 }, 2); // true class out of range
    check({}, {}, 0); // no classes
}

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
