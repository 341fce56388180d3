#!/usr/bin/python3
"""Independent plain-PyTorch reference of Hugging Face's ASTForAudioClassification.

Usage
-----
    /usr/bin/python3 tools/ast_reference.py MODEL_DIR INPUT.npy OUT.npy [--threads N]

MODEL_DIR   an HF model folder with config.json and model.safetensors
            (F32, F16 or BF16 tensors; use tools/convert_pickle_to_safetensors.py
            for folders that only have pytorch_model.bin).
INPUT.npy   float32 [T,128] or [B,T,128] normalised fbank features with
            T == config max_length (HF ASTFeatureExtractor output).
OUT.npy     float32 [B, num_labels] logits of the HF head.

The model runs in float64 (weights and input cast to float64) to give a precise
reference; a float32 run is done too and max |float32 - float64| over the logits
is printed for information.  `transformers` is not used.

The model (see docs/paper.md section 1.3):
  patch Conv2d(1, d, 16x16, stride (fstride, tstride)) over x.unsqueeze(1).transpose(2,3),
  tokens frequency-major (flatten(2).transpose(1,2)), [cls, dist] prepended,
  + position embeddings, L pre-LN layers (MHSA, exact erf GELU MLP), final LayerNorm,
  HF head: pooled = (h[:,0] + h[:,1]) / 2 -> classifier.layernorm -> classifier.dense.

This file is also a module: bench/py_ast_forward.py and tools/make_random_ast.py
import load_config(), SafetensorsFile / read_safetensors(), ASTReference and load_model().
"""

import argparse
import copy
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

PREFIX = "audio_spectrogram_transformer."


class StateDictError(ValueError):
    """The checkpoint's keys or shapes do not match the model built from config.json."""


# ---------------------------------------------------------------- safetensors
_ST_DTYPES = {"F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": ("<u2", 2), "F64": ("<f8", 8)}


class SafetensorsFile:
    """Minimal streaming safetensors reader (F32, F16, BF16, F64 -> numpy).

    Format: u64 little-endian header length N, N bytes of JSON header
    {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
    then the data buffer; offsets are relative to the start of the buffer.
    F16 and BF16 are widened exactly to float32 (BF16: the 16 bits are shifted
    into the high half of a float32).  Tensors are read one at a time.
    """

    def __init__(self, path):
        self.path = path
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise ValueError(f"{path}: too short for a safetensors file")
            n = int.from_bytes(head, "little")
            if n <= 0 or 8 + n > size:
                raise ValueError(f"{path}: bad header length {n}")
            header = json.loads(f.read(n).decode("utf-8"))
        self.data_start = 8 + n
        data_len = size - self.data_start
        self.metadata = header.pop("__metadata__", {}) or {}
        self.info = {}
        for name, info in header.items():
            dt = info["dtype"]
            if dt not in _ST_DTYPES:
                raise ValueError(f"{path}: tensor {name}: unsupported dtype {dt} "
                                 "(supported: F32, F16, BF16, F64)")
            shape = tuple(int(s) for s in info["shape"])
            b, e = (int(v) for v in info["data_offsets"])
            count = int(np.prod(shape)) if shape else 1
            if not (0 <= b <= e <= data_len) or e - b != count * _ST_DTYPES[dt][1]:
                raise ValueError(f"{path}: tensor {name}: bad data_offsets {b}..{e} for {dt}{list(shape)}")
            self.info[name] = (dt, shape, b, e)

    def keys(self):
        return self.info.keys()

    def shape(self, name):
        return self.info[name][1]

    def get(self, name, f=None):
        dt, shape, b, e = self.info[name]
        own = f is None
        if own:
            f = open(self.path, "rb")
        try:
            f.seek(self.data_start + b)
            raw = f.read(e - b)
        finally:
            if own:
                f.close()
        arr = np.frombuffer(raw, dtype=_ST_DTYPES[dt][0]).reshape(shape)
        if dt == "BF16":
            return (arr.astype(np.uint32) << 16).view(np.float32)
        if dt == "F16":
            return arr.astype(np.float32)
        return arr.copy()

    def items(self):
        with open(self.path, "rb") as f:
            for name in self.info:
                yield name, self.get(name, f)


def read_safetensors(path):
    """Whole file -> dict name -> numpy array (float32; float64 for F64)."""
    return dict(SafetensorsFile(path).items())


