#!/usr/bin/python3
"""Python baseline: one AST training step per PEFT method, in plain PyTorch.

Usage
-----
    /usr/bin/python3 bench/py_ast_train.py MODEL_DIR --method M [--batch 8] [--steps 10]
        [--warmup 2] [--max-length 100] [--threads 2] [--bf16] [--device cpu|cuda] [--seed 10]

The backbone is tools/ast_reference.py's model (HF's module tree and computation, loaded
from MODEL_DIR/model.safetensors; at a max_length other than the checkpoint's its position
embeddings are zeros, as in PETL_AST, which does not change the cost).  The method is attached
as docs/paper.md section 3 describes it, with the paper's settings and the requires_grad
policy of our core/peft/peft_modules.cpp applyPeft():

  full            everything, position embeddings included
  linear          final LayerNorm
  bitfit          every Linear and LayerNorm bias of the encoder and the final LN bias
  prompt-shallow  300 prompts replacing the distillation token after the embeddings; final LN
  prompt-deep     25 prompts, overwritten before each layer ([layers-1, 25, D] for 1..11); final LN
  prefix          12 key + 12 value tokens per layer in projected K/V space, after position 0
  lora            q and v, rank 6, alpha 16, scaling alpha/rank; up = 0 at init; final LN
  adapter         conformer, Pfeiffer (parallel to the FFN, fed by LN_after's output),
                  r = 8, kernel 31 'same', BatchNorm, SiLU; LN_after of every layer; final LN
  adapter-bottleneck  bottleneck r = 12, GELU, Pfeiffer parallel; LN_after; final LN

and always the paper's head: mean over all tokens, Linear (trained).  Every method runs the
same forward code (the reference's modules, attention written out so that LoRA and prefixes
can hook in; queries are scaled instead of the scores, as our C++ does).

A step, timed with time.perf_counter: forward (under torch.autocast('cpu', bfloat16) with
--bf16), cross-entropy, loss.item(), backward, the accuracy count, torch.optim.AdamW
(betas (0.9, 0.98), eps 1e-6, weight_decay 0.1, the method's paper learning rate; PyTorch's
default single-tensor implementation on CPU), CosineAnnealingLR.step(), zero_grad(set_to_none=True).
Inputs are random normalised features [B, T, 128] already in memory (4 batches, cycled).
torch.set_num_threads(--threads).

Prints one JSON line:
  {"impl": "python", "bench": "train", "method", "batch", "max_length", "tokens",
   "samples_per_s", "step_ms_median", "step_ms_p95", "cpu_ms_median", "page_faults_per_step",
   "forward_ms", "backward_ms", "optimizer_ms", "trainable", "peak_rss_mb", "threads",
   "dtype": "fp32"|"bf16-autocast", "device", "steps", "warmup", "loss"}
samples_per_s = batch / median step time (steps after --warmup); p95 is numpy's interpolated
95th percentile; cpu_ms_median the median of the process's CPU time per step (all threads:
less sensitive than wall time to other processes on a shared machine); forward_ms (to
loss.item()), backward_ms (with the accuracy count) and optimizer_ms are medians of the phases;
page_faults_per_step the median of getrusage's minor faults per step (memory the allocator
returned to the system and touches again); peak_rss_mb is getrusage's ru_maxrss; on CUDA also "peak_device_mb"
(torch.cuda.max_memory_allocated).  "trainable" counts parameters with requires_grad, head
included (compare with `astpeft params MODEL --method M --json`'s "trainable").
"""

import argparse
import contextlib
import io
import json
import math
import os
import resource
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import ast_reference  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_steps  # noqa: E402

METHODS = ("full", "linear", "bitfit", "prompt-shallow", "prompt-deep", "prefix", "lora",
           "adapter", "adapter-bottleneck")
LEARNING_RATE = {"full": 5e-5, "linear": 1e-3, "bitfit": 5e-3, "prompt-shallow": 1e-2,
                 "prompt-deep": 1e-2, "prefix": 1e-2, "lora": 5e-3, "adapter": 5e-3,
                 "adapter-bottleneck": 5e-3}


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


