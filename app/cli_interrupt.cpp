// SPDX-License-Identifier: MIT
#include "cli_interrupt.h"

#include <atomic>
#include <chrono>
#include <csignal>

namespace astpeft::cli {

namespace {

std::atomic<bool> g_interrupted { false };

extern "C" void onInterrupt(int)
{
    g_interrupted = true;
}

} // namespace

StopOnInterrupt::StopOnInterrupt()
{
    g_interrupted = false;
    m_previousInt = std::signal(SIGINT, onInterrupt);
    m_previousTerm = std::signal(SIGTERM, onInterrupt);
    m_watcher = std::jthread([this](std::stop_token done) {
        while (!done.stop_requested()) {
            if (g_interrupted.exchange(false)) {
                m_source.request_stop();
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    });
}

StopOnInterrupt::~StopOnInterrupt()
{
    m_watcher.request_stop();
    m_watcher.join();
    std::signal(SIGINT, m_previousInt);
    std::signal(SIGTERM, m_previousTerm);
}

} // namespace astpeft::cli
