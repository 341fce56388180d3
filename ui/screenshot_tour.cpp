// SPDX-License-Identifier: MIT
#include "screenshot_tour.h"

#include "data_view.h"
#include "import_summary_dialog.h"
#include "main_window.h"
#include "method_view.h"
#include "project_model.h"
#include "theme.h"
#include "training_view.h"

#include <QApplication>
#include <QDir>
#include <QTimer>

#include <cstdio>

namespace astpeft::ui {

ScreenshotTour::ScreenshotTour(
    MainWindow *window, const QString &outDir, const QString &data, int epochs, QObject *parent)
    : QObject(parent)
    , m_window(window)
    , m_outDir(outDir)
    , m_data(data)
    , m_epochs(epochs)
{ }

void ScreenshotTour::start()
{
    QDir().mkpath(m_outDir);
    // A run on the demo data takes well under a minute; anything longer is a hang.
    QTimer::singleShot(15 * 60 * 1000, this, [this] { fail("timed out"); });
    connect(m_window, &MainWindow::importFailed, this, &ScreenshotTour::fail);
    connect(m_window, &MainWindow::modelFailed, this,
        [this](const QString &, const QString &message) { fail(message); });
    if (m_data.isEmpty()) {
        afterImport();
        return;
    }
    connect(m_window, &MainWindow::importReady, this, [this] {
        // The dialog opens in the same event-loop turn; shoot it once it has been laid out.
        QTimer::singleShot(300, this, [this] {
            auto *dialog = m_window->findChild<ImportSummaryDialog *>();
            if (!dialog)
                return fail("no import summary dialog");
            shoot(dialog, "import-summary");
            dialog->accept();
        });
    });
    connect(m_window, &MainWindow::importFinished, this, [this] { afterImport(); });
    m_window->importPaths({ m_data });
}

void ScreenshotTour::afterImport()
{
    if (m_window->hasModel()) {
        afterModel();
    } else {
        connect(m_window, &MainWindow::modelOpened, this, [this] { afterModel(); });
    }
}

void ScreenshotTour::afterModel()
{
    m_window->showPage(MainWindow::Page::Data);
    const QStringList classes = m_window->project()->isOpen()
        ? [this] {
              QStringList c;
              for (const auto &label : m_window->project()->project().classes)
                  c << QString::fromStdString(label);
              return c;
          }()
        : QStringList();
    if (!classes.isEmpty()) {
        m_window->dataView()->selectClass(classes.first());
        for (const auto &clip : m_window->project()->project().clips) {
            if (clip.label == classes.first().toStdString()) {
                m_window->dataView()->selectClips({ clip.id });
                break;
            }
        }
    }
    QTimer::singleShot(300, this, [this] {
        shoot(m_window, "data");
        m_window->showPage(MainWindow::Page::Method);
        QTimer::singleShot(300, this, [this] {
            shoot(m_window, "method");
            core::TrainOptions o = m_window->project()->project().training;
            m_window->methodView()->applyTo(o);
            o.epochs = m_epochs;
            m_window->methodView()->setFrom(o);
            connect(m_window->trainingView(), &TrainingView::finished, this,
                [this] { QTimer::singleShot(500, this, [this] { afterTraining(); }); });
            connect(m_window->trainingView(), &TrainingView::failed, this, &ScreenshotTour::fail);
            if (!m_window->startTraining())
                fail("training did not start");
        });
    });
}

void ScreenshotTour::afterTraining()
{
    shoot(m_window, "train");
    applyTheme(ThemeChoice::Dark);
    QTimer::singleShot(300, this, [this] {
        shoot(m_window, "train-dark");
        applyTheme(ThemeChoice::Light);
        m_window->showPage(MainWindow::Page::Runs);
        QTimer::singleShot(300, this, [this] {
            shoot(m_window, "runs");
            m_window->showPage(MainWindow::Page::Live);
            QTimer::singleShot(300, this, [this] {
                shoot(m_window, "live");
                std::printf("wrote %d screenshots to %s\n", m_written, qPrintable(m_outDir));
                Q_EMIT done(0);
            });
        });
    });
}

void ScreenshotTour::shoot(QWidget *widget, const QString &name)
{
    const QString file = QDir(m_outDir).filePath(name + ".png");
    if (!widget->grab().save(file))
        return fail("could not write " + file);
    ++m_written;
}

void ScreenshotTour::fail(const QString &why)
{
    std::fprintf(stderr, "screenshots: %s\n", qPrintable(why));
    Q_EMIT done(1);
}

} // namespace astpeft::ui
