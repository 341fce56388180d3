// SPDX-License-Identifier: MIT
// AST config.json / preprocessor_config.json: HF defaults, round trips, label order, the
// multi-label rule and malformed files (each error must name the file and the field).
#include "error.h"
#include "model/ast_config.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace astpeft::core;

Q_DECLARE_METATYPE(astpeft::core::AstConfig)
Q_DECLARE_METATYPE(astpeft::core::ErrorKind)

namespace {

QString qs(const std::string &s)
{
    return QString::fromStdString(s);
}

QStringList qsl(const std::vector<std::string> &v)
{
    QStringList out;
    for (const auto &s : v)
        out << qs(s);
    return out;
}

std::vector<std::string> numberedLabels(int n, const std::string &prefix = "label_")
{
    std::vector<std::string> labels;
    for (int i = 0; i < n; ++i)
        labels.push_back(prefix + std::to_string(i));
    return labels;
}

// config.json as transformers writes it for MIT/ast-finetuned-audioset-10-10-0.4593 (527 labels,
// no problem_type), with made-up label names past the first few.
std::string audiosetConfigJson()
{
    QJsonObject id2label;
    QJsonObject label2id;
    const QStringList first { "Speech", "Male speech, man speaking",
        "Female speech, woman speaking" };
    for (int i = 0; i < 527; ++i) {
        const QString label = i < first.size() ? first[i] : QString("Class %1").arg(i);
        id2label[QString::number(i)] = label;
        label2id[label] = i;
    }
    QJsonObject o {
        { "architectures", QJsonArray { "ASTForAudioClassification" } },
        { "attention_probs_dropout_prob", 0.0 },
        { "frequency_stride", 10 },
        { "hidden_act", "gelu" },
        { "hidden_dropout_prob", 0.0 },
        { "hidden_size", 768 },
        { "id2label", id2label },
        { "initializer_range", 0.02 },
        { "intermediate_size", 3072 },
        { "label2id", label2id },
        { "layer_norm_eps", 1e-12 },
        { "max_length", 1024 },
        { "model_type", "audio-spectrogram-transformer" },
        { "num_attention_heads", 12 },
        { "num_hidden_layers", 12 },
        { "num_mel_bins", 128 },
        { "patch_size", 16 },
        { "qkv_bias", true },
        { "time_stride", 10 },
        { "torch_dtype", "float32" },
        { "transformers_version", "4.25.0.dev0" },
    };
    return QJsonDocument(o).toJson().toStdString();
}

// What ASTFeatureExtractor.save_pretrained writes for the AudioSet checkpoint.
const char *kAudiosetPreprocessor = R"({
  "do_normalize": true,
  "feature_extractor_type": "ASTFeatureExtractor",
  "feature_size": 1,
  "max_length": 1024,
  "mean": -4.2677393,
  "num_mel_bins": 128,
  "padding_side": "right",
  "padding_value": 0.0,
  "return_attention_mask": false,
  "sampling_rate": 16000,
  "std": 4.5689974
}
)";

void writeText(const std::filesystem::path &path, const std::string &text)
{
    QFile f(QString::fromStdString(path.string()));
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(f.write(text.data(), qint64(text.size())), qint64(text.size()));
}

void compareModelFields(const AstConfig &a, const AstConfig &b)
{
    QCOMPARE(a.hiddenSize, b.hiddenSize);
    QCOMPARE(a.numHiddenLayers, b.numHiddenLayers);
    QCOMPARE(a.numAttentionHeads, b.numAttentionHeads);
    QCOMPARE(a.intermediateSize, b.intermediateSize);
    QCOMPARE(qs(a.hiddenAct), qs(b.hiddenAct));
    QCOMPARE(a.hiddenDropoutProb, b.hiddenDropoutProb);
    QCOMPARE(a.attentionProbsDropoutProb, b.attentionProbsDropoutProb);
    QCOMPARE(a.layerNormEps, b.layerNormEps);
    QCOMPARE(a.initializerRange, b.initializerRange);
    QCOMPARE(a.patchSize, b.patchSize);
    QCOMPARE(a.qkvBias, b.qkvBias);
    QCOMPARE(a.frequencyStride, b.frequencyStride);
    QCOMPARE(a.timeStride, b.timeStride);
    QCOMPARE(a.maxLength, b.maxLength);
    QCOMPARE(a.numMelBins, b.numMelBins);
    QCOMPARE(qsl(a.labels), qsl(b.labels));
    QCOMPARE(qs(a.problemType), qs(b.problemType));
    QCOMPARE(qsl(a.architectures), qsl(b.architectures));
}

