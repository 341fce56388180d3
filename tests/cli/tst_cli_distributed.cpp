// SPDX-License-Identifier: MIT
// Data-parallel `astpeft train` on c10d's Gloo over 127.0.0.1, end to end: the built binary
// (ASTPEFT_CLI) started as the ranks of a group the way torchrun starts them (RANK, WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT, LOCAL_RANK in the environment) and by `--nproc`. Checks that two
// processes at batch 5 train what one process trains at batch 10 (losses, metrics and adapter
// weights to fp32 rounding; the last global batch leaves rank 1 empty), that rank 0 alone
// writes and prints, that a killed, hung or failing rank ends the other within the timeout with
// one line naming it, that the run resumes exactly after a kill, and the refusals (another world
// size on resume, ranks that disagree, a rendezvous nobody joins). Torch-free.
#include "cli_support.h"
#include "io/safetensors.h"
#include "word_dataset.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <memory>
#include <vector>

namespace {

using namespace astpeft::test;

const QString kCli = QStringLiteral(ASTPEFT_CLI);
constexpr int kEpochs = 6; // long enough to kill a rank in the middle

// A loopback port nobody listens on now.
int freePort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0
        && ::getsockname(fd, reinterpret_cast<sockaddr *>(&address), &size) == 0)
        port = ntohs(address.sin_port);
    ::close(fd);
    return port;
}

QList<QJsonObject> eventsNamed(const QString &run, const QString &name)
{
    QList<QJsonObject> out;
    for (const QJsonObject &e : jsonLines(readAll(run + "/metrics.jsonl"))) {
        if (e.value("event").toString() == name)
            out.append(e);
    }
    return out;
}

// Rank 0 reports progress on stderr before it fails: its error is the one "astpeft:" line, last.
bool endsWithOneError(const QByteArray &err)
{
    const QList<QByteArray> lines = err.trimmed().split('\n');
    int errors = 0;
    for (const QByteArray &line : lines)
        errors += line.startsWith("astpeft:") ? 1 : 0;
    return errors == 1 && lines.last().startsWith("astpeft:") && err.endsWith('\n');
}

bool close(double a, double b, double tolerance = 1e-4)
{
    return std::abs(a - b) <= tolerance * std::max(1.0, std::max(std::abs(a), std::abs(b)));
}

// The adapter's float32 tensors by name.
std::map<std::string, std::vector<float>> adapterWeights(const QString &run)
{
    std::map<std::string, std::vector<float>> out;
    const astpeft::core::SafetensorsFile file((run + "/adapter_model.safetensors").toStdString());
    for (const auto &t : file.tensors()) {
        if (t.dtype != astpeft::core::DType::F32)
            continue;
        const auto bytes = file.data(t);
        std::vector<float> values(bytes.size() / sizeof(float));
        std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
        out[t.name] = std::move(values);
    }
    return out;
}

// The largest difference between two runs' adapters, relative to the weights' scale; -1 when
// their tensors differ in names or sizes.
double adapterDifference(const QString &a, const QString &b)
{
    const auto x = adapterWeights(a), y = adapterWeights(b);
    if (x.size() != y.size() || x.empty())
        return -1;
    double worst = 0;
    for (const auto &[name, values] : x) {
        const auto it = y.find(name);
        if (it == y.end() || it->second.size() != values.size())
            return -1;
        for (std::size_t i = 0; i < values.size(); ++i) {
            worst = std::max(worst,
                std::abs(double(values[i]) - double(it->second[i]))
                    / std::max(1.0, std::abs(double(values[i]))));
        }
    }
    return worst;
}

} // namespace

