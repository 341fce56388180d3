// SPDX-License-Identifier: MIT
// Dynamic int8 quantisation of the AST encoder's Linear layers for CPU inference
// (Precision::Int8): the fused QKV product and the attention output, intermediate and output
// projections of every layer get int8 weights (symmetric, per output channel); activations are
// quantised per call by the quantized::linear_dynamic operator of libtorch's quantised engine
// (oneDNN where available, else FBGEMM or QNNPACK). Core-internal: includes torch.
#pragma once

#include "model/ast.h"

namespace astpeft::core {

// The engine libtorch will use ("onednn", "fbgemm", "qnnpack"); selects it on first use.
// Throws core::Error(Unsupported) when this libtorch has no quantised CPU engine.
std::string selectQuantizedEngine();

// Attaches int8 versions to every encoder layer (AstDenseImpl::int8, AstSelfAttentionImpl::
// int8Qkv) from the current fp32 weights, which stay in place for training and export. Call
// after the weights are final (adapters loaded; LoRA branches stay fp32 beside the int8 base).
// Inference only: the training paths ignore the int8 versions.
void quantizeLinearsInt8(AstForAudioClassificationImpl &model);

// Removes them again (the model computes in fp32).
void dropInt8(AstForAudioClassificationImpl &model);

} // namespace astpeft::core