void compareFeatureFields(const AstConfig &a, const AstConfig &b)
{
    QCOMPARE(a.samplingRate, b.samplingRate);
    QCOMPARE(a.featureMean, b.featureMean); // exact: float -> shortest decimal -> float
    QCOMPARE(a.featureStd, b.featureStd);
    QCOMPARE(a.doNormalize, b.doNormalize);
}

} // namespace

class TestAstConfig : public QObject
{
    Q_OBJECT

private slots:
    void init();

    void audiosetDefaults();
    void emptyObjectGivesDefaults();
    void roundTrip_data();
    void roundTrip();
    void hfSpelling();
    void id2labelOrdering();
    void multiLabel_data();
    void multiLabel();
    void preprocessorSettings();
    void malformedConfig_data();
    void malformedConfig();
    void malformedFolder_data();
    void malformedFolder();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::filesystem::path dir() const { return m_dir->path().toStdString(); }
};

void TestAstConfig::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestAstConfig::audiosetDefaults()
{
    const AstConfig c = parseAstConfig(audiosetConfigJson(), "config.json");
    AstConfig expected;
    expected.labels = c.labels; // checked below
    expected.architectures = { "ASTForAudioClassification" };
    compareModelFields(c, expected);
    compareFeatureFields(c, AstConfig {});
    QCOMPARE(int(c.labels.size()), 527);
    QCOMPARE(qs(c.labels[0]), QString("Speech"));
    QCOMPARE(qs(c.labels[2]), QString("Female speech, woman speaking"));
    QCOMPARE(qs(c.labels[526]), QString("Class 526"));
    QVERIFY(c.problemType.empty());
    QVERIFY(c.multiLabel());
    QCOMPARE(c.frequencyPatches(), 12);
    QCOMPARE(c.timePatches(), 101);
    QCOMPARE(c.numTokens(), 1214);
}

void TestAstConfig::emptyObjectGivesDefaults()
{
    // Every key is optional, and a null value means "default" as in HF.
    for (const char *text :
        { "{}", R"({"problem_type": null, "architectures": null, "id2label": null})" }) {
        const AstConfig c = parseAstConfig(text);
        compareModelFields(c, AstConfig {});
        QCOMPARE(c.hiddenSize, 768);
        QCOMPARE(c.layerNormEps, 1e-12);
        QCOMPARE(c.maxLength, 1024);
        QCOMPARE(c.numMelBins, 128);
        QVERIFY(c.labels.empty());
        QVERIFY(!c.multiLabel());
    }
}

void TestAstConfig::roundTrip_data()
{
    QTest::addColumn<AstConfig>("config");

    AstConfig audioset;
    audioset.labels = numberedLabels(527);
    audioset.architectures = { "ASTForAudioClassification" };
    QTest::addRow("audioset") << audioset;

    AstConfig speech; // MIT/ast-finetuned-speech-commands-v2
    speech.maxLength = 128;
    speech.labels = numberedLabels(35, "word ");
    speech.problemType = "single_label_classification";
    speech.architectures = { "ASTForAudioClassification" };
    speech.featureMean = -6.845978f;
    speech.featureStd = 5.5654526f;
    QTest::addRow("speech commands") << speech;

    QTest::addRow("bare backbone") << AstConfig {};

    AstConfig odd;
    odd.hiddenSize = 192;
    odd.numHiddenLayers = 3;
    odd.numAttentionHeads = 3;
    odd.intermediateSize = 700;
    odd.hiddenDropoutProb = 0.1;
    odd.attentionProbsDropoutProb = 1.0 / 3.0;
    odd.layerNormEps = 1e-6;
    odd.initializerRange = 0.0123456789012345;
    odd.patchSize = 8;
    odd.qkvBias = false;
    odd.frequencyStride = 4;
    odd.timeStride = 6;
    odd.maxLength = 300;
    odd.numMelBins = 64;
    odd.labels = { "dog", "Ünïcödé \"quoted\" \\ label", "", "dog" };
    odd.problemType = "multi_label_classification";
    odd.architectures = { "ASTForAudioClassification", "ASTModel" };
    odd.featureMean = 0.1f;
    odd.featureStd = 1e-3f;
    odd.doNormalize = false;
    QTest::addRow("unusual values") << odd;
}

