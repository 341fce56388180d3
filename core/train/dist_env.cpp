// SPDX-License-Identifier: MIT
#include "train/dist_env.h"

#include "error.h"
#include "human_format.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <limits>

namespace astpeft::core {

namespace {

constexpr int kMaxPort = 65535;
// Derived rendezvous ports (SLURM without MASTER_PORT): kSlurmPortBase .. +kSlurmPortSpan-1,
// above the usual service ports and below Linux's ephemeral range (32768..60999) for most of it.
constexpr long long kSlurmPortBase = 20000;
constexpr long long kSlurmPortSpan = 20000;

Error usage(const std::string &variable, const std::string &problem)
{
    return Error(ErrorKind::Usage, variable + ": " + problem);
}

std::string quoted(const std::string &text)
{
    return "'" + printable(text) + "'";
}

// The environment as `get` gives it, an empty value read as not set.
class Variables
{
public:
    explicit Variables(const EnvGetter &get)
        : m_get(get)
    { }

    std::optional<std::string> text(const std::string &name) const
    {
        std::optional<std::string> value = m_get(name);
        if (value && value->empty())
            value.reset();
        return value;
    }
    bool has(const std::string &name) const { return text(name).has_value(); }

    // A decimal integer within [min, max]; nothing when not set.
    std::optional<long long> integer(const std::string &name, long long min, long long max) const
    {
        const std::optional<std::string> value = text(name);
        if (!value)
            return std::nullopt;
        long long n = 0;
        const char *end = value->data() + value->size();
        const auto [stop, error] = std::from_chars(value->data(), end, n);
        if (error == std::errc::result_out_of_range)
            throw usage(name, "must be at most " + std::to_string(max) + ", got " + quoted(*value));
        if (error != std::errc() || stop != end)
            throw usage(name, "needs an integer, got " + quoted(*value));
        if (n < min)
            throw usage(name, "must be at least " + std::to_string(min) + ", got " + *value);
        if (n > max)
            throw usage(name, "must be at most " + std::to_string(max) + ", got " + *value);
        return n;
    }
    std::optional<int> count(const std::string &name, int min, int max) const
    {
        const std::optional<long long> n = integer(name, min, max);
        return n ? std::optional<int>(int(*n)) : std::nullopt;
    }
    int required(const std::string &name, int min, int max, const std::string &because) const
    {
        const std::optional<int> n = count(name, min, max);
        if (!n)
            throw usage(name, "not set, but " + because);
        return *n;
    }

private:
    const EnvGetter &m_get;
};

// A host name or address: printable, no blanks, at most a DNS name's length.
std::string hostName(const std::string &variable, const std::string &text)
{
    bool plain = text.size() <= 253;
    for (const char c : text) {
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
            plain = false;
    }
    if (!plain)
        throw usage(variable, "not a host name or address: " + quoted(text));
    return text;
}

// RANK < WORLD_SIZE, LOCAL_RANK < LOCAL_WORLD_SIZE <= WORLD_SIZE, with the variables' names.
void checkRanks(const DistEnv &env, const std::string &rank, const std::string &world,
    const std::string &localRank, const std::string &localWorld)
{
    if (env.rank >= env.worldSize) {
        throw usage(rank,
            "must be below " + world + " (" + std::to_string(env.worldSize) + "), got "
                + std::to_string(env.rank));
    }
    if (env.localWorldSize > env.worldSize) {
        throw usage(localWorld,
            "must be at most " + world + " (" + std::to_string(env.worldSize) + "), got "
                + std::to_string(env.localWorldSize));
    }
    if (env.localRank >= env.localWorldSize) {
        throw usage(localRank,
            "must be below " + localWorld + " (" + std::to_string(env.localWorldSize) + "), got "
                + std::to_string(env.localRank));
    }
}

std::optional<int> masterPort(const Variables &vars)
{
    return vars.count("MASTER_PORT", 1, kMaxPort);
}

DistEnv fromTorchrun(const Variables &vars)
{
    DistEnv env;
    const std::optional<int> world = vars.count("WORLD_SIZE", 1, kMaxWorldSize);
    if (!world) {
        const char *given = vars.has("RANK") ? "RANK"
            : vars.has("LOCAL_RANK")         ? "LOCAL_RANK"
                                             : "LOCAL_WORLD_SIZE";
        throw usage("WORLD_SIZE", std::string("not set, but ") + given + " is");
    }
    env.worldSize = *world;
    const std::optional<int> rank = vars.count("RANK", 0, kMaxWorldSize - 1);
    if (!rank && env.worldSize > 1)
        throw usage("RANK", "not set, but WORLD_SIZE is " + std::to_string(env.worldSize));
    env.rank = rank.value_or(0);
    const std::optional<int> localWorld = vars.count("LOCAL_WORLD_SIZE", 1, kMaxWorldSize);
    const std::optional<int> localRank = vars.count("LOCAL_RANK", 0, kMaxWorldSize - 1);
    if (localWorld && !localRank)
        throw usage("LOCAL_RANK", "not set, but LOCAL_WORLD_SIZE is");
    // Neither: one machine, as a plain shell loop on it sets only RANK and WORLD_SIZE.
    env.localRank = localRank.value_or(env.rank);
    env.localWorldSize = localWorld.value_or(env.worldSize);
    checkRanks(env, "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE");
    const std::optional<std::string> addr = vars.text("MASTER_ADDR");
    const std::optional<int> port = masterPort(vars);
    if (!env.distributed())
        return {};
    const std::string because = "WORLD_SIZE is " + std::to_string(env.worldSize);
    if (!addr)
        throw usage("MASTER_ADDR", "not set, but " + because);
    if (!port)
        throw usage("MASTER_PORT", "not set, but " + because);
    env.masterAddr = hostName("MASTER_ADDR", *addr);
    env.masterPort = *port;
    env.launcher = "torchrun";
    return env;
}

// SLURM_TASKS_PER_NODE's entry for node `node`: the list reads "2(x3),1" (two tasks on each of
// three nodes, then one).
int tasksOnNode(const std::string &list, int node)
{
    const auto bad = [&] {
        return usage(
            "SLURM_TASKS_PER_NODE", "needs task counts such as 2(x3),1, got " + quoted(list));
    };
    const auto number = [&](std::size_t &pos) {
        long long n = 0;
        const char *begin = list.data() + pos;
        const auto [stop, error] = std::from_chars(begin, list.data() + list.size(), n);
        if (error != std::errc() || n < 1 || n > kMaxWorldSize)
            throw bad();
        pos += std::size_t(stop - begin);
        return int(n);
    };
    std::size_t pos = 0;
    long long firstNode = 0; // of the current entry
    while (true) {
        const int tasks = number(pos);
        long long nodes = 1;
        if (list.compare(pos, 2, "(x") == 0) {
            pos += 2;
            nodes = number(pos);
            if (pos >= list.size() || list[pos] != ')')
                throw bad();
            ++pos;
        }
        if (node < firstNode + nodes)
            return tasks;
        firstNode += nodes;
        if (pos == list.size())
            break;
        if (list[pos] != ',')
            throw bad();
        ++pos;
    }
    throw usage("SLURM_TASKS_PER_NODE",
        quoted(list) + " has no entry for SLURM_NODEID " + std::to_string(node));
}

DistEnv fromSlurm(const Variables &vars)
{
    DistEnv env;
    const std::string inStep = "SLURM_STEP_ID is (an srun job step)";
    env.rank = vars.required("SLURM_PROCID", 0, kMaxWorldSize - 1, inStep);
    env.worldSize = vars.required("SLURM_NTASKS", 1, kMaxWorldSize, inStep);
    env.localRank = vars.required("SLURM_LOCALID", 0, kMaxWorldSize - 1, inStep);
    std::string localWorldName = "SLURM_NTASKS_PER_NODE";
    if (const std::optional<int> perNode = vars.count(localWorldName, 1, kMaxWorldSize)) {
        env.localWorldSize = *perNode;
    } else if (const std::optional<std::string> list = vars.text("SLURM_TASKS_PER_NODE")) {
        localWorldName = "SLURM_TASKS_PER_NODE";
        env.localWorldSize =
            tasksOnNode(*list, vars.count("SLURM_NODEID", 0, kMaxWorldSize - 1).value_or(0));
    } else {
        throw usage("SLURM_TASKS_PER_NODE", "not set, but " + inStep);
    }
    checkRanks(env, "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", localWorldName);
    const std::optional<std::string> addr = vars.text("MASTER_ADDR");
    const std::optional<int> port = masterPort(vars);
    if (!env.distributed())
        return {};
    if (addr) {
        env.masterAddr = hostName("MASTER_ADDR", *addr);
    } else {
        std::string listName;
        for (const char *name : { "SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST" }) {
            if (vars.has(name)) {
                listName = name;
                break;
            }
        }
        if (listName.empty())
            throw usage("SLURM_JOB_NODELIST", "not set, and MASTER_ADDR is not set either");
        try {
            env.masterAddr = firstSlurmHost(*vars.text(listName));
        } catch (const Error &e) {
            throw usage(listName, e.reason());
        }
    }
    if (port) {
        env.masterPort = *port;
    } else {
        // Every task computes the same port from the job's id, with no exchange.
        const std::string jobName = vars.has("SLURM_JOB_ID") ? "SLURM_JOB_ID" : "SLURM_JOBID";
        const std::optional<long long> job =
            vars.integer(jobName, 0, std::numeric_limits<long long>::max());
        if (!job)
            throw usage("MASTER_PORT", "not set, and no SLURM_JOB_ID to derive it from");
        env.masterPort = int(kSlurmPortBase + *job % kSlurmPortSpan);
    }
    env.launcher = "slurm";
    return env;
}

} // namespace

DistEnv readDistEnv(const EnvGetter &get)
{
    const Variables vars(get);
    for (const char *name : { "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE" }) {
        if (vars.has(name))
            return fromTorchrun(vars);
    }
    if (vars.has("SLURM_STEP_ID"))
        return fromSlurm(vars);
    // A lone MASTER_PORT is still checked: it was meant for a training.
    masterPort(vars);
    return {};
}

DistEnv readDistEnv()
{
    return readDistEnv([](const std::string &name) -> std::optional<std::string> {
        const char *value = std::getenv(name.c_str());
        return value ? std::optional<std::string>(value) : std::nullopt;
    });
}

std::string firstSlurmHost(const std::string &nodelist)
{
    const auto bad = [&](const std::string &problem) {
        return Error(ErrorKind::Usage, problem + " in node list " + quoted(nodelist));
    };
    if (nodelist.empty())
        throw Error(ErrorKind::Usage, "empty node list");
    std::string first;
    bool inFirst = true;
    bool hostHasText = false; // the current host has a name part or a bracket
    std::size_t pos = 0;
    while (pos < nodelist.size()) {
        const char c = nodelist[pos];
        if (c == ',') {
            if (!hostHasText)
                throw bad("an empty host name");
            inFirst = false;
            hostHasText = false;
            ++pos;
        } else if (c == ']') {
            throw bad("an unmatched ']'");
        } else if (c == '[') {
            const std::size_t close = nodelist.find(']', pos);
            if (close == std::string::npos)
                throw bad("an unclosed '['");
            const std::string ranges = nodelist.substr(pos + 1, close - pos - 1);
            if (ranges.find('[') != std::string::npos)
                throw bad("a '[' inside brackets");
            // "01-04,07": ranges or single numbers; the first one's low end starts the host.
            std::size_t start = 0;
            bool firstRange = true;
            while (true) {
                const std::size_t comma = std::min(ranges.find(',', start), ranges.size());
                const std::string range = ranges.substr(start, comma - start);
                const std::size_t dash = range.find('-');
                const std::string low = range.substr(0, dash);
                const std::string high = dash == std::string::npos ? low : range.substr(dash + 1);
                const auto digits = [](const std::string &s) {
                    return !s.empty() && s.size() <= 18
                        && s.find_first_not_of("0123456789") == std::string::npos;
                };
                if (!digits(low) || !digits(high) || std::stoll(low) > std::stoll(high))
                    throw bad("a bad range '" + printable(range) + "'");
                if (inFirst && firstRange)
                    first += low;
                firstRange = false;
                if (comma == ranges.size())
                    break;
                start = comma + 1;
            }
            hostHasText = true;
            pos = close + 1;
        } else {
            if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
                throw bad("a blank or control character");
            if (inFirst)
                first += c;
            hostHasText = true;
            ++pos;
        }
    }
    if (!hostHasText)
        throw bad("an empty host name");
    return first;
}

} // namespace astpeft::core
