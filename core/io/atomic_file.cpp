// SPDX-License-Identifier: MIT
#include "io/atomic_file.h"

#include "error.h"

#include <atomic>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace astpeft::core {

namespace {

// Distinguishes temporary files of several AtomicFile objects alive at once in one process.
std::atomic<unsigned long> g_tmpCounter { 0 };

std::filesystem::path parentOf(const std::filesystem::path &path)
{
    const std::filesystem::path parent = path.parent_path();
    return parent.empty() ? std::filesystem::path(".") : parent;
}

// fsync of the folder makes the rename itself durable. Some file systems cannot sync a folder
// (EINVAL); the rename has happened by then, so that is not treated as a failure.
void syncFolder(const std::filesystem::path &folder, const std::filesystem::path &target)
{
    int fd;
    do {
        fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        throw Error(ErrorKind::Io,
            "cannot open folder " + folder.string() + " to sync it: " + errnoText(errno), target);
    }
    const int rc = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (rc != 0 && error != EINVAL) {
        throw Error(ErrorKind::Io,
            "cannot sync folder " + folder.string() + ": " + errnoText(error), target);
    }
}

// Only a regular file (or nothing) may be replaced: renaming over a device node, a FIFO or a
// symbolic link would put a plain file in its place (as root, /dev/null).
void checkReplaceable(const std::filesystem::path &path)
{
    struct stat st
    {
    };
    if (::lstat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode))
        return;
    const char *what = S_ISLNK(st.st_mode)           ? "a symbolic link"
        : S_ISDIR(st.st_mode)                        ? "a folder"
        : S_ISFIFO(st.st_mode)                       ? "a FIFO"
        : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                                                     : "not a regular file";
    throw Error(ErrorKind::Io,
        std::string("is ") + what + ", not a regular file: refusing to write over it", path);
}

} // namespace

AtomicFile::AtomicFile(const std::filesystem::path &path)
    : m_path(path)
{
    if (path.filename().empty())
        throw Error(ErrorKind::Usage, "not a file name", path);
    checkReplaceable(path);
    const std::filesystem::path folder = parentOf(path);
    // Built by appending: GCC 12 gives a false -Wrestrict for "." + std::string.
    std::string name(1, '.');
    name += path.filename().string();
    name += ".tmp-";
    name += std::to_string(::getpid());
    name += '-';
    name += std::to_string(g_tmpCounter.fetch_add(1));
    m_tmp = folder / name;
    do {
        m_fd = ::open(m_tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    } while (m_fd < 0 && errno == EINTR);
    if (m_fd < 0) {
        const int error = errno;
        std::error_code ec;
        if (error == ENOENT || !std::filesystem::is_directory(folder, ec))
            throw Error(ErrorKind::Io, "folder " + folder.string() + " does not exist", path);
        throw Error(ErrorKind::Io,
            "cannot create temporary file " + m_tmp.string() + ": " + errnoText(error), path);
    }
}

AtomicFile::~AtomicFile()
{
    if (m_fd >= 0) {
        ::close(m_fd);
        ::unlink(m_tmp.c_str());
    }
}

void AtomicFile::write(std::span<const std::byte> bytes)
{
    if (m_fd < 0)
        throw Error(ErrorKind::Internal, "write after commit or after a failed write", m_path);
    const std::byte *data = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
        const ssize_t n = ::write(m_fd, data, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            // write() returning 0 for a non-zero request only happens on a full device.
            const int error = n < 0 ? errno : ENOSPC;
            ::close(m_fd);
            m_fd = -1;
            ::unlink(m_tmp.c_str());
            throw Error(ErrorKind::Io, "write failed: " + errnoText(error), m_path);
        }
        data += n;
        left -= std::size_t(n);
    }
}

void AtomicFile::write(std::string_view text)
{
    write(std::as_bytes(std::span<const char>(text.data(), text.size())));
}

void AtomicFile::commit()
{
    if (m_fd < 0)
        throw Error(ErrorKind::Internal, "commit after commit or after a failed write", m_path);
    const int fd = m_fd;
    m_fd = -1;
    auto fail = [&](const std::string &what, int error) {
        ::unlink(m_tmp.c_str());
        throw Error(ErrorKind::Io, what + ": " + errnoText(error), m_path);
    };
    int rc;
    do {
        rc = ::fsync(fd);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        const int error = errno;
        ::close(fd);
        fail("fsync failed", error);
    }
    // close() can report a deferred write error (NFS, quotas); it must not be retried on EINTR.
    if (::close(fd) != 0 && errno != EINTR)
        fail("close failed", errno);
    try {
        checkReplaceable(m_path); // again: it may have appeared meanwhile
    } catch (const Error &) {
        ::unlink(m_tmp.c_str());
        throw;
    }
    if (::rename(m_tmp.c_str(), m_path.c_str()) != 0)
        fail("cannot rename " + m_tmp.string() + " over the target", errno);
    syncFolder(parentOf(m_path), m_path);
}

void writeFileAtomic(const std::filesystem::path &path, std::span<const std::byte> bytes)
{
    AtomicFile file(path);
    file.write(bytes);
    file.commit();
}

void writeFileAtomic(const std::filesystem::path &path, std::string_view text)
{
    AtomicFile file(path);
    file.write(text);
    file.commit();
}

std::string readTextFile(const std::filesystem::path &file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw Error(ErrorKind::Io, "cannot open file", file);
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        throw Error(ErrorKind::Io, "cannot read file", file);
    return text.str();
}

void createDirectories(const std::filesystem::path &dir)
{
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        throw Error(ErrorKind::Io, "cannot create the folder: " + ec.message(), dir);
}

} // namespace astpeft::core
