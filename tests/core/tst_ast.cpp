// SPDX-License-Identifier: MIT
// The AST backbone: parity with an independent PyTorch implementation (tools/ast_reference.py,
// float64) on random AST-base checkpoints at max_length 100 and 1024, exact parameter counts,
// position-embedding adaptation, strict loading, round trips and pickle refusal; the
// classifier's scores (softmax, sigmoid) and top-k, its max_length and positions options, and
// init-model's seeded determinism (these three moved here from tests/cli/tst_cli.cpp).
// torch comes before Qt: Qt's `slots` macro breaks torch headers.
#include "audio/audio_file.h"
#include "error.h"
#include "features/fbank.h"
#include "inference/classifier.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "model/ast.h"
#include "model/checkpoint.h"
#include "runtime/torch_compat.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>

using namespace astpeft::core;
namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = ASTPEFT_FIXTURES;
const std::vector<std::string> kLabels = { "dog", "rooster", "rain", "sea_waves", "crackling_fire",
    "crying_baby", "sneezing", "clock_tick", "helicopter", "chainsaw" };

FeatureMatrix speechFeatures(int maxLength)
{
    const Audio audio = decodeAudio(kFixtures / "fbank" / "speech.wav");
    FrontEnd fe;
    fe.maxLength = maxLength;
    return extractFeatures(audio.samples, fe);
}

// max |a - b| / max |b|
double relativeError(const std::vector<float> &a, const std::vector<float> &b)
{
    double diff = 0.0, scale = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
        scale = std::max(scale, std::abs(double(b[i])));
    }
    return diff / scale;
}

std::vector<float> logitsOf(const fs::path &model, int maxLength = 0)
{
    const AstClassifier c(model, { .maxLength = maxLength, .device = "cpu" });
    return c.logits({ speechFeatures(c.summary().config.maxLength) }).front();
}

// Rewrites dir/model.safetensors through `edit`, which may add, drop or replace tensors.
void rewriteWeights(const fs::path &dir,
    const std::function<void(std::vector<std::pair<TensorToWrite, std::vector<std::byte>>> &)>
        &edit)
{
    std::vector<std::pair<TensorToWrite, std::vector<std::byte>>> items;
    {
        const SafetensorsFile file(dir / "model.safetensors");
        for (const TensorInfo &t : file.tensors()) {
            const auto bytes = file.data(t);
            items.push_back({ { t.name, t.dtype, t.shape, {} }, { bytes.begin(), bytes.end() } });
        }
    }
    edit(items);
    std::vector<TensorToWrite> tensors;
    for (auto &[t, bytes] : items) {
        t.bytes = bytes;
        tensors.push_back(t);
    }
    writeSafetensors(dir / "model.safetensors", tensors);
}

} // namespace

