// SPDX-License-Identifier: MIT
// `astpeft train`, `astpeft eval` and `astpeft compare`: the training engine (core/train) from
// the command line. Ctrl-C cancels within one step; the last finished epoch stays resumable.
#include "cli_args.h"
#include "cli_interrupt.h"
#include "data/dataset.h"
#include "human_format.h"
#include "io/atomic_file.h"
#include "runtime/resources.h"
#include "runtime/runtime.h"
#include "train/compare.h"
#include "train/dist_env.h"
#include "train/trainer.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

namespace astpeft::cli {

namespace {

using nlohmann::json;

// The training options' flags (core/train/train_flags.h); the method's are kKnobValues and
// kKnobFlags.
const core::TrainFlagNames kTrainFlags = core::trainFlagNames({ core::TrainFlag::Group::Options });

std::set<std::string> unite(std::set<std::string> a, const std::set<std::string> &b)
{
    a.insert(b.begin(), b.end());
    return a;
}

// Prints training progress: a bar on a terminal, epoch lines otherwise, JSON lines with --json.
class ConsoleObserver : public core::TrainObserver
{
public:
    ConsoleObserver(bool json, std::string prefix = {})
        : m_json(json)
        , m_tty(::isatty(STDERR_FILENO) == 1)
        , m_prefix(std::move(prefix))
    { }

    void onImport(const core::ImportEvent &e) override
    {
        if (m_json) {
            std::cout << core::eventJson(e) << std::endl;
            return;
        }
        std::fprintf(stderr, "%s%zu classes, %d clips (%.1f s of audio), layout %s",
            m_prefix.c_str(), e.labels.size(), e.summary.clips, e.summary.seconds,
            core::enumName(e.layout).c_str());
        int train = 0, val = 0, test = 0;
        for (const auto &c : e.summary.classes) {
            const auto get = [&](core::Split s) {
                const auto it = c.perSplit.find(s);
                return it == c.perSplit.end() ? 0 : it->second;
            };
            train += get(core::Split::Train);
            val += get(core::Split::Validation);
            test += get(core::Split::Test);
        }
        std::fprintf(stderr, "; split %d train / %d validation / %d test\n", train, val, test);
        std::fprintf(stderr,
            "%s%s: %lld trainable parameters (%.3f%% of the backbone), max_length %d, device %s\n",
            m_prefix.c_str(), core::methodName(e.peft.method).c_str(),
            static_cast<long long>(e.parameters.total()), 100.0 * e.parameters.shareOfBackbone(),
            e.maxLength, e.device.c_str());
        if (!e.skipped.empty()) {
            std::fprintf(stderr, "%sskipped %zu files:\n", m_prefix.c_str(), e.skipped.size());
            for (std::size_t i = 0; i < e.skipped.size() && i < 20; ++i) {
                std::fprintf(stderr, "%s  %s: %s\n", m_prefix.c_str(),
                    core::printable(e.skipped[i].file.string()).c_str(),
                    core::printable(e.skipped[i].reason).c_str());
            }
            if (e.skipped.size() > 20) {
                std::fprintf(
                    stderr, "  ... and %zu more (see metrics.jsonl)\n", e.skipped.size() - 20);
            }
        }
    }

    void onProgress(const core::ProgressEvent &e) override
    {
        if (m_json || !m_tty || e.total <= 0)
            return;
        std::fprintf(stderr, "\r%s%s %lld/%lld\033[K", m_prefix.c_str(),
            core::enumName(e.phase).c_str(), static_cast<long long>(e.done),
            static_cast<long long>(e.total));
        if (e.done >= e.total)
            std::fprintf(stderr, "\r\033[K");
    }

    void onStep(const core::StepEvent &e) override
    {
        if (m_json) {
            std::cout << core::eventJson(e) << '\n';
            return;
        }
        if (!m_tty)
            return;
        const double done = double(e.step) / double(std::max<std::int64_t>(1, e.totalSteps));
        const int width = 24, filled = int(done * width);
        std::fprintf(stderr,
            "\r%sepoch %d [%s%s] %3.0f%% loss %.4f lr %.2e %.1f samples/s ETA %s\033[K",
            m_prefix.c_str(), e.epoch, std::string(std::size_t(filled), '#').c_str(),
            std::string(std::size_t(width - filled), '.').c_str(), 100.0 * done, e.loss,
            e.learningRate, e.samplesPerSecond, core::humanDuration(e.etaSeconds).c_str());
    }

