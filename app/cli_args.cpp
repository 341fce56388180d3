// SPDX-License-Identifier: MIT
#include "cli_args.h"

#include <algorithm>
#include <optional>

namespace astpeft::cli {

std::string Args::value(const std::string &name, const std::string &fallback) const
{
    const auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
}

int Args::intValue(const std::string &name, int fallback) const
{
    const auto it = values.find(name);
    if (it == values.end())
        return fallback;
    try {
        std::size_t used = 0;
        const int v = std::stoi(it->second, &used);
        if (used == it->second.size())
            return v;
    } catch (const std::exception &) { }
    throw UsageError("--" + name + " needs an integer, got '" + it->second + "'");
}

double Args::doubleValue(const std::string &name, double fallback) const
{
    const auto it = values.find(name);
    if (it == values.end())
        return fallback;
    try {
        std::size_t used = 0;
        const double v = std::stod(it->second, &used);
        if (used == it->second.size())
            return v;
    } catch (const std::exception &) { }
    throw UsageError("--" + name + " needs a number, got '" + it->second + "'");
}

Args parseArgs(const Command &cmd, int argc, char **argv, int first)
{
    Args args;
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) == 0 && a.size() > 2) {
            std::string name = a.substr(2);
            std::optional<std::string> inlineValue;
            if (const auto eq = name.find('='); eq != std::string::npos) {
                inlineValue = name.substr(eq + 1);
                name = name.substr(0, eq);
            }
            if (cmd.valueOptions.count(name)) {
                if (inlineValue)
                    args.values[name] = *inlineValue;
                else if (i + 1 < argc)
                    args.values[name] = argv[++i];
                else
                    throw UsageError("--" + name + " needs a value");
            } else if (cmd.flagOptions.count(name) && !inlineValue) {
                args.flags.insert(name);
            } else {
                throw UsageError("unknown option --" + name + " for '" + cmd.name + "'");
            }
        } else {
            args.positional.push_back(a);
        }
    }
    return args;
}

std::vector<std::string> splitList(const std::string &text)
{
    std::vector<std::string> out;
    std::string cur;
    for (char c : text) {
        if (c == ',') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    if (!cur.empty() || !out.empty())
        out.push_back(cur);
    return out;
}

const std::set<std::string> kKnobValues = { "method", "rank", "alpha", "targets", "block",
    "placement", "mode", "bottleneck", "kernel", "prompts", "prefix-tokens", "activation", "init",
    "budget" };
const std::set<std::string> kKnobFlags = { "residual", "paper-scaling", "official-ln-bug" };

std::set<std::string> withOptions(
    std::set<std::string> options, std::initializer_list<std::string> more)
{
    options.insert(more);
    return options;
}

int positiveInt(const Args &args, const std::string &name, int fallback)
{
    const int v = args.intValue(name, fallback);
    if (v < 1)
        throw UsageError("--" + name + " must be at least 1");
    return v;
}

core::PeftConfig peftFromArgs(const Args &args)
{
    if (!args.has("method"))
        throw UsageError("--method is required (astpeft methods lists them)");
    return peftFromArgs(args, core::parseMethod(args.value("method")));
}

core::PeftConfig peftFromArgs(const Args &args, core::PeftMethod method)
{
    const auto block = pick(args, "block", core::AdapterBlock::Conformer);
    core::PeftConfig p = core::paperSetting(method, block);
    p.lora.rank = positiveInt(args, "rank", p.lora.rank);
    if (args.has("alpha")) {
        try {
            p.lora.alpha = std::stod(args.value("alpha"));
        } catch (const std::exception &) {
            throw UsageError("--alpha needs a number");
        }
    }
    if (args.has("targets")) {
        p.lora.targets.clear();
        for (const std::string &t : splitList(args.value("targets"))) {
            if (t.size() != 1 || std::string("qkvo").find(t[0]) == std::string::npos
                || std::find(p.lora.targets.begin(), p.lora.targets.end(), t[0])
                    != p.lora.targets.end())
                throw UsageError("--targets takes distinct letters from q, k, v, o, e.g. q,v");
            p.lora.targets.push_back(t[0]);
        }
        if (p.lora.targets.empty())
            throw UsageError("--targets needs at least one of q, k, v, o");
    }
    p.lora.paperScaling = args.has("paper-scaling");
    p.adapter.placement = pick(args, "placement", p.adapter.placement);
    p.adapter.mode = pick(args, "mode", p.adapter.mode);
    p.adapter.activation = pick(args, "activation", p.adapter.activation);
    p.adapter.residual = args.has("residual");
    p.adapter.officialLayerNormBug = args.has("official-ln-bug");
    p.adapter.bottleneck = positiveInt(args, "bottleneck", p.adapter.bottleneck);
    p.adapter.kernel = positiveInt(args, "kernel", p.adapter.kernel);
    p.prompts = positiveInt(args, "prompts", p.prompts);
    p.prefixTokens = positiveInt(args, "prefix-tokens", p.prefixTokens);
    if (p.prefixTokens % 2)
        throw UsageError("--prefix-tokens must be even (key plus value tokens)");
    p.init = pick(args, "init", p.init);
    return p;
}

} // namespace astpeft::cli
