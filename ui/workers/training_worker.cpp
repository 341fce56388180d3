// SPDX-License-Identifier: MIT
#include "workers/training_worker.h"

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

} // namespace

void TrainingWorker::setControls(std::shared_ptr<TrainingControls> controls)
{
    std::lock_guard lock(m_mutex);
    m_controls = std::move(controls);
}

void TrainingWorker::run(const core::TrainOptions &options)
{
    std::shared_ptr<TrainingControls> controls;
    {
        std::lock_guard lock(m_mutex);
        controls = m_controls;
    }
    if (!controls)
        controls = std::make_shared<TrainingControls>();
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
