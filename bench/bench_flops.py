"""Model FLOPs and model FLOPs utilisation (MFU) of an AST training step, for the benchmarks.

Shared by bench/hf_peft_train.py (its "mfu" field) and the summaries of bench/gpu.sh (MFU of
every row, astpeft-bench's included, computed from its samples/s: astpeft-bench itself does
not report it).  Nothing here measures anything; it is arithmetic on the model's config.json.

Counting (a multiply-add is 2 FLOPs; only matrix products and convolutions are counted, as
usual for MFU: layer norms, softmax, GELU and the optimizer are left out):

  patch embedding   2 * P * p*p * D            P patches (f_dim * t_dim), p the patch size
  encoder layer     2*N*(4*D*D + 2*D*I)        q, k, v, output projections and the FFN
                    + 4*N*Nk*D                 Q K^T and probs V (Nk = N; N + prefix for prefix)
  head              2 * D * labels
  method modules    lora: 2 targets * 2*N*(D*r + r*D) per layer; adapters: their products

with N tokens (P + 2; prompt tuning replaces the distillation token by its prompts, so
N = P + 1 + prompts), hidden size D, FFN size I.  For AST-base (D 768, I 3072, 12 layers) at
max_length 1024 (N = 1214) that is about 260 GFLOP per sample; at max_length 100 (N = 110)
about 19 GFLOP.

Training FLOPs per sample (the usual estimate: a backward pass costs twice the forward pass,
once for the activation gradients and once for the weight gradients):

  full              3 * forward
  linear            forward + 2 * head               (no gradient flows into the encoder)
  other PEFT        forward                                    activation gradients through
                    + (forward - patch embedding)              every layer (the earliest
                    + attention products                       trainable tensor is in layer 0;
                    + method products + 2 * head               Q K^T and probs V need both
                                                               operands' gradients) + weight
                                                               gradients of what trains
                    i.e. about 2 x forward plus the trainable products' weight gradients
                    (prompts, prefixes, biases and layer norms have no products of their own)

Checked against torch.utils.flop_counter.FlopCounterMode on transformers' AST-base (eager
attention, one sample, forward + backward): forward equal; full 783.1 against 782.6 GFLOP at
max_length 1024; lora 577.5 against 570.9 (+1.2 %: layer 0 needs no input gradients of its
frozen q/k/v projections, which this estimate does not subtract).

MFU = samples/s * training FLOPs per sample / the device's peak dense FLOP/s for the
precision: bf16 autocast -> the bf16 tensor-core peak; fp32 -> the fp32 (non-tensor) peak, or
the TF32 tensor-core peak where TF32 products were allowed (astpeft allows them on CUDA, as
torch.set_float32_matmul_precision("high"); torch's default leaves them off).
The peaks are NVIDIA's datasheet dense (no sparsity) figures, keyed by the device's name.
"""

import json
import os

# Peak dense FLOP/s by device name: (substring of torch.cuda.get_device_name() / nvidia-smi's
# name, {precision: FLOP/s}).  The first match wins, so the more specific names come first.
PEAKS = (
    ("H100 PCIe", {"bf16": 756e12, "tf32": 378e12, "fp32": 51e12}),
    ("H100 NVL", None),  # not in this table: give --peak-flops / PEAK_FLOPS
    ("H100", {"bf16": 989e12, "tf32": 494e12, "fp32": 67e12}),  # SXM5 (e.g. "H100 80GB HBM3")
    ("H200", {"bf16": 989e12, "tf32": 494e12, "fp32": 67e12}),  # same compute as H100 SXM
    ("GH200", {"bf16": 989e12, "tf32": 494e12, "fp32": 67e12}),
    ("A100", {"bf16": 312e12, "tf32": 156e12, "fp32": 19.5e12}),
)

LORA_RANK = 6  # astpeft's and py_ast_train.py's paper setting (core/peft/peft_config.h LoraKnobs)
PROMPTS = {"prompt-shallow": 300, "prompt-deep": 25}
PREFIX_TOKENS = 12  # per layer, key and value each (paperSetting's prefixTokens 24 in all)
CONFORMER = (8, 31)  # adapter: bottleneck r, depthwise kernel
BOTTLENECK = 12  # adapter-bottleneck: r


def load_config(model_dir):
    """config.json of an HF-layout AST folder (or the folder of a given file)."""
    if os.path.isfile(model_dir):
        model_dir = os.path.dirname(model_dir)
    with open(os.path.join(model_dir, "config.json")) as f:
        return json.load(f)


def dims(config, max_length=None):
    """The sizes the counts need, from an AST config.json dict (HF's key names)."""
    c = config
    patch = c.get("patch_size", 16)
    mel = c.get("num_mel_bins", 128)
    length = max_length or c.get("max_length", 1024)
    f_dim = (mel - patch) // c.get("frequency_stride", 10) + 1
    t_dim = (length - patch) // c.get("time_stride", 10) + 1
    labels = c.get("num_labels") or len(c.get("id2label") or {}) or 10
    return {"D": c.get("hidden_size", 768), "I": c.get("intermediate_size", 3072),
            "layers": c.get("num_hidden_layers", 12), "patch": patch, "patches": f_dim * t_dim,
            "tokens": f_dim * t_dim + 2, "labels": labels, "max_length": length}


