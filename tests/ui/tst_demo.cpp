// SPDX-License-Identifier: MIT
// astpeft-studio --demo, offscreen: ui::openDemoProject (what gui_main calls) creates the demo
// project in $XDG_DATA_HOME/astpeft/demo-project with every demo class and clip, sets the
// bundled backbone, which then loads, so that a run can start; reopening adds nothing twice;
// missing bundled files leave no project and name the folder. Then the built studio itself:
// --demo --quit-after exits 0 by itself with the project made, 1 when the backbone is missing;
// --help and --version exit 0 with their text even without a display; a corrupt --project is
// reported on stderr.
// The bundled files are a stand-in (ASTPEFT_RESOURCE_DIR): a tiny random backbone and the
// source tree's demo dataset.
#include "demo.h"
#include "main_window.h"
#include "model/ast_config.h"
#include "project/project.h"
#include "project_model.h"
#include "train/trainer.h"

#include <QDir>
#include <QProcess>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

using namespace astpeft;
namespace fs = std::filesystem;

namespace {
const QString kDemo = QStringLiteral(ASTPEFT_FIXTURES "/../../resources/demo");
const std::set<std::string> kClasses = { "yes", "no", "up", "down", "left", "right", "on", "off",
    "stop", "go", "_background_" };
} // namespace

class TestDemo : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString path(const QString &name) const { return m_dir.filePath(name); }

