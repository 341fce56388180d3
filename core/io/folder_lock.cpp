// SPDX-License-Identifier: MIT
#include "io/folder_lock.h"

#include "error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <set>
#include <utility>

namespace astpeft::core {

namespace {

// The folders this process holds, by device and inode. POSIX record locks belong to the
// process, so the kernel would grant this process a second lock on a folder it holds, and
// closing any descriptor of the lock file would drop the first: a second FolderLock of this
// process is refused here, before it opens the file.
std::mutex g_mutex;
std::set<std::pair<unsigned long long, unsigned long long>> g_held;

} // namespace

FolderLock::FolderLock(const std::filesystem::path &dir, const std::string &what)
{
    struct stat folder = {};
    if (::stat(dir.c_str(), &folder) != 0)
        throw Error(ErrorKind::Io, "cannot lock the " + what + ": " + errnoText(errno), dir);
    m_device = folder.st_dev;
    m_inode = folder.st_ino;
    const std::lock_guard<std::mutex> guard(g_mutex);
    if (g_held.contains({ m_device, m_inode })) {
        throw Error(
            ErrorKind::Io, "the " + what + " is in use by another job of this process", dir);
    }
    const std::filesystem::path file = dir / kFileName;
    m_fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (m_fd < 0)
        throw Error(ErrorKind::Io, "cannot lock the " + what + ": " + errnoText(errno), file);
    struct flock whole = {};
    whole.l_type = F_WRLCK;
    whole.l_whence = SEEK_SET;
    if (::fcntl(m_fd, F_SETLK, &whole) != 0) {
        const int error = errno;
        if (error == EACCES || error == EAGAIN) {
            struct flock holder = {};
            holder.l_type = F_WRLCK;
            holder.l_whence = SEEK_SET;
            const bool known = ::fcntl(m_fd, F_GETLK, &holder) == 0 && holder.l_type != F_UNLCK
                && holder.l_pid > 0;
            ::close(m_fd);
            throw Error(ErrorKind::Io,
                "the " + what + " is in use by "
                    + (known ? "process " + std::to_string(holder.l_pid) : "another process"),
                dir);
        }
        // ENOLCK and the like: a file system without locks; this process's registry still holds.
    }
    g_held.insert({ m_device, m_inode });
}

FolderLock::~FolderLock()
{
    const std::lock_guard<std::mutex> guard(g_mutex);
    g_held.erase({ m_device, m_inode });
    ::close(m_fd); // drops the lock
}

bool isFolderLocked(const std::filesystem::path &dir)
{
    struct stat folder = {};
    if (::stat(dir.c_str(), &folder) != 0)
        return false;
    // Held here: asked without opening the lock file, since closing a descriptor of it would
    // drop this process's lock. The mutex keeps a FolderLock from being taken meanwhile.
    const std::lock_guard<std::mutex> guard(g_mutex);
    if (g_held.contains({ folder.st_dev, folder.st_ino }))
        return true;
    const std::filesystem::path file = dir / FolderLock::kFileName;
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct flock probe = {};
    probe.l_type = F_WRLCK;
    probe.l_whence = SEEK_SET;
    const bool locked = ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
    ::close(fd);
    return locked;
}

} // namespace astpeft::core
