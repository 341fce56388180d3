// SPDX-License-Identifier: MIT
// An AST checkpoint loaded for inference, behind a torch-free interface (pimpl) that ui/ and
// app/ can include. Thread-safety: const member functions may be called from one thread at a
// time per object (torch modules are not re-entrant for training, but eval forward is).
#pragma once

#include "features/fbank.h"
#include "model/ast_config.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace astpeft::core {

// Int8: inference only, CPU only: the Linear layers of the encoder run as dynamically quantised
// int8 products (weights per output channel, activations per call; oneDNN or FBGEMM), about
// 1.5x as fast as fp32 on CPUs without fast bf16 (bench/README.md); the patch embedding, attention
// products, LayerNorms, PEFT branches and the head stay fp32. Scores move slightly (tests bound
// it).
enum class Precision { F32, BF16, F16, Int8 };
Precision parsePrecision(const std::string &name); // "fp32", "bf16", "fp16", "int8"
std::string precisionName(Precision precision); // the names parsePrecision reads first

struct ClassifierOptions
{
    int maxLength = 0; // frames; 0 keeps the checkpoint's
    PositionMode positions = PositionMode::Adapt;
    std::string device = "auto"; // "auto", "cpu", "cuda", "cuda:N"
    Precision precision = Precision::F32;
    // An adapter folder (or a training run folder) to load onto the backbone: its labels, head
    // and preprocessing replace the checkpoint's (maxLength and positions are the adapter's).
    std::filesystem::path adapter {};
};

struct ModelSummary
{
    AstConfig config; // as loaded (max_length possibly overridden)
    std::filesystem::path dir;
    std::int64_t parameters = 0; // all
    std::int64_t backboneParameters = 0; // ASTModel
    std::int64_t headParameters = 0;
    HeadKind head = HeadKind::Hf;
    std::string storedDType; // of model.safetensors
    int checkpointMaxLength = 0;
    std::string device; // resolved
    std::filesystem::path adapter; // loaded adapter folder, if any
    std::string method; // its PEFT method
};

struct LabelScore
{
    int index = 0;
    std::string label;
    float score = 0.0f;
};

class AstClassifier
{
public:
    explicit AstClassifier(
        const std::filesystem::path &model, const ClassifierOptions &options = {});
    ~AstClassifier();
    AstClassifier(AstClassifier &&) noexcept;
    AstClassifier &operator=(AstClassifier &&) noexcept;

    // Replaces the adapter without reading the backbone again: `adapterOrRun` is an adapter
    // folder or a training run folder (as ClassifierOptions::adapter), or empty for the bare
    // backbone with the constructor's maxLength and positions. The backbone's weights stay in
    // memory from the constructor (float32 on the CPU; the model's tensors the adapter does not
    // store share them), so a switch reads only the adapter. Scores afterwards are exactly those
    // of AstClassifier(model, { .adapter = adapterOrRun, ... }) with the same device and
    // precision. Labels, head, frontEnd() and summary() change with it: a StreamingClassifier
    // built on this model must be rebuilt. Throws as the constructor does (core::Error naming
    // the folder; another backbone's adapter is ErrorKind::Model) and is then a no-op. Not
    // thread-safe: no other call on this object may run meanwhile.
    void setAdapter(const std::filesystem::path &adapterOrRun);

    const ModelSummary &summary() const;
    // Exactly the preprocessing this model expects (rate, mel bins, max_length, statistics).
    FrontEnd frontEnd() const;

    // features: each [maxLength x numMelBins], normalised. Returns logits per input.
    std::vector<std::vector<float>> logits(const std::vector<FeatureMatrix> &batch) const;
    // Sigmoid for multi-label checkpoints, softmax otherwise.
    std::vector<float> scores(const std::vector<float> &logits) const;
    // The k best labels by score, best first.
    std::vector<LabelScore> top(const std::vector<float> &scores, int k) const;

    void save(const std::filesystem::path &dir) const;

private:
    struct Private;
    std::unique_ptr<Private> d;
};

// The preprocessing a checkpoint with `config` expects: its rate, mel bins, max_length and
// normalisation statistics.
FrontEnd frontEndOf(const AstConfig &config);

// Architecture presets for init-model: "tiny" (64 hidden, 2 layers), "small" (192, 6),
// "base" (768, 12: AST-base). Throws core::Error(Usage) naming the presets otherwise.
AstConfig presetConfig(const std::string &preset);

struct RandomModelOptions
{
    std::string preset = "tiny";
    // 0 keeps the preset's; hiddenSize must be a multiple of numAttentionHeads
    int hiddenSize = 0, numHiddenLayers = 0, numAttentionHeads = 0, intermediateSize = 0;
    int maxLength = 0; // 0 keeps the preset's (1024)
    int frequencyStride = 10, timeStride = 10; // patch strides in mel bins and in frames
    std::vector<std::string> labels; // empty: a bare backbone without head
    std::uint64_t seed = 0;
    HeadKind head = HeadKind::Hf;
};
// Writes a randomly initialised checkpoint in the HF layout (see randomInitialize()).
void writeRandomModel(const std::filesystem::path &dir, const RandomModelOptions &options);

} // namespace astpeft::core
