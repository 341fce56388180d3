// SPDX-License-Identifier: MIT
// Parameter-efficient fine-tuning methods of Cappellazzo et al. (MLSP 2024) as configuration:
// names, knobs, defaults, exact trainable-parameter accounting and the budget solver.
// Torch-free (ui/ and app/ include it); the modules themselves are in peft/peft_modules.h.
#pragma once

#include "model/ast_config.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace astpeft::core {

enum class PeftMethod { Full, Linear, BitFit, PromptShallow, PromptDeep, Prefix, Lora, Adapter };
enum class AdapterBlock { Bottleneck, Conformer };
enum class AdapterPlacement { Pfeiffer, Houlsby }; // FFN only; MHSA and FFN
enum class AdapterMode { Parallel, Sequential };
enum class Activation { Gelu, Relu };
enum class PeftInit {
    // LoRA and adapters start with a zero last projection: the adapted model equals the frozen
    // backbone before the first step for LoRA and for adapters in parallel without residual
    // (the paper's setting) or sequential with residual. Parallel with residual adds the
    // adapter's input and sequential without residual drops the sub-layer output, so those
    // two modes change the output at init by construction.
    Identity,
    Paper, // N(0, 0.02) weights, zero biases: what the official runs ended up with
};

template<> struct EnumTable<AdapterBlock>
{
    static constexpr const char *what = "adapter block";
    static constexpr std::pair<AdapterBlock, const char *> items[] = {
        { AdapterBlock::Bottleneck, "bottleneck" }, { AdapterBlock::Conformer, "conformer" }
    };
};
template<> struct EnumTable<AdapterPlacement>
{
    static constexpr const char *what = "adapter placement";
    static constexpr std::pair<AdapterPlacement, const char *> items[] = {
        { AdapterPlacement::Pfeiffer, "pfeiffer" }, { AdapterPlacement::Houlsby, "houlsby" }
    };
};
template<> struct EnumTable<AdapterMode>
{
    static constexpr const char *what = "adapter mode";
    static constexpr std::pair<AdapterMode, const char *> items[] = {
        { AdapterMode::Parallel, "parallel" }, { AdapterMode::Sequential, "sequential" }
    };
};
template<> struct EnumTable<Activation>
{
    static constexpr const char *what = "activation";
    static constexpr std::pair<Activation, const char *> items[] = { { Activation::Gelu, "gelu" },
        { Activation::Relu, "relu" } };
};

struct LoraKnobs
{
    int rank = 6;
    double alpha = 16.0;
    std::vector<char> targets = { 'q', 'v' }; // any of q, k, v, o
    bool paperScaling = false; // scaling alpha / RR (RR = hidden / rank) instead of alpha / rank
};

struct AdapterKnobs
{
    AdapterBlock block = AdapterBlock::Conformer;
    AdapterPlacement placement = AdapterPlacement::Pfeiffer;
    AdapterMode mode = AdapterMode::Parallel;
    bool residual = false;
    int bottleneck = 8; // r: the bottleneck width (conformer: GLU output channels)
    int kernel = 31; // conformer depthwise kernel
    Activation activation = Activation::Gelu; // bottleneck block only
    bool officialLayerNormBug =
        false; // conformer: discard its LayerNorm output as the official code does
};

template<> struct EnumTable<PeftInit>
{
    static constexpr const char *what = "init";
    static constexpr std::pair<PeftInit, const char *> items[] = {
        { PeftInit::Identity, "identity" }, { PeftInit::Paper, "paper" }
    };
};

// What a size knob may be on any backbone (flags, adapter_config.json, the studio's fields);
// knobProblem() checks it against the backbone's own sizes.
inline constexpr IntRange kRankRange { 1, kMaxHiddenSize };
inline constexpr IntRange kBottleneckRange { 1, kMaxHiddenSize };
inline constexpr IntRange kKernelRange { 1, 255 };
inline constexpr IntRange kPromptsRange { 1, kMaxTokens };
inline constexpr IntRange kPrefixTokensRange { 2, kMaxTokens };

