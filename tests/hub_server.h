// SPDX-License-Identifier: MIT
// A tiny HTTP/1.1 server on 127.0.0.1 (and on the same port of 127.0.0.2, a second host) that
// answers as the Hugging Face Hub does for downloads (header-only; POSIX sockets + one std::thread;
// Qt only for the hashes), for the tests of core::downloadFromHub and `astpeft download`:
//   HEAD/GET /{repo}/resolve/{revision}/{file}
//     regular file: 200, ETag: "<git blob sha1>", X-Repo-Commit
//     LFS file:     302 to /cdn/{file}, X-Linked-Etag: "<sha256>", X-Linked-Size, X-Repo-Commit
//     unknown file: 404, X-Error-Code: EntryNotFound; another repository: RepoNotFound
//   HEAD/GET /cdn/{file}: the bytes; "Range: bytes=N-" gives 206 (416 past the end).
// Knobs to misbehave: cut a GET short, corrupt a file (the advertised hashes stay those of the
// true bytes), announce a wrong size, send bytes past the end, ignore Range, send slowly, leave
// HEADs unanswered, redirect resolve requests to the other host. Every request is logged with the
// address it arrived at. One connection at a time, "Connection: close" after each answer.
#pragma once

#include <QByteArray>
#include <QCryptographicHash>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace astpeft::test {

struct HubRequest
{
    std::string method; // "HEAD", "GET"
    std::string path;
    std::string range; // the Range header, or empty
    std::string authorization; // the Authorization header, or empty
    std::string host; // the address the connection arrived at: "127.0.0.1" or "127.0.0.2"
    std::int64_t sent = 0; // body bytes of a file the server could send before the client left
};

class HubServer
{
public:
    struct File
    {
        std::string name;
        QByteArray bytes;
        bool lfs = false;
    };

    static constexpr const char *kCommit = "0123456789abcdef0123456789abcdef01234567";

    HubServer(std::string repo, std::vector<File> files)
        : m_repo(std::move(repo))
        , m_files(std::move(files))
    {
        m_port = listenOn(m_listen, "127.0.0.1", 0);
        if (m_port == 0)
            return; // port() stays 0; the test fails on it
        // The second host, for redirects to another host; a test that needs it checks
        // otherHostListening().
        listenOn(m_listenOther, "127.0.0.2", m_port);
        m_thread = std::thread([this] { serve(); });
    }
    ~HubServer()
    {
        m_stop = true;
        if (m_thread.joinable())
            m_thread.join();
        if (m_listen >= 0)
            ::close(m_listen);
        if (m_listenOther >= 0)
            ::close(m_listenOther);
    }
    HubServer(const HubServer &) = delete;
    HubServer &operator=(const HubServer &) = delete;

