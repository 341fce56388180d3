// SPDX-License-Identifier: MIT
// libFuzzer target: the input as adapter_config.json (parseAdapterManifest, which loading an
// adapter run uses) and as a model's config.json (parseAstConfig). A manifest that parses must
// write back to JSON that parses to the same manifest.
#include "fuzz_support.h"

#include "error.h"
#include "model/ast_config.h"
#include "peft/adapter_manifest.h"

#include <cstdlib>

using namespace astpeft;

// peft_config.cpp's parameter accounting calls this, which lives with the torch model
// (model/ast.cpp); reading a manifest counts no parameters.
std::int64_t core::backboneParameterCount(const core::AstConfig &)
{
    std::abort();
}

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string json(fuzz::text(data, size));
    try {
        const core::AdapterManifest manifest =
            core::parseAdapterManifest(json, "adapter_config.json");
        const std::string again = core::adapterManifestJson(manifest);
        if (core::adapterManifestJson(core::parseAdapterManifest(again)) != again)
            std::abort();
    } catch (const core::Error &) { }
    try {
        (void)core::parseAstConfig(json, "config.json");
    } catch (const core::Error &) { }
    return 0;
}
