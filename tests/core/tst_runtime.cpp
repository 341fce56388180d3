// SPDX-License-Identifier: MIT
// core/runtime: the BLAS thread guard that int8 inference holds (SingleThreadedBlas), nested and
// across threads, and that an int8 classifier holds it during its forward pass only.
#include "inference/classifier.h"
#include "runtime/runtime.h"

#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <chrono>
#include <dlfcn.h>
#include <thread>

using namespace astpeft::core;
namespace fs = std::filesystem;

namespace {

// Sets OpenBLAS's thread count the way a user's OPENBLAS_NUM_THREADS would, behind the guard's
// back, so the tests can tell "restored" from "never changed".
void setOpenBlasThreads(int n)
{
    using Set = void (*)(int);
    const auto set = reinterpret_cast<Set>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    QVERIFY(set);
    set(n);
}

} // namespace

class TestRuntime : public QObject
{
    Q_OBJECT

private slots:
    void init()
    {
        // Debian's libtorch calls OpenBLAS (tools/bootstrap.sh installs libopenblas0-pthread);
        // with another BLAS the guard is a documented no-op and there is nothing to observe.
        if (blasInfo().library != "openblas")
            QSKIP("libtorch here does not call OpenBLAS");
        setOpenBlasThreads(2);
        QCOMPARE(blasInfo().threads, 2);
    }

    void guardRestoresTheCount()
    {
        {
            const SingleThreadedBlas guard;
            QCOMPARE(blasInfo().threads, 1);
            {
                const SingleThreadedBlas inner;
                QCOMPARE(blasInfo().threads, 1);
            }
            QCOMPARE(blasInfo().threads, 1); // the outer guard still holds
        }
        QCOMPARE(blasInfo().threads, 2);
        setOpenBlasThreads(1); // a count of 1 stays 1
        {
            const SingleThreadedBlas guard;
            QCOMPARE(blasInfo().threads, 1);
        }
        QCOMPARE(blasInfo().threads, 1);
    }

    void guardsOnSeveralThreads()
    {
        // The count comes back when the last guard ends, whichever thread made the first.
        std::optional<SingleThreadedBlas> first;
        first.emplace();
        std::thread other([] { const SingleThreadedBlas guard; });
        other.join();
        QCOMPARE(blasInfo().threads, 1);
        std::atomic<bool> held = false, release = false;
        std::thread last([&] {
            const SingleThreadedBlas guard;
            held = true;
            while (!release)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
        });
        while (!held)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        first.reset();
        QCOMPARE(blasInfo().threads, 1); // `last` still holds its guard
        release = true;
        last.join();
        QCOMPARE(blasInfo().threads, 2);
    }

    void int8ForwardRunsOpenBlasSingleThreaded()
    {
        QTemporaryDir tmp;
        const fs::path dir = fs::path(tmp.path().toStdString()) / "m";
        writeRandomModel(dir, { .preset = "small", .maxLength = 100, .labels = { "a", "b" } });
        FeatureMatrix f;
        f.frames = 100;
        f.bins = 128;
        f.data.assign(std::size_t(f.frames * f.bins), 0.1f);

        // fp32 products need OpenBLAS's threads: its forward leaves the count alone.
        const AstClassifier fp32(dir, { .device = "cpu" });
        std::atomic<bool> done = false;
        std::atomic<int> lowest = 99;
        auto watch = [&] {
            while (!done)
                lowest = std::min(lowest.load(), blasInfo().threads);
        };
        {
            std::thread watcher(watch);
            for (int i = 0; i < 5; ++i)
                fp32.logits({ f });
            done = true;
            watcher.join();
        }
        QCOMPARE(lowest.load(), 2);

        // int8: single-threaded during each forward, restored after it. The watcher sees the
        // guard's 1 as soon as one of the forwards overlaps its polling.
        const AstClassifier int8(dir, { .device = "cpu", .precision = Precision::Int8 });
        done = false;
        lowest = 99;
        std::thread watcher(watch);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (lowest.load() != 1 && std::chrono::steady_clock::now() < deadline)
            int8.logits({ f });
        done = true;
        watcher.join();
        QCOMPARE(lowest.load(), 1);
        QCOMPARE(blasInfo().threads, 2);
    }
};

QTEST_GUILESS_MAIN(TestRuntime)
#include "tst_runtime.moc"