class LoRA(nn.Module):
    """x -> scaling * up(down(x)); down Kaiming-uniform (nn.Linear's default), up zeros."""

    def __init__(self, d, rank, alpha):
        super().__init__()
        self.down = nn.Linear(d, rank, bias=False)
        self.up = nn.Linear(rank, d, bias=False)
        nn.init.zeros_(self.up.weight)
        self.scaling = alpha / rank

    def forward(self, x):
        return self.up(self.down(x)) * self.scaling


class BottleneckAdapter(nn.Module):
    def __init__(self, d, r):
        super().__init__()
        self.down = nn.Linear(d, r)
        self.up = nn.Linear(r, d)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x):
        return self.up(F.gelu(self.down(x)))


class ConformerAdapter(nn.Module):
    """Along the tokens of [B, N, D]: LayerNorm, pointwise Conv1d D -> 2r, GLU, depthwise
    Conv1d(r, k, 'same'), BatchNorm1d, SiLU, pointwise Conv1d r -> D (zeros at init)."""

    def __init__(self, d, r, k, eps):
        super().__init__()
        self.layernorm = nn.LayerNorm(d, eps=eps)
        self.pointwise_conv1 = nn.Conv1d(d, 2 * r, 1)
        self.depthwise_conv = nn.Conv1d(r, r, k, groups=r, padding="same")
        self.batch_norm = nn.BatchNorm1d(r)
        self.pointwise_conv2 = nn.Conv1d(r, d, 1)
        nn.init.zeros_(self.pointwise_conv2.weight)
        nn.init.zeros_(self.pointwise_conv2.bias)

    def forward(self, x):
        y = self.layernorm(x).transpose(1, 2)  # [B, D, N]
        y = F.glu(self.pointwise_conv1(y), dim=1)
        y = self.depthwise_conv(y)
        y = self.pointwise_conv2(F.silu(self.batch_norm(y)))
        return y.transpose(1, 2)


