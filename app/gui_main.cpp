// SPDX-License-Identifier: MIT
// astpeft-studio: the desktop app.
//   astpeft-studio [MODEL_DIR] [--project DIR] [--import PATH] [--theme system|light|dark]
//                  [--screenshots OUTDIR [--epochs N]] [--demo] [--quit-after MS]
// Without --project it reopens the last project. --help and --version work without a display.
#include "demo.h"
#include "human_format.h"
#include "main_window.h"
#include "project_model.h"
#include "runtime/jemalloc_conf.h"
#include "runtime/runtime.h"
#include "screenshot_tour.h"
#include "theme.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QMessageBox>
#include <QSettings>
#include <QTimer>

#include <cstdio>
#include <string_view>

namespace {

// The studio's options, in one place: main() parses with them, and --help prints them even
// before a QApplication exists.
struct Options
{
    QCommandLineOption project { "project",
        "Open the project in DIR, or create it there when the folder is empty or missing.", "dir" };
    QCommandLineOption import { "import", "Import a dataset folder or manifest at start.", "path" };
    QCommandLineOption theme { "theme", "system (default), light or dark.", "theme" };
    QCommandLineOption screenshots { "screenshots",
        "Visit every view (importing --import and training --epochs epochs), save a PNG of each "
        "into OUTDIR, then quit. Used by tools/screenshots.sh.",
        "outdir" };
    QCommandLineOption epochs { "epochs", "Epochs of the --screenshots run (default 3).", "n",
        "3" };
    QCommandLineOption demo { "demo",
        "Open the demo project ($XDG_DATA_HOME/astpeft/demo-project, created when missing): the "
        "bundled demo dataset with the bundled backbone, ready to train." };
    QCommandLineOption quitAfter { "quit-after",
        "Quit after MS milliseconds: exit status 0, or 1 when a backbone failed to load (for "
        "smoke tests).",
        "ms" };

    void addTo(QCommandLineParser &parser) const
    {
        parser.setApplicationDescription(
            "Parameter-efficient fine-tuning of Audio Spectrogram Transformers");
        parser.addHelpOption();
        parser.addVersionOption();
        parser.addPositionalArgument("model", "A Hugging Face AST folder to open.", "[MODEL_DIR]");
        parser.addOptions({ project, import, theme, screenshots, epochs, demo, quitAfter });
    }
};

// --help and --version need no display: they are answered before QApplication is constructed
// (which aborts when there is none). --help-all (Qt's own options too) is left to Qt. Returns
// whether one was answered.
bool answeredWithoutDisplay(int argc, char **argv, const Options &options)
{
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--")
            break;
        if (arg == "--version" || arg == "-v") {
            std::printf("astpeft-studio %s\n", ASTPEFT_VERSION);
            return true;
        }
        if (arg == "--help" || arg == "-h" || arg == "-?") {
            QCommandLineParser parser;
            options.addTo(parser);
            // Without an application the usage line names "<executable_name>".
            QString text = parser.helpText();
            text.replace(QStringLiteral("<executable_name>"), QStringLiteral("astpeft-studio"));
            std::fputs(qPrintable(text), stdout);
            return true;
        }
    }
    return false;
}

} // namespace

int main(int argc, char **argv)
{
    const Options options;
    if (answeredWithoutDisplay(argc, argv, options))
        return 0;
    astpeft::core::ensurePassiveOpenMp(argv);
    QApplication app(argc, argv);
    QApplication::setOrganizationName("AST PEFT Studio");
    QApplication::setApplicationName("astpeft-studio");
    QApplication::setApplicationVersion(ASTPEFT_VERSION);
    QApplication::setWindowIcon(QIcon(":/icons/astpeft-studio.svg"));

    QCommandLineParser parser;
    options.addTo(parser);
    const auto &[project, import, theme, screenshots, epochs, demo, quitAfter] = options;
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
            std::fprintf(stderr, "astpeft-studio: %s\n",
                astpeft::core::printable(error.toStdString()).c_str());
            if (!parser.isSet(quitAfter))
                QMessageBox::critical(&window, QObject::tr("Cannot open the demo"), error);
            return 1;
        }
    } else if (parser.isSet(project)) {
        // A project that fails is reported (stderr and a message box that offers another
        // project or none); only Quit, or any failure under --quit-after, exits 1.
        if (!window.openStartupProject(parser.value(project), !parser.isSet(quitAfter)))
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
                std::fprintf(stderr, "astpeft-studio: %s: %s\n",
                    astpeft::core::printable(path.toStdString()).c_str(),
                    astpeft::core::printable(message.toStdString()).c_str());
                failed = true;
            });
        QTimer::singleShot(
            parser.value(quitAfter).toInt(), &app, [&app, &failed] { app.exit(failed ? 1 : 0); });
    }
    return app.exec();
}