void TestAstConfig::roundTrip()
{
    QFETCH(AstConfig, config);
    const AstConfig parsed = parseAstConfig(astConfigJson(config));
    compareModelFields(parsed, config);
    compareFeatureFields(parsed, AstConfig {}); // parseAstConfig reads config.json only

    saveAstConfig(config, dir() / "model");
    const AstConfig loaded = loadAstConfig(dir() / "model");
    compareModelFields(loaded, config);
    compareFeatureFields(loaded, config);
    QCOMPARE(loaded.multiLabel(), config.multiLabel());
    // Saving what was loaded reproduces the files byte for byte.
    QCOMPARE(qs(astConfigJson(loaded)), qs(astConfigJson(config)));
    QCOMPARE(qs(preprocessorConfigJson(loaded)), qs(preprocessorConfigJson(config)));
}

void TestAstConfig::hfSpelling()
{
    AstConfig c;
    c.labels = { "a", "b" };
    c.architectures = { "ASTForAudioClassification" };
    const QString json = qs(astConfigJson(c));
    for (const char *piece :
        { "{\n  \"architectures\": [\n    \"ASTForAudioClassification\"\n  ],\n",
            "\n  \"attention_probs_dropout_prob\": 0.0,\n", "\n  \"hidden_act\": \"gelu\",\n",
            "\n  \"id2label\": {\n    \"0\": \"a\",\n    \"1\": \"b\"\n  },\n",
            "\n  \"label2id\": {\n    \"a\": 0,\n    \"b\": 1\n  },\n",
            "\n  \"layer_norm_eps\": 1e-12,\n",
            "\n  \"model_type\": \"audio-spectrogram-transformer\",\n", "\n  \"qkv_bias\": true,\n",
            "\n  \"torch_dtype\": \"float32\"\n}\n" })
        QVERIFY2(json.contains(piece), qPrintable(json));
    QVERIFY(!json.contains("problem_type"));
    // No labels: no id2label/label2id at all.
    const QString bare = qs(astConfigJson(AstConfig {}));
    QVERIFY(!bare.contains("id2label"));
    QVERIFY(!bare.contains("label2id"));
    QVERIFY(!bare.contains("architectures"));
    QVERIFY(bare.contains("\"model_type\": \"audio-spectrogram-transformer\""));

    // Byte-identical to the checkpoint's own preprocessor_config.json.
    QCOMPARE(qs(preprocessorConfigJson(AstConfig {})), QString(kAudiosetPreprocessor));
}

void TestAstConfig::id2labelOrdering()
{
    // JSON object order is irrelevant: labels come out in id order (10 after 9, not after 1).
    const std::string text = R"({"id2label": {"10": "k", "2": "c", "0": "a", "11": "l", "1": "b",
        "9": "j", "3": "d", "4": "e", "5": "f", "6": "g", "7": "h", "8": "i"}})";
    const AstConfig c = parseAstConfig(text);
    QCOMPARE(
        qsl(c.labels), QStringList({ "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l" }));
    QCOMPARE(qsl(parseAstConfig(astConfigJson(c)).labels), qsl(c.labels));
    // An inconsistent label2id is ignored: id2label is authoritative.
    const AstConfig d = parseAstConfig(R"({"id2label": {"0": "x", "1": "y"},
                                           "label2id": {"x": "7", "z": 1}})");
    QCOMPARE(qsl(d.labels), QStringList({ "x", "y" }));
}

