// SPDX-License-Identifier: MIT
// astpeft-bench: the C++ side of bench/run.sh. Prints one JSON line per case, with the same
// fields as the Python baselines (bench/py_fbank.py, bench/py_ast_forward.py).
//   astpeft-bench fbank [--threads N] [--min-time S]
//   astpeft-bench forward MODEL [--max-length N] [--runs R] [--warmup W] [--precision fp32|bf16]
#include "error.h"
#include "features/fbank.h"
#include "inference/classifier.h"
#include "runtime/runtime.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <sys/resource.h>
#include <vector>

using namespace astpeft;
using Clock = std::chrono::steady_clock;

namespace {

double peakRssMb()
{
    rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) / 1024.0; // Linux: KiB
}

double percentile(std::vector<double> v, double p)
{
    std::sort(v.begin(), v.end());
    const double pos = p / 100.0 * double(v.size() - 1); // numpy's linear interpolation
    const std::size_t lo = std::size_t(pos);
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - double(lo));
}

std::string option(int argc, char **argv, const std::string &name, const std::string &fallback)
{
    for (int i = 2; i + 1 < argc; ++i)
        if (argv[i] == "--" + name)
            return argv[i + 1];
    return fallback;
}

// Noise plus a random tone, like bench/py_fbank.py's clips.
std::vector<float> makeClip(double seconds, std::mt19937 &rng)
{
    std::normal_distribution<double> noise(0.0, 0.1);
    std::uniform_real_distribution<double> freq(100.0, 4000.0);
    const double f = freq(rng);
    std::vector<float> x(std::size_t(seconds * 16000));
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = float(noise(rng) + 0.3 * std::sin(2 * M_PI * f * double(i) / 16000.0));
    return x;
}

int benchFbank(int argc, char **argv)
{
    const double minTime = std::stod(option(argc, argv, "min-time", "1.0"));
    const core::FrontEnd fe; // pad to 1024 and normalise, as AST's extractor does
    core::FrontEnd unpadded = fe;
    unpadded.maxLength = 0; // the Python baseline does not pad
    std::mt19937 rng(0);
    for (double seconds : { 1.0, 10.0 }) {
        for (int clips : { 1, 32 }) {
            std::vector<std::vector<float>> data;
            for (int i = 0; i < clips; ++i)
                data.push_back(makeClip(seconds, rng));
            auto once = [&] {
                for (const auto &c : data)
                    core::extractFeatures(c, unpadded);
            };
            once();
            std::vector<double> perRep;
            double total = 0.0;
            while (total < minTime || perRep.size() < 5) {
                const auto t0 = Clock::now();
                once();
                const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
                perRep.push_back(dt);
                total += dt;
            }
            nlohmann::json j = { { "impl", "cpp" }, { "bench", "fbank" }, { "clip_s", seconds },
                { "mode", clips == 1 ? "single" : "batch32" }, { "clips", clips },
                { "threads", core::runtimeInfo().threads }, { "reps", perRep.size() },
                { "audio_s_per_s", double(perRep.size()) * clips * seconds / total },
                { "ms_per_clip_median", percentile(perRep, 50) * 1000.0 / clips } };
            std::cout << j.dump() << std::endl;
        }
    }
    return 0;
}

int benchForward(int argc, char **argv)
{
    if (argc < 3)
        throw std::runtime_error("forward needs a MODEL folder");
    const int runs = std::stoi(option(argc, argv, "runs", "20"));
    const int warmup = std::stoi(option(argc, argv, "warmup", "3"));
    core::ClassifierOptions o;
    o.maxLength = std::stoi(option(argc, argv, "max-length", "0"));
    o.device = "cpu";
    o.precision = core::parsePrecision(option(argc, argv, "precision", "fp32"));
    const core::AstClassifier model(argv[2], o);
    const core::AstConfig &c = model.summary().config;
    std::mt19937 rng(0);
    std::normal_distribution<float> normal(0.0f, 0.5f);
    core::FeatureMatrix f;
    f.frames = c.maxLength;
    f.bins = c.numMelBins;
    f.data.resize(std::size_t(f.frames) * std::size_t(f.bins));
    for (float &x : f.data)
        x = normal(rng);
    for (int i = 0; i < warmup; ++i)
        model.logits({ f });
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = Clock::now();
        model.logits({ f });
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    nlohmann::json j = { { "impl", "cpp" }, { "max_length", c.maxLength },
        { "median_ms", percentile(ms, 50) }, { "p95_ms", percentile(ms, 95) },
        { "peak_rss_mb", peakRssMb() }, { "threads", core::runtimeInfo().threads },
        { "dtype", option(argc, argv, "precision", "fp32") }, { "runs", runs },
        { "tokens", c.numTokens() } };
    std::cout << j.dump() << std::endl;
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: astpeft-bench fbank|forward ... (see bench/run.sh)\n");
        return 2;
    }
    try {
        core::configureThreads(std::stoi(option(argc, argv, "threads", "0")));
        const std::string what = argv[1];
        if (what == "fbank")
            return benchFbank(argc, argv);
        if (what == "forward")
            return benchForward(argc, argv);
        std::fprintf(stderr, "astpeft-bench: unknown benchmark %s\n", what.c_str());
        return 2;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "astpeft-bench: %s\n", e.what());
        return 1;
    }
}
