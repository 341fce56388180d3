// SPDX-License-Identifier: MIT
#include "train/local_launch.h"

#include "error.h"

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>
#include <thread>

extern char **environ; // NOLINT(readability-identifier-naming): POSIX's name

namespace astpeft::core {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::duration;

constexpr int kStatusStopped = 130; // a worker (and the launch) that ended resumable on a stop
constexpr duration<double> kKillAfterTerm { 5.0 };
constexpr std::chrono::milliseconds kPoll { 10 };

// The file descriptor pair of a pipe, closed on destruction.
struct Pipe
{
    int fds[2] = { -1, -1 };
    Pipe() = default;
    Pipe(const Pipe &) = delete;
    Pipe &operator=(const Pipe &) = delete;
    ~Pipe()
    {
        for (const int fd : fds) {
            if (fd >= 0)
                ::close(fd);
        }
    }
    void closeEnd(int end)
    {
        ::close(fds[end]);
        fds[end] = -1;
    }
};

struct Worker
{
    int rank = 0;
    pid_t pid = -1;
    bool running = false;
};

// One worker's environment: this process's, with the launch's variables replaced.
std::vector<std::string> workerEnvironment(
    const std::vector<std::pair<std::string, std::string>> &set)
{
    std::set<std::string> names;
    for (const auto &[name, value] : set)
        names.insert(name);
    std::vector<std::string> env;
    for (char **e = environ; e && *e; ++e) {
        const std::string entry = *e;
        if (!names.count(entry.substr(0, entry.find('='))))
            env.push_back(entry);
    }
    for (const auto &[name, value] : set)
        env.push_back(name + "=" + value);
    return env;
}

std::vector<char *> pointers(std::vector<std::string> &strings)
{
    std::vector<char *> out;
    for (std::string &s : strings)
        out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

// In the child between fork and exec: async-signal-safe calls only (the parent may have other
// threads, whose locks the child inherits held). Reports a failed exec's errno on `errorPipe`.
[[noreturn]] void execWorker(
    const char *program, char *const *argv, char *const *envp, int errorPipe, pid_t parent)
{
    // Its own process group: a terminal's Ctrl-C reaches the launcher only, which forwards it
    // once. SIGTERM should the launcher die, so that no worker outlives it waiting on a peer.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent)
        ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // No descriptor beyond 0-2 crosses the exec (the error pipe is close-on-exec already).
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        const long max = ::sysconf(_SC_OPEN_MAX);
        for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); ++fd) {
            if (fd != errorPipe)
                ::fcntl(int(fd), F_SETFD, FD_CLOEXEC);
        }
    }
    ::execve(program, argv, envp);
    const int error = errno;
    [[maybe_unused]] const ssize_t written = ::write(errorPipe, &error, sizeof error);
    ::_exit(127);
}

struct Started
{
    pid_t pid = -1; // -1: not started
    int error = 0; // then the errno of the failed pipe, fork or exec
};

// Starts one worker and returns once its exec succeeded or failed.
Started startWorker(
    const std::string &program, std::vector<std::string> argv, std::vector<std::string> env)
{
    std::vector<char *> args = pointers(argv);
    std::vector<char *> envp = pointers(env);
    Pipe errors;
    if (::pipe2(errors.fds, O_CLOEXEC) != 0)
        return { -1, errno };
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0)
        return { -1, errno };
    if (pid == 0)
        execWorker(program.c_str(), args.data(), envp.data(), errors.fds[1], parent);
    ::setpgid(pid, pid); // as the child does: whichever runs first
    errors.closeEnd(1);
    int error = 0;
    ssize_t got = -1;
    do {
        got = ::read(errors.fds[0], &error, sizeof error);
    } while (got < 0 && errno == EINTR);
    if (got == ssize_t(sizeof error)) { // the exec failed; the child has exited
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) { }
        return { -1, error };
    }
    return { pid, 0 }; // end of file: the exec closed the pipe
}

class WorkerGroup
{
public:
    WorkerGroup(const LocalLaunch &launch, std::function<void(const std::string &)> report)
        : m_launch(launch)
        , m_report(std::move(report))
    { }

    void add(int rank, pid_t pid) { m_workers.push_back({ rank, pid, true }); }

    // Waits until every worker has ended; returns the launch's exit status.
    int wait(std::stop_token stop)
    {
        while (running() > 0) {
            if (stop.stop_requested() && !m_stopped) {
                m_stopped = true;
                signalRunning(SIGINT);
                startGrace();
            }
            reap();
            escalate();
            if (running() > 0)
                std::this_thread::sleep_for(kPoll);
        }
        if (m_stopped)
            return kStatusStopped;
        return m_firstFailure.value_or(0);
    }

    // Stops every worker at once (SIGTERM, SIGKILL 5 s later) and waits for them, reporting
    // nothing: the reason was reported.
    void terminate()
    {
        m_quiet = true;
        m_graceFrom = Clock::now() - std::chrono::duration_cast<Clock::duration>(grace());
        wait({});
    }

private:
    duration<double> grace() const
    {
        return duration<double>(std::max(0.0, m_launch.graceSeconds));
    }