void TestAstConfig::multiLabel_data()
{
    QTest::addColumn<QString>("problemType");
    QTest::addColumn<int>("labels");
    QTest::addColumn<bool>("expected");
    QTest::addRow("multi, 10 labels") << "multi_label_classification" << 10 << true;
    QTest::addRow("multi, no labels") << "multi_label_classification" << 0 << true;
    QTest::addRow("single, 527 labels") << "single_label_classification" << 527 << false;
    QTest::addRow("unset, 527 labels (AudioSet)") << "" << 527 << true;
    QTest::addRow("unset, 526 labels") << "" << 526 << false;
    QTest::addRow("unset, 528 labels") << "" << 528 << false;
    QTest::addRow("unset, 35 labels") << "" << 35 << false;
    QTest::addRow("unset, no labels") << "" << 0 << false;
}

void TestAstConfig::multiLabel()
{
    QFETCH(QString, problemType);
    QFETCH(int, labels);
    QFETCH(bool, expected);
    AstConfig c;
    c.problemType = problemType.toStdString();
    c.labels = numberedLabels(labels);
    QCOMPARE(c.multiLabel(), expected);
    QCOMPARE(parseAstConfig(astConfigJson(c)).multiLabel(), expected);
}

void TestAstConfig::preprocessorSettings()
{
    // The speech-commands checkpoint: 128 frames; a preprocessor max_length that disagrees with
    // config.json is ignored (the model's input length is what config.json says).
    writeText(dir() / "config.json", R"({"max_length": 128, "id2label": {"0": "yes", "1": "no"}})");
    writeText(dir() / "preprocessor_config.json",
        R"({"sampling_rate": 16000, "num_mel_bins": 128, "max_length": 1024,
                  "mean": -6.845978, "std": 5.5654526, "do_normalize": false,
                  "feature_extractor_type": "ASTFeatureExtractor", "feature_size": 1})");
    const AstConfig c = loadAstConfig(dir());
    QCOMPARE(c.maxLength, 128);
    QCOMPARE(c.featureMean, -6.845978f);
    QCOMPARE(c.featureStd, 5.5654526f);
    QCOMPARE(c.doNormalize, false);
    QCOMPARE(c.timePatches(), 12);
    QVERIFY(!c.multiLabel());

    // Without preprocessor_config.json the AudioSet statistics apply.
    std::filesystem::remove(dir() / "preprocessor_config.json");
    compareFeatureFields(loadAstConfig(dir()), AstConfig {});
}

