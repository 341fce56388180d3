// SPDX-License-Identifier: MIT
// The training loop (see trainer.h). Runs on the caller's thread; feature extraction fans out
// to one std::thread per core (batches.cpp).
#include "train/trainer.h"

#include "error.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "peft/adapter_io.h"
#include "peft/peft_modules.h"
#include "random.h"
#include "runtime/runtime.h"
#include "runtime/torch_compat.h"
#include "train/batches.h"
#include "train/optimizer.h"
#include "train/run_state.h"
#include "train/runner.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>

namespace astpeft::core {

using namespace detail;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
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

Precision defaultTrainingPrecision(const std::string &device)
{
    return compat::cudaSupportsBf16(torch::Device(device)) ? Precision::BF16 : Precision::F32;
}

FinishedEvent train(const TrainOptions &options, TrainObserver &observer, std::stop_token stop,
    TrainControl *control)
{
    namespace fs = std::filesystem;
    const Clock::time_point started = Clock::now();
    validate(options);
    const fs::path run = options.out;

    // --- Checks before the run folder is touched -------------------------------------------
    const bool existing = fs::exists(run / RunFiles::metrics);
    fs::path checkpoint;
    if (options.resume) {
        checkpoint = findCheckpoint(run);
        if (checkpoint.empty())
            throw Error(ErrorKind::Usage,
                "nothing to resume: no finished epoch in the run folder (checkpoints/last)", run);
        checkResumeOptions(options, run / RunFiles::options);
    } else if (existing) {
        throw Error(ErrorKind::Usage,
            "the folder already holds a run (metrics.jsonl); resume it with --resume or choose "
            "another --out",
            run);
    }
    if (fs::exists(run) && !fs::is_directory(run))
        throw Error(ErrorKind::Io, "the run folder is a file", run);

    Dataset dataset = importDataset(options.data, options.import);
    assignSplits(dataset, options.split);
    const std::vector<std::string> &labels = dataset.labels;
    const int numClasses = int(labels.size());
    if (numClasses < 2)
        throw Error(ErrorKind::Usage,
            "a classifier needs at least 2 classes; the dataset has " + std::to_string(numClasses),
            options.data);
    const std::vector<Clip> trainClips = clipsOf(dataset, Split::Train);
    const std::vector<Clip> valClips = clipsOf(dataset, Split::Validation);
    const std::vector<Clip> testClips = clipsOf(dataset, Split::Test);

    const fs::path modelDir = resolveModelDir(options.model);
    const AstConfig probeConfig = loadAstConfig(modelDir);
    const int maxLength =
        resolveMaxLength(options, trainClips, probeConfig, probeConfig.samplingRate);
    LoadedAst loaded = loadAstCheckpoint(modelDir, { maxLength, options.positions });
    const std::string fingerprint = backboneFingerprint(modelDir);

    PeftConfig peft = options.peft;
    if (!options.budget.empty())
        peft = solveBudget(loaded.config, peft,
            parseBudget(options.budget, backboneParameterCount(loaded.config)), numClasses);
    const std::string deviceName = resolveDevice(options.device);
    const torch::Device device(deviceName);
    if (device.is_cuda())
        compat::allowTf32();
    if (options.precision == Precision::F16 && device.is_cpu())
        throw Error(ErrorKind::Usage, "fp16 training needs a CUDA device; use fp32 or bf16 on CPU");
    if (options.precision == Precision::Int8)
        throw Error(ErrorKind::Usage,
            "int8 is for inference (predict, listen, timeline); train "
            "in fp32 or bf16");

    MetricsLog log;
    TrainerState state;
    if (options.resume)
        state = parseState(checkpoint / kStateFile);

    try {
        // --- Model ------------------------------------------------------------------------------
        AstForAudioClassification model = loaded.model;
        AdapterManifest manifest;
        manifest.peft = peft;
        manifest.labels = labels;
        manifest.positions = options.positions;
        manifest.frontEnd = frontEndOf(loaded.config);
        manifest.backboneFingerprint = fingerprint;
        manifest.hiddenSize = loaded.config.hiddenSize;
        manifest.numHiddenLayers = loaded.config.numHiddenLayers;
        if (options.resume)
            loadAdapter(model, checkpoint, fingerprint);
        else
            applyPeft(model, peft, labels, options.seed);
        model->audio_spectrogram_transformer->encoder->checkpointActivations =
            options.checkpointActivations;
        model->to(device);
        model->train();

        AdamW opt;
        opt.beta1 = options.beta1;
        opt.beta2 = options.beta2;
        opt.eps = options.eps;
        opt.weightDecay = options.weightDecay;
        for (const auto &item : model->named_parameters())
            if (item.value().requires_grad())
                opt.add(item.key(), item.value());
        if (options.resume)
            loadOptimizer(opt, checkpoint / kOptimizerFile);
        const std::int64_t trainable = countTrainable(*model);

        // --- Data -------------------------------------------------------------------------------
        FeatureCache cache(featureCacheOf(options));
        std::vector<SkippedFile> skipped = dataset.skipped;
        const bool waveAug = options.augment.waveform();
        Prepared trainData = prepare(trainClips, manifest.frontEnd, options.channel, cache, waveAug,
            skipped, &observer, stop);
        Prepared valData = prepare(
            valClips, manifest.frontEnd, options.channel, cache, false, skipped, &observer, stop);
        Prepared testData;
        if (options.evaluateTest && !testClips.empty())
            testData = prepare(testClips, manifest.frontEnd, options.channel, cache, false, skipped,
                &observer, stop);
        const std::vector<std::vector<float>> noise =
            loadNoise(options, dataset.noise, manifest.frontEnd.fbank.sampleRate, skipped);
        {
            std::vector<int> perClass(std::size_t(numClasses), 0);
            for (const Clip &c : trainData.clips)
                ++perClass[std::size_t(c.label)];
            for (int c = 0; c < numClasses && !stop.stop_requested(); ++c) {
                if (perClass[std::size_t(c)] != 0)
                    continue;
                std::string example;
                for (const auto &[label, why] : trainData.failures)
                    if (label == c) {
                        example = " (" + why + ")";
                        break;
                    }
                throw Error(ErrorKind::Usage,
                    "class '" + labels[std::size_t(c)]
                        + "' has no readable training clip after the split" + example,
                    options.data);
            }
        }

        // --- The run folder: created only now that the inputs are known to be usable ----------
        try {
            createDirectories(run);
            if (!options.resume) {
                writeFileAtomic(run / RunFiles::options, trainOptionsJson(options));
                writeFileAtomic(run / RunFiles::command, options.command + "\n");
            }
        } catch (const Error &e) {
            throw Error(ErrorKind::Io, "the run folder is not writable: " + e.reason(), run);
        }
        // Resuming drops what was logged after the checkpoint (an interrupted epoch), so the
        // log reads as if the run had never stopped.
        if (options.resume && fs::exists(run / RunFiles::metrics)
            && fs::file_size(run / RunFiles::metrics) > state.metricsBytes)
            fs::resize_file(run / RunFiles::metrics, state.metricsBytes);
        log.open(run / RunFiles::metrics, options.resume);

        const ImportEvent importEvent { .labels = labels,
            .summary = summarize(dataset),
            .skipped = skipped,
            .layout = dataset.layout,
            .maxLength = maxLength,
            .peft = peft,
            .parameters = countParameters(loaded.config, peft, numClasses),
            .device = deviceName };
        if (!options.resume)
            log.write(eventJson(importEvent));
        observer.onImport(importEvent);

        Runner runner { model, device, options.precision, false };
        const bool encoderCache = peft.method == PeftMethod::Linear && options.cacheEncoderOutputs
            && !options.augment.any();
        if (encoderCache && !stop.stop_requested()) {
            const auto &c = loaded.config;
            const std::int64_t tokens = 2
                + std::int64_t((c.numMelBins - c.patchSize) / c.frequencyStride + 1)
                    * ((maxLength - c.patchSize) / c.timeStride + 1);
            const std::int64_t bytes =
                (trainData.size() + valData.size() + testData.size()) * tokens * c.hiddenSize * 4;
            if (bytes <= options.cacheLimitBytes) {
                observer.onProgress({ ProgressPhase::EncoderCache, 0, trainData.size() });
                trainData.encoded = runner.encode(trainData.features, options.batchSize, stop);
                valData.encoded = runner.encode(valData.features, options.batchSize, stop);
                if (testData.size())
                    testData.encoded = runner.encode(testData.features, options.batchSize, stop);
                runner.fromEncoded = !stop.stop_requested();
                observer.onProgress(
                    { ProgressPhase::EncoderCache, trainData.size(), trainData.size() });
            }
        }

        // --- Training ---------------------------------------------------------------------------
        const double baseRate =
            options.learningRate > 0 ? options.learningRate : paperLearningRate(peft.method);
        const std::int64_t n = trainData.size();
        const std::int64_t batches = (n + options.batchSize - 1) / options.batchSize;
        const std::int64_t stepsPerEpoch =
            (batches + options.accumulation - 1) / options.accumulation;
        const std::int64_t totalSteps = stepsPerEpoch * options.epochs;
        const bool f16 = options.precision == Precision::F16;
        const bool prefetch = options.prefetch < 0 ? device.is_cuda() : options.prefetch > 0;
        const bool pinned = device.is_cuda(); // page-locked batches copy asynchronously
        const BatchSource source { trainData,
            runner.fromEncoded ? trainData.encoded : trainData.features, noise, options.augment,
            manifest.frontEnd, numClasses, pinned };
        compat::resetPeakMemory(device);

        FinishedEvent finished;
        finished.method = methodName(peft.method);
        finished.trainableParameters = trainable;
        finished.runDir = run;
        finished.labels = labels;
        finished.epochsCompleted = state.epoch;
        finished.bestEpoch = state.bestEpoch;
        finished.bestValAccuracy = std::max(0.0, state.bestAccuracy);
        finished.reason = FinishReason::Completed;
        double lastEvalSeconds = 0.0;
        std::vector<std::pair<std::string, torch::Tensor>> best; // clones, for the test pass

        for (int epoch = state.epoch + 1; epoch <= options.epochs && !stop.stop_requested();
             ++epoch) {
            const Clock::time_point epochStart = Clock::now();
            double pausedSeconds = 0.0;
            const std::vector<std::int64_t> order = epochOrder(n, options.seed, epoch);
            Rng augRng = rngFor(options.seed, std::uint64_t(epoch), 2);

            double lossSum = 0.0, stepLoss = 0.0;
            std::int64_t correct = 0, seen = 0, inStep = 0, stepsThisEpoch = 0;
            // Batch b on the CPU. With `prefetch` (CUDA devices by default) batch b + 1 is made
            // on a second thread while b trains; batches are still made one at a time and in
            // order, so the draws and the results are those of the inline path.
            auto makeBatch = [&](std::int64_t b) {
                const std::int64_t from = b * options.batchSize;
                return source.make(order, from, std::min(n, from + options.batchSize), augRng);
            };
            std::future<Batch> ahead; // batch b + 1 while b trains (prefetch)
            for (std::int64_t b = 0; b < batches; ++b) {
                if (stop.stop_requested())
                    break;
                if (control && control->paused()) {
                    const Clock::time_point p = Clock::now();
                    if (!control->waitWhilePaused(stop))
                        break;
                    pausedSeconds += secondsSince(p);
                }
                Batch batch = ahead.valid() ? ahead.get() : makeBatch(b);
                if (prefetch && b + 1 < batches)
                    ahead = std::async(std::launch::async, makeBatch, b + 1);
                const std::int64_t size = batch.y.size(0);
                const torch::Tensor x = batch.x.to(device, /*non_blocking=*/pinned);
                const torch::Tensor target = batch.target.defined()
                    ? batch.target.to(device, /*non_blocking=*/pinned)
                    : torch::Tensor();
                const torch::Tensor logits = runner.forward(x);
                const torch::Tensor yd = batch.y.to(device);
                torch::Tensor loss = target.defined()
                    ? -(target * torch::log_softmax(logits, 1)).sum(1).mean()
                    : torch::nn::functional::cross_entropy(logits, yd);
                const double lossValue = loss.item<double>();
                if (!std::isfinite(lossValue) && !f16)
                    throw Error(ErrorKind::Internal,
                        "the loss is not finite at epoch " + std::to_string(epoch)
                            + "; lower the learning rate (--lr)");
                torch::Tensor scaled = loss / double(options.accumulation);
                if (f16)
                    scaled = scaled * state.lossScale;
                scaled.backward();
                lossSum += lossValue * double(size);
                stepLoss += lossValue;
                correct += (logits.argmax(1) == yd).sum().item<std::int64_t>();
                seen += size;
                ++inStep;
                if (inStep < options.accumulation && b + 1 < batches)
                    continue;

                // One optimizer step.
                bool apply = true;
                if (f16) { // fp16 runs on CUDA only: one fused unscale-and-check, one sync
                    torch::NoGradGuard noGrad;
                    std::vector<torch::Tensor> grads;
                    for (auto &p : opt.params)
                        if (p.grad().defined())
                            grads.push_back(p.grad());
                    torch::Tensor foundInf = torch::zeros({ 1 }, grads.front().options());
                    at::_amp_foreach_non_finite_check_and_unscale_(grads, foundInf,
                        torch::full({ 1 }, 1.0 / state.lossScale, grads.front().options()));
                    apply = foundInf.item<float>() == 0.0f;
                    if (!apply) {
                        state.lossScale /= 2;
                        state.goodSteps = 0;
                    } else if (++state.goodSteps % 2000 == 0) {
                        state.lossScale *= 2;
                    }
                }
                const double lr =
                    scheduledRate(baseRate, state.step, totalSteps, options.warmupSteps);
                if (apply) {
                    if (options.clipGradNorm > 0)
                        torch::nn::utils::clip_grad_norm_(opt.params, options.clipGradNorm);
                    opt.update(lr);
                }
                opt.zeroGrad();
                ++state.step;
                ++stepsThisEpoch;

                StepEvent step;
                step.epoch = epoch;
                step.step = state.step;
                step.totalSteps = totalSteps;
                step.loss = stepLoss / double(inStep);
                step.learningRate = lr;
                const double elapsed = std::max(1e-9, secondsSince(epochStart) - pausedSeconds);
                step.samplesPerSecond = double(seen) / elapsed;
                step.etaSeconds = elapsed / double(stepsThisEpoch) * double(totalSteps - state.step)
                    + lastEvalSeconds * double(options.epochs - epoch + 1);
                const compat::DeviceMemory memory = compat::deviceMemory(device);
                step.deviceMemoryBytes = memory.allocated;
                step.peakDeviceMemoryBytes = memory.peak;
                log.write(eventJson(step));
                observer.onStep(step);
                stepLoss = 0.0;
                inStep = 0;
            }
            if (stop.stop_requested()) {
                opt.zeroGrad();
                finished.reason = FinishReason::Cancelled;
                break;
            }

            // --- End of epoch: validation, best, checkpoint --------------------------------------
            const Clock::time_point evalStart = Clock::now();
            EpochEvent e;
            e.epoch = epoch;
            e.epochs = options.epochs;
            e.labels = labels;
            e.trainLoss = seen ? lossSum / double(seen) : 0.0;
            e.trainAccuracy = seen ? double(correct) / double(seen) : 0.0;
            e.hasValidation = valData.size() > 0;
            if (e.hasValidation) {
                observer.onProgress({ ProgressPhase::Evaluating, 0, valData.size() });
                const EvalOutput v = runner.evaluate(valData, numClasses, options.batchSize);
                e.validation = v.metrics;
                e.valLoss = v.loss;
                e.predictions = v.predictions;
            }
            lastEvalSeconds = secondsSince(evalStart);
            const double accuracy = e.hasValidation ? e.validation.accuracy : 0.0;
            e.best = !e.hasValidation || state.bestEpoch == 0 || accuracy > state.bestAccuracy
                || (accuracy == state.bestAccuracy && e.valLoss < state.bestLoss);
            if (e.best) {
                state.bestEpoch = epoch;
                state.bestAccuracy = accuracy;
                state.bestLoss = e.valLoss;
                state.staleEpochs = 0;
                saveAdapter(model, manifest, run);
                if (e.hasValidation)
                    writeFileAtomic(run / RunFiles::confusion, confusionCsv(e.validation, labels));
                best.clear();
                for (const auto &[name, tensor] : adapterTensors(model))
                    best.emplace_back(name, tensor.detach().clone());
            } else {
                ++state.staleEpochs;
            }
            e.seconds = secondsSince(epochStart) - pausedSeconds;
            e.etaSeconds = e.seconds * double(options.epochs - epoch);
            state.epoch = epoch;
            state.seconds += e.seconds;
            log.write(eventJson(e));
            state.metricsBytes = log.bytes();
            replaceFolder(run / RunFiles::lastCheckpoint, [&](const fs::path &dir) {
                saveAdapter(model, manifest, dir);
                saveOptimizer(opt, dir / kOptimizerFile);
                writeFileAtomic(dir / kStateFile, stateJson(state));
            });
            observer.onEpoch(e);

            finished.epochsCompleted = epoch;
            finished.bestEpoch = state.bestEpoch;
            finished.bestValAccuracy = std::max(0.0, state.bestAccuracy);
            if (options.patience > 0 && e.hasValidation && state.staleEpochs >= options.patience
                && epoch < options.epochs) {
                finished.reason = FinishReason::EarlyStopping;
                break;
            }
            if (control && control->stopAfterEpochRequested() && epoch < options.epochs) {
                finished.reason = FinishReason::StoppedAfterEpoch;
                break;
            }
        }
        if (stop.stop_requested())
            finished.reason = FinishReason::Cancelled;

        // --- Test pass with the best adapter -------------------------------------------------
        if (finished.reason != FinishReason::Cancelled && testData.size() > 0
            && state.bestEpoch > 0) {
            torch::NoGradGuard noGrad;
            if (best.empty()) { // resumed after the best epoch: read it back
                const SafetensorsFile file(run / kAdapterWeightsFile);
                for (const auto &[name, tensor] : adapterTensors(model))
                    if (const TensorInfo *info = file.find(name);
                        info && tensor.is_floating_point())
                        tensor.copy_(loadTensor(file, *info));
            } else {
                auto now = adapterTensors(model);
                for (std::size_t i = 0; i < now.size() && i < best.size(); ++i)
                    now[i].second.copy_(best[i].second);
            }
            observer.onProgress({ ProgressPhase::Evaluating, 0, testData.size() });
            const EvalOutput t = runner.evaluate(testData, numClasses, options.batchSize);
            finished.hasTest = true;
            finished.test = t.metrics;
            finished.testLoss = t.loss;
        }
        finished.seconds = secondsSince(started);
        log.write(eventJson(finished));
        observer.onFinished(finished);
        return finished;
    } catch (const std::exception &e) {
        std::optional<Error> outOfMemory;
        if (compat::isOutOfMemory(e)) {
            compat::releaseCachedMemory();
            outOfMemory.emplace(ErrorKind::Usage,
                "out of memory on " + deviceName + " at batch size "
                    + std::to_string(options.batchSize) + ": lower --batch-size"
                    + (options.checkpointActivations ? "" : ", add --checkpoint-activations")
                    + (options.precision == Precision::F32 ? " or train in --precision bf16" : "")
                    + (state.epoch > 0
                            ? "; --resume continues after epoch " + std::to_string(state.epoch)
                            : ""),
                run);
        }
        FailedEvent failed { outOfMemory ? outOfMemory->what() : e.what() };
        try {
            log.write(eventJson(failed));
        } catch (...) { // the log itself failed (disk full): report the original error
        }
        observer.onFailed(failed);
        if (outOfMemory)
            throw *outOfMemory;
        throw;
    }
}

} // namespace astpeft::core