private Q_SLOTS:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName("AST PEFT Studio tests");
        QStandardPaths::setTestModeEnabled(true); // settings under ~/.qttest
        QVERIFY(m_dir.isValid());
        core::writeRandomModel(path("resources/backbone").toStdString(),
            { .preset = "tiny", .maxLength = 100, .labels = {}, .seed = 1 });
        QVERIFY(QFile::link(QDir(kDemo).canonicalPath(), path("resources/demo")));
        qputenv("ASTPEFT_RESOURCE_DIR", path("resources").toUtf8());
        qputenv("XDG_DATA_HOME", path("xdg").toUtf8());
    }

    void createsTheDemoProject()
    {
        ui::MainWindow window;
        QSignalSpy loaded(&window, &ui::MainWindow::modelOpened);
        QString error;
        QVERIFY2(ui::openDemoProject(window, {}, &error), qPrintable(error));
        QVERIFY(window.project()->isOpen());
        QCOMPARE(window.project()->dir(), QDir(path("xdg/astpeft/demo-project")).absolutePath());
        const core::Project &p = window.project()->project();
        QCOMPARE(std::set<std::string>(p.classes.begin(), p.classes.end()), kClasses);
        QCOMPARE(p.clips.size(), std::size_t(11 * 32));
        QCOMPARE(
            core::resolvePath(p, p.backbone), fs::path(path("resources/backbone").toStdString()));

        // The bundled backbone loads in the worker thread; then a run could start.
        QVERIFY(loaded.wait(60000));
        QVERIFY(window.hasModel());
        const core::TrainOptions o = window.trainingOptions();
        QCOMPARE(o.model, fs::path(path("resources/backbone").toStdString()));
        QVERIFY(fs::exists(o.data));
    }

    void reopensWithoutImportingTwice()
    {
        ui::MainWindow window;
        QVERIFY(ui::openDemoProject(window));
        QCOMPARE(window.project()->project().clips.size(), std::size_t(11 * 32));
        QCOMPARE(window.project()->project().classes.size(), std::size_t(11));
    }

    void missingBackboneOpensNothing()
    {
        QVERIFY(QDir().mkpath(path("no-backbone")));
        QVERIFY(QFile::link(QDir(kDemo).canonicalPath(), path("no-backbone/demo")));
        qputenv("ASTPEFT_RESOURCE_DIR", path("no-backbone").toUtf8());
        ui::MainWindow window;
        QString error;
        QVERIFY(!ui::openDemoProject(window, path("elsewhere"), &error));
        qputenv("ASTPEFT_RESOURCE_DIR", path("resources").toUtf8());
        QVERIFY2(error.contains(path("no-backbone/backbone")), qPrintable(error));
        QVERIFY(!window.project()->isOpen());
        QVERIFY(!QFileInfo::exists(path("elsewhere")));
    }

    // The binary as CI starts it: offscreen, quitting by itself.
    void studioQuitsAfterTheDemo()
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("QT_QPA_PLATFORM", "offscreen");
        env.insert("HOME", path("home"));
        env.insert("XDG_DATA_HOME", path("xdg2"));
        env.insert("XDG_CONFIG_HOME", path("home/.config"));
        env.insert("ASTPEFT_RESOURCE_DIR", path("resources"));
        QProcess studio;
        studio.setProcessEnvironment(env);
        studio.start(QStringLiteral(ASTPEFT_STUDIO), { "--demo", "--quit-after", "1500" });
        QVERIFY(studio.waitForFinished(120000));
        QCOMPARE(studio.exitStatus(), QProcess::NormalExit);
        QVERIFY2(studio.exitCode() == 0, studio.readAllStandardError().right(2000).constData());
        const core::Project p = core::loadProject(path("xdg2/astpeft/demo-project").toStdString());
        QCOMPARE(p.clips.size(), std::size_t(11 * 32));

        env.insert("ASTPEFT_RESOURCE_DIR", path("no-backbone"));
        env.insert("XDG_DATA_HOME", path("xdg3"));
        studio.setProcessEnvironment(env);
        studio.start(QStringLiteral(ASTPEFT_STUDIO), { "--demo", "--quit-after", "1500" });
        QVERIFY(studio.waitForFinished(120000));
        QCOMPARE(studio.exitCode(), 1);
        QVERIFY(studio.readAllStandardError().contains(path("no-backbone/backbone").toUtf8()));
        QVERIFY(!QFileInfo::exists(path("xdg3/astpeft/demo-project")));
    }

    // Issue 17, defect 9: a corrupt project given with --project is reported on stderr, one
    // line naming project.json and the problem; under --quit-after (no one to answer a dialog)
    // the studio then exits 1 instead of waiting.
    void studioReportsACorruptProject()
    {
        const QString project = path("corrupt-project");
        QVERIFY(QDir().mkpath(project));
        QFile json(project + "/project.json");
        QVERIFY(json.open(QIODevice::WriteOnly));
        json.write("{ \"format\": ");
        json.close();
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("QT_QPA_PLATFORM", "offscreen");
        env.insert("HOME", path("home"));
        env.insert("XDG_CONFIG_HOME", path("home/.config"));
        QProcess studio;
        studio.setProcessEnvironment(env);
        studio.start(
            QStringLiteral(ASTPEFT_STUDIO), { "--project", project, "--quit-after", "1500" });
        QVERIFY(studio.waitForFinished(120000));
        const QByteArray err = studio.readAllStandardError();
        QCOMPARE(studio.exitCode(), 1);
        QVERIFY2(
            err.contains(("astpeft-studio: " + project + "/project.json: not valid JSON").toUtf8()),
            err.constData());
    }

    // --help and --version answer without a display (no QT_QPA_PLATFORM, DISPLAY or
    // WAYLAND_DISPLAY), where constructing QApplication would abort.
    void studioHelpWithoutDisplay()
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove("QT_QPA_PLATFORM");
        env.remove("DISPLAY");
        env.remove("WAYLAND_DISPLAY");
        QProcess studio;
        studio.setProcessEnvironment(env);
        studio.start(QStringLiteral(ASTPEFT_STUDIO), { "--help" });
        QVERIFY(studio.waitForFinished(60000));
        QCOMPARE(studio.exitStatus(), QProcess::NormalExit);
        const QByteArray help = studio.readAllStandardOutput();
        QVERIFY2(studio.exitCode() == 0, studio.readAllStandardError().constData());
        QVERIFY2(help.startsWith("Usage: astpeft-studio") && help.contains("--demo")
                && help.contains("--quit-after") && help.contains("MODEL_DIR"),
            help.constData());

        studio.start(QStringLiteral(ASTPEFT_STUDIO), { "--version" });
        QVERIFY(studio.waitForFinished(60000));
        QCOMPARE(studio.exitCode(), 0);
        QCOMPARE(
            studio.readAllStandardOutput(), QByteArray("astpeft-studio " ASTPEFT_VERSION "\n"));
    }
};

QTEST_MAIN(TestDemo)
#include "tst_demo.moc"
