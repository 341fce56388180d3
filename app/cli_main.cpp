// SPDX-License-Identifier: MIT
// astpeft: the command-line front end over core. Exit status: 0 success, 1 input error (one
// line on stderr naming the file and the reason), 2 usage error, 130 a training, comparison or
// download cancelled with Ctrl-C (or SIGTERM).
#include "audio/audio_file.h"
#include "cli_args.h"
#include "cli_launch.h"
#include "error.h"
#include "features/fbank.h"
#include "human_format.h"
#include "inference/classifier.h"
#include "io/npy.h"
#include "peft/peft_config.h"
#include "runtime/jemalloc_conf.h"
#include "runtime/resources.h"
#include "runtime/runtime.h"
#include "train/self_check.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace astpeft;
using namespace astpeft::cli;
using nlohmann::json;

namespace {

core::ClassifierOptions classifierOptions(const Args &args)
{
    core::ClassifierOptions o;
    o.maxLength = args.intValue("max-length", 0, core::kMaxLengthRange);
    o.device = args.value("device", "auto");
    o.precision = core::parsePrecision(args.value("precision", "fp32"));
    o.positions = pick(args, "positions", core::PositionMode::Adapt);
    o.adapter = args.value("adapter");
    return o;
}

// --channel K keeps channel K (0-based) instead of averaging all channels, as the paper does
// for UrbanSound8K (channel 0). Only the seconds that `fe`'s maxLength frames cover are decoded
// (and a second more, so that resampling sees what follows them); all of it at maxLength 0.
core::DecodeOptions decodeOptions(const Args &args, const core::FrontEnd &fe)
{
    const int channel = args.intValue("channel", -1, { 0, core::kChannelRange.max });
    const double seconds = fe.maxLength > 0 ? core::fbankSeconds(fe.maxLength, fe.fbank) + 1 : 0;
    return { .targetRate = fe.fbank.sampleRate, .channel = channel, .maxSeconds = seconds };
}

json configJson(const core::AstConfig &c)
{
    return { { "hidden_size", c.hiddenSize }, { "num_hidden_layers", c.numHiddenLayers },
        { "num_attention_heads", c.numAttentionHeads }, { "intermediate_size", c.intermediateSize },
        { "patch_size", c.patchSize }, { "frequency_stride", c.frequencyStride },
        { "time_stride", c.timeStride }, { "max_length", c.maxLength },
        { "num_mel_bins", c.numMelBins }, { "layer_norm_eps", c.layerNormEps },
        { "sampling_rate", c.samplingRate }, { "mean", c.featureMean }, { "std", c.featureStd },
        { "problem_type", c.problemType }, { "tokens", c.numTokens() } };
}

int cmdInfo(const Args &args)
{
    if (args.positional.size() != 1)
        throw UsageError("info needs exactly one MODEL");
    const core::AstClassifier model(args.positional[0], classifierOptions(args));
    const core::ModelSummary &s = model.summary();
    const core::AstConfig &c = s.config;
    const std::string head = core::enumName(s.head);
    if (args.has("json")) {
        json j = { { "path", s.dir.string() }, { "config", configJson(c) },
            { "parameters", s.parameters }, { "backbone_parameters", s.backboneParameters },
            { "head_parameters", s.headParameters }, { "head", c.labels.empty() ? "none" : head },
            { "multi_label", c.multiLabel() }, { "stored_dtype", s.storedDType },
            { "checkpoint_max_length", s.checkpointMaxLength }, { "labels", c.labels } };
        std::cout << j.dump() << '\n';
        return kExitOk;
    }
    std::printf("model          %s\n", core::printable(s.dir.string()).c_str());
    std::printf(
        "architecture   AST, %d layers, hidden %d, %d heads, FFN %d, patch %d, stride %dx%d\n",
        c.numHiddenLayers, c.hiddenSize, c.numAttentionHeads, c.intermediateSize, c.patchSize,
        c.frequencyStride, c.timeStride);
    std::printf("input          %d frames x %d mel bins (%d tokens), %d Hz, mean %.8g, std %.8g\n",
        c.maxLength, c.numMelBins, c.numTokens(), c.samplingRate, c.featureMean, c.featureStd);
    std::printf("parameters     %lld (backbone %lld, head %lld)\n", (long long)s.parameters,
        (long long)s.backboneParameters, (long long)s.headParameters);
    std::printf("stored as      %s; checkpoint max_length %d\n", s.storedDType.c_str(),
        s.checkpointMaxLength);
    std::printf("head           %s, %zu labels, %s\n", c.labels.empty() ? "none" : head.c_str(),
        c.labels.size(), c.multiLabel() ? "multi-label (sigmoid)" : "single-label (softmax)");
    const std::size_t shown = std::min<std::size_t>(c.labels.size(), 20);
    for (std::size_t i = 0; i < shown; ++i)
        std::printf("  %4zu  %s\n", i, core::printable(c.labels[i]).c_str());
    if (shown < c.labels.size())
        std::printf("  ... %zu more\n", c.labels.size() - shown);
    return kExitOk;
}

int cmdFbank(const Args &args)
{
    if (args.positional.size() != 1 || !args.has("out"))
        throw UsageError("fbank needs one AUDIO and --out FILE.npy");
    core::FrontEnd fe;
    fe.maxLength = args.intValue("max-length", 1024, core::kMaxLengthRange);
    fe.normalize = !args.has("raw");
    const core::Audio audio = core::decodeAudio(args.positional[0], decodeOptions(args, fe));
    core::FeatureMatrix f;
    try {
        f = core::extractFeatures(audio.samples, fe);
    } catch (const core::Error &e) {
        throw core::Error(core::ErrorKind::Format, e.reason(), args.positional[0]);
    }
    core::writeNpy(args.value("out"), f.data, { f.frames, f.bins });
    return kExitOk;
}

// "1.015 s", "10.24 s" under a minute (milliseconds, no trailing zeros), "4h00m" beyond.
std::string lengthText(double seconds)
{
    if (seconds >= 60.0)
        return core::humanDuration(seconds);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", seconds);
    std::string text = buf;
    text.erase(text.find_last_not_of('0') + 1);
    if (text.back() == '.')
        text.pop_back();
    return text + " s";
}

int cmdPredict(const Args &args)
{
    if (args.positional.size() < 2)
        throw UsageError("predict needs a MODEL and at least one AUDIO file");
    const int topK = args.intValue("top-k", 5);
    if (topK < 1)
        throw UsageError("--top-k must be at least 1");
    const core::AstClassifier model(args.positional[0], classifierOptions(args));
    const core::FrontEnd fe = model.frontEnd();
    // The model scores the first maxLength frames, whatever the file's length.
    const double window = core::fbankSeconds(fe.maxLength, fe.fbank);
    const core::DecodeOptions decode = decodeOptions(args, fe);
    const bool asJson = args.has("json");
    int status = kExitOk;
    for (std::size_t i = 1; i < args.positional.size(); ++i) {
        const std::string &file = args.positional[i];
        std::vector<float> logits;
        double seconds = 0.0;
        try {
            const core::Audio audio = core::decodeAudio(file, decode);
            seconds = audio.source.seconds();
            core::FeatureMatrix f;
            try {
                f = core::extractFeatures(audio.samples, fe);
            } catch (const core::Error &e) {
                throw core::Error(core::ErrorKind::Format, e.reason(), file);
            }
            logits = model.logits({ f }).front();
        } catch (const core::Error &e) {
            std::cerr << "astpeft: " << core::printable(e.what()) << '\n';
            status = kExitInput;
            continue;
        }
        const auto scores = model.scores(logits);
        const auto top = model.top(scores, topK);
        const bool cut = seconds > window;
        if (asJson) {
            json j = { { "file", file }, { "top", json::array() } };
            for (const auto &t : top)
                j["top"].push_back({ { "label", t.label }, { "score", t.score } });
            if (args.has("logits"))
                j["logits"] = logits;
            if (cut) {
                j["seconds"] = seconds;
                j["scored_seconds"] = window;
            }
            std::cout << j.dump() << std::endl;
        } else {
            if (cut) {
                std::cerr << core::printable(file) << ": " << lengthText(seconds)
                          << " long; scoring its first " << lengthText(window)
                          << " (use `astpeft timeline` for the whole file)" << std::endl;
            }
            std::cout << core::printable(file) << '\n';
            for (const auto &t : top)
                std::printf("  %8.4f  %s\n", t.score, core::printable(t.label).c_str());
            if (args.has("logits")) {
                std::cout << "  logits:";
                for (float l : logits)
                    std::printf(" %.6g", l);
                std::cout << '\n';
            }
        }
    }
    return status;
}

int cmdInitModel(const Args &args)
{
    if (!args.positional.empty() || !args.has("out"))
        throw UsageError("init-model needs --out DIR and no positional arguments");
    core::RandomModelOptions o;
    o.preset = args.value("preset", "tiny");
    o.hiddenSize = args.intValue("hidden", 0, { 1, 4096 });
    o.numHiddenLayers = args.intValue("layers", 0, { 1, 48 });
    o.numAttentionHeads = args.intValue("heads", 0, { 1, 64 });
    o.intermediateSize = args.intValue("ffn", 0, { 1, 16384 });
    o.maxLength = args.intValue("max-length", 0, core::kMaxLengthRange);
    if (args.has("labels")) {
        o.labels = splitList(args.value("labels"));
        for (const auto &l : o.labels) {
            if (l.empty())
                throw UsageError("--labels has an empty label");
        }
        if (std::set<std::string>(o.labels.begin(), o.labels.end()).size() != o.labels.size())
            throw UsageError("--labels has duplicate labels");
    }
    const std::string seed = args.value("seed", "0");
    try {
        o.seed = std::stoull(seed);
    } catch (const std::exception &) {
        throw UsageError("--seed needs a non-negative integer");
    }
    o.head = pick(args, "head", core::HeadKind::Hf);
    if (args.has("stride")) {
        const std::vector<std::string> s = splitList(args.value("stride"));
        try {
            if (s.size() != 2)
                throw std::invalid_argument("two values");
            o.frequencyStride = std::stoi(s[0]);
            o.timeStride = std::stoi(s[1]);
        } catch (const std::exception &) {
            throw UsageError("--stride needs F,T: the patch strides in mel bins and frames");
        }
        if (o.frequencyStride < 1 || o.timeStride < 1)
            throw UsageError("--stride values must be positive");
    }
    core::writeRandomModel(args.value("out"), o);
    return kExitOk;
}

json knobsJson(const core::PeftConfig &p)
{
    using core::PeftMethod;
    switch (p.method) {
    case PeftMethod::Lora:
        return { { "rank", p.lora.rank }, { "alpha", p.lora.alpha },
            { "targets", std::string(p.lora.targets.begin(), p.lora.targets.end()) },
            { "scaling", p.lora.paperScaling ? "alpha/RR" : "alpha/rank" } };
    case PeftMethod::Adapter:
        return { { "block", core::enumName(p.adapter.block) },
            { "placement", core::enumName(p.adapter.placement) },
            { "mode", core::enumName(p.adapter.mode) }, { "bottleneck", p.adapter.bottleneck },
            { "kernel", p.adapter.kernel }, { "residual", p.adapter.residual },
            { "activation", core::enumName(p.adapter.activation) } };
    case PeftMethod::PromptShallow:
    case PeftMethod::PromptDeep:
        return { { "prompts", p.prompts } };
    case PeftMethod::Prefix:
        return { { "prefix_tokens", p.prefixTokens } };
    default:
        return json::object();
    }
}

int cmdMethods(const Args &args)
{
    json list = json::array();
    for (core::PeftMethod m : core::allMethods()) {
        const core::PeftConfig paper = core::paperSetting(m);
        json j = { { "name", core::methodName(m) }, { "summary", core::methodSummary(m) },
            { "paper_learning_rate", core::paperLearningRate(m) },
            { "defaults", knobsJson(paper) } };
        list.push_back(j);
    }
    if (args.has("json")) {
        std::cout << list.dump() << '\n';
        return kExitOk;
    }
    for (const json &j : list) {
        std::printf("%-15s %s\n", j["name"].get<std::string>().c_str(),
            j["summary"].get<std::string>().c_str());
        std::printf("%-15s lr %g", "", j["paper_learning_rate"].get<double>());
        for (const auto &[k, v] : j["defaults"].items()) {
            std::printf(", %s %s", k.c_str(),
                v.is_string() ? v.get<std::string>().c_str() : v.dump().c_str());
        }
        std::printf("\n");
    }
    std::printf(
        "\nKnobs: --rank R --alpha A --targets q,v [--paper-scaling] (lora); --block "
        "bottleneck|conformer\n"
        "--placement pfeiffer|houlsby --mode parallel|sequential --bottleneck R --kernel K "
        "[--residual]\n"
        "--activation gelu|relu (adapter); --prompts N (prompt-*); --prefix-tokens N (prefix);\n"
        "--init identity|paper; or --budget 250k|0.3%% to size the method's knob.\n");
    return kExitOk;
}

int cmdParams(const Args &args)
{
    if (args.positional.size() != 1)
        throw UsageError("params needs exactly one MODEL");
    std::filesystem::path dir = args.positional[0];
    if (std::filesystem::is_regular_file(dir))
        dir = dir.parent_path();
    core::AstConfig config = core::loadAstConfig(dir);
    if (args.has("max-length")) {
        config.maxLength = args.intValue("max-length", 0, { 1, core::kMaxLengthRange.max });
        if (const std::string problem = core::inputLengthProblem(config, config.maxLength);
            !problem.empty())
            throw UsageError("--max-length: " + problem);
    }
    const int labels = args.intValue("labels", int(config.labels.size()), { 0, core::kMaxLabels });
    core::PeftConfig peft = peftFromArgs(args);
    const std::int64_t backbone = core::countParameters(config, peft, labels).backbone;
    std::optional<std::int64_t> budget;
    if (args.has("budget")) {
        budget = core::parseBudget(args.value("budget"), backbone);
        peft = core::solveBudget(config, peft, *budget, labels);
    }
    if (const auto knob = core::knobProblem(peft, config, config.maxLength))
        throw UsageError("--" + knob->flag + " " + knob->reason);
    const core::ParameterBreakdown b = core::countParameters(config, peft, labels);
    if (args.has("json")) {
        json j = { { "method", core::methodName(peft.method) }, { "knobs", knobsJson(peft) },
            { "trainable", b.total() }, { "trainable_without_head", b.withoutHead() },
            { "paper_count", b.paperCount() },
            { "breakdown",
                { { "method_modules", b.methodModules }, { "layer_norms", b.layerNorms },
                    { "final_layer_norm", b.finalLayerNorm }, { "biases", b.biases },
                    { "backbone_weights", b.backboneWeights }, { "head", b.head } } },
            { "backbone", b.backbone }, { "share_of_backbone", b.shareOfBackbone() },
            { "adapter_file_bytes", b.adapterFileBytes() }, { "labels", labels } };
        if (budget)
            j["budget"] = *budget;
        std::cout << j.dump() << '\n';
        return kExitOk;
    }
    std::printf("method            %s %s\n", core::methodName(peft.method).c_str(),
        knobsJson(peft).dump().c_str());
    if (budget)
        std::printf("budget            %lld\n", (long long)*budget);
    const auto row = [](const char *name, std::int64_t n) {
        std::printf("%-17s %12lld\n", name, (long long)n);
    };
    row("method modules", b.methodModules);
    row("layer norms", b.layerNorms);
    row("final layer norm", b.finalLayerNorm);
    row("biases", b.biases);
    row("backbone weights", b.backboneWeights);
    row("head", b.head);
    row("trainable", b.total());
    row("without head", b.withoutHead());
    row("paper's count", b.paperCount());
    std::printf("%-17s %11.3f%% of %lld backbone parameters\n", "share",
        100.0 * b.shareOfBackbone(), (long long)b.backbone);
    std::printf("%-17s %12.1f KB (float32)\n", "adapter file", b.adapterFileBytes() / 1024.0);
    return kExitOk;
}

// The libtorch build and the devices it sees, then a short training and forward check on one.
int cmdSelfCheck(const Args &args)
{
    if (!args.positional.empty())
        throw UsageError("selfcheck takes no positional arguments");
    const core::RuntimeInfo r = core::runtimeInfo();
    const bool asJson = args.has("json");
    json gpus = json::array();
    for (const core::GpuInfo &g : r.gpus) {
        gpus.push_back({ { "device", g.device }, { "name", g.name },
            { "memory_mb", double(g.memoryBytes) / (1024.0 * 1024.0) },
            { "compute_capability", std::to_string(g.major) + "." + std::to_string(g.minor) },
            { "bf16", g.bf16 } });
    }
    if (asJson) {
        std::cout << json {
            { "event", "runtime" }, { "libtorch", r.torchVersion }, { "cuda_build", r.cudaBuild },
            { "cuda", r.cudaVersion }, { "cudnn", r.cudnnVersion }, { "threads", r.threads },
            { "gpus", gpus }
        }.dump() << std::endl;
    } else {
        std::printf("libtorch %s, %s; %d CPU threads\n", r.torchVersion.c_str(),
            r.cudaBuild ? ("CUDA " + r.cudaVersion + ", cuDNN "
                + (r.cudnnVersion.empty() ? "none" : r.cudnnVersion))
                              .c_str()
                        : "CPU only (no CUDA in this build)",
            r.threads);
        for (const core::GpuInfo &g : r.gpus) {
            std::printf("%s: %s, %.1f GiB, compute capability %d.%d%s\n", g.device.c_str(),
                g.name.c_str(), double(g.memoryBytes) / double(1 << 30), g.major, g.minor,
                g.bf16 ? ", bf16" : "");
        }
        if (r.cudaBuild && r.gpus.empty())
            std::printf("no CUDA device visible (driver, CUDA_VISIBLE_DEVICES?)\n");
        std::fflush(stdout);
    }
    core::SelfCheckOptions o;
    o.model =
        args.has("model") ? std::filesystem::path(args.value("model")) : core::bundledBackboneDir();
    o.device = args.value("device", "auto");
    const core::SelfCheckResult c = core::selfCheck(o);
    if (asJson) {
        std::cout << json {
            { "event", "selfcheck" }, { "device", c.device }, { "precision", c.precision },
            { "losses", c.losses }, { "forward_max_abs_diff", c.forwardMaxAbsDiff },
            { "tolerance", c.tolerance }, { "peak_device_mb", c.peakDeviceMemoryMb },
            { "passed", c.passed }
        }.dump() << std::endl;
    } else {
        std::string losses;
        for (double l : c.losses)
            losses += (losses.empty() ? "" : ", ") + std::to_string(l);
        std::printf("%s: %zu LoRA training steps in %s, losses %s%s\n", c.device.c_str(),
            c.losses.size(), c.precision.c_str(), losses.c_str(),
            c.peakDeviceMemoryMb > 0
                ? (", peak " + std::to_string(int(c.peakDeviceMemoryMb)) + " MB").c_str()
                : "");
        std::printf("%s: forward against the CPU: max |difference| %.3g (bound %.3g)\n",
            c.device.c_str(), c.forwardMaxAbsDiff, c.tolerance);
        std::printf("self-check %s\n", c.passed ? "passed" : "FAILED");
    }
    return c.passed ? kExitOk : kExitInput;
}

const std::vector<Command> &commands()
{
    static const std::vector<Command> list = {
        { "info", "info MODEL [--json] [--max-length N]",
            "Shows a model's configuration, parameter counts and labels.\n"
            "MODEL is a Hugging Face AST folder (config.json + model.safetensors).",
            { "max-length", "device", "precision", "positions" }, { "json" }, cmdInfo },
        { "fbank", "fbank AUDIO --out FILE.npy [--max-length N] [--raw] [--channel K]",
            "Writes AST input features as float32 .npy [frames, 128]: Kaldi log-mel fbank\n"
            "padded or truncated to --max-length frames (default 1024; 0 keeps every frame) and\n"
            "normalised with the AudioSet statistics ((x + 4.2677393) / (2 * 4.5689974));\n"
            "--raw skips the normalisation. Channels are averaged; --channel K keeps only\n"
            "channel K (0-based).",
            { "out", "max-length", "channel" }, { "raw" }, cmdFbank },
        { "predict", "predict MODEL [--adapter RUN] AUDIO... [--top-k K] [--json] [--logits]",
            "Classifies audio files. --adapter RUN loads a trained adapter (a run folder of\n"
            "`astpeft train`, or an adapter folder) onto the backbone MODEL, with exactly its\n"
            "preprocessing. Scores are sigmoid for multi-label checkpoints, softmax\n"
            "otherwise. With --json: one JSON object per input and line:\n"
            "  {\"file\": ..., \"top\": [{\"label\": ..., \"score\": ...}], \"logits\": [...]}\n"
            "(logits only with --logits). Options:\n"
            "  --device cpu|cuda|auto    --precision fp32|bf16|fp16|int8 (fp16 on CUDA only;\n"
            "                            int8: dynamic int8 Linear layers, CPU inference)\n"
            "  --max-length N            frames; position embeddings are adapted\n"
            "  --positions adapt|zero    zero: as the paper's official code (replication only)\n"
            "  --channel K               keep channel K instead of averaging channels",
            { "top-k", "max-length", "device", "precision", "positions", "channel", "adapter" },
            { "json", "logits" }, cmdPredict },
        { "methods", "methods [--json]",
            "Lists the parameter-efficient methods, their knobs, the paper's settings and "
            "learning\n"
            "rates.",
            {}, { "json" }, cmdMethods },
        { "params", "params MODEL --method M [knobs | --budget B] [--labels N] [--json]",
            "Counts the trainable parameters of a method on MODEL's backbone, by part. Knobs as "
            "in\n"
            "`astpeft methods`; --budget 250k or 0.3% picks the largest size within the budget\n"
            "(counted without the head). --labels N sets the head (default: the model's labels).\n"
            "With --json: {\"method\", \"knobs\", \"trainable\", \"trainable_without_head\",\n"
            "\"paper_count\", \"breakdown\", \"backbone\", \"share_of_backbone\",\n"
            "\"adapter_file_bytes\", \"labels\"}.",
            withOptions(kKnobValues, { "labels", "max-length" }),
            withOptions(kKnobFlags, { "json" }), cmdParams },
        { "init-model",
            "init-model --preset tiny|small|base [--hidden N --layers N --heads N --ffn N] "
            "[--max-length N] [--stride F,T] [--labels a,b,c] [--seed S] --out DIR",
            "Writes a randomly initialised AST checkpoint in the Hugging Face layout. The same "
            "seed\n"
            "gives the same weights on every platform and libtorch version. --head "
            "hf|mean-tokens.\n"
            "--stride F,T sets the patch strides in mel bins and frames (default 10,10, AST's\n"
            "overlapping patches; 16,16 has no overlap and about 2.3x fewer tokens).\n"
            "--hidden, --layers, --heads and --ffn override the preset's width, depth, attention\n"
            "heads and feed-forward width (tiny 64/2/2/128, small 192/6/3/768, base "
            "768/12/12/3072).",
            { "preset", "hidden", "layers", "heads", "ffn", "max-length", "stride", "labels",
                "seed", "out", "head" },
            {}, cmdInitModel },
        { "selfcheck", "selfcheck [--device auto|cpu|cuda|cuda:N] [--model MODEL] [--json]",
            "Prints the libtorch build (CUDA and cuDNN versions) and the GPUs it sees (name,\n"
            "memory, compute capability), then checks the device: two LoRA training steps there\n"
            "in the precision training would use (bf16 on GPUs that support it) and a forward\n"
            "pass compared with the CPU's. MODEL defaults to the bundled backbone. Exit status 0\n"
            "when the check passes, 1 when it fails, 2 when the device cannot be used.",
            { "device", "model" }, { "json" }, cmdSelfCheck },
    };
    return list;
}

// Every command: the ones above, then train, eval and compare (cli_train.cpp), then listen and
// timeline (cli_listen.cpp), then download (cli_download.cpp).
const std::vector<Command> &allCommands()
{
    static const std::vector<Command> all = [] {
        std::vector<Command> out = commands();
        for (Command &c : trainingCommands())
            out.push_back(std::move(c));
        for (Command &c : listenCommands())
            out.push_back(std::move(c));
        for (Command &c : downloadCommands())
            out.push_back(std::move(c));
        return out;
    }();
    return all;
}

// A thread count, 0..1024 (0: one per core); nothing when malformed. Unset (null): 0.
std::optional<int> threadCount(const char *text)
{
    if (!text)
        return 0;
    char *end = nullptr;
    const long n = std::strtol(text, &end, 10);
    if (!*text || *end != '\0' || n < 0 || n > 1024)
        return std::nullopt;
    return int(n);
}

void printUsage(std::FILE *to)
{
    std::fprintf(to, "usage: astpeft [--threads N] COMMAND [ARGS]\n\ncommands:\n");
    for (const Command &c : allCommands())
        std::fprintf(to, "  %s\n", c.synopsis.c_str());
    std::fprintf(to,
        "\n--threads N: intra-op threads (default: $ASTPEFT_THREADS, else 0 = one per core).\n"
        "`astpeft COMMAND --help` describes a command. astpeft --version prints the version.\n"
        "Exit status: 0 success, 1 input error, 2 usage error, 130 a training, comparison or\n"
        "download cancelled with Ctrl-C (or SIGTERM).\n");
}

} // namespace

