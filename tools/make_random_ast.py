#!/usr/bin/python3
"""Write a randomly initialised AST classifier in Hugging Face folder layout.

Usage
-----
    /usr/bin/python3 tools/make_random_ast.py OUT_DIR [--hidden 768] [--layers 12] [--heads 12]
        [--intermediate 3072] [--max-length 100] [--labels 5] [--seed 0] [--dtype F32|F16|BF16]
        [--fstride 10] [--tstride 10] [--eps 1e-12] [--cross-check]

OUT_DIR receives
  config.json        HF spelling (model_type "audio-spectrogram-transformer",
                     architectures ["ASTForAudioClassification"], id2label, label2id, ...)
  model.safetensors  HF key names (audio_spectrogram_transformer.* and classifier.*),
                     tensors in sorted name order, contiguous offsets, header padded
                     with spaces to a multiple of 8.

Weights (numpy default_rng(seed), deterministic): matrices, conv kernel and biases
~ N(0, 0.02); LayerNorm weights 1 + N(0, 0.1), LayerNorm biases N(0, 0.02);
cls / distillation tokens and position embeddings ~ N(0, 0.02).  F16/BF16 store
the float32 values rounded to nearest even.

--cross-check  re-reads the folder and compares tools/ast_reference.py (float64)
               with an independent computation (patch embedding via F.unfold + matmul,
               encoder layers via torch.nn.TransformerEncoderLayer(norm_first=True)
               with torch.nn.MultiheadAttention, hand-written head), checks the
               safetensors round trip and BF16 rounding against torch, and prints
               float32-vs-float64 agreement.  Exit status 1 on failure.

This file also provides the minimal safetensors writer used by
tools/convert_pickle_to_safetensors.py (write_safetensors, encode_float_array).
"""

import argparse
import json
import os
import sys

import numpy as np

# --------------------------------------------------------------- safetensors
DTYPE_TORCH_NAME = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