void TestAstConfig::malformedConfig_data()
{
    QTest::addColumn<QString>("json");
    QTest::addColumn<ErrorKind>("kind");
    QTest::addColumn<QString>("phrase");
    const auto format = ErrorKind::Format;

    QTest::addRow("invalid JSON") << R"({"hidden_size": 768,)" << format
                                  << "config is not valid JSON";
    QTest::addRow("not an object") << "[768]" << format << "config is not a JSON object";
    QTest::addRow("string for int") << R"({"hidden_size": "768"})" << format
                                    << "field 'hidden_size' must be an integer, got \"768\"";
    QTest::addRow("float for int") << R"({"num_hidden_layers": 12.5})" << format
                                   << "field 'num_hidden_layers' must be an integer";
    QTest::addRow("int out of range")
        << R"({"patch_size": 99999999999})" << format << "field 'patch_size' is out of range";
    QTest::addRow("number for bool")
        << R"({"qkv_bias": 1})" << format << "field 'qkv_bias' must be true or false";
    QTest::addRow("string for double")
        << R"({"layer_norm_eps": "1e-12"})" << format << "field 'layer_norm_eps' must be a number";
    QTest::addRow("number for string")
        << R"({"hidden_act": 1})" << format << "field 'hidden_act' must be a string";
    QTest::addRow("architectures not an array")
        << R"({"architectures": "AST"})" << format << "field 'architectures' must be an array";
    QTest::addRow("hidden_size not divisible")
        << R"({"hidden_size": 770, "num_attention_heads": 12})" << format
        << "field 'hidden_size' 770 is not divisible by num_attention_heads 12";
    QTest::addRow("hidden_act gelu_new")
        << R"({"hidden_act": "gelu_new"})" << ErrorKind::Unsupported
        << "field 'hidden_act' is 'gelu_new'";
    QTest::addRow("hidden_act relu") << R"({"hidden_act": "relu"})" << ErrorKind::Unsupported
                                     << "only the exact (erf) 'gelu' is supported";
    QTest::addRow("id2label gap") << R"({"id2label": {"0": "a", "2": "c"}})" << format
                                  << "field 'id2label' has id 2 but only 2 labels";
    QTest::addRow("id2label starts at 1")
        << R"({"id2label": {"1": "a"}})" << format << "ids must be exactly 0..0";
    QTest::addRow("id2label non-numeric key") << R"({"id2label": {"0": "a", "one": "b"}})" << format
                                              << "has key 'one', which is not a label id";
    QTest::addRow("id2label leading zero")
        << R"({"id2label": {"00": "a"}})" << format << "has key '00'";
    QTest::addRow("id2label negative key")
        << R"({"id2label": {"-1": "a"}})" << format << "has key '-1'";
    QTest::addRow("id2label non-string label")
        << R"({"id2label": {"0": 5}})" << format << "non-string label for id 0";
    QTest::addRow("id2label array")
        << R"({"id2label": ["a", "b"]})" << format << "field 'id2label' must be an object";
    QTest::addRow("wrong model_type")
        << R"({"model_type": "vit"})" << ErrorKind::Model << "field 'model_type' is 'vit'";
    QTest::addRow("negative max_length")
        << R"({"max_length": -5})" << format << "field 'max_length' must be positive, got -5";
    QTest::addRow("zero hidden_size")
        << R"({"hidden_size": 0})" << format << "field 'hidden_size' must be positive";
    QTest::addRow("zero time_stride")
        << R"({"time_stride": 0})" << format << "field 'time_stride' must be positive";
    QTest::addRow("negative frequency_stride")
        << R"({"frequency_stride": -10})" << format << "field 'frequency_stride' must be positive";
    QTest::addRow("patch larger than mel bins")
        << R"({"patch_size": 16, "num_mel_bins": 8})" << format
        << "field 'patch_size' 16 is larger than num_mel_bins 8";
    QTest::addRow("patch larger than max_length")
        << R"({"patch_size": 32, "max_length": 20})" << format << "is larger than max_length 20";
    QTest::addRow("zero layer_norm_eps")
        << R"({"layer_norm_eps": 0})" << format << "field 'layer_norm_eps' must be positive";
    QTest::addRow("dropout of 1") << R"({"hidden_dropout_prob": 1.0})" << format
                                  << "field 'hidden_dropout_prob' must lie in [0, 1)";
    QTest::addRow("absurd hidden_size") << R"({"hidden_size": 32768, "num_attention_heads": 16})"
                                        << format << "field 'hidden_size' is absurdly large";
    QTest::addRow("absurd layers") << R"({"num_hidden_layers": 1000})" << format
                                   << "field 'num_hidden_layers' is absurdly large";
    QTest::addRow("too many tokens") << R"({"max_length": 90000})" << format
                                     << "field 'max_length' 90000 frames makes 107990 tokens";
    QTest::addRow("absurd max_length")
        << R"({"max_length": 200000})" << format << "field 'max_length' is absurdly large";
    QTest::addRow("unknown problem_type") << R"({"problem_type": "ranking"})" << format
                                          << "field 'problem_type' has unknown value 'ranking'";
    QTest::addRow("regression") << R"({"problem_type": "regression"})" << ErrorKind::Unsupported
                                << "field 'problem_type' 'regression' is not supported";
}

