#!/usr/bin/python3
"""Convert an HF model folder's pytorch_model.bin (pickle) into model.safetensors.

Usage
-----
    /usr/bin/python3 tools/convert_pickle_to_safetensors.py MODEL_DIR [--force]

Reads MODEL_DIR/pytorch_model.bin (or the shards listed in
pytorch_model.bin.index.json) and writes MODEL_DIR/model.safetensors with the
same key names, dtypes and shapes (contiguous copies, sorted names, header
padded to 8 bytes; writer from tools/make_random_ast.py).  An existing
model.safetensors is only replaced with --force.

WARNING: pickle files can execute arbitrary code when loaded.  The file is
loaded with torch.load(..., weights_only=True) when this torch supports it
(torch >= 1.13), which refuses anything but tensors and plain containers;
with older torch the loader falls back to a full unpickle, which is only safe
for files you trust.  Convert only checkpoints from trusted sources.
"""

import argparse
import inspect
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_random_ast import write_safetensors  # noqa: E402

TORCH_TO_ST = {
    torch.float32: ("F32", np.dtype("<f4")),
    torch.float16: ("F16", np.dtype("<f2")),
    torch.float64: ("F64", np.dtype("<f8")),
    torch.int64: ("I64", np.dtype("<i8")),
    torch.int32: ("I32", np.dtype("<i4")),
    torch.int16: ("I16", np.dtype("<i2")),
    torch.int8: ("I8", np.dtype("i1")),
    torch.uint8: ("U8", np.dtype("u1")),
    torch.bool: ("BOOL", np.dtype("?")),
}


def load_pickle(path):
    kwargs = {"map_location": "cpu"}
    if "weights_only" in inspect.signature(torch.load).parameters:
        kwargs["weights_only"] = True
    else:
        print(f"WARNING: this torch ({torch.__version__}) has no weights_only; {path} is fully "
              "unpickled, which can run arbitrary code. Only convert trusted files.", file=sys.stderr)
    obj = torch.load(path, **kwargs)
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{path}: expected a flat state dict of tensors")
    return obj


def tensor_entry(name, t):
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
        return "BF16", list(t.shape), raw
    if t.dtype not in TORCH_TO_ST:
        raise ValueError(f"{name}: unsupported dtype {t.dtype}")
    tag, np_dt = TORCH_TO_ST[t.dtype]
    return tag, list(t.shape), np.ascontiguousarray(t.numpy(), dtype=np_dt).tobytes()


def main():
    ap = argparse.ArgumentParser(description="pytorch_model.bin -> model.safetensors (trusted files only)")
    ap.add_argument("model_dir")
    ap.add_argument("--force", action="store_true", help="overwrite an existing model.safetensors")
    a = ap.parse_args()

    out = os.path.join(a.model_dir, "model.safetensors")
    if os.path.exists(out) and not a.force:
        sys.exit(f"error: {out} exists (use --force to overwrite)")
    index = os.path.join(a.model_dir, "pytorch_model.bin.index.json")
    single = os.path.join(a.model_dir, "pytorch_model.bin")
    if os.path.exists(single):
        files = [single]
    elif os.path.exists(index):
        with open(index) as f:
            files = [os.path.join(a.model_dir, s) for s in sorted(set(json.load(f)["weight_map"].values()))]
    else:
        sys.exit(f"error: no pytorch_model.bin in {a.model_dir}")

    print("WARNING: loading a pickle checkpoint. Pickle can execute code; only convert files from "
          "sources you trust (torch.load weights_only=True is used where available).", file=sys.stderr)
    entries = {}
    for path in files:
        sd = load_pickle(path)
        for k, t in sd.items():
            if k in entries:
                sys.exit(f"error: duplicate key {k} in {path}")
            entries[k] = tensor_entry(k, t)
        del sd
    write_safetensors(out, entries, metadata={"format": "pt"})
    n = sum(int(np.prod(e[1])) for e in entries.values())
    print(f"wrote {out}: {len(entries)} tensors, {n} elements, {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main()
