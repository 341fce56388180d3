// SPDX-License-Identifier: MIT
// astpeft-studio: the desktop app. `astpeft-studio [MODEL_DIR]` opens a model folder at start.
#include "main_window.h"
#include "runtime/runtime.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>

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
    parser.process(app);

    astpeft::core::configureThreads();
    astpeft::ui::MainWindow window;
    window.resize(720, 520);
    window.show();
    if (!parser.positionalArguments().isEmpty())
        window.openModel(parser.positionalArguments().constFirst());
    return app.exec();
}
