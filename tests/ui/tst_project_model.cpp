// SPDX-License-Identifier: MIT
// ui/ProjectModel: every undoable edit, undone and redone, restores the exact clip list and
// classes; autosave writes project.json after an edit (and after an undo) and a reopened
// project shows it; the recent-projects list; a failed save (read-only folder, a folder that
// vanished) emits saveFailed and keeps the edit in memory until a later save succeeds.
#include "audio/audio_file.h"
#include "data/dataset.h"
#include "project/project.h"
#include "project_model.h"

#include <QDir>
#include <QFile>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <numbers>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

using namespace astpeft;
namespace fs = std::filesystem;

namespace {

void writeTone(const fs::path &path, double seconds, double frequency)
{
    fs::create_directories(path.parent_path());
    const int rate = 16000;
    std::vector<float> samples(std::size_t(std::llround(seconds * rate)));
    for (std::size_t i = 0; i < samples.size(); ++i)
        samples[i] = float(0.3 * std::sin(2.0 * std::numbers::pi * frequency * double(i) / rate));
    core::writeAudio(path, samples, rate);
}

QByteArray readFile(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// The state an undo must restore: every clip field and the class list.
struct State
{
    std::vector<core::ProjectClip> clips;
    std::vector<std::string> classes;
    bool operator==(const State &) const = default;
};
State stateOf(const ui::ProjectModel &model)
{
    return { model.project().clips, model.project().classes };
}

QString describe(const State &s)
{
    QStringList out;
    for (const auto &c : s.clips) {
        out << QString("%1:%2:%3:%4-%5")
                   .arg(c.id)
                   .arg(QString::fromStdString(c.file.string()), QString::fromStdString(c.label))
                   .arg(c.trimStart)
                   .arg(c.trimEnd);
    }
    QStringList classes;
    for (const auto &c : s.classes)
        classes << QString::fromStdString(c);
    return out.join(' ') + " | " + classes.join(',');
}

quint64 idOf(const ui::ProjectModel &model, const char *fileName)
{
    for (const auto &c : model.project().clips) {
        if (c.file.filename() == fileName)
            return c.id;
    }
    return 0;
}

} // namespace

class TestProjectModel : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_settings.isValid());
        QCoreApplication::setOrganizationName("AST PEFT Studio tests");
        QCoreApplication::setApplicationName("tst_project_model");
        QSettings::setDefaultFormat(QSettings::IniFormat);
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_settings.path());
        QSettings().remove("project/recent");

        QVERIFY(m_data.isValid());
        const fs::path root = m_data.path().toStdString();
        double f = 300;
        for (const char *name :
            { "yes/y1.wav", "yes/y2.wav", "yes/y3.wav", "no/n1.wav", "no/n2.wav", "up/u1.wav" })
            writeTone(root / name, 0.5, f += 40);
    }

    void everyEditUndoesAndRedoesExactly()
    {
        QTemporaryDir dir;
        ui::ProjectModel model;
        QString error;
        QVERIFY2(model.create(dir.path() + "/p", "p", &error), qPrintable(error));
        QVERIFY(model.isOpen());
        QUndoStack *stack = model.undoStack();
        std::vector<State> states { stateOf(model) };

        // Applies `edit`, checks it changed something, that undo restores the state before and
        // redo the state after, exactly.
        auto check = [&](const char *what, auto &&edit) {
            const State before = stateOf(model);
            const int index = stack->index();
            edit();
            const State after = stateOf(model);
            QVERIFY2(!(after == before), what);
            QCOMPARE(stack->index(), index + 1);
            stack->undo();
            QVERIFY2(stateOf(model) == before,
                qPrintable(
                    QString(what) + ": " + describe(stateOf(model)) + " vs " + describe(before)));
            stack->redo();
            QVERIFY2(stateOf(model) == after, what);
            states.push_back(after);
        };

        QSignalSpy clipsChanged(&model, &ui::ProjectModel::clipsChanged);
        QSignalSpy classesChanged(&model, &ui::ProjectModel::classesChanged);
        QList<quint64> imported;
        check("import", [&] {
            imported = model.addDataset(core::importDataset(m_data.path().toStdString()), "Import");
        });
        QCOMPARE(imported.size(), 6);
        QCOMPARE(stack->text(0), QString("Import"));
        QVERIFY(clipsChanged.count() >= 3 && classesChanged.count() >= 3);
        QCOMPARE(model.project().classes, (std::vector<std::string> { "no", "up", "yes" }));
        // The same import again adds nothing and pushes no command.
        QVERIFY(model.addDataset(core::importDataset(m_data.path().toStdString()), "").isEmpty());
        QCOMPARE(stack->count(), 1);

        const fs::path recording =
            core::newRecordingPath(model.project(), "down").lexically_normal();
        writeTone(recording, 0.75, 1000);
        quint64 recorded = 0;
        check("record", [&] {
            recorded = model.addRecording(QString::fromStdString(recording.string()), " down ");
        });
        QVERIFY(recorded > 0);
        const core::ProjectClip *clip = model.clip(recorded);
        QVERIFY(clip);
        QCOMPARE(clip->file, fs::path("recordings/down/down_001.wav"));
        QCOMPARE(clip->label, std::string("down"));
        QVERIFY(clip->recorded);
        QCOMPARE(clip->sampleRate, 16000);
        QCOMPARE(clip->seconds, 0.75);

        const quint64 y1 = idOf(model, "y1.wav"), y2 = idOf(model, "y2.wav");
        const quint64 n1 = idOf(model, "n1.wav"), u1 = idOf(model, "u1.wav");
        QVERIFY(y1 && y2 && n1 && u1);
        check("relabel", [&] { model.relabel({ y1, n1 }, "up"); });
        QCOMPARE(model.clip(y1)->label, std::string("up"));
        check("relabel to a new class", [&] { model.relabel({ y2 }, "maybe"); });
        QCOMPARE(model.project().classes.back(), std::string("maybe"));
        check("remove", [&] { model.removeClips({ y1, u1, 999 }); });
        QVERIFY(!model.clip(y1));
        check("trim", [&] { QVERIFY(model.trim(n1, 0.1, 0.4)); });
        QCOMPARE(model.clip(n1)->trimEnd, 0.4);
        QVERIFY(!model.trim(n1, 0.4, 0.1)); // end before start: refused, no command
        QVERIFY(!model.trim(n1, 0.6, 0.0)); // starts after the file's end
        check("add class", [&] { model.addClass("left"); });
        check("rename class", [&] { model.renameClass("yes", "yeah"); });
        QCOMPARE(model.clip(idOf(model, "y3.wav"))->label, std::string("yeah"));
        check("merge classes", [&] { model.renameClass("maybe", "up"); });
        QCOMPARE(model.clip(y2)->label, std::string("up"));
        check("remove class", [&] { model.removeClass("up"); });
        QVERIFY(!model.clip(n1) && !model.clip(y2));
        QCOMPARE(
            model.project().classes, (std::vector<std::string> { "no", "yeah", "down", "left" }));

        // All the way back to the empty project and forward again, step by step.
        for (std::size_t i = states.size() - 1; i > 0; --i) {
            stack->undo();
            QVERIFY2(stateOf(model) == states[i - 1], qPrintable(QString::number(i)));
        }
        for (std::size_t i = 1; i < states.size(); ++i) {
            stack->redo();
            QVERIFY2(stateOf(model) == states[i], qPrintable(QString::number(i)));
        }
        // Ids are never reused: a new clip after all this gets a fresh one.
        stack->undo();
        stack->undo();
        QCOMPARE(model.addRecording(QString::fromStdString(recording.string()), "x"), quint64(0));
        const fs::path another = core::newRecordingPath(model.project(), "x");
        writeTone(another, 0.2, 1200);
        const quint64 fresh = model.addRecording(QString::fromStdString(another.string()), "x");
        QVERIFY(fresh > 0);
        for (const State &s : states) {
            for (const auto &c : s.clips)
                QVERIFY(c.id != fresh);
        }
    }

    void autosaveWritesTheEdit()
    {
        QTemporaryDir dir;
        const QString path = dir.path() + "/p";
        const QString file = path + "/project.json";
        {
            ui::ProjectModel model;
            QVERIFY(model.create(path, "p"));
            QVERIFY(model.undoStack()->isClean());
            QSignalSpy saved(&model, &ui::ProjectModel::saved);
            model.addDataset(core::importDataset(m_data.path().toStdString()), "Import");
            model.addClass("zebra");
            QVERIFY(!model.undoStack()->isClean());
            QVERIFY(model.isModified());
            QTRY_VERIFY_WITH_TIMEOUT(readFile(file).contains("\"zebra\""), 20000);
            QTRY_VERIFY(model.undoStack()->isClean());
            QVERIFY(!model.isModified());
            QVERIFY(saved.count() >= 1);

            // An undo is a change too.
            model.undoStack()->undo();
            QTRY_VERIFY_WITH_TIMEOUT(!readFile(file).contains("\"zebra\""), 20000);
            model.undoStack()->redo();
            QTRY_VERIFY_WITH_TIMEOUT(readFile(file).contains("\"zebra\""), 20000);

            // Settings are autosaved as well.
            core::PeftConfig peft = core::paperSetting(core::PeftMethod::BitFit);
            model.setPeft(peft, "250k");
            core::TrainOptions training;
            training.epochs = 17;
            model.setTraining(training);
            model.setBackbone(path + "/models/m");
            model.addRun(path + "/runs/r1");
            model.addRun(path + "/runs/r1"); // once
            QTRY_VERIFY_WITH_TIMEOUT(readFile(file).contains("\"runs/r1\""), 20000);
        }
        ui::ProjectModel reopened;
        QSignalSpy opened(&reopened, &ui::ProjectModel::opened);
        QString error;
        QVERIFY2(reopened.open(path, &error), qPrintable(error));
        QCOMPARE(opened.count(), 1);
        const core::Project &p = reopened.project();
        QCOMPARE(p.classes.back(), std::string("zebra"));
        QCOMPARE(p.clips.size(), std::size_t(6));
        QCOMPARE(core::methodName(p.peft.method), std::string("bitfit"));
        QCOMPARE(p.budget, std::string("250k"));
        QCOMPARE(p.training.epochs, 17);
        QCOMPARE(p.backbone, fs::path("models/m"));
        QCOMPARE(p.runs, (std::vector<fs::path> { "runs/r1" }));
        QVERIFY(reopened.undoStack()->count() == 0);
    }

    void pendingChangesAreSavedOnClose()
    {
        QTemporaryDir dir;
        const QString path = dir.path() + "/p";
        {
            ui::ProjectModel model;
            QVERIFY(model.create(path, "p"));
            model.addClass("quick");
        } // destroyed before the autosave timer fires
        QVERIFY(readFile(path + "/project.json").contains("\"quick\""));
    }

    void recentProjects()
    {
        QSettings().remove("project/recent");
        QTemporaryDir dir;
        QStringList made;
        {
            ui::ProjectModel model;
            for (int i = 0; i < 10; ++i) {
                made << QDir::cleanPath(dir.path() + QString("/p%1").arg(i));
                QVERIFY(model.create(made.last(), ""));
            }
        }
        QStringList expected;
        for (int i = 9; i >= 2; --i)
            expected << made[i];
        QCOMPARE(ui::ProjectModel::recentProjects(), expected); // newest first, at most 8

        ui::ProjectModel model;
        QVERIFY(model.open(made[5] + "/"));
        QCOMPARE(ui::ProjectModel::recentProjects().first(), made[5]);
        QCOMPARE(ui::ProjectModel::recentProjects().count(made[5]), 1);
        QCOMPARE(ui::ProjectModel::recentProjects().size(), 8);

        // A failed open changes nothing; a project deleted since is not offered.
        QString error;
        QVERIFY(!model.open(dir.path() + "/nothing", &error));
        QVERIFY2(error.contains("project.json"), qPrintable(error));
        QCOMPARE(model.dir(), made[5]);
        QDir(made[9]).removeRecursively();
        QVERIFY(!ui::ProjectModel::recentProjects().contains(made[9]));
        QCOMPARE(ui::ProjectModel::recentProjects().size(), 7);
    }

    void saveFailureKeepsTheEdit_data()
    {
        QTest::addColumn<bool>("readOnly"); // else: the folder is replaced by a file
        QTest::addRow("read-only folder") << true;
        QTest::addRow("folder gone") << false;
    }
    void saveFailureKeepsTheEdit()
    {
        QFETCH(bool, readOnly);
        if (readOnly && ::geteuid() == 0)
            QSKIP("running as root: permissions are not enforced");
        QTemporaryDir dir;
        const QString path = dir.path() + "/p";
        const QString aside = dir.path() + "/aside";
        ui::ProjectModel model;
        QVERIFY(model.create(path, "p"));
        QSignalSpy failed(&model, &ui::ProjectModel::saveFailed);
        QSignalSpy saved(&model, &ui::ProjectModel::saved);

        if (readOnly) {
            QVERIFY(::chmod(QFile::encodeName(path).constData(), 0555) == 0);
        } else {
            QVERIFY(QDir().rename(path, aside));
            QFile blocker(path);
            QVERIFY(blocker.open(QIODevice::WriteOnly));
        }
        model.addClass("kept");
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 20000); // the autosave failed
        QVERIFY2(failed.first().first().toString().contains("project.json"),
            qPrintable(failed.first().first().toString()));
        QCOMPARE(saved.count(), 0);
        QCOMPARE(model.project().classes, (std::vector<std::string> { "kept" }));
        QVERIFY(model.isModified());
        QVERIFY(!model.undoStack()->isClean());
        QString error;
        QVERIFY(!model.save(&error));
        QVERIFY(!error.isEmpty());
        QCOMPARE(failed.count(), 2);

        if (readOnly) {
            QVERIFY(::chmod(QFile::encodeName(path).constData(), 0755) == 0);
        } else {
            QVERIFY(QFile::remove(path));
            QVERIFY(QDir().rename(aside, path));
        }
        QVERIFY2(model.save(&error), qPrintable(error));
        QCOMPARE(saved.count(), 1);
        QVERIFY(model.undoStack()->isClean());
        QVERIFY(readFile(path + "/project.json").contains("\"kept\""));
    }

private:
    QTemporaryDir m_settings;
    QTemporaryDir m_data;
};

QTEST_MAIN(TestProjectModel)
#include "tst_project_model.moc"
