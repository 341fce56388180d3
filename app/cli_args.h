// SPDX-License-Identifier: MIT
// The CLI's argument handling, shared by its command files: "--name value" / "--flag" parsing,
// the command table entry, and the PEFT knobs that `params`, `train` and `compare` share.
#pragma once

#include "enum_names.h"
#include "error.h"
#include "peft/peft_config.h"
#include "train/train_flags.h"

#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace astpeft::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInput = 1; // input error: one line on stderr naming the file
inline constexpr int kExitUsage = 2;
inline constexpr int kExitCancelled = 130; // Ctrl-C ended a training or comparison (as shells)

// A command-line mistake: printed with the command's synopsis, exit status 2.
struct UsageError : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

// Runs f(); a core::Error(Usage) about an option ("--name ...") becomes a UsageError, printed
// with the command's synopsis.
template<typename F> auto asUsage(F &&f)
{
    try {
        return f();
    } catch (const core::Error &e) {
        if (e.kind() == core::ErrorKind::Usage && e.reason().rfind("--", 0) == 0)
            throw UsageError(e.reason());
        throw;
    }
}

// Parsed "--name value" / "--flag" options and positional arguments of one command.
struct Args
{
    std::vector<std::string> positional;
    std::map<std::string, std::string> values;
    std::set<std::string> flags;

    bool has(const std::string &name) const { return values.count(name) || flags.count(name); }
    std::string value(const std::string &name, const std::string &fallback = {}) const;
    int intValue(const std::string &name, int fallback) const;
    // The same within `range` (core::flagInteger's one-line usage errors).
    int intValue(const std::string &name, int fallback, core::IntRange range) const;
    double doubleValue(const std::string &name, double fallback) const;
    // Every option given, for core's flag table: name -> value ("" for a flag).
    core::FlagValues flagValues() const;
};

struct Command
{
    std::string name;
    std::string synopsis;
    std::string help;
    std::set<std::string> valueOptions; // take a value
    std::set<std::string> flagOptions; // take none
    std::function<int(const Args &)> run;
};

Args parseArgs(const Command &cmd, int argc, char **argv, int first);
std::vector<std::string> splitList(const std::string &text);
std::set<std::string> withOptions(
    std::set<std::string> options, std::initializer_list<std::string> more);
int positiveInt(const Args &args, const std::string &name, int fallback);

// The enum named by option `name`, or `fallback` when it is absent; a bad name is a usage error.
template<typename E> E pick(const Args &args, const std::string &name, E fallback)
{
    if (!args.has(name))
        return fallback;
    try {
        return core::parseEnum<E>(args.value(name));
    } catch (const core::Error &e) { // "<what> must be one of ...": say which option
        throw UsageError("--" + name + e.reason().substr(e.reason().find(" must be")));
    }
}

// Knob options shared by `params`, `train` and `compare`.
extern const std::set<std::string> kKnobValues;
extern const std::set<std::string> kKnobFlags;
// The method from --method (or `method` when given), at the paper's setting, with the knobs
// given on the command line.
core::PeftConfig peftFromArgs(const Args &args);
core::PeftConfig peftFromArgs(const Args &args, core::PeftMethod method);

// The commands of cli_train.cpp: train, eval, compare.
std::vector<Command> trainingCommands();
// The commands of cli_listen.cpp: listen, timeline.
std::vector<Command> listenCommands();
// The command of cli_download.cpp: download.
std::vector<Command> downloadCommands();

} // namespace astpeft::cli
