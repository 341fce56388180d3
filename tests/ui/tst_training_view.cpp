// SPDX-License-Identifier: MIT
// The Training and Runs views, offscreen, on real LoRA runs of a tiny random backbone over
// spoken words (espeak-ng): every event reaches the curves, bars and heatmap with the trainer's
// numbers, a confusion cell lists exactly its validation clips, the GUI thread keeps running,
// pause/resume, cancel, a failing start, exports, a run folder read back, and the runs table.
#include "format.h"
#include "inference/classifier.h"
#include "plots/class_bars_plot.h"
#include "plots/confusion_plot.h"
#include "plots/curves_plot.h"
#include "plots/runs_plot.h"
#include "plots/training_plots.h"
#include "runs_view.h"
#include "train/run_log.h"
#include "train/trainer.h"
#include "training_view.h"
#include "word_dataset.h"

#include <QAbstractButton>
#include <QAction>
#include <QListWidget>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QXmlStreamReader>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <set>

using namespace astpeft;

namespace {

template<typename T> std::vector<T> values(const QSignalSpy &spy)
{
    std::vector<T> out;
    for (const QList<QVariant> &args : spy)
        out.push_back(args.at(0).value<T>());
    return out;
}

QByteArray readFile(const QString &file)
{
    QFile f(file);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

class TestTrainingView : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    QString m_data, m_model, m_cache;
    int m_run = 0;
    // The first test's finished run, for showRun() and the Runs view.
    QString m_finishedRun;
    std::vector<core::EpochEvent> m_finishedEpochs;
    std::vector<core::StepEvent> m_finishedSteps;
    double m_bestAccuracy = -1.0;

    core::TrainOptions options(int epochs)
    {
        core::TrainOptions o;
        o.model = m_model.toStdString();
        o.data = m_data.toStdString();
        o.peft = core::paperSetting(core::PeftMethod::Lora);
        o.peft.lora.rank = 4;
        o.epochs = epochs;
        o.batchSize = 4;
        o.seed = 7;
        o.split.seed = 7;
        o.split.validationFraction = 0.25;
        o.featureCache = m_cache.toStdString();
        o.out = QString("%1/run%2").arg(m_tmp.path()).arg(++m_run).toStdString();
        return o;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName("AST PEFT Studio tests");
        QVERIFY(m_tmp.isValid());
        m_data = m_tmp.path() + "/words";
        m_model = m_tmp.path() + "/model";
        m_cache = m_tmp.path() + "/cache";
        QCOMPARE(test::writeWordDataset(m_data), 4 * 4 * 2);
        core::writeRandomModel(
            m_model.toStdString(), { .preset = "tiny", .maxLength = 128, .labels = {}, .seed = 3 });
    }

    void showsALiveRun()
    {
        ui::TrainingView view;
        view.resize(1400, 1000);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QSignalSpy started(&view, &ui::TrainingView::started);
        QSignalSpy steps(&view, &ui::TrainingView::stepReported);
        QSignalSpy epochs(&view, &ui::TrainingView::epochReported);
        QSignalSpy finished(&view, &ui::TrainingView::finished);
        QSignalSpy failed(&view, &ui::TrainingView::failed);

        // A timer on the GUI thread keeps firing while the worker trains.
        int ticks = 0, ticksAtFirstStep = -1;
        QTimer timer;
        connect(&timer, &QTimer::timeout, [&] { ++ticks; });
        QString eta, speed, phase;
        connect(&view, &ui::TrainingView::stepReported, [&] {
            if (ticksAtFirstStep < 0)
                ticksAtFirstStep = ticks;
            eta = view.etaText();
            speed = view.speedText();
            phase = view.phaseText();
        });
        timer.start(5);

        const core::TrainOptions o = options(3);
        view.start(o);
        QCOMPARE(started.count(), 1);
        QVERIFY(view.isRunning());
        QVERIFY(view.pauseAction()->isEnabled());
        QVERIFY(view.cancelAction()->isEnabled());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 1, 300000);
        QVERIFY2(failed.isEmpty(), qPrintable(view.message()));
        QVERIFY(ticksAtFirstStep >= 0);
        QVERIFY(ticks > ticksAtFirstStep);
        QVERIFY(!view.isRunning());
        QVERIFY(!view.cancelAction()->isEnabled());

        const auto f = finished.first().first().value<core::FinishedEvent>();
        QCOMPARE(f.reason, core::FinishReason::Completed);
        QCOMPARE(epochs.count(), 3);
        const std::vector<core::StepEvent> s = values<core::StepEvent>(steps);
        const std::vector<core::EpochEvent> e = values<core::EpochEvent>(epochs);
        QCOMPARE(qint64(s.size()), s.back().totalSteps);
        QCOMPARE(view.progressValue(), int(s.back().totalSteps));
        QCOMPARE(view.progressMaximum(), int(s.back().totalSteps));
        QVERIFY2(view.phaseText().contains("completed"), qPrintable(view.phaseText()));
        // While it trained: the phase, samples per second, the ETA as a duration and a time.
        QVERIFY2(phase.contains("epoch 3 of 3")
                && phase.contains(QString("step %1 of %1").arg(s.back().totalSteps)),
            qPrintable(phase));
        QVERIFY2(speed.endsWith(" samples/s"), qPrintable(speed));
        QVERIFY2(QRegularExpression("^ETA (\\d+ s|\\d+ min \\d+ s|\\d+ h \\d+ min) \\(at .+\\)$")
                     .match(eta)
                     .hasMatch(),
            qPrintable(eta));
        QVERIFY2(view.message().contains("Best validation accuracy"), qPrintable(view.message()));

        // One point per step with the step's loss; the smoothed curve is TensorBoard's
        // debiased EMA at the spin box's weight (0.6): the first point equals the raw loss.
        const ui::CurvesPlot *curves = view.plots()->curves();
        const QVector<QPointF> raw = curves->rawLoss(), smoothed = curves->smoothedLoss();
        QCOMPARE(raw.size(), qsizetype(s.size()));
        QCOMPARE(smoothed.size(), qsizetype(s.size()));
        double ema = 0.0;
        for (std::size_t i = 0; i < s.size(); ++i) {
            QCOMPARE(raw[qsizetype(i)].x(), double(s[i].step));
            QCOMPARE(raw[qsizetype(i)].y(), s[i].loss);
            ema = 0.6 * ema + 0.4 * s[i].loss;
            QVERIFY(
                std::abs(smoothed[qsizetype(i)].y() - ema / (1 - std::pow(0.6, i + 1))) < 1e-12);
        }
        QCOMPARE(smoothed.front().y(), s.front().loss);
        view.setSmoothing(0.0);
        QCOMPARE(curves->smoothedLoss().back().y(), s.back().loss);

        // Validation curves at the step that ended each epoch, with the epoch events' numbers.
        const QVector<QPointF> valLoss = curves->validationLoss();
        const QVector<QPointF> valAccuracy = curves->validationAccuracy();
        QCOMPARE(valLoss.size(), 3);
        QCOMPARE(valAccuracy.size(), 3);
        for (std::size_t i = 0; i < e.size(); ++i) {
            QVERIFY(e[i].hasValidation);
            qint64 lastStep = 0;
            for (const core::StepEvent &step : s) {
                if (step.epoch == e[i].epoch)
                    lastStep = step.step;
            }
            QCOMPARE(valLoss[qsizetype(i)].x(), double(lastStep));
            QCOMPARE(valLoss[qsizetype(i)].y(), e[i].valLoss);
            QCOMPARE(valAccuracy[qsizetype(i)].y(), e[i].validation.accuracy);
            QCOMPARE(curves->trainAccuracy()[qsizetype(i)].y(), e[i].trainAccuracy);
        }

        // Per-class bars and the heatmap show the last epoch.
        const core::EpochEvent &last = e.back();
        const int n = int(last.labels.size());
        QCOMPARE(n, 4);
        const QVector<double> bars = view.plots()->classBars()->accuracies();
        QCOMPARE(bars.size(), n);
        for (int c = 0; c < n; ++c)
            QCOMPARE(bars[c], last.validation.perClass[std::size_t(c)].recall);
        QCOMPARE(view.plots()->classBars()->labels(), (QStringList { "down", "no", "up", "yes" }));
        ui::ConfusionPlot *confusion = view.plots()->confusion();
        QCOMPARE(confusion->classCount(), n);
        for (int t = 0; t < n; ++t) {
            for (int p = 0; p < n; ++p) {
                QCOMPARE(confusion->cellValue(t, p),
                    double(last.validation.confusion[std::size_t(t)][std::size_t(p)]));
            }
        }

        // Every validation clip is predicted once, consistently with the confusion matrix.
        QCOMPARE(int(last.predictions.size()), last.validation.examples);
        for (const core::ClipPrediction &c : last.predictions) {
            QVERIFY(c.confidence > 0.0f && c.confidence <= 1.0f);
            QVERIFY(std::filesystem::exists(c.file));
        }

        // Clicking a cell lists exactly the validation clips with that (truth, predicted) pair.
        int nonEmptyCells = 0;
        for (int t = 0; t < n; ++t) {
            for (int p = 0; p < n; ++p) {
                std::multiset<QString> expected;
                for (const core::ClipPrediction &c : last.predictions) {
                    if (c.truth == t && c.predicted == p)
                        expected.insert(QString::fromStdString(c.file.string()));
                }
                QCOMPARE(qint64(expected.size()),
                    last.validation.confusion[std::size_t(t)][std::size_t(p)]);
                QTest::mouseClick(
                    confusion->canvas(), Qt::LeftButton, {}, confusion->cellPosition(t, p));
                const QStringList listed = view.listedClips();
                QCOMPARE(std::multiset<QString>(listed.begin(), listed.end()), expected);
                nonEmptyCells += !expected.empty();
            }
        }
        QVERIFY(nonEmptyCells > 0);

        // The keyboard reaches every cell too: arrows move (clamped at the edges), Home and End
        // jump, Enter and Space open the current cell as a click does.
        QSignalSpy cells(confusion, &ui::ConfusionPlot::cellClicked);
        confusion->canvas()->setFocus();
        QTest::keyClick(confusion->canvas(), Qt::Key_Home);
        QCOMPARE(
            std::pair(confusion->currentTruth(), confusion->currentPredicted()), std::pair(0, 0));
        QTest::keyClick(confusion->canvas(), Qt::Key_Up); // clamped
        QTest::keyClick(confusion->canvas(), Qt::Key_Right);
        QTest::keyClick(confusion->canvas(), Qt::Key_Down);
        QTest::keyClick(confusion->canvas(), Qt::Key_Down);
        QCOMPARE(
            std::pair(confusion->currentTruth(), confusion->currentPredicted()), std::pair(2, 1));
        QTest::keyClick(confusion->canvas(), Qt::Key_Return);
        QCOMPARE(cells.size(), 1);
        QCOMPARE(cells[0][0].toInt(), 2);
        QCOMPARE(cells[0][1].toInt(), 1);
        {
            std::multiset<QString> expected;
            for (const core::ClipPrediction &c : last.predictions) {
                if (c.truth == 2 && c.predicted == 1)
                    expected.insert(QString::fromStdString(c.file.string()));
            }
            const QStringList listed = view.listedClips();
            QCOMPARE(std::multiset<QString>(listed.begin(), listed.end()), expected);
        }
        const QString labels[] = { "down", "no", "up", "yes" };
        QCOMPARE(confusion->canvas()->accessibleDescription(),
            QString("true %1, predicted %2: %3 clip(s)")
                .arg(labels[2], labels[1])
                .arg(last.validation.confusion[2][1]));
        QTest::keyClick(confusion->canvas(), Qt::Key_End);
        QTest::keyClick(confusion->canvas(), Qt::Key_Right); // clamped
        QTest::keyClick(confusion->canvas(), Qt::Key_Space);
        QCOMPARE(cells.size(), 2);
        QCOMPARE(cells[1][0].toInt(), n - 1);
        QCOMPARE(cells[1][1].toInt(), n - 1);
        // A click moves the keyboard's cell there.
        QTest::mouseClick(confusion->canvas(), Qt::LeftButton, {}, confusion->cellPosition(1, 0));
        QCOMPARE(
            std::pair(confusion->currentTruth(), confusion->currentPredicted()), std::pair(1, 0));

        // Double-clicking a listed clip asks for it to be played.
        int t = 0, p = 0;
        for (const core::ClipPrediction &c : last.predictions) {
            if (c.truth == c.predicted || (t == 0 && p == 0)) {
                t = c.truth;
                p = c.predicted;
            }
        }
        QTest::mouseClick(confusion->canvas(), Qt::LeftButton, {}, confusion->cellPosition(t, p));
        QVERIFY(view.clipList()->count() > 0);
        QSignalSpy activated(&view, &ui::TrainingView::clipActivated);
        const QRect rect = view.clipList()->visualItemRect(view.clipList()->item(0));
        // A real double-click: press and release, then the double-click event.
        QTest::mouseClick(view.clipList()->viewport(), Qt::LeftButton, {}, rect.center());
        QTest::mouseDClick(view.clipList()->viewport(), Qt::LeftButton, {}, rect.center());
        QCOMPARE(activated.count(), 1);
        QCOMPARE(activated.first().first().toString(), view.listedClips().first());

        // Normalised rows: each row divided by its sum.
        view.setNormalised(true);
        for (int r = 0; r < n; ++r) {
            const auto &row = last.validation.confusion[std::size_t(r)];
            double sum = 0;
            for (auto c : row)
                sum += double(c);
            for (int c = 0; c < n; ++c) {
                QCOMPARE(
                    confusion->cellValue(r, c), sum > 0 ? double(row[std::size_t(c)]) / sum : 0.0);
            }
        }
        view.setNormalised(false);
        QCOMPARE(confusion->cellValue(0, 0), double(last.validation.confusion[0][0]));

        // Exports: non-empty images of every plot, SVG that parses as XML, CSV with a header
        // and one row per epoch.
        const QString out = m_tmp.path() + "/exports";
        QDir().mkpath(out);
        using Plot = ui::TrainingView::Plot;
        for (Plot plot : { Plot::Curves, Plot::ClassAccuracy, Plot::Confusion }) {
            for (const QString suffix : { "png", "pdf", "svg" }) {
                const QString file = QString("%1/plot%2.%3").arg(out).arg(int(plot)).arg(suffix);
                QVERIFY2(view.exportPlot(plot, file), qPrintable(view.message()));
                const QByteArray bytes = readFile(file);
                QVERIFY2(bytes.size() > 500, qPrintable(file));
                if (suffix == "png")
                    QVERIFY(bytes.startsWith("\x89PNG"));
                if (suffix == "pdf")
                    QVERIFY(bytes.startsWith("%PDF"));
                if (suffix == "svg") {
                    QXmlStreamReader xml(bytes);
                    bool sawSvg = false;
                    while (!xml.atEnd()) {
                        if (xml.readNext() == QXmlStreamReader::StartElement
                            && xml.name() == QLatin1String("svg"))
                            sawSvg = true;
                    }
                    QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
                    QVERIFY(sawSvg);
                }
            }
        }
        QVERIFY(!view.exportPlot(Plot::Curves, out + "/plot.bmp"));
        QVERIFY2(view.message().contains("plot.bmp"), qPrintable(view.message()));
        QVERIFY(!view.exportPlot(Plot::Curves, out + "/no/such/folder/plot.png"));

        const QString csv = out + "/metrics.csv";
        QVERIFY(view.exportMetricsCsv(csv));
        const QList<QByteArray> lines = readFile(csv).trimmed().split('\n');
        QCOMPARE(lines.size(), 1 + 3);
        QCOMPARE(lines[0],
            QByteArray("epoch,train_loss,val_loss,val_accuracy,balanced_accuracy,macro_f1,"
                       "accuracy_down,accuracy_no,accuracy_up,accuracy_yes"));
        for (int i = 0; i < 3; ++i) {
            const QList<QByteArray> cells = lines[i + 1].split(',');
            QCOMPARE(cells.size(), 6 + n);
            QCOMPARE(cells[0].toInt(), i + 1);
            QCOMPARE(cells[3].toDouble(), e[std::size_t(i)].validation.accuracy);
            QCOMPARE(cells[9].toDouble(), e[std::size_t(i)].validation.perClass[3].recall);
        }

        m_finishedRun = QString::fromStdString(o.out.string());
        m_finishedEpochs = e;
        m_finishedSteps = s;
        m_bestAccuracy = f.bestValAccuracy;
    }