class TestCliDistributed : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    QProcessEnvironment m_env;
    QString m_data, m_model, m_cache;
    QString m_single, m_pair; // 1 process at batch 10; 2 processes at batch 5 (initTestCase)

    QString tmpPath(const QString &name) const { return m_tmp.filePath(name); }

    QStringList trainArgs(const QString &out, int batchSize, const QStringList &more = {}) const
    {
        return QStringList { "train", "--model", m_model, "--data", m_data, "--val-fraction",
            "0.25", "--cache-dir", m_cache, "--method", "lora", "--epochs",
            QString::number(kEpochs), "--batch-size", QString::number(batchSize), "--out", out }
        + more;
    }

    // One rank of a group of `world` on `port`, started (not awaited).
    std::unique_ptr<QProcess> startRank(int rank, int world, int port, const QStringList &args,
        const QProcessEnvironment &extra = {}) const
    {
        auto p = std::make_unique<QProcess>();
        QProcessEnvironment env = m_env;
        env.insert("RANK", QString::number(rank));
        env.insert("WORLD_SIZE", QString::number(world));
        env.insert("LOCAL_RANK", QString::number(rank));
        env.insert("LOCAL_WORLD_SIZE", QString::number(world));
        env.insert("MASTER_ADDR", "127.0.0.1");
        env.insert("MASTER_PORT", QString::number(port));
        for (const QString &key : extra.keys())
            env.insert(key, extra.value(key));
        p->setProcessEnvironment(env);
        p->setWorkingDirectory(m_tmp.path());
        p->start(kCli, args);
        return p;
    }

    // Runs a group of `world` ranks with the same arguments and collects each.
    QList<CliResult> runGroup(int world, const QStringList &args) const
    {
        const int port = freePort();
        std::vector<std::unique_ptr<QProcess>> ranks;
        for (int r = 0; r < world; ++r)
            ranks.push_back(startRank(r, world, port, args));
        QList<CliResult> results;
        for (auto &p : ranks)
            results.append(collect(*p, 300000));
        return results;
    }

    CliResult run(const QStringList &args) const
    {
        return runIn(kCli, m_tmp.path(), args, m_env, 300000);
    }

    // Waits (up to `ms`) until the run folder's log has `epochs` epoch events.
    bool waitForEpochs(const QString &run, int epochs, int ms = 120000) const
    {
        QElapsedTimer t;
        t.start();
        while (t.elapsed() < ms) {
            if (eventsNamed(run, "epoch").size() >= epochs)
                return true;
            QTest::qWait(100);
        }
        return false;
    }

    struct Pair
    {
        std::unique_ptr<QProcess> rank0, rank1;
    };
    // A pair of ranks on `args` training into `out`; once its first epoch is logged, `signal`
    // goes to rank 1.
    Pair startPairThenSignal(const QString &out, const QStringList &args, int signal) const
    {
        const int port = freePort();
        Pair pair { startRank(0, 2, port, args), startRank(1, 2, port, args) };
        if (waitForEpochs(out, 1))
            ::kill(pid_t(pair.rank1->processId()), signal);
        return pair;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        QVERIFY2(QFileInfo(kCli).isExecutable(), qPrintable(kCli));
        m_env = isolatedEnvironment(tmpPath("home"));
        m_env.insert("OMP_NUM_THREADS", "1"); // two ranks on two cores
        for (const char *name :
            { "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                "SLURM_PROCID", "SLURM_NTASKS", "SLURM_STEP_ID", "SLURM_JOB_ID" })
            m_env.remove(name);
        m_cache = tmpPath("cache");
        m_data = tmpPath("words");
        // 4 words x 8 clips; a quarter of each for validation: 24 training clips, so at a
        // global batch of 10 the last one (4 clips) leaves rank 1 without a clip.
        QCOMPARE(writeWordDataset(m_data), 32);
        m_model = tmpPath("model");
        {
            const QStringList args { "init-model", "--preset", "tiny", "--max-length", "128",
                "--out", m_model };
            const CliResult r = run(args);
            QVERIFY2(r.exitCode == 0, qPrintable(describe(args, r)));
        }
        m_single = tmpPath("single");
        const QStringList single = QStringList { "--threads", "1" } + trainArgs(m_single, 10);
        const CliResult r = run(single);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(single, r)));
        m_pair = tmpPath("pair");
        const QStringList pair = QStringList { "--threads", "1" } + trainArgs(m_pair, 5);
        const QList<CliResult> results = runGroup(2, pair);
        for (const CliResult &g : results)
            QVERIFY2(g.exitCode == 0, qPrintable(describe(pair, g)));
        // Rank 1 prints nothing; rank 0 reports for the group.
        QVERIFY2(results[1].out.isEmpty() && results[1].err.isEmpty(),
            qPrintable(describe(pair, results[1])));
        QVERIFY(results[0].out.contains("lora"));
    }

    void twoProcessesTrainWhatOneTrainsOnTheGlobalBatch()
    {
        const QList<QJsonObject> one = eventsNamed(m_single, "step");
        const QList<QJsonObject> two = eventsNamed(m_pair, "step");
        QCOMPARE(one.size(), 3 * kEpochs); // 24 clips in global batches of 10
        QCOMPARE(two.size(), one.size());
        for (int i = 0; i < one.size(); ++i) {
            QCOMPARE(two[i].value("step").toInteger(), one[i].value("step").toInteger());
            QCOMPARE(
                two[i].value("total_steps").toInteger(), one[i].value("total_steps").toInteger());
            QVERIFY2(close(two[i].value("loss").toDouble(), one[i].value("loss").toDouble()),
                qPrintable(QStringLiteral("step %1: loss %2 (2 processes) vs %3 (1)")
                               .arg(i + 1)
                               .arg(two[i].value("loss").toDouble())
                               .arg(one[i].value("loss").toDouble())));
            QCOMPARE(
                two[i].value("learning_rate").toDouble(), one[i].value("learning_rate").toDouble());
            QCOMPARE(two[i].value("world_size").toInt(), 2);
        }
        const QList<QJsonObject> epochsOne = eventsNamed(m_single, "epoch");
        const QList<QJsonObject> epochsTwo = eventsNamed(m_pair, "epoch");
        QCOMPARE(epochsTwo.size(), kEpochs);
        for (int i = 0; i < kEpochs; ++i) {
            for (const char *key : { "train_loss", "train_accuracy", "val_loss", "val_accuracy" }) {
                QVERIFY2(
                    close(epochsTwo[i].value(key).toDouble(), epochsOne[i].value(key).toDouble()),
                    qPrintable(QStringLiteral("epoch %1 %2: %3 vs %4")
                                   .arg(i + 1)
                                   .arg(key)
                                   .arg(epochsTwo[i].value(key).toDouble())
                                   .arg(epochsOne[i].value(key).toDouble())));
            }
            QCOMPARE(epochsTwo[i].value("confusion"), epochsOne[i].value("confusion"));
        }
        const double difference = adapterDifference(m_single, m_pair);
        QVERIFY2(difference >= 0 && difference < 1e-4, qPrintable(QString::number(difference)));
        // The finished event names the group and what its all-reduces moved.
        const QJsonObject finished = eventsNamed(m_pair, "finished").value(0);
        QCOMPARE(finished.value("world_size").toInt(), 2);
        const QJsonObject allReduce = finished.value("all_reduce").toObject();
        QCOMPARE(allReduce.value("count").toInteger(), 3 * kEpochs);
        QVERIFY(allReduce.value("bytes").toInteger() > 0);
        QCOMPARE(eventsNamed(m_pair, "import").value(0).value("world_size").toInt(), 2);
        QCOMPARE(eventsNamed(m_single, "import").value(0).value("world_size").toInt(), 1);
    }

    void rankZeroAloneWrites()
    {
        // What a plain run writes, and nothing else (no other rank's temporary files or lock).
        QStringList single, pair;
        for (const QString &name :
            QDir(m_single).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden))
            single << name;
        for (const QString &name :
            QDir(m_pair).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden))
            pair << name;
        QCOMPARE(pair, single);
    }

    void resumeNeedsTheSameWorldSize()
    {
        const QStringList args { "--threads", "1", "train", "--resume", "--out", m_pair, "--epochs",
            QString::number(kEpochs + 1) };
        const CliResult r = run(args);
        QVERIFY2(r.exitCode == 2, qPrintable(describe(args, r)));
        QVERIFY2(r.err.contains("trained on 2 processes") && isOneLine(r.err), r.err.constData());
    }

    void killedRankEndsTheOtherAndTheRunResumes()
    {
        const QString out = tmpPath("killed");
        const QStringList args =
            QStringList { "--threads", "1" } + trainArgs(out, 5, { "--dist-timeout", "30" });
        const Pair pair = startPairThenSignal(out, args, SIGKILL);
        QElapsedTimer t;
        t.start();
        const CliResult r0 = collect(*pair.rank0, 60000);
        collect(*pair.rank1, 10000);
        QVERIFY2(r0.exitCode == 1, qPrintable(describe(args, r0)));
        QVERIFY2(t.elapsed() < 30000, qPrintable(QString::number(t.elapsed())));
        QVERIFY2(endsWithOneError(r0.err) && r0.err.contains("rank 1 (pid"), r0.err.constData());
        // Resumable from the last finished epoch: two processes again end where the
        // uninterrupted pair ended.
        const QStringList resume { "--threads", "1", "train", "--resume", "--out", out };
        const QList<CliResult> results = runGroup(2, resume);
        for (const CliResult &g : results)
            QVERIFY2(g.exitCode == 0, qPrintable(describe(resume, g)));
        QCOMPARE(adapterDifference(m_pair, out), 0.0);
        const QList<QJsonObject> a = eventsNamed(m_pair, "step"), b = eventsNamed(out, "step");
        QCOMPARE(b.size(), a.size());
        for (int i = 0; i < a.size(); ++i)
            QCOMPARE(b[i].value("loss").toDouble(), a[i].value("loss").toDouble());
    }

    void stopOnOneRankStopsTheGroup()
    {
        // SIGTERM (or Ctrl-C) reaching one rank only: the ranks agree at the next optimizer
        // step, both end resumable with exit status 130, and the resumed pair ends where the
        // uninterrupted one did.
        const QString out = tmpPath("stopped");
        const QStringList args = QStringList { "--threads", "1" } + trainArgs(out, 5);
        const Pair pair = startPairThenSignal(out, args, SIGTERM);
        const CliResult r1 = collect(*pair.rank1, 60000);
        const CliResult r0 = collect(*pair.rank0, 60000);
        QVERIFY2(r0.exitCode == 130, qPrintable(describe(args, r0)));
        QVERIFY2(r1.exitCode == 130 && r1.err.isEmpty(), qPrintable(describe(args, r1)));
        QCOMPARE(eventsNamed(out, "finished").value(0).value("reason").toString(),
            QStringLiteral("cancelled"));
        const QStringList resume { "--threads", "1", "train", "--resume", "--out", out };
        for (const CliResult &g : runGroup(2, resume))
            QVERIFY2(g.exitCode == 0, qPrintable(describe(resume, g)));
        QCOMPARE(adapterDifference(m_pair, out), 0.0);
    }

    void nprocStartsTheGroupItself()
    {
        const QString out = tmpPath("nproc");
        const QStringList args =
            QStringList { "--threads", "1", "train", "--nproc", "2" } + trainArgs(out, 5).mid(1);
        const CliResult r = run(args);
        QVERIFY2(r.exitCode == 0, qPrintable(describe(args, r)));
        QCOMPARE(eventsNamed(out, "import").value(0).value("world_size").toInt(), 2);
        // The same group as the pair started by hand: the same adapter, bit for bit.
        QCOMPARE(adapterDifference(m_pair, out), 0.0);
    }

    // torchrun (ASTPEFT_TORCHRUN: its path; .ci/run gives the torch 2.x build's) starting the
    // ranks: with rank 0 hosting the store, and with torchrun's own store when torchrun's
    // PyTorch is this program's libtorch version (another one is refused within the timeout,
    // with the way out).
    void torchrunStartsTheGroup()
    {
        const QString torchrun = qEnvironmentVariable("ASTPEFT_TORCHRUN");
        if (torchrun.isEmpty() || !QFileInfo(torchrun).isExecutable())
            QSKIP("no torchrun: set ASTPEFT_TORCHRUN to one");
        const QString python = QFileInfo(torchrun).dir().filePath("python3");
        const CliResult theirs =
            runIn(python, m_tmp.path(), { "-c", "import torch; print(torch.__version__)" }, m_env);
        const CliResult ours = run({ "--version" });
        const QString theirVersion = QString::fromUtf8(theirs.out).section('.', 0, 1);
        const bool sameVersion = !theirVersion.isEmpty()
            && QString::fromUtf8(ours.out).contains("libtorch " + theirVersion + ".");
        for (const bool agentStore : { false, true }) {
            const QString out = tmpPath(agentStore ? "torchrun-agent" : "torchrun");
            QProcessEnvironment env = m_env;
            if (!agentStore)
                env.insert("TORCH_DISABLE_SHARE_RDZV_TCP_STORE", "1");
            const QStringList args = QStringList {
                "--standalone", "--nproc-per-node", "2", "--no-python", kCli, "--threads", "1"
            } + trainArgs(out, 5, { "--dist-timeout", "10" });
            const CliResult r = runIn(torchrun, m_tmp.path(), args, env, 300000);
            if (agentStore && !sameVersion) {
                QVERIFY2(r.exitCode != 0 && r.err.contains("TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1"),
                    qPrintable(describe(args, r)));
                continue;
            }
            QVERIFY2(r.exitCode == 0, qPrintable(describe(args, r)));
            QCOMPARE(adapterDifference(m_pair, out), 0.0);
        }
    }

    void hungRankEndsTheOtherWithinTheTimeout()
    {
        const QString out = tmpPath("hung");
        const QStringList args = QStringList { "--threads", "1" }
            + trainArgs(out, 5, { "--epochs", "50", "--dist-timeout", "4" });
        const Pair pair = startPairThenSignal(out, args, SIGSTOP);
        QElapsedTimer t;
        t.start();
        const CliResult r0 = collect(*pair.rank0, 60000);
        const qint64 ms = t.elapsed();
        ::kill(pid_t(pair.rank1->processId()), SIGKILL);
        collect(*pair.rank1, 10000);
        QVERIFY2(r0.exitCode == 1, qPrintable(describe(args, r0)));
        QVERIFY2(ms < 20000, qPrintable(QString::number(ms)));
        QVERIFY2(endsWithOneError(r0.err) && r0.err.contains("rank 1 (pid")
                && r0.err.contains("stopped responding"),
            r0.err.constData());
        // The log ends with the failure; the checkpoint keeps the last finished epoch.
        const QList<QJsonObject> failed = eventsNamed(out, "failed");
        QCOMPARE(failed.size(), 1);
        QVERIFY(QFileInfo::exists(out + "/checkpoints/last/trainer_state.json"));
    }

    void failingRankIsNamedByTheOthers()
    {
        const QString out = tmpPath("failing");
        const int port = freePort();
        auto rank0 = startRank(0, 2, port, trainArgs(out, 5, { "--dist-timeout", "30" }));
        auto rank1 = startRank(1, 2, port,
            trainArgs(out, 5, { "--dist-timeout", "30" })
                .replaceInStrings(m_data, tmpPath("nowhere")));
        const CliResult r1 = collect(*rank1, 60000);
        const CliResult r0 = collect(*rank0, 60000);
        QVERIFY2(r1.exitCode != 0 && isOneLine(r1.err), r1.err.constData());
        QVERIFY2(r0.exitCode == 1 && isOneLine(r0.err), r0.err.constData());
        QVERIFY2(r0.err.contains("rank 1 (pid") && r0.err.contains("nowhere"), r0.err.constData());
        QVERIFY2(!QFileInfo::exists(out + "/metrics.jsonl"), "rank 0 started the run alone");
    }

    void ranksThatDisagreeAreRefused()
    {
        const QString out = tmpPath("disagree");
        const int port = freePort();
        auto rank0 = startRank(0, 2, port, trainArgs(out, 5, { "--seed", "1" }));
        auto rank1 = startRank(1, 2, port, trainArgs(out, 5, { "--seed", "2" }));
        for (auto *p : { rank0.get(), rank1.get() }) {
            const CliResult r = collect(*p, 60000);
            QVERIFY2(r.exitCode != 0 && isOneLine(r.err), r.err.constData());
            QVERIFY2(r.err.contains("disagree on the training options"), r.err.constData());
        }
        QVERIFY(!QFileInfo::exists(out + "/metrics.jsonl"));
    }

    void rendezvousThatNobodyJoinsTimesOut()
    {
        const QString out = tmpPath("alone");
        QElapsedTimer t;
        t.start();
        auto rank0 = startRank(0, 2, freePort(), trainArgs(out, 5, { "--dist-timeout", "2" }));
        const CliResult r = collect(*rank0, 60000);
        QVERIFY2(r.exitCode == 1 && isOneLine(r.err), r.err.constData());
        QVERIFY2(r.err.contains("rendezvous at 127.0.0.1:"), r.err.constData());
        QVERIFY2(t.elapsed() < 30000, qPrintable(QString::number(t.elapsed())));
    }

    void badEnvironmentIsOneLine()
    {
        QProcessEnvironment env = m_env;
        env.insert("RANK", "2");
        env.insert("WORLD_SIZE", "2");
        env.insert("MASTER_ADDR", "127.0.0.1");
        env.insert("MASTER_PORT", "29500");
        const QStringList args = trainArgs(tmpPath("bad-env"), 5);
        const CliResult r = runIn(kCli, m_tmp.path(), args, env, 60000);
        QVERIFY2(r.exitCode == 2 && isOneLine(r.err) && r.err.contains("RANK"),
            qPrintable(describe(args, r)));
    }
};

QTEST_GUILESS_MAIN(TestCliDistributed)
#include "tst_cli_distributed.moc"