class PeftAST(nn.Module):
    """The reference backbone with one PEFT method attached and the mean-tokens head."""

    def __init__(self, reference, method, num_labels):
        super().__init__()
        c = reference.config
        d, layers = c.hidden_size, c.num_hidden_layers
        self.method = method
        self.ast = reference.audio_spectrogram_transformer
        self.heads = c.num_attention_heads
        self.scale = 1.0 / math.sqrt(d // c.num_attention_heads)
        for p in self.ast.parameters():
            p.requires_grad_(False)

        bound = math.sqrt(6.0 / (3 * c.patch_size * c.patch_size + d))  # VPT: 0.0625 for base
        self.prompts = self.deep_prompts = None
        self.prefix_keys = self.prefix_values = None
        self.lora_q = self.lora_v = None
        self.adapters = None
        if method in ("prompt-shallow", "prompt-deep"):
            n = 300 if method == "prompt-shallow" else 25
            self.prompts = nn.Parameter(torch.empty(1, n, d).uniform_(-bound, bound))
            if method == "prompt-deep":
                self.deep_prompts = nn.Parameter(torch.empty(layers - 1, n, d).uniform_(-bound, bound))
        elif method == "prefix":
            self.prefix_keys = nn.ParameterList(
                [nn.Parameter(torch.empty(1, 12, d).uniform_(-bound, bound)) for _ in range(layers)])
            self.prefix_values = nn.ParameterList(
                [nn.Parameter(torch.empty(1, 12, d).uniform_(-bound, bound)) for _ in range(layers)])
        elif method == "lora":
            self.lora_q = nn.ModuleList([LoRA(d, 6, 16.0) for _ in range(layers)])
            self.lora_v = nn.ModuleList([LoRA(d, 6, 16.0) for _ in range(layers)])
        elif method == "adapter":
            self.adapters = nn.ModuleList([ConformerAdapter(d, 8, 31, c.layer_norm_eps) for _ in range(layers)])
        elif method == "adapter-bottleneck":
            self.adapters = nn.ModuleList([BottleneckAdapter(d, 12) for _ in range(layers)])
        self.head = nn.Linear(d, num_labels)

        # Backbone tensors each method trains (core/peft/peft_modules.cpp applyPeft).
        if method == "full":
            for p in self.ast.parameters():
                p.requires_grad_(True)
        elif method == "bitfit":
            for name, p in self.ast.encoder.named_parameters():
                if name.endswith(".bias"):
                    p.requires_grad_(True)
            self.ast.layernorm.bias.requires_grad_(True)
        else:
            self.ast.layernorm.requires_grad_(True)
            if method.startswith("adapter"):
                for layer in self.ast.encoder.layer:
                    layer.layernorm_after.requires_grad_(True)

    def attention(self, i, layer, x):
        sa = layer.attention.attention
        b, n, d = x.shape
        q, k, v = sa.query(x), sa.key(x), sa.value(x)
        if self.lora_q is not None:
            q = q + self.lora_q[i](x)
            v = v + self.lora_v[i](x)
        if self.prefix_keys is not None:  # cat(K[:, :1], Pk, K[:, 1:]); queries keep N rows
            k = torch.cat([k[:, :1], self.prefix_keys[i].expand(b, -1, -1), k[:, 1:]], dim=1)
            v = torch.cat([v[:, :1], self.prefix_values[i].expand(b, -1, -1), v[:, 1:]], dim=1)
        h, dh = self.heads, d // self.heads
        q = q.view(b, n, h, dh).transpose(1, 2) * self.scale
        k = k.view(b, -1, h, dh).transpose(1, 2)
        v = v.view(b, -1, h, dh).transpose(1, 2)
        probs = torch.softmax(torch.matmul(q, k.transpose(-1, -2)), dim=-1)
        ctx = torch.matmul(probs, v).transpose(1, 2).reshape(b, n, d)
        return layer.attention.output.dense(ctx)

    def forward(self, x):
        h = self.ast.embeddings(x)
        b = h.shape[0]
        if self.prompts is not None:  # the prompts take the distillation token's place
            h = torch.cat([h[:, :1], self.prompts.expand(b, -1, -1), h[:, 2:]], dim=1)
        for i, layer in enumerate(self.ast.encoder.layer):
            if self.deep_prompts is not None and i > 0:
                n = self.deep_prompts.shape[1]
                h = torch.cat([h[:, :1], self.deep_prompts[i - 1].expand(b, -1, -1), h[:, 1 + n:]], dim=1)
            h = h + self.attention(i, layer, layer.layernorm_before(h))
            u = layer.layernorm_after(h)
            f = layer.output.dense(F.gelu(layer.intermediate.dense(u)))
            if self.adapters is not None:  # Pfeiffer, parallel to the FFN, no residual
                f = f + self.adapters[i](u)
            h = h + f
        return self.head(self.ast.layernorm(h).mean(dim=1))


def main():
    ap = argparse.ArgumentParser(description="AST training-step baseline per PEFT method (plain PyTorch)")
    train_steps.add_step_arguments(ap, METHODS)
    a = ap.parse_args()
    if a.batch < 1 or a.steps < 1 or a.warmup < 0:
        sys.exit("error: --batch and --steps must be >= 1, --warmup >= 0")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    device = torch.device(a.device)

    # (its note that the position embeddings stay zeros at another max_length is not news here)
    with contextlib.redirect_stderr(io.StringIO()):
        reference = ast_reference.load_model(a.model_dir, torch.float32, max_length=a.max_length)
    cfg = reference.config
    model = PeftAST(reference, a.method, cfg.num_labels).to(device)
    del reference
    model.train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LEARNING_RATE[a.method],
                            betas=(0.9, 0.98), eps=1e-6, weight_decay=0.1)
    total = a.warmup + a.steps
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)

    pool = train_steps.random_batches(a.seed, a.batch, a.max_length, cfg.num_mel_bins, cfg.num_labels)
    cuda = device.type == "cuda"

    timing, median, loss_value = train_steps.time_steps(
        model, opt, sched, pool, device, a.warmup, total, a.bf16)
    out = {
        "impl": "python", "bench": "train", "method": a.method, "batch": a.batch,
        "max_length": a.max_length, "tokens": cfg.num_tokens,
        "samples_per_s": round(a.batch * 1000.0 / median, 3),
        **timing,
        "trainable": trainable, "peak_rss_mb": round(peak_rss_mb(), 1), "threads": a.threads,
        "dtype": "bf16-autocast" if a.bf16 else "fp32", "device": str(device),
        "steps": a.steps, "warmup": a.warmup, "loss": loss_value,
    }
    if cuda:
        out["peak_device_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
