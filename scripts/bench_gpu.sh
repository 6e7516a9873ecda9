#!/usr/bin/env bash
# Runs `flatlora bench train` and the PyTorch+PEFT reference (bench_reference.py) back to back on one GPU, same
# shape, targets and precision, for LoRA and Flat-LoRA, then prints the ratios the GPU issue targets.
#   scripts/bench_gpu.sh [--shape 7b] [--batch 4] [--seq 1024] [--rank 16] [--steps 10] [--warmup 3]
#                        [--checkpointing] [--out DIR]
# Run it from the unpacked bundle (scripts/publish-gpu-bundle.sh) or from a checkout holding .bundle/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -x "$here/flatlora" ]; then flatlora="$here/flatlora"; else flatlora="$here/../.bundle/flatlora-linux-x64/flatlora"; fi
[ -x "$flatlora" ] || { echo "bench_gpu.sh: no flatlora binary next to this script or in .bundle/ (run scripts/publish-gpu-bundle.sh)" >&2; exit 2; }

shape=7b batch=4 seq=1024 rank=16 steps=10 warmup=3 checkpointing="" out="${OUT:-bench-out}"
while [ $# -gt 0 ]; do
  case "$1" in
    --shape) shape=$2; shift 2 ;; --batch) batch=$2; shift 2 ;; --seq) seq=$2; shift 2 ;;
    --rank) rank=$2; shift 2 ;; --steps) steps=$2; shift 2 ;; --warmup) warmup=$2; shift 2 ;;
    --checkpointing) checkpointing=--checkpointing; shift ;; --out) out=$2; shift 2 ;;
    *) echo "bench_gpu.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"

# TorchSharp runs against PyTorch's CUDA libtorch (shared/GPU_NODE.md).
torch_lib=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu --format=csv > "$out/gpu.csv" 2>/dev/null || true

common=(--shape "$shape" --batch "$batch" --seq "$seq" --rank "$rank" --steps "$steps" --warmup "$warmup" $checkpointing --json)
for method in lora flat; do
  echo "== flatlora $method" >&2
  "$flatlora" bench train "${common[@]}" --method "$method" --device cuda > "$out/flatlora-$method.json"
  echo "== pytorch+peft $method" >&2
  python3 "$here/bench_reference.py" "${common[@]}" --method "$method" > "$out/reference-$method.json"
done

python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
r = {f"{impl}-{m}": json.load(open(os.path.join(out, f"{impl}-{m}.json"))) for impl in ("flatlora", "reference") for m in ("lora", "flat")}
rows = [("implementation", "method", "ms/step", "tokens/s", "model TFLOP/s", "peak GiB", "frozen max |Δ|")]
for key, v in r.items():
    rows.append((key.split("-")[0], v["method"], f'{v["ms_per_step"]:.1f}', f'{v["tokens_per_second"]:.0f}', f'{v["model_tflops"]:.1f}',
                 "-" if v.get("peak_device_memory_gib") is None else f'{v["peak_device_memory_gib"]:.1f}', f'{v["frozen_max_abs_change"]:.3g}'))
widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
for row in rows:
    print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
ratios = {
    "lora_tokens_per_s_vs_peft (target >= 1.15)": r["flatlora-lora"]["tokens_per_second"] / r["reference-lora"]["tokens_per_second"],
    "flat_step_time_vs_our_lora (target <= 1.08)": r["flatlora-flat"]["ms_per_step"] / r["flatlora-lora"]["ms_per_step"],
    "reference_flat_step_time_vs_peft_lora": r["reference-flat"]["ms_per_step"] / r["reference-lora"]["ms_per_step"],
    "our_flat_frozen_max_abs_change (target 0)": r["flatlora-flat"]["frozen_max_abs_change"],
    "reference_flat_frozen_max_abs_change": r["reference-flat"]["frozen_max_abs_change"],
}
print(json.dumps(ratios, indent=2))
json.dump({"results": r, "ratios": ratios}, open(os.path.join(out, "summary.json"), "w"), indent=2)
PY
