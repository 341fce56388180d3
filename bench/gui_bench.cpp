// SPDX-License-Identifier: MIT
// astpeft-gui-bench: the studio's responsiveness (bench/run.sh, section "gui"). Prints one JSON
// line per measurement:
//   redraw: the training view's loss plot (ui/plots CurvesPlot) holding 100,000 steps (raw and
//     smoothed curves, plus 100 epochs of validation curves) at 1000 x 600, median and worst
//     of 30 full replots, against the 16 ms of one frame at 60 Hz;
//   stall: the longest and 99th-percentile gap of a 5 ms QTimer on the GUI thread beyond its
//     interval, idle (baseline) and while a TrainingView trains on generated clips in its
//     worker thread, against the 50 ms goal.
//   astpeft-gui-bench [--model MODEL] [--epochs 3] [--clips 96]   (QT_QPA_PLATFORM=offscreen)
// Without --model a small random backbone (192 hidden, 6 layers) is written to a temporary
// folder; bench/run.sh passes the small preset too.
#include "audio/audio_file.h"
#include "inference/classifier.h"
#include "peft/peft_config.h"
#include "plots/curves_plot.h"
#include "runtime/jemalloc_conf.h"
#include "runtime/runtime.h"
#include "train/trainer.h"
#include "training_view.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTemporaryDir>
#include <QTimer>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace {

QString option(const QStringList &args, const QString &name, const QString &fallback)
{
    const qsizetype i = args.indexOf("--" + name);
    return i >= 0 && i + 1 < args.size() ? args[i + 1] : fallback;
}

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::size_t(
        std::min<double>(double(v.size() - 1), std::ceil(p / 100 * double(v.size())) - 1))];
}

// The training view's own loss plot (CurvesPlot: raw and smoothed step losses, validation
// curves) with 100,000 steps, redrawn in full.
void redraw()
{
    astpeft::ui::CurvesPlot curves;
    curves.resize(1000, 600);
    for (int i = 0; i < 100000; ++i) {
        curves.addStep(
            i + 1, 2.0 * std::exp(-i / 20000.0) + 0.3 * std::sin(i * 0.37) * std::sin(i * 0.011));
    }
    for (int e = 1; e <= 100; ++e)
        curves.addEpoch(e * 1000.0, 0.5 + e / 250.0, 1.5 - e / 100.0, 0.4 + e / 200.0);
    curves.resetView();
    curves.show();
    QCustomPlot *plot = curves.customPlot();
    std::vector<double> ms;
    for (int i = 0; i < 32; ++i) {
        QElapsedTimer t;
        t.start();
        plot->replot(QCustomPlot::rpImmediateRefresh);
        if (i >= 2) // the first replots build caches
            ms.push_back(double(t.nsecsElapsed()) / 1e6);
    }
    std::printf("{\"bench\": \"gui\", \"case\": \"redraw\", \"points\": 100000, \"graphs\": 2, "
                "\"median_ms\": %.3f, \"max_ms\": %.3f, \"goal_ms\": 16}\n",
        percentile(ms, 50), percentile(ms, 100));
}

// Gaps of a 5 ms timer beyond 5 ms, until `done` is set by the caller's signal.
struct StallMeter
{
    std::vector<double> lateMs;
    QElapsedTimer clock;
    qint64 last = 0;
    QTimer timer;
    StallMeter()
    {
        timer.setTimerType(Qt::PreciseTimer);
        timer.setInterval(5);
        QObject::connect(&timer, &QTimer::timeout, [this] {
            const qint64 now = clock.nsecsElapsed();
            lateMs.push_back(std::max(0.0, double(now - last) / 1e6 - 5.0));
            last = now;
        });
        clock.start();
        timer.start();
    }
    void print(const char *what, double seconds) const
    {
        std::printf("{\"bench\": \"gui\", \"case\": \"stall\", \"while\": \"%s\", \"seconds\": "
                    "%.1f, \"ticks\": %zu, \"p99_ms\": %.2f, \"max_ms\": %.2f, \"goal_ms\": 50}\n",
            what, seconds, lateMs.size(), percentile(lateMs, 99), percentile(lateMs, 100));
    }
};

} // namespace

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    astpeft::core::configureThreads();
    const QStringList args = app.arguments();
    redraw();

    {
        StallMeter idle;
        QEventLoop loop;
        QTimer::singleShot(3000, &loop, &QEventLoop::quit);
        loop.exec();
        idle.print("idle", 3.0);
    }

    QTemporaryDir tmp;
    namespace core = astpeft::core;
    std::filesystem::path model = option(args, "model", {}).toStdString();
    if (model.empty()) {
        model = (tmp.path() + "/model").toStdString();
        core::writeRandomModel(
            model, { .preset = "small", .maxLength = 100, .labels = {}, .seed = 1 });
    }
    // Four classes of 1 s clips: tones, chirps, noise bursts and square waves, seeded.
    const std::filesystem::path data = (tmp.path() + "/data").toStdString();
    const int clips = option(args, "clips", "96").toInt();
    for (int c = 0; c < 4; ++c) {
        for (int i = 0; i < clips / 4; ++i) {
            std::vector<float> x(16000);
            std::uint32_t s = std::uint32_t(1 + c * 977 + i * 131);
            for (std::size_t n = 0; n < x.size(); ++n) {
                s = s * 1664525u + 1013904223u;
                const double noise = double(s >> 8) / double(1 << 24) - 0.5;
                const double t = double(n) / 16000, f = 300.0 + 120.0 * i;
                const double v = c == 0 ? std::sin(2 * M_PI * f * t)
                    : c == 1            ? std::sin(2 * M_PI * f * t * (1 + 2 * t))
                    : c == 2            ? noise * 2
                                        : (std::sin(2 * M_PI * f * t) > 0 ? 0.6 : -0.6);
                x[n] = float(0.3 * v + 0.02 * noise);
            }
            std::filesystem::create_directories(data / std::to_string(c));
            core::writeAudio(data / std::to_string(c) / (std::to_string(i) + ".wav"), x, 16000, 1);
        }
    }

    core::TrainOptions o;
    o.model = model;
    o.data = data;
    o.peft = core::paperSetting(core::PeftMethod::Lora);
    o.epochs = option(args, "epochs", "3").toInt();
    o.batchSize = 4;
    o.out = (tmp.path() + "/run").toStdString();
    o.featureCache = (tmp.path() + "/cache").toStdString();

    astpeft::ui::TrainingView view;
    view.resize(1200, 800);
    view.show();
    QEventLoop loop;
    bool ok = false;
    QObject::connect(
        &view, &astpeft::ui::TrainingView::finished, &loop, [&](const core::FinishedEvent &e) {
            ok = e.reason == core::FinishReason::Completed;
            loop.quit();
        });
    QObject::connect(&view, &astpeft::ui::TrainingView::failed, &loop, [&](const QString &m) {
        std::fprintf(stderr, "training failed: %s\n", qPrintable(m));
        loop.quit();
    });
    StallMeter training;
    QElapsedTimer wall;
    wall.start();
    view.start(o);
    loop.exec();
    training.print("training", double(wall.elapsed()) / 1000.0);
    return ok ? 0 : 1;
}
