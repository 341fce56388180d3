// SPDX-License-Identifier: MIT
// astpeft train --demo end to end: runs the built binary (ASTPEFT_CLI) with ASTPEFT_RESOURCE_DIR
// pointing at a stand-in for the bundled files (a tiny random backbone from `astpeft init-model`
// and a copy of the committed demo dataset). Checks the run folder's default place and contents,
// its labels (the eleven demo classes), the options defaulted by --demo, the refusal to
// overwrite a run, --resume of the default run folder, and the one-line errors naming every place
// searched when the backbone is missing, including the installed layout (<exe>/../share/astpeft).
// Every process runs with HOME inside the temporary folder. Torch-free.
#include "cli_support.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSet>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>

namespace {

using namespace astpeft::test;

const QString kCli = QStringLiteral(ASTPEFT_CLI);
// The source tree's demo dataset, next to the fixtures.
const QString kDemo = QStringLiteral(ASTPEFT_FIXTURES "/../../resources/demo");
const QStringList kClasses = { "_background_", "down", "go", "left", "no", "off", "on", "right",
    "stop", "up", "yes" }; // sorted: the run's label order

// Copies the folder tree `from` into `to`.
bool copyTree(const QString &from, const QString &to)
{
    const QDir source(from);
    if (!QDir().mkpath(to))
        return false;
    for (const QFileInfo &entry :
        source.entryInfoList(QDir::Dirs | QDir::Files | QDir::NoDotAndDotDot)) {
        const QString target = to + "/" + entry.fileName();
        if (entry.isDir() ? !copyTree(entry.filePath(), target)
                          : !QFile::copy(entry.filePath(), target))
            return false;
    }
    return true;
}

QJsonObject jsonFile(const QString &path)
{
    return QJsonDocument::fromJson(readAll(path)).object();
}

} // namespace

