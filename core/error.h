// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace astpeft::core {

// What went wrong, so that callers can map it to an exit status or a message box.
enum class ErrorKind {
    Usage, // the caller asked for something impossible (bad option value)
    Io, // missing, unreadable or unwritable file
    Format, // the file exists but its content is malformed
    Unsupported, // well-formed but not something we handle (pickle checkpoints, odd dtypes)
    Model, // a checkpoint does not match the model it is loaded into
    Internal,
};

// The one exception type core throws. what() reads "FILE: MESSAGE" when a file is involved,
// so that a one-line report always names the file and the reason.
class Error : public std::runtime_error
{
public:
    Error(ErrorKind kind, const std::string &message, const std::filesystem::path &file = {});

    ErrorKind kind() const noexcept { return m_kind; }
    const std::filesystem::path &file() const noexcept { return m_file; }
    // The reason without the file name.
    const std::string &reason() const noexcept { return m_reason; }

private:
    ErrorKind m_kind;
    std::filesystem::path m_file;
    std::string m_reason;
};

// The system's text for an errno value ("No such file or directory").
std::string errnoText(int error);

} // namespace astpeft::core
