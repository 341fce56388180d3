// SPDX-License-Identifier: MIT
// adapter_config.json: what an adapter folder needs besides its tensors to reproduce exactly
// the classifier it was trained as: the method and every knob, the labels, the preprocessing,
// and the fingerprint of the backbone it sits on. Torch-free.
#pragma once

#include "features/fbank.h"
#include "model/ast_config.h"
#include "peft/peft_config.h"

#include <filesystem>
#include <string>
#include <vector>

namespace astpeft::core {

inline constexpr const char *kAdapterConfigFile = "adapter_config.json";
inline constexpr const char *kAdapterWeightsFile = "adapter_model.safetensors";
inline constexpr int kAdapterFormatVersion = 1;

struct AdapterManifest
{
    PeftConfig peft;
    std::vector<std::string> labels; // in head order
    HeadKind head = HeadKind::MeanTokens;
    PositionMode positions = PositionMode::Adapt;
    FrontEnd frontEnd; // sample rate, mel bins, max_length, normalisation statistics
    // The backbone: its fingerprint (backboneFingerprint()) and shape, for clear refusals.
    std::string backboneFingerprint;
    int hiddenSize = 0;
    int numHiddenLayers = 0;
};

// Writes dir/adapter_config.json atomically (the folder is created when missing).
void saveAdapterManifest(const AdapterManifest &manifest, const std::filesystem::path &dir);
// Reads and validates it: every size within the bounds of ast_config.h and peft_config.h,
// before anything is sized from it. core::Error names the file and the field.
AdapterManifest loadAdapterManifest(const std::filesystem::path &dir);
// The same, also checked against the backbone it is to sit on (checkAdapterFits()).
AdapterManifest loadAdapterManifest(const std::filesystem::path &dir, const AstConfig &backbone);
// core::Error(Model) naming `file` and the field unless the manifest fits `backbone`: the same
// hidden size, layers, mel bins and sampling rate, an input length and size knobs it can take.
void checkAdapterFits(
    const AdapterManifest &manifest, const AstConfig &backbone, const std::filesystem::path &file);
std::string adapterManifestJson(const AdapterManifest &manifest);
AdapterManifest parseAdapterManifest(
    const std::string &json, const std::filesystem::path &file = {});

// A fingerprint of a backbone folder: a 64-bit FNV-1a hash over config.json's architecture
// fields, the safetensors tensor names, dtypes and shapes, and three 4 KB samples (start,
// middle, end) of every backbone tensor's bytes. Reads a few MB, not the whole file; differs for
// a different checkpoint or an edited one. Head tensors (classifier.*) are left out, so a
// backbone keeps its fingerprint whatever head it was saved with.
std::string backboneFingerprint(const std::filesystem::path &modelDir);

} // namespace astpeft::core
