// SPDX-License-Identifier: MIT
#include "error.h"

#include <system_error>

namespace astpeft::core {

namespace {
std::string compose(const std::string &message, const std::filesystem::path &file)
{
    return file.empty() ? message : file.string() + ": " + message;
}
} // namespace

Error::Error(ErrorKind kind, const std::string &message, const std::filesystem::path &file)
    : std::runtime_error(compose(message, file))
    , m_kind(kind)
    , m_file(file)
    , m_reason(message)
{ }

std::string errnoText(int error)
{
    return std::error_code(error, std::generic_category()).message();
}

} // namespace astpeft::core
