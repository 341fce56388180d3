// SPDX-License-Identifier: MIT
#include "peft/peft_config.h"

#include "error.h"

#include <cctype>
#include <cmath>
#include <functional>
#include <sstream>

namespace astpeft::core {

namespace {

struct MethodInfo
{
    PeftMethod method;
    const char *name;
    const char *summary;
};

const MethodInfo kMethods[] = {
    { PeftMethod::Full, "full",
        "Full fine-tuning: every backbone parameter and the head are trained." },
    { PeftMethod::Linear, "linear",
        "Linear probing: only the final LayerNorm and the head are trained." },
    { PeftMethod::BitFit, "bitfit",
        "BitFit: every Linear and LayerNorm bias plus the head are trained." },
    { PeftMethod::PromptShallow, "prompt-shallow",
        "Shallow prompt tuning: n learned tokens replace the distillation token at the input." },
    { PeftMethod::PromptDeep, "prompt-deep",
        "Deep prompt tuning: n learned tokens per layer, overwritten before each layer." },
    { PeftMethod::Prefix, "prefix",
        "Prefix tuning: learned key and value tokens per layer, after the cls position." },
    { PeftMethod::Lora, "lora",
        "LoRA: low-rank updates of the attention projections (q, k, v, o) of every layer." },
    { PeftMethod::Adapter, "adapter",
        "Adapters: small bottleneck or Conformer modules beside the FFN (and MHSA) of every "
        "layer." },
};

std::string withThousands(std::int64_t n)
{
    std::string digits = std::to_string(n < 0 ? -n : n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0)
            out.push_back(',');
        out.push_back(digits[i]);
    }
    return n < 0 ? "-" + out : out;
}

std::int64_t adapterSize(const AdapterKnobs &a, std::int64_t d)
{
    const std::int64_t r = a.bottleneck;
    if (a.block == AdapterBlock::Bottleneck)
        return d * r + r + r * d + d;
    // LayerNorm(D), pointwise D->2r, depthwise r x k, BatchNorm(r), pointwise r->D
    return 2 * d + (d * 2 * r + 2 * r) + (r * a.kernel + r) + 2 * r + (r * d + d);
}

} // namespace

std::string methodName(PeftMethod method)
{
    for (const MethodInfo &m : kMethods) {
        if (m.method == method)
            return m.name;
    }
    return "?";
}

std::string methodSummary(PeftMethod method)
{
    for (const MethodInfo &m : kMethods) {
        if (m.method == method)
            return m.summary;
    }
    return {};
}

std::vector<PeftMethod> allMethods()
{
    std::vector<PeftMethod> out;
    for (const MethodInfo &m : kMethods)
        out.push_back(m.method);
    return out;
}

PeftMethod parseMethod(const std::string &name)
{
    std::string valid;
    for (const MethodInfo &m : kMethods) {
        if (name == m.name)
            return m.method;
        valid += (valid.empty() ? "" : ", ") + std::string(m.name);
    }
    throw Error(ErrorKind::Usage, "unknown method '" + name + "' (" + valid + ")");
}

PeftConfig paperSetting(PeftMethod method, AdapterBlock block)
{
    PeftConfig c;
    c.method = method;
    c.lora = LoraKnobs {};
    c.adapter.block = block;
    c.adapter.placement = AdapterPlacement::Pfeiffer;
    c.adapter.mode = AdapterMode::Parallel;
    c.adapter.residual = false;
    c.adapter.bottleneck = block == AdapterBlock::Bottleneck ? 12 : 8;
    c.adapter.kernel = 31;
    c.prompts = method == PeftMethod::PromptShallow ? 300 : 25;
    c.prefixTokens = 24;
    return c;
}

double paperLearningRate(PeftMethod method)
{
    switch (method) {
    case PeftMethod::Full:
        return 5e-5;
    case PeftMethod::Linear:
        return 1e-3;
    case PeftMethod::PromptShallow:
    case PeftMethod::PromptDeep:
    case PeftMethod::Prefix:
        return 1e-2;
    case PeftMethod::BitFit:
    case PeftMethod::Lora:
    case PeftMethod::Adapter:
        return 5e-3;
    }
    return 5e-3;
}

std::int64_t ParameterBreakdown::total() const
{
    return methodModules + layerNorms + finalLayerNorm + biases + backboneWeights + head;
}