int main(int argc, char **argv)
{
    core::ensurePassiveOpenMp(argv);
    int first = 1;
    // ASTPEFT_THREADS is --threads' default (`train --nproc` sets it in each worker).
    const char *threadsVariable = std::getenv("ASTPEFT_THREADS");
    const std::optional<int> threadsFromEnv =
        threadCount(threadsVariable && *threadsVariable ? threadsVariable : nullptr);
    if (!threadsFromEnv) {
        std::fprintf(stderr, "astpeft: ASTPEFT_THREADS needs a count (0 = one per core)\n");
        return kExitUsage;
    }
    int threads = *threadsFromEnv;
    while (first < argc && std::string(argv[first]).rfind("-", 0) == 0) {
        const std::string a = argv[first];
        if (a == "--help" || a == "-h") {
            printUsage(stdout);
            return kExitOk;
        }
        if (a == "--version") {
            std::printf("astpeft %s (libtorch %s)\n", ASTPEFT_VERSION,
                core::runtimeInfo().torchVersion.c_str());
            return kExitOk;
        }
        if (a == "--threads") {
            const std::optional<int> n = threadCount(first + 1 < argc ? argv[first + 1] : "");
            if (!n) {
                std::fprintf(stderr, "astpeft: --threads needs a count (0 = one per core)\n");
                return kExitUsage;
            }
            threads = *n;
            first += 2;
            continue;
        }
        std::fprintf(stderr, "astpeft: unknown option %s\n", core::printable(a).c_str());
        printUsage(stderr);
        return kExitUsage;
    }
    if (first >= argc) {
        printUsage(stderr);
        return kExitUsage;
    }
    const std::string name = argv[first];
    const Command *cmd = nullptr;
    for (const Command &c : allCommands()) {
        if (c.name == name)
            cmd = &c;
    }
    if (!cmd) {
        std::fprintf(stderr, "astpeft: unknown command '%s'\n", core::printable(name).c_str());
        printUsage(stderr);
        return kExitUsage;
    }
    for (int i = first + 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
            std::printf("usage: astpeft %s\n\n%s\n", cmd->synopsis.c_str(), cmd->help.c_str());
            return kExitOk;
        }
    }
    try {
        std::vector<std::string> rest(argv + first + 1, argv + argc);
        if (cmd->name == "train") {
            if (const std::optional<int> status = launchTrainWorkers(*cmd, rest, threads))
                return *status;
        }
        std::vector<char *> restArgv;
        for (std::string &a : rest)
            restArgv.push_back(a.data());
        const Args args = parseArgs(*cmd, int(restArgv.size()), restArgv.data(), 0);
        core::configureThreads(threads);
        return cmd->run(args);
    } catch (const UsageError &e) {
        std::fprintf(stderr, "astpeft %s: %s\nusage: astpeft %s\n", name.c_str(),
            core::printable(e.what()).c_str(), cmd->synopsis.c_str());
        return kExitUsage;
    } catch (const core::Error &e) {
        std::fprintf(stderr, "astpeft: %s\n", core::printable(e.what()).c_str());
        return e.kind() == core::ErrorKind::Usage ? kExitUsage : kExitInput;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "astpeft: internal error: %s\n", core::printable(e.what()).c_str());
        return kExitInput;
    }
}
