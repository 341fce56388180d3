// SPDX-License-Identifier: MIT
#include "inference/classifier.h"
#include "model/quantize.h"

#include "error.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "peft/adapter_io.h"
#include "runtime/runtime.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

namespace astpeft::core {

Precision parsePrecision(const std::string &name)
{
    if (name == "fp32" || name == "f32" || name == "float32")
        return Precision::F32;
    if (name == "bf16" || name == "bfloat16")
        return Precision::BF16;
    if (name == "fp16" || name == "f16" || name == "float16")
        return Precision::F16;
    if (name == "int8" || name == "qint8")
        return Precision::Int8;
    throw Error(ErrorKind::Usage, "unknown precision '" + name + "' (fp32, bf16, fp16 or int8)");
}

std::string precisionName(Precision precision)
{
    switch (precision) {
    case Precision::F32:
        return "fp32";
    case Precision::BF16:
        return "bf16";
    case Precision::F16:
        return "fp16";
    case Precision::Int8:
        return "int8";
    }
    return "fp32";
}

struct AstClassifier::Private
{
    // The checkpoint at its own max_length, float32 on the CPU, loaded once and never written:
    // the working model's tensors that no adapter replaces share its storage (set_data).
    LoadedAst base;
    std::string fingerprint; // backboneFingerprint(base.dir), computed on first need
    ClassifierOptions options; // the constructor's
    LoadedAst loaded; // the working model
    ModelSummary summary;
    torch::Device device { torch::kCPU };
    torch::ScalarType computeType = torch::kFloat32;
    std::optional<FrontEnd> adapterFrontEnd; // the adapter's preprocessing, when one is loaded

