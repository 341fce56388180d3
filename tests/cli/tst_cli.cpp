// SPDX-License-Identifier: MIT
// The astpeft command line, end to end: runs the built binary (ASTPEFT_CLI) with QProcess and
// checks its contract: exit statuses (0 ok, 1 input error, 2 usage error), one-line error
// reports naming the file, usage text, JSON shapes and field names, the files written, and that
// options reach core (fbank's and predict's output equal core's, computed here in-process with
// the same options). Core's own behaviour is tested in tests/core. Each process pays libtorch's
// start-up (0.4 to 0.9 s), so one process checks as much as it can.
//
// Moved to or covered by tests/core (was here):
//   fbank against torchaudio, padding value: tst_fbank matchesTorchaudio,
//     padTruncateAndNormalise; channel selection, --channel 2 of a stereo file: tst_audio
//     stereoSelection; a missing audio file: tst_audio badInputs
//   loader errors (missing folder, pickle, config not JSON; truncated weights stays here):
//     tst_ast missingFolderAndWeights, pickleIsRefused; tst_ast_config malformedFolder
//   init-model determinism: tst_ast randomModelIsDeterministic (new)
//   softmax/sigmoid scores, top-k order and cap, multi-label: tst_ast scoresAndTop (new)
//   predict --max-length shorter/longer, --positions: tst_ast classifierMaxLengthAndPositions
//     (new), positionEmbeddingsAdaptToMaxLength
//   params counts per method: tst_peft_config exactCountsAtThePapersSettings, headAndBreakdown;
//     --budget: parseBudget, solverPicksTheLargestFittingKnob, solverNamesTheMinimum; bad knobs
//     (method, prefix tokens, placement, budget): methodNames, badBudgets, tst_train_flags
//     badValues
//   --max-length 12x: tst_train_flags badValues "batch 12x"; --device tpu and CUDA on a
//     CPU-only machine: tst_runtime deviceResolution (new); --precision fp8: tst_train_flags
//     badValues "precision"; selfcheck's losses and forward: tst_runtime deviceSelfCheckOnCpu
//     (new)
// Dropped as the same CLI code path as a row kept: --frob before the command (-x), --head cnn
// (--positions random), --stride 10,10,10 (16), info --device cuda (predict's), predict of a
// bad file alone. Merged into one process: predict without --logits and a too-short file
// (predictKeepsGoingPastBadFiles), info --max-length (infoJson), --help and -h (commandHelp).
#include "audio/audio_file.h"
#include "cli_support.h"
#include "features/fbank.h"
#include "inference/classifier.h"
#include "io/npy.h"
#include "model/ast_config.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace astpeft::core;
using namespace astpeft::test;
namespace fs = std::filesystem;

namespace {

const QString kCli = QStringLiteral(ASTPEFT_CLI);
const QString kFixtures = QStringLiteral(ASTPEFT_FIXTURES);
const QString kSpeech = kFixtures + QStringLiteral("/fbank/speech.wav");
const QString kTone = kFixtures + QStringLiteral("/fbank/tone_440.wav");
const QStringList kLabels = { "yes", "no", "up" };

// Under a 4 GB address-space cap: a command that allocates without bound fails the test
// instead of taking the machine down.
CliResult runCli(const QStringList &args)
{
    QProcess p;
    capAddressSpace(p);
    p.start(kCli, args);
    return collect(p, 300000);
}

#define RUN_EXPECT(result, args, expected) ASTPEFT_RUN_EXPECT(runCli, result, args, expected)

std::vector<double> toDoubles(const QJsonArray &a)
{
    std::vector<double> v;
    for (const QJsonValue &x : a)
        v.push_back(x.toDouble());
    return v;
}

fs::path toPath(const QString &s)
{
    return fs::path(s.toStdString());
}

double maxAbsDiff(const std::vector<double> &a, const std::vector<float> &b)
{
    if (a.size() != b.size())
        return INFINITY;
    double d = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i)
        d = std::max(d, std::abs(a[i] - double(b[i])));
    return d;
}

// The logits core gives for `audio` on `model` with `options`, in this process.
std::vector<float> coreLogits(
    const QString &model, const QString &audio, const ClassifierOptions &options)
{
    const AstClassifier c(toPath(model), options);
    const Audio decoded =
        decodeAudio(toPath(audio), { .targetRate = c.frontEnd().fbank.sampleRate });
    return c.logits({ extractFeatures(decoded.samples, c.frontEnd()) }).front();
}

} // namespace

