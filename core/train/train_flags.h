// SPDX-License-Identifier: MIT
// The command-line spelling of TrainOptions, in one table: a row per flag that reads its value
// into the options and writes it back out. `astpeft train` and `astpeft compare` parse with it;
// the studio prints the command that repeats one of its runs with it (command.txt). A new
// training option gets one row here and is then parsed, printed and listed in the same way.
// Torch-free.
#pragma once

#include "peft/peft_config.h"
#include "train/trainer.h"

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace astpeft::core {

struct TrainFlag
{
    enum class Group {
        Options, // TrainOptions outside the method
        Method, // --method and --block: which paperSetting() the knobs start from
        Knob, // the method's knobs (PeftConfig), on top of the paper setting
    };
    std::string name; // without "--"
    bool takesValue = true; // false: a switch, given without a value
    Group group = Group::Options;
    // Reads the flag's value (a switch: "") into the options. Throws core::Error(Usage) with a
    // message that starts with "--name".
    std::function<void(TrainOptions &, const std::string &)> read;
    // The value that reproduces the options (a switch that is on: ""), or nothing when the
    // options hold the default (the flag is left out).
    std::function<std::optional<std::string>(const TrainOptions &)> write;
};

// Every row, in the order a printed command lists them.
const std::vector<TrainFlag> &trainFlags();
// The names of the rows in `groups`, split into flags that take a value and switches.
struct TrainFlagNames
{
    std::set<std::string> values, switches;
};
TrainFlagNames trainFlagNames(std::initializer_list<TrainFlag::Group> groups);

// name -> value ("" for a switch) of the flags given; names outside the table are ignored.
using FlagValues = std::map<std::string, std::string>;

// The options from the Options rows, defaults elsewhere; --precision auto (or absent) resolved
// for the device. The method is left at its default: see peftFromFlags(). Throws
// core::Error(Usage) for a bad value.
TrainOptions trainOptionsFromFlags(const FlagValues &flags);
// The method's paper setting (for --block when given) with the Knob rows' values on top.
// Throws core::Error(Usage) for a bad value.
PeftConfig peftFromFlags(const FlagValues &flags, PeftMethod method);

// The flags that reproduce `options`, in table order: the method, then every option that
// differs from its default (the seed always).
std::vector<std::pair<std::string, std::string>> flagsOf(const TrainOptions &options);
// "astpeft train --model ... --out ...", values quoted for a POSIX shell where needed.
std::string trainCommandLine(const TrainOptions &options);
// `text` quoted for a POSIX shell when it needs quoting.
std::string shellQuote(const std::string &text);

// The ranges of the integer options, shared by the flags, options.json and the studio's fields
// (the knobs' are in peft_config.h). Sizes the backbone fixes are checked against it later.
inline constexpr IntRange kEpochsRange { 1, 100000 };
inline constexpr IntRange kBatchSizeRange { 1, 4096 };
inline constexpr IntRange kAccumulationRange { 1, 1024 };
inline constexpr IntRange kWarmupRange { 0, 10000000 };
inline constexpr IntRange kPatienceRange { 0, 10000 };
inline constexpr IntRange kMaxLengthRange { 0, kMaxInputFrames }; // 0: automatic (or every frame)
inline constexpr IntRange kChannelRange { -1, 1023 }; // -1: the average of all channels
inline constexpr IntRange kFreqMaskRange { 0, kMaxMelBins };
inline constexpr IntRange kTimeMaskRange { 0, kMaxInputFrames };

// The checks every numeric flag shares; throw core::Error(Usage) naming --name.
int flagInteger(const std::string &name, const std::string &text);
// The same within `range`: "--name must be at least MIN" or "--name must be at most MAX".
int flagInteger(const std::string &name, const std::string &text, IntRange range);
// A finite number.
double flagNumber(const std::string &name, const std::string &text);

} // namespace astpeft::core
