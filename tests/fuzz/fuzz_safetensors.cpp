// SPDX-License-Identifier: MIT
// libFuzzer target: the input as a .safetensors file, opened by SafetensorsFile (the reader of
// every checkpoint and adapter). Every tensor it accepts must lie inside the mapping with as
// many bytes as its shape and dtype say; each is read end to end.
#include "fuzz_support.h"

#include "error.h"
#include "io/safetensors.h"

#include <cstdlib>

using namespace astpeft;

namespace {
volatile unsigned sink = 0;
} // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::filesystem::path file = fuzz::scratch() / "model.safetensors";
    fuzz::writeFile(file, fuzz::text(data, size));
    try {
        const core::SafetensorsFile st(file);
        unsigned sum = 0;
        for (const core::TensorInfo &t : st.tensors()) {
            const std::span<const std::byte> bytes = st.data(t);
            if (bytes.size() != std::uint64_t(t.numel()) * core::dtypeSize(t.dtype)
                || st.find(t.name) != &t) {
                std::abort();
            }
            for (const std::byte b : bytes)
                sum += unsigned(b);
            st.release(t);
        }
        for (const auto &[key, value] : st.metadata())
            sum += unsigned(key.size() + value.size());
        sink = sum; // every byte read, ASan watching
    } catch (const core::Error &) { }
    return 0;
}
