// SPDX-License-Identifier: MIT
#include "workers/training_worker.h"

#include <optional>

namespace astpeft::ui {

namespace {

// Forwards the trainer's callbacks (on the worker thread) as the worker's signals; Qt queues
// them to receivers on other threads. onFailed is not forwarded: train() rethrows after it, and
// run()'s catch reports every failure exactly once, input errors included.
class SignalObserver : public core::TrainObserver
{
public:
    explicit SignalObserver(TrainingWorker *worker)
        : m_worker(worker)
    { }
    void onImport(const core::ImportEvent &e) override { Q_EMIT m_worker->imported(e); }
    void onProgress(const core::ProgressEvent &e) override { Q_EMIT m_worker->progress(e); }
    void onStep(const core::StepEvent &e) override { Q_EMIT m_worker->step(e); }
    void onEpoch(const core::EpochEvent &e) override { Q_EMIT m_worker->epoch(e); }

private:
    TrainingWorker *m_worker;
};

// A comparison's events: a run is announced at its import event (when its run folder exists; a
// method over the budget never gets that far), its finish comes from the trainer's onFinished.
class CompareSignalObserver : public core::CompareObserver
{
public:
    explicit CompareSignalObserver(TrainingWorker *worker)
        : m_worker(worker)
        , m_events(worker)
    { }
    void onRunStarted(const core::TrainOptions &o) override { m_pending = o; }
    void onImport(const core::ImportEvent &e) override
    {
        if (m_pending) {
            Q_EMIT m_worker->runStarted(*m_pending);
            m_pending.reset();
        }
        m_events.onImport(e);
    }
    void onProgress(const core::ProgressEvent &e) override { m_events.onProgress(e); }
    void onStep(const core::StepEvent &e) override { m_events.onStep(e); }
    void onEpoch(const core::EpochEvent &e) override { m_events.onEpoch(e); }
    void onFinished(const core::FinishedEvent &e) override { Q_EMIT m_worker->finished(e); }
    void onRunFinished(const core::CompareRow &row) override
    {
        if (!row.trained)
            Q_EMIT m_worker->failed(QString::fromStdString(row.method + ": " + row.status));
    }

private:
    TrainingWorker *m_worker;
    SignalObserver m_events;
    std::optional<core::TrainOptions> m_pending;
};

} // namespace

void TrainingWorker::setControls(std::shared_ptr<TrainingControls> controls)
{
    std::lock_guard lock(m_mutex);
    m_controls = std::move(controls);
}

std::shared_ptr<TrainingControls> TrainingWorker::controls()
{
    std::lock_guard lock(m_mutex);
    return m_controls ? m_controls : std::make_shared<TrainingControls>();
}

void TrainingWorker::compare(const std::vector<core::TrainOptions> &runs, const QString &out)
{
    const std::shared_ptr<TrainingControls> controls = this->controls();
    QString error;
    try {
        CompareSignalObserver observer(this);
        core::compare(
            runs, out.toStdString(), observer, controls->stop.get_token(), &controls->control);
    } catch (const std::exception &e) { // the table could not be written
        error = QString::fromStdString(e.what());
    }
    Q_EMIT comparisonFinished(out, error);
}

void TrainingWorker::run(const core::TrainOptions &options)
{
    const std::shared_ptr<TrainingControls> controls = this->controls();
    try {
        SignalObserver observer(this);
        const core::FinishedEvent result =
            core::train(options, observer, controls->stop.get_token(), &controls->control);
        Q_EMIT finished(result);
    } catch (const std::exception &e) { // core::Error, torch's c10::Error, bad_alloc
        Q_EMIT failed(QString::fromStdString(e.what()));
    } catch (...) {
        Q_EMIT failed(tr("training stopped with an unknown error"));
    }
}

} // namespace astpeft::ui
