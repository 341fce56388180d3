// SPDX-License-Identifier: MIT
// The main window, offscreen: a model folder loads in the worker thread while the event loop
// keeps running, its summary is shown, and a bad folder shows the core error instead; dropped
// folders and files are imported after the summary (simulated drops with QMimeData URLs), bad
// drops get a message naming the problem, the project saves and reopens, edits undo, and a run
// starts from the window and lands in the runs view; a run folder opened from elsewhere (a
// cluster's) is kept in the project; a corrupt project given at start is reported and another
// (or none) can be chosen.
#include "audio/audio_file.h"
#include "data_view.h"
#include "import_summary_dialog.h"
#include "inference/classifier.h"
#include "main_window.h"
#include "method_view.h"
#include "model_info_widget.h"
#include "project/project.h"
#include "project_model.h"
#include "runs_view.h"
#include "train/train_flags.h"
#include "train/trainer.h"
#include "training_view.h"
#include "word_dataset.h"

#include "train/train_flags.h"
#include <QAbstractButton>
#include <QApplication>
#include <QLabel>
#include <QMessageBox>
#include <QMimeData>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTimer>
#include <QUndoStack>

#include <QtTest>

#include <fstream>
#include <functional>

using namespace astpeft;

namespace {

// Calls `answer` with the next modal dialog of type T once it is shown: polled from the event
// loop that the dialog's exec() runs (no fixed delay).
template<typename T> void whenModal(std::function<void(T *)> answer)
{
    auto *poll = new QTimer;
    poll->setInterval(10);
    QObject::connect(poll, &QTimer::timeout, poll, [poll, answer] {
        if (auto *dialog = qobject_cast<T *>(QApplication::activeModalWidget())) {
            poll->stop();
            poll->deleteLater();
            answer(dialog);
        }
    });
    poll->start();
}

// Clicks the message box's button with `text`; fails the test when there is none.
void clickButton(QMessageBox *box, const QString &text)
{
    for (QAbstractButton *button : box->buttons()) {
        if (button->text() == text) {
            button->click();
            return;
        }
    }
    QFAIL(qPrintable("no button " + text));
}

// A main window whose folder dialog answers with `folders`, one a time (then cancels).
class ScriptedFolderWindow : public ui::MainWindow
{
public:
    QStringList folders;

protected:
    QString askProjectFolder() override
    {
        return folders.isEmpty() ? QString() : folders.takeFirst();
    }
};

// Delivers a drop to the window's own event handler (dropEvent), as a real drag would.
// QApplication::notify routes Drop events to the current target of a platform drag (none in
// an offscreen test), so sendEvent would drop them.
void deliver(QWidget &window, QDropEvent &event)
{
    static_cast<QObject &>(window).event(&event);
}
} // namespace

