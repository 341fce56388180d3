// SPDX-License-Identifier: MIT
// What the Hub download reads from a server's answers: header lines, a file's checksum and size
// from the headers of a HEAD, the first byte of a Content-Range. Split from hub_download.cpp so
// that it can be tested and fuzzed without libcurl. Core-internal (net/ only); torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace astpeft::core::detail {

// The headers of the last response of a request, by lower-case name.
using HubHeaders = std::map<std::string, std::string>;

// One header line as libcurl hands it over (CR LF included). A status line ("HTTP/...") starts
// a new response (a followed redirect) and clears `headers`; "Name: value" sets the lower-case,
// trimmed name to the trimmed value; other lines are ignored.
void addHubHeaderLine(HubHeaders &headers, std::string_view line);

// The header's value; empty when absent.
std::string hubHeader(const HubHeaders &headers, const std::string &name);

// The largest file size taken from a server (1 PiB); sizes above it are unknown (-1).
inline constexpr std::int64_t kMaxHubFileSize = std::int64_t(1) << 50;

struct HubChecksum
{
    std::string algorithm; // "sha256" or "git-sha1"
    std::string hash; // lower-case hex
    std::int64_t size = -1; // bytes; -1 unknown
};

// The checksum and size the headers of a successful HEAD give for a file: X-Linked-Etag (an LFS
// file's sha256, with X-Linked-Size) or else ETag (a regular file's git blob sha1, or the sha256
// of an LFS file a mirror serves directly, with Content-Length). ETags may be weak (W/"...")
// and are quoted. A size that is not plain decimal digits, or is over kMaxHubFileSize, is
// unknown. Nothing when neither header holds a checksum of the expected length.
std::optional<HubChecksum> hubChecksum(const HubHeaders &headers);

// The first byte position of a Content-Range value, "bytes N-M/T"; 0 when there is none.
std::int64_t contentRangeStart(const std::string &value);

} // namespace astpeft::core::detail
