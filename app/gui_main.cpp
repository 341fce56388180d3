// SPDX-License-Identifier: MIT
// astpeft-studio: the desktop app.
//   astpeft-studio [MODEL_DIR] [--project DIR] [--import PATH] [--theme system|light|dark]
//                  [--screenshots OUTDIR [--epochs N]] [--demo] [--quit-after MS]
// Without --project it reopens the last project.
#include "demo.h"
#include "main_window.h"
#include "project_model.h"
#include "runtime/jemalloc_conf.h"
#include "runtime/runtime.h"
#include "screenshot_tour.h"
#include "theme.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QIcon>
#include <QMessageBox>
#include <QSettings>
#include <QTimer>

#include <cstdio>

int main(int argc, char **argv)
{
    astpeft::core::ensurePassiveOpenMp(argv);
    QApplication app(argc, argv);
    QApplication::setOrganizationName("AST PEFT Studio");
    QApplication::setApplicationName("astpeft-studio");
    QApplication::setApplicationVersion(ASTPEFT_VERSION);
    QApplication::setWindowIcon(QIcon(":/icons/astpeft-studio.svg"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Parameter-efficient fine-tuning of Audio Spectrogram Transformers");
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument("model", "A Hugging Face AST folder to open.", "[MODEL_DIR]");
    const QCommandLineOption project("project",
        "Open the project in DIR, or create it there when the folder is empty or missing.", "dir");
    const QCommandLineOption import(
        "import", "Import a dataset folder or manifest at start.", "path");
    const QCommandLineOption theme("theme", "system (default), light or dark.", "theme");
    const QCommandLineOption screenshots("screenshots",
        "Visit every view (importing --import and training --epochs epochs), save a PNG of each "
        "into OUTDIR, then quit. Used by tools/screenshots.sh.",
        "outdir");
    const QCommandLineOption epochs(
        "epochs", "Epochs of the --screenshots run (default 3).", "n", "3");
    const QCommandLineOption demo("demo",
        "Open the demo project ($XDG_DATA_HOME/astpeft/demo-project, created when missing): the "
        "bundled demo dataset with the bundled backbone, ready to train.");
    const QCommandLineOption quitAfter("quit-after",
        "Quit after MS milliseconds: exit status 0, or 1 when a backbone failed to load (for "
        "smoke tests).",
        "ms");
    parser.addOptions({ project, import, theme, screenshots, epochs, demo, quitAfter });
    parser.process(app);

    astpeft::core::configureThreads();
    astpeft::ui::applyTheme(astpeft::ui::parseThemeChoice(
        parser.isSet(theme) ? parser.value(theme) : QSettings().value("ui/theme").toString()));
    astpeft::ui::MainWindow window;
    window.resize(1280, 800);
    window.show();

    if (!parser.positionalArguments().isEmpty())
        window.openModel(parser.positionalArguments().constFirst());
    if (parser.isSet(demo)) {
        QString error;
        if (!astpeft::ui::openDemoProject(window, {}, &error)) {
            std::fprintf(stderr, "astpeft-studio: %s\n", qPrintable(error));
            if (!parser.isSet(quitAfter))
                QMessageBox::critical(&window, QObject::tr("Cannot open the demo"), error);
            return 1;
        }
    } else if (parser.isSet(project)) {
        const QString dir = parser.value(project);
        const bool exists = QDir(dir).exists("project.json");
        if (!(exists ? window.openProject(dir) : window.newProject(dir, QDir(dir).dirName())))
            return 1;
    } else if (!astpeft::ui::ProjectModel::recentProjects().isEmpty()) {
        window.openProject(astpeft::ui::ProjectModel::recentProjects().constFirst());
    }
    if (!parser.positionalArguments().isEmpty() && window.project()->isOpen())
        window.project()->setBackbone(parser.positionalArguments().constFirst());

    if (parser.isSet(screenshots)) {
        auto *tour = new astpeft::ui::ScreenshotTour(&window, parser.value(screenshots),
            parser.value(import), parser.value(epochs).toInt(), &app);
        QObject::connect(tour, &astpeft::ui::ScreenshotTour::done, &app, &QApplication::exit);
        QTimer::singleShot(0, tour, &astpeft::ui::ScreenshotTour::start);
    } else if (parser.isSet(import)) {
        window.importPaths({ parser.value(import) });
    }
    bool failed = false; // a backbone failed to load (for --quit-after's exit status)
    if (parser.isSet(quitAfter)) {
        QObject::connect(&window, &astpeft::ui::MainWindow::modelFailed, &app,
            [&failed](const QString &path, const QString &message) {
                std::fprintf(
                    stderr, "astpeft-studio: %s: %s\n", qPrintable(path), qPrintable(message));
                failed = true;
            });
        QTimer::singleShot(
            parser.value(quitAfter).toInt(), &app, [&app, &failed] { app.exit(failed ? 1 : 0); });
    }
    return app.exec();
}
