#!/usr/bin/env python3
"""Hugging Face baseline: one AST training step with transformers + peft.

Usage
-----
    python bench/hf_peft_train.py MODEL_DIR --method lora|full|linear [--batch 8] [--steps 10]
        [--warmup 2] [--max-length 100] [--threads 2] [--bf16] [--device cpu|cuda] [--seed 10]
        [--lora-rank 6] [--lora-alpha 16] [--attn sdpa|eager] [--tf32] [--peak-flops F]

Needs torch, transformers, peft, numpy and safetensors (bench/run.sh makes a virtual
environment with them on first use).  MODEL_DIR is an HF-layout AST folder (config.json +
model.safetensors, e.g. from `astpeft init-model`), the same argument bench/py_ast_train.py
takes.  It is loaded as transformers' ASTForAudioClassification with
attn_implementation="sdpa" where the installed transformers supports it (else "eager"; the
"attn" field says which), at --max-length frames: at another max_length than the
checkpoint's, the position embeddings do not fit and are left newly initialised
(ignore_mismatched_sizes), which does not change the cost.  Dropout is set to 0, as in the
other two implementations.  The head is HF's own (pooled CLS and distillation tokens,
LayerNorm, Linear).

Methods (the learning rates of bench/py_ast_train.py and core's paperLearningRate):
  lora    peft LoraConfig(r=--lora-rank, lora_alpha=16, target_modules=["query", "value"]
          (transformers 5.x names them q_proj and v_proj), lora_dropout=0,
          modules_to_save=["classifier"]); the final LayerNorm is made trainable as well, as
          astpeft's and py_ast_train.py's LoRA train it.  The default rank 6 is astpeft's
          paper setting (core/peft/peft_config.h LoraKnobs), so that the three
          implementations train the same LoRA tensors.
  full    every parameter, no peft
  linear  the classifier head (its LayerNorm and Linear) and the final LayerNorm, no peft

A step, timed as in bench/py_ast_train.py: forward (under torch.autocast(device, bfloat16) with
--bf16), cross-entropy, loss.item(), backward, the accuracy count, torch.optim.AdamW (betas
(0.9, 0.98), eps 1e-6, weight_decay 0.1; fused=True on CUDA), CosineAnnealingLR.step(),
zero_grad(set_to_none=True), and on CUDA a synchronize.  Inputs: random features
[batch, max_length, num_mel_bins] (0.5 * standard normal) and random labels, 4 batches in
memory, cycled.

Prints one JSON line with bench/py_ast_train.py's keys ("impl": "hf-peft") plus
  "trainable_params" (= "trainable"), "attn", "optimizer", "tf32", "lora_rank" (lora),
  "train_gflop_per_sample", "model_tflops_per_s" (bench/bench_flops.py's estimate),
  "versions" and, on CUDA (or with --peak-flops), "mfu" and "peak_tflops", "gpu".
"""

import argparse
import json
import logging
import os
import resource
import sys
import warnings

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_flops  # noqa: E402
import train_steps  # noqa: E402

METHODS = ("lora", "full", "linear")
LEARNING_RATE = {"full": 5e-5, "linear": 1e-3, "lora": 5e-3}


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def load_model(model_dir, max_length, attn):
    """ASTForAudioClassification at max_length; returns (model, attention implementation)."""
    import transformers
    from transformers import ASTConfig, ASTForAudioClassification

    transformers.logging.set_verbosity_error()  # the mismatched position embeddings are expected
    if hasattr(transformers.utils.logging, "disable_progress_bar"):
        transformers.utils.logging.disable_progress_bar()
    config = ASTConfig.from_pretrained(model_dir)
    config.max_length = max_length
    config.hidden_dropout_prob = 0.0
    config.attention_probs_dropout_prob = 0.0
    if not getattr(config, "id2label", None) or config.num_labels < 1:
        config.num_labels = 10
    errors = []
    for impl in ([attn] if attn else ["sdpa", "eager"]):
        try:
            model = ASTForAudioClassification.from_pretrained(
                model_dir, config=config, attn_implementation=impl, ignore_mismatched_sizes=True)
        except (TypeError, ValueError, ImportError, NotImplementedError) as e:
            errors.append(f"{impl}: {e}")
            continue
        used = getattr(model.config, "_attn_implementation", None) or impl
        return model, used
    sys.exit("error: cannot load the model: " + "; ".join(errors))


