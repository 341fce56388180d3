// SPDX-License-Identifier: MIT
#include "net/hub_download.h"

#include "error.h"
#include "io/atomic_file.h"
#include "io/file_chunks.h"
#include "net/hub_response.h"
#include "runtime/resources.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <sstream>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace astpeft::core {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char *kDefaultEndpoint = "https://huggingface.co";
constexpr long kConnectTimeoutSeconds = 30;
constexpr int kDefaultTimeoutSeconds = 30; // HubDownloadOptions::timeoutSeconds
constexpr int kMaxTimeoutSeconds = 24 * 3600;
// A transfer that gets fewer bytes than this per second over the timeout fails (resumable).
constexpr std::int64_t kMinBytesPerSecond = 1024;
constexpr auto kReportInterval = std::chrono::milliseconds(100);

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// Percent-encodes everything but RFC 3986's unreserved characters (and '/' when kept).
std::string urlEscape(const std::string &s, bool keepSlash)
{
    static const char *hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~'
            || (keepSlash && c == '/')) {
            out += char(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

void ensureCurl()
{
    // curl_global_init is not thread-safe before libcurl 7.84; the static makes it run once.
    static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        throw Error(ErrorKind::Internal,
            std::string("cannot initialise libcurl: ") + curl_easy_strerror(rc));
    }
}

struct CurlDeleter
{
    void operator()(CURL *c) const { curl_easy_cleanup(c); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter
{
    void operator()(curl_slist *l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// The headers of the last response of a request (a followed redirect starts a new set).
struct Response
{
    detail::HubHeaders headers;

    std::string header(const std::string &name) const { return detail::hubHeader(headers, name); }
};

extern "C" std::size_t onHeader(char *data, std::size_t size, std::size_t count, void *user)
{
    detail::addHubHeaderLine(
        static_cast<Response *>(user)->headers, std::string_view(data, size * count));
    return size * count;
}

// What the server says about one file.
struct Remote
{
    std::string name;
    std::string url; // the resolve URL (its redirect, if any, is followed by the GET)
    std::string algorithm; // "sha256" or "git-sha1"
    std::string hash; // lower-case hex
    std::int64_t size = -1; // bytes; -1 unknown
    std::string commit; // X-Repo-Commit
};

struct CurlUrlDeleter
{
    void operator()(CURLU *u) const { curl_url_cleanup(u); }
};

// One part of a URL (CURLUPART_HOST...), lower-case; empty when libcurl cannot parse the URL or
// it has no such part.
std::string urlPart(const std::string &url, CURLUPart which, unsigned flags = 0)
{
    const std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
    if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
        return {};
    char *text = nullptr;
    std::string value;
    if (curl_url_get(u.get(), which, &text, flags) == CURLUE_OK && text)
        value = lower(text);
    curl_free(text);
    return value;
}

// Who a URL talks to: "scheme://host:port", with the scheme's default port when the URL names
// none. Empty for a URL libcurl cannot parse.
std::string originOf(const std::string &url)
{
    const std::string scheme = urlPart(url, CURLUPART_SCHEME);
    const std::string host = urlPart(url, CURLUPART_HOST);
    const std::string port = urlPart(url, CURLUPART_PORT, CURLU_DEFAULT_PORT);
    if (scheme.empty() || host.empty() || port.empty())
        return {};
    return scheme + "://" + host + ":" + port;
}

// "host" or "host:port" of a URL, for messages.
std::string hostOf(const std::string &url)
{
    const std::string port = urlPart(url, CURLUPART_PORT);
    return urlPart(url, CURLUPART_HOST) + (port.empty() ? "" : ":" + port);
}

// The URL a handle ended at (after redirects).
std::string effectiveUrl(CURL *c)
{
    char *url = nullptr;
    curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &url);
    return url ? url : "";
}

// One downloadFromHub() call.
struct Session
{
    const HubDownloadOptions &options;
    std::string endpoint;
    std::string endpointOrigin; // originOf(endpoint): the only one the token goes to
    std::string token;
    int timeoutSeconds = kDefaultTimeoutSeconds; // as resolved
    std::int64_t allTotal = 0;
    std::int64_t allDoneBefore = 0; // bytes of the files finished so far
    std::int64_t transferred = 0;
};

// "sha256:<hex>" / "git-sha1:<hex>" of a file; for git-sha1 the content is prefixed with
// "blob <size>\0" as git hashes blobs.
std::string hashFile(const fs::path &path, const std::string &algorithm)
{
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx
        || EVP_DigestInit_ex(ctx.get(), algorithm == "sha256" ? EVP_sha256() : EVP_sha1(), nullptr)
            != 1)
        throw Error(ErrorKind::Internal, "cannot set up " + algorithm + " hashing", path);
    if (algorithm == "git-sha1") {
        std::error_code error;
        const auto size = fs::file_size(path, error);
        if (error)
            throw Error(ErrorKind::Io, "cannot open to verify it: " + error.message(), path);
        const std::string header = "blob " + std::to_string(size) + '\0';
        EVP_DigestUpdate(ctx.get(), header.data(), header.size());
    }
    readInChunks(
        path,
        [&](std::span<const unsigned char> chunk) {
            EVP_DigestUpdate(ctx.get(), chunk.data(), chunk.size());
        },
        "to verify it", std::size_t(1) << 20);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx.get(), digest, &length);
    return lowerHex(std::span<const unsigned char>(digest, length));
}

std::string offlineMessage(const std::string &endpoint, const std::string &detail)
{
    std::ostringstream m;
    m << "cannot reach " << endpoint << " (" << detail
      << "): you may be offline. To download through a mirror, set the HF_ENDPOINT environment "
         "variable to its URL (or pass --endpoint URL to astpeft download)";
    return m.str();
}

// Thrown by lookUp() when the endpoint cannot be reached at all or does not answer;
// downloadFromHub() turns it into an offline result (every file already complete) or into a
// core::Error.
struct Unreachable
{
    std::string detail; // why, in a few words: libcurl's text, or "HOST did not answer..."
    std::string message; // the whole error message
};

// Whether a handle got connected (a timeout after that is the server not answering).
bool connected(CURL *c)
{
    curl_off_t micros = 0;
    return curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &micros) == CURLE_OK && micros > 0;
}

bool isConnectionFailure(CURLcode rc)
{
    return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY
        || rc == CURLE_COULDNT_CONNECT;
}

std::string curlDetail(CURLcode rc, const char *errorBuffer)
{
    return errorBuffer && *errorBuffer ? std::string(errorBuffer) : curl_easy_strerror(rc);
}

[[noreturn]] void throwHttpError(
    long status, const Response &response, const Session &s, const std::string &file)
{
    const HubDownloadOptions &o = s.options;
    const std::string code = response.header("x-error-code");
    std::ostringstream m;
    m << "HTTP " << status << " for " << file << " of " << o.repo << " at revision " << o.revision
      << " from " << s.endpoint << ": ";
    if (status == 401) {
        m << "the repository is private, gated or does not exist; set HF_TOKEN to an access "
             "token that may read it";
    } else if (status == 403) {
        m << "access denied; a gated repository needs its conditions accepted on the Hub and "
             "HF_TOKEN set to an access token";
    } else if (status == 404 && code == "RepoNotFound") {
        m << "no repository " << o.repo << " (check the repository id)";
    } else if (status == 404 && code == "RevisionNotFound") {
        m << "no revision " << o.revision << " (check the branch, tag or commit)";
    } else if (status == 404) {
        m << "not found (check the repository id, the revision and the file name)";
    } else if (status >= 500) {
        m << "the server failed; try again later";
    } else {
        m << "unexpected answer";
    }
    if (const std::string text = response.header("x-error-message"); !text.empty())
        m << " (server: " << text << ")";
    throw Error(ErrorKind::Io, m.str());
}

// Options every request shares. `errorBuffer` must outlive the handle. Connecting may take up
// to the timeout (30 s at most); what comes after is each request's own deadline.
CurlHandle newRequest(const std::string &url, Response &response, curl_slist *headers,
    char *errorBuffer, const Session &s)
{
    CurlHandle curl(curl_easy_init());
    if (!curl)
        throw Error(ErrorKind::Internal, "cannot create a libcurl handle");
    CURL *c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_USERAGENT, "astpeft/" ASTPEFT_VERSION);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, onHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &response);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errorBuffer);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(
        c, CURLOPT_CONNECTTIMEOUT, std::min<long>(kConnectTimeoutSeconds, s.timeoutSeconds));
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    return curl;
}