def f32_to_bf16_bits(a):
    """float32 array -> uint16 bfloat16 bit patterns, round to nearest even (NaN kept NaN)."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    u = a.view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(a)
    if nan.any():
        rounded[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)
    return rounded


def encode_float_array(a, dtype):
    """float array -> (dtype tag, shape, little-endian bytes) for write_safetensors."""
    a = np.asarray(a)
    if dtype == "F32":
        raw = np.ascontiguousarray(a, dtype="<f4").tobytes()
    elif dtype == "F16":
        raw = np.ascontiguousarray(a.astype(np.float32), dtype="<f2").tobytes()
    elif dtype == "BF16":
        raw = f32_to_bf16_bits(a).astype("<u2").tobytes()
    elif dtype == "F64":
        raw = np.ascontiguousarray(a, dtype="<f8").tobytes()
    else:
        raise ValueError(f"unsupported dtype {dtype}")
    return dtype, list(a.shape), raw


def write_safetensors(path, entries, metadata=None):
    """entries: dict name -> (dtype tag, shape, raw bytes).  Sorted names, contiguous data."""
    header = {}
    offset = 0
    names = sorted(entries)
    for name in names:
        dt, shape, raw = entries[name]
        header[name] = {"dtype": dt, "shape": [int(s) for s in shape], "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    header = dict({"__metadata__": dict(metadata or {"format": "pt"})}, **header)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((-len(hb)) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(hb).to_bytes(8, "little"))
        f.write(hb)
        for name in names:
            f.write(entries[name][2])
    os.replace(tmp, path)


# ---------------------------------------------------------------- random AST
def hf_key_shapes(hidden, layers, intermediate, labels, num_tokens, patch=16):
    P = "audio_spectrogram_transformer."
    s = [
        (P + "embeddings.cls_token", [1, 1, hidden]),
        (P + "embeddings.distillation_token", [1, 1, hidden]),
        (P + "embeddings.position_embeddings", [1, num_tokens, hidden]),
        (P + "embeddings.patch_embeddings.projection.weight", [hidden, 1, patch, patch]),
        (P + "embeddings.patch_embeddings.projection.bias", [hidden]),
    ]
    for i in range(layers):
        L = f"{P}encoder.layer.{i}."
        s += [(L + "layernorm_before.weight", [hidden]), (L + "layernorm_before.bias", [hidden])]
        for n in ("query", "key", "value"):
            s += [(L + f"attention.attention.{n}.weight", [hidden, hidden]),
                  (L + f"attention.attention.{n}.bias", [hidden])]
        s += [(L + "attention.output.dense.weight", [hidden, hidden]), (L + "attention.output.dense.bias", [hidden]),
              (L + "layernorm_after.weight", [hidden]), (L + "layernorm_after.bias", [hidden]),
              (L + "intermediate.dense.weight", [intermediate, hidden]), (L + "intermediate.dense.bias", [intermediate]),
              (L + "output.dense.weight", [hidden, intermediate]), (L + "output.dense.bias", [hidden])]
    s += [(P + "layernorm.weight", [hidden]), (P + "layernorm.bias", [hidden]),
          ("classifier.layernorm.weight", [hidden]), ("classifier.layernorm.bias", [hidden]),
          ("classifier.dense.weight", [labels, hidden]), ("classifier.dense.bias", [labels])]
    return s


def random_weights(key_shapes, seed):
    rng = np.random.default_rng(seed)
    out = {}
    for k, shape in key_shapes:
        is_ln = ("layernorm" in k)
        if is_ln and k.endswith(".weight"):
            a = 1.0 + 0.1 * rng.standard_normal(shape)
        else:
            a = 0.02 * rng.standard_normal(shape)
        out[k] = a.astype(np.float32)
    return out


def make_config(a):
    labels = [f"label_{i}" for i in range(a.labels)]
    return {
        "architectures": ["ASTForAudioClassification"],
        "attention_probs_dropout_prob": 0.0,
        "frequency_stride": a.fstride,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "hidden_size": a.hidden,
        "id2label": {str(i): n for i, n in enumerate(labels)},
        "initializer_range": 0.02,
        "intermediate_size": a.intermediate,
        "label2id": {n: i for i, n in enumerate(labels)},
        "layer_norm_eps": a.eps,
        "max_length": a.max_length,
        "model_type": "audio-spectrogram-transformer",
        "num_attention_heads": a.heads,
        "num_hidden_layers": a.layers,
        "num_mel_bins": 128,
        "patch_size": 16,
        "qkv_bias": True,
        "time_stride": a.tstride,
        "torch_dtype": DTYPE_TORCH_NAME[a.dtype],
        "transformers_version": "4.28.1",
    }


# --------------------------------------------------------------- cross-check
def alternative_logits(tensors, cfg, x):
    """Independent float64 forward: unfold patches + nn.TransformerEncoderLayer + hand head."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    P = "audio_spectrogram_transformer."
    T = {k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in tensors.items()}
    d, ps = cfg.hidden_size, cfg.patch_size
    b = x.shape[0]
    spec = x.permute(0, 2, 1).unsqueeze(1)  # [B,1,F,T]
    cols = F.unfold(spec, kernel_size=(ps, ps), stride=(cfg.frequency_stride, cfg.time_stride))  # [B,256,L]
    w = T[P + "embeddings.patch_embeddings.projection.weight"].reshape(d, ps * ps)
    patches = torch.einsum("dk,bkl->bld", w, cols) + T[P + "embeddings.patch_embeddings.projection.bias"]
    assert patches.shape[1] == cfg.f_out * cfg.t_out
    h = torch.cat([T[P + "embeddings.cls_token"].expand(b, 1, d),
                   T[P + "embeddings.distillation_token"].expand(b, 1, d), patches], 1)
    h = h + T[P + "embeddings.position_embeddings"]
    for i in range(cfg.num_hidden_layers):
        L = f"{P}encoder.layer.{i}."
        layer = nn.TransformerEncoderLayer(d, cfg.num_attention_heads, cfg.intermediate_size, dropout=0.0,
                                           activation="gelu", layer_norm_eps=cfg.layer_norm_eps,
                                           batch_first=True, norm_first=True).double().eval()
        with torch.no_grad():
            sa = layer.self_attn
            sa.in_proj_weight.copy_(torch.cat([T[L + f"attention.attention.{n}.weight"] for n in ("query", "key", "value")]))
            sa.in_proj_bias.copy_(torch.cat([T[L + f"attention.attention.{n}.bias"] for n in ("query", "key", "value")]))
            sa.out_proj.weight.copy_(T[L + "attention.output.dense.weight"])
            sa.out_proj.bias.copy_(T[L + "attention.output.dense.bias"])
            layer.norm1.weight.copy_(T[L + "layernorm_before.weight"])
            layer.norm1.bias.copy_(T[L + "layernorm_before.bias"])
            layer.norm2.weight.copy_(T[L + "layernorm_after.weight"])
            layer.norm2.bias.copy_(T[L + "layernorm_after.bias"])
            layer.linear1.weight.copy_(T[L + "intermediate.dense.weight"])
            layer.linear1.bias.copy_(T[L + "intermediate.dense.bias"])
            layer.linear2.weight.copy_(T[L + "output.dense.weight"])
            layer.linear2.bias.copy_(T[L + "output.dense.bias"])
            h = layer(h)

    def ln(v, wk, bk):  # hand-written LayerNorm (biased variance)
        mu = v.mean(-1, keepdim=True)
        var = ((v - mu) ** 2).mean(-1, keepdim=True)
        return (v - mu) / torch.sqrt(var + cfg.layer_norm_eps) * T[wk] + T[bk]

    h = ln(h, P + "layernorm.weight", P + "layernorm.bias")
    pooled = 0.5 * (h[:, 0] + h[:, 1])
    z = ln(pooled, "classifier.layernorm.weight", "classifier.layernorm.bias")
    return z @ T["classifier.dense.weight"].T + T["classifier.dense.bias"]