    int running() const
    {
        int n = 0;
        for (const Worker &w : m_workers)
            n += w.running ? 1 : 0;
        return n;
    }

    // To the worker's process group: what it started goes too (a shell's children).
    void signalRunning(int signal)
    {
        for (const Worker &w : m_workers) {
            if (w.running && ::kill(-w.pid, signal) != 0)
                ::kill(w.pid, signal);
        }
    }

    void startGrace()
    {
        if (!m_graceFrom)
            m_graceFrom = Clock::now();
    }

    void reap()
    {
        for (Worker &w : m_workers) {
            if (!w.running)
                continue;
            int status = 0;
            const pid_t got = ::waitpid(w.pid, &status, WNOHANG);
            if (got == 0 || (got < 0 && errno == EINTR))
                continue;
            w.running = false;
            if (m_quiet)
                continue;
            const std::string who = "astpeft: worker rank " + std::to_string(w.rank) + " (pid "
                + std::to_string(w.pid) + ")";
            int exitStatus = 1;
            if (got < 0) { // reaped elsewhere (SIGCHLD ignored): the status is lost
                m_report(who + " ended with an unknown status");
            } else if (WIFSIGNALED(status)) {
                m_report(who + " was killed by signal " + std::to_string(WTERMSIG(status)));
            } else {
                exitStatus = WEXITSTATUS(status);
                if (exitStatus == 0 || (m_stopped && exitStatus == kStatusStopped))
                    continue;
                m_report(who + " exited with status " + std::to_string(exitStatus));
            }
            if (!m_firstFailure)
                m_firstFailure = exitStatus;
            startGrace();
        }
    }

    // Grace over: SIGTERM to the workers left, SIGKILL kKillAfterTerm later.
    void escalate()
    {
        if (!m_graceFrom || running() == 0)
            return;
        const Clock::time_point now = Clock::now();
        if (!m_termAt && now - *m_graceFrom >= grace()) {
            m_termAt = now;
            signalRunning(SIGTERM);
        } else if (m_termAt && !m_killed && now - *m_termAt >= kKillAfterTerm) {
            m_killed = true;
            signalRunning(SIGKILL);
        }
    }

    const LocalLaunch &m_launch;
    std::function<void(const std::string &)> m_report;
    std::vector<Worker> m_workers;
    bool m_stopped = false;
    bool m_quiet = false;
    std::optional<int> m_firstFailure;
    std::optional<Clock::time_point> m_graceFrom; // the first failure or the stop
    std::optional<Clock::time_point> m_termAt;
    bool m_killed = false;
};

} // namespace

int launchLocalWorkers(const LocalLaunch &launch, std::stop_token stop)
{
    if (launch.nproc < 1 || launch.nproc > kMaxLocalWorkers) {
        throw Error(ErrorKind::Usage,
            "--nproc must be between 1 and " + std::to_string(kMaxLocalWorkers) + ", got "
                + std::to_string(launch.nproc));
    }
    if (launch.argv.empty())
        throw Error(ErrorKind::Usage, "no worker command to launch");
    const auto report = launch.report ? launch.report : [](const std::string &line) {
        std::fprintf(stderr, "%s\n", line.c_str());
        std::fflush(stderr);
    };
    const std::string program = launch.program.empty() ? launch.argv.front() : launch.program;
    const std::string port = std::to_string(freeLoopbackPort());
    const std::string world = std::to_string(launch.nproc);
    std::fflush(nullptr); // nothing buffered here is written twice by a child
    WorkerGroup group(launch, report);
    for (int rank = 0; rank < launch.nproc; ++rank) {
        std::vector<std::pair<std::string, std::string>> set = { { "MASTER_ADDR", "127.0.0.1" },
            { "MASTER_PORT", port }, { "RANK", std::to_string(rank) },
            { "LOCAL_RANK", std::to_string(rank) }, { "WORLD_SIZE", world },
            { "LOCAL_WORLD_SIZE", world } };
        if (launch.threadsPerWorker > 0) {
            set.emplace_back("OMP_NUM_THREADS", std::to_string(launch.threadsPerWorker));
            set.emplace_back("ASTPEFT_THREADS", std::to_string(launch.threadsPerWorker));
        }
        const Started started = startWorker(program, launch.argv, workerEnvironment(set));
        if (started.pid < 0) {
            report("astpeft: cannot start worker: " + program + ": " + errnoText(started.error));
            group.terminate();
            return 1;
        }
        group.add(rank, started.pid);
    }
    return group.wait(stop);
}

int freeLoopbackPort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw Error(ErrorKind::Io, "cannot open a socket for a free port: " + errnoText(errno));
    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0
        && ::getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length) == 0;
    const int error = errno;
    ::close(fd);
    if (!ok)
        throw Error(ErrorKind::Io, "cannot bind a free port on 127.0.0.1: " + errnoText(error));
    return ntohs(address.sin_port);
}

} // namespace astpeft::core
