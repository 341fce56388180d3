// SPDX-License-Identifier: MIT
// A training run's phases before and after its epochs (see training_run.h; the epochs are in
// training_epoch.cpp). Runs on the caller's thread; feature extraction fans out to one
// std::thread per core (batches.cpp).
#include "train/training_run.h"

#include "io/atomic_file.h"
#include "io/fnv1a.h"
#include "io/folder_lock.h"
#include "io/safetensors.h"
#include "peft/adapter_io.h"
#include "peft/peft_modules.h"
#include "runtime/runtime.h"
#include "runtime/torch_compat.h"

#include <algorithm>
#include <cmath>

namespace astpeft::core::detail {

namespace {

namespace fs = std::filesystem;

std::uint64_t fingerprintOf(const std::string &text)
{
    Fnv1a hash;
    hash.add(text);
    return hash.h;
}

void validate(const TrainOptions &o)
{
    auto fail = [](const std::string &m) { throw Error(ErrorKind::Usage, m); };
    if (o.model.empty())
        fail("no model given (--model)");
    if (o.data.empty())
        fail("no dataset given (--data)");
    if (o.out.empty())
        fail("no run folder given (--out)");
    if (o.epochs < 1)
        fail("epochs must be at least 1");
    if (o.batchSize < 1)
        fail("batch size must be at least 1");
    if (o.accumulation < 1)
        fail("accumulation must be at least 1");
    if (o.learningRate < 0 || !std::isfinite(o.learningRate))
        fail("the learning rate must be a positive number");
    if (o.warmupSteps < 0 || o.patience < 0 || o.clipGradNorm < 0 || o.maxLength < 0)
        fail("warm-up, patience, gradient clipping and max length cannot be negative");
    if (o.split.validationFraction < 0 || o.split.testFraction < 0
        || o.split.validationFraction + o.split.testFraction >= 1.0)
        fail("validation and test fractions must be >= 0 and sum to less than 1");
    const AugmentOptions &a = o.augment;
    if (a.freqMaskParam < 0 || a.timeMaskParam < 0 || a.mixupAlpha < 0 || a.noiseProbability < 0
        || a.noiseProbability > 1 || a.shiftSeconds < 0 || a.gainDb < 0
        || a.noiseSnrMin > a.noiseSnrMax)
        fail("augmentation settings out of range");
}

} // namespace

TrainingRun::TrainingRun(const TrainOptions &options, TrainObserver &observer, std::stop_token stop,
    TrainControl *control)
    : m_options(options)
    , m_observer(observer)
    , m_stop(std::move(stop))
    , m_control(control)
    , m_started(Clock::now())
    , m_run(options.out)
{ }

// --- The device and the process group ------------------------------------------------------

// The device, and for a data-parallel run its process group: joined first, so that an input
// error on one rank reaches the others (tellPeers) instead of leaving them waiting. A CUDA
// process of a data-parallel run takes its machine's GPU LOCAL_RANK unless one is named.
void TrainingRun::joinGroup()
{
    const DataParallelOptions &p = m_options.parallel;
    m_deviceName = resolveDevice(m_options.device);
    if (p.worldSize > 1 && m_deviceName.rfind("cuda", 0) == 0
        && m_options.device.find(':') == std::string::npos)
        m_deviceName = resolveDevice("cuda:" + std::to_string(p.localRank));
    m_device = torch::Device(m_deviceName);
    m_parallel = std::make_unique<DataParallel>(p, m_device);
}

void TrainingRun::tellPeers(const std::exception &e) noexcept
{
    m_parallel->postError(e.what());
}

bool TrainingRun::stopRequested() const
{
    return m_parallel->active() ? m_agreedStop : m_stop.stop_requested();
}

// The ranks agree to stop when any of them was asked to (one all-reduce).
void TrainingRun::agreeOnStop()
{
    if (m_parallel->active() && !m_agreedStop)
        m_agreedStop = m_parallel->sum({ m_stop.stop_requested() ? 1.0 : 0.0 })[0] > 0;
}

void TrainingRun::logEvent(const std::string &json)
{
    if (leader())
        m_log.write(json);
}

// --- Inputs and backbone: checked before the run folder is touched -------------------------

void TrainingRun::readInputs()
{
    validate(m_options);
    // A folder that a run has locked before: take its lock first, so that a training running
    // there is reported as such rather than by what its files say now. Otherwise the lock is
    // taken when the folder is created (createRunFolder): an input error leaves it untouched.
    // Rank 0 alone locks and writes the folder of a data-parallel run.
    if (leader() && fs::exists(m_run / FolderLock::kFileName))
        m_lock.emplace(m_run, "run folder");
    checkRunFolder();
    m_dataset = importDataset(m_options.data, m_options.import);
    assignSplits(m_dataset, m_options.split);
    m_numClasses = int(m_dataset.labels.size());
    if (m_numClasses < 2)
        throw Error(ErrorKind::Usage,
            "a classifier needs at least 2 classes; the dataset has "
                + std::to_string(m_numClasses),
            m_options.data);
    m_trainClips = clipsOf(m_dataset, Split::Train);
    m_valClips = clipsOf(m_dataset, Split::Validation);
    m_testClips = clipsOf(m_dataset, Split::Test);
}

// What the folder holds allows this run: a new run needs a folder without a run, --resume one
// that a run was started in (its checkpoint, or none when it stopped in its first epoch).
void TrainingRun::checkRunFolder()
{
    const bool started = fs::exists(m_run / RunFiles::metrics);
    if (m_options.resume) {
        m_checkpoint = findCheckpoint(m_run);
        if (m_checkpoint.empty() && !started)
            throw Error(ErrorKind::Usage,
                "nothing to resume: no run was started in the folder (metrics.jsonl)", m_run);
        checkResumeOptions(m_options, m_run);
    } else if (started) {
        throw Error(ErrorKind::Usage,
            "the folder already holds a run (metrics.jsonl); resume it with --resume or choose "
            "another --out",
            m_run);
    }
    if (fs::exists(m_run) && !fs::is_directory(m_run))
        throw Error(ErrorKind::Io, "the run folder is a file", m_run);
}

void TrainingRun::loadBackbone()
{
    const fs::path modelDir = resolveModelDir(m_options.model);
    const AstConfig probeConfig = loadAstConfig(modelDir);
    m_maxLength = resolveMaxLength(m_options, m_trainClips, probeConfig, probeConfig.samplingRate);
    m_loaded = loadAstCheckpoint(modelDir, { m_maxLength, m_options.positions });
    m_fingerprint = backboneFingerprint(modelDir);

    m_manifest.peft = m_options.peft;
    if (!m_options.budget.empty())
        m_manifest.peft = solveBudget(m_loaded.config, m_manifest.peft,
            parseBudget(m_options.budget, backboneParameterCount(m_loaded.config)), m_numClasses);
    if (const auto knob = knobProblem(m_manifest.peft, m_loaded.config, m_maxLength))
        throw Error(ErrorKind::Usage, "--" + knob->flag + " " + knob->reason);
    if (m_device.is_cuda())
        compat::allowTf32();
    if (m_options.precision == Precision::F16 && m_device.is_cpu())
        throw Error(ErrorKind::Usage, "fp16 training needs a CUDA device; use fp32 or bf16 on CPU");
    if (m_options.precision == Precision::Int8)
        throw Error(ErrorKind::Usage,
            "int8 is for inference (predict, listen, timeline); train "
            "in fp32 or bf16");
    if (!m_checkpoint.empty())
        m_state = parseState(m_checkpoint / kStateFile);
    const int world = m_options.parallel.worldSize;
    if (!m_checkpoint.empty() && m_state.worldSize != world)
        throw Error(ErrorKind::Usage,
            "the run trained on " + std::to_string(m_state.worldSize) + " process"
                + (m_state.worldSize == 1 ? "" : "es") + " (a global batch of "
                + std::to_string(m_options.batchSize) + " x " + std::to_string(m_state.worldSize)
                + "); resume it on as many, not " + std::to_string(world),
            m_run);
    m_state.worldSize = world;
    // The ranks' first meeting: none goes on to write the run folder before every rank has
    // checked it, and all train the same thing.
    m_parallel->checkSame(
        fingerprintOf(trainOptionsJson(withAbsolutePaths(m_options)) + m_fingerprint),
        "the training options or the backbone");
}

// --- Model, data and the run folder ----------------------------------------------------------

void TrainingRun::attachMethod()
{
    m_model = m_loaded.model;
    m_manifest.labels = m_dataset.labels;
    m_manifest.positions = m_options.positions;
    m_manifest.frontEnd = frontEndOf(m_loaded.config);
    m_manifest.backboneFingerprint = m_fingerprint;
    m_manifest.hiddenSize = m_loaded.config.hiddenSize;
    m_manifest.numHiddenLayers = m_loaded.config.numHiddenLayers;
    if (!m_checkpoint.empty())
        loadAdapter(m_model, m_checkpoint, m_fingerprint);
    else
        applyPeft(m_model, m_manifest.peft, m_dataset.labels, m_options.seed);
    m_model->audio_spectrogram_transformer->encoder->checkpointActivations =
        m_options.checkpointActivations;
    m_model->to(m_device);
    m_model->train();

    m_opt.beta1 = m_options.beta1;
    m_opt.beta2 = m_options.beta2;
    m_opt.eps = m_options.eps;
    m_opt.weightDecay = m_options.weightDecay;
    for (const auto &item : m_model->named_parameters())
        if (item.value().requires_grad())
            m_opt.add(item.key(), item.value());
    if (!m_checkpoint.empty())
        loadOptimizer(m_opt, m_checkpoint / kOptimizerFile);
    m_parallel->broadcast(m_opt.params); // every rank starts from rank 0's weights
    m_trainable = countTrainable(*m_model);
}

void TrainingRun::prepareInputs()
{
    FeatureCache cache(featureCacheOf(m_options));
    m_skipped = m_dataset.skipped;
    const FrontEnd &frontEnd = m_manifest.frontEnd;
    const int channel = m_options.channel;
    m_trainData = prepare(m_trainClips, frontEnd, channel, cache, m_options.augment.waveform(),
        m_skipped, &m_observer, m_stop);
    m_valData =
        prepare(m_valClips, frontEnd, channel, cache, false, m_skipped, &m_observer, m_stop);
    if (m_options.evaluateTest && !m_testClips.empty())
        m_testData =
            prepare(m_testClips, frontEnd, channel, cache, false, m_skipped, &m_observer, m_stop);
    m_noise = loadNoise(m_options, m_dataset.noise, frontEnd.fbank.sampleRate, m_skipped);
    agreeOnStop();
    if (!stopRequested()) {
        checkEveryClassTrains();
        m_parallel->checkSame(dataFingerprint(), "the data (clips, labels or unreadable files)");
    }

    if (leader())
        createRunFolder();
    const ImportEvent importEvent { .labels = m_dataset.labels,
        .summary = summarize(m_dataset, m_skipped),
        .skipped = m_skipped,
        .layout = m_dataset.layout,
        .maxLength = m_maxLength,
        .peft = m_manifest.peft,
        .parameters = countParameters(m_loaded.config, m_manifest.peft, m_numClasses),
        .device = m_deviceName,
        .worldSize = m_parallel->worldSize() };
    if (m_checkpoint.empty())
        logEvent(eventJson(importEvent));
    m_observer.onImport(importEvent);
}

// A class without a readable training clip fails the run, naming a clip that failed (unless
// the run was cancelled while the features were made).
void TrainingRun::checkEveryClassTrains() const
{
    std::vector<int> perClass(std::size_t(m_numClasses), 0);
    for (const Clip &c : m_trainData.clips)
        ++perClass[std::size_t(c.label)];
    for (int c = 0; c < m_numClasses && !stopRequested(); ++c) {
        if (perClass[std::size_t(c)] != 0)
            continue;
        std::string example;
        for (const auto &[label, why] : m_trainData.failures)
            if (label == c) {
                example = " (" + why + ")";
                break;
            }
        throw Error(ErrorKind::Usage,
            "class '" + m_dataset.labels[std::size_t(c)]
                + "' has no readable training clip after the split" + example,
            m_options.data);
    }
}

// What every rank of a data-parallel run must have read alike: the clips of each split with
// their labels, and the files that could not be read.
std::uint64_t TrainingRun::dataFingerprint() const
{
    std::string text;
    for (const Prepared *split : { &m_trainData, &m_valData, &m_testData }) {
        for (const Clip &c : split->clips)
            text += c.file.string() + '\t' + std::to_string(c.label) + '\n';
        text += "--\n";
    }
    for (const SkippedFile &f : m_skipped)
        text += f.file.string() + '\n';
    return fingerprintOf(text);
}

// The run folder, created and locked only now that the inputs are known to be usable, and its
// log.
void TrainingRun::createRunFolder()
{
    try {
        createDirectories(m_run);
    } catch (const Error &e) {
        throw Error(ErrorKind::Io, "the run folder is not writable: " + e.reason(), m_run);
    }
    if (!m_lock) {
        m_lock.emplace(m_run, "run folder");
        if (!m_options.resume)
            checkRunFolder(); // again: another process may have started a run here meanwhile
    }
    try {
        if (!m_options.resume) {
            writeFileAtomic(
                m_run / RunFiles::options, trainOptionsJson(withAbsolutePaths(m_options)));
            writeFileAtomic(m_run / RunFiles::command, m_options.command + "\n");
        }
    } catch (const Error &e) {
        throw Error(ErrorKind::Io, "the run folder is not writable: " + e.reason(), m_run);
    }
    // Resuming drops what was logged after the checkpoint (an interrupted epoch, a line cut
    // short), so the log reads as if the run had never stopped; a run resumed from its start
    // (stopped in its first epoch) starts a new log.
    m_log.open(m_run / RunFiles::metrics, m_state.metricsBytes);
}

// --- Encoder cache and schedule --------------------------------------------------------------

// Linear probing without augmentation trains on the frozen encoder's outputs, computed once,
// when they fit in options.cacheLimitBytes.
void TrainingRun::cacheEncoderOutputs()
{
    m_runner = Runner { m_model, m_device, m_options.precision, false };
    encodeOnce();
    agreeOnStop();
}

void TrainingRun::encodeOnce()
{
    const bool encoderCache = m_manifest.peft.method == PeftMethod::Linear
        && m_options.cacheEncoderOutputs && !m_options.augment.any();
    if (!encoderCache || stopRequested())
        return;
    const auto &c = m_loaded.config;
    const std::int64_t tokens = 2
        + std::int64_t((c.numMelBins - c.patchSize) / c.frequencyStride + 1)
            * ((m_maxLength - c.patchSize) / c.timeStride + 1);
    const std::int64_t bytes =
        (m_trainData.size() + m_valData.size() + m_testData.size()) * tokens * c.hiddenSize * 4;
    if (bytes > m_options.cacheLimitBytes)
        return;
    const int batchSize = m_options.batchSize;
    m_observer.onProgress({ ProgressPhase::EncoderCache, 0, m_trainData.size() });
    m_trainData.encoded = m_runner.encode(m_trainData.features, batchSize, m_stop);
    m_valData.encoded = m_runner.encode(m_valData.features, batchSize, m_stop);
    if (m_testData.size())
        m_testData.encoded = m_runner.encode(m_testData.features, batchSize, m_stop);
    m_runner.fromEncoded = !m_stop.stop_requested();
    m_observer.onProgress({ ProgressPhase::EncoderCache, m_trainData.size(), m_trainData.size() });
}

void TrainingRun::planSteps()
{
    m_baseRate = m_options.learningRate > 0 ? m_options.learningRate
                                            : paperLearningRate(m_manifest.peft.method);
    const std::int64_t n = m_trainData.size();
    const std::int64_t globalBatch = std::int64_t(m_options.batchSize) * m_parallel->worldSize();
    m_batches = (n + globalBatch - 1) / globalBatch;
    const std::int64_t stepsPerEpoch =
        (m_batches + m_options.accumulation - 1) / m_options.accumulation;
    m_totalSteps = stepsPerEpoch * m_options.epochs;
    m_f16 = m_options.precision == Precision::F16;
    m_prefetch = m_options.prefetch < 0 ? m_device.is_cuda() : m_options.prefetch > 0;
    m_pinned = m_device.is_cuda(); // page-locked batches copy asynchronously
    compat::resetPeakMemory(m_device);

    m_finished.method = methodName(m_manifest.peft.method);
    m_finished.trainableParameters = m_trainable;
    m_finished.runDir = m_run;
    m_finished.labels = m_dataset.labels;
    m_finished.epochsCompleted = m_state.epoch;
    m_finished.bestEpoch = m_state.bestEpoch;
    m_finished.bestValAccuracy = std::max(0.0, m_state.bestAccuracy);
    m_finished.reason = FinishReason::Completed;
    m_finished.worldSize = m_parallel->worldSize();
}

BatchSource TrainingRun::batchSource() const
{
    return { m_trainData, m_runner.fromEncoded ? m_trainData.encoded : m_trainData.features,
        m_noise, m_options.augment, m_manifest.frontEnd, m_numClasses, m_pinned };
}

// --- Test pass and the finished event --------------------------------------------------------

FinishedEvent TrainingRun::finish()
{
    if (stopRequested())
        m_finished.reason = FinishReason::Cancelled;
    if (m_finished.reason != FinishReason::Cancelled && m_testData.size() > 0
        && m_state.bestEpoch > 0)
        testBestAdapter();
    m_finished.seconds = secondsSince(m_started);
    const CollectiveTraffic &traffic = m_parallel->traffic();
    m_finished.allReduces = traffic.gradientReductions;
    m_finished.allReduceBytes = traffic.gradientBytes;
    m_finished.allReduceSeconds = traffic.gradientSeconds;
    logEvent(eventJson(m_finished));
    m_observer.onFinished(m_finished);
    return m_finished;
}

void TrainingRun::testBestAdapter()
{
    torch::NoGradGuard noGrad;
    if (m_best.empty()) { // resumed after the best epoch: read it back
        const SafetensorsFile file(m_run / kAdapterWeightsFile);
        for (const auto &[name, tensor] : adapterTensors(m_model))
            if (const TensorInfo *info = file.find(name); info && tensor.is_floating_point())
                tensor.copy_(loadTensor(file, *info));
    } else {
        auto now = adapterTensors(m_model);
        for (std::size_t i = 0; i < now.size() && i < m_best.size(); ++i)
            now[i].second.copy_(m_best[i].second);
    }
    m_observer.onProgress({ ProgressPhase::Evaluating, 0, m_testData.size() });
    const EvalOutput t = evaluate(m_testData);
    m_finished.hasTest = true;
    m_finished.test = t.metrics;
    m_finished.testLoss = t.loss;
}

// --- Failure ---------------------------------------------------------------------------------

std::optional<Error> TrainingRun::reportFailure(const std::exception &e)
{
    // Drop the training tensors (the data, optimizer moments, best adapter) first, so that
    // releasing the device's cached memory below frees them too.
    m_trainData = {};
    m_valData = {};
    m_testData = {};
    m_opt = {};
    m_best.clear();
    std::optional<Error> outOfMemory;
    if (compat::isOutOfMemory(e)) {
        compat::releaseCachedMemory();
        outOfMemory.emplace(ErrorKind::Usage,
            "out of memory on " + m_deviceName + " at batch size "
                + std::to_string(m_options.batchSize) + ": lower --batch-size"
                + (m_options.checkpointActivations ? "" : ", add --checkpoint-activations")
                + (m_options.precision == Precision::F32 ? " or train in --precision bf16" : "")
                + (m_state.epoch > 0
                        ? "; --resume continues after epoch " + std::to_string(m_state.epoch)
                        : ""),
            m_run);
    }
    FailedEvent failed { outOfMemory ? outOfMemory->what() : e.what() };
    try {
        logEvent(eventJson(failed));
    } catch (...) { // the log itself failed (disk full): report the original error
    }
    m_observer.onFailed(failed);
    return outOfMemory;
}

} // namespace astpeft::core::detail
