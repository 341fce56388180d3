// SPDX-License-Identifier: MIT
// The training engine (core/train/trainer.h) on spoken words generated with espeak-ng and a
// tiny random backbone: overfitting, bit-identical determinism and resume, cancel within one
// step, pause, stop after the epoch, early stopping, the linear-probing encoder cache,
// a damaged feature cache, augmentation, evaluation of a run folder, one train() per run folder,
// resuming a run stopped in its first epoch, a failed write that leaves the last checkpoint and
// whole log lines intact, and the errors that must come before training starts.
#include "audio/audio_file.h"
#include "error.h"
#include "inference/classifier.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "peft/adapter_manifest.h"
#include "random.h"
#include "test_support.h"
#include "train/run_log.h"
#include "train/trainer.h"
#include "word_dataset.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

using namespace astpeft::core;
using astpeft::test::captureError;

namespace {

std::string readBytes(const std::filesystem::path &file)
{
    std::ifstream in(file, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The "event" of every line of a run's metrics.jsonl; "<not JSON>" for a line that does not
// parse, "<cut short>" for a last line without its newline.
std::vector<std::string> loggedEvents(const std::filesystem::path &run)
{
    const QByteArray text = QByteArray::fromStdString(readBytes(run / RunFiles::metrics));
    std::vector<std::string> events;
    const QList<QByteArray> lines = text.split('\n');
    for (qsizetype i = 0; i < lines.size(); ++i) {
        if (i + 1 == lines.size()) {
            if (!lines[i].isEmpty())
                events.push_back("<cut short>");
            break;
        }
        const QJsonDocument doc = QJsonDocument::fromJson(lines[i]);
        events.push_back(
            doc.isObject() ? doc.object().value("event").toString().toStdString() : "<not JSON>");
    }
    return events;
}

// How many of `events` are `name`.
int countOf(const std::vector<std::string> &events, const std::string &name)
{
    return int(std::count(events.begin(), events.end(), name));
}

// 2 s of Gaussian noise (standard deviation `sigma`) at 16 kHz, mono, in a new file whose
// folders are created.
void writeWhiteNoise(const std::filesystem::path &file, double sigma, std::uint64_t seed)
{
    std::filesystem::create_directories(file.parent_path());
    std::vector<float> noise(16000 * 2);
    Rng rng { seed };
    for (float &x : noise)
        x = float(sigma * rng.normal());
    writeAudio(file, noise, 16000, 1);
}

// Records every event; optional hooks run on the training thread.
struct Recorder : TrainObserver
{
    std::vector<StepEvent> steps;
    std::vector<EpochEvent> epochs;
    std::optional<ImportEvent> import;
    std::optional<FinishedEvent> finished;
    std::optional<FailedEvent> failed;
    std::function<void(const StepEvent &)> onStepHook;
    std::function<void(const EpochEvent &)> onEpochHook;

    void onImport(const ImportEvent &e) override { import = e; }
    void onStep(const StepEvent &e) override
    {
        steps.push_back(e);
        if (onStepHook)
            onStepHook(e);
    }
    void onEpoch(const EpochEvent &e) override
    {
        epochs.push_back(e);
        if (onEpochHook)
            onEpochHook(e);
    }
    void onFinished(const FinishedEvent &e) override { finished = e; }
    void onFailed(const FailedEvent &e) override { failed = e; }
};

} // namespace

class TestTrainer : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    std::filesystem::path m_data, m_model, m_cache;
    int m_run = 0;

    TrainOptions options(PeftMethod method, int epochs)
    {
        TrainOptions o;
        o.model = m_model;
        o.data = m_data;
        o.peft = paperSetting(method);
        o.peft.lora.rank = 4;
        o.peft.adapter.bottleneck = 4;
        o.peft.adapter.kernel = 5;
        o.peft.prompts = 4;
        o.epochs = epochs;
        o.batchSize = 8;
        o.seed = 7;
        o.split.seed = 7;
        o.split.validationFraction = 0.25;
        o.featureCache = m_cache;
        o.out = freshRun();
        return o;
    }
    std::filesystem::path freshRun()
    {
        return std::filesystem::path(m_tmp.path().toStdString())
            / ("run" + std::to_string(++m_run));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        const std::filesystem::path root = m_tmp.path().toStdString();
        m_data = root / "words";
        m_model = root / "model";
        m_cache = root / "cache";
        astpeft::test::WordDatasetOptions words;
        words.pitches = { 30, 70 };
        QCOMPARE(astpeft::test::writeWordDataset(QString::fromStdString(m_data.string()), words),
            4 * 4 * 2 * 2);
        RandomModelOptions model;
        model.preset = "tiny";
        model.maxLength = 128;
        model.seed = 3;
        writeRandomModel(m_model, model);
    }

    void overfitsASmallSet()
    {
        TrainOptions o = options(PeftMethod::Full, 30);
        o.learningRate = 1e-3;
        Recorder r;
        const FinishedEvent f = train(o, r);
        QCOMPARE(f.reason, FinishReason::Completed);
        QCOMPARE(int(r.epochs.size()), 30);
        QCOMPARE(r.epochs.back().trainAccuracy, 1.0);
        QVERIFY(r.epochs.back().trainLoss < 0.1 * r.epochs.front().trainLoss);
        // The learning rate follows the cosine schedule down to ~0 at the last step.
        QCOMPARE(r.steps.front().learningRate, 1e-3);
        QVERIFY(r.steps.back().learningRate < 1e-5);
        QCOMPARE(r.steps.back().step, r.steps.back().totalSteps);
    }

    void deterministicAndResumesBitIdentically()
    {
        const TrainOptions a = options(PeftMethod::Lora, 5);
        Recorder ra;
        train(a, ra);

        TrainOptions again = a;
        again.out = freshRun();
        Recorder rAgain;
        train(again, rAgain);
        QCOMPARE(
            readBytes(again.out / kAdapterWeightsFile), readBytes(a.out / kAdapterWeightsFile));

        // The same run, stopped after epoch 2 and resumed: identical to the uninterrupted one.
        TrainOptions b = a;
        b.out = freshRun();
        TrainControl control;
        Recorder rb;
        rb.onEpochHook = [&](const EpochEvent &e) {
            if (e.epoch == 2)
                control.stopAfterEpoch();
        };
        QCOMPARE(train(b, rb, {}, &control).reason, FinishReason::StoppedAfterEpoch);
        QCOMPARE(int(rb.epochs.size()), 2);
        TrainOptions resume = b;
        resume.resume = true;
        Recorder rc;
        const FinishedEvent f = train(resume, rc);
        QCOMPARE(f.reason, FinishReason::Completed);
        QCOMPARE(rc.epochs.front().epoch, 3);
        for (const char *file :
            { "adapter_model.safetensors", "checkpoints/last/optimizer.safetensors",
                "checkpoints/last/adapter_model.safetensors" })
            QVERIFY2(readBytes(b.out / file) == readBytes(a.out / file), file);
        for (int e = 0; e < 3; ++e) {
            QCOMPARE(rc.epochs[std::size_t(e)].trainLoss, ra.epochs[std::size_t(e + 2)].trainLoss);
            QCOMPARE(rc.epochs[std::size_t(e)].valLoss, ra.epochs[std::size_t(e + 2)].valLoss);
        }
        // The log reads like one run: one import, five epochs, one finished (what was logged
        // after the checkpoint, here the first "finished", is dropped on resume).
        std::ifstream log(b.out / RunFiles::metrics);
        int imports = 0, epochs = 0, finished = 0;
        for (std::string line; std::getline(log, line);) {
            imports += line.find("\"event\":\"import\"") != std::string::npos;
            epochs += line.find("\"event\":\"epoch\"") != std::string::npos;
            finished += line.find("\"event\":\"finished\"") != std::string::npos;
        }
        QCOMPARE(imports, 1);
        QCOMPARE(epochs, 5);
        QCOMPARE(finished, 1);
    }

    void checkpointedActivationsTrainIdentically()
    {
        // Activation checkpointing trades time for memory only: a prefix-tuning run (trainable
        // tensors inside every layer) ends with the plain run's adapter, byte for byte, and the
        // option is recorded in options.json so that a resume keeps it.
        const TrainOptions plain = options(PeftMethod::Prefix, 2);
        Recorder rp;
        train(plain, rp);
        TrainOptions checkpointed = plain;
        checkpointed.out = freshRun();
        checkpointed.checkpointActivations = true;
        Recorder rc;
        train(checkpointed, rc);
        QCOMPARE(readBytes(checkpointed.out / kAdapterWeightsFile),
            readBytes(plain.out / kAdapterWeightsFile));
        QCOMPARE(rc.epochs.back().valLoss, rp.epochs.back().valLoss);
        const TrainOptions reread =
            parseTrainOptions(readTextFile(checkpointed.out / RunFiles::options),
                checkpointed.out / RunFiles::options);
        QVERIFY(reread.checkpointActivations);
    }

    void cancelStopsWithinOneStep()
    {
        const TrainOptions o = options(PeftMethod::Adapter, 4);
        std::stop_source stop;
        Recorder r;
        std::size_t stepsAtRequest = 0;
        r.onStepHook = [&](const StepEvent &e) {
            if (e.epoch == 2 && !stop.stop_requested()) {
                stop.request_stop();
                stepsAtRequest = r.steps.size();
            }
        };
        const FinishedEvent f = train(o, r, stop.get_token());
        QCOMPARE(f.reason, FinishReason::Cancelled);
        QCOMPARE(r.steps.size(), stepsAtRequest); // not one more step
        QCOMPARE(int(r.epochs.size()), 1);
        QCOMPARE(f.epochsCompleted, 1);
        QVERIFY(!f.hasTest);
        // The checkpoint of epoch 1 is there to resume from.
        const std::string state =
            readBytes(o.out / RunFiles::lastCheckpoint / "trainer_state.json");
        QVERIFY2(state.find("\"epoch\": 1") != std::string::npos, state.c_str());
    }

    // A pause takes effect before the next step: the trainer holds (no step while it does) and
    // goes on where it stopped on resume.
    void pauseHoldsTraining()
    {
        const TrainOptions o = options(PeftMethod::BitFit, 2);
        TrainControl control;
        Recorder r;
        std::jthread resumer;
        std::size_t stepsWhileHeld = 0;
        r.onStepHook = [&](const StepEvent &e) {
            if (e.step == 2) {
                control.pause();
                resumer = std::jthread([&] {
                    while (!control.holding()) // the training thread blocks in the pause
                        std::this_thread::yield();
                    stepsWhileHeld = r.steps.size();
                    control.resume();
                });
            }
        };
        QCOMPARE(train(o, r, {}, &control).reason, FinishReason::Completed);
        resumer.join();
        QCOMPARE(stepsWhileHeld, std::size_t(2));
        QVERIFY(r.steps.size() >= 4);
        QVERIFY(!control.holding());
        QCOMPARE(int(r.epochs.size()), 2);
    }

    void earlyStopping()
    {
        // A learning rate too small to change anything: epoch 1 stays the best.
        TrainOptions o = options(PeftMethod::Lora, 10);
        o.learningRate = 1e-30;
        o.weightDecay = 0.0;
        o.patience = 2;
        Recorder r;
        const FinishedEvent f = train(o, r);
        QCOMPARE(f.reason, FinishReason::EarlyStopping);
        QCOMPARE(f.epochsCompleted, 3);
        QCOMPARE(f.bestEpoch, 1);
    }

    void linearProbingCacheMatchesFullForward()
    {
        TrainOptions cached = options(PeftMethod::Linear, 3);
        TrainOptions plain = cached;
        plain.out = freshRun();
        plain.cacheEncoderOutputs = false;
        Recorder rc, rp;
        train(cached, rc);
        train(plain, rp);
        QCOMPARE(rc.epochs.size(), rp.epochs.size());
        for (std::size_t e = 0; e < rc.epochs.size(); ++e) {
            QCOMPARE(rc.epochs[e].validation.accuracy, rp.epochs[e].validation.accuracy);
            QVERIFY(std::abs(rc.epochs[e].trainLoss - rp.epochs[e].trainLoss) < 1e-4);
            QVERIFY(std::abs(rc.epochs[e].valLoss - rp.epochs[e].valLoss) < 1e-4);
        }
    }

    // Issue 17, defect 8: feature cache entries overwritten with constants were trained on, and
    // entries of NaN failed the run with "loss is not finite". Both are recomputed: the run is
    // bit-identical to one with an intact cache.
    void damagedFeatureCacheTrainsIdentically()
    {
        TrainOptions intact = options(PeftMethod::Lora, 2);
        intact.featureCache = std::filesystem::path(m_tmp.path().toStdString()) / "damaged-cache";
        Recorder ri;
        QCOMPARE(train(intact, ri).reason, FinishReason::Completed);

        int damaged = 0;
        for (const auto &entry :
            std::filesystem::recursive_directory_iterator(intact.featureCache)) {
            if (entry.path().extension() != ".feat")
                continue;
            // The values after the header: zeros in one entry, NaN (0xff bytes) in the next.
            std::string bytes = readBytes(entry.path());
            const std::size_t header = 28;
            QVERIFY(bytes.size() > header);
            bytes.replace(header, std::string::npos, bytes.size() - header,
                damaged % 2 == 0 ? char(0) : char(0xff));
            std::ofstream(entry.path(), std::ios::binary | std::ios::trunc) << bytes;
            ++damaged;
        }
        QVERIFY(damaged >= 2);

        TrainOptions again = intact;
        again.out = freshRun();
        Recorder ra;
        QCOMPARE(train(again, ra).reason, FinishReason::Completed);
        QVERIFY(!ra.failed);
        QCOMPARE(readBytes(again.out / kAdapterWeightsFile),
            readBytes(intact.out / kAdapterWeightsFile));
        QCOMPARE(ra.epochs.back().trainLoss, ri.epochs.back().trainLoss);
    }

    // Issue 17: the import summary counted clips that were skipped later, when their features
    // were made. It counts only the usable ones, and lists the others with their reason.
    void importSummaryCountsOnlyUsableClips()
    {
        const std::filesystem::path data =
            std::filesystem::path(m_tmp.path().toStdString()) / "words-with-nan";
        std::filesystem::copy(m_data, data, std::filesystem::copy_options::recursive);
        const std::filesystem::path nan = data / "yes" / "nan.wav";
        // Its header passes the import's probe; decoding it fails.
        writeAudio(nan, std::vector<float>(16000, std::numeric_limits<float>::quiet_NaN()), 16000,
            1, "FLOAT");

        TrainOptions o = options(PeftMethod::Linear, 1);
        o.data = data;
        Recorder r;
        QCOMPARE(train(o, r).reason, FinishReason::Completed);
        QVERIFY(r.import);
        const ImportSummary &summary = r.import->summary;
        QCOMPARE(summary.clips, 4 * 4 * 2 * 2);
        QCOMPARE(summary.skipped, 1);
        for (const ClassSummary &c : summary.classes)
            QCOMPARE(c.clips, 4 * 2 * 2);
        QCOMPARE(r.import->skipped.size(), std::size_t(1));
        QCOMPARE(r.import->skipped.front().file, nan);
        QVERIFY2(
            r.import->skipped.front().reason.find("non-finite sample (NaN)") != std::string::npos,
            r.import->skipped.front().reason.c_str());
    }

    void augmentationIsSeeded()
    {
        // Background noise for the noise mixer.
        const std::filesystem::path noiseDir = m_data / "_background_noise_";
        writeWhiteNoise(noiseDir / "white.wav", 0.1, 5);

        TrainOptions o = options(PeftMethod::Adapter, 2);
        o.augment.freqMaskParam = 24;
        o.augment.timeMaskParam = 20;
        o.augment.mixupAlpha = 0.5;
        o.augment.noiseProbability = 0.5;
        o.augment.shiftSeconds = 0.1;
        o.augment.gainDb = 6;
        TrainOptions again = o;
        again.out = freshRun();
        Recorder r1, r2;
        train(o, r1);
        train(again, r2);
        QCOMPARE(r1.epochs.back().trainLoss, r2.epochs.back().trainLoss);
        QCOMPARE(
            readBytes(o.out / kAdapterWeightsFile), readBytes(again.out / kAdapterWeightsFile));
        // Batches made one ahead on a second thread (as on a GPU): the same draws, the same run.
        TrainOptions ahead = o;
        ahead.out = freshRun();
        ahead.prefetch = 1;
        Recorder rAhead;
        train(ahead, rAhead);
        QCOMPARE(rAhead.epochs.back().trainLoss, r1.epochs.back().trainLoss);
        QCOMPARE(
            readBytes(ahead.out / kAdapterWeightsFile), readBytes(o.out / kAdapterWeightsFile));
        // Augmentation changes what the model sees.
        TrainOptions none = o;
        none.out = freshRun();
        none.augment = {};
        Recorder r3;
        train(none, r3);
        QVERIFY(r3.epochs.front().trainLoss != r1.epochs.front().trainLoss);
        std::filesystem::remove_all(noiseDir);
    }

    // A device running out of memory mid-run (here the allocator's std::bad_alloc, thrown in
    // epoch 2) ends the run with one message naming the remedies, logs it, and leaves epoch 1's
    // checkpoint to resume from.
    void outOfMemoryStopsResumably()
    {
        TrainOptions o = options(PeftMethod::Lora, 3);
        Recorder r;
        r.onStepHook = [](const StepEvent &e) {
            if (e.epoch == 2)
                throw std::bad_alloc();
        };
        const std::optional<Error> e = captureError([&] { train(o, r); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::Usage);
        const std::string message = e->what();
        for (const char *part :
            { "out of memory on cpu at batch size 8", "--batch-size", "--checkpoint-activations",
                "--precision bf16", "--resume continues after epoch 1" })
            QVERIFY2(message.find(part) != std::string::npos, message.c_str());
        QVERIFY(message.find('\n') == std::string::npos);
        QVERIFY(r.failed);
        QCOMPARE(r.failed->message, message);
        std::ifstream log(o.out / RunFiles::metrics);
        std::string line, last;
        while (std::getline(log, line))
            last = line;
        QVERIFY2(last.find("\"event\":\"failed\"") != std::string::npos
                && last.find("out of memory") != std::string::npos,
            last.c_str());
        TrainOptions resume = o;
        resume.resume = true;
        Recorder rr;
        QCOMPARE(train(resume, rr).reason, FinishReason::Completed);
        QCOMPARE(rr.epochs.front().epoch, 2);
    }

    // The input pipeline alone: whole batches of the training split, from features in memory
    // or, with waveform augmentation, from audio; a dataset without training clips is refused.
    void inputPipelineBenchmark()
    {
        TrainOptions o = options(PeftMethod::Lora, 1);
        o.augment.freqMaskParam = 24;
        o.augment.mixupAlpha = 0.5;
        const PipelineBenchmark features = benchmarkInputPipeline(o, 0.2);
        QVERIFY(!features.waveform);
        QVERIFY(features.samples > 0);
        QVERIFY(features.seconds >= 0.2);
        QCOMPARE(features.samplesPerSecond, double(features.samples) / features.seconds);
        o.augment.shiftSeconds = 0.1;
        const PipelineBenchmark audio = benchmarkInputPipeline(o, 0.0);
        QVERIFY(audio.waveform);
        QCOMPARE(audio.samples, std::int64_t(o.batchSize)); // one batch at least, then time is up
        TrainOptions none = o;
        none.data = m_cache; // no clips there
        QVERIFY(captureError([&] { benchmarkInputPipeline(none, 0.1); }).has_value());
    }

    void noiseFilesBesideTheDataset()
    {
        // The studio's manifest cannot list noise: its files come in as TrainOptions::noiseFiles
        // (files, or folders of audio files) and are mixed like the dataset's own.
        const std::filesystem::path root = m_tmp.path().toStdString();
        const std::filesystem::path noiseDir = root / "noise", emptyDir = root / "no-audio";
        std::filesystem::create_directories(emptyDir);
        writeWhiteNoise(noiseDir / "hiss.wav", 0.2, 9);
        std::ofstream(noiseDir / "notes.txt") << "not audio";
        std::ofstream(emptyDir / "readme.md") << "nothing here";

        auto run = [&](std::vector<std::filesystem::path> files, Recorder &r) {
            TrainOptions o = options(PeftMethod::Adapter, 1);
            o.augment.noiseProbability = 1.0;
            o.noiseFiles = std::move(files);
            train(o, r);
            return o.out;
        };
        Recorder without, folder, file, missing;
        run({}, without); // no noise anywhere: nothing is mixed
        const std::filesystem::path folderRun = run({ noiseDir }, folder);
        run({ noiseDir / "hiss.wav", noiseDir / "hiss.wav" }, file);
        run({ root / "missing.wav", emptyDir }, missing);

        for (const Recorder *r : { &without, &folder, &file, &missing })
            QVERIFY(r->finished && r->finished->reason == FinishReason::Completed);
        QVERIFY(folder.epochs.front().trainLoss != without.epochs.front().trainLoss);
        // The folder means its one audio file (the .txt is not audio); a file listed twice is
        // mixed as one.
        QCOMPARE(file.epochs.front().trainLoss, folder.epochs.front().trainLoss);
        // Paths that give no audio are reported and training goes on without noise.
        QCOMPARE(missing.epochs.front().trainLoss, without.epochs.front().trainLoss);
        QVERIFY(missing.import);
        QStringList reasons;
        for (const SkippedFile &s : missing.import->skipped)
            reasons << QString::fromStdString(s.file.filename().string() + ": " + s.reason);
        QVERIFY2(
            reasons.contains("missing.wav: noise file not found"), qPrintable(reasons.join('|')));
        QVERIFY2(reasons.contains("no-audio: noise folder without audio files"),
            qPrintable(reasons.join('|')));
        // The run records them, so that --resume mixes the same noise.
        const TrainOptions saved = parseTrainOptions(readBytes(folderRun / "options.json"));
        QCOMPARE(saved.noiseFiles, std::vector<std::filesystem::path> { noiseDir });
    }

    void evaluateRunReproducesValidation()
    {
        TrainOptions o = options(PeftMethod::Adapter, 3);
        o.split.testFraction = 0.2;
        Recorder r;
        const FinishedEvent f = train(o, r);
        QVERIFY(f.hasTest);
        const EpochEvent *best = nullptr;
        for (const EpochEvent &e : r.epochs) {
            if (e.best)
                best = &e;
        }
        QVERIFY(best);
        const EvalResult v = evaluateRun({ .run = o.out, .split = Split::Validation });
        QCOMPARE(v.metrics.accuracy, best->validation.accuracy);
        QCOMPARE(v.metrics.confusion, best->validation.confusion);
        QCOMPARE(v.loss, best->valLoss);
        const EvalResult t = evaluateRun({ .run = o.out, .split = Split::Test });
        QCOMPARE(t.metrics.accuracy, f.test.accuracy);
        QCOMPARE(t.metrics.confusion, f.test.confusion);
        // The run folder also loads as a classifier with the adapter's preprocessing.
        const AstClassifier c(m_model, { .device = "cpu", .adapter = o.out });
        QCOMPARE(c.summary().config.labels, r.import->labels);
        QCOMPARE(c.frontEnd().maxLength, r.import->maxLength);
    }

    void accumulationWarmupAndClipping()
    {
        // Two accumulated batches of 4 are one batch of 8 (same shuffle, same mean gradient).
        TrainOptions eight = options(PeftMethod::Lora, 2);
        TrainOptions fourTwice = eight;
        fourTwice.out = freshRun();
        fourTwice.batchSize = 4;
        fourTwice.accumulation = 2;
        Recorder r8, r4;
        train(eight, r8);
        train(fourTwice, r4);
        QCOMPARE(r4.steps.size(), r8.steps.size());
        QVERIFY(std::abs(r4.epochs.back().valLoss - r8.epochs.back().valLoss) < 1e-4);
        QVERIFY(std::abs(r4.epochs.back().trainLoss - r8.epochs.back().trainLoss) < 1e-4);

        // Warm-up: linear from base / warmup to base, then the cosine.
        TrainOptions warm = options(PeftMethod::Lora, 2);
        warm.learningRate = 1e-3;
        warm.warmupSteps = 4;
        Recorder rw;
        train(warm, rw);
        for (int i = 0; i < 4; ++i)
            QVERIFY(std::abs(rw.steps[std::size_t(i)].learningRate - 1e-3 * (i + 1) / 4) < 1e-12);
        QCOMPARE(rw.steps[4].learningRate, 1e-3); // the cosine starts at the base rate
        QVERIFY(rw.steps[5].learningRate < 1e-3);

        // Clipping the gradient norm to almost nothing leaves AdamW's eps in charge: the
        // training loss barely moves compared with the unclipped run.
        TrainOptions clipped = options(PeftMethod::Lora, 2);
        clipped.clipGradNorm = 1e-12;
        Recorder rc;
        train(clipped, rc);
        const double moved = std::abs(r8.epochs.back().trainLoss - r8.epochs.front().trainLoss);
        const double movedClipped =
            std::abs(rc.epochs.back().trainLoss - rc.epochs.front().trainLoss);
        QVERIFY2(movedClipped < 0.1 * moved,
            qPrintable(QString("%1 vs %2").arg(movedClipped).arg(moved)));
    }

    void bf16AutocastTrains()
    {
        // bf16 autocast of the forward pass on CPU (slow without AVX512-BF16, but correct): the
        // loss is finite and close to the fp32 run's at the first epoch.
        TrainOptions bf16 = options(PeftMethod::Lora, 1);
        bf16.precision = Precision::BF16;
        TrainOptions fp32 = bf16;
        fp32.out = freshRun();
        fp32.precision = Precision::F32;
        Recorder rb, rf;
        train(bf16, rb);
        train(fp32, rf);
        QVERIFY(std::isfinite(rb.epochs.front().trainLoss));
        QVERIFY(std::abs(rb.epochs.front().trainLoss - rf.epochs.front().trainLoss) < 0.05);
        QVERIFY(rb.epochs.front().trainLoss != rf.epochs.front().trainLoss);
        // fp16 needs CUDA.
        TrainOptions fp16 = options(PeftMethod::Lora, 1);
        fp16.precision = Precision::F16;
        fp16.device = "cpu";
        const auto e = captureError([&] { train(fp16, rb); });
        QVERIFY(e && e->kind() == ErrorKind::Usage);
        QVERIFY(!std::filesystem::exists(fp16.out));
    }

    void budgetSizesTheMethod()
    {
        TrainOptions o = options(PeftMethod::Lora, 1);
        o.budget = "5%";
        Recorder r;
        train(o, r);
        QVERIFY(r.import);
        const ParameterBreakdown &p = r.import->parameters;
        QVERIFY(p.withoutHead() <= std::int64_t(0.05 * double(p.backbone)));
        QVERIFY(r.import->peft.lora.rank > 4); // grew from the knob given
        QCOMPARE(r.finished->trainableParameters, p.total());
    }

    // A run folder belongs to one train() at a time: while a run trains, another train() on
    // its folder (a new run, or --resume) is refused at once, naming the folder; once the run
    // has ended its folder can be resumed.
    void runFolderIsLockedWhileTraining()
    {
        const TrainOptions o = options(PeftMethod::Lora, 1);
        TrainOptions resume = o;
        resume.resume = true;
        std::optional<Error> again, resumed;
        Recorder inner;
        Recorder r;
        r.onStepHook = [&](const StepEvent &e) {
            if (e.step != 2)
                return;
            again = captureError([&] { train(o, inner); });
            resumed = captureError([&] { train(resume, inner); });
        };
        QCOMPARE(train(o, r).reason, FinishReason::Completed);
        for (const std::optional<Error> &e : { again, resumed }) {
            QVERIFY(e);
            QCOMPARE(e->kind(), ErrorKind::Io);
            QCOMPARE(e->file(), o.out);
            QVERIFY2(e->reason().starts_with("the run folder is in use by"), e->what());
        }
        QVERIFY(!inner.import && !inner.failed); // refused before anything happened
        QCOMPARE(countOf(loggedEvents(o.out), "import"), 1);
        resume.epochs = 2;
        Recorder after;
        QCOMPARE(train(resume, after).reason, FinishReason::Completed);
        QCOMPARE(after.epochs.front().epoch, 2);
    }

    // A run stopped in its first epoch (no checkpoint yet) with the last line of its log cut
    // short, as a crash leaves it: --resume starts it again from the start, repairs the log and
    // ends with the adapter of an uninterrupted run.
    void resumesARunStoppedInItsFirstEpoch()
    {
        const TrainOptions whole = options(PeftMethod::Lora, 2);
        Recorder rw;
        train(whole, rw);
        TrainOptions o = whole;
        o.out = freshRun();
        std::stop_source stop;
        Recorder r;
        r.onStepHook = [&](const StepEvent &e) {
            if (e.step == 2)
                stop.request_stop();
        };
        const FinishedEvent cancelled = train(o, r, stop.get_token());
        QCOMPARE(cancelled.reason, FinishReason::Cancelled);
        QCOMPARE(cancelled.epochsCompleted, 0);
        QVERIFY(!std::filesystem::exists(o.out / RunFiles::lastCheckpoint));
        std::ofstream(o.out / RunFiles::metrics, std::ios::app) << "{\"event\":\"step\",\"epo";
        QCOMPARE(loggedEvents(o.out).back(), std::string("<cut short>"));

        TrainOptions resume = o;
        resume.resume = true;
        Recorder rr;
        const FinishedEvent f = train(resume, rr);
        QCOMPARE(f.reason, FinishReason::Completed);
        QCOMPARE(int(rr.epochs.size()), 2);
        QCOMPARE(rr.epochs.front().epoch, 1);
        QCOMPARE(
            readBytes(o.out / kAdapterWeightsFile), readBytes(whole.out / kAdapterWeightsFile));
        // The log reads as the uninterrupted run's, and readRunLog reads it.
        QCOMPARE(loggedEvents(o.out), loggedEvents(whole.out));
        const RunLog log = readRunLog(o.out);
        QVERIFY2(log.error.empty(), log.error.c_str());
        QVERIFY(log.finished);
        QCOMPARE(log.finished->reason, FinishReason::Completed);
        QCOMPARE(int(log.epochs.size()), 2);
        QCOMPARE(log.steps.size(), rw.steps.size());
    }

    void failedWriteKeepsTheLastCheckpoint()
    {
        // A disk that fills up: the CLI child may write files of at most 48 KB (RLIMIT_FSIZE,
        // with SIGXFSZ ignored so writes fail with EFBIG). metrics.jsonl outgrows it during
        // training; the run fails cleanly and resumes to the same result as an unlimited run.
        const std::filesystem::path full = freshRun(), reference = freshRun();
        const QString common = QString(" train --model '%1' --data '%2' --method lora --rank 4 "
                                       "--epochs 40 --seed 7 --cache-dir '%3' --out ")
                                   .arg(QString::fromStdString(m_model.string()),
                                       QString::fromStdString(m_data.string()),
                                       QString::fromStdString(m_cache.string()));
        const QString cli = QStringLiteral(ASTPEFT_CLI);
        QProcess limited;
        limited.start("bash",
            { "-c",
                "trap '' XFSZ; ulimit -f 48; '" + cli + "'" + common + "'"
                    + QString::fromStdString(full.string()) + "'" });
        QVERIFY(limited.waitForFinished(300000));
        QCOMPARE(limited.exitCode(), 1);
        const QString err = limited.readAllStandardError();
        QVERIFY2(err.contains("metrics.jsonl"), qPrintable(err));
        const std::string state = readBytes(full / RunFiles::lastCheckpoint / "trainer_state.json");
        QVERIFY2(state.find("\"epoch\": 40") == std::string::npos, state.c_str());
        QVERIFY(state.find("\"epoch\"") != std::string::npos);
        // The line that did not fit was cut off again: whole lines only, readRunLog reads them,
        // and the failed event follows when it fits.
        const std::vector<std::string> events = loggedEvents(full);
        QVERIFY(!events.empty());
        QCOMPARE(countOf(events, "<cut short>") + countOf(events, "<not JSON>"), 0);
        const RunLog log = readRunLog(full);
        QVERIFY2(log.error.empty(), log.error.c_str());
        if (events.back() == "failed")
            QVERIFY2(log.failure.find("metrics.jsonl") != std::string::npos, log.failure.c_str());

        QProcess resumed;
        resumed.start(cli, { "train", "--resume", "--out", QString::fromStdString(full.string()) });
        QVERIFY(resumed.waitForFinished(300000));
        QVERIFY2(resumed.exitCode() == 0, resumed.readAllStandardError().constData());
        QProcess whole;
        whole.start("bash",
            { "-c",
                "'" + cli + "'" + common + "'" + QString::fromStdString(reference.string())
                    + "'" });
        QVERIFY(whole.waitForFinished(300000));
        QCOMPARE(whole.exitCode(), 0);
        QVERIFY(
            readBytes(full / kAdapterWeightsFile) == readBytes(reference / kAdapterWeightsFile));
    }

    void errorsComeBeforeTraining()
    {
        Recorder r;
        // Bad options.
        TrainOptions o = options(PeftMethod::Lora, 0);
        auto e = captureError([&] { train(o, r); });
        QVERIFY(e && e->kind() == ErrorKind::Usage);
        QVERIFY(!std::filesystem::exists(o.out));
        // int8 is for inference.
        o = options(PeftMethod::Lora, 1);
        o.precision = Precision::Int8;
        e = captureError([&] { train(o, r); });
        QVERIFY(e && e->kind() == ErrorKind::Usage && QString(e->what()).contains("int8"));
        QVERIFY(!std::filesystem::exists(o.out));
        // An empty data folder: no layout.
        o = options(PeftMethod::Lora, 1);
        const std::filesystem::path empty = m_tmp.path().toStdString() + "/empty";
        std::filesystem::create_directories(empty);
        o.data = empty;
        e = captureError([&] { train(o, r); });
        QVERIFY(e && e->kind() == ErrorKind::Format);
        QCOMPARE(e->file(), empty);
        QVERIFY(!std::filesystem::exists(o.out));
        // A missing model.
        o = options(PeftMethod::Lora, 1);
        o.model = m_tmp.path().toStdString() + "/no-model";
        e = captureError([&] { train(o, r); });
        QVERIFY(e && e->kind() == ErrorKind::Io);
        QVERIFY2(QString(e->what()).contains("/no-model"), e->what());
        QVERIFY(!std::filesystem::exists(o.out));
        // A class that has clips only in the test split.
        o = options(PeftMethod::Lora, 1);
        const std::filesystem::path lonely = m_tmp.path().toStdString() + "/lonely";
        for (const char *dir : { "train/a", "test/a", "test/b" })
            std::filesystem::create_directories(lonely / dir);
        std::filesystem::copy_file(m_data / "yes" / "en_140_30.wav", lonely / "train/a/1.wav");
        std::filesystem::copy_file(m_data / "yes" / "en_140_70.wav", lonely / "train/a/2.wav");
        std::filesystem::copy_file(m_data / "yes" / "en_180_30.wav", lonely / "test/a/1.wav");
        std::filesystem::copy_file(m_data / "no" / "en_140_30.wav", lonely / "test/b/1.wav");
        o.data = lonely;
        e = captureError([&] { train(o, r); });
        QVERIFY2(e && e->kind() == ErrorKind::Usage, e ? e->what() : "no error");
        QVERIFY2(std::string(e->what()).find("b") != std::string::npos, e->what());
        QVERIFY(!std::filesystem::exists(o.out));
        // The run folder is a file.
        o = options(PeftMethod::Lora, 1);
        std::ofstream(o.out) << "x";
        e = captureError([&] { train(o, r); });
        QVERIFY(e && e->kind() == ErrorKind::Io);
        QCOMPARE(e->reason(), std::string("the run folder is a file"));
        QCOMPARE(e->file(), o.out);
        // An existing run without resume; resume without a checkpoint.
        o = options(PeftMethod::Lora, 1);
        train(o, r);
        const std::string before = readBytes(o.out / RunFiles::metrics);
        e = captureError([&] { train(o, r); });
        QVERIFY(e && e->kind() == ErrorKind::Usage);
        QVERIFY2(e->reason().starts_with("the folder already holds a run"), e->what());
        QCOMPARE(readBytes(o.out / RunFiles::metrics), before);
        TrainOptions fresh = options(PeftMethod::Lora, 1);
        fresh.resume = true;
        e = captureError([&] { train(fresh, r); });
        QVERIFY(e && e->kind() == ErrorKind::Usage);
        // Resuming with changed options is refused, naming them.
        TrainOptions changed = o;
        changed.resume = true;
        changed.batchSize = 4;
        e = captureError([&] { train(changed, r); });
        QVERIFY(e && std::string(e->what()).find("batch_size") != std::string::npos);
    }
};

QTEST_GUILESS_MAIN(TestTrainer)
#include "tst_trainer.moc"
