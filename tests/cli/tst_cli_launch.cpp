// SPDX-License-Identifier: MIT
// `astpeft train --nproc N`'s argument handling through the built program (issue 18): bad
// counts and --nproc inside a launched worker are usage errors (exit status 2, before any
// work), the workers are this program with the arguments minus --nproc, and their failures come
// back as the launch's status with one line per worker. Training with several workers is
// tested where distributed training is (tst_cli_train); the launcher itself in
// tests/core/tst_local_launch.
#include "cli_support.h"

#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <QtTest>

using namespace astpeft::test;

namespace {

const QString kCli = QStringLiteral(ASTPEFT_CLI);

// This environment without any launcher's variables, plus `extra` ("NAME=value" each).
QProcessEnvironment environment(const QStringList &extra = {})
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const QString &name : env.keys()) {
        if (name.startsWith("SLURM_") || name == "RANK" || name == "WORLD_SIZE"
            || name == "LOCAL_RANK" || name == "LOCAL_WORLD_SIZE" || name == "ASTPEFT_THREADS")
            env.remove(name);
    }
    for (const QString &item : extra)
        env.insert(item.section('=', 0, 0), item.section('=', 1));
    return env;
}

CliResult runCli(const QStringList &args, const QStringList &extraEnv = {})
{
    QProcess p;
    capAddressSpace(p);
    p.setProcessEnvironment(environment(extraEnv));
    p.start(kCli, args);
    return collect(p, 120000);
}

QByteArray firstLine(const QByteArray &text)
{
    return text.left(text.indexOf('\n'));
}

} // namespace

