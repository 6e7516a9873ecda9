#!/usr/bin/env python3
"""PyTorch + PEFT reference for `flatlora bench train`: same shapes, targets, precision policy and step.

Random-initialised Llama of a given shape (no download), random tokens, LoRA through PEFT, fused AdamW over the
adapter. Precision: frozen base in bf16, adapter weights and optimizer state fp32 (PEFT's autocast_adapter_dtype),
loss in fp32. `--method flat` is the reference Flat-LoRA method of the paper's code: before forward, add
ε ~ N(0, σ_t²/n_in · ‖W'_i‖²) to each wrapped weight in place; after backward, regenerate the same ε and subtract it.
That add-then-subtract is not exact in bf16, and the script reports how far the frozen weights moved.

Prints one JSON object with the same keys as `flatlora bench train --json`.
Needs a CUDA GPU with torch, transformers and peft installed (shared/GPU_NODE.md); nothing else.
"""
import argparse
import json
import math
import sys
import time

# Mirrors src/Benchmarks/Training/BenchShapes.cs (a test compares the two).
# shapes:begin
SHAPES = {
    "tiny": {"hidden": 96, "intermediate": 256, "layers": 2, "heads": 4, "kv_heads": 2, "vocab": 264, "tie": False, "theta": 10000},
    "1b": {"hidden": 2048, "intermediate": 8192, "layers": 16, "heads": 32, "kv_heads": 8, "vocab": 128256, "tie": True, "theta": 500000},
    "7b": {"hidden": 4096, "intermediate": 11008, "layers": 32, "heads": 32, "kv_heads": 32, "vocab": 32000, "tie": False, "theta": 10000},
    "13b": {"hidden": 5120, "intermediate": 13824, "layers": 40, "heads": 40, "kv_heads": 40, "vocab": 32000, "tie": False, "theta": 10000}
}
# shapes:end

DEFAULT_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", choices=sorted(SHAPES), default="7b")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=1024)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--alpha", type=float, default=None, help="default 2·rank, as flatlora bench")
    p.add_argument("--targets", nargs="+", default=DEFAULT_TARGETS)
    p.add_argument("--method", choices=["lora", "flat"], default="lora")
    p.add_argument("--rho", type=float, default=0.05)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--checkpointing", action="store_true", help="transformers' gradient checkpointing")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print only the JSON object on stdout")
    return p.parse_args(argv)


def build_model(args, torch, transformers, peft):
    s = SHAPES[args.shape]
    config = transformers.LlamaConfig(
        vocab_size=s["vocab"], hidden_size=s["hidden"], intermediate_size=s["intermediate"],
        num_hidden_layers=s["layers"], num_attention_heads=s["heads"], num_key_value_heads=s["kv_heads"],
        tie_word_embeddings=s["tie"], rope_theta=s["theta"], rms_norm_eps=1e-5, max_position_embeddings=4096,
        attn_implementation="sdpa", torch_dtype=torch.bfloat16)
    torch.manual_seed(args.seed)
    with torch.device("cuda"):
        model = transformers.LlamaForCausalLM(config).to(torch.bfloat16)
    if args.checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    lora = peft.LoraConfig(r=args.rank, lora_alpha=args.alpha or 2 * args.rank, lora_dropout=0.0,
                           target_modules=args.targets, bias="none", task_type="CAUSAL_LM")
    # autocast_adapter_dtype (PEFT's default) keeps the adapter in fp32 on a bf16 base: our precision policy.
    model = peft.get_peft_model(model, lora, autocast_adapter_dtype=True)
    return model, config


class ReferenceFlatLora:
    """The paper's method: W += ε before forward, W -= ε (regenerated) after backward, per wrapped linear."""

    def __init__(self, torch, model, rho, total_steps, seed):
        self.torch = torch
        self.rho = rho
        self.total = total_steps
        self.seed = seed
        self.layers = [m for m in model.modules() if hasattr(m, "lora_A") and hasattr(m, "base_layer")]
        self.noise_scales = None

    def sigma(self, step):
        return self.rho * 0.5 * (1 - math.cos(math.pi * step / self.total))

    def _noise(self, index, layer, step, scale):
        torch = self.torch
        generator = torch.Generator(device="cuda").manual_seed(self.seed * 1_000_003 + step * 10_007 + index)
        weight = layer.base_layer.weight
        noise = torch.randn(weight.shape, generator=generator, device=weight.device, dtype=torch.float32)
        return noise.mul_(scale.unsqueeze(1)).to(weight.dtype)

    @staticmethod
    def _merged_row_norms(torch, layer):
        # ‖W'_i‖ for W' = W + s·BA, the way the reference code does it: materialise W'.
        weight = layer.base_layer.weight.float()
        a = layer.lora_A["default"].weight.float()
        b = layer.lora_B["default"].weight.float()
        merged = weight + layer.scaling["default"] * (b @ a)
        return merged.norm(dim=1)

    def add(self, step):
        torch = self.torch
        sigma = self.sigma(step)
        self.noise_scales = []
        with torch.no_grad():
            for index, layer in enumerate(self.layers):
                scale = self._merged_row_norms(torch, layer) * (sigma / math.sqrt(layer.base_layer.weight.shape[1]))
                self.noise_scales.append(scale)
                layer.base_layer.weight.add_(self._noise(index, layer, step, scale))

    def subtract(self, step):
        torch = self.torch
        with torch.no_grad():
            for index, layer in enumerate(self.layers):
                layer.base_layer.weight.sub_(self._noise(index, layer, step, self.noise_scales[index]))


