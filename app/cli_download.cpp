// SPDX-License-Identifier: MIT
// `astpeft download`: fetches a checkpoint from the Hugging Face Hub (or a mirror: --endpoint or
// HF_ENDPOINT) through core::downloadFromHub, with a progress line on stderr. Ctrl-C stops it
// within about a second and keeps the partial file; the same command resumes it.
#include "cli_args.h"
#include "cli_interrupt.h"
#include "net/hub_download.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

#include <unistd.h>

namespace astpeft::cli {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double mb(std::int64_t bytes)
{
    return double(bytes) / 1e6;
}

// "505 B", "12.3 kB", "346.4 MB"
std::string size(std::int64_t bytes)
{
    char text[32];
    if (bytes < 1000) {
        std::snprintf(text, sizeof text, "%lld B", (long long)bytes);
    } else if (bytes < 1000000) {
        std::snprintf(text, sizeof text, "%.1f kB", double(bytes) / 1e3);
    } else {
        std::snprintf(text, sizeof text, "%.1f MB", mb(bytes));
    }
    return text;
}

// One line on stderr, rewritten in place on a terminal at most 10 times a second; elsewhere
// (a log, a test) one line when each file starts and one when it is complete.
class ProgressLine
{
public:
    ProgressLine()
        : m_tty(::isatty(STDERR_FILENO) == 1)
    { }

    void update(const core::DownloadProgress &p)
    {
        const bool newFile = p.file != m_file;
        const bool complete = p.total > 0 && p.done >= p.total;
        if (newFile) {
            finishLine();
            m_file = p.file;
            m_completeShown = false;
        }
        if (!m_tty) {
            if (newFile) {
                std::fprintf(stderr, "%s: %s of %s\n", p.file.c_str(), size(p.done).c_str(),
                    size(p.total).c_str());
            }
            if (complete && !m_completeShown) {
                std::fprintf(stderr, "%s: complete\n", p.file.c_str());
                m_completeShown = true;
            }
            return;
        }
        const auto now = Clock::now();
        if (!newFile && !complete && now - m_last < std::chrono::milliseconds(100))
            return;
        m_last = now;
        constexpr int kWidth = 24;
        const double share = p.total > 0 ? double(p.done) / double(p.total) : 0.0;
        const int filled = int(share * kWidth);
        char bar[kWidth + 1];
        for (int i = 0; i < kWidth; ++i)
            bar[i] = i < filled ? '#' : '.';
        bar[kWidth] = '\0';
        char rate[64] = "";
        if (p.bytesPerSecond > 0) {
            const int n = std::snprintf(rate, sizeof rate, "  %.1f MB/s", p.bytesPerSecond / 1e6);
            if (p.total > p.done) {
                const long seconds = long(double(p.total - p.done) / p.bytesPerSecond);
                std::snprintf(rate + n, sizeof rate - std::size_t(n), "  ETA %ld:%02ld",
                    seconds / 60, seconds % 60);
            }
        }
        std::fprintf(stderr, "\r%s [%s] %s / %s%s\033[K", p.file.c_str(), bar, size(p.done).c_str(),
            size(p.total).c_str(), rate);
        m_open = true;
        std::fflush(stderr);
    }