    // The working model for `adapter` (empty: the bare backbone), built from `base` as
    // loadAstCheckpoint() + loadAdapter() would build it from the files.
    void build(const std::filesystem::path &adapter);
};

void AstClassifier::Private::build(const std::filesystem::path &adapter)
{
    int maxLength = options.maxLength;
    PositionMode positions = options.positions;
    std::optional<AdapterManifest> manifest;
    std::optional<SafetensorsFile> stored; // the adapter's tensors: these are never shared
    if (!adapter.empty()) {
        // The adapter fixes the input length and position handling it was trained with.
        manifest = loadAdapterManifest(adapter, base.config);
        maxLength = manifest->frontEnd.maxLength;
        positions = manifest->positions;
        stored.emplace(adapter / kAdapterWeightsFile);
    }
    LoadedAst next;
    next.dir = base.dir;
    next.head = base.head;
    next.sourceDType = base.sourceDType;
    next.checkpointMaxLength = base.checkpointMaxLength;
    next.config = base.config;
    if (maxLength > 0)
        next.config.maxLength = maxLength;
    requireInputLength(next.config, next.config.maxLength);
    next.model = AstForAudioClassification(next.config, next.head);
    const bool resized = next.config.maxLength != base.config.maxLength;
    {
        torch::NoGradGuard noGrad;
        const auto own = next.model->named_parameters();
        for (const auto &item : base.model->named_parameters()) {
            const std::string &name = item.key();
            const torch::Tensor *param = own.find(name);
            if (!param)
                continue;
            if (name.ends_with("embeddings.position_embeddings") && resized) {
                // As loadAstCheckpoint() adapts them to another max_length.
                if (positions == PositionMode::Zero)
                    torch::Tensor(*param).zero_();
                else
                    torch::Tensor(*param).copy_(adaptPositionEmbeddings(item.value(),
                        base.config.frequencyPatches(), base.config.timePatches(),
                        next.config.frequencyPatches(), next.config.timePatches()));
                continue;
            }
            // The adapter's head replaces the checkpoint's, and the tensors it stores are
            // written on load: both keep their own storage.
            if (manifest && (name.starts_with("classifier.") || stored->find(name)))
                continue;
            torch::Tensor(*param).set_data(item.value());
        }
    }
    next.model->eval();
    if (manifest) {
        if (fingerprint.empty())
            fingerprint = backboneFingerprint(base.dir);
        loadAdapter(next.model, adapter, fingerprint);
        next.config.labels = manifest->labels;
        next.config.problemType = "single_label_classification";
        next.head = manifest->head;
    }
    next.model->to(device, computeType);
    next.model->eval();
    if (options.precision == Precision::Int8) // from the final weights, adapter included
        quantizeLinearsInt8(*next.model);

    // Nothing above changed this object: commit.
    loaded = std::move(next);
    adapterFrontEnd.reset();
    summary.adapter.clear();
    summary.method.clear();
    if (manifest) {
        adapterFrontEnd = manifest->frontEnd;
        summary.adapter = adapter;
        summary.method = methodName(manifest->peft.method);
    }
    ModelSummary &s = summary;
    s.config = loaded.config;
    s.dir = loaded.dir;
    s.head = loaded.head;
    s.backboneParameters = backboneParameterCount(s.config);
    s.headParameters = headParameterCount(s.config, s.head);
    s.parameters = 0;
    for (const auto &p : loaded.model->parameters())
        s.parameters += p.numel();
    s.storedDType = loaded.sourceDType;
    s.checkpointMaxLength = loaded.checkpointMaxLength;
}

AstClassifier::AstClassifier(const std::filesystem::path &model, const ClassifierOptions &options)
    : d(std::make_unique<Private>())
{
    d->options = options;
    // int8 runs on the CPU: "auto" means the CPU then.
    const std::string device = resolveDevice(
        options.precision == Precision::Int8 && options.device == "auto" ? "cpu" : options.device);
    d->device = torch::Device(device);
    if (options.precision == Precision::BF16)
        d->computeType = torch::kBFloat16;
    else if (options.precision == Precision::F16)
        d->computeType = torch::kFloat16;
    if (d->computeType == torch::kFloat16 && d->device.is_cpu())
        throw Error(
            ErrorKind::Usage, "fp16 inference needs a CUDA device; use fp32 or bf16 on CPU");
    if (options.precision == Precision::Int8 && !d->device.is_cpu())
        throw Error(ErrorKind::Usage, "int8 inference runs on the CPU; use --device cpu");
    d->summary.device = device;
    // The adapter's manifest is read first, so that a bad adapter folder fails before the
    // backbone is read.
    if (!options.adapter.empty())
        loadAdapterManifest(options.adapter);
    d->base = loadAstCheckpoint(resolveModelDir(model));
    for (auto &p : d->base.model->parameters())
        p.set_requires_grad(false);
    d->build(options.adapter);
}

void AstClassifier::setAdapter(const std::filesystem::path &adapterOrRun)
{
    d->build(adapterOrRun);
}

AstClassifier::~AstClassifier() = default;
AstClassifier::AstClassifier(AstClassifier &&) noexcept = default;
AstClassifier &AstClassifier::operator=(AstClassifier &&) noexcept = default;

const ModelSummary &AstClassifier::summary() const
{
    return d->summary;
}

FrontEnd AstClassifier::frontEnd() const
{
    if (d->adapterFrontEnd)
        return *d->adapterFrontEnd;
    return frontEndOf(d->summary.config);
}

FrontEnd frontEndOf(const AstConfig &c)
{
    FrontEnd f;
    f.fbank.sampleRate = c.samplingRate;
    f.fbank.numMelBins = c.numMelBins;
    f.maxLength = c.maxLength;
    f.normalize = c.doNormalize;
    f.mean = c.featureMean;
    f.std = c.featureStd;
    return f;
}

std::vector<std::vector<float>> AstClassifier::logits(const std::vector<FeatureMatrix> &batch) const
{
    const AstConfig &c = d->summary.config;
    if (batch.empty())
        return {};
    torch::Tensor input = torch::empty({ std::int64_t(batch.size()), c.maxLength, c.numMelBins });
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const FeatureMatrix &f = batch[i];
        if (f.frames != c.maxLength || f.bins != c.numMelBins)
            throw Error(ErrorKind::Usage,
                "features are [" + std::to_string(f.frames) + " x " + std::to_string(f.bins)
                    + "], the model needs [" + std::to_string(c.maxLength) + " x "
                    + std::to_string(c.numMelBins) + "]");
        std::copy(f.data.begin(), f.data.end(), input[std::int64_t(i)].data_ptr<float>());
    }
    torch::InferenceMode guard;
    std::optional<SingleThreadedBlas> blas; // int8: keep OpenBLAS's pool off oneDNN's cores
    if (d->options.precision == Precision::Int8)
        blas.emplace();
    const torch::Tensor out = d->loaded.model->forward(input.to(d->device, d->computeType))
                                  .to(torch::kCPU, torch::kFloat32)
                                  .contiguous();
    std::vector<std::vector<float>> result(batch.size());
    const std::int64_t width = out.size(1);
    for (std::size_t i = 0; i < batch.size(); ++i)
        result[i].assign(out.data_ptr<float>() + std::int64_t(i) * width,
            out.data_ptr<float>() + std::int64_t(i + 1) * width);
    return result;
}

