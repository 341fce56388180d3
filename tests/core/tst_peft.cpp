// SPDX-License-Identifier: MIT
// PEFT modules on the AST backbone: exact trainable counts at the paper's settings (AST-base,
// max_length 100), one AdamW step touching only trainable tensors for every method and adapter
// variant (tiny model), identity at init, deep-prompt overwriting, prefix attention, conformer
// padding, LoRA merge math and the inference (fused QKV, blocked) path with LoRA and prefixes.
// torch comes before Qt: Qt's `slots` macro breaks torch headers.
#include "error.h"
#include "inference/classifier.h"
#include "model/ast.h"
#include "model/checkpoint.h"
#include "peft/peft_config.h"
#include "peft/peft_modules.h"
#include "runtime/autocast.h"

#include <QtTest>

#include <algorithm>
#include <map>
#include <set>

using namespace astpeft::core;

Q_DECLARE_METATYPE(astpeft::core::PeftConfig)

namespace {

const std::vector<std::string> kLabels = { "a", "b", "c" };
const std::string kLayer3 = "audio_spectrogram_transformer.encoder.layer.3.";

PeftConfig method(PeftMethod m)
{
    PeftConfig p;
    p.method = m;
    return p;
}

PeftConfig lora(std::vector<char> targets, int rank = 6)
{
    PeftConfig p = method(PeftMethod::Lora);
    p.lora.targets = std::move(targets);
    p.lora.rank = rank;
    return p;
}

PeftConfig adapter(AdapterBlock block, AdapterPlacement placement, int r, int kernel = 31,
    AdapterMode mode = AdapterMode::Parallel, bool residual = false)
{
    PeftConfig p = method(PeftMethod::Adapter);
    p.adapter.block = block;
    p.adapter.placement = placement;
    p.adapter.bottleneck = r;
    p.adapter.kernel = kernel;
    p.adapter.mode = mode;
    p.adapter.residual = residual;
    return p;
}

PeftConfig prompts(PeftMethod m, int n)
{
    PeftConfig p = method(m);
    p.prompts = n;
    return p;
}

PeftConfig prefix(int tokens)
{
    PeftConfig p = method(PeftMethod::Prefix);
    p.prefixTokens = tokens;
    return p;
}

AstConfig tinyConfig(int maxLength = 100)
{
    AstConfig c = presetConfig("tiny");
    c.maxLength = maxLength;
    return c;
}

AstForAudioClassification randomModel(const AstConfig &c, std::uint64_t seed = 11)
{
    AstForAudioClassification model(c);
    randomInitialize(*model, c.initializerRange, seed);
    return model;
}

torch::Tensor features(const AstConfig &c, int batch, std::uint64_t seed)
{
    auto gen = at::detail::createCPUGenerator(seed);
    return torch::randn({ batch, c.maxLength, c.numMelBins }, gen, torch::kFloat32);
}

std::map<std::string, torch::Tensor> snapshot(const torch::nn::Module &m)
{
    std::map<std::string, torch::Tensor> out;
    for (const auto &item : m.named_parameters())
        out[item.key()] = item.value().detach().clone();
    return out;
}

// Every adapter variant: block x placement x mode x residual.
void addAdapterVariants(PeftInit init)
{
    for (AdapterBlock block : { AdapterBlock::Bottleneck, AdapterBlock::Conformer })
        for (AdapterPlacement placement : { AdapterPlacement::Pfeiffer, AdapterPlacement::Houlsby })
            for (AdapterMode mode : { AdapterMode::Parallel, AdapterMode::Sequential })
                for (bool residual : { false, true }) {
                    PeftConfig p = adapter(block, placement, 4, 5, mode, residual);
                    p.init = init;
                    QTest::addRow("%s %s %s%s",
                        block == AdapterBlock::Bottleneck ? "bottleneck" : "conformer",
                        placement == AdapterPlacement::Pfeiffer ? "pfeiffer" : "houlsby",
                        mode == AdapterMode::Parallel ? "parallel" : "sequential",
                        residual ? " residual" : "")
                        << p;
                }
}

} // namespace

