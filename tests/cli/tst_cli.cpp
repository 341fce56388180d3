// SPDX-License-Identifier: MIT
// The astpeft command line, end to end: runs the built binary (ASTPEFT_CLI) with QProcess and
// checks exit statuses (0 ok, 1 input error, 2 usage error), one-line error reports naming the
// file, init-model determinism, info's JSON, fbank against the torchaudio fixtures and predict's
// scores against its own logits. Torch-free: only Qt and torch-free core headers.
#include "audio/audio_file.h"
#include "cli_support.h"
#include "io/npy.h"
#include "model/ast_config.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
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

// AudioSet statistics: normalised = (raw - mean) / (2 std); padding frames hold raw 0.
constexpr double kMean = -4.2677393;
constexpr double kTwoStd = 9.1379948;
constexpr double kPadValue = 0.4670324; // (0 - kMean) / kTwoStd

CliResult runCli(const QStringList &args)
{
    QProcess p;
    p.start(kCli, args);
    CliResult r;
    if (!p.waitForStarted(30000)) {
        r.err = "could not start " + kCli.toUtf8();
        return r;
    }
    p.waitForFinished(300000);
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    return r;
}

#define RUN_EXPECT(result, args, expected) ASTPEFT_RUN_EXPECT(runCli, result, args, expected)

std::vector<double> softmax(const std::vector<double> &x)
{
    double m = x.front();
    for (double v : x)
        m = std::max(m, v);
    std::vector<double> e;
    double sum = 0.0;
    for (double v : x) {
        e.push_back(std::exp(v - m));
        sum += e.back();
    }
    for (double &v : e)
        v /= sum;
    return e;
}

std::vector<double> sigmoid(const std::vector<double> &x)
{
    std::vector<double> s;
    for (double v : x)
        s.push_back(1.0 / (1.0 + std::exp(-v)));
    return s;
}

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

} // namespace