# ---------------------------------------------------------------------- config
class ASTConfig:
    def __init__(self, d):
        self.raw = d
        self.hidden_size = int(d.get("hidden_size", 768))
        self.num_hidden_layers = int(d.get("num_hidden_layers", 12))
        self.num_attention_heads = int(d.get("num_attention_heads", 12))
        self.intermediate_size = int(d.get("intermediate_size", 3072))
        self.hidden_act = d.get("hidden_act", "gelu")
        self.layer_norm_eps = float(d.get("layer_norm_eps", 1e-12))
        self.patch_size = int(d.get("patch_size", 16))
        self.qkv_bias = bool(d.get("qkv_bias", True))
        self.frequency_stride = int(d.get("frequency_stride", 10))
        self.time_stride = int(d.get("time_stride", 10))
        self.max_length = int(d.get("max_length", 1024))
        self.num_mel_bins = int(d.get("num_mel_bins", 128))
        if "id2label" in d:
            self.num_labels = len(d["id2label"])
        else:
            self.num_labels = int(d.get("num_labels", 2))  # HF PretrainedConfig default
        if self.hidden_act != "gelu":
            raise ValueError(f"hidden_act {self.hidden_act!r} not supported (only exact erf 'gelu')")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError("hidden_size must be a multiple of num_attention_heads")
        if self.num_labels <= 0:
            raise ValueError("num_labels must be > 0 (HF would use an Identity head)")

    @property
    def f_out(self):
        return (self.num_mel_bins - self.patch_size) // self.frequency_stride + 1

    @property
    def t_out(self):
        return (self.max_length - self.patch_size) // self.time_stride + 1

    @property
    def num_tokens(self):
        return 2 + self.f_out * self.t_out


def load_config(model_dir, max_length=None):
    with open(os.path.join(model_dir, "config.json")) as f:
        d = json.load(f)
    if max_length is not None:
        d = dict(d, max_length=int(max_length))
    return ASTConfig(d)


# ----------------------------------------------------------------------- model
# Module names mirror HF's so that state_dict() keys are exactly HF's key names.
class _SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h = c.num_attention_heads
        self.dh = c.hidden_size // c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size, bias=c.qkv_bias)
        self.key = nn.Linear(c.hidden_size, c.hidden_size, bias=c.qkv_bias)
        self.value = nn.Linear(c.hidden_size, c.hidden_size, bias=c.qkv_bias)

    def forward(self, x):
        b, n, d = x.shape

        def heads(t):  # [B,N,D] -> [B,H,N,dh]
            return t.reshape(b, n, self.h, self.dh).permute(0, 2, 1, 3)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh)
        probs = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v)  # [B,H,N,dh]
        return ctx.permute(0, 2, 1, 3).reshape(b, n, d)


class _Dense(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)


class _Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = _SelfAttention(c)
        self.output = _Dense(c.hidden_size, c.hidden_size)

    def forward(self, x):
        return self.output.dense(self.attention(x))


class _Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = _Attention(c)
        self.intermediate = _Dense(c.hidden_size, c.intermediate_size)
        self.output = _Dense(c.intermediate_size, c.hidden_size)
        self.layernorm_before = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.layernorm_after = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x):
        x = x + self.attention(self.layernorm_before(x))
        y = F.gelu(self.intermediate.dense(self.layernorm_after(x)))  # exact (erf) GELU
        return x + self.output.dense(y)


class _PatchEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.projection = nn.Conv2d(1, c.hidden_size, kernel_size=(c.patch_size, c.patch_size),
                                    stride=(c.frequency_stride, c.time_stride))

    def forward(self, x):  # x [B,T,F]
        x = x.unsqueeze(1).transpose(2, 3)  # [B,1,F,T]
        return self.projection(x).flatten(2).transpose(1, 2)  # [B, F'*T', D], frequency-major


class _Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.hidden_size))
        self.distillation_token = nn.Parameter(torch.zeros(1, 1, c.hidden_size))
        self.patch_embeddings = _PatchEmbeddings(c)
        self.position_embeddings = nn.Parameter(torch.zeros(1, c.num_tokens, c.hidden_size))

    def forward(self, x):
        b = x.shape[0]
        p = self.patch_embeddings(x)
        t = torch.cat([self.cls_token.expand(b, -1, -1), self.distillation_token.expand(b, -1, -1), p], dim=1)
        return t + self.position_embeddings


class _Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([_Layer(c) for _ in range(c.num_hidden_layers)])


class _ASTModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = _Embeddings(c)
        self.encoder = _Encoder(c)
        self.layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, x):
        h = self.embeddings(x)
        for layer in self.encoder.layer:
            h = layer(h)
        return self.layernorm(h)