// The headers of a request to `url`: the token only when `url` is on the endpoint's host (same
// scheme, host and port), whatever the kind of request. A request that libcurl redirects keeps
// these headers but drops Authorization when the redirect leaves that host
// (CURLOPT_UNRESTRICTED_AUTH is off), as lookUp() does for the redirects it follows itself.
Slist requestHeaders(const Session &s, const std::string &url)
{
    curl_slist *list = nullptr;
    if (!s.token.empty() && !s.endpointOrigin.empty() && originOf(url) == s.endpointOrigin)
        list = curl_slist_append(list, ("Authorization: Bearer " + s.token).c_str());
    return Slist(list);
}

// Whether a stop was requested; polled by libcurl's progress callback (about once a second
// even when no byte arrives, more often while bytes do).
extern "C" int onStopCheck(void *user, curl_off_t, curl_off_t, curl_off_t, curl_off_t)
{
    return static_cast<const std::stop_token *>(user)->stop_requested() ? 1 : 0;
}

// HEAD of one file, redirects to other files (a renamed repository) followed, the CDN
// redirect of an LFS file not.
Remote lookUp(const std::string &file, Session &s)
{
    const HubDownloadOptions &o = s.options;
    Remote r;
    r.name = file;
    r.url = s.endpoint + "/" + urlEscape(o.repo, true) + "/resolve/" + urlEscape(o.revision, false)
        + "/" + urlEscape(file, true);
    std::string url = r.url;
    for (int hop = 0;; ++hop) {
        Response response;
        char errorBuffer[CURL_ERROR_SIZE] = {};
        const Slist headers = requestHeaders(s, url); // each hop: it may lead to another host
        CurlHandle curl = newRequest(url, response, headers.get(), errorBuffer, s);
        curl_easy_setopt(curl.get(), CURLOPT_NOBODY, 1L);
        curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, long(s.timeoutSeconds)); // connect included
        curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, onStopCheck);
        curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &o.stop);
        const CURLcode rc = curl_easy_perform(curl.get());
        if (rc == CURLE_ABORTED_BY_CALLBACK)
            return {};
        if (rc != CURLE_OK) {
            if (isConnectionFailure(rc)
                || (rc == CURLE_OPERATION_TIMEDOUT && !connected(curl.get()))) {
                const std::string detail = curlDetail(rc, errorBuffer);
                throw Unreachable { detail, offlineMessage(s.endpoint, detail) };
            }
            if (rc == CURLE_OPERATION_TIMEDOUT) { // connected, but no answer: not offline
                const std::string detail = hostOf(url) + " did not answer within "
                    + std::to_string(s.timeoutSeconds) + " s";
                throw Unreachable { detail,
                    detail + " (asked about " + file + " of " + o.repo
                        + "); try again later, or download through a mirror: set HF_ENDPOINT to "
                          "its URL (or pass --endpoint URL to astpeft download)" };
            }
            throw Error(ErrorKind::Io,
                "cannot ask " + s.endpoint + " about " + file + ": " + curlDetail(rc, errorBuffer));
        }
        long status = 0;
        curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
        const std::string linked = response.header("x-linked-etag");
        if (status >= 300 && status < 400 && linked.empty() && hop < 5) {
            char *next = nullptr;
            curl_easy_getinfo(curl.get(), CURLINFO_REDIRECT_URL, &next);
            if (next) {
                url = next;
                continue;
            }
        }
        if (status >= 400 || status < 200 || (status >= 300 && linked.empty()))
            throwHttpError(status, response, s, file);
        const std::optional<detail::HubChecksum> checksum = detail::hubChecksum(response.headers);
        if (!checksum) {
            throw Error(ErrorKind::Io,
                s.endpoint + " gives no checksum for " + file + " of " + o.repo
                    + " (no X-Linked-Etag with a sha256, no ETag with a git blob id), so it "
                      "cannot be verified");
        }
        r.algorithm = checksum->algorithm;
        r.hash = checksum->hash;
        r.size = checksum->size;
        r.commit = response.header("x-repo-commit");
        return r;
    }
}

