// SPDX-License-Identifier: MIT
#include "peft/peft_modules.h"

#include "error.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>

namespace astpeft::core {

namespace {

// All random initialisation goes through one CPU generator so that a seed reproduces the
// tensors (the module constructors' own default init uses torch's global generator and is
// always overwritten here).
struct Init
{
    at::Generator gen;
    void uniform(torch::Tensor t, double bound) { t.uniform_(-bound, bound, gen); }
    void normal(torch::Tensor t, double std) { t.normal_(0.0, std, gen); }
    // PyTorch's default for Linear and Conv (kaiming_uniform with a = sqrt 5, and the bias):
    // U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_features (Linear) or in/groups * k (Conv).
    void torchDefault(torch::Tensor weight, torch::Tensor bias)
    {
        const double bound = 1.0 / std::sqrt(double(weight.numel() / weight.size(0)));
        uniform(weight, bound);
        if (bias.defined())
            uniform(bias, bound);
    }
};

// The HF re-initialisation the official runs ended up with for Linear modules (paper.md 3.1,
// 3.4, 8.2): N(0, 0.02) weights (HF's trunc_normal truncates at +-2 absolute, i.e. never at
// std 0.02), zero biases.
constexpr double kPaperStd = 0.02;

void require(bool ok, const std::string &message)
{
    if (!ok)
        throw Error(ErrorKind::Usage, message);
}

bool hasPeft(AstModelImpl &ast)
{
    if (ast.embeddings->prompts.defined() || ast.encoder->deep_prompts.defined())
        return true;
    for (const auto &module : *ast.encoder->layer) {
        const AstLayerImpl &l = *module->as<AstLayer>();
        const AstSelfAttentionImpl &a = *l.attention->attention;
        if (l.adapter_mhsa || l.adapter_ffn || l.prefix_keys.defined() || a.lora_q || a.lora_k
            || a.lora_v || l.attention->output->lora)
            return true;
    }
    return false;
}

void validate(const AstConfig &c, const PeftConfig &peft, const std::vector<std::string> &labels)
{
    require(!labels.empty(), "PEFT needs at least one label for the new head");
    switch (peft.method) {
    case PeftMethod::PromptShallow:
    case PeftMethod::PromptDeep:
        require(peft.prompts >= 1, "prompt tuning needs at least one prompt token");
        break;
    case PeftMethod::Prefix:
        require(peft.prefixTokens >= 2 && peft.prefixTokens % 2 == 0,
            "prefix tokens must be even and at least 2 (half keys, half values), got "
                + std::to_string(peft.prefixTokens));
        break;
    case PeftMethod::Lora: {
        require(peft.lora.rank >= 1, "LoRA rank must be at least 1");
        require(!peft.lora.targets.empty(), "LoRA needs at least one target of q, k, v, o");
        std::vector<char> seen;
        for (char t : peft.lora.targets) {
            require(std::string("qkvo").find(t) != std::string::npos,
                std::string("LoRA targets are q, k, v, o; got '") + t + "'");
            require(std::find(seen.begin(), seen.end(), t) == seen.end(),
                std::string("LoRA target '") + t + "' given twice");
            seen.push_back(t);
        }
        break;
    }
    case PeftMethod::Adapter:
        require(peft.adapter.bottleneck >= 1, "the adapter bottleneck must be at least 1");
        require(peft.adapter.block != AdapterBlock::Conformer || peft.adapter.kernel >= 1,
            "the conformer kernel must be at least 1");
        break;
    default:
        break;
    }
    require(c.hiddenSize % c.numAttentionHeads == 0, "hidden size not divisible by heads");
}

// Prompt and prefix init (VPT): U(-v, v), v = sqrt(6 / (3 * patch^2 + D)); 0.0625 for AST-base.
double promptBound(const AstConfig &c)
{
    return std::sqrt(6.0 / double(3 * c.patchSize * c.patchSize + c.hiddenSize));
}

} // namespace

AstLoraImpl::AstLoraImpl(int in, int out, int rank, double s)
    : scaling(s)
{
    down =
        register_module("down", torch::nn::Linear(torch::nn::LinearOptions(in, rank).bias(false)));
    up = register_module("up", torch::nn::Linear(torch::nn::LinearOptions(rank, out).bias(false)));
}

torch::Tensor AstLoraImpl::forward(const torch::Tensor &x)
{
    return up(down(x)) * scaling;
}

torch::Tensor AstLoraImpl::deltaWeight() const
{
    return torch::matmul(up->weight, down->weight) * scaling;
}

AstBottleneckAdapterImpl::AstBottleneckAdapterImpl(int hidden, int bottleneck, Activation a)
    : activation(a)
{
    down = register_module("down", torch::nn::Linear(hidden, bottleneck));
    up = register_module("up", torch::nn::Linear(bottleneck, hidden));
}

torch::Tensor AstBottleneckAdapterImpl::forward(const torch::Tensor &x)
{
    const torch::Tensor z = down(x);
    return up(activation == Activation::Relu ? torch::relu(z) : torch::gelu(z));
}

AstConformerAdapterImpl::AstConformerAdapterImpl(
    int hidden, int bottleneck, int k, double layerNormEps, bool bug)
    : kernel(k)
    , officialLayerNormBug(bug)
{
    using namespace torch::nn;
    layernorm =
        register_module("layernorm", LayerNorm(LayerNormOptions({ hidden }).eps(layerNormEps)));
    pointwise_conv1 =
        register_module("pointwise_conv1", Conv1d(Conv1dOptions(hidden, 2 * bottleneck, 1)));
    depthwise_conv = register_module(
        "depthwise_conv", Conv1d(Conv1dOptions(bottleneck, bottleneck, k).groups(bottleneck)));
    batch_norm = register_module("batch_norm", BatchNorm1d(bottleneck));
    pointwise_conv2 =
        register_module("pointwise_conv2", Conv1d(Conv1dOptions(bottleneck, hidden, 1)));
}

torch::Tensor AstConformerAdapterImpl::forward(const torch::Tensor &x)
{
    // The official code computes the LayerNorm and then transposes x instead of its output.
    torch::Tensor y = (officialLayerNormBug ? x : layernorm(x)).transpose(1, 2); // [B, D, N]
    y = torch::glu(pointwise_conv1(y), 1); // [B, r, N]: first half * sigmoid(second half)
    // 'same' padding; for even k PyTorch puts the extra zero on the right (k = 8: 3 left, 4 right).
    const std::int64_t left = (kernel - 1) / 2, right = kernel - 1 - left;
    y = depthwise_conv(torch::constant_pad_nd(y, { left, right }, 0.0));
    y = pointwise_conv2(torch::silu(batch_norm(y)));
    return y.transpose(1, 2);
}

void applyPeft(AstForAudioClassification &model, const PeftConfig &peft,
    const std::vector<std::string> &labels, std::uint64_t seed)
{
    AstModelImpl &ast = *model->audio_spectrogram_transformer;
    const AstConfig &c = ast.config;
    validate(c, peft, labels);
    require(!hasPeft(ast), "the model already carries PEFT modules");

    const torch::Tensor reference = ast.layernorm->weight;
    const torch::Device device = reference.device();
    const torch::ScalarType dtype = reference.scalar_type();
    Init init { at::detail::createCPUGenerator(seed) };
    // Initialised on the CPU (the generator is a CPU one), then moved next to the backbone and
    // put in the model's train/eval mode. Only floating tensors change dtype (libtorch's
    // Module::to(dtype) would also convert BatchNorm's integer num_batches_tracked).
    const bool training = model->is_training();
    auto place = [&](torch::nn::Module &m) {
        m.to(device);
        if (dtype != torch::kFloat32) {
            for (auto &t : m.parameters())
                t.set_data(t.to(dtype));
            for (auto &t : m.buffers())
                if (t.is_floating_point())
                    t.set_data(t.to(dtype));
        }
        m.train(training);
    };
    auto newTensor = [&](std::vector<std::int64_t> shape) {
        torch::Tensor t = torch::empty(shape, torch::kFloat32);
        init.uniform(t, promptBound(c));
        return t.to(device, dtype);
    };

    torch::NoGradGuard noGrad;
    for (auto &p : model->parameters())
        p.set_requires_grad(false);

    const int d = c.hiddenSize;
    const bool paperInit = peft.init == PeftInit::Paper;
    std::vector<AstLayerImpl *> layers;
    for (const auto &module : *ast.encoder->layer)
        layers.push_back(module->as<AstLayer>());

    switch (peft.method) {
    case PeftMethod::Full:
    case PeftMethod::Linear:
    case PeftMethod::BitFit:
        break;
    case PeftMethod::PromptShallow:
    case PeftMethod::PromptDeep:
        ast.embeddings->prompts =
            ast.embeddings->register_parameter("prompts", newTensor({ 1, peft.prompts, d }));
        if (peft.method == PeftMethod::PromptDeep && layers.size() > 1)
            ast.encoder->deep_prompts = ast.encoder->register_parameter(
                "deep_prompts", newTensor({ std::int64_t(layers.size()) - 1, peft.prompts, d }));
        break;
    case PeftMethod::Prefix:
        for (AstLayerImpl *l : layers) {
            const std::int64_t half = peft.prefixTokens / 2;
            l->prefix_keys = l->register_parameter("prefix_keys", newTensor({ 1, half, d }));
            l->prefix_values = l->register_parameter("prefix_values", newTensor({ 1, half, d }));
        }
        break;
    case PeftMethod::Lora: {
        const LoraKnobs &k = peft.lora;
        // alpha / r, or the official alpha / RR with RR = D / r (paper.md 3.4).
        const double scaling =
            k.paperScaling ? k.alpha * k.rank / double(d) : k.alpha / double(k.rank);
        auto has = [&](char t) {
            return std::find(k.targets.begin(), k.targets.end(), t) != k.targets.end();
        };
        auto make = [&](torch::nn::Module &owner, const std::string &name) {
            auto lora =
                owner.register_module(name, std::make_shared<AstLoraImpl>(d, d, k.rank, scaling));
            if (paperInit) {
                init.normal(lora->down->weight, kPaperStd);
                init.normal(lora->up->weight, kPaperStd);
            } else {
                init.torchDefault(lora->down->weight, {});
                lora->up->weight.zero_();
            }
            place(*lora);
            return lora;
        };
        for (AstLayerImpl *l : layers) {
            AstSelfAttentionImpl &a = *l->attention->attention;
            if (has('q'))
                a.lora_q = make(a, "lora_q");
            if (has('k'))
                a.lora_k = make(a, "lora_k");
            if (has('v'))
                a.lora_v = make(a, "lora_v");
            if (has('o'))
                l->attention->output->lora = make(*l->attention->output, "lora_o");
        }
        break;
    }
    case PeftMethod::Adapter: {
        const AdapterKnobs &k = peft.adapter;
        auto make = [&](AstLayerImpl &owner, const std::string &name) {
            std::shared_ptr<AstBranch> adapter;
            if (k.block == AdapterBlock::Bottleneck) {
                auto b = owner.register_module(name,
                    std::make_shared<AstBottleneckAdapterImpl>(d, k.bottleneck, k.activation));
                if (paperInit) {
                    init.normal(b->down->weight, kPaperStd);
                    b->down->bias.zero_();
                    init.normal(b->up->weight, kPaperStd);
                } else {
                    init.torchDefault(b->down->weight, b->down->bias);
                    b->up->weight.zero_();
                }
                b->up->bias.zero_();
                adapter = b;
            } else {
                auto cf = owner.register_module(name,
                    std::make_shared<AstConformerAdapterImpl>(
                        d, k.bottleneck, k.kernel, c.layerNormEps, k.officialLayerNormBug));
                // LayerNorm and BatchNorm keep their (1, 0) defaults.
                init.torchDefault(cf->pointwise_conv1->weight, cf->pointwise_conv1->bias);
                init.torchDefault(cf->depthwise_conv->weight, cf->depthwise_conv->bias);
                if (paperInit) {
                    init.torchDefault(cf->pointwise_conv2->weight, cf->pointwise_conv2->bias);
                } else {
                    cf->pointwise_conv2->weight.zero_();
                    cf->pointwise_conv2->bias.zero_();
                }
                adapter = cf;
            }
            place(*adapter);
            return adapter;
        };
        for (AstLayerImpl *l : layers) {
            if (k.placement == AdapterPlacement::Houlsby)
                l->adapter_mhsa = make(*l, "adapter_mhsa");
            l->adapter_ffn = make(*l, "adapter_ffn");
            l->adapterSequential = k.mode == AdapterMode::Sequential;
            l->adapterResidual = k.residual;
        }
        break;
    }
    }

    // The paper's head: mean over all tokens, Linear, PyTorch's default init.
    AstConfig headConfig = c;
    headConfig.labels = labels;
    AstHead head(headConfig, HeadKind::MeanTokens, int(labels.size()));
    init.torchDefault(head->dense->weight, head->dense->bias);
    place(*head);
    if (model->classifier)
        model->classifier = AstHead(model->replace_module("classifier", head));
    else
        model->classifier = model->register_module("classifier", head);
    ast.config.labels = labels;

    // requires_grad: the new modules registered above are trainable (register_parameter's
    // default); now the backbone tensors each method trains, and the head.
    auto train = [](torch::nn::Module &m) {
        for (auto &p : m.parameters())
            p.set_requires_grad(true);
    };
    switch (peft.method) {
    case PeftMethod::Full:
        train(*model);
        break;
    case PeftMethod::BitFit:
        // Every Linear and LayerNorm bias of the encoder (q, k, v, attention output,
        // intermediate, output, LN_before, LN_after) and the final LN bias; not the patch
        // Conv2d bias, not the final LN weight.
        for (auto &item : ast.encoder->named_parameters())
            if (item.key().ends_with(".bias"))
                item.value().set_requires_grad(true);
        ast.layernorm->bias.set_requires_grad(true);
        break;
    case PeftMethod::Adapter:
        for (AstLayerImpl *l : layers) {
            train(*l->layernorm_after);
            if (peft.adapter.placement == AdapterPlacement::Houlsby)
                train(*l->layernorm_before);
        }
        train(*ast.layernorm);
        break;
    default:
        train(*ast.layernorm);
        break;
    }
    train(*model->classifier);
}

std::int64_t countTrainable(const torch::nn::Module &module)
{
    std::int64_t n = 0;
    for (const auto &p : module.parameters())
        if (p.requires_grad())
            n += p.numel();
    return n;
}

std::vector<std::string> trainableParameterNames(const torch::nn::Module &module)
{
    std::vector<std::string> names;
    for (const auto &item : module.named_parameters())
        if (item.value().requires_grad())
            names.push_back(item.key());
    return names;
}

} // namespace astpeft::core
