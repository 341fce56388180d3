// SPDX-License-Identifier: MIT
// core/train/dist_env: the launcher's variables (torchrun's contract, a plain shell loop, SLURM's
// srun) read into a DistEnv, and every malformed or partial set refused with one line naming
// the variable (issue 18).
#include "error.h"
#include "train/dist_env.h"

#include <QTest>

#include <map>
#include <string>

using namespace astpeft::core;

namespace {

using Vars = std::map<std::string, std::string>;

DistEnv read(const Vars &vars)
{
    return readDistEnv([&](const std::string &name) -> std::optional<std::string> {
        const auto it = vars.find(name);
        return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
    });
}

// "A=1 B=2" -> {A: 1, B: 2}; a value may be empty ("A=").
Vars vars(const QString &text)
{
    Vars out;
    for (const QString &item : text.split(' ', Qt::SkipEmptyParts)) {
        const qsizetype eq = item.indexOf('=');
        out[item.left(eq).toStdString()] = item.mid(eq + 1).toStdString();
    }
    return out;
}

const QString kSlurmStep = "SLURM_STEP_ID=0 SLURM_JOB_ID=123456 SLURM_NTASKS=8 "
                           "SLURM_NTASKS_PER_NODE=4 SLURM_JOB_NODELIST=gpu[07-08] ";

} // namespace

