// SPDX-License-Identifier: MIT
#include "train/memory_estimate.h"

#include <algorithm>

namespace astpeft::core {

namespace {

// Libraries (libtorch, OpenBLAS, Qt), thread pools and allocator slack of a training process:
// bench/README.md measures 583 MB peak RSS for an AST-base forward at 1 s whose weights and
// fused q/k/v cache are about 430 MB, and "about 270 MB of libraries and transient buffers"
// next to LoRA's weights and saved activations. With 240 MiB the estimates of full, bitfit,
// prefix, prompt-deep, adapter and LoRA fall within 8 % of the jemalloc peaks measured there
// (AST-base, 1 s, batch 8, fp32), linear probing 14 % above and prompt-shallow 29 % below
// glibc's peaks (glibc holds more through fragmentation).
constexpr std::int64_t kRuntimeBytes = std::int64_t(240) << 20;

// Elements each encoder layer saves for backward, per example, split by storage: LayerNorm
// inputs stay fp32 under autocast, the products' inputs and outputs take the autocast type.
// The counts follow the layer's forward (core/model/ast.cpp) and what libtorch's autograd keeps
// for each operator (a product with a frozen weight does not keep its input):
//   every method: LayerNorm inputs x and h (2 D per token, fp32), the scaled queries (D),
//     keys and values (the fused q/k/v output, 3 D, or the prefix-extended copies), the GELU
//     input (I), the attention probabilities (heads x tokens x keys);
//   full fine-tuning also keeps the inputs of its trainable products: the LayerNorm outputs
//     (2 D), the attention context (D) and the GELU output (I), with k and v as separate
//     outputs (no fused q/k/v storage).
// AST-base, 110 tokens, batch 8: full fine-tuning saves about 550 MiB here (bench/README.md
// counted 554 MB on the Python model); LoRA on q and v about 425 MiB, more than the 363 MB
// counted on the Python model, whose separate q/k/v products let the query and value outputs
// go where our fused product's storage stays alive through the key view.
struct LayerElements
{
    double fp32 = 0; // per example
    double product = 0; // per example, in the autocast type
    double probabilities = 0; // per example
};

LayerElements layerElements(const AstConfig &c, const PeftConfig &p, std::int64_t tokens)
{
    const double d = c.hiddenSize, inter = c.intermediateSize, n = double(tokens);
    const double keys = n + (p.method == PeftMethod::Prefix ? p.prefixTokens / 2 : 0);
    LayerElements e;
    e.fp32 = 2 * d * n;
    e.probabilities = double(c.numAttentionHeads) * n * keys;
    if (p.method == PeftMethod::Full) {
        e.product = (6 * d + 2 * inter) * n;
        return e;
    }
    // Frozen projection weights: one fused q/k/v product whose output storage the key and value
    // views keep alive, unless both were replaced by new tensors (prefix, LoRA on k and v).
    double qkv = 3 * d * n;
    double extra = 0;
    if (p.method == PeftMethod::Prefix) {
        qkv = 2 * d * keys;
    } else if (p.method == PeftMethod::Lora) {
        const auto has = [&](char t) {
            return std::find(p.lora.targets.begin(), p.lora.targets.end(), t)
                != p.lora.targets.end();
        };
        const double r = p.lora.rank;
        const double targets = double(p.lora.targets.size());
        if (has('k') && has('v')) {
            qkv = 2 * d * n;
        } else if (has('k') || has('v')) {
            extra += d * n; // the new k or v next to the fused storage
        }
        extra += (has('q') || has('k') || has('v') ? d * n : 0); // LayerNorm output for LoRA down
        extra += has('o') ? d * n : 0; // the attention context for LoRA down on o
        extra += targets * r * n; // each LoRA down output, kept by its up projection
    } else if (p.method == PeftMethod::Adapter) {
        const double r = p.adapter.bottleneck;
        const double modules = p.adapter.placement == AdapterPlacement::Houlsby ? 2 : 1;
        // Bottleneck: its input (D) and hidden activation before and after the nonlinearity
        // (2 r). Conformer: its input and LayerNorm output (2 D), the pointwise, GLU,
        // depthwise, BatchNorm and activation outputs (2 r + 4 r).
        const double perModule =
            p.adapter.block == AdapterBlock::Bottleneck ? d + 2 * r : 2 * d + 6 * r;
        extra += modules * perModule * n;
    }
    e.product = d * n + qkv + inter * n + extra;
    return e;
}

} // namespace

std::int64_t MemoryEstimate::total() const
{
    return weightsBytes + optimizerBytes + runtimeBytes + std::max(activationBytes, gradientBytes);
}

MemoryEstimate estimateTrainingMemory(const AstConfig &c, const PeftConfig &p, int numLabels,
    int batchSize, bool checkpointActivations, Precision precision)
{
    const ParameterBreakdown b = countParameters(c, p, std::max(0, numLabels));
    const std::int64_t trainable = b.total();
    const bool half = precision != Precision::F32;
    const double productBytes = half ? 2.0 : 4.0;
    const double batch = std::max(1, batchSize);
    const std::int64_t d = c.hiddenSize, layers = c.numHiddenLayers;

    MemoryEstimate m;
    m.runtimeBytes = kRuntimeBytes;
    m.weightsBytes = 4 * (b.backbone + b.methodModules + b.head);
    if (p.method != PeftMethod::Full) // the fused q/k/v weight cached by frozen attention
        m.weightsBytes += 4 * layers * (3 * d * d + (c.qkvBias ? 3 * d : 0));
    if (half) {
        // Autocast keeps a half copy of each trainable weight a product uses, for the step.
        const bool castModules = p.method == PeftMethod::Lora || p.method == PeftMethod::Adapter;
        m.weightsBytes += 2 * (b.backboneWeights + (castModules ? b.methodModules : 0) + b.head);
    }
    m.optimizerBytes = 8 * trainable;
    m.gradientBytes = 4 * trainable;

    std::int64_t tokens = c.numTokens();
    if (p.method == PeftMethod::PromptShallow || p.method == PeftMethod::PromptDeep)
        tokens += p.prompts - 1; // the prompts take the distillation token's place
    // Every method but linear probing trains something in (or before) the first layer, so the
    // gradient runs back through every layer.
    const std::int64_t gradLayers = p.method == PeftMethod::Linear ? 0 : layers;

    const LayerElements e = layerElements(c, p, tokens);
    const double probabilityBytes = half ? 4.0 + productBytes : 4.0; // fp32 softmax + its cast
    const double perLayer =
        batch * (4.0 * e.fp32 + productBytes * e.product + probabilityBytes * e.probabilities);
    // The final LayerNorm's input (trainable in every method) and, for full fine-tuning, the
    // patch embedding's input features.
    double saved = batch * 4.0 * double(d * tokens);
    if (p.method == PeftMethod::Full)
        saved += batch * productBytes * double(c.maxLength) * c.numMelBins;
    if (gradLayers > 0) {
        if (checkpointActivations) { // layer inputs (fp32), one layer recomputed in backward
            saved += double(gradLayers) * batch * 4.0 * double(d * tokens) + perLayer;
        } else {
            saved += double(gradLayers) * perLayer;
        }
        saved += perLayer; // gradient buffers of the layer in backward, about its saved size
    }
    m.activationBytes = std::int64_t(saved);
    return m;
}

} // namespace astpeft::core
