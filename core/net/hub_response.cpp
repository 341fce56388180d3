// SPDX-License-Identifier: MIT
#include "net/hub_response.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

namespace astpeft::core::detail {

namespace {

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::string trim(std::string_view s)
{
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos)
        return {};
    return std::string(s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1));
}

bool isHex(const std::string &s, std::size_t length)
{
    return s.size() == length
        && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c); });
}

} // namespace

void addHubHeaderLine(HubHeaders &headers, std::string_view line)
{
    if (line.rfind("HTTP/", 0) == 0) {
        headers.clear();
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
        headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
    }
}

std::string hubHeader(const HubHeaders &headers, const std::string &name)
{
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

std::optional<HubChecksum> hubChecksum(const HubHeaders &headers)
{
    auto clean = [](std::string tag) {
        if (tag.rfind("W/", 0) == 0)
            tag = tag.substr(2);
        tag.erase(std::remove(tag.begin(), tag.end(), '"'), tag.end());
        return lower(trim(tag));
    };
    const std::string linked = hubHeader(headers, "x-linked-etag");
    const std::string etag = clean(linked.empty() ? hubHeader(headers, "etag") : linked);
    HubChecksum c;
    if (!linked.empty() && isHex(etag, 64)) {
        c.algorithm = "sha256"; // an LFS file: the Hub's X-Linked-Etag is its sha256
    } else if (linked.empty() && isHex(etag, 40)) {
        c.algorithm = "git-sha1"; // a regular file: the ETag is its git blob id
    } else if (isHex(etag, 64)) {
        c.algorithm = "sha256"; // a mirror serving an LFS file directly
    } else {
        return std::nullopt;
    }
    c.hash = etag;
    // Plain decimal digits up to kMaxHubFileSize; anything else (a sign, garbage, a size that
    // would overflow the totals of several files) leaves it unknown: the checksum still decides.
    const std::string size =
        hubHeader(headers, linked.empty() ? "content-length" : "x-linked-size");
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(size.data(), size.data() + size.size(), value);
    if (!size.empty() && std::isdigit(static_cast<unsigned char>(size.front()))
        && error == std::errc() && end == size.data() + size.size() && value <= kMaxHubFileSize)
        c.size = value;
    return c;
}

std::int64_t contentRangeStart(const std::string &value)
{
    const auto space = value.find(' ');
    const std::string from = space == std::string::npos ? std::string() : value.substr(space + 1);
    return std::strtoll(from.c_str(), nullptr, 10);
}

} // namespace astpeft::core::detail
