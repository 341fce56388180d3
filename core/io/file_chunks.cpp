// SPDX-License-Identifier: MIT
#include "io/file_chunks.h"

#include "error.h"

#include <algorithm>
#include <cerrno>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace astpeft::core {

namespace {
// Closes the descriptor when the read loop ends, normally or by an exception.
struct FdCloser
{
    int fd;
    ~FdCloser() { ::close(fd); }
};
} // namespace

void readInChunks(const std::filesystem::path &path,
    const std::function<void(std::span<const unsigned char>)> &consume, const std::string &purpose,
    std::size_t chunkBytes)
{
    int fd;
    do {
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        const int error = errno;
        throw Error(ErrorKind::Io, "cannot open " + purpose + ": " + errnoText(error), path);
    }
    const FdCloser closer { fd };
    std::vector<unsigned char> buffer(std::max<std::size_t>(chunkBytes, 1));
    for (;;) {
        const ssize_t got = ::read(fd, buffer.data(), buffer.size());
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            const int error = errno;
            throw Error(ErrorKind::Io, "cannot read " + purpose + ": " + errnoText(error), path);
        }
        if (got == 0)
            return;
        consume(std::span<const unsigned char>(buffer.data(), std::size_t(got)));
    }
}

std::string lowerHex(std::span<const unsigned char> bytes)
{
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(2 * bytes.size(), '0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        out[2 * i] = kDigits[bytes[i] >> 4];
        out[2 * i + 1] = kDigits[bytes[i] & 15];
    }
    return out;
}

} // namespace astpeft::core
