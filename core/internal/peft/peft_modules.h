// SPDX-License-Identifier: MIT
// The PEFT methods of Cappellazzo et al. (MLSP 2024; paper.md section 3) as libtorch modules
// attached to an AST backbone through the hooks in model/ast.h, and the requires_grad policy of
// each method. Core-internal: includes torch; ui/ and app/ use peft/peft_config.h.
//
// Parameter names (prefix "audio_spectrogram_transformer." omitted; i = layer):
//   embeddings.prompts [1, n, D]                  prompt-shallow, prompt-deep (layer 0)
//   encoder.deep_prompts [layers - 1, n, D]       prompt-deep (layers 1..)
//   encoder.layer.i.prefix_keys / prefix_values [1, P/2, D]                        prefix
//   encoder.layer.i.attention.attention.lora_{q,k,v}.{down,up}.weight              lora
//   encoder.layer.i.attention.output.lora_o.{down,up}.weight                       lora (o)
//   encoder.layer.i.adapter_ffn.* and (houlsby) encoder.layer.i.adapter_mhsa.*     adapter
//     bottleneck: down.{weight,bias}, up.{weight,bias}
//     conformer:  layernorm, pointwise_conv1, depthwise_conv, batch_norm, pointwise_conv2
//   classifier.dense.{weight,bias}                (the new MeanTokens head, unprefixed)
#pragma once

#include "model/ast.h"
#include "peft/peft_config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace astpeft::core {

// LoRA: x -> scaling * up(down(x)), down = Linear(in, r, no bias), up = Linear(r, out, no bias).
struct AstLoraImpl : AstBranch
{
    AstLoraImpl(int in, int out, int rank, double scaling);
    torch::Tensor forward(const torch::Tensor &x) override;
    // scaling * up.weight * down.weight [out, in]: what merging adds to the base Linear's weight.
    torch::Tensor deltaWeight() const;
    torch::nn::Linear down { nullptr }, up { nullptr };
    double scaling;
};

// Bottleneck adapter: up(act(down(x))), down = Linear(D, r), up = Linear(r, D). No LayerNorm and
// no internal residual (the layer adds residuals as configured).
struct AstBottleneckAdapterImpl : AstBranch
{
    AstBottleneckAdapterImpl(int hidden, int bottleneck, Activation activation);
    torch::Tensor forward(const torch::Tensor &x) override;
    torch::nn::Linear down { nullptr }, up { nullptr };
    Activation activation;
};

// Conformer adapter along the token axis of [B, N, D]: LayerNorm(D), pointwise Conv1d(D -> 2r),
// GLU over channels, depthwise Conv1d(r, k, 'same': left (k-1)/2, right k-1-(k-1)/2 zeros),
// BatchNorm1d(r) (batch statistics over B x N in train mode, running statistics in eval mode),
// SiLU, pointwise Conv1d(r -> D). With officialLayerNormBug the LayerNorm output is discarded
// as in the official code: its parameters exist and are counted but never get a gradient.
struct AstConformerAdapterImpl : AstBranch
{
    AstConformerAdapterImpl(
        int hidden, int bottleneck, int kernel, double layerNormEps, bool officialLayerNormBug);
    torch::Tensor forward(const torch::Tensor &x) override;
    torch::nn::LayerNorm layernorm { nullptr };
    torch::nn::Conv1d pointwise_conv1 { nullptr }, depthwise_conv { nullptr },
        pointwise_conv2 { nullptr };
    torch::nn::BatchNorm1d batch_norm { nullptr };
    int kernel;
    bool officialLayerNormBug;
};

// Attaches `peft`'s modules to `model` (its backbone already loaded: the new parameters are not
// in HF checkpoints, so strict backbone loading must happen first), replaces the head by a new
// HeadKind::MeanTokens head for `labels` and sets requires_grad as the method trains (paper.md
// 3, shared rules and 3.7): everything else is frozen. New tensors are created on the device
// and with the dtype of the backbone. Every random init draws from one CPU generator seeded with
// `seed`, in a fixed order, so that the same seed gives the same tensors. Throws
// core::Error(Usage) for impossible knobs (rank < 1, odd prefix, no labels, ...) and when the
// model already carries PEFT modules.
void applyPeft(AstForAudioClassification &model, const PeftConfig &peft,
    const std::vector<std::string> &labels, std::uint64_t seed);

// Sum of numel() over parameters with requires_grad.
std::int64_t countTrainable(const torch::nn::Module &module);
// Names of parameters with requires_grad, in registration order.
std::vector<std::string> trainableParameterNames(const torch::nn::Module &module);

} // namespace astpeft::core
