#!/usr/bin/env python3
"""The certified head on a large model: 8 prompts × 256 greedy tokens (and the same prompts with
llama.cpp's default sampling chain, top-k 40 first) generate exact mode's tokens, id for id (the
context's tokens after generation: the prompt and every generated token).

    python3 scripts/certified_tokens.py [--model PATH] [--tokens 256] [--threads 2] [--heads certified,certified4]

Without --model it uses the 2B4T-shaped file of scripts/bench.py (~/.cache/trit-bench). Needs the
Python package (make python; run with build/venv/bin/python). The tests do the same, token for
token, on the bundled model and the fixtures (Tests/TritTests/generation/CertifiedHeadTests.swift);
this script is for the models too large for `make test`. Prints one line per prompt and chain, and
exits 1 on the first difference."""
import argparse
import os
import sys
import time

import trit

PROMPTS = ["Once upon a time", "The king", "In the morning the", "She said", "Long ago, in a land",
           "The little dog", "It was a dark", "Tom and his sister"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/trit-bench/synth-2b4t-i2_s.gguf"))
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--heads", default="certified", help="the certified modes compared with exact, comma-separated "
                    "(certified: the int8 compact head; certified4: the 4-bit one)")
    a = ap.parse_args()
    heads = a.heads.split(",")
    chains = {"greedy": dict(temperature=0), "top-k 40 (default chain)": dict(seed=11)}
    results = {}
    for head in ["exact"] + heads:
        with trit.Model(a.model, n_ctx=8, n_threads=1, head=head) as m:
            ctx = m.create_context(n_ctx=a.tokens + 64, n_threads=a.threads)   # reset per prompt by generate
            for p in PROMPTS:
                for name, kw in chains.items():
                    t0 = time.monotonic()
                    ctx.generate(p, max_tokens=a.tokens, ignore_eos=True, **kw)
                    results[(head, p, name)] = list(ctx.tokens)
                    dt = time.monotonic() - t0
                    print(f"{head:9s} {name:26s} {p!r}: {a.tokens / dt:.1f} tokens/s", file=sys.stderr)
    same, total = 0, len(PROMPTS) * len(chains) * len(heads)
    for head in heads:
        for p in PROMPTS:
            for name in chains:
                e, c = results[("exact", p, name)], results[(head, p, name)]
                ok = e == c
                same += ok
                print(f"{'same' if ok else 'DIFFERENT'}: {head}, {name}, {p!r} ({len(e)} tokens in the context)")
    print(f"{same}/{total} generations identical ({a.tokens} tokens each, {a.model}, {', '.join(heads)})")
    sys.exit(0 if same == total else 1)


if __name__ == "__main__":
    main()
