// SPDX-License-Identifier: MIT
// The main window, offscreen: a model folder loads in the worker thread while the event loop
// keeps running, its summary is shown, and a bad folder shows the core error instead.
#include "inference/classifier.h"
#include "main_window.h"
#include "model_info_widget.h"

#include <QLabel>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using namespace astpeft;

class TestMainWindow : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName("AST PEFT Studio tests");
        QVERIFY(m_dir.isValid());
        core::writeRandomModel((m_dir.path() + "/model").toStdString(),
            { .preset = "tiny", .maxLength = 100, .labels = { "yes", "no", "up" }, .seed = 1 });
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

    void hasShortcutsAndAccessibleNames()
    {
        ui::MainWindow window;
        bool hasOpen = false;
        for (QAction *a : window.findChildren<QAction *>())
            hasOpen |= a->shortcut() == QKeySequence(QKeySequence::Open);
        QVERIFY(hasOpen);
        for (QLabel *l : window.modelInfo()->findChildren<QLabel *>())
            if (!l->objectName().isEmpty())
                QVERIFY2(!l->accessibleName().isEmpty(), qPrintable(l->objectName()));
    }

private:
    QTemporaryDir m_dir;
};

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
