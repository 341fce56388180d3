// SPDX-License-Identifier: MIT
#include "model/ast.h"

#include "error.h"
#include "runtime/autocast.h"
#include "runtime/torch_compat.h"

#include <cmath>

namespace astpeft::core {

namespace {
torch::nn::LayerNorm makeLayerNorm(const AstConfig &c)
{
    return torch::nn::LayerNorm(
        torch::nn::LayerNormOptions({ c.hiddenSize }).eps(c.layerNormEps).elementwise_affine(true));
}
} // namespace

AstPatchEmbeddingsImpl::AstPatchEmbeddingsImpl(const AstConfig &c)
{
    projection = register_module("projection",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(1, c.hiddenSize, c.patchSize)
                              .stride({ c.frequencyStride, c.timeStride })));
}

torch::Tensor AstPatchEmbeddingsImpl::forward(const torch::Tensor &features)
{
    // [B, T, F] -> [B, 1, F, T]: frequency is the conv's height, time its width.
    const torch::Tensor x = features.unsqueeze(1).transpose(2, 3);
    // [B, D, F', T'] -> [B, F' * T', D]: token index = f * T' + t (frequency-major).
    return projection(x).flatten(2).transpose(1, 2);
}

AstEmbeddingsImpl::AstEmbeddingsImpl(const AstConfig &c)
{
    cls_token = register_parameter("cls_token", torch::zeros({ 1, 1, c.hiddenSize }));
    distillation_token =
        register_parameter("distillation_token", torch::zeros({ 1, 1, c.hiddenSize }));
    position_embeddings =
        register_parameter("position_embeddings", torch::zeros({ 1, c.numTokens(), c.hiddenSize }));
    patch_embeddings = register_module("patch_embeddings", AstPatchEmbeddings(c));
}

torch::Tensor AstEmbeddingsImpl::forward(const torch::Tensor &features)
{
    const torch::Tensor patches = patch_embeddings(features);
    const std::int64_t batch = patches.size(0);
    const torch::Tensor tokens =
        torch::cat({ cls_token.expand({ batch, -1, -1 }),
                       distillation_token.expand({ batch, -1, -1 }), patches },
            1);
    const torch::Tensor x = tokens + position_embeddings;
    if (!prompts.defined())
        return x;
    // cat(x[:, :1], P, x[:, 2:]): the prompts take the distillation token's place.
    return torch::cat(
        { x.narrow(1, 0, 1), prompts.expand({ batch, -1, -1 }), x.narrow(1, 2, x.size(1) - 2) }, 1);
}

AstSelfAttentionImpl::AstSelfAttentionImpl(const AstConfig &c)
    : heads(c.numAttentionHeads)
{
    const auto opts = torch::nn::LinearOptions(c.hiddenSize, c.hiddenSize).bias(c.qkvBias);
    query = register_module("query", torch::nn::Linear(opts));
    key = register_module("key", torch::nn::Linear(opts));
    value = register_module("value", torch::nn::Linear(opts));
}

const std::pair<torch::Tensor, torch::Tensor> AstSelfAttentionImpl::fusedQkv()
{
    std::vector<std::int64_t> versions;
    for (const auto &linear : { query, key, value }) {
        versions.push_back(linear->weight._version());
        versions.push_back(reinterpret_cast<std::intptr_t>(linear->weight.data_ptr()));
        if (linear->bias.defined()) {
            versions.push_back(linear->bias._version());
            versions.push_back(reinterpret_cast<std::intptr_t>(linear->bias.data_ptr()));
        }
    }
    if (versions != m_fusedVersions || !m_fusedWeight.defined()) {
        m_fusedWeight = torch::cat({ query->weight, key->weight, value->weight }, 0);
        m_fusedBias = query->bias.defined() ? torch::cat({ query->bias, key->bias, value->bias }, 0)
                                            : torch::Tensor();
        m_fusedVersions = std::move(versions);
    }
    return { m_fusedWeight, m_fusedBias };
}

