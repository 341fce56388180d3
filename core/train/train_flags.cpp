// SPDX-License-Identifier: MIT
#include "train/train_flags.h"

#include "error.h"
#include "inference/classifier.h"
#include "runtime/runtime.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace astpeft::core {

namespace {

using Group = TrainFlag::Group;
using Text = std::optional<std::string>;

[[noreturn]] void usage(const std::string &message)
{
    throw Error(ErrorKind::Usage, message);
}

// The shortest decimal that reads back as the same double.
std::string numberText(double v)
{
    char buf[32];
    for (int digits = 6; digits <= 17; ++digits) {
        std::snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (std::stod(buf) == v)
            break;
    }
    return buf;
}

std::vector<std::string> splitCommas(const std::string &text)
{
    std::vector<std::string> out;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');)
        out.push_back(item);
    if (!text.empty() && text.back() == ',')
        out.emplace_back();
    return out;
}

// A stream, not string +: GCC 12 reports a false -Wrestrict for the latter.
std::string joinCommas(const std::vector<std::string> &items)
{
    std::ostringstream out;
    for (std::size_t i = 0; i < items.size(); ++i)
        out << (i ? "," : "") << items[i];
    return out.str();
}

template<typename E> E enumFlag(const std::string &name, const std::string &text)
{
    try {
        return parseEnum<E>(text);
    } catch (const Error &e) { // "<what> must be one of ...": say which flag
        usage("--" + name + e.reason().substr(e.reason().find(" must be")));
    }
}

// The options an Options row is written against: it is left out when it has their value.
const TrainOptions &defaults()
{
    static const TrainOptions options;
    return options;
}

// Rows over a field that `field(options)` returns by reference (for const and non-const
// options alike), written when it differs from the default options' field.
template<typename Field>
TrainFlag integer(std::string name, Field field,
    IntRange range = { std::numeric_limits<int>::min(), std::numeric_limits<int>::max() },
    std::string tooSmall = {})
{
    return { name, true, Group::Options,
        [=](TrainOptions &o, const std::string &v) {
            const int n = flagInteger(name, v);
            if (n < range.min && !tooSmall.empty())
                usage(tooSmall);
            field(o) = flagInteger(name, v, range);
        },
        [=](const TrainOptions &o) -> Text {
            if (field(o) == field(defaults()))
                return {};
            return std::to_string(field(o));
        } };
}

template<typename Field>
TrainFlag number(
    std::string name, Field field, bool (*valid)(double) = nullptr, std::string invalid = {})
{
    return { name, true, Group::Options,
        [=](TrainOptions &o, const std::string &v) {
            const double x = flagNumber(name, v);
            if (valid && !valid(x))
                usage(invalid);
            field(o) = x;
        },
        [=](const TrainOptions &o) -> Text {
            if (field(o) == field(defaults()))
                return {};
            return numberText(field(o));
        } };
}

template<typename Field> TrainFlag text(std::string name, Field field)
{
    return { name, true, Group::Options,
        [=](TrainOptions &o, const std::string &v) { field(o) = v; },
        [=](const TrainOptions &o) -> Text {
            const std::string s = std::filesystem::path(field(o)).string();
            if (s.empty() || field(o) == field(defaults()))
                return {};
            return s;
        } };
}

template<typename E, typename Field> TrainFlag choice(std::string name, Field field)
{
    return { name, true, Group::Options,
        [=](TrainOptions &o, const std::string &v) { field(o) = enumFlag<E>(name, v); },
        [=](const TrainOptions &o) -> Text {
            if (field(o) == field(defaults()))
                return {};
            return enumName(field(o));
        } };
}

// A switch that sets `field` to `on`.
template<typename Field> TrainFlag toggle(std::string name, Field field, bool on)
{
    return { name, false, Group::Options,
        [=](TrainOptions &o, const std::string &) { field(o) = on; },
        [=](const TrainOptions &o) -> Text {
            if (field(o) != on)
                return {};
            return std::string();
        } };
}

// The options with the method's paper setting in place of the peft default: a knob is
// written when it differs from it.
TrainOptions paperOptions(const TrainOptions &o)
{
    TrainOptions p;
    p.peft = paperSetting(o.peft.method, o.peft.adapter.block);
    return p;
}

template<typename Field> TrainFlag intKnob(std::string name, Field field, IntRange range)
{
    return { name, true, Group::Knob,
        [=](TrainOptions &o, const std::string &v) { field(o) = flagInteger(name, v, range); },
        [=](const TrainOptions &o) -> Text {
            const TrainOptions paper = paperOptions(o);
            if (field(o) == field(paper))
                return {};
            return std::to_string(field(o));
        } };
}

template<typename E, typename Field> TrainFlag enumKnob(std::string name, Field field)
{
    return { name, true, Group::Knob,
        [=](TrainOptions &o, const std::string &v) { field(o) = enumFlag<E>(name, v); },
        [=](const TrainOptions &o) -> Text {
            const TrainOptions paper = paperOptions(o);
            if (field(o) == field(paper))
                return {};
            return enumName(field(o));
        } };
}

template<typename Field> TrainFlag switchKnob(std::string name, Field field)
{
    return { name, false, Group::Knob,
        [=](TrainOptions &o, const std::string &) { field(o) = true; },
        [=](const TrainOptions &o) -> Text {
            if (!field(o))
                return {};
            return std::string();
        } };
}

std::vector<TrainFlag> optionRows()
{
    const auto fraction = [](double v) { return v >= 0.0 && v < 1.0; };
    return {
        text(
            "model", [](auto &o) -> auto & { return o.model; }),
        text(
            "data", [](auto &o) -> auto & { return o.data; }),
        choice<DatasetLayout>(
            "layout", [](auto &o) -> auto & { return o.import.layout; }),
        number(
            "min-seconds", [](auto &o) -> auto & { return o.import.minSeconds; }),
        integer(
            "channel", [](auto &o) -> auto & { return o.channel; }, kChannelRange),
        number(
            "val-fraction", [](auto &o) -> auto & { return o.split.validationFraction; }, +fraction,
            "--val-fraction must be in [0, 1)"),
        number(
            "test-fraction", [](auto &o) -> auto & { return o.split.testFraction; }, +fraction,
            "--test-fraction must be in [0, 1)"),
        integer(
            "val-fold", [](auto &o) -> auto & { return o.split.validationFold; }),
        integer(
            "test-fold", [](auto &o) -> auto & { return o.split.testFold; }),
        integer(
            "few-shot", [](auto &o) -> auto & { return o.split.fewShot; },
            { 0, std::numeric_limits<int>::max() }, "--few-shot must be positive"),
        text(
            "budget", [](auto &o) -> auto & { return o.budget; }),
        integer(
            "epochs", [](auto &o) -> auto & { return o.epochs; }, kEpochsRange),
        integer(
            "batch-size", [](auto &o) -> auto & { return o.batchSize; }, kBatchSizeRange),
        number(
            "lr", [](auto &o) -> auto & { return o.learningRate; },
            +[](double v) { return v >= 0.0; }, "--lr must be positive"),
        number(
            "weight-decay", [](auto &o) -> auto & { return o.weightDecay; }),
        integer(
            "warmup", [](auto &o) -> auto & { return o.warmupSteps; }, kWarmupRange),
        number(
            "clip-grad", [](auto &o) -> auto & { return o.clipGradNorm; }),
        integer(
            "accumulation", [](auto &o) -> auto & { return o.accumulation; }, kAccumulationRange),
        integer(
            "patience", [](auto &o) -> auto & { return o.patience; }, kPatienceRange),
        { "seed", true, Group::Options,
            [](TrainOptions &o, const std::string &v) {
                try {
                    std::size_t used = 0;
                    o.seed = std::stoull(v, &used);
                    if (used != v.size() || v.empty() || v[0] == '-')
                        throw std::invalid_argument(v);
                } catch (const std::exception &) {
                    usage("--seed needs a non-negative integer");
                }
                o.split.seed = o.seed;
            },
            [](const TrainOptions &o) -> Text { return std::to_string(o.seed); } },
        integer(
            "max-length", [](auto &o) -> auto & { return o.maxLength; }, kMaxLengthRange,
            "--max-length must be positive"),
        choice<PositionMode>(
            "positions", [](auto &o) -> auto & { return o.positions; }),
        text(
            "device", [](auto &o) -> auto & { return o.device; }),
        { "precision", true, Group::Options,
            [](TrainOptions &o, const std::string &v) {
                if (v == "auto")
                    return; // trainOptionsFromFlags() resolves it for the device
                try {
                    o.precision = parsePrecision(v);
                } catch (const Error &e) {
                    usage("--precision: " + e.reason());
                }
            },
            [](const TrainOptions &o) -> Text {
                if (o.precision == Precision::F32)
                    return {};
                return precisionName(o.precision);
            } },
        integer(
            "freq-mask", [](auto &o) -> auto & { return o.augment.freqMaskParam; }, kFreqMaskRange),
        integer(
            "time-mask", [](auto &o) -> auto & { return o.augment.timeMaskParam; }, kTimeMaskRange),
        number(
            "mixup", [](auto &o) -> auto & { return o.augment.mixupAlpha; }),
        number(
            "noise", [](auto &o) -> auto & { return o.augment.noiseProbability; }),
        { "noise-files", true, Group::Options,
            [](TrainOptions &o, const std::string &v) {
                o.noiseFiles.clear();
                for (const std::string &path : splitCommas(v))
                    o.noiseFiles.emplace_back(path);
            },
            [](const TrainOptions &o) -> Text {
                if (o.noiseFiles.empty())
                    return {};
                std::vector<std::string> paths;
                for (const auto &f : o.noiseFiles)
                    paths.push_back(f.string());
                return joinCommas(paths);
            } },
        number(
            "shift", [](auto &o) -> auto & { return o.augment.shiftSeconds; }),
        number(
            "gain", [](auto &o) -> auto & { return o.augment.gainDb; }),
        text(
            "cache-dir", [](auto &o) -> auto & { return o.featureCache; }),
        toggle(
            "no-cache", [](auto &o) -> auto & { return o.useFeatureCache; }, false),
        toggle(
            "no-encoder-cache", [](auto &o) -> auto & { return o.cacheEncoderOutputs; }, false),
        toggle(
            "no-test", [](auto &o) -> auto & { return o.evaluateTest; }, false),
        toggle(
            "checkpoint-activations", [](auto &o) -> auto & { return o.checkpointActivations; },
            true),
        text(
            "out", [](auto &o) -> auto & { return o.out; }),
    };
}

std::vector<TrainFlag> methodRows()
{
    return {
        { "method", true, Group::Method,
            [](TrainOptions &o, const std::string &v) {
                o.peft = paperSetting(parseMethod(v), o.peft.adapter.block);
            },
            [](const TrainOptions &o) -> Text { return methodName(o.peft.method); } },
        { "block", true, Group::Method,
            [](TrainOptions &o, const std::string &v) {
                o.peft.adapter.block = enumFlag<AdapterBlock>("block", v);
            },
            [](const TrainOptions &o) -> Text {
                if (o.peft.method != PeftMethod::Adapter
                    || o.peft.adapter.block == AdapterBlock::Conformer)
                    return {};
                return enumName(o.peft.adapter.block);
            } },
    };
}

std::vector<TrainFlag> knobRows()
{
    return {
        intKnob(
            "rank", [](auto &o) -> auto & { return o.peft.lora.rank; }, kRankRange),
        { "alpha", true, Group::Knob,
            [](TrainOptions &o, const std::string &v) {
                o.peft.lora.alpha = flagNumber("alpha", v);
            },
            [](const TrainOptions &o) -> Text {
                if (o.peft.lora.alpha == paperOptions(o).peft.lora.alpha)
                    return {};
                return numberText(o.peft.lora.alpha);
            } },
        { "targets", true, Group::Knob,
            [](TrainOptions &o, const std::string &v) {
                std::vector<char> &targets = o.peft.lora.targets;
                targets.clear();
                for (const std::string &t : splitCommas(v)) {
                    if (t.size() != 1 || std::string("qkvo").find(t[0]) == std::string::npos
                        || std::find(targets.begin(), targets.end(), t[0]) != targets.end())
                        usage("--targets takes distinct letters from q, k, v, o, e.g. q,v");
                    targets.push_back(t[0]);
                }
                if (targets.empty())
                    usage("--targets needs at least one of q, k, v, o");
            },
            [](const TrainOptions &o) -> Text {
                if (o.peft.lora.targets == paperOptions(o).peft.lora.targets)
                    return {};
                std::vector<std::string> letters;
                for (char t : o.peft.lora.targets)
                    letters.emplace_back(1, t);
                return joinCommas(letters);
            } },
        switchKnob(
            "paper-scaling", [](auto &o) -> auto & { return o.peft.lora.paperScaling; }),
        enumKnob<AdapterPlacement>(
            "placement", [](auto &o) -> auto & { return o.peft.adapter.placement; }),
        enumKnob<AdapterMode>(
            "mode", [](auto &o) -> auto & { return o.peft.adapter.mode; }),
        enumKnob<Activation>(
            "activation", [](auto &o) -> auto & { return o.peft.adapter.activation; }),
        switchKnob(
            "residual", [](auto &o) -> auto & { return o.peft.adapter.residual; }),
        switchKnob(
            "official-ln-bug",
            [](auto &o) -> auto & { return o.peft.adapter.officialLayerNormBug; }),
        intKnob(
            "bottleneck", [](auto &o) -> auto & { return o.peft.adapter.bottleneck; },
            kBottleneckRange),
        intKnob(
            "kernel", [](auto &o) -> auto & { return o.peft.adapter.kernel; }, kKernelRange),
        intKnob(
            "prompts", [](auto &o) -> auto & { return o.peft.prompts; }, kPromptsRange),
        intKnob(
            "prefix-tokens", [](auto &o) -> auto & { return o.peft.prefixTokens; },
            kPrefixTokensRange),
        enumKnob<PeftInit>(
            "init", [](auto &o) -> auto & { return o.peft.init; }),
    };
}

const TrainFlag &row(const std::string &name)
{
    for (const TrainFlag &f : trainFlags()) {
        if (f.name == name)
            return f;
    }
    throw Error(ErrorKind::Usage, "no training flag --" + name);
}

void apply(TrainOptions &o, const FlagValues &flags, Group group)
{
    for (const TrainFlag &f : trainFlags()) {
        if (f.group == group) {
            if (const auto it = flags.find(f.name); it != flags.end())
                f.read(o, it->second);
        }
    }
}

} // namespace