class _Head(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dense = nn.Linear(c.hidden_size, c.num_labels)


class ASTReference(nn.Module):
    """ASTForAudioClassification: input [B, max_length, num_mel_bins] -> logits [B, num_labels]."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.audio_spectrogram_transformer = _ASTModel(config)
        self.classifier = _Head(config)

    def hidden_states(self, x):
        """Final-layernormed sequence output [B, 2 + F'*T', D]."""
        c = self.config
        if x.dim() != 3 or x.shape[1] != c.max_length or x.shape[2] != c.num_mel_bins:
            raise ValueError(f"input must be [B, {c.max_length}, {c.num_mel_bins}], got {list(x.shape)}")
        return self.audio_spectrogram_transformer(x)

    def forward(self, x):
        h = self.hidden_states(x)
        pooled = (h[:, 0] + h[:, 1]) / 2
        return self.classifier.dense(self.classifier.layernorm(pooled))


def load_state(model, source, reset_position_embeddings=False):
    """Strictly copy checkpoint tensors into the model.

    source: a dict name -> numpy array, or a SafetensorsFile (streamed one tensor at
    a time, so loading needs about one copy of the weights).  Raises StateDictError
    listing missing/unexpected keys or shape mismatches.  reset_position_embeddings
    =True drops a checkpoint position_embeddings whose shape does not match (as
    PETL_AST's ignore_mismatched_sizes does) and keeps zeros.
    """
    params = dict(model.state_dict())
    pos_key = PREFIX + "embeddings.position_embeddings"
    streamed = isinstance(source, SafetensorsFile)
    names = set(source.keys())
    missing = sorted(set(params) - names)
    unexpected = sorted(names - set(params))
    if missing or unexpected:
        msg = ["state dict does not match ASTForAudioClassification:"]
        if missing:
            msg.append(f"  missing keys ({len(missing)}): " + ", ".join(missing))
        if unexpected:
            msg.append(f"  unexpected keys ({len(unexpected)}): " + ", ".join(unexpected))
        raise StateDictError("\n".join(msg))
    bad, skip = [], set()
    for k, p in params.items():
        shape = tuple(source.shape(k) if streamed else source[k].shape)
        if shape != tuple(p.shape):
            if k == pos_key and reset_position_embeddings:
                skip.add(k)
                print(f"note: {k} {list(shape)} != model {list(p.shape)}; left as zeros", file=sys.stderr)
            else:
                bad.append(f"  {k}: checkpoint {list(shape)} vs model {list(p.shape)}")
    if bad:
        hint = ""
        if any(pos_key in b for b in bad):
            hint = ("\n  (position_embeddings must have 2 + F'*T' rows for config max_length "
                    f"{model.config.max_length})")
        raise StateDictError("shape mismatch:\n" + "\n".join(bad) + hint)
    with torch.no_grad():
        items = source.items() if streamed else ((k, source[k]) for k in params)
        for k, a in items:
            p = params[k]
            if k in skip:
                p.zero_()
            else:
                p.copy_(torch.from_numpy(np.ascontiguousarray(a)).to(p.dtype))


def load_model(model_dir, dtype=torch.float32, max_length=None, tensors=None):
    """Build and load the reference model from an HF folder.

    tensors: optional dict from read_safetensors() (else model.safetensors is streamed).
    max_length overrides config.json's; if it changes the token count, the
    checkpoint's position embeddings are dropped (zeros), like PETL_AST.
    """
    cfg_file = load_config(model_dir)
    cfg = load_config(model_dir, max_length)
    if tensors is None:
        st = os.path.join(model_dir, "model.safetensors")
        if not os.path.exists(st):
            raise FileNotFoundError(f"{st} not found (convert pytorch_model.bin with "
                                    "tools/convert_pickle_to_safetensors.py)")
        tensors = SafetensorsFile(st)
    model = ASTReference(cfg)
    load_state(model, tensors, reset_position_embeddings=(cfg.num_tokens != cfg_file.num_tokens))
    model = model.to(dtype)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


# ------------------------------------------------------------------------- CLI
def main(argv=None):
    ap = argparse.ArgumentParser(description="Plain-PyTorch reference of HF ASTForAudioClassification")
    ap.add_argument("model_dir")
    ap.add_argument("input", help="float32 .npy [T,128] or [B,T,128]")
    ap.add_argument("output", help="float32 .npy logits [B,num_labels]")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = ap.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    x = np.load(args.input)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        sys.exit(f"error: input must be [T,128] or [B,T,128], got shape {list(x.shape)}")
    if x.dtype != np.float32:
        print(f"note: input dtype {x.dtype} cast to float32", file=sys.stderr)
        x = x.astype(np.float32)

    cfg = load_config(args.model_dir)
    if x.shape[1] != cfg.max_length or x.shape[2] != cfg.num_mel_bins:
        sys.exit(f"error: input is {list(x.shape)}, model needs [B, {cfg.max_length}, {cfg.num_mel_bins}]")

    try:
        m32 = load_model(args.model_dir, torch.float32)
    except (ValueError, FileNotFoundError) as e:
        sys.exit(f"error: {e}")
    m64 = copy.deepcopy(m32).to(torch.float64)
    with torch.inference_mode():
        xt = torch.from_numpy(x)
        y64 = m64(xt.to(torch.float64))
        y32 = m32(xt)
    diff = (y32.double() - y64).abs().max().item()
    out = y64.to(torch.float32).numpy()
    np.save(args.output, out)
    print(f"logits {list(out.shape)} written to {args.output}; "
          f"max |float32 - float64| = {diff:.3e} (max |logit| = {y64.abs().max().item():.3e})")


if __name__ == "__main__":
    main()
