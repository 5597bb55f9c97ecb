#!/usr/bin/env python3
"""Reference logits for RoPE scaling (Tests/Fixtures/rope-scaling/*.json), computed by transformers.

The model is the qwen3-ternary-tiny fixture's HF folder with a rope_scaling entry added to its
config.json (YaRN: factor 4 over an original context of 32 positions; linear: factor 2), evaluated
in fp32 on 64 fixed token ids, so the positions past the original context are covered. The Swift test
(RoPEScalingTests) builds the same folder and compares trit's logits with these.

usage: python scripts/make_rope_scaling_reference.py   (needs torch and transformers >= 4.51)
"""
import json
import os
import shutil
import sys
import tempfile

import torch
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "Tests", "Fixtures", "qwen3-ternary-tiny", "hf")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "rope-scaling")
TOKENS = [(i * 37 + 11) % 1000 + 3 for i in range(64)]
CASES = {
    "yarn": {"max_position_embeddings": 128,
             "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32}},
    "linear": {"rope_scaling": {"rope_type": "linear", "factor": 2.0}},
}


def folder(name, patch):
    d = tempfile.mkdtemp(prefix=f"trit-rope-{name}-")
    for f in os.listdir(SRC):
        if f != "config.json":
            shutil.copy(os.path.join(SRC, f), d)
    cfg = json.load(open(os.path.join(SRC, "config.json")))
    cfg.update(patch)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
    return d, cfg


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, patch in CASES.items():
        d, cfg = folder(name, patch)
        model = transformers.AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32)
        model.eval()
        with torch.no_grad():
            logits = model(torch.tensor([TOKENS])).logits[0]
        ref = {"case": name, "config_patch": patch, "tokens": TOKENS,
               "transformers": transformers.__version__, "torch": torch.__version__,
               "logits": [[float(f"{x:.9g}") for x in row] for row in logits.tolist()]}
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(ref, f, separators=(",", ":"))
        shutil.rmtree(d)
        print(f"{name}: {len(TOKENS)} positions, max |logit| {logits.abs().max().item():.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
