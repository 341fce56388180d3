// SPDX-License-Identifier: MIT
// The CSV/TSV reader behind the dataset manifests, and the small text helpers the dataset code
// shares. Core-internal (data/ only); torch-free.
#pragma once

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace astpeft::core::detail {

std::string lower(std::string text);
std::string trim(std::string_view text);
// The whole of `text` as a decimal integer; nothing for empty text, other characters or overflow.
std::optional<long long> parseInt(std::string_view text);

struct CsvRow
{
    int line = 0; // 1-based line where the record starts
    std::vector<std::string> cells; // trimmed; as many as the header unless `problem` is set
    // Non-empty: the row is malformed ("line 4: expected 3 columns, found 2"); its cells must
    // not be used.
    std::string problem;
};

struct CsvTable
{
    std::filesystem::path file;
    std::vector<std::string> header; // trimmed, lower case
    std::vector<CsvRow> rows;

    // "manifest.csv line 4", for messages.
    std::string where(const CsvRow &row) const;

    // The index of the first column named one of `names`; -1 when none. Throws core::Error(Format)
    // naming the file and line 1 when `required` and none is there.
    int column(std::initializer_list<const char *> names, bool required = true) const;
};

// RFC 4180 with the usual liberties: a UTF-8 BOM, CRLF or LF line ends, quoted cells with
// doubled quotes and line breaks, blank lines skipped, cells trimmed. The delimiter is a tab when
// the header line has more tabs than commas (outside quotes), else a comma. A row with another
// number of cells than the header is kept with its CsvRow::problem set, for the caller to skip
// and report. Throws core::Error (Io: unreadable; Format: no header or an unterminated quote,
// naming file and line).
CsvTable readCsv(const std::filesystem::path &file);

// The integer in `row`'s cell `column`, in [min, 1e9]. Throws core::Error(Format) naming the
// file, line and column otherwise.
int intCell(const CsvTable &table, const CsvRow &row, int column, long long min = 0);

} // namespace astpeft::core::detail
