// SPDX-License-Identifier: MIT
// The Hugging Face AST configuration (config.json) and feature-extractor settings
// (preprocessor_config.json). Torch-free.
#pragma once

#include "enum_names.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace astpeft::core {

// How the classification head pools the encoder output.
enum class HeadKind {
    Hf, // HF ASTForAudioClassification: mean of cls and distillation tokens, LayerNorm, Linear
    MeanTokens, // the paper's head: mean over all tokens, Linear (no LayerNorm)
};

// Position embeddings when the checkpoint's max_length differs from the model's.
enum class PositionMode {
    Adapt, // original AST: crop the F' x T' grid around its centre, bilinear for a larger grid
    Zero, // the paper's official code: left at zero (replicates its runs; never the default)
};

// Bounds on the sizes a file or a flag may give. No real AST checkpoint comes near them; they
// keep every tensor sized from a file or a flag (and the int arithmetic on the way) bounded.
inline constexpr int kMaxHiddenSize = 16384;
inline constexpr int kMaxIntermediateSize = 262144;
inline constexpr int kMaxLayers = 256;
inline constexpr int kMaxInputFrames = 100000; // frames (1000 s)
inline constexpr int kMaxMelBins = 4096;
inline constexpr int kMaxLabels = 100000;
// Tokens through the encoder (patches, cls and distillation tokens, prompts, prefixes):
// attention holds heads x tokens^2 scores per layer, 0.8 GB for AST-base at this bound (AST-base
// at its 1024 frames has 1214).
inline constexpr int kMaxTokens = 4096;

// An inclusive range of an integer setting (a flag, a field of a file, a studio field).
struct IntRange
{
    int min = 0;
    int max = 0;
    bool contains(long long v) const { return v >= min && v <= max; }
};

struct AstConfig
{
    int hiddenSize = 768;
    int numHiddenLayers = 12;
    int numAttentionHeads = 12;
    int intermediateSize = 3072;
    std::string hiddenAct = "gelu"; // only exact (erf) "gelu" is supported
    double hiddenDropoutProb = 0.0;
    double attentionProbsDropoutProb = 0.0;
    double layerNormEps = 1e-12;
    double initializerRange = 0.02;
    int patchSize = 16;
    bool qkvBias = true;
    int frequencyStride = 10;
    int timeStride = 10;
    int maxLength = 1024; // input frames (10 ms each)
    int numMelBins = 128;
    std::vector<std::string> labels; // id2label in id order; may be empty for a bare backbone
    std::string problemType; // "single_label_classification", "multi_label_classification" or ""
    std::vector<std::string> architectures;
    std::string torchDtype = "float32"; // config.json's record of the stored weights' dtype

    // Feature extraction (preprocessor_config.json; AudioSet statistics by default).
    int samplingRate = 16000; // Hz
    float featureMean = -4.2677393f;
    float featureStd = 4.5689974f;
    bool doNormalize = true;

    int frequencyPatches() const { return (numMelBins - patchSize) / frequencyStride + 1; }
    int timePatches() const { return (maxLength - patchSize) / timeStride + 1; }
    int numTokens() const { return 2 + frequencyPatches() * timePatches(); }
    bool multiLabel() const;
};

template<> struct EnumTable<HeadKind>
{
    static constexpr const char *what = "head";
    static constexpr std::pair<HeadKind, const char *> items[] = { { HeadKind::Hf, "hf" },
        { HeadKind::MeanTokens, "mean-tokens" } };
};
template<> struct EnumTable<PositionMode>
{
    static constexpr const char *what = "positions";
    static constexpr std::pair<PositionMode, const char *> items[] = {
        { PositionMode::Adapt, "adapt" }, { PositionMode::Zero, "zero" }
    };
};

// Why a model of `config`'s backbone cannot take `maxLength` input frames (shorter than one
// patch, or more than kMaxTokens tokens); empty when it can.
std::string inputLengthProblem(const AstConfig &config, int maxLength);
// Throws core::Error(Usage) "max_length: <the problem>" when there is one.
void requireInputLength(const AstConfig &config, int maxLength);

// Parameter counts of a model built from `config` (no tensors allocated; defined in ast.cpp).
std::int64_t backboneParameterCount(const AstConfig &config);
std::int64_t headParameterCount(const AstConfig &config, HeadKind head);

// Reads `dir/config.json` and, when present, `dir/preprocessor_config.json`.
// Throws core::Error naming the file and the offending field.
AstConfig loadAstConfig(const std::filesystem::path &dir);
// Parses config.json text alone (feature settings stay at their defaults). `file` names errors.
AstConfig parseAstConfig(const std::string &json, const std::filesystem::path &file = {});
// Writes config.json and preprocessor_config.json into `dir` atomically, in HF spelling.
void saveAstConfig(const AstConfig &config, const std::filesystem::path &dir);
std::string astConfigJson(const AstConfig &config);
std::string preprocessorConfigJson(const AstConfig &config);

} // namespace astpeft::core
