// SPDX-License-Identifier: MIT
// The Audio Spectrogram Transformer as a libtorch module tree whose parameter names are exactly
// Hugging Face's (ASTForAudioClassification), so that a state dict maps one to one.
// Core-internal: includes torch; ui/ and app/ use inference/classifier.h instead.
#pragma once

#include "model/ast_config.h"

#include <torch/torch.h>

namespace astpeft::core {

// A side branch that PEFT attaches to the backbone (LoRA, adapters; peft/peft_modules.h): maps
// [..., in] to [..., out]. The hooks below hold it through this interface so that the backbone
// does not depend on the PEFT code; null hooks leave the forward pass exactly HF's.
struct AstBranch : torch::nn::Module
{
    virtual torch::Tensor forward(const torch::Tensor &x) = 0;
};

// An int8 stand-in for a frozen Linear in inference (model/quantize.h builds it): y = x W^T + b
// with W quantised per output channel. Used only while autograd does not record.
struct QuantizedLinear
{
    virtual ~QuantizedLinear() = default;
    virtual torch::Tensor forward(const torch::Tensor &x) const = 0; // [..., in] -> [..., out]
};

struct AstPatchEmbeddingsImpl : torch::nn::Module
{
    explicit AstPatchEmbeddingsImpl(const AstConfig &config);
    // [B, T, F] time-major features -> [B, F' * T', D] frequency-major tokens.
    torch::Tensor forward(const torch::Tensor &features);
    torch::nn::Conv2d projection { nullptr };
};
TORCH_MODULE(AstPatchEmbeddings);

struct AstEmbeddingsImpl : torch::nn::Module
{
    explicit AstEmbeddingsImpl(const AstConfig &config);
    // -> [B, N, D] with N = 2 + F' * T', or 1 + n + F' * T' with n prompts.
    torch::Tensor forward(const torch::Tensor &features);
    torch::Tensor cls_token; // [1, 1, D]
    torch::Tensor distillation_token; // [1, 1, D]
    torch::Tensor position_embeddings; // [1, N, D]
    AstPatchEmbeddings patch_embeddings { nullptr };
    // Prompt tuning (optional, registered as "prompts"): [1, n, D] replacing the distillation
    // token after the position embeddings are added; prompts get no position embedding.
    torch::Tensor prompts;
};
TORCH_MODULE(AstEmbeddings);

// Multi-head self-attention with HF's separate query/key/value Linears. Without autograd
// (inference), and in training while the three weights are frozen (PEFT), it runs one fused QKV
// matmul (weights concatenated once and re-concatenated only when a tensor's version counter
// changes). Attention itself is compat::attention: scaled_dot_product_attention on libtorch 2.x
// (flash / memory-efficient kernels on CUDA), explicit products on 1.13 (in query blocks for
// long inputs, so the [heads, N, N] score matrix never exists at once). LoRA branches add to
// the projections (after the fused matmul too: the fused weight never includes them), and
// prefix tokens [1, P, D] in projected K/V space are inserted after position 0 of K and V, so
// the output keeps N rows.
struct AstSelfAttentionImpl : torch::nn::Module
{
    explicit AstSelfAttentionImpl(const AstConfig &config);
    // [B, N, D] -> context [B, N, D]; prefixKeys/prefixValues: both undefined or both [1, P, D].
    torch::Tensor forward(const torch::Tensor &hidden, const torch::Tensor &prefixKeys = {},
        const torch::Tensor &prefixValues = {});
    int heads;
    torch::nn::Linear query { nullptr }, key { nullptr }, value { nullptr };
    // Optional LoRA branches (registered as "lora_q", "lora_k", "lora_v"): q = query(x) +
    // lora_q(x).
    std::shared_ptr<AstBranch> lora_q, lora_k, lora_v;
    // Optional int8 version of the fused QKV product for inference (model/quantize.h).
    std::shared_ptr<const QuantizedLinear> int8Qkv;
    // false: the explicit products even where scaled_dot_product_attention exists (tests
    // compare the two; AstEncoderImpl::setFusedAttention sets every layer's).
    bool fusedAttention = true;

private:
    // Fused [3D, D] weight and [3D] bias for inference, and what they were built from.
    torch::Tensor m_fusedWeight, m_fusedBias;
    std::vector<std::int64_t> m_fusedVersions;
    const std::pair<torch::Tensor, torch::Tensor> fusedQkv();
};
TORCH_MODULE(AstSelfAttention);

// A module holding one Linear named "dense" (HF's ASTSelfOutput, ASTIntermediate, ASTOutput).
struct AstDenseImpl : torch::nn::Module
{
    AstDenseImpl(int in, int out);
    torch::Tensor forward(const torch::Tensor &x)
    {
        const torch::Tensor y =
            int8 && !torch::GradMode::is_enabled() ? int8->forward(x) : dense(x);
        return lora ? y + lora->forward(x) : y;
    }
    torch::nn::Linear dense { nullptr };
    // Optional LoRA branch on `dense` (registered by whoever attaches it, e.g. "lora_o").
    std::shared_ptr<AstBranch> lora;
    // Optional int8 version of `dense` for inference (not part of the state dict).
    std::shared_ptr<const QuantizedLinear> int8;
};
TORCH_MODULE(AstDense);

struct AstAttentionImpl : torch::nn::Module
{
    explicit AstAttentionImpl(const AstConfig &config);
    torch::Tensor forward(const torch::Tensor &hidden, const torch::Tensor &prefixKeys = {},
        const torch::Tensor &prefixValues = {})
    {
        return output(attention->forward(hidden, prefixKeys, prefixValues));
    }
    AstSelfAttention attention { nullptr };
    AstDense output { nullptr };
};
TORCH_MODULE(AstAttention);

// Pre-LN layer: h = x + Attn(LN1 x); y = h + W2 GELU(W1 LN2 h). GELU is exact (erf).
//
// Optional adapters (paper.md 3.3), with a = Attn(LN1 x), u = LN2 h, f = W2 GELU(W1 u):
//   parallel:   h = x + a + Ad_mhsa(LN1 x) [+ LN1 x];  y = h + f + Ad_ffn(u) [+ u]
//   sequential: h = x + Ad_mhsa(a) [+ a];              y = h + Ad_ffn(f) [+ f]
// where [...] is added when adapterResidual is set; a null adapter leaves its branch as HF's.
struct AstLayerImpl : torch::nn::Module
{
    explicit AstLayerImpl(const AstConfig &config);
    torch::Tensor forward(const torch::Tensor &x);
    torch::nn::LayerNorm layernorm_before { nullptr };
    AstAttention attention { nullptr };
    torch::nn::LayerNorm layernorm_after { nullptr };
    AstDense intermediate { nullptr };
    AstDense output { nullptr };