    void onEpoch(const core::EpochEvent &e) override
    {
        ++m_epochsRun;
        if (e.best)
            m_bestEpoch = e;
        if (m_json) {
            std::cout << core::eventJson(e) << std::endl;
            return;
        }
        if (m_tty)
            std::fprintf(stderr, "\r\033[K");
        std::fprintf(stderr, "%sepoch %d/%d  train loss %.4f acc %s", m_prefix.c_str(), e.epoch,
            e.epochs, e.trainLoss, core::humanPercent(e.trainAccuracy).c_str());
        if (e.hasValidation) {
            std::fprintf(stderr, "  val loss %.4f acc %s", e.valLoss,
                core::humanPercent(e.validation.accuracy).c_str());
        }
        std::fprintf(
            stderr, "  %s%s\n", core::humanDuration(e.seconds).c_str(), e.best ? "  *best" : "");
    }

    void onFinished(const core::FinishedEvent &e) override
    {
        if (m_json)
            std::cout << core::eventJson(e) << std::endl;
    }

    void onFailed(const core::FailedEvent &e) override
    {
        if (m_json) {
            std::cout << core::eventJson(e) << std::endl;
        } else if (m_tty) {
            std::fprintf(stderr, "\r\033[K");
        }
    }

    // The latest epoch saved as the run's best (this process's epochs only).
    const std::optional<core::EpochEvent> &bestEpoch() const { return m_bestEpoch; }
    int epochsRun() const { return m_epochsRun; }

private:
    bool m_json, m_tty;
    std::string m_prefix;
    std::optional<core::EpochEvent> m_bestEpoch;
    int m_epochsRun = 0;
};

// Everything but the method: the flag table's Options rows.
core::TrainOptions commonOptions(const Args &args)
{
    if (!args.has("model"))
        throw UsageError("--model MODEL is required (a Hugging Face AST folder)");
    if (!args.has("data"))
        throw UsageError("--data PATH is required (a dataset folder or manifest)");
    return asUsage([&] { return core::trainOptionsFromFlags(args.flagValues()); });
}

// The labels as they may be printed (core::printable).
std::vector<std::string> printableLabels(const std::vector<std::string> &labels)
{
    std::vector<std::string> out;
    for (const auto &l : labels)
        out.push_back(core::printable(l));
    return out;
}

void printMetricsTable(const std::vector<std::string> &dataLabels,
    const core::ClassificationMetrics *val, const core::ClassificationMetrics *test)
{
    const std::vector<std::string> labels = printableLabels(dataLabels);
    std::size_t width = 7; // "overall"
    for (const auto &l : labels)
        width = std::max(width, l.size());
    std::printf("%-*s", int(width), "class");
    if (val)
        std::printf("  %9s %9s", "val acc", "val F1");
    if (test)
        std::printf("  %9s %9s", "test acc", "test F1");
    std::printf("\n");
    for (std::size_t c = 0; c < labels.size(); ++c) {
        std::printf("%-*s", int(width), labels[c].c_str());
        for (const auto *m : { val, test }) {
            if (m && c < m->perClass.size()) {
                std::printf("  %9s %9.3f", core::humanPercent(m->perClass[c].recall).c_str(),
                    m->perClass[c].f1);
            }
        }
        std::printf("\n");
    }
    std::printf("%-*s", int(width), "overall");
    for (const auto *m : { val, test }) {
        if (m)
            std::printf("  %9s %9.3f", core::humanPercent(m->accuracy).c_str(), m->macroF1);
    }
    std::printf("\n");
}

// This process's place in a data-parallel run, from the launcher's environment (torchrun,
// SLURM, --nproc; a plain run without one) and --dist-backend / --dist-timeout.
core::DataParallelOptions parallelOptions(const Args &args)
{
    const core::DistEnv env = core::readDistEnv();
    core::DataParallelOptions p;
    p.rank = env.rank;
    p.worldSize = env.worldSize;
    p.localRank = env.localRank;
    p.masterAddr = env.masterAddr;
    p.masterPort = env.masterPort;
    // torchrun's agent hosts the store at MASTER_PORT itself; a restarted group gets a new prefix.
    const char *agentStore = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
    p.launcherStore = agentStore && std::string(agentStore) == "True";
    if (const char *restart = std::getenv("TORCHELASTIC_RESTART_COUNT"); restart && *restart)
        p.storePrefix += "/" + std::string(restart);
    p.backend = args.value("dist-backend", p.backend);
    if (p.backend != "auto" && p.backend != "gloo" && p.backend != "nccl")
        throw UsageError("--dist-backend must be auto, gloo or nccl");
    if (args.has("dist-timeout")) {
        p.timeoutSeconds =
            asUsage([&] { return core::flagNumber("dist-timeout", args.value("dist-timeout")); });
        if (p.timeoutSeconds <= 0 || p.timeoutSeconds > 86400)
            throw UsageError("--dist-timeout must be between 0 and 86400 seconds");
    }
    return p;
}

int runTraining(const core::TrainOptions &options, bool json)
{
    const StopOnInterrupt interrupt;
    // The other ranks of a data-parallel run train silently: rank 0 reports for the group.
    if (options.parallel.rank != 0) {
        core::TrainObserver quiet;
        const core::FinishedEvent f = core::train(options, quiet, interrupt.token());
        return f.reason == core::FinishReason::Cancelled ? kExitCancelled : kExitOk;
    }
    ConsoleObserver observer(json);
    const core::FinishedEvent f = core::train(options, observer, interrupt.token());
    if (json)
        return f.reason == core::FinishReason::Cancelled ? kExitCancelled : kExitOk;
    if (f.reason == core::FinishReason::Cancelled) {
        std::fprintf(stderr,
            "cancelled after %d finished epochs; continue with: astpeft train --resume --out %s\n",
            f.epochsCompleted, core::shellQuote(options.out.string()).c_str());
        return kExitCancelled;
    }
    if (options.resume && observer.epochsRun() == 0) {
        std::fprintf(stderr,
            "the run had already finished its %d epochs; give --epochs with a larger number to "
            "train longer\n",
            f.epochsCompleted);
        return kExitOk;
    }
    const auto &best = observer.bestEpoch();
    std::printf("\n%s: %s after %d epochs in %s; best epoch %d", f.method.c_str(),
        core::enumName(f.reason).c_str(), f.epochsCompleted, core::humanDuration(f.seconds).c_str(),
        f.bestEpoch);
    if (f.bestValAccuracy > 0 || (best && best->hasValidation))
        std::printf(", validation accuracy %s", core::humanPercent(f.bestValAccuracy).c_str());
    if (f.hasTest)
        std::printf(", test accuracy %s", core::humanPercent(f.test.accuracy).c_str());
    std::printf("\n\n");
    // Per class: the best epoch's validation (when it ran in this process) and the best
    // adapter's test pass.
    if ((best && best->hasValidation) || f.hasTest) {
        printMetricsTable(f.labels, best && best->hasValidation ? &best->validation : nullptr,
            f.hasTest ? &f.test : nullptr);
    }
    std::printf("\nadapter (%lld trainable parameters) and metrics in %s\n",
        static_cast<long long>(f.trainableParameters), options.out.string().c_str());
    return kExitOk;
}

// `train --demo`: the bundled demo dataset, and unless given the bundled backbone, the adapter
// method, kDemoEpochs epochs and ./astpeft-demo-run. With --resume only the run folder's
// default applies (the run keeps its own options).
constexpr const char *kDemoEpochs = "8";
constexpr const char *kDemoRun = "astpeft-demo-run";

Args withDemoDefaults(Args args)
{
    args.flags.erase("demo");
    if (!args.has("out"))
        args.values["out"] = kDemoRun;
    if (args.has("resume"))
        return args;
    if (args.has("data"))
        throw UsageError("--demo trains on the bundled demo dataset; leave out --data");
    args.values["data"] = core::demoDataDir().string();
    if (!args.has("model"))
        args.values["model"] = core::bundledBackboneDir().string();
    if (!args.has("method"))
        args.values["method"] = "adapter";
    if (!args.has("epochs"))
        args.values["epochs"] = kDemoEpochs;
    return args;
}

int cmdTrain(const Args &given)
{
    const Args args = given.has("demo") ? withDemoDefaults(given) : given;
    if (!args.positional.empty())
        throw UsageError("train takes no positional arguments");
    if (!args.has("out"))
        throw UsageError("--out RUN is required (the run folder)");
    core::TrainOptions o;
    if (args.has("resume")) {
        // The run's own options; only the epochs, device and patience may be given again.
        const std::filesystem::path file =
            std::filesystem::path(args.value("out")) / "options.json";
        if (!std::filesystem::exists(file)) {
            throw core::Error(core::ErrorKind::Usage,
                "nothing to resume: no options.json in the run folder", args.value("out"));
        }
        o = core::readRunOptions(args.value("out"));
        for (const auto &[k, v] : args.values) {
            if (k != "out" && k != "epochs" && k != "device" && k != "patience"
                && k != "dist-backend" && k != "dist-timeout") {
                throw UsageError("--resume continues the run with its own options; only --epochs, "
                                 "--device, --patience and the --dist-* flags may be given (not --"
                    + k + ")");
            }
        }
        o.epochs = positiveInt(args, "epochs", o.epochs);
        o.device = args.value("device", o.device);
        o.patience = args.intValue("patience", o.patience);
        o.out = args.value("out"); // the folder given, wherever the run was first written
        o.resume = true;
    } else {
        o = commonOptions(args);
        o.peft = peftFromArgs(args);
        o.command = core::trainCommandLine(o);
    }
    o.parallel = parallelOptions(args);
    return runTraining(o, args.has("json"));
}

int cmdEval(const Args &args)
{
    if (args.positional.size() != 1)
        throw UsageError("eval needs one RUN folder");
    core::EvalOptions o;
    o.run = args.positional[0];
    o.data = args.value("data");
    o.model = args.value("model");
    o.split = pick(args, "split", core::Split::Test);
    o.device = args.value("device", "auto");
    o.batchSize = args.intValue("batch-size", 0, core::kBatchSizeRange);
    const core::EvalResult r = core::evaluateRun(o);
    const auto &m = r.metrics;
    if (args.has("json")) {
        json j = json::parse(core::metricsJson(m, r.labels));
        j["split"] = core::enumName(o.split);
        j["loss"] = r.loss;
        j["skipped"] = json::array();
        for (const auto &s : r.skipped)
            j["skipped"].push_back({ { "file", s.file.string() }, { "reason", s.reason } });
        std::cout << j.dump() << std::endl;
        return kExitOk;
    }
    std::printf(
        "%s split: %d clips, accuracy %s, balanced accuracy %s, macro-F1 %.3f, loss %.4f\n\n",
        core::enumName(o.split).c_str(), m.examples, core::humanPercent(m.accuracy).c_str(),
        core::humanPercent(m.balancedAccuracy).c_str(), m.macroF1, r.loss);
    const std::vector<std::string> labels = printableLabels(r.labels);
    int width = 5;
    for (const auto &l : labels)
        width = std::max(width, int(l.size()));
    std::printf("%-*s %9s %9s %9s %8s\n", width, "class", "precision", "recall", "F1", "clips");
    for (std::size_t c = 0; c < m.perClass.size(); ++c) {
        std::printf("%-*s %9.3f %9.3f %9.3f %8d\n", width, labels[c].c_str(),
            m.perClass[c].precision, m.perClass[c].recall, m.perClass[c].f1, m.perClass[c].support);
    }
    if (!r.skipped.empty()) {
        std::fprintf(
            stderr, "skipped %zu files (unreadable or unknown labels)\n", r.skipped.size());
    }
    return kExitOk;
}

int cmdExport(const Args &args)
{
    if (args.positional.size() != 1 || !args.has("out"))
        throw UsageError("export needs one RUN folder and --out DIR");
    const std::filesystem::path out = args.value("out");
    const std::string dtype = args.value("dtype", "fp32");
    const std::map<std::string, core::DType> dtypes = { { "fp32", core::DType::F32 },
        { "bf16", core::DType::BF16 }, { "fp16", core::DType::F16 } };
    if (!dtypes.contains(dtype))
        throw UsageError("--dtype must be fp32, bf16 or fp16, not '" + dtype + "'");
    core::exportMergedRun(args.positional[0], args.value("model"), out, dtypes.at(dtype));
    std::printf("wrote %s (config.json, model.safetensors in %s): use it as --model\n",
        out.string().c_str(), dtype.c_str());
    return kExitOk;
}

// `compare`'s console: each run's progress as for train, under a "== method" line.
class ConsoleComparer : public core::CompareObserver
{
public:
    explicit ConsoleComparer(bool json)
        : m_json(json)
    { }
    void onRunStarted(const core::TrainOptions &o) override
    {
        m_run = std::make_unique<ConsoleObserver>(m_json, m_json ? "" : "  ");
        if (!m_json)
            std::fprintf(stderr, "== %s\n", core::methodName(o.peft.method).c_str());
    }
    void onRunFinished(const core::CompareRow &row) override
    {
        if (!row.trained)
            std::fprintf(stderr, "  %s\n", core::printable(row.status).c_str());
    }
    void onImport(const core::ImportEvent &e) override { m_run->onImport(e); }
    void onProgress(const core::ProgressEvent &e) override { m_run->onProgress(e); }
    void onStep(const core::StepEvent &e) override { m_run->onStep(e); }
    void onEpoch(const core::EpochEvent &e) override { m_run->onEpoch(e); }
    void onFinished(const core::FinishedEvent &e) override { m_run->onFinished(e); }
    void onFailed(const core::FailedEvent &e) override { m_run->onFailed(e); }

private:
    bool m_json;
    std::unique_ptr<ConsoleObserver> m_run;
};

int cmdCompare(const Args &args)
{
    if (!args.positional.empty())
        throw UsageError("compare takes no positional arguments");
    if (!args.has("methods") || !args.has("out"))
        throw UsageError("compare needs --methods m1,m2,... and --out DIR");
    std::vector<core::PeftMethod> methods;
    for (const std::string &m : splitList(args.value("methods")))
        methods.push_back(core::parseMethod(m));
    if (methods.empty())
        throw UsageError("--methods needs at least one method");
    const std::filesystem::path out = args.value("out");
    const std::vector<core::TrainOptions> runs = core::comparisonRuns(
        commonOptions(args), methods,
        [&](core::PeftMethod method) { return peftFromArgs(args, method); },
        [&](core::PeftMethod method) { return out / core::methodName(method); });
    const bool asJson = args.has("json");
    const StopOnInterrupt interrupt;
    ConsoleComparer console(asJson);
    const std::vector<core::CompareRow> rows = core::compare(runs, out, console, interrupt.token());
    if (asJson) {
        json j = json::array();
        for (const core::CompareRow &r : rows) {
            j.push_back({ { "method", r.method }, { "trainable_parameters", r.trainableParameters },
                { "best_val_accuracy", r.bestValAccuracy },
                { "test_accuracy", r.testAccuracy ? json(*r.testAccuracy) : json(nullptr) },
                { "seconds", r.seconds }, { "status", r.status } });
        }
        std::cout << json { { "event", "comparison" }, { "rows", j } }.dump() << std::endl;
    } else {
        std::printf("\n%s\nwritten to %s and comparison.md\n",
            core::comparisonMarkdown(rows).c_str(), (out / "comparison.csv").string().c_str());
    }
    return interrupt.interrupted() ? kExitCancelled : kExitOk;
}

} // namespace

std::vector<Command> trainingCommands()
{
    const std::string trainOptionsHelp =
        "Data and split:\n"
        "  --data PATH             a folder or manifest; --layout auto|folders|csv|esc50|\n"
        "                          "
        "speech-commands|urbansound8k|fluent-speech-commands|audiofolder\n"
        "  --val-fraction F        validation share per class when the layout has none (0.1)\n"
        "  --test-fraction F       test share when the layout has none (0)\n"
        "  --val-fold K --test-fold K   folds for fold-based layouts (ESC-50: 4 and 5)\n"
        "  --few-shot K            K training clips per class (seeded)\n"
        "  --min-seconds S         shorter clips are skipped (0.025)\n"
        "  --channel K             keep channel K instead of averaging\n"
        "Method: --method M with its knobs (astpeft methods), or --budget 250k|0.3% to size it.\n"
        "Recipe (paper defaults): --epochs N (10) --batch-size N (8) --lr X (per method)\n"
        "  --weight-decay X (0.1) --warmup STEPS (0) --clip-grad NORM --accumulation N\n"
        "  --patience N (early stopping) --seed S (10) --max-length FRAMES (longest clip)\n"
        "  --device auto|cpu|cuda|cuda:N (auto: the first CUDA device, else the CPU)\n"
        "  --precision auto|fp32|bf16|fp16 (auto: bf16 autocast on GPUs with native bf16,\n"
        "  fp32 elsewhere; fp16 with loss scaling, CUDA only) --positions adapt|zero\n"
        "Augmentation: --freq-mask F --time-mask T (SpecAugment; the paper: 24 and 80)\n"
        "  --mixup ALPHA --noise P (background-noise mixing) --shift SECONDS --gain DB\n"
        "  --noise-files PATH[,PATH...]  noise audio beside the dataset's _background_noise_\n"
        "  (files, or folders of audio files)\n"
        "Caches: --cache-dir DIR (default ~/.cache/astpeft/features), --no-cache;\n"
        "  linear probing without augmentation trains on cached encoder outputs\n"
        "  (--no-encoder-cache runs the frozen encoder every epoch).\n"
        "Memory: --checkpoint-activations keeps only each layer's input and recomputes the\n"
        "  layer in the backward pass (same results, far less memory, about 1/3 slower).\n"
        "--no-test skips the final test pass. --json prints the events as JSON lines.";
    const std::string parallelHelp =
        "Several processes (data-parallel, on c10d): started by torchrun (--no-python), srun, a\n"
        "shell loop setting RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT, or --nproc N. The\n"
        "global batch is --batch-size x processes; rank 0 writes the run folder.\n"
        "  --dist-backend auto|gloo|nccl (auto: NCCL on CUDA devices, else Gloo)\n"
        "  --dist-timeout S  a process silent this long ends the run (300)";
    return {
        { "train",
            "train --model MODEL --data PATH --method M [knobs | --budget B] --out RUN "
            "[options] [--resume] [--json]  (or: train --demo [--epochs N] [--out RUN])",
            "Fine-tunes a PEFT method on a dataset and writes the run folder RUN: the best\n"
            "adapter (adapter_config.json + adapter_model.safetensors), metrics.jsonl (every\n"
            "event), options.json, command.txt, confusion.csv and checkpoints/last.\n"
            "Ctrl-C stops within one step (exit status 130); `astpeft train --resume --out RUN\n"
            "[--epochs N]` continues from the last finished epoch exactly as if it had not\n"
            "stopped, or from the start when no epoch had finished. One training at a time per\n"
            "run folder: another one on it is refused (exit status 1).\n"
            "--nproc N trains data-parallel in N processes of this machine (one GPU each, or an\n"
            "equal share of the CPU threads; astpeft --threads T gives each T), started and\n"
            "stopped together; torchrun, a shell loop or srun may start them instead.\n"
            "--demo trains on the bundled demo dataset (ten spoken words and background noise)\n"
            "with the bundled pretrained backbone; unless given: --method adapter --epochs "
                + std::string(kDemoEpochs) + "\n--out ./" + kDemoRun
                + " (--model overrides the backbone). The bundled files are\n"
                  "looked up in $ASTPEFT_RESOURCE_DIR, <program>/../share/astpeft, then the "
                  "source tree.\n\n"
                + trainOptionsHelp + "\n" + parallelHelp,
            unite(withOptions(kKnobValues, { "dist-backend", "dist-timeout" }), kTrainFlags.values),
            unite(withOptions(kKnobFlags, { "json", "resume", "demo" }), kTrainFlags.switches),
            cmdTrain },
        { "eval", "eval RUN [--data PATH] [--split test|validation|train] [--json]",
            "Evaluates a run's best adapter on one split of a dataset (by default the run's own\n"
            "data and split options), with the run's preprocessing: accuracy, balanced accuracy,\n"
            "macro-F1, per-class precision/recall/F1 and, with --json, the confusion matrix.\n"
            "--model MODEL overrides the backbone path (it must be the same backbone).",
            { "data", "split", "model", "device", "batch-size" }, { "json" }, cmdEval },
        { "export", "export RUN --out DIR [--model MODEL] [--dtype fp32|bf16|fp16]",
            "Merges a run's adapter into its backbone and writes a plain Hugging Face-layout\n"
            "checkpoint (config.json with the run's labels, model.safetensors) to DIR, usable\n"
            "as --model everywhere. Full, linear, BitFit and LoRA runs merge; adapters, prompts\n"
            "and prefixes cannot (use --adapter RUN instead). tools/make_backbone.sh makes the\n"
            "bundled backbone this way. --model MODEL overrides the run's backbone path.\n"
            "--dtype bf16 or fp16 stores the weights in half the space (loaded as float32;\n"
            "bf16 keeps float32's range, fp16 three more bits of precision).",
            { "out", "model", "dtype" }, {}, cmdExport },
        { "compare",
            "compare --model MODEL --data PATH --methods m1,m2,... --budget B --out DIR [options]",
            "Trains each method at the same budget (its size knob solved for B; methods that\n"
            "cannot fit are reported) into DIR/<method> and writes DIR/comparison.csv and\n"
            "comparison.md: trainable parameters, best validation accuracy, test accuracy and\n"
            "time per method: the paper's Table 1 on your data. Options as for train.",
            unite(withOptions(kKnobValues, { "methods" }), kTrainFlags.values),
            unite(withOptions(kKnobFlags, { "json" }), kTrainFlags.switches), cmdCompare },
    };
}

} // namespace astpeft::cli
