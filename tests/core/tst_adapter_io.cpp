// SPDX-License-Identifier: MIT
// Adapter folders on a tiny random backbone: save/load round trip for every method after one
// AdamW step (bit-identical logits, exactly the trainable tensors + head + BatchNorm buffers in
// the file), refusals (other backbone, truncated file, missing tensor, manifest of another
// method), merging LoRA and BitFit into an HF-layout checkpoint, and several adapters sharing
// one backbone (AdapterSet); AstClassifier::setAdapter() gives exactly a fresh load's scores.
// torch comes before Qt: Qt's `slots` macro breaks torch headers.
#include "error.h"
#include "inference/classifier.h"
#include "io/safetensors.h"
#include "model/ast.h"
#include "model/checkpoint.h"
#include "peft/adapter_io.h"
#include "peft/adapter_manifest.h"
#include "peft/peft_config.h"
#include "peft/peft_modules.h"
#include "test_support.h"

#include <QElapsedTimer>
#include <QtTest>

#include <cstring>
#include <fstream>
#include <limits>
#include <set>

using namespace astpeft::core;
using astpeft::test::captureError;

Q_DECLARE_METATYPE(astpeft::core::PeftConfig)

namespace {

const std::vector<std::string> kLabels = { "a", "b", "c" };
constexpr int kMaxLength = 100;

PeftConfig method(PeftMethod m)
{
    PeftConfig p;
    p.method = m;
    p.init = PeftInit::Paper;
    p.prompts = 4;
    p.prefixTokens = 4;
    p.lora.rank = 4;
    p.lora.targets = { 'q', 'k', 'v', 'o' };
    p.adapter.bottleneck = 4;
    p.adapter.kernel = 5;
    return p;
}

PeftConfig adapter(AdapterBlock block, AdapterPlacement placement)
{
    PeftConfig p = method(PeftMethod::Adapter);
    p.adapter.block = block;
    p.adapter.placement = placement;
    return p;
}

torch::Tensor features(int batch, std::uint64_t seed)
{
    auto gen = at::detail::createCPUGenerator(seed);
    return torch::randn({ batch, kMaxLength, 128 }, gen, torch::kFloat32);
}

torch::Tensor evalLogits(AstForAudioClassification &model, const torch::Tensor &x)
{
    model->eval();
    torch::NoGradGuard noGrad;
    return model->forward(x);
}

std::set<std::string> fileTensorNames(const std::filesystem::path &file)
{
    std::set<std::string> names;
    const SafetensorsFile stored(file);
    for (const TensorInfo &t : stored.tensors())
        names.insert(t.name);
    return names;
}

double relativeError(const torch::Tensor &a, const torch::Tensor &b)
{
    return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

} // namespace

class TestAdapterIo : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    std::filesystem::path m_backbone;

    std::filesystem::path path(const std::string &name) const
    {
        return std::filesystem::path(m_tmp.path().toStdString()) / name;
    }

    AstForAudioClassification freshBackbone() const { return loadAstCheckpoint(m_backbone).model; }

