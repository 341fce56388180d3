// SPDX-License-Identifier: MIT
// The Runs view following runs in progress, offscreen: a metrics.jsonl written in steps (import,
// steps, an epoch, a line written in two parts, finished) updates its row and curve as it grows,
// a half-written line is never shown as an error, a log cut back (a resumed run) is read again,
// a folder that disappears shows its error, and following stops when the run finishes or its row
// goes. Run folders are added from a folder of runs and by a simulated drop. The Training view
// shows such a run read-only and its curves grow with the log.
#include "plots/curves_plot.h"
#include "plots/runs_plot.h"
#include "plots/training_plots.h"
#include "runs_view.h"
#include "train/metrics.h"
#include "train/run_log.h"
#include "train/trainer.h"
#include "training_view.h"

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QMimeData>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QUrl>

#include <QtTest>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace astpeft;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kLabels = { "no", "yes" };

std::string importLine()
{
    core::ImportEvent e;
    e.labels = kLabels;
    for (const std::string &l : kLabels)
        e.summary.classes.push_back({ .label = l, .clips = 4, .seconds = 2.0, .perSplit = {} });
    e.peft.method = core::PeftMethod::Lora;
    e.parameters.methodModules = 1000;
    e.parameters.head = 2;
    return core::eventJson(e);
}

std::string stepLine(int epoch, int step)
{
    return core::eventJson(core::StepEvent {
        .epoch = epoch, .step = step, .totalSteps = 6, .loss = 1.0 / step, .learningRate = 1e-3 });
}

std::string epochLine(int epoch, double accuracy)
{
    core::EpochEvent e;
    e.epoch = epoch;
    e.epochs = 3;
    e.trainLoss = 0.5;
    e.hasValidation = true;
    e.valLoss = 0.4;
    e.validation = core::computeMetrics({ 0, 1, 0, 1 }, { 0, 1, 0, 1 }, 2);
    e.validation.accuracy = accuracy;
    e.seconds = 2.0;
    e.labels = kLabels;
    return core::eventJson(e);
}

std::string finishedLine()
{
    core::FinishedEvent e;
    e.reason = core::FinishReason::Completed;
    e.epochsCompleted = 3;
    e.bestEpoch = 3;
    e.bestValAccuracy = 0.75;
    e.seconds = 6.0;
    e.trainableParameters = 1002;
    e.method = "lora";
    e.labels = kLabels;
    return core::eventJson(e);
}

void append(const QString &file, const std::string &text)
{
    std::ofstream(file.toStdString(), std::ios::binary | std::ios::app) << text;
}

} // namespace

class TestRunsView : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    int m_runs = 0;

    QString newRun()
    {
        const QString run = m_dir.filePath(QStringLiteral("run-%1").arg(++m_runs));
        QDir().mkpath(run);
        return run;
    }
    static QString metrics(const QString &run)
    {
        return QDir(run).filePath(QString::fromLatin1(core::RunFiles::metrics));
    }

