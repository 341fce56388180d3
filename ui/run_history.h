// SPDX-License-Identifier: MIT
// A run folder read back: its metrics.jsonl as the trainer's event structs, plus options.json.
// What the Runs view lists and what TrainingView::showRun() plots. GUI thread or any thread
// (plain values, no QObject).
#pragma once

#include "train/trainer.h"

#include <QString>
#include <QStringList>

#include <optional>
#include <vector>

namespace astpeft::ui {

struct RunHistory
{
    QString dir;
    // Non-empty when the run could not be read ("FILE: reason"); the fields below then hold what
    // was read before the problem, if anything.
    QString error;

    QStringList labels; // class order (the import event)
    QString method; // "lora", ...
    qint64 trainableParameters = 0;
    int plannedEpochs = 0; // options.json (or the epoch events); 0 unknown
    std::vector<core::StepEvent> steps;
    // Labels filled in; predictions empty (not logged); per-class metrics in label order.
    std::vector<core::EpochEvent> epochs;
    std::optional<core::FinishedEvent> finished; // absent while running or after a crash
    QString failure; // the "failed" event's message

    // The best validation accuracy (the finished event's, else the epochs' maximum), 0..1.
    double bestValAccuracy() const;
    // "completed", "cancelled", ..., "failed: MESSAGE", or "not finished".
    QString status() const;
    double seconds() const; // training time: the finished event's, else the epochs' sum
};

// Never throws: an unreadable folder, a missing or malformed metrics.jsonl (a truncated last
// line, as a crash mid-write leaves, is ignored) or a malformed options.json sets `error`.
RunHistory readRunHistory(const QString &runDir);

} // namespace astpeft::ui