    void cancelStopsTheRun()
    {
        ui::TrainingView view;
        QSignalSpy started(&view, &ui::TrainingView::started);
        QSignalSpy epochs(&view, &ui::TrainingView::epochReported);
        QSignalSpy finished(&view, &ui::TrainingView::finished);
        connect(&view, &ui::TrainingView::stepReported, &view, &ui::TrainingView::cancel);
        view.start(options(40));
        // A second start while running is refused with a message.
        view.start(options(1));
        QCOMPARE(started.count(), 1);
        QVERIFY2(view.message().contains("in progress"), qPrintable(view.message()));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 300000);
        QCOMPARE(finished.first().first().value<core::FinishedEvent>().reason,
            core::FinishReason::Cancelled);
        QVERIFY(epochs.count() < 40);
        QVERIFY(!view.isRunning());
        QVERIFY(!view.pauseAction()->isEnabled());
    }

    void pauseHoldsAndResumeCompletes()
    {
        ui::TrainingView view;
        QSignalSpy steps(&view, &ui::TrainingView::stepReported);
        QSignalSpy epochs(&view, &ui::TrainingView::epochReported);
        QSignalSpy finished(&view, &ui::TrainingView::finished);
        bool featuresDone = false;
        connect(&view, &ui::TrainingView::progressReported, [&](const core::ProgressEvent &e) {
            featuresDone |= e.phase == core::ProgressPhase::Features && e.done == e.total;
        });
        view.start(options(2));
        view.pause(); // before the first batch: the trainer holds at its first step
        QVERIFY(view.isPaused());
        QCOMPARE(view.pauseAction()->text(), QString("&Resume"));
        QTRY_VERIFY_WITH_TIMEOUT(featuresDone, 300000);
        QTRY_VERIFY_WITH_TIMEOUT(view.isHeld(), 300000); // the trainer waits before its first step
        QCoreApplication::processEvents();
        QCOMPARE(steps.count(), 0);
        QVERIFY(view.isRunning());
        view.pauseAction()->trigger(); // the same action resumes
        QVERIFY(!view.isPaused());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 300000);
        QCOMPARE(finished.first().first().value<core::FinishedEvent>().reason,
            core::FinishReason::Completed);
        QCOMPARE(epochs.count(), 2);
    }

    void aFailedStartLeavesTheViewUsable()
    {
        ui::TrainingView view;
        QSignalSpy failed(&view, &ui::TrainingView::failed);
        QSignalSpy finished(&view, &ui::TrainingView::finished);
        core::TrainOptions bad = options(1);
        const QString missing = m_tmp.path() + "/no-such-data";
        bad.data = missing.toStdString();
        view.start(bad);
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
        QVERIFY2(failed.first().first().toString().contains(missing),
            qPrintable(failed.first().first().toString()));
        QVERIFY2(view.message().contains(missing), qPrintable(view.message()));
        QVERIFY(!view.isRunning());
        QCOMPARE(finished.count(), 0);

        view.start(options(1));
        QVERIFY(view.isRunning());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 2, 300000);
        QCOMPARE(finished.count(), 1);
        QCOMPARE(finished.first().first().value<core::FinishedEvent>().reason,
            core::FinishReason::Completed);
        QVERIFY2(view.message().startsWith("completed"), qPrintable(view.message()));
    }

    void showsAFinishedRunFromItsFolder()
    {
        QVERIFY2(!m_finishedRun.isEmpty(), "needs the run of showsALiveRun()");
        ui::TrainingView view;
        view.showRun(m_finishedRun);
        const ui::CurvesPlot *curves = view.plots()->curves();
        QCOMPARE(curves->rawLoss().size(), qsizetype(m_finishedSteps.size()));
        for (std::size_t i = 0; i < m_finishedSteps.size(); ++i)
            QCOMPARE(curves->rawLoss()[qsizetype(i)].y(), m_finishedSteps[i].loss);
        QCOMPARE(curves->validationAccuracy().size(), qsizetype(m_finishedEpochs.size()));
        for (std::size_t i = 0; i < m_finishedEpochs.size(); ++i) {
            QCOMPARE(curves->validationAccuracy()[qsizetype(i)].y(),
                m_finishedEpochs[i].validation.accuracy);
            QCOMPARE(curves->validationLoss()[qsizetype(i)].y(), m_finishedEpochs[i].valLoss);
        }
        const core::EpochEvent &last = m_finishedEpochs.back();
        for (int t = 0; t < 4; ++t) {
            for (int p = 0; p < 4; ++p) {
                QCOMPARE(view.plots()->confusion()->cellValue(t, p),
                    double(last.validation.confusion[std::size_t(t)][std::size_t(p)]));
            }
        }
        QCOMPARE(view.plots()->classBars()->accuracies()[1], last.validation.perClass[1].recall);
        QVERIFY2(view.message().contains("lora"), qPrintable(view.message()));
        QCOMPARE(view.metricsCsv().trimmed().count('\n'), 3);
    }

    void runsViewListsRunsAndErrors()
    {
        QVERIFY2(!m_finishedRun.isEmpty(), "needs the run of showsALiveRun()");
        const QString broken = m_tmp.path() + "/broken";
        QDir().mkpath(broken);
        std::ofstream((broken + "/metrics.jsonl").toStdString())
            << "{ not json\n{\"event\":\"step\"}\n";
        const QString missing = m_tmp.path() + "/missing-run";

        ui::RunsView view;
        view.resize(1000, 700);
        view.show();
        QSignalSpy activated(&view, &ui::RunsView::runActivated);
        QSignalSpy compare(&view, &ui::RunsView::compareRequested);
        view.setRuns({ m_finishedRun, broken, missing });
        QCOMPARE(view.rowCount(), 3);
        // Rows come in the given order until a header is clicked.
        QCOMPARE(ui::qs(view.history(0).dir), m_finishedRun);
        QCOMPARE(ui::qs(view.history(1).dir), broken);
        QCOMPARE(ui::qs(view.history(2).dir), missing);
        int good = -1;
        for (int row = 0; row < view.rowCount(); ++row) {
            if (ui::qs(view.history(row).dir) == m_finishedRun) {
                good = row;
                continue;
            }
            QVERIFY(view.rowHasError(row));
            const QString status = view.text(row, ui::RunsView::StatusColumn);
            QVERIFY2(
                status.contains(ui::qs(view.history(row).dir) == broken ? "metrics.jsonl"
                                                                        : "no such run folder"),
                qPrintable(status));
        }
        QVERIFY(good >= 0);
        QVERIFY(!view.rowHasError(good));
        QCOMPARE(view.text(good, ui::RunsView::MethodColumn), QString("lora"));
        QCOMPARE(view.text(good, ui::RunsView::StatusColumn), QString("completed"));
        QCOMPARE(view.text(good, ui::RunsView::EpochsColumn), QString("3 / 3"));
        const QTableWidgetItem *best = view.table()->item(good, ui::RunsView::BestAccuracyColumn);
        QCOMPARE(best->data(Qt::UserRole).toDouble(), m_bestAccuracy);
        double maxAccuracy = 0;
        for (const core::EpochEvent &e : m_finishedEpochs)
            maxAccuracy = std::max(maxAccuracy, e.validation.accuracy);
        QCOMPARE(m_bestAccuracy, maxAccuracy);
        QVERIFY(view.history(good).trainableParameters > 0);

        // With nothing selected every readable run is overlaid (one here: the broken ones have
        // no epochs); selecting the run overlays its validation accuracy per epoch.
        QCOMPARE(view.plot()->curveCount(), 1);
        view.table()->selectRow(good);
        QCOMPARE(view.plot()->curveCount(), 1);
        const ui::RunsPlot::Curve curve = view.plot()->curve(0);
        QCOMPARE(curve.accuracy.size(), qsizetype(m_finishedEpochs.size()));
        for (std::size_t i = 0; i < m_finishedEpochs.size(); ++i) {
            QCOMPARE(curve.epochs[qsizetype(i)], double(i + 1));
            QCOMPARE(curve.accuracy[qsizetype(i)], m_finishedEpochs[i].validation.accuracy);
        }

        // Double-click opens the run; the button asks for a comparison.
        const QRect rect = view.table()->visualItemRect(view.table()->item(good, 0));
        QTest::mouseClick(view.table()->viewport(), Qt::LeftButton, {}, rect.center());
        QTest::mouseDClick(view.table()->viewport(), Qt::LeftButton, {}, rect.center());
        QCOMPARE(activated.count(), 1);
        QCOMPARE(activated.first().first().toString(), m_finishedRun);
        for (QAbstractButton *b : view.findChildren<QAbstractButton *>()) {
            if (b->accessibleName() == "Compare methods")
                b->click();
        }
        QCOMPARE(compare.count(), 1);

        // Sorting keeps rows and their runs together: by best accuracy, by name.
        view.table()->sortItems(ui::RunsView::BestAccuracyColumn, Qt::DescendingOrder);
        QCOMPARE(ui::qs(view.history(0).dir), m_finishedRun);
        QCOMPARE(view.text(0, ui::RunsView::MethodColumn), QString("lora"));
        view.table()->sortItems(ui::RunsView::RunColumn, Qt::AscendingOrder);
        QCOMPARE(ui::qs(view.history(0).dir), broken);
        QVERIFY(view.rowHasError(0));
    }

    void controlsHaveShortcutsAndAccessibleNames()
    {
        ui::TrainingView view;
        for (QAction *a :
            { view.pauseAction(), view.stopAfterEpochAction(), view.cancelAction() }) {
            QVERIFY(!a->shortcut().isEmpty());
            QVERIFY(!a->toolTip().isEmpty());
            QVERIFY(!a->isEnabled()); // nothing runs yet
        }
        for (QWidget *w : view.findChildren<QWidget *>()) {
            if (qobject_cast<QAbstractButton *>(w) || qobject_cast<QListWidget *>(w)) {
                QVERIFY2(!w->accessibleName().isEmpty() || !w->toolTip().isEmpty(),
                    qPrintable(w->metaObject()->className()));
            }
        }
    }
};

QTEST_MAIN(TestTrainingView)
#include "tst_training_view.moc"
