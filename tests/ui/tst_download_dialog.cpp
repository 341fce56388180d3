// SPDX-License-Identifier: MIT
// The download dialog, offscreen, against tests/hub_server.h serving a generated tiny
// checkpoint: Get fills the progress bar to 100 % and leaves a complete folder, "Use as
// backbone" hands it on; Cancel keeps the partial file and Resume completes it; an unreachable
// server shows the offline message; the main window's File menu opens the dialog and "Use as
// backbone" loads the folder as the backbone.
#include "inference/classifier.h"

#include "download_dialog.h"
#include "hub_checkpoint.h"
#include "hub_server.h"
#include "main_window.h"

#include <QFile>
#include <QFileInfo>
#include <QMenuBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using namespace astpeft;
using namespace astpeft::test;

namespace {

const std::string kRepo = "MIT/ast-finetuned-audioset-10-10-0.4593";

QPushButton *button(QWidget *dialog, const QString &text)
{
    for (QPushButton *b : dialog->findChildren<QPushButton *>()) {
        if (b->text().remove('&') == text)
            return b;
    }
    return nullptr;
}

} // namespace

class TestDownloadDialog : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    HubCheckpoint m_served; // what the local Hub serves
    std::unique_ptr<HubServer> m_server;

private Q_SLOTS:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName("AST PEFT Studio tests");
        QStandardPaths::setTestModeEnabled(true); // settings under ~/.qttest
        QVERIFY(m_tmp.isValid());
        const QString source = m_tmp.filePath("source");
        m_served = HubCheckpoint::generate(source, 5);
        QVERIFY(m_served.weights.size() > 200000);
    }
    void init()
    {
        m_server = std::make_unique<HubServer>(kRepo,
            std::vector<HubServer::File> { { "config.json", m_served.config, false },
                { "model.safetensors", m_served.weights, true } });
    }
    void cleanup() { m_server.reset(); }

    void getCompletesTheFolder()
    {
        qputenv("XDG_DATA_HOME", m_tmp.filePath("xdg").toUtf8());
        ui::DownloadDialog dialog;
        qunsetenv("XDG_DATA_HOME");
        QCOMPARE(dialog.destination(), m_tmp.filePath("xdg/astpeft/models/ast-audioset"));
        const QString dir = m_tmp.filePath("full");
        dialog.setDestination(dir);
        dialog.setEndpoint(QString::fromStdString(m_server->endpoint()));
        dialog.show();
        QSignalSpy completed(&dialog, &ui::DownloadDialog::completed);
        QSignalSpy use(&dialog, &ui::DownloadDialog::useAsBackbone);
        QPushButton *get = button(&dialog, "Get");
        QVERIFY(get);
        QTest::mouseClick(get, Qt::LeftButton);
        QVERIFY(dialog.isRunning());
        QVERIFY(completed.wait(60000));
        QCOMPARE(completed.front().front().toString(), dir);
        QCOMPARE(dialog.progressPercent(), 100);
        QVERIFY(dialog.errorText().isEmpty());
        QCOMPARE(fileBytes(dir + "/model.safetensors"), m_served.weights);
        QCOMPARE(fileBytes(dir + "/config.json"), m_served.config);
        QPushButton *useButton = button(&dialog, "Use as backbone");
        QVERIFY(useButton && useButton->isVisible());
        QTest::mouseClick(useButton, Qt::LeftButton);
        QCOMPARE(use.size(), 1);
        QCOMPARE(use.front().front().toString(), dir);
    }

    void cancelThenResume()
    {
        const QString dir = m_tmp.filePath("resume");
        ui::DownloadDialog dialog;
        dialog.setDestination(dir);
        dialog.setEndpoint(QString::fromStdString(m_server->endpoint()));
        dialog.show();
        m_server->setThrottle(4096, 5);
        dialog.start();
        // Cancel once bytes of the weights are on disk.
        QTRY_VERIFY_WITH_TIMEOUT(
            QFileInfo(dir + "/model.safetensors.incomplete").size() > 0, 30000);
        QPushButton *cancel = button(&dialog, "Cancel");
        QVERIFY(cancel);
        QTest::mouseClick(cancel, Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(!dialog.isRunning(), 30000);
        QVERIFY2(dialog.statusText().contains("kept"), qPrintable(dialog.statusText()));
        const qint64 kept = QFileInfo(dir + "/model.safetensors.incomplete").size();
        QVERIFY(kept > 0 && kept < m_served.weights.size());
        QVERIFY(!QFile::exists(dir + "/model.safetensors"));

        m_server->setThrottle(0, 0);
        m_server->clearRequests();
        QSignalSpy completed(&dialog, &ui::DownloadDialog::completed);
        QPushButton *resume = button(&dialog, "Resume");
        QVERIFY(resume);
        QTest::mouseClick(resume, Qt::LeftButton);
        QVERIFY(completed.wait(60000));
        QCOMPARE(fileBytes(dir + "/model.safetensors"), m_served.weights);
        QCOMPARE(m_server->gets("model.safetensors").back().range,
            "bytes=" + std::to_string(kept) + "-");
    }

    void offlineShowsTheReason()
    {
        ui::DownloadDialog dialog;
        dialog.setDestination(m_tmp.filePath("offline"));
        dialog.setEndpoint(QStringLiteral("http://127.0.0.1:%1").arg(HubServer::closedPort()));
        dialog.start();
        QTRY_VERIFY_WITH_TIMEOUT(!dialog.isRunning(), 30000);
        QVERIFY2(dialog.errorText().contains("offline"), qPrintable(dialog.errorText()));
        QVERIFY2(dialog.errorText().contains("HF_ENDPOINT"), qPrintable(dialog.errorText()));
    }

    void offlineWithCompleteFolderSucceeds()
    {
        const QString dir = m_tmp.filePath("offline-complete");
        ui::DownloadDialog dialog;
        dialog.setDestination(dir);
        dialog.setEndpoint(QString::fromStdString(m_server->endpoint()));
        QSignalSpy completed(&dialog, &ui::DownloadDialog::completed);
        dialog.start();
        QVERIFY(completed.wait(60000));
        QVERIFY(dialog.statusText().contains("verified"));

        const QString dead = QStringLiteral("http://127.0.0.1:%1").arg(HubServer::closedPort());
        dialog.setEndpoint(dead);
        dialog.start();
        QVERIFY(completed.wait(30000));
        QCOMPARE(completed.back().front().toString(), dir);
        QVERIFY(dialog.errorText().isEmpty());
        QVERIFY2(
            dialog.statusText().contains(dead) && dialog.statusText().contains("not re-checked"),
            qPrintable(dialog.statusText()));
        QVERIFY(!button(&dialog, "Use as backbone")->isHidden());
    }

    void mainWindowMenuUsesTheDownload()
    {
        ui::MainWindow window;
        window.show();
        QAction *action = nullptr;
        for (QAction *menu : window.menuBar()->actions()) {
            if (menu->menu()) {
                for (QAction *a : menu->menu()->actions()) {
                    if (a->text().remove('&') == "Get the AST AudioSet checkpoint...")
                        action = a;
                }
            }
        }
        QVERIFY(action);
        action->trigger();
        auto *dialog = window.findChild<ui::DownloadDialog *>();
        QVERIFY(dialog);
        QTRY_VERIFY(dialog->isVisible());
        const QString dir = m_tmp.filePath("from-menu");
        dialog->setDestination(dir);
        dialog->setEndpoint(QString::fromStdString(m_server->endpoint()));
        QSignalSpy completed(dialog, &ui::DownloadDialog::completed);
        dialog->start();
        QVERIFY(completed.wait(60000));
        QSignalSpy opened(&window, &ui::MainWindow::modelOpened);
        QPushButton *use = button(dialog, "Use as backbone");
        QVERIFY(use);
        QTest::mouseClick(use, Qt::LeftButton);
        QVERIFY(opened.wait(60000));
        QCOMPARE(opened.front().front().toString(), dir);
        QVERIFY(window.hasModel());
        QTRY_VERIFY(!window.findChild<ui::DownloadDialog *>()); // deleted on close
    }
};

QTEST_MAIN(TestDownloadDialog)
#include "tst_download_dialog.moc"