class TestCliLaunch : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void badCounts_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        const QString out = m_dir.filePath("unwritten");
        QTest::addRow("0") << QStringList { "train", "--nproc", "0", "--demo", "--out", out }
                           << "astpeft train: --nproc must be at least 1";
        QTest::addRow("=0") << QStringList { "train", "--nproc=0", "--demo", "--out", out }
                            << "astpeft train: --nproc must be at least 1";
        QTest::addRow("-2") << QStringList { "train", "--demo", "--nproc", "-2", "--out", out }
                            << "astpeft train: --nproc must be at least 1";
        QTest::addRow("257") << QStringList { "train", "--nproc", "257", "--demo", "--out", out }
                             << "astpeft train: --nproc must be at most 256, got 257";
        QTest::addRow("two") << QStringList { "train", "--nproc", "two", "--demo", "--out", out }
                             << "astpeft train: --nproc needs an integer, got 'two'";
        QTest::addRow("no value") << QStringList { "train", "--demo", "--out", out, "--nproc" }
                                  << "astpeft train: --nproc needs a value";
        QTest::addRow("another command") << QStringList { "eval", out, "--nproc", "2" }
                                         << "astpeft eval: unknown option --nproc for 'eval'";
    }
    void badCounts()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        const CliResult r = runCli(args);
        QVERIFY2(r.exitCode == 2, qPrintable(describe(args, r)));
        QVERIFY2(firstLine(r.err).startsWith(message.toUtf8()), qPrintable(describe(args, r)));
        QVERIFY(r.out.isEmpty());
        QVERIFY(!QFileInfo::exists(m_dir.filePath("unwritten")));
    }

    // A worker of torchrun, of a shell loop or of --nproc itself, or a task of a multi-task srun
    // step, starts no workers of its own: one line, exit status 2.
    void refusedInsideAWorker_data()
    {
        QTest::addColumn<QStringList>("env");
        QTest::addColumn<QString>("message");
        QTest::addRow("RANK") << QStringList { "RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1",
            "MASTER_PORT=29500" }
                              << "--nproc starts its own workers, but RANK is set";
        QTest::addRow("WORLD_SIZE=1") << QStringList { "WORLD_SIZE=1" }
                                      << "--nproc starts its own workers, but WORLD_SIZE is set";
        QTest::addRow("LOCAL_RANK") << QStringList { "LOCAL_RANK=1" }
                                    << "--nproc starts its own workers, but LOCAL_RANK is set";
        QTest::addRow("srun step") << QStringList { "SLURM_STEP_ID=0", "SLURM_JOB_ID=42",
            "SLURM_PROCID=1", "SLURM_NTASKS=2", "SLURM_LOCALID=1", "SLURM_NTASKS_PER_NODE=2",
            "SLURM_JOB_NODELIST=localhost" }
                                   << "--nproc starts its own workers, but this is "
                                      "task 1 of 2 of an srun step";
        QTest::addRow("malformed launcher variable") << QStringList { "SLURM_STEP_ID=0",
            "SLURM_PROCID=x" } << "astpeft: SLURM_PROCID: needs an integer, got 'x'";
    }
    void refusedInsideAWorker()
    {
        QFETCH(QStringList, env);
        QFETCH(QString, message);
        const QStringList args = { "train", "--nproc", "2", "--demo", "--out",
            m_dir.filePath("unwritten") };
        const CliResult r = runCli(args, env);
        QVERIFY2(r.exitCode == 2 && isOneLine(r.err), qPrintable(describe(args, r)));
        QVERIFY2(r.err.startsWith("astpeft: "), qPrintable(describe(args, r)));
        QVERIFY2(r.err.contains(message.toUtf8()), qPrintable(describe(args, r)));
        QVERIFY(!QFileInfo::exists(m_dir.filePath("unwritten")));
    }

    // The workers run `astpeft train` with the rest of the arguments: here each refuses --frob
    // (a usage error, 2), which proves they started without --nproc; the launch reports each.
    void workersGetTheArguments_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addRow("--nproc 2") << QStringList { "train", "--nproc", "2", "--frob" };
        QTest::addRow("--nproc=2, --threads")
            << QStringList { "--threads", "1", "train", "--frob", "--nproc=2" };
    }
    void workersGetTheArguments()
    {
        QFETCH(QStringList, args);
        const CliResult r = runCli(args);
        QVERIFY2(r.exitCode == 2, qPrintable(describe(args, r)));
        QCOMPARE(r.err.count("astpeft train: unknown option --frob for 'train'"), 2);
        QVERIFY2(!r.err.contains("nproc"), qPrintable(describe(args, r)));
        for (const char *rank : { "astpeft: worker rank 0 (pid ", "astpeft: worker rank 1 (pid " })
            QVERIFY2(r.err.contains(rank), qPrintable(describe(args, r)));
        QCOMPARE(r.err.count(") exited with status 2\n"), 2);
    }

    // --nproc 1 is a plain single process: train runs here, no workers.
    void oneProcessRunsHere()
    {
        const QStringList args = { "train", "--nproc", "1", "--frob" };
        const CliResult r = runCli(args);
        QVERIFY2(r.exitCode == 2, qPrintable(describe(args, r)));
        QCOMPARE(r.err.count("unknown option --frob"), 1);
        QVERIFY2(!r.err.contains("worker"), qPrintable(describe(args, r)));
    }

    // ASTPEFT_THREADS is --threads' default, checked as strictly.
    void threadsVariable()
    {
        const CliResult bad = runCli({ "methods" }, { "ASTPEFT_THREADS=many" });
        QCOMPARE(bad.exitCode, 2);
        QCOMPARE(
            bad.err, QByteArray("astpeft: ASTPEFT_THREADS needs a count (0 = one per core)\n"));
        const CliResult good = runCli({ "methods" }, { "ASTPEFT_THREADS=2" });
        QCOMPARE(good.exitCode, 0);
        const CliResult help = runCli({ "--help" });
        QVERIFY(help.out.contains("ASTPEFT_THREADS"));
        const CliResult trainHelp = runCli({ "train", "--help" });
        QVERIFY(trainHelp.out.contains("--nproc N"));
    }

private:
    QTemporaryDir m_dir;
};

QTEST_GUILESS_MAIN(TestCliLaunch)
#include "tst_cli_launch.moc"
