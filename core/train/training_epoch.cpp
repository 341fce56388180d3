// SPDX-License-Identifier: MIT
// The epoch phases of a training run (see training_run.h): the steps of one epoch, then
// validation, the best adapter and the checkpoint.
#include "train/training_run.h"

#include "io/atomic_file.h"
#include "peft/adapter_io.h"
#include "random.h"
#include "runtime/torch_compat.h"

#include <algorithm>
#include <cmath>
#include <future>

namespace astpeft::core::detail {

namespace fs = std::filesystem;

// --- One epoch -------------------------------------------------------------------------------

bool TrainingRun::runsEpoch(int epoch) const
{
    return epoch <= m_options.epochs && !stopRequested();
}

// Global batch b holds clips [b x G, (b + 1) x G) of the epoch's order, G = batchSize x world
// size; rank r trains on its r-th batchSize of them (an empty range near the end of an epoch).
std::pair<std::int64_t, std::int64_t> TrainingRun::shardOf(std::int64_t batch) const
{
    const std::int64_t n = m_trainData.size(), size = m_options.batchSize;
    const std::int64_t from =
        std::min(n, batch * size * m_parallel->worldSize() + m_parallel->rank() * size);
    return { from, std::min(n, from + size) };
}

std::int64_t TrainingRun::globalBatchSize(std::int64_t batch) const
{
    const std::int64_t global = std::int64_t(m_options.batchSize) * m_parallel->worldSize();
    return std::min(m_trainData.size(), (batch + 1) * global) - batch * global;
}

std::optional<EpochProgress> TrainingRun::trainEpoch(int epoch)
{
    EpochProgress progress { .epoch = epoch, .start = Clock::now() };
    const std::int64_t n = m_trainData.size();
    const std::vector<std::int64_t> order = epochOrder(n, m_options.seed, epoch);
    // Each rank its own augmentation stream (rank 0's is a plain run's).
    Rng augRng =
        rngFor(m_options.seed, std::uint64_t(epoch), 2 + (std::uint64_t(m_parallel->rank()) << 8));
    const BatchSource source = batchSource();
    // This rank's part of global batch b, on the CPU. With `prefetch` (CUDA devices by default)
    // batch b + 1 is made on a second thread while b trains; batches are still made one at a
    // time and in order, so the draws and the results are those of the inline path.
    auto makeBatch = [&](std::int64_t b) {
        const auto [from, to] = shardOf(b);
        return from < to ? source.make(order, from, to, augRng) : Batch {};
    };
    std::future<Batch> ahead; // batch b + 1 while b trains (prefetch)
    for (std::int64_t b = 0; b < m_batches; ++b) {
        if (stopRequested() || !waitWhilePaused(progress))
            break;
        Batch batch = ahead.valid() ? ahead.get() : makeBatch(b);
        if (m_prefetch && b + 1 < m_batches)
            ahead = std::async(std::launch::async, makeBatch, b + 1);
        trainBatch(batch, globalBatchSize(b), progress);
        if (progress.inStep < m_options.accumulation && b + 1 < m_batches)
            continue;
        closeStep(progress);
        const double lr = optimizerStep();
        ++progress.stepsThisEpoch;
        reportStep(progress, lr);
    }
    if (stopRequested()) {
        m_opt.zeroGrad();
        m_finished.reason = FinishReason::Cancelled;
        return std::nullopt;
    }
    return progress;
}

// Blocks while the run is paused (the pause does not count as epoch time); false when the
// stop token fires meanwhile.
bool TrainingRun::waitWhilePaused(EpochProgress &progress)
{
    if (!m_control || !m_control->paused())
        return true;
    const Clock::time_point p = Clock::now();
    if (!m_control->waitWhilePaused(m_stop))
        return false;
    progress.pausedSeconds += secondsSince(p);
    return true;
}

// Forward and backward of this rank's part of one global batch of `globalSize` clips; the
// gradients add up until the optimizer step. The rank's mean loss is scaled by its share of the
// global batch, so that the ranks' gradients summed are those of the global batch's mean loss.
void TrainingRun::trainBatch(const Batch &batch, std::int64_t globalSize, EpochProgress &progress)
{
    ++progress.inStep;
    if (!batch.x.defined())
        return; // nothing of this global batch for this rank
    const std::int64_t size = batch.y.size(0);
    const double share = double(size) / double(globalSize); // 1 in a plain run
    const torch::Tensor x = batch.x.to(m_device, /*non_blocking=*/m_pinned);
    const torch::Tensor target = batch.target.defined()
        ? batch.target.to(m_device, /*non_blocking=*/m_pinned)
        : torch::Tensor();
    const torch::Tensor logits = m_runner.forward(x);
    const torch::Tensor yd = batch.y.to(m_device);
    torch::Tensor loss = target.defined() ? -(target * torch::log_softmax(logits, 1)).sum(1).mean()
                                          : torch::nn::functional::cross_entropy(logits, yd);
    const double lossValue = loss.item<double>();
    if (!std::isfinite(lossValue) && !m_f16)
        throw Error(ErrorKind::Internal,
            "the loss is not finite at epoch " + std::to_string(progress.epoch)
                + "; lower the learning rate (--lr)");
    if (share != 1.0)
        loss = loss * share;
    torch::Tensor scaled = loss / double(m_options.accumulation);
    if (m_f16)
        scaled = scaled * m_state.lossScale;
    scaled.backward();
    progress.stepLossSum += lossValue * double(size);
    progress.stepLoss += lossValue * share;
    progress.stepCorrect += (logits.argmax(1) == yd).sum().item<std::int64_t>();
    progress.stepSeen += size;
}

// The end of an optimizer step's batches: in a data-parallel run the ranks sum their gradients
// and the step's figures (and agree whether to stop); then the figures join the epoch's.
void TrainingRun::closeStep(EpochProgress &progress)
{
    if (m_parallel->active()) {
        m_parallel->sumGradients(m_opt.params);
        const std::vector<double> total =
            m_parallel->sum({ progress.stepLoss, progress.stepLossSum, double(progress.stepCorrect),
                double(progress.stepSeen), m_stop.stop_requested() ? 1.0 : 0.0 });
        progress.stepLoss = total[0];
        progress.stepLossSum = total[1];
        progress.stepCorrect = std::int64_t(std::llround(total[2]));
        progress.stepSeen = std::int64_t(std::llround(total[3]));
        m_agreedStop = m_agreedStop || total[4] > 0;
    }
    progress.lossSum += progress.stepLossSum;
    progress.correct += progress.stepCorrect;
    progress.seen += progress.stepSeen;
    progress.stepLossSum = 0.0;
    progress.stepCorrect = progress.stepSeen = 0;
}

// One optimizer step (skipped when fp16 gradients overflowed); returns its learning rate.
double TrainingRun::optimizerStep()
{
    bool apply = true;
    if (m_f16) { // fp16 runs on CUDA only: one fused unscale-and-check, one sync
        torch::NoGradGuard noGrad;
        std::vector<torch::Tensor> grads;
        for (auto &p : m_opt.params)
            if (p.grad().defined())
                grads.push_back(p.grad());
        torch::Tensor foundInf = torch::zeros({ 1 }, grads.front().options());
        at::_amp_foreach_non_finite_check_and_unscale_(
            grads, foundInf, torch::full({ 1 }, 1.0 / m_state.lossScale, grads.front().options()));
        apply = foundInf.item<float>() == 0.0f;
        if (!apply) {
            m_state.lossScale /= 2;
            m_state.goodSteps = 0;
        } else if (++m_state.goodSteps % 2000 == 0) {
            m_state.lossScale *= 2;
        }
    }
    const double lr = scheduledRate(m_baseRate, m_state.step, m_totalSteps, m_options.warmupSteps);
    if (apply) {
        if (m_options.clipGradNorm > 0)
            torch::nn::utils::clip_grad_norm_(m_opt.params, m_options.clipGradNorm);
        m_opt.update(lr);
    }
    m_opt.zeroGrad();
    ++m_state.step;
    return lr;
}

void TrainingRun::reportStep(EpochProgress &progress, double learningRate)
{
    StepEvent step;
    step.epoch = progress.epoch;
    step.step = m_state.step;
    step.totalSteps = m_totalSteps;
    step.loss = progress.stepLoss / double(progress.inStep);
    step.learningRate = learningRate;
    const double elapsed = std::max(1e-9, secondsSince(progress.start) - progress.pausedSeconds);
    step.samplesPerSecond = double(progress.seen) / elapsed;
    step.etaSeconds =
        elapsed / double(progress.stepsThisEpoch) * double(m_totalSteps - m_state.step)
        + m_lastEvalSeconds * double(m_options.epochs - progress.epoch + 1);
    const compat::DeviceMemory memory = compat::deviceMemory(m_device);
    step.deviceMemoryBytes = memory.allocated;
    step.peakDeviceMemoryBytes = memory.peak;
    step.worldSize = m_parallel->worldSize();
    logEvent(eventJson(step));
    m_observer.onStep(step);
    progress.stepLoss = 0.0;
    progress.inStep = 0;
}

// --- End of epoch: validation, best, checkpoint ----------------------------------------------

bool TrainingRun::endEpoch(const EpochProgress &progress)
{
    const int epoch = progress.epoch;
    EpochEvent e = validateEpoch(progress);
    keepIfBest(e);
    e.seconds = secondsSince(progress.start) - progress.pausedSeconds;
    e.etaSeconds = e.seconds * double(m_options.epochs - epoch);
    m_state.epoch = epoch;
    m_state.seconds += e.seconds;
    logEvent(eventJson(e));
    m_state.metricsBytes = m_log.bytes();
    if (leader())
        saveCheckpoint();
    m_observer.onEpoch(e);

    m_finished.epochsCompleted = epoch;
    m_finished.bestEpoch = m_state.bestEpoch;
    m_finished.bestValAccuracy = std::max(0.0, m_state.bestAccuracy);
    if (m_options.patience > 0 && e.hasValidation && m_state.staleEpochs >= m_options.patience
        && epoch < m_options.epochs) {
        m_finished.reason = FinishReason::EarlyStopping;
        return false;
    }
    if (m_control && m_control->stopAfterEpochRequested() && epoch < m_options.epochs) {
        m_finished.reason = FinishReason::StoppedAfterEpoch;
        return false;
    }
    return true;
}

// The epoch event's training figures and its validation pass (timed for the ETA).
EpochEvent TrainingRun::validateEpoch(const EpochProgress &progress)
{
    const Clock::time_point evalStart = Clock::now();
    EpochEvent e;
    e.epoch = progress.epoch;
    e.epochs = m_options.epochs;
    e.labels = m_dataset.labels;
    e.trainLoss = progress.seen ? progress.lossSum / double(progress.seen) : 0.0;
    e.trainAccuracy = progress.seen ? double(progress.correct) / double(progress.seen) : 0.0;
    e.hasValidation = m_valData.size() > 0;
    if (e.hasValidation) {
        m_observer.onProgress({ ProgressPhase::Evaluating, 0, m_valData.size() });
        const EvalOutput v = evaluate(m_valData);
        e.validation = v.metrics;
        e.valLoss = v.loss;
        e.predictions = v.predictions;
    }
    m_lastEvalSeconds = secondsSince(evalStart);
    return e;
}

// Best by validation accuracy, then loss (every epoch without a validation split): saved to
// the run folder with its confusion matrix, and kept in memory for the test pass.
void TrainingRun::keepIfBest(EpochEvent &e)
{
    const double accuracy = e.hasValidation ? e.validation.accuracy : 0.0;
    e.best = !e.hasValidation || m_state.bestEpoch == 0 || accuracy > m_state.bestAccuracy
        || (accuracy == m_state.bestAccuracy && e.valLoss < m_state.bestLoss);
    if (!e.best) {
        ++m_state.staleEpochs;
        return;
    }
    m_state.bestEpoch = e.epoch;
    m_state.bestAccuracy = accuracy;
    m_state.bestLoss = e.valLoss;
    m_state.staleEpochs = 0;
    if (leader()) {
        saveAdapter(m_model, m_manifest, m_run);
        if (e.hasValidation)
            writeFileAtomic(
                m_run / RunFiles::confusion, confusionCsv(e.validation, m_dataset.labels));
    }
    m_best.clear();
    for (const auto &[name, tensor] : adapterTensors(m_model))
        m_best.emplace_back(name, tensor.detach().clone());
}

// A split's loss, metrics and predictions. The ranks of a data-parallel run score a contiguous
// part each, with rank 0's buffers (BatchNorm's running statistics, which each rank's batches
// move), and gather every clip's scores, so each has the whole split's figures.
EvalOutput TrainingRun::evaluate(const Prepared &data)
{
    if (!m_parallel->active())
        return m_runner.evaluate(data, m_numClasses, m_options.batchSize);
    std::vector<torch::Tensor> buffers;
    for (const torch::Tensor &b : m_model->buffers())
        if (b.is_floating_point())
            buffers.push_back(b);
    m_parallel->broadcast(buffers);
    const std::int64_t n = data.size(), world = m_parallel->worldSize();
    const std::int64_t from = n * m_parallel->rank() / world;
    const std::int64_t to = n * (m_parallel->rank() + 1) / world;
    const ClipScores part = m_runner.score(data, from, to, m_options.batchSize);
    // Three numbers a clip, zero outside this rank's part: the sum over ranks gathers them.
    std::vector<double> rows(std::size_t(3 * n), 0.0);
    for (std::int64_t i = from; i < to; ++i) {
        const auto k = std::size_t(i - from);
        rows[std::size_t(3 * i)] = part.predicted[k];
        rows[std::size_t(3 * i + 1)] = part.confidence[k];
        rows[std::size_t(3 * i + 2)] = part.loss[k];
    }
    rows = m_parallel->sum(std::move(rows));
    ClipScores all;
    for (std::int64_t i = 0; i < n; ++i) {
        all.predicted.push_back(int(std::lround(rows[std::size_t(3 * i)])));
        all.confidence.push_back(float(rows[std::size_t(3 * i + 1)]));
        all.loss.push_back(rows[std::size_t(3 * i + 2)]);
    }
    return summarizeScores(data, all, m_numClasses);
}

void TrainingRun::saveCheckpoint()
{
    replaceFolder(m_run / RunFiles::lastCheckpoint, [&](const fs::path &dir) {
        saveAdapter(m_model, m_manifest, dir);
        saveOptimizer(m_opt, dir / kOptimizerFile);
        writeFileAtomic(dir / kStateFile, stateJson(m_state));
    });
}

} // namespace astpeft::core::detail
