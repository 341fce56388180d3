// SPDX-License-Identifier: MIT
// A run folder read back: its metrics.jsonl as the trainer's event structs (the mirror of
// eventJson() in train_events.cpp), plus options.json. What the studio's Runs view lists and
// plots, and what the Live view takes an adapter's labels from. Torch-free; any thread.
#pragma once

#include "train/train_events.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace astpeft::core {

struct RunLog
{
    std::filesystem::path dir;
    // Non-empty when the run could not be read ("FILE: reason"); the fields below then hold
    // what was read before the problem, if anything.
    std::string error;

    std::vector<std::string> labels; // class order (the import event)
    std::string method; // "lora", ...
    std::int64_t trainableParameters = 0;
    int plannedEpochs = 0; // options.json (or the epoch events); 0 unknown
    std::vector<StepEvent> steps;
    // Labels filled in; predictions empty (not logged); per-class metrics in label order.
    std::vector<EpochEvent> epochs;
    std::optional<FinishedEvent> finished; // absent while running or after a crash
    std::string failure; // the "failed" event's message

    // The best validation accuracy (the finished event's, else the epochs' maximum), 0..1.
    double bestValAccuracy() const;
    // "completed", "cancelled", ..., "failed: MESSAGE", or "not finished".
    std::string status() const;
    double seconds() const; // training time: the finished event's, else the epochs' sum
};

// Never throws: an unreadable folder, a missing or malformed metrics.jsonl (a truncated last
// line, as a crash mid-write leaves, is ignored) or a malformed options.json sets `error`.
RunLog readRunLog(const std::filesystem::path &runDir);

// Reads a run folder's metrics.jsonl while it grows (a run training here or on another machine
// that shares the file system): each update() parses only the whole lines appended since the
// last one. A trailing line without its newline is parsed only once it is a complete JSON object;
// a line still being written (or not yet flushed over NFS) waits for a later update and is never
// taken for a broken event. When the file shrank, was replaced, or its bytes before the read
// offset changed (a resumed run cuts its log back to its checkpoint, then appends), the log is
// read again from the start. log() is what readRunLog() returns for the same bytes. Never
// throws; not thread-safe (one reader per thread).
class RunLogReader
{
public:
    static constexpr std::uintmax_t kAll = ~std::uintmax_t(0);
    enum class Update {
        Unchanged, // nothing new (the file's size and time unchanged, or no whole line added)
        Appended, // events added at the end of log(), or its error changed
        Reread, // log() rebuilt from the start (the first update, or the file was cut back)
    };

    explicit RunLogReader(std::filesystem::path runDir);

    // Parses at most about `maxBytes` of new lines (at least one whole line), so that a large log
    // can be read in slices between other work; atEnd() tells whether more is waiting.
    Update update(std::uintmax_t maxBytes = kAll);
    const RunLog &log() const { return m_log; }
    // Whether the last update() reached the end of what the file held (a partial line aside).
    bool atEnd() const { return m_atEnd; }
    // The bytes of metrics.jsonl parsed: the end of the last whole line read.
    std::uintmax_t offset() const { return m_offset; }

private:
    void restart();
    bool readOptions();
    // Parses the lines of `text` from `pos`; `eof`: text ends where the file ends.
    bool parse(const std::string &text, std::size_t pos, bool eof);
    void composeError();

    RunLog m_log;
    std::filesystem::path m_file;
    bool m_haveFile = false; // m_device/m_inode/m_size/m_mtime describe the file read
    unsigned long long m_device = 0, m_inode = 0;
    std::uintmax_t m_size = 0;
    long long m_mtimeNs = 0;
    std::uintmax_t m_offset = 0;
    std::string m_tail; // the last bytes before m_offset, checked before each read
    std::uintmax_t m_newlines = 0; // in the bytes before m_offset: the next line's number - 1
    bool m_imported = false, m_atEnd = false, m_optionsRead = false;
    int m_optionsEpochs = 0, m_eventEpochs = 0;
    std::string m_methodFromOptions;
    std::string m_fileError, m_lineError, m_optionsError;
};

} // namespace astpeft::core
