// SPDX-License-Identifier: MIT
// Loading and saving AST checkpoints in the Hugging Face folder layout (config.json,
// preprocessor_config.json, model.safetensors) with HF's exact key names. Core-internal.
#pragma once

#include "io/safetensors.h"
#include "model/ast.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace astpeft::core {

struct CheckpointLoadOptions
{
    int maxLength = 0; // frames; 0 keeps the checkpoint's max_length
    PositionMode positions = PositionMode::Adapt;
};

struct LoadedAst
{
    AstConfig config; // as built (max_length possibly overridden)
    AstForAudioClassification model { nullptr };
    HeadKind head = HeadKind::Hf;
    std::string sourceDType; // "F32", "F16", "BF16" (the dtype of most tensors)
    int checkpointMaxLength = 0;
    std::filesystem::path dir;
};

// Resolves a model path: a folder with model.safetensors, or the .safetensors file itself.
// Pickle checkpoints (.bin, .pt, .pth, .ckpt) are refused with a pointer to the converter.
std::filesystem::path resolveModelDir(const std::filesystem::path &path);

// Strict: every model tensor must be present with its shape (position embeddings excepted when
// max_length differs: they are adapted as options.positions says) and no file tensor may be
// left over. The error lists missing, unexpected and mis-shaped tensors.
LoadedAst loadAstCheckpoint(
    const std::filesystem::path &path, const CheckpointLoadOptions &options = {});

// Writes the folder (created if needed); each file is replaced atomically. Tensors are written
// as float32 (or `dtype` F16/BF16).
void saveAstCheckpoint(AstForAudioClassification &model, const AstConfig &config,
    const std::filesystem::path &dir, DType dtype = DType::F32);

// "[768,1,16,16]"
std::string shapeString(c10::IntArrayRef shape);

// Throws core::Error(Model) for `file` when any list is non-empty: "<context>: N missing
// tensors: a, b; N unexpected tensors: ...; N mis-shaped tensors: ..." (12 names per list at most).
void throwIfTensorsMismatch(const std::string &context, const std::vector<std::string> &missing,
    const std::vector<std::string> &unexpected, const std::vector<std::string> &misshaped,
    const std::filesystem::path &file);

// A float32 CPU copy of a stored tensor (F32, F16, BF16, F64 accepted).
torch::Tensor loadTensor(const SafetensorsFile &file, const TensorInfo &info);

// Deterministic random initialisation from our own PRNG (splitmix64 + Box-Muller), so the same
// seed gives the same weights with any libtorch version: weights ~ N(0, initializer_range)
// truncated at 2 sigma (HF's init), and, unlike HF's init, biases ~ N(0, 0.02), LayerNorm gains
// ~ 1 + N(0, 0.1) and special tokens / position embeddings ~ N(0, 0.02), so that parity tests
// exercise every tensor.
void randomInitialize(torch::nn::Module &model, double std, std::uint64_t seed);

} // namespace astpeft::core