// Appends the body of one GET to a file. Runs on the downloading thread, inside libcurl.
struct Transfer
{
    Session *session = nullptr;
    const Remote *remote = nullptr;
    CURL *curl = nullptr;
    Response *response = nullptr;
    int fd = -1;
    std::int64_t offset = 0; // bytes in the file before this body
    std::int64_t written = 0; // body bytes written so far
    bool decided = false; // the status of the final response has been looked at
    bool httpError = false; // the final response is an error: its body is not file content
    bool badRange = false; // a 206 that does not start at `offset`
    bool tooLong = false; // the body went past the size the HEAD announced
    bool stalled = false; // fewer than kMinBytesPerSecond over the timeout
    std::int64_t stallBytes = 0; // what came in that window
    Clock::time_point windowStart = Clock::now(); // of the current progress window
    std::int64_t windowWritten = 0; // `written` at windowStart
    int writeError = 0; // errno of a failed write
    std::exception_ptr callbackError; // thrown by the progress callback
    Clock::time_point start = Clock::now();
    Clock::time_point lastReport {};

    std::int64_t done() const { return offset + written; }

    void report(bool force)
    {
        const HubDownloadOptions &o = session->options;
        if (!o.progress)
            return;
        const auto now = Clock::now();
        if (!force && now - lastReport < kReportInterval)
            return;
        lastReport = now;
        const double seconds = std::chrono::duration<double>(now - start).count();
        DownloadProgress p;
        p.file = remote->name;
        p.done = done();
        p.total = std::max<std::int64_t>(remote->size, 0);
        p.allDone = session->allDoneBefore + p.done;
        p.allTotal = session->allTotal;
        p.bytesPerSecond = seconds > 0 ? double(written) / seconds : 0.0;
        o.progress(p);
    }
};

