// SPDX-License-Identifier: MIT
// `astpeft download` end to end against tests/hub_server.h serving a generated tiny checkpoint
// as the Hugging Face Hub would: the files arrive identical and `astpeft info` reads the folder;
// --json, HF_ENDPOINT and the XDG default folder; a repository id instead of the preset name;
// an interrupted transfer that the same command resumes; the offline message; a complete folder
// accepted, with a note, when the endpoint cannot be reached; usage errors.
#include "cli_support.h"
#include "hub_checkpoint.h"
#include "hub_server.h"
#include "inference/classifier.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <memory>

using namespace astpeft;
using namespace astpeft::test;

namespace {

const QString kCli = QStringLiteral(ASTPEFT_CLI);
const std::string kRepo = "MIT/ast-finetuned-audioset-10-10-0.4593";

} // namespace

class TestCliDownload : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    HubCheckpoint m_served; // what the local Hub serves
    std::unique_ptr<HubServer> m_server;
    QProcessEnvironment m_env;
    int m_case = 0;

    CliResult run(const QStringList &args) const { return runIn(kCli, {}, args, m_env, 120000); }
    QString freshDir() { return m_tmp.filePath(QStringLiteral("case%1").arg(++m_case)); }
    QString endpoint() const { return QString::fromStdString(m_server->endpoint()); }
    std::unique_ptr<HubServer> serverFor(const std::string &repo) const
    {
        return std::make_unique<HubServer>(repo,
            std::vector<HubServer::File> { { "config.json", m_served.config, false },
                { "model.safetensors", m_served.weights, true } });
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        const QString source = m_tmp.filePath("source");
        m_served = HubCheckpoint::generate(source, 3);
        QVERIFY(!m_served.config.isEmpty() && m_served.weights.size() > 200000);
    }

    void init()
    {
        m_server = serverFor(kRepo);
        QVERIFY(m_server->port() > 0);
        m_env = QProcessEnvironment::systemEnvironment();
        m_env.remove("HF_ENDPOINT");
        m_env.remove("HF_TOKEN");
        m_env.insert("XDG_DATA_HOME", m_tmp.filePath("xdg"));
        m_env.insert("OMP_WAIT_POLICY", "PASSIVE");
    }
    void cleanup() { m_server.reset(); }

    void downloadsAstAudioset()
    {
        const QString dir = freshDir();
        ASTPEFT_RUN_EXPECT(run, r,
            (QStringList { "download", "ast-audioset", "--endpoint", endpoint(), "--out", dir }),
            0);
        m_served.verifyFolder(dir);
        QVERIFY2(r.out.contains(("astpeft info " + dir).toUtf8()), r.out.constData());
        QVERIFY2(r.err.contains("model.safetensors"), r.err.constData()); // progress
        ASTPEFT_RUN_EXPECT(run, info, (QStringList { "info", dir, "--json" }), 0);
        const QJsonObject j = QJsonDocument::fromJson(info.out).object();
        QCOMPARE(j.value("config").toObject().value("hidden_size").toInt(), 64);
    }

    void jsonHfEndpointAndDefaultFolder()
    {
        m_env.insert("HF_ENDPOINT", endpoint());
        ASTPEFT_RUN_EXPECT(run, r, (QStringList { "download", "ast-audioset", "--json" }), 0);
        const QString dir = m_tmp.filePath("xdg/astpeft/models/ast-audioset");
        m_served.verifyFolder(dir);
        const QList<QJsonObject> lines = jsonLines(r.out);
        QCOMPARE(lines.size(), 1);
        const QJsonObject j = lines.front();
        QCOMPARE(j.value("dir").toString(), dir);
        QCOMPARE(j.value("endpoint").toString(), endpoint());
        QCOMPARE(j.value("repo").toString(), QString::fromStdString(kRepo));
        QCOMPARE(j.value("commit").toString(), QString(HubServer::kCommit));
        const QJsonArray files = j.value("files").toArray();
        QCOMPARE(files.size(), 2);
        QCOMPARE(files[0].toObject().value("name").toString(), QString("model.safetensors"));
        QCOMPARE(files[0].toObject().value("checksum").toString(),
            QString::fromStdString("sha256:" + HubServer::sha256Hex(m_served.weights)));
        QCOMPARE(j.value("bytes_transferred").toInteger(),
            m_served.weights.size() + m_served.config.size());
        QCOMPARE(j.value("offline"), QJsonValue(false));

        // Again: nothing is transferred.
        ASTPEFT_RUN_EXPECT(run, again, (QStringList { "download", "ast-audioset", "--json" }), 0);
        QCOMPARE(jsonLines(again.out).front().value("bytes_transferred").toInteger(), 0);
    }

    void repositoryId()
    {
        m_server = serverFor("someone/tiny-ast");
        ASTPEFT_RUN_EXPECT(
            run, r, (QStringList { "download", "someone/tiny-ast", "--endpoint", endpoint() }), 0);
        m_served.verifyFolder(m_tmp.filePath("xdg/astpeft/models/tiny-ast"));
    }

    void interruptedThenResumed()
    {
        const QString dir = freshDir();
        m_server->cutNextGet("model.safetensors", 60000);
        const QStringList args { "download", "ast-audioset", "--endpoint", endpoint(), "--out",
            dir };
        ASTPEFT_RUN_EXPECT(run, r, args, 1);
        QVERIFY2(
            r.err.contains("model.safetensors") && r.err.contains("resume"), r.err.constData());
        QCOMPARE(QFileInfo(dir + "/model.safetensors.incomplete").size(), 60000);
        m_server->clearRequests();
        ASTPEFT_RUN_EXPECT(run, again, args, 0);
        m_served.verifyFolder(dir);
        QCOMPARE(m_server->gets("model.safetensors").back().range, std::string("bytes=60000-"));
    }

    // Issue 17: Ctrl-C (or SIGTERM) ends a download with the cancelled status (130), as it
    // does a training, not with the input error's 1; the partial file stays for a resume.
    void interruptedByCtrlC_data()
    {
        QTest::addColumn<int>("signal");
        QTest::addRow("SIGINT") << int(SIGINT);
        QTest::addRow("SIGTERM") << int(SIGTERM);
    }
    void interruptedByCtrlC()
    {
        QFETCH(int, signal);
        const QString dir = freshDir();
        m_server->setThrottle(4096, 100); // about 40 kB/s: still downloading when interrupted
        QProcess p;
        p.setProcessEnvironment(m_env);
        p.start(kCli, { "download", "ast-audioset", "--endpoint", endpoint(), "--out", dir });
        QVERIFY(p.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(
            QFileInfo(dir + "/model.safetensors.incomplete").size() > 0, 60000);
        ::kill(pid_t(p.processId()), signal);
        QVERIFY(p.waitForFinished(60000));
        const QByteArray err = p.readAllStandardError();
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 130, err.constData());
        QVERIFY2(err.contains("download interrupted") && err.contains("resume"), err.constData());
        QVERIFY(QFile::exists(dir + "/model.safetensors.incomplete"));
        m_server->setThrottle(0, 0);
        ASTPEFT_RUN_EXPECT(run, again,
            (QStringList { "download", "ast-audioset", "--endpoint", endpoint(), "--out", dir }),
            0);
        m_served.verifyFolder(dir);
    }

    void offline()
    {
        const QString dead = QStringLiteral("http://127.0.0.1:%1").arg(HubServer::closedPort());
        ASTPEFT_RUN_EXPECT(run, r,
            (QStringList { "download", "ast-audioset", "--endpoint", dead, "--out", freshDir() }),
            1);
        QVERIFY2(r.err.contains(("cannot reach " + dead).toUtf8()), r.err.constData());
        QVERIFY2(r.err.contains("you may be offline"), r.err.constData());
        QVERIFY2(r.err.contains("HF_ENDPOINT"), r.err.constData());
    }

    void offlineWithCompleteFolder()
    {
        const QString dir = freshDir();
        ASTPEFT_RUN_EXPECT(run, first,
            (QStringList { "download", "ast-audioset", "--endpoint", endpoint(), "--out", dir }),
            0);
        const QString dead = QStringLiteral("http://127.0.0.1:%1").arg(HubServer::closedPort());
        const QStringList args { "download", "ast-audioset", "--endpoint", dead, "--out", dir };
        ASTPEFT_RUN_EXPECT(run, r, args, 0);
        QVERIFY2(r.err.contains((dead + " could not be reached").toUtf8())
                && r.err.contains("not re-checked"),
            r.err.constData());
        QVERIFY2(r.out.contains(("astpeft info " + dir).toUtf8()), r.out.constData());
        m_served.verifyFolder(dir);

        ASTPEFT_RUN_EXPECT(run, j, args + QStringList { "--json" }, 0);
        const QJsonObject o = jsonLines(j.out).front();
        QVERIFY(o.value("offline").toBool());
        QCOMPARE(o.value("bytes_transferred").toInteger(), 0);
        QCOMPARE(o.value("files").toArray().size(), 2);

        // One file missing: today's offline error.
        QVERIFY(QFile::remove(dir + "/config.json"));
        ASTPEFT_RUN_EXPECT(run, missing, args, 1);
        QVERIFY2(missing.err.contains("you may be offline"), missing.err.constData());
    }

    // Issue 17: a server sending 2 bytes/s kept `download` busy for minutes; a HEAD without an
    // answer said "you may be offline". $HF_HUB_DOWNLOAD_TIMEOUT (1 s here) bounds both.
    void stalledAndSilentServers()
    {
        m_env.insert("HF_HUB_DOWNLOAD_TIMEOUT", "1");
        const QString dir = freshDir();
        const QStringList args { "download", "ast-audioset", "--endpoint", endpoint(), "--out",
            dir };
        const QString host = QStringLiteral("127.0.0.1:%1").arg(m_server->port());
        m_server->setThrottle(2, 1000);
        ASTPEFT_RUN_EXPECT(run, stalled, args, 1);
        QVERIFY2(stalled.err.contains((host + " sent ").toUtf8())
                && stalled.err.contains("in the last 1 s") && stalled.err.contains("resume"),
            stalled.err.constData());
        QVERIFY(QFile::exists(dir + "/model.safetensors.incomplete"));

        m_server->setThrottle(0, 0);
        m_server->setHangHeads(true);
        ASTPEFT_RUN_EXPECT(run, silent, args, 1);
        QVERIFY2(silent.err.contains((host + " did not answer within 1 s").toUtf8())
                && !silent.err.contains("offline"),
            silent.err.constData());

        m_env.insert("HF_HUB_DOWNLOAD_TIMEOUT", "soon");
        ASTPEFT_RUN_EXPECT(run, bad, args, 2);
        QVERIFY2(
            isOneLine(bad.err) && bad.err.contains("HF_HUB_DOWNLOAD_TIMEOUT"), bad.err.constData());
    }

    void usageErrors()
    {
        ASTPEFT_RUN_EXPECT(run, unknown, (QStringList { "download", "nope" }), 2);
        QVERIFY2(unknown.err.contains("ast-audioset"), unknown.err.constData());
        ASTPEFT_RUN_EXPECT(run, none, (QStringList { "download" }), 2);
        ASTPEFT_RUN_EXPECT(run, scheme,
            (QStringList {
                "download", "ast-audioset", "--endpoint", "ftp://x", "--out", freshDir() }),
            2);
        // Issue 17: "a/." downloaded into the models folder itself.
        for (const QString name : { "a/.", "a/..", "../a", "a//b", "/tmp/a" }) {
            for (const QStringList &out : { QStringList {}, QStringList { "--out", freshDir() } }) {
                ASTPEFT_RUN_EXPECT(run, bad,
                    (QStringList { "download", name, "--endpoint", endpoint() } + out), 2);
                QVERIFY2(isOneLine(bad.err)
                        && bad.err.contains(("invalid repository id '" + name + "'").toUtf8()),
                    bad.err.constData());
            }
        }
        ASTPEFT_RUN_EXPECT(run, revision,
            (QStringList {
                "download", "ast-audioset", "--revision", "..", "--endpoint", endpoint() }),
            2);
        QVERIFY2(isOneLine(revision.err) && revision.err.contains("invalid revision '..'"),
            revision.err.constData());
        QVERIFY(m_server->requests().empty());
        for (const char *file : { "config.json", "model.safetensors" })
            QVERIFY(!QFileInfo::exists(m_tmp.filePath("xdg/astpeft/models/") + file));
        ASTPEFT_RUN_EXPECT(run, help, (QStringList { "download", "--help" }), 0);
        QVERIFY(help.out.contains("HF_ENDPOINT"));
    }
};

QTEST_GUILESS_MAIN(TestCliDownload)
#include "tst_cli_download.moc"
