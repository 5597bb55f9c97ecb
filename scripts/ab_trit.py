#!/usr/bin/env python3
"""Two trit builds on the same `trit bench` command, runs alternating (A, B, A, B, ...), so a noisy
machine slows both alike; prints each run and the medians of every reported rate, and B/A.

    python3 scripts/ab_trit.py OLD/bin/trit NEW/bin/trit --rounds 3 -- -m MODEL -p 128 -n 64 -r 2 -t 2
    python3 scripts/ab_trit.py OLD/bin/trit NEW/bin/trit -- -m MODEL --concurrency 1,8 -p 128 -n 64 -t 2

A build made before a flag existed is given only the flags both know (--a-args/--b-args add to one side).
"""
import argparse
import json
import statistics
import subprocess
import sys


def rates(binary, args):
    out = subprocess.run([binary, "bench", "--json"] + args, check=True, capture_output=True, text=True).stdout
    rows = json.loads(out)
    got = {}
    for r in rows if isinstance(rows, list) else [rows]:
        if "concurrency" in r:
            got[f"concurrency {r['concurrency']} tokens/s"] = r["tokens_per_second"]
        else:
            got[f"{r['test']} t{r['threads']} tokens/s"] = r["tokens_per_second"]
    return got


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--a-args", default="")
    ap.add_argument("--b-args", default="")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    o = ap.parse_args(argv[:cut])
    args = argv[cut + 1:]
    runs = {"A": [], "B": []}
    for i in range(o.rounds):
        for side, binary, extra in (("A", o.a, o.a_args), ("B", o.b, o.b_args)):
            r = rates(binary, args + extra.split())
            runs[side].append(r)
            print(f"round {i + 1} {side}: " + ", ".join(f"{k} {v:.2f}" for k, v in r.items()), flush=True)
    for k in runs["A"][0]:
        a = statistics.median(r[k] for r in runs["A"])
        b = statistics.median(r[k] for r in runs["B"])
        print(f"{k}: A {a:.2f}, B {b:.2f}, B/A {b / a:.3f}")


if __name__ == "__main__":
    sys.exit(main())