extern "C" std::size_t onBody(char *data, std::size_t size, std::size_t count, void *user)
{
    auto *t = static_cast<Transfer *>(user);
    const std::size_t bytes = size * count;
    if (!t->decided) {
        t->decided = true;
        long status = 0;
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status == 206) {
            // "bytes N-M/T": the body must continue the file exactly.
            if (detail::contentRangeStart(t->response->header("content-range")) != t->offset) {
                t->badRange = true;
                return 0;
            }
        } else if (status == 200) {
            // The server ignored Range (or none was sent): start the file again.
            if (t->offset > 0 && ::ftruncate(t->fd, 0) != 0) {
                t->writeError = errno;
                return 0;
            }
            t->offset = 0;
        } else {
            t->httpError = true;
        }
    }
    if (t->httpError)
        return bytes; // an error page: dropped
    // Never past the announced size: a server that streams on is stopped at once, not after
    // the whole stream (issue 17, defect 6).
    if (t->remote->size >= 0 && t->done() + std::int64_t(bytes) > t->remote->size) {
        t->tooLong = true;
        return 0;
    }
    std::size_t left = bytes;
    while (left > 0) {
        const ssize_t n = ::write(t->fd, data + (bytes - left), left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            t->writeError = errno;
            return 0; // libcurl stops with CURLE_WRITE_ERROR
        }
        left -= std::size_t(n);
    }
    t->written += std::int64_t(bytes);
    t->session->transferred += std::int64_t(bytes);
    return bytes;
}