    void finishLine()
    {
        if (m_open)
            std::fprintf(stderr, "\n");
        m_open = false;
    }

private:
    bool m_tty = false;
    bool m_open = false; // a line without its newline is on the terminal
    bool m_completeShown = false;
    std::string m_file;
    Clock::time_point m_last {};
};

int cmdDownload(const Args &args)
{
    if (args.positional.size() != 1)
        throw UsageError("download needs one MODEL: ast-audioset or a repository id (owner/name)");
    const std::string name = args.positional[0];
    core::HubDownloadOptions o;
    if (const auto known = core::knownModel(name)) {
        o.repo = known->repo;
        o.revision = known->revision;
        o.files = known->files;
    } else if (name.find('/') != std::string::npos) {
        o.repo = name;
        o.files = { "config.json", "model.safetensors" };
    } else {
        throw UsageError("unknown model '" + name
            + "': give ast-audioset or a repository id such as "
              "MIT/ast-finetuned-audioset-10-10-0.4593");
    }
    if (args.has("revision"))
        o.revision = args.value("revision");
    // Checked before the first line on stderr, so that a usage error is one line.
    core::checkHubPath("repository id", o.repo);
    core::checkHubPath("revision", o.revision);
    o.endpoint = core::resolveHubEndpoint(args.value("endpoint"));
    o.timeoutSeconds = core::resolveHubTimeout();
    o.dest =
        args.has("out") ? std::filesystem::path(args.value("out")) : core::defaultModelDir(name);
    ProgressLine line;
    o.progress = [&line](const core::DownloadProgress &p) { line.update(p); };
    StopOnInterrupt interrupt;
    o.stop = interrupt.token();

    std::fprintf(stderr, "%s (%s) from %s into %s\n", o.repo.c_str(), o.revision.c_str(),
        o.endpoint.c_str(), o.dest.string().c_str());
    core::HubDownloadResult result;
    try {
        result = core::downloadFromHub(o);
    } catch (...) {
        line.finishLine();
        throw;
    }
    line.finishLine();
    if (result.cancelled) {
        std::fprintf(stderr,
            "astpeft: download interrupted; the partial file stays in %s, run the same command "
            "again to resume it\n",
            o.dest.string().c_str());
        return kExitCancelled;
    }
    if (result.offline) { // on stderr with the other notes; stdout keeps the result
        std::fprintf(stderr,
            "astpeft: %s could not be reached (%s); the files already in %s were not re-checked "
            "against it\n",
            result.endpoint.c_str(), result.offlineReason.c_str(), result.dir.string().c_str());
    }
    if (args.has("json")) {
        json files = json::array();
        for (const core::HubFileResult &f : result.files) {
            files.push_back({ { "name", f.name }, { "path", f.path.string() }, { "size", f.size },
                { "checksum", f.checksum }, { "downloaded", f.downloaded },
                { "resumed_from", f.resumedFrom } });
        }
        std::cout << json {
            { "dir", result.dir.string() }, { "repo", o.repo }, { "revision", o.revision },
            { "endpoint", result.endpoint }, { "commit", result.commit }, { "files", files },
            { "bytes_transferred", result.bytesTransferred }, { "offline", result.offline }
        }.dump() << '\n';
        return kExitOk;
    }
    for (const core::HubFileResult &f : result.files) {
        std::printf("%-20s %10s  %s%s\n", f.name.c_str(), size(f.size).c_str(), f.checksum.c_str(),
            f.downloaded         ? ""
                : result.offline ? "  (already there, not re-checked: endpoint unreachable)"
                                 : "  (already there, not downloaded again)");
    }
    const std::string commit =
        result.commit.empty() ? std::string() : " (commit " + result.commit.substr(0, 12) + ")";
    std::printf("%s%s is in %s\nUse it: astpeft info %s\n", o.repo.c_str(), commit.c_str(),
        result.dir.string().c_str(), result.dir.string().c_str());
    return kExitOk;
}

} // namespace

std::vector<Command> downloadCommands()
{
    return { { "download",
        "download ast-audioset|REPO_ID [--out DIR] [--endpoint URL] [--revision R] [--json]",
        "Downloads a checkpoint (config.json + model.safetensors) from the Hugging Face Hub.\n"
        "ast-audioset is MIT/ast-finetuned-audioset-10-10-0.4593, the AST the paper fine-tunes;\n"
        "REPO_ID names another repository with the same files. --out DIR (default:\n"
        "$XDG_DATA_HOME/astpeft/models/NAME, or ~/.local/share/astpeft/models/NAME).\n"
        "--endpoint URL downloads from a mirror (default: $HF_ENDPOINT, or\n"
        "https://huggingface.co); $HF_TOKEN is sent for gated or private repositories, to the\n"
        "endpoint's host only. A server that does not answer within $HF_HUB_DOWNLOAD_TIMEOUT\n"
        "seconds (default 30), or sends under 1 kB/s over that long, fails the download.\n"
        "Each file is checked against the server's sha256 (git blob id for small files) before\n"
        "it is put in place; an interrupted download (Ctrl-C, lost connection) resumes where it\n"
        "stopped when the command is run again, and files already there are not fetched again.\n"
        "When the endpoint cannot be reached but every file is already complete in the folder,\n"
        "the command succeeds without re-checking them and says so (\"offline\": true).\n"
        "Progress goes to stderr. With --json: {\"dir\", \"repo\", \"revision\", \"endpoint\",\n"
        "\"commit\", \"files\": [{\"name\", \"path\", \"size\", \"checksum\", \"downloaded\",\n"
        "\"resumed_from\"}], \"bytes_transferred\", \"offline\"} on stdout.",
        { "out", "endpoint", "revision" }, { "json" }, cmdDownload } };
}

} // namespace astpeft::cli