class TestCli : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    QString m_model; // tiny, max_length 100, labels yes/no/up, seed 3
    QString m_baseConfig; // AST-base config.json only, max_length 100 (for params)

    QString tmpPath(const QString &name) const { return m_tmp.filePath(name); }

    // Arguments for a tiny init-model into `dir`: max_length 100, labels yes/no/up.
    static QStringList initModelArgs(const QString &dir, const QString &seed = "3")
    {
        return { "init-model", "--preset", "tiny", "--max-length", "100", "--labels",
            kLabels.join(','), "--seed", seed, "--out", dir };
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        QVERIFY2(QFileInfo(kCli).isExecutable(), qPrintable(kCli));
        m_model = tmpPath("model");
        RUN_EXPECT(r, initModelArgs(m_model), 0);
        // params reads config.json only: an AST-base config at max_length 100 is enough.
        m_baseConfig = tmpPath("base-config");
        AstConfig c;
        c.maxLength = 100;
        saveAstConfig(c, toPath(m_baseConfig));
    }

    // --- usage --------------------------------------------------------------------------

    void versionAndHelp()
    {
        RUN_EXPECT(version, QStringList { "--version" }, 0);
        QVERIFY2(version.out.startsWith("astpeft "), version.out.constData());
        QVERIFY(version.out.contains("libtorch"));
        for (const char *flag : { "--help", "-h" }) {
            RUN_EXPECT(help, QStringList { flag }, 0);
            QVERIFY(help.out.startsWith("usage: astpeft"));
            for (const char *synopsis : { "\n  info MODEL [--json]",
                     "\n  fbank AUDIO --out FILE.npy", "\n  predict MODEL [--adapter RUN] AUDIO...",
                     "\n  init-model --preset tiny|small|base",
                     "\n  train --model MODEL --data PATH", "\n  eval RUN",
                     "\n  compare --model MODEL" })
                QVERIFY2(help.out.contains(synopsis), synopsis);
            QVERIFY(help.err.isEmpty());
        }
    }

    // Each command's help; "--help" and "-h" alternate over the rows, and -h after an unknown
    // option shows that help wins wherever it stands, even after a usage error.
    void commandHelp_data()
    {
        QTest::addColumn<QString>("command");
        QTest::addColumn<QStringList>("help");
        QTest::addColumn<QString>("mentions");
        const QStringList help { "--help" }, lateH { "--bogus", "-h" };
        QTest::addRow("info") << "info" << help << "config.json";
        QTest::addRow("fbank") << "fbank" << lateH << "--raw";
        QTest::addRow("predict") << "predict" << help << "--positions adapt|zero";
        QTest::addRow("init-model") << "init-model" << lateH << "--head hf|mean-tokens";
        QTest::addRow("train") << "train" << help << "--resume";
        QTest::addRow("eval") << "eval" << lateH << "--split test|validation|train";
        QTest::addRow("compare") << "compare" << help << "comparison.csv";
    }
    void commandHelp()
    {
        QFETCH(QString, command);
        QFETCH(QStringList, help);
        QFETCH(QString, mentions);
        RUN_EXPECT(r, QStringList { command } + help, 0);
        QVERIFY(r.out.startsWith(("usage: astpeft " + command).toUtf8()));
        QVERIFY2(r.out.contains(mentions.toUtf8()), r.out.constData());
        QVERIFY(r.err.isEmpty());
    }

    void usageErrors_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        const QString out = tmpPath("unwritten");
        QTest::addRow("no command") << QStringList {} << "usage: astpeft [--threads N] COMMAND";
        QTest::addRow("unknown command")
            << QStringList { "frobnicate" } << "unknown command 'frobnicate'";
        QTest::addRow("unknown global option")
            << QStringList { "-x", "info", m_model } << "unknown option -x";
        QTest::addRow("unknown option")
            << QStringList { "info", m_model, "--frob" } << "unknown option --frob for 'info'";
        QTest::addRow("flag with a value")
            << QStringList { "info", m_model, "--json=yes" } << "unknown option --json";
        QTest::addRow("missing value")
            << QStringList { "predict", m_model, kSpeech, "--top-k" } << "--top-k needs a value";
        QTest::addRow("top-k 0") << QStringList { "predict", m_model, kSpeech, "--top-k", "0" }
                                 << "--top-k must be at least 1";
        QTest::addRow("max-length abc") << QStringList { "info", m_model, "--max-length", "abc" }
                                        << "--max-length needs an integer, got 'abc'";
        QTest::addRow("predict without audio")
            << QStringList { "predict", m_model } << "predict needs a MODEL and at least one AUDIO";
        QTest::addRow("info without model") << QStringList { "info" } << "info needs exactly one";
        QTest::addRow("fbank without --out")
            << QStringList { "fbank", kSpeech } << "fbank needs one AUDIO and --out";
        QTest::addRow("channel -1") << QStringList { "fbank", kSpeech, "--out", out, "--channel",
            "-1" } << "--channel must be at least 0";
        // Sizes from flags are bounded before anything is allocated (issue 17, defect 7):
        // fbank once grew to 16 GB, predict ended in a libtorch backtrace.
        QTest::addRow("fbank max-length huge") << QStringList { "fbank", kSpeech, "--out", out,
            "--max-length", "100000000" } << "--max-length must be at most 100000, got 100000000";
        QTest::addRow("predict max-length huge") << QStringList { "predict", m_model, kSpeech,
            "--max-length", "1000000" } << "--max-length must be at most 100000, got 1000000";
        QTest::addRow("predict max-length too many tokens") << QStringList { "predict", m_model,
            kSpeech, "--max-length", "90000" } << "max_length: 90000 frames makes";
        QTest::addRow("params rank above hidden")
            << QStringList { "params", m_baseConfig, "--method", "lora", "--rank", "1000" }
            << "--rank is 1000; at most 768 (the backbone's hidden size)";
        QTest::addRow("params budget 1e99")
            << QStringList { "params", m_baseConfig, "--method", "lora", "--budget", "1e99" }
            << "budget '1e99' is more than 1,000,000,000,000 parameters";
        QTest::addRow("init-model without --out")
            << QStringList { "init-model", "--preset", "tiny" } << "init-model needs --out DIR";
        // A core::Error(Usage) (here presetConfig's) is exit status 2 too.
        QTest::addRow("preset huge") << QStringList { "init-model", "--preset", "huge", "--out",
            out } << "unknown preset 'huge'";
        QTest::addRow("duplicate labels") << QStringList { "init-model", "--labels", "yes,no,yes",
            "--out", out } << "--labels has duplicate labels";
        QTest::addRow("empty label") << QStringList { "init-model", "--labels", "a,,b", "--out",
            out } << "--labels has an empty label";
        QTest::addRow("bad seed") << QStringList { "init-model", "--seed", "-x", "--out", out }
                                  << "--seed needs a non-negative integer";
        QTest::addRow("stride 16")
            << QStringList { "init-model", "--stride", "16", "--out", out } << "--stride needs F,T";
        QTest::addRow("stride a,b") << QStringList { "init-model", "--stride", "a,b", "--out", out }
                                    << "--stride needs F,T";
        QTest::addRow("stride 0,10") << QStringList { "init-model", "--stride", "0,10", "--out",
            out } << "--stride values must be positive";
        QTest::addRow("heads do not divide hidden") << QStringList { "init-model", "--hidden",
            "100", "--heads", "3", "--out", out } << "hidden size (100) must be a multiple";
        QTest::addRow("layers 0") << QStringList { "init-model", "--layers", "0", "--out", out }
                                  << "--layers";
        QTest::addRow("bad positions") << QStringList { "predict", m_model, kSpeech, "--positions",
            "random" } << "--positions must be one of adapt, zero";
        // A knob core's flag table refuses: one of tst_train_flags' badValues.
        QTest::addRow("params bad knob") << QStringList { "params", m_baseConfig, "--method",
            "lora", "--targets", "q,x" } << "--targets takes distinct letters";
    }
    void usageErrors()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        RUN_EXPECT(r, args, 2);
        QVERIFY2(r.err.contains(message.toUtf8()), qPrintable(describe(args, r)));
        QVERIFY(r.out.isEmpty());
        QVERIFY2(!QFileInfo::exists(tmpPath("unwritten")), "a usage error wrote output");
    }

    // Every command that computes takes --device; asking for CUDA where there is none is one
    // line and exit status 2, before any work. (info shares predict's classifierOptions().)
    void cudaOnCpuOnlyMachine_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addRow("predict") << QStringList { "predict", m_model, kSpeech, "--device",
            "cuda:0" };
        QTest::addRow("timeline") << QStringList { "timeline", m_model, kSpeech, "--device",
            "cuda" };
        QTest::addRow("listen") << QStringList { "listen", "--model", m_model, "--device", "cuda",
            "--seconds", "1" };
        QTest::addRow("selfcheck")
            << QStringList { "selfcheck", "--model", m_model, "--device", "cuda" };
        QTest::addRow("train") << QStringList { "train", "--demo", "--model", m_model, "--device",
            "cuda", "--out", tmpPath("cuda-run") };
    }
    void cudaOnCpuOnlyMachine()
    {
        QFETCH(QStringList, args);
        const CliResult r = runCli(args);
        if (r.exitCode == 0)
            QSKIP("this machine has a usable CUDA device");
        QVERIFY2(r.exitCode == 2, qPrintable(describe(args, r)));
        QVERIFY2(r.err.contains("CUDA"), r.err.constData());
        QVERIFY(isOneLine(r.err));
    }

    // selfcheck's two outputs: with --json the runtime line then the check's; plain text ends
    // with the verdict. (The check itself: tst_runtime deviceSelfCheckOnCpu.)
    void selfCheckOnCpu()
    {
        RUN_EXPECT(
            r, (QStringList { "selfcheck", "--model", m_model, "--device", "cpu", "--json" }), 0);
        const QList<QByteArray> lines = r.out.trimmed().split('\n');
        QCOMPARE(lines.size(), 2);
        const QJsonObject runtime = QJsonDocument::fromJson(lines[0]).object();
        QCOMPARE(runtime.value("event").toString(), QStringLiteral("runtime"));
        QVERIFY(!runtime.value("libtorch").toString().isEmpty());
        QVERIFY(runtime.value("gpus").isArray());
        const QJsonObject check = QJsonDocument::fromJson(lines[1]).object();
        QCOMPARE(check.value("event").toString(), QStringLiteral("selfcheck"));
        QCOMPARE(check.value("device").toString(), QStringLiteral("cpu"));
        QCOMPARE(check.value("precision").toString(), QStringLiteral("fp32"));
        QVERIFY(check.value("passed").toBool());
        QCOMPARE(check.value("losses").toArray().size(), 2);
        for (const char *key : { "forward_max_abs_diff", "tolerance", "peak_device_mb" })
            QVERIFY2(check.value(key).isDouble(), key);
        RUN_EXPECT(text, (QStringList { "selfcheck", "--model", m_model, "--device", "cpu" }), 0);
        QVERIFY2(text.out.contains("self-check passed"), text.out.constData());
        QVERIFY2(text.out.startsWith("libtorch "), text.out.constData());
    }

    // --- init-model ----------------------------------------------------------------------

    // --hidden/--layers/--heads/--ffn override the preset's shape, and config.json says so.
    void initModelShape()
    {
        const QString dir = tmpPath("shaped-model");
        RUN_EXPECT(init,
            (initModelArgs(dir)
                + QStringList { "--hidden", "48", "--layers", "3", "--heads", "4", "--ffn", "96" }),
            0);
        const AstConfig c = loadAstConfig(toPath(dir));
        QCOMPARE(c.hiddenSize, 48);
        QCOMPARE(c.numHiddenLayers, 3);
        QCOMPARE(c.numAttentionHeads, 4);
        QCOMPARE(c.intermediateSize, 96);
        RUN_EXPECT(info, (QStringList { "info", dir, "--json" }), 0);
        QVERIFY2(info.out.contains("48"), info.out.constData());
    }

    void initModelWritesCheckpoint()
    {
        for (const char *file : { "config.json", "preprocessor_config.json", "model.safetensors" })
            QVERIFY2(QFileInfo(m_model + '/' + file).size() > 0, file);
        const AstConfig c = loadAstConfig(toPath(m_model));
        QCOMPARE(c.maxLength, 100);
        QCOMPARE(c.labels, std::vector<std::string>({ "yes", "no", "up" }));
        QCOMPARE(c.hiddenSize, 64);
        QCOMPARE(c.numHiddenLayers, 2);
        const QJsonObject config =
            QJsonDocument::fromJson(readAll(m_model + "/config.json")).object();
        const QJsonObject id2label = config.value("id2label").toObject();
        QCOMPARE(id2label.size(), 3);
        QCOMPARE(id2label.value("0").toString(), QString("yes"));
        QCOMPARE(id2label.value("1").toString(), QString("no"));
        QCOMPARE(id2label.value("2").toString(), QString("up"));
        QCOMPARE(config.value("max_length").toInt(), 100);
        const QJsonObject pre =
            QJsonDocument::fromJson(readAll(m_model + "/preprocessor_config.json")).object();
        QCOMPARE(pre.value("sampling_rate").toInt(), 16000);
        QCOMPARE(pre.value("max_length").toInt(), 100);
    }

    // --seed reaches core: another seed, other weights of the same size. (The same seed gives
    // the same files: tst_ast randomModelIsDeterministic.)
    void initModelSeed()
    {
        const QString other = tmpPath("other");
        RUN_EXPECT(r, initModelArgs(other, "4"), 0);
        const QByteArray weights = readAll(m_model + "/model.safetensors");
        const QByteArray otherWeights = readAll(other + "/model.safetensors");
        QVERIFY(weights.size() > 90000 * 4);
        QCOMPARE(otherWeights.size(), weights.size());
        QVERIFY2(otherWeights != weights, "different seeds, same weights");
    }

    // --stride 16,12: 8 x 8 patches on 128 bins x 100 frames, and the strides are in
    // config.json under the Hugging Face names.
    void initModelStride()
    {
        const QString dir = tmpPath("stride-model");
        RUN_EXPECT(init, (initModelArgs(dir) + QStringList { "--stride", "16,12" }), 0);
        QCOMPARE(loadAstConfig(toPath(dir)).numTokens(), 2 + 8 * 8);
        const QJsonObject stored = QJsonDocument::fromJson(readAll(dir + "/config.json")).object();
        QCOMPARE(stored.value("frequency_stride").toInt(), 16);
        QCOMPARE(stored.value("time_stride").toInt(), 12);
    }

    // --- info ----------------------------------------------------------------------------

    // The JSON fields; --max-length reaches core (the checkpoint's stays in its own field).
    void infoJson()
    {
        RUN_EXPECT(r, (QStringList { "info", m_model, "--json", "--max-length", "50" }), 0);
        QJsonParseError error;
        const QJsonDocument doc = QJsonDocument::fromJson(r.out, &error);
        QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
        const QJsonObject j = doc.object();
        QCOMPARE(j.value("path").toString(), m_model);
        const qint64 parameters = j.value("parameters").toInteger(-1);
        const qint64 backbone = j.value("backbone_parameters").toInteger(-1);
        const qint64 head = j.value("head_parameters").toInteger(-1);
        QVERIFY(backbone > 0 && head > 0);
        QCOMPARE(backbone + head, parameters);
        const QJsonObject config = j.value("config").toObject();
        QCOMPARE(config.value("hidden_size").toInt(), 64);
        QCOMPARE(head, qint64(2 * 64 + 64 * 3 + 3)); // HF head: LayerNorm + Linear(64 -> 3)
        for (const char *key : { "num_hidden_layers", "num_attention_heads", "intermediate_size",
                 "patch_size", "frequency_stride", "time_stride", "num_mel_bins", "layer_norm_eps",
                 "sampling_rate", "mean", "std", "problem_type" })
            QVERIFY2(config.contains(key), key);
        QCOMPARE(j.value("labels").toArray(), QJsonArray({ "yes", "no", "up" }));
        QCOMPARE(config.value("max_length").toInt(), 50);
        QCOMPARE(config.value("tokens").toInt(), 2 + 12 * 4);
        QCOMPARE(j.value("checkpoint_max_length").toInt(), 100);
        QCOMPARE(j.value("head").toString(), QString("hf"));
        QCOMPARE(j.value("multi_label").toBool(true), false);
        QCOMPARE(j.value("stored_dtype").toString(), QString("F32"));
    }

    void infoPlain()
    {
        RUN_EXPECT(r, (QStringList { "info", m_model }), 0);
        QVERIFY2(r.out.contains("3 labels"), r.out.constData());
        for (int i = 0; i < kLabels.size(); ++i) {
            QVERIFY2(r.out.contains(QStringLiteral("%1  %2\n").arg(i, 4).arg(kLabels[i]).toUtf8()),
                r.out.constData());
        }
        QVERIFY(r.out.contains("100 frames x 128 mel bins"));
        QVERIFY(r.err.isEmpty());
    }

    // --- input errors --------------------------------------------------------------------

    // A core::Error from the model loader is exit status 1 and its one line naming the file,
    // and nothing on stdout, even with --json. One representative loader error (the others:
    // see the top of this file).
    void inputErrors_data()
    {
        QTest::addColumn<QStringList>("args");
        const QString truncated = tmpPath("truncated");
        QDir().mkpath(truncated);
        for (const char *file : { "config.json", "preprocessor_config.json", "model.safetensors" })
            QFile::copy(m_model + '/' + file, truncated + '/' + file);
        QFile weights(truncated + "/model.safetensors");
        weights.resize(weights.size() / 2);
        QTest::addRow("info --json") << QStringList { "info", truncated, "--json" };
        QTest::addRow("predict") << QStringList { "predict", truncated, kSpeech };
    }
    void inputErrors()
    {
        QFETCH(QStringList, args);
        RUN_EXPECT(r, args, 1);
        const QString file = tmpPath("truncated/model.safetensors");
        QVERIFY2(r.err.contains(file.toUtf8()), qPrintable(describe(args, r)));
        QVERIFY2(isOneLine(r.err), qPrintable(describe(args, r)));
        QVERIFY(r.out.isEmpty());
    }

    // --- fbank ---------------------------------------------------------------------------

    // The .npy written is core's features with the options given: --max-length 0 keeps every
    // frame, 50 truncates, --raw skips the normalisation, --channel picks a channel. (Padding:
    // tst_fbank padTruncateAndNormalise.)
    void fbankWritesCoreFeatures_data()
    {
        QTest::addColumn<QString>("audio");
        QTest::addColumn<QStringList>("options");
        QTest::addColumn<int>("maxLength");
        QTest::addColumn<int>("frames");
        QTest::addColumn<bool>("raw");
        QTest::addColumn<int>("channel");
        // Left: a 440 Hz sine; right: silence.
        const QString stereo = tmpPath("stereo.wav");
        std::vector<float> interleaved(2 * 16000, 0.0f);
        for (std::size_t i = 0; i < 16000; ++i)
            interleaved[2 * i] = 0.5f * float(std::sin(2 * M_PI * 440.0 * double(i) / 16000.0));
        writeAudio(toPath(stereo), interleaved, 16000, 2);
        QTest::addRow("speech, every frame")
            << kSpeech << QStringList { "--max-length", "0" } << 0 << 172 << false << -1;
        QTest::addRow("stereo, raw, truncated, channel 0")
            << stereo << QStringList { "--max-length", "50", "--raw", "--channel", "0" } << 50 << 50
            << true << 0;
    }
    void fbankWritesCoreFeatures()
    {
        QFETCH(QString, audio);
        QFETCH(QStringList, options);
        QFETCH(int, maxLength);
        QFETCH(int, frames);
        QFETCH(bool, raw);
        QFETCH(int, channel);
        const QString out = tmpPath(QTest::currentDataTag() + QStringLiteral(".npy"));
        RUN_EXPECT(r, (QStringList { "fbank", audio, "--out", out } + options), 0);
        QVERIFY(r.out.isEmpty() && r.err.isEmpty());
        const NpyArray ours = readNpy(toPath(out));
        QCOMPARE(ours.shape, std::vector<std::int64_t>({ frames, 128 }));

        FrontEnd fe;
        fe.maxLength = maxLength;
        fe.normalize = !raw;
        const auto features = [&](int ch) {
            return extractFeatures(
                decodeAudio(toPath(audio), { .targetRate = 16000, .channel = ch }).samples, fe)
                .data;
        };
        const std::vector<float> expected = features(channel);
        QCOMPARE(ours.data.size(), expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            QVERIFY2(std::abs(ours.data[i] - expected[i]) <= 1e-5f,
                qPrintable(QStringLiteral("element %1: %2, core %3")
                               .arg(i)
                               .arg(ours.data[i])
                               .arg(expected[i])));
        }
        // The options made a difference, so the comparison shows they reached core.
        if (channel >= 0)
            QVERIFY(features(-1) != expected);
        fe.normalize = raw;
        QVERIFY(features(channel) != expected);
    }

    // Too short for one analysis frame: core's reason, with the file named by the CLI (core's
    // fbank does not know the file), exit status 1, no .npy.
    void fbankTooShort()
    {
        const QString wav = tmpPath("short_300.wav");
        std::vector<float> samples(300);
        for (std::size_t i = 0; i < samples.size(); ++i)
            samples[i] = 0.1f * float(std::sin(0.05 * double(i)));
        writeAudio(toPath(wav), samples, 16000);
        const QString out = tmpPath("short.npy");
        RUN_EXPECT(r, (QStringList { "fbank", wav, "--out", out }), 1);
        QVERIFY2(r.err.contains(wav.toUtf8()), r.err.constData());
        QVERIFY2(r.err.contains("shorter than one"), r.err.constData());
        QVERIFY2(isOneLine(r.err), r.err.constData());
        QVERIFY(!QFileInfo::exists(out));
    }

    // --- methods and params ----------------------------------------------------------------

    void methodsJson()
    {
        RUN_EXPECT(r, (QStringList { "methods", "--json" }), 0);
        const QJsonArray list = QJsonDocument::fromJson(r.out).array();
        QCOMPARE(list.size(), 8);
        QStringList names;
        for (const auto &v : list) {
            names << v.toObject()["name"].toString();
            QVERIFY(!v.toObject()["summary"].toString().isEmpty());
            QVERIFY(v.toObject()["paper_learning_rate"].isDouble());
            QVERIFY(v.toObject()["defaults"].isObject());
        }
        QCOMPARE(names,
            (QStringList { "full", "linear", "bitfit", "prompt-shallow", "prompt-deep", "prefix",
                "lora", "adapter" }));
        QCOMPARE(list[6].toObject()["defaults"].toObject()["rank"].toInt(), 6);
        RUN_EXPECT(plain, (QStringList { "methods" }), 0);
        QVERIFY(plain.out.contains("--budget"));
    }

    // The JSON fields, and the knobs and --labels reaching core's count (the bottleneck
    // Houlsby row of tst_peft_config exactCountsAtThePapersSettings).
    void paramsJson()
    {
        RUN_EXPECT(r,
            (QStringList { "params", m_baseConfig, "--labels", "10", "--json", "--method",
                "adapter", "--block", "bottleneck", "--placement", "houlsby" }),
            0);
        const QJsonObject j = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(j["method"].toString(), QString("adapter"));
        const QJsonObject knobs = j["knobs"].toObject();
        QCOMPARE(knobs["block"].toString(), QString("bottleneck"));
        QCOMPARE(knobs["placement"].toString(), QString("houlsby"));
        QCOMPARE(knobs["bottleneck"].toInt(), 12);
        QCOMPARE(j["trainable_without_head"].toInteger(), qint64(499488));
        QCOMPARE(j["trainable"].toInteger(), qint64(499488 + 7690));
        QCOMPARE(j["backbone"].toInteger(), qint64(85339392));
        QCOMPARE(j["labels"].toInt(), 10);
        const QJsonObject breakdown = j["breakdown"].toObject();
        QCOMPARE(breakdown["head"].toInteger(), qint64(7690));
        for (const char *key :
            { "method_modules", "layer_norms", "final_layer_norm", "biases", "backbone_weights" })
            QVERIFY2(breakdown[key].isDouble(), key);
        for (const char *key : { "paper_count", "share_of_backbone", "adapter_file_bytes" })
            QVERIFY2(j[key].isDouble(), key);
        QVERIFY(!j.contains("budget"));
    }

    // --budget as a share of the backbone reaches core's solver: 0.3% of 85,339,392 is
    // 256,018, LoRA's largest rank within it 6.
    void paramsBudget()
    {
        RUN_EXPECT(r,
            (QStringList {
                "params", m_baseConfig, "--method", "lora", "--budget", "0.3%", "--json" }),
            0);
        const QJsonObject j = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(j["budget"].toInteger(), qint64(256018));
        QCOMPARE(j["knobs"].toObject()["rank"].toInt(), 6);
        QVERIFY(j["trainable_without_head"].toInteger() <= 256018);
    }

    // --- predict -------------------------------------------------------------------------

    // One JSON line per file, in order: the top-k labels by score (softmax of the logits,
    // best first) and the logits, which are core's.
    void predictJson()
    {
        RUN_EXPECT(r,
            (QStringList { "predict", m_model, kSpeech, kTone, "--json", "--logits", "--top-k", "2",
                "--device", "cpu" }),
            0);
        QCOMPARE(r.out.count('\n'), 2);
        const QList<QJsonObject> lines = jsonLines(r.out);
        QCOMPARE(lines.size(), 2);
        QCOMPARE(lines[0].value("file").toString(), kSpeech);
        QCOMPARE(lines[1].value("file").toString(), kTone);
        for (const QJsonObject &j : lines) {
            const std::vector<double> logits = toDoubles(j.value("logits").toArray());
            QCOMPARE(logits.size(), std::size_t(3));
            const double d = maxAbsDiff(
                logits, coreLogits(m_model, j.value("file").toString(), { .device = "cpu" }));
            QVERIFY2(d <= 1e-4, qPrintable(QString::number(d)));
            const QJsonArray top = j.value("top").toArray();
            QCOMPARE(top.size(), 2);
            double sum = 0.0;
            for (double l : logits)
                sum += std::exp(l);
            double previous = 1.0;
            for (const QJsonValue &t : top) {
                const QString label = t.toObject().value("label").toString();
                const double score = t.toObject().value("score").toDouble(-1.0);
                QVERIFY2(kLabels.contains(label), qPrintable(label));
                QVERIFY(score <= previous);
                previous = score;
                QVERIFY2(
                    std::abs(score - std::exp(logits[std::size_t(kLabels.indexOf(label))]) / sum)
                        <= 1e-5,
                    qPrintable(label));
            }
            QVERIFY(top[0].toObject().value("label") != top[1].toObject().value("label"));
        }
    }

    // --max-length and --positions reach core: the logits are core's with the same options
    // (which differ from the defaults': tst_ast classifierMaxLengthAndPositions).
    void predictModelOptions()
    {
        RUN_EXPECT(r,
            (QStringList { "predict", m_model, kSpeech, "--json", "--logits", "--max-length", "50",
                "--positions", "zero", "--device", "cpu" }),
            0);
        const QList<QJsonObject> lines = jsonLines(r.out);
        QCOMPARE(lines.size(), 1);
        const std::vector<double> logits = toDoubles(lines[0].value("logits").toArray());
        const double d = maxAbsDiff(logits,
            coreLogits(m_model, kSpeech,
                { .maxLength = 50, .positions = PositionMode::Zero, .device = "cpu" }));
        QVERIFY2(d <= 1e-4, qPrintable(QString::number(d)));
        const double adapted =
            maxAbsDiff(logits, coreLogits(m_model, kSpeech, { .maxLength = 50, .device = "cpu" }));
        QVERIFY2(adapted > 1e-3, "--positions zero gave the adapted positions' logits");
    }

    void predictPlain()
    {
        RUN_EXPECT(r, (QStringList { "predict", m_model, kSpeech, kTone, "--top-k", "1" }), 0);
        const QList<QByteArray> lines = r.out.split('\n');
        QCOMPARE(lines.size(), 5); // file, label, file, label, ""
        QCOMPARE(lines[0], kSpeech.toUtf8());
        QCOMPARE(lines[2], kTone.toUtf8());
        for (int i : { 1, 3 }) {
            const QList<QByteArray> fields = lines[i].simplified().split(' ');
            QCOMPARE(fields.size(), 2);
            bool ok = false;
            const double score = fields[0].toDouble(&ok);
            QVERIFY(ok && score > 1.0 / 3.0 - 1e-4 && score <= 1.0);
            QVERIFY(kLabels.contains(QString::fromUtf8(fields[1])));
        }
        // speech.wav (1.74 s) is longer than the model's 100 frames: predict says what it scored.
        QVERIFY2(isOneLine(r.err) && r.err.startsWith(kSpeech.toUtf8() + ": 1.74")
                && r.err.endsWith(" s long; scoring its first 1.015 s (use `astpeft timeline` "
                                  "for the whole file)\n"),
            r.err.constData());
    }

    // predict decodes only the seconds it scores (a 4 h file once took 2.5 GB to score its
    // first second: issue 17, defect 7) and says so; the logits are those of the whole file's
    // decode. In JSON: "seconds" and "scored_seconds".
    void predictLongFile()
    {
        const QString file = tmpPath("ten-minutes.wav");
        std::vector<float> wave(std::size_t(600 * 8000));
        for (std::size_t i = 0; i < wave.size(); ++i)
            wave[i] = 0.3f * float(std::sin(0.2 * double(i) + 1e-5 * double(i * i % 100000)));
        writeAudio(toPath(file), wave, 8000);
        RUN_EXPECT(plain, (QStringList { "predict", m_model, file, "--device", "cpu" }), 0);
        QCOMPARE(plain.err,
            file.toUtf8()
                + ": 10m00s long; scoring its first 1.015 s (use `astpeft timeline` for the whole "
                  "file)\n");
        RUN_EXPECT(r, (QStringList { "predict", m_model, file, "--json", "--logits" }), 0);
        QVERIFY(r.err.isEmpty());
        const QList<QJsonObject> lines = jsonLines(r.out);
        QCOMPARE(lines.size(), 1);
        QCOMPARE(lines[0].value("seconds").toDouble(), 600.0);
        QCOMPARE(lines[0].value("scored_seconds").toDouble(), 1.015);
        const double d = maxAbsDiff(toDoubles(lines[0].value("logits").toArray()),
            coreLogits(m_model, file, { .device = "cpu" }));
        QVERIFY2(d <= 1e-4, qPrintable(QString::number(d)));
    }

    // Issue 17: labels and file names with terminal escape codes were printed raw. They are
    // escaped (core::printable) on stdout and stderr, and each message stays on one line.
    void controlCharactersAreEscaped()
    {
        const QString model = tmpPath("escape-model");
        RUN_EXPECT(init,
            (QStringList { "init-model", "--preset", "tiny", "--max-length", "100", "--labels",
                "red\x1b[31m,bell\x07,ok", "--out", model }),
            0);
        RUN_EXPECT(info, (QStringList { "info", model }), 0);
        QVERIFY2(info.out.contains("red\\x1b[31m\n") && info.out.contains("bell\\x07\n"),
            info.out.constData());
        RUN_EXPECT(predict, (QStringList { "predict", model, kSpeech }), 0);
        // A random head: every label is among the top 5 (capped at 3).
        QVERIFY2(predict.out.contains("  red\\x1b[31m\n") && predict.out.contains("  bell\\x07\n"),
            predict.out.constData());

        const QString odd = tmpPath("clear\x1b[2Jscreen\nnext.wav");
        const QStringList args { "predict", model, odd };
        const CliResult r = runCli(args);
        QVERIFY2(r.exitCode == 1, qPrintable(describe(args, r)));
        QVERIFY2(isOneLine(r.err), r.err.constData());
        QVERIFY2(r.err.contains("clear\\x1b[2Jscreen\\nnext.wav: "), r.err.constData());
        for (const CliResult *c : { &info, &predict, &r }) {
            QVERIFY2(
                !c->out.contains('\x1b') && !c->err.contains('\x1b') && !c->out.contains('\x07'),
                c->out.constData());
        }
    }

    // Files that fail (missing; too short for one frame, which the CLI names) are one line
    // each on stderr; the others are still scored, and the exit status is 1. Without --logits
    // and --top-k: no "logits" field, and the default top 5 capped at the 3 labels.
    void predictKeepsGoingPastBadFiles()
    {
        const QString missing = tmpPath("missing.wav");
        const QString shortWav = tmpPath("short_for_predict.wav");
        writeAudio(toPath(shortWav), std::vector<float>(300, 0.05f), 16000);
        RUN_EXPECT(r,
            (QStringList { "predict", m_model, kSpeech, missing, shortWav, kTone, "--json" }), 1);
        const QList<QJsonObject> lines = jsonLines(r.out);
        QCOMPARE(lines.size(), 2);
        QCOMPARE(lines[0].value("file").toString(), kSpeech);
        QCOMPARE(lines[1].value("file").toString(), kTone);
        for (const QJsonObject &j : lines) {
            QVERIFY(!j.contains("logits"));
            QCOMPARE(j.value("top").toArray().size(), 3);
        }
        const QList<QByteArray> errors = r.err.split('\n');
        QCOMPARE(errors.size(), 3); // two lines and ""
        QVERIFY2(errors[0].startsWith("astpeft: ") && errors[0].contains(missing.toUtf8())
                && errors[0].contains("no such file"),
            r.err.constData());
        QVERIFY2(errors[1].startsWith("astpeft: ") && errors[1].contains(shortWav.toUtf8())
                && errors[1].contains("shorter than one"),
            r.err.constData());
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