void TestAstConfig::malformedConfig()
{
    QFETCH(QString, json);
    QFETCH(ErrorKind, kind);
    QFETCH(QString, phrase);
    const std::filesystem::path file = "/models/broken/config.json";
    try {
        parseAstConfig(json.toStdString(), file);
        QFAIL("accepted a malformed config");
    } catch (const Error &e) {
        const QString what = QString::fromUtf8(e.what());
        QVERIFY2(what.startsWith("/models/broken/config.json: "), qPrintable(what));
        QVERIFY2(what.contains(phrase), qPrintable(what));
        QVERIFY2(e.kind() == kind, qPrintable(what));
    }
}

void TestAstConfig::malformedFolder_data()
{
    // config: "-" for no config.json; preprocessor: "-" for no preprocessor_config.json.
    QTest::addColumn<QString>("config");
    QTest::addColumn<QString>("preprocessor");
    QTest::addColumn<bool>("makeFolder");
    QTest::addColumn<ErrorKind>("kind");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("phrase");
    const auto format = ErrorKind::Format;

    QTest::addRow("missing folder") << "-"
                                    << "-" << false << ErrorKind::Io << "model"
                                    << "model folder does not exist";
    QTest::addRow("missing config.json") << "-"
                                         << "{}" << true << ErrorKind::Io << "config.json"
                                         << "missing config.json";
    QTest::addRow("invalid config.json") << "{"
                                         << "-" << true << format << "config.json"
                                         << "config is not valid JSON";
    QTest::addRow("sampling_rate 44100") << "{}"
                                         << R"({"sampling_rate": 44100})" << true
                                         << ErrorKind::Unsupported << "preprocessor_config.json"
                                         << "field 'sampling_rate' is 44100 Hz";
    QTest::addRow("std 0") << "{}"
                           << R"({"std": 0})" << true << format << "preprocessor_config.json"
                           << "field 'std' must be positive";
    QTest::addRow("negative std") << "{}"
                                  << R"({"std": -4.5})" << true << format
                                  << "preprocessor_config.json"
                                  << "field 'std' must be positive";
    QTest::addRow("mel bins disagree")
        << R"({"num_mel_bins": 128})"
        << R"({"num_mel_bins": 80})" << true << format << "preprocessor_config.json"
        << "field 'num_mel_bins' is 80 but config.json says 128";
    QTest::addRow("mean not a number")
        << "{}"
        << R"({"mean": "0"})" << true << format << "preprocessor_config.json"
        << "field 'mean' must be a number";
    QTest::addRow("do_normalize not a bool")
        << "{}"
        << R"({"do_normalize": "yes"})" << true << format << "preprocessor_config.json"
        << "field 'do_normalize' must be true or false";
    QTest::addRow("preprocessor not JSON")
        << "{}"
        << "mean=0" << true << format << "preprocessor_config.json"
        << "preprocessor config is not valid JSON";
    QTest::addRow("preprocessor max_length not an int")
        << "{}"
        << R"({"max_length": "1024"})" << true << format << "preprocessor_config.json"
        << "field 'max_length' must be an integer";
}

void TestAstConfig::malformedFolder()
{
    QFETCH(QString, config);
    QFETCH(QString, preprocessor);
    QFETCH(bool, makeFolder);
    QFETCH(ErrorKind, kind);
    QFETCH(QString, file);
    QFETCH(QString, phrase);
    const auto folder = dir() / "model";
    if (makeFolder)
        std::filesystem::create_directory(folder);
    if (config != "-")
        writeText(folder / "config.json", config.toStdString());
    if (preprocessor != "-")
        writeText(folder / "preprocessor_config.json", preprocessor.toStdString());
    const QString expectedFile =
        QString::fromStdString((file == "model" ? folder : folder / file.toStdString()).string());
    try {
        loadAstConfig(folder);
        QFAIL("accepted a malformed model folder");
    } catch (const Error &e) {
        const QString what = QString::fromUtf8(e.what());
        QVERIFY2(what.startsWith(expectedFile + ": "), qPrintable(what));
        QVERIFY2(what.contains(phrase), qPrintable(what));
        QVERIFY2(e.kind() == kind, qPrintable(what));
    }
}

QTEST_GUILESS_MAIN(TestAstConfig)
#include "tst_ast_config.moc"