    // PEFT hooks, all optional. Adapters are registered as "adapter_mhsa" / "adapter_ffn";
    // prefix tokens as "prefix_keys" / "prefix_values" ([1, P, D] each, P = prefix tokens / 2).
    std::shared_ptr<AstBranch> adapter_mhsa, adapter_ffn;
    bool adapterSequential = false;
    bool adapterResidual = false;
    torch::Tensor prefix_keys, prefix_values;
};
TORCH_MODULE(AstLayer);

struct AstEncoderImpl : torch::nn::Module
{
    explicit AstEncoderImpl(const AstConfig &config);
    torch::Tensor forward(torch::Tensor x);
    // Every layer's AstSelfAttentionImpl::fusedAttention.
    void setFusedAttention(bool fused);
    torch::nn::ModuleList layer { nullptr }; // of AstLayer
    // Activation checkpointing for training: when set and autograd records, each layer that
    // needs gradients keeps only its input [B, N, D] for the backward pass and runs its forward
    // again there (under the same autocast), so the saved activations of all layers never exist
    // at once: about one extra forward pass of time for much less peak memory. The values and
    // gradients are exactly those of the plain pass (the model has no dropout). Not part of the
    // state dict.
    bool checkpointActivations = false;
    // Deep prompt tuning (optional, registered as "deep_prompts"): [layers - 1, n, D]; before
    // layer i >= 1 the tokens at positions 1..n are overwritten by deep_prompts[i - 1].
    torch::Tensor deep_prompts;
};
TORCH_MODULE(AstEncoder);

// HF ASTModel: embeddings, encoder, final LayerNorm. Returns the last hidden state [B, N, D].
struct AstModelImpl : torch::nn::Module
{
    explicit AstModelImpl(const AstConfig &config);
    torch::Tensor forward(const torch::Tensor &features);
    AstConfig config;
    AstEmbeddings embeddings { nullptr };
    AstEncoder encoder { nullptr };
    torch::nn::LayerNorm layernorm { nullptr };
};
TORCH_MODULE(AstModel);

struct AstHeadImpl : torch::nn::Module
{
    AstHeadImpl(const AstConfig &config, HeadKind kind, int numLabels);
    torch::Tensor forward(const torch::Tensor &hidden); // [B, N, D] -> logits [B, labels]
    HeadKind kind;
    torch::nn::LayerNorm layernorm { nullptr }; // Hf only
    torch::nn::Linear dense { nullptr };
};
TORCH_MODULE(AstHead);

// HF ASTForAudioClassification: parameter names "audio_spectrogram_transformer.*" and
// "classifier.*". Without labels there is no head and forward() returns pooled hidden states.
struct AstForAudioClassificationImpl : torch::nn::Module
{
    AstForAudioClassificationImpl(const AstConfig &config, HeadKind head = HeadKind::Hf);
    torch::Tensor forward(const torch::Tensor &features); // [B, T, F] -> logits [B, labels]
    AstModel audio_spectrogram_transformer { nullptr };
    AstHead classifier { nullptr }; // null when config.labels is empty
};
TORCH_MODULE(AstForAudioClassification);

inline constexpr const char *kBackbonePrefix = "audio_spectrogram_transformer.";

// source: [1, 2 + srcF * srcT, D] -> [1, 2 + dstF * dstT, D]; the two special tokens are kept.
torch::Tensor adaptPositionEmbeddings(
    const torch::Tensor &source, int srcF, int srcT, int dstF, int dstT);

} // namespace astpeft::core