torch::Tensor AstSelfAttentionImpl::forward(
    const torch::Tensor &hidden, const torch::Tensor &prefixKeys, const torch::Tensor &prefixValues)
{
    const std::int64_t b = hidden.size(0), n = hidden.size(1), d = hidden.size(2);
    const std::int64_t headDim = d / heads;
    const bool inference = !torch::GradMode::is_enabled();
    torch::Tensor q, k, v; // [B, N, D] projections (views of the fused result in inference)
    if (inference) {
        torch::Tensor qkv; // [B, N, 3D]
        if (int8Qkv) {
            qkv = int8Qkv->forward(hidden);
        } else {
            const auto [weight, bias] = fusedQkv();
            qkv = torch::linear(hidden, weight, bias);
        }
        q = qkv.narrow(2, 0, d);
        k = qkv.narrow(2, d, d);
        v = qkv.narrow(2, 2 * d, d);
    } else if (!query->weight.requires_grad() && !key->weight.requires_grad()
        && !value->weight.requires_grad()) {
        // Training with frozen projection weights (every method but full fine-tuning): one
        // product with the cached fused weight, forward and backward. The biases are joined in
        // the graph, so BitFit's trainable biases still get their gradients.
        torch::Tensor weight;
        {
            const torch::NoGradGuard noGrad;
            weight = fusedQkv().first;
        }
        const torch::Tensor bias = query->bias.defined()
            ? torch::cat({ query->bias, key->bias, value->bias }, 0)
            : torch::Tensor();
        const torch::Tensor qkv = torch::linear(hidden, weight, bias);
        q = qkv.narrow(2, 0, d);
        k = qkv.narrow(2, d, d);
        v = qkv.narrow(2, 2 * d, d);
    } else {
        q = query(hidden);
        k = key(hidden);
        v = value(hidden);
    }
    if (lora_q)
        q = q + lora_q->forward(hidden);
    if (lora_k)
        k = k + lora_k->forward(hidden);
    if (lora_v)
        v = v + lora_v->forward(hidden);
    if (prefixKeys.defined()) {
        // cat(K[:, :1], Pk, K[:, 1:]) before the head split; queries keep N rows.
        auto insert = [&](const torch::Tensor &t, const torch::Tensor &prefix) {
            return torch::cat(
                { t.narrow(1, 0, 1), prefix.expand({ b, -1, -1 }), t.narrow(1, 1, n - 1) }, 1);
        };
        k = insert(k, prefixKeys);
        v = insert(v, prefixValues);
    }
    // [B, N, D] -> [B, H, N, headDim]. Splitting the last dimension is a view even for the
    // narrowed slices of the fused [B, N, 3D] result.
    auto split = [&](const torch::Tensor &t) {
        return t.view({ b, t.size(1), heads, headDim }).transpose(1, 2);
    };
    return compat::attention(split(q), split(k), split(v), fusedAttention)
        .transpose(1, 2)
        .reshape({ b, n, d });
}

AstDenseImpl::AstDenseImpl(int in, int out)
{
    dense = register_module("dense", torch::nn::Linear(in, out));
}

AstAttentionImpl::AstAttentionImpl(const AstConfig &c)
{
    attention = register_module("attention", AstSelfAttention(c));
    output = register_module("output", AstDense(c.hiddenSize, c.hiddenSize));
}

AstLayerImpl::AstLayerImpl(const AstConfig &c)
{
    layernorm_before = register_module("layernorm_before", makeLayerNorm(c));
    attention = register_module("attention", AstAttention(c));
    layernorm_after = register_module("layernorm_after", makeLayerNorm(c));
    intermediate = register_module("intermediate", AstDense(c.hiddenSize, c.intermediateSize));
    output = register_module("output", AstDense(c.intermediateSize, c.hiddenSize));
}

torch::Tensor AstLayerImpl::forward(const torch::Tensor &x)
{
    const torch::Tensor normed = layernorm_before(x);
    torch::Tensor m = attention(normed, prefix_keys, prefix_values);
    if (adapter_mhsa) {
        if (adapterSequential)
            m = adapterResidual ? adapter_mhsa->forward(m) + m : adapter_mhsa->forward(m);
        else
            m = adapterResidual ? m + adapter_mhsa->forward(normed) + normed
                                : m + adapter_mhsa->forward(normed);
    }
    const torch::Tensor h = x + m;
    const torch::Tensor u = layernorm_after(h);
    torch::Tensor f = output(torch::gelu(intermediate(u)));
    if (adapter_ffn) {
        if (adapterSequential)
            f = adapterResidual ? adapter_ffn->forward(f) + f : adapter_ffn->forward(f);
        else
            f = adapterResidual ? f + adapter_ffn->forward(u) + u : f + adapter_ffn->forward(u);
    }
    return h + f;
}

