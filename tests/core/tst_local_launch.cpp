// SPDX-License-Identifier: MIT
// core/train/local_launch: `--nproc N`'s launcher with real processes (/bin/sh workers): the
// environment each worker gets, exit statuses and the lines about failing workers, the grace
// then SIGTERM then SIGKILL after a failure, a stop forwarded as SIGINT, a program that cannot
// start, and no descriptor leaking either way (issue 18).
#include "error.h"
#include "train/local_launch.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using namespace astpeft::core;

namespace {

// Workers running `script` under /bin/sh, their lines collected in `lines`.
LocalLaunch shellWorkers(int nproc, const QString &script, std::vector<std::string> &lines)
{
    LocalLaunch launch;
    launch.nproc = nproc;
    launch.argv = { "/bin/sh", "-c", script.toStdString() };
    launch.report = [&lines](const std::string &line) { lines.push_back(line); };
    return launch;
}

QString readText(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()).trimmed() : QString();
}

int openDescriptors()
{
    int n = 0;
    for ([[maybe_unused]] const auto &entry : std::filesystem::directory_iterator("/proc/self/fd"))
        ++n;
    return n;
}

// "astpeft: worker rank R (pid N) TAIL" for some N.
bool isWorkerLine(const std::string &line, int rank, const std::string &tail)
{
    const std::string head = "astpeft: worker rank " + std::to_string(rank) + " (pid ";
    return line.rfind(head, 0) == 0 && line.size() > head.size() + tail.size()
        && line.compare(line.size() - tail.size(), tail.size(), tail) == 0
        && line.find(") ", head.size()) != std::string::npos;
}

QByteArray joined(const std::vector<std::string> &lines)
{
    std::string all;
    for (const std::string &l : lines)
        all += l + "\n";
    return QByteArray::fromStdString(all);
}

} // namespace

