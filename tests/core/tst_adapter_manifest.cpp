// SPDX-License-Identifier: MIT
// adapter_config.json round trips every knob, rejects malformed files naming the field, and the
// backbone fingerprint tells checkpoints apart while ignoring the head.
#include "error.h"
#include "inference/classifier.h"
#include "peft/adapter_manifest.h"
#include "test_support.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <nlohmann/json.hpp>

using namespace astpeft;
using namespace astpeft::core;
namespace fs = std::filesystem;

namespace {

AdapterManifest sample()
{
    AdapterManifest m;
    m.peft = paperSetting(PeftMethod::Adapter, AdapterBlock::Bottleneck);
    m.peft.adapter.placement = AdapterPlacement::Houlsby;
    m.peft.adapter.mode = AdapterMode::Sequential;
    m.peft.adapter.residual = true;
    m.peft.adapter.activation = Activation::Relu;
    m.peft.adapter.kernel = 8;
    m.peft.lora.targets = { 'q', 'k', 'o' };
    m.peft.lora.alpha = 8.5;
    m.peft.lora.paperScaling = true;
    m.peft.init = PeftInit::Paper;
    m.peft.prompts = 17;
    m.peft.prefixTokens = 10;
    m.labels = { "yes", "no", "up" };
    m.positions = PositionMode::Zero;
    m.frontEnd.maxLength = 100;
    m.frontEnd.mean = -6.6268077f;
    m.frontEnd.std = 5.358466f;
    m.backboneFingerprint = "fnv1a64:0123456789abcdef";
    m.hiddenSize = 768;
    m.numHiddenLayers = 12;
    return m;
}

} // namespace