struct PeftConfig
{
    PeftMethod method = PeftMethod::Adapter;
    LoraKnobs lora;
    AdapterKnobs adapter;
    int prompts = 25; // prompt-shallow / prompt-deep: prompt tokens (per layer for deep)
    int prefixTokens = 24; // prefix: key plus value tokens per layer (even)
    PeftInit init = PeftInit::Identity;
};

// A size knob of `peft`'s method that `backbone` cannot take: LoRA rank or adapter bottleneck
// above the hidden size, prompts or prefix tokens that make more than kMaxTokens tokens at
// `maxLength` frames. `flag` and `field` name the knob on the command line and in JSON.
struct KnobProblem
{
    std::string flag, field, reason; // reason: e.g. "is 1000; at most 768 (the hidden size)"
};
std::optional<KnobProblem> knobProblem(
    const PeftConfig &peft, const AstConfig &backbone, int maxLength);

// The CLI's and GUI's names: full, linear, bitfit, prompt-shallow, prompt-deep, prefix, lora,
// adapter. parse* throw core::Error(Usage) listing the valid names.
std::string methodName(PeftMethod method);
PeftMethod parseMethod(const std::string &name);
std::vector<PeftMethod> allMethods();
std::string methodSummary(PeftMethod method); // one line for pickers and `astpeft methods`

// The paper's setting per method (Table 1): LoRA q,v r=6; adapters r=12 bottleneck / r=8
// conformer k=31 Pfeiffer parallel; prompt-shallow 300; prompt-deep 25; prefix 24.
PeftConfig paperSetting(PeftMethod method, AdapterBlock block = AdapterBlock::Conformer);
// The paper's learning rate per method (AdamW): adapters, LoRA, BitFit 5e-3; prompt and prefix
// 1e-2; full 5e-5; linear 1e-3.
double paperLearningRate(PeftMethod method);

// Trainable parameters by part. The paper counts without the head and, except for BitFit and
// linear probing, without the final LayerNorm: paperCount().
struct ParameterBreakdown
{
    std::int64_t methodModules = 0; // adapters, LoRA matrices, prompts, prefixes
    std::int64_t layerNorms = 0; // unfrozen per-layer LayerNorms (weight + bias)
    std::int64_t finalLayerNorm = 0; // the backbone's last LayerNorm, when trainable
    std::int64_t biases = 0; // BitFit: Linear and LayerNorm biases (final LN bias included)
    std::int64_t backboneWeights = 0; // full fine-tuning: everything else of the backbone
    std::int64_t head = 0;
    std::int64_t backbone = 0; // all parameters of the frozen backbone (ASTModel)

    std::int64_t total() const;
    std::int64_t withoutHead() const { return total() - head; }
    std::int64_t paperCount() const; // without head and (unless BitFit/linear) final LayerNorm
    double shareOfBackbone() const; // withoutHead() / backbone
    std::int64_t adapterFileBytes() const; // float32 tensors plus a header estimate
};

ParameterBreakdown countParameters(const AstConfig &config, const PeftConfig &peft, int numLabels,
    HeadKind head = HeadKind::MeanTokens);

// Parses "250k", "1.5M", "250000" (absolute) or "0.3%" (of the backbone's parameters), from
// one parameter to kMaxBudget.
inline constexpr double kMaxBudget = 1e12;
std::int64_t parseBudget(const std::string &text, std::int64_t backboneParameters);

// Picks the method's size knob (LoRA rank, adapter bottleneck, prompts, prefix tokens) giving
// the largest configuration whose withoutHead() count fits in `budget`, other knobs as given.
// Methods without a knob are checked against the budget. Throws core::Error(Usage) naming the
// minimum when even the smallest configuration is over budget.
PeftConfig solveBudget(const AstConfig &config, const PeftConfig &base, std::int64_t budget,
    int numLabels, HeadKind head = HeadKind::MeanTokens);

} // namespace astpeft::core