int flagInteger(const std::string &name, const std::string &text)
{
    try {
        std::size_t used = 0;
        const int v = std::stoi(text, &used);
        if (used == text.size())
            return v;
    } catch (const std::exception &) { }
    usage("--" + name + " needs an integer, got '" + text + "'");
}

int flagInteger(const std::string &name, const std::string &text, IntRange range)
{
    const int v = flagInteger(name, text);
    if (v < range.min)
        usage("--" + name + " must be at least " + std::to_string(range.min));
    if (v > range.max)
        usage("--" + name + " must be at most " + std::to_string(range.max) + ", got " + text);
    return v;
}

double flagNumber(const std::string &name, const std::string &text)
{
    try {
        std::size_t used = 0;
        const double v = std::stod(text, &used);
        if (used == text.size() && !std::isfinite(v))
            usage("--" + name + " must be a finite number, got '" + text + "'");
        if (used == text.size())
            return v;
    } catch (const std::invalid_argument &) {
    } catch (const std::out_of_range &) { }
    usage("--" + name + " needs a number, got '" + text + "'");
}

const std::vector<TrainFlag> &trainFlags()
{
    static const std::vector<TrainFlag> rows = [] {
        std::vector<TrainFlag> all = methodRows();
        for (auto group : { knobRows(), optionRows() })
            all.insert(all.end(), group.begin(), group.end());
        return all;
    }();
    return rows;
}

