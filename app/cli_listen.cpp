// SPDX-License-Identifier: MIT
// `astpeft listen` and `astpeft timeline`: live microphone classification and the timeline of
// a long recording, both through core::StreamingClassifier (the model's exact front end).
// Ctrl-C stops listening after the block in hand; the summary is still printed.
#include "audio/audio_device.h"
#include "cli_args.h"
#include "cli_interrupt.h"
#include "human_format.h"
#include "inference/classifier.h"
#include "inference/listen.h"
#include "inference/streaming.h"
#include "quantile.h"
#include "runtime/runtime.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>
#include <sstream>

namespace astpeft::cli {

namespace {

using nlohmann::json;

// Bounds of the stream flags: beyond them a value is a typo, and would overflow the sample
// counts computed from it.
constexpr double kMaxHopSeconds = 60.0;
constexpr double kMaxSeconds = 1e6;
constexpr int kMaxWindows = 10000;

const std::set<std::string> kStreamValues = { "hop", "smooth", "threshold", "min-hits", "suppress",
    "background" };

core::StreamOptions streamOptions(const Args &args)
{
    core::StreamOptions o;
    o.hopSeconds = args.doubleValue("hop", o.hopSeconds);
    if (!(o.hopSeconds >= 0.025 && o.hopSeconds <= kMaxHopSeconds))
        throw UsageError("--hop must be between 0.025 seconds (one frame) and 60 seconds");
    o.smoothWindows = args.intValue("smooth", o.smoothWindows, { 1, kMaxWindows });
    o.threshold = args.doubleValue("threshold", o.threshold);
    if (!(o.threshold >= 0.0 && o.threshold <= 1.0))
        throw UsageError("--threshold must be in [0, 1]");
    o.minHits = args.intValue("min-hits", o.minHits, { 1, kMaxWindows });
    o.suppressSeconds = args.doubleValue("suppress", o.suppressSeconds);
    if (!(o.suppressSeconds >= 0.0 && o.suppressSeconds <= kMaxSeconds))
        throw UsageError("--suppress must be between 0 and 1000000 seconds");
    o.background = args.value("background");
    return o;
}

core::ClassifierOptions modelOptions(const Args &args)
{
    core::ClassifierOptions o;
    o.adapter = args.value("adapter");
    o.precision = core::parsePrecision(args.value("precision", "fp32"));
    if (core::isComputeDeviceName(args.value("device")))
        o.device = args.value("device");
    return o;
}

// The microphone: --input NAME|INDEX; a --device value that is no compute device is taken as
// the microphone too, as listen read it before --input existed.
std::string inputDevice(const Args &args)
{
    if (args.has("input"))
        return args.value("input");
    const std::string device = args.value("device");
    if (device.empty() || core::isComputeDeviceName(device))
        return {};
    std::fprintf(stderr, "astpeft listen: --device %s taken as the microphone; use --input %s\n",
        device.c_str(), device.c_str());
    return device;
}

json detectionJson(const core::Detection &d)
{
    return { { "event", "detection" }, { "time", d.seconds }, { "label", d.label },
        { "score", d.score } };
}

void printDetection(const core::Detection &d, bool asJson)
{
    if (asJson) {
        std::cout << detectionJson(d).dump() << std::endl;
    } else {
        std::printf("%9.2f s  %-20s %.3f\n", d.seconds, core::printable(d.label).c_str(), d.score);
    }
    std::fflush(stdout);
}

int listDevices(const Args &args)
{
    std::vector<core::AudioDeviceInfo> inputs;
    for (const core::AudioDeviceInfo &d : core::listAudioDevices()) {
        if (d.maxInputChannels > 0)
            inputs.push_back(d);
    }
    if (args.has("json")) {
        json list = json::array();
        for (const auto &d : inputs) {
            list.push_back({ { "index", d.index }, { "name", d.name }, { "host_api", d.hostApi },
                { "input_channels", d.maxInputChannels },
                { "default_sample_rate", d.defaultSampleRate }, { "default", d.defaultInput } });
        }
        std::cout << list.dump() << '\n';
        return kExitOk;
    }
    if (inputs.empty())
        std::printf("no audio input devices\n");
    for (const auto &d : inputs) {
        std::printf("%3d %c %-40s %-10s %d ch, %.0f Hz\n", d.index, d.defaultInput ? '*' : ' ',
            d.name.c_str(), d.hostApi.c_str(), d.maxInputChannels, d.defaultSampleRate);
    }
    if (!inputs.empty())
        std::printf("(* the default input; --input takes the index or the name)\n");
    return kExitOk;
}

// Prints detections as they come; the summary is printed from listen()'s result.
class ConsoleListener : public core::ListenObserver
{
public:
    ConsoleListener(const core::AstClassifier &model, const core::ListenOptions &options, bool json)
        : m_json(json)
        , m_hopSeconds(options.stream.hopSeconds)
        , m_untilStopped(options.seconds <= 0)
    {
        const core::FrontEnd &front = model.frontEnd();
        m_rate = front.fbank.sampleRate;
        m_windowSeconds = core::fbankSeconds(front.maxLength, front.fbank);
    }

