#!/usr/bin/python3
"""Python baseline: AST forward latency with tools/ast_reference.py's model in float32.

Usage
-----
    /usr/bin/python3 bench/py_ast_forward.py MODEL_DIR [--max-length L [L ...]] [--runs 20]
        [--warmup 3] [--threads 2] [--bf16] [--seed 0]

MODEL_DIR is an HF folder (config.json + model.safetensors).  --max-length gives the
input lengths (frames) to time; default: the folder's own max_length.  A length
whose token count differs from the checkpoint's gets zero position embeddings
(as PETL_AST does); this does not change the cost.

Batch 1, torch.inference_mode(), torch.set_num_threads(--threads); --bf16 wraps the
forward in torch.autocast('cpu', dtype=torch.bfloat16).  After --warmup untimed
runs, --runs forwards are timed one by one with time.perf_counter.

Prints one JSON line per length:
  {"impl": "python", "max_length": L, "median_ms": .., "p95_ms": .., "peak_rss_mb": ..,
   "threads": .., "dtype": "fp32"|"bf16-autocast", "runs": .., "tokens": ..}
p95 is numpy's linearly interpolated 95th percentile.  peak_rss_mb is
resource.getrusage(RUSAGE_SELF).ru_maxrss (the process's peak so far, so with
several lengths it is cumulative; weights are streamed in, about one float32 copy).
"""

import argparse
import gc
import json
import os
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import ast_reference  # noqa: E402


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main():
    ap = argparse.ArgumentParser(description="AST forward latency baseline (plain PyTorch)")
    ap.add_argument("model_dir")
    ap.add_argument("--max-length", type=int, nargs="+", default=None)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", action="store_true", help="torch.autocast('cpu', dtype=torch.bfloat16)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.runs < 1:
        sys.exit("error: --runs must be >= 1")
    torch.set_num_threads(a.threads)

    lengths = a.max_length or [ast_reference.load_config(a.model_dir).max_length]
    for length in lengths:
        model = ast_reference.load_model(a.model_dir, torch.float32, max_length=length)
        cfg = model.config
        rng = np.random.default_rng(a.seed)
        x = torch.from_numpy((0.5 * rng.standard_normal((1, length, cfg.num_mel_bins))).astype(np.float32))
        times = []
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            for _ in range(a.warmup):
                model(x)
            for _ in range(a.runs):
                t0 = time.perf_counter()
                y = model(x)
                times.append(time.perf_counter() - t0)
        assert torch.isfinite(y.float()).all()
        ms = np.array(times) * 1000.0
        print(json.dumps({
            "impl": "python", "max_length": length,
            "median_ms": round(float(np.median(ms)), 3),
            "p95_ms": round(float(np.percentile(ms, 95)), 3),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "threads": a.threads, "dtype": "bf16-autocast" if a.bf16 else "fp32",
            "runs": a.runs, "tokens": cfg.num_tokens,
        }), flush=True)
        del model, x, y
        gc.collect()


if __name__ == "__main__":
    main()