class TestLocalLaunch : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init()
    {
        QVERIFY(m_dir.isValid());
        m_descriptors = openDescriptors();
    }
    // No launch leaves a descriptor open in this process (pipes, sockets).
    void cleanup() { QCOMPARE(openDescriptors(), m_descriptors); }

    void workersGetTheContract()
    {
        qputenv("RANK", "7"); // a stale value is replaced, not inherited
        qputenv("ASTPEFT_TEST_INHERITED", "kept");
        std::vector<std::string> lines;
        LocalLaunch launch = shellWorkers(3,
            "echo \"$RANK $WORLD_SIZE $LOCAL_RANK $LOCAL_WORLD_SIZE $MASTER_ADDR $MASTER_PORT "
            "$OMP_NUM_THREADS $ASTPEFT_THREADS $ASTPEFT_TEST_INHERITED\" > "
                + m_dir.path() + "/out.$RANK",
            lines);
        launch.threadsPerWorker = 2;
        const int status = launchLocalWorkers(launch);
        qunsetenv("RANK");
        qunsetenv("ASTPEFT_TEST_INHERITED");
        QCOMPARE(status, 0);
        QVERIFY2(lines.empty(), joined(lines));
        QString port;
        for (int rank = 0; rank < 3; ++rank) {
            const QStringList fields =
                readText(m_dir.filePath("out." + QString::number(rank))).split(' ');
            QCOMPARE(fields.size(), 9);
            QCOMPARE(fields[0], QString::number(rank));
            QCOMPARE(fields[1], "3");
            QCOMPARE(fields[2], QString::number(rank));
            QCOMPARE(fields[3], "3");
            QCOMPARE(fields[4], "127.0.0.1");
            if (rank == 0)
                port = fields[5];
            QCOMPARE(fields[5], port); // one rendezvous port for all
            QVERIFY(port.toInt() >= 1 && port.toInt() <= 65535);
            QCOMPARE(fields[6], "2");
            QCOMPARE(fields[7], "2");
            QCOMPARE(fields[8], "kept");
        }
    }

    // Without threadsPerWorker the thread variables are this process's.
    void threadsLeftAlone()
    {
        qputenv("OMP_NUM_THREADS", "5");
        std::vector<std::string> lines;
        const int status = launchLocalWorkers(shellWorkers(1,
            "echo \"$OMP_NUM_THREADS ${ASTPEFT_THREADS-unset}\" > " + m_dir.path() + "/threads",
            lines));
        qunsetenv("OMP_NUM_THREADS");
        QCOMPARE(status, 0);
        QCOMPARE(readText(m_dir.filePath("threads")), "5 unset");
    }

    // argv[0] is the launch's, the file executed `program` (the CLI: "astpeft", /proc/self/exe).
    void programAndArgv0()
    {
        std::vector<std::string> lines;
        LocalLaunch launch = shellWorkers(1, "echo \"$0\" > " + m_dir.path() + "/argv0", lines);
        launch.argv.front() = "astpeft";
        launch.program = "/bin/sh";
        QCOMPARE(launchLocalWorkers(launch), 0);
        QCOMPARE(readText(m_dir.filePath("argv0")), "astpeft");
    }

    // A descriptor this process opened without close-on-exec does not reach the workers.
    void descriptorsDoNotLeak()
    {
        const int fd = ::open("/dev/null", O_RDONLY); // no O_CLOEXEC, on purpose
        QVERIFY(fd > 2);
        std::vector<std::string> lines;
        const int status = launchLocalWorkers(shellWorkers(2,
            QString("if [ -e /proc/$$/fd/%1 ]; then exit 9; fi; [ -e /proc/$$/fd/2 ]").arg(fd),
            lines));
        ::close(fd);
        QCOMPARE(status, 0);
        QVERIFY2(lines.empty(), joined(lines));
    }

    void failingWorkersStatus_data()
    {
        QTest::addColumn<QString>("script");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("tail");
        QTest::addRow("exit 3") << "[ \"$RANK\" = 1 ] && exit 3; exit 0" << 3
                                << "exited with status 3";
        QTest::addRow("killed") << "[ \"$RANK\" = 1 ] && kill -9 $$; exit 0" << 1
                                << "was killed by signal 9";
    }
    void failingWorkersStatus()
    {
        QFETCH(QString, script);
        QFETCH(int, status);
        QFETCH(QString, tail);
        std::vector<std::string> lines;
        QCOMPARE(launchLocalWorkers(shellWorkers(2, script, lines)), status);
        QCOMPARE(lines.size(), std::size_t(1));
        QVERIFY2(isWorkerLine(lines[0], 1, tail.toStdString()), joined(lines));
    }

    // The first failure's status wins; the sleeper is stopped after the grace, not waited for.
    void graceThenTerminate()
    {
        std::vector<std::string> lines;
        LocalLaunch launch =
            shellWorkers(2, "if [ \"$RANK\" = 0 ]; then exit 4; fi; sleep 100", lines);
        launch.graceSeconds = 0.5;
        QElapsedTimer timer;
        timer.start();
        QCOMPARE(launchLocalWorkers(launch), 4);
        QVERIFY2(timer.elapsed() >= 400 && timer.elapsed() < 4000,
            qPrintable(QString::number(timer.elapsed()) + " ms"));
        QCOMPARE(lines.size(), std::size_t(2));
        QVERIFY2(isWorkerLine(lines[0], 0, "exited with status 4"), joined(lines));
        QVERIFY2(isWorkerLine(lines[1], 1, "was killed by signal 15"), joined(lines));
    }

    // A worker that ignores SIGTERM gets SIGKILL 5 s later.
    void killAfterTerminate()
    {
        std::vector<std::string> lines;
        LocalLaunch launch = shellWorkers(
            2, "if [ \"$RANK\" = 0 ]; then exit 2; fi; trap '' TERM; sleep 100", lines);
        launch.graceSeconds = 0.1;
        QElapsedTimer timer;
        timer.start();
        QCOMPARE(launchLocalWorkers(launch), 2);
        QVERIFY2(timer.elapsed() >= 5000 && timer.elapsed() < 9000,
            qPrintable(QString::number(timer.elapsed()) + " ms"));
        QCOMPARE(lines.size(), std::size_t(2));
        QVERIFY2(isWorkerLine(lines[1], 1, "was killed by signal 9"), joined(lines));
    }

    // A stop is forwarded as SIGINT; workers that end with 130 on it are not failures.
    void stopForwardsInterrupt()
    {
        std::vector<std::string> lines;
        const QString ready = m_dir.path() + "/ready.";
        LocalLaunch launch = shellWorkers(3,
            "sleep 100 & trap 'kill $!; exit 130' INT; touch " + ready + "$RANK; wait $!; exit 7",
            lines);
        std::stop_source stop;
        std::jthread stopper([&] {
            for (int i = 0; i < 1000; ++i) {
                if (QFile::exists(ready + "0") && QFile::exists(ready + "1")
                    && QFile::exists(ready + "2"))
                    break;
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            stop.request_stop();
        });
        QElapsedTimer timer;
        timer.start();
        QCOMPARE(launchLocalWorkers(launch, stop.get_token()), 130);
        QVERIFY2(timer.elapsed() < 5000, qPrintable(QString::number(timer.elapsed()) + " ms"));
        QVERIFY2(lines.empty(), joined(lines));
    }

    void programThatCannotStart()
    {
        std::vector<std::string> lines;
        LocalLaunch launch;
        launch.argv = { "/nonexistent/astpeft-worker", "train" };
        launch.report = [&lines](const std::string &line) { lines.push_back(line); };
        QCOMPARE(launchLocalWorkers(launch), 1);
        QCOMPARE(lines.size(), std::size_t(1));
        QCOMPARE(lines[0],
            "astpeft: cannot start worker: /nonexistent/astpeft-worker: No such file or "
            "directory");
    }

    void badLaunches()
    {
        LocalLaunch launch;
        launch.argv = { "/bin/true" };
        for (const int nproc : { 0, -1, kMaxLocalWorkers + 1 }) {
            launch.nproc = nproc;
            QVERIFY_THROWS_EXCEPTION(Error, launchLocalWorkers(launch));
        }
        launch.nproc = 2;
        launch.argv.clear();
        QVERIFY_THROWS_EXCEPTION(Error, launchLocalWorkers(launch));
    }

    void freePortIsBindable()
    {
        const int port = freeLoopbackPort();
        QVERIFY(port >= 1 && port <= 65535);
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        QVERIFY(fd >= 0);
        sockaddr_in address {};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(std::uint16_t(port));
        const int bound = ::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address);
        ::close(fd);
        QCOMPARE(bound, 0);
    }

private:
    QTemporaryDir m_dir;
    int m_descriptors = 0;
};

QTEST_GUILESS_MAIN(TestLocalLaunch)
#include "tst_local_launch.moc"