    void onStarted(
        const core::AudioDeviceInfo &device, const std::vector<std::string> &labels) override
    {
        if (!m_json) {
            std::fprintf(stderr,
                "listening on \"%s\" (%s) at %d Hz: a %.2f s window every %.2f s, %zu labels%s\n",
                device.name.c_str(), device.hostApi.c_str(), m_rate, m_windowSeconds, m_hopSeconds,
                labels.size(), m_untilStopped ? "; Ctrl-C stops" : "");
        }
    }

    void onDetection(const core::Detection &d) override { printDetection(d, m_json); }

private:
    bool m_json;
    double m_hopSeconds;
    bool m_untilStopped;
    int m_rate = 0;
    double m_windowSeconds = 0;
};

void printSummary(const core::ListenSummary &s, bool asJson)
{
    const double median = core::quantile(s.latenciesMs, 0.5);
    const double p95 = core::quantile(s.latenciesMs, 0.95);
    if (asJson) {
        json summary = { { "event", "summary" }, { "device", s.device.name },
            { "seconds", s.seconds }, { "windows", s.latenciesMs.size() },
            { "detections", s.detections }, { "median_latency_ms", median },
            { "p95_latency_ms", p95 }, { "overflows", s.overflows }, { "gaps", s.gaps },
            { "interrupted", s.stopped } };
        if (!s.failure.empty())
            summary["error"] = s.failure;
        std::cout << summary.dump() << std::endl;
        return;
    }
    std::fprintf(stderr,
        "%.1f s of audio, %zu windows, %zu detections; latency median %.1f ms, p95 %.1f ms; "
        "%llu overflows\n",
        s.seconds, s.latenciesMs.size(), s.detections, median, p95,
        static_cast<unsigned long long>(s.overflows));
    if (s.gaps) {
        std::fprintf(stderr,
            "astpeft: %llu samples were lost (the classifier fell behind the microphone)\n",
            static_cast<unsigned long long>(s.overflows));
    }
}

int cmdListen(const Args &args)
{
    if (!args.positional.empty())
        throw UsageError("listen takes no positional arguments");
    if (args.has("list-devices"))
        return listDevices(args);
    if (!args.has("model"))
        throw UsageError("listen needs --model MODEL (or --list-devices)");
    const bool asJson = args.has("json");
    core::ListenOptions options;
    options.stream = streamOptions(args);
    options.input = inputDevice(args);
    if (args.has("seconds")) {
        options.seconds = args.doubleValue("seconds", 0.0);
        if (!(options.seconds > 0.0 && options.seconds <= kMaxSeconds))
            throw UsageError("--seconds must be positive and at most 1000000 (11.6 days)");
    }
    core::AstClassifier model(args.value("model"), modelOptions(args));
    ConsoleListener console(model, options, asJson);
    const StopOnInterrupt interrupt;
    const core::ListenSummary summary = core::listen(model, options, console, interrupt.token());
    printSummary(summary, asJson);
    if (!summary.failure.empty())
        throw core::Error(core::ErrorKind::Io, summary.failure);
    return kExitOk;
}

int cmdTimeline(const Args &args)
{
    if (args.positional.size() != 2)
        throw UsageError("timeline needs a MODEL and one AUDIO file");
    if (args.has("json") && args.has("csv"))
        throw UsageError("--json and --csv exclude each other");
    const core::StreamOptions options = streamOptions(args);
    const core::AstClassifier model(args.positional[0], modelOptions(args));
    const core::Timeline t = core::classifyTimeline(model, args.positional[1], options);
    if (args.has("csv")) {
        std::ostringstream out;
        out << "seconds,label,score";
        for (const std::string &l : t.labels)
            out << ',' << l;
        out << '\n';
        for (const core::WindowResult &w : t.windows) {
            out << w.endSeconds << ',' << t.labels[std::size_t(w.top)] << ','
                << w.smoothed[std::size_t(w.top)];
            for (float s : w.smoothed)
                out << ',' << s;
            out << '\n';
        }
        std::cout << out.str();
        for (const core::Detection &d : t.detections) {
            std::fprintf(stderr, "detection %.3f s %s %.4f\n", d.seconds,
                core::printable(d.label).c_str(), d.score);
        }
        return kExitOk;
    }
    const bool asJson = args.has("json");
    std::size_t next = 0; // detections come after the window that completes them
    for (const core::WindowResult &w : t.windows) {
        const std::string &label = t.labels[std::size_t(w.top)];
        if (asJson) {
            std::cout << json {
                { "event", "window" }, { "time", w.endSeconds }, { "label", label },
                { "score", w.smoothed[std::size_t(w.top)] }, { "scores", w.smoothed }
            }.dump() << '\n';
        } else {
            std::printf("%9.2f s  %-20s %.3f\n", w.endSeconds, core::printable(label).c_str(),
                w.smoothed[std::size_t(w.top)]);
        }
        for (; next < t.detections.size() && t.detections[next].seconds <= w.endSeconds; ++next) {
            if (asJson) {
                std::cout << detectionJson(t.detections[next]).dump() << '\n';
            } else {
                std::printf("%9.2f s  ** %s %.3f\n", t.detections[next].seconds,
                    core::printable(t.detections[next].label).c_str(), t.detections[next].score);
            }
        }
    }
    if (asJson) {
        std::cout << json {
            { "event", "summary" }, { "file", args.positional[1] }, { "windows", t.windows.size() },
            { "detections", t.detections.size() }, { "labels", t.labels }
        }.dump() << std::endl;
    } else {
        std::printf("%zu windows, %zu detections\n", t.windows.size(), t.detections.size());
    }
    return kExitOk;
}

std::set<std::string> unite(std::set<std::string> a, const std::set<std::string> &b)
{
    a.insert(b.begin(), b.end());
    return a;
}

const char *kStreamHelp =
    "\nWindows: the model's max_length frames (its training clip length), one every --hop S\n"
    "(0.25). Until a whole window exists the frames so far are padded as training pads a\n"
    "short clip. Scores are each label's probability averaged over the last --smooth N\n"
    "windows (3). A window is a hit when its best smoothed score reaches --threshold T (0.5)\n"
    "and its label is not --background LABEL; --min-hits N (2) consecutive hits of one label\n"
    "make a detection, reported once per run of hits and not again for that label within\n"
    "--suppress S seconds (1). Times are seconds of audio from the start of the stream, at\n"
    "the end of the window that completed the detection. --precision fp32|bf16 as for predict.";

} // namespace

std::vector<Command> listenCommands()
{
    return {
        { "listen",
            "listen --model MODEL [--adapter RUN] [--input NAME|INDEX] [--device D] "
            "[--seconds S] [--hop S ...] [--json] | listen --list-devices [--json]",
            std::string("Classifies what the microphone hears with MODEL (and the adapter of a\n"
                        "training run RUN), with exactly the preprocessing it was trained with,\n"
                        "and prints detections as they happen. --input picks the microphone\n"
                        "(index or name as --list-devices shows; default: the system's default\n"
                        "input). --device auto|cpu|cuda|cuda:N picks where the model runs (int8\n"
                        "runs on the CPU); any other --device value is taken as the microphone.\n"
                        "Stops after --seconds S of captured audio, or on Ctrl-C.\n")
                + kStreamHelp
                + "\nWith --json: one line per detection {\"event\": \"detection\", \"time\",\n"
                  "\"label\", \"score\"}, then {\"event\": \"summary\", \"windows\",\n"
                  "\"median_latency_ms\", \"p95_latency_ms\", \"overflows\", \"gaps\", ...}.\n"
                  "Latency: from a window's last sample reaching the classifier to its result.\n"
                  "Overflows: samples the capture dropped because the classifier fell behind;\n"
                  "gaps: whether any of them belonged to the classified audio.",
            unite(kStreamValues, { "model", "adapter", "device", "input", "seconds", "precision" }),
            { "json", "list-devices" }, cmdListen },
        { "timeline",
            "timeline MODEL [--adapter RUN] AUDIO [--device D] [--hop S ...] [--json|--csv]",
            std::string("Classifies a long recording window by window through the same engine as\n"
                        "`listen`: every window's best label and score, and the detections.\n")
                + kStreamHelp
                + "\n--csv: seconds,label,score then one column per label (smoothed scores) on\n"
                  "stdout, detections on stderr. --json: {\"event\": \"window\", \"time\", "
                  "\"label\",\n\"score\", \"scores\"} and {\"event\": \"detection\", ...} lines, "
                  "then a summary.\n--device auto|cpu|cuda|cuda:N: where the model runs.",
            unite(kStreamValues, { "adapter", "precision", "device" }), { "json", "csv" },
            cmdTimeline },
    };
}

} // namespace astpeft::cli
