#!/usr/bin/env python3
"""Check FlatLora.Distributed's Hugging Face interop against the Python reference stack.

Needs torch, transformers and peft (no network). Given a base model folder, an adapter written by `flatlora train`,
a merged folder written by `flatlora merge`, and the JSON that `flatlora generate --format json` printed for the
same base + adapter, it checks:
  1. PEFT loads the adapter on the base (names, shapes, config);
  2. greedy generations from PEFT equal ours token for token (prompt ids come from our JSON, so no tokenizer is needed);
  3. transformers loads the merged folder as a plain model, and its logits equal PEFT's within 1e-4 (fp32).

Example:
  flatlora train --config run.yaml                       # writes runs/x/adapter
  flatlora merge --model BASE --adapter runs/x/adapter --out merged
  flatlora generate --model BASE --adapter runs/x/adapter --prompt "Hello" --max-new-tokens 16 --format json > ours.json
  python3 scripts/peft_parity.py --model BASE --adapter runs/x/adapter --merged merged --ours ours.json
"""
import argparse
import json
import sys

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--adapter", required=True)
    parser.add_argument("--merged")
    parser.add_argument("--ours", required=True, help="JSON printed by `flatlora generate --format json`")
    args = parser.parse_args()

    ours = json.load(open(args.ours))
    base = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32)
    model = PeftModel.from_pretrained(base, args.adapter).eval()
    failures = 0
    for row in ours:
        prompt = torch.tensor([row["prompt_tokens"]])
        max_new = max(1, len(row["tokens"]) + (1 if row["finish_reason"] == "stop" else 0))
        with torch.no_grad():
            out = model.generate(prompt, max_new_tokens=max_new, do_sample=False, eos_token_id=base.config.eos_token_id,
                                 pad_token_id=base.config.eos_token_id)
        theirs = out[0, prompt.shape[1]:].tolist()
        theirs = [t for t in theirs if t not in _as_list(base.config.eos_token_id)]
        same = theirs[: len(row["tokens"])] == row["tokens"]
        failures += 0 if same else 1
        print(f"{'OK  ' if same else 'DIFF'} prompt {row['prompt']!r}: ours {row['tokens']} peft {theirs}")

    if args.merged:
        merged = AutoModelForCausalLM.from_pretrained(args.merged, torch_dtype=torch.float32).eval()
        ids = torch.tensor([ours[0]["prompt_tokens"]])
        with torch.no_grad():
            difference = (merged(ids).logits - model(ids).logits).abs().max().item()
        ok = difference < 1e-4
        failures += 0 if ok else 1
        print(f"{'OK  ' if ok else 'DIFF'} merged vs PEFT logits: max |diff| = {difference:.3e}")
    print("parity: PASS" if failures == 0 else f"parity: FAIL ({failures})")
    return 0 if failures == 0 else 1


def _as_list(value):
    return value if isinstance(value, list) else [value]


if __name__ == "__main__":
    sys.exit(main())
