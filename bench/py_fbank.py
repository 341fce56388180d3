#!/usr/bin/python3
"""Python baseline: torchaudio Kaldi fbank throughput (the HF ASTFeatureExtractor path).

Usage
-----
    /usr/bin/python3 bench/py_fbank.py [--threads 2] [--min-time 1.0] [--min-reps 5] [--warmup 2]

Per clip: torchaudio.compliance.kaldi.fbank(wav[None], htk_compat=True,
sample_frequency=16000, use_energy=False, window_type='hanning', num_mel_bins=128,
dither=0.0, frame_shift=10) followed by the AudioSet normalisation
(x + 4.2677393) / (4.5689974 * 2), as in tools/make_fbank_fixtures.py.

Prints one JSON line per case, for 1 s and 10 s clips:
  mode "single":  the same clip, one call per repetition;
  mode "batch32": 32 different clips processed by a Python loop per repetition.
Fields: impl, bench, clip_s, mode, clips, threads, reps, audio_s_per_s
(seconds of audio per wall-clock second over all timed repetitions),
ms_per_clip_median (median over repetitions of the time per clip).
Repetitions run until at least --min-time seconds and --min-reps repetitions.
"""

import argparse
import json
import time

import numpy as np
import torch
import torchaudio

SR = 16000
FBANK_KW = dict(htk_compat=True, sample_frequency=SR, use_energy=False, window_type="hanning",
                num_mel_bins=128, dither=0.0, frame_shift=10)
MEAN, STD = -4.2677393, 4.5689974


def features(wav):
    fb = torchaudio.compliance.kaldi.fbank(wav[None], **FBANK_KW)
    return (fb - MEAN) / (STD * 2)


def make_clips(n, seconds, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    clips = []
    for _ in range(n):
        x = 0.1 * rng.standard_normal(t.size) + 0.3 * np.sin(2 * np.pi * rng.uniform(100, 4000) * t)
        clips.append(torch.from_numpy(x.astype(np.float32)))
    return clips


def measure(clips, warmup, min_time, min_reps):
    for _ in range(warmup):
        for c in clips:
            features(c)
    per_rep = []
    total = 0.0
    while total < min_time or len(per_rep) < min_reps:
        t0 = time.perf_counter()
        for c in clips:
            features(c)
        dt = time.perf_counter() - t0
        per_rep.append(dt)
        total += dt
    return per_rep, total


def main():
    ap = argparse.ArgumentParser(description="torchaudio fbank throughput baseline")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds of timed work per case")
    ap.add_argument("--min-reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    with torch.inference_mode():
        for seconds in (1.0, 10.0):
            for mode, n in (("single", 1), ("batch32", 32)):
                clips = make_clips(n, seconds, a.seed)
                per_rep, total = measure(clips, a.warmup, a.min_time, a.min_reps)
                print(json.dumps({
                    "impl": "python", "bench": "fbank", "clip_s": seconds, "mode": mode, "clips": n,
                    "threads": a.threads, "reps": len(per_rep),
                    "audio_s_per_s": round(len(per_rep) * n * seconds / total, 3),
                    "ms_per_clip_median": round(float(np.median(per_rep)) * 1000.0 / n, 4),
                }), flush=True)


if __name__ == "__main__":
    main()