class TestAst : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void parityWithReference_data()
    {
        QTest::addColumn<int>("maxLength");
        QTest::addRow("ast-base max_length 100") << 100;
        QTest::addRow("ast-base max_length 1024") << 1024;
    }
    void parityWithReference()
    {
        QFETCH(int, maxLength);
        QTemporaryDir tmp;
        const fs::path dir = fs::path(tmp.path().toStdString()) / "base";
        writeRandomModel(
            dir, { .preset = "base", .maxLength = maxLength, .labels = kLabels, .seed = 20240715 });
        const NpyArray expected =
            readNpy(kFixtures / "ast" / ("base_" + std::to_string(maxLength) + "_logits.npy"));
        const std::vector<float> ours = logitsOf(dir);
        QCOMPARE(ours.size(), expected.data.size());
        const double rel = relativeError(ours, expected.data);
        qInfo("relative error vs reference: %.3g", rel);
        QVERIFY2(rel <= 1e-4, qPrintable(QString::number(rel)));
    }

    void bf16CheckpointWithOtherStrideAndEps()
    {
        // Written by tools/make_random_ast.py (BF16 storage, time stride 12, eps 1e-6).
        const fs::path dir = kFixtures / "ast" / "small_bf16";
        const AstClassifier c(dir, { .device = "cpu" });
        QCOMPARE(c.summary().storedDType, std::string("BF16"));
        QCOMPARE(c.summary().config.timeStride, 12);
        const NpyArray expected = readNpy(kFixtures / "ast" / "small_bf16_logits.npy");
        QVERIFY(relativeError(logitsOf(dir), expected.data) <= 1e-4);
    }

    void parameterCounts_data()
    {
        QTest::addColumn<int>("maxLength");
        QTest::addColumn<qlonglong>("expected");
        // ASTModel parameters from the paper's reference table (paper.md section 1.3).
        QTest::addRow("1024") << 1024 << 86187264LL;
        QTest::addRow("500 ESC-50") << 500 << 85708032LL;
        QTest::addRow("400 FSC/US8K") << 400 << 85615872LL;
        QTest::addRow("100 GSC") << 100 << 85339392LL;
        QTest::addRow("800 IEMOCAP") << 800 << 85984512LL;
    }
    void parameterCounts()
    {
        QFETCH(int, maxLength);
        QFETCH(qlonglong, expected);
        AstConfig c = presetConfig("base");
        c.maxLength = maxLength;
        QCOMPARE(backboneParameterCount(c), std::int64_t(expected));
        AstModel model(c);
        std::int64_t counted = 0;
        for (const auto &p : model->parameters())
            counted += p.numel();
        QCOMPARE(counted, std::int64_t(expected));
        c.labels = kLabels;
        QCOMPARE(headParameterCount(c, HeadKind::Hf), std::int64_t(2 * 768 + 768 * 10 + 10));
        QCOMPARE(headParameterCount(c, HeadKind::MeanTokens), std::int64_t(768 * 10 + 10));
    }

    void keyNamesAreHuggingFaces()
    {
        AstConfig c = presetConfig("tiny");
        c.labels = { "a", "b" };
        AstForAudioClassification model(c);
        std::set<std::string> names;
        for (const auto &p : model->named_parameters())
            names.insert(p.key());
        for (const char *name : { "audio_spectrogram_transformer.embeddings.cls_token",
                 "audio_spectrogram_transformer.embeddings.distillation_token",
                 "audio_spectrogram_transformer.embeddings.position_embeddings",
                 "audio_spectrogram_transformer.embeddings.patch_embeddings.projection.weight",
                 "audio_spectrogram_transformer.encoder.layer.1.layernorm_before.bias",
                 "audio_spectrogram_transformer.encoder.layer.0.attention.attention.query.weight",
                 "audio_spectrogram_transformer.encoder.layer.0.attention.attention.value.bias",
                 "audio_spectrogram_transformer.encoder.layer.0.attention.output.dense.weight",
                 "audio_spectrogram_transformer.encoder.layer.1.layernorm_after.weight",
                 "audio_spectrogram_transformer.encoder.layer.1.intermediate.dense.weight",
                 "audio_spectrogram_transformer.encoder.layer.1.output.dense.bias",
                 "audio_spectrogram_transformer.layernorm.weight", "classifier.layernorm.weight",
                 "classifier.dense.bias" })
            QVERIFY2(names.count(name), name);
        // 5 embedding tensors + 16 per layer + 2 final LN + 4 head
        QCOMPARE(names.size(), std::size_t(5 + 16 * 2 + 2 + 4));
    }

    void frequencyMajorTokenOrder()
    {
        // A patch conv that copies its top-left input pixel: token f * T' + t must then read
        // the feature at time 10 t, mel bin 10 f.
        AstConfig c = presetConfig("tiny");
        c.maxLength = 46; // T' = 4, F' = 12
        AstPatchEmbeddings patches(c);
        torch::NoGradGuard g;
        patches->projection->weight.zero_();
        patches->projection->bias.zero_();
        patches->projection->weight.index_put_({ 0, 0, 0, 0 }, 1.0);
        const torch::Tensor x = torch::arange(46 * 128, torch::kFloat32).reshape({ 1, 46, 128 });
        const torch::Tensor tokens = patches(x);
        QCOMPARE(tokens.size(1), std::int64_t(12 * 4));
        for (int f = 0; f < 12; ++f)
            for (int t = 0; t < 4; ++t)
                QCOMPARE(tokens[0][f * 4 + t][0].item<float>(), float(10 * t * 128 + 10 * f));
    }

    void positionEmbeddingsAdaptToMaxLength()
    {
        QTemporaryDir tmp;
        const fs::path dir = fs::path(tmp.path().toStdString()) / "m";
        writeRandomModel(
            dir, { .preset = "tiny", .maxLength = 1024, .labels = { "a", "b" }, .seed = 5 });
        const LoadedAst full = loadAstCheckpoint(dir);
        const torch::Tensor pos =
            full.model->audio_spectrogram_transformer->embeddings->position_embeddings;
        QCOMPARE(pos.size(1), std::int64_t(2 + 12 * 101));

        // Shorter: the centre 9 of 101 time columns (50 - 4 .. 50 + 4), special tokens kept.
        const LoadedAst shorter = loadAstCheckpoint(dir, { .maxLength = 100 });
        const torch::Tensor cropped =
            shorter.model->audio_spectrogram_transformer->embeddings->position_embeddings;
        QCOMPARE(cropped.size(1), std::int64_t(2 + 12 * 9));
        QVERIFY(torch::equal(cropped.narrow(1, 0, 2), pos.narrow(1, 0, 2)));
        for (int f = 0; f < 12; ++f)
            for (int t = 0; t < 9; ++t)
                QVERIFY(torch::equal(cropped[0][2 + f * 9 + t], pos[0][2 + f * 101 + 46 + t]));
        QCOMPARE(shorter.checkpointMaxLength, 1024);

        // Longer: bilinear; the grid keeps 12 rows, so each row is a 1-D linear resampling
        // whose first column lies between the original first two (align_corners = false).
        const LoadedAst longer = loadAstCheckpoint(dir, { .maxLength = 2048 });
        const torch::Tensor grown =
            longer.model->audio_spectrogram_transformer->embeddings->position_embeddings;
        const int t2 = (2048 - 16) / 10 + 1;
        QCOMPARE(grown.size(1), std::int64_t(2 + 12 * t2));
        const torch::Tensor expect = torch::nn::functional::interpolate(
            pos.narrow(1, 2, 12 * 101).transpose(1, 2).reshape({ 1, -1, 12, 101 }),
            torch::nn::functional::InterpolateFuncOptions()
                .size(std::vector<std::int64_t> { 12, t2 })
                .mode(torch::kBilinear)
                .align_corners(false));
        QVERIFY(torch::allclose(
            grown.narrow(1, 2, 12 * t2), expect.reshape({ 1, -1, 12 * t2 }).transpose(1, 2)));

        // The paper's official code: zeros.
        const LoadedAst zero =
            loadAstCheckpoint(dir, { .maxLength = 100, .positions = PositionMode::Zero });
        QVERIFY(zero.model->audio_spectrogram_transformer->embeddings->position_embeddings.abs()
                    .sum()
                    .item<float>()
            == 0.0f);
        // Same length: loaded as stored.
        QVERIFY(
            torch::equal(loadAstCheckpoint(dir, { .maxLength = 1024 })
                             .model->audio_spectrogram_transformer->embeddings->position_embeddings,
                pos));
    }

    void saveLoadRoundTripIsExact_data()
    {
        QTest::addColumn<QString>("head");
        QTest::addRow("hf head") << "hf";
        QTest::addRow("mean-tokens head") << "mean-tokens";
    }
    void saveLoadRoundTripIsExact()
    {
        QFETCH(QString, head);
        QTemporaryDir tmp;
        const fs::path a = fs::path(tmp.path().toStdString()) / "a";
        const fs::path b = fs::path(tmp.path().toStdString()) / "b";
        writeRandomModel(a,
            { .preset = "tiny",
                .maxLength = 100,
                .labels = { "x", "y", "z" },
                .seed = 9,
                .head = head == "hf" ? HeadKind::Hf : HeadKind::MeanTokens });
        const AstClassifier first(a, { .device = "cpu" });
        QCOMPARE(first.summary().head, head == "hf" ? HeadKind::Hf : HeadKind::MeanTokens);
        first.save(b);
        const AstClassifier second(b, { .device = "cpu" });
        const auto f = speechFeatures(100);
        QCOMPARE(first.logits({ f }), second.logits({ f }));
        QCOMPARE(loadAstConfig(b).labels, (std::vector<std::string> { "x", "y", "z" }));
    }

    void meanTokensHeadPoolsAllTokens()
    {
        QTemporaryDir tmp;
        const fs::path dir = fs::path(tmp.path().toStdString()) / "m";
        writeRandomModel(dir,
            { .preset = "tiny",
                .maxLength = 100,
                .labels = { "x", "y" },
                .seed = 2,
                .head = HeadKind::MeanTokens });
        LoadedAst m = loadAstCheckpoint(dir);
        const auto f = speechFeatures(100);
        const torch::Tensor x =
            torch::from_blob(const_cast<float *>(f.data.data()), { 1, 100, 128 });
        torch::NoGradGuard g;
        const torch::Tensor hidden = m.model->audio_spectrogram_transformer(x);
        const torch::Tensor manual =
            torch::matmul(hidden.mean(1), m.model->classifier->dense->weight.t())
            + m.model->classifier->dense->bias;
        QVERIFY(torch::allclose(m.model->forward(x), manual, 1e-5, 1e-6));
    }

    void batchEqualsSingles()
    {
        QTemporaryDir tmp;
        const fs::path dir = fs::path(tmp.path().toStdString()) / "m";
        writeRandomModel(
            dir, { .preset = "tiny", .maxLength = 100, .labels = { "x", "y" }, .seed = 4 });
        const AstClassifier c(dir, { .device = "cpu" });
        FeatureMatrix silence = speechFeatures(100);
        std::fill(silence.data.begin(), silence.data.end(), 0.4670324f);
        const auto speech = speechFeatures(100);
        const auto both = c.logits({ speech, silence });
        const auto one = c.logits({ speech }).front();
        for (std::size_t i = 0; i < one.size(); ++i)
            QVERIFY(std::abs(both[0][i] - one[i]) <= 1e-5f);
        QVERIFY(both[0] != both[1]);
    }

    // scores(): softmax over the logits, or sigmoid for a multi-label checkpoint; top(k): the
    // k best labels by score, best first, at most one per label.
    void scoresAndTop()
    {
        QTemporaryDir tmp;
        const fs::path dir = fs::path(tmp.path().toStdString()) / "m";
        writeRandomModel(dir,
            { .preset = "tiny", .maxLength = 100, .labels = { "yes", "no", "up" }, .seed = 3 });
        const std::vector<float> logits = { 0.5f, -1.25f, 2.0f };
        const AstClassifier single(dir, { .device = "cpu" });
        const std::vector<float> softmax = single.scores(logits);
        double sum = 0.0;
        for (float l : logits)
            sum += std::exp(double(l));
        for (std::size_t i = 0; i < logits.size(); ++i)
            QVERIFY(std::abs(softmax[i] - std::exp(double(logits[i])) / sum) <= 1e-6);
        const std::vector<LabelScore> top = single.top(softmax, 2);
        QCOMPARE(top.size(), std::size_t(2));
        QCOMPARE(top[0].label, std::string("up"));
        QCOMPARE(top[0].index, 2);
        QCOMPARE(top[0].score, softmax[2]);
        QCOMPARE(top[1].label, std::string("yes"));
        QCOMPARE(single.top(softmax, 5).size(), std::size_t(3));

        AstConfig config = loadAstConfig(dir);
        config.problemType = "multi_label_classification";
        saveAstConfig(config, dir);
        const AstClassifier multi(dir, { .device = "cpu" });
        QVERIFY(multi.summary().config.multiLabel());
        const std::vector<float> sigmoid = multi.scores(logits);
        for (std::size_t i = 0; i < logits.size(); ++i)
            QVERIFY(std::abs(sigmoid[i] - 1.0 / (1.0 + std::exp(-double(logits[i])))) <= 1e-6);
        const std::vector<LabelScore> all = multi.top(sigmoid, 3);
        QCOMPARE(all.size(), std::size_t(3));
        QCOMPARE(all[0].label, std::string("up"));
        QCOMPARE(all[1].label, std::string("yes"));
        QCOMPARE(all[2].label, std::string("no"));
    }

    // ClassifierOptions reach the loader: a shorter or longer max_length than the checkpoint's,
    // and zeroed rather than adapted position embeddings, each give other (finite) logits.
    void classifierMaxLengthAndPositions()
    {
        QTemporaryDir tmp;
        const fs::path dir = fs::path(tmp.path().toStdString()) / "m";
        writeRandomModel(dir,
            { .preset = "tiny", .maxLength = 100, .labels = { "yes", "no", "up" }, .seed = 3 });
        const auto logits = [&](int maxLength, PositionMode positions) {
            const AstClassifier c(
                dir, { .maxLength = maxLength, .positions = positions, .device = "cpu" });
            return std::pair { c.summary().config.maxLength,
                c.logits({ speechFeatures(maxLength) }).front() };
        };
        const auto stored = logits(100, PositionMode::Adapt);
        const auto shorter = logits(50, PositionMode::Adapt);
        const auto zero = logits(50, PositionMode::Zero);
        const auto longer = logits(300, PositionMode::Adapt);
        QCOMPARE(shorter.first, 50);
        QCOMPARE(longer.first, 300);
        for (const auto &l : { stored.second, shorter.second, zero.second, longer.second }) {
            QCOMPARE(l.size(), std::size_t(3));
            for (float v : l)
                QVERIFY(std::isfinite(v));
        }
        QVERIFY(stored.second != shorter.second);
        QVERIFY(shorter.second != zero.second);
        QVERIFY(stored.second != longer.second);
    }

    // init-model's promise: the same seed writes the same files, byte for byte; another seed
    // other weights of the same size.
    void randomModelIsDeterministic()
    {
        QTemporaryDir tmp;
        const auto write = [&](const QString &name, std::uint64_t seed) {
            writeRandomModel(tmp.filePath(name).toStdString(),
                { .preset = "tiny",
                    .maxLength = 100,
                    .labels = { "yes", "no", "up" },
                    .seed = seed });
            return tmp.filePath(name);
        };
        const auto bytes = [](const QString &file) {
            QFile f(file);
            return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
        };
        const QString a = write("a", 3), again = write("again", 3), other = write("other", 4);
        const QByteArray weights = bytes(a + "/model.safetensors");
        QVERIFY(weights.size() > 90000 * 4);
        QVERIFY2(bytes(again + "/model.safetensors") == weights, "same seed, different weights");
        QCOMPARE(bytes(again + "/config.json"), bytes(a + "/config.json"));
        const QByteArray otherWeights = bytes(other + "/model.safetensors");
        QCOMPARE(otherWeights.size(), weights.size());
        QVERIFY2(otherWeights != weights, "different seeds, same weights");
    }

    // scaled_dot_product_attention (libtorch 2.x) and the explicit products compute the same
    // attention: outputs and input gradients, short and long (query-blocked) inputs, with and
    // without prefix keys. On 1.13 both flags take the explicit path, bit for bit.
    void fusedAttentionMatchesExplicit_data()
    {
        QTest::addColumn<int>("tokens");
        QTest::addColumn<bool>("training");
        QTest::addColumn<bool>("prefix");
        for (const int tokens : { 50, 300 })
            for (const bool training : { false, true })
                for (const bool prefix : { false, true })
                    QTest::addRow("%d tokens%s%s", tokens, training ? ", training" : "",
                        prefix ? ", prefix" : "")
                        << tokens << training << prefix;
    }
    void fusedAttentionMatchesExplicit()
    {
        QFETCH(int, tokens);
        QFETCH(bool, training);
        QFETCH(bool, prefix);
        AstConfig c;
        c.hiddenSize = 64;
        c.numAttentionHeads = 4;
        AstSelfAttention attention(c);
        const torch::Tensor hidden = torch::randn({ 2, tokens, 64 });
        const torch::Tensor pk = prefix ? torch::randn({ 1, 6, 64 }) : torch::Tensor();
        const torch::Tensor pv = prefix ? torch::randn({ 1, 6, 64 }) : torch::Tensor();
        auto run = [&](bool fused) {
            attention->fusedAttention = fused;
            const torch::Tensor x = hidden.clone().requires_grad_(training);
            if (!training) {
                const torch::NoGradGuard noGrad;
                return std::pair { attention->forward(x, pk, pv), torch::Tensor() };
            }
            const torch::Tensor out = attention->forward(x, pk, pv);
            (out * out).sum().backward();
            return std::pair { out.detach(), x.grad() };
        };
        const auto [fusedOut, fusedGrad] = run(true);
        const auto [plainOut, plainGrad] = run(false);
        QCOMPARE(fusedOut.sizes().vec(), (std::vector<std::int64_t> { 2, tokens, 64 }));
        if (!compat::kHasSdpa)
            QVERIFY(torch::equal(fusedOut, plainOut));
        const double diff = (fusedOut - plainOut).abs().max().item<double>();
        QVERIFY2(diff < 1e-5, qPrintable(QString::number(diff)));
        if (training) {
            const double gradDiff = (fusedGrad - plainGrad).abs().max().item<double>();
            QVERIFY2(gradDiff < 1e-4 * std::max(1.0, plainGrad.abs().max().item<double>()),
                qPrintable(QString::number(gradDiff)));
        }
    }

    void bf16InferenceTracksFp32()
    {
        QTemporaryDir tmp;
        const fs::path dir = fs::path(tmp.path().toStdString()) / "m";
        writeRandomModel(
            dir, { .preset = "tiny", .maxLength = 100, .labels = { "x", "y", "z" }, .seed = 6 });
        const auto f = speechFeatures(100);
        const auto fp32 = AstClassifier(dir, { .device = "cpu" }).logits({ f }).front();
        const auto bf16 = AstClassifier(dir, { .device = "cpu", .precision = Precision::BF16 })
                              .logits({ f })
                              .front();
        QVERIFY(fp32 != bf16); // bf16 really ran: 8-bit mantissas round differently
        for (std::size_t i = 0; i < fp32.size(); ++i)
            QVERIFY2(std::abs(fp32[i] - bf16[i]) < 0.02f,
                qPrintable(QString::number(fp32[i] - bf16[i])));
        try {
            AstClassifier(dir, { .device = "cpu", .precision = Precision::F16 });
            QFAIL("fp16 on CPU should be refused");
        } catch (const Error &e) {
            QCOMPARE(e.kind(), ErrorKind::Usage);
            QVERIFY2(QString(e.what()).contains("CUDA"), e.what());
        }
    }

    void int8InferenceTracksFp32()
    {
        // Dynamic int8 for the encoder's Linear layers: scores move a little, the ranking of a
        // clear winner does not, and the fp32 path is untouched by the int8 copies.
        QTemporaryDir tmp;
        const fs::path dir = fs::path(tmp.path().toStdString()) / "m";
        writeRandomModel(dir,
            { .preset = "small", .maxLength = 100, .labels = { "x", "y", "z", "w" }, .seed = 8 });
        const AstClassifier fp32(dir, { .device = "cpu" });
        const AstClassifier int8(dir, { .device = "cpu", .precision = Precision::Int8 });
        double worst = 0, norm = 0;
        for (int clip = 0; clip < 4; ++clip) {
            FeatureMatrix f = speechFeatures(100);
            for (std::size_t i = 0; i < f.data.size(); ++i)
                f.data[i] += 0.05f * float(clip) * float((i * 7919) % 13) / 13.0f;
            const auto a = fp32.logits({ f }).front();
            const auto b = int8.logits({ f }).front();
            QVERIFY(a != b); // the int8 products really ran
            for (std::size_t i = 0; i < a.size(); ++i) {
                worst = std::max(worst, double(std::abs(a[i] - b[i])));
                norm = std::max(norm, double(std::abs(a[i])));
            }
        }
        QVERIFY2(worst <= 0.05 * std::max(norm, 1.0), qPrintable(QString::number(worst)));
        try {
            AstClassifier(dir, { .device = "cuda", .precision = Precision::Int8 });
            QFAIL("int8 on CUDA should be refused");
        } catch (const Error &e) {
            QCOMPARE(e.kind(), ErrorKind::Usage);
        }
        QCOMPARE(parsePrecision("int8"), Precision::Int8);
    }

    void strictLoadingListsProblems_data()
    {
        QTest::addColumn<QString>("edit");
        QTest::addColumn<QString>("phrase");
        QTest::addRow("missing")
            << "drop"
            << "1 missing tensors: audio_spectrogram_transformer.encoder.layer.1.output.dense.bias";
        QTest::addRow("unexpected") << "add"
                                    << "1 unexpected tensors: extra.weight";
        QTest::addRow("mis-shaped")
            << "reshape"
            << "mis-shaped tensors: classifier.dense.weight (file [64,3], model [2,64])";
    }
    void strictLoadingListsProblems()
    {
        QFETCH(QString, edit);
        QFETCH(QString, phrase);
        QTemporaryDir tmp;
        const fs::path dir = fs::path(tmp.path().toStdString()) / "m";
        writeRandomModel(
            dir, { .preset = "tiny", .maxLength = 100, .labels = { "x", "y" }, .seed = 1 });
        rewriteWeights(dir, [&](auto &items) {
            if (edit == "drop") {
                std::erase_if(items, [](const auto &it) {
                    return it.first.name
                        == "audio_spectrogram_transformer.encoder.layer.1.output.dense.bias";
                });
            } else if (edit == "add") {
                items.push_back(
                    { { "extra.weight", DType::F32, { 2 }, {} }, std::vector<std::byte>(8) });
            } else {
                for (auto &it : items)
                    if (it.first.name == "classifier.dense.weight") {
                        it.first.shape = { 64, 3 };
                        it.second.resize(64 * 3 * 4);
                    }
            }
        });
        try {
            loadAstCheckpoint(dir);
            QFAIL("loading should fail");
        } catch (const Error &e) {
            QCOMPARE(e.kind(), ErrorKind::Model);
            QVERIFY2(QString(e.what()).contains(phrase), e.what());
            QVERIFY2(QString(e.what()).contains("model.safetensors"), e.what());
        }
    }

    // A config.json that describes far more than model.safetensors holds is refused before
    // the model is built from it (issue 17, defect 2): here 32 layers of AST-base's width
    // (340 M parameters, 1.3 GB) on a tiny model's weights.
    void configLargerThanWeightsIsRefused()
    {
        QTemporaryDir tmp;
        const fs::path dir = fs::path(tmp.path().toStdString()) / "m";
        writeRandomModel(
            dir, { .preset = "tiny", .maxLength = 100, .labels = { "x", "y" }, .seed = 1 });
        AstConfig config = loadAstConfig(dir);
        config.hiddenSize = 1024;
        config.numAttentionHeads = 16;
        config.intermediateSize = 4096;
        config.numHiddenLayers = 32;
        saveAstConfig(config, dir);
        try {
            loadAstCheckpoint(dir);
            QFAIL("loading should fail");
        } catch (const Error &e) {
            QCOMPARE(e.kind(), ErrorKind::Model);
            QCOMPARE(e.file(), dir / "config.json");
            QVERIFY2(
                QString(e.what()).contains("parameters but model.safetensors holds"), e.what());
        }
    }

    void pickleIsRefused_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addRow("folder with pytorch_model.bin") << "pytorch_model.bin";
        QTest::addRow("a .pt file") << "weights.pt";
    }
    void pickleIsRefused()
    {
        QFETCH(QString, file);
        QTemporaryDir tmp;
        const fs::path dir(tmp.path().toStdString());
        std::ofstream(dir / file.toStdString()) << "not really a pickle";
        const fs::path target = file.endsWith(".bin") ? dir : dir / file.toStdString();
        try {
            loadAstCheckpoint(target);
            QFAIL("pickle should be refused");
        } catch (const Error &e) {
            QCOMPARE(e.kind(), ErrorKind::Unsupported);
            QVERIFY2(
                QString(e.what()).contains("tools/convert_pickle_to_safetensors.py"), e.what());
            QVERIFY2(QString(e.what()).contains("arbitrary code"), e.what());
        }
    }

    void missingFolderAndWeights()
    {
        QTemporaryDir tmp;
        const fs::path dir(tmp.path().toStdString());
        QVERIFY_THROWS_EXCEPTION(Error, loadAstCheckpoint(dir / "nope"));
        try {
            loadAstCheckpoint(dir);
            QFAIL("an empty folder is not a model");
        } catch (const Error &e) {
            QVERIFY(QString(e.what()).contains("no model.safetensors"));
        }
    }
};

QTEST_GUILESS_MAIN(TestAst)
#include "tst_ast.moc"