def _method_tokens(d, method):
    """Tokens the encoder layers see, and the key/value length of their attention."""
    n = d["tokens"]
    if method in PROMPTS:
        n = n - 1 + PROMPTS[method]
    return n, n + (PREFIX_TOKENS if method == "prefix" else 0)


def _module_matrix_params(d, method, lora_rank):
    """Parameters of the method's own per-token matrix products, all layers."""
    D, L = d["D"], d["layers"]
    if method == "lora":
        return L * 2 * (D * lora_rank + lora_rank * D)  # q and v
    if method == "adapter":
        r, k = CONFORMER
        return L * (D * 2 * r + r * k + r * D)  # pointwise D->2r, depthwise, pointwise r->D
    if method == "adapter-bottleneck":
        return L * 2 * D * BOTTLENECK
    return 0


def forward_parts(d, method="full", lora_rank=LORA_RANK):
    """Forward FLOPs per sample by part: {"embed", "linear" (the layers' projections and FFN),
    "attention" (Q K^T and probs V), "modules" (the method's products), "head"}."""
    D, I, L = d["D"], d["I"], d["layers"]
    n, nk = _method_tokens(d, method)
    return {"embed": 2 * d["patches"] * d["patch"] * d["patch"] * D,
            "linear": L * 2 * n * (4 * D * D + 2 * D * I),
            "attention": L * 4 * n * nk * D,
            "modules": 2 * n * _module_matrix_params(d, method, lora_rank),
            "head": 2 * D * d["labels"]}


def forward_flops(d, method="full", lora_rank=LORA_RANK):
    """Forward FLOPs per sample; returns (total, patch embedding part)."""
    p = forward_parts(d, method, lora_rank)
    return sum(p.values()), p["embed"]


def train_flops(d, method, lora_rank=LORA_RANK):
    """Training FLOPs per sample (see the module's docstring)."""
    p = forward_parts(d, method, lora_rank)
    fwd = sum(p.values())
    if method == "full":
        return 3 * fwd
    if method == "linear":
        return fwd + 2 * p["head"]
    # activation gradients: once more every product after the embedding, the attention's
    # products twice (both of their operands are activations); weight gradients: the
    # method's own products and the head
    return fwd + (fwd - p["embed"]) + p["attention"] + p["modules"] + 2 * p["head"]


def precision_of(dtype, tf32=False):
    """A JSON row's "dtype" ("fp32", "bf16", "bf16-autocast", "fp16") -> a key of PEAKS;
    fp32 with TF32 products allowed -> "tf32"."""
    dtype = (dtype or "fp32").lower()
    if dtype.startswith("bf16") or dtype.startswith("fp16"):
        return "bf16"  # fp16 has the same tensor-core peak as bf16 on these devices
    return "tf32" if tf32 else "fp32"


def peak_flops(device_name, dtype, override=None, tf32=False):
    """Peak dense FLOP/s for the device and precision; None where unknown (CPUs included)."""
    if override:
        return float(override)
    if not device_name:
        return None
    for key, peaks in PEAKS:
        if key.lower() in device_name.lower():
            return peaks[precision_of(dtype, tf32)] if peaks else None
    return None


def row_mfu(row, config, device_name, override=None, tf32=None):
    """Adds "train_gflop_per_sample", "model_tflops_per_s" and (where the peak is known) "mfu"
    and "peak_tflops" to a benchmark JSON row (py_ast_train.py, hf_peft_train.py or
    astpeft-bench train).  tf32: fp32 rows ran their products in TF32 (default: the row's
    "tf32" field)."""
    d = dims(config, row.get("max_length"))
    flops = train_flops(d, row["method"], row.get("lora_rank", LORA_RANK))
    achieved = row["samples_per_s"] * flops
    out = dict(row)
    out["train_gflop_per_sample"] = round(flops / 1e9, 3)
    out["model_tflops_per_s"] = round(achieved / 1e12, 3)
    peak = peak_flops(device_name, row.get("dtype"), override, row.get("tf32", False) if tf32 is None else tf32)
    if peak:
        out["mfu"] = round(achieved / peak, 4)
        out["peak_tflops"] = peak / 1e12
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Training FLOPs per sample of an AST config, per method")
    ap.add_argument("model_dir")
    ap.add_argument("--max-length", type=int, default=None)
    ap.add_argument("--method", default="full")
    a = ap.parse_args()
    dd = dims(load_config(a.model_dir), a.max_length)
    f, e = forward_flops(dd, a.method)
    print(json.dumps({"tokens": dd["tokens"], "forward_gflop": round(f / 1e9, 3),
                      "embedding_gflop": round(e / 1e9, 3),
                      "train_gflop": round(train_flops(dd, a.method) / 1e9, 3)}))