extern "C" int onTransferProgress(void *user, curl_off_t, curl_off_t, curl_off_t, curl_off_t)
{
    auto *t = static_cast<Transfer *>(user);
    if (t->session->options.stop.stop_requested())
        return 1;
    // Too little progress over a whole window (the timeout) fails; libcurl calls this about
    // once a second even when nothing arrives. Connecting has its own timeout.
    const auto now = Clock::now();
    if (!connected(t->curl)) {
        t->windowStart = now;
    } else if (now - t->windowStart >= std::chrono::seconds(t->session->timeoutSeconds)) {
        t->stallBytes = t->written - t->windowWritten;
        if (t->stallBytes < kMinBytesPerSecond * t->session->timeoutSeconds) {
            t->stalled = true;
            return 1;
        }
        t->windowStart = now;
        t->windowWritten = t->written;
    }
    try {
        t->report(false);
    } catch (...) { // never through libcurl's C frames
        t->callbackError = std::current_exception();
        return 1;
    }
    return 0;
}

void syncAndClose(int fd, const fs::path &path)
{
    const int rc = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (rc != 0 && error != EINVAL)
        throw Error(ErrorKind::Io, "cannot write: " + errnoText(error), path);
}

enum class TransferOutcome { Complete, Cancelled, RangeNotSatisfiable };

// GETs the rest of `remote` into `part` (which holds `offset` bytes): Range "bytes=offset-"
// when offset > 0. Returns once the server has sent its body; throws on failures.
// `kept` is set to the bytes of the earlier partial file that stayed (0 when the server
// ignored the Range and sent the whole file); `whole` to whether the response announced its
// length and sent all of it (so that a file still short is no interruption to resume).
TransferOutcome transfer(const Remote &remote, const fs::path &part, const fs::path &target,
    Session &s, std::int64_t &kept, bool &whole)
{
    std::error_code ec;
    const std::int64_t offset = fs::exists(part, ec) ? std::int64_t(fs::file_size(part, ec)) : 0;
    int fd;
    do {
        fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        throw Error(ErrorKind::Io, "cannot write: " + errnoText(errno), part);

    Response response;
    char errorBuffer[CURL_ERROR_SIZE] = {};
    const Slist headers = requestHeaders(s, remote.url);
    CurlHandle curl = newRequest(remote.url, response, headers.get(), errorBuffer, s);
    Transfer t;
    t.session = &s;
    t.remote = &remote;
    t.curl = curl.get();
    t.response = &response;
    t.fd = fd;
    t.offset = offset;
    CURL *c = curl.get();
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L); // the default, relied upon
    if (offset > 0) // kept for the redirected request too
        curl_easy_setopt(c, CURLOPT_RANGE, (std::to_string(offset) + "-").c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, onTransferProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    try {
        t.report(true);
    } catch (...) {
        ::close(fd);
        throw;
    }
    const CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t length = -1;
    curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    whole = rc == CURLE_OK && length >= 0;
    syncAndClose(fd, part);
    kept = t.offset;

    if (t.callbackError)
        std::rethrow_exception(t.callbackError);
    if (rc == CURLE_ABORTED_BY_CALLBACK && s.options.stop.stop_requested())
        return TransferOutcome::Cancelled;
    if (t.tooLong) {
        fs::remove(part, ec);
        throw Error(ErrorKind::Io,
            hostOf(effectiveUrl(c)) + " sent more than the " + std::to_string(remote.size)
                + " bytes announced for this file; the transfer was stopped there and the "
                  "partial file deleted",
            target);
    }
    if (t.writeError)
        throw Error(ErrorKind::Io, "cannot write: " + errnoText(t.writeError), part);
    if (t.stalled) {
        std::ostringstream m;
        m << hostOf(effectiveUrl(c)) << " sent " << t.stallBytes << " bytes in the last "
          << s.timeoutSeconds << " s (at least " << kMinBytesPerSecond
          << " bytes/s needed); the transfer stopped after " << t.done() << " of ";
        if (remote.size >= 0) {
            m << remote.size;
        } else {
            m << "?";
        }
        m << " bytes, run the download again to resume it";
        throw Error(ErrorKind::Io, m.str(), target);
    }
    if (t.badRange) {
        fs::remove(part, ec);
        throw Error(ErrorKind::Io,
            "the server resumed the download at another byte than asked; the partial file was "
            "deleted, run the download again",
            target);
    }
    if (rc != CURLE_OK) {
        if (isConnectionFailure(rc))
            throw Error(ErrorKind::Io, offlineMessage(s.endpoint, curlDetail(rc, errorBuffer)));
        std::ostringstream m;
        m << "the transfer stopped after " << t.done() << " of ";
        if (remote.size >= 0) {
            m << remote.size;
        } else {
            m << "?";
        }
        m << " bytes (" << curlDetail(rc, errorBuffer) << "); run the download again to resume it";
        throw Error(ErrorKind::Io, m.str(), target);
    }
    if (status == 416 && offset > 0)
        return TransferOutcome::RangeNotSatisfiable;
    if (t.httpError || status >= 300 || status < 200)
        throwHttpError(status, response, s, remote.name);
    t.report(true);
    return TransferOutcome::Complete;
}

// Renames `from` to `to` and makes the rename durable.
void publish(const fs::path &from, const fs::path &to)
{
    std::error_code ec;
    fs::rename(from, to, ec);
    if (ec)
        throw Error(ErrorKind::Io, "cannot rename " + from.string() + ": " + ec.message(), to);
    const fs::path folder = to.parent_path().empty() ? fs::path(".") : to.parent_path();
    const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd); // best effort: the file is complete and verified either way
        ::close(fd);
    }
}