class TestDistEnv : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void singleProcess_data()
    {
        QTest::addColumn<QString>("env");
        QTest::addRow("nothing set") << "";
        QTest::addRow("unrelated variables") << "HOME=/root PATH=/bin";
        QTest::addRow("WORLD_SIZE=1") << "WORLD_SIZE=1";
        QTest::addRow("WORLD_SIZE=1 RANK=0") << "WORLD_SIZE=1 RANK=0 LOCAL_RANK=0";
        QTest::addRow("empty values count as unset") << "RANK= WORLD_SIZE= MASTER_ADDR=";
        QTest::addRow("MASTER_ADDR alone") << "MASTER_ADDR=10.0.0.1 MASTER_PORT=29500";
        // A batch script's own shell: SLURM's task variables without an srun step.
        QTest::addRow("sbatch script") << "SLURM_JOB_ID=7 SLURM_PROCID=0 SLURM_NTASKS=4 "
                                          "SLURM_LOCALID=0 SLURM_JOB_NODELIST=n[1-4]";
        QTest::addRow("srun of one task") << "SLURM_STEP_ID=0 SLURM_PROCID=0 SLURM_NTASKS=1 "
                                             "SLURM_LOCALID=0 SLURM_TASKS_PER_NODE=1";
    }
    void singleProcess()
    {
        QFETCH(QString, env);
        const DistEnv d = read(vars(env));
        QVERIFY(!d.distributed());
        QCOMPARE(d.rank, 0);
        QCOMPARE(d.worldSize, 1);
        QCOMPARE(d.localRank, 0);
        QCOMPARE(d.localWorldSize, 1);
        QCOMPARE(d.launcher, std::string());
        QCOMPARE(d.masterAddr, std::string());
        QCOMPARE(d.masterPort, 0);
    }

    void launchers_data()
    {
        QTest::addColumn<QString>("env");
        QTest::addColumn<int>("rank");
        QTest::addColumn<int>("worldSize");
        QTest::addColumn<int>("localRank");
        QTest::addColumn<int>("localWorldSize");
        QTest::addColumn<QString>("masterAddr");
        QTest::addColumn<int>("masterPort");
        QTest::addColumn<QString>("launcher");
        QTest::addRow("torchrun, two machines")
            << "MASTER_ADDR=node01 MASTER_PORT=29500 RANK=5 WORLD_SIZE=8 LOCAL_RANK=1 "
               "LOCAL_WORLD_SIZE=4 GROUP_RANK=1"
            << 5 << 8 << 1 << 4 << "node01" << 29500 << "torchrun";
        QTest::addRow("shell loop: RANK and WORLD_SIZE only")
            << "MASTER_ADDR=127.0.0.1 MASTER_PORT=12345 RANK=2 WORLD_SIZE=3" << 2 << 3 << 2 << 3
            << "127.0.0.1" << 12345 << "torchrun";
        QTest::addRow("shell loop with LOCAL_RANK")
            << "MASTER_ADDR=::1 MASTER_PORT=1 RANK=0 WORLD_SIZE=2 LOCAL_RANK=0" << 0 << 2 << 0 << 2
            << "::1" << 1 << "torchrun";
        QTest::addRow("torchrun wins over SLURM") << kSlurmStep
                + "SLURM_PROCID=6 SLURM_LOCALID=2 MASTER_ADDR=h MASTER_PORT=65535 "
                  "RANK=1 WORLD_SIZE=2" << 1 << 2 << 1
                                                  << 2 << "h" << 65535 << "torchrun";
        QTest::addRow("slurm") << kSlurmStep + "SLURM_PROCID=6 SLURM_LOCALID=2" << 6 << 8 << 2 << 4
                               << "gpu07" << 20000 + 123456 % 20000 << "slurm";
        QTest::addRow("slurm, MASTER_ADDR and MASTER_PORT given")
            << kSlurmStep + "SLURM_PROCID=0 SLURM_LOCALID=0 MASTER_ADDR=login1 MASTER_PORT=4000"
            << 0 << 8 << 0 << 4 << "login1" << 4000 << "slurm";
        QTest::addRow("slurm, step node list first")
            << kSlurmStep + "SLURM_PROCID=0 SLURM_LOCALID=0 SLURM_STEP_NODELIST=gpu[08,07]" << 0
            << 8 << 0 << 4 << "gpu08" << 23456 << "slurm";
        QTest::addRow("slurm, SLURM_NODELIST and SLURM_JOBID")
            << "SLURM_STEP_ID=3 SLURM_JOBID=40001 SLURM_NTASKS=2 SLURM_PROCID=1 SLURM_LOCALID=0 "
               "SLURM_TASKS_PER_NODE=1(x2) SLURM_NODEID=1 SLURM_NODELIST=a,b"
            << 1 << 2 << 0 << 1 << "a" << 20001 << "slurm";
        QTest::addRow("slurm, uneven tasks per node")
            << "SLURM_STEP_ID=0 SLURM_JOB_ID=1 SLURM_NTASKS=7 SLURM_PROCID=6 SLURM_LOCALID=0 "
               "SLURM_TASKS_PER_NODE=2(x3),1 SLURM_NODEID=3 SLURM_JOB_NODELIST=n[1-4]"
            << 6 << 7 << 0 << 1 << "n1" << 20001 << "slurm";
        QTest::addRow("slurm, node 2 of 2(x3),1")
            << "SLURM_STEP_ID=0 SLURM_JOB_ID=1 SLURM_NTASKS=7 SLURM_PROCID=5 SLURM_LOCALID=1 "
               "SLURM_TASKS_PER_NODE=2(x3),1 SLURM_NODEID=2 SLURM_JOB_NODELIST=n[1-4]"
            << 5 << 7 << 1 << 2 << "n1" << 20001 << "slurm";
    }
    void launchers()
    {
        QFETCH(QString, env);
        const DistEnv d = read(vars(env));
        QTEST(d.rank, "rank");
        QTEST(d.worldSize, "worldSize");
        QTEST(d.localRank, "localRank");
        QTEST(d.localWorldSize, "localWorldSize");
        QTEST(QString::fromStdString(d.masterAddr), "masterAddr");
        QTEST(d.masterPort, "masterPort");
        QTEST(QString::fromStdString(d.launcher), "launcher");
        QVERIFY(d.distributed());
    }

    // Every task of a job derives the same port, within 20000..39999.
    void slurmPortIsTheJobs()
    {
        for (const char *job : { "0", "19999", "20000", "123456789012" }) {
            Vars v = vars(kSlurmStep + "SLURM_PROCID=0 SLURM_LOCALID=0");
            v["SLURM_JOB_ID"] = job;
            QCOMPARE(read(v).masterPort, int(20000 + std::stoll(job) % 20000));
        }
    }

    void malformed_data()
    {
        QTest::addColumn<QString>("env");
        QTest::addColumn<QString>("message");
        const QString rdv = "MASTER_ADDR=h MASTER_PORT=29500 ";
        QTest::addRow("RANK not an integer") << rdv + "RANK=one WORLD_SIZE=2"
                                             << "RANK: needs an integer, got 'one'";
        QTest::addRow("RANK with a blank") << rdv + "RANK=1x WORLD_SIZE=2"
                                           << "RANK: needs an integer";
        QTest::addRow("RANK negative") << rdv + "RANK=-1 WORLD_SIZE=2"
                                       << "RANK: must be at least 0, got -1";
        QTest::addRow("RANK = WORLD_SIZE") << rdv + "RANK=2 WORLD_SIZE=2"
                                           << "RANK: must be below WORLD_SIZE (2), got 2";
        QTest::addRow("RANK huge") << rdv + "RANK=99999999999999999999 WORLD_SIZE=2"
                                   << "RANK: must be at most 65535";
        QTest::addRow("WORLD_SIZE 0") << rdv + "RANK=0 WORLD_SIZE=0"
                                      << "WORLD_SIZE: must be at least 1, got 0";
        QTest::addRow("WORLD_SIZE absurd") << rdv + "RANK=0 WORLD_SIZE=65537"
                                           << "WORLD_SIZE: must be at most 65536, got 65537";
        QTest::addRow("WORLD_SIZE float") << rdv + "RANK=0 WORLD_SIZE=2.0"
                                          << "WORLD_SIZE: needs an integer, got '2.0'";
        QTest::addRow("RANK without WORLD_SIZE") << rdv + "RANK=0"
                                                 << "WORLD_SIZE: not set, but RANK is";
        QTest::addRow("LOCAL_RANK alone") << "LOCAL_RANK=0"
                                          << "WORLD_SIZE: not set, but LOCAL_RANK is";
        QTest::addRow("WORLD_SIZE without RANK") << rdv + "WORLD_SIZE=4"
                                                 << "RANK: not set, but WORLD_SIZE is 4";
        QTest::addRow("no MASTER_ADDR") << "MASTER_PORT=29500 RANK=0 WORLD_SIZE=2"
                                        << "MASTER_ADDR: not set, but WORLD_SIZE is 2";
        QTest::addRow("no MASTER_PORT") << "MASTER_ADDR=h RANK=0 WORLD_SIZE=2"
                                        << "MASTER_PORT: not set, but WORLD_SIZE is 2";
        QTest::addRow("MASTER_PORT 0") << "MASTER_ADDR=h MASTER_PORT=0 RANK=0 WORLD_SIZE=2"
                                       << "MASTER_PORT: must be at least 1, got 0";
        QTest::addRow("MASTER_PORT 65536") << "MASTER_ADDR=h MASTER_PORT=65536 RANK=0 WORLD_SIZE=2"
                                           << "MASTER_PORT: must be at most 65535, got 65536";
        QTest::addRow("MASTER_PORT word") << "MASTER_ADDR=h MASTER_PORT=http RANK=0 WORLD_SIZE=2"
                                          << "MASTER_PORT: needs an integer, got 'http'";
        QTest::addRow("MASTER_PORT bad, single process")
            << "MASTER_PORT=-5"
            << "MASTER_PORT: must be at least 1, got -5";
        QTest::addRow("MASTER_ADDR with a tab")
            << "MASTER_ADDR=a\tb MASTER_PORT=1 RANK=0 WORLD_SIZE=2"
            << "MASTER_ADDR: not a host name or address: 'a\\tb'";
        QTest::addRow("LOCAL_RANK = LOCAL_WORLD_SIZE")
            << rdv + "RANK=0 WORLD_SIZE=4 LOCAL_RANK=2 LOCAL_WORLD_SIZE=2"
            << "LOCAL_RANK: must be below LOCAL_WORLD_SIZE (2), got 2";
        QTest::addRow("LOCAL_WORLD_SIZE above WORLD_SIZE")
            << rdv + "RANK=0 WORLD_SIZE=2 LOCAL_RANK=0 LOCAL_WORLD_SIZE=4"
            << "LOCAL_WORLD_SIZE: must be at most WORLD_SIZE (2), got 4";
        QTest::addRow("LOCAL_WORLD_SIZE without LOCAL_RANK")
            << rdv + "RANK=0 WORLD_SIZE=2 LOCAL_WORLD_SIZE=2"
            << "LOCAL_RANK: not set, but LOCAL_WORLD_SIZE is";
        QTest::addRow("LOCAL_RANK beyond WORLD_SIZE (one machine)")
            << rdv + "RANK=0 WORLD_SIZE=2 LOCAL_RANK=3"
            << "LOCAL_RANK: must be below LOCAL_WORLD_SIZE (2), got 3";
        // SLURM, inside an srun step.
        const QString step = "SLURM_STEP_ID=0 SLURM_JOB_ID=9 SLURM_JOB_NODELIST=n[1-2] ";
        QTest::addRow("SLURM_PROCID missing")
            << step + "SLURM_NTASKS=2 SLURM_LOCALID=0 SLURM_NTASKS_PER_NODE=1"
            << "SLURM_PROCID: not set, but SLURM_STEP_ID is";
        QTest::addRow("SLURM_NTASKS missing")
            << step + "SLURM_PROCID=0 SLURM_LOCALID=0 SLURM_NTASKS_PER_NODE=1"
            << "SLURM_NTASKS: not set, but SLURM_STEP_ID is";
        QTest::addRow("SLURM_LOCALID missing")
            << step + "SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_NTASKS_PER_NODE=1"
            << "SLURM_LOCALID: not set, but SLURM_STEP_ID is";
        QTest::addRow("no tasks per node") << step + "SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_LOCALID=0"
                                           << "SLURM_TASKS_PER_NODE: not set, but SLURM_STEP_ID is";
        QTest::addRow("SLURM_PROCID = SLURM_NTASKS")
            << step + "SLURM_PROCID=2 SLURM_NTASKS=2 SLURM_LOCALID=0 SLURM_NTASKS_PER_NODE=1"
            << "SLURM_PROCID: must be below SLURM_NTASKS (2), got 2";
        QTest::addRow("SLURM_NTASKS absurd")
            << step + "SLURM_PROCID=0 SLURM_NTASKS=100000 SLURM_LOCALID=0 SLURM_NTASKS_PER_NODE=1"
            << "SLURM_NTASKS: must be at most 65536, got 100000";
        QTest::addRow("SLURM_LOCALID beyond the node")
            << step + "SLURM_PROCID=1 SLURM_NTASKS=2 SLURM_LOCALID=1 SLURM_NTASKS_PER_NODE=1"
            << "SLURM_LOCALID: must be below SLURM_NTASKS_PER_NODE (1), got 1";
        QTest::addRow("tasks per node malformed")
            << step + "SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_LOCALID=0 SLURM_TASKS_PER_NODE=2(x"
            << "SLURM_TASKS_PER_NODE: needs task counts such as 2(x3),1, got '2(x'";
        QTest::addRow("tasks per node too short")
            << step
                + "SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_LOCALID=0 SLURM_TASKS_PER_NODE=1(x2) "
                  "SLURM_NODEID=2"
            << "SLURM_TASKS_PER_NODE: '1(x2)' has no entry for SLURM_NODEID 2";
        QTest::addRow("no node list")
            << "SLURM_STEP_ID=0 SLURM_JOB_ID=9 SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_LOCALID=0 "
               "SLURM_NTASKS_PER_NODE=2"
            << "SLURM_JOB_NODELIST: not set, and MASTER_ADDR is not set either";
        QTest::addRow("node list malformed")
            << "SLURM_STEP_ID=0 SLURM_JOB_ID=9 SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_LOCALID=0 "
               "SLURM_NTASKS_PER_NODE=2 SLURM_JOB_NODELIST=n[1-"
            << "SLURM_JOB_NODELIST: an unclosed '[' in node list 'n[1-'";
        QTest::addRow("no job id for the port")
            << "SLURM_STEP_ID=0 SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_LOCALID=0 "
               "SLURM_NTASKS_PER_NODE=2 SLURM_JOB_NODELIST=n1"
            << "MASTER_PORT: not set, and no SLURM_JOB_ID to derive it from";
        QTest::addRow("job id malformed") << step
                + "SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_LOCALID=0 SLURM_NTASKS_PER_NODE=2 "
                  "SLURM_JOB_ID=12a"
                                          << "SLURM_JOB_ID: needs an integer, got '12a'";
        QTest::addRow("MASTER_PORT malformed under SLURM")
            << step
                + "SLURM_PROCID=0 SLURM_NTASKS=2 SLURM_LOCALID=0 SLURM_NTASKS_PER_NODE=2 "
                  "MASTER_PORT=99999"
            << "MASTER_PORT: must be at most 65535, got 99999";
    }
    void malformed()
    {
        QFETCH(QString, env);
        QFETCH(QString, message);
        try {
            const DistEnv d = read(vars(env));
            QFAIL(qPrintable("accepted; rank " + QString::number(d.rank) + " of "
                + QString::number(d.worldSize)));
        } catch (const Error &e) {
            QCOMPARE(e.kind(), ErrorKind::Usage);
            const QString what = QString::fromStdString(e.what());
            QVERIFY2(what.startsWith(message), qPrintable(what));
            QVERIFY2(!what.contains('\n'), qPrintable(what));
        }
    }

    void firstHost_data()
    {
        QTest::addColumn<QString>("nodelist");
        QTest::addColumn<QString>("first");
        QTest::addRow("ranges and a plain host") << "node[01-04,07],gpu5"
                                                 << "node01";
        QTest::addRow("two hosts") << "a,b"
                                   << "a";
        QTest::addRow("padding differs") << "n[9-10]"
                                         << "n9";
        QTest::addRow("one host") << "single"
                                  << "single";
        QTest::addRow("bracket at the end") << "rack1-[3,5]"
                                            << "rack1-3";
        QTest::addRow("two brackets") << "rack[1-2]-n[03-04]"
                                      << "rack1-n03";
        QTest::addRow("suffix after bracket") << "gpu[002-003].cluster,x"
                                              << "gpu002.cluster";
        QTest::addRow("first element is single") << "c[7,1-3]"
                                                 << "c7";
        QTest::addRow("plain then ranges") << "login,node[1-2]"
                                           << "login";
        QTest::addRow("bracket only") << "[1-3]"
                                      << "1";
        QTest::addRow("fully qualified") << "n1.example.org"
                                         << "n1.example.org";
    }
    void firstHost()
    {
        QFETCH(QString, nodelist);
        QTEST(QString::fromStdString(firstSlurmHost(nodelist.toStdString())), "first");
    }

    void badNodelists_data()
    {
        QTest::addColumn<QString>("nodelist");
        QTest::addColumn<QString>("message");
        QTest::addRow("empty") << ""
                               << "empty node list";
        QTest::addRow("unclosed") << "node[01-04"
                                  << "an unclosed '['";
        QTest::addRow("unmatched ]") << "node01]"
                                     << "an unmatched ']'";
        QTest::addRow("nested") << "n[1[2]]"
                                << "a '[' inside brackets";
        QTest::addRow("empty brackets") << "n[]"
                                        << "a bad range ''";
        QTest::addRow("reversed range") << "n[4-1]"
                                        << "a bad range '4-1'";
        QTest::addRow("letters in range") << "n[a-b]"
                                          << "a bad range 'a-b'";
        QTest::addRow("open range") << "n[1-]"
                                    << "a bad range '1-'";
        QTest::addRow("empty host") << "a,,b"
                                    << "an empty host name";
        QTest::addRow("trailing comma") << "a,"
                                        << "an empty host name";
        QTest::addRow("leading comma") << ",a"
                                       << "an empty host name";
        QTest::addRow("blank") << "a b"
                               << "a blank or control character";
        QTest::addRow("bad range later") << "a,b[2-1]"
                                         << "a bad range '2-1'";
    }
    void badNodelists()
    {
        QFETCH(QString, nodelist);
        QFETCH(QString, message);
        try {
            const std::string first = firstSlurmHost(nodelist.toStdString());
            QFAIL(qPrintable("accepted: " + QString::fromStdString(first)));
        } catch (const Error &e) {
            QCOMPARE(e.kind(), ErrorKind::Usage);
            const QString what = QString::fromStdString(e.what());
            QVERIFY2(what.startsWith(message), qPrintable(what));
            QVERIFY2(!what.contains('\n'), qPrintable(what));
        }
    }

    // The process environment goes through the same reader.
    void processEnvironment()
    {
        qputenv("RANK", "1");
        qputenv("WORLD_SIZE", "2");
        qputenv("MASTER_ADDR", "127.0.0.1");
        qputenv("MASTER_PORT", "29400");
        const DistEnv d = readDistEnv();
        for (const char *name : { "RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT" })
            qunsetenv(name);
        QCOMPARE(d.rank, 1);
        QCOMPARE(d.worldSize, 2);
        QCOMPARE(d.masterPort, 29400);
        QCOMPARE(readDistEnv().worldSize, 1);
    }
};

QTEST_GUILESS_MAIN(TestDistEnv)
#include "tst_dist_env.moc"
