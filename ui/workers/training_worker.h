// SPDX-License-Identifier: MIT
// Runs core::train (or core::compare, a run per method) off the GUI thread. The worker lives in a
// QThread owned by its controller (TrainingView); every training event crosses back as a value
// struct in a queued signal.
#pragma once

#include "train/compare.h"
#include "train/trainer.h"

#include <QObject>
#include <QString>

#include <memory>
#include <mutex>
#include <stop_token>
#include <vector>

namespace astpeft::ui {

// How the GUI thread steers one run. The controller creates a fresh one per run (a stop_source
// stays stopped and TrainControl's stop-after-epoch cannot be withdrawn) and calls it directly:
// the worker's event loop is blocked inside train(), so queued "pause"/"cancel" slots would
// never run. TrainControl is thread-safe; std::stop_source::request_stop() is too.
struct TrainingControls
{
    std::stop_source stop;
    core::TrainControl control;
};

class TrainingWorker : public QObject
{
    Q_OBJECT

public:
    using QObject::QObject;

    // Any thread; call before queuing run(). run() takes its own reference when it starts, so
    // the controller may drop or replace its copy at any time.
    void setControls(std::shared_ptr<TrainingControls> controls);

public Q_SLOTS:
    // Worker thread: trains, emitting the events below, then exactly one of finished() or
    // failed(). Never throws: core::Error and every other exception become failed(message)
    // ("FILE: what went wrong" for core errors). Input errors (a missing data folder) fail
    // before anything is written.
    void run(const astpeft::core::TrainOptions &options);
    // Worker thread: core::compare over `runs`, writing the table into `out`. Each run that
    // trains emits runStarted() (at its import, when its folder exists) and then the events as
    // run() does, ending in finished(); a run that cannot train emits failed("METHOD: reason").
    // Then comparisonFinished() (also after a stop; with the error when the table could not be
    // written).
    void compare(const std::vector<astpeft::core::TrainOptions> &runs, const QString &out);

Q_SIGNALS:
    void imported(const astpeft::core::ImportEvent &event);
    void progress(const astpeft::core::ProgressEvent &event);
    void step(const astpeft::core::StepEvent &event);
    void epoch(const astpeft::core::EpochEvent &event);
    void finished(const astpeft::core::FinishedEvent &event);
    void failed(const QString &message);
    void runStarted(const astpeft::core::TrainOptions &options);
    void comparisonFinished(const QString &out, const QString &error);

private:
    std::shared_ptr<TrainingControls> controls();

    std::mutex m_mutex; // guards m_controls (set on the GUI thread, read on the worker thread)
    std::shared_ptr<TrainingControls> m_controls;
};

} // namespace astpeft::ui