    int port() const { return m_port; }
    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(m_port); }
    bool otherHostListening() const { return m_listenOther >= 0; }

    // The next GET of `file`'s bytes announces the whole length but sends only `bytes` of the
    // body, then closes the connection.
    void cutNextGet(const std::string &file, std::int64_t bytes)
    {
        std::lock_guard lock(m_mutex);
        m_cuts[file] = bytes;
    }
    // Serves `file` with one byte flipped (the advertised hashes stay those of the true bytes).
    void setCorrupt(const std::string &file, bool corrupt)
    {
        std::lock_guard lock(m_mutex);
        m_corrupt[file] = corrupt;
    }
    // HEAD announces `file` with `delta` more bytes than it has (X-Linked-Size, or Content-Length
    // of a regular file); GET still sends the true bytes with their true length.
    void setSizeSkew(const std::string &file, std::int64_t delta)
    {
        std::lock_guard lock(m_mutex);
        m_skew[file] = delta;
    }
    // GETs of `file` send `bytes` zero bytes after its content (their Content-Length includes
    // them), as a server streaming something else would.
    void setTrailingBytes(const std::string &file, std::int64_t bytes)
    {
        std::lock_guard lock(m_mutex);
        m_trailing[file] = bytes;
    }
    void setIgnoreRange(bool ignore) { m_ignoreRange = ignore; }
    // Answers resolve requests without "Authorization: Bearer <token>" with 401, as the Hub
    // does for a private repository (empty: no token needed).
    void setRequiredToken(const std::string &token)
    {
        std::lock_guard lock(m_mutex);
        m_token = token;
    }
    // Answers resolve requests that arrive at 127.0.0.1 with "307 Temporary Redirect" to the
    // same path on 127.0.0.2 (as a renamed repository moved to another host would), which
    // then answers them as usual.
    void setRedirectToOtherHost(bool redirect) { m_redirectToOther = redirect; }
    // Leaves HEAD requests unanswered until the client gives up (a server that hangs).
    void setHangHeads(bool hang) { m_hangHeads = hang; }
    // Sends bodies `chunk` bytes at a time with `pauseMs` between chunks (0: at once).
    void setThrottle(int chunk, int pauseMs)
    {
        m_chunk = chunk;
        m_pauseMs = pauseMs;
    }

    std::vector<HubRequest> requests() const
    {
        std::lock_guard lock(m_mutex);
        return m_log;
    }
    void clearRequests()
    {
        std::lock_guard lock(m_mutex);
        m_log.clear();
    }
    // The GET requests for `file`'s bytes (the resolve URL and the CDN one).
    std::vector<HubRequest> gets(const std::string &file) const
    {
        std::vector<HubRequest> out;
        for (const HubRequest &r : requests()) {
            if (r.method == "GET" && r.path.size() > file.size()
                && r.path.compare(r.path.size() - file.size() - 1, std::string::npos, "/" + file)
                    == 0)
                out.push_back(r);
        }
        return out;
    }

    static std::string sha256Hex(const QByteArray &bytes)
    {
        return QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex().toStdString();
    }
    // git's blob id: sha1 of "blob <size>\0" + content.
    static std::string gitSha1Hex(const QByteArray &bytes)
    {
        QByteArray blob = "blob " + QByteArray::number(bytes.size());
        blob.append('\0');
        blob.append(bytes);
        return QCryptographicHash::hash(blob, QCryptographicHash::Sha1).toHex().toStdString();
    }

    // A local port on which nothing listens: connecting to it is refused.
    static int closedPort()
    {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr {};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof addr;
        ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &length);
        ::close(fd);
        return ntohs(addr.sin_port);
    }

