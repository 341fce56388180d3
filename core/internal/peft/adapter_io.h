// SPDX-License-Identifier: MIT
// Adapter folders (adapter_config.json + adapter_model.safetensors) written from and read into
// an AST model, merging an adapter into a plain HF-layout checkpoint, and several adapters
// served from one backbone. Core-internal: includes torch.
//
// adapter_model.safetensors holds, under the model's own parameter/buffer names
// ("audio_spectrogram_transformer.*", "classifier.*"):
//   - every parameter with requires_grad (the method's modules and the backbone tensors it
//     trains: BitFit biases, LayerNorms, everything for full fine-tuning),
//   - the head, always (even when frozen),
//   - every buffer: the only buffers are the conformer adapters' BatchNorm running_mean and
//     running_var (F32) and num_batches_tracked (I64).
// Floating tensors are stored as F32 whatever the model's dtype. The metadata records
// "astpeft.method" so that a manifest naming another method is refused clearly.
#pragma once

#include "model/ast.h"
#include "model/checkpoint.h"
#include "peft/adapter_manifest.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace astpeft::core {

// What an adapter file stores (above), as handles to the model's own tensors (not copies):
// trainable parameters, the head and every buffer, in registration order.
std::vector<std::pair<std::string, torch::Tensor>> adapterTensors(
    const AstForAudioClassification &model);

// Writes dir/adapter_model.safetensors, then dir/adapter_config.json (each atomically; the
// manifest last, so a folder with a manifest always has the matching weights). The folder is
// created when missing. `model` carries the PEFT modules of manifest.peft (applyPeft) and the
// requires_grad flags it set.
void saveAdapter(AstForAudioClassification &model, const AdapterManifest &manifest,
    const std::filesystem::path &dir);

// Loads the adapter folder `dir` onto `model`, a backbone without PEFT modules whose
// backboneFingerprint() is `backboneFingerprint`: refuses a different backbone
// (ErrorKind::Model naming both fingerprints and the folder), attaches the modules
// (applyPeft(model, manifest.peft, manifest.labels, 0)) and loads every adapter tensor strictly
// (ErrorKind::Model listing missing, unexpected and mis-shaped tensors). Returns the manifest.
// The model keeps its train/eval mode; eval-mode outputs are bit-identical to the saved
// model's.
AdapterManifest loadAdapter(AstForAudioClassification &model, const std::filesystem::path &dir,
    const std::string &backboneFingerprint);

// Adds scaling * up * down into the Linear each LoRA branch sits on (query/key/value, and the
// attention output's dense for 'o') and removes the branches (they leave named_parameters()).
// A model without LoRA is left unchanged.
void mergeLora(AstForAudioClassification &model);

// Folds `method`'s changes into the backbone tensors: LoRA is merged (mergeLora); full, linear
// and BitFit only change existing tensors and need nothing. Adapters, prompts and prefixes add
// computation that a plain AST cannot express: ErrorKind::Usage "cannot be merged", before the
// model is touched.
void mergePeft(AstForAudioClassification &model, PeftMethod method);

// mergePeft(model, manifest.peft.method), then saveAstCheckpoint() into `dir`: an HF-layout
// folder whose config.json has manifest.labels and manifest.frontEnd's normalisation, with the
// paper's head as classifier.dense.* (loadAstCheckpoint() detects HeadKind::MeanTokens).
// Modifies `model` (the merge). `dtype` (F32, F16 or BF16) is how the weights are stored.
void saveMergedCheckpoint(AstForAudioClassification &model, const AdapterManifest &manifest,
    const std::filesystem::path &dir, DType dtype = DType::F32);

// One backbone, loaded once, and N adapters on it. Each adapter gets its own model whose
// backbone parameters that the adapter does not store SHARE the backbone's tensors (same
// storage; set_data), so memory is one backbone plus the adapters' own tensors (plus, for
// inference, each model's fused QKV weight, built on first use). Not thread-safe; the backbone
// tensors must not be modified while the set lives.
class AdapterSet
{
public:
    explicit AdapterSet(
        const std::filesystem::path &backbone, const CheckpointLoadOptions &options = {});

    // Loads the adapter folder `dir` under `name` (replacing one of that name). Same refusals as
    // loadAdapter(). The adapter's model is in eval mode.
    void add(const std::string &name, const std::filesystem::path &dir);
    std::vector<std::string> names() const;
    const AdapterManifest &manifest(const std::string &name) const;

    // features [B, maxLength, melBins] -> logits [B, labels of `name`], eval mode, no autograd.
    // ErrorKind::Usage for an unknown name.
    torch::Tensor logits(const std::string &name, const torch::Tensor &features);

    const LoadedAst &backbone() const { return m_backbone; }
    const std::string &fingerprint() const { return m_fingerprint; }
    AstForAudioClassification model(const std::string &name) const;

private:
    struct Entry
    {
        AdapterManifest manifest;
        AstForAudioClassification model { nullptr };
    };
    const Entry &entry(const std::string &name) const;

    LoadedAst m_backbone;
    std::string m_fingerprint;
    std::map<std::string, Entry> m_adapters;
};

} // namespace astpeft::core