private Q_SLOTS:
    // The whole life of a run written while the view follows it.
    void followsGrowingLog()
    {
        const QString run = newRun(), log = metrics(run);
        append(log, importLine() + "\n");
        ui::RunsView view;
        view.setRuns({ run });
        QSignalSpy updated(&view, &ui::RunsView::runUpdated);
        QCOMPARE(view.followedRuns(), QStringList { run });
        QVERIFY(view.isRunning(0)); // written just now
        QCOMPARE(view.text(0, ui::RunsView::MethodColumn), QString("lora"));
        QCOMPARE(view.text(0, ui::RunsView::StatusColumn), QString("running, epoch 1"));
        QCOMPARE(view.plot()->curveCount(), 0);

        append(log, stepLine(1, 1) + "\n" + stepLine(1, 2) + "\n" + epochLine(1, 0.5) + "\n");
        QTRY_COMPARE(view.history(0).epochs.size(), std::size_t(1));
        QCOMPARE(view.history(0).steps.size(), std::size_t(2));
        QCOMPARE(view.text(0, ui::RunsView::EpochsColumn), QString("1 / 3"));
        QCOMPARE(view.text(0, ui::RunsView::StatusColumn), QString("running, epoch 2 / 3"));
        QCOMPARE(view.text(0, ui::RunsView::BestAccuracyColumn), QString("50.0%"));
        QCOMPARE(view.plot()->curveCount(), 1);
        QCOMPARE(view.plot()->curve(0).accuracy, QVector<double>({ 0.5 }));
        QVERIFY(!updated.isEmpty());

        // A line written in two parts: the first half is neither an event nor an error.
        const std::string epoch2 = epochLine(2, 0.625);
        append(log, stepLine(2, 3) + "\n" + epoch2.substr(0, epoch2.size() / 2));
        QTRY_COMPARE(view.history(0).steps.size(), std::size_t(3));
        for (int i = 0; i < 3; ++i) { // a few more reads of the same half line
            view.poll();
            QVERIFY2(!view.rowHasError(0), qPrintable(view.text(0, ui::RunsView::StatusColumn)));
            QCOMPARE(view.history(0).epochs.size(), std::size_t(1));
        }
        append(log, epoch2.substr(epoch2.size() / 2) + "\n");
        QTRY_COMPARE(view.history(0).epochs.size(), std::size_t(2));
        QCOMPARE(view.plot()->curve(0).accuracy, QVector<double>({ 0.5, 0.625 }));
        QCOMPARE(view.text(0, ui::RunsView::BestAccuracyColumn), QString("62.5%"));

        append(log, stepLine(3, 4) + "\n" + epochLine(3, 0.75) + "\n");
        QTRY_COMPARE(view.text(0, ui::RunsView::StatusColumn), QString("running, finishing"));
        append(log, finishedLine() + "\n");
        QTRY_COMPARE(view.text(0, ui::RunsView::StatusColumn), QString("completed"));
        QCOMPARE(view.text(0, ui::RunsView::EpochsColumn), QString("3 / 3"));
        QVERIFY(view.followedRuns().isEmpty());
        QVERIFY(!view.isRunning(0));
        QCOMPARE(view.plot()->curve(0).accuracy.size(), 3);

        // Not followed any more: what is appended now is not read (until a refresh).
        updated.clear();
        append(log, stepLine(3, 5) + "\n");
        QTest::qWait(ui::RunsView::kPollMs + 300);
        QCOMPARE(updated.count(), 0);
        QCOMPARE(view.history(0).steps.size(), std::size_t(4));
    }

    // A resumed run cuts its log back to its checkpoint and appends again.
    void cutBackLogIsReadAgain()
    {
        const QString run = newRun(), log = metrics(run);
        append(log,
            importLine() + "\n" + stepLine(1, 1) + "\n" + epochLine(1, 0.5) + "\n" + stepLine(2, 2)
                + "\n" + stepLine(2, 3) + "\n");
        ui::RunsView view;
        view.setRuns({ run });
        QCOMPARE(view.history(0).steps.size(), std::size_t(3));
        {
            std::ofstream(log.toStdString(), std::ios::binary | std::ios::trunc)
                << importLine() + "\n" + stepLine(1, 1) + "\n" + epochLine(1, 0.5) + "\n";
        }
        QTRY_COMPARE(view.history(0).steps.size(), std::size_t(1));
        QCOMPARE(view.history(0).epochs.size(), std::size_t(1));
        QVERIFY(!view.rowHasError(0));
        append(log, stepLine(2, 2) + "\n" + epochLine(2, 0.7) + "\n");
        QTRY_COMPARE(view.history(0).epochs.size(), std::size_t(2));
        QCOMPARE(view.history(0).steps.size(), std::size_t(2));
    }

    // A followed folder that disappears: its error in the row; the other rows carry on.
    void vanishedFolderShowsError()
    {
        const QString gone = newRun(), other = newRun();
        append(metrics(gone), importLine() + "\n");
        append(metrics(other), importLine() + "\n");
        ui::RunsView view;
        view.setRuns({ gone, other });
        QVERIFY(!view.rowHasError(0));
        QVERIFY(QDir(gone).removeRecursively());
        QTRY_VERIFY(view.rowHasError(0));
        QVERIFY2(view.text(0, ui::RunsView::StatusColumn).contains("no such run folder"),
            qPrintable(view.text(0, ui::RunsView::StatusColumn)));
        append(metrics(other), stepLine(1, 1) + "\n");
        QTRY_COMPARE(view.history(1).steps.size(), std::size_t(1));

        view.setRuns({}); // the rows went: nothing is followed
        QVERIFY(view.followedRuns().isEmpty());
    }

    // A large log is listed at once and read to its end in slices.
    void largeLogReadInSlices()
    {
        const QString run = newRun(), log = metrics(run);
        {
            std::ofstream out(log.toStdString(), std::ios::binary);
            out << importLine() << '\n';
            for (int i = 1; i <= 20000; ++i)
                out << stepLine(1, i) << '\n';
            out << epochLine(1, 0.5) << '\n' << finishedLine() << '\n';
        }
        QVERIFY(QFileInfo(log).size() > 2 * ui::RunsView::kSliceBytes);
        ui::RunsView view;
        QElapsedTimer clock;
        clock.start();
        view.setRuns({ run });
        qInfo("setRuns of a %.1f MB log: %lld ms", double(QFileInfo(log).size()) / 1e6,
            clock.elapsed());
        QCOMPARE(view.text(0, ui::RunsView::StatusColumn), QString("reading..."));
        QTRY_COMPARE(view.text(0, ui::RunsView::StatusColumn), QString("completed"));
        QCOMPARE(view.history(0).steps.size(), std::size_t(20000));
        QVERIFY(view.followedRuns().isEmpty());
    }

    // Open run folder: a run folder, a folder of runs, and a folder that is neither; a drop.
    void addRunFolders()
    {
        const QString one = newRun();
        append(metrics(one), importLine() + "\n" + finishedLine() + "\n");
        const QString parent = m_dir.filePath("cluster");
        QDir().mkpath(parent + "/a");
        QDir().mkpath(parent + "/b");
        QDir().mkpath(parent + "/not-a-run");
        append(metrics(parent + "/a"), importLine() + "\n");
        append(metrics(parent + "/b"), importLine() + "\n" + finishedLine() + "\n");
        const QString empty = m_dir.filePath("empty");
        QDir().mkpath(empty);

        ui::RunsView view;
        QSignalSpy added(&view, &ui::RunsView::runsAdded);
        QStringList problems;
        QCOMPARE(view.addRuns({ one, parent, empty }, &problems),
            QStringList({ one, parent + "/a", parent + "/b" }));
        QCOMPARE(added.count(), 1);
        QCOMPARE(problems.size(), 1);
        QVERIFY2(problems[0].contains("not a run folder"), qPrintable(problems[0]));
        QCOMPARE(view.rowCount(), 3);
        QCOMPARE(view.followedRuns(), QStringList { parent + "/a" });
        QVERIFY(view.addRuns({ one }).isEmpty()); // listed once

        const QString dropped = newRun();
        append(metrics(dropped), importLine() + "\n");
        QMimeData mime;
        mime.setUrls({ QUrl::fromLocalFile(dropped) });
        QDragEnterEvent enter(QPoint(5, 5), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&view, &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(5, 5), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        static_cast<QObject &>(view).event(&drop);
        QCOMPARE(view.rowCount(), 4);
        QCOMPARE(added.count(), 2);
        QCOMPARE(added.last().at(0).toStringList(), QStringList { dropped });
        QVERIFY(view.followedRuns().contains(dropped));

        // A folder without runs is left to the window (a dataset drop).
        QMimeData other;
        other.setUrls({ QUrl::fromLocalFile(empty) });
        QDragEnterEvent ignored(
            QPoint(5, 5), Qt::CopyAction, &other, Qt::LeftButton, Qt::NoModifier);
        static_cast<QObject &>(view).event(&ignored);
        QVERIFY(!ignored.isAccepted());
    }

    // The Training view follows an unfinished run it shows (a double-click in the Runs view).
    void trainingViewFollowsRun()
    {
        const QString run = newRun(), log = metrics(run);
        append(log, importLine() + "\n" + stepLine(1, 1) + "\n");
        ui::TrainingView view;
        view.showRun(run);
        QCOMPARE(view.shownRun(), run);
        QVERIFY(view.isFollowing());
        const ui::CurvesPlot *curves = view.plots()->curves();
        QCOMPARE(curves->rawLoss().size(), 1);
        QVERIFY2(view.phaseText().contains("following"), qPrintable(view.phaseText()));

        const std::string epoch = epochLine(1, 0.5);
        append(log, stepLine(1, 2) + "\n" + epoch.substr(0, 40));
        QTRY_COMPARE(curves->rawLoss().size(), 2);
        QCOMPARE(curves->validationAccuracy().size(), 0);
        QVERIFY2(view.message().isEmpty(), qPrintable(view.message())); // no error
        append(log, epoch.substr(40) + "\n");
        QTRY_COMPARE(curves->validationAccuracy().size(), 1);
        QCOMPARE(curves->validationAccuracy()[0], QPointF(2, 0.5)); // at the epoch's last step

        // Cut back to the first step (resumed), then on to the end.
        {
            std::ofstream(log.toStdString(), std::ios::binary | std::ios::trunc)
                << importLine() + "\n" + stepLine(1, 1) + "\n";
        }
        QTRY_COMPARE(curves->rawLoss().size(), 1);
        QCOMPARE(curves->validationAccuracy().size(), 0);
        append(log, stepLine(1, 2) + "\n" + epoch + "\n" + finishedLine() + "\n");
        QTRY_VERIFY(!view.isFollowing());
        QCOMPARE(curves->rawLoss().size(), 2);
        QCOMPARE(curves->validationAccuracy().size(), 1);
        QVERIFY2(view.message().contains("lora"), qPrintable(view.message()));
        QVERIFY2(view.phaseText().contains("completed"), qPrintable(view.phaseText()));
    }
};

QTEST_MAIN(TestRunsView)
#include "tst_runs_view.moc"