// Downloads (or resumes, or finds complete) one file and installs it once verified.
// Returns nothing when cancelled.
std::optional<HubFileResult> fetch(const Remote &remote, Session &s)
{
    const fs::path target = s.options.dest / remote.name;
    const fs::path part = target.string() + ".incomplete";
    HubFileResult result;
    result.name = remote.name;
    result.path = target;
    result.checksum = remote.algorithm + ":" + remote.hash;
    std::error_code ec;

    if (fs::is_regular_file(target, ec)
        && (remote.size < 0 || std::int64_t(fs::file_size(target, ec)) == remote.size)
        && hashFile(target, remote.algorithm) == remote.hash) {
        result.size = std::int64_t(fs::file_size(target, ec));
        fs::remove(part, ec); // a stale partial download of an older revision
        return result;
    }
    createDirectories(target.parent_path());
    std::int64_t have = fs::is_regular_file(part, ec) ? std::int64_t(fs::file_size(part, ec)) : 0;
    if (remote.size >= 0 && have > remote.size) {
        fs::remove(part, ec);
        have = 0;
    }
    result.resumedFrom = have;
    result.downloaded = true;
    bool whole = false;
    if (remote.size < 0 || have < remote.size) {
        TransferOutcome outcome = transfer(remote, part, target, s, result.resumedFrom, whole);
        if (outcome == TransferOutcome::RangeNotSatisfiable) {
            fs::remove(part, ec);
            outcome = transfer(remote, part, target, s, result.resumedFrom, whole);
        }
        if (outcome == TransferOutcome::Cancelled)
            return std::nullopt;
        if (outcome == TransferOutcome::RangeNotSatisfiable)
            throw Error(ErrorKind::Io, "the server refuses every byte range (HTTP 416)", target);
    }
    const std::int64_t size = std::int64_t(fs::file_size(part, ec));
    // The server closed early without an error (and without a length that says so): resumable.
    if (remote.size >= 0 && size < remote.size && !whole) {
        throw Error(ErrorKind::Io,
            "the transfer stopped after " + std::to_string(size) + " of "
                + std::to_string(remote.size) + " bytes; run the download again to resume it",
            target);
    }
    const std::string actual = hashFile(part, remote.algorithm);
    if ((remote.size >= 0 && size != remote.size) || actual != remote.hash) {
        fs::remove(part, ec);
        std::ostringstream m;
        if (actual == remote.hash) { // the content is as announced, its size is not
            m << "size mismatch: expected " << remote.size << " bytes, got " << size << " (the "
              << remote.algorithm
              << " matches); the server announces a wrong size, the download was deleted";
        } else {
            m << "checksum mismatch: expected " << remote.algorithm << " " << remote.hash;
            if (remote.size >= 0)
                m << " (" << remote.size << " bytes)";
            m << ", got " << actual << " (" << size
              << " bytes); the damaged download was deleted, run the download again";
        }
        throw Error(ErrorKind::Format, m.str(), target);
    }
    publish(part, target);
    result.size = size;
    return result;
}