class TestCliDemo : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_tmp;
    QString m_resources; // the stand-in: backbone/ and demo/
    QProcessEnvironment m_env;

    QString tmpPath(const QString &name) const { return m_tmp.filePath(name); }

    CliResult run(const QStringList &args) { return runIn(kCli, tmpPath("work"), args, m_env); }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        QVERIFY(QDir().mkpath(tmpPath("work")));
        m_env = QProcessEnvironment::systemEnvironment();
        m_env.insert("HOME", tmpPath("home"));
        m_env.insert("XDG_CACHE_HOME", tmpPath("home/.cache"));
        m_resources = tmpPath("resources");
        m_env.insert("ASTPEFT_RESOURCE_DIR", m_resources);
        QVERIFY2(copyTree(kDemo, m_resources + "/demo"), qPrintable(kDemo));
        ASTPEFT_RUN_EXPECT(run, init,
            (QStringList { "init-model", "--preset", "tiny", "--max-length", "100", "--out",
                m_resources + "/backbone" }),
            0);
    }

    void trainsTheDemo()
    {
        ASTPEFT_RUN_EXPECT(run, r, (QStringList { "train", "--demo", "--epochs", "1" }), 0);
        // The default run folder, in the working directory.
        const QString runDir = tmpPath("work/astpeft-demo-run");
        for (const char *file : { "adapter_config.json", "adapter_model.safetensors",
                 "metrics.jsonl", "options.json", "command.txt", "confusion.csv" })
            QVERIFY2(QFile::exists(runDir + "/" + file), file);

        QStringList labels;
        for (const QJsonValue &l : jsonFile(runDir + "/adapter_config.json")["labels"].toArray())
            labels << l.toString();
        QCOMPARE(labels, kClasses);

        // What --demo filled in: the bundled data and backbone, the adapter method, 1 epoch.
        const QJsonObject options = jsonFile(runDir + "/options.json");
        QCOMPARE(QDir(options["data"].toString()).canonicalPath(),
            QDir(m_resources + "/demo").canonicalPath());
        QCOMPARE(QDir(options["model"].toString()).canonicalPath(),
            QDir(m_resources + "/backbone").canonicalPath());
        QCOMPARE(options["epochs"].toInt(), 1);
        QVERIFY2(readAll(runDir + "/command.txt").contains("--method adapter"),
            readAll(runDir + "/command.txt").constData());

        // The import counted every demo clip: 32 per class.
        const QList<QJsonObject> events = jsonLines(readAll(runDir + "/metrics.jsonl"));
        QVERIFY(!events.isEmpty());
        const QJsonObject counts = events.first()["counts"].toObject();
        QCOMPARE(counts.keys(), kClasses);
        for (const QString &c : kClasses)
            QCOMPARE(counts[c].toInt(), 32);
        QVERIFY(events.last()["event"].toString() == "finished");

        // Again without --resume: refused, the run untouched.
        const QByteArray before = readAll(runDir + "/metrics.jsonl");
        ASTPEFT_RUN_EXPECT(run, again, (QStringList { "train", "--demo", "--epochs", "1" }), 2);
        QVERIFY(isOneLine(again.err));
        QVERIFY(again.err.contains("--resume"));
        QCOMPARE(readAll(runDir + "/metrics.jsonl"), before);

        // --resume continues the default run folder with the run's own options.
        ASTPEFT_RUN_EXPECT(
            run, resumed, (QStringList { "train", "--demo", "--resume", "--epochs", "2" }), 0);
        int epochs = 0;
        for (const QJsonObject &e : jsonLines(readAll(runDir + "/metrics.jsonl"))) {
            if (e["event"].toString() == "epoch")
                epochs = std::max(epochs, e["epoch"].toInt());
        }
        QCOMPARE(epochs, 2);
    }

    void outAndModelOverride()
    {
        // --model overrides the bundled backbone: a missing one is reported by name.
        const QString missing = tmpPath("no-such-model");
        ASTPEFT_RUN_EXPECT(run, r,
            (QStringList { "train", "--demo", "--epochs", "1", "--model", missing, "--out",
                tmpPath("other-run") }),
            1);
        QVERIFY2(r.err.contains(missing.toUtf8()), r.err.constData());
        ASTPEFT_RUN_EXPECT(
            run, data, (QStringList { "train", "--demo", "--data", m_resources + "/demo" }), 2);
        QVERIFY(data.err.contains("--data"));
    }

    void missingBackboneNamesEveryPlace()
    {
        QProcessEnvironment env = m_env;
        const QString empty = tmpPath("empty-resources");
        QVERIFY(QDir().mkpath(empty + "/demo"));
        env.insert("ASTPEFT_RESOURCE_DIR", empty);
        const CliResult r =
            runIn(kCli, tmpPath("work"), { "train", "--demo", "--out", tmpPath("never") }, env);
        QCOMPARE(r.exitCode, 1);
        QVERIFY(isOneLine(r.err));
        QVERIFY2(r.err.contains((empty + "/backbone").toUtf8()), r.err.constData());
        QVERIFY2(r.err.contains("share/astpeft"), r.err.constData());
        QVERIFY(!QFile::exists(tmpPath("never")));
    }

    // An installed layout: PREFIX/bin/astpeft finds PREFIX/share/astpeft without the variable.
    void installedLayout()
    {
        const QString prefix = tmpPath("prefix");
        QVERIFY(QDir().mkpath(prefix + "/bin"));
        QVERIFY(QDir().mkpath(prefix + "/share/astpeft/demo"));
        QVERIFY(QFile::copy(kCli, prefix + "/bin/astpeft"));
        QVERIFY(QFile::setPermissions(
            prefix + "/bin/astpeft", QFile::permissions(kCli) | QFile::ExeUser));
        QProcessEnvironment env = m_env;
        env.remove("ASTPEFT_RESOURCE_DIR");
        const CliResult r = runIn(prefix + "/bin/astpeft", tmpPath("work"),
            { "train", "--demo", "--out", tmpPath("never") }, env);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(
            r.err.contains((QDir(prefix).canonicalPath() + "/share/astpeft/backbone").toUtf8()),
            r.err.constData());
    }
};

QTEST_GUILESS_MAIN(TestCliDemo)
#include "tst_cli_demo.moc"
