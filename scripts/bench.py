#!/usr/bin/env python3
"""The README's benchmark table: trit on the BitNet b1.58 2B4T shape, exact and --int8-head, next
to bitnet.cpp's reference numbers from issue #5 (measured on this machine kind by the issue's
author; bitnet.cpp cannot be fetched here, so they are quoted, not re-measured).

The two modes run in alternating rounds (exact, int8, exact, int8, ...) so that a noisy neighbour
slows both alike; each test's median is over the samples of all its rounds, and the roofline uses
the best read-bandwidth probe of the rounds.

    python3 scripts/bench.py [--model PATH] [--rounds 3] [--reps 3] [--threads 1,2]

Without --model it writes the synthetic model with `trit synth --preset 2b4t --type i2_s` into
~/.cache/trit-bench (1.18 GB, once)."""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRIT = os.path.join(ROOT, "build", "bin", "trit")

# bitnet.cpp I2_S, llama-bench -p 128 -n 64 -r 3, tokens/s (issue #5)
REFERENCE = {("pp128", 1): 51.3, ("pp128", 2): 104.3, ("tg64", 1): 16.5, ("tg64", 2): 27.1}


def run_bench(model, threads, reps, int8):
    cmd = [TRIT, "bench", "-m", model, "-p", "128", "-n", "64", "-r", str(reps), "-t", threads, "--json"]
    if int8:
        cmd.append("--int8-head")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    a = ap.parse_args()
    if not os.path.exists(TRIT):
        sys.exit("build first: make all")
    model = a.model
    if model is None:
        cache = os.path.join(os.path.expanduser("~"), ".cache", "trit-bench")
        os.makedirs(cache, exist_ok=True)
        model = os.path.join(cache, "synth-2b4t-i2_s.gguf")
        if not os.path.exists(model):
            subprocess.run([TRIT, "synth", "--preset", "2b4t", "--type", "i2_s", "-o", model], check=True)

    samples, info = {}, {}
    for r in range(a.rounds):
        for mode in ("exact", "int8"):
            print(f"round {r + 1}/{a.rounds}: {mode}", file=sys.stderr)
            for row in run_bench(model, a.threads, a.reps, mode == "int8"):
                key = (mode, row["test"], row["threads"])
                samples.setdefault(key, []).extend(row["samples"])
                prev = info.get(key, {})
                row["read_bandwidth_gb_per_s"] = max(row["read_bandwidth_gb_per_s"], prev.get("read_bandwidth_gb_per_s", 0))
                row["peak_rss_bytes"] = max(row["peak_rss_bytes"], prev.get("peak_rss_bytes", 0))
                info[key] = row

    print(f"model: {model}; {a.rounds} alternating rounds × {a.reps} runs; median ± stdev of all runs")
    print("| mode | test | threads | tokens/s | ± | bytes/token | GB/s | read GB/s | % of roofline | bitnet.cpp | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(samples, key=lambda k: (k[0], k[2], k[1])):
        mode, test, threads = key
        s, row = samples[key], info[key]
        med = statistics.median(s)
        sd = statistics.stdev(s) if len(s) > 1 else 0.0
        ref = REFERENCE.get((test, threads))
        cols = [mode, test, str(threads), f"{med:.2f}", f"{sd:.2f}"]
        if test.startswith("tg"):
            bpt = row["weight_bytes_per_token"]
            gbps = bpt * med / 1e9
            bw = row["read_bandwidth_gb_per_s"]
            cols += [f"{bpt / 2**20:.0f} MiB", f"{gbps:.2f}", f"{bw:.2f}", f"{100 * gbps / bw:.0f}%" if bw else "-"]
        else:
            cols += ["-", "-", f"{row['read_bandwidth_gb_per_s']:.2f}", "-"]
        cols += [f"{ref}" if ref else "-", f"{med / ref:.2f}×" if ref else "-"]
        print("| " + " | ".join(cols) + " |")
    any_row = next(iter(info.values()))
    print(f"load {any_row['load_seconds'] * 1000:.0f} ms, peak RSS {max(r['peak_rss_bytes'] for r in info.values()) / 2**30:.3f} GiB, "
          f"model file {os.path.getsize(model) / 2**30:.3f} GiB, kernels {any_row['kernel']}")


if __name__ == "__main__":
    main()
