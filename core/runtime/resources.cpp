// SPDX-License-Identifier: MIT
#include "runtime/resources.h"

#include "error.h"

#include <cstdlib>
#include <sstream>
#include <system_error>

#ifndef ASTPEFT_SOURCE_RESOURCES
#error "ASTPEFT_SOURCE_RESOURCES (the source tree's resources/) must be defined by the build"
#endif

namespace astpeft::core {

namespace fs = std::filesystem;

namespace {

constexpr const char *kEnvironment = "ASTPEFT_RESOURCE_DIR";

std::string envDir()
{
    const char *value = std::getenv(kEnvironment);
    return value ? std::string(value) : std::string();
}

bool isDir(const fs::path &p)
{
    std::error_code ec;
    return fs::is_directory(p, ec);
}

// "searched: A ($ASTPEFT_RESOURCE_DIR), B, C": for the error messages.
std::string searched()
{
    std::ostringstream out;
    out << "searched";
    const std::vector<fs::path> path = resourceSearchPath();
    for (std::size_t i = 0; i < path.size(); ++i)
        out << (i ? ", " : " ") << path[i].string();
    out << " (set " << kEnvironment << " to a folder holding backbone/ and demo/)";
    return out.str();
}

} // namespace

std::vector<fs::path> resourceSearchPath()
{
    std::vector<fs::path> path;
    if (const std::string env = envDir(); !env.empty())
        path.emplace_back(env);
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec && !exe.empty())
        path.push_back((exe.parent_path() / ".." / "share" / "astpeft").lexically_normal());
    path.emplace_back(ASTPEFT_SOURCE_RESOURCES);
    return path;
}

fs::path resourceDir()
{
    if (const std::string env = envDir(); !env.empty() && !isDir(env))
        throw Error(ErrorKind::Io, std::string("not a folder (from ") + kEnvironment + ")", env);
    for (const fs::path &dir : resourceSearchPath()) {
        if (isDir(dir))
            return dir;
    }
    throw Error(ErrorKind::Io, "no resource folder found; " + searched());
}

fs::path bundledBackboneDir()
{
    const fs::path dir = resourceDir() / "backbone";
    std::error_code ec;
    if (!fs::is_regular_file(dir / "config.json", ec)) {
        throw Error(ErrorKind::Io,
            "no bundled backbone here (no config.json); give a Hugging Face AST folder with "
            "--model instead; resource folders "
                + searched(),
            dir);
    }
    return dir;
}

fs::path demoDataDir()
{
    const fs::path dir = resourceDir() / "demo";
    if (!isDir(dir))
        throw Error(ErrorKind::Io, "no demo dataset here; resource folders " + searched(), dir);
    return dir;
}

std::filesystem::path userDataDir(const std::string &what)
{
    if (const char *xdg = std::getenv("XDG_DATA_HOME");
        xdg && std::filesystem::path(xdg).is_absolute())
        return std::filesystem::path(xdg) / "astpeft";
    if (const char *home = std::getenv("HOME"); home && *home)
        return std::filesystem::path(home) / ".local" / "share" / "astpeft";
    throw Error(
        ErrorKind::Usage, "neither XDG_DATA_HOME nor HOME is set: give " + what + " a folder");
}

} // namespace astpeft::core