class TestCli : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    QString m_model; // tiny, max_length 100, labels yes/no/up, seed 3

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

    void commandHelp_data()
    {
        QTest::addColumn<QString>("command");
        QTest::addColumn<QString>("mentions");
        QTest::addRow("info") << "info"
                              << "config.json";
        QTest::addRow("fbank") << "fbank"
                               << "--raw";
        QTest::addRow("predict") << "predict"
                                 << "--positions adapt|zero";
        QTest::addRow("init-model") << "init-model"
                                    << "--head hf|mean-tokens";
        QTest::addRow("train") << "train"
                               << "--resume";
        QTest::addRow("eval") << "eval"
                              << "--split test|validation|train";
        QTest::addRow("compare") << "compare"
                                 << "comparison.csv";
    }
    void commandHelp()
    {
        QFETCH(QString, command);
        QFETCH(QString, mentions);
        // --help wins wherever it stands, even after arguments that would be usage errors.
        for (const QStringList &args :
            { QStringList { command, "--help" }, QStringList { command, "--bogus", "-h" } }) {
            RUN_EXPECT(r, args, 0);
            QVERIFY(r.out.startsWith(("usage: astpeft " + command).toUtf8()));
            QVERIFY2(r.out.contains(mentions.toUtf8()), r.out.constData());
            QVERIFY(r.err.isEmpty());
        }
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
            << QStringList { "--frob", "info", m_model } << "unknown option --frob";
        QTest::addRow("unknown short global option") << QStringList { "-x" } << "unknown option -x";
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
        QTest::addRow("max-length 12x") << QStringList { "fbank", kSpeech, "--out", out,
            "--max-length", "12x" } << "--max-length needs an integer";
        QTest::addRow("predict without audio")
            << QStringList { "predict", m_model } << "predict needs a MODEL and at least one AUDIO";
        QTest::addRow("info without model") << QStringList { "info" } << "info needs exactly one";
        QTest::addRow("fbank without --out")
            << QStringList { "fbank", kSpeech } << "fbank needs one AUDIO and --out";
        QTest::addRow("init-model without --out")
            << QStringList { "init-model", "--preset", "tiny" } << "init-model needs --out DIR";
        QTest::addRow("preset huge") << QStringList { "init-model", "--preset", "huge", "--out",
            out } << "unknown preset 'huge'";
        QTest::addRow("duplicate labels") << QStringList { "init-model", "--labels", "yes,no,yes",
            "--out", out } << "--labels has duplicate labels";
        QTest::addRow("empty label") << QStringList { "init-model", "--labels", "a,,b", "--out",
            out } << "--labels has an empty label";
        QTest::addRow("bad seed") << QStringList { "init-model", "--seed", "-x", "--out", out }
                                  << "--seed needs a non-negative integer";
        QTest::addRow("bad head") << QStringList { "init-model", "--head", "cnn", "--out", out }
                                  << "--head must be one of hf, mean-tokens";
        QTest::addRow("bad positions") << QStringList { "predict", m_model, kSpeech, "--positions",
            "random" } << "--positions must be one of adapt, zero";
        QTest::addRow("bad device") << QStringList { "predict", m_model, kSpeech, "--device",
            "tpu" } << "unknown device 'tpu'";
        QTest::addRow("bad precision")
            << QStringList { "predict", m_model, kSpeech, "--precision", "fp8" } << "fp8";
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
    // line and exit status 2, before any work.
    void cudaOnCpuOnlyMachine_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addRow("info") << QStringList { "info", m_model, "--device", "cuda" };
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

    // selfcheck on the CPU: the runtime line, two finite LoRA losses that fall (the same batch
    // twice), and the forward compared with itself.
    void selfCheckOnCpu()
    {
        RUN_EXPECT(
            r, (QStringList { "selfcheck", "--model", m_model, "--device", "cpu", "--json" }), 0);
        const QList<QByteArray> lines = r.out.trimmed().split('\n');
        QCOMPARE(lines.size(), 2);
        const QJsonObject runtime = QJsonDocument::fromJson(lines[0]).object();
        QCOMPARE(runtime.value("event").toString(), QStringLiteral("runtime"));
        QVERIFY(!runtime.value("libtorch").toString().isEmpty());
        const QJsonObject check = QJsonDocument::fromJson(lines[1]).object();
        QCOMPARE(check.value("device").toString(), QStringLiteral("cpu"));
        QCOMPARE(check.value("precision").toString(), QStringLiteral("fp32"));
        QVERIFY(check.value("passed").toBool());
        const QJsonArray losses = check.value("losses").toArray();
        QCOMPARE(losses.size(), 2);
        QVERIFY2(losses[1].toDouble() < losses[0].toDouble(), r.out.constData());
        QCOMPARE(check.value("forward_max_abs_diff").toDouble(), 0.0);
        RUN_EXPECT(text, (QStringList { "selfcheck", "--model", m_model, "--device", "cpu" }), 0);
        QVERIFY2(text.out.contains("self-check passed"), text.out.constData());
        QVERIFY2(text.out.startsWith("libtorch "), text.out.constData());
    }

    // --- init-model ----------------------------------------------------------------------

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

    void initModelIsDeterministic()
    {
        const QString again = tmpPath("again"), other = tmpPath("other");
        {
            RUN_EXPECT(r, initModelArgs(again), 0);
        }
        {
            RUN_EXPECT(r, initModelArgs(other, "4"), 0);
        }
        const QByteArray weights = readAll(m_model + "/model.safetensors");
        QVERIFY(weights.size() > 90000 * 4);
        QVERIFY2(readAll(again + "/model.safetensors") == weights, "same seed, different weights");
        const QByteArray otherWeights = readAll(other + "/model.safetensors");
        QCOMPARE(otherWeights.size(), weights.size());
        QVERIFY2(otherWeights != weights, "different seeds, same weights");
        QCOMPARE(readAll(again + "/config.json"), readAll(m_model + "/config.json"));
    }

    // --- info ----------------------------------------------------------------------------

    void infoJson()
    {
        RUN_EXPECT(r, (QStringList { "info", m_model, "--json" }), 0);
        QJsonParseError error;
        const QJsonDocument doc = QJsonDocument::fromJson(r.out, &error);
        QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
        const QJsonObject j = doc.object();
        const qint64 parameters = j.value("parameters").toInteger(-1);
        const qint64 backbone = j.value("backbone_parameters").toInteger(-1);
        const qint64 head = j.value("head_parameters").toInteger(-1);
        QVERIFY(backbone > 0 && head > 0);
        QCOMPARE(backbone + head, parameters);
        // HF head: LayerNorm(hidden) + Linear(hidden -> 3).
        const QJsonObject config = j.value("config").toObject();
        const int hidden = config.value("hidden_size").toInt();
        QCOMPARE(hidden, 64);
        QCOMPARE(head, qint64(2 * hidden + hidden * 3 + 3));
        QCOMPARE(j.value("labels").toArray(), QJsonArray({ "yes", "no", "up" }));
        QCOMPARE(config.value("max_length").toInt(), 100);
        QCOMPARE(config.value("tokens").toInt(), 2 + 12 * 9);
        QCOMPARE(j.value("head").toString(), QString("hf"));
        QCOMPARE(j.value("multi_label").toBool(true), false);
        QCOMPARE(j.value("stored_dtype").toString(), QString("F32"));
        QCOMPARE(j.value("checkpoint_max_length").toInt(), 100);
    }

    // --stride 16,16: patches without overlap, 8 x 6 of them on 128 bins x 100 frames, and the
    // strides are in config.json under the Hugging Face names.
    void initModelStride()
    {
        const QString dir = tmpPath("stride-model");
        RUN_EXPECT(init, (initModelArgs(dir) + QStringList { "--stride", "16,12" }), 0);
        RUN_EXPECT(r, (QStringList { "info", dir, "--json" }), 0);
        const QJsonObject config =
            QJsonDocument::fromJson(r.out).object().value("config").toObject();
        QCOMPARE(config.value("tokens").toInt(), 2 + 8 * 8);
        QFile file(dir + "/config.json");
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonObject stored = QJsonDocument::fromJson(file.readAll()).object();
        QCOMPARE(stored.value("frequency_stride").toInt(), 16);
        QCOMPARE(stored.value("time_stride").toInt(), 12);
        const QString out = tmpPath("stride-bad");
        for (const char *bad : { "16", "0,10", "a,b", "10,10,10" }) {
            RUN_EXPECT(e, (QStringList { "init-model", "--stride", bad, "--out", out }), 2);
            QVERIFY2(e.err.contains("--stride"), e.err.constData());
        }
        QVERIFY(!QFileInfo::exists(out));
    }

    void infoMaxLengthOverride()
    {
        RUN_EXPECT(r, (QStringList { "info", m_model, "--json", "--max-length", "50" }), 0);
        const QJsonObject j = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(j.value("config").toObject().value("max_length").toInt(), 50);
        QCOMPARE(j.value("checkpoint_max_length").toInt(), 100);
    }

    void infoPlain()
    {
        RUN_EXPECT(r, (QStringList { "info", m_model }), 0);
        QVERIFY2(r.out.contains("3 labels"), r.out.constData());
        for (int i = 0; i < kLabels.size(); ++i)
            QVERIFY2(r.out.contains(QStringLiteral("%1  %2\n").arg(i, 4).arg(kLabels[i]).toUtf8()),
                r.out.constData());
        QVERIFY(r.out.contains("100 frames x 128 mel bins"));
        QVERIFY(r.err.isEmpty());
    }

    // --- input errors --------------------------------------------------------------------

    void inputErrors_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("mentions");

        QTest::addRow("missing folder") << "/nonexistent/astpeft-model"
                                        << "/nonexistent/astpeft-model";

        const QString pickle = tmpPath("pickle");
        QDir().mkpath(pickle);
        writeAll(pickle + "/pytorch_model.bin", QByteArray("PK\x03\x04 not really a zip", 21));
        QTest::addRow("pickle only") << pickle << "convert_pickle_to_safetensors.py";

        const QString truncated = tmpPath("truncated");
        if (runCli(initModelArgs(truncated)).exitCode == 0) {
            const QString file = truncated + "/model.safetensors";
            QFile f(file);
            f.resize(f.size() / 2);
        }
        QTest::addRow("truncated weights") << truncated << truncated + "/model.safetensors";

        const QString badConfig = tmpPath("bad_config");
        if (runCli(initModelArgs(badConfig)).exitCode == 0)
            writeAll(badConfig + "/config.json", "{ \"hidden_size\": 64, this is not JSON");
        QTest::addRow("config not JSON") << badConfig << badConfig + "/config.json";
    }
    void inputErrors()
    {
        QFETCH(QString, model);
        QFETCH(QString, mentions);
        for (const QStringList &args :
            { QStringList { "info", model }, QStringList { "info", model, "--json" },
                QStringList { "predict", model, kSpeech } }) {
            RUN_EXPECT(r, args, 1);
            QVERIFY2(r.err.contains(mentions.toUtf8()), qPrintable(describe(args, r)));
            QVERIFY2(isOneLine(r.err), qPrintable(describe(args, r)));
            QVERIFY(r.out.isEmpty());
        }
    }

    // --- fbank ---------------------------------------------------------------------------

    void fbankMatchesFixture()
    {
        const QString out = tmpPath("speech.npy");
        RUN_EXPECT(r, (QStringList { "fbank", kSpeech, "--out", out, "--max-length", "0" }), 0);
        const NpyArray ours = readNpy(toPath(out));
        const NpyArray expected = readNpy(toPath(kFixtures + "/fbank/speech.npy"));
        QCOMPARE(ours.shape, std::vector<std::int64_t>({ 172, 128 }));
        QCOMPARE(ours.shape, expected.shape);
        double maxAbs = 0.0, meanAbs = 0.0;
        for (std::size_t i = 0; i < ours.data.size(); ++i) {
            const double d = std::abs(double(ours.data[i]) - double(expected.data[i]));
            maxAbs = std::max(maxAbs, d);
            meanAbs += d;
        }
        meanAbs /= double(ours.data.size());
        QVERIFY2(maxAbs <= 5e-3, qPrintable(QString::number(maxAbs)));
        QVERIFY2(meanAbs <= 5e-5, qPrintable(QString::number(meanAbs)));
    }

    void fbankPadsWithNormalisedZero()
    {
        const QString out = tmpPath("speech_300.npy");
        RUN_EXPECT(r, (QStringList { "fbank", kSpeech, "--out", out, "--max-length", "300" }), 0);
        const NpyArray ours = readNpy(toPath(out));
        QCOMPARE(ours.shape, std::vector<std::int64_t>({ 300, 128 }));
        const NpyArray expected = readNpy(toPath(kFixtures + "/fbank/speech.npy"));
        for (std::size_t i = 0; i < expected.data.size(); ++i)
            QVERIFY(std::abs(ours.data[i] - expected.data[i]) <= 5e-3);
        for (std::size_t i = 172 * 128; i < ours.data.size(); ++i)
            QVERIFY2(std::abs(ours.data[i] - kPadValue) <= 1e-6,
                qPrintable(QStringLiteral("element %1: %2").arg(i).arg(ours.data[i])));
    }

    void fbankTruncates()
    {
        const QString out = tmpPath("speech_100.npy");
        RUN_EXPECT(r, (QStringList { "fbank", kSpeech, "--out", out, "--max-length", "100" }), 0);
        const NpyArray ours = readNpy(toPath(out));
        QCOMPARE(ours.shape, std::vector<std::int64_t>({ 100, 128 }));
        const NpyArray expected = readNpy(toPath(kFixtures + "/fbank/speech.npy"));
        for (std::size_t i = 0; i < ours.data.size(); ++i)
            QVERIFY(std::abs(ours.data[i] - expected.data[i]) <= 5e-3);
    }

    void fbankRaw()
    {
        const QString out = tmpPath("speech_raw.npy");
        RUN_EXPECT(
            r, (QStringList { "fbank", kSpeech, "--out", out, "--raw", "--max-length", "0" }), 0);
        const NpyArray raw = readNpy(toPath(out));
        const NpyArray expected = readNpy(toPath(kFixtures + "/fbank/speech.npy"));
        QCOMPARE(raw.shape, expected.shape);
        double maxAbs = 0.0;
        for (std::size_t i = 0; i < raw.data.size(); ++i)
            maxAbs = std::max(maxAbs, std::abs((raw.data[i] - kMean) / kTwoStd - expected.data[i]));
        QVERIFY2(maxAbs <= 5e-3, qPrintable(QString::number(maxAbs)));
    }

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

    void fbankChannelSelection()
    {
        // Left: a 440 Hz sine; right: silence. Averaging halves the sine, channel 1 is silent.
        const QString wav = tmpPath("stereo.wav");
        std::vector<float> interleaved(2 * 16000, 0.0f);
        for (std::size_t i = 0; i < 16000; ++i)
            interleaved[2 * i] = 0.5f * float(std::sin(2 * M_PI * 440.0 * double(i) / 16000.0));
        writeAudio(toPath(wav), interleaved, 16000, 2);
        auto features = [&](const QStringList &extra) {
            const QString out = tmpPath("stereo.npy");
            const QStringList args =
                QStringList { "fbank", wav, "--out", out, "--max-length", "0", "--raw" } + extra;
            const CliResult r = runCli(args);
            if (r.exitCode != 0)
                qWarning("%s", qPrintable(describe(args, r)));
            return readNpy(toPath(out));
        };
        const NpyArray mean = features({});
        const NpyArray left = features({ "--channel", "0" });
        const NpyArray right = features({ "--channel", "1" });
        QCOMPARE(mean.shape, left.shape);
        // Half the amplitude is a quarter of the power: log(1/4) = -1.386 in the tone's bins.
        const std::size_t toneBin = 50 * 128 + 24; // frame 50, mel bin near 440 Hz
        QVERIFY(std::abs((left.data[toneBin] - mean.data[toneBin]) - std::log(4.0)) < 0.01);
        for (float v : right.data)
            QVERIFY(std::abs(v - std::log(1.1920929e-07f)) < 1e-4f);
        // A channel the file lacks: the request does not fit this file (usage, exit 2).
        RUN_EXPECT(
            bad, (QStringList { "fbank", wav, "--out", tmpPath("x.npy"), "--channel", "2" }), 2);
        QVERIFY2(bad.err.contains(wav.toUtf8()), bad.err.constData());
        RUN_EXPECT(
            neg, (QStringList { "fbank", wav, "--out", tmpPath("x.npy"), "--channel", "-1" }), 2);
    }

    void fbankMissingAudio()
    {
        const QString wav = tmpPath("nothing-here.wav");
        const QString out = tmpPath("nothing.npy");
        RUN_EXPECT(r, (QStringList { "fbank", wav, "--out", out }), 1);
        QVERIFY2(r.err.contains(wav.toUtf8()), r.err.constData());
        QVERIFY(isOneLine(r.err));
        QVERIFY(!QFileInfo::exists(out));
    }

    // --- predict -------------------------------------------------------------------------

    void methodsJson()
    {
        RUN_EXPECT(r, (QStringList { "methods", "--json" }), 0);
        const QJsonArray list = QJsonDocument::fromJson(r.out).array();
        QCOMPARE(list.size(), 8);
        QStringList names;
        for (const auto &v : list) {
            names << v.toObject()["name"].toString();
            QVERIFY(!v.toObject()["summary"].toString().isEmpty());
        }
        QCOMPARE(names,
            (QStringList { "full", "linear", "bitfit", "prompt-shallow", "prompt-deep", "prefix",
                "lora", "adapter" }));
        QCOMPARE(list[6].toObject()["defaults"].toObject()["rank"].toInt(), 6);
        RUN_EXPECT(plain, (QStringList { "methods" }), 0);
        QVERIFY(plain.out.contains("--budget"));
    }

    void paramsOnAstBase_data()
    {
        QTest::addColumn<QStringList>("knobs");
        QTest::addColumn<int>("withoutHead");
        QTest::addRow("bottleneck pfeiffer")
            << QStringList { "--method", "adapter", "--block", "bottleneck" } << 250512;
        QTest::addRow("conformer houlsby")
            << QStringList { "--method", "adapter", "--placement", "houlsby" } << 542976;
        QTest::addRow("conformer k=8")
            << QStringList { "--method", "adapter", "--kernel", "8" } << 270048;
        QTest::addRow("lora q,v r=6")
            << QStringList { "--method", "lora", "--targets", "q,v", "--rank", "6" } << 222720;
        QTest::addRow("prefix 24")
            << QStringList { "--method", "prefix", "--prefix-tokens", "24" } << 222720;
        QTest::addRow("prompt-deep 25") << QStringList { "--method", "prompt-deep" } << 231936;
        QTest::addRow("bitfit") << QStringList { "--method", "bitfit" } << 102144;
        QTest::addRow("linear") << QStringList { "--method", "linear" } << 1536;
    }
    void paramsOnAstBase()
    {
        QFETCH(QStringList, knobs);
        QFETCH(int, withoutHead);
        // params reads config.json only: an AST-base config at max_length 100 is enough.
        const QString dir = tmpPath("base-config");
        AstConfig c;
        c.maxLength = 100;
        saveAstConfig(c, toPath(dir));
        RUN_EXPECT(r, (QStringList { "params", dir, "--labels", "10", "--json" } + knobs), 0);
        const QJsonObject j = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(j["trainable_without_head"].toInteger(), qint64(withoutHead));
        QCOMPARE(j["trainable"].toInteger(), qint64(withoutHead + 7690));
        QCOMPARE(j["backbone"].toInteger(), qint64(85339392));
        QCOMPARE(j["breakdown"].toObject()["head"].toInteger(), qint64(7690));
        QCOMPARE(j["method"].toString(), knobs[1]);
    }

    void paramsBudget()
    {
        const QString dir = tmpPath("base-config-budget");
        AstConfig c;
        c.maxLength = 100;
        saveAstConfig(c, toPath(dir));
        RUN_EXPECT(r,
            (QStringList { "params", dir, "--method", "adapter", "--block", "bottleneck",
                "--budget", "250k", "--json" }),
            0);
        const QJsonObject j = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(j["knobs"].toObject()["bottleneck"].toInt(), 11);
        QCOMPARE(j["budget"].toInteger(), qint64(250000));
        QVERIFY(j["trainable_without_head"].toInteger() <= 250000);
        RUN_EXPECT(pct,
            (QStringList { "params", dir, "--method", "lora", "--budget", "0.3%", "--json" }), 0);
        QCOMPARE(QJsonDocument::fromJson(pct.out).object()["knobs"].toObject()["rank"].toInt(), 6);
        RUN_EXPECT(
            tooSmall, (QStringList { "params", dir, "--method", "lora", "--budget", "1000" }), 2);
        QVERIFY2(tooSmall.err.contains("rank 1") && tooSmall.err.contains("38,400"),
            tooSmall.err.constData());
        for (const QStringList &bad : { QStringList { "--method", "adapters" },
                 QStringList { "--method", "prefix", "--prefix-tokens", "23" },
                 QStringList { "--method", "lora", "--targets", "q,x" },
                 QStringList { "--method", "lora", "--budget", "lots" },
                 QStringList { "--method", "adapter", "--placement", "middle" } }) {
            const CliResult e = runCli(QStringList { "params", dir } + bad);
            QVERIFY2(e.exitCode == 2, qPrintable(describe(QStringList { "params", dir } + bad, e)));
        }
    }

    void predictJson()
    {
        RUN_EXPECT(r,
            (QStringList {
                "predict", m_model, kSpeech, kTone, "--json", "--logits", "--top-k", "2" }),
            0);
        QCOMPARE(r.out.count('\n'), 2);
        const QList<QJsonObject> lines = jsonLines(r.out);
        QCOMPARE(lines.size(), 2);
        QCOMPARE(lines[0].value("file").toString(), kSpeech);
        QCOMPARE(lines[1].value("file").toString(), kTone);
        for (const QJsonObject &j : lines) {
            const std::vector<double> logits = toDoubles(j.value("logits").toArray());
            QCOMPARE(logits.size(), std::size_t(3));
            const std::vector<double> expected = softmax(logits);
            const QJsonArray top = j.value("top").toArray();
            QCOMPARE(top.size(), 2);
            double previous = 1.0;
            for (const QJsonValue &t : top) {
                const QString label = t.toObject().value("label").toString();
                const double score = t.toObject().value("score").toDouble(-1.0);
                QVERIFY2(kLabels.contains(label), qPrintable(label));
                QVERIFY(score >= 0.0 && score <= 1.0);
                QVERIFY(score <= previous);
                previous = score;
                QVERIFY2(
                    std::abs(score - expected[kLabels.indexOf(label)]) <= 1e-5, qPrintable(label));
            }
            // The best label is the largest logit, and the two are distinct.
            const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
            QCOMPARE(top[0].toObject().value("label").toString(), kLabels[int(best)]);
            QVERIFY(top[0].toObject().value("label") != top[1].toObject().value("label"));
        }
    }

    void predictJsonWithoutLogits()
    {
        RUN_EXPECT(r, (QStringList { "predict", m_model, kSpeech, "--json" }), 0);
        const QList<QJsonObject> lines = jsonLines(r.out);
        QCOMPARE(lines.size(), 1);
        QVERIFY(!lines[0].contains("logits"));
        // Default --top-k 5, capped at the 3 labels; the scores of a softmax sum to 1.
        const QJsonArray top = lines[0].value("top").toArray();
        QCOMPARE(top.size(), 3);
        double sum = 0.0;
        for (const QJsonValue &t : top)
            sum += t.toObject().value("score").toDouble();
        QVERIFY(std::abs(sum - 1.0) <= 1e-5);
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
        QVERIFY(r.err.isEmpty());
    }

    void predictKeepsGoingPastBadFiles_data()
    {
        QTest::addColumn<QString>("bad");
        QTest::addColumn<QString>("mentions");
        QTest::addRow("missing") << tmpPath("missing.wav") << "no such file";
        const QString corrupt = tmpPath("x.wav");
        QByteArray junk(8192, Qt::Uninitialized);
        QRandomGenerator random(42);
        for (char &c : junk)
            c = char(random.bounded(256));
        junk[0] = 'J'; // never RIFF
        writeAll(corrupt, junk);
        QTest::addRow("corrupt") << corrupt << "";
    }
    void predictKeepsGoingPastBadFiles()
    {
        QFETCH(QString, bad);
        QFETCH(QString, mentions);
        RUN_EXPECT(r, (QStringList { "predict", m_model, kSpeech, bad, kTone, "--json" }), 1);
        const QList<QJsonObject> lines = jsonLines(r.out);
        QCOMPARE(lines.size(), 2);
        QCOMPARE(lines[0].value("file").toString(), kSpeech);
        QCOMPARE(lines[1].value("file").toString(), kTone);
        QVERIFY2(r.err.contains(bad.toUtf8()), r.err.constData());
        QVERIFY2(r.err.contains(mentions.toUtf8()), r.err.constData());
        QVERIFY2(isOneLine(r.err), r.err.constData());

        RUN_EXPECT(alone, (QStringList { "predict", m_model, bad }), 1);
        QVERIFY(alone.out.isEmpty());
        QVERIFY(alone.err.contains(bad.toUtf8()));
        QVERIFY(isOneLine(alone.err));
    }

    void predictTooShortAudio()
    {
        const QString wav = tmpPath("short_for_predict.wav");
        writeAudio(toPath(wav), std::vector<float>(300, 0.05f), 16000);
        RUN_EXPECT(r, (QStringList { "predict", m_model, wav, "--json" }), 1);
        QVERIFY2(r.err.contains(wav.toUtf8()), r.err.constData());
        QVERIFY(r.err.contains("shorter than one"));
        QVERIFY(isOneLine(r.err));
    }

    void predictMultiLabel()
    {
        const QString dir = tmpPath("multi");
        {
            RUN_EXPECT(init, initModelArgs(dir), 0);
        }
        QJsonObject config = QJsonDocument::fromJson(readAll(dir + "/config.json")).object();
        QVERIFY(!config.isEmpty());
        config["problem_type"] = "multi_label_classification";
        QVERIFY(writeAll(dir + "/config.json", QJsonDocument(config).toJson()));
        QVERIFY(loadAstConfig(toPath(dir)).multiLabel());

        RUN_EXPECT(info, (QStringList { "info", dir, "--json" }), 0);
        QCOMPARE(QJsonDocument::fromJson(info.out).object().value("multi_label").toBool(), true);

        RUN_EXPECT(
            r, (QStringList { "predict", dir, kSpeech, "--json", "--logits", "--top-k", "3" }), 0);
        const QList<QJsonObject> lines = jsonLines(r.out);
        QCOMPARE(lines.size(), 1);
        const std::vector<double> logits = toDoubles(lines[0].value("logits").toArray());
        QCOMPARE(logits.size(), std::size_t(3));
        const std::vector<double> expected = sigmoid(logits);
        const QJsonArray top = lines[0].value("top").toArray();
        QCOMPARE(top.size(), 3);
        double sum = 0.0, previous = 1.0;
        for (const QJsonValue &t : top) {
            const QString label = t.toObject().value("label").toString();
            const double score = t.toObject().value("score").toDouble();
            QVERIFY(score <= previous);
            previous = score;
            sum += score;
            QVERIFY2(std::abs(score - expected[kLabels.indexOf(label)]) <= 1e-5, qPrintable(label));
        }
        QVERIFY2(std::abs(sum - 1.0) > 1e-3, "multi-label scores look like a softmax");
    }

    void predictOtherMaxLength()
    {
        QList<std::vector<double>> logits;
        for (const QStringList &extra : { QStringList {}, QStringList { "--max-length", "50" },
                 QStringList { "--max-length", "50", "--positions", "zero" } }) {
            RUN_EXPECT(
                r, (QStringList { "predict", m_model, kSpeech, "--json", "--logits" } + extra), 0);
            const QList<QJsonObject> lines = jsonLines(r.out);
            QCOMPARE(lines.size(), 1);
            logits.append(toDoubles(lines[0].value("logits").toArray()));
            QCOMPARE(logits.back().size(), std::size_t(3));
            for (double v : logits.back())
                QVERIFY(std::isfinite(v));
        }
        // Fewer frames, and adapted rather than zeroed position embeddings, change the logits.
        QVERIFY(logits[0] != logits[1]);
        QVERIFY(logits[1] != logits[2]);
    }

    void predictLongerMaxLength()
    {
        RUN_EXPECT(r,
            (QStringList {
                "predict", m_model, kSpeech, "--json", "--max-length", "300", "--top-k", "1" }),
            0);
        QCOMPARE(jsonLines(r.out).size(), 1);
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