class TestAdapterManifest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void roundTripKeepsEveryField()
    {
        QTemporaryDir tmp;
        const AdapterManifest m = sample();
        saveAdapterManifest(m, fs::path(tmp.path().toStdString()) / "run" / "adapter");
        const AdapterManifest back =
            loadAdapterManifest(fs::path(tmp.path().toStdString()) / "run" / "adapter");
        QCOMPARE(adapterManifestJson(back), adapterManifestJson(m));
        QCOMPARE(back.peft.adapter.placement, AdapterPlacement::Houlsby);
        QCOMPARE(back.peft.adapter.mode, AdapterMode::Sequential);
        QCOMPARE(back.peft.lora.targets, (std::vector<char> { 'q', 'k', 'o' }));
        QCOMPARE(back.peft.lora.alpha, 8.5);
        QCOMPARE(back.labels, m.labels);
        QCOMPARE(back.positions, PositionMode::Zero);
        QCOMPARE(back.frontEnd.mean, -6.6268077f);
        QCOMPARE(back.frontEnd.maxLength, 100);
        QCOMPARE(back.backboneFingerprint, m.backboneFingerprint);
    }

    void malformedFilesNameTheField_data()
    {
        QTest::addColumn<QString>("pointer"); // JSON pointer to edit
        QTest::addColumn<QString>("value"); // JSON value, or "<remove>"
        QTest::addColumn<QString>("phrase");
        QTest::addRow("wrong format") << "/format"
                                      << "\"peft\""
                                      << "not an astpeft adapter";
        QTest::addRow("newer version") << "/format_version"
                                       << "99"
                                       << "newer than this program";
        QTest::addRow("unknown method") << "/method"
                                        << "\"adapters\""
                                        << "field method";
        QTest::addRow("missing labels") << "/labels"
                                        << "<remove>"
                                        << "missing field labels";
        QTest::addRow("empty labels") << "/labels"
                                      << "[]"
                                      << "always has its head";
        QTest::addRow("label not a string") << "/labels/0"
                                            << "3"
                                            << "non-empty strings";
        // Issue 17: eval then said "empty split" instead of naming the label.
        QTest::addRow("duplicated label")
            << "/labels/2"
            << "\"yes\""
            << "field labels: 'yes' is duplicated (labels[0] and labels[2])";
        QTest::addRow("rank zero") << "/lora/rank"
                                   << "0"
                                   << "lora.rank";
        QTest::addRow("bad target") << "/lora/targets"
                                    << "\"qx\""
                                    << "lora.targets";
        QTest::addRow("bad block") << "/adapter/block"
                                   << "\"dense\""
                                   << "adapter.block";
        QTest::addRow("residual not bool") << "/adapter/residual"
                                           << "\"yes\""
                                           << "adapter.residual";
        QTest::addRow("odd prefix") << "/prefix_tokens"
                                    << "7"
                                    << "even";
        QTest::addRow("zero std") << "/preprocessing/std"
                                  << "0"
                                  << "preprocessing.std";
        QTest::addRow("missing fingerprint") << "/backbone/fingerprint"
                                             << "<remove>"
                                             << "backbone.fingerprint";
        QTest::addRow("bad head") << "/head"
                                  << "\"big\""
                                  << "field head";
        // Sizes out of bounds are refused before anything is sized from them (issue 17).
        QTest::addRow("mel bins huge") << "/preprocessing/num_mel_bins"
                                       << "1000000"
                                       << "field preprocessing.num_mel_bins is 1000000, more than";
        QTest::addRow("max_length huge") << "/preprocessing/max_length"
                                         << "100000000"
                                         << "field preprocessing.max_length is 100000000";
        QTest::addRow("max_length past 64 bits") << "/preprocessing/max_length"
                                                 << "18446744073709551615"
                                                 << "field preprocessing.max_length is";
        QTest::addRow("rank huge") << "/lora/rank"
                                   << "1000000000"
                                   << "field lora.rank is 1000000000";
        QTest::addRow("prompts huge") << "/prompts"
                                      << "100000"
                                      << "field prompts is 100000";
        QTest::addRow("hidden huge") << "/backbone/hidden_size"
                                     << "1000000"
                                     << "field backbone.hidden_size";
        QTest::addRow("sampling rate 1") << "/preprocessing/sampling_rate"
                                         << "1"
                                         << "field preprocessing.sampling_rate";
        QTest::addRow("frame shift past frame") << "/preprocessing/frame_shift"
                                                << "100000"
                                                << "field preprocessing.frame_shift";
        QTest::addRow("high_freq past nyquist") << "/preprocessing/high_freq"
                                                << "9000"
                                                << "preprocessing.low_freq and high_freq";
        QTest::addRow("preemphasis") << "/preprocessing/preemphasis"
                                     << "2"
                                     << "preprocessing.preemphasis";
    }
    // A number beyond double's range: nlohmann::json throws out_of_range, not parse_error,
    // and it escaped the loader as a foreign exception. Found by fuzz_adapter_config.
    void numberOutOfRangeIsAFormatError()
    {
        std::string text = adapterManifestJson(sample());
        text.insert(text.find('{') + 1, "\"huge\": 1e3088, ");
        QTemporaryDir tmp;
        const fs::path dir(tmp.path().toStdString());
        std::ofstream(dir / kAdapterConfigFile) << text;
        const auto e = test::captureError([&] { loadAdapterManifest(dir); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::Format);
        QVERIFY2(QString(e->what()).contains("not valid JSON"), e->what());
        QVERIFY2(QString(e->what()).contains("adapter_config.json"), e->what());
    }

    void malformedFilesNameTheField()
    {
        QFETCH(QString, pointer);
        QFETCH(QString, value);
        QFETCH(QString, phrase);
        nlohmann::json j = nlohmann::json::parse(adapterManifestJson(sample()));
        const nlohmann::json::json_pointer ptr(pointer.toStdString());
        if (value == "<remove>") {
            j[ptr.parent_pointer()].erase(ptr.back());
        } else {
            j[ptr] = nlohmann::json::parse(value.toStdString());
        }
        QTemporaryDir tmp;
        const fs::path dir(tmp.path().toStdString());
        std::ofstream(dir / kAdapterConfigFile) << j.dump();
        const auto e = test::captureError([&] { loadAdapterManifest(dir); });
        QVERIFY(e);
        QVERIFY2(QString(e->what()).contains(phrase), e->what());
        QVERIFY2(QString(e->what()).contains("adapter_config.json"), e->what());
    }

    // Sizes the backbone fixes are checked against it, naming the field and both values
    // (issue 17, defect 2): num_mel_bins 1000000 sized eval's filterbank from the file.
    void refusesWhatTheBackboneCannotTake_data()
    {
        QTest::addColumn<QString>("pointer");
        QTest::addColumn<int>("value");
        QTest::addColumn<QString>("phrase");
        QTest::addRow("mel bins") << "/preprocessing/num_mel_bins" << 64
                                  << "field preprocessing.num_mel_bins is 64 but the backbone's "
                                     "num_mel_bins is 128";
        QTest::addRow("sampling rate")
            << "/preprocessing/sampling_rate" << 8000
            << "field preprocessing.sampling_rate is 8000 but the backbone's sampling rate is "
               "16000";
        QTest::addRow("hidden size") << "/backbone/hidden_size" << 192
                                     << "field backbone.hidden_size is 192 but the backbone's";
        QTest::addRow("layers") << "/backbone/num_hidden_layers" << 2
                                << "field backbone.num_hidden_layers is 2";
        QTest::addRow("tokens") << "/preprocessing/max_length" << 90000
                                << "field preprocessing.max_length 90000 frames makes";
        QTest::addRow("shorter than a patch")
            << "/preprocessing/max_length" << 8 << "shorter than one patch";
        QTest::addRow("bottleneck above hidden")
            << "/adapter/bottleneck" << 1000 << "field adapter.bottleneck is 1000; at most 768";
    }
    void refusesWhatTheBackboneCannotTake()
    {
        QFETCH(QString, pointer);
        QFETCH(int, value);
        QFETCH(QString, phrase);
        nlohmann::json j = nlohmann::json::parse(adapterManifestJson(sample()));
        j[nlohmann::json::json_pointer(pointer.toStdString())] = value;
        QTemporaryDir tmp;
        const fs::path dir(tmp.path().toStdString());
        std::ofstream(dir / kAdapterConfigFile) << j.dump();
        const AstConfig base; // AST-base: hidden 768, 12 layers, 128 mel bins, 16 kHz
        loadAdapterManifest(dir); // within the bounds: only the backbone refuses it
        const auto e = test::captureError([&] { loadAdapterManifest(dir, base); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::Model);
        QCOMPARE(e->file(), dir / kAdapterConfigFile);
        QVERIFY2(QString(e->what()).contains(phrase), e->what());
        // The unedited manifest fits.
        std::ofstream(dir / kAdapterConfigFile) << adapterManifestJson(sample());
        QCOMPARE(loadAdapterManifest(dir, base).labels, sample().labels);
    }

    void notJsonAndMissingFiles()
    {
        QTemporaryDir tmp;
        const fs::path dir(tmp.path().toStdString());
        auto e = test::captureError([&] { loadAdapterManifest(dir / "nope"); });
        QVERIFY(e && QString(e->what()).contains("no such adapter folder"));
        e = test::captureError([&] { loadAdapterManifest(dir); });
        QVERIFY(e && QString(e->what()).contains("no adapter_config.json"));
        std::ofstream(dir / kAdapterConfigFile) << "{ nope";
        e = test::captureError([&] { loadAdapterManifest(dir); });
        QVERIFY(e && QString(e->what()).contains("not valid JSON"));
    }

    void fingerprintTellsBackbonesApart()
    {
        QTemporaryDir tmp;
        const fs::path root(tmp.path().toStdString());
        writeRandomModel(
            root / "a", { .preset = "tiny", .maxLength = 100, .labels = { "x", "y" }, .seed = 1 });
        writeRandomModel(root / "same-backbone-other-head",
            { .preset = "tiny", .maxLength = 100, .labels = { "p", "q", "r" }, .seed = 1 });
        writeRandomModel(root / "other-seed",
            { .preset = "tiny", .maxLength = 100, .labels = { "x", "y" }, .seed = 2 });
        const std::string a = backboneFingerprint(root / "a");
        QVERIFY(a.starts_with("fnv1a64:"));
        QCOMPARE(a.size(), std::size_t(8 + 16));
        QCOMPARE(backboneFingerprint(root / "a"), a);
        QCOMPARE(backboneFingerprint(root / "same-backbone-other-head"), a);
        QVERIFY(backboneFingerprint(root / "other-seed") != a);
        // Flip one byte at the start of the data section (the first tensor's first sample).
        const fs::path weights = root / "a" / "model.safetensors";
        std::fstream f(weights, std::ios::in | std::ios::out | std::ios::binary);
        std::uint64_t headerLen = 0;
        f.read(reinterpret_cast<char *>(&headerLen), 8);
        f.seekg(std::streamoff(8 + headerLen));
        char byte = 0;
        f.read(&byte, 1);
        byte = char(byte ^ 0x55);
        f.seekp(std::streamoff(8 + headerLen));
        f.write(&byte, 1);
        f.close();
        QVERIFY(backboneFingerprint(root / "a") != a);
    }
};

QTEST_GUILESS_MAIN(TestAdapterManifest)
#include "tst_adapter_manifest.moc"
