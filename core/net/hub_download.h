// SPDX-License-Identifier: MIT
// Downloads files of a Hugging Face Hub model repository (or of a mirror speaking the same
// protocol) into a folder, with progress, resume after interruption and checksum verification.
// Torch-free: ui/ and app/ include it.
//
// Protocol, as the Hub's own client (huggingface_hub: constants.py, file_download.py,
// utils/sha.py) uses it: a file is at {endpoint}/{repo}/resolve/{revision}/{file}. A HEAD
// request (redirects not followed) answers LFS files with a redirect to a CDN and the headers
// X-Linked-Etag: "<sha256 of the content>" and X-Linked-Size; regular files answer 200 with
// ETag: "<git blob sha1>" (sha1 of "blob <size>\0" + content). X-Repo-Commit names the commit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace astpeft::core {

// Reported on the calling thread at most about 10 times a second, plus once when each file
// starts and once when it is complete.
struct DownloadProgress
{
    std::string file {}; // the file being transferred (name within the repository)
    std::int64_t done = 0; // bytes of this file on disk, resumed bytes included
    std::int64_t total = 0; // bytes of this file; 0 when the server does not say
    std::int64_t allDone = 0; // the same over every requested file
    std::int64_t allTotal = 0;
    double bytesPerSecond = 0; // this transfer's average so far (resumed bytes excluded)
};

struct HubDownloadOptions
{
    std::string endpoint {}; // "" = $HF_ENDPOINT, or https://huggingface.co without it
    std::string repo {}; // "MIT/ast-finetuned-audioset-10-10-0.4593"
    std::string revision = "main"; // branch, tag or commit
    // Names within the repository. config.json is fetched last, so that a folder holding it
    // also holds the weights.
    std::vector<std::string> files {};
    std::filesystem::path dest {}; // created if needed
    // "" = $HF_TOKEN. Sent as a bearer token (none without either), only to the endpoint's
    // host (scheme, host and port), never along a redirect to another one.
    std::string token {};
    // 0 = $HF_HUB_DOWNLOAD_TIMEOUT, or 30. A server that does not answer a HEAD within this many
    // seconds fails it (connected but silent: "HOST did not answer within N s"; not connected:
    // the offline error); a transfer that gets under 1 kB/s over this many seconds fails
    // (resumable). From 1 to 86400.
    int timeoutSeconds = 0;
    std::function<void(const DownloadProgress &)> progress {};
    // Stops the transfer within about a second; the partial file stays for a later resume.
    std::stop_token stop {};
};

struct HubFileResult
{
    std::string name {};
    std::filesystem::path path {}; // dest / name
    std::int64_t size = 0;
    std::string checksum {}; // "sha256:<hex>" (LFS files) or "git-sha1:<hex>" (regular files)
    bool downloaded = false; // false: it was already there with the right checksum
    std::int64_t resumedFrom = 0; // bytes of an earlier partial download that were kept
};

struct HubDownloadResult
{
    std::filesystem::path dir {};
    std::string endpoint {}; // as resolved
    std::string commit {}; // X-Repo-Commit, when the server sends it
    std::vector<HubFileResult> files {}; // the completed ones, in download order
    std::int64_t bytesTransferred = 0; // over the network in this call
    bool cancelled = false; // options.stop was requested: the folder is incomplete
    // The endpoint could not be reached (refused, no DNS, connecting timed out, or no answer to
    // a HEAD within the timeout) but every requested file was already complete in dest (present,
    // no ".incomplete" beside it): they are returned as they are, NOT re-checked against the
    // server (their checksum is "", commit is "").
    bool offline = false;
    std::string offlineReason {}; // why the endpoint could not be reached, when offline
};

// Downloads every file of `options` into options.dest. Each one is written to
// "<dest>/<file>.incomplete" (appended to when that exists: the transfer resumes with a Range
// request; a server that ignores Range restarts it from 0), checked against the server's
// checksum and size, and only then renamed to "<dest>/<file>". A file already present with the
// right checksum is not downloaded again. When the endpoint cannot be reached but every file
// is already complete in dest, returns them without network with `offline` set. Throws
// core::Error naming the file or folder: unreachable endpoint with some file missing
// (ErrorKind::Io, "you may be offline"), an endpoint that does not answer in time (Io, "HOST did
// not answer within N s"), HTTP 401/403/404 and other HTTP failures (Io), an interrupted or
// stalled transfer (Io; the partial file stays for a resume), a server sending more than the
// size it announced (Io; stopped there, the partial file is deleted), a checksum mismatch
// (Format; the partial file is deleted, the message has both hashes, or both sizes when only
// the size differs), a file that cannot be written (Io), an invalid repository id, revision or
// file name ('.', '..' or empty parts, absolute; Usage). Blocks the calling thread.
HubDownloadResult downloadFromHub(const HubDownloadOptions &options);

// options.endpoint, or $HF_ENDPOINT, or https://huggingface.co, without a trailing '/'.
std::string resolveHubEndpoint(const std::string &endpoint = {});

// options.timeoutSeconds when positive, or $HF_HUB_DOWNLOAD_TIMEOUT, or 30. Throws core::Error
// (Usage) for a value outside 1..86400 or a variable that is not a whole number.
int resolveHubTimeout(int seconds = 0);

// Throws core::Error (Usage) naming `what` and `value` unless `value` (a repository id, revision,
// file name or local folder name) is a relative '/'-separated path whose parts are neither
// empty, "." nor "..", without backslashes or control characters. downloadFromHub() and
// defaultModelDir() check their names with it.
void checkHubPath(const std::string &what, const std::string &value);

// A model the studio knows by name.
struct KnownModel
{
    std::string name {}; // "ast-audioset"
    std::string repo {}; // "MIT/ast-finetuned-audioset-10-10-0.4593"
    std::string revision = "main";
    std::vector<std::string> files {};
    std::string description {};
};
std::vector<KnownModel> knownModels();
std::optional<KnownModel> knownModel(const std::string &name);

// Where downloaded models go by default: $XDG_DATA_HOME/astpeft/models/<name> (or
// ~/.local/share/astpeft/models/<name>). `name` is a known model's name or a repository id, of
// which the part after the last '/' is used.
std::filesystem::path defaultModelDir(const std::string &name);

} // namespace astpeft::core