def main(argv):
    args = parse_args(argv)
    import torch
    import transformers
    import peft

    if not torch.cuda.is_available():
        sys.exit("bench_reference.py needs a CUDA GPU (torch.cuda.is_available() is false)")
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    model, config = build_model(args, torch, transformers, peft)
    model.train()
    adapter = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(adapter, lr=1e-4, weight_decay=0.0, fused=True)
    total = args.warmup + args.steps
    flat = ReferenceFlatLora(torch, model, args.rho, total, args.seed) if args.method == "flat" else None
    frozen = [(n, p) for n, p in model.named_parameters() if not p.requires_grad]
    before = [p.detach().to("cpu", copy=True) for _, p in frozen]

    generator = torch.Generator(device="cuda").manual_seed(args.seed)
    tokens = torch.randint(0, config.vocab_size, (total, args.batch, args.seq), device="cuda", generator=generator)
    torch.cuda.reset_peak_memory_stats()
    times, loss_value, peak_used = [], float("nan"), 0

    for step in range(total):
        ids = tokens[step]
        torch.cuda.synchronize()
        start = time.perf_counter()
        if flat:
            flat.add(step)
        logits = model(input_ids=ids).logits
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        loss.backward()
        if flat:
            flat.subtract(step)
        torch.nn.utils.clip_grad_norm_(adapter, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        free, total = torch.cuda.mem_get_info()   # the driver's view, as flatlora bench reports it
        peak_used = max(peak_used, total - free)
        loss_value = loss.item()
        if step >= args.warmup:
            times.append(elapsed)
        log(f"step {step + 1}/{total}{' (warmup)' if step < args.warmup else ''}: {elapsed * 1000:.1f} ms, loss {loss_value:.4f}")

    max_change = max(((p.detach().float().cpu() - b.float()).abs().max().item() for (_, p), b in zip(frozen, before)), default=0.0)
    mean = sum(times) / len(times)
    tokens_per_step = args.batch * args.seq
    lora_parameters = sum(p.numel() for p in adapter)
    matmul = sum(p.numel() for n, p in frozen if n.endswith("proj.weight") or n.endswith("lm_head.weight"))
    if config.tie_word_embeddings:
        matmul += config.vocab_size * config.hidden_size
    head_dim = config.hidden_size // config.num_attention_heads
    flops_per_token = 4.0 * matmul + 6.0 * lora_parameters + 12.0 * config.num_hidden_layers * args.seq * config.num_attention_heads * head_dim
    result = {
        "implementation": "pytorch+peft",
        "torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
        "shape": args.shape, "method": args.method, "rho": args.rho if flat else 0, "device": torch.cuda.get_device_name(),
        "dtype": "bfloat16", "batch": args.batch, "seq": args.seq, "rank": args.rank, "targets": args.targets,
        "checkpointing": args.checkpointing, "steps": args.steps, "warmup": args.warmup,
        "ms_per_step": mean * 1000, "ms_per_step_min": min(times) * 1000, "tokens_per_second": tokens_per_step / mean,
        "model_tflops": flops_per_token * tokens_per_step / mean / 1e12,
        # Same measure as flatlora bench (driver: total - free, after each step); PyTorch's own counters alongside.
        "peak_device_memory_gib": peak_used / 2**30,
        "peak_allocated_gib": torch.cuda.max_memory_allocated() / 2**30,
        "peak_reserved_gib": torch.cuda.max_memory_reserved() / 2**30,
        "base_parameters": sum(p.numel() for _, p in frozen), "lora_parameters": lora_parameters,
        "frozen_max_abs_change": max_change, "final_loss": loss_value,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
