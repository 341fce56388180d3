// SPDX-License-Identifier: MIT
#include "peft/adapter_io.h"

#include "error.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "peft/peft_modules.h"

#include <algorithm>

namespace astpeft::core {

namespace {

constexpr const char *kMethodMetadata = "astpeft.method";

void checkFingerprint(const AdapterManifest &manifest, const std::filesystem::path &dir,
    const std::string &backboneFingerprint)
{
    if (manifest.backboneFingerprint != backboneFingerprint)
        throw Error(ErrorKind::Model,
            "the adapter was trained on backbone " + manifest.backboneFingerprint
                + " but the given backbone's fingerprint is " + backboneFingerprint
                + "; load it onto the backbone it was trained on",
            dir);
}

// A CPU copy of a stored tensor: floating dtypes as float32 (loadTensor), I64 as int64.
torch::Tensor readTensor(const SafetensorsFile &file, const TensorInfo &info)
{
    if (info.dtype != DType::I64)
        return loadTensor(file, info);
    const auto bytes = file.data(info);
    // from_blob does not own the mapping: clone before the file goes away.
    return torch::from_blob(const_cast<std::byte *>(bytes.data()),
        std::vector<std::int64_t>(info.shape.begin(), info.shape.end()),
        torch::TensorOptions().dtype(torch::kInt64))
        .clone();
}

// applyPeft, then strict loading of every adapter tensor from `file`. All checks but the one
// for finite values happen before the first copy; on an error the model carries the PEFT
// modules and must be discarded.
void attachAndLoad(
    AstForAudioClassification &model, const AdapterManifest &manifest, const SafetensorsFile &file)
{
    const auto metadata = file.metadata().find(kMethodMetadata);
    const std::string method = methodName(manifest.peft.method);
    if (metadata != file.metadata().end() && metadata->second != method)
        throw Error(ErrorKind::Model,
            "the tensors were saved for method " + metadata->second + " but "
                + std::string(kAdapterConfigFile) + " says " + method,
            file.path());

    checkAdapterFits(manifest, model->audio_spectrogram_transformer->config,
        file.path().parent_path() / kAdapterConfigFile);
    applyPeft(model, manifest.peft, manifest.labels, 0);

    const auto expected = adapterTensors(model);
    std::vector<std::string> missing, misshaped, unexpected;
    std::vector<std::pair<torch::Tensor, const TensorInfo *>> plan;
    for (const auto &[name, tensor] : expected) {
        const TensorInfo *info = file.find(name);
        if (!info) {
            missing.push_back(name);
            continue;
        }
        const bool wantInteger = !tensor.is_floating_point();
        const bool isInteger = info->dtype == DType::I64;
        if (info->shape != tensor.sizes().vec() || wantInteger != isInteger)
            misshaped.push_back(name + " (file " + dtypeName(info->dtype) + " "
                + shapeString(info->shape) + ", model " + (wantInteger ? "I64 " : "float ")
                + shapeString(tensor.sizes()) + ")");
        else
            plan.emplace_back(tensor, info);
    }
    for (const TensorInfo &t : file.tensors())
        if (std::none_of(expected.begin(), expected.end(),
                [&](const auto &item) { return item.first == t.name; }))
            unexpected.push_back(t.name);
    throwIfTensorsMismatch("the adapter tensors do not match " + method + " as "
            + kAdapterConfigFile + " configures it",
        missing, unexpected, misshaped, file.path());
    torch::NoGradGuard noGrad;
    for (auto &[tensor, info] : plan) {
        const torch::Tensor value = readTensor(file, *info);
        // A NaN or Inf weight would give NaN scores, never an error.
        if (value.is_floating_point() && !torch::isfinite(value).all().item<bool>())
            throw Error(ErrorKind::Format, "tensor " + info->name + " holds NaN or infinite values",
                file.path());
        tensor.copy_(value); // copy_ converts to the model's dtype and device
    }
}

} // namespace

std::vector<std::pair<std::string, torch::Tensor>> adapterTensors(
    const AstForAudioClassification &model)
{
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto &item : model->named_parameters())
        if (item.value().requires_grad() || item.key().starts_with("classifier."))
            out.emplace_back(item.key(), item.value());
    for (const auto &item : model->named_buffers())
        out.emplace_back(item.key(), item.value());
    return out;
}

void saveAdapter(AstForAudioClassification &model, const AdapterManifest &manifest,
    const std::filesystem::path &dir)
{
    if (!model->classifier)
        throw Error(ErrorKind::Usage, "the model has no head; apply a PEFT method first");
    if (model->classifier->dense->weight.size(0) != std::int64_t(manifest.labels.size()))
        throw Error(ErrorKind::Usage,
            "the manifest has " + std::to_string(manifest.labels.size())
                + " labels but the head has "
                + std::to_string(model->classifier->dense->weight.size(0)) + " outputs");
    createDirectories(dir);

    std::vector<torch::Tensor> keep; // owns the bytes the spans point to
    std::vector<TensorToWrite> tensors;
    for (const auto &[name, tensor] : adapterTensors(model)) {
        DType dtype = DType::F32;
        torch::Tensor t;
        if (tensor.is_floating_point()) {
            t = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
        } else if (tensor.scalar_type() == torch::kInt64) {
            dtype = DType::I64;
            t = tensor.detach().to(torch::kCPU).contiguous();
        } else {
            throw Error(ErrorKind::Internal,
                "tensor " + name + " has a dtype adapters cannot store: "
                    + std::string(c10::toString(tensor.scalar_type())));
        }
        keep.push_back(t);
        tensors.push_back({ name, dtype, t.sizes().vec(),
            std::span<const std::byte>(
                static_cast<const std::byte *>(t.data_ptr()), std::size_t(t.nbytes())) });
    }
    // Weights first, manifest last: a folder with a manifest always has its weights.
    writeSafetensors(dir / kAdapterWeightsFile, tensors,
        { { "format", "pt" }, { kMethodMetadata, methodName(manifest.peft.method) } });
    saveAdapterManifest(manifest, dir);
}