private:
    // Binds a listening socket to `address`:`port` (0: any free port); returns the port, 0 when
    // that fails.
    static int listenOn(int &fd, const char *address, int port)
    {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return 0;
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr {};
        addr.sin_family = AF_INET;
        ::inet_pton(AF_INET, address, &addr.sin_addr);
        addr.sin_port = htons(std::uint16_t(port));
        socklen_t length = sizeof addr;
        if (::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0
            || ::listen(fd, 16) != 0
            || ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &length) != 0) {
            ::close(fd);
            fd = -1;
            return 0;
        }
        return ntohs(addr.sin_port);
    }

    void serve()
    {
        while (!m_stop) {
            pollfd p[2] { { m_listen, POLLIN, 0 }, { m_listenOther, POLLIN, 0 } };
            if (::poll(p, m_listenOther >= 0 ? 2 : 1, 50) <= 0)
                continue;
            const int listening = (p[0].revents & POLLIN) ? m_listen : m_listenOther;
            const int fd = ::accept4(listening, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0)
                continue;
            timeval timeout { 5, 0 }; // a silent client cannot hang the server
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
            ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
            handle(fd, listening == m_listen ? "127.0.0.1" : "127.0.0.2");
            ::shutdown(fd, SHUT_WR);
            ::close(fd);
        }
    }

    static bool sendAll(int fd, const char *data, std::size_t size)
    {
        while (size > 0) {
            const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
            if (n <= 0)
                return false;
            data += n;
            size -= std::size_t(n);
        }
        return true;
    }

    static std::string headerValue(const std::string &head, const std::string &name)
    {
        std::string lowerHead = head;
        for (char &c : lowerHead)
            c = char(std::tolower(static_cast<unsigned char>(c)));
        const auto at = lowerHead.find("\r\n" + name + ":");
        if (at == std::string::npos)
            return {};
        const auto start = at + 3 + name.size();
        const auto end = head.find("\r\n", start);
        std::string value = head.substr(start, end - start);
        while (!value.empty() && value.front() == ' ')
            value.erase(0, 1);
        return value;
    }

    void respond(int fd, const std::string &status, const std::string &headers,
        const QByteArray &body = {}, bool withBody = true)
    {
        std::string head = "HTTP/1.1 " + status + "\r\n" + headers
            + "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
        sendAll(fd, head.data(), head.size());
        if (withBody)
            sendAll(fd, body.constData(), std::size_t(body.size()));
    }

    const File *find(const std::string &name) const
    {
        for (const File &f : m_files) {
            if (f.name == name)
                return &f;
        }
        return nullptr;
    }

    void handle(int fd, const std::string &host)
    {
        std::string head;
        char buffer[4096];
        while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n <= 0)
                return;
            head.append(buffer, std::size_t(n));
        }
        const auto sp1 = head.find(' ');
        const auto sp2 = head.find(' ', sp1 + 1);
        if (sp1 == std::string::npos || sp2 == std::string::npos)
            return;
        HubRequest request { head.substr(0, sp1), head.substr(sp1 + 1, sp2 - sp1 - 1),
            headerValue(head, "range"), headerValue(head, "authorization"), host };
        {
            std::lock_guard lock(m_mutex);
            m_log.push_back(request);
            m_current = m_log.size() - 1;
        }
        const bool withBody = request.method != "HEAD";
        if (!withBody && m_hangHeads) {
            while (!m_stop) { // until the client hangs up
                pollfd p { fd, POLLIN, 0 };
                char byte;
                if (::poll(&p, 1, 50) > 0 && ::recv(fd, &byte, 1, 0) <= 0)
                    return;
            }
            return;
        }
        const std::string &path = request.path;
        const std::string resolve = "/" + m_repo + "/resolve/";
        std::string token;
        {
            std::lock_guard lock(m_mutex);
            token = m_token;
        }
        if (!token.empty() && path.rfind(resolve, 0) == 0
            && request.authorization != "Bearer " + token) {
            return respond(fd, "401 Unauthorized",
                "X-Error-Code: RepoNotFound\r\nX-Error-Message: Invalid username or password.\r\n",
                "Unauthorized", withBody);
        }
        if (m_redirectToOther && host == "127.0.0.1" && path.rfind(resolve, 0) == 0) {
            return respond(fd, "307 Temporary Redirect",
                "Location: http://127.0.0.2:" + std::to_string(m_port) + path + "\r\n", "Moved",
                withBody);
        }
        if (path.rfind("/cdn/", 0) == 0) {
            if (const File *f = find(path.substr(5)))
                return sendContent(fd, request, *f, "");
        } else if (path.rfind(resolve, 0) == 0) {
            const std::string rest = path.substr(resolve.size());
            const auto slash = rest.find('/');
            const File *f = slash == std::string::npos ? nullptr : find(rest.substr(slash + 1));
            if (!f) {
                return respond(fd, "404 Not Found",
                    "X-Error-Code: EntryNotFound\r\nX-Error-Message: Entry not found\r\n",
                    "Entry not found", withBody);
            }
            const std::string common = std::string("X-Repo-Commit: ") + kCommit + "\r\n";
            if (f->lfs) {
                std::int64_t skew = 0;
                {
                    std::lock_guard lock(m_mutex);
                    skew = m_skew[f->name];
                }
                return respond(fd, "302 Found",
                    common + "Location: /cdn/" + f->name + "\r\nX-Linked-Etag: \""
                        + sha256Hex(f->bytes)
                        + "\"\r\nX-Linked-Size: " + std::to_string(f->bytes.size() + skew)
                        + "\r\nETag: \"" + gitSha1Hex(f->bytes) + "\"\r\n",
                    "Found. Redirecting", withBody);
            }
            return sendContent(
                fd, request, *f, common + "ETag: \"" + gitSha1Hex(f->bytes) + "\"\r\n");
        }
        respond(fd, "404 Not Found",
            "X-Error-Code: RepoNotFound\r\nX-Error-Message: Repository not found\r\n",
            "Repository not found", withBody);
    }

    void sendContent(int fd, const HubRequest &request, const File &file, const std::string &extra)
    {
        QByteArray body = file.bytes;
        std::optional<std::int64_t> cut;
        std::int64_t extraLength = 0; // HEAD: the size skew; GET: the trailing bytes
        {
            std::lock_guard lock(m_mutex);
            extraLength = request.method == "HEAD" ? (file.lfs ? 0 : m_skew[file.name])
                                                   : m_trailing[file.name];
            if (m_corrupt[file.name] && !body.isEmpty())
                body[body.size() / 2] = char(body[body.size() / 2] ^ 0x5a);
            if (request.method == "GET" && m_cuts.count(file.name)) {
                cut = m_cuts[file.name];
                m_cuts.erase(file.name);
            }
        }
        const std::int64_t size = body.size();
        std::int64_t from = 0;
        std::string status = "200 OK";
        std::string headers = extra + "Accept-Ranges: bytes\r\n";
        if (!request.range.empty() && !m_ignoreRange && request.range.rfind("bytes=", 0) == 0) {
            from = std::stoll(request.range.substr(6));
            if (from >= size) {
                return respond(fd, "416 Range Not Satisfiable",
                    "Content-Range: bytes */" + std::to_string(size) + "\r\n", {},
                    request.method != "HEAD");
            }
            status = "206 Partial Content";
            headers += "Content-Range: bytes " + std::to_string(from) + "-"
                + std::to_string(size - 1) + "/" + std::to_string(size) + "\r\n";
        }
        const std::string head = "HTTP/1.1 " + status + "\r\n" + headers + "Content-Length: "
            + std::to_string(size - from + extraLength) + "\r\nConnection: close\r\n\r\n";
        if (!sendAll(fd, head.data(), head.size()) || request.method == "HEAD")
            return;
        std::int64_t end = size + extraLength; // past `size`: zero bytes
        if (cut)
            end = std::min(size, from + *cut);
        static const QByteArray zeros(65536, '\0');
        const std::int64_t chunk = m_chunk > 0 ? m_chunk.load() : std::int64_t(zeros.size());
        for (std::int64_t at = from; at < end;) {
            // Content and zero bytes never in one piece.
            const std::int64_t n = at < size
                ? std::min({ chunk, std::min(size, end) - at })
                : std::min({ chunk, end - at, std::int64_t(zeros.size()) });
            if (!sendAll(fd, at < size ? body.constData() + at : zeros.constData(), std::size_t(n)))
                return; // the client went away (cancelled)
            at += n;
            {
                std::lock_guard lock(m_mutex);
                if (m_current < m_log.size())
                    m_log[m_current].sent = at - from;
            }
            if (m_pauseMs > 0)
                std::this_thread::sleep_for(std::chrono::milliseconds(m_pauseMs.load()));
        }
    }

    std::string m_repo;
    std::vector<File> m_files;
    int m_listen = -1;
    int m_listenOther = -1; // on 127.0.0.2
    int m_port = 0;
    std::thread m_thread;
    std::atomic<bool> m_stop { false };
    std::atomic<bool> m_ignoreRange { false };
    std::atomic<bool> m_redirectToOther { false };
    std::atomic<bool> m_hangHeads { false };
    std::atomic<int> m_chunk { 0 };
    std::atomic<int> m_pauseMs { 0 };
    mutable std::mutex m_mutex;
    std::vector<HubRequest> m_log;
    std::map<std::string, std::int64_t> m_cuts;
    std::map<std::string, bool> m_corrupt;
    std::map<std::string, std::int64_t> m_skew;
    std::map<std::string, std::int64_t> m_trailing;
    std::size_t m_current = 0; // the request being answered, in m_log
    std::string m_token;
};

} // namespace astpeft::test
