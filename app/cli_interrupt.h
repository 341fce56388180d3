// SPDX-License-Identifier: MIT
// Ctrl-C for the CLI's long jobs, wired once: while a StopOnInterrupt lives, SIGINT (and
// SIGTERM, what `kill` and service managers send) requests a stop on its token (the handler only
// sets a flag; a watcher thread turns it into the stop request, since std::stop_source is not
// async-signal-safe). The previous handler comes back when it goes. A stopped job ends as after
// Ctrl-C: its run resumable, exit status 130. The core jobs poll the token: training within one
// step, listening within 200 ms, a download between two chunks.
#pragma once

#include <stop_token>
#include <thread>

namespace astpeft::cli {

class StopOnInterrupt
{
public:
    StopOnInterrupt();
    ~StopOnInterrupt();
    StopOnInterrupt(const StopOnInterrupt &) = delete;
    StopOnInterrupt &operator=(const StopOnInterrupt &) = delete;

    std::stop_token token() const { return m_source.get_token(); }
    bool interrupted() const { return m_source.stop_requested(); }

private:
    void (*m_previousInt)(int) = nullptr;
    void (*m_previousTerm)(int) = nullptr;
    std::stop_source m_source;
    std::jthread m_watcher;
};

} // namespace astpeft::cli
