// SPDX-License-Identifier: MIT
#include "data/csv_table.h"

#include "error.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iterator>
#include <utility>

namespace astpeft::core::detail {

namespace fs = std::filesystem;

std::string lower(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(),
        [](unsigned char c) { return char(std::tolower(c)); });
    return text;
}

std::string trim(std::string_view text)
{
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    return std::string(text);
}

std::optional<long long> parseInt(std::string_view text)
{
    long long value = 0;
    const char *end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end)
        return std::nullopt;
    return value;
}

std::string CsvTable::where(const CsvRow &row) const
{
    return file.filename().string() + " line " + std::to_string(row.line);
}

int CsvTable::column(std::initializer_list<const char *> names, bool required) const
{
    for (const char *name : names) {
        const auto it = std::find(header.begin(), header.end(), name);
        if (it != header.end())
            return int(it - header.begin());
    }
    if (!required)
        return -1;
    std::string list;
    for (const char *name : names)
        list += (list.empty() ? "" : ", ") + std::string(name);
    throw Error(ErrorKind::Format,
        "line 1: no " + std::string(*names.begin()) + " column (expected one of " + list + ")",
        file);
}

namespace {

// The whole file, without a UTF-8 BOM.
std::string readText(const fs::path &file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw Error(ErrorKind::Io, "cannot open manifest", file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad())
        throw Error(ErrorKind::Io, "cannot read manifest", file);
    if (text.starts_with("\xEF\xBB\xBF"))
        text.erase(0, 3);
    return text;
}

// A tab when the header line has more tabs than commas (outside quotes), else a comma.
char delimiterOf(const std::string &text)
{
    int commas = 0;
    int tabs = 0;
    bool quoted = false;
    for (char c : text) {
        if (c == '"') {
            quoted = !quoted;
        } else if (!quoted && (c == '\n' || c == '\r')) {
            break;
        } else if (!quoted && c == ',') {
            ++commas;
        } else if (!quoted && c == '\t') {
            ++tabs;
        }
    }
    return tabs > commas ? '\t' : ',';
}

struct Records
{
    std::vector<std::vector<std::string>> cells; // per non-blank record, trimmed
    std::vector<int> lines; // the line each record starts on
};

Records splitRecords(const std::string &text, char delimiter, const fs::path &file)
{
    Records records;
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false; // inside quotes
    bool wasQuoted = false; // the current cell had quotes (keeps "" as an empty cell)
    bool blank = true; // the current record has no character yet
    int line = 1;
    int recordLine = 1;
    auto endRecord = [&] {
        if (!blank) {
            cells.push_back(trim(cell));
            records.cells.push_back(std::move(cells));
            records.lines.push_back(recordLine);
        }
        cells.clear();
        cell.clear();
        blank = true;
        wasQuoted = false;
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') {
                    cell += '"';
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                if (c == '\n')
                    ++line;
                cell += c;
            }
            continue;
        }
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')
                ++i;
            endRecord();
            recordLine = ++line;
            continue;
        }
        if (blank && !std::isspace(static_cast<unsigned char>(c)))
            blank = false;
        if (c == delimiter) {
            blank = false;
            cells.push_back(trim(cell));
            cell.clear();
            wasQuoted = false;
        } else if (c == '"' && trim(cell).empty() && !wasQuoted) {
            quoted = true;
            wasQuoted = true;
            cell.clear();
        } else {
            cell += c;
        }
    }
    if (quoted) {
        throw Error(ErrorKind::Format,
            "line " + std::to_string(recordLine) + ": unterminated quoted cell", file);
    }
    endRecord();
    return records;
}

} // namespace

CsvTable readCsv(const fs::path &file)
{
    const std::string text = readText(file);
    Records records = splitRecords(text, delimiterOf(text), file);
    if (records.cells.empty())
        throw Error(ErrorKind::Format, "line 1: empty manifest (no header line)", file);

    CsvTable table;
    table.file = file;
    table.header = std::move(records.cells.front());
    for (std::string &name : table.header)
        name = lower(name);
    for (std::size_t r = 1; r < records.cells.size(); ++r) {
        CsvRow row { records.lines[r], std::move(records.cells[r]), {} };
        if (row.cells.size() != table.header.size()) {
            row.problem = "line " + std::to_string(row.line) + ": expected "
                + std::to_string(table.header.size()) + " columns, found "
                + std::to_string(row.cells.size());
            row.cells.clear();
        }
        table.rows.push_back(std::move(row));
    }
    return table;
}

int intCell(const CsvTable &table, const CsvRow &row, int column, long long min)
{
    const std::string &text = row.cells[std::size_t(column)];
    const auto value = parseInt(text);
    if (!value || *value < min || *value > 1000000000) {
        throw Error(ErrorKind::Format,
            "line " + std::to_string(row.line) + ": " + table.header[std::size_t(column)]
                + " must be an integer >= " + std::to_string(min) + " (got '" + text + "')",
            table.file);
    }
    return int(*value);
}

} // namespace astpeft::core::detail