std::int64_t ParameterBreakdown::paperCount() const
{
    // The paper leaves the final LayerNorm out of the PEFT counts, but counts it for linear
    // probing (with the head), for BitFit (its bias) and for full fine-tuning.
    const bool keepsFinalNorm = backboneWeights > 0 || biases > 0 || methodModules == 0;
    return withoutHead() - (keepsFinalNorm ? 0 : finalLayerNorm);
}

double ParameterBreakdown::shareOfBackbone() const
{
    return backbone > 0 ? double(withoutHead()) / double(backbone) : 0.0;
}

std::int64_t ParameterBreakdown::adapterFileBytes() const
{
    // float32 tensors plus the safetensors header (about 2 KB for a 12-layer adapter).
    return 4 * total() + 2048;
}

ParameterBreakdown countParameters(
    const AstConfig &c, const PeftConfig &p, int numLabels, HeadKind head)
{
    const std::int64_t d = c.hiddenSize, layers = c.numHiddenLayers, inter = c.intermediateSize;
    ParameterBreakdown b;
    b.backbone = backboneParameterCount(c);
    if (numLabels > 0)
        b.head = (head == HeadKind::Hf ? 2 * d : 0) + d * numLabels + numLabels;
    const std::int64_t finalNorm = 2 * d;
    switch (p.method) {
    case PeftMethod::Full:
        b.layerNorms = layers * 4 * d;
        b.finalLayerNorm = finalNorm;
        b.backboneWeights = b.backbone - b.layerNorms - b.finalLayerNorm;
        break;
    case PeftMethod::Linear:
        b.finalLayerNorm = finalNorm;
        break;
    case PeftMethod::BitFit:
        // q, k, v (when they have biases), attention output, intermediate, output, LN1, LN2;
        // plus the final LayerNorm's bias. The patch-embedding conv bias stays frozen.
        b.biases = layers * ((c.qkvBias ? 3 * d : 0) + d + inter + d + 2 * d) + d;
        break;
    case PeftMethod::PromptShallow:
        b.methodModules = std::int64_t(p.prompts) * d;
        b.finalLayerNorm = finalNorm;
        break;
    case PeftMethod::PromptDeep:
        b.methodModules = layers * std::int64_t(p.prompts) * d;
        b.finalLayerNorm = finalNorm;
        break;
    case PeftMethod::Prefix:
        b.methodModules = layers * std::int64_t(p.prefixTokens) * d;
        b.finalLayerNorm = finalNorm;
        break;
    case PeftMethod::Lora:
        b.methodModules = layers * std::int64_t(p.lora.targets.size()) * 2 * d * p.lora.rank;
        b.finalLayerNorm = finalNorm;
        break;
    case PeftMethod::Adapter: {
        const bool houlsby = p.adapter.placement == AdapterPlacement::Houlsby;
        b.methodModules = layers * (houlsby ? 2 : 1) * adapterSize(p.adapter, d);
        b.layerNorms = layers * (houlsby ? 4 : 2) * d;
        b.finalLayerNorm = finalNorm;
        break;
    }
    }
    return b;
}

std::int64_t parseBudget(const std::string &text, std::int64_t backboneParameters)
{
    const auto bad = [&] {
        return Error(ErrorKind::Usage,
            "budget '" + text + "' is not a count like 250000, 250k, 1.5M or a share like 0.3%");
    };
    if (text.empty())
        throw bad();
    std::size_t used = 0;
    double value = 0.0;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception &) {
        throw bad();
    }
    const std::string suffix = text.substr(used);
    double count = value;
    if (suffix == "%") {
        count = value / 100.0 * double(backboneParameters);
    } else if (suffix == "k" || suffix == "K") {
        count = value * 1e3;
    } else if (suffix == "m" || suffix == "M") {
        count = value * 1e6;
    } else if (!suffix.empty()) {
        throw bad();
    }
    if (!(count >= 1.0) || !std::isfinite(count))
        throw Error(ErrorKind::Usage, "budget '" + text + "' must be at least one parameter");
    if (count > kMaxBudget) {
        throw Error(ErrorKind::Usage,
            "budget '" + text + "' is more than " + withThousands(std::int64_t(kMaxBudget))
                + " parameters");
    }
    return std::int64_t(std::floor(count));
}

