// SPDX-License-Identifier: MIT
// libFuzzer target: the input as every manifest a dataset layout reads (manifest.csv,
// meta/esc50.csv, metadata/UrbanSound8K.csv, data/train_data.csv, metadata.csv,
// validation_list.txt), each read by readCsv and by its layout's reader. Rows must keep the
// header's width or say why not (CsvRow::problem), and every listed clip must have a label or a
// reason it is skipped.
#include "fuzz_support.h"

#include "data/csv_table.h"
#include "data/layouts.h"
#include "error.h"

#include <cstdlib>

using namespace astpeft;
namespace fs = std::filesystem;

namespace {

void check(const core::detail::Listing &listing)
{
    for (const core::detail::Entry &e : listing.entries) {
        if (e.label.empty() && e.skip.empty())
            std::abort();
    }
}

} // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string_view bytes = fuzz::text(data, size);
    const fs::path root = fuzz::scratch() / "dataset";
    for (const char *name : { "manifest.csv", "meta/esc50.csv", "metadata/UrbanSound8K.csv",
             "data/train_data.csv", "metadata.csv", "validation_list.txt" })
        fuzz::writeFile(root / name, bytes);

    try {
        const core::detail::CsvTable table = core::detail::readCsv(root / "manifest.csv");
        for (const core::detail::CsvRow &row : table.rows) {
            // A row of another width is kept, without its cells, for the layout to skip and
            // report (CsvRow::problem); a row without a problem fits the header.
            const bool consistent =
                row.problem.empty() ? row.cells.size() == table.header.size() : row.cells.empty();
            if (row.line < 2 || !consistent)
                std::abort();
        }
    } catch (const core::Error &) { }
    for (const auto read : { core::detail::readCsvManifest, core::detail::readEsc50,
             core::detail::readUrbanSound8K, core::detail::readFluentSpeechCommands,
             core::detail::readAudioFolder, core::detail::readSpeechCommands }) {
        try {
            check(read(root));
        } catch (const core::Error &) { }
    }
    return 0;
}
