// SPDX-License-Identifier: MIT
// A folder owned by one job at a time: an advisory write lock (fcntl) on the lock file `.lock`
// inside it, held while the FolderLock lives. A second FolderLock on the same folder, from
// another process or from this one, is refused at once. The kernel drops the lock when the
// holder ends, however it ends (a crash, SIGKILL), so a lock is never left stale. The lock file
// itself stays in the folder, empty.
#pragma once

#include <filesystem>
#include <string>

namespace astpeft::core {

class FolderLock
{
public:
    static constexpr const char *kFileName = ".lock";

    // Locks `dir`, an existing folder, creating its lock file when missing. core::Error(Io)
    // naming `dir` when another job holds it ("the <what> is in use by process PID") or when
    // the lock file cannot be created. On a file system without locks only this process's
    // FolderLocks exclude each other.
    FolderLock(const std::filesystem::path &dir, const std::string &what);
    ~FolderLock();
    FolderLock(const FolderLock &) = delete;
    FolderLock &operator=(const FolderLock &) = delete;

private:
    int m_fd = -1;
    unsigned long long m_device = 0, m_inode = 0;
};

// Whether a FolderLock holds `dir` now, in this process or another one (fcntl F_GETLK on its
// lock file; never takes nor disturbs a lock). false without a lock file, and on a file system
// whose locks other machines cannot see (NFS without lockd, ...). Never throws.
bool isFolderLocked(const std::filesystem::path &dir);

} // namespace astpeft::core