class TestPeft : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void paperCounts_data()
    {
        QTest::addColumn<PeftConfig>("peft");
        QTest::addColumn<qlonglong>("expected"); // trainable without the head (final LN included)
        using enum AdapterBlock;
        using enum AdapterPlacement;
        QTest::addRow("bottleneck pfeiffer r12") << adapter(Bottleneck, Pfeiffer, 12) << 250512LL;
        QTest::addRow("bottleneck houlsby r12") << adapter(Bottleneck, Houlsby, 12) << 499488LL;
        QTest::addRow("conformer pfeiffer r8 k31") << adapter(Conformer, Pfeiffer, 8) << 272256LL;
        QTest::addRow("conformer pfeiffer r8 k8") << adapter(Conformer, Pfeiffer, 8, 8) << 270048LL;
        QTest::addRow("conformer houlsby r8 k31") << adapter(Conformer, Houlsby, 8) << 542976LL;
        PeftConfig bug = adapter(Conformer, Pfeiffer, 8);
        bug.adapter.officialLayerNormBug = true;
        QTest::addRow("conformer pfeiffer official LN bug") << bug << 272256LL;
        QTest::addRow("lora q,v r6") << lora({ 'q', 'v' }) << 222720LL;
        QTest::addRow("prefix 24") << prefix(24) << 222720LL;
        QTest::addRow("prompt-shallow 300") << prompts(PeftMethod::PromptShallow, 300) << 231936LL;
        QTest::addRow("prompt-deep 25") << prompts(PeftMethod::PromptDeep, 25) << 231936LL;
        QTest::addRow("bitfit") << method(PeftMethod::BitFit) << 102144LL;
        QTest::addRow("linear") << method(PeftMethod::Linear) << 1536LL;
        QTest::addRow("full") << method(PeftMethod::Full) << 85339392LL;
    }
    void paperCounts()
    {
        QFETCH(PeftConfig, peft);
        QFETCH(qlonglong, expected);
        // A random AST-base backbone, built once (randomInitialize of 85 M values is the slow
        // part) and copied into a fresh model per row.
        AstConfig c = presetConfig("base");
        c.maxLength = 100;
        static AstForAudioClassification prototype = randomModel(c, 20240715);
        AstForAudioClassification model(c);
        {
            torch::NoGradGuard g;
            const auto source = prototype->named_parameters();
            for (auto &item : model->named_parameters())
                item.value().copy_(source[item.key()]);
        }
        applyPeft(model, peft, kLabels, 1);
        const std::int64_t head = 768 * 3 + 3;
        QCOMPARE(countTrainable(*model->classifier), head);
        QCOMPARE(countTrainable(*model) - head, std::int64_t(expected));
        // The analytic accounting (peft_config.h), used by the UI and the budget solver, agrees
        // with the modules, head included.
        const ParameterBreakdown b = countParameters(c, peft, 3);
        QCOMPARE(b.withoutHead(), std::int64_t(expected));
        QCOMPARE(b.total(), countTrainable(*model));
        QCOMPARE(model->classifier->kind, HeadKind::MeanTokens);
        QVERIFY(!model->classifier->layernorm);

        const auto names = trainableParameterNames(*model);
        const std::set<std::string> trainable(names.begin(), names.end());
        QVERIFY(trainable.count("classifier.dense.weight"));
        QVERIFY(trainable.count("classifier.dense.bias"));
        const bool full = peft.method == PeftMethod::Full;
        QCOMPARE(bool(trainable.count(
                     "audio_spectrogram_transformer.embeddings.patch_embeddings.projection.bias")),
            full);
        QCOMPARE(
            bool(trainable.count("audio_spectrogram_transformer.embeddings.position_embeddings")),
            full);
        QVERIFY(trainable.count("audio_spectrogram_transformer.layernorm.bias"));
        QCOMPARE(bool(trainable.count("audio_spectrogram_transformer.layernorm.weight")),
            peft.method != PeftMethod::BitFit);
        switch (peft.method) {
        case PeftMethod::Adapter:
            QVERIFY(trainable.count(kLayer3
                + (peft.adapter.block == AdapterBlock::Bottleneck
                        ? "adapter_ffn.down.weight"
                        : "adapter_ffn.depthwise_conv.weight")));
            QVERIFY(trainable.count(kLayer3 + "layernorm_after.weight"));
            QCOMPARE(bool(trainable.count(kLayer3 + "adapter_mhsa.up.bias")
                         || trainable.count(kLayer3 + "adapter_mhsa.pointwise_conv2.bias")),
                peft.adapter.placement == AdapterPlacement::Houlsby);
            QCOMPARE(bool(trainable.count(kLayer3 + "layernorm_before.weight")),
                peft.adapter.placement == AdapterPlacement::Houlsby);
            break;
        case PeftMethod::Lora:
            QVERIFY(trainable.count(kLayer3 + "attention.attention.lora_q.down.weight"));
            QVERIFY(trainable.count(kLayer3 + "attention.attention.lora_v.up.weight"));
            QVERIFY(!trainable.count(kLayer3 + "attention.attention.query.weight"));
            break;
        case PeftMethod::Prefix:
            QVERIFY(trainable.count(kLayer3 + "prefix_keys"));
            QVERIFY(trainable.count(kLayer3 + "prefix_values"));
            break;
        case PeftMethod::PromptDeep:
            QVERIFY(trainable.count("audio_spectrogram_transformer.encoder.deep_prompts"));
            QCOMPARE(model->audio_spectrogram_transformer->encoder->deep_prompts.sizes(),
                (torch::IntArrayRef { 11, 25, 768 }));
            [[fallthrough]];
        case PeftMethod::PromptShallow:
            QVERIFY(trainable.count("audio_spectrogram_transformer.embeddings.prompts"));
            break;
        case PeftMethod::BitFit:
            QVERIFY(trainable.count(kLayer3 + "attention.attention.key.bias"));
            QVERIFY(trainable.count(kLayer3 + "intermediate.dense.bias"));
            QVERIFY(trainable.count(kLayer3 + "layernorm_before.bias"));
            QVERIFY(!trainable.count(kLayer3 + "layernorm_before.weight"));
            break;
        default:
            break;
        }
    }

    void stepTouchesOnlyTrainable_data()
    {
        QTest::addColumn<PeftConfig>("peft");
        auto row = [](const char *name, PeftConfig p) {
            p.init = PeftInit::Paper; // every trainable tensor gets a non-zero gradient
            QTest::newRow(name) << p;
        };
        row("full", method(PeftMethod::Full));
        row("linear", method(PeftMethod::Linear));
        row("bitfit", method(PeftMethod::BitFit));
        row("prompt-shallow", prompts(PeftMethod::PromptShallow, 5));
        row("prompt-deep", prompts(PeftMethod::PromptDeep, 5));
        row("prefix", prefix(6));
        row("lora q,v", lora({ 'q', 'v' }, 4));
        row("lora q,k,v,o", lora({ 'q', 'k', 'v', 'o' }, 4));
        PeftConfig paperScaling = lora({ 'q', 'v' }, 4);
        paperScaling.lora.paperScaling = true;
        row("lora paper scaling", paperScaling);
        addAdapterVariants(PeftInit::Paper);
        PeftConfig relu = adapter(
            AdapterBlock::Bottleneck, AdapterPlacement::Houlsby, 4, 5, AdapterMode::Parallel);
        relu.adapter.activation = Activation::Relu;
        row("bottleneck relu", relu);
        PeftConfig bug = adapter(AdapterBlock::Conformer, AdapterPlacement::Houlsby, 4, 8);
        bug.adapter.officialLayerNormBug = true;
        row("conformer k8 official LN bug", bug);
        PeftConfig identity = adapter(AdapterBlock::Conformer, AdapterPlacement::Houlsby, 4);
        QTest::newRow("conformer identity init") << identity;
        QTest::newRow("lora identity init") << lora({ 'q', 'k', 'v', 'o' }, 2);
    }
    void stepTouchesOnlyTrainable()
    {
        QFETCH(PeftConfig, peft);
        const AstConfig c = tinyConfig();
        AstForAudioClassification model = randomModel(c);
        applyPeft(model, peft, kLabels, 3);
        const auto before = snapshot(*model);
        std::vector<torch::Tensor> params;
        for (auto &p : model->parameters())
            if (p.requires_grad())
                params.push_back(p);
        QVERIFY(!params.empty());
        torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-3));

        model->train();
        const torch::Tensor x = features(c, 2, 5);
        const torch::Tensor y = torch::tensor({ 0, 2 }, torch::kLong);
        opt.zero_grad();
        torch::nn::functional::cross_entropy(model(x), y).backward();
        opt.step();

        const bool lnBug = peft.method == PeftMethod::Adapter
            && peft.adapter.block == AdapterBlock::Conformer && peft.adapter.officialLayerNormBug;
        int trained = 0;
        for (const auto &item : model->named_parameters()) {
            const std::string &name = item.key();
            const torch::Tensor &p = item.value();
            const bool same = torch::equal(p, before.at(name));
            if (!p.requires_grad()) {
                QVERIFY2(!p.grad().defined(), name.c_str());
                QVERIFY2(same, name.c_str());
                continue;
            }
            // The official bug discards the adapter's LayerNorm output: no gradient, no step.
            const bool noGradient = lnBug && name.find(".layernorm.") != std::string::npos
                && name.find("adapter_") != std::string::npos;
            QVERIFY2(p.grad().defined() != noGradient, name.c_str());
            // With a zero last projection, everything before it gets an exactly zero first
            // gradient: zero-valued tensors (biases, LayerNorm shifts) may then stay put.
            if (peft.init == PeftInit::Paper)
                QVERIFY2(same == noGradient, name.c_str());
            trained += !noGradient;
        }
        QVERIFY(trained >= 3);
    }

    void identityAtInit_data()
    {
        QTest::addColumn<PeftConfig>("peft");
        QTest::addColumn<bool>("identity");
        QTest::newRow("lora q,v") << lora({ 'q', 'v' }, 4) << true;
        QTest::newRow("lora q,k,v,o") << lora({ 'q', 'k', 'v', 'o' }, 4) << true;
        PeftConfig paperLora = lora({ 'q', 'v' }, 4);
        paperLora.init = PeftInit::Paper;
        QTest::newRow("lora paper init") << paperLora << false;

        // With a zero last projection, Ad(z) = 0 at init. The layer is then the identity when
        // the adapter's branch reduces to the frozen one: parallel without residual
        // (f + Ad(u)) and sequential with residual (Ad(f) + f). Parallel with residual adds u,
        // sequential without residual drops f: neither can start as the frozen backbone.
        for (AdapterBlock block : { AdapterBlock::Bottleneck, AdapterBlock::Conformer })
            for (AdapterPlacement placement :
                { AdapterPlacement::Pfeiffer, AdapterPlacement::Houlsby })
                for (AdapterMode mode : { AdapterMode::Parallel, AdapterMode::Sequential })
                    for (bool residual : { false, true }) {
                        const bool sequential = mode == AdapterMode::Sequential;
                        QTest::addRow("%s %s %s%s",
                            block == AdapterBlock::Bottleneck ? "bottleneck" : "conformer",
                            placement == AdapterPlacement::Pfeiffer ? "pfeiffer" : "houlsby",
                            sequential ? "sequential" : "parallel", residual ? " residual" : "")
                            << adapter(block, placement, 4, 8, mode, residual)
                            << (sequential == residual);
                    }
        PeftConfig paperConformer = adapter(AdapterBlock::Conformer, AdapterPlacement::Pfeiffer, 4);
        paperConformer.init = PeftInit::Paper;
        QTest::newRow("conformer paper init") << paperConformer << false;
        paperConformer.adapter.officialLayerNormBug = true;
        QTest::newRow("conformer paper init, LN bug") << paperConformer << false;
    }
    void identityAtInit()
    {
        QFETCH(PeftConfig, peft);
        QFETCH(bool, identity);
        const AstConfig c = tinyConfig();
        AstForAudioClassification model = randomModel(c);
        model->eval(); // BatchNorm: running statistics
        const torch::Tensor x = features(c, 2, 8);
        const auto forward = [&] {
            torch::NoGradGuard g;
            return model->audio_spectrogram_transformer(x);
        };
        const torch::Tensor frozen = forward();
        applyPeft(model, peft, kLabels, 4);
        model->eval();
        const torch::Tensor adapted = forward();
        QCOMPARE(adapted.sizes(), frozen.sizes());
        const bool close = torch::allclose(adapted, frozen, 1e-5, 1e-6);
        QVERIFY2(close == identity,
            qPrintable(QString::number((adapted - frozen).abs().max().item<double>())));
        // Also with autograd on (the separate-projection path).
        if (identity)
            QVERIFY(torch::allclose(model->audio_spectrogram_transformer(x), frozen, 1e-5, 1e-6));
    }

    void promptDeepOverwritesBeforeEachLayer()
    {
        AstConfig c = tinyConfig();
        c.numHiddenLayers = 3;
        AstForAudioClassification model = randomModel(c);
        const int n = 4;
        applyPeft(model, prompts(PeftMethod::PromptDeep, n), kLabels, 2);
        AstModelImpl &ast = *model->audio_spectrogram_transformer;
        QCOMPARE(ast.encoder->deep_prompts.sizes(), (torch::IntArrayRef { 2, n, 64 }));
        torch::NoGradGuard g;
        ast.encoder->deep_prompts[0].fill_(0.5);
        ast.encoder->deep_prompts[1].fill_(-0.25);
        const torch::Tensor x = features(c, 2, 9);
        const torch::Tensor out = ast.forward(x);
        QCOMPARE(out.size(1), std::int64_t(1 + n + 12 * 9));

        // By hand: embeddings (position embeddings added) with cls, prompts, patches.
        const torch::Tensor patches = ast.embeddings->patch_embeddings(x);
        const torch::Tensor pos = ast.embeddings->position_embeddings;
        torch::Tensor h = torch::cat(
            { ast.embeddings->cls_token.expand({ 2, -1, -1 }) + pos.narrow(1, 0, 1),
                ast.embeddings->prompts.expand({ 2, -1, -1 }), patches + pos.narrow(1, 2, 12 * 9) },
            1);
        torch::Tensor unchanged = h; // the same forward without the deep overwrite
        for (int i = 0; i < 3; ++i) {
            AstLayerImpl &layer = *ast.encoder->layer[i]->as<AstLayer>();
            if (i > 0) {
                h = h.clone();
                h.narrow(1, 1, n).fill_(i == 1 ? 0.5 : -0.25);
            }
            h = layer.forward(h);
            unchanged = layer.forward(unchanged);
        }
        QVERIFY(torch::allclose(out, ast.layernorm(h), 1e-5, 1e-6));
        QVERIFY(!torch::allclose(out, ast.layernorm(unchanged), 1e-3, 1e-3));
    }

    void promptShallowReplacesDistillationToken()
    {
        const AstConfig c = tinyConfig();
        AstForAudioClassification model = randomModel(c);
        applyPeft(model, prompts(PeftMethod::PromptShallow, 7), kLabels, 2);
        AstEmbeddingsImpl &e = *model->audio_spectrogram_transformer->embeddings;
        torch::NoGradGuard g;
        const torch::Tensor x = features(c, 1, 3);
        const torch::Tensor tokens = e.forward(x);
        QCOMPARE(tokens.size(1), std::int64_t(1 + 7 + 12 * 9));
        QVERIFY(torch::equal(tokens.narrow(1, 1, 7), e.prompts));
        // U(-v, v), v = sqrt(6 / (3 * 16 * 16 + D)).
        QVERIFY(e.prompts.abs().max().item<double>() <= std::sqrt(6.0 / (768 + 64)));
        const torch::Tensor logits = model(x);
        QCOMPARE(logits.sizes(), (torch::IntArrayRef { 1, 3 }));
    }

    void prefixAttendsToExtraKeys()
    {
        const AstConfig c = tinyConfig();
        AstForAudioClassification model = randomModel(c);
        applyPeft(model, prefix(6), kLabels, 2);
        AstLayerImpl &layer =
            *model->audio_spectrogram_transformer->encoder->layer[0]->as<AstLayer>();
        QCOMPARE(layer.prefix_keys.sizes(), (torch::IntArrayRef { 1, 3, 64 }));
        const torch::Tensor hidden = torch::randn({ 2, 20, 64 });
        AstSelfAttentionImpl &a = *layer.attention->attention;
        // Softmax attention is invariant to a joint permutation of keys and values, so the
        // prefix may be appended here instead of inserted after position 0.
        auto heads = [](const torch::Tensor &t) {
            return t.view({ 2, -1, 2, 32 }).transpose(1, 2);
        };
        const torch::Tensor q = heads(a.query(hidden));
        const torch::Tensor k =
            heads(torch::cat({ a.key(hidden), layer.prefix_keys.expand({ 2, -1, -1 }) }, 1));
        const torch::Tensor v =
            heads(torch::cat({ a.value(hidden), layer.prefix_values.expand({ 2, -1, -1 }) }, 1));
        const torch::Tensor probs =
            torch::softmax(torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(32.0), -1);
        const torch::Tensor expected =
            torch::matmul(probs, v).transpose(1, 2).reshape({ 2, 20, 64 });
        const torch::Tensor got = a.forward(hidden, layer.prefix_keys, layer.prefix_values);
        QCOMPARE(got.sizes(), hidden.sizes());
        QVERIFY(torch::allclose(got, expected, 1e-5, 1e-6));
        QVERIFY(!torch::allclose(a.forward(hidden), expected, 1e-3, 1e-3));

        torch::NoGradGuard g;
        const torch::Tensor x = features(c, 2, 1);
        QCOMPARE(model->audio_spectrogram_transformer(x).size(1), std::int64_t(c.numTokens()));
    }

    void inferencePathMatchesAutograd_data()
    {
        QTest::addColumn<PeftConfig>("peft");
        PeftConfig l = lora({ 'q', 'k', 'v', 'o' }, 4);
        l.init = PeftInit::Paper;
        QTest::newRow("lora q,k,v,o") << l;
        QTest::newRow("prefix") << prefix(8);
        QTest::newRow("none") << method(PeftMethod::Linear);
    }
    void inferencePathMatchesAutograd()
    {
        QFETCH(PeftConfig, peft);
        // 2 + 12 * 29 = 350 tokens: more than one 256-query block.
        const AstConfig c = tinyConfig(300);
        AstForAudioClassification model = randomModel(c);
        applyPeft(model, peft, kLabels, 6);
        const torch::Tensor x = features(c, 2, 7);
        const torch::Tensor grad = model->audio_spectrogram_transformer(x);
        torch::NoGradGuard g;
        const torch::Tensor fused = model->audio_spectrogram_transformer(x);
        QVERIFY(torch::allclose(fused, grad, 1e-4, 1e-5));
    }

    void fusedTrainingMatchesSeparateProjections()
    {
        // BitFit trains the q/k/v biases while their weights stay frozen: the fused training
        // path must give the same output and the same bias gradients as three Linears (which
        // the model takes once a weight requires grad).
        const AstConfig c = tinyConfig();
        AstForAudioClassification model = randomModel(c);
        applyPeft(model, method(PeftMethod::BitFit), kLabels, 6);
        const torch::Tensor x = features(c, 2, 9);
        AstSelfAttentionImpl &attention = *model->audio_spectrogram_transformer->encoder->layer[0]
                                               ->as<AstLayer>()
                                               ->attention->attention;
        auto run = [&] {
            for (auto &p : model->parameters())
                p.mutable_grad() = torch::Tensor();
            const torch::Tensor out = model->forward(x);
            out.pow(2).sum().backward();
            std::vector<torch::Tensor> result;
            result.push_back(out.detach());
            for (const auto &linear : { attention.query, attention.key, attention.value })
                result.push_back(linear->bias.grad().clone());
            return result;
        };
        const auto fused = run();
        attention.query->weight.set_requires_grad(true);
        const auto separate = run();
        attention.query->weight.set_requires_grad(false);
        for (std::size_t i = 0; i < fused.size(); ++i) {
            const double magnitude = fused[i].abs().sum().item<double>();
            QVERIFY(magnitude > 0);
            QVERIFY2(
                torch::allclose(fused[i], separate[i], 1e-4, 1e-6), qPrintable(QString::number(i)));
        }
    }

    void checkpointedActivationsGiveSameGradients_data()
    {
        QTest::addColumn<PeftConfig>("peft");
        QTest::addColumn<bool>("bf16");
        auto row = [](const char *name, PeftConfig p, bool bf16 = false) {
            p.init = PeftInit::Paper; // every trainable tensor gets a non-zero gradient
            QTest::newRow(name) << p << bf16;
        };
        row("full", method(PeftMethod::Full));
        row("linear", method(PeftMethod::Linear));
        row("bitfit", method(PeftMethod::BitFit));
        row("prompt-shallow", prompts(PeftMethod::PromptShallow, 5));
        row("prompt-deep", prompts(PeftMethod::PromptDeep, 5));
        row("prefix", prefix(6));
        row("lora q,k,v,o", lora({ 'q', 'k', 'v', 'o' }, 4));
        row("conformer houlsby sequential",
            adapter(
                AdapterBlock::Conformer, AdapterPlacement::Houlsby, 4, 5, AdapterMode::Sequential));
        row("lora bf16 autocast", lora({ 'q', 'v' }, 4), true);
        row("prompt-deep bf16 autocast", prompts(PeftMethod::PromptDeep, 5), true);
    }
    void checkpointedActivationsGiveSameGradients()
    {
        // Recomputing each layer in the backward pass must give exactly the plain pass's
        // output and gradients (no dropout; the same code path and autocast when recomputed).
        QFETCH(PeftConfig, peft);
        QFETCH(bool, bf16);
        const AstConfig c = tinyConfig();
        AstForAudioClassification model = randomModel(c);
        applyPeft(model, peft, kLabels, 4);
        model->train();
        const torch::Tensor x = features(c, 3, 8);
        const torch::Tensor y = torch::tensor({ 0, 2, 1 }, torch::kLong);
        AstEncoderImpl &encoder = *model->audio_spectrogram_transformer->encoder;
        auto run = [&](bool checkpoint) {
            encoder.checkpointActivations = checkpoint;
            for (auto &p : model->parameters())
                p.mutable_grad() = torch::Tensor();
            torch::Tensor logits;
            {
                const AutocastGuard autocast(torch::kCPU, bf16 ? Precision::BF16 : Precision::F32);
                logits = model->forward(x);
            }
            torch::nn::functional::cross_entropy(logits.to(torch::kFloat32), y).backward();
            std::map<std::string, torch::Tensor> result { { "logits", logits.detach() } };
            for (const auto &item : model->named_parameters())
                if (item.value().requires_grad())
                    result[item.key()] = item.value().grad().defined() ? item.value().grad().clone()
                                                                       : torch::Tensor();
            return result;
        };
        const auto plain = run(false);
        const auto checkpointed = run(true);
        QCOMPARE(checkpointed.size(), plain.size());
        int layerGradients = 0;
        for (const auto &[name, value] : plain) {
            const torch::Tensor &other = checkpointed.at(name);
            QVERIFY2(value.defined() == other.defined(), name.c_str());
            if (!value.defined())
                continue;
            QVERIFY2(torch::equal(value, other), name.c_str());
            layerGradients += name.find(".encoder.layer.") != std::string::npos;
        }
        // The layers' own trainable tensors got their gradients through the recomputation.
        const bool layerModules = peft.method != PeftMethod::Linear
            && peft.method != PeftMethod::PromptShallow && peft.method != PeftMethod::PromptDeep;
        QVERIFY(layerModules == (layerGradients > 0));

        // The checkpointed node is really in the graph (and only while autograd records).
        encoder.checkpointActivations = true;
        const torch::Tensor hidden = model->audio_spectrogram_transformer->encoder(
            torch::randn({ 2, c.numTokens(), c.hiddenSize }).requires_grad_(true));
        QVERIFY(hidden.grad_fn());
        QVERIFY2(QString::fromStdString(hidden.grad_fn()->name()).contains("CheckpointedLayer"),
            hidden.grad_fn()->name().c_str());
        encoder.checkpointActivations = false;
    }

    void conformerSamePadding_data()
    {
        QTest::addColumn<int>("kernel");
        QTest::addColumn<int>("left");
        QTest::addRow("k8") << 8 << 3;
        QTest::addRow("k31") << 31 << 15;
        QTest::addRow("k1") << 1 << 0;
    }
    void conformerSamePadding()
    {
        QFETCH(int, kernel);
        QFETCH(int, left);
        // One channel path: value = x[..., 0], gate saturated open, a depthwise tap at index j
        // (output t reads input t + j - left), BatchNorm in eval as the identity, SiLU, out.
        AstConformerAdapterImpl ad(4, 1, kernel, 1e-12, true);
        ad.eval();
        torch::NoGradGuard g;
        ad.pointwise_conv1->weight.zero_();
        ad.pointwise_conv1->weight[0][0][0] = 1.0;
        ad.pointwise_conv1->bias.zero_();
        ad.pointwise_conv1->bias[1] = 40.0;
        ad.pointwise_conv2->weight.fill_(1.0);
        ad.pointwise_conv2->bias.zero_();
        const int n = 40, t0 = 20;
        for (int j : { 0, kernel - 1 }) {
            ad.depthwise_conv->weight.zero_();
            ad.depthwise_conv->weight[0][0][j] = 1.0;
            ad.depthwise_conv->bias.zero_();
            torch::Tensor x = torch::zeros({ 1, n, 4 });
            x[0][t0][0] = 1.0;
            const torch::Tensor y = ad.forward(x);
            QCOMPARE(y.sizes(), x.sizes());
            const torch::Tensor hot = y.select(2, 0).abs().gt(1e-3).nonzero();
            QCOMPARE(hot.size(0), std::int64_t(1));
            QCOMPARE(hot[0][1].item<std::int64_t>(), std::int64_t(t0 - j + left));
        }
    }

    void loraMergedMath()
    {
        const AstConfig c = tinyConfig();
        AstForAudioClassification model = randomModel(c);
        PeftConfig p = lora({ 'q', 'o' }, 4);
        p.init = PeftInit::Paper;
        p.lora.alpha = 8.0;
        applyPeft(model, p, kLabels, 12);
        AstAttentionImpl &attn =
            *model->audio_spectrogram_transformer->encoder->layer[1]->as<AstLayer>()->attention;
        auto &l = dynamic_cast<AstLoraImpl &>(*attn.attention->lora_q);
        QCOMPARE(l.scaling, 8.0 / 4);
        torch::NoGradGuard g;
        const torch::Tensor x = torch::randn({ 3, 7, 64 });
        for (auto [base, branch] : { std::pair { attn.attention->query, &l },
                 std::pair {
                     attn.output->dense, &dynamic_cast<AstLoraImpl &>(*attn.output->lora) } }) {
            const torch::Tensor sum = base(x) + branch->forward(x);
            const torch::Tensor merged =
                torch::nn::functional::linear(x, base->weight + branch->deltaWeight(), base->bias);
            const double rel = ((sum - merged).abs().max() / merged.abs().max()).item<double>();
            QVERIFY2(rel <= 1e-5, qPrintable(QString::number(rel)));
            QVERIFY(branch->forward(x).abs().max().item<double>() > 1e-4); // not trivially zero
        }
        // Paper scaling: alpha / RR with RR = D / r.
        PeftConfig ps = lora({ 'v' }, 4);
        ps.lora.alpha = 8.0;
        ps.lora.paperScaling = true;
        AstForAudioClassification other = randomModel(c);
        applyPeft(other, ps, kLabels, 1);
        const auto *v =
            dynamic_cast<AstLoraImpl *>(other->audio_spectrogram_transformer->encoder->layer[0]
                                            ->as<AstLayer>()
                                            ->attention->attention->lora_v.get());
        QVERIFY(v);
        QCOMPARE(v->scaling, 8.0 / (64.0 / 4));
    }

    void seedReproducesTensors()
    {
        const AstConfig c = tinyConfig();
        PeftConfig p = adapter(AdapterBlock::Conformer, AdapterPlacement::Houlsby, 4);
        p.init = PeftInit::Paper;
        AstForAudioClassification a = randomModel(c), b = randomModel(c), d = randomModel(c);
        applyPeft(a, p, kLabels, 77);
        applyPeft(b, p, kLabels, 77);
        applyPeft(d, p, kLabels, 78);
        const auto sa = snapshot(*a), sb = snapshot(*b), sd = snapshot(*d);
        for (const auto &[name, t] : sa)
            QVERIFY2(torch::equal(t, sb.at(name)), name.c_str());
        QVERIFY(!torch::equal(sa.at("classifier.dense.weight"), sd.at("classifier.dense.weight")));
    }

    void replacesHfHeadAndFollowsMode()
    {
        AstConfig c = tinyConfig();
        c.labels = { "x", "y" };
        AstForAudioClassification model = randomModel(c);
        QVERIFY(model->classifier->layernorm);
        model->eval();
        applyPeft(
            model, adapter(AdapterBlock::Conformer, AdapterPlacement::Houlsby, 4), kLabels, 1);
        QCOMPARE(model->classifier->kind, HeadKind::MeanTokens);
        QCOMPARE(model->classifier->dense->weight.size(0), std::int64_t(3));
        QCOMPARE(model->audio_spectrogram_transformer->config.labels, kLabels);
        for (const auto &item : model->named_parameters())
            QVERIFY2(!item.key().starts_with("classifier.layernorm"), item.key().c_str());
        for (const auto &m : model->modules())
            QVERIFY(!m->is_training());
        const torch::Tensor logits = model(features(c, 2, 1));
        QCOMPARE(logits.sizes(), (torch::IntArrayRef { 2, 3 }));
    }

    void refusesBadKnobsAndSecondApplication()
    {
        const AstConfig c = tinyConfig();
        AstForAudioClassification model = randomModel(c);
        QVERIFY_THROWS_EXCEPTION(Error, applyPeft(model, prefix(5), kLabels, 0));
        QVERIFY_THROWS_EXCEPTION(Error, applyPeft(model, lora({ 'x' }), kLabels, 0));
        QVERIFY_THROWS_EXCEPTION(Error, applyPeft(model, lora({ 'q', 'q' }), kLabels, 0));
        QVERIFY_THROWS_EXCEPTION(Error, applyPeft(model, method(PeftMethod::Linear), {}, 0));
        applyPeft(model, lora({ 'q' }), kLabels, 0);
        QVERIFY_THROWS_EXCEPTION(Error, applyPeft(model, lora({ 'q' }), kLabels, 0));
    }
};

QTEST_GUILESS_MAIN(TestPeft)
#include "tst_peft.moc"
