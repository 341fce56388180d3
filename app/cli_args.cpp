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
    return it == values.end() ? fallback
                              : asUsage([&] { return core::flagInteger(name, it->second); });
}

int Args::intValue(const std::string &name, int fallback, core::IntRange range) const
{
    const auto it = values.find(name);
    return it == values.end() ? fallback
                              : asUsage([&] { return core::flagInteger(name, it->second, range); });
}

double Args::doubleValue(const std::string &name, double fallback) const
{
    const auto it = values.find(name);
    return it == values.end() ? fallback
                              : asUsage([&] { return core::flagNumber(name, it->second); });
}

core::FlagValues Args::flagValues() const
{
    core::FlagValues out = values;
    for (const std::string &f : flags)
        out.emplace(f, std::string());
    return out;
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
                if (inlineValue) {
                    args.values[name] = *inlineValue;
                } else if (i + 1 < argc) {
                    args.values[name] = argv[++i];
                } else {
                    throw UsageError("--" + name + " needs a value");
                }
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

namespace {

std::set<std::string> knobNames(bool values)
{
    const core::TrainFlagNames names =
        core::trainFlagNames({ core::TrainFlag::Group::Method, core::TrainFlag::Group::Knob });
    std::set<std::string> out = values ? names.values : names.switches;
    if (values)
        out.insert("budget"); // `params` sizes the method with it too
    return out;
}

} // namespace

const std::set<std::string> kKnobValues = knobNames(true);
const std::set<std::string> kKnobFlags = knobNames(false);

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
    return asUsage([&] { return core::peftFromFlags(args.flagValues(), method); });
}

} // namespace astpeft::cli