    // applyPeft with Paper init and one AdamW step on a random batch in train mode (BatchNorm
    // statistics move too); returned in eval mode.
    AstForAudioClassification trained(const PeftConfig &peft, std::uint64_t seed = 7) const
    {
        AstForAudioClassification model = freshBackbone();
        applyPeft(model, peft, kLabels, seed);
        std::vector<torch::Tensor> params;
        for (auto &p : model->parameters())
            if (p.requires_grad())
                params.push_back(p);
        torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-2));
        model->train();
        opt.zero_grad();
        torch::nn::functional::cross_entropy(
            model(features(4, seed)), torch::tensor({ 0, 2, 1, 0 }, torch::kLong))
            .backward();
        opt.step();
        model->eval();
        return model;
    }

    AdapterManifest manifestFor(const PeftConfig &peft) const
    {
        AdapterManifest m;
        m.peft = peft;
        m.labels = kLabels;
        m.frontEnd.maxLength = kMaxLength;
        m.backboneFingerprint = backboneFingerprint(m_backbone);
        m.hiddenSize = 64;
        m.numHiddenLayers = 2;
        return m;
    }

    // A trained LoRA adapter saved under `name`, for the refusal tests.
    std::filesystem::path savedLora(const std::string &name) const
    {
        AstForAudioClassification model = trained(method(PeftMethod::Lora));
        saveAdapter(model, manifestFor(method(PeftMethod::Lora)), path(name));
        return path(name);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        torch::manual_seed(0);
        m_backbone = path("backbone");
        RandomModelOptions options;
        options.maxLength = kMaxLength;
        options.seed = 1;
        writeRandomModel(m_backbone, options);
    }

    void roundTrip_data()
    {
        QTest::addColumn<PeftConfig>("peft");
        QTest::addRow("full") << method(PeftMethod::Full);
        QTest::addRow("linear") << method(PeftMethod::Linear);
        QTest::addRow("bitfit") << method(PeftMethod::BitFit);
        QTest::addRow("prompt-shallow") << method(PeftMethod::PromptShallow);
        QTest::addRow("prompt-deep") << method(PeftMethod::PromptDeep);
        QTest::addRow("prefix") << method(PeftMethod::Prefix);
        QTest::addRow("lora") << method(PeftMethod::Lora);
        using enum AdapterBlock;
        using enum AdapterPlacement;
        QTest::addRow("bottleneck pfeiffer") << adapter(Bottleneck, Pfeiffer);
        QTest::addRow("bottleneck houlsby") << adapter(Bottleneck, Houlsby);
        QTest::addRow("conformer pfeiffer") << adapter(Conformer, Pfeiffer);
        QTest::addRow("conformer houlsby") << adapter(Conformer, Houlsby);
    }

    void roundTrip()
    {
        QFETCH(PeftConfig, peft);
        AstForAudioClassification model = trained(peft);
        const torch::Tensor x = features(2, 99);
        const torch::Tensor expected = evalLogits(model, x);
        const std::filesystem::path dir = path("roundtrip " + std::string(QTest::currentDataTag()));
        saveAdapter(model, manifestFor(peft), dir);
        QVERIFY(std::filesystem::exists(dir / kAdapterConfigFile));

        // Exactly the trainable tensors, the head and the buffers (conformer BatchNorm).
        std::set<std::string> want;
        for (const std::string &name : trainableParameterNames(*model))
            want.insert(name);
        for (const auto &item : model->named_parameters())
            if (item.key().starts_with("classifier."))
                want.insert(item.key());
        for (const auto &item : model->named_buffers())
            want.insert(item.key());
        const std::set<std::string> stored = fileTensorNames(dir / kAdapterWeightsFile);
        QCOMPARE(stored, want);
        QVERIFY(stored.count("classifier.dense.weight") && stored.count("classifier.dense.bias"));
        if (peft.method == PeftMethod::Adapter && peft.adapter.block == AdapterBlock::Conformer) {
            const SafetensorsFile file(dir / kAdapterWeightsFile);
            const TensorInfo *count = file.find("audio_spectrogram_transformer.encoder.layer.0."
                                                "adapter_ffn.batch_norm.num_batches_tracked");
            QVERIFY(count);
            QCOMPARE(int(count->dtype), int(DType::I64));
        }
        if (peft.method != PeftMethod::Full)
            QVERIFY(stored.size() < model->named_parameters().size());

        AstForAudioClassification loaded = freshBackbone();
        const AdapterManifest manifest = loadAdapter(loaded, dir, backboneFingerprint(m_backbone));
        QCOMPARE(manifest.labels, kLabels);
        QCOMPARE(manifest.peft.method, peft.method);
        const torch::Tensor actual = evalLogits(loaded, x);
        QVERIFY(torch::equal(actual, expected));

        // The step moved the adapter away from a fresh application's tensors.
        AstForAudioClassification initial = freshBackbone();
        applyPeft(initial, peft, kLabels, 7);
        QVERIFY(!torch::equal(evalLogits(initial, x), expected));
    }

    void refusesAnotherBackbone()
    {
        const std::filesystem::path dir = savedLora("other-backbone");
        const std::filesystem::path other = path("backbone-2");
        RandomModelOptions options;
        options.maxLength = kMaxLength;
        options.seed = 2;
        writeRandomModel(other, options);
        const std::string theirs = backboneFingerprint(other);
        const std::string ours = backboneFingerprint(m_backbone);
        QVERIFY(theirs != ours);
        AstForAudioClassification model = loadAstCheckpoint(other).model;
        const auto e = captureError([&] { loadAdapter(model, dir, theirs); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::Model);
        QCOMPARE(e->file(), dir);
        QVERIFY2(e->reason().find(ours) != std::string::npos, e->what());
        QVERIFY2(e->reason().find(theirs) != std::string::npos, e->what());
        // Refused before anything was attached: the model is still a bare backbone.
        QVERIFY(!model->classifier);
    }

    void refusesTruncatedWeights()
    {
        const std::filesystem::path dir = savedLora("truncated");
        const std::filesystem::path file = dir / kAdapterWeightsFile;
        std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);
        AstForAudioClassification model = freshBackbone();
        const auto e =
            captureError([&] { loadAdapter(model, dir, backboneFingerprint(m_backbone)); });
        QVERIFY(e);
        QCOMPARE(e->file(), file);
        QVERIFY2(std::string(e->what()).find(kAdapterWeightsFile) != std::string::npos, e->what());
    }

    void refusesMissingTensor()
    {
        const std::filesystem::path dir = savedLora("missing");
        const std::filesystem::path file = dir / kAdapterWeightsFile;
        const std::string dropped =
            "audio_spectrogram_transformer.encoder.layer.1.attention.attention.lora_k.up.weight";
        {
            // Rewrite the file without one tensor (written elsewhere, then moved over).
            const SafetensorsFile original(file);
            std::vector<TensorToWrite> kept;
            for (const TensorInfo &t : original.tensors())
                if (t.name != dropped)
                    kept.push_back({ t.name, t.dtype, t.shape, original.data(t) });
            QCOMPARE(kept.size() + 1, original.tensors().size());
            writeSafetensors(path("missing.tmp"), kept, original.metadata());
        }
        std::filesystem::rename(path("missing.tmp"), file);
        AstForAudioClassification model = freshBackbone();
        const auto e =
            captureError([&] { loadAdapter(model, dir, backboneFingerprint(m_backbone)); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::Model);
        QCOMPARE(e->file(), file);
        QVERIFY2(e->reason().find("1 missing tensors: " + dropped) != std::string::npos, e->what());
    }

    // NaN or Inf weights once loaded and gave null scores with exit 0 (issue 17): refused at
    // load, naming the file and the tensor.
    void refusesNonFiniteWeights_data()
    {
        QTest::addColumn<float>("value");
        QTest::addRow("nan") << std::numeric_limits<float>::quiet_NaN();
        QTest::addRow("inf") << -std::numeric_limits<float>::infinity();
    }
    void refusesNonFiniteWeights()
    {
        QFETCH(float, value);
        const std::filesystem::path dir =
            savedLora(std::string("non-finite-") + QTest::currentDataTag());
        const std::filesystem::path file = dir / kAdapterWeightsFile;
        const std::string spoiled =
            "audio_spectrogram_transformer.encoder.layer.1.attention.attention.lora_v.up.weight";
        std::vector<std::vector<std::byte>> bytes; // owns the rewritten tensors' data
        {
            const SafetensorsFile original(file);
            std::vector<TensorToWrite> all;
            bytes.reserve(original.tensors().size());
            for (const TensorInfo &t : original.tensors()) {
                const auto data = original.data(t);
                bytes.emplace_back(data.begin(), data.end());
                if (t.name == spoiled) {
                    QCOMPARE(t.dtype, DType::F32);
                    std::memcpy(bytes.back().data() + sizeof(float), &value, sizeof value);
                }
                all.push_back({ t.name, t.dtype, t.shape, bytes.back() });
            }
            writeSafetensors(path("non-finite.tmp"), all, original.metadata());
        }
        std::filesystem::rename(path("non-finite.tmp"), file);
        AstForAudioClassification model = freshBackbone();
        const auto e =
            captureError([&] { loadAdapter(model, dir, backboneFingerprint(m_backbone)); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::Format);
        QCOMPARE(e->file(), file);
        QVERIFY2(e->reason() == "tensor " + spoiled + " holds NaN or infinite values", e->what());
    }

    void refusesManifestOfAnotherMethod()
    {
        const std::filesystem::path dir = savedLora("other-method");
        saveAdapterManifest(
            manifestFor(adapter(AdapterBlock::Bottleneck, AdapterPlacement::Pfeiffer)), dir);
        AstForAudioClassification model = freshBackbone();
        auto e = captureError([&] { loadAdapter(model, dir, backboneFingerprint(m_backbone)); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::Model);
        QVERIFY2(e->reason().find("lora") != std::string::npos, e->what());
        QVERIFY2(e->reason().find("adapter") != std::string::npos, e->what());

        // Without the method in the metadata, strict loading still refuses it.
        const std::filesystem::path file = dir / kAdapterWeightsFile;
        {
            const SafetensorsFile original(file);
            std::vector<TensorToWrite> all;
            for (const TensorInfo &t : original.tensors())
                all.push_back({ t.name, t.dtype, t.shape, original.data(t) });
            writeSafetensors(path("other-method.tmp"), all);
        }
        std::filesystem::rename(path("other-method.tmp"), file);
        model = freshBackbone();
        e = captureError([&] { loadAdapter(model, dir, backboneFingerprint(m_backbone)); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::Model);
        QVERIFY2(e->reason().find("missing tensors") != std::string::npos, e->what());
        QVERIFY2(e->reason().find("unexpected tensors") != std::string::npos, e->what());
    }

    void mergesIntoHfCheckpoint_data()
    {
        QTest::addColumn<PeftConfig>("peft");
        QTest::addRow("lora qkvo") << method(PeftMethod::Lora);
        QTest::addRow("bitfit") << method(PeftMethod::BitFit);
        QTest::addRow("linear") << method(PeftMethod::Linear);
    }

    void mergesIntoHfCheckpoint()
    {
        QFETCH(PeftConfig, peft);
        AstForAudioClassification model = trained(peft);
        const torch::Tensor x = features(2, 42);
        const torch::Tensor expected = evalLogits(model, x);
        const std::filesystem::path dir = path("merged " + std::string(QTest::currentDataTag()));
        saveMergedCheckpoint(model, manifestFor(peft), dir);
        for (const auto &item : model->named_parameters())
            QVERIFY2(item.key().find("lora") == std::string::npos, item.key().c_str());
        QVERIFY(relativeError(evalLogits(model, x), expected) <= 1e-5);

        LoadedAst merged = loadAstCheckpoint(dir);
        QCOMPARE(merged.head, HeadKind::MeanTokens);
        QCOMPARE(merged.config.labels, kLabels);
        const double error = relativeError(evalLogits(merged.model, x), expected);
        QVERIFY2(error <= 1e-5, std::to_string(error).c_str());
    }

    void refusesToMergeAddedModules_data()
    {
        QTest::addColumn<PeftConfig>("peft");
        QTest::addRow("adapter") << adapter(AdapterBlock::Bottleneck, AdapterPlacement::Pfeiffer);
        QTest::addRow("prompt-deep") << method(PeftMethod::PromptDeep);
        QTest::addRow("prefix") << method(PeftMethod::Prefix);
    }

    void refusesToMergeAddedModules()
    {
        QFETCH(PeftConfig, peft);
        AstForAudioClassification model = freshBackbone();
        applyPeft(model, peft, kLabels, 7);
        const std::filesystem::path dir = path("unmergeable");
        const auto e = captureError([&] { saveMergedCheckpoint(model, manifestFor(peft), dir); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::Usage);
        QVERIFY2(e->reason().find("cannot be merged") != std::string::npos, e->what());
        QVERIFY(!std::filesystem::exists(dir));
    }

    void adapterSetSharesOneBackbone()
    {
        const PeftConfig loraPeft = method(PeftMethod::Lora);
        const PeftConfig bottleneck = adapter(AdapterBlock::Bottleneck, AdapterPlacement::Houlsby);
        {
            AstForAudioClassification a = trained(loraPeft, 3);
            saveAdapter(a, manifestFor(loraPeft), path("set-lora"));
            AstForAudioClassification b = trained(bottleneck, 4);
            saveAdapter(b, manifestFor(bottleneck), path("set-bottleneck"));
        }
        const std::string fingerprint = backboneFingerprint(m_backbone);
        AstForAudioClassification separateLora = freshBackbone();
        loadAdapter(separateLora, path("set-lora"), fingerprint);
        AstForAudioClassification separateBottleneck = freshBackbone();
        loadAdapter(separateBottleneck, path("set-bottleneck"), fingerprint);

        AdapterSet set(m_backbone);
        set.add("lora", path("set-lora"));
        set.add("bottleneck", path("set-bottleneck"));
        QCOMPARE(set.names(), (std::vector<std::string> { "bottleneck", "lora" }));
        QCOMPARE(set.fingerprint(), fingerprint);

        const torch::Tensor x = features(2, 5);
        const torch::Tensor wantLora = evalLogits(separateLora, x);
        const torch::Tensor wantBottleneck = evalLogits(separateBottleneck, x);
        QVERIFY(!torch::equal(wantLora, wantBottleneck));
        for (int round = 0; round < 3; ++round) {
            QVERIFY(torch::equal(set.logits("lora", x), wantLora));
            QVERIFY(torch::equal(set.logits("bottleneck", x), wantBottleneck));
        }

        // Backbone tensors that neither adapter stores are one storage across the set; those an
        // adapter trains (LayerNorms) are its own, and the backbone still holds its values.
        const auto lora = set.model("lora")->named_parameters();
        const auto bottle = set.model("bottleneck")->named_parameters();
        const std::set<std::string> loraStored =
            fileTensorNames(path("set-lora") / kAdapterWeightsFile);
        const std::set<std::string> bottleStored =
            fileTensorNames(path("set-bottleneck") / kAdapterWeightsFile);
        AstForAudioClassification reference = freshBackbone();
        const auto referenceParams = reference->named_parameters();
        int shared = 0, own = 0;
        for (const auto &item : set.backbone().model->named_parameters()) {
            const std::string &name = item.key();
            const void *ptr = item.value().data_ptr();
            QVERIFY2(torch::equal(item.value(), referenceParams[name]), name.c_str());
            QVERIFY2((lora[name].data_ptr() == ptr) != bool(loraStored.count(name)), name.c_str());
            QVERIFY2(
                (bottle[name].data_ptr() == ptr) != bool(bottleStored.count(name)), name.c_str());
            if (!loraStored.count(name) && !bottleStored.count(name))
                ++shared;
            else
                ++own;
        }
        QVERIFY(shared > 0);
        QVERIFY(own > 0);

        const auto e = captureError([&] { set.logits("missing", x); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::Usage);
    }

    // Switching adapters on one loaded backbone scores exactly as loading each one afresh:
    // LoRA, a bottleneck adapter, LoRA saved for a shorter max_length (positions adapted), the
    // bare backbone and back. A refused adapter leaves the classifier as it was.
    void classifierSwitchesAdapters()
    {
        const PeftConfig loraPeft = method(PeftMethod::Lora);
        const PeftConfig bottleneck = adapter(AdapterBlock::Bottleneck, AdapterPlacement::Pfeiffer);
        {
            AstForAudioClassification a = trained(loraPeft, 11);
            saveAdapter(a, manifestFor(loraPeft), path("switch-lora"));
            AdapterManifest shorter = manifestFor(loraPeft);
            shorter.frontEnd.maxLength = 64;
            shorter.labels = { "x", "y", "z" };
            saveAdapter(a, shorter, path("switch-lora64"));
            AstForAudioClassification b = trained(bottleneck, 12);
            saveAdapter(b, manifestFor(bottleneck), path("switch-bottleneck"));
        }
        const auto input = [](const AstClassifier &model, std::uint64_t seed) {
            const FrontEnd f = model.frontEnd();
            const torch::Tensor x = torch::randn(
                { f.maxLength, 128 }, at::detail::createCPUGenerator(seed), torch::kFloat32);
            FeatureMatrix m { f.maxLength, 128, {} };
            m.data.assign(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
            return std::vector<FeatureMatrix> { m };
        };
        AstClassifier switched(m_backbone);
        qint64 switchNs = 0, freshNs = 0;
        int switches = 0;
        const std::vector<std::filesystem::path> order = { path("switch-lora"),
            path("switch-bottleneck"), path("switch-lora64"), {}, path("switch-lora"), {} };
        std::vector<std::vector<float>> seen;
        for (const std::filesystem::path &a : order) {
            QElapsedTimer timer;
            timer.start();
            switched.setAdapter(a);
            switchNs += timer.nsecsElapsed();
            timer.restart();
            const AstClassifier fresh(m_backbone, { .adapter = a });
            freshNs += timer.nsecsElapsed();
            ++switches;
            QCOMPARE(switched.summary().adapter, a);
            QCOMPARE(switched.summary().config.labels, fresh.summary().config.labels);
            QCOMPARE(switched.summary().config.maxLength, fresh.summary().config.maxLength);
            QCOMPARE(switched.summary().parameters, fresh.summary().parameters);
            QCOMPARE(switched.frontEnd().maxLength, fresh.frontEnd().maxLength);
            const auto x = input(fresh, 20 + std::uint64_t(switches));
            const std::vector<float> got = switched.logits(x)[0];
            QCOMPARE(got, fresh.logits(x)[0]);
            // And those of the files loaded the long way: checkpoint, then loadAdapter().
            LoadedAst reference = a.empty() ? loadAstCheckpoint(m_backbone) : [&] {
                const AdapterManifest m = loadAdapterManifest(a);
                LoadedAst l = loadAstCheckpoint(
                    m_backbone, { .maxLength = m.frontEnd.maxLength, .positions = m.positions });
                loadAdapter(l.model, a, backboneFingerprint(m_backbone));
                return l;
            }();
            const torch::Tensor want = evalLogits(reference.model,
                torch::from_blob(const_cast<float *>(x[0].data.data()),
                    { 1, x[0].frames, x[0].bins }, torch::kFloat32));
            QCOMPARE(got,
                std::vector<float>(want.data_ptr<float>(), want.data_ptr<float>() + want.numel()));
            QCOMPARE(switched.scores(got), fresh.scores(got));
            seen.push_back(got);
        }
        QCOMPARE(switched.frontEnd().maxLength, kMaxLength);
        QVERIFY(seen[0] != seen[1]); // the adapters really differ
        qInfo("tiny backbone: adapter switch %.2f ms on average; a fresh AstClassifier %.2f ms "
              "(%d each)",
            double(switchNs) / switches / 1e6, double(freshNs) / switches / 1e6, switches);
        {
            // The same on the "small" preset (6 layers, hidden 192), where reading and
            // converting the backbone dominates a fresh load. Logged, not asserted.
            const std::filesystem::path small = path("switch-small");
            RandomModelOptions smallOptions;
            smallOptions.preset = "small";
            smallOptions.maxLength = kMaxLength;
            writeRandomModel(small, smallOptions);
            AstForAudioClassification model = loadAstCheckpoint(small).model;
            applyPeft(model, loraPeft, kLabels, 3);
            AdapterManifest m = manifestFor(loraPeft);
            m.backboneFingerprint = backboneFingerprint(small);
            m.hiddenSize = 192;
            m.numHiddenLayers = 6;
            saveAdapter(model, m, path("switch-small-lora"));
            AstClassifier reused(small);
            QElapsedTimer timer;
            timer.start();
            for (int i = 0; i < 3; ++i) {
                reused.setAdapter(path("switch-small-lora"));
                reused.setAdapter({});
            }
            const double switchMs = double(timer.nsecsElapsed()) / 6 / 1e6;
            timer.restart();
            for (int i = 0; i < 3; ++i) {
                const AstClassifier a(small, { .adapter = path("switch-small-lora") });
                const AstClassifier b(small);
            }
            const double freshMs = double(timer.nsecsElapsed()) / 6 / 1e6;
            qInfo("small backbone: adapter switch %.2f ms on average; a fresh AstClassifier %.2f "
                  "ms",
                switchMs, freshMs);
        }

        // Another backbone's adapter is refused; the classifier keeps its adapter.
        const std::filesystem::path other = path("switch-other-backbone");
        RandomModelOptions options;
        options.maxLength = kMaxLength;
        options.seed = 2;
        writeRandomModel(other, options);
        {
            AstForAudioClassification model = loadAstCheckpoint(other).model;
            applyPeft(model, loraPeft, kLabels, 1);
            AdapterManifest m = manifestFor(loraPeft);
            m.backboneFingerprint = backboneFingerprint(other);
            saveAdapter(model, m, path("switch-foreign"));
        }
        switched.setAdapter(path("switch-lora"));
        const auto x = input(switched, 40);
        const std::vector<float> before = switched.logits(x)[0];
        const auto e = captureError([&] { switched.setAdapter(path("switch-foreign")); });
        QVERIFY(e);
        QCOMPARE(e->kind(), ErrorKind::Model);
        QCOMPARE(switched.summary().adapter, path("switch-lora"));
        QCOMPARE(switched.logits(x)[0], before);
    }
};

QTEST_GUILESS_MAIN(TestAdapterIo)
#include "tst_adapter_io.moc"