namespace {
// One encoder layer as a custom autograd node that saves only its input. Forward arguments: the
// layer input, the layer's trainable parameters (so that the node owns their gradient edges even
// when the input needs none, as after a frozen embedding), and the layer, which the model owns
// and which outlives the graph. Backward runs the layer again with autograd on and returns the
// gradients of the input and of each parameter.
struct CheckpointedLayer : torch::autograd::Function<CheckpointedLayer>
{
    static torch::Tensor forward(torch::autograd::AutogradContext *ctx, const torch::Tensor &x,
        torch::TensorList parameters, AstLayerImpl *layer)
    {
        ctx->save_for_backward({ x });
        ctx->saved_data["layer"] = reinterpret_cast<std::int64_t>(layer);
        ctx->saved_data["autocast"] = std::int64_t(currentAutocast(x.device()));
        ctx->saved_data["parameters"] = std::vector<torch::Tensor>(parameters.vec());
        // Autograd on, as in the plain training pass, so that the layer takes the same code
        // path (and gives the same values) as it will when run again in backward; the graph
        // recorded here is dropped on return.
        const torch::AutoGradMode grad(true);
        return layer->forward(x.detach()).detach();
    }

    static torch::autograd::variable_list backward(
        torch::autograd::AutogradContext *ctx, torch::autograd::variable_list gradOutputs)
    {
        auto *layer = reinterpret_cast<AstLayerImpl *>(ctx->saved_data["layer"].toInt());
        const auto precision = Precision(ctx->saved_data["autocast"].toInt());
        const std::vector<torch::Tensor> parameters =
            ctx->saved_data["parameters"].toTensorVector();
        const torch::Tensor saved = ctx->get_saved_variables()[0];
        const bool inputGrad = ctx->needs_input_grad(0);
        const torch::Tensor x = saved.detach().requires_grad_(inputGrad);

        torch::Tensor out;
        {
            const torch::AutoGradMode grad(true);
            const AutocastGuard autocast(x.device(), precision);
            out = layer->forward(x);
        }
        torch::autograd::variable_list inputs;
        if (inputGrad)
            inputs.push_back(x);
        inputs.insert(inputs.end(), parameters.begin(), parameters.end());
        const torch::autograd::variable_list grads =
            torch::autograd::grad({ out }, inputs, { gradOutputs[0] }, false, false, true);

        // One gradient per forward argument: x, each parameter, and none for the layer pointer.
        torch::autograd::variable_list result;
        result.push_back(inputGrad ? grads[0] : torch::Tensor());
        result.insert(result.end(), grads.begin() + (inputGrad ? 1 : 0), grads.end());
        result.emplace_back();
        return result;
    }
};

torch::Tensor checkpointed(AstLayerImpl &layer, const torch::Tensor &x)
{
    std::vector<torch::Tensor> trainable;
    for (const torch::Tensor &p : layer.parameters())
        if (p.requires_grad())
            trainable.push_back(p);
    if (trainable.empty() && !x.requires_grad())
        return layer.forward(x); // nothing to differentiate: autograd saves nothing anyway
    return CheckpointedLayer::apply(x, torch::TensorList(trainable), &layer);
}
} // namespace

AstEncoderImpl::AstEncoderImpl(const AstConfig &c)
{
    layer = register_module("layer", torch::nn::ModuleList());
    for (int i = 0; i < c.numHiddenLayers; ++i)
        layer->push_back(AstLayer(c));
}

void AstEncoderImpl::setFusedAttention(bool fused)
{
    for (std::size_t i = 0; i < layer->size(); ++i)
        layer[i]->as<AstLayer>()->attention->attention->fusedAttention = fused;
}

torch::Tensor AstEncoderImpl::forward(torch::Tensor x)
{
    for (std::size_t i = 0; i < layer->size(); ++i) {
        if (i > 0 && deep_prompts.defined()) {
            const std::int64_t n = deep_prompts.size(1);
            const torch::Tensor p = deep_prompts[std::int64_t(i) - 1].unsqueeze(0);
            x = torch::cat({ x.narrow(1, 0, 1), p.expand({ x.size(0), -1, -1 }),
                               x.narrow(1, 1 + n, x.size(1) - 1 - n) },
                1);
        }
        AstLayerImpl &current = *layer[i]->as<AstLayer>();
        x = checkpointActivations && torch::GradMode::is_enabled() ? checkpointed(current, x)
                                                                   : current.forward(x);
    }
    return x;
}