AdapterManifest loadAdapter(AstForAudioClassification &model, const std::filesystem::path &dir,
    const std::string &backboneFingerprint)
{
    AdapterManifest manifest = loadAdapterManifest(dir);
    checkFingerprint(manifest, dir, backboneFingerprint);
    const SafetensorsFile file(dir / kAdapterWeightsFile);
    attachAndLoad(model, manifest, file);
    return manifest;
}

void mergeLora(AstForAudioClassification &model)
{
    torch::NoGradGuard noGrad;
    // Adds the branch's delta into `linear` and unregisters it from `owner` as `name`.
    auto fold = [](torch::nn::Linear &linear, std::shared_ptr<AstBranch> &branch,
                    torch::nn::Module &owner, const std::string &name) {
        if (!branch)
            return;
        const auto lora = std::dynamic_pointer_cast<AstLoraImpl>(branch);
        if (!lora)
            throw Error(ErrorKind::Internal, "branch " + name + " is not a LoRA module");
        // In place: the version counter changes, so the fused inference QKV is rebuilt.
        linear->weight.add_(lora->deltaWeight().to(linear->weight.scalar_type()));
        owner.unregister_module(name);
        branch.reset();
    };
    for (const auto &module : *model->audio_spectrogram_transformer->encoder->layer) {
        AstLayerImpl &l = *module->as<AstLayer>();
        AstSelfAttentionImpl &a = *l.attention->attention;
        fold(a.query, a.lora_q, a, "lora_q");
        fold(a.key, a.lora_k, a, "lora_k");
        fold(a.value, a.lora_v, a, "lora_v");
        fold(l.attention->output->dense, l.attention->output->lora, *l.attention->output, "lora_o");
    }
}

void mergePeft(AstForAudioClassification &model, PeftMethod method)
{
    switch (method) {
    case PeftMethod::Lora:
        mergeLora(model);
        return;
    case PeftMethod::Full:
    case PeftMethod::Linear:
    case PeftMethod::BitFit:
        return; // they only changed existing tensors
    default:
        throw Error(ErrorKind::Usage,
            methodName(method)
                + " cannot be merged into a plain AST checkpoint (it adds modules or tokens); "
                  "keep it as an adapter folder");
    }
}

void saveMergedCheckpoint(AstForAudioClassification &model, const AdapterManifest &manifest,
    const std::filesystem::path &dir, DType dtype)
{
    mergePeft(model, manifest.peft.method);
    AstConfig config = model->audio_spectrogram_transformer->config;
    config.labels = manifest.labels;
    config.architectures = { "ASTForAudioClassification" };
    config.samplingRate = manifest.frontEnd.fbank.sampleRate;
    config.featureMean = manifest.frontEnd.mean;
    config.featureStd = manifest.frontEnd.std;
    config.doNormalize = manifest.frontEnd.normalize;
    saveAstCheckpoint(model, config, dir, dtype);
}

AdapterSet::AdapterSet(const std::filesystem::path &backbone, const CheckpointLoadOptions &options)
    : m_backbone(loadAstCheckpoint(backbone, options))
    , m_fingerprint(backboneFingerprint(m_backbone.dir))
{
    for (auto &p : m_backbone.model->parameters())
        p.set_requires_grad(false);
}

void AdapterSet::add(const std::string &name, const std::filesystem::path &dir)
{
    const AdapterManifest manifest = loadAdapterManifest(dir);
    checkFingerprint(manifest, dir, m_fingerprint);
    const SafetensorsFile file(dir / kAdapterWeightsFile);

    // A fresh model whose backbone tensors the adapter does not store become the backbone's own
    // (set_data: same storage; the fresh allocation is freed). Tensors the adapter stores
    // (BitFit biases, LayerNorms, ...) keep their own storage and are overwritten on load, so
    // the shared backbone is never written.
    AstForAudioClassification model(m_backbone.config, m_backbone.head);
    const auto own = model->named_parameters();
    for (const auto &item : m_backbone.model->named_parameters()) {
        if (item.key().starts_with("classifier.") || file.find(item.key()))
            continue;
        if (const torch::Tensor *param = own.find(item.key()))
            torch::Tensor(*param).set_data(item.value());
    }
    model->eval();
    attachAndLoad(model, manifest, file);
    m_adapters[name] = Entry { manifest, model };
}

std::vector<std::string> AdapterSet::names() const
{
    std::vector<std::string> out;
    for (const auto &[name, entry] : m_adapters)
        out.push_back(name);
    return out;
}

const AdapterSet::Entry &AdapterSet::entry(const std::string &name) const
{
    const auto it = m_adapters.find(name);
    if (it == m_adapters.end()) {
        std::string known;
        for (const auto &[n, e] : m_adapters)
            known += (known.empty() ? "" : ", ") + n;
        throw Error(ErrorKind::Usage,
            "no adapter named '" + name + "' (loaded: " + (known.empty() ? "none" : known) + ")");
    }
    return it->second;
}

const AdapterManifest &AdapterSet::manifest(const std::string &name) const
{
    return entry(name).manifest;
}

AstForAudioClassification AdapterSet::model(const std::string &name) const
{
    return entry(name).model;
}

torch::Tensor AdapterSet::logits(const std::string &name, const torch::Tensor &features)
{
    AstForAudioClassification model = entry(name).model;
    torch::NoGradGuard noGrad;
    return model->forward(features);
}

} // namespace astpeft::core
