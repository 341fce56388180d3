// SPDX-License-Identifier: MIT
// libFuzzer target: the input as the header lines of a Hub server's answers (one per '\n', as
// libcurl hands them over), read as the download reads them: the checksum and size of a file
// from a HEAD, the start of a Content-Range.
#include "fuzz_support.h"

#include "net/hub_response.h"

#include <cctype>
#include <cstdlib>

using namespace astpeft;

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string_view input = fuzz::text(data, size);
    core::detail::HubHeaders headers;
    for (std::size_t start = 0; start < input.size();) {
        const std::size_t end = input.find('\n', start);
        const std::size_t stop = end == std::string_view::npos ? input.size() : end + 1;
        core::detail::addHubHeaderLine(headers, input.substr(start, stop - start));
        start = stop;
    }
    if (const auto checksum = core::detail::hubChecksum(headers)) {
        const std::size_t length = checksum->algorithm == "sha256" ? 64 : 40;
        if (checksum->hash.size() != length || checksum->size < -1
            || checksum->size > core::detail::kMaxHubFileSize)
            std::abort();
        for (const char c : checksum->hash) {
            if (!std::isxdigit(static_cast<unsigned char>(c))
                || std::isupper(static_cast<unsigned char>(c)))
                std::abort();
        }
    }
    (void)core::detail::contentRangeStart(core::detail::hubHeader(headers, "content-range"));
    return 0;
}