AstModelImpl::AstModelImpl(const AstConfig &c)
    : config(c)
{
    embeddings = register_module("embeddings", AstEmbeddings(c));
    encoder = register_module("encoder", AstEncoder(c));
    layernorm = register_module("layernorm", makeLayerNorm(c));
}

torch::Tensor AstModelImpl::forward(const torch::Tensor &features)
{
    if (features.dim() != 3 || features.size(1) != config.maxLength
        || features.size(2) != config.numMelBins)
        throw Error(ErrorKind::Usage,
            "AST input must be [batch, " + std::to_string(config.maxLength) + ", "
                + std::to_string(config.numMelBins) + "]");
    return layernorm(encoder(embeddings(features)));
}

AstHeadImpl::AstHeadImpl(const AstConfig &c, HeadKind k, int numLabels)
    : kind(k)
{
    if (kind == HeadKind::Hf)
        layernorm = register_module("layernorm", makeLayerNorm(c));
    dense = register_module("dense", torch::nn::Linear(c.hiddenSize, numLabels));
}

torch::Tensor AstHeadImpl::forward(const torch::Tensor &hidden)
{
    if (kind == HeadKind::Hf) {
        const torch::Tensor pooled = (hidden.select(1, 0) + hidden.select(1, 1)) / 2;
        return dense(layernorm(pooled));
    }
    return dense(hidden.mean(1));
}

AstForAudioClassificationImpl::AstForAudioClassificationImpl(const AstConfig &c, HeadKind head)
{
    audio_spectrogram_transformer = register_module("audio_spectrogram_transformer", AstModel(c));
    if (!c.labels.empty())
        classifier = register_module("classifier", AstHead(c, head, int(c.labels.size())));
}

torch::Tensor AstForAudioClassificationImpl::forward(const torch::Tensor &features)
{
    const torch::Tensor hidden = audio_spectrogram_transformer(features);
    if (classifier)
        return classifier(hidden);
    return (hidden.select(1, 0) + hidden.select(1, 1)) / 2;
}

std::int64_t backboneParameterCount(const AstConfig &c)
{
    const std::int64_t d = c.hiddenSize, i = c.intermediateSize, p = c.patchSize;
    const std::int64_t embeddings = 2 * d + std::int64_t(c.numTokens()) * d + d * p * p + d;
    const std::int64_t attention = 3 * (d * d + (c.qkvBias ? d : 0)) + d * d + d;
    const std::int64_t layer = 4 * d + attention + d * i + i + i * d + d;
    return embeddings + c.numHiddenLayers * layer + 2 * d;
}

std::int64_t headParameterCount(const AstConfig &c, HeadKind head)
{
    const std::int64_t labels = std::int64_t(c.labels.size());
    if (labels == 0)
        return 0;
    return (head == HeadKind::Hf ? 2 * c.hiddenSize : 0) + c.hiddenSize * labels + labels;
}

torch::Tensor adaptPositionEmbeddings(
    const torch::Tensor &source, int srcF, int srcT, int dstF, int dstT)
{
    const std::int64_t d = source.size(2);
    if (source.size(1) != 2 + std::int64_t(srcF) * srcT)
        throw Error(ErrorKind::Model, "position embeddings do not match their grid");
    const torch::Tensor special = source.narrow(1, 0, 2);
    // [1, F*T, D] -> [1, D, F, T]
    torch::Tensor grid = source.narrow(1, 2, std::int64_t(srcF) * srcT)
                             .transpose(1, 2)
                             .reshape({ 1, d, srcF, srcT });
    namespace F = torch::nn::functional;
    auto fit = [&](torch::Tensor g, int dim, int src, int dst) {
        if (dst < src) // crop around the centre, as the original AST does
            return g.narrow(dim, src / 2 - dst / 2, dst);
        if (dst > src) {
            std::vector<std::int64_t> size { g.size(2), g.size(3) };
            size[std::size_t(dim - 2)] = dst;
            return F::interpolate(g,
                F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(false));
        }
        return g;
    };
    grid = fit(grid, 2, srcF, dstF);
    grid = fit(grid, 3, srcT, dstT);
    const torch::Tensor tokens = grid.reshape({ 1, d, std::int64_t(dstF) * dstT }).transpose(1, 2);
    return torch::cat({ special, tokens }, 1).contiguous();
}

} // namespace astpeft::core