TrainFlagNames trainFlagNames(std::initializer_list<TrainFlag::Group> groups)
{
    TrainFlagNames names;
    for (const TrainFlag &f : trainFlags()) {
        if (std::find(groups.begin(), groups.end(), f.group) != groups.end())
            (f.takesValue ? names.values : names.switches).insert(f.name);
    }
    return names;
}

TrainOptions trainOptionsFromFlags(const FlagValues &flags)
{
    TrainOptions o;
    apply(o, flags, Group::Options);
    // auto: bf16 on GPUs with native bf16, else fp32; options.json records the result.
    if (const auto it = flags.find("precision"); it == flags.end() || it->second == "auto")
        o.precision = defaultTrainingPrecision(resolveDevice(o.device));
    return o;
}

PeftConfig peftFromFlags(const FlagValues &flags, PeftMethod method)
{
    TrainOptions o;
    if (const auto it = flags.find("block"); it != flags.end())
        row("block").read(o, it->second);
    o.peft = paperSetting(method, o.peft.adapter.block);
    apply(o, flags, Group::Knob);
    if (o.peft.prefixTokens % 2)
        usage("--prefix-tokens must be even (key plus value tokens)");
    return o.peft;
}

std::vector<std::pair<std::string, std::string>> flagsOf(const TrainOptions &options)
{
    std::vector<std::pair<std::string, std::string>> out;
    for (const TrainFlag &f : trainFlags()) {
        if (const Text value = f.write(options))
            out.emplace_back(f.name, *value);
    }
    return out;
}

std::string shellQuote(const std::string &text)
{
    if (!text.empty() && text.find_first_of(" \t\n'\"\\$`*?;&|<>()#~") == std::string::npos)
        return text;
    std::string out = "'";
    for (char c : text)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string trainCommandLine(const TrainOptions &options)
{
    std::ostringstream line;
    line << "astpeft train";
    for (const auto &[name, value] : flagsOf(options)) {
        line << " --" << name;
        if (row(name).takesValue)
            line << ' ' << shellQuote(value);
    }
    return line.str();
}

} // namespace astpeft::core
