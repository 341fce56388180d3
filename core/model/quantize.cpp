// SPDX-License-Identifier: MIT
#include "model/quantize.h"

#include "error.h"

#include <ATen/core/dispatch/Dispatcher.h>

#include <mutex>

namespace astpeft::core {

namespace {

c10::OperatorHandle op(const char *name)
{
    return c10::Dispatcher::singleton().findSchemaOrThrow(name, "");
}

// W [out, in] fp32 -> int8 per output channel, symmetric (zero point 0, scale = max|w| / 127.5
// as PyTorch's default weight observer), packed once for the engine.
class Int8Linear final : public QuantizedLinear
{
public:
    Int8Linear(const torch::Tensor &weight, const torch::Tensor &bias)
    {
        const torch::NoGradGuard noGrad;
        const torch::Tensor w = weight.detach().to(torch::kCPU, torch::kFloat32).contiguous();
        const torch::Tensor scales =
            (w.abs().amax(1) / 127.5).clamp_min(1e-8).to(torch::kDouble).contiguous();
        const torch::Tensor zeros = torch::zeros({ w.size(0) }, torch::kLong);
        const torch::Tensor q = torch::quantize_per_channel(w, scales, zeros, 0, torch::kQInt8);
        torch::jit::Stack stack { q,
            bias.defined()
                ? c10::IValue(bias.detach().to(torch::kCPU, torch::kFloat32).contiguous())
                : c10::IValue() };
        op("quantized::linear_prepack").callBoxed(&stack);
        m_packed = stack.at(0);
        m_out = w.size(0);
    }

    torch::Tensor forward(const torch::Tensor &x) const override
    {
        // The operator takes 2-D activations; reduce_range keeps the u8 x s8 products of CPUs
        // without VNNI from saturating (PyTorch's default for dynamic Linear).
        const auto shape = x.sizes().vec();
        torch::jit::Stack stack { x.reshape({ -1, shape.back() }).contiguous(), m_packed, true };
        op("quantized::linear_dynamic").callBoxed(&stack);
        std::vector<std::int64_t> out(shape.begin(), shape.end());
        out.back() = m_out;
        return stack.at(0).toTensor().view(out);
    }

private:
    c10::IValue m_packed;
    std::int64_t m_out = 0;
};

} // namespace

std::string selectQuantizedEngine()
{
    static std::once_flag once;
    static std::string chosen;
    std::call_once(once, [] {
        const auto &engines = at::globalContext().supportedQEngines();
        for (const auto &[engine, name] : { std::pair { at::QEngine::ONEDNN, "onednn" },
                 std::pair { at::QEngine::FBGEMM, "fbgemm" },
                 std::pair { at::QEngine::QNNPACK, "qnnpack" } })
            if (std::find(engines.begin(), engines.end(), engine) != engines.end()) {
                at::globalContext().setQEngine(engine);
                chosen = name;
                return;
            }
    });
    if (chosen.empty())
        throw Error(ErrorKind::Unsupported,
            "this libtorch has no quantised CPU engine (oneDNN, FBGEMM or QNNPACK) for int8");
    return chosen;
}

void quantizeLinearsInt8(AstForAudioClassificationImpl &model)
{
    selectQuantizedEngine();
    for (const auto &module : *model.audio_spectrogram_transformer->encoder->layer) {
        AstLayerImpl &layer = *module->as<AstLayer>();
        AstSelfAttentionImpl &a = *layer.attention->attention;
        const torch::Tensor weight =
            torch::cat({ a.query->weight, a.key->weight, a.value->weight }, 0);
        const torch::Tensor bias = a.query->bias.defined()
            ? torch::cat({ a.query->bias, a.key->bias, a.value->bias }, 0)
            : torch::Tensor();
        a.int8Qkv = std::make_shared<Int8Linear>(weight, bias);
        for (AstDenseImpl *dense :
            { layer.attention->output.get(), layer.intermediate.get(), layer.output.get() })
            dense->int8 = std::make_shared<Int8Linear>(dense->dense->weight, dense->dense->bias);
    }
}

void dropInt8(AstForAudioClassificationImpl &model)
{
    for (const auto &module : *model.audio_spectrogram_transformer->encoder->layer) {
        AstLayerImpl &layer = *module->as<AstLayer>();
        layer.attention->attention->int8Qkv.reset();
        for (AstDenseImpl *dense :
            { layer.attention->output.get(), layer.intermediate.get(), layer.output.get() })
            dense->int8.reset();
    }
}

} // namespace astpeft::core