// Whether every file is complete in `dest`: present and no partial download beside it.
bool allComplete(const std::vector<std::string> &files, const fs::path &dest)
{
    std::error_code ec;
    for (const std::string &f : files) {
        const fs::path target = dest / f;
        if (!fs::is_regular_file(target, ec) || fs::exists(target.string() + ".incomplete", ec))
            return false;
    }
    return true;
}

} // namespace

std::string resolveHubEndpoint(const std::string &endpoint)
{
    std::string e = endpoint;
    if (e.empty()) {
        if (const char *env = std::getenv("HF_ENDPOINT"))
            e = env;
    }
    if (e.empty())
        e = kDefaultEndpoint;
    while (e.size() > 1 && e.back() == '/')
        e.pop_back();
    const std::string scheme = lower(e.substr(0, e.find(':')));
    if (e.find("://") == std::string::npos || (scheme != "http" && scheme != "https")) {
        throw Error(
            ErrorKind::Usage, "the endpoint must be an http:// or https:// URL, not '" + e + "'");
    }
    return e;
}

// A repository id, revision, file name or local folder name: '/'-separated parts, none of them
// empty, "." or "..", without backslashes or control characters (so that dest / value stays inside
// dest, and a URL path holds it as it is).
void checkHubPath(const std::string &what, const std::string &value)
{
    std::string problem;
    if (value.empty()) {
        problem = "it is empty";
    } else if (value.front() == '/') {
        problem = "it must not be an absolute path";
    } else if (value.find('\\') != std::string::npos
        || std::any_of(
            value.begin(), value.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
        problem = "it must not contain '\\' or control characters";
    } else {
        std::size_t start = 0;
        while (problem.empty() && start <= value.size()) {
            const std::size_t end = std::min(value.find('/', start), value.size());
            const std::string part = value.substr(start, end - start);
            if (part.empty() || part == "." || part == "..")
                problem = "it must not have an empty, '.' or '..' part";
            start = end + 1;
        }
    }
    if (!problem.empty()) {
        std::string shown = value; // on one line
        std::replace_if(
            shown.begin(), shown.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }, '?');
        throw Error(ErrorKind::Usage, "invalid " + what + " '" + shown + "': " + problem);
    }
}

int resolveHubTimeout(int seconds)
{
    const auto bad = [](const std::string &what) {
        return Error(ErrorKind::Usage,
            what + " must be a whole number of seconds from 1 to "
                + std::to_string(kMaxTimeoutSeconds));
    };
    if (seconds < 0 || seconds > kMaxTimeoutSeconds)
        throw bad("the download timeout (" + std::to_string(seconds) + ")");
    if (seconds > 0)
        return seconds;
    const char *env = std::getenv("HF_HUB_DOWNLOAD_TIMEOUT");
    if (!env || !*env)
        return kDefaultTimeoutSeconds;
    char *end = nullptr;
    errno = 0;
    const long value = std::strtol(env, &end, 10);
    if (errno != 0 || *end != '\0' || !std::isdigit(static_cast<unsigned char>(*env)) || value < 1
        || value > kMaxTimeoutSeconds)
        throw bad("HF_HUB_DOWNLOAD_TIMEOUT ('" + std::string(env) + "')");
    return int(value);
}