std::optional<KnobProblem> knobProblem(
    const PeftConfig &peft, const AstConfig &backbone, int maxLength)
{
    AstConfig sized = backbone;
    sized.maxLength = maxLength;
    const int tokens = sized.numTokens();
    const auto over = [](int value, int limit, const std::string &what) {
        return "is " + std::to_string(value) + "; at most " + std::to_string(limit) + " (" + what
            + ")";
    };
    switch (peft.method) {
    case PeftMethod::Lora:
        if (peft.lora.rank > backbone.hiddenSize) {
            return KnobProblem { "rank", "lora.rank",
                over(peft.lora.rank, backbone.hiddenSize, "the backbone's hidden size") };
        }
        break;
    case PeftMethod::Adapter:
        if (peft.adapter.bottleneck > backbone.hiddenSize) {
            return KnobProblem { "bottleneck", "adapter.bottleneck",
                over(peft.adapter.bottleneck, backbone.hiddenSize, "the backbone's hidden size") };
        }
        break;
    case PeftMethod::PromptShallow:
    case PeftMethod::PromptDeep:
        if (tokens + peft.prompts > kMaxTokens) {
            return KnobProblem { "prompts", "prompts",
                over(peft.prompts, kMaxTokens - tokens,
                    std::to_string(kMaxTokens) + " tokens with the input's "
                        + std::to_string(tokens)) };
        }
        break;
    case PeftMethod::Prefix:
        if (tokens + peft.prefixTokens / 2 > kMaxTokens) {
            return KnobProblem { "prefix-tokens", "prefix_tokens",
                over(peft.prefixTokens, 2 * (kMaxTokens - tokens),
                    std::to_string(kMaxTokens) + " keys with the input's " + std::to_string(tokens)
                        + " tokens") };
        }
        break;
    default:
        break;
    }
    return std::nullopt;
}

PeftConfig solveBudget(
    const AstConfig &c, const PeftConfig &base, std::int64_t budget, int numLabels, HeadKind head)
{
    PeftConfig best = base;
    // The knob of each method: its setter, smallest value, step, largest value and name.
    std::function<void(PeftConfig &, int)> set;
    int lo = 1, step = 1, hi = 0;
    std::string knob;
    switch (base.method) {
    case PeftMethod::Lora:
        set = [](PeftConfig &p, int v) { p.lora.rank = v; };
        hi = c.hiddenSize;
        knob = "rank";
        break;
    case PeftMethod::Adapter:
        set = [](PeftConfig &p, int v) { p.adapter.bottleneck = v; };
        hi = c.hiddenSize;
        knob = "bottleneck";
        break;
    case PeftMethod::PromptShallow:
    case PeftMethod::PromptDeep:
        set = [](PeftConfig &p, int v) { p.prompts = v; };
        hi = kMaxTokens - c.numTokens();
        knob = "prompts";
        break;
    case PeftMethod::Prefix:
        set = [](PeftConfig &p, int v) { p.prefixTokens = v; };
        lo = 2;
        step = 2;
        hi = 2 * (kMaxTokens - c.numTokens());
        knob = "prefix tokens";
        break;
    default: {
        const std::int64_t n = countParameters(c, base, numLabels, head).withoutHead();
        if (n > budget) {
            throw Error(ErrorKind::Usage,
                methodName(base.method) + " trains " + withThousands(n)
                    + " parameters without the head, over the budget of " + withThousands(budget));
        }
        return base;
    }
    }
    auto count = [&](int v) {
        PeftConfig p = base;
        set(p, v);
        return countParameters(c, p, numLabels, head).withoutHead();
    };
    if (count(lo) > budget) {
        throw Error(ErrorKind::Usage,
            "the smallest " + methodName(base.method) + " configuration (" + knob + " "
                + std::to_string(lo) + ") trains " + withThousands(count(lo))
                + " parameters without the head, over the budget of " + withThousands(budget));
    }
    // Counts grow strictly with the knob: binary search for the largest value within budget.
    int good = lo, over = hi + step;
    while (over - good > step) {
        const int mid = good + (over - good) / (2 * step) * step;
        if (mid == good)
            break;
        (count(mid) <= budget ? good : over) = mid;
    }
    set(best, good);
    return best;
}

} // namespace astpeft::core