def cross_check(out_dir, expected, dtype, seed):
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import ast_reference as ref

    ok = True
    tensors = ref.read_safetensors(os.path.join(out_dir, "model.safetensors"))
    # 1. round trip of the file (and BF16 rounding against torch's own conversion)
    for k, v in expected.items():
        if dtype == "F32":
            want = v
        elif dtype == "F16":
            want = v.astype(np.float16).astype(np.float32)
        else:
            want = torch.from_numpy(v).to(torch.bfloat16).to(torch.float32).numpy()
        if tensors[k].shape != v.shape or not np.array_equal(tensors[k], want):
            print(f"FAIL round trip {k}")
            ok = False
    print(f"safetensors round trip ({dtype}, {len(tensors)} tensors): {'ok' if ok else 'FAILED'}")

    cfg = ref.load_config(out_dir)
    rng = np.random.default_rng(seed + 1000)
    x = (0.5 * rng.standard_normal((2, cfg.max_length, cfg.num_mel_bins))).astype(np.float32)
    xt = torch.from_numpy(x)
    with torch.inference_mode():
        m64 = ref.load_model(out_dir, torch.float64, tensors=tensors)
        m32 = ref.load_model(out_dir, torch.float32, tensors=tensors)
        y64 = m64(xt.double())
        y32 = m32(xt)
        hs = m64.hidden_states(xt.double())
    with torch.no_grad():
        yalt = alternative_logits(tensors, cfg, xt.double())
    d_alt = (y64 - yalt).abs().max().item()
    d_32 = (y32.double() - y64).abs().max().item()
    scale = y64.abs().max().item()
    print(f"tokens {hs.shape[1]} (2 + {cfg.f_out}x{cfg.t_out}); logits {list(y64.shape)}, max |logit| {scale:.3e}")
    print(f"reference float64 vs alternative float64: max abs diff {d_alt:.3e}")
    print(f"reference float32 vs float64:             max abs diff {d_32:.3e}")
    # batch independence: row 1 alone equals row 1 of the batch
    with torch.inference_mode():
        y1 = m64(xt[1:2].double())
    d_b = (y1 - y64[1:2]).abs().max().item()
    print(f"batch independence (float64):             max abs diff {d_b:.3e}")
    if not (d_alt < 1e-9 * max(1.0, scale) and d_b < 1e-9 * max(1.0, scale)):
        ok = False
    if d_32 > 1e-3 * max(1.0, scale):
        print("FAIL float32 vs float64 disagreement larger than expected")
        ok = False
    print("cross-check:", "PASSED" if ok else "FAILED")
    return ok


def main():
    ap = argparse.ArgumentParser(description="Write a random HF-layout AST classifier folder")
    ap.add_argument("out_dir")
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--intermediate", type=int, default=3072)
    ap.add_argument("--max-length", type=int, default=100)
    ap.add_argument("--labels", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", choices=["F32", "F16", "BF16"], default="F32")
    ap.add_argument("--fstride", type=int, default=10)
    ap.add_argument("--tstride", type=int, default=10)
    ap.add_argument("--eps", type=float, default=1e-12)
    ap.add_argument("--cross-check", action="store_true", help="verify tools/ast_reference.py on the result")
    a = ap.parse_args()
    if a.hidden % a.heads:
        sys.exit("error: --hidden must be a multiple of --heads")
    if a.max_length < 16:
        sys.exit("error: --max-length must be >= 16 (patch size)")

    f_out = (128 - 16) // a.fstride + 1
    t_out = (a.max_length - 16) // a.tstride + 1
    num_tokens = 2 + f_out * t_out
    shapes = hf_key_shapes(a.hidden, a.layers, a.intermediate, a.labels, num_tokens)
    weights = random_weights(shapes, a.seed)

    os.makedirs(a.out_dir, exist_ok=True)
    with open(os.path.join(a.out_dir, "config.json"), "w") as f:
        json.dump(make_config(a), f, indent=2, sort_keys=True)
        f.write("\n")
    entries = {k: encode_float_array(v, a.dtype) for k, v in weights.items()}
    write_safetensors(os.path.join(a.out_dir, "model.safetensors"), entries)
    n_params = sum(v.size for v in weights.values())
    print(f"wrote {a.out_dir}: {len(weights)} tensors, {n_params} parameters, {a.dtype}, "
          f"{num_tokens} tokens (max_length {a.max_length})")
    if a.cross_check and not cross_check(a.out_dir, weights, a.dtype, a.seed):
        sys.exit(1)


if __name__ == "__main__":
    main()
