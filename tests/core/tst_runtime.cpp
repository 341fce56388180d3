// SPDX-License-Identifier: MIT
// core/runtime: the BLAS thread guard that int8 inference holds (SingleThreadedBlas), nested and
// across threads, and that an int8 classifier holds it during its forward pass only; the device
// facts (GPU list, memory, out-of-memory errors, the training precision auto picks), device
// names and the CPU self-check (these two moved here from tests/cli/tst_cli.cpp).
#include "inference/classifier.h"
#include "runtime/runtime.h"
#include "runtime/torch_compat.h"
#include "test_support.h"
#include "train/self_check.h"
#include "train/trainer.h"

#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <chrono>
#include <cmath>
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
        if (std::string_view(QTest::currentTestFunction()).starts_with("device"))
            return; // the device tests below need no BLAS
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

    // One GpuInfo per visible device; CPU-only builds report none, no memory, fp32 training.
    void deviceFacts()
    {
        const RuntimeInfo r = runtimeInfo();
        QCOMPARE(int(r.gpus.size()), r.cudaDevices);
        QCOMPARE(r.cudaBuild, !r.cudaVersion.empty());
        for (const GpuInfo &g : r.gpus) {
            QVERIFY(!g.name.empty());
            QVERIFY(g.memoryBytes > 0);
            QCOMPARE(g.bf16, g.major >= 8);
        }
        const compat::DeviceMemory cpu = compat::deviceMemory(torch::kCPU);
        QCOMPARE(cpu.allocated, std::int64_t(0));
        QCOMPARE(cpu.peak, std::int64_t(0));
        QVERIFY(isComputeDeviceName("cuda:1") && isComputeDeviceName("auto"));
        QVERIFY(!isComputeDeviceName("hw:0") && !isComputeDeviceName("default"));
        QCOMPARE(defaultTrainingPrecision("cpu"), Precision::F32);
        if (!r.gpus.empty())
            QCOMPARE(defaultTrainingPrecision("cuda:0"),
                r.gpus.front().bf16 ? Precision::BF16 : Precision::F32);
    }

    // resolveDevice: the CPU as asked; an unknown name, or CUDA where there is none, is a
    // core::Error(Usage) saying so (what every command's --device reports, exit status 2).
    void deviceResolution()
    {
        QCOMPARE(resolveDevice("cpu"), std::string("cpu"));
        const auto unknown = astpeft::test::captureError([] { resolveDevice("tpu"); });
        QVERIFY(unknown);
        QCOMPARE(unknown->kind(), ErrorKind::Usage);
        QVERIFY2(unknown->reason().starts_with("unknown device 'tpu'"), unknown->what());
        if (runtimeInfo().cudaDevices > 0)
            return;
        for (const char *cuda : { "cuda", "cuda:0" }) {
            const auto e = astpeft::test::captureError([&] { resolveDevice(cuda); });
            QVERIFY2(e, cuda);
            QCOMPARE(e->kind(), ErrorKind::Usage);
            QVERIFY2(QString(e->what()).contains("CUDA"), e->what());
        }
    }

    // selfCheck on the CPU: fp32, two finite LoRA losses that fall (the same batch twice), and
    // the forward compared with itself.
    void deviceSelfCheckOnCpu()
    {
        QTemporaryDir tmp;
        const fs::path dir = fs::path(tmp.path().toStdString()) / "m";
        writeRandomModel(dir,
            { .preset = "tiny", .maxLength = 100, .labels = { "yes", "no", "up" }, .seed = 3 });
        const SelfCheckResult c = selfCheck({ .model = dir, .device = "cpu" });
        QCOMPARE(c.device, std::string("cpu"));
        QCOMPARE(c.precision, std::string("fp32"));
        QVERIFY(c.passed);
        QCOMPARE(c.losses.size(), std::size_t(2));
        QVERIFY(std::isfinite(c.losses[0]) && std::isfinite(c.losses[1]));
        QVERIFY2(c.losses[1] < c.losses[0],
            qPrintable(QStringLiteral("%1 then %2").arg(c.losses[0]).arg(c.losses[1])));
        QCOMPARE(c.forwardMaxAbsDiff, 0.0);
    }

    // The allocators' out-of-memory errors, and nothing else, count as out of memory.
    void deviceOutOfMemoryErrors()
    {
        QVERIFY(compat::isOutOfMemory(std::bad_alloc()));
        QVERIFY(compat::isOutOfMemory(std::runtime_error(
            "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.11 GiB total capacity)")));
        QVERIFY(compat::isOutOfMemory(std::runtime_error(
            "[enforce fail at alloc_cpu.cpp:114] data. DefaultCPUAllocator: not enough memory: "
            "you tried to allocate 1099511627776 bytes.")));
        QVERIFY(!compat::isOutOfMemory(std::runtime_error("shape '[2, 3]' is invalid")));
        QVERIFY(!compat::isOutOfMemory(Error(ErrorKind::Io, "cannot read", "memory.wav")));
        // A real allocation failure of the CPU allocator is recognised.
        bool caught = false;
        try {
            (void)torch::empty({ std::int64_t(1) << 50 }, torch::kFloat32);
            QFAIL("a 4 PiB tensor was allocated");
        } catch (const std::exception &e) {
            caught = compat::isOutOfMemory(e);
            QVERIFY2(caught, e.what());
        }
        QVERIFY(caught);
    }
};

QTEST_GUILESS_MAIN(TestRuntime)
#include "tst_runtime.moc"