def attach_method(model, method, rank, alpha):
    """Sets what trains; returns the model to train (a PeftModel for lora)."""
    if method == "full":
        for p in model.parameters():
            p.requires_grad_(True)
        return model
    if method == "linear":
        for p in model.parameters():
            p.requires_grad_(False)
        for p in model.classifier.parameters():
            p.requires_grad_(True)
        for p in model.audio_spectrogram_transformer.layernorm.parameters():
            p.requires_grad_(True)
        return model
    from peft import LoraConfig, get_peft_model

    # transformers 4.x names the projections attention.attention.query/value, 5.x q_proj/v_proj.
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    targets = ["query", "value"] if {"query", "value"} <= names else ["q_proj", "v_proj"]
    cfg = LoraConfig(r=rank, lora_alpha=alpha, target_modules=targets, lora_dropout=0.0,
                     bias="none", modules_to_save=["classifier"])
    peft_model = get_peft_model(model, cfg)
    # The final LayerNorm trains too (astpeft's applyPeft and py_ast_train.py train it for
    # every method but full and bitfit); peft froze it with the rest of the backbone.
    for p in peft_model.base_model.model.audio_spectrogram_transformer.layernorm.parameters():
        p.requires_grad_(True)
    return peft_model


def make_optimizer(params, lr, cuda):
    kw = dict(lr=lr, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.1)
    if cuda:
        try:
            return torch.optim.AdamW(params, fused=True, **kw), "adamw-fused"
        except (TypeError, RuntimeError, ValueError):
            pass
    return torch.optim.AdamW(params, **kw), "adamw"


def main():
    ap = argparse.ArgumentParser(description="AST training-step baseline with transformers + peft")
    train_steps.add_step_arguments(ap, METHODS)
    ap.add_argument("--lora-rank", type=int, default=bench_flops.LORA_RANK,
                    help="LoRA rank (default %(default)s: astpeft's paper setting)")
    ap.add_argument("--lora-alpha", type=float, default=16.0)
    ap.add_argument("--attn", choices=("sdpa", "eager"), default=None,
                    help="attention implementation (default: sdpa where supported, else eager)")
    ap.add_argument("--tf32", action="store_true",
                    help="fp32 products in TF32 on CUDA (torch.set_float32_matmul_precision('high'), as astpeft does)")
    ap.add_argument("--peak-flops", type=float, default=None,
                    help="the device's peak dense FLOP/s for the MFU (default: bench_flops.PEAKS by GPU name)")
    a = ap.parse_args()
    if a.batch < 1 or a.steps < 1 or a.warmup < 0 or a.max_length < 16 or a.lora_rank < 1:
        sys.exit("error: --batch, --steps and --lora-rank must be >= 1, --warmup >= 0, --max-length >= 16")
    if not os.path.isfile(os.path.join(a.model_dir, "config.json")):
        sys.exit(f"error: {a.model_dir}: no config.json (an HF-layout AST folder is needed)")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    if cuda and not torch.cuda.is_available():
        sys.exit("error: --device cuda, but this torch has no CUDA device")
    if a.tf32:
        torch.set_float32_matmul_precision("high")
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)

    model, attn = load_model(a.model_dir, a.max_length, a.attn)
    cfg = model.config
    model = attach_method(model, a.method, a.lora_rank, a.lora_alpha).to(device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    trainable = sum(p.numel() for p in params)
    opt, opt_name = make_optimizer(params, LEARNING_RATE[a.method], cuda)
    total = a.warmup + a.steps
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)

    pool = train_steps.random_batches(a.seed, a.batch, a.max_length, cfg.num_mel_bins, cfg.num_labels)
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)

    timing, median, loss_value = train_steps.time_steps(
        lambda x: model(input_values=x).logits, opt, sched, pool, device, a.warmup, total, a.bf16)

    import peft
    import transformers

    d = bench_flops.dims(cfg.to_dict(), a.max_length)
    out = {
        "impl": "hf-peft", "bench": "train", "method": a.method, "batch": a.batch,
        "max_length": a.max_length, "tokens": d["tokens"],
        "samples_per_s": round(a.batch * 1000.0 / median, 3),
        **timing,
        "trainable": trainable, "trainable_params": trainable,
        "peak_rss_mb": round(peak_rss_mb(), 1), "threads": a.threads,
        "dtype": "bf16-autocast" if a.bf16 else "fp32", "device": str(device),
        "steps": a.steps, "warmup": a.warmup, "loss": loss_value,
        "attn": attn, "optimizer": opt_name, "tf32": bool(a.tf32 and cuda),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
    }
    if a.method == "lora":
        out["lora_rank"] = a.lora_rank
    gpu = torch.cuda.get_device_name(device) if cuda else None
    if cuda:
        out["peak_device_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        out["gpu"] = gpu
    out = bench_flops.row_mfu(out, cfg.to_dict(), gpu, a.peak_flops)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
