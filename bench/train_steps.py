"""The timed training loop that bench/py_ast_train.py and bench/hf_peft_train.py share, so that
both baselines measure a step exactly as astpeft-bench train does: forward under autocast,
cross-entropy, loss.item(), backward, the accuracy count, optimizer and scheduler step,
gradients dropped, a CUDA synchronisation; then the same JSON fields for the timings."""
import math
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def add_step_arguments(ap, methods):
    """The arguments both baselines take (those of astpeft-bench train)."""
    ap.add_argument("model_dir")
    ap.add_argument("--method", required=True, choices=methods)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--max-length", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", action="store_true", help="torch.autocast(device, dtype=torch.bfloat16) for the forward")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=10)


def random_batches(seed, batch, max_length, mel_bins, labels, count=4):
    """`count` batches of random normalised features and labels, cycled by time_steps (as
    astpeft-bench train cycles its pool)."""
    rng = np.random.default_rng(seed)
    pool = []
    for _ in range(count):
        x = torch.from_numpy((0.5 * rng.standard_normal((batch, max_length, mel_bins))).astype(np.float32))
        y = torch.from_numpy(rng.integers(0, labels, batch)).long()
        pool.append((x, y))
    return pool


def time_steps(forward, opt, sched, pool, device, warmup, total, bf16):
    """Runs `total` steps cycling over `pool` [(x, y)], `forward(x)` giving logits; returns
    the timing fields of the JSON line (over the steps after `warmup`) and the last loss."""
    cuda = device.type == "cuda"
    times, cpu, faults, phases = [], [], [], []  # phases: forward (to loss.item()), backward (+ accuracy), optimizer
    loss_value = float("nan")
    for t in range(total):
        t0, c0 = time.perf_counter(), time.process_time()
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        x, y = pool[t % len(pool)]
        x, y = x.to(device), y.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = forward(x).float()
        loss = F.cross_entropy(logits, y)
        loss_value = loss.item()
        t1 = time.perf_counter()
        loss.backward()
        (logits.argmax(1) == y).sum().item()
        t2 = time.perf_counter()
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        t3 = time.perf_counter()
        if t >= warmup:
            times.append(t3 - t0)
            cpu.append(time.process_time() - c0)
            faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
            phases.append((t1 - t0, t2 - t1, t3 - t2))
    if not math.isfinite(loss_value):
        sys.exit("error: the loss is not finite")
    ms = np.array(times) * 1000.0
    median = float(np.median(ms))
    fields = {
        "step_ms_median": round(median, 3), "step_ms_p95": round(float(np.percentile(ms, 95)), 3),
        "cpu_ms_median": round(float(np.median(cpu)) * 1000.0, 3),
        "page_faults_per_step": float(np.median(faults)),
        "forward_ms": round(float(np.median([p[0] for p in phases])) * 1000.0, 3),
        "backward_ms": round(float(np.median([p[1] for p in phases])) * 1000.0, 3),
        "optimizer_ms": round(float(np.median([p[2] for p in phases])) * 1000.0, 3),
    }
    return fields, median, loss_value