std::vector<float> AstClassifier::scores(const std::vector<float> &logits) const
{
    std::vector<float> s(logits.size());
    if (d->summary.config.multiLabel()) {
        std::transform(logits.begin(), logits.end(), s.begin(),
            [](float x) { return float(1.0 / (1.0 + std::exp(-double(x)))); });
        return s;
    }
    if (logits.empty())
        return s;
    const float peak = *std::max_element(logits.begin(), logits.end());
    double total = 0.0;
    for (std::size_t i = 0; i < logits.size(); ++i)
        total += std::exp(double(logits[i] - peak));
    for (std::size_t i = 0; i < logits.size(); ++i)
        s[i] = float(std::exp(double(logits[i] - peak)) / total);
    return s;
}

std::vector<LabelScore> AstClassifier::top(const std::vector<float> &scores, int k) const
{
    std::vector<int> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    const std::size_t n = std::min<std::size_t>(std::size_t(std::max(k, 0)), order.size());
    std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(n), order.end(),
        [&](int a, int b) { return scores[std::size_t(a)] > scores[std::size_t(b)]; });
    const auto &labels = d->summary.config.labels;
    std::vector<LabelScore> out;
    for (std::size_t i = 0; i < n; ++i) {
        const int idx = order[i];
        out.push_back({ idx,
            std::size_t(idx) < labels.size() ? labels[std::size_t(idx)] : std::to_string(idx),
            scores[std::size_t(idx)] });
    }
    return out;
}

void AstClassifier::save(const std::filesystem::path &dir) const
{
    saveAstCheckpoint(d->loaded.model, d->summary.config, dir);
}

AstConfig presetConfig(const std::string &preset)
{
    AstConfig c;
    if (preset == "tiny") {
        c.hiddenSize = 64;
        c.numHiddenLayers = 2;
        c.numAttentionHeads = 2;
        c.intermediateSize = 128;
    } else if (preset == "small") {
        c.hiddenSize = 192;
        c.numHiddenLayers = 6;
        c.numAttentionHeads = 3;
        c.intermediateSize = 768;
    } else if (preset != "base") {
        throw Error(ErrorKind::Usage, "unknown preset '" + preset + "' (tiny, small or base)");
    }
    c.architectures = { "ASTForAudioClassification" };
    return c;
}

void writeRandomModel(const std::filesystem::path &dir, const RandomModelOptions &options)
{
    AstConfig c = presetConfig(options.preset);
    const auto override = [](int &field, int value) {
        if (value > 0)
            field = value;
    };
    override(c.hiddenSize, options.hiddenSize);
    override(c.numHiddenLayers, options.numHiddenLayers);
    override(c.numAttentionHeads, options.numAttentionHeads);
    override(c.intermediateSize, options.intermediateSize);
    if (c.hiddenSize % c.numAttentionHeads != 0) {
        throw Error(ErrorKind::Usage,
            "the hidden size (" + std::to_string(c.hiddenSize)
                + ") must be a multiple of the number of attention heads ("
                + std::to_string(c.numAttentionHeads) + ")");
    }
    if (options.maxLength > 0)
        c.maxLength = options.maxLength;
    c.frequencyStride = options.frequencyStride;
    c.timeStride = options.timeStride;
    requireInputLength(c, c.maxLength);
    c.labels = options.labels;
    if (c.labels.empty())
        c.architectures = { "ASTModel" };
    if (!c.labels.empty())
        c.problemType = "single_label_classification";
    AstForAudioClassification model(c, options.head);
    randomInitialize(*model, c.initializerRange, options.seed);
    saveAstCheckpoint(model, c, dir);
}

} // namespace astpeft::core
