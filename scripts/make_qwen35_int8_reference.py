#!/usr/bin/env python3
"""The int8-activation reference of the qwen35 fixture (Tests/Fixtures/qwen35-ternary-g128-tiny/reference-int8.json).

transformers fp32 on the committed hf/ folder with every ternary linear's input quantized as trit's int8
path does (docs/formats.md §1.5: per token s = 127 / max(max|x|, 1e-5), q = clamp(round_half_even(x·s)),
the product on q / s). The random Gated DeltaNet layers amplify that rounding (0.22 from the fp32
logits), far beyond the fp32 fixture tiers, so the int8 path is checked against this instead.

usage: /work/fixvenv/bin/python scripts/make_qwen35_int8_reference.py
"""
import json
import os

import torch
import transformers

os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "Tests", "Fixtures", "qwen35-ternary-g128-tiny")
TERNARY = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
           "in_proj_qkv", "in_proj_z", "out_proj"]


def quantize(_module, args):
    x = args[0]
    s = 127 / x.abs().amax(-1, keepdim=True).clamp(min=1e-5)
    return (torch.round(x * s).clamp(-128, 127) / s,)


def main():
    ref = json.load(open(os.path.join(FIX, "reference.json")))
    model = transformers.AutoModelForCausalLM.from_pretrained(os.path.join(FIX, "hf"), dtype=torch.float32,
                                                              attn_implementation="eager").eval()
    for name, mod in model.named_modules():
        if name.split(".")[-1] in TERNARY:
            mod.register_forward_pre_hook(quantize)
    ids = ref["tokens"]
    with torch.no_grad():
        logits = model(torch.tensor([ids]), use_cache=False).logits[0]
        seq, greedy, margins = list(ids), [], []
        for _ in range(len(ref["greedy"])):
            top = torch.topk(model(torch.tensor([seq]), use_cache=False).logits[0, -1], 2)
            greedy.append(int(top.indices[0]))
            margins.append(float(top.values[0] - top.values[1]))
            seq.append(greedy[-1])
    out = {
        "fixture": ref["fixture"], "text": ref["text"], "tokens": ids,
        "reference": f"transformers {transformers.__version__} fp32 eager, torch {torch.__version__}, "
                     "inputs of the ternary linears int8-quantized per token (docs/formats.md §1.5)",
        "greedy": greedy, "greedy_top2_margin": margins,
        "checks": {"max_abs_vs_fp32_reference": float((logits - torch.tensor(ref["logits"])).abs().max())},
        "logits": [[float(f"{x:.7g}") for x in row] for row in logits.tolist()],
    }
    with open(os.path.join(FIX, "reference-int8.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print("int8 vs fp32:", out["checks"]["max_abs_vs_fp32_reference"], "min margin", min(margins))


if __name__ == "__main__":
    main()
