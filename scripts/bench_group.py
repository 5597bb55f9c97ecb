#!/usr/bin/env python3
"""The README's group-scaled table: trit and llama.cpp's llama-bench on the same Ternary-Bonsai-shaped
files (Qwen3 with Q2_0 / Q1_0 projections, from `trit synth`), side by side.

    python3 scripts/bench_group.py [--types q2_0,q1_0] [--preset bonsai-8b] [--rounds 3] [--reps 3]
                                   [--threads 2] [--llama-bench PATH/llama-bench] [--dir DIR]

The engines run in alternating rounds (trit, llama.cpp, trit, ...) so that a noisy neighbour slows
both alike; each test's median is over the samples of all its rounds; the share of the roofline is
the median over trit's runs of each run's GB/s over the probe that followed it (scripts/roofline.py;
bytes per generated token: weights + KV cache read, as `trit bench` counts them). Ratios are trit / llama.cpp on medians of the same run. --llama-bench is
upstream llama.cpp's llama-bench (../shared/peers/build-llama-cpp.sh builds it from PyPI's
llama-cpp-python sdist, which has Q1_0 and Q2_0); without it the llama.cpp columns stay empty.
Files are written once into --dir (default ~/.cache/trit-bench; 4.5 GB for bonsai-8b Q2_0)."""
import argparse
import json
import os
import statistics
import subprocess
import sys

import llama_bench
import roofline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRIT = os.path.join(ROOT, "build", "bin", "trit")


def trit_bench(model, threads, reps, p, n):
    cmd = [TRIT, "bench", "-m", model, "-p", str(p), "-n", str(n), "-r", str(reps), "-t", threads, "--json"]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--types", default="q2_0,q1_0")
    ap.add_argument("--preset", default="bonsai-8b")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", default="2")
    ap.add_argument("-p", type=int, default=128, help="prompt tokens (default 128)")
    ap.add_argument("-n", type=int, default=32, help="generated tokens (default 32)")
    ap.add_argument("--llama-bench", help="llama.cpp's llama-bench, run on the same files in the same rounds")
    ap.add_argument("--llama-once", default="",
                    help="types whose llama.cpp runs happen in the first round only, one run each (e.g. q2_0: "
                         "llama.cpp has no x86 SIMD path for Q2_0 and takes minutes per test)")
    ap.add_argument("--dir", default=os.path.join(os.path.expanduser("~"), ".cache", "trit-bench"))
    a = ap.parse_args()
    if not os.path.exists(TRIT):
        sys.exit("build first: make all")
    os.makedirs(a.dir, exist_ok=True)
    models = {}
    for t in a.types.split(","):
        path = os.path.join(a.dir, f"synth-{a.preset}-{t}.gguf")
        if not os.path.exists(path):
            subprocess.run([TRIT, "synth", "--preset", a.preset, "--type", t, "-o", path], check=True)
        models[t] = path

    samples, info, peer, probes = {}, {}, {}, {}
    for r in range(a.rounds):
        for t, model in models.items():
            print(f"round {r + 1}/{a.rounds}: trit {t}", file=sys.stderr)
            for row in trit_bench(model, a.threads, a.reps, a.p, a.n):
                key = (t, row["test"], row["threads"])
                samples.setdefault(key, []).extend(row["samples"])
                probes.setdefault(key, []).extend(row.get("read_bandwidth_samples", []))
                prev = info.get(key, {})
                row["read_bandwidth_gb_per_s"] = max(row["read_bandwidth_gb_per_s"], prev.get("read_bandwidth_gb_per_s", 0))
                row["peak_rss_bytes"] = max(row["peak_rss_bytes"], prev.get("peak_rss_bytes", 0))
                info[key] = row
            once = t in a.llama_once.split(",")
            if a.llama_bench and (r == 0 or not once):
                print(f"round {r + 1}/{a.rounds}: llama.cpp {t}", file=sys.stderr)
                for k, v in llama_bench.run(a.llama_bench, model, a.threads, 1 if once else a.reps, a.p, a.n).items():
                    peer.setdefault((t,) + k, []).extend(v)

    print(f"{a.preset} files from `trit synth`; {a.rounds} alternating rounds × {a.reps} runs; "
          "median ± stdev of all runs; tokens/s")
    print("| type | test | threads | trit | ± | llama.cpp | ± | trit / llama.cpp | bytes/token | % of roofline |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(samples, key=lambda k: (k[0], k[2], k[1])):
        t, test, threads = key
        s, row = samples[key], info[key]
        med = statistics.median(s)
        sd = statistics.stdev(s) if len(s) > 1 else 0.0
        ps = peer.get(key)
        ref = statistics.median(ps) if ps else None
        rsd = statistics.stdev(ps) if ps and len(ps) > 1 else 0.0
        cols = [t, test, str(threads), f"{med:.2f}", f"{sd:.2f}",
                f"{ref:.2f}" if ref else "-", f"{rsd:.2f}" if ref else "-", f"{med / ref:.2f}×" if ref else "-"]
        if test.startswith("tg"):
            bpt = row["bytes_per_token"]
            share, bw = roofline.paired(bpt, s, probes.get(key, []))
            cols += [f"{bpt / 2**30:.2f} GiB", f"{share:.0f}% of {bw:.1f} GB/s" if bw else "-"]
        else:
            cols += ["-", "-"]
        print("| " + " | ".join(cols) + " |")
    for t, model in models.items():
        rows = [r for (tt, _, _), r in info.items() if tt == t]
        peak = max(r["peak_rss_bytes"] for r in rows)
        size = os.path.getsize(model)
        print(f"{t}: file {size / 2**30:.2f} GiB, peak RSS {peak / 2**30:.2f} GiB, load {rows[0]['load_seconds']:.2f} s, "
              f"kernels {rows[0]['kernel']}")


if __name__ == "__main__":
    main()
