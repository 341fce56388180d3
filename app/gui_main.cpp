// SPDX-License-Identifier: MIT
// astpeft-studio: the desktop app. `astpeft-studio [MODEL_DIR]` opens a model folder at start.
#include "main_window.h"
#include "runtime/runtime.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QTimer>

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
    const QCommandLineOption screenshot("screenshot",
        "Save a PNG of the window once the model is open (or "
        "failed), then quit. Used by tools/screenshots.sh.",
        "file");
    parser.addOption(screenshot);
    parser.process(app);

    astpeft::core::configureThreads();
    astpeft::ui::MainWindow window;
    window.resize(720, 520);
    window.show();
    if (parser.isSet(screenshot)) {
        const QString file = parser.value(screenshot);
        auto grab = [&window, file] {
            window.grab().save(file);
            QApplication::quit();
        };
        QObject::connect(
            &window, &astpeft::ui::MainWindow::modelOpened, &app, grab, Qt::QueuedConnection);
        QObject::connect(
            &window, &astpeft::ui::MainWindow::modelFailed, &app, grab, Qt::QueuedConnection);
        if (parser.positionalArguments().isEmpty())
            QTimer::singleShot(500, &app, grab);
    }
    if (!parser.positionalArguments().isEmpty())
        window.openModel(parser.positionalArguments().constFirst());
    return app.exec();
}