HubDownloadResult downloadFromHub(const HubDownloadOptions &options)
{
    checkHubPath("repository id", options.repo);
    checkHubPath("revision", options.revision);
    if (options.files.empty())
        throw Error(ErrorKind::Usage, "no files to download from " + options.repo);
    for (const std::string &f : options.files)
        checkHubPath("file name", f);
    if (options.dest.empty())
        throw Error(ErrorKind::Usage, "no destination folder");
    ensureCurl();

    Session s { .options = options,
        .endpoint = resolveHubEndpoint(options.endpoint),
        .endpointOrigin = {},
        .token = options.token };
    s.endpointOrigin = originOf(s.endpoint);
    s.timeoutSeconds = resolveHubTimeout(options.timeoutSeconds);
    if (s.token.empty()) {
        if (const char *env = std::getenv("HF_TOKEN"))
            s.token = env;
    }

    // config.json last: a folder that has it is complete.
    std::vector<std::string> files = options.files;
    std::stable_partition(
        files.begin(), files.end(), [](const std::string &f) { return f != "config.json"; });

    HubDownloadResult result;
    result.dir = options.dest;
    result.endpoint = s.endpoint;
    // Every file is looked up first, so that a missing one fails before any transfer and the
    // total is known.
    std::vector<Remote> remotes;
    try {
        for (const std::string &f : files) {
            if (options.stop.stop_requested()) {
                result.cancelled = true;
                return result;
            }
            Remote r = lookUp(f, s);
            if (r.name.empty()) { // cancelled
                result.cancelled = true;
                return result;
            }
            s.allTotal += std::max<std::int64_t>(r.size, 0);
            if (!r.commit.empty())
                result.commit = r.commit;
            remotes.push_back(std::move(r));
        }
    } catch (const Unreachable &u) {
        // Offline: a folder downloaded earlier is usable as it is, just not re-checked.
        if (!allComplete(files, options.dest))
            throw Error(ErrorKind::Io, u.message);
        result.offline = true;
        result.offlineReason = u.detail;
        result.commit.clear();
        std::error_code ec;
        for (const std::string &f : files) {
            HubFileResult file;
            file.name = f;
            file.path = options.dest / f;
            file.size = std::int64_t(fs::file_size(file.path, ec));
            result.files.push_back(std::move(file));
        }
        return result;
    }
    createDirectories(options.dest);
    for (const Remote &r : remotes) {
        if (options.stop.stop_requested()) {
            result.cancelled = true;
            break;
        }
        std::optional<HubFileResult> file = fetch(r, s);
        if (!file) {
            result.cancelled = true;
            break;
        }
        s.allDoneBefore += file->size;
        if (options.progress && !file->downloaded) {
            DownloadProgress p;
            p.file = r.name;
            p.done = p.total = file->size;
            p.allDone = s.allDoneBefore;
            p.allTotal = s.allTotal;
            options.progress(p);
        }
        result.files.push_back(std::move(*file));
    }
    result.bytesTransferred = s.transferred;
    return result;
}

std::vector<KnownModel> knownModels()
{
    return { { .name = "ast-audioset",
        .repo = "MIT/ast-finetuned-audioset-10-10-0.4593",
        .revision = "main",
        .files = { "config.json", "model.safetensors" },
        .description = "AST-base fine-tuned on AudioSet (527 labels, mAP 0.459; Gong et al. "
                       "2021), the paper's backbone" } };
}

std::optional<KnownModel> knownModel(const std::string &name)
{
    for (KnownModel &m : knownModels()) {
        if (m.name == name)
            return std::move(m);
    }
    return std::nullopt;
}

fs::path defaultModelDir(const std::string &name)
{
    checkHubPath("model name or repository id", name); // "a/." would be the models folder
    std::string leaf = name;
    if (const auto slash = leaf.rfind('/'); slash != std::string::npos)
        leaf = leaf.substr(slash + 1);
    return userDataDir("the download") / "models" / leaf;
}

} // namespace astpeft::core