class TestMainWindow : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName("AST PEFT Studio tests");
        QStandardPaths::setTestModeEnabled(true); // settings and documents under ~/.qttest
        QVERIFY(m_dir.isValid());
        core::writeRandomModel((m_dir.path() + "/model").toStdString(),
            { .preset = "tiny", .maxLength = 100, .labels = { "yes", "no", "up" }, .seed = 1 });
        test::WordDatasetOptions words;
        words.words = { "yes", "no", "stop" };
        words.voices = { "en", "en+f3" };
        QCOMPARE(test::writeWordDataset(m_dir.path() + "/words", words), 3 * 2 * 2);
        std::ofstream(m_dir.filePath("words/no/broken.wav").toStdString()) << "not audio";
        QDir().mkpath(m_dir.filePath("empty"));
        std::ofstream(m_dir.filePath("notes.txt").toStdString()) << "text";
    }

    void dropImportsAfterTheSummary()
    {
        ui::MainWindow window;
        window.show();
        QVERIFY(window.newProject(m_dir.filePath("p-drop"), "drop"));
        QSignalSpy ready(&window, &ui::MainWindow::importReady);
        QSignalSpy finished(&window, &ui::MainWindow::importFinished);

        QMimeData mime;
        mime.setUrls({ QUrl::fromLocalFile(m_dir.filePath("words")) });
        QDragEnterEvent enter(
            QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&window, &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        deliver(window, drop);

        QVERIFY(ready.wait(60000));
        auto *dialog = window.findChild<ui::ImportSummaryDialog *>();
        QVERIFY(dialog);
        QVERIFY2(dialog->headline().contains("folders"), qPrintable(dialog->headline()));
        const QStringList classes = dialog->classLines();
        QCOMPARE(classes.size(), 3);
        QVERIFY2(classes[0].startsWith("no: 4 clips"), qPrintable(classes.join(" | ")));
        QVERIFY2(classes[2].startsWith("yes: 4 clips"), qPrintable(classes.join(" | ")));
        QCOMPARE(dialog->skippedLines().size(), 1);
        QVERIFY2(dialog->skippedLines()[0].contains("broken.wav: unreadable"),
            qPrintable(dialog->skippedLines()[0]));
        QVERIFY(window.project()->project().clips.empty()); // nothing added before confirming
        dialog->accept();
        QCOMPARE(finished.size(), 1);
        QCOMPARE(finished[0][0].toInt(), 12);
        QCOMPARE(window.project()->project().clips.size(), std::size_t(12));
        QCOMPARE(window.currentPage(), ui::MainWindow::Page::Data);
        const QStringList lines = window.dataView()->classLines();
        QCOMPARE(lines.size(), 3);
        QVERIFY2(lines[1].startsWith("stop: 4 clips"), qPrintable(lines.join(" | ")));

        // A second drop of loose files: labelled by their folder, merged into the classes.
        QMimeData files;
        files.setUrls({ QUrl::fromLocalFile(m_dir.filePath("words/yes/en_140_50.wav")),
            QUrl::fromLocalFile(m_dir.filePath("notes.txt")) });
        QDropEvent drop2(QPointF(5, 5), Qt::CopyAction, &files, Qt::LeftButton, Qt::NoModifier);
        deliver(window, drop2);
        QVERIFY(ready.wait(60000));
        dialog = nullptr;
        for (auto *d : window.findChildren<ui::ImportSummaryDialog *>()) {
            if (d->isVisible())
                dialog = d;
        }
        QVERIFY(dialog);
        QCOMPARE(dialog->classLines().size(), 1);
        QVERIFY(dialog->classLines()[0].startsWith("yes: 1 clips"));
        QCOMPARE(dialog->skippedLines().size(), 1);
        QVERIFY(dialog->skippedLines()[0].endsWith("notes.txt: not an audio file"));
        dialog->accept();
        // The same file again is a duplicate of a project clip: not added twice.
        QCOMPARE(window.project()->project().clips.size(), std::size_t(12));
    }

    void badDropsSayWhy_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("phrase");
        QTest::addRow("empty folder") << "empty"
                                      << "empty";
        QTest::addRow("text file") << "notes.txt"
                                   << "not an audio file";
        QTest::addRow("missing") << "nope"
                                 << "no such file or folder";
    }
    void badDropsSayWhy()
    {
        QFETCH(QString, path);
        QFETCH(QString, phrase);
        ui::MainWindow window;
        window.show();
        QVERIFY(window.newProject(m_dir.filePath("p-bad-" + path), "bad"));
        QSignalSpy failed(&window, &ui::MainWindow::importFailed);
        QMimeData mime;
        mime.setUrls({ QUrl::fromLocalFile(m_dir.filePath(path)) });
        QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        deliver(window, drop);
        QVERIFY(failed.wait(30000));
        const QString message = failed[0][0].toString();
        QVERIFY2(message.contains(m_dir.filePath(path)), qPrintable(message));
        QVERIFY2(message.contains(phrase, Qt::CaseInsensitive), qPrintable(message));
        auto *box = window.findChild<QMessageBox *>();
        QVERIFY(box);
        QCOMPARE(box->text(), message);
        QVERIFY(window.project()->project().clips.empty());
    }

    void webUrlsAreRefused()
    {
        ui::MainWindow window;
        QVERIFY(window.newProject(m_dir.filePath("p-web"), "web"));
        QMimeData mime;
        mime.setUrls({ QUrl("https://example.org/dog.wav") });
        QDragEnterEvent enter(QPoint(1, 1), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&window, &enter);
        QVERIFY(!enter.isAccepted());
        QDropEvent drop(QPointF(1, 1), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        deliver(window, drop);
        auto *box = window.findChild<QMessageBox *>();
        QVERIFY(box);
        QVERIFY2(box->text().contains("https://example.org/dog.wav"), qPrintable(box->text()));
        QVERIFY(window.project()->project().clips.empty());
    }

    void projectSavesReopensAndUndoes()
    {
        const QString dir = m_dir.filePath("p-save");
        {
            ui::MainWindow window;
            QVERIFY(window.newProject(dir, "save"));
            QSignalSpy ready(&window, &ui::MainWindow::importReady);
            window.importPaths({ m_dir.filePath("words") });
            QVERIFY(ready.wait(60000));
            window.findChild<ui::ImportSummaryDialog *>()->accept();
            // Delete the "stop" class's first clip, undo, redo: the edit is exact both ways.
            ui::DataView *data = window.dataView();
            data->selectClass("stop");
            const QList<quint64> first = { window.project()->project().clips[4].id };
            QVERIFY(window.project()->project().clips[4].label == "stop");
            data->selectClips(first);
            data->deleteSelectedClips();
            QCOMPARE(window.project()->project().clips.size(), std::size_t(11));
            window.project()->undoStack()->undo();
            QCOMPARE(window.project()->project().clips.size(), std::size_t(12));
            window.project()->undoStack()->redo();
            QCOMPARE(window.project()->project().clips.size(), std::size_t(11));
            QVERIFY(window.project()->save());
            QVERIFY(window.windowTitle().startsWith("save"));
        }
        ui::MainWindow reopened;
        QVERIFY(reopened.openProject(dir));
        QCOMPARE(reopened.project()->project().clips.size(), std::size_t(11));
        QCOMPARE(reopened.dataView()->classLines().size(), 3);
        QVERIFY(reopened.dataView()->classLines()[1].startsWith("stop: 3 clips"));
        QVERIFY(ui::ProjectModel::recentProjects().contains(dir));
    }

    // A run folder outside the project, opened in the Runs view, is stored in project.json (as an
    // absolute path) and listed again when the project is reopened.
    void opensARunFolderIntoTheProject()
    {
        const QString dir = m_dir.filePath("p-runs");
        const QString run = m_dir.filePath("cluster/run-1");
        QVERIFY(QDir().mkpath(run));
        std::ofstream(QDir(run).filePath("metrics.jsonl").toStdString())
            << "{\"event\": \"import\", \"classes\": [\"a\", \"b\"], \"method\": \"lora\"}\n";
        {
            ui::MainWindow window;
            QVERIFY(window.newProject(dir, "runs"));
            QSignalSpy added(window.runsView(), &ui::RunsView::runsAdded);
            QCOMPARE(window.runsView()->addRuns({ run }), QStringList { run });
            QCOMPARE(added.count(), 1);
            QCOMPARE(window.project()->project().runs.size(), std::size_t(1));
            QCOMPARE(window.project()->project().runs[0], std::filesystem::path(run.toStdString()));
            QVERIFY(window.runsView()->followedRuns().contains(run));
            QVERIFY(window.project()->save());
        }
        ui::MainWindow reopened;
        QVERIFY(reopened.openProject(dir));
        QCOMPARE(reopened.runsView()->runs(), QStringList { run });
        QCOMPARE(reopened.runsView()->text(0, ui::RunsView::MethodColumn), QString("lora"));
    }

    void trainsFromTheWindow()
    {
        ui::MainWindow window;
        window.show();
        QSignalSpy opened(&window, &ui::MainWindow::modelOpened);
        window.openModel(m_dir.path() + "/model");
        QVERIFY(opened.wait(30000));
        QVERIFY(window.newProject(m_dir.filePath("p-train"), "train"));
        // Without clips the window refuses, with the reason, and nothing starts.
        QVERIFY(!window.startTraining());
        auto *box = window.findChild<QMessageBox *>();
        QVERIFY(box && box->text().contains("two classes"));
        box->close();

        // The words with a _background_noise_ folder: its file becomes the project's noise.
        const std::filesystem::path words = m_dir.filePath("words-noise").toStdString();
        std::filesystem::copy(
            m_dir.filePath("words").toStdString(), words, std::filesystem::copy_options::recursive);
        std::filesystem::create_directories(words / "_background_noise_");
        std::vector<float> hiss(16000);
        for (std::size_t i = 0; i < hiss.size(); ++i)
            hiss[i] = 0.1f * float((i * 7919) % 201) / 100.0f - 0.1f;
        core::writeAudio(words / "_background_noise_" / "hiss.wav", hiss, 16000, 1);
        QSignalSpy ready(&window, &ui::MainWindow::importReady);
        window.importPaths({ QString::fromStdString(words.string()) });
        QVERIFY(ready.wait(60000));
        window.findChild<ui::ImportSummaryDialog *>()->accept();
        QCOMPARE(window.project()->project().noise.size(), std::size_t(1));

        core::TrainOptions o;
        window.methodView()->applyTo(o);
        o.epochs = 2;
        o.batchSize = 4;
        o.augment.noiseProbability = 0.5;
        window.methodView()->setFrom(o);
        QSignalSpy finished(window.trainingView(), &ui::TrainingView::finished);
        QSignalSpy started(&window, &ui::MainWindow::trainingStarted);
        QVERIFY(window.startTraining());
        QCOMPARE(window.currentPage(), ui::MainWindow::Page::Train);
        QVERIFY(finished.wait(300000));
        const auto event = finished[0][0].value<core::FinishedEvent>();
        QCOMPARE(event.reason, core::FinishReason::Completed);
        QCOMPARE(event.epochsCompleted, 2);
        const QString run = started[0][0].toString();
        QVERIFY(QFile::exists(run + "/metrics.jsonl"));
        QVERIFY(QFile::exists(run + "/adapter_model.safetensors"));
        // The run belongs to the project and the runs view lists it.
        QCOMPARE(window.project()->project().runs.size(), std::size_t(1));
        QVERIFY(window.runsView()->runs().contains(run));
        // The manifest the run trained on lists the project's clips.
        const core::Dataset trained = core::importDataset(
            event.runDir.parent_path().parent_path() / "cache" / "manifest.csv");
        QCOMPARE(trained.clips.size(), std::size_t(12));
        // The manifest cannot list noise: the project's noise file went to the trainer beside
        // it, and the run records it (options.json) and shows it (command.txt).
        std::ifstream options((event.runDir / "options.json").string());
        const std::string text((std::istreambuf_iterator<char>(options)), {});
        const core::TrainOptions saved = core::parseTrainOptions(text);
        QCOMPARE(saved.augment.noiseProbability, 0.5);
        QCOMPARE(saved.noiseFiles,
            std::vector<std::filesystem::path> { words / "_background_noise_" / "hiss.wav" });
        std::ifstream command((event.runDir / "command.txt").string());
        const std::string line((std::istreambuf_iterator<char>(command)), {});
        QVERIFY2(
            line.find("--noise 0.5 --noise-files " + core::shellQuote(saved.noiseFiles[0].string()))
                != std::string::npos,
            line.c_str());
    }

    // "Compare methods...": core::compare in the training worker. Each method that trains
    // becomes a run of the project; one the budget cannot fit (full fine-tuning at 1%) is
    // reported and the others go on; the table is written beside the runs.
    void comparesMethods()
    {
        ui::MainWindow window;
        window.show();
        QSignalSpy opened(&window, &ui::MainWindow::modelOpened);
        window.openModel(m_dir.path() + "/model");
        QVERIFY(opened.wait(30000));
        QVERIFY(window.newProject(m_dir.filePath("p-compare"), "compare"));
        QSignalSpy ready(&window, &ui::MainWindow::importReady);
        window.importPaths({ m_dir.filePath("words") });
        QVERIFY(ready.wait(60000));
        window.findChild<ui::ImportSummaryDialog *>()->accept();
        core::TrainOptions o;
        window.methodView()->applyTo(o);
        o.epochs = 1;
        o.batchSize = 4;
        window.methodView()->setFrom(o);

        QSignalSpy started(&window, &ui::MainWindow::trainingStarted);
        QSignalSpy failed(window.trainingView(), &ui::TrainingView::failed);
        QSignalSpy done(window.trainingView(), &ui::TrainingView::comparisonFinished);
        QVERIFY(window.startComparison({ "linear", "full", "lora" }, "1%"));
        QVERIFY(window.trainingView()->isComparing());
        QVERIFY(!window.startTraining()); // one job at a time
        QVERIFY(done.wait(300000));
        QVERIFY2(done[0][1].toString().isEmpty(), qPrintable(done[0][1].toString()));
        QVERIFY(!window.trainingView()->isRunning());
        QCOMPARE(started.size(), 2);
        QVERIFY(started[0][0].toString().endsWith("-linear"));
        QVERIFY(started[1][0].toString().endsWith("-lora"));
        QCOMPARE(window.project()->project().runs.size(), std::size_t(2));
        QCOMPARE(failed.size(), 1);
        QVERIFY2(failed[0][0].toString().startsWith("full: ")
                && failed[0][0].toString().contains("over the budget"),
            qPrintable(failed[0][0].toString()));

        QFile csv(done[0][0].toString() + "/comparison.csv");
        QVERIFY(csv.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = csv.readAll().trimmed().split('\n');
        QCOMPARE(lines.size(), 4);
        QVERIFY(lines[1].startsWith("linear,") && lines[1].endsWith(",\"completed\""));
        QVERIFY(lines[2].startsWith("full,0,"));
        QVERIFY(lines[3].startsWith("lora,") && lines[3].endsWith(",\"completed\""));
        QVERIFY(QFile::exists(done[0][0].toString() + "/comparison.md"));
        for (const QList<QVariant> &run : started)
            QVERIFY(window.runsView()->runs().contains(run[0].toString()));
    }

    void opensAModelInTheBackground()
    {
        ui::MainWindow window;
        window.show();
        QSignalSpy opened(&window, &ui::MainWindow::modelOpened);
        // A timer on the GUI thread keeps firing while the worker loads: the loop is not blocked.
        int ticks = 0;
        QTimer timer;
        connect(&timer, &QTimer::timeout, [&] { ++ticks; });
        timer.start(1);
        window.openModel(m_dir.path() + "/model");
        QVERIFY(opened.wait(30000));
        QVERIFY(ticks > 0);
        QCOMPARE(opened.first().first().toString(), m_dir.path() + "/model");
        ui::ModelInfoWidget *info = window.modelInfo();
        QCOMPARE(info->labels(), (QStringList { "yes", "no", "up" }));
        QVERIFY2(info->field("architecture").contains("2 layers"),
            qPrintable(info->field("architecture")));
        QVERIFY2(info->field("input").contains("100 frames"), qPrintable(info->field("input")));
        QVERIFY(info->field("head").contains("3 labels"));
        QVERIFY(info->field("message").isEmpty());
    }

    void showsTheErrorOfABadFolder_data()
    {
        QTest::addColumn<QString>("setup");
        QTest::addColumn<QString>("phrase");
        QTest::addRow("missing") << "missing"
                                 << "no such model folder";
        QTest::addRow("pickle") << "pickle"
                                << "convert_pickle_to_safetensors.py";
        QTest::addRow("bad config") << "config"
                                    << "config.json";
    }
    void showsTheErrorOfABadFolder()
    {
        QFETCH(QString, setup);
        QFETCH(QString, phrase);
        QTemporaryDir tmp;
        QString path = tmp.path() + "/m";
        QDir().mkpath(path);
        if (setup == "missing") {
            path += "/nope";
        } else if (setup == "pickle") {
            std::ofstream((path + "/pytorch_model.bin").toStdString()) << "x";
        } else {
            core::writeRandomModel(path.toStdString(),
                { .preset = "tiny", .maxLength = 100, .labels = {}, .seed = 2 });
            std::ofstream((path + "/config.json").toStdString()) << "{ not json";
        }
        ui::MainWindow window;
        QSignalSpy failed(&window, &ui::MainWindow::modelFailed);
        window.openModel(path);
        QVERIFY(failed.wait(30000));
        const QString message = window.modelInfo()->field("message");
        QVERIFY2(message.contains(phrase), qPrintable(message));
        QVERIFY(window.modelInfo()->labels().isEmpty());
    }

    // Issue 17, defect 9: astpeft-studio --project with a corrupt project exited 1 and took its
    // message box with it. The box names the file and the problem and offers another project
    // (asked again while that fails too), none, or Quit.
    void corruptStartupProjectOffersAnother()
    {
        QTemporaryDir tmp;
        const QString bad = tmp.path() + "/bad";
        QVERIFY(QDir().mkpath(bad));
        std::ofstream((bad + "/project.json").toStdString()) << "{ not json";
        const QString good = tmp.path() + "/good";
        core::createProject(good.toStdString(), "good");

        // The folder dialog is answered with the corrupt project again, then the good one.
        ScriptedFolderWindow window;
        window.folders = { bad, good };
        window.show();
        QStringList messages;
        const auto answer = [&](QMessageBox *box) {
            messages << box->text();
            clickButton(box, "Open another project...");
        };
        whenModal<QMessageBox>([&](QMessageBox *box) {
            whenModal<QMessageBox>(answer); // the second time, after the corrupt one again
            answer(box);
        });
        QVERIFY(window.openStartupProject(bad));
        QCOMPARE(messages.size(), 2);
        for (const QString &message : messages) {
            QVERIFY2(message.contains(bad + "/project.json: not valid JSON"), qPrintable(message));
        }
        QVERIFY(window.project()->isOpen());
        QCOMPARE(window.project()->dir(), QDir(good).absolutePath());
        QVERIFY(window.folders.isEmpty());
    }

    void corruptStartupProjectStartsWithNoneOrQuits_data()
    {
        QTest::addColumn<QString>("button");
        QTest::addColumn<bool>("goesOn");
        QTest::addRow("start without") << "Start without a project" << true;
        QTest::addRow("quit") << "Quit" << false;
    }
    void corruptStartupProjectStartsWithNoneOrQuits()
    {
        QFETCH(QString, button);
        QFETCH(bool, goesOn);
        QTemporaryDir tmp;
        std::ofstream((tmp.path() + "/project.json").toStdString()) << "[]";
        ui::MainWindow window;
        window.show();
        QString message;
        whenModal<QMessageBox>([&](QMessageBox *box) {
            message = box->text();
            clickButton(box, button);
        });
        QCOMPARE(window.openStartupProject(tmp.path()), goesOn);
        QVERIFY2(message.startsWith(tmp.path() + "/project.json: "), qPrintable(message));
        QVERIFY(!window.project()->isOpen());
        // Without asking (--quit-after): no box, the failure is returned.
        QVERIFY(!window.openStartupProject(tmp.path(), false));
    }

    void hasShortcutsAndAccessibleNames()
    {
        ui::MainWindow window;
        bool hasOpen = false;
        bool hasStart = false;
        for (QAction *a : window.findChildren<QAction *>()) {
            hasOpen |= a->shortcut() == QKeySequence(QKeySequence::Open);
            hasStart |= a->shortcut() == QKeySequence(Qt::CTRL | Qt::Key_Return);
        }
        QVERIFY(hasOpen);
        QVERIFY(hasStart);
        for (QLabel *l : window.modelInfo()->findChildren<QLabel *>()) {
            if (!l->objectName().isEmpty())
                QVERIFY2(!l->accessibleName().isEmpty(), qPrintable(l->objectName()));
        }
    }

private:
    QTemporaryDir m_dir;
};

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
